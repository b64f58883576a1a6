//! docs/plugin-protocol.schema.json against the contract's own serde types
//! (what the Rust side writes must conform), and against a real
//! conversation: every line the host sends and the example plugin answers
//! during up, scale, stop, start, debug and destroy, recorded by a proxy
//! plugin, conforms.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clusterdeck::backend::{PreflightContext, Registry};
use clusterdeck::distribution::cluster_view;
use clusterdeck::model::{
    BackendFailure, BackendFailureKind, CheckStatus, ClusterRef, Endpoint, GroupRequest,
    HostKeyPolicy, LabelledResource, Node, NodeOutcome, NodeRequest, NodeState, PreflightCheck,
    ResourceRef, ResourceScope, SourceLocation, ValidatorOutcome,
};
use clusterdeck::model::{
    ConfigScope, ConfigSpec, ConfigType, Finding as DistributionFinding, Phase, PhaseVerdict,
    PortSpec,
};
use clusterdeck::plugin::conformance::judge;
use clusterdeck::plugin::{Direction, HostPut, Schemas};
use clusterdeck::spec::LoadedSpec;
use common::plugins::{dirs_plugin, recording_proxy};
use common::{Deck, labelled, repo_root, text};
use serde::Serialize;
use serde_json::{Value, json};

fn conforms(schemas: &Schemas, name: &str, value: &impl Serialize) {
    let value = serde_json::to_value(value).expect("serializes");
    let problems = schemas.problems(name, &value);
    assert!(problems.is_empty(), "{name}: {value}\n{problems:#?}");
}

fn node(state: NodeState) -> Node {
    Node {
        id: "/n/a-1".into(),
        name: "a-1".into(),
        group: "a".into(),
        index: 1,
        roles: vec!["agent".into()],
        addresses: vec!["10.0.0.1".into()],
        state,
    }
}

fn failures() -> Vec<BackendFailure> {
    [
        BackendFailureKind::NotFound,
        BackendFailureKind::InUse,
        BackendFailureKind::Unsupported,
        BackendFailureKind::Auth,
        BackendFailureKind::Quota,
        BackendFailureKind::Transient,
        BackendFailureKind::Plugin { code: -32099 },
        BackendFailureKind::Io,
        BackendFailureKind::State,
        BackendFailureKind::Invalid,
        BackendFailureKind::Other,
    ]
    .into_iter()
    .map(|kind| BackendFailure::new(kind, "it went wrong"))
    .collect()
}

#[tokio::test]
async fn the_contract_types_conform_to_their_schemas() {
    let schemas = Schemas::load().expect("loads");
    let registry = Registry::builtin();
    for kind in registry.kinds() {
        let backend = registry.get(&kind).expect("built-in");
        conforms(&schemas, "info.result", &backend.info());
        let checks = backend.preflight(&PreflightContext::default()).await;
        conforms(&schemas, "preflight.result", &checks);
    }
    for state in [
        NodeState::Creating,
        NodeState::Running,
        NodeState::Failed,
        NodeState::Stopped,
        NodeState::Destroyed,
    ] {
        conforms(&schemas, "Node", &node(state));
    }
    let mut outcomes = vec![NodeOutcome {
        name: "a-1".into(),
        result: Ok(node(NodeState::Running)),
    }];
    let mut results: Vec<(String, Result<(), BackendFailure>)> = vec![("a-1".into(), Ok(()))];
    for failure in failures() {
        conforms(&schemas, "BackendFailure", &failure);
        outcomes.push(NodeOutcome {
            name: "a-2".into(),
            result: Err(failure.clone()),
        });
        results.push(("a-2".into(), Err(failure)));
    }
    conforms(&schemas, "create_group.result", &outcomes);
    conforms(&schemas, "destroy_nodes.result", &results);
    conforms(&schemas, "power.result", &results);
    let scopes = [
        ResourceScope::Cluster,
        ResourceScope::Group { group: "a".into() },
        ResourceScope::Node { node: "a-1".into() },
    ];
    let labelled: Vec<LabelledResource> = scopes
        .into_iter()
        .map(|scope| LabelledResource {
            resource: ResourceRef::new("net", "n", scope).depending_on(&["x"]),
            id: "id-1".into(),
            cluster_name: "c".into(),
            cluster_uid: "c-1".into(),
            expires_at: Some(1_796_000_000),
        })
        .collect();
    conforms(&schemas, "list_labelled.result", &labelled);
    let endpoints = vec![
        Endpoint::Local {
            root: PathBuf::from("/n/a-1"),
            env: BTreeMap::from([("K".into(), "V".into())]),
        },
        Endpoint::DockerContainer {
            container: "c1".into(),
            root: "/clusterdeck".into(),
            env: BTreeMap::from([("K".into(), "V".into())]),
        },
        Endpoint::Ssh {
            host: "10.0.0.5".into(),
            port: 22,
            user: "ops".into(),
            root: ".clusterdeck".into(),
            identity_files: vec![PathBuf::from("/k")],
            known_hosts: Some(PathBuf::from("/kh")),
            host_key_policy: HostKeyPolicy::AcceptNew,
            use_agent: false,
            connect_timeout_ms: Some(500),
            env: BTreeMap::new(),
        },
    ];
    for endpoint in &endpoints {
        conforms(&schemas, "endpoint.result", endpoint);
    }
    let mut outcome = ValidatorOutcome::failed_at("dirs-root", "backend.options.root", "bad");
    outcome.location = Some(SourceLocation {
        file: "s.yaml".into(),
        line: 3,
        column: 4,
    });
    conforms(
        &schemas,
        "validate.result",
        &vec![outcome, ValidatorOutcome::new("x", true, "ok")],
    );
    conforms(
        &schemas,
        "preflight.result",
        &vec![
            PreflightCheck::pass("a", "fine"),
            PreflightCheck {
                name: "b".into(),
                status: CheckStatus::Unreachable,
                message: "m".into(),
                fix: None,
            },
        ],
    );
    let group = GroupRequest {
        open_ports: Vec::new(),
        group: "a".into(),
        roles: vec!["agent".into()],
        options: BTreeMap::from([("size".into(), json!(2))]),
        nodes: vec![NodeRequest {
            name: "a-1".into(),
            index: 1,
        }],
    };
    conforms(&schemas, "GroupRequest", &group);
    conforms(&schemas, "ClusterRef", &ClusterRef::new("c", "c-1"));
    for spec in [
        "examples/quickstart.yaml",
        "examples/ssh.yaml",
        "examples/plugins/dirs.yaml",
        "examples/kvstore.yaml",
    ] {
        let loaded = LoadedSpec::from_file(&repo_root().join(spec)).expect("example parses");
        conforms(&schemas, "validate.params", &loaded.spec);
    }
    distribution_types_conform(&schemas);
}

