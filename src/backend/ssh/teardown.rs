//! What `destroy` removes from a machine the ssh backend does not own: only
//! what clusterdeck put there. Every command clusterdeck runs on a node
//! carries the node's labels (`CLUSTERDECK_CLUSTER_UID`, `CLUSTERDECK_NODE`)
//! in its environment, and what an installer daemonises inherits them, so
//! the processes to stop are found by those labels in `/proc/*/environ`
//! (owned by the login user); the files are the node's directory under
//! `remote_dir`, and nothing outside it.
//!
//! The backend opens its own connection from the node's endpoint (it has
//! all of it), rooted at the login's home and without the labels, so the
//! teardown script neither creates the node's directory again nor finds
//! itself among the labelled processes.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::backend::BackendError;
use crate::model::{BackendFailureKind, Endpoint, Stream, shell_quote};
use crate::transport::{self, ConnectErrorKind, ExecRequest, ExecStatus, TransportError};

/// How long labelled processes get between SIGTERM and SIGKILL.
const GRACE_STEPS: u32 = 15;
const GRACE_STEP: &str = "0.2";
/// The whole teardown of one node, connection aside.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// Exit status of the script when a labelled process outlived SIGKILL.
const SURVIVORS: i32 = 5;

/// What to remove from one node: its labels and its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Teardown {
    pub uid: String,
    pub node: String,
    /// The node's directory, relative to the login's home unless absolute.
    pub dir: String,
    /// The cluster's directory holding it: removed only if empty.
    pub parent: String,
}

impl Teardown {
    /// Refuses a directory that could be anything but a node's own, and a
    /// cluster without a uid (its processes could not be told apart).
    pub fn new(uid: &str, node: &str, base: &str, cluster: &str) -> Result<Self, BackendError> {
        let refuse = |why: &str| {
            Err(BackendError::invalid(format!(
                "refusing to tear down node {node:?}: {why}"
            )))
        };
        if uid.is_empty() {
            return refuse("the cluster has no uid to find its processes by");
        }
        let base = base.trim_end_matches('/');
        if matches!(base, "" | "." | "~") || base.starts_with('~') {
            return refuse(&format!(
                "remote_dir {base:?} is not a directory of clusterdeck's own"
            ));
        }
        for (what, name) in [("cluster", cluster), ("node", node)] {
            if name.is_empty() || name == "." || name.contains('/') {
                return refuse(&format!("the {what} name {name:?} is not a plain name"));
            }
        }
        let parent = format!("{base}/{cluster}");
        let dir = format!("{parent}/{node}");
        if dir.split('/').any(|part| part == "..") {
            return refuse(&format!("{dir:?} contains \"..\""));
        }
        Ok(Self {
            uid: uid.to_owned(),
            node: node.to_owned(),
            dir,
            parent,
        })
    }

