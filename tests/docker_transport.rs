//! The docker-exec transport against the real dockerd: output streams and
//! exit status, the node's environment, timeout and cancellation killing
//! the command inside the container, and uploads through the archive API.
//! Skips with a reason when the engine or the busybox test image is missing
//! (`scripts/build-node-images` builds it); under CI=true that is a failure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use clusterdeck::model::Stream;
use clusterdeck::transport::docker::{DockerTransport, connect_engine};
use clusterdeck::transport::{ExecRequest, ExecStatus, Transport, TransportError, Upload};
use tokio_util::sync::CancellationToken;

const IMAGE: &str = "clusterdeck/node-busybox:latest";

/// A running busybox container, removed when dropped.
struct Container {
    name: String,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v", &self.name])
            .output();
    }
}

fn skip(test: &str, reason: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{test}: {reason}; under CI=true dockerd and {IMAGE} are required (scripts/test starts dockerd, scripts/build-node-images builds the image)"
    );
    eprintln!("skipping {test}: {reason}");
}

/// A fresh container for `test`, or `None` (skipped) without an engine or image.
async fn container(test: &str) -> Option<Container> {
    let docker = match connect_engine().await {
        Ok(docker) => docker,
        Err(err) => {
            skip(test, &format!("no docker engine: {err}"));
            return None;
        }
    };
    if docker.inspect_image(IMAGE).await.is_err() {
        skip(test, &format!("image {IMAGE} is missing"));
        return None;
    }
    let name = format!("clusterdeck-test-transport-{test}-{}", std::process::id());
    let _ = docker
        .remove_container(
            &name,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await;
    let created = docker
        .create_container(
            Some(CreateContainerOptionsBuilder::default().name(&name).build()),
            ContainerCreateBody {
                image: Some(IMAGE.to_owned()),
                cmd: Some(vec!["sleep".into(), "2147483647".into()]),
                labels: Some([("io.clusterdeck.test".to_owned(), "transport".to_owned())].into()),
                host_config: Some(HostConfig {
                    init: Some(true),
                    network_mode: Some("none".to_owned()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .expect("creates the test container");
    let guard = Container { name };
    docker
        .start_container(
            &created.id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .expect("starts the test container");
    Some(guard)
}

fn transport(container: &Container) -> DockerTransport {
    DockerTransport::new(
        "a-1",
        &container.name,
        "/clusterdeck",
        vec![("CLUSTERDECK_NODE".to_owned(), "a-1".to_owned())],
    )
}

/// Runs a command; its status and its lines, stdout and stderr apart.
async fn run(
    transport: &DockerTransport,
    request: ExecRequest,
    cancel: &CancellationToken,
) -> (ExecStatus, Vec<String>, Vec<String>) {
    let lines = Mutex::new((Vec::new(), Vec::new()));
    let status = transport
        .exec(
            &request,
            &|stream: Stream, line: &str| {
                let mut lines = lines.lock().expect("lock");
                match stream {
                    Stream::Stdout => lines.0.push(line.to_owned()),
                    Stream::Stderr => lines.1.push(line.to_owned()),
                }
            },
            cancel,
        )
        .await
        .expect("the command runs");
    let (out, err) = lines.into_inner().expect("lock");
    (status, out, err)
}

fn command(text: &str) -> ExecRequest {
    ExecRequest {
        command: text.to_owned(),
        ..ExecRequest::default()
    }
}

/// How many processes in the container have `needle` in their command line.
async fn processes_matching(transport: &DockerTransport, needle: &str) -> usize {
    let (_, out, _) = run(transport, command("ps -o args"), &CancellationToken::new()).await;
    out.iter().filter(|line| line.contains(needle)).count()
}

#[tokio::test]
async fn exec_streams_both_outputs_with_the_node_environment_and_exit_status() {
    let Some(container) = container("streams").await else {
        return;
    };
    let node = transport(&container);
    let (status, out, err) = run(
        &node,
        ExecRequest {
            command: "echo out $CLUSTERDECK_NODE $EXTRA; echo err >&2; pwd; printf tail; exit 7"
                .to_owned(),
            env: vec![("EXTRA".to_owned(), "x y".to_owned())],
            ..ExecRequest::default()
        },
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(status, ExecStatus::Exited(7));
    assert_eq!(out, ["out a-1 x y", "/clusterdeck", "tail"]);
    assert_eq!(err, ["err"], "the PID line is not shown");
    let (status, out, _) = run(
        &node,
        ExecRequest {
            command: "pwd; echo $CLUSTERDECK_NODE_DIR".to_owned(),
            workdir: Some("sub".to_owned()),
            ..ExecRequest::default()
        },
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        status,
        ExecStatus::Exited(125),
        "a missing workdir: {out:?}"
    );
    let (status, out, _) = run(
        &node,
        command("mkdir -p sub && cd sub && pwd"),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(
        (status, out),
        (ExecStatus::Exited(0), vec!["/clusterdeck/sub".to_owned()])
    );
}

#[tokio::test]
async fn a_timeout_kills_the_command_and_its_children_inside_the_container() {
    let Some(container) = container("timeout").await else {
        return;
    };
    let node = transport(&container);
    let started = Instant::now();
    let (status, out, _) = run(
        &node,
        ExecRequest {
            command: "sleep 3001 & echo started; sleep 3001".to_owned(),
            timeout: Some(Duration::from_millis(500)),
            ..ExecRequest::default()
        },
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(status, ExecStatus::TimedOut);
    assert_eq!(out, ["started"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        processes_matching(&node, "sleep 3001").await,
        0,
        "killed inside the container"
    );
}

#[tokio::test]
async fn cancellation_kills_the_command_inside_the_container() {
    let Some(container) = container("cancel").await else {
        return;
    };
    let node = transport(&container);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(400)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let (status, _, _) = run(&node, command("sleep 3002 & sleep 3002"), &cancel).await;
    assert_eq!(status, ExecStatus::Cancelled);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(processes_matching(&node, "sleep 3002").await, 0);
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    let (status, _, _) = run(&node, command("sleep 3003"), &cancelled).await;
    assert_eq!(status, ExecStatus::Cancelled, "cancelled before it started");
    assert_eq!(processes_matching(&node, "sleep 3003").await, 0);
}

#[tokio::test]
async fn put_uploads_bytes_and_files_with_their_mode_and_refuses_escapes() {
    let Some(container) = container("put").await else {
        return;
    };
    let node = transport(&container);
    node.put(
        Upload::Bytes(b"#!/bin/sh\necho hi\n"),
        "install/run.sh",
        0o750,
    )
    .await
    .expect("uploads bytes");
    let dir = tempfile::tempdir().expect("dir");
    let big = dir.path().join("big.bin");
    let data: Vec<u8> = (0..3_000_001u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &data).expect("writes");
    node.put(Upload::File(&big), "a/b/big.bin", 0o600)
        .await
        .expect("uploads a file");
    let (status, out, err) = run(
        &node,
        command("./install/run.sh; stat -c %a install/run.sh a/b/big.bin; wc -c < a/b/big.bin; md5sum a/b/big.bin"),
        &CancellationToken::new(),
    )
    .await;
    assert_eq!(status, ExecStatus::Exited(0), "{err:?}");
    assert_eq!(out[..4], ["hi", "750", "600", "3000001"]);
    let local_md5 = std::process::Command::new("md5sum")
        .arg(&big)
        .output()
        .expect("md5sum");
    let local_md5 = String::from_utf8_lossy(&local_md5.stdout);
    assert_eq!(
        out[4].split_whitespace().next(),
        local_md5.split_whitespace().next(),
        "the file arrives whole"
    );
    assert!(matches!(
        node.put(Upload::Bytes(b"x"), "../escape", 0o600).await,
        Err(TransportError::PathEscapes(_))
    ));
}

#[tokio::test]
async fn a_container_that_is_gone_is_unreachable() {
    let Some(container) = container("gone").await else {
        return;
    };
    let node = transport(&container);
    drop(container);
    let error = node
        .exec(
            &command("true"),
            &|_: Stream, _: &str| {},
            &CancellationToken::new(),
        )
        .await
        .expect_err("no container");
    assert!(error.connect_kind().is_some(), "{error}");
    assert!(
        error
            .to_string()
            .contains("clusterdeck-test-transport-gone"),
        "{error}"
    );
}
