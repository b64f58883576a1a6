//! The one list of what the engine can be asked to do, and the one entry
//! point that does it: the CLI and the dashboard both build an [`Operation`]
//! and hand it to [`Engine::execute`], so they cannot drift apart.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::event_log::RecordedEvents;
use super::redact::Redactor;
use super::remote::Target;
use super::{Engine, EngineError, OperationReport};
use crate::model::OperationKind;
use crate::spec::{ClusterSpec, LoadedSpec};
use crate::state::ClusterStatus;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Create a cluster from a spec file.
    Up {
        spec: PathBuf,
    },
    /// Record a cluster of existing machines (a backend that cannot create)
    /// without installing or checking, so it can be attached to.
    Adopt {
        spec: PathBuf,
    },
    /// Grow or shrink one group to `count` nodes.
    Scale {
        cluster: String,
        group: String,
        count: u32,
    },
    Stop {
        cluster: String,
    },
    Start {
        cluster: String,
    },
    Destroy {
        cluster: String,
    },
    DestroyNode {
        cluster: String,
        node: String,
    },
    Run {
        cluster: String,
        target: Target,
        command: String,
        timeout: Option<Duration>,
    },
    Debug {
        cluster: String,
    },
    /// Re-run the validators on a cluster's recorded spec.
    Validate {
        cluster: String,
    },
    /// List what clusters that are gone left behind; remove it with `apply`.
    Gc {
        apply: bool,
    },
    /// Check the state directory (and, with a spec, its backend).
    Doctor {
        spec: Option<PathBuf>,
    },
    /// Write a diagnostic bundle of a cluster (see `engine::export`).
    Export {
        cluster: String,
        /// Where the tar.gz goes; `./clusterdeck-NAME-TIMESTAMP.tar.gz` when `None`.
        out: Option<PathBuf>,
        /// Role → paths or globs to fetch from its nodes; when `None`, what
        /// [`super::log_paths_for`] makes of the cluster's spec.
        log_paths: Option<BTreeMap<String, Vec<String>>>,
    },
}

impl Operation {
    /// The kind its events and record carry. `Adopt` is recorded as the
    /// `up` it is a part of; every other variant has its own kind.
    pub fn kind(&self) -> OperationKind {
        match self {
            Self::Up { .. } | Self::Adopt { .. } => OperationKind::Up,
            Self::Scale { .. } => OperationKind::Scale,
            Self::Stop { .. } => OperationKind::Stop,
            Self::Start { .. } => OperationKind::Start,
            Self::Destroy { .. } => OperationKind::Destroy,
            Self::DestroyNode { .. } => OperationKind::DestroyNode,
            Self::Run { .. } => OperationKind::Run,
            Self::Debug { .. } => OperationKind::Debug,
            Self::Validate { .. } => OperationKind::Validate,
            Self::Gc { .. } => OperationKind::Gc,
            Self::Doctor { .. } => OperationKind::Doctor,
            Self::Export { .. } => OperationKind::Export,
        }
    }

    /// The existing cluster it works on; `None` for those that start from a
    /// spec file (the cluster is named inside it) or work on no one cluster.
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Self::Scale { cluster, .. }
            | Self::Stop { cluster }
            | Self::Start { cluster }
            | Self::Destroy { cluster }
            | Self::DestroyNode { cluster, .. }
            | Self::Run { cluster, .. }
            | Self::Debug { cluster }
            | Self::Validate { cluster }
            | Self::Export { cluster, .. } => Some(cluster),
            Self::Up { .. } | Self::Adopt { .. } | Self::Gc { .. } | Self::Doctor { .. } => None,
        }
    }
}

impl Engine {
    /// Runs one operation. `Err` means it could not start (bad input, state
    /// problems); once it has started, how it went is in the report.
    ///
    /// The events of an operation on one cluster also go to that cluster's
    /// event log (`state::EventLog`), scrubbed of its secrets.
    pub async fn execute(&self, operation: Operation) -> Result<OperationReport, EngineError> {
        tracing::debug!(?operation, "execute");
        let loaded = match &operation {
            Operation::Up { spec } | Operation::Adopt { spec } => Some(load_spec(spec)?),
            _ => None,
        };
        let engine = match (&loaded, operation.cluster()) {
            (Some(loaded), _) => self.recording(&loaded.spec.name, Some(&loaded.spec)),
            (None, Some(cluster)) => self.recording(cluster, None),
            (None, None) => self.clone(),
        };
        engine.dispatch(operation, loaded).await
    }

    /// This engine with its events also appended to `cluster`'s event log.
    /// A name no cluster can have gets no log: the operation refuses it.
    fn recording(&self, cluster: &str, spec: Option<&ClusterSpec>) -> Engine {
        let Ok(log) = self.store.event_log(cluster) else {
            return self.clone();
        };
        let redactor = match spec {
            Some(spec) => Redactor::for_spec(spec),
            None => match self.store.try_load(cluster) {
                Ok(Some(record)) => Redactor::for_spec(&record.spec),
                _ => Redactor::for_spec_with(
                    &ClusterSpec {
                        name: cluster.to_owned(),
                        backend: Default::default(),
                        node_groups: Vec::new(),
                        install: None,
                        checks: Default::default(),
                    },
                    &crate::spec::process_env,
                ),
            },
        };
        let mut engine = self.clone();
        engine.events = self.events.recording(RecordedEvents::new(log, redactor));
        engine
    }

