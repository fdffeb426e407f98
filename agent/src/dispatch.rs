//! Sends offloaded invocations to the platform through the Lambda Invoke API and maps every way
//! that can go wrong to a [`FailureReason`].

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_config::{
    retry::RetryConfig, stalled_stream_protection::StalledStreamProtectionConfig,
    timeout::TimeoutConfig, BehaviorVersion, Region,
};
use aws_sdk_lambda::{
    error::{ProvideErrorMetadata, SdkError},
    operation::invoke::{InvokeError, InvokeOutput},
    primitives::Blob,
    types::ThrottleReason,
    Client,
};
use semifaas_closure::{
    limits::{ARGS_MAX, LAMBDA_SYNC_PAYLOAD_MAX},
    ClosureId, FailureKind, FallbackEndpoint, Invocation, InvocationKind, InvocationOutcome,
    InvocationReply, ShadowCall,
};
use tracing::{debug, error, warn};

use crate::{
    breaker::{Breaker, Recorded},
    closures::{Authorized, InFlight},
    config::{AgentConfig, Platform, LOCAL_ENDPOINT},
    fmt_num::Millis,
    stats::{FailureReason, Stats},
};

/// Region the SDK signs for; the local platform ignores it.
const LOCAL_REGION: &str = "us-east-1";
/// Longest piece of a platform or function error message kept.
const MESSAGE_MAX: usize = 300;
/// Longest piece of it in the log line of a failed offload.
const LOG_MESSAGE_MAX: usize = 160;
/// Least time a prewarm is given: it may include a cold start and every closure's install.
const PREWARM_TIMEOUT_MIN: Duration = Duration::from_secs(60);

/// Why an offload produced no usable outcome.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {message}")]
pub struct OffloadFailure {
    pub reason: FailureReason,
    pub message: String,
    /// A throttle because instances are still starting (Lambda's and faas-local's
    /// `FunctionInvocationRateLimitExceeded`): it says how fast the platform scales, not how
    /// much room it has, so no room is learned from it.
    pub scaling: bool,
}

impl OffloadFailure {
    pub(crate) fn new(reason: FailureReason, message: impl Into<String>) -> OffloadFailure {
        let message: String = message.into();
        OffloadFailure {
            reason,
            message: message.chars().take(MESSAGE_MAX).collect(),
            scaling: false,
        }
    }

    /// The message for a log line: its first line, at most [`LOG_MESSAGE_MAX`] characters.
    pub fn summary(&self) -> String {
        let first = self.message.lines().next().unwrap_or_default().trim();
        let mut summary: String = first.chars().take(LOG_MESSAGE_MAX).collect();
        if summary.len() < first.len() || self.message.trim().len() > first.len() {
            summary.push('…');
        }
        summary
    }

    /// The one log line of a failed offload of `handler_key`: the reason in words, a short
    /// message and the handler. It does not say what happens next: the handler runs locally,
    /// unless the Java side abandons the request (remote writes), which it logs itself.
    pub fn log_line(&self, handler_key: &str) -> String {
        let reason = self.reason.as_str().replace('_', " ");
        format!(
            "offload of {handler_key} failed ({reason}): {}",
            self.summary()
        )
    }
}

/// An error and its sources, `: `-separated, by `Display` only (the SDK's
/// `DisplayErrorContext` appends the whole `Debug` form too). A source whose text the line
/// already ends with is skipped.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !text.is_empty() && !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = e.source();
    }
    line
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

/// The platform client. One per process: the SDK client keeps a connection pool.
pub struct Dispatcher {
    client: Client,
    function: String,
    timeout: Duration,
    fallback: FallbackEndpoint,
    in_flight: Arc<InFlight>,
    stats: Arc<Stats>,
    breaker: Arc<Breaker>,
}

/// Builds the Lambda client for the configured platform. Retries are off: a throttled or failed
/// offload is better served by running the handler locally at once.
///
/// `aws` takes credentials and region from the standard AWS configuration chain (environment,
/// shared config and credentials files with `semifaas.aws.profile`, SSO, web identity, container
/// and instance metadata), the region from `semifaas.aws.region` first. Connect and read
/// timeouts are the offload timeout.
async fn lambda_client(config: &AgentConfig) -> Client {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.timeout)
        .read_timeout(config.timeout)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts)
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
    match config.platform {
        Platform::Local => {
            loader = loader
                .region(Region::new(LOCAL_REGION))
                .endpoint_url(config.lambda_endpoint.as_deref().unwrap_or(LOCAL_ENDPOINT))
                .test_credentials();
        }
        Platform::Aws => {
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
    }
    let sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        error!(
            "no AWS region: set semifaas.aws.region, AWS_REGION, or a region in the profile of \
             ~/.aws/config; every offload fails until then"
        );
    }
    Client::new(&sdk_config)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
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

