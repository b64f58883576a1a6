//! The `:` command line popup: editing, completion, history, and starting
//! the operation a line asks for.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use crate::tui::cmdline;
use crate::tui::msg::{Command, Operation};
use crate::tui::state::{App, Popup};

pub(super) fn on_command_key(app: &mut App, mut input: Input, key: KeyEvent) -> Vec<Command> {
    match key.code {
        KeyCode::Esc => {
            app.history_cursor = None;
            Vec::new()
        }
        KeyCode::Enter => {
            app.history_cursor = None;
            let line = input.value().trim().to_owned();
            if line.is_empty() {
                return Vec::new();
            }
            if app.history.last() != Some(&line) {
                app.history.push(line.clone());
            }
            if line.trim_start_matches(':').trim() == "backends" {
                // Looked for afresh each time: plugins come and go on disk.
                app.backends = None;
                app.popup = Some(Popup::Backends);
                return vec![Command::LoadBackends];
            }
            if line.trim_start_matches(':').trim() == "configs" {
                return super::distribution::open_configs(app);
            }
            match cmdline::parse(&line, app.cluster.as_ref()) {
                Ok(operation) => start(app, operation),
                Err(error) => {
                    app.notify(error, true);
                    Vec::new()
                }
            }
        }
        KeyCode::Tab => {
            match cmdline::complete(input.value(), app.cluster.as_ref()) {
                Ok(line) => input = Input::new(line),
                Err(candidates) if !candidates.is_empty() => {
                    app.notify(candidates.join("  "), false);
                }
                Err(_) => app.notify("nothing to complete", false),
            }
            app.popup = Some(Popup::Command(input));
            Vec::new()
        }
        KeyCode::Up | KeyCode::Down => {
            if !app.history.is_empty() {
                let last = app.history.len() - 1;
                let cursor = match (key.code, app.history_cursor) {
                    (KeyCode::Up, None) => Some(last),
                    (KeyCode::Up, Some(at)) => Some(at.saturating_sub(1)),
                    (_, Some(at)) if at < last => Some(at + 1),
                    _ => None,
                };
                app.history_cursor = cursor;
                let text = cursor.map_or_else(String::new, |at| app.history[at].clone());
                input = Input::new(text);
            }
            app.popup = Some(Popup::Command(input));
            Vec::new()
        }
        _ => {
            input.handle_event(&TermEvent::Key(key));
            app.popup = Some(Popup::Command(input));
            Vec::new()
        }
    }
}

/// Starts an operation unless one is already running.
fn start(app: &mut App, operation: Operation) -> Vec<Command> {
    if let Some(running) = app.running {
        app.notify(
            format!(
                "{} is still running; wait for it or cancel it with Ctrl-C",
                running.as_str()
            ),
            true,
        );
        return Vec::new();
    }
    app.running = Some(operation.kind());
    app.notice = None;
    vec![Command::Start(operation)]
}
