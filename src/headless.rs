//! Headless output: the same events the TUI draws, as readable log lines or as
//! JSON lines, plus the end-of-operation summary.

use std::borrow::Cow;
use std::io::Write;

use crate::engine::{Event, EventKind};
use crate::model::{
    CheckKind, CheckResult, CheckStatus, FoldedResult, Outcome, StepStatus, Stream, Summary,
};
use crate::text::printable;

/// Writes events as they arrive, in text or JSON lines.
pub struct Printer<W: Write> {
    out: W,
    json: bool,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W, json: bool) -> Self {
        Self { out, json }
    }

    /// A closed stdout (e.g. `| head`) is not worth failing an operation over,
    /// so write errors are dropped here.
    pub fn print(&mut self, event: &Event) {
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                let _ = writeln!(self.out, "{line}");
            }
        } else {
            for line in text_lines(event) {
                let _ = writeln!(self.out, "{line}");
            }
        }
        let _ = self.out.flush();
    }
}

/// The text form of one event: a time, the node if any, and what happened.
/// Control characters from nodes or specs come out as visible escapes, so a
/// node cannot retitle or clear the terminal through them.
pub fn text_lines(event: &Event) -> Vec<String> {
    let time = event.time.get(11..23).unwrap_or(&event.time);
    describe(&event.kind)
        .into_iter()
        .map(|(node, text)| match node {
            Some(node) if !text.starts_with("  ") => format!("{time} {node:<14} {text}"),
            None if !text.starts_with("  ") => format!("{time} {:<14} {text}", "-"),
            _ => text,
        })
        // A multi-line message (a doctor check and its fix) prints as
        // lines; every other control character is still escaped.
        .flat_map(|line| line.split('\n').map(str::to_owned).collect::<Vec<String>>())
        .map(|line| match printable(&line) {
            Cow::Borrowed(_) => line,
            Cow::Owned(shown) => shown,
        })
        .collect()
}

/// What an event says, line by line, each with the node it is about. Lines of
/// a closing summary start with two spaces and are printed as they are.
pub fn describe(kind: &EventKind) -> Vec<(Option<&str>, String)> {
    fn line(node: Option<&str>, text: String) -> (Option<&str>, String) {
        (node, text)
    }
    match kind {
        EventKind::OperationStarted { operation, cluster } => {
            vec![line(
                None,
                format!("{} {cluster}: started", operation.as_str()),
            )]
        }
        EventKind::Plan { nodes } => {
            // Group by group, in spec order, so the plan reads like the spec.
            let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
            for node in nodes {
                match groups.iter_mut().find(|(group, _)| *group == node.group) {
                    Some((_, members)) => members.push(&node.name),
                    None => groups.push((&node.group, vec![&node.name])),
                }
            }
            let listed: Vec<String> = groups
                .iter()
                .map(|(_, members)| crate::checks::nodeset::compact(members))
                .collect();
            vec![line(
                None,
                format!("plan: {} node(s): {}", nodes.len(), listed.join(", ")),
            )]
        }
        EventKind::NodeCreated { node } => vec![line(
            Some(&node.name),
            format!(
                "created (roles: {}; {})",
                node.roles.join(","),
                node.addresses.join(" ")
            ),
        )],
        EventKind::NodeDestroyed { node } => vec![line(Some(node), "destroyed".to_owned())],
        EventKind::ResourceDestroyed { kind, key, scope } => vec![line(
            None,
            format!("{kind} {key} ({}): destroyed", scope.describe()),
        )],
        EventKind::StepStarted { node, step } => vec![line(Some(node), format!("{step}: started"))],
        EventKind::StepProgress {
            node,
            step,
            percent,
            message,
        } => {
            let percent = percent
                .map(|percent| format!(" {percent}%"))
                .unwrap_or_default();
            let message = message
                .as_deref()
                .map(|text| format!(" {text}"))
                .unwrap_or_default();
            vec![line(Some(node), format!("{step}:{percent}{message}"))]
        }
        EventKind::StepFinished {
            node,
            step,
            status,
            elapsed_ms,
            error,
        } => {
            let seconds = *elapsed_ms as f64 / 1000.0;
            let text = match (status, error) {
                (StepStatus::Ok, _) => format!("{step}: ok ({seconds:.1}s)"),
                (status, Some(error)) => {
                    format!("{step}: {} ({seconds:.1}s): {error}", step_word(*status))
                }
                (status, None) => format!("{step}: {} ({seconds:.1}s)", step_word(*status)),
            };
            vec![line(Some(node), text)]
        }
        EventKind::CheckResult { result } => vec![line(result.node.as_deref(), check_text(result))],
        EventKind::Output {
            node,
            stream,
            line: text,
        } => {
            let mark = match stream {
                Stream::Stdout => '|',
                Stream::Stderr => '!',
            };
            vec![line(Some(node), format!("{mark} {text}"))]
        }
        EventKind::OutputDropped { node, lines } => {
            vec![line(
                Some(node),
                format!("… {lines} output line(s) dropped"),
            )]
        }
        EventKind::Warning { message, node } => {
            vec![line(node.as_deref(), format!("warning: {message}"))]
        }
        EventKind::Error { message, node } => {
            vec![line(node.as_deref(), format!("error: {message}"))]
        }
        EventKind::BundleWritten {
            path,
            bytes,
            files,
            problems,
        } => vec![line(
            None,
            format!(
                "bundle written to {path} ({bytes} bytes, {files} file(s) from nodes, {problems} problem(s) in its manifest)"
            ),
        )],
        EventKind::OperationFinished {
            operation,
            cluster,
            outcome,
            summary,
        } => {
            let mut lines = vec![line(
                None,
                format!(
                    "{} {cluster}: {}",
                    operation.as_str(),
                    outcome_word(*outcome)
                ),
            )];
            lines.extend(summary_lines(summary).into_iter().map(|text| (None, text)));
            lines
        }
    }
}

