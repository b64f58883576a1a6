//! Property tests of the spec loader: arbitrary bytes and generated YAML-ish
//! documents (nested mappings and lists, anchors and aliases, repeated keys,
//! deep nesting) never make it panic, and every spec it accepts can be stored
//! in a cluster record and read back.

use std::io::Write;
use std::path::Path;

use clusterdeck::spec::{ClusterSpec, LoadedSpec, MAX_NESTING, parse};
use clusterdeck::state::{ClusterRecord, ClusterStatus, GroupSize, RECORD_VERSION};
use proptest::prelude::*;

/// A YAML value to be written out in block or flow style.
#[derive(Debug, Clone)]
enum Doc {
    Scalar(String),
    /// An anchor on a scalar (`&a1 x`).
    Anchored(u8, String),
    Alias(u8),
    List(Vec<Doc>),
    /// Keys come from a small set, so repeats are common.
    Map(Vec<(String, Doc)>),
}

fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x".to_owned()),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("-3".to_owned()),
        Just("0.5".to_owned()),
        Just(".inf".to_owned()),
        Just("\"a: b\"".to_owned()),
        Just("'it''s'".to_owned()),
        Just("\"\\u00e9\\t\"".to_owned()),
        "[a-z0-9]{1,6}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("name".to_owned()),
        Just("count".to_owned()),
        Just("env".to_owned()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("\"a\"".to_owned()),
    ]
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        6 => scalar().prop_map(Doc::Scalar),
        1 => (0u8..3, scalar()).prop_map(|(id, value)| Doc::Anchored(id, value)),
        1 => (0u8..3).prop_map(Doc::Alias),
    ];
    leaf.prop_recursive(6, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Doc::List),
            prop::collection::vec((key(), inner), 0..4).prop_map(Doc::Map),
        ]
    })
}

/// Flow style: one line, any depth.
fn flow(doc: &Doc) -> String {
    match doc {
        Doc::Scalar(text) => text.clone(),
        Doc::Anchored(id, text) => format!("&a{id} {text}"),
        Doc::Alias(id) => format!("*a{id}"),
        Doc::List(items) => format!(
            "[{}]",
            items.iter().map(flow).collect::<Vec<_>>().join(", ")
        ),
        Doc::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(key, value)| format!("{key}: {}", flow(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Block style, indented under `indent`; empty collections fall back to flow.
fn block(doc: &Doc, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match doc {
        Doc::List(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("{pad}-"));
                nested(item, indent + 2, out);
            }
        }
        Doc::Map(entries) if !entries.is_empty() => {
            for (key, value) in entries {
                out.push_str(&format!("{pad}{key}:"));
                nested(value, indent + 2, out);
            }
        }
        other => out.push_str(&format!("{pad}{}\n", flow(other))),
    }
}

fn nested(doc: &Doc, indent: usize, out: &mut String) {
    match doc {
        Doc::List(items) if !items.is_empty() => {
            out.push('\n');
            block(doc, indent, out);
        }
        Doc::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            block(doc, indent, out);
        }
        other => out.push_str(&format!(" {}\n", flow(other))),
    }
}

/// A spec that is valid apart from what `config` brings in.
fn spec_with_config(config: &Doc, block_style: bool) -> String {
    let mut text = String::from(
        "name: demo\nnode_groups:\n  - { name: a, count: 2, roles: [x] }\ninstall:\n  from: ./install.sh\n  config:",
    );
    if block_style {
        nested(config, 4, &mut text);
    } else {
        text.push_str(&format!(" {}\n", flow(config)));
    }
    text
}

/// `levels` nested collections around a scalar.
fn deep(levels: usize, lists: bool) -> Doc {
    (0..levels).fold(Doc::Scalar("end".to_owned()), |inner, _| {
        if lists {
            Doc::List(vec![inner])
        } else {
            Doc::Map(vec![("k".to_owned(), inner)])
        }
    })
}

/// Stores an accepted spec in a record the way `up` does and reads it back.
fn round_trips(spec: ClusterSpec) -> Result<(), TestCaseError> {
    let record = ClusterRecord {
        version: RECORD_VERSION,
        name: spec.name.clone(),
        uid: "uid".to_owned(),
        groups: GroupSize::of_spec(&spec),
        spec,
        spec_path: "/tmp/spec.yaml".to_owned(),
        status: ClusterStatus::Ready,
        nodes: Vec::new(),
        created_at: "2026-01-01T00:00:00Z".to_owned(),
        updated_at: "2026-01-01T00:00:00Z".to_owned(),
        last_operation: None,
    };
    let stored = serde_json::to_string_pretty(&record)
        .map_err(|err| TestCaseError::fail(format!("serialize: {err}")))?;
    let read: ClusterRecord = serde_json::from_str(&stored)
        .map_err(|err| TestCaseError::fail(format!("read back: {err}")))?;
    prop_assert_eq!(read, record);
    Ok(())
}

/// Parses `text`; an accepted spec must round-trip through a record.
fn check(text: &str) -> Result<bool, TestCaseError> {
    match parse(text, Path::new("p.yaml")) {
        Ok(spec) => round_trips(spec).map(|()| true),
        Err(errors) => {
            prop_assert!(!errors.is_empty(), "a rejection names a problem");
            Ok(false)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        check(&String::from_utf8_lossy(&bytes))?;
        // Through the file reader too: invalid UTF-8, NUL and a BOM included.
        let mut file = tempfile::NamedTempFile::new().map_err(|err| TestCaseError::fail(err.to_string()))?;
        file.write_all(&bytes).map_err(|err| TestCaseError::fail(err.to_string()))?;
        if let Ok(loaded) = LoadedSpec::from_file(file.path()) {
            round_trips(loaded.spec)?;
        }
    }

    #[test]
    fn yaml_ish_documents_never_panic_and_accepted_ones_round_trip(
        document in doc(),
        config in doc(),
        block_style in any::<bool>(),
    ) {
        let mut text = String::new();
        block(&document, 0, &mut text);
        check(&text)?;
        let spec = spec_with_config(&config, block_style);
        let accepted = check(&spec)?;
        let has_alias = flow(&config).contains('&') || flow(&config).contains('*');
        if has_alias {
            prop_assert!(!accepted, "anchors and aliases are refused: {spec}");
        }
    }

    #[test]
    fn nesting_is_accepted_up_to_the_limit_and_refused_beyond(
        levels in 0usize..(MAX_NESTING + 12),
        lists in any::<bool>(),
        block_style in any::<bool>(),
    ) {
        let spec = spec_with_config(&deep(levels, lists), block_style);
        // The top mapping, `install` and `config`'s own collection levels.
        let total = 2 + levels;
        let accepted = check(&spec)?;
        prop_assert_eq!(accepted, total <= MAX_NESTING, "{} levels: {}", total, spec);
    }
}
