//! How a command failed, and the exit status each kind of failure maps to.
//!
//! Its own module so `commands` and `views` both use it without importing
//! each other.

use std::process::ExitCode;

use clusterdeck::engine::EngineError;

/// Why a command did not succeed; each maps to its own exit status.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: a spec, an argument, an unknown cluster. Exit 2.
    Input(String),
    /// The operation ran and failed. Exit 1.
    Failed(String),
    /// Stopped by Ctrl-C or SIGTERM. Exit 130.
    Cancelled(String),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Input(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
            Self::Cancelled(_) => ExitCode::from(130),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Input(message) | Self::Failed(message) | Self::Cancelled(message) => message,
        }
    }
}

impl From<EngineError> for Failure {
    fn from(err: EngineError) -> Self {
        use clusterdeck::state::StateError;
        match &err {
            EngineError::State(
                StateError::UnknownCluster { .. }
                | StateError::InvalidName { .. }
                | StateError::AlreadyExists { .. }
                | StateError::Leftover { .. },
            )
            | EngineError::Invalid(_) => Self::Input(err.to_string()),
            EngineError::State(_) | EngineError::Backend(_) => Self::Failed(err.to_string()),
        }
    }
}
