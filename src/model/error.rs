//! How a backend operation failed, as data: a plugin sends it back over
//! JSON-RPC unchanged, and the engine decides from the kind whether to retry,
//! count a resource as gone, or report it.

use serde::{Deserialize, Serialize};

/// What sort of failure; serialized as `"kind": "not_found"` etc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackendFailureKind {
    /// The resource does not exist (for destroy: already gone).
    NotFound,
    /// Something still uses it; retried, since that usually ends.
    InUse,
    /// The backend cannot do this at all.
    Unsupported,
    /// Credentials missing, wrong or refused.
    Auth,
    /// A limit of the provider was reached.
    Quota,
    /// Worth retrying as is (rate limit, timeout, a flaky API).
    Transient,
    /// A plugin's own error, with its code.
    Plugin {
        code: i64,
    },
    Io,
    /// clusterdeck's own state could not be read or written.
    State,
    /// The request itself is wrong (a bad option, a name it cannot take).
    Invalid,
    Other,
}

impl BackendFailureKind {
    /// Whether trying again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::InUse)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::InUse => "in_use",
            Self::Unsupported => "unsupported",
            Self::Auth => "auth",
            Self::Quota => "quota",
            Self::Transient => "transient",
            Self::Plugin { .. } => "plugin",
            Self::Io => "io",
            Self::State => "state",
            Self::Invalid => "invalid",
            Self::Other => "other",
        }
    }
}

/// A failure: its kind and a message for the user, never holding a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendFailure {
    #[serde(flatten)]
    pub kind: BackendFailureKind,
    pub message: String,
}

impl BackendFailure {
    pub fn new(kind: BackendFailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_serialize_flat_with_their_kind_and_read_back() {
        let plugin = BackendFailure::new(BackendFailureKind::Plugin { code: -32001 }, "boom");
        let json = serde_json::to_string(&plugin).expect("serializes");
        assert_eq!(json, r#"{"kind":"plugin","code":-32001,"message":"boom"}"#);
        assert_eq!(
            serde_json::from_str::<BackendFailure>(&json).expect("reads"),
            plugin
        );
        let gone: BackendFailure =
            serde_json::from_str(r#"{"kind":"not_found","message":"no such vm"}"#).expect("reads");
        assert_eq!(gone.kind, BackendFailureKind::NotFound);
        assert!(BackendFailureKind::InUse.is_retryable());
        assert!(!BackendFailureKind::Auth.is_retryable());
    }
}
