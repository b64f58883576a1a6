//! EC2 errors as the contract's typed failures, each naming the call that
//! failed. AWS error messages carry no credentials; the SDK's own display of
//! a request never includes the signing keys.

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};

use crate::backend::BackendError;
use crate::model::BackendFailureKind;

/// `call` is the EC2 operation, e.g. `RunInstances`.
pub fn api_error<E, R>(call: &str, error: &SdkError<E, R>) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = inner.code().unwrap_or("Unknown");
            let message = inner.message().unwrap_or("no message");
            BackendError::new(
                kind_of(code),
                format!("EC2 {call} failed: {code}: {message}"),
            )
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            BackendError::new(
                BackendFailureKind::Transient,
                format!("EC2 {call} failed: {}", describe(error)),
            )
        }
        _ => BackendError::other(format!("EC2 {call} failed: {}", describe(error))),
    }
}

/// The error and its sources, one line.
fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn kind_of(code: &str) -> BackendFailureKind {
    match code {
        _ if code.ends_with(".NotFound") || code.ends_with(".Malformed") && code.contains("ID") => {
            if code.starts_with("InvalidAMIID") {
                BackendFailureKind::Invalid
            } else {
                BackendFailureKind::NotFound
            }
        }
        "DependencyViolation" | "InvalidGroup.InUse" | "IncorrectInstanceState" => {
            BackendFailureKind::InUse
        }
        "RequestLimitExceeded"
        | "Throttling"
        | "ThrottlingException"
        | "InternalError"
        | "ServiceUnavailable"
        | "Unavailable"
        | "InsufficientInstanceCapacity" => BackendFailureKind::Transient,
        "AuthFailure"
        | "UnauthorizedOperation"
        | "InvalidClientTokenId"
        | "SignatureDoesNotMatch"
        | "OptInRequired"
        | "Blocked" => BackendFailureKind::Auth,
        "InstanceLimitExceeded"
        | "VcpuLimitExceeded"
        | "MaxSpotInstanceCountExceeded"
        | "ResourceLimitExceeded"
        | "RulesPerSecurityGroupLimitExceeded" => BackendFailureKind::Quota,
        _ if code.starts_with("Invalid") || code == "MissingParameter" => {
            BackendFailureKind::Invalid
        }
        _ => BackendFailureKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_the_failures_the_engine_acts_on() {
        assert_eq!(
            kind_of("InvalidInstanceID.NotFound"),
            BackendFailureKind::NotFound
        );
        assert_eq!(
            kind_of("InvalidGroup.NotFound"),
            BackendFailureKind::NotFound
        );
        assert_eq!(
            kind_of("InvalidAMIID.NotFound"),
            BackendFailureKind::Invalid
        );
        assert_eq!(kind_of("DependencyViolation"), BackendFailureKind::InUse);
        assert_eq!(
            kind_of("RequestLimitExceeded"),
            BackendFailureKind::Transient
        );
        assert_eq!(kind_of("AuthFailure"), BackendFailureKind::Auth);
        assert_eq!(kind_of("VcpuLimitExceeded"), BackendFailureKind::Quota);
        assert_eq!(
            kind_of("InvalidParameterValue"),
            BackendFailureKind::Invalid
        );
        assert_eq!(kind_of("Weird"), BackendFailureKind::Other);
    }
}
