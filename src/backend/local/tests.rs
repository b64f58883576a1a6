//! The local backend through its contract: a group created at once and
//! journalled, power by SIGSTOP/SIGCONT of the node's labelled processes,
//! and its endpoint as data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::*;
use crate::backend::{Journal, ProgressReporter};
use crate::model::{ClusterRef, NodeRequest};

#[derive(Default)]
struct Recorded(Mutex<Vec<String>>);

impl Journal for Recorded {
    fn intent(&self, resource: &ResourceRef) -> Result<(), BackendError> {
        self.0
            .lock()
            .expect("lock")
            .push(format!("intent {}", resource.key));
        Ok(())
    }
    fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), BackendError> {
        let id = Path::new(id)
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        self.0.lock().expect("lock").push(format!(
            "created {} {}",
            resource.key,
            id.unwrap_or_default()
        ));
        Ok(())
    }
    fn destroyed(&self, resource: &ResourceRef) -> Result<(), BackendError> {
        self.0
            .lock()
            .expect("lock")
            .push(format!("destroyed {}", resource.key));
        Ok(())
    }
}

fn context(dir: &Path, journal: Arc<Recorded>) -> BackendContext {
    BackendContext {
        cluster: ClusterRef::new("t", "t-uid"),
        state_dir: dir.to_path_buf(),
        options: BTreeMap::from([("stop_grace_ms".to_owned(), json!(500))]),
        journal,
        progress: ProgressReporter::silent(),
        cancel: CancellationToken::new(),
    }
}

/// The one-letter state in /proc/<pid>/stat: `T` when stopped.
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

async fn wait_for_state(pid: u32, wanted: &[char]) -> Option<char> {
    let mut state = None;
    for _ in 0..100 {
        state = process_state(pid);
        if state.is_some_and(|state| wanted.contains(&state)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    state
}

#[tokio::test]
async fn a_group_is_journalled_powered_off_and_on_and_destroyed() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = Arc::new(Recorded::default());
    let ctx = context(dir.path(), journal.clone());
    let group = GroupRequest {
        open_ports: Vec::new(),
        group: "a".into(),
        roles: vec!["x".into()],
        options: BTreeMap::new(),
        nodes: (1..=2)
            .map(|index| NodeRequest {
                name: format!("a-{index}"),
                index,
            })
            .collect(),
    };
    let outcomes = LocalBackend.create_group(&ctx, &group).await;
    let nodes: Vec<Node> = outcomes
        .into_iter()
        .map(|outcome| outcome.result.expect("created"))
        .collect();
    let mut entries = journal.0.lock().expect("lock").clone();
    entries.sort();
    assert_eq!(
        entries,
        [
            "created a-1 a-1",
            "created a-2 a-2",
            "intent a-1",
            "intent a-2"
        ]
    );

    let endpoint = LocalBackend
        .endpoint(&ctx, &nodes[0])
        .await
        .expect("endpoint");
    let Endpoint::Local { root, env } = &endpoint else {
        panic!("a local endpoint: {endpoint:?}");
    };
    assert_eq!(root, &PathBuf::from(&nodes[0].id));
    assert_eq!(env[NODE_DIR_ENV], nodes[0].id);
    assert_eq!(env[CLUSTER_UID_ENV], "t-uid");

    let mut daemon = std::process::Command::new("sleep")
        .arg("30")
        .env(NODE_DIR_ENV, &nodes[0].id)
        .spawn()
        .expect("spawn");
    let pid = daemon.id();
    // Until it has exec'd, its environment is not yet the labelled one.
    for _ in 0..100 {
        if !labelled_pids(NODE_DIR_ENV, &nodes[0].id).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stopped = LocalBackend
        .power(&ctx, &nodes[..1], PowerAction::Stop)
        .await;
    assert!(stopped[0].1.is_ok());
    assert_eq!(wait_for_state(pid, &['T']).await, Some('T'), "stopped");
    let started = LocalBackend
        .power(&ctx, &nodes[..1], PowerAction::Start)
        .await;
    assert!(started[0].1.is_ok());
    assert_ne!(
        wait_for_state(pid, &['S', 'R']).await,
        Some('T'),
        "running again"
    );

    // Stopped again, destroy still ends it (SIGTERM reaches it once continued).
    LocalBackend
        .power(&ctx, &nodes[..1], PowerAction::Stop)
        .await;
    let destroyed = LocalBackend.destroy_nodes(&ctx, &nodes).await;
    assert!(
        destroyed.iter().all(|(_, result)| result.is_ok()),
        "{destroyed:?}"
    );
    assert!(
        daemon.wait().expect("wait").code().is_none(),
        "killed by a signal"
    );
    assert!(nodes.iter().all(|node| !Path::new(&node.id).exists()));
    let again = LocalBackend.destroy_nodes(&ctx, &nodes[..1]).await;
    assert!(
        again[0].1.as_ref().is_err_and(BackendError::is_not_found),
        "a node already gone is NotFound: {again:?}"
    );
    let missing = LocalBackend
        .power(&ctx, &nodes[..1], PowerAction::Stop)
        .await;
    assert!(missing[0].1.as_ref().is_err_and(BackendError::is_not_found));
}
