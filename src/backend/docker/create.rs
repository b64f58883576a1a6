//! `up`'s part: the cluster's workspace and network (`prepare`), then the
//! node containers of a group, all at once, each journalled before the
//! engine is asked to create it and with its id right after.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, NetworkCreateRequest, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::CreateContainerOptionsBuilder;
use futures::future::join_all;

use super::client::{api_error, engine};
use super::naming::{
    CONTAINER, LABEL_CLUSTER_ID, NETWORK, NETWORK_KEY, WORKSPACE, WORKSPACE_KEY, cluster_labels,
    container_name, network_name, node_labels,
};
use super::options::{DockerOptions, GroupOptions};
use crate::backend::{
    BackendContext, BackendError, GroupRequest, NodeOutcome, ResourceRef, ResourceScope,
};
use crate::model::{Node, NodeState};

/// Where the cluster's workspace is mounted in every node.
pub const WORKSPACE_MOUNT: &str = "/workspace";
/// A file in each workspace naming its cluster's uid and state directory
/// (a line each), so `gc` can tell whose it is without a record.
pub const WORKSPACE_MARK: &str = ".clusterdeck-cluster-uid";
/// The keep-alive of a docker-exec node: the container lives as long as
/// it runs, and the init process forwards `docker stop`'s SIGTERM to it.
const KEEP_ALIVE: [&str; 2] = ["sleep", "2147483647"];
/// The main process of an ssh node: sshd serving the cluster's host key
/// only, so every node of the cluster shows the same one.
const SSHD: &str = "mkdir -p /run/sshd && chmod 700 /root/.ssh && exec /usr/sbin/sshd -D -e -h /etc/ssh/clusterdeck_host_ed25519_key -o UsePAM=no -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no";

pub fn options(ctx: &BackendContext) -> Result<DockerOptions, BackendError> {
    DockerOptions::parse(&ctx.options).map_err(|err| BackendError::invalid(err.message))
}

/// The network the nodes join: the one given, or the cluster's own.
pub fn network(ctx: &BackendContext, options: &DockerOptions) -> String {
    options
        .network
        .clone()
        .unwrap_or_else(|| network_name(ctx.name()))
}

/// Checks the image, then makes the workspace and the cluster's network.
pub async fn prepare(ctx: &BackendContext) -> Result<(), BackendError> {
    let options = options(ctx)?;
    let docker = engine().await?;
    check_image(&docker, &options.image).await?;
    if options.ssh {
        super::keys::ensure(&ctx.state_dir)?;
    }
    make_workspace(ctx, &options)?;
    if options.network.is_none() {
        make_network(ctx, &docker, &options).await?;
    } else if let Some(given) = &options.network {
        docker
            .inspect_network(
                given,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
            .map_err(|err| {
                BackendError::invalid(format!(
                    "backend option network: docker network {given:?} cannot be used: {}",
                    crate::transport::docker::describe(&err)
                ))
            })?;
    }
    Ok(())
}

/// The image must be on the engine already: no registry is asked.
pub async fn check_image(docker: &Docker, image: &str) -> Result<(), BackendError> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(err) if crate::transport::docker::status_code(&err) == Some(404) => {
            Err(BackendError::invalid(format!(
                "backend option image: image {image} is not on the docker engine; build it with scripts/build-node-images (for the clusterdeck/node-* images) or load it with docker load, then try again"
            )))
        }
        Err(err) => Err(api_error(&format!("inspect image {image}"), &err)),
    }
}

fn make_workspace(ctx: &BackendContext, options: &DockerOptions) -> Result<(), BackendError> {
    let dir = options.workspace(&ctx.state_dir, ctx.name());
    let resource = ResourceRef::new(WORKSPACE, WORKSPACE_KEY, ResourceScope::Cluster);
    ctx.journal.intent(&resource)?;
    std::fs::create_dir_all(&dir).map_err(|source| {
        BackendError::io(
            format_args!(
                "backend option workspace_dir: cannot create {}",
                dir.display()
            ),
            &source,
        )
    })?;
    let mark = format!("{}\n{}\n", ctx.uid(), ctx.state_dir.display());
    std::fs::write(dir.join(WORKSPACE_MARK), mark).map_err(|source| {
        BackendError::io(format_args!("cannot write into {}", dir.display()), &source)
    })?;
    ctx.journal.created(&resource, &dir.display().to_string())
}

