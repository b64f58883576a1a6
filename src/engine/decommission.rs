//! The decommission step of a shrink (Sahara's `decommission_nodes`): the
//! spec's `install.decommission` command runs on each node about to be
//! removed, so it can drain work or hand its data on first. A node whose
//! command fails is kept: removing it anyway could lose what it holds.

use super::Engine;
use super::exec::{fan_out, run_captured};
use super::installer::{INSTALL_DIR, command_outcome};
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState, StepStatus};
use crate::spec::InstallSpec;
use crate::transport::ExecRequest;

const STEP: &str = "decommission";

impl Engine {
    /// Runs the decommission command on every running victim; returns the
    /// victims that may be removed, and adds a failure for each kept one.
    /// Without a command every victim may go.
    pub(super) async fn decommission(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        install: Option<&InstallSpec>,
        cluster: &[Node],
        victims: Vec<Node>,
        failures: &mut Vec<NodeFailure>,
    ) -> Vec<Node> {
        let Some((command, timeout)) = install.and_then(|install| {
            install
                .decommission
                .as_deref()
                .map(|command| (command, install.timeout))
        }) else {
            return victims;
        };
        let results = fan_out(victims, self.parallel, |node| async move {
            // A node that never came up, or is gone, has nothing to hand on.
            if node.state != NodeState::Running {
                return (node, Ok(()));
            }
            let request = ExecRequest {
                command: command.to_owned(),
                env: Vec::new(),
                workdir: Some(INSTALL_DIR.to_owned()),
                timeout,
            };
            let run = async {
                let transport = self
                    .connect(backend, ctx, &node, cluster)
                    .await
                    .map_err(|error| (StepStatus::Failed, error))?;
                let captured = run_captured(
                    transport.as_ref(),
                    &node.name,
                    Some(STEP),
                    &request,
                    &self.events,
                    &self.cancel,
                )
                .await;
                command_outcome(&captured)
            };
            let result = self.step(&node.name, STEP, run).await;
            (node, result)
        })
        .await;
        let mut cleared = Vec::new();
        for (node, result) in results {
            match result {
                Ok(()) => cleared.push(node),
                Err(error) => failures.push(NodeFailure {
                    node: node.name,
                    step: STEP.to_owned(),
                    error: format!("{error}; the node is kept"),
                }),
            }
        }
        cleared
    }
}
