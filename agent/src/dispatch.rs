//! Sends offloaded invocations to the platform (the Lambda Invoke API, [`LambdaInvoker`], or
//! OpenWhisk's, [`OpenWhiskInvoker`]) and maps every way that can go wrong to a
//! [`FailureReason`]. The envelope, the in-flight table, the limits and the deadline are the
//! same for both.

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
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
    config::{AgentConfig, Platform},
    fmt_num::Millis,
    lambda_invoker::LambdaInvoker,
    openwhisk_invoker::OpenWhiskInvoker,
    stats::{FailureReason, Stats},
};
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
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
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

/// The platform's invocation API.
enum PlatformClient {
    Lambda(Box<LambdaInvoker>),
    OpenWhisk(Box<OpenWhiskInvoker>),
}

impl PlatformClient {
    async fn new(config: &AgentConfig) -> Result<PlatformClient, String> {
        Ok(match config.platform {
            Platform::Local | Platform::Aws => {
                PlatformClient::Lambda(Box::new(LambdaInvoker::new(config).await))
            }
            Platform::OpenWhisk => {
                PlatformClient::OpenWhisk(Box::new(OpenWhiskInvoker::new(config)?))
            }
        })
    }

    /// The function's reply payload, or why there is none.
    async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, OffloadFailure> {
        match self {
            PlatformClient::Lambda(lambda) => lambda.invoke(payload).await,
            PlatformClient::OpenWhisk(openwhisk) => openwhisk.invoke(payload).await,
        }
    }

    fn remedies(&self) -> crate::breaker::Remedies {
        match self {
            PlatformClient::Lambda(_) => LambdaInvoker::remedy,
            PlatformClient::OpenWhisk(_) => OpenWhiskInvoker::remedy,
        }
    }
}

/// The platform client. One per process: the SDK client keeps a connection pool.
pub struct Dispatcher {
    client: PlatformClient,
    timeout: Duration,
    fallback: FallbackEndpoint,
    in_flight: Arc<InFlight>,
    stats: Arc<Stats>,
    breaker: Arc<Breaker>,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Maps the function's reply payload to the handler's outcome or why there is none.
fn outcome_of(payload: &[u8]) -> Result<InvocationReply, OffloadFailure> {
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
    ) -> Result<Dispatcher, String> {
        let client = PlatformClient::new(config).await?;
        let breaker = Arc::new(Breaker::new(client.remedies()));
        Ok(Dispatcher {
            client,
            timeout: config.timeout,
            fallback,
            in_flight,
            stats,
            breaker,
        })
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
                        self.breaker.remedy(failure.reason).unwrap_or("see the message"),
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
        let reply = tokio::time::timeout(timeout, self.client.invoke(payload))
            .await
            .map_err(|_| {
                OffloadFailure::new(
                    FailureReason::Timeout,
                    format!("no reply within {} ms", timeout.as_millis()),
                )
            })??;
        let round_trip = started.elapsed();
        drop(in_flight);
        Ok((outcome_of(&reply)?, round_trip))
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
}
