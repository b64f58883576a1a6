//! Driving a cluster's distribution: which one a spec names (the built-in
//! script or a plugin), its checks before anything is created, and its
//! phases on nodes, each node's phase shown as a step.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::Engine;
use super::event::EventKind;
use super::host::EngineHost;
use super::script::ScriptDistribution;
use super::up::elapsed_ms;
use crate::distribution::{Distribution, check_values, cluster_view};
use crate::model::{
    ClusterView, ConfigSpec, Node, NodeFailure, NodeState, Phase, StepStatus, ValidatorOutcome,
};
use crate::spec::{ClusterSpec, InstallSpec, LoadedSpec, process_env, resolve_env_references};
use crate::state::ClusterRecord;

/// The validator name of the distribution's own checks.
const CHECK: &str = "distribution";

/// A distribution started for one operation, with the version and configs
/// the spec's values are rendered with.
pub(super) struct ActiveDistribution {
    pub distribution: Arc<dyn Distribution>,
    pub version: String,
    pub configs: Vec<ConfigSpec>,
}

impl ActiveDistribution {
    /// The cluster as it sees it, with `{env: NAME}` values resolved: the
    /// phases need the real values. Never put in events or state.
    pub fn view(
        &self,
        spec: &ClusterSpec,
        sizes: &BTreeMap<String, u32>,
        nodes: &[Node],
    ) -> Result<ClusterView, String> {
        let mut view = cluster_view(spec, &self.configs, &self.version, sizes, nodes);
        let resolve = |config: &BTreeMap<String, serde_json::Value>| {
            let value = serde_json::Value::Object(config.clone().into_iter().collect());
            resolve_env_references(&value, &process_env).map(|resolved| match resolved {
                serde_json::Value::Object(map) => map.into_iter().collect(),
                _ => BTreeMap::new(),
            })
        };
        view.config = resolve(&view.config)?;
        for group in &mut view.groups {
            group.config = resolve(&group.config)?;
        }
        Ok(view)
    }
}

/// Starts the spec's distribution; the error says why it cannot be used.
pub(super) async fn start_distribution(
    loaded: &LoadedSpec,
    install: &InstallSpec,
    parallel: usize,
) -> Result<ActiveDistribution, String> {
    let distribution: Arc<dyn Distribution> = if install.is_script() {
        Arc::new(ScriptDistribution::new(install, parallel))
    } else {
        let path = install.path.as_deref().map(|path| loaded.resolve(path));
        crate::plugin::launch_distribution(&install.distribution, path.as_deref())
            .await
            .map_err(|err| err.to_string())?
    };
    let versions = distribution
        .versions()
        .await
        .map_err(|err| err.to_string())?;
    let version = match (&install.version, versions.first()) {
        (Some(asked), _) if versions.is_empty() || versions.contains(asked) => asked.clone(),
        (Some(asked), _) => {
            return Err(format!(
                "distribution {} has no version {asked:?}; its versions: {}",
                install.distribution,
                versions.join(", ")
            ));
        }
        (None, Some(newest)) => newest.clone(),
        (None, None) => String::new(),
    };
    let configs = distribution
        .configs(&version)
        .await
        .map_err(|err| err.to_string())?;
    Ok(ActiveDistribution {
        distribution,
        version,
        configs,
    })
}

/// The distribution's checks of a spec before anything exists: it can be
/// started, the version exists, every config value fits its type (all
/// reported at once, each at its place in the file), then its own
/// `validate` of the planned cluster.
pub(super) async fn distribution_outcomes(loaded: &LoadedSpec) -> Vec<ValidatorOutcome> {
    let Some(install) = loaded.spec.install.as_ref() else {
        return Vec::new();
    };
    let mut outcomes = check_distribution(loaded, install).await;
    for outcome in &mut outcomes {
        if let Some(field) = &outcome.field {
            outcome.location = loaded.positions.source_location(field);
        }
    }
    outcomes
}

async fn check_distribution(loaded: &LoadedSpec, install: &InstallSpec) -> Vec<ValidatorOutcome> {
    let field = if install.version.is_some() {
        "install.version"
    } else {
        "install.distribution"
    };
    let active = match start_distribution(loaded, install, 1).await {
        Ok(active) => active,
        Err(error) => return vec![ValidatorOutcome::failed_at(CHECK, field, error)],
    };
    let label = if active.version.is_empty() {
        install.distribution.clone()
    } else {
        format!("{} {}", install.distribution, active.version)
    };
    let mut outcomes: Vec<ValidatorOutcome> = check_values(&active.configs, &loaded.spec, &label)
        .into_iter()
        .map(|finding| {
            ValidatorOutcome::failed_at(
                CHECK,
                finding.field.unwrap_or_else(|| "install.config".to_owned()),
                finding.message,
            )
        })
        .collect();
    if outcomes.is_empty() {
        let view = cluster_view(
            &loaded.spec,
            &active.configs,
            &active.version,
            &BTreeMap::new(),
            &[],
        );
        match active.distribution.validate(&view).await {
            Ok(findings) => outcomes.extend(findings.into_iter().map(|finding| {
                ValidatorOutcome::failed_at(
                    CHECK,
                    finding.field.unwrap_or_else(|| "install".to_owned()),
                    finding.message,
                )
            })),
            Err(error) => outcomes.push(ValidatorOutcome::failed_at(
                CHECK,
                "install.distribution",
                error.to_string(),
            )),
        }
    }
    // The script's config is untyped and it judges nothing: no outcome to
    // show for it, as before distributions existed.
    if outcomes.is_empty() && !install.is_script() {
        outcomes.push(ValidatorOutcome::new(
            CHECK,
            true,
            format!(
                "{label}: {} typed config(s), every value fits, the cluster as planned is accepted",
                active.configs.len()
            ),
        ));
    }
    outcomes
}

