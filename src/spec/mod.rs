//! The cluster spec: the one YAML file that describes a cluster.
//!
//! Parsing goes through a marked YAML tree (not serde) so that every problem in a
//! file is reported at once, each with its line and column.

mod decode;
mod error;
mod files;
mod installer_url;
mod log_paths;
mod positions;
mod prescan;
mod rules;
mod secrets;
mod source;
mod yaml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use error::{SpecError, SpecErrors, SpecLocation};
pub use files::is_contained_relative;
pub use installer_url::redact_userinfo;
pub use log_paths::is_valid_log_path;
pub use positions::SpecPositions;
pub use prescan::MAX_NESTING;
pub use rules::{MIN_TIMEOUT, is_valid_name};
pub use secrets::{env_reference, process_env, resolve_env_references};
pub use source::MAX_SPEC_BYTES;

/// The name the rendered `install.config` gets in the node's install
/// directory, next to the installer; `install.files` may not replace it.
pub const INSTALL_CONFIG_FILE: &str = "config.json";

/// Default timeout of a debugger that does not set one.
pub const DEFAULT_DEBUGGER_TIMEOUT: Duration = Duration::from_secs(30);

/// A parsed cluster spec. Paths inside it are kept as written; [`LoadedSpec`]
/// remembers where the file was so they can be resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterSpec {
    pub name: String,
    pub backend: BackendSpec,
    pub node_groups: Vec<NodeGroupSpec>,
    pub install: Option<InstallSpec>,
    pub checks: ChecksSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendSpec {
    pub kind: String,
    /// A backend plugin named by its file instead of found by kind: as
    /// written (relative to the spec file) in a spec, absolute in a record
    /// so that any later command finds the same plugin from anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Backend options as written; checked against the backend's option schema
    /// by a validator, so that a typo is reported with the other checks.
    pub options: BTreeMap<String, serde_json::Value>,
}

