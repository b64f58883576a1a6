//! The last debugger results of a cluster, per node, kept beside its record:
//! the record's summary folds them across nodes, and `export` bundles them
//! whole.

use serde::{Deserialize, Serialize};

use crate::model::{CheckResult, OperationKind};

pub const DEBUG_RESULTS_FILE: &str = "debug-results.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebugResults {
    /// The operation whose debuggers gave them (`up`, `scale`, `debug`).
    pub operation: OperationKind,
    /// When they were saved (RFC 3339 UTC).
    pub saved_at: String,
    /// One per debugger per node, as the `check_result` events gave them.
    pub results: Vec<CheckResult>,
}
