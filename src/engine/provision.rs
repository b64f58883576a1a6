//! `up`'s create step: the backend's cluster resources once (`prepare`),
//! then every group at once, each a single `create_group` call whose
//! result comes back node by node.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::Engine;
use super::event::EventKind;
use super::up::elapsed_ms;
use crate::backend::{Backend, BackendContext};
use crate::model::{
    GroupRequest, Node, NodeFailure, NodeRequest, NodeState, PortSpec, StepStatus, Summary,
    node_name,
};
use crate::spec::ClusterSpec;

const STEP: &str = "create";
/// After a cancel, how long a backend gets to stop on its own and report
/// what it made; after that its call is abandoned (its intents are
/// journalled, so `destroy` still finds everything).
const CANCEL_GRACE: Duration = Duration::from_secs(2);

/// The spec's groups as requests to the backend, each with the ports its
/// distribution needs opened.
pub fn group_requests(
    spec: &ClusterSpec,
    ports: &BTreeMap<String, Vec<PortSpec>>,
) -> Vec<GroupRequest> {
    spec.node_groups
        .iter()
        .map(|group| GroupRequest {
            group: group.name.clone(),
            roles: group.roles.clone(),
            options: group.options.clone(),
            open_ports: ports.get(&group.name).cloned().unwrap_or_default(),
            nodes: (1..=group.count)
                .map(|index| NodeRequest {
                    name: node_name(&group.name, index),
                    index,
                })
                .collect(),
        })
        .collect()
}

/// A node that was not created, as the record keeps it.
fn not_created(group: &GroupRequest, request: &NodeRequest) -> Node {
    Node {
        id: String::new(),
        name: request.name.clone(),
        group: group.group.clone(),
        index: request.index,
        roles: group.roles.clone(),
        addresses: Vec::new(),
        state: NodeState::Failed,
    }
}

impl Engine {
    /// Creates every node of the spec; failures go to `summary`. Returns
    /// every planned node, created or failed, in spec order.
    pub(super) async fn provision(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        spec: &ClusterSpec,
        ports: &BTreeMap<String, Vec<PortSpec>>,
        summary: &mut Summary,
    ) -> Vec<Node> {
        let groups = group_requests(spec, ports);
        let prepared = if self.cancel.is_cancelled() {
            Err("cancelled before it was created".to_owned())
        } else {
            match self.until_cancelled(backend.prepare(ctx)).await {
                Some(Ok(())) => Ok(()),
                Some(Err(err)) => Err(format!(
                    "the cluster's resources could not be prepared: {err}"
                )),
                None => Err("cancelled before it was created".to_owned()),
            }
        };
        let results: Vec<Vec<(Node, Result<(), String>)>> = match prepared {
            Ok(()) => {
                join_all(
                    groups
                        .iter()
                        .map(|group| self.create_group(backend, ctx, group)),
                )
                .await
            }
            Err(error) => {
                self.events.error(None, error.clone());
                groups
                    .iter()
                    .map(|group| {
                        group
                            .nodes
                            .iter()
                            .map(|request| (not_created(group, request), Err(error.clone())))
                            .collect()
                    })
                    .collect()
            }
        };
        results
            .into_iter()
            .flatten()
            .map(|(node, result)| {
                if let Err(error) = result {
                    summary.failures.push(NodeFailure {
                        node: node.name.clone(),
                        step: STEP.to_owned(),
                        error,
                    });
                }
                node
            })
            .collect()
    }

    /// One group: started events for all its nodes, one backend call, then
    /// a finished event (and `NodeCreated`) per node.
    pub(super) async fn create_group(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        group: &GroupRequest,
    ) -> Vec<(Node, Result<(), String>)> {
        if self.cancel.is_cancelled() {
            return group
                .nodes
                .iter()
                .map(|request| {
                    let error = "cancelled before it was created".to_owned();
                    (not_created(group, request), Err(error))
                })
                .collect();
        }
        for request in &group.nodes {
            self.events.emit(EventKind::StepStarted {
                node: request.name.clone(),
                step: STEP.to_owned(),
            });
        }
        let started = Instant::now();
        let outcomes = self.until_cancelled(backend.create_group(ctx, group)).await;
        let cancelled = outcomes.is_none();
        let mut by_name: BTreeMap<String, _> = outcomes
            .unwrap_or_default()
            .into_iter()
            .map(|outcome| (outcome.name, outcome.result))
            .collect();
        group
            .nodes
            .iter()
            .map(|request| {
                let result = match by_name.remove(&request.name) {
                    Some(Ok(node)) => Ok(node),
                    Some(Err(failure)) => Err(failure.message),
                    None if cancelled => Err("cancelled while it was being created".to_owned()),
                    None => Err("the backend gave no result for this node".to_owned()),
                };
                let status = match &result {
                    Ok(_) => StepStatus::Ok,
                    Err(_) if self.cancel.is_cancelled() => StepStatus::Cancelled,
                    Err(_) => StepStatus::Failed,
                };
                self.events.emit(EventKind::StepFinished {
                    node: request.name.clone(),
                    step: STEP.to_owned(),
                    status,
                    elapsed_ms: elapsed_ms(started),
                    error: result.as_ref().err().cloned(),
                });
                match result {
                    Ok(node) => {
                        self.events
                            .emit(EventKind::NodeCreated { node: node.clone() });
                        (node, Ok(()))
                    }
                    Err(error) => (not_created(group, request), Err(error)),
                }
            })
            .collect()
    }

    /// `work`'s result, or `None` if the operation is cancelled and `work`
    /// does not finish within [`CANCEL_GRACE`] after.
    async fn until_cancelled<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        tokio::pin!(work);
        tokio::select! {
            result = &mut work => Some(result),
            () = self.cancel.cancelled() => tokio::time::timeout(CANCEL_GRACE, work).await.ok(),
        }
    }
}