/// Maps a 2xx Invoke response to the handler's outcome or why there is none.
fn outcome_of(output: &InvokeOutput) -> Result<InvocationReply, OffloadFailure> {
    let payload = output.payload().map(|b| b.as_ref()).unwrap_or_default();
    if let Some(kind) = output.function_error() {
        return Err(OffloadFailure::new(
            function_error_reason(payload),
            format!("{kind}: {}", function_error_message(payload)),
        ));
    }
    let reply = InvocationReply::from_lambda_payload(payload)
        .map_err(|e| OffloadFailure::new(FailureReason::ResultUnusable, e.to_string()))?;
    if let InvocationOutcome::Failed(failure) = &reply.outcome {
        let reason = match failure.kind {
            FailureKind::ResponseTooLarge => FailureReason::PayloadTooLarge,
            _ => FailureReason::FunctionFailed,
        };
        return Err(OffloadFailure::new(reason, failure.to_string()));
    }
    Ok(reply)
}

/// A platform's answer to an offload.
#[derive(Debug)]
pub struct Answered {
    pub outcome: InvocationOutcome,
    /// The instance that ran it (a Lambda log stream name).
    pub instance_id: String,
}

impl Dispatcher {
    pub async fn new(
        config: &AgentConfig,
        fallback: FallbackEndpoint,
        in_flight: Arc<InFlight>,
        stats: Arc<Stats>,
    ) -> Dispatcher {
        Dispatcher {
            client: lambda_client(config).await,
            function: config.function.clone(),
            timeout: config.timeout,
            fallback,
            in_flight,
            stats,
            breaker: Arc::new(Breaker::new()),
        }
    }

    /// Whether offloading is paused after a failure retrying will not fix.
    pub fn breaker(&self) -> Arc<Breaker> {
        self.breaker.clone()
    }

    /// Tells the breaker how the platform answered; a failure that pauses offloading is logged
    /// once per pause, with what to do about it.
    fn note_platform_answer<T>(&self, result: &Result<T, OffloadFailure>) {
        match result {
            Ok(_) => self.breaker.record_success(),
            Err(failure) => {
                let recorded =
                    self.breaker
                        .record_failure(failure.reason, &failure.message, Instant::now());
                if let Recorded::Paused(pause) = recorded {
                    error!(
                        reason = %failure.reason,
                        pause_s = pause.as_secs(),
                        "offloading paused: {}; to fix: {}; after the pause one request probes the platform",
                        failure.message,
                        failure.reason.remedy().unwrap_or("see the message"),
                    );
                }
            }
        }
    }

    /// Runs one invocation of `handler_key` on the platform; its remote calls are answered in
    /// the Java invocation scope `scope_id` (0: none). Returns the outcome (`Returned` or
    /// `Threw`) and the instance that ran it, or why there is none; either way it is counted in
    /// the statistics, and the invocation is out of the in-flight table when this returns.
    pub async fn offload(
        &self,
        handler_key: &str,
        closure_id: ClosureId,
        args: Vec<u8>,
        scope_id: u64,
    ) -> Result<Answered, OffloadFailure> {
        let authorized = Authorized::call(handler_key, closure_id, scope_id);
        let result = self
            .invoke(authorized, args, InvocationKind::Call, self.timeout)
            .await;
        match &result {
            Ok((reply, round_trip)) => {
                debug!(handler = %handler_key, round_trip_ms = %Millis(*round_trip), cold = reply.stats.cold, instance = %reply.stats.instance_id, "offloaded");
                self.stats
                    .record_offloaded(handler_key, *round_trip, &reply.stats);
            }
            Err(failure) => {
                warn!("{}", failure.log_line(handler_key));
                self.stats
                    .record_failure(handler_key, failure.reason, &failure.message);
            }
        }
        result.map(|(reply, _)| Answered {
            outcome: reply.outcome,
            instance_id: reply.stats.instance_id,
        })
    }

