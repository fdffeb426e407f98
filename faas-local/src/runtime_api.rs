//! The Lambda Runtime API one instance talks to, on its own loopback port.
//!
//! The platform hands an instance one invocation at a time through a channel of capacity
//! one; the runtime takes it with `/next` and answers with `/response` or `/error`. Every
//! step is reported back to the waiting invoke as `Progress`.
//!
//! The API belongs to its instance: every route lives under the instance's key
//! (`/<key>/2018-06-01/...`, see `runtime_key`) and a request without it is refused at once;
//! one `/next` may wait at a time; answers are taken only for the invocation handed out.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tracing::{info, warn};

use crate::function::FunctionContext;
use crate::ids;
use crate::instance::Readiness;
use crate::payload::{read_limited, PayloadError};
use crate::runtime_key::RuntimeKey;
use crate::snapshot::CHECKPOINT_HEADER;

const ERROR_TYPE_HEADER: &str = "lambda-runtime-function-error-type";

/// One invocation on its way to an instance.
pub(crate) struct Invocation {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) progress: mpsc::UnboundedSender<Progress>,
}

pub(crate) enum Progress {
    /// The runtime took the invocation; it must answer before `deadline`.
    Started {
        deadline: Instant,
    },
    Finished(RuntimeOutcome),
}

pub(crate) enum RuntimeOutcome {
    Response(Bytes),
    /// The body posted to `/error`, an object with `errorMessage` and `errorType`.
    Error(Value),
    /// The body posted to `/init/error`; the instance is unusable.
    InitError(Value),
    ResponseTooLarge(usize),
    /// The runtime asked for the next invocation without answering this one.
    Abandoned,
}

struct InFlight {
    request_id: String,
    progress: mpsc::UnboundedSender<Progress>,
}

impl InFlight {
    fn finish(self, outcome: RuntimeOutcome) {
        // The invoke may have given up already (timeout); then nobody needs the outcome.
        let _ = self.progress.send(Progress::Finished(outcome));
    }
}

impl Invocation {
    /// Reports how the invocation ended (if the invoke still waits for it).
    pub(crate) fn finish(&self, outcome: RuntimeOutcome) {
        let _ = self.progress.send(Progress::Finished(outcome));
    }
}

/// State shared by one instance's Runtime API handlers.
pub(crate) struct RuntimeState {
    function: Arc<FunctionContext>,
    instance_id: String,
    key: RuntimeKey,
    queue: tokio::sync::Mutex<mpsc::Receiver<Invocation>>,
    current: Mutex<Option<InFlight>>,
    readiness: Readiness,
    kill: Arc<Notify>,
    /// The instance can be checkpointed (it was started for snapshots).
    checkpointable: bool,
    /// Invocations handed out.
    served: AtomicU64,
}

impl RuntimeState {
    pub(crate) fn new(
        function: Arc<FunctionContext>,
        instance_id: String,
        key: RuntimeKey,
        queue: mpsc::Receiver<Invocation>,
        readiness: Readiness,
        kill: Arc<Notify>,
        checkpointable: bool,
    ) -> Self {
        Self {
            function,
            instance_id,
            key,
            queue: tokio::sync::Mutex::new(queue),
            current: Mutex::new(None),
            readiness,
            kill,
            checkpointable,
            served: AtomicU64::new(0),
        }
    }

    /// Whether this instance should be checkpointed before its next invocation (it then is).
    fn claims_checkpoint(&self) -> bool {
        self.checkpointable
            && self.function.snapshots.as_ref().is_some_and(|snapshots| {
                snapshots.claim_checkpoint(self.served.load(Ordering::Relaxed), &self.instance_id)
            })
    }

    fn take_current(&self, request_id: &str) -> Option<InFlight> {
        let mut current = self.current.lock();
        if current.as_ref()?.request_id == request_id {
            current.take()
        } else {
            None
        }
    }

