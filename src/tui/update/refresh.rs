//! The periodic refresh of the shown cluster: fresh node states merged in,
//! a cluster destroyed elsewhere shown as such, refresh errors shown on
//! screen (status line and log), not only in the log file.

use crate::model::NodeState;
use crate::tui::state::{App, ClusterRow, ClusterView, DESTROYED, LogKind, LogLine, NOT_CREATED};

pub(super) fn on_refreshed(app: &mut App, view: ClusterView) {
    let Some(merged) = merged(app, &view) else {
        return;
    };
    app.cluster = Some(merged);
    app.refresh_error = None;
    sync_shown_row(app);
}

/// Whether a refresh would change what is shown.
pub fn refresh_changes(app: &App, view: &ClusterView) -> bool {
    merged(app, view).is_some_and(|merged| Some(&merged) != app.cluster.as_ref())
        || app.refresh_error.is_some()
}

/// The shown cluster with a fresh record's view merged in, or `None` when
/// the view is not for it or an operation is changing it. The record is
/// authoritative for status, backend and spec; events carry the install
/// progress, which the record lacks, so that stays.
fn merged(app: &App, view: &ClusterView) -> Option<ClusterView> {
    let shown = app.cluster.as_ref()?;
    if shown.name != view.name || app.running.is_some() || shown.is_gone() {
        return None;
    }
    let mut cluster = shown.clone();
    cluster.status.clone_from(&view.status);
    cluster.backend.clone_from(&view.backend);
    cluster.capabilities.clone_from(&view.capabilities);
    cluster.roles.clone_from(&view.roles);
    cluster.groups.clone_from(&view.groups);
    for node in &mut cluster.nodes {
        match view.nodes.iter().find(|fresh| fresh.name == node.name) {
            Some(fresh) => {
                node.state = fresh.state;
                node.address.clone_from(&fresh.address);
            }
            // Created once, now out of the record: removed elsewhere.
            None if node.state.is_some() => node.state = Some(NodeState::Destroyed),
            None => {}
        }
    }
    for fresh in &view.nodes {
        if !cluster.nodes.iter().any(|node| node.name == fresh.name) {
            cluster.nodes.push(fresh.clone());
        }
    }
    Some(cluster)
}

pub(super) fn on_refresh_failed(
    app: &mut App,
    name: &str,
    error: String,
    gone: bool,
    time: String,
) {
    if app.running.is_some() {
        return;
    }
    let Some(cluster) = app.cluster.as_mut().filter(|shown| shown.name == name) else {
        return;
    };
    if gone {
        if cluster.is_gone() {
            return;
        }
        if !cluster.was_recorded() {
            // `up` stopped before recording it: nothing was destroyed, and
            // the operation's own line already says why.
            NOT_CREATED.clone_into(&mut cluster.status);
            sync_shown_row(app);
            return;
        }
        DESTROYED.clone_into(&mut cluster.status);
        for node in &mut cluster.nodes {
            node.state = Some(NodeState::Destroyed);
        }
        let text = format!("cluster {name} is gone: it was destroyed elsewhere");
        app.refresh_error = None;
        app.push_log(LogLine {
            time,
            node: None,
            text: text.clone(),
            kind: LogKind::Warning,
        });
        app.notify(text, true);
        sync_shown_row(app);
        return;
    }
    let text = format!("cannot refresh {name}: {error}");
    // A lasting problem is logged once; the status line keeps showing it.
    if app.refresh_error.as_ref() != Some(&error) {
        app.push_log(LogLine {
            time,
            node: None,
            text: text.clone(),
            kind: LogKind::Error,
        });
        app.refresh_error = Some(error);
    }
    app.notify(text, true);
}

/// Keeps the Clusters panel's row of the shown cluster in step with it, and
/// lists it while `up` creates it (before its record is in the list).
pub(super) fn sync_shown_row(app: &mut App) {
    let Some(cluster) = &app.cluster else {
        return;
    };
    let row = ClusterRow {
        name: cluster.name.clone(),
        backend: cluster.backend.clone(),
        nodes: cluster.nodes.len(),
        status: cluster.status.clone(),
        capabilities: cluster.capabilities.clone(),
    };
    match app.clusters.iter_mut().find(|known| known.name == row.name) {
        Some(known) => {
            known.status = row.status;
            if !row.backend.is_empty() {
                known.backend = row.backend;
                known.capabilities = row.capabilities;
            }
            if row.nodes > 0 {
                known.nodes = row.nodes;
            }
        }
        None => app.clusters.push(row),
    }
}
