//! What flows into and out of [`super::update`]: messages in (user input,
//! engine events, background results), commands out (work for the runner).

use std::path::PathBuf;

use crate::engine::{Event, Target};
use crate::model::{OperationKind, Outcome};

use super::state::{ClusterRow, ClusterView};

#[derive(Debug)]
pub enum Msg {
    /// A key, mouse or resize event from the terminal.
    Terminal(crossterm::event::Event),
    /// An event of the running operation.
    Engine(Event),
    Clusters(Vec<ClusterRow>),
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
    Start(Operation),
    /// Cancel the running operation.
    Cancel,
    LoadClusters,
    Attach(String),
    Refresh(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Up(PathBuf),
    Run {
        cluster: String,
        target: Target,
        command: String,
    },
    Debug(String),
    Validate(String),
    DestroyNode {
        cluster: String,
        node: String,
    },
    Destroy(String),
}

impl Operation {
    /// The engine's name for it; one kind per operation, so messages and the
    /// exit line name exactly what ran.
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Up(_) => OperationKind::Up,
            Self::Run { .. } => OperationKind::Run,
            Self::Debug(_) => OperationKind::Debug,
            Self::Validate(_) => OperationKind::Validate,
            Self::DestroyNode { .. } => OperationKind::DestroyNode,
            Self::Destroy(_) => OperationKind::Destroy,
        }
    }

    /// What it works on: the cluster's name, or for `up` the spec path until
    /// the engine names the cluster.
    pub fn subject(&self) -> String {
        match self {
            Self::Up(path) => path.display().to_string(),
            Self::Run { cluster, .. }
            | Self::DestroyNode { cluster, .. }
            | Self::Debug(cluster)
            | Self::Validate(cluster)
            | Self::Destroy(cluster) => cluster.clone(),
        }
    }
}
