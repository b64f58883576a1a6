//! `{ env: NAME }` in `install.config`: the value reaches the node's rendered
//! config and nothing else (state, events, `inspect`).

mod common;

use std::path::Path;

use common::{Deck, node_dirs, text, write_spec};

const SECRET: &str = "s3cr3t-pa55-7f1d9c";

const SPEC: &str = "name: secrets
node_groups:
  - { name: db, count: 1, roles: [db] }
install:
  from: install.sh
  config:
    user: admin
    password: { env: CLUSTERDECK_TEST_DB_PASSWORD }
";

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path).is_ok_and(|bytes| {
            bytes
                .windows(needle.len())
                .any(|window| window == needle.as_bytes())
        }) {
            found.push(path.display().to_string());
        }
    }
    found
}

#[test]
fn an_env_value_reaches_the_node_config_and_nothing_else() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), SPEC, "#!/bin/sh\ntest -s config.json\n");
    let spec = spec.to_str().expect("path");

    let up = deck
        .command(&["-o", "json", "up", spec])
        .env("CLUSTERDECK_TEST_DB_PASSWORD", SECRET)
        .output()
        .expect("run up");
    assert!(up.status.success(), "{}", text(&up.stderr));
    assert!(
        !text(&up.stdout).contains(SECRET),
        "events carry the secret"
    );
    assert!(!text(&up.stderr).contains(SECRET));

    let record = deck.record("secrets");
    assert_eq!(
        record["spec"]["install"]["config"]["password"],
        serde_json::json!({ "env": "CLUSTERDECK_TEST_DB_PASSWORD" }),
        "the record keeps the reference"
    );
    let inspect_json = deck.run(&["inspect", "secrets", "--json"]);
    let inspect_text = deck.run(&["inspect", "secrets"]);
    for output in [&inspect_json, &inspect_text] {
        assert!(output.status.success(), "{}", text(&output.stderr));
        assert!(
            !text(&output.stdout).contains(SECRET),
            "inspect shows the secret"
        );
    }
    // The local backend keeps node directories under the state directory:
    // the rendered config there is the one file that may hold the value.
    let dirs = node_dirs(&record);
    let node_config = Path::new(&dirs[0]).join("install/config.json");
    assert_eq!(
        files_containing(deck.state.path(), SECRET),
        vec![node_config.display().to_string()],
        "only the node's rendered config holds the secret"
    );
    let rendered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&node_config).expect("node config"))
            .expect("config json");
    assert_eq!(rendered["password"], SECRET);
    assert_eq!(rendered["user"], "admin");

    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing("secrets", &uid, &dirs);
}

#[test]
fn a_missing_variable_fails_validate_naming_it_and_its_position() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), SPEC, "#!/bin/sh\n");
    let spec = spec.to_str().expect("path");
    for command in ["validate", "up"] {
        let output = deck
            .command(&[command, spec])
            .env_remove("CLUSTERDECK_TEST_DB_PASSWORD")
            .output()
            .expect("run");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command}: {}",
            text(&output.stderr)
        );
        assert!(
            text(&output.stderr).contains("spec.yaml:8:22: install.config.password: this value is taken from the environment variable CLUSTERDECK_TEST_DB_PASSWORD, which is not set"),
            "{command}: {}",
            text(&output.stderr)
        );
    }
    assert!(!deck.state.path().join("clusters").join("secrets").exists());
}
