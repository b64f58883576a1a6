//! `destroy`: removes every resource the journal knows of, in waves (nodes,
//! then group resources, then cluster resources), then anything still
//! carrying the cluster's label, then the cluster's state, even when the
//! cluster's record is damaged or lost.

use super::waves::WaveOutcome;
use super::{Engine, EngineError, OperationReport};
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState, OperationKind, Outcome, Summary};
use crate::state::{
    ClusterIdentity, ClusterRecord, ClusterStatus, Ledger, LockMode, OutstandingResource,
    StateError,
};

impl Engine {
    /// Destroys one node of a cluster (everything journalled for it) and
    /// marks it destroyed in the record.
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
        let journalled: Vec<OutstandingResource> = self
            .store
            .outstanding(cluster)?
            .into_iter()
            .filter(|resource| resource.node() == Some(node_name))
            .collect();
        let gone = if journalled.is_empty() {
            // Nothing journalled (a backend that creates nothing): the backend decides.
            let result = self
                .destroy_nodes_retrying(
                    backend.as_ref(),
                    &ctx,
                    vec![(unjournalled(&node), node.clone())],
                )
                .await
                .pop()
                .map(|(_, result)| result);
            match result {
                Some(Err(err)) if !err.is_not_found() => {
                    summary.failures.push(failure(&node.name, err.to_string()));
                    false
                }
                _ => {
                    self.events.emit(super::EventKind::NodeDestroyed {
                        node: node.name.clone(),
                    });
                    true
                }
            }
        } else {
            let outcome = self
                .destroy_in_waves(backend.as_ref(), &ctx, &record.nodes, journalled)
                .await;
            self.report_leftovers(&outcome, &mut summary);
            outcome.leftovers.is_empty()
        };
        let outcome = if gone {
            record.nodes[position].state = NodeState::Destroyed;
            record.recount_group(&node.group);
            Outcome::Succeeded
        } else {
            summary.reason = Some(summary.failure_reason());
            Outcome::Failed
        };
        let report = self.finish(OperationKind::DestroyNode, cluster, outcome, summary);
        self.remember(&mut record, OperationKind::DestroyNode, started_at, &report);
        Ok(report)
    }

    /// The backend that made a cluster's resources. When it cannot be had
    /// (a plugin whose file is gone) nothing is destroyed and the state is
    /// kept, and the error says what the journal still lists.
    fn destroying_backend(
        &self,
        cluster: &str,
        kind: &str,
        path: Option<&std::path::Path>,
    ) -> Result<std::sync::Arc<dyn Backend>, EngineError> {
        self.backend_at(kind, path).map_err(|problem| {
            let remains = match self.store.outstanding(cluster) {
                Ok(outstanding) if outstanding.is_empty() => {
                    "its journal lists no resource".to_owned()
                }
                Ok(outstanding) => {
                    let names: Vec<String> = outstanding
                        .iter()
                        .map(|left| format!("{} {}", left.resource.kind, left.resource.key))
                        .collect();
                    format!("{} resource(s) remain: {}", names.len(), names.join(", "))
                }
                Err(err) => format!("its journal cannot be read: {err}"),
            };
            EngineError::Invalid(format!(
                "cannot destroy cluster {cluster:?}: {problem}; {remains}; the cluster is kept so `clusterdeck destroy {cluster}` can retry once its backend is back"
            ))
        })
    }

    /// Destroys everything the journal lists, then anything still carrying
    /// the cluster's label, then its state. A cluster whose record is
    /// damaged or missing is destroyed from its journal and identity alone,
    /// so a cluster that was ever created can always be destroyed.
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
        let backend = self.destroying_backend(
            cluster,
            &record.spec.backend.kind,
            record.spec.backend.path.as_deref(),
        )?;
        let ctx = self.context(&record, backend.as_ref())?;
        let started_at = self.start(OperationKind::Destroy, cluster);
        // While the nodes still run: the distribution may stop its services
        // cleanly or hand data on.
        if record.status != ClusterStatus::Destroying {
            self.terminate(&record, backend.as_ref(), &ctx).await;
        }
        record.status = ClusterStatus::Destroying;
        self.store.save(&record)?;

        let mut summary = Summary {
            nodes_total: record.nodes.len(),
            ..Summary::default()
        };
        let gone = self
            .destroy_resources(backend.as_ref(), &ctx, &record.nodes, &mut summary)
            .await?;
        for node in &mut record.nodes {
            if gone.contains(&node.name) {
                node.state = NodeState::Destroyed;
            }
        }
        if summary.failures.is_empty() && summary.leftovers.is_empty() {
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
        let backend =
            self.destroying_backend(cluster, &identity.backend, identity.backend_path.as_deref())?;
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
        self.destroy_resources(backend.as_ref(), &ctx, &[], &mut summary)
            .await?;
        if summary.failures.is_empty() && summary.leftovers.is_empty() {
            self.store.remove(cluster)?;
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Succeeded, summary))
        } else {
            summary.reason = Some(kept_reason(cluster, &summary));
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Failed, summary))
        }
    }

    /// Destroys every journalled resource in waves, then what still carries
    /// the cluster's label; what remains goes to `summary`. Returns the
    /// nodes that are gone.
    async fn destroy_resources(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        nodes: &[Node],
        summary: &mut Summary,
    ) -> Result<Vec<String>, EngineError> {
        let outstanding = self.store.outstanding(ctx.name())?;
        let never_journalled = self.never_journalled(ctx.name(), nodes)?;
        let mut outcome = self
            .destroy_in_waves(backend, ctx, nodes, outstanding)
            .await;
        // Nodes recorded by a backend that journalled nothing for them (an
        // ssh cluster recorded before its nodes were journalled): the
        // backend still tears down what it put on them.
        if !never_journalled.is_empty() {
            let targets = never_journalled
                .into_iter()
                .map(|node| (unjournalled(&node), node))
                .collect();
            for (resource, result) in self.destroy_nodes_retrying(backend, ctx, targets).await {
                match result {
                    Ok(()) => {}
                    Err(err) if err.is_not_found() => {}
                    Err(err) => {
                        summary
                            .failures
                            .push(failure(&resource.resource.key, err.to_string()));
                        continue;
                    }
                }
                self.events.emit(super::EventKind::NodeDestroyed {
                    node: resource.resource.key.clone(),
                });
                outcome.nodes_gone.push(resource.resource.key);
            }
        }
        self.report_leftovers(&outcome, summary);
        // Without a uid (state from before identities were kept) there is no
        // label to look for; and while journalled resources remain, strays
        // wait for the retry.
        if !ctx.uid().is_empty() && outcome.leftovers.is_empty() && backend.capabilities().gc {
            self.remove_strays(backend, ctx, summary).await;
        }
        Ok(outcome.nodes_gone)
    }

    /// Removes what carries the cluster's uid but the journal missed
    /// (daemons an installer double-forked, a crash before an intent).
    async fn remove_strays(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        summary: &mut Summary,
    ) {
        let found = match backend.list_labelled(&self.gc_context(ctx)).await {
            Ok(found) => found,
            Err(err) => {
                summary.failures.push(failure(
                    ctx.name(),
                    format!("looking for labelled leftovers: {err}"),
                ));
                return;
            }
        };
        let strays: Vec<OutstandingResource> = found
            .into_iter()
            .filter(|labelled| labelled.cluster_uid == ctx.uid())
            .map(|labelled| OutstandingResource {
                resource: labelled.resource,
                id: Some(labelled.id),
            })
            .collect();
        if strays.is_empty() {
            return;
        }
        let count = strays.len();
        let outcome = self.destroy_in_waves(backend, ctx, &[], strays).await;
        self.events.warn(
            None,
            format!(
                "removed {} stray resource(s) the journal did not list",
                count - outcome.leftovers.len()
            ),
        );
        self.report_leftovers(&outcome, summary);
    }

    pub(super) fn report_leftovers(&self, outcome: &WaveOutcome, summary: &mut Summary) {
        for leftover in &outcome.leftovers {
            if let Some(node) = leftover.scope.node() {
                summary.failures.push(failure(
                    node,
                    format!(
                        "{} {}: {}",
                        leftover.kind, leftover.key, leftover.error.message
                    ),
                ));
            }
        }
        summary.leftovers.extend(outcome.leftovers.iter().cloned());
    }
}

