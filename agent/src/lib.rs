//! # semifaas-agent
//!
//! The native half of the semifaas javaagent, loaded into the Spring Boot JVM as
//! `libsemifaas_agent.so`. The Java half (`io.semifaas.agent`) intercepts handler invocations
//! and calls in through `NativeBridge` ([`jni_exports`]); this crate decides and does the rest:
//!
//! - [`policy`]: whether an invocation is offloaded (a deterministic credit counter per handler,
//!   global ratio with per-handler overrides). "Why was this request offloaded?" is answered there.
//! - [`dispatch`]: the Lambda Invoke client that sends an [`Invocation`](semifaas_closure::Invocation)
//!   to the platform and maps every failure to a [`FailureReason`](stats::FailureReason).
//! - [`closures`]: the closure store and the in-flight table that authorizes fallbacks.
//! - [`fallback_service`]: answers the functions' QUIC fallback requests (closure, classes,
//!   resources); classes and resources come from the JVM through [`java_callbacks`].
//! - [`stats`] and [`admin`]: statistics, and the loopback HTTP endpoint (`/ratio`, `/stats`,
//!   `/metrics`), open only to requests with its token and its own address in `Host`
//!   ([`admin_access`]).
//! - [`candidates`]: which handlers are worth offloading (profiled local CPU time, include and
//!   exclude lists); [`controller`]: the burst controller that sets the ratio in auto mode and
//!   spills queued requests; [`harm_guard`]: do no harm (offloads that do worse than local
//!   runs are capped); [`offload_slots`]: the platform's room (offloads in flight).
//! - [`samples`] and [`prewarm`]: recorded invocations, and prewarms that start instances with
//!   every closure installed and the samples replayed in shadow mode (remote writes refused).
//! - [`config`]: the `semifaas.*` keys; [`runtime`]: the process-wide [`Agent`](runtime::Agent).
//!
//! Not here: instrumentation and closure capture (Java), object encoding (the Java codec; bytes
//! are opaque to Rust), the function side (`lambda-shim/`) and the platform (`faas-local/`).
//!
//! Every native entry point fails open: an error or panic is logged and the handler runs
//! locally; nothing native may crash the JVM.

pub mod admin;
pub mod admin_access;
mod admin_http;
pub mod breaker;
pub mod caller_threads;
pub mod candidates;
pub mod closures;
pub mod config;
pub mod controller;
pub mod dispatch;
pub mod fallback_service;
pub mod fmt_num;
pub mod handler_ids;
pub mod harm_guard;
pub mod java_callbacks;
pub mod jni_exports;
mod keyed_entries;
pub mod lambda_invoker;
pub mod offload_slots;
pub mod openwhisk_invoker;
mod platform_http;
pub mod policy;
pub mod prewarm;
pub mod refusals;
pub mod runtime;
pub mod samples;
pub mod sigv4_signer;
pub mod stats;
