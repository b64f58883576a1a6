//! The configs popup (`c`, `:configs`): the shown cluster's distribution,
//! each typed config with its value in force (per group for a node-scope
//! config), type, scope, target and description. Priority-2 ("advanced")
//! configs stay hidden until `a`. Values are shown as the spec wrote them:
//! an `{env: NAME}` stays a reference.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use serde_json::Value;

use super::fit;
use super::popups::{centered, framed};
use crate::engine::{ConfigValue, DistributionSummary};
use crate::model::ConfigType;
use crate::tui::state::App;
use crate::tui::theme::Theme;

/// Column widths: name, value, type, scope, target; the description takes
/// the rest of the line, or a line of its own when too little is left.
struct Columns([usize; 5]);

impl Columns {
    fn for_width(width: usize) -> Self {
        if width >= 140 {
            Self([20, 26, 18, 7, 12])
        } else if width >= 100 {
            Self([18, 20, 14, 7, 11])
        } else {
            Self([16, 18, 12, 7, 10])
        }
    }

    fn used(&self) -> usize {
        2 + self.0.iter().map(|column| column + 1).sum::<usize>()
    }
}

/// The popup's text lines, pure so tests read what is drawn.
pub fn lines<'a>(app: &App, width: usize, theme: &Theme) -> Vec<Line<'a>> {
    let Some(shown) = &app.cluster else {
        return vec![Line::styled("  no cluster is shown", theme.dim())];
    };
    let described = app.distributions.get(&shown.name);
    let busy = described.is_some_and(|entry| entry.pending.is_some());
    match described.and_then(|entry| entry.answer.as_ref()) {
        None if busy || described.is_none() => vec![Line::styled(
            format!(
                "  asking the distribution of {} for its configs…",
                shown.name
            ),
            theme.busy(),
        )],
        None => vec![Line::styled(
            format!("  {} is not recorded yet", shown.name),
            theme.dim(),
        )],
        Some(Err(error)) => vec![Line::styled(
            format!("  {}", fit(error, width.saturating_sub(2))),
            theme.failed(),
        )],
        Some(Ok(None)) => vec![Line::styled(
            format!("  {} installs nothing: its spec has no install", shown.name),
            theme.dim(),
        )],
        Some(Ok(Some(summary))) => summary_lines(summary, app.advanced_configs, width, theme),
    }
}

/// How many lines the popup has now, for scrolling.
pub fn line_count(app: &App) -> usize {
    lines(app, 200, &Theme { color: false }).len()
}

fn summary_lines<'a>(
    summary: &DistributionSummary,
    advanced: bool,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let name = if summary.version.is_empty() {
        summary.name.clone()
    } else {
        format!("{} {}", summary.name, summary.version)
    };
    if summary.configs.is_empty() {
        let text = if summary.name == crate::distribution::SCRIPT {
            format!("  {name}: untyped config (install.config goes to the installer as written)")
        } else {
            format!("  {name}: no configs")
        };
        return vec![Line::styled(text, theme.dim())];
    }
    let mut sorted: Vec<&ConfigValue> = summary.configs.iter().collect();
    sorted.sort_by(|a, b| {
        (a.config.priority > 1, &a.config.target, &a.config.name).cmp(&(
            b.config.priority > 1,
            &b.config.target,
            &b.config.name,
        ))
    });
    let hidden = sorted
        .iter()
        .filter(|config| config.config.priority > 1)
        .count();
    let toggle = match (hidden, advanced) {
        (0, _) => String::new(),
        (_, false) => format!(" · {hidden} advanced hidden: a shows them"),
        (_, true) => " · a hides the advanced".to_owned(),
    };
    let columns = Columns::for_width(width);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("  {name}"), theme.title()),
            Span::raw(format!(" · {} configs{toggle}", sorted.len())),
        ]),
        Line::styled(
            row_text(
                &columns,
                ["name", "value", "type", "scope", "target"],
                "description",
                width,
            ),
            theme.dim(),
        ),
    ];
    let mut in_advanced = false;
    for config in sorted {
        if config.config.priority > 1 {
            if !advanced {
                break;
            }
            if !in_advanced {
                in_advanced = true;
                lines.push(Line::styled("  advanced", theme.title()));
            }
        }
        lines.extend(config_lines(config, &columns, width, theme));
    }
    lines
}

