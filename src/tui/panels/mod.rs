//! One file per panel: each builds its rows from the app state (pure, so
//! input handling and tests use the same rows) and draws them.

pub mod backends;
pub mod checks;
pub mod clusters;
pub mod configs;
pub mod groups;
pub mod log;
pub mod popups;
pub mod progress;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use super::layout::window_start;
use super::state::{App, Panel};
use super::theme::Theme;

/// A panel's frame: title, filter and focus shown on the border.
pub fn block<'a>(app: &App, panel: Panel, theme: &Theme, extra: String) -> Block<'a> {
    let focused = app.focus == panel && app.popup.is_none();
    let mut title = vec![Span::styled(format!(" {} ", panel.title()), theme.title())];
    if !extra.is_empty() {
        title.push(Span::styled(format!("{extra} "), theme.dim()));
    }
    let filter = app.filter(panel);
    if !filter.is_empty() {
        title.push(Span::styled(format!("/{filter} "), theme.warning()));
    }
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(Line::from(title))
}

/// The lines of a list panel's visible window: the rows around the
/// selection, the selected one highlighted (reverse video when focused).
pub fn list_lines<'a, T>(
    app: &App,
    panel: Panel,
    rows: &[T],
    height: usize,
    theme: &Theme,
    draw: impl Fn(&T) -> Line<'a>,
) -> Vec<Line<'a>> {
    let focused = app.focus == panel && app.popup.is_none();
    let selected = app.selected[panel.index()].min(rows.len().saturating_sub(1));
    let start = window_start(selected, rows.len(), height);
    rows.iter()
        .enumerate()
        .skip(start)
        .take(height)
        .map(|(index, row)| {
            let line = draw(row);
            if index == selected {
                line.style(theme.selected(focused))
            } else {
                line
            }
        })
        .collect()
}

/// How many rows each panel has, for moving the selection.
pub fn row_count(app: &App, panel: Panel) -> usize {
    match panel {
        Panel::Clusters => clusters::rows(app).len(),
        Panel::Groups => groups::rows(app).len(),
        Panel::Progress => progress::rows(app).len(),
        Panel::Checks => checks::rows(app).len(),
        Panel::Log => log::rows(app).len(),
    }
}

/// Cuts `text` to `width` columns, marking the cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

pub fn inner(rect: Rect) -> Rect {
    Rect {
        x: rect.x.saturating_add(1),
        y: rect.y.saturating_add(1),
        width: rect.width.saturating_sub(2),
        height: rect.height.saturating_sub(2),
    }
}
