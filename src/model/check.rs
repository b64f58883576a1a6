//! Checks (validators, debuggers, ad-hoc commands) and their results.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Validator,
    Debugger,
    Command,
    /// A `doctor` check of the environment (state directory, backends).
    Doctor,
}

/// The result of one check (or ad-hoc command) on one node, or of a validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    /// Works, with a caveat worth reading (a `doctor` finding such as little
    /// free disk): reported with its fix, but it fails nothing.
    Warn,
    Fail,
    Timeout,
    /// The node could not be reached at all (its transport failed).
    Unreachable,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Warn => "warn",
            Self::Fail => "fail",
            Self::Timeout => "timeout",
            Self::Unreachable => "unreachable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub kind: CheckKind,
    pub name: String,
    pub status: CheckStatus,
    /// The node it ran on; `None` for validators, which run before nodes exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Combined stdout and stderr, for commands and debuggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The outcome of one validator. A failed validator gives one outcome per
/// problem, so that each can point at the spec element it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorOutcome {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
    /// The spec element the outcome is about, as a field path such as
    /// `backend.options.root` or `node_groups[1].name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Where that element is in the spec file; left out when the spec was not
    /// read from a file (a recorded spec) or the outcome concerns no element.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<SourceLocation>,
}

impl ValidatorOutcome {
    pub fn new(name: &str, passed: bool, message: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            status: if passed {
                CheckStatus::Pass
            } else {
                CheckStatus::Fail
            },
            message: message.into(),
            field: None,
            location: None,
        }
    }

    /// A failed outcome about the spec element at `field`.
    pub fn failed_at(name: &str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(name, false, message)
        }
    }

    /// The message with `file:line:col: ` in front when the outcome has a
    /// location, the way spec parse errors read.
    pub fn located_message(&self) -> String {
        match &self.location {
            Some(location) => format!("{location}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// A position in a spec file, 1-based like editors show it. A plain copy of
/// the spec's own location type, because the model names nothing of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

impl From<&ValidatorOutcome> for CheckResult {
    fn from(outcome: &ValidatorOutcome) -> Self {
        Self {
            kind: CheckKind::Validator,
            name: outcome.name.clone(),
            status: outcome.status,
            node: None,
            message: outcome.located_message(),
            exit_code: None,
            output: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_located_outcome_serializes_its_place_and_an_old_one_still_reads() {
        let mut outcome = ValidatorOutcome::failed_at("backend", "backend.kind", "unknown");
        outcome.location = Some(SourceLocation {
            file: "spec.yaml".to_owned(),
            line: 2,
            column: 18,
        });
        let json = serde_json::to_string(&outcome).expect("serializes");
        assert_eq!(
            json,
            r#"{"name":"backend","status":"fail","message":"unknown","field":"backend.kind","location":{"file":"spec.yaml","line":2,"column":18}}"#
        );
        assert_eq!(outcome.located_message(), "spec.yaml:2:18: unknown");
        assert_eq!(
            CheckResult::from(&outcome).message,
            "spec.yaml:2:18: unknown"
        );

        let old: ValidatorOutcome =
            serde_json::from_str(r#"{"name":"n","status":"pass","message":"ok"}"#)
                .expect("an old record reads");
        assert_eq!(old, ValidatorOutcome::new("n", true, "ok"));
        assert_eq!(
            serde_json::to_string(&old).expect("serializes"),
            r#"{"name":"n","status":"pass","message":"ok"}"#
        );
    }
}