/// The spec as it was recorded, loaded again to resolve its paths.
pub(super) fn recorded_spec(record: &ClusterRecord) -> LoadedSpec {
    LoadedSpec {
        spec: record.spec.clone(),
        path: std::path::PathBuf::from(&record.spec_path),
        // Phases need no positions: they only locate validator findings.
        positions: Default::default(),
    }
}

/// Each group's size as recorded.
pub(super) fn recorded_sizes(record: &ClusterRecord) -> BTreeMap<String, u32> {
    record
        .groups
        .iter()
        .map(|size| (size.name.clone(), size.count))
        .collect()
}

impl Engine {
    /// Runs `phase` on `nodes` and returns the nodes it failed on. A plugin
    /// phase shows as a step of each node; the script shows its own steps
    /// (one per role) through the host.
    pub(super) async fn run_phase(
        &self,
        active: &ActiveDistribution,
        phase: Phase,
        view: &ClusterView,
        nodes: &[Node],
        host: &EngineHost<'_>,
    ) -> Vec<NodeFailure> {
        if nodes.is_empty() {
            return Vec::new();
        }
        let own_steps = active.distribution.name() != crate::distribution::SCRIPT;
        let step = phase.as_str();
        let started = Instant::now();
        if own_steps {
            for node in nodes {
                self.events.emit(EventKind::StepStarted {
                    node: node.name.clone(),
                    step: step.to_owned(),
                });
            }
        }
        let answered = active
            .distribution
            .phase(phase, view, nodes, host)
            .await
            .map_err(|err| err.to_string());
        let mut failures = Vec::new();
        for node in nodes {
            let error = match &answered {
                Err(error) => Some((step.to_owned(), error.clone())),
                Ok(verdicts) => match verdicts.iter().find(|verdict| verdict.node == node.name) {
                    Some(verdict) if verdict.ok => None,
                    Some(verdict) => Some((
                        verdict.step.clone().unwrap_or_else(|| step.to_owned()),
                        if verdict.message.is_empty() {
                            format!("{step} failed")
                        } else {
                            verdict.message.clone()
                        },
                    )),
                    None => Some((
                        step.to_owned(),
                        format!(
                            "distribution {} said nothing about this node",
                            active.distribution.name()
                        ),
                    )),
                },
            };
            if own_steps {
                self.events.emit(EventKind::StepFinished {
                    node: node.name.clone(),
                    step: step.to_owned(),
                    status: if error.is_some() {
                        StepStatus::Failed
                    } else {
                        StepStatus::Ok
                    },
                    elapsed_ms: elapsed_ms(started),
                    error: error.as_ref().map(|(_, error)| error.clone()),
                });
            }
            if let Some((step, error)) = error {
                failures.push(NodeFailure {
                    node: node.name.clone(),
                    step,
                    error,
                });
            }
        }
        // A phase may work on other nodes than those it concerns (`scale`
        // tells the existing ones); what failed there failed too.
        if let Ok(verdicts) = &answered {
            failures.extend(
                verdicts
                    .iter()
                    .filter(|verdict| !verdict.ok)
                    .filter(|verdict| !nodes.iter().any(|node| node.name == verdict.node))
                    .map(|verdict| NodeFailure {
                        node: verdict.node.clone(),
                        step: verdict.step.clone().unwrap_or_else(|| step.to_owned()),
                        error: verdict.message.clone(),
                    }),
            );
        }
        failures
    }

    /// The distribution's `on_terminate` before a cluster is destroyed. It
    /// cannot stop the destroy: what fails is a warning.
    pub(super) async fn terminate(
        &self,
        record: &ClusterRecord,
        backend: &dyn crate::backend::Backend,
        ctx: &crate::backend::BackendContext,
    ) {
        let Some(install) = record.spec.install.as_ref() else {
            return;
        };
        let running: Vec<Node> = record
            .nodes
            .iter()
            .filter(|node| node.state == NodeState::Running)
            .cloned()
            .collect();
        if running.is_empty() || self.cancel.is_cancelled() {
            return;
        }
        let loaded = recorded_spec(record);
        let warn = |error: String| {
            self.events.warn(
                None,
                format!(
                    "the distribution's on_terminate could not run ({error}); destroying anyway"
                ),
            );
        };
        let active = match start_distribution(&loaded, install, self.parallel).await {
            Ok(active) => active,
            Err(error) => return warn(error),
        };
        let view = match active.view(&record.spec, &recorded_sizes(record), &record.nodes) {
            Ok(view) => view,
            Err(error) => return warn(error),
        };
        let host = EngineHost {
            engine: self,
            backend,
            ctx,
            cluster: &record.nodes,
            default_timeout: install.timeout,
        };
        for failure in self
            .run_phase(&active, Phase::Terminate, &view, &running, &host)
            .await
        {
            self.events.warn(
                Some(&failure.node),
                format!("on_terminate failed ({}); destroying anyway", failure.error),
            );
        }
    }
}

