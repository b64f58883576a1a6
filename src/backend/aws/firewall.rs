//! The cluster's security group: SSH from `admin_location`, and all traffic
//! between the cluster's own instances.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, ResourceType, UserIdGroupPair};

use super::errors::api_error;
use super::tags;
use crate::backend::{BackendContext, BackendError};

pub fn group_name(uid: &str) -> String {
    format!("clusterdeck-{uid}")
}

/// Creates the group (or finds the one a retried `up` made) and opens it;
/// `on_created` journals the id as soon as it is known, before the rules.
pub async fn create(
    client: &Client,
    ctx: &BackendContext,
    vpc_id: Option<String>,
    admin_location: &str,
    tag_list: Vec<aws_sdk_ec2::types::Tag>,
    on_created: impl FnOnce(&str) -> Result<(), BackendError>,
) -> Result<String, BackendError> {
    let name = group_name(ctx.uid());
    let created = client
        .create_security_group()
        .group_name(&name)
        .description(format!("clusterdeck cluster {}", ctx.name()))
        .set_vpc_id(vpc_id)
        .tag_specifications(tags::spec(ResourceType::SecurityGroup, tag_list))
        .send()
        .await;
    let id = match created {
        Ok(answer) => answer
            .group_id
            .ok_or_else(|| BackendError::other("EC2 CreateSecurityGroup returned no group id"))?,
        Err(error) => {
            let failure = api_error("CreateSecurityGroup", &error);
            if !failure.to_string().contains("InvalidGroup.Duplicate") {
                return Err(failure);
            }
            find(client, ctx.uid()).await?.ok_or_else(|| {
                BackendError::other(format!("security group {name} exists but cannot be found"))
            })?
        }
    };
    on_created(&id)?;
    let rules = client
        .authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip(admin_location)
                        .description("clusterdeck admin_location")
                        .build(),
                )
                .build(),
        )
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .user_id_group_pairs(UserIdGroupPair::builder().group_id(&id).build())
                .build(),
        )
        .send()
        .await;
    if let Err(error) = rules {
        let failure = api_error("AuthorizeSecurityGroupIngress", &error);
        if !failure.to_string().contains("InvalidPermission.Duplicate") {
            return Err(failure);
        }
    }
    Ok(id)
}

/// Allows the ports a node group's distribution needs from
/// `admin_location`, in one call; rules the group already has are fine.
pub async fn open(
    client: &Client,
    id: &str,
    admin_location: &str,
    ports: &[crate::model::PortSpec],
) -> Result<(), BackendError> {
    if ports.is_empty() {
        return Ok(());
    }
    let mut request = client.authorize_security_group_ingress().group_id(id);
    for port in ports {
        let protocol = match port.protocol {
            crate::model::PortProtocol::Tcp => "tcp",
            crate::model::PortProtocol::Udp => "udp",
        };
        request = request.ip_permissions(
            IpPermission::builder()
                .ip_protocol(protocol)
                .from_port(i32::from(port.port))
                .to_port(i32::from(port.port))
                .ip_ranges(
                    IpRange::builder()
                        .cidr_ip(admin_location)
                        .description("clusterdeck distribution port")
                        .build(),
                )
                .build(),
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(error) => {
            let failure = api_error("AuthorizeSecurityGroupIngress", &error);
            if failure.to_string().contains("InvalidPermission.Duplicate") {
                Ok(())
            } else {
                Err(failure)
            }
        }
    }
}

/// The cluster's group id, by its name and uid tag.
pub async fn find(client: &Client, uid: &str) -> Result<Option<String>, BackendError> {
    let answer = client
        .describe_security_groups()
        .filters(
            Filter::builder()
                .name("group-name")
                .values(group_name(uid))
                .build(),
        )
        .send()
        .await
        .map_err(|error| api_error("DescribeSecurityGroups", &error))?;
    Ok(answer
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .find_map(|group| group.group_id))
}

pub async fn delete(client: &Client, id: &str) -> Result<(), BackendError> {
    client
        .delete_security_group()
        .group_id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| api_error("DeleteSecurityGroup", &error))
}

/// The VPC of a subnet, for a group that must live beside its instances.
pub async fn vpc_of_subnet(client: &Client, subnet: &str) -> Result<Option<String>, BackendError> {
    let answer = client
        .describe_subnets()
        .subnet_ids(subnet)
        .send()
        .await
        .map_err(|error| {
            let failure = api_error("DescribeSubnets", &error);
            BackendError::new(
                failure.kind(),
                format!("backend.options.subnet_id: {failure}"),
            )
        })?;
    Ok(answer
        .subnets
        .unwrap_or_default()
        .into_iter()
        .find_map(|subnet| subnet.vpc_id))
}

/// Every clusterdeck security group, of every cluster: (id, tags).
pub async fn labelled(
    client: &Client,
) -> Result<Vec<(String, Vec<aws_sdk_ec2::types::Tag>)>, BackendError> {
    let answer = client
        .describe_security_groups()
        .filters(tags::uid_filter(None))
        .send()
        .await
        .map_err(|error| api_error("DescribeSecurityGroups", &error))?;
    Ok(answer
        .security_groups
        .unwrap_or_default()
        .into_iter()
        .filter_map(|group| Some((group.group_id?, group.tags.unwrap_or_default())))
        .collect())
}
