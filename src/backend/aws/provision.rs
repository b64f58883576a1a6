//! `prepare` (key pair, security group) and `create_group` (instances),
//! each resource journalled: intent before the call, id after.

use super::options::{AwsOptions, INSTANCE_TYPE};
use super::{AwsBackend, INSTANCE, KEY_PAIR, KEY_PAIR_KEY, SECURITY_GROUP, SECURITY_GROUP_KEY};
use super::{firewall, images, instances, key_pairs, keypair, tags};
use crate::backend::{
    BackendContext, BackendError, GroupRequest, NodeOutcome, Progress, ResourceRef, ResourceScope,
};
use crate::model::NodeRequest;

pub fn key_pair_ref() -> ResourceRef {
    ResourceRef::new(KEY_PAIR, KEY_PAIR_KEY, ResourceScope::Cluster)
}

pub fn security_group_ref() -> ResourceRef {
    ResourceRef::new(SECURITY_GROUP, SECURITY_GROUP_KEY, ResourceScope::Cluster)
}

pub fn instance_ref(node: &str) -> ResourceRef {
    ResourceRef::node(INSTANCE, node).depending_on(&[SECURITY_GROUP_KEY, KEY_PAIR_KEY])
}

fn note(ctx: &BackendContext, message: String) {
    ctx.progress.report(Progress {
        node: None,
        percent: None,
        message: Some(message),
    });
}

