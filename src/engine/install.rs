//! Installing on nodes through their transports: copy the installer (fetched
//! first when it is a URL, see `fetch.rs`), the rendered config and the listed
//! files, then the distribution's configure and start phases (for the
//! built-in script: the installer once per role, see `script.rs`).

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use std::collections::BTreeMap;

use super::Engine;
use super::distribution::ActiveDistribution;
use super::event::EventKind;
use super::exec::fan_out;
use super::host::EngineHost;
use super::installer::{
    CONFIG_FILE, FETCH_STEP, INSTALL_DIR, Installer, InstallerFile, MaterialError, StepError,
};
use super::up::elapsed_ms;
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState, Phase, StepStatus};
use crate::spec::{InstallSource, InstallSpec, LoadedSpec, process_env, resolve_env_references};
use crate::transport::{Transport, Upload};

struct Material {
    /// `None` for a distribution plugin that uploads only files.
    installer: Option<InstallerFile>,
    installer_name: String,
    config: Vec<u8>,
    files: Vec<(PathBuf, String)>,
}

impl Engine {
    /// Installs on the running nodes of `targets` (all of `cluster` on
    /// `up`, the new ones on a grow): the material goes up, then the
    /// distribution configures and starts them. Returns the nodes that failed.
    pub(super) async fn install_all(
        &self,
        loaded: &LoadedSpec,
        active: &ActiveDistribution,
        (backend, ctx): (&dyn Backend, &BackendContext),
        cluster: &[Node],
        targets: &[Node],
        sizes: &BTreeMap<String, u32>,
    ) -> Vec<NodeFailure> {
        let Some(install) = loaded.spec.install.as_ref() else {
            return Vec::new();
        };
        let running: Vec<&Node> = targets
            .iter()
            .filter(|node| node.state == NodeState::Running)
            .collect();
        if running.is_empty() {
            return Vec::new();
        }
        let fail_all = |step: &str, error: String| {
            running
                .iter()
                .map(|node| NodeFailure {
                    node: node.name.clone(),
                    step: step.to_owned(),
                    error: error.clone(),
                })
                .collect::<Vec<_>>()
        };
        let mut failures = Vec::new();
        let uploaded: Vec<Node> = if install.from.is_some() || !install.files.is_empty() {
            let installer = match &install.from {
                Some(InstallSource::Path(path)) => local_installer(loaded.resolve(path))
                    .map(Some)
                    .map_err(|error| ("upload", error)),
                Some(InstallSource::Url(url)) => self
                    .fetched_installer(url, install, backend)
                    .await
                    .map(Some),
                None => Ok(None),
            };
            let material =
                match installer.and_then(|installer| material(loaded, install, installer)) {
                    Ok(material) => material,
                    Err((step, error)) => return fail_all(step, error),
                };
            let material = &material;
            let results = fan_out(running, self.parallel, |node| async move {
                (
                    node,
                    self.upload_node(backend, ctx, node, cluster, material)
                        .await,
                )
            })
            .await;
            let mut uploaded = Vec::new();
            for (node, result) in results {
                match result {
                    Ok(()) => uploaded.push(node.clone()),
                    Err(failure) => failures.push(failure),
                }
            }
            uploaded
        } else {
            running.into_iter().cloned().collect()
        };
        if uploaded.is_empty() || self.cancel.is_cancelled() {
            return failures;
        }
        let view = match active.view(&loaded.spec, sizes, cluster) {
            Ok(view) => view,
            Err(error) => {
                failures.extend(uploaded.iter().map(|node| NodeFailure {
                    node: node.name.clone(),
                    step: "configure".to_owned(),
                    error: error.clone(),
                }));
                return failures;
            }
        };
        let host = EngineHost {
            engine: self,
            backend,
            ctx,
            cluster,
            default_timeout: install.timeout,
        };
        let mut ready = uploaded;
        for phase in [Phase::Configure, Phase::Start] {
            if ready.is_empty() || self.cancel.is_cancelled() {
                break;
            }
            let failed = self.run_phase(active, phase, &view, &ready, &host).await;
            ready.retain(|node| !failed.iter().any(|failure| failure.node == node.name));
            failures.extend(failed);
        }
        failures
    }

