//! The docker backend through the real binary, against the real Docker
//! engine: a 1 + 3 cluster comes up, installs, runs its debuggers over
//! docker-exec, scales, stops and starts, and leaves nothing with its labels
//! once destroyed. Skipped (with the reason) without an engine or the node
//! image, failed instead under CI=true.

mod common;

use common::docker::{
    BUSYBOX, DEBIAN, DockerCleanup, Labelled, assert_nothing_left, container_states, docker,
    require, unique_name,
};
use common::tmux::{Tmux, require_tmux};
use common::{Deck, text};
use serde_json::Value;

/// A 1 + 3 cluster whose installer leaves a marker naming the role and a
/// daemon, and whose debuggers say which transport carried them.
const SPEC: &str = "name: NAME
backend: { kind: docker, options: { image: IMAGE, transport: TRANSPORT } }
node_groups:
  - { name: masters, count: 1, roles: [master] }
  - { name: agents, count: 3, roles: [agent] }
install:
  from: install.sh
  config: { greeting: hello }
checks:
  debuggers:
    - name: installed
      run: 'cat \"$CLUSTERDECK_NODE_DIR/installed\"'
      expect: '^installed (master|agent) on [a-z]+-[0-9]+$'
      timeout: 20s
    - name: transport
      run: 'if [ -n \"${SSH_CONNECTION:-}\" ]; then echo via-ssh; else echo via-exec; fi'
      expect: '^via-WANTED$'
      timeout: 20s
";

const INSTALLER: &str = "#!/bin/sh
set -eu
echo \"clusterdeck:progress 20 installing $1 on $CLUSTERDECK_NODE\"
grep -q hello config.json
nohup sh -c 'while :; do sleep 1; done' >/dev/null 2>&1 &
echo $! >\"$CLUSTERDECK_NODE_DIR/daemon.pid\"
echo \"installed $1 on $CLUSTERDECK_NODE\" >\"$CLUSTERDECK_NODE_DIR/installed\"
echo \"clusterdeck:progress 100 done\"
";

/// The spec for cluster `name` on `image` over `transport` (`docker-exec`
/// or `ssh`), written into `dir` with its installer.
fn write_cluster_spec(
    dir: &std::path::Path,
    name: &str,
    image: &str,
    transport: &str,
) -> std::path::PathBuf {
    let wanted = if transport == "ssh" { "ssh" } else { "exec" };
    let spec = SPEC
        .replace("NAME", name)
        .replace("IMAGE", image)
        .replace("TRANSPORT", transport)
        .replace("WANTED", wanted);
    common::write_spec(dir, &spec, INSTALLER)
}

