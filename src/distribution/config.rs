//! User values against a distribution's typed configs: every bad value at
//! once, each naming its spec element, and the values rendered with their
//! defaults for the phases.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{ClusterView, ConfigScope, ConfigSpec, Finding, GroupView, Node};
use crate::spec::{ClusterSpec, env_reference};

/// The spec field of a config set for the cluster (`group: None`) or for
/// the group at index `group`.
pub fn config_field(group: Option<usize>, name: &str) -> String {
    match group {
        None => format!("install.config.{name}"),
        Some(index) => format!("node_groups[{index}].config.{name}"),
    }
}

/// Every problem with the spec's config values against `configs`; none
/// when the distribution declares no configs (its config is untyped).
pub fn check_values(
    configs: &[ConfigSpec],
    spec: &ClusterSpec,
    distribution: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if configs.is_empty() {
        return findings;
    }
    let by_name: BTreeMap<&str, &ConfigSpec> = configs
        .iter()
        .map(|config| (config.name.as_str(), config))
        .collect();
    let known = || {
        configs
            .iter()
            .map(|config| config.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let cluster_values = cluster_values(spec);
    for (name, value) in &cluster_values {
        let field = config_field(None, name);
        match by_name.get(name.as_str()) {
            None => findings.push(at(
                field,
                format!(
                    "{distribution} has no config {name:?}; its configs: {}",
                    known()
                ),
            )),
            Some(config) => check_type(config, value, field, &mut findings),
        }
    }
    for (index, group) in spec.node_groups.iter().enumerate() {
        for (name, value) in &group.config {
            let field = config_field(Some(index), name);
            match by_name.get(name.as_str()) {
                None => findings.push(at(
                    field,
                    format!("{distribution} has no config {name:?}; its configs: {}", known()),
                )),
                Some(config) if config.scope == ConfigScope::Cluster => findings.push(at(
                    field,
                    format!(
                        "{name} is a cluster config: set it once in install.config, not per node group"
                    ),
                )),
                Some(config) => check_type(config, value, field, &mut findings),
            }
        }
    }
    for config in configs
        .iter()
        .filter(|config| !config.optional && config.default.is_none())
    {
        let given_for_cluster = cluster_values.contains_key(&config.name);
        match config.scope {
            ConfigScope::Cluster if !given_for_cluster => findings.push(at(
                "install.config".to_owned(),
                format!("config {} is required: {}", config.name, config.description),
            )),
            ConfigScope::Node if !given_for_cluster => {
                for (index, group) in spec.node_groups.iter().enumerate() {
                    if !group.config.contains_key(&config.name) {
                        findings.push(at(
                            format!("node_groups[{index}]"),
                            format!(
                                "config {} is required for group {} (in its config, or for every group in install.config): {}",
                                config.name, group.name, config.description
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    findings
}

fn at(field: String, message: String) -> Finding {
    Finding {
        message,
        field: Some(field),
    }
}

fn check_type(config: &ConfigSpec, value: &Value, field: String, findings: &mut Vec<Finding>) {
    // `{env: NAME}` stands for a string given at run time.
    if env_reference(value).is_some() {
        if !matches!(config.kind, crate::model::ConfigType::String) {
            findings.push(at(
                field,
                format!(
                    "{} takes {}; only string configs can come from {{env: NAME}}",
                    config.name,
                    config.kind.describe()
                ),
            ));
        }
        return;
    }
    if !config.kind.accepts(value) {
        findings.push(at(
            field,
            format!(
                "{} takes {}, not {}",
                config.name,
                config.kind.describe(),
                describe_value(value)
            ),
        ));
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "a mapping".to_owned(),
        other => other.to_string(),
    }
}

/// `install.config` as a map; a config that is not a mapping has no names.
fn cluster_values(spec: &ClusterSpec) -> BTreeMap<String, Value> {
    spec.install
        .as_ref()
        .and_then(|install| install.config.as_object())
        .map(|map| {
            map.iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The cluster as the distribution sees it: the cluster's and each group's
/// config with defaults filled in (with no configs declared, the spec's
/// values as written), the groups at `sizes` (the spec's counts when a
/// group is missing) and the nodes that exist.
pub fn cluster_view(
    spec: &ClusterSpec,
    configs: &[ConfigSpec],
    version: &str,
    sizes: &BTreeMap<String, u32>,
    nodes: &[Node],
) -> ClusterView {
    let given = cluster_values(spec);
    let (config, groups) = if configs.is_empty() {
        let groups = spec
            .node_groups
            .iter()
            .map(|group| group_view(group, sizes, group.config.clone()))
            .collect();
        (given, groups)
    } else {
        let rendered = |scope: ConfigScope, own: &BTreeMap<String, Value>| {
            configs
                .iter()
                .filter(|config| config.scope == scope)
                .filter_map(|config| {
                    own.get(&config.name)
                        .or_else(|| given.get(&config.name))
                        .or(config.default.as_ref())
                        .map(|value| (config.name.clone(), value.clone()))
                })
                .collect::<BTreeMap<_, _>>()
        };
        let groups = spec
            .node_groups
            .iter()
            .map(|group| group_view(group, sizes, rendered(ConfigScope::Node, &group.config)))
            .collect();
        (rendered(ConfigScope::Cluster, &BTreeMap::new()), groups)
    };
    ClusterView {
        name: spec.name.clone(),
        version: version.to_owned(),
        config,
        groups,
        nodes: nodes.to_vec(),
    }
}

fn group_view(
    group: &crate::spec::NodeGroupSpec,
    sizes: &BTreeMap<String, u32>,
    config: BTreeMap<String, Value>,
) -> GroupView {
    GroupView {
        name: group.name.clone(),
        count: sizes.get(&group.name).copied().unwrap_or(group.count),
        roles: group.roles.clone(),
        config,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn configs() -> Vec<ConfigSpec> {
        serde_json::from_value(json!([
            {"name": "masters", "type": "integer", "default": 1, "scope": "cluster"},
            {"name": "mode", "type": "enum", "values": ["fast", "safe"], "default": "safe"},
            {"name": "token", "type": "string", "description": "the join token"},
            {"name": "heap_mb", "type": "integer", "scope": "node", "default": 64, "priority": 2},
            {"name": "label", "type": "string", "scope": "node", "optional": true}
        ]))
        .expect("configs")
    }

    fn spec(text: &str) -> ClusterSpec {
        crate::spec::parse(text, Path::new("c.yaml")).expect("spec")
    }

    #[test]
    fn every_bad_value_is_found_at_once_with_its_field() {
        let spec = spec(
            "name: c\nnode_groups:\n  - {name: m, count: 1, roles: [master], config: {heap_mb: big, mode: fast}}\n\
             install:\n  distribution: kv\n  config: {mode: quick, colour: red}\n",
        );
        let findings = check_values(&configs(), &spec, "kv 1.0");
        let got: Vec<(&str, &str)> = findings
            .iter()
            .map(|found| (found.field.as_deref().unwrap_or(""), found.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "install.config.colour",
                    "kv 1.0 has no config \"colour\"; its configs: masters, mode, token, heap_mb, label"
                ),
                (
                    "install.config.mode",
                    "mode takes one of fast, safe, not \"quick\""
                ),
                (
                    "node_groups[0].config.heap_mb",
                    "heap_mb takes a whole number, not \"big\""
                ),
                (
                    "node_groups[0].config.mode",
                    "mode is a cluster config: set it once in install.config, not per node group"
                ),
                ("install.config", "config token is required: the join token"),
            ]
        );
    }

    #[test]
    fn values_render_with_group_then_cluster_then_default() {
        let spec = spec(
            "name: c\nnode_groups:\n  - {name: m, count: 1, roles: [master], config: {heap_mb: 128}}\n  - {name: w, count: 2, roles: [worker]}\n\
             install:\n  distribution: kv\n  config: {token: t, label: x}\n",
        );
        assert!(check_values(&configs(), &spec, "kv").is_empty());
        let view = cluster_view(
            &spec,
            &configs(),
            "1.0",
            &BTreeMap::from([("w".to_owned(), 5)]),
            &[],
        );
        assert_eq!(
            serde_json::to_value(&view.config).expect("json"),
            json!({"masters": 1, "mode": "safe", "token": "t"})
        );
        assert_eq!(
            serde_json::to_value(&view.groups[0].config).expect("json"),
            json!({"heap_mb": 128, "label": "x"})
        );
        assert_eq!(view.groups[1].config.get("heap_mb"), Some(&json!(64)));
        assert_eq!((view.groups[0].count, view.groups[1].count), (1, 5));
    }

    #[test]
    fn an_untyped_distribution_takes_any_config_as_written() {
        let spec = spec(
            "name: c\nnode_groups:\n  - {name: m, count: 1, roles: [a]}\ninstall:\n  from: ./i.sh\n  config: {anything: [1, 2]}\n",
        );
        assert!(check_values(&[], &spec, "script").is_empty());
        let view = cluster_view(&spec, &[], "", &BTreeMap::new(), &[]);
        assert_eq!(view.config.get("anything"), Some(&json!([1, 2])));
    }
}
