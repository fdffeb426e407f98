//! OpenWhisk's action container protocol on bytes: which route a request takes, what `/init`
//! and `/run` bodies hold, and the answers
//! (<https://github.com/apache/openwhisk/blob/master/docs/actions-new.md#action-interface>).
//! `openwhisk_server` does the I/O.
//!
//! The action's parameters carry the same JSON envelope as a Lambda payload; the activation
//! context (`namespace`, `activation_id`, `deadline`, ...) becomes the `__OW_*` environment, as
//! OpenWhisk's own runtimes do, except the API key: this action never calls OpenWhisk.

use hyper::StatusCode;
use semifaas_closure::{limits::NAME_MAX, SMOKE_PAYLOAD};
use serde_json::{json, Map, Value};

use crate::Answer;

/// Largest request body: a full payload plus the activation context around it.
pub const BODY_MAX: usize = crate::PLATFORM_BODY_MAX;

/// OpenWhisk's own text for a second `/init` (its action proxies answer it with 403).
pub const REINIT_MESSAGE: &str = "Cannot initialize the action more than once.";

/// The activation context's fields and the variables they become (`__OW_` and the name in upper
/// case, as OpenWhisk's runtimes export them). `api_key` is left out on purpose.
const CONTEXT_FIELDS: [(&str, &str); 5] = [
    ("namespace", "__OW_NAMESPACE"),
    ("action_name", "__OW_ACTION_NAME"),
    ("action_version", "__OW_ACTION_VERSION"),
    ("activation_id", "__OW_ACTIVATION_ID"),
    ("transaction_id", "__OW_TRANSACTION_ID"),
];
const DEADLINE_FIELD: &str = "deadline";
const DEADLINE_VAR: &str = "__OW_DEADLINE";

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Init,
    Run,
    /// A known path with a method other than POST.
    WrongMethod,
    NotFound,
}

pub fn route(method: &str, path: &str) -> Route {
    match (method, path) {
        ("POST", "/init") => Route::Init,
        ("POST", "/run") => Route::Run,
        (_, "/init" | "/run") => Route::WrongMethod,
        _ => Route::NotFound,
    }
}

/// An HTTP answer: the status and a JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub body: Vec<u8>,
}

impl HttpAnswer {
    /// 200 with `body`, a JSON object.
    pub fn ok(body: Vec<u8>) -> HttpAnswer {
        HttpAnswer {
            status: StatusCode::OK,
            body,
        }
    }

    /// `status` with `{"error": message}`, the only error shape OpenWhisk reads.
    pub fn error(status: StatusCode, message: &str) -> HttpAnswer {
        HttpAnswer {
            status,
            body: serde_json::to_vec(&json!({ "error": message }))
                .expect("JSON of a string always encodes"),
        }
    }

    pub fn initialized() -> HttpAnswer {
        HttpAnswer::ok(br#"{"ok":true}"#.to_vec())
    }

    /// The answer to a request this instance does not serve.
    pub fn for_route(route: Route) -> Option<HttpAnswer> {
        let message = match route {
            Route::Init | Route::Run => return None,
            Route::WrongMethod => "use POST: this action serves POST /init and POST /run",
            Route::NotFound => "no such route: this action serves POST /init and POST /run",
        };
        let status = match route {
            Route::WrongMethod => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::NOT_FOUND,
        };
        Some(HttpAnswer::error(status, message))
    }

    /// The answer to `/run`. A bad invocation is an application error (200 with `error`):
    /// OpenWhisk records it as the activation's result and keeps the container.
    pub fn for_run(answer: Answer) -> HttpAnswer {
        match answer {
            Answer::Reply(payload) => HttpAnswer::ok(payload),
            Answer::BadInvocation(message) => HttpAnswer::error(StatusCode::OK, &message),
        }
    }
}

/// What `/init` told this instance. The image carries the function, so `code` is not used.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InitRequest {
    pub name: Option<String>,
    pub has_code: bool,
}

