//! The error every backend operation returns: a typed [`BackendFailure`]
//! (plain data a plugin can send), wrapped for `?` and `Display`.

use crate::model::{BackendFailure, BackendFailureKind};
use crate::state::StateError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.message)]
pub struct BackendError(pub BackendFailure);

impl BackendError {
    pub fn new(kind: BackendFailureKind, message: impl Into<String>) -> Self {
        Self(BackendFailure::new(kind, message))
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(BackendFailureKind::NotFound, message)
    }

    pub fn in_use(message: impl Into<String>) -> Self {
        Self::new(BackendFailureKind::InUse, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(BackendFailureKind::Invalid, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::new(BackendFailureKind::Other, message)
    }

    /// The backend `kind` cannot do `operation`, said so the user knows why.
    pub fn unsupported(kind: &str, operation: &str) -> Self {
        Self::new(
            BackendFailureKind::Unsupported,
            format!("backend {kind:?} cannot {operation}"),
        )
    }

    /// An I/O failure with what was being done.
    pub fn io(context: impl std::fmt::Display, source: &std::io::Error) -> Self {
        Self::new(BackendFailureKind::Io, format!("{context}: {source}"))
    }

    pub fn kind(&self) -> BackendFailureKind {
        self.0.kind
    }

    pub fn failure(&self) -> &BackendFailure {
        &self.0
    }

    /// In use or transient: trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        self.0.kind.is_retryable()
    }

    pub fn is_not_found(&self) -> bool {
        self.0.kind == BackendFailureKind::NotFound
    }
}

impl From<BackendFailure> for BackendError {
    fn from(failure: BackendFailure) -> Self {
        Self(failure)
    }
}

impl From<BackendError> for BackendFailure {
    fn from(error: BackendError) -> Self {
        error.0
    }
}

impl From<StateError> for BackendError {
    fn from(error: StateError) -> Self {
        Self::new(BackendFailureKind::State, error.to_string())
    }
}

impl From<std::io::Error> for BackendError {
    fn from(error: std::io::Error) -> Self {
        Self::new(BackendFailureKind::Io, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_decide_retry_and_gone_and_the_message_is_the_display() {
        let busy = BackendError::in_use("network has endpoints");
        assert!(busy.is_retryable() && !busy.is_not_found());
        assert_eq!(busy.to_string(), "network has endpoints");
        let gone = BackendError::not_found("no such vm");
        assert!(gone.is_not_found() && !gone.is_retryable());
        let io: BackendError = std::io::Error::from(std::io::ErrorKind::PermissionDenied).into();
        assert_eq!(io.kind(), BackendFailureKind::Io);
        let unsupported = BackendError::unsupported("ssh", "stop machines");
        assert_eq!(
            unsupported.to_string(),
            "backend \"ssh\" cannot stop machines"
        );
    }
}
