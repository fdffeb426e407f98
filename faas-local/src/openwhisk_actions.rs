//! OpenWhisk actions: what an action PUT may say, the limits OpenWhisk allows, and the action
//! document GET, PUT and DELETE answer with.
//!
//! An action is a registry function named by its `[package/]name`. Only `blackbox` actions
//! are taken, and their image is recorded but not run (there is no container runtime here):
//! every action runs the platform's configured code directory's `bootstrap --openwhisk`.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::config::FunctionConfig;
use crate::ids;
use crate::openwhisk_error::OwError;
use crate::openwhisk_names::NAMESPACE;

/// OpenWhisk's default action limits and their allowed ranges (a standard deployment's).
const TIMEOUT_MS: Limit = Limit {
    min: 100,
    max: 300_000,
    default: 60_000,
    unit: "milliseconds",
};
const MEMORY_MB: Limit = Limit {
    min: 128,
    max: 512,
    default: 256,
    unit: "MB",
};
const CONCURRENCY: Limit = Limit {
    min: 1,
    max: 500,
    default: 1,
    unit: "",
};
const LOGS_MB: Limit = Limit {
    min: 0,
    max: 10,
    default: 10,
    unit: "MB",
};

struct Limit {
    min: u64,
    max: u64,
    default: u64,
    unit: &'static str,
}

impl Limit {
    fn check(&self, name: &str, value: Option<u64>, old: Option<u64>) -> Result<u64, OwError> {
        let value = value.or(old).unwrap_or(self.default);
        let unit = if self.unit.is_empty() {
            String::new()
        } else {
            format!(" {}", self.unit)
        };
        if value < self.min {
            return Err(OwError::bad_request(format!(
                "{name} {value}{unit} below allowed threshold of {}{unit}",
                self.min
            )));
        }
        if value > self.max {
            return Err(OwError::bad_request(format!(
                "{name} {value}{unit} exceeds allowed threshold of {}{unit}",
                self.max
            )));
        }
        Ok(value)
    }
}

/// The body of `PUT actions/{name}`; absent fields keep their old values on an overwrite.
#[derive(Deserialize)]
pub(crate) struct ActionPut {
    exec: Option<ExecPut>,
    limits: Option<LimitsPut>,
    parameters: Option<Vec<KeyValue>>,
    annotations: Option<Vec<KeyValue>>,
    version: Option<String>,
    publish: Option<bool>,
}

#[derive(Deserialize)]
struct ExecPut {
    kind: String,
    image: Option<String>,
}

#[derive(Deserialize)]
struct LimitsPut {
    timeout: Option<u64>,
    memory: Option<u64>,
    concurrency: Option<u64>,
    logs: Option<u64>,
}

#[derive(Deserialize, Clone)]
struct KeyValue {
    key: String,
    value: Value,
}

impl ActionPut {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, OwError> {
        serde_json::from_slice(body).map_err(OwError::malformed)
    }
}

/// An action's OpenWhisk side: what its document shows beyond the function's configuration.
#[derive(Clone)]
pub(crate) struct Action {
    image: String,
    pub(crate) limits: Limits,
    /// Default parameters, overridden by the invocation's.
    parameters: Vec<KeyValue>,
    annotations: Vec<KeyValue>,
    version: String,
    publish: bool,
    updated: u128,
}

#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) timeout_ms: u64,
    pub(crate) memory_mb: u64,
    /// Activations one instance may run at once. Instances here run one at a time, which every
    /// value allows.
    concurrency: u64,
    logs_mb: u64,
}

impl Limits {
    pub(crate) fn json(&self) -> Value {
        json!({
            "timeout": self.timeout_ms,
            "memory": self.memory_mb,
            "logs": self.logs_mb,
            "concurrency": self.concurrency,
        })
    }
}

