//! Engine operations the dashboard drives: destroying one node, re-running
//! validators, on the real local backend.

use clusterdeck::backend::local::{NODE_DIR_ENV, labelled_pids};
use clusterdeck::engine::{Engine, EventKind, EventSink, Operation};
use clusterdeck::model::{CheckKind, CheckStatus, NodeState, Outcome};
use clusterdeck::spec::LoadedSpec;
use clusterdeck::state::StateStore;
use tokio_util::sync::CancellationToken;

fn spec(dir: &std::path::Path) -> LoadedSpec {
    let installer = dir.join("install.sh");
    std::fs::write(
        &installer,
        "#!/bin/sh\nsetsid sleep 300 </dev/null >/dev/null 2>&1 &\necho started\n",
    )
    .expect("installer");
    let mut perms = std::fs::metadata(&installer).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&installer, perms).expect("chmod");
    let path = dir.join("spec.yaml");
    std::fs::write(
        &path,
        "name: pieces\nnode_groups: [{ name: a, count: 3, roles: [x] }]\ninstall: { from: install.sh }\nchecks:\n  validators: [{ rule: role-count, role: x, min: 1 }]\n  debuggers: [{ name: here, roles: [x], run: \"echo here\", expect: \"^here$\", timeout: 10s }]\n",
    )
    .expect("spec");
    LoadedSpec::from_file(&path).expect("valid")
}

#[tokio::test]
async fn destroy_one_node_then_revalidate_then_destroy_the_rest() {
    let dir = tempfile::tempdir().expect("dir");
    let loaded = spec(dir.path());
    let store = StateStore::new(dir.path().join("state"));
    let (sink, mut events) = EventSink::channel();
    let engine = Engine::new(store.clone(), sink, CancellationToken::new());
    let collector = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(event) = events.recv().await {
            all.push(event);
        }
        all
    });

    assert_eq!(
        engine
            .execute(Operation::Up {
                spec: loaded.path.clone()
            })
            .await
            .expect("up")
            .outcome,
        Outcome::Succeeded
    );
    let record = store.load("pieces").expect("record");
    let victim = record.nodes[1].clone();
    assert!(
        !labelled_pids(NODE_DIR_ENV, &victim.id).is_empty(),
        "its daemon runs"
    );

    let report = engine
        .execute(Operation::DestroyNode {
            cluster: "pieces".into(),
            node: victim.name.clone(),
        })
        .await
        .expect("destroy-node");
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert!(
        !std::path::Path::new(&victim.id).exists(),
        "its directory is gone"
    );
    assert!(
        labelled_pids(NODE_DIR_ENV, &victim.id).is_empty(),
        "its daemon was stopped"
    );
    let record = store.load("pieces").expect("record");
    let states: Vec<NodeState> = record.nodes.iter().map(|node| node.state).collect();
    assert_eq!(
        states,
        vec![NodeState::Running, NodeState::Destroyed, NodeState::Running]
    );
    // Debuggers judge the nodes that are left, not the destroyed one.
    let report = engine
        .execute(Operation::Debug {
            cluster: "pieces".into(),
        })
        .await
        .expect("debug after destroy-node");
    assert_eq!(report.outcome, Outcome::Succeeded, "{report:?}");
    let judged: usize = report
        .summary
        .results
        .iter()
        .map(|result| result.node_count)
        .sum();
    assert_eq!(judged, 2, "{:?}", report.summary.results);
    assert!(
        report
            .summary
            .results
            .iter()
            .all(|result| result.status == CheckStatus::Pass && result.nodes == "a-[1,3]"),
        "{:?}",
        report.summary.results
    );
    assert!(
        engine
            .execute(Operation::DestroyNode {
                cluster: "pieces".into(),
                node: "a-9".into()
            })
            .await
            .is_err(),
        "an unknown node is refused"
    );

    let report = engine
        .execute(Operation::Validate {
            cluster: "pieces".into(),
        })
        .await
        .expect("revalidate");
    assert_eq!(report.outcome, Outcome::Succeeded);
    assert!(
        report
            .summary
            .validators
            .iter()
            .any(|outcome| outcome.name == "role-count(x)")
    );

    assert_eq!(
        engine
            .execute(Operation::Destroy {
                cluster: "pieces".into()
            })
            .await
            .expect("destroy")
            .outcome,
        Outcome::Succeeded
    );
    for node in &record.nodes {
        assert!(labelled_pids(NODE_DIR_ENV, &node.id).is_empty());
        assert!(!std::path::Path::new(&node.id).exists());
    }
    drop(engine);
    let events = collector.await.expect("events");
    let validator_results = events
        .iter()
        .filter(|event| matches!(&event.kind, EventKind::CheckResult { result } if result.kind == CheckKind::Validator))
        .count();
    assert!(
        validator_results >= 2 * 6,
        "up and revalidate both report validators"
    );
}

#[tokio::test]
async fn revalidate_points_into_the_spec_file_only_while_it_is_unchanged() {
    let dir = tempfile::tempdir().expect("dir");
    let loaded = spec(dir.path());
    let store = StateStore::new(dir.path().join("state"));
    let (sink, _events) = EventSink::channel();
    let engine = Engine::new(store.clone(), sink, CancellationToken::new());
    assert_eq!(
        engine
            .execute(Operation::Up {
                spec: loaded.path.clone()
            })
            .await
            .expect("up")
            .outcome,
        Outcome::Succeeded
    );
    std::fs::remove_file(dir.path().join("install.sh")).expect("remove installer");
    let install_failure = |report: clusterdeck::engine::OperationReport| {
        report
            .summary
            .validators
            .into_iter()
            .find(|outcome| outcome.name == "install-source")
            .expect("install-source ran")
    };

    let failure = install_failure(
        engine
            .execute(Operation::Validate {
                cluster: "pieces".into(),
            })
            .await
            .expect("revalidate"),
    );
    assert_eq!(failure.field.as_deref(), Some("install.from"));
    let location = failure.location.expect("located in the unchanged file");
    assert_eq!((location.line, location.column), (3, 18));
    assert_eq!(location.file, loaded.path.display().to_string());

    let edited = std::fs::read_to_string(&loaded.path)
        .expect("spec")
        .replace("min: 1", "min: 2");
    std::fs::write(&loaded.path, edited).expect("edit spec");
    let failure = install_failure(
        engine
            .execute(Operation::Validate {
                cluster: "pieces".into(),
            })
            .await
            .expect("revalidate"),
    );
    assert_eq!(failure.field.as_deref(), Some("install.from"));
    assert_eq!(
        failure.location, None,
        "the edited file says something else"
    );

    assert_eq!(
        engine
            .execute(Operation::Destroy {
                cluster: "pieces".into()
            })
            .await
            .expect("destroy")
            .outcome,
        Outcome::Succeeded
    );
}
