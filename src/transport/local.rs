//! Runs node commands as local processes, each in its own process group.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

use super::lines::{LineSplitter, READ_CHUNK};
use super::{
    ExecRequest, ExecStatus, FetchedFile, LineSink, Transport, TransportError, Upload,
    missing_file, sleep_until,
};
use crate::model::Stream;

/// Variables passed through from clusterdeck's own environment; everything
/// else is cleared so a node sees only its own environment.
const PASSTHROUGH_ENV: &[&str] = &["PATH", "LANG", "LC_ALL", "TZ", "USER", "LOGNAME", "SHELL"];

/// How long output is still read after the command exits: a daemon it left in
/// the background may hold the pipes open forever.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct LocalTransport {
    root: PathBuf,
    /// The node's environment, including the labels its processes are found by.
    env: Vec<(String, String)>,
}

impl LocalTransport {
    pub fn new(root: PathBuf, env: Vec<(String, String)>) -> Self {
        Self { root, env }
    }

    fn inside(&self, relative: &str) -> Result<PathBuf, TransportError> {
        if crate::spec::is_contained_relative(relative) {
            Ok(self.root.join(relative))
        } else {
            Err(TransportError::PathEscapes(relative.to_owned()))
        }
    }
}

#[async_trait]
impl Transport for LocalTransport {
    async fn exec(
        &self,
        request: &ExecRequest,
        on_line: LineSink<'_>,
        cancel: &CancellationToken,
    ) -> Result<ExecStatus, TransportError> {
        if !self.root.is_dir() {
            return Err(TransportError::Unreachable(format!(
                "node directory {} is gone",
                self.root.display()
            )));
        }
        let workdir = match &request.workdir {
            Some(relative) => self.inside(relative)?,
            None => self.root.clone(),
        };
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&request.command)
            .current_dir(&workdir)
            .env_clear()
            .envs(
                PASSTHROUGH_ENV
                    .iter()
                    .filter_map(|name| std::env::var_os(name).map(|value| (*name, value))),
            )
            .env("HOME", &self.root)
            .env("TMPDIR", self.root.join("tmp"))
            .envs(self.env.iter().map(|(key, value)| (key, value)))
            .envs(request.env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|source| TransportError::Io {
            context: format!("cannot start /bin/sh in {}", workdir.display()),
            source,
        })?;
        let group = child.id().and_then(|pid| i32::try_from(pid).ok());
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let pump = async {
            tokio::join!(
                pump_lines(stdout, Stream::Stdout, on_line),
                pump_lines(stderr, Stream::Stderr, on_line)
            )
        };
        tokio::pin!(pump);
        let deadline = request
            .timeout
            .map(|limit| tokio::time::Instant::now() + limit);
        let mut pumped = false;
        let status = loop {
            tokio::select! {
                _ = &mut pump, if !pumped => pumped = true,
                status = child.wait() => {
                    let status = status.map_err(|source| TransportError::Io {
                        context: "waiting for a node command".to_owned(),
                        source,
                    })?;
                    break exit_status(status);
                }
                () = sleep_until(deadline) => {
                    kill_group(group);
                    let _ = child.wait().await;
                    break ExecStatus::TimedOut;
                }
                () = cancel.cancelled() => {
                    kill_group(group);
                    let _ = child.wait().await;
                    break ExecStatus::Cancelled;
                }
            }
        };
        if !pumped {
            let _ = tokio::time::timeout(DRAIN_AFTER_EXIT, &mut pump).await;
        }
        Ok(status)
    }

    async fn put(&self, upload: Upload<'_>, dest: &str, mode: u32) -> Result<(), TransportError> {
        let target = self.inside(dest)?;
        let io = |context: String| move |source| TransportError::Io { context, source };
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(format!("cannot create {}", parent.display())))?;
        }
        match upload {
            Upload::File(source) => {
                tokio::fs::copy(source, &target).await.map_err(io(format!(
                    "cannot copy {} to {}",
                    source.display(),
                    target.display()
                )))?;
            }
            Upload::Bytes(bytes) => {
                tokio::fs::write(&target, bytes)
                    .await
                    .map_err(io(format!("cannot write {}", target.display())))?;
            }
        }
        set_mode(&target, mode).map_err(io(format!("cannot chmod {}", target.display())))
    }

    /// Only inside the node's directory, after following symlinks: a link
    /// to a file outside it (a private key, say) is refused, not read.
    async fn get(&self, path: &str, max_bytes: u64) -> Result<FetchedFile, TransportError> {
        let target = self.inside(path)?;
        let root = tokio::fs::canonicalize(&self.root).await.map_err(|_| {
            TransportError::Unreachable(format!("node directory {} is gone", self.root.display()))
        })?;
        let real = tokio::fs::canonicalize(&target)
            .await
            .map_err(|err| missing_file(path, err))?;
        if !real.starts_with(&root) {
            return Err(TransportError::PathEscapes(path.to_owned()));
        }
        let file = tokio::fs::File::open(&real)
            .await
            .map_err(|err| missing_file(path, err))?;
        let metadata = file
            .metadata()
            .await
            .map_err(|err| missing_file(path, err))?;
        if !metadata.is_file() {
            return Err(missing_file(path, "not a regular file"));
        }
        let mut data = Vec::new();
        file.take(max_bytes)
            .read_to_end(&mut data)
            .await
            .map_err(|source| TransportError::Io {
                context: format!("cannot read {path}"),
                source,
            })?;
        Ok(FetchedFile {
            truncated: metadata.len() > max_bytes,
            size: Some(metadata.len()),
            data,
        })
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn kill_group(group: Option<i32>) {
    if let Some(group) = group {
        // The group may already be gone; there is nothing more to do then.
        let _ = killpg(Pid::from_raw(group), Signal::SIGKILL);
    }
}

fn exit_status(status: std::process::ExitStatus) -> ExecStatus {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExecStatus::Exited(code),
        (None, Some(signal)) => ExecStatus::Signaled(signal),
        (None, None) => ExecStatus::Exited(-1),
    }
}

