//! The `ssh` backend: machines that already exist. It creates and destroys
//! no machine; nodes are the hosts each group lists, reached over SSH, and
//! install, run, debug and attach work on them. `destroy` removes what
//! clusterdeck put on them (see [`teardown`]) and nothing else.

mod preflight;
mod teardown;

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    Backend, BackendContext, BackendError, BackendInfo, Capabilities, Endpoint, GroupRequest,
    NodeOutcome, NodeResults, OptionSpec, OptionType, PowerAction, PreflightCheck,
    PreflightContext, ResourceRef,
};
use crate::model::{Node, NodeState, UrlFetch, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::transport::ssh::{HostKeyPolicy, SshSettings, expand_home};

pub struct SshBackend;

const HOSTS: &str = "hosts";
const KIND: &str = "ssh";
/// The journalled resource of a node: what clusterdeck puts on its machine
/// (the node's directory, the processes its commands start), keyed by node
/// name, its id the host as the group lists it.
pub const NODE_FILES: &str = "ssh-node";
const DEFAULT_REMOTE_DIR: &str = ".clusterdeck";
/// Machines torn down at once (the engine's `-j` default).
const TEARDOWN_PARALLEL: usize = 32;

fn remote_dir(options: &std::collections::BTreeMap<String, Value>) -> &str {
    options
        .get("remote_dir")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_REMOTE_DIR)
}

/// A node as `destroy_resource` knows it: by its key and host.
fn journalled_node(key: &str, host: &str) -> Node {
    Node {
        id: host.to_owned(),
        name: key.to_owned(),
        group: String::new(),
        index: 0,
        roles: Vec::new(),
        addresses: Vec::new(),
        state: NodeState::Running,
    }
}

/// Settings from the backend options (defaults already filled in).
pub fn settings(
    options: &std::collections::BTreeMap<String, Value>,
) -> Result<SshSettings, String> {
    let text = |name: &str| options.get(name).and_then(Value::as_str).map(str::to_owned);
    let number = |name: &str| options.get(name).and_then(Value::as_u64);
    let policy = match text("host_key_policy").as_deref() {
        None | Some("strict") => HostKeyPolicy::Strict,
        Some("accept-new") => HostKeyPolicy::AcceptNew,
        Some(other) => {
            return Err(format!(
                "host_key_policy must be strict or accept-new, found {other:?}"
            ));
        }
    };
    let ssh_config = text("ssh_config")
        .filter(|path| !path.is_empty())
        .map(|path| expand_home(&PathBuf::from(path)))
        .filter(|path| path.exists());
    Ok(SshSettings {
        user: text("user")
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "root".to_owned()),
        port: number("port")
            .and_then(|port| u16::try_from(port).ok())
            .unwrap_or(22),
        identity_files: options
            .get("identity_files")
            .and_then(Value::as_array)
            .map(|files| {
                files
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|path| expand_home(&PathBuf::from(path)))
                    .collect()
            })
            .unwrap_or_default(),
        use_agent: options
            .get("use_agent")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        ssh_config,
        known_hosts: expand_home(&PathBuf::from(
            text("known_hosts").unwrap_or_else(|| "~/.ssh/known_hosts".to_owned()),
        )),
        host_key_policy: policy,
        connect_timeout: Duration::from_millis(number("connect_timeout_ms").unwrap_or(10_000)),
    })
}

