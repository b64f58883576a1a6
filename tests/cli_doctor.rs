//! `doctor` through the real binary: a healthy state directory passes, and
//! each broken one fails (exit 1) with the line that fixes it.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Deck, text};

fn doctor(deck: &Deck, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["doctor"];
    all.extend_from_slice(args);
    let output = deck.run(&all);
    (
        output.status.code(),
        format!("{}{}", text(&output.stdout), text(&output.stderr)),
    )
}

#[test]
fn a_healthy_state_directory_passes() {
    let deck = Deck::new();
    // As clusterdeck makes it: owner-only (a test's temporary directory
    // follows the umask).
    std::fs::set_permissions(deck.state.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    let (code, out) = doctor(&deck, &[]);
    assert_eq!(code, Some(0), "{out}");
    for check in ["state-dir", "permissions", "writable", "records", "locks"] {
        assert!(
            out.contains(&format!("doctor {check}: pass")),
            "{check}: {out}"
        );
    }
    // Without a spec, the default backend's own preflight runs too.
    assert!(out.contains("doctor local: local-shell: pass"), "{out}");
    // With a spec, its backend and validators are checked too.
    let (code, out) = doctor(&deck, &["examples/quickstart.yaml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("doctor spec: pass"), "{out}");

    // A state directory that does not exist yet is created on first use.
    let missing = deck.state.path().join("not-yet");
    let output = deck.run(&["--state-dir", missing.to_str().expect("utf-8"), "doctor"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stdout));
    assert!(text(&output.stdout).contains("created on first use"));
    assert!(!missing.exists(), "doctor changes nothing");
}

#[test]
fn a_state_directory_that_is_a_file_fails_with_its_fix() {
    let deck = Deck::new();
    let file = deck.state.path().join("state-file");
    std::fs::write(&file, "not a directory").expect("file");
    let output = deck.run(&["--state-dir", file.to_str().expect("utf-8"), "doctor"]);
    let out = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("doctor state-dir: FAIL"), "{out}");
    assert!(out.contains("is not a directory"), "{out}");
    assert!(out.contains("fix: move"), "{out}");
}

#[test]
fn damaged_records_open_permissions_and_stale_locks_each_fail_with_their_fix() {
    let deck = Deck::new();
    let cluster = deck.state.path().join("clusters/broken");
    std::fs::create_dir_all(cluster.join("lock.holders")).expect("dirs");
    std::fs::write(cluster.join("cluster.json"), "garbage{").expect("record");
    // A holder entry of a pid no process has: its holder died.
    std::fs::write(cluster.join("lock.holders/4194304-exclusive-0"), "").expect("entry");
    std::fs::set_permissions(deck.state.path(), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");

    let (code, out) = doctor(&deck, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("doctor records: FAIL"), "{out}");
    assert!(out.contains("fix: `clusterdeck destroy broken`"), "{out}");
    assert!(out.contains("doctor permissions: FAIL"), "{out}");
    assert!(
        out.contains(&format!("fix: chmod 700 {}", deck.state.path().display())),
        "{out}"
    );
    assert!(out.contains("doctor locks: FAIL"), "{out}");
    assert!(out.contains("4194304-exclusive-0"), "{out}");
    assert!(out.contains("doctor writable: pass"), "{out}");
    assert!(out.contains("3 of 7 check(s) failed"), "{out}");

    // JSON output carries the same checks as events.
    let output = deck.run(&["-o", "json", "doctor"]);
    assert_eq!(output.status.code(), Some(1));
    let failed = Deck::events(&output)
        .iter()
        .filter(|event| event["event"] == "check_result" && event["kind"] == "doctor")
        .filter(|event| event["status"] == "fail")
        .count();
    assert_eq!(failed, 3);
}

#[test]
fn an_ssh_spec_runs_the_ssh_preflight_and_names_an_unreachable_host() {
    let deck = Deck::new();
    std::fs::set_permissions(deck.state.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    let dir = tempfile::tempdir().expect("dir");
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, "").expect("known_hosts");
    // Port 1 on loopback: nothing listens there, so the connection is refused.
    let spec = dir.path().join("ssh.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: far\nbackend:\n  kind: ssh\n  options: {{ use_agent: false, ssh_config: \"\", known_hosts: {} }}\nnode_groups:\n  - {{ name: web, count: 1, options: {{ hosts: [\"127.0.0.1:1\"] }} }}\n",
            known_hosts.display()
        ),
    )
    .expect("spec");
    let (code, out) = doctor(&deck, &[spec.to_str().expect("utf-8")]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("doctor ssh: ssh-known-hosts: pass"), "{out}");
    assert!(
        out.contains("doctor ssh: ssh-reach(127.0.0.1:1): FAIL - cannot reach 127.0.0.1:1"),
        "{out}"
    );
    assert!(out.contains("    fix: check the host is up"), "{out}");
    assert!(!out.contains("^J"), "a fix is a line of its own: {out}");
}
