//! `Engine::execute` against an injected registry: each operation reaches
//! the backend the registry holds (never a built-in behind its back), and
//! scale is refused before anything is touched when it cannot be done.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use clusterdeck::backend::local::LocalBackend;
use clusterdeck::backend::{
    Backend, BackendContext, BackendError, GcContext, NodeResults, Registry,
};
use clusterdeck::engine::{Engine, EngineError, Event, EventKind, EventSink, Operation, Target};
use clusterdeck::model::{
    BackendInfo, Endpoint, GroupRequest, LabelledResource, Node, NodeOutcome, OperationKind,
    Outcome, PowerAction, ResourceRef,
};
use clusterdeck::state::{StateError, StateStore};
use tokio_util::sync::CancellationToken;

/// The local backend under another kind, with chosen capabilities, noting
/// every node it is asked to create or destroy.
struct RecordingBackend {
    kind: &'static str,
    scale: bool,
    calls: Arc<Mutex<Vec<String>>>,
}

impl RecordingBackend {
    fn note(&self, call: String) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(call);
        }
    }
}

#[async_trait]
impl Backend for RecordingBackend {
    fn info(&self) -> BackendInfo {
        let mut info = LocalBackend.info();
        info.kind = self.kind.to_owned();
        info.capabilities.scale = self.scale;
        info
    }
    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        for node in &group.nodes {
            self.note(format!("create {}", node.name));
        }
        LocalBackend.create_group(ctx, group).await
    }
    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        for node in nodes {
            self.note(format!("destroy {}", node.name));
        }
        LocalBackend.destroy_nodes(ctx, nodes).await
    }
    async fn discover(
        &self,
        ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        LocalBackend.discover(ctx, known).await
    }
    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        self.note(format!("destroy-resource {}", resource.key));
        LocalBackend.destroy_resource(ctx, resource, id).await
    }
    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        LocalBackend.endpoint(ctx, node).await
    }
    async fn power(
        &self,
        ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        for node in nodes {
            self.note(format!("{action:?} {}", node.name).to_lowercase());
        }
        LocalBackend.power(ctx, nodes, action).await
    }
    async fn list_labelled(&self, ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        LocalBackend.list_labelled(ctx).await
    }
}

struct Setup {
    dir: tempfile::TempDir,
    store: StateStore,
    calls: Arc<Mutex<Vec<String>>>,
    registry: Registry,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let store = StateStore::new(dir.path().join("state"));
        let calls = Arc::new(Mutex::new(Vec::new()));
        let registry = Registry::empty()
            .with(Arc::new(RecordingBackend {
                kind: "grower",
                scale: true,
                calls: calls.clone(),
            }))
            .with(Arc::new(RecordingBackend {
                kind: "fixed",
                scale: false,
                calls: calls.clone(),
            }));
        Self {
            dir,
            store,
            calls,
            registry,
        }
    }

    fn spec(&self, name: &str, kind: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "name: {name}\nbackend: {kind}\nnode_groups: [{{ name: w, count: 2, roles: [x] }}]\nchecks:\n  debuggers: [{{ name: here, run: 'test -d .', roles: [x] }}]\n"
            ),
        )
        .expect("spec");
        path
    }

    /// Runs one operation; returns its result and the events it emitted.
    async fn execute(
        &self,
        operation: Operation,
    ) -> (
        Result<clusterdeck::engine::OperationReport, EngineError>,
        Vec<Event>,
    ) {
        let (sink, mut receiver) = EventSink::channel();
        let engine = Engine::new(self.store.clone(), sink, CancellationToken::new())
            .with_registry(self.registry.clone());
        let result = engine.execute(operation).await;
        drop(engine);
        let mut events = Vec::new();
        while let Some(event) = receiver.recv().await {
            events.push(event);
        }
        (result, events)
    }

    fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .map(|mut calls| std::mem::take(&mut *calls))
            .unwrap_or_default()
    }
}

fn started_kind(events: &[Event]) -> Option<OperationKind> {
    events.iter().find_map(|event| match &event.kind {
        EventKind::OperationStarted { operation, .. } => Some(*operation),
        _ => None,
    })
}

