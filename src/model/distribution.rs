//! What a distribution (what gets installed: Sahara's provisioning plugins,
//! DC/OS E2E's installer) declares and answers, as plain data: typed config
//! schemas, processes per role, findings, phases and per-node verdicts. The
//! same shapes travel over the plugin protocol (docs/plugin-protocol.md), so
//! a built-in and an out-of-process distribution are interchangeable.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Node;

/// The type of a distribution config; an enum lists the values it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConfigType {
    String,
    Integer,
    Boolean,
    Enum { values: Vec<String> },
}

impl ConfigType {
    /// What a value of this type looks like, for error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::String => "a string".to_owned(),
            Self::Integer => "a whole number".to_owned(),
            Self::Boolean => "true or false".to_owned(),
            Self::Enum { values } => format!("one of {}", values.join(", ")),
        }
    }

    /// Whether `value` is of this type.
    pub fn accepts(&self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Boolean => value.is_boolean(),
            Self::Enum { values } => value
                .as_str()
                .is_some_and(|text| values.iter().any(|allowed| allowed == text)),
        }
    }
}

/// Where a config is set: once for the cluster (`install.config`), or per
/// node group (`node_groups[].config`, defaulting to `install.config`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigScope {
    #[default]
    Cluster,
    Node,
}

impl ConfigScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cluster => "cluster",
            Self::Node => "node",
        }
    }
}

/// One typed config of a distribution version (Sahara's `Config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub kind: ConfigType,
    /// Used when the spec gives no value; without one a config that is not
    /// `optional` must be given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default)]
    pub scope: ConfigScope,
    /// The service the config belongs to, or `general`.
    #[serde(default = "general")]
    pub target: String,
    #[serde(default)]
    pub optional: bool,
    /// 1: shown always; 2: advanced, shown behind a toggle.
    #[serde(default = "first_priority")]
    pub priority: u8,
}

fn general() -> String {
    "general".to_owned()
}

fn first_priority() -> u8 {
    1
}

/// A problem a distribution found in a cluster or a scaling request; `field`
/// names the spec element (`install.config.masters`) when there is one, so
/// it can be shown at its file:line:col.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// The phases a distribution takes part in after nodes exist, in the order
/// of a cluster's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Put the software and its rendered config on the nodes.
    Configure,
    /// Start the node processes.
    Start,
    /// Nodes were added (configured and started): tell the others.
    Scale,
    /// Nodes are about to be removed: drain them. A node that fails is kept.
    Decommission,
    /// The cluster is about to be destroyed.
    Terminate,
}

impl Phase {
    pub const ALL: [Self; 5] = [
        Self::Configure,
        Self::Start,
        Self::Scale,
        Self::Decommission,
        Self::Terminate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Configure => "configure",
            Self::Start => "start",
            Self::Scale => "scale",
            Self::Decommission => "decommission",
            Self::Terminate => "terminate",
        }
    }

    /// The plugin protocol method of the phase.
    pub fn method(self) -> &'static str {
        match self {
            Self::Configure => "distribution.configure",
            Self::Start => "distribution.start",
            Self::Scale => "distribution.scale",
            Self::Decommission => "distribution.decommission",
            Self::Terminate => "distribution.on_terminate",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|phase| phase.as_str() == text)
    }
}

/// One node group as a distribution sees it, with its node-scope configs
/// rendered (defaults filled in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupView {
    pub name: String,
    pub count: u32,
    pub roles: Vec<String>,
    #[serde(default)]
    pub config: BTreeMap<String, Value>,
}

/// A cluster as a distribution sees it: the rendered cluster-scope config,
/// the groups, and the nodes that exist (none yet before `up` creates them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterView {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub config: BTreeMap<String, Value>,
    pub groups: Vec<GroupView>,
    #[serde(default)]
    pub nodes: Vec<Node>,
}

/// How one node came through a phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseVerdict {
    pub node: String,
    pub ok: bool,
    #[serde(default)]
    pub message: String,
    /// The step of the phase that failed (`install:master`); the phase's
    /// own name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

/// A port a node group needs opened, published on docker and allowed by the
/// security group on aws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    pub port: u16,
    #[serde(default = "tcp")]
    pub protocol: PortProtocol,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PortProtocol {
    #[default]
    Tcp,
    Udp,
}

fn tcp() -> PortProtocol {
    PortProtocol::Tcp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_reads_with_sahara_defaults_and_its_type_flattened() {
        let config: ConfigSpec = serde_json::from_value(serde_json::json!({
            "name": "mode", "type": "enum", "values": ["fast", "safe"], "default": "safe"
        }))
        .expect("config");
        assert_eq!(config.scope, ConfigScope::Cluster);
        assert_eq!(config.target, "general");
        assert_eq!(config.priority, 1);
        assert!(!config.optional);
        assert!(config.kind.accepts(&serde_json::json!("fast")));
        assert!(!config.kind.accepts(&serde_json::json!("quick")));
        assert_eq!(config.kind.describe(), "one of fast, safe");
        assert!(ConfigType::Integer.accepts(&serde_json::json!(-3)));
        assert!(!ConfigType::Integer.accepts(&serde_json::json!(1.5)));
    }

    #[test]
    fn phases_round_trip_by_name() {
        for phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
        }
        assert_eq!(Phase::parse("install"), None);
    }
}
