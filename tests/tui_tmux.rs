//! End to end: the real binary in a real terminal (tmux). Brings the quickstart
//! up in the dashboard, navigates, runs a command and the debuggers, quits.
//! Needs tmux: skipped with a printed reason when it is missing, except under
//! CI=true, where a missing tmux is a failure.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{BIN, Deck, repo_root};

/// A tmux server of our own (private socket), killed on drop with whatever
/// the test left running.
struct Tmux {
    socket: String,
    session: String,
    deck: Deck,
    cluster: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Types text literally (no key-name lookup), then optionally Enter.
    fn type_line(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", &self.session, "-l", text])
                .status
                .success()
        );
        self.keys(&["Enter"]);
    }

    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {needle:?}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_gone(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.screen().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} stayed on screen:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", &self.session])
            .status
            .success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = self.deck.run(&["destroy", &self.cluster]);
    }
}

impl Tmux {
    /// Opens the dashboard on `up SPEC` in a fresh tmux server.
    fn up(cluster: &str, spec: &str, tag: &str) -> Self {
        Self::open(cluster, &format!("up {spec}"), "", tag)
    }

    /// Opens the dashboard with `args`, extra `env` assignments first.
    fn open(cluster: &str, args: &str, env: &str, tag: &str) -> Self {
        let tmux = Tmux {
            socket: format!("clusterdeck-test-{}-{tag}", std::process::id()),
            session: "deck".to_owned(),
            deck: Deck::new(),
            cluster: cluster.to_owned(),
        };
        let command = format!(
            "env CLUSTERDECK_STATE_DIR={} {env} {BIN} {args}",
            tmux.deck.state.path().display()
        );
        let root = repo_root();
        let started = tmux.tmux(&[
            "new-session",
            "-d",
            "-s",
            &tmux.session,
            "-x",
            "160",
            "-y",
            "48",
            "-c",
            root.to_str().expect("path"),
            &command,
        ]);
        assert!(
            started.status.success(),
            "{}",
            String::from_utf8_lossy(&started.stderr)
        );
        tmux
    }

    fn wait_until_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.alive() {
            assert!(
                Instant::now() < deadline,
                "the dashboard did not quit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Skips (or, under CI=true, fails) when tmux is missing.
fn require_tmux(test: &str) -> bool {
    if tmux_available() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tmux is required under CI=true (scripts/test installs it)"
    );
    eprintln!("SKIPPED {test}: tmux is not installed");
    false
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|out| out.status.success())
}

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
    // The cluster outlives the dashboard and can be inspected headless.
    let record = tmux.deck.record("quickstart");
    assert_eq!(record["status"], "ready");
    assert_eq!(record["last_operation"]["operation"], "debug");
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