    /// Puts the installer (fetched on the node when it fetches for itself),
    /// the rendered config and the listed files on one node.
    async fn upload_node(
        &self,
        backend: &dyn Backend,
        ctx: &BackendContext,
        node: &Node,
        all: &[Node],
        material: &Material,
    ) -> Result<(), NodeFailure> {
        let failure = |step: &str, error: String| NodeFailure {
            node: node.name.clone(),
            step: step.to_owned(),
            error,
        };
        let transport = self
            .connect(backend, ctx, node, all)
            .await
            .map_err(|error| failure("connect", error))?;
        let transport = transport.as_ref();
        if let Some(InstallerFile::OnNode(fetch)) = &material.installer {
            self.fetch_on_node(transport, &node.name, fetch, &material.installer_name)
                .await
                .map_err(|error| failure(FETCH_STEP, error))?;
        }
        self.step(&node.name, "upload", upload(transport, material))
            .await
            .map_err(|error| failure("upload", error))
    }

    /// Wraps one step of one node (or, with an empty node, of the whole
    /// operation) in started/finished events.
    pub(super) async fn step<T>(
        &self,
        node: &str,
        step: &str,
        work: impl Future<Output = Result<T, StepError>>,
    ) -> Result<T, String> {
        self.events.emit(EventKind::StepStarted {
            node: node.to_owned(),
            step: step.to_owned(),
        });
        let started = Instant::now();
        let result = work.await;
        let (status, error) = match &result {
            Ok(_) => (StepStatus::Ok, None),
            Err((status, error)) => (*status, Some(error.clone())),
        };
        self.events.emit(EventKind::StepFinished {
            node: node.to_owned(),
            step: step.to_owned(),
            status,
            elapsed_ms: elapsed_ms(started),
            error,
        });
        result.map_err(|(_, error)| error)
    }
}

fn local_installer(installer: PathBuf) -> Result<Installer, String> {
    let name = installer
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .ok_or_else(|| format!("installer path {} has no file name", installer.display()))?;
    Ok((InstallerFile::Here(installer), name))
}

fn material(
    loaded: &LoadedSpec,
    install: &InstallSpec,
    installer: Option<Installer>,
) -> Result<Material, MaterialError> {
    let (installer, installer_name) = match installer {
        Some((installer, name)) => (Some(installer), name),
        None => (None, String::new()),
    };
    // `{env: NAME}` references are resolved only here, for the bytes sent to
    // the nodes: the record, events and logs keep the reference.
    let config =
        resolve_env_references(&install.config, &process_env).map_err(|error| ("upload", error))?;
    let config = serde_json::to_vec_pretty(&config)
        .map_err(|err| ("upload", format!("cannot render the install config: {err}")))?;
    let files = install
        .files
        .iter()
        .map(|file| (loaded.resolve(&file.src), file.dest.clone()))
        .collect();
    Ok(Material {
        installer,
        installer_name,
        config,
        files,
    })
}

async fn upload(transport: &dyn Transport, material: &Material) -> Result<(), StepError> {
    let failed = |err: crate::transport::TransportError| (StepStatus::Failed, err.to_string());
    let dest = |name: &str| format!("{INSTALL_DIR}/{name}");
    if let Some(InstallerFile::Here(installer)) = &material.installer {
        transport
            .put(
                Upload::File(installer),
                &dest(&material.installer_name),
                0o755,
            )
            .await
            .map_err(failed)?;
    }
    transport
        .put(Upload::Bytes(&material.config), &dest(CONFIG_FILE), 0o600)
        .await
        .map_err(failed)?;
    for (source, target) in &material.files {
        transport
            .put(Upload::File(source), &dest(target), source_mode(source))
            .await
            .map_err(failed)?;
    }
    Ok(())
}

/// Keeps a copied file executable if it was, so helper scripts still run.
fn source_mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|meta| meta.permissions().mode() & 0o755)
        .unwrap_or(0o644)
        | 0o600
}
