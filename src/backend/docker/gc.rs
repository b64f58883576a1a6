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
    CONTAINER, LABEL_CLUSTER, LABEL_CLUSTER_ID, LABEL_NODE, NETWORK, NETWORK_KEY, VOLUME,
    WORKSPACE, WORKSPACE_KEY, label_filter,
};
use super::options::DockerOptions;
use crate::backend::{BackendError, LabelledResource, ResourceRef, ResourceScope};

type Labels = std::collections::HashMap<String, String>;

/// The cluster a set of labels names, when it names one.
fn owner(labels: &Labels) -> Option<(String, String)> {
    Some((
        labels.get(LABEL_CLUSTER)?.clone(),
        labels.get(LABEL_CLUSTER_ID)?.clone(),
    ))
}

pub async fn list(
    docker: &Docker,
    options: &DockerOptions,
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
        let (Some((cluster_name, cluster_uid)), Some(id)) = (owner(&labels), container.id) else {
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
        let (Some((cluster_name, cluster_uid)), Some(id)) = (owner(&labels), network.id) else {
            continue;
        };
        found.push(LabelledResource {
            resource: ResourceRef::new(NETWORK, NETWORK_KEY, ResourceScope::Cluster),
            id,
            cluster_name,
            cluster_uid,
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
        let Some((cluster_name, cluster_uid)) = owner(&volume.labels) else {
            continue;
        };
        found.push(LabelledResource {
            resource: ResourceRef::new(VOLUME, &volume.name, ResourceScope::Cluster),
            id: volume.name,
            cluster_name,
            cluster_uid,
        });
    }
    if let Some(dir) = &options.workspace_dir {
        found.extend(workspaces(dir));
    }
    Ok(found)
}

/// Workspaces under a `workspace_dir`: each directory holding the mark,
/// named after its cluster.
fn workspaces(dir: &Path) -> Vec<LabelledResource> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let path = entry.path();
            let uid = std::fs::read_to_string(path.join(WORKSPACE_MARK)).ok()?;
            Some(LabelledResource {
                resource: ResourceRef::new(WORKSPACE, WORKSPACE_KEY, ResourceScope::Cluster),
                id: path.display().to_string(),
                cluster_name: entry.file_name().to_string_lossy().into_owned(),
                cluster_uid: uid.trim().to_owned(),
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
        std::fs::write(dir.path().join("demo").join(WORKSPACE_MARK), "demo-1\n").expect("mark");
        std::fs::create_dir_all(dir.path().join("someone-else")).expect("mkdir");
        let found = workspaces(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].cluster_name, "demo");
        assert_eq!(found[0].cluster_uid, "demo-1");
        assert_eq!(found[0].resource.kind, WORKSPACE);
        let labels = Labels::from([
            (LABEL_CLUSTER.to_owned(), "demo".to_owned()),
            (LABEL_CLUSTER_ID.to_owned(), "demo-1".to_owned()),
        ]);
        assert_eq!(owner(&labels), Some(("demo".into(), "demo-1".into())));
        assert_eq!(owner(&Labels::new()), None);
    }
}
