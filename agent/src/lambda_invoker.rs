//! The Lambda Invoke API (AWS Lambda, or `semifaas local`): sends one payload, maps every way
//! that can go wrong, as Lambda defines its errors, to a [`FailureReason`].

use aws_config::{
    retry::RetryConfig, stalled_stream_protection::StalledStreamProtectionConfig,
    timeout::TimeoutConfig, BehaviorVersion, Region,
};
use aws_sdk_lambda::{
    error::{ProvideErrorMetadata, SdkError},
    operation::invoke::InvokeError,
    primitives::Blob,
    types::ThrottleReason,
    Client,
};
use tracing::error;

use crate::{
    config::{AgentConfig, Platform, LOCAL_ENDPOINT},
    dispatch::{error_chain, OffloadFailure},
    stats::FailureReason,
};

/// Region the SDK signs for; the local platform ignores it.
const LOCAL_REGION: &str = "us-east-1";

/// One per process: the SDK client keeps a connection pool.
pub struct LambdaInvoker {
    client: Client,
    function: String,
}

impl LambdaInvoker {
    /// Builds the Lambda client for the configured platform. Retries are off: a throttled or
    /// failed offload is better served by running the handler locally at once.
    ///
    /// `aws` takes credentials and region from the standard AWS configuration chain
    /// (environment, shared config and credentials files with `semifaas.aws.profile`, SSO, web
    /// identity, container and instance metadata), the region from `semifaas.aws.region` first.
    /// Connect and read timeouts are the offload timeout.
    pub async fn new(config: &AgentConfig) -> LambdaInvoker {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(config.timeout)
            .read_timeout(config.timeout)
            .build();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        if config.platform == Platform::Local {
            loader = loader
                .region(Region::new(LOCAL_REGION))
                .endpoint_url(config.lambda_endpoint.as_deref().unwrap_or(LOCAL_ENDPOINT))
                .test_credentials();
        } else {
            if let Some(profile) = &config.aws_profile {
                loader = loader.profile_name(profile);
            }
            if let Some(region) = &config.aws_region {
                loader = loader.region(Region::new(region.clone()));
            }
            if let Some(endpoint) = &config.lambda_endpoint {
                loader = loader.endpoint_url(endpoint);
            }
        }
        let sdk_config = loader.load().await;
        if sdk_config.region().is_none() {
            error!(
                "no AWS region: set semifaas.aws.region, AWS_REGION, or a region in the profile of \
                 ~/.aws/config; every offload fails until then"
            );
        }
        LambdaInvoker {
            client: Client::new(&sdk_config),
            function: config.function.clone(),
        }
    }

    /// Invokes the function once with `payload`; returns the function's own reply payload, or
    /// why there is none (a function error included).
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, OffloadFailure> {
        let output = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| OffloadFailure {
                scaling: is_scaling_throttle(&e),
                ..OffloadFailure::new(
                    classify_sdk_error(&e),
                    format!("function {}: {}", self.function, error_chain(&e)),
                )
            })?;
        let payload = output.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = output.function_error {
            return Err(OffloadFailure::new(
                function_error_reason(&payload),
                format!("{kind}: {}", function_error_message(&payload)),
            ));
        }
        Ok(payload)
    }

    /// What to do about a failure that pauses offloading.
    pub fn remedy(reason: FailureReason) -> Option<&'static str> {
        match reason {
            FailureReason::FunctionNotFound => Some(
                "deploy the function (semifaas deploy) or fix semifaas.function (a name, an ARN or name:qualifier)",
            ),
            FailureReason::AccessDenied => Some(
                "allow lambda:InvokeFunction on the function (and its alias) to the agent's role or user",
            ),
            FailureReason::BadCredentials => Some(
                "give the agent AWS credentials (environment, ~/.aws files with semifaas.aws.profile, SSO, web identity, container or instance role) that are valid for the function's account",
            ),
            _ => None,
        }
    }
}

