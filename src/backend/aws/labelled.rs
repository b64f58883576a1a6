//! Everything in EC2 carrying clusterdeck's uid tag, for `gc` and destroy's
//! last look: instances not yet terminated, security groups, key pairs.

use aws_sdk_ec2::types::Tag;

use super::options::AwsOptions;
use super::provision::{instance_ref, key_pair_ref, security_group_ref};
use super::{AwsBackend, firewall, instances, key_pairs, tags};
use crate::backend::{BackendError, GcContext, LabelledResource, ResourceRef};
use crate::model::BackendFailureKind;

fn labelled(resource: ResourceRef, id: String, tag_list: &[Tag]) -> LabelledResource {
    LabelledResource {
        resource,
        id,
        cluster_name: tags::value(tag_list, tags::CLUSTER)
            .unwrap_or_default()
            .to_owned(),
        cluster_uid: tags::value(tag_list, tags::UID)
            .unwrap_or_default()
            .to_owned(),
        // A tag someone edited into garbage reads as no lifespan: gc then
        // leaves the cluster alone rather than guess.
        expires_at: tags::value(tag_list, tags::EXPIRES).and_then(|text| text.parse().ok()),
    }
}

impl AwsBackend {
    pub(super) async fn labelled(
        &self,
        ctx: &GcContext,
    ) -> Result<Vec<LabelledResource>, BackendError> {
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        if !options.aws_configured() {
            // No region, endpoint or credentials anywhere: this machine does not use AWS.
            return Ok(Vec::new());
        }
        let client = self.clients.get(&options).await?;
        // gc looks through every backend: an unreachable AWS must not hold
        // it up for the SDK's retries on every call.
        tokio::select! {
            () = ctx.cancel.cancelled() => Err(BackendError::other("cancelled while listing EC2 resources")),
            listed = tokio::time::timeout(LIST_LIMIT, list(&client)) => listed.unwrap_or_else(|_| {
                Err(BackendError::new(
                    BackendFailureKind::Transient,
                    format!("EC2 did not answer within {} s (DescribeInstances, DescribeSecurityGroups, DescribeKeyPairs)", LIST_LIMIT.as_secs()),
                ))
            }),
        }
    }
}

const LIST_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

async fn list(client: &aws_sdk_ec2::Client) -> Result<Vec<LabelledResource>, BackendError> {
    let mut found = Vec::new();
    for instance in instances::labelled(client, None).await? {
        let (Some(node), Some(id)) = (instances::node_of(&instance), instance.instance_id.clone())
        else {
            continue;
        };
        found.push(labelled(
            instance_ref(&node),
            id,
            instance.tags.as_deref().unwrap_or_default(),
        ));
    }
    for (id, tag_list) in firewall::labelled(client).await? {
        found.push(labelled(security_group_ref(), id, &tag_list));
    }
    for (name, tag_list) in key_pairs::labelled(client).await? {
        found.push(labelled(key_pair_ref(), name, &tag_list));
    }
    Ok(found)
}
