//! The `ami` option: an image id is checked to exist, a name filter is
//! looked up (newest match), before anything is created.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::Filter;

use super::errors::api_error;
use super::options::Ami;
use crate::backend::BackendError;

pub async fn resolve(client: &Client, ami: &Ami) -> Result<String, BackendError> {
    let request = client.describe_images();
    let request = match ami {
        Ami::Id(id) => request.image_ids(id),
        Ami::NameFilter(pattern) => {
            request.filters(Filter::builder().name("name").values(pattern).build())
        }
    };
    let images = match request.send().await {
        Ok(answer) => answer.images.unwrap_or_default(),
        Err(error) => {
            let failure = api_error("DescribeImages", &error);
            if failure.to_string().contains("InvalidAMIID") {
                Vec::new()
            } else {
                return Err(failure);
            }
        }
    };
    let newest = images
        .into_iter()
        .filter(|image| image.image_id.is_some())
        .max_by(|a, b| a.creation_date.cmp(&b.creation_date));
    match (newest.and_then(|image| image.image_id), ami) {
        (Some(id), _) => Ok(id),
        (None, Ami::Id(id)) => Err(BackendError::invalid(format!(
            "backend.options.ami: no image {id} in this region (DescribeImages)"
        ))),
        (None, Ami::NameFilter(pattern)) => Err(BackendError::invalid(format!(
            "backend.options.ami: no image is named like {pattern:?} in this region (DescribeImages)"
        ))),
    }
}
