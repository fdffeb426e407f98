//! The OpenWhisk REST API surface: actions (PUT, GET, DELETE, list, invoke), activations,
//! namespaces, and `/local/stats`.
//!
//! One namespace (`guest`, also `_`) and one credential (Basic `UUID:KEY`). Invocations run on
//! the same pools as Lambda's; a blocking invoke waits up to the configured blocking wait and
//! then answers 202 with the activation id while the activation goes on, as OpenWhisk does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::sync::oneshot;
use tracing::info;

use crate::config::{ActionProtocol, CreatedFunctionLimits, FunctionConfig};
use crate::ids;
use crate::invocation::{self, Refused};
use crate::loopback_guard;
use crate::openwhisk_actions::{Action, ActionPut};
use crate::openwhisk_activations::{Activation, ActivationOf, Activations, Status};
use crate::openwhisk_auth::{self, AuthKey};
use crate::openwhisk_error::{self, OwError};
use crate::openwhisk_names::{self, NAMESPACE};
use crate::payload::{read_limited, PayloadError};
use crate::pool::FunctionPool;
use crate::registry::{CreateError, Registry};

/// The header OpenWhisk names an invocation's activation in.
const ACTIVATION_ID_HEADER: &str = "x-openwhisk-activation-id";

pub(crate) struct OpenWhisk {
    registry: Arc<Registry>,
    auth: Arc<AuthKey>,
    blocking_wait: Duration,
    /// What every action created through the API runs.
    code_dir: PathBuf,
    created_limits: CreatedFunctionLimits,
    /// Each action's OpenWhisk side, by `[package/]name` (its function's name). Held while the
    /// registry changes, so both change together.
    actions: Mutex<BTreeMap<String, Action>>,
    /// Packages created through the API. An action's package need not be one of them: they
    /// exist so that a client that creates the package first (as `semifaas deploy` does for a
    /// `package/action`) works here as on OpenWhisk.
    packages: Mutex<BTreeSet<String>>,
    activations: Activations,
}

impl OpenWhisk {
    /// Serves the functions already in `registry` as actions.
    pub(crate) fn new(
        registry: Arc<Registry>,
        auth: AuthKey,
        blocking_wait: Duration,
        code_dir: PathBuf,
        created_limits: CreatedFunctionLimits,
    ) -> Self {
        let actions = registry
            .list()
            .iter()
            .map(|pool| {
                (
                    pool.name().to_owned(),
                    Action::deployed(&pool.function.config),
                )
            })
            .collect();
        Self {
            registry,
            auth: Arc::new(auth),
            blocking_wait,
            code_dir,
            created_limits,
            actions: Mutex::new(actions),
            packages: Mutex::default(),
            activations: Activations::default(),
        }
    }

    /// The pool and OpenWhisk side of an action; 404 if there is none.
    fn find(&self, path: &str) -> Result<(Arc<FunctionPool>, Action), OwError> {
        let action = self
            .actions
            .lock()
            .get(path)
            .cloned()
            .ok_or_else(OwError::not_found)?;
        let pool = self
            .registry
            .resolve(path, None)
            .map_err(|_| OwError::not_found())?;
        Ok((pool, action))
    }
}

pub(crate) fn router(openwhisk: Arc<OpenWhisk>) -> Router {
    let api = Router::new()
        .route("/api/v1/namespaces", get(list_namespaces))
        .route("/api/v1/namespaces/{namespace}/actions", get(list_actions))
        .route(
            "/api/v1/namespaces/{namespace}/actions/{*action}",
            get(get_action)
                .put(put_action)
                .delete(delete_action)
                .post(invoke),
        )
        .route(
            "/api/v1/namespaces/{namespace}/packages/{package}",
            get(get_package).put(put_package),
        )
        .route(
            "/api/v1/namespaces/{namespace}/activations/{id}",
            get(get_activation),
        )
        .route(
            "/api/v1/namespaces/{namespace}/activations/{id}/result",
            get(get_activation_result),
        )
        .route(
            "/api/v1/namespaces/{namespace}/activations/{id}/logs",
            get(get_activation_logs),
        )
        .route_layer(middleware::from_fn_with_state(
            openwhisk.auth.clone(),
            openwhisk_auth::require_auth,
        ))
        .with_state(openwhisk.clone());
    Router::new()
        .merge(api)
        .merge(crate::stats::routes(openwhisk.registry.clone()))
        .fallback(|| async { OwError::not_found() })
        .layer(middleware::from_fn(refuse_browsers))
        .layer(middleware::from_fn(openwhisk_error::with_transaction_id))
}

