//! The cluster's key pair in EC2: the public half of [`super::keypair`]'s
//! local key, imported under the cluster's name.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{ResourceType, Tag};

use super::errors::api_error;
use super::tags;
use crate::backend::BackendError;

/// Imports `public_key` as `name`; one already there (a retried `up`) is
/// taken as is.
pub async fn import(
    client: &Client,
    name: &str,
    public_key: &str,
    tag_list: Vec<Tag>,
) -> Result<(), BackendError> {
    let imported = client
        .import_key_pair()
        .key_name(name)
        .public_key_material(Blob::new(public_key.as_bytes()))
        .tag_specifications(tags::spec(ResourceType::KeyPair, tag_list))
        .send()
        .await;
    match imported {
        Ok(_) => Ok(()),
        Err(error) => {
            let failure = api_error("ImportKeyPair", &error);
            if failure.to_string().contains("InvalidKeyPair.Duplicate") {
                Ok(())
            } else {
                Err(failure)
            }
        }
    }
}

/// Deletes by name; a name EC2 does not know is `NotFound`.
pub async fn delete(client: &Client, name: &str) -> Result<(), BackendError> {
    let found = client
        .describe_key_pairs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("key-name")
                .values(name)
                .build(),
        )
        .send()
        .await
        .map_err(|error| api_error("DescribeKeyPairs", &error))?;
    if found.key_pairs.unwrap_or_default().is_empty() {
        return Err(BackendError::not_found(format!("no key pair {name}")));
    }
    client
        .delete_key_pair()
        .key_name(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|error| api_error("DeleteKeyPair", &error))
}

/// Every clusterdeck key pair, of every cluster: (name, tags).
pub async fn labelled(client: &Client) -> Result<Vec<(String, Vec<Tag>)>, BackendError> {
    let answer = client
        .describe_key_pairs()
        .filters(tags::uid_filter(None))
        .send()
        .await
        .map_err(|error| api_error("DescribeKeyPairs", &error))?;
    Ok(answer
        .key_pairs
        .unwrap_or_default()
        .into_iter()
        .filter_map(|pair| Some((pair.key_name?, pair.tags.unwrap_or_default())))
        .collect())
}
