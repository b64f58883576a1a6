//! The connection to the Docker engine: `DOCKER_HOST` or the default socket,
//! with the API version negotiated down to what the daemon speaks (Debian 12's
//! dockerd stops at 1.41, below bollard's default).

use bollard::Docker;
use bollard::errors::Error;

use crate::transport::{ConnectError, ConnectErrorKind};

/// Where the engine is, for messages: `DOCKER_HOST` or the default socket.
pub fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// A client for the engine, version negotiated. Made per use rather than
/// shared process-wide: a client's connection pool belongs to the tokio
/// runtime that made it.
pub async fn connect_engine() -> Result<Docker, ConnectError> {
    let docker = Docker::connect_with_defaults().map_err(|err| {
        ConnectError::new(
            ConnectErrorKind::Other,
            format!(
                "cannot use the docker engine at {}: {err}",
                engine_address()
            ),
        )
    })?;
    docker.negotiate_version().await.map_err(|err| {
        ConnectError::new(
            engine_error_kind(&err),
            format!(
                "the docker engine at {} does not answer: {}",
                engine_address(),
                describe(&err)
            ),
        )
    })
}

/// How a failed engine call failed, for callers that tell "down" from "refused".
pub fn engine_error_kind(err: &Error) -> ConnectErrorKind {
    match err {
        Error::RequestTimeoutError => ConnectErrorKind::Timeout,
        Error::IOError { err } => match err.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                ConnectErrorKind::Refused
            }
            std::io::ErrorKind::PermissionDenied => ConnectErrorKind::Auth,
            _ => ConnectErrorKind::Other,
        },
        Error::DockerResponseServerError { .. } => ConnectErrorKind::Other,
        _ => {
            let text = err.to_string();
            if text.contains("No such file") || text.contains("onnection refused") {
                ConnectErrorKind::Refused
            } else if text.contains("ermission denied") {
                ConnectErrorKind::Auth
            } else {
                ConnectErrorKind::Other
            }
        }
    }
}

/// The engine's own message for a refused request, else bollard's.
pub fn describe(err: &Error) -> String {
    match err {
        Error::DockerResponseServerError {
            status_code,
            message,
        } => format!("{message} (HTTP {status_code})"),
        other => other.to_string(),
    }
}

/// The HTTP status the engine answered with, when it answered.
pub fn status_code(err: &Error) -> Option<u16> {
    match err {
        Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}
