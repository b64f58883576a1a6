//! `clusterdeck plugins` through the real binary: the example `dirs` plugin
//! is listed with its version and capabilities, a plugin that answers
//! garbage with an error naming what was wrong, in text and JSON, and no
//! plugin process outlives the command.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Deck, repo_root, text};

/// Marks every process a run starts (the plugins inherit it), so leftovers
/// are found by it in /proc.
const MARKER_ENV: &str = "CLUSTERDECK_PLUGINS_LIST_TEST";

/// A plugin that answers every line with garbage and would then live on
/// (ignoring SIGTERM and its stdin's end) unless it is killed.
const BROKEN: &str = r#"#!/usr/bin/env python3
import signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
sys.stdin.readline()
print("this is not json", flush=True)
while True:
    time.sleep(1)
"#;

/// A plugin that hand-shakes correctly, then would live on (ignoring
/// SIGTERM and its stdin's end) unless it is killed: the listing must kill it.
const STUBBORN: &str = r#"#!/usr/bin/env python3
import json, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
caps = {"create": True, "destroy": True, "install_from_path": False,
        "install_from_url": False, "scale": False, "stop_start": False}
answers = {
    "initialize": {"protocol_version": 1, "name": "stubborn", "version": "2.3.4",
                   "kinds": ["backend"]},
    "info": {"kind": "stubborn", "capabilities": caps, "cluster_options": []},
}
for line in sys.stdin:
    request = json.loads(line)
    result = answers.get(request.get("method"))
    print(json.dumps({"jsonrpc": "2.0", "id": request["id"], "result": result}), flush=True)
    if request.get("method") == "info":
        break
while True:
    time.sleep(1)
"#;

struct Setup {
    deck: Deck,
    broken_dir: tempfile::TempDir,
    data_home: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let broken_dir = tempfile::tempdir().expect("broken dir");
        for (name, body) in [("broken", BROKEN), ("stubborn", STUBBORN)] {
            let script = broken_dir.path().join(format!("clusterdeck-plugin-{name}"));
            std::fs::write(&script, body).expect("write script");
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        Self {
            deck: Deck::new(),
            broken_dir,
            data_home: tempfile::tempdir().expect("data home"),
        }
    }

    fn marker(&self) -> String {
        format!("{MARKER_ENV}={}", self.broken_dir.path().display())
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut path = vec![
            repo_root().join("examples/plugins"),
            self.broken_dir.path().to_path_buf(),
        ];
        if let Some(system) = std::env::var_os("PATH") {
            path.extend(std::env::split_paths(&system));
        }
        let output = self
            .deck
            .command(args)
            .env("PATH", std::env::join_paths(path).expect("PATH"))
            .env("XDG_DATA_HOME", self.data_home.path())
            .env(MARKER_ENV, self.broken_dir.path())
            .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "5000")
            .output()
            .expect("run clusterdeck");
        assert!(
            output.status.success(),
            "status {:?}, stderr: {}",
            output.status,
            text(&output.stderr)
        );
        output
    }

    fn broken_path(&self) -> PathBuf {
        self.broken_dir.path().join("clusterdeck-plugin-broken")
    }

    /// Processes started by this setup's runs that still exist: any whose
    /// environment carries the marker (every plugin it started, `dirs`
    /// included), or whose command line names one of this setup's scripts.
    fn leftovers(&self) -> Vec<String> {
        let marker = self.marker();
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let read = |file: &str| std::fs::read(entry.path().join(file)).unwrap_or_default();
            let environ = read("environ");
            let marked = environ
                .split(|byte| *byte == 0)
                .any(|var| var == marker.as_bytes());
            let cmdline = String::from_utf8_lossy(&read("cmdline")).replace('\0', " ");
            let runs_script = cmdline.contains(&self.broken_dir.path().display().to_string());
            if marked || runs_script {
                found.push(format!("{pid}: {cmdline}"));
            }
        }
        found
    }
}

#[test]
fn text_lists_dirs_with_its_version_and_capabilities_and_broken_with_its_error() {
    let setup = Setup::new();
    let output = setup.run(&["plugins"]);
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{stdout}");
    let dirs = lines
        .iter()
        .find(|line| line.starts_with("dirs "))
        .unwrap_or_else(|| panic!("no dirs row in:\n{stdout}"));
    for expected in [
        "0.1.0",
        "backend",
        "create,destroy,install-from-path,install-from-url,scale,stop-start,gc",
        "examples/plugins/clusterdeck-plugin-dirs",
    ] {
        assert!(dirs.contains(expected), "{expected:?} missing in {dirs:?}");
    }
    let broken = lines
        .iter()
        .position(|line| line.starts_with("broken "))
        .unwrap_or_else(|| panic!("no broken row in:\n{stdout}"));
    assert!(lines[broken].contains(&setup.broken_path().display().to_string()));
    let error = lines[broken + 1];
    assert!(
        error.starts_with("  error: plugin broken failed during initialize")
            && error.contains("not a JSON-RPC message")
            && error.contains("this is not json"),
        "{error:?}"
    );
    let stubborn = lines
        .iter()
        .find(|line| line.starts_with("stubborn "))
        .unwrap_or_else(|| panic!("no stubborn row in:\n{stdout}"));
    assert!(
        stubborn.contains("2.3.4") && stubborn.contains(" create,destroy "),
        "{stubborn:?}"
    );
    let left = setup.leftovers();
    assert!(left.is_empty(), "still running: {left:?}");
}

#[test]
fn json_is_one_array_with_the_description_or_the_error_of_each() {
    let setup = Setup::new();
    let output = setup.run(&["plugins", "-o", "json"]);
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("one JSON array");
    let row = |name: &str| {
        rows.iter()
            .find(|row| row["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
            .clone()
    };
    let dirs = row("dirs");
    assert_eq!(dirs["version"], "0.1.0");
    assert_eq!(dirs["kinds"], serde_json::json!(["backend"]));
    assert_eq!(
        dirs["capabilities"],
        serde_json::json!([
            "create",
            "destroy",
            "install-from-path",
            "install-from-url",
            "scale",
            "stop-start",
            "gc"
        ])
    );
    assert_eq!(
        Path::new(dirs["path"].as_str().expect("path")),
        repo_root().join("examples/plugins/clusterdeck-plugin-dirs")
    );
    assert!(dirs.get("error").is_none(), "{dirs}");

    let broken = row("broken");
    assert_eq!(
        Path::new(broken["path"].as_str().expect("path")),
        setup.broken_path()
    );
    let error = broken["error"].as_str().expect("error text");
    assert!(
        error.contains("initialize") && error.contains("not a JSON-RPC message"),
        "{error}"
    );
    for absent in ["version", "kinds", "capabilities"] {
        assert!(broken.get(absent).is_none(), "{broken}");
    }
    // Validator and debugger plugins have no info: their kinds and version.
    for (name, kind) in [("odd-masters", "validator"), ("agent-pid", "debugger")] {
        let plugin = row(name);
        assert_eq!(plugin["kinds"], serde_json::json!([kind]), "{plugin}");
        assert!(plugin.get("error").is_none(), "{plugin}");
        assert!(
            plugin["version"].as_str().is_some_and(|v| !v.is_empty()),
            "{plugin}"
        );
    }
    let stubborn = row("stubborn");
    assert_eq!(stubborn["version"], "2.3.4");
    assert_eq!(
        stubborn["capabilities"],
        serde_json::json!(["create", "destroy"])
    );
    let left = setup.leftovers();
    assert!(left.is_empty(), "still running: {left:?}");
}
