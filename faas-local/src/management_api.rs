//! The function-management subset of the Lambda API: CreateFunction (a zip, or the local
//! `CodeDirectory` extension), UpdateFunctionCode, PublishVersion, Create/Get/UpdateAlias,
//! GetFunction(Configuration), ListFunctions, DeleteFunction, PutFunctionConcurrency and
//! provisioned concurrency.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::code_store::{UnpackError, ZIP_LIMIT};
use crate::config::{validate_function_name, FunctionConfig};
use crate::lambda_api::{qualified_name, QualifierQuery};
use crate::pool::FunctionPool;
use crate::registry::{CreateError, Registry};

/// A zip of [`ZIP_LIMIT`] bytes, base64 in a JSON body, with room for the other fields.
const BODY_LIMIT: usize = ZIP_LIMIT / 3 * 4 + 64 * 1024;

pub(crate) fn routes() -> Router<Arc<Registry>> {
    Router::new()
        .route(
            "/2015-03-31/functions",
            post(create_function).get(list_functions),
        )
        .route(
            "/2015-03-31/functions/",
            post(create_function).get(list_functions),
        )
        .route(
            "/2015-03-31/functions/{name}",
            get(get_function).delete(delete_function),
        )
        .route(
            "/2015-03-31/functions/{name}/configuration",
            get(get_function_configuration).put(update_function_configuration),
        )
        .route(
            "/2015-03-31/functions/{name}/code",
            put(update_function_code),
        )
        .route(
            "/2015-03-31/functions/{name}/versions",
            post(publish_version),
        )
        .route("/2015-03-31/functions/{name}/aliases", post(create_alias))
        .route(
            "/2015-03-31/functions/{name}/aliases/{alias}",
            get(get_alias).put(update_alias),
        )
        .route(
            "/2017-10-31/functions/{name}/concurrency",
            put(put_function_concurrency),
        )
        .route(
            "/2019-09-30/functions/{name}/provisioned-concurrency",
            put(put_provisioned_concurrency).get(get_provisioned_concurrency),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateFunctionRequest {
    function_name: Option<String>,
    timeout: Option<u64>,
    memory_size: Option<u32>,
    environment: Option<Environment>,
    code: Option<Code>,
    #[serde(default)]
    publish: bool,
    /// Local extension: the directory holding `bootstrap`.
    code_directory: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Environment {
    variables: Option<BTreeMap<String, String>>,
}

/// `Code` of CreateFunction, and the body of UpdateFunctionCode.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Code {
    /// Base64 of the zip.
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    image_uri: Option<String>,
    #[serde(default)]
    publish: bool,
}

impl Code {
    /// The zip's bytes: faas-local takes the zip in the request only.
    fn zip(&self) -> Result<Vec<u8>, ApiError> {
        if self.s3_bucket.is_some() || self.image_uri.is_some() {
            return Err(ApiError::invalid_parameter(
                "faas-local has no S3 and no image registry: send the zip itself as ZipFile",
            ));
        }
        let encoded = self
            .zip_file
            .as_deref()
            .ok_or_else(|| ApiError::invalid_parameter("Code.ZipFile is required"))?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| ApiError::invalid_content(format!("ZipFile is not base64: {e}")))
    }
}

/// Where a new function's code comes from.
pub(crate) enum NewCode {
    Directory,
    Zip(Vec<u8>),
}

async fn create_function(
    State(registry): State<Arc<Registry>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (mut config, code, publish) = create_function_config(&body)?;
    config.concurrency_limit = registry.created_limits.concurrency_limit;
    config.keep_alive = registry.created_limits.keep_alive;
    let code = match code {
        NewCode::Directory => None,
        NewCode::Zip(zip) => {
            validate_function_name(&config.name)
                .map_err(|e| ApiError::invalid_parameter(e.to_string()))?;
            let (dir, info) = unpack(&registry, &config.name, &zip)?;
            config.code_dir = dir;
            config.inherit_env = false;
            Some(info)
        }
    };
    let name = config.name.clone();
    let mut pool = registry.create(config, code).map_err(|e| match e {
        CreateError::Exists(name) => ApiError::function_exists(&name),
        CreateError::Invalid(e) => ApiError::invalid_parameter(e.to_string()),
    })?;
    if publish {
        pool = registry.publish(&name)?;
    }
    Ok((StatusCode::CREATED, Json(function_configuration(&pool))).into_response())
}

fn unpack(
    registry: &Registry,
    name: &str,
    zip: &[u8],
) -> Result<(PathBuf, crate::code_store::CodeInfo), ApiError> {
    registry.code_store.unpack(name, zip).map_err(|e| match e {
        UnpackError::Write { .. } => ApiError::service(e.to_string()),
        UnpackError::ZipTooLarge(_) => ApiError::request_entity_too_large(e.to_string()),
        _ => ApiError::invalid_parameter(e.to_string()),
    })
}

/// The function a CreateFunction body describes, before validation (the registry validates),
/// its code, and whether to publish it at once.
pub(crate) fn create_function_config(
    body: &[u8],
) -> Result<(FunctionConfig, NewCode, bool), ApiError> {
    let request: CreateFunctionRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_content(format!("CreateFunction body is not valid JSON: {e}"))
    })?;
    let name = request
        .function_name
        .ok_or_else(|| ApiError::invalid_parameter("FunctionName is required"))?;
    let (code_dir, code) = match (request.code_directory, request.code) {
        (Some(dir), None) => (dir, NewCode::Directory),
        (None, Some(code)) => (PathBuf::new(), NewCode::Zip(code.zip()?)),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_parameter(
                "give either Code (a zip) or CodeDirectory, not both",
            ))
        }
        (None, None) => {
            return Err(ApiError::invalid_parameter(
                "Code is required: a zip (Code.ZipFile) holding `bootstrap`, or the local extension CodeDirectory",
            ))
        }
    };
    let mut config = FunctionConfig::new(name, code_dir);
    if let Some(timeout) = request.timeout {
        config.timeout = Duration::from_secs(timeout);
    }
    if let Some(memory_mb) = request.memory_size {
        config.memory_mb = memory_mb;
    }
    if let Some(variables) = request.environment.and_then(|e| e.variables) {
        config.env = variables;
    }
    Ok((config, code, request.publish))
}

