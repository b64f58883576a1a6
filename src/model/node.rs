//! The node: one machine (or stand-in for one) of a cluster, whatever backend made it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The backend's own id (a directory, a container id, an instance id).
    pub id: String,
    /// Unique within the cluster: `<group>-<index>`.
    pub name: String,
    pub group: String,
    /// 1-based position within the group.
    pub index: u32,
    pub roles: Vec<String>,
    /// How to reach the node: IP addresses, host names or, for `local`, a path.
    pub addresses: Vec<String>,
    pub state: NodeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    Creating,
    Running,
    Failed,
    Stopped,
    /// Its main process ended without clusterdeck stopping it: killed or
    /// crashed from outside (a container `docker kill`ed).
    Exited,
    /// Frozen from outside (`docker pause`); it resumes where it was.
    Paused,
    Destroyed,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Stopped => "stopped",
            Self::Exited => "exited",
            Self::Paused => "paused",
            Self::Destroyed => "destroyed",
        }
    }
}

impl Node {
    pub fn has_any_role(&self, roles: &[String]) -> bool {
        roles.is_empty() || self.roles.iter().any(|role| roles.contains(role))
    }
}

/// A node's state changed, as a backend that can watch its nodes saw it
/// happen (`Backend::watch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStateChange {
    /// The node's name in the cluster (`agents-2`).
    pub node: String,
    pub state: NodeState,
}

/// The name a node of `group` at 1-based `index` gets.
pub fn node_name(group: &str, index: u32) -> String {
    format!("{group}-{index}")
}
