//! `clusterdeck export` through the real binary on the local backend: every
//! node's log files, the record, the event log and the debugger results in
//! the bundle, what is missing in its manifest, and no secret anywhere.

mod common;

use std::path::Path;

use common::bundle::{contains, entries, json, raw};
use common::{Deck, node_dirs, text};

/// An AWS-style secret key that must never reach the bundle or the log.
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXPORTKEY";
const SECRET_ENV: &str = "CLUSTERDECK_TEST_EXPORT_SECRET";
const URL_PASSWORD: &str = "pa55-w0rd-in-url";

const INSTALLER: &str = r#"#!/bin/sh
set -eu
mkdir -p ../logs ../logs/deep
echo "app log of $CLUSTERDECK_NODE ($1)" > ../logs/app.log
echo "nested log of $CLUSTERDECK_NODE" > ../logs/deep/trace.txt
echo "setup log of $CLUSTERDECK_NODE" > setup.log
# A careless installer: the config, secret and all, into a log and stdout.
cp config.json ../logs/config-copy.log
echo "rendered config: $(cat config.json)"
echo "fetching https://bob:pa55-w0rd-in-url@example.test/pkg"
if [ "$1" = master ]; then ln -s "$OUTSIDE_FILE" ../logs/outside.log; fi
"#;

