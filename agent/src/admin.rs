//! The admin HTTP endpoint: the offload ratio, the burst controller, prewarming, statistics as
//! JSON and Prometheus. Every request needs the admin token and the endpoint's own address in
//! `Host` ([`crate::admin_access`]); the token is written to a file only the agent's user can
//! read ([`semifaas_admin_token`]), where the CLI finds it.
//!
//! - `GET /` → the list of endpoints ([`ENDPOINTS`]; JSON with `Accept: application/json`);
//!   unknown paths get a 404 that points there
//! - `GET /ratio` → `{"ratio":0.25,"handlers":{"com.x.C#m":1.0}}`
//! - `PUT /ratio[?handler=Class%23method]` with `0.5` or `{"ratio":0.5}` → the new value. Setting
//!   the global ratio in auto mode switches to manual mode (the response says so). A handler the
//!   agent has never seen is a 404 that lists similar known handlers (a typo would otherwise
//!   set a ratio nothing uses).
//! - `DELETE /ratio?handler=Class%23method` → removes that handler's override: it follows the
//!   global ratio again
//! - `GET /controller` → mode, phase, ratio, in-flight, capacity, last decision and why
//! - `POST /controller?mode=auto|manual` → switches the mode
//! - `POST /capacity-ready[?ready=false]` → handover: the controller holds the ratio at 0
//! - `POST /prewarm?instances=N` → `Agent::prewarm(N)`
//! - `GET /stats` (JSON), `GET /metrics` (Prometheus text)

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use axum::{
    body::Bytes,
    extract::{Query, State},
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use semifaas_admin_token::{read_token_file, token_file_locations, write_token_file, Parent};
use semifaas_fallback::ServerCounters;
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};
use tracing::info;

use crate::{
    admin_access::AdminToken,
    admin_http::{self, ConnectionLimits},
    breaker::Breaker,
    candidates::Candidates,
    config::parse_ratio,
    config::{AgentConfig, Mode},
    controller::BurstControl,
    policy::{check_handler_key, Policy},
    prewarm::PREWARM_INSTANCES_MAX,
    stats::{Stats, StatsReport, PROMETHEUS_CONTENT_TYPE},
};

/// Every endpoint: method, path, what it does (served by `GET /`).
pub const ENDPOINTS: [(&str, &str, &str); 10] = [
    ("GET", "/", "this list"),
    (
        "GET",
        "/ratio",
        "the global offload ratio and per-handler overrides",
    ),
    (
        "PUT",
        "/ratio[?handler=Class%23method]",
        "set the ratio (body: a number in [0,1]); global in auto mode switches to manual",
    ),
    (
        "DELETE",
        "/ratio?handler=Class%23method",
        "remove a handler's override: it follows the global ratio again",
    ),
    (
        "GET",
        "/stats",
        "JSON: totals and per handler counts, latencies, candidate status and why",
    ),
    ("GET", "/metrics", "Prometheus text"),
    (
        "GET",
        "/controller",
        "the burst controller: mode, phase, ratio, in-flight, last decision and why",
    ),
    ("POST", "/controller?mode=auto|manual", "switch the mode"),
    (
        "POST",
        "/capacity-ready[?ready=false]",
        "new server capacity is ready: hold the ratio at 0 (handover)",
    ),
    (
        "POST",
        "/prewarm?instances=N",
        "start or warm N function instances with every closure installed",
    ),
];

#[derive(Clone)]
pub struct AdminState {
    pub policy: Arc<Policy>,
    pub stats: Arc<Stats>,
    pub candidates: Arc<Candidates>,
    pub control: Arc<BurstControl>,
    /// The fallback server's refusals (connections, frames), reported under `refused`.
    pub fallback_counters: Arc<ServerCounters>,
    /// Whether offloading is paused after a permanent platform failure, reported under
    /// `platform`.
    pub breaker: Arc<Breaker>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("could not bind the admin endpoint to TCP {addr} (set semifaas.admin.port, 0 for any free port): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not make the admin token: the operating system's random source failed: {0}")]
    Random(String),
    #[error("could not write the admin token file {} (set semifaas.admin.token-file to a writable path): {source}", path.display())]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// How the admin endpoint admits clients.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// `None`: a random token.
    pub token: Option<AdminToken>,
    /// `None`: the default location for the bound address ([`token_file_locations`]).
    pub token_file: Option<PathBuf>,
    /// How long a client may take to send its request headers, and then its body (also how
    /// long an idle keep-alive connection stays open).
    pub read_timeout: Duration,
    /// Connections open at once; further ones are closed at once.
    pub max_connections: usize,
}

