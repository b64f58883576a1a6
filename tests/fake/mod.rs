//! An in-memory backend for engine tests: a pretend cloud holding node
//! instances and, optionally, a cluster network that is "in use" while any
//! instance of its cluster exists. It journals like a real backend, labels
//! what it creates with the cluster's name and uid (so `gc` can find it with
//! `list_labelled`), and logs every call so tests can check the order the
//! engine asks for things.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use clusterdeck::backend::Registry;
use clusterdeck::backend::{
    Backend, BackendContext, BackendError, BackendInfo, Capabilities, Endpoint, GcContext,
    GroupRequest, NodeOutcome, NodeResults, ResourceRef, ResourceScope,
};
use clusterdeck::engine::{
    Engine, EngineError, Event, EventReceiver, EventSink, Operation, OperationReport, RetryPolicy,
};
use clusterdeck::model::{BackendFailureKind, LabelledResource, Node, NodeState, UrlFetch};
use clusterdeck::spec::LoadedSpec;
use clusterdeck::state::StateStore;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const INSTANCE: &str = "instance";
pub const NETWORK: &str = "network";
pub const NET_KEY: &str = "net";

/// How the fake misbehaves.
#[derive(Default)]
pub struct Script {
    /// Creating these nodes fails with a quota error, after the intent.
    pub fail_nodes: Vec<&'static str>,
    /// `prepare` creates a cluster network the instances depend on.
    pub network: bool,
    /// The network stays in use whatever happens.
    pub network_stuck: bool,
    /// Destroying the network is refused as in use this many more times
    /// even once its instances are gone (a cloud slow to notice).
    pub network_refusals: AtomicUsize,
    /// After this node's intent (and its creation in the cloud), the call
    /// never returns: the test aborts `up` there, as a crash would.
    pub hang_after_intent: Option<&'static str>,
    /// After creating this node, wait (honouring cancellation) before the next.
    pub pause_after: Option<&'static str>,
}

/// The labels a resource carries in the pretend cloud.
#[derive(Debug, Clone)]
pub struct Label {
    pub resource: ResourceRef,
    pub cluster_name: String,
    pub cluster_uid: String,
    /// Unix seconds its lifespan ends at; tests set it after `up`.
    pub expires_at: Option<u64>,
}

#[derive(Default)]
pub struct Cloud {
    /// What exists, by key: its id. Keys are cloud-wide: clusters sharing
    /// one fake need distinct group names (and at most one has a network).
    pub resources: BTreeMap<String, String>,
    /// The labels of everything ever created, in creation order (the order
    /// `list_labelled` reports what still exists in).
    pub labels: Vec<Label>,
    /// Every call, in order: `prepare`, `create_group a`, `destroy_nodes a-1,a-2`,
    /// `destroy_resource network net -> in_use`...
    pub calls: Vec<String>,
}

impl Cloud {
    /// Whether an instance of the cluster the network `key` belongs to
    /// still exists.
    fn has_instances_of(&self, key: &str) -> bool {
        let Some(network) = self.labels.iter().find(|label| label.resource.key == key) else {
            return false;
        };
        self.labels.iter().any(|label| {
            label.resource.kind == INSTANCE
                && label.cluster_uid == network.cluster_uid
                && self.resources.contains_key(&label.resource.key)
        })
    }

    /// The labels of what still exists.
    pub fn live_labels(&self) -> Vec<Label> {
        self.labels
            .iter()
            .filter(|label| self.resources.contains_key(&label.resource.key))
            .cloned()
            .collect()
    }
}

pub struct FakeBackend {
    pub cloud: Arc<Mutex<Cloud>>,
    pub script: Script,
    /// Notified when a node is created or the crash point is reached.
    pub reached: Arc<Notify>,
}

impl FakeBackend {
    fn log(&self, call: String) {
        self.cloud.lock().expect("cloud").calls.push(call);
    }

    fn instance(name: &str) -> ResourceRef {
        ResourceRef::node(INSTANCE, name).depending_on(&[NET_KEY])
    }

