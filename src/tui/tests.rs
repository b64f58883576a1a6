//! Snapshot tests of each panel (TestBackend text plus explicit style checks),
//! and reducer tests that assert the commands `update` emits.

mod distribution;
mod session;
mod watch;

use std::time::{Duration, SystemTime};

use crossterm::event::{
    Event as TermEvent, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

use super::msg::{Command, Msg, Operation};
use super::panels::{checks, clusters, groups, log, progress};
use super::state::{App, ClusterRow, ClusterView, LogKind, LogLine, NodeView, Panel, Popup};
use super::theme::Theme;
use super::update::update;
use super::view;
use crate::engine::{Event, EventKind, Target};
use crate::model::{
    CheckKind, CheckResult, CheckStatus, NodeState, OperationKind, Outcome, StepStatus,
};

const THEME: Theme = Theme { color: true };

fn now() -> SystemTime {
    humantime::parse_rfc3339("2026-11-23T10:00:05Z").expect("time")
}

fn node(name: &str, group: &str, role: &str) -> NodeView {
    let mut node = NodeView::planned(name, group, &[role.to_owned()]);
    node.state = Some(NodeState::Running);
    node.address = format!("/nodes/{name}");
    node
}

fn result(name: &str, node: Option<&str>, status: CheckStatus, output: &str) -> CheckResult {
    CheckResult {
        kind: if node.is_some() {
            CheckKind::Debugger
        } else {
            CheckKind::Validator
        },
        name: name.to_owned(),
        status,
        node: node.map(str::to_owned),
        message: match status {
            CheckStatus::Pass => "ok".to_owned(),
            CheckStatus::Timeout => "no result within 10s".to_owned(),
            _ => "exit status 1 (expected 0)".to_owned(),
        },
        exit_code: (status != CheckStatus::Timeout && node.is_some()).then_some(0),
        output: node.map(|_| output.to_owned()),
    }
}

/// A cluster mid-install: one node done, one installing, one failed, one waiting.
fn app() -> App {
    let mut master = node("masters-1", "masters", "master");
    master.step = Some("install:master".into());
    master.step_status = Some(StepStatus::Ok);
    master.step_elapsed_ms = Some(1200);
    master.percent = Some(100);
    let mut busy = node("agents-1", "agents", "agent");
    busy.step = Some("install:agent".into());
    busy.percent = Some(40);
    busy.message = Some("unpacking".into());
    busy.step_started = Some(now() - Duration::from_millis(2500));
    let mut failed = node("agents-2", "agents", "agent");
    failed.step = Some("install:agent".into());
    failed.step_status = Some(StepStatus::Failed);
    failed.error = Some("exit status 3: disk full".into());
    failed.state = Some(NodeState::Failed);
    let waiting = NodeView::planned("agents-3", "agents", &["agent".to_owned()]);
    let mut app = App {
        size: (80, 24),
        ..App::default()
    };
    app.clusters = vec![
        ClusterRow {
            name: "demo".into(),
            backend: "local".into(),
            nodes: 4,
            status: "creating".into(),
            capabilities: vec!["create", "destroy"],
        },
        ClusterRow {
            name: "old".into(),
            backend: "local".into(),
            nodes: 2,
            status: "ready".into(),
            capabilities: vec!["create", "destroy"],
        },
    ];
    app.cluster = Some(ClusterView {
        name: "demo".into(),
        backend: "local".into(),
        status: "creating".into(),
        capabilities: vec!["create", "destroy"],
        nodes: vec![master, busy, failed, waiting],
        roles: vec!["agent".into(), "master".into()],
        groups: vec!["masters".into(), "agents".into()],
        checks: vec![
            result("role-count(master)", None, CheckStatus::Pass, ""),
            result("agent-up", Some("agents-1"), CheckStatus::Pass, "running"),
            result("agent-up", Some("agents-3"), CheckStatus::Pass, "running"),
            result("agent-up", Some("agents-2"), CheckStatus::Timeout, ""),
        ],
    });
    for (index, text) in ["up demo: started", "installed agent", "disk full"]
        .iter()
        .enumerate()
    {
        app.push_log(LogLine {
            time: format!("2026-11-23T10:00:0{index}.000Z"),
            node: (index > 0).then(|| format!("agents-{index}")),
            text: (*text).to_owned(),
            kind: [LogKind::Info, LogKind::Stdout, LogKind::Stderr][index],
        });
    }
    app
}

fn draw(width: u16, height: u16, app: &App, panel: Option<Panel>) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| {
            let area = frame.area();
            match panel {
                None => view::render(frame, app, &THEME, now()),
                Some(Panel::Clusters) => clusters::render(frame, area, app, &THEME),
                Some(Panel::Groups) => groups::render(frame, area, app, &THEME),
                Some(Panel::Progress) => progress::render(frame, area, app, &THEME, now()),
                Some(Panel::Checks) => checks::render(frame, area, app, &THEME),
                Some(Panel::Log) => log::render(frame, area, app, &THEME),
            }
        })
        .expect("draw");
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first cell on row `y` whose symbol starts `needle`.
fn find(buffer: &Buffer, y: u16, needle: &str) -> (u16, u16) {
    let row: String = (0..buffer.area.width)
        .map(|x| buffer[(x, y)].symbol())
        .collect();
    let column = row
        .find(needle)
        .map(|byte| row[..byte].chars().count())
        .unwrap_or_else(|| panic!("{needle:?} not on row {y}: {row}"));
    (u16::try_from(column).expect("column"), y)
}

