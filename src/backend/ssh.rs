//! The `ssh` backend: machines that already exist. It creates and destroys
//! nothing; nodes are the hosts each group lists, reached over SSH, and
//! install, run, debug and attach work on them.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    Backend, BackendError, Capabilities, ClusterContext, NodePlan, OptionSpec, OptionType,
};
use crate::model::{Node, NodeState, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::state::OutstandingResource;
use crate::transport::Transport;
use crate::transport::ssh::{HostKeyPolicy, SshSettings, SshTransport, expand_home};

pub struct SshBackend;

const HOSTS: &str = "hosts";

fn option<'a>(ctx: &'a ClusterContext, name: &str) -> Option<&'a Value> {
    ctx.options.get(name)
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
                options,
            },
            node_groups: vec![NodeGroupSpec {
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
    fn kind(&self) -> &str {
        "ssh"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            create: false,
            destroy: false,
            install_from_path: true,
            // Fetched by clusterdeck, then uploaded like a path installer.
            install_from_url: true,
            scale: false,
            stop_start: false,
            url_fetch: crate::model::UrlFetch::Host,
        }
    }

    fn option_schema(&self) -> Vec<OptionSpec> {
        vec![
            OptionSpec::new("user", OptionType::String, "login user when a host names none (default: $USER)"),
            OptionSpec::new("port", OptionType::Integer, "SSH port when a host names none").with_default(json!(22)),
            OptionSpec::new("identity_files", OptionType::StringList, "private keys to try, after the ssh config's IdentityFile").with_default(json!([])),
            OptionSpec::new("use_agent", OptionType::Boolean, "try the keys of the ssh-agent at $SSH_AUTH_SOCK first").with_default(json!(true)),
            OptionSpec::new("ssh_config", OptionType::String, "OpenSSH client config for Host aliases (HostName, Port, User, IdentityFile); empty for none").with_default(json!("~/.ssh/config")),
            OptionSpec::new("known_hosts", OptionType::String, "known_hosts file host keys are checked against").with_default(json!("~/.ssh/known_hosts")),
            OptionSpec::new("host_key_policy", OptionType::String, "strict: unknown host keys are refused; accept-new: they are recorded (a changed key is always refused)").with_default(json!("strict")),
            OptionSpec::new("connect_timeout_ms", OptionType::Integer, "give up connecting to a node after this long").with_default(json!(10_000)),
            OptionSpec::new("remote_dir", OptionType::String, "directory on each machine for clusterdeck's files, relative to the login's home").with_default(json!(".clusterdeck")),
        ]
    }

    fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
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
        let options = &spec.backend.options;
        if let Some(port) = options.get("port").and_then(Value::as_u64)
            && !(1..=u64::from(u16::MAX)).contains(&port)
        {
            problems.push(ValidatorOutcome::failed_at(
                NAME,
                "backend.options.port",
                format!("port must be between 1 and 65535, found {port}"),
            ));
        }
        let mut options = options.clone();
        options
            .entry("host_key_policy".to_owned())
            .or_insert(json!("strict"));
        if let Err(problem) = settings(&options) {
            // The policy is the only setting that can be wrong.
            problems.push(ValidatorOutcome::failed_at(
                NAME,
                "backend.options.host_key_policy",
                problem,
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

    /// Adopts the plan's host: nothing is created, so nothing is in the ledger.
    async fn create_node(
        &self,
        ctx: &ClusterContext,
        plan: &NodePlan,
    ) -> Result<Node, BackendError> {
        let hosts = hosts(&plan.options).unwrap_or_default();
        let host = hosts.get(plan.index as usize - 1).ok_or_else(|| {
            BackendError::Other(format!(
                "group {} lists no host for node {}",
                plan.group, plan.name
            ))
        })?;
        let settings = settings(&ctx.options).map_err(BackendError::Other)?;
        let endpoint = settings.endpoint(host).map_err(BackendError::Other)?;
        Ok(Node {
            id: host.clone(),
            name: plan.name.clone(),
            group: plan.group.clone(),
            index: plan.index,
            roles: plan.roles.clone(),
            addresses: vec![format!("{}@{}", endpoint.user, endpoint.address())],
            state: NodeState::Running,
        })
    }

    async fn destroy_node(&self, _ctx: &ClusterContext, _node: &Node) -> Result<(), BackendError> {
        Err(BackendError::Unsupported {
            backend: "ssh".to_owned(),
            operation: "destroy machines (it only forgets them on `destroy`)",
        })
    }

    async fn discover(
        &self,
        _ctx: &ClusterContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        Ok(known.to_vec())
    }

    async fn destroy_resource(
        &self,
        _ctx: &ClusterContext,
        _resource: &OutstandingResource,
    ) -> Result<(), BackendError> {
        Ok(())
    }

    async fn sweep(&self, _ctx: &ClusterContext) -> Result<usize, BackendError> {
        Ok(0)
    }

    fn transport(
        &self,
        ctx: &ClusterContext,
        node: &Node,
        env: Vec<(String, String)>,
    ) -> Result<Arc<dyn Transport>, BackendError> {
        let settings = settings(&ctx.options).map_err(BackendError::Other)?;
        let endpoint = settings.endpoint(&node.id).map_err(BackendError::Other)?;
        let base = option(ctx, "remote_dir")
            .and_then(Value::as_str)
            .unwrap_or(".clusterdeck");
        let root = format!("{base}/{}/{}", ctx.name, node.name);
        Ok(Arc::new(SshTransport::new(
            &node.name,
            endpoint,
            Arc::new(settings),
            root,
            env,
        )))
    }
}
