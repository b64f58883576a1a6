//! Commands on existing nodes: ad-hoc `run` and the spec's debuggers, each
//! giving a pass/fail/timeout/unreachable result per node.

use std::time::Duration;

use regex::Regex;

use super::event::EventKind;
use super::exec::{fan_out, run_captured};
use super::{Engine, EngineError, OperationReport};
use crate::backend::{Backend, BackendContext};
use crate::checks::judge;
use crate::model::{
    CheckKind, CheckResult, CheckStatus, Node, NodeState, OperationKind, Outcome, Summary,
};
use crate::spec::DebuggerSpec;
use crate::state::{ClusterRecord, DebugResults, LockMode};
use crate::transport::{ExecRequest, ExecStatus};

/// Which nodes a command runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    All,
    Role(String),
    Group(String),
    Node(String),
}

impl Target {
    /// The record's nodes this target names, or an error listing what exists.
    pub fn select<'r>(&self, record: &'r ClusterRecord) -> Result<Vec<&'r Node>, EngineError> {
        let nodes = &record.nodes;
        let (selected, what, known): (Vec<&Node>, String, Vec<String>) = match self {
            Self::All => (nodes.iter().collect(), "nodes".into(), Vec::new()),
            Self::Role(role) => (
                nodes
                    .iter()
                    .filter(|node| node.roles.contains(role))
                    .collect(),
                format!("role {role:?}"),
                record.spec.roles(),
            ),
            Self::Group(group) => (
                nodes.iter().filter(|node| &node.group == group).collect(),
                format!("group {group:?}"),
                record
                    .spec
                    .node_groups
                    .iter()
                    .map(|group| group.name.clone())
                    .collect(),
            ),
            Self::Node(name) => (
                nodes.iter().filter(|node| &node.name == name).collect(),
                format!("node {name:?}"),
                nodes.iter().map(|node| node.name.clone()).collect(),
            ),
        };
        if selected.is_empty() {
            let hint = if known.is_empty() {
                String::new()
            } else {
                format!("; known: {}", known.join(", "))
            };
            return Err(EngineError::Invalid(format!(
                "cluster {:?} has no {what}{hint}",
                record.name
            )));
        }
        Ok(selected)
    }
}

impl Engine {
    /// A cluster's record with each node's state as its backend sees it now.
    pub async fn inspect(&self, cluster: &str) -> Result<ClusterRecord, EngineError> {
        let mut record = self.store.load(cluster)?;
        let (backend, ctx) = self.attach(&record)?;
        record.nodes = backend.discover(&ctx, &record.nodes).await?;
        Ok(record)
    }

    /// The per-node debugger results the last `up`, `scale` or `debug` of a
    /// cluster saved; none when none was saved or the file is unreadable
    /// (they are a convenience for `attach`, never a reason to fail it).
    pub fn last_debug_results(&self, cluster: &str) -> Vec<crate::model::CheckResult> {
        match self.store.load_debug_results(cluster) {
            Ok(Some(saved)) => saved.results,
            Ok(None) => Vec::new(),
            Err(err) => {
                tracing::warn!(%err, "the last debugger results cannot be read");
                Vec::new()
            }
        }
    }

