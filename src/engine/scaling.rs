//! What a distribution says about a resize: `validate_scaling` before
//! anything is created or removed, `scale` once new nodes are running, and
//! `decommission` on the nodes about to go (Sahara's `decommission_nodes`):
//! a node it fails on is kept, since removing it anyway could lose what it
//! holds.

use std::collections::BTreeMap;

use super::distribution::{ActiveDistribution, recorded_sizes, recorded_spec, start_distribution};
use super::host::EngineHost;
use super::scale::ScaleStep;
use super::{Engine, EngineError};
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState, Phase, Summary};
use crate::state::ClusterRecord;

impl Engine {
    /// Starts the cluster's distribution and asks it whether the resize is
    /// fine; refuses it, with every reason, when not. `None` when the
    /// cluster has no `install` (nothing to ask).
    pub(super) async fn refuse_bad_scaling(
        &self,
        record: &ClusterRecord,
        group: &str,
        step: &ScaleStep,
    ) -> Result<Option<ActiveDistribution>, EngineError> {
        let Some(install) = record.spec.install.as_ref() else {
            return Ok(None);
        };
        let change = match *step {
            // Still started: a killed scale cleared first may turn this
            // into a grow that installs.
            ScaleStep::Nothing { .. } => 0,
            ScaleStep::Grow { add, .. } => i64::from(add),
            ScaleStep::Shrink { remove, .. } => -i64::from(remove),
        };
        let refused = |detail: String| {
            EngineError::Invalid(format!(
                "cannot scale group {group} of {}: {detail}",
                record.name
            ))
        };
        let active = start_distribution(&recorded_spec(record), install, self.parallel)
            .await
            .map_err(refused)?;
        if change == 0 {
            return Ok(Some(active));
        }
        let existing = recorded_sizes(record);
        let view = active
            .view(&record.spec, &existing, &record.nodes)
            .map_err(refused)?;
        let additional = BTreeMap::from([(group.to_owned(), change)]);
        let findings = active
            .distribution
            .validate_scaling(&view, &existing, &additional)
            .await
            .map_err(|err| refused(err.to_string()))?;
        if findings.is_empty() {
            return Ok(Some(active));
        }
        let reasons: Vec<String> = findings
            .into_iter()
            .map(|finding| match finding.field {
                Some(field) => format!("{field}: {}", finding.message),
                None => finding.message,
            })
            .collect();
        Err(refused(format!(
            "distribution {} refuses it: {}; nothing was changed",
            install.distribution,
            reasons.join("; ")
        )))
    }

    /// The `scale` phase once the added nodes run, on the nodes that were
    /// added (the distribution reaches the others through `cluster.nodes`).
    pub(super) async fn tell_of_added(
        &self,
        active: &ActiveDistribution,
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
        added: &[String],
        summary: &mut Summary,
    ) {
        let added: Vec<Node> = record
            .nodes
            .iter()
            .filter(|node| node.state == NodeState::Running && added.contains(&node.name))
            .cloned()
            .collect();
        if added.is_empty() || self.cancel.is_cancelled() {
            return;
        }
        let failures = self
            .on_nodes(active, Phase::Scale, (backend, ctx), record, &added)
            .await;
        summary.failures.extend(failures);
    }

    /// Decommissions the running victims; returns the victims that may be
    /// removed, and adds a failure for each kept one.
    pub(super) async fn decommission(
        &self,
        active: &ActiveDistribution,
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
        victims: Vec<Node>,
        failures: &mut Vec<NodeFailure>,
    ) -> Vec<Node> {
        let running: Vec<Node> = victims
            .iter()
            .filter(|node| node.state == NodeState::Running)
            .cloned()
            .collect();
        let failed = self
            .on_nodes(
                active,
                Phase::Decommission,
                (backend, ctx),
                record,
                &running,
            )
            .await;
        let kept: Vec<&str> = failed.iter().map(|failure| failure.node.as_str()).collect();
        let cleared = victims
            .iter()
            .filter(|node| !kept.contains(&node.name.as_str()))
            .cloned()
            .collect();
        failures.extend(failed.iter().map(|failure| NodeFailure {
            error: format!("{}; the node is kept", failure.error),
            ..failure.clone()
        }));
        cleared
    }

    async fn on_nodes(
        &self,
        active: &ActiveDistribution,
        phase: Phase,
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
        nodes: &[Node],
    ) -> Vec<NodeFailure> {
        if nodes.is_empty() {
            return Vec::new();
        }
        let view = match active.view(&record.spec, &recorded_sizes(record), &record.nodes) {
            Ok(view) => view,
            Err(error) => {
                return nodes
                    .iter()
                    .map(|node| NodeFailure {
                        node: node.name.clone(),
                        step: phase.as_str().to_owned(),
                        error: error.clone(),
                    })
                    .collect();
            }
        };
        let host = EngineHost {
            engine: self,
            backend,
            ctx,
            cluster: &record.nodes,
            default_timeout: record
                .spec
                .install
                .as_ref()
                .and_then(|install| install.timeout),
        };
        self.run_phase(active, phase, &view, nodes, &host).await
    }
}
