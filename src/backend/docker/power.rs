//! Stop and start: the containers stop (the init process passes SIGTERM on,
//! so this takes well under the grace period) and start again with the same
//! filesystem, network and name.

use bollard::Docker;
use bollard::query_parameters::StopContainerOptionsBuilder;

use super::client::api_error;
use crate::backend::{BackendError, PowerAction};
use crate::model::Node;
use crate::transport::docker::status_code;

/// Seconds a container gets between SIGTERM and SIGKILL on stop.
const STOP_GRACE_SECS: i32 = 10;

pub async fn power(docker: &Docker, node: &Node, action: PowerAction) -> Result<(), BackendError> {
    if node.id.is_empty() {
        return Err(BackendError::not_found(format!(
            "node {} was never created",
            node.name
        )));
    }
    let result = match action {
        PowerAction::Stop => {
            docker
                .stop_container(
                    &node.id,
                    Some(
                        StopContainerOptionsBuilder::default()
                            .t(STOP_GRACE_SECS)
                            .build(),
                    ),
                )
                .await
        }
        PowerAction::Start => {
            docker
                .start_container(
                    &node.id,
                    None::<bollard::query_parameters::StartContainerOptions>,
                )
                .await
        }
    };
    match result {
        Ok(()) => Ok(()),
        // 304: already stopped, or already running.
        Err(err) if status_code(&err) == Some(304) => Ok(()),
        Err(err) => {
            let verb = match action {
                PowerAction::Stop => "stop",
                PowerAction::Start => "start",
            };
            Err(api_error(
                &format!("{verb} container {} of node {}", node.id, node.name),
                &err,
            ))
        }
    }
}
