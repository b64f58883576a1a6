//! Draws a whole frame from the app state. Nothing here changes state.

use std::time::SystemTime;

use ratatui::Frame;
use ratatui::layout::Alignment;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use super::layout::{MIN_HEIGHT, MIN_WIDTH, areas, too_small};
use super::panels::{checks, clusters, groups, log, popups, progress};
use super::state::App;
use super::theme::Theme;

pub fn render(frame: &mut Frame, app: &App, theme: &Theme, now: SystemTime) {
    let area = frame.area();
    if too_small(area) {
        let text = format!(
            "The terminal is {}×{}; clusterdeck needs at least {MIN_WIDTH}×{MIN_HEIGHT}. Enlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .alignment(Alignment::Center),
            area,
        );
        return;
    }
    let areas = areas(area);
    clusters::render(frame, areas.clusters, app, theme);
    groups::render(frame, areas.groups, app, theme);
    progress::render(frame, areas.progress, app, theme, now);
    checks::render(frame, areas.checks, app, theme);
    log::render(frame, areas.log, app, theme);
    status_bar(frame, areas.status, app, theme);
    popups::render(frame, area, app, theme);
}

fn status_bar(frame: &mut Frame, area: ratatui::layout::Rect, app: &App, theme: &Theme) {
    let hint = "? help  : command  / filter  Tab panel  q quit";
    let left = match (&app.notice, app.running) {
        (Some(notice), _) if notice.error => Span::styled(notice.text.clone(), theme.failed()),
        (_, Some(operation)) => Span::styled(
            format!(
                "⟳ {} {} running · Ctrl-C cancels",
                operation.as_str(),
                app.cluster
                    .as_ref()
                    .map_or("", |cluster| cluster.name.as_str())
            ),
            theme.busy(),
        ),
        (Some(notice), None) => Span::raw(notice.text.clone()),
        (None, None) => Span::raw(""),
    };
    let width = usize::from(area.width);
    let room = width.saturating_sub(hint.len() + 1);
    let left_text = super::panels::fit(&left.content, room);
    let padding = width.saturating_sub(left_text.chars().count() + hint.len());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(left_text, left.style),
            Span::raw(" ".repeat(padding)),
            Span::styled(hint, theme.dim()),
        ])),
        area,
    );
}
