//! ExternalDistribution against the example kvstore plugin, without the
//! engine: the queries, and every phase on node directories of a fake
//! `NodeHost` that records what the plugin asked of it. Broken plugins give
//! errors naming the plugin and the call.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use clusterdeck::distribution::{Distribution, HostCommand, HostOutput, NodeHost};
use clusterdeck::model::{ClusterView, ConfigScope, ConfigType, Node, Phase, PortSpec};
use clusterdeck::plugin::ExternalDistribution;
use common::plugins::make_executable;
use common::repo_root;
use serde_json::json;

fn kvstore() -> PathBuf {
    repo_root().join("examples/plugins/clusterdeck-plugin-kvstore")
}

async fn launch() -> ExternalDistribution {
    ExternalDistribution::launch("kvstore", Some(&kvstore()))
        .await
        .expect("the example plugin starts")
}

/// The example plugin with `CLUSTERDECK_KVSTORE_FAULT=fault`, in `dir`.
async fn faulty(dir: &Path, fault: &str) -> ExternalDistribution {
    let path = dir.join(format!("kvstore-{fault}"));
    let script = format!(
        "#!/bin/sh\nCLUSTERDECK_KVSTORE_FAULT={fault} exec {:?} \"$@\"\n",
        kvstore().display().to_string()
    );
    std::fs::write(&path, script).expect("write wrapper");
    make_executable(&path);
    ExternalDistribution::launch("kvstore", Some(&path))
        .await
        .expect("starts")
}

fn node(name: &str, group: &str, role: &str) -> Node {
    serde_json::from_value(json!({
        "id": name, "name": name, "group": group, "index": 1, "roles": [role],
        "addresses": [], "state": "running"
    }))
    .expect("node")
}

fn view(masters: u32, workers: u32, nodes: Vec<Node>) -> ClusterView {
    serde_json::from_value(json!({
        "name": "kv-test", "version": "1.1",
        "config": {"port": 7171, "replication": "two", "cluster_token": "s3cret", "log_level": "info"},
        "groups": [
            {"name": "masters", "count": masters, "roles": ["master"], "config": {"heap_mb": 32}},
            {"name": "workers", "count": workers, "roles": ["worker"], "config": {"heap_mb": 128}}
        ],
        "nodes": nodes
    }))
    .expect("view")
}

#[tokio::test]
async fn queries_answer_versions_typed_configs_processes_ports_and_logs() {
    let kv = launch().await;
    assert_eq!(kv.name(), "kvstore");
    assert_eq!(kv.versions().await.expect("versions"), ["1.1", "1.0"]);
    let configs = kv.configs("1.1").await.expect("configs");
    let by_name: BTreeMap<&str, _> = configs.iter().map(|c| (c.name.as_str(), c)).collect();
    let port = by_name["port"];
    assert_eq!(
        (
            port.kind.clone(),
            port.scope,
            port.priority,
            port.default.clone()
        ),
        (
            ConfigType::Integer,
            ConfigScope::Cluster,
            1,
            Some(json!(7070))
        )
    );
    let heap = by_name["heap_mb"];
    assert_eq!((heap.scope, heap.priority), (ConfigScope::Node, 2));
    assert_eq!(
        by_name["log_level"].kind,
        ConfigType::Enum {
            values: vec!["debug".into(), "info".into(), "warn".into()]
        }
    );
    let token = by_name["cluster_token"];
    assert!(token.default.is_none() && !token.optional, "required");
    assert!(by_name.contains_key("compaction"));
    let old = kv.configs("1.0").await.expect("configs of 1.0");
    assert!(old.iter().all(|config| config.name != "compaction"));
    let err = kv.configs("9.9").await.expect_err("no such version");
    assert!(
        err.to_string()
            .starts_with("plugin kvstore answered distribution.configs with error -32602"),
        "{err}"
    );
    let processes = kv.node_processes("1.1").await.expect("processes");
    assert_eq!(processes["master"], ["kv-master"]);
    assert_eq!(processes["worker"], ["kv-worker"]);
    let cluster = view(1, 3, vec![]);
    assert_eq!(
        kv.open_ports(&cluster, "masters").await.expect("ports"),
        [serde_json::from_value::<PortSpec>(json!({"port": 7171})).expect("port")]
    );
    assert!(
        kv.open_ports(&cluster, "workers")
            .await
            .expect("ports")
            .is_empty()
    );
    assert_eq!(
        kv.log_paths("1.1", "master").await.expect("logs"),
        ["kv/logs/master.log"]
    );
}

