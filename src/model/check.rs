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
    Fail,
    Timeout,
    /// The node could not be reached at all (its transport failed).
    Unreachable,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorOutcome {
    pub name: String,
    pub status: CheckStatus,
    pub message: String,
}

impl From<&ValidatorOutcome> for CheckResult {
    fn from(outcome: &ValidatorOutcome) -> Self {
        Self {
            kind: CheckKind::Validator,
            name: outcome.name.clone(),
            status: outcome.status,
            node: None,
            message: outcome.message.clone(),
            exit_code: None,
            output: None,
        }
    }
}
