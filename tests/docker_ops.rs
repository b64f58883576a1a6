//! The docker backend's `doctor` and live node states, through the real
//! binary against the real dockerd: doctor passes on a working engine, names
//! the command that builds a missing image and DOCKER_HOST for an engine it
//! cannot reach; a container killed from outside shows as exited in the
//! attached dashboard (from Docker's event stream, not a refresh) and in
//! `inspect`. Skips with a reason when dockerd, the busybox test image or
//! tmux is missing; under CI=true that is a failure.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::{Tmux, require_tmux};
use common::{Deck, text};

const IMAGE: &str = "clusterdeck/node-busybox:latest";

/// Whether dockerd answers and has the test image; else skips (or fails
/// under CI=true) with the reason.
fn require_docker(test: &str) -> bool {
    let reason = match Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", IMAGE])
        .output()
    {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!("docker has no {IMAGE}: {}", text(&out.stderr).trim()),
        Err(err) => format!("no docker CLI: {err}"),
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {reason}; under CI=true dockerd and {IMAGE} are required (scripts/test starts dockerd, scripts/build-node-images builds the image)"
    );
    eprintln!("SKIPPED {test}: {reason}");
    false
}

fn write_spec(dir: &Path, name: &str, image: &str, count: u32) -> PathBuf {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nbackend:\n  kind: docker\n  options:\n    image: {image}\nnode_groups:\n  - name: agents\n    count: {count}\n    roles: [agent]\n"
        ),
    )
    .expect("write spec");
    path
}

/// Names of containers (running or not) carrying a label.
fn containers(label: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label={label}"),
            "--format",
            "{{.Names}}",
        ])
        .output()
        .expect("docker ps");
    text(&out.stdout).lines().map(str::to_owned).collect()
}

#[test]
fn doctor_checks_the_engine_the_image_and_the_clock() {
    if !require_docker("doctor_checks_the_engine_the_image_and_the_clock") {
        return;
    }
    let deck = Deck::new();
    // Private, as doctor wants a state directory; the docker checks are the point.
    std::fs::set_permissions(
        deck.state.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), "dopsdoctor", IMAGE, 3);
    let out = deck.run(&["doctor", spec.to_str().expect("path")]);
    let shown = text(&out.stdout);
    assert!(out.status.success(), "{shown}{}", text(&out.stderr));
    for check in [
        "docker-engine: pass",
        "docker-api: pass - API 1.",
        "docker-storage:",
        "docker-disk:",
        "docker-memory:",
        "docker-image: pass",
        "docker-clock: pass",
    ] {
        assert!(shown.contains(check), "no {check:?} in:\n{shown}");
    }
    assert!(shown.contains("3 node(s) need"), "{shown}");
    assert!(!shown.contains("FAIL"), "{shown}");
    assert!(
        containers("io.clusterdeck.doctor").is_empty(),
        "the clock probe's container is removed"
    );

    let missing = write_spec(dir.path(), "dopsmissing", "clusterdeck/node-nothere:v0", 1);
    let out = deck.run(&["doctor", missing.to_str().expect("path")]);
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("docker-image: FAIL - image clusterdeck/node-nothere:v0 (backend.options.image) is not on the engine"),
        "{shown}"
    );
    assert!(
        shown.contains("fix: build it: scripts/build-node-images"),
        "{shown}"
    );

    let out = deck
        .command(&["doctor", spec.to_str().expect("path")])
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run");
    let shown = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("docker-engine: FAIL") && shown.contains("unix:///nonexistent/docker.sock"),
        "{shown}"
    );
    assert!(shown.contains("DOCKER_HOST"), "{shown}");
}

