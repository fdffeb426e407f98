//! Signs Lambda Invoke requests with AWS Signature Version 4 (`aws-sigv4`, the library the AWS
//! SDK signs with), with credentials from the standard AWS configuration chain, kept until
//! shortly before they expire so the request path does not ask the chain each time.

use std::time::{Duration, SystemTime};

use aws_credential_types::{
    provider::{ProvideCredentials, SharedCredentialsProvider},
    Credentials,
};
use aws_sigv4::{
    http_request::{sign, SignableBody, SignableRequest, SigningSettings},
    sign::v4,
};
use aws_smithy_runtime_api::client::identity::Identity;
use parking_lot::Mutex;

/// The service name Lambda's requests are signed for.
const SERVICE: &str = "lambda";
/// Credentials this close to their expiry are fetched again.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum SigningFailure {
    /// The chain had no usable credentials (the message says why).
    #[error("an error occurred while loading credentials: {0}")]
    Credentials(String),
    #[error("cannot sign the request: {0}")]
    Sign(String),
}

pub struct Signer {
    region: String,
    provider: SharedCredentialsProvider,
    /// The credentials in use, as an identity (with their expiry) for the signer.
    cached: Mutex<Option<Identity>>,
}

impl Signer {
    pub fn new(region: String, provider: SharedCredentialsProvider) -> Signer {
        Signer {
            region,
            provider,
            cached: Mutex::new(None),
        }
    }

    /// The headers that sign a `POST` of `body` to `url` with `headers` (which must be sent as
    /// given), at `time`.
    pub async fn headers(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        time: SystemTime,
    ) -> Result<Vec<(String, String)>, SigningFailure> {
        let identity = self.identity(time).await?;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SERVICE)
            .time(time)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| SigningFailure::Sign(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| SigningFailure::Sign(e.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| SigningFailure::Sign(e.to_string()))?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }

    /// The kept credentials, or fresh ones from the chain when there are none or they expire
    /// within [`REFRESH_BEFORE_EXPIRY`] of `now`.
    async fn identity(&self, now: SystemTime) -> Result<Identity, SigningFailure> {
        if let Some(identity) = self.cached.lock().as_ref() {
            let fresh = identity
                .expiration()
                .is_none_or(|expiry| now + REFRESH_BEFORE_EXPIRY < expiry);
            if fresh {
                return Ok(identity.clone());
            }
        }
        let credentials: Credentials = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| SigningFailure::Credentials(crate::dispatch::error_chain(&e)))?;
        let identity: Identity = credentials.into();
        *self.cached.lock() = Some(identity.clone());
        Ok(identity)
    }
}
