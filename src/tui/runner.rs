//! Carries out the commands `update` returns: starts engine operations as
//! tasks and sends their events, and any loaded state, back as messages.

use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;

use super::msg::{Command, Msg, NotRun, Operation, subject};
use super::state::{BackendRow, ClusterRow, ClusterView, NodeView};
use crate::backend::Registry;
use crate::engine::{Engine, EngineError, EventKind, EventSink};
use crate::model::CheckResult;
use crate::state::{ClusterRecord, StateError, StateStore};

/// How long describing a distribution may take (starting its plugin and
/// asking it for versions, configs and processes).
const DESCRIBE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

pub struct Runner {
    store: StateStore,
    /// The backends the engines use; capabilities shown come from it.
    registry: Registry,
    parallel: usize,
    messages: Sender<Msg>,
    cancel: Option<CancellationToken>,
    /// The running operation, awaited on shutdown so cancelling finishes
    /// recording state before the process exits.
    running: Option<tokio::task::JoinHandle<()>>,
    /// A refresh whose answer has not come yet: a slow or unreachable
    /// backend gets one refresh at a time, not one more every tick.
    refreshing: Option<tokio::task::JoinHandle<()>>,
    /// The live watch of the shown cluster's node states; cancelling it
    /// drops the backend's receiver, which ends the backend's watch.
    watching: Option<CancellationToken>,
}

impl Runner {
    pub fn new(store: StateStore, parallel: usize, messages: Sender<Msg>) -> Self {
        Self {
            store,
            registry: crate::plugin::registry(),
            parallel,
            messages,
            cancel: None,
            running: None,
            refreshing: None,
            watching: None,
        }
    }

    /// Cancels the running operation, if any, and waits (bounded) for it to
    /// stop its commands and record what exists.
    pub async fn shutdown(&mut self, patience: std::time::Duration) {
        if let Some(watch) = self.watching.take() {
            watch.cancel();
        }
        if let Some(cancel) = &self.cancel {
            cancel.cancel();
        }
        if let Some(task) = self.running.take()
            && tokio::time::timeout(patience, task).await.is_err()
        {
            tracing::warn!("the operation did not stop in time");
        }
    }

    fn engine(&self, cancel: CancellationToken) -> (Engine, crate::engine::EventReceiver) {
        let (sink, events) = EventSink::channel();
        (
            Engine::new(self.store.clone(), sink, cancel)
                .with_parallel(self.parallel)
                .with_registry(self.registry.clone()),
            events,
        )
    }

    pub fn execute(&mut self, command: Command) {
        tracing::debug!(?command, "runner");
        match command {
            Command::Start(operation) => self.start(operation),
            Command::Cancel => {
                if let Some(cancel) = &self.cancel {
                    cancel.cancel();
                }
            }
            Command::LoadClusters => {
                let store = self.store.clone();
                let registry = self.registry.clone();
                let messages = self.messages.clone();
                tokio::task::spawn_blocking(move || {
                    let message = match store.list() {
                        Ok(records) => Msg::Clusters(
                            records
                                .iter()
                                .filter_map(|record| match record {
                                    Ok(record) => Some(row_of(record, &registry)),
                                    Err(StateError::Damaged { name, .. }) => {
                                        Some(damaged_row(name))
                                    }
                                    Err(_) => None,
                                })
                                .collect(),
                        ),
                        Err(err) => Msg::Failed(format!("cannot list clusters: {err}")),
                    };
                    let _ = messages.blocking_send(message);
                });
            }
            Command::LoadBackends => {
                let registry = self.registry.clone();
                let messages = self.messages.clone();
                // Plugins are started and asked what they are: off the UI.
                tokio::task::spawn_blocking(move || {
                    let _ = messages.blocking_send(Msg::Backends(backend_rows(&registry)));
                });
            }
            Command::Attach(name) | Command::Refresh(name) if name.is_empty() => {}
            Command::Attach(name) => drop(self.load(name, true)),
            Command::Refresh(_)
                if self
                    .refreshing
                    .as_ref()
                    .is_some_and(|task| !task.is_finished()) =>
            {
                tracing::debug!("the previous refresh is still running");
            }
            Command::Refresh(name) => self.refreshing = Some(self.load(name, false)),
            Command::Watch(name) => self.watch(name),
            Command::LoadDistribution { cluster, request } => self.describe(cluster, request),
        }
    }

