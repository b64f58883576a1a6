//! Reducer tests of a session's outcome (the exit status), of the periodic
//! refresh noticing a vanished cluster or failing, and of the command line's
//! argument checks.

use crossterm::event::KeyCode;

use super::{app, draw, key, text, type_text};
use crate::engine::{Event, EventKind};
use crate::model::NodeState;
use crate::model::{OperationKind, Outcome};
use crate::tui::msg::{Command, Msg, NotRun, Operation};
use crate::tui::outcome::{Ending, ending};
use crate::tui::state::{App, ClusterView, DESTROYED, LogKind, Popup};
use crate::tui::update::{refresh_changes, update};

fn started(app: &mut App, operation: OperationKind, cluster: &str) {
    update(
        app,
        Msg::Engine(Event {
            time: "2026-11-23T10:00:06.000Z".into(),
            kind: EventKind::OperationStarted {
                operation,
                cluster: cluster.into(),
            },
        }),
    );
}

fn done(operation: OperationKind, cluster: &str, outcome: Outcome, reason: &str) -> Msg {
    Msg::OperationDone {
        operation,
        cluster: cluster.into(),
        result: Ok((
            outcome,
            Some(reason.into()).filter(|r: &String| !r.is_empty()),
        )),
    }
}

fn refresh_failed(app: &mut App, error: &str, gone: bool) -> Vec<Command> {
    update(
        app,
        Msg::RefreshFailed {
            cluster: "demo".into(),
            error: error.into(),
            gone,
            time: "2026-11-23T10:00:09.000Z".into(),
        },
    )
}

fn notice(app: &App) -> (String, bool) {
    let notice = app.notice.clone().expect("a notice");
    (notice.text, notice.error)
}

#[test]
fn a_session_ends_with_its_last_operation() {
    let mut app = App::default();
    assert_eq!(ending(&app, false), Ending::Succeeded, "nothing ran: 0");

    app.running = Some(OperationKind::Up);
    started(&mut app, OperationKind::Up, "quickstart");
    update(
        &mut app,
        done(
            OperationKind::Up,
            "quickstart",
            Outcome::Failed,
            "1 node(s) failed: agents-2",
        ),
    );
    let line = "up quickstart: failed: 1 node(s) failed: agents-2";
    assert_eq!(ending(&app, false), Ending::Failed(line.into()));
    assert_eq!(
        notice(&app),
        (line.into(), true),
        "the status line says it too"
    );

    // An engine error (no report at all) is a failure too.
    app.running = Some(OperationKind::Run);
    update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Run,
            cluster: "quickstart".into(),
            result: Err(NotRun::failed("cluster \"quickstart\" is busy")),
        },
    );
    assert_eq!(
        ending(&app, false),
        Ending::Failed("run quickstart: failed: cluster \"quickstart\" is busy".into())
    );
    // One that could not start for bad input ends as the CLI's exit 2.
    app.running = Some(OperationKind::Up);
    update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Up,
            cluster: "spec.yaml".into(),
            result: Err(NotRun {
                error: "cluster \"quickstart\" already exists".into(),
                bad_input: true,
            }),
        },
    );
    assert_eq!(
        ending(&app, false),
        Ending::BadInput("up spec.yaml: failed: cluster \"quickstart\" already exists".into())
    );

    // The last operation decides: a later success makes the session a success.
    app.running = Some(OperationKind::Debug);
    update(
        &mut app,
        done(OperationKind::Debug, "quickstart", Outcome::Succeeded, ""),
    );
    assert_eq!(ending(&app, false), Ending::Succeeded);
    assert_eq!(notice(&app), ("debug succeeded".into(), false));

    // SIGTERM on an idle dashboard is still a cancellation (130).
    assert_eq!(
        ending(&app, true),
        Ending::Cancelled("the dashboard was stopped by SIGTERM".into())
    );
}

