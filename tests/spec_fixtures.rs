//! Spec fixtures: every invalid spec is paired with the exact error text it
//! must produce, and every rejected spec with the exact `validate` output it
//! must give: every validator, each failure at its file:line:col, and no plan.

mod common;

use std::path::Path;

use common::{Deck, repo_root, text};

fn fixtures(dir: &str) -> Vec<std::path::PathBuf> {
    let dir = repo_root().join("tests/specs").join(dir);
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    specs.sort();
    assert!(!specs.is_empty(), "no fixtures in {}", dir.display());
    specs
}

fn validate(deck: &Deck, spec: &Path) -> std::process::Output {
    validate_as(deck, spec, "text")
}

fn validate_as(deck: &Deck, spec: &Path, output: &str) -> std::process::Output {
    let name = spec
        .file_name()
        .and_then(|name| name.to_str())
        .expect("name");
    deck.command(&["--output", output, "validate", name])
        .current_dir(spec.parent().expect("dir"))
        .output()
        .expect("run validate")
}

#[test]
fn invalid_specs_produce_exactly_their_errors() {
    let deck = Deck::new();
    let mut mismatches = Vec::new();
    for spec in fixtures("invalid") {
        let expected =
            std::fs::read_to_string(spec.with_extension("err")).expect("paired .err file");
        let output = validate(&deck, &spec);
        let stderr = text(&output.stderr);
        if output.status.code() != Some(2) || stderr != expected {
            mismatches.push(format!(
                "{}: exit {:?}\n--- expected\n{expected}--- got\n{stderr}",
                spec.display(),
                output.status.code()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn rejected_specs_fail_their_validators_and_create_nothing() {
    let deck = Deck::new();
    let mut mismatches = Vec::new();
    for spec in fixtures("rejected") {
        let expected =
            std::fs::read_to_string(spec.with_extension("expect")).expect("paired .expect file");
        let output = validate(&deck, &spec);
        let stdout = text(&output.stdout);
        if output.status.code() != Some(1) {
            mismatches.push(format!(
                "{}: exit {:?}",
                spec.display(),
                output.status.code()
            ));
        }
        if stdout != expected {
            mismatches.push(format!(
                "{}:\n--- expected\n{expected}--- got\n{stdout}",
                spec.display()
            ));
        }
        mismatches.extend(json_agrees_with_text(&deck, &spec, &stdout));
        // `up` refuses the same spec before creating anything.
        let name = spec
            .file_name()
            .and_then(|name| name.to_str())
            .expect("name");
        let up = deck
            .command(&["up", name])
            .current_dir(spec.parent().expect("dir"))
            .output()
            .expect("run up");
        if up.status.code() != Some(1) || !text(&up.stderr).contains("nothing was created") {
            mismatches.push(format!(
                "{}: up gave {:?}: {}",
                spec.display(),
                up.status.code(),
                text(&up.stderr)
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    assert!(
        !deck.state.path().join("clusters").exists()
            || std::fs::read_dir(deck.state.path().join("clusters"))
                .expect("dir")
                .next()
                .is_none(),
        "a rejected spec left state behind"
    );
}

/// The JSON view of a rejected spec has no plan, and holds the same outcomes
/// as the text: each failure with its field and location, which read back as
/// the text line.
fn json_agrees_with_text(deck: &Deck, spec: &Path, text_output: &str) -> Vec<String> {
    let output = validate_as(deck, spec, "json");
    let document: serde_json::Value = match serde_json::from_slice(&output.stdout) {
        Ok(document) => document,
        Err(err) => return vec![format!("{}: JSON: {err}", spec.display())],
    };
    let mut problems = Vec::new();
    if document["valid"] != false || !document["plan"].is_null() {
        problems.push(format!(
            "{}: JSON must say invalid with no plan: {document}",
            spec.display()
        ));
    }
    let outcomes = document["validators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut lines = Vec::new();
    for outcome in &outcomes {
        let (name, status, message) = (
            outcome["name"].as_str().unwrap_or_default(),
            outcome["status"].as_str().unwrap_or_default(),
            outcome["message"].as_str().unwrap_or_default(),
        );
        if status == "pass" {
            lines.push(format!("  pass {name}: {message}"));
            continue;
        }
        let at = &outcome["location"];
        if !outcome["field"].is_string() || !at["line"].is_u64() || !at["column"].is_u64() {
            problems.push(format!(
                "{}: failure without field and location: {outcome}",
                spec.display()
            ));
        }
        lines.push(format!(
            "  FAIL {name}: {}:{}:{}: {message}",
            at["file"].as_str().unwrap_or_default(),
            at["line"],
            at["column"]
        ));
    }
    let text_lines: Vec<&str> = text_output
        .lines()
        .filter(|line| line.starts_with("  "))
        .collect();
    if lines != text_lines {
        problems.push(format!(
            "{}: JSON outcomes {lines:#?} differ from the text {text_lines:#?}",
            spec.display()
        ));
    }
    problems
}

#[test]
fn a_group_without_roles_says_so_in_the_plan() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let spec = dir.path().join("spec.yaml");
    std::fs::write(
        &spec,
        "name: demo\nnode_groups:\n  - { name: plain, count: 2 }\n  - { name: agents, count: 1, roles: [agent, web] }\n",
    )
    .expect("write");
    let output = deck.run(&["validate", spec.to_str().expect("path")]);
    let stdout = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        stdout.contains("  create 2 node(s) plain-[1-2] (no roles)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  create 1 node(s) agents-1 (roles: agent,web)\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("(roles: )"), "{stdout}");
}
