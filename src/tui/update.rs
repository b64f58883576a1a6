//! `update(app, msg) -> commands`: every state change happens here, and only
//! here. It does no I/O; the commands it returns are the runner's to carry out.

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent,
    MouseEventKind,
};
use ratatui::layout::Rect;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler;

use super::cmdline;
use super::layout::{areas, inner_height, window_start};
use super::msg::{Command, Msg, Operation};
use super::panels::{self, checks};
use super::state::{App, ClusterView, LogKind, LogLine, NodeView, Panel, Popup};
use crate::engine::{Event, EventKind, OperationKind, Outcome, StepStatus};
use crate::headless::describe;
use crate::node::NodeState;

pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Terminal(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => on_key(app, key),
        Msg::Terminal(TermEvent::Mouse(mouse)) => on_mouse(app, mouse),
        Msg::Terminal(TermEvent::Resize(width, height)) => {
            app.size = (width, height);
            Vec::new()
        }
        Msg::Terminal(_) => Vec::new(),
        Msg::Engine(event) => on_event(app, event),
        Msg::Clusters(rows) => {
            app.clusters = rows;
            Vec::new()
        }
        Msg::Attached(view) => {
            app.selected[Panel::Groups.index()] = 0;
            app.selected[Panel::Progress.index()] = 0;
            app.selected[Panel::Checks.index()] = 0;
            app.notify(format!("showing cluster {}", view.name), false);
            app.cluster = Some(view);
            Vec::new()
        }
        Msg::Refreshed(view) => {
            if let Some(cluster) = &mut app.cluster
                && cluster.name == view.name
                && app.running.is_none()
            {
                cluster.status = view.status;
                for fresh in view.nodes {
                    if let Some(node) = cluster.node_mut(&fresh.name) {
                        node.state = fresh.state;
                        node.address = fresh.address;
                    }
                }
            }
            Vec::new()
        }
        Msg::OperationDone { operation, result } => {
            app.running = None;
            match result {
                Ok((Outcome::Succeeded, _)) => {
                    app.notify(format!("{} succeeded", operation.as_str()), false);
                    if operation == OperationKind::Destroy {
                        // The cluster is gone: show none rather than a stale one.
                        app.cluster = None;
                    }
                }
                Ok((outcome, reason)) => app.notify(
                    format!(
                        "{} {}: {}",
                        operation.as_str(),
                        if outcome == Outcome::Cancelled {
                            "cancelled"
                        } else {
                            "failed"
                        },
                        reason.unwrap_or_default()
                    ),
                    true,
                ),
                Err(error) => app.notify(format!("{} failed: {error}", operation.as_str()), true),
            }
            vec![Command::LoadClusters]
        }
        Msg::Failed(error) => {
            app.notify(error, true);
            Vec::new()
        }
        Msg::Tick => Vec::new(),
    }
}

