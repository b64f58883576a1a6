//! Typed backend options: each backend publishes a schema (name, type, default,
//! description) and a spec's options are checked against it before anything runs.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionType {
    String,
    Integer,
    Boolean,
    StringList,
}

impl OptionType {
    fn describe(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "a whole number",
            Self::Boolean => "true or false",
            Self::StringList => "a list of strings",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_u64(),
            Self::Boolean => value.is_boolean(),
            Self::StringList => value
                .as_array()
                .is_some_and(|items| items.iter().all(Value::is_string)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: OptionType,
    /// `None` means the option has no default: required, or simply unset.
    pub default: Option<Value>,
    pub required: bool,
    pub description: String,
}

impl OptionSpec {
    pub fn new(name: &str, kind: OptionType, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            default: None,
            required: false,
            description: description.to_owned(),
        }
    }

    pub fn with_default(mut self, default: Value) -> Self {
        self.default = Some(default);
        self
    }

    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// Options with defaults filled in, or every problem found.
pub fn resolve_options(
    schema: &[OptionSpec],
    given: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, Vec<String>> {
    let mut problems = Vec::new();
    let mut resolved = BTreeMap::new();
    for (name, value) in given {
        match schema.iter().find(|option| &option.name == name) {
            None => {
                let known: Vec<&str> = schema.iter().map(|option| option.name.as_str()).collect();
                problems.push(if known.is_empty() {
                    format!("unknown option {name:?}: this backend takes no options")
                } else {
                    format!(
                        "unknown option {name:?}; known options: {}",
                        known.join(", ")
                    )
                });
            }
            Some(option) if !option.kind.accepts(value) => problems.push(format!(
                "option {name:?} must be {}, found {value}",
                option.kind.describe()
            )),
            Some(_) => {
                resolved.insert(name.clone(), value.clone());
            }
        }
    }
    for option in schema {
        if resolved.contains_key(&option.name) || given.contains_key(&option.name) {
            continue;
        }
        match &option.default {
            Some(default) => {
                resolved.insert(option.name.clone(), default.clone());
            }
            None if option.required => problems.push(format!(
                "option {:?} is required ({}): {}",
                option.name,
                option.kind.describe(),
                option.description
            )),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Vec<OptionSpec> {
        vec![
            OptionSpec::new("image", OptionType::String, "node image").required(),
            OptionSpec::new("cpus", OptionType::Integer, "cpus per node").with_default(json!(1)),
        ]
    }

    #[test]
    fn defaults_fill_in_and_every_problem_is_listed() {
        let given = BTreeMap::from([("image".to_owned(), json!("debian"))]);
        let resolved = resolve_options(&schema(), &given).expect("valid");
        assert_eq!(resolved["cpus"], json!(1));

        let given = BTreeMap::from([
            ("cpus".to_owned(), json!("two")),
            ("imag".to_owned(), json!("x")),
        ]);
        let problems = resolve_options(&schema(), &given).expect_err("invalid");
        assert_eq!(
            problems,
            vec![
                "option \"cpus\" must be a whole number, found \"two\"",
                "unknown option \"imag\"; known options: image, cpus",
                "option \"image\" is required (a string): node image",
            ]
        );
    }
}
