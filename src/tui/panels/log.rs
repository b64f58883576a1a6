//! The event stream as a scrollable, filterable log.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, fit, inner};
use crate::tui::state::{App, LogKind, LogLine, Panel};
use crate::tui::theme::Theme;

pub fn rows(app: &App) -> Vec<&LogLine> {
    let filter = app.filter(Panel::Log);
    app.log
        .iter()
        .filter(|line| {
            filter.is_empty()
                || line.text.contains(filter)
                || line
                    .node
                    .as_deref()
                    .is_some_and(|node| node.contains(filter))
        })
        .collect()
}

/// The rows shown: the last `height`, moved up by the scroll offset.
pub fn visible<'a>(rows: &[&'a LogLine], scroll: usize, height: usize) -> Vec<&'a LogLine> {
    let end = rows.len().saturating_sub(scroll.min(rows.len()));
    let start = end.saturating_sub(height);
    rows[start..end].to_vec()
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let body = inner(area);
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    // Without a filter only the visible tail is looked at: the log may be long.
    let rows: Vec<&LogLine> = if app.filter(Panel::Log).is_empty() {
        let end = app
            .log
            .len()
            .saturating_sub(app.log_scroll.min(app.log.len()));
        let start = end.saturating_sub(height);
        app.log.range(start..end).collect()
    } else {
        let all = rows(app);
        visible(&all, app.log_scroll, height)
    };
    let extra = if app.log_scroll > 0 {
        format!("{} lines, {} up", app.log.len(), app.log_scroll)
    } else {
        format!("{} lines", app.log.len())
    };
    let block = block(app, Panel::Log, theme, extra);
    let lines: Vec<Line> = rows
        .iter()
        .map(|line| {
            let style = match line.kind {
                LogKind::Info | LogKind::Stdout => ratatui::style::Style::new(),
                LogKind::Stderr | LogKind::Warning => theme.warning(),
                LogKind::Error => theme.failed(),
            };
            let time = line.time.get(11..19).unwrap_or(&line.time);
            let node = line.node.as_deref().unwrap_or("-");
            Line::from(vec![
                Span::styled(format!("{time} "), theme.dim()),
                Span::raw(format!("{:<12} ", fit(node, 12))),
                Span::styled(fit(&line.text, width.saturating_sub(22)), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
