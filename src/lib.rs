//! clusterdeck: create, install, validate and debug clusters of machines
//! through pluggable backends, from a terminal dashboard or headless.

pub mod backend;
pub mod checks;
pub mod distribution;
pub mod engine;
pub mod headless;
pub mod model;
pub mod plugin;
pub mod spec;
pub mod state;
pub mod text;
pub mod transport;
pub mod tui;
