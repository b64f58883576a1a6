//! Runs one CLI command: builds the engine, streams its events to the printer,
//! and maps the outcome to an exit status.

use std::io::{IsTerminal, Write};

use clusterdeck::engine::{Engine, EventSink, Operation, Target};
use clusterdeck::headless::Printer;
use clusterdeck::model::Outcome;
use clusterdeck::spec::LoadedSpec;
use clusterdeck::state::StateStore;
use clusterdeck::tui::{Ending, Start};
use tokio_util::sync::CancellationToken;

use super::failure::Failure;
use super::views;
use super::{Cli, Command, OutputFormat, TargetArgs};

pub async fn execute(cli: Cli) -> Result<(), Failure> {
    let json = cli.output == OutputFormat::Json;
    let state_dir = cli.state_dir.clone();
    let store =
        move || StateStore::locate(state_dir).map_err(|err| Failure::Failed(err.to_string()));
    let interactive = !json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    let Some(command) = cli.command else {
        return if interactive {
            dashboard(Start::Home, store()?, cli.parallel).await
        } else {
            let (engine, _events) = engine(store()?, cli.parallel, CancellationToken::new());
            views::list(&engine, json)
        };
    };
    match command {
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "clusterdeck", &mut std::io::stdout());
            Ok(())
        }
        Command::Plugins => super::plugins::list(json),
        Command::Plugin {
            action: super::PluginCommand::Check { path, options },
        } => super::plugin_check::check(&path, &options, json).await,
        Command::List => {
            let (engine, _events) = engine(store()?, cli.parallel, CancellationToken::new());
            views::list(&engine, json)
        }
        Command::Inspect {
            name,
            json: as_json,
        } => {
            let (engine, _events) = engine(store()?, cli.parallel, CancellationToken::new());
            let record = engine.inspect(&name).await?;
            views::inspect(&record, json || as_json, engine.registry())
        }
        Command::Validate { spec } => {
            let loaded = load_spec(&spec)?;
            // Validating needs no state: a state directory that cannot be
            // located is no reason to refuse.
            let store = StateStore::locate(cli.state_dir.clone())
                .unwrap_or_else(|_| StateStore::new(std::env::temp_dir()));
            let (engine, _events) = engine(store, cli.parallel, CancellationToken::new());
            let (validators, plan) = engine.validate(&loaded).await;
            views::validation(&validators, &plan, json, engine.registry())
        }
        Command::Up { spec, headless } => {
            load_spec(&spec)?;
            if interactive && !headless {
                return dashboard(Start::Up(spec), store()?, cli.parallel).await;
            }
            operate(store()?, cli.parallel, json, Operation::Up { spec }).await
        }
        Command::Attach { name } => {
            let store = store()?;
            if !interactive {
                return Err(Failure::Input(
                    "attach opens the dashboard and needs a terminal; use `inspect`, `run` or `debug` headless".to_owned(),
                ));
            }
            let name = attach_target(&name, &store, cli.parallel).await?;
            dashboard(Start::Attach(name), store, cli.parallel).await
        }
        Command::DestroyNode { name, node } => {
            operate(
                store()?,
                cli.parallel,
                json,
                Operation::DestroyNode {
                    cluster: name,
                    node,
                },
            )
            .await
        }
        Command::Destroy { name } => {
            operate(
                store()?,
                cli.parallel,
                json,
                Operation::Destroy { cluster: name },
            )
            .await
        }
        Command::Debug { name } => {
            operate(
                store()?,
                cli.parallel,
                json,
                Operation::Debug { cluster: name },
            )
            .await
        }
        Command::Scale { name, group, count } => {
            let operation = Operation::Scale {
                cluster: name,
                group,
                count,
            };
            operate(store()?, cli.parallel, json, operation).await
        }
        Command::Stop { name } => {
            operate(
                store()?,
                cli.parallel,
                json,
                Operation::Stop { cluster: name },
            )
            .await
        }
        Command::Start { name } => {
            operate(
                store()?,
                cli.parallel,
                json,
                Operation::Start { cluster: name },
            )
            .await
        }
        Command::Export { name, out } => {
            // The paths to fetch come from the cluster's spec
            // (`engine::log_paths_for`) when none are given here.
            let operation = Operation::Export {
                cluster: name,
                out,
                log_paths: None,
            };
            operate(store()?, cli.parallel, json, operation).await
        }
        Command::Gc { yes } => {
            operate(store()?, cli.parallel, json, Operation::Gc { apply: yes }).await
        }
        Command::Doctor { spec } => {
            if let Some(spec) = &spec {
                load_spec(spec)?;
            }
            operate(store()?, cli.parallel, json, Operation::Doctor { spec }).await
        }
        Command::Run {
            name,
            adhoc,
            target,
            timeout,
            command,
        } => {
            let target = target_of(target);
            let command = command.join(" ");
            match (name, adhoc.hosts.clone()) {
                (Some(name), _) => {
                    let operation = Operation::Run {
                        cluster: name,
                        target,
                        command,
                        timeout,
                    };
                    operate(store()?, cli.parallel, json, operation).await
                }
                (None, Some(hosts)) => {
                    let scratch = AdhocState::create(&hosts, &adhoc)?;
                    let store = scratch.store.clone();
                    let operation = Operation::Run {
                        cluster: ADHOC.to_owned(),
                        target,
                        command,
                        timeout,
                    };
                    let outcome = operate(store, cli.parallel, json, operation).await;
                    drop(scratch);
                    outcome
                }
                (None, None) => Err(Failure::Input("give a cluster name or --hosts".to_owned())),
            }
        }
    }
}

/// The cluster name of `run --hosts`, in its scratch state.
const ADHOC: &str = "hosts";

