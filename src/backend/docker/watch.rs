//! Live node states from Docker's event stream: the engine's `/events`,
//! filtered on the cluster's id label and the container actions that change
//! a node's state, turned into `NodeStateChange`s. No polling: a container
//! killed from outside is reported as soon as dockerd says it died.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptions;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::client::{api_error, engine};
use super::naming::{LABEL_CLUSTER_ID, LABEL_NODE, container_name};
use crate::backend::{BackendContext, BackendError, NodeWatch};
use crate::model::{BackendFailureKind, Node, NodeState, NodeStateChange};

/// Changes waiting for the dashboard, at most; the engine's stream waits
/// behind a full queue rather than piling up here.
const QUEUE: usize = 256;

/// The container actions that change a node's state. `kill` only sends a
/// signal: it is asked for so the stream is complete, but changes nothing
/// by itself (a `die` follows if the process ends).
const ACTIONS: [&str; 9] = [
    "start", "restart", "unpause", "die", "stop", "kill", "pause", "destroy", "oom",
];

/// The state a container action leaves its node in; `None` for actions
/// that change nothing by themselves. `docker stop` sends `kill`, `die`,
/// then `stop`: the node is `exited` for a moment, then `stopped`.
pub fn state_after(action: &str) -> Option<NodeState> {
    match action {
        "start" | "restart" | "unpause" => Some(NodeState::Running),
        "die" => Some(NodeState::Exited),
        "stop" => Some(NodeState::Stopped),
        "pause" => Some(NodeState::Paused),
        "destroy" => Some(NodeState::Destroyed),
        _ => None,
    }
}

/// Which node of the cluster an event's container is: by id (the known
/// nodes'), then by the node label, then by its name
/// `clusterdeck-<cluster>-<node>`.
pub fn node_of(event: &EventMessage, cluster: &str, known: &[Node]) -> Option<String> {
    let actor = event.actor.as_ref()?;
    if let Some(id) = actor.id.as_deref().filter(|id| !id.is_empty())
        && let Some(node) = known
            .iter()
            .find(|node| !node.id.is_empty() && (id.starts_with(&node.id) || node.id == id))
    {
        return Some(node.name.clone());
    }
    let attributes = actor.attributes.as_ref()?;
    if let Some(node) = attributes.get(LABEL_NODE).filter(|node| !node.is_empty()) {
        return Some(node.clone());
    }
    let prefix = container_name(cluster, "");
    attributes
        .get("name")
        .and_then(|name| name.strip_prefix(&prefix))
        .filter(|node| !node.is_empty())
        .map(str::to_owned)
}

/// The node state change an engine event means, if any.
pub fn change_of(event: &EventMessage, cluster: &str, known: &[Node]) -> Option<NodeStateChange> {
    if event.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return None;
    }
    let state = state_after(event.action.as_deref()?)?;
    Some(NodeStateChange {
        node: node_of(event, cluster, known)?,
        state,
    })
}

/// The engine's filters: this cluster's containers, the actions above.
fn options(uid: &str, since: SystemTime) -> EventsOptions {
    let since = since.duration_since(UNIX_EPOCH).unwrap_or_default();
    EventsOptions {
        // Replayed from the moment of the call, so nothing between it and
        // the stream's first byte is lost.
        since: Some(format!("{}.{:09}", since.as_secs(), since.subsec_nanos())),
        until: None,
        filters: Some(HashMap::from([
            ("type".to_owned(), vec!["container".to_owned()]),
            (
                "label".to_owned(),
                vec![format!("{LABEL_CLUSTER_ID}={uid}")],
            ),
            (
                "event".to_owned(),
                ACTIONS.iter().map(|&action| action.to_owned()).collect(),
            ),
        ])),
    }
}

