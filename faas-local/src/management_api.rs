//! The function-management subset of the Lambda API: CreateFunction (with the local
//! `CodeDirectory` extension instead of a zip), GetFunction, ListFunctions, DeleteFunction.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::config::{validate_function_name, FunctionConfig};
use crate::pool::FunctionPool;
use crate::registry::{CreateError, Registry};

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
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateFunctionRequest {
    function_name: Option<String>,
    timeout: Option<u64>,
    memory_size: Option<u32>,
    environment: Option<Environment>,
    /// Local extension: the directory holding `bootstrap`.
    code_directory: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Environment {
    variables: Option<BTreeMap<String, String>>,
}

async fn create_function(
    State(registry): State<Arc<Registry>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let config = create_function_config(&body)?;
    let pool = registry.create(config).map_err(|e| match e {
        CreateError::Exists(name) => ApiError::function_exists(&name),
        CreateError::Invalid(e) => ApiError::invalid_parameter(e.to_string()),
    })?;
    Ok((StatusCode::CREATED, Json(function_configuration(&pool))).into_response())
}

/// The function a CreateFunction body describes, before validation (the registry validates).
pub(crate) fn create_function_config(body: &[u8]) -> Result<FunctionConfig, ApiError> {
    let request: CreateFunctionRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid_content(format!("CreateFunction body is not valid JSON: {e}"))
    })?;
    let name = request
        .function_name
        .ok_or_else(|| ApiError::invalid_parameter("FunctionName is required"))?;
    let code_dir = request.code_directory.ok_or_else(|| {
        ApiError::invalid_parameter(
            "CodeDirectory is required: faas-local runs {CodeDirectory}/bootstrap and takes no zip",
        )
    })?;
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
    Ok(config)
}

async fn get_function(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let pool = find(&registry, &name)?;
    let config = &pool.function.config;
    Ok(Json(json!({
        "Configuration": function_configuration(&pool),
        "Code": { "RepositoryType": "Local", "Location": config.code_dir },
        "Concurrency": { "ReservedConcurrentExecutions": config.concurrency_limit },
    })))
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

fn find(registry: &Registry, name: &str) -> Result<Arc<FunctionPool>, ApiError> {
    registry
        .get(name)
        .ok_or_else(|| ApiError::function_not_found(name))
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
        "Version": "$LATEST",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "CodeSize": 0,
        "CodeDirectory": config.code_dir,
    })
}
