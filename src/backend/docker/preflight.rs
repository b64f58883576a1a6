//! `doctor` for the docker backend: is the engine there and new enough, is
//! its storage driver sane, is there disk and memory for the spec's nodes,
//! is the image there (and if not, the command that makes it), and do the
//! containers' clocks agree with ours (the old seed's clock-sync trouble).
//! The judging is pure, on bollard's own structs, so it is tested without
//! an engine; `checks` gathers the facts and hands them over.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, ImageInspect, SystemInfo, SystemVersion};
use bollard::query_parameters::{
    CreateContainerOptions, LogsOptions, RemoveContainerOptions, WaitContainerOptions,
};
use futures::StreamExt;

use super::options::{DEFAULT_IMAGE, DockerOptions};
use crate::backend::{PreflightCheck, PreflightContext};
use crate::transport::docker::{connect_engine, describe, engine_address};

/// The oldest engine API the backend works with (init processes, restart
/// policies and the archive API are all older; Debian 12's dockerd is 1.41).
pub const MIN_API: (u64, u64) = (1, 40);
/// What a node needs when the spec sets no `memory` limit: an init, a shell
/// and a small daemon or two.
pub const NODE_MEMORY_ESTIMATE: u64 = 128 << 20;
/// A node's writable layer and logs, roughly.
pub const NODE_DISK_ESTIMATE: u64 = 256 << 20;
/// Clock differences up to this pass (the container's clock is read to the
/// second).
pub const SKEW_OK: Duration = Duration::from_secs(2);
/// Beyond this, TLS, logs and timeouts on the nodes go wrong: a failure.
pub const SKEW_FAIL: Duration = Duration::from_secs(60);
/// How long the whole clock probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

const HOST_HINT: &str = "start dockerd (e.g. `setsid dockerd --iptables=false --ip-forward=false &`), or point DOCKER_HOST at your engine (unix:///path/docker.sock or tcp://host:2375)";

/// Every check, in order; later ones need the engine and are skipped
/// (reported as such) when it does not answer.
pub async fn checks(ctx: &PreflightContext) -> Vec<PreflightCheck> {
    let address = engine_address();
    let docker = match connect_engine().await {
        Ok(docker) => docker,
        Err(err) => return vec![unreachable(&address, &err.message)],
    };
    let (version, info) = match tokio::join!(docker.version(), docker.info()) {
        (Ok(version), Ok(info)) => (version, info),
        (Err(err), _) | (_, Err(err)) => return vec![unreachable(&address, &describe(&err))],
    };
    let needs = Needs::of(ctx);
    let local = is_local(&address);
    let mut verdicts = vec![
        reachable(&address, &version),
        api_version(&docker.client_version().to_string(), &version),
        storage_driver(&info),
    ];
    let root = info.docker_root_dir.clone().unwrap_or_default();
    let free_disk = (local && !root.is_empty())
        .then(|| free_bytes(&root))
        .flatten();
    verdicts.push(disk(&root, free_disk, &needs));
    let available = if local { available_memory() } else { None };
    verdicts.push(memory(available, info.mem_total, &needs));
    let image = docker.inspect_image(&needs.image).await;
    let present = image.is_ok();
    verdicts.push(image_check(
        &needs.image,
        image.map_err(|err| describe(&err)),
    ));
    if present {
        verdicts.push(clock(
            &needs.image,
            probe_clock(&docker, &needs.image).await,
        ));
    }
    verdicts
}

/// What the spec asks of this machine: how many nodes, of what size, of
/// which image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needs {
    pub nodes: u64,
    /// Per node, and whether it is the `memory` option (or our estimate).
    pub node_memory: u64,
    pub memory_from_option: bool,
    pub image: String,
}

