//! The terminal dashboard. One event loop owns all state: it selects over
//! terminal input, engine events and a tick (only while something moves),
//! folds each message through `update`, and draws once per batch.

pub mod cmdline;
pub mod distribution;
pub mod keys;
pub mod layout;
pub mod msg;
pub mod outcome;
pub mod panels;
pub mod runner;
pub mod state;
pub mod theme;
pub mod update;
pub mod view;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use futures::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

use crate::state::{StateStore, ensure_private_dir};
use msg::{Command, Msg, Operation};
pub use outcome::Ending;
use runner::Runner;
use state::App;
use theme::Theme;

/// What the dashboard opens on.
#[derive(Debug, Clone)]
pub enum Start {
    /// Bring a cluster up from a spec and watch it.
    Up(PathBuf),
    /// Show an existing cluster.
    Attach(String),
    /// Just the list of known clusters.
    Home,
}

/// How often an attached cluster's node states are refreshed.
const REFRESH_EVERY: Duration = Duration::from_secs(2);
/// While the backend reports node states live, a refresh only every this
/// many periods: for what changes in the record (status, another terminal's
/// operations), not for node states.
const WATCHED_REFRESH_PERIODS: u32 = 15;
/// How often running clocks redraw while something is in progress.
const TICK_EVERY: Duration = Duration::from_millis(250);
/// How long quitting waits for a cancelled operation to record its state.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(15);
/// Background messages folded before a redraw, at most.
const BATCH: usize = 1024;
/// Background messages waiting for the loop, at most.
const MESSAGE_QUEUE: usize = 1024;

/// Runs the dashboard until it is closed; the ending says what the session
/// amounts to (the caller prints its line and exits with its status once
/// the terminal is restored).
pub async fn run(start: Start, store: StateStore, parallel: usize) -> Result<Ending, String> {
    init_logging(&store);
    let mut terminal =
        ratatui::try_init().map_err(|err| format!("cannot start the terminal UI: {err}"))?;
    let _ = crossterm::execute!(std::io::stdout(), EnableMouseCapture);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
        previous(info);
    }));
    let result = event_loop(&mut terminal, start, store, parallel).await;
    let _ = crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    let _ = std::io::stdout().flush();
    result
}

/// Logs go to a file in the state directory: never to the screen while the
/// dashboard owns it.
fn init_logging(store: &StateStore) {
    if ensure_private_dir(store.root()).is_err() {
        return;
    }
    let path = store.root().join("clusterdeck.log");
    let Ok(file) = crate::state::open_private_append(&path) else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CLUSTERDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    start: Start,
    store: StateStore,
    parallel: usize,
) -> Result<Ending, String> {
    // Bounded, like the engine's queue: a flood of output waits (or is
    // dropped and counted) upstream instead of piling up here.
    let (sender, mut messages) = mpsc::channel(MESSAGE_QUEUE);
    let mut runner = Runner::new(store, parallel, sender);
    let mut app = App::default();
    let size = terminal.size().map_err(|err| err.to_string())?;
    app.size = (size.width, size.height);
    let theme = Theme::from_env();
    let mut input = EventStream::new();
    let mut tick = tokio::time::interval(TICK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut refresh = tokio::time::interval(REFRESH_EVERY);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|err| format!("cannot watch for SIGTERM: {err}"))?;
    let mut commands = vec![Command::LoadClusters];
    match start {
        Start::Up(path) => {
            app.running = Some(crate::model::OperationKind::Up);
            commands.push(Command::Start(Operation::Up { spec: path }));
        }
        Start::Attach(name) => commands.push(Command::Attach(name)),
        Start::Home => {}
    }
    let mut dirty = true;
    let mut terminated = false;
    let mut refresh_periods: u32 = 0;
    tracing::info!("dashboard started");
    loop {
        for command in commands.drain(..) {
            runner.execute(command);
        }
        if app.should_quit {
            break;
        }
        if dirty {
            terminal
                .draw(|frame| view::render(frame, &app, &theme, SystemTime::now()))
                .map_err(|err| format!("cannot draw: {err}"))?;
            dirty = false;
        }
        let message = tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => Msg::Terminal(event),
                Some(Err(err)) => return Err(format!("terminal input failed: {err}")),
                None => break,
            },
            Some(message) = messages.recv() => message,
            _ = tick.tick(), if app.animating() => Msg::Tick,
            _ = terminate.recv() => {
                tracing::info!("SIGTERM: cancelling and quitting");
                terminated = true;
                break;
            }
            _ = refresh.tick(), if app.refresh_target().is_some() => {
                refresh_periods = refresh_periods.wrapping_add(1);
                if app.watching_shown() && !refresh_periods.is_multiple_of(WATCHED_REFRESH_PERIODS) {
                    continue;
                }
                let name = app.refresh_target().unwrap_or_default().to_owned();
                commands.push(Command::Refresh(name));
                continue;
            }
        };
        // An idle dashboard gets a node-state refresh every few seconds; it
        // only redraws when that changed something.
        dirty |= !matches!(&message, Msg::Refreshed(view) if !update::refresh_changes(&app, view));
        commands.extend(update::update(&mut app, message));
        for _ in 0..BATCH {
            match messages.try_recv() {
                Ok(message) => {
                    dirty = true;
                    commands.extend(update::update(&mut app, message));
                }
                Err(_) => break,
            }
        }
    }
    // The cancelled operation's last events and its end still arrive while
    // it stops: fold them, so the ending is the operation's real outcome.
    let shutdown = runner.shutdown(SHUTDOWN_PATIENCE);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(message) = messages.recv() => drop(update::update(&mut app, message)),
        }
    }
    while let Ok(message) = messages.try_recv() {
        drop(update::update(&mut app, message));
    }
    let ending = outcome::ending(&app, terminated);
    tracing::info!(?ending, "dashboard closed");
    Ok(ending)
}
