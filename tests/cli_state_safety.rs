//! State-directory safety through the real binary: cluster names that could
//! reach outside the state directory are refused, and a cluster whose record
//! is damaged or lost is still shown and fully destroyed.

mod common;

use std::path::Path;

use common::{Deck, labelled, node_dirs, text};

const QUICKSTART: &str = "examples/quickstart.yaml";

fn up_quickstart(deck: &Deck) -> (String, Vec<String>) {
    let up = deck.run(&["up", QUICKSTART]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    let record = deck.record("quickstart");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    (uid, node_dirs(&record))
}

/// The PIDs the quickstart installer wrote for its services.
fn service_pids(node_dirs: &[String]) -> Vec<i32> {
    let mut pids = Vec::new();
    for dir in node_dirs {
        for entry in std::fs::read_dir(Path::new(dir).join("run")).expect("run dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|ext| ext == "pid") {
                let pid = std::fs::read_to_string(&path).expect("pid file");
                pids.push(pid.trim().parse().expect("a pid"));
            }
        }
    }
    pids
}

fn alive(pid: i32) -> bool {
    // A zombie has no /proc/<pid>/environ content and is not running.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    !status.is_empty() && !status.contains("State:\tZ")
}

#[test]
fn names_that_leave_the_state_directory_are_refused_and_touch_nothing() {
    let a = Deck::new();
    let b = Deck::new();
    let (uid_a, dirs_a) = up_quickstart(&a);
    let (uid_b, dirs_b) = up_quickstart(&b);
    let b_name = b
        .state
        .path()
        .file_name()
        .expect("name")
        .to_str()
        .expect("utf-8");
    let into_b = format!("../../{b_name}/clusters/quickstart");
    let long = "q".repeat(300);
    let a_dir = a.state.path().to_str().expect("utf-8");
    let cases: Vec<Vec<&str>> = vec![
        vec!["--state-dir", a_dir, "destroy", &into_b],
        vec!["--state-dir", a_dir, "inspect", &into_b],
        vec!["--state-dir", a_dir, "debug", &into_b],
        vec!["--state-dir", a_dir, "run", &into_b, "--", "true"],
        vec!["inspect", "../clusters/quickstart"],
        vec!["inspect", "quickstart/../quickstart"],
        vec!["destroy", "quickstart/.."],
        vec!["destroy", ".."],
        vec!["destroy", ""],
        vec!["destroy", &long],
        vec!["inspect", &long],
    ];
    for args in &cases {
        let output = a.run(args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("error: no cluster named "),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.contains("a cluster name is 1-63 letters"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("os error"), "{args:?}: {stderr}");
        assert!(
            stderr.len() < 400,
            "{args:?}: the name is cut short: {stderr}"
        );
    }

    // B is untouched: its record, node directories and services are all there.
    assert_eq!(b.record("quickstart")["status"], "ready");
    assert!(labelled(&uid_b).len() >= 4, "B's services still run");
    for dir in &dirs_b {
        assert!(Path::new(dir).is_dir(), "{dir} of B remains");
    }
    // A's own cluster still works by its name.
    let run = a.run(&["run", "quickstart", "--", "echo", "still here"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("still here"));

    a.destroy_leaves_nothing("quickstart", &uid_a, &dirs_a);
    b.destroy_leaves_nothing("quickstart", &uid_b, &dirs_b);
}

#[test]
fn directories_with_invalid_names_are_not_listed() {
    let deck = Deck::new();
    let odd = deck.state.path().join("clusters").join(".odd");
    std::fs::create_dir_all(&odd).expect("dir");
    std::fs::write(odd.join("cluster.json"), "{}").expect("write");
    let list = deck.run(&["list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(
        !text(&list.stdout).contains(".odd"),
        "{}",
        text(&list.stdout)
    );
    assert!(text(&list.stdout).starts_with("no clusters"));
}

/// What to do to a cluster's state before destroying it.
enum Damage {
    CorruptRecord,
    MissingRecord,
    /// State written before identity files existed, with its record lost.
    MissingRecordAndIdentity,
}

fn damaged_cluster_is_shown_refused_by_up_and_destroyed(damage: Damage) {
    let deck = Deck::new();
    let (uid, dirs) = up_quickstart(&deck);
    let pids = service_pids(&dirs);
    assert_eq!(pids.len(), 4, "one service per node");
    assert!(pids.iter().all(|pid| alive(*pid)));
    let cluster_dir = deck.state.path().join("clusters").join("quickstart");
    let record = cluster_dir.join("cluster.json");
    match damage {
        Damage::CorruptRecord => {
            // Deep enough to hit serde_json's recursion limit.
            std::fs::write(&record, "[".repeat(1000)).expect("corrupt");
        }
        Damage::MissingRecord => std::fs::remove_file(&record).expect("remove"),
        Damage::MissingRecordAndIdentity => {
            std::fs::remove_file(&record).expect("remove");
            std::fs::remove_file(cluster_dir.join("identity.json")).expect("remove");
        }
    }

    let list = deck.run(&["list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = text(&list.stdout);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with("quickstart") && line.contains("damaged")),
        "{listed}"
    );
    let listed_json = deck.run(&["-o", "json", "list"]);
    let rows: serde_json::Value = serde_json::from_slice(&listed_json.stdout).expect("json");
    assert_eq!(rows[0]["name"], "quickstart");
    assert_eq!(rows[0]["status"], "damaged");

    let inspect = deck.run(&["inspect", "quickstart"]);
    assert_eq!(inspect.status.code(), Some(1));
    assert!(
        text(&inspect.stderr)
            .contains("cluster \"quickstart\" is damaged (its record cluster.json is"),
        "{}",
        text(&inspect.stderr)
    );

    let up = deck.run(&["up", QUICKSTART]);
    assert_eq!(up.status.code(), Some(2), "{}", text(&up.stderr));
    assert!(
        text(&up.stderr)
            .contains("a previous cluster named \"quickstart\" was not fully destroyed")
            && text(&up.stderr).contains("run `clusterdeck destroy quickstart` first"),
        "{}",
        text(&up.stderr)
    );
    assert!(pids.iter().all(|pid| alive(*pid)), "up changed nothing");

    let destroy = deck.run(&["-o", "json", "destroy", "quickstart"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    let events = Deck::events(&destroy);
    assert!(
        events.iter().any(|event| event["event"] == "warning"
            && event["message"].as_str().is_some_and(
                |message| message.contains("destroying the 4 resource(s) its ledger lists")
            )),
        "{events:#?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|event| event["event"] == "node_destroyed")
            .count(),
        4
    );
    let still: Vec<i32> = pids.iter().copied().filter(|pid| alive(*pid)).collect();
    assert!(still.is_empty(), "services left running: {still:?}");
    assert!(labelled(&uid).is_empty(), "left: {:?}", labelled(&uid));
    for dir in &dirs {
        assert!(!Path::new(dir).exists(), "{dir} remains");
    }
    assert!(!cluster_dir.exists(), "the cluster's state remains");

    // The name is free again.
    let (uid, dirs) = up_quickstart(&deck);
    deck.destroy_leaves_nothing("quickstart", &uid, &dirs);
}

#[test]
fn a_cluster_with_a_corrupt_record_is_destroyed_from_its_ledger() {
    damaged_cluster_is_shown_refused_by_up_and_destroyed(Damage::CorruptRecord);
}

#[test]
fn a_cluster_with_a_missing_record_is_destroyed_from_its_ledger() {
    damaged_cluster_is_shown_refused_by_up_and_destroyed(Damage::MissingRecord);
}

#[test]
fn older_state_without_an_identity_file_is_destroyed_too() {
    damaged_cluster_is_shown_refused_by_up_and_destroyed(Damage::MissingRecordAndIdentity);
}

#[test]
fn run_timeouts_below_one_millisecond_are_refused() {
    let deck = Deck::new();
    for timeout in ["0", "0s", "1ns", "999us"] {
        let output = deck.run(&["run", "quickstart", "--timeout", timeout, "--", "true"]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{timeout}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{timeout}' for '--timeout")),
            "{timeout}: {stderr}"
        );
        assert!(
            stderr.contains("a timeout must be at least 1ms"),
            "{stderr}"
        );
    }
    // 1ms itself passes the parser: the error is then about the cluster.
    let output = deck.run(&["run", "quickstart", "--timeout", "1ms", "--", "true"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("no cluster named \"quickstart\""));
}
