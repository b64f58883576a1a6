//! Popups over the panels: help, command line, filter, quit confirmation,
//! and one node's full check output.

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use tui_input::Input;

use super::checks;
use crate::tui::cmdline::COMMANDS;
use crate::tui::keys::KEYMAP;
use crate::tui::state::{App, Popup};
use crate::tui::theme::Theme;

pub(super) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let [row] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    let [cell] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(row);
    cell
}

pub(super) fn framed<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.title()))
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    match &app.popup {
        None => {}
        Some(Popup::Help) => help(frame, area, theme),
        Some(Popup::Command(input)) => prompt(frame, area, ":", input, theme),
        Some(Popup::Filter(input)) => prompt(frame, area, "/", input, theme),
        Some(Popup::ConfirmQuit) => {
            let rect = centered(area, 52, 5);
            frame.render_widget(Clear, rect);
            let text = vec![
                Line::raw("An operation is running. Quit and cancel it?"),
                Line::styled("y: cancel and quit    n / Esc: keep going", theme.dim()),
            ];
            frame.render_widget(Paragraph::new(text).block(framed("Quit?", theme)), rect);
        }
        Some(Popup::Detail { row, node }) => detail(frame, area, app, *row, *node, theme),
        Some(Popup::Backends) => super::backends::render(frame, area, app, theme),
        Some(Popup::Configs { scroll }) => {
            super::configs::render(frame, area, app, theme, *scroll);
        }
    }
}

fn help(frame: &mut Frame, area: Rect, theme: &Theme) {
    let width = 92.min(area.width);
    let mut lines: Vec<Line> = KEYMAP
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:>18}  "), theme.title()),
                Span::raw(*what),
            ])
        })
        .collect();
    let full = KEYMAP.len() + COMMANDS.len() + 5;
    if full <= usize::from(area.height) {
        lines.push(Line::raw(""));
        lines.push(Line::styled("Commands after ':'", theme.title()));
        lines.extend(
            COMMANDS
                .iter()
                .map(|(_, usage)| Line::styled(format!("  :{usage}"), theme.dim())),
        );
    } else {
        // A short terminal (the minimum is 24 rows): the commands share
        // lines, so none is cut off.
        let usages: Vec<String> = COMMANDS
            .iter()
            .map(|(_, usage)| format!(":{usage}"))
            .collect();
        let room = usize::from(width.saturating_sub(4));
        lines.extend(
            packed("Commands: ", &usages, room)
                .into_iter()
                .map(|line| Line::styled(line, theme.dim())),
        );
    }
    let height = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let rect = centered(area, width, height);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(framed("Keys · Esc closes", theme)),
        rect,
    );
}

/// `items` after `lead`, as many to a line as fit in `room` characters.
fn packed(lead: &str, items: &[String], room: usize) -> Vec<String> {
    let mut lines = vec![lead.to_owned()];
    for item in items {
        let Some(line) = lines.last_mut() else {
            break;
        };
        let fresh = line.trim().is_empty() || line == lead;
        if !fresh && line.chars().count() + 2 + item.chars().count() > room {
            lines.push(format!("  {item}"));
        } else {
            if !fresh {
                line.push_str("  ");
            }
            line.push_str(item);
        }
    }
    lines
}

/// A one-line input at the bottom of the screen, with the cursor in it.
fn prompt(frame: &mut Frame, area: Rect, sigil: &str, input: &Input, theme: &Theme) {
    let rect = Rect {
        x: area.x,
        y: area.y + area.height.saturating_sub(1),
        width: area.width,
        height: 1,
    };
    let width = usize::from(rect.width.saturating_sub(1));
    let scroll = input.visual_scroll(width);
    frame.render_widget(Clear, rect);
    let value: String = input.value().chars().skip(scroll).collect();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(sigil.to_owned(), theme.title()),
            Span::raw(value),
        ])),
        rect,
    );
    let cursor = input.visual_cursor().saturating_sub(scroll) + 1;
    frame.set_cursor_position((rect.x + u16::try_from(cursor).unwrap_or(rect.width), rect.y));
}

fn detail(frame: &mut Frame, area: Rect, app: &App, row: usize, node: usize, theme: &Theme) {
    let rows = checks::rows(app);
    let Some(folded) = rows.get(row) else {
        return;
    };
    let members = checks::members(app, folded);
    let rect = centered(
        area,
        area.width.saturating_sub(8),
        area.height.saturating_sub(4),
    );
    frame.render_widget(Clear, rect);
    let Some(result) = members.get(node.min(members.len().saturating_sub(1))) else {
        return;
    };
    let title = format!(
        "{} on {} ({}/{}) · ←/→ other nodes · Esc closes",
        folded.name,
        result.node.as_deref().unwrap_or("-"),
        node.min(members.len().saturating_sub(1)) + 1,
        members.len()
    );
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                result.status.as_str().to_uppercase(),
                checks::status_style(result.status, theme),
            ),
            Span::raw(format!(" {}", result.message)),
            Span::styled(
                result
                    .exit_code
                    .map(|code| format!("  exit {code}"))
                    .unwrap_or_default(),
                theme.dim(),
            ),
        ]),
        Line::raw(""),
    ];
    lines.extend(
        result
            .output
            .as_deref()
            .unwrap_or("(no output)")
            .lines()
            .map(|line| Line::raw(line.to_owned())),
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(framed(&title, theme)),
        rect,
    );
}
