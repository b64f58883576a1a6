//! Debugger plugins: one `debugger.debug` call with the nodes of the
//! debugger's roles; the plugin runs its commands on them through the host
//! (`host.run` requests, answered by the engine's transports, so a plugin
//! never holds SSH keys) and answers a verdict per node.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::checker::{Checker, locate};
use super::client::CallHandler;
use super::error::PluginError;
use crate::model::{CheckStatus, Node};

pub const DEBUG: &str = "debugger.debug";
/// The plugin's request to run a command on one of its nodes.
pub const HOST_RUN: &str = "host.run";
/// `host.run`: the node could not be reached (its transport failed).
pub const UNREACHABLE: i64 = -32020;

/// The params of a `host.run` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRun {
    pub node: String,
    /// A shell command, run in the node's root like a debugger's `run`.
    pub command: String,
    /// The debugger's `timeout` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The answer to `host.run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostRunResult {
    /// The exit status; `null` when it was killed (signal, timeout, cancel).
    pub exit_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

/// One node's verdict as the plugin sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub node: String,
    pub status: CheckStatus,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Deserialize)]
struct Answer {
    results: Vec<Verdict>,
}

/// What a debugger plugin is given.
pub struct DebugRequest<'a> {
    /// The debugger's name in the spec.
    pub debugger: &'a str,
    pub cluster: &'a str,
    pub roles: &'a [String],
    pub nodes: &'a [Node],
    pub options: &'a BTreeMap<String, Value>,
    /// The default timeout of each command.
    pub timeout: Duration,
}

/// Runs the debugger plugin `name` (at `path`, or found by name); its
/// `host.run` requests (and `log`/`progress` notifications, stderr lines)
/// go to `handler`. Returns one verdict per node of the request, in its
/// order: a node the plugin did not judge fails, saying so. Any failure of
/// the plugin is the error, naming it, the call and what was wrong.
pub async fn run_debugger(
    name: &str,
    path: Option<&Path>,
    request: &DebugRequest<'_>,
    handler: &dyn CallHandler,
    cancel: &CancellationToken,
) -> Result<Vec<Verdict>, PluginError> {
    let path = locate(name, path)?;
    let checker = Checker::start(name, &path, "debugger").await?;
    let params = json!({
        "debugger": request.debugger,
        "cluster": request.cluster,
        "roles": request.roles,
        "nodes": request.nodes,
        "options": request.options,
        "timeout_ms": u64::try_from(request.timeout.as_millis()).unwrap_or(u64::MAX),
    });
    let answered = checker
        .client
        .call(DEBUG, params, handler, Some(cancel))
        .await;
    checker.stop().await;
    let answer: Answer = serde_json::from_value(answered?).map_err(|err| PluginError::Shape {
        plugin: name.to_owned(),
        method: DEBUG.to_owned(),
        detail: err.to_string(),
    })?;
    Ok(per_node(name, request.nodes, answer.results))
}

/// The plugin's verdicts in the order of `nodes`; verdicts about other
/// nodes are dropped, nodes without one fail.
fn per_node(plugin: &str, nodes: &[Node], verdicts: Vec<Verdict>) -> Vec<Verdict> {
    let mut by_node: BTreeMap<String, Verdict> = BTreeMap::new();
    for verdict in verdicts {
        by_node.entry(verdict.node.clone()).or_insert(verdict);
    }
    nodes
        .iter()
        .map(|node| {
            by_node.remove(&node.name).unwrap_or_else(|| Verdict {
                node: node.name.clone(),
                status: CheckStatus::Fail,
                message: format!("plugin {plugin} gave no verdict for this node"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({
            "id": name, "name": name, "group": "g", "index": 1, "roles": ["agent"],
            "addresses": [], "state": "running"
        }))
        .expect("node")
    }

    #[test]
    fn verdicts_follow_the_nodes_and_a_missing_one_fails() {
        let answer: Answer = serde_json::from_value(json!({"results": [
            {"node": "b", "status": "pass", "message": "ok"},
            {"node": "elsewhere", "status": "pass"},
            {"node": "b", "status": "fail", "message": "a second verdict is ignored"}
        ]}))
        .expect("answer");
        let verdicts = per_node("pid", &[node("a"), node("b")], answer.results);
        assert_eq!(verdicts.len(), 2);
        assert_eq!(verdicts[0].status, CheckStatus::Fail);
        assert!(verdicts[0].message.contains("gave no verdict"));
        assert_eq!(verdicts[1].status, CheckStatus::Pass);
        assert_eq!(verdicts[1].message, "ok");
    }
}
