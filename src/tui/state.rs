//! The dashboard's state, owned by the event loop alone. Engine events are
//! folded into it by [`super::update`]; panels render from views built out of it.

use std::collections::VecDeque;
use std::time::SystemTime;

use tui_input::Input;

use super::distribution::Distributions;

use crate::model::{CheckResult, NodeState, OperationKind, Outcome, StepStatus, Stream};

/// Log lines kept; older ones are dropped first.
pub const LOG_CAPACITY: usize = 20_000;
/// Bytes of log text kept, whatever the number of lines; older lines go first.
pub const LOG_BYTES: usize = 8 * 1024 * 1024;

/// The status shown for a cluster whose record vanished while it was shown
/// (destroyed from another terminal). No record ever has this status.
pub const DESTROYED: &str = "destroyed";
/// The status shown for a cluster `up` announced but never recorded (its
/// validators failed): nothing exists. No record has this status either.
pub const NOT_CREATED: &str = "not created";

/// The panels, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    Clusters,
    Groups,
    Progress,
    Checks,
    Log,
}

impl Panel {
    pub const ALL: [Panel; 5] = [
        Panel::Clusters,
        Panel::Groups,
        Panel::Progress,
        Panel::Checks,
        Panel::Log,
    ];

    pub fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|panel| *panel == self)
            .unwrap_or(0)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Clusters => "Clusters",
            Self::Groups => "Node groups",
            Self::Progress => "Install progress",
            Self::Checks => "Checks",
            Self::Log => "Log",
        }
    }
}

/// One known cluster, as the clusters panel lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRow {
    pub name: String,
    pub backend: String,
    pub nodes: usize,
    pub status: String,
    pub capabilities: Vec<&'static str>,
}

/// A backend the dashboard can use, for the backends popup: a built-in, or
/// a plugin found on disk with what it said of itself (or why it could not).
#[derive(Debug, Clone, PartialEq)]
pub struct BackendRow {
    pub name: String,
    /// `built-in`, or the plugin's path.
    pub source: String,
    pub version: String,
    pub kinds: Vec<String>,
    pub capabilities: Vec<&'static str>,
    /// The plugin could not be started or hand-shaken.
    pub error: Option<String>,
}

/// One node with its install progress.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub group: String,
    pub roles: Vec<String>,
    pub address: String,
    pub state: Option<NodeState>,
    pub step: Option<String>,
    pub percent: Option<u8>,
    pub message: Option<String>,
    /// When the current step started (event time), for its running clock.
    pub step_started: Option<SystemTime>,
    /// Elapsed time of the last finished step.
    pub step_elapsed_ms: Option<u64>,
    pub step_status: Option<StepStatus>,
    pub error: Option<String>,
}

impl NodeView {
    pub fn planned(name: &str, group: &str, roles: &[String]) -> Self {
        Self {
            name: name.to_owned(),
            group: group.to_owned(),
            roles: roles.to_vec(),
            address: String::new(),
            state: None,
            step: None,
            percent: None,
            message: None,
            step_started: None,
            step_elapsed_ms: None,
            step_status: None,
            error: None,
        }
    }

    pub fn is_busy(&self) -> bool {
        self.step.is_some() && self.step_status.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub time: String,
    pub node: Option<String>,
    pub text: String,
    pub kind: LogKind,
}

impl LogLine {
    /// The heap bytes it holds, for the log's byte budget.
    fn size(&self) -> usize {
        self.time.len() + self.node.as_ref().map_or(0, String::len) + self.text.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    Info,
    Stdout,
    Stderr,
    Warning,
    Error,
}

impl From<Stream> for LogKind {
    fn from(stream: Stream) -> Self {
        match stream {
            Stream::Stdout => Self::Stdout,
            Stream::Stderr => Self::Stderr,
        }
    }
}

/// The cluster the dashboard is showing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterView {
    pub name: String,
    pub backend: String,
    pub status: String,
    pub capabilities: Vec<&'static str>,
    pub nodes: Vec<NodeView>,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// Validator, debugger and command results, newest last.
    pub checks: Vec<CheckResult>,
}

impl ClusterView {
    /// It has no record (any more): nothing to refresh or operate on.
    pub fn is_gone(&self) -> bool {
        self.status == DESTROYED || self.status == NOT_CREATED
    }

    /// Loaded from its record at least once; a view built from `up` events
    /// alone does not know its backend yet.
    pub fn was_recorded(&self) -> bool {
        !self.backend.is_empty()
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut NodeView> {
        self.nodes.iter_mut().find(|node| node.name == name)
    }
}

/// A popup over the panels; at most one at a time.
#[derive(Debug)]
pub enum Popup {
    Help,
    /// The `:` command line.
    Command(Input),
    /// `/` filter of the focused panel.
    Filter(Input),
    ConfirmQuit,
    /// Full output of one node of a folded check row.
    Detail {
        row: usize,
        node: usize,
    },
    /// The built-in backends and the plugins found (`:backends`).
    Backends,
    /// The shown cluster's distribution configs (`c`, `:configs`),
    /// scrolled down by `scroll` lines.
    Configs {
        scroll: usize,
    },
}

/// The live watch of a cluster's node states (`Engine::watch`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watch {
    /// Node states come from periodic refreshes only.
    Off,
    /// Asked for; the runner has not confirmed it yet.
    Asked(String),
    /// The backend reports this cluster's changes as they happen.
    Live(String),
}

impl Watch {
    /// The cluster it is for (asked or live).
    pub fn cluster(&self) -> Option<&str> {
        match self {
            Self::Off => None,
            Self::Asked(name) | Self::Live(name) => Some(name),
        }
    }
}

/// A one-line message under the panels; errors stay until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub text: String,
    pub error: bool,
}

