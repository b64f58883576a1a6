//! Backends create and destroy what a cluster runs on and say how to reach
//! each node, as data. The contract (docs/backend-contract.md) is async and
//! works on whole groups; everything that crosses it is plain serde data
//! except the context's handles, so a backend could live in another process.
//!
//! Backends know nothing of the UI or the engine: they get a
//! [`BackendContext`] and announce what they create through its [`Journal`].

mod context;
pub mod docker;
mod error;
pub mod local;
mod options;
mod registry;
pub mod ssh;

use async_trait::async_trait;

pub use context::{
    BackendContext, GcContext, Journal, PreflightContext, Progress, ProgressReporter,
};
pub use error::BackendError;
pub use options::{OptionProblem, OptionProblems, resolve_options};
pub use registry::{BackendResolver, Registry};

pub use crate::model::{
    BackendInfo, Capabilities, Endpoint, GroupRequest, LabelledResource, NodeOutcome, OptionSpec,
    OptionType, PowerAction, PreflightCheck, ResourceRef, ResourceScope,
};
use crate::model::{Node, NodeStateChange, ValidatorOutcome};
use crate::spec::ClusterSpec;

/// One result per node of a batch operation, by node name.
pub type NodeResults = Vec<(String, Result<(), BackendError>)>;

/// Node state changes as a backend sees them happen (`Backend::watch`). An
/// `Err` is the last item: why the watch ended. The channel closes when the
/// watch ends; dropping the receiver (or cancelling the context) ends it.
pub type NodeWatch = tokio::sync::mpsc::Receiver<Result<NodeStateChange, BackendError>>;

#[async_trait]
pub trait Backend: Send + Sync {
    /// Kind, capabilities and option schemas.
    fn info(&self) -> BackendInfo;

    fn kind(&self) -> String {
        self.info().kind
    }

    fn capabilities(&self) -> Capabilities {
        self.info().capabilities
    }

    /// The schema of `backend.options`.
    fn option_schema(&self) -> Vec<OptionSpec> {
        self.info().cluster_options
    }

    /// Whether this machine can run the backend at all (`doctor`).
    async fn preflight(&self, _ctx: &PreflightContext) -> Vec<PreflightCheck> {
        Vec::new()
    }

    /// The backend's own checks of a spec, beyond its option schema: one
    /// outcome per problem, with `field` naming the spec element it is about
    /// (`ValidatorOutcome::failed_at`) so the finding can show its position.
    async fn validate(&self, _spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        Vec::new()
    }

    /// Creates the cluster-level resources (network, key pair...), once per
    /// `up`, before any group.
    async fn prepare(&self, _ctx: &BackendContext) -> Result<(), BackendError> {
        Ok(())
    }

    /// Creates every node of a group; one outcome per requested node. The
    /// backend decides how many it creates at once.
    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome>;

    /// Destroys nodes and everything they run; one result per node.
    /// A node already gone is `NotFound`.
    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults;

    /// Stops or starts nodes, keeping them.
    async fn power(
        &self,
        _ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        let what = match action {
            PowerAction::Stop => "stop nodes",
            PowerAction::Start => "start nodes",
        };
        nodes
            .iter()
            .map(|node| {
                (
                    node.name.clone(),
                    Err(BackendError::unsupported(&self.kind(), what)),
                )
            })
            .collect()
    }

    /// The known nodes with their state as the backend sees it now.
    async fn discover(
        &self,
        _ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        Ok(known.to_vec())
    }

    /// Follows the cluster's nodes as they change state from now on (the
    /// capability `watch`), for a dashboard that shows them live without
    /// polling. Nodes created after the call (a scale) are followed too.
    async fn watch(
        &self,
        _ctx: &BackendContext,
        _nodes: &[Node],
    ) -> Result<NodeWatch, BackendError> {
        Err(BackendError::unsupported(&self.kind(), "watch node states"))
    }

    /// Destroys one journalled resource, created (`id` known) or only
    /// intended. `NotFound` means it is already gone.
    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError>;

    /// Everything carrying clusterdeck's labels, of any cluster, found
    /// without a cluster record (for `gc` and for destroy's last sweep).
    async fn list_labelled(&self, _ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        Err(BackendError::unsupported(
            &self.kind(),
            "list what it labelled",
        ))
    }

    /// How to reach a node; the engine builds the transport from it.
    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError>;
}
