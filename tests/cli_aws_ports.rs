//! A distribution's `open_ports` on aws, against moto: the security group
//! allows each port of a group from `admin_location`, and destroy still
//! leaves nothing. The distribution is a tiny plugin written by the test
//! that answers only versions, configs and open_ports (its phases are
//! missing, so they do nothing): no node is reached over SSH.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use common::moto::{Moto, moto};
use common::{BIN, text};

/// Opens 7070/tcp on masters and 9000/udp on agents.
const PORTS_PLUGIN: &str = r#"#!/usr/bin/env python3
import json, sys

def answer(params, method):
    if method == "initialize":
        return {"protocol_version": 1, "name": "ports", "version": "1.0", "kinds": ["distribution"]}
    if method == "distribution.versions":
        return {"versions": ["1"]}
    if method == "distribution.configs":
        return {"configs": []}
    if method == "distribution.open_ports":
        group = next(g for g in params["cluster"]["groups"] if g["name"] == params["group"])
        if "master" in group["roles"]:
            return {"ports": [{"port": 7070, "protocol": "tcp"}]}
        return {"ports": [{"port": 9000, "protocol": "udp"}]}
    return None

for line in sys.stdin:
    message = json.loads(line)
    if message.get("id") is None:
        continue
    result = answer(message.get("params") or {}, message.get("method"))
    if result is None:
        reply = {"error": {"code": -32601, "message": "no method " + message.get("method", "")}}
    else:
        reply = {"result": result}
    reply.update({"jsonrpc": "2.0", "id": message["id"]})
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()
"#;

fn deck(state: &Path, moto: &Moto, args: &[&str]) -> Output {
    let mut command = std::process::Command::new(BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", state)
        .env_remove("AWS_PROFILE");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command.output().expect("run clusterdeck")
}

#[test]
fn a_distributions_ports_are_allowed_from_admin_location() {
    let Some(moto) = moto("a_distributions_ports_are_allowed_from_admin_location", &[]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let plugin = dir.path().join("ports-plugin");
    std::fs::write(&plugin, PORTS_PLUGIN).expect("plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let spec = dir.path().join("ports.yaml");
    std::fs::write(
        &spec,
        "name: awsports\nbackend:\n  kind: aws\n  options:\n    ami: ami-1e749f67\n    admin_location: 203.0.113.0/24\n\
         node_groups:\n  - { name: masters, count: 1, roles: [master] }\n  - { name: agents, count: 2, roles: [agent] }\n\
         install:\n  distribution: ports\n  path: ./ports-plugin\n",
    )
    .expect("spec");
    let state = dir.path().join("state");
    let spec = spec.to_str().expect("utf-8");
    let up = deck(&state, &moto, &["-o", "json", "up", spec]);
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stdout),
        text(&up.stderr)
    );
    let groups = moto.security_groups();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    let rules = groups[0]["IpPermissions"].as_array().expect("rules");
    for (protocol, port) in [("tcp", 7070), ("udp", 9000)] {
        assert!(
            rules.iter().any(|rule| rule["IpProtocol"] == protocol
                && rule["FromPort"] == port
                && rule["ToPort"] == port
                && rule["IpRanges"][0]["CidrIp"] == "203.0.113.0/24"),
            "no {port}/{protocol} rule from admin_location: {rules:#?}"
        );
    }
    // Grow the agents: their port is there already, which is fine.
    let grow = deck(&state, &moto, &["scale", "awsports", "agents", "3"]);
    assert!(grow.status.success(), "{}", text(&grow.stderr));

    let destroy = deck(&state, &moto, &["destroy", "awsports"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert!(moto.live_instances().is_empty(), "instances left");
    assert!(moto.security_groups().is_empty(), "security group left");
    assert!(moto.key_pairs().is_empty(), "key pair left");
}
