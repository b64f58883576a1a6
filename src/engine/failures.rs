//! Folding node failures into node ranges, so that a cancelled 100,000-node
//! `up` reports one line per distinct failure, not one per node. It lives in
//! the engine because the node-range notation belongs to `checks`, which the
//! model may not import.

use crate::checks::nodeset::compact;
use crate::model::{FoldedFailure, Summary};

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
                nodes: compact(&nodes),
                node_count: nodes.len(),
                step: step.to_owned(),
                error: error.to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{FoldedFailure, NodeFailure, Summary};

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
