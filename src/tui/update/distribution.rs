//! The shown cluster's distribution: asked for when a cluster is shown and
//! after an operation changed it, answers kept per cluster, and the
//! configs popup (scrolling, the "advanced" toggle).

use crossterm::event::{KeyCode, KeyEvent};

use crate::model::{OperationKind, Outcome};
use crate::tui::distribution::{Answer, Need};
use crate::tui::msg::Command;
use crate::tui::panels::configs;
use crate::tui::state::{App, Popup};

/// Asks for the shown cluster's distribution when `need` says it is due.
/// Only a recorded cluster that still exists can be described, and not
/// while an operation is changing it (its end asks again).
pub(super) fn describe_shown(app: &mut App, need: Need) -> Vec<Command> {
    let Some(shown) = app.cluster.as_ref() else {
        return Vec::new();
    };
    if !shown.was_recorded() || shown.is_gone() || app.running.is_some() {
        return Vec::new();
    }
    let cluster = shown.name.clone();
    match app.distributions.ask(&cluster, need) {
        Some(request) => vec![Command::LoadDistribution { cluster, request }],
        None => Vec::new(),
    }
}

pub(super) fn on_distribution(app: &mut App, cluster: &str, request: u64, answer: Answer) {
    if let Err(error) = &answer {
        tracing::warn!(%cluster, %error, "cannot describe the distribution");
    }
    app.distributions.answer(cluster, request, answer);
}

/// An operation on `cluster` ended. One that can change what its
/// distribution says (its spec, groups or nodes) makes the answer stale;
/// `run`, `debug`, `export` and `validate` change nothing of it, and a destroyed
/// cluster has nothing left to describe.
pub(super) fn after_operation(
    app: &mut App,
    operation: OperationKind,
    cluster: &str,
    outcome: Outcome,
) {
    match operation {
        OperationKind::Destroy if outcome == Outcome::Succeeded => {
            app.distributions.forget(cluster);
        }
        OperationKind::Up
        | OperationKind::DestroyNode
        | OperationKind::Scale
        | OperationKind::Stop
        | OperationKind::Start => app.distributions.invalidate(cluster),
        OperationKind::Run
        | OperationKind::Debug
        | OperationKind::Export
        | OperationKind::Validate
        | OperationKind::Gc
        | OperationKind::Doctor
        | OperationKind::Destroy => {}
    }
}

/// Opens the configs popup (`c`, `:configs`), asking for the distribution
/// again if the last try failed.
pub(super) fn open_configs(app: &mut App) -> Vec<Command> {
    if app.cluster.is_none() {
        app.notify(
            "no cluster is shown: pick one in the Clusters panel first",
            true,
        );
        return Vec::new();
    }
    app.popup = Some(Popup::Configs { scroll: 0 });
    describe_shown(app, Need::Retry)
}

/// Keys in the configs popup: `a` shows or hides the advanced configs,
/// arrows scroll, Esc / q / Enter / c close.
pub(super) fn on_configs_key(app: &mut App, scroll: usize, key: KeyEvent) {
    let last = configs::line_count(app).saturating_sub(1);
    let scroll = match key.code {
        KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q' | 'c') => return,
        KeyCode::Char('a') => {
            app.advanced_configs = !app.advanced_configs;
            0
        }
        KeyCode::Down | KeyCode::Char('j') => (scroll + 1).min(last),
        KeyCode::Up | KeyCode::Char('k') => scroll.saturating_sub(1),
        KeyCode::PageDown => (scroll + 10).min(last),
        KeyCode::PageUp => scroll.saturating_sub(10),
        KeyCode::Home | KeyCode::Char('g') => 0,
        KeyCode::End | KeyCode::Char('G') => last,
        _ => scroll,
    };
    app.popup = Some(Popup::Configs { scroll });
}