fn spec(dir: &Path, name: &str, outside: &Path) -> std::path::PathBuf {
    let spec = format!(
        r#"name: {name}
backend: {{ kind: local }}
node_groups:
  - {{ name: masters, count: 1, roles: [master] }}
  - {{ name: workers, count: 2, roles: [worker] }}
install:
  from: ./install.sh
  config:
    aws_secret_access_key: {{ env: {SECRET_ENV} }}
    outside: {outside}
  log_paths:
    master: [logs/*.log, install/*.log, logs/deep, missing/*.log]
    worker: [logs/app.log, logs/config-copy.log]
checks:
  debuggers:
    - {{ name: hello, run: "echo hi from $CLUSTERDECK_NODE" }}
"#,
        outside = outside.display()
    );
    let installer = INSTALLER.replace("$OUTSIDE_FILE", &outside.display().to_string());
    common::write_spec(dir, &spec, &installer)
}

fn up(deck: &Deck, spec: &Path) {
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
}

#[test]
fn a_bundle_holds_every_nodes_logs_the_state_and_no_secret() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let outside = dir.path().join("id_ed25519");
    std::fs::write(&outside, "PRIVATE-KEY-MATERIAL-outside-the-node").expect("outside");
    let spec = spec(dir.path(), "exported", &outside);
    up(&deck, &spec);
    let out = dir.path().join("out/bundle.tar.gz");
    std::fs::create_dir_all(out.parent().expect("parent")).expect("out dir");
    let export = deck
        .command(&[
            "-o",
            "json",
            "export",
            "exported",
            "--out",
            out.to_str().expect("utf8"),
        ])
        .env(SECRET_ENV, SECRET)
        .output()
        .expect("export");
    assert!(export.status.success(), "{}", text(&export.stderr));

    // Progress per node as `export` steps, the bundle announced.
    let events = Deck::events(&export);
    for node in ["masters-1", "workers-1", "workers-2"] {
        assert!(
            events.iter().any(|event| event["event"] == "step_finished"
                && event["step"] == "export"
                && event["node"] == node
                && event["status"] == "ok"),
            "no export step for {node}: {events:?}"
        );
    }
    let written = events
        .iter()
        .find(|event| event["event"] == "bundle_written")
        .expect("bundle_written");
    assert_eq!(written["path"], out.to_str().expect("utf8"));
    assert_eq!(events.last().expect("last")["outcome"], "succeeded");

    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out)
        .expect("bundle")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        std::fs::metadata(&out).expect("bundle").len(),
        written["bytes"]
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.parent().expect("parent"))
        .expect("out dir")
        .collect();
    assert_eq!(leftovers.len(), 1, "only the bundle, no temporary file");

    let bundle = entries(&out);
    let top = "clusterdeck-exported";
    assert!(
        bundle
            .keys()
            .all(|name| name.starts_with(&format!("{top}/"))),
        "{:?}",
        bundle.keys()
    );
    let get = |name: &str| {
        bundle
            .get(&format!("{top}/{name}"))
            .unwrap_or_else(|| panic!("{name} missing; bundle has {:?}", bundle.keys()))
    };
    for node in ["masters-1", "workers-1", "workers-2"] {
        let role = if node.starts_with("masters") {
            "master"
        } else {
            "worker"
        };
        assert_eq!(
            text(get(&format!("nodes/{node}/logs/app.log"))),
            format!("app log of {node} ({role})\n")
        );
        assert!(
            text(get(&format!("nodes/{node}/logs/config-copy.log"))).contains("[redacted]"),
            "the copied config is in the bundle with its secret replaced"
        );
    }
    assert_eq!(
        text(get("nodes/masters-1/install/setup.log")),
        "setup log of masters-1\n"
    );
    assert_eq!(
        text(get("nodes/masters-1/logs/deep/trace.txt")),
        "nested log of masters-1\n"
    );
    assert!(
        !bundle.contains_key(&format!("{top}/nodes/workers-1/install/setup.log")),
        "a worker's paths do not name it"
    );

    let record = json(&bundle, &format!("{top}/record.json"));
    assert_eq!(record["name"], "exported");
    assert_eq!(record["nodes"].as_array().expect("nodes").len(), 3);
    let events_log = text(get("events.jsonl"));
    let logged: Vec<serde_json::Value> = events_log
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON event per line"))
        .collect();
    assert_eq!(logged[0]["event"], "operation_started");
    assert_eq!(logged[0]["operation"], "up");
    assert!(logged.iter().any(|event| {
        event["event"] == "output"
            && event["line"]
                .as_str()
                .is_some_and(|line| line.contains("rendered config"))
    }));
    let debug = json(&bundle, &format!("{top}/debug-results.json"));
    assert_eq!(debug["operation"], "up");
    let results = debug["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "one per node: {debug}");
    assert!(results.iter().any(|result| result["node"] == "workers-2"
        && result["output"] == "hi from workers-2"
        && result["status"] == "pass"));

    let manifest = json(&bundle, &format!("{top}/manifest.json"));
    let files = manifest["files"].as_array().expect("files");
    assert!(files.iter().any(|file| file["node"] == "workers-1"
        && file["source"] == "logs/app.log"
        && file["path"] == "nodes/workers-1/logs/app.log"
        && file["bytes"] == 30
        && file["truncated"] == false));
    let problems = manifest["problems"].as_array().expect("problems");
    let problem = |node: &str, path: &str| {
        problems
            .iter()
            .find(|problem| problem["node"] == node && problem["path"] == path)
            .unwrap_or_else(|| panic!("no problem for {node} {path}: {problems:?}"))
            .clone()
    };
    assert_eq!(
        problem("masters-1", "missing/*.log")["error"],
        "matched no file"
    );
    let refused = problem("masters-1", "logs/outside.log");
    assert!(
        refused["error"]
            .as_str()
            .expect("error")
            .contains("refusing path"),
        "{refused}"
    );
    assert!(text(get("errors.txt")).contains("masters-1: missing/*.log: matched no file"));

    // No secret in any byte of the bundle, nor the file outside the node.
    let all = raw(&out);
    for needle in [SECRET, URL_PASSWORD, "PRIVATE-KEY-MATERIAL"] {
        assert!(
            !contains(&all, needle.as_bytes()),
            "{needle} is in the bundle"
        );
    }
    assert!(contains(&all, b"https://bob:[redacted]@example.test/pkg"));
    // Nor in the cluster's event log in the state directory.
    let state_log = deck.state.path().join("clusters/exported/events.jsonl");
    let state_log = std::fs::read(&state_log).expect("event log in the state dir");
    assert!(!contains(&state_log, SECRET.as_bytes()));
    assert!(contains(&state_log, b"\"operation\":\"export\""));

    let record = deck.record("exported");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("exported", &uid, &node_dirs(&record));
}

#[test]
fn a_node_that_is_gone_is_listed_and_the_default_path_is_used() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let outside = dir.path().join("unused");
    let spec = spec(dir.path(), "partial", &outside);
    up(&deck, &spec);
    let record = deck.record("partial");
    let gone = record["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|node| node["name"] == "workers-2")
        .expect("workers-2")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    std::fs::remove_dir_all(&gone).expect("remove the node's directory");
    let cwd = tempfile::tempdir().expect("cwd");
    let export = deck
        .command(&["export", "partial"])
        .current_dir(cwd.path())
        .output()
        .expect("export");
    assert!(export.status.success(), "{}", text(&export.stderr));
    let stdout = text(&export.stdout);
    assert!(
        stdout.contains("workers-2") && stdout.contains("export: FAILED"),
        "{stdout}"
    );
    let written: Vec<_> = std::fs::read_dir(cwd.path())
        .expect("cwd")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let name = &written[0];
    assert!(
        name.starts_with("clusterdeck-partial-20") && name.ends_with("Z.tar.gz"),
        "{name}"
    );
    let bundle = entries(&cwd.path().join(name));
    assert!(bundle.contains_key("clusterdeck-partial/nodes/workers-1/logs/app.log"));
    let manifest = json(&bundle, "clusterdeck-partial/manifest.json");
    let problems = manifest["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|problem| problem["node"] == "workers-2"
            && problem["error"]
                .as_str()
                .expect("error")
                .contains("unreachable")),
        "{problems:?}"
    );
    // A directory as --out gets the default name inside it.
    let into = tempfile::tempdir().expect("out dir");
    let export = deck.run(&[
        "export",
        "partial",
        "--out",
        into.path().to_str().expect("utf8"),
    ]);
    assert!(export.status.success(), "{}", text(&export.stderr));
    let names: Vec<String> = std::fs::read_dir(into.path())
        .expect("out dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        names.len() == 1 && names[0].starts_with("clusterdeck-partial-"),
        "{names:?}"
    );
    let destroy = deck.run(&["destroy", "partial"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}

#[test]
fn an_unknown_cluster_or_an_unwritable_bundle_fails_clearly() {
    let deck = Deck::new();
    let unknown = deck.run(&["export", "nope", "--out", "/tmp/never-written.tar.gz"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown.stderr).contains("no cluster named \"nope\""),
        "{}",
        text(&unknown.stderr)
    );
    assert!(!Path::new("/tmp/never-written.tar.gz").exists());

    let dir = tempfile::tempdir().expect("dir");
    let spec = spec(dir.path(), "unwritable", &dir.path().join("unused"));
    up(&deck, &spec);
    let target = dir.path().join("no/such/dir/b.tar.gz");
    let export = deck.run(&[
        "export",
        "unwritable",
        "--out",
        target.to_str().expect("utf8"),
    ]);
    assert_eq!(export.status.code(), Some(1), "{}", text(&export.stdout));
    assert!(
        text(&export.stderr).contains("cannot write the bundle"),
        "{}",
        text(&export.stderr)
    );
    let destroy = deck.run(&["destroy", "unwritable"]);
    assert!(destroy.status.success(), "{}", text(&destroy.stderr));
}
