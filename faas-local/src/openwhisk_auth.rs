//! The OpenWhisk API's one credential: `UUID:KEY`, sent as HTTP Basic auth, as `wsk --auth`
//! takes it.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::rngs::OsRng;
use rand::TryRngCore;
use std::sync::Arc;

use crate::config::ConfigError;
use crate::openwhisk_error::OwError;
use crate::runtime_key::constant_time_eq;

/// Characters of a generated key (OpenWhisk's keys are 64 letters and digits).
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const KEY_LENGTH: usize = 64;

/// `UUID:KEY`. Its `Debug` hides the key.
pub(crate) struct AuthKey(String);

impl AuthKey {
    /// A random UUID v4 and a random key, from the operating system's CSPRNG.
    pub(crate) fn generate() -> Result<Self, rand::rand_core::OsError> {
        let mut uuid = [0u8; 16];
        OsRng.try_fill_bytes(&mut uuid)?;
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
        let mut key = String::with_capacity(KEY_LENGTH);
        let mut byte = [0u8; 1];
        while key.len() < KEY_LENGTH {
            OsRng.try_fill_bytes(&mut byte)?;
            // Rejection keeps every character equally likely (248 = 4 * 62).
            if usize::from(byte[0]) < KEY_ALPHABET.len() * 4 {
                key.push(char::from(
                    KEY_ALPHABET[usize::from(byte[0]) % KEY_ALPHABET.len()],
                ));
            }
        }
        Ok(Self(format!(
            "{}-{}-{}-{}-{}:{key}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )))
    }

    /// A given `UUID:KEY`: two non-empty parts of visible ASCII, the first without `:`.
    pub(crate) fn parse(auth: &str) -> Result<Self, ConfigError> {
        semifaas_openwhisk::Auth::parse(auth)
            .map(|auth| Self(auth.expose()))
            .map_err(|_| ConfigError::Auth)
    }

    /// `UUID:KEY`, for the operator to give to clients.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// The UUID: the subject of activations.
    pub(crate) fn subject(&self) -> &str {
        self.0.split_once(':').map_or("", |(id, _)| id)
    }

    /// Whether an `Authorization` header carries this credential as Basic auth.
    fn admits(&self, header: Option<&HeaderValue>) -> bool {
        let Some(credentials) = header
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, encoded)| {
                base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
            })
        else {
            return false;
        };
        constant_time_eq(&credentials, self.0.as_bytes())
    }
}

impl fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({}:..)", self.subject())
    }
}

/// Refuses a request without the credential, before any handler reads its body.
pub(crate) async fn require_auth(
    State(auth): State<Arc<AuthKey>>,
    request: Request,
    next: Next,
) -> Response {
    if auth.admits(request.headers().get(AUTHORIZATION)) {
        return next.run(request).await;
    }
    let mut response = OwError::unauthorized().into_response();
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"whisk rest service\""),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(credentials: &str) -> HeaderValue {
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        HeaderValue::from_str(&format!("Basic {encoded}")).unwrap()
    }

    #[test]
    fn generated_credentials_look_like_openwhisk_ones_and_differ() {
        let auth = AuthKey::generate().unwrap();
        let (id, key) = auth.expose().split_once(':').unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_eq!(key.len(), KEY_LENGTH);
        assert!(key.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(AuthKey::generate().unwrap().expose(), auth.expose());
        assert!(!format!("{auth:?}").contains(key));
        assert!(AuthKey::parse(auth.expose()).is_ok());
    }

    #[test]
    fn only_the_exact_credential_is_admitted() {
        let auth = AuthKey::parse("id:secret").unwrap();
        assert!(auth.admits(Some(&basic("id:secret"))));
        assert!(auth.admits(Some(&HeaderValue::from_static("basic aWQ6c2VjcmV0"))));
        for wrong in ["id:secreT", "id:secret2", "id:", "other:secret", ""] {
            assert!(!auth.admits(Some(&basic(wrong))), "{wrong:?}");
        }
        assert!(!auth.admits(None));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Bearer id:secret"))));
        assert!(!auth.admits(Some(&HeaderValue::from_static("Basic !!!"))));
    }

    #[test]
    fn given_credentials_need_two_visible_parts() {
        for bad in ["", "nocolon", ":key", "id:", "i d:key", "id:ke\ny"] {
            assert!(AuthKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(AuthKey::parse("id:key:with:colons").is_ok());
    }
}
