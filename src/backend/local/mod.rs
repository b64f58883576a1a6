//! The embedded default backend: each node is a private directory on this
//! machine, and its commands are local processes. Needs no root, no Docker and
//! no network, so a spec can be tried anywhere.

mod gc;
mod preflight;
mod sweep;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::join_all;
use nix::sys::signal::Signal;
use serde_json::json;

pub use sweep::{labelled_pids, signal_labelled, stop_labelled};

use super::{
    Backend, BackendContext, BackendError, BackendInfo, Capabilities, Endpoint, GcContext,
    GroupRequest, LabelledResource, NodeOutcome, NodeResults, OptionSpec, OptionType, PowerAction,
    PreflightCheck, PreflightContext, ResourceRef,
};
use crate::model::{Node, NodeState, UrlFetch, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::state::ensure_private_dir;

/// Journal kind of a node's directory.
pub const NODE_DIR: &str = "node-dir";
/// The label every node process carries: the node's directory.
pub const NODE_DIR_ENV: &str = "CLUSTERDECK_NODE_DIR";
/// The label every process of the cluster carries: the cluster's uid.
pub const CLUSTER_UID_ENV: &str = "CLUSTERDECK_CLUSTER_UID";

const DEFAULT_STOP_GRACE_MS: u64 = 3000;

pub struct LocalBackend;

/// Where a cluster's node directories live, given its options.
fn nodes_root(
    state_dir: &Path,
    cluster: &str,
    options: &BTreeMap<String, serde_json::Value>,
) -> PathBuf {
    match options.get("root").and_then(|root| root.as_str()) {
        Some(root) => Path::new(root).join(cluster),
        None => state_dir.join("nodes"),
    }
}

impl LocalBackend {
    fn node_dir(ctx: &BackendContext, node_name: &str) -> PathBuf {
        nodes_root(&ctx.state_dir, ctx.name(), &ctx.options).join(node_name)
    }

    fn stop_grace(ctx: &BackendContext) -> Duration {
        let millis = ctx
            .options
            .get("stop_grace_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(DEFAULT_STOP_GRACE_MS);
        Duration::from_millis(millis)
    }

    async fn create_node(
        ctx: &BackendContext,
        group: &GroupRequest,
        name: &str,
        index: u32,
    ) -> Result<Node, BackendError> {
        if ctx.cancel.is_cancelled() {
            return Err(BackendError::other("cancelled before it was created"));
        }
        let dir = Self::node_dir(ctx, name);
        let resource = ResourceRef::node(NODE_DIR, name);
        ctx.journal.intent(&resource)?;
        if dir.exists() {
            return Err(BackendError::invalid(format!(
                "node directory {} already exists; it may belong to an older cluster",
                dir.display()
            )));
        }
        ensure_private_dir(&dir.join("tmp")).map_err(|source| {
            BackendError::io(
                format_args!("cannot create node directory {}", dir.display()),
                &source,
            )
        })?;
        let id = dir.display().to_string();
        ctx.journal.created(&resource, &id)?;
        Ok(Node {
            id: id.clone(),
            name: name.to_owned(),
            group: group.group.clone(),
            index,
            roles: group.roles.clone(),
            addresses: vec![id],
            state: NodeState::Running,
        })
    }

    /// Stops the node's processes and removes its directory. `NotFound`
    /// when there was neither.
    async fn remove_node_dir(ctx: &BackendContext, dir: &Path) -> Result<(), BackendError> {
        let stopped = stop_labelled(
            NODE_DIR_ENV,
            &dir.display().to_string(),
            Self::stop_grace(ctx),
        )
        .await;
        let result = match tokio::fs::remove_dir_all(dir).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && stopped == 0 => Err(
                BackendError::not_found(format!("node directory {} is gone", dir.display())),
            ),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(BackendError::io(
                format_args!("cannot remove node directory {}", dir.display()),
                &source,
            )),
        };
        // Only an empty root is removed: anything left in it is not ours to delete.
        if let Some(root) = dir.parent() {
            let _ = std::fs::remove_dir(root);
        }
        result
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "local".to_owned(),
            capabilities: Capabilities {
                create: true,
                destroy: true,
                install_from_path: true,
                // Fetched by clusterdeck, then uploaded like a path installer.
                install_from_url: true,
                scale: true,
                stop_start: true,
                gc: true,
                watch: false,
                url_fetch: UrlFetch::Host,
            },
            cluster_options: vec![
                OptionSpec::new(
                    "root",
                    OptionType::String,
                    "absolute directory to hold node directories (default: inside the cluster's state directory)",
                ),
                OptionSpec::new(
                    "stop_grace_ms",
                    OptionType::Integer,
                    "how long node processes get between SIGTERM and SIGKILL on destroy",
                )
                .with_default(json!(DEFAULT_STOP_GRACE_MS)),
            ],
            group_options: Vec::new(),
        }
    }

    async fn preflight(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        preflight::checks(ctx).await
    }

    async fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        let root = spec
            .backend
            .options
            .get("root")
            .and_then(|root| root.as_str());
        match root {
            Some(root) if !Path::new(root).is_absolute() => vec![ValidatorOutcome::failed_at(
                "local-root",
                "backend.options.root",
                format!("backend option root must be an absolute path, found {root:?}"),
            )],
            _ => Vec::new(),
        }
    }

    /// Makes every node of the group at once: directories are cheap.
    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        join_all(group.nodes.iter().map(|request| async move {
            NodeOutcome {
                name: request.name.clone(),
                result: Self::create_node(ctx, group, &request.name, request.index)
                    .await
                    .map_err(Into::into),
            }
        }))
        .await
    }

    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        join_all(nodes.iter().map(|node| async move {
            let resource = ResourceRef::node(NODE_DIR, &node.name);
            let id = (!node.id.is_empty()).then_some(node.id.as_str());
            (
                node.name.clone(),
                self.destroy_resource(ctx, &resource, id).await,
            )
        }))
        .await
    }

    /// SIGSTOP or SIGCONT to every process labelled with the node's directory.
    async fn power(
        &self,
        _ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        let signal = match action {
            PowerAction::Stop => Signal::SIGSTOP,
            PowerAction::Start => Signal::SIGCONT,
        };
        nodes
            .iter()
            .map(|node| {
                let result = if node.id.is_empty() || !Path::new(&node.id).is_dir() {
                    Err(BackendError::not_found(format!(
                        "node {} has no directory",
                        node.name
                    )))
                } else {
                    signal_labelled(NODE_DIR_ENV, &node.id, signal);
                    Ok(())
                };
                (node.name.clone(), result)
            })
            .collect()
    }

    async fn discover(
        &self,
        _ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        Ok(known
            .iter()
            .map(|node| {
                let mut node = node.clone();
                let exists = !node.id.is_empty() && Path::new(&node.id).is_dir();
                if !exists && matches!(node.state, NodeState::Running | NodeState::Stopped) {
                    node.state = NodeState::Destroyed;
                }
                node
            })
            .collect())
    }

    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        if resource.kind != NODE_DIR {
            return Err(BackendError::invalid(format!(
                "the local backend does not know resources of kind {:?}",
                resource.kind
            )));
        }
        if id.is_none() && !crate::spec::is_valid_name(&resource.key) {
            // A key is a node's name; any other is not a path to build on.
            return Err(BackendError::invalid(format!(
                "the ledger names node {:?}, which no node can be called",
                resource.key
            )));
        }
        let dir = id.map_or_else(|| Self::node_dir(ctx, &resource.key), PathBuf::from);
        Self::remove_node_dir(ctx, &dir).await
    }

    async fn list_labelled(&self, ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        Ok(gc::list(ctx))
    }

    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        if node.id.is_empty() {
            return Err(BackendError::not_found(format!(
                "node {} was never created",
                node.name
            )));
        }
        Ok(Endpoint::Local {
            root: PathBuf::from(&node.id),
            env: BTreeMap::from([
                (NODE_DIR_ENV.to_owned(), node.id.clone()),
                (CLUSTER_UID_ENV.to_owned(), ctx.uid().to_owned()),
            ]),
        })
    }
}

#[cfg(test)]
mod tests;
