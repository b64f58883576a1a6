//! The shown cluster's distribution: asked for off the UI when a cluster is
//! shown and after an operation changed it, its configs in a popup (advanced
//! ones behind `a`), its processes in the node groups panel, and a failure
//! as one line.

use std::collections::BTreeMap;

use ratatui::style::{Color, Modifier};
use serde_json::json;

use super::{app, draw, find, key, text, type_text};
use crate::engine::{ConfigValue, DistributionSummary};
use crate::model::{ConfigScope, ConfigSpec, ConfigType, OperationKind, Outcome};
use crate::tui::msg::{Command, Msg};
use crate::tui::state::{App, Panel, Popup};
use crate::tui::update::update;
use crossterm::event::KeyCode;

fn config(name: &str, kind: ConfigType, scope: ConfigScope, priority: u8) -> ConfigSpec {
    ConfigSpec {
        name: name.into(),
        description: format!("what {name} sets"),
        kind,
        default: None,
        scope,
        target: "general".into(),
        optional: false,
        priority,
    }
}

/// A kvstore-like distribution: typed configs of both scopes and
/// priorities, one given as an `{env: NAME}` reference.
fn summary() -> DistributionSummary {
    let mut log_level = config(
        "log_level",
        ConfigType::Enum {
            values: vec!["debug".into(), "info".into(), "warn".into()],
        },
        ConfigScope::Cluster,
        2,
    );
    log_level.target = "logging".into();
    let mut heap = config("heap_mb", ConfigType::Integer, ConfigScope::Node, 2);
    heap.target = "kv-worker".into();
    let mut motd = config("motd", ConfigType::String, ConfigScope::Cluster, 1);
    motd.optional = true;
    DistributionSummary {
        name: "kvstore".into(),
        version: "1.1".into(),
        configs: vec![
            ConfigValue {
                config: heap,
                values: vec![
                    (Some("masters".into()), json!(64)),
                    (Some("agents".into()), json!(128)),
                ],
            },
            ConfigValue {
                config: config("port", ConfigType::Integer, ConfigScope::Cluster, 1),
                values: vec![(None, json!(7070))],
            },
            ConfigValue {
                config: log_level,
                values: vec![(None, json!("info"))],
            },
            ConfigValue {
                config: config("cluster_token", ConfigType::String, ConfigScope::Cluster, 1),
                values: vec![(None, json!({"env": "KV_TOKEN"}))],
            },
            ConfigValue {
                config: motd,
                values: Vec::new(),
            },
        ],
        processes: BTreeMap::from([
            ("master".to_owned(), vec!["kv-master".to_owned()]),
            ("agent".to_owned(), vec!["kv-worker".to_owned()]),
        ]),
    }
}

/// The test cluster shown as attached, its distribution asked for.
fn attached() -> (App, u64) {
    let mut app = app();
    let view = app.cluster.take().expect("cluster");
    let commands = update(&mut app, Msg::Attached(view));
    let request = commands
        .iter()
        .find_map(|command| match command {
            Command::LoadDistribution { cluster, request } if cluster == "demo" => Some(*request),
            _ => None,
        })
        .unwrap_or_else(|| panic!("attaching asks for the distribution: {commands:?}"));
    (app, request)
}

fn answered(answer: Result<Option<DistributionSummary>, String>) -> App {
    let (mut app, request) = attached();
    assert!(
        update(
            &mut app,
            Msg::Distribution {
                cluster: "demo".into(),
                request,
                answer,
            },
        )
        .is_empty()
    );
    app
}