impl Action {
    /// A function deployed with the platform, shown as a blackbox action.
    pub(crate) fn deployed(config: &FunctionConfig) -> Self {
        Self {
            image: config.bootstrap_path().display().to_string(),
            limits: Limits {
                timeout_ms: u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
                memory_mb: u64::from(config.memory_mb),
                concurrency: CONCURRENCY.default,
                logs_mb: LOGS_MB.default,
            },
            parameters: Vec::new(),
            annotations: Vec::new(),
            version: "0.0.1".to_owned(),
            publish: false,
            updated: ids::epoch_millis(SystemTime::now()),
        }
    }

    /// A new action from a PUT, or (`old`) an update of one: absent fields keep old values.
    pub(crate) fn from_put(put: ActionPut, old: Option<&Action>) -> Result<Self, OwError> {
        let image = match (put.exec, old) {
            (Some(exec), _) => blackbox_image(exec)?,
            (None, Some(old)) => old.image.clone(),
            (None, None) => return Err(OwError::bad_request("exec undefined")),
        };
        let limits = put.limits.unwrap_or(LimitsPut {
            timeout: None,
            memory: None,
            concurrency: None,
            logs: None,
        });
        let old_limits = old.map(|old| old.limits);
        let limits = Limits {
            timeout_ms: TIMEOUT_MS.check(
                "timeout",
                limits.timeout,
                old_limits.map(|l| l.timeout_ms),
            )?,
            memory_mb: MEMORY_MB.check("memory", limits.memory, old_limits.map(|l| l.memory_mb))?,
            concurrency: CONCURRENCY.check(
                "concurrency",
                limits.concurrency,
                old_limits.map(|l| l.concurrency),
            )?,
            logs_mb: LOGS_MB.check("logs", limits.logs, old_limits.map(|l| l.logs_mb))?,
        };
        let version = match (put.version, old) {
            (Some(version), _) => version,
            (None, Some(old)) => next_patch(&old.version),
            (None, None) => "0.0.1".to_owned(),
        };
        Ok(Self {
            image,
            limits,
            parameters: put
                .parameters
                .or_else(|| old.map(|o| o.parameters.clone()))
                .unwrap_or_default(),
            annotations: put
                .annotations
                .or_else(|| old.map(|o| o.annotations.clone()))
                .unwrap_or_default(),
            version,
            publish: put.publish.or(old.map(|o| o.publish)).unwrap_or(false),
            updated: ids::epoch_millis(SystemTime::now()),
        })
    }

    /// The limits a function running this action gets.
    pub(crate) fn configure(&self, config: &mut FunctionConfig) {
        config.timeout = Duration::from_millis(self.limits.timeout_ms);
        // Within Lambda's range too, which the configuration checks.
        config.memory_mb = u32::try_from(self.limits.memory_mb).unwrap_or(u32::MAX);
    }

    pub(crate) fn has_parameters(&self) -> bool {
        !self.parameters.is_empty()
    }

    /// The invocation's parameters over the action's defaults.
    pub(crate) fn parameters(&self, given: Map<String, Value>) -> Map<String, Value> {
        let mut merged: Map<String, Value> = self
            .parameters
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        merged.extend(given);
        merged
    }

    /// The action document, for the action at `path` (`[package/]name`).
    pub(crate) fn json(&self, path: &str) -> Value {
        let (namespace, name) = qualified(path);
        let key_values = |list: &[KeyValue]| -> Vec<Value> {
            list.iter()
                .map(|p| json!({ "key": p.key, "value": p.value }))
                .collect()
        };
        let mut annotations = key_values(&self.annotations);
        annotations.retain(|a| a["key"] != "exec");
        annotations.push(json!({ "key": "exec", "value": "blackbox" }));
        json!({
            "namespace": namespace,
            "name": name,
            "version": self.version,
            "exec": { "kind": "blackbox", "image": self.image, "binary": false },
            "annotations": annotations,
            "parameters": key_values(&self.parameters),
            "limits": self.limits.json(),
            "publish": self.publish,
            "updated": self.updated,
        })
    }
}

/// The namespace and name OpenWhisk shows for an action path: `guest/pkg` and `name` for
/// `pkg/name`.
pub(crate) fn qualified(path: &str) -> (String, &str) {
    match path.split_once('/') {
        Some((package, name)) => (format!("{NAMESPACE}/{package}"), name),
        None => (NAMESPACE.to_owned(), path),
    }
}