/// What the dashboard shows of a cluster's distribution: its configs with
/// the values in force (as written: an `{env: NAME}` stays a reference, so
/// no secret is shown) and the processes each role runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DistributionSummary {
    pub name: String,
    pub version: String,
    pub configs: Vec<ConfigValue>,
    /// Role → the processes it runs.
    pub processes: BTreeMap<String, Vec<String>>,
}

/// One config and its value for the cluster, or per group for a
/// node-scope config.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigValue {
    pub config: ConfigSpec,
    /// `(None, value)` for the cluster; `(Some(group), value)` per group.
    pub values: Vec<(Option<String>, serde_json::Value)>,
}

impl Engine {
    /// The distribution of a recorded cluster, described for the dashboard;
    /// `None` when the cluster installs nothing.
    pub async fn describe_distribution(
        &self,
        cluster: &str,
    ) -> Result<Option<DistributionSummary>, super::EngineError> {
        let record = self.store.load(cluster)?;
        let Some(install) = record.spec.install.as_ref() else {
            return Ok(None);
        };
        let loaded = recorded_spec(&record);
        let active = start_distribution(&loaded, install, 1)
            .await
            .map_err(super::EngineError::Invalid)?;
        let processes = active
            .distribution
            .node_processes(&active.version)
            .await
            .map_err(|err| super::EngineError::Invalid(err.to_string()))?;
        let view = cluster_view(
            &record.spec,
            &active.configs,
            &active.version,
            &recorded_sizes(&record),
            &record.nodes,
        );
        let configs = active
            .configs
            .iter()
            .map(|config| {
                let values = match config.scope {
                    crate::model::ConfigScope::Cluster => view
                        .config
                        .get(&config.name)
                        .map(|value| vec![(None, value.clone())])
                        .unwrap_or_default(),
                    crate::model::ConfigScope::Node => view
                        .groups
                        .iter()
                        .filter_map(|group| {
                            group
                                .config
                                .get(&config.name)
                                .map(|value| (Some(group.name.clone()), value.clone()))
                        })
                        .collect(),
                };
                ConfigValue {
                    config: config.clone(),
                    values,
                }
            })
            .collect();
        Ok(Some(DistributionSummary {
            name: install.distribution.clone(),
            version: active.version,
            configs,
            processes,
        }))
    }
}

impl Engine {
    /// The ports each group's nodes need opened, by group. A distribution
    /// that cannot say is warned about: the nodes are made without them.
    pub(super) async fn open_ports(
        &self,
        active: &ActiveDistribution,
        spec: &ClusterSpec,
    ) -> BTreeMap<String, Vec<crate::model::PortSpec>> {
        let view = cluster_view(
            spec,
            &active.configs,
            &active.version,
            &BTreeMap::new(),
            &[],
        );
        let mut ports = BTreeMap::new();
        for group in &spec.node_groups {
            match active.distribution.open_ports(&view, &group.name).await {
                Ok(open) if !open.is_empty() => {
                    ports.insert(group.name.clone(), open);
                }
                Ok(_) => {}
                Err(error) => self.events.warn(
                    None,
                    format!("no ports opened for group {}: {error}", group.name),
                ),
            }
        }
        ports
    }
}

impl Engine {
    /// What `export` fetches per role: the distribution's `log_paths` for
    /// every role of the cluster (and for nodes without one). Without an
    /// `install`, or when the distribution cannot answer (said as a
    /// warning), the spec's `install.log_paths` and the defaults.
    pub(super) async fn distribution_log_paths(
        &self,
        record: &ClusterRecord,
    ) -> BTreeMap<String, Vec<String>> {
        let Some(install) = record.spec.install.as_ref() else {
            return super::export_paths::log_paths_for(&record.spec);
        };
        let fallback = |error: String| {
            self.events.warn(
                None,
                format!(
                    "distribution {}: {error}; fetching the default log paths",
                    install.distribution
                ),
            );
            super::export_paths::log_paths_for(&record.spec)
        };
        let active = match start_distribution(&recorded_spec(record), install, 1).await {
            Ok(active) => active,
            Err(error) => return fallback(error),
        };
        let mut paths = BTreeMap::new();
        let roles = record
            .spec
            .roles()
            .into_iter()
            .chain([super::export_paths::NO_ROLE.to_owned()]);
        for role in roles {
            match active.distribution.log_paths(&active.version, &role).await {
                Ok(found) => {
                    paths.insert(role, found);
                }
                Err(error) => return fallback(error.to_string()),
            }
        }
        paths
    }
}
