//! `clusterdeck destroy-node` through the real binary on the local backend:
//! one node goes (its directory and its processes), the others stay, and the
//! group counts one node less.

mod common;

use std::path::Path;

use clusterdeck::backend::local::NODE_DIR_ENV;
use common::{Deck, labelled, node_dirs, text};

#[test]
fn one_node_goes_and_the_rest_of_the_cluster_stays() {
    let deck = Deck::new();
    let up = deck.run(&["up", "--headless", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let record = deck.record("quickstart");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let dirs = node_dirs(&record);
    let victim = dirs
        .iter()
        .find(|dir| dir.ends_with("/agents-2"))
        .expect("agents-2's directory")
        .clone();
    let runs_in = |dir: &str| {
        let needle = format!("{NODE_DIR_ENV}={dir}");
        labelled(&uid).into_iter().any(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|var| var == needle.as_bytes()))
                .unwrap_or(false)
        })
    };
    assert!(runs_in(&victim), "the quickstart agent runs on agents-2");

    let gone = deck.run(&["-o", "json", "destroy-node", "quickstart", "agents-2"]);
    assert!(gone.status.success(), "{}", text(&gone.stderr));
    let events = Deck::events(&gone);
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "node_destroyed" && event["node"] == "agents-2"),
        "{events:#?}"
    );
    assert!(!Path::new(&victim).exists(), "{victim} remains");
    assert!(!runs_in(&victim), "agents-2's processes were stopped");
    for dir in dirs.iter().filter(|dir| **dir != victim) {
        assert!(Path::new(dir).exists(), "{dir} went too");
        assert!(runs_in(dir), "{dir} lost its agent");
    }
    let record = deck.record("quickstart");
    let states: Vec<(String, String)> = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|node| {
            (
                node["name"].as_str().expect("name").to_owned(),
                node["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert!(
        states.contains(&("agents-2".into(), "destroyed".into())),
        "{states:?}"
    );
    assert_eq!(
        states
            .iter()
            .filter(|(_, state)| state == "running")
            .count(),
        3,
        "{states:?}"
    );
    assert_eq!(record["groups"][1]["count"], 2, "{record:#}");

    // A node the cluster does not have: refused, naming the ones it has.
    let unknown = deck.run(&["destroy-node", "quickstart", "agents-9"]);
    assert_eq!(unknown.status.code(), Some(2));
    let said = text(&unknown.stderr);
    assert!(said.contains("has no node \"agents-9\""), "{said}");
    assert!(said.contains("agents-1"), "{said}");

    deck.destroy_leaves_nothing("quickstart", &uid, &dirs);
}
