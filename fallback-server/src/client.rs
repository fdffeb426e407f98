//! The function side: one connection to the server's fallback endpoint, one stream per request.

use std::{io, net::SocketAddr, sync::Arc, time::Duration};

use quinn::VarInt;
use semifaas_closure::{Capability, Closure, ClosureId, FallbackEndpoint};
use tracing::{debug, info};

use crate::{
    frame_io::{read_response, ReadFrameError},
    protocol::{
        decode_response, encode_hello, encode_request, FallbackError, FallbackRequest,
        FallbackResponse, FrameError, JarHash, LibraryJarEntry, RequestFrame,
        CLOSE_UNAUTHENTICATED, HELLO_ACCEPTED,
    },
    tls::{self, TlsSetupError},
};

/// Connection close code when the last client handle is dropped.
const CLOSE_DONE: VarInt = VarInt::from_u32(0);

#[derive(Debug, thiserror::Error)]
pub enum FallbackClientError {
    #[error("fallback address {addr:?} could not be resolved: {reason}")]
    Resolve { addr: String, reason: String },
    #[error("could not open a UDP socket on {bind} for the fallback connection: {source}")]
    Bind { bind: SocketAddr, source: io::Error },
    #[error("could not configure TLS for the fallback connection: {0}")]
    Tls(#[from] TlsSetupError),
    #[error("could not connect to the fallback server at {addr} (server name {server_name:?}): {reason}")]
    Connect {
        addr: String,
        server_name: String,
        reason: String,
    },
    #[error("the fallback server at {addr} did not accept the invocation's capability (the invocation is not in flight there, or the capability is wrong)")]
    Unauthenticated { addr: String },
    #[error("the fallback server at {addr} failed while authenticating the connection: {reason}")]
    Hello { addr: String, reason: String },
    #[error("the fallback server at {addr} presented a certificate with SHA-256 {actual}, but the invocation pinned {pinned}")]
    CertificateMismatch {
        addr: String,
        pinned: String,
        actual: String,
    },
    #[error("{request} was not sent to the fallback server at {addr}: {source}")]
    RequestTooLarge {
        addr: String,
        request: String,
        source: FrameError,
    },
    #[error("{request} to the fallback server at {addr} failed: {source}")]
    Request {
        addr: String,
        request: String,
        source: RequestFailure,
    },
    #[error("the fallback server at {addr} refused {request}: {error}")]
    Refused {
        addr: String,
        request: String,
        error: FallbackError,
    },
    #[error("the fallback server at {addr} answered {request} with a {got} response")]
    UnexpectedResponse {
        addr: String,
        request: String,
        got: &'static str,
    },
    #[error("the fallback server at {addr} answered {request} with closure {actual}")]
    ClosureMismatch {
        addr: String,
        request: String,
        actual: ClosureId,
    },
}

/// What went wrong while exchanging one request and response.
#[derive(Debug, thiserror::Error)]
pub enum RequestFailure {
    #[error("the connection is gone: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("sending the request failed: {0}")]
    Write(#[from] quinn::WriteError),
    #[error("the request stream was already closed: {0}")]
    ClosedStream(#[from] quinn::ClosedStream),
    #[error("reading the response failed: {0}")]
    Read(#[from] quinn::ReadError),
    #[error("bad response: {0}")]
    Frame(#[from] FrameError),
}

impl From<ReadFrameError> for RequestFailure {
    fn from(e: ReadFrameError) -> Self {
        match e {
            ReadFrameError::Frame(e) => RequestFailure::Frame(e),
            ReadFrameError::Stream(e) => RequestFailure::Read(e),
        }
    }
}

/// A connection to one server's fallback endpoint. Cheap to clone; requests on clones share
/// the connection and run concurrently, each on its own stream. The connection closes when the
/// last clone is dropped.
#[derive(Clone)]
pub struct FallbackClient {
    inner: Arc<Inner>,
}

struct Inner {
    // Kept so the endpoint's socket outlives every request.
    quic: quinn::Endpoint,
    connection: quinn::Connection,
    fallback: FallbackEndpoint,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.connection.close(CLOSE_DONE, b"client done");
    }
}

impl FallbackClient {
    /// Connects (bind 0.0.0.0:0 / [::]:0 as appropriate), pins the server certificate and
    /// authenticates the connection with `capability` (an invocation in flight on the server).
    /// The rustls verifier accepts exactly the certificate whose SHA-256 is
    /// `endpoint.cert_sha256` (and still checks the TLS 1.3 signature with the certificate's
    /// key). Any other certificate fails the handshake. The connection stays usable after that
    /// invocation ends; each request still carries its own invocation's capability.
    pub async fn connect(
        endpoint: &FallbackEndpoint,
        capability: Capability,
    ) -> Result<FallbackClient, FallbackClientError> {
        let remote = resolve(&endpoint.addr).await?;
        let bind: SocketAddr = if remote.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let mut quic = quinn::Endpoint::client(bind)
            .map_err(|source| FallbackClientError::Bind { bind, source })?;
        let (config, rejected) = tls::pinned_client_config(endpoint.cert_sha256)?;
        quic.set_default_client_config(config);

        let connect_error = |reason: String| FallbackClientError::Connect {
            addr: endpoint.addr.clone(),
            server_name: endpoint.server_name.clone(),
            reason,
        };
        let connection = quic
            .connect(remote, &endpoint.server_name)
            .map_err(|e| connect_error(e.to_string()))?
            .await
            .map_err(|e| match rejected.get() {
                Some(actual) => FallbackClientError::CertificateMismatch {
                    addr: endpoint.addr.clone(),
                    pinned: hex::encode(endpoint.cert_sha256),
                    actual: hex::encode(actual),
                },
                None => connect_error(e.to_string()),
            })?;
        hello(&connection, capability, &endpoint.addr).await?;
        info!(addr = %endpoint.addr, %remote, "fallback connection established");
        Ok(FallbackClient {
            inner: Arc::new(Inner {
                quic,
                connection,
                fallback: endpoint.clone(),
            }),
        })
    }

    /// Sends one request on a new stream and waits for its response. An
    /// [`FallbackResponse::Error`] from the server is a successful exchange and comes back as
    /// `Ok`; the typed helpers ([`FallbackClient::fetch_closure`] and others) turn it into an
    /// error.
    pub async fn request(
        &self,
        capability: Capability,
        request: FallbackRequest,
    ) -> Result<FallbackResponse, FallbackClientError> {
        let label = request.to_string();
        let frame = encode_request(&RequestFrame {
            capability,
            request,
        })
        .map_err(|source| FallbackClientError::RequestTooLarge {
            addr: self.addr().to_owned(),
            request: label.clone(),
            source,
        })?;
        debug!(request = %label, "sending fallback request");
        self.exchange(&frame)
            .await
            .map_err(|source| FallbackClientError::Request {
                addr: self.addr().to_owned(),
                request: label,
                source,
            })
    }

    async fn exchange(&self, frame: &[u8]) -> Result<FallbackResponse, RequestFailure> {
        let (mut send, mut recv) = self.inner.connection.open_bi().await?;
        send.write_all(frame).await?;
        send.finish()?;
        let body = read_response(&mut recv).await?;
        Ok(decode_response(&body)?)
    }

    /// Fetches a closure and checks that its content hash is the id asked for.
    pub async fn fetch_closure(
        &self,
        capability: Capability,
        id: ClosureId,
    ) -> Result<Closure, FallbackClientError> {
        let request = FallbackRequest::FetchClosure { id };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::Closure(closure) => {
                let actual = closure.id();
                if actual != id {
                    return Err(FallbackClientError::ClosureMismatch {
                        addr: self.addr().to_owned(),
                        request: label,
                        actual,
                    });
                }
                Ok(closure)
            }
            other => Err(self.unexpected(label, other)),
        }
    }

    /// A class file by binary name; `None` when the server does not have the class.
    pub async fn load_class(
        &self,
        capability: Capability,
        name: &str,
    ) -> Result<Option<Vec<u8>>, FallbackClientError> {
        let request = FallbackRequest::LoadClass {
            name: name.to_owned(),
        };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::Class(bytes) => Ok(bytes),
            other => Err(self.unexpected(label, other)),
        }
    }

    /// A resource by path; `None` when the server does not have it.
    pub async fn get_resource(
        &self,
        capability: Capability,
        name: &str,
    ) -> Result<Option<Vec<u8>>, FallbackClientError> {
        let request = FallbackRequest::GetResource {
            name: name.to_owned(),
        };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::Resource(bytes) => Ok(bytes),
            other => Err(self.unexpected(label, other)),
        }
    }

