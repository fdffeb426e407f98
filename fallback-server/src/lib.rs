//! # semifaas-fallback
//!
//! The fallback protocol between a function instance and the server it was offloaded from.
//! A closure ships the code and data a handler is likely to need; whatever it lacks, the
//! function asks the server for through a *fallback*: the closure itself when the instance has
//! not cached it, a class file, a class-path resource.
//!
//! ## Shape
//!
//! - [`protocol`]: message types, framing and limits, with no I/O. Everything in it is tested
//!   with plain byte buffers.
//! - [`server`]: [`FallbackServer`], a QUIC endpoint that answers each request through a
//!   [`FallbackService`] (in the agent: calls into the JVM over JNI, on a blocking thread).
//! - [`client`]: [`FallbackClient`], the function's connection to that endpoint.
//!
//! ## Wire format
//!
//! One QUIC connection (quinn 0.11, TLS 1.3 only, ALPN `semifaas-fallback/1`) per function
//! instance. Its first stream carries the hello: a fixed 28-byte form of an invocation's
//! capability ([`protocol::encode_hello`]), answered with one byte; a connection that does not
//! present a valid one within [`server::ServerLimits::hello_timeout`] is closed with
//! [`protocol::CLOSE_UNAUTHENTICATED`], and until then it may open no other stream. After it,
//! one bidirectional stream per request. Each direction carries exactly one frame: a request is a
//! 4-byte big-endian length, a kind byte and a bincode [`protocol::RequestFrame`] (up to
//! [`protocol::NAMED_REQUEST_MAX`] for a name, [`protocol::REQUEST_FRAME_MAX`] for a remote
//! call); a response is a length and a bincode [`protocol::FallbackResponse`] (up to
//! [`protocol::RESPONSE_FRAME_MAX`]). A malformed, oversized or truncated request gets a
//! [`protocol::FallbackResponse::Error`] and its stream is finished; the connection stays usable.
//!
//! ## Trust
//!
//! The server makes a self-signed certificate at start. Its SHA-256 travels in every
//! invocation ([`semifaas_closure::FallbackEndpoint`]); the client accepts exactly that
//! certificate. The hello and each request carry an invocation's
//! [`semifaas_closure::Capability`]; the service answers only for invocations in flight, so a
//! leaked endpoint alone gets nothing, not even buffer space: [`server::ServerLimits`] bounds
//! connections, streams, frame sizes by kind and request bytes held across all streams.
//!
//! ## Not for
//!
//! Dispatching invocations (that is the platform's Invoke API), caching closures (the function
//! side does that), reconnecting (a closed [`FallbackClient`] reports
//! [`FallbackClient::is_closed`]; its owner connects again), or deciding who is authorised
//! (the [`FallbackService`] does).
//!
//! Latency and throughput over loopback: `cargo run --release -p semifaas-fallback --example
//! fallback_latency`.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use semifaas_closure::Capability;
//! use semifaas_fallback::{FallbackClient, FallbackRequest, FallbackResponse, FallbackServer, FallbackService};
//!
//! struct NoClasses;
//! impl FallbackService for NoClasses {
//!     fn authenticate(&self, capability: &Capability) -> bool {
//!         capability.invocation_id == 1
//!     }
//!     fn handle(&self, _: &Capability, _: FallbackRequest) -> FallbackResponse {
//!         FallbackResponse::Class(None)
//!     }
//! }
//!
//! # async fn run() -> anyhow::Result<()> {
//! let server = FallbackServer::start("127.0.0.1:0".parse()?, "semifaas-fallback", Arc::new(NoClasses))?;
//! let capability = Capability { invocation_id: 1, token: [0; 16] };
//! let client = FallbackClient::connect(&server.endpoint("127.0.0.1"), capability).await?;
//! assert_eq!(client.load_class(capability, "com.example.Missing").await?, None);
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod client;
mod frame_io;
pub mod protocol;
pub mod server;
#[cfg(feature = "stderr-log")]
pub mod stderr_log;
pub mod tls;

pub use client::{FallbackClient, FallbackClientError, RequestFailure};
pub use protocol::{
    manifest_from_text, manifest_to_text, FallbackError, FallbackErrorKind, FallbackKind,
    FallbackRequest, FallbackResponse, FrameError, JarHash, LibraryJarEntry, RequestFrame,
    LAZY_DATA_METHOD,
};
pub use server::{FallbackServer, FallbackServerError, FallbackService, ServerCounters};
pub use tls::{TlsSetupError, ALPN};
