//! A small blocking client for the Lambda Runtime API
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>).
//!
//! `AWS_LAMBDA_RUNTIME_API` is `host:port` on AWS and under the Runtime Interface Emulator, and
//! `host:port/<key>` under faas-local, whose Runtime API serves only requests under the
//! instance's secret key; an `http://` in front is accepted. The key never appears in an error
//! message.
//!
//! faas-local also answers `/next` with a request to prepare for a checkpoint ([`Next::Checkpoint`],
//! see `checkpoint`).

use std::time::Duration;

use ureq::Agent;

const API_VERSION: &str = "2018-06-01";
const REQUEST_ID_HEADER: &str = "Lambda-Runtime-Aws-Request-Id";
const DEADLINE_HEADER: &str = "Lambda-Runtime-Deadline-Ms";
const TRACE_ID_HEADER: &str = "Lambda-Runtime-Trace-Id";
/// faas-local's request to prepare for a checkpoint: this header with [`CHECKPOINT_PREPARE`] on
/// a 200 answer to `/next`, whose body is empty. No other platform sends it.
use semifaas_closure::checkpoint::HEADER as CHECKPOINT_HEADER;
const CHECKPOINT_PREPARE: &str = "prepare";
/// The error's type, which Lambda reports when it cannot read the body (and some platforms
/// report only from here).
const ERROR_TYPE_HEADER: &str = "Lambda-Runtime-Function-Error-Type";
/// The content type of Lambda's standard error body.
const ERROR_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error+json";
const BODY_LIMIT: u64 = crate::PLATFORM_BODY_MAX as u64;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeApiError {
    #[error("AWS_LAMBDA_RUNTIME_API is not set: bootstrap must be started by a Lambda-compatible platform")]
    NotConfigured,
    #[error("AWS_LAMBDA_RUNTIME_API is not `host:port` or `host:port/path`: {0}")]
    BadAddress(&'static str),
    /// `detail` is the client's error with the key masked.
    #[error("{what} at {url}: {detail}")]
    Http {
        what: &'static str,
        url: String,
        detail: String,
    },
    #[error("{what} at {url}: the platform answered HTTP {status}")]
    Status {
        what: &'static str,
        url: String,
        status: u16,
    },
    #[error("the next invocation at {url} has no {REQUEST_ID_HEADER} header")]
    NoRequestId { url: String },
    /// A newer platform asks for a checkpoint step this bootstrap does not know.
    #[error("the platform at {url} asked for checkpoint step {value:?}; this bootstrap knows only {CHECKPOINT_PREPARE:?}")]
    UnknownCheckpointStep { url: String, value: String },
}

/// What `/next` hands out.
#[derive(Debug)]
pub enum Next {
    Invocation(NextInvocation),
    /// Prepare for a checkpoint of this process (faas-local with snapshots; see `checkpoint`).
    Checkpoint,
}

/// One invocation handed out by `/next`.
#[derive(Debug)]
pub struct NextInvocation {
    pub request_id: String,
    pub payload: Vec<u8>,
    /// When the platform stops the invocation (`Lambda-Runtime-Deadline-Ms`), milliseconds
    /// since the Unix epoch.
    pub deadline_unix_ms: Option<u64>,
    /// The X-Ray trace header (`Lambda-Runtime-Trace-Id`).
    pub trace_id: Option<String>,
}

/// The Runtime API of this instance.
pub struct RuntimeApi {
    agent: Agent,
    address: ApiAddress,
    base: String,
}

impl RuntimeApi {
    /// The API named by `AWS_LAMBDA_RUNTIME_API` (`host:port` or `host:port/path`).
    pub fn from_env() -> Result<RuntimeApi, RuntimeApiError> {
        match std::env::var("AWS_LAMBDA_RUNTIME_API") {
            Ok(value) if !value.trim().is_empty() => RuntimeApi::at(&value),
            _ => Err(RuntimeApiError::NotConfigured),
        }
    }

    /// The API at `address`, written as `AWS_LAMBDA_RUNTIME_API` is (a restored copy of a
    /// checkpoint gets its own from the platform).
    pub fn at(address: &str) -> Result<RuntimeApi, RuntimeApiError> {
        Ok(RuntimeApi::new(ApiAddress::parse(address.trim())?))
    }

    fn new(address: ApiAddress) -> RuntimeApi {
        let config = Agent::config_builder()
            // `/next` blocks until the platform has work, however long that is.
            .timeout_global(None)
            .timeout_recv_response(None)
            .timeout_recv_body(None)
            .timeout_connect(Some(Duration::from_secs(5)))
            .http_status_as_error(false)
            .build();
        RuntimeApi {
            agent: Agent::new_with_config(config),
            base: address.base_url(false),
            address,
        }
    }

    /// The URL of `route` (under `/2018-06-01/runtime`) to request, and the same with the key
    /// masked, to show.
    fn url(&self, route: &str) -> (String, String) {
        (
            format!("{}{route}", self.base),
            format!("{}{route}", self.address.base_url(true)),
        )
    }

    fn http_error(&self, what: &'static str, shown: &str, source: ureq::Error) -> RuntimeApiError {
        RuntimeApiError::Http {
            what,
            url: shown.to_owned(),
            detail: self.address.mask(&source.to_string()),
        }
    }

    /// Blocks until the platform hands out the next invocation, or asks for a checkpoint.
    pub fn next(&self) -> Result<Next, RuntimeApiError> {
        const WHAT: &str = "waiting for the next invocation";
        let (url, shown) = self.url("/invocation/next");
        let mut response = self
            .agent
            .get(&url)
            .call()
            .map_err(|source| self.http_error(WHAT, &shown, source))?;
        check_status(WHAT, &shown, response.status().as_u16())?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        match header(CHECKPOINT_HEADER) {
            Some(value) if value.eq_ignore_ascii_case(CHECKPOINT_PREPARE) => {
                return Ok(Next::Checkpoint)
            }
            Some(value) => {
                return Err(RuntimeApiError::UnknownCheckpointStep { url: shown, value })
            }
            None => {}
        }
        let request_id = header(REQUEST_ID_HEADER)
            .ok_or_else(|| RuntimeApiError::NoRequestId { url: shown.clone() })?;
        let deadline_unix_ms = header(DEADLINE_HEADER).and_then(|v| v.parse().ok());
        let trace_id = header(TRACE_ID_HEADER);
        let payload = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()
            .map_err(|source| self.http_error("reading the invocation payload", &shown, source))?;
        Ok(Next::Invocation(NextInvocation {
            request_id,
            payload,
            deadline_unix_ms,
            trace_id,
        }))
    }

    /// Posts the result of invocation `request_id`.
    pub fn respond(&self, request_id: &str, body: &[u8]) -> Result<(), RuntimeApiError> {
        let route = format!("/invocation/{request_id}/response");
        self.post("posting the invocation response", &route, body)
    }

    /// Reports that invocation `request_id` could not be handled at all.
    pub fn invocation_error(
        &self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), RuntimeApiError> {
        let route = format!("/invocation/{request_id}/error");
        self.post_error("posting the invocation error", &route, error_type, message)
    }

    /// Reports that the runtime could not start; the platform then discards this instance.
    pub fn init_error(&self, error_type: &str, message: &str) -> Result<(), RuntimeApiError> {
        self.post_error("posting the init error", "/init/error", error_type, message)
    }

    fn post(&self, what: &'static str, route: &str, body: &[u8]) -> Result<(), RuntimeApiError> {
        let (url, shown) = self.url(route);
        let response = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(body)
            .map_err(|source| self.http_error(what, &shown, source))?;
        check_status(what, &shown, response.status().as_u16())
    }

    /// Posts Lambda's standard error body, its type also in the error-type header.
    fn post_error(
        &self,
        what: &'static str,
        route: &str,
        error_type: &str,
        message: &str,
    ) -> Result<(), RuntimeApiError> {
        let (url, shown) = self.url(route);
        let response = self
            .agent
            .post(&url)
            .content_type(ERROR_CONTENT_TYPE)
            .header(ERROR_TYPE_HEADER, error_type)
            .send(&error_body(error_type, message)[..])
            .map_err(|source| self.http_error(what, &shown, source))?;
        check_status(what, &shown, response.status().as_u16())
    }
}

/// Where the Runtime API is: `host:port`, and the path before `/2018-06-01` if the platform
/// gave one (faas-local's per-instance key; a secret).
#[derive(Debug, PartialEq, Eq)]
struct ApiAddress {
    host_port: String,
    path: Option<String>,
}

impl ApiAddress {
    /// Parses `host:port` or `host:port/path`. Errors never quote the value: its path is secret.
    fn parse(value: &str) -> Result<ApiAddress, RuntimeApiError> {
        let bad = |reason| Err(RuntimeApiError::BadAddress(reason));
        let value = value.strip_prefix("http://").unwrap_or(value);
        if value.contains("://") {
            return bad("its scheme may only be http:// (or none)");
        }
        let (host_port, path) = match value.split_once('/') {
            Some((host_port, path)) => (host_port, Some(path.trim_end_matches('/'))),
            None => (value, None),
        };
        let Some((host, port)) = host_port.rsplit_once(':') else {
            return bad("the host needs a port, as in 127.0.0.1:9001");
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return bad("the host needs a name and a port number, as in 127.0.0.1:9001");
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        {
            return bad("the host may hold only letters, digits, '-', '.', and brackets around an IPv6 address");
        }
        let path = path.filter(|p| !p.is_empty());
        if let Some(path) = path {
            let url_safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~/".contains(&b);
            if !path.bytes().all(url_safe) || path.split('/').any(str::is_empty) {
                return bad(
                    "its path may hold only segments of letters, digits, '-', '.', '_' and '~'",
                );
            }
        }
        Ok(ApiAddress {
            host_port: host_port.to_owned(),
            path: path.map(str::to_owned),
        })
    }

    /// `http://host:port[/path]/2018-06-01/runtime`; `masked` shows the path as `<key>`.
    fn base_url(&self, masked: bool) -> String {
        let path = match (&self.path, masked) {
            (None, _) => String::new(),
            (Some(_), true) => "/<key>".to_owned(),
            (Some(path), false) => format!("/{path}"),
        };
        format!("http://{}{path}/{API_VERSION}/runtime", self.host_port)
    }

    /// `text` with the secret path masked.
    fn mask(&self, text: &str) -> String {
        match &self.path {
            Some(path) => text.replace(path.as_str(), "<key>"),
            None => text.to_owned(),
        }
    }
}

fn check_status(what: &'static str, url: &str, status: u16) -> Result<(), RuntimeApiError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(RuntimeApiError::Status {
            what,
            url: url.to_owned(),
            status,
        })
    }
}

