//! How to reach a node, as data: the backend says where the node is, the
//! engine builds the transport from it (`transport::connect`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What to do with a host key that known_hosts does not list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HostKeyPolicy {
    /// Refuse it: the key must already be in known_hosts.
    #[default]
    Strict,
    /// Record it and go on; a changed key is still refused.
    AcceptNew,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Endpoint {
    /// A directory on this machine; commands are local processes.
    Local {
        /// The node's directory: commands run there, files land there.
        root: PathBuf,
        /// Labels set on every process of the node, so the backend can find
        /// them again (see the local backend).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
    },
    /// A container reached through the engine's exec and archive APIs.
    DockerContainer {
        /// The container's id or name.
        container: String,
        /// The node's directory inside the container (absolute).
        #[serde(default = "default_container_root")]
        root: String,
        /// Labels set on every command of the node, as `local.env`.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
    },
    /// A machine reached over SSH.
    Ssh {
        host: String,
        port: u16,
        user: String,
        /// The node's directory on the machine, relative to the login's
        /// home unless absolute.
        root: String,
        /// Private keys to try after the ssh-agent.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        identity_files: Vec<PathBuf>,
        /// Where host keys are checked; `~/.ssh/known_hosts` when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        known_hosts: Option<PathBuf>,
        #[serde(default)]
        host_key_policy: HostKeyPolicy,
        #[serde(default = "yes")]
        use_agent: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connect_timeout_ms: Option<u64>,
        /// Labels set on every command of the node (and so inherited by
        /// what it starts), so the backend can find its processes again.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        env: BTreeMap<String, String>,
    },
}

/// Where a container node's files go when the endpoint does not say.
pub const DEFAULT_CONTAINER_ROOT: &str = "/clusterdeck";

fn default_container_root() -> String {
    DEFAULT_CONTAINER_ROOT.to_owned()
}

impl Endpoint {
    /// `local`, `docker_container`, `ssh`: the tag, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Local { .. } => "local",
            Self::DockerContainer { .. } => "docker_container",
            Self::Ssh { .. } => "ssh",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_tagged_by_kind_and_optional_fields_default() {
        let local = Endpoint::Local {
            root: PathBuf::from("/n/a-1"),
            env: BTreeMap::new(),
        };
        assert_eq!(
            serde_json::to_string(&local).expect("serializes"),
            r#"{"kind":"local","root":"/n/a-1"}"#
        );
        let ssh: Endpoint = serde_json::from_str(
            r#"{"kind":"ssh","host":"10.0.0.5","port":22,"user":"ops","root":".clusterdeck/c/a-1"}"#,
        )
        .expect("reads");
        let Endpoint::Ssh {
            use_agent,
            host_key_policy,
            known_hosts,
            ..
        } = &ssh
        else {
            panic!("an ssh endpoint: {ssh:?}");
        };
        assert!(use_agent);
        assert_eq!(*host_key_policy, HostKeyPolicy::Strict);
        assert!(known_hosts.is_none());
        let back = serde_json::to_string(&ssh).expect("serializes");
        assert_eq!(serde_json::from_str::<Endpoint>(&back).expect("reads"), ssh);
        assert!(back.contains(r#""host_key_policy":"strict""#), "{back}");
    }
}
