//! What `export` fetches from each node, and where the bundle goes by
//! default. [`log_paths_for`] is the one place that decides the paths, so a
//! distribution's `log_paths(role)` can take it over.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::model::{Node, now};
use crate::spec::ClusterSpec;

/// What a node's roles fetch when the spec names nothing: logs in the
/// install directory and in `log/` (where the example installers write).
pub const DEFAULT_LOG_PATHS: &[&str] = &["install/*.log", "log/*.log"];
/// The key of [`log_paths_for`]'s map for nodes that have no role.
pub const NO_ROLE: &str = "";

/// The files to fetch from the nodes of each role (and, under [`NO_ROLE`],
/// of nodes without one): the spec's `install.log_paths`, and
/// [`DEFAULT_LOG_PATHS`] for every role it does not name. The one place
/// that decides it, so a distribution's `log_paths(role)` can take over.
pub fn log_paths_for(spec: &ClusterSpec) -> BTreeMap<String, Vec<String>> {
    let given = spec
        .install
        .as_ref()
        .map(|install| install.log_paths.clone())
        .unwrap_or_default();
    let default = || {
        DEFAULT_LOG_PATHS
            .iter()
            .map(|path| (*path).to_owned())
            .collect()
    };
    let mut paths = given.clone();
    for role in spec.roles().into_iter().chain([NO_ROLE.to_owned()]) {
        paths.entry(role).or_insert_with(default);
    }
    paths
}

/// `./clusterdeck-NAME-YYYYMMDDTHHMMSSZ.tar.gz`.
pub fn default_bundle_path(cluster: &str) -> PathBuf {
    let stamp: String = now()
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    PathBuf::from(format!("clusterdeck-{cluster}-{stamp}Z.tar.gz"))
}

/// The paths of a node's roles, each once, in order.
pub fn paths_for_node(log_paths: &BTreeMap<String, Vec<String>>, node: &Node) -> Vec<String> {
    let roles: Vec<&str> = if node.roles.is_empty() {
        vec![NO_ROLE]
    } else {
        node.roles.iter().map(String::as_str).collect()
    };
    let mut paths: Vec<String> = Vec::new();
    for role in roles {
        for path in log_paths.get(role).into_iter().flatten() {
            if !paths.contains(path) {
                paths.push(path.clone());
            }
        }
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_get_their_paths_or_the_default_and_nodes_the_union_of_their_roles() {
        let spec: ClusterSpec = serde_json::from_value(serde_json::json!({
            "name": "demo",
            "backend": { "kind": "local", "options": {} },
            "node_groups": [
                { "name": "a", "count": 1, "roles": ["web", "db"], "options": {} },
                { "name": "b", "count": 1, "roles": ["cache"], "options": {} },
                { "name": "c", "count": 1, "roles": [], "options": {} }
            ],
            "install": {
                "from": { "kind": "path", "location": "i.sh" }, "config": {}, "files": [],
                "log_paths": { "web": ["web/*.log", "shared.log"], "db": ["shared.log", "/var/log/db.log"] }
            },
            "checks": { "validators": [], "debuggers": [] }
        }))
        .expect("spec");
        let paths = log_paths_for(&spec);
        assert_eq!(paths["web"], vec!["web/*.log", "shared.log"]);
        assert_eq!(paths["cache"], DEFAULT_LOG_PATHS);
        assert_eq!(paths[NO_ROLE], DEFAULT_LOG_PATHS);
        let node = |roles: &[&str]| Node {
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
            ..serde_json::from_value(serde_json::json!({
                "id": "x", "name": "a-1", "group": "a", "index": 1, "roles": [],
                "addresses": [], "state": "running"
            }))
            .expect("node")
        };
        assert_eq!(
            paths_for_node(&paths, &node(&["web", "db"])),
            vec!["web/*.log", "shared.log", "/var/log/db.log"]
        );
        assert_eq!(paths_for_node(&paths, &node(&[])), DEFAULT_LOG_PATHS);
        assert!(paths_for_node(&paths, &node(&["unknown"])).is_empty());
    }

    #[test]
    fn the_default_bundle_is_named_after_the_cluster_and_the_utc_time() {
        let name = default_bundle_path("demo").display().to_string();
        let stamp = name
            .strip_prefix("clusterdeck-demo-")
            .and_then(|rest| rest.strip_suffix("Z.tar.gz"))
            .expect(&name);
        assert_eq!(stamp.len(), 15, "{name}");
        assert_eq!(&stamp[8..9], "T", "{name}");
    }
}
