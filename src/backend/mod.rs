//! Backends create and destroy nodes and say how to reach each one.
//!
//! They know nothing of the UI: they get a [`ClusterContext`] (with the ledger
//! they must write intents to) and return nodes and transports.

pub mod local;
mod options;
mod registry;
pub mod ssh;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

pub use crate::model::{Capabilities, OptionSpec, OptionType};
pub use options::{OptionProblem, OptionProblems, resolve_options};
pub use registry::Registry;

use crate::model::{Node, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::state::{Ledger, OutstandingResource, StateError};
use crate::transport::Transport;

/// Everything a backend needs to know about the cluster it works on.
#[derive(Debug, Clone)]
pub struct ClusterContext {
    pub name: String,
    pub uid: String,
    /// The cluster's private state directory.
    pub state_dir: PathBuf,
    pub ledger: Arc<Ledger>,
    /// Backend options with defaults filled in.
    pub options: BTreeMap<String, Value>,
}

/// One node to create.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub name: String,
    pub group: String,
    pub index: u32,
    pub roles: Vec<String>,
    pub options: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("backend {backend:?} cannot {operation}")]
    Unsupported {
        backend: String,
        operation: &'static str,
    },
    #[error("{0}")]
    Other(String),
}

#[async_trait]
pub trait Backend: Send + Sync {
    fn kind(&self) -> &str;
    fn capabilities(&self) -> Capabilities;
    fn option_schema(&self) -> Vec<OptionSpec>;

    /// The backend's own checks of a spec, beyond its option schema: one
    /// outcome per problem, with `field` naming the spec element it is about
    /// (`ValidatorOutcome::failed_at`) so the finding can show its position.
    fn validate(&self, _spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        Vec::new()
    }

    /// Creates one node, recording the intent in the ledger before it acts.
    async fn create_node(
        &self,
        ctx: &ClusterContext,
        plan: &NodePlan,
    ) -> Result<Node, BackendError>;

    /// Destroys one node and everything it runs.
    async fn destroy_node(&self, ctx: &ClusterContext, node: &Node) -> Result<(), BackendError>;

    /// The known nodes with their state as the backend sees it now, for
    /// attaching to a running cluster.
    async fn discover(
        &self,
        ctx: &ClusterContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError>;

    /// Destroys a resource the ledger says may exist (created or only intended).
    async fn destroy_resource(
        &self,
        ctx: &ClusterContext,
        resource: &OutstandingResource,
    ) -> Result<(), BackendError>;

    /// Removes anything carrying the cluster's label that the ledger missed.
    /// Returns how many stray resources or processes it stopped.
    async fn sweep(&self, ctx: &ClusterContext) -> Result<usize, BackendError>;

    /// How to reach a node. `env` is the node's identity, set on every command.
    fn transport(
        &self,
        ctx: &ClusterContext,
        node: &Node,
        env: Vec<(String, String)>,
    ) -> Result<Arc<dyn Transport>, BackendError>;
}
