//! `bootstrap`: the semifaas function. A Lambda custom runtime that hosts one JVM and runs the
//! closures the server offloads to it (docs/internals.md).
//!
//! Environment:
//! - `AWS_LAMBDA_RUNTIME_API` (required): `host:port` of the platform's Runtime API, or
//!   `host:port/<key>` when the platform serves it under a secret path (faas-local).
//! - `LAMBDA_TASK_ROOT`: where `semifaas-runtime.jar` (and optionally a `jre/`) are.
//! - `SEMIFAAS_RUNTIME_JAR`: the runtime jar, instead of `$LAMBDA_TASK_ROOT/semifaas-runtime.jar`.
//! - `SEMIFAAS_JAVA_HOME`, then `$LAMBDA_TASK_ROOT/jre`, `JAVA_HOME`, `java` on `PATH`: the JVM.
//! - `SEMIFAAS_JVM_OPTS`: extra JVM options, space separated.
//! - `SEMIFAAS_LOG`: log filter (`tracing` env-filter syntax), default `info`; logs go to stderr,
//!   timestamped and coloured only when it is a terminal.
//! - `AWS_LAMBDA_LOG_STREAM_NAME`: the instance id in statistics (else `pid-<pid>`).

mod fallback_bridge;
mod installed;
mod invoke;
mod jvm;
mod runtime_api;

use std::{process::ExitCode, time::Instant};

use anyhow::Context;
use semifaas_closure::{
    is_smoke, limits::LAMBDA_SYNC_PAYLOAD_MAX, FailureKind, FunctionFailure, Invocation,
    InvocationOutcome, InvocationReply, SmokeReply,
};
use semifaas_fallback::stderr_log;
use tracing::{error, info, warn};
use tracing_subscriber::EnvFilter;

use crate::{
    fallback_bridge::{FallbackBridge, NATIVE_CLASS},
    invoke::Instance,
    jvm::{Jvm, JvmConfig},
    runtime_api::RuntimeApi,
};

// Error types in Lambda's `Runtime.<Reason>` form: platforms replace any other name with
// `Runtime.Unknown`.
const BAD_INVOCATION: &str = "Runtime.BadInvocation";
const INIT_FAILED: &str = "Runtime.InitFailed";

/// Stack of the thread that hosts the JVM's invocations: codec and template recursion over large
/// object graphs runs deep.
const JVM_THREAD_STACK: usize = 32 * 1024 * 1024;

