//! Instances: one RunInstances per contiguous run of a group's nodes
//! (MinCount = MaxCount), waits and lookups with batched DescribeInstances,
//! TerminateInstances in batches. Calls grow with groups, not nodes.

use std::time::{Duration, Instant};

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, Instance, InstanceStateName, InstanceType, ResourceType, Tag};
use sha2::Digest;
use tokio_util::sync::CancellationToken;

use super::errors::api_error;
use super::tags;
use crate::backend::BackendError;
use crate::model::{Node, NodeState, node_name};

/// Ids per DescribeInstances / TerminateInstances call.
const BATCH: usize = 200;
const POLL: Duration = Duration::from_secs(2);
const WAIT_LIMIT: Duration = Duration::from_secs(600);

/// What one RunInstances call needs.
pub struct Launch<'a> {
    pub group: &'a str,
    pub roles: &'a [String],
    pub first_index: u32,
    pub count: u32,
    pub image_id: &'a str,
    pub instance_type: &'a str,
    pub key_name: &'a str,
    pub security_group: &'a str,
    pub subnet_id: Option<String>,
    pub cluster_tags: Vec<Tag>,
    pub uid: &'a str,
}

/// Same cluster, group and first node: the same token, so a retried call
/// launches nothing twice (EC2 keeps tokens for a while).
fn client_token(uid: &str, group: &str, first: u32, count: u32) -> String {
    let digest = sha2::Sha256::digest(format!("{uid}/{group}/{first}/{count}"));
    let hex: String = digest
        .iter()
        .take(20)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("cd-{hex}")
}

/// Launches the instances; `(node index, instance)` for each.
pub async fn run(
    client: &Client,
    launch: &Launch<'_>,
) -> Result<Vec<(u32, Instance)>, BackendError> {
    let count = i32::try_from(launch.count).map_err(|_| {
        BackendError::invalid(format!("group {} asks for too many nodes", launch.group))
    })?;
    let mut tag_list = launch.cluster_tags.clone();
    tag_list.push(Tag::builder().key(tags::GROUP).value(launch.group).build());
    tag_list.push(
        Tag::builder()
            .key(tags::ROLES)
            .value(launch.roles.join(","))
            .build(),
    );
    tag_list.push(
        Tag::builder()
            .key(tags::FIRST_INDEX)
            .value(launch.first_index.to_string())
            .build(),
    );
    let answer = client
        .run_instances()
        .image_id(launch.image_id)
        .instance_type(InstanceType::from(launch.instance_type))
        .min_count(count)
        .max_count(count)
        .key_name(launch.key_name)
        .security_group_ids(launch.security_group)
        .set_subnet_id(launch.subnet_id.clone())
        .client_token(client_token(
            launch.uid,
            launch.group,
            launch.first_index,
            launch.count,
        ))
        .tag_specifications(tags::spec(ResourceType::Instance, tag_list.clone()))
        .tag_specifications(tags::spec(ResourceType::Volume, tag_list))
        .send()
        .await
        .map_err(|error| api_error("RunInstances", &error))?;
    Ok(answer
        .instances
        .unwrap_or_default()
        .into_iter()
        .map(|instance| {
            let offset = instance
                .ami_launch_index
                .and_then(|index| u32::try_from(index).ok())
                .unwrap_or(0);
            (launch.first_index + offset, instance)
        })
        .collect())
}

/// The instances with these ids EC2 still knows, terminated ones included;
/// unknown ids are simply absent (a filter, not `InstanceIds`, which
/// fails the whole call on one unknown id).
pub async fn describe(client: &Client, ids: &[String]) -> Result<Vec<Instance>, BackendError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(BATCH) {
        found.extend(
            describe_filtered(
                client,
                vec![
                    Filter::builder()
                        .name("instance-id")
                        .set_values(Some(chunk.to_vec()))
                        .build(),
                ],
            )
            .await?,
        );
    }
    Ok(found)
}

async fn describe_filtered(
    client: &Client,
    filters: Vec<Filter>,
) -> Result<Vec<Instance>, BackendError> {
    let mut found = Vec::new();
    let mut pages = client
        .describe_instances()
        .set_filters(Some(filters))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| api_error("DescribeInstances", &error))?;
        for reservation in page.reservations.unwrap_or_default() {
            found.extend(reservation.instances.unwrap_or_default());
        }
    }
    Ok(found)
}

/// Instances carrying clusterdeck's uid tag (one cluster's, or all), not
/// yet terminated.
pub async fn labelled(client: &Client, uid: Option<&str>) -> Result<Vec<Instance>, BackendError> {
    let alive = Filter::builder()
        .name("instance-state-name")
        .values("pending")
        .values("running")
        .values("stopping")
        .values("stopped")
        .build();
    describe_filtered(client, vec![tags::uid_filter(uid), alive]).await
}

