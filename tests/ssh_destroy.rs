//! `destroy` of an ssh cluster against real OpenSSH servers: it stops the
//! processes clusterdeck's installer started and removes each node's
//! directory, and leaves everything else of the login user alone; a machine
//! that is down keeps the cluster for a retry that then succeeds.
//!
//! The "machines" are sshd servers on loopback, so their processes and the
//! login's home are this machine's: /proc shows what runs there.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::fleet::{Fleet, USER, fleet};
use common::{BIN, text};

fn deck(fleet: &Fleet, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("CLUSTERDECK_STATE_DIR", fleet.dir.path().join("state"))
        .env("HOME", &fleet.home)
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .expect("run clusterdeck")
}

fn summary_of(output: &Output) -> serde_json::Value {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .rev()
        .find(|event| event["event"] == "operation_finished")
        .map(|event| event["summary"].clone())
        .unwrap_or_else(|| panic!("no summary in {}", text(&output.stdout)))
}

/// An installer that writes files and starts a daemon (setsid, a sleep
/// loop) that outlives it, as real installers do; it records the daemon's
/// pid and the cluster's uid where the test can read them before destroy.
const INSTALLER: &str = "#!/bin/sh\nset -e\ncd \"$CLUSTERDECK_NODE_DIR\"\nmkdir -p data\necho state > data/file\n\
setsid sh -c 'while :; do sleep 1; done' </dev/null >/dev/null 2>&1 &\n\
echo $! > daemon.pid\necho \"$CLUSTERDECK_CLUSTER_UID\" > uid\n";

fn login_home() -> PathBuf {
    let out = Command::new("getent")
        .args(["passwd", USER])
        .output()
        .expect("getent");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    PathBuf::from(line.trim().split(':').nth(5).expect("a home field"))
}

fn login_ids() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, USER]).output().expect("id");
        text(&out.stdout).trim().parse().expect("a number")
    };
    (id("-u"), id("-g"))
}

/// The environment of a live process (a zombie's reads empty).
fn environ(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|bytes| {
            bytes
                .split(|byte| *byte == 0)
                .map(|entry| String::from_utf8_lossy(entry).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Live processes carrying the cluster's uid label (and the node's, if given).
fn labelled(uid: &str, node: Option<&str>) -> Vec<u32> {
    let uid_label = format!("CLUSTERDECK_CLUSTER_UID={uid}");
    let node_label = node.map(|node| format!("CLUSTERDECK_NODE={node}"));
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let env = environ(*pid);
            env.contains(&uid_label) && node_label.as_ref().is_none_or(|label| env.contains(label))
        })
        .collect()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process this test started, killed (by its pid) when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process of the login user that this cluster did not start: it carries
/// the cluster's and a node's names, but another cluster's uid.
fn unrelated_process(cluster: &str) -> Started {
    let (uid, gid) = login_ids();
    std::os::unix::process::CommandExt::uid(
        std::os::unix::process::CommandExt::gid(
            Command::new("sleep")
                .arg("300")
                .env("CLUSTERDECK_CLUSTER", cluster)
                .env("CLUSTERDECK_CLUSTER_UID", format!("{cluster}-another-uid"))
                .env("CLUSTERDECK_NODE", "web-1")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            gid,
        ),
        uid,
    )
    .spawn()
    .map(Started)
    .expect("sleep as the login user")
}

fn alive(child: &mut Child) -> bool {
    child.try_wait().expect("try_wait").is_none()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("{}: {err}", path.display()))
        .trim()
        .to_owned()
}

/// `up` with the daemonising installer; returns the cluster's uid and the
/// node directories on the (loopback) machines.
fn up(fleet: &Fleet, name: &str, options: &str) -> (String, Vec<PathBuf>) {
    std::fs::write(fleet.dir.path().join("install.sh"), INSTALLER).expect("installer");
    let spec = fleet.spec(name, options, "install:\n  from: install.sh\n");
    let up = deck(
        fleet,
        &["-o", "json", "up", spec.to_str().expect("utf-8 path")],
    );
    assert!(
        up.status.success(),
        "{}\n{}",
        text(&up.stderr),
        text(&up.stdout)
    );
    let dirs: Vec<PathBuf> = (1..=fleet.nodes.len())
        .map(|index| login_home().join(format!(".clusterdeck/{name}/web-{index}")))
        .collect();
    let uid = read(&dirs[0].join("uid"));
    assert!(
        uid.starts_with(name),
        "the uid label reaches the installer: {uid:?}"
    );
    for (index, dir) in dirs.iter().enumerate() {
        assert_eq!(read(&dir.join("data/file")), "state");
        let daemon: u32 = read(&dir.join("daemon.pid")).parse().expect("a pid");
        let node = format!("web-{}", index + 1);
        assert!(
            labelled(&uid, Some(&node)).contains(&daemon),
            "the daemon of {node} carries the cluster's uid and node labels"
        );
    }
    (uid, dirs)
}

