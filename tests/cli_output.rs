//! What nodes print, through the real binary: floods end promptly and stay out
//! of the record, huge lines are capped, escape sequences are neutralised.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Deck, node_dirs, text};

/// The record of the quickstart cluster, on disk.
fn record_size(deck: &Deck) -> u64 {
    let path = deck
        .state
        .path()
        .join("clusters")
        .join("quickstart")
        .join("cluster.json");
    std::fs::metadata(&path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .len()
}

#[test]
fn floods_huge_lines_and_escapes_are_all_kept_in_bounds() {
    let deck = Deck::new();
    let up = deck.run(&["up", "examples/quickstart.yaml"]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let record = deck.record("quickstart");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let dirs = node_dirs(&record);

    // An endless writer on every node: the run ends at its timeout (the
    // bound is generous, only there to catch a hang), and the record keeps
    // a capped copy per node, not the flood.
    let started = Instant::now();
    let flood = deck
        .command(&["run", "quickstart", "--timeout", "2s", "--", "yes"])
        .stdout(Stdio::null())
        .output()
        .expect("run yes");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        text(&flood.stderr).contains("timeout"),
        "{}",
        text(&flood.stderr)
    );
    let size = record_size(&deck);
    assert!(size < 1024 * 1024, "cluster.json is {size} bytes");

    // One 10 MB line: capped in every output event, in the result and in the
    // record.
    let huge = deck.run(&[
        "-o",
        "json",
        "run",
        "quickstart",
        "--node",
        "agents-1",
        "--",
        "head -c 10000000 /dev/zero | tr '\\0' a",
    ]);
    assert!(huge.status.success(), "{}", text(&huge.stderr));
    assert!(huge.stdout.len() < 64 * 1024, "{} bytes", huge.stdout.len());
    let events = Deck::events(&huge);
    let lines: Vec<&str> = events
        .iter()
        .filter(|event| event["event"] == "output")
        .map(|event| event["line"].as_str().expect("line"))
        .collect();
    let expected = format!(
        "{} …[{} more bytes cut]",
        "a".repeat(4096),
        10_000_000 - 4096
    );
    assert_eq!(lines, vec![expected.as_str()]);
    let result = events
        .iter()
        .find(|event| event["event"] == "check_result")
        .expect("a result");
    assert_eq!(result["output"], expected.as_str());
    let size = record_size(&deck);
    assert!(size < 64 * 1024, "cluster.json is {size} bytes");

    // A node retitling and clearing the terminal: shown, not obeyed.
    let escape = deck.run(&[
        "run",
        "quickstart",
        "--node",
        "agents-1",
        "--",
        "printf '\\033]2;TITLE\\007\\033[2J\\n'",
    ]);
    assert!(escape.status.success(), "{}", text(&escape.stderr));
    let stdout = text(&escape.stdout);
    assert!(!stdout.contains(['\u{1b}', '\u{7}']), "{stdout:?}");
    assert!(stdout.contains("| ^[]2;TITLE^G^[[2J"), "{stdout}");
    assert!(stdout.contains("      ^[]2;TITLE^G^[[2J"), "{stdout}");

    deck.destroy_leaves_nothing("quickstart", &uid, &dirs);
}