#[test]
fn quitting_during_an_operation_ends_cancelled() {
    let mut app = app();
    app.running = Some(OperationKind::Up);
    update(&mut app, key(KeyCode::Char('q')));
    assert_eq!(
        update(&mut app, key(KeyCode::Char('y'))),
        vec![Command::Cancel]
    );
    assert!(app.should_quit);
    // An operation that never reports its end is counted as cancelled.
    assert!(matches!(
        ending(&app, false),
        Ending::Cancelled(line) if line.starts_with("up demo: cancelled: it did not stop in time")
    ));
    // The cancelled up reports while the dashboard shuts down.
    update(
        &mut app,
        done(
            OperationKind::Up,
            "demo",
            Outcome::Cancelled,
            "cancelled by the user",
        ),
    );
    let line = "up demo: cancelled: cancelled by the user";
    assert_eq!(ending(&app, false), Ending::Cancelled(line.into()));
    assert_eq!(ending(&app, true), Ending::Cancelled(line.into()));
}

#[test]
fn the_quit_question_closes_when_the_operation_ends() {
    let mut app = app();
    app.running = Some(OperationKind::Up);
    update(&mut app, key(KeyCode::Char('q')));
    assert!(matches!(app.popup, Some(Popup::ConfirmQuit)));
    update(
        &mut app,
        done(OperationKind::Up, "demo", Outcome::Succeeded, ""),
    );
    assert!(app.popup.is_none(), "{:?}", app.popup);
    // A plain q now quits without asking.
    update(&mut app, key(KeyCode::Char('q')));
    assert!(app.should_quit);
    assert!(app.popup.is_none());
}

#[test]
fn operations_keep_their_own_names() {
    let cases = [
        (
            Operation::Validate {
                cluster: "demo".into(),
            },
            OperationKind::Validate,
        ),
        (
            Operation::Debug {
                cluster: "demo".into(),
            },
            OperationKind::Debug,
        ),
        (
            Operation::DestroyNode {
                cluster: "demo".into(),
                node: "agents-1".into(),
            },
            OperationKind::DestroyNode,
        ),
        (
            Operation::Destroy {
                cluster: "demo".into(),
            },
            OperationKind::Destroy,
        ),
    ];
    for (operation, kind) in cases {
        assert_eq!(operation.kind(), kind, "{operation:?}");
        assert_eq!(crate::tui::msg::subject(&operation), "demo");
    }

    let mut app = app();
    type_text(&mut app, ":validate");
    update(&mut app, key(KeyCode::Enter));
    assert_eq!(app.running, Some(OperationKind::Validate));
    update(
        &mut app,
        done(
            OperationKind::Validate,
            "demo",
            Outcome::Failed,
            "1 validator(s) failed",
        ),
    );
    assert_eq!(
        notice(&app),
        ("validate demo: failed: 1 validator(s) failed".into(), true)
    );

    // Removing one node leaves the cluster shown (only `destroy` hides it).
    app.running = Some(OperationKind::DestroyNode);
    update(
        &mut app,
        done(OperationKind::DestroyNode, "demo", Outcome::Succeeded, ""),
    );
    assert!(app.cluster.is_some());
    assert_eq!(notice(&app), ("destroy-node succeeded".into(), false));
}

#[test]
fn the_clusters_panel_lists_the_cluster_up_is_creating() {
    let mut app = App {
        running: Some(OperationKind::Up),
        ..App::default()
    };
    // The list loaded at start, before the record existed, is empty.
    update(&mut app, Msg::Clusters(Vec::new()));
    started(&mut app, OperationKind::Up, "quickstart");
    let screen = text(&draw(80, 24, &app, None));
    assert!(!screen.contains("no clusters"), "{screen}");
    assert!(screen.contains("▸ quickstart       creating"), "{screen}");
    // A reload while it is still being created keeps it listed.
    update(&mut app, Msg::Clusters(Vec::new()));
    assert_eq!(app.clusters.len(), 1);
    assert_eq!(app.clusters[0].status, "creating");
}

