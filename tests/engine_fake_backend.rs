//! The engine against a fake backend: node creation fails on one node, and
//! the rest of the cluster still comes up and is reported node by node.

use std::sync::Arc;

use async_trait::async_trait;
use clusterdeck::backend::local::LocalBackend;
use clusterdeck::backend::{
    Backend, BackendError, Capabilities, ClusterContext, NodePlan, OptionSpec, Registry,
};
use clusterdeck::engine::{Engine, Event, EventKind, EventSink, Operation};
use clusterdeck::model::{Node, NodeState, Outcome, StepStatus};
use clusterdeck::spec::LoadedSpec;
use clusterdeck::state::{OutstandingResource, StateStore};
use clusterdeck::transport::Transport;
use tokio_util::sync::CancellationToken;

/// The local backend, except that creating `fail_on` fails after the intent
/// is recorded, as a cloud API error would.
struct FlakyBackend {
    inner: LocalBackend,
    fail_on: &'static str,
}

#[async_trait]
impl Backend for FlakyBackend {
    fn kind(&self) -> &str {
        "flaky"
    }
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn option_schema(&self) -> Vec<OptionSpec> {
        self.inner.option_schema()
    }
    async fn create_node(
        &self,
        ctx: &ClusterContext,
        plan: &NodePlan,
    ) -> Result<Node, BackendError> {
        if plan.name == self.fail_on {
            ctx.ledger.intent("node-dir", &plan.name)?;
            return Err(BackendError::Other("quota exceeded".to_owned()));
        }
        self.inner.create_node(ctx, plan).await
    }
    async fn destroy_node(&self, ctx: &ClusterContext, node: &Node) -> Result<(), BackendError> {
        self.inner.destroy_node(ctx, node).await
    }
    async fn discover(
        &self,
        ctx: &ClusterContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        self.inner.discover(ctx, known).await
    }
    async fn destroy_resource(
        &self,
        ctx: &ClusterContext,
        resource: &OutstandingResource,
    ) -> Result<(), BackendError> {
        self.inner.destroy_resource(ctx, resource).await
    }
    async fn sweep(&self, ctx: &ClusterContext) -> Result<usize, BackendError> {
        self.inner.sweep(ctx).await
    }
    fn transport(
        &self,
        ctx: &ClusterContext,
        node: &Node,
        env: Vec<(String, String)>,
    ) -> Result<Arc<dyn Transport>, BackendError> {
        self.inner.transport(ctx, node, env)
    }
}

fn spec(dir: &std::path::Path) -> LoadedSpec {
    std::fs::write(
        dir.join("install.sh"),
        "#!/bin/sh\necho installed $CLUSTERDECK_NODE\n",
    )
    .expect("installer");
    let mut perms = std::fs::metadata(dir.join("install.sh"))
        .expect("meta")
        .permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.join("install.sh"), perms).expect("chmod");
    let path = dir.join("spec.yaml");
    std::fs::write(
        &path,
        "name: flaky\nbackend: flaky\nnode_groups: [{ name: b, count: 3, roles: [x] }]\ninstall: { from: install.sh }\n",
    )
    .expect("spec");
    LoadedSpec::from_file(&path).expect("valid spec")
}

async fn collect(mut events: clusterdeck::engine::EventReceiver) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    all
}

#[tokio::test]
async fn a_node_that_cannot_be_created_fails_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let loaded = spec(dir.path());
    let store = StateStore::new(dir.path().join("state"));
    let (sink, events) = EventSink::channel();
    let engine = Engine::new(store.clone(), sink, CancellationToken::new()).with_registry(
        Registry::empty().with(Arc::new(FlakyBackend {
            inner: LocalBackend,
            fail_on: "b-2",
        })),
    );
    let collector = tokio::spawn(collect(events));
    let report = engine
        .execute(Operation::Up {
            spec: loaded.path.clone(),
        })
        .await
        .expect("up runs");
    let destroy_engine = engine.clone();
    drop(engine);

    assert_eq!(report.outcome, Outcome::Failed);
    assert_eq!(report.summary.failures.len(), 1);
    assert_eq!(report.summary.failures[0].node, "b-2");
    assert_eq!(report.summary.failures[0].step, "create");
    assert_eq!(report.summary.failures[0].error, "quota exceeded");

    let record = store.load("flaky").expect("record");
    let states: Vec<(&str, NodeState)> = record
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("b-1", NodeState::Running),
            ("b-2", NodeState::Failed),
            ("b-3", NodeState::Running)
        ]
    );

    // Destroy clears the created nodes and the intent-only one alike.
    let destroyed = destroy_engine
        .execute(Operation::Destroy {
            cluster: "flaky".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(destroyed.outcome, Outcome::Succeeded);
    assert!(store.try_load("flaky").expect("read").is_none());
    drop(destroy_engine);

    let events = collector.await.expect("events");
    let installed: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::StepFinished {
                node,
                step,
                status: StepStatus::Ok,
                ..
            } if step == "install:x" => Some(node.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(installed.len(), 2, "{installed:?}");
    assert!(!installed.contains(&"b-2"));
    // Every step that starts also finishes.
    let started = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::StepStarted { .. }))
        .count();
    let finished = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::StepFinished { .. }))
        .count();
    assert_eq!(started, finished);
    assert!(matches!(events[0].kind, EventKind::OperationStarted { .. }));
    let destroyed_nodes = events
        .iter()
        .filter(|event| matches!(event.kind, EventKind::NodeDestroyed { .. }))
        .count();
    assert_eq!(destroyed_nodes, 3);
}
