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
    /// A directory relative to the node's root to run in; the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// The progress step the command's output belongs to; when set the run
    /// is shown as that step of the node (started, finished, how).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The phase's own timeout (the spec's `install.timeout`) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// How a command ended, with what it printed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostOutput {
    /// `None` when it was killed (signal, timeout, cancel).
    pub exit_status: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    pub timed_out: bool,
    #[serde(default)]
    pub cancelled: bool,
    pub stdout: String,
    pub stderr: String,
    /// The last non-blank line printed on either stream, which usually says
    /// what went wrong.
    #[serde(default)]
    pub last_line: String,
}

impl HostOutput {
    pub fn success(&self) -> bool {
        self.exit_status == Some(0)
    }

    /// How it ended, with its last line: `exit status 3: disk full`.
    pub fn describe_failure(&self) -> String {
        let how = match (self.exit_status, self.signal) {
            _ if self.timed_out => "timed out".to_owned(),
            _ if self.cancelled => "cancelled".to_owned(),
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => "killed".to_owned(),
        };
        if self.last_line.is_empty() {
            how
        } else {
            format!("{how}: {}", self.last_line)
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

    /// What the distribution says while `step` runs, about one node or (for
    /// `None`) the whole phase: shown as the step's progress.
    fn progress(&self, _step: &str, _node: Option<&str>, _percent: Option<u8>, _message: &str) {}
}
