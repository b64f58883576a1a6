//! The example backend plugin (examples/plugins/clusterdeck-plugin-dirs, over
//! JSON-RPC on stdio) through the real binary: up, install, debuggers, scale,
//! stop/start and destroy; a plugin crashing or writing garbage during
//! create_group fails `up` with the documented error, and destroy afterwards
//! still removes what the plugin journalled.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Deck, labelled, node_dirs, repo_root, text};

const SPEC: &str = "examples/plugins/dirs.yaml";
const NAME: &str = "dirs-demo";

/// PATH with the example plugins first.
fn plugin_path() -> String {
    let plugins = repo_root().join("examples/plugins");
    match std::env::var("PATH") {
        Ok(path) => format!("{}:{path}", plugins.display()),
        Err(_) => plugins.display().to_string(),
    }
}

fn run(deck: &Deck, args: &[&str], fault: Option<&str>) -> Output {
    let mut command = deck.command(args);
    command
        .env("PATH", plugin_path())
        .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "1000");
    match fault {
        Some(fault) => command.env("CLUSTERDECK_DIRS_FAULT", fault),
        None => command.env_remove("CLUSTERDECK_DIRS_FAULT"),
    };
    command.output().expect("run clusterdeck")
}

fn load_record(deck: &Deck) -> serde_json::Value {
    let output = run(deck, &["inspect", NAME, "--json"], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("record json")
}

/// Node directories the plugin made for the cluster (journalled or not).
fn dirs_made(deck: &Deck) -> Vec<String> {
    let root = deck
        .state
        .path()
        .join("clusters")
        .join(NAME)
        .join("dirs-nodes");
    std::fs::read_dir(root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn destroy_leaves_nothing(deck: &Deck, uid: &str, dirs: &[String]) {
    let destroy = run(deck, &["destroy", NAME], None);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert!(
        labelled(uid).is_empty(),
        "left running: {:?}",
        labelled(uid)
    );
    for dir in dirs {
        assert!(!Path::new(dir).exists(), "{dir} remains");
    }
    assert!(!deck.state.path().join("clusters").join(NAME).exists());
}

#[test]
fn the_dirs_plugin_brings_a_cluster_up_scales_and_destroys_it() {
    let deck = Deck::new();
    let up = run(&deck, &["up", "--headless", SPEC], None);
    let stdout = text(&up.stdout);
    assert!(up.status.success(), "{stdout}\n{}", text(&up.stderr));
    assert!(stdout.contains("results: 3 pass, 0 fail"), "{stdout}");
    assert!(
        stdout.contains("plugin dirs: made 2 node(s) of group agents"),
        "the plugin's log notifications are shown: {stdout}"
    );
    assert!(
        stdout.contains("create: 100% directory"),
        "progress notifications: {stdout}"
    );

    let record = load_record(&deck);
    assert_eq!(record["status"], "ready");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let dirs = node_dirs(&record);
    assert_eq!(dirs.len(), 3);
    for dir in &dirs {
        assert!(Path::new(dir).join("install").is_dir(), "{dir} installed");
    }
    assert!(
        labelled(&uid).len() >= 3,
        "the installer leaves a service per node, labelled through the plugin's endpoint"
    );

    let scale = run(&deck, &["scale", NAME, "agents", "3"], None);
    assert!(scale.status.success(), "{}", text(&scale.stdout));
    assert!(
        text(&scale.stdout).contains("results: 4 pass"),
        "{}",
        text(&scale.stdout)
    );
    let stop = run(&deck, &["stop", NAME], None);
    assert!(stop.status.success(), "{}", text(&stop.stdout));
    let start = run(&deck, &["start", NAME], None);
    assert!(start.status.success(), "{}", text(&start.stdout));
    let debug = run(&deck, &["debug", NAME], None);
    assert!(
        text(&debug.stdout).contains("results: 4 pass"),
        "{}",
        text(&debug.stdout)
    );

    let dirs = node_dirs(&load_record(&deck));
    assert_eq!(dirs.len(), 4);
    destroy_leaves_nothing(&deck, &uid, &dirs);
}

/// `up` with a fault of the plugin fails with `expected` in its output and
/// exit 1; destroy then removes everything the plugin journalled.
/// `journalled_nodes`: how many node directories the plugin made (and
/// journalled) before it broke.
fn failing_up_then_destroy(fault: &str, expected: &str, journalled_nodes: usize) {
    let deck = Deck::new();
    let up = run(&deck, &["up", "--headless", SPEC], Some(fault));
    let stdout = text(&up.stdout);
    assert_eq!(up.status.code(), Some(1), "{stdout}\n{}", text(&up.stderr));
    assert!(stdout.contains(expected), "{stdout}");
    assert!(
        text(&up.stderr).contains("error: no node came up"),
        "{}",
        text(&up.stderr)
    );
    let uid = load_record(&deck)["uid"].as_str().expect("uid").to_owned();
    let made = dirs_made(&deck);
    assert_eq!(made.len(), journalled_nodes, "{made:?}");
    destroy_leaves_nothing(&deck, &uid, &made);
}

#[test]
fn a_plugin_crashing_during_create_fails_up_and_destroy_removes_what_it_journalled() {
    failing_up_then_destroy(
        "crash-in-create",
        "plugin dirs failed during create_group: exited (exit status: 3) without answering (last stderr line: \"dirs: crashing on purpose after",
        1,
    );
}

#[test]
fn a_plugin_writing_garbage_fails_up_and_destroy_leaves_nothing() {
    failing_up_then_destroy(
        "garbage-in-create",
        "plugin dirs failed during create_group: wrote a line that is not a JSON-RPC message: not JSON",
        0,
    );
}

#[test]
fn a_silent_plugin_times_out_is_killed_and_destroy_removes_what_it_journalled() {
    failing_up_then_destroy(
        "hang-in-create",
        "plugin dirs timed out during create_group: no answer and no notification for 1 s",
        1,
    );
}

#[test]
fn a_plugin_of_another_protocol_version_is_refused_by_name() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let plugin = dir.path().join("clusterdeck-plugin-future");
    std::fs::write(
        &plugin,
        r#"#!/usr/bin/env python3
import json, sys
for line in iter(sys.stdin.readline, ''):
    m = json.loads(line)
    hello = {'protocol_version': 2, 'name': 'future', 'kinds': ['backend']}
    print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': hello}), flush=True)
"#,
    )
    .expect("plugin");
    let mut perms = std::fs::metadata(&plugin).expect("meta").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&plugin, perms).expect("chmod");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "name: future\nbackend:\n  kind: future\nnode_groups:\n  - { name: a, count: 1, roles: [a] }\n",
    )
    .expect("spec");
    let up = deck
        .command(&["up", "--headless", &spec.display().to_string()])
        .env(
            "PATH",
            format!("{}:{}", dir.path().display(), plugin_path()),
        )
        .output()
        .expect("run");
    assert_eq!(up.status.code(), Some(1));
    let all = format!("{}{}", text(&up.stdout), text(&up.stderr));
    assert!(
        all.contains("plugin future speaks protocol version 2; clusterdeck speaks [1]"),
        "{all}"
    );
    assert!(
        !deck.state.path().join("clusters").join("future").exists(),
        "nothing was made"
    );
}

#[test]
fn an_unknown_kind_says_no_plugin_was_found() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "name: nowhere\nbackend:\n  kind: nosuchplugin\nnode_groups:\n  - { name: a, count: 1, roles: [a] }\n",
    )
    .expect("spec");
    let validate = run(&deck, &["validate", &spec.display().to_string()], None);
    assert!(!validate.status.success());
    let all = format!("{}{}", text(&validate.stdout), text(&validate.stderr));
    assert!(
        all.contains("no plugin clusterdeck-plugin-nosuchplugin was found"),
        "{all}"
    );
}
