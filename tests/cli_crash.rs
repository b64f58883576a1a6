//! SIGKILL during `up`, at several moments chosen from its event stream:
//! `destroy` then exits 0 and leaves no labelled process, no node directory
//! and no state, and `up` of the same name works again.

mod common;

use std::path::Path;
use std::time::Duration;

use common::crash::{
    Cleanup, dirs_on_disk, is, kill_after, kill_on_event, uid_on_disk, write_slow_spec,
};
use common::{Deck, labelled, node_dirs, text};
use serde_json::Value;

/// What the killed run left, as found on disk before `destroy`.
struct Leftovers {
    uid: Option<String>,
    dirs: Vec<String>,
}

/// Runs `kill` (which starts `up SPEC` and SIGKILLs it), checks what it left
/// with `check`, then that destroy removes all of it and `up` works again.
fn killed_up_leaves_nothing_after_destroy(
    name: &str,
    kill: impl FnOnce(&Deck, &str),
    check: impl FnOnce(&Leftovers),
) {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_slow_spec(dir.path(), name);
    let spec = spec.to_str().expect("path");
    let mut cleanup = Cleanup::new(&deck, name);
    kill(&deck, spec);

    let left = Leftovers {
        uid: uid_on_disk(&deck, name),
        dirs: dirs_on_disk(&deck, name),
    };
    if let Some(uid) = &left.uid {
        cleanup.note(uid);
    } else {
        assert!(
            left.dirs.is_empty(),
            "nodes without an identity: {:?}",
            left.dirs
        );
    }
    check(&left);

    let destroy = deck.run(&["destroy", name]);
    assert!(
        destroy.status.success(),
        "destroy after the kill failed: {}",
        text(&destroy.stderr)
    );
    if let Some(uid) = &left.uid {
        assert!(
            labelled(uid).is_empty(),
            "left running: {:?}",
            labelled(uid)
        );
    }
    for dir in &left.dirs {
        assert!(!Path::new(dir).exists(), "{dir} remains");
    }
    assert!(
        !deck.state.path().join("clusters").join(name).exists(),
        "the cluster's state directory remains"
    );

    let up = deck.run(&["up", spec]);
    assert!(up.status.success(), "up again: {}", text(&up.stderr));
    let record = deck.record(name);
    let uid = record["uid"].as_str().expect("uid").to_owned();
    cleanup.note(&uid);
    assert_ne!(Some(&uid), left.uid.as_ref(), "a new cluster has a new uid");
    assert_eq!(record["status"], "ready");
    let dirs = node_dirs(&record);
    assert_eq!(dirs.len(), 6);
    deck.destroy_leaves_nothing(name, &uid, &dirs);
}

fn up_killed_on(wanted: impl Fn(&Value) -> bool) -> impl FnOnce(&Deck, &str) {
    move |deck, spec| {
        kill_on_event(deck, &["up", "--headless", spec], wanted);
    }
}

#[test]
fn up_killed_right_after_it_started() {
    killed_up_leaves_nothing_after_destroy(
        "started",
        up_killed_on(|event| is(event, "operation_started")),
        |_| {},
    );
}

#[test]
fn up_killed_after_the_first_node_was_created() {
    killed_up_leaves_nothing_after_destroy(
        "created",
        up_killed_on(|event| is(event, "node_created")),
        |left| {
            assert!(left.uid.is_some());
            assert!(!left.dirs.is_empty(), "the created node's directory exists");
        },
    );
}

#[test]
fn up_killed_after_the_first_install_step_started() {
    killed_up_leaves_nothing_after_destroy(
        "installing",
        up_killed_on(|event| {
            is(event, "step_started")
                && event["step"]
                    .as_str()
                    .is_some_and(|step| step.starts_with("install:"))
        }),
        |left| assert_eq!(left.dirs.len(), 6, "every node was created"),
    );
}

#[test]
fn up_killed_after_the_first_debugger_result() {
    killed_up_leaves_nothing_after_destroy(
        "debugging",
        up_killed_on(|event| is(event, "check_result") && event["kind"] == "debugger"),
        |left| {
            let uid = left.uid.as_deref().expect("uid");
            // Every install finished before the debuggers: six daemons (and
            // the slow debuggers) outlive the killed `up`.
            let orphans = labelled(uid);
            assert!(orphans.len() >= 6, "orphans: {orphans:?}");
            assert_eq!(left.dirs.len(), 6);
        },
    );
}

#[test]
fn up_killed_after_a_short_delay() {
    killed_up_leaves_nothing_after_destroy(
        "delayed",
        |deck, spec| {
            kill_after(
                deck,
                &["up", "--headless", spec],
                Duration::from_millis(300),
            )
        },
        |_| {},
    );
}

#[test]
fn a_state_directory_left_before_the_record_was_written_is_destroyed() {
    // What an `up` killed between taking its lock and saving the record
    // leaves: the directory, its lock, perhaps the identity, no ledger.
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_slow_spec(dir.path(), "unborn");
    let mut cleanup = Cleanup::new(&deck, "unborn");
    let state = deck.state.path().join("clusters").join("unborn");
    std::fs::create_dir_all(&state).expect("state dir");
    std::fs::write(state.join("lock"), "").expect("lock");
    std::fs::write(
        state.join("identity.json"),
        r#"{"name":"unborn","uid":"unborn-0","backend":"local","options":{}}"#,
    )
    .expect("identity");
    let destroy = deck.run(&["-o", "json", "destroy", "unborn"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    let events = Deck::events(&destroy);
    assert!(
        events.iter().any(|event| is(event, "warning")
            && event["message"]
                .as_str()
                .is_some_and(|message| message.contains("interrupted `up`"))),
        "{events:?}"
    );
    assert_eq!(events.last().expect("finished")["outcome"], "succeeded");
    assert!(!state.exists(), "the state directory remains");
    // Destroying it again is an unknown cluster, as for any name.
    assert_eq!(deck.run(&["destroy", "unborn"]).status.code(), Some(2));

    let up = deck.run(&["up", spec.to_str().expect("path")]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let record = deck.record("unborn");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    cleanup.note(&uid);
    deck.destroy_leaves_nothing("unborn", &uid, &node_dirs(&record));
}
