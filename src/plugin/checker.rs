//! Validator and debugger plugins: found like backend plugins (or at the
//! path the spec gives), started for one call, initialized as the kind the
//! spec uses them as, and stopped afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::client::PluginClient;
use super::discovery::{PREFIX, find, is_executable, is_plugin_name, silence};
use super::error::PluginError;
use super::handshake::initialize;

/// The plugin `name` at `path` (as the spec gives it, already resolved
/// against the spec file), else found as `clusterdeck-plugin-<name>`.
pub fn locate(name: &str, path: Option<&Path>) -> Result<PathBuf, PluginError> {
    let missing = |detail: String| PluginError::Handshake {
        plugin: name.to_owned(),
        detail,
    };
    match path {
        Some(path) if is_executable(path) => Ok(path.to_path_buf()),
        Some(path) => Err(missing(format!(
            "{} is not an executable file",
            path.display()
        ))),
        None if !is_plugin_name(name) => Err(missing(
            "a plugin name is a plain word (letters, digits, - and _)".to_owned(),
        )),
        None => find(name).ok_or_else(|| {
            missing(format!(
                "no executable {PREFIX}{name} in the plugins directory or on PATH"
            ))
        }),
    }
}

/// A validator or debugger plugin, running and initialized; it is killed
/// when dropped or stopped.
pub struct Checker {
    pub client: Arc<PluginClient>,
}

impl Checker {
    /// Starts the plugin and runs `initialize`, whose `kinds` must include `kind`.
    pub async fn start(name: &str, path: &Path, kind: &str) -> Result<Self, PluginError> {
        let client = Arc::new(PluginClient::start(name, path, silence())?);
        match initialize(&client, kind).await {
            Ok(_) => Ok(Self { client }),
            Err(err) => {
                stop(&client, "its handshake failed").await;
                Err(err)
            }
        }
    }

    pub async fn stop(self) {
        stop(&self.client, "its check is done").await;
    }
}

/// Kills the plugin and waits for it to be reaped, off the async threads
/// (reaping blocks).
async fn stop(client: &Arc<PluginClient>, reason: &'static str) {
    let client = Arc::clone(client);
    let _ = tokio::task::spawn_blocking(move || client.stop(reason)).await;
}
