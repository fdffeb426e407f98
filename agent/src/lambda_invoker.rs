//! The Lambda Invoke API (AWS Lambda, or `semifaas local`): sends one payload, maps every way
//! that can go wrong, as Lambda defines its errors, to a [`FailureReason`].
//!
//! The request is one signed `POST`, sent by a kept HTTP client. The AWS SDK's client ran its
//! whole request pipeline (configuration layers, interceptors, endpoint rules) on every offload,
//! which cost the server more CPU than the rest of an offload together (docs/benchmarks.md,
//! "Where an offload's server CPU goes"). The SDK's own parts still do what they are for, once:
//! its configuration chain finds the region and credentials, its endpoint rules the URL, and
//! `aws-sigv4` signs (see [`crate::sigv4_signer`]).

#[cfg(test)]
use std::time::Duration;
use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_lambda::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
use reqwest::{header::CONTENT_TYPE, StatusCode, Url};
use tracing::error;

use crate::{
    config::{AgentConfig, Platform, LOCAL_ENDPOINT},
    dispatch::{error_chain, OffloadFailure},
    platform_http::{self, Answer},
    sigv4_signer::{Signer, SigningFailure},
    stats::FailureReason,
};

/// Region the requests are signed for; the local platform ignores it.
const LOCAL_REGION: &str = "us-east-1";
/// Longest piece of an error body kept in a message.
const ERROR_TEXT_MAX: usize = 300;
/// The payload's content type, as the AWS SDK sends it.
const PAYLOAD_TYPE: &str = "application/octet-stream";

/// One per process: the HTTP client keeps a connection pool.
pub struct LambdaInvoker {
    http: reqwest::Client,
    /// `…/2015-03-31/functions/{function}/invocations`, or why there is none.
    url: Result<Url, String>,
    /// `None` when there is no region to sign for (every offload then fails, saying so).
    signer: Option<Signer>,
    function: String,
}

impl LambdaInvoker {
    /// Builds the Lambda client for the configured platform. There are no retries: a throttled
    /// or failed offload is better served by running the handler locally at once.
    ///
    /// `aws` takes credentials and region from the standard AWS configuration chain
    /// (environment, shared config and credentials files with `semifaas.aws.profile`, SSO, web
    /// identity, container and instance metadata), the region from `semifaas.aws.region` first.
    /// Connecting and the whole invocation are bounded by the offload timeout.
    pub async fn new(config: &AgentConfig) -> LambdaInvoker {
        let sdk_config = sdk_config(config).await;
        let region = sdk_config.region().map(|r| r.to_string());
        if region.is_none() {
            error!(
                "no AWS region: set semifaas.aws.region, AWS_REGION, or a region in the profile of \
                 ~/.aws/config; every offload fails until then"
            );
        }
        let url = endpoint(&sdk_config)
            .await
            .and_then(|base| invocations_url(&base, &config.function));
        if let Err(e) = &url {
            error!("no Lambda endpoint: {e}; every offload fails until then");
        }
        let signer = region
            .zip(sdk_config.credentials_provider())
            .map(|(region, provider)| Signer::new(region, provider));
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .build()
            .unwrap_or_else(|e| {
                error!(
                    "cannot build the HTTP client with its timeouts ({}); using the defaults",
                    error_chain(&e)
                );
                reqwest::Client::new()
            });
        LambdaInvoker {
            http,
            url,
            signer,
            function: config.function.clone(),
        }
    }