    /// The POSIX sh script run on the machine (dash is enough).
    pub fn script(&self) -> String {
        format!(
            r#"uid={uid}; node={node}; dir={dir}; parent={parent}
labelled() {{
  for d in /proc/[0-9]*; do
    p=${{d#/proc/}}
    [ "$p" = "$$" ] && continue
    [ -O "$d" ] || continue
    tr '\0' '\n' 2>/dev/null < "$d/environ" | grep -qxF "CLUSTERDECK_CLUSTER_UID=$uid" || continue
    tr '\0' '\n' 2>/dev/null < "$d/environ" | grep -qxF "CLUSTERDECK_NODE=$node" || continue
    echo "$p"
  done
}}
pids=$(labelled)
count=0
for p in $pids; do kill -TERM "$p" 2>/dev/null && kill -CONT "$p" 2>/dev/null; count=$((count+1)); done
i=0
while [ -n "$pids" ] && [ "$i" -lt {steps} ]; do
  sleep {step} 2>/dev/null || sleep 1
  pids=$(labelled); i=$((i+1))
done
for p in $pids; do kill -KILL "$p" 2>/dev/null; done
[ -z "$pids" ] || sleep {step} 2>/dev/null || sleep 1
echo "stopped $count process(es)"
case "$dir" in ''|/|'~'|*..*) echo "refusing to remove $dir" >&2; exit 3;; esac
if [ -e "$dir" ] || [ -L "$dir" ]; then
  rm -rf -- "$dir" || exit 4
  echo "removed $dir"
fi
rmdir -- "$parent" 2>/dev/null
left=$(labelled)
if [ -n "$left" ]; then echo "processes outlived SIGKILL: $left" >&2; exit {survivors}; fi
exit 0
"#,
            uid = shell_quote(&self.uid),
            node = shell_quote(&self.node),
            dir = shell_quote(&self.dir),
            parent = shell_quote(&self.parent),
            steps = GRACE_STEPS,
            step = GRACE_STEP,
            survivors = SURVIVORS,
        )
    }

    /// Runs the teardown over SSH at `endpoint` (the node's own, whose root
    /// and labels are replaced). An unreachable machine is `transient`, so
    /// destroy retries it and then keeps the cluster for a later retry.
    pub async fn run(
        &self,
        endpoint: &Endpoint,
        cancel: &CancellationToken,
    ) -> Result<(), BackendError> {
        let Endpoint::Ssh {
            host, port, user, ..
        } = endpoint
        else {
            return Err(BackendError::invalid(format!(
                "node {} has a {} endpoint, not ssh",
                self.node,
                endpoint.kind()
            )));
        };
        let machine = format!("{user}@{host}:{port}");
        let mut bare = endpoint.clone();
        if let Endpoint::Ssh { root, env, .. } = &mut bare {
            ".".clone_into(root);
            *env = BTreeMap::new();
        }
        let transport = transport::connect(&self.node, &bare, Vec::new())
            .map_err(|err| transport_failure(&self.node, &machine, &err))?;
        let output = Mutex::new(Vec::<String>::new());
        let status = transport
            .exec(
                &ExecRequest {
                    command: self.script(),
                    timeout: Some(SCRIPT_TIMEOUT),
                    ..ExecRequest::default()
                },
                &|stream: Stream, line: &str| {
                    if stream == Stream::Stderr
                        && let Ok(mut lines) = output.lock()
                    {
                        lines.push(line.to_owned());
                    }
                },
                cancel,
            )
            .await
            .map_err(|err| transport_failure(&self.node, &machine, &err))?;
        let stderr = output.into_inner().unwrap_or_default().join("; ");
        let detail = if stderr.is_empty() {
            String::new()
        } else {
            format!(": {stderr}")
        };
        match status {
            ExecStatus::Exited(0) => Ok(()),
            ExecStatus::Exited(SURVIVORS) => Err(BackendError::in_use(format!(
                "tearing down node {} on {machine}{detail}",
                self.node
            ))),
            ExecStatus::Cancelled => Err(BackendError::other(format!(
                "tearing down node {} on {machine} was cancelled",
                self.node
            ))),
            ExecStatus::TimedOut => Err(BackendError::new(
                BackendFailureKind::Transient,
                format!(
                    "tearing down node {} on {machine} took over {}s",
                    self.node,
                    SCRIPT_TIMEOUT.as_secs()
                ),
            )),
            ExecStatus::Exited(code) => Err(BackendError::other(format!(
                "tearing down node {} on {machine} exited with {code}{detail}",
                self.node
            ))),
            ExecStatus::Signaled(signal) => Err(BackendError::other(format!(
                "tearing down node {} on {machine} was killed by signal {signal}{detail}",
                self.node
            ))),
        }
    }
}

/// A machine that cannot be reached is worth retrying; refused credentials
/// or host keys are not.
fn transport_failure(node: &str, machine: &str, error: &TransportError) -> BackendError {
    let kind = match error.connect_kind() {
        Some(
            ConnectErrorKind::Auth
            | ConnectErrorKind::HostKeyMismatch
            | ConnectErrorKind::HostKeyUnknown,
        ) => BackendFailureKind::Auth,
        Some(ConnectErrorKind::Unsupported) => BackendFailureKind::Unsupported,
        Some(ConnectErrorKind::Other) => BackendFailureKind::Other,
        _ => BackendFailureKind::Transient,
    };
    let what = if kind == BackendFailureKind::Transient {
        "is unreachable"
    } else {
        "cannot be reached"
    };
    BackendError::new(
        kind,
        format!("node {node} ({machine}) {what}, so nothing was removed from it: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_nodes_own_and_anything_wider_is_refused() {
        let teardown = Teardown::new("c-1", "web-1", ".clusterdeck/", "c").expect("plain");
        assert_eq!(teardown.dir, ".clusterdeck/c/web-1");
        assert_eq!(teardown.parent, ".clusterdeck/c");
        let absolute = Teardown::new("c-1", "web-1", "/srv/cd", "c").expect("absolute");
        assert_eq!(absolute.dir, "/srv/cd/c/web-1");
        for (base, cluster, node) in [
            ("", "c", "web-1"),
            ("/", "c", "web-1"),
            ("~", "c", "web-1"),
            ("~/x", "c", "web-1"),
            (".", "c", "web-1"),
            ("a/../..", "c", "web-1"),
            (".clusterdeck", "..", "web-1"),
            (".clusterdeck", "c", ".."),
            (".clusterdeck", "c", ""),
            (".clusterdeck", "", "web-1"),
            (".clusterdeck", "c", "a/b"),
        ] {
            let error = Teardown::new("c-1", node, base, cluster)
                .expect_err(&format!("{base:?} {cluster:?} {node:?} must be refused"));
            assert_eq!(error.kind(), BackendFailureKind::Invalid, "{error}");
        }
        let error = Teardown::new("", "web-1", ".clusterdeck", "c").expect_err("no uid");
        assert!(error.to_string().contains("no uid"), "{error}");
    }

    #[tokio::test]
    async fn the_script_stops_only_labelled_processes_and_removes_only_the_node_dir() {
        use std::process::{Command, Stdio};
        let home = tempfile::tempdir().expect("home");
        let uid = format!("t-{}", std::process::id());
        let teardown = Teardown::new(&uid, "web-1", ".cd", "t").expect("plain");
        let dir = home.path().join(".cd/t/web-1");
        std::fs::create_dir_all(dir.join("sub")).expect("node dir");
        std::fs::write(dir.join("sub/file"), "x").expect("file");
        std::fs::create_dir_all(home.path().join(".cd/t/web-2")).expect("sibling");
        std::fs::write(home.path().join("keep"), "x").expect("unrelated");
        let spawn = |labels: &[(&str, &str)]| {
            let mut command = Command::new("sleep");
            command
                .arg("60")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            for (key, value) in labels {
                command.env(key, value);
            }
            command.spawn().expect("sleep")
        };
        let mut ours = spawn(&[
            ("CLUSTERDECK_CLUSTER_UID", &uid),
            ("CLUSTERDECK_NODE", "web-1"),
        ]);
        let mut other_node = spawn(&[
            ("CLUSTERDECK_CLUSTER_UID", &uid),
            ("CLUSTERDECK_NODE", "web-2"),
        ]);
        let mut unlabelled = spawn(&[]);
        let status = Command::new("sh")
            .arg("-c")
            .arg(teardown.script())
            .current_dir(home.path())
            .status()
            .expect("sh");
        assert!(status.success(), "{status:?}");
        let ended = ours.try_wait().expect("wait");
        assert!(ended.is_some(), "the labelled process was stopped");
        assert!(other_node.try_wait().expect("wait").is_none());
        assert!(unlabelled.try_wait().expect("wait").is_none());
        assert!(!dir.exists());
        assert!(home.path().join(".cd/t/web-2").exists());
        assert!(home.path().join("keep").exists());
        for child in [&mut other_node, &mut unlabelled] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