/// Folds one engine event into the view and the log.
fn on_event(app: &mut App, event: Event) -> Vec<Command> {
    for (node, text) in describe(&event.kind) {
        let kind = match &event.kind {
            EventKind::Output { stream, .. } => LogKind::from(*stream),
            EventKind::Warning { .. } | EventKind::OutputDropped { .. } => LogKind::Warning,
            EventKind::Error { .. } => LogKind::Error,
            EventKind::StepFinished { status, .. } if *status != StepStatus::Ok => LogKind::Error,
            _ => LogKind::Info,
        };
        let text = match &event.kind {
            EventKind::Output { line, .. } => line.clone(),
            _ => text,
        };
        app.push_log(LogLine {
            time: event.time.clone(),
            node: node.map(str::to_owned),
            text,
            kind,
        });
    }
    let started = humantime::parse_rfc3339(&event.time).ok();
    match event.kind {
        EventKind::OperationStarted { operation, cluster } => {
            app.running = Some(operation);
            if app
                .cluster
                .as_ref()
                .is_none_or(|shown| shown.name != cluster)
            {
                app.cluster = Some(ClusterView {
                    name: cluster,
                    status: "creating".to_owned(),
                    ..ClusterView::default()
                });
            }
        }
        EventKind::Plan { nodes } => {
            if let Some(cluster) = &mut app.cluster {
                for planned in nodes {
                    if cluster.node_mut(&planned.name).is_none() {
                        cluster.nodes.push(NodeView::planned(
                            &planned.name,
                            &planned.group,
                            &planned.roles,
                        ));
                    }
                    if !cluster.groups.contains(&planned.group) {
                        cluster.groups.push(planned.group.clone());
                    }
                    for role in planned.roles {
                        if !cluster.roles.contains(&role) {
                            cluster.roles.push(role);
                        }
                    }
                }
                cluster.roles.sort();
            }
        }
        EventKind::NodeCreated { node } => {
            if let Some(cluster) = &mut app.cluster {
                if cluster.node_mut(&node.name).is_none() {
                    cluster
                        .nodes
                        .push(NodeView::planned(&node.name, &node.group, &node.roles));
                }
                if let Some(view) = cluster.node_mut(&node.name) {
                    view.state = Some(node.state);
                    view.address = node.addresses.join(" ");
                }
            }
        }
        EventKind::NodeDestroyed { node } => {
            if let Some(view) = app
                .cluster
                .as_mut()
                .and_then(|cluster| cluster.node_mut(&node))
            {
                view.state = Some(NodeState::Destroyed);
            }
        }
        EventKind::StepStarted { node, step } => {
            if let Some(view) = app
                .cluster
                .as_mut()
                .and_then(|cluster| cluster.node_mut(&node))
            {
                view.step = Some(step);
                view.step_started = started;
                view.step_status = None;
                view.step_elapsed_ms = None;
                view.percent = None;
                view.message = None;
                view.error = None;
            }
        }
        EventKind::StepProgress {
            node,
            percent,
            message,
            ..
        } => {
            if let Some(view) = app
                .cluster
                .as_mut()
                .and_then(|cluster| cluster.node_mut(&node))
            {
                if percent.is_some() {
                    view.percent = percent;
                }
                if message.is_some() {
                    view.message = message;
                }
            }
        }
        EventKind::StepFinished {
            node,
            status,
            elapsed_ms,
            error,
            ..
        } => {
            if let Some(view) = app
                .cluster
                .as_mut()
                .and_then(|cluster| cluster.node_mut(&node))
            {
                view.step_status = Some(status);
                view.step_elapsed_ms = Some(elapsed_ms);
                if status == StepStatus::Ok {
                    view.percent = Some(100);
                } else {
                    view.error = Some(error.unwrap_or_else(|| format!("{status:?}")));
                    view.state = Some(NodeState::Failed);
                }
            }
        }
        EventKind::CheckResult { result } => {
            if let Some(cluster) = &mut app.cluster {
                // A re-run replaces the earlier result of the same check on the same node.
                cluster.checks.retain(|earlier| {
                    !(earlier.kind == result.kind
                        && earlier.name == result.name
                        && earlier.node == result.node)
                });
                cluster.checks.push(result);
            }
        }
        EventKind::Error { message, .. } => app.notify(message, true),
        EventKind::Output { .. } | EventKind::OutputDropped { .. } | EventKind::Warning { .. } => {}
        EventKind::OperationFinished { outcome, .. } => {
            if let Some(cluster) = &mut app.cluster {
                cluster.status = match outcome {
                    Outcome::Succeeded => "ready",
                    Outcome::Failed => "degraded",
                    Outcome::Cancelled => "cancelled",
                }
                .to_owned();
            }
        }
    }
    Vec::new()
}

fn on_key(app: &mut App, key: KeyEvent) -> Vec<Command> {
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

fn on_command_key(app: &mut App, mut input: Input, key: KeyEvent) -> Vec<Command> {
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

fn on_mouse(app: &mut App, mouse: MouseEvent) -> Vec<Command> {
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

/// Whether a refresh would change what is shown.
pub fn refresh_changes(app: &App, view: &ClusterView) -> bool {
    let Some(cluster) = &app.cluster else {
        return false;
    };
    if cluster.name != view.name || app.running.is_some() {
        return false;
    }
    cluster.status != view.status
        || view.nodes.iter().any(|fresh| {
            cluster
                .nodes
                .iter()
                .find(|node| node.name == fresh.name)
                .is_some_and(|node| node.state != fresh.state || node.address != fresh.address)
        })
}
