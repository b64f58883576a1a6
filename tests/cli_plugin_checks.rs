//! The example validator plugin (examples/plugins/clusterdeck-plugin-odd-masters,
//! Python) and debugger plugin (clusterdeck-plugin-agent-pid, POSIX sh)
//! through the real binary on the local backend, headless with JSON events:
//! they pass and fail like built-in checks (a validator finding at its
//! file:line:col, a debugger verdict per node from commands run through the
//! host), and a plugin that crashes, hangs, writes garbage, answers a wrong
//! id, speaks another protocol version or is of another kind fails its
//! check with an error naming it and the call, never clusterdeck.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{Deck, node_dirs, repo_root, text};
use serde_json::Value;

const VALIDATOR: &str = "odd-masters";
const DEBUGGER: &str = "agent-pid";

/// PATH with the example plugins first.
fn plugin_path() -> String {
    let plugins = repo_root().join("examples/plugins");
    match std::env::var("PATH") {
        Ok(path) => format!("{}:{path}", plugins.display()),
        Err(_) => plugins.display().to_string(),
    }
}

/// `clusterdeck -o json up --headless SPEC`, with the plugins on PATH and
/// `faults` (environment variable, value) set.
fn up(deck: &Deck, spec: &Path, faults: &[(&str, &str)]) -> Output {
    let spec = spec.display().to_string();
    let hangs = faults.iter().any(|(_, fault)| *fault == "hang");
    let silence = if hangs { "1000" } else { "20000" };
    let mut command = deck.command(&["-o", "json", "up", "--headless", &spec]);
    command
        .env("PATH", plugin_path())
        // Short only where a plugin is meant to fall silent: a loaded
        // machine can take a while to start an interpreter.
        .env("CLUSTERDECK_PLUGIN_SILENCE_MS", silence)
        .env_remove("CLUSTERDECK_ODD_MASTERS_FAULT")
        .env_remove("CLUSTERDECK_AGENT_PID_FAULT");
    for (name, value) in faults {
        command.env(name, value);
    }
    command.output().expect("run clusterdeck")
}

/// A spec on the local backend with `masters` master nodes and two agents,
/// installed by the quickstart installer; `checks` is its `checks:` block.
fn write_spec(dir: &Path, name: &str, masters: u32, checks: &str) -> PathBuf {
    let assets = repo_root().join("assets/installers");
    let spec = format!(
        "name: {name}
backend:
  kind: local
node_groups:
  - name: masters
    count: {masters}
    roles: [master]
  - name: agents
    count: 2
    roles: [agent]
install:
  from: {installer}
  config: {{log_level: info, heartbeat_seconds: 1}}
  files:
    - {{ src: {ip_detect}, dest: genconf/ip-detect }}
checks:
{checks}",
        installer = assets.join("quickstart.sh").display(),
        ip_detect = assets.join("ip-detect").display(),
    );
    let path = dir.join("spec.yaml");
    std::fs::write(&path, spec).expect("write spec");
    path
}

fn check_results<'a>(events: &'a [Value], name: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|event| event["event"] == "check_result" && event["name"] == name)
        .collect()
}

fn finished(events: &[Value]) -> &Value {
    events
        .iter()
        .rfind(|event| event["event"] == "operation_finished")
        .expect("an operation_finished event")
}

/// Destroys the cluster `name` (if it was recorded) and checks nothing is left.
fn destroy(deck: &Deck, name: &str) {
    if !deck.state.path().join("clusters").join(name).exists() {
        return;
    }
    let record = deck.record(name);
    let uid = record["uid"].as_str().expect("uid").to_owned();
    deck.destroy_leaves_nothing(name, &uid, &node_dirs(&record));
}

const BOTH: &str = "  validators:
    - plugin: odd-masters
  debuggers:
    - plugin: agent-pid
      roles: [agent]
      timeout: 10s
";

