//! `scale`: grows a group with new nodes (created, installed, checked like
//! `up` does) or shrinks it, highest index first.

use super::distribution::{ActiveDistribution, recorded_sizes, recorded_spec};
use super::{Engine, EngineError, OperationReport};
use crate::backend::Capabilities;
use crate::model::{
    GroupRequest, Node, NodeFailure, NodeRequest, NodeState, OperationKind, Outcome, Summary,
    node_name,
};
use crate::state::{ClusterRecord, ClusterStatus, LockMode};

/// The most nodes one group may have; a typo of a few digits more is refused
/// rather than starting thousands of machines.
pub const MAX_GROUP_SIZE: u32 = 10_000;

/// What a scale request comes to once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ScaleStep {
    /// The group already has that many nodes.
    Nothing {
        current: u32,
    },
    Grow {
        current: u32,
        add: u32,
    },
    Shrink {
        current: u32,
        remove: u32,
    },
}

impl Engine {
    pub(crate) async fn scale(
        &self,
        cluster: &str,
        group: &str,
        count: u32,
    ) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Exclusive)?;
        let mut record = self.store.load(cluster)?;
        // Bad input is refused before anything is touched, and so is a
        // size the distribution cannot work with.
        let asked = self.check_scale(&record, group, count)?;
        let active = self.refuse_bad_scaling(&record, group, &asked).await?;
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::Scale, cluster);
        let mut summary = Summary::default();
        // A scale that was killed may have left nodes the record does not
        // account for; the size to reach is counted from what remains.
        let leftovers = self
            .clear_interrupted(backend.as_ref(), &ctx, &mut record)
            .await?;
        if !leftovers.is_empty() {
            summary.failures = leftovers;
            summary.reason = Some(format!(
                "{}; `clusterdeck destroy {cluster}` removes everything",
                summary.failure_reason()
            ));
            let report = self.finish(OperationKind::Scale, cluster, Outcome::Failed, summary);
            self.remember(&mut record, OperationKind::Scale, started_at, &report);
            return Ok(report);
        }
        match self.check_scale(&record, group, count)? {
            ScaleStep::Nothing { current } => {
                self.events.warn(
                    None,
                    format!("group {group} already has {current} node(s): nothing to do"),
                );
                return Ok(self.finish(OperationKind::Scale, cluster, Outcome::Succeeded, summary));
            }
            ScaleStep::Grow { add, .. } => {
                summary.nodes_total = add as usize;
                let mut request = grow_request(&record, group, add);
                if let Some(active) = &active {
                    request.open_ports = self
                        .open_ports(active, &record.spec)
                        .await
                        .remove(group)
                        .unwrap_or_default();
                }
                // One backend call for the new nodes, as `up` makes per group;
                // the cluster's shared resources exist since `up`.
                let mut created: Vec<Node> = self
                    .create_group(backend.as_ref(), &ctx, &request)
                    .await
                    .into_iter()
                    .map(|(node, result)| {
                        if let Err(error) = result {
                            summary.failures.push(NodeFailure {
                                node: node.name.clone(),
                                step: "create".to_owned(),
                                error,
                            });
                        }
                        node
                    })
                    .collect();
                if record.spec.install.is_some() {
                    // Creating until installed: a scale killed before then
                    // leaves them for the next one to clear.
                    for node in &mut created {
                        if node.state == NodeState::Running {
                            node.state = NodeState::Creating;
                        }
                    }
                }
                let new_names: Vec<String> = created.iter().map(|node| node.name.clone()).collect();
                record.nodes.extend(created);
                record.set_group_size(group, count);
                // What exists is recorded before anything else can fail.
                self.store.save(&record)?;
                if let Some(active) = &active {
                    self.install_new(
                        active,
                        (backend.as_ref(), &ctx),
                        &mut record,
                        &new_names,
                        &mut summary,
                    )
                    .await;
                }
                if let Some(active) = &active {
                    self.tell_of_added(
                        active,
                        (backend.as_ref(), &ctx),
                        &record,
                        &new_names,
                        &mut summary,
                    )
                    .await;
                }
                let debuggers = record.spec.checks.debuggers.clone();
                if !debuggers.is_empty() && !self.cancel.is_cancelled() {
                    // On the whole cluster: a new node changes what the
                    // others see (how many agents there are, for one).
                    let results = self
                        .run_debuggers(
                            OperationKind::Scale,
                            &debuggers,
                            (backend.as_ref(), &ctx),
                            &record,
                        )
                        .await;
                    summary.record_results(&results);
                }
            }
            ScaleStep::Shrink { remove, .. } => {
                summary.nodes_total = remove as usize;
                let victims = shrink_victims(&record, group, remove);
                let victims = match &active {
                    Some(active) => {
                        self.decommission(
                            active,
                            (backend.as_ref(), &ctx),
                            &record,
                            victims,
                            &mut summary.failures,
                        )
                        .await
                    }
                    None => victims,
                };
                let names: Vec<&str> = victims.iter().map(|node| node.name.as_str()).collect();
                // Everything journalled for the victims goes, in waves (the
                // nodes in one `destroy_nodes` batch); nothing else is touched.
                let journalled = self
                    .store
                    .outstanding(cluster)?
                    .into_iter()
                    .filter(|resource| resource.node().is_some_and(|node| names.contains(&node)))
                    .collect();
                let outcome = self
                    .destroy_in_waves(backend.as_ref(), &ctx, &victims, journalled)
                    .await;
                self.report_leftovers(&outcome, &mut summary);
                let stuck: Vec<&str> = outcome
                    .leftovers
                    .iter()
                    .filter_map(|leftover| leftover.scope.node())
                    .collect();
                for victim in &victims {
                    if !stuck.contains(&victim.name.as_str()) {
                        record.nodes.retain(|known| known.name != victim.name);
                    }
                }
                record.recount_group(group);
            }
        }
        let outcome = if self.cancel.is_cancelled() {
            summary.reason = Some(format!(
                "cancelled; what exists is recorded: `clusterdeck inspect {cluster}` shows it"
            ));
            Outcome::Cancelled
        } else if !summary.failures.is_empty() || !summary.tally.all_passed() {
            summary.reason = Some(summary.failure_reason());
            record.status = ClusterStatus::Degraded;
            Outcome::Failed
        } else {
            Outcome::Succeeded
        };
        let report = self.finish(OperationKind::Scale, cluster, outcome, summary);
        self.remember(&mut record, OperationKind::Scale, started_at, &report);
        Ok(report)
    }

    /// Everything that can refuse a scale before it touches anything.
    pub(super) fn check_scale(
        &self,
        record: &ClusterRecord,
        group: &str,
        count: u32,
    ) -> Result<ScaleStep, EngineError> {
        if record.group_size(group).is_none() {
            let known: Vec<&str> = record
                .groups
                .iter()
                .map(|size| size.name.as_str())
                .collect();
            return Err(EngineError::Invalid(format!(
                "cluster {} has no group {group:?}; groups: {}",
                record.name,
                known.join(", ")
            )));
        }
        if count > MAX_GROUP_SIZE {
            return Err(EngineError::Invalid(format!(
                "a group has 0 to {MAX_GROUP_SIZE} nodes; {count} is out of range"
            )));
        }
        self.require(&record.spec.backend, "scale", |caps| caps.scale)?;
        if record.status == ClusterStatus::Stopped {
            return Err(EngineError::Invalid(super::operation::stopped_message(
                &record.name,
            )));
        }
        let current = u32::try_from(live_nodes(record, group).len()).unwrap_or(u32::MAX);
        Ok(match count.cmp(&current) {
            std::cmp::Ordering::Equal => ScaleStep::Nothing { current },
            std::cmp::Ordering::Greater => ScaleStep::Grow {
                current,
                add: count - current,
            },
            std::cmp::Ordering::Less => ScaleStep::Shrink {
                current,
                remove: current - count,
            },
        })
    }

    /// Refuses what a backend cannot do, naming what it can.
    pub(super) fn require(
        &self,
        backend: &crate::spec::BackendSpec,
        verb: &str,
        capable: impl Fn(&Capabilities) -> bool,
    ) -> Result<(), EngineError> {
        let kind = &backend.kind;
        let capabilities = self
            .backend_at(kind, backend.path.as_deref())
            .map_err(EngineError::Invalid)?
            .capabilities();
        if capable(&capabilities) {
            return Ok(());
        }
        let can = capabilities.names();
        Err(EngineError::Invalid(if can.is_empty() {
            format!("backend {kind} cannot {verb} (it has no capabilities)")
        } else {
            format!("backend {kind} cannot {verb} (it can: {})", can.join(", "))
        }))
    }

    /// Installs on the new nodes as `up` would, telling each the whole
    /// cluster; failures mark the node failed.
    async fn install_new(
        &self,
        active: &ActiveDistribution,
        (backend, ctx): (
            &dyn crate::backend::Backend,
            &crate::backend::BackendContext,
        ),
        record: &mut ClusterRecord,
        new_names: &[String],
        summary: &mut Summary,
    ) {
        if self.cancel.is_cancelled() {
            return;
        }
        let loaded = recorded_spec(record);
        // The new nodes are `creating` in the record until installed; the
        // distribution sees them running, beside the existing ones.
        let cluster: Vec<Node> = record
            .nodes
            .iter()
            .filter(|node| node.state != NodeState::Destroyed)
            .cloned()
            .map(|mut node| {
                if node.state == NodeState::Creating && new_names.contains(&node.name) {
                    node.state = NodeState::Running;
                }
                node
            })
            .collect();
        let targets: Vec<Node> = cluster
            .iter()
            .filter(|node| new_names.contains(&node.name))
            .cloned()
            .collect();
        let failures = self
            .install_all(
                &loaded,
                active,
                (backend, ctx),
                &cluster,
                &targets,
                &recorded_sizes(record),
            )
            .await;
        for node in &mut record.nodes {
            if failures.iter().any(|failure| failure.node == node.name) {
                node.state = NodeState::Failed;
            } else if node.state == NodeState::Creating && new_names.contains(&node.name) {
                node.state = NodeState::Running;
            }
        }
        summary.failures.extend(failures);
    }
}

