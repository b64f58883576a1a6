//! Distribution plugins: the `Distribution` SPI over the plugin protocol.
//! Placeholder until the protocol side lands: naming a distribution plugin
//! is refused with a clear error.

use std::path::Path;
use std::sync::Arc;

use super::error::PluginError;
use crate::distribution::Distribution;

/// Starts the distribution plugin `name` (at `path`, or found as
/// `clusterdeck-plugin-<name>`) and runs its handshake.
pub async fn launch_distribution(
    name: &str,
    _path: Option<&Path>,
) -> Result<Arc<dyn Distribution>, PluginError> {
    Err(PluginError::Handshake {
        plugin: name.to_owned(),
        detail: "distribution plugins are not supported by this build yet".to_owned(),
    })
}
