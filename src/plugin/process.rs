//! The plugin's process and the task that owns its pipes. It runs on a
//! thread of its own with its own small runtime, so the plugin can be
//! started from synchronous code (the registry) and called from any runtime.
//! Every line the plugin writes is routed to the call it belongs to; anything
//! wrong (garbage, an id no call waits for, EOF) kills the plugin and fails
//! every call in flight with what was wrong.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};
use tokio::sync::{mpsc, oneshot};

use super::rpc::{self, Incoming, RpcError};

/// What reaches a caller while its call runs.
#[derive(Debug)]
pub enum CallEvent {
    Notification {
        method: String,
        params: Value,
    },
    /// The plugin waits for the answer (sent back with [`Command::Respond`]).
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    /// A line of the plugin's stderr.
    Log(String),
}

/// Which way a line went, for a [`Tap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    ToPlugin,
    FromPlugin,
}

/// Sees every protocol line in both directions, as written (for `plugin
/// check`, which judges each against the schema).
pub type Tap = Arc<dyn Fn(Direction, &str) + Send + Sync>;

/// The plugin's answer, or (outer `Err`) what went wrong with the plugin.
pub type Answer = Result<Result<Value, RpcError>, String>;

pub(super) enum Command {
    Call {
        id: u64,
        method: String,
        params: Value,
        events: mpsc::UnboundedSender<CallEvent>,
        done: oneshot::Sender<Answer>,
    },
    Notify {
        method: String,
        params: Value,
    },
    Respond {
        id: Value,
        result: Result<Value, RpcError>,
    },
    /// The caller stopped waiting; a late answer is still expected.
    Forget {
        id: u64,
    },
    Kill {
        reason: String,
    },
}

struct Pending {
    events: mpsc::UnboundedSender<CallEvent>,
    done: oneshot::Sender<Answer>,
}

/// How many stderr lines are kept to explain a crash.
const STDERR_TAIL: usize = 5;

/// Spawns the plugin and serves its pipes on a thread of its own until every
/// sender of `commands` is gone or the plugin breaks; `death` receives why
/// it ended. `started` is told whether the spawn worked. The thread ends
/// once the plugin is killed and reaped.
pub(super) fn spawn_host(
    path: &Path,
    commands: mpsc::UnboundedReceiver<Command>,
    death: Arc<Mutex<Option<String>>>,
    started: std::sync::mpsc::Sender<Result<(), String>>,
    tap: Option<Tap>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("clusterdeck-plugin".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(err) => {
                    let _ = started.send(Err(format!("cannot start its runtime: {err}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let child = tokio::process::Command::new(&path)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true)
                    .spawn();
                match child {
                    Ok(child) => {
                        let _ = started.send(Ok(()));
                        serve(child, commands, &death, tap).await;
                    }
                    Err(err) => {
                        let _ = started.send(Err(err.to_string()));
                    }
                }
            });
        })
        .map_err(|err| format!("cannot start a thread for it: {err}"))
}

/// Serves the plugin until it breaks or the host lets go; `death` gets why
/// it ended before any caller hears of it, so a caller that sees the error
/// also sees the plugin as gone.
async fn serve(
    mut child: Child,
    mut commands: mpsc::UnboundedReceiver<Command>,
    death: &Mutex<Option<String>>,
    tap: Option<Tap>,
) {
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        if let Ok(mut slot) = death.lock() {
            *slot = Some("its pipes could not be opened".to_owned());
        }
        return;
    };
    // Writing has a task of its own: a plugin that stops reading its stdin
    // must not stop the host reading its answers or killing it.
    let (lines_tx, mut write_failed) = writer(stdin, tap.clone());
    let mut stdout = BufReader::new(stdout).lines();
    let mut stderr = BufReader::new(stderr).lines();
    let mut stderr_open = true;
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut pending: BTreeMap<u64, Pending> = BTreeMap::new();
    // Calls whose caller stopped waiting: their late answers are dropped.
    let mut forgotten: BTreeSet<u64> = BTreeSet::new();
    let reason = loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => break "clusterdeck no longer needs it".to_owned(),
                Some(Command::Kill { reason }) => break reason,
                Some(Command::Forget { id }) => {
                    if pending.remove(&id).is_some() {
                        forgotten.insert(id);
                    }
                }
                Some(Command::Call { id, method, params, events, done }) => {
                    pending.insert(id, Pending { events, done });
                    let _ = lines_tx.send(rpc::request_line(id, &method, &params));
                }
                Some(Command::Notify { method, params }) => {
                    let _ = lines_tx.send(rpc::notification_line(&method, &params));
                }
                Some(Command::Respond { id, result }) => {
                    let _ = lines_tx.send(rpc::response_line(&id, &result));
                }
            },
            line = stdout.next_line() => match line {
                Ok(Some(line)) if line.trim().is_empty() => {}
                Ok(Some(line)) => match tapped(&tap, &line) {
                    Err(what) => break format!("wrote a line that is not a JSON-RPC message: {what}"),
                    Ok(Incoming::Response { id, result }) => match pending.remove(&id) {
                        Some(call) => {
                            let _ = call.done.send(Ok(result));
                        }
                        None if forgotten.remove(&id) => {}
                        None => break format!("answered id {id}, which no call is waiting for"),
                    },
                    Ok(Incoming::Notification { method, params }) => {
                        if let Some(call) = owner(&pending, &params) {
                            let _ = call.events.send(CallEvent::Notification { method, params });
                        }
                    }
                    Ok(Incoming::Request { id, method, params }) => {
                        let refused = match owner(&pending, &params) {
                            Some(call) => call
                                .events
                                .send(CallEvent::Request { id: id.clone(), method, params })
                                .is_err(),
                            None => true,
                        };
                        if refused {
                            let answer = Err(RpcError {
                                code: rpc::INTERNAL_ERROR,
                                message: "no call of the host is in flight to take this request".to_owned(),
                                data: None,
                            });
                            let _ = lines_tx.send(rpc::response_line(&id, &answer));
                        }
                    }
                },
                Ok(None) => break exited(&mut child).await,
                Err(err) => break format!("its output is unreadable: {err}"),
            },
            Some(err) = write_failed.recv() => break format!("cannot write to it: {err}"),
            line = stderr.next_line(), if stderr_open => match line {
                Ok(Some(line)) => {
                    keep(&mut tail, line.clone());
                    if let Some(call) = pending.values().next() {
                        let _ = call.events.send(CallEvent::Log(line));
                    }
                }
                _ => stderr_open = false,
            },
        }
    };
    let _ = child.start_kill();
    let _ = tokio::time::timeout(Duration::from_secs(2), child.wait()).await;
    // What it wrote to stderr before it ended explains the end best; the
    // pipe may still hold it when stdout's end was seen first.
    if stderr_open {
        let drain = async {
            while let Ok(Some(line)) = stderr.next_line().await {
                keep(&mut tail, line);
            }
        };
        let _ = tokio::time::timeout(Duration::from_millis(500), drain).await;
    }
    let reason = match tail.back() {
        Some(last) => format!("{reason} (last stderr line: {})", rpc::excerpt(last)),
        None => reason,
    };
    if let Ok(mut slot) = death.lock() {
        *slot = Some(reason.clone());
    }
    commands.close();
    for (_, call) in std::mem::take(&mut pending) {
        let _ = call.done.send(Err(reason.clone()));
    }
    while let Ok(command) = commands.try_recv() {
        if let Command::Call { done, .. } = command {
            let _ = done.send(Err(reason.clone()));
        }
    }
}

