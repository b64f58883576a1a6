//! End to end: the real binary in a real terminal (tmux). Brings the quickstart
//! up in the dashboard, navigates, runs a command and the debuggers, quits.
//! Needs tmux: skipped with a printed reason when it is missing, except under
//! CI=true, where a missing tmux is a failure.

mod common;

use std::time::{Duration, Instant};

use common::tmux::{Tmux, require_tmux};

#[test]
fn dashboard_up_navigate_run_debug_quit() {
    if !require_tmux("dashboard_up_navigate_run_debug_quit") {
        return;
    }
    let tmux = Tmux::up("quickstart", "examples/quickstart.yaml", "a");

    let screen = tmux.wait_for("up succeeded");
    assert!(
        screen.contains("Install progress 4 done, 0 failed of 4"),
        "{screen}"
    );
    assert!(screen.contains("agents-[1-3] (3)"), "{screen}");
    assert!(screen.contains("validators 8/8"), "{screen}");
    assert!(screen.contains("[running]"), "{screen}");

    // :scale goes to the engine, which refuses a size out of range;
    // extra words are refused with the usage.
    tmux.keys(&[":"]);
    tmux.type_line("scale agents 10001");
    tmux.wait_for("10001 is out of range");
    // ... and carries out one it can: the same Scale as `clusterdeck scale`.
    tmux.keys(&[":"]);
    tmux.type_line("scale agents 4");
    let screen = tmux.wait_for("scale succeeded");
    assert!(screen.contains("agents-[1-4] (4)"), "{screen}");
    tmux.keys(&[":"]);
    tmux.type_line("debug extra args");
    tmux.wait_for("usage: debug");
    tmux.keys(&["Escape"]);

    // Navigate: Tab moves the focus (thick border) to Node groups; j selects.
    tmux.keys(&["Tab"]);
    tmux.wait_for("┏ Node groups");
    tmux.keys(&["j", "j"]);

    tmux.keys(&[":"]);
    tmux.type_line("run agent echo hello-e2e");
    let screen = tmux.wait_for("run succeeded");
    assert!(screen.contains("hello-e2e"), "{screen}");

    tmux.keys(&[":"]);
    tmux.type_line("debug");
    let screen = tmux.wait_for("debug succeeded");
    assert!(screen.contains("agent-up"), "{screen}");

    tmux.keys(&["?"]);
    tmux.wait_for("Keys · Esc closes");
    tmux.keys(&["Escape"]);
    // Sent together, Escape and q read as Alt-q, which only closes the help.
    tmux.wait_gone("Keys · Esc closes");

    tmux.keys(&["q"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while tmux.alive() {
        assert!(
            Instant::now() < deadline,
            "q did not quit:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A session whose operations succeeded exits 0 with nothing on stderr.
    assert_eq!(tmux.exit(), (0, String::new()));
    // The cluster outlives the dashboard and can be inspected headless.
    let record = tmux.deck.record("quickstart");
    assert_eq!(record["status"], "ready");
    assert_eq!(record["last_operation"]["operation"], "debug");
    assert_eq!(record["groups"][1]["count"], 4);
    assert_eq!(record["nodes"].as_array().map(Vec::len), Some(5));
}

#[test]
fn quitting_during_up_asks_then_cancels_and_records_state() {
    if !require_tmux("quitting_during_up_asks_then_cancels_and_records_state") {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let spec = common::write_spec(
        dir.path(),
        "name: slow\nnode_groups: [{ name: n, count: 2, roles: [x] }]\ninstall: { from: install.sh }\n",
        "#!/bin/sh\necho clusterdeck:progress 30 waiting\nsleep 300\n",
    );
    let tmux = Tmux::up("slow", spec.to_str().expect("path"), "b");
    tmux.wait_for("30%");
    tmux.keys(&["q"]);
    tmux.wait_for("Quit and cancel it?");
    tmux.keys(&["y"]);
    tmux.wait_until_gone();
    // Quitting cancelled the up: 130, and its line once the terminal is back.
    let (status, stderr) = tmux.exit();
    assert_eq!(status, 130, "{stderr}");
    assert!(stderr.starts_with("error: up slow: cancelled"), "{stderr}");
    let record = tmux.deck.record("slow");
    assert_eq!(
        record["last_operation"]["outcome"], "cancelled",
        "{record:#}"
    );
    let uid = record["uid"].as_str().expect("uid").to_owned();
    assert!(
        common::labelled(&uid).is_empty(),
        "cancelling stopped the installers"
    );
}

#[test]
fn attach_to_a_spec_of_existing_machines_without_up() {
    if !require_tmux("attach_to_a_spec_of_existing_machines_without_up") {
        return;
    }
    let Some(fleet) = common::fleet::fleet("attach_to_a_spec_of_existing_machines_without_up", 3)
    else {
        return;
    };
    let spec = fleet.spec("sshattach", "", "");
    let env = format!("HOME={}", fleet.home.display());
    let tmux = Tmux::open(
        "sshattach",
        &format!("attach {}", spec.display()),
        &env,
        "c",
    );
    let screen = tmux.wait_for("showing cluster sshattach");
    assert!(screen.contains("web-3"), "{screen}");
    tmux.keys(&[":"]);
    tmux.type_line("run all echo attached-$CLUSTERDECK_NODE");
    let screen = tmux.wait_for("run succeeded");
    assert!(screen.contains("attached-web-2"), "{screen}");
    tmux.keys(&["q"]);
    tmux.wait_until_gone();
    let record = tmux.deck.record("sshattach");
    assert_eq!(record["spec"]["backend"]["kind"], "ssh");
    assert_eq!(record["last_operation"]["operation"], "run");
}
