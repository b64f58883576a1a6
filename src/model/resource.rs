//! What a backend creates, as the engine journals it: a kind, a key unique
//! per kind within the cluster, the scope it belongs to (which decides its
//! destroy wave) and the keys of the resources it needs.

use serde::{Deserialize, Serialize};

/// Which part of a cluster a resource belongs to. `destroy` removes node
/// resources first, then group ones, then cluster ones.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ResourceScope {
    Cluster,
    Group { group: String },
    Node { node: String },
}

impl ResourceScope {
    /// The node a node-scoped resource belongs to.
    pub fn node(&self) -> Option<&str> {
        match self {
            Self::Node { node } => Some(node),
            _ => None,
        }
    }

    /// The destroy wave: 0 for nodes, 1 for groups, 2 for the cluster.
    pub fn wave(&self) -> usize {
        match self {
            Self::Node { .. } => 0,
            Self::Group { .. } => 1,
            Self::Cluster => 2,
        }
    }

    /// `cluster`, `group g`, `node n`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Cluster => "cluster".to_owned(),
            Self::Group { group } => format!("group {group}"),
            Self::Node { node } => format!("node {node}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ResourceRef {
    /// What sort of resource: `node-dir`, `network`, `instance`, ...
    pub kind: String,
    /// The cluster's own name for it, unique per kind.
    pub key: String,
    pub scope: ResourceScope,
    /// Keys of resources this one needs while it exists: they are destroyed
    /// only after this one is gone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl ResourceRef {
    pub fn new(kind: &str, key: &str, scope: ResourceScope) -> Self {
        Self {
            kind: kind.to_owned(),
            key: key.to_owned(),
            scope,
            depends_on: Vec::new(),
        }
    }

    /// A node-scoped resource whose key is the node's name.
    pub fn node(kind: &str, node: &str) -> Self {
        Self::new(
            kind,
            node,
            ResourceScope::Node {
                node: node.to_owned(),
            },
        )
    }

    pub fn depending_on(mut self, keys: &[&str]) -> Self {
        self.depends_on = keys.iter().map(|key| (*key).to_owned()).collect();
        self
    }
}

/// A resource found carrying clusterdeck's labels, with the cluster they
/// name: what `gc` compares against the clusters it knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelledResource {
    pub resource: ResourceRef,
    /// The backend's id for it.
    pub id: String,
    pub cluster_name: String,
    pub cluster_uid: String,
    /// Unix seconds at which the cluster's lifespan ends, as labelled on
    /// the resource; `None`: it never expires. Optional on the wire, so
    /// plugins and backends without lifespans need not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_labelled_resource_without_an_expiry_still_parses_and_is_written_without_one() {
        let old = r#"{"resource":{"kind":"node-dir","key":"a-1","scope":{"kind":"node","node":"a-1"}},"id":"/x/a-1","cluster_name":"c","cluster_uid":"c-1"}"#;
        let parsed: LabelledResource = serde_json::from_str(old).expect("reads without expires_at");
        assert_eq!(parsed.expires_at, None);
        assert_eq!(serde_json::to_string(&parsed).expect("writes"), old);
        let expiring: LabelledResource = serde_json::from_str(&old.replace(
            r#""cluster_uid":"c-1"}"#,
            r#""cluster_uid":"c-1","expires_at":1796000000}"#,
        ))
        .expect("reads with expires_at");
        assert_eq!(expiring.expires_at, Some(1_796_000_000));
    }

    #[test]
    fn resources_serialize_with_a_tagged_scope_and_read_back() {
        let resource = ResourceRef::new(
            "instance",
            "a-1",
            ResourceScope::Node { node: "a-1".into() },
        )
        .depending_on(&["net"]);
        let json = serde_json::to_string(&resource).expect("serializes");
        assert_eq!(
            json,
            r#"{"kind":"instance","key":"a-1","scope":{"kind":"node","node":"a-1"},"depends_on":["net"]}"#
        );
        assert_eq!(
            serde_json::from_str::<ResourceRef>(&json).expect("reads"),
            resource
        );
        let network: ResourceRef =
            serde_json::from_str(r#"{"kind":"network","key":"net","scope":{"kind":"cluster"}}"#)
                .expect("depends_on may be left out");
        assert_eq!(network.scope.wave(), 2);
        assert!(network.depends_on.is_empty());
    }
}
