//! The action container's HTTP server (`bootstrap --openwhisk`): hyper on a thread of its own.
//! It answers `/init` and refused requests itself and hands each `/run` to the JVM's thread
//! ([`ActionServer::next`]), one activation at a time; [`crate::openwhisk_action`] reads and
//! writes the bodies.

use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    sync::{
        atomic::{AtomicBool, AtomicU8, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::{
    body::{Body as _, Bytes, Incoming},
    header::{HeaderValue, ALLOW, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Request, Response, StatusCode,
};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown};
use tokio::{
    net::TcpListener,
    sync::{oneshot, Semaphore},
};
use tracing::{debug, error, info, warn};

use crate::openwhisk_action::{self, HttpAnswer, Route, RunRequest, BODY_MAX, REINIT_MESSAGE};

/// Open connections at most (OpenWhisk's invoker keeps one per container); a connection over
/// it is closed at once, so idle ones cannot exhaust the process.
const MAX_CONNECTIONS: usize = 16;
/// How long a request body may take once its headers have arrived.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a retiring instance lets its connections finish the last answer.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The activation slot: free, taken by a `/run`, or taken for good by a retiring instance.
const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const RETIRING: u8 = 2;

/// One `/run` for the JVM's thread to answer with [`Activation::finish`].
pub struct Activation {
    request: RunRequest,
    slot: Arc<AtomicU8>,
    reply: oneshot::Sender<HttpAnswer>,
}

impl Activation {
    pub fn request(&self) -> &RunRequest {
        &self.request
    }

    /// Answers the `/run`. The slot is freed before the answer leaves, so the platform's next
    /// `/run`, sent once it has this answer, finds it free; a retiring instance keeps it taken
    /// so that no activation starts on a JVM about to exit.
    pub fn finish(self, answer: HttpAnswer, retiring: bool) {
        self.slot
            .store(if retiring { RETIRING } else { IDLE }, Ordering::SeqCst);
        if self.reply.send(answer).is_err() {
            debug!("the platform closed the connection before the answer");
        }
    }
}

/// What the connections share.
struct Shared {
    initialized: AtomicBool,
    slot: Arc<AtomicU8>,
    activations: mpsc::Sender<Activation>,
}

/// The running server.
pub struct ActionServer {
    activations: mpsc::Receiver<Activation>,
    local_addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl ActionServer {
    /// Serves `listener` on a thread of its own.
    pub fn start(listener: std::net::TcpListener) -> io::Result<ActionServer> {
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (activations_tx, activations) = mpsc::channel();
        let (shutdown, shutdown_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            initialized: AtomicBool::new(false),
            slot: Arc::new(AtomicU8::new(IDLE)),
            activations: activations_tx,
        });
        let thread = std::thread::Builder::new()
            .name("openwhisk-http".into())
            .spawn(move || runtime.block_on(serve(listener, shared, shutdown_rx)))?;
        Ok(ActionServer {
            activations,
            local_addr,
            shutdown,
            thread,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Blocks until the next `/run`; `None` once the server has stopped.
    pub fn next(&self) -> Option<Activation> {
        self.activations.recv().ok()
    }

    /// Stops accepting, lets the open connections finish their answers (a bounded time), and
    /// returns when the server thread has ended.
    pub fn stop(self) {
        // An error: the server has already stopped.
        let _ = self.shutdown.send(());
        if self.thread.join().is_err() {
            error!("the action server's thread panicked");
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            error!(error = %e, "the action server cannot use its socket");
            return;
        }
    };
    let open = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: give the open connections time to end.
                    warn!(error = %e, "action server: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            debug!(%peer, limit = MAX_CONNECTIONS, "action server: too many connections, closing a new one");
            continue;
        };
        let shared = shared.clone();
        let service = service_fn(move |request| handle(shared.clone(), request));
        // No header read timeout: OpenWhisk freezes an idle container, and a timer that ran
        // out across the pause would close the invoker's keep-alive connection just as it sends
        // the next /run.
        let connection =
            graceful.watch(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                debug!(%peer, error = %e, "action connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        warn!(
            grace_ms = SHUTDOWN_GRACE.as_millis(),
            "action connections still open at exit"
        );
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let route = openwhisk_action::route(request.method().as_str(), request.uri().path());
    let answer = match HttpAnswer::for_route(route) {
        Some(refused) => {
            debug!(method = %request.method(), path = request.uri().path(), status = refused.status.as_u16(), "refused a request");
            refused
        }
        // Checked before the body is read, as OpenWhisk's proxies do.
        None if route == Route::Init && shared.initialized.load(Ordering::SeqCst) => reinit(),
        None => match read_body(request.into_body()).await {
            Err(refused) => refused,
            Ok(body) if route == Route::Init => init(&shared, &body),
            Ok(body) => run(&shared, &body).await,
        },
    };
    Ok(response(answer))
}

async fn read_body(body: Incoming) -> Result<Bytes, HttpAnswer> {
    let too_large = || {
        HttpAnswer::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the request body is over the {BODY_MAX}-byte limit"),
        )
    };
    // A Content-Length over the limit is refused before anything is read.
    if body.size_hint().lower() > BODY_MAX as u64 {
        return Err(too_large());
    }
    match tokio::time::timeout(BODY_READ_TIMEOUT, Limited::new(body, BODY_MAX).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(e)) => Err(HttpAnswer::error(
            StatusCode::BAD_REQUEST,
            &format!("the request body could not be read: {e}"),
        )),
        Err(_) => Err(HttpAnswer::error(
            StatusCode::REQUEST_TIMEOUT,
            &format!(
                "the request body did not arrive within {} s",
                BODY_READ_TIMEOUT.as_secs()
            ),
        )),
    }
}

fn reinit() -> HttpAnswer {
    warn!("{REINIT_MESSAGE}");
    HttpAnswer::error(StatusCode::FORBIDDEN, REINIT_MESSAGE)
}

fn init(shared: &Shared, body: &[u8]) -> HttpAnswer {
    let request = match openwhisk_action::parse_init(body) {
        Ok(request) => request,
        Err(e) => {
            warn!(error = %e, "refused an /init");
            return HttpAnswer::error(StatusCode::BAD_REQUEST, &e);
        }
    };
    // Two concurrent /init: one wins.
    if shared.initialized.swap(true, Ordering::SeqCst) {
        return reinit();
    }
    if request.has_code {
        warn!("/init carries code, which this action ignores: its image holds the function");
    }
    info!(
        action = request.name.as_deref().unwrap_or("-"),
        "initialized"
    );
    HttpAnswer::initialized()
}

async fn run(shared: &Shared, body: &[u8]) -> HttpAnswer {
    let request = match openwhisk_action::parse_run(body) {
        Ok(request) => request,
        Err(e) => {
            warn!(error = %e, "refused a /run");
            return HttpAnswer::error(StatusCode::BAD_REQUEST, &e);
        }
    };
    if let Err(state) =
        shared
            .slot
            .compare_exchange(IDLE, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
    {
        let message = if state == RETIRING {
            "this instance is retiring and runs no more activations"
        } else {
            "this instance runs one activation at a time and is running one"
        };
        warn!(
            activation_id = request.context.activation_id().unwrap_or("-"),
            "refused a /run: {message}"
        );
        return HttpAnswer::error(StatusCode::SERVICE_UNAVAILABLE, message);
    }
    let (reply, answered) = oneshot::channel();
    let activation = Activation {
        request,
        slot: shared.slot.clone(),
        reply,
    };
    if shared.activations.send(activation).is_err() {
        shared.slot.store(RETIRING, Ordering::SeqCst);
        return HttpAnswer::error(StatusCode::SERVICE_UNAVAILABLE, "this instance is stopping");
    }
    answered.await.unwrap_or_else(|_| {
        HttpAnswer::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the instance failed before answering",
        )
    })
}

fn response(answer: HttpAnswer) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(answer.body)));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if answer.status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("POST"));
    }
    response
}
