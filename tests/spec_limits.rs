//! Hostile spec files through the real binary: each must fail with exit 2 and
//! a clear message, without hanging or growing without bound.

mod common;

use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{Deck, text};

/// Generous: each of these fails in milliseconds; the bound only turns a
/// hang (the old behaviour for a FIFO) into a failed test instead of a stuck one.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// Runs `validate SPEC`, killing it if it has not ended within [`HANG_GUARD`].
fn validate_guarded(deck: &Deck, spec: &Path) -> Output {
    let mut child = deck
        .command(&["validate", spec.to_str().expect("utf-8 path")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn clusterdeck");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > HANG_GUARD {
            child.kill().expect("kill");
            let _ = child.wait();
            panic!("validate {} did not end", spec.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// An alias bomb: each level repeats the previous one ten times, so expanding
/// it would take 10^10 values.
fn alias_bomb(levels: usize) -> String {
    let mut spec = String::from(
        "name: bomb\nnode_groups: [{ name: a, count: 1 }]\ninstall:\n  from: ./install.sh\n  config:\n    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..=levels {
        let previous = format!("*l{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        spec.push_str(&format!("    l{level}: &l{level} [{items}]\n"));
    }
    spec
}

#[test]
fn an_alias_bomb_is_refused_before_it_expands() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("bomb.yaml");
    std::fs::write(&spec, alias_bomb(10)).expect("write");
    let output = validate_guarded(&deck, &spec);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bomb.yaml:6:13: install.config.l0: anchors and aliases are not supported"),
        "{stderr}"
    );
}

#[test]
fn a_device_is_refused_as_a_spec() {
    let deck = Deck::new();
    for device in ["/dev/zero", "/dev/urandom"] {
        let output = validate_guarded(&deck, Path::new(device));
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{device}: the spec must be a regular file; this is a device"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let fifo = dir.path().join("spec.yaml");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
    let output = validate_guarded(&deck, &fifo);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the spec must be a regular file; this is a FIFO (named pipe)"),
        "{stderr}"
    );
}

#[test]
fn an_oversized_spec_is_refused() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("huge.yaml");
    let mut body = String::from("name: huge\nnode_groups:\n");
    while body.len() <= 1024 * 1024 {
        body.push_str("  - { name: group, count: 1 }\n");
    }
    std::fs::write(&spec, body).expect("write");
    let output = validate_guarded(&deck, &spec);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("larger than 1024 KiB"), "{stderr}");
}