/// Shows a line read from the plugin to the tap, then parses it.
fn tapped(tap: &Option<Tap>, line: &str) -> Result<Incoming, String> {
    if let Some(tap) = tap {
        tap(Direction::FromPlugin, line);
    }
    rpc::parse_line(line)
}

fn keep(tail: &mut VecDeque<String>, line: String) {
    if tail.len() == STDERR_TAIL {
        tail.pop_front();
    }
    tail.push_back(line);
}

/// The call a message of the plugin belongs to: the one its
/// `params.request` names, else the oldest in flight.
fn owner<'a>(pending: &'a BTreeMap<u64, Pending>, params: &Value) -> Option<&'a Pending> {
    match params.get("request").and_then(Value::as_u64) {
        Some(id) => pending.get(&id),
        None => pending.values().next(),
    }
}

/// Why the plugin's output ended: its exit status if it exits soon.
async fn exited(child: &mut Child) -> String {
    match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
        Ok(Ok(status)) => format!("exited ({status}) without answering"),
        _ => "closed its output without answering".to_owned(),
    }
}

/// Writes lines to the plugin's stdin in order; the first failure is
/// reported once and ends the task.
fn writer(
    mut stdin: ChildStdin,
    tap: Option<Tap>,
) -> (
    mpsc::UnboundedSender<String>,
    mpsc::UnboundedReceiver<std::io::Error>,
) {
    let (lines_tx, mut lines) = mpsc::unbounded_channel::<String>();
    let (failed_tx, failed) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(line) = lines.recv().await {
            if let Some(tap) = &tap {
                tap(Direction::ToPlugin, &line);
            }
            if let Err(err) = write_line(&mut stdin, &line).await {
                let _ = failed_tx.send(err);
                return;
            }
        }
    });
    (lines_tx, failed)
}

async fn write_line(stdin: &mut ChildStdin, line: &str) -> std::io::Result<()> {
    stdin.write_all(line.as_bytes()).await?;
    stdin.write_all(b"\n").await?;
    stdin.flush().await
}
