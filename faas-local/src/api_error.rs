//! Lambda API errors, in the shape the AWS SDKs parse: the type in `x-amzn-errortype`
//! and a JSON body `{"Type":"User","message":..}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::registry::LookupError;

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
    reason: Option<&'static str>,
}

impl ApiError {
    fn new(status: StatusCode, error_type: &'static str, message: String) -> Self {
        Self {
            status,
            error_type,
            message,
            reason: None,
        }
    }

    pub(crate) fn function_not_found(name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            format!("Function not found: {name}"),
        )
    }

    pub(crate) fn function_exists(name: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "ResourceConflictException",
            format!("Function already exist: {name}"),
        )
    }

    pub(crate) fn request_too_large(size: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            format!(
                "Request must be smaller than {} bytes for the Invoke operation (got {size} bytes or more)",
                crate::payload::PAYLOAD_LIMIT
            ),
        )
    }

    pub(crate) fn request_entity_too_large(message: String) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLargeException",
            message,
        )
    }

    /// Paced instance starts: `starting` instances are already starting on shared CPUs.
    pub(crate) fn starts_paced(name: &str, starting: usize) -> Self {
        Self {
            reason: Some("FunctionInvocationRateLimitExceeded"),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                format!("Rate Exceeded. Function {name} is already starting {starting} new instances; more would share their CPUs"),
            )
        }
    }

    pub(crate) fn throttled(name: &str, limit: usize) -> Self {
        Self {
            reason: Some("ConcurrentInvocationLimitExceeded"),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                format!("Rate Exceeded. Function {name} is already running its limit of {limit} concurrent instances"),
            )
        }
    }

    pub(crate) fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            message.into(),
        )
    }

    pub(crate) fn invalid_content(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            message.into(),
        )
    }

    pub(crate) fn unknown_operation(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "UnknownOperationException",
            format!("faas-local does not implement {method} {path}"),
        )
    }

    pub(crate) fn access_denied(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "AccessDeniedException",
            message.into(),
        )
    }

    pub(crate) fn service(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            message.into(),
        )
    }
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::NoFunction(_) | LookupError::NoQualifier(_) => Self::new(
                StatusCode::NOT_FOUND,
                "ResourceNotFoundException",
                e.to_string(),
            ),
            LookupError::AliasExists(_) => Self::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                e.to_string(),
            ),
            LookupError::Invalid(message) => Self::invalid_parameter(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_server_error() {
            "Service"
        } else {
            "User"
        };
        let mut body = json!({ "Type": kind, "message": self.message });
        if let Some(reason) = self.reason {
            body["Reason"] = reason.into();
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static(self.error_type),
        );
        response
    }
}
