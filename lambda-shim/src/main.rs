//! `bootstrap`: the semifaas function. It hosts one JVM and runs the closures the server
//! offloads to it (docs/internals.md), as one of two kinds of function:
//!
//! - `bootstrap`: a Lambda custom runtime, which takes invocations from the platform's Runtime
//!   API (AWS Lambda, `semifaas local`, the Runtime Interface Emulator).
//! - `bootstrap --openwhisk`: an OpenWhisk action container, which serves the action protocol's
//!   `POST /init` and `POST /run` (a blackbox Docker action, `semifaas local --api openwhisk`).
//!
//! Either starts the JVM first, then takes invocations one at a time, and exits after answering
//! one that left the JVM unfit to serve again (the platform starts another instance).
//!
//! Under `semifaas local --snapshots`, the Runtime API may answer `/next` with a request to
//! prepare for a checkpoint instead (`checkpoint`): the instance closes its sockets, writes
//! `SEMIFAAS-CHECKPOINT-READY` (or `…-REFUSED <reason>`) to stdout, reads the identity it goes on
//! with from stdin (a JSON line: Runtime API address, instance id, and in a restored copy how
//! long the restore took) and polls `/next` again; at the end of stdin it exits quietly.
//!
//! `bootstrap --dump-class-archive …` is not a function: an instance starts it to build the
//! class-data-sharing archive (`class_archive`).
//!
//! Environment:
//! - `AWS_LAMBDA_RUNTIME_API` (Lambda, required): `host:port` of the platform's Runtime API, or
//!   `host:port/<key>` when the platform serves it under a secret path (faas-local). After a
//!   checkpoint, the identity line's `runtime_api` replaces it.
//! - `SEMIFAAS_ACTION_ADDR` (OpenWhisk): the address to serve on, default `0.0.0.0:8080`.
//! - `LAMBDA_TASK_ROOT`: where `semifaas-runtime.jar` (and optionally a `jre/`) are.
//! - `SEMIFAAS_RUNTIME_JAR`: the runtime jar, instead of `$LAMBDA_TASK_ROOT/semifaas-runtime.jar`.
//! - `SEMIFAAS_JAVA_HOME`, then `$LAMBDA_TASK_ROOT/jre`, `JAVA_HOME`, `java` on `PATH`: the JVM.
//! - `SEMIFAAS_JVM_OPTS`: extra JVM options, space separated.
//! - `SEMIFAAS_CDS_DIR`: where the class-data-sharing archive is cached (default
//!   `$TMPDIR/semifaas-cds`; `off`: none). See `class_archive`.
//! - `SEMIFAAS_LOG`: log filter (`tracing` env-filter syntax), default `info`; logs go to stderr,
//!   timestamped and coloured only when it is a terminal.
//! - The instance id in statistics: `AWS_LAMBDA_LOG_STREAM_NAME` (Lambda) or
//!   `SEMIFAAS_INSTANCE_ID` (OpenWhisk), else `pid-<pid>` (OpenWhisk: `pid-<pid>@<host name>`);
//!   after a checkpoint, the identity line's `instance_id`.

mod checkpoint;
mod class_archive;
mod fallback_bridge;
mod installed;
mod invoke;
mod jvm;
mod openwhisk_action;
mod openwhisk_server;
mod runtime_api;

use std::{net::TcpListener, process::ExitCode, sync::mpsc, time::Instant};

use anyhow::Context;
use semifaas_closure::{
    is_smoke, limits::LAMBDA_SYNC_PAYLOAD_MAX, FailureKind, FunctionFailure, Invocation,
    InvocationOutcome, InvocationReply, SmokeReply,
};
use semifaas_fallback::stderr_log;
use tracing::{error, info, info_span, warn};
use tracing_subscriber::EnvFilter;

use crate::{
    checkpoint::Resumed,
    fallback_bridge::{FallbackBridge, NATIVE_CLASS},
    invoke::Instance,
    jvm::{Jvm, JvmConfig},
    openwhisk_action::HttpAnswer,
    openwhisk_server::ActionServer,
    runtime_api::{Next, RuntimeApi},
};

// Error types in Lambda's `Runtime.<Reason>` form: platforms replace any other name with
// `Runtime.Unknown`.
const BAD_INVOCATION: &str = "Runtime.BadInvocation";
const INIT_FAILED: &str = "Runtime.InitFailed";

/// Stack of the thread that hosts the JVM's invocations: codec and template recursion over large
/// object graphs runs deep.
const JVM_THREAD_STACK: usize = 32 * 1024 * 1024;

