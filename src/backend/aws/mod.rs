//! The `aws` backend: a cluster is EC2 instances, one RunInstances per node
//! group, reached over SSH with a key pair made for the cluster, behind a
//! security group of its own. Everything is tagged with the cluster's uid
//! (see [`tags`]) so `gc` finds it without a record. docs/backends/aws.md
//! describes it for users.

mod cidr;
mod client;
mod errors;
mod firewall;
mod images;
mod instances;
mod key_pairs;
mod keypair;
mod labelled;
mod options;
mod preflight;
mod provision;
mod regions;
mod tags;
mod teardown;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;

use super::{
    Backend, BackendContext, BackendError, BackendInfo, Capabilities, Endpoint, GcContext,
    GroupRequest, LabelledResource, NodeOutcome, NodeResults, PreflightCheck, PreflightContext,
    ResourceRef,
};
use crate::model::{HostKeyPolicy, Node, NodeState, UrlFetch, ValidatorOutcome};
use crate::spec::ClusterSpec;
use crate::transport::ssh::SshSettings;
use options::AwsOptions;

const KIND: &str = "aws";
/// Journalled resource kinds and the keys of the cluster-level ones.
pub const INSTANCE: &str = "aws-instance";
pub const SECURITY_GROUP: &str = "aws-security-group";
pub const KEY_PAIR: &str = "aws-key-pair";
const SECURITY_GROUP_KEY: &str = "security-group";
const KEY_PAIR_KEY: &str = "key-pair";
const KNOWN_HOSTS: &str = "known_hosts";

#[derive(Default)]
pub struct AwsBackend {
    clients: client::Clients,
}

#[async_trait]
impl Backend for AwsBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: KIND.to_owned(),
            capabilities: Capabilities {
                create: true,
                destroy: true,
                install_from_path: true,
                install_from_url: true,
                scale: true,
                stop_start: false,
                gc: true,
                // EC2 has no event stream to follow; inspect asks DescribeInstances.
                watch: false,
                url_fetch: UrlFetch::Node,
            },
            cluster_options: options::cluster_options(),
            group_options: options::group_options(),
        }
    }

    async fn preflight(&self, ctx: &PreflightContext) -> Vec<PreflightCheck> {
        self.checks(ctx).await
    }

    async fn validate(&self, spec: &ClusterSpec) -> Vec<ValidatorOutcome> {
        const NAME: &str = "aws-options";
        match AwsOptions::parse(&spec.backend.options) {
            Ok(options) => {
                let mut message = "region, admin_location, tags and keys are valid".to_owned();
                for warning in options.warnings() {
                    message.push_str("; ");
                    message.push_str(&warning);
                }
                vec![ValidatorOutcome::new(NAME, true, message)]
            }
            Err(problems) => problems
                .into_iter()
                .map(|(option, message)| {
                    ValidatorOutcome::failed_at(NAME, format!("backend.options.{option}"), message)
                })
                .collect(),
        }
    }

    async fn prepare(&self, ctx: &BackendContext) -> Result<(), BackendError> {
        self.prepare_cluster(ctx).await
    }

    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        self.create_nodes(ctx, group).await
    }

    async fn destroy_nodes(&self, ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        self.terminate_nodes(ctx, nodes).await
    }

    async fn discover(
        &self,
        ctx: &BackendContext,
        known: &[Node],
    ) -> Result<Vec<Node>, BackendError> {
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        let client = self.clients.get(&options).await?;
        let ids: Vec<String> = known.iter().map(|node| node.id.clone()).collect();
        let found = instances::describe(&client, &ids).await?;
        Ok(known
            .iter()
            .map(|node| {
                let state = found
                    .iter()
                    .find(|instance| instance.instance_id.as_deref() == Some(node.id.as_str()))
                    .map_or(NodeState::Destroyed, instances::node_state);
                Node {
                    state,
                    ..node.clone()
                }
            })
            .collect())
    }

    async fn destroy_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        self.remove_resource(ctx, resource, id).await
    }

    async fn list_labelled(&self, ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        self.labelled(ctx).await
    }

    /// SSH to the node's public address (its private one when it has
    /// none), through the `ssh_config` option when given, with the
    /// cluster's key and a per-cluster known_hosts that records new keys.
    async fn endpoint(&self, ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        let address = node.addresses.last().ok_or_else(|| {
            BackendError::other(format!("node {} has no address to reach it by", node.name))
        })?;
        let settings = SshSettings {
            user: options.ssh_user.clone(),
            port: 22,
            identity_files: vec![keypair::private_key_path(&ctx.state_dir)],
            use_agent: false,
            ssh_config: options.ssh_config.clone(),
            known_hosts: ctx.state_dir.join(KNOWN_HOSTS),
            host_key_policy: HostKeyPolicy::AcceptNew,
            connect_timeout: Duration::from_millis(options.connect_timeout_ms),
        };
        let target = settings.endpoint(address).map_err(BackendError::invalid)?;
        let mut env = BTreeMap::new();
        if !ctx.uid().is_empty() {
            env.insert("CLUSTERDECK_CLUSTER_UID".to_owned(), ctx.uid().to_owned());
        }
        Ok(Endpoint::Ssh {
            host: target.host,
            port: target.port,
            user: target.user,
            root: format!("{}/{}/{}", options.workspace_dir, ctx.name(), node.name),
            identity_files: target.identity_files,
            known_hosts: Some(PathBuf::from(&settings.known_hosts)),
            host_key_policy: HostKeyPolicy::AcceptNew,
            use_agent: false,
            connect_timeout_ms: Some(options.connect_timeout_ms),
            env,
        })
    }
}
