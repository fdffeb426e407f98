//! Activation records, as OpenWhisk shows them, and a bounded store of the recent ones for
//! `GET activations/{id}`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use parking_lot::Mutex;
use serde_json::{json, Value};

use crate::ids;
use crate::invocation::InvokeOutcome;
use crate::openwhisk_actions::{qualified, Limits};
use crate::openwhisk_names::NAMESPACE;

/// Records kept at most, and their results' bytes at most (results may be megabytes each);
/// past either, the oldest go.
const KEPT_RECORDS: usize = 10_000;
const KEPT_BYTES: usize = 64 * 1024 * 1024;

/// How an activation ended, in OpenWhisk's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Success,
    /// The action answered with an `error` result.
    ApplicationError,
    /// The action failed: crashed, timed out, did not start or answered nonsense.
    DeveloperError,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::ApplicationError => "application error",
            Status::DeveloperError => "action developer error",
        }
    }

    fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::ApplicationError => 1,
            Status::DeveloperError => 2,
        }
    }
}

/// One finished activation.
pub(crate) struct Activation {
    pub(crate) id: String,
    pub(crate) status: Status,
    /// The full record (`GET activations/{id}`, a blocking invoke without `result=true`).
    pub(crate) record: Value,
    /// Roughly what the record holds, for the store's bound.
    size: usize,
}

/// What an activation record says about the action that ran.
pub(crate) struct ActivationOf<'a> {
    /// `[package/]name`.
    pub(crate) path: &'a str,
    pub(crate) limits: Limits,
    /// Who invoked it (the credential's UUID).
    pub(crate) subject: &'a str,
}

impl Activation {
    pub(crate) fn new(
        id: String,
        action: ActivationOf<'_>,
        start: SystemTime,
        end: SystemTime,
        outcome: InvokeOutcome,
    ) -> Self {
        let (status, result, size, timed_out) = result_of(outcome, action.limits.timeout_ms);
        let (namespace, name) = qualified(action.path);
        let start_ms = ids::epoch_millis(start);
        let end_ms = ids::epoch_millis(end).max(start_ms);
        let record = json!({
            "namespace": NAMESPACE,
            "name": name,
            "version": "0.0.1",
            "subject": action.subject,
            "activationId": id,
            "start": start_ms,
            "end": end_ms,
            "duration": end_ms - start_ms,
            "statusCode": status.code(),
            "response": {
                "status": status.name(),
                "statusCode": status.code(),
                "success": status == Status::Success,
                "result": result,
                "size": size,
            },
            "logs": [],
            "annotations": [
                { "key": "path", "value": format!("{namespace}/{name}") },
                { "key": "kind", "value": "blackbox" },
                { "key": "limits", "value": action.limits.json() },
                { "key": "timeout", "value": timed_out },
            ],
            "publish": false,
        });
        Self {
            id,
            status,
            record,
            size,
        }
    }

    /// The result object alone (`result=true`).
    pub(crate) fn result(&self) -> &Value {
        &self.record["response"]["result"]
    }

    /// `{result, status, success}` (`GET activations/{id}/result`).
    pub(crate) fn response(&self) -> &Value {
        &self.record["response"]
    }
}

/// The result object, status, result size and whether the action timed out. Platform-side
/// failures (Lambda-shaped `errorMessage`) become OpenWhisk's `{"error": message}`.
fn result_of(outcome: InvokeOutcome, timeout_ms: u64) -> (Status, Value, usize, bool) {
    match outcome {
        InvokeOutcome::Response(bytes) => match serde_json::from_slice::<Value>(&bytes) {
            Ok(result) => (Status::Success, result, bytes.len(), false),
            Err(e) => developer_error(
                format!("The action did not produce a valid JSON response: {e}"),
                false,
            ),
        },
        InvokeOutcome::FunctionError(error) if error.get("error").is_some() => {
            let size = error.to_string().len();
            (Status::ApplicationError, error, size, false)
        }
        InvokeOutcome::FunctionError(error) if error["errorType"] == "Sandbox.Timedout" => {
            developer_error(
                format!("The action exceeded its time limits of {timeout_ms} milliseconds."),
                true,
            )
        }
        InvokeOutcome::FunctionError(error) => {
            let message = error["errorMessage"]
                .as_str()
                .unwrap_or("The action failed.");
            developer_error(message.to_owned(), false)
        }
    }
}

