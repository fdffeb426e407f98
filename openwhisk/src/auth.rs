//! OpenWhisk credentials: `uuid:key`, sent as HTTP basic authentication.

use base64::{engine::general_purpose::STANDARD, Engine};

/// Longest credentials accepted (OpenWhisk's are a 36-character UUID and a 64-character key).
const AUTH_MAX: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("credentials must be uuid:key (as `wsk property get --auth` prints them), without spaces, at most {AUTH_MAX} characters")]
    Malformed,
}

/// `uuid:key`. Its `Debug` shows the uuid only: credentials never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    uuid: String,
    key: String,
}

impl Auth {
    pub fn parse(text: &str) -> Result<Auth, AuthError> {
        let text = text.trim();
        let printable = |s: &str| s.bytes().all(|b| b.is_ascii_graphic());
        match text.split_once(':') {
            Some((uuid, key))
                if !uuid.is_empty()
                    && !key.is_empty()
                    && text.len() <= AUTH_MAX
                    && printable(text) =>
            {
                Ok(Auth {
                    uuid: uuid.to_owned(),
                    key: key.to_owned(),
                })
            }
            _ => Err(AuthError::Malformed),
        }
    }

    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// The `Authorization` header's value.
    pub fn header_value(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.uuid, self.key))
        )
    }

    /// `uuid:key`, for `wsk property set --auth` and `--auth` of `semifaas local`.
    pub fn expose(&self) -> String {
        format!("{}:{}", self.uuid, self.key)
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth({}:…)", self.uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_uuid_colon_key_and_never_debug_printed() {
        let auth = Auth::parse(" 23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secretkey ").unwrap();
        assert_eq!(auth.uuid(), "23bc46b1-71f6-4ed5-8c54-816aa4f8c502");
        assert_eq!(
            auth.header_value(),
            format!(
                "Basic {}",
                STANDARD.encode("23bc46b1-71f6-4ed5-8c54-816aa4f8c502:secretkey")
            )
        );
        assert!(!format!("{auth:?}").contains("secretkey"));
        for bad in ["", "nokey", ":key", "uuid:", "uu id:key", "uuid:k\u{1}"] {
            assert_eq!(Auth::parse(bad), Err(AuthError::Malformed), "{bad:?}");
        }
        assert!(Auth::parse(&format!("u:{}", "k".repeat(AUTH_MAX))).is_err());
    }
}
