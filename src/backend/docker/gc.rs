//! Everything on the engine carrying clusterdeck's labels, of any cluster,
//! found without a cluster record: containers, networks and volumes by the
//! cluster-id label, and workspaces under `workspace_dir` by their mark.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
};

use super::client::api_error;
use super::create::WORKSPACE_MARK;
use super::naming::{
    CONTAINER, LABEL_CLUSTER, LABEL_CLUSTER_ID, LABEL_NODE, LABEL_STATE_DIR, NETWORK, NETWORK_KEY,
    VOLUME, WORKSPACE, WORKSPACE_KEY, label_filter,
};
use super::options::DockerOptions;
use crate::backend::{BackendError, LabelledResource, ResourceRef, ResourceScope};

type Labels = std::collections::HashMap<String, String>;

/// The cluster a set of labels names, when it names one and it is for
/// this state root to judge: its state directory is under `state_root`, or
/// gone (whoever made it can no longer destroy it). A live cluster of
/// another state directory on the same engine is not ours to collect.
fn owner(labels: &Labels, state_root: &Path) -> Option<(String, String)> {
    if let Some(dir) = labels.get(LABEL_STATE_DIR) {
        let dir = Path::new(dir);
        if !dir.starts_with(state_root) && dir.exists() {
            return None;
        }
    }
    Some((
        labels.get(LABEL_CLUSTER)?.clone(),
        labels.get(LABEL_CLUSTER_ID)?.clone(),
    ))
}

pub async fn list(
    docker: &Docker,
    options: &DockerOptions,
    state_root: &Path,
) -> Result<Vec<LabelledResource>, BackendError> {
    let filter = label_filter(LABEL_CLUSTER_ID, None);
    let mut found = Vec::new();
    let containers = docker
        .list_containers(Some(
            ListContainersOptionsBuilder::default()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(|err| api_error("list labelled containers", &err))?;
    for container in containers {
        let labels = container.labels.unwrap_or_default();
        let (Some((cluster_name, cluster_uid)), Some(id)) =
            (owner(&labels, state_root), container.id)
        else {
            continue;
        };
        let node = labels
            .get(LABEL_NODE)
            .cloned()
            .unwrap_or_else(|| id.clone());
        found.push(LabelledResource {
            resource: ResourceRef::node(CONTAINER, &node),
            id,
            cluster_name,
            cluster_uid,
            // Docker resources carry no lifespan: a docker cluster lives until destroyed.
            expires_at: None,
        });
    }
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::default()
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(|err| api_error("list labelled networks", &err))?;
    for network in networks {
        let labels = network.labels.unwrap_or_default();
        let (Some((cluster_name, cluster_uid)), Some(id)) =
            (owner(&labels, state_root), network.id)
        else {
            continue;
        };
        found.push(LabelledResource {
            resource: ResourceRef::new(NETWORK, NETWORK_KEY, ResourceScope::Cluster),
            id,
            cluster_name,
            cluster_uid,
            expires_at: None,
        });
    }
    let volumes = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::default()
                .filters(&filter)
                .build(),
        ))
        .await
        .map_err(|err| api_error("list labelled volumes", &err))?;
    for volume in volumes.volumes.unwrap_or_default() {
        let Some((cluster_name, cluster_uid)) = owner(&volume.labels, state_root) else {
            continue;
        };
        found.push(LabelledResource {
            resource: ResourceRef::new(VOLUME, &volume.name, ResourceScope::Cluster),
            id: volume.name,
            cluster_name,
            cluster_uid,
            expires_at: None,
        });
    }
    if let Some(dir) = &options.workspace_dir {
        found.extend(workspaces(dir, state_root));
    }
    Ok(found)
}

/// Workspaces under a `workspace_dir`: each directory holding the mark,
/// named after its cluster, judged by [`owner`]'s rule.
fn workspaces(dir: &Path, state_root: &Path) -> Vec<LabelledResource> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let mark = std::fs::read_to_string(path.join(WORKSPACE_MARK)).ok()?;
            let mut lines = mark.lines();
            let mut labels = Labels::from([
                (
                    LABEL_CLUSTER.to_owned(),
                    entry.file_name().to_string_lossy().into_owned(),
                ),
                (LABEL_CLUSTER_ID.to_owned(), lines.next()?.trim().to_owned()),
            ]);
            if let Some(state_dir) = lines.next() {
                labels.insert(LABEL_STATE_DIR.to_owned(), state_dir.trim().to_owned());
            }
            let (cluster_name, cluster_uid) = owner(&labels, state_root)?;
            Some(LabelledResource {
                resource: ResourceRef::new(WORKSPACE, WORKSPACE_KEY, ResourceScope::Cluster),
                id: path.display().to_string(),
                cluster_name,
                cluster_uid,
                expires_at: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_workspaces_are_found_and_others_left_out() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("demo")).expect("mkdir");
        std::fs::write(
            dir.path().join("demo").join(WORKSPACE_MARK),
            "demo-1\n/no/such/state/dir\n",
        )
        .expect("mark");
        std::fs::create_dir_all(dir.path().join("someone-else")).expect("mkdir");
        let found = workspaces(dir.path(), Path::new("/state"));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].cluster_name, "demo");
        assert_eq!(found[0].cluster_uid, "demo-1");
        assert_eq!(found[0].resource.kind, WORKSPACE);
        let mut labels = Labels::from([
            (LABEL_CLUSTER.to_owned(), "demo".to_owned()),
            (LABEL_CLUSTER_ID.to_owned(), "demo-1".to_owned()),
        ]);
        let root = dir.path().join("root");
        assert_eq!(
            owner(&labels, &root),
            Some(("demo".into(), "demo-1".into()))
        );
        assert_eq!(owner(&Labels::new(), &root), None);
        let elsewhere = dir.path().join("demo");
        labels.insert(LABEL_STATE_DIR.to_owned(), elsewhere.display().to_string());
        assert_eq!(
            owner(&labels, &root),
            None,
            "another live state directory's"
        );
        labels.insert(
            LABEL_STATE_DIR.to_owned(),
            dir.path().join("gone").display().to_string(),
        );
        assert!(
            owner(&labels, &root).is_some(),
            "a state directory that is gone"
        );
        labels.insert(
            LABEL_STATE_DIR.to_owned(),
            root.join("clusters/demo").display().to_string(),
        );
        assert!(owner(&labels, &root).is_some(), "this state root's");
    }
}
