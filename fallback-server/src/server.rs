//! The server side: accepts function connections and answers each stream's request through a
//! [`FallbackService`].

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use quinn::{ConnectionError, RecvStream, SendStream, VarInt};
use semifaas_closure::{Capability, FallbackEndpoint};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use crate::{
    frame_io::{read_frame, ReadFrameError},
    protocol::{
        decode_request, encode_response, Direction, FallbackErrorKind, FallbackRequest,
        FallbackResponse,
    },
    tls::{self, TlsSetupError},
};

/// A client that opens a stream and then stalls gets an error after this long instead of
/// holding a task for the life of the connection.
const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Stream stop code: the server will not read more of a bad request.
const STOP_BAD_REQUEST: VarInt = VarInt::from_u32(1);
/// Connection close code when the server shuts down.
const CLOSE_SHUTDOWN: VarInt = VarInt::from_u32(0);

/// Answers fallback requests. The server has already decoded and validated the request; the
/// service checks the capability and produces the response (an [`FallbackResponse::Error`] with
/// [`FallbackErrorKind::Unauthorized`] for a capability it does not recognise).
pub trait FallbackService: Send + Sync + 'static {
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
    accept_task: Option<JoinHandle<()>>,
}

impl FallbackServer {
    /// Must be called inside a tokio runtime. Makes a self-signed certificate (rcgen) for
    /// `server_name`.
    pub fn start(
        bind: SocketAddr,
        server_name: &str,
        service: Arc<dyn FallbackService>,
    ) -> Result<FallbackServer, FallbackServerError> {
        tokio::runtime::Handle::try_current().map_err(|_| FallbackServerError::NoRuntime)?;
        let (config, cert_sha256) = tls::server_config(server_name)?;
        let bind_error = |source| FallbackServerError::Bind { addr: bind, source };
        let endpoint = quinn::Endpoint::server(config, bind).map_err(bind_error)?;
        let local_addr = endpoint.local_addr().map_err(bind_error)?;
        let accept_task = tokio::spawn(accept_connections(endpoint.clone(), service));
        info!(%local_addr, server_name, cert_sha256 = %hex::encode(cert_sha256), "fallback server listening");
        Ok(FallbackServer {
            endpoint,
            local_addr,
            cert_sha256,
            server_name: server_name.to_owned(),
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

async fn accept_connections(endpoint: quinn::Endpoint, service: Arc<dyn FallbackService>) {
    while let Some(incoming) = endpoint.accept().await {
        let service = service.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match incoming.await {
                Ok(connection) => serve_connection(connection, service).await,
                Err(e) => warn!(%remote, error = %e, "fallback connection handshake failed"),
            }
        });
    }
}

async fn serve_connection(connection: quinn::Connection, service: Arc<dyn FallbackService>) {
    let remote = connection.remote_address();
    info!(%remote, "fallback connection opened");
    loop {
        match connection.accept_bi().await {
            Ok((send, recv)) => {
                tokio::spawn(serve_stream(service.clone(), send, recv, remote));
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

/// One stream, one request, one response; the stream is finished afterwards whatever happened.
async fn serve_stream(
    service: Arc<dyn FallbackService>,
    mut send: SendStream,
    mut recv: RecvStream,
    remote: SocketAddr,
) {
    let read = tokio::time::timeout(
        REQUEST_READ_TIMEOUT,
        read_frame(&mut recv, Direction::Request),
    )
    .await;
    let (response, request) = match read {
        Ok(Ok(body)) => match decode_request(&body) {
            Ok(frame) => {
                let request = frame.request.to_string();
                (
                    dispatch(service, frame.capability, frame.request).await,
                    request,
                )
            }
            Err(e) => {
                warn!(%remote, error = %e, "rejected a fallback request");
                (e.to_response(), "a malformed request".to_owned())
            }
        },
        Ok(Err(ReadFrameError::Frame(e))) => {
            warn!(%remote, error = %e, "rejected a fallback request");
            let _ = recv.stop(STOP_BAD_REQUEST);
            (e.to_response(), "a bad request frame".to_owned())
        }
        Ok(Err(ReadFrameError::Stream(e))) => {
            debug!(%remote, error = %e, "fallback stream failed before its request arrived");
            return;
        }
        Err(_elapsed) => {
            warn!(%remote, "fallback request not received in time");
            let _ = recv.stop(STOP_BAD_REQUEST);
            let message = format!(
                "no complete request frame within {} s",
                REQUEST_READ_TIMEOUT.as_secs()
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
