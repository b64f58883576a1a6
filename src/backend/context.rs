//! What a backend is handed with each call: the cluster it works for, its
//! options, and the engine's handles (journal, progress, cancellation). Only
//! the handles are not plain data; a plugin host turns them into
//! notifications.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::BackendError;
use crate::model::{ClusterRef, ResourceRef};
use crate::spec::ClusterSpec;

/// The engine's record of what a backend creates. A backend calls
/// `intent` before it creates a resource and `created` with its id after, so
/// that a crash between the two still leaves `destroy` something to remove.
pub trait Journal: Send + Sync {
    fn intent(&self, resource: &ResourceRef) -> Result<(), BackendError>;
    fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), BackendError>;
    fn destroyed(&self, resource: &ResourceRef) -> Result<(), BackendError>;
}

/// A progress note from a backend while it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The node it concerns; `None` for the cluster as a whole.
    pub node: Option<String>,
    pub percent: Option<u8>,
    pub message: Option<String>,
}

/// Where a backend sends progress; the engine turns it into events.
#[derive(Clone)]
pub struct ProgressReporter(Arc<dyn Fn(Progress) + Send + Sync>);

impl ProgressReporter {
    pub fn new(report: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(report))
    }

    /// Progress goes nowhere.
    pub fn silent() -> Self {
        Self::new(|_| {})
    }

    pub fn report(&self, progress: Progress) {
        (self.0)(progress);
    }
}

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ProgressReporter")
    }
}

/// Everything a backend needs to know about the cluster it works on.
#[derive(Clone)]
pub struct BackendContext {
    pub cluster: ClusterRef,
    /// The cluster's private state directory; a backend may keep files
    /// there (keys, known_hosts).
    pub state_dir: PathBuf,
    /// Cluster options with defaults filled in.
    pub options: BTreeMap<String, Value>,
    pub journal: Arc<dyn Journal>,
    pub progress: ProgressReporter,
    pub cancel: CancellationToken,
}

impl BackendContext {
    pub fn name(&self) -> &str {
        &self.cluster.name
    }

    pub fn uid(&self) -> &str {
        &self.cluster.uid
    }
}

/// For `doctor`: the options (and the spec, when one is given) to check
/// the machine against.
#[derive(Debug, Clone, Default)]
pub struct PreflightContext {
    /// Cluster options with defaults filled in.
    pub options: BTreeMap<String, Value>,
    pub spec: Option<ClusterSpec>,
}

/// For `gc`: where clusterdeck keeps its state, and the options to look
/// with. No cluster record is needed.
#[derive(Debug, Clone)]
pub struct GcContext {
    /// The state directory's root (holding `clusters/`).
    pub state_root: PathBuf,
    /// Cluster options with defaults filled in (where to look).
    pub options: BTreeMap<String, Value>,
    pub cancel: CancellationToken,
}
