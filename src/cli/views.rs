//! Text and JSON views of state for `list`, `inspect` and `validate`.

use std::io::Write;

use clusterdeck::backend::Registry;
use clusterdeck::checks::nodeset::compact;
use clusterdeck::engine::{Engine, UpPlan};
use clusterdeck::model::{CheckStatus, ValidatorOutcome};
use clusterdeck::state::{ClusterRecord, StateError};
use serde_json::json;

use super::failure::Failure;

/// Writes a view; control characters inside its lines (from a spec or a
/// recorded node) come out as visible escapes. JSON is escaped already.
pub(super) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let _ = write!(stdout, "{}{end}", clusterdeck::text::printable(body));
    }
    let _ = stdout.flush();
}

pub fn list(engine: &Engine, json: bool) -> Result<(), Failure> {
    let registry = engine.registry();
    let records = engine
        .store()
        .list()
        .map_err(|err| Failure::Input(err.to_string()))?;
    if json {
        let rows: Vec<serde_json::Value> = records
            .iter()
            .map(|record| match record {
                Ok(record) => json!({
                    "name": record.name,
                    "backend": record.spec.backend.kind,
                    "nodes": record.nodes.len(),
                    "status": record.status,
                    "capabilities": registry.capability_names_at(&record.spec.backend.kind, record.spec.backend.path.as_deref()),
                    "updated_at": record.updated_at,
                }),
                Err(err @ StateError::Damaged { name, .. }) => json!({
                    "name": name,
                    "status": "damaged",
                    "error": err.to_string(),
                }),
                Err(err) => json!({ "error": err.to_string() }),
            })
            .collect();
        out(&format!("{}\n", serde_json::Value::Array(rows)));
        return Ok(());
    }
    if records.is_empty() {
        out("no clusters (create one with `clusterdeck up SPEC`)\n");
        return Ok(());
    }
    let mut text = format!(
        "{:<20} {:<8} {:>5}  {:<10} {:<17} {}\n",
        "NAME", "BACKEND", "NODES", "STATUS", "LAST-OP", "UPDATED"
    );
    for record in &records {
        match record {
            Ok(record) => {
                let last = record
                    .last_operation
                    .as_ref()
                    .map(|op| format!("{}:{:?}", op.operation.as_str(), op.outcome).to_lowercase())
                    .unwrap_or_else(|| "-".to_owned());
                text.push_str(&format!(
                    "{:<20} {:<8} {:>5}  {:<10} {:<17} {}\n",
                    record.name,
                    record.spec.backend.kind,
                    record.nodes.len(),
                    record.status.as_str(),
                    last,
                    record.updated_at
                ));
            }
            Err(err @ StateError::Damaged { name, .. }) => {
                text.push_str(&format!(
                    "{:<20} {:<8} {:>5}  {:<10} {:<17} {}\n  {err}\n",
                    name, "?", "?", "damaged", "-", "-"
                ));
            }
            Err(err) => text.push_str(&format!("(unreadable) {err}\n")),
        }
    }
    out(&text);
    Ok(())
}

pub fn inspect(record: &ClusterRecord, json: bool, registry: &Registry) -> Result<(), Failure> {
    if json {
        let text =
            serde_json::to_string_pretty(record).map_err(|err| Failure::Failed(err.to_string()))?;
        out(&format!("{text}\n"));
        return Ok(());
    }
    let mut text = format!(
        "cluster  {}\nstatus   {}\nbackend  {} ({})\nspec     {}\ncreated  {}\nupdated  {}\n\n",
        record.name,
        record.status.as_str(),
        record.spec.backend.kind,
        registry
            .capability_names_at(
                &record.spec.backend.kind,
                record.spec.backend.path.as_deref()
            )
            .join(", "),
        record.spec_path,
        record.created_at,
        record.updated_at
    );
    let sizes: Vec<String> = record
        .groups
        .iter()
        .map(|size| format!("{} {}", size.name, size.count))
        .collect();
    // Under `updated`, before the blank line that ends the header.
    text.insert_str(text.len() - 1, &format!("groups   {}\n", sizes.join(", ")));
    text.push_str(&format!(
        "{:<16} {:<12} {:<20} {:<9} {}\n",
        "NODE", "GROUP", "ROLES", "STATE", "ADDRESS"
    ));
    for node in &record.nodes {
        text.push_str(&format!(
            "{:<16} {:<12} {:<20} {:<9} {}\n",
            node.name,
            node.group,
            roles_text(&node.roles, "-"),
            node.state.as_str(),
            node.addresses.join(" ")
        ));
    }
    if let Some(last) = &record.last_operation {
        text.push_str(&format!(
            "\nlast operation: {} {} (started {}, finished {})\n",
            last.operation.as_str(),
            format!("{:?}", last.outcome).to_lowercase(),
            last.started_at,
            last.finished_at
        ));
        for line in clusterdeck::headless::summary_lines(&last.summary) {
            text.push_str(&line);
            text.push('\n');
        }
    }
    out(&text);
    Ok(())
}

