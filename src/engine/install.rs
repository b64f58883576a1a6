//! Installing on nodes through their transports: copy the installer (fetched
//! first when it is a URL, see `fetch.rs`), the rendered config and the listed
//! files, then run the installer once per role.

use std::future::Future;
use std::path::PathBuf;
use std::time::Instant;

use super::Engine;
use super::event::EventKind;
use super::exec::{fan_out, run_captured};
use super::installer::{
    CONFIG_FILE, FETCH_STEP, INSTALL_DIR, Installer, InstallerFile, MaterialError, StepError,
    command_outcome,
};
use super::up::elapsed_ms;
use crate::backend::{Backend, BackendContext};
use crate::model::{Node, NodeFailure, NodeState, StepStatus, shell_quote};
use crate::spec::{InstallSource, InstallSpec, LoadedSpec, process_env, resolve_env_references};
use crate::transport::{ExecRequest, Transport, Upload};

struct Material {
    installer: InstallerFile,
    installer_name: String,
    config: Vec<u8>,
    files: Vec<(PathBuf, String)>,
    timeout: Option<std::time::Duration>,
}

impl Engine {
    /// Installs on every running node; returns the nodes that failed.
    pub(super) async fn install_all(
        &self,
        loaded: &LoadedSpec,
        install: &InstallSpec,
        backend: &dyn Backend,
        ctx: &BackendContext,
        nodes: &[Node],
    ) -> Vec<NodeFailure> {
        let running: Vec<&Node> = nodes
            .iter()
            .filter(|node| node.state == NodeState::Running)
            .collect();
        if running.is_empty() {
            return Vec::new();
        }
        let installer = match &install.from {
            Some(InstallSource::Path(path)) => {
                local_installer(loaded.resolve(path)).map_err(|error| ("upload", error))
            }
            Some(InstallSource::Url(url)) => self.fetched_installer(url, install, backend).await,
            None => Err((
                "upload",
                "the script distribution needs `install.from`".to_owned(),
            )),
        };
        let material = match installer.and_then(|installer| material(loaded, install, installer)) {
            Ok(material) => material,
            Err((step, error)) => {
                return running
                    .iter()
                    .map(|node| NodeFailure {
                        node: node.name.clone(),
                        step: step.to_owned(),
                        error: error.clone(),
                    })
                    .collect();
            }
        };
        let material = &material;
        fan_out(running, self.parallel, |node| async move {
            self.install_node(backend, ctx, node, nodes, material)
                .await
                .err()
        })
        .await
        .into_iter()
        .flatten()
        .collect()
    }

    async fn install_node(
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
        if let InstallerFile::OnNode(fetch) = &material.installer {
            self.fetch_on_node(transport, &node.name, fetch, &material.installer_name)
                .await
                .map_err(|error| failure(FETCH_STEP, error))?;
        }
        self.step(&node.name, "upload", upload(transport, material))
            .await
            .map_err(|error| failure("upload", error))?;
        let roles: Vec<&str> = if node.roles.is_empty() {
            vec![""]
        } else {
            node.roles.iter().map(String::as_str).collect()
        };
        for role in roles {
            let step = if role.is_empty() {
                "install".to_owned()
            } else {
                format!("install:{role}")
            };
            let request = ExecRequest {
                command: format!("./{} {role}", shell_quote(&material.installer_name)),
                env: vec![
                    ("CLUSTERDECK_ROLE".to_owned(), role.to_owned()),
                    ("CLUSTERDECK_CONFIG".to_owned(), CONFIG_FILE.to_owned()),
                ],
                workdir: Some(INSTALL_DIR.to_owned()),
                timeout: material.timeout,
            };
            let run = async {
                let captured = run_captured(
                    transport,
                    &node.name,
                    Some(&step),
                    &request,
                    &self.events,
                    &self.cancel,
                )
                .await;
                command_outcome(&captured)
            };
            self.step(&node.name, &step, run)
                .await
                .map_err(|error| failure(&step, error))?;
        }
        Ok(())
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
    (installer, installer_name): Installer,
) -> Result<Material, MaterialError> {
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
        timeout: install.timeout,
    })
}

async fn upload(transport: &dyn Transport, material: &Material) -> Result<(), StepError> {
    let failed = |err: crate::transport::TransportError| (StepStatus::Failed, err.to_string());
    let dest = |name: &str| format!("{INSTALL_DIR}/{name}");
    if let InstallerFile::Here(installer) = &material.installer {
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