impl Needs {
    /// From the spec and options; without a spec, one node of the options'
    /// image. Bad options are the validators' to report: defaults then.
    pub fn of(ctx: &PreflightContext) -> Self {
        let options = DockerOptions::parse(&ctx.options).ok();
        let memory = options.as_ref().and_then(|options| options.memory);
        let nodes = ctx
            .spec
            .as_ref()
            .map_or(1, |spec| u64::from(spec.node_count()).max(1));
        Self {
            nodes,
            node_memory: memory
                .and_then(|bytes| u64::try_from(bytes).ok())
                .unwrap_or(NODE_MEMORY_ESTIMATE),
            memory_from_option: memory.is_some(),
            image: options.map_or_else(|| DEFAULT_IMAGE.to_owned(), |options| options.image),
        }
    }

    pub fn memory(&self) -> u64 {
        self.nodes * self.node_memory
    }

    pub fn disk(&self) -> u64 {
        self.nodes * NODE_DISK_ESTIMATE
    }
}

pub fn unreachable(address: &str, error: &str) -> PreflightCheck {
    let message = if error.contains(address) {
        format!("{error} (the address is DOCKER_HOST, or the default socket when it is unset)")
    } else {
        format!("the docker engine at {address} (DOCKER_HOST) does not answer: {error}")
    };
    PreflightCheck::fail("docker-engine", message, HOST_HINT)
}

pub fn reachable(address: &str, version: &SystemVersion) -> PreflightCheck {
    PreflightCheck::pass(
        "docker-engine",
        format!(
            "the docker engine at {address} answers (dockerd {})",
            version.version.as_deref().unwrap_or("of unknown version")
        ),
    )
}

fn parse_api(text: &str) -> Option<(u64, u64)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The API version the client negotiated and the engine's own, named both.
pub fn api_version(negotiated: &str, version: &SystemVersion) -> PreflightCheck {
    const NAME: &str = "docker-api";
    let engine = version.api_version.as_deref().unwrap_or("unknown");
    let message = format!(
        "API {negotiated} negotiated: the engine speaks {engine} (at least {}), clusterdeck's client up to {}",
        version.min_api_version.as_deref().unwrap_or("?"),
        bollard::API_DEFAULT_VERSION
    );
    match parse_api(negotiated) {
        Some(api) if api >= MIN_API => PreflightCheck::pass(NAME, message),
        Some(_) => PreflightCheck::fail(
            NAME,
            format!(
                "{message}; clusterdeck needs API {}.{} or newer",
                MIN_API.0, MIN_API.1
            ),
            "upgrade the docker engine (docker.io from Debian 12 or newer)",
        ),
        None => PreflightCheck::warn(
            NAME,
            format!("{message}; the version cannot be read"),
            "check `docker version` by hand",
        ),
    }
}

/// overlay2 (or a copy-on-write file system) is fine; vfs copies every
/// layer for every container: slow and disk hungry with many nodes.
pub fn storage_driver(info: &SystemInfo) -> PreflightCheck {
    const NAME: &str = "docker-storage";
    match info.driver.as_deref() {
        Some(driver @ ("overlay2" | "btrfs" | "zfs" | "fuse-overlayfs" | "overlayfs")) => {
            PreflightCheck::pass(NAME, format!("storage driver {driver}"))
        }
        Some(driver @ ("vfs" | "devicemapper" | "aufs")) => PreflightCheck::warn(
            NAME,
            format!(
                "storage driver {driver}: every node's container is a full copy of the image or deprecated; clusters are slow to create and use much disk"
            ),
            "run dockerd with --storage-driver=overlay2 (a kernel with overlayfs, a docker root dir on ext4 or xfs)",
        ),
        Some(driver) => PreflightCheck::pass(NAME, format!("storage driver {driver}")),
        None => PreflightCheck::warn(
            NAME,
            "the engine does not say which storage driver it uses",
            "check `docker info` by hand",
        ),
    }
}

fn mib(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{} GiB", bytes >> 30)
    } else {
        format!("{} MiB", bytes >> 20)
    }
}