    /// Creates `resource` in the cloud, labelled with the cluster.
    fn create(&self, ctx: &BackendContext, resource: &ResourceRef, id: &str) {
        let mut cloud = self.cloud.lock().expect("cloud");
        cloud.resources.insert(resource.key.clone(), id.to_owned());
        cloud
            .labels
            .retain(|label| label.resource.key != resource.key);
        cloud.labels.push(Label {
            resource: resource.clone(),
            cluster_name: ctx.name().to_owned(),
            cluster_uid: ctx.uid().to_owned(),
            expires_at: None,
        });
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: "fake".to_owned(),
            capabilities: Capabilities {
                create: true,
                destroy: true,
                install_from_path: false,
                install_from_url: false,
                scale: false,
                stop_start: false,
                gc: true,
                watch: false,
                url_fetch: UrlFetch::Host,
            },
            cluster_options: Vec::new(),
            group_options: Vec::new(),
        }
    }

    async fn prepare(&self, ctx: &BackendContext) -> Result<(), BackendError> {
        self.log("prepare".to_owned());
        if self.script.network {
            let network = ResourceRef::new(NETWORK, NET_KEY, ResourceScope::Cluster);
            ctx.journal.intent(&network)?;
            let id = format!("net-{}", ctx.uid());
            self.create(ctx, &network, &id);
            ctx.journal.created(&network, &id)?;
        }
        Ok(())
    }

    async fn create_group(&self, ctx: &BackendContext, group: &GroupRequest) -> Vec<NodeOutcome> {
        self.log(format!("create_group {}", group.group));
        let mut outcomes = Vec::new();
        for request in &group.nodes {
            let resource = Self::instance(&request.name);
            let result = async {
                if ctx.cancel.is_cancelled() {
                    return Err(BackendError::other("cancelled before it was created"));
                }
                ctx.journal.intent(&resource)?;
                if self.script.fail_nodes.contains(&request.name.as_str()) {
                    return Err(BackendError::new(
                        BackendFailureKind::Quota,
                        "quota exceeded",
                    ));
                }
                let id = format!("i-{}", request.name);
                self.create(ctx, &resource, &id);
                if self.script.hang_after_intent == Some(request.name.as_str()) {
                    self.reached.notify_one();
                    std::future::pending::<()>().await;
                }
                ctx.journal.created(&resource, &id)?;
                Ok(Node {
                    id,
                    name: request.name.clone(),
                    group: group.group.clone(),
                    index: request.index,
                    roles: group.roles.clone(),
                    addresses: vec![format!("10.0.0.{}", request.index)],
                    state: NodeState::Running,
                })
            }
            .await;
            outcomes.push(NodeOutcome {
                name: request.name.clone(),
                result: result.map_err(Into::into),
            });
            if self.script.pause_after == Some(request.name.as_str()) {
                self.reached.notify_one();
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(30)) => {}
                    () = ctx.cancel.cancelled() => {}
                }
            }
        }
        outcomes
    }

    async fn destroy_nodes(&self, _ctx: &BackendContext, nodes: &[Node]) -> NodeResults {
        let names: Vec<&str> = nodes.iter().map(|node| node.name.as_str()).collect();
        self.log(format!("destroy_nodes {}", names.join(",")));
        let mut cloud = self.cloud.lock().expect("cloud");
        nodes
            .iter()
            .map(|node| {
                let result = match cloud.resources.remove(&node.name) {
                    Some(_) => Ok(()),
                    None => Err(BackendError::not_found(format!(
                        "no instance {}",
                        node.name
                    ))),
                };
                (node.name.clone(), result)
            })
            .collect()
    }

    async fn destroy_resource(
        &self,
        _ctx: &BackendContext,
        resource: &ResourceRef,
        _id: Option<&str>,
    ) -> Result<(), BackendError> {
        let mut cloud = self.cloud.lock().expect("cloud");
        let result = if !cloud.resources.contains_key(&resource.key) {
            Err(BackendError::not_found(format!("no {}", resource.key)))
        } else if resource.kind == NETWORK
            && (self.script.network_stuck || cloud.has_instances_of(&resource.key))
        {
            Err(BackendError::in_use("the network still has instances"))
        } else if resource.kind == NETWORK
            && self
                .script
                .network_refusals
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                    left.checked_sub(1)
                })
                .is_ok()
        {
            Err(BackendError::in_use("the network is still busy"))
        } else {
            cloud.resources.remove(&resource.key);
            Ok(())
        };
        let verdict = match &result {
            Ok(()) => "ok".to_owned(),
            Err(err) => err.kind().as_str().to_owned(),
        };
        cloud.calls.push(format!(
            "destroy_resource {} {} -> {verdict}",
            resource.kind, resource.key
        ));
        result
    }

    /// What still exists, with its labels, in the order it was created.
    async fn list_labelled(&self, _ctx: &GcContext) -> Result<Vec<LabelledResource>, BackendError> {
        let cloud = self.cloud.lock().expect("cloud");
        Ok(cloud
            .labels
            .iter()
            .filter_map(|label| {
                let id = cloud.resources.get(&label.resource.key)?;
                Some(LabelledResource {
                    resource: label.resource.clone(),
                    id: id.clone(),
                    cluster_name: label.cluster_name.clone(),
                    cluster_uid: label.cluster_uid.clone(),
                    expires_at: label.expires_at,
                })
            })
            .collect())
    }

    async fn endpoint(&self, _ctx: &BackendContext, node: &Node) -> Result<Endpoint, BackendError> {
        Ok(Endpoint::DockerContainer {
            container: node.id.clone(),
            root: "/clusterdeck".to_owned(),
            env: std::collections::BTreeMap::new(),
        })
    }
}