fn step_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Ok => "ok",
        StepStatus::Failed => "FAILED",
        StepStatus::TimedOut => "TIMED OUT",
        StepStatus::Cancelled => "cancelled",
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed => "FAILED",
        Outcome::Cancelled => "cancelled",
    }
}

fn status_word(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "pass",
        CheckStatus::Warn => "WARN",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Timeout => "TIMEOUT",
        CheckStatus::Unreachable => "UNREACHABLE",
    }
}

fn kind_word(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Validator => "validator",
        CheckKind::Debugger => "debugger",
        CheckKind::Command => "command",
        CheckKind::Doctor => "doctor",
    }
}

fn check_text(result: &CheckResult) -> String {
    let mut text = format!(
        "{} {}: {}",
        kind_word(result.kind),
        result.name,
        status_word(result.status)
    );
    if result.status != CheckStatus::Pass
        || matches!(result.kind, CheckKind::Validator | CheckKind::Doctor)
    {
        text.push_str(&format!(" - {}", result.message));
    }
    text
}

/// The closing block: validators, folded results, failures, tally, reason.
pub fn summary_lines(summary: &Summary) -> Vec<String> {
    let mut lines = Vec::new();
    let failed_validators: Vec<_> = summary
        .validators
        .iter()
        .filter(|outcome| outcome.status != CheckStatus::Pass)
        .collect();
    if !summary.validators.is_empty() {
        lines.push(format!(
            "  validators: {} passed, {} failed",
            summary.validators.len() - failed_validators.len(),
            failed_validators.len()
        ));
        for outcome in failed_validators {
            lines.push(format!(
                "    FAIL {}: {}",
                outcome.name,
                outcome.located_message()
            ));
        }
    }
    for result in &summary.results {
        lines.extend(folded_lines(result));
    }
    for failure in summary.folded_failures() {
        lines.push(if failure.node_count == 1 {
            format!(
                "  node {} failed at {}: {}",
                failure.nodes, failure.step, failure.error
            )
        } else {
            format!(
                "  nodes {} ({}) failed at {}: {}",
                failure.nodes, failure.node_count, failure.step, failure.error
            )
        });
    }
    let tally = &summary.tally;
    if tally.total() > 0 {
        lines.push(format!(
            "  results: {} pass{}, {} fail{}, {} timeout, {} unreachable",
            tally.pass,
            if tally.warn > 0 {
                format!(", {} warn", tally.warn)
            } else {
                String::new()
            },
            tally.fail,
            exit_codes(summary),
            tally.timeout,
            tally.unreachable
        ));
    }
    if let Some(reason) = &summary.reason {
        lines.push(format!("  reason: {reason}"));
    }
    lines
}

/// Failed nodes by exit code, e.g. ` (exit 1: 2, exit 127: 1)`.
fn exit_codes(summary: &Summary) -> String {
    let mut counts: std::collections::BTreeMap<i32, usize> = std::collections::BTreeMap::new();
    for result in &summary.results {
        if let (CheckStatus::Fail, Some(code)) = (result.status, result.exit_code) {
            *counts.entry(code).or_default() += result.node_count;
        }
    }
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(code, count)| format!("exit {code}: {count}"))
        .collect();
    format!(" ({})", parts.join(", "))
}

