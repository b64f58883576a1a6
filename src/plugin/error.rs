//! How talking to a plugin failed, naming the plugin, the call and what was
//! wrong; and how that becomes a typed backend failure.

use serde_json::Value;

use super::rpc::{INVALID_PARAMS, METHOD_NOT_FOUND};
use crate::backend::BackendError;
use crate::model::{BackendFailure, BackendFailureKind};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginError {
    #[error("plugin {plugin}: cannot start {path}: {reason}")]
    Start {
        plugin: String,
        path: String,
        reason: String,
    },
    /// Crashed, wrote garbage, answered an id no call waits for, closed its
    /// output, or was killed after one of those.
    #[error("plugin {plugin} failed during {method}: {detail}")]
    Broken {
        plugin: String,
        method: String,
        detail: String,
    },
    #[error(
        "plugin {plugin} timed out during {method}: no answer and no notification for {seconds} s"
    )]
    Timeout {
        plugin: String,
        method: String,
        seconds: u64,
    },
    #[error("plugin {plugin} answered {method} with error {code}: {message}")]
    Rpc {
        plugin: String,
        method: String,
        code: i64,
        message: String,
        data: Option<Value>,
    },
    #[error("plugin {plugin} answered {method} with a result of the wrong shape: {detail}")]
    Shape {
        plugin: String,
        method: String,
        detail: String,
    },
    #[error("plugin {plugin} speaks protocol version {answered}; clusterdeck speaks {offered}")]
    Version {
        plugin: String,
        offered: String,
        answered: String,
    },
    #[error("plugin {plugin}: {detail}")]
    Handshake { plugin: String, detail: String },
}

/// Application error codes a plugin may answer instead of giving a
/// failure as `data`, by failure kind (docs/plugin-protocol.md).
pub const APPLICATION_CODES: &[(i64, BackendFailureKind)] = &[
    (-32000, BackendFailureKind::Other),
    (-32001, BackendFailureKind::NotFound),
    (-32002, BackendFailureKind::InUse),
    (-32003, BackendFailureKind::Unsupported),
    (-32004, BackendFailureKind::Auth),
    (-32005, BackendFailureKind::Quota),
    (-32006, BackendFailureKind::Transient),
    (-32007, BackendFailureKind::Io),
    (-32008, BackendFailureKind::Invalid),
];

impl From<PluginError> for BackendError {
    fn from(error: PluginError) -> Self {
        match error {
            PluginError::Rpc {
                plugin,
                method,
                code,
                message,
                data,
            } => {
                if code == METHOD_NOT_FOUND {
                    return BackendError::unsupported(
                        &plugin,
                        &format!("{method} (not implemented by the plugin)"),
                    );
                }
                if let Some(failure) =
                    data.and_then(|data| serde_json::from_value::<BackendFailure>(data).ok())
                {
                    return BackendError::new(
                        failure.kind,
                        format!("plugin {plugin}: {}", failure.message),
                    );
                }
                let kind = APPLICATION_CODES
                    .iter()
                    .find(|(known, _)| *known == code)
                    .map(|(_, kind)| *kind)
                    .unwrap_or(if code == INVALID_PARAMS {
                        BackendFailureKind::Invalid
                    } else {
                        BackendFailureKind::Plugin { code }
                    });
                BackendError::new(kind, format!("plugin {plugin} ({method}): {message}"))
            }
            other => BackendError::other(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rpc(code: i64, data: Option<Value>) -> BackendError {
        PluginError::Rpc {
            plugin: "dirs".into(),
            method: "power".into(),
            code,
            message: "no".into(),
            data,
        }
        .into()
    }

    #[test]
    fn rpc_errors_become_typed_failures() {
        let missing = rpc(METHOD_NOT_FOUND, None);
        assert_eq!(missing.kind(), BackendFailureKind::Unsupported);
        assert!(
            missing.to_string().contains("\"dirs\" cannot power"),
            "{missing}"
        );
        let gone = rpc(
            -32000,
            Some(json!({"kind": "not_found", "message": "gone"})),
        );
        assert!(gone.is_not_found());
        assert_eq!(gone.to_string(), "plugin dirs: gone");
        assert_eq!(rpc(-32002, None).kind(), BackendFailureKind::InUse);
        assert_eq!(
            rpc(INVALID_PARAMS, None).kind(),
            BackendFailureKind::Invalid
        );
        assert_eq!(rpc(7, None).kind(), BackendFailureKind::Plugin { code: 7 });
        let broken: BackendError = PluginError::Broken {
            plugin: "dirs".into(),
            method: "create_group".into(),
            detail: "exited (exit status: 3) without answering".into(),
        }
        .into();
        assert_eq!(broken.kind(), BackendFailureKind::Other);
        assert_eq!(
            broken.to_string(),
            "plugin dirs failed during create_group: exited (exit status: 3) without answering"
        );
    }
}
