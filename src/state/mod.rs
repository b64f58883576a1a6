//! Where clusterdeck keeps what it knows: one directory per cluster holding the
//! record, the resource ledger and the lock, all readable by the owner only.

mod debug_results;
mod event_log;
mod fsutil;
mod identity;
mod ledger;
mod lock;
mod record;

use std::path::{Path, PathBuf};

use crate::spec::is_valid_name;

pub use debug_results::{DEBUG_RESULTS_FILE, DebugResults};
pub use event_log::{
    EVENT_LOG_FILE, EVENT_LOG_LIMIT, EVENT_LOG_PREVIOUS, EventLog, read_event_log,
};
pub use fsutil::{ensure_private_dir, open_private_append, write_atomic};
pub use identity::ClusterIdentity;
pub use ledger::{Ledger, LedgerAction, LedgerEntry, OutstandingResource};
pub use lock::{ClusterLock, LockMode};
pub use record::{ClusterRecord, ClusterStatus, GroupSize, OperationRecord, RECORD_VERSION};

/// The environment variable that overrides the state directory.
pub const STATE_DIR_ENV: &str = "CLUSTERDECK_STATE_DIR";

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: damaged state: {detail}", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("no cluster named {name:?}{}", known_hint(known))]
    UnknownCluster { name: String, known: Vec<String> },
    /// A name no cluster can have: refused before it becomes part of a path.
    #[error(
        "no cluster named {}: a cluster name is 1-63 letters, digits, '-', '_' or '.' starting with a letter or digit",
        shown_name(name)
    )]
    InvalidName { name: String },
    /// Resources may remain, but the record describing them cannot be read.
    #[error(
        "cluster {name:?} is damaged ({detail}); `clusterdeck destroy {name}` removes what it left"
    )]
    Damaged { name: String, detail: String },
    /// `up` on a name whose earlier cluster left resources or damaged state.
    #[error(
        "a previous cluster named {name:?} was not fully destroyed ({detail}); run `clusterdeck destroy {name}` first"
    )]
    Leftover { name: String, detail: String },
    #[error("cluster {name:?} is busy: another clusterdeck ({holder}) is working on it")]
    Busy { name: String, holder: String },
    #[error(
        "cluster {name:?} already exists (status {status}); run `clusterdeck destroy {name}` first or pick another name"
    )]
    AlreadyExists { name: String, status: String },
    #[error("cannot find a state directory: set ${STATE_DIR_ENV}, $XDG_STATE_HOME or $HOME")]
    NoStateDir,
}

/// A name as typed, cut short if it is long enough to drown the message.
fn shown_name(name: &str) -> String {
    const SHOWN: usize = 64;
    if name.chars().count() <= SHOWN {
        format!("{name:?}")
    } else {
        let head: String = name.chars().take(SHOWN).collect();
        format!("{head:?}… ({} characters)", name.chars().count())
    }
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        "; there are no clusters yet (create one with `clusterdeck up SPEC`)".to_owned()
    } else {
        format!("; known clusters: {}", known.join(", "))
    }
}

/// The state directory and the per-cluster layout under it.
#[derive(Debug, Clone)]
pub struct StateStore {
    root: PathBuf,
}

