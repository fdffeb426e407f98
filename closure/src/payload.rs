//! The Lambda payloads: AWS Lambda takes and returns JSON, so the binary [`Invocation`] and
//! [`InvocationReply`] travel base64-encoded in a small JSON envelope:
//! `{"semifaas":1,"invocation":"<base64>"}` and `{"semifaas":1,"reply":"<base64>"}`.

use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};

use crate::{codec::CodecError, limits::LAMBDA_SYNC_PAYLOAD_MAX, Invocation, InvocationReply};

/// A smoke invocation (what `semifaas deploy` sends once the function is deployed): the
/// function answers with a [`SmokeReply`] instead of running a handler, after booting like any
/// instance. It carries no closure, so it reaches no server.
pub const SMOKE_PAYLOAD: &str = r#"{"semifaas":1,"smoke":true}"#;

/// What a function answers to [`SMOKE_PAYLOAD`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SmokeReply {
    /// From the process's start to its JVM ready, in milliseconds.
    pub jvm_start_ms: f64,
    /// The Java runtime the instance runs on.
    pub java_home: String,
    /// `java.version` of that runtime.
    pub java_version: String,
    pub instance_id: String,
}

/// Whether a Lambda payload is the smoke invocation (exact bytes: nothing else is one).
pub fn is_smoke(payload: &[u8]) -> bool {
    payload == SMOKE_PAYLOAD.as_bytes()
}

pub const INVOCATION_FIELD: &str = "invocation";
pub const OUTCOME_FIELD: &str = "reply";
const VERSION: u64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum LambdaEnvelopeError {
    #[error(
        "payload is {0} bytes, over Lambda's {LAMBDA_SYNC_PAYLOAD_MAX}-byte synchronous limit"
    )]
    TooLarge(usize),
    #[error("payload is not a semifaas envelope: {0}")]
    NotAnEnvelope(String),
    #[error(transparent)]
    Codec(#[from] CodecError),
}

fn wrap(field: &str, bytes: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "semifaas": VERSION, field: STANDARD.encode(bytes) }))
        .expect("JSON of a string always encodes")
}

fn unwrap(field: &str, payload: &[u8]) -> Result<Vec<u8>, LambdaEnvelopeError> {
    if payload.len() > LAMBDA_SYNC_PAYLOAD_MAX {
        return Err(LambdaEnvelopeError::TooLarge(payload.len()));
    }
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| LambdaEnvelopeError::NotAnEnvelope(format!("invalid JSON: {e}")))?;
    match value.get("semifaas").and_then(Value::as_u64) {
        Some(VERSION) => {}
        other => {
            return Err(LambdaEnvelopeError::NotAnEnvelope(format!(
                "\"semifaas\" version is {other:?}, expected {VERSION}"
            )))
        }
    }
    let text = value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| LambdaEnvelopeError::NotAnEnvelope(format!("no string field {field:?}")))?;
    STANDARD.decode(text).map_err(|e| {
        LambdaEnvelopeError::NotAnEnvelope(format!("field {field:?} is not base64: {e}"))
    })
}

impl Invocation {
    /// The JSON payload sent to the platform's Invoke API.
    pub fn to_lambda_payload(&self) -> Vec<u8> {
        wrap(INVOCATION_FIELD, &self.encode())
    }

    pub fn from_lambda_payload(payload: &[u8]) -> Result<Invocation, LambdaEnvelopeError> {
        Ok(Invocation::decode(&unwrap(INVOCATION_FIELD, payload)?)?)
    }
}

impl InvocationReply {
    /// The JSON payload a function returns.
    pub fn to_lambda_payload(&self) -> Vec<u8> {
        wrap(OUTCOME_FIELD, &self.encode())
    }

