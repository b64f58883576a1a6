//! Typed backend options: each backend publishes a schema (name, type, default,
//! description) and a spec's options are checked against it before anything runs.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::OptionSpec;

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
            // A secret's value is never repeated back.
            Some(option) if !option.accepts(value) && option.secret => {
                problems.push(format!("option {name:?} must be {}", option.describe()))
            }
            Some(option) if !option.accepts(value) => problems.push(format!(
                "option {name:?} must be {}, found {value}",
                option.describe()
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
    use crate::model::OptionType;

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