async fn make_network(
    ctx: &BackendContext,
    docker: &Docker,
    options: &DockerOptions,
) -> Result<(), BackendError> {
    let name = network_name(ctx.name());
    let resource = ResourceRef::new(NETWORK, NETWORK_KEY, ResourceScope::Cluster);
    ctx.journal.intent(&resource)?;
    let created = docker
        .create_network(NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".to_owned()),
            labels: Some(cluster_labels(ctx, &options.labels)),
            ..Default::default()
        })
        .await;
    let id = match created {
        Ok(response) => response.id,
        Err(err) if crate::transport::docker::status_code(&err) == Some(409) => {
            adopt_network(ctx, docker, &name).await?
        }
        Err(err) => return Err(api_error(&format!("create network {name}"), &err)),
    };
    ctx.journal.created(&resource, &id)
}

/// A network of the cluster's name already exists: ours from an earlier
/// attempt (same uid), or someone else's, which is refused.
async fn adopt_network(
    ctx: &BackendContext,
    docker: &Docker,
    name: &str,
) -> Result<String, BackendError> {
    let found = docker
        .inspect_network(
            name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .map_err(|err| api_error(&format!("inspect network {name}"), &err))?;
    let owner = found
        .labels
        .as_ref()
        .and_then(|labels| labels.get(LABEL_CLUSTER_ID));
    match (owner, found.id) {
        (Some(uid), Some(id)) if uid == ctx.uid() => Ok(id),
        _ => Err(BackendError::invalid(format!(
            "docker network {name} already exists and is not this cluster's; remove it (docker network rm {name}) or give backend option network"
        ))),
    }
}

/// Every node of the group at once.
pub async fn create_group(ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
    let prepared = async {
        let options = options(ctx)?;
        let count = u32::try_from(group.nodes.len()).unwrap_or(u32::MAX);
        let group_options = GroupOptions::parse(&group.options, count)
            .map_err(|err| BackendError::invalid(format!("group {}: {err}", group.group)))?;
        Ok::<_, BackendError>((engine().await?, options, group_options))
    }
    .await;
    let (docker, options, group_options) = match prepared {
        Ok(prepared) => prepared,
        Err(err) => {
            return group
                .nodes
                .iter()
                .map(|request| NodeOutcome {
                    name: request.name.clone(),
                    result: Err(err.clone().into()),
                })
                .collect();
        }
    };
    let setup = Setup {
        ctx,
        docker: &docker,
        options: &options,
        group_options: &group_options,
        group,
    };
    join_all(group.nodes.iter().map(|request| {
        let setup = &setup;
        async move {
            NodeOutcome {
                name: request.name.clone(),
                result: setup
                    .create_node(&request.name, request.index)
                    .await
                    .map_err(Into::into),
            }
        }
    }))
    .await
}

/// What every node of a group is made from.
struct Setup<'a> {
    ctx: &'a BackendContext,
    docker: &'a Docker,
    options: &'a DockerOptions,
    group_options: &'a GroupOptions,
    group: &'a GroupRequest,
}

