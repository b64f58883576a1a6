//! `gc`: finds what clusters that are gone left behind and, when asked,
//! destroys it.
//!
//! Today that is what the state directory knows of: clusters whose record
//! is unreadable or missing while their ledger remains (damaged), and
//! clusters whose `destroy` was interrupted. Resources a backend labelled
//! but no state remembers at all need the backend contract v2
//! (`Backend::list_labelled`); see [`Engine::gc_labelled`].

use super::{Engine, EngineError, OperationReport};
use crate::model::{NodeFailure, OperationKind, Outcome, Summary};
use crate::state::{ClusterStatus, StateError};

/// One cluster gc would destroy, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Leftover {
    pub cluster: String,
    pub why: String,
}

impl Engine {
    pub(crate) async fn gc(&self, apply: bool) -> Result<OperationReport, EngineError> {
        const ALL: &str = "(all clusters)";
        self.start(OperationKind::Gc, ALL);
        let mut leftovers = self.leftovers()?;
        leftovers.extend(self.gc_labelled());
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
            if self.cancel.is_cancelled() {
                break;
            }
            let failed = match self.destroy(&leftover.cluster).await {
                Ok(report) if report.outcome == Outcome::Succeeded => None,
                Ok(report) => Some(report.summary.reason.unwrap_or_default()),
                Err(err) => Some(err.to_string()),
            };
            if let Some(error) = failed {
                summary.failures.push(NodeFailure {
                    node: leftover.cluster.clone(),
                    step: "gc".to_owned(),
                    error,
                });
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
                    });
                }
                Ok(_) => {}
                Err(StateError::Damaged { detail, .. }) => leftovers.push(Leftover {
                    cluster: name,
                    why: format!("damaged: {detail}"),
                }),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(leftovers)
    }

    /// Resources carrying a clusterdeck label whose cluster no state knows.
    ///
    /// TODO(backend contract v2): for each backend of the registry that
    /// declares the `gc` capability, `list_labelled` and keep what no
    /// record's uid claims. The backend trait of this build cannot list.
    fn gc_labelled(&self) -> Vec<Leftover> {
        Vec::new()
    }
}