#[test]
fn both_plugins_pass_next_to_the_built_in_checks() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), "pc-pass", 1, BOTH);
    let output = up(&deck, &spec, &[]);
    let events = Deck::events(&output);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let validator = check_results(&events, VALIDATOR);
    assert_eq!(validator.len(), 1, "{validator:?}");
    assert_eq!(validator[0]["kind"], "validator");
    assert_eq!(validator[0]["status"], "pass");
    assert_eq!(validator[0]["message"], "1 master node(s): an odd number");
    assert!(
        !check_results(&events, "node-count").is_empty(),
        "built-in validators still run"
    );

    let mut verdicts: Vec<(String, String)> = check_results(&events, DEBUGGER)
        .iter()
        .map(|result| {
            assert_eq!(result["kind"], "debugger");
            assert_eq!(result["message"], "run/agent.pid is there");
            assert!(
                result["output"]
                    .as_str()
                    .is_some_and(|output| output.contains("$ test -f run/agent.pid")),
                "the commands the plugin ran are the result's output: {result}"
            );
            (
                result["node"].as_str().expect("node").to_owned(),
                result["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            ("agents-1".to_owned(), "pass".to_owned()),
            ("agents-2".to_owned(), "pass".to_owned())
        ],
        "one verdict per node of the debugger's roles"
    );
    assert_eq!(finished(&events)["outcome"], "succeeded");
    assert!(
        events.iter().any(|event| event["event"] == "step_progress"
            && event["node"] == "agents-1"
            && event["message"] == "plugin agent-pid: agents-1: pass"),
        "the plugin's log notifications become progress of the node"
    );

    // `debug` runs the plugin again on the existing cluster.
    let mut command = deck.command(&["-o", "json", "debug", "pc-pass"]);
    let debug = command.env("PATH", plugin_path()).output().expect("debug");
    assert!(debug.status.success(), "{}", text(&debug.stderr));
    assert_eq!(check_results(&Deck::events(&debug), DEBUGGER).len(), 2);
    destroy(&deck, "pc-pass");
}

#[test]
fn a_failing_validator_plugin_points_at_the_spec_element_and_nothing_is_created() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), "pc-even", 2, BOTH);
    let output = up(&deck, &spec, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let events = Deck::events(&output);
    let found = check_results(&events, VALIDATOR);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["status"], "fail");
    // `count: 2` of the masters group is on line 6, its value at column 12.
    let at = format!(
        "{}:6:12: 2 master node(s): use an odd number",
        spec.display()
    );
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|message| message.starts_with(&at)),
        "{}",
        found[0]["message"]
    );
    assert!(
        !events.iter().any(|event| event["event"] == "node_created"),
        "validators run before anything is created"
    );
    assert!(text(&output.stderr).contains("1 validator(s) failed"));
}

#[test]
fn a_failing_debugger_plugin_fails_the_nodes_it_judged_failed() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let checks = "  debuggers:
    - plugin: agent-pid
      roles: [master, agent]
";
    let spec = write_spec(dir.path(), "pc-master", 1, checks);
    let output = up(&deck, &spec, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let events = Deck::events(&output);
    let results = check_results(&events, DEBUGGER);
    assert_eq!(results.len(), 3, "{results:?}");
    for result in results {
        if result["node"] == "masters-1" {
            assert_eq!(result["status"], "fail");
            assert_eq!(
                result["message"],
                "no run/agent.pid (test -f exit status 1)"
            );
        } else {
            assert_eq!(result["status"], "pass", "{result}");
        }
    }
    assert_eq!(finished(&events)["outcome"], "failed");
    destroy(&deck, "pc-master");
}

#[test]
fn a_validator_plugin_at_a_path_in_the_spec_is_used_without_being_on_path() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let copy = dir.path().join("quorum-check");
    std::fs::copy(
        repo_root().join("examples/plugins/clusterdeck-plugin-odd-masters"),
        &copy,
    )
    .expect("copy the plugin");
    let checks = "  validators:
    - plugin: quorum
      path: ./quorum-check
      options: {role: agent}
