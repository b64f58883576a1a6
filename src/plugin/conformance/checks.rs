//! Conformance of validator and debugger plugins: one `validator.validate`
//! on a small spec (an even number of masters, so a quorum validator has
//! something to say), and one `debugger.debug` on two node directories of
//! the run's own, its `host.run` requests answered by running the command
//! there. What is judged is the protocol (answers of the right shape, one
//! verdict per node, requests only for the nodes given), not the verdicts.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::super::client::{CallHandler, PluginClient};
use super::super::debugger::{DEBUG, HOST_RUN, HostRun, HostRunResult, UNREACHABLE};
use super::super::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use super::super::validator::{Finding, VALIDATE};
use super::report::Findings;
use crate::model::{CheckStatus, Endpoint, Node, NodeState};
use crate::spec::{BackendSpec, ChecksSpec, ClusterSpec, NodeGroupSpec};
use crate::transport::{ExecRequest, ExecStatus, Kept, SplitOutput, connect};

fn group(name: &str, count: u32, role: &str) -> NodeGroupSpec {
    NodeGroupSpec {
        config: Default::default(),
        name: name.to_owned(),
        count,
        roles: vec![role.to_owned()],
        options: BTreeMap::new(),
    }
}

/// `validator.validate` with two masters and one agent.
pub async fn validator(client: &PluginClient, findings: &mut Findings) {
    findings.called(VALIDATE);
    let spec = ClusterSpec {
        name: "conformance".to_owned(),
        backend: BackendSpec::default(),
        node_groups: vec![group("masters", 2, "master"), group("agents", 1, "agent")],
        install: None,
        checks: ChecksSpec::default(),
    };
    let planned = |name: &str, group: &str, role: &str| json!({"name": name, "group": group, "roles": [role]});
    let params = json!({
        "spec": spec,
        "nodes": {
            "master": [planned("masters-1", "masters", "master"), planned("masters-2", "masters", "master")],
            "agent": [planned("agents-1", "agents", "agent")],
        },
        "options": {},
    });
    let result = match client.call(VALIDATE, params, &Refuse, None).await {
        Ok(result) => result,
        Err(err) => return findings.problem(VALIDATE, err.to_string()),
    };
    let found: Vec<Finding> = match serde_json::from_value(result["results"].clone()) {
        Ok(found) => found,
        Err(err) => {
            return findings.problem(
                VALIDATE,
                format!("its result does not read as {{\"results\": [finding]}}: {err}"),
            );
        }
    };
    let located = found
        .iter()
        .filter(|finding| finding.field.is_some())
        .count();
    findings.note(
        VALIDATE,
        format!("{} finding(s), {located} about a spec element", found.len()),
    );
}

/// `debugger.debug` on two node directories under `workspace`; the first
/// has `run/agent.pid`, the second nothing.
pub async fn debugger(client: &PluginClient, workspace: &Path, findings: &mut Findings) {
    findings.called(DEBUG);
    let mut nodes = Vec::new();
    for index in 1..=2 {
        let name = format!("agents-{index}");
        let root = workspace.join("debugger-nodes").join(&name);
        if let Err(err) = std::fs::create_dir_all(root.join("run")) {
            return findings.problem(DEBUG, format!("cannot make {}: {err}", root.display()));
        }
        nodes.push(Node {
            id: root.display().to_string(),
            name,
            group: "agents".to_owned(),
            index,
            roles: vec!["agent".to_owned()],
            addresses: vec![root.display().to_string()],
            state: NodeState::Running,
        });
    }
    let _ = std::fs::write(workspace.join("debugger-nodes/agents-1/run/agent.pid"), "1");
    let host = LocalHost {
        nodes: &nodes,
        runs: Mutex::default(),
    };
    let params = json!({
        "debugger": "conformance",
        "cluster": "conformance",
        "roles": ["agent"],
        "nodes": nodes,
        "options": {},
        "timeout_ms": 10_000,
    });
    let cancel = CancellationToken::new();
    let answered = client.call(DEBUG, params, &host, Some(&cancel)).await;
    let runs = host
        .runs
        .into_inner()
        .unwrap_or_else(|poison| poison.into_inner());
    for problem in &runs.1 {
        findings.problem(DEBUG, problem.clone());
    }
    let result = match answered {
        Ok(result) => result,
        Err(err) => return findings.problem(DEBUG, err.to_string()),
    };
    let verdicts: Vec<(String, CheckStatus)> =
        match serde_json::from_value::<Vec<Value>>(result["results"].clone()) {
            Ok(items) => items
                .iter()
                .filter_map(|item| {
                    let status = serde_json::from_value(item["status"].clone()).ok()?;
                    Some((item["node"].as_str()?.to_owned(), status))
                })
                .collect(),
            Err(err) => {
                return findings.problem(
                    DEBUG,
                    format!("its result does not read as {{\"results\": [verdict]}}: {err}"),
                );
            }
        };
    for node in &nodes {
        match verdicts
            .iter()
            .filter(|(name, _)| name == &node.name)
            .count()
        {
            1 => {}
            0 => findings.problem(DEBUG, format!("no verdict for node {}", node.name)),
            _ => findings.problem(DEBUG, format!("more than one verdict for {}", node.name)),
        }
    }
    for (name, _) in &verdicts {
        if !nodes.iter().any(|node| &node.name == name) {
            findings.problem(
                DEBUG,
                format!("a verdict for {name}, which it was not given"),
            );
        }
    }
    let shown: Vec<String> = verdicts
        .iter()
        .map(|(name, status)| format!("{name} {}", status.as_str()))
        .collect();
    findings.note(
        DEBUG,
        format!("{} host.run request(s); {}", runs.0, shown.join(", ")),
    );
    if runs.0 == 0 {
        findings.note(DEBUG, "it ran nothing on the nodes through host.run");
    }
}

