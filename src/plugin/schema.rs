//! The JSON Schema of every message of the protocol
//! (docs/plugin-protocol.schema.json), compiled in so `plugin check` and the
//! tests judge messages by the same document a plugin author reads.
//! Definitions are named by message: `message` for any line,
//! `<method>.params` and `<method>.result` for a call, `<method>.params` for
//! a notification.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// The schema document as shipped in docs/.
pub const SCHEMA_DOCUMENT: &str = include_str!("../../docs/plugin-protocol.schema.json");

/// The compiled schema: one validator per definition, built on first use.
pub struct Schemas {
    document: Value,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl Schemas {
    /// The shipped document. Fails only if the document itself is broken,
    /// which the tests rule out.
    pub fn load() -> Result<Self, String> {
        Self::from_text(SCHEMA_DOCUMENT)
    }

    pub fn from_text(text: &str) -> Result<Self, String> {
        let document: Value = serde_json::from_str(text)
            .map_err(|err| format!("the plugin protocol schema is not JSON: {err}"))?;
        if !document.get("$defs").is_some_and(Value::is_object) {
            return Err("the plugin protocol schema has no $defs".to_owned());
        }
        Ok(Self {
            document,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// Whether the document defines `name` (e.g. `create_group.result`).
    pub fn defines(&self, name: &str) -> bool {
        self.document["$defs"].get(name).is_some()
    }

    /// The names of every definition.
    pub fn names(&self) -> Vec<String> {
        self.document["$defs"]
            .as_object()
            .map(|defs| defs.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// What is wrong with `value` as a `name`, one line per problem, each
    /// with where in the value it is; empty when it conforms.
    pub fn problems(&self, name: &str, value: &Value) -> Vec<String> {
        match self.validator(name) {
            Ok(validator) => validator
                .iter_errors(value)
                .map(|error| {
                    let at = error.instance_path().to_string();
                    let at = if at.is_empty() { "/".to_owned() } else { at };
                    format!("{at}: {error}")
                })
                .collect(),
            Err(err) => vec![err],
        }
    }

    fn validator(&self, name: &str) -> Result<Arc<jsonschema::Validator>, String> {
        if !self.defines(name) {
            return Err(format!("the protocol has no message {name:?}"));
        }
        let mut compiled = self
            .compiled
            .lock()
            .map_err(|_| "the schema cache is poisoned".to_owned())?;
        if let Some(validator) = compiled.get(name) {
            return Ok(Arc::clone(validator));
        }
        // The whole document with its root pointed at one definition, so
        // the definition's own references resolve.
        let mut schema = self.document.clone();
        schema["$ref"] = Value::String(format!("#/$defs/{}", pointer_escape(name)));
        let validator = jsonschema::validator_for(&schema)
            .map_err(|err| format!("the schema of {name} does not compile: {err}"))?;
        let validator = Arc::new(validator);
        compiled.insert(name.to_owned(), Arc::clone(&validator));
        Ok(validator)
    }
}

/// A JSON pointer token: `~` and `/` escaped (`$/cancel.params`).
fn pointer_escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_definition_compiles() {
        let schemas = Schemas::load().expect("the shipped schema loads");
        let names = schemas.names();
        assert!(names.len() > 40, "{names:?}");
        for name in names {
            // A value nothing accepts but `{}`-like schemas: compiling is the point.
            let problems = schemas.problems(&name, &json!({"\u{1}": 1}));
            assert!(
                !problems.iter().any(|p| p.contains("does not compile")),
                "{name}: {problems:?}"
            );
        }
    }

    #[test]
    fn envelopes_are_told_apart_and_garbage_is_named() {
        let schemas = Schemas::load().expect("loads");
        let ok = |name: &str, value: Value| {
            let problems = schemas.problems(name, &value);
            assert!(problems.is_empty(), "{name} {value}: {problems:?}");
        };
        ok(
            "message",
            json!({"jsonrpc": "2.0", "id": 1, "method": "info", "params": null}),
        );
        ok("message", json!({"jsonrpc": "2.0", "id": 1, "result": []}));
        ok(
            "message",
            json!({"jsonrpc": "2.0", "id": "p1", "error": {"code": -32601, "message": "no"}}),
        );
        ok("$/cancel.params", json!({"id": 4}));
        let bad = schemas.problems("message", &json!({"jsonrpc": "1.0", "id": 1, "result": 1}));
        assert!(!bad.is_empty());
        let bad = schemas.problems(
            "create_group.result",
            &json!([{"name": "a-1", "result": {"Ok": {"name": "a-1"}}}]),
        );
        assert!(
            bad.iter().any(|problem| problem.starts_with("/0/result")),
            "{bad:?}"
        );
        assert_eq!(
            schemas.problems("no.such", &json!(1)),
            vec!["the protocol has no message \"no.such\"".to_owned()]
        );
    }
}