async fn refuse_browsers(request: Request, next: Next) -> Response {
    match loopback_guard::browser_refusal(&request) {
        Some(reason) => OwError::new(StatusCode::FORBIDDEN, reason).into_response(),
        None => next.run(request).await,
    }
}

type OwPath<T> = Result<Path<T>, PathRejection>;

/// Checks the namespace (`_` or the platform's) of a request.
fn own_namespace(namespace: &str) -> Result<(), OwError> {
    if namespace == "_" || namespace == NAMESPACE {
        Ok(())
    } else if openwhisk_names::is_entity_name(namespace) {
        Err(OwError::forbidden())
    } else {
        Err(OwError::bad_request(
            "The namespace contains illegal characters.",
        ))
    }
}

/// The `[package/]name` of an action request, in the caller's namespace.
fn action_path(path: OwPath<(String, String)>) -> Result<String, OwError> {
    entity_path(path, |action| {
        openwhisk_names::validate_action_path(action).is_ok()
    })
}

/// The entity a request names, in the caller's namespace, if `valid` takes its name.
fn entity_path(
    path: OwPath<(String, String)>,
    valid: impl Fn(&str) -> bool,
) -> Result<String, OwError> {
    let Path((namespace, entity)) = path.map_err(|e| OwError::bad_request(e.body_text()))?;
    own_namespace(&namespace)?;
    if !valid(&entity) {
        return Err(OwError::bad_request(
            "The name of the entity contains illegal characters.",
        ));
    }
    Ok(entity)
}

async fn read_body(body: Body) -> Result<Bytes, OwError> {
    read_limited(body).await.map_err(|e| match e {
        PayloadError::TooLarge(size) => OwError::too_large(size),
        PayloadError::Read(e) => {
            OwError::bad_request(format!("could not read the request body: {e}"))
        }
    })
}

async fn list_namespaces() -> Json<Value> {
    Json(json!([NAMESPACE]))
}

async fn list_actions(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<String>,
) -> Result<Json<Value>, OwError> {
    let Path(namespace) = path.map_err(|e| OwError::bad_request(e.body_text()))?;
    own_namespace(&namespace)?;
    let actions = ow.actions.lock();
    Ok(Json(
        actions
            .iter()
            .map(|(path, action)| action.json(path))
            .collect(),
    ))
}

async fn get_action(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    let path = action_path(path)?;
    let (_, action) = ow.find(&path)?;
    Ok(Json(action.json(&path)))
}

#[derive(Deserialize)]
struct PutQuery {
    overwrite: Option<String>,
}