impl Setup<'_> {
    async fn create_node(&self, node: &str, index: u32) -> Result<Node, BackendError> {
        if self.ctx.cancel.is_cancelled() {
            return Err(BackendError::other("cancelled before it was created"));
        }
        let name = container_name(self.ctx.name(), node);
        let mut needs = vec![WORKSPACE_KEY];
        if self.options.network.is_none() {
            needs.push(NETWORK_KEY);
        }
        let resource = ResourceRef::node(CONTAINER, node).depending_on(&needs);
        self.ctx.journal.intent(&resource)?;
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(&name).build()),
                self.body(node),
            )
            .await
            .map_err(|err| {
                let failed = api_error(&format!("create container {name}"), &err);
                if failed.kind() == crate::model::BackendFailureKind::InUse {
                    BackendError::invalid(format!(
                        "{failed}; a container of that name exists, perhaps left by an older cluster of the same name (clusterdeck gc, or docker rm -f {name})"
                    ))
                } else {
                    failed
                }
            })?;
        self.ctx.journal.created(&resource, &created.id)?;
        if self.options.ssh {
            self.authorize(&name, &created.id).await?;
        }
        self.docker
            .start_container(
                &created.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .map_err(|err| api_error(&format!("start container {name}"), &err))?;
        let address = if self.options.ssh {
            let network = network(self.ctx, self.options);
            Some(wait_for_sshd(self.docker, &name, &created.id, &network).await?)
        } else {
            self.address(&created.id).await
        };
        let address = address.unwrap_or_else(|| name.clone());
        Ok(Node {
            id: created.id,
            name: node.to_owned(),
            group: self.group.group.clone(),
            index,
            roles: self.group.roles.clone(),
            addresses: vec![address],
            state: NodeState::Running,
        })
    }

    /// Puts the cluster's public key and host key into a created container,
    /// before its sshd starts.
    async fn authorize(&self, name: &str, id: &str) -> Result<(), BackendError> {
        let keys = super::keys::ensure(&self.ctx.state_dir)?;
        let host_private = keys.host_private()?;
        let authorized = format!("{}\n", keys.client_public);
        let host_public = format!("{}\n", keys.host_public);
        let host_key = super::keys::HOST_KEY_PATH.trim_start_matches('/');
        let host_key_public = format!("{host_key}.pub");
        let archive = crate::transport::docker::archive_files(
            &[
                ("root/.ssh/authorized_keys", authorized.as_bytes(), 0o600),
                (host_key, &host_private, 0o600),
                (&host_key_public, host_public.as_bytes(), 0o644),
            ],
            0,
        )
        .map_err(BackendError::other)?;
        self.docker
            .upload_to_container(
                id,
                Some(
                    bollard::query_parameters::UploadToContainerOptionsBuilder::default()
                        .path("/")
                        .build(),
                ),
                bollard::body_full(archive.into()),
            )
            .await
            .map_err(|err| api_error(&format!("put the ssh keys into container {name}"), &err))
    }

    fn body(&self, node: &str) -> ContainerCreateBody {
        let network = network(self.ctx, self.options);
        let workspace = self.options.workspace(&self.ctx.state_dir, self.ctx.name());
        let mut binds = vec![format!("{}:{WORKSPACE_MOUNT}:rw", workspace.display())];
        binds.extend(
            self.group_options
                .mounts
                .iter()
                .map(super::options::Mount::bind),
        );
        let ports = &published(&self.group_options.ports, &self.group.open_ports);
        let port_bindings: HashMap<String, Option<Vec<PortBinding>>> = ports
            .iter()
            .map(|port| {
                (
                    port.key(),
                    Some(vec![PortBinding {
                        host_ip: port.host_ip.clone(),
                        host_port: port.host_port.map(|number| number.to_string()),
                    }]),
                )
            })
            .collect();
        let cmd: Vec<String> = if self.options.ssh {
            vec!["/bin/sh".into(), "-c".into(), SSHD.into()]
        } else {
            KEEP_ALIVE.iter().map(|part| (*part).to_owned()).collect()
        };
        ContainerCreateBody {
            image: Some(self.options.image.clone()),
            hostname: Some(node.to_owned()),
            cmd: Some(cmd),
            entrypoint: Some(Vec::new()),
            labels: Some(node_labels(
                self.ctx,
                &self.options.labels,
                &self.group.group,
                &self.group.roles,
                node,
            )),
            exposed_ports: (!ports.is_empty())
                .then(|| ports.iter().map(super::options::Port::key).collect()),
            host_config: Some(HostConfig {
                init: Some(true),
                restart_policy: Some(RestartPolicy {
                    name: Some(RestartPolicyNameEnum::UNLESS_STOPPED),
                    maximum_retry_count: None,
                }),
                binds: Some(binds),
                privileged: Some(self.options.privileged),
                memory: self.options.memory,
                nano_cpus: self.options.nano_cpus,
                network_mode: Some(network.clone()),
                port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
                ..Default::default()
            }),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network,
                    EndpointSettings {
                        aliases: Some(vec![node.to_owned()]),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        }
    }

    /// The node's IP address on the cluster's network.
    async fn address(&self, id: &str) -> Option<String> {
        container_address(self.docker, id, &network(self.ctx, self.options)).await
    }
}

