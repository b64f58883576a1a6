//! Commands and files over SSH (russh), through the process-wide pool.

mod connect;
mod pool;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use russh::ChannelMsg;
use tokio_util::sync::CancellationToken;

pub use pool::SshPool;
pub use settings::{HostKeyPolicy, SshSettings, SshTarget, expand_home, split_target};

use super::lines::LineSplitter;
use super::{
    ConnectError, ConnectErrorKind, ExecRequest, ExecStatus, FetchedFile, LineSink, Transport,
    TransportError, Upload, missing_file, sleep_until,
};
use crate::model::{Stream, shell_quote};

/// The first stderr line of every command: the remote shell's PID, which
/// sshd made a process-group leader, so a timeout can kill the whole group.
const PID_MARK: &str = "clusterdeck-pid ";
/// Output still read after the exit status: a daemon may hold the pipes.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(250);
/// The stderr line `get` learns a file's size from.
const SIZE_MARK: &str = "clusterdeck-size ";
/// The exit status of `get`'s script when the path is no regular file.
const NOT_A_FILE: u32 = 3;
/// How long `get` waits for a file to arrive.
const GET_TIMEOUT: Duration = Duration::from_secs(300);

pub struct SshTransport {
    node: String,
    endpoint: SshTarget,
    settings: Arc<SshSettings>,
    /// The node's directory, relative to the login's home unless absolute.
    root: String,
    env: Vec<(String, String)>,
}

impl SshTransport {
    pub fn new(
        node: &str,
        endpoint: SshTarget,
        settings: Arc<SshSettings>,
        root: String,
        env: Vec<(String, String)>,
    ) -> Self {
        Self {
            node: node.to_owned(),
            endpoint,
            settings,
            root,
            env,
        }
    }

    async fn session(&self) -> Result<Arc<connect::Session>, TransportError> {
        SshPool::global()
            .session(&self.node, &self.endpoint, &self.settings)
            .await
            .map_err(TransportError::Connect)
    }

    /// A channel on the pooled connection; one reconnect if it went stale.
    async fn channel(
        &self,
    ) -> Result<(Arc<connect::Session>, russh::Channel<russh::client::Msg>), TransportError> {
        let session = self.session().await?;
        match session.channel_open_session().await {
            Ok(channel) => Ok((session, channel)),
            Err(_) => {
                SshPool::global()
                    .forget(&self.endpoint, &self.settings)
                    .await;
                let session = self.session().await?;
                let channel = session.channel_open_session().await.map_err(|err| {
                    closed(format!(
                        "cannot open a session on {}: {err}",
                        self.endpoint.address()
                    ))
                })?;
                Ok((session, channel))
            }
        }
    }

    /// The shell prelude: make and enter the node's directory, export the
    /// node's environment.
    fn prelude(&self, extra_env: &[(String, String)]) -> String {
        let mut script = format!(
            "R={root}; [ -d \"$R\" ] || mkdir -p \"$R\" || exit 125; cd \"$R\" || exit 125; export CLUSTERDECK_NODE_DIR=\"$PWD\"",
            root = shell_quote(&self.root)
        );
        for (key, value) in self.env.iter().chain(extra_env) {
            script.push_str(&format!("; export {key}={}", shell_quote(value)));
        }
        script
    }