/// Creates an action, or with `overwrite=true` updates it (its instances are replaced).
async fn put_action(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
    query: Result<Query<PutQuery>, QueryRejection>,
    body: Body,
) -> Result<Json<Value>, OwError> {
    let path = action_path(path)?;
    let Query(query) = query.map_err(|e| OwError::bad_request(e.body_text()))?;
    let overwrite = flag(query.overwrite.as_deref(), "overwrite")?;
    let put = ActionPut::parse(&read_body(body).await?)?;
    let mut actions = ow.actions.lock();
    let action = match actions.get(&path) {
        Some(_) if !overwrite => return Err(OwError::conflict()),
        Some(old) => {
            let action = Action::from_put(put, Some(old))?;
            ow.registry
                .update_configuration(&path, |config| action.configure(config))
                .map_err(|e| OwError::internal(e.to_string()))?;
            action
        }
        None => {
            let action = Action::from_put(put, None)?;
            let mut config = FunctionConfig::new(path.clone(), &ow.code_dir);
            config.protocol = ActionProtocol::OpenWhisk;
            config.concurrency_limit = ow.created_limits.concurrency_limit;
            config.keep_alive = ow.created_limits.keep_alive;
            action.configure(&mut config);
            ow.registry.create(config, None).map_err(|e| match e {
                CreateError::Exists(_) => OwError::conflict(),
                CreateError::Invalid(e) => OwError::internal(e.to_string()),
            })?;
            action
        }
    };
    info!(action = %path, overwrite, "action deployed");
    let document = action.json(&path);
    actions.insert(path, action);
    Ok(Json(document))
}

/// A package's document: a plain package (no binding, not published, no parameters).
fn package_json(name: &str) -> Value {
    json!({
        "namespace": NAMESPACE,
        "name": name,
        "version": "0.0.1",
        "publish": false,
        "binding": {},
        "parameters": [],
        "annotations": [],
    })
}

/// Creates a package (its body's bindings and parameters are not supported and not read
/// beyond being JSON), or with `overwrite=true` keeps it.
async fn put_package(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
    query: Result<Query<PutQuery>, QueryRejection>,
    body: Body,
) -> Result<Json<Value>, OwError> {
    let package = entity_path(path, openwhisk_names::is_entity_name)?;
    let Query(query) = query.map_err(|e| OwError::bad_request(e.body_text()))?;
    let overwrite = flag(query.overwrite.as_deref(), "overwrite")?;
    let body = read_body(body).await?;
    if !body.is_empty() {
        serde_json::from_slice::<serde_json::Map<String, Value>>(&body)
            .map_err(OwError::malformed)?;
    }
    if !ow.packages.lock().insert(package.clone()) && !overwrite {
        return Err(OwError::conflict());
    }
    info!(%package, "package created");
    Ok(Json(package_json(&package)))
}

async fn get_package(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    let package = entity_path(path, openwhisk_names::is_entity_name)?;
    if ow.packages.lock().contains(&package) {
        Ok(Json(package_json(&package)))
    } else {
        Err(OwError::not_found())
    }
}

async fn delete_action(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    let path = action_path(path)?;
    let mut actions = ow.actions.lock();
    let action = actions.remove(&path).ok_or_else(OwError::not_found)?;
    ow.registry.remove(&path);
    info!(action = %path, "action deleted");
    Ok(Json(action.json(&path)))
}

#[derive(Deserialize)]
struct InvokeQuery {
    blocking: Option<String>,
    result: Option<String>,
}

/// `true`/`false` query flags, absent meaning false.
fn flag(value: Option<&str>, name: &str) -> Result<bool, OwError> {
    match value {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(OwError::bad_request(format!(
            "The query parameter '{name}' was malformed: '{other}' is not a valid boolean value"
        ))),
    }
}

/// The payload an action gets: the request's parameters (a JSON object; an empty body is
/// `{}`) over the action's defaults. Without defaults the body goes as it came.
fn payload(action: &Action, body: Bytes) -> Result<Bytes, OwError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::from(
            Value::Object(action.parameters(Map::new())).to_string(),
        ));
    }
    let given = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(given)) => given,
        Ok(_) => return Err(OwError::malformed("the parameters must be a JSON object")),
        Err(e) => return Err(OwError::malformed(e)),
    };
    if !action.has_parameters() {
        return Ok(body);
    }
    let payload = Bytes::from(Value::Object(action.parameters(given)).to_string());
    if payload.len() > crate::payload::PAYLOAD_LIMIT {
        return Err(OwError::too_large(payload.len()));
    }
    Ok(payload)
}

