//! End to end in tmux: what the dashboard returns once it closes (the exit
//! statuses the README promises, with the outcome line on stderr), and an
//! attached dashboard noticing its cluster destroyed from another terminal.
//! Needs tmux: skipped with a printed reason when it is missing, except under
//! CI=true.

mod common;

use common::tmux::{Tmux, require_tmux};

const TWO_NODES: &str =
    "node_groups: [{ name: n, count: 2, roles: [x] }]\ninstall: { from: install.sh }\n";

#[test]
fn a_failed_up_exits_1_with_its_line_on_stderr() {
    if !require_tmux("a_failed_up_exits_1_with_its_line_on_stderr") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        &format!("name: failing\n{TWO_NODES}"),
        "#!/bin/sh\necho broken installer >&2\nexit 1\n",
    );
    let tmux = Tmux::up("failing", spec.to_str().expect("path"), "exit-failed");
    tmux.wait_for("up failing: failed");
    tmux.keys(&["q"]);
    let (status, stderr) = tmux.exit();
    assert_eq!(status, 1, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one outcome line: {stderr}");
    assert!(
        lines[0].starts_with("error: up failing: failed: "),
        "{stderr}"
    );
    let record = tmux.deck.record("failing");
    assert_eq!(record["last_operation"]["outcome"], "failed", "{record:#}");
}

#[test]
fn sigterm_during_up_cancels_it_and_exits_130() {
    if !require_tmux("sigterm_during_up_cancels_it_and_exits_130") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        &format!("name: termed\n{TWO_NODES}"),
        "#!/bin/sh\necho clusterdeck:progress 30 waiting\nsleep 300\n",
    );
    let tmux = Tmux::up("termed", spec.to_str().expect("path"), "exit-term");
    tmux.wait_for("30%");
    let pid = tmux.dashboard_pid();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let (status, stderr) = tmux.exit();
    assert_eq!(status, 130, "{stderr}");
    assert!(
        stderr.starts_with("error: up termed: cancelled"),
        "{stderr}"
    );
    let record = tmux.deck.record("termed");
    assert_eq!(
        record["last_operation"]["outcome"], "cancelled",
        "{record:#}"
    );
    let uid = record["uid"].as_str().expect("uid");
    assert!(
        common::labelled(uid).is_empty(),
        "SIGTERM stopped the installers"
    );
}

#[test]
fn an_attached_dashboard_notices_a_destroy_from_elsewhere() {
    if !require_tmux("an_attached_dashboard_notices_a_destroy_from_elsewhere") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        &format!("name: doomed\n{TWO_NODES}"),
        "#!/bin/sh\necho installed\n",
    );
    // Made headless first, as from another terminal.
    let deck = common::Deck::new();
    let up = deck.run(&["up", "--headless", spec.to_str().expect("path")]);
    assert!(up.status.success(), "{}", common::text(&up.stderr));
    let tmux = Tmux::open_in(deck, "doomed", "attach doomed", "", "exit-gone");
    let screen = tmux.wait_for("showing cluster doomed");
    assert!(screen.contains("[running]"), "{screen}");

    let destroy = tmux.deck.run(&["destroy", "doomed"]);
    assert!(
        destroy.status.success(),
        "{}",
        common::text(&destroy.stderr)
    );
    // The periodic refresh (every 2 s) notices: status line, log, both panels.
    let screen = tmux.wait_for("cluster doomed is gone: it was destroyed elsewhere");
    assert!(screen.contains("[destroyed]"), "{screen}");
    assert!(!screen.contains("[running]"), "{screen}");
    assert!(screen.contains("doomed           destroyed"), "{screen}");

    // An attach session that ran no operation exits 0.
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit(), (0, String::new()));
}

#[test]
fn up_of_an_existing_cluster_exits_2_as_headless_does() {
    if !require_tmux("up_of_an_existing_cluster_exits_2_as_headless_does") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        &format!("name: twice\n{TWO_NODES}"),
        "#!/bin/sh\necho installed\n",
    );
    let spec = spec.to_str().expect("path");
    let deck = common::Deck::new();
    let up = deck.run(&["up", "--headless", spec]);
    assert!(up.status.success(), "{}", common::text(&up.stderr));
    let tmux = Tmux::open_in(deck, "twice", &format!("up {spec}"), "", "exit-twice");
    tmux.wait_for("already exists");
    tmux.keys(&["q"]);
    let (status, stderr) = tmux.exit();
    assert_eq!(status, 2, "{stderr}");
    assert!(
        stderr.contains("cluster \"twice\" already exists"),
        "{stderr}"
    );
}
