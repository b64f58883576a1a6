//! `update(app, msg) -> commands`: every state change happens here, and only
//! here. It does no I/O; the commands it returns are the runner's to carry
//! out. One file per concern: keys, the command line, engine events, refresh.

mod command;
mod distribution;
mod engine;
mod keys;
mod refresh;
mod watch;

use crossterm::event::{Event as TermEvent, KeyEventKind};

use super::distribution::Need;
use super::msg::{Command, Msg};
use super::state::{App, Panel};

pub use refresh::refresh_changes;

pub fn update(app: &mut App, msg: Msg) -> Vec<Command> {
    match msg {
        Msg::Terminal(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => {
            keys::on_key(app, key)
        }
        Msg::Terminal(TermEvent::Mouse(mouse)) => keys::on_mouse(app, mouse),
        Msg::Terminal(TermEvent::Resize(width, height)) => {
            app.size = (width, height);
            Vec::new()
        }
        Msg::Terminal(_) => Vec::new(),
        Msg::Engine(event) => engine::on_event(app, event),
        Msg::Clusters(rows) => {
            app.clusters = rows;
            // A cluster `up` is creating, or one destroyed elsewhere, is not
            // (or no longer) in the list but is still what the user sees.
            let shown = app.cluster.as_ref().filter(|cluster| {
                (app.running.is_some() || cluster.is_gone())
                    && !app.clusters.iter().any(|row| row.name == cluster.name)
            });
            if shown.is_some() {
                refresh::sync_shown_row(app);
            }
            Vec::new()
        }
        Msg::Attached(view) => {
            app.selected[Panel::Groups.index()] = 0;
            app.selected[Panel::Progress.index()] = 0;
            app.selected[Panel::Checks.index()] = 0;
            app.notify(format!("showing cluster {}", view.name), false);
            app.cluster = Some(view);
            app.refresh_error = None;
            let mut commands = watch::watch_shown(app);
            commands.extend(distribution::describe_shown(app, Need::Retry));
            commands
        }
        Msg::Refreshed(view) => {
            refresh::on_refreshed(app, view);
            let mut commands = watch::watch_shown(app);
            commands.extend(distribution::describe_shown(app, Need::Unknown));
            commands
        }
        Msg::Distribution {
            cluster,
            request,
            answer,
        } => {
            distribution::on_distribution(app, &cluster, request, answer);
            Vec::new()
        }
        Msg::Watching { cluster } => watch::on_watching(app, cluster),
        Msg::NodeState {
            cluster,
            change,
            time,
        } => {
            watch::on_node_state(app, &cluster, change, time);
            Vec::new()
        }
        Msg::WatchEnded {
            cluster,
            reason,
            time,
        } => {
            watch::on_watch_ended(app, &cluster, reason, time);
            Vec::new()
        }
        Msg::RefreshFailed {
            cluster,
            error,
            gone,
            time,
        } => {
            refresh::on_refresh_failed(app, &cluster, error, gone, time);
            Vec::new()
        }
        Msg::OperationDone {
            operation,
            cluster,
            result,
        } => engine::on_done(app, operation, cluster, result),
        Msg::Backends(rows) => {
            app.backends = Some(rows);
            Vec::new()
        }
        Msg::Failed(error) => {
            app.notify(error, true);
            Vec::new()
        }
        Msg::Tick => Vec::new(),
    }
}
