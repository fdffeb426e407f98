//! Keeps web pages away from the Lambda API.
//!
//! The API listens on loopback only (`FaasLocal::start`) and has no authentication, like the
//! AWS SDKs' local endpoints. A browser on the same machine is the remaining way in: a page can
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

/// Refuses requests sent by a web page: any with an `Origin`, or with a `Host` that is not a
/// loopback name (a rebound DNS name).
pub(crate) async fn refuse_browsers(request: Request, next: Next) -> Response {
    if request.headers().contains_key(ORIGIN) {
        return ApiError::access_denied(
            "faas-local does not serve web pages: requests with an Origin header are refused",
        )
        .into_response();
    }
    let host = request
        .headers()
        .get(HOST)
        .map(|h| h.to_str().unwrap_or(""));
    if host.is_some_and(|host| !is_loopback_host(host)) {
        return ApiError::access_denied(
            "the Host header must name a loopback address (localhost, 127.0.0.1, [::1]) as faas-local listens on loopback only",
        )
        .into_response();
    }
    next.run(request).await
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