fn folded_lines(result: &FoldedResult) -> Vec<String> {
    let exit = result
        .exit_code
        .map(|code| format!(" exit {code}"))
        .unwrap_or_default();
    let detail = if result.status == CheckStatus::Pass {
        String::new()
    } else {
        format!(" - {}", result.message)
    };
    let mut lines = vec![format!(
        "  {} {} {}{exit} on {} ({}){detail}",
        kind_word(result.kind),
        result.name,
        status_word(result.status),
        result.nodes,
        result.node_count
    )];
    lines.extend(
        result
            .output
            .lines()
            .take(20)
            .map(|line| format!("      {line}")),
    );
    let more = result.output.lines().count().saturating_sub(20);
    if more > 0 {
        lines.push(format!("      ... {more} more line(s)"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OperationKind, Tally};

    fn event(kind: EventKind) -> Event {
        Event {
            time: "2026-11-23T10:20:30.456Z".into(),
            kind,
        }
    }

    #[test]
    fn step_lines_carry_time_node_and_outcome() {
        let lines = text_lines(&event(EventKind::StepFinished {
            node: "agents-2".into(),
            step: "install:agent".into(),
            status: StepStatus::Failed,
            elapsed_ms: 1500,
            error: Some("exit status 3: disk full".into()),
        }));
        assert_eq!(
            lines,
            vec![
                "10:20:30.456 agents-2       install:agent: FAILED (1.5s): exit status 3: disk full"
            ]
        );
    }

    #[test]
    fn finished_operation_prints_folded_results_and_tally() {
        let summary = Summary {
            nodes_total: 4,
            results: vec![FoldedResult {
                kind: CheckKind::Debugger,
                name: "agent-up".into(),
                status: CheckStatus::Pass,
                exit_code: Some(0),
                nodes: "agents-[1-3]".into(),
                node_count: 3,
                message: "ok".into(),
                output: "running".into(),
            }],
            tally: Tally {
                pass: 3,
                ..Tally::default()
            },
            ..Summary::default()
        };
        let lines = text_lines(&event(EventKind::OperationFinished {
            operation: OperationKind::Up,
            cluster: "demo".into(),
            outcome: Outcome::Succeeded,
            summary,
        }));
        assert_eq!(
            lines,
            vec![
                "10:20:30.456 -              up demo: succeeded",
                "  debugger agent-up pass exit 0 on agents-[1-3] (3)",
                "      running",
                "  results: 3 pass, 0 fail, 0 timeout, 0 unreachable",
            ]
        );
    }

    #[test]
    fn the_tally_breaks_failures_down_by_exit_code() {
        let failed = |nodes: &str, count, code| FoldedResult {
            kind: CheckKind::Command,
            name: "`x`".into(),
            status: CheckStatus::Fail,
            exit_code: Some(code),
            nodes: nodes.into(),
            node_count: count,
            message: format!("exit status {code}"),
            output: String::new(),
        };
        let summary = Summary {
            results: vec![failed("a-[1-2]", 2, 1), failed("a-3", 1, 127)],
            tally: Tally {
                pass: 4,
                fail: 3,
                ..Tally::default()
            },
            ..Summary::default()
        };
        let lines = summary_lines(&summary);
        assert_eq!(
            lines.last().map(String::as_str),
            Some("  results: 4 pass, 3 fail (exit 1: 2, exit 127: 1), 0 timeout, 0 unreachable")
        );
    }

    #[test]
    fn node_text_cannot_reach_the_terminal_as_escapes() {
        let lines = text_lines(&event(EventKind::Output {
            node: "a-1".into(),
            stream: Stream::Stdout,
            line: "\u{1b}]2;TITLE\u{7}\u{1b}[2J".into(),
        }));
        assert_eq!(
            lines,
            vec!["10:20:30.456 a-1            | ^[]2;TITLE^G^[[2J"]
        );
        let lines = text_lines(&event(EventKind::Error {
            node: Some("a-\u{1b}[31m".into()),
            message: "bad \u{9b}2J".into(),
        }));
        assert!(
            lines
                .iter()
                .all(|line| !line.contains(['\u{1b}', '\u{9b}'])),
            "{lines:?}"
        );
    }

    #[test]
    fn dropped_output_shows_as_a_counted_marker_in_text_and_json() {
        let dropped = event(EventKind::OutputDropped {
            node: "a-2".into(),
            lines: 4096,
        });
        assert_eq!(
            text_lines(&dropped),
            vec!["10:20:30.456 a-2            … 4096 output line(s) dropped"]
        );
        let json = serde_json::to_value(&dropped).expect("json");
        assert_eq!(json["event"], "output_dropped");
        assert_eq!(json["node"], "a-2");
        assert_eq!(json["lines"], 4096);
    }

    #[test]
    fn failures_of_many_nodes_print_as_one_range() {
        let failures = (1..=94_310)
            .map(|index| crate::engine::NodeFailure {
                node: format!("w-{index}"),
                step: "create".into(),
                error: "cancelled before it was created".into(),
            })
            .collect();
        let summary = Summary {
            failures,
            ..Summary::default()
        };
        assert_eq!(
            summary_lines(&summary),
            vec!["  nodes w-[1-94310] (94310) failed at create: cancelled before it was created"]
        );
    }

    #[test]
    fn json_mode_prints_one_object_per_line() {
        let mut out = Vec::new();
        let mut printer = Printer::new(&mut out, true);
        printer.print(&event(EventKind::NodeDestroyed { node: "a-1".into() }));
        printer.print(&event(EventKind::Warning {
            message: "x".into(),
            node: None,
        }));
        let text = String::from_utf8(out).expect("utf8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["event"], "node_destroyed");
        assert_eq!(lines[1]["event"], "warning");
    }
}