#[tokio::test]
async fn validate_wants_odd_masters_and_a_worker() {
    let kv = launch().await;
    assert!(
        kv.validate(&view(1, 3, vec![]))
            .await
            .expect("validate")
            .is_empty()
    );
    let even = kv.validate(&view(2, 3, vec![])).await.expect("validate");
    assert_eq!(even.len(), 1, "{even:?}");
    assert_eq!(even[0].field.as_deref(), Some("node_groups[0].count"));
    assert!(
        even[0].message.contains("odd number of masters"),
        "{even:?}"
    );
    let idle = kv.validate(&view(3, 0, vec![])).await.expect("validate");
    assert_eq!(idle.len(), 1, "{idle:?}");
    assert_eq!(idle[0].field.as_deref(), Some("node_groups[1].count"));
}

#[tokio::test]
async fn validate_scaling_refuses_even_masters_and_no_workers() {
    let kv = launch().await;
    let cluster = view(1, 3, vec![]);
    let existing = BTreeMap::from([("masters".to_owned(), 1), ("workers".to_owned(), 3)]);
    let change = |group: &str, by: i64| BTreeMap::from([(group.to_owned(), by)]);
    let grow = kv
        .validate_scaling(&cluster, &existing, &change("workers", 2))
        .await
        .expect("validate_scaling");
    assert!(grow.is_empty(), "{grow:?}");
    let masters = kv
        .validate_scaling(&cluster, &existing, &change("masters", 1))
        .await
        .expect("validate_scaling");
    assert_eq!(masters.len(), 1, "{masters:?}");
    assert_eq!(masters[0].field.as_deref(), Some("node_groups[0].count"));
    assert!(
        masters[0].message.starts_with("cannot scale"),
        "{masters:?}"
    );
    let empty = kv
        .validate_scaling(&cluster, &existing, &change("workers", -3))
        .await
        .expect("validate_scaling");
    assert_eq!(empty[0].field.as_deref(), Some("node_groups[1].count"));
}

/// Nodes as directories; every request recorded. A node in `gone` cannot
/// be reached.
struct FakeHost {
    root: PathBuf,
    gone: BTreeSet<String>,
    calls: Mutex<Vec<String>>,
}

impl FakeHost {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            gone: BTreeSet::new(),
            calls: Mutex::default(),
        }
    }

    fn dir(&self, node: &str) -> PathBuf {
        self.root.join(node)
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("calls").clone()
    }

    fn read(&self, node: &str, path: &str) -> String {
        std::fs::read_to_string(self.dir(node).join(path)).unwrap_or_default()
    }
}

#[async_trait]
impl NodeHost for FakeHost {
    async fn run(&self, command: &HostCommand) -> Result<HostOutput, String> {
        self.calls
            .lock()
            .expect("calls")
            .push(format!("run {}", command.node));
        if self.gone.contains(&command.node) {
            return Err("the node is gone".to_owned());
        }
        let dir = self.dir(&command.node);
        std::fs::create_dir_all(&dir).map_err(|err| err.to_string())?;
        let output = tokio::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(&command.command)
            .current_dir(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|err| err.to_string())?;
        Ok(HostOutput {
            exit_status: output.status.code(),
            timed_out: false,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            ..HostOutput::default()
        })
    }

    async fn put(&self, node: &str, dest: &str, content: &[u8], mode: u32) -> Result<(), String> {
        self.calls
            .lock()
            .expect("calls")
            .push(format!("put {node} {dest} {mode:o}"));
        let path = self.dir(node).join(dest);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|err| err.to_string())?;
        }
        std::fs::write(&path, content).map_err(|err| err.to_string())?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|err| err.to_string())
    }
}

fn alive(host: &FakeHost, node: &str, role: &str) -> bool {
    let pid = host.read(node, &format!("kv/run/{role}.pid"));
    let pid = pid.trim();
    !pid.is_empty()
        && std::process::Command::new("kill")
            .args(["-0", pid])
            .status()
            .is_ok_and(|status| status.success())
}

fn ticks(host: &FakeHost, node: &str, role: &str) -> usize {
    host.read(node, &format!("kv/logs/{role}.log"))
        .lines()
        .filter(|line| line.contains("tick"))
        .count()
}

fn all_ok(verdicts: &[clusterdeck::model::PhaseVerdict], count: usize) {
    assert_eq!(verdicts.len(), count, "{verdicts:?}");
    assert!(verdicts.iter().all(|verdict| verdict.ok), "{verdicts:?}");
}

