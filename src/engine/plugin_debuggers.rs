//! Debugger plugins named in the spec (`checks.debuggers: - plugin: NAME`):
//! the plugin gets the nodes of the debugger's roles and runs its commands
//! on them through the host — each `host.run` request is answered through
//! the node's transport here, so a plugin never holds SSH keys — then
//! judges each node. A plugin that breaks fails the debugger on every node,
//! with the error naming the plugin, the call and what was wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::Engine;
use super::event::EventKind;
use crate::backend::{Backend, BackendContext};
use crate::model::{CheckKind, CheckResult, CheckStatus, Node};
use crate::plugin::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use crate::plugin::{
    CallHandler, DebugRequest, HOST_RUN, HostRun, HostRunResult, UNREACHABLE, run_debugger,
};
use crate::spec::{DebuggerSpec, PluginCheck};
use crate::state::ClusterRecord;
use crate::transport::{ExecRequest, ExecStatus, Kept, STREAM_LIMIT, SplitOutput};

impl Engine {
    /// Runs the debugger plugin on `targets` and turns its verdicts into
    /// the debugger's check results, one per node.
    pub(super) async fn run_plugin_debugger(
        &self,
        debugger: &DebuggerSpec,
        plugin: &PluginCheck,
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
        targets: Vec<&Node>,
    ) -> Vec<CheckResult> {
        let nodes: Vec<Node> = targets.into_iter().cloned().collect();
        if nodes.is_empty() {
            return Vec::new();
        }
        let handler = HostHandler {
            engine: self,
            backend,
            ctx,
            all: &record.nodes,
            nodes: &nodes,
            plugin: &plugin.plugin,
            default_timeout: debugger.timeout,
            outputs: Mutex::default(),
        };
        let request = DebugRequest {
            debugger: &debugger.name,
            cluster: &record.name,
            roles: &debugger.roles,
            nodes: &nodes,
            options: &plugin.options,
            timeout: debugger.timeout,
        };
        let path = plugin
            .path
            .as_deref()
            .map(|path| beside(Path::new(&record.spec_path), path));
        let verdicts = run_debugger(
            &plugin.plugin,
            path.as_deref(),
            &request,
            &handler,
            &self.cancel,
        )
        .await;
        let mut outputs = handler
            .outputs
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        let results: Vec<CheckResult> = match verdicts {
            Ok(verdicts) => verdicts
                .into_iter()
                .map(|verdict| CheckResult {
                    kind: CheckKind::Debugger,
                    name: debugger.name.clone(),
                    status: verdict.status,
                    output: outputs.remove(&verdict.node),
                    node: Some(verdict.node),
                    message: verdict.message,
                    exit_code: None,
                })
                .collect(),
            Err(err) => nodes
                .iter()
                .map(|node| CheckResult {
                    kind: CheckKind::Debugger,
                    name: debugger.name.clone(),
                    status: CheckStatus::Fail,
                    node: Some(node.name.clone()),
                    message: err.to_string(),
                    exit_code: None,
                    output: outputs.remove(&node.name),
                })
                .collect(),
        };
        for result in &results {
            self.events.emit(EventKind::CheckResult {
                result: result.clone(),
            });
        }
        results
    }
}

/// A path of the spec, relative to the spec file.
fn beside(spec_path: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    spec_path
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(path)
}

/// Answers a debugger plugin's requests during its call.
struct HostHandler<'a> {
    engine: &'a Engine,
    backend: &'a dyn Backend,
    ctx: &'a BackendContext,
    all: &'a [Node],
    /// The nodes the plugin was given: the only ones it may run commands on.
    nodes: &'a [Node],
    plugin: &'a str,
    default_timeout: Duration,
    /// Each node's commands and their output, for its result.
    outputs: Mutex<BTreeMap<String, String>>,
}

impl HostHandler<'_> {
    async fn host_run(&self, params: &Value) -> Result<Value, RpcError> {
        let invalid = |message: String| RpcError {
            code: INVALID_PARAMS,
            message,
            data: None,
        };
        let run: HostRun = serde_json::from_value(params.clone())
            .map_err(|err| invalid(format!("{HOST_RUN}: {err}")))?;
        let Some(node) = self.nodes.iter().find(|node| node.name == run.node) else {
            let names: Vec<&str> = self.nodes.iter().map(|node| node.name.as_str()).collect();
            return Err(invalid(format!(
                "{HOST_RUN}: node {:?} is not one of this debugger's nodes ({})",
                run.node,
                names.join(", ")
            )));
        };
        let transport = self
            .engine
            .connect(self.backend, self.ctx, node, self.all)
            .await
            .map_err(|message| RpcError {
                code: UNREACHABLE,
                message: format!("{HOST_RUN}: node {} is unreachable: {message}", node.name),
                data: None,
            })?;
        let request = ExecRequest {
            command: run.command.clone(),
            timeout: Some(
                run.timeout_ms
                    .map(Duration::from_millis)
                    .unwrap_or(self.default_timeout),
            ),
            ..ExecRequest::default()
        };
        let streams = SplitOutput::default();
        let status = transport
            .exec(&request, &streams, &self.engine.cancel)
            .await
            .map_err(|err| RpcError {
                code: UNREACHABLE,
                message: format!("{HOST_RUN}: node {} is unreachable: {err}", node.name),
                data: None,
            })?;
        let Kept { stdout, stderr, .. } = streams.finish();
        self.keep_output(&node.name, &run.command, &stdout, &stderr);
        let result = HostRunResult {
            exit_status: status.code(),
            signal: status.signal(),
            timed_out: status == ExecStatus::TimedOut,
            stdout,
            stderr,
        };
        serde_json::to_value(result).map_err(|err| RpcError {
            code: crate::plugin::rpc::INTERNAL_ERROR,
            message: err.to_string(),
            data: None,
        })
    }

    fn keep_output(&self, node: &str, command: &str, stdout: &str, stderr: &str) {
        let mut outputs = self
            .outputs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let kept = outputs.entry(node.to_owned()).or_default();
        if kept.len() >= STREAM_LIMIT {
            return;
        }
        if !kept.is_empty() {
            kept.push('\n');
        }
        kept.push_str(&format!("$ {command}"));
        for text in [stdout.trim_end(), stderr.trim_end()] {
            if !text.is_empty() {
                kept.push('\n');
                kept.push_str(text);
            }
        }
    }

    fn progress(&self, node: Option<&str>, message: String) {
        self.engine.events.emit(EventKind::StepProgress {
            node: node.unwrap_or_default().to_owned(),
            step: "debug".to_owned(),
            percent: None,
            message: Some(message),
        });
    }
}

impl CallHandler for HostHandler<'_> {
    fn notification(&self, method: &str, params: &Value) {
        let node = params.get("node").and_then(Value::as_str);
        let message = params.get("message").and_then(Value::as_str).unwrap_or("");
        if matches!(method, "log" | "progress") {
            self.progress(node, format!("plugin {}: {message}", self.plugin));
        }
    }

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: METHOD_NOT_FOUND,
            message: format!("the host has no method {method} for a debugger plugin"),
            data: None,
        })
    }

    fn slow_request<'s>(
        &'s self,
        method: &str,
        params: &Value,
    ) -> Option<BoxFuture<'s, Result<Value, RpcError>>> {
        if method != HOST_RUN {
            return None;
        }
        let params = params.clone();
        Some(Box::pin(async move { self.host_run(&params).await }))
    }

    fn log(&self, line: &str) {
        self.progress(None, format!("plugin {} (stderr): {line}", self.plugin));
    }
}