fn error_body(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": [],
    }))
    .expect("JSON of two strings always encodes")
}

#[cfg(test)]
mod tests {
    use std::{
        io::{BufRead, BufReader, Write},
        net::TcpListener,
    };

    use super::*;

    const KEY: &str = "3f9a0c5e7b1d2468ace013579bdf2468ace013579bdf2468ace013579bdf2468";

    #[test]
    fn plain_host_port_as_aws_and_the_emulator_give_it() {
        let address = ApiAddress::parse("127.0.0.1:9001").unwrap();
        assert_eq!(address.path, None);
        assert_eq!(
            address.base_url(false),
            "http://127.0.0.1:9001/2018-06-01/runtime"
        );
        assert_eq!(address.base_url(true), address.base_url(false));
        let ipv6 = ApiAddress::parse("[::1]:9001/").unwrap();
        assert_eq!(ipv6.base_url(false), "http://[::1]:9001/2018-06-01/runtime");
        let with_scheme = ApiAddress::parse("http://127.0.0.1:9001").unwrap();
        assert_eq!(with_scheme, address);
        let keyed = ApiAddress::parse(&format!("http://127.0.0.1:41234/{KEY}")).unwrap();
        assert_eq!(keyed.path.as_deref(), Some(KEY));
    }

    #[test]
    fn host_port_with_a_key_path_as_faas_local_gives_it() {
        let address = ApiAddress::parse(&format!("127.0.0.1:41234/{KEY}")).unwrap();
        assert_eq!(
            address.base_url(false),
            format!("http://127.0.0.1:41234/{KEY}/2018-06-01/runtime")
        );
        assert_eq!(
            address.base_url(true),
            "http://127.0.0.1:41234/<key>/2018-06-01/runtime"
        );
        assert_eq!(
            address.mask(&format!("bad uri: http://127.0.0.1:41234/{KEY}/x")),
            "bad uri: http://127.0.0.1:41234/<key>/x"
        );
    }

