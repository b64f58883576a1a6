//! Typed backend options: each backend publishes a schema (name, type, default,
//! description) and a spec's options are checked against it before anything runs.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::OptionSpec;

/// One problem with one option: its name says where in `backend.options`
/// the problem is, so a validator can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionProblem {
    pub option: String,
    pub message: String,
}

/// Every problem found with a set of options, in the order found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionProblems(pub Vec<OptionProblem>);

impl std::fmt::Display for OptionProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&problem.message)?;
        }
        Ok(())
    }
}

/// Options with defaults filled in, or every problem found.
pub fn resolve_options(
    schema: &[OptionSpec],
    given: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, OptionProblems> {
    let mut problems = Vec::new();
    let mut problem = |option: &str, message: String| {
        problems.push(OptionProblem {
            option: option.to_owned(),
            message,
        });
    };
    let mut resolved = BTreeMap::new();
    for (name, value) in given {
        match schema.iter().find(|option| &option.name == name) {
            None => {
                let known: Vec<&str> = schema.iter().map(|option| option.name.as_str()).collect();
                problem(
                    name,
                    if known.is_empty() {
                        format!("unknown option {name:?}: this backend takes no options")
                    } else {
                        format!(
                            "unknown option {name:?}; known options: {}",
                            known.join(", ")
                        )
                    },
                );
            }
            // A secret's value is never repeated back.
            Some(option) if !option.accepts(value) && option.secret => problem(
                name,
                format!("option {name:?} must be {}", option.describe()),
            ),
            Some(option) if !option.accepts(value) => problem(
                name,
                format!(
                    "option {name:?} must be {}, found {value}",
                    option.describe()
                ),
            ),
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
            None if option.required => problem(
                &option.name,
                format!(
                    "option {:?} is required ({}): {}",
                    option.name,
                    option.kind.describe(),
                    option.description
                ),
            ),
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(OptionProblems(problems))
    }
}

/// The options with every secret one left out, for what is stored (the
/// cluster record, its identity file): a secret given in the spec is used
/// by the `up` that reads it and never written down.
pub fn without_secrets(
    schema: &[OptionSpec],
    options: &BTreeMap<String, Value>,
) -> BTreeMap<String, Value> {
    options
        .iter()
        .filter(|(name, _)| {
            !schema
                .iter()
                .any(|option| &option.name == *name && option.secret)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
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
        let named: Vec<(&str, &str)> = problems
            .0
            .iter()
            .map(|problem| (problem.option.as_str(), problem.message.as_str()))
            .collect();
        assert_eq!(
            named,
            vec![
                (
                    "cpus",
                    "option \"cpus\" must be a whole number, found \"two\""
                ),
                (
                    "imag",
                    "unknown option \"imag\"; known options: image, cpus"
                ),
                (
                    "image",
                    "option \"image\" is required (a string): node image"
                ),
            ]
        );
        assert_eq!(
            problems.to_string(),
            format!("{}; {}; {}", named[0].1, named[1].1, named[2].1)
        );
    }
}
