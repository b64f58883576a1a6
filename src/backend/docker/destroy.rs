//! Removing what the backend made: containers (with their anonymous
//! volumes), the cluster network, labelled volumes and the workspace. The
//! engine's waves order them from the journal's scopes; each call here
//! removes one thing and says `not_found` when it was already gone.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::RemoveContainerOptionsBuilder;

use super::client::api_error;
use super::create::WORKSPACE_MARK;
use super::naming::{LABEL_CLUSTER_ID, container_name, network_name};
use crate::backend::{BackendContext, BackendError};

/// Removes a container by id or name, running or not.
pub async fn remove_container(docker: &Docker, id: &str) -> Result<(), BackendError> {
    docker
        .remove_container(
            id,
            Some(
                RemoveContainerOptionsBuilder::default()
                    .force(true)
                    .v(true)
                    .build(),
            ),
        )
        .await
        .map_err(|err| api_error(&format!("remove container {id}"), &err))
}

/// A node container the ledger has no id for (a crash between create and
/// journal): found by name, and removed only if it carries this cluster's uid.
pub async fn remove_container_by_key(
    ctx: &BackendContext,
    docker: &Docker,
    node: &str,
) -> Result<(), BackendError> {
    if !crate::spec::is_valid_name(node) {
        return Err(BackendError::invalid(format!(
            "the ledger names node {node:?}, which no node can be called"
        )));
    }
    let name = container_name(ctx.name(), node);
    let found = docker
        .inspect_container(
            &name,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .map_err(|err| api_error(&format!("inspect container {name}"), &err))?;
    let owner = found
        .config
        .and_then(|config| config.labels)
        .and_then(|labels| labels.get(LABEL_CLUSTER_ID).cloned());
    match (owner, found.id) {
        (Some(uid), Some(id)) if uid == ctx.uid() => remove_container(docker, &id).await,
        _ => Err(BackendError::not_found(format!(
            "container {name} is not this cluster's"
        ))),
    }
}

/// Removes a network by id, or the cluster's own by name.
pub async fn remove_network(
    ctx: &BackendContext,
    docker: &Docker,
    id: Option<&str>,
) -> Result<(), BackendError> {
    let target = id.map_or_else(|| network_name(ctx.name()), str::to_owned);
    docker
        .remove_network(&target)
        .await
        .map_err(|err| api_error(&format!("remove network {target}"), &err))
}

pub async fn remove_volume(docker: &Docker, name: &str) -> Result<(), BackendError> {
    docker
        .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
        .await
        .map_err(|err| api_error(&format!("remove volume {name}"), &err))
}

/// Removes a workspace directory, but only one clusterdeck marked as a
/// workspace: a wrong id never removes someone's directory.
pub async fn remove_workspace(dir: &Path) -> Result<(), BackendError> {
    if !dir.exists() {
        return Err(BackendError::not_found(format!(
            "workspace {} is gone",
            dir.display()
        )));
    }
    if !dir.join(WORKSPACE_MARK).is_file() {
        return Err(BackendError::invalid(format!(
            "{} has no {WORKSPACE_MARK}: it is not a clusterdeck workspace, and is left alone",
            dir.display()
        )));
    }
    tokio::fs::remove_dir_all(dir).await.map_err(|source| {
        BackendError::io(
            format_args!("cannot remove workspace {}", dir.display()),
            &source,
        )
    })
}
