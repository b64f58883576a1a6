//! Distribution plugins: the `Distribution` SPI over the plugin protocol
//! (docs/plugin-protocol.md, "Distribution plugins"). The plugin is started
//! once per operation and kept running for the life of the handle, so a
//! `configure` and the `start` after it talk to the same process; it is
//! stopped when the handle is dropped.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::checker::{Checker, locate};
use super::client::{CallHandler, PluginClient};
use super::distribution_host::PhaseHandler;
use super::error::PluginError;
use super::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use crate::distribution::{Distribution, DistributionError, NodeHost};
use crate::model::{ClusterView, ConfigSpec, Finding, Node, Phase, PhaseVerdict, PortSpec};

/// The kind a distribution plugin declares in `initialize`.
pub const DISTRIBUTION_KIND: &str = "distribution";
pub const VERSIONS: &str = "distribution.versions";
pub const CONFIGS: &str = "distribution.configs";
pub const NODE_PROCESSES: &str = "distribution.node_processes";
pub const VALIDATE: &str = "distribution.validate";
pub const VALIDATE_SCALING: &str = "distribution.validate_scaling";
pub const OPEN_PORTS: &str = "distribution.open_ports";
pub const LOG_PATHS: &str = "distribution.log_paths";

/// Starts the distribution plugin `name` (at `path`, or found as
/// `clusterdeck-plugin-<name>`) and runs its handshake, whose `kinds` must
/// include `distribution`.
pub async fn launch_distribution(
    name: &str,
    path: Option<&Path>,
) -> Result<Arc<dyn Distribution>, PluginError> {
    Ok(Arc::new(ExternalDistribution::launch(name, path).await?))
}

/// A distribution plugin, running and initialized.
pub struct ExternalDistribution {
    name: String,
    client: Arc<PluginClient>,
}

impl ExternalDistribution {
    pub async fn launch(name: &str, path: Option<&Path>) -> Result<Self, PluginError> {
        let path = locate(name, path)?;
        let checker = Checker::start(name, &path, DISTRIBUTION_KIND).await?;
        Ok(Self {
            name: name.to_owned(),
            client: checker.client,
        })
    }

    /// Calls `method` and reads its result as `T` from the field `field`.
    async fn ask<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        field: &str,
        handler: &dyn CallHandler,
    ) -> Result<T, PluginError> {
        let result = self.client.call(method, params, handler, None).await?;
        let value = result
            .get(field)
            .cloned()
            .ok_or_else(|| PluginError::Shape {
                plugin: self.name.clone(),
                method: method.to_owned(),
                detail: format!("no field {field:?} in {}", excerpt(&result)),
            })?;
        serde_json::from_value(value).map_err(|err| PluginError::Shape {
            plugin: self.name.clone(),
            method: method.to_owned(),
            detail: format!("{field}: {err}"),
        })
    }

    /// A query outside any phase: requests of the plugin are refused.
    async fn query<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        field: &str,
    ) -> Result<T, DistributionError> {
        let handler = QueryHandler { plugin: &self.name };
        self.ask(method, params, field, &handler)
            .await
            .map_err(into_error)
    }

    /// A query the plugin may leave out: without it the answer is empty.
    async fn optional<T: DeserializeOwned + Default>(
        &self,
        method: &str,
        params: Value,
        field: &str,
    ) -> Result<T, DistributionError> {
        let handler = QueryHandler { plugin: &self.name };
        match self.ask(method, params, field, &handler).await {
            Err(err) if not_implemented(&err) => Ok(T::default()),
            other => other.map_err(into_error),
        }
    }
}

impl Drop for ExternalDistribution {
    fn drop(&mut self) {
        // The plugin is served on a thread of its own, so waiting for it to
        // be reaped does not need the caller's runtime; it takes a kill and
        // a wait.
        self.client.stop("the operation is done");
    }
}

#[async_trait]
impl Distribution for ExternalDistribution {
    fn name(&self) -> &str {
        &self.name
    }

    async fn versions(&self) -> Result<Vec<String>, DistributionError> {
        let versions: Vec<String> = self.query(VERSIONS, json!({}), "versions").await?;
        if versions.is_empty() {
            return Err(DistributionError::new(format!(
                "plugin {} answered {VERSIONS} with no version: it must offer at least one",
                self.name
            )));
        }
        Ok(versions)
    }

    async fn configs(&self, version: &str) -> Result<Vec<ConfigSpec>, DistributionError> {
        self.query(CONFIGS, json!({"version": version}), "configs")
            .await
    }