#[test]
fn destroy_removes_what_clusterdeck_put_on_the_machines_and_nothing_else() {
    let test = "destroy_removes_what_clusterdeck_put_on_the_machines_and_nothing_else";
    let Some(fleet) = fleet(test, 2) else {
        return;
    };
    let name = "sshteardown";
    let unrelated_file = login_home().join(format!("unrelated-{}", std::process::id()));
    std::fs::write(&unrelated_file, "mine").expect("unrelated file");
    let other_cluster_file = login_home().join(format!(".clusterdeck/{name}-other/keep"));
    std::fs::create_dir_all(other_cluster_file.parent().expect("parent")).expect("dir");
    std::fs::write(&other_cluster_file, "theirs").expect("other cluster's file");
    let mut unrelated = unrelated_process(name);

    let (uid, dirs) = up(&fleet, name, "");
    let destroy = deck(&fleet, &["-o", "json", "destroy", name]);
    assert!(
        destroy.status.success(),
        "{}\n{}",
        text(&destroy.stderr),
        text(&destroy.stdout)
    );
    assert_eq!(labelled(&uid, None), Vec::<u32>::new(), "daemons stopped");
    for dir in &dirs {
        assert!(!dir.exists(), "{} removed", dir.display());
    }
    assert!(
        !login_home().join(format!(".clusterdeck/{name}")).exists(),
        "the emptied cluster directory is removed too"
    );
    assert!(!fleet.dir.path().join("state/clusters").join(name).exists());
    assert_eq!(read(&unrelated_file), "mine");
    assert_eq!(read(&other_cluster_file), "theirs");
    assert!(alive(&mut unrelated.0), "an unrelated process survives");
    drop(unrelated);
    let _ = std::fs::remove_file(&unrelated_file);
    let _ = std::fs::remove_dir_all(other_cluster_file.parent().expect("parent"));
}

#[test]
fn a_machine_that_is_down_keeps_the_cluster_and_a_later_destroy_finishes() {
    let test = "a_machine_that_is_down_keeps_the_cluster_and_a_later_destroy_finishes";
    let Some(mut fleet) = fleet(test, 2) else {
        return;
    };
    let name = "sshteardowndown";
    let (uid, dirs) = up(&fleet, name, "    connect_timeout_ms: 2000\n");
    fleet.stop_node(1);

    let started = Instant::now();
    let failed = deck(&fleet, &["-o", "json", "destroy", name]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "destroy gives up on a down machine: {:?}",
        started.elapsed()
    );
    let summary = summary_of(&failed);
    let failures = summary["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{summary:#}");
    assert_eq!(failures[0]["node"], "web-2");
    let error = failures[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("unreachable"), "{error}");
    assert_eq!(summary["leftovers"][0]["error"]["kind"], "transient");
    assert!(
        summary["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("kept")),
        "{summary:#}"
    );
    assert!(fleet.dir.path().join("state/clusters").join(name).exists());
    // The machine that answered is cleared; the one that did not is untouched.
    assert!(labelled(&uid, Some("web-1")).is_empty());
    assert!(!dirs[0].exists());
    assert!(!labelled(&uid, Some("web-2")).is_empty());
    assert!(dirs[1].exists());

    fleet.start_node(1);
    let retried = deck(&fleet, &["-o", "json", "destroy", name]);
    assert!(
        retried.status.success(),
        "{}\n{}",
        text(&retried.stderr),
        text(&retried.stdout)
    );
    wait_until("web-2's daemon is gone", || labelled(&uid, None).is_empty());
    assert!(!dirs[1].exists());
    assert!(!fleet.dir.path().join("state/clusters").join(name).exists());
}

#[test]
fn an_ssh_cluster_recorded_without_a_journal_is_still_torn_down() {
    let test = "an_ssh_cluster_recorded_without_a_journal_is_still_torn_down";
    let Some(fleet) = fleet(test, 1) else {
        return;
    };
    let name = "sshunjournalled";
    let (uid, dirs) = up(&fleet, name, "");
    // As recorded by a build whose ssh backend journalled nothing.
    let ledger = fleet
        .dir
        .path()
        .join("state/clusters")
        .join(name)
        .join("ledger.jsonl");
    std::fs::write(&ledger, "").expect("empty the ledger");
    let destroy = deck(&fleet, &["-o", "json", "destroy", name]);
    assert!(
        destroy.status.success(),
        "{}\n{}",
        text(&destroy.stderr),
        text(&destroy.stdout)
    );
    assert!(
        text(&destroy.stdout).contains("\"event\":\"node_destroyed\""),
        "{}",
        text(&destroy.stdout)
    );
    assert_eq!(labelled(&uid, None), Vec::<u32>::new(), "daemons stopped");
    for dir in &dirs {
        assert!(!dir.exists(), "{} removed", dir.display());
    }
}