    /// Runs an ad-hoc shell command on the target's nodes.
    pub(crate) async fn run(
        &self,
        cluster: &str,
        target: &Target,
        command: &str,
        timeout: Option<Duration>,
    ) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Shared)?;
        let mut record = self.store.load(cluster)?;
        let targets = target.select(&record)?;
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::Run, cluster);
        let request = ExecRequest {
            command: command.to_owned(),
            timeout,
            ..ExecRequest::default()
        };
        let label = command_label(command);
        let results = self
            .check_nodes(
                backend.as_ref(),
                &ctx,
                &record.nodes,
                targets,
                (CheckKind::Command, &label),
                &request,
                &judge_command,
            )
            .await;
        let report = self.close_checks(OperationKind::Run, cluster, results.len(), &results);
        self.remember(&mut record, OperationKind::Run, started_at, &report);
        Ok(report)
    }

    /// Runs the spec's debuggers on the nodes of their roles.
    pub(crate) async fn debug(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        let _lock = self.store.lock_existing(cluster, LockMode::Shared)?;
        let mut record = self.store.load(cluster)?;
        let (backend, ctx) = self.attach(&record)?;
        let started_at = self.start(OperationKind::Debug, cluster);
        if record.spec.checks.debuggers.is_empty() {
            self.events
                .warn(None, "the spec declares no debuggers: nothing to run");
        }
        let debuggers = record.spec.checks.debuggers.clone();
        let results = self
            .run_debuggers(
                OperationKind::Debug,
                &debuggers,
                (backend.as_ref(), &ctx),
                &record,
            )
            .await;
        let report = self.close_checks(OperationKind::Debug, cluster, record.nodes.len(), &results);
        self.remember(&mut record, OperationKind::Debug, started_at, &report);
        Ok(report)
    }

    fn close_checks(
        &self,
        operation: OperationKind,
        cluster: &str,
        nodes_total: usize,
        results: &[CheckResult],
    ) -> OperationReport {
        let mut summary = Summary {
            nodes_total,
            ..Summary::default()
        };
        summary.record_results(results);
        let outcome = if self.cancel.is_cancelled() {
            summary.reason = Some("cancelled".to_owned());
            Outcome::Cancelled
        } else if summary.tally.all_passed() {
            Outcome::Succeeded
        } else {
            summary.reason = Some(summary.failure_reason());
            Outcome::Failed
        };
        self.finish(operation, cluster, outcome, summary)
    }

    /// Each debugger in turn, on all its nodes at once. The results are
    /// kept per node in the cluster's state (for `export`), as the last ones.
    pub(super) async fn run_debuggers(
        &self,
        operation: OperationKind,
        debuggers: &[DebuggerSpec],
        (backend, ctx): (&dyn Backend, &BackendContext),
        record: &ClusterRecord,
    ) -> Vec<CheckResult> {
        let results = self.debug_nodes(debuggers, backend, ctx, record).await;
        let kept = DebugResults {
            operation,
            saved_at: crate::model::now(),
            results: results.clone(),
        };
        if let Err(err) = self.store.save_debug_results(&record.name, &kept) {
            tracing::warn!(cluster = %record.name, "could not keep the debugger results: {err}");
        }
        results
    }

    async fn debug_nodes(
        &self,
        debuggers: &[DebuggerSpec],
        backend: &dyn Backend,
        ctx: &BackendContext,
        record: &ClusterRecord,
    ) -> Vec<CheckResult> {
        let mut results = Vec::new();
        for debugger in debuggers {
            if self.cancel.is_cancelled() {
                break;
            }
            let targets: Vec<&Node> = record
                .nodes
                .iter()
                // A node whose creation failed is already reported as such,
                // and a destroyed node (destroy-node) is no longer there to judge.
                .filter(|node| {
                    !node.id.is_empty()
                        && node.state != NodeState::Destroyed
                        && node.has_any_role(&debugger.roles)
                })
                .collect();
            if let Some(plugin) = &debugger.plugin {
                results.extend(
                    self.run_plugin_debugger(debugger, plugin, (backend, ctx), record, targets)
                        .await,
                );
                continue;
            }
            // Patterns were checked when the spec was parsed.
            let pattern = debugger
                .expect
                .as_deref()
                .and_then(|pattern| Regex::new(pattern).ok());
            let request = ExecRequest {
                command: debugger.run.clone(),
                timeout: Some(debugger.timeout),
                ..ExecRequest::default()
            };
            let judge = |status: ExecStatus, output: &str| {
                judge(debugger, pattern.as_ref(), status, output)
            };
            results.extend(
                self.check_nodes(
                    backend,
                    ctx,
                    &record.nodes,
                    targets,
                    (CheckKind::Debugger, &debugger.name),
                    &request,
                    &judge,
                )
                .await,
            );
        }
        results
    }

    /// Runs one request on every target and judges each node's result.
    #[allow(clippy::too_many_arguments)]
    async fn check_nodes(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        all: &[Node],
        targets: Vec<&Node>,
        (kind, name): (CheckKind, &str),
        request: &ExecRequest,
        judge: &(dyn Fn(ExecStatus, &str) -> (CheckStatus, String) + Sync),
    ) -> Vec<CheckResult> {
        let results = fan_out(targets, self.parallel, |node| async move {
            let result = |status, message: String, exit_code, output| CheckResult {
                kind,
                name: name.to_owned(),
                status,
                node: Some(node.name.clone()),
                message,
                exit_code,
                output,
            };
            if node.id.is_empty() {
                return result(
                    CheckStatus::Unreachable,
                    "the node was never created".to_owned(),
                    None,
                    None,
                );
            }
            let transport = match self.connect(backend, ctx, node, all).await {
                Ok(transport) => transport,
                Err(error) => return result(CheckStatus::Unreachable, error, None, None),
            };
            let captured = run_captured(
                transport.as_ref(),
                &node.name,
                None,
                request,
                &self.events,
                &self.cancel,
            )
            .await;
            match captured.status {
                Err(error) => result(CheckStatus::Unreachable, error, None, Some(captured.output)),
                Ok(status) => {
                    let (verdict, message) = judge(status, &captured.output);
                    let exit_code = match status {
                        ExecStatus::Exited(code) => Some(code),
                        _ => None,
                    };
                    result(verdict, message, exit_code, Some(captured.output))
                }
            }
        })
        .await;
        for result in &results {
            self.events.emit(EventKind::CheckResult {
                result: result.clone(),
            });
        }
        results
    }
}

/// A command as a result name: its first line, shortened to fit a summary.
fn command_label(command: &str) -> String {
    let first = command.lines().next().unwrap_or_default().trim();
    if first.chars().count() > 48 || command.lines().count() > 1 {
        format!("`{}…`", first.chars().take(47).collect::<String>())
    } else {
        format!("`{first}`")
    }
}

fn judge_command(status: ExecStatus, _output: &str) -> (CheckStatus, String) {
    match status {
        ExecStatus::Exited(0) => (CheckStatus::Pass, "ok".to_owned()),
        ExecStatus::TimedOut => (CheckStatus::Timeout, status.describe()),
        other => (CheckStatus::Fail, other.describe()),
    }
}
