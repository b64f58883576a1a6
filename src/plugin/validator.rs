//! Validator plugins (Calyptos's validators in any language): one
//! `validator.validate` call with the spec and the planned nodes by role,
//! answered with pass/fail findings, each optionally about a spec element.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::checker::{Checker, locate};
use super::client::NoContext;
use super::error::PluginError;
use crate::model::{CheckStatus, ValidatorOutcome};
use crate::spec::ClusterSpec;

pub const VALIDATE: &str = "validator.validate";

/// One finding of a validator plugin, as it sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub status: FindingStatus,
    pub message: String,
    /// The spec element it is about, as a field path (`node_groups[1].count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingStatus {
    Pass,
    Fail,
}

#[derive(Debug, Deserialize)]
struct Answer {
    results: Vec<Finding>,
}

/// What a validator plugin is given besides the spec.
pub struct ValidateRequest<'a, N: Serialize> {
    pub spec: &'a ClusterSpec,
    /// The nodes `up` would create, by role (a node of two roles is in both).
    pub nodes_by_role: &'a BTreeMap<String, Vec<N>>,
    pub options: &'a BTreeMap<String, Value>,
}

/// Runs the validator plugin `name` (at `path`, or found by name). Its
/// findings come back as outcomes named after the plugin; a plugin that
/// reports nothing passes. Any failure of the plugin is the error, naming
/// it, the call and what was wrong.
pub async fn run_validator<N: Serialize>(
    name: &str,
    path: Option<&Path>,
    request: &ValidateRequest<'_, N>,
) -> Result<Vec<ValidatorOutcome>, PluginError> {
    let path = locate(name, path)?;
    let checker = Checker::start(name, &path, "validator").await?;
    let params = json!({
        "spec": request.spec,
        "nodes": request.nodes_by_role,
        "options": request.options,
    });
    let answered = checker
        .client
        .call(VALIDATE, params, &NoContext, None)
        .await;
    checker.stop().await;
    let answer: Answer = serde_json::from_value(answered?).map_err(|err| PluginError::Shape {
        plugin: name.to_owned(),
        method: VALIDATE.to_owned(),
        detail: err.to_string(),
    })?;
    Ok(outcomes(name, answer.results))
}

fn outcomes(name: &str, findings: Vec<Finding>) -> Vec<ValidatorOutcome> {
    if findings.is_empty() {
        return vec![ValidatorOutcome::new(
            name,
            true,
            format!("plugin {name} found nothing wrong"),
        )];
    }
    findings
        .into_iter()
        .map(|finding| ValidatorOutcome {
            name: name.to_owned(),
            status: match finding.status {
                FindingStatus::Pass => CheckStatus::Pass,
                FindingStatus::Fail => CheckStatus::Fail,
            },
            message: finding.message,
            field: finding.field,
            location: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_become_outcomes_named_after_the_plugin() {
        let answer: Answer = serde_json::from_value(json!({"results": [
            {"status": "fail", "message": "2 masters", "field": "node_groups[0].count"},
            {"status": "pass", "message": "fine"}
        ]}))
        .expect("answer");
        let found = outcomes("odd", answer.results);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].status, CheckStatus::Fail);
        assert_eq!(found[0].field.as_deref(), Some("node_groups[0].count"));
        assert_eq!(found[1], ValidatorOutcome::new("odd", true, "fine"));
        assert_eq!(outcomes("odd", Vec::new())[0].status, CheckStatus::Pass);
        assert!(
            serde_json::from_value::<Answer>(
                json!({"results": [{"status": "maybe", "message": ""}]})
            )
            .is_err(),
            "only pass or fail"
        );
    }
}
