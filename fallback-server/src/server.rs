//! The server side: accepts function connections, authenticates each with its hello, and
//! answers each stream's request through a [`FallbackService`].
//!
//! Nothing a peer sends is buffered before its connection presented a capability of an
//! invocation in flight, and what is buffered after is bounded: connections in total and
//! unauthenticated, streams per connection, bytes per frame by kind, and request bytes held
//! across all streams (a reader waits for room instead of growing: back-pressure through QUIC's
//! flow control). [`ServerLimits`] holds the numbers.

use std::{
    io,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use quinn::{ConnectionError, RecvStream, SendStream, VarInt};
use semifaas_closure::{Capability, FallbackEndpoint};
use tokio::{
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinHandle,
};
use tracing::{debug, error, info, warn};

use crate::{
    frame_io::{read_body, read_request_header, ReadFrameError},
    protocol::{
        decode_hello, decode_request, encode_response, Direction, FallbackErrorKind,
        FallbackRequest, FallbackResponse, RequestHeader, CLOSE_UNAUTHENTICATED, HELLO_ACCEPTED,
        HELLO_LEN, REQUEST_FRAME_MAX, REQUEST_HEADER_LEN, UNAUTHENTICATED_REASON,
    },
    tls::{self, TlsSetupError},
};

/// Stream stop code: the server will not read more of a bad request.
const STOP_BAD_REQUEST: VarInt = VarInt::from_u32(1);
/// Connection close code when the server shuts down.
const CLOSE_SHUTDOWN: VarInt = VarInt::from_u32(0);

/// What the server holds at most for its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Connections at once, authenticated or not; more are refused during the handshake.
    pub connections: usize,
    /// Connections at once that have not presented a valid hello yet.
    pub unauthenticated: usize,
    /// How long a new connection has to complete its handshake and hello.
    pub hello_timeout: Duration,
    /// Requests in flight on one authenticated connection (concurrent streams).
    pub streams_per_connection: u32,
    /// How long a stream has to deliver its whole request frame.
    pub request_timeout: Duration,
    /// Request bytes held across all connections; a frame waits until its bytes fit.
    pub buffered_bytes: usize,
    /// Request bytes held by the streams of one connection.
    pub buffered_bytes_per_connection: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            connections: 1024,
            unauthenticated: 64,
            hello_timeout: Duration::from_secs(5),
            streams_per_connection: 64,
            request_timeout: Duration::from_secs(10),
            buffered_bytes: 32 * 1024 * 1024,
            // Two of the largest frames (a remote call's arguments) at once.
            buffered_bytes_per_connection: 2 * REQUEST_FRAME_MAX,
        }
    }
}

/// What the server refused, over its life.
#[derive(Debug, Default)]
pub struct ServerCounters {
    /// Connections closed because their hello was missing, late, malformed or not valid.
    pub unauthenticated: AtomicU64,
    /// Connections refused because the server was at a connection limit.
    pub over_capacity: AtomicU64,
    /// Request frames refused before reaching the service (size, kind, encoding, time).
    pub bad_frames: AtomicU64,
}

/// Answers fallback requests. The server has already decoded and validated the request; the
/// service checks the capability and produces the response (an [`FallbackResponse::Error`] with
/// [`FallbackErrorKind::Unauthorized`] for a capability it does not recognise).
pub trait FallbackService: Send + Sync + 'static {
    /// Whether `capability` belongs to an invocation in flight: a connection's hello must
    /// present one. Called on the async runtime, so it must not block.
    fn authenticate(&self, capability: &Capability) -> bool;

    /// Runs on a blocking thread (implementations call into the JVM through JNI).
    fn handle(&self, capability: &Capability, request: FallbackRequest) -> FallbackResponse;
}

#[derive(Debug, thiserror::Error)]
pub enum FallbackServerError {
    #[error("the fallback server must be started inside a tokio runtime")]
    NoRuntime,
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    #[error("could not bind the fallback server to UDP {addr}: {source}")]
    Bind { addr: SocketAddr, source: io::Error },
}

/// A running fallback server. Dropping it closes the endpoint; [`FallbackServer::shutdown`]
/// also waits for connections to wind down.
pub struct FallbackServer {
    endpoint: quinn::Endpoint,
    local_addr: SocketAddr,
    cert_sha256: [u8; 32],
    server_name: String,
    counters: Arc<ServerCounters>,
    accept_task: Option<JoinHandle<()>>,
}

