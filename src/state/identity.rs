//! What `destroy` needs to know about a cluster when its record cannot be
//! read: which backend made its resources, with which options, and the uid
//! they are labelled with. Written before any resource exists, and kept
//! apart from the record so that damage to one leaves the other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterIdentity {
    pub name: String,
    pub uid: String,
    pub backend: String,
    /// The backend plugin's file (absolute) when the spec named one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_path: Option<std::path::PathBuf>,
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
}