#[test]
fn configs_popup_lists_priority_one_sorted_and_advanced_behind_a() {
    let mut app = answered(Ok(Some(summary())));
    assert!(
        update(&mut app, key(KeyCode::Char('c'))).is_empty(),
        "known"
    );
    assert!(matches!(app.popup, Some(Popup::Configs { scroll: 0 })));
    let buffer = draw(120, 24, &app, None);
    let shown = text(&buffer);
    insta::assert_snapshot!("configs_popup_basic", shown);
    assert!(!shown.contains("heap_mb"), "advanced hidden: {shown}");
    assert!(shown.contains("2 advanced hidden: a shows them"), "{shown}");
    // Sorted by target then name: cluster_token, motd, port (all general).
    let token = shown.find("cluster_token").expect("token");
    let motd = shown.find("motd").expect("motd");
    let port = shown.find("port  ").expect("port");
    assert!(token < motd && motd < port, "{shown}");
    assert!(shown.contains("{env: KV_TOKEN}"), "a reference stays one");
    let header = (0..24)
        .find(|y| {
            text(&buffer)
                .lines()
                .nth(*y)
                .is_some_and(|l| l.contains("kvstore 1.1"))
        })
        .and_then(|y| u16::try_from(y).ok())
        .expect("header row");
    assert!(
        buffer[find(&buffer, header, "kvstore 1.1")]
            .modifier
            .contains(Modifier::BOLD)
    );
    assert_eq!(
        buffer[find(&buffer, header + 1, "name ")].fg,
        Color::DarkGray,
        "the column heads are dim"
    );

    update(&mut app, key(KeyCode::Char('a')));
    assert!(app.advanced_configs);
    assert!(
        matches!(app.popup, Some(Popup::Configs { .. })),
        "a keeps it open"
    );
    let shown = text(&draw(120, 24, &app, None));
    insta::assert_snapshot!("configs_popup_advanced", shown);
    // Too wide for their columns: group values one per line, an enum's
    // values with the description.
    assert!(shown.contains("heap_mb            masters=64  "), "{shown}");
    assert!(
        shown.contains("│                     agents=128  "),
        "{shown}"
    );
    assert!(shown.contains("what log_level sets [one of"), "{shown}");
    assert!(shown.contains("debug, info, warn]"), "{shown}");
    let wide = text(&draw(160, 30, &app, None));
    assert!(wide.contains("masters=64 agents=128"), "per group: {wide}");
    assert!(wide.contains("debug|info|warn"), "{wide}");
    assert!(shown.contains("a hides the advanced"), "{shown}");
    let advanced = shown.find("│  advanced ").expect("advanced heading");
    assert!(
        shown.find("port  ").expect("port") < advanced,
        "priority 1 first"
    );
    assert!(advanced < shown.find("heap_mb").expect("heap"), "{shown}");

    update(&mut app, key(KeyCode::Esc));
    assert!(app.popup.is_none());
    assert!(app.advanced_configs, "the toggle is remembered");
}

#[test]
fn narrow_configs_put_descriptions_on_their_own_line() {
    let mut app = answered(Ok(Some(summary())));
    update(&mut app, key(KeyCode::Char('c')));
    let shown = text(&draw(80, 24, &app, None));
    assert!(shown.contains("what port sets"), "{shown}");
    assert!(shown.contains("what motd sets (optional)"), "{shown}");
}

#[test]
fn processes_per_role_show_in_the_node_groups_panel() {
    let mut app = answered(Ok(Some(summary())));
    app.focus = Panel::Progress;
    let buffer = draw(80, 8, &app, Some(Panel::Groups));
    insta::assert_snapshot!(text(&buffer));
    let shown = text(&buffer);
    assert!(
        shown.contains("▾ masters (1)  roles: master  [master: kv-master]"),
        "{shown}"
    );
    assert!(shown.contains("[agent: kv-worker]"), "{shown}");
}

#[test]
fn a_script_distribution_says_its_config_is_untyped() {
    let mut app = answered(Ok(Some(DistributionSummary {
        name: "script".into(),
        version: String::new(),
        configs: Vec::new(),
        processes: BTreeMap::new(),
    })));
    update(&mut app, key(KeyCode::Char('c')));
    let shown = text(&draw(100, 24, &app, None));
    assert!(shown.contains("script: untyped config"), "{shown}");
    let groups = text(&draw(80, 8, &app, Some(Panel::Groups)));
    assert!(
        groups.contains("roles: master") && !groups.contains("[master"),
        "no processes: {groups}"
    );

    let mut nothing = answered(Ok(None));
    update(&mut nothing, key(KeyCode::Char('c')));
    let shown = text(&draw(100, 24, &nothing, None));
    assert!(shown.contains("demo installs nothing"), "{shown}");
}

