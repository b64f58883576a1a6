//! `gc`: finds what clusters that are gone left behind and, when asked,
//! destroys it.
//!
//! Two kinds of leftovers: clusters the state directory knows of that only a
//! destroy can finish (a record unreadable or missing while the ledger
//! remains, or an interrupted destroy), destroyed by name; and resources
//! that carry clusterdeck's labels but whose cluster uid no state here
//! claims (its state directory was deleted, or a crash lost it), found by
//! each backend's `list_labelled` and destroyed per backend and cluster
//! uid through destroy's waves, so a network goes only after the instances
//! that keep it in use, and what is still in use is retried. A third kind
//! comes from the same listing: clusters the state directory knows whose
//! labelled lifespan has ended (see `lifespan`), destroyed by name like the
//! first.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::lifespan::{self, Lifespans};
use super::{Engine, EngineError, OperationReport};
use crate::model::{LabelledResource, NodeFailure, OperationKind, Outcome, Summary};
use crate::state::{ClusterStatus, OutstandingResource, StateError};

/// A backend by kind, and by its file for a plugin a spec named by path.
type BackendKey = (String, Option<PathBuf>);

/// Orphans to destroy together: backend, cluster name and cluster uid.
type OrphanGroup = (BackendKey, String, String);

/// One thing gc would destroy, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Leftover {
    /// The cluster named, or the one the resource's labels name.
    pub cluster: String,
    pub why: String,
    /// A labelled resource no state owns, with its backend; `None` for a
    /// cluster the state directory knows.
    pub orphan: Option<(BackendKey, LabelledResource)>,
}

impl Engine {
    pub(crate) async fn gc(&self, apply: bool) -> Result<OperationReport, EngineError> {
        const ALL: &str = "(all clusters)";
        self.start(OperationKind::Gc, ALL);
        let mut leftovers = self.leftovers()?;
        let listed = self.gc_labelled(&leftovers).await?;
        leftovers.extend(listed);
        let mut summary = Summary {
            nodes_total: leftovers.len(),
            ..Summary::default()
        };
        if leftovers.is_empty() {
            self.events.warn(None, "nothing to collect");
        }
        for leftover in &leftovers {
            if !apply {
                self.events.warn(
                    Some(&leftover.cluster),
                    format!(
                        "{}: `clusterdeck gc --yes` destroys what it left",
                        leftover.why
                    ),
                );
                continue;
            }
            if leftover.orphan.is_some() {
                continue;
            }
            if self.cancel.is_cancelled() {
                break;
            }
            let failed = match self.destroy(&leftover.cluster).await {
                Ok(report) if report.outcome == Outcome::Succeeded => None,
                Ok(report) => Some(report.summary.reason.unwrap_or_default()),
                Err(err) => Some(err.to_string()),
            };
            if let Some(error) = failed {
                summary.failures.push(gc_failure(&leftover.cluster, error));
            }
        }
        if apply {
            for (group, orphans) in orphan_groups(&leftovers) {
                if self.cancel.is_cancelled() {
                    break;
                }
                summary
                    .failures
                    .extend(self.destroy_orphans(&group, orphans).await);
            }
        }
        let outcome = if self.cancel.is_cancelled() {
            summary.reason = Some("cancelled".to_owned());
            Outcome::Cancelled
        } else if summary.failures.is_empty() {
            if !apply && !leftovers.is_empty() {
                summary.reason = Some(format!(
                    "{} leftover(s) found; nothing was removed (run `clusterdeck gc --yes`)",
                    leftovers.len()
                ));
            }
            Outcome::Succeeded
        } else {
            summary.reason = Some(format!(
                "{} of {} leftover(s) could not be removed",
                summary.failures.len(),
                leftovers.len()
            ));
            Outcome::Failed
        };
        Ok(self.finish(OperationKind::Gc, ALL, outcome, summary))
    }