/// Follows the cluster's containers until the receiver is dropped, the
/// context is cancelled, or the engine's stream breaks (then an `Err` is the
/// last item). An engine that cannot be reached fails the call itself.
pub async fn watch(ctx: &BackendContext, nodes: &[Node]) -> Result<NodeWatch, BackendError> {
    let since = SystemTime::now();
    let docker = engine().await?;
    let (sender, receiver) = mpsc::channel(QUEUE);
    let cluster = ctx.name().to_owned();
    let known = nodes.to_vec();
    let cancel = ctx.cancel.clone();
    let mut events = docker.events(Some(options(ctx.uid(), since)));
    tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                () = cancel.cancelled() => return,
                () = sender.closed() => return,
                item = events.next() => item,
            };
            let sent = match item {
                Some(Ok(event)) => match change_of(&event, &cluster, &known) {
                    Some(change) => sender.send(Ok(change)).await,
                    None => Ok(()),
                },
                Some(Err(err)) => {
                    let _ = sender
                        .send(Err(api_error("follow the engine's events", &err)))
                        .await;
                    return;
                }
                None => {
                    let _ = sender
                        .send(Err(BackendError::new(
                            BackendFailureKind::Transient,
                            "the docker engine closed its event stream (was dockerd restarted?)",
                        )))
                        .await;
                    return;
                }
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn event(action: &str, id: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some(id.to_owned()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                        .collect(),
                ),
            }),
            ..EventMessage::default()
        }
    }

    fn node(name: &str, id: &str) -> Node {
        Node {
            id: id.to_owned(),
            name: name.to_owned(),
            group: "agents".to_owned(),
            index: 1,
            roles: vec![],
            addresses: vec![],
            state: NodeState::Running,
        }
    }

    #[test]
    fn container_actions_map_to_node_states() {
        for (action, state) in [
            ("start", Some(NodeState::Running)),
            ("restart", Some(NodeState::Running)),
            ("unpause", Some(NodeState::Running)),
            ("die", Some(NodeState::Exited)),
            ("stop", Some(NodeState::Stopped)),
            ("pause", Some(NodeState::Paused)),
            ("destroy", Some(NodeState::Destroyed)),
            ("kill", None),
            ("oom", None),
            ("exec_start: sh -c true", None),
        ] {
            assert_eq!(state_after(action), state, "{action}");
        }
        for action in ACTIONS {
            assert!(
                !action.contains(' '),
                "an engine filter takes plain action names"
            );
        }
    }

    #[test]
    fn events_are_matched_to_nodes_by_id_label_or_name() {
        let known = [node("agents-1", "abc123"), node("agents-2", "")];
        let by_id = event("die", "abc123def456", &[("name", "whatever")]);
        assert_eq!(
            change_of(&by_id, "demo", &known),
            Some(NodeStateChange {
                node: "agents-1".into(),
                state: NodeState::Exited
            })
        );
        let by_label = event("stop", "fff", &[(LABEL_NODE, "agents-2")]);
        assert_eq!(
            change_of(&by_label, "demo", &known).map(|change| change.node),
            Some("agents-2".into())
        );
        // A node made by a scale after the watch started: known by name only.
        let by_name = event("start", "eee", &[("name", "clusterdeck-demo-agents-7")]);
        assert_eq!(
            change_of(&by_name, "demo", &known),
            Some(NodeStateChange {
                node: "agents-7".into(),
                state: NodeState::Running
            })
        );
        let stranger = event("die", "ddd", &[("name", "clusterdeck-other-agents-1")]);
        assert_eq!(change_of(&stranger, "demo", &known), None);
        let signal = event("kill", "abc123def456", &[]);
        assert_eq!(change_of(&signal, "demo", &known), None, "a signal alone");
        let mut network = by_id.clone();
        network.typ = Some(EventMessageTypeEnum::NETWORK);
        assert_eq!(change_of(&network, "demo", &known), None);
    }

    #[test]
    fn the_engine_is_asked_for_this_cluster_since_the_call() {
        let since = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 5);
        let options = options("demo-1", since);
        assert_eq!(options.since.as_deref(), Some("1700000000.000000005"));
        let filters = options.filters.expect("filters");
        assert_eq!(
            filters["label"],
            vec!["io.clusterdeck.cluster-id=demo-1".to_owned()]
        );
        assert_eq!(filters["type"], vec!["container".to_owned()]);
        assert!(filters["event"].contains(&"die".to_owned()));
    }
}