    /// Calls `method` (JVM `descriptor`) on the server object exported as `ref_id` with `args`
    /// (bytes of the Java codec), as the invocation's call number `seq`. Returns outcome bytes: tag 0 returned, 1 threw, 2 refused or
    /// failed on the server (e.g. a write during shadow execution).
    pub async fn invoke_remote(
        &self,
        capability: Capability,
        seq: u32,
        ref_id: u64,
        method: &str,
        descriptor: &str,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, FallbackClientError> {
        let request = FallbackRequest::InvokeRemote {
            seq,
            ref_id,
            method: method.to_owned(),
            descriptor: descriptor.to_owned(),
            args,
        };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::Invoked(outcome) => Ok(outcome),
            other => Err(self.unexpected(label, other)),
        }
    }

    /// The server's library manifest: the jars a function may fetch whole.
    pub async fn library_manifest(
        &self,
        capability: Capability,
    ) -> Result<Vec<LibraryJarEntry>, FallbackClientError> {
        let request = FallbackRequest::LibraryManifest;
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::LibraryManifest(entries) => Ok(entries),
            other => Err(self.unexpected(label, other)),
        }
    }

    /// Bytes of library jar `sha256` from `offset`, and the jar's size.
    pub async fn library_jar_chunk(
        &self,
        capability: Capability,
        sha256: JarHash,
        offset: u64,
    ) -> Result<(u64, Vec<u8>), FallbackClientError> {
        let request = FallbackRequest::LibraryJar { sha256, offset };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::LibraryJarChunk { total, bytes } => Ok((total, bytes)),
            other => Err(self.unexpected(label, other)),
        }
    }

    /// Reports classes defined from library jars; returns how many the server recorded.
    pub async fn library_classes_defined(
        &self,
        capability: Capability,
        names: Vec<String>,
    ) -> Result<u32, FallbackClientError> {
        let request = FallbackRequest::LibraryClassesDefined { names };
        let label = request.to_string();
        match self.request(capability, request).await? {
            FallbackResponse::LibraryClassesRecorded(count) => Ok(count),
            other => Err(self.unexpected(label, other)),
        }
    }

    fn unexpected(&self, request: String, response: FallbackResponse) -> FallbackClientError {
        let addr = self.addr().to_owned();
        match response {
            FallbackResponse::Error(error) => FallbackClientError::Refused {
                addr,
                request,
                error,
            },
            other => FallbackClientError::UnexpectedResponse {
                addr,
                request,
                got: other.variant_name(),
            },
        }
    }

    /// Closes the connection and its endpoint, then waits (at most `within`) until the endpoint
    /// has no connection left. The endpoint's UDP socket closes once its last handle is gone:
    /// this one, when no other clone of this client remains, and the endpoint's driver task,
    /// which ends soon after on the runtime. True when the endpoint went idle in time and this
    /// was the last clone; otherwise the socket may stay open.
    ///
    /// For a process that must hold no socket (a checkpoint): dropping the last clone closes the
    /// socket too, but only once the connection has drained, with nothing to wait on.
    pub async fn shut_down(self, within: Duration) -> bool {
        self.inner.connection.close(CLOSE_DONE, b"client done");
        self.inner.quic.close(CLOSE_DONE, b"client done");
        let idle = tokio::time::timeout(within, self.inner.quic.wait_idle())
            .await
            .is_ok();
        idle && Arc::strong_count(&self.inner) == 1
    }

    pub fn endpoint(&self) -> &FallbackEndpoint {
        &self.inner.fallback
    }

    /// True once the connection is closed (by either side, or timed out); a closed client
    /// fails every request and must be replaced by a new [`FallbackClient::connect`].
    pub fn is_closed(&self) -> bool {
        self.inner.connection.close_reason().is_some()
    }

    fn addr(&self) -> &str {
        &self.inner.fallback.addr
    }
}

