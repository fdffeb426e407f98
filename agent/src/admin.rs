//! The admin HTTP endpoint: the offload ratio, the burst controller, prewarming, statistics as
//! JSON and Prometheus.
//!
//! - `GET /ratio` → `{"ratio":0.25,"handlers":{"com.x.C#m":1.0}}`
//! - `PUT /ratio[?handler=Class%23method]` with `0.5` or `{"ratio":0.5}` → the new value. Setting
//!   the global ratio in auto mode switches to manual mode (the response says so).
//! - `DELETE /ratio?handler=Class%23method` → removes that handler's override
//! - `GET /controller` → mode, phase, ratio, in-flight, capacity, last decision and why
//! - `POST /controller?mode=auto|manual` → switches the mode
//! - `POST /capacity-ready[?ready=false]` → handover: the controller holds the ratio at 0
//! - `POST /prewarm?instances=N` → `Agent::prewarm(N)`
//! - `GET /stats` (JSON), `GET /metrics` (Prometheus text)

use std::{collections::HashMap, net::SocketAddr, sync::Arc};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tracing::{info, warn};

use crate::{
    candidates::Candidates,
    config::Mode,
    controller::BurstControl,
    policy::{check_handler_key, check_ratio, Policy},
    prewarm::PREWARM_INSTANCES_MAX,
    stats::{Stats, StatsReport},
};