async fn update_function_code(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let code: Code = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_content(format!("UpdateFunctionCode body is not valid JSON: {e}"))
    })?;
    registry.resolve(&name, None)?;
    let (dir, info) = unpack(&registry, &name, &code.zip()?)?;
    let mut pool = registry.update_code(&name, dir, info)?;
    if code.publish {
        pool = registry.publish(&name)?;
    }
    Ok(Json(function_configuration(&pool)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigurationUpdate {
    timeout: Option<u64>,
    memory_size: Option<u32>,
    environment: Option<Environment>,
}

/// Timeout, memory and environment of `$LATEST`; its instances are replaced.
async fn update_function_configuration(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let update: ConfigurationUpdate = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_content(format!(
            "UpdateFunctionConfiguration body is not valid JSON: {e}"
        ))
    })?;
    let pool = registry.update_configuration(&name, |config| {
        if let Some(timeout) = update.timeout {
            config.timeout = Duration::from_secs(timeout);
        }
        if let Some(memory_mb) = update.memory_size {
            config.memory_mb = memory_mb;
        }
        if let Some(variables) = update.environment.and_then(|e| e.variables) {
            config.env = variables;
        }
    })?;
    Ok(Json(function_configuration(&pool)))
}

async fn publish_version(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let pool = registry.publish(&name)?;
    Ok((StatusCode::CREATED, Json(function_configuration(&pool))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasRequest {
    name: Option<String>,
    function_version: Option<String>,
}

fn alias_request(body: &[u8]) -> Result<AliasRequest, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_content(format!("alias body is not valid JSON: {e}")))
}

async fn create_alias(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = alias_request(&body)?;
    let alias = request
        .name
        .ok_or_else(|| ApiError::invalid_parameter("Name is required"))?;
    let version = request
        .function_version
        .ok_or_else(|| ApiError::invalid_parameter("FunctionVersion is required"))?;
    let number = registry.set_alias(&name, &alias, &version, true)?;
    let body = alias_configuration(&registry, &name, &alias, number)?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn update_alias(
    State(registry): State<Arc<Registry>>,
    Path((name, alias)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = alias_request(&body)?;
    let number = match request.function_version {
        Some(version) => registry.set_alias(&name, &alias, &version, false)?,
        None => registry.alias(&name, &alias)?,
    };
    Ok(Json(alias_configuration(&registry, &name, &alias, number)?))
}

async fn get_alias(
    State(registry): State<Arc<Registry>>,
    Path((name, alias)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let number = registry.alias(&name, &alias)?;
    Ok(Json(alias_configuration(&registry, &name, &alias, number)?))
}

fn alias_configuration(
    registry: &Registry,
    name: &str,
    alias: &str,
    version: u32,
) -> Result<Value, ApiError> {
    let latest = registry.resolve(name, None)?;
    Ok(json!({
        "AliasArn": format!("{}:{alias}", latest.function.arn),
        "Name": alias,
        "FunctionVersion": version.to_string(),
        "Description": "",
        "RevisionId": format!("{name}-{alias}-{version}"),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConcurrencyRequest {
    reserved_concurrent_executions: Option<usize>,
    provisioned_concurrent_executions: Option<usize>,
}

fn concurrency_request(body: &[u8]) -> Result<ConcurrencyRequest, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_content(format!("concurrency body is not valid JSON: {e}")))
}

async fn put_function_concurrency(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let limit = concurrency_request(&body)?
        .reserved_concurrent_executions
        .ok_or_else(|| ApiError::invalid_parameter("ReservedConcurrentExecutions is required"))?;
    registry.set_reserved(&name, limit)?;
    Ok(Json(json!({ "ReservedConcurrentExecutions": limit })))
}

fn provisioned_qualifier(query: &QualifierQuery) -> Result<&str, ApiError> {
    query
        .qualifier
        .as_deref()
        .ok_or_else(|| ApiError::invalid_parameter("Qualifier is required"))
}

async fn put_provisioned_concurrency(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let count = concurrency_request(&body)?
        .provisioned_concurrent_executions
        .ok_or_else(|| {
            ApiError::invalid_parameter("ProvisionedConcurrentExecutions is required")
        })?;
    let pool = registry.set_provisioned(&name, provisioned_qualifier(&query)?, count)?;
    Ok((StatusCode::ACCEPTED, Json(provisioned_status(&pool))).into_response())
}

async fn get_provisioned_concurrency(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Json<Value>, ApiError> {
    let pool = registry.resolve(&name, Some(provisioned_qualifier(&query)?))?;
    Ok(Json(provisioned_status(&pool)))
}

/// `READY` once the provisioned instances have started and wait idle.
fn provisioned_status(pool: &FunctionPool) -> Value {
    let requested = pool.function.config.provisioned;
    let ready = pool.stats().idle.min(requested);
    json!({
        "RequestedProvisionedConcurrentExecutions": requested,
        "AvailableProvisionedConcurrentExecutions": ready,
        "AllocatedProvisionedConcurrentExecutions": ready,
        "Status": if ready >= requested { "READY" } else { "IN_PROGRESS" },
    })
}

/// The pool a GetFunction-style request names (`name`, `name:qualifier`, `?Qualifier=`).
fn find(
    registry: &Registry,
    function: &str,
    query: &QualifierQuery,
) -> Result<Arc<FunctionPool>, ApiError> {
    let (name, qualifier) = qualified_name(function, query.qualifier.as_deref())?;
    Ok(registry.resolve(name, qualifier)?)
}

async fn get_function(
    State(registry): State<Arc<Registry>>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Json<Value>, ApiError> {
    let pool = find(&registry, &function, &query)?;
    let config = &pool.function.config;
    Ok(Json(json!({
        "Configuration": function_configuration(&pool),
        "Code": { "RepositoryType": "Local", "Location": config.code_dir },
        "Concurrency": { "ReservedConcurrentExecutions": config.concurrency_limit },
    })))
}

async fn get_function_configuration(
    State(registry): State<Arc<Registry>>,
    Path(function): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> Result<Json<Value>, ApiError> {
    let pool = find(&registry, &function, &query)?;
    Ok(Json(function_configuration(&pool)))
}

async fn list_functions(State(registry): State<Arc<Registry>>) -> Json<Value> {
    let functions: Vec<_> = registry
        .list()
        .iter()
        .map(|pool| function_configuration(pool))
        .collect();
    Json(json!({ "Functions": functions }))
}

async fn delete_function(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    validate_function_name(&name).map_err(|_| ApiError::function_not_found(&name))?;
    registry
        .remove(&name)
        .ok_or_else(|| ApiError::function_not_found(&name))?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lambda's `FunctionConfiguration`, plus the local `CodeDirectory`.
fn function_configuration(pool: &FunctionPool) -> Value {
    let function = &pool.function;
    let config = &function.config;
    json!({
        "FunctionName": config.name,
        "FunctionArn": function.arn,
        "Runtime": "provided.al2023",
        "Handler": "bootstrap",
        "Timeout": config.timeout.as_secs_f64().ceil() as u64,
        "MemorySize": config.memory_mb,
        "Environment": { "Variables": config.env },
        "Version": function.version,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "CodeSize": function.code.as_ref().map_or(0, |code| code.size),
        "CodeSha256": function.code.as_ref().map_or("", |code| &code.sha256),
        "CodeDirectory": config.code_dir,
    })
}
