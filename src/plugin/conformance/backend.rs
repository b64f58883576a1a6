//! The conformance run of a backend plugin: every method it claims, on a
//! small cluster made in a temporary state directory — made, reached
//! through each node's endpoint, scaled and powered if it claims so,
//! destroyed — and nothing of it left by its own `list_labelled`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use super::super::client::{CallHandler, PluginClient};
use super::super::error::PluginError;
use super::super::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND, RpcError};
use super::report::Findings;
use crate::backend::{
    BackendInfo, GroupRequest, LabelledResource, NodeOutcome, PreflightCheck, ResourceRef,
    ResourceScope, resolve_options,
};
use crate::model::{BackendFailure, ClusterRef, Endpoint, Node, ValidatorOutcome};
use crate::spec::{BackendSpec, ChecksSpec, ClusterSpec, NodeGroupSpec};
use crate::transport::{self, ExecRequest, ExecStatus};

/// The cluster the run makes: one master, one agent (a second agent when
/// the plugin claims scale).
const GROUPS: &[(&str, &str)] = &[("masters", "master"), ("agents", "agent")];
const CLUSTER: &str = "plugin-check";
/// How long the command run on each node may take.
const REACH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the run keeps its state: `state_root/clusters/plugin-check`.
pub struct Workspace<'a> {
    pub state_root: &'a Path,
    pub options: &'a BTreeMap<String, Value>,
}

/// Journal entries of the plugin, as the engine's ledger would hold them.
#[derive(Default)]
struct Journal {
    /// Resources journalled (intent or created) and not yet destroyed, with
    /// the id `created` gave.
    live: Mutex<Vec<(ResourceRef, Option<String>)>>,
    /// Resources that went with their node (destroy_nodes).
    gone: Mutex<Vec<(ResourceRef, Option<String>)>>,
    entries: Mutex<u32>,
}

impl CallHandler for Journal {
    fn notification(&self, method: &str, params: &Value) {
        if method.starts_with("journal.") {
            let _ = self.request(method, params);
        }
    }

    fn request(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let invalid = |message: String| RpcError {
            code: INVALID_PARAMS,
            message,
            data: None,
        };
        if !method.starts_with("journal.") {
            return Err(RpcError {
                code: METHOD_NOT_FOUND,
                message: format!("the host has no method {method}"),
                data: None,
            });
        }
        let resource: ResourceRef = serde_json::from_value(params["resource"].clone())
            .map_err(|err| invalid(format!("{method}: bad resource: {err}")))?;
        let mut live = self
            .live
            .lock()
            .map_err(|_| invalid("the journal is poisoned".to_owned()))?;
        live.retain(|(known, _)| known.kind != resource.kind || known.key != resource.key);
        match method {
            "journal.intent" => live.push((resource, None)),
            "journal.created" => {
                let id = params["id"]
                    .as_str()
                    .ok_or_else(|| invalid("journal.created needs a string \"id\"".to_owned()))?;
                live.push((resource, Some(id.to_owned())));
            }
            "journal.destroyed" => {}
            other => return Err(invalid(format!("unknown journal entry {other}"))),
        }
        if let Ok(mut entries) = self.entries.lock() {
            *entries += 1;
        }
        Ok(Value::Null)
    }

    fn log(&self, _line: &str) {}
}