    /// Sends one prewarm invocation: the instance that takes it installs `closures` and replays
    /// `shadow_calls` in shadow mode (remote writes refused). Not counted in the handler
    /// statistics. Returns the reply (its stats say whether the instance was cold) and the
    /// round trip.
    pub async fn prewarm(
        &self,
        closures: Vec<ClosureId>,
        shadow_calls: Vec<ShadowCall>,
        rounds: u32,
    ) -> Result<(InvocationReply, Duration), OffloadFailure> {
        let authorized = Authorized::prewarm(closures.clone());
        let kind = InvocationKind::Prewarm {
            closures,
            shadow_calls,
            rounds,
        };
        let timeout = self.timeout.max(PREWARM_TIMEOUT_MIN);
        self.invoke(authorized, Vec::new(), kind, timeout).await
    }

    async fn invoke(
        &self,
        authorized: Authorized,
        args: Vec<u8>,
        kind: InvocationKind,
        timeout: Duration,
    ) -> Result<(InvocationReply, Duration), OffloadFailure> {
        let result = self.send(authorized, args, kind, timeout).await;
        self.note_platform_answer(&result);
        result
    }

    async fn send(
        &self,
        authorized: Authorized,
        args: Vec<u8>,
        kind: InvocationKind,
        timeout: Duration,
    ) -> Result<(InvocationReply, Duration), OffloadFailure> {
        let too_large = |what: &str, len: usize, max: usize| {
            OffloadFailure::new(
                FailureReason::PayloadTooLarge,
                format!("{what} are {len} bytes, over the {max}-byte limit"),
            )
        };
        if args.len() > ARGS_MAX {
            return Err(too_large("arguments", args.len(), ARGS_MAX));
        }
        let closure_id = authorized.closure_id;
        let handler_key = authorized.handler_key.to_string();
        // Dropped on every path out of this function, which takes the invocation out of flight.
        let in_flight = self.in_flight.register_with(authorized);
        let invocation = Invocation {
            closure_id,
            handler_key,
            args,
            deadline_unix_ms: unix_ms(SystemTime::now() + timeout),
            fallback: self.fallback.clone(),
            capability: in_flight.capability(),
            kind,
        };
        let payload = invocation.to_lambda_payload();
        if payload.len() > LAMBDA_SYNC_PAYLOAD_MAX {
            return Err(too_large(
                "invocation payload",
                payload.len(),
                LAMBDA_SYNC_PAYLOAD_MAX,
            ));
        }
        let started = Instant::now();
        let request = self
            .client
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(payload))
            .send();
        let output = tokio::time::timeout(timeout, request)
            .await
            .map_err(|_| {
                OffloadFailure::new(
                    FailureReason::Timeout,
                    format!("no reply within {} ms", timeout.as_millis()),
                )
            })?
            .map_err(|e| {
                let reason = classify_sdk_error(&e);
                OffloadFailure {
                    scaling: is_scaling_throttle(&e),
                    ..OffloadFailure::new(
                        reason,
                        format!("function {}: {}", self.function, error_chain(&e)),
                    )
                }
            })?;
        let round_trip = started.elapsed();
        drop(in_flight);
        Ok((outcome_of(&output)?, round_trip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_offload_is_one_short_line_without_debug_noise() {
        let failure = OffloadFailure::new(
            FailureReason::PlatformUnreachable,
            format!(
                "function semifaas: dispatch failure: io error: connection refused\n{}",
                "at Http(Error { kind: Connect, source: Some(Os { code: 111 }) })".repeat(5)
            ),
        );
        let line = failure.log_line("com.example.Images#thumbnail");
        assert_eq!(
            line,
            "offload of com.example.Images#thumbnail failed (platform unreachable): function \
             semifaas: dispatch failure: io error: connection refused…"
        );
        let long = OffloadFailure::new(FailureReason::FunctionError, "x".repeat(MESSAGE_MAX));
        let line = long.log_line("A#b");
        assert!(!line.contains('\n'));
        assert!(line.ends_with('…'), "{line}");
        assert!(line.chars().count() < LOG_MESSAGE_MAX + 60, "{line}");
        assert!(line.contains("(function error)"), "{line}");
    }

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn an_error_chain_is_display_only_and_skips_repeats() {
        let error = Layer(
            "dispatch failure",
            Some(Box::new(Layer(
                "io error",
                Some(Box::new(Layer(
                    "io error",
                    Some(Box::new(Layer("connection refused", None))),
                ))),
            ))),
        );
        assert_eq!(
            error_chain(&error),
            "dispatch failure: io error: connection refused"
        );
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
