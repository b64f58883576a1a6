//! `gc` against the in-memory fake backend after a crash between an intent
//! and its id: with the cluster's state directory deleted, the labelled
//! resources are orphans gc lists (dry run) and removes (apply), instances
//! before the network they keep in use; with the state directory intact gc
//! leaves them to the cluster's own destroy; and beside a live cluster gc
//! removes only the orphan's.

mod fake;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use clusterdeck::engine::{Engine, EventKind, EventReceiver, Operation, OperationReport};
use clusterdeck::model::Outcome;
use clusterdeck::state::StateStore;
use fake::{FakeBackend, Script, collect, spawn_up, spec};
use tokio_util::sync::CancellationToken;

fn position(calls: &[String], prefix: &str) -> Vec<usize> {
    calls
        .iter()
        .enumerate()
        .filter(|(_, call)| call.starts_with(prefix))
        .map(|(at, _)| at)
        .collect()
}

/// Runs `up` of `name` (groups `a: 3`) until the fake has created `a-2` in
/// its cloud but before its id is journalled, then aborts it as a crash
/// would. Returns the cluster's uid, read from its identity.
async fn crash_between_intent_and_id(
    engine: &Engine,
    fake: &Arc<FakeBackend>,
    store: &StateStore,
    dir: &std::path::Path,
    name: &str,
) -> String {
    let loaded = spec(dir, name, &[("a", 3)]);
    let up = spawn_up(engine, loaded);
    fake.reached.notified().await;
    up.abort();
    assert!(up.await.expect_err("aborted").is_cancelled());

    let a2 = store
        .outstanding(name)
        .expect("ledger")
        .into_iter()
        .find(|resource| resource.resource.key == "a-2")
        .expect("a-2's intent is journalled");
    assert_eq!(a2.id, None, "its id never was");
    let live: Vec<String> = fake
        .cloud
        .lock()
        .expect("cloud")
        .live_labels()
        .into_iter()
        .map(|label| label.resource.key)
        .collect();
    assert_eq!(live, ["net", "a-1", "a-2"], "in the cloud, labelled");
    store
        .load_identity(name)
        .expect("identity readable")
        .expect("identity kept")
        .uid
}

async fn gc(engine: &Engine, apply: bool) -> OperationReport {
    engine
        .execute(Operation::Gc { apply })
        .await
        .expect("gc runs")
}

/// The warnings gc gave, each as its node and message.
async fn warnings(events: EventReceiver) -> Vec<(Option<String>, String)> {
    collect(events)
        .await
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::Warning { message, node } => Some((node, message)),
            _ => None,
        })
        .collect()
}

fn network_refused_once() -> Script {
    Script {
        network: true,
        hang_after_intent: Some("a-2"),
        network_refusals: AtomicUsize::new(1),
        ..Script::default()
    }
}

#[tokio::test]
async fn gc_lists_then_removes_what_a_crash_and_a_lost_state_directory_left() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        hang_after_intent: Some("a-2"),
        ..Script::default()
    });
    let (engine, _events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let uid = crash_between_intent_and_id(&engine, &fake, &store, dir.path(), "lost").await;
    drop(engine);
    // No record, no ledger, no identity: nothing here knows the cluster.
    std::fs::remove_dir_all(store.cluster_dir("lost").expect("dir")).expect("removed");
    assert!(store.names().expect("names").is_empty());
    fake.cloud.lock().expect("cloud").calls.clear();

    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let dry = gc(&engine, false).await;
    drop(engine);
    assert_eq!(dry.outcome, Outcome::Succeeded, "{:?}", dry.summary);
    assert_eq!(dry.summary.nodes_total, 3);
    let reason = dry.summary.reason.clone().unwrap_or_default();
    assert!(reason.contains("nothing was removed"), "{reason}");
    let warned = warnings(events).await;
    for (what, id) in [
        ("instance a-1", "i-a-1".to_owned()),
        ("instance a-2", "i-a-2".to_owned()),
        ("network net", format!("net-{uid}")),
    ] {
        assert!(
            warned.iter().any(|(node, message)| {
                node.as_deref() == Some("lost")
                    && message.contains(&format!("fake {what} ({id})"))
                    && message.contains(&uid)
            }),
            "{what} is listed by its labels: {warned:?}"
        );
    }
    {
        let cloud = fake.cloud.lock().expect("cloud");
        assert_eq!(cloud.resources.len(), 3, "the dry run removed nothing");
        assert!(
            cloud.calls.iter().all(|call| !call.starts_with("destroy")),
            "{:?}",
            cloud.calls
        );
    }

    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let applied = gc(&engine, true).await;
    drop(engine);
    assert_eq!(applied.outcome, Outcome::Succeeded, "{:?}", applied.summary);
    assert!(applied.summary.failures.is_empty());
    let calls = {
        let cloud = fake.cloud.lock().expect("cloud");
        assert!(cloud.resources.is_empty(), "{:?}", cloud.resources);
        cloud.calls.clone()
    };
    let calls = &calls;
    let instances = position(calls, "destroy_resource instance");
    let network = position(calls, "destroy_resource network net");
    assert_eq!(instances.len(), 2, "a-1 and a-2: {calls:?}");
    assert!(
        calls.contains(&"destroy_resource instance a-2 -> ok".to_owned()),
        "a-2, whose id was never journalled, is removed: {calls:?}"
    );
    assert_eq!(
        calls.last().map(String::as_str),
        Some("destroy_resource network net -> ok"),
        "{calls:?}"
    );
    assert!(
        instances
            .iter()
            .all(|at| network.iter().all(|net| at < net)),
        "the network only after its instances: {calls:?}"
    );
    let destroyed: Vec<String> = collect(events)
        .await
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::NodeDestroyed { node } => Some(node),
            EventKind::ResourceDestroyed { kind, key, .. } => Some(format!("{kind} {key}")),
            _ => None,
        })
        .collect();
    assert_eq!(destroyed.last().map(String::as_str), Some("network net"));
    assert_eq!(destroyed.len(), 3, "{destroyed:?}");
}

