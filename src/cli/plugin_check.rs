//! `clusterdeck plugin check PATH`: the conformance run, printed per method
//! as text or JSON; exit 1 when any method failed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use clusterdeck::plugin::conformance::{CheckOptions, CheckReport, check_plugin};
use clusterdeck::plugin::{self};
use serde_json::Value;

use super::failure::Failure;
use super::views::out;

/// How long one call of the run may stay silent unless
/// `CLUSTERDECK_PLUGIN_SILENCE_MS` says otherwise.
const CHECK_SILENCE: Duration = Duration::from_secs(30);

pub async fn check(path: &Path, options: &[String], json: bool) -> Result<(), Failure> {
    if !plugin::is_executable(path) {
        return Err(Failure::Input(format!(
            "{} is not an executable file",
            path.display()
        )));
    }
    let options = parse_options(options)?;
    let silence = match std::env::var_os(plugin::SILENCE_ENV) {
        Some(_) => plugin::silence(),
        None => CHECK_SILENCE,
    };
    let report = check_plugin(path, &CheckOptions { options, silence }).await;
    if json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|err| Failure::Failed(format!("cannot write the report: {err}")))?;
        out(&format!("{text}\n"));
    } else {
        out(&as_text(&report));
    }
    if report.passed() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "plugin {} failed its check: {}",
            report.plugin,
            report.failed_methods().join(", ")
        )))
    }
}

/// `NAME=VALUE`, the value read as JSON when it is JSON (`3`, `true`,
/// `["a"]`), else as a string.
fn parse_options(options: &[String]) -> Result<BTreeMap<String, Value>, Failure> {
    options
        .iter()
        .map(|option| {
            let (name, value) = option.split_once('=').ok_or_else(|| {
                Failure::Input(format!("--option {option:?}: expected NAME=VALUE"))
            })?;
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
            Ok((name.to_owned(), value))
        })
        .collect()
}

fn as_text(report: &CheckReport) -> String {
    let mut text = format!("plugin check: {}", report.path.display());
    if let (Some(version), Some(protocol)) = (&report.version, report.protocol_version) {
        text.push_str(&format!(
            " ({} {version}, protocol {protocol}, {})",
            report.plugin,
            report.kinds.join(", ")
        ));
    }
    text.push('\n');
    let width = report
        .methods
        .iter()
        .map(|method| method.method.len())
        .max()
        .unwrap_or(0);
    for method in &report.methods {
        let calls = match method.calls {
            0 => String::new(),
            1 => "1 call".to_owned(),
            n => format!("{n} calls"),
        };
        text.push_str(&format!(
            "  {:<4}  {:<width$}  {calls}\n",
            method.verdict.as_str(),
            method.method
        ));
        for note in &method.notes {
            text.push_str(&format!("        {note}\n"));
        }
        for problem in &method.problems {
            text.push_str(&format!("        problem: {problem}\n"));
        }
    }
    let failed = report.failed_methods();
    text.push_str(&format!(
        "{} methods, {} failed; {} messages checked against the schema\n",
        report.methods.len(),
        failed.len(),
        report.messages
    ));
    text
}
