//! Backends in other processes, in any language: JSON-RPC 2.0 on the
//! plugin's stdin/stdout, one message per line (docs/plugin-protocol.md).
//! The layer sits above `backend`: a plugin is one more `Backend`, found by
//! the registry when a spec names a kind no built-in has.

mod backend;
mod client;
mod discovery;
mod error;
mod handshake;
mod process;
pub mod rpc;

use std::sync::Arc;

pub use backend::{ExternalBackend, fetch_info};
pub use client::{CANCEL, CallHandler, NoContext, PluginClient};
pub use discovery::{
    DEFAULT_SILENCE, PREFIX, PluginResolver, SILENCE_ENV, find, launch, plugins_dir,
};
pub use error::{APPLICATION_CODES, PluginError};
pub use handshake::{PROTOCOL_VERSIONS, PluginHello, initialize};

use crate::backend::Registry;

/// The built-in backends, then plugins found by name.
pub fn registry() -> Registry {
    Registry::builtin().resolving_with(Arc::new(PluginResolver))
}

#[cfg(test)]
mod tests;