impl AdminOptions {
    pub fn from_config(config: &AgentConfig) -> AdminOptions {
        AdminOptions {
            token: config.admin_token.clone(),
            token_file: config.admin_token_file.clone(),
            read_timeout: Duration::from_secs(10),
            max_connections: 64,
        }
    }
}

/// A running admin endpoint; it serves until it is dropped or the runtime it was started in
/// shuts down. Dropping it removes its token file.
pub struct AdminServer {
    local_addr: SocketAddr,
    token: AdminToken,
    token_file: PathBuf,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Binds `addr`, writes the token file and serves in the current tokio runtime.
    pub async fn start(
        addr: SocketAddr,
        state: AdminState,
        options: AdminOptions,
    ) -> Result<AdminServer, AdminError> {
        let bind_error = |source| AdminError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let token = match options.token {
            Some(token) => token,
            None => AdminToken::generate().map_err(AdminError::Random)?,
        };
        let (token_file, parent) = match options.token_file {
            Some(path) => (path, Parent::Chosen),
            None => (token_file_locations(local_addr).remove(0), Parent::Default),
        };
        write_token_file(&token_file, token.secret(), parent).map_err(|source| {
            AdminError::TokenFile {
                path: token_file.clone(),
                source,
            }
        })?;
        let limits = ConnectionLimits {
            read_timeout: options.read_timeout,
            max_connections: options.max_connections,
        };
        let task = tokio::spawn(admin_http::serve(
            listener,
            router(state),
            token.clone(),
            limits,
        ));
        info!(%local_addr, token_file = %token_file.display(), "admin endpoint listening; requests need the token in the token file");
        Ok(AdminServer {
            local_addr,
            token,
            token_file,
            task,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The token requests must carry.
    pub fn token(&self) -> &AdminToken {
        &self.token
    }

    pub fn token_file(&self) -> &Path {
        &self.token_file
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.task.abort();
        // Only our own token: the file may have been taken over by a newer agent since.
        if read_token_file(&self.token_file).is_ok_and(|t| t == self.token.secret()) {
            let _ = std::fs::remove_file(&self.token_file);
        }
    }
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/", get(get_index))
        .route("/ratio", get(get_ratio).put(put_ratio).delete(delete_ratio))
        .route("/stats", get(get_stats))
        .route("/metrics", get(get_metrics))
        .route("/controller", get(get_controller).post(post_controller))
        .route("/capacity-ready", post(post_capacity_ready))
        .route("/prewarm", post(post_prewarm))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// `GET /`: the endpoints, as aligned plain text or, when asked for, as JSON.
async fn get_index(headers: HeaderMap) -> Response {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if wants_json {
        let endpoints: Vec<Value> = ENDPOINTS
            .iter()
            .map(|(method, path, what)| json!({ "method": method, "path": path, "what": what }))
            .collect();
        return Json(json!({ "endpoints": endpoints })).into_response();
    }
    let width = ENDPOINTS
        .iter()
        .map(|(m, p, _)| m.len() + 1 + p.len())
        .max()
        .unwrap_or(0);
    let mut text = String::from("semifaas admin endpoint\n\n");
    for (method, path, what) in ENDPOINTS {
        let request = format!("{method} {path}");
        text.push_str(&format!("{request:<width$}  {what}\n"));
    }
    text.push_str(
        "\nThe semifaas CLI wraps it: semifaas ratio|stats|mode|prewarm|capacity-ready --help\n",
    );
    text.into_response()
}

fn not_found_at(method: &Method, uri: &Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({
            "error": format!("no endpoint {method} {}; GET / lists the endpoints", uri.path()),
        })),
    )
        .into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    not_found_at(&method, &uri)
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    let allowed: Vec<&str> = ENDPOINTS
        .iter()
        .filter(|(_, path, _)| path.split(['?', '[']).next() == Some(uri.path()))
        .map(|(m, _, _)| *m)
        .collect();
    if allowed.is_empty() {
        return not_found_at(&method, &uri);
    }
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({
            "error": format!(
                "{method} is not served on {}; it takes {}. GET / lists the endpoints",
                uri.path(),
                allowed.join(", ")
            ),
        })),
    )
        .into_response()
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

/// Reads a ratio from a body: a bare number (`0.5`) or `{"ratio":0.5}`, a plain decimal in
/// [0, 1] either way ([`parse_ratio`]: no `-0`, `+0`, exponent, hex, `NaN` or `inf`).
fn parse_ratio_body(body: &[u8]) -> Result<f64, String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "body is not UTF-8 text".to_owned())?
        .trim();
    if text.is_empty() {
        return Err("empty body: send a number such as 0.5 or {\"ratio\":0.5}".into());
    }
    let number = if text.starts_with('{') {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("body is not valid JSON: {e}"))?;
        match value.get("ratio") {
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err("JSON body has no numeric \"ratio\" field".to_owned()),
        }
    } else {
        text.to_owned()
    };
    parse_ratio(&number).ok_or_else(|| {
        format!(
            "{:?} is not a ratio: send a plain decimal number in [0, 1] such as 0.5",
            number.chars().take(40).collect::<String>()
        )
    })
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
    if let Some(h) = handler {
        if let Some(refusal) = unknown_handler(&state, h) {
            return refusal;
        }
    }
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

