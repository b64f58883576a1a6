//! API economy of the aws backend: the EC2 calls `up` and `destroy` make,
//! as moto's request recorder saw them, for 1 + 3 and 1 + 50 nodes. Every
//! call but the waits' DescribeInstances is the same for both sizes: calls
//! grow with groups, not nodes. The figures are printed for the record.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use common::moto::{Moto, moto};
use common::{BIN, text};

fn deck(state: &Path, moto: &Moto, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", state)
        .env_remove("AWS_PROFILE");
    for (key, value) in moto.env() {
        command.env(key, value);
    }
    command.output().expect("run clusterdeck")
}

/// Calls per EC2 action during `args`.
fn recorded(moto: &Moto, state: &Path, args: &[&str]) -> BTreeMap<String, usize> {
    moto.start_recording();
    let output = deck(state, moto, args);
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        text(&output.stderr),
        text(&output.stdout)
    );
    let mut counts = BTreeMap::new();
    for action in moto.recorded_actions() {
        *counts.entry(action).or_insert(0) += 1;
    }
    counts
}

fn without_waits(counts: &BTreeMap<String, usize>) -> BTreeMap<String, usize> {
    counts
        .iter()
        .filter(|(action, _)| action.as_str() != "DescribeInstances")
        .map(|(action, count)| (action.clone(), *count))
        .collect()
}

#[test]
fn up_and_destroy_make_as_many_calls_for_fifty_nodes_as_for_three_but_for_waits() {
    const TEST: &str =
        "up_and_destroy_make_as_many_calls_for_fifty_nodes_as_for_three_but_for_waits";
    let Some(moto) = moto(TEST, &[("MOTO_ENABLE_RECORDING", "True")]) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let mut figures = Vec::new();
    for agents in [3, 50] {
        let name = format!("calls{agents}");
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &path,
            format!(
                "name: {name}\nbackend:\n  kind: aws\n  options:\n    ami: ami-1e749f67\n    admin_location: 198.51.100.0/24\nnode_groups:\n  - {{ name: masters, count: 1, roles: [master] }}\n  - {{ name: agents, count: {agents}, roles: [agent] }}\n"
            ),
        )
        .expect("spec");
        let up = recorded(
            &moto,
            &state,
            &["-o", "json", "up", path.to_str().expect("utf-8")],
        );
        let destroy = recorded(&moto, &state, &["-o", "json", "destroy", &name]);
        assert!(moto.live_instances().is_empty(), "{name}: instances left");
        let total = |counts: &BTreeMap<String, usize>| counts.values().sum::<usize>();
        println!(
            "EC2 calls for 1 + {agents} nodes: up {} {up:?}; destroy {} {destroy:?}",
            total(&up),
            total(&destroy)
        );
        assert_eq!(
            up.get("RunInstances"),
            Some(&2),
            "one RunInstances per group: {up:?}"
        );
        assert_eq!(destroy.get("TerminateInstances"), Some(&1), "{destroy:?}");
        figures.push((up, destroy));
    }
    let (small_up, small_destroy) = &figures[0];
    let (large_up, large_destroy) = &figures[1];
    assert_eq!(without_waits(small_up), without_waits(large_up));
    assert_eq!(without_waits(small_destroy), without_waits(large_destroy));
}
