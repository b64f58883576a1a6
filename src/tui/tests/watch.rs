//! Reducer tests of live node states: a shown cluster whose backend can
//! watch is followed, each change reaches its node and the groups panel,
//! and a broken watch hands back to the refreshes.

use ratatui::style::Color;

use super::{app, draw, find, text};
use crate::model::{NodeState, NodeStateChange};
use crate::tui::msg::{Command, Msg};
use crate::tui::state::{App, ClusterView, LogKind, Panel, Watch};
use crate::tui::update::update;

/// The test cluster, recorded (backend known) and able to watch.
fn watchable() -> ClusterView {
    let mut view = app().cluster.expect("cluster");
    view.backend = "docker".into();
    view.status = "ready".into();
    view.capabilities = vec!["create", "destroy", "watch"];
    view
}

fn changed(node: &str, state: NodeState) -> Msg {
    Msg::NodeState {
        cluster: "demo".into(),
        change: NodeStateChange {
            node: node.into(),
            state,
        },
        time: "2026-11-23T10:00:09.000Z".into(),
    }
}

fn state_of(app: &App, name: &str) -> Option<NodeState> {
    app.cluster
        .as_ref()
        .and_then(|cluster| cluster.nodes.iter().find(|node| node.name == name))
        .and_then(|node| node.state)
}

#[test]
fn attaching_to_a_watchable_cluster_asks_once_and_resyncs_when_live() {
    let mut app = App::default();
    let commands = update(&mut app, Msg::Attached(watchable()));
    assert_eq!(
        commands,
        vec![
            Command::Watch("demo".into()),
            Command::LoadDistribution {
                cluster: "demo".into(),
                request: 1
            }
        ]
    );
    assert_eq!(app.watch, Watch::Asked("demo".into()));
    assert!(
        update(&mut app, Msg::Refreshed(watchable())).is_empty(),
        "a refresh while the watch is asked for does not ask again"
    );
    let commands = update(
        &mut app,
        Msg::Watching {
            cluster: "demo".into(),
        },
    );
    assert_eq!(
        commands,
        vec![Command::Refresh("demo".into())],
        "what changed before the subscription is caught by one refresh"
    );
    assert!(app.watching_shown());

    let mut unwatchable = App::default();
    let mut view = watchable();
    view.capabilities = vec!["create", "destroy"];
    assert_eq!(
        update(&mut unwatchable, Msg::Attached(view)),
        vec![Command::LoadDistribution {
            cluster: "demo".into(),
            request: 1
        }]
    );
    assert_eq!(unwatchable.watch, Watch::Off);
}

#[test]
fn a_node_killed_from_outside_shows_exited_in_the_groups_panel() {
    let mut app = App {
        size: (80, 24),
        ..App::default()
    };
    update(&mut app, Msg::Attached(watchable()));
    update(
        &mut app,
        Msg::Watching {
            cluster: "demo".into(),
        },
    );
    assert_eq!(state_of(&app, "masters-1"), Some(NodeState::Running));
    assert!(update(&mut app, changed("masters-1", NodeState::Exited)).is_empty());
    assert_eq!(state_of(&app, "masters-1"), Some(NodeState::Exited));
    let line = app.log.back().expect("a log line");
    assert_eq!(line.text, "masters-1 is exited (seen live)");
    assert_eq!(line.kind, LogKind::Warning);
    let lines = app.log.len();
    update(&mut app, changed("masters-1", NodeState::Exited));
    assert_eq!(app.log.len(), lines, "the same state again is no news");

    let buffer = draw(80, 8, &app, Some(Panel::Groups));
    let shown = text(&buffer);
    assert!(shown.contains("masters-1"), "{shown}");
    let badge = find(&buffer, 2, "[exited]");
    assert_eq!(buffer[badge].fg, Color::Red, "{shown}");

    update(&mut app, changed("masters-1", NodeState::Running));
    assert_eq!(state_of(&app, "masters-1"), Some(NodeState::Running));
    update(&mut app, changed("nobody-9", NodeState::Exited));
    assert!(
        app.cluster
            .as_ref()
            .expect("cluster")
            .nodes
            .iter()
            .all(|node| node.name != "nobody-9"),
        "a node the view does not know is not invented"
    );
    let mut other = changed("masters-1", NodeState::Stopped);
    if let Msg::NodeState { cluster, .. } = &mut other {
        *cluster = "other".into();
    }
    update(&mut app, other);
    assert_eq!(
        state_of(&app, "masters-1"),
        Some(NodeState::Running),
        "another cluster's change is not applied to the shown one"
    );
}

#[test]
fn a_destroyed_cluster_is_watched_anew_when_made_again() {
    let mut app = App::default();
    update(&mut app, Msg::Attached(watchable()));
    update(
        &mut app,
        Msg::Watching {
            cluster: "demo".into(),
        },
    );
    app.running = Some(crate::model::OperationKind::Destroy);
    update(
        &mut app,
        Msg::OperationDone {
            operation: crate::model::OperationKind::Destroy,
            cluster: "demo".into(),
            result: Ok((crate::model::Outcome::Succeeded, None)),
        },
    );
    assert_eq!(app.watch, Watch::Off);
    assert_eq!(
        update(&mut app, Msg::Attached(watchable())),
        vec![
            Command::Watch("demo".into()),
            Command::LoadDistribution {
                cluster: "demo".into(),
                request: 2
            }
        ],
        "the new cluster of that name has another uid to follow, and its own distribution"
    );
}

#[test]
fn a_broken_watch_hands_back_to_refreshes_and_is_logged_once() {
    let mut app = App::default();
    update(&mut app, Msg::Attached(watchable()));
    update(
        &mut app,
        Msg::Watching {
            cluster: "demo".into(),
        },
    );
    let ended = || Msg::WatchEnded {
        cluster: "demo".into(),
        reason: "the Docker engine went away".into(),
        time: "2026-11-23T10:00:10.000Z".into(),
    };
    update(&mut app, ended());
    assert_eq!(app.watch, Watch::Off);
    assert!(!app.watching_shown());
    let notice = app.notice.clone().expect("a notice");
    assert!(notice.error);
    assert!(
        notice.text.contains("the Docker engine went away"),
        "{}",
        notice.text
    );
    let lines = app.log.len();
    let commands = update(&mut app, Msg::Refreshed(watchable()));
    assert_eq!(
        commands,
        vec![Command::Watch("demo".into())],
        "the next refresh tries again"
    );
    update(&mut app, ended());
    assert_eq!(app.log.len(), lines, "a lasting reason is logged once");
}
