//! Folds per-node results: nodes with the same status and the same output are
//! shown once with their node range, as clubak and dshbak do.

use std::collections::BTreeMap;

use super::nodeset::compact;
use crate::model::{CheckKind, CheckResult, CheckStatus, FoldedResult};

/// Groups results of the same check by (status, exit code, output), failures
/// first so they are read first.
pub fn fold(results: &[CheckResult]) -> Vec<FoldedResult> {
    type Key<'a> = (
        CheckKind,
        &'a str,
        CheckStatus,
        Option<i32>,
        &'a str,
        &'a str,
    );
    let mut groups: BTreeMap<Key<'_>, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<Key<'_>> = Vec::new();
    for result in results {
        let key = (
            result.kind,
            result.name.as_str(),
            result.status,
            result.exit_code,
            result.message.as_str(),
            result.output.as_deref().unwrap_or(""),
        );
        let nodes = groups.entry(key).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        if let Some(node) = &result.node {
            nodes.push(node);
        }
    }
    let rank = |status: CheckStatus| match status {
        CheckStatus::Fail => 0,
        CheckStatus::Timeout => 1,
        CheckStatus::Unreachable => 2,
        CheckStatus::Warn => 3,
        CheckStatus::Pass => 4,
    };
    // Keep checks in the order they first appeared; within a check, worst first.
    let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
    for key in &order {
        let next = first_seen.len();
        first_seen.entry(key.1).or_insert(next);
    }
    order.sort_by_key(|key| (first_seen.get(key.1).copied().unwrap_or(0), rank(key.2)));
    order
        .into_iter()
        .map(|key| {
            let nodes = groups.remove(&key).unwrap_or_default();
            FoldedResult {
                kind: key.0,
                name: key.1.to_owned(),
                status: key.2,
                exit_code: key.3,
                nodes: compact(&nodes),
                node_count: nodes.len(),
                message: key.4.to_owned(),
                output: key.5.to_owned(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(node: &str, status: CheckStatus, output: &str) -> CheckResult {
        CheckResult {
            kind: CheckKind::Debugger,
            name: "agent-up".into(),
            status,
            node: Some(node.into()),
            message: status.as_str().into(),
            exit_code: Some(i32::from(status != CheckStatus::Pass)),
            output: Some(output.into()),
        }
    }

    #[test]
    fn identical_outputs_fold_into_one_range_failures_first() {
        let results = vec![
            result("agent-1", CheckStatus::Pass, "running"),
            result("agent-2", CheckStatus::Pass, "running"),
            result("agent-4", CheckStatus::Fail, "no pid"),
            result("agent-3", CheckStatus::Pass, "running"),
            result("agent-7", CheckStatus::Pass, "running"),
        ];
        let folded = fold(&results);
        assert_eq!(folded.len(), 2);
        assert_eq!(folded[0].status, CheckStatus::Fail);
        assert_eq!(folded[0].nodes, "agent-4");
        assert_eq!(folded[1].nodes, "agent-[1-3,7]");
        assert_eq!(folded[1].node_count, 4);
        assert_eq!(folded[1].output, "running");
    }

    #[test]
    fn different_outputs_stay_apart() {
        let results = vec![
            result("a-1", CheckStatus::Pass, "v1"),
            result("a-2", CheckStatus::Pass, "v2"),
        ];
        assert_eq!(fold(&results).len(), 2);
    }
}