/// A cluster of hosts given on the command line (`run --hosts`), its nodes
/// named after the hosts so results fold by host name.
pub fn adhoc_record(
    name: &str,
    hosts: &[String],
    options: std::collections::BTreeMap<String, Value>,
) -> Result<crate::state::ClusterRecord, String> {
    use crate::spec::{BackendSpec, ChecksSpec, NodeGroupSpec};
    if hosts.is_empty() {
        return Err("--hosts names no host".to_owned());
    }
    settings(&options)?;
    let mut nodes: Vec<Node> = Vec::with_capacity(hosts.len());
    for (index, host) in hosts.iter().enumerate() {
        let (_, bare, port) = crate::transport::ssh::split_target(host);
        let node_name = match port {
            Some(port) => format!("{bare}-{port}"),
            None => bare.to_owned(),
        }
        .replace(
            |c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            "-",
        );
        if nodes.iter().any(|node| node.name == node_name) {
            return Err(format!("host {host:?} is listed twice"));
        }
        nodes.push(Node {
            id: host.clone(),
            name: node_name,
            group: "hosts".to_owned(),
            index: u32::try_from(index + 1).unwrap_or(u32::MAX),
            roles: Vec::new(),
            addresses: vec![host.clone()],
            state: NodeState::Running,
        });
    }
    let now = crate::model::now();
    Ok(crate::state::ClusterRecord {
        version: crate::state::RECORD_VERSION,
        name: name.to_owned(),
        uid: crate::model::new_uid(name),
        spec: ClusterSpec {
            name: name.to_owned(),
            backend: BackendSpec {
                kind: "ssh".to_owned(),
                path: None,
                options,
            },
            node_groups: vec![NodeGroupSpec {
                config: Default::default(),
                name: "hosts".to_owned(),
                count: u32::try_from(hosts.len()).unwrap_or(u32::MAX),
                roles: Vec::new(),
                options: std::collections::BTreeMap::from([(HOSTS.to_owned(), json!(hosts))]),
            }],
            install: None,
            checks: ChecksSpec::default(),
        },
        spec_path: String::new(),
        groups: Vec::new(),
        status: crate::state::ClusterStatus::Ready,
        nodes,
        created_at: now.clone(),
        updated_at: now,
        last_operation: None,
    })
}

fn hosts(options: &std::collections::BTreeMap<String, Value>) -> Option<Vec<String>> {
    options
        .get(HOSTS)?
        .as_array()?
        .iter()
        .map(|host| host.as_str().map(str::to_owned))
        .collect()
}

