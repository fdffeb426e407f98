//! Apache OpenWhisk's REST API: one blocking invocation per offload
//! (`POST …/actions/{action}?blocking=true&result=true`, basic authentication), the invocation
//! as the action's JSON parameters, and OpenWhisk's answers mapped to [`FailureReason`]s as it
//! defines them.
//!
//! A blocking invocation that outlasts the controller's wait comes back as 202 with an
//! activation id while the action keeps running. It counts as a timeout: the dispatcher takes
//! the invocation out of flight when this returns, so the late activation's remote calls are
//! refused and its result is never used (the same rule as any failed offload).

use reqwest::Url;
use reqwest::{header::CONTENT_TYPE, StatusCode};
use semifaas_openwhisk::{error_message, ActionName, Target, WskProps};
use tracing::{info, warn};

use crate::{
    config::AgentConfig,
    dispatch::{error_chain, OffloadFailure},
    platform_http::{self, Answer},
    stats::FailureReason,
};

/// How the agent's OpenWhisk keys are spelled, for error messages.
const KEY_PREFIX: &str = "semifaas.openwhisk.";
/// Longest piece of an error body kept.
const ERROR_TEXT_MAX: usize = 300;

pub struct OpenWhiskInvoker {
    /// Sends the target's credentials with every request.
    client: reqwest::Client,
    /// The action's URL with `blocking=true&result=true`.
    url: Url,
    /// `namespace/action` for messages.
    name: String,
}

impl OpenWhiskInvoker {
    /// Resolves the target from `semifaas.openwhisk.*` and the `wsk` properties (an error names
    /// what is missing and how to set it).
    pub fn new(config: &AgentConfig) -> Result<OpenWhiskInvoker, String> {
        let props = WskProps::load().map_err(|e| format!("cannot read the wsk properties: {e}"))?;
        let target =
            Target::resolve(&config.openwhisk, &props, KEY_PREFIX).map_err(|e| e.to_string())?;
        let action =
            ActionName::parse(&config.function).map_err(|e| format!("semifaas.function: {e}"))?;
        if target.insecure {
            warn!(apihost = %target.base, "semifaas.openwhisk.insecure: the controller's certificate is not checked");
        }
        let client = target
            .http_client(config.timeout)
            .map_err(|e| format!("cannot build the HTTP client: {}", error_chain(&e)))?;
        let mut url = target.action_url(&action);
        url.set_query(Some("blocking=true&result=true"));
        info!(apihost = %target.base, namespace = %target.namespace, %action, subject = %target.auth.uuid(), "offloading to OpenWhisk");
        Ok(OpenWhiskInvoker {
            client,
            name: format!("{}/{action}", target.namespace),
            url,
        })
    }

    /// Invokes the action once with `payload` as its parameters; returns its result, or why
    /// there is none.
    pub async fn invoke(&self, payload: Vec<u8>) -> Result<Vec<u8>, OffloadFailure> {
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(payload);
        let Answer { status, body, .. } =
            platform_http::exchange(request, &format!("action {}", self.name)).await?;
        if status == StatusCode::OK {
            return Ok(body);
        }
        let (reason, message) = classify(status, &body);
        Err(OffloadFailure::new(
            reason,
            format!("action {} (HTTP {}): {message}", self.name, status.as_u16()),
        ))
    }

    /// What to do about a failure that pauses offloading.
    pub fn remedy(reason: FailureReason) -> Option<&'static str> {
        match reason {
            FailureReason::FunctionNotFound => Some(
                "create the action (semifaas deploy --platform openwhisk) or fix semifaas.function (action or package/action) and semifaas.openwhisk.namespace",
            ),
            FailureReason::AccessDenied => Some(
                "use credentials of the action's namespace, or have its owner share the package with the credentials' subject",
            ),
            FailureReason::BadCredentials => Some(
                "set semifaas.openwhisk.auth (or AUTH in ~/.wskprops) to the namespace's uuid:key, as `wsk property get --auth` prints it",
            ),
            _ => None,
        }
    }
}

/// Why a non-200 answer carries no result, as OpenWhisk answers: 202 (the blocking wait ended
/// before the activation), 502 (the action's error result; its text tells a time limit or an
/// oversized result from other errors), 429, 413, 401, 403 and 404.
fn classify(status: StatusCode, body: &[u8]) -> (FailureReason, String) {
    let text = error_message(body, ERROR_TEXT_MAX);
    let reason = match status.as_u16() {
        202 => {
            let id = serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["activationId"].as_str().map(str::to_owned))
                .unwrap_or_default();
            return (
                FailureReason::Timeout,
                format!("activation {id} still running after the controller's blocking wait; its result will not be used"),
            );
        }
        502 if text.contains("exceeded its time limit") => FailureReason::Timeout,
        502 if text.contains("exceeded the allowed length") => FailureReason::PayloadTooLarge,
        502 => FailureReason::FunctionError,
        429 => FailureReason::Throttled,
        413 => FailureReason::PayloadTooLarge,
        401 => FailureReason::BadCredentials,
        403 => FailureReason::AccessDenied,
        404 => FailureReason::FunctionNotFound,
        408 | 504 => FailureReason::Timeout,
        _ => FailureReason::PlatformError,
    };
    (reason, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(status: u16, body: &str) -> FailureReason {
        classify(StatusCode::from_u16(status).unwrap(), body.as_bytes()).0
    }

    #[test]
    fn openwhisk_answers_map_to_reasons_as_it_defines_them() {
        let (late, message) = classify(StatusCode::ACCEPTED, br#"{"activationId":"8f2c"}"#);
        assert_eq!(late, FailureReason::Timeout);
        assert!(
            message.contains("activation 8f2c") && message.contains("not be used"),
            "{message}"
        );
        assert_eq!(
            reason(
                502,
                r#"{"error":"The action exceeded its time limits of 60000 milliseconds."}"#
            ),
            FailureReason::Timeout
        );
        assert_eq!(
            reason(
                502,
                r#"{"error":"The action produced a response that exceeded the allowed length: 1048577 > 1048576 bytes."}"#
            ),
            FailureReason::PayloadTooLarge
        );
        assert_eq!(
            reason(
                502,
                r#"{"error":"The action did not produce a valid response and exited unexpectedly."}"#
            ),
            FailureReason::FunctionError
        );
        assert_eq!(
            reason(
                429,
                r#"{"error":"Too many concurrent requests in flight (count: 3, allowed: 2).","code":"x"}"#
            ),
            FailureReason::Throttled
        );
        assert_eq!(reason(413, ""), FailureReason::PayloadTooLarge);
        assert_eq!(
            reason(
                401,
                r#"{"error":"The supplied authentication is invalid","code":"x"}"#
            ),
            FailureReason::BadCredentials
        );
        assert_eq!(reason(403, ""), FailureReason::AccessDenied);
        assert_eq!(
            reason(
                404,
                r#"{"error":"The requested resource does not exist.","code":"x"}"#
            ),
            FailureReason::FunctionNotFound
        );
        assert_eq!(reason(500, "oops"), FailureReason::PlatformError);
        let (_, text) = classify(
            StatusCode::NOT_FOUND,
            br#"{"error":"The requested resource does not exist.","code":"x"}"#,
        );
        assert_eq!(text, "The requested resource does not exist.");
    }
}
