//! The one client of the agent's admin endpoint, for the `semifaas` admin commands, the
//! benchmarks and the tests. Every request carries the admin token: the one given, or the one
//! the agent on this machine wrote to its token file for that address.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    path::PathBuf,
};

use anyhow::{bail, Context, Result};
use reqwest::{Method, StatusCode, Url};
use semifaas_admin_token::{read_token_file, token_file_locations};
use serde_json::Value;

/// Where the token of a request came from, for the error when the agent refuses it.
enum Token {
    Given(String),
    /// Read from this token file.
    Found(String, PathBuf),
    /// None of these files could be read.
    Missing(Vec<PathBuf>),
}

/// The agent's admin endpoint.
#[derive(Clone)]
pub struct Admin {
    client: reqwest::Client,
    /// `http://host:port`, no trailing slash.
    base: String,
    given_token: Option<String>,
}

impl Admin {
    /// The admin endpoint on 127.0.0.1:`port`, with the token its agent wrote.
    pub fn new(port: u16) -> Admin {
        Admin::at(&format!("http://127.0.0.1:{port}"), None).expect("a loopback URL is valid")
    }

    /// The admin endpoint at `base` (`http://host:port`); without `token`, the token file of
    /// an agent on this machine at that address is read before each request.
    pub fn at(base: &str, token: Option<String>) -> Result<Admin> {
        Url::parse(base).with_context(|| format!("{base:?} is no URL"))?;
        Ok(Admin {
            client: reqwest::Client::builder().no_proxy().build()?,
            base: base.trim_end_matches('/').to_owned(),
            given_token: token,
        })
    }

    /// The token files an agent serving at this URL writes, most likely first: for its host
    /// (`localhost` is 127.0.0.1 or ::1) and for an agent bound to every address.
    fn token_files(&self) -> Vec<PathBuf> {
        let Ok(url) = Url::parse(&self.base) else {
            return vec![];
        };
        let port = url.port_or_known_default().unwrap_or(0);
        let host = url.host_str().unwrap_or_default();
        let hosts: Vec<IpAddr> = match host.trim_matches(['[', ']']).parse::<IpAddr>() {
            Ok(ip @ IpAddr::V4(_)) => vec![ip, Ipv4Addr::UNSPECIFIED.into()],
            Ok(ip @ IpAddr::V6(_)) => vec![ip, Ipv6Addr::UNSPECIFIED.into()],
            Err(_) if host.eq_ignore_ascii_case("localhost") => vec![
                Ipv4Addr::LOCALHOST.into(),
                Ipv6Addr::LOCALHOST.into(),
                Ipv4Addr::UNSPECIFIED.into(),
                Ipv6Addr::UNSPECIFIED.into(),
            ],
            Err(_) => vec![],
        };
        hosts
            .into_iter()
            .flat_map(|ip| token_file_locations(SocketAddr::new(ip, port)))
            .collect()
    }

    fn token(&self) -> Token {
        if let Some(token) = &self.given_token {
            return Token::Given(token.clone());
        }
        let files = self.token_files();
        for file in &files {
            if let Ok(token) = read_token_file(file) {
                return Token::Found(token, file.clone());
            }
        }
        Token::Missing(files)
    }

    /// Sends one request with the token; returns the status and the response text.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, String)> {
        let url = format!("{}{path}", self.base);
        let token = self.token();
        let mut request = self.client.request(method.clone(), &url);
        if let Token::Given(t) | Token::Found(t, _) = &token {
            request = request.bearer_auth(t);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.with_context(|| {
            format!("{method} {url}: is the service running with the agent attached?")
        })?;
        let status = response.status();
        let text = response.text().await?;
        if status == StatusCode::UNAUTHORIZED {
            bail!("{method} {url}: HTTP 401: {}", refused(&token));
        }
        Ok((status, text))
    }

    /// Sends one request; an answer other than 2xx becomes an error with the endpoint's message.
    pub async fn call(&self, method: Method, path: &str, body: Option<String>) -> Result<String> {
        let (status, text) = self.send(method.clone(), path, body).await?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| text.trim().to_owned());
            bail!("{method} {}{path}: HTTP {status}: {message}", self.base);
        }
        Ok(text)
    }

    pub async fn get_json(&self, path: &str) -> Result<Value> {
        let text = self.call(Method::GET, path, None).await?;
        serde_json::from_str(&text).with_context(|| format!("GET {path}: not JSON: {text}"))
    }

    pub async fn stats(&self) -> Result<Value> {
        self.get_json("/stats").await
    }

    /// `GET /controller`: the burst controller's state and last decision.
    pub async fn controller(&self) -> Result<Value> {
        self.get_json("/controller").await
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> Result<String> {
        self.call(Method::GET, "/metrics", None).await
    }

    pub async fn ratio(&self) -> Result<f64> {
        let value = self.get_json("/ratio").await?;
        value["ratio"]
            .as_f64()
            .context("GET /ratio: no number \"ratio\"")
    }

    /// `PUT /ratio` with a raw body; returns the status and the response text.
    pub async fn put_ratio_raw(&self, body: &str) -> Result<(u16, String)> {
        let (status, text) = self
            .send(Method::PUT, "/ratio", Some(body.to_owned()))
            .await?;
        Ok((status.as_u16(), text))
    }

    pub async fn set_ratio(&self, ratio: f64) -> Result<()> {
        self.call(Method::PUT, "/ratio", Some(ratio.to_string()))
            .await
            .map(drop)
    }

    /// `POST /prewarm?instances=N`: the agent's prewarm report.
    pub async fn prewarm(&self, instances: usize) -> Result<Value> {
        let path = format!("/prewarm?instances={instances}");
        let text = self.call(Method::POST, &path, Some(String::new())).await?;
        serde_json::from_str(&text).with_context(|| format!("POST {path}: not JSON: {text}"))
    }
}

/// Why the agent answered 401, and what to do about it.
fn refused(token: &Token) -> String {
    const HOW: &str = "pass --token TOKEN or set SEMIFAAS_ADMIN_TOKEN";
    match token {
        Token::Given(_) => "the agent refused the admin token given (--token or \
                             SEMIFAAS_ADMIN_TOKEN); use the token in the agent's token file \
                             (semifaas.admin.token-file, logged at its start)"
            .to_owned(),
        Token::Found(_, file) => format!(
            "the agent refused the admin token in {} (left by an earlier agent?); {HOW}",
            file.display()
        ),
        Token::Missing(files) if files.is_empty() => format!(
            "no admin token: the agent's token file is found by itself only for an IP address \
             or localhost; {HOW}"
        ),
        Token::Missing(files) => format!(
            "no admin token: none of these token files exists: {} (an agent on this machine, \
             run by this user, writes its token there); {HOW}",
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
