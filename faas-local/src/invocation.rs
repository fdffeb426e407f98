//! One invocation: get an instance, hand it the payload, wait for the runtime's answer within
//! the limits, and turn every way it can end into what Lambda would return (the OpenWhisk API
//! translates that further).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};
use tracing::warn;

use crate::instance::{wait_exit, SpawnError};
use crate::pool::{AcquireError, FunctionPool, Lease};
use crate::runtime_api::{Invocation, Progress, RuntimeOutcome};

/// How long to wait for an exit status once an instance's Runtime API has gone.
const EXIT_REPORT_WAIT: Duration = Duration::from_secs(1);

pub(crate) enum InvokeOutcome {
    Response(Bytes),
    /// An `Unhandled` function error; the body has `errorMessage` and `errorType`.
    FunctionError(Value),
}

/// Why an invocation got no instance.
pub(crate) enum Refused {
    Throttled {
        limit: usize,
    },
    /// `starting` instances are already starting (`max_starting`).
    StartsPaced {
        starting: usize,
    },
    /// The function was deleted meanwhile.
    Gone,
}

/// Gets past the limits and takes an instance, or says why not; `run` then runs the invocation.
/// Apart, so an API can answer a refusal before it lets the invocation run on its own.
pub(crate) async fn admit(pool: Arc<FunctionPool>) -> Result<Admitted, Refused> {
    let counters = &pool.function.counters;
    let lease = match pool.acquire().await {
        Ok(lease) => Ok(lease),
        Err(AcquireError::Throttled { limit }) => {
            counters.throttle();
            return Err(Refused::Throttled { limit });
        }
        Err(AcquireError::StartsPaced { starting }) => {
            counters.throttle();
            return Err(Refused::StartsPaced { starting });
        }
        Err(AcquireError::Closed) => return Err(Refused::Gone),
        // Admitted all the same: the failed start is the invocation's outcome.
        Err(AcquireError::Spawn(e)) => Err(e),
    };
    Ok(Admitted { pool, lease })
}

/// An invocation within the limits, holding its instance (dropped unrun, it kills it).
pub(crate) struct Admitted {
    pool: Arc<FunctionPool>,
    lease: Result<Lease, SpawnError>,
}

impl Admitted {
    pub(crate) async fn run(self, request_id: String, payload: Bytes) -> InvokeOutcome {
        let Admitted { pool, lease } = self;
        let counters = &pool.function.counters;
        let mut taken = None;
        let outcome = match lease {
            Ok(lease) => {
                let _running = counters.running();
                run(lease, &pool, &request_id, payload, &mut taken).await
            }
            Err(e) => {
                warn!(function = pool.name(), error = %e, "cannot start an instance");
                function_error(
                    "Runtime.InvalidEntrypoint",
                    format!("RequestId: {request_id} Error: {e}"),
                )
            }
        };
        counters.invocation(
            matches!(outcome, InvokeOutcome::FunctionError(_)),
            taken.map(|at: Instant| at.elapsed()),
        );
        outcome
    }
}

pub(crate) async fn invoke(
    pool: Arc<FunctionPool>,
    request_id: String,
    payload: Bytes,
) -> Result<InvokeOutcome, Refused> {
    Ok(admit(pool).await?.run(request_id, payload).await)
}

enum Event {
    Progress(Option<Progress>),
    Exited(String),
    Expired,
}