#[tokio::test]
async fn gc_retries_an_orphan_network_still_refused_as_in_use() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(network_refused_once());
    let (engine, _events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    crash_between_intent_and_id(&engine, &fake, &store, dir.path(), "busy").await;
    std::fs::remove_dir_all(store.cluster_dir("busy").expect("dir")).expect("removed");
    fake.cloud.lock().expect("cloud").calls.clear();

    let applied = gc(&engine, true).await;
    assert_eq!(applied.outcome, Outcome::Succeeded, "{:?}", applied.summary);
    let cloud = fake.cloud.lock().expect("cloud");
    assert!(cloud.resources.is_empty(), "{:?}", cloud.resources);
    let network: Vec<&str> = cloud
        .calls
        .iter()
        .filter(|call| call.starts_with("destroy_resource network"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        network,
        [
            "destroy_resource network net -> in_use",
            "destroy_resource network net -> ok"
        ],
        "refused once, retried: {:?}",
        cloud.calls
    );
}

#[tokio::test]
async fn gc_leaves_a_crashed_cluster_it_knows_to_its_destroy() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script {
        network: true,
        hang_after_intent: Some("a-2"),
        ..Script::default()
    });
    let (engine, _events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    crash_between_intent_and_id(&engine, &fake, &store, dir.path(), "known").await;
    fake.cloud.lock().expect("cloud").calls.clear();

    for apply in [false, true] {
        let report = gc(&engine, apply).await;
        assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
        assert_eq!(
            report.summary.nodes_total, 0,
            "its uid is known: {:?}",
            report.summary
        );
    }
    {
        let cloud = fake.cloud.lock().expect("cloud");
        assert_eq!(cloud.resources.len(), 3, "gc touched nothing");
        assert!(
            cloud.calls.iter().all(|call| !call.starts_with("destroy")),
            "{:?}",
            cloud.calls
        );
    }

    let report = engine
        .execute(Operation::Destroy {
            cluster: "known".into(),
        })
        .await
        .expect("destroy runs");
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert!(fake.cloud.lock().expect("cloud").resources.is_empty());
    assert!(store.try_load("known").expect("read").is_none());
}