/// Runs the backend checks on an initialized plugin.
pub async fn check(
    client: &PluginClient,
    name: &str,
    workspace: &Workspace<'_>,
    findings: &mut Findings,
) {
    let mut run = Run {
        client,
        journal: Journal::default(),
        findings,
        cluster: ClusterRef::new(CLUSTER, &unique_uid()),
        state_dir: workspace.state_root.join("clusters").join(CLUSTER),
        options: BTreeMap::new(),
    };
    let Some(info) = run.info(name).await else {
        return;
    };
    match resolve_options(&info.cluster_options, workspace.options) {
        Ok(options) => run.options = options,
        Err(problems) => {
            run.findings.problem(
                "info",
                format!("its cluster options cannot be filled in ({problems}): give them with --option NAME=VALUE"),
            );
            return;
        }
    }
    run.preflight().await;
    run.validate(name).await;
    if !info.capabilities.create {
        for method in ["prepare", "create_group", "endpoint", "destroy_nodes"] {
            run.findings
                .skip(method, "the plugin does not claim the create capability");
        }
        return;
    }
    if let Err(err) = std::fs::create_dir_all(&run.state_dir) {
        run.findings.problem(
            "prepare",
            format!(
                "cannot make the state directory {}: {err}",
                run.state_dir.display()
            ),
        );
        return;
    }
    let mut nodes = Vec::new();
    if run.prepare().await {
        for (index, (group, role)) in GROUPS.iter().enumerate() {
            let name = format!("{group}-1");
            nodes.extend(run.create(group, role, &name, 1).await);
            if index == 0 && nodes.is_empty() {
                break;
            }
        }
    }
    if nodes.len() == GROUPS.len() {
        run.findings
            .note("create_group", format!("{} nodes made", nodes.len()));
        run.journalled_something();
        for node in &nodes {
            run.reach(node).await;
        }
        run.discover(&nodes).await;
        run.labelled_while_up(&info).await;
        if info.capabilities.scale {
            run.scale().await;
        } else {
            run.findings.note(
                "create_group",
                "scale not exercised: the plugin does not claim it",
            );
        }
        if info.capabilities.stop_start {
            run.power(&nodes).await;
        } else {
            run.findings
                .skip("power", "the plugin does not claim stop-start");
        }
    }
    // Whatever was made is destroyed, whatever failed before.
    run.destroy(&nodes).await;
    run.leftovers(&info).await;
}

fn unique_uid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    format!("{CLUSTER}-{:x}-{nanos:x}", std::process::id())
}

struct Run<'a, 'f> {
    client: &'a PluginClient,
    journal: Journal,
    findings: &'f mut Findings,
    cluster: ClusterRef,
    state_dir: std::path::PathBuf,
    options: BTreeMap<String, Value>,
}

/// A call's outcome: the typed result, the plugin's "not implemented", or
/// a failure already recorded.
enum Called<T> {
    Done(T),
    NotImplemented,
    Failed,
}

impl Run<'_, '_> {
    fn context(&self) -> Value {
        json!({"cluster": self.cluster, "state_dir": self.state_dir, "options": self.options})
    }

    /// Calls `method`, records the call, and reads its result as `T`. An
    /// error answer is recorded as a problem of `method`, except "not
    /// implemented" when `optional`.
    async fn call<T: DeserializeOwned>(
        &mut self,
        method: &str,
        params: Value,
        optional: bool,
    ) -> Called<T> {
        // After the plugin broke, every later call would only repeat why.
        if !self.client.is_running() {
            self.findings
                .skip(method, "not run: the plugin is no longer running");
            return Called::Failed;
        }
        self.findings.called(method);
        let answer = self.client.call(method, params, &self.journal, None).await;
        let result = match answer {
            Ok(result) => result,
            Err(PluginError::Rpc { code, .. }) if optional && code == METHOD_NOT_FOUND => {
                self.findings
                    .note(method, "not implemented (optional): the host copes");
                return Called::NotImplemented;
            }
            Err(err) => {
                self.findings.problem(method, err.to_string());
                return Called::Failed;
            }
        };
        match serde_json::from_value(result) {
            Ok(value) => Called::Done(value),
            Err(err) => {
                self.findings.problem(
                    method,
                    format!("its result does not read as the contract's type: {err}"),
                );
                Called::Failed
            }
        }
    }

    async fn info(&mut self, name: &str) -> Option<BackendInfo> {
        let Called::Done(info) = self.call::<BackendInfo>("info", Value::Null, false).await else {
            return None;
        };
        if info.kind != name {
            self.findings.problem(
                "info",
                format!("its info names the backend {:?}, not {name:?}", info.kind),
            );
        }
        self.findings.note(
            "info",
            format!("capabilities: {}", info.capabilities.names().join(", ")),
        );
        Some(info)
    }

