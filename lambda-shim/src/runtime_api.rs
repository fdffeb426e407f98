//! A small blocking client for the Lambda Runtime API
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>).

use std::time::Duration;

use semifaas_closure::limits::LAMBDA_SYNC_PAYLOAD_MAX;
use ureq::Agent;

const API_VERSION: &str = "2018-06-01";
const REQUEST_ID_HEADER: &str = "Lambda-Runtime-Aws-Request-Id";
/// Room for a full synchronous payload plus anything the platform adds around it.
const BODY_LIMIT: u64 = LAMBDA_SYNC_PAYLOAD_MAX as u64 + 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("AWS_LAMBDA_RUNTIME_API is not set: bootstrap must be started by a Lambda-compatible platform")]
    NotConfigured,
    #[error("{what} at {url}: {source}")]
    Http {
        what: &'static str,
        url: String,
        #[source]
        source: ureq::Error,
    },
    #[error("{what} at {url}: the platform answered HTTP {status}")]
    Status {
        what: &'static str,
        url: String,
        status: u16,
    },
    #[error("the next invocation at {url} has no {REQUEST_ID_HEADER} header")]
    NoRequestId { url: String },
}

/// One invocation handed out by `/next`.
#[derive(Debug)]
pub struct NextInvocation {
    pub request_id: String,
    pub payload: Vec<u8>,
}

/// The Runtime API of this instance.
pub struct RuntimeApi {
    agent: Agent,
    base: String,
}

impl RuntimeApi {
    /// The API named by `AWS_LAMBDA_RUNTIME_API` (`host:port`).
    pub fn from_env() -> Result<RuntimeApi, RuntimeApiError> {
        match std::env::var("AWS_LAMBDA_RUNTIME_API") {
            Ok(addr) if !addr.trim().is_empty() => Ok(RuntimeApi::new(addr.trim())),
            _ => Err(RuntimeApiError::NotConfigured),
        }
    }

    pub fn new(host_port: &str) -> RuntimeApi {
        let config = Agent::config_builder()
            // `/next` blocks until the platform has work, however long that is.
            .timeout_global(None)
            .timeout_recv_response(None)
            .timeout_recv_body(None)
            .timeout_connect(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build();
        RuntimeApi {
            agent: Agent::new_with_config(config),
            base: format!("http://{host_port}/{API_VERSION}/runtime"),
        }
    }

    /// Blocks until the platform hands out the next invocation.
    pub fn next(&self) -> Result<NextInvocation, RuntimeApiError> {
        const WHAT: &str = "waiting for the next invocation";
        let url = format!("{}/invocation/next", self.base);
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|source| RuntimeApiError::Http {
                what: WHAT,
                url: url.clone(),
                source,
            })?;
        check_status(WHAT, &url, response.status().as_u16())?;
        let request_id = response
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| RuntimeApiError::NoRequestId { url: url.clone() })?;
        let payload = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|source| RuntimeApiError::Http {
                what: "reading the invocation payload",
                url,
                source,
            })?;
        Ok(NextInvocation {
            request_id,
            payload,
        })
    }

    /// Posts the result of invocation `request_id`.
    pub fn respond(&self, request_id: &str, body: &[u8]) -> Result<(), RuntimeApiError> {
        let url = format!("{}/invocation/{request_id}/response", self.base);
        self.post("posting the invocation response", url, body)
    }

    /// Reports that invocation `request_id` could not be handled at all.
    pub fn invocation_error(
        &self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), RuntimeApiError> {
        let url = format!("{}/invocation/{request_id}/error", self.base);
        self.post(
            "posting the invocation error",
            url,
            &error_body(error_type, message),
        )
    }

    /// Reports that the runtime could not start; the platform then discards this instance.
    pub fn init_error(&self, error_type: &str, message: &str) -> Result<(), RuntimeApiError> {
        let url = format!("{}/init/error", self.base);
        self.post(
            "posting the init error",
            url,
            &error_body(error_type, message),
        )
    }

    fn post(&self, what: &'static str, url: String, body: &[u8]) -> Result<(), RuntimeApiError> {
        let response = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(body)
            .map_err(|source| RuntimeApiError::Http {
                what,
                url: url.clone(),
                source,
            })?;
        check_status(what, &url, response.status().as_u16())
    }
}

fn check_status(what: &'static str, url: &str, status: u16) -> Result<(), RuntimeApiError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(RuntimeApiError::Status {
            what,
            url: url.to_owned(),
            status,
        })
    }
}

fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "errorMessage": message, "errorType": error_type }))
        .expect("JSON of two strings always encodes")
}