#[tokio::test]
async fn gc_removes_only_the_orphaned_cluster_beside_a_live_one() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script::default());
    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    for (name, group) in [("orphan", "o"), ("alive", "k")] {
        let up = engine
            .execute(Operation::Up {
                spec: spec(dir.path(), name, &[(group, 2)]).path,
            })
            .await
            .expect("up");
        assert_eq!(up.outcome, Outcome::Succeeded, "{:?}", up.summary);
    }
    let alive_uid = store.load("alive").expect("record").uid;
    std::fs::remove_dir_all(store.cluster_dir("orphan").expect("dir")).expect("removed");

    let report = gc(&engine, true).await;
    drop(engine);
    assert_eq!(report.outcome, Outcome::Succeeded, "{:?}", report.summary);
    assert_eq!(report.summary.nodes_total, 2, "{:?}", report.summary);
    let (live, calls) = {
        let cloud = fake.cloud.lock().expect("cloud");
        (cloud.live_labels(), cloud.calls.clone())
    };
    let left: Vec<(String, String)> = live
        .into_iter()
        .map(|label| (label.resource.key, label.cluster_uid))
        .collect();
    assert_eq!(
        left,
        [
            ("k-1".to_owned(), alive_uid.clone()),
            ("k-2".to_owned(), alive_uid.clone())
        ],
        "only the live cluster's instances remain"
    );
    let destroyed: Vec<&str> = calls
        .iter()
        .filter(|call| call.starts_with("destroy"))
        .map(String::as_str)
        .collect();
    assert_eq!(destroyed.len(), 2, "{destroyed:?}");
    assert!(
        destroyed
            .iter()
            .all(|call| call.starts_with("destroy_resource instance o-") && call.ends_with("ok")),
        "{destroyed:?}"
    );
    assert!(
        store.load("alive").is_ok(),
        "the live cluster's record stays"
    );
    assert!(
        warnings(events)
            .await
            .iter()
            .all(|(node, _)| node.as_deref() != Some("alive")),
        "nothing warned about the live cluster"
    );
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

#[tokio::test]
async fn gc_collects_a_known_cluster_only_once_its_labelled_lifespan_has_ended() {
    let dir = tempfile::tempdir().expect("dir");
    let store = StateStore::new(dir.path().join("state"));
    let fake = fake::fake(Script::default());
    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    for (name, group) in [("expired", "e"), ("fresh", "f"), ("forever", "v")] {
        let up = engine
            .execute(Operation::Up {
                spec: spec(dir.path(), name, &[(group, 2)]).path,
            })
            .await
            .expect("up");
        assert_eq!(up.outcome, Outcome::Succeeded, "{:?}", up.summary);
    }
    drop(engine);
    drop(events);
    let ended = now_unix() - 30;
    {
        let mut cloud = fake.cloud.lock().expect("cloud");
        for label in &mut cloud.labels {
            label.expires_at = match label.cluster_name.as_str() {
                "expired" => Some(ended),
                "fresh" => Some(now_unix() + 3600),
                _ => None,
            };
        }
    }
    let keys = |fake: &FakeBackend| -> Vec<String> {
        fake.cloud
            .lock()
            .expect("cloud")
            .live_labels()
            .into_iter()
            .map(|label| label.resource.key)
            .collect()
    };

    // Dry run: the expired cluster is listed with when its lifespan ended;
    // nothing is destroyed.
    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let dry = gc(&engine, false).await;
    drop(engine);
    assert_eq!(dry.outcome, Outcome::Succeeded, "{:?}", dry.summary);
    assert_eq!(dry.summary.nodes_total, 1, "{:?}", dry.summary);
    let said = warnings(events).await;
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(ended),
    )
    .to_string();
    assert!(
        said.iter()
            .any(|(node, message)| node.as_deref() == Some("expired")
                && message.contains(&format!("expired (lifespan ended at {when})"))),
        "{said:?}"
    );
    assert!(
        said.iter()
            .all(|(node, _)| node.as_deref() == Some("expired")),
        "only the expired cluster is listed: {said:?}"
    );
    assert_eq!(keys(&fake), ["e-1", "e-2", "f-1", "f-2", "v-1", "v-2"]);
    assert!(store.load("expired").is_ok(), "a dry run keeps the record");

    // --yes: destroyed as `destroy` would, record and all; the others stay.
    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let applied = gc(&engine, true).await;
    drop(engine);
    drop(events);
    assert_eq!(applied.outcome, Outcome::Succeeded, "{:?}", applied.summary);
    assert_eq!(keys(&fake), ["f-1", "f-2", "v-1", "v-2"]);
    assert!(store.try_load("expired").expect("read").is_none());
    assert!(store.load("fresh").is_ok(), "an unexpired cluster is kept");
    assert!(
        store.load("forever").is_ok(),
        "a cluster without a lifespan is kept"
    );
    let destroyed: Vec<String> = fake
        .cloud
        .lock()
        .expect("cloud")
        .calls
        .iter()
        .filter(|call| call.starts_with("destroy"))
        .cloned()
        .collect();
    assert!(
        !destroyed.is_empty() && destroyed.iter().all(|call| call.contains("e-")),
        "{destroyed:?}"
    );

    // Once gone, nothing more to collect.
    let (engine, events) = fake::engine(&store, fake.clone(), CancellationToken::new());
    let again = gc(&engine, false).await;
    drop(engine);
    drop(events);
    assert_eq!(again.summary.nodes_total, 0, "{:?}", again.summary);
}