fn failure(node: &str, error: String) -> NodeFailure {
    NodeFailure {
        node: node.to_owned(),
        step: "destroy".to_owned(),
        error,
    }
}

/// A node the journal does not list, as a resource to report against.
fn unjournalled(node: &Node) -> OutstandingResource {
    OutstandingResource {
        resource: crate::model::ResourceRef::node("node", &node.name),
        id: Some(node.id.clone()),
    }
}

impl Engine {
    /// The recorded, existing nodes the journal never mentions.
    fn never_journalled(&self, cluster: &str, nodes: &[Node]) -> Result<Vec<Node>, EngineError> {
        let entries = Ledger::entries(&self.store.ledger_path(cluster)?)?;
        let mentioned: std::collections::HashSet<&str> = entries
            .iter()
            .map(|entry| entry.node().unwrap_or(entry.key.as_str()))
            .collect();
        Ok(nodes
            .iter()
            .filter(|node| node.state != NodeState::Destroyed && !node.id.is_empty())
            .filter(|node| !mentioned.contains(node.name.as_str()))
            .cloned()
            .collect())
    }
}

fn kept_reason(cluster: &str, summary: &Summary) -> String {
    format!(
        "{}; the cluster is kept so `clusterdeck destroy {cluster}` can retry",
        summary.failure_reason()
    )
}

/// For a damaged cluster with no identity file: only the local backend
/// journalled resources then, so a ledger of node directories is its.
fn guess_identity(
    cluster: &str,
    outstanding: &[OutstandingResource],
) -> Result<ClusterIdentity, EngineError> {
    if let Some(foreign) = outstanding
        .iter()
        .find(|resource| resource.resource.kind != crate::backend::local::NODE_DIR)
    {
        return Err(EngineError::Invalid(format!(
            "cluster {cluster:?} is damaged and does not record which backend made its {:?} resource {:?}; remove it by hand",
            foreign.resource.kind, foreign.resource.key
        )));
    }
    Ok(ClusterIdentity {
        name: cluster.to_owned(),
        uid: String::new(),
        backend: "local".to_owned(),
        backend_path: None,
        options: Default::default(),
    })
}
