//! What kind of operation ran, how it ended and how each of its steps went.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Up,
    Destroy,
    Run,
    Debug,
    /// Validators re-run on an existing cluster's spec.
    Validate,
    DestroyNode,
    /// A group grown or shrunk to a new size.
    Scale,
    /// Every node of a cluster stopped, kept for `start`.
    Stop,
    /// A stopped cluster's nodes started again.
    Start,
    /// Leftovers of clusters that are gone, listed or removed.
    Gc,
    /// Checks of the state directory (and the backends' preflight).
    Doctor,
    /// A diagnostic bundle of a cluster written.
    Export,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Destroy => "destroy",
            Self::Run => "run",
            Self::Debug => "debug",
            Self::Validate => "validate",
            Self::DestroyNode => "destroy-node",
            Self::Scale => "scale",
            Self::Stop => "stop",
            Self::Start => "start",
            Self::Gc => "gc",
            Self::Doctor => "doctor",
            Self::Export => "export",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Failed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    Failed,
    TimedOut,
    Cancelled,
}