#[async_trait]
impl Backend for SshBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: KIND.to_owned(),
            capabilities: Capabilities {
                create: false,
                // What clusterdeck put on the machines, never the machines.
                destroy: true,
                install_from_path: true,
                // Fetched by clusterdeck, then uploaded like a path installer.
                install_from_url: true,
                scale: false,
                stop_start: false,
                gc: false,
                watch: false,
                url_fetch: UrlFetch::Host,
            },
            cluster_options: vec![
                OptionSpec::new("user", OptionType::String, "login user when a host names none (default: $USER)"),
                OptionSpec::new("port", OptionType::Integer, "SSH port when a host names none").with_default(json!(22)),
                OptionSpec::new("identity_files", OptionType::StringList, "private keys to try, after the ssh config's IdentityFile").with_default(json!([])),
                OptionSpec::new("use_agent", OptionType::Boolean, "try the keys of the ssh-agent at $SSH_AUTH_SOCK first").with_default(json!(true)),
                OptionSpec::new("ssh_config", OptionType::String, "OpenSSH client config for Host aliases (HostName, Port, User, IdentityFile); empty for none").with_default(json!("~/.ssh/config")),
                OptionSpec::new("known_hosts", OptionType::String, "known_hosts file host keys are checked against").with_default(json!("~/.ssh/known_hosts")),
                OptionSpec::new("host_key_policy", OptionType::String, "strict: unknown host keys are refused; accept-new: they are recorded (a changed key is always refused)")
                    .with_default(json!("strict"))
                    .with_choices(&["strict", "accept-new"]),
                OptionSpec::new("connect_timeout_ms", OptionType::Integer, "give up connecting to a node after this long").with_default(json!(10_000)),
                OptionSpec::new("remote_dir", OptionType::String, "directory on each machine for clusterdeck's files, relative to the login's home").with_default(json!(".clusterdeck")),
            ],
            group_options: vec![
                OptionSpec::new(HOSTS, OptionType::StringList, "the group's machines, one per node: \"[user@]host[:port]\" or ssh config aliases")
                    .required()
                    .in_groups(),
            ],
        }
    }

    async fn preflight(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        preflight::checks(ctx).await
    }

    async fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        const NAME: &str = "ssh-hosts";
        let mut problems = Vec::new();
        for (index, group) in spec.node_groups.iter().enumerate() {
            let field = format!("node_groups[{index}].options.{HOSTS}");
            match hosts(&group.options) {
                None => problems.push(ValidatorOutcome::failed_at(NAME, field, format!(
                    "group {} needs options.hosts: a list of \"[user@]host[:port]\" (or ssh config aliases)",
                    group.name
                ))),
                Some(hosts) if hosts.len() != group.count as usize => {
                    problems.push(ValidatorOutcome::failed_at(
                        NAME,
                        field,
                        format!(
                            "group {} has count {} but lists {} host(s)",
                            group.name,
                            group.count,
                            hosts.len()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        // host_key_policy is checked by its schema's choices
        // (backend-options); the port's range is not expressible there.
        if let Some(port) = spec.backend.options.get("port").and_then(Value::as_u64)
            && !(1..=u64::from(u16::MAX)).contains(&port)
        {
            problems.push(ValidatorOutcome::failed_at(
                NAME,
                "backend.options.port",
                format!("port must be between 1 and 65535, found {port}"),
            ));
        }
        if problems.is_empty() {
            vec![ValidatorOutcome::new(
                NAME,
                true,
                "every group lists its hosts",
            )]
        } else {
            problems
        }
    }

    /// Adopts the group's hosts. No machine is created, but each node is
    /// journalled: what clusterdeck will put on it is for `destroy` to remove.
    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        let hosts = hosts(&group.options).unwrap_or_default();
        let settings = settings(&ctx.options);
        group
            .nodes
            .iter()
            .map(|request| {
                let result = (|| {
                    let settings = settings.clone().map_err(BackendError::invalid)?;
                    let host = hosts
                        .get((request.index as usize).saturating_sub(1))
                        .ok_or_else(|| {
                            BackendError::invalid(format!(
                                "group {} lists no host for node {}",
                                group.group, request.name
                            ))
                        })?;
                    let target = settings.endpoint(host).map_err(BackendError::invalid)?;
                    let resource = ResourceRef::node(NODE_FILES, &request.name);
                    ctx.journal.intent(&resource)?;
                    ctx.journal.created(&resource, host)?;
                    Ok(Node {
                        id: host.clone(),
                        name: request.name.clone(),
                        group: group.group.clone(),
                        index: request.index,
                        roles: group.roles.clone(),
                        addresses: vec![format!("{}@{}", target.user, target.address())],
                        state: NodeState::Running,
                    })
                })();
                NodeOutcome {
                    name: request.name.clone(),
                    result: result.map_err(|error: BackendError| error.into()),
                }
            })
            .collect()
    }

    /// Stops the node's labelled processes and removes its directory,
    /// [`TEARDOWN_PARALLEL`] nodes at a time; the machines stay.
    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        let mut results = Vec::with_capacity(nodes.len());
        for chunk in nodes.chunks(TEARDOWN_PARALLEL) {
            results.extend(
                futures::future::join_all(chunk.iter().map(|node| async move {
                    (node.name.clone(), self.tear_down(ctx, node).await)
                }))
                .await,
            );
        }
        results
    }

    async fn power(
        &self,
        _ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        let what = match action {
            PowerAction::Stop => {
                "stop machines: it does not own them; stop them with their own tools"
            }
            PowerAction::Start => {
                "start machines: it does not own them; start them with their own tools"
            }
        };
        nodes
            .iter()
            .map(|node| {
                (
                    node.name.clone(),
                    Err(BackendError::unsupported(KIND, what)),
                )
            })
            .collect()
    }

    /// A journalled node the record does not list (an interrupted `up`):
    /// torn down like any node. Without an id it was never adopted, so
    /// nothing was put on its machine.
    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        match id {
            Some(host) if resource.kind == NODE_FILES => {
                self.tear_down(ctx, &journalled_node(&resource.key, host))
                    .await
            }
            _ => Err(BackendError::not_found(format!(
                "nothing was put on a machine for {} {:?}",
                resource.kind, resource.key
            ))),
        }
    }

    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        let settings = settings(&ctx.options).map_err(BackendError::invalid)?;
        let target = settings.endpoint(&node.id).map_err(BackendError::invalid)?;
        let base = remote_dir(&ctx.options);
        let mut env = std::collections::BTreeMap::new();
        if !ctx.uid().is_empty() {
            env.insert("CLUSTERDECK_CLUSTER_UID".to_owned(), ctx.uid().to_owned());
        }
        Ok(Endpoint::Ssh {
            host: target.host,
            port: target.port,
            user: target.user,
            root: format!("{base}/{}/{}", ctx.name(), node.name),
            identity_files: target.identity_files,
            known_hosts: Some(settings.known_hosts),
            host_key_policy: settings.host_key_policy,
            use_agent: settings.use_agent,
            connect_timeout_ms: u64::try_from(settings.connect_timeout.as_millis()).ok(),
            env,
        })
    }
}

