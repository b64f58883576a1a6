//! The backends popup (`:backends`): the built-in backends and every plugin
//! discovery finds, with kind, version and capabilities, or the error of a
//! plugin that could not say what it is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use super::fit;
use super::popups::{centered, framed};
use crate::tui::state::{App, BackendRow};
use crate::tui::theme::Theme;

/// The popup's text lines, pure so tests read what is drawn.
pub fn lines<'a>(backends: Option<&[BackendRow]>, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let Some(backends) = backends else {
        return vec![Line::styled(
            "  looking for plugins (each is started and asked what it is)…",
            theme.busy(),
        )];
    };
    let mut lines = Vec::new();
    for row in backends {
        let what = if row.source == "built-in" {
            "built-in".to_owned()
        } else {
            format!(
                "plugin {} ({})",
                or_dash(&row.version),
                or_dash(&row.kinds.join(","))
            )
        };
        match &row.error {
            None => lines.push(Line::from(vec![
                Span::styled(format!("  {:<12} ", fit(&row.name, 12)), theme.title()),
                Span::raw(format!("{:<28} ", fit(&what, 28))),
                Span::styled(
                    fit(&row.capabilities.join(","), width.saturating_sub(45)),
                    theme.dim(),
                ),
            ])),
            Some(error) => lines.push(Line::from(vec![
                Span::styled(format!("  {:<12} ", fit(&row.name, 12)), theme.title()),
                Span::styled(fit(error, width.saturating_sub(16)), theme.failed()),
            ])),
        }
        if row.source != "built-in" {
            lines.push(Line::styled(
                format!(
                    "  {:<12} {}",
                    "",
                    fit(&row.source, width.saturating_sub(16))
                ),
                theme.dim(),
            ));
        }
    }
    lines
}

fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let width = area.width.saturating_sub(8);
    let body = lines(
        app.backends.as_deref(),
        usize::from(width.saturating_sub(2)),
        theme,
    );
    let height = u16::try_from(body.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let rect = centered(area, width, height.max(3));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(body).block(framed("Backends · Esc closes", theme)),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::tui::msg::{Command, Msg};
    use crate::tui::state::Popup;
    use crate::tui::update::update;

    fn text(lines: &[Line]) -> String {
        lines
            .iter()
            .map(|line| {
                line.spans
                    .iter()
                    .map(|span| span.content.as_ref())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn key(code: KeyCode) -> Msg {
        Msg::Terminal(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    #[test]
    fn backends_opens_looks_for_plugins_off_the_ui_and_shows_what_they_said() {
        let mut app = App::default();
        update(&mut app, key(KeyCode::Char(':')));
        for c in "backends".chars() {
            update(&mut app, key(KeyCode::Char(c)));
        }
        assert_eq!(
            update(&mut app, key(KeyCode::Enter)),
            vec![Command::LoadBackends]
        );
        assert!(matches!(app.popup, Some(Popup::Backends)));
        let theme = Theme { color: false };
        assert!(text(&lines(app.backends.as_deref(), 100, &theme)).contains("looking for plugins"));

        update(
            &mut app,
            Msg::Backends(vec![
                BackendRow {
                    name: "local".into(),
                    source: "built-in".into(),
                    version: String::new(),
                    kinds: vec!["backend".into()],
                    capabilities: vec!["create", "destroy"],
                    error: None,
                },
                BackendRow {
                    name: "dirs".into(),
                    source: "/p/clusterdeck-plugin-dirs".into(),
                    version: "0.1.0".into(),
                    kinds: vec!["backend".into()],
                    capabilities: vec!["create", "scale"],
                    error: None,
                },
                BackendRow {
                    name: "broken".into(),
                    source: "/p/clusterdeck-plugin-broken".into(),
                    version: String::new(),
                    kinds: Vec::new(),
                    capabilities: Vec::new(),
                    error: Some("plugin broken failed during initialize: exited".into()),
                },
            ]),
        );
        let shown = text(&lines(app.backends.as_deref(), 100, &theme));
        assert!(shown.contains("local        built-in"), "{shown}");
        assert!(
            shown.contains("dirs         plugin 0.1.0 (backend)"),
            "{shown}"
        );
        assert!(shown.contains("create,scale"), "{shown}");
        assert!(shown.contains("/p/clusterdeck-plugin-dirs"), "{shown}");
        assert!(
            shown.contains("broken       plugin broken failed during initialize"),
            "{shown}"
        );

        update(&mut app, key(KeyCode::Esc));
        assert!(app.popup.is_none());
    }
}
