//! A backend in another process: every operation of the contract is one
//! JSON-RPC call of the same name, its params and result the JSON shapes of
//! docs/backend-contract.md. The plugin's journal entries, progress and log
//! lines reach the engine through the call's context.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::client::{CallHandler, NoContext, PluginClient};
use super::error::PluginError;
use super::handshake::initialize;
use super::rpc::{INTERNAL_ERROR, INVALID_PARAMS, RpcError};
use crate::backend::{
    Backend, BackendContext, BackendError, BackendInfo, Endpoint, GcContext, GroupRequest,
    LabelledResource, NodeOutcome, NodeResults, PowerAction, PreflightCheck, PreflightContext,
    Progress, ResourceRef,
};
use crate::model::{BackendFailure, Node, ValidatorOutcome};
use crate::spec::ClusterSpec;

/// A backend plugin, started and initialized, with the info it gave. A
/// plugin that died (crashed, broke the protocol, timed out) is started
/// afresh for the next call, so `destroy` can still clean up after it in the
/// same session.
pub struct ExternalBackend {
    name: String,
    path: PathBuf,
    silence: Duration,
    client: tokio::sync::Mutex<Arc<PluginClient>>,
    info: BackendInfo,
}

impl ExternalBackend {
    pub fn new(client: Arc<PluginClient>, path: &Path, info: BackendInfo) -> Self {
        Self {
            name: client.name().to_owned(),
            path: path.to_path_buf(),
            silence: client.silence(),
            client: tokio::sync::Mutex::new(client),
            info,
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    /// The running plugin, restarted (and initialized again) if it died.
    async fn client(&self) -> Result<Arc<PluginClient>, PluginError> {
        let mut current = self.client.lock().await;
        if current.is_running() {
            return Ok(Arc::clone(&current));
        }
        let fresh = Arc::new(PluginClient::start(&self.name, &self.path, self.silence)?);
        initialize(&fresh, "backend").await?;
        *current = Arc::clone(&fresh);
        Ok(fresh)
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        ctx: Option<&BackendContext>,
    ) -> Result<T, PluginError> {
        let client = self.client().await?;
        let result = match ctx {
            Some(ctx) => {
                let handler = ContextHandler {
                    plugin: self.name(),
                    ctx,
                };
                client
                    .call(method, params, &handler, Some(&ctx.cancel))
                    .await?
            }
            None => client.call(method, params, &NoContext, None).await?,
        };
        serde_json::from_value(result).map_err(|err| PluginError::Shape {
            plugin: self.name().to_owned(),
            method: method.to_owned(),
            detail: err.to_string(),
        })
    }

    /// Every node failed with the same error (the whole call failed).
    fn all_failed(nodes: impl Iterator<Item = String>, error: &BackendError) -> NodeResults {
        nodes.map(|name| (name, Err(error.clone()))).collect()
    }
}

/// Asks a started plugin for its info.
pub async fn fetch_info(client: &PluginClient) -> Result<BackendInfo, PluginError> {
    let result = client.call("info", Value::Null, &NoContext, None).await?;
    let mut info: BackendInfo =
        serde_json::from_value(result).map_err(|err| PluginError::Shape {
            plugin: client.name().to_owned(),
            method: "info".to_owned(),
            detail: err.to_string(),
        })?;
    // Protocol v1 has no method to watch nodes with, whatever it claims.
    info.capabilities.watch = false;
    Ok(info)
}

/// The context as the plugin sees it: plain data, no handles.
fn context(ctx: &BackendContext) -> Value {
    json!({"cluster": ctx.cluster, "state_dir": ctx.state_dir, "options": ctx.options})
}

type NodeResultsWire = Vec<(String, Result<(), BackendFailure>)>;

fn node_results(wire: NodeResultsWire) -> NodeResults {
    wire.into_iter()
        .map(|(name, result)| (name, result.map_err(BackendError::from)))
        .collect()
}

#[async_trait]
impl Backend for ExternalBackend {
    fn info(&self) -> BackendInfo {
        self.info.clone()
    }

    async fn preflight(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        let params = json!({"options": ctx.options, "spec": ctx.spec});
        self.call("preflight", params, None)
            .await
            .unwrap_or_else(|err| match err {
                PluginError::Rpc { code, .. } if code == super::rpc::METHOD_NOT_FOUND => Vec::new(),
                err => vec![PreflightCheck::fail(
                    format!("plugin({})", self.name()),
                    err.to_string(),
                    "run the plugin by hand to see why it fails",
                )],
            })
    }

    async fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        let params = serde_json::to_value(spec).unwrap_or(Value::Null);
        self.call("validate", params, None)
            .await
            .unwrap_or_else(|err| match err {
                PluginError::Rpc { code, .. } if code == super::rpc::METHOD_NOT_FOUND => Vec::new(),
                err => vec![ValidatorOutcome::new(
                    &format!("plugin({})", self.name()),
                    false,
                    err.to_string(),
                )],
            })
    }

    async fn prepare(&self, ctx: &BackendContext) -> Result<(), BackendError> {
        match self
            .call::<Value>("prepare", json!({"context": context(ctx)}), Some(ctx))
            .await
        {
            Ok(_) => Ok(()),
            // Nothing cluster-level to create.
            Err(PluginError::Rpc { code, .. }) if code == super::rpc::METHOD_NOT_FOUND => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        let params = json!({"context": context(ctx), "group": group});
        match self
            .call::<Vec<NodeOutcome>>("create_group", params, Some(ctx))
            .await
        {
            Ok(outcomes) => outcomes,
            Err(err) => {
                let failure = BackendFailure::from(BackendError::from(err));
                group
                    .nodes
                    .iter()
                    .map(|node| NodeOutcome {
                        name: node.name.clone(),
                        result: Err(failure.clone()),
                    })
                    .collect()
            }
        }
    }

    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        let params = json!({"context": context(ctx), "nodes": nodes});
        match self.call("destroy_nodes", params, Some(ctx)).await {
            Ok(wire) => node_results(wire),
            Err(err) => Self::all_failed(nodes.iter().map(|n| n.name.clone()), &err.into()),
        }
    }

    async fn power(
        &self,
        ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        let params = json!({"context": context(ctx), "nodes": nodes, "action": action});
        match self.call("power", params, Some(ctx)).await {
            Ok(wire) => node_results(wire),
            Err(err) => Self::all_failed(nodes.iter().map(|n| n.name.clone()), &err.into()),
        }
    }

    async fn discover(
        &self,
        ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        let params = json!({"context": context(ctx), "nodes": known});
        match self.call("discover", params, Some(ctx)).await {
            Ok(nodes) => Ok(nodes),
            Err(PluginError::Rpc { code, .. }) if code == super::rpc::METHOD_NOT_FOUND => {
                Ok(known.to_vec())
            }
            Err(err) => Err(err.into()),
        }
    }

    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        let params = json!({"context": context(ctx), "resource": resource, "id": id});
        self.call::<Value>("destroy_resource", params, Some(ctx))
            .await
            .map(|_| ())
            .map_err(Into::into)
    }

