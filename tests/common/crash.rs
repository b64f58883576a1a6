//! Killing a running clusterdeck with SIGKILL at a chosen moment of its event
//! stream, and a guard that leaves no process behind whatever a test's outcome.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;

use super::{Deck, labelled, text};

/// A spec with several groups whose installer starts a labelled daemon, moves
/// the progress gauge and takes a moment, and whose debuggers include a slow
/// one, so every phase of `up` lasts long enough to be caught in.
pub const SLOW_SPEC: &str = "name: NAME
backend: { kind: local, options: { stop_grace_ms: 500 } }
node_groups:
  - { name: masters, count: 1, roles: [master] }
  - { name: agents, count: 3, roles: [agent] }
  - { name: workers, count: 2, roles: [worker] }
install:
  from: install.sh
checks:
  debuggers:
    - { name: daemon-up, run: 'kill -0 \"$(cat \"$CLUSTERDECK_NODE_DIR/daemon.pid\")\" && echo up', expect: '^up$', timeout: 10s }
    - { name: settled, run: 'sleep 1; echo settled', expect: settled, timeout: 10s }
";

pub const SLOW_INSTALLER: &str = "#!/bin/sh
set -eu
echo \"clusterdeck:progress 10 starting the daemon on $CLUSTERDECK_NODE\"
# In its own session, so only the label in its environment finds it; it
# takes a moment to stop, so a destroy of a few nodes one at a time (`-j 1`)
# lasts long enough to be caught in.
setsid sh -c 'trap \"sleep 0.2; exit 0\" TERM; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &
echo $! > \"$CLUSTERDECK_NODE_DIR/daemon.pid\"
echo \"clusterdeck:progress 50 daemon started\"
sleep 0.5
echo \"clusterdeck:progress 100 done\"
# Only an installer that ran to its end (its clusterdeck alive to read it) marks the node.
touch \"$CLUSTERDECK_NODE_DIR/installed\"
";

/// Writes [`SLOW_SPEC`] for cluster `name` into `dir`.
pub fn write_slow_spec(dir: &Path, name: &str) -> PathBuf {
    super::write_spec(dir, &SLOW_SPEC.replace("NAME", name), SLOW_INSTALLER)
}

/// A clusterdeck run that is SIGKILLed when dropped, so a failing test never
/// leaves one running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn send_sigkill(child: &Child) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    kill(pid, Signal::SIGKILL).expect("SIGKILL clusterdeck");
}

fn assert_killed(mut running: Running, events: &[Value]) {
    let status = running.0.wait().expect("reap");
    let mut stderr = String::new();
    if let Some(mut pipe) = running.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
    }
    assert_eq!(
        status.signal(),
        Some(Signal::SIGKILL as i32),
        "the run ended before it was killed ({status}); stderr: {stderr}; events: {events:?}"
    );
}

/// Runs clusterdeck with `-o json` and SIGKILLs it as soon as an event
/// matching `wanted` arrives. Returns the events up to and including that one.
pub fn kill_on_event(deck: &Deck, args: &[&str], wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut full = vec!["-o", "json"];
    full.extend_from_slice(args);
    let mut running = Running(
        deck.command(&full)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clusterdeck"),
    );
    let stdout = running.0.stdout.take().expect("stdout");
    let mut events = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        let event: Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
        let found = wanted(&event);
        events.push(event);
        if found {
            send_sigkill(&running.0);
            break;
        }
    }
    assert!(
        events.last().is_some_and(&wanted),
        "the wanted event never came: {events:?}"
    );
    assert_killed(running, &events);
    events
}

/// Runs clusterdeck and SIGKILLs it after `delay`, whatever it is doing.
pub fn kill_after(deck: &Deck, args: &[&str], delay: Duration) {
    let running = Running(
        deck.command(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn clusterdeck"),
    );
    std::thread::sleep(delay);
    send_sigkill(&running.0);
    assert_killed(running, &[]);
}

/// An event of kind `kind` (`node_created`, `step_started`, ...).
pub fn is(event: &Value, kind: &str) -> bool {
    event["event"] == kind
}

/// The uid of a cluster as its state on disk has it: the identity file
/// (written first), else the record; `None` before either was written.
pub fn uid_on_disk(deck: &Deck, name: &str) -> Option<String> {
    let dir = deck.state.path().join("clusters").join(name);
    ["identity.json", "cluster.json"].iter().find_map(|file| {
        let bytes = std::fs::read(dir.join(file)).ok()?;
        let json: Value = serde_json::from_slice(&bytes).ok()?;
        json["uid"].as_str().map(str::to_owned)
    })
}

/// The node directories that exist on disk for a cluster on the default root.
pub fn dirs_on_disk(deck: &Deck, name: &str) -> Vec<String> {
    let root = deck.state.path().join("clusters").join(name).join("nodes");
    let mut dirs: Vec<String> = std::fs::read_dir(&root)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// Destroys the cluster and kills, by PID, anything still carrying one of
/// its uids when dropped, so a failing test leaks no process.
pub struct Cleanup<'d> {
    deck: &'d Deck,
    name: String,
    uids: Vec<String>,
}

impl<'d> Cleanup<'d> {
    pub fn new(deck: &'d Deck, name: &str) -> Self {
        Self {
            deck,
            name: name.to_owned(),
            uids: Vec::new(),
        }
    }

    /// Remembers a uid the cluster had (a destroyed one may be recreated
    /// under a new uid, and its leftovers must still be found).
    pub fn note(&mut self, uid: &str) {
        if !self.uids.iter().any(|known| known == uid) {
            self.uids.push(uid.to_owned());
        }
    }
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(uid) = uid_on_disk(self.deck, &self.name) {
            self.note(&uid);
        }
        let destroy = self.deck.run(&["destroy", &self.name]);
        if !destroy.status.success() && !std::thread::panicking() {
            eprintln!("cleanup destroy: {}", text(&destroy.stderr));
        }
        for uid in &self.uids {
            for pid in labelled(uid) {
                let _ = kill(
                    Pid::from_raw(i32::try_from(pid).expect("pid")),
                    Signal::SIGKILL,
                );
            }
        }
    }
}