fn main() -> ExitCode {
    // The JVM never runs on the process's primordial thread (the `java` launcher does the same):
    // the JVM cannot place its stack guard pages there, so a deep recursion would kill the
    // instance instead of raising StackOverflowError.
    let process_start = Instant::now();
    match std::thread::Builder::new()
        .name("main".into())
        .stack_size(JVM_THREAD_STACK)
        .spawn(move || run(process_start))
        .map(|thread| thread.join())
    {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bootstrap: cannot start the JVM's thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(process_start: Instant) -> ExitCode {
    let filter = EnvFilter::try_from_env("SEMIFAAS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // ureq logs request paths, where faas-local puts the instance's Runtime API key, at
        // trace level only (and its debug lines are noise): keep it at info.
        .add_directive("ureq=info".parse().expect("a valid filter directive"));
    // On a terminal: timestamped, in colour. Elsewhere (Lambda's log service, faas-local) plain
    // lines without a timestamp: whoever collects them stamps each one.
    stderr_log::init(filter, stderr_log::Timestamps::OnTerminal);

    let api = match RuntimeApi::from_env() {
        Ok(api) => api,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Start the JVM before the first `/next`: it belongs to the cold start, not to a request.
    let (mut instance, smoke) = match start_instance(process_start) {
        Ok(started) => started,
        Err(e) => {
            let message = format!("{e:#}");
            error!("cannot start: {message}");
            if let Err(post) = api.init_error(INIT_FAILED, &message) {
                error!("{post}");
            }
            return ExitCode::FAILURE;
        }
    };
    serve(&api, &mut instance, &smoke)
}

fn start_instance(process_start: Instant) -> anyhow::Result<(Instance, SmokeReply)> {
    let bridge = FallbackBridge::start()?;
    let config = JvmConfig::from_env()?;
    let jvm = Jvm::start(&config)?;
    jvm.register_natives(NATIVE_CLASS, &fallback_bridge::native_methods())
        .context("the runtime jar does not match this bootstrap")?;
    let jvm_start_us = process_start
        .elapsed()
        .as_micros()
        .try_into()
        .unwrap_or(u64::MAX);
    let instance_id = std::env::var("AWS_LAMBDA_LOG_STREAM_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("pid-{}", std::process::id()));
    let jvm_start_ms = jvm_start_us as f64 / 1e3;
    info!(java_home = %config.java_home.display(), jvm_start_ms = %format_args!("{jvm_start_ms:.1}"), %instance_id, "JVM ready");
    let smoke = SmokeReply {
        jvm_start_ms,
        java_home: config.java_home.display().to_string(),
        java_version: jvm::java_version(&config.java_home).unwrap_or_default(),
        instance_id: instance_id.clone(),
    };
    Ok((Instance::new(jvm, bridge, jvm_start_us, instance_id), smoke))
}

/// The Runtime API loop; returns only when the platform can no longer be reached.
fn serve(api: &RuntimeApi, instance: &mut Instance, smoke: &SmokeReply) -> ExitCode {
    loop {
        let next = match api.next() {
            Ok(next) => next,
            Err(e) => {
                error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        if is_smoke(&next.payload) {
            info!(request_id = %next.request_id, "smoke invocation");
            let reply = serde_json::to_vec(smoke).expect("a SmokeReply always encodes");
            if let Err(e) = api.respond(&next.request_id, &reply) {
                error!("{e}");
            }
            continue;
        }
        let mut invocation = match Invocation::from_lambda_payload(&next.payload) {
            Ok(invocation) => invocation,
            Err(e) => {
                warn!(request_id = %next.request_id, "undecodable invocation: {e}");
                let message = format!("the invocation payload could not be decoded: {e}");
                if let Err(post) = api.invocation_error(&next.request_id, BAD_INVOCATION, &message)
                {
                    error!("{post}");
                }
                continue;
            }
        };
        // The platform stops the instance at its deadline: fallbacks must give up before that.
        if let Some(platform_deadline) = next.deadline_unix_ms {
            invocation.deadline_unix_ms = invocation.deadline_unix_ms.min(platform_deadline);
        }
        instance.set_trace_id(next.trace_id.as_deref());
        let reply = instance.handle(&invocation);
        if let Err(e) = api.respond(&next.request_id, &response_payload(reply)) {
            error!("{e}");
        }
        if let Some(reason) = instance.must_retire() {
            // The platform starts a fresh instance for the next invocation.
            warn!(%reason, "retiring this instance");
            return ExitCode::SUCCESS;
        }
    }
}

/// The reply's Lambda payload; when it would exceed Lambda's response limit (the platform would
/// drop it with an error the server cannot act on), a failure that names the size instead, so
/// the server runs the handler itself.
fn response_payload(reply: InvocationReply) -> Vec<u8> {
    let payload = reply.to_lambda_payload();
    if payload.len() <= LAMBDA_SYNC_PAYLOAD_MAX {
        return payload;
    }
    let message = format!(
        "the function's reply is {} bytes, over the platform's {LAMBDA_SYNC_PAYLOAD_MAX}-byte response limit",
        payload.len()
    );
    warn!("{message}");
    InvocationReply {
        outcome: InvocationOutcome::Failed(FunctionFailure {
            kind: FailureKind::ResponseTooLarge,
            message,
        }),
        stats: reply.stats,
    }
    .to_lambda_payload()
}
