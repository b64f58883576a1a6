//! `export`: a diagnostic bundle of one cluster (docs: README, "export").
//! The record, its recent event log, the last debugger results, and from
//! every node the files its roles' log paths name, fetched through the
//! node's transport, nodes in parallel; every byte scrubbed of the secrets
//! the [`Redactor`] knows. A node that cannot be reached or a path that
//! names nothing is written down in the bundle's manifest and `errors.txt`;
//! only a bundle that cannot be written fails the export.
//!
//! Nothing else of the state directory goes in: no ledger, no identity, and
//! never a private key.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use super::bundle::{Bundle, node_entry};
use super::event::EventKind;
use super::exec::fan_out;
use super::export_manifest::{FetchedEntry, Manifest, Problem};
use super::export_paths::{default_bundle_path, paths_for_node};
use super::redact::Redactor;
use super::{Engine, EngineError, OperationReport};
use crate::backend::{Backend, BackendContext};
use crate::model::{
    Node, NodeFailure, NodeState, OperationKind, Outcome, StepStatus, Summary, now,
};
use crate::state::{ClusterRecord, LockMode};
use crate::transport::{DEFAULT_FILE_CAP, Listed, TransportError, list_files};

/// The step each node's fetching is reported as.
pub const EXPORT_STEP: &str = "export";
/// Files from nodes held in memory at once, whatever `-j` is: each may be
/// up to the cap (and its scrubbed copy as much again).
const FILES_IN_MEMORY: usize = 4;

/// Where the nodes' tasks put what they fetch.
struct Collector {
    bundle: Mutex<Bundle>,
    gathered: Mutex<Gathered>,
    in_memory: tokio::sync::Semaphore,
}

/// What fetching from the nodes gathered, shared by the nodes' tasks.
#[derive(Default)]
struct Gathered {
    files: Vec<FetchedEntry>,
    problems: Vec<Problem>,
    failures: Vec<NodeFailure>,
    /// The first error writing into the bundle: the export then fails.
    broken: Option<String>,
}

