//! The real Docker engine, seen through the `docker` CLI: whether the tests
//! can run here (engine reachable, node image built), what carries a
//! cluster's labels, and a guard that removes all of it whatever a test's
//! outcome.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::{BIN, Deck, text};

/// The exec-only node image `scripts/build-node-images` makes (no sshd).
pub const BUSYBOX: &str = "clusterdeck/node-busybox:latest";
/// The node image with sshd, for `transport: ssh`.
pub const DEBIAN: &str = "clusterdeck/node-debian:bookworm";
/// The label naming a resource's cluster, set by the docker backend.
pub const CLUSTER_LABEL: &str = "io.clusterdeck.cluster";
/// The label carrying a resource's cluster uid.
pub const UID_LABEL: &str = "io.clusterdeck.cluster-id";

/// The `docker` CLI with the test process's environment (DOCKER_HOST too).
pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run the docker CLI")
}

/// Why docker tests cannot run here, if they cannot.
fn unavailable(images: &[&str]) -> Option<String> {
    match Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
    {
        Err(err) => return Some(format!("the docker CLI cannot run: {err}")),
        Ok(out) if !out.status.success() => {
            return Some(format!(
                "the Docker engine is not reachable: {}",
                text(&out.stderr).trim()
            ));
        }
        Ok(_) => {}
    }
    images
        .iter()
        .find(|image| !docker(&["image", "inspect", image]).status.success())
        .map(|image| {
            format!("the node image {image} is missing (scripts/build-node-images builds it)")
        })
}

/// Whether the test can run: the engine answers and every image is there.
/// Skips with the reason printed; under CI=true a missing engine or image
/// is a failure instead.
pub fn require(test: &str, images: &[&str]) -> bool {
    let Some(reason) = unavailable(images) else {
        return true;
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {reason}; under CI=true the Docker engine and the node images are required (scripts/test sets them up)"
    );
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// A cluster name no other test (of this run or another) uses.
pub fn unique_name(test: &str) -> String {
    format!("dt{}-{test}", std::process::id())
}

/// The lines `docker ARGS` prints, or why it failed.
fn lines(args: &[&str]) -> Result<Vec<String>, String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .map_err(|err| err.to_string())?;
    if !out.status.success() {
        return Err(format!("docker {args:?}: {}", text(&out.stderr)));
    }
    Ok(text(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

fn ids(args: &[&str]) -> Vec<String> {
    lines(args).unwrap_or_else(|err| panic!("{err}"))
}

/// What carries a label filter (`key=value`) on the engine.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Labelled {
    pub containers: Vec<String>,
    pub networks: Vec<String>,
    pub volumes: Vec<String>,
}

impl Labelled {
    pub fn find(filter: &str) -> Self {
        Self::try_find(filter).unwrap_or_else(|err| panic!("{err}"))
    }

    fn try_find(filter: &str) -> Result<Self, String> {
        let label = format!("label={filter}");
        Ok(Self {
            containers: lines(&["ps", "-a", "--format", "{{.Names}}", "--filter", &label])?,
            networks: lines(&["network", "ls", "--format", "{{.Name}}", "--filter", &label])?,
            volumes: lines(&["volume", "ls", "--format", "{{.Name}}", "--filter", &label])?,
        })
    }

    /// Everything carrying cluster `name`'s label.
    pub fn of_cluster(name: &str) -> Self {
        Self::find(&format!("{CLUSTER_LABEL}={name}"))
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty() && self.networks.is_empty() && self.volumes.is_empty()
    }

    /// Removes all of it, containers first (networks and volumes in use
    /// cannot go before them).
    pub fn remove(&self) {
        for container in &self.containers {
            let _ = docker(&["rm", "-f", "-v", container]);
        }
        for network in &self.networks {
            let _ = docker(&["network", "rm", network]);
        }
        for volume in &self.volumes {
            let _ = docker(&["volume", "rm", "-f", volume]);
        }
    }
}

/// Asserts that nothing with cluster `name`'s label is left on the engine.
pub fn assert_nothing_left(name: &str) {
    let left = Labelled::of_cluster(name);
    assert!(left.is_empty(), "left on the engine for {name}: {left:?}");
}

/// The state (`running`, `exited`, ...) and the names of cluster `name`'s
/// containers, sorted by name.
pub fn container_states(name: &str) -> Vec<(String, String)> {
    let label = format!("label={CLUSTER_LABEL}={name}");
    let mut states: Vec<(String, String)> = ids(&[
        "ps",
        "-a",
        "--format",
        "{{.Names}} {{.State}}",
        "--filter",
        &label,
    ])
    .iter()
    .filter_map(|line| {
        let (name, state) = line.split_once(' ')?;
        Some((name.to_owned(), state.to_owned()))
    })
    .collect();
    states.sort();
    states
}

/// Waits until `check` holds, for at most `limit`.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// On drop, destroys cluster `name` through clusterdeck (while its state
/// directory is there) and then removes, through the engine, whatever still
/// carries its label: a failing test leaves nothing behind.
pub struct DockerCleanup {
    state: PathBuf,
    name: String,
}

impl DockerCleanup {
    pub fn new(deck: &Deck, name: &str) -> Self {
        Self {
            state: deck.state.path().to_owned(),
            name: name.to_owned(),
        }
    }
}

impl Drop for DockerCleanup {
    fn drop(&mut self) {
        if self.state.exists() {
            let _ = Command::new(BIN)
                .args(["destroy", &self.name])
                .env("CLUSTERDECK_STATE_DIR", &self.state)
                .output();
        }
        if let Ok(left) = Labelled::try_find(&format!("{CLUSTER_LABEL}={}", self.name)) {
            left.remove();
        }
    }
}
