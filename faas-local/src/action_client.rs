//! The platform's side of OpenWhisk's action protocol, for one instance: wait until the action
//! listens, `POST /init` once, then `POST /run` each invocation from the instance's queue.
//!
//! It reports to the waiting invoke exactly as the Lambda Runtime API does (`Progress`), so
//! invocations, the pool, limits and stats work the same for both protocols. Deadlines are
//! enforced by the invoke, which kills the instance; the supervisor then aborts this task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::http::StatusCode;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tracing::warn;

use crate::function::FunctionContext;
use crate::ids;
use crate::instance::Readiness;
use crate::openwhisk_names::NAMESPACE;
use crate::payload::{read_limited, PayloadError};
use crate::runtime_api::{Invocation, Progress, RuntimeOutcome};

/// How often to try the action's port while it starts: a refused loopback connect costs
/// microseconds, and every millisecond between the port opening and `/init` is cold start.
const PORT_POLL: Duration = Duration::from_millis(2);
/// How much of an unexpected answer goes into an error message.
const QUOTED_ANSWER: usize = 512;

pub(crate) struct ActionClient {
    function: Arc<FunctionContext>,
    instance_id: String,
    addr: SocketAddr,
    queue: mpsc::Receiver<Invocation>,
    readiness: Readiness,
    kill: Arc<Notify>,
}

impl ActionClient {
    pub(crate) fn new(
        function: Arc<FunctionContext>,
        instance_id: String,
        addr: SocketAddr,
        queue: mpsc::Receiver<Invocation>,
        readiness: Readiness,
        kill: Arc<Notify>,
    ) -> Self {
        Self {
            function,
            instance_id,
            addr,
            queue,
            readiness,
            kill,
        }
    }