#[test]
fn clusters_panel_marks_the_shown_cluster_and_the_selection() {
    let mut app = app();
    app.focus = Panel::Clusters;
    let buffer = draw(60, 5, &app, Some(Panel::Clusters));
    insta::assert_snapshot!(text(&buffer));
    // Focused: thick cyan border; selected row in reverse video.
    assert_eq!(buffer[(0, 0)].symbol(), "┏");
    assert_eq!(buffer[(0, 0)].fg, Color::Cyan);
    assert!(buffer[(3, 1)].modifier.contains(Modifier::REVERSED));
    assert!(!buffer[(3, 2)].modifier.contains(Modifier::REVERSED));
    let ready = find(&buffer, 2, "ready");
    assert_eq!(buffer[ready].fg, Color::Green);
}

#[test]
fn groups_panel_is_a_tree_with_state_badges() {
    let mut app = app();
    app.focus = Panel::Progress;
    let buffer = draw(80, 8, &app, Some(Panel::Groups));
    insta::assert_snapshot!(text(&buffer));
    assert_eq!(
        buffer[(0, 0)].symbol(),
        "┌",
        "unfocused panels have a plain border"
    );
    let failed = find(&buffer, 5, "[failed]");
    assert_eq!(buffer[failed].fg, Color::Red);
    let planned = find(&buffer, 6, "[planned]");
    assert_eq!(buffer[planned].fg, Color::Cyan);
}

#[test]
fn progress_panel_shows_gauges_clocks_and_failures_in_red() {
    let app = app();
    let buffer = draw(100, 6, &app, Some(Panel::Progress));
    insta::assert_snapshot!(text(&buffer));
    let error = find(&buffer, 3, "✗ FAILED");
    assert_eq!(buffer[error].fg, Color::Red);
    assert!(buffer[error].modifier.contains(Modifier::BOLD));
    let done = find(&buffer, 1, "█");
    assert_eq!(buffer[done].fg, Color::Green);
    let busy = find(&buffer, 2, "█");
    assert_eq!(buffer[busy].fg, Color::Cyan);
}

#[test]
fn checks_panel_folds_nodes_and_tallies() {
    let app = app();
    let buffer = draw(90, 6, &app, Some(Panel::Checks));
    insta::assert_snapshot!(text(&buffer));
    let timeout = find(&buffer, 2, "TIMEOUT");
    assert_eq!(buffer[timeout].fg, Color::Yellow);
    let pass = find(&buffer, 3, "PASS");
    assert_eq!(buffer[pass].fg, Color::Green);
}

#[test]
fn log_panel_follows_the_tail_and_filters() {
    let mut app = app();
    let buffer = draw(70, 5, &app, Some(Panel::Log));
    insta::assert_snapshot!(text(&buffer));
    let stderr = find(&buffer, 3, "disk full");
    assert_eq!(buffer[stderr].fg, Color::Yellow);
    app.filters[Panel::Log.index()] = "installed".into();
    let filtered = text(&draw(70, 5, &app, Some(Panel::Log)));
    assert!(filtered.contains("installed agent"));
    assert!(!filtered.contains("disk full"));
    assert!(
        filtered.contains("/installed"),
        "the filter shows on the border"
    );
}

