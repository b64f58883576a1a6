//! The `docker` backend: each node is a container of one image on the
//! cluster's own bridge network, named `clusterdeck-<cluster>-<node>` and
//! labelled (see [`naming`]) so that `gc` finds it without a record.
//! Commands reach the nodes through docker exec (any image) or over SSH
//! (images running sshd). Containers have an init process and restart
//! unless stopped, so a cluster survives a restart of dockerd.

mod client;
mod create;
mod destroy;
mod discover;
mod gc;
mod keys;
pub mod naming;
pub mod options;
mod power;
pub mod preflight;
pub mod watch;

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::future::join_all;

use super::{
    Backend, BackendContext, BackendError, BackendInfo, Capabilities, Endpoint, GcContext,
    GroupRequest, LabelledResource, NodeOutcome, NodeResults, NodeWatch, PowerAction,
    PreflightCheck, PreflightContext, ResourceRef,
};
use crate::model::{DEFAULT_CONTAINER_ROOT, Node, UrlFetch, ValidatorOutcome};
use crate::spec::ClusterSpec;

pub use client::engine;
pub use create::{WORKSPACE_MARK, WORKSPACE_MOUNT, check_image};
pub use discover::node_state;
use naming::{CONTAINER, NETWORK, VOLUME, WORKSPACE};
use options::{DockerOptions, GroupOptions};

const KIND: &str = "docker";
/// The label every command of a node carries: the cluster's uid (as on
/// `local`), so a node's processes can be told from anything else in it.
const CLUSTER_UID_ENV: &str = "CLUSTERDECK_CLUSTER_UID";

pub struct DockerBackend;