/// `(node, status, output)` of every result of debugger `name`, by node.
fn debugger_results(events: &[Value], name: &str) -> Vec<(String, String, String)> {
    let mut results: Vec<(String, String, String)> = events
        .iter()
        .filter(|event| {
            event["event"] == "check_result" && event["kind"] == "debugger" && event["name"] == name
        })
        .map(|event| {
            (
                event["node"].as_str().unwrap_or_default().to_owned(),
                event["status"].as_str().unwrap_or_default().to_owned(),
                event["output"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            )
        })
        .collect();
    results.sort();
    results
}

/// Runs `args` with `-o json`; asserts success and returns the events.
fn json_ok(deck: &Deck, args: &[&str]) -> Vec<Value> {
    let mut full = vec!["-o", "json"];
    full.extend_from_slice(args);
    let output = deck.run(&full);
    assert!(
        output.status.success(),
        "{args:?} failed: {}\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    Deck::events(&output)
}

/// `node=state` of cluster `name`'s containers of `group`, from
/// [`container_states`]: the containers are `clusterdeck-<cluster>-<node>`.
fn containers(name: &str, group: &str, states: &[(String, String)]) -> Vec<String> {
    let prefix = format!("clusterdeck-{name}-");
    states
        .iter()
        .filter_map(|(container, state)| {
            let node = container.strip_prefix(&prefix)?;
            node.starts_with(&format!("{group}-"))
                .then(|| format!("{node}={state}"))
        })
        .collect()
}

fn record_nodes(deck: &Deck, name: &str) -> Vec<(String, String)> {
    let record = deck.record(name);
    let mut nodes: Vec<(String, String)> = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (
                node["name"].as_str().expect("name").to_owned(),
                node["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    nodes.sort();
    nodes
}

/// Checks that `up` passed both debuggers on every node of the 1 + 3 cluster.
fn assert_debuggers_passed(events: &[Value], transport: &str) {
    let nodes = ["agents-1", "agents-2", "agents-3", "masters-1"];
    let installed = debugger_results(events, "installed");
    assert_eq!(installed.len(), 4, "{installed:?}");
    for ((node, status, output), wanted) in installed.iter().zip(nodes) {
        assert_eq!(node, wanted);
        assert_eq!(status, "pass", "{node}: {output}");
        let role = if node.starts_with("masters") {
            "master"
        } else {
            "agent"
        };
        assert_eq!(output, &format!("installed {role} on {node}"));
    }
    let via = debugger_results(events, "transport");
    let wanted = format!("via-{transport}");
    assert!(
        via.len() == 4
            && via
                .iter()
                .all(|(_, status, output)| status == "pass" && *output == wanted),
        "{via:?}"
    );
}

#[test]
fn a_cluster_comes_up_scales_stops_starts_and_leaves_nothing() {
    if !require(
        "a_cluster_comes_up_scales_stops_starts_and_leaves_nothing",
        &[BUSYBOX],
    ) {
        return;
    }
    let name = unique_name("life");
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_cluster_spec(dir.path(), &name, BUSYBOX, "docker-exec");

    let up = json_ok(&deck, &["up", "--headless", spec.to_str().expect("path")]);
    assert_debuggers_passed(&up, "exec");
    let states = container_states(&name);
    assert_eq!(containers(&name, "masters", &states), ["masters-1=running"]);
    assert_eq!(
        containers(&name, "agents", &states),
        ["agents-1=running", "agents-2=running", "agents-3=running"]
    );
    let labelled = Labelled::of_cluster(&name);
    assert_eq!(
        labelled.networks.len(),
        1,
        "the cluster's own network: {labelled:?}"
    );

    // Grows by two installed nodes, then shrinks by three, highest first.
    let grown = json_ok(&deck, &["scale", &name, "agents", "5"]);
    let installed = debugger_results(&grown, "installed");
    assert_eq!(
        installed.len(),
        6,
        "debuggers run on the whole cluster: {installed:?}"
    );
    assert!(
        installed.iter().all(|(_, status, _)| status == "pass"),
        "{installed:?}"
    );
    assert_eq!(
        containers(&name, "agents", &container_states(&name)),
        [
            "agents-1=running",
            "agents-2=running",
            "agents-3=running",
            "agents-4=running",
            "agents-5=running"
        ]
    );
    json_ok(&deck, &["scale", &name, "agents", "2"]);
    assert_eq!(
        containers(&name, "agents", &container_states(&name)),
        ["agents-1=running", "agents-2=running"]
    );
    assert_eq!(
        record_nodes(&deck, &name)
            .iter()
            .map(|(node, _)| node.as_str())
            .collect::<Vec<_>>(),
        ["agents-1", "agents-2", "masters-1"]
    );

    // Stopped: every container exits; started: they run again and answer.
    json_ok(&deck, &["stop", &name]);
    let stopped = container_states(&name);
    assert!(
        stopped.len() == 3 && stopped.iter().all(|(_, state)| state == "exited"),
        "{stopped:?}"
    );
    let refused = deck.run(&["run", &name, "--", "true"]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "run on a stopped cluster: {}",
        text(&refused.stderr)
    );
    json_ok(&deck, &["start", &name]);
    let started = container_states(&name);
    assert!(
        started.len() == 3 && started.iter().all(|(_, state)| state == "running"),
        "{started:?}"
    );
    let after_start = json_ok(
        &deck,
        &[
            "run",
            &name,
            "--",
            "cat \"$CLUSTERDECK_NODE_DIR/installed\"",
        ],
    );
    let results: Vec<&Value> = after_start
        .iter()
        .filter(|event| event["event"] == "check_result")
        .collect();
    assert!(
        results.len() == 3 && results.iter().all(|event| event["status"] == "pass"),
        "the node directories survive stop and start: {results:?}"
    );

    let destroy = deck.run(&["destroy", &name]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert_nothing_left(&name);
    assert!(!deck.state.path().join("clusters").join(&name).exists());
}

#[test]
fn debuggers_run_over_ssh_on_the_sshd_image() {
    if !require("debuggers_run_over_ssh_on_the_sshd_image", &[DEBIAN]) {
        return;
    }
    let name = unique_name("ssh");
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_cluster_spec(dir.path(), &name, DEBIAN, "ssh");

    let up = json_ok(&deck, &["up", "--headless", spec.to_str().expect("path")]);
    assert_debuggers_passed(&up, "ssh");
    let run = json_ok(
        &deck,
        &[
            "run",
            &name,
            "--role",
            "agent",
            "--",
            "echo \"$SSH_CONNECTION\" | wc -w",
        ],
    );
    let results: Vec<&Value> = run
        .iter()
        .filter(|event| event["event"] == "check_result")
        .collect();
    assert!(
        results.len() == 3
            && results.iter().all(|event| event["status"] == "pass"
                && event["output"].as_str().map(str::trim) == Some("4")),
        "run goes over ssh too: {results:?}"
    );

    let destroy = deck.run(&["destroy", &name]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert_nothing_left(&name);
}

#[test]
fn a_new_clusterdeck_process_shows_the_cluster_and_attaches_to_it() {
    let test = "a_new_clusterdeck_process_shows_the_cluster_and_attaches_to_it";
    if !require(test, &[BUSYBOX]) || !require_tmux(test) {
        return;
    }
    let name = unique_name("again");
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_cluster_spec(dir.path(), &name, BUSYBOX, "docker-exec");
    let up = deck.run(&["up", "--headless", spec.to_str().expect("path")]);
    assert!(up.status.success(), "{}", text(&up.stderr));

    // The `up` process is gone; a new one finds every node running.
    let nodes = record_nodes(&deck, &name);
    assert_eq!(
        nodes,
        [
            ("agents-1".to_owned(), "running".to_owned()),
            ("agents-2".to_owned(), "running".to_owned()),
            ("agents-3".to_owned(), "running".to_owned()),
            ("masters-1".to_owned(), "running".to_owned()),
        ]
    );
    let list = deck.run(&["list"]);
    assert!(text(&list.stdout).contains(&name), "{}", text(&list.stdout));

    let tmux = Tmux::open_in(deck, &name, &format!("attach {name}"), "", "again");
    let screen = tmux.wait_for(&format!("showing cluster {name}"));
    assert!(screen.contains("agents-3"), "{screen}");
    tmux.keys(&[":"]);
    tmux.type_line("run all echo attached-$CLUSTERDECK_NODE");
    let screen = tmux.wait_for("run succeeded");
    assert!(screen.contains("attached-agents-2"), "{screen}");

    // Killed from outside: the dashboard follows the engine's events, and a
    // new process's `inspect` sees it too.
    let killed = docker(&["kill", &format!("clusterdeck-{name}-agents-3")]);
    assert!(killed.status.success(), "{}", text(&killed.stderr));
    let screen = tmux.wait_for("[exited]");
    assert!(
        screen
            .lines()
            .any(|line| line.contains("agents-3") && line.contains("[exited]")),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    let nodes = record_nodes(&tmux.deck, &name);
    assert!(
        nodes.contains(&("agents-3".to_owned(), "exited".to_owned()))
            && nodes.contains(&("agents-2".to_owned(), "running".to_owned())),
        "{nodes:?}"
    );
}

/// Runs `up` of `spec` (a cluster named `name`) that must fail before any
/// node exists, with `env` set; returns stdout and stderr together.
fn failed_up(deck: &Deck, name: &str, spec: &str, env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(dir.path(), &spec.replace("NAME", name), INSTALLER);
    let mut command = deck.command(&["up", "--headless", spec.to_str().expect("path")]);
    command.envs(env.iter().copied());
    let output = command.output().expect("run clusterdeck");
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!output.status.success(), "up succeeded: {said}");
    assert_nothing_left(name);
    said
}

#[test]
fn a_missing_image_an_unreachable_engine_and_a_bad_mount_name_their_option() {
    let test = "a_missing_image_an_unreachable_engine_and_a_bad_mount_name_their_option";
    if !require(test, &[]) {
        return;
    }
    let deck = Deck::new();

    let name = unique_name("noimage");
    let _cleanup = DockerCleanup::new(&deck, &name);
    let said = failed_up(
        &deck,
        &name,
        "name: NAME
backend: { kind: docker, options: { image: 'clusterdeck/no-such-image:never' } }
node_groups: [{ name: nodes, count: 2, roles: [node] }]
",
        &[],
    );
    assert!(
        said.contains("clusterdeck/no-such-image:never") && said.contains("image"),
        "{said}"
    );

    let name = unique_name("noengine");
    let _cleanup = DockerCleanup::new(&deck, &name);
    let said = failed_up(
        &deck,
        &name,
        &format!(
            "name: NAME
backend: {{ kind: docker, options: {{ image: '{BUSYBOX}' }} }}
node_groups: [{{ name: nodes, count: 2, roles: [node] }}]
"
        ),
        &[("DOCKER_HOST", "unix:///nonexistent")],
    );
    assert!(
        said.contains("DOCKER_HOST") && said.contains("unix:///nonexistent"),
        "{said}"
    );

    let name = unique_name("badmount");
    let _cleanup = DockerCleanup::new(&deck, &name);
    let said = failed_up(
        &deck,
        &name,
        &format!(
            "name: NAME
backend: {{ kind: docker, options: {{ image: '{BUSYBOX}' }} }}
node_groups:
  - {{ name: nodes, count: 2, roles: [node], options: {{ mounts: ['/no/such/dir/for/clusterdeck:/data:ro'] }} }}
"
        ),
        &[],
    );
    assert!(
        said.contains("mounts") && said.contains("/no/such/dir/for/clusterdeck"),
        "{said}"
    );
}

/// `examples/docker.yaml` as shipped (only its name made unique, and its
/// relative paths made absolute, since it is copied elsewhere) comes up and
/// passes its debuggers.
#[test]
fn the_docker_example_comes_up_and_passes_its_debuggers() {
    let test = "the_docker_example_comes_up_and_passes_its_debuggers";
    if !require(test, &[DEBIAN]) {
        return;
    }
    let name = unique_name("example");
    let deck = Deck::new();
    let _cleanup = DockerCleanup::new(&deck, &name);
    let root = common::repo_root();
    let example = std::fs::read_to_string(root.join("examples/docker.yaml")).expect("example");
    assert!(example.contains("name: docker-demo\n"), "{example}");
    let spec = example
        .replace("name: docker-demo\n", &format!("name: {name}\n"))
        .replace("../assets/", &format!("{}/assets/", root.display()));
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("docker.yaml");
    std::fs::write(&path, spec).expect("write spec");

    let up = json_ok(&deck, &["up", "--headless", path.to_str().expect("path")]);
    let results: Vec<(String, String)> = up
        .iter()
        .filter(|event| event["event"] == "check_result" && event["kind"] == "debugger")
        .map(|event| {
            (
                format!("{} {}", event["name"], event["node"]),
                event["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    // agent-up on 3 agents, master-config on the master, address on all 4.
    assert_eq!(results.len(), 8, "{results:?}");
    assert!(
        results.iter().all(|(_, status)| status == "pass"),
        "{results:?}"
    );
    let destroy = deck.run(&["destroy", &name]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert_nothing_left(&name);
}