/// Reads an `/init` body, `{"value":{"name":..,"main":..,"code":..,"binary":..,"env":{..}}}`;
/// every field is optional but must have its type.
pub fn parse_init(body: &[u8]) -> Result<InitRequest, String> {
    let request = json_object(body, "the /init body")?;
    let value = match request.get("value") {
        None | Some(Value::Null) => return Ok(InitRequest::default()),
        Some(Value::Object(value)) => value,
        Some(_) => return Err("the /init body's \"value\" is not an object".to_owned()),
    };
    let check = |field: &str, fits: fn(&Value) -> bool, expected: &str| match value.get(field) {
        Some(v) if !v.is_null() && !fits(v) => {
            Err(format!("the /init value's {field:?} is not {expected}"))
        }
        _ => Ok(()),
    };
    check("main", Value::is_string, "a string")?;
    check("code", Value::is_string, "a string")?;
    check("binary", Value::is_boolean, "a boolean")?;
    check("env", Value::is_object, "an object")?;
    let name = optional_string(value, "name", "the /init value's \"name\"")?;
    let has_code = value
        .get("code")
        .and_then(Value::as_str)
        .is_some_and(|code| !code.is_empty());
    Ok(InitRequest { name, has_code })
}

/// One activation as `/run` hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// The parameters as a Lambda payload: the envelope's JSON, or the exact smoke payload.
    pub payload: Vec<u8>,
    pub context: ActivationContext,
}

/// The activation context of one `/run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationContext {
    /// Each variable of [`CONTEXT_FIELDS`] with its value in this activation, if it has one.
    vars: Vec<(&'static str, Option<String>)>,
    /// When OpenWhisk stops the activation, milliseconds since the Unix epoch.
    pub deadline_unix_ms: Option<u64>,
}

impl ActivationContext {
    pub fn activation_id(&self) -> Option<&str> {
        self.value("__OW_ACTIVATION_ID")
    }

    pub fn action_name(&self) -> Option<&str> {
        self.value("__OW_ACTION_NAME")
    }

    fn value(&self, var: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(name, _)| *name == var)
            .and_then(|(_, value)| value.as_deref())
    }

    /// Sets this activation's `__OW_*` variables and removes those it has not, so none is left
    /// from the previous one. Called between activations, when no handler runs (the variables
    /// are process-wide).
    pub fn export(&self) {
        let deadline = self.deadline_unix_ms.map(|ms| ms.to_string());
        let vars = self
            .vars
            .iter()
            .map(|(var, value)| (*var, value.as_deref()));
        for (var, value) in vars.chain([(DEADLINE_VAR, deadline.as_deref())]) {
            match value {
                Some(value) => std::env::set_var(var, value),
                None => std::env::remove_var(var),
            }
        }
    }
}

/// Reads a `/run` body, `{"value":{params},"namespace":..,"activation_id":..,"deadline":..}`.
/// An error is a request OpenWhisk would not send (a 400); parameters that are not a semifaas
/// invocation are left for the envelope decoding to name.
pub fn parse_run(body: &[u8]) -> Result<RunRequest, String> {
    let request = json_object(body, "the /run body")?;
    let context_field = |field: &str| format!("the /run body's {field:?}");
    let vars = CONTEXT_FIELDS
        .iter()
        .map(|(field, var)| {
            Ok((
                *var,
                optional_string(&request, field, &context_field(field))?,
            ))
        })
        .collect::<Result<_, String>>()?;
    let deadline_unix_ms = match request.get(DEADLINE_FIELD) {
        None | Some(Value::Null) => None,
        Some(deadline) => Some(unix_ms(deadline).ok_or_else(|| {
            format!(
                "{} is not milliseconds since the Unix epoch",
                context_field(DEADLINE_FIELD)
            )
        })?),
    };
    Ok(RunRequest {
        payload: lambda_payload(request.get("value")),
        context: ActivationContext {
            vars,
            deadline_unix_ms,
        },
    })
}

/// The parameters as the Lambda payload they stand for. OpenWhisk re-encodes parameters (key
/// order, spacing), so the smoke invocation is recognized by its value and handed on as the
/// exact payload the Lambda path recognizes.
fn lambda_payload(value: Option<&Value>) -> Vec<u8> {
    let smoke: Value = serde_json::from_str(SMOKE_PAYLOAD).expect("the smoke payload is JSON");
    match value {
        Some(value) if *value == smoke => SMOKE_PAYLOAD.as_bytes().to_vec(),
        Some(value) => serde_json::to_vec(value).expect("a parsed JSON value always encodes"),
        // No parameters: an empty object, which the envelope decoding reports as not one.
        None => b"{}".to_vec(),
    }
}

