//! The aws backend through the real binary, against moto (EC2 emulator) and
//! a fleet of real loopback sshd servers: moto's instance addresses are
//! fake, so an ssh config maps each of them to one of the fleet's servers
//! and install, run and debuggers go through the real SSH path.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fleet::{Fleet, USER, fleet};
use common::moto::{Moto, moto};
use common::{BIN, text};
use serde_json::Value;

const AMI: &str = "ami-1e749f67";

/// Runs clusterdeck with the fleet's empty HOME, a private state dir and
/// moto's endpoint and test credentials in the environment.
fn deck(state: &Path, home: &Path, moto: &Moto, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", state)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("AWS_PROFILE");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command.output().expect("run clusterdeck")
}

fn events(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

fn summary_of(output: &Output) -> Value {
    events(output)
        .into_iter()
        .rev()
        .find(|event| event["event"] == "operation_finished")
        .map(|event| event["summary"].clone())
        .unwrap_or_else(|| panic!("no summary in {}", text(&output.stdout)))
}

/// An ssh config sending every address to the fleet's first server, with
/// the fleet's client key (the instances' own key is the cluster's; the
/// fleet only knows its own).
fn catch_all_config(fleet: &Fleet) -> String {
    format!(
        "Host *\n  HostName 127.0.0.1\n  Port {}\n  User {USER}\n  IdentityFile {}\n",
        fleet.nodes[0].port,
        fleet.key.display()
    )
}

fn write_spec(
    dir: &Path,
    name: &str,
    ssh_config: &Path,
    agents: u32,
    extra_options: &str,
) -> PathBuf {
    std::fs::write(
        dir.join("install.sh"),
        "#!/bin/sh\nset -e\necho clusterdeck:progress 50 writing\necho ok > \"$CLUSTERDECK_NODE_DIR/installed\"\n",
    )
    .expect("installer");
    let spec = format!(
        "name: {name}
backend:
  kind: aws
  options:
    region: us-east-1
    admin_location: 203.0.113.0/24
    ami: {AMI}
    ssh_user: {USER}
    ssh_config: \"{config}\"
    deploy_timeout: 60
    tags: [\"team=qa\"]
{extra_options}node_groups:
  - {{ name: masters, count: 1, roles: [master], options: {{ instance_type: t3.medium }} }}
  - {{ name: agents, count: {agents}, roles: [agent] }}
install:
  from: install.sh
checks:
  debuggers:
    - {{ name: installed, run: \"cat installed\", expect: \"^ok$\", timeout: 20s }}
",
        config = ssh_config.display()
    );
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(&path, spec).expect("spec");
    path
}

fn tag<'v>(instance: &'v Value, key: &str) -> Option<&'v str> {
    instance["TagMap"][key].as_str()
}

#[test]
fn a_cluster_comes_up_installs_over_ssh_scales_and_is_destroyed_without_a_trace() {
    const TEST: &str =
        "a_cluster_comes_up_installs_over_ssh_scales_and_is_destroyed_without_a_trace";
    let Some(moto) = moto(TEST, &[]) else {
        return;
    };
    let Some(fleet) = fleet(TEST, 2) else {
        return;
    };
    let state = fleet.dir.path().join("state");
    let config = fleet.dir.path().join("ssh_config");
    std::fs::write(&config, catch_all_config(&fleet)).expect("ssh config");
    let spec = write_spec(fleet.dir.path(), "awsup", &config, 3, "");
    let run = |args: &[&str]| deck(&state, &fleet.home, &moto, args);

    let up = run(&["-o", "json", "up", spec.to_str().expect("utf-8")]);
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stderr),
        text(&up.stdout)
    );
    let summary = summary_of(&up);
    assert_eq!(summary["tally"]["pass"], 4, "{summary:#}");

    // inspect: four nodes with an instance id and two addresses each.
    let inspect = run(&["inspect", "awsup", "--json"]);
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let record: Value = serde_json::from_slice(&inspect.stdout).expect("record");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let nodes = record["nodes"].as_array().expect("nodes").clone();
    assert_eq!(nodes.len(), 4);
    for node in &nodes {
        assert!(
            node["id"].as_str().is_some_and(|id| id.starts_with("i-")),
            "{node}"
        );
        assert_eq!(
            node["addresses"].as_array().map(Vec::len),
            Some(2),
            "{node}"
        );
    }

    // What EC2 holds, asked with another client (boto3).
    let live = moto.live_instances();
    assert_eq!(live.len(), 4, "{live:#?}");
    for instance in &live {
        assert_eq!(tag(instance, "clusterdeck.uid"), Some(uid.as_str()));
        assert_eq!(tag(instance, "clusterdeck.cluster"), Some("awsup"));
        assert_eq!(tag(instance, "team"), Some("qa"));
        assert!(tag(instance, "clusterdeck.expires").is_some_and(|at| at.parse::<u64>().is_ok()));
        assert_eq!(instance["KeyName"], format!("clusterdeck-{uid}"));
        let group = tag(instance, "clusterdeck.group").expect("group tag");
        let (roles, kind) = if group == "masters" {
            ("master", "t3.medium")
        } else {
            ("agent", "t3.small")
        };
        assert_eq!(tag(instance, "clusterdeck.roles"), Some(roles));
        assert_eq!(instance["InstanceType"], kind);
    }
    let groups = moto.security_groups();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    let group = &groups[0];
    assert_eq!(group["GroupName"], format!("clusterdeck-{uid}"));
    let rules = group["IpPermissions"].as_array().expect("rules");
    assert!(
        rules.iter().any(|rule| rule["IpProtocol"] == "tcp"
            && rule["FromPort"] == 22
            && rule["IpRanges"][0]["CidrIp"] == "203.0.113.0/24"),
        "no SSH rule from admin_location: {rules:#?}"
    );
    assert!(
        rules.iter().any(|rule| rule["IpProtocol"] == "-1"
            && rule["UserIdGroupPairs"][0]["GroupId"] == group["GroupId"]),
        "no rule for traffic inside the group: {rules:#?}"
    );
    let keys = moto.key_pairs();
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0]["KeyName"], format!("clusterdeck-{uid}"));
    let private = state.join("clusters/awsup/aws_ed25519");
    let mode = std::fs::metadata(&private)
        .expect("private key")
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Each instance's address to a server of its own: `run` shows which
    // server answered for each node.
    let mut mapping = String::new();
    let mut expected = Vec::new();
    for (position, node) in nodes.iter().enumerate() {
        let address = node["addresses"][1].as_str().expect("public address");
        let port = fleet.nodes[position % 2].port;
        mapping.push_str(&format!(
            "Host {address}\n  HostName 127.0.0.1\n  Port {port}\n"
        ));
        expected.push((
            node["name"].as_str().expect("name").to_owned(),
            port.to_string(),
        ));
    }
    std::fs::write(&config, format!("{mapping}{}", catch_all_config(&fleet))).expect("ssh config");
    let ran = run(&[
        "-o",
        "json",
        "run",
        "awsup",
        "--",
        "echo port ${SSH_CONNECTION##* }",
    ]);
    assert!(
        ran.status.success(),
        "{}\n{}",
        text(&ran.stderr),
        text(&ran.stdout)
    );
    for (name, port) in &expected {
        assert!(
            events(&ran)
                .iter()
                .any(|event| event["event"] == "check_result"
                    && event["node"] == name.as_str()
                    && event["output"] == format!("port {port}")),
            "{name} did not answer from port {port}: {}",
            text(&ran.stdout)
        );
    }
    let debug = run(&["-o", "json", "debug", "awsup"]);
    assert!(
        debug.status.success(),
        "{}\n{}",
        text(&debug.stderr),
        text(&debug.stdout)
    );
    assert_eq!(summary_of(&debug)["tally"]["pass"], 4);

    // 3 → 5 → 1 agents.
    let grow = run(&["-o", "json", "scale", "awsup", "agents", "5"]);
    assert!(
        grow.status.success(),
        "{}\n{}",
        text(&grow.stderr),
        text(&grow.stdout)
    );
    assert_eq!(moto.live_instances().len(), 6);
    let shrink = run(&["-o", "json", "scale", "awsup", "agents", "1"]);
    assert!(
        shrink.status.success(),
        "{}\n{}",
        text(&shrink.stderr),
        text(&shrink.stdout)
    );
    let live = moto.live_instances();
    assert_eq!(live.len(), 2, "{live:#?}");
    let record: Value =
        serde_json::from_slice(&run(&["inspect", "awsup", "--json"]).stdout).expect("record");
    let names: Vec<&str> = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|node| node["name"].as_str())
        .collect();
    assert_eq!(names, ["masters-1", "agents-1"]);

    let destroy = run(&["-o", "json", "destroy", "awsup"]);
    assert!(
        destroy.status.success(),
        "{}\n{}",
        text(&destroy.stderr),
        text(&destroy.stdout)
    );
    assert!(moto.live_instances().is_empty(), "instances left");
    assert!(moto.security_groups().is_empty(), "security group left");
    assert!(moto.key_pairs().is_empty(), "key pair left");
    assert!(!state.join("clusters/awsup").exists(), "state left");
}

