//! A node's state as the engine sees its container now.

use bollard::Docker;
use bollard::models::ContainerStateStatusEnum;

use super::client::api_error;
use crate::backend::BackendError;
use crate::model::{Node, NodeState};
use crate::transport::docker::status_code;

/// The node state of a container state: running (and restarting) is
/// running, paused and exited are stopped, a container being made is
/// creating, dead or being removed is failed.
pub fn node_state(status: ContainerStateStatusEnum) -> NodeState {
    match status {
        ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::RESTARTING => {
            NodeState::Running
        }
        ContainerStateStatusEnum::PAUSED
        | ContainerStateStatusEnum::EXITED
        | ContainerStateStatusEnum::STOPPING => NodeState::Stopped,
        ContainerStateStatusEnum::CREATED => NodeState::Creating,
        ContainerStateStatusEnum::DEAD
        | ContainerStateStatusEnum::REMOVING
        | ContainerStateStatusEnum::EMPTY => NodeState::Failed,
    }
}

/// The node state of a container state, told apart by what clusterdeck
/// recorded: an exited container clusterdeck did not stop was killed or
/// crashed (`exited`); a paused one was frozen from outside (`paused`).
pub fn observed_state(status: ContainerStateStatusEnum, recorded: NodeState) -> NodeState {
    match status {
        ContainerStateStatusEnum::EXITED if recorded != NodeState::Stopped => NodeState::Exited,
        ContainerStateStatusEnum::PAUSED => NodeState::Paused,
        status => node_state(status),
    }
}

/// The node with the state of its container; `destroyed` when the
/// container is gone. A node never created keeps its state.
pub async fn discover(docker: &Docker, node: &Node) -> Result<Node, BackendError> {
    let mut node = node.clone();
    if node.id.is_empty() {
        return Ok(node);
    }
    match docker
        .inspect_container(
            &node.id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(inspected) => {
            if let Some(status) = inspected.state.and_then(|state| state.status) {
                node.state = observed_state(status, node.state);
            }
            Ok(node)
        }
        Err(err) if status_code(&err) == Some(404) => {
            node.state = NodeState::Destroyed;
            Ok(node)
        }
        Err(err) => Err(api_error(
            &format!("inspect container {} of node {}", node.id, node.name),
            &err,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_states_map_to_node_states() {
        for (status, state) in [
            (ContainerStateStatusEnum::RUNNING, NodeState::Running),
            (ContainerStateStatusEnum::RESTARTING, NodeState::Running),
            (ContainerStateStatusEnum::EXITED, NodeState::Stopped),
            (ContainerStateStatusEnum::PAUSED, NodeState::Stopped),
            (ContainerStateStatusEnum::CREATED, NodeState::Creating),
            (ContainerStateStatusEnum::DEAD, NodeState::Failed),
            (ContainerStateStatusEnum::REMOVING, NodeState::Failed),
        ] {
            assert_eq!(node_state(status), state, "{status}");
        }
        use ContainerStateStatusEnum::{EXITED, PAUSED, RUNNING};
        assert_eq!(
            observed_state(EXITED, NodeState::Running),
            NodeState::Exited,
            "killed from outside"
        );
        assert_eq!(
            observed_state(EXITED, NodeState::Stopped),
            NodeState::Stopped,
            "stopped by clusterdeck"
        );
        assert_eq!(
            observed_state(PAUSED, NodeState::Running),
            NodeState::Paused
        );
        assert_eq!(
            observed_state(RUNNING, NodeState::Stopped),
            NodeState::Running
        );
    }
}
