//! `destroy`: removes every resource the ledger knows of, then anything still
//! carrying the cluster's label, then the cluster's state.

use super::event::EventKind;
use super::exec::fan_out;
use super::{Engine, EngineError, OperationReport};
use crate::model::{NodeFailure, OperationKind, Outcome, Summary};
use crate::state::{ClusterStatus, Ledger, LockMode};

impl Engine {
    /// Destroys one node of a cluster and marks it destroyed in the record.
    pub async fn destroy_node(
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

    pub async fn destroy(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        let mut record = self.store.load(cluster)?;
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::Destroy, cluster);
        record.status = ClusterStatus::Destroying;
        self.store.save(&record)?;

        let outstanding = Ledger::outstanding(&self.store.ledger_path(cluster))?;
        let mut summary = Summary {
            nodes_total: record.nodes.len(),
            ..Summary::default()
        };
        let backend = backend.as_ref();
        let ctx = &ctx;
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
        for (resource, outcome) in results {
            if outcome.is_ok()
                && let Some(node) = record
                    .nodes
                    .iter_mut()
                    .find(|node| node.name == resource.key)
            {
                node.state = crate::model::NodeState::Destroyed;
            }
            if let Err(err) = outcome {
                self.events.error(Some(&resource.key), err.to_string());
                summary.failures.push(NodeFailure {
                    node: resource.key,
                    step: "destroy".to_owned(),
                    error: err.to_string(),
                });
            }
        }
        match backend.sweep(ctx).await {
            Ok(0) => {}
            Ok(stray) => self.events.warn(
                None,
                format!("stopped {stray} stray process(es) or resource(s) the ledger did not list"),
            ),
            Err(err) => {
                summary.failures.push(NodeFailure {
                    node: cluster.to_owned(),
                    step: "sweep".to_owned(),
                    error: err.to_string(),
                });
            }
        }

        if summary.failures.is_empty() {
            self.store.remove(cluster)?;
            Ok(self.finish(OperationKind::Destroy, cluster, Outcome::Succeeded, summary))
        } else {
            summary.reason = Some(format!(
                "{}; the cluster is kept so `clusterdeck destroy {cluster}` can retry",
                summary.failure_reason()
            ));
            record.status = ClusterStatus::Failed;
            let report = self.finish(OperationKind::Destroy, cluster, Outcome::Failed, summary);
            self.remember(&mut record, OperationKind::Destroy, started_at, &report);
            Ok(report)
        }
    }
}
