//! What an operation ends with: who failed and why, tallies, folded results.

use serde::{Deserialize, Serialize};

use super::event::{CheckKind, CheckResult, CheckStatus};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// One line saying why the operation failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub nodes_total: usize,
    /// Nodes that failed a step, each with the step and the error.
    #[serde(default)]
    pub failures: Vec<NodeFailure>,
    /// Validators, in the order they ran.
    #[serde(default)]
    pub validators: Vec<ValidatorOutcome>,
    /// Per-node results (debuggers, commands) folded by identical output.
    #[serde(default)]
    pub results: Vec<FoldedResult>,
    #[serde(default)]
    pub tally: Tally,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFailure {
    pub node: String,
    pub step: String,
    pub error: String,
}

/// Nodes that failed the same step with the same error, listed once: a
/// cancelled 100,000-node `up` is one line, not one per node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedFailure {
    /// Compact node range such as `agents-[1-3,7]`.
    pub nodes: String,
    pub node_count: usize,
    pub step: String,
    pub error: String,
}

impl Summary {
    /// [`Summary::failures`] folded by (step, error), in order of first
    /// appearance.
    pub fn folded_failures(&self) -> Vec<FoldedFailure> {
        let mut groups: Vec<((&str, &str), Vec<&str>)> = Vec::new();
        let mut index: std::collections::HashMap<(&str, &str), usize> =
            std::collections::HashMap::new();
        for failure in &self.failures {
            let key = (failure.step.as_str(), failure.error.as_str());
            let position = *index.entry(key).or_insert_with(|| {
                groups.push((key, Vec::new()));
                groups.len() - 1
            });
            groups[position].1.push(failure.node.as_str());
        }
        groups
            .into_iter()
            .map(|((step, error), nodes)| FoldedFailure {
                nodes: crate::checks::nodeset::compact(&nodes),
                node_count: nodes.len(),
                step: step.to_owned(),
                error: error.to_owned(),
            })
            .collect()
    }
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

/// Nodes that gave the same result and the same output, listed once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldedResult {
    pub kind: CheckKind,
    pub name: String,
    pub status: CheckStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Compact node range such as `agents-[1-3,7]`.
    pub nodes: String,
    pub node_count: usize,
    pub message: String,
    pub output: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub pass: usize,
    pub fail: usize,
    pub timeout: usize,
    pub unreachable: usize,
}

impl Tally {
    pub fn add(&mut self, status: CheckStatus) {
        match status {
            CheckStatus::Pass => self.pass += 1,
            CheckStatus::Fail => self.fail += 1,
            CheckStatus::Timeout => self.timeout += 1,
            CheckStatus::Unreachable => self.unreachable += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.timeout + self.unreachable
    }

    pub fn all_passed(&self) -> bool {
        self.pass == self.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(node: &str, step: &str, error: &str) -> NodeFailure {
        NodeFailure {
            node: node.into(),
            step: step.into(),
            error: error.into(),
        }
    }

    #[test]
    fn failures_fold_by_step_and_error_into_ranges() {
        let mut failures: Vec<NodeFailure> = (1..=50_000)
            .map(|index| {
                failure(
                    &format!("w-{index}"),
                    "create",
                    "cancelled before it was created",
                )
            })
            .collect();
        failures.insert(3, failure("db-1", "install:db", "exit status 3"));
        let summary = Summary {
            failures,
            ..Summary::default()
        };
        assert_eq!(
            summary.folded_failures(),
            vec![
                FoldedFailure {
                    nodes: "w-[1-50000]".into(),
                    node_count: 50_000,
                    step: "create".into(),
                    error: "cancelled before it was created".into(),
                },
                FoldedFailure {
                    nodes: "db-1".into(),
                    node_count: 1,
                    step: "install:db".into(),
                    error: "exit status 3".into(),
                },
            ]
        );
    }
}
