//! The docker backend's contract against the real dockerd, through the
//! library: prepare, a group created at once and journalled, discover,
//! stop/start, list_labelled, and destroy in the contract's order leaving
//! nothing labelled. Skips with a reason when the engine or the busybox test
//! image is missing; under CI=true that is a failure.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use clusterdeck::backend::docker::DockerBackend;
use clusterdeck::backend::docker::naming::{CONTAINER, LABEL_CLUSTER_ID, NETWORK, WORKSPACE};
use clusterdeck::backend::{
    Backend, BackendContext, BackendError, GcContext, GroupRequest, Journal, PowerAction,
    ProgressReporter, ResourceRef,
};
use clusterdeck::model::{BackendFailureKind, ClusterRef, Endpoint, NodeRequest, NodeState};
use clusterdeck::transport::docker::connect_engine;
use serde_json::json;
use tokio_util::sync::CancellationToken;

const IMAGE: &str = "clusterdeck/node-busybox:latest";

/// What the backend announced: `(intent|created, kind, key, id)`.
#[derive(Default)]
struct Recorded(Mutex<Vec<(String, ResourceRef, String)>>);

impl Journal for Recorded {
    fn intent(&self, resource: &ResourceRef) -> Result<(), BackendError> {
        self.0
            .lock()
            .expect("lock")
            .push(("intent".into(), resource.clone(), String::new()));
        Ok(())
    }
    fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), BackendError> {
        self.0
            .lock()
            .expect("lock")
            .push(("created".into(), resource.clone(), id.to_owned()));
        Ok(())
    }
    fn destroyed(&self, _resource: &ResourceRef) -> Result<(), BackendError> {
        Ok(())
    }
}

async fn available(test: &str) -> bool {
    let reason = match connect_engine().await {
        Err(err) => format!("no docker engine: {err}"),
        Ok(docker) if docker.inspect_image(IMAGE).await.is_err() => {
            format!("image {IMAGE} is missing")
        }
        Ok(_) => return true,
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {reason}; under CI=true dockerd and {IMAGE} are required"
    );
    eprintln!("skipping {test}: {reason}");
    false
}

fn context(
    state: &std::path::Path,
    name: &str,
    image: &str,
    journal: Arc<Recorded>,
) -> BackendContext {
    let uid = format!("{name}-{}", std::process::id());
    BackendContext {
        cluster: ClusterRef::new(name, &uid),
        state_dir: state.join("clusters").join(name),
        options: BTreeMap::from([
            ("image".to_owned(), json!(image)),
            ("transport".to_owned(), json!("docker-exec")),
            ("labels".to_owned(), json!(["test=docker_backend"])),
        ]),
        journal,
        progress: ProgressReporter::silent(),
        cancel: CancellationToken::new(),
    }
}

/// Containers and networks still carrying the uid.
async fn labelled(uid: &str) -> usize {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker ps -aq --filter label={LABEL_CLUSTER_ID}={uid}; docker network ls -q --filter label={LABEL_CLUSTER_ID}={uid}"
        ))
        .output()
        .expect("docker cli");
    String::from_utf8_lossy(&output.stdout).lines().count()
}

