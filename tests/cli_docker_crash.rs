//! SIGKILL of `up` on the docker backend at several moments of its event
//! stream: `destroy` then `gc --yes` leave no container, network or volume
//! with the cluster's labels, and no state. And a cluster whose state
//! directory was lost is found and removed by `gc --yes` from its labels
//! alone. Skipped without an engine or the node image (failed under CI=true).

mod common;

use std::time::Duration;

use common::crash::{is, kill_after, kill_on_event, uid_on_disk};
use common::docker::{BUSYBOX, DockerCleanup, Labelled, assert_nothing_left, require, unique_name};
use common::{Deck, text};
use serde_json::Value;

/// `gc --yes` removes every orphan its state directory does not own: the
/// tests here take turns so one's gc never meets another's cluster midway.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Two groups whose installer takes a moment and whose debuggers include a
/// slow one, so each phase of `up` lasts long enough to be caught in.
const SLOW_SPEC: &str = "name: NAME
backend: { kind: docker, options: { image: IMAGE } }
node_groups:
  - { name: masters, count: 1, roles: [master] }
  - { name: agents, count: 3, roles: [agent] }
install:
  from: install.sh
checks:
  debuggers:
    - { name: installed, run: 'cat \"$CLUSTERDECK_NODE_DIR/installed\"', expect: installed, timeout: 10s }
    - { name: settled, run: 'sleep 1; echo settled', expect: settled, timeout: 10s }
";

const SLOW_INSTALLER: &str = "#!/bin/sh
set -eu
echo \"clusterdeck:progress 10 installing $1\"
nohup sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &
sleep 0.5
touch \"$CLUSTERDECK_NODE_DIR/installed\"
echo \"clusterdeck:progress 100 done\"
";

fn write_slow_spec(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let spec = SLOW_SPEC.replace("NAME", name).replace("IMAGE", BUSYBOX);
    common::write_spec(dir, &spec, SLOW_INSTALLER)
}

/// Starts `up` of a fresh cluster, lets `kill` SIGKILL it, checks what it
/// left with `left` (the number of its containers), then that `destroy` and
/// `gc --yes` succeed and leave nothing of it.
fn killed_up_leaves_nothing(
    test: &str,
    kill: impl FnOnce(&Deck, &str),
    left: impl FnOnce(usize) -> bool,
) {
    if !require(test, &[BUSYBOX]) {
        return;
    }
    let _turn = one_at_a_time();
    let name = unique_name(test);
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_slow_spec(dir.path(), &name);
    kill(&deck, spec.to_str().expect("path"));
    let before = Labelled::of_cluster(&name);
    assert!(
        left(before.containers.len()),
        "the kill left unexpected containers: {before:?}"
    );

    // Killed before it wrote its identity, `up` left no cluster to destroy.
    let known = uid_on_disk(&deck, &name).is_some();
    let destroy = deck.run(&["destroy", &name]);
    assert!(
        destroy.status.success() || !known,
        "destroy after the kill failed: {}",
        text(&destroy.stderr)
    );
    let gc = deck.run(&["gc", "--yes"]);
    assert!(
        gc.status.success(),
        "gc --yes: {}{}",
        text(&gc.stdout),
        text(&gc.stderr)
    );
    assert_nothing_left(&name);
    assert!(
        !deck.state.path().join("clusters").join(&name).exists(),
        "the cluster's state directory remains"
    );
}

fn up_killed_on(wanted: impl Fn(&Value) -> bool) -> impl FnOnce(&Deck, &str) {
    move |deck, spec| {
        kill_on_event(deck, &["up", "--headless", spec], wanted);
    }
}

#[test]
fn up_killed_right_after_it_started() {
    killed_up_leaves_nothing(
        "kstart",
        up_killed_on(|event| is(event, "operation_started")),
        |_| true,
    );
}

#[test]
fn up_killed_after_the_first_container_was_created() {
    killed_up_leaves_nothing(
        "kcreated",
        up_killed_on(|event| is(event, "node_created")),
        |containers| containers >= 1,
    );
}

#[test]
fn up_killed_while_installing() {
    killed_up_leaves_nothing(
        "kinstall",
        up_killed_on(|event| {
            is(event, "step_started")
                && event["step"]
                    .as_str()
                    .is_some_and(|step| step.starts_with("install:"))
        }),
        |containers| containers == 4,
    );
}

#[test]
fn up_killed_while_debugging() {
    killed_up_leaves_nothing(
        "kdebug",
        up_killed_on(|event| is(event, "check_result") && event["kind"] == "debugger"),
        |containers| containers == 4,
    );
}

#[test]
fn up_killed_after_a_short_delay() {
    killed_up_leaves_nothing(
        "kdelay",
        |deck, spec| {
            kill_after(
                deck,
                &["up", "--headless", spec],
                Duration::from_millis(400),
            );
        },
        |_| true,
    );
}

/// A cluster whose state directory is gone is still found by its labels.
#[test]
fn gc_removes_the_containers_of_a_cluster_whose_state_was_lost() {
    let test = "gc_removes_the_containers_of_a_cluster_whose_state_was_lost";
    if !require(test, &[BUSYBOX]) {
        return;
    }
    let _turn = one_at_a_time();
    let name = unique_name("lost");
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_slow_spec(dir.path(), &name);
    kill_on_event(
        &deck,
        &["up", "--headless", spec.to_str().expect("path")],
        |event| {
            is(event, "step_started")
                && event["step"]
                    .as_str()
                    .is_some_and(|step| step.starts_with("install:"))
        },
    );
    let before = Labelled::of_cluster(&name);
    assert_eq!(
        before.containers.len(),
        4,
        "every container was made: {before:?}"
    );
    std::fs::remove_dir_all(deck.state.path().join("clusters").join(&name))
        .expect("lose the state");

    let dry = deck.run(&["gc"]);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let listed = text(&dry.stdout);
    assert!(
        listed.contains(&name) && listed.contains("no cluster here owns"),
        "gc lists the lost cluster's resources: {listed}"
    );
    assert_eq!(
        Labelled::of_cluster(&name),
        before,
        "a dry run removes nothing"
    );

    let gc = deck.run(&["gc", "--yes"]);
    assert!(
        gc.status.success(),
        "gc --yes: {}{}",
        text(&gc.stdout),
        text(&gc.stderr)
    );
    assert_nothing_left(&name);
}
