//! What an operation ends with: who failed and why, tallies, folded results.

use serde::{Deserialize, Serialize};

use super::check::{CheckKind, CheckStatus, ValidatorOutcome};
use super::error::BackendFailure;
use super::resource::ResourceScope;

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
    /// Resources `destroy` could not remove; the cluster is kept for a retry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
}

/// One resource that is still there, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    pub kind: String,
    pub key: String,
    pub scope: ResourceScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub error: BackendFailure,
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
    /// Left out when zero: only `doctor` checks warn, and the tally of every
    /// other operation keeps the shape it always had.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warn: usize,
    pub fail: usize,
    pub timeout: usize,
    pub unreachable: usize,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl Tally {
    pub fn add(&mut self, status: CheckStatus) {
        match status {
            CheckStatus::Pass => self.pass += 1,
            CheckStatus::Warn => self.warn += 1,
            CheckStatus::Fail => self.fail += 1,
            CheckStatus::Timeout => self.timeout += 1,
            CheckStatus::Unreachable => self.unreachable += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.warn + self.fail + self.timeout + self.unreachable
    }

    /// Nothing failed, timed out or was unreachable; warnings pass.
    pub fn all_passed(&self) -> bool {
        self.pass + self.warn == self.total()
    }
}
