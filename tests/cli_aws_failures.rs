//! The aws backend when things go wrong, against moto: bad options and an
//! EC2 error name their culprit and leave nothing in EC2; an `up` killed
//! with SIGKILL leaves instances, a security group and a key pair that
//! `gc --yes` finds by their tags and removes.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::moto::{Moto, moto};
use common::{BIN, text};
use serde_json::Value;

fn command(state: &Path, moto: &Moto, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", state)
        .env_remove("AWS_PROFILE");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command
}

fn deck(state: &Path, moto: &Moto, args: &[&str]) -> Output {
    command(state, moto, args)
        .output()
        .expect("run clusterdeck")
}

/// A spec without install or debuggers: nothing needs SSH.
fn spec(dir: &Path, name: &str, options: &str, agents: u32, agent_type: &str) -> String {
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nbackend:\n  kind: aws\n  options:\n{options}node_groups:\n  - {{ name: masters, count: 1, roles: [master] }}\n  - {{ name: agents, count: {agents}, roles: [agent], options: {{ instance_type: {agent_type} }} }}\n"
        ),
    )
    .expect("spec");
    path.to_str().expect("utf-8").to_owned()
}

fn assert_nothing_in_ec2(moto: &Moto, why: &str) {
    assert!(moto.live_instances().is_empty(), "{why}: instances left");
    assert!(
        moto.security_groups().is_empty(),
        "{why}: security group left"
    );
    assert!(moto.key_pairs().is_empty(), "{why}: key pair left");
}

fn all_output(output: &Output) -> String {
    format!("{}\n{}", text(&output.stdout), text(&output.stderr))
}

#[test]
fn bad_options_and_ec2_errors_name_their_culprit_and_leave_nothing() {
    const TEST: &str = "bad_options_and_ec2_errors_name_their_culprit_and_leave_nothing";
    let Some(moto) = moto(
        TEST,
        &[
            ("MOTO_ENABLE_AMI_VALIDATION", "true"),
            ("MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION", "true"),
        ],
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let good = "    ami: ami-1e749f67\n    admin_location: 198.51.100.0/24\n";

    let cases: [(&str, String, &str, &[&str]); 3] = [
        (
            "badregion",
            format!("{good}    region: mars-north-1\n"),
            "t3.small",
            &[
                "backend.options.region",
                "mars-north-1",
                "us-east-1",
                "eu-west-1",
            ],
        ),
        (
            "badcidr",
            "    ami: ami-1e749f67\n    admin_location: 10.0.0.0/99\n".to_owned(),
            "t3.small",
            &["backend.options.admin_location", "10.0.0.0/99"],
        ),
        (
            "badami",
            "    ami: ami-00000000\n    admin_location: 198.51.100.0/24\n".to_owned(),
            "t3.small",
            &["backend.options.ami", "ami-00000000", "DescribeImages"],
        ),
    ];
    for (name, options, agent_type, wanted) in cases {
        let path = spec(dir.path(), name, &options, 2, agent_type);
        let up = deck(&state, &moto, &["-o", "json", "up", &path]);
        assert!(!up.status.success(), "{name}: up succeeded");
        let said = all_output(&up);
        for needle in wanted {
            assert!(
                said.contains(needle),
                "{name}: {needle:?} not said in\n{said}"
            );
        }
        assert_nothing_in_ec2(&moto, name);
        let _ = deck(&state, &moto, &["destroy", name]);
    }

    // An EC2 error after the cluster-level resources exist: RunInstances
    // refuses the instance type; up fails naming the call, destroy
    // removes the key pair and the security group it had made.
    let path = spec(dir.path(), "badtype", good, 2, "x9.bogus");
    let up = deck(&state, &moto, &["-o", "json", "up", &path]);
    assert!(
        !up.status.success(),
        "up with a bogus instance type succeeded"
    );
    let said = all_output(&up);
    assert!(said.contains("EC2 RunInstances failed"), "{said}");
    assert!(
        !moto.key_pairs().is_empty(),
        "prepare should have made a key pair"
    );
    let destroy = deck(&state, &moto, &["-o", "json", "destroy", "badtype"]);
    assert!(destroy.status.success(), "{}", all_output(&destroy));
    assert_nothing_in_ec2(&moto, "badtype after destroy");
}

#[test]
fn an_up_killed_while_instances_start_is_collected_by_gc_from_its_tags() {
    const TEST: &str = "an_up_killed_while_instances_start_is_collected_by_gc_from_its_tags";
    let Some(moto) = moto(TEST, &[]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let path = spec(
        dir.path(),
        "killed",
        "    ami: ami-1e749f67\n    admin_location: 198.51.100.0/24\n",
        3,
        "t3.small",
    );
    let mut child = command(&state, &moto, &["-o", "json", "up", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn up");
    let stdout = child.stdout.take().expect("stdout");
    let mut killed = false;
    for line in BufReader::new(stdout).lines() {
        let event: Value = serde_json::from_str(&line.expect("line")).unwrap_or(Value::Null);
        if event["event"] == "step_progress"
            && event["message"]
                .as_str()
                .is_some_and(|message| message.contains("launched"))
        {
            child.kill().expect("SIGKILL");
            killed = true;
            break;
        }
    }
    let status = child.wait().expect("wait");
    assert!(killed, "up never reported launched instances ({status})");
    assert!(
        !moto.live_instances().is_empty(),
        "nothing was launched before the kill"
    );

    // The state that could have destroyed it is lost, too.
    std::fs::remove_dir_all(state.join("clusters/killed")).expect("remove the cluster's state");

    let dry = deck(&state, &moto, &["-o", "json", "gc"]);
    assert!(dry.status.success(), "{}", all_output(&dry));
    let said = all_output(&dry);
    for kind in ["aws-instance", "aws-security-group", "aws-key-pair"] {
        assert!(said.contains(kind), "gc does not list {kind}:\n{said}");
    }
    assert!(
        !moto.live_instances().is_empty(),
        "the dry run removed something"
    );

    let gc = deck(&state, &moto, &["-o", "json", "gc", "--yes"]);
    assert!(gc.status.success(), "{}", all_output(&gc));
    assert_nothing_in_ec2(&moto, "after gc --yes");
}