/// One config's lines: its row, then the further group values and
/// description lines in their columns (or the description on a line of its
/// own when the popup is narrow).
fn config_lines<'a>(
    config: &ConfigValue,
    columns: &Columns,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let spec = &config.config;
    let mut description = spec.description.clone();
    if spec.optional {
        description.push_str(" (optional)");
    }
    let mut kind = type_text(&spec.kind);
    if kind.chars().count() > columns.0[2] {
        // An enum's values that do not fit its column go with the text.
        description = format!("{description} [{}]", spec.kind.describe());
        kind = "enum".to_owned();
    }
    let values = values_text(config);
    let joined = values.join(" ");
    // Per-group values that do not fit side by side go one per line.
    let (first, more) = match values.split_first() {
        Some((first, more)) if joined.chars().count() > columns.0[1] => (first.clone(), more),
        _ => (joined, &[][..]),
    };
    let cells = [
        spec.name.as_str(),
        &first,
        &kind,
        spec.scope.as_str(),
        spec.target.as_str(),
    ];
    let room = width.saturating_sub(columns.used());
    let own_line = room < 16 && !description.is_empty();
    let mut beside = if own_line {
        Vec::new()
    } else {
        wrap(&description, room)
    }
    .into_iter();
    lines.push(Line::raw(row_text(
        columns,
        cells,
        &beside.next().unwrap_or_default(),
        width,
    )));
    // Further group values and description lines, each in its column.
    let mut more = more.iter();
    loop {
        let (value, text) = (more.next(), beside.next());
        if value.is_none() && text.is_none() {
            break;
        }
        lines.push(Line::raw(row_text(
            columns,
            ["", value.map_or("", String::as_str), "", "", ""],
            &text.unwrap_or_default(),
            width,
        )));
    }
    if own_line {
        lines.push(Line::styled(
            format!("    {}", fit(&description, width.saturating_sub(4))),
            theme.dim(),
        ));
    }
    lines
}

/// `text` in lines of at most `width` columns, broken between words (a
/// word longer than that is cut); at most three, the last marked if cut.
fn wrap(text: &str, width: usize) -> Vec<String> {
    const MOST: usize = 3;
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > MOST {
        let rest = lines.split_off(MOST - 1).join(" ");
        lines.push(fit(&rest, width));
    }
    lines.into_iter().map(|line| fit(&line, width)).collect()
}

fn row_text(columns: &Columns, cells: [&str; 5], description: &str, width: usize) -> String {
    let mut text = "  ".to_owned();
    for (cell, column) in cells.iter().zip(columns.0) {
        text.push_str(&format!("{:<column$} ", fit(cell, column)));
    }
    text.push_str(&fit(description, width.saturating_sub(columns.used())));
    text.trim_end().to_owned()
}

/// The value in force, or one per group for a node-scope config
/// (`masters=64`, `workers=128`); `-` when there is none (optional, no
/// default). Never empty.
fn values_text(config: &ConfigValue) -> Vec<String> {
    if config.values.is_empty() {
        return vec!["-".to_owned()];
    }
    config
        .values
        .iter()
        .map(|(group, value)| match group {
            Some(group) => format!("{group}={}", value_text(value)),
            None => value_text(value),
        })
        .collect()
}

/// A value as the spec wrote it: strings bare, `{env: NAME}` as written.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(map) if map.len() == 1 => match map.get("env") {
            Some(Value::String(name)) => format!("{{env: {name}}}"),
            _ => value.to_string(),
        },
        other => other.to_string(),
    }
}

fn type_text(kind: &ConfigType) -> String {
    match kind {
        ConfigType::String => "string".to_owned(),
        ConfigType::Integer => "integer".to_owned(),
        ConfigType::Boolean => "boolean".to_owned(),
        ConfigType::Enum { values } => values.join("|"),
    }
}

pub fn render(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, scroll: usize) {
    let width = area.width.saturating_sub(8);
    let body = lines(app, usize::from(width.saturating_sub(2)), theme);
    let height = u16::try_from(body.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let rect = centered(area, width, height.max(3));
    let name = app
        .cluster
        .as_ref()
        .map_or(String::new(), |cluster| format!(" of {}", cluster.name));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(body)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0))
            .block(framed(
                &format!("Configs{name} · a advanced · ↑↓ scroll · Esc closes"),
                theme,
            )),
        rect,
    );
}