fn blackbox_image(exec: ExecPut) -> Result<String, OwError> {
    if exec.kind != "blackbox" {
        return Err(OwError::bad_request(format!(
            "exec kind '{}' is not supported: faas-local runs blackbox actions only (and runs its code directory's bootstrap for them)",
            exec.kind
        )));
    }
    exec.image
        .filter(|image| !image.trim().is_empty())
        .ok_or_else(|| {
            OwError::bad_request("exec image undefined: a blackbox action names its image")
        })
}

/// `0.0.1` → `0.0.2`; a version not of that shape starts over.
fn next_patch(version: &str) -> String {
    let parts: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts[..] {
        [major, minor, patch] => format!("{major}.{minor}.{}", patch.saturating_add(1)),
        _ => "0.0.1".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(body: Value) -> Result<Action, OwError> {
        Action::from_put(ActionPut::parse(body.to_string().as_bytes())?, None)
    }

    #[test]
    fn a_blackbox_put_takes_defaults_and_limits() {
        let action = put(json!({ "exec": { "kind": "blackbox", "image": "x/y" } }))
            .ok()
            .unwrap();
        let doc = action.json("pkg/act");
        assert_eq!(doc["namespace"], "guest/pkg");
        assert_eq!(doc["name"], "act");
        assert_eq!(
            doc["limits"],
            json!({ "timeout": 60000, "memory": 256, "logs": 10, "concurrency": 1 })
        );
        let limited = put(json!({
            "exec": { "kind": "blackbox", "image": "x/y" },
            "limits": { "timeout": 5000, "memory": 512, "concurrency": 4 },
            "parameters": [{ "key": "a", "value": 1 }, { "key": "b", "value": 2 }],
        }))
        .ok()
        .unwrap();
        assert_eq!(limited.limits.timeout_ms, 5000);
        let mut config = FunctionConfig::new("act", "/nowhere");
        limited.configure(&mut config);
        assert_eq!(
            (config.timeout, config.memory_mb),
            (Duration::from_secs(5), 512)
        );
        let given = json!({ "b": 3 }).as_object().unwrap().clone();
        assert_eq!(
            Value::Object(limited.parameters(given)),
            json!({ "a": 1, "b": 3 })
        );
    }

    #[test]
    fn bad_puts_are_refused() {
        for body in [
            json!({}),
            json!({ "exec": { "kind": "nodejs:20", "code": "x" } }),
            json!({ "exec": { "kind": "blackbox" } }),
            json!({ "exec": { "kind": "blackbox", "image": "i" }, "limits": { "timeout": 50 } }),
            json!({ "exec": { "kind": "blackbox", "image": "i" }, "limits": { "memory": 4096 } }),
            json!({ "exec": { "kind": "blackbox", "image": "i" }, "limits": { "concurrency": 0 } }),
            json!({ "exec": { "kind": "blackbox", "image": "i" }, "limits": { "timeout": -1 } }),
            json!({ "exec": "blackbox" }),
            json!([]),
        ] {
            assert!(put(body.clone()).is_err(), "{body}");
        }
        assert!(ActionPut::parse(b"{not json").is_err());
    }

    #[test]
    fn an_update_keeps_what_it_does_not_say() {
        let first = put(json!({
            "exec": { "kind": "blackbox", "image": "x/y" },
            "limits": { "timeout": 5000 },
        }))
        .ok()
        .unwrap();
        let update = ActionPut::parse(br#"{"limits":{"memory":128}}"#)
            .ok()
            .unwrap();
        let second = Action::from_put(update, Some(&first)).ok().unwrap();
        assert_eq!(
            (second.limits.timeout_ms, second.limits.memory_mb),
            (5000, 128)
        );
        assert_eq!(second.json("a")["version"], "0.0.2");
        assert_eq!(second.json("a")["exec"]["image"], "x/y");
    }
}
