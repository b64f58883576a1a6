//! Conformance of distribution plugins: every query, on a cluster of two
//! nodes with the roles the plugin names (its `node_processes`), then every
//! phase on two node directories of the run's own, `host.run` and
//! `host.put` answered there through the local transport. What is judged is
//! the protocol (answers of the right shape, one verdict per node of a
//! phase, requests only for the cluster's nodes), not what it installs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::super::client::PluginClient;
use super::super::distribution::{
    CONFIGS, LOG_PATHS, NODE_PROCESSES, OPEN_PORTS, VALIDATE, VALIDATE_SCALING, VERSIONS,
};
use super::super::distribution_host::PhaseHandler;
use super::report::Findings;
use crate::distribution::{HostCommand, HostOutput, NodeHost};
use crate::model::{
    ClusterView, ConfigSpec, ConfigType, Endpoint, Finding, GroupView, Node, NodeState, Phase,
    PhaseVerdict, PortSpec,
};
use crate::transport::{ExecRequest, ExecStatus, Kept, SplitOutput, Upload, connect};

/// How long each command of a phase may run here.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

pub async fn distribution(
    client: &PluginClient,
    name: &str,
    workspace: &Path,
    findings: &mut Findings,
) {
    let calls = Calls {
        client,
        plugin: name,
    };
    let Some(version) = calls.versions(findings).await else {
        return;
    };
    let configs = calls.configs(&version, findings).await;
    let roles = calls.roles(&version, findings).await;
    let nodes = match node_dirs(workspace, &roles) {
        Ok(nodes) => nodes,
        Err(err) => return findings.problem(Phase::Configure.method(), err),
    };
    let cluster = cluster(&version, &configs, nodes.clone());
    calls.validate(&cluster, findings).await;
    calls
        .ports_and_logs(&version, &cluster, &roles, findings)
        .await;
    calls.phases(&cluster, &nodes, findings).await;
}

struct Calls<'a> {
    client: &'a PluginClient,
    plugin: &'a str,
}