    pub(crate) async fn run(mut self) {
        // Loopback only: a proxy from the environment must not see the invocations.
        let http = match reqwest::Client::builder().no_proxy().build() {
            Ok(http) => http,
            Err(e) => return self.fail_init(format!("cannot build an HTTP client: {e}")),
        };
        if let Err(message) = self.initialise(&http).await {
            return self.fail_init(message);
        }
        self.readiness.mark_ready();
        while let Some(invocation) = self.queue.recv().await {
            if !self.run_one(&http, invocation).await {
                // Dropped unanswered: the invoke waits for the exit this causes and reports it.
                self.kill.notify_one();
                return;
            }
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The action's fully qualified name, as OpenWhisk passes it (`/namespace/[package/]name`).
    fn action_name(&self) -> String {
        format!("/{NAMESPACE}/{}", self.function.name())
    }

    /// Waits for the port, then posts `/init`, all within the init timeout.
    async fn initialise(&self, http: &reqwest::Client) -> Result<(), String> {
        let init_timeout = self.function.init_timeout;
        let deadline = Instant::now() + init_timeout;
        while TcpStream::connect(self.addr).await.is_err() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "the action did not listen on {} within {} ms of starting",
                    self.addr,
                    init_timeout.as_millis()
                ));
            }
            tokio::time::sleep(PORT_POLL).await;
        }
        let body = json!({ "value": {
            "name": self.action_name(),
            "main": "main",
            "code": "",
            "binary": false,
            "env": {},
        }});
        let answer = http
            .post(self.url("/init"))
            .header("content-type", "application/json")
            .body(body.to_string())
            .timeout(deadline.saturating_duration_since(Instant::now()))
            .send()
            .await
            .map_err(|e| format!("POST /init failed: {e}"))?;
        let status = answer.status();
        if status == StatusCode::OK {
            return Ok(());
        }
        let text = answer.text().await.unwrap_or_default();
        Err(format!(
            "/init answered {status}: {}",
            quoted(text.as_bytes())
        ))
    }

    /// The instance cannot serve: fail the invocation waiting for it, if any, and stop it.
    fn fail_init(mut self, message: String) {
        warn!(function = self.function.name(), instance = %self.instance_id, error = %message, "action failed to initialise");
        if let Ok(invocation) = self.queue.try_recv() {
            invocation.finish(RuntimeOutcome::InitError(json!({
                "errorMessage": message,
                "errorType": "Action.InitFailed",
            })));
        }
        self.kill.notify_one();
    }

    /// Runs one invocation; false if the action could not be reached (the instance is then
    /// unusable).
    async fn run_one(&self, http: &reqwest::Client, invocation: Invocation) -> bool {
        let timeout = self.function.config.timeout;
        let deadline_ms = ids::epoch_millis(SystemTime::now() + timeout);
        let _ = invocation.progress.send(Progress::Started {
            deadline: Instant::now() + timeout,
        });
        let body = run_body(
            &invocation.payload,
            &json!({
                "namespace": NAMESPACE,
                "action_name": self.action_name(),
                "activation_id": invocation.request_id,
                "deadline": deadline_ms.to_string(),
                "transaction_id": ids::activation_id(),
            }),
        );
        let answer = match http
            .post(self.url("/run"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
        {
            Ok(answer) => answer,
            Err(e) => {
                warn!(function = self.function.name(), instance = %self.instance_id, error = %e, "cannot reach the action");
                return false;
            }
        };
        let status = answer.status();
        let outcome = match read_limited(reqwest::Body::from(answer)).await {
            Ok(result) => run_outcome(status, result),
            Err(PayloadError::TooLarge(size)) => RuntimeOutcome::ResponseTooLarge(size),
            Err(e @ PayloadError::Read(_)) => {
                warn!(function = self.function.name(), instance = %self.instance_id, error = %e, "cannot read the action's answer");
                return false;
            }
        };
        invocation.finish(outcome);
        true
    }
}

/// `{"value":<params>, ..fields}`. The params are spliced in as they came: the API has checked
/// they are one JSON object, and parsing them again would only cost time.
fn run_body(params: &[u8], fields: &Value) -> Vec<u8> {
    let fields = fields.to_string();
    let mut body = Vec::with_capacity(params.len() + fields.len() + 16);
    body.extend_from_slice(b"{\"value\":");
    body.extend_from_slice(params);
    body.push(b',');
    // `fields` is an object: drop its opening brace, keep the closing one.
    body.extend_from_slice(&fields.as_bytes()[1..]);
    body
}

/// An action's answer to `/run`: a JSON object is its result, one with an `error` field an
/// application error (as OpenWhisk's invoker decides); anything else is the action failing.
fn run_outcome(status: StatusCode, answer: Bytes) -> RuntimeOutcome {
    let parsed = serde_json::from_slice::<Value>(&answer);
    match (status, parsed) {
        (StatusCode::OK, Ok(Value::Object(result))) if result.contains_key("error") => {
            RuntimeOutcome::Error(Value::Object(result))
        }
        (StatusCode::OK, Ok(Value::Object(_))) => RuntimeOutcome::Response(answer),
        (StatusCode::OK, _) => RuntimeOutcome::Error(json!({
            "errorMessage": format!("The action did not produce a valid JSON response: {}", quoted(&answer)),
            "errorType": "Action.InvalidResponse",
        })),
        (status, parsed) => {
            let detail = match parsed {
                Ok(Value::Object(error)) if error.contains_key("error") => {
                    error["error"].to_string()
                }
                _ => quoted(&answer),
            };
            RuntimeOutcome::Error(json!({
                "errorMessage": format!("The action answered /run with {status}: {detail}"),
                "errorType": "Action.RunFailed",
            }))
        }
    }
}

fn quoted(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(&answer[..answer.len().min(QUOTED_ANSWER)]);
    let more = if answer.len() > QUOTED_ANSWER {
        "…"
    } else {
        ""
    };
    format!("{text}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_body_wraps_the_params() {
        let body = run_body(br#"{"a":[1]}"#, &json!({ "activation_id": "x" }));
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            json!({ "value": { "a": [1] }, "activation_id": "x" })
        );
    }

    #[test]
    fn answers_map_to_results_and_errors() {
        let ok =
            |body: &'static str| run_outcome(StatusCode::OK, Bytes::from_static(body.as_bytes()));
        assert!(matches!(ok(r#"{"x":1}"#), RuntimeOutcome::Response(_)));
        match ok(r#"{"error":"bad"}"#) {
            RuntimeOutcome::Error(e) => assert_eq!(e, json!({ "error": "bad" })),
            _ => panic!("an error result is an application error"),
        }
        for body in ["[1]", "not json", ""] {
            match ok(body) {
                RuntimeOutcome::Error(e) => assert_eq!(e["errorType"], "Action.InvalidResponse"),
                _ => panic!("{body:?} is no result"),
            }
        }
        let busy = run_outcome(
            StatusCode::SERVICE_UNAVAILABLE,
            Bytes::from_static(br#"{"error":"busy"}"#),
        );
        match busy {
            RuntimeOutcome::Error(e) => {
                assert!(e["errorMessage"].as_str().unwrap().contains("503"), "{e}")
            }
            _ => panic!("a failed /run is an error"),
        }
    }
}