#[test]
fn a_refresh_fills_in_the_backend_so_scale_names_it() {
    let mut app = App {
        running: Some(OperationKind::Up),
        ..App::default()
    };
    started(&mut app, OperationKind::Up, "demo");
    update(
        &mut app,
        Msg::Engine(Event {
            time: "2026-11-23T10:00:06.000Z".into(),
            kind: EventKind::Plan {
                nodes: vec![crate::engine::PlannedNode {
                    name: "agents-1".into(),
                    group: "agents".into(),
                    roles: vec!["agent".into()],
                }],
            },
        }),
    );
    update(
        &mut app,
        done(OperationKind::Up, "demo", Outcome::Succeeded, ""),
    );
    let record = ClusterView {
        name: "demo".into(),
        backend: "local".into(),
        status: "ready".into(),
        capabilities: vec!["create", "destroy", "scale"],
        groups: vec!["agents".into()],
        roles: vec!["agent".into()],
        ..ClusterView::default()
    };
    assert!(refresh_changes(&app, &record));
    update(&mut app, Msg::Refreshed(record.clone()));
    assert!(
        !refresh_changes(&app, &record),
        "applied once, nothing more changes"
    );
    assert_eq!(app.clusters[0].backend, "local");
    // :scale is the engine's Scale operation, as `clusterdeck scale` is.
    type_text(&mut app, ":scale agents 4");
    assert_eq!(
        update(&mut app, key(KeyCode::Enter)),
        vec![Command::Start(Operation::Scale {
            cluster: "demo".into(),
            group: "agents".into(),
            count: 4
        })]
    );
    assert_eq!(app.running, Some(OperationKind::Scale));
    // The engine's refusal (here: what an ssh cluster gets) is shown as is.
    update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Scale,
            cluster: "demo".into(),
            result: Err(NotRun {
                error: "backend ssh cannot scale (it has no capabilities)".into(),
                bad_input: true,
            }),
        },
    );
    let (text, error) = notice(&app);
    assert!(error);
    assert!(
        text.contains("backend ssh cannot scale (it has no capabilities)"),
        "{text}"
    );
    assert_eq!(app.running, None);
}

#[test]
fn a_cluster_destroyed_elsewhere_is_shown_as_destroyed() {
    let mut app = app();
    assert_eq!(app.refresh_target(), Some("demo"));
    refresh_failed(&mut app, "no cluster named \"demo\"", true);
    let cluster = app.cluster.as_ref().expect("still shown");
    assert_eq!(cluster.status, DESTROYED);
    assert!(
        cluster
            .nodes
            .iter()
            .all(|node| node.state == Some(NodeState::Destroyed))
    );
    assert_eq!(app.clusters[0].status, DESTROYED);
    let (text, error) = notice(&app);
    assert_eq!(text, "cluster demo is gone: it was destroyed elsewhere");
    assert!(error);
    let last = app.log.back().expect("log line");
    assert_eq!(
        (last.text.as_str(), last.kind),
        (text.as_str(), LogKind::Warning)
    );
    assert_eq!(app.refresh_target(), None, "no more refreshes of it");

    let screen = text_of(&app);
    assert!(screen.contains("[destroyed]"), "{screen}");
    assert!(!screen.contains("[running]"), "{screen}");
    assert!(screen.contains("demo             destroyed"), "{screen}");

    // A reload of the list (which no longer has it) keeps it marked.
    update(&mut app, Msg::Clusters(Vec::new()));
    assert_eq!(app.clusters.len(), 1);
    assert_eq!(app.clusters[0].status, DESTROYED);
    // Nothing can be run on it any more.
    type_text(&mut app, ":debug");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(notice(&app).0.contains("was destroyed"));
}

fn text_of(app: &App) -> String {
    text(&draw(120, 30, app, None))
}

#[test]
fn refresh_errors_reach_the_status_line_and_the_log_once() {
    let mut app = app();
    let lines = app.log.len();
    refresh_failed(&mut app, "node agents-1: connection refused", false);
    refresh_failed(&mut app, "node agents-1: connection refused", false);
    let (text, error) = notice(&app);
    assert_eq!(
        text,
        "cannot refresh demo: node agents-1: connection refused"
    );
    assert!(error);
    assert_eq!(app.log.len(), lines + 1, "a lasting error is logged once");
    assert_eq!(app.log.back().map(|line| line.kind), Some(LogKind::Error));
    assert!(text_of(&app).contains("cannot refresh demo"));

    // A different error is logged; a working refresh clears the memory.
    refresh_failed(&mut app, "node agents-2: timed out", false);
    assert_eq!(app.log.len(), lines + 2);
    let fresh = app.cluster.clone().expect("cluster");
    update(&mut app, Msg::Refreshed(fresh));
    assert_eq!(app.refresh_error, None);

    // A late answer while an operation runs is not taken for the truth.
    app.running = Some(OperationKind::Run);
    refresh_failed(&mut app, "late", true);
    assert_eq!(
        app.cluster.as_ref().map(|c| c.status.as_str()),
        Some("creating")
    );
}

