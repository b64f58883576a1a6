//! The docker backend's options: the schema the spec is checked against
//! (cluster options in `backend.options`, `mounts` and `ports` per group in
//! `node_groups[].options`), and the typed values parsed from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::model::{OptionSpec, OptionType};

pub const DEFAULT_IMAGE: &str = "clusterdeck/node-debian:bookworm";
pub const TRANSPORT_EXEC: &str = "docker-exec";
pub const TRANSPORT_SSH: &str = "ssh";

/// Options of `backend.options`.
pub fn cluster_schema() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new("image", OptionType::String, "image every node runs; build the default with scripts/build-node-images")
            .with_default(json!(DEFAULT_IMAGE)),
        OptionSpec::new("workspace_dir", OptionType::String, "absolute host directory for large temporary files: a directory per cluster in it, mounted at /workspace in every node and removed with the cluster (default: inside the cluster's state directory)"),
        OptionSpec::new("network", OptionType::String, "an existing docker network to put the nodes on (default: a bridge network of the cluster's own, made on up and removed on destroy)"),
        OptionSpec::new("transport", OptionType::String, "how commands reach the nodes: docker-exec works with any image; ssh needs an image running sshd")
            .with_default(json!(TRANSPORT_EXEC))
            .with_choices(&[TRANSPORT_EXEC, TRANSPORT_SSH]),
        OptionSpec::new("privileged", OptionType::Boolean, "run the node containers privileged")
            .with_default(json!(false)),
        OptionSpec::new("memory", OptionType::String, "memory limit of each node, such as 512m or 2g (default: none)"),
        OptionSpec::new("cpus", OptionType::String, "CPU limit of each node, such as 1.5 (default: none)"),
        OptionSpec::new("labels", OptionType::StringList, "extra labels on every container and network, as key=value")
            .with_default(json!([])),
    ]
}

/// Options of each `node_groups[].options`.
pub fn group_schema() -> Vec<OptionSpec> {
    vec![
        OptionSpec::new("mounts", OptionType::StringList, "host directories or files bind-mounted into the group's nodes, as HOST:CONTAINER[:ro|rw] (rw by default); the host path must exist")
            .in_groups(),
        OptionSpec::new("ports", OptionType::StringList, "ports published by the group's nodes, as [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]; a fixed host port only in a group of one node")
            .in_groups(),
    ]
}

/// A bad option value: which option, and what is wrong, naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub option: &'static str,
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn invalid(option: &'static str, message: String) -> Invalid {
    Invalid { option, message }
}

/// The cluster options, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct DockerOptions {
    pub image: String,
    pub workspace_dir: Option<PathBuf>,
    /// `None`: the cluster's own network.
    pub network: Option<String>,
    pub ssh: bool,
    pub privileged: bool,
    /// Bytes.
    pub memory: Option<i64>,
    /// Billionths of a CPU.
    pub nano_cpus: Option<i64>,
    pub labels: Vec<(String, String)>,
}

/// One bind mount of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub host: String,
    pub container: String,
    pub read_only: bool,
}

impl Mount {
    /// As the engine's `Binds` take it.
    pub fn bind(&self) -> String {
        let mode = if self.read_only { "ro" } else { "rw" };
        format!("{}:{}:{mode}", self.host, self.container)
    }
}

/// One published port of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    pub host_ip: Option<String>,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub protocol: String,
}

impl Port {
    /// The engine's key for it: `80/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.container_port, self.protocol)
    }
}

/// The group options, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupOptions {
    pub mounts: Vec<Mount>,
    pub ports: Vec<Port>,
}

fn text<'a>(options: &'a BTreeMap<String, Value>, name: &str) -> Option<&'a str> {
    options
        .get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.is_empty())
}