    fn is_current(&self, request_id: &str) -> bool {
        self.current
            .lock()
            .as_ref()
            .is_some_and(|c| c.request_id == request_id)
    }
}

pub(crate) fn router(state: Arc<RuntimeState>) -> Router {
    Router::new()
        .route("/{key}/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/{key}/2018-06-01/runtime/invocation/{request_id}/response",
            post(response),
        )
        .route(
            "/{key}/2018-06-01/runtime/invocation/{request_id}/error",
            post(error),
        )
        .route("/{key}/2018-06-01/runtime/init/error", post(init_error))
        // On every route, before any handler (and before any body is read).
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key))
        .fallback(|| async {
            runtime_error(
                StatusCode::NOT_FOUND,
                "UnknownOperation",
                "not a Runtime API path (/<key>/2018-06-01/runtime/...)".to_owned(),
            )
        })
        .with_state(state)
}

/// The path of an invocation's answer.
#[derive(Deserialize)]
struct InvocationPath {
    request_id: String,
}

/// Refuses, at once, any request whose first path segment is not the instance's key.
async fn require_key(
    State(state): State<Arc<RuntimeState>>,
    request: Request,
    next: Next,
) -> Response {
    let key = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if state.key.matches(key) {
        return next.run(request).await;
    }
    warn!(
        function = state.function.name(),
        instance = %state.instance_id,
        method = %request.method(),
        "refused a Runtime API request without the instance's key"
    );
    runtime_error(
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "this Runtime API belongs to one instance: use the address in its AWS_LAMBDA_RUNTIME_API"
            .to_owned(),
    )
}

/// Blocks until the platform has an invocation for this instance. Never times out. One
/// request may wait at a time: a second one is refused at once rather than queued behind it.
async fn next(State(state): State<Arc<RuntimeState>>) -> Response {
    let Ok(mut queue) = state.queue.try_lock() else {
        return runtime_error(
            StatusCode::CONFLICT,
            "ConcurrentPoll",
            "another /next request is already waiting for this instance's invocation; poll one at a time"
                .to_owned(),
        );
    };
    // The first `/next` call ends the cold start.
    state.readiness.mark_ready();
    if state.claims_checkpoint() {
        info!(
            function = state.function.name(),
            instance = %state.instance_id,
            "asking the instance to prepare for a checkpoint"
        );
        let mut response = Response::new(Body::empty());
        let headers = response.headers_mut();
        headers.insert(CHECKPOINT_HEADER, HeaderValue::from_static("prepare"));
        headers.insert(
            "lambda-runtime-aws-request-id",
            HeaderValue::from_static("checkpoint"),
        );
        return response;
    }
    let invocation = queue.recv().await;
    drop(queue);
    let Some(invocation) = invocation else {
        return runtime_error(
            StatusCode::GONE,
            "InstanceStopping",
            "this instance is being stopped".to_owned(),
        );
    };
    state.served.fetch_add(1, Ordering::Relaxed);
    let timeout = state.function.config.timeout;
    let deadline_ms = ids::epoch_millis(SystemTime::now() + timeout);
    let previous = state.current.lock().replace(InFlight {
        request_id: invocation.request_id.clone(),
        progress: invocation.progress.clone(),
    });
    if let Some(previous) = previous {
        warn!(
            function = state.function.name(),
            instance = %state.instance_id,
            request_id = %previous.request_id,
            "runtime asked for the next invocation without answering the current one"
        );
        previous.finish(RuntimeOutcome::Abandoned);
    }
    let _ = invocation.progress.send(Progress::Started {
        deadline: Instant::now() + timeout,
    });

    let mut response = Response::new(Body::from(invocation.payload));
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set("content-type", "application/json");
    set("lambda-runtime-aws-request-id", &invocation.request_id);
    set("lambda-runtime-deadline-ms", &deadline_ms.to_string());
    set("lambda-runtime-invoked-function-arn", &state.function.arn);
    set("lambda-runtime-trace-id", &ids::trace_id());
    response
}