#[tokio::test]
async fn a_group_comes_up_stops_starts_and_is_destroyed_without_leftovers() {
    if !available("lifecycle").await {
        return;
    }
    let state = tempfile::tempdir().expect("dir");
    let journal = Arc::new(Recorded::default());
    let name = format!("t-lifecycle-{}", std::process::id());
    let ctx = context(state.path(), &name, IMAGE, journal.clone());
    let backend = DockerBackend;
    backend.prepare(&ctx).await.expect("prepared");
    let group = GroupRequest {
        open_ports: Vec::new(),
        group: "agents".into(),
        roles: vec!["agent".into()],
        options: BTreeMap::new(),
        nodes: (1..=2)
            .map(|index| NodeRequest {
                name: format!("agents-{index}"),
                index,
            })
            .collect(),
    };
    let outcomes = backend.create_group(&ctx, &group).await;
    let nodes: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| outcome.result.expect("node created"))
        .collect();
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|node| node.state == NodeState::Running));
    let recorded = journal.0.lock().expect("lock").clone();
    for node in &nodes {
        let intent = recorded
            .iter()
            .position(|(what, resource, _)| what == "intent" && resource.key == node.name)
            .expect("intent journalled");
        let created = recorded
            .iter()
            .position(|(what, resource, id)| {
                what == "created" && resource.kind == CONTAINER && *id == node.id
            })
            .expect("id journalled");
        assert!(intent < created);
    }
    assert!(
        recorded
            .iter()
            .any(|(what, resource, _)| what == "created" && resource.kind == NETWORK)
    );
    let endpoint = backend.endpoint(&ctx, &nodes[0]).await.expect("endpoint");
    assert!(
        matches!(endpoint, Endpoint::DockerContainer { ref container, .. } if *container == nodes[0].id)
    );

    let stopped = backend.power(&ctx, &nodes, PowerAction::Stop).await;
    assert!(
        stopped.iter().all(|(_, result)| result.is_ok()),
        "{stopped:?}"
    );
    // As the engine records them after a stop: discover tells a container
    // clusterdeck stopped (`stopped`) from one killed outside (`exited`)
    // by the recorded state.
    let as_recorded: Vec<_> = nodes
        .iter()
        .cloned()
        .map(|mut node| {
            node.state = NodeState::Stopped;
            node
        })
        .collect();
    let seen = backend
        .discover(&ctx, &as_recorded)
        .await
        .expect("discovered");
    assert!(
        seen.iter().all(|node| node.state == NodeState::Stopped),
        "{seen:?}"
    );
    let unrecorded = backend.discover(&ctx, &nodes).await.expect("discovered");
    assert!(
        unrecorded
            .iter()
            .all(|node| node.state == NodeState::Exited),
        "stopped behind clusterdeck's back: {unrecorded:?}"
    );
    let started = backend.power(&ctx, &nodes, PowerAction::Start).await;
    assert!(
        started.iter().all(|(_, result)| result.is_ok()),
        "{started:?}"
    );
    let seen = backend.discover(&ctx, &nodes).await.expect("discovered");
    assert!(
        seen.iter().all(|node| node.state == NodeState::Running),
        "{seen:?}"
    );

    let gc = GcContext {
        state_root: state.path().to_path_buf(),
        options: ctx.options.clone(),
        cancel: CancellationToken::new(),
    };
    let found = backend.list_labelled(&gc).await.expect("listed");
    let ours: Vec<_> = found
        .iter()
        .filter(|found| found.cluster_uid == ctx.uid())
        .collect();
    assert_eq!(ours.len(), 3, "two containers and the network: {ours:?}");
    let elsewhere = GcContext {
        state_root: tempfile::tempdir().expect("dir").path().to_path_buf(),
        ..gc
    };
    let from_elsewhere = backend.list_labelled(&elsewhere).await.expect("listed");
    assert!(
        from_elsewhere
            .iter()
            .all(|found| found.cluster_uid != ctx.uid()),
        "a live cluster of another state directory is not listed"
    );

    // Destroy in the contract's waves: nodes, then the cluster's resources.
    let network = recorded
        .iter()
        .find(|(what, resource, _)| what == "created" && resource.kind == NETWORK)
        .map(|(_, resource, id)| (resource.clone(), id.clone()))
        .expect("network");
    let busy = backend
        .destroy_resource(&ctx, &network.0, Some(&network.1))
        .await;
    assert_eq!(
        busy.expect_err("containers still use it").kind(),
        BackendFailureKind::InUse
    );
    let removed = backend.destroy_nodes(&ctx, &nodes).await;
    assert!(
        removed.iter().all(|(_, result)| result.is_ok()),
        "{removed:?}"
    );
    let again = backend.destroy_nodes(&ctx, &nodes).await;
    assert!(
        again
            .iter()
            .all(|(_, result)| result.as_ref().is_err_and(BackendError::is_not_found))
    );
    backend
        .destroy_resource(&ctx, &network.0, Some(&network.1))
        .await
        .expect("network removed");
    let workspace = recorded
        .iter()
        .find(|(what, resource, _)| what == "created" && resource.kind == WORKSPACE)
        .map(|(_, resource, id)| (resource.clone(), id.clone()))
        .expect("workspace");
    backend
        .destroy_resource(&ctx, &workspace.0, Some(&workspace.1))
        .await
        .expect("workspace removed");
    assert!(!std::path::Path::new(&workspace.1).exists());
    let seen = backend.discover(&ctx, &nodes).await.expect("discovered");
    assert!(seen.iter().all(|node| node.state == NodeState::Destroyed));
    assert_eq!(labelled(ctx.uid()).await, 0, "nothing labelled is left");
}

#[tokio::test]
async fn a_missing_image_fails_prepare_naming_the_option() {
    if !available("missing_image").await {
        return;
    }
    let state = tempfile::tempdir().expect("dir");
    let name = format!("t-noimage-{}", std::process::id());
    let ctx = context(
        state.path(),
        &name,
        "clusterdeck/no-such-image:never",
        Arc::new(Recorded::default()),
    );
    let error = DockerBackend.prepare(&ctx).await.expect_err("no image");
    assert_eq!(error.kind(), BackendFailureKind::Invalid);
    let message = error.to_string();
    assert!(message.contains("backend option image"), "{message}");
    assert!(
        message.contains("clusterdeck/no-such-image:never"),
        "{message}"
    );
    assert!(message.contains("scripts/build-node-images"), "{message}");
    assert_eq!(labelled(ctx.uid()).await, 0, "nothing was created");
}