    /// Describes a cluster's distribution in a task of its own: a plugin
    /// distribution is started and asked, which may take a while or fail;
    /// the dashboard gets one message either way, and within a bounded time.
    fn describe(&self, cluster: String, request: u64) {
        let (engine, _events) = self.engine(CancellationToken::new());
        let store = self.store.clone();
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let described =
                tokio::time::timeout(DESCRIBE_PATIENCE, engine.describe_distribution(&cluster))
                    .await;
            let answer = match described {
                Ok(Ok(summary)) => Ok(summary),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err(format!(
                    "no answer within {} s",
                    DESCRIBE_PATIENCE.as_secs()
                )),
            }
            .map_err(|error| {
                let named = store
                    .load(&cluster)
                    .ok()
                    .and_then(|record| record.spec.install)
                    .map(|install| install.distribution);
                match named {
                    Some(name) => format!("distribution {name}: {error}"),
                    None => format!("distribution: {error}"),
                }
            });
            let _ = messages
                .send(Msg::Distribution {
                    cluster,
                    request,
                    answer,
                })
                .await;
        });
    }

    /// Follows one cluster's node states, in place of any earlier watch:
    /// each change becomes a message; the end of the watch is one too.
    fn watch(&mut self, cluster: String) {
        if let Some(earlier) = self.watching.take() {
            earlier.cancel();
        }
        let stop = CancellationToken::new();
        self.watching = Some(stop.clone());
        let (engine, _events) = self.engine(stop.clone());
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let ended = |reason: String| Msg::WatchEnded {
                cluster: cluster.clone(),
                reason,
                time: crate::engine::now(),
            };
            let mut changes = match engine.watch(&cluster).await {
                Ok(changes) => changes,
                Err(err) => {
                    let _ = messages.send(ended(err.to_string())).await;
                    return;
                }
            };
            let watching = Msg::Watching {
                cluster: cluster.clone(),
            };
            if messages.send(watching).await.is_err() {
                return;
            }
            loop {
                let message = tokio::select! {
                    () = stop.cancelled() => return,
                    change = changes.recv() => match change {
                        Some(Ok(change)) => Msg::NodeState {
                            cluster: cluster.clone(),
                            change,
                            time: crate::engine::now(),
                        },
                        Some(Err(err)) => ended(err.to_string()),
                        None => ended("the backend ended the watch".to_owned()),
                    },
                };
                let last = matches!(message, Msg::WatchEnded { .. });
                if messages.send(message).await.is_err() || last {
                    return;
                }
            }
        });
    }

    fn load(&self, name: String, attach: bool) -> tokio::task::JoinHandle<()> {
        let (engine, _events) = self.engine(CancellationToken::new());
        let messages = self.messages.clone();
        tokio::spawn(async move {
            let message = match engine.inspect(&name).await {
                Ok(record) if attach => {
                    // The last debugger results come along too, so an
                    // attach shows what the last `up`/`scale`/`debug` found.
                    let mut view = view_of(&record, engine.registry());
                    view.checks.extend(engine.last_debug_results(&name));
                    Msg::Attached(view)
                }
                Ok(record) => Msg::Refreshed(view_of(&record, engine.registry())),
                Err(err) if attach => Msg::Failed(format!("cannot show {name}: {err}")),
                Err(err) => {
                    tracing::warn!(%err, "refresh failed");
                    let gone = matches!(err, EngineError::State(StateError::UnknownCluster { .. }));
                    Msg::RefreshFailed {
                        cluster: name,
                        error: err.to_string(),
                        gone,
                        time: crate::engine::now(),
                    }
                }
            };
            let _ = messages.send(message).await;
        })
    }

    /// Runs one operation; its events are forwarded in order, then its end.
    fn start(&mut self, operation: Operation) {
        let cancel = CancellationToken::new();
        self.cancel = Some(cancel.clone());
        let (engine, mut events) = self.engine(cancel);
        let messages = self.messages.clone();
        let kind = operation.kind();
        let mut cluster = subject(&operation);
        self.running = Some(tokio::spawn(async move {
            // The engine lives in the task; when it ends, the event channel closes.
            let task = tokio::spawn(async move { engine.execute(operation).await });
            // Waiting on a full dashboard queue backs up into the engine's
            // bounded queue and from there into the nodes' pipes.
            while let Some(event) = events.recv().await {
                if let EventKind::OperationStarted { cluster: named, .. } = &event.kind {
                    // `up` knew only its spec path; now the cluster has a name.
                    cluster.clone_from(named);
                }
                if messages.send(Msg::Engine(event)).await.is_err() {
                    // The dashboard is gone: stop listening (the engine then
                    // drops its events) but let the operation record its state.
                    drop(events);
                    let _ = task.await;
                    return;
                }
            }
            let result = match task.await {
                Ok(Ok(report)) => Ok((report.outcome, report.summary.reason)),
                Ok(Err(err)) => Err(not_run(&err)),
                Err(err) => Err(NotRun::failed(format!(
                    "the operation stopped unexpectedly: {err}"
                ))),
            };
            let _ = messages
                .send(Msg::OperationDone {
                    operation: kind,
                    cluster,
                    result,
                })
                .await;
        }));
    }
}