#[test]
fn a_failure_is_one_red_line_and_opening_the_configs_tries_again() {
    let error = "distribution kvstore: plugin kvstore: cannot start: no such file";
    let mut app = answered(Err(error.into()));
    let commands = update(&mut app, key(KeyCode::Char('c')));
    assert_eq!(
        commands,
        vec![Command::LoadDistribution {
            cluster: "demo".into(),
            request: 2
        }],
        "a failure is retried when the user asks"
    );
    let buffer = draw(100, 24, &app, None);
    let shown = text(&buffer);
    assert_eq!(shown.matches(error).count(), 1, "{shown}");
    let row = (0..24u16)
        .find(|y| {
            shown
                .lines()
                .nth(usize::from(*y))
                .is_some_and(|l| l.contains(error))
        })
        .expect("row");
    let cell = &buffer[find(&buffer, row, "distribution kvstore")];
    assert_eq!(cell.fg, Color::Red);
    assert!(cell.modifier.contains(Modifier::BOLD));
    // The periodic refresh does not start the plugin again and again.
    let view = app.cluster.clone().expect("cluster");
    assert!(
        !update(&mut app, Msg::Refreshed(view))
            .iter()
            .any(|command| matches!(command, Command::LoadDistribution { .. }))
    );
}

#[test]
fn while_asking_the_popup_says_so_and_refreshes_do_not_ask_twice() {
    let (mut app, _) = attached();
    assert!(
        update(&mut app, key(KeyCode::Char('c'))).is_empty(),
        "in flight"
    );
    let shown = text(&draw(100, 24, &app, None));
    assert!(
        shown.contains("asking the distribution of demo for its configs…"),
        "{shown}"
    );
    let view = app.cluster.clone().expect("cluster");
    assert!(update(&mut app, Msg::Refreshed(view)).is_empty());
}

#[test]
fn an_operation_that_changes_the_cluster_has_it_described_again() {
    let mut app = answered(Ok(Some(summary())));
    let view = app.cluster.clone().expect("cluster");
    app.running = Some(OperationKind::Run);
    update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Run,
            cluster: "demo".into(),
            result: Ok((Outcome::Succeeded, None)),
        },
    );
    assert!(
        update(&mut app, Msg::Refreshed(view.clone())).is_empty(),
        "run changes nothing the distribution says"
    );

    app.running = Some(OperationKind::Scale);
    update(
        &mut app,
        Msg::OperationDone {
            operation: OperationKind::Scale,
            cluster: "demo".into(),
            result: Ok((Outcome::Succeeded, None)),
        },
    );
    assert_eq!(
        update(&mut app, Msg::Refreshed(view)),
        vec![Command::LoadDistribution {
            cluster: "demo".into(),
            request: 2
        }]
    );
    // The old answer stays shown while the new one comes.
    let groups = text(&draw(80, 8, &app, Some(Panel::Groups)));
    assert!(groups.contains("[master: kv-master]"), "{groups}");
    // An answer to the first request, arriving late, is dropped.
    update(
        &mut app,
        Msg::Distribution {
            cluster: "demo".into(),
            request: 1,
            answer: Ok(None),
        },
    );
    let groups = text(&draw(80, 8, &app, Some(Panel::Groups)));
    assert!(groups.contains("[master: kv-master]"), "{groups}");
}

#[test]
fn configs_command_opens_the_popup_and_needs_a_cluster() {
    let mut app = answered(Ok(Some(summary())));
    type_text(&mut app, ":configs");
    assert!(update(&mut app, key(KeyCode::Enter)).is_empty());
    assert!(matches!(app.popup, Some(Popup::Configs { .. })));
    update(&mut app, key(KeyCode::Char('j')));
    assert!(matches!(app.popup, Some(Popup::Configs { scroll: 1 })));
    update(&mut app, key(KeyCode::Char('q')));
    assert!(app.popup.is_none());
    assert!(!app.should_quit, "q closes the popup, not the dashboard");

    let mut empty = App::default();
    assert!(update(&mut empty, key(KeyCode::Char('c'))).is_empty());
    assert!(empty.popup.is_none());
    assert!(
        empty
            .notice
            .as_ref()
            .is_some_and(|notice| notice.error && notice.text.contains("no cluster is shown"))
    );
}