#[tokio::test]
async fn phases_configure_start_scale_decommission_and_terminate_nodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut host = FakeHost::new(dir.path());
    let kv = launch().await;
    let first = vec![
        node("masters-1", "masters", "master"),
        node("workers-1", "workers", "worker"),
        node("workers-2", "workers", "worker"),
    ];
    let cluster = view(1, 2, first.clone());
    all_ok(
        &kv.phase(Phase::Configure, &cluster, &first, &host)
            .await
            .expect("configure"),
        3,
    );
    let conf = host.read("workers-1", "kv/kv.conf");
    assert!(conf.contains("cluster_token='s3cret'"), "{conf}");
    assert!(
        conf.contains("heap_mb='128'") && conf.contains("port='7171'"),
        "{conf}"
    );
    assert!(
        host.read("masters-1", "kv/kv.conf")
            .contains("heap_mb='32'")
    );
    assert_eq!(
        host.read("masters-1", "kv/members"),
        "workers-1\nworkers-2\n"
    );
    assert!(
        host.calls()
            .contains(&"put masters-1 kv/kv-master.sh 755".to_owned())
    );

    all_ok(
        &kv.phase(Phase::Start, &cluster, &first, &host)
            .await
            .expect("start"),
        3,
    );
    assert!(alive(&host, "masters-1", "master") && alive(&host, "workers-2", "worker"));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(ticks(&host, "masters-1", "master") >= 2, "the log grows");

    // Grow by one worker: configure and start it, then tell the master.
    let added = vec![node("workers-3", "workers", "worker")];
    let mut all = first.clone();
    all.extend(added.clone());
    let grown = view(1, 3, all.clone());
    all_ok(
        &kv.phase(Phase::Configure, &grown, &added, &host)
            .await
            .expect("configure"),
        1,
    );
    all_ok(
        &kv.phase(Phase::Start, &grown, &added, &host)
            .await
            .expect("start"),
        1,
    );
    all_ok(
        &kv.phase(Phase::Scale, &grown, &added, &host)
            .await
            .expect("scale"),
        1,
    );
    assert_eq!(
        host.read("masters-1", "kv/members"),
        "workers-1\nworkers-2\nworkers-3\n"
    );
    assert!(
        host.read("masters-1", "kv/logs/master.log")
            .contains("workers joined: workers-3")
    );

    let leaving = vec![all[3].clone()];
    all_ok(
        &kv.phase(Phase::Decommission, &grown, &leaving, &host)
            .await
            .expect("decommission"),
        1,
    );
    assert!(
        host.read("workers-3", "kv/logs/worker.log")
            .contains("decommissioned")
    );
    assert!(!alive(&host, "workers-3", "worker"));
    assert!(
        alive(&host, "workers-1", "worker"),
        "the others keep running"
    );

    // One node is already gone: terminating still succeeds everywhere.
    host.gone.insert("workers-2".to_owned());
    let verdicts = kv
        .phase(Phase::Terminate, &grown, &all, &host)
        .await
        .expect("terminate");
    all_ok(&verdicts, 4);
    assert!(verdicts[2].message.contains("already gone"), "{verdicts:?}");
    for (name, role) in [("masters-1", "master"), ("workers-1", "worker")] {
        assert!(!alive(&host, name, role), "{name} stopped");
    }
    // workers-2 was not reachable for the fake host, so stop it here.
    host.gone.clear();
    let stop = HostCommand {
        node: "workers-2".into(),
        command: "kill $(cat kv/run/worker.pid)".into(),
        env: vec![],
        workdir: None,
        step: None,
        timeout: None,
    };
    assert!(host.run(&stop).await.expect("kill").success());
    let nodes_asked: BTreeSet<String> = host
        .calls()
        .iter()
        .filter_map(|call| call.split(' ').nth(1).map(str::to_owned))
        .collect();
    assert_eq!(
        nodes_asked,
        BTreeSet::from(["masters-1", "workers-1", "workers-2", "workers-3"].map(String::from))
    );
}

