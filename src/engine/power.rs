//! `stop` and `start`: a cluster's nodes powered off and on again through
//! the backend's `power` (one batch call), keeping them and everything on
//! them. A stopped cluster refuses `run`, `debug` and `scale` until started.

use std::time::Instant;

use super::event::EventKind;
use super::up::elapsed_ms;
use super::{Engine, EngineError, OperationReport};
use crate::model::{
    Node, NodeFailure, NodeState, OperationKind, Outcome, PowerAction, StepStatus, Summary,
};
use crate::state::{ClusterStatus, LockMode};

impl Engine {
    pub(crate) async fn stop(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        self.power(cluster, PowerAction::Stop).await
    }

    pub(crate) async fn start_cluster(
        &self,
        cluster: &str,
    ) -> Result<OperationReport, EngineError> {
        self.power(cluster, PowerAction::Start).await
    }

    async fn power(
        &self,
        cluster: &str,
        action: PowerAction,
    ) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        let mut record = self.store.load(cluster)?;
        self.require(&record.spec.backend, "stop and start nodes", |caps| {
            caps.stop_start
        })?;
        let stopped = record.status == ClusterStatus::Stopped;
        let (operation, step, from, to) = match action {
            PowerAction::Stop if stopped => {
                return Err(EngineError::Invalid(format!(
                    "cluster {cluster} is already stopped"
                )));
            }
            // A partly stopped cluster (some nodes failed to stop) can be
            // started again too.
            PowerAction::Start
                if !stopped
                    && !record
                        .nodes
                        .iter()
                        .any(|node| node.state == NodeState::Stopped) =>
            {
                return Err(EngineError::Invalid(format!(
                    "cluster {cluster} is not stopped (it is {})",
                    record.status.as_str()
                )));
            }
            PowerAction::Stop => (
                OperationKind::Stop,
                "stop",
                NodeState::Running,
                NodeState::Stopped,
            ),
            PowerAction::Start => (
                OperationKind::Start,
                "start",
                NodeState::Stopped,
                NodeState::Running,
            ),
        };
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(operation, cluster);
        // Nodes that failed or are gone are left as they are.
        let targets: Vec<Node> = record
            .nodes
            .iter()
            .filter(|node| node.state == from)
            .cloned()
            .collect();
        let mut summary = Summary {
            nodes_total: targets.len(),
            ..Summary::default()
        };
        for node in &targets {
            self.events.emit(EventKind::StepStarted {
                node: node.name.clone(),
                step: step.to_owned(),
            });
        }
        let began = Instant::now();
        let mut results = backend.power(&ctx, &targets, action).await;
        for node in &targets {
            let position = results.iter().position(|(name, _)| name == &node.name);
            let result = match position {
                Some(position) => results
                    .swap_remove(position)
                    .1
                    .map_err(|err| err.to_string()),
                None => Err(format!("the backend gave no result for node {}", node.name)),
            };
            let error = result.err();
            if error.is_none()
                && let Some(known) = record
                    .nodes
                    .iter_mut()
                    .find(|known| known.name == node.name)
            {
                known.state = to;
            }
            self.events.emit(EventKind::StepFinished {
                node: node.name.clone(),
                step: step.to_owned(),
                status: if error.is_none() {
                    StepStatus::Ok
                } else {
                    StepStatus::Failed
                },
                elapsed_ms: elapsed_ms(began),
                error: error.clone(),
            });
            if let Some(error) = error {
                summary.failures.push(NodeFailure {
                    node: node.name.clone(),
                    step: step.to_owned(),
                    error,
                });
            }
        }
        let outcome = if summary.failures.is_empty() {
            record.status = match action {
                PowerAction::Stop => ClusterStatus::Stopped,
                PowerAction::Start => ClusterStatus::Ready,
            };
            Outcome::Succeeded
        } else {
            // Some nodes moved and some did not: the cluster is neither
            // wholly stopped nor wholly running.
            record.status = ClusterStatus::Degraded;
            summary.reason = Some(summary.failure_reason());
            Outcome::Failed
        };
        let report = self.finish(operation, cluster, outcome, summary);
        self.remember(&mut record, operation, started_at, &report);
        Ok(report)
    }
}
