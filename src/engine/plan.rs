//! What an `up` will create, and the environment each node gets.

use serde::Serialize;

use super::event::PlannedNode;
use crate::model::{Node, node_name};
use crate::spec::{ClusterSpec, InstallSource};

/// The nodes a spec asks for, group by group.
pub fn plan_nodes(spec: &ClusterSpec) -> Vec<PlannedNode> {
    spec.node_groups
        .iter()
        .flat_map(|group| {
            (1..=group.count).map(move |index| PlannedNode {
                name: node_name(&group.name, index),
                group: group.name.clone(),
                roles: group.roles.clone(),
            })
        })
        .collect()
}

/// The plan `validate` prints: everything `up` would do, nothing done.
#[derive(Debug, Clone, Serialize)]
pub struct UpPlan {
    pub cluster: String,
    pub backend: String,
    /// The backend plugin's file when the spec names one, resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_path: Option<std::path::PathBuf>,
    pub nodes: Vec<PlannedNode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installer: Option<String>,
    /// The distribution plugin that installs, when it is not the script.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
    pub files: Vec<String>,
    pub debuggers: Vec<String>,
}

impl UpPlan {
    pub fn of(spec: &ClusterSpec) -> Self {
        Self {
            cluster: spec.name.clone(),
            backend: spec.backend.kind.clone(),
            backend_path: spec.backend.path.clone(),
            nodes: plan_nodes(spec),
            installer: spec.install.as_ref().map(|install| match &install.from {
                Some(InstallSource::Path(path)) => path.display().to_string(),
                Some(InstallSource::Url(url)) => crate::spec::redact_userinfo(url),
                None => format!("distribution {}", install.distribution),
            }),
            distribution: spec
                .install
                .as_ref()
                .filter(|install| !install.is_script())
                .map(|install| match &install.version {
                    Some(version) => format!("{} {version}", install.distribution),
                    None => install.distribution.clone(),
                }),
            files: spec
                .install
                .iter()
                .flat_map(|install| install.files.iter())
                .map(|file| format!("{} -> {}", file.src.display(), file.dest))
                .collect(),
            debuggers: spec
                .checks
                .debuggers
                .iter()
                .map(|debugger| debugger.name.clone())
                .collect(),
        }
    }
}

/// The identity every command on `node` sees, whatever the transport:
/// who it is, and who else is in the cluster (also by role, for installers
/// that need to know where the masters are).
pub fn node_env(cluster: &str, node: &Node, all: &[Node]) -> Vec<(String, String)> {
    let mut env = vec![
        ("CLUSTERDECK_CLUSTER".to_owned(), cluster.to_owned()),
        ("CLUSTERDECK_NODE".to_owned(), node.name.clone()),
        ("CLUSTERDECK_GROUP".to_owned(), node.group.clone()),
        ("CLUSTERDECK_INDEX".to_owned(), node.index.to_string()),
        ("CLUSTERDECK_ROLES".to_owned(), node.roles.join(",")),
        (
            "CLUSTERDECK_NODES".to_owned(),
            all.iter()
                .map(|other| other.name.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    let mut roles: Vec<&String> = all.iter().flat_map(|other| other.roles.iter()).collect();
    roles.sort();
    roles.dedup();
    for role in roles {
        let members: Vec<&str> = all
            .iter()
            .filter(|other| other.roles.contains(role))
            .map(|other| other.name.as_str())
            .collect();
        env.push((
            format!("CLUSTERDECK_ROLE_{}", env_suffix(role)),
            members.join(" "),
        ));
    }
    env
}

fn env_suffix(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NodeState;

    fn node(name: &str, group: &str, roles: &[&str]) -> Node {
        Node {
            id: name.into(),
            name: name.into(),
            group: group.into(),
            index: 1,
            roles: roles.iter().map(|role| (*role).to_owned()).collect(),
            addresses: vec![],
            state: NodeState::Running,
        }
    }

    #[test]
    fn env_names_the_node_and_lists_the_cluster_by_role() {
        let all = vec![
            node("masters-1", "masters", &["master"]),
            node("agents-1", "agents", &["agent", "public-agent"]),
        ];
        let env = node_env("demo", &all[1], &all);
        let get = |key: &str| {
            env.iter()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.as_str())
        };
        assert_eq!(get("CLUSTERDECK_NODE"), Some("agents-1"));
        assert_eq!(get("CLUSTERDECK_ROLES"), Some("agent,public-agent"));
        assert_eq!(get("CLUSTERDECK_NODES"), Some("masters-1 agents-1"));
        assert_eq!(get("CLUSTERDECK_ROLE_MASTER"), Some("masters-1"));
        assert_eq!(get("CLUSTERDECK_ROLE_PUBLIC_AGENT"), Some("agents-1"));
    }
}
