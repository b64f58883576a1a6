//! `up`: validate → provision → install → debuggers.

use std::collections::BTreeMap;
use std::time::Instant;

use super::distribution::start_distribution;

use super::event::EventKind;
use super::plan::UpPlan;
use super::{Engine, EngineError, OperationReport};
use crate::backend::Backend;
use crate::checks::run_validators;
use crate::model::{
    CheckResult, CheckStatus, Node, NodeFailure, NodeState, OperationKind, Outcome, ResourceScope,
    Summary, ValidatorOutcome, new_uid, now,
};
use crate::spec::LoadedSpec;
use crate::state::{
    ClusterIdentity, ClusterRecord, ClusterStatus, GroupSize, LockMode, RECORD_VERSION, StateError,
};

impl Engine {
    /// Everything `up` would check and create, with no side effects.
    pub async fn validate(&self, loaded: &LoadedSpec) -> (Vec<ValidatorOutcome>, UpPlan) {
        validate_with(loaded, self.spec_backend(loaded)).await
    }

    /// Runs the validators again on an existing cluster's recorded spec.
    pub(crate) async fn revalidate(&self, cluster: &str) -> Result<OperationReport, EngineError> {
        let record = self.store.load(cluster)?;
        let path = std::path::PathBuf::from(&record.spec_path);
        // Findings point into the spec file only while it still says what
        // was recorded; once edited, its positions would point elsewhere.
        let positions = LoadedSpec::from_file(&path)
            .ok()
            .filter(|file| {
                // The record keeps the backend's path resolved.
                let mut spec = file.spec.clone();
                spec.backend.path = file.backend_path();
                spec == record.spec
            })
            .map(|file| file.positions)
            .unwrap_or_default();
        let loaded = LoadedSpec {
            spec: record.spec.clone(),
            path,
            positions,
        };
        self.start(OperationKind::Validate, cluster);
        let (validators, _) = self.validate(&loaded).await;
        self.emit_validators(&validators);
        let failed = validators
            .iter()
            .filter(|outcome| outcome.status != CheckStatus::Pass)
            .count();
        let mut summary = Summary {
            nodes_total: record.nodes.len(),
            validators,
            ..Summary::default()
        };
        let outcome = if failed == 0 {
            Outcome::Succeeded
        } else {
            summary.reason = Some(format!("{failed} validator(s) failed"));
            Outcome::Failed
        };
        Ok(self.finish(OperationKind::Validate, cluster, outcome, summary))
    }

    fn emit_validators(&self, validators: &[ValidatorOutcome]) {
        for outcome in validators {
            self.events.emit(EventKind::CheckResult {
                result: outcome.into(),
            });
        }
    }

    pub(crate) async fn up(&self, loaded: &LoadedSpec) -> Result<OperationReport, EngineError> {
        self.up_steps(loaded, true).await
    }

    /// Records a cluster of existing machines (a backend that cannot create)
    /// without installing or running debuggers, so it can be attached to.
    pub(crate) async fn adopt(&self, loaded: &LoadedSpec) -> Result<OperationReport, EngineError> {
        let creates = self
            .spec_backend(loaded)
            .map(|backend| backend.capabilities().create)
            .unwrap_or(true);
        if creates {
            return Err(EngineError::Invalid(format!(
                "cluster {:?} is not up, and backend {:?} creates machines: run `clusterdeck up` first",
                loaded.spec.name, loaded.spec.backend.kind
            )));
        }
        self.up_steps(loaded, false).await
    }