impl Calls<'_> {
    /// Calls a query; the problem is noted and `None` returned when it
    /// fails or answers the wrong shape. -32601 is fine for an optional one.
    async fn query<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        field: &str,
        optional: bool,
        findings: &mut Findings,
    ) -> Option<T> {
        findings.called(method);
        let handler = super::super::client::NoContext;
        let result = match self.client.call(method, params, &handler, None).await {
            Ok(result) => result,
            Err(super::super::error::PluginError::Rpc { code, .. })
                if optional && code == super::super::rpc::METHOD_NOT_FOUND =>
            {
                findings.note(
                    method,
                    "not implemented (optional): clusterdeck uses an empty answer",
                );
                return None;
            }
            Err(err) => {
                findings.problem(method, err.to_string());
                return None;
            }
        };
        match serde_json::from_value(result.get(field).cloned().unwrap_or(Value::Null)) {
            Ok(value) => Some(value),
            Err(err) => {
                findings.problem(
                    method,
                    format!("its result does not read as {{\"{field}\": ...}}: {err}"),
                );
                None
            }
        }
    }

    async fn versions(&self, findings: &mut Findings) -> Option<String> {
        let versions: Vec<String> = self
            .query(VERSIONS, json!({}), "versions", false, findings)
            .await?;
        let Some(first) = versions.first() else {
            findings.problem(VERSIONS, "it offers no version");
            return None;
        };
        findings.note(VERSIONS, versions.join(", "));
        Some(first.clone())
    }

    async fn configs(&self, version: &str, findings: &mut Findings) -> Vec<ConfigSpec> {
        let params = json!({"version": version});
        let configs: Vec<ConfigSpec> = self
            .query(CONFIGS, params, "configs", false, findings)
            .await
            .unwrap_or_default();
        for config in &configs {
            if let Some(default) = &config.default
                && !config.kind.accepts(default)
            {
                findings.problem(
                    CONFIGS,
                    format!(
                        "the default of {} is {default}, but it takes {}",
                        config.name,
                        config.kind.describe()
                    ),
                );
            }
        }
        findings.note(
            CONFIGS,
            format!("{} config(s) for {version}", configs.len()),
        );
        configs
    }

    /// The roles the plugin runs processes for; `node` when it names none.
    async fn roles(&self, version: &str, findings: &mut Findings) -> Vec<String> {
        let processes: BTreeMap<String, Vec<String>> = self
            .query(
                NODE_PROCESSES,
                json!({"version": version}),
                "processes",
                true,
                findings,
            )
            .await
            .unwrap_or_default();
        if !processes.is_empty() {
            let shown: Vec<String> = processes
                .iter()
                .map(|(role, names)| format!("{role}: {}", names.join(" ")))
                .collect();
            findings.note(NODE_PROCESSES, shown.join("; "));
        }
        let roles: Vec<String> = processes.into_keys().collect();
        if roles.is_empty() {
            vec!["node".to_owned()]
        } else {
            roles
        }
    }

    async fn validate(&self, cluster: &ClusterView, findings: &mut Findings) {
        let params = json!({"cluster": cluster});
        if let Some(found) = self
            .query::<Vec<Finding>>(VALIDATE, params, "findings", true, findings)
            .await
        {
            findings.note(
                VALIDATE,
                format!("{} finding(s) on the test cluster", found.len()),
            );
        }
        let existing: BTreeMap<&str, u32> = cluster
            .groups
            .iter()
            .map(|group| (group.name.as_str(), group.count))
            .collect();
        let first = cluster.groups.first().map(|group| group.name.as_str());
        let params = json!({
            "cluster": cluster,
            "existing": existing,
            "additional": BTreeMap::from_iter(first.map(|group| (group, 1))),
        });
        if let Some(found) = self
            .query::<Vec<Finding>>(VALIDATE_SCALING, params, "findings", true, findings)
            .await
        {
            findings.note(
                VALIDATE_SCALING,
                format!(
                    "{} finding(s) on growing {}",
                    found.len(),
                    first.unwrap_or("-")
                ),
            );
        }
    }

    async fn ports_and_logs(
        &self,
        version: &str,
        cluster: &ClusterView,
        roles: &[String],
        findings: &mut Findings,
    ) {
        for group in &cluster.groups {
            let params = json!({"cluster": cluster, "group": group.name});
            let Some(ports) = self
                .query::<Vec<PortSpec>>(OPEN_PORTS, params, "ports", true, findings)
                .await
            else {
                break;
            };
            let shown: Vec<String> = ports.iter().map(|port| port.port.to_string()).collect();
            findings.note(
                OPEN_PORTS,
                format!("{}: [{}]", group.name, shown.join(", ")),
            );
        }
        for role in roles {
            let params = json!({"version": version, "role": role});
            let Some(paths) = self
                .query::<Vec<String>>(LOG_PATHS, params, "paths", true, findings)
                .await
            else {
                break;
            };
            findings.note(LOG_PATHS, format!("{role}: [{}]", paths.join(", ")));
        }
    }

    /// configure and start on both nodes, scale with the second as the
    /// added one, decommission it, then terminate both.
    async fn phases(&self, cluster: &ClusterView, nodes: &[Node], findings: &mut Findings) {
        let host = DirHost {
            nodes,
            problems: Mutex::default(),
        };
        let second = &nodes[nodes.len() - 1..];
        let steps: [(Phase, &[Node]); 5] = [
            (Phase::Configure, nodes),
            (Phase::Start, nodes),
            (Phase::Scale, second),
            (Phase::Decommission, second),
            (Phase::Terminate, nodes),
        ];
        for (phase, concerned) in steps {
            let method = phase.method();
            findings.called(method);
            let handler = PhaseHandler::new(self.plugin, method, cluster, concerned, &host);
            let params = json!({"phase": phase.as_str(), "cluster": cluster, "nodes": concerned});
            let answered = self.client.call(method, params, &handler, None).await;
            for problem in host.take_problems() {
                findings.problem(method, problem);
            }
            let result = match answered {
                Ok(result) => result,
                Err(super::super::error::PluginError::Rpc { code, .. })
                    if code == super::super::rpc::METHOD_NOT_FOUND =>
                {
                    findings.note(method, "not implemented: a phase with no work");
                    continue;
                }
                Err(err) => {
                    findings.problem(method, err.to_string());
                    continue;
                }
            };
            judge_verdicts(method, &result, concerned, findings);
        }
    }
}

fn judge_verdicts(method: &str, result: &Value, nodes: &[Node], findings: &mut Findings) {
    let verdicts: Vec<PhaseVerdict> =
        match serde_json::from_value(result.get("results").cloned().unwrap_or(Value::Null)) {
            Ok(verdicts) => verdicts,
            Err(err) => {
                return findings.problem(
                    method,
                    format!("its result does not read as {{\"results\": [verdict]}}: {err}"),
                );
            }
        };
    for node in nodes {
        match verdicts
            .iter()
            .filter(|verdict| verdict.node == node.name)
            .count()
        {
            1 => {}
            0 => findings.problem(method, format!("no verdict for node {}", node.name)),
            _ => findings.problem(method, format!("more than one verdict for {}", node.name)),
        }
    }
    for verdict in &verdicts {
        if !nodes.iter().any(|node| node.name == verdict.node) {
            findings.problem(
                method,
                format!(
                    "a verdict for {}, which the call did not name",
                    verdict.node
                ),
            );
        }
    }
    let shown: Vec<String> = verdicts
        .iter()
        .map(|verdict| {
            format!(
                "{} {}",
                verdict.node,
                if verdict.ok { "ok" } else { "failed" }
            )
        })
        .collect();
    findings.note(method, shown.join(", "));
}