    async fn preflight(&mut self) {
        let params = json!({"options": self.options, "spec": null});
        if let Called::Done(checks) = self
            .call::<Vec<PreflightCheck>>("preflight", params, true)
            .await
        {
            let failing: Vec<String> = checks
                .iter()
                .filter(|check| check.status != crate::model::CheckStatus::Pass)
                .map(|check| format!("{}: {}", check.name, check.message))
                .collect();
            self.findings
                .note("preflight", format!("{} checks", checks.len()));
            if !failing.is_empty() {
                self.findings.note(
                    "preflight",
                    format!("failing on this machine: {}", failing.join("; ")),
                );
            }
        }
    }

    fn spec(&self, name: &str) -> ClusterSpec {
        ClusterSpec {
            name: CLUSTER.to_owned(),
            backend: BackendSpec {
                kind: name.to_owned(),
                path: None,
                options: BTreeMap::new(),
            },
            node_groups: GROUPS
                .iter()
                .map(|(group, role)| NodeGroupSpec {
                    config: Default::default(),
                    name: (*group).to_owned(),
                    count: 1,
                    roles: vec![(*role).to_owned()],
                    options: BTreeMap::new(),
                })
                .collect(),
            install: None,
            checks: ChecksSpec::default(),
        }
    }

    async fn validate(&mut self, name: &str) {
        let spec = match serde_json::to_value(self.spec(name)) {
            Ok(spec) => spec,
            Err(err) => {
                self.findings
                    .problem("validate", format!("cannot write the spec: {err}"));
                return;
            }
        };
        if let Called::Done(outcomes) = self
            .call::<Vec<ValidatorOutcome>>("validate", spec, true)
            .await
        {
            self.findings.note(
                "validate",
                format!("{} findings on a plain spec", outcomes.len()),
            );
        }
    }

    async fn prepare(&mut self) -> bool {
        let params = json!({"context": self.context()});
        match self.call::<Value>("prepare", params, true).await {
            Called::Done(Value::Null) | Called::NotImplemented => true,
            Called::Done(other) => {
                self.findings
                    .problem("prepare", format!("answered {other} instead of null"));
                true
            }
            Called::Failed => false,
        }
    }

    /// Creates one node of `group`; the node, if it was made as asked.
    async fn create(&mut self, group: &str, role: &str, name: &str, index: u32) -> Option<Node> {
        let request = GroupRequest {
            open_ports: Vec::new(),
            group: group.to_owned(),
            roles: vec![role.to_owned()],
            options: BTreeMap::new(),
            nodes: vec![crate::model::NodeRequest {
                name: name.to_owned(),
                index,
            }],
        };
        let params = json!({"context": self.context(), "group": request});
        let Called::Done(outcomes) = self
            .call::<Vec<NodeOutcome>>("create_group", params, false)
            .await
        else {
            return None;
        };
        let [outcome] = outcomes.as_slice() else {
            self.findings.problem(
                "create_group",
                format!(
                    "asked for 1 node ({name}), answered {} outcomes",
                    outcomes.len()
                ),
            );
            return None;
        };
        match &outcome.result {
            Ok(node) if node.name == name && node.group == group && node.index == index => {
                Some(node.clone())
            }
            Ok(node) => {
                self.findings.problem(
                    "create_group",
                    format!(
                        "asked for {name} (group {group}, index {index}), made {} (group {}, index {})",
                        node.name, node.group, node.index
                    ),
                );
                None
            }
            Err(failure) => {
                self.findings.problem(
                    "create_group",
                    format!("{name} failed: {}", failure.message),
                );
                None
            }
        }
    }

    fn journalled_something(&mut self) {
        let entries = self.journal.entries.lock().map(|e| *e).unwrap_or(0);
        if entries == 0 {
            self.findings.problem(
                "create_group",
                "made nodes but journalled nothing (journal.intent / journal.created): a crash would leak them",
            );
        }
    }

    /// The node's endpoint, and a command run through the transport it gives.
    async fn reach(&mut self, node: &Node) {
        let params = json!({"context": self.context(), "node": node});
        let Called::Done(endpoint) = self.call::<Endpoint>("endpoint", params, false).await else {
            return;
        };
        let marker = format!("clusterdeck-plugin-check-{}", node.name);
        let outcome = run_on(&node.name, &endpoint, &marker).await;
        match outcome {
            Ok(()) => self.findings.note(
                "endpoint",
                format!(
                    "{} reached through its {} endpoint",
                    node.name,
                    endpoint.kind()
                ),
            ),
            Err(why) => self.findings.problem(
                "endpoint",
                format!(
                    "{} not reachable through its {} endpoint: {why}",
                    node.name,
                    endpoint.kind()
                ),
            ),
        }
    }

