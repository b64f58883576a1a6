//! The real binary in a real terminal: a tmux server of our own (private
//! socket), killed on drop with whatever the test left running. The command
//! runs under a shell that records its exit status and stderr in files, so
//! tests can check what the dashboard returns once it closes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{BIN, Deck, repo_root};

pub struct Tmux {
    socket: String,
    session: String,
    pub deck: Deck,
    cluster: String,
    /// Holds the recorded exit status and stderr.
    outputs: tempfile::TempDir,
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

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .tmux(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    /// Types text literally (no key-name lookup), then Enter.
    pub fn type_line(&self, text: &str) {
        assert!(
            self.tmux(&["send-keys", "-t", &self.session, "-l", text])
                .status
                .success()
        );
        self.keys(&["Enter"]);
    }

    /// Waits until `needle` has left the screen.
    pub fn wait_gone(&self, needle: &str) {
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

    pub fn wait_for(&self, needle: &str) -> String {
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

    pub fn alive(&self) -> bool {
        self.tmux(&["has-session", "-t", &self.session])
            .status
            .success()
    }

    /// Opens the dashboard on `up SPEC` in a fresh tmux server.
    pub fn up(cluster: &str, spec: &str, tag: &str) -> Self {
        Self::open(cluster, &format!("up {spec}"), "", tag)
    }

    /// Opens the dashboard with `args`, extra `env` assignments first.
    pub fn open(cluster: &str, args: &str, env: &str, tag: &str) -> Self {
        Self::open_in(Deck::new(), cluster, args, env, tag)
    }

    /// Opens the dashboard on a state directory the test prepared.
    pub fn open_in(deck: Deck, cluster: &str, args: &str, env: &str, tag: &str) -> Self {
        let tmux = Tmux {
            socket: format!("clusterdeck-test-{}-{tag}", std::process::id()),
            session: "deck".to_owned(),
            deck,
            cluster: cluster.to_owned(),
            outputs: tempfile::tempdir().expect("outputs dir"),
        };
        let outputs = tmux.outputs.path().display();
        let command = format!(
            "env CLUSTERDECK_STATE_DIR={} {env} {BIN} {args} 2>{outputs}/stderr; echo $? >{outputs}/exit.tmp; mv {outputs}/exit.tmp {outputs}/exit",
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

    pub fn wait_until_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.alive() {
            assert!(
                Instant::now() < deadline,
                "the dashboard did not quit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the dashboard to exit; its exit status and stderr.
    pub fn exit(&self) -> (i32, String) {
        let path = self.outputs.path().join("exit");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !path.exists() {
            assert!(
                Instant::now() < deadline,
                "the dashboard did not exit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = std::fs::read_to_string(&path).expect("exit status");
        let stderr =
            std::fs::read_to_string(self.outputs.path().join("stderr")).unwrap_or_default();
        (status.trim().parse().expect("a number"), stderr)
    }

    /// The PID of the dashboard process: the child of the pane's shell.
    pub fn dashboard_pid(&self) -> u32 {
        let shell = String::from_utf8_lossy(
            &self
                .tmux(&["display-message", "-p", "-t", &self.session, "#{pane_pid}"])
                .stdout,
        )
        .trim()
        .to_owned();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .unwrap_or_default();
        children
            .split_whitespace()
            .filter_map(|pid| pid.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|exe| exe.ends_with("clusterdeck"))
            })
            .unwrap_or_else(|| {
                panic!("no clusterdeck under the pane's shell {shell}: {children:?}")
            })
    }

    pub fn state_dir(&self) -> PathBuf {
        self.deck.state.path().to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
        let _ = self.deck.run(&["destroy", &self.cluster]);
    }
}

/// Skips (or, under CI=true, fails) when tmux is missing.
pub fn require_tmux(test: &str) -> bool {
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
