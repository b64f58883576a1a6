//! The example distribution plugin (examples/plugins/clusterdeck-plugin-kvstore)
//! through the real binary, on `local` and on `docker` (busybox nodes: only
//! `sh`): `up` configures and starts every node's process (its log grows),
//! `scale` grows workers 3 → 5 (the master learns about the new ones) and
//! shrinks them to 2 (each leaving node decommissioned before it is
//! destroyed), a resize the distribution refuses (an even number of
//! masters) changes nothing, `destroy` stops everything and leaves nothing;
//! bad config values are all rejected at their file:line:col before
//! anything is created.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::docker::{BUSYBOX, DockerCleanup, assert_nothing_left, container_states, require};
use common::{Deck, labelled, node_dirs, repo_root, text};
use serde_json::Value;

/// PATH with the example plugins first.
fn plugin_path() -> String {
    let plugins = repo_root().join("examples/plugins");
    match std::env::var("PATH") {
        Ok(path) => format!("{}:{path}", plugins.display()),
        Err(_) => plugins.display().to_string(),
    }
}

/// `clusterdeck -o json ARGS` with the plugins on PATH.
fn run(deck: &Deck, args: &[&str]) -> Output {
    let mut all = vec!["-o", "json"];
    all.extend_from_slice(args);
    deck.command(&all)
        .env("PATH", plugin_path())
        .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "30000")
        .env_remove("CLUSTERDECK_KVSTORE_FAULT")
        // `cluster_token: {env: KV_TEST_TOKEN}` in the spec.
        .env("KV_TEST_TOKEN", "kv-test-secret")
        .output()
        .expect("run clusterdeck")
}

fn ok(deck: &Deck, args: &[&str]) -> Vec<Value> {
    let output = run(deck, args);
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    Deck::events(&output)
}

/// A kvstore spec: 1 master and 3 workers on `backend`.
fn write_spec(dir: &Path, name: &str, backend: &str) -> PathBuf {
    let spec = format!(
        "name: {name}
backend:
{backend}
node_groups:
  - name: masters
    count: 1
    roles: [master]
  - name: workers
    count: 3
    roles: [worker]
    config: {{heap_mb: 128}}
install:
  distribution: kvstore
  config:
    cluster_token: {{env: KV_TEST_TOKEN}}
    replication: two
"
    );
    let path = dir.join("kvstore.yaml");
    std::fs::write(&path, spec).expect("write spec");
    path
}

/// The lines `command` prints on `node`.
fn on_node(deck: &Deck, name: &str, node: &str, command: &str) -> Vec<String> {
    ok(deck, &["run", name, "--node", node, "--", command])
        .iter()
        .filter(|event| event["event"] == "output" && event["node"] == node)
        .filter_map(|event| event["line"].as_str().map(str::to_owned))
        .collect()
}