    async fn up_steps(
        &self,
        loaded: &LoadedSpec,
        install_and_check: bool,
    ) -> Result<OperationReport, EngineError> {
        let spec = &loaded.spec;
        let name = spec.name.as_str();
        let (validators, plan) = self.validate(loaded).await;
        let lock = self.store.lock(name, LockMode::Exclusive)?;
        self.refuse_existing(name)?;
        let started_at = self.start(OperationKind::Up, name);
        let mut summary = Summary {
            nodes_total: plan.nodes.len(),
            ..Summary::default()
        };
        self.emit_validators(&validators);
        let failed = validators
            .iter()
            .filter(|outcome| outcome.status != CheckStatus::Pass)
            .count();
        summary.validators = validators;
        let backend = match self.spec_backend(loaded) {
            Ok(backend) if failed == 0 => backend,
            _ => {
                drop(lock);
                // Nothing was created; leave no trace of the attempt.
                let _ = self.store.remove(name);
                summary.reason = Some(format!("{failed} validator(s) failed; nothing was created"));
                return Ok(self.finish(OperationKind::Up, name, Outcome::Failed, summary));
            }
        };

        // Secret options (cloud keys) reach the backend for this run only;
        // the record and the identity keep the spec without them.
        let mut stored_spec = spec.clone();
        stored_spec.backend.options =
            crate::backend::without_secrets(&backend.option_schema(), &spec.backend.options);
        // Absolute, so later commands find the same plugin from anywhere.
        stored_spec.backend.path = loaded.backend_path();
        let mut record = ClusterRecord {
            version: RECORD_VERSION,
            name: name.to_owned(),
            uid: new_uid(name),
            spec: stored_spec,
            spec_path: std::fs::canonicalize(&loaded.path)
                .unwrap_or_else(|_| loaded.path.clone())
                .display()
                .to_string(),
            status: ClusterStatus::Creating,
            nodes: Vec::new(),
            groups: GroupSize::of_spec(spec),
            created_at: started_at.clone(),
            updated_at: started_at.clone(),
            last_operation: None,
        };
        // The identity and the record exist before any resource, so destroy
        // can always find them, even if the record is later lost.
        let mut identity = ClusterIdentity {
            name: name.to_owned(),
            uid: record.uid.clone(),
            backend: spec.backend.kind.clone(),
            backend_path: record.spec.backend.path.clone(),
            options: record.spec.backend.options.clone(),
        };
        self.store.save_identity(&identity)?;
        self.store.save(&record)?;
        identity.options = spec.backend.options.clone();
        let ctx = self.context_of(&identity, backend.as_ref())?;
        self.events.emit(EventKind::Plan {
            nodes: plan.nodes.clone(),
        });

        // Started once for the whole `up`: it names the ports each group
        // needs before the nodes exist, then configures and starts them.
        let active = match spec.install.as_ref().filter(|_| install_and_check) {
            Some(install) => Some(start_distribution(loaded, install, self.parallel).await),
            None => None,
        };
        let ports = match &active {
            Some(Ok(active)) => self.open_ports(active, spec).await,
            _ => BTreeMap::new(),
        };
        let nodes = self
            .provision(backend.as_ref(), &ctx, spec, &ports, &mut summary)
            .await;
        record.nodes = nodes;
        record.updated_at = now();
        self.store.save(&record)?;

        if let Some(active) = active
            && !self.cancel.is_cancelled()
        {
            let failures = match active {
                Ok(active) => {
                    let sizes = super::distribution::recorded_sizes(&record);
                    self.install_all(
                        loaded,
                        &active,
                        (backend.as_ref(), &ctx),
                        &record.nodes,
                        &record.nodes,
                        &sizes,
                    )
                    .await
                }
                Err(error) => record
                    .nodes
                    .iter()
                    .filter(|node| node.state == NodeState::Running)
                    .map(|node| NodeFailure {
                        node: node.name.clone(),
                        step: "distribution".to_owned(),
                        error: error.clone(),
                    })
                    .collect(),
            };
            mark_failed(&mut record.nodes, &failures);
            summary.failures.extend(failures);
        }

        if install_and_check && !spec.checks.debuggers.is_empty() && !self.cancel.is_cancelled() {
            let results = self
                .run_debuggers(
                    OperationKind::Up,
                    &spec.checks.debuggers,
                    (backend.as_ref(), &ctx),
                    &record,
                )
                .await;
            summary.record_results(&results);
        }

        let running = record
            .nodes
            .iter()
            .filter(|node| node.state == NodeState::Running)
            .count();
        let (outcome, status) = if self.cancel.is_cancelled() {
            summary.reason = Some(format!(
                "cancelled; what was created is recorded: `clusterdeck destroy {name}` removes it"
            ));
            (Outcome::Cancelled, ClusterStatus::Degraded)
        } else if running == 0 {
            summary.reason = Some(format!("no node came up: {}", summary.failure_reason()));
            (Outcome::Failed, ClusterStatus::Failed)
        } else if !summary.failures.is_empty() || !summary.tally.all_passed() {
            summary.reason = Some(summary.failure_reason());
            (Outcome::Failed, ClusterStatus::Degraded)
        } else {
            (Outcome::Succeeded, ClusterStatus::Ready)
        };
        record.status = status;
        let report = self.finish(OperationKind::Up, name, outcome, summary);
        self.remember(&mut record, OperationKind::Up, started_at, &report);
        Ok(report)
    }