fn invalid(result: Result<clusterdeck::engine::OperationReport, EngineError>) -> String {
    match result {
        Err(EngineError::Invalid(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn execute_routes_each_operation_to_the_injected_backend() {
    let setup = Setup::new();
    let spec = setup.spec("grow", "grower");
    let cluster = || "grow".to_owned();

    let operations = [
        (
            Operation::Up { spec: spec.clone() },
            vec!["create w-1", "create w-2"],
        ),
        (
            Operation::Scale {
                cluster: cluster(),
                group: "w".into(),
                count: 4,
            },
            vec!["create w-3", "create w-4"],
        ),
        (
            Operation::Scale {
                cluster: cluster(),
                group: "w".into(),
                count: 1,
            },
            vec!["destroy w-4", "destroy w-3", "destroy w-2"],
        ),
        (Operation::Debug { cluster: cluster() }, vec![]),
        (
            Operation::Run {
                cluster: cluster(),
                target: Target::All,
                command: "true".into(),
                timeout: None,
            },
            vec![],
        ),
        (Operation::Validate { cluster: cluster() }, vec![]),
        (
            Operation::DestroyNode {
                cluster: cluster(),
                node: "w-1".into(),
            },
            vec!["destroy w-1"],
        ),
    ];
    for (operation, expected_calls) in operations {
        let kind = operation.kind();
        let (result, events) = setup.execute(operation.clone()).await;
        let report = result.unwrap_or_else(|err| panic!("{operation:?}: {err}"));
        assert_eq!(
            report.outcome,
            Outcome::Succeeded,
            "{operation:?}: {report:?}"
        );
        assert_eq!(started_kind(&events), Some(kind), "{operation:?}");
        let mut calls = setup.calls();
        if kind == OperationKind::Scale || kind == OperationKind::Up {
            calls.sort();
            let mut expected = expected_calls.clone();
            expected.sort();
            assert_eq!(calls, expected, "{operation:?}");
        } else {
            assert_eq!(calls, expected_calls, "{operation:?}");
        }
        if kind == OperationKind::Scale {
            let record = setup.store.load("grow").expect("record");
            let live = record
                .nodes
                .iter()
                .filter(|node| node.state != clusterdeck::model::NodeState::Destroyed)
                .count();
            assert_eq!(
                record.group_size("w"),
                Some(u32::try_from(live).expect("fits"))
            );
        }
    }
    // destroy-node keeps the record's group size true as well.
    assert_eq!(
        setup.store.load("grow").expect("record").group_size("w"),
        Some(0)
    );

    let (result, events) = setup
        .execute(Operation::Destroy { cluster: cluster() })
        .await;
    assert_eq!(result.expect("destroy").outcome, Outcome::Succeeded);
    assert_eq!(started_kind(&events), Some(OperationKind::Destroy));
    assert!(setup.store.try_load("grow").expect("read").is_none());
}

#[tokio::test]
async fn scale_is_refused_before_anything_is_touched() {
    let setup = Setup::new();
    let (up, _) = setup
        .execute(Operation::Up {
            spec: setup.spec("grow", "grower"),
        })
        .await;
    assert_eq!(up.expect("up").outcome, Outcome::Succeeded);
    let (up, _) = setup
        .execute(Operation::Up {
            spec: setup.spec("still", "fixed"),
        })
        .await;
    assert_eq!(up.expect("up").outcome, Outcome::Succeeded);
    setup.calls();
    let scale = |cluster: &str, group: &str, count: u32| Operation::Scale {
        cluster: cluster.into(),
        group: group.into(),
        count,
    };

    let (result, events) = setup.execute(scale("nosuch", "w", 3)).await;
    assert!(
        matches!(
            result,
            Err(EngineError::State(StateError::UnknownCluster { .. }))
        ),
        "{result:?}"
    );
    assert!(events.is_empty());
    let (result, _) = setup.execute(scale("grow", "db", 3)).await;
    assert_eq!(
        invalid(result),
        "cluster grow has no group \"db\"; groups: w"
    );
    let (result, _) = setup.execute(scale("grow", "w", 10_001)).await;
    assert_eq!(
        invalid(result),
        "a group has 0 to 10000 nodes; 10001 is out of range"
    );
    let (result, _) = setup.execute(scale("still", "w", 3)).await;
    assert_eq!(
        invalid(result),
        "backend fixed cannot scale (it can: create, destroy, install-from-path, install-from-url, stop-start, gc)"
    );
    let (result, events) = setup.execute(scale("grow", "w", 2)).await;
    assert_eq!(result.expect("nothing to do").outcome, Outcome::Succeeded);
    assert!(events.iter().any(|event| matches!(
        &event.kind,
        EventKind::Warning { message, .. } if message.contains("nothing to do")
    )));
    assert!(
        setup.calls().is_empty(),
        "no refused scale reached the backend"
    );
    let record = setup.store.load("grow").expect("record");
    assert_eq!(record.group_size("w"), Some(2));
    assert_eq!(record.nodes.len(), 2);

    // Stop and start go to the backend's `power` for the running nodes; a
    // stopped cluster refuses scale and run until it is started again.
    let (result, events) = setup
        .execute(Operation::Stop {
            cluster: "grow".into(),
        })
        .await;
    assert_eq!(result.expect("stop").outcome, Outcome::Succeeded);
    assert_eq!(started_kind(&events), Some(OperationKind::Stop));
    let mut calls = setup.calls();
    calls.sort();
    assert_eq!(calls, vec!["stop w-1", "stop w-2"]);
    let record = setup.store.load("grow").expect("record");
    assert_eq!(record.status.as_str(), "stopped");
    assert!(
        record
            .nodes
            .iter()
            .all(|node| node.state == clusterdeck::model::NodeState::Stopped)
    );
    let (result, _) = setup
        .execute(Operation::Stop {
            cluster: "grow".into(),
        })
        .await;
    assert_eq!(invalid(result), "cluster grow is already stopped");
    let (result, _) = setup.execute(scale("grow", "w", 3)).await;
    assert!(invalid(result).contains("is stopped"));
    let (result, _) = setup
        .execute(Operation::Run {
            cluster: "grow".into(),
            target: Target::All,
            command: "true".into(),
            timeout: None,
        })
        .await;
    assert!(invalid(result).contains("`clusterdeck start grow` resumes it"));
    assert!(setup.calls().is_empty(), "refused while stopped");
    let (result, events) = setup
        .execute(Operation::Start {
            cluster: "grow".into(),
        })
        .await;
    assert_eq!(result.expect("start").outcome, Outcome::Succeeded);
    assert_eq!(started_kind(&events), Some(OperationKind::Start));
    let mut calls = setup.calls();
    calls.sort();
    assert_eq!(calls, vec!["start w-1", "start w-2"]);
    assert_eq!(
        setup.store.load("grow").expect("record").status.as_str(),
        "ready"
    );
    let (result, _) = setup
        .execute(Operation::Start {
            cluster: "grow".into(),
        })
        .await;
    assert_eq!(invalid(result), "cluster grow is not stopped (it is ready)");

    for cluster in ["grow", "still"] {
        let (result, _) = setup
            .execute(Operation::Destroy {
                cluster: cluster.into(),
            })
            .await;
        assert_eq!(result.expect("destroy").outcome, Outcome::Succeeded);
    }
}

#[tokio::test]
async fn scale_on_existing_machines_is_refused_by_the_ssh_backend() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let record = clusterdeck::backend::ssh::adhoc_record(
        "fleet",
        &["127.0.0.1".to_owned(), "localhost".to_owned()],
        Default::default(),
    )
    .expect("record");
    drop(
        store
            .lock("fleet", clusterdeck::state::LockMode::Exclusive)
            .expect("lock"),
    );
    store.save(&record).expect("save");
    // Read back, an ssh record has its group's size from its spec.
    assert_eq!(
        store.load("fleet").expect("load").group_size("hosts"),
        Some(2)
    );

    let (sink, _events) = EventSink::channel();
    let engine = Engine::new(store, sink, CancellationToken::new());
    let result = engine
        .execute(Operation::Scale {
            cluster: "fleet".into(),
            group: "hosts".into(),
            count: 3,
        })
        .await;
    let message = invalid(result);
    assert!(message.starts_with("backend ssh cannot scale"), "{message}");
    assert_eq!(
        engine.capabilities("ssh").map(|caps| caps.scale),
        Some(false)
    );
}
