//! Validator plugins named in the spec (`checks.validators: - plugin: NAME`),
//! run next to the built-in validators with the spec and the planned nodes
//! by role. A plugin that cannot be run fails its validator, with the error
//! at the spec entry that names it.

use std::collections::BTreeMap;

use super::event::PlannedNode;
use super::plan::plan_nodes;
use crate::model::ValidatorOutcome;
use crate::plugin::{ValidateRequest, run_validator};
use crate::spec::{LoadedSpec, ValidatorSpec};

/// Every validator plugin of the spec, in order, each finding located in
/// the spec file when it names an element.
pub(super) async fn run_plugin_validators(loaded: &LoadedSpec) -> Vec<ValidatorOutcome> {
    let plugins: Vec<_> = loaded
        .spec
        .checks
        .validators
        .iter()
        .enumerate()
        .filter_map(|(index, validator)| match validator {
            ValidatorSpec::Plugin(check) => Some((index, check)),
            _ => None,
        })
        .collect();
    if plugins.is_empty() {
        return Vec::new();
    }
    let nodes_by_role = by_role(plan_nodes(&loaded.spec));
    let mut outcomes = Vec::new();
    for (index, check) in plugins {
        let path = check.path.as_deref().map(|path| loaded.resolve(path));
        let request = ValidateRequest {
            spec: &loaded.spec,
            nodes_by_role: &nodes_by_role,
            options: &check.options,
        };
        match run_validator(&check.plugin, path.as_deref(), &request).await {
            Ok(found) => outcomes.extend(found),
            Err(err) => outcomes.push(ValidatorOutcome::failed_at(
                &check.plugin,
                format!("checks.validators[{index}]"),
                err.to_string(),
            )),
        }
    }
    for outcome in &mut outcomes {
        if let Some(field) = &outcome.field {
            outcome.location = loaded.positions.source_location(field);
        }
    }
    outcomes
}

/// Planned nodes by role; a node of two roles is under both.
fn by_role(nodes: Vec<PlannedNode>) -> BTreeMap<String, Vec<PlannedNode>> {
    let mut grouped: BTreeMap<String, Vec<PlannedNode>> = BTreeMap::new();
    for node in nodes {
        for role in &node.roles {
            grouped.entry(role.clone()).or_default().push(node.clone());
        }
    }
    grouped
}