/// Sorted as the CLI sorts engine errors, so the exit status matches a
/// headless run's.
fn not_run(err: &EngineError) -> NotRun {
    NotRun {
        error: err.to_string(),
        bad_input: matches!(
            err,
            EngineError::Invalid(_)
                | EngineError::State(
                    StateError::UnknownCluster { .. } | StateError::AlreadyExists { .. }
                )
        ),
    }
}

pub fn row_of(record: &ClusterRecord, registry: &Registry) -> ClusterRow {
    ClusterRow {
        name: record.name.clone(),
        backend: record.spec.backend.kind.clone(),
        nodes: record.nodes.len(),
        status: record.status.as_str().to_owned(),
        capabilities: registry.capability_names_at(
            &record.spec.backend.kind,
            record.spec.backend.path.as_deref(),
        ),
    }
}

/// The built-in backends, then every plugin found (a plugin with a
/// built-in's name is listed but never used: the built-in wins).
fn backend_rows(registry: &Registry) -> Vec<BackendRow> {
    let builtin = Registry::builtin().kinds();
    let mut rows: Vec<BackendRow> = builtin
        .iter()
        .map(|kind| BackendRow {
            name: kind.clone(),
            source: "built-in".to_owned(),
            version: String::new(),
            kinds: vec!["backend".to_owned()],
            capabilities: registry.capability_names(kind),
            error: None,
        })
        .collect();
    rows.extend(crate::plugin::describe_all().into_iter().map(
        |(found, described)| match described {
            Ok(description) => BackendRow {
                name: found.name,
                source: found.path.display().to_string(),
                version: description.version,
                kinds: description.kinds,
                capabilities: description.capabilities,
                error: None,
            },
            Err(err) => BackendRow {
                name: found.name,
                source: found.path.display().to_string(),
                version: String::new(),
                kinds: Vec::new(),
                capabilities: Vec::new(),
                error: Some(err.to_string()),
            },
        },
    ));
    rows
}

/// A cluster whose record cannot be read: listed so it can be destroyed.
fn damaged_row(name: &str) -> ClusterRow {
    ClusterRow {
        name: name.to_owned(),
        backend: "?".to_owned(),
        nodes: 0,
        status: "damaged".to_owned(),
        capabilities: Vec::new(),
    }
}

/// The dashboard's view of a recorded cluster, with the validator results
/// of the last operation (an attach adds the saved debugger results).
pub fn view_of(record: &ClusterRecord, registry: &Registry) -> ClusterView {
    let mut groups: Vec<String> = Vec::new();
    for group in &record.spec.node_groups {
        if !groups.contains(&group.name) {
            groups.push(group.name.clone());
        }
    }
    let nodes = record
        .nodes
        .iter()
        .map(|node| {
            let mut view = NodeView::planned(&node.name, &node.group, &node.roles);
            view.state = Some(node.state);
            view.address = node.addresses.join(" ");
            view
        })
        .collect();
    let checks = record
        .last_operation
        .iter()
        .flat_map(|last| last.summary.validators.iter())
        .map(CheckResult::from)
        .collect();
    ClusterView {
        name: record.name.clone(),
        backend: record.spec.backend.kind.clone(),
        status: record.status.as_str().to_owned(),
        capabilities: registry.capability_names_at(
            &record.spec.backend.kind,
            record.spec.backend.path.as_deref(),
        ),
        nodes,
        roles: record.spec.roles(),
        groups,
        checks,
    }
}