impl AwsBackend {
    pub(super) async fn prepare_cluster(&self, ctx: &BackendContext) -> Result<(), BackendError> {
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        for warning in options.warnings() {
            note(ctx, warning);
        }
        let client = self.clients.get(&options).await?;
        // Before anything exists: an unknown image fails `up` with nothing to undo.
        images::resolve(&client, &options.ami).await?;
        let expires = tags::expiry(options.deploy_timeout);

        let key = key_pair_ref();
        ctx.journal.intent(&key)?;
        let public = keypair::ensure(&ctx.state_dir)?;
        let name = keypair::key_name(ctx.uid());
        key_pairs::import(
            &client,
            &name,
            &public,
            tags::cluster_tags(ctx, expires, &options.tags),
        )
        .await?;
        ctx.journal.created(&key, &name)?;

        let group = security_group_ref();
        let vpc = match &options.subnet_id {
            Some(subnet) => firewall::vpc_of_subnet(&client, subnet).await?,
            None => None,
        };
        ctx.journal.intent(&group)?;
        firewall::create(
            &client,
            ctx,
            vpc,
            &options.admin_location,
            tags::cluster_tags(ctx, expires, &options.tags),
            |id| ctx.journal.created(&group, id),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn create_nodes(
        &self,
        ctx: &BackendContext,
        group: &GroupRequest,
    ) -> Vec<NodeOutcome> {
        let mut requests: Vec<&NodeRequest> = group.nodes.iter().collect();
        requests.sort_by_key(|request| request.index);
        let mut outcomes = Vec::with_capacity(requests.len());
        for run in contiguous_runs(&requests) {
            match self.launch_run(ctx, group, run).await {
                Ok(run_outcomes) => outcomes.extend(run_outcomes),
                Err(error) => outcomes.extend(run.iter().map(|request| NodeOutcome {
                    name: request.name.clone(),
                    result: Err(error.clone().into()),
                })),
            }
        }
        outcomes
    }

    async fn launch_run(
        &self,
        ctx: &BackendContext,
        group: &GroupRequest,
        run: &[&NodeRequest],
    ) -> Result<Vec<NodeOutcome>, BackendError> {
        let (Some(first), Ok(count)) = (run.first(), u32::try_from(run.len())) else {
            return Ok(Vec::new());
        };
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        let client = self.clients.get(&options).await?;
        let image_id = images::resolve(&client, &options.ami).await?;
        let security_group = firewall::find(&client, ctx.uid()).await?.ok_or_else(|| {
            BackendError::other(format!(
                "the cluster's security group {} is gone (DescribeSecurityGroups)",
                firewall::group_name(ctx.uid())
            ))
        })?;
        firewall::open(
            &client,
            &security_group,
            &options.admin_location,
            &group.open_ports,
        )
        .await?;
        let instance_type = group
            .options
            .get(INSTANCE_TYPE)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("t3.small")
            .to_owned();
        for request in run {
            ctx.journal.intent(&instance_ref(&request.name))?;
        }
        let key_name = keypair::key_name(ctx.uid());
        let launch = instances::Launch {
            group: &group.group,
            roles: &group.roles,
            first_index: first.index,
            count,
            image_id: &image_id,
            instance_type: &instance_type,
            key_name: &key_name,
            security_group: &security_group,
            subnet_id: options.subnet_id.clone(),
            cluster_tags: tags::cluster_tags(
                ctx,
                tags::expiry(options.deploy_timeout),
                &options.tags,
            ),
            uid: ctx.uid(),
        };
        let launched = instances::run(&client, &launch).await?;
        let mut ids = Vec::with_capacity(launched.len());
        for (index, instance) in &launched {
            let (Some(request), Some(id)) = (
                run.iter().find(|request| request.index == *index),
                instance.instance_id.as_deref(),
            ) else {
                continue;
            };
            ctx.journal.created(&instance_ref(&request.name), id)?;
            ids.push(id.to_owned());
        }
        note(
            ctx,
            format!(
                "group {}: {} instance(s) launched, waiting until running",
                group.group,
                ids.len()
            ),
        );
        let described = instances::wait_running(&client, &ids, &ctx.cancel).await?;
        Ok(run
            .iter()
            .map(|request| {
                let launched_id = launched
                    .iter()
                    .find(|(index, _)| *index == request.index)
                    .and_then(|(_, instance)| instance.instance_id.clone());
                let instance = described.iter().find(|instance| {
                    instance.instance_id.is_some() && instance.instance_id == launched_id
                });
                let result = match instance {
                    Some(instance)
                        if instances::state(instance)
                            == Some(&aws_sdk_ec2::types::InstanceStateName::Running) =>
                    {
                        Ok(instances::node(
                            instance,
                            &request.name,
                            &group.group,
                            request.index,
                            &group.roles,
                        ))
                    }
                    Some(instance) => Err(BackendError::other(format!(
                        "instance {} is {:?}, not running: {}",
                        instance.instance_id.as_deref().unwrap_or("?"),
                        instances::state(instance)
                            .map(|state| state.as_str())
                            .unwrap_or("unknown"),
                        instance
                            .state_reason
                            .as_ref()
                            .and_then(|reason| reason.message.as_deref())
                            .unwrap_or("no reason given")
                    ))
                    .into()),
                    None => Err(BackendError::other(
                        "RunInstances returned no instance for this node",
                    )
                    .into()),
                };
                NodeOutcome {
                    name: request.name.clone(),
                    result,
                }
            })
            .collect())
    }
}

/// Requests with consecutive indices, so a launch index maps to a node.
fn contiguous_runs<'r, 'n>(requests: &'r [&'n NodeRequest]) -> Vec<&'r [&'n NodeRequest]> {
    let mut runs = Vec::new();
    let mut start = 0;
    for position in 1..=requests.len() {
        if position == requests.len()
            || requests[position].index != requests[position - 1].index + 1
        {
            runs.push(&requests[start..position]);
            start = position;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_split_into_runs_of_consecutive_indices() {
        let requests: Vec<NodeRequest> = [1, 2, 3, 5, 6, 9]
            .iter()
            .map(|index| NodeRequest {
                name: format!("a-{index}"),
                index: *index,
            })
            .collect();
        let refs: Vec<&NodeRequest> = requests.iter().collect();
        let lengths: Vec<usize> = contiguous_runs(&refs).iter().map(|run| run.len()).collect();
        assert_eq!(lengths, [3, 2, 1]);
        assert!(contiguous_runs(&[]).is_empty());
    }
}
