//! Engine events and the end of an operation, folded into the view, the
//! log and the session's outcome.

use super::refresh::sync_shown_row;
use crate::engine::{Event, EventKind};
use crate::headless::describe;
use crate::model::NodeState;
use crate::model::{OperationKind, Outcome, StepStatus};
use crate::tui::msg::{Command, NotRun};
use crate::tui::outcome::Finished;
use crate::tui::state::{App, ClusterView, LogKind, LogLine, NodeView, Popup};

/// Folds one engine event into the view and the log.
pub(super) fn on_event(app: &mut App, event: Event) -> Vec<Command> {
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
            // `gc` and `doctor` work on the state directory, not on a
            // cluster to show.
            let on_a_cluster = !matches!(operation, OperationKind::Gc | OperationKind::Doctor);
            if on_a_cluster
                && app
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
            sync_shown_row(app);
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
            sync_shown_row(app);
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
        EventKind::Output { .. }
        | EventKind::OutputDropped { .. }
        | EventKind::Warning { .. }
        | EventKind::ResourceDestroyed { .. }
        | EventKind::BundleWritten { .. } => {}
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

/// An operation ended: its outcome is noticed and remembered for the exit
/// status, and the lists reloaded (a refresh of the shown cluster fills in
/// what its record knows and the events did not say, such as its backend).
pub(super) fn on_done(
    app: &mut App,
    operation: OperationKind,
    cluster: String,
    result: Result<(Outcome, Option<String>), NotRun>,
) -> Vec<Command> {
    app.running = None;
    if matches!(app.popup, Some(Popup::ConfirmQuit)) {
        // Nothing is left to cancel: no reason to ask any more.
        app.popup = None;
    }
    let (outcome, reason, bad_input) = match result {
        Ok((outcome, reason)) => (outcome, reason, false),
        Err(not_run) => (Outcome::Failed, Some(not_run.error), not_run.bad_input),
    };
    let finished = Finished {
        operation,
        cluster,
        outcome,
        reason,
        bad_input,
    };
    match outcome {
        Outcome::Succeeded => {
            app.notify(format!("{} succeeded", operation.as_str()), false);
            if operation == OperationKind::Destroy {
                // The cluster is gone: show none rather than a stale one,
                // and a cluster of the same name made later is watched anew
                // (its uid, which the watch follows, is another).
                app.cluster = None;
                app.watch = crate::tui::state::Watch::Off;
            }
        }
        Outcome::Failed | Outcome::Cancelled => app.notify(finished.line(), true),
    }
    super::distribution::after_operation(app, operation, &finished.cluster, outcome);
    app.last_finished = Some(finished);
    let mut commands = vec![Command::LoadClusters];
    if let Some(name) = app.refresh_target() {
        commands.push(Command::Refresh(name.to_owned()));
    }
    commands
}