/// How many lines the node's process has written to its log.
fn log_lines(deck: &Deck, name: &str, node: &str, role: &str) -> usize {
    on_node(deck, name, node, &format!("wc -l < kv/logs/{role}.log"))
        .first()
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

/// Every node's log grows: its process runs, detached from `up`.
fn assert_logs_grow(deck: &Deck, name: &str, nodes: &[(&str, &str)]) {
    let before: Vec<usize> = nodes
        .iter()
        .map(|(node, role)| log_lines(deck, name, node, role))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(15);
    for ((node, role), before) in nodes.iter().zip(before) {
        loop {
            let now = log_lines(deck, name, node, role);
            if now > before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the log of {node} stays at {now} lines"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

fn step_finished<'a>(events: &'a [Value], step: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["event"] == "step_finished" && event["step"] == step)
        .collect()
}

/// The nodes with `step` finished `ok`, sorted.
fn ok_nodes(events: &[Value], step: &str) -> Vec<String> {
    let mut nodes: Vec<String> = step_finished(events, step)
        .iter()
        .map(|event| {
            assert_eq!(event["status"], "ok", "{event}");
            event["node"].as_str().expect("node").to_owned()
        })
        .collect();
    nodes.sort();
    nodes
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| (*name).to_owned()).collect()
}

fn record_nodes(deck: &Deck, name: &str) -> Vec<String> {
    let mut nodes: Vec<String> = deck.record(name)["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["name"].as_str().expect("name").to_owned())
        .collect();
    nodes.sort();
    nodes
}

/// up, scale 3 → 5 → 2 with a refused resize in between; destroy is left
/// to the caller (what "nothing left" means differs by backend).
fn up_and_scale(deck: &Deck, spec: &Path, name: &str) {
    let spec = spec.display().to_string();
    let up = ok(deck, &["up", "--headless", &spec]);
    let all = names(&["masters-1", "workers-1", "workers-2", "workers-3"]);
    assert_eq!(ok_nodes(&up, "configure"), all);
    assert_eq!(ok_nodes(&up, "start"), all);
    // What the plugin notes during a phase is that node's step progress.
    assert!(
        up.iter().any(|event| event["event"] == "step_progress"
            && event["node"] == "workers-1"
            && event["step"] == "configure"
            && event["message"] == "configured kv-worker 1.1"),
        "no progress from the plugin: {up:#?}"
    );
    assert!(
        up.iter().any(|event| event["event"] == "check_result"
            && event["name"] == "distribution"
            && event["status"] == "pass"),
        "the distribution's checks passed"
    );
    assert_logs_grow(
        deck,
        name,
        &[("masters-1", "master"), ("workers-3", "worker")],
    );
    // The token reaches the nodes' config, never the events or the record.
    let shown = serde_json::to_string(&up).expect("events");
    assert!(
        !shown.contains("kv-test-secret"),
        "the token is in the events"
    );
    let record = deck.record(name).to_string();
    assert!(
        !record.contains("kv-test-secret"),
        "the token is in the record"
    );
    let conf = on_node(deck, name, "workers-1", "cat kv/kv.conf").join("\n");
    assert!(conf.contains("heap_mb='128'"), "{conf}");
    assert!(conf.contains("cluster_token='kv-test-secret'"), "{conf}");

    // Grow: only the new nodes are configured and started, then the master
    // is told about them.
    let grow = ok(deck, &["scale", name, "workers", "5"]);
    let added = names(&["workers-4", "workers-5"]);
    assert_eq!(ok_nodes(&grow, "configure"), added);
    assert_eq!(ok_nodes(&grow, "start"), added);
    assert_eq!(ok_nodes(&grow, "scale"), added);
    assert_logs_grow(deck, name, &[("workers-5", "worker")]);
    assert_eq!(
        on_node(deck, name, "masters-1", "cat kv/members"),
        names(&[
            "workers-1",
            "workers-2",
            "workers-3",
            "workers-4",
            "workers-5"
        ])
    );

    // An even number of masters: refused before anything is created.
    let refused = run(deck, &["scale", name, "masters", "2"]);
    assert!(!refused.status.success(), "{}", text(&refused.stdout));
    let said = text(&refused.stderr);
    assert!(said.contains("odd number of masters"), "{said}");
    assert!(said.contains("nothing was changed"), "{said}");
    let before = names(&[
        "masters-1",
        "workers-1",
        "workers-2",
        "workers-3",
        "workers-4",
        "workers-5",
    ]);
    assert_eq!(record_nodes(deck, name), before);
    assert!(
        Deck::events(&refused)
            .iter()
            .all(|event| event["event"] != "node_created"),
        "nothing created"
    );

    // Shrink: each leaving node is decommissioned (its process says so)
    // before it is destroyed.
    let shrink = ok(deck, &["scale", name, "workers", "2"]);
    for leaving in ["workers-3", "workers-4", "workers-5"] {
        let at = |wanted: &dyn Fn(&Value) -> bool| {
            shrink
                .iter()
                .position(|event| event["node"] == leaving && wanted(event))
                .unwrap_or_else(|| panic!("{leaving}: an event is missing in {shrink:#?}"))
        };
        let said =
            at(&|event| event["event"] == "output" && event["line"] == "kv-worker: decommissioned");
        let drained = at(&|event| {
            event["event"] == "step_finished"
                && event["step"] == "decommission"
                && event["status"] == "ok"
        });
        let destroyed = at(&|event| event["event"] == "node_destroyed");
        assert!(
            said < drained && drained < destroyed,
            "{leaving}: {shrink:#?}"
        );
    }
    assert_eq!(
        record_nodes(deck, name),
        names(&["masters-1", "workers-1", "workers-2"])
    );
    assert_eq!(
        on_node(deck, name, "masters-1", "cat kv/members"),
        names(&["workers-1", "workers-2"])
    );
    assert_logs_grow(
        deck,
        name,
        &[("masters-1", "master"), ("workers-2", "worker")],
    );
}

/// `export` fetches the log paths the distribution names for each role
/// from every node, and the token is nowhere in the bundle.
fn assert_export(deck: &Deck, name: &str, dir: &Path) {
    let out = dir.join("bundle.tar.gz");
    ok(deck, &["export", name, "--out", &out.display().to_string()]);
    let entries = common::bundle::entries(&out);
    for (node, role) in [
        ("masters-1", "master"),
        ("workers-1", "worker"),
        ("workers-2", "worker"),
    ] {
        let log = format!("clusterdeck-{name}/nodes/{node}/kv/logs/{role}.log");
        let data = entries
            .get(&log)
            .unwrap_or_else(|| panic!("{log} not in {:?}", entries.keys()));
        assert!(
            String::from_utf8_lossy(data).contains(&format!("kv-{role}")),
            "{log}: {}",
            String::from_utf8_lossy(data)
        );
    }
    assert!(
        !common::bundle::contains(&common::bundle::raw(&out), b"kv-test-secret"),
        "the token is in the bundle"
    );
}

fn assert_terminated(events: &[Value]) {
    assert_eq!(
        ok_nodes(events, "terminate"),
        names(&["masters-1", "workers-1", "workers-2"])
    );
}

#[test]
fn kvstore_on_local_comes_up_scales_and_leaves_nothing() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let name = format!("kv{}-local", std::process::id());
    let spec = write_spec(dir.path(), &name, "  kind: local");
    let _cleanup = LocalCleanup {
        deck: &deck,
        name: &name,
    };
    up_and_scale(&deck, &spec, &name);
    assert_export(&deck, &name, dir.path());
    let record = deck.record(&name);
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let dirs = node_dirs(&record);
    assert!(
        !labelled(&uid).is_empty(),
        "the processes carry the cluster's label"
    );
    let destroy = ok(&deck, &["destroy", &name]);
    assert_terminated(&destroy);
    // The stopped processes' `sleep 1` children end within a second.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !labelled(&uid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        labelled(&uid).is_empty(),
        "left running: {:?}",
        labelled(&uid)
    );
    for dir in &dirs {
        assert!(!Path::new(dir).exists(), "{dir} remains");
    }
    assert!(!deck.state.path().join("clusters").join(&name).exists());
}

