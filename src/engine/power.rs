//! `stop` and `start`: the checks the engine makes before a backend is
//! asked to power a cluster's nodes off or on.
//!
//! No backend of this build can stop nodes (the `stop_start` capability is
//! false for `local` and `ssh`), and the backend trait has no power action
//! yet: it comes with the backend contract v2 (`Backend::power`). Until then
//! every request ends in one of the refusals below, which stay true after.

use super::{Engine, EngineError, OperationReport};
use crate::state::{ClusterStatus, LockMode};

/// Which way a cluster is powered. (The backend contract v2 brings the
/// model's `PowerAction`; this one goes when the engine uses it.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Power {
    Stop,
    Start,
}

impl Engine {
    pub(crate) async fn stop(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        self.power(cluster, Power::Stop).await
    }

    pub(crate) async fn start_cluster(
        &self,
        cluster: &str,
    ) -> Result<OperationReport, EngineError> {
        self.power(cluster, Power::Start).await
    }

    async fn power(&self, cluster: &str, action: Power) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        let record = self.store.load(cluster)?;
        let verb = match action {
            Power::Stop => "stop",
            Power::Start => "start",
        };
        self.require(&record.spec.backend.kind, "stop and start nodes", |caps| {
            caps.stop_start
        })?;
        let stopped = record.status == ClusterStatus::Stopped;
        match action {
            Power::Stop if stopped => {
                return Err(EngineError::Invalid(format!(
                    "cluster {cluster} is already stopped"
                )));
            }
            Power::Start if !stopped => {
                return Err(EngineError::Invalid(format!(
                    "cluster {cluster} is not stopped (it is {})",
                    record.status.as_str()
                )));
            }
            _ => {}
        }
        // TODO(backend contract v2): `backend.power(ctx, nodes, action)`, then
        // the record's status (Stopped / Ready) and node states, as an
        // operation with its events. Reached only by a backend that declares
        // `stop_start`, which none of this build does.
        Err(EngineError::Invalid(format!(
            "backend {} declares it can {verb} nodes, but this build has no power action for backends yet",
            record.spec.backend.kind
        )))
    }
}