    async fn dispatch(
        &self,
        operation: Operation,
        loaded: Option<LoadedSpec>,
    ) -> Result<OperationReport, EngineError> {
        match operation {
            Operation::Up { spec } => match loaded {
                Some(loaded) => self.up(&loaded).await,
                None => self.up(&load_spec(&spec)?).await,
            },
            Operation::Adopt { spec } => match loaded {
                Some(loaded) => self.adopt(&loaded).await,
                None => self.adopt(&load_spec(&spec)?).await,
            },
            Operation::Scale {
                cluster,
                group,
                count,
            } => self.scale(&cluster, &group, count).await,
            Operation::Stop { cluster } => self.stop(&cluster).await,
            Operation::Start { cluster } => self.start_cluster(&cluster).await,
            Operation::Destroy { cluster } => self.destroy(&cluster).await,
            Operation::DestroyNode { cluster, node } => self.destroy_node(&cluster, &node).await,
            Operation::Run {
                cluster,
                target,
                command,
                timeout,
            } => {
                self.refuse_stopped(&cluster)?;
                self.run(&cluster, &target, &command, timeout).await
            }
            Operation::Debug { cluster } => {
                self.refuse_stopped(&cluster)?;
                self.debug(&cluster).await
            }
            Operation::Validate { cluster } => self.revalidate(&cluster).await,
            Operation::Gc { apply } => self.gc(apply).await,
            Operation::Doctor { spec } => {
                let loaded = spec.as_deref().map(load_spec).transpose()?;
                self.doctor(loaded.as_ref()).await
            }
            Operation::Export {
                cluster,
                out,
                log_paths,
            } => self.export(&cluster, out, log_paths).await,
        }
    }

    /// Commands need running nodes: a stopped cluster is started first.
    pub(super) fn refuse_stopped(&self, cluster: &str) -> Result<(), EngineError> {
        match self.store.try_load(cluster) {
            Ok(Some(record)) if record.status == ClusterStatus::Stopped => {
                Err(EngineError::Invalid(stopped_message(cluster)))
            }
            // Anything else is for the operation itself to report.
            _ => Ok(()),
        }
    }
}

pub(super) fn stopped_message(cluster: &str) -> String {
    format!("cluster {cluster} is stopped; `clusterdeck start {cluster}` resumes it")
}

/// Reads a spec file; every problem, with positions, is bad input.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, EngineError> {
    LoadedSpec::from_file(path).map_err(|errors| {
        let count = errors.len();
        let plural = if count == 1 { "" } else { "s" };
        EngineError::Invalid(format!(
            "{errors}\n{count} error{plural} in {}",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_operation_names_its_own_kind_and_cluster() {
        let cluster = || "demo".to_owned();
        let cases = [
            (
                Operation::Up {
                    spec: "a.yaml".into(),
                },
                OperationKind::Up,
                None,
            ),
            (
                Operation::Adopt {
                    spec: "a.yaml".into(),
                },
                OperationKind::Up,
                None,
            ),
            (
                Operation::Scale {
                    cluster: cluster(),
                    group: "agents".into(),
                    count: 3,
                },
                OperationKind::Scale,
                Some("demo"),
            ),
            (
                Operation::Stop { cluster: cluster() },
                OperationKind::Stop,
                Some("demo"),
            ),
            (
                Operation::Start { cluster: cluster() },
                OperationKind::Start,
                Some("demo"),
            ),
            (
                Operation::Destroy { cluster: cluster() },
                OperationKind::Destroy,
                Some("demo"),
            ),
            (
                Operation::DestroyNode {
                    cluster: cluster(),
                    node: "agents-1".into(),
                },
                OperationKind::DestroyNode,
                Some("demo"),
            ),
            (
                Operation::Run {
                    cluster: cluster(),
                    target: Target::All,
                    command: "true".into(),
                    timeout: None,
                },
                OperationKind::Run,
                Some("demo"),
            ),
            (
                Operation::Debug { cluster: cluster() },
                OperationKind::Debug,
                Some("demo"),
            ),
            (
                Operation::Validate { cluster: cluster() },
                OperationKind::Validate,
                Some("demo"),
            ),
            (Operation::Gc { apply: false }, OperationKind::Gc, None),
            (
                Operation::Doctor { spec: None },
                OperationKind::Doctor,
                None,
            ),
            (
                Operation::Export {
                    cluster: cluster(),
                    out: None,
                    log_paths: None,
                },
                OperationKind::Export,
                Some("demo"),
            ),
        ];
        let mut kinds = Vec::new();
        for (operation, kind, name) in &cases {
            assert_eq!(operation.kind(), *kind, "{operation:?}");
            assert_eq!(operation.cluster(), *name, "{operation:?}");
            if !kinds.contains(kind) {
                kinds.push(*kind);
            }
        }
        // Every kind but one (adopt is an up) has its own operation.
        assert_eq!(kinds.len(), cases.len() - 1);
    }
}
