//! What the docker backend calls things and how it labels them: containers,
//! the cluster network and every label key, in one place so `create`, `gc`
//! and the event watcher agree.

use std::collections::HashMap;

use crate::backend::BackendContext;

/// Label keys on every container, network and volume the backend makes.
pub const LABEL_CLUSTER: &str = "io.clusterdeck.cluster";
pub const LABEL_CLUSTER_ID: &str = "io.clusterdeck.cluster-id";
pub const LABEL_GROUP: &str = "io.clusterdeck.group";
/// The node's roles, comma-separated.
pub const LABEL_ROLES: &str = "io.clusterdeck.roles";
/// The node's name within the cluster (`agents-2`).
pub const LABEL_NODE: &str = "io.clusterdeck.node";
/// The cluster's state directory: `gc` of one state directory leaves alone
/// the live clusters of another that shares the engine.
pub const LABEL_STATE_DIR: &str = "io.clusterdeck.state-dir";

/// Journal kinds of what the backend creates.
pub const CONTAINER: &str = "container";
pub const NETWORK: &str = "network";
pub const VOLUME: &str = "volume";
pub const WORKSPACE: &str = "workspace";

/// The journal key of the cluster's own network and workspace (one each).
pub const NETWORK_KEY: &str = "network";
pub const WORKSPACE_KEY: &str = "workspace";

/// `clusterdeck-<cluster>-<node>`, the node being `<group>-<index>`.
pub fn container_name(cluster: &str, node: &str) -> String {
    format!("clusterdeck-{cluster}-{node}")
}

/// The user-defined bridge a cluster gets when `network` is not given.
pub fn network_name(cluster: &str) -> String {
    format!("clusterdeck-{cluster}")
}

/// The labels of everything of the cluster: ours, the contract's
/// (`ctx.cluster.labels`) and the user's extra `labels`, ours last so a user
/// label cannot hide a resource from `gc`.
pub fn cluster_labels(ctx: &BackendContext, extra: &[(String, String)]) -> HashMap<String, String> {
    let mut labels: HashMap<String, String> = extra.iter().cloned().collect();
    labels.extend(ctx.cluster.labels.clone());
    labels.insert(LABEL_CLUSTER.to_owned(), ctx.name().to_owned());
    labels.insert(LABEL_CLUSTER_ID.to_owned(), ctx.uid().to_owned());
    labels.insert(
        LABEL_STATE_DIR.to_owned(),
        ctx.state_dir.display().to_string(),
    );
    labels
}

/// A node container's labels: the cluster's plus its group, roles and name.
pub fn node_labels(
    ctx: &BackendContext,
    extra: &[(String, String)],
    group: &str,
    roles: &[String],
    node: &str,
) -> HashMap<String, String> {
    let mut labels = cluster_labels(ctx, extra);
    labels.insert(LABEL_GROUP.to_owned(), group.to_owned());
    labels.insert(LABEL_ROLES.to_owned(), roles.join(","));
    labels.insert(LABEL_NODE.to_owned(), node.to_owned());
    labels
}

/// `label=KEY=VALUE`, the engine's filter for resources carrying a label.
pub fn label_filter(key: &str, value: Option<&str>) -> HashMap<String, Vec<String>> {
    let label = match value {
        Some(value) => format!("{key}={value}"),
        None => key.to_owned(),
    };
    HashMap::from([("label".to_owned(), vec![label])])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_cluster_and_node() {
        assert_eq!(
            container_name("demo", "agents-2"),
            "clusterdeck-demo-agents-2"
        );
        assert_eq!(network_name("demo"), "clusterdeck-demo");
        assert_eq!(
            label_filter(LABEL_CLUSTER_ID, Some("demo-1"))["label"],
            vec!["io.clusterdeck.cluster-id=demo-1".to_owned()]
        );
        assert_eq!(
            label_filter(LABEL_CLUSTER_ID, None)["label"],
            vec!["io.clusterdeck.cluster-id".to_owned()]
        );
    }
}
