//! `semifaas ratio` and `semifaas stats`: thin wrappers over the agent's admin endpoint.

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct AdminTarget {
    /// The agent's admin endpoint.
    #[arg(long, env = "SEMIFAAS_ADMIN", default_value = "http://127.0.0.1:7071")]
    admin: String,
}

impl AdminTarget {
    /// The URL of `path` (starting with `/`) on the admin endpoint.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.admin.trim_end_matches('/'))
    }
}

#[derive(Debug, Args)]
pub struct RatioArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// The new ratio in [0,1]; without it, print the current one.
    value: Option<String>,
    /// Set the ratio of one handler (`Class#method`) instead of the global one.
    #[arg(long)]
    handler: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Print the raw JSON.
    #[arg(long)]
    json: bool,
}

pub async fn call(method: reqwest::Method, url: String, body: Option<String>) -> Result<String> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut request = client.request(method.clone(), &url);
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.with_context(|| {
        format!("{method} {url}: is the service running with the agent attached?")
    })?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{method} {url}: HTTP {status}: {}", text.trim());
    }
    Ok(text)
}

pub async fn ratio(args: RatioArgs) -> Result<()> {
    let mut url = format!("{}/ratio", args.target.admin.trim_end_matches('/'));
    if let Some(handler) = &args.handler {
        url.push_str(&format!("?handler={}", handler.replace('#', "%23")));
    }
    let text = match args.value {
        Some(value) => call(reqwest::Method::PUT, url, Some(value)).await?,
        None => call(reqwest::Method::GET, url, None).await?,
    };
    println!("{}", text.trim());
    Ok(())
}

pub async fn stats(args: StatsArgs) -> Result<()> {
    let text = call(
        reqwest::Method::GET,
        format!("{}/stats", args.target.admin.trim_end_matches('/')),
        None,
    )
    .await?;
    if args.json {
        println!("{}", text.trim());
        return Ok(());
    }
    let stats: Value =
        serde_json::from_str(&text).context("the admin endpoint returned no JSON")?;
    let row = |name: &str, v: &Value| {
        println!(
            "{name:<60} {:>11} {:>9} {:>7} {:>8}",
            v["invocations"], v["offloaded"], v["local"], v["failures"]
        )
    };
    println!("ratio {}", stats["ratio"]);
    println!(
        "{:<60} {:>11} {:>9} {:>7} {:>8}",
        "handler", "invocations", "offloaded", "local", "failures"
    );
    if let Some(handlers) = stats["handlers"].as_object() {
        for (key, h) in handlers {
            row(key, h);
        }
    }
    row("total", &stats["totals"]);
    Ok(())
}
