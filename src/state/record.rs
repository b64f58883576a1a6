//! The durable record of one cluster: what was asked for and what exists.

use serde::{Deserialize, Serialize};

use crate::model::{Node, OperationKind, Outcome, Summary};
use crate::spec::ClusterSpec;

/// Bumped when the record's shape changes incompatibly.
pub const RECORD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterRecord {
    pub version: u32,
    pub name: String,
    /// Unique per creation; backends label what they make with it, so a sweep
    /// never touches another cluster, nor an older one of the same name.
    pub uid: String,
    pub spec: ClusterSpec,
    /// The spec file it came from, to resolve relative paths on later runs.
    pub spec_path: String,
    pub status: ClusterStatus,
    pub nodes: Vec<Node>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<OperationRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterStatus {
    /// `up` is running, or was killed while running.
    Creating,
    Ready,
    /// Up, but some nodes or checks failed.
    Degraded,
    Failed,
    Destroying,
}

impl ClusterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Ready => "ready",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Destroying => "destroying",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OperationRecord {
    pub operation: OperationKind,
    pub outcome: Outcome,
    pub started_at: String,
    pub finished_at: String,
    pub summary: Summary,
}