/// A spec for the fake backend with the given groups (`name: count`).
pub fn spec(dir: &std::path::Path, name: &str, groups: &[(&str, u32)]) -> LoadedSpec {
    let groups: Vec<String> = groups
        .iter()
        .map(|(group, count)| format!("{{ name: {group}, count: {count}, roles: [r] }}"))
        .collect();
    let path = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: {name}\nbackend: fake\nnode_groups: [{}]\n",
            groups.join(", ")
        ),
    )
    .expect("spec");
    LoadedSpec::from_file(&path).expect("valid spec")
}

/// Starts `up` of `loaded` as a task of its own, so a test can cancel it or
/// abort it (a crash) while the fake backend holds it at a chosen node.
pub fn spawn_up(
    engine: &Engine,
    loaded: LoadedSpec,
) -> tokio::task::JoinHandle<Result<OperationReport, EngineError>> {
    let engine = engine.clone();
    tokio::spawn(async move {
        engine
            .execute(Operation::Up {
                spec: loaded.path.clone(),
            })
            .await
    })
}

/// An engine whose only backend is `fake`, retrying quickly, and the
/// receiving end of its events.
pub fn engine(
    store: &StateStore,
    fake: Arc<FakeBackend>,
    cancel: CancellationToken,
) -> (Engine, EventReceiver) {
    let (sink, events) = EventSink::channel();
    let engine = Engine::new(store.clone(), sink, cancel)
        .with_registry(Registry::empty().with(fake))
        .with_retry(RetryPolicy {
            first_delay: Duration::from_millis(5),
            total: Duration::from_millis(200),
        });
    (engine, events)
}

pub fn fake(script: Script) -> Arc<FakeBackend> {
    Arc::new(FakeBackend {
        cloud: Arc::new(Mutex::new(Cloud::default())),
        script,
        reached: Arc::new(Notify::new()),
    })
}

/// Every event sent so far (the engine must be dropped for the stream to end).
pub async fn collect(mut events: EventReceiver) -> Vec<Event> {
    let mut all = Vec::new();
    while let Some(event) = events.recv().await {
        all.push(event);
    }
    all
}
