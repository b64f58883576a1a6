//! What a killed `scale` (or `up`) leaves behind, cleared before the next
//! `scale` works from the record: nodes it created but never recorded, nodes
//! it recorded but never finished installing, and nodes it destroyed without
//! recording it. Without this a grow after a killed grow fails on the node
//! directories the killed one made, and a killed grow's half-installed nodes
//! would count as running forever.

use std::collections::HashSet;

use super::{Engine, EngineError};
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState};
use crate::state::{ClusterRecord, Ledger, LedgerEntry, OutstandingResource};

impl Engine {
    /// Brings `record` back to what exists and saves it; returns the nodes
    /// that could not be cleared (the scale must then not go on).
    pub(super) async fn clear_interrupted(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        record: &mut ClusterRecord,
    ) -> Result<Vec<NodeFailure>, EngineError> {
        let entries = Ledger::entries(&self.store.ledger_path(&record.name)?)?;
        let outstanding = self.store.outstanding(&record.name)?;
        // Dropped from the record as a finished shrink drops its nodes.
        let mut dropped = destroyed_in_ledger(record, &entries, &outstanding);
        // Recorded by a grow before its install, and never installed.
        let unfinished: Vec<usize> = (0..record.nodes.len())
            .filter(|at| record.nodes[*at].state == NodeState::Creating)
            .collect();
        // Created by a grow killed before it saved the record.
        let unrecorded: Vec<OutstandingResource> = outstanding
            .into_iter()
            .filter(|resource| {
                resource
                    .node()
                    .is_some_and(|node| is_node_of_spec(record, node))
            })
            .filter(|resource| {
                !record.nodes.iter().any(|node| {
                    Some(node.name.as_str()) == resource.node()
                        && node.state != NodeState::Destroyed
                })
            })
            .collect();
        if unfinished.is_empty() && unrecorded.is_empty() {
            if !dropped.is_empty() {
                self.drop_and_save(record, &dropped)?;
            }
            return Ok(Vec::new());
        }
        self.events.warn(
            None,
            format!(
                "an interrupted operation left {} node(s) unrecorded or not fully installed: removing them",
                unfinished.len() + unrecorded.len()
            ),
        );
        // Everything journalled for those nodes goes, in the same waves as
        // `destroy` (the recorded ones through one `destroy_nodes` batch).
        let doomed: HashSet<String> = unfinished
            .iter()
            .map(|at| record.nodes[*at].name.clone())
            .chain(
                unrecorded
                    .iter()
                    .filter_map(|resource| resource.node().map(str::to_owned)),
            )
            .collect();
        let nodes: Vec<Node> = unfinished
            .iter()
            .map(|at| record.nodes[*at].clone())
            .collect();
        let journalled: Vec<OutstandingResource> = self
            .store
            .outstanding(&record.name)?
            .into_iter()
            .filter(|resource| resource.node().is_some_and(|node| doomed.contains(node)))
            .collect();
        let outcome = self
            .destroy_in_waves(backend, ctx, &nodes, journalled)
            .await;
        let mut failures = Vec::new();
        for leftover in &outcome.leftovers {
            let node = leftover.scope.node().unwrap_or(&leftover.key).to_owned();
            self.events
                .error(Some(&node), leftover.error.message.clone());
            failures.push(NodeFailure {
                node,
                step: "destroy".to_owned(),
                error: leftover.error.message.clone(),
            });
        }
        for at in unfinished {
            let node = &mut record.nodes[at];
            if failures.iter().any(|failure| failure.node == node.name) {
                node.state = NodeState::Failed;
            } else {
                dropped.insert(node.name.clone());
            }
        }
        self.drop_and_save(record, &dropped)?;
        Ok(failures)
    }

    fn drop_and_save(
        &self,
        record: &mut ClusterRecord,
        dropped: &HashSet<String>,
    ) -> Result<(), EngineError> {
        record.nodes.retain(|node| !dropped.contains(&node.name));
        let groups: Vec<String> = record.groups.iter().map(|size| size.name.clone()).collect();
        for group in groups {
            record.recount_group(&group);
        }
        Ok(self.store.save(record)?)
    }
}

/// The recorded nodes the ledger knows of but no longer lists as
/// outstanding: a shrink killed before it saved the record destroyed them.
fn destroyed_in_ledger(
    record: &ClusterRecord,
    entries: &[LedgerEntry],
    outstanding: &[OutstandingResource],
) -> HashSet<String> {
    // Only node-scoped entries name nodes (old entries had no scope and were
    // node directories keyed by node name).
    let known: HashSet<&str> = entries.iter().filter_map(LedgerEntry::node).collect();
    let remaining: HashSet<&str> = outstanding
        .iter()
        .filter_map(OutstandingResource::node)
        .collect();
    record
        .nodes
        .iter()
        .filter(|node| node.state != NodeState::Destroyed)
        .map(|node| node.name.as_str())
        .filter(|name| known.contains(name) && !remaining.contains(name))
        .map(str::to_owned)
        .collect()
}

/// Whether a ledger key names a node of one of the spec's groups
/// (`GROUP-INDEX`): a backend's other resources are never taken for nodes.
fn is_node_of_spec(record: &ClusterRecord, key: &str) -> bool {
    record.spec.node_groups.iter().any(|group| {
        key.strip_prefix(group.name.as_str())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|index| index.parse::<u32>().is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{node, record};
    use super::*;
    use crate::state::LedgerAction;

    fn entry(action: LedgerAction, key: &str) -> LedgerEntry {
        LedgerEntry {
            action,
            kind: "node-dir".into(),
            key: key.into(),
            id: None,
            scope: None,
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn only_nodes_the_ledger_saw_destroyed_are_dropped() {
        let record = record(vec![
            node("agents", 1, NodeState::Running),
            node("agents", 2, NodeState::Running),
            node("agents", 3, NodeState::Destroyed),
            // Never in the ledger (a backend that records nothing): kept.
            node("agents", 4, NodeState::Running),
        ]);
        let entries = [
            entry(LedgerAction::Created, "agents-1"),
            entry(LedgerAction::Created, "agents-2"),
            entry(LedgerAction::Destroyed, "agents-2"),
            entry(LedgerAction::Destroyed, "agents-3"),
        ];
        let outstanding = [OutstandingResource {
            resource: crate::model::ResourceRef::node("node-dir", "agents-1"),
            id: None,
        }];
        let dropped = destroyed_in_ledger(&record, &entries, &outstanding);
        assert_eq!(dropped, HashSet::from(["agents-2".to_owned()]));
    }

    #[test]
    fn only_keys_shaped_like_a_node_of_the_spec_are_nodes() {
        let record = record(Vec::new());
        assert!(is_node_of_spec(&record, "agents-12"));
        for other in ["agents", "agents-", "agents-1-data", "masters-1", "volume"] {
            assert!(!is_node_of_spec(&record, other), "{other}");
        }
    }
}