/// The distribution SPI's types, as ExternalDistribution sends and reads them.
fn distribution_types_conform(schemas: &Schemas) {
    let spec = clusterdeck::spec::parse(
        "name: kv\nbackend: {kind: local}\nnode_groups:\n  - {name: masters, count: 1, roles: [master]}\n  \
         - {name: workers, count: 2, roles: [worker], config: {heap_mb: 128}}\n\
         install:\n  distribution: kvstore\n  version: \"1.1\"\n  config: {cluster_token: t}\n",
        std::path::Path::new("kv.yaml"),
    )
    .expect("spec");
    conforms(schemas, "validate.params", &spec);
    let script = clusterdeck::spec::parse(
        "name: s\nnode_groups:\n  - {name: a, count: 1, roles: [agent]}\n\
         install:\n  from: ./i.sh\n  phases: [start, terminate]\n",
        std::path::Path::new("s.yaml"),
    )
    .expect("script spec");
    conforms(schemas, "validate.params", &script);
    let configs: Vec<ConfigSpec> = vec![
        ConfigSpec {
            name: "log_level".into(),
            description: "how much to log".into(),
            kind: ConfigType::Enum {
                values: vec!["debug".into(), "info".into()],
            },
            default: Some(json!("info")),
            scope: ConfigScope::Cluster,
            target: "general".into(),
            optional: false,
            priority: 2,
        },
        ConfigSpec {
            name: "heap_mb".into(),
            description: String::new(),
            kind: ConfigType::Integer,
            default: None,
            scope: ConfigScope::Node,
            target: "kv-worker".into(),
            optional: true,
            priority: 1,
        },
    ];
    conforms(
        schemas,
        "distribution.configs.result",
        &json!({"configs": configs}),
    );
    let nodes = vec![node(NodeState::Running)];
    let view = cluster_view(&spec, &configs, "1.1", &BTreeMap::new(), &nodes);
    conforms(schemas, "ClusterView", &view);
    conforms(
        schemas,
        "distribution.validate.params",
        &json!({"cluster": view}),
    );
    let finding = DistributionFinding {
        message: "even".into(),
        field: Some("node_groups[0].count".into()),
    };
    conforms(
        schemas,
        "distribution.validate_scaling.result",
        &json!({"findings": [finding, DistributionFinding { message: "m".into(), field: None }]}),
    );
    for phase in Phase::ALL {
        let verdicts = vec![PhaseVerdict {
            node: "a-1".into(),
            ok: false,
            message: "exit status 1".into(),
            step: Some("install:master".into()),
        }];
        let method = phase.method();
        conforms(
            schemas,
            &format!("{method}.params"),
            &json!({"phase": phase, "cluster": view, "nodes": nodes}),
        );
        conforms(
            schemas,
            &format!("{method}.result"),
            &json!({"results": verdicts}),
        );
    }
    let port: PortSpec = serde_json::from_value(json!({"port": 7070})).expect("port");
    conforms(
        schemas,
        "distribution.open_ports.result",
        &json!({"ports": [port]}),
    );
    let put = HostPut {
        node: "a-1".into(),
        dest: "kv/kv.conf".into(),
        content: "port=7070\n".into(),
        mode: Some(0o600),
    };
    conforms(schemas, "host.put.params", &put);
}