    async fn node_processes(
        &self,
        version: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, DistributionError> {
        self.optional(NODE_PROCESSES, json!({"version": version}), "processes")
            .await
    }

    async fn validate(&self, cluster: &ClusterView) -> Result<Vec<Finding>, DistributionError> {
        self.optional(VALIDATE, json!({"cluster": cluster}), "findings")
            .await
    }

    async fn validate_scaling(
        &self,
        cluster: &ClusterView,
        existing: &BTreeMap<String, u32>,
        additional: &BTreeMap<String, i64>,
    ) -> Result<Vec<Finding>, DistributionError> {
        let params = json!({"cluster": cluster, "existing": existing, "additional": additional});
        self.optional(VALIDATE_SCALING, params, "findings").await
    }

    /// A phase the plugin does not implement is a success with no work on
    /// every node: a distribution needs only the phases it has work for.
    async fn phase(
        &self,
        phase: Phase,
        cluster: &ClusterView,
        nodes: &[Node],
        host: &dyn NodeHost,
    ) -> Result<Vec<PhaseVerdict>, DistributionError> {
        let method = phase.method();
        let handler = PhaseHandler::new(&self.name, method, cluster, nodes, host);
        let params = json!({"phase": phase.as_str(), "cluster": cluster, "nodes": nodes});
        match self.ask(method, params, "results", &handler).await {
            Ok(verdicts) => Ok(per_node(&self.name, method, nodes, verdicts)),
            Err(err) if not_implemented(&err) => Ok(nodes
                .iter()
                .map(|node| PhaseVerdict {
                    node: node.name.clone(),
                    ok: true,
                    message: format!("plugin {} has no {method}: nothing to do", self.name),
                    step: None,
                })
                .collect()),
            Err(err) => Err(into_error(err)),
        }
    }

    async fn open_ports(
        &self,
        cluster: &ClusterView,
        group: &str,
    ) -> Result<Vec<PortSpec>, DistributionError> {
        self.optional(
            OPEN_PORTS,
            json!({"cluster": cluster, "group": group}),
            "ports",
        )
        .await
    }

    async fn log_paths(&self, version: &str, role: &str) -> Result<Vec<String>, DistributionError> {
        self.optional(
            LOG_PATHS,
            json!({"version": version, "role": role}),
            "paths",
        )
        .await
    }
}

fn not_implemented(err: &PluginError) -> bool {
    matches!(err, PluginError::Rpc { code, .. } if *code == METHOD_NOT_FOUND)
}

fn into_error(err: PluginError) -> DistributionError {
    DistributionError::new(err.to_string())
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text,
    }
}

/// The plugin's verdicts in the order of `nodes`; verdicts about other
/// nodes are dropped (so is a second one for a node), nodes without one
/// fail.
fn per_node(
    plugin: &str,
    method: &str,
    nodes: &[Node],
    verdicts: Vec<PhaseVerdict>,
) -> Vec<PhaseVerdict> {
    let mut by_node: BTreeMap<String, PhaseVerdict> = BTreeMap::new();
    for verdict in verdicts {
        by_node.entry(verdict.node.clone()).or_insert(verdict);
    }
    nodes
        .iter()
        .map(|node| {
            by_node.remove(&node.name).unwrap_or_else(|| PhaseVerdict {
                node: node.name.clone(),
                ok: false,
                message: format!("plugin {plugin} gave no verdict for this node in {method}"),
                step: None,
            })
        })
        .collect()
}

/// Answers a plugin's requests during a query: there are no nodes to
/// reach, so `host.run` and `host.put` are refused; notifications and
/// stderr go to the trace log.
struct QueryHandler<'a> {
    plugin: &'a str,
}

impl CallHandler for QueryHandler<'_> {
    fn notification(&self, method: &str, params: &Value) {
        if matches!(method, "log" | "progress") {
            let message = params.get("message").and_then(Value::as_str).unwrap_or("");
            tracing::info!(target: "clusterdeck::plugin", "plugin {}: {message}", self.plugin);
        }
    }

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: INVALID_PARAMS,
            message: format!("{method} is only possible during a phase, not during a query"),
            data: None,
        })
    }

    fn log(&self, line: &str) {
        tracing::info!(target: "clusterdeck::plugin", "plugin {} (stderr): {line}", self.plugin);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct PhaseAnswer {
        results: Vec<PhaseVerdict>,
    }

    fn node(name: &str) -> Node {
        serde_json::from_value(json!({
            "id": name, "name": name, "group": "g", "index": 1, "roles": ["worker"],
            "addresses": [], "state": "running"
        }))
        .expect("node")
    }

    #[test]
    fn verdicts_follow_the_nodes_and_a_missing_one_fails() {
        let answer: PhaseAnswer = serde_json::from_value(json!({"results": [
            {"node": "b", "ok": true, "message": "started"},
            {"node": "elsewhere", "ok": true},
            {"node": "b", "ok": false, "message": "a second verdict is ignored"}
        ]}))
        .expect("answer");
        let verdicts = per_node(
            "kv",
            "distribution.start",
            &[node("a"), node("b")],
            answer.results,
        );
        assert_eq!(verdicts.len(), 2);
        assert!(!verdicts[0].ok);
        assert_eq!(
            verdicts[0].message,
            "plugin kv gave no verdict for this node in distribution.start"
        );
        assert!(verdicts[1].ok);
        assert_eq!(verdicts[1].message, "started");
    }

    #[test]
    fn only_method_not_found_counts_as_not_implemented() {
        let rpc = |code| PluginError::Rpc {
            plugin: "kv".into(),
            method: "distribution.scale".into(),
            code,
            message: "no".into(),
            data: None,
        };
        assert!(not_implemented(&rpc(METHOD_NOT_FOUND)));
        assert!(!not_implemented(&rpc(-32000)));
        assert_eq!(
            into_error(rpc(-32000)).to_string(),
            "plugin kv answered distribution.scale with error -32000: no"
        );
    }
}