#[derive(Clone)]
pub struct AdminState {
    pub policy: Arc<Policy>,
    pub stats: Arc<Stats>,
    pub candidates: Arc<Candidates>,
    pub control: Arc<BurstControl>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("could not bind the admin endpoint to TCP {addr} (set semifaas.admin.port, 0 for any free port): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running admin endpoint; it serves until the runtime it was started in shuts down.
pub struct AdminServer {
    local_addr: SocketAddr,
    _task: JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr` and serves in the current tokio runtime.
    pub async fn start(addr: SocketAddr, state: AdminState) -> Result<AdminServer, AdminError> {
        let bind_error = |source| AdminError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router(state)).await {
                warn!(error = %e, "admin endpoint stopped");
            }
        });
        info!(%local_addr, "admin endpoint listening");
        Ok(AdminServer {
            local_addr,
            _task: task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/ratio", get(get_ratio).put(put_ratio).delete(delete_ratio))
        .route("/stats", get(get_stats))
        .route("/metrics", get(get_metrics))
        .route("/controller", get(get_controller).post(post_controller))
        .route("/capacity-ready", post(post_capacity_ready))
        .route("/prewarm", post(post_prewarm))
        .with_state(state)
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

async fn get_ratio(State(state): State<AdminState>) -> Response {
    let ratios = state.policy.ratios();
    Json(json!({ "ratio": ratios.global, "handlers": ratios.overrides })).into_response()
}

/// Reads a ratio from a body: a bare number (`0.5`) or `{"ratio":0.5}`.
fn parse_ratio_body(body: &[u8]) -> Result<f64, String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "body is not UTF-8 text".to_owned())?
        .trim();
    if text.is_empty() {
        return Err("empty body: send a number such as 0.5 or {\"ratio\":0.5}".into());
    }
    let ratio = if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("body is not valid JSON: {e}"))?;
        value
            .get("ratio")
            .and_then(Value::as_f64)
            .ok_or_else(|| "JSON body has no numeric \"ratio\" field".to_owned())?
    } else {
        text.parse::<f64>().map_err(|_| {
            format!(
                "{:?} is not a number; send a number such as 0.5",
                text.chars().take(40).collect::<String>()
            )
        })?
    };
    if ratio.is_nan() {
        return Err("NaN is not a ratio; send a number in [0, 1]".into());
    }
    check_ratio(ratio).map_err(|_| format!("ratio {ratio} is outside [0, 1]"))
}

/// The optional `handler` query parameter; any other parameter is an error.
fn handler_param(query: &HashMap<String, String>) -> Result<Option<&str>, String> {
    if let Some(unknown) = query.keys().find(|k| *k != "handler") {
        return Err(format!(
            "unknown query parameter {unknown:?}; only \"handler\" is accepted"
        ));
    }
    let Some(handler) = query.get("handler") else {
        return Ok(None);
    };
    check_handler_key(handler).map_err(|e| format!("{e} (write # as %23 in the URL)"))?;
    Ok(Some(handler))
}

async fn put_ratio(
    State(state): State<AdminState>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let handler = match handler_param(&query) {
        Ok(h) => h,
        Err(e) => return bad_request(e),
    };
    let ratio = match parse_ratio_body(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(e),
    };
    // The operator takes over the global ratio: the controller must not overwrite it.
    let was_auto = handler.is_none() && state.control.set_mode(Mode::Manual) == Mode::Auto;
    let set = match handler {
        Some(h) => state.policy.set_handler_ratio(h, ratio),
        None => state.policy.set_global_ratio(ratio),
    };
    if let Err(e) = set {
        return bad_request(e.to_string());
    }
    info!(ratio, handler = handler.unwrap_or("*"), "offload ratio set");
    match handler {
        Some(h) => Json(json!({ "handler": h, "ratio": ratio })).into_response(),
        None if was_auto => Json(json!({
            "ratio": ratio,
            "mode": "manual",
            "note": "the burst controller was on (semifaas.mode=auto) and is now off; POST /controller?mode=auto turns it back on",
        }))
        .into_response(),
        None => Json(json!({ "ratio": ratio })).into_response(),
    }
}

async fn delete_ratio(
    State(state): State<AdminState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match handler_param(&query) {
        Err(e) => bad_request(e),
        Ok(None) => bad_request(
            "DELETE /ratio needs ?handler=Class%23method (the global ratio cannot be removed)",
        ),
        Ok(Some(h)) if state.policy.clear_handler_ratio(h) => {
            info!(handler = h, "per-handler ratio removed");
            Json(json!({ "handler": h, "ratio": state.policy.global_ratio() })).into_response()
        }
        Ok(Some(h)) => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": format!("handler {h} has no ratio override") })),
        )
            .into_response(),
    }
}

/// The statistics with the control plane's view: mode, phase, in-flight, candidacy.
fn full_report(state: &AdminState) -> StatsReport {
    let mut report = state.stats.report(&state.policy.ratios());
    let control = state.control.state();
    report.mode = control.mode.to_owned();
    report.phase = control.phase.as_str().to_owned();
    report.in_flight = control.in_flight;
    for (key, handler) in report.handlers.iter_mut() {
        let candidacy = state.candidates.candidacy(key);
        handler.candidate = candidacy.candidate;
        handler.reason = candidacy.reason;
    }
    report
}

async fn get_stats(State(state): State<AdminState>) -> Response {
    Json(full_report(&state)).into_response()
}

/// Query parameters of the control endpoints: only `allowed`, each at most once.
fn only_params<'q>(
    query: &'q HashMap<String, String>,
    allowed: &str,
) -> Result<Option<&'q str>, String> {
    if let Some(unknown) = query.keys().find(|k| *k != allowed) {
        return Err(format!(
            "unknown query parameter {unknown:?}; only \"{allowed}\" is accepted"
        ));
    }
    Ok(query.get(allowed).map(String::as_str))
}

async fn get_controller(State(state): State<AdminState>) -> Response {
    Json(state.control.state()).into_response()
}

async fn post_controller(
    State(state): State<AdminState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mode = match only_params(&query, "mode") {
        Ok(Some("auto")) => Mode::Auto,
        Ok(Some("manual")) => Mode::Manual,
        Ok(Some(other)) => {
            return bad_request(format!(
                "mode {:?} is not one of: auto, manual",
                other.chars().take(40).collect::<String>()
            ))
        }
        Ok(None) => return bad_request("POST /controller needs ?mode=auto or ?mode=manual"),
        Err(e) => return bad_request(e),
    };
    state.control.set_mode(mode);
    Json(state.control.state()).into_response()
}

async fn post_capacity_ready(
    State(state): State<AdminState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let ready = match only_params(&query, "ready") {
        Ok(None | Some("true")) => true,
        Ok(Some("false")) => false,
        Ok(Some(other)) => {
            return bad_request(format!(
                "ready={:?} is not true or false",
                other.chars().take(40).collect::<String>()
            ))
        }
        Err(e) => return bad_request(e),
    };
    state.control.capacity_ready(ready);
    info!(ready, "capacity-ready signal");
    Json(state.control.state()).into_response()
}

async fn post_prewarm(Query(query): Query<HashMap<String, String>>) -> Response {
    let instances = match only_params(&query, "instances") {
        Ok(Some(n)) => match n.trim().parse::<usize>() {
            Ok(n) if (1..=PREWARM_INSTANCES_MAX).contains(&n) => n,
            _ => {
                return bad_request(format!(
                    "instances={:?} is not a whole number from 1 to {PREWARM_INSTANCES_MAX}",
                    n.chars().take(40).collect::<String>()
                ))
            }
        },
        Ok(None) => return bad_request("POST /prewarm needs ?instances=N (1 or more)"),
        Err(e) => return bad_request(e),
    };
    let Some(agent) = crate::runtime::global() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "prewarming needs the agent started in the JVM (NativeBridge.init)" })),
        )
            .into_response();
    };
    info!(instances, "prewarm requested");
    Json(agent.prewarmer().run(instances).await).into_response()
}

async fn get_metrics(State(state): State<AdminState>) -> Response {
    let text = full_report(&state).to_prometheus();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
