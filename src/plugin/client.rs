//! The host's handle on a running plugin: calls with ids matched to their
//! answers, the notifications and requests the plugin sends while a call
//! runs, a silence timeout and cancellation.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::PluginError;
use super::process::{CallEvent, Command, Tap, spawn_host};
use super::rpc::RpcError;

/// Cancels a call: params `{"id": <the call's id>}`.
pub const CANCEL: &str = "$/cancel";

/// What the caller does with what the plugin sends during its call.
pub trait CallHandler: Send + Sync {
    /// `progress`, `log`, journal notifications.
    fn notification(&self, method: &str, params: &Value);
    /// A request of the plugin's (journal entries): the answer it waits for.
    fn request(&self, method: &str, params: &Value) -> Result<Value, RpcError>;
    /// A request whose answer takes work to await (`host.run`); `None`
    /// leaves it to [`CallHandler::request`]. Such requests run
    /// concurrently with each other and with the call, and the call's
    /// silence timeout is held while any of them runs: the plugin is waiting
    /// for the host, not silent.
    fn slow_request<'a>(
        &'a self,
        _method: &str,
        _params: &Value,
    ) -> Option<BoxFuture<'a, Result<Value, RpcError>>> {
        None
    }
    /// A line of the plugin's stderr.
    fn log(&self, line: &str);
}

/// A handler for calls outside any cluster: notifications are dropped and
/// requests refused.
pub struct NoContext;

impl CallHandler for NoContext {
    fn notification(&self, _method: &str, _params: &Value) {}

    fn request(&self, method: &str, _params: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: super::rpc::INVALID_PARAMS,
            message: format!("{method} is not possible here: this call concerns no cluster"),
            data: None,
        })
    }

    fn log(&self, line: &str) {
        tracing::info!(target: "clusterdeck::plugin", "{line}");
    }
}