#[tokio::test]
async fn a_broken_plugin_names_itself_and_the_call() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = FakeHost::new(dir.path());
    let nodes = vec![
        node("masters-1", "masters", "master"),
        node("workers-1", "workers", "worker"),
    ];
    let cluster = view(1, 1, nodes.clone());

    let crash = faulty(dir.path(), "crash").await;
    let err = crash
        .phase(Phase::Configure, &cluster, &nodes, &host)
        .await
        .expect_err("crashes");
    assert!(
        err.to_string().starts_with(
            "plugin kvstore failed during distribution.configure: exited (exit status: 3)"
        ),
        "{err}"
    );

    let garbage = faulty(dir.path(), "garbage").await;
    let err = garbage
        .phase(Phase::Configure, &cluster, &nodes, &host)
        .await
        .expect_err("garbage");
    assert!(
        err.to_string().contains("distribution.configure") && err.to_string().contains("not JSON"),
        "{err}"
    );

    let forget = faulty(dir.path(), "forget").await;
    let verdicts = forget
        .phase(Phase::Configure, &cluster, &nodes, &host)
        .await
        .expect("answers");
    assert!(verdicts[0].ok, "{verdicts:?}");
    assert!(!verdicts[1].ok);
    assert_eq!(
        verdicts[1].message,
        "plugin kvstore gave no verdict for this node in distribution.configure"
    );

    // A plugin without phases: each is a success with no work; the
    // optional queries answer empty; those it has still answer.
    let lazy = faulty(dir.path(), "minimal").await;
    let before = host.calls().len();
    for phase in Phase::ALL {
        let verdicts = lazy
            .phase(phase, &cluster, &nodes, &host)
            .await
            .expect("no work");
        all_ok(&verdicts, 2);
        assert_eq!(
            verdicts[0].message,
            format!("plugin kvstore has no {}: nothing to do", phase.method())
        );
    }
    assert_eq!(host.calls().len(), before, "no work: {:?}", host.calls());
    assert_eq!(lazy.versions().await.expect("versions"), ["1.1", "1.0"]);
    assert!(lazy.validate(&cluster).await.expect("validate").is_empty());
    let sizes = BTreeMap::from([("masters".to_owned(), 1)]);
    let more = BTreeMap::from([("masters".to_owned(), 1)]);
    assert!(
        lazy.validate_scaling(&cluster, &sizes, &more)
            .await
            .expect("scaling")
            .is_empty()
    );
    assert!(
        lazy.open_ports(&cluster, "masters")
            .await
            .expect("ports")
            .is_empty()
    );
    assert!(
        lazy.log_paths("1.1", "master")
            .await
            .expect("logs")
            .is_empty()
    );
    assert!(
        lazy.node_processes("1.1")
            .await
            .expect("processes")
            .is_empty()
    );
}

#[tokio::test]
async fn a_plugin_of_another_kind_is_refused() {
    let debugger = repo_root().join("examples/plugins/clusterdeck-plugin-agent-pid");
    let err = clusterdeck::plugin::launch_distribution("agent-pid", Some(&debugger))
        .await
        .err()
        .expect("not a distribution");
    assert_eq!(
        err.to_string(),
        "plugin agent-pid: it is not a distribution plugin (it says it is: debugger)"
    );
    let err = clusterdeck::plugin::launch_distribution("no-such-kv", None)
        .await
        .err()
        .expect("missing");
    assert!(
        err.to_string()
            .contains("no executable clusterdeck-plugin-no-such-kv"),
        "{err}"
    );
}

#[tokio::test]
async fn every_line_of_a_distribution_session_conforms_to_the_schema() {
    use clusterdeck::plugin::conformance::judge;
    use clusterdeck::plugin::{Direction, Schemas};
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("protocol.log");
    let proxy = common::plugins::recording_proxy(dir.path(), "kvstore", &kvstore(), &log);
    let host = FakeHost::new(&dir.path().join("nodes"));
    let nodes = vec![
        node("masters-1", "masters", "master"),
        node("workers-1", "workers", "worker"),
    ];
    let cluster = view(1, 1, nodes.clone());
    {
        let kv = ExternalDistribution::launch("kvstore", Some(&proxy))
            .await
            .expect("starts");
        kv.versions().await.expect("versions");
        kv.configs("1.1").await.expect("configs");
        kv.node_processes("1.1").await.expect("processes");
        kv.validate(&view(2, 1, vec![])).await.expect("validate");
        let sizes = BTreeMap::from([("masters".to_owned(), 1), ("workers".to_owned(), 1)]);
        let change = BTreeMap::from([("masters".to_owned(), 1)]);
        kv.validate_scaling(&cluster, &sizes, &change)
            .await
            .expect("validate_scaling");
        kv.open_ports(&cluster, "masters").await.expect("ports");
        kv.log_paths("1.1", "worker").await.expect("logs");
        for phase in Phase::ALL {
            all_ok(
                &kv.phase(phase, &cluster, &nodes, &host)
                    .await
                    .expect("phase"),
                2,
            );
        }
    }
    let recorded = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<(Direction, String)> = recorded
        .lines()
        .map(|line| match line.split_at(2) {
            ("> ", message) => (Direction::ToPlugin, message.to_owned()),
            ("< ", message) => (Direction::FromPlugin, message.to_owned()),
            _ => panic!("unrecorded line {line:?}"),
        })
        .collect();
    for method in ["host.put", "host.run", "distribution.on_terminate", "log"] {
        assert!(
            lines.iter().any(
                |(_, line)| line.contains(&format!("\"method\": \"{method}\""))
                    || line.contains(&format!("\"method\":\"{method}\""))
            ),
            "{method} was not exchanged"
        );
    }
    let problems = judge(&Schemas::load().expect("schema"), &lines);
    assert!(problems.is_empty(), "{problems:#?}");
}
