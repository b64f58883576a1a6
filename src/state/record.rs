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
    /// The current size of each group, in spec order: the spec's counts
    /// until `scale` changes them. Records written before sizes were kept
    /// get the spec's counts when they are loaded.
    #[serde(default)]
    pub groups: Vec<GroupSize>,
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
    /// Every node stopped by `stop`; `start` resumes it.
    Stopped,
}

impl ClusterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Creating => "creating",
            Self::Ready => "ready",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::Destroying => "destroying",
            Self::Stopped => "stopped",
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

/// How many nodes one group has now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSize {
    pub name: String,
    pub count: u32,
}

impl GroupSize {
    /// The sizes a spec asks for, in its order.
    pub fn of_spec(spec: &ClusterSpec) -> Vec<Self> {
        spec.node_groups
            .iter()
            .map(|group| Self {
                name: group.name.clone(),
                count: group.count,
            })
            .collect()
    }
}

impl ClusterRecord {
    /// Fills the group sizes of a record written before they were kept.
    pub fn fill_missing_group_sizes(&mut self) {
        if self.groups.is_empty() {
            self.groups = GroupSize::of_spec(&self.spec);
        }
    }

    /// The recorded size of a group, if the cluster has it.
    pub fn group_size(&self, group: &str) -> Option<u32> {
        self.groups
            .iter()
            .find(|size| size.name == group)
            .map(|size| size.count)
    }

    /// Sets a group's size to the nodes it still has, after some were
    /// destroyed one by one.
    pub fn recount_group(&mut self, group: &str) {
        let live = self
            .nodes
            .iter()
            .filter(|node| node.group == group && node.state != crate::model::NodeState::Destroyed)
            .count();
        self.set_group_size(group, u32::try_from(live).unwrap_or(u32::MAX));
    }

    /// Records a group's new size.
    pub fn set_group_size(&mut self, group: &str, count: u32) {
        match self.groups.iter_mut().find(|size| size.name == group) {
            Some(size) => size.count = count,
            None => self.groups.push(GroupSize {
                name: group.to_owned(),
                count,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_records_get_group_sizes_from_their_spec() {
        let spec: ClusterSpec = serde_json::from_value(serde_json::json!({
            "name": "demo",
            "backend": { "kind": "local", "options": {} },
            "node_groups": [
                { "name": "masters", "count": 1, "roles": ["master"], "options": {} },
                { "name": "agents", "count": 3, "roles": ["agent"], "options": {} }
            ],
            "install": null,
            "checks": { "validators": [], "debuggers": [] }
        }))
        .expect("spec");
        let old = serde_json::json!({
            "version": 1, "name": "demo", "uid": "demo-1", "spec": spec,
            "spec_path": "/tmp/demo.yaml", "status": "stopped", "nodes": [],
            "created_at": "t", "updated_at": "t"
        });
        let mut record: ClusterRecord = serde_json::from_value(old).expect("old record reads");
        assert_eq!(record.status, ClusterStatus::Stopped);
        assert!(record.groups.is_empty());
        record.fill_missing_group_sizes();
        assert_eq!(record.group_size("agents"), Some(3));
        assert_eq!(record.group_size("masters"), Some(1));
        record.set_group_size("agents", 6);
        let json = serde_json::to_value(&record).expect("serializes");
        assert_eq!(
            json["groups"][1],
            serde_json::json!({"name": "agents", "count": 6})
        );
        assert_eq!(json["status"], "stopped");
    }
}
