//! `scale`, `stop`/`start` and the stopped status through the real binary
//! on the local backend: nodes, processes and directories come and go with
//! the group's size, and destroy still leaves nothing.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use clusterdeck::backend::local::{NODE_DIR_ENV, labelled_pids};
use common::{Deck, labelled, node_dirs, text};
use serde_json::Value;

fn group_sizes(record: &Value) -> Vec<(String, u64)> {
    record["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|size| {
            (
                size["name"].as_str().expect("name").to_owned(),
                size["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

fn sizes(masters: u64, agents: u64) -> Vec<(String, u64)> {
    vec![("masters".into(), masters), ("agents".into(), agents)]
}

fn node_names(record: &Value) -> Vec<String> {
    record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| node["name"].as_str().expect("name").to_owned())
        .collect()
}

fn exit_code(output: &std::process::Output) -> Option<i32> {
    output.status.code()
}

#[test]
fn quickstart_scales_up_and_down_and_destroy_leaves_nothing() {
    let deck = Deck::new();
    let up = deck.run(&["up", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let record = deck.record("quickstart");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    assert_eq!(group_sizes(&record), sizes(1, 3));
    let mut every_dir: BTreeSet<String> = node_dirs(&record).into_iter().collect();

    // Grow 3 → 6: three new nodes, installed, and the debuggers pass on them.
    let grow = deck.run(&["-o", "json", "scale", "quickstart", "agents", "6"]);
    assert!(grow.status.success(), "{}", text(&grow.stderr));
    let events = Deck::events(&grow);
    let created: Vec<&str> = events
        .iter()
        .filter(|event| event["event"] == "node_created")
        .map(|event| event["node"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(created.len(), 3, "{created:?}");
    for name in ["agents-4", "agents-5", "agents-6"] {
        assert!(created.contains(&name), "{created:?}");
        assert!(
            events.iter().any(|event| event["event"] == "check_result"
                && event["name"] == "agent-up"
                && event["node"] == name
                && event["status"] == "pass"),
            "agent-up did not pass on {name}"
        );
    }
    assert_eq!(events[0]["operation"], "scale");
    let finished = events.last().expect("events");
    assert_eq!(finished["event"], "operation_finished");
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(finished["summary"]["tally"]["pass"], 7, "{finished}");

    let record = deck.record("quickstart");
    assert_eq!(group_sizes(&record), sizes(1, 6));
    assert_eq!(record["last_operation"]["operation"], "scale");
    let dirs = node_dirs(&record);
    assert_eq!(dirs.len(), 7);
    for dir in &dirs {
        assert!(Path::new(dir).is_dir(), "{dir} missing");
        assert!(
            !labelled_pids(NODE_DIR_ENV, dir).is_empty(),
            "no service runs in {dir}"
        );
    }
    every_dir.extend(dirs);
    let inspect = deck.run(&["inspect", "quickstart"]);
    assert!(
        text(&inspect.stdout).contains("groups   masters 1, agents 6"),
        "{}",
        text(&inspect.stdout)
    );

    // Shrink 6 → 2: the highest-numbered nodes go, processes and all.
    let shrink = deck.run(&["-o", "json", "scale", "quickstart", "agents", "2"]);
    assert!(shrink.status.success(), "{}", text(&shrink.stderr));
    let destroyed: BTreeSet<String> = Deck::events(&shrink)
        .iter()
        .filter(|event| event["event"] == "node_destroyed")
        .map(|event| event["node"].as_str().expect("node").to_owned())
        .collect();
    assert_eq!(
        destroyed,
        ["agents-3", "agents-4", "agents-5", "agents-6"]
            .map(String::from)
            .into()
    );
    let record = deck.record("quickstart");
    assert_eq!(group_sizes(&record), sizes(1, 2));
    assert_eq!(
        node_names(&record),
        vec!["masters-1", "agents-1", "agents-2"]
    );
    for dir in every_dir
        .iter()
        .filter(|dir| !node_dirs(&record).contains(dir))
    {
        assert!(!Path::new(dir).exists(), "{dir} remains");
        assert!(labelled_pids(NODE_DIR_ENV, dir).is_empty(), "{dir} runs");
    }

    // The same size again is nothing to do.
    let same = deck.run(&["scale", "quickstart", "agents", "2"]);
    assert!(same.status.success(), "{}", text(&same.stderr));
    assert!(
        text(&same.stdout).contains("nothing to do"),
        "{}",
        text(&same.stdout)
    );

    // Refusals are bad input: exit 2, nothing touched.
    let too_many = deck.run(&["scale", "quickstart", "agents", "10001"]);
    assert_eq!(exit_code(&too_many), Some(2));
    assert!(text(&too_many.stderr).contains("10001 is out of range"));
    let no_group = deck.run(&["scale", "quickstart", "db", "1"]);
    assert_eq!(exit_code(&no_group), Some(2));
    assert!(
        text(&no_group.stderr).contains("has no group \"db\"; groups: masters, agents"),
        "{}",
        text(&no_group.stderr)
    );
    let unknown = deck.run(&["scale", "nosuch", "agents", "1"]);
    assert_eq!(exit_code(&unknown), Some(2));
    assert_eq!(group_sizes(&deck.record("quickstart")), sizes(1, 2));

    // stop pauses every process of every node; a stopped cluster refuses
    // commands and names the way back; start resumes them.
    let stop = deck.run(&["stop", "quickstart"]);
    assert_eq!(exit_code(&stop), Some(0), "{}", text(&stop.stderr));
    assert_eq!(deck.record("quickstart")["status"], "stopped");
    let pids = labelled(&uid);
    assert!(!pids.is_empty(), "the cluster runs processes");
    for pid in &pids {
        assert_eq!(process_state(*pid), Some('T'), "pid {pid} is stopped");
    }
    for args in [
        &["run", "quickstart", "--", "true"][..],
        &["debug", "quickstart"][..],
        &["scale", "quickstart", "agents", "3"][..],
    ] {
        let refused = deck.run(args);
        assert_eq!(exit_code(&refused), Some(2), "{args:?}");
        assert!(
            text(&refused.stderr).contains(
                "cluster quickstart is stopped; `clusterdeck start quickstart` resumes it"
            ),
            "{}",
            text(&refused.stderr)
        );
    }
    let start = deck.run(&["start", "quickstart"]);
    assert_eq!(exit_code(&start), Some(0), "{}", text(&start.stderr));
    assert_eq!(deck.record("quickstart")["status"], "ready");
    for pid in labelled(&uid) {
        assert_ne!(process_state(pid), Some('T'), "pid {pid} runs again");
    }
    let debug = deck.run(&["debug", "quickstart"]);
    assert_eq!(exit_code(&debug), Some(0), "{}", text(&debug.stdout));

    deck.destroy_leaves_nothing(
        "quickstart",
        &uid,
        &every_dir.into_iter().collect::<Vec<_>>(),
    );
    assert!(labelled(&uid).is_empty());
}

/// The state letter of a process from /proc/PID/stat (`T` when stopped).
fn process_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses.
    stat.rsplit_once(") ")?.1.chars().next()
}

#[test]
fn shrink_runs_the_decommission_command_first_and_keeps_a_node_whose_command_fails() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let marker = dir.path().join("decommissioned");
    // agents-2 refuses to hand on its work; the others log that they did.
    let spec = common::write_spec(
        dir.path(),
        &format!(
            "name: drain\nnode_groups:\n  - {{ name: agents, count: 4, roles: [agent] }}\ninstall:\n  from: ./install.sh\n  decommission: 'test \"$CLUSTERDECK_NODE\" != agents-2 && echo \"$CLUSTERDECK_NODE $(pwd)\" >> {}'\n",
            marker.display()
        ),
        "#!/bin/sh\necho installed\n",
    );
    let up = deck.run(&["up", spec.to_str().expect("utf-8")]);
    assert_eq!(exit_code(&up), Some(0), "{}", text(&up.stderr));
    let uid = deck.record("drain")["uid"]
        .as_str()
        .expect("uid")
        .to_owned();
    let every_dir = node_dirs(&deck.record("drain"));

    let shrink = deck.run(&["-o", "json", "scale", "drain", "agents", "1"]);
    assert_eq!(exit_code(&shrink), Some(1), "{}", text(&shrink.stdout));
    let events = Deck::events(&shrink);
    let decommissioned: BTreeSet<&str> = events
        .iter()
        .filter(|event| event["event"] == "step_finished" && event["step"] == "decommission")
        .filter_map(|event| event["node"].as_str())
        .collect();
    assert_eq!(
        decommissioned,
        BTreeSet::from(["agents-2", "agents-3", "agents-4"])
    );
    // The command ran in each node's install directory before it went.
    let log = std::fs::read_to_string(&marker).expect("marker");
    let mut lines: Vec<&str> = log.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 2, "{log}");
    for (line, node) in lines.iter().zip(["agents-3", "agents-4"]) {
        assert!(line.starts_with(node), "{line}");
        assert!(line.ends_with(&format!("/{node}/install")), "{line}");
    }
    let reason = events
        .iter()
        .find(|event| event["event"] == "operation_finished")
        .and_then(|event| event["summary"]["reason"].as_str())
        .unwrap_or_default()
        .to_owned();
    assert!(reason.contains("agents-2"), "{reason}");

    // agents-2 is kept, recorded and running; 3 and 4 are gone.
    let record = deck.record("drain");
    assert_eq!(node_names(&record), vec!["agents-1", "agents-2"]);
    assert_eq!(
        group_sizes(&record),
        vec![("agents".to_owned(), 2)],
        "the kept node still counts"
    );
    for gone in ["agents-3", "agents-4"] {
        assert!(
            !every_dir
                .iter()
                .any(|dir| dir.ends_with(gone) && Path::new(dir).exists()),
            "{gone} removed"
        );
    }

    deck.destroy_leaves_nothing("drain", &uid, &every_dir);
}