    pub fn from_lambda_payload(payload: &[u8]) -> Result<InvocationReply, LambdaEnvelopeError> {
        Ok(InvocationReply::decode(&unwrap(OUTCOME_FIELD, payload)?)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn invocation() -> Invocation {
        Invocation {
            closure_id: ClosureId([7; 32]),
            handler_key: "com.example.C#m".into(),
            args: vec![1, 2, 3],
            deadline_unix_ms: 1_700_000_000_000,
            fallback: FallbackEndpoint {
                addr: "127.0.0.1:4433".into(),
                server_name: "semifaas-fallback".into(),
                cert_sha256: [9; 32],
            },
            capability: Capability {
                invocation_id: 42,
                token: [1; 16],
            },
            kind: InvocationKind::Call,
        }
    }

    fn prewarm(shadow_closure: ClosureId) -> Invocation {
        Invocation {
            closure_id: ClosureId([0; 32]),
            handler_key: PREWARM_HANDLER_KEY.into(),
            args: vec![],
            kind: InvocationKind::Prewarm {
                closures: vec![ClosureId([7; 32]), ClosureId([8; 32])],
                shadow_calls: vec![ShadowCall {
                    closure_id: shadow_closure,
                    handler_key: "com.example.C#m".into(),
                    args: vec![4, 5],
                }],
                rounds: 2,
            },
            ..invocation()
        }
    }

    /// Encodes without validating, as a faulty or hostile peer would.
    fn raw_payload(invocation: &Invocation) -> Vec<u8> {
        wrap(INVOCATION_FIELD, &codec::encode(invocation))
    }

    #[test]
    fn invocation_round_trips_through_the_lambda_envelope() {
        let inv = invocation();
        let payload = inv.to_lambda_payload();
        assert!(
            serde_json::from_slice::<Value>(&payload).is_ok(),
            "payload must be JSON"
        );
        assert_eq!(Invocation::from_lambda_payload(&payload).unwrap(), inv);
    }

    #[test]
    fn prewarm_round_trips_through_the_lambda_envelope() {
        let inv = prewarm(ClosureId([8; 32]));
        assert_eq!(
            Invocation::from_lambda_payload(&inv.to_lambda_payload()).unwrap(),
            inv
        );
    }

    #[test]
    fn invalid_invocations_are_rejected_with_what_is_wrong() {
        let err = |inv: &Invocation| {
            Invocation::from_lambda_payload(&raw_payload(inv))
                .unwrap_err()
                .to_string()
        };
        let stranger = prewarm(ClosureId([9; 32]));
        let message = err(&stranger);
        assert!(message.contains("malformed invocation"), "{message}");
        assert!(
            message.contains("which the prewarm does not install"),
            "{message}"
        );

        let mut empty_key = invocation();
        empty_key.handler_key = String::new();
        assert!(err(&empty_key).contains("handler key"));

        let mut bad_shadow = prewarm(ClosureId([7; 32]));
        if let InvocationKind::Prewarm { shadow_calls, .. } = &mut bad_shadow.kind {
            shadow_calls[0].handler_key = "a\0b".into();
        }
        assert!(err(&bad_shadow).contains("shadow call handler key"));

        let too_many = Invocation {
            kind: InvocationKind::Prewarm {
                closures: vec![ClosureId([1; 32]); crate::limits::PREWARM_CLOSURES_MAX + 1],
                shadow_calls: vec![],
                rounds: 1,
            },
            ..invocation()
        };
        assert!(err(&too_many).contains("closures, over the limit"));

        for bad in [0, crate::limits::SHADOW_ROUNDS_MAX + 1] {
            let mut rounds = prewarm(ClosureId([7; 32]));
            if let InvocationKind::Prewarm { rounds: r, .. } = &mut rounds.kind {
                *r = bad;
            }
            assert!(err(&rounds).contains("shadow rounds"), "{bad}");
        }
    }

    #[test]
    fn fallback_counts_total_includes_remote_calls() {
        let counts = FallbackCounts {
            fetch_closure: 1,
            load_class: 2,
            get_resource: 3,
            invoke: 4,
        };
        assert_eq!(counts.total(), 10);
    }

    #[test]
    fn reply_round_trips() {
        let reply = InvocationReply {
            outcome: InvocationOutcome::Threw(vec![5, 6]),
            stats: FunctionStats {
                cold: true,
                handler_us: 12,
                ..Default::default()
            },
        };
        assert_eq!(
            InvocationReply::from_lambda_payload(&reply.to_lambda_payload()).unwrap(),
            reply
        );
    }

    #[test]
    fn malformed_envelopes_say_what_is_wrong() {
        let err = |p: &[u8]| Invocation::from_lambda_payload(p).unwrap_err().to_string();
        assert!(err(b"not json").contains("invalid JSON"));
        assert!(err(br#"{"semifaas":2,"invocation":""}"#).contains("version"));
        assert!(err(br#"{"semifaas":1}"#).contains("no string field \"invocation\""));
        assert!(err(br#"{"semifaas":1,"invocation":"%%%"}"#).contains("not base64"));
        assert!(err(br#"{"semifaas":1,"invocation":"AAAA"}"#).contains("malformed invocation"));
        let huge = vec![b' '; LAMBDA_SYNC_PAYLOAD_MAX + 1];
        assert!(err(&huge).contains("over Lambda"));
    }
}
