//! Validators and debuggers: a pass/fail/timeout tally and results folded
//! across nodes with their node ranges. Enter opens one node's full output.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, fit, inner, list_lines};
use crate::checks::fold;
use crate::model::{CheckKind, CheckResult, CheckStatus, FoldedResult, Tally};
use crate::tui::state::{App, Panel};
use crate::tui::theme::Theme;

pub fn rows(app: &App) -> Vec<FoldedResult> {
    let Some(cluster) = &app.cluster else {
        return Vec::new();
    };
    let filter = app.filter(Panel::Checks);
    fold(&cluster.checks)
        .into_iter()
        .filter(|row| {
            filter.is_empty()
                || row.name.contains(filter)
                || row.nodes.contains(filter)
                || row.status.as_str() == filter
                || row.output.contains(filter)
        })
        .collect()
}

/// The per-node results folded into `row`, for the detail view.
pub fn members<'a>(app: &'a App, row: &FoldedResult) -> Vec<&'a CheckResult> {
    let Some(cluster) = &app.cluster else {
        return Vec::new();
    };
    cluster
        .checks
        .iter()
        .filter(|result| {
            result.kind == row.kind
                && result.name == row.name
                && result.status == row.status
                && result.exit_code == row.exit_code
                && result.message == row.message
                && result.output.as_deref().unwrap_or("") == row.output
        })
        .collect()
}

/// Status words of one width, so columns line up.
pub fn status_word(status: CheckStatus) -> &'static str {
    match status {
        CheckStatus::Pass => "PASS",
        CheckStatus::Warn => "WARN",
        CheckStatus::Fail => "FAIL",
        CheckStatus::Timeout => "TIMEOUT",
        CheckStatus::Unreachable => "UNREACH",
    }
}

pub fn status_style(status: CheckStatus, theme: &Theme) -> Style {
    match status {
        CheckStatus::Pass => theme.ok(),
        CheckStatus::Fail | CheckStatus::Unreachable => theme.failed(),
        CheckStatus::Timeout | CheckStatus::Warn => theme.warning(),
    }
}

fn tally(app: &App) -> String {
    let Some(cluster) = &app.cluster else {
        return String::new();
    };
    let mut tally = Tally::default();
    let mut validators = (0, 0);
    for result in &cluster.checks {
        if result.kind == CheckKind::Validator {
            validators.1 += 1;
            if result.status == CheckStatus::Pass {
                validators.0 += 1;
            }
        } else {
            tally.add(result.status);
        }
    }
    format!(
        "validators {}/{} · {} pass {} fail {} timeout {} unreachable",
        validators.0, validators.1, tally.pass, tally.fail, tally.timeout, tally.unreachable
    )
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let block = block(app, Panel::Checks, theme, tally(app));
    let body = inner(area);
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    let lines: Vec<Line> = list_lines(app, Panel::Checks, &rows, height, theme, |row| {
        let first_output = row.output.lines().next().unwrap_or_default();
        let detail = if row.status == CheckStatus::Pass || row.kind == CheckKind::Validator {
            if first_output.is_empty() {
                &row.message
            } else {
                first_output
            }
        } else {
            &row.message
        };
        let nodes = if row.nodes.is_empty() {
            String::new()
        } else {
            format!("{} ({})", row.nodes, row.node_count)
        };
        // Narrow panels give the name and the node range a third each.
        let (name_width, nodes_width) = if nodes.is_empty() {
            // Validators have no nodes: their name takes both columns.
            ((width / 3).clamp(8, 20) + (width / 3).clamp(8, 18) + 1, 0)
        } else {
            ((width / 3).clamp(8, 20), (width / 3).clamp(8, 18))
        };
        Line::from(vec![
            Span::styled(
                format!("{:<7}", status_word(row.status)),
                status_style(row.status, theme),
            ),
            Span::raw(format!(" {:<name_width$} ", fit(&row.name, name_width))),
            Span::raw(if nodes_width == 0 {
                String::new()
            } else {
                format!("{:<nodes_width$} ", fit(&nodes, nodes_width))
            }),
            Span::styled(
                fit(detail, width.saturating_sub(10 + name_width + nodes_width)),
                theme.dim(),
            ),
        ])
    });
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
