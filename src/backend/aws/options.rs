//! The aws backend's options: the schema the engine checks a spec against
//! (types, defaults, descriptions) and [`AwsOptions`], the same options
//! typed for the backend's own use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::{cidr, regions};
use crate::model::{OptionSpec, OptionType};

pub const REGION: &str = "region";
pub const ADMIN_LOCATION: &str = "admin_location";
pub const INSTANCE_TYPE: &str = "instance_type";
pub const AMI: &str = "ami";
pub const SSH_USER: &str = "ssh_user";
pub const DEPLOY_TIMEOUT: &str = "deploy_timeout";
pub const WORKSPACE_DIR: &str = "workspace_dir";
pub const SUBNET_ID: &str = "subnet_id";
pub const TAGS: &str = "tags";
pub const ENDPOINT_URL: &str = "endpoint_url";
pub const SSH_CONFIG: &str = "ssh_config";
pub const CONNECT_TIMEOUT_MS: &str = "connect_timeout_ms";
pub const ACCESS_KEY_ID: &str = "aws_access_key_id";
pub const SECRET_ACCESS_KEY: &str = "aws_secret_access_key";

const DEFAULT_INSTANCE_TYPE: &str = "t3.small";
/// Debian 12's official images (owner 136693071363) log in as `admin`.
const DEFAULT_AMI: &str = "debian-12-amd64-*";
const DEFAULT_SSH_USER: &str = "admin";

pub fn cluster_options() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new(REGION, OptionType::String, "AWS region; empty: the standard chain's (AWS_REGION, the profile)").with_default(json!("")),
        OptionSpec::new(ADMIN_LOCATION, OptionType::String, "IPv4 CIDR allowed to reach the nodes over SSH; the default, 0.0.0.0/0, is accepted with a warning").with_default(json!("0.0.0.0/0")),
        OptionSpec::new(AMI, OptionType::String, "image of every node: an id (ami-...) or a name filter, newest match wins").with_default(json!(DEFAULT_AMI)),
        OptionSpec::new(SSH_USER, OptionType::String, "login user of the image").with_default(json!(DEFAULT_SSH_USER)),
        OptionSpec::new(DEPLOY_TIMEOUT, OptionType::Integer, "the cluster's lifespan in minutes, tagged on everything as its expiry; 0: none").with_default(json!(240)),
        OptionSpec::new(WORKSPACE_DIR, OptionType::String, "directory on each node for clusterdeck's files, relative to the login's home").with_default(json!(".clusterdeck")),
        OptionSpec::new(SUBNET_ID, OptionType::String, "subnet to launch into; empty: the default VPC").with_default(json!("")),
        OptionSpec::new(TAGS, OptionType::StringList, "extra tags on everything created, as key=value").with_default(json!([])),
        OptionSpec::new(ENDPOINT_URL, OptionType::String, "EC2 endpoint for emulators and other clouds; empty: AWS (or AWS_ENDPOINT_URL)").with_default(json!("")),
        OptionSpec::new(SSH_CONFIG, OptionType::String, "OpenSSH client config consulted for each node's address (HostName, Port, User, IdentityFile); empty for none").with_default(json!("")),
        OptionSpec::new(CONNECT_TIMEOUT_MS, OptionType::Integer, "give up connecting to a node after this long").with_default(json!(10_000)),
        OptionSpec::new(ACCESS_KEY_ID, OptionType::String, "discouraged: an access key id; prefer the standard chain (environment, profile, SSO, instance role)").secret(),
        OptionSpec::new(SECRET_ACCESS_KEY, OptionType::String, "discouraged: the secret access key that goes with aws_access_key_id").secret(),
    ]
}

pub fn group_options() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new(
            INSTANCE_TYPE,
            OptionType::String,
            "EC2 instance type of the group's nodes",
        )
        .with_default(json!(DEFAULT_INSTANCE_TYPE))
        .in_groups(),
    ]
}

/// The image to launch: a known id, or a name filter to look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ami {
    Id(String),
    NameFilter(String),
}

/// Explicit keys from the spec. Never printed: Debug is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticKeys {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("StaticKeys(redacted)")
    }
}

/// The cluster options, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// `None`: the standard chain's region.
    pub region: Option<String>,
    pub admin_location: String,
    pub ami: Ami,
    pub ssh_user: String,
    /// Minutes; 0 for no expiry.
    pub deploy_timeout: u64,
    pub workspace_dir: String,
    pub subnet_id: Option<String>,
    pub tags: Vec<(String, String)>,
    pub endpoint_url: Option<String>,
    pub ssh_config: Option<PathBuf>,
    pub connect_timeout_ms: u64,
    pub keys: Option<StaticKeys>,
}

fn text(options: &BTreeMap<String, Value>, name: &str) -> Option<String> {
    options
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
}