/// Known handlers most like `key`, best first: the similarity of the classes times that of the
/// methods (Jaro-Winkler), so a typo in either part still finds the handler.
fn similar_handlers(key: &str, known: &[String]) -> Vec<String> {
    let split = |k: &'_ str| -> (String, String) {
        let (class, method) = k.split_once('#').unwrap_or((k, ""));
        (class.to_owned(), method.to_owned())
    };
    let (class, method) = split(key);
    let mut scored: Vec<(f64, &String)> = known
        .iter()
        .map(|k| {
            let (c, m) = split(k);
            let score = strsim::jaro_winkler(&class, &c) * strsim::jaro_winkler(&method, &m);
            (score, k)
        })
        .filter(|(score, _)| *score >= 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(5).map(|(_, k)| k.clone()).collect()
}

/// `None` for a handler the agent has seen (invoked, profiled or with an override); anything
/// else gets a 404 naming similar known handlers.
fn unknown_handler(state: &AdminState, key: &str) -> Option<Response> {
    let mut known = state.stats.handler_keys();
    known.extend(state.candidates.all().into_keys());
    known.extend(state.policy.ratios().overrides.into_keys());
    known.sort_unstable();
    known.dedup();
    if known.iter().any(|k| k == key) {
        return None;
    }
    let similar = similar_handlers(key, &known);
    let hint = match (similar.is_empty(), known.is_empty()) {
        (false, _) => format!("similar known handlers: {}", similar.join(", ")),
        (true, true) => "no handler has run yet: send a request first".to_owned(),
        (true, false) => format!(
            "no known handler is similar; {} known, GET /stats lists them",
            known.len()
        ),
    };
    Some(
        (
            StatusCode::NOT_FOUND,
            Json(json!({
                "error": format!("handler {key} has never been seen by the agent; {hint}"),
                "similar": similar,
            })),
        )
            .into_response(),
    )
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
    report.offloads_in_flight = control.slots.offloads_in_flight;
    report.offload_limit = control.slots.offload_limit;
    report.instances_up = control.slots.instances_up;
    report.refused = state.stats.refusals().report(&state.fallback_counters);
    report.platform = state.breaker.report(std::time::Instant::now());
    for (key, handler) in report.handlers.iter_mut() {
        let candidacy = state.candidates.candidacy(key);
        let (runs, needed) = state.candidates.profiled_runs(key);
        handler.candidate = candidacy.candidate;
        handler.profiled_runs = runs;
        handler.profile_samples = u64::from(needed);
        handler.status = if handler.ineligible_reason.is_some() {
            "ineligible"
        } else if candidacy.candidate {
            "candidate"
        } else if runs < u64::from(needed) && !candidacy.reason.starts_with("excluded") {
            "profiling"
        } else {
            "not_candidate"
        }
        .to_owned();
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
    let mut controller = serde_json::to_value(state.control.state()).unwrap_or_default();
    if let Some(fields) = controller.as_object_mut() {
        fields.insert(
            "platform".into(),
            json!(state.breaker.report(std::time::Instant::now())),
        );
    }
    Json(controller).into_response()
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
    let text = state.stats.prometheus(&full_report(&state));
    ([(header::CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE)], text).into_response()
}
