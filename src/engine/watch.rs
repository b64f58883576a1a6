//! `watch`: a cluster's node states as they change, for the dashboard while
//! it shows the cluster. Not an operation: it takes no lock, emits no events
//! and records nothing; `inspect` (the backend's `discover`) stays the truth.

use super::{Engine, EngineError};
use crate::backend::{BackendError, NodeWatch};

impl Engine {
    /// Starts following the nodes of `cluster`; the changes arrive on the
    /// returned channel until it is dropped or the backend's watch breaks.
    /// A backend without the `watch` capability is `unsupported`.
    pub async fn watch(&self, cluster: &str) -> Result<NodeWatch, EngineError> {
        let record = self.store.load(cluster)?;
        let (backend, ctx) = self.attach(&record)?;
        if !backend.capabilities().watch {
            return Err(BackendError::unsupported(&backend.kind(), "watch node states").into());
        }
        Ok(backend.watch(&ctx, &record.nodes).await?)
    }
}
