//! `clusterdeck plugin check PATH` through the real binary: the example dirs
//! plugin passes every method; fake plugins that answer a result of the
//! wrong shape, leave resources behind, write garbage or lack a required
//! method fail, each with the method to blame named.

mod common;

use std::path::Path;
use std::process::Output;

use common::plugins::{dirs_plugin, patched_dirs};
use common::{Deck, text};
use serde_json::Value;

/// Runs `plugin check` with its temporary state under `tmp`.
fn check(deck: &Deck, plugin: &Path, tmp: &Path, json: bool) -> Output {
    let plugin = plugin.display().to_string();
    let mut args = vec!["plugin", "check", plugin.as_str()];
    if json {
        args.extend(["-o", "json"]);
    }
    deck.command(&args)
        .env("TMPDIR", tmp)
        .env("CLUSTERDECK_PLUGIN_SILENCE_MS", "10000")
        .output()
        .expect("run clusterdeck")
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", text(&output.stdout)))
}

/// Method name → (verdict, problems joined).
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .map(|method| {
            let problems: Vec<&str> = method["problems"]
                .as_array()
                .expect("problems")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            (
                method["method"].as_str().expect("name").to_owned(),
                method["verdict"].as_str().expect("verdict").to_owned(),
                problems.join(" | "),
            )
        })
        .collect()
}

fn verdict_of(report: &Value, method: &str) -> (String, String) {
    verdicts(report)
        .into_iter()
        .find(|(name, _, _)| name == method)
        .map(|(_, verdict, problems)| (verdict, problems))
        .unwrap_or_else(|| panic!("{method} not in {report:#}"))
}

fn assert_tmp_clean(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp)
        .expect("tmp")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    assert!(left.is_empty(), "plugin check left {left:?}");
}

#[test]
fn the_dirs_example_passes_every_method_it_claims() {
    let deck = Deck::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let output = check(&deck, &dirs_plugin(), tmp.path(), true);
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["plugin"], "dirs");
    assert_eq!(report["protocol_version"], 1);
    let methods = verdicts(&report);
    for (method, verdict, problems) in &methods {
        assert_eq!(verdict, "pass", "{method}: {problems}");
    }
    let names: Vec<&str> = methods.iter().map(|(name, _, _)| name.as_str()).collect();
    for expected in [
        "initialize",
        "info",
        "preflight",
        "validate",
        "prepare",
        "create_group",
        "endpoint",
        "discover",
        "list_labelled",
        "destroy_nodes",
        "power",
        "destroy_resource",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not exercised: {names:?}"
        );
    }
    let endpoint = &report["methods"]
        .as_array()
        .expect("methods")
        .iter()
        .find(|method| method["method"] == "endpoint")
        .expect("endpoint")["calls"];
    assert_eq!(endpoint, 3, "two nodes and the scaled one reached");
    assert!(report["messages"].as_u64().expect("count") > 40, "{report}");
    assert_tmp_clean(tmp.path());

    let output = check(&deck, &dirs_plugin(), tmp.path(), false);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("pass  create_group"), "{stdout}");
    assert!(stdout.contains("12 methods, 0 failed"), "{stdout}");
    assert_tmp_clean(tmp.path());
}

/// A fake plugin's check fails, exit 1, blaming `method` with `problem`.
fn fails_at(patch: &str, method: &str, problem: &str) -> Value {
    let deck = Deck::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("plugin dir");
    let plugin = patched_dirs(dir.path(), patch);
    let output = check(&deck, &plugin, tmp.path(), true);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let report = report(&output);
    let (verdict, problems) = verdict_of(&report, method);
    assert_eq!(verdict, "fail", "{report:#}");
    assert!(problems.contains(problem), "{method}: {problems}");
    assert!(
        text(&output.stderr).contains("plugin dirs failed its check:"),
        "{}",
        text(&output.stderr)
    );
    assert_tmp_clean(tmp.path());
    report
}

#[test]
fn a_result_of_the_wrong_shape_fails_its_method() {
    let report = fails_at(
        "dirs.METHODS['endpoint'] = lambda params: {'kind': 'local', 'path': '/nowhere'}",
        "endpoint",
        "result of endpoint: /: ",
    );
    // The rest of the run went on and passed.
    assert_eq!(verdict_of(&report, "create_group").0, "pass");
    assert_eq!(verdict_of(&report, "destroy_nodes").0, "pass");
}