/// Largest request the platform hands over: a full synchronous payload plus what the platform
/// adds around it.
pub(crate) const PLATFORM_BODY_MAX: usize = LAMBDA_SYNC_PAYLOAD_MAX + 64 * 1024;

const ACTION_ADDR_DEFAULT: &str = "0.0.0.0:8080";
const USAGE: &str = "usage: bootstrap [--openwhisk]";

/// The platform protocol this process speaks, from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No argument: Lambda runs a custom runtime's `bootstrap` without any.
    Lambda,
    OpenWhisk,
}

impl Mode {
    fn from_args(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<Mode, String> {
        let mode = match args.next() {
            None => return Ok(Mode::Lambda),
            Some(arg) if arg == "--openwhisk" => Mode::OpenWhisk,
            Some(arg) => return Err(format!("unknown argument {arg:?}; {USAGE}")),
        };
        match args.next() {
            None => Ok(mode),
            Some(arg) => Err(format!("unexpected argument {arg:?}; {USAGE}")),
        }
    }

    /// The variable that names this instance in statistics, as the platform or faas-local sets it.
    fn instance_id_var(self) -> &'static str {
        match self {
            Mode::Lambda => "AWS_LAMBDA_LOG_STREAM_NAME",
            Mode::OpenWhisk => "SEMIFAAS_INSTANCE_ID",
        }
    }

