//! Every known cluster: backend, node count, status, capabilities.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, fit, inner, list_lines};
use crate::tui::state::{App, ClusterRow, Panel};
use crate::tui::theme::Theme;

pub fn rows(app: &App) -> Vec<&ClusterRow> {
    let filter = app.filter(Panel::Clusters);
    app.clusters
        .iter()
        .filter(|row| {
            filter.is_empty() || row.name.contains(filter) || row.backend.contains(filter)
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let block = block(app, Panel::Clusters, theme, format!("{}", rows.len()));
    let body = inner(area);
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    let shown = app.cluster.as_ref().map(|cluster| cluster.name.as_str());
    let mut lines: Vec<Line> = list_lines(app, Panel::Clusters, &rows, height, theme, |row| {
        let marker = if Some(row.name.as_str()) == shown {
            "▸ "
        } else {
            "  "
        };
        let status_style = match row.status.as_str() {
            "ready" => theme.ok(),
            "failed" | "degraded" => theme.failed(),
            _ => theme.busy(),
        };
        let name = fit(&row.name, 16);
        Line::from(vec![
            Span::raw(format!("{marker}{name:<16} ")),
            Span::styled(format!("{:<10}", row.status), status_style),
            Span::raw(format!("{:>4} ", row.nodes)),
            Span::styled(format!("{:<7} ", fit(&row.backend, 7)), theme.dim()),
            Span::styled(
                fit(&row.capabilities.join(","), width.saturating_sub(41)),
                theme.dim(),
            ),
        ])
    });
    if lines.is_empty() {
        lines.push(Line::styled(
            "  no clusters: run `clusterdeck up SPEC`",
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