/// The group's nodes that still exist (a failed creation counts: it holds
/// its name and its place in the group until it is scaled away).
fn live_nodes<'r>(record: &'r ClusterRecord, group: &str) -> Vec<&'r Node> {
    record
        .nodes
        .iter()
        .filter(|node| node.group == group && node.state != NodeState::Destroyed)
        .collect()
}

/// New nodes numbered on from the highest index the group ever had, so a
/// name is never reused while the ledger may still mention it.
fn grow_request(record: &ClusterRecord, group: &str, add: u32) -> GroupRequest {
    let spec = record
        .spec
        .node_groups
        .iter()
        .find(|spec| spec.name == group);
    let next = record
        .nodes
        .iter()
        .filter(|node| node.group == group)
        .map(|node| node.index)
        .max()
        .unwrap_or(0)
        + 1;
    GroupRequest {
        open_ports: Vec::new(),
        group: group.to_owned(),
        roles: spec.map(|spec| spec.roles.clone()).unwrap_or_default(),
        options: spec.map(|spec| spec.options.clone()).unwrap_or_default(),
        nodes: (next..next + add)
            .map(|index| NodeRequest {
                name: node_name(group, index),
                index,
            })
            .collect(),
    }
}

/// The nodes a shrink removes: the highest indices first.
fn shrink_victims(record: &ClusterRecord, group: &str, remove: u32) -> Vec<Node> {
    let mut nodes: Vec<Node> = live_nodes(record, group).into_iter().cloned().collect();
    nodes.sort_by_key(|node| std::cmp::Reverse(node.index));
    nodes.truncate(remove as usize);
    nodes
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{node, record};
    use super::*;

    #[test]
    fn new_nodes_continue_after_the_highest_index_and_shrink_takes_the_highest() {
        let record = record(vec![
            node("agents", 1, NodeState::Running),
            node("agents", 2, NodeState::Destroyed),
            node("agents", 4, NodeState::Failed),
        ]);
        let request = grow_request(&record, "agents", 2);
        let names: Vec<&str> = request
            .nodes
            .iter()
            .map(|node| node.name.as_str())
            .collect();
        assert_eq!(names, vec!["agents-5", "agents-6"]);
        assert_eq!(request.roles, vec!["agent".to_owned()]);
        let victims = shrink_victims(&record, "agents", 1);
        assert_eq!(victims.len(), 1);
        assert_eq!(victims[0].name, "agents-4");
        assert_eq!(live_nodes(&record, "agents").len(), 2);
    }
}