    #[test]
    fn malformed_addresses_are_refused_without_quoting_their_path() {
        for value in [
            "https://127.0.0.1:9001/s3cret",
            "http://http://127.0.0.1:9001/s3cret",
            "localhost/s3cret",
            ":9001/s3cret",
            "127.0.0.1:port/s3cret",
            "127.0.0.1:99999/s3cret",
            "127.0.0.1:9001/s3cret a",
            "127.0.0.1:9001/s3cret?b",
            "127.0.0.1:9001//s3cret",
            "host name:9001/s3cret",
        ] {
            let error = ApiAddress::parse(value).expect_err(value).to_string();
            assert!(
                error.starts_with("AWS_LAMBDA_RUNTIME_API is not"),
                "{error}"
            );
            assert!(!error.contains("s3cret"), "{error} quotes {value}");
        }
    }

    #[test]
    fn errors_show_the_url_with_the_key_masked() {
        // Nothing listens on port 9 of loopback: the connection is refused.
        let api = RuntimeApi::new(ApiAddress::parse(&format!("127.0.0.1:9/{KEY}")).unwrap());
        let error = api.init_error("T", "m").unwrap_err().to_string();
        assert!(
            error.contains("http://127.0.0.1:9/<key>/2018-06-01/runtime/init/error"),
            "{error}"
        );
        assert!(!error.contains(KEY), "{error}");
    }