/// Free disk of the engine's root directory against the nodes' layers.
pub fn disk(root: &str, free: Option<u64>, needs: &Needs) -> PreflightCheck {
    const NAME: &str = "docker-disk";
    let needed = needs.disk();
    let Some(free) = free else {
        return PreflightCheck::warn(
            NAME,
            format!(
                "cannot measure the free disk of the engine's root dir {:?} from here (a remote engine?); {} node(s) need about {}",
                root,
                needs.nodes,
                mib(needed)
            ),
            "check `df` of the docker root dir on the engine's machine",
        );
    };
    let message = format!(
        "{} free in {root}; {} node(s) need about {}",
        mib(free),
        needs.nodes,
        mib(needed)
    );
    let fix = format!(
        "free space under {root} (`docker system prune` removes unused images and stopped containers), or move dockerd's --data-root"
    );
    if free < needed {
        PreflightCheck::fail(NAME, message, fix)
    } else if free < needed * 2 {
        PreflightCheck::warn(NAME, format!("{message}: little to spare"), fix)
    } else {
        PreflightCheck::pass(NAME, message)
    }
}

/// Memory available (or, for a remote engine, its machine's total) against
/// the nodes × the `memory` option or a per-node estimate.
pub fn memory(available: Option<u64>, total: Option<i64>, needs: &Needs) -> PreflightCheck {
    const NAME: &str = "docker-memory";
    let needed = needs.memory();
    let per_node = if needs.memory_from_option {
        format!("the memory option's {} each", mib(needs.node_memory))
    } else {
        format!("about {} each", mib(needs.node_memory))
    };
    let (have, what) = match (available, total.and_then(|total| u64::try_from(total).ok())) {
        (Some(available), _) => (available, "available"),
        (None, Some(total)) => (total, "in the engine's machine (total, not free)"),
        (None, None) => {
            return PreflightCheck::warn(
                NAME,
                format!(
                    "the engine does not say how much memory it has; {} node(s) need {} ({per_node})",
                    needs.nodes,
                    mib(needed)
                ),
                "check free memory on the engine's machine by hand",
            );
        }
    };
    let message = format!(
        "{} {what}; {} node(s) need {} ({per_node})",
        mib(have),
        needs.nodes,
        mib(needed)
    );
    let fix = "fewer nodes (node_groups[].count), a smaller backend.options.memory, or free memory on the engine's machine";
    if have < needed {
        PreflightCheck::fail(NAME, message, fix)
    } else if have < needed + needed / 2 {
        PreflightCheck::warn(NAME, format!("{message}: little to spare"), fix)
    } else {
        PreflightCheck::pass(NAME, message)
    }
}

/// The image every node runs; when missing, the command that makes it.
pub fn image_check(image: &str, inspected: Result<ImageInspect, String>) -> PreflightCheck {
    const NAME: &str = "docker-image";
    match inspected {
        Ok(found) => {
            let size = found
                .size
                .and_then(|size| u64::try_from(size).ok())
                .map(|size| format!(", {}", mib(size)))
                .unwrap_or_default();
            PreflightCheck::pass(NAME, format!("image {image} is present{size}"))
        }
        Err(error) => {
            let fix = if image.starts_with("clusterdeck/node-") {
                format!(
                    "build it: scripts/build-node-images (makes {image} with docker import), or `docker load -i FILE` if you have it saved"
                )
            } else {
                format!(
                    "`docker pull {image}`, or `docker load -i FILE` where no registry is reachable, or set backend.options.image to an image you have (`docker images`)"
                )
            };
            let message = if error.contains("404") || error.contains("No such image") {
                format!("image {image} (backend.options.image) is not on the engine")
            } else {
                format!("cannot look at image {image} (backend.options.image): {error}")
            };
            PreflightCheck::fail(NAME, message, fix)
        }
    }
}