    /// Invokes the function once with `payload`; returns the function's own reply payload, or
    /// why there is none (a function error included).
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, OffloadFailure> {
        let fail = |reason, message: &str| {
            OffloadFailure::new(reason, format!("function {}: {message}", self.function))
        };
        let url = self
            .url
            .as_ref()
            .map_err(|e| fail(FailureReason::PlatformError, e))?;
        let signer = self.signer.as_ref().ok_or_else(|| {
            fail(
                FailureReason::PlatformError,
                "no AWS region to sign the request for (semifaas.aws.region)",
            )
        })?;
        let length = payload.len().to_string();
        let signed = [
            ("content-type", PAYLOAD_TYPE),
            ("content-length", length.as_str()),
        ];
        let signature = signer
            .headers(url.as_str(), &signed, &payload, SystemTime::now())
            .await
            .map_err(|e| match e {
                SigningFailure::Credentials(_) => {
                    fail(FailureReason::BadCredentials, &e.to_string())
                }
                SigningFailure::Sign(_) => fail(FailureReason::PlatformError, &e.to_string()),
            })?;
        let mut request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, PAYLOAD_TYPE);
        for (name, value) in &signature {
            request = request.header(name, value);
        }
        let Answer {
            status,
            headers,
            body,
        } = platform_http::exchange(
            request.body(payload),
            &format!("function {}", self.function),
        )
        .await?;
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let function_error = header("x-amz-function-error");
        let error_type = header("x-amzn-errortype");
        if !status.is_success() {
            let error = ApiError::of(status, error_type.as_deref(), &body);
            return Err(OffloadFailure {
                scaling: error.is_scaling_throttle(),
                ..fail(error.reason(), &error.to_string())
            });
        }
        if let Some(kind) = function_error {
            return Err(OffloadFailure::new(
                function_error_reason(&body),
                format!("{kind}: {}", function_error_message(&body)),
            ));
        }
        Ok(body)
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

/// The AWS configuration chain, pointed at the bundled platform for `semifaas.platform=local`.
async fn sdk_config(config: &AgentConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
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
    loader.load().await
}

/// The Lambda endpoint: the configured URL, else the one the SDK's endpoint rules give for the
/// region (with FIPS and dual-stack as configured).
async fn endpoint(sdk_config: &SdkConfig) -> Result<String, String> {
    if let Some(url) = sdk_config.endpoint_url() {
        return Ok(url.to_owned());
    }
    let params = Params::builder()
        .set_region(sdk_config.region().map(|r| r.to_string()))
        .use_fips(sdk_config.use_fips().unwrap_or(false))
        .use_dual_stack(sdk_config.use_dual_stack().unwrap_or(false))
        .build()
        .map_err(|e| e.to_string())?;
    DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map(|endpoint| endpoint.url().to_owned())
        .map_err(|e| error_chain(&*e))
}

/// Characters a path label keeps as they are (RFC 3986 unreserved), as the SDK encodes them.
const LABEL: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The Invoke URL of `function` (a name, `name:qualifier` or an ARN) under `base`.
fn invocations_url(base: &str, function: &str) -> Result<Url, String> {
    let name = percent_encoding::utf8_percent_encode(function, LABEL);
    let url = format!(
        "{}/2015-03-31/functions/{name}/invocations",
        base.trim_end_matches('/')
    );
    Url::parse(&url).map_err(|e| format!("{url} is not a URL: {e}"))
}

/// An error answer of the Invoke API: its status, its type (`x-amzn-errortype`, else the body's
/// `__type` or `code`) and message, as Lambda defines them.
struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    /// Why a 429 was sent (`Reason` in the body).
    throttle_reason: Option<String>,
}