    /// Answers one request on a loopback port with `headers` (one `Name: value` a line) and
    /// `body`; returns the address to give [`RuntimeApi::at`] and the request line it got.
    fn answer_once(
        headers: &'static str,
        body: &'static str,
    ) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("{}/{KEY}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut request = BufReader::new(&stream);
            let mut request_line = String::new();
            request.read_line(&mut request_line).unwrap();
            let mut line = String::new();
            while request.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let mut head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len());
            for header in headers.lines() {
                head += &format!("{header}\r\n");
            }
            (&stream)
                .write_all(format!("{head}\r\n{body}").as_bytes())
                .unwrap();
            request_line
        });
        (address, server)
    }

    #[test]
    fn next_tells_a_checkpoint_request_from_an_invocation() {
        let (address, server) = answer_once("Semifaas-Checkpoint: prepare", "");
        let next = RuntimeApi::at(&address).unwrap().next().unwrap();
        assert!(matches!(next, Next::Checkpoint), "{next:?}");
        assert_eq!(
            server.join().unwrap(),
            format!("GET /{KEY}/2018-06-01/runtime/invocation/next HTTP/1.1\r\n")
        );

        let (address, server) = answer_once(
            "Lambda-Runtime-Aws-Request-Id: r-1\nLambda-Runtime-Deadline-Ms: 1700000000000",
            "{}",
        );
        match RuntimeApi::at(&address).unwrap().next().unwrap() {
            Next::Invocation(invocation) => {
                assert_eq!(invocation.request_id, "r-1");
                assert_eq!(invocation.payload, b"{}");
                assert_eq!(invocation.deadline_unix_ms, Some(1_700_000_000_000));
            }
            other => panic!("{other:?}"),
        }
        server.join().unwrap();
    }

    #[test]
    fn an_unknown_checkpoint_step_is_an_error_not_an_invocation() {
        let (address, server) = answer_once(
            "Semifaas-Checkpoint: freeze\nLambda-Runtime-Aws-Request-Id: checkpoint",
            "",
        );
        let error = RuntimeApi::at(&address).unwrap().next().unwrap_err();
        server.join().unwrap();
        let error = error.to_string();
        assert!(error.contains("checkpoint step \"freeze\""), "{error}");
        assert!(!error.contains(KEY), "{error}");
    }
}