/// The container read its clock (whole seconds since the epoch) between
/// `before` and `after` on ours: how far apart the two are, at best.
pub fn skew(before: SystemTime, after: SystemTime, container_secs: u64) -> Duration {
    let seconds = |time: SystemTime| {
        time.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    let (low, high) = (seconds(before).floor(), seconds(after).ceil());
    let read = container_secs as f64;
    let off = if read < low {
        low - read
    } else if read > high {
        read - high
    } else {
        0.0
    };
    Duration::from_secs_f64(off)
}

/// Judges the clock probe: close enough passes, far apart fails.
pub fn clock(image: &str, probe: Result<Duration, String>) -> PreflightCheck {
    const NAME: &str = "docker-clock";
    let fix = "sync the engine machine's clock (chrony or ntpd; on Docker Desktop restart its VM)";
    match probe {
        Ok(off) if off <= SKEW_OK => PreflightCheck::pass(
            NAME,
            format!(
                "a container of {image} and this host agree on the time (within {}s)",
                SKEW_OK.as_secs()
            ),
        ),
        Ok(off) if off <= SKEW_FAIL => PreflightCheck::warn(
            NAME,
            format!(
                "a container of {image} is {:.0}s off this host's clock",
                off.as_secs_f64()
            ),
            fix,
        ),
        Ok(off) => PreflightCheck::fail(
            NAME,
            format!(
                "a container of {image} is {:.0}s off this host's clock: certificates, logs and timeouts on the nodes go wrong",
                off.as_secs_f64()
            ),
            fix,
        ),
        Err(error) => PreflightCheck::warn(
            NAME,
            format!("cannot read the clock of a container of {image}: {error}"),
            "check that the image has /bin/sh and date (`docker run --rm IMAGE date +%s`)",
        ),
    }
}

/// Runs `date +%s` in a short-lived container of the image (removed
/// whatever happens) and measures its clock against ours.
async fn probe_clock(docker: &Docker, image: &str) -> Result<Duration, String> {
    let name = format!(
        "clusterdeck-doctor-{}-{}",
        std::process::id(),
        crate::model::new_uid("clock").replace(|c: char| !c.is_ascii_alphanumeric(), "")
    );
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: Some(vec!["date".to_owned(), "+%s".to_owned()]),
        labels: Some(std::collections::HashMap::from([(
            "io.clusterdeck.doctor".to_owned(),
            "clock".to_owned(),
        )])),
        host_config: Some(HostConfig {
            network_mode: Some("none".to_owned()),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    };
    let options = CreateContainerOptions {
        name: Some(name.clone()),
        platform: String::new(),
    };
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|err| format!("create: {}", describe(&err)))?;
    let read = tokio::time::timeout(PROBE_TIMEOUT, read_clock(docker, &name)).await;
    let removed = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptions {
                force: true,
                ..RemoveContainerOptions::default()
            }),
        )
        .await;
    if let Err(err) = removed {
        tracing::warn!(container = %name, error = %describe(&err), "doctor's clock probe was not removed");
    }
    read.map_err(|_| format!("no answer within {}s", PROBE_TIMEOUT.as_secs()))?
}