impl ApiError {
    fn of(status: StatusCode, error_type: Option<&str>, body: &[u8]) -> ApiError {
        let json = serde_json::from_slice::<serde_json::Value>(body).ok();
        let field = |names: &[&str]| {
            json.as_ref().and_then(|v| {
                names
                    .iter()
                    .find_map(|n| v[*n].as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            })
        };
        // `TooManyRequestsException:http://internal.amazon.com/…` or `aws.lambda#Type`.
        let code = error_type
            .map(str::to_owned)
            .or_else(|| field(&["__type", "code"]))
            .map(|t| {
                let t = t.split(':').next().unwrap_or_default();
                t.rsplit('#').next().unwrap_or_default().to_owned()
            })
            .unwrap_or_default();
        let message = field(&["message", "Message", "errorMessage"]).unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .chars()
                .take(ERROR_TEXT_MAX)
                .collect()
        });
        ApiError {
            status,
            code,
            message,
            throttle_reason: field(&["Reason"]),
        }
    }

    fn reason(&self) -> FailureReason {
        let status = self.status.as_u16();
        match self.code.as_str() {
            "TooManyRequestsException" => FailureReason::Throttled,
            _ if status == 429 => FailureReason::Throttled,
            "ResourceNotFoundException" => FailureReason::FunctionNotFound,
            _ if status == 404 => FailureReason::FunctionNotFound,
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "IncompleteSignatureException"
            | "MissingAuthenticationTokenException" => FailureReason::BadCredentials,
            "AccessDeniedException" => FailureReason::AccessDenied,
            _ if status == 403 => FailureReason::AccessDenied,
            "RequestTooLargeException" => FailureReason::PayloadTooLarge,
            _ if status == 413 => FailureReason::PayloadTooLarge,
            _ => FailureReason::PlatformError,
        }
    }

    /// A throttle because instances are still starting.
    fn is_scaling_throttle(&self) -> bool {
        self.reason() == FailureReason::Throttled
            && self.throttle_reason.as_deref() == Some("FunctionInvocationRateLimitExceeded")
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = if self.code.is_empty() {
            "error"
        } else {
            &self.code
        };
        write!(
            f,
            "{code} (HTTP {}): {}",
            self.status.as_u16(),
            self.message
        )
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
    use aws_credential_types::{provider::SharedCredentialsProvider, Credentials};
    use aws_smithy_async::time::{SharedTimeSource, StaticTimeSource};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The request line and headers (lower-case names) of one request sent to a listener that
    /// answers 200 with an empty body.
    async fn capture_one(listener: tokio::net::TcpListener) -> (String, Vec<(String, String)>) {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the client closed before its request ended");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .map_or(0, |(_, v)| v.parse().unwrap());
        while buf.len() < head_end + 4 + length {
            let n = socket.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        (request_line, headers)
    }

    /// The AWS SDK is the reference: for the same function, payload, credentials and time, the
    /// request goes to the same path and its signature is the same.
    #[tokio::test]
    async fn requests_are_addressed_and_signed_as_the_aws_sdk_does() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000);
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "secret/key+example",
            Some("session-token".into()),
            None,
            "test",
        );
        let payload = br#"{"semifaas":1,"invocation":"AAEC/+8="}"#.to_vec();
        for function in [
            "thumbs",
            "thumbs:live",
            "arn:aws:lambda:eu-west-1:123456789012:function:thumbs",
        ] {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let sdk_config = aws_sdk_lambda::Config::builder()
                .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
                .region(Region::new("eu-west-1"))
                .endpoint_url(&base)
                .credentials_provider(credentials.clone())
                .time_source(SharedTimeSource::new(StaticTimeSource::new(time)))
                .build();
            let client = aws_sdk_lambda::Client::from_conf(sdk_config);
            let sent = client
                .invoke()
                .function_name(function)
                .payload(aws_sdk_lambda::primitives::Blob::new(payload.clone()))
                .send();
            let ((request_line, headers), result) = tokio::join!(capture_one(listener), sent);
            result.unwrap();

            let url = invocations_url(&base, function).unwrap();
            assert_eq!(
                request_line,
                format!("POST {} HTTP/1.1", url.path()),
                "{function}"
            );
            // Sign what the SDK signed, with our signer: the signatures must agree.
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("the SDK sent no {name}"))
            };
            let authorization = header("authorization");
            let signed_names: Vec<String> = authorization
                .split("SignedHeaders=")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .unwrap()
                .split(';')
                .map(str::to_owned)
                .collect();
            let signed: Vec<(String, String)> = signed_names
                .iter()
                .filter(|n| !matches!(n.as_str(), "host" | "x-amz-date" | "x-amz-security-token"))
                .map(|n| (n.clone(), header(n)))
                .collect();
            let signed_refs: Vec<(&str, &str)> = signed
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            let signer = Signer::new(
                "eu-west-1".into(),
                SharedCredentialsProvider::new(credentials.clone()),
            );
            let ours = signer
                .headers(url.as_str(), &signed_refs, &payload, time)
                .await
                .unwrap();
            let ours_authorization = ours
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.clone())
                .unwrap();
            assert_eq!(ours_authorization, authorization, "{function}");
            // What the invoker itself signs is a subset of what it sends.
            assert!(
                signed_names.iter().all(|n| matches!(
                    n.as_str(),
                    "host"
                        | "x-amz-date"
                        | "x-amz-security-token"
                        | "content-type"
                        | "content-length"
                        | "x-amz-user-agent"
                )),
                "the SDK signs headers the invoker does not send: {signed_names:?}"
            );
        }
    }

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