    fn command_line(&self, request: &ExecRequest) -> String {
        let mut script = format!(
            "printf '{PID_MARK}%s\\n' \"$$\" >&2; {}",
            self.prelude(&request.env)
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

    /// Kills the remote command's process group over a second channel.
    async fn kill_remote(&self, session: &connect::Session, pid: Option<u32>) {
        let Some(pid) = pid else { return };
        let Ok(mut channel) = session.channel_open_session().await else {
            return;
        };
        // `kill -9 -PID` (not `--`): dash, /bin/sh on Debian, rejects `--`.
        let command = format!("kill -9 -{pid} 2>/dev/null || kill -9 {pid} 2>/dev/null");
        if channel.exec(true, command).await.is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Some(message) = channel.wait().await {
                    if matches!(message, ChannelMsg::Close) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

#[async_trait]
impl Transport for SshTransport {
    async fn exec(
        &self,
        request: &ExecRequest,
        on_line: LineSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ExecStatus, TransportError> {
        let (session, mut channel) = self.channel().await?;
        channel
            .exec(true, self.command_line(request))
            .await
            .map_err(|err| closed(format!("exec failed on {}: {err}", self.endpoint.address())))?;
        // Lines are capped as they are read. This loop never pauses for a slow
        // receiver, which drops and counts instead: an unread channel would
        // stall the pooled connection, and with it the kill on cancel.
        let mut stdout = LineSplitter::default();
        let mut stderr = LineSplitter::default();
        let mut pid: Option<u32> = None;
        let mut exit: Option<ExecStatus> = None;
        let deadline = request
            .timeout
            .map(|limit| tokio::time::Instant::now() + limit);
        let mut drain_until: Option<tokio::time::Instant> = None;
        let on_stderr = |line: &str, pid: &mut Option<u32>| {
            if pid.is_none()
                && let Some(number) = line.strip_prefix(PID_MARK)
            {
                *pid = number.trim().parse().ok();
                return;
            }
            on_line.line(Stream::Stderr, line);
        };
        loop {
            tokio::select! {
                message = channel.wait() => match message {
                    Some(ChannelMsg::Data { data }) => stdout.push(&data, &mut |line| on_line.line(Stream::Stdout, line)),
                    Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                        stderr.push(&data, &mut |line| on_stderr(line, &mut pid));
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => {
                        exit = Some(ExecStatus::Exited(i32::try_from(exit_status).unwrap_or(-1)));
                        drain_until = Some(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
                    }
                    Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                        exit = Some(ExecStatus::Signaled(signal_number(&signal_name)));
                        drain_until = Some(tokio::time::Instant::now() + DRAIN_AFTER_EXIT);
                    }
                    Some(ChannelMsg::Close) | None => break,
                    Some(_) => {}
                },
                () = sleep_until(drain_until) => break,
                () = sleep_until(deadline), if exit.is_none() => {
                    self.kill_remote(&session, pid).await;
                    let _ = channel.close().await;
                    return Ok(ExecStatus::TimedOut);
                }
                () = cancel.cancelled(), if exit.is_none() => {
                    self.kill_remote(&session, pid).await;
                    let _ = channel.close().await;
                    return Ok(ExecStatus::Cancelled);
                }
            }
        }
        stdout.finish(&mut |line| on_line.line(Stream::Stdout, line));
        stderr.finish(&mut |line| on_stderr(line, &mut pid));
        let _ = channel.close().await;
        exit.ok_or_else(|| {
            closed(format!(
                "connection to {} closed before the command finished",
                self.endpoint.address()
            ))
        })
    }

    async fn put(&self, upload: Upload<'_>, dest: &str, mode: u32) -> Result<(), TransportError> {
        if !crate::spec::is_contained_relative(dest) {
            return Err(TransportError::PathEscapes(dest.to_owned()));
        }
        let parent = std::path::Path::new(dest)
            .parent()
            .map(|parent| parent.display().to_string())
            .filter(|parent| !parent.is_empty())
            .unwrap_or_else(|| ".".to_owned());
        let temp = format!("{dest}.clusterdeck-upload");
        let script = format!(
            "{}; mkdir -p {parent} && cat > {temp} && chmod {mode:o} {temp} && mv -f {temp} {dest}",
            self.prelude(&[]),
            parent = shell_quote(&parent),
            temp = shell_quote(&temp),
            dest = shell_quote(dest),
        );
        let io = |context: String| {
            move |err: russh::Error| TransportError::Io {
                context,
                source: std::io::Error::other(err.to_string()),
            }
        };
        let (_session, mut channel) = self.channel().await?;
        channel
            .exec(true, script)
            .await
            .map_err(io(format!("upload to {} on {}", dest, self.node)))?;
        match upload {
            Upload::Bytes(bytes) => channel.data(bytes).await,
            Upload::File(path) => {
                let file =
                    tokio::fs::File::open(path)
                        .await
                        .map_err(|source| TransportError::Io {
                            context: format!("cannot read {}", path.display()),
                            source,
                        })?;
                channel.data(file).await
            }
        }
        .map_err(io(format!("upload to {} on {}", dest, self.node)))?;
        channel
            .eof()
            .await
            .map_err(io(format!("upload to {} on {}", dest, self.node)))?;
        let mut status = None;
        let mut errors = LineSplitter::default();
        let mut message = String::new();
        while let Some(reply) = channel.wait().await {
            match reply {
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::ExtendedData { data, .. } => errors.push(&data, &mut |line| {
                    if message.len() < super::LINE_LIMIT {
                        message.push_str(line);
                        message.push(' ');
                    }
                }),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        match status {
            Some(0) => Ok(()),
            other => Err(TransportError::Io {
                context: format!("upload to {} on {}", dest, self.node),
                source: std::io::Error::other(format!(
                    "remote side ended with {}: {}",
                    other.map_or_else(|| "no status".to_owned(), |code| format!("status {code}")),
                    message.trim()
                )),
            }),
        }
    }

    async fn get(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError> {
        self.read_file(path, max_bytes).await
    }
}

impl SshTransport {
    /// `head -c` of the file on the node, its size first on stderr; reading
    /// stops at the cap and the channel is closed, so a huge file is never
    /// sent whole.
    async fn read_file(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError> {
        if !path.starts_with('/') && !crate::spec::is_contained_relative(path) {
            return Err(TransportError::PathEscapes(path.to_owned()));
        }
        let script = format!(
            "{}; f={path}; [ -f \"$f\" ] || {{ echo 'no such regular file' >&2; exit {NOT_A_FILE}; }}; s=$(wc -c < \"$f\"); printf '{SIZE_MARK}%s\\n' $s >&2; exec head -c {max_bytes} \"$f\"",
            self.prelude(&[]),
            path = shell_quote(path),
        );
        let (_session, mut channel) = self.channel().await?;
        channel
            .exec(true, script)
            .await
            .map_err(|err| closed(format!("exec failed on {}: {err}", self.endpoint.address())))?;
        let limit = usize::try_from(max_bytes).unwrap_or(usize::MAX);
        let mut data = Vec::new();
        let mut errors = LineSplitter::default();
        let mut size = None;
        let mut message = String::new();
        let mut status = None;
        let read = async {
            while let Some(reply) = channel.wait().await {
                match reply {
                    ChannelMsg::Data { data: chunk } => {
                        let room = limit.saturating_sub(data.len());
                        data.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if data.len() >= limit {
                            break;
                        }
                    }
                    ChannelMsg::ExtendedData { data: chunk, .. } => {
                        errors.push(&chunk, &mut |line| match line.strip_prefix(SIZE_MARK) {
                            Some(number) => size = number.trim().parse::<u64>().ok(),
                            None if message.len() < super::LINE_LIMIT => {
                                message.push_str(line);
                                message.push(' ');
                            }
                            None => {}
                        });
                    }
                    ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
        };
        let finished = tokio::time::timeout(GET_TIMEOUT, read).await.is_ok();
        let _ = channel.close().await;
        if !finished {
            return Err(TransportError::Io {
                context: format!("cannot read {path} on {}", self.node),
                source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
            });
        }
        if status == Some(NOT_A_FILE) {
            return Err(missing_file(path, message.trim()));
        }
        if !matches!(status, None | Some(0))
            || (status.is_none() && (data.len() as u64) < max_bytes)
        {
            return Err(TransportError::Io {
                context: format!("cannot read {path} on {}", self.node),
                source: std::io::Error::other(format!(
                    "remote side ended with {}: {}",
                    status.map_or_else(|| "no status".to_owned(), |code| format!("status {code}")),
                    message.trim()
                )),
            });
        }
        Ok(FetchedFile {
            truncated: size.map_or(data.len() as u64 >= max_bytes, |size| size > max_bytes),
            size,
            data,
        })
    }
}

fn closed(message: String) -> TransportError {
    TransportError::Connect(ConnectError::new(ConnectErrorKind::Closed, message))
}

fn signal_number(name: &russh::Sig) -> i32 {
    match name {
        russh::Sig::KILL => 9,
        russh::Sig::TERM => 15,
        russh::Sig::INT => 2,
        russh::Sig::HUP => 1,
        _ => -1,
    }
}
