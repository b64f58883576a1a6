//! `clusterdeck plugin check PATH`: a conformance run of one plugin. It
//! starts the plugin, runs `initialize`, exercises every method the plugin
//! claims for each of its kinds, judges every line in both directions
//! against docs/plugin-protocol.schema.json, and reports pass/fail per
//! method. State lives in a temporary directory removed afterwards.

mod backend;
mod checks;
mod distribution;
mod messages;
mod report;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use messages::{LineProblem, PROTOCOL, Recorder, judge};
pub use report::{CheckReport, Findings, MethodReport, Verdict};

use super::client::{NoContext, PluginClient};
use super::discovery::PREFIX;
use super::handshake::{PROTOCOL_VERSIONS, PluginHello, initialize_params};
use super::schema::Schemas;

/// What the run may be given.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Cluster options for the test cluster (a plugin's required options).
    pub options: BTreeMap<String, Value>,
    /// How long a call may stay silent.
    pub silence: Duration,
}

/// Runs the conformance check of the plugin at `path`.
pub async fn check_plugin(path: &Path, options: &CheckOptions) -> CheckReport {
    let name = plugin_name(path);
    let recorder = Arc::new(Recorder::default());
    let mut findings = Findings::default();
    let mut report = CheckReport {
        plugin: name.clone(),
        path: path.to_path_buf(),
        version: None,
        protocol_version: None,
        kinds: Vec::new(),
        messages: 0,
        methods: Vec::new(),
    };
    let schemas = match Schemas::load() {
        Ok(schemas) => schemas,
        Err(err) => {
            findings.problem(PROTOCOL, err);
            report.methods = findings.into_methods();
            return report;
        }
    };
    let workspace = match TempState::new() {
        Ok(workspace) => workspace,
        Err(err) => {
            findings.problem(PROTOCOL, err);
            report.methods = findings.into_methods();
            return report;
        }
    };
    match PluginClient::start_tapped(&name, path, options.silence, Some(recorder.tap())) {
        Err(err) => findings.problem("initialize", err.to_string()),
        Ok(client) => {
            if let Some(hello) = initialize(&client, &mut findings).await {
                report.version = Some(hello.version.clone());
                report.protocol_version = Some(hello.protocol_version);
                report.kinds = hello.kinds.clone();
                for kind in &hello.kinds {
                    match kind.as_str() {
                        "backend" => {
                            let state = backend::Workspace {
                                state_root: &workspace.dir,
                                options: &options.options,
                            };
                            backend::check(&client, &name, &state, &mut findings).await;
                        }
                        "validator" => checks::validator(&client, &mut findings).await,
                        "debugger" => {
                            checks::debugger(&client, &workspace.dir, &mut findings).await;
                        }
                        "distribution" => {
                            distribution::distribution(
                                &client,
                                &name,
                                &workspace.dir,
                                &mut findings,
                            )
                            .await;
                        }
                        other => findings.note(
                            "initialize",
                            format!(
                                "no conformance checks for {other} plugins in this clusterdeck"
                            ),
                        ),
                    }
                }
            }
            client.stop("plugin check is done");
        }
    }
    let lines = recorder.lines();
    report.messages = lines.len();
    for problem in judge(&schemas, &lines) {
        findings.problem(&problem.method, problem.problem);
    }
    report.methods = findings.into_methods();
    report
}

/// The plugin's name: its file name without `clusterdeck-plugin-`.
pub fn plugin_name(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|file| file.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.strip_prefix(PREFIX).unwrap_or(&file).to_owned()
}

async fn initialize(client: &PluginClient, findings: &mut Findings) -> Option<PluginHello> {
    findings.called("initialize");
    let result = match client
        .call("initialize", initialize_params(), &NoContext, None)
        .await
    {
        Ok(result) => result,
        Err(err) => {
            findings.problem("initialize", err.to_string());
            return None;
        }
    };
    let hello: PluginHello = match serde_json::from_value(result) {
        Ok(hello) => hello,
        Err(err) => {
            findings.problem(
                "initialize",
                format!("its result does not read as the handshake's answer: {err}"),
            );
            return None;
        }
    };
    if !PROTOCOL_VERSIONS.contains(&hello.protocol_version) {
        findings.problem(
            "initialize",
            format!(
                "it answered protocol version {}; clusterdeck offered {PROTOCOL_VERSIONS:?}",
                hello.protocol_version
            ),
        );
        return None;
    }
    findings.note(
        "initialize",
        format!(
            "{} {} speaks protocol {} as {}",
            hello.name,
            hello.version,
            hello.protocol_version,
            hello.kinds.join(", ")
        ),
    );
    Some(hello)
}

/// A state directory of the run's own, removed when dropped.
struct TempState {
    dir: PathBuf,
}

impl TempState {
    fn new() -> Result<Self, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| elapsed.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "clusterdeck-plugin-check-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot make a state directory {}: {err}", dir.display()))?;
        Ok(Self { dir })
    }
}

impl Drop for TempState {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