    async fn list_labelled(&self, ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        let params = json!({"state_root": ctx.state_root, "options": ctx.options});
        self.call("list_labelled", params, None)
            .await
            .map_err(Into::into)
    }

    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        let params = json!({"context": context(ctx), "node": node});
        self.call("endpoint", params, Some(ctx))
            .await
            .map_err(Into::into)
    }
}

/// Journal entries, progress and log lines of a call on a cluster, handed to
/// the engine through the context.
struct ContextHandler<'a> {
    plugin: &'a str,
    ctx: &'a BackendContext,
}

impl ContextHandler<'_> {
    fn journal(&self, method: &str, params: &Value) -> Result<(), RpcError> {
        let invalid = |message: String| RpcError {
            code: INVALID_PARAMS,
            message,
            data: None,
        };
        let resource: ResourceRef = params
            .get("resource")
            .cloned()
            .ok_or_else(|| invalid(format!("{method} needs \"resource\"")))
            .and_then(|resource| {
                serde_json::from_value(resource)
                    .map_err(|err| invalid(format!("{method}: bad resource: {err}")))
            })?;
        let written = match method {
            "journal.intent" => self.ctx.journal.intent(&resource),
            "journal.created" => {
                let id = params
                    .get("id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("journal.created needs a string \"id\"".to_owned()))?;
                self.ctx.journal.created(&resource, id)
            }
            "journal.destroyed" => self.ctx.journal.destroyed(&resource),
            _ => return Err(invalid(format!("unknown journal entry {method}"))),
        };
        written.map_err(|err| RpcError {
            code: INTERNAL_ERROR,
            message: err.to_string(),
            data: serde_json::to_value(err.failure()).ok(),
        })
    }

    fn progress(&self, message: String) {
        self.ctx.progress.report(Progress {
            node: None,
            percent: None,
            message: Some(message),
        });
    }
}

impl CallHandler for ContextHandler<'_> {
    fn notification(&self, method: &str, params: &Value) {
        match method {
            "progress" => self.ctx.progress.report(Progress {
                node: params
                    .get("node")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                percent: params
                    .get("percent")
                    .and_then(Value::as_u64)
                    .map(|percent| percent.min(100) as u8),
                message: params
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            "log" => {
                let message = params.get("message").and_then(Value::as_str).unwrap_or("");
                self.progress(format!("plugin {}: {message}", self.plugin));
            }
            journal if journal.starts_with("journal.") => {
                if let Err(err) = self.journal(journal, params) {
                    self.progress(format!(
                        "plugin {}: {journal} failed: {}",
                        self.plugin, err.message
                    ));
                }
            }
            _ => {}
        }
    }

    fn request(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        if method.starts_with("journal.") {
            return self.journal(method, params).map(|()| Value::Null);
        }
        Err(RpcError {
            code: super::rpc::METHOD_NOT_FOUND,
            message: format!("the host has no method {method}"),
            data: None,
        })
    }

    fn log(&self, line: &str) {
        self.progress(format!("plugin {} (stderr): {line}", self.plugin));
    }
}
