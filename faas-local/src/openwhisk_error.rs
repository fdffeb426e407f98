//! OpenWhisk API errors, as its controller gives them: `{"error": message, "code": transaction
//! id}`, the transaction id also in `X-Request-ID`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ids;

#[derive(Debug)]
pub(crate) struct OwError {
    status: StatusCode,
    message: String,
}

/// An error's message, waiting in the response for `with_transaction_id` to write the body.
#[derive(Clone)]
struct ErrorMessage(String);

impl OwError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "The requested resource does not exist.",
        )
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "The supplied authentication is invalid",
        )
    }

    pub(crate) fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "The supplied authentication is not authorized to access this resource.",
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn malformed(detail: impl std::fmt::Display) -> Self {
        Self::bad_request(format!("The request content was malformed:\n{detail}"))
    }

    pub(crate) fn conflict() -> Self {
        Self::new(StatusCode::CONFLICT, "resource already exists")
    }

    pub(crate) fn too_large(size: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request larger than allowed: {size} > {} bytes.",
                crate::payload::PAYLOAD_LIMIT
            ),
        )
    }

    /// The action already runs its limit of instances at once.
    pub(crate) fn too_many_concurrent(limit: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many concurrent requests in flight (count: {limit}, allowed: {limit})."),
        )
    }

    /// Paced instance starts: `starting` instances are already starting on shared CPUs.
    pub(crate) fn starts_paced(starting: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many instances starting at once (count: {starting}, allowed: {starting}); more would share their CPUs."),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for OwError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(ErrorMessage(self.message));
        response
    }
}

/// Gives every request a transaction id (`X-Request-ID`) and writes error bodies with it;
/// the router's own refusals (a method a path does not take) get the same shape.
pub(crate) async fn with_transaction_id(request: Request, next: Next) -> Response {
    let code = ids::activation_id();
    let mut response = next.run(request).await;
    let message = match response.extensions_mut().remove::<ErrorMessage>() {
        Some(ErrorMessage(message)) => Some(message),
        None if response.status() == StatusCode::METHOD_NOT_ALLOWED => {
            Some("HTTP method not allowed.".to_owned())
        }
        None => None,
    };
    if let Some(message) = message {
        let body = json!({ "error": message, "code": code }).to_string();
        *response.body_mut() = Body::from(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_LENGTH);
    }
    if let Ok(value) = HeaderValue::from_str(&code) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