#[test]
fn an_installer_url_is_fetched_by_each_node_itself() {
    const TEST: &str = "an_installer_url_is_fetched_by_each_node_itself";
    const INSTALLER: &[u8] = b"#!/bin/sh\necho \"$1 via url\" > ../role.txt\n";
    let Some(moto) = moto(TEST, &[]) else {
        return;
    };
    let Some(fleet) = fleet(TEST, 1) else {
        return;
    };
    let server = common::http::Server::start(vec![("/pkg/install.sh", INSTALLER.to_vec())]);
    let state = fleet.dir.path().join("state");
    let config = fleet.dir.path().join("ssh_config");
    std::fs::write(&config, catch_all_config(&fleet)).expect("ssh config");
    let spec = fleet.dir.path().join("awsurl.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: awsurl
backend:
  kind: aws
  options: {{ ami: {AMI}, admin_location: 203.0.113.0/24, ssh_user: {USER}, ssh_config: \"{config}\" }}
node_groups:
  - {{ name: masters, count: 1, roles: [master] }}
  - {{ name: agents, count: 1, roles: [agent] }}
install: {{ from: '{url}', sha256: {digest} }}
checks:
  debuggers:
    - {{ name: installed, run: cat role.txt, expect: 'via url$', timeout: 20s }}
",
            config = config.display(),
            url = server.url("/pkg/install.sh"),
            digest = common::http::sha256_hex(INSTALLER),
        ),
    )
    .expect("spec");
    let run = |args: &[&str]| deck(&state, &fleet.home, &moto, args);
    let up = run(&["-o", "json", "up", spec.to_str().expect("utf-8")]);
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stderr),
        text(&up.stdout)
    );
    assert_eq!(summary_of(&up)["tally"]["pass"], 2);
    let fetched: Vec<Value> = events(&up)
        .into_iter()
        .filter(|event| event["event"] == "step_finished" && event["step"] == "fetch")
        .collect();
    assert_eq!(
        fetched.len(),
        2,
        "each node fetches for itself: {fetched:#?}"
    );
    assert_eq!(
        server.requests(),
        2,
        "one download per node, none by clusterdeck"
    );
    let destroy = run(&["destroy", "awsurl"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert!(moto.live_instances().is_empty());
}
