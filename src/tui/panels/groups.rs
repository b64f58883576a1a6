//! The tree of node groups and their nodes: roles (and the processes the
//! distribution runs for them), address, state badge.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::{block, fit, inner, list_lines};
use crate::model::NodeState;
use crate::tui::distribution::{Described, processes_line};
use crate::tui::state::{App, NodeView, Panel};
use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq)]
pub enum Row<'a> {
    Group {
        name: &'a str,
        nodes: usize,
        roles: String,
        /// The processes of its roles, when the distribution names them.
        processes: String,
    },
    Node(&'a NodeView),
}

pub fn rows(app: &App) -> Vec<Row<'_>> {
    let Some(cluster) = &app.cluster else {
        return Vec::new();
    };
    let filter = app.filter(Panel::Groups);
    let summary = app
        .distributions
        .get(&cluster.name)
        .and_then(Described::summary);
    let mut rows = Vec::new();
    for group in &cluster.groups {
        let members: Vec<&NodeView> = cluster
            .nodes
            .iter()
            .filter(|node| &node.group == group)
            .filter(|node| {
                filter.is_empty()
                    || node.name.contains(filter)
                    || node.roles.iter().any(|role| role.contains(filter))
                    || state_word(node).contains(filter)
            })
            .collect();
        if members.is_empty() && !filter.is_empty() {
            continue;
        }
        let roles = members
            .first()
            .map(|node| node.roles.as_slice())
            .unwrap_or_default();
        rows.push(Row::Group {
            name: group,
            nodes: members.len(),
            roles: roles.join(","),
            processes: summary.map_or_else(String::new, |summary| processes_line(summary, roles)),
        });
        rows.extend(members.into_iter().map(Row::Node));
    }
    rows
}

pub fn state_word(node: &NodeView) -> &'static str {
    match node.state {
        None => "planned",
        Some(state) => state.as_str(),
    }
}

fn badge(node: &NodeView, theme: &Theme) -> Span<'static> {
    let word = state_word(node);
    let style = match node.state {
        Some(NodeState::Running) => theme.ok(),
        Some(NodeState::Failed | NodeState::Exited) => theme.failed(),
        Some(NodeState::Destroyed | NodeState::Stopped | NodeState::Paused) => theme.dim(),
        _ => theme.busy(),
    };
    Span::styled(format!("[{word}]"), style)
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let rows = rows(app);
    let nodes = app
        .cluster
        .as_ref()
        .map_or(0, |cluster| cluster.nodes.len());
    let block = block(app, Panel::Groups, theme, format!("{nodes} nodes"));
    let body = inner(area);
    let height = usize::from(body.height);
    let width = usize::from(body.width);
    let mut lines: Vec<Line> =
        list_lines(app, Panel::Groups, &rows, height, theme, |row| match row {
            Row::Group {
                name,
                nodes,
                roles,
                processes,
            } => {
                let mut spans = vec![
                    Span::styled(format!("▾ {name}"), theme.title()),
                    Span::styled(format!(" ({nodes})  roles: {roles}"), theme.dim()),
                ];
                if !processes.is_empty() {
                    spans.push(Span::raw(format!("  {processes}")));
                }
                Line::from(spans)
            }
            Row::Node(node) => Line::from(vec![
                Span::raw(format!("  {:<16} ", fit(&node.name, 16))),
                Span::raw(format!("{:<14} ", fit(&node.roles.join(","), 14))),
                badge(node, theme),
                Span::styled(
                    format!(" {}", fit(&node.address, width.saturating_sub(45))),
                    theme.dim(),
                ),
            ]),
        });
    if lines.is_empty() {
        lines.push(Line::styled(
            "  no cluster shown: pick one in Clusters and press Enter",
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