    async fn discover(&mut self, nodes: &[Node]) {
        let params = json!({"context": self.context(), "nodes": nodes});
        if let Called::Done(found) = self.call::<Vec<Node>>("discover", params, true).await {
            for node in nodes {
                if !found.iter().any(|seen| seen.name == node.name) {
                    self.findings.problem(
                        "discover",
                        format!("{} is up but discover does not return it", node.name),
                    );
                }
            }
        }
    }

    /// While the cluster is up its own resources should be listed (when
    /// the plugin claims gc): otherwise the check after destroy proves nothing.
    async fn labelled_while_up(&mut self, info: &BackendInfo) {
        if !info.capabilities.gc {
            return;
        }
        if let Some(found) = self.labelled().await
            && found.is_empty()
        {
            self.findings.problem(
                "list_labelled",
                "finds none of the cluster's resources while the cluster is up",
            );
        }
    }

    /// Ours among what `list_labelled` finds; `None` when it failed or is
    /// not implemented.
    async fn labelled(&mut self) -> Option<Vec<LabelledResource>> {
        let state_root = self
            .state_dir
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let params = json!({"state_root": state_root, "options": self.options});
        match self
            .call::<Vec<LabelledResource>>("list_labelled", params, true)
            .await
        {
            Called::Done(found) => Some(
                found
                    .into_iter()
                    .filter(|resource| resource.cluster_uid == self.cluster.uid)
                    .collect(),
            ),
            _ => None,
        }
    }

    /// Grows the agents by one node, reaches it, and shrinks them again.
    async fn scale(&mut self) {
        let Some(node) = self.create("agents", "agent", "agents-2", 2).await else {
            return;
        };
        self.findings
            .note("create_group", "scaled up: agents-2 made");
        self.reach(&node).await;
        if self.destroy_nodes(std::slice::from_ref(&node)).await {
            self.forget_nodes(std::slice::from_ref(&node));
            self.findings
                .note("destroy_nodes", "scaled down: agents-2 destroyed");
        }
    }

    async fn power(&mut self, nodes: &[Node]) {
        for action in ["stop", "start"] {
            let params = json!({"context": self.context(), "nodes": nodes, "action": action});
            if let Called::Done(results) =
                self.call::<NodeResultsWire>("power", params, false).await
            {
                self.per_node("power", action, nodes, &results);
            }
        }
    }

    /// Destroys `nodes`; true when each was.
    async fn destroy_nodes(&mut self, nodes: &[Node]) -> bool {
        let params = json!({"context": self.context(), "nodes": nodes});
        match self
            .call::<NodeResultsWire>("destroy_nodes", params, false)
            .await
        {
            Called::Done(results) => self.per_node("destroy_nodes", "destroy", nodes, &results),
            _ => false,
        }
    }

    /// Checks there is one `Ok` per node; true when so.
    fn per_node(
        &mut self,
        method: &str,
        what: &str,
        nodes: &[Node],
        results: &NodeResultsWire,
    ) -> bool {
        let mut all = true;
        for node in nodes {
            match results.iter().find(|(name, _)| *name == node.name) {
                Some((_, Ok(()))) => {}
                Some((_, Err(failure))) => {
                    all = false;
                    self.findings.problem(
                        method,
                        format!("{what} of {} failed: {}", node.name, failure.message),
                    );
                }
                None => {
                    all = false;
                    self.findings
                        .problem(method, format!("no result for {}", node.name));
                }
            }
        }
        all
    }

