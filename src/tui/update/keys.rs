//! Keys and the mouse: focus, selection, popups, quitting.

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::command::on_command_key;
use crate::tui::layout::{areas, inner_height, window_start};
use crate::tui::msg::Command;
use crate::tui::panels::{self, checks};
use crate::tui::state::{App, Panel, Popup};

pub(super) fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    let ctrl_c = key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c {
        return if app.running.is_some() {
            app.notify("cancelling…", false);
            vec![Command::Cancel]
        } else {
            app.should_quit = true;
            Vec::new()
        };
    }
    match app.popup.take() {
        Some(popup) => on_popup_key(app, popup, key),
        None => on_panel_key(app, key),
    }
}

fn on_popup_key(app: &mut App, popup: Popup, key: KeyEvent) -> Vec<Command> {
    match popup {
        Popup::Help => {
            if !matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?' | 'q') | KeyCode::Enter
            ) {
                app.popup = Some(Popup::Help);
            }
            Vec::new()
        }
        Popup::Backends => {
            if !matches!(key.code, KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter) {
                app.popup = Some(Popup::Backends);
            }
            Vec::new()
        }
        Popup::Configs { scroll } => {
            super::distribution::on_configs_key(app, scroll, key);
            Vec::new()
        }
        Popup::ConfirmQuit => {
            match key.code {
                KeyCode::Char('y' | 'Y') => {
                    app.should_quit = true;
                    return vec![Command::Cancel];
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => {}
                _ => app.popup = Some(Popup::ConfirmQuit),
            }
            Vec::new()
        }
        Popup::Detail { row, node } => {
            let members = panels::checks::rows(app)
                .get(row)
                .map_or(0, |folded| checks::members(app, folded).len());
            let node = match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => return Vec::new(),
                KeyCode::Right | KeyCode::Char('l' | 'j') | KeyCode::Down => {
                    (node + 1).min(members.saturating_sub(1))
                }
                KeyCode::Left | KeyCode::Char('h' | 'k') | KeyCode::Up => node.saturating_sub(1),
                _ => node,
            };
            app.popup = Some(Popup::Detail { row, node });
            Vec::new()
        }
        Popup::Filter(mut input) => {
            let panel = app.focus.index();
            match key.code {
                KeyCode::Esc => {
                    app.filters[panel].clear();
                    return Vec::new();
                }
                KeyCode::Enter => return Vec::new(),
                _ => {
                    input.handle_event(&TermEvent::Key(key));
                    app.filters[panel] = input.value().to_owned();
                    app.selected[panel] = 0;
                }
            }
            app.popup = Some(Popup::Filter(input));
            Vec::new()
        }
        Popup::Command(input) => on_command_key(app, input, key),
    }
}

fn on_panel_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
    app.notice = app.notice.take().filter(|notice| !notice.error);
    let panel = app.focus;
    let page = inner_height(areas(Rect::new(0, 0, app.size.0, app.size.1)).of(panel)).max(1);
    match key.code {
        KeyCode::Char('q') => {
            if app.running.is_some() {
                app.popup = Some(Popup::ConfirmQuit);
            } else {
                app.should_quit = true;
            }
        }
        KeyCode::Char('?') => app.popup = Some(Popup::Help),
        KeyCode::Char(':') => app.popup = Some(Popup::Command(Input::default())),
        KeyCode::Char('/') => {
            app.popup = Some(Popup::Filter(Input::new(app.filter(panel).to_owned())));
        }
        KeyCode::Char('r') => return vec![Command::LoadClusters],
        KeyCode::Char('c') => return super::distribution::open_configs(app),
        KeyCode::Tab => app.focus = Panel::ALL[(panel.index() + 1) % Panel::ALL.len()],
        KeyCode::BackTab => {
            app.focus = Panel::ALL[(panel.index() + Panel::ALL.len() - 1) % Panel::ALL.len()];
        }
        KeyCode::Down | KeyCode::Char('j') => move_selection(app, panel, 1),
        KeyCode::Up | KeyCode::Char('k') => move_selection(app, panel, -1),
        KeyCode::PageDown => move_selection(app, panel, page as isize),
        KeyCode::PageUp => move_selection(app, panel, -(page as isize)),
        KeyCode::Home | KeyCode::Char('g') => move_selection(app, panel, isize::MIN / 2),
        KeyCode::End | KeyCode::Char('G') => move_selection(app, panel, isize::MAX / 2),
        KeyCode::Esc => app.filters[panel.index()].clear(),
        KeyCode::Enter => return on_enter(app, panel),
        _ => {}
    }
    Vec::new()
}

fn on_enter(app: &mut App, panel: Panel) -> Vec<Command> {
    let selected = app.selected[panel.index()];
    match panel {
        Panel::Clusters => {
            let name = panels::clusters::rows(app)
                .get(selected)
                .map(|row| row.name.clone());
            match name {
                Some(_) if app.running.is_some() => {
                    app.notify(
                        "an operation is running; wait for it before switching clusters",
                        true,
                    );
                    Vec::new()
                }
                Some(name) => vec![Command::Attach(name)],
                None => Vec::new(),
            }
        }
        Panel::Checks => {
            if selected < panels::checks::rows(app).len() {
                app.popup = Some(Popup::Detail {
                    row: selected,
                    node: 0,
                });
            }
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Moves the selection; in the log, scrolls (down is towards the newest line).
fn move_selection(app: &mut App, panel: Panel, delta: isize) {
    if panel == Panel::Log {
        let total = panels::log::rows(app).len();
        let scroll = app.log_scroll as isize - delta;
        app.log_scroll = scroll.clamp(0, total as isize) as usize;
        return;
    }
    let count = panels::row_count(app, panel);
    let slot = &mut app.selected[panel.index()];
    if count == 0 {
        *slot = 0;
        return;
    }
    let moved = (*slot as isize).saturating_add(delta);
    *slot = moved.clamp(0, count as isize - 1) as usize;
}

pub(super) fn on_mouse(app: &mut App, mouse: MouseEvent) -> Vec<Command> {
    let screen = Rect::new(0, 0, app.size.0, app.size.1);
    let layout = areas(screen);
    let Some(panel) = layout.panel_at(mouse.column, mouse.row) else {
        return Vec::new();
    };
    match mouse.kind {
        MouseEventKind::Down(MouseButton::Left) if app.popup.is_none() => {
            app.focus = panel;
            let rect = layout.of(panel);
            if panel == Panel::Log || mouse.row <= rect.y {
                return Vec::new();
            }
            let count = panels::row_count(app, panel);
            let height = inner_height(rect);
            let start = window_start(app.selected[panel.index()], count, height);
            let index = start + usize::from(mouse.row - rect.y - 1);
            if index < count {
                app.selected[panel.index()] = index;
            }
        }
        MouseEventKind::ScrollDown => move_selection(app, panel, 3),
        MouseEventKind::ScrollUp => move_selection(app, panel, -3),
        _ => {}
    }
    Vec::new()
}