#[test]
fn kvstore_on_docker_comes_up_scales_and_leaves_nothing() {
    if !require(
        "kvstore_on_docker_comes_up_scales_and_leaves_nothing",
        &[BUSYBOX],
    ) {
        return;
    }
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let name = common::docker::unique_name("kv");
    let backend =
        format!("  kind: docker\n  options: {{image: '{BUSYBOX}', transport: docker-exec}}");
    let spec = write_spec(dir.path(), &name, &backend);
    let _cleanup = DockerCleanup::new(&deck, &name);
    up_and_scale(&deck, &spec, &name);
    assert_export(&deck, &name, dir.path());
    // The master's port (the distribution's open_ports) is published on
    // loopback only; the workers publish nothing.
    let published = |container: &str| {
        let output = std::process::Command::new("docker")
            .args(["port", container])
            .output()
            .expect("docker port");
        text(&output.stdout)
    };
    let master = published(&format!("clusterdeck-{name}-masters-1"));
    assert!(master.starts_with("7070/tcp -> 127.0.0.1:"), "{master}");
    assert_eq!(published(&format!("clusterdeck-{name}-workers-1")), "");
    let running: Vec<String> = container_states(&name)
        .into_iter()
        .map(|(_, state)| state)
        .collect();
    assert_eq!(running, ["running"; 3], "one container per node left");
    let destroy = ok(&deck, &["destroy", &name]);
    assert_terminated(&destroy);
    assert_nothing_left(&name);
}