    /// Destroys the nodes, then every journalled resource they did not
    /// take with them, as `destroy` does.
    async fn destroy(&mut self, nodes: &[Node]) {
        if !nodes.is_empty() && self.destroy_nodes(nodes).await {
            self.forget_nodes(nodes);
        }
        let live = self
            .journal
            .live
            .lock()
            .map(|live| live.clone())
            .unwrap_or_default();
        for (resource, id) in &live {
            self.destroy_resource(resource, id.as_deref()).await;
        }
        // Nothing left to destroy: destroy_resource of a resource already
        // gone must count it as gone (`destroy` may run twice).
        let gone = self
            .journal
            .gone
            .lock()
            .ok()
            .and_then(|gone| gone.first().cloned());
        if live.is_empty()
            && let Some((resource, id)) = gone
        {
            self.destroy_resource(&resource, id.as_deref()).await;
        }
    }

    async fn destroy_resource(&mut self, resource: &ResourceRef, id: Option<&str>) {
        if !self.client.is_running() {
            self.findings.skip(
                "destroy_resource",
                "not run: the plugin is no longer running",
            );
            return;
        }
        self.findings.called("destroy_resource");
        let params = json!({"context": self.context(), "resource": resource, "id": id});
        let answer = self
            .client
            .call("destroy_resource", params, &self.journal, None)
            .await;
        match answer {
            Ok(_) => self.findings.note(
                "destroy_resource",
                format!("{} {} destroyed", resource.kind, resource.key),
            ),
            Err(err) if is_not_found(&err) => self.findings.note(
                "destroy_resource",
                format!(
                    "{} {} was already gone (not_found)",
                    resource.kind, resource.key
                ),
            ),
            Err(err) => self.findings.problem("destroy_resource", err.to_string()),
        }
    }

    /// Node-scoped resources of destroyed nodes are gone with them.
    fn forget_nodes(&self, nodes: &[Node]) {
        let (Ok(mut live), Ok(mut gone)) = (self.journal.live.lock(), self.journal.gone.lock())
        else {
            return;
        };
        let (went, kept): (Vec<_>, Vec<_>) =
            live.drain(..)
                .partition(|(resource, _)| match &resource.scope {
                    ResourceScope::Node { node } => nodes.iter().any(|n| &n.name == node),
                    _ => false,
                });
        *live = kept;
        gone.extend(went);
    }

    /// Nothing of the cluster may be left, by the plugin's own listing.
    async fn leftovers(&mut self, info: &BackendInfo) {
        let Some(left) = self.labelled().await else {
            if !info.capabilities.gc {
                self.findings.note(
                    "list_labelled",
                    "the plugin does not claim gc: leftovers cannot be looked for",
                );
            }
            return;
        };
        if !left.is_empty() {
            let names: Vec<String> = left
                .iter()
                .map(|found| {
                    format!(
                        "{} {} ({})",
                        found.resource.kind, found.resource.key, found.id
                    )
                })
                .collect();
            self.findings.problem(
                "destroy_nodes",
                format!(
                    "left behind after destroy, by its own list_labelled: {}",
                    names.join(", ")
                ),
            );
        }
    }
}

type NodeResultsWire = Vec<(String, Result<(), BackendFailure>)>;

fn is_not_found(err: &PluginError) -> bool {
    let backend: crate::backend::BackendError = err.clone().into();
    backend.is_not_found()
}

/// Runs `echo MARKER` on the node through the transport its endpoint gives.
async fn run_on(node: &str, endpoint: &Endpoint, marker: &str) -> Result<(), String> {
    let transport =
        transport::connect(node, endpoint, Vec::new()).map_err(|err| err.to_string())?;
    let request = ExecRequest {
        command: format!("echo {marker}"),
        env: Vec::new(),
        workdir: None,
        timeout: Some(REACH_TIMEOUT),
    };
    let seen = Mutex::new(Vec::new());
    let on_line = |_stream: crate::model::Stream, line: &str| {
        if let Ok(mut seen) = seen.lock() {
            seen.push(line.to_owned());
        }
    };
    let status = transport
        .exec(&request, &on_line, &CancellationToken::new())
        .await
        .map_err(|err| err.to_string())?;
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    match status {
        ExecStatus::Exited(0) if seen.iter().any(|line| line.trim() == marker) => Ok(()),
        ExecStatus::Exited(0) => Err(format!("`echo {marker}` printed {seen:?}")),
        other => Err(format!("`echo {marker}` ended with {}", other.describe())),
    }
}
