//! `destroy` against the in-memory fake backend: waves (nodes before the
//! cluster network that is in use while they exist), a resource that stays
//! in use (reported, cluster kept), NotFound counted as gone, and a crash
//! between an intent and its id.

mod fake;

use clusterdeck::engine::{EventKind, Operation};
use clusterdeck::model::{BackendFailureKind, Outcome, ResourceScope};
use clusterdeck::state::StateStore;
use fake::{Script, collect, engine, spawn_up, spec};
use tokio_util::sync::CancellationToken;

fn position(calls: &[String], prefix: &str) -> Vec<usize> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, call)| call.starts_with(prefix))
        .map(|(at, _)| at)
        .collect()
}

#[tokio::test]
async fn nodes_go_in_one_batch_before_the_network_they_use() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        ..Script::default()
    });
    let (engine, events) = engine(&store, fake.clone(), CancellationToken::new());
    let up = engine
        .execute(Operation::Up {
            spec: spec(dir.path(), "waves", &[("a", 2), ("b", 1)]).path,
        })
        .await
        .expect("up");
    assert_eq!(up.outcome, Outcome::Succeeded);
    fake.cloud.lock().expect("cloud").calls.clear();

    let report = engine
        .execute(Operation::Destroy {
            cluster: "waves".into(),
        })
        .await
        .expect("destroy runs");
    drop(engine);
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert!(fake.cloud.lock().expect("cloud").resources.is_empty());
    assert!(store.try_load("waves").expect("read").is_none());

    let calls = fake.cloud.lock().expect("cloud").calls.clone();
    assert_eq!(
        position(&calls, "destroy_nodes"),
        vec![0],
        "the nodes go in one batch, first: {calls:?}"
    );
    assert_eq!(calls[0], "destroy_nodes a-1,a-2,b-1");
    assert_eq!(calls[1..], ["destroy_resource network net -> ok"]);

    let events = collect(events).await;
    let destroyed: Vec<String> = events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::NodeDestroyed { node } => Some(node.clone()),
            EventKind::ResourceDestroyed { kind, key, scope } => {
                assert_eq!(*scope, ResourceScope::Cluster);
                Some(format!("{kind} {key}"))
            }
            _ => None,
        })
        .collect();
    assert_eq!(destroyed, ["a-1", "a-2", "b-1", "network net"]);
}

#[tokio::test]
async fn a_resource_that_stays_in_use_is_retried_reported_and_the_cluster_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        network_stuck: true,
        ..Script::default()
    });
    let (engine, _events) = engine(&store, fake.clone(), CancellationToken::new());
    engine
        .execute(Operation::Up {
            spec: spec(dir.path(), "stuck", &[("a", 2)]).path,
        })
        .await
        .expect("up");

    let report = engine
        .execute(Operation::Destroy {
            cluster: "stuck".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(report.outcome, Outcome::Failed);
    let [leftover] = report.summary.leftovers.as_slice() else {
        panic!(
            "exactly the network is left: {:?}",
            report.summary.leftovers
        );
    };
    assert_eq!(
        (
            leftover.kind.as_str(),
            leftover.key.as_str(),
            leftover.error.kind
        ),
        ("network", "net", BackendFailureKind::InUse)
    );
    assert_eq!(leftover.scope, ResourceScope::Cluster);
    assert!(
        leftover
            .id
            .as_deref()
            .is_some_and(|id| id.starts_with("net-")),
        "the id is reported: {leftover:?}"
    );
    let reason = report.summary.reason.clone().unwrap_or_default();
    assert!(reason.contains("network net"), "{reason}");
    assert!(reason.contains("kept"), "{reason}");

    let calls = fake.cloud.lock().expect("cloud").calls.clone();
    let attempts = position(&calls, "destroy_resource network net -> in_use");
    assert!(attempts.len() > 1, "retried: {calls:?}");
    let last_batch = *position(&calls, "destroy_nodes")
        .last()
        .expect("nodes destroyed");
    assert!(attempts.iter().all(|at| *at > last_batch), "{calls:?}");

    // The nodes are gone for good; only the network is left to retry.
    let record = store.load("stuck").expect("the cluster is kept");
    assert!(
        record
            .nodes
            .iter()
            .all(|node| node.state == clusterdeck::model::NodeState::Destroyed)
    );
    let outstanding: Vec<String> = store
        .outstanding("stuck")
        .expect("ledger")
        .into_iter()
        .map(|resource| resource.resource.key)
        .collect();
    assert_eq!(outstanding, ["net"]);
}

#[tokio::test]
async fn what_is_already_gone_counts_as_destroyed() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        ..Script::default()
    });
    let (engine, _events) = engine(&store, fake.clone(), CancellationToken::new());
    engine
        .execute(Operation::Up {
            spec: spec(dir.path(), "vanished", &[("a", 2)]).path,
        })
        .await
        .expect("up");
    {
        // Removed behind clusterdeck's back: an instance and the network.
        let mut cloud = fake.cloud.lock().expect("cloud");
        cloud.resources.remove("a-2");
        cloud.resources.remove("net");
    }
    let report = engine
        .execute(Operation::Destroy {
            cluster: "vanished".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert!(store.try_load("vanished").expect("read").is_none());
    let calls = fake.cloud.lock().expect("cloud").calls.clone();
    assert!(
        calls.contains(&"destroy_resource network net -> not_found".to_owned()),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_crash_between_intent_and_id_still_leaves_destroy_the_resource() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        hang_after_intent: Some("a-2"),
        ..Script::default()
    });
    let (engine, _events) = engine(&store, fake.clone(), CancellationToken::new());
    let loaded = spec(dir.path(), "crashed", &[("a", 3)]);
    let up = spawn_up(&engine, loaded);
    fake.reached.notified().await;
    // The process "dies" here: nothing more is written.
    up.abort();
    assert!(up.await.expect_err("aborted").is_cancelled());

    let journal = store.outstanding("crashed").expect("ledger");
    let a2 = journal
        .iter()
        .find(|resource| resource.resource.key == "a-2")
        .expect("a-2's intent is journalled");
    assert_eq!(a2.id, None, "its id never was");
    assert!(
        fake.cloud
            .lock()
            .expect("cloud")
            .resources
            .contains_key("a-2"),
        "but it exists"
    );

    let report = engine
        .execute(Operation::Destroy {
            cluster: "crashed".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert!(fake.cloud.lock().expect("cloud").resources.is_empty());
    assert!(store.try_load("crashed").expect("read").is_none());
    let calls = fake.cloud.lock().expect("cloud").calls.clone();
    let network = position(&calls, "destroy_resource network");
    let instances = position(&calls, "destroy_resource instance");
    assert_eq!(
        instances.len(),
        2,
        "a-1 and a-2, from the journal: {calls:?}"
    );
    assert!(
        instances
            .iter()
            .all(|at| network.iter().all(|net| at < net))
    );
}