impl SshBackend {
    async fn tear_down(&self, ctx: &BackendContext, node: &Node) -> Result<(), BackendError> {
        let teardown =
            teardown::Teardown::new(ctx.uid(), &node.name, remote_dir(&ctx.options), ctx.name())?;
        let endpoint = self.endpoint(ctx, node).await?;
        teardown.run(&endpoint, &ctx.cancel).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::backend::{BackendContext, Journal, ProgressReporter};
    use crate::model::{ClusterRef, GroupRequest, NodeRequest};

    #[derive(Default)]
    struct Recorded(std::sync::Mutex<Vec<String>>);

    impl Journal for Recorded {
        fn intent(&self, resource: &ResourceRef) -> Result<(), BackendError> {
            self.0
                .lock()
                .expect("lock")
                .push(format!("intent {} {}", resource.kind, resource.key));
            Ok(())
        }
        fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), BackendError> {
            self.0
                .lock()
                .expect("lock")
                .push(format!("created {} {} {id}", resource.kind, resource.key));
            Ok(())
        }
        fn destroyed(&self, _resource: &ResourceRef) -> Result<(), BackendError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn hosts_are_adopted_reached_as_ssh_endpoints_and_never_powered() {
        let options = BTreeMap::from([
            ("user".to_owned(), json!("deploy")),
            ("ssh_config".to_owned(), json!("")),
            ("known_hosts".to_owned(), json!("/keys/known")),
            ("use_agent".to_owned(), json!(false)),
            ("remote_dir".to_owned(), json!("cd")),
        ]);
        let journal = Arc::new(Recorded::default());
        let ctx = BackendContext {
            cluster: ClusterRef::new("web", "web-1"),
            state_dir: std::path::PathBuf::from("/nonexistent"),
            options,
            journal: journal.clone(),
            progress: ProgressReporter::silent(),
            cancel: CancellationToken::new(),
        };
        let group = GroupRequest {
            open_ports: Vec::new(),
            group: "h".into(),
            roles: vec![],
            options: BTreeMap::from([(HOSTS.to_owned(), json!(["ops@10.0.0.5:2222", "10.0.0.6"]))]),
            nodes: vec![
                NodeRequest {
                    name: "h-1".into(),
                    index: 1,
                },
                NodeRequest {
                    name: "h-2".into(),
                    index: 2,
                },
                NodeRequest {
                    name: "h-3".into(),
                    index: 3,
                },
            ],
        };
        let outcomes = SshBackend.create_group(&ctx, &group).await;
        let node = outcomes[0].result.clone().expect("adopted");
        assert_eq!(node.addresses, ["ops@10.0.0.5:2222"]);
        assert!(outcomes[1].result.is_ok());
        let missing = outcomes[2].result.clone().expect_err("no third host");
        assert!(
            missing.message.contains("lists no host for node h-3"),
            "{missing:?}"
        );
        assert_eq!(
            *journal.0.lock().expect("lock"),
            [
                "intent ssh-node h-1",
                "created ssh-node h-1 ops@10.0.0.5:2222",
                "intent ssh-node h-2",
                "created ssh-node h-2 10.0.0.6",
            ]
        );

        let endpoint = SshBackend.endpoint(&ctx, &node).await.expect("endpoint");
        assert_eq!(
            endpoint,
            Endpoint::Ssh {
                host: "10.0.0.5".into(),
                port: 2222,
                user: "ops".into(),
                root: "cd/web/h-1".into(),
                identity_files: Vec::new(),
                known_hosts: Some(PathBuf::from("/keys/known")),
                host_key_policy: HostKeyPolicy::Strict,
                use_agent: false,
                connect_timeout_ms: Some(10_000),
                env: BTreeMap::from([("CLUSTERDECK_CLUSTER_UID".to_owned(), "web-1".to_owned())]),
            }
        );
        let stop = SshBackend
            .power(&ctx, std::slice::from_ref(&node), PowerAction::Stop)
            .await;
        let error = stop[0].1.as_ref().expect_err("unsupported");
        assert_eq!(error.kind(), crate::model::BackendFailureKind::Unsupported);
        assert!(error.to_string().contains("does not own them"), "{error}");
    }
}