#[test]
fn a_plugin_that_leaves_resources_behind_fails_destroy_nodes() {
    fails_at(
        "dirs.METHODS['destroy_nodes'] = lambda params: [[n['name'], {'Ok': None}] for n in params['nodes']]",
        "destroy_nodes",
        "left behind after destroy, by its own list_labelled: node-dir",
    );
}

#[test]
fn a_plugin_writing_garbage_fails_the_call_it_was_in_and_the_rest_is_not_run() {
    let report = fails_at(
        "def garbage(params):\n    print('this is not JSON-RPC', flush=True)\n    return []\ndirs.METHODS['preflight'] = garbage",
        "preflight",
        "wrote a line that is not a JSON-RPC message",
    );
    for later in ["validate", "prepare"] {
        assert_eq!(verdict_of(&report, later).0, "skipped", "{report:#}");
    }
}

#[test]
fn optional_methods_may_be_missing_but_a_required_one_may_not() {
    let deck = Deck::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("plugin dir");
    let plugin = patched_dirs(
        dir.path(),
        "for m in ['preflight', 'validate', 'discover']:\n    del dirs.METHODS[m]",
    );
    let output = check(&deck, &plugin, tmp.path(), false);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("not implemented (optional): the host copes"),
        "{stdout}"
    );

    let report = fails_at(
        "del dirs.METHODS['endpoint']",
        "endpoint",
        "with error -32601",
    );
    assert_eq!(verdict_of(&report, "destroy_nodes").0, "pass");
}

#[test]
fn a_path_that_is_not_an_executable_is_bad_input() {
    let deck = Deck::new();
    let output = deck.run(&["plugin", "check", "Cargo.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("Cargo.toml is not an executable file"),
        "{}",
        text(&output.stderr)
    );
}

fn kvstore_with(tmp: &Path, fault: &str) -> std::path::PathBuf {
    let real = common::repo_root().join("examples/plugins/clusterdeck-plugin-kvstore");
    if fault.is_empty() {
        return real;
    }
    let path = tmp.join(format!("clusterdeck-plugin-kvstore-{fault}"));
    let script = format!(
        "#!/bin/sh\nCLUSTERDECK_KVSTORE_FAULT={fault} exec {:?} \"$@\"\n",
        real.display().to_string()
    );
    std::fs::write(&path, script).expect("write wrapper");
    common::plugins::make_executable(&path);
    path
}

#[test]
fn the_kvstore_example_passes_every_query_and_phase() {
    let deck = Deck::new();
    let tmp = tempfile::tempdir().expect("tmp");
    let output = check(&deck, &kvstore_with(tmp.path(), ""), tmp.path(), true);
    assert!(
        output.status.success(),
        "{}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    let report = report(&output);
    assert_eq!(report["kinds"], serde_json::json!(["distribution"]));
    let methods = verdicts(&report);
    for (method, verdict, problems) in &methods {
        assert_eq!(verdict, "pass", "{method}: {problems}");
    }
    let names: Vec<&str> = methods.iter().map(|(name, _, _)| name.as_str()).collect();
    for expected in [
        "distribution.versions",
        "distribution.configs",
        "distribution.node_processes",
        "distribution.validate",
        "distribution.validate_scaling",
        "distribution.open_ports",
        "distribution.log_paths",
        "distribution.configure",
        "distribution.start",
        "distribution.scale",
        "distribution.decommission",
        "distribution.on_terminate",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} not exercised: {names:?}"
        );
    }
    assert_tmp_clean(tmp.path());
}

#[test]
fn a_distribution_missing_a_verdict_fails_its_phase_and_missing_phases_pass() {
    let deck = Deck::new();
    let plugins = tempfile::tempdir().expect("plugins");
    let tmp = tempfile::tempdir().expect("tmp");
    let output = check(
        &deck,
        &kvstore_with(plugins.path(), "forget"),
        tmp.path(),
        true,
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stdout));
    let (verdict, problems) = verdict_of(&report(&output), "distribution.configure");
    assert_eq!(verdict, "fail");
    assert_eq!(problems, "no verdict for node workers-2");
    assert_tmp_clean(tmp.path());

    let output = check(
        &deck,
        &kvstore_with(plugins.path(), "minimal"),
        tmp.path(),
        true,
    );
    assert!(output.status.success(), "{}", text(&output.stdout));
    let report = report(&output);
    assert_eq!(verdict_of(&report, "distribution.scale").0, "pass");
    assert_eq!(verdict_of(&report, "distribution.open_ports").0, "pass");
    assert_tmp_clean(tmp.path());
}