async fn read_clock(docker: &Docker, name: &str) -> Result<Duration, String> {
    let before = SystemTime::now();
    docker
        .start_container(
            name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(|err| format!("start: {}", describe(&err)))?;
    let mut waited = docker.wait_container(name, None::<WaitContainerOptions>);
    while let Some(status) = waited.next().await {
        status.map_err(|err| format!("wait: {}", describe(&err)))?;
    }
    let after = SystemTime::now();
    let mut logs = docker.logs(
        name,
        Some(LogsOptions {
            stdout: true,
            stderr: true,
            ..LogsOptions::default()
        }),
    );
    let mut output = String::new();
    while let Some(chunk) = logs.next().await {
        let chunk = chunk.map_err(|err| format!("logs: {}", describe(&err)))?;
        output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    let seconds: u64 = output
        .trim()
        .parse()
        .map_err(|_| format!("`date +%s` printed {:?}", output.trim()))?;
    Ok(skew(before, after, seconds))
}

/// The engine is on this machine, so its root dir and memory are ours.
fn is_local(address: &str) -> bool {
    address.starts_with("unix://") || address.starts_with('/')
}

fn free_bytes(path: &str) -> Option<u64> {
    let stat = nix::sys::statvfs::statvfs(path).ok()?;
    Some(stat.blocks_available() * stat.fragment_size())
}

/// `MemAvailable` of /proc/meminfo, in bytes.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo(&text)
}

pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CheckStatus;

    fn needs(nodes: u64) -> Needs {
        Needs {
            nodes,
            node_memory: NODE_MEMORY_ESTIMATE,
            memory_from_option: false,
            image: "clusterdeck/node-busybox:latest".into(),
        }
    }

    fn version(api: &str) -> SystemVersion {
        SystemVersion {
            version: Some("20.10.24".into()),
            api_version: Some(api.into()),
            min_api_version: Some("1.12".into()),
            ..SystemVersion::default()
        }
    }

    #[test]
    fn an_unreachable_engine_names_docker_host() {
        let check = unreachable("unix:///tmp/none.sock", "Socket not found: /tmp/none.sock");
        assert_eq!(check.status, CheckStatus::Fail);
        assert!(
            check
                .message
                .contains("unix:///tmp/none.sock (DOCKER_HOST)"),
            "{}",
            check.message
        );
        assert!(
            check
                .fix
                .as_deref()
                .is_some_and(|fix| fix.contains("DOCKER_HOST"))
        );
        let pass = reachable("unix:///var/run/docker.sock", &version("1.41"));
        assert_eq!(pass.status, CheckStatus::Pass);
        assert!(pass.message.contains("20.10.24"));
    }

    #[test]
    fn the_api_check_names_both_versions_and_refuses_old_engines() {
        let check = api_version("1.41", &version("1.41"));
        assert_eq!(check.status, CheckStatus::Pass);
        assert!(
            check.message.contains("API 1.41 negotiated"),
            "{}",
            check.message
        );
        assert!(
            check.message.contains("engine speaks 1.41"),
            "{}",
            check.message
        );
        assert!(
            check
                .message
                .contains(&bollard::API_DEFAULT_VERSION.to_string())
        );
        assert_eq!(
            api_version("1.39", &version("1.39")).status,
            CheckStatus::Fail
        );
        assert_eq!(
            api_version("1.40", &version("1.40")).status,
            CheckStatus::Pass
        );
        assert_eq!(api_version("x", &version("x")).status, CheckStatus::Warn);
    }

    #[test]
    fn storage_drivers_are_judged() {
        let info = |driver: Option<&str>| SystemInfo {
            driver: driver.map(str::to_owned),
            ..SystemInfo::default()
        };
        assert_eq!(
            storage_driver(&info(Some("overlay2"))).status,
            CheckStatus::Pass
        );
        let vfs = storage_driver(&info(Some("vfs")));
        assert_eq!(vfs.status, CheckStatus::Warn);
        assert!(
            vfs.fix
                .as_deref()
                .is_some_and(|fix| fix.contains("overlay2"))
        );
        assert_eq!(storage_driver(&info(None)).status, CheckStatus::Warn);
    }

    #[test]
    fn disk_and_memory_are_measured_against_the_nodes() {
        let four = needs(4);
        assert_eq!(four.disk(), 4 * NODE_DISK_ESTIMATE);
        assert_eq!(
            disk("/var/lib/docker", Some(100 << 30), &four).status,
            CheckStatus::Pass
        );
        assert_eq!(
            disk("/var/lib/docker", Some(four.disk() + 1), &four).status,
            CheckStatus::Warn
        );
        let full = disk("/var/lib/docker", Some(four.disk() - 1), &four);
        assert_eq!(full.status, CheckStatus::Fail);
        assert!(full.message.contains("/var/lib/docker"), "{}", full.message);
        assert_eq!(
            disk("/var/lib/docker", None, &four).status,
            CheckStatus::Warn
        );

        let mut big = needs(10);
        big.node_memory = 2 << 30;
        big.memory_from_option = true;
        let short = memory(Some(8 << 30), None, &big);
        assert_eq!(short.status, CheckStatus::Fail);
        assert!(
            short.message.contains("10 node(s) need 20 GiB"),
            "{}",
            short.message
        );
        assert!(short.message.contains("memory option"), "{}", short.message);
        assert_eq!(memory(Some(25 << 30), None, &big).status, CheckStatus::Warn);
        assert_eq!(memory(Some(64 << 30), None, &big).status, CheckStatus::Pass);
        let remote = memory(None, Some(64 << 30), &big);
        assert_eq!(remote.status, CheckStatus::Pass);
        assert!(remote.message.contains("total"), "{}", remote.message);
        assert_eq!(memory(None, None, &big).status, CheckStatus::Warn);
    }

    #[test]
    fn needs_come_from_the_spec_and_the_memory_option() {
        let spec = crate::spec::parse(
            "name: d\nbackend:\n  kind: docker\nnode_groups:\n  - {name: m, count: 1, roles: [master]}\n  - {name: a, count: 3, roles: [agent]}\n",
            std::path::Path::new("spec.yaml"),
        )
        .expect("spec");
        let ctx = PreflightContext {
            options: [
                ("memory".to_owned(), serde_json::json!("512m")),
                ("image".to_owned(), serde_json::json!("mine:1")),
            ]
            .into(),
            spec: Some(spec),
        };
        let needs = Needs::of(&ctx);
        assert_eq!((needs.nodes, needs.memory()), (4, 4 * (512 << 20)));
        assert!(needs.memory_from_option);
        assert_eq!(needs.image, "mine:1");
        let bare = Needs::of(&PreflightContext::default());
        assert_eq!((bare.nodes, bare.node_memory), (1, NODE_MEMORY_ESTIMATE));
        assert_eq!(bare.image, DEFAULT_IMAGE);
    }

    #[test]
    fn a_missing_image_gives_the_command_that_makes_it() {
        let ours = image_check(
            "clusterdeck/node-debian:bookworm",
            Err("No such image (HTTP 404)".into()),
        );
        assert_eq!(ours.status, CheckStatus::Fail);
        assert!(
            ours.message.contains("backend.options.image"),
            "{}",
            ours.message
        );
        assert!(
            ours.fix
                .as_deref()
                .is_some_and(|fix| fix.contains("scripts/build-node-images"))
        );
        let theirs = image_check("redis:7", Err("No such image (HTTP 404)".into()));
        let fix = theirs.fix.expect("fix");
        assert!(
            fix.contains("docker pull redis:7") && fix.contains("docker load"),
            "{fix}"
        );
        let present = image_check(
            "redis:7",
            Ok(ImageInspect {
                size: Some(3 << 20),
                ..ImageInspect::default()
            }),
        );
        assert_eq!(present.status, CheckStatus::Pass);
    }

    #[test]
    fn clock_skew_is_measured_to_the_second_and_judged() {
        let at = |secs: f64| UNIX_EPOCH + Duration::from_secs_f64(secs);
        assert_eq!(skew(at(100.2), at(100.9), 100), Duration::ZERO);
        assert_eq!(
            skew(at(100.2), at(100.9), 101),
            Duration::ZERO,
            "read as the second ticked"
        );
        assert_eq!(skew(at(100.2), at(100.9), 110), Duration::from_secs(9));
        assert_eq!(skew(at(100.2), at(100.9), 40), Duration::from_secs(60));
        assert_eq!(
            clock("i", Ok(Duration::from_secs(1))).status,
            CheckStatus::Pass
        );
        assert_eq!(
            clock("i", Ok(Duration::from_secs(9))).status,
            CheckStatus::Warn
        );
        let far = clock("i", Ok(Duration::from_secs(600)));
        assert_eq!(far.status, CheckStatus::Fail);
        assert!(far.message.contains("600s off"), "{}", far.message);
        assert_eq!(clock("i", Err("no date".into())).status, CheckStatus::Warn);
    }

    #[test]
    fn meminfo_gives_available_bytes() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(parse_meminfo(text), Some(20_000_000 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 1 kB\n"), None);
    }
}
