//! The Lambda API surface: Invoke, the function-management subset, and `/local/stats`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use bytes::Bytes;

use crate::api_error::ApiError;
use crate::ids;
use crate::invocation::{self, InvokeOutcome, Refused};
use crate::loopback_guard;
use crate::management_api;
use crate::payload::{read_limited, PayloadError};
use crate::registry::Registry;

/// The id of one API request, also the Lambda request id of an invocation.
#[derive(Clone)]
pub(crate) struct RequestId(pub(crate) String);

pub(crate) fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{name}/invocations", post(invoke))
        .merge(management_api::routes())
        .merge(crate::stats::routes(registry.clone()))
        .fallback(|request: Request| async move {
            ApiError::unknown_operation(request.method().as_str(), request.uri().path())
        })
        .layer(middleware::from_fn(loopback_guard::refuse_browsers))
        .layer(middleware::from_fn(with_request_id))
        .with_state(registry)
}

async fn with_request_id(mut request: Request, next: Next) -> Response {
    let id = ids::request_id();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", value);
    }
    response
}

enum InvocationType {
    RequestResponse,
    DryRun,
}

/// The `Qualifier` query parameter of Invoke and the provisioned-concurrency calls.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct QualifierQuery {
    pub(crate) qualifier: Option<String>,
}

async fn invoke(
    State(registry): State<Arc<Registry>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (name, qualifier) = qualified_name(&function, query.qualifier.as_deref())?;
    let pool = registry.resolve(name, qualifier)?;
    let invocation_type = invocation_type(&headers)?;
    let payload = read_limited(body).await.map_err(|e| match e {
        PayloadError::TooLarge(size) => ApiError::request_too_large(size),
        PayloadError::Read(e) => {
            ApiError::invalid_content(format!("could not read the request body: {e}"))
        }
    })?;
    let payload = invoke_payload(payload)?;
    let version = pool.function.version.clone();
    if let InvocationType::DryRun = invocation_type {
        return Ok(with_version(
            StatusCode::NO_CONTENT.into_response(),
            &version,
        ));
    }

    // Own task: a client hanging up must not strand the instance mid-invocation.
    let outcome = tokio::spawn(invocation::invoke(pool, request_id, payload))
        .await
        .map_err(|e| ApiError::service(format!("the invocation failed inside faas-local: {e}")))?;
    let response = match outcome {
        Ok(InvokeOutcome::Response(payload)) => json_response(payload),
        Ok(InvokeOutcome::FunctionError(error)) => {
            let mut response = json_response(Bytes::from(error.to_string()));
            response.headers_mut().insert(
                "x-amz-function-error",
                HeaderValue::from_static("Unhandled"),
            );
            response
        }
        Err(Refused::Throttled { limit }) => return Err(ApiError::throttled(name, limit)),
        Err(Refused::StartsPaced { starting }) => {
            return Err(ApiError::starts_paced(name, starting))
        }
        Err(Refused::Gone) => return Err(ApiError::function_not_found(name)),
    };
    Ok(with_version(response, &version))
}

/// The payload an Invoke passes to the function: any JSON document, `{}` when the body is empty.
pub(crate) fn invoke_payload(payload: Bytes) -> Result<Bytes, ApiError> {
    if payload.is_empty() {
        return Ok(Bytes::from_static(b"{}"));
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(&payload).map_err(|e| {
        ApiError::invalid_content(format!("Could not parse request body into json: {e}"))
    })?;
    Ok(payload)
}

/// A function name, full or partial ARN, or `name:qualifier`, split into name and qualifier.
pub(crate) fn split_qualifier(function: &str) -> (&str, Option<&str>) {
    let name = function
        .split_once(":function:")
        .map_or(function, |(_, rest)| rest);
    match name.split_once(':') {
        None => (name, None),
        Some((name, qualifier)) => (name, Some(qualifier)),
    }
}

/// The name and qualifier of a request, where the qualifier may come in the path or the
/// `Qualifier` parameter (both: they must agree, as on Lambda).
pub(crate) fn qualified_name<'a>(
    function: &'a str,
    parameter: Option<&'a str>,
) -> Result<(&'a str, Option<&'a str>), ApiError> {
    let (name, in_path) = split_qualifier(function);
    match (in_path, parameter) {
        (Some(a), Some(b)) if a != b => Err(ApiError::invalid_parameter(format!(
            "the qualifier in the function name ({a}) differs from the Qualifier parameter ({b})"
        ))),
        (qualifier, parameter) => Ok((name, qualifier.or(parameter))),
    }
}

fn invocation_type(headers: &HeaderMap) -> Result<InvocationType, ApiError> {
    let Some(value) = headers.get("x-amz-invocation-type") else {
        return Ok(InvocationType::RequestResponse);
    };
    match value.to_str() {
        Ok("RequestResponse") => Ok(InvocationType::RequestResponse),
        Ok("DryRun") => Ok(InvocationType::DryRun),
        Ok("Event") => Err(ApiError::invalid_parameter(
            "faas-local runs synchronous invocations only: use X-Amz-Invocation-Type RequestResponse (or DryRun), not Event",
        )),
        _ => Err(ApiError::invalid_parameter(format!(
            "X-Amz-Invocation-Type {value:?} is not one of RequestResponse, Event, DryRun"
        ))),
    }
}

fn json_response(body: Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn with_version(mut response: Response, version: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(version) {
        response
            .headers_mut()
            .insert("x-amz-executed-version", value);
    }
    response
}
