//! Destroying what `up` made: instances (terminated in batches, waited for),
//! then the security group and the key pair, each found by its id or, when
//! only the intent was journalled, by the cluster's tags and names.

use super::options::AwsOptions;
use super::{AwsBackend, INSTANCE, KEY_PAIR, SECURITY_GROUP};
use super::{firewall, instances, key_pairs, keypair};
use crate::backend::{BackendContext, BackendError, NodeResults, ResourceRef};
use crate::model::Node;

impl AwsBackend {
    pub(super) async fn terminate_nodes(
        &self,
        ctx: &BackendContext,
        nodes: &[Node],
    ) -> NodeResults {
        let ids: Vec<String> = nodes.iter().map(|node| node.id.clone()).collect();
        let outcome =
            match AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid) {
                Ok(options) => match self.clients.get(&options).await {
                    Ok(client) => instances::terminate(&client, &ids, &ctx.cancel).await,
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
        nodes
            .iter()
            .map(|node| {
                let result = match &outcome {
                    Ok(gone) if gone.contains(&node.id) => Err(BackendError::not_found(format!(
                        "no instance {} (already terminated)",
                        node.id
                    ))),
                    Ok(_) => Ok(()),
                    Err(error) => Err(error.clone()),
                };
                (node.name.clone(), result)
            })
            .collect()
    }

    pub(super) async fn remove_resource(
        &self,
        ctx: &BackendContext,
        resource: &ResourceRef,
        id: Option<&str>,
    ) -> Result<(), BackendError> {
        let options = AwsOptions::parse_or_message(&ctx.options).map_err(BackendError::invalid)?;
        let client = self.clients.get(&options).await?;
        match resource.kind.as_str() {
            INSTANCE => {
                let id = match id {
                    Some(id) => id.to_owned(),
                    // Launched by a call that was cut off: found by its tags.
                    None => instances::labelled(&client, Some(ctx.uid()))
                        .await?
                        .into_iter()
                        .find(|instance| {
                            instances::node_of(instance).as_deref() == Some(resource.key.as_str())
                        })
                        .and_then(|instance| instance.instance_id)
                        .ok_or_else(|| {
                            BackendError::not_found(format!(
                                "no instance for node {}",
                                resource.key
                            ))
                        })?,
                };
                let gone =
                    instances::terminate(&client, std::slice::from_ref(&id), &ctx.cancel).await?;
                if gone.contains(&id) {
                    return Err(BackendError::not_found(format!("no instance {id}")));
                }
                Ok(())
            }
            SECURITY_GROUP => {
                let id = match id {
                    Some(id) => id.to_owned(),
                    None => firewall::find(&client, ctx.uid()).await?.ok_or_else(|| {
                        BackendError::not_found("the cluster has no security group")
                    })?,
                };
                firewall::delete(&client, &id).await
            }
            KEY_PAIR => {
                let name = id.map_or_else(|| keypair::key_name(ctx.uid()), str::to_owned);
                let result = key_pairs::delete(&client, &name).await;
                let private = keypair::private_key_path(&ctx.state_dir);
                if result.is_ok() || result.as_ref().is_err_and(BackendError::is_not_found) {
                    let _ = std::fs::remove_file(private);
                }
                result
            }
            other => Err(BackendError::not_found(format!(
                "the aws backend makes no {other} resources"
            ))),
        }
    }
}
