//! The engine's side of [`NodeHost`]: a distribution's commands and files
//! reach nodes through their transports, every output line becomes an
//! event, and a command with a step shows as that step of its node.

use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;

use super::Engine;
use super::event::EventKind;
use super::exec::{PROGRESS_PREFIX, parse_progress};
use super::installer::step_status;
use crate::backend::{Backend, BackendContext};
use crate::distribution::{HostCommand, HostOutput, NodeHost};
use crate::model::{Node, StepStatus, Stream};
use crate::transport::{ExecRequest, ExecStatus, OnLine, SplitOutput, Upload};

/// Runs a distribution's work on the nodes of one cluster.
pub(super) struct EngineHost<'a> {
    pub engine: &'a Engine,
    pub backend: &'a dyn Backend,
    pub ctx: &'a BackendContext,
    /// Every node of the cluster: each node's environment names them all.
    pub cluster: &'a [Node],
    /// A command's timeout when it sets none (`install.timeout`).
    pub default_timeout: Option<Duration>,
}

impl EngineHost<'_> {
    fn node(&self, name: &str) -> Result<&Node, String> {
        self.cluster
            .iter()
            .find(|node| node.name == name)
            .ok_or_else(|| format!("node {name:?} is not a node of this cluster"))
    }

    async fn exec(&self, command: &HostCommand) -> Result<HostOutput, String> {
        let node = self.node(&command.node)?;
        let transport = self
            .engine
            .connect(self.backend, self.ctx, node, self.cluster)
            .await?;
        let request = ExecRequest {
            command: command.command.clone(),
            env: command.env.clone(),
            workdir: command.workdir.clone(),
            timeout: command.timeout.or(self.default_timeout),
        };
        let lines = Lines {
            engine: self.engine,
            node: &node.name,
            step: command.step.as_deref(),
            kept: SplitOutput::default(),
        };
        let status = transport
            .exec(&request, &lines, &self.engine.cancel)
            .await
            .map_err(|err| err.to_string())?;
        self.engine.events.flush_dropped();
        let kept = lines.kept.finish();
        Ok(HostOutput {
            exit_status: status.code(),
            signal: status.signal(),
            timed_out: status == ExecStatus::TimedOut,
            cancelled: status == ExecStatus::Cancelled,
            stdout: kept.stdout,
            stderr: kept.stderr,
            last_line: kept.last_line,
        })
    }
}

#[async_trait]
impl NodeHost for EngineHost<'_> {
    async fn run(&self, command: &HostCommand) -> Result<HostOutput, String> {
        let Some(step) = command.step.as_deref() else {
            return self.exec(command).await;
        };
        let mut output = None;
        let work = async {
            let ran = self
                .exec(command)
                .await
                .map_err(|error| (StepStatus::Failed, error))?;
            let failed = !ran.success();
            let status = if ran.timed_out {
                step_status(ExecStatus::TimedOut)
            } else if ran.cancelled {
                step_status(ExecStatus::Cancelled)
            } else {
                StepStatus::Failed
            };
            let description = ran.describe_failure();
            output = Some(ran);
            if failed {
                Err((status, description))
            } else {
                Ok(())
            }
        };
        let result = self.engine.step(&command.node, step, work).await;
        match (output, result) {
            (Some(output), _) => Ok(output),
            (None, Err(error)) => Err(error),
            (None, Ok(())) => Err(format!("{step} on {} gave no output", command.node)),
        }
    }

    async fn put(&self, node: &str, dest: &str, content: &[u8], mode: u32) -> Result<(), String> {
        let node = self.node(node)?;
        let transport = self
            .engine
            .connect(self.backend, self.ctx, node, self.cluster)
            .await?;
        transport
            .put(Upload::Bytes(content), dest, mode)
            .await
            .map_err(|err| err.to_string())
    }

    fn progress(&self, step: &str, node: Option<&str>, percent: Option<u8>, message: &str) {
        // Only nodes of this cluster: a plugin cannot make up rows.
        let node = node
            .filter(|name| self.cluster.iter().any(|known| known.name == *name))
            .unwrap_or("");
        self.engine.events.emit(EventKind::StepProgress {
            node: node.to_owned(),
            step: step.to_owned(),
            percent: percent.map(|percent| percent.min(100)),
            message: (!message.is_empty()).then(|| message.to_owned()),
        });
    }
}

/// A command's lines as output events, with a capped copy per stream.
struct Lines<'a> {
    engine: &'a Engine,
    node: &'a str,
    step: Option<&'a str>,
    kept: SplitOutput,
}

impl OnLine for Lines<'_> {
    fn line(&self, stream: Stream, line: &str) {
        if let (Some(step), Some(rest)) = (self.step, line.strip_prefix(PROGRESS_PREFIX)) {
            let (percent, message) = parse_progress(rest);
            self.engine.events.emit(EventKind::StepProgress {
                node: self.node.to_owned(),
                step: step.to_owned(),
                percent,
                message,
            });
            return;
        }
        self.kept.line(stream, line);
        self.engine.events.emit(EventKind::Output {
            node: self.node.to_owned(),
            stream,
            line: line.to_owned(),
        });
    }

    fn ready(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.engine.events.output_room())
    }
}