impl FallbackServer {
    /// [`FallbackServer::start_with`] the default [`ServerLimits`].
    pub fn start(
        bind: SocketAddr,
        server_name: &str,
        service: Arc<dyn FallbackService>,
    ) -> Result<FallbackServer, FallbackServerError> {
        FallbackServer::start_with(bind, server_name, service, ServerLimits::default())
    }

    /// Must be called inside a tokio runtime. Makes a self-signed certificate (rcgen) for
    /// `server_name`.
    pub fn start_with(
        bind: SocketAddr,
        server_name: &str,
        service: Arc<dyn FallbackService>,
        limits: ServerLimits,
    ) -> Result<FallbackServer, FallbackServerError> {
        tokio::runtime::Handle::try_current().map_err(|_| FallbackServerError::NoRuntime)?;
        let (config, cert_sha256) = tls::server_config(server_name)?;
        let bind_error = |source| FallbackServerError::Bind { addr: bind, source };
        let endpoint = quinn::Endpoint::server(config, bind).map_err(bind_error)?;
        let local_addr = endpoint.local_addr().map_err(bind_error)?;
        let counters = Arc::new(ServerCounters::default());
        let shared = Arc::new(Shared {
            service,
            buffered: Arc::new(Semaphore::new(limits.buffered_bytes)),
            connections: AtomicUsize::new(0),
            unauthenticated: AtomicUsize::new(0),
            counters: counters.clone(),
            limits,
        });
        let accept_task = tokio::spawn(accept_connections(endpoint.clone(), shared));
        info!(%local_addr, server_name, cert_sha256 = %hex::encode(cert_sha256), "fallback server listening");
        Ok(FallbackServer {
            endpoint,
            local_addr,
            cert_sha256,
            server_name: server_name.to_owned(),
            counters,
            accept_task: Some(accept_task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// SHA-256 of the server's DER certificate: what clients pin.
    pub fn cert_sha256(&self) -> [u8; 32] {
        self.cert_sha256
    }

    /// What the server refused so far.
    pub fn counters(&self) -> Arc<ServerCounters> {
        self.counters.clone()
    }

    /// The endpoint to put in invocations: advertised host + the bound port + name + fingerprint.
    /// `advertised_host` is a host name or an IP address (IPv6 with or without brackets).
    pub fn endpoint(&self, advertised_host: &str) -> FallbackEndpoint {
        let port = self.local_addr.port();
        let addr = if advertised_host.contains(':') && !advertised_host.starts_with('[') {
            format!("[{advertised_host}]:{port}")
        } else {
            format!("{advertised_host}:{port}")
        };
        FallbackEndpoint {
            addr,
            server_name: self.server_name.clone(),
            cert_sha256: self.cert_sha256,
        }
    }

    /// Closes every connection, stops accepting and waits until the endpoint is idle.
    pub async fn shutdown(mut self) {
        self.endpoint.close(CLOSE_SHUTDOWN, b"server shutting down");
        if let Some(task) = self.accept_task.take() {
            if let Err(e) = task.await {
                error!(error = %e, "fallback accept task failed");
            }
        }
        self.endpoint.wait_idle().await;
        info!(local_addr = %self.local_addr, "fallback server stopped");
    }
}

impl Drop for FallbackServer {
    fn drop(&mut self) {
        self.endpoint.close(CLOSE_SHUTDOWN, b"server shutting down");
    }
}

/// What every connection task shares.
struct Shared {
    service: Arc<dyn FallbackService>,
    /// Permits are request bytes held across all connections.
    buffered: Arc<Semaphore>,
    connections: AtomicUsize,
    unauthenticated: AtomicUsize,
    counters: Arc<ServerCounters>,
    limits: ServerLimits,
}

/// One slot of a counted limit, given back when dropped.
struct Slot<'a>(&'a AtomicUsize);

impl<'a> Slot<'a> {
    fn take(count: &'a AtomicUsize, limit: usize) -> Option<Slot<'a>> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(count))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn accept_connections(endpoint: quinn::Endpoint, shared: Arc<Shared>) {
    while let Some(incoming) = endpoint.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let limits = &shared.limits;
            let Some(connection_slot) = Slot::take(&shared.connections, limits.connections) else {
                shared
                    .counters
                    .over_capacity
                    .fetch_add(1, Ordering::Relaxed);
                debug!(%remote, "fallback connection refused: at the connection limit");
                incoming.refuse();
                return;
            };
            let Some(hello_slot) = Slot::take(&shared.unauthenticated, limits.unauthenticated)
            else {
                shared
                    .counters
                    .over_capacity
                    .fetch_add(1, Ordering::Relaxed);
                debug!(%remote, "fallback connection refused: too many unauthenticated");
                incoming.refuse();
                return;
            };
            let authenticated =
                tokio::time::timeout(limits.hello_timeout, authenticate(incoming, &shared)).await;
            drop(hello_slot);
            match authenticated {
                Ok(Some(connection)) => serve_connection(connection, &shared).await,
                Ok(None) => {}
                Err(_elapsed) => {
                    debug!(%remote, "fallback connection closed: no valid hello in time");
                }
            }
            drop(connection_slot);
        });
    }
}

/// Completes the handshake and reads the hello on the connection's first stream. `None` when the
/// connection failed or was refused (it is closed then). Dropping the future (timeout) closes
/// the half-open connection too.
async fn authenticate(incoming: quinn::Incoming, shared: &Shared) -> Option<quinn::Connection> {
    let remote = incoming.remote_address();
    // Counts and closes the connection unless the hello is accepted, on every way out: a failed
    // handshake, a connection lost before its hello, a bad hello, the timeout dropping us.
    let mut refuse = CloseUnlessAccepted {
        connection: None,
        counter: &shared.counters.unauthenticated,
        accepted: false,
    };
    let connection = match incoming.await {
        Ok(connection) => connection,
        Err(e) => {
            debug!(%remote, error = %e, "fallback connection handshake failed");
            return None;
        }
    };
    refuse.connection = Some(connection.clone());
    let (mut send, mut recv) = match connection.accept_bi().await {
        Ok(streams) => streams,
        Err(e) => {
            debug!(%remote, error = %e, "fallback connection lost before its hello");
            return None;
        }
    };
    let mut hello = [0u8; HELLO_LEN];
    let accepted = recv.read_exact(&mut hello).await.is_ok()
        && decode_hello(&hello).is_some_and(|capability| shared.service.authenticate(&capability));
    if !accepted {
        debug!(%remote, "fallback connection refused: bad hello");
        return None;
    }
    send.write_all(&[HELLO_ACCEPTED]).await.ok()?;
    send.finish().ok()?;
    refuse.accept();
    connection
        .set_max_concurrent_bi_streams(VarInt::from_u32(shared.limits.streams_per_connection));
    info!(%remote, "fallback connection authenticated");
    Some(connection)
}

/// Counts an unauthenticated connection and closes it with the one refusal when dropped before
/// `accept`.
struct CloseUnlessAccepted<'a> {
    /// None until the handshake completes.
    connection: Option<quinn::Connection>,
    counter: &'a AtomicU64,
    accepted: bool,
}

