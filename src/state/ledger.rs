//! The resource ledger: an append-only journal of everything a backend creates.
//!
//! The intent is written (and synced) before the backend call and the id after,
//! so after a crash or a kill `destroy` still knows every resource that may
//! exist, including ones whose creation was cut off halfway.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::StateError;
use super::fsutil::open_private_append;
use crate::model::{ResourceRef, ResourceScope};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerAction {
    /// About to create; the resource may or may not exist.
    Intent,
    /// Created; `id` says which.
    Created,
    /// Gone, either destroyed or found never to have been made.
    Destroyed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub action: LedgerAction,
    /// What sort of resource: `node-dir`, `container`, `instance`, ...
    pub kind: String,
    /// The logical name the cluster uses for it (unique per kind).
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Absent in ledgers written before scopes: those entries are node
    /// directories keyed by node name, so they read as node-scoped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ResourceScope>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl LedgerEntry {
    /// The resource this entry is about.
    pub fn resource(&self) -> ResourceRef {
        ResourceRef {
            kind: self.kind.clone(),
            key: self.key.clone(),
            scope: self.scope.clone().unwrap_or_else(|| ResourceScope::Node {
                node: self.key.clone(),
            }),
            depends_on: self.depends_on.clone(),
        }
    }
}

/// A resource the ledger says may still exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingResource {
    pub resource: ResourceRef,
    /// `None` when only the intent was recorded.
    pub id: Option<String>,
}

impl OutstandingResource {
    /// The node it belongs to, if it is node-scoped.
    pub fn node(&self) -> Option<&str> {
        self.resource.scope.node()
    }
}

impl LedgerEntry {
    /// The node it is about, if it is node-scoped; an entry written before
    /// scopes existed is a node directory keyed by the node's name.
    pub fn node(&self) -> Option<&str> {
        match &self.scope {
            None => Some(&self.key),
            Some(scope) => scope.node(),
        }
    }
}

#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: Mutex<File>,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Self, StateError> {
        let file = open_private_append(path).map_err(|source| StateError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
        })
    }

    pub fn intent(&self, resource: &ResourceRef) -> Result<(), StateError> {
        self.append(LedgerAction::Intent, resource, None)
    }

    pub fn created(&self, resource: &ResourceRef, id: &str) -> Result<(), StateError> {
        self.append(LedgerAction::Created, resource, Some(id))
    }

    pub fn destroyed(&self, resource: &ResourceRef) -> Result<(), StateError> {
        self.append(LedgerAction::Destroyed, resource, None)
    }

    fn append(
        &self,
        action: LedgerAction,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), StateError> {
        let entry = LedgerEntry {
            action,
            kind: resource.kind.clone(),
            key: resource.key.clone(),
            id: id.map(str::to_owned),
            scope: Some(resource.scope.clone()),
            depends_on: resource.depends_on.clone(),
        };
        let mut line = serde_json::to_vec(&entry).map_err(|err| StateError::Corrupt {
            path: self.path.clone(),
            detail: err.to_string(),
        })?;
        line.push(b'\n');
        let io = |source| StateError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(&line).map_err(io)?;
        file.sync_data().map_err(io)
    }

    /// Every entry in order. A torn last line (a crash mid-write) is skipped:
    /// its resource had not been created yet, since intents are synced first.
    pub fn entries(path: &Path) -> Result<Vec<LedgerEntry>, StateError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        let lines: Vec<String> = BufReader::new(file)
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|source| StateError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let last = lines.len().saturating_sub(1);
        let mut entries = Vec::with_capacity(lines.len());
        for (number, line) in lines.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str(line) {
                Ok(entry) => entries.push(entry),
                Err(_) if number == last => {}
                Err(err) => {
                    return Err(StateError::Corrupt {
                        path: path.to_path_buf(),
                        detail: format!("line {}: {err}", number + 1),
                    });
                }
            }
        }
        Ok(entries)
    }

    /// Resources not yet destroyed, in the order they were first recorded.
    pub fn outstanding(path: &Path) -> Result<Vec<OutstandingResource>, StateError> {
        type Latest = (LedgerAction, ResourceRef, Option<String>);
        let mut order: Vec<(String, String)> = Vec::new();
        let mut latest: BTreeMap<(String, String), Latest> = BTreeMap::new();
        for entry in Self::entries(path)? {
            let slot = (entry.kind.clone(), entry.key.clone());
            if !latest.contains_key(&slot) {
                order.push(slot.clone());
            }
            let previous_id = latest.get(&slot).and_then(|(_, _, id)| id.clone());
            let resource = entry.resource();
            latest.insert(slot, (entry.action, resource, entry.id.or(previous_id)));
        }
        Ok(order
            .into_iter()
            .filter_map(|slot| {
                let (action, resource, id) = latest.remove(&slot)?;
                (action != LedgerAction::Destroyed).then_some(OutstandingResource { resource, id })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outstanding_keeps_intents_and_drops_destroyed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        let ledger = Ledger::open(&path).expect("open");
        let node = |name: &str| ResourceRef::node("node-dir", name);
        let network = ResourceRef::new("network", "net", ResourceScope::Cluster);
        ledger.intent(&network).expect("write");
        ledger.intent(&node("a-1")).expect("write");
        ledger.created(&node("a-1"), "/x/a-1").expect("write");
        ledger.intent(&node("a-2")).expect("write");
        ledger.intent(&node("a-3")).expect("write");
        ledger.created(&node("a-3"), "/x/a-3").expect("write");
        ledger.destroyed(&node("a-3")).expect("write");
        let outstanding = Ledger::outstanding(&path).expect("read");
        assert_eq!(
            outstanding,
            vec![
                OutstandingResource {
                    resource: network,
                    id: None
                },
                OutstandingResource {
                    resource: node("a-1"),
                    id: Some("/x/a-1".into())
                },
                OutstandingResource {
                    resource: node("a-2"),
                    id: None
                },
            ]
        );
    }

    #[test]
    fn entries_written_before_scopes_read_as_node_resources() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        std::fs::write(
            &path,
            "{\"action\":\"intent\",\"kind\":\"node-dir\",\"key\":\"a-1\"}\n{\"action\":\"created\",\"kind\":\"node-dir\",\"key\":\"a-1\",\"id\":\"/n/a-1\"}\n",
        )
        .expect("write");
        assert_eq!(
            Ledger::outstanding(&path).expect("read"),
            vec![OutstandingResource {
                resource: ResourceRef::node("node-dir", "a-1"),
                id: Some("/n/a-1".into())
            }]
        );
    }

    #[test]
    fn a_torn_last_line_is_ignored_but_earlier_damage_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.jsonl");
        std::fs::write(
            &path,
            "{\"action\":\"intent\",\"kind\":\"k\",\"key\":\"a\"}\n{\"action\":\"cre",
        )
        .expect("write");
        assert_eq!(Ledger::outstanding(&path).expect("read").len(), 1);
        std::fs::write(
            &path,
            "garbage\n{\"action\":\"intent\",\"kind\":\"k\",\"key\":\"a\"}\n",
        )
        .expect("write");
        assert!(matches!(
            Ledger::outstanding(&path),
            Err(StateError::Corrupt { .. })
        ));
    }
}