/// Two node directories: the first of the first role, the second of the
/// last (so a plugin with two roles gets one node of each).
fn node_dirs(workspace: &Path, roles: &[String]) -> Result<Vec<Node>, String> {
    let first = roles.first().cloned().unwrap_or_else(|| "node".to_owned());
    let last = roles.last().cloned().unwrap_or_else(|| first.clone());
    [first, last]
        .into_iter()
        .enumerate()
        .map(|(index, role)| {
            let name = format!("{role}s-{}", index + 1);
            let root = workspace.join("distribution-nodes").join(&name);
            std::fs::create_dir_all(&root)
                .map_err(|err| format!("cannot make {}: {err}", root.display()))?;
            Ok(Node {
                id: root.display().to_string(),
                name,
                group: format!("{role}s"),
                index: u32::try_from(index + 1).unwrap_or(1),
                roles: vec![role],
                addresses: vec![root.display().to_string()],
                state: NodeState::Running,
            })
        })
        .collect()
}

/// The test cluster: a group per node, every config at its default or,
/// when it has none, a value of its type.
fn cluster(version: &str, configs: &[ConfigSpec], nodes: Vec<Node>) -> ClusterView {
    let value = |config: &ConfigSpec| {
        config
            .default
            .clone()
            .unwrap_or_else(|| match &config.kind {
                ConfigType::String => json!("conformance"),
                ConfigType::Integer => json!(1),
                ConfigType::Boolean => json!(false),
                ConfigType::Enum { values } => json!(values.first().cloned().unwrap_or_default()),
            })
    };
    let scoped = |scope| {
        configs
            .iter()
            .filter(|config| config.scope == scope)
            .map(|config| (config.name.clone(), value(config)))
            .collect::<BTreeMap<_, _>>()
    };
    let mut groups: Vec<GroupView> = Vec::new();
    for node in &nodes {
        match groups.iter_mut().find(|group| group.name == node.group) {
            Some(group) => group.count += 1,
            None => groups.push(GroupView {
                name: node.group.clone(),
                count: 1,
                roles: node.roles.clone(),
                config: scoped(crate::model::ConfigScope::Node),
            }),
        }
    }
    ClusterView {
        name: "conformance".to_owned(),
        version: version.to_owned(),
        config: scoped(crate::model::ConfigScope::Cluster),
        groups,
        nodes,
    }
}

/// Answers host.run and host.put in the node directories.
struct DirHost<'a> {
    nodes: &'a [Node],
    problems: Mutex<Vec<String>>,
}

impl DirHost<'_> {
    fn take_problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .map(|mut problems| std::mem::take(&mut *problems))
            .unwrap_or_default()
    }

    fn transport(
        &self,
        node: &str,
    ) -> Result<std::sync::Arc<dyn crate::transport::Transport>, String> {
        let Some(node) = self.nodes.iter().find(|known| known.name == node) else {
            let problem = format!("a request for node {node:?}, which is not the cluster's");
            if let Ok(mut problems) = self.problems.lock() {
                problems.push(problem.clone());
            }
            return Err(problem);
        };
        let endpoint = Endpoint::Local {
            root: node.id.clone().into(),
            env: BTreeMap::new(),
        };
        connect(&node.name, &endpoint, Vec::new()).map_err(|err| err.to_string())
    }
}

#[async_trait]
impl NodeHost for DirHost<'_> {
    async fn run(&self, command: &HostCommand) -> Result<HostOutput, String> {
        let transport = self.transport(&command.node)?;
        let request = ExecRequest {
            command: command.command.clone(),
            timeout: Some(command.timeout.unwrap_or(COMMAND_TIMEOUT)),
            ..ExecRequest::default()
        };
        let output = SplitOutput::default();
        let status = transport
            .exec(&request, &output, &CancellationToken::new())
            .await
            .map_err(|err| err.to_string())?;
        let Kept {
            stdout,
            stderr,
            last_line,
        } = output.finish();
        Ok(HostOutput {
            exit_status: status.code(),
            signal: status.signal(),
            timed_out: status == ExecStatus::TimedOut,
            cancelled: status == ExecStatus::Cancelled,
            stdout,
            stderr,
            last_line,
        })
    }

    async fn put(&self, node: &str, dest: &str, content: &[u8], mode: u32) -> Result<(), String> {
        self.transport(node)?
            .put(Upload::Bytes(content), dest, mode)
            .await
            .map_err(|err| err.to_string())
    }
}