    /// `up` only makes a cluster where none is, and none was left behind.
    fn refuse_existing(&self, name: &str) -> Result<(), EngineError> {
        let leftover = |detail: String| StateError::Leftover {
            name: name.to_owned(),
            detail,
        };
        match self.store.try_load(name) {
            Ok(Some(existing)) => {
                return Err(StateError::AlreadyExists {
                    name: name.to_owned(),
                    status: existing.status.as_str().to_owned(),
                }
                .into());
            }
            Ok(None) => {}
            Err(StateError::Corrupt { detail, .. }) => {
                return Err(leftover(format!("its record is unreadable: {detail}")).into());
            }
            Err(err) => return Err(err.into()),
        }
        let outstanding = self.store.outstanding(name)?;
        if !outstanding.is_empty() {
            return Err(leftover(format!(
                "its ledger lists {} resource(s) that may still exist",
                outstanding.len()
            ))
            .into());
        }
        Ok(())
    }
}

/// Validators and plan for a spec given its backend (or why there is none).
/// Needs no state: `clusterdeck validate` works anywhere.
pub async fn validate_with(
    loaded: &LoadedSpec,
    backend: Result<std::sync::Arc<dyn Backend>, String>,
) -> (Vec<ValidatorOutcome>, UpPlan) {
    let backend_ref = match &backend {
        Ok(backend) => Ok(backend.as_ref()),
        Err(problem) => Err(problem.as_str()),
    };
    let mut outcomes = run_validators(loaded, backend_ref).await;
    outcomes.extend(super::distribution::distribution_outcomes(loaded).await);
    outcomes.extend(super::plugin_validators::run_plugin_validators(loaded).await);
    let mut plan = UpPlan::of(&loaded.spec);
    plan.backend_path = loaded.backend_path();
    (outcomes, plan)
}

fn mark_failed(nodes: &mut [Node], failures: &[NodeFailure]) {
    // A set: a list scan per node is quadratic on a 100,000-node cluster.
    let failed: std::collections::HashSet<&str> = failures
        .iter()
        .map(|failure| failure.node.as_str())
        .collect();
    for node in nodes {
        if failed.contains(node.name.as_str()) {
            node.state = NodeState::Failed;
        }
    }
}

pub(super) fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Summary {
    /// Adds per-node check or command results: folded, and tallied.
    pub fn record_results(&mut self, results: &[CheckResult]) {
        for result in results {
            self.tally.add(result.status);
        }
        self.results.extend(crate::checks::fold(results));
    }

    /// One line naming what went wrong, for the exit message.
    pub fn failure_reason(&self) -> String {
        let mut parts = Vec::new();
        if !self.failures.is_empty() {
            let nodes: Vec<&str> = self
                .failures
                .iter()
                .map(|failure| failure.node.as_str())
                .collect();
            parts.push(format!(
                "{} node(s) failed: {}",
                nodes.len(),
                crate::checks::nodeset::compact(&nodes)
            ));
        }
        let resources: Vec<String> = self
            .leftovers
            .iter()
            .filter(|leftover| !matches!(leftover.scope, ResourceScope::Node { .. }))
            .map(|leftover| format!("{} {}", leftover.kind, leftover.key))
            .collect();
        if !resources.is_empty() {
            parts.push(format!(
                "{} resource(s) remain: {}",
                resources.len(),
                resources.join(", ")
            ));
        }
        let tally = &self.tally;
        if !tally.all_passed() {
            parts.push(format!(
                "{} of {} check(s) did not pass ({} fail, {} timeout, {} unreachable)",
                tally.total() - tally.pass,
                tally.total(),
                tally.fail,
                tally.timeout,
                tally.unreachable
            ));
        }
        parts.join("; ")
    }
}