impl CloseUnlessAccepted<'_> {
    fn accept(mut self) {
        self.accepted = true;
    }
}

impl Drop for CloseUnlessAccepted<'_> {
    fn drop(&mut self) {
        if self.accepted {
            return;
        }
        self.counter.fetch_add(1, Ordering::Relaxed);
        if let Some(connection) = self.connection.take() {
            connection.close(CLOSE_UNAUTHENTICATED, UNAUTHENTICATED_REASON);
        }
    }
}

async fn serve_connection(connection: quinn::Connection, shared: &Arc<Shared>) {
    let remote = connection.remote_address();
    let buffered = Arc::new(Semaphore::new(shared.limits.buffered_bytes_per_connection));
    loop {
        match connection.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(serve_stream(
                    shared.clone(),
                    buffered.clone(),
                    send,
                    recv,
                    remote,
                ));
            }
            Err(ConnectionError::ApplicationClosed(_) | ConnectionError::LocallyClosed) => {
                info!(%remote, "fallback connection closed");
                return;
            }
            Err(e) => {
                warn!(%remote, error = %e, "fallback connection lost");
                return;
            }
        }
    }
}

/// Reads a request frame within the request timeout, holding its bytes against the
/// connection's and the server's budgets until the returned permits are dropped.
async fn read_request(
    shared: &Shared,
    connection_budget: &Arc<Semaphore>,
    recv: &mut RecvStream,
) -> Result<(RequestHeader, Vec<u8>, [OwnedSemaphorePermit; 2]), ReadFrameError> {
    let header = read_request_header(recv).await?;
    // Whole frames are reserved at once, so streams never hold part of the budget while
    // waiting for the rest (no deadlock), and a frame never waits on more than a budget holds.
    let bytes = u32::try_from(header.len.max(1)).expect("frame limits fit in 32 bits");
    let connection = connection_budget
        .clone()
        .acquire_many_owned(bytes)
        .await
        .expect("budgets are never closed");
    let server = shared
        .buffered
        .clone()
        .acquire_many_owned(bytes)
        .await
        .expect("budgets are never closed");
    let body = read_body(recv, header.len, REQUEST_HEADER_LEN, Direction::Request).await?;
    Ok((header, body, [connection, server]))
}

