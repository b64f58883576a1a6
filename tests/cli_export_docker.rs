//! `clusterdeck export` against the real Docker engine: the same bundle from
//! containers (files read through the engine's archive download), a file
//! past the cap cut and marked, an absolute path, and a stopped container
//! still giving its plain paths. Skipped (with the reason) without an
//! engine or the node image, failed instead under CI=true.

mod common;

use common::bundle::{contains, entries, json, raw};
use common::docker::{BUSYBOX, DockerCleanup, assert_nothing_left, docker, require, unique_name};
use common::{Deck, text};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzDOCKERKEY";
const SECRET_ENV: &str = "CLUSTERDECK_TEST_EXPORT_DOCKER_SECRET";
/// One byte past the 16 MiB cap of a fetched file.
const BIG: u64 = 16 * 1024 * 1024 + 1;

const INSTALLER: &str = r#"#!/bin/sh
set -eu
mkdir -p ../logs
echo "app log of $CLUSTERDECK_NODE ($1)" > ../logs/app.log
cp config.json ../logs/config-copy.log
echo "absolute log of $CLUSTERDECK_NODE" > /tmp/absolute.log
if [ "$1" = master ]; then head -c BIG /dev/zero > ../logs/big.log; fi
echo "rendered config: $(cat config.json)"
"#;

#[test]
fn a_bundle_from_containers_holds_their_logs_and_no_secret() {
    if !require(
        "a_bundle_from_containers_holds_their_logs_and_no_secret",
        &[BUSYBOX],
    ) {
        return;
    }
    let deck = Deck::new();
    let name = unique_name("export");
    let _cleanup = DockerCleanup::new(&deck, &name);
    let dir = tempfile::tempdir().expect("dir");
    let spec = format!(
        r#"name: {name}
backend: {{ kind: docker, options: {{ image: "{BUSYBOX}", transport: docker-exec }} }}
node_groups:
  - {{ name: masters, count: 1, roles: [master] }}
  - {{ name: workers, count: 2, roles: [worker] }}
install:
  from: install.sh
  config:
    aws_secret_access_key: {{ env: {SECRET_ENV} }}
  log_paths:
    master: [logs/*.log, /tmp/absolute.log, missing.log]
    worker: [logs/app.log, logs/config-copy.log, /tmp/absolute.log]
checks:
  debuggers:
    - {{ name: hello, run: "echo hi from $CLUSTERDECK_NODE", timeout: 20s }}
"#
    );
    let installer = INSTALLER.replace("BIG", &BIG.to_string());
    let spec = common::write_spec(dir.path(), &spec, &installer);
    let up = deck
        .command(&["up", spec.to_str().expect("utf8")])
        .env(SECRET_ENV, SECRET)
        .output()
        .expect("up");
    assert!(
        up.status.success(),
        "{}{}",
        text(&up.stdout),
        text(&up.stderr)
    );

    // One worker's container is stopped: commands fail there, but the
    // engine still hands out its files.
    let record = deck.record(&name);
    let stopped = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|node| node["name"] == "workers-2")
        .expect("workers-2")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let stop = docker(&["stop", "-t", "1", &stopped]);
    assert!(stop.status.success(), "{}", text(&stop.stderr));

    let out = dir.path().join("docker-bundle.tar.gz");
    let export = deck
        .command(&[
            "-o",
            "json",
            "export",
            &name,
            "--out",
            out.to_str().expect("utf8"),
        ])
        .env(SECRET_ENV, SECRET)
        .output()
        .expect("export");
    assert!(
        export.status.success(),
        "{}{}",
        text(&export.stdout),
        text(&export.stderr)
    );
    let events = Deck::events(&export);
    assert!(
        events
            .iter()
            .any(|event| event["event"] == "bundle_written")
    );

    let bundle = entries(&out);
    let top = format!("clusterdeck-{name}");
    let get = |path: &str| {
        bundle
            .get(&format!("{top}/{path}"))
            .unwrap_or_else(|| panic!("{path} missing; bundle has {:?}", bundle.keys()))
    };
    for (node, role) in [
        ("masters-1", "master"),
        ("workers-1", "worker"),
        ("workers-2", "worker"),
    ] {
        assert_eq!(
            text(get(&format!("nodes/{node}/logs/app.log"))),
            format!("app log of {node} ({role})\n")
        );
        assert_eq!(
            text(get(&format!("nodes/{node}/_root/tmp/absolute.log"))),
            format!("absolute log of {node}\n")
        );
        assert!(text(get(&format!("nodes/{node}/logs/config-copy.log"))).contains("[redacted]"));
    }
    let big = get("nodes/masters-1/logs/big.log");
    assert_eq!(big.len() as u64, BIG - 1, "cut at the cap");
    let manifest = json(&bundle, &format!("{top}/manifest.json"));
    let files = manifest["files"].as_array().expect("files");
    let big_entry = files
        .iter()
        .find(|file| file["source"] == "logs/big.log")
        .expect("big.log in the manifest");
    assert_eq!(big_entry["truncated"], true);
    assert_eq!(big_entry["size"], BIG);
    let problems = manifest["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|problem| problem["node"] == "masters-1" && problem["path"] == "missing.log"),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|problem| problem["node"] == "workers-2"
            && problem["error"]
                .as_str()
                .is_some_and(|error| error.contains("only plain paths were tried"))),
        "{problems:?}"
    );
    let debug = json(&bundle, &format!("{top}/debug-results.json"));
    assert_eq!(debug["results"].as_array().expect("results").len(), 3);
    assert!(text(get("events.jsonl")).contains("\"operation\":\"up\""));

    let all = raw(&out);
    assert!(
        !contains(&all, SECRET.as_bytes()),
        "the secret is in the bundle"
    );

    let destroy = deck.run(&["destroy", &name]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
    assert_nothing_left(&name);
}
