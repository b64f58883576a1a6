//! Backends, validators and debuggers in other processes, in any language:
//! JSON-RPC 2.0 on the plugin's stdin/stdout, one message per line
//! (docs/plugin-protocol.md). The layer sits above `backend`: a backend
//! plugin is one more `Backend`, found by the registry when a spec names a
//! kind no built-in has; validator and debugger plugins are run by the
//! engine next to the built-in checks; a distribution plugin is one more
//! `Distribution`, held by the engine for one operation.

mod backend;
mod checker;
mod client;
pub mod conformance;
mod debugger;
mod discovery;
mod distribution;
mod distribution_host;
mod error;
mod handshake;
mod listing;
mod process;
pub mod rpc;
mod schema;
mod validator;

use std::sync::Arc;

pub use backend::{ExternalBackend, fetch_info};
pub use checker::{Checker, locate};
pub use client::{CANCEL, CallHandler, NoContext, PluginClient};
pub use debugger::{
    DEBUG, DebugRequest, HOST_RUN, HostRun, HostRunResult, UNREACHABLE, Verdict, run_debugger,
};
pub use discovery::{
    DEFAULT_SILENCE, Greeted, PREFIX, PluginResolver, SILENCE_ENV, find, greet, is_executable,
    launch, plugins_dir, silence,
};
pub use distribution::{
    CONFIGS, DISTRIBUTION_KIND, ExternalDistribution, LOG_PATHS, NODE_PROCESSES, OPEN_PORTS,
    VALIDATE_SCALING, VERSIONS, launch_distribution,
};
pub use distribution_host::{DEFAULT_PUT_MODE, HOST_PUT, HostPut};
pub use error::{APPLICATION_CODES, PluginError};
pub use handshake::{KINDS, PROTOCOL_VERSIONS, PluginHello, initialize};
pub use listing::{
    Described, FoundPlugin, LIST_SILENCE, PluginDescription, describe, describe_all, discover,
    discover_in,
};
pub use process::{Direction, Tap};
pub use schema::{SCHEMA_DOCUMENT, Schemas};
pub use validator::{Finding, FindingStatus, VALIDATE, ValidateRequest, run_validator};

use crate::backend::Registry;

/// The built-in backends, then plugins found by name.
pub fn registry() -> Registry {
    Registry::builtin().resolving_with(Arc::new(PluginResolver))
}

#[cfg(test)]
mod tests;
