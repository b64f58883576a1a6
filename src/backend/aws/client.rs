//! The EC2 client: aws-config's standard chain (environment, profile, SSO,
//! instance role) unless the spec gives keys, with the SDK's standard retry
//! mode (backoff with jitter on throttling and transient errors) instead of
//! a loop of our own. Clients are kept per region, endpoint and key id, so
//! one command builds each once.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::{Credentials, Region};
use tokio::sync::Mutex;

use super::options::AwsOptions;
use crate::backend::BackendError;

/// Attempts per call, the first included (SDK standard mode backs off
/// exponentially between them).
const MAX_ATTEMPTS: u32 = 6;
/// Used when neither the option nor the standard chain names a region.
pub const FALLBACK_REGION: &str = "us-east-1";

#[derive(Default)]
pub struct Clients(Mutex<HashMap<String, Arc<Client>>>);

impl Clients {
    pub async fn get(&self, options: &AwsOptions) -> Result<Arc<Client>, BackendError> {
        let key = format!(
            "{:?}|{:?}|{:?}",
            options.region,
            options.endpoint_url,
            options.keys.as_ref().map(|keys| keys.access_key_id.clone())
        );
        let mut clients = self.0.lock().await;
        if let Some(client) = clients.get(&key) {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(build(options).await);
        clients.insert(key, Arc::clone(&client));
        Ok(client)
    }
}

/// The SDK configuration: the standard chain with our region, endpoint
/// and retry settings (and the spec's keys, if any).
pub async fn load_config(options: &AwsOptions) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url.clone());
    }
    if let Some(keys) = &options.keys {
        loader = loader.credentials_provider(Credentials::new(
            keys.access_key_id.clone(),
            keys.secret_access_key.clone(),
            None,
            None,
            "clusterdeck-spec",
        ));
    }
    loader.load().await
}

async fn build(options: &AwsOptions) -> Client {
    let config = load_config(options).await;
    let mut builder = aws_sdk_ec2::config::Builder::from(&config);
    if config.region().is_none() {
        builder = builder.region(Region::new(FALLBACK_REGION));
    }
    Client::from_conf(builder.build())
}

/// Where the credentials come from, by the standard chain's order; never
/// their values.
pub fn credential_source(options: &AwsOptions) -> String {
    let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
    if options.keys.is_some() {
        "the spec (backend.options.aws_access_key_id; discouraged)".to_owned()
    } else if set("AWS_ACCESS_KEY_ID") {
        "the environment (AWS_ACCESS_KEY_ID)".to_owned()
    } else if set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        "a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_owned()
    } else if set("AWS_PROFILE") {
        format!(
            "the profile {:?} (AWS_PROFILE)",
            std::env::var("AWS_PROFILE").unwrap_or_default()
        )
    } else {
        "the default profile, SSO, or the instance role".to_owned()
    }
}