impl Engine {
    pub(crate) async fn export(
        &self,
        cluster: &str,
        out: Option<PathBuf>,
        log_paths: Option<BTreeMap<String, Vec<String>>>,
    ) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Shared)?;
        let record = self.store.load(cluster)?;
        let out = match out {
            Some(dir) if dir.is_dir() => dir.join(default_bundle_path(cluster)),
            Some(out) => out,
            None => default_bundle_path(cluster),
        };
        let (backend, ctx) = self.attach(&record)?;
        self.start(OperationKind::Export, cluster);
        let log_paths = match log_paths {
            Some(given) => given,
            None => self.distribution_log_paths(&record).await,
        };
        let redactor = Redactor::for_spec(&record.spec);
        let top = format!("clusterdeck-{cluster}");
        let bundle = match Bundle::create(&out, &top) {
            Ok(bundle) => Mutex::new(bundle),
            Err(err) => {
                let reason = format!("cannot write the bundle {}: {err}", out.display());
                return Ok(self.end_export(cluster, &record, Vec::new(), Some(reason)));
            }
        };
        let mut gathered = Gathered::default();
        self.add_state_files(&record, &redactor, &bundle, &mut gathered);
        let collector = Collector {
            bundle,
            gathered: Mutex::new(gathered),
            in_memory: tokio::sync::Semaphore::new(FILES_IN_MEMORY),
        };
        self.fetch_nodes(
            (backend.as_ref(), &ctx),
            &record,
            &log_paths,
            &redactor,
            &collector,
        )
        .await;
        let mut gathered = collector
            .gathered
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        let bundle = collector
            .bundle
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        if self.cancel.is_cancelled() {
            drop(bundle);
            return Ok(self.end_export(
                cluster,
                &record,
                gathered.failures,
                Some("cancelled".to_owned()),
            ));
        }
        let files = gathered.files.len() as u64;
        let problems = gathered.problems.len() as u64;
        let written = match gathered.broken.take() {
            Some(error) => Err(error),
            None => self.close_bundle(
                bundle,
                &record,
                &log_paths,
                &redactor,
                gathered_parts(&mut gathered),
            ),
        };
        match written {
            Ok(bytes) => {
                self.events.emit(EventKind::BundleWritten {
                    path: out.display().to_string(),
                    bytes,
                    files,
                    problems,
                });
                Ok(self.end_export(cluster, &record, gathered.failures, None))
            }
            Err(error) => {
                let reason = format!("cannot write the bundle {}: {error}", out.display());
                Ok(self.end_export(cluster, &record, gathered.failures, Some(reason)))
            }
        }
    }

    /// The record, the event log and the debugger results, each scrubbed.
    fn add_state_files(
        &self,
        record: &ClusterRecord,
        redactor: &Redactor,
        bundle: &Mutex<Bundle>,
        gathered: &mut Gathered,
    ) {
        let mut add = |name: &str, bytes: Result<Option<Vec<u8>>, String>| {
            let result = match bytes {
                Ok(Some(bytes)) => lock(bundle)
                    .add(name, &redactor.redact(&bytes))
                    .map_err(|err| err.to_string()),
                Ok(None) => Ok(()),
                Err(error) => {
                    gathered.problems.push(Problem {
                        node: None,
                        path: Some(name.to_owned()),
                        error,
                    });
                    Ok(())
                }
            };
            if let Err(error) = result {
                gathered.broken.get_or_insert(error);
            }
        };
        add(
            "record.json",
            serde_json::to_vec_pretty(record)
                .map(Some)
                .map_err(|err| err.to_string()),
        );
        add(
            "events.jsonl",
            self.store
                .recent_events(&record.name)
                .map(Some)
                .map_err(|err| err.to_string()),
        );
        let debug = match self.store.load_debug_results(&record.name) {
            Ok(Some(results)) => serde_json::to_vec_pretty(&results)
                .map(Some)
                .map_err(|err| err.to_string()),
            Ok(None) => {
                Err("no debugger has run on this cluster since results were kept".to_owned())
            }
            Err(err) => Err(err.to_string()),
        };
        add("debug-results.json", debug);
    }

    /// Every node at once (bounded), each fetching its files in turn.
    async fn fetch_nodes(
        &self,
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
        log_paths: &BTreeMap<String, Vec<String>>,
        redactor: &Redactor,
        collector: &Collector,
    ) {
        let gathered = &collector.gathered;
        let mut targets = Vec::new();
        for node in &record.nodes {
            if node.state == NodeState::Destroyed {
                continue;
            }
            if node.id.is_empty() {
                lock(gathered).problems.push(Problem {
                    node: Some(node.name.clone()),
                    path: None,
                    error: "the node was never created".to_owned(),
                });
                continue;
            }
            targets.push(node);
        }
        fan_out(targets, self.parallel, |node| async move {
            self.events.emit(EventKind::StepStarted {
                node: node.name.clone(),
                step: EXPORT_STEP.to_owned(),
            });
            let started = Instant::now();
            let paths = paths_for_node(log_paths, node);
            let result = self
                .fetch_node(backend, ctx, record, node, &paths, redactor, collector)
                .await;
            let (status, error) = match result {
                Ok(()) if self.cancel.is_cancelled() => (StepStatus::Cancelled, None),
                Ok(()) => (StepStatus::Ok, None),
                Err(error) => {
                    let mut gathered = lock(gathered);
                    gathered.problems.push(Problem {
                        node: Some(node.name.clone()),
                        path: None,
                        error: error.clone(),
                    });
                    gathered.failures.push(NodeFailure {
                        node: node.name.clone(),
                        step: EXPORT_STEP.to_owned(),
                        error: error.clone(),
                    });
                    (StepStatus::Failed, Some(error))
                }
            };
            self.events.emit(EventKind::StepFinished {
                node: node.name.clone(),
                step: EXPORT_STEP.to_owned(),
                status,
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                error,
            });
        })
        .await;
    }

    /// One node's files. `Err` when the node could not be reached at all;
    /// a file that cannot be read is a problem of the bundle, not the node.
    #[allow(clippy::too_many_arguments)]
    async fn fetch_node(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        record: &ClusterRecord,
        node: &Node,
        paths: &[String],
        redactor: &Redactor,
        collector: &Collector,
    ) -> Result<(), String> {
        let (bundle, gathered) = (&collector.bundle, &collector.gathered);
        let transport = self.connect(backend, ctx, node, &record.nodes).await?;
        let problem = |path: Option<&str>, error: String| {
            self.events.warn(
                Some(&node.name),
                match path {
                    Some(path) => format!("export: {path}: {error}"),
                    None => format!("export: {error}"),
                },
            );
            lock(gathered).problems.push(Problem {
                node: Some(node.name.clone()),
                path: path.map(str::to_owned),
                error,
            });
        };
        // A node that cannot run commands (a stopped container) may still
        // give its files: then the plain paths are tried, and the node
        // counts as unreachable only if it cannot be reached for them either.
        let mut unlisted = false;
        let listed = match list_files(transport.as_ref(), paths, &self.cancel).await {
            Ok(listed) => listed,
            Err(err @ (TransportError::Unreachable(_) | TransportError::Connect(_))) => {
                unlisted = true;
                problem(
                    None,
                    format!("cannot list the log paths ({err}); only plain paths were tried"),
                );
                paths
                    .iter()
                    .filter(|path| !path.contains(['*', '?', '[']))
                    .map(|path| Listed::File(path.clone()))
                    .collect()
            }
            Err(err) => return Err(err.to_string()),
        };
        let mut fetched = 0usize;
        for item in listed {
            if self.cancel.is_cancelled() {
                break;
            }
            let source = match item {
                Listed::File(source) => source,
                Listed::Missing(pattern) => {
                    problem(Some(&pattern), "matched no file".to_owned());
                    continue;
                }
                Listed::TooMany => {
                    problem(
                        None,
                        format!(
                            "more than {} files matched; the rest were left out",
                            crate::transport::MAX_LISTED_FILES
                        ),
                    );
                    continue;
                }
            };
            // Closed never: the semaphore lives as long as the collector.
            let Ok(_room) = collector.in_memory.acquire().await else {
                break;
            };
            let file = match transport.get(&source, DEFAULT_FILE_CAP).await {
                Ok(file) => file,
                Err(err @ (TransportError::Unreachable(_) | TransportError::Connect(_)))
                    if unlisted =>
                {
                    return Err(err.to_string());
                }
                Err(err) => {
                    problem(Some(&source), err.to_string());
                    continue;
                }
            };
            let data = redactor.redact(&file.data);
            let path = node_entry(&node.name, &source);
            if let Err(err) = lock(bundle).add(&path, &data) {
                lock(gathered).broken.get_or_insert(err.to_string());
                break;
            }
            fetched += 1;
            self.events.emit(EventKind::StepProgress {
                node: node.name.clone(),
                step: EXPORT_STEP.to_owned(),
                percent: None,
                message: Some(format!(
                    "{source}: {} bytes{}",
                    data.len(),
                    if file.truncated { " (truncated)" } else { "" }
                )),
            });
            lock(gathered).files.push(FetchedEntry {
                node: node.name.clone(),
                source,
                path,
                size: file.size,
                bytes: data.len() as u64,
                truncated: file.truncated,
                redacted: data != file.data,
            });
        }
        tracing::debug!(node = %node.name, fetched, "export: node done");
        Ok(())
    }

    /// The manifest and `errors.txt`, then the archive closed and renamed.
    fn close_bundle(
        &self,
        bundle: Bundle,
        record: &ClusterRecord,
        log_paths: &BTreeMap<String, Vec<String>>,
        redactor: &Redactor,
        (files, problems): (Vec<FetchedEntry>, Vec<Problem>),
    ) -> Result<u64, String> {
        let mut bundle = bundle;
        let errors: String = problems
            .iter()
            .map(|problem| problem.line() + "\n")
            .collect();
        let manifest = Manifest {
            cluster: &record.name,
            uid: &record.uid,
            backend: &record.spec.backend.kind,
            created_at: now(),
            clusterdeck_version: env!("CARGO_PKG_VERSION"),
            file_cap_bytes: DEFAULT_FILE_CAP,
            contents: vec![
                "record.json",
                "events.jsonl",
                "debug-results.json",
                "errors.txt",
                "nodes/",
            ],
            log_paths,
            files,
            problems,
            not_included: "the ledger, the identity file, private keys and anything else of the state directory",
        };
        let manifest = serde_json::to_vec_pretty(&manifest).map_err(|err| err.to_string())?;
        bundle
            .add("manifest.json", &redactor.redact(&manifest))
            .and_then(|()| bundle.add("errors.txt", &redactor.redact(errors.as_bytes())))
            .map_err(|err| err.to_string())?;
        bundle.finish().map_err(|err| err.to_string())
    }

    fn end_export(
        &self,
        cluster: &str,
        record: &ClusterRecord,
        failures: Vec<NodeFailure>,
        reason: Option<String>,
    ) -> OperationReport {
        let outcome = match &reason {
            None => Outcome::Succeeded,
            Some(_) if self.cancel.is_cancelled() => Outcome::Cancelled,
            Some(_) => Outcome::Failed,
        };
        let summary = Summary {
            reason,
            nodes_total: record.nodes.len(),
            failures,
            ..Summary::default()
        };
        self.finish(OperationKind::Export, cluster, outcome, summary)
    }
}

fn gathered_parts(gathered: &mut Gathered) -> (Vec<FetchedEntry>, Vec<Problem>) {
    (
        std::mem::take(&mut gathered.files),
        std::mem::take(&mut gathered.problems),
    )
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