#[test]
fn a_container_killed_from_outside_shows_exited_live_and_in_inspect() {
    let test = "a_container_killed_from_outside_shows_exited_live_and_in_inspect";
    if !require_docker(test) || !require_tmux(test) {
        return;
    }
    let name = format!("dlive{}", std::process::id());
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), &name, IMAGE, 2);
    let up = deck.run(&["up", spec.to_str().expect("path")]);
    assert!(
        up.status.success(),
        "{}{}",
        text(&up.stdout),
        text(&up.stderr)
    );
    let label = format!("io.clusterdeck.cluster={name}");
    assert_eq!(containers(&label).len(), 2);

    let tmux = Tmux::open_in(deck, &name, &format!("attach {name}"), "", "live");
    tmux.wait_for("agents-2");
    // The watch is live once the capability shows and the states are in.
    tmux.wait_for("[running]");
    std::thread::sleep(Duration::from_millis(500));
    let killed_at = Instant::now();
    let kill = Command::new("docker")
        .args(["kill", &format!("clusterdeck-{name}-agents-2")])
        .output()
        .expect("docker kill");
    assert!(kill.status.success(), "{}", text(&kill.stderr));
    let screen = tmux.wait_for("[exited]");
    eprintln!(
        "docker kill -> [exited] on the dashboard: {:?} (screen polled every 100 ms)",
        killed_at.elapsed()
    );
    // With a live watch the periodic refresh runs only every 30 s: seeing
    // it this soon means Docker's event stream brought it.
    assert!(
        killed_at.elapsed() < Duration::from_secs(10),
        "exited showed after {:?}",
        killed_at.elapsed()
    );
    assert!(
        screen.contains("agents-2 is exited (seen live)"),
        "{screen}"
    );
    let agents_1 = screen
        .lines()
        .find(|line| line.contains("agents-1") && line.contains('['))
        .unwrap_or_default();
    assert!(
        agents_1.contains("[running]"),
        "the other node is untouched:\n{screen}"
    );

    let inspect = tmux.deck.run(&["inspect", &name, "--json"]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let record: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("json");
    let states: Vec<(String, String)> = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (
                node["name"].as_str().unwrap_or_default().to_owned(),
                node["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("agents-1".to_owned(), "running".to_owned()),
            ("agents-2".to_owned(), "exited".to_owned())
        ]
    );

    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    let destroy = tmux.deck.run(&["destroy", &name]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert!(containers(&label).is_empty(), "{:?}", containers(&label));
}

/// The next change of `node` on the watch, skipping other nodes'.
async fn next_of(
    watch: &mut clusterdeck::backend::NodeWatch,
    node: &str,
) -> clusterdeck::model::NodeState {
    loop {
        let change = tokio::time::timeout(Duration::from_secs(20), watch.recv())
            .await
            .expect("a change within 20s")
            .expect("the watch is open")
            .expect("no watch error");
        if change.node == node {
            return change.state;
        }
    }
}

#[tokio::test]
async fn engine_watch_follows_stop_pause_and_start_from_outside_until_cancelled() {
    use clusterdeck::engine::{Engine, EventSink, Operation};
    use clusterdeck::model::{NodeState, Outcome};
    use clusterdeck::state::StateStore;
    use tokio_util::sync::CancellationToken;

    let test = "engine_watch_follows_stop_pause_and_start_from_outside_until_cancelled";
    if !require_docker(test) {
        return;
    }
    let name = format!("dwatch{}", std::process::id());
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), &name, IMAGE, 1);
    let store = StateStore::new(dir.path().join("state"));
    let (sink, events) = EventSink::channel();
    drop(events);
    let engine = Engine::new(store, sink, CancellationToken::new());
    let up = engine.execute(Operation::Up { spec }).await.expect("up");
    assert_eq!(up.outcome, Outcome::Succeeded);
    let container = format!("clusterdeck-{name}-agents-1");
    let docker = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().expect("docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            text(&out.stderr)
        );
    };

    let cancel = CancellationToken::new();
    let (sink, _events) = EventSink::channel();
    let watcher = Engine::new(
        StateStore::new(dir.path().join("state")),
        sink,
        cancel.clone(),
    );
    let mut watch = watcher.watch(&name).await.expect("docker can watch");
    docker(&["stop", "-t", "1", &container]);
    assert_eq!(next_of(&mut watch, "agents-1").await, NodeState::Exited);
    assert_eq!(
        next_of(&mut watch, "agents-1").await,
        NodeState::Stopped,
        "docker stop ends with its stop event"
    );
    docker(&["start", &container]);
    assert_eq!(next_of(&mut watch, "agents-1").await, NodeState::Running);
    docker(&["pause", &container]);
    assert_eq!(next_of(&mut watch, "agents-1").await, NodeState::Paused);
    docker(&["unpause", &container]);
    assert_eq!(next_of(&mut watch, "agents-1").await, NodeState::Running);

    cancel.cancel();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while watch.recv().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "a cancelled watch closes its channel");

    let destroy = engine
        .execute(Operation::Destroy {
            cluster: name.clone(),
        })
        .await
        .expect("destroy");
    assert_eq!(destroy.outcome, Outcome::Succeeded);
    assert!(containers(&format!("io.clusterdeck.cluster={name}")).is_empty());
}

#[tokio::test]
async fn a_backend_without_the_capability_cannot_be_watched() {
    use clusterdeck::engine::{Engine, EventSink, Operation};
    use clusterdeck::state::StateStore;
    use tokio_util::sync::CancellationToken;

    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "name: unwatched\nnode_groups: [{ name: a, count: 1, roles: [x] }]\n",
    )
    .expect("spec");
    let (sink, _events) = EventSink::channel();
    let engine = Engine::new(
        StateStore::new(dir.path().join("state")),
        sink,
        CancellationToken::new(),
    );
    engine
        .execute(Operation::Up { spec })
        .await
        .expect("local up");
    let err = engine
        .watch("unwatched")
        .await
        .expect_err("local cannot watch");
    assert_eq!(
        err.to_string(),
        "backend \"local\" cannot watch node states"
    );
    engine
        .execute(Operation::Destroy {
            cluster: "unwatched".into(),
        })
        .await
        .expect("destroy");
}