";
    let spec = write_spec(dir.path(), "pc-path", 1, checks);
    let mut command = deck.command(&["-o", "json", "validate", &spec.display().to_string()]);
    // Only the system's PATH: the example plugins are not on it.
    let output = command.output().expect("validate");
    let view: Value = serde_json::from_slice(&output.stdout).expect("validate json");
    let found: Vec<&Value> = view["validators"]
        .as_array()
        .expect("validators")
        .iter()
        .filter(|outcome| outcome["name"] == "quorum")
        .collect();
    assert_eq!(found.len(), 1, "{view}");
    assert_eq!(found[0]["status"], "fail", "two agents: even");
    assert_eq!(found[0]["field"], "node_groups[1].count");
    assert_eq!(found[0]["location"]["line"], 9, "{view}");
    assert_eq!(found[0]["location"]["column"], 12, "{view}");
    assert_eq!(view["valid"], false);
}

/// `up` with the validator plugin misbehaving as `fault`: the validator
/// fails with `expected`, at the spec entry naming it, and nothing is made.
fn broken_validator(fault: &str, expected: &str) {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = write_spec(dir.path(), "pc-broken-validator", 1, BOTH);
    let output = up(&deck, &spec, &[("CLUSTERDECK_ODD_MASTERS_FAULT", fault)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let events = Deck::events(&output);
    let found = check_results(&events, VALIDATOR);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["status"], "fail");
    let message = found[0]["message"].as_str().expect("message");
    // `- plugin: odd-masters` is line 18 of the spec.
    assert!(
        message.starts_with(&format!("{}:18:", spec.display())),
        "{message}"
    );
    assert!(message.contains(expected), "{message}");
    assert!(!events.iter().any(|event| event["event"] == "node_created"));
}

#[test]
fn a_crashing_validator_plugin_fails_its_validator() {
    broken_validator(
        "crash",
        "plugin odd-masters failed during validator.validate: exited (exit status: 3) without answering (last stderr line: \"odd-masters: crashing as asked\")",
    );
}

#[test]
fn a_silent_validator_plugin_times_out() {
    broken_validator(
        "hang",
        "plugin odd-masters timed out during validator.validate: no answer and no notification for 1 s",
    );
}

#[test]
fn a_validator_plugin_writing_garbage_or_a_wrong_id_fails_its_validator() {
    broken_validator(
        "garbage",
        "plugin odd-masters failed during validator.validate: wrote a line that is not a JSON-RPC message: not JSON",
    );
    broken_validator(
        "wrong-id",
        "plugin odd-masters failed during validator.validate: answered id 999, which no call is waiting for",
    );
}

#[test]
fn a_validator_plugin_of_another_version_or_kind_is_refused() {
    broken_validator(
        "version",
        "plugin odd-masters speaks protocol version 99; clusterdeck speaks [1]",
    );
    broken_validator(
        "kind",
        "plugin odd-masters: it is not a validator plugin (it says it is: debugger)",
    );
}

#[test]
fn a_missing_plugin_is_named() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let checks = "  validators:\n    - plugin: nowhere\n";
    let spec = write_spec(dir.path(), "pc-missing", 1, checks);
    let output = up(&deck, &spec, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let found = check_results(&Deck::events(&output), "nowhere")
        .first()
        .map(|result| result["message"].clone());
    assert!(
        found.as_ref().and_then(Value::as_str).is_some_and(|message| message.ends_with(
            "plugin nowhere: no executable clusterdeck-plugin-nowhere in the plugins directory or on PATH"
        )),
        "{found:?}"
    );
}

/// `up` with the debugger plugin misbehaving as `fault`: every node of its
/// roles fails with `expected`, clusterdeck finishes the operation, and
/// destroy leaves nothing.
fn broken_debugger(fault: &str, expected: &str) {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    // The debugger alone: a short silence timeout must not catch a
    // validator plugin slow to start.
    let checks = "  debuggers:\n    - plugin: agent-pid\n      roles: [agent]\n";
    let spec = write_spec(dir.path(), "pc-broken-debugger", 1, checks);
    let output = up(&deck, &spec, &[("CLUSTERDECK_AGENT_PID_FAULT", fault)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let events = Deck::events(&output);
    let results = check_results(&events, DEBUGGER);
    assert_eq!(results.len(), 2, "{results:?}");
    for result in results {
        assert_eq!(result["status"], "fail");
        let message = result["message"].as_str().expect("message");
        assert!(message.contains(expected), "{message}");
    }
    assert_eq!(finished(&events)["outcome"], "failed");
    destroy(&deck, "pc-broken-debugger");
}

#[test]
fn a_crashing_or_silent_debugger_plugin_fails_its_nodes() {
    broken_debugger(
        "crash",
        "plugin agent-pid failed during debugger.debug: exited (exit status: 3) without answering (last stderr line: \"agent-pid: crashing as asked\")",
    );
    broken_debugger(
        "hang",
        "plugin agent-pid timed out during debugger.debug: no answer and no notification for 1 s",
    );
}

#[test]
fn a_debugger_plugin_writing_garbage_a_wrong_id_or_of_another_version_or_kind_fails() {
    broken_debugger(
        "garbage",
        "plugin agent-pid failed during debugger.debug: wrote a line that is not a JSON-RPC message: not JSON",
    );
    broken_debugger(
        "wrong-id",
        "plugin agent-pid failed during debugger.debug: answered id 999, which no call is waiting for",
    );
    broken_debugger(
        "version",
        "plugin agent-pid speaks protocol version 99; clusterdeck speaks [1]",
    );
    broken_debugger(
        "kind",
        "plugin agent-pid: it is not a debugger plugin (it says it is: validator)",
    );
}

/// `clusterdeck -o json plugin check` of an example plugin, with `fault`.
fn plugin_check(plugin: &str, fault: Option<(&str, &str)>) -> (Option<i32>, Value) {
    let deck = Deck::new();
    let path = repo_root().join("examples/plugins").join(plugin);
    let mut command = deck.command(&["-o", "json", "plugin", "check", &path.display().to_string()]);
    command
        .env_remove("CLUSTERDECK_ODD_MASTERS_FAULT")
        .env_remove("CLUSTERDECK_AGENT_PID_FAULT");
    if let Some((name, value)) = fault {
        command.env(name, value);
    }
    let output = command.output().expect("plugin check");
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", text(&output.stdout)));
    (output.status.code(), report)
}

fn method<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["methods"]
        .as_array()
        .and_then(|methods| methods.iter().find(|method| method["method"] == name))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn both_example_plugins_pass_plugin_check_with_every_message_in_the_schema() {
    let (code, report) = plugin_check("clusterdeck-plugin-odd-masters", None);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["kinds"], serde_json::json!(["validator"]));
    assert_eq!(method(&report, "validator.validate")["verdict"], "pass");

    let (code, report) = plugin_check("clusterdeck-plugin-agent-pid", None);
    assert_eq!(code, Some(0), "{report}");
    let debug = method(&report, "debugger.debug");
    assert_eq!(debug["verdict"], "pass", "{report}");
    assert!(
        debug["notes"][0].as_str().is_some_and(
            |note| note.starts_with("2 host.run request(s); agents-1 pass, agents-2 fail")
        ),
        "{debug}"
    );
    assert!(
        report["messages"].as_u64().is_some_and(|lines| lines >= 8),
        "host.run requests and answers are judged too: {report}"
    );
}

#[test]
fn plugin_check_fails_a_broken_validator_or_debugger_naming_the_method() {
    let (code, report) = plugin_check(
        "clusterdeck-plugin-agent-pid",
        Some(("CLUSTERDECK_AGENT_PID_FAULT", "wrong-id")),
    );
    assert_eq!(code, Some(1), "{report}");
    let debug = method(&report, "debugger.debug");
    assert_eq!(debug["verdict"], "fail");
    assert!(
        debug["problems"].to_string().contains("answered id 999"),
        "{debug}"
    );
    let (code, report) = plugin_check(
        "clusterdeck-plugin-odd-masters",
        Some(("CLUSTERDECK_ODD_MASTERS_FAULT", "crash")),
    );
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(method(&report, "validator.validate")["verdict"], "fail");
}
