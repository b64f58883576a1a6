//! Finding what the local backend made without any cluster record: node
//! directories under the state root, and processes carrying the cluster
//! labels (whose node directory may be gone, or elsewhere under a `root`
//! option).

use std::collections::BTreeMap;
use std::path::Path;

use super::sweep::labelled_processes;
use super::{CLUSTER_UID_ENV, GcContext, LabelledResource, NODE_DIR, NODE_DIR_ENV, ResourceRef};
use crate::state::StateStore;

/// The environment variable naming a node's cluster (see `engine::node_env`).
const CLUSTER_ENV: &str = "CLUSTERDECK_CLUSTER";
const NODE_ENV: &str = "CLUSTERDECK_NODE";

pub fn list(ctx: &GcContext) -> Vec<LabelledResource> {
    let store = StateStore::new(ctx.state_root.clone());
    let mut found: BTreeMap<String, LabelledResource> = BTreeMap::new();
    for cluster in store.names().unwrap_or_default() {
        let uid = store
            .load_identity(&cluster)
            .ok()
            .flatten()
            .map(|identity| identity.uid)
            .unwrap_or_default();
        let Ok(dir) = store.cluster_dir(&cluster) else {
            continue;
        };
        let root = super::nodes_root(&dir, &cluster, &ctx.options);
        for node_dir in subdirectories(&root) {
            let Some(node) = node_dir.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            let id = node_dir.display().to_string();
            found.insert(
                id.clone(),
                LabelledResource {
                    resource: ResourceRef::node(NODE_DIR, node),
                    id,
                    cluster_name: cluster.clone(),
                    cluster_uid: uid.clone(),
                    expires_at: None,
                },
            );
        }
    }
    // Processes find node directories outside the state root, and those
    // whose directory is gone but whose daemons still run.
    for (_, labels) in labelled_processes(CLUSTER_UID_ENV, &[NODE_DIR_ENV, CLUSTER_ENV, NODE_ENV]) {
        let Some(dir) = labels.get(NODE_DIR_ENV) else {
            continue;
        };
        if found.contains_key(dir) || !ours_to_judge(dir, &ctx.state_root) {
            continue;
        }
        let node = labels.get(NODE_ENV).cloned().unwrap_or_else(|| {
            Path::new(dir)
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        found.insert(
            dir.clone(),
            LabelledResource {
                resource: ResourceRef::node(NODE_DIR, &node),
                id: dir.clone(),
                cluster_name: labels.get(CLUSTER_ENV).cloned().unwrap_or_default(),
                cluster_uid: labels.get(CLUSTER_UID_ENV).cloned().unwrap_or_default(),
                expires_at: None,
            },
        );
    }
    found.into_values().collect()
}

/// Whether a labelled process is this state directory's business: its node
/// directory lies under the state root, or is gone altogether (its cluster
/// lost its state). A process whose node directory exists elsewhere may
/// belong to another state directory's cluster, so it is never listed here.
fn ours_to_judge(node_dir: &str, state_root: &Path) -> bool {
    let dir = Path::new(node_dir);
    dir.starts_with(state_root) || !dir.exists()
}

fn subdirectories(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ClusterIdentity;

    #[test]
    fn node_directories_of_every_cluster_are_found_with_their_uid() {
        let dir = tempfile::tempdir().expect("dir");
        let store = StateStore::new(dir.path().to_path_buf());
        drop(
            store
                .lock("alpha", crate::state::LockMode::Exclusive)
                .expect("lock"),
        );
        store
            .save_identity(&ClusterIdentity {
                name: "alpha".into(),
                uid: "alpha-123".into(),
                backend: "local".into(),
                backend_path: None,
                options: BTreeMap::new(),
            })
            .expect("identity");
        // A ledger makes it a cluster the store lists.
        store
            .open_ledger("alpha")
            .expect("ledger")
            .intent(&ResourceRef::node(NODE_DIR, "a-1"))
            .expect("intent");
        let nodes = store.cluster_dir("alpha").expect("dir").join("nodes");
        std::fs::create_dir_all(nodes.join("a-1")).expect("node dir");
        std::fs::create_dir_all(nodes.join("a-2")).expect("node dir");
        let found = list(&GcContext {
            state_root: dir.path().to_path_buf(),
            options: BTreeMap::new(),
            cancel: Default::default(),
        });
        let ours: Vec<(&str, &str, &str)> = found
            .iter()
            .filter(|resource| resource.cluster_name == "alpha")
            .map(|resource| {
                (
                    resource.resource.key.as_str(),
                    resource.cluster_uid.as_str(),
                    resource.resource.kind.as_str(),
                )
            })
            .collect();
        assert_eq!(
            ours,
            vec![
                ("a-1", "alpha-123", NODE_DIR),
                ("a-2", "alpha-123", NODE_DIR)
            ]
        );
    }
}
