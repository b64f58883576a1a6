//! Installing from a URL through the real binary: `validate` shows the URL
//! without credentials, `up --headless` fetches once from a loopback server,
//! the installer runs on every node, and a later `up` reuses the cache.

mod common;

use common::http::{Server, sha256_hex};
use common::{Deck, node_dirs, text};

const INSTALLER: &[u8] = b"#!/bin/sh\necho \"$1 via url\" > ../role.txt\n";

fn write_spec(dir: &std::path::Path, url: &str, digest: Option<&str>) -> std::path::PathBuf {
    let pin = digest
        .map(|digest| format!(", sha256: {digest}"))
        .unwrap_or_default();
    let path = dir.join("url.yaml");
    std::fs::write(
        &path,
        format!(
            "name: fromurl
node_groups: [{{ name: agents, count: 3, roles: [agent] }}]
install: {{ from: '{url}'{pin} }}
checks:
  debuggers:
    - {{ name: installed, run: cat role.txt, expect: '^agent via url$' }}
"
        ),
    )
    .expect("spec");
    path
}

#[test]
fn up_headless_fetches_once_installs_everywhere_and_reuses_the_cache() {
    let server = Server::start(vec![("/pkg/agent-install.sh", INSTALLER.to_vec())]);
    let digest = sha256_hex(INSTALLER);
    let deck = Deck::new();
    let spec_dir = tempfile::tempdir().expect("dir");
    let url = server.url("/pkg/agent-install.sh");
    let with_credentials = url.replace("http://", "http://deploy:s3cret@");
    let spec = write_spec(spec_dir.path(), &with_credentials, Some(&digest));
    let spec = spec.to_str().expect("utf-8 path");

    let validate = deck.run(&["validate", spec]);
    assert!(validate.status.success(), "{}", text(&validate.stdout));
    let shown = text(&validate.stdout);
    assert!(
        shown.contains(&format!(
            "pass install-source: 0 file(s) to copy are present; the installer is downloaded from {url} at install (sha256 pinned)"
        )),
        "{shown}"
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    assert_eq!(server.requests(), 0, "validate downloads nothing");

    let up = deck.run(&["-o", "json", "up", "--headless", spec]);
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(!text(&up.stdout).contains("s3cret"));
    let events = Deck::events(&up);
    let fetch_steps: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["event"] == "step_finished" && event["step"] == "fetch")
        .collect();
    assert_eq!(fetch_steps.len(), 1, "{fetch_steps:#?}");
    assert_eq!(fetch_steps[0]["node"], "");
    assert_eq!(fetch_steps[0]["status"], "ok");
    let uploads = events
        .iter()
        .filter(|event| event["event"] == "step_finished" && event["step"] == "upload")
        .count();
    assert_eq!(uploads, 3);
    let finished = events.last().expect("events");
    assert_eq!(finished["outcome"], "succeeded", "{finished:#}");
    assert_eq!(finished["summary"]["tally"]["pass"], 3);
    assert_eq!(server.requests(), 1);
    let cached = deck.state.path().join("cache/installers").join(&digest);
    assert_eq!(std::fs::read(&cached).expect("cached"), INSTALLER);

    let record = deck.record("fromurl");
    assert!(!record.to_string().contains("s3cret"), "{record}");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("fromurl", &uid, &node_dirs(&record));
    assert!(cached.is_file(), "destroy keeps the download cache");

    let again = deck.run(&["up", "--headless", spec]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let stdout = text(&again.stdout);
    assert!(
        stdout.contains(&format!(
            "fetch: using the cached download of {url} (sha256 {digest}); nothing downloaded"
        )),
        "{stdout}"
    );
    assert_eq!(server.requests(), 1, "the second up downloaded nothing");
    let record = deck.record("fromurl");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("fromurl", &uid, &node_dirs(&record));
}

#[test]
fn a_wrong_digest_fails_up_with_both_digests_and_exit_status_1() {
    let server = Server::start(vec![("/i.sh", INSTALLER.to_vec())]);
    let actual = sha256_hex(INSTALLER);
    let wrong = "ab".repeat(32);
    let deck = Deck::new();
    let spec_dir = tempfile::tempdir().expect("dir");
    let url = server.url("/i.sh");
    let spec = write_spec(spec_dir.path(), &url, Some(&wrong));

    let up = deck.run(&["up", "--headless", spec.to_str().expect("utf-8")]);
    assert_eq!(up.status.code(), Some(1), "{}", text(&up.stdout));
    let stdout = text(&up.stdout);
    let expected = format!(
        "the installer downloaded from {url} has sha256 {actual}, but the spec expects {wrong}; it was removed and nothing was uploaded"
    );
    assert!(
        stdout.contains("fetch: FAILED") && stdout.contains(&expected),
        "{stdout}"
    );
    assert!(
        !deck
            .state
            .path()
            .join("cache/installers")
            .join(&actual)
            .exists()
            && !deck
                .state
                .path()
                .join("cache/installers")
                .join(&wrong)
                .exists()
    );
    let record = deck.record("fromurl");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("fromurl", &uid, &node_dirs(&record));
}
