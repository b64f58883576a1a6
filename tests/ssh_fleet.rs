//! The ssh backend and transport against real OpenSSH servers: run and
//! debuggers across a fleet with folding, a node that is down, a command that
//! hangs, host key checking, agent auth, ssh config aliases, install.

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::fleet::{Fleet, USER, fleet};
use common::{BIN, text};

/// Runs clusterdeck with the fleet's empty HOME and a private state dir.
fn deck(fleet: &Fleet, args: &[&str]) -> Output {
    deck_with(fleet, args, &[])
}

fn deck_with(fleet: &Fleet, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", fleet.dir.path().join("state"))
        .env("HOME", &fleet.home)
        .env_remove("SSH_AUTH_SOCK");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run clusterdeck")
}

fn events(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn summary_of(output: &Output) -> serde_json::Value {
    events(output)
        .into_iter()
        .rev()
        .find(|event| event["event"] == "operation_finished")
        .map(|event| event["summary"].clone())
        .unwrap_or_else(|| panic!("no summary in {}", text(&output.stdout)))
}

fn spec_path(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

const INSTALL: &str =
    "install:\n  from: install.sh\n  config: { greeting: hello }\ncheck_placeholder";

#[test]
fn install_run_and_debuggers_fold_across_the_fleet() {
    let Some(fleet) = fleet("install_run_and_debuggers_fold_across_the_fleet", 4) else {
        return;
    };
    std::fs::write(
        fleet.dir.path().join("install.sh"),
        "#!/bin/sh\nset -e\necho clusterdeck:progress 50 writing\ngrep -q hello config.json\necho \"$1\" > \"$CLUSTERDECK_NODE_DIR/installed\"\necho installed $1 on $CLUSTERDECK_NODE\n",
    )
    .expect("installer");
    let extra = INSTALL.replace(
        "check_placeholder",
        "checks:\n  debuggers:\n    - { name: installed, roles: [web], run: \"cat installed\", expect: \"^web$\", timeout: 10s }\n",
    );
    let spec = fleet.spec("sshfold", "", &extra);
    let up = deck(&fleet, &["-o", "json", "up", spec_path(&spec)]);
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stderr),
        text(&up.stdout)
    );
    let summary = summary_of(&up);
    assert_eq!(summary["tally"]["pass"], 4, "{summary:#}");
    assert_eq!(summary["results"][0]["nodes"], "web-[1-4]");
    assert_eq!(summary["results"][0]["output"], "web");

    let same = deck(
        &fleet,
        &["-o", "json", "run", "sshfold", "--", "echo same; whoami"],
    );
    assert!(same.status.success(), "{}", text(&same.stderr));
    let folded = summary_of(&same);
    assert_eq!(
        folded["results"].as_array().map(Vec::len),
        Some(1),
        "{folded:#}"
    );
    assert_eq!(folded["results"][0]["nodes"], "web-[1-4]");
    assert_eq!(folded["results"][0]["output"], format!("same\n{USER}"));
    // One record per node as it finishes, plus the summary.
    let per_node = events(&same)
        .iter()
        .filter(|event| event["event"] == "check_result")
        .count();
    assert_eq!(per_node, 4);

    let apart = deck(
        &fleet,
        &[
            "-o",
            "json",
            "run",
            "sshfold",
            "--",
            "echo $CLUSTERDECK_NODE",
        ],
    );
    assert_eq!(
        summary_of(&apart)["results"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(deck(&fleet, &["destroy", "sshfold"]).status.success());
}

#[test]
fn a_node_that_is_down_is_unreachable_and_the_others_answer() {
    let Some(mut fleet) = fleet(
        "a_node_that_is_down_is_unreachable_and_the_others_answer",
        3,
    ) else {
        return;
    };
    let spec = fleet.spec("sshdown", "    connect_timeout_ms: 3000\n", "");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    fleet.stop_node(1);
    let run = deck(&fleet, &["-o", "json", "run", "sshdown", "--", "echo up"]);
    assert_eq!(run.status.code(), Some(1));
    let summary = summary_of(&run);
    assert_eq!(summary["tally"]["pass"], 2, "{summary:#}");
    assert_eq!(summary["tally"]["unreachable"], 1);
    let down = summary["results"]
        .as_array()
        .and_then(|results| {
            results
                .iter()
                .find(|result| result["status"] == "unreachable")
        })
        .expect("an unreachable row");
    assert_eq!(down["nodes"], "web-2");
    assert!(
        down["message"]
            .as_str()
            .is_some_and(|message| message.contains("cannot connect")),
        "{down:#}"
    );
    fleet.start_node(1);
    assert!(
        deck(&fleet, &["run", "sshdown", "--", "true"])
            .status
            .success()
    );
}

#[test]
fn a_hanging_command_times_out_and_is_killed() {
    let Some(fleet) = fleet("a_hanging_command_times_out_and_is_killed", 2) else {
        return;
    };
    let spec = fleet.spec("sshhang", "", "");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    let marker = format!("sleep 4{}", std::process::id() % 1000);
    let started = Instant::now();
    let run = deck(
        &fleet,
        &[
            "-o",
            "json",
            "run",
            "sshhang",
            "--timeout",
            "1s",
            "--",
            &format!("{marker}; echo never"),
        ],
    );
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(run.status.code(), Some(1));
    let summary = summary_of(&run);
    assert_eq!(summary["tally"]["timeout"], 2, "{summary:#}");
    std::thread::sleep(Duration::from_millis(300));
    let left = Command::new("pgrep")
        .args(["-u", USER, "-f", &marker])
        .output()
        .expect("pgrep");
    assert!(
        !left.status.success(),
        "the timed-out command still runs: {}",
        text(&left.stdout)
    );
}

#[test]
fn host_keys_are_checked_strictly_or_learned_on_request() {
    let Some(fleet) = fleet("host_keys_are_checked_strictly_or_learned_on_request", 3) else {
        return;
    };
    // Node 2's entry holds another key: a mismatch is refused, naming both.
    let impostor = fleet.dir.path().join("impostor");
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&impostor)
        .status()
        .expect("keygen");
    assert!(status.success());
    let impostor_pub = std::fs::read_to_string(impostor.with_extension("pub")).expect("pub");
    let blob = impostor_pub.split_whitespace().nth(1).expect("blob");
    let known = std::fs::read_to_string(&fleet.known_hosts).expect("known");
    let lines: Vec<String> = known
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if index == 1 {
                let host = line.split_whitespace().next().unwrap_or_default();
                format!("{host} ssh-ed25519 {blob}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    std::fs::write(&fleet.known_hosts, lines.join("\n") + "\n").expect("write");
    let spec = fleet.spec("sshkeys", "", "");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    let run = deck(&fleet, &["-o", "json", "run", "sshkeys", "--", "true"]);
    assert_eq!(run.status.code(), Some(1));
    let summary = summary_of(&run);
    let refused = summary["results"]
        .as_array()
        .and_then(|results| {
            results
                .iter()
                .find(|result| result["status"] == "unreachable")
        })
        .expect("refused node");
    let message = refused["message"].as_str().unwrap_or_default();
    assert_eq!(refused["nodes"], "web-2");
    assert!(
        message.contains("host key mismatch for node web-2"),
        "{message}"
    );
    assert_eq!(
        message.matches("SHA256:").count(),
        2,
        "both fingerprints: {message}"
    );
    assert_eq!(summary["tally"]["pass"], 2);

    // accept-new records unknown keys (an empty known_hosts) and connects.
    let learned = fleet.dir.path().join("learned_hosts");
    let spec = fleet.spec("sshlearn", "    host_key_policy: accept-new\n", "");
    let text_spec = std::fs::read_to_string(&spec).expect("spec").replace(
        &fleet.known_hosts.display().to_string(),
        &learned.display().to_string(),
    );
    std::fs::write(&spec, text_spec).expect("spec");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    let run = deck(&fleet, &["run", "sshlearn", "--", "true"]);
    assert!(run.status.success(), "{}", text(&run.stdout));
    let recorded = std::fs::read_to_string(&learned).expect("learned");
    assert_eq!(
        recorded.lines().filter(|line| !line.is_empty()).count(),
        3,
        "{recorded}"
    );

    // Strict with no entry at all is refused with the reason.
    std::fs::write(&learned, "").expect("empty");
    let spec = fleet.spec("sshstrict", "", "");
    let text_spec = std::fs::read_to_string(&spec).expect("spec").replace(
        &fleet.known_hosts.display().to_string(),
        &learned.display().to_string(),
    );
    std::fs::write(&spec, text_spec).expect("spec");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    let run = deck(&fleet, &["-o", "json", "run", "sshstrict", "--", "true"]);
    let summary = summary_of(&run);
    assert_eq!(summary["tally"]["unreachable"], 3);
    assert!(
        summary["results"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown host key"))
    );
}

#[test]
fn agent_auth_and_ssh_config_aliases() {
    let Some(fleet) = fleet("agent_auth_and_ssh_config_aliases", 2) else {
        return;
    };
    // An ssh config with aliases naming host, port, user and key.
    let config = fleet.dir.path().join("ssh_config");
    let mut text_config = String::new();
    for (index, node) in fleet.nodes.iter().enumerate() {
        text_config.push_str(&format!(
            "Host alias{index}\n  HostName 127.0.0.1\n  Port {}\n  User {USER}\n  IdentityFile {}\n",
            node.port,
            fleet.key.display()
        ));
    }
    std::fs::write(&config, text_config).expect("config");
    let spec_text = format!(
        "name: sshalias\nbackend:\n  kind: ssh\n  options: {{ ssh_config: \"{}\", known_hosts: \"{}\", use_agent: false }}\nnode_groups:\n  - {{ name: web, count: 2, roles: [web], options: {{ hosts: [alias0, alias1] }} }}\n",
        config.display(),
        fleet.known_hosts.display()
    );
    let spec = fleet.dir.path().join("alias.yaml");
    std::fs::write(&spec, spec_text).expect("spec");
    assert!(deck(&fleet, &["up", spec_path(&spec)]).status.success());
    let run = deck(&fleet, &["-o", "json", "run", "sshalias", "--", "whoami"]);
    assert!(run.status.success(), "{}", text(&run.stdout));
    assert_eq!(summary_of(&run)["results"][0]["output"], USER);

    // Agent auth: no key files at all, only an agent holding the key.
    let socket = fleet.dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .args(["-D", "-a"])
        .arg(&socket)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = Command::new("ssh-add")
        .arg(&fleet.key)
        .env("SSH_AUTH_SOCK", &socket)
        .output()
        .expect("ssh-add");
    assert!(added.status.success(), "{}", text(&added.stderr));
    let spec_text = format!(
        "name: sshagent\nbackend:\n  kind: ssh\n  options: {{ user: {USER}, ssh_config: \"\", known_hosts: \"{}\" }}\nnode_groups:\n  - {{ name: web, count: 2, roles: [web], options: {{ hosts: [{}] }} }}\n",
        fleet.known_hosts.display(),
        fleet.hosts().join(", ")
    );
    let spec = fleet.dir.path().join("agent.yaml");
    std::fs::write(&spec, spec_text).expect("spec");
    let socket_text = socket.display().to_string();
    let env = [("SSH_AUTH_SOCK", socket_text.as_str())];
    assert!(
        deck_with(&fleet, &["up", spec_path(&spec)], &env)
            .status
            .success()
    );
    let with_agent = deck_with(
        &fleet,
        &["-o", "json", "run", "sshagent", "--", "true"],
        &env,
    );
    let without_agent = deck(&fleet, &["-o", "json", "run", "sshagent", "--", "true"]);
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(with_agent.status.success(), "{}", text(&with_agent.stdout));
    assert_eq!(
        summary_of(&without_agent)["tally"]["unreachable"],
        2,
        "no agent, no key: refused"
    );
}

#[test]
fn run_on_hosts_given_on_the_command_line() {
    let Some(fleet) = fleet("run_on_hosts_given_on_the_command_line", 3) else {
        return;
    };
    let hosts = fleet.hosts().join(",");
    let key = fleet.key.display().to_string();
    let run = deck(
        &fleet,
        &[
            "-o",
            "json",
            "run",
            "--hosts",
            &hosts,
            "--ssh-user",
            USER,
            "--ssh-key",
            &key,
            "--accept-new-host-keys",
            "--",
            "echo same",
        ],
    );
    assert!(
        run.status.success(),
        "{}\n{}",
        text(&run.stderr),
        text(&run.stdout)
    );
    let summary = summary_of(&run);
    let nodes = summary["results"][0]["nodes"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        nodes.starts_with("127.0.0.1-["),
        "nodes are named after the hosts: {nodes}"
    );
    assert_eq!(summary["results"][0]["node_count"], 3);
    // The hosts were learned into the (empty) HOME's known_hosts; nothing recorded.
    let known = std::fs::read_to_string(fleet.home.join(".ssh/known_hosts")).expect("learned");
    assert_eq!(known.lines().filter(|line| !line.is_empty()).count(), 3);
    let list = deck(&fleet, &["list"]);
    assert!(
        text(&list.stdout).contains("no clusters"),
        "{}",
        text(&list.stdout)
    );
    // Without the key, strict host keys and no agent: unreachable, exit 1.
    let refused = deck(
        &fleet,
        &["run", "--hosts", &hosts, "--ssh-user", USER, "--", "true"],
    );
    assert_eq!(refused.status.code(), Some(1));
}
