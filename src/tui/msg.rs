//! What flows into and out of [`super::update`]: messages in (user input,
//! engine events, background results), commands out (work for the runner).

use crate::engine::Event;
pub use crate::engine::Operation;
use crate::model::{NodeStateChange, OperationKind, Outcome};

use super::distribution::Answer;
use super::state::{BackendRow, ClusterRow, ClusterView};

#[derive(Debug)]
pub enum Msg {
    /// A key, mouse or resize event from the terminal.
    Terminal(crossterm::event::Event),
    /// An event of the running operation.
    Engine(Event),
    Clusters(Vec<ClusterRow>),
    /// The built-in backends and every plugin found, described.
    Backends(Vec<BackendRow>),
    /// A cluster's distribution described (request numbered by
    /// [`super::distribution::Distributions::ask`]), or why it could not be.
    Distribution {
        cluster: String,
        request: u64,
        answer: Answer,
    },
    /// A cluster loaded from state, to show.
    Attached(ClusterView),
    /// Fresh node states of the shown cluster, from its backend.
    Refreshed(ClusterView),
    OperationDone {
        operation: OperationKind,
        /// The cluster it worked on (for an `up` that failed before naming
        /// one, the spec path).
        cluster: String,
        result: Result<(Outcome, Option<String>), NotRun>,
    },
    /// The periodic refresh of the shown cluster did not work.
    RefreshFailed {
        cluster: String,
        error: String,
        /// Its record is gone: destroyed from elsewhere.
        gone: bool,
        /// When it failed (RFC 3339), for the log line.
        time: String,
    },
    /// The backend now reports the cluster's node states as they change.
    Watching {
        cluster: String,
    },
    /// A node of a watched cluster changed state.
    NodeState {
        cluster: String,
        change: NodeStateChange,
        /// When it was seen (RFC 3339), for the log line.
        time: String,
    },
    /// The watch of a cluster ended (its backend's event stream broke, or it
    /// could not start): periodic refreshes take over.
    WatchEnded {
        cluster: String,
        reason: String,
        /// When it ended (RFC 3339), for the log line.
        time: String,
    },
    /// A problem a background job hit, to show the user.
    Failed(String),
    /// Time passes: running clocks move.
    Tick,
}

/// Why an operation could not run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotRun {
    pub error: String,
    /// The input was wrong (spec, unknown cluster, one that already exists):
    /// exit 2, as the headless commands do.
    pub bad_input: bool,
}

impl NotRun {
    /// Something failed while running it (state, a backend): exit 1.
    pub fn failed(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            bad_input: false,
        }
    }
}

/// Work the runner does on behalf of the event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// An engine operation, the same the CLI runs.
    Start(Operation),
    /// Cancel the running operation.
    Cancel,
    LoadClusters,
    /// Look for plugins (started and asked what they are, off the UI).
    LoadBackends,
    Attach(String),
    Refresh(String),
    /// Describe the cluster's distribution (it may start a plugin: off the UI).
    LoadDistribution {
        cluster: String,
        request: u64,
    },
    /// Follow the cluster's node states live (its backend can `watch`);
    /// replaces the watch of any other cluster.
    Watch(String),
}

/// What an operation works on, for the dashboard's messages: the cluster's
/// name, for `up` the spec path until the engine names the cluster, and the
/// state directory for `gc` and `doctor`.
pub fn subject(operation: &Operation) -> String {
    match operation {
        Operation::Up { spec } | Operation::Adopt { spec } => spec.display().to_string(),
        Operation::Gc { .. } => "(all clusters)".to_owned(),
        Operation::Doctor { .. } => "(state directory)".to_owned(),
        other => other.cluster().unwrap_or_default().to_owned(),
    }
}