#[derive(Debug)]
pub struct App {
    pub clusters: Vec<ClusterRow>,
    pub cluster: Option<ClusterView>,
    /// The backends popup's rows; `None` while plugins are being looked for.
    pub backends: Option<Vec<BackendRow>>,
    /// Each cluster's distribution as last described (configs, processes).
    pub distributions: Distributions,
    /// Priority-2 ("advanced") configs are shown too (`a` in the configs).
    pub advanced_configs: bool,
    pub focus: Panel,
    /// Selected row per panel, indexed by [`Panel::index`].
    pub selected: [usize; 5],
    /// Filter text per panel.
    pub filters: [String; 5],
    pub log: VecDeque<LogLine>,
    /// Text bytes held in `log`, kept under [`LOG_BYTES`].
    pub log_bytes: usize,
    /// Lines scrolled up from the bottom of the log; 0 follows new lines.
    pub log_scroll: usize,
    pub popup: Option<Popup>,
    pub history: Vec<String>,
    /// Position while browsing history with Up/Down in the command line.
    pub history_cursor: Option<usize>,
    pub running: Option<OperationKind>,
    /// The end of the last operation, for the exit status.
    pub last_finished: Option<Finished>,
    /// The last refresh error, so a lasting one is logged once, not every tick.
    pub refresh_error: Option<String>,
    /// Whether the shown cluster's node states arrive live from its backend.
    pub watch: Watch,
    /// Why the last watch ended, so a lasting problem is logged once.
    pub watch_error: Option<String>,
    pub notice: Option<Notice>,
    pub size: (u16, u16),
    pub should_quit: bool,
}

impl Default for App {
    fn default() -> Self {
        Self {
            clusters: Vec::new(),
            cluster: None,
            backends: None,
            distributions: Distributions::default(),
            advanced_configs: false,
            focus: Panel::Clusters,
            selected: [0; 5],
            filters: Default::default(),
            log: VecDeque::new(),
            log_bytes: 0,
            log_scroll: 0,
            popup: None,
            history: Vec::new(),
            history_cursor: None,
            running: None,
            last_finished: None,
            refresh_error: None,
            watch: Watch::Off,
            watch_error: None,
            notice: None,
            size: (80, 24),
            should_quit: false,
        }
    }
}

impl App {
    pub fn push_log(&mut self, line: LogLine) {
        let size = line.size();
        while self.log.len() >= LOG_CAPACITY
            || (!self.log.is_empty() && self.log_bytes + size > LOG_BYTES)
        {
            match self.log.pop_front() {
                Some(old) => self.log_bytes -= old.size(),
                None => break,
            }
        }
        self.log_bytes += size;
        self.log.push_back(line);
        if self.log_scroll > 0 {
            // Keep the view still while the user reads back.
            self.log_scroll = (self.log_scroll + 1).min(self.log.len());
        }
    }

    /// Something moves on screen (a step's clock), so the loop should tick.
    pub fn animating(&self) -> bool {
        self.running.is_some()
            || self
                .cluster
                .as_ref()
                .is_some_and(|cluster| cluster.nodes.iter().any(NodeView::is_busy))
    }

    /// The shown cluster's name when a periodic refresh is due: one is
    /// shown, still exists, and no operation is changing it.
    pub fn refresh_target(&self) -> Option<&str> {
        self.cluster
            .as_ref()
            .filter(|cluster| self.running.is_none() && !cluster.is_gone())
            .map(|cluster| cluster.name.as_str())
    }

    /// The shown cluster's node states arrive live, so refreshes can be rare.
    pub fn watching_shown(&self) -> bool {
        matches!((&self.watch, &self.cluster), (Watch::Live(name), Some(shown)) if *name == shown.name)
    }

    pub fn filter(&self, panel: Panel) -> &str {
        &self.filters[panel.index()]
    }

    pub fn notify(&mut self, text: impl Into<String>, error: bool) {
        self.notice = Some(Notice {
            text: text.into(),
            error,
        });
    }
}

#[cfg(test)]
mod log_budget_tests {
    use super::*;

    #[test]
    fn the_log_is_bounded_in_bytes_as_well_as_lines() {
        let mut app = App::default();
        let text = "y".repeat(4096);
        for _ in 0..LOG_CAPACITY {
            app.push_log(LogLine {
                time: "2026-11-23T00:00:00.000Z".into(),
                node: Some("a-1".into()),
                text: text.clone(),
                kind: LogKind::Stdout,
            });
        }
        let held: usize = app.log.iter().map(LogLine::size).sum();
        assert_eq!(held, app.log_bytes);
        assert!(app.log_bytes <= LOG_BYTES, "{}", app.log_bytes);
        assert!(app.log.len() < LOG_CAPACITY, "long lines evict by bytes");
        assert!(app.log_bytes > LOG_BYTES - 8192, "the budget is used");
    }
}

/// The end of one operation run from the dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub operation: OperationKind,
    pub cluster: String,
    pub outcome: Outcome,
    /// Why it did not succeed; an engine error counts as a failure.
    pub reason: Option<String>,
    /// It could not start for bad input (exit 2, as headless).
    pub bad_input: bool,
}

impl Finished {
    /// `up quickstart: failed: 1 node(s) failed: agents-2`
    pub fn line(&self) -> String {
        let word = match self.outcome {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        };
        let head = format!("{} {}: {word}", self.operation.as_str(), self.cluster);
        match self.reason.as_deref().filter(|reason| !reason.is_empty()) {
            Some(reason) => format!("{head}: {reason}"),
            None => head,
        }
    }
}
