//! From an endpoint (data a backend returns) to a live transport. Nothing is
//! dialled here: an SSH transport connects on first use, through the pool.

use std::sync::Arc;
use std::time::Duration;

use super::docker::DockerTransport;
use super::ssh::{SshSettings, SshTarget, SshTransport};
use super::{LocalTransport, Transport, TransportError};
use crate::model::Endpoint;

/// How long an SSH connection may take when the endpoint does not say.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The transport for `node` at `endpoint`. `env` is the node's identity, set
/// on every command it runs.
pub fn connect(
    node: &str,
    endpoint: &Endpoint,
    env: Vec<(String, String)>,
) -> Result<Arc<dyn Transport>, TransportError> {
    match endpoint {
        Endpoint::Local { root, env: labels } => {
            let mut env = env;
            env.extend(
                labels
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            Ok(Arc::new(LocalTransport::new(root.clone(), env)))
        }
        Endpoint::Ssh {
            host,
            port,
            user,
            root,
            identity_files,
            known_hosts,
            host_key_policy,
            use_agent,
            connect_timeout_ms,
            env: labels,
        } => {
            let mut env = env;
            env.extend(
                labels
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            let target = SshTarget {
                alias: host.clone(),
                host: host.clone(),
                port: *port,
                user: user.clone(),
                identity_files: identity_files.clone(),
            };
            let settings = SshSettings {
                user: user.clone(),
                port: *port,
                identity_files: Vec::new(),
                use_agent: *use_agent,
                ssh_config: None,
                known_hosts: known_hosts.clone().unwrap_or_else(|| {
                    super::ssh::expand_home(std::path::Path::new("~/.ssh/known_hosts"))
                }),
                host_key_policy: *host_key_policy,
                connect_timeout: connect_timeout_ms
                    .map_or(DEFAULT_CONNECT_TIMEOUT, Duration::from_millis),
            };
            Ok(Arc::new(SshTransport::new(
                node,
                target,
                Arc::new(settings),
                root.clone(),
                env,
            )))
        }
        Endpoint::DockerContainer {
            container,
            root,
            env: labels,
        } => {
            let mut env = env;
            env.extend(
                labels
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone())),
            );
            Ok(Arc::new(DockerTransport::new(node, container, root, env)))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::model::Stream;
    use crate::transport::{ConnectErrorKind, ExecRequest, ExecStatus};

    #[tokio::test]
    async fn a_local_endpoint_runs_commands_in_its_root_with_its_labels() {
        let dir = tempfile::tempdir().expect("dir");
        let endpoint = Endpoint::Local {
            root: dir.path().to_path_buf(),
            env: BTreeMap::from([("CLUSTERDECK_TEST_LABEL".to_owned(), "x1".to_owned())]),
        };
        let transport = connect(
            "a-1",
            &endpoint,
            vec![("CLUSTERDECK_NODE".to_owned(), "a-1".to_owned())],
        )
        .expect("a local transport");
        let lines = std::sync::Mutex::new(Vec::new());
        let status = transport
            .exec(
                &ExecRequest {
                    command: "echo $CLUSTERDECK_NODE $CLUSTERDECK_TEST_LABEL; pwd".to_owned(),
                    ..ExecRequest::default()
                },
                &|_: Stream, line: &str| lines.lock().expect("lock").push(line.to_owned()),
                &CancellationToken::new(),
            )
            .await
            .expect("runs");
        assert_eq!(status, ExecStatus::Exited(0));
        let lines = lines.into_inner().expect("lock");
        assert_eq!(lines[0], "a-1 x1");
        assert_eq!(
            std::fs::canonicalize(&lines[1]).expect("path"),
            std::fs::canonicalize(dir.path()).expect("path")
        );
    }

    #[test]
    fn a_docker_endpoint_builds_a_transport_without_calling_the_engine() {
        let endpoint: Endpoint =
            serde_json::from_str(r#"{"kind":"docker_container","container":"c1"}"#)
                .expect("root and env may be left out");
        assert_eq!(
            endpoint,
            Endpoint::DockerContainer {
                container: "c1".to_owned(),
                root: crate::model::DEFAULT_CONTAINER_ROOT.to_owned(),
                env: BTreeMap::new(),
            }
        );
        assert!(connect("a-1", &endpoint, Vec::new()).is_ok());
    }

    #[tokio::test]
    async fn an_ssh_endpoint_nobody_listens_on_fails_as_refused_not_just_unreachable() {
        let port = {
            let spare = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            spare.local_addr().expect("addr").port()
        };
        let endpoint = Endpoint::Ssh {
            host: "127.0.0.1".to_owned(),
            port,
            user: "nobody".to_owned(),
            root: ".clusterdeck/t/a-1".to_owned(),
            identity_files: Vec::new(),
            known_hosts: Some(std::path::PathBuf::from("/dev/null")),
            host_key_policy: crate::model::HostKeyPolicy::Strict,
            use_agent: false,
            connect_timeout_ms: Some(2000),
            env: BTreeMap::new(),
        };
        let transport = connect("a-1", &endpoint, Vec::new()).expect("built without dialling");
        let error = transport
            .exec(
                &ExecRequest {
                    command: "true".to_owned(),
                    ..ExecRequest::default()
                },
                &|_: Stream, _: &str| {},
                &CancellationToken::new(),
            )
            .await
            .expect_err("nothing listens");
        assert_eq!(
            error.connect_kind(),
            Some(ConnectErrorKind::Refused),
            "{error}"
        );
        assert!(error.to_string().contains("connection refused"), "{error}");
    }
}