impl Default for BackendSpec {
    fn default() -> Self {
        Self {
            kind: "local".to_owned(),
            path: None,
            options: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeGroupSpec {
    pub name: String,
    pub count: u32,
    pub roles: Vec<String>,
    pub options: BTreeMap<String, serde_json::Value>,
    /// Values of the distribution's node-scope configs for this group; they
    /// override `install.config`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallSpec {
    /// What installs: the built-in `script` (the installer at `from`) or a
    /// distribution plugin, found as `clusterdeck-plugin-<name>` or at `path`.
    #[serde(default = "script_distribution")]
    pub distribution: String,
    /// Where the distribution plugin is, relative to the spec file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The distribution version; its first (newest) when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The phases after `configure` the script takes part in (it is run
    /// with `CLUSTERDECK_PHASE` set); a plugin takes part in all of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phases: Vec<crate::model::Phase>,
    /// The installer; required by the `script` distribution only.
    pub from: Option<InstallSource>,
    pub config: serde_json::Value,
    pub files: Vec<FileCopy>,
    /// How long the installer may run per role before it is killed; no limit when unset.
    #[serde(default, with = "optional_duration_ms")]
    pub timeout: Option<Duration>,
    /// The SHA-256 a downloaded installer must have (lowercase hex); URL sources only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// A shell command run on a node before `scale` removes it, from the
    /// node's install directory (Sahara's `decommission_nodes`): drain it,
    /// hand its data on. If it fails the node is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decommission: Option<String>,
    /// Files `export` fetches from the nodes of each role into its bundle:
    /// paths or globs, relative to the node's directory or absolute.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub log_paths: BTreeMap<String, Vec<String>>,
}

fn script_distribution() -> String {
    "script".to_owned()
}

impl InstallSpec {
    /// Whether the built-in script distribution installs (no plugin).
    pub fn is_script(&self) -> bool {
        self.distribution == "script"
    }
}

/// Where the installer comes from; backends declare which of these they support.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "location", rename_all = "snake_case")]
pub enum InstallSource {
    Path(PathBuf),
    /// Stored without any `user:password@` it was written with.
    #[serde(serialize_with = "installer_url::serialize_redacted")]
    Url(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileCopy {
    pub src: PathBuf,
    pub dest: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChecksSpec {
    pub validators: Vec<ValidatorSpec>,
    pub debuggers: Vec<DebuggerSpec>,
}

/// A rule checked before anything is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum ValidatorSpec {
    /// The number of nodes carrying `role` must satisfy the bounds.
    RoleCount {
        role: String,
        equals: Option<u32>,
        min: Option<u32>,
        max: Option<u32>,
    },
    /// A backend option must be set (explicitly, not by its default).
    RequiredOption { option: String },
    /// A validator plugin (docs/plugin-protocol.md) judges the spec and the
    /// planned nodes.
    Plugin(PluginCheck),
}

/// A validator or debugger plugin named in the spec: found as
/// `clusterdeck-plugin-<plugin>` like backend plugins, or at `path`
/// (relative to the spec file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginCheck {
    pub plugin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Handed to the plugin as they are.
    #[serde(default)]
    pub options: BTreeMap<String, serde_json::Value>,
}

/// A command run on every node of some roles after install, pass/fail per node;
/// or a debugger plugin given those nodes, which runs its commands through
/// the host and judges each node itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebuggerSpec {
    pub name: String,
    /// Empty means every node.
    pub roles: Vec<String>,
    /// Empty for a plugin debugger.
    pub run: String,
    /// Set for a plugin debugger; `run`, `expect` and `exit_code` then do not
    /// apply and `timeout` is the default of each command it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginCheck>,
    /// A regular expression the combined output must match.
    pub expect: Option<String>,
    pub exit_code: i32,
    #[serde(with = "duration_ms")]
    pub timeout: Duration,
}

/// A spec together with where it was read from.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: ClusterSpec,
    pub path: PathBuf,
    /// Where each element of `spec` is in the file, for validator findings.
    /// Kept beside the spec, not in it: the spec is stored in records.
    pub positions: SpecPositions,
}

impl LoadedSpec {
    /// Reads and parses a spec file; every problem found is in the error.
    /// Only a regular UTF-8 file of at most [`MAX_SPEC_BYTES`] is read.
    pub fn from_file(path: &Path) -> Result<Self, SpecErrors> {
        let text = source::read_spec_text(path)?;
        let (spec, positions) = decode::decode_with_positions(&text, path)?;
        Ok(Self {
            spec,
            path: path.to_path_buf(),
            positions,
        })
    }

    /// Relative paths in a spec are relative to the spec file, not to the
    /// directory clusterdeck happens to run in.
    pub fn resolve(&self, relative: &Path) -> PathBuf {
        if relative.is_absolute() {
            return relative.to_path_buf();
        }
        let base = self.path.parent().unwrap_or_else(|| Path::new("."));
        base.join(relative)
    }

    /// The backend plugin file the spec names, resolved against the spec
    /// file and made absolute (not canonical: a symlinked plugin keeps its
    /// name); `None` when the backend is found by kind.
    pub fn backend_path(&self) -> Option<PathBuf> {
        let resolved = self.resolve(self.spec.backend.path.as_deref()?);
        Some(std::path::absolute(&resolved).unwrap_or(resolved))
    }
}

/// Parses spec text; `origin` is only used to name the file in errors.
pub fn parse(text: &str, origin: &Path) -> Result<ClusterSpec, SpecErrors> {
    decode::decode(text, origin)
}

impl ClusterSpec {
    /// Every role named by any node group, sorted and without repeats.
    pub fn roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = self
            .node_groups
            .iter()
            .flat_map(|group| group.roles.iter().cloned())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    pub fn node_count(&self) -> u32 {
        self.node_groups.iter().map(|group| group.count).sum()
    }
}

mod optional_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::duration_ms::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(deserializer).map(|millis| millis.map(Duration::from_millis))
    }
}

mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}
