//! Cluster records for the engine's unit tests: one group `agents` (role
//! `agent`) of the local backend, with whatever nodes a test needs.

use crate::model::{Node, NodeState, node_name};
use crate::state::{ClusterRecord, ClusterStatus, GroupSize};

/// Node `GROUP-INDEX` in `state`.
pub fn node(group: &str, index: u32, state: NodeState) -> Node {
    Node {
        id: format!("/n/{group}-{index}"),
        name: node_name(group, index),
        group: group.into(),
        index,
        roles: vec![],
        addresses: vec![],
        state,
    }
}

/// A ready cluster `demo` (uid `demo-1`) holding `nodes`.
pub fn record(nodes: Vec<Node>) -> ClusterRecord {
    let spec: crate::spec::ClusterSpec = serde_json::from_value(serde_json::json!({
        "name": "demo",
        "backend": { "kind": "local", "options": {} },
        "node_groups": [{ "name": "agents", "count": 3, "roles": ["agent"], "options": {} }],
        "install": null,
        "checks": { "validators": [], "debuggers": [] }
    }))
    .expect("spec");
    ClusterRecord {
        version: 1,
        name: "demo".into(),
        uid: "demo-1".into(),
        groups: GroupSize::of_spec(&spec),
        spec,
        spec_path: String::new(),
        status: ClusterStatus::Ready,
        nodes,
        created_at: String::new(),
        updated_at: String::new(),
        last_operation: None,
    }
}
