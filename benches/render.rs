//! Frame time of the dashboard on a big cluster: 1,000 nodes, 10,000 log lines
//! and 1,000 check results (target: under 5 ms a frame in release), and the
//! cost of folding those results.

use std::time::{Duration, SystemTime};

use clusterdeck::checks::fold;
use clusterdeck::model::{CheckKind, CheckResult, CheckStatus, NodeState, StepStatus};
use clusterdeck::tui::state::{App, ClusterRow, ClusterView, LogKind, LogLine, NodeView, Panel};
use clusterdeck::tui::theme::Theme;
use clusterdeck::tui::view;
use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NODES: usize = 1_000;
const LOG_LINES: usize = 10_000;

fn big_app(now: SystemTime) -> App {
    let groups: Vec<String> = (1..=10).map(|group| format!("group{group}")).collect();
    let nodes: Vec<NodeView> = (0..NODES)
        .map(|index| {
            let group = &groups[index % groups.len()];
            let mut node = NodeView::planned(
                &format!("{group}-{}", index / groups.len() + 1),
                group,
                &[format!("role{}", index % 3)],
            );
            node.state = Some(NodeState::Running);
            node.address = format!("/var/lib/clusterdeck/nodes/{index}");
            node.step = Some("install:role".to_owned());
            match index % 4 {
                0 => node.percent = Some(40),
                1 => {
                    node.step_status = Some(StepStatus::Ok);
                    node.percent = Some(100);
                    node.step_elapsed_ms = Some(1234);
                }
                2 => {
                    node.step_status = Some(StepStatus::Failed);
                    node.error = Some("exit status 3: disk full".to_owned());
                }
                _ => node.step_started = Some(now - Duration::from_secs(3)),
            }
            node
        })
        .collect();
    let checks: Vec<CheckResult> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| CheckResult {
            kind: CheckKind::Debugger,
            name: format!("check-{}", index % 5),
            status: if index % 7 == 0 {
                CheckStatus::Fail
            } else {
                CheckStatus::Pass
            },
            node: Some(node.name.clone()),
            message: "ok".to_owned(),
            exit_code: Some(0),
            output: Some(format!("version {}", index % 3)),
        })
        .collect();
    let mut app = App {
        size: (160, 48),
        focus: Panel::Progress,
        ..App::default()
    };
    app.clusters = (0..20)
        .map(|index| ClusterRow {
            name: format!("cluster-{index}"),
            backend: "local".to_owned(),
            nodes: NODES,
            status: "ready".to_owned(),
            capabilities: vec!["create", "destroy", "install-from-path"],
        })
        .collect();
    app.selected[Panel::Progress.index()] = 500;
    app.cluster = Some(ClusterView {
        name: "big".to_owned(),
        backend: "local".to_owned(),
        status: "ready".to_owned(),
        capabilities: vec!["create", "destroy"],
        roles: vec!["role0".into(), "role1".into(), "role2".into()],
        groups,
        nodes,
        checks,
    });
    for index in 0..LOG_LINES {
        app.push_log(LogLine {
            time: "2026-11-23T10:00:00.000Z".to_owned(),
            node: Some(format!("group1-{}", index % 100)),
            text: format!("line {index} of installer output, long enough to be realistic"),
            kind: LogKind::Stdout,
        });
    }
    app
}

fn render(c: &mut Criterion) {
    let now = SystemTime::now();
    let app = big_app(now);
    let theme = Theme { color: true };
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    c.bench_function(
        "render frame 160x48, 1000 nodes, 10k log, 1000 checks",
        |bench| {
            bench.iter(|| {
                terminal
                    .draw(|frame| view::render(frame, &app, &theme, now))
                    .expect("draw");
            });
        },
    );
    let checks = app
        .cluster
        .as_ref()
        .map(|cluster| cluster.checks.clone())
        .unwrap_or_default();
    c.bench_function("fold 1000 check results", |bench| {
        bench.iter(|| fold(std::hint::black_box(&checks)));
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
