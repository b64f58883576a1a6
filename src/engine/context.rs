//! What the engine hands a backend: the cluster's [`BackendContext`], with
//! the journal written over the cluster's ledger and progress turned into
//! events; and how it reaches a node (endpoint → transport).

use std::sync::Arc;

use super::event::EventKind;
use super::plan::node_env;
use super::{Engine, EngineError};
use crate::backend::{
    Backend, BackendContext, BackendError, GcContext, Journal, Progress, ProgressReporter,
    resolve_options,
};
use crate::model::{ClusterRef, Node, ResourceRef};
use crate::state::{ClusterIdentity, ClusterRecord, Ledger};
use crate::transport::{self, Transport};

/// The engine's journal: every intent, id and removal goes to the ledger
/// (synced) before the backend goes on.
pub struct LedgerJournal(Ledger);

impl Journal for LedgerJournal {
    fn intent(&self, resource: &ResourceRef) -> Result<(), BackendError> {
        Ok(self.0.intent(resource)?)
    }

    fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), BackendError> {
        Ok(self.0.created(resource, id)?)
    }

    fn destroyed(&self, resource: &ResourceRef) -> Result<(), BackendError> {
        Ok(self.0.destroyed(resource)?)
    }
}

/// The journal of a context with no cluster state behind it.
struct NoJournal;

impl Journal for NoJournal {
    fn intent(&self, _resource: &ResourceRef) -> Result<(), BackendError> {
        Ok(())
    }

    fn created(&self, _resource: &ResourceRef, _id: &str) -> Result<(), BackendError> {
        Ok(())
    }

    fn destroyed(&self, _resource: &ResourceRef) -> Result<(), BackendError> {
        Ok(())
    }
}

impl Engine {
    /// The backend and context for an existing cluster, from its record.
    pub(super) fn attach(
        &self,
        record: &ClusterRecord,
    ) -> Result<(Arc<dyn Backend>, BackendContext), EngineError> {
        let backend = self
            .backend_at(
                &record.spec.backend.kind,
                record.spec.backend.path.as_deref(),
            )
            .map_err(EngineError::Invalid)?;
        let ctx = self.context(record, backend.as_ref())?;
        Ok((backend, ctx))
    }

    pub(super) fn context(
        &self,
        record: &ClusterRecord,
        backend: &dyn Backend,
    ) -> Result<BackendContext, EngineError> {
        let identity = ClusterIdentity {
            name: record.name.clone(),
            uid: record.uid.clone(),
            backend: record.spec.backend.kind.clone(),
            backend_path: record.spec.backend.path.clone(),
            options: record.spec.backend.options.clone(),
        };
        self.context_of(&identity, backend)
    }

    /// The context from what a cluster's identity file says, for when its
    /// record cannot be read.
    pub(super) fn context_of(
        &self,
        identity: &ClusterIdentity,
        backend: &dyn Backend,
    ) -> Result<BackendContext, EngineError> {
        let options = resolve_options(&backend.option_schema(), &identity.options)
            .map_err(|problems| EngineError::Invalid(problems.to_string()))?;
        let ledger = self.store.open_ledger(&identity.name)?;
        let events = self.events.clone();
        let cluster = identity.name.clone();
        Ok(BackendContext {
            cluster: ClusterRef::new(&identity.name, &identity.uid),
            state_dir: self.store.cluster_dir(&identity.name)?,
            options,
            journal: Arc::new(LedgerJournal(ledger)),
            progress: ProgressReporter::new(move |progress: Progress| {
                events.emit(EventKind::StepProgress {
                    node: progress.node.unwrap_or_else(|| cluster.clone()),
                    step: "create".to_owned(),
                    percent: progress.percent,
                    message: progress.message,
                });
            }),
            cancel: self.cancel.clone(),
        })
    }

    /// A context for a resource that carries clusterdeck's labels but that no
    /// cluster of this state directory owns (for `gc`): there is no ledger
    /// to keep, so its journal records nothing.
    pub(super) fn orphan_context(
        &self,
        backend: &dyn Backend,
        cluster: &str,
        uid: &str,
    ) -> Result<BackendContext, EngineError> {
        let options = resolve_options(&backend.option_schema(), &Default::default())
            .map_err(|problems| EngineError::Invalid(problems.to_string()))?;
        Ok(BackendContext {
            cluster: ClusterRef::new(cluster, uid),
            state_dir: self.store.root().to_path_buf(),
            options,
            journal: Arc::new(NoJournal),
            progress: ProgressReporter::new(|_: Progress| {}),
            cancel: self.cancel.clone(),
        })
    }

    /// What `list_labelled` needs: the state root and the cluster's options.
    pub(super) fn gc_context(&self, ctx: &BackendContext) -> GcContext {
        GcContext {
            state_root: self.store.root().to_path_buf(),
            options: ctx.options.clone(),
            cancel: self.cancel.clone(),
        }
    }

    /// The transport to `node`: the backend says where it is, the transport
    /// layer builds the connection. The error text says which step failed.
    pub(super) async fn connect(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        node: &Node,
        all: &[Node],
    ) -> Result<Arc<dyn Transport>, String> {
        let endpoint = backend
            .endpoint(ctx, node)
            .await
            .map_err(|err| err.to_string())?;
        transport::connect(&node.name, &endpoint, node_env(ctx.name(), node, all))
            .map_err(|err| err.to_string())
    }
}