/// Runs the invocation on the leased instance; `taken` is set when the runtime takes it, which
/// starts the billed duration (whichever way the invocation then ends).
async fn run(
    lease: Lease,
    pool: &FunctionPool,
    request_id: &str,
    payload: Bytes,
    taken: &mut Option<Instant>,
) -> InvokeOutcome {
    let instance = lease.instance().clone();
    let (progress, mut events) = mpsc::unbounded_channel();
    let submitted = instance.submit(Invocation {
        request_id: request_id.to_owned(),
        payload,
        progress,
    });
    if !submitted {
        lease.discard();
        return exit_error(
            request_id,
            "the instance stopped before it got the invocation",
        );
    }
    let mut exit = instance.exit_watch();
    let init_timeout = pool.function.init_timeout;
    let timeout = pool.function.config.timeout;
    let pickup_deadline = Instant::now() + init_timeout;
    // None until the runtime takes the invocation with `/next`.
    let mut deadline: Option<Instant> = None;
    loop {
        let event = tokio::select! {
            biased;
            progress = events.recv() => Event::Progress(progress),
            status = wait_exit(&mut exit) => Event::Exited(status),
            _ = sleep_until(deadline.unwrap_or(pickup_deadline)) => Event::Expired,
        };
        match event {
            Event::Progress(Some(Progress::Started { deadline: d })) => {
                *taken = Some(Instant::now());
                deadline = Some(Instant::from_std(d));
            }
            Event::Progress(Some(Progress::Finished(outcome))) => {
                return settle(lease, request_id, outcome);
            }
            Event::Progress(None) => {
                // The instance's Runtime API went away: it is exiting; report how.
                let status = tokio::time::timeout(EXIT_REPORT_WAIT, wait_exit(&mut exit)).await;
                lease.discard();
                let detail = match status {
                    Ok(status) => format!("Runtime exited with error: {status}"),
                    Err(_) => "the instance dropped the invocation".to_owned(),
                };
                return exit_error(request_id, &detail);
            }
            Event::Exited(status) => {
                lease.discard();
                return exit_error(request_id, &format!("Runtime exited with error: {status}"));
            }
            Event::Expired if deadline.is_some() => {
                warn!(function = pool.name(), instance = %instance.id, %request_id, "invocation timed out; stopping the instance");
                lease.discard();
                return function_error(
                    "Sandbox.Timedout",
                    format!(
                        "RequestId: {request_id} Error: Task timed out after {} seconds",
                        format_seconds(timeout)
                    ),
                );
            }
            Event::Expired => {
                warn!(function = pool.name(), instance = %instance.id, "instance did not ask for an invocation in time; stopping it");
                lease.discard();
                return function_error(
                    "Runtime.InitError",
                    format!(
                        "RequestId: {request_id} Error: the runtime did not take the invocation within {} seconds of starting",
                        format_seconds(init_timeout)
                    ),
                );
            }
        }
    }
}

fn settle(lease: Lease, request_id: &str, outcome: RuntimeOutcome) -> InvokeOutcome {
    match outcome {
        RuntimeOutcome::Response(payload) => {
            lease.release();
            InvokeOutcome::Response(payload)
        }
        RuntimeOutcome::Error(error) => {
            lease.release();
            InvokeOutcome::FunctionError(error)
        }
        RuntimeOutcome::ResponseTooLarge(size) => {
            lease.release();
            function_error(
                "Function.ResponseSizeTooLarge",
                format!(
                    "RequestId: {request_id} Error: response of {size} bytes or more exceeds the limit of {} bytes",
                    crate::payload::PAYLOAD_LIMIT
                ),
            )
        }
        RuntimeOutcome::Abandoned => {
            lease.release();
            function_error(
                "Runtime.NoResponse",
                format!("RequestId: {request_id} Error: the runtime asked for the next invocation without answering this one"),
            )
        }
        RuntimeOutcome::InitError(error) => {
            lease.discard();
            let posted_type = error["errorType"].as_str().unwrap_or("Unhandled");
            let posted_message = error["errorMessage"].as_str().unwrap_or("");
            function_error(
                "Runtime.InitError",
                format!("RequestId: {request_id} Error: {posted_type}: {posted_message}"),
            )
        }
    }
}

fn exit_error(request_id: &str, detail: &str) -> InvokeOutcome {
    function_error(
        "Runtime.ExitError",
        format!("RequestId: {request_id} Error: {detail}"),
    )
}

fn function_error(error_type: &str, message: String) -> InvokeOutcome {
    InvokeOutcome::FunctionError(json!({ "errorMessage": message, "errorType": error_type }))
}

fn format_seconds(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64())
}
