//! Live node states: a shown cluster whose backend can `watch` is followed
//! through its event stream instead of only by periodic refreshes; each
//! change lands on its node at once, and a broken watch hands back to the
//! refreshes.

use crate::model::{NodeState, NodeStateChange};
use crate::tui::msg::Command;
use crate::tui::state::{App, LogKind, LogLine, Watch};

/// The capability name a backend's listing gives when it can watch.
const WATCH: &str = "watch";

/// Asks for a watch of the shown cluster when its backend can and none is
/// asked for or live yet.
pub(super) fn watch_shown(app: &mut App) -> Vec<Command> {
    let Some(shown) = app.cluster.as_ref() else {
        return Vec::new();
    };
    if shown.is_gone()
        || !shown.capabilities.contains(&WATCH)
        || app.watch.cluster() == Some(shown.name.as_str())
    {
        return Vec::new();
    }
    app.watch = Watch::Asked(shown.name.clone());
    vec![Command::Watch(shown.name.clone())]
}

/// The watch is live: what changed between the last look and the
/// subscription is caught by one more refresh.
pub(super) fn on_watching(app: &mut App, cluster: String) -> Vec<Command> {
    if app.watch != Watch::Asked(cluster.clone()) {
        return Vec::new();
    }
    app.watch = Watch::Live(cluster.clone());
    app.watch_error = None;
    vec![Command::Refresh(cluster)]
}

/// One node changed: shown at once, and logged when it is news.
pub(super) fn on_node_state(app: &mut App, cluster: &str, change: NodeStateChange, time: String) {
    let Some(node) = app
        .cluster
        .as_mut()
        .filter(|shown| shown.name == cluster && !shown.is_gone())
        .and_then(|shown| shown.node_mut(&change.node))
    else {
        return;
    };
    if node.state == Some(change.state) {
        return;
    }
    node.state = Some(change.state);
    let kind = match change.state {
        NodeState::Exited | NodeState::Failed => LogKind::Warning,
        _ => LogKind::Info,
    };
    app.push_log(LogLine {
        time,
        node: Some(change.node.clone()),
        text: format!("{} is {} (seen live)", change.node, change.state.as_str()),
        kind,
    });
}

/// The watch ended: refreshes take over; a lasting reason is logged once.
pub(super) fn on_watch_ended(app: &mut App, cluster: &str, reason: String, time: String) {
    if app.watch.cluster() != Some(cluster) {
        return;
    }
    app.watch = Watch::Off;
    if app.watch_error.as_ref() == Some(&reason) {
        return;
    }
    let text = format!("live node states of {cluster} stopped: {reason}; refreshing every 2s");
    app.push_log(LogLine {
        time,
        node: None,
        text: text.clone(),
        kind: LogKind::Warning,
    });
    app.notify(text, true);
    app.watch_error = Some(reason);
}
