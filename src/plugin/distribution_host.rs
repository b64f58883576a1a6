//! What a distribution plugin may ask of the host during a phase: `host.run`
//! (as for debuggers) and `host.put`, answered through the engine's
//! [`NodeHost`], so a plugin never holds keys or connections.

use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::CallHandler;
use super::debugger::{HOST_RUN, HostRun, HostRunResult, UNREACHABLE};
use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use crate::distribution::{HostCommand, NodeHost};
use crate::model::{ClusterView, Node};

/// The plugin's request to write a file on one of the cluster's nodes.
pub const HOST_PUT: &str = "host.put";

/// The mode of a file `host.put` writes when the request gives none.
pub const DEFAULT_PUT_MODE: u32 = 0o644;

/// The params of a `host.put` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPut {
    pub node: String,
    /// Relative to the node's root (or absolute); parent directories are
    /// created.
    pub dest: String,
    /// The file's content, as UTF-8 text.
    pub content: String,
    /// The file's permission bits (`493` is 0o755); 0o644 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

/// Answers a distribution plugin's requests during one phase call. It may
/// reach the nodes of the call and every node of the cluster (a `scale`
/// tells the existing nodes about the new ones).
pub(super) struct PhaseHandler<'a> {
    plugin: &'a str,
    method: &'a str,
    cluster: &'a ClusterView,
    nodes: &'a [Node],
    host: &'a dyn NodeHost,
}

impl<'a> PhaseHandler<'a> {
    pub(super) fn new(
        plugin: &'a str,
        method: &'a str,
        cluster: &'a ClusterView,
        nodes: &'a [Node],
        host: &'a dyn NodeHost,
    ) -> Self {
        Self {
            plugin,
            method,
            cluster,
            nodes,
            host,
        }
    }

    /// `Err` naming the request when `node` is not the cluster's.
    fn check_node(&self, request: &str, node: &str) -> Result<(), RpcError> {
        let known = |nodes: &[Node]| nodes.iter().any(|known| known.name == node);
        if known(self.nodes) || known(&self.cluster.nodes) {
            return Ok(());
        }
        let mut names: Vec<&str> = self
            .cluster
            .nodes
            .iter()
            .chain(self.nodes)
            .map(|node| node.name.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        Err(invalid(format!(
            "{request}: node {node:?} is not a node of cluster {} ({})",
            self.cluster.name,
            names.join(", ")
        )))
    }

    async fn host_run(&self, params: Value) -> Result<Value, RpcError> {
        let run: HostRun =
            serde_json::from_value(params).map_err(|err| invalid(format!("{HOST_RUN}: {err}")))?;
        self.check_node(HOST_RUN, &run.node)?;
        let command = HostCommand {
            node: run.node.clone(),
            command: run.command,
            env: Vec::new(),
            workdir: None,
            // The engine shows the phase as a step of each node already.
            step: None,
            timeout: run.timeout_ms.map(Duration::from_millis),
        };
        let output = self
            .host
            .run(&command)
            .await
            .map_err(|err| unreachable(HOST_RUN, &run.node, &err))?;
        let result = HostRunResult {
            exit_status: output.exit_status,
            signal: output.signal,
            timed_out: output.timed_out,
            stdout: output.stdout,
            stderr: output.stderr,
        };
        serde_json::to_value(result).map_err(|err| RpcError {
            code: INTERNAL_ERROR,
            message: format!("{HOST_RUN}: {err}"),
            data: None,
        })
    }

    async fn host_put(&self, params: Value) -> Result<Value, RpcError> {
        let put: HostPut =
            serde_json::from_value(params).map_err(|err| invalid(format!("{HOST_PUT}: {err}")))?;
        self.check_node(HOST_PUT, &put.node)?;
        if put.dest.trim().is_empty() {
            return Err(invalid(format!("{HOST_PUT}: dest is empty")));
        }
        let mode = put.mode.unwrap_or(DEFAULT_PUT_MODE);
        if mode > 0o7777 {
            return Err(invalid(format!(
                "{HOST_PUT}: mode {mode} is not permission bits (0 to 4095, e.g. 493 for 0o755)"
            )));
        }
        self.host
            .put(&put.node, &put.dest, put.content.as_bytes(), mode)
            .await
            .map_err(|err| {
                unreachable(
                    HOST_PUT,
                    &put.node,
                    &format!("cannot write {}: {err}", put.dest),
                )
            })?;
        Ok(json!({}))
    }
}

fn invalid(message: String) -> RpcError {
    RpcError {
        code: INVALID_PARAMS,
        message,
        data: None,
    }
}

fn unreachable(request: &str, node: &str, err: &str) -> RpcError {
    RpcError {
        code: UNREACHABLE,
        message: format!("{request}: node {node} is unreachable: {err}"),
        data: None,
    }
}

impl PhaseHandler<'_> {
    /// The step the engine shows this phase as (`start`, `terminate`).
    fn step(&self) -> &'static str {
        crate::model::Phase::ALL
            .into_iter()
            .find(|phase| phase.method() == self.method)
            .map_or("phase", crate::model::Phase::as_str)
    }
}

impl CallHandler for PhaseHandler<'_> {
    /// `progress` and `log` become the phase step's progress, on the node
    /// they name (or the whole phase).
    fn notification(&self, method: &str, params: &Value) {
        if matches!(method, "log" | "progress") {
            let node = params.get("node").and_then(Value::as_str);
            let message = params.get("message").and_then(Value::as_str).unwrap_or("");
            tracing::info!(
                target: "clusterdeck::plugin",
                "plugin {} ({}) {}: {message}", self.plugin, self.method, node.unwrap_or("-")
            );
            let percent = params
                .get("percent")
                .and_then(Value::as_u64)
                .map(|percent| u8::try_from(percent.min(100)).unwrap_or(100));
            self.host.progress(self.step(), node, percent, message);
        }
    }

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!(
                "the host has no method {method} for a distribution plugin ({HOST_RUN} and {HOST_PUT} are)"
            ),
            data: None,
        })
    }

    fn slow_request<'s>(
        &'s self,
        method: &str,
        params: &Value,
    ) -> Option<BoxFuture<'s, Result<Value, RpcError>>> {
        let params = params.clone();
        match method {
            HOST_RUN => Some(Box::pin(self.host_run(params))),
            HOST_PUT => Some(Box::pin(self.host_put(params))),
            _ => None,
        }
    }

    fn log(&self, line: &str) {
        tracing::info!(
            target: "clusterdeck::plugin",
            "plugin {} ({}) stderr: {line}", self.plugin, self.method
        );
        self.host.progress(
            self.step(),
            None,
            None,
            &format!("plugin {}: {line}", self.plugin),
        );
    }
}