#[async_trait]
impl Backend for DockerBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: KIND.to_owned(),
            capabilities: Capabilities {
                create: true,
                destroy: true,
                install_from_path: true,
                // Containers have no outbound network: fetched by clusterdeck, then uploaded.
                install_from_url: true,
                scale: true,
                stop_start: true,
                gc: true,
                watch: true,
                url_fetch: UrlFetch::Host,
            },
            cluster_options: options::cluster_schema(),
            group_options: options::group_schema(),
        }
    }

    /// The option values the schema cannot check: sizes, label syntax,
    /// mounts whose host path must exist, ports. Each at its option.
    async fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        const NAME: &str = "docker-options";
        let mut problems = Vec::new();
        let resolved = super::resolve_options(&options::cluster_schema(), &spec.backend.options);
        if let Ok(resolved) = resolved
            && let Err(invalid) = DockerOptions::parse(&resolved)
        {
            problems.push(ValidatorOutcome::failed_at(
                NAME,
                format!("backend.options.{}", invalid.option),
                invalid.message,
            ));
        }
        for (index, group) in spec.node_groups.iter().enumerate() {
            if let Err(invalid) = GroupOptions::parse(&group.options, group.count) {
                problems.push(ValidatorOutcome::failed_at(
                    NAME,
                    format!("node_groups[{index}].options.{}", invalid.option),
                    format!("group {}: {}", group.name, invalid.message),
                ));
            }
        }
        if problems.is_empty() {
            vec![ValidatorOutcome::new(
                NAME,
                true,
                "docker options are valid",
            )]
        } else {
            problems
        }
    }

    async fn prepare(&self, ctx: &BackendContext) -> Result<(), BackendError> {
        create::prepare(ctx).await
    }

    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        create::create_group(ctx, group).await
    }

    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        let docker = match engine().await {
            Ok(docker) => docker,
            Err(err) => {
                return nodes
                    .iter()
                    .map(|node| (node.name.clone(), Err(err.clone())))
                    .collect();
            }
        };
        let docker = &docker;
        join_all(nodes.iter().map(|node| async move {
            let result = if node.id.is_empty() {
                destroy::remove_container_by_key(ctx, docker, &node.name).await
            } else {
                destroy::remove_container(docker, &node.id).await
            };
            (node.name.clone(), result)
        }))
        .await
    }

    async fn power(
        &self,
        _ctx: &BackendContext,
        nodes: &[Node],
        action: PowerAction,
    ) -> NodeResults {
        let docker = match engine().await {
            Ok(docker) => docker,
            Err(err) => {
                return nodes
                    .iter()
                    .map(|node| (node.name.clone(), Err(err.clone())))
                    .collect();
            }
        };
        let docker = &docker;
        join_all(nodes.iter().map(|node| async move {
            (node.name.clone(), power::power(docker, node, action).await)
        }))
        .await
    }

    async fn discover(
        &self,
        _ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        let docker = engine().await?;
        let docker = &docker;
        join_all(known.iter().map(|node| discover::discover(docker, node)))
            .await
            .into_iter()
            .collect()
    }

    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        match resource.kind.as_str() {
            WORKSPACE => {
                let dir = match id {
                    Some(id) => std::path::PathBuf::from(id),
                    None => create::options(ctx)?.workspace(&ctx.state_dir, ctx.name()),
                };
                destroy::remove_workspace(&dir).await
            }
            CONTAINER => {
                let docker = engine().await?;
                match id {
                    Some(id) => destroy::remove_container(&docker, id).await,
                    None => destroy::remove_container_by_key(ctx, &docker, &resource.key).await,
                }
            }
            NETWORK => destroy::remove_network(ctx, &engine().await?, id).await,
            VOLUME => destroy::remove_volume(&engine().await?, id.unwrap_or(&resource.key)).await,
            other => Err(BackendError::invalid(format!(
                "the docker backend does not know resources of kind {other:?}"
            ))),
        }
    }

    async fn preflight(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        preflight::checks(ctx).await
    }

    async fn watch(&self, ctx: &BackendContext, nodes: &[Node]) -> Result<NodeWatch, BackendError> {
        watch::watch(ctx, nodes).await
    }

    async fn list_labelled(&self, ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        let options =
            DockerOptions::parse(&ctx.options).map_err(|err| BackendError::invalid(err.message))?;
        gc::list(&engine().await?, &options, &ctx.state_root).await
    }

    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        if node.id.is_empty() {
            return Err(BackendError::not_found(format!(
                "node {} was never created",
                node.name
            )));
        }
        let options = create::options(ctx)?;
        let env = BTreeMap::from([(CLUSTER_UID_ENV.to_owned(), ctx.uid().to_owned())]);
        if options.ssh {
            return ssh_endpoint(ctx, &options, node, env).await;
        }
        Ok(Endpoint::DockerContainer {
            container: node.id.clone(),
            root: DEFAULT_CONTAINER_ROOT.to_owned(),
            env,
        })
    }
}

/// The node's sshd on its address in the cluster network, as root with
/// the cluster's key, host keys checked against the cluster's known_hosts.
async fn ssh_endpoint(
    ctx: &BackendContext,
    options: &DockerOptions,
    node: &Node,
    env: BTreeMap<String, String>,
) -> Result<Endpoint, BackendError> {
    let keys = keys::ensure(&ctx.state_dir)?;
    let network = create::network(ctx, options);
    let host = create::container_address(&engine().await?, &node.id, &network)
        .await
        .ok_or_else(|| {
            BackendError::not_found(format!(
                "node {} has no address on docker network {network}: is its container running?",
                node.name
            ))
        })?;
    Ok(Endpoint::Ssh {
        host,
        port: 22,
        user: "root".to_owned(),
        root: DEFAULT_CONTAINER_ROOT.to_owned(),
        identity_files: vec![keys.identity],
        known_hosts: Some(keys.known_hosts),
        host_key_policy: crate::model::HostKeyPolicy::AcceptNew,
        use_agent: false,
        connect_timeout_ms: Some(10_000),
        env,
    })
}

#[cfg(test)]
mod tests;