/// A running plugin. Dropping the last handle stops it.
pub struct PluginClient {
    name: String,
    commands: mpsc::UnboundedSender<Command>,
    next_id: AtomicU64,
    death: Arc<Mutex<Option<String>>>,
    silence: Duration,
    /// The thread serving the plugin; it ends once the plugin is reaped.
    host: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl PluginClient {
    /// Starts the executable at `path`; `silence` is how long a call may go
    /// without an answer or a notification.
    pub fn start(name: &str, path: &Path, silence: Duration) -> Result<Self, PluginError> {
        Self::start_tapped(name, path, silence, None)
    }

    /// Like [`PluginClient::start`], with every line in both directions
    /// shown to `tap`.
    pub fn start_tapped(
        name: &str,
        path: &Path,
        silence: Duration,
        tap: Option<Tap>,
    ) -> Result<Self, PluginError> {
        let (commands, receiver) = mpsc::unbounded_channel();
        let death = Arc::new(Mutex::new(None));
        let (started, spawned) = std::sync::mpsc::channel();
        let start_error = |reason: String| PluginError::Start {
            plugin: name.to_owned(),
            path: path.display().to_string(),
            reason,
        };
        let host =
            spawn_host(path, receiver, Arc::clone(&death), started, tap).map_err(start_error)?;
        spawned
            .recv()
            .map_err(|_| start_error("its host thread ended".to_owned()))?
            .map_err(start_error)?;
        Ok(Self {
            name: name.to_owned(),
            commands,
            next_id: AtomicU64::new(1),
            death,
            silence,
            host: Mutex::new(Some(host)),
        })
    }

    /// Kills the plugin and blocks until it is reaped, for callers that
    /// must not leave it running after they return (a listing that exits
    /// right away would otherwise race the host thread's kill).
    pub fn stop(&self, reason: &str) {
        let _ = self.commands.send(Command::Kill {
            reason: reason.to_owned(),
        });
        let host = self.host.lock().ok().and_then(|mut host| host.take());
        if let Some(host) = host {
            let _ = host.join();
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn silence(&self) -> Duration {
        self.silence
    }

    /// False once the plugin died or was killed.
    pub fn is_running(&self) -> bool {
        !self.commands.is_closed()
            && self
                .death
                .lock()
                .map(|death| death.is_none())
                .unwrap_or(false)
    }

    /// Calls `method`; returns its result or a typed error naming the
    /// plugin, the method and what was wrong. A broken or silent plugin is
    /// killed.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        handler: &dyn CallHandler,
        cancel: Option<&CancellationToken>,
    ) -> Result<Value, PluginError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (done_tx, mut done) = oneshot::channel();
        let broken = |detail: String| PluginError::Broken {
            plugin: self.name.clone(),
            method: method.to_owned(),
            detail,
        };
        let command = Command::Call {
            id,
            method: method.to_owned(),
            params,
            events: events_tx,
            done: done_tx,
        };
        if self.commands.send(command).is_err() {
            return Err(broken(self.why_gone()));
        }
        // A caller that stops waiting (its future dropped) tells the host,
        // so the late answer is not taken for a wrong id.
        let mut forget = ForgetOnDrop {
            commands: &self.commands,
            id,
            armed: true,
        };
        let mut cancel_sent = false;
        // The plugin's slow requests being answered, with their ids.
        let mut running: FuturesUnordered<Running<'_>> = FuturesUnordered::new();
        loop {
            tokio::select! {
                answer = &mut done => {
                    forget.armed = false;
                    // Everything the plugin sent before its answer is handled
                    // first; slow requests it no longer waits for are dropped.
                    while let Ok(event) = events.try_recv() {
                        self.handle(event, handler, &mut running);
                    }
                    return match answer {
                        Ok(Ok(Ok(result))) => Ok(result),
                        Ok(Ok(Err(error))) => Err(PluginError::Rpc {
                            plugin: self.name.clone(),
                            method: method.to_owned(),
                            code: error.code,
                            message: error.message,
                            data: error.data,
                        }),
                        Ok(Err(detail)) => Err(broken(detail)),
                        Err(_) => Err(broken(self.why_gone())),
                    };
                }
                Some(event) = events.recv() => self.handle(event, handler, &mut running),
                Some((id, result)) = running.next(), if !running.is_empty() => {
                    let _ = self.commands.send(Command::Respond { id, result });
                }
                () = wait_cancel(cancel), if !cancel_sent => {
                    cancel_sent = true;
                    let _ = self.commands.send(Command::Notify {
                        method: CANCEL.to_owned(),
                        params: json!({"id": id}),
                    });
                }
                () = tokio::time::sleep(self.silence), if running.is_empty() => {
                    forget.armed = false;
                    let seconds = self.silence.as_secs();
                    let reason = format!("killed after {method} was silent for {seconds} s");
                    // Gone from now on, even before the host thread kills it.
                    if let Ok(mut death) = self.death.lock() {
                        death.get_or_insert_with(|| reason.clone());
                    }
                    let _ = self.commands.send(Command::Kill { reason });
                    return Err(PluginError::Timeout {
                        plugin: self.name.clone(),
                        method: method.to_owned(),
                        seconds,
                    });
                }
            }
        }
    }

    fn handle<'h>(
        &self,
        event: CallEvent,
        handler: &'h dyn CallHandler,
        running: &mut FuturesUnordered<Running<'h>>,
    ) {
        match event {
            CallEvent::Notification { method, params } => handler.notification(&method, &params),
            CallEvent::Request { id, method, params } => {
                if let Some(work) = handler.slow_request(&method, &params) {
                    running.push(Box::pin(async move { (id, work.await) }));
                    return;
                }
                let result = handler.request(&method, &params);
                let _ = self.commands.send(Command::Respond { id, result });
            }
            CallEvent::Log(line) => handler.log(&line),
        }
    }

    fn why_gone(&self) -> String {
        self.death
            .lock()
            .ok()
            .and_then(|death| death.clone())
            .map(|reason| format!("it is no longer running: {reason}"))
            .unwrap_or_else(|| "it is no longer running".to_owned())
    }
}

/// A slow request of the plugin's being answered: its id, then the answer.
type Running<'h> = BoxFuture<'h, (Value, Result<Value, RpcError>)>;

struct ForgetOnDrop<'a> {
    commands: &'a mpsc::UnboundedSender<Command>,
    id: u64,
    armed: bool,
}

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = self.commands.send(Command::Forget { id: self.id });
        }
    }
}

async fn wait_cancel(cancel: Option<&CancellationToken>) {
    match cancel {
        Some(cancel) => cancel.cancelled().await,
        None => std::future::pending().await,
    }
}
