//! TLS and transport settings shared by server and client (public so tools and tests can
//! speak the protocol over a raw quinn connection): TLS 1.3 only with the `ring`
//! provider (installed per configuration, never process-wide), a self-signed server certificate,
//! and a client verifier that trusts exactly one pinned certificate.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use quinn::{
    crypto::rustls::{QuicClientConfig, QuicServerConfig},
    IdleTimeout, TransportConfig, VarInt,
};
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    crypto::{verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms},
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime},
    CertificateError, DigitallySignedStruct, SignatureScheme,
};
use sha2::{Digest, Sha256};

/// ALPN protocol id; a peer speaking another version fails the handshake instead of
/// misreading frames.
pub const ALPN: &[u8] = b"semifaas-fallback/1";

/// Keeps warm instances' connections alive through NATs and the idle timeout.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// A peer silent for this long (keep-alives included) is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes a peer may send the server on one stream before the server reads them.
const SERVER_STREAM_WINDOW: u32 = 1024 * 1024;
/// Bytes a peer may send the server on one connection before the server reads them (quinn's
/// default is unbounded).
const SERVER_CONNECTION_WINDOW: u32 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("could not generate a self-signed certificate for {server_name:?}: {source}")]
    Certificate {
        server_name: String,
        source: rcgen::Error,
    },
    #[error("could not build the TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("the TLS configuration is not usable for QUIC: {0}")]
    Quic(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn transport(max_incoming_streams: u32) -> TransportConfig {
    let mut transport = TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(max_incoming_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .keep_alive_interval(Some(KEEP_ALIVE))
        .max_idle_timeout(Some(
            IdleTimeout::try_from(IDLE_TIMEOUT).expect("60 s is a valid idle timeout"),
        ));
    transport
}

/// The server's transport: one stream (the hello) until the connection authenticates, when
/// the server raises the limit; bounded receive windows, so unread bytes stay bounded too.
fn server_transport() -> Arc<TransportConfig> {
    let mut transport = transport(1);
    transport
        .stream_receive_window(VarInt::from_u32(SERVER_STREAM_WINDOW))
        .receive_window(VarInt::from_u32(SERVER_CONNECTION_WINDOW));
    Arc::new(transport)
}

/// A server configuration with a fresh self-signed certificate for `server_name`, and the
/// SHA-256 of that certificate (what clients pin).
pub fn server_config(server_name: &str) -> Result<(quinn::ServerConfig, [u8; 32]), TlsSetupError> {
    let certified =
        rcgen::generate_simple_self_signed(vec![server_name.to_owned()]).map_err(|source| {
            TlsSetupError::Certificate {
                server_name: server_name.to_owned(),
                source,
            }
        })?;
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let fingerprint: [u8; 32] = Sha256::digest(cert.as_ref()).into();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certified.key_pair.serialize_der()));

    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicServerConfig::try_from(tls).map_err(|e| TlsSetupError::Quic(e.to_string()))?;

    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    config.transport_config(server_transport());
    Ok((config, fingerprint))
}

/// A client configuration that accepts exactly the certificate whose SHA-256 is `pinned`.
pub fn client_config(pinned: [u8; 32]) -> Result<quinn::ClientConfig, TlsSetupError> {
    pinned_client_config(pinned).map(|(config, _)| config)
}

/// The fingerprint of a certificate the pinned verifier refused, for a precise error.
#[derive(Debug, Default)]
pub(crate) struct RejectedCertificate(Mutex<Option<[u8; 32]>>);

impl RejectedCertificate {
    pub(crate) fn get(&self) -> Option<[u8; 32]> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, fingerprint: [u8; 32]) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(fingerprint);
    }
}

/// [`client_config`], plus where the verifier reports a refused certificate.
pub(crate) fn pinned_client_config(
    pinned: [u8; 32],
) -> Result<(quinn::ClientConfig, Arc<RejectedCertificate>), TlsSetupError> {
    let provider = provider();
    let rejected = Arc::new(RejectedCertificate::default());
    let verifier = PinnedCertVerifier {
        pinned,
        algorithms: provider.signature_verification_algorithms,
        rejected: rejected.clone(),
    };
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    tls.alpn_protocols = vec![ALPN.to_vec()];
    let quic = QuicClientConfig::try_from(tls).map_err(|e| TlsSetupError::Quic(e.to_string()))?;

    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    // The server never opens streams towards the client.
    config.transport_config(Arc::new(transport(0)));
    Ok((config, rejected))
}

/// Trusts one certificate, named by its SHA-256, whatever its issuer, names or validity dates:
/// the fingerprint came with the invocation from the server itself. The handshake signature is
/// still checked against that certificate's key, so only the holder of the key passes.
#[derive(Debug)]
struct PinnedCertVerifier {
    pinned: [u8; 32],
    algorithms: WebPkiSupportedAlgorithms,
    rejected: Arc<RejectedCertificate>,
}

impl ServerCertVerifier for PinnedCertVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let actual: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if actual != self.pinned {
            self.rejected.set(actual);
            return Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Unreachable in practice: the configuration offers TLS 1.3 only.
        Err(rustls::Error::General(
            "TLS 1.2 is not accepted by the fallback client".into(),
        ))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