    /// The instance id when the platform gives none. Every OpenWhisk container's process is
    /// pid 1, so there the host name (the container's id under Docker, the pod's name under
    /// Kubernetes) tells the instances apart.
    fn default_instance_id(self) -> String {
        let pid = format!("pid-{}", std::process::id());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname");
        match (self, hostname.as_deref().map(str::trim)) {
            (Mode::OpenWhisk, Ok(hostname)) if !hostname.is_empty() => format!("{pid}@{hostname}"),
            _ => pid,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args
        .first()
        .is_some_and(|arg| arg == class_archive::DUMP_ARG)
    {
        return class_archive::dump_main(&args[1..]);
    }
    let mode = match Mode::from_args(args.into_iter()) {
        Ok(mode) => mode,
        Err(e) => {
            eprintln!("bootstrap: {e}");
            return ExitCode::from(2);
        }
    };
    // The JVM never runs on the process's primordial thread (the `java` launcher does the same):
    // the JVM cannot place its stack guard pages there, so a deep recursion would kill the
    // instance instead of raising StackOverflowError.
    let process_start = Instant::now();
    // The platform's parent-death signal (faas-local's `unshare --kill-child`) is this thread's
    // alone: the kernel keeps it per thread and new threads start without one. It moves to the
    // thread that serves, which is the one that must clear it before a checkpoint.
    let parent_death = checkpoint::parent_death_signal().unwrap_or(0);
    let (moved, moved_rx) = mpsc::channel();
    match std::thread::Builder::new()
        .name("main".into())
        .stack_size(JVM_THREAD_STACK)
        .spawn(move || {
            let _ = moved.send(
                parent_death != 0 && checkpoint::set_parent_death_signal(parent_death).is_ok(),
            );
            run(mode, process_start)
        })
        .map(|thread| {
            // Cleared here only once set there, so the process is never without it.
            if moved_rx.recv() == Ok(true) {
                let _ = checkpoint::set_parent_death_signal(0);
            }
            thread.join()
        }) {
        Ok(Ok(code)) => code,
        Ok(Err(_)) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bootstrap: cannot start the JVM's thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(mode: Mode, process_start: Instant) -> ExitCode {
    let filter = EnvFilter::try_from_env("SEMIFAAS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info"))
        // ureq logs request paths, where faas-local puts the instance's Runtime API key, at
        // trace level only (and its debug lines are noise): keep it at info.
        .add_directive("ureq=info".parse().expect("a valid filter directive"));
    // On a terminal: timestamped, in colour. Elsewhere (Lambda's log service, faas-local) plain
    // lines without a timestamp: whoever collects them stamps each one.
    stderr_log::init(filter, stderr_log::Timestamps::OnTerminal);
    match mode {
        Mode::Lambda => run_lambda(process_start),
        Mode::OpenWhisk => run_openwhisk(process_start),
    }
}

fn run_lambda(process_start: Instant) -> ExitCode {
    let api = match RuntimeApi::from_env() {
        Ok(api) => api,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // Start the JVM before the first `/next`: it belongs to the cold start, not to a request.
    let (mut instance, smoke) = match start_instance(Mode::Lambda, process_start) {
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
    serve_lambda(api, &mut instance, smoke)
}

fn run_openwhisk(process_start: Instant) -> ExitCode {
    let addr = std::env::var("SEMIFAAS_ACTION_ADDR")
        .ok()
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| ACTION_ADDR_DEFAULT.to_owned());
    // The JVM first, then the port: the platform takes an accepting port for a started
    // instance (OpenWhisk retries `/init` until it connects).
    let (mut instance, smoke) = match start_instance(Mode::OpenWhisk, process_start) {
        Ok(started) => started,
        Err(e) => {
            error!("cannot start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(addr.trim()) {
        Ok(listener) => listener,
        Err(e) => {
            error!(%addr, "SEMIFAAS_ACTION_ADDR: cannot listen: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match ActionServer::start(listener) {
        Ok(server) => server,
        Err(e) => {
            error!("cannot start the action server: {e}");
            return ExitCode::FAILURE;
        }
    };
    serve_openwhisk(server, &mut instance, &smoke)
}

fn start_instance(mode: Mode, process_start: Instant) -> anyhow::Result<(Instance, SmokeReply)> {
    let bridge = FallbackBridge::start()?;
    let mut config = JvmConfig::from_env()?;
    config
        .class_sharing
        .start_builder(&config.java_home, &config.runtime_jar);
    let jvm = Jvm::start(&config)?;
    jvm.register_natives(NATIVE_CLASS, &fallback_bridge::native_methods())
        .context("the runtime jar does not match this bootstrap")?;
    let jvm_start_us = process_start
        .elapsed()
        .as_micros()
        .try_into()
        .unwrap_or(u64::MAX);
    let instance_id = std::env::var(mode.instance_id_var())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| mode.default_instance_id());
    let jvm_start_ms = jvm_start_us as f64 / 1e3;
    info!(java_home = %config.java_home.display(), jvm_start_ms = %format_args!("{jvm_start_ms:.1}"), %instance_id, "JVM ready");
    let smoke = SmokeReply {
        jvm_start_ms,
        java_home: config.java_home.display().to_string(),
        java_version: jvm::java_version(&config.java_home).unwrap_or_default(),
        instance_id: instance_id.clone(),
    };
    let mut instance = Instance::new(jvm, bridge, jvm_start_us, instance_id);
    instance.after_first_invocation(move || config.class_sharing.first_invocation_done());
    Ok((instance, smoke))
}

/// One invocation as the platform hands it over, whichever protocol it speaks.
struct Delivery<'a> {
    /// The platform's id of the invocation, for the logs.
    id: &'a str,
    /// A Lambda payload: the JSON envelope, or the smoke invocation.
    payload: &'a [u8],
    /// When the platform stops the invocation, milliseconds since the Unix epoch.
    deadline_unix_ms: Option<u64>,
    trace_id: Option<&'a str>,
}

/// What the instance answers to one delivery.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A Lambda payload: the reply's envelope or the [`SmokeReply`], both JSON objects.
    Reply(Vec<u8>),
    /// The payload is not an invocation; the message says why.
    BadInvocation(String),
}

/// Runs one delivery on the instance: the smoke reply, or the invocation decoded from its
/// envelope, bounded by the platform's deadline too.
fn answer(instance: &mut Instance, smoke: &SmokeReply, delivery: &Delivery) -> Answer {
    if is_smoke(delivery.payload) {
        info!(id = delivery.id, "smoke invocation");
        return Answer::Reply(serde_json::to_vec(smoke).expect("a SmokeReply always encodes"));
    }
    let mut invocation = match Invocation::from_lambda_payload(delivery.payload) {
        Ok(invocation) => invocation,
        Err(e) => {
            warn!(id = delivery.id, "undecodable invocation: {e}");
            return Answer::BadInvocation(format!(
                "the invocation payload could not be decoded: {e}"
            ));
        }
    };
    // The platform stops the instance at its deadline: fallbacks must give up before that.
    if let Some(platform_deadline) = delivery.deadline_unix_ms {
        invocation.deadline_unix_ms = invocation.deadline_unix_ms.min(platform_deadline);
    }
    instance.set_trace_id(delivery.trace_id);
    Answer::Reply(response_payload(instance.handle(&invocation)))
}

/// Whether the instance must exit now that it has answered; the platform then starts a fresh
/// one for the next invocation.
fn must_retire(instance: &Instance) -> bool {
    let reason = instance.must_retire();
    if let Some(reason) = reason {
        warn!(%reason, "retiring this instance");
    }
    reason.is_some()
}

/// The Runtime API loop; returns when the instance retires, the platform can no longer be
/// reached, or it drops the instance at a checkpoint.
fn serve_lambda(mut api: RuntimeApi, instance: &mut Instance, mut smoke: SmokeReply) -> ExitCode {
    loop {
        let next = match api.next() {
            Ok(Next::Invocation(next)) => next,
            Ok(Next::Checkpoint) => {
                instance.collect_garbage();
                match checkpoint::checkpoint(api, instance.fallback_bridge()) {
                    Ok(Some(resumed)) => {
                        api = resume(resumed, instance, &mut smoke);
                        continue;
                    }
                    Ok(None) => return ExitCode::SUCCESS,
                    Err(e) => {
                        error!("{e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            Err(e) => {
                error!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let delivery = Delivery {
            id: &next.request_id,
            payload: &next.payload,
            deadline_unix_ms: next.deadline_unix_ms,
            trace_id: next.trace_id.as_deref(),
        };
        let posted = match answer(instance, &smoke, &delivery) {
            Answer::Reply(payload) => api.respond(&next.request_id, &payload),
            Answer::BadInvocation(message) => {
                api.invocation_error(&next.request_id, BAD_INVOCATION, &message)
            }
        };
        if let Err(e) = posted {
            error!("{e}");
        }
        if must_retire(instance) {
            return ExitCode::SUCCESS;
        }
    }
}

/// Goes on after a checkpoint as the platform says: the process that was checkpointed, or a
/// restored copy of it, whose start-up time is its restore. Returns its Runtime API.
fn resume(resumed: Resumed, instance: &mut Instance, smoke: &mut SmokeReply) -> RuntimeApi {
    let restore_us = resumed.restore_us();
    let Resumed {
        api,
        instance_id,
        restore_ms,
    } = resumed;
    match restore_ms {
        Some(restore_ms) => info!(%instance_id, restore_ms, "restored from a checkpoint"),
        None => info!(%instance_id, "resumed after a checkpoint"),
    }
    smoke.instance_id.clone_from(&instance_id);
    if let Some(restore_ms) = restore_ms {
        smoke.jvm_start_ms = restore_ms;
    }
    instance.take_identity(instance_id, restore_us);
    api
}

/// Runs the activations the action server hands over, on this (the JVM's) thread; returns when
/// the instance retires or the server stops.
fn serve_openwhisk(server: ActionServer, instance: &mut Instance, smoke: &SmokeReply) -> ExitCode {
    info!(addr = %server.local_addr(), "serving the OpenWhisk action protocol");
    while let Some(activation) = server.next() {
        let context = &activation.request().context;
        let _span = info_span!(
            "activation",
            id = context.activation_id().unwrap_or("-"),
            action = context.action_name().unwrap_or("-")
        )
        .entered();
        // Process-wide, so set here, between activations, as the trace id is.
        context.export();
        let delivery = Delivery {
            id: context.activation_id().unwrap_or("-"),
            payload: &activation.request().payload,
            deadline_unix_ms: context.deadline_unix_ms,
            trace_id: None,
        };
        let answered = HttpAnswer::for_run(answer(instance, smoke, &delivery));
        let retiring = must_retire(instance);
        activation.finish(answered, retiring);
        if retiring {
            server.stop();
            return ExitCode::SUCCESS;
        }
    }
    error!("the action server stopped");
    ExitCode::FAILURE
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(args: &[&str]) -> Result<Mode, String> {
        Mode::from_args(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn the_mode_comes_from_the_arguments() {
        assert_eq!(mode(&[]), Ok(Mode::Lambda));
        assert_eq!(mode(&["--openwhisk"]), Ok(Mode::OpenWhisk));
        for bad in [&["--lambda"][..], &["openwhisk"], &["--openwhisk", "x"]] {
            let error = mode(bad).unwrap_err();
            assert!(error.contains(USAGE), "{error}");
        }
    }

    #[test]
    fn an_openwhisk_instance_without_an_id_is_told_apart_by_its_host() {
        let pid = format!("pid-{}", std::process::id());
        assert_eq!(Mode::Lambda.default_instance_id(), pid);
        let openwhisk = Mode::OpenWhisk.default_instance_id();
        assert!(openwhisk.starts_with(&format!("{pid}@")), "{openwhisk}");
    }
}
