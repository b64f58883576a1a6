//! Distributions: what gets installed on a cluster's nodes and how it takes
//! part in the cluster's life (Sahara's provisioning SPI). The built-in
//! `script` distribution lives in the engine, which owns the transports it
//! runs through; out-of-process ones speak the plugin protocol. Both answer
//! through [`Distribution`], so the engine drives them the same way.

mod config;
mod host;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use config::{check_values, cluster_view, config_field};
pub use host::{HostCommand, HostOutput, NodeHost};

use crate::model::{ClusterView, ConfigSpec, Finding, Node, Phase, PhaseVerdict, PortSpec};

/// The name of the built-in distribution: today's installer script.
pub const SCRIPT: &str = "script";

/// Why a distribution could not answer: a plugin that broke, or a call it
/// does not implement. The text names the distribution and the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DistributionError(pub String);

impl DistributionError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// Everything clusterdeck asks of a distribution. Queries (versions,
/// configs, processes, ports, log paths) must be cheap and side-effect free:
/// they run for `validate` and for the dashboard. Phases run on nodes
/// through `host`, so a distribution never holds keys or connections.
#[async_trait]
pub trait Distribution: Send + Sync {
    fn name(&self) -> &str;

    /// The versions it can install, newest first; the spec's `version`
    /// defaults to the first.
    async fn versions(&self) -> Result<Vec<String>, DistributionError>;

    /// The typed configs of a version; user values are checked against them
    /// before anything is created.
    async fn configs(&self, version: &str) -> Result<Vec<ConfigSpec>, DistributionError>;

    /// The processes each role runs, for the node groups panel.
    async fn node_processes(
        &self,
        version: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, DistributionError>;

    /// Problems with the cluster as planned (before `up` creates anything).
    async fn validate(&self, cluster: &ClusterView) -> Result<Vec<Finding>, DistributionError>;

    /// Problems with resizing: `existing` is each group's size now,
    /// `additional` the change asked for (negative when shrinking).
    async fn validate_scaling(
        &self,
        cluster: &ClusterView,
        existing: &BTreeMap<String, u32>,
        additional: &BTreeMap<String, i64>,
    ) -> Result<Vec<Finding>, DistributionError>;

    /// Runs a phase on `nodes` (the ones it concerns; `cluster.nodes` has
    /// them all) and says how each node came through.
    async fn phase(
        &self,
        phase: Phase,
        cluster: &ClusterView,
        nodes: &[Node],
        host: &dyn NodeHost,
    ) -> Result<Vec<PhaseVerdict>, DistributionError>;

    /// The ports the nodes of a group need opened.
    async fn open_ports(
        &self,
        cluster: &ClusterView,
        group: &str,
    ) -> Result<Vec<PortSpec>, DistributionError>;

    /// The files on a node of `role` worth exporting, relative to the node's
    /// root or absolute.
    async fn log_paths(&self, version: &str, role: &str) -> Result<Vec<String>, DistributionError>;
}