    /// Clusters in the state directory that only a destroy can finish.
    pub(super) fn leftovers(&self) -> Result<Vec<Leftover>, EngineError> {
        let mut leftovers = Vec::new();
        for (name, record) in self
            .store
            .names()?
            .into_iter()
            .map(|name| (name.clone(), self.store.load(&name)))
        {
            match record {
                Ok(record) if record.status == ClusterStatus::Destroying => {
                    leftovers.push(Leftover {
                        cluster: name,
                        why: "its destroy was interrupted".to_owned(),
                        orphan: None,
                    });
                }
                Ok(_) => {}
                Err(StateError::Damaged { detail, .. }) => leftovers.push(Leftover {
                    cluster: name,
                    why: format!("damaged: {detail}"),
                    orphan: None,
                }),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(leftovers)
    }

    /// Resources carrying a clusterdeck label whose cluster no state here
    /// knows, from every backend with the `gc` capability, then the known
    /// clusters whose labelled lifespan has ended (unless `already` lists
    /// them). A cluster this state directory knows (even damaged) is not
    /// an orphan: its own destroy handles it.
    async fn gc_labelled(&self, already: &[Leftover]) -> Result<Vec<Leftover>, EngineError> {
        // Cluster uid to the name this state directory knows it by.
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        // Every backend found by kind, and the plugins known clusters name
        // by their files (no search finds those).
        let mut backends: BTreeSet<BackendKey> = self
            .registry
            .kinds()
            .into_iter()
            .map(|kind| (kind, None))
            .collect();
        for name in self.store.names()? {
            if let Ok(record) = self.store.load(&name) {
                if let Some(path) = record.spec.backend.path {
                    backends.insert((record.spec.backend.kind, Some(path)));
                }
                known.insert(record.uid, name.clone());
            }
            if let Ok(Some(identity)) = self.store.load_identity(&name) {
                known.insert(identity.uid, name.clone());
            }
        }
        let mut lifespans = Lifespans::default();
        let mut leftovers = Vec::new();
        for key in backends {
            let (kind, path) = &key;
            let backend = match self.backend_at(kind, path.as_deref()) {
                Ok(backend) => backend,
                // A plugin a cluster names by its file was expected here.
                Err(problem) if path.is_some() => {
                    self.events
                        .warn(None, format!("{problem}: what it labelled is not listed"));
                    continue;
                }
                Err(_) => continue,
            };
            if !backend.capabilities().gc {
                continue;
            }
            let ctx = crate::backend::GcContext {
                state_root: self.store.root().to_path_buf(),
                options: crate::backend::resolve_options(
                    &backend.option_schema(),
                    &Default::default(),
                )
                .unwrap_or_default(),
                cancel: self.cancel.clone(),
            };
            let found = match backend.list_labelled(&ctx).await {
                Ok(found) => found,
                Err(err) => {
                    self.events.warn(
                        None,
                        format!("backend {kind} could not list what it labelled: {err}"),
                    );
                    continue;
                }
            };
            for resource in found {
                // Without a uid there is no telling whose it is.
                if resource.cluster_uid.is_empty() {
                    continue;
                }
                if let Some(name) = known.get(&resource.cluster_uid) {
                    lifespans.record(name, resource.expires_at);
                    continue;
                }
                leftovers.push(Leftover {
                    cluster: resource.cluster_name.clone(),
                    why: format!(
                        "{kind} {} {} ({}) carries cluster uid {}, which no cluster here owns",
                        resource.resource.kind,
                        resource.resource.key,
                        resource.id,
                        resource.cluster_uid
                    ),
                    orphan: Some((key.clone(), resource)),
                });
            }
        }
        let listed: BTreeSet<&str> = already.iter().map(|left| left.cluster.as_str()).collect();
        for (cluster, ended) in lifespans.ended(lifespan::now_unix()) {
            if !listed.contains(cluster.as_str()) {
                leftovers.push(Leftover {
                    cluster,
                    why: lifespan::why_expired(ended),
                    orphan: None,
                });
            }
        }
        Ok(leftovers)
    }

    /// Destroys labelled resources of one cluster no state owns, in waves
    /// (node-scoped first; a resource only once nothing depending on it
    /// remains; in use retried). Returns one failure per resource left.
    async fn destroy_orphans(
        &self,
        ((kind, path), cluster, uid): &OrphanGroup,
        orphans: Vec<OutstandingResource>,
    ) -> Vec<NodeFailure> {
        let all_failed = |orphans: &[OutstandingResource], error: String| -> Vec<NodeFailure> {
            orphans
                .iter()
                .map(|orphan| {
                    let what = format!("{} {}", orphan.resource.kind, orphan.resource.key);
                    gc_failure(cluster, format!("{what}: {error}"))
                })
                .collect()
        };
        let backend = match self.backend_at(kind, path.as_deref()) {
            Ok(backend) => backend,
            Err(err) => return all_failed(&orphans, err),
        };
        let ctx = match self.orphan_context(backend.as_ref(), cluster, uid) {
            Ok(ctx) => ctx,
            Err(err) => return all_failed(&orphans, err.to_string()),
        };
        let outcome = self
            .destroy_in_waves(backend.as_ref(), &ctx, &[], orphans)
            .await;
        outcome
            .leftovers
            .iter()
            .map(|left| {
                gc_failure(
                    cluster,
                    format!("{} {}: {}", left.kind, left.key, left.error.message),
                )
            })
            .collect()
    }
}

fn gc_failure(cluster: &str, error: String) -> NodeFailure {
    NodeFailure {
        node: cluster.to_owned(),
        step: "gc".to_owned(),
        error,
    }
}

/// The orphans among `leftovers`, by backend and cluster, as the waves
/// take them (with the id the backend listed).
fn orphan_groups(leftovers: &[Leftover]) -> BTreeMap<OrphanGroup, Vec<OutstandingResource>> {
    let mut groups: BTreeMap<OrphanGroup, Vec<OutstandingResource>> = BTreeMap::new();
    for (kind, orphan) in leftovers
        .iter()
        .filter_map(|leftover| leftover.orphan.as_ref())
    {
        groups
            .entry((
                kind.clone(),
                orphan.cluster_name.clone(),
                orphan.cluster_uid.clone(),
            ))
            .or_default()
            .push(OutstandingResource {
                resource: orphan.resource.clone(),
                id: Some(orphan.id.clone()),
            });
    }
    groups
}