/// Every bad value at once, each at its place, the enum listing its
/// values; nothing is created.
#[test]
fn bad_config_values_are_all_rejected_at_their_place_before_anything_exists() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let name = format!("kv{}-bad", std::process::id());
    let spec = dir.path().join("bad.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: {name}
backend:
  kind: local
node_groups:
  - name: masters
    count: 1
    roles: [master]
    config:
      log_level: loud
  - name: workers
    count: 2
    roles: [worker]
    config: {{heap_mb: lots}}
install:
  distribution: kvstore
  config:
    replication: four
    colour: red
"
        ),
    )
    .expect("write spec");
    let shown = spec.display().to_string();
    let output = run(&deck, &["up", "--headless", &shown]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let mut failures: Vec<String> = Deck::events(&output)
        .iter()
        .filter(|event| {
            event["event"] == "check_result"
                && event["name"] == "distribution"
                && event["status"] == "fail"
        })
        .map(|event| event["message"].as_str().expect("message").to_owned())
        .collect();
    failures.sort();
    let at = |place: &str, message: &str| format!("{shown}:{place}: {message}");
    let mut expected = vec![
        at(
            "18:13",
            "kvstore 1.1 has no config \"colour\"; its configs: port, replication, cluster_token, log_level, heap_mb, compaction",
        ),
        at(
            "17:18",
            "replication takes one of one, two, three, not \"four\"",
        ),
        at(
            "9:18",
            "log_level is a cluster config: set it once in install.config, not per node group",
        ),
        at("13:23", "heap_mb takes a whole number, not \"lots\""),
        at(
            "16:3",
            "config cluster_token is required: the secret nodes join with",
        ),
    ];
    expected.sort();
    assert_eq!(failures, expected);
    assert!(
        !deck.state.path().join("clusters").join(&name).exists(),
        "nothing was created"
    );
    assert!(text(&output.stderr).contains("nothing was created"));
}

/// Destroys the local cluster if the test fails half-way (after a
/// successful destroy there is nothing left to destroy).
struct LocalCleanup<'a> {
    deck: &'a Deck,
    name: &'a str,
}

impl Drop for LocalCleanup<'_> {
    fn drop(&mut self) {
        let _ = run(self.deck, &["destroy", self.name]);
    }
}

#[test]
fn the_shipped_examples_pass_the_distributions_checks() {
    let deck = Deck::new();
    for example in ["examples/kvstore.yaml", "examples/kvstore-docker.yaml"] {
        let output = deck
            .command(&["-o", "json", "validate", example])
            .env("PATH", plugin_path())
            .env("KV_TOKEN", "example-token")
            .output()
            .expect("run clusterdeck");
        assert!(
            output.status.success(),
            "{example}: {}",
            text(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
        assert_eq!(report["valid"], true, "{example}: {report}");
        let passed = report["validators"]
            .as_array()
            .expect("validators")
            .iter()
            .any(|check| {
                check["name"] == "distribution"
                    && check["status"] == "pass"
                    && check["message"].as_str().is_some_and(|message| {
                        message.starts_with("kvstore 1.1: 6 typed config(s)")
                    })
            });
        assert!(passed, "{example}: {}", text(&output.stdout));
        // As the spec names it: kvstore.yaml pins 1.1, the docker one not.
        assert!(
            report["plan"]["distribution"]
                .as_str()
                .is_some_and(|named| named.starts_with("kvstore")),
            "{report}"
        );
    }
    // The text plan says how a distribution installs.
    let output = deck
        .command(&["validate", "examples/kvstore.yaml"])
        .env("PATH", plugin_path())
        .output()
        .expect("run clusterdeck");
    let said = text(&output.stdout);
    assert!(
        said.contains(
            "install with distribution kvstore 1.1: configure, then start, on every node"
        ),
        "{said}"
    );
}
