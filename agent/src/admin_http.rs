//! The admin endpoint's HTTP/1.1 connections: a connection that does not send its request
//! headers, or its body, within the read timeout is closed (so half-open connections do not
//! pile up); at most a fixed number are open at once; every request passes
//! [`admin_access::refusal`] before its body is read or a route runs.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::{to_bytes, Body},
    http::{Request, StatusCode},
    response::{IntoResponse, Response},
    Json, Router,
};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;
use tracing::{debug, warn};

use crate::admin_access::{self, AdminToken};

/// Largest request body: the endpoint takes a ratio at most.
const BODY_MAX: usize = 4096;

/// How long and how many: see [`crate::admin::AdminOptions`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub read_timeout: Duration,
    pub max_connections: usize,
}

/// Accepts and serves connections until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    token: AdminToken,
    limits: ConnectionLimits,
) {
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let token = Arc::new(token);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: give the open connections time to end.
                warn!(error = %e, "admin endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            debug!(%peer, limit = limits.max_connections, "admin endpoint: too many connections, closing a new one");
            continue;
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let (router, token) = (router.clone(), token.clone());
        let service = service_fn(move |request: Request<Incoming>| {
            handle(
                request,
                local,
                token.clone(),
                router.clone(),
                limits.read_timeout,
            )
        });
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                debug!(%peer, error = %e, "admin connection closed");
            }
            drop(permit);
        });
    }
}

/// Checks access, reads the body within the timeout, then routes.
async fn handle(
    request: Request<Incoming>,
    local: SocketAddr,
    token: Arc<AdminToken>,
    router: Router,
    read_timeout: Duration,
) -> Result<Response, Infallible> {
    if let Some(refusal) = admin_access::refusal(&token, local, request.uri(), request.headers()) {
        return Ok(refusal);
    }
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(read_timeout, to_bytes(Body::new(body), BODY_MAX)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => {
            return Ok(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the request body is over {BODY_MAX} bytes or broken"),
            ))
        }
        Err(_) => {
            return Ok(error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} ms",
                    read_timeout.as_millis()
                ),
            ))
        }
    };
    router
        .oneshot(Request::from_parts(parts, Body::from(body)))
        .await
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
