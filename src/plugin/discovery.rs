//! Finding a backend plugin by name: an executable `clusterdeck-plugin-<name>`
//! in `$XDG_DATA_HOME/clusterdeck/plugins/` (or
//! `~/.local/share/clusterdeck/plugins/`), else on `PATH`; or the file a
//! spec names in `backend.path`. Found plugins are started once per
//! process, initialized, and kept.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::backend::{ExternalBackend, fetch_info};
use super::client::PluginClient;
use super::error::PluginError;
use super::handshake::{PluginHello, initialize};
use crate::backend::{Backend, BackendInfo, BackendResolver};

/// The executable name of a plugin.
pub const PREFIX: &str = "clusterdeck-plugin-";
/// Overrides the silence timeout of every call, in milliseconds.
pub const SILENCE_ENV: &str = "CLUSTERDECK_PLUGIN_SILENCE_MS";
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(60);

/// The plugins directory under the XDG data dir.
pub fn plugins_dir() -> Option<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|dir| !dir.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".local/share"),
    };
    Some(data.join("clusterdeck/plugins"))
}

/// Where the plugin called `name` is, if anywhere.
pub fn find(name: &str) -> Option<PathBuf> {
    // A name is a plain word, never a path.
    if !is_plugin_name(name) {
        return None;
    }
    let file = format!("{PREFIX}{name}");
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(&file))
        .find(|candidate| is_executable(candidate))
}

/// A name is a plain word, never a path.
pub fn is_plugin_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Where plugins are looked for, in order: the plugins directory, then `PATH`.
pub fn search_dirs() -> Vec<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    plugins_dir().into_iter().chain(path_dirs).collect()
}

pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The silence timeout of every call: `CLUSTERDECK_PLUGIN_SILENCE_MS` or the default.
pub fn silence() -> Duration {
    std::env::var(SILENCE_ENV)
        .ok()
        .and_then(|millis| millis.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DEFAULT_SILENCE)
}

/// Starts the plugin at `path` and runs the handshake and `info`. Blocks
/// the calling thread (on a thread of its own, so it works inside or
/// outside a runtime) until the plugin answered or the silence timeout.
pub fn launch(name: &str, path: &Path, silence: Duration) -> Result<ExternalBackend, PluginError> {
    let greeted = greet(name, path, silence)?;
    Ok(ExternalBackend::new(greeted.client, path, greeted.info))
}

/// A started plugin that answered `initialize` and `info`.
pub struct Greeted {
    pub client: Arc<PluginClient>,
    pub hello: PluginHello,
    pub info: BackendInfo,
}

/// Starts the plugin and runs the handshake and `info`, checking that its
/// info names the backend `name`. A plugin that fails is killed (its
/// client dropped).
pub fn greet(name: &str, path: &Path, silence: Duration) -> Result<Greeted, PluginError> {
    let client = Arc::new(PluginClient::start(name, path, silence)?);
    let handshake = {
        let client = Arc::clone(&client);
        let name = name.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| PluginError::Handshake {
                    plugin: name.clone(),
                    detail: format!("cannot start a runtime: {err}"),
                })?;
            runtime.block_on(async {
                let hello = initialize(&client, "backend").await?;
                Ok::<_, PluginError>((hello, fetch_info(&client).await?))
            })
        })
    };
    let answered = handshake.join().map_err(|_| PluginError::Handshake {
        plugin: name.to_owned(),
        detail: "the handshake thread panicked".to_owned(),
    });
    let (hello, info) = match answered.and_then(|result| result) {
        Ok(answers) => answers,
        Err(err) => {
            client.stop("its handshake failed");
            return Err(err);
        }
    };
    if info.kind != name {
        client.stop("its info names another backend");
        return Err(PluginError::Handshake {
            plugin: name.to_owned(),
            detail: format!("its info names the backend {:?}, not {name:?}", info.kind),
        });
    }
    Ok(Greeted {
        client,
        hello,
        info,
    })
}

/// Resolves unknown backend kinds through plugin discovery.
pub struct PluginResolver;

impl BackendResolver for PluginResolver {
    fn resolve(&self, kind: &str) -> Option<Result<Arc<dyn Backend>, String>> {
        let path = find(kind)?;
        Some(
            launch(kind, &path, silence())
                .map(|backend| Arc::new(backend) as Arc<dyn Backend>)
                .map_err(|err| err.to_string()),
        )
    }

    /// The plugin the spec names by its file: that file is started, never
    /// one found by kind, and its info must name `kind`.
    fn resolve_at(&self, kind: &str, path: &Path) -> Result<Arc<dyn Backend>, String> {
        if !is_executable(path) {
            let what = if path.exists() {
                "is not an executable file"
            } else {
                "does not exist"
            };
            return Err(format!(
                "backend plugin {} (backend.path of kind {kind:?}) {what}",
                path.display()
            ));
        }
        launch(kind, path, silence())
            .map(|backend| Arc::new(backend) as Arc<dyn Backend>)
            .map_err(|err| format!("{err} (started from {})", path.display()))
    }
}
