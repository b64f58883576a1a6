//! `doctor` for aws: the options parse, credentials are resolvable (and
//! from which source, never their values), the region answers, the AMI
//! exists.

use aws_sdk_ec2::config::ProvideCredentials;
use aws_sdk_ec2::types::AccountAttributeName;

use super::options::AwsOptions;
use super::{AwsBackend, client, images};
use crate::backend::{PreflightCheck, PreflightContext};

impl AwsBackend {
    pub(super) async fn checks(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        let options = match AwsOptions::parse_or_message(&ctx.options) {
            Ok(options) => options,
            Err(problem) => {
                return vec![PreflightCheck::fail(
                    "aws-options",
                    problem,
                    "fix backend.options",
                )];
            }
        };
        let mut checks = Vec::new();
        let source = client::credential_source(&options);
        let Ok(client) = self.clients.get(&options).await else {
            return checks;
        };
        let config = client::load_config(&options).await;
        let provider = config.credentials_provider();
        let credentials = match provider {
            Some(provider) => provider
                .provide_credentials()
                .await
                .map(|_| ())
                .map_err(|error| error.to_string()),
            None => Err("no credentials provider".to_owned()),
        };
        match credentials {
            Ok(()) => checks.push(PreflightCheck::pass(
                "aws-credentials",
                format!("credentials resolve, from {source}"),
            )),
            Err(error) => {
                checks.push(PreflightCheck::fail(
                    "aws-credentials",
                    format!("no credentials could be resolved (looked for {source}): {error}"),
                    "set AWS_PROFILE (aws configure / aws sso login) or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                ));
                return checks;
            }
        }
        let region = client
            .config()
            .region()
            .map_or_else(|| client::FALLBACK_REGION.to_owned(), ToString::to_string);
        match client.describe_availability_zones().send().await {
            Ok(answer) => checks.push(PreflightCheck::pass(
                "aws-region",
                format!(
                    "region {region} answers ({} availability zone(s))",
                    answer.availability_zones.unwrap_or_default().len()
                ),
            )),
            Err(error) => {
                let failure = super::errors::api_error("DescribeAvailabilityZones", &error);
                checks.push(PreflightCheck::fail(
                    "aws-region",
                    format!("region {region}: {failure}"),
                    "check backend.options.region, endpoint_url and the network",
                ));
                return checks;
            }
        }
        match images::resolve(&client, &options.ami).await {
            Ok(id) => checks.push(PreflightCheck::pass(
                "aws-ami",
                format!("image {id} exists"),
            )),
            Err(error) => checks.push(PreflightCheck::fail(
                "aws-ami",
                error.to_string(),
                "set backend.options.ami to an image of this region",
            )),
        }
        if let Some(spec) = &ctx.spec {
            let wanted: u64 = spec
                .node_groups
                .iter()
                .map(|group| u64::from(group.count))
                .sum();
            checks.push(quota(&client, wanted).await);
        }
        checks
    }
}

/// The account's instance limit against the spec's node count, where EC2
/// tells it (`max-instances`; accounts on vCPU limits say so elsewhere,
/// in Service Quotas, which this check does not ask).
async fn quota(client: &aws_sdk_ec2::Client, wanted: u64) -> PreflightCheck {
    const NAME: &str = "aws-quota";
    let answer = client
        .describe_account_attributes()
        .attribute_names(AccountAttributeName::from("max-instances"))
        .send()
        .await;
    let limit = answer.ok().and_then(|answer| {
        answer
            .account_attributes?
            .into_iter()
            .find(|attribute| attribute.attribute_name.as_deref() == Some("max-instances"))?
            .attribute_values?
            .into_iter()
            .find_map(|value| value.attribute_value?.parse::<u64>().ok())
    });
    match limit {
        Some(limit) if limit < wanted => PreflightCheck::fail(
            NAME,
            format!(
                "the spec asks for {wanted} instance(s); the account allows {limit} (max-instances)"
            ),
            "ask AWS for a higher limit (Service Quotas) or make the node groups smaller",
        ),
        Some(limit) => PreflightCheck::pass(
            NAME,
            format!(
                "the spec asks for {wanted} instance(s); the account allows {limit} (max-instances)"
            ),
        ),
        None => PreflightCheck::pass(
            NAME,
            format!(
                "the spec asks for {wanted} instance(s); EC2 does not tell the account's limit here"
            ),
        ),
    }
}
