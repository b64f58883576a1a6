//! `destroy`: removes every resource the ledger knows of, then anything still
//! carrying the cluster's label, then the cluster's state, even when the
//! cluster's record is damaged or lost.

use super::event::EventKind;
use super::exec::fan_out;
use super::{Engine, EngineError, OperationReport};
use crate::backend::{Backend, ClusterContext};
use crate::model::{NodeFailure, OperationKind, Outcome, Summary};
use crate::state::{
    ClusterIdentity, ClusterRecord, ClusterStatus, LockMode, OutstandingResource, StateError,
};

impl Engine {
    /// Destroys one node of a cluster and marks it destroyed in the record.
    pub(crate) async fn destroy_node(
        &self,
        cluster: &str,
        node_name: &str,
    ) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        let mut record = self.store.load(cluster)?;
        let Some(position) = record.nodes.iter().position(|node| node.name == node_name) else {
            let known: Vec<&str> = record.nodes.iter().map(|node| node.name.as_str()).collect();
            return Err(EngineError::Invalid(format!(
                "cluster {cluster:?} has no node {node_name:?}; known: {}",
                known.join(", ")
            )));
        };
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::DestroyNode, cluster);
        let mut summary = Summary {
            nodes_total: 1,
            ..Summary::default()
        };
        let node = record.nodes[position].clone();
        let outcome = match backend.destroy_node(&ctx, &node).await {
            Ok(()) => {
                record.nodes[position].state = crate::model::NodeState::Destroyed;
                record.recount_group(&node.group);
                self.events.emit(EventKind::NodeDestroyed {
                    node: node.name.clone(),
                });
                Outcome::Succeeded
            }
            Err(err) => {
                summary.failures.push(NodeFailure {
                    node: node.name.clone(),
                    step: "destroy".to_owned(),
                    error: err.to_string(),
                });
                summary.reason = Some(summary.failure_reason());
                Outcome::Failed
            }
        };
        let report = self.finish(OperationKind::DestroyNode, cluster, outcome, summary);
        self.remember(&mut record, OperationKind::DestroyNode, started_at, &report);
        Ok(report)
    }

    /// Destroys everything the ledger lists, then anything still carrying
    /// the cluster's label, then its state. A cluster whose record is
    /// damaged or missing is destroyed from its ledger and identity alone, so
    /// a cluster that was ever created can always be destroyed.
    pub(crate) async fn destroy(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        if let Some(report) = self.destroy_unborn(cluster)? {
            return Ok(report);
        }
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        match self.store.load(cluster) {
            Ok(record) => self.destroy_recorded(cluster, record).await,
            Err(StateError::Damaged { detail, .. }) => self.destroy_damaged(cluster, &detail).await,
            Err(err) => Err(err.into()),
        }
    }

    /// Removes the directory of an `up` killed before it recorded anything
    /// (see [`crate::state::StateStore::is_unborn`]); `None` if the cluster
    /// is not such a one. Under the lock, so a running `up` makes it busy.
    fn destroy_unborn(&self, cluster: &str) -> Result<Option<OperationReport>, EngineError> {
        if !self.store.is_unborn(cluster)? {
            return Ok(None);
        }
        let _lock = self.store.lock(cluster, LockMode::Exclusive)?;
        if !self.store.is_unborn(cluster)? {
            return Ok(None);
        }
        self.start(OperationKind::Destroy, cluster);
        self.events.warn(
            None,
            "an interrupted `up` left only its state directory, and no resource: removing it",
        );
        self.store.remove(cluster)?;
        Ok(Some(self.finish(
            OperationKind::Destroy,
            cluster,
            Outcome::Succeeded,
            Summary::default(),
        )))
    }

    async fn destroy_recorded(
        &self,
        cluster: &str,
        mut record: ClusterRecord,
    ) -> Result<OperationReport, EngineError> {
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::Destroy, cluster);
        record.status = ClusterStatus::Destroying;
        self.store.save(&record)?;

        let mut summary = Summary {
            nodes_total: record.nodes.len(),
            ..Summary::default()
        };
        let destroyed = self
            .destroy_resources(backend.as_ref(), &ctx, &mut summary)
            .await?;
        for node in &mut record.nodes {
            if destroyed.contains(&node.name) {
                node.state = crate::model::NodeState::Destroyed;
            }
        }
        if summary.failures.is_empty() {
            self.store.remove(cluster)?;
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Succeeded, summary))
        } else {
            summary.reason = Some(kept_reason(cluster, &summary));
            record.status = ClusterStatus::Failed;
            let report = self.finish(OperationKind::Destroy, cluster, Outcome::Failed, summary);
            self.remember(&mut record, OperationKind::Destroy, started_at, &report);
            Ok(report)
        }
    }

    /// Destroys a cluster whose record cannot be read: the backend, its
    /// options and the uid come from the identity file `up` writes first.
    async fn destroy_damaged(
        &self,
        cluster: &str,
        damage: &str,
    ) -> Result<OperationReport, EngineError> {
        let outstanding = self.store.outstanding(cluster)?;
        let identity = match self.store.load_identity(cluster) {
            Ok(Some(identity)) => identity,
            // State from before identities were kept, or a damaged identity.
            Ok(None) | Err(_) => guess_identity(cluster, &outstanding)?,
        };
        let backend = self
            .backend(&identity.backend)
            .map_err(EngineError::Invalid)?;
        let ctx = self.context_of(&identity, backend.as_ref())?;
        self.start(OperationKind::Destroy, cluster);
        self.events.warn(
            None,
            format!(
                "{damage}: destroying the {} resource(s) its ledger lists",
                outstanding.len()
            ),
        );
        let mut summary = Summary {
            nodes_total: outstanding.len(),
            ..Summary::default()
        };
        self.destroy_resources(backend.as_ref(), &ctx, &mut summary)
            .await?;
        if summary.failures.is_empty() {
            self.store.remove(cluster)?;
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Succeeded, summary))
        } else {
            summary.reason = Some(kept_reason(cluster, &summary));
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Failed, summary))
        }
    }

    /// Destroys every outstanding resource, then sweeps for what carries the
    /// cluster's label; failures go to `summary`. Returns the keys destroyed.
    async fn destroy_resources(
        &self,
        backend: &dyn Backend,
        ctx: &ClusterContext,
        summary: &mut Summary,
    ) -> Result<Vec<String>, EngineError> {
        let outstanding = self.store.outstanding(&ctx.name)?;
        let results = fan_out(outstanding, self.parallel, |resource| async move {
            let outcome = backend.destroy_resource(ctx, &resource).await;
            if outcome.is_ok() {
                self.events.emit(EventKind::NodeDestroyed {
                    node: resource.key.clone(),
                });
            }
            (resource, outcome)
        })
        .await;
        let mut destroyed = Vec::new();
        for (resource, outcome) in results {
            match outcome {
                Ok(()) => destroyed.push(resource.key),
                Err(err) => {
                    self.events.error(Some(&resource.key), err.to_string());
                    summary.failures.push(NodeFailure {
                        node: resource.key,
                        step: "destroy".to_owned(),
                        error: err.to_string(),
                    });
                }
            }
        }
        // Without a uid (state from before identities were kept) there is no
        // label to sweep for; the node processes were stopped by node above.
        if ctx.uid.is_empty() {
            return Ok(destroyed);
        }
        match backend.sweep(ctx).await {
            Ok(0) => {}
            Ok(stray) => self.events.warn(
                None,
                format!("stopped {stray} stray process(es) or resource(s) the ledger did not list"),
            ),
            Err(err) => {
                summary.failures.push(NodeFailure {
                    node: ctx.name.clone(),
                    step: "sweep".to_owned(),
                    error: err.to_string(),
                });
            }
        }
        Ok(destroyed)
    }
}

fn kept_reason(cluster: &str, summary: &Summary) -> String {
    format!(
        "{}; the cluster is kept so `clusterdeck destroy {cluster}` can retry",
        summary.failure_reason()
    )
}

/// For a damaged cluster with no identity file: only the local backend
/// records resources, so a ledger of node directories is its.
fn guess_identity(
    cluster: &str,
    outstanding: &[OutstandingResource],
) -> Result<ClusterIdentity, EngineError> {
    if let Some(foreign) = outstanding
        .iter()
        .find(|resource| resource.kind != crate::backend::local::NODE_DIR)
    {
        return Err(EngineError::Invalid(format!(
            "cluster {cluster:?} is damaged and does not record which backend made its {:?} resource {:?}; remove it by hand",
            foreign.kind, foreign.key
        )));
    }
    Ok(ClusterIdentity {
        name: cluster.to_owned(),
        uid: String::new(),
        backend: "local".to_owned(),
        options: Default::default(),
    })
}