/// A throwaway state directory for `run --hosts`: the hosts are recorded
/// there so the engine can run on them, and it is removed afterwards.
struct AdhocState {
    store: StateStore,
    dir: std::path::PathBuf,
}

impl AdhocState {
    fn create(hosts: &str, args: &super::AdhocArgs) -> Result<Self, Failure> {
        let hosts = clusterdeck::checks::nodeset::expand(hosts).map_err(Failure::Input)?;
        let mut options = std::collections::BTreeMap::new();
        if let Some(user) = &args.ssh_user {
            options.insert("user".to_owned(), serde_json::json!(user));
        }
        let keys: Vec<String> = args
            .ssh_key
            .iter()
            .map(|key| key.display().to_string())
            .collect();
        options.insert("identity_files".to_owned(), serde_json::json!(keys));
        if args.accept_new_host_keys {
            options.insert(
                "host_key_policy".to_owned(),
                serde_json::json!("accept-new"),
            );
        }
        let record = clusterdeck::backend::ssh::adhoc_record(ADHOC, &hosts, options)
            .map_err(Failure::Input)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "clusterdeck-hosts-{}-{nanos:x}",
            std::process::id()
        ));
        let store = StateStore::new(dir.clone());
        let failed = |err: clusterdeck::state::StateError| Failure::Failed(err.to_string());
        drop(
            store
                .lock(ADHOC, clusterdeck::state::LockMode::Exclusive)
                .map_err(failed)?,
        );
        store.save(&record).map_err(failed)?;
        Ok(Self { store, dir })
    }
}

impl Drop for AdhocState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A cluster name as it is, or a spec file: its cluster, recorded first
/// when it is one of existing machines not yet known.
async fn attach_target(target: &str, store: &StateStore, parallel: u16) -> Result<String, Failure> {
    let path = std::path::Path::new(target);
    if !path.is_file() {
        store
            .load(target)
            .map_err(|err| Failure::Input(err.to_string()))?;
        return Ok(target.to_owned());
    }
    let name = load_spec(path)?.spec.name;
    if store
        .try_load(&name)
        .map_err(|err| Failure::Failed(err.to_string()))?
        .is_some()
    {
        return Ok(name);
    }
    let (engine, _events) = engine(store.clone(), parallel, CancellationToken::new());
    let report = engine
        .execute(Operation::Adopt {
            spec: path.to_path_buf(),
        })
        .await?;
    match report.outcome {
        Outcome::Succeeded => Ok(name),
        _ => Err(Failure::Failed(
            report
                .summary
                .reason
                .unwrap_or_else(|| format!("cannot record cluster {name}")),
        )),
    }
}

/// Opens the dashboard; once it has closed and the terminal is restored, the
/// session's last operation decides the exit status like a headless run's
/// (1 failed, 130 cancelled or SIGTERM), and its line goes to stderr.
async fn dashboard(start: Start, store: StateStore, parallel: u16) -> Result<(), Failure> {
    match clusterdeck::tui::run(start, store, usize::from(parallel))
        .await
        .map_err(Failure::Failed)?
    {
        Ending::Succeeded => Ok(()),
        Ending::Failed(line) => Err(Failure::Failed(line)),
        Ending::BadInput(line) => Err(Failure::Input(line)),
        Ending::Cancelled(line) => Err(Failure::Cancelled(line)),
    }
}

fn load_spec(path: &std::path::Path) -> Result<LoadedSpec, Failure> {
    LoadedSpec::from_file(path).map_err(|errors| {
        let count = errors.len();
        let plural = if count == 1 { "" } else { "s" };
        Failure::Input(format!(
            "{errors}\n{count} error{plural} in {}",
            path.display()
        ))
    })
}

fn target_of(args: TargetArgs) -> Target {
    match (args.role, args.group, args.node) {
        (Some(role), _, _) => Target::Role(role),
        (_, Some(group), _) => Target::Group(group),
        (_, _, Some(node)) => Target::Node(node),
        _ => Target::All,
    }
}

fn engine(
    store: StateStore,
    parallel: u16,
    cancel: CancellationToken,
) -> (Engine, clusterdeck::engine::EventReceiver) {
    let (sink, events) = EventSink::channel();
    (
        Engine::new(store, sink, cancel).with_parallel(usize::from(parallel)),
        events,
    )
}

/// Runs an operation as a task while printing its events as they come.
/// Ctrl-C (or SIGTERM) cancels it; the engine then stops its commands and
/// records what exists before the operation returns.
async fn operate(
    store: StateStore,
    parallel: u16,
    json: bool,
    operation: Operation,
) -> Result<(), Failure> {
    let cancel = CancellationToken::new();
    let (engine, mut events) = engine(store, parallel, cancel.clone());
    let task = tokio::spawn(async move { engine.execute(operation).await });
    let signals = tokio::spawn(cancel_on_signal(cancel.clone()));
    let mut printer = Printer::new(std::io::stdout().lock(), json);
    while let Some(event) = events.recv().await {
        printer.print(&event);
    }
    signals.abort();
    let report = task
        .await
        .map_err(|err| Failure::Failed(format!("the operation stopped unexpectedly: {err}")))??;
    let reason = report.summary.reason.clone().unwrap_or_default();
    match report.outcome {
        Outcome::Succeeded => Ok(()),
        Outcome::Failed => Err(Failure::Failed(reason)),
        Outcome::Cancelled => Err(Failure::Cancelled(reason)),
    }
}

async fn cancel_on_signal(cancel: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return;
    };
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    if std::io::stderr().is_terminal() {
        let _ = writeln!(
            std::io::stderr(),
            "cancelling: stopping node commands and recording state..."
        );
    }
    cancel.cancel();
}
