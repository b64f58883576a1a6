//! What install and both ways of fetching an installer share: where the
//! material goes on a node, what the installer is (a file here, or a
//! download each node makes), the limits of a download, and how a step's
//! failure is told. Its own file so that install, fetch and fetch_node all
//! use it without importing each other in a circle.

use std::path::PathBuf;
use std::time::Duration;

use crate::model::StepStatus;
use crate::transport::ExecStatus;

/// Where install material goes, relative to the node's root.
pub const INSTALL_DIR: &str = "install";
pub(super) const CONFIG_FILE: &str = crate::spec::INSTALL_CONFIG_FILE;

/// A step's failure: how it ended and what to tell the user.
pub(super) type StepError = (StepStatus, String);

/// The name of the operation-wide step that downloads the installer. Its
/// events carry an empty `node`: it runs once, on this machine.
pub(super) const FETCH_STEP: &str = "fetch";

/// Where the installer comes from for the nodes.
pub(super) enum InstallerFile {
    /// A file on this machine (a path, or a download), uploaded to each node.
    Here(PathBuf),
    /// Downloaded by each node for itself (`url_fetch: node`).
    OnNode(NodeFetch),
}

/// An installer each node downloads for itself.
#[derive(Debug, Clone)]
pub(super) struct NodeFetch {
    pub url: String,
    pub sha256: Option<String>,
}

/// Where the installer comes from, and the name it gets on the nodes.
pub(super) type Installer = (InstallerFile, String);

/// Why install could not start: the step every node fails, and the reason.
pub(super) type MaterialError = (&'static str, String);

pub(super) fn step_status(status: ExecStatus) -> StepStatus {
    match status {
        ExecStatus::TimedOut => StepStatus::TimedOut,
        ExecStatus::Cancelled => StepStatus::Cancelled,
        _ => StepStatus::Failed,
    }
}

/// How far a download may go before it is given up.
#[derive(Debug, Clone, Copy)]
pub(super) struct FetchLimits {
    pub max_bytes: u64,
    pub connect_timeout: Duration,
    /// The longest wait for the next bytes; a slow but moving download is fine.
    pub read_timeout: Duration,
}

impl Default for FetchLimits {
    fn default() -> Self {
        Self {
            max_bytes: 2 << 30,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
        }
    }
}

/// The file name an installer fetched from `url` gets on the nodes: the last
/// path segment, reduced to characters that are safe in a shell word and a
/// path, or `installer` when nothing usable is left.
pub(super) fn installer_name(url: &str, reserved: &str) -> String {
    let segment = url::Url::parse(url)
        .ok()
        .and_then(|parsed| {
            parsed
                .path_segments()
                .and_then(|mut segments| segments.next_back().map(str::to_owned))
        })
        .unwrap_or_default();
    let name: String = segment
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.chars().all(|c| c == '.') || name == reserved {
        "installer".to_owned()
    } else {
        name
    }
}
