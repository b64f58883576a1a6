//! The requests and answers of the backend contract that are not resources
//! or errors: which group to create, what each node became, power actions,
//! doctor checks, the cluster a backend works for, what it can do.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::capabilities::Capabilities;
use super::check::CheckStatus;
use super::error::BackendFailure;
use super::node::Node;
use super::options::OptionSpec;

/// What a backend is: sent once, before anything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub kind: String,
    pub capabilities: Capabilities,
    /// Options of `backend.options`.
    pub cluster_options: Vec<OptionSpec>,
    /// Options of each `node_groups[].options`.
    #[serde(default)]
    pub group_options: Vec<OptionSpec>,
}

/// The cluster a backend works for, and the labels it puts on everything it
/// makes so `gc` can find it without a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterRef {
    pub name: String,
    pub uid: String,
    pub labels: BTreeMap<String, String>,
}

/// Label keys every backend should put on what it creates.
pub const LABEL_CLUSTER: &str = "clusterdeck.cluster";
pub const LABEL_UID: &str = "clusterdeck.uid";

impl ClusterRef {
    pub fn new(name: &str, uid: &str) -> Self {
        Self {
            name: name.to_owned(),
            uid: uid.to_owned(),
            labels: BTreeMap::from([
                (LABEL_CLUSTER.to_owned(), name.to_owned()),
                (LABEL_UID.to_owned(), uid.to_owned()),
            ]),
        }
    }
}

/// One group to create, all its nodes at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRequest {
    pub group: String,
    pub roles: Vec<String>,
    /// The group's options as the spec gives them.
    #[serde(default)]
    pub options: BTreeMap<String, Value>,
    pub nodes: Vec<NodeRequest>,
    /// Ports the distribution needs reachable on these nodes: docker
    /// publishes them (on loopback, a free host port each), aws allows them
    /// from `admin_location`. Backends that cannot open ports ignore them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_ports: Vec<super::PortSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRequest {
    pub name: String,
    /// 1-based position in the group.
    pub index: u32,
}

/// What one node of a group became: `{"name": .., "result": {"Ok": node}}`
/// or `{"name": .., "result": {"Err": failure}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeOutcome {
    pub name: String,
    pub result: Result<Node, BackendFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PowerAction {
    Stop,
    Start,
}

/// One `doctor` finding: what was checked, how it went, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightCheck {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl PreflightCheck {
    pub fn pass(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Pass,
            message: message.into(),
            fix: None,
        }
    }

    /// Works, with a caveat and what to do about it; fails nothing.
    pub fn warn(
        name: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            status: CheckStatus::Warn,
            ..Self::fail(name, message, fix)
        }
    }

    pub fn fail(
        name: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            status: CheckStatus::Fail,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{BackendFailureKind, NodeState};

    #[test]
    fn node_outcomes_carry_a_node_or_a_failure() {
        let failed = NodeOutcome {
            name: "a-2".into(),
            result: Err(BackendFailure::new(
                BackendFailureKind::Quota,
                "no cores left",
            )),
        };
        let json = serde_json::to_string(&failed).expect("serializes");
        assert_eq!(
            json,
            r#"{"name":"a-2","result":{"Err":{"kind":"quota","message":"no cores left"}}}"#
        );
        let created = NodeOutcome {
            name: "a-1".into(),
            result: Ok(Node {
                id: "i-1".into(),
                name: "a-1".into(),
                group: "a".into(),
                index: 1,
                roles: vec![],
                addresses: vec![],
                state: NodeState::Running,
            }),
        };
        for outcome in [failed, created] {
            let json = serde_json::to_string(&outcome).expect("serializes");
            assert_eq!(
                serde_json::from_str::<NodeOutcome>(&json).expect("reads"),
                outcome
            );
        }
        let cluster = ClusterRef::new("demo", "demo-1");
        assert_eq!(cluster.labels[LABEL_UID], "demo-1");
    }
}
