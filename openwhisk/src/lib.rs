//! Apache OpenWhisk's REST API as semifaas uses it, shared by the agent (invoking actions) and
//! the CLI (`semifaas deploy --platform openwhisk`), so both read the same `~/.wskprops`, build
//! the same URLs and read the same error bodies:
//!
//! - [`WskProps`]: the `wsk` CLI's properties file, whose `APIHOST`, `AUTH` and `NAMESPACE` are
//!   the defaults, as `wsk` reads them;
//! - [`Target`]: where and as whom to call: the API base URL (a host without a scheme is https,
//!   as in `wsk`), the namespace, the credentials ([`Auth`]) and whether a self-signed
//!   controller certificate is accepted;
//! - [`ActionName`]: a checked `action` or `package/action`;
//! - [`error_message`]: the text of an OpenWhisk error body (`{"error": .., "code": ..}`).

mod auth;
mod names;
mod props;
mod target;

pub use auth::{Auth, AuthError};
pub use names::{check_entity, ActionName, NameError};
pub use props::WskProps;
pub use target::{api_base, Target, TargetError, TargetSettings, DEFAULT_NAMESPACE};

/// The text of an OpenWhisk error body: its `error` field (a string, or an object such as an
/// activation's `{"error": ..}` result, rendered as JSON), else the body itself, cut to `max`
/// characters.
pub fn error_message(body: &[u8], max: usize) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => match value.get("error") {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
            None => value.to_string(),
        },
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_reads_as_its_error_field() {
        let body = br#"{"error":"The requested resource does not exist.","code":"4f2a"}"#;
        assert_eq!(
            error_message(body, 100),
            "The requested resource does not exist."
        );
        assert_eq!(
            error_message(br#"{"error":{"detail":1}}"#, 100),
            r#"{"detail":1}"#
        );
        assert_eq!(error_message(b"<html>bad gateway", 9), "<html>bad");
    }
}
