//! What an `export` bundle says about itself: `manifest.json` (every file
//! fetched, with its size, and every problem) and `errors.txt`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One file from a node, as the manifest lists it.
#[derive(Debug, Serialize)]
pub(super) struct FetchedEntry {
    pub(super) node: String,
    /// The path as the node names it.
    pub(super) source: String,
    /// Where it is in the bundle, under the top directory.
    pub(super) path: String,
    /// Its size on the node, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) size: Option<u64>,
    /// Bytes in the bundle.
    pub(super) bytes: u64,
    /// Cut at the cap: only the first `file_cap_bytes` are in the bundle.
    pub(super) truncated: bool,
    /// Some secret was replaced by `[redacted]` in it.
    pub(super) redacted: bool,
}

/// Something the bundle lacks.
#[derive(Debug, Clone, Serialize)]
pub(super) struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) path: Option<String>,
    pub(super) error: String,
}

impl Problem {
    pub(super) fn line(&self) -> String {
        let mut line = String::new();
        if let Some(node) = &self.node {
            line.push_str(node);
            line.push_str(": ");
        }
        if let Some(path) = &self.path {
            line.push_str(path);
            line.push_str(": ");
        }
        line.push_str(&self.error);
        line
    }
}

#[derive(Debug, Serialize)]
pub(super) struct Manifest<'a> {
    pub(super) cluster: &'a str,
    pub(super) uid: &'a str,
    pub(super) backend: &'a str,
    pub(super) created_at: String,
    pub(super) clusterdeck_version: &'static str,
    pub(super) file_cap_bytes: u64,
    /// What the bundle holds besides node files.
    pub(super) contents: Vec<&'static str>,
    pub(super) log_paths: &'a BTreeMap<String, Vec<String>>,
    pub(super) files: Vec<FetchedEntry>,
    pub(super) problems: Vec<Problem>,
    pub(super) not_included: &'static str,
}