fn developer_error(message: String, timed_out: bool) -> (Status, Value, usize, bool) {
    let result = json!({ "error": message });
    let size = message.len();
    (Status::DeveloperError, result, size, timed_out)
}

/// The most recent activations, by id.
#[derive(Default)]
pub(crate) struct Activations {
    inner: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    by_id: HashMap<String, Arc<Activation>>,
    /// Oldest first.
    order: VecDeque<String>,
    bytes: usize,
}

impl Activations {
    pub(crate) fn insert(&self, activation: Arc<Activation>) {
        let mut kept = self.inner.lock();
        kept.bytes += activation.size;
        kept.order.push_back(activation.id.clone());
        if let Some(replaced) = kept.by_id.insert(activation.id.clone(), activation) {
            kept.bytes -= replaced.size;
        }
        while kept.order.len() > KEPT_RECORDS || (kept.bytes > KEPT_BYTES && kept.order.len() > 1) {
            let Some(oldest) = kept.order.pop_front() else {
                break;
            };
            if let Some(gone) = kept.by_id.remove(&oldest) {
                kept.bytes -= gone.size;
            }
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Activation>> {
        self.inner.lock().by_id.get(id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn limits() -> Limits {
        crate::openwhisk_actions::Action::deployed(&crate::config::FunctionConfig::new("a", "/x"))
            .limits
    }

    fn activation(outcome: InvokeOutcome) -> Activation {
        let now = SystemTime::now();
        let of = ActivationOf {
            path: "pkg/act",
            limits: limits(),
            subject: "me",
        };
        Activation::new(ids::activation_id(), of, now, now, outcome)
    }

    #[test]
    fn records_say_how_the_activation_ended() {
        let ok = activation(InvokeOutcome::Response(Bytes::from_static(br#"{"x":1}"#)));
        assert_eq!(ok.status, Status::Success);
        assert_eq!(*ok.result(), json!({ "x": 1 }));
        assert_eq!(ok.record["response"]["status"], "success");
        assert_eq!(ok.record["annotations"][0]["value"], "guest/pkg/act");
        assert_eq!(ok.record["name"], "act");

        let failed = activation(InvokeOutcome::FunctionError(json!({ "error": "no" })));
        assert_eq!(failed.status, Status::ApplicationError);
        assert_eq!(*failed.result(), json!({ "error": "no" }));

        let timed_out = activation(InvokeOutcome::FunctionError(
            json!({ "errorType": "Sandbox.Timedout", "errorMessage": "RequestId: x Error: Task timed out" }),
        ));
        assert_eq!(timed_out.status, Status::DeveloperError);
        assert_eq!(timed_out.record["response"]["statusCode"], 2);
        assert!(timed_out.result()["error"]
            .as_str()
            .unwrap()
            .contains("time limits"));
        assert_eq!(timed_out.record["annotations"][3]["value"], true);

        let crashed = activation(InvokeOutcome::FunctionError(
            json!({ "errorType": "Runtime.ExitError", "errorMessage": "exited" }),
        ));
        assert_eq!(*crashed.result(), json!({ "error": "exited" }));
    }

    #[test]
    fn the_store_forgets_the_oldest_past_its_bound() {
        let store = Activations::default();
        let first = Arc::new(activation(InvokeOutcome::Response(Bytes::from_static(
            b"{}",
        ))));
        store.insert(first.clone());
        assert!(store.get(&first.id).is_some());
        let big = "x".repeat(KEPT_BYTES / 2 + 1);
        for _ in 0..2 {
            let body = Bytes::from(json!({ "big": big }).to_string());
            store.insert(Arc::new(activation(InvokeOutcome::Response(body))));
        }
        assert!(store.get(&first.id).is_none());
        assert!(store.inner.lock().bytes <= KEPT_BYTES);
    }
}
