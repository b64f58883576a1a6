//! Destroying journalled resources in waves: node-scoped ones first (nodes
//! that exist in one `destroy_nodes` batch), then group-scoped, then
//! cluster-scoped, and within a wave a resource only once nothing that
//! `depends_on` it remains. Gone already (`NotFound`) counts as destroyed;
//! in use or transient failures are retried with backoff; whatever is left
//! is reported resource by resource.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join;

use super::Engine;
use super::event::EventKind;
use super::exec::fan_out;
use crate::backend::{Backend, BackendContext, BackendError};
use crate::model::{BackendFailureKind, Leftover, Node};
use crate::state::OutstandingResource;

/// How destroy retries a resource that is in use or failed transiently:
/// waits of `first_delay`, doubling, until `total` has passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub first_delay: Duration,
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_millis(100),
            total: Duration::from_secs(10),
        }
    }
}

/// What the waves achieved.
#[derive(Debug, Default)]
pub(super) struct WaveOutcome {
    /// Nodes all of whose node-scoped resources are gone.
    pub nodes_gone: Vec<String>,
    pub leftovers: Vec<Leftover>,
}

type Attempt = (OutstandingResource, Result<(), BackendError>);

fn leftover(resource: &OutstandingResource, error: BackendError) -> Leftover {
    Leftover {
        kind: resource.resource.kind.clone(),
        key: resource.resource.key.clone(),
        scope: resource.resource.scope.clone(),
        id: resource.id.clone(),
        error: error.into(),
    }
}

impl Engine {
    /// Destroys `outstanding` (as the ledger lists it) in waves. `nodes` are
    /// the nodes the record knows: a node-scoped resource whose id is a
    /// known node's id is destroyed through `destroy_nodes`.
    pub(super) async fn destroy_in_waves(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        nodes: &[Node],
        outstanding: Vec<OutstandingResource>,
    ) -> WaveOutcome {
        let mut outcome = WaveOutcome::default();
        let mut per_node: BTreeMap<String, usize> = BTreeMap::new();
        for resource in &outstanding {
            if let Some(node) = resource.node() {
                *per_node.entry(node.to_owned()).or_default() += 1;
            }
        }
        let mut remaining = outstanding;
        for wave in 0..3 {
            let (mut pending, later): (Vec<_>, Vec<_>) = remaining
                .into_iter()
                .partition(|resource| resource.resource.scope.wave() == wave);
            remaining = later;
            if !outcome.leftovers.is_empty() {
                // What an earlier wave left probably still needs these.
                let held = outcome.leftovers.len();
                for resource in pending {
                    outcome.leftovers.push(leftover(
                        &resource,
                        BackendError::in_use(format!(
                            "not attempted: {held} resource(s) it may serve remain"
                        )),
                    ));
                }
                continue;
            }
            // Resources that could not be removed still need what they depend on.
            let mut failed: Vec<OutstandingResource> = Vec::new();
            while !pending.is_empty() {
                if self.cancel.is_cancelled() {
                    for resource in pending.drain(..) {
                        let error = BackendError::other("cancelled before it was destroyed");
                        outcome.leftovers.push(leftover(&resource, error));
                    }
                    break;
                }
                let needed = |resource: &OutstandingResource| {
                    pending.iter().chain(&failed).any(|other| {
                        other != resource
                            && other.resource.depends_on.contains(&resource.resource.key)
                    })
                };
                let (ready, blocked): (Vec<_>, Vec<_>) = pending
                    .iter()
                    .cloned()
                    .partition(|resource| !needed(resource));
                if ready.is_empty() {
                    for resource in blocked {
                        let error = BackendError::in_use(
                            "not attempted: resources that depend on it remain",
                        );
                        outcome.leftovers.push(leftover(&resource, error));
                    }
                    break;
                }
                pending = blocked;
                for (resource, result) in self.destroy_batch(backend, ctx, nodes, ready).await {
                    match result {
                        Err(error) if !error.is_not_found() => {
                            self.events.error(
                                resource.node(),
                                format!(
                                    "{} {}: {error}",
                                    resource.resource.kind, resource.resource.key
                                ),
                            );
                            outcome.leftovers.push(leftover(&resource, error));
                            failed.push(resource);
                        }
                        _ => self.gone(ctx, &resource, &mut per_node, &mut outcome),
                    }
                }
            }
        }
        outcome
    }