impl StateStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The explicit directory if given, else `$XDG_STATE_HOME/clusterdeck`,
    /// else `~/.local/state/clusterdeck`.
    pub fn locate(explicit: Option<PathBuf>) -> Result<Self, StateError> {
        if let Some(root) = explicit.filter(|path| !path.as_os_str().is_empty()) {
            return Ok(Self::new(root));
        }
        let non_empty = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(xdg) = non_empty("XDG_STATE_HOME") {
            return Ok(Self::new(PathBuf::from(xdg).join("clusterdeck")));
        }
        let home = non_empty("HOME").ok_or(StateError::NoStateDir)?;
        Ok(Self::new(
            PathBuf::from(home).join(".local/state/clusterdeck"),
        ))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn clusters_dir(&self) -> PathBuf {
        self.root.join("clusters")
    }

    /// The one place a cluster's name becomes a path: a name that is not
    /// valid as a spec's `name` (`..`, `a/b`, too long...) is refused here,
    /// so no caller can reach outside the state directory.
    pub fn cluster_dir(&self, name: &str) -> Result<PathBuf, StateError> {
        if !is_valid_name(name) {
            return Err(StateError::InvalidName {
                name: name.to_owned(),
            });
        }
        Ok(self.clusters_dir().join(name))
    }

    fn record_path(&self, name: &str) -> Result<PathBuf, StateError> {
        Ok(self.cluster_dir(name)?.join("cluster.json"))
    }

    pub fn ledger_path(&self, name: &str) -> Result<PathBuf, StateError> {
        Ok(self.cluster_dir(name)?.join("ledger.jsonl"))
    }

    fn identity_path(&self, name: &str) -> Result<PathBuf, StateError> {
        Ok(self.cluster_dir(name)?.join("identity.json"))
    }

    /// Creates the cluster's directory (owner-only) and takes its lock.
    pub fn lock(&self, name: &str, mode: LockMode) -> Result<ClusterLock, StateError> {
        let dir = self.cluster_dir(name)?;
        ensure_private_dir(&dir).map_err(|source| StateError::Io {
            path: dir.clone(),
            source,
        })?;
        ClusterLock::acquire(&dir.join("lock"), name, mode)
    }

    /// Locks a cluster that must already exist, without creating anything.
    pub fn lock_existing(&self, name: &str, mode: LockMode) -> Result<ClusterLock, StateError> {
        if !self.record_path(name)?.exists() && !self.ledger_path(name)?.exists() {
            return Err(self.unknown(name));
        }
        self.lock(name, mode)
    }

    /// A cluster directory that `up` made but was killed in before it wrote
    /// the record: no record and no ledger (at most the lock and the
    /// identity). The ledger is opened only after the record is saved, so
    /// nothing of such a cluster can exist outside its directory.
    pub fn is_unborn(&self, name: &str) -> Result<bool, StateError> {
        Ok(self.cluster_dir(name)?.is_dir()
            && !self.record_path(name)?.exists()
            && !self.ledger_path(name)?.exists())
    }

    pub fn open_ledger(&self, name: &str) -> Result<Ledger, StateError> {
        Ledger::open(&self.ledger_path(name)?)
    }

    /// Resources of the cluster its ledger says may still exist.
    pub fn outstanding(&self, name: &str) -> Result<Vec<OutstandingResource>, StateError> {
        Ledger::outstanding(&self.ledger_path(name)?)
    }

    /// Written by `up` before it creates anything; see [`ClusterIdentity`].
    pub fn save_identity(&self, identity: &ClusterIdentity) -> Result<(), StateError> {
        let path = self.identity_path(&identity.name)?;
        write_json(path, identity)
    }

    /// `None` for state written before identities were kept.
    pub fn load_identity(&self, name: &str) -> Result<Option<ClusterIdentity>, StateError> {
        let path = self.identity_path(name)?;
        read_json(path)
    }

    /// The record, or `None` if there is none; `Corrupt` if it cannot be parsed.
    pub fn try_load(&self, name: &str) -> Result<Option<ClusterRecord>, StateError> {
        let record: Option<ClusterRecord> = read_json(self.record_path(name)?)?;
        Ok(record.map(|mut record| {
            record.fill_missing_group_sizes();
            record
        }))
    }

    /// The record of an existing cluster. A cluster whose record is
    /// unreadable, or gone while its ledger remains, is `Damaged`.
    pub fn load(&self, name: &str) -> Result<ClusterRecord, StateError> {
        match self.try_load(name) {
            Ok(Some(record)) => Ok(record),
            Ok(None) if self.ledger_path(name)?.exists() => Err(StateError::Damaged {
                name: name.to_owned(),
                detail: "its record cluster.json is missing".to_owned(),
            }),
            Ok(None) => Err(self.unknown(name)),
            Err(StateError::Corrupt { detail, .. }) => Err(StateError::Damaged {
                name: name.to_owned(),
                detail: format!("its record cluster.json is unreadable: {detail}"),
            }),
            Err(err) => Err(err),
        }
    }

    fn unknown(&self, name: &str) -> StateError {
        StateError::UnknownCluster {
            name: name.to_owned(),
            known: self.names().unwrap_or_default(),
        }
    }

    pub fn save(&self, record: &ClusterRecord) -> Result<(), StateError> {
        let path = self.record_path(&record.name)?;
        write_json(path, record)
    }

    /// Keeps the last debugger results of a cluster, replacing earlier ones.
    pub fn save_debug_results(&self, name: &str, results: &DebugResults) -> Result<(), StateError> {
        let path = self.cluster_dir(name)?.join(DEBUG_RESULTS_FILE);
        write_json(path, results)
    }

    /// The last debugger results, `None` when no debugger has run since they
    /// were first kept.
    pub fn load_debug_results(&self, name: &str) -> Result<Option<DebugResults>, StateError> {
        let path = self.cluster_dir(name)?.join(DEBUG_RESULTS_FILE);
        read_json(path)
    }

    /// The event log of a cluster (written by the engine during operations).
    pub fn event_log(&self, name: &str) -> Result<EventLog, StateError> {
        Ok(EventLog::new(self.cluster_dir(name)?))
    }

    /// The cluster's recent events, oldest first.
    pub fn recent_events(&self, name: &str) -> Result<Vec<u8>, StateError> {
        let dir = self.cluster_dir(name)?;
        read_event_log(&dir).map_err(|source| StateError::Io { path: dir, source })
    }

    /// Names of every cluster with state (a record or a ledger), sorted.
    /// Directories whose names no cluster can have are not clusters.
    pub fn names(&self) -> Result<Vec<String>, StateError> {
        let dir = self.clusters_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(StateError::Io { path: dir, source }),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|entry| {
                let dir = entry.path();
                dir.join("cluster.json").exists() || dir.join("ledger.jsonl").exists()
            })
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| is_valid_name(name))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Every readable record; damaged ones are returned as errors
    /// (`Damaged`, naming the cluster) beside them.
    pub fn list(&self) -> Result<Vec<Result<ClusterRecord, StateError>>, StateError> {
        Ok(self.names()?.iter().map(|name| self.load(name)).collect())
    }

    /// Lock holder entries left by processes that are gone.
    pub fn stale_lock_entries(&self, name: &str) -> Result<Vec<PathBuf>, StateError> {
        Ok(lock::stale_holder_entries(
            &self.cluster_dir(name)?.join("lock"),
        ))
    }

    /// Removes a cluster's directory once everything in it is destroyed.
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let dir = self.cluster_dir(name)?;
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(StateError::Io { path: dir, source }),
        }
    }
}