#[test]
fn the_schema_refuses_what_the_contract_types_refuse() {
    let schemas = Schemas::load().expect("loads");
    let refused = |name: &str, value: Value| {
        assert!(
            !schemas.problems(name, &value).is_empty(),
            "{name} accepted {value}"
        );
    };
    refused(
        "BackendFailure",
        json!({"kind": "plugin", "message": "no code"}),
    );
    refused("BackendFailure", json!({"kind": "nope", "message": "m"}));
    refused("Node", json!({"id": "x", "name": "a-1"}));
    refused("endpoint.result", json!({"kind": "local"}));
    refused("endpoint.result", json!({"kind": "telnet", "host": "h"}));
    refused(
        "create_group.result",
        json!([{"name": "a", "result": {"Ok": null, "Err": null}}]),
    );
    refused("destroy_nodes.result", json!([["a-1"]]));
    refused(
        "initialize.result",
        json!({"protocol_version": 1, "name": "a b", "kinds": ["backend"]}),
    );
    refused("progress.params", json!({"percent": 101}));
    refused("ConfigSpec", json!({"name": "mode", "type": "enum"}));
    refused("ConfigSpec", json!({"name": "n", "type": "float"}));
    refused("PhaseVerdict", json!({"node": "a-1"}));
    refused(
        "host.put.params",
        json!({"node": "a-1", "dest": "f", "content": "x", "mode": 4096}),
    );
    refused("distribution.versions.result", json!({"versions": []}));
    refused("message", json!({"jsonrpc": "2.0", "id": 1}));
}

#[test]
fn every_line_of_a_real_session_conforms() {
    let deck = Deck::new();
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("protocol.log");
    recording_proxy(dir.path(), "dirs", &dirs_plugin(), &log);
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str]| {
        let output = deck
            .command(args)
            .env("PATH", &path)
            .env_remove("CLUSTERDECK_DIRS_FAULT")
            .output()
            .expect("run");
        assert!(
            output.status.success(),
            "{args:?}: {}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        output
    };
    let _ = run(&["up", "--headless", "examples/plugins/dirs.yaml"]);
    let record: Value =
        serde_json::from_slice(&run(&["inspect", "dirs-demo", "--json"]).stdout).expect("record");
    let uid = record["uid"].as_str().expect("uid").to_owned();
    let _ = run(&["scale", "dirs-demo", "agents", "3"]);
    let _ = run(&["scale", "dirs-demo", "agents", "1"]);
    let _ = run(&["stop", "dirs-demo"]);
    let _ = run(&["start", "dirs-demo"]);
    let _ = run(&["debug", "dirs-demo"]);
    let _ = run(&["destroy", "dirs-demo"]);
    let _ = run(&["gc"]);
    std::fs::set_permissions(
        deck.state.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let _ = run(&["doctor", "examples/plugins/dirs.yaml"]);
    assert!(
        labelled(&uid).is_empty(),
        "left running: {:?}",
        labelled(&uid)
    );

    // One conversation per process: each starts with initialize (id 1).
    let recorded = std::fs::read_to_string(&log).expect("log");
    let mut conversations: Vec<Vec<(Direction, String)>> = Vec::new();
    let mut methods = BTreeSet::new();
    for line in recorded.lines() {
        let (direction, message) = match line.split_at(2) {
            ("> ", message) => (Direction::ToPlugin, message),
            ("< ", message) => (Direction::FromPlugin, message),
            _ => panic!("unrecorded line {line:?}"),
        };
        let value: Value = serde_json::from_str(message).expect("JSON");
        if let Some(method) = value["method"].as_str() {
            methods.insert(method.to_owned());
        }
        if direction == Direction::ToPlugin && value["method"] == "initialize" {
            conversations.push(Vec::new());
        }
        conversations
            .last_mut()
            .expect("initialize comes first")
            .push((direction, message.to_owned()));
    }
    let schemas = Schemas::load().expect("loads");
    for conversation in &conversations {
        let problems = judge(&schemas, conversation);
        assert!(problems.is_empty(), "{problems:#?}");
    }
    for method in [
        "initialize",
        "info",
        "preflight",
        "validate",
        "prepare",
        "create_group",
        "endpoint",
        "discover",
        "destroy_nodes",
        "power",
        "list_labelled",
        "journal.intent",
        "journal.created",
        "progress",
        "log",
    ] {
        assert!(methods.contains(method), "{method} never sent: {methods:?}");
    }
}