pub fn state(instance: &Instance) -> Option<&InstanceStateName> {
    instance
        .state
        .as_ref()
        .and_then(|state| state.name.as_ref())
}

fn is_gone(instance: &Instance) -> bool {
    matches!(
        state(instance),
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown)
    )
}

/// The node an instance was launched for, from its tags.
pub fn node_of(instance: &Instance) -> Option<String> {
    let tag_list = instance.tags.as_deref().unwrap_or_default();
    let group = tags::value(tag_list, tags::GROUP)?;
    let first: u32 = tags::value(tag_list, tags::FIRST_INDEX)?.parse().ok()?;
    let offset = u32::try_from(instance.ami_launch_index?).ok()?;
    Some(node_name(group, first + offset))
}

/// Waits until every instance is running (or one is gone); the latest
/// description of each.
pub async fn wait_running(
    client: &Client,
    ids: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<Instance>, BackendError> {
    let started = Instant::now();
    loop {
        let found = describe(client, ids).await?;
        let running = found
            .iter()
            .filter(|instance| state(instance) == Some(&InstanceStateName::Running))
            .count();
        if running == ids.len() || found.iter().any(is_gone) {
            return Ok(found);
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(BackendError::new(
                crate::model::BackendFailureKind::Transient,
                format!(
                    "{running} of {} instance(s) running after {} s (DescribeInstances)",
                    ids.len(),
                    WAIT_LIMIT.as_secs()
                ),
            ));
        }
        tokio::select! {
            () = cancel.cancelled() => return Err(BackendError::other("cancelled while waiting for instances to run")),
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Terminates the instances of `ids` EC2 still has running or stopped and
/// waits until they are terminated, so the security group is free. Returns
/// the ids that were already gone.
pub async fn terminate(
    client: &Client,
    ids: &[String],
    cancel: &CancellationToken,
) -> Result<Vec<String>, BackendError> {
    let known = describe(client, ids).await?;
    let alive: Vec<String> = known
        .iter()
        .filter(|instance| !matches!(state(instance), Some(InstanceStateName::Terminated)))
        .filter_map(|instance| instance.instance_id.clone())
        .collect();
    let gone: Vec<String> = ids
        .iter()
        .filter(|id| !alive.contains(id))
        .cloned()
        .collect();
    for chunk in alive.chunks(BATCH) {
        client
            .terminate_instances()
            .set_instance_ids(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|error| api_error("TerminateInstances", &error))?;
    }
    let started = Instant::now();
    while !alive.is_empty() {
        let left = describe(client, &alive)
            .await?
            .into_iter()
            .filter(|instance| !matches!(state(instance), Some(InstanceStateName::Terminated)))
            .count();
        if left == 0 {
            break;
        }
        if started.elapsed() > WAIT_LIMIT {
            return Err(BackendError::new(
                crate::model::BackendFailureKind::Transient,
                format!(
                    "{left} instance(s) still terminating after {} s",
                    WAIT_LIMIT.as_secs()
                ),
            ));
        }
        tokio::select! {
            () = cancel.cancelled() => return Err(BackendError::other("cancelled while waiting for instances to terminate")),
            () = tokio::time::sleep(POLL) => {}
        }
    }
    Ok(gone)
}

/// A node from its instance: private address first, then the public one.
pub fn node(instance: &Instance, name: &str, group: &str, index: u32, roles: &[String]) -> Node {
    let mut addresses = Vec::new();
    addresses.extend(instance.private_ip_address.clone());
    addresses.extend(instance.public_ip_address.clone());
    Node {
        id: instance.instance_id.clone().unwrap_or_default(),
        name: name.to_owned(),
        group: group.to_owned(),
        index,
        roles: roles.to_vec(),
        addresses,
        state: node_state(instance),
    }
}

pub fn node_state(instance: &Instance) -> NodeState {
    match state(instance) {
        Some(InstanceStateName::Running) => NodeState::Running,
        Some(InstanceStateName::Stopped | InstanceStateName::Stopping) => NodeState::Stopped,
        Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown) => {
            NodeState::Destroyed
        }
        Some(InstanceStateName::Pending) => NodeState::Creating,
        _ => NodeState::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_are_stable_short_and_distinct() {
        let token = client_token("web-19ab-6f70", "agents", 1, 3);
        assert_eq!(token, client_token("web-19ab-6f70", "agents", 1, 3));
        assert!(token.len() <= 64);
        assert_ne!(token, client_token("web-19ab-6f70", "agents", 4, 2));
    }

    #[test]
    fn an_instance_names_its_node_from_its_tags_and_launch_index() {
        let instance = Instance::builder()
            .ami_launch_index(2)
            .tags(Tag::builder().key(tags::GROUP).value("agents").build())
            .tags(Tag::builder().key(tags::FIRST_INDEX).value("4").build())
            .build();
        assert_eq!(node_of(&instance).as_deref(), Some("agents-6"));
        assert_eq!(node_of(&Instance::builder().build()), None);
    }
}
