//! The engine runs operations ([`Operation`], through [`Engine::execute`]) and
//! reports every step as an [`Event`]. It never draws or prints: the TUI and the
//! headless printer are both just consumers of the event stream.

mod bundle;
mod context;
mod destroy;
mod distribution;
mod doctor;
mod event;
mod event_log;
mod exec;
mod export;
mod export_manifest;
mod export_paths;
mod failures;
mod fetch;
mod fetch_node;
#[cfg(test)]
mod fixtures;
mod gc;
mod host;
mod install;
mod installer;
mod interrupted;
mod lifespan;
mod operation;
mod plan;
mod plugin_debuggers;
mod plugin_validators;
mod power;
mod provision;
mod redact;
mod remote;
mod scale;
mod scaling;
mod script;
mod sink;
mod up;
mod watch;
mod waves;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use distribution::{ConfigValue, DistributionSummary};
pub use event::{Event, EventKind, PlannedNode};
pub use exec::fan_out;
pub use export::EXPORT_STEP;
pub use export_paths::{DEFAULT_LOG_PATHS, NO_ROLE, default_bundle_path, log_paths_for};
pub use operation::Operation;
pub use plan::{UpPlan, node_env, plan_nodes};
pub use redact::{REDACTED, Redactor};
pub use remote::Target;
pub use scale::MAX_GROUP_SIZE;
pub use sink::{EventReceiver, EventSink};
pub use up::validate_with;
pub use waves::RetryPolicy;

/// The shared types, re-exported for frontends that name them through the
/// engine. Layers below the engine import them from [`crate::model`].
pub use crate::model::{
    CheckKind, CheckResult, CheckStatus, FoldedFailure, FoldedResult, NodeFailure, OperationKind,
    Outcome, StepStatus, Stream, Summary, Tally, ValidatorOutcome, new_uid, now, shell_quote,
};

use crate::backend::{Backend, BackendError, Capabilities, Registry};
use crate::state::{ClusterRecord, OperationRecord, StateError, StateStore};

/// A backend, or why there is none to use.
type BackendLookup = Result<Arc<dyn Backend>, String>;

/// How many nodes are worked on at once unless told otherwise.
pub const DEFAULT_PARALLEL: usize = 32;

/// Why an operation could not even start (as opposed to one that ran and failed,
/// which is reported in its [`Summary`]).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{0}")]
    Invalid(String),
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationReport {
    pub outcome: Outcome,
    pub summary: Summary,
}

#[derive(Clone)]
pub struct Engine {
    store: StateStore,
    events: EventSink,
    cancel: CancellationToken,
    parallel: usize,
    /// The backends by kind; the built-ins unless a test injects fakes.
    registry: Registry,
    retry: RetryPolicy,
}

impl Engine {
    pub fn new(store: StateStore, events: EventSink, cancel: CancellationToken) -> Self {
        Self {
            store,
            events,
            cancel,
            parallel: DEFAULT_PARALLEL,
            registry: crate::plugin::registry(),
            retry: RetryPolicy::default(),
        }
    }

    pub fn with_parallel(mut self, parallel: usize) -> Self {
        self.parallel = parallel.max(1);
        self
    }

    /// Uses these backends instead of the built-ins.
    pub fn with_registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The backends this engine uses, for frontends that list them.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// What a kind of backend can do; `None` for an unknown kind.
    pub fn capabilities(&self, kind: &str) -> Option<Capabilities> {
        self.registry.capabilities(kind)
    }

    /// How long destroy keeps retrying a resource that is in use or
    /// failed transiently.
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn store(&self) -> &StateStore {
        &self.store
    }

    fn backend(&self, kind: &str) -> Result<Arc<dyn Backend>, String> {
        self.registry.get(kind)
    }

    /// The backend a cluster's record (or identity) names: the plugin at
    /// its recorded path when it has one, else found by kind.
    fn backend_at(&self, kind: &str, path: Option<&std::path::Path>) -> BackendLookup {
        self.registry.get_at(kind, path)
    }

    /// The backend a spec file names, its `backend.path` resolved against
    /// the spec file.
    fn spec_backend(&self, loaded: &crate::spec::LoadedSpec) -> BackendLookup {
        self.backend_at(&loaded.spec.backend.kind, loaded.backend_path().as_deref())
    }

    fn start(&self, operation: OperationKind, cluster: &str) -> String {
        self.events.emit(EventKind::OperationStarted {
            operation,
            cluster: cluster.to_owned(),
        });
        now()
    }

    /// Emits the end of an operation and returns its report.
    fn finish(
        &self,
        operation: OperationKind,
        cluster: &str,
        outcome: Outcome,
        summary: Summary,
    ) -> OperationReport {
        self.events.emit(EventKind::OperationFinished {
            operation,
            cluster: cluster.to_owned(),
            outcome,
            summary: summary.clone(),
        });
        OperationReport { outcome, summary }
    }

    /// Stores the result of an operation in the cluster's record.
    fn remember(
        &self,
        record: &mut ClusterRecord,
        operation: OperationKind,
        started_at: String,
        report: &OperationReport,
    ) {
        record.updated_at = now();
        record.last_operation = Some(OperationRecord {
            operation,
            outcome: report.outcome,
            started_at,
            finished_at: record.updated_at.clone(),
            summary: report.summary.clone(),
        });
        if let Err(err) = self.store.save(record) {
            self.events
                .error(None, format!("could not save the cluster record: {err}"));
        }
    }
}