/// Reads one pipe in chunks, waiting for the receiver between reads: when it
/// falls behind, the pipe fills and the node's writes block.
async fn pump_lines<R: AsyncRead + Unpin>(
    reader: Option<R>,
    stream: Stream,
    on_line: LineSink<'_>,
) {
    let Some(mut reader) = reader else { return };
    let mut chunk = vec![0; READ_CHUNK];
    let mut lines = LineSplitter::default();
    let mut emit = |line: &str| on_line.line(stream, line);
    loop {
        on_line.ready().await;
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(read) => lines.push(&chunk[..read], &mut emit),
        }
    }
    lines.finish(&mut emit);
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn transport(dir: &Path) -> LocalTransport {
        LocalTransport::new(
            dir.to_path_buf(),
            vec![("CLUSTERDECK_NODE".into(), "n-1".into())],
        )
    }

    async fn run(
        transport: &LocalTransport,
        command: &str,
        timeout: Option<Duration>,
    ) -> (ExecStatus, Vec<(Stream, String)>) {
        let lines = Mutex::new(Vec::new());
        let sink = |stream: Stream, line: &str| {
            lines.lock().expect("lock").push((stream, line.to_owned()));
        };
        let request = ExecRequest {
            command: command.into(),
            timeout,
            ..ExecRequest::default()
        };
        let status = transport
            .exec(&request, &sink, &CancellationToken::new())
            .await
            .expect("exec");
        (status, lines.into_inner().expect("lock"))
    }

    #[tokio::test]
    async fn streams_both_outputs_with_the_node_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        let (status, lines) = run(
            &local,
            "echo out $CLUSTERDECK_NODE; echo err >&2; exit 3",
            None,
        )
        .await;
        assert_eq!(status, ExecStatus::Exited(3));
        assert!(
            lines.contains(&(Stream::Stdout, "out n-1".into())),
            "{lines:?}"
        );
        assert!(lines.contains(&(Stream::Stderr, "err".into())), "{lines:?}");
    }

    #[tokio::test]
    async fn a_background_daemon_holding_the_pipe_does_not_block() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        let started = std::time::Instant::now();
        let (status, lines) = run(&local, "sleep 30 & echo $! > pid; echo started", None).await;
        assert_eq!(status, ExecStatus::Exited(0));
        assert_eq!(lines, vec![(Stream::Stdout, "started".into())]);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(dir.path().join("pid"))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        let marker = dir.path().join("survived");
        let command = format!("(sleep 1; touch {}) & sleep 20", marker.display());
        let (status, _) = run(&local, &command, Some(Duration::from_millis(200))).await;
        assert_eq!(status, ExecStatus::TimedOut);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        assert!(
            !marker.exists(),
            "a child of the timed-out command kept running"
        );
    }

    /// Takes lines until the first wait for room, then never has room again.
    #[derive(Default)]
    struct StalledReceiver {
        lines: std::sync::atomic::AtomicUsize,
        waits: std::sync::atomic::AtomicUsize,
    }

    impl super::super::OnLine for StalledReceiver {
        fn line(&self, _: Stream, _: &str) {
            self.lines.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }

        fn ready(&self) -> futures::future::BoxFuture<'_, ()> {
            let first = self.waits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2;
            Box::pin(async move {
                if !first {
                    std::future::pending::<()>().await;
                }
            })
        }
    }

    #[tokio::test]
    async fn a_stalled_receiver_stops_the_reading_and_the_timeout_still_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        let receiver = StalledReceiver::default();
        let request = ExecRequest {
            command: "yes".into(),
            timeout: Some(Duration::from_millis(300)),
            ..ExecRequest::default()
        };
        let status = local
            .exec(&request, &receiver, &CancellationToken::new())
            .await
            .expect("exec");
        assert_eq!(status, ExecStatus::TimedOut);
        let lines = receiver.lines.load(std::sync::atomic::Ordering::SeqCst);
        assert!(
            lines <= READ_CHUNK / 2,
            "read on while stalled: {lines} lines"
        );
    }

    #[tokio::test]
    async fn a_huge_line_arrives_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        let (status, lines) = run(
            &local,
            "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo after",
            None,
        )
        .await;
        assert_eq!(status, ExecStatus::Exited(0));
        let cut = 3_000_000 - crate::transport::LINE_LIMIT;
        assert_eq!(
            lines,
            vec![
                (
                    Stream::Stdout,
                    format!(
                        "{} …[{cut} more bytes cut]",
                        "a".repeat(crate::transport::LINE_LIMIT)
                    )
                ),
                (Stream::Stdout, "after".into()),
            ]
        );
    }

    #[tokio::test]
    async fn get_reads_capped_and_refuses_what_leads_outside_the_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let node = dir.path().join("node");
        std::fs::create_dir_all(node.join("logs")).expect("dirs");
        std::fs::write(node.join("logs/a.log"), "0123456789").expect("write");
        std::fs::write(dir.path().join("id_ed25519"), "private").expect("write");
        std::os::unix::fs::symlink(dir.path().join("id_ed25519"), node.join("logs/key.log"))
            .expect("symlink");
        let local = transport(&node);
        let whole = local.get("logs/a.log", 100).await.expect("get");
        assert_eq!(
            (whole.data.as_slice(), whole.truncated),
            (&b"0123456789"[..], false)
        );
        let cut = local.get("./logs/a.log", 4).await.expect("get");
        assert_eq!(cut.data, b"0123");
        assert!(cut.truncated);
        assert_eq!(cut.size, Some(10));
        for escaping in ["logs/key.log", "../id_ed25519", "/etc/hostname"] {
            assert!(
                matches!(
                    local.get(escaping, 100).await,
                    Err(TransportError::PathEscapes(_))
                ),
                "{escaping}"
            );
        }
        let missing = local.get("logs/none.log", 100).await.expect_err("missing");
        assert!(
            missing.to_string().starts_with("cannot read logs/none.log"),
            "{missing}"
        );
        assert!(
            local.get("logs", 100).await.is_err(),
            "a directory is no file"
        );
    }

    #[tokio::test]
    async fn put_refuses_paths_outside_the_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        let local = transport(dir.path());
        local
            .put(Upload::Bytes(b"hi"), "a/b.txt", 0o640)
            .await
            .expect("put");
        assert_eq!(
            std::fs::read(dir.path().join("a/b.txt")).expect("read"),
            b"hi"
        );
        assert!(matches!(
            local.put(Upload::Bytes(b"x"), "../x", 0o600).await,
            Err(TransportError::PathEscapes(_))
        ));
    }
}
