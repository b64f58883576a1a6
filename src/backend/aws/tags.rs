//! The tags clusterdeck puts on everything it creates in EC2, so that
//! `list_labelled` (gc) finds it again without a cluster record, and an
//! instance launched by a call that was cut off can be told apart.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};

use crate::backend::BackendContext;

pub const CLUSTER: &str = "clusterdeck.cluster";
pub const UID: &str = "clusterdeck.uid";
pub const GROUP: &str = "clusterdeck.group";
pub const ROLES: &str = "clusterdeck.roles";
/// Unix seconds after which the resource may be collected; absent: never.
pub const EXPIRES: &str = "clusterdeck.expires";
/// The index of the first node a RunInstances call launched; an instance's
/// node is `<group>-<first + AmiLaunchIndex>`, so one call tags them all.
pub const FIRST_INDEX: &str = "clusterdeck.first-index";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// Cluster, uid, expiry and the user's extra tags.
pub fn cluster_tags(
    ctx: &BackendContext,
    expires: Option<u64>,
    extra: &[(String, String)],
) -> Vec<Tag> {
    let mut tags = vec![
        tag(CLUSTER, ctx.name()),
        tag(UID, ctx.uid()),
        tag("Name", &format!("clusterdeck-{}", ctx.name())),
    ];
    if let Some(expires) = expires {
        tags.push(tag(EXPIRES, &expires.to_string()));
    }
    tags.extend(extra.iter().map(|(key, value)| tag(key, value)));
    tags
}

pub fn spec(resource: ResourceType, tags: Vec<Tag>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags))
        .build()
}

/// Only what carries clusterdeck's uid tag (of one cluster, or of any).
pub fn uid_filter(uid: Option<&str>) -> Filter {
    match uid {
        Some(uid) => Filter::builder()
            .name(format!("tag:{UID}"))
            .values(uid)
            .build(),
        None => Filter::builder().name("tag-key").values(UID).build(),
    }
}

/// The value of one tag in a list of them.
pub fn value<'t>(tags: &'t [Tag], key: &str) -> Option<&'t str> {
    tags.iter()
        .find(|tag| tag.key() == Some(key))
        .and_then(Tag::value)
}

/// When a lifespan of `minutes` from now ends, in Unix seconds.
pub fn expiry(minutes: u64) -> Option<u64> {
    if minutes == 0 {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0);
    Some(now + minutes * 60)
}