impl AwsOptions {
    /// Every problem, each naming its option; never a secret's value.
    pub fn parse(options: &BTreeMap<String, Value>) -> Result<Self, Vec<(String, String)>> {
        let mut problems: Vec<(String, String)> = Vec::new();
        let region = text(options, REGION);
        if let Some(region) = &region
            && let Err(error) = regions::check(region)
        {
            problems.push((REGION.to_owned(), error));
        }
        let admin_location =
            text(options, ADMIN_LOCATION).unwrap_or_else(|| "0.0.0.0/0".to_owned());
        if let Err(error) = cidr::check(&admin_location) {
            problems.push((ADMIN_LOCATION.to_owned(), error));
        }
        let ami = match text(options, AMI) {
            Some(id) if id.starts_with("ami-") => Ami::Id(id),
            Some(filter) => Ami::NameFilter(filter),
            None => Ami::NameFilter(DEFAULT_AMI.to_owned()),
        };
        let mut tags = Vec::new();
        for entry in options
            .get(TAGS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            match entry.split_once('=') {
                Some((key, value)) if !key.is_empty() && !key.starts_with("clusterdeck.") => {
                    tags.push((key.to_owned(), value.to_owned()));
                }
                _ => problems.push((
                    TAGS.to_owned(),
                    format!(
                        "backend.options.tags: {entry:?} is not key=value (keys starting with clusterdeck. are clusterdeck's own)"
                    ),
                )),
            }
        }
        let keys = match (
            text(options, ACCESS_KEY_ID),
            text(options, SECRET_ACCESS_KEY),
        ) {
            (Some(access_key_id), Some(secret_access_key)) => Some(StaticKeys {
                access_key_id,
                secret_access_key,
            }),
            (None, None) => None,
            _ => {
                problems.push((
                    SECRET_ACCESS_KEY.to_owned(),
                    "backend.options: aws_access_key_id and aws_secret_access_key go together (better: neither, and the standard credential chain)".to_owned(),
                ));
                None
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Self {
            region,
            admin_location,
            ami,
            ssh_user: text(options, SSH_USER).unwrap_or_else(|| DEFAULT_SSH_USER.to_owned()),
            deploy_timeout: options
                .get(DEPLOY_TIMEOUT)
                .and_then(Value::as_u64)
                .unwrap_or(240),
            workspace_dir: text(options, WORKSPACE_DIR)
                .unwrap_or_else(|| ".clusterdeck".to_owned()),
            subnet_id: text(options, SUBNET_ID),
            tags,
            endpoint_url: text(options, ENDPOINT_URL),
            ssh_config: text(options, SSH_CONFIG)
                .map(|path| crate::transport::ssh::expand_home(&PathBuf::from(path))),
            connect_timeout_ms: options
                .get(CONNECT_TIMEOUT_MS)
                .and_then(Value::as_u64)
                .unwrap_or(10_000),
            keys,
        })
    }

    /// The problems as one message, for errors outside `validate`.
    pub fn parse_or_message(options: &BTreeMap<String, Value>) -> Result<Self, String> {
        Self::parse(options).map_err(|problems| {
            problems
                .into_iter()
                .map(|(_, message)| message)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    /// Whether anything on this machine points at AWS (or an EC2 emulator):
    /// an option, the standard chain's variables, or a profile file. `gc`
    /// on a machine without any of them does not call out at all.
    pub fn aws_configured(&self) -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        let home_file = |name: &str| {
            std::env::var_os("HOME")
                .is_some_and(|home| std::path::Path::new(&home).join(".aws").join(name).exists())
        };
        self.region.is_some()
            || self.endpoint_url.is_some()
            || self.keys.is_some()
            || [
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_PROFILE",
                "AWS_ENDPOINT_URL",
                "AWS_ENDPOINT_URL_EC2",
                "AWS_ACCESS_KEY_ID",
                "AWS_CONFIG_FILE",
            ]
            .iter()
            .any(|name| set(name))
            || home_file("config")
            || home_file("credentials")
    }

    /// Warnings worth showing before anything is created.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if cidr::is_open_to_all(&self.admin_location) {
            warnings.push("warning: backend.options.admin_location 0.0.0.0/0 lets the whole internet try SSH on every node".to_owned());
        }
        if self.keys.is_some() {
            warnings.push("warning: backend.options.aws_access_key_id/aws_secret_access_key are discouraged; use the standard chain (AWS_PROFILE, environment, SSO, instance role)".to_owned());
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect()
    }

    #[test]
    fn options_are_typed_and_every_problem_names_its_option() {
        let options = AwsOptions::parse(&given(&[
            (ADMIN_LOCATION, json!("0.0.0.0/0")),
            (REGION, json!("eu-west-1")),
            (AMI, json!("ami-1e749f67")),
            (TAGS, json!(["team=infra"])),
            (ACCESS_KEY_ID, json!("AKIAEXAMPLE")),
            (SECRET_ACCESS_KEY, json!("hush-hush")),
        ]))
        .expect("valid");
        assert_eq!(options.ami, Ami::Id("ami-1e749f67".into()));
        assert_eq!(options.tags, [("team".to_owned(), "infra".to_owned())]);
        assert_eq!(options.warnings().len(), 2);
        assert!(!format!("{options:?}").contains("hush-hush"));

        let problems = AwsOptions::parse(&given(&[
            (ADMIN_LOCATION, json!("10.0.0.0/40")),
            (REGION, json!("mars-north-1")),
            (TAGS, json!(["clusterdeck.uid=x"])),
            (SECRET_ACCESS_KEY, json!("hush-hush")),
        ]))
        .expect_err("invalid");
        let named: Vec<&str> = problems.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(named, [REGION, ADMIN_LOCATION, TAGS, SECRET_ACCESS_KEY]);
        assert!(problems[0].1.contains("us-east-1"), "{}", problems[0].1);
        assert!(
            problems
                .iter()
                .all(|(_, message)| !message.contains("hush-hush"))
        );
    }
}
