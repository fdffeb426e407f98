//! Putting a package on Apache OpenWhisk: the function runs as a blackbox (Docker) action whose
//! image holds the same self-contained package as on Lambda. `deploy` cannot build images, so it
//! writes the Docker build context and prints the `docker build` and `docker push` commands,
//! then creates or updates the action through the REST API and runs a smoke invocation.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reqwest::{Method, StatusCode};
use semifaas_closure::{SmokeReply, SMOKE_PAYLOAD};
use semifaas_openwhisk::{error_message, ActionName, Target};
use serde_json::{json, Value};

/// The image's build recipe; `deploy/openwhisk/Dockerfile` in the repository is its source.
const DOCKERFILE: &str = include_str!("../../../deploy/openwhisk/Dockerfile");
/// The package's name inside the build context, as the Dockerfile expects it.
const CONTEXT_ZIP: &str = "semifaas-function.zip";
/// How long the API calls may take; the smoke invocation includes a cold start (and, on a real
/// platform, the image pull).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
const SMOKE_TIMEOUT: Duration = Duration::from_secs(300);
const ERROR_TEXT_MAX: usize = 300;

/// The action as `deploy` leaves it.
pub struct Action {
    pub name: ActionName,
    pub image: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// Activations one instance runs at once: 1, as `bootstrap` runs one at a time.
    pub concurrency: u32,
    pub env: Vec<(String, String)>,
}

impl Action {
    /// The PUT body: a blackbox action on the image, with its limits; the environment travels
    /// as parameters marked `init`, which OpenWhisk hands to `/init` as environment variables.
    fn body(&self) -> Value {
        let parameters: Vec<Value> = self
            .env
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value, "init": true}))
            .collect();
        json!({
            "exec": {"kind": "blackbox", "image": self.image},
            "limits": {
                "timeout": u64::from(self.timeout_s) * 1000,
                "memory": self.memory_mb,
                "concurrency": self.concurrency,
            },
            "parameters": parameters,
            "annotations": [{"key": "exec", "value": "blackbox"}],
        })
    }

    /// The calls `deploy` makes, for `--dry-run`.
    pub fn plan(&self, target: &Target) -> Vec<String> {
        let mut calls = Vec::new();
        if let Some(package) = self.name.package() {
            calls.push(format!(
                "PUT {}   (create the package if it does not exist)",
                target.package_url(package)
            ));
        }
        calls.push(format!(
            "PUT {}?overwrite=true {}",
            target.action_url(&self.name),
            self.body()
        ));
        calls.push(format!(
            "POST {}?blocking=true&result=true {SMOKE_PAYLOAD}   (smoke: boots the JVM, reports init time)",
            target.action_url(&self.name)
        ));
        calls
    }
}

/// Writes the Docker build context into `dir`: the Dockerfile and the package. Returns the
/// commands that build and push the image.
pub fn write_build_context(dir: &Path, zip: &Path, image: &str) -> Result<Vec<String>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("Dockerfile"), DOCKERFILE)
        .with_context(|| format!("writing {}", dir.join("Dockerfile").display()))?;
    std::fs::copy(zip, dir.join(CONTEXT_ZIP))
        .with_context(|| format!("copying {} into {}", zip.display(), dir.display()))?;
    Ok(vec![
        format!("docker build -t {image} {}", dir.display()),
        format!("docker push {image}"),
    ])
}

/// The build context's default place: `semifaas-openwhisk-image/` beside the zip.
pub fn default_context_dir(zip: &Path) -> PathBuf {
    zip.parent()
        .unwrap_or(Path::new("."))
        .join("semifaas-openwhisk-image")
}

/// Creates the package if needed, then creates or replaces the action.
pub async fn put_action(
    target: &Target,
    action: &Action,
    step: &mut dyn FnMut(&str),
) -> Result<()> {
    let client = target.http_client(CALL_TIMEOUT)?;
    if let Some(package) = action.name.package() {
        let url = target.package_url(package);
        let response = send(&client, Method::PUT, url, json!({}), CALL_TIMEOUT).await?;
        match response.0 {
            // 409: it exists already, which is what we want.
            status if status.is_success() || status == StatusCode::CONFLICT => {}
            status => bail!(
                "creating package {package} failed (HTTP {status}): {}",
                response.1
            ),
        }
    }
    let mut url = target.action_url(&action.name);
    url.set_query(Some("overwrite=true"));
    let (status, text) = send(&client, Method::PUT, url, action.body(), CALL_TIMEOUT).await?;
    if !status.is_success() {
        bail!(
            "creating action {} failed (HTTP {}): {text}{}",
            action.name,
            status.as_u16(),
            hint(status)
        );
    }
    step(&format!(
        "action {}/{} on {}: blackbox image {}, {} MB, {} s, concurrency {}",
        target.namespace,
        action.name,
        target.base,
        action.image,
        action.memory_mb,
        action.timeout_s,
        action.concurrency
    ));
    Ok(())
}

/// Invokes the action with the smoke payload; returns the function's report and the round trip.
pub async fn smoke(target: &Target, action: &ActionName) -> Result<(SmokeReply, Duration)> {
    let client = target.http_client(CALL_TIMEOUT)?;
    let mut url = target.action_url(action);
    url.set_query(Some("blocking=true&result=true"));
    let started = Instant::now();
    let payload: Value = serde_json::from_str(SMOKE_PAYLOAD).expect("the smoke payload is JSON");
    let (status, text) = send(&client, Method::POST, url, payload, SMOKE_TIMEOUT).await?;
    let round_trip = started.elapsed();
    if status != StatusCode::OK {
        bail!(
            "the smoke invocation of {action} failed (HTTP {}): {text}{}",
            status.as_u16(),
            hint(status)
        );
    }
    let reply = serde_json::from_str(&text).with_context(|| {
        format!("the smoke invocation of {action} answered something other than a semifaas function would: {text}")
    })?;
    Ok((reply, round_trip))
}

/// Sends one JSON request; returns the status and the body's text (an error body's message).
async fn send(
    client: &reqwest::Client,
    method: Method,
    url: reqwest::Url,
    body: Value,
    timeout: Duration,
) -> Result<(StatusCode, String)> {
    let what = format!("{method} {url}");
    let response = client
        .request(method, url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{what} failed: {}", super::lambda::error_chain(&e)))?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| {
        anyhow::anyhow!(
            "{what}: reading the answer: {}",
            super::lambda::error_chain(&e)
        )
    })?;
    let text = if status.is_success() {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        error_message(&bytes, ERROR_TEXT_MAX)
    };
    Ok((status, text))
}

/// What to do about an error status.
fn hint(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "; check --auth (or AUTH in ~/.wskprops): `wsk property get --auth` prints the namespace's uuid:key",
        403 => "; the credentials may not write to this namespace: use the namespace's own credentials",
        404 => "; check --apihost and --namespace (and that the image was pushed, for the smoke invocation)",
        502 => "; if the image cannot be pulled, build and push it with the commands above first",
        _ => "",
    }
}
