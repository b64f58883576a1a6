//! The built-in script distribution taking part in the phases its spec
//! lists (issue #12), through the real binary on the local backend: the
//! installer is run again with `CLUSTERDECK_PHASE` and `CLUSTERDECK_NODES`,
//! in the cluster's life order, and a phase it does not list never runs.

mod common;

use std::path::Path;

use common::{Deck, text};

/// Every line the installer logged: `phase node role nodes`.
fn log_lines(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn has(lines: &[String], wanted: &str) -> bool {
    lines.iter().any(|line| line == wanted)
}

fn position(lines: &[String], wanted: &str) -> usize {
    lines
        .iter()
        .position(|line| line == wanted)
        .unwrap_or_else(|| panic!("{wanted:?} not logged: {lines:#?}"))
}

#[test]
fn a_script_takes_part_in_the_phases_it_lists_in_life_order() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("phases.log");
    let spec = common::write_spec(
        dir.path(),
        "name: phased\nnode_groups:\n  - { name: masters, count: 1, roles: [master] }\n  - { name: agents, count: 2, roles: [agent] }\n\
         install:\n  from: ./install.sh\n  phases: [start, scale, decommission, terminate]\n",
        &format!(
            "#!/bin/sh\necho \"$CLUSTERDECK_PHASE $CLUSTERDECK_NODE $1 $CLUSTERDECK_NODES\" >> {}\n",
            log.display()
        ),
    );
    let spec = spec.to_str().expect("utf-8");
    let up = deck.run(&["-o", "json", "up", spec]);
    assert!(up.status.success(), "{}", text(&up.stdout));
    let lines = log_lines(&log);
    let all = "masters-1,agents-1,agents-2";
    for (node, role) in [
        ("masters-1", "master"),
        ("agents-1", "agent"),
        ("agents-2", "agent"),
    ] {
        // Configure (today's install) comes before start on every node.
        let configured = position(&lines, &format!("configure {node} {role} {all}"));
        let started = position(&lines, &format!("start {node} {role} {all}"));
        assert!(configured < started, "{lines:#?}");
    }
    assert_eq!(lines.len(), 6, "{lines:#?}");
    let events = Deck::events(&up);
    for step in ["install:agent", "start:agent", "start:master"] {
        assert!(
            events.iter().any(|event| event["event"] == "step_finished"
                && event["step"] == step
                && event["status"] == "ok"),
            "no {step} step: {events:#?}"
        );
    }

    // Grow: the new node is configured and started, then every running node
    // hears of it.
    std::fs::remove_file(&log).expect("clear log");
    let grow = deck.run(&["scale", "phased", "agents", "3"]);
    assert!(grow.status.success(), "{}", text(&grow.stderr));
    let lines = log_lines(&log);
    let started = position(&lines, "start agents-3 agent agents-3");
    for (node, role) in [
        ("masters-1", "master"),
        ("agents-1", "agent"),
        ("agents-2", "agent"),
        ("agents-3", "agent"),
    ] {
        assert!(
            started < position(&lines, &format!("scale {node} {role} agents-3")),
            "{lines:#?}"
        );
    }
    assert_eq!(lines.len(), 6, "{lines:#?}");

    // Shrink: the leaving nodes are decommissioned, and only they.
    std::fs::remove_file(&log).expect("clear log");
    let shrink = deck.run(&["scale", "phased", "agents", "1"]);
    assert!(shrink.status.success(), "{}", text(&shrink.stderr));
    let mut lines = log_lines(&log);
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "decommission agents-2 agent agents-3,agents-2".to_owned(),
            "decommission agents-3 agent agents-3,agents-2".to_owned(),
        ]
    );

    // Destroy: on_terminate on what is left, before it goes.
    std::fs::remove_file(&log).expect("clear log");
    let record = deck.record("phased");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("phased", &uid, &common::node_dirs(&record));
    let lines = log_lines(&log);
    assert!(
        has(&lines, "terminate masters-1 master masters-1,agents-1"),
        "{lines:#?}"
    );
    assert!(
        has(&lines, "terminate agents-1 agent masters-1,agents-1"),
        "{lines:#?}"
    );
    assert_eq!(lines.len(), 2, "{lines:#?}");
}

#[test]
fn a_script_without_phases_is_run_once_per_role_as_before() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("phases.log");
    let spec = common::write_spec(
        dir.path(),
        "name: plain\nnode_groups:\n  - { name: agents, count: 2, roles: [agent] }\ninstall:\n  from: ./install.sh\n",
        &format!(
            "#!/bin/sh\necho \"$CLUSTERDECK_PHASE $CLUSTERDECK_NODE\" >> {}\n",
            log.display()
        ),
    );
    let spec = spec.to_str().expect("utf-8");
    assert!(deck.run(&["up", spec]).status.success());
    assert!(
        deck.run(&["scale", "plain", "agents", "1"])
            .status
            .success()
    );
    let record = deck.record("plain");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("plain", &uid, &common::node_dirs(&record));
    let mut lines = log_lines(&log);
    lines.sort();
    assert_eq!(lines, vec!["configure agents-1", "configure agents-2"]);
}

#[test]
fn unknown_and_misplaced_phases_are_refused_where_they_are_written() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        "name: bad\nnode_groups:\n  - { name: agents, count: 1 }\ninstall:\n  from: ./install.sh\n  phases: [start, configure, restart]\n",
        "#!/bin/sh\n",
    );
    let validate = deck.run(&["validate", spec.to_str().expect("utf-8")]);
    assert!(!validate.status.success());
    let stderr = text(&validate.stderr);
    assert!(
        stderr.contains("spec.yaml:6:19") && stderr.contains("configure always runs"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.yaml:6:30") && stderr.contains("unknown phase \"restart\""),
        "{stderr}"
    );
    assert!(!deck.state.path().join("clusters").join("bad").exists());
}