fn list<'a>(options: &'a BTreeMap<String, Value>, name: &str) -> Vec<&'a str> {
    options
        .get(name)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl DockerOptions {
    /// Parses the cluster options (defaults filled in); an error names the
    /// option that is wrong.
    pub fn parse(options: &BTreeMap<String, Value>) -> Result<Self, Invalid> {
        let workspace_dir = text(options, "workspace_dir").map(PathBuf::from);
        if let Some(dir) = &workspace_dir
            && !dir.is_absolute()
        {
            return Err(invalid(
                "workspace_dir",
                format!(
                    "backend option workspace_dir must be an absolute path, found {:?}",
                    dir.display().to_string()
                ),
            ));
        }
        let ssh = match text(options, "transport").unwrap_or(TRANSPORT_EXEC) {
            TRANSPORT_EXEC => false,
            TRANSPORT_SSH => true,
            other => {
                return Err(invalid(
                    "transport",
                    format!(
                        "backend option transport must be {TRANSPORT_EXEC} or {TRANSPORT_SSH}, found {other:?}"
                    ),
                ));
            }
        };
        let memory = text(options, "memory")
            .map(|value| {
                parse_memory(value).ok_or_else(|| {
                    invalid(
                        "memory",
                        format!("backend option memory must be a size such as 512m or 2g (6m at least), found {value:?}"),
                    )
                })
            })
            .transpose()?;
        let nano_cpus = text(options, "cpus")
            .map(|value| {
                parse_cpus(value).ok_or_else(|| {
                    invalid(
                        "cpus",
                        format!("backend option cpus must be a positive number such as 1.5, found {value:?}"),
                    )
                })
            })
            .transpose()?;
        let labels = list(options, "labels")
            .into_iter()
            .map(|label| match label.split_once('=') {
                Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
                _ => Err(invalid(
                    "labels",
                    format!("backend option labels: {label:?} is not key=value"),
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((key, _)) = labels
            .iter()
            .find(|(key, _)| key.starts_with("io.clusterdeck.") || key.starts_with("clusterdeck."))
        {
            return Err(invalid(
                "labels",
                format!("backend option labels: {key:?} is one of clusterdeck's own label keys"),
            ));
        }
        Ok(Self {
            image: text(options, "image").unwrap_or(DEFAULT_IMAGE).to_owned(),
            workspace_dir,
            network: text(options, "network").map(str::to_owned),
            ssh,
            privileged: options
                .get("privileged")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            memory,
            nano_cpus,
            labels,
        })
    }

    /// The host directory of the cluster's workspace.
    pub fn workspace(&self, state_dir: &Path, cluster: &str) -> PathBuf {
        match &self.workspace_dir {
            Some(dir) => dir.join(cluster),
            None => state_dir.join("workspace"),
        }
    }
}

impl GroupOptions {
    /// Parses a group's options; an error names the option and the entry.
    /// `count` is the group's size: a fixed host port fits one node only.
    pub fn parse(options: &BTreeMap<String, Value>, count: u32) -> Result<Self, Invalid> {
        let mounts = list(options, "mounts")
            .into_iter()
            .map(parse_mount)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| invalid("mounts", message))?;
        let ports = list(options, "ports")
            .into_iter()
            .map(parse_port)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|message| invalid("ports", message))?;
        if count > 1
            && let Some(port) = ports.iter().find(|port| port.host_port.is_some())
        {
            return Err(invalid(
                "ports",
                format!(
                    "option ports: host port {} can be published by one node only, and the group has {count}; leave the host port out to get a free one per node",
                    port.host_port.unwrap_or_default()
                ),
            ));
        }
        Ok(Self { mounts, ports })
    }
}

fn parse_mount(entry: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = entry.split(':').collect();
    let (host, container, mode) = match parts.as_slice() {
        [host, container] => (*host, *container, "rw"),
        [host, container, mode] => (*host, *container, *mode),
        _ => {
            return Err(format!(
                "option mounts: {entry:?} is not HOST:CONTAINER[:ro|rw]"
            ));
        }
    };
    let read_only = match mode {
        "ro" => true,
        "rw" => false,
        other => {
            return Err(format!(
                "option mounts: {entry:?} has mode {other:?}; the mode is ro or rw"
            ));
        }
    };
    if !Path::new(host).is_absolute() || !Path::new(container).is_absolute() {
        return Err(format!(
            "option mounts: {entry:?} needs absolute host and container paths"
        ));
    }
    if !Path::new(host).exists() {
        return Err(format!(
            "option mounts: host path {host} of {entry:?} does not exist"
        ));
    }
    Ok(Mount {
        host: host.to_owned(),
        container: container.to_owned(),
        read_only,
    })
}

fn parse_port(entry: &str) -> Result<Port, String> {
    let bad =
        || format!("option ports: {entry:?} is not [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp]");
    let (rest, protocol) = match entry.rsplit_once('/') {
        Some((rest, protocol @ ("tcp" | "udp"))) => (rest, protocol),
        Some(_) => return Err(bad()),
        None => (entry, "tcp"),
    };
    let number = |text: &str| text.parse::<u16>().ok().filter(|port| *port > 0);
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, host_port, container) = match parts.as_slice() {
        [container] => (None, None, *container),
        [host, container] => (None, Some(*host), *container),
        [ip, host, container] => (Some(*ip), Some(*host), *container),
        _ => return Err(bad()),
    };
    let host_port = match host_port {
        None | Some("") => None,
        Some(port) => Some(number(port).ok_or_else(bad)?),
    };
    Ok(Port {
        host_ip: host_ip.filter(|ip| !ip.is_empty()).map(str::to_owned),
        host_port,
        container_port: number(container).ok_or_else(bad)?,
        protocol: protocol.to_owned(),
    })
}

/// `512m`, `2g`, `1024k`, `1073741824`: bytes.
fn parse_memory(text: &str) -> Option<i64> {
    let text = text.trim().to_ascii_lowercase();
    let text = text.strip_suffix('b').unwrap_or(&text);
    let (digits, unit) = match text.char_indices().last()? {
        (at, 'k') => (&text[..at], 1_i64 << 10),
        (at, 'm') => (&text[..at], 1 << 20),
        (at, 'g') => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    let bytes = digits.parse::<i64>().ok()?.checked_mul(unit)?;
    // The engine refuses less than 6 MiB.
    (bytes >= 6 << 20).then_some(bytes)
}

/// `1.5` CPUs: billionths.
fn parse_cpus(text: &str) -> Option<i64> {
    let cpus: f64 = text.trim().parse().ok()?;
    if !cpus.is_finite() || cpus <= 0.0 || cpus > 4096.0 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    Some((cpus * 1e9).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::resolve_options;

    fn options(given: Value) -> BTreeMap<String, Value> {
        let given: BTreeMap<String, Value> = serde_json::from_value(given).expect("a map");
        resolve_options(&cluster_schema(), &given).expect("valid against the schema")
    }

    #[test]
    fn defaults_give_the_debian_image_over_docker_exec_on_an_own_network() {
        let parsed = DockerOptions::parse(&options(json!({}))).expect("defaults parse");
        assert_eq!(parsed.image, DEFAULT_IMAGE);
        assert!(!parsed.ssh && !parsed.privileged);
        assert_eq!(parsed.network, None);
        assert_eq!((parsed.memory, parsed.nano_cpus), (None, None));
        assert_eq!(
            parsed.workspace(Path::new("/state/c"), "c"),
            PathBuf::from("/state/c/workspace")
        );
        let schema = cluster_schema();
        assert!(schema.iter().all(|option| !option.description.is_empty()));
        assert!(
            group_schema()
                .iter()
                .all(|option| option.scope == crate::model::OptionScope::Group)
        );
    }

    #[test]
    fn limits_labels_and_transport_are_typed() {
        let parsed = DockerOptions::parse(&options(json!({
            "memory": "512m", "cpus": "1.5", "transport": "ssh",
            "labels": ["team=a", "x=1=2"], "workspace_dir": "/tmp/ws", "privileged": true
        })))
        .expect("parses");
        assert_eq!(parsed.memory, Some(512 << 20));
        assert_eq!(parsed.nano_cpus, Some(1_500_000_000));
        assert!(parsed.ssh && parsed.privileged);
        assert_eq!(
            parsed.labels,
            vec![("team".into(), "a".into()), ("x".into(), "1=2".into())]
        );
        assert_eq!(
            parsed.workspace(Path::new("/state/c"), "c"),
            PathBuf::from("/tmp/ws/c")
        );
    }

    #[test]
    fn each_bad_value_names_its_option() {
        for (given, option) in [
            (json!({"memory": "lots"}), "memory"),
            (json!({"memory": "1k"}), "memory"),
            (json!({"cpus": "-1"}), "cpus"),
            (json!({"labels": ["nokey"]}), "labels"),
            (json!({"labels": ["io.clusterdeck.cluster=x"]}), "labels"),
            (json!({"workspace_dir": "rel/dir"}), "workspace_dir"),
        ] {
            let error = DockerOptions::parse(&options(given.clone())).expect_err("refused");
            assert_eq!(error.option, option, "{given}: {error}");
            assert!(error.message.contains(option), "{given}: {error}");
        }
        let wrong_transport = resolve_options(
            &cluster_schema(),
            &BTreeMap::from([("transport".to_owned(), json!("telnet"))]),
        );
        assert!(wrong_transport.is_err(), "the schema's choices refuse it");
    }

    #[test]
    fn mounts_need_an_existing_host_path_and_a_known_mode() {
        let dir = tempfile::tempdir().expect("dir");
        let host = dir.path().display().to_string();
        let group = |mounts: Value| {
            GroupOptions::parse(&BTreeMap::from([("mounts".to_owned(), mounts)]), 3)
        };
        let parsed = group(json!([format!("{host}:/data:ro"), format!("{host}:/rw")]))
            .expect("valid mounts");
        assert_eq!(parsed.mounts[0].bind(), format!("{host}:/data:ro"));
        assert_eq!(parsed.mounts[1].bind(), format!("{host}:/rw:rw"));
        let missing = group(json!(["/no/such/dir/here:/data"])).expect_err("missing");
        assert_eq!(missing.option, "mounts");
        assert!(missing.message.contains("does not exist"), "{missing}");
        let mode = group(json!([format!("{host}:/data:rx")])).expect_err("mode");
        assert!(mode.message.contains("ro or rw"), "{mode}");
        let relative = group(json!(["data:/data"])).expect_err("relative");
        assert!(relative.message.contains("absolute"), "{relative}");
    }

    #[test]
    fn ports_parse_and_a_fixed_host_port_needs_a_group_of_one() {
        let ports = |entries: Value, count| {
            GroupOptions::parse(&BTreeMap::from([("ports".to_owned(), entries)]), count)
        };
        let parsed = ports(json!(["80", "127.0.0.1:8080:80/udp", "9000:90"]), 1).expect("valid");
        assert_eq!(parsed.ports[0].key(), "80/tcp");
        assert_eq!(parsed.ports[0].host_port, None);
        assert_eq!(parsed.ports[1].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(parsed.ports[1].host_port, Some(8080));
        assert_eq!(parsed.ports[1].key(), "80/udp");
        assert_eq!(parsed.ports[2].host_port, Some(9000));
        assert!(ports(json!(["80"]), 3).is_ok());
        let clash = ports(json!(["8080:80"]), 2).expect_err("one host port, two nodes");
        assert_eq!(clash.option, "ports");
        assert!(clash.message.contains("8080"), "{clash}");
        assert!(ports(json!(["http"]), 1).is_err());
        assert!(ports(json!(["80/sctp"]), 1).is_err());
    }
}