/// Writes `value` as pretty JSON to `path`, atomically.
fn write_json<T: serde::Serialize>(path: PathBuf, value: &T) -> Result<(), StateError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|err| StateError::Corrupt {
        path: path.clone(),
        detail: err.to_string(),
    })?;
    write_atomic(&path, &bytes).map_err(|source| StateError::Io { path, source })
}

/// The JSON at `path`, `None` when there is no such file; `Corrupt` when it
/// cannot be parsed.
fn read_json<T: serde::de::DeserializeOwned>(path: PathBuf) -> Result<Option<T>, StateError> {
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::Io { path, source }),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|err| StateError::Corrupt {
            path,
            detail: err.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn cluster_dirs_and_files_are_owner_only_and_locks_exclude() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().join("state"));
        let held = store.lock("demo", LockMode::Exclusive).expect("first lock");
        let mode = std::fs::metadata(store.cluster_dir("demo").expect("valid name"))
            .expect("dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let second = store.lock("demo", LockMode::Shared);
        assert!(
            matches!(&second, Err(StateError::Busy { holder, .. }) if holder.starts_with("pid ")),
            "{second:?}"
        );
        drop(held);
        let shared_a = store.lock("demo", LockMode::Shared).expect("shared");
        let _shared_b = store.lock("demo", LockMode::Shared).expect("shared twice");
        assert!(store.lock("demo", LockMode::Exclusive).is_err());
        drop(shared_a);
        let ledger = store.open_ledger("demo").expect("ledger");
        ledger
            .intent(&crate::model::ResourceRef::node("node-dir", "a-1"))
            .expect("write");
        let mode = std::fs::metadata(store.ledger_path("demo").expect("valid name"))
            .expect("ledger file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn unknown_cluster_error_lists_known_ones() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().to_path_buf());
        let err = store.load("nope").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no cluster named \"nope\"; there are no clusters yet (create one with `clusterdeck up SPEC`)"
        );
    }

    #[test]
    fn names_that_could_leave_the_state_directory_are_refused_everywhere() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().join("a"));
        let long = "x".repeat(300);
        for name in [
            "..",
            "../../b/clusters/quickstart",
            "q/../q",
            "",
            long.as_str(),
        ] {
            let refused = |result: Result<(), StateError>| {
                assert!(
                    matches!(&result, Err(StateError::InvalidName { .. })),
                    "{name:?}: {result:?}"
                );
            };
            refused(store.cluster_dir(name).map(drop));
            refused(store.lock(name, LockMode::Exclusive).map(drop));
            refused(store.lock_existing(name, LockMode::Shared).map(drop));
            refused(store.load(name).map(drop));
            refused(store.try_load(name).map(drop));
            refused(store.open_ledger(name).map(drop));
            refused(store.outstanding(name).map(drop));
            refused(store.load_identity(name).map(drop));
            refused(store.remove(name));
        }
        assert!(
            !dir.path().join("a").exists(),
            "nothing was created for a refused name"
        );
        let message = store.load(&long).expect_err("refused").to_string();
        assert!(message.starts_with("no cluster named \"xxx"), "{message}");
        assert!(message.contains("(300 characters)"), "{message}");
        assert!(message.len() < 300, "{message}");
    }

    #[test]
    fn a_cluster_with_a_ledger_but_no_readable_record_is_listed_as_damaged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().to_path_buf());
        drop(
            store
                .lock("lost", LockMode::Exclusive)
                .expect("creates the dir"),
        );
        let ledger = store.open_ledger("lost").expect("ledger");
        ledger
            .intent(&crate::model::ResourceRef::node("node-dir", "a-1"))
            .expect("write");
        let clusters = dir.path().join("clusters");
        // Directories no cluster name can have are not clusters.
        for odd in [".hidden", "-dash"] {
            std::fs::create_dir_all(clusters.join(odd)).expect("dir");
            std::fs::write(clusters.join(odd).join("cluster.json"), "{}").expect("write");
        }
        assert_eq!(store.names().expect("names"), vec!["lost".to_owned()]);
        let listed = store.list().expect("list");
        assert!(
            matches!(&listed[..], [Err(StateError::Damaged { name, detail })]
                if name == "lost" && detail.contains("missing")),
            "{listed:?}"
        );
        std::fs::write(clusters.join("lost").join("cluster.json"), "[[[").expect("write");
        let damaged = store.load("lost").expect_err("damaged").to_string();
        assert!(
            damaged.starts_with(
                "cluster \"lost\" is damaged (its record cluster.json is unreadable: "
            ),
            "{damaged}"
        );
        assert!(
            damaged.ends_with("`clusterdeck destroy lost` removes what it left"),
            "{damaged}"
        );
    }
}
