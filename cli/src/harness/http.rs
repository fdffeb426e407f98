use anyhow::{bail, Context, Result};
use reqwest::Method;

/// One HTTP request to a service, described so it can be replayed exactly.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path and query, e.g. `/images/resize?width=64&height=64`.
    pub path: String,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

impl Request {
    pub fn get(path: &str) -> Request {
        Request {
            method: Method::GET,
            path: path.into(),
            body: vec![],
            content_type: None,
        }
    }

    pub fn post(path: &str, content_type: &str, body: Vec<u8>) -> Request {
        Request {
            method: Method::POST,
            path: path.into(),
            body,
            content_type: Some(content_type.into()),
        }
    }
}

/// The response header that says where the handler ran, when the service is started with
/// `semifaas.placement-header` set to it.
pub const PLACEMENT_HEADER: &str = "X-Semifaas-Ran";

/// What came back: status, content type and body are what the equivalence tests compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// [`PLACEMENT_HEADER`]: `offloaded`, `local`, `reexecuted`, `diverged` or `abandoned`;
    /// `None` when not sent.
    pub placement: Option<String>,
    /// The `Location` header as sent (a redirect's target when redirects are not followed).
    pub location: Option<String>,
}

/// A keep-alive HTTP client bound to one loopback port.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    base: String,
}

impl HttpClient {
    pub fn new(port: u16) -> HttpClient {
        HttpClient {
            client: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("building an HTTP client"),
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Like `new`, sending `cookie` (`name=value`) with every request: a logged-in session's
    /// (see [`super::Browser::session_cookie`]). Like a [`super::Browser`] it never follows a
    /// redirect: a form's redirect is its answer (and [`Exchange::location`] its target).
    pub fn with_cookie(port: u16, cookie: &str) -> Result<HttpClient> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::COOKIE, cookie.parse()?);
        Ok(HttpClient {
            client: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()?,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    pub async fn send(&self, request: &Request) -> Result<Exchange> {
        let mut builder = self.client.request(
            request.method.clone(),
            format!("{}{}", self.base, request.path),
        );
        if let Some(ct) = &request.content_type {
            builder = builder.header(reqwest::header::CONTENT_TYPE, ct);
        }
        let response = builder
            .body(request.body.clone())
            .send()
            .await
            .with_context(|| format!("{} {}{}", request.method, self.base, request.path))?;
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE.as_str());
        let placement = header(PLACEMENT_HEADER);
        let location = header(reqwest::header::LOCATION.as_str());
        let body = response.bytes().await?.to_vec();
        Ok(Exchange {
            status,
            content_type,
            body,
            placement,
            location,
        })
    }

    pub async fn get_ok(&self, path: &str) -> bool {
        matches!(self.send(&Request::get(path)).await, Ok(e) if e.status == 200)
    }

    pub async fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        let exchange = self.send(&Request::get(path)).await?;
        if exchange.status != 200 {
            bail!(
                "GET {path}: HTTP {}: {}",
                exchange.status,
                String::from_utf8_lossy(&exchange.body)
            );
        }
        serde_json::from_slice(&exchange.body).with_context(|| format!("GET {path}: not JSON"))
    }
}