/// Validator outcomes, each failure at its `file:line:col`, then the plan.
/// A spec with a failed validator gets no plan: `up` would refuse it, and a
/// plan of an invalid spec misleads (an unknown backend's nodes are neither
/// created nor adopted; repeated group names would give merged node names).
pub fn validation(
    validators: &[ValidatorOutcome],
    plan: &UpPlan,
    json: bool,
    registry: &Registry,
) -> Result<(), Failure> {
    let failed = validators
        .iter()
        .filter(|outcome| outcome.status != CheckStatus::Pass)
        .count();
    if json {
        let plan = (failed == 0).then_some(plan);
        let text = json!({ "valid": failed == 0, "validators": validators, "plan": plan });
        out(&format!("{text}\n"));
    } else {
        let mut text = String::from("validators:\n");
        for outcome in validators {
            let word = if outcome.status == CheckStatus::Pass {
                "pass"
            } else {
                "FAIL"
            };
            text.push_str(&format!(
                "  {word:<4} {}: {}\n",
                outcome.name,
                outcome.located_message()
            ));
        }
        if failed == 0 {
            text.push_str(&plan_text(plan, registry));
        } else {
            text.push_str("not planned: the spec has errors; `up` would create nothing\n");
        }
        out(&text);
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::Failed(format!("{failed} validator(s) failed")))
    }
}

/// What `up` would do with a valid spec, group by group.
fn plan_text(plan: &UpPlan, registry: &Registry) -> String {
    let mut text = format!(
        "plan for cluster {} on backend {}:\n",
        plan.cluster, plan.backend
    );
    let creates = registry
        .get_at(&plan.backend, plan.backend_path.as_deref())
        .is_ok_and(|backend| backend.capabilities().create);
    let mut groups: Vec<&str> = plan.nodes.iter().map(|node| node.group.as_str()).collect();
    groups.dedup();
    for group in groups {
        let members: Vec<&str> = plan
            .nodes
            .iter()
            .filter(|node| node.group == group)
            .map(|node| node.name.as_str())
            .collect();
        let roles = plan
            .nodes
            .iter()
            .find(|node| node.group == group)
            .map(|node| {
                if node.roles.is_empty() {
                    "no roles".to_owned()
                } else {
                    format!("roles: {}", node.roles.join(","))
                }
            })
            .unwrap_or_default();
        let verb = if creates { "create" } else { "use existing" };
        text.push_str(&format!(
            "  {verb} {} node(s) {} ({roles})\n",
            members.len(),
            compact(&members)
        ));
    }
    match (&plan.distribution, &plan.installer) {
        (Some(distribution), _) => text.push_str(&format!(
            "  install with distribution {distribution}: configure, then start, on every node\n"
        )),
        (None, Some(installer)) => text.push_str(&format!(
            "  install {installer} on every node, once per role\n"
        )),
        (None, None) => {}
    }
    for file in &plan.files {
        text.push_str(&format!("  copy {file}\n"));
    }
    if !plan.debuggers.is_empty() {
        text.push_str(&format!(
            "  then run debuggers: {}\n",
            plan.debuggers.join(", ")
        ));
    }
    text
}

/// A node's roles for a table cell; none shows as `empty` rather than as a
/// blank, which reads like a formatting mistake.
fn roles_text(roles: &[String], empty: &str) -> String {
    if roles.is_empty() {
        empty.to_owned()
    } else {
        roles.join(",")
    }
}