/// How long a new node's sshd may take to listen.
const SSHD_WAIT: std::time::Duration = std::time::Duration::from_secs(15);

/// Waits until the node's sshd accepts connections, so the first command
/// does not race its start; fails at once when the container stops
/// running instead (an image without sshd).
async fn wait_for_sshd(
    docker: &Docker,
    name: &str,
    id: &str,
    network: &str,
) -> Result<String, BackendError> {
    let deadline = tokio::time::Instant::now() + SSHD_WAIT;
    let hint = "backend option transport ssh needs an image that has /usr/sbin/sshd, such as clusterdeck/node-debian:bookworm";
    loop {
        let inspected = docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(|err| api_error(&format!("inspect container {name}"), &err))?;
        let state = inspected.state.unwrap_or_default();
        if state.running != Some(true) || state.restarting == Some(true) {
            return Err(BackendError::invalid(format!(
                "container {name} stopped (exit code {}) instead of running sshd; {hint}",
                state.exit_code.unwrap_or_default()
            )));
        }
        let address = inspected
            .network_settings
            .and_then(|settings| settings.networks)
            .and_then(|networks| {
                networks
                    .get(network)
                    .and_then(|found| found.ip_address.clone())
            })
            .filter(|ip| !ip.is_empty());
        if let Some(address) = address
            && tokio::net::TcpStream::connect((address.as_str(), 22))
                .await
                .is_ok()
        {
            return Ok(address);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(BackendError::other(format!(
                "sshd of container {name} does not answer on port 22 after {}s; {hint}",
                SSHD_WAIT.as_secs()
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A container's IP address on `network`, when it has one.
pub async fn container_address(docker: &Docker, id: &str, network: &str) -> Option<String> {
    let inspected = docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()?;
    inspected
        .network_settings?
        .networks?
        .get(network)?
        .ip_address
        .clone()
        .filter(|ip| !ip.is_empty())
}

/// The group's own published ports, then the ports its distribution needs
/// that the group does not already publish: on loopback only (nothing is
/// exposed to the network unless the spec says so), a free host port each.
fn published(
    own: &[super::options::Port],
    needed: &[crate::model::PortSpec],
) -> Vec<super::options::Port> {
    let mut ports = own.to_vec();
    for needed in needed {
        let protocol = match needed.protocol {
            crate::model::PortProtocol::Tcp => "tcp",
            crate::model::PortProtocol::Udp => "udp",
        };
        let taken = ports
            .iter()
            .any(|port| port.container_port == needed.port && port.protocol == protocol);
        if !taken {
            ports.push(super::options::Port {
                host_ip: Some("127.0.0.1".to_owned()),
                host_port: None,
                container_port: needed.port,
                protocol: protocol.to_owned(),
            });
        }
    }
    ports
}

#[cfg(test)]
mod port_tests {
    use super::super::options::Port;
    use super::published;
    use crate::model::{PortProtocol, PortSpec};

    #[test]
    fn a_distributions_ports_are_published_on_loopback_unless_the_group_publishes_them() {
        let own = vec![Port {
            host_ip: None,
            host_port: Some(8080),
            container_port: 80,
            protocol: "tcp".into(),
        }];
        let needed = [
            PortSpec {
                port: 80,
                protocol: PortProtocol::Tcp,
            },
            PortSpec {
                port: 7070,
                protocol: PortProtocol::Tcp,
            },
            PortSpec {
                port: 80,
                protocol: PortProtocol::Udp,
            },
        ];
        let ports = published(&own, &needed);
        let keys: Vec<String> = ports.iter().map(Port::key).collect();
        assert_eq!(keys, vec!["80/tcp", "7070/tcp", "80/udp"]);
        assert_eq!(
            ports[0].host_port,
            Some(8080),
            "the group's own binding wins"
        );
        assert_eq!(ports[1].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(ports[1].host_port, None, "a free host port per node");
    }
}
