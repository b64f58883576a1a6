//! `up` against the in-memory fake backend: one `create_group` call per
//! group, results node by node, failures kept to their nodes, and a cancel
//! honoured while a group is being created.

mod fake;

use clusterdeck::engine::{EventKind, Operation};
use clusterdeck::model::{NodeState, Outcome, StepStatus};
use clusterdeck::state::StateStore;
use fake::{Script, collect, engine, spawn_up, spec};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn each_group_is_one_call_and_failed_nodes_fail_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        fail_nodes: vec!["b-2"],
        network: true,
        ..Script::default()
    });
    let (engine, events) = engine(&store, fake.clone(), CancellationToken::new());
    let report = engine
        .execute(Operation::Up {
            spec: spec(dir.path(), "groups", &[("a", 2), ("b", 3)]).path,
        })
        .await
        .expect("up runs");
    drop(engine);
    let events = collect(events).await;

    assert_eq!(report.outcome, Outcome::Failed);
    let failures: Vec<(&str, &str, &str)> = report
        .summary
        .failures
        .iter()
        .map(|failure| {
            (
                failure.node.as_str(),
                failure.step.as_str(),
                failure.error.as_str(),
            )
        })
        .collect();
    assert_eq!(failures, vec![("b-2", "create", "quota exceeded")]);

    let calls = fake.cloud.lock().expect("cloud").calls.clone();
    assert_eq!(calls[0], "prepare", "{calls:?}");
    let mut groups: Vec<&str> = calls[1..].iter().map(String::as_str).collect();
    groups.sort_unstable();
    assert_eq!(groups, vec!["create_group a", "create_group b"]);

    let record = store.load("groups").expect("record");
    let states: Vec<(&str, NodeState)> = record
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node.state))
        .collect();
    assert_eq!(
        states,
        vec![
            ("a-1", NodeState::Running),
            ("a-2", NodeState::Running),
            ("b-1", NodeState::Running),
            ("b-2", NodeState::Failed),
            ("b-3", NodeState::Running),
        ]
    );
    // The failed node's intent is journalled, so destroy will look for it.
    let mut journalled: Vec<String> = store
        .outstanding("groups")
        .expect("ledger")
        .into_iter()
        .map(|resource| format!("{} {}", resource.resource.kind, resource.resource.key))
        .collect();
    journalled.sort();
    assert_eq!(
        journalled,
        [
            "instance a-1",
            "instance a-2",
            "instance b-1",
            "instance b-2",
            "instance b-3",
            "network net"
        ]
    );

    // Per node: started, then finished (ok or failed with the error), and
    // NodeCreated only for those created.
    for node in ["a-1", "a-2", "b-1", "b-2", "b-3"] {
        let finished: Vec<(StepStatus, Option<String>)> = events
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::StepFinished {
                    node: at,
                    step,
                    status,
                    error,
                    ..
                } if at == node && step == "create" => Some((*status, error.clone())),
                _ => None,
            })
            .collect();
        let created = events.iter().any(
            |event| matches!(&event.kind, EventKind::NodeCreated { node: made } if made.name == node),
        );
        if node == "b-2" {
            assert_eq!(
                finished,
                vec![(StepStatus::Failed, Some("quota exceeded".to_owned()))]
            );
            assert!(!created);
        } else {
            assert_eq!(finished, vec![(StepStatus::Ok, None)], "{node}");
            assert!(created, "{node}");
        }
    }
}

#[tokio::test]
async fn a_cancel_during_a_group_stops_it_and_destroy_removes_what_was_made() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let cancel = CancellationToken::new();
    let fake = fake::fake(Script {
        pause_after: Some("a-1"),
        ..Script::default()
    });
    let (engine, events) = engine(&store, fake.clone(), cancel.clone());
    let loaded = spec(dir.path(), "stopped", &[("a", 3)]);
    let up = spawn_up(&engine, loaded);
    fake.reached.notified().await;
    cancel.cancel();
    let report = up.await.expect("joins").expect("up runs");
    assert_eq!(report.outcome, Outcome::Cancelled);

    let record = store.load("stopped").expect("record");
    let states: Vec<NodeState> = record.nodes.iter().map(|node| node.state).collect();
    assert_eq!(
        states,
        vec![NodeState::Running, NodeState::Failed, NodeState::Failed],
        "a-1 was made before the cancel, the others never were"
    );
    assert_eq!(
        fake.cloud
            .lock()
            .expect("cloud")
            .resources
            .keys()
            .collect::<Vec<_>>(),
        vec!["a-1"]
    );

    // A fresh engine (the old one's token is cancelled) destroys it.
    let (destroyer, destroy_events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let destroyed = destroyer
        .execute(Operation::Destroy {
            cluster: "stopped".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(destroyed.outcome, Outcome::Succeeded);
    assert!(fake.cloud.lock().expect("cloud").resources.is_empty());
    assert!(store.try_load("stopped").expect("read").is_none());
    drop((engine, destroyer));
    let cancelled_steps = collect(events)
        .await
        .iter()
        .filter(|event| {
            matches!(
                &event.kind,
                EventKind::StepFinished {
                    status: StepStatus::Cancelled,
                    ..
                }
            )
        })
        .count();
    assert_eq!(cancelled_steps, 2, "a-2 and a-3 are reported cancelled");
    drop(collect(destroy_events).await);
}
