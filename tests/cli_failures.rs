//! Failures through the real binary: per-node failures, timeouts, bad input,
//! and a killed or interrupted `up` that `destroy` still cleans up after.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Deck, labelled, node_dirs, text, write_spec};

const FOUR_AGENTS: &str = "name: NAME
node_groups:
  - { name: agents, count: 4, roles: [agent] }
install:
  from: install.sh
checks:
  debuggers:
    - { name: slow, roles: [agent], run: 'if [ $CLUSTERDECK_INDEX = 3 ]; then sleep 5; fi; echo same', expect: same, timeout: 500ms }
";

#[test]
fn one_failing_node_does_not_stop_the_others_and_timeouts_are_reported() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(
        dir.path(),
        &FOUR_AGENTS.replace("NAME", "partial"),
        "#!/bin/sh\nif [ \"$CLUSTERDECK_INDEX\" = 2 ]; then echo 'disk full' >&2; exit 3; fi\necho installed\n",
    );
    let up = deck.run(&["-o", "json", "up", spec.to_str().expect("path")]);
    assert_eq!(up.status.code(), Some(1), "stderr: {}", text(&up.stderr));
    let stderr = text(&up.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line reason: {stderr}");
    assert!(stderr.contains("1 node(s) failed: agents-2"), "{stderr}");

    let events = Deck::events(&up);
    let install_ok = events
        .iter()
        .filter(|event| {
            event["event"] == "step_finished"
                && event["step"] == "install:agent"
                && event["status"] == "ok"
        })
        .count();
    assert_eq!(install_ok, 3, "the other three nodes installed");
    let summary = &events.last().expect("finished")["summary"];
    assert_eq!(summary["failures"][0]["node"], "agents-2");
    assert_eq!(summary["failures"][0]["step"], "install:agent");
    assert_eq!(summary["failures"][0]["error"], "exit status 3: disk full");
    // Debuggers still run on every node: agents-3 times out, the rest fold together.
    assert_eq!(summary["tally"]["timeout"], 1);
    assert_eq!(summary["tally"]["pass"], 3);
    let results = summary["results"].as_array().expect("results");
    assert_eq!(results[0]["status"], "timeout");
    assert_eq!(results[0]["nodes"], "agents-3");
    assert_eq!(results[1]["nodes"], "agents-[1-2,4]");

    let record = deck.record("partial");
    assert_eq!(record["status"], "degraded");
    let destroy = deck.run(&["destroy", "partial"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}

#[test]
fn bad_input_gets_one_clear_line_and_exit_status_2() {
    let deck = Deck::new();
    let cases: &[(&[&str], &str)] = &[
        (
            &["up", "no/such/spec.yaml"],
            "no/such/spec.yaml: cannot read the spec file",
        ),
        (&["destroy", "ghost"], "no cluster named \"ghost\""),
        (&["inspect", "ghost"], "no cluster named \"ghost\""),
        (
            &["run", "ghost", "--", "true"],
            "no cluster named \"ghost\"",
        ),
        (&["debug", "ghost"], "no cluster named \"ghost\""),
    ];
    for (args, expected) in cases {
        let output = deck.run(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{stderr}"
        );
    }
}

#[test]
fn unknown_role_lists_the_known_ones_and_up_twice_is_refused() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(
        dir.path(),
        "name: twice\nnode_groups: [{ name: a, count: 1, roles: [web] }]\n",
        "",
    );
    let spec = spec.to_str().expect("path");
    assert!(deck.run(&["up", spec]).status.success());
    let run = deck.run(&["run", "twice", "--role", "db", "--", "true"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        text(&run.stderr).contains("cluster \"twice\" has no role \"db\"; known: web"),
        "{}",
        text(&run.stderr)
    );
    let again = deck.run(&["up", spec]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        text(&again.stderr).contains("already exists (status ready)"),
        "{}",
        text(&again.stderr)
    );
    assert!(deck.run(&["destroy", "twice"]).status.success());
}

const SLOW_INSTALL: &str = "#!/bin/sh
# Leaves a daemon behind (in its own session, so only the label finds it),
# then takes long enough for the test to interrupt it.
setsid sh -c 'sleep 300' </dev/null >/dev/null 2>&1 &
echo daemon started
sleep 300
";

/// Starts `up` on a slow spec and waits until every node's daemon is running.
fn start_slow_up(deck: &Deck, name: &str, dir: &std::path::Path) -> std::process::Child {
    let spec = write_spec(
        dir,
        &format!(
            "name: {name}\nnode_groups: [{{ name: n, count: 3, roles: [x] }}]\ninstall: {{ from: install.sh }}\n"
        ),
        SLOW_INSTALL,
    );
    let mut child = deck
        .command(&["-o", "json", "up", spec.to_str().expect("path")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn up");
    let stdout = child.stdout.take().expect("stdout");
    let mut started = 0;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if line.contains("daemon started") {
            started += 1;
            if started == 3 {
                break;
            }
        }
    }
    assert_eq!(started, 3, "every node started its daemon");
    child
}

#[test]
fn destroy_removes_everything_after_up_is_killed_midway() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let mut child = start_slow_up(&deck, "killed", dir.path());
    child.kill().expect("SIGKILL clusterdeck up");
    child.wait().expect("reap");

    let record = deck.record("killed");
    assert_eq!(
        record["status"], "creating",
        "the record shows up never finished"
    );
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let orphans = labelled(&uid);
    assert!(
        orphans.len() >= 6,
        "installers and daemons outlive the killed up: {orphans:?}"
    );
    let node_dirs = node_dirs(&record);
    assert_eq!(node_dirs.len(), 3);

    deck.destroy_leaves_nothing("killed", &uid, &node_dirs);
}

#[test]
fn interrupt_cancels_promptly_and_records_state() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let mut child = start_slow_up(&deck, "interrupted", dir.path());
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let sent = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let status = child.wait().expect("wait");
    assert!(
        sent.elapsed() < Duration::from_secs(5),
        "took {:?}",
        sent.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read");
    assert!(
        stderr.contains("clusterdeck destroy interrupted"),
        "{stderr}"
    );

    let record = deck.record("interrupted");
    assert_eq!(record["last_operation"]["outcome"], "cancelled");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let destroy = deck.run(&["destroy", "interrupted"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert!(labelled(&uid).is_empty());
}

#[test]
fn an_installer_past_its_timeout_is_killed_and_reported() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(
        dir.path(),
        "name: hung\nnode_groups: [{ name: n, count: 2 }]\ninstall: { from: install.sh, timeout: 300ms }\n",
        "#!/bin/sh\necho working\nsleep 30\n",
    );
    let started = Instant::now();
    let up = deck.run(&["-o", "json", "up", spec.to_str().expect("path")]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(up.status.code(), Some(1), "{}", text(&up.stderr));
    let events = Deck::events(&up);
    let timed_out = events
        .iter()
        .filter(|event| event["event"] == "step_finished" && event["status"] == "timed_out")
        .count();
    assert_eq!(timed_out, 2);
    assert!(
        text(&up.stderr).contains("2 node(s) failed: n-[1-2]"),
        "{}",
        text(&up.stderr)
    );
    let uid = deck.record("hung")["uid"].as_str().expect("uid").to_owned();
    assert!(
        labelled(&uid).is_empty(),
        "the timed-out installers were killed"
    );
    assert!(deck.run(&["destroy", "hung"]).status.success());
}

#[test]
fn a_busy_cluster_names_the_process_that_holds_it() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let mut up = start_slow_up(&deck, "busy", dir.path());
    let spec = dir.path().join("spec.yaml");
    let holder = format!(
        "cluster \"busy\" is busy: another clusterdeck (pid {}) is working on it",
        up.id()
    );
    for args in [
        vec!["up", spec.to_str().expect("path")],
        vec!["run", "busy", "--", "true"],
    ] {
        let refused = deck.run(&args);
        assert_eq!(refused.status.code(), Some(1), "{args:?}");
        assert!(
            text(&refused.stderr).contains(&holder),
            "{args:?}: {}",
            text(&refused.stderr)
        );
    }
    up.kill().expect("SIGKILL clusterdeck up");
    up.wait().expect("reap");

    // While `run` shares the lock, `destroy` names it, not the dead `up`.
    let mut run = deck
        .command(&["-o", "json", "run", "busy", "--", "sleep", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run");
    let mut lines = BufReader::new(run.stdout.take().expect("stdout")).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|line| line.contains("\"operation_started\""));
    assert!(started, "run started");
    let destroy = deck.run(&["destroy", "busy"]);
    assert_eq!(destroy.status.code(), Some(1));
    assert!(
        text(&destroy.stderr).contains(&format!(
            "cluster \"busy\" is busy: another clusterdeck (shared lock, pid {}) is working on it",
            run.id()
        )),
        "{}",
        text(&destroy.stderr)
    );
    // Read to the end so the run never writes into a closed pipe.
    lines.for_each(drop);
    assert!(run.wait().expect("run ends").success());
    let destroy = deck.run(&["destroy", "busy"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}
