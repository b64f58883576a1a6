//! Commands and files in a container through the engine's exec and archive
//! APIs (bollard): the image needs nothing but `/bin/sh`, no sshd.
//!
//! Each command runs as `/bin/sh -c` wrapped so that its first stderr line is
//! the shell's PID. An exec'd process leads its own session and process
//! group, so a timeout or cancel kills that whole group with a second exec,
//! inside the container: the engine has no call to kill an exec.

mod client;
mod tar;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use bytes::Bytes;
use futures::StreamExt;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

pub use client::{connect_engine, describe, engine_address, engine_error_kind, status_code};
pub use tar::archive_files;

use super::lines::{LineSplitter, READ_CHUNK};
use super::{
    ConnectError, ConnectErrorKind, ExecRequest, ExecStatus, FetchedFile, LineSink, Transport,
    TransportError, Upload, missing_file, sleep_until,
};
use crate::model::{Stream, shell_quote};

/// The first stderr line of every command: the shell's PID.
const PID_MARK: &str = "clusterdeck-pid ";
/// How long a kill waits for the PID line when the command was cancelled
/// before its shell printed it.
const PID_WAIT: Duration = Duration::from_secs(2);
/// The variable holding the node's directory, as on the other transports.
const NODE_DIR_ENV: &str = "CLUSTERDECK_NODE_DIR";
/// What a download may hold besides the file's bytes (headers, long-name
/// and PAX records) before it is cut at the cap.
const ARCHIVE_SLACK: u64 = 64 * 1024;

pub struct DockerTransport {
    node: String,
    container: String,
    /// The node's directory inside the container (absolute).
    root: String,
    env: Vec<(String, String)>,
}

impl DockerTransport {
    pub fn new(node: &str, container: &str, root: &str, env: Vec<(String, String)>) -> Self {
        Self {
            node: node.to_owned(),
            container: container.to_owned(),
            root: root.to_owned(),
            env,
        }
    }

    async fn engine(&self) -> Result<Docker, TransportError> {
        connect_engine().await.map_err(TransportError::Connect)
    }

    /// An engine failure about this node's container: a 404 or 409 (gone,
    /// not running) means the node cannot be reached.
    fn failed(&self, what: &str, err: &bollard::errors::Error) -> TransportError {
        let kind = match status_code(err) {
            Some(404) | Some(409) => ConnectErrorKind::Closed,
            _ => engine_error_kind(err),
        };
        TransportError::Connect(ConnectError::new(
            kind,
            format!(
                "{what} in container {} of node {}: {}",
                self.container,
                self.node,
                describe(err)
            ),
        ))
    }

    fn environment(&self, extra: &[(String, String)]) -> Vec<String> {
        std::iter::once((NODE_DIR_ENV.to_owned(), self.root.clone()))
            .chain(self.env.iter().cloned())
            .chain(extra.iter().cloned())
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    }

    fn script(&self, request: &ExecRequest) -> String {
        let mut script = format!(
            "printf '{PID_MARK}%s\\n' \"$$\" >&2; R={root}; mkdir -p \"$R\" && cd \"$R\" || exit 125",
            root = shell_quote(&self.root)
        );
        if let Some(workdir) = &request.workdir {
            script.push_str(&format!("; cd {} || exit 125", shell_quote(workdir)));
        }
        script.push_str(&format!(
            "; exec /bin/sh -c {}",
            shell_quote(&request.command)
        ));
        script
    }

    /// Runs `command` (argv) in the container and waits for it, ignoring its
    /// output; for the kill.
    async fn run_quietly(&self, docker: &Docker, command: Vec<String>) {
        let Ok(created) = docker
            .create_exec(
                &self.container,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(command),
                    ..Default::default()
                },
            )
            .await
        else {
            return;
        };
        if let Ok(StartExecResults::Attached { mut output, .. }) =
            docker.start_exec(&created.id, None).await
        {
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while output.next().await.is_some() {}
            })
            .await;
        }
    }

    /// Kills the command's process group inside the container.
    async fn kill_inside(&self, docker: &Docker, pid: Option<u32>) {
        let Some(pid) = pid else { return };
        // `kill -9 -PID` (not `--`): dash and busybox sh reject `--`.
        let command = format!("kill -9 -{pid} 2>/dev/null || kill -9 {pid} 2>/dev/null");
        self.run_quietly(docker, vec!["/bin/sh".into(), "-c".into(), command])
            .await;
    }
}