/// OpenWhisk sends the deadline as a string of digits; its documentation says a number: both.
fn unix_ms(deadline: &Value) -> Option<u64> {
    match deadline {
        Value::String(text) if text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        Value::Number(number) => number.as_u64(),
        _ => None,
    }
}

fn json_object(body: &[u8], what: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(format!("{what} is not a JSON object")),
        Err(e) => Err(format!("{what} is not JSON: {e}")),
    }
}

/// `object[field]` when it is a string fit for an environment variable (no NUL, at most
/// [`NAME_MAX`] bytes); `None` when absent or null.
fn optional_string(
    object: &Map<String, Value>,
    field: &str,
    what: &str,
) -> Result<Option<String>, String> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.len() > NAME_MAX => {
            Err(format!("{what} is over {NAME_MAX} bytes"))
        }
        Some(Value::String(text)) if text.contains('\0') => Err(format!("{what} holds a NUL")),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(format!("{what} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(answer: &HttpAnswer) -> String {
        let body: Value = serde_json::from_slice(&answer.body).unwrap();
        let object = body.as_object().unwrap();
        assert_eq!(object.len(), 1, "an error body has only \"error\": {body}");
        object["error"].as_str().unwrap().to_owned()
    }

    #[test]
    fn routes_are_post_init_and_post_run_only() {
        assert_eq!(route("POST", "/init"), Route::Init);
        assert_eq!(route("POST", "/run"), Route::Run);
        for (method, path) in [("GET", "/run"), ("PUT", "/init"), ("DELETE", "/run")] {
            assert_eq!(route(method, path), Route::WrongMethod, "{method} {path}");
        }
        for (method, path) in [
            ("POST", "/"),
            ("POST", "/run/"),
            ("GET", "/x"),
            ("POST", "/INIT"),
        ] {
            assert_eq!(route(method, path), Route::NotFound, "{method} {path}");
        }
        let wrong = HttpAnswer::for_route(Route::WrongMethod).unwrap();
        assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(error_of(&wrong).contains("POST /run"));
        let missing = HttpAnswer::for_route(Route::NotFound).unwrap();
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(HttpAnswer::for_route(Route::Run), None);
    }

    #[test]
    fn init_takes_what_openwhisk_sends_for_a_blackbox_action() {
        let init = parse_init(
            br#"{"value":{"name":"semifaas","main":"main","binary":false,
                "env":{"__OW_NAMESPACE":"guest","__OW_DEADLINE":"1700000000000"}}}"#,
        )
        .unwrap();
        assert_eq!(
            init,
            InitRequest {
                name: Some("semifaas".into()),
                has_code: false
            }
        );
        assert!(
            parse_init(br#"{"value":{"code":"UEsDBA==","binary":true}}"#)
                .unwrap()
                .has_code
        );
        assert_eq!(parse_init(b"{}").unwrap(), InitRequest::default());
        assert_eq!(HttpAnswer::initialized().body, br#"{"ok":true}"#);
    }

    #[test]
    fn malformed_init_bodies_say_what_is_wrong() {
        for (body, needle) in [
            (&b""[..], "is not JSON"),
            (b"[1]", "not a JSON object"),
            (br#"{"value":3}"#, "\"value\" is not an object"),
            (br#"{"value":{"name":7}}"#, "\"name\" is not a string"),
            (
                br#"{"value":{"binary":"yes"}}"#,
                "\"binary\" is not a boolean",
            ),
            (br#"{"value":{"env":[]}}"#, "\"env\" is not an object"),
            (br#"{"value":{"code":{}}}"#, "\"code\" is not a string"),
        ] {
            let error = parse_init(body).expect_err(needle);
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn run_takes_the_parameters_and_the_activation_context() {
        let run = parse_run(
            br#"{"value":{"semifaas":1,"invocation":"AAAA"},"namespace":"guest",
                "action_name":"/guest/semifaas","action_version":"0.0.1","activation_id":"a1",
                "transaction_id":"t1","deadline":"1700000060000","api_key":"uuid:secret"}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&run.payload).unwrap(),
            json!({"semifaas": 1, "invocation": "AAAA"})
        );
        assert_eq!(run.context.deadline_unix_ms, Some(1_700_000_060_000));
        assert_eq!(run.context.activation_id(), Some("a1"));
        assert_eq!(run.context.action_name(), Some("/guest/semifaas"));
        assert!(
            run.context
                .vars
                .iter()
                .all(|(var, value)| *var != "__OW_API_KEY"
                    && value.as_deref() != Some("uuid:secret")),
            "the API key is not part of the exported context"
        );

        let numeric = parse_run(br#"{"value":{},"deadline":1700000060000}"#).unwrap();
        assert_eq!(numeric.context.deadline_unix_ms, Some(1_700_000_060_000));
        let bare = parse_run(b"{}").unwrap();
        assert_eq!(bare.payload, b"{}");
        assert_eq!(bare.context.deadline_unix_ms, None);
        assert_eq!(bare.context.activation_id(), None);
    }

    #[test]
    fn the_smoke_invocation_is_recognized_however_openwhisk_encodes_it() {
        for value in [
            r#"{"semifaas":1,"smoke":true}"#,
            r#"{ "smoke" : true, "semifaas" : 1 }"#,
        ] {
            let run = parse_run(format!(r#"{{"value":{value}}}"#).as_bytes()).unwrap();
            assert_eq!(run.payload, SMOKE_PAYLOAD.as_bytes(), "{value}");
        }
        let not_smoke = parse_run(br#"{"value":{"semifaas":1,"smoke":true,"x":0}}"#).unwrap();
        assert_ne!(not_smoke.payload, SMOKE_PAYLOAD.as_bytes());
    }

    #[test]
    fn malformed_run_bodies_say_what_is_wrong() {
        let long = "a".repeat(NAME_MAX + 1);
        for (body, needle) in [
            (b"not json".to_vec(), "is not JSON"),
            (b"\"value\"".to_vec(), "not a JSON object"),
            (
                br#"{"activation_id":5}"#.to_vec(),
                "\"activation_id\" is not a string",
            ),
            (
                br#"{"namespace":"a\u0000b"}"#.to_vec(),
                "\"namespace\" holds a NUL",
            ),
            (
                format!(r#"{{"action_name":"{long}"}}"#).into_bytes(),
                "is over",
            ),
            (
                br#"{"deadline":"soon"}"#.to_vec(),
                "\"deadline\" is not milliseconds",
            ),
            (
                br#"{"deadline":-1}"#.to_vec(),
                "\"deadline\" is not milliseconds",
            ),
            (
                br#"{"deadline":"999999999999999999999"}"#.to_vec(),
                "\"deadline\"",
            ),
            (br#"{"deadline":true}"#.to_vec(), "\"deadline\""),
        ] {
            let error = parse_run(&body).expect_err(needle);
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn run_answers_are_json_objects_with_a_bad_invocation_as_an_application_error() {
        let reply = HttpAnswer::for_run(Answer::Reply(br#"{"semifaas":1,"reply":""}"#.to_vec()));
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.body, br#"{"semifaas":1,"reply":""}"#);
        let bad = HttpAnswer::for_run(Answer::BadInvocation("not \"an\" envelope".into()));
        assert_eq!(bad.status, StatusCode::OK);
        assert_eq!(error_of(&bad), "not \"an\" envelope");
    }

    #[test]
    fn export_sets_this_activations_variables_and_clears_the_previous_ones() {
        // The only test that touches these variables: no other test reads them concurrently.
        let first =
            parse_run(br#"{"value":{},"namespace":"guest","activation_id":"a1","deadline":"42"}"#)
                .unwrap();
        first.context.export();
        assert_eq!(std::env::var("__OW_NAMESPACE").as_deref(), Ok("guest"));
        assert_eq!(std::env::var("__OW_ACTIVATION_ID").as_deref(), Ok("a1"));
        assert_eq!(std::env::var("__OW_DEADLINE").as_deref(), Ok("42"));
        let second = parse_run(br#"{"value":{},"activation_id":"a2"}"#).unwrap();
        second.context.export();
        assert_eq!(std::env::var("__OW_ACTIVATION_ID").as_deref(), Ok("a2"));
        assert!(std::env::var("__OW_NAMESPACE").is_err());
        assert!(std::env::var("__OW_DEADLINE").is_err());
    }
}