async fn response(
    State(state): State<Arc<RuntimeState>>,
    Path(InvocationPath { request_id }): Path<InvocationPath>,
    body: Body,
) -> Response {
    if !state.is_current(&request_id) {
        return unknown_request(&request_id);
    }
    let read = read_limited(body).await;
    let Some(in_flight) = state.take_current(&request_id) else {
        return unknown_request(&request_id);
    };
    match read {
        Ok(payload) => {
            in_flight.finish(RuntimeOutcome::Response(payload));
            accepted()
        }
        Err(PayloadError::TooLarge(size)) => {
            in_flight.finish(RuntimeOutcome::ResponseTooLarge(size));
            runtime_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!(
                    "response of {size} bytes or more exceeds the limit of {} bytes",
                    crate::payload::PAYLOAD_LIMIT
                ),
            )
        }
        Err(err @ PayloadError::Read(_)) => {
            // Keep the invocation: the runtime may post its response again.
            *state.current.lock() = Some(in_flight);
            runtime_error(StatusCode::BAD_REQUEST, "InvalidRequest", err.to_string())
        }
    }
}

async fn error(
    State(state): State<Arc<RuntimeState>>,
    Path(InvocationPath { request_id }): Path<InvocationPath>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !state.is_current(&request_id) {
        return unknown_request(&request_id);
    }
    let error = match read_error_body(&headers, body).await {
        Ok(error) => error,
        Err(response) => return response,
    };
    match state.take_current(&request_id) {
        Some(in_flight) => {
            in_flight.finish(RuntimeOutcome::Error(error));
            accepted()
        }
        None => unknown_request(&request_id),
    }
}

/// The runtime could not initialise: fail the invocation waiting for it and stop it.
async fn init_error(
    State(state): State<Arc<RuntimeState>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let error = match read_error_body(&headers, body).await {
        Ok(error) => error,
        Err(response) => return response,
    };
    warn!(
        function = state.function.name(),
        instance = %state.instance_id,
        error = %error,
        "instance failed to initialise"
    );
    let in_flight = state.current.lock().take();
    let waiting = match in_flight {
        Some(in_flight) => Some(in_flight),
        None => state
            .queue
            .try_lock()
            .ok()
            .and_then(|mut queue| queue.try_recv().ok())
            .map(|invocation| InFlight {
                request_id: invocation.request_id,
                progress: invocation.progress,
            }),
    };
    if let Some(in_flight) = waiting {
        in_flight.finish(RuntimeOutcome::InitError(error));
    }
    state.kill.notify_one();
    accepted()
}

/// Parses `{"errorMessage","errorType",..}`; a missing type comes from the
/// `Lambda-Runtime-Function-Error-Type` header.
async fn read_error_body(headers: &HeaderMap, body: Body) -> Result<Value, Response> {
    let bytes = read_limited(body)
        .await
        .map_err(|e| runtime_error(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()))?;
    let mut error = match serde_json::from_slice::<Value>(&bytes) {
        Ok(value @ Value::Object(_)) => value,
        _ => return Err(runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidErrorShape",
            "error body must be a JSON object like {\"errorMessage\":\"..\",\"errorType\":\"..\"}"
                .to_owned(),
        )),
    };
    if !error["errorType"].is_string() {
        let header_type = headers
            .get(ERROR_TYPE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("Unhandled");
        error["errorType"] = header_type.into();
    }
    if !error["errorMessage"].is_string() {
        error["errorMessage"] = "".into();
    }
    Ok(error)
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({ "status": "OK" }))).into_response()
}

fn unknown_request(request_id: &str) -> Response {
    runtime_error(
        StatusCode::NOT_FOUND,
        "InvalidRequestID",
        format!("request id {request_id} is not the invocation this instance is running"),
    )
}

fn runtime_error(status: StatusCode, error_type: &str, message: String) -> Response {
    (
        status,
        axum::Json(json!({ "errorMessage": message, "errorType": error_type })),
    )
        .into_response()
}
