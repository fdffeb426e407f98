//! Helpers shared by the integration tests: a minimal HTTP/1.1 client and a small server that
//! speaks the Lambda Invoke API.
#![allow(dead_code)]

pub mod jvm;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use semifaas_agent::{admin::AdminServer, closures::InFlight};
use semifaas_closure::{
    FailureKind, FunctionFailure, FunctionStats, Invocation, InvocationKind, InvocationOutcome,
    InvocationReply,
};
use semifaas_fallback::FallbackClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends one request to the admin endpoint with its token and `Connection: close`; returns the
/// status and body.
pub async fn http(admin: &AdminServer, method: &str, path: &str, body: &str) -> (u16, String) {
    raw_http(
        admin.local_addr(),
        &admin_request(admin, method, path, body),
    )
    .await
}

/// [`http`], or `None` when the server closed the connection without an answer (a connection
/// over its cap).
pub async fn try_http(
    admin: &AdminServer,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, String)> {
    try_raw_http(
        admin.local_addr(),
        &admin_request(admin, method, path, body),
    )
    .await
}

fn admin_request(admin: &AdminServer, method: &str, path: &str, body: &str) -> String {
    let addr = admin.local_addr();
    let token = admin.token().secret();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Sends `request` as it is and returns the status and body of the answer.
pub async fn raw_http(addr: SocketAddr, request: &str) -> (u16, String) {
    try_raw_http(addr, request)
        .await
        .expect("the admin endpoint answers with an HTTP response")
}

/// [`raw_http`], or `None` when the connection ends without a response head.
pub async fn try_raw_http(addr: SocketAddr, request: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the admin endpoint");
    // A connection closed at once may refuse the write or reset the read: no answer either way.
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.ok()?;
    let response = String::from_utf8(response).expect("UTF-8 response");
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    // Bodies here are small and never chunked by axum for fixed-size responses.
    Some((status, body.to_owned()))
}

/// What the fake platform saw.
#[derive(Default)]
pub struct PlatformLog {
    pub requests: AtomicUsize,
    /// Invocations whose capability was valid (in flight) while the platform held them.
    pub authorized_while_in_flight: AtomicUsize,
    /// Prewarm invocations the `prewarmer` function served.
    pub prewarms: AtomicUsize,
}

#[derive(Clone)]
struct PlatformState {
    in_flight: Option<Arc<InFlight>>,
    log: Arc<PlatformLog>,
}

fn reply(outcome: InvocationOutcome, stats: FunctionStats) -> Response {
    let body = InvocationReply { outcome, stats }.to_lambda_payload();
    (StatusCode::OK, body).into_response()
}

/// The function behaves according to its name:
/// `echo` returns the arguments (cold start), `thrower` throws, `failer` cannot run the handler,
/// `crasher` crashes (`X-Amz-Function-Error`), `busy` is throttled (429), `sleeper` never answers
/// in time, `garbage` answers something that is not a reply, `missing` does not exist,
/// `forbidden`, `badkey`, `toolarge` and `broken` answer Lambda's access-denied, bad-credentials,
/// request-too-large and service errors, `slowpoke` times out on the platform,
/// `fetcher` fetches its closure and a class over the fallback connection and returns the
/// closure's receiver bytes followed by the class bytes (and, for a `#remote` handler, the
/// outcome of a remote call), and `prewarmer` serves prewarms.
async fn invoke(
    State(state): State<PlatformState>,
    Path(function): Path<String>,
    body: Bytes,
) -> Response {
    state.log.requests.fetch_add(1, Ordering::SeqCst);
    let invocation = match Invocation::from_lambda_payload(&body) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if let Some(in_flight) = &state.in_flight {
        if in_flight.authorize(&invocation.capability).is_ok() {
            state
                .log
                .authorized_while_in_flight
                .fetch_add(1, Ordering::SeqCst);
        }
    }
    match function.as_str() {
        "echo" => reply(
            InvocationOutcome::Returned(invocation.args),
            FunctionStats { cold: true, jvm_start_us: 250_000, handler_us: 1_500, instance_id: "i-1".into(), ..Default::default() },
        ),
        "thrower" => reply(InvocationOutcome::Threw(b"exception bytes".to_vec()), FunctionStats::default()),
        "failer" => reply(
            InvocationOutcome::Failed(FunctionFailure {
                kind: FailureKind::ClosureUnavailable,
                message: "closure could not be fetched".into(),
            }),
            FunctionStats::default(),
        ),
        "crasher" => (
            StatusCode::OK,
            [("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorMessage":"process exited","errorType":"Runtime.ExitError"}"#,
        )
            .into_response(),
        "busy" => (
            StatusCode::TOO_MANY_REQUESTS,
            [("x-amzn-ErrorType", "TooManyRequestsException"), ("content-type", "application/json")],
            r#"{"Type":"User","message":"Rate Exceeded.","Reason":"ReservedFunctionConcurrentInvocationLimitExceeded"}"#,
        )
            .into_response(),
        "sleeper" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            reply(InvocationOutcome::Returned(vec![]), FunctionStats::default())
        }
        "garbage" => (StatusCode::OK, "this is not a semifaas reply").into_response(),
        "forbidden" => lambda_error(StatusCode::FORBIDDEN, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/agent is not authorized to perform: lambda:InvokeFunction"),
        "badkey" => lambda_error(StatusCode::FORBIDDEN, "UnrecognizedClientException", "The security token included in the request is invalid."),
        "toolarge" => lambda_error(StatusCode::PAYLOAD_TOO_LARGE, "RequestTooLargeException", "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
        "broken" => lambda_error(StatusCode::INTERNAL_SERVER_ERROR, "ServiceException", "An internal error occurred"),
        "slowpoke" => (
            StatusCode::OK,
            [("X-Amz-Function-Error", "Unhandled")],
            r#"{"errorMessage":"2026-11-30T04:00:00.000Z 1b2c Task timed out after 3.00 seconds","errorType":"Sandbox.Timedout"}"#,
        )
            .into_response(),
        "prewarmer" => prewarm(&state.log, invocation).await,
        "fetcher" => {
            let client = match FallbackClient::connect(&invocation.fallback, invocation.capability).await {
                Ok(c) => c,
                Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
            };
            let closure = client.fetch_closure(invocation.capability, invocation.closure_id).await;
            let class = client.load_class(invocation.capability, "com.example.Helper").await;
            // Handlers named `remote` also call `describe` on remote reference 5.
            let remote = if invocation.handler_key.ends_with("#remote") {
                client
                    .invoke_remote(invocation.capability, 1, 5, "describe", "([B)[B", invocation.args.clone())
                    .await
                    .map(Some)
            } else {
                Ok(None)
            };
            match (closure, class, remote) {
                (Ok(closure), Ok(class), Ok(remote)) => {
                    let mut out = closure.receiver;
                    out.extend(class.unwrap_or_default());
                    out.extend(remote.unwrap_or_default());
                    reply(InvocationOutcome::Returned(out), FunctionStats::default())
                }
                (closure, class, remote) => reply(
                    InvocationOutcome::Failed(FunctionFailure {
                        kind: FailureKind::ClosureUnavailable,
                        message: format!(
                            "closure: {:?}, class: {:?}, remote: {:?}",
                            closure.err(),
                            class.err(),
                            remote.err()
                        ),
                    }),
                    FunctionStats::default(),
                ),
            }
        }
        _ => lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {function}"),
        ),
    }
}

/// An error of the Lambda API, as AWS sends it.
fn lambda_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    (
        status,
        [
            ("x-amzn-ErrorType", error_type),
            ("content-type", "application/json"),
        ],
        format!(
            r#"{{"Type":"User","message":{}}}"#,
            serde_json::Value::from(message)
        ),
    )
        .into_response()
}

/// `prewarmer`: a prewarm fetches every closure, then for each shadow call calls `save` and
/// `findAll` on remote reference 1 with the call's arguments; the first prewarm is a cold start.
/// Answers `Failed` naming the first fallback that did not behave as the contract says.
async fn prewarm(log: &PlatformLog, invocation: Invocation) -> Response {
    let InvocationKind::Prewarm {
        closures,
        shadow_calls,
        ..
    } = &invocation.kind
    else {
        return reply(
            InvocationOutcome::Returned(invocation.args),
            FunctionStats::default(),
        );
    };
    let cold = log.prewarms.fetch_add(1, Ordering::SeqCst) == 0;
    let failed = |message: String| {
        reply(
            InvocationOutcome::Failed(FunctionFailure {
                kind: FailureKind::Setup,
                message,
            }),
            FunctionStats::default(),
        )
    };
    let client = match FallbackClient::connect(&invocation.fallback, invocation.capability).await {
        Ok(c) => c,
        Err(e) => return failed(e.to_string()),
    };
    for id in closures {
        if let Err(e) = client.fetch_closure(invocation.capability, *id).await {
            return failed(format!("fetching {id}: {e}"));
        }
    }
    let mut seq = 0;
    for call in shadow_calls {
        for (method, expected_tag) in [("save", 2u8), ("findAll", 0u8)] {
            seq += 1;
            let outcome = client
                .invoke_remote(
                    invocation.capability,
                    seq,
                    1,
                    method,
                    "()V",
                    call.args.clone(),
                )
                .await;
            match outcome {
                Ok(bytes) if bytes.first() == Some(&expected_tag) => {}
                other => return failed(format!("{method} answered {other:?}")),
            }
        }
    }
    reply(
        InvocationOutcome::Returned(Vec::new()),
        FunctionStats {
            cold,
            instance_id: format!("i-{}", log.prewarms.load(Ordering::SeqCst)),
            install_us: 10,
            ..Default::default()
        },
    )
}

/// Starts the fake platform on an ephemeral port in the current runtime.
pub async fn start_platform(in_flight: Option<Arc<InFlight>>) -> (SocketAddr, Arc<PlatformLog>) {
    let log = Arc::new(PlatformLog::default());
    let app = Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .with_state(PlatformState {
            in_flight,
            log: log.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, log)
}