async fn invoke(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
    query: Result<Query<InvokeQuery>, QueryRejection>,
    body: Body,
) -> Result<Response, OwError> {
    let path = action_path(path)?;
    let Query(query) = query.map_err(|e| OwError::bad_request(e.body_text()))?;
    let blocking = flag(query.blocking.as_deref(), "blocking")?;
    let result_only = flag(query.result.as_deref(), "result")?;
    let (pool, action) = ow.find(&path)?;
    let payload = payload(&action, read_body(body).await?)?;
    let admitted = invocation::admit(pool)
        .await
        .map_err(|refused| match refused {
            Refused::Throttled { limit } => OwError::too_many_concurrent(limit),
            Refused::StartsPaced { starting } => OwError::starts_paced(starting),
            Refused::Gone => OwError::not_found(),
        })?;

    // Runs on its own: it outlives a blocking wait that gives up, and a client hanging up.
    let id = ids::activation_id();
    let (done, finished) = oneshot::channel();
    let runner = ow.clone();
    let activation_id = id.clone();
    tokio::spawn(async move {
        let start = SystemTime::now();
        let outcome = admitted.run(activation_id.clone(), payload).await;
        let of = ActivationOf {
            path: &path,
            limits: action.limits,
            subject: runner.auth.subject(),
        };
        let activation = Arc::new(Activation::new(
            activation_id,
            of,
            start,
            SystemTime::now(),
            outcome,
        ));
        runner.activations.insert(activation.clone());
        let _ = done.send(activation);
    });
    if !blocking {
        return Ok(accepted(&id));
    }
    match tokio::time::timeout(ow.blocking_wait, finished).await {
        Ok(Ok(activation)) => Ok(invoke_answer(&activation, result_only)),
        Ok(Err(_)) => Err(OwError::internal("the activation failed inside faas-local")),
        Err(_) => Ok(accepted(&id)),
    }
}

/// 202 `{"activationId"}`: a non-blocking invoke, or a blocking one that outlasted the wait.
fn accepted(id: &str) -> Response {
    with_activation_id(
        (StatusCode::ACCEPTED, Json(json!({ "activationId": id }))).into_response(),
        id,
    )
}

/// 200 for a success, 502 for an action's error (with its `{"error"}` result); the result alone
/// with `result=true`, else the whole record.
fn invoke_answer(activation: &Activation, result_only: bool) -> Response {
    let status = match activation.status {
        Status::Success => StatusCode::OK,
        Status::ApplicationError | Status::DeveloperError => StatusCode::BAD_GATEWAY,
    };
    let body = if result_only {
        activation.result()
    } else {
        &activation.record
    };
    with_activation_id((status, Json(body.clone())).into_response(), &activation.id)
}

fn with_activation_id(mut response: Response, id: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(ACTIVATION_ID_HEADER, value);
    }
    response
}

/// A recent finished activation; 404 while it runs or once it was forgotten.
fn find_activation(
    ow: &OpenWhisk,
    path: OwPath<(String, String)>,
) -> Result<Arc<Activation>, OwError> {
    let Path((namespace, id)) = path.map_err(|e| OwError::bad_request(e.body_text()))?;
    own_namespace(&namespace)?;
    if !openwhisk_names::is_activation_id(&id) {
        return Err(OwError::bad_request("The activation id is not valid."));
    }
    ow.activations.get(&id).ok_or_else(OwError::not_found)
}

async fn get_activation(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    Ok(Json(find_activation(&ow, path)?.record.clone()))
}

async fn get_activation_result(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    Ok(Json(find_activation(&ow, path)?.response().clone()))
}

/// Instance output goes to the platform's log, not into activations.
async fn get_activation_logs(
    State(ow): State<Arc<OpenWhisk>>,
    path: OwPath<(String, String)>,
) -> Result<Json<Value>, OwError> {
    find_activation(&ow, path)?;
    Ok(Json(json!({ "logs": [] })))
}
