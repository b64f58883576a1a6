//! Install progress per node: the current step, a gauge, elapsed time; a failed
//! node shows its step and error in red while the others carry on.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, fit, inner, list_lines};
use crate::model::StepStatus;
use crate::tui::state::{App, NodeView, Panel};
use crate::tui::theme::Theme;

const GAUGE_WIDTH: usize = 20;

pub fn rows(app: &App) -> Vec<&NodeView> {
    let Some(cluster) = &app.cluster else {
        return Vec::new();
    };
    let filter = app.filter(Panel::Progress);
    cluster
        .nodes
        .iter()
        .filter(|node| {
            filter.is_empty()
                || node.name.contains(filter)
                || node
                    .step
                    .as_deref()
                    .is_some_and(|step| step.contains(filter))
                || (filter == "failed" && node.error.is_some())
        })
        .collect()
}

/// A text gauge: filled blocks for the percent done.
pub fn gauge(percent: u8) -> String {
    let filled = usize::from(percent.min(100)) * GAUGE_WIDTH / 100;
    format!("{}{}", "█".repeat(filled), "░".repeat(GAUGE_WIDTH - filled))
}

fn elapsed(node: &NodeView, now: SystemTime) -> String {
    let millis = match (node.step_elapsed_ms, node.step_started) {
        (Some(done), _) if node.step_status.is_some() => done,
        (_, Some(started)) => now.duration_since(started).map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        }),
        _ => return String::new(),
    };
    format!("{:.1}s", millis as f64 / 1000.0)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, now: SystemTime) {
    let rows = rows(app);
    let failed = rows.iter().filter(|node| node.error.is_some()).count();
    let done = rows
        .iter()
        .filter(|node| node.step_status == Some(StepStatus::Ok) && node.percent == Some(100))
        .count();
    let block = block(
        app,
        Panel::Progress,
        theme,
        format!("{done} done, {failed} failed of {}", rows.len()),
    );
    let body = inner(area);
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    let lines: Vec<Line> = list_lines(app, Panel::Progress, &rows, height, theme, |node| {
        let step = node.step.as_deref().unwrap_or("waiting");
        let mut spans = vec![
            Span::raw(format!("{:<16} ", fit(&node.name, 16))),
            Span::raw(format!("{:<16} ", fit(step, 16))),
        ];
        match (&node.error, node.step_status) {
            (Some(error), status) => {
                let word = match status {
                    Some(StepStatus::TimedOut) => "TIMED OUT",
                    Some(StepStatus::Cancelled) => "CANCELLED",
                    _ => "FAILED",
                };
                spans.push(Span::styled(
                    format!("✗ {word}: {}", fit(error, width.saturating_sub(50))),
                    theme.failed(),
                ));
            }
            (None, _) => {
                let percent = node.percent.unwrap_or(match node.step_status {
                    Some(StepStatus::Ok) => 100,
                    _ => 0,
                });
                let style = if percent == 100 {
                    theme.ok()
                } else {
                    theme.busy()
                };
                spans.push(Span::styled(gauge(percent), style));
                spans.push(Span::raw(format!(" {percent:>3}% ")));
                spans.push(Span::styled(
                    format!("{:>7} ", elapsed(node, now)),
                    theme.dim(),
                ));
                if let Some(message) = &node.message {
                    spans.push(Span::styled(
                        fit(message, width.saturating_sub(70)),
                        theme.dim(),
                    ));
                }
            }
        }
        Line::from(spans)
    });
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