/// The PID of the command's shell, from its first stderr line.
fn pid_from(line: &str) -> Option<u32> {
    line.strip_prefix(PID_MARK)?.trim().parse().ok()
}

#[async_trait]
impl Transport for DockerTransport {
    async fn exec(
        &self,
        request: &ExecRequest,
        on_line: LineSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ExecStatus, TransportError> {
        let docker = self.engine().await?;
        let created = docker
            .create_exec(
                &self.container,
                CreateExecOptions {
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    attach_stdin: Some(false),
                    tty: Some(false),
                    env: Some(self.environment(&request.env)),
                    cmd: Some(vec!["/bin/sh".into(), "-c".into(), self.script(request)]),
                    ..Default::default()
                },
            )
            .await
            .map_err(|err| self.failed("cannot start a command", &err))?;
        let started = docker
            .start_exec(
                &created.id,
                Some(StartExecOptions {
                    detach: false,
                    tty: false,
                    output_capacity: None,
                }),
            )
            .await
            .map_err(|err| self.failed("cannot start a command", &err))?;
        let StartExecResults::Attached { mut output, .. } = started else {
            return Err(self.failed(
                "the engine did not attach to a command",
                &bollard::errors::Error::DockerStreamError {
                    error: "detached".to_owned(),
                },
            ));
        };
        let mut stdout = LineSplitter::default();
        let mut stderr = LineSplitter::default();
        let mut pid: Option<u32> = None;
        let deadline = request
            .timeout
            .map(|limit| tokio::time::Instant::now() + limit);
        let on_stderr = |line: &str, pid: &mut Option<u32>| {
            if pid.is_none()
                && let Some(number) = pid_from(line)
            {
                *pid = Some(number);
                return;
            }
            on_line.line(Stream::Stderr, line);
        };
        let mut ended: Option<ExecStatus> = None;
        loop {
            tokio::select! {
                item = output.next() => match item {
                    Some(Ok(LogOutput::StdOut { message })) => {
                        stdout.push(&message, &mut |line| on_line.line(Stream::Stdout, line));
                    }
                    Some(Ok(LogOutput::StdErr { message })) => {
                        stderr.push(&message, &mut |line| on_stderr(line, &mut pid));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(err)) => return Err(self.failed("lost the output of a command", &err)),
                    None => break,
                },
                () = sleep_until(deadline), if ended.is_none() => {
                    ended = Some(ExecStatus::TimedOut);
                    break;
                }
                () = cancel.cancelled(), if ended.is_none() => {
                    ended = Some(ExecStatus::Cancelled);
                    break;
                }
            }
        }
        if let Some(status) = ended {
            if pid.is_none() {
                // Cancelled before the shell printed its PID: it will soon.
                let _ = tokio::time::timeout(PID_WAIT, async {
                    while pid.is_none() {
                        match output.next().await {
                            Some(Ok(LogOutput::StdErr { message })) => {
                                stderr.push(&message, &mut |line| on_stderr(line, &mut pid));
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => break,
                        }
                    }
                })
                .await;
            }
            self.kill_inside(&docker, pid).await;
            return Ok(status);
        }
        stdout.finish(&mut |line| on_line.line(Stream::Stdout, line));
        stderr.finish(&mut |line| on_stderr(line, &mut pid));
        let inspected = docker
            .inspect_exec(&created.id)
            .await
            .map_err(|err| self.failed("cannot read the exit status of a command", &err))?;
        match inspected.exit_code {
            Some(code) => Ok(ExecStatus::Exited(i32::try_from(code).unwrap_or(-1))),
            None => Err(TransportError::Connect(ConnectError::new(
                ConnectErrorKind::Closed,
                format!(
                    "container {} of node {} gave no exit status for a command",
                    self.container, self.node
                ),
            ))),
        }
    }

    /// An archive of the one file, uploaded at `/`: the engine creates the
    /// missing directories on the way.
    async fn put(&self, upload: Upload<'_>, dest: &str, mode: u32) -> Result<(), TransportError> {
        if !crate::spec::is_contained_relative(dest) {
            return Err(TransportError::PathEscapes(dest.to_owned()));
        }
        let path = format!("{}/{dest}", self.root.trim_matches('/'));
        let path = path.trim_start_matches('/').to_owned();
        let mtime = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let io = |context: String| {
            move |source: String| TransportError::Io {
                context,
                source: std::io::Error::other(source),
            }
        };
        let context = format!("upload to {dest} on {}", self.node);
        let body = match upload {
            Upload::Bytes(bytes) => bollard::body_full(Bytes::from(
                tar::archive(&path, bytes, mode, mtime).map_err(io(context.clone()))?,
            )),
            Upload::File(source) => {
                let file = tokio::fs::File::open(source).await.map_err(|source_err| {
                    TransportError::Io {
                        context: format!("cannot read {}", source.display()),
                        source: source_err,
                    }
                })?;
                let size = file
                    .metadata()
                    .await
                    .map_err(|source_err| TransportError::Io {
                        context: format!("cannot read {}", source.display()),
                        source: source_err,
                    })?
                    .len();
                let header =
                    tar::file_header(&path, size, mode, mtime).map_err(io(context.clone()))?;
                bollard::body_try_stream(file_archive(header, file, size))
            }
        };
        let docker = self.engine().await?;
        docker
            .upload_to_container(
                &self.container,
                Some(UploadToContainerOptionsBuilder::default().path("/").build()),
                body,
            )
            .await
            .map_err(|err| self.failed(&format!("cannot upload {dest}"), &err))
    }

    async fn get(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError> {
        self.download(path, max_bytes).await
    }
}

impl DockerTransport {
    /// The engine's archive download of the one file, read until the cap
    /// (plus headers) and then dropped: the container needs no program for
    /// it, and a stopped container's files can still be read.
    async fn download(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError> {
        let full = if path.starts_with('/') {
            path.to_owned()
        } else if crate::spec::is_contained_relative(path) {
            format!("{}/{path}", self.root.trim_end_matches('/'))
        } else {
            return Err(TransportError::PathEscapes(path.to_owned()));
        };
        let docker = self.engine().await?;
        let mut stream = docker.download_from_container(
            &self.container,
            Some(
                DownloadFromContainerOptionsBuilder::default()
                    .path(&full)
                    .build(),
            ),
        );
        let limit = max_bytes.saturating_add(ARCHIVE_SLACK);
        let mut archive = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| match status_code(&err) {
                Some(404) => missing_file(path, "no such file in the container"),
                _ => self.failed(&format!("cannot read {path}"), &err),
            })?;
            archive.extend_from_slice(&chunk);
            if archive.len() as u64 >= limit {
                break;
            }
        }
        let (data, size) =
            tar::first_file(&archive, max_bytes).map_err(|why| missing_file(path, why))?;
        Ok(FetchedFile {
            data,
            size: Some(size),
            truncated: size > max_bytes,
        })
    }
}

/// The header, the file read in chunks (exactly `size` bytes: a file that
/// changes meanwhile fails rather than corrupting the archive), the trailer.
fn file_archive(
    header: [u8; 512],
    file: tokio::fs::File,
    size: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    let head = futures::stream::once(async move { Ok(Bytes::copy_from_slice(&header)) });
    let body = futures::stream::try_unfold((file, size), |(mut file, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let want = usize::try_from(left.min(READ_CHUNK as u64 * 8)).unwrap_or(READ_CHUNK);
        let mut buffer = vec![0u8; want];
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file shrank while it was uploaded",
            ));
        }
        buffer.truncate(read);
        Ok(Some((Bytes::from(buffer), (file, left - read as u64))))
    });
    let tail = futures::stream::once(async move { Ok(tar::trailer(size)) });
    head.chain(body).chain(tail)
}
