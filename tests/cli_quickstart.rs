//! The quickstart example end to end on the local backend, through the real binary.

mod common;

use common::{Deck, labelled, node_dirs, text};

#[test]
fn quickstart_up_run_debug_destroy_leaves_nothing_behind() {
    let deck = Deck::new();

    let validate = deck.run(&["validate", "examples/quickstart.yaml"]);
    assert!(validate.status.success(), "{}", text(&validate.stderr));
    assert!(text(&validate.stdout).contains("create 3 node(s) agents-[1-3] (roles: agent)"));
    assert!(
        !deck.state.path().join("clusters").exists(),
        "validate must have no side effects"
    );

    let up = deck.run(&["-o", "json", "up", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "stderr: {}", text(&up.stderr));
    let events = Deck::events(&up);
    let count = |kind: &str| events.iter().filter(|event| event["event"] == kind).count();
    assert_eq!(count("node_created"), 4);
    assert_eq!(count("operation_started"), 1);
    let finished = events.last().expect("events");
    assert_eq!(finished["event"], "operation_finished");
    assert_eq!(finished["outcome"], "succeeded");
    assert_eq!(finished["summary"]["tally"]["pass"], 4);
    let folded = finished["summary"]["results"].as_array().expect("results");
    assert!(
        folded
            .iter()
            .any(|result| result["name"] == "agent-up" && result["nodes"] == "agents-[1-3]"),
        "{folded:#?}"
    );

    let record = deck.record("quickstart");
    assert_eq!(record["status"], "ready");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let node_dirs = node_dirs(&record);
    assert_eq!(node_dirs.len(), 4);
    assert!(
        labelled(&uid).len() >= 4,
        "the installer leaves one service per node running"
    );

    let run = deck.run(&[
        "run",
        "quickstart",
        "--role",
        "agent",
        "--",
        "echo",
        "hi from $CLUSTERDECK_GROUP",
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(
        stdout.contains("pass exit 0 on agents-[1-3] (3)"),
        "{stdout}"
    );
    assert!(stdout.contains("      hi from agents"), "{stdout}");

    let debug = deck.run(&["debug", "quickstart"]);
    assert!(debug.status.success(), "{}", text(&debug.stderr));
    assert!(text(&debug.stdout).contains("results: 4 pass, 0 fail, 0 timeout, 0 unreachable"));

    let list = deck.run(&["list"]);
    assert!(
        text(&list.stdout).contains("quickstart"),
        "{}",
        text(&list.stdout)
    );

    deck.destroy_leaves_nothing("quickstart", &uid, &node_dirs);
    let list = deck.run(&["list"]);
    assert!(!text(&list.stdout).contains("quickstart"));
}

#[test]
fn every_example_validates() {
    let deck = Deck::new();
    for example in ["examples/quickstart.yaml", "examples/ssh.yaml"] {
        let output = deck.run(&["validate", example]);
        assert!(
            output.status.success(),
            "{example}: {}",
            text(&output.stdout)
        );
    }
}

#[test]
fn help_version_and_completions_work() {
    let deck = Deck::new();
    let help = deck.run(&["--help"]);
    assert!(help.status.success());
    for command in [
        "up",
        "destroy",
        "list",
        "inspect",
        "validate",
        "run",
        "debug",
        "completions",
    ] {
        assert!(text(&help.stdout).contains(command), "help lacks {command}");
    }
    let completions = deck.run(&["completions", "bash"]);
    assert!(completions.status.success());
    assert!(text(&completions.stdout).contains("_clusterdeck"));
}
