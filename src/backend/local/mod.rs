//! The embedded default backend: each node is a private directory on this
//! machine, and its commands are local processes. Needs no root, no Docker and
//! no network, so a spec can be tried anywhere.

mod sweep;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

pub use sweep::{labelled_pids, stop_labelled};

use super::{
    Backend, BackendError, Capabilities, ClusterContext, NodePlan, OptionSpec, OptionType,
};
use crate::model::{Node, NodeState, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::state::{OutstandingResource, ensure_private_dir};
use crate::transport::{LocalTransport, Transport};

/// Ledger kind of a node's directory.
pub const NODE_DIR: &str = "node-dir";
/// The label every node process carries: the node's directory.
pub const NODE_DIR_ENV: &str = "CLUSTERDECK_NODE_DIR";
/// The label every process of the cluster carries: the cluster's uid.
pub const CLUSTER_UID_ENV: &str = "CLUSTERDECK_CLUSTER_UID";

const DEFAULT_STOP_GRACE_MS: u64 = 3000;

pub struct LocalBackend;

impl LocalBackend {
    fn nodes_root(ctx: &ClusterContext) -> PathBuf {
        match ctx.options.get("root").and_then(|root| root.as_str()) {
            Some(root) => Path::new(root).join(&ctx.name),
            None => ctx.state_dir.join("nodes"),
        }
    }

    fn node_dir(ctx: &ClusterContext, node_name: &str) -> PathBuf {
        Self::nodes_root(ctx).join(node_name)
    }

    fn stop_grace(ctx: &ClusterContext) -> Duration {
        let millis = ctx
            .options
            .get("stop_grace_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(DEFAULT_STOP_GRACE_MS);
        Duration::from_millis(millis)
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn kind(&self) -> &str {
        "local"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            create: true,
            destroy: true,
            install_from_path: true,
            // Fetched by clusterdeck, then uploaded like a path installer.
            install_from_url: true,
            // Groups grow and shrink node by node with create_node/destroy_node.
            scale: true,
            stop_start: false,
            url_fetch: crate::model::UrlFetch::Host,
        }
    }

    fn option_schema(&self) -> Vec<OptionSpec> {
        vec![
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
        ]
    }

    fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
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

    async fn create_node(
        &self,
        ctx: &ClusterContext,
        plan: &NodePlan,
    ) -> Result<Node, BackendError> {
        let dir = Self::node_dir(ctx, &plan.name);
        ctx.ledger.intent(NODE_DIR, &plan.name)?;
        if dir.exists() {
            return Err(BackendError::Other(format!(
                "node directory {} already exists; it may belong to an older cluster",
                dir.display()
            )));
        }
        let io = |source| BackendError::Io {
            context: format!("cannot create node directory {}", dir.display()),
            source,
        };
        ensure_private_dir(&dir.join("tmp")).map_err(io)?;
        let id = dir.display().to_string();
        ctx.ledger.created(NODE_DIR, &plan.name, &id)?;
        Ok(Node {
            id: id.clone(),
            name: plan.name.clone(),
            group: plan.group.clone(),
            index: plan.index,
            roles: plan.roles.clone(),
            addresses: vec![id],
            state: NodeState::Running,
        })
    }

    async fn destroy_node(&self, ctx: &ClusterContext, node: &Node) -> Result<(), BackendError> {
        let resource = OutstandingResource {
            kind: NODE_DIR.to_owned(),
            key: node.name.clone(),
            id: (!node.id.is_empty()).then(|| node.id.clone()),
        };
        self.destroy_resource(ctx, &resource).await
    }

    async fn discover(
        &self,
        _ctx: &ClusterContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        Ok(known
            .iter()
            .map(|node| {
                let mut node = node.clone();
                let exists = !node.id.is_empty() && Path::new(&node.id).is_dir();
                if !exists && node.state == NodeState::Running {
                    node.state = NodeState::Destroyed;
                }
                node
            })
            .collect())
    }

    async fn destroy_resource(
        &self,
        ctx: &ClusterContext,
        resource: &OutstandingResource,
    ) -> Result<(), BackendError> {
        if resource.kind != NODE_DIR {
            return Err(BackendError::Other(format!(
                "the local backend does not know resources of kind {:?}",
                resource.kind
            )));
        }
        if resource.id.is_none() && !crate::spec::is_valid_name(&resource.key) {
            // A key is a node's name; any other is not a path to build on.
            return Err(BackendError::Other(format!(
                "the ledger names node {:?}, which no node can be called",
                resource.key
            )));
        }
        let dir = resource
            .id
            .as_ref()
            .map_or_else(|| Self::node_dir(ctx, &resource.key), PathBuf::from);
        stop_labelled(
            NODE_DIR_ENV,
            &dir.display().to_string(),
            Self::stop_grace(ctx),
        )
        .await;
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(BackendError::Io {
                    context: format!("cannot remove node directory {}", dir.display()),
                    source,
                });
            }
        }
        ctx.ledger.destroyed(&resource.kind, &resource.key)?;
        Ok(())
    }

    async fn sweep(&self, ctx: &ClusterContext) -> Result<usize, BackendError> {
        let stopped = stop_labelled(CLUSTER_UID_ENV, &ctx.uid, Self::stop_grace(ctx)).await;
        // Only an empty root is removed: anything left in it is not ours to delete.
        let _ = std::fs::remove_dir(Self::nodes_root(ctx));
        Ok(stopped)
    }

    fn transport(
        &self,
        ctx: &ClusterContext,
        node: &Node,
        mut env: Vec<(String, String)>,
    ) -> Result<Arc<dyn Transport>, BackendError> {
        env.push((NODE_DIR_ENV.to_owned(), node.id.clone()));
        env.push((CLUSTER_UID_ENV.to_owned(), ctx.uid.clone()));
        Ok(Arc::new(LocalTransport::new(PathBuf::from(&node.id), env)))
    }
}
