//! Keeps web pages away from the platform's APIs.
//!
//! The APIs listen on loopback only (`FaasLocal::start`); the Lambda API has no authentication,
//! like the AWS SDKs' local endpoints, and the OpenWhisk API's credential is one a page could
//! have learnt. A browser on the same machine is the remaining way in: a page can
//! send simple cross-site POSTs (an Invoke, a CreateFunction whose body is JSON sent as
//! text/plain), and through DNS rebinding it can read the answers. SDK clients send neither an
//! `Origin` header nor a `Host` other than the address they were given, so refusing both costs
//! them nothing.

use std::net::IpAddr;

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;

/// Refuses requests sent by a web page (see [`browser_refusal`]), in the Lambda API's shape.
pub(crate) async fn refuse_browsers(request: Request, next: Next) -> Response {
    match browser_refusal(&request) {
        Some(reason) => ApiError::access_denied(reason).into_response(),
        None => next.run(request).await,
    }
}

/// Why a request looks sent by a web page: it has an `Origin`, or a `Host` that is not a
/// loopback name (a rebound DNS name). `None` for other clients.
pub(crate) fn browser_refusal(request: &Request) -> Option<&'static str> {
    if request.headers().contains_key(ORIGIN) {
        return Some(
            "faas-local does not serve web pages: requests with an Origin header are refused",
        );
    }
    let host = request
        .headers()
        .get(HOST)
        .map(|h| h.to_str().unwrap_or(""));
    if host.is_some_and(|host| !is_loopback_host(host)) {
        return Some(
            "the Host header must name a loopback address (localhost, 127.0.0.1, [::1]) as faas-local listens on loopback only",
        );
    }
    None
}

/// `localhost` or a loopback IP literal, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split_once(']').map_or("", |(ip, _)| ip),
        None => host.split_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn loopback_hosts_pass_and_other_names_do_not() {
        for host in [
            "127.0.0.1:9000",
            "127.0.0.1",
            "127.1.2.3:80",
            "localhost:9000",
            "LOCALHOST",
            "[::1]:9000",
            "[::1]",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example:9000",
            "localhost.evil.example",
            "10.0.0.1:9000",
            "[::2]:9000",
            "[::1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