/// One stream, one request, one response; the stream is finished afterwards whatever happened.
async fn serve_stream(
    shared: Arc<Shared>,
    connection_budget: Arc<Semaphore>,
    mut send: SendStream,
    mut recv: RecvStream,
    remote: SocketAddr,
) {
    let read = tokio::time::timeout(
        shared.limits.request_timeout,
        read_request(&shared, &connection_budget, &mut recv),
    )
    .await;
    let bad_frame = || {
        shared.counters.bad_frames.fetch_add(1, Ordering::Relaxed);
    };
    let (response, request) = match read {
        Ok(Ok((header, body, _held))) => match decode_request(header.tag, &body) {
            Ok(frame) => {
                drop(body);
                let request = frame.request.to_string();
                (
                    dispatch(shared.service.clone(), frame.capability, frame.request).await,
                    request,
                )
            }
            Err(e) => {
                bad_frame();
                warn!(%remote, error = %e, "rejected a fallback request");
                (e.to_response(), "a malformed request".to_owned())
            }
        },
        Ok(Err(ReadFrameError::Frame(e))) => {
            bad_frame();
            warn!(%remote, error = %e, "rejected a fallback request");
            let _ = recv.stop(STOP_BAD_REQUEST);
            (e.to_response(), "a bad request frame".to_owned())
        }
        Ok(Err(ReadFrameError::Stream(e))) => {
            debug!(%remote, error = %e, "fallback stream failed before its request arrived");
            return;
        }
        Err(_elapsed) => {
            bad_frame();
            warn!(%remote, "fallback request not received in time");
            let _ = recv.stop(STOP_BAD_REQUEST);
            let message = format!(
                "no complete request frame within {} s",
                shared.limits.request_timeout.as_secs_f64()
            );
            (
                FallbackResponse::error(FallbackErrorKind::Malformed, message),
                "an incomplete request".to_owned(),
            )
        }
    };

    let frame = encode_response(&response).unwrap_or_else(|e| {
        warn!(%remote, %request, error = %e, "fallback response over the frame limit");
        let refusal = FallbackResponse::error(
            FallbackErrorKind::TooLarge,
            format!("the response to {request} is too large: {e}"),
        );
        encode_response(&refusal).expect("an error response is far below the frame limit")
    });
    if let Err(e) = send.write_all(&frame).await {
        debug!(%remote, %request, error = %e, "could not send the fallback response");
        return;
    }
    // Finishing cannot fail here: the stream was neither finished nor reset before.
    let _ = send.finish();
}

async fn dispatch(
    service: Arc<dyn FallbackService>,
    capability: Capability,
    request: FallbackRequest,
) -> FallbackResponse {
    let label = request.to_string();
    debug!(?capability, request = %label, "fallback request");
    match tokio::task::spawn_blocking(move || service.handle(&capability, request)).await {
        Ok(response) => {
            if let FallbackResponse::Error(e) = &response {
                info!(?capability, request = %label, error = %e, "fallback request refused");
            }
            response
        }
        Err(e) => {
            error!(?capability, request = %label, error = %e, "fallback service failed");
            FallbackResponse::error(
                FallbackErrorKind::Internal,
                format!("the server failed while handling {label}"),
            )
        }
    }
}
