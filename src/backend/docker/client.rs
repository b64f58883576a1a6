//! The engine connection as the backend uses it: failures become typed
//! backend errors that say which call failed and on what.

use bollard::Docker;
use bollard::errors::Error;

use crate::backend::BackendError;
use crate::model::BackendFailureKind;
use crate::transport::ConnectErrorKind;
use crate::transport::docker::{connect_engine, describe, engine_address, status_code};

/// A client for the engine, or an error saying where it was looked for.
pub async fn engine() -> Result<Docker, BackendError> {
    connect_engine().await.map_err(|err| {
        let kind = match err.kind {
            ConnectErrorKind::Auth => BackendFailureKind::Auth,
            ConnectErrorKind::Refused | ConnectErrorKind::Timeout => BackendFailureKind::Transient,
            _ => BackendFailureKind::Other,
        };
        BackendError::new(
            kind,
            format!(
                "{}; is dockerd running, and is DOCKER_HOST right (now {})?",
                err.message,
                engine_address()
            ),
        )
    })
}

/// A failed engine call on `what` (`remove container x`): 404 is
/// `not_found`, 409 and "in use" are `in_use`, timeouts are `transient`.
pub fn api_error(what: &str, err: &Error) -> BackendError {
    let message = format!("docker: cannot {what}: {}", describe(err));
    let kind = match (status_code(err), err) {
        (Some(404), _) => BackendFailureKind::NotFound,
        (Some(409), _) => BackendFailureKind::InUse,
        (Some(403), _) if message.contains("active endpoints") => BackendFailureKind::InUse,
        (Some(500..=599), _) if message.contains("in use") => BackendFailureKind::InUse,
        // No answer at all: the engine is down or restarting.
        (None, _) => BackendFailureKind::Transient,
        _ => BackendFailureKind::Other,
    };
    BackendError::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> Error {
        Error::DockerResponseServerError {
            status_code,
            message: message.to_owned(),
        }
    }

    #[test]
    fn engine_answers_map_to_failure_kinds() {
        let gone = api_error("remove container c", &server(404, "No such container: c"));
        assert!(gone.is_not_found());
        assert_eq!(
            gone.to_string(),
            "docker: cannot remove container c: No such container: c (HTTP 404)"
        );
        let busy = api_error(
            "remove network n",
            &server(
                403,
                "error while removing network: network n has active endpoints",
            ),
        );
        assert_eq!(busy.kind(), BackendFailureKind::InUse);
        assert_eq!(
            api_error("create container", &server(409, "Conflict")).kind(),
            BackendFailureKind::InUse
        );
        assert_eq!(
            api_error("create container", &server(400, "bad")).kind(),
            BackendFailureKind::Other
        );
        assert_eq!(
            api_error("list", &Error::RequestTimeoutError).kind(),
            BackendFailureKind::Transient
        );
    }
}
