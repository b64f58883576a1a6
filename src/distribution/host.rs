//! What a distribution may do on nodes: run a command, write a file. The
//! engine answers through each node's transport, with every output line an
//! event of the phase's step, so a phase shows progress per node.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// A command on one node, run from the node's root like a debugger's `run`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCommand {
    pub node: String,
    pub command: String,
    #[serde(default)]
    pub env: Vec<(String, String)>,
    /// The phase's own timeout (the spec's `install.timeout`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// How a command ended, with the end of its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutput {
    /// `None` when it was killed (signal, timeout, cancel).
    pub exit_status: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl HostOutput {
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    /// One line saying how it failed, with its last output line.
    pub fn describe_failure(&self) -> String {
        let how = match (self.exit_status, self.timed_out) {
            (_, true) => "timed out".to_owned(),
            (Some(code), _) => format!("exited with status {code}"),
            (None, _) => "was killed".to_owned(),
        };
        let last_of = |text: &'_ str| {
            text.lines()
                .rev()
                .find(|line| !line.trim().is_empty())
                .map(str::to_owned)
        };
        let last = last_of(&self.stderr).or_else(|| last_of(&self.stdout));
        match last {
            Some(line) => format!("{how}: {line}"),
            None => how,
        }
    }
}

#[async_trait]
pub trait NodeHost: Send + Sync {
    /// Runs a command; `Err` when the node cannot be reached.
    async fn run(&self, command: &HostCommand) -> Result<HostOutput, String>;

    /// Writes `content` to `dest` on `node` (relative to its root),
    /// creating parent directories.
    async fn put(&self, node: &str, dest: &str, content: &[u8], mode: u32) -> Result<(), String>;
}