#[test]
fn a_node_removed_elsewhere_is_shown_destroyed_on_refresh() {
    let mut app = app();
    let mut fresh = app.cluster.clone().expect("cluster");
    fresh.nodes.retain(|node| node.name != "agents-1");
    assert!(refresh_changes(&app, &fresh));
    update(&mut app, Msg::Refreshed(fresh));
    let cluster = app.cluster.as_ref().expect("cluster");
    let state = |name: &str| {
        cluster
            .nodes
            .iter()
            .find(|node| node.name == name)
            .and_then(|node| node.state)
    };
    assert_eq!(state("agents-1"), Some(NodeState::Destroyed));
    assert_eq!(state("masters-1"), Some(NodeState::Running));
    assert_eq!(
        state("agents-3"),
        None,
        "a node never created stays planned"
    );
}

#[test]
fn every_command_checks_its_arguments() {
    let cluster = app().cluster.expect("cluster");
    let parse = |line: &str| crate::tui::cmdline::parse(line, Some(&cluster));
    for (line, usage) in [
        ("debug extra args", "usage: debug"),
        ("validate now", "usage: validate"),
        ("destroy demo", "usage: destroy"),
        ("destroy-node", "usage: destroy-node <node>"),
        (
            "destroy-node agents-1 agents-2",
            "usage: destroy-node <node>",
        ),
        ("scale agents", "usage: scale <group> <count>"),
        ("scale agents 3 4", "usage: scale <group> <count>"),
        ("run", "usage: run <role|group|node|all> <command>"),
        ("run all", "usage: run <role|group|node|all> <command>"),
    ] {
        assert_eq!(parse(line), Err(usage.to_owned()), "{line}");
    }
    assert_eq!(
        parse("debug"),
        Ok(Operation::Debug {
            cluster: "demo".into()
        })
    );
    assert_eq!(
        parse("destroy-node  agents-1 "),
        Ok(Operation::DestroyNode {
            cluster: "demo".into(),
            node: "agents-1".into()
        })
    );
}

#[test]
fn an_up_that_created_nothing_is_not_called_destroyed() {
    let mut app = App {
        running: Some(OperationKind::Up),
        ..App::default()
    };
    started(&mut app, OperationKind::Up, "demo");
    let commands = update(
        &mut app,
        done(
            OperationKind::Up,
            "demo",
            Outcome::Failed,
            "1 validator(s) failed; nothing was created",
        ),
    );
    assert_eq!(
        commands,
        vec![Command::LoadClusters, Command::Refresh("demo".into())]
    );
    update(&mut app, Msg::Clusters(Vec::new()));
    refresh_failed(&mut app, "no cluster named \"demo\"", true);
    assert_eq!(
        app.cluster.as_ref().map(|cluster| cluster.status.as_str()),
        Some(crate::tui::state::NOT_CREATED)
    );
    assert_eq!(
        notice(&app).0,
        "up demo: failed: 1 validator(s) failed; nothing was created",
        "the up's own line stays"
    );
    assert_eq!(app.refresh_target(), None);
    assert_eq!(app.clusters[0].status, "not created");
}

#[test]
fn gc_runs_from_any_view_and_keeps_the_shown_cluster() {
    let mut app = app();
    type_text(&mut app, ":gc --yes");
    assert_eq!(
        update(&mut app, key(KeyCode::Enter)),
        vec![Command::Start(Operation::Gc { apply: true })]
    );
    started(&mut app, OperationKind::Gc, "(all clusters)");
    assert_eq!(app.running, Some(OperationKind::Gc));
    assert_eq!(
        app.cluster.as_ref().map(|cluster| cluster.name.as_str()),
        Some("demo"),
        "gc works on no one cluster: the shown one stays"
    );
    update(
        &mut app,
        done(OperationKind::Gc, "(all clusters)", Outcome::Succeeded, ""),
    );
    assert_eq!(app.running, None);
    assert_eq!(notice(&app), ("gc succeeded".to_owned(), false));
}
