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
        result: Result<(Outcome, Option<String>), String>,
    },
    /// A problem a background job hit, to show the user.
    Failed(String),
    /// Time passes: running clocks move.
    Tick,
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
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Up(_) => OperationKind::Up,
            Self::Run { .. } => OperationKind::Run,
            Self::Debug(_) | Self::Validate(_) => OperationKind::Debug,
            Self::DestroyNode { .. } | Self::Destroy(_) => OperationKind::Destroy,
        }
    }
}
