//! How commands and files reach a node. Transports know nothing of backends:
//! a backend describes each node's [`Endpoint`] as data, [`connect`] builds
//! the transport from it, and install, run and debug work through that
//! transport the same way on every backend.

mod connect;
pub mod docker;
mod files;
mod lines;
mod local;
pub mod ssh;
mod streams;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

pub use connect::connect;
pub use files::{DEFAULT_FILE_CAP, Listed, MAX_LISTED_FILES, is_safe_pattern, list_files};
pub use lines::LINE_LIMIT;
pub use local::LocalTransport;
pub use streams::{Kept, STREAM_LIMIT, SplitOutput};

use crate::model::Stream;

/// A shell command to run on a node.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub command: String,
    /// Extra environment on top of the node's own.
    pub env: Vec<(String, String)>,
    /// Directory relative to the node's root; the root itself when `None`.
    pub workdir: Option<String>,
    pub timeout: Option<Duration>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecStatus {
    Exited(i32),
    Signaled(i32),
    TimedOut,
    Cancelled,
}

impl ExecStatus {
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }

    /// The exit status, when the command exited by itself.
    pub fn code(self) -> Option<i32> {
        match self {
            Self::Exited(code) => Some(code),
            _ => None,
        }
    }

    /// The signal that killed it, when one did.
    pub fn signal(self) -> Option<i32> {
        match self {
            Self::Signaled(signal) => Some(signal),
            _ => None,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Self::Exited(code) => format!("exit status {code}"),
            Self::Signaled(signal) => format!("killed by signal {signal}"),
            Self::TimedOut => "timed out".to_owned(),
            Self::Cancelled => "cancelled".to_owned(),
        }
    }
}

/// What to put on a node.
#[derive(Debug, Clone, Copy)]
pub enum Upload<'a> {
    File(&'a Path),
    Bytes(&'a [u8]),
}

/// A file read from a node: its first `max_bytes` at most.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchedFile {
    pub data: Vec<u8>,
    /// The file's whole size on the node, when the transport learns it.
    pub size: Option<u64>,
    /// Whether bytes past the cap were left on the node.
    pub truncated: bool,
}

/// The error of a file that is not there (or is not a regular file).
pub(crate) fn missing_file(path: &str, why: impl std::fmt::Display) -> TransportError {
    TransportError::Io {
        context: format!("cannot read {path}"),
        source: std::io::Error::new(std::io::ErrorKind::NotFound, why.to_string()),
    }
}

/// Why a node could not be reached, so callers can tell a wrong key from a
/// machine that is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectErrorKind {
    /// Nothing listens there (connection refused).
    Refused,
    /// No answer in time.
    Timeout,
    /// The host name does not resolve.
    Unresolved,
    /// The host key is not in known_hosts and the policy is strict.
    HostKeyUnknown,
    /// The host key differs from the one known_hosts records.
    HostKeyMismatch,
    /// Every credential was refused, or none was usable.
    Auth,
    /// The connection closed under us.
    Closed,
    /// No transport exists for this kind of endpoint yet.
    Unsupported,
    Other,
}

impl ConnectErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refused => "connection refused",
            Self::Timeout => "timeout",
            Self::Unresolved => "unknown host",
            Self::HostKeyUnknown => "unknown host key",
            Self::HostKeyMismatch => "host key mismatch",
            Self::Auth => "authentication failed",
            Self::Closed => "connection closed",
            Self::Unsupported => "unsupported",
            Self::Other => "connection failed",
        }
    }
}

/// A failure to reach a node, with its kind kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub kind: ConnectErrorKind,
    pub message: String,
}

impl ConnectError {
    pub fn new(kind: ConnectErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The node is gone, with no more detail (a local node's directory).
    #[error("node unreachable: {0}")]
    Unreachable(String),
    #[error("node unreachable ({}): {}", .0.kind.as_str(), .0.message)]
    Connect(ConnectError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("refusing path {0:?}: it must stay inside the node's directory")]
    PathEscapes(String),
}

impl TransportError {
    /// Why the node could not be reached, when that is what went wrong.
    pub fn connect_kind(&self) -> Option<ConnectErrorKind> {
        match self {
            Self::Connect(error) => Some(error.kind),
            _ => None,
        }
    }
}

impl From<ConnectError> for TransportError {
    fn from(error: ConnectError) -> Self {
        Self::Connect(error)
    }
}

/// Sleeps until the deadline, or forever without one (a `select!` arm that
/// never fires).
pub(crate) async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Receives a command's output line by line, each capped at [`LINE_LIMIT`].
pub trait OnLine: Send + Sync {
    fn line(&self, stream: Stream, line: &str);

    /// Resolves when the receiver can take more lines. A transport that can
    /// pause its reading awaits it between reads, so a slow frontend blocks
    /// the node on its pipe instead of growing a queue; the receiver drops
    /// (and counts) what a transport sends regardless.
    fn ready(&self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
}

impl<F: Fn(Stream, &str) + Send + Sync> OnLine for F {
    fn line(&self, stream: Stream, line: &str) {
        self(stream, line);
    }
}

/// Receives each output line as it arrives.
pub type LineSink<'a> = &'a dyn OnLine;

#[async_trait]
pub trait Transport: Send + Sync {
    /// Runs a command, streaming its lines to `on_line`; returns when it ends,
    /// times out (the command is killed) or `cancel` fires (likewise).
    async fn exec(
        &self,
        request: &ExecRequest,
        on_line: LineSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ExecStatus, TransportError>;

    /// Writes `upload` to `dest`, a path relative to the node's root,
    /// creating parent directories.
    async fn put(&self, upload: Upload<'_>, dest: &str, mode: u32) -> Result<(), TransportError>;

    /// Reads the regular file at `path` (relative to the node's root; an
    /// absolute path where the transport allows it), keeping at most
    /// `max_bytes`: memory stays bounded whatever the file's size.
    async fn get(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError>;
}
