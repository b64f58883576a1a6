//! The docker backend's contract as data: schema, capabilities and the
//! validator, without an engine.

use serde_json::json;

use super::*;
use crate::model::OptionScope;

fn spec_with(backend: serde_json::Value, group: serde_json::Value) -> ClusterSpec {
    serde_json::from_value(json!({
        "name": "demo",
        "backend": {"kind": "docker", "options": backend},
        "node_groups": [{"name": "agents", "count": 2, "roles": ["agent"], "options": group}],
        "install": null,
        "checks": {"validators": [], "debuggers": []},
    }))
    .expect("a spec")
}

#[test]
fn info_declares_its_options_in_their_scopes_and_every_capability() {
    let info = DockerBackend.info();
    assert_eq!(info.kind, "docker");
    let caps = info.capabilities;
    assert!(caps.create && caps.destroy && caps.scale && caps.stop_start && caps.gc);
    assert!(caps.install_from_path && caps.install_from_url);
    let cluster: Vec<&str> = info
        .cluster_options
        .iter()
        .map(|option| option.name.as_str())
        .collect();
    assert_eq!(
        cluster,
        [
            "image",
            "workspace_dir",
            "network",
            "transport",
            "privileged",
            "memory",
            "cpus",
            "labels"
        ]
    );
    assert!(
        info.cluster_options
            .iter()
            .all(|option| option.scope == OptionScope::Cluster)
    );
    let group: Vec<&str> = info
        .group_options
        .iter()
        .map(|option| option.name.as_str())
        .collect();
    assert_eq!(group, ["mounts", "ports"]);
    let transport = &info.cluster_options[3];
    assert_eq!(transport.default, Some(json!("docker-exec")));
    assert_eq!(transport.choices, ["docker-exec", "ssh"]);
}

#[tokio::test]
async fn the_validator_points_at_the_option_that_is_wrong() {
    let good = DockerBackend
        .validate(&spec_with(json!({}), json!({})))
        .await;
    assert!(
        good.iter().all(|outcome| outcome.field.is_none()),
        "{good:?}"
    );
    let bad = DockerBackend
        .validate(&spec_with(
            json!({"memory": "lots"}),
            json!({"mounts": ["/no/such/path/x:/data:ro"], "ports": ["8080:80"]}),
        ))
        .await;
    let fields: Vec<Option<&str>> = bad.iter().map(|outcome| outcome.field.as_deref()).collect();
    assert_eq!(
        fields,
        [
            Some("backend.options.memory"),
            Some("node_groups[0].options.mounts")
        ]
    );
    assert!(bad[1].message.contains("/no/such/path/x"), "{bad:?}");
}