#[test]
fn whole_dashboard_at_the_minimum_size_and_below_it() {
    let app = app();
    insta::assert_snapshot!(text(&draw(80, 24, &app, None)));
    let small = text(&draw(60, 20, &app, None));
    assert!(small.contains("60×20"), "{small}");
    assert!(small.contains("80×24"), "{small}");
}

#[test]
fn no_color_keeps_emphasis_but_drops_colours() {
    let app = app();
    let mut terminal = Terminal::new(TestBackend::new(100, 6)).expect("terminal");
    terminal
        .draw(|frame| {
            progress::render(frame, frame.area(), &app, &Theme { color: false }, now());
        })
        .expect("draw");
    let buffer = terminal.backend().buffer();
    for cell in buffer.content() {
        assert_eq!(cell.fg, Color::Reset, "a colour slipped through NO_COLOR");
    }
    let error = find(buffer, 3, "✗ FAILED");
    assert!(buffer[error].modifier.contains(Modifier::BOLD));
}

fn key(code: KeyCode) -> Msg {
    Msg::Terminal(TermEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn type_text(app: &mut App, text: &str) -> Vec<Command> {
    text.chars()
        .flat_map(|c| update(app, key(KeyCode::Char(c))))
        .collect()
}

#[test]
fn enter_on_a_cluster_attaches_to_it() {
    let mut app = app();
    app.focus = Panel::Clusters;
    assert!(update(&mut app, key(KeyCode::Down)).is_empty());
    assert_eq!(
        update(&mut app, key(KeyCode::Enter)),
        vec![Command::Attach("old".into())]
    );
}

#[test]
fn command_line_starts_operations_and_reports_errors() {
    let mut app = app();
    assert!(type_text(&mut app, ":run agent uptime").is_empty());
    assert_eq!(
        update(&mut app, key(KeyCode::Enter)),
        vec![Command::Start(Operation::Run {
            cluster: "demo".into(),
            target: Target::Role("agent".into()),
            command: "uptime".into(),
            timeout: None,
        })]
    );
    assert_eq!(app.running, Some(OperationKind::Run));
    assert_eq!(app.history, vec!["run agent uptime"]);

    // A second operation waits for the first.
    type_text(&mut app, ":debug");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(app.notice.as_ref().is_some_and(|notice| notice.error));

    app.running = None;
    type_text(&mut app, ":scale agents nine");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    let notice = app.notice.clone().expect("notice");
    assert_eq!(
        notice.text,
        "expected a whole number of nodes, found \"nine\""
    );
    type_text(&mut app, ":scale agents 9");
    assert_eq!(
        update(&mut app, key(KeyCode::Enter)),
        vec![Command::Start(Operation::Scale {
            cluster: "demo".into(),
            group: "agents".into(),
            count: 9,
        })]
    );

    // History comes back with Up.
    update(&mut app, key(KeyCode::Char(':')));
    update(&mut app, key(KeyCode::Up));
    match &app.popup {
        Some(Popup::Command(input)) => assert_eq!(input.value(), "scale agents 9"),
        other => panic!("{other:?}"),
    }
    update(&mut app, key(KeyCode::Esc));
    assert!(app.popup.is_none());
}

#[test]
fn quitting_while_running_asks_and_cancels() {
    let mut app = app();
    app.running = Some(OperationKind::Up);
    assert!(update(&mut app, key(KeyCode::Char('q'))).is_empty());
    assert!(matches!(app.popup, Some(Popup::ConfirmQuit)));
    assert!(!app.should_quit);
    assert_eq!(
        update(&mut app, key(KeyCode::Char('y'))),
        vec![Command::Cancel]
    );
    assert!(app.should_quit);

    let mut app = self::app();
    app.running = Some(OperationKind::Debug);
    let ctrl_c = Msg::Terminal(TermEvent::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert_eq!(update(&mut app, ctrl_c), vec![Command::Cancel]);
    assert!(!app.should_quit);
}

#[test]
fn tab_cycles_focus_and_a_click_focuses_and_selects() {
    let mut app = app();
    let order: Vec<Panel> = (0..5)
        .map(|_| {
            update(&mut app, key(KeyCode::Tab));
            app.focus
        })
        .collect();
    assert_eq!(
        order,
        vec![
            Panel::Groups,
            Panel::Progress,
            Panel::Checks,
            Panel::Log,
            Panel::Clusters
        ]
    );
    let rect = super::layout::areas(Rect::new(0, 0, 80, 24)).progress;
    let click = Msg::Terminal(TermEvent::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: rect.x + 3,
        row: rect.y + 3,
        modifiers: KeyModifiers::NONE,
    }));
    update(&mut app, click);
    assert_eq!(app.focus, Panel::Progress);
    assert_eq!(app.selected[Panel::Progress.index()], 2);
}

#[test]
fn enter_on_a_check_opens_the_node_detail() {
    let mut app = app();
    app.focus = Panel::Checks;
    update(&mut app, key(KeyCode::Down));
    update(&mut app, key(KeyCode::Enter));
    assert!(matches!(app.popup, Some(Popup::Detail { row: 1, node: 0 })));
    let screen = text(&draw(80, 24, &app, None));
    assert!(screen.contains("agent-up on agents-2 (1/1)"), "{screen}");
    update(&mut app, key(KeyCode::Esc));
    assert!(app.popup.is_none());
}

#[test]
fn engine_events_fold_into_nodes_checks_and_log() {
    let mut app = app();
    let event = |kind| {
        Msg::Engine(Event {
            time: "2026-11-23T10:00:06.000Z".into(),
            kind,
        })
    };
    update(
        &mut app,
        event(EventKind::StepFinished {
            node: "agents-1".into(),
            step: "install:agent".into(),
            status: StepStatus::TimedOut,
            elapsed_ms: 300,
            error: Some("timed out".into()),
        }),
    );
    let cluster = app.cluster.as_ref().expect("cluster");
    let agent = cluster
        .nodes
        .iter()
        .find(|node| node.name == "agents-1")
        .expect("node");
    assert_eq!(agent.state, Some(NodeState::Failed));
    assert_eq!(agent.error.as_deref(), Some("timed out"));
    assert_eq!(app.log.back().map(|line| line.kind), Some(LogKind::Error));

    // A re-run replaces the node's earlier result of the same check.
    update(
        &mut app,
        event(EventKind::CheckResult {
            result: result("agent-up", Some("agents-2"), CheckStatus::Pass, "running"),
        }),
    );
    let rows = checks::rows(&app);
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(rows[1].nodes, "agents-[1-3]");

    let done = update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Up,
            cluster: "demo".into(),
            result: Ok((Outcome::Failed, Some("1 node(s) failed: agents-1".into()))),
        },
    );
    assert_eq!(
        done,
        vec![Command::LoadClusters, Command::Refresh("demo".into())]
    );
    assert_eq!(app.running, None);
    assert_eq!(
        app.notice.map(|notice| notice.text),
        Some("up demo: failed: 1 node(s) failed: agents-1".into())
    );
}

#[test]
fn a_destroyed_cluster_is_no_longer_shown() {
    let mut app = app();
    app.running = Some(OperationKind::Destroy);
    let commands = update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Destroy,
            cluster: "demo".into(),
            result: Ok((Outcome::Succeeded, None)),
        },
    );
    assert_eq!(commands, vec![Command::LoadClusters]);
    assert!(app.cluster.is_none());
}

#[test]
fn help_shows_every_key_and_command_at_the_minimum_size() {
    let app = App {
        popup: Some(Popup::Help),
        ..App::default()
    };
    let shown = text(&draw(80, 24, &app, None));
    for (keys, _) in super::keys::KEYMAP {
        assert!(shown.contains(keys), "{keys} cut off:\n{shown}");
    }
    for (command, _) in super::cmdline::COMMANDS {
        assert!(
            shown.contains(&format!(":{command}")),
            ":{command} cut off:\n{shown}"
        );
    }
    // A tall terminal keeps one command a line.
    let tall = text(&draw(100, 50, &app, None));
    assert!(tall.contains("Commands after ':'"), "{tall}");
}