    /// Journals a resource gone and says so.
    fn gone(
        &self,
        ctx: &BackendContext,
        resource: &OutstandingResource,
        per_node: &mut BTreeMap<String, usize>,
        outcome: &mut WaveOutcome,
    ) {
        if let Err(err) = ctx.journal.destroyed(&resource.resource) {
            self.events.error(
                None,
                format!(
                    "could not journal {} {} as destroyed: {err}",
                    resource.resource.kind, resource.resource.key
                ),
            );
        }
        match resource.node() {
            Some(node) => {
                let left = per_node.entry(node.to_owned()).or_default();
                *left = left.saturating_sub(1);
                if *left == 0 {
                    self.events.emit(EventKind::NodeDestroyed {
                        node: node.to_owned(),
                    });
                    outcome.nodes_gone.push(node.to_owned());
                }
            }
            None => self.events.emit(EventKind::ResourceDestroyed {
                kind: resource.resource.kind.clone(),
                key: resource.resource.key.clone(),
                scope: resource.resource.scope.clone(),
            }),
        }
    }

    /// Destroys resources that need nothing else gone first: known nodes in
    /// one `destroy_nodes` batch, the rest one `destroy_resource` each.
    async fn destroy_batch(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        nodes: &[Node],
        ready: Vec<OutstandingResource>,
    ) -> Vec<Attempt> {
        let node_of = |resource: &OutstandingResource| -> Option<Node> {
            let name = resource.node()?;
            nodes
                .iter()
                .find(|node| {
                    node.name == name
                        && !node.id.is_empty()
                        && resource.id.as_ref() == Some(&node.id)
                })
                .cloned()
        };
        let (batched, singles): (Vec<_>, Vec<_>) = ready
            .into_iter()
            .partition(|resource| node_of(resource).is_some());
        let batch = async {
            if batched.is_empty() {
                return Vec::new();
            }
            let targets: Vec<(OutstandingResource, Node)> = batched
                .into_iter()
                .filter_map(|resource| node_of(&resource).map(|node| (resource, node)))
                .collect();
            self.destroy_nodes_retrying(backend, ctx, targets).await
        };
        let singles = fan_out(singles, self.parallel, |resource| async move {
            let result = self
                .retrying(|| {
                    backend.destroy_resource(ctx, &resource.resource, resource.id.as_deref())
                })
                .await;
            (resource, result)
        });
        let (mut done, singles) = join(batch, singles).await;
        done.extend(singles);
        done
    }

    /// `destroy_nodes` on every target, again on those that failed
    /// retryably, until the retry policy's time is up.
    pub(super) async fn destroy_nodes_retrying(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        mut targets: Vec<(OutstandingResource, Node)>,
    ) -> Vec<Attempt> {
        let started = tokio::time::Instant::now();
        let mut delay = self.retry.first_delay;
        let mut done = Vec::new();
        loop {
            let nodes: Vec<Node> = targets.iter().map(|(_, node)| node.clone()).collect();
            let mut results: BTreeMap<String, Result<(), BackendError>> = backend
                .destroy_nodes(ctx, &nodes)
                .await
                .into_iter()
                .collect();
            let mut again = Vec::new();
            for (resource, node) in targets {
                let result = results.remove(&node.name).unwrap_or_else(|| {
                    Err(BackendError::new(
                        BackendFailureKind::Other,
                        format!("the backend gave no result for node {}", node.name),
                    ))
                });
                match result {
                    Err(error) if error.is_retryable() => again.push((resource, node, error)),
                    result => done.push((resource, result)),
                }
            }
            if again.is_empty() {
                return done;
            }
            if !self.wait_to_retry(started, &mut delay).await {
                done.extend(
                    again
                        .into_iter()
                        .map(|(resource, _, error)| (resource, Err(error))),
                );
                return done;
            }
            targets = again
                .into_iter()
                .map(|(resource, node, _)| (resource, node))
                .collect();
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry
    /// policy's time is up.
    async fn retrying<F, Fut>(&self, attempt: F) -> Result<(), BackendError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), BackendError>>,
    {
        let started = tokio::time::Instant::now();
        let mut delay = self.retry.first_delay;
        loop {
            match attempt().await {
                Err(error) if error.is_retryable() => {
                    if !self.wait_to_retry(started, &mut delay).await {
                        return Err(error);
                    }
                }
                result => return result,
            }
        }
    }

    /// Sleeps before the next attempt; `false` when there is no time left
    /// or the operation was cancelled.
    async fn wait_to_retry(&self, started: tokio::time::Instant, delay: &mut Duration) -> bool {
        if started.elapsed() + *delay > self.retry.total || self.cancel.is_cancelled() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(*delay) => {}
            () = self.cancel.cancelled() => return false,
        }
        *delay = delay.saturating_mul(2);
        true
    }
}
