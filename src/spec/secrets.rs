//! Values of `install.config` taken from the environment, so that secrets
//! such as passwords need not be written in the spec.
//!
//! A mapping with the single key `env`, such as `password: { env: DB_PASSWORD }`,
//! stands for the value of that environment variable. The spec and the
//! cluster record keep the reference; the value is read only when the
//! installer's config is rendered for the nodes, and goes nowhere else.

use saphyr::{MarkedYamlOwned, ScalarOwned, YamlDataOwned};
use serde_json::Value;

use super::yaml::{Reader, Val};

/// The key of a reference mapping.
const ENV_KEY: &str = "env";

/// The variable a JSON value refers to, if it is an `{env: NAME}` reference.
pub fn env_reference(value: &Value) -> Option<&str> {
    match value {
        Value::Object(map) if map.len() == 1 => map.get(ENV_KEY)?.as_str(),
        _ => None,
    }
}

/// The config with every `{env: NAME}` replaced by the variable's value,
/// looked up with `lookup`. The error names the variable and where it is
/// used, never a value.
pub fn resolve_env_references(
    config: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    resolve_at(config, "install.config", lookup)
}

fn resolve_at(
    value: &Value,
    path: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, String> {
    if let Some(name) = env_reference(value) {
        return lookup(name).map(Value::String).ok_or_else(|| {
            format!("{path} takes its value from the environment variable {name}, which is not set (or not UTF-8)")
        });
    }
    Ok(match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| {
                    Ok((
                        key.clone(),
                        resolve_at(item, &format!("{path}.{key}"), lookup)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| resolve_at(item, &format!("{path}[{index}]"), lookup))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// The process environment, as `up` and `install` see it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reports, at their position, references whose variable is not set now or
/// whose name is not a variable name: better at `validate` than halfway
/// through an install.
pub fn check_env_references(reader: &mut Reader, val: Val<'_>) {
    let node = untagged(val.node);
    match &node.data {
        YamlDataOwned::Mapping(mapping) => {
            if mapping.len() == 1
                && let Some((key, value)) = mapping.iter().next()
                && scalar(key) == Some(ENV_KEY)
            {
                check_reference(reader, Val::new(value, val.path()));
                return;
            }
            for (key, value) in mapping {
                if let Some(name) = scalar(key) {
                    let path = format!("{}.{name}", val.path());
                    check_env_references(reader, Val::new(value, &path));
                }
            }
        }
        YamlDataOwned::Sequence(items) => {
            for (index, item) in items.iter().enumerate() {
                let path = format!("{}[{index}]", val.path());
                check_env_references(reader, Val::new(item, &path));
            }
        }
        _ => {}
    }
}

fn check_reference(reader: &mut Reader, val: Val<'_>) {
    let Some(name) = scalar(untagged(val.node)) else {
        reader.error(
            val,
            "`env` takes the name of an environment variable, such as { env: DB_PASSWORD }",
        );
        return;
    };
    if !is_variable_name(name) {
        reader.error(
            val,
            format!(
                "`env` takes the name of an environment variable (letters, digits and _), found {name:?}"
            ),
        );
    } else if process_env(name).is_none() {
        reader.error(
            val,
            format!(
                "this value is taken from the environment variable {name}, which is not set (or not UTF-8)"
            ),
        );
    }
}

fn is_variable_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn untagged(mut node: &MarkedYamlOwned) -> &MarkedYamlOwned {
    while let YamlDataOwned::Tagged(_, inner) = &node.data {
        node = inner;
    }
    node
}

fn scalar(node: &MarkedYamlOwned) -> Option<&str> {
    match &node.data {
        YamlDataOwned::Value(ScalarOwned::String(text)) => Some(text),
        YamlDataOwned::Representation(text, _, _) => Some(text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::spec::parse;

    #[test]
    fn references_are_resolved_anywhere_in_the_config() {
        let config = json!({
            "db": { "password": { "env": "DB_PASSWORD" }, "user": "admin" },
            "tokens": [{ "env": "TOKEN" }, "literal"],
            "not_a_reference": { "env": "X", "other": 1 },
        });
        let lookup = |name: &str| Some(format!("value-of-{name}"));
        let resolved = resolve_env_references(&config, &lookup).expect("resolves");
        assert_eq!(resolved["db"]["password"], "value-of-DB_PASSWORD");
        assert_eq!(resolved["db"]["user"], "admin");
        assert_eq!(resolved["tokens"], json!(["value-of-TOKEN", "literal"]));
        assert_eq!(
            resolved["not_a_reference"],
            json!({ "env": "X", "other": 1 })
        );
    }

    #[test]
    fn a_missing_variable_names_itself_and_where_it_is_used() {
        let config = json!({ "db": [{ "password": { "env": "DB_PASSWORD" } }] });
        let error = resolve_env_references(&config, &|_| None).expect_err("missing");
        assert_eq!(
            error,
            "install.config.db[0].password takes its value from the environment variable DB_PASSWORD, which is not set (or not UTF-8)"
        );
    }

    #[test]
    fn validate_reports_unusable_references_at_their_position() {
        let text = "name: demo\nnode_groups: [{ name: a, count: 1 }]\ninstall:\n  from: ./i.sh\n  config:\n    password: { env: CLUSTERDECK_TEST_SURELY_UNSET_VAR }\n    list: [{ env: 'not a name' }, { env: [1] }]\n    path: { env: PATH }\n";
        let found: Vec<String> = match parse(text, Path::new("c.yaml")) {
            Ok(spec) => panic!("expected errors, parsed {spec:?}"),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        };
        assert_eq!(
            found,
            vec![
                "c.yaml:6:22: install.config.password: this value is taken from the environment variable CLUSTERDECK_TEST_SURELY_UNSET_VAR, which is not set (or not UTF-8)",
                "c.yaml:7:19: install.config.list[0]: `env` takes the name of an environment variable (letters, digits and _), found \"not a name\"",
                "c.yaml:7:37: install.config.list[1]: `env` takes the name of an environment variable, such as { env: DB_PASSWORD }",
            ]
        );
    }

    #[test]
    fn the_parsed_spec_keeps_the_reference_not_the_value() {
        let text = "name: demo\nnode_groups: [{ name: a, count: 1 }]\ninstall:\n  from: ./i.sh\n  config:\n    search: { env: PATH }\n";
        let spec = parse(text, Path::new("c.yaml")).expect("parses");
        let config = spec.install.expect("install").config;
        assert_eq!(config["search"], json!({ "env": "PATH" }));
    }
}
