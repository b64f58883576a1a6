//! SIGKILL during `scale`, growing and shrinking, at moments chosen from its
//! event stream: `destroy` then leaves nothing; and `scale` run again instead
//! completes to the size asked for, with a record that says exactly what
//! exists on disk, every node of it installed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use clusterdeck::backend::local::{NODE_DIR_ENV, labelled_pids};
use common::crash::{Cleanup, dirs_on_disk, is, kill_on_event, uid_on_disk, write_slow_spec};
use common::{Deck, text};
use serde_json::Value;

/// What follows the killed scale.
enum Then {
    Destroy,
    ScaleAgain,
}

/// Ups the slow spec (3 agents), grows it to `before` agents if given, runs
/// `scale NAME agents TARGET` and SIGKILLs it on the first `wanted` event,
/// then goes on as `then` says.
fn scale_killed(
    name: &str,
    before: Option<&str>,
    target: &str,
    wanted: impl Fn(&Value) -> bool,
    then: Then,
) {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_slow_spec(dir.path(), name);
    let mut cleanup = Cleanup::new(&deck, name);
    let up = deck.run(&["up", spec.to_str().expect("path")]);
    assert!(up.status.success(), "up: {}", text(&up.stderr));
    let uid = uid_on_disk(&deck, name).expect("uid");
    cleanup.note(&uid);
    if let Some(before) = before {
        let grow = deck.run(&["scale", name, "agents", before]);
        assert!(grow.status.success(), "scale: {}", text(&grow.stderr));
    }
    // One node at a time, so a shrink is still going when it is killed.
    kill_on_event(&deck, &["-j", "1", "scale", name, "agents", target], wanted);
    let mut seen: BTreeSet<String> = dirs_on_disk(&deck, name).into_iter().collect();

    match then {
        Then::Destroy => {
            deck.destroy_leaves_nothing(name, &uid, &seen.into_iter().collect::<Vec<_>>());
        }
        Then::ScaleAgain => {
            let again = deck.run(&["-o", "json", "scale", name, "agents", target]);
            assert!(
                again.status.success(),
                "scale after the kill: {}",
                text(&again.stderr)
            );
            let events = Deck::events(&again);
            assert_eq!(
                events.last().expect("events")["outcome"],
                "succeeded",
                "{events:?}"
            );
            if target.parse::<u32>().expect("count") > 3 {
                // A killed grow leaves nodes the next scale must clear first.
                assert!(
                    events.iter().any(|event| is(event, "warning")
                        && event["message"].as_str().is_some_and(
                            |message| message.contains("an interrupted operation left")
                        )),
                    "{events:?}"
                );
            }
            seen.extend(dirs_on_disk(&deck, name));
            let agents: usize = target.parse().expect("count");
            assert_record_is_what_exists(&deck, name, agents, &seen);
            deck.destroy_leaves_nothing(name, &uid, &seen.into_iter().collect::<Vec<_>>());
        }
    }
}

/// `inspect` lists as live exactly the node directories on disk, each one
/// running, installed to the end and serving; the group sizes say the same;
/// no process runs for a directory that is gone.
fn assert_record_is_what_exists(deck: &Deck, name: &str, agents: usize, seen: &BTreeSet<String>) {
    let record = deck.record(name);
    let live: Vec<&Value> = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter(|node| node["state"] != "destroyed")
        .collect();
    let mut ids: Vec<String> = live
        .iter()
        .map(|node| node["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        dirs_on_disk(deck, name),
        "the record's live nodes are the node directories"
    );
    for node in &live {
        assert_eq!(node["state"], "running", "{node}");
        let id = node["id"].as_str().expect("id");
        assert!(
            Path::new(id).join("installed").exists(),
            "{} is recorded but its install never finished",
            node["name"]
        );
        assert!(
            !labelled_pids(NODE_DIR_ENV, id).is_empty(),
            "no daemon in {id}"
        );
    }
    for gone in seen.iter().filter(|dir| !ids.contains(dir)) {
        assert!(
            labelled_pids(NODE_DIR_ENV, gone).is_empty(),
            "{gone} is gone but its processes run"
        );
    }
    let in_group = |group: &str| live.iter().filter(|node| node["group"] == group).count();
    assert_eq!(in_group("agents"), agents);
    assert_eq!(in_group("masters"), 1);
    assert_eq!(in_group("workers"), 2);
    let sizes: Vec<(String, u64)> = record["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|size| {
            (
                size["name"].as_str().expect("name").to_owned(),
                size["count"].as_u64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        vec![
            ("masters".to_owned(), 1),
            ("agents".to_owned(), agents as u64),
            ("workers".to_owned(), 2)
        ]
    );
}

fn first_install_step(event: &Value) -> bool {
    is(event, "step_started")
        && event["step"]
            .as_str()
            .is_some_and(|step| step.starts_with("install:"))
}

#[test]
fn grow_killed_after_the_first_new_node_then_destroy() {
    let created = |event: &Value| is(event, "node_created");
    scale_killed("grow-created-d", None, "8", created, Then::Destroy);
}

#[test]
fn grow_killed_after_the_first_new_node_then_scale_again() {
    let created = |event: &Value| is(event, "node_created");
    scale_killed("grow-created-s", None, "8", created, Then::ScaleAgain);
}

#[test]
fn grow_killed_after_the_first_install_step_then_destroy() {
    scale_killed(
        "grow-install-d",
        None,
        "8",
        first_install_step,
        Then::Destroy,
    );
}

#[test]
fn grow_killed_after_the_first_install_step_then_scale_again() {
    scale_killed(
        "grow-install-s",
        None,
        "8",
        first_install_step,
        Then::ScaleAgain,
    );
}

#[test]
fn shrink_killed_after_the_first_node_destroyed_then_destroy() {
    let destroyed = |event: &Value| is(event, "node_destroyed");
    scale_killed("shrink-d", Some("8"), "2", destroyed, Then::Destroy);
}

#[test]
fn shrink_killed_after_the_first_node_destroyed_then_scale_again() {
    let destroyed = |event: &Value| is(event, "node_destroyed");
    scale_killed("shrink-s", Some("8"), "2", destroyed, Then::ScaleAgain);
}
