//! Who may use the admin endpoint. Every request must
//!
//! - name the address it connected to in `Host` (`127.0.0.1:7071`, or `localhost:7071` on a
//!   loopback address), else 403: a web page whose DNS name was rebound to 127.0.0.1 sends its
//!   own name;
//! - carry the admin token as `Authorization: Bearer <token>`, else 401. A cross-site form or
//!   image cannot set that header, so state-changing requests cannot be forged from a browser;
//!   a token anywhere else (the query string, a cookie) is not looked at.

use std::{fmt, net::SocketAddr};

use axum::{
    http::{header, HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json,
};
use rand::{rngs::OsRng, TryRngCore};
use serde_json::json;

/// The secret every admin request carries.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken(String);

/// Bytes of randomness in a generated token (256 bits, 64 hex digits).
const TOKEN_BYTES: usize = 32;
/// Bounds of a configured token (`semifaas.admin.token`).
const TOKEN_LEN: std::ops::RangeInclusive<usize> = 32..=256;

impl AdminToken {
    /// A fresh token from the operating system's random source.
    pub fn generate() -> Result<AdminToken, String> {
        let mut bytes = [0u8; TOKEN_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|e| e.to_string())?;
        Ok(AdminToken(hex::encode(bytes)))
    }

    /// A configured token: 32 to 256 characters that are safe in a header and a shell.
    pub fn parse(value: &str) -> Option<AdminToken> {
        let value = value.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        (TOKEN_LEN.contains(&value.len()) && value.chars().all(allowed))
            .then(|| AdminToken(value.to_owned()))
    }

    /// The token itself, to write to the token file (never to a log).
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// Compares in time that depends only on the lengths, so response times do not reveal how
    /// much of a guess was right.
    fn matches(&self, given: &[u8]) -> bool {
        let expected = self.0.as_bytes();
        expected.len() == given.len()
            && expected
                .iter()
                .zip(given)
                .fold(0u8, |diff, (a, b)| diff | (a ^ b))
                == 0
    }
}

/// Never prints the secret (the configuration is `Debug`).
impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<hidden>)")
    }
}

/// `None` when the request may go on; otherwise the 403 or 401 to answer. `local` is the
/// address the request's connection was accepted on.
pub fn refusal(
    token: &AdminToken,
    local: SocketAddr,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    if let Err(why) = check_host(local, uri, headers) {
        return Some(error(StatusCode::FORBIDDEN, why));
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "));
    if given.is_some_and(|g| token.matches(g)) {
        return None;
    }
    let mut response = error(
        StatusCode::UNAUTHORIZED,
        "missing or wrong admin token: send it as Authorization: Bearer <token>. The agent \
         writes it to its token file (semifaas.admin.token-file; the path is logged at start), \
         where the semifaas CLI on this machine finds it"
            .to_owned(),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer realm=\"semifaas-admin\""),
    );
    Some(response)
}

/// The names a request may give in `Host` for a connection accepted on `local`.
fn allowed_hosts(local: SocketAddr) -> Vec<String> {
    // An IPv4 client of a socket bound to `::` arrives on `::ffff:a.b.c.d`.
    let local = SocketAddr::new(local.ip().to_canonical(), local.port());
    let mut hosts = vec![local.to_string()];
    if local.ip().is_loopback() {
        hosts.push(format!("localhost:{}", local.port()));
    }
    hosts
}

fn check_host(local: SocketAddr, uri: &Uri, headers: &HeaderMap) -> Result<(), String> {
    let allowed = allowed_hosts(local);
    let mut hosts = headers.get_all(header::HOST).iter();
    let host = match (hosts.next(), hosts.next()) {
        (Some(host), None) => host.to_str().unwrap_or_default(),
        (None, _) => return Err(format!("no Host header; send Host: {}", allowed[0])),
        (Some(_), Some(_)) => return Err("more than one Host header".to_owned()),
    };
    let names_us = |name: &str| allowed.iter().any(|a| a.eq_ignore_ascii_case(name));
    // An absolute-form request line (`GET http://host/path`) names the host too.
    let authority_ok = uri.authority().is_none_or(|a| names_us(a.as_str()));
    if names_us(host) && authority_ok {
        return Ok(());
    }
    Err(format!(
        "Host {:?} does not name this admin endpoint; use one of: {}",
        host.chars().take(100).collect::<String>(),
        allowed.join(", ")
    ))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn generated_tokens_are_256_bits_of_hex_and_differ() {
        let (a, b) = (
            AdminToken::generate().unwrap(),
            AdminToken::generate().unwrap(),
        );
        assert_eq!(a.secret().len(), 64);
        assert!(a.secret().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "AdminToken(<hidden>)");
    }

    #[test]
    fn configured_tokens_are_long_and_header_safe() {
        assert!(AdminToken::parse(&"a".repeat(32)).is_some());
        assert!(AdminToken::parse("abc-DEF_123.~+/=abc-DEF_123.~+/=").is_some());
        for bad in [
            "short",
            &"a".repeat(257),
            &format!("{} x", "a".repeat(32)),
            &format!("{}\"", "a".repeat(32)),
        ] {
            assert!(AdminToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_the_exact_token_matches() {
        let token = AdminToken::parse(&"k".repeat(40)).unwrap();
        assert!(token.matches("k".repeat(40).as_bytes()));
        assert!(!token.matches("k".repeat(39).as_bytes()));
        assert!(!token.matches(format!("{}j", "k".repeat(39)).as_bytes()));
        assert!(!token.matches(b""));
    }

    #[test]
    fn host_must_name_the_local_address() {
        let local: SocketAddr = "127.0.0.1:7071".parse().unwrap();
        let uri = Uri::from_static("/ratio");
        let ok = |host: &str| check_host(local, &uri, &headers(&[("host", host)])).is_ok();
        assert!(ok("127.0.0.1:7071") && ok("localhost:7071") && ok("LOCALHOST:7071"));
        assert!(!ok("evil.example:7071") && !ok("127.0.0.1:7072") && !ok("127.0.0.1"));
        assert!(check_host(local, &uri, &headers(&[])).is_err());
        let two = headers(&[("host", "127.0.0.1:7071"), ("host", "127.0.0.1:7071")]);
        assert!(check_host(local, &uri, &two).is_err());
        let absolute = Uri::from_static("http://evil.example:7071/ratio");
        assert!(check_host(local, &absolute, &headers(&[("host", "127.0.0.1:7071")])).is_err());

        let wildcard_v4: SocketAddr = "[::ffff:10.0.0.5]:7071".parse().unwrap();
        assert_eq!(allowed_hosts(wildcard_v4), ["10.0.0.5:7071"]);
        let v6: SocketAddr = "[::1]:7071".parse().unwrap();
        assert_eq!(allowed_hosts(v6), ["[::1]:7071", "localhost:7071"]);
    }
}