/// Presents `capability` on the connection's first stream and waits for the server's answer.
async fn hello(
    connection: &quinn::Connection,
    capability: Capability,
    addr: &str,
) -> Result<(), FallbackClientError> {
    let failed = |reason: String| match connection.close_reason() {
        Some(quinn::ConnectionError::ApplicationClosed(close))
            if close.error_code == CLOSE_UNAUTHENTICATED =>
        {
            FallbackClientError::Unauthenticated {
                addr: addr.to_owned(),
            }
        }
        _ => FallbackClientError::Hello {
            addr: addr.to_owned(),
            reason,
        },
    };
    let exchange = async {
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
        send.write_all(&encode_hello(&capability))
            .await
            .map_err(|e| e.to_string())?;
        send.finish().map_err(|e| e.to_string())?;
        let mut answer = [0u8; 1];
        recv.read_exact(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        if answer[0] != HELLO_ACCEPTED {
            return Err(format!("unexpected hello answer {:#04x}", answer[0]));
        }
        Ok(())
    };
    exchange.await.map_err(failed)
}

async fn resolve(addr: &str) -> Result<SocketAddr, FallbackClientError> {
    let resolve_error = |reason: String| FallbackClientError::Resolve {
        addr: addr.to_owned(),
        reason,
    };
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| resolve_error(e.to_string()))?
        .next()
        .ok_or_else(|| resolve_error("no address found".to_owned()))
}
