//! The built-in `script` distribution: today's installer script, run once
//! per role of each node. Its material (installer, rendered config, files)
//! is uploaded by the engine's install step first; then `configure` runs
//! `./<installer> <role>` as it always did, and each phase the spec lists in
//! `install.phases` runs it again with `CLUSTERDECK_PHASE` set, with
//! `CLUSTERDECK_NODES` naming the nodes the phase concerns (for `scale`, run
//! on every running node, the nodes added). A script that ignores
//! `CLUSTERDECK_PHASE` and lists no phases behaves as before.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::installer::{CONFIG_FILE, INSTALL_DIR, installer_name};
use crate::distribution::{Distribution, DistributionError, HostCommand, NodeHost, SCRIPT};
use crate::model::{
    ClusterView, ConfigSpec, Finding, Node, NodeState, Phase, PhaseVerdict, PortSpec, shell_quote,
};
use crate::spec::{InstallSource, InstallSpec};

pub(super) struct ScriptDistribution {
    install: InstallSpec,
    /// Nodes worked on at once.
    parallel: usize,
}

impl ScriptDistribution {
    pub fn new(install: &InstallSpec, parallel: usize) -> Self {
        Self {
            install: install.clone(),
            parallel: parallel.max(1),
        }
    }

    /// The installer's name on the nodes, as the install step uploads it.
    fn installer(&self) -> Option<String> {
        match self.install.from.as_ref()? {
            InstallSource::Path(path) => path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned()),
            InstallSource::Url(url) => Some(installer_name(url, CONFIG_FILE)),
        }
    }

    /// Whether the script is run for `phase` at all.
    fn takes_part(&self, phase: Phase) -> bool {
        phase == Phase::Configure || self.install.phases.contains(&phase)
    }

    /// [`Self::node_phase`] once `limit` lets it start.
    async fn limited(
        &self,
        limit: &tokio::sync::Semaphore,
        phase: Phase,
        node: &Node,
        involved: &str,
        installer: &str,
        host: &dyn NodeHost,
    ) -> PhaseVerdict {
        // Never closed, so acquiring only waits.
        let _permit = limit.acquire().await.ok();
        self.node_phase(phase, node, involved, installer, host)
            .await
    }

    async fn node_phase(
        &self,
        phase: Phase,
        node: &Node,
        involved: &str,
        installer: &str,
        host: &dyn NodeHost,
    ) -> PhaseVerdict {
        let verdict = |step: Option<String>, result: Result<(), String>| PhaseVerdict {
            node: node.name.clone(),
            ok: result.is_ok(),
            message: result.err().unwrap_or_default(),
            step,
        };
        if node.state != NodeState::Running {
            // A node that never came up, or is gone, has nothing to do.
            return verdict(None, Ok(()));
        }
        // The spec's own decommission command (Sahara's
        // `decommission_nodes`) comes first; a node it fails on is kept.
        if phase == Phase::Decommission
            && let Some(command) = &self.install.decommission
        {
            let run = HostCommand {
                node: node.name.clone(),
                command: command.clone(),
                env: Vec::new(),
                workdir: Some(INSTALL_DIR.to_owned()),
                timeout: self.install.timeout,
                step: Some(phase.as_str().to_owned()),
            };
            if let Err(error) = ran_ok(host.run(&run).await) {
                return verdict(Some(phase.as_str().to_owned()), Err(error));
            }
        }
        if !self.takes_part(phase) {
            return verdict(None, Ok(()));
        }
        let roles: Vec<&str> = if node.roles.is_empty() {
            vec![""]
        } else {
            node.roles.iter().map(String::as_str).collect()
        };
        for role in roles {
            let verb = match phase {
                Phase::Configure => "install",
                other => other.as_str(),
            };
            let step = if role.is_empty() {
                verb.to_owned()
            } else {
                format!("{verb}:{role}")
            };
            let run = HostCommand {
                node: node.name.clone(),
                command: format!("./{} {role}", shell_quote(installer)),
                env: vec![
                    ("CLUSTERDECK_ROLE".to_owned(), role.to_owned()),
                    ("CLUSTERDECK_CONFIG".to_owned(), CONFIG_FILE.to_owned()),
                    ("CLUSTERDECK_PHASE".to_owned(), phase.as_str().to_owned()),
                    ("CLUSTERDECK_NODES".to_owned(), involved.to_owned()),
                ],
                workdir: Some(INSTALL_DIR.to_owned()),
                timeout: self.install.timeout,
                step: Some(step.clone()),
            };
            if let Err(error) = ran_ok(host.run(&run).await) {
                return verdict(Some(step), Err(error));
            }
        }
        verdict(None, Ok(()))
    }
}

fn ran_ok(ran: Result<crate::distribution::HostOutput, String>) -> Result<(), String> {
    match ran {
        Ok(output) if output.success() => Ok(()),
        Ok(output) => Err(output.describe_failure()),
        Err(error) => Err(error),
    }
}

#[async_trait]
impl Distribution for ScriptDistribution {
    fn name(&self) -> &str {
        SCRIPT
    }

    async fn versions(&self) -> Result<Vec<String>, DistributionError> {
        Ok(Vec::new())
    }

    /// None: the script's config is passed on as written.
    async fn configs(&self, _version: &str) -> Result<Vec<ConfigSpec>, DistributionError> {
        Ok(Vec::new())
    }

    async fn node_processes(
        &self,
        _version: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, DistributionError> {
        Ok(BTreeMap::new())
    }

    async fn validate(&self, _cluster: &ClusterView) -> Result<Vec<Finding>, DistributionError> {
        Ok(Vec::new())
    }

    async fn validate_scaling(
        &self,
        _cluster: &ClusterView,
        _existing: &BTreeMap<String, u32>,
        _additional: &BTreeMap<String, i64>,
    ) -> Result<Vec<Finding>, DistributionError> {
        Ok(Vec::new())
    }

    async fn phase(
        &self,
        phase: Phase,
        cluster: &ClusterView,
        nodes: &[Node],
        host: &dyn NodeHost,
    ) -> Result<Vec<PhaseVerdict>, DistributionError> {
        let Some(installer) = self.installer() else {
            return Err(DistributionError::new(
                "the script distribution needs `install.from`",
            ));
        };
        let involved = nodes
            .iter()
            .map(|node| node.name.as_str())
            .collect::<Vec<_>>()
            .join(",");
        // `scale` tells the whole cluster of the nodes added, which it names.
        let targets = if phase == Phase::Scale {
            &cluster.nodes[..]
        } else {
            nodes
        };
        let limit = tokio::sync::Semaphore::new(self.parallel);
        let mut runs = Vec::with_capacity(targets.len());
        for node in targets {
            runs.push(self.limited(&limit, phase, node, &involved, &installer, host));
        }
        Ok(futures::future::join_all(runs).await)
    }

    async fn open_ports(
        &self,
        _cluster: &ClusterView,
        _group: &str,
    ) -> Result<Vec<PortSpec>, DistributionError> {
        Ok(Vec::new())
    }

    /// The spec's `install.log_paths` for the role, else the defaults.
    async fn log_paths(
        &self,
        _version: &str,
        role: &str,
    ) -> Result<Vec<String>, DistributionError> {
        Ok(self
            .install
            .log_paths
            .get(role)
            .cloned()
            .unwrap_or_else(|| {
                super::export_paths::DEFAULT_LOG_PATHS
                    .iter()
                    .map(|path| (*path).to_owned())
                    .collect()
            }))
    }
}