/// Calls that take no request of the plugin's.
struct Refuse;

impl CallHandler for Refuse {
    fn notification(&self, _method: &str, _params: &Value) {}

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!("the host has no method {method} for a validator"),
            data: None,
        })
    }

    fn log(&self, _line: &str) {}
}

/// Answers `host.run` on the run's own node directories.
struct LocalHost<'a> {
    nodes: &'a [Node],
    /// How many commands ran, and what was wrong with the requests.
    runs: Mutex<(u32, Vec<String>)>,
}

impl LocalHost<'_> {
    fn wrong(&self, problem: String) -> RpcError {
        if let Ok(mut runs) = self.runs.lock() {
            runs.1.push(problem.clone());
        }
        RpcError {
            code: INVALID_PARAMS,
            message: problem,
            data: None,
        }
    }

    async fn run(&self, params: Value) -> Result<Value, RpcError> {
        let run: HostRun = serde_json::from_value(params)
            .map_err(|err| self.wrong(format!("{HOST_RUN}: {err}")))?;
        let Some(node) = self.nodes.iter().find(|node| node.name == run.node) else {
            return Err(self.wrong(format!(
                "{HOST_RUN} for node {:?}, which it was not given",
                run.node
            )));
        };
        if let Ok(mut runs) = self.runs.lock() {
            runs.0 += 1;
        }
        let unreachable = |message: String| RpcError {
            code: UNREACHABLE,
            message,
            data: None,
        };
        let endpoint = Endpoint::Local {
            root: node.id.clone().into(),
            env: BTreeMap::new(),
        };
        let transport = connect(&node.name, &endpoint, Vec::new())
            .map_err(|err| unreachable(err.to_string()))?;
        let request = ExecRequest {
            command: run.command,
            timeout: Some(Duration::from_millis(run.timeout_ms.unwrap_or(10_000))),
            ..ExecRequest::default()
        };
        let output = SplitOutput::default();
        let status = transport
            .exec(&request, &output, &CancellationToken::new())
            .await
            .map_err(|err| unreachable(err.to_string()))?;
        let Kept { stdout, stderr, .. } = output.finish();
        let result = HostRunResult {
            exit_status: status.code(),
            signal: status.signal(),
            timed_out: status == ExecStatus::TimedOut,
            stdout,
            stderr,
        };
        Ok(serde_json::to_value(result).unwrap_or(Value::Null))
    }
}

impl CallHandler for LocalHost<'_> {
    fn notification(&self, _method: &str, _params: &Value) {}

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!("the host has no method {method} for a debugger"),
            data: None,
        })
    }

    fn slow_request<'s>(
        &'s self,
        method: &str,
        params: &Value,
    ) -> Option<BoxFuture<'s, Result<Value, RpcError>>> {
        (method == HOST_RUN).then(|| {
            let params = params.clone();
            Box::pin(self.run(params)) as BoxFuture<'s, _>
        })
    }

    fn log(&self, _line: &str) {}
}