/// Maps an Invoke API error to why the offload failed, as Lambda defines its errors: throttling
/// (429), no such function, no permission, credentials it does not accept, a request over its
/// limit (413), and service errors (5xx).
fn classify_sdk_error(error: &SdkError<InvokeError>) -> FailureReason {
    let status = error.raw_response().map(|r| r.status().as_u16());
    if status == Some(429) {
        return FailureReason::Throttled;
    }
    match error {
        SdkError::ServiceError(e) => {
            let code = e.err().code().unwrap_or_default();
            match (code, status) {
                (_, _) if e.err().is_too_many_requests_exception() => FailureReason::Throttled,
                ("ResourceNotFoundException", _) | (_, Some(404)) => {
                    FailureReason::FunctionNotFound
                }
                (
                    "UnrecognizedClientException"
                    | "InvalidSignatureException"
                    | "ExpiredTokenException"
                    | "IncompleteSignatureException"
                    | "MissingAuthenticationTokenException",
                    _,
                ) => FailureReason::BadCredentials,
                ("AccessDeniedException", _) | (_, Some(403)) => FailureReason::AccessDenied,
                ("RequestTooLargeException", _) | (_, Some(413)) => FailureReason::PayloadTooLarge,
                _ => FailureReason::PlatformError,
            }
        }
        // No credentials could be loaded: the SDK fails before it sends anything.
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_)
            if is_credentials_error(error) =>
        {
            FailureReason::BadCredentials
        }
        SdkError::TimeoutError(_) => FailureReason::Timeout,
        SdkError::DispatchFailure(e) if e.is_timeout() => FailureReason::Timeout,
        SdkError::DispatchFailure(_) => FailureReason::PlatformUnreachable,
        _ => FailureReason::PlatformError,
    }
}

/// Whether the SDK failed while loading credentials ("an error occurred while loading
/// credentials: …", from its identity resolver).
fn is_credentials_error(error: &SdkError<InvokeError>) -> bool {
    error_chain(error)
        .to_ascii_lowercase()
        .contains("loading credentials")
}

/// Whether the platform throttled because its instances are still starting.
fn is_scaling_throttle(error: &SdkError<InvokeError>) -> bool {
    match error {
        SdkError::ServiceError(e) => match e.err() {
            InvokeError::TooManyRequestsException(t) => matches!(
                t.reason(),
                Some(ThrottleReason::FunctionInvocationRateLimitExceeded)
            ),
            _ => false,
        },
        _ => false,
    }
}

/// Why a function error happened: a result over the platform's response limit
/// (`Function.ResponseSizeTooLarge`, as Lambda reports it) is `PayloadTooLarge`, the platform's
/// own timeout ("Task timed out after …") a `Timeout`, anything else a `FunctionError`.
fn function_error_reason(payload: &[u8]) -> FailureReason {
    let body = serde_json::from_slice::<serde_json::Value>(payload).ok();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|v| v[name].as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    if field("errorType") == "Function.ResponseSizeTooLarge" {
        FailureReason::PayloadTooLarge
    } else if field("errorMessage").contains("Task timed out after") {
        FailureReason::Timeout
    } else {
        FailureReason::FunctionError
    }
}

/// A function error's body, readable: `errorType: errorMessage` when it is Lambda's JSON shape.
fn function_error_message(payload: &[u8]) -> String {
    let body = serde_json::from_slice::<serde_json::Value>(payload).ok();
    let field = |name: &str| {
        body.as_ref()
            .and_then(|v| v[name].as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match (field("errorType"), field("errorMessage")) {
        (Some(kind), Some(message)) => format!("{kind}: {message}"),
        (Some(text), None) | (None, Some(text)) => text,
        (None, None) => String::from_utf8_lossy(payload).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_error_body_reads_as_type_and_message() {
        let body = br#"{"errorMessage":"process exited","errorType":"Runtime.ExitError"}"#;
        assert_eq!(
            function_error_message(body),
            "Runtime.ExitError: process exited"
        );
        assert_eq!(function_error_message(b"plain text"), "plain text");
    }
}
