//! faas-local's OpenWhisk API end to end over real sockets, with a fixture action (and the
//! real `bootstrap --openwhisk`) as real processes.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use common::*;
use faas_local::{FaasLocal, FaasLocalConfig, FunctionConfig, OpenWhiskConfig, PlatformApi};
use serde_json::{json, Value};

const AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:test-key-0123456789";
const FN: &str = "echo";

fn action_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openwhisk-action")
}

fn action_function(name: &str) -> FunctionConfig {
    let mut function = FunctionConfig::new(name, action_dir());
    function.timeout = Duration::from_secs(5);
    function.concurrency_limit = 4;
    function
}

async fn start_openwhisk(
    functions: Vec<FunctionConfig>,
    code_dir: PathBuf,
    blocking_wait: Duration,
) -> FaasLocal {
    let mut config = FaasLocalConfig::new("127.0.0.1:0".parse().unwrap());
    config.functions = functions;
    config.init_timeout = Duration::from_secs(20);
    let mut openwhisk = OpenWhiskConfig::new(code_dir);
    openwhisk.auth = Some(AUTH.to_owned());
    openwhisk.blocking_wait = blocking_wait;
    config.api = PlatformApi::OpenWhisk(openwhisk);
    FaasLocal::start(config).await.expect("faas-local starts")
}

async fn start(functions: Vec<FunctionConfig>) -> FaasLocal {
    start_openwhisk(functions, action_dir(), Duration::from_secs(60)).await
}

fn basic(auth: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(auth)
    )
}

/// One API request with the test's credential.
async fn ow(addr: SocketAddr, method: &str, path: &str, body: &str) -> HttpResponse {
    let auth = basic(AUTH);
    http(
        addr,
        method,
        path,
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
    .await
}

fn action_url(action: &str) -> String {
    format!("/api/v1/namespaces/_/actions/{action}")
}

async fn invoke(addr: SocketAddr, action: &str, query: &str, params: Value) -> HttpResponse {
    let path = format!("{}?{query}", action_url(action));
    ow(addr, "POST", &path, &params.to_string()).await
}

/// Asserts OpenWhisk's error shape; returns the message.
fn assert_ow_error(response: &HttpResponse, status: u16) -> String {
    assert_eq!(response.status, status, "{}", response.text());
    let body = response.json();
    let code = body["code"].as_str().expect("a transaction id");
    assert_eq!(Some(code), response.header("x-request-id"));
    body["error"].as_str().expect("an error message").to_owned()
}

fn blackbox(limits: Value) -> String {
    json!({ "exec": { "kind": "blackbox", "image": "openwhisk/dockerskeleton" }, "limits": limits })
        .to_string()
}

#[tokio::test]
async fn the_api_needs_the_credential() {
    let local = start(vec![action_function(FN)]).await;
    let addr = local.addr();
    let path = action_url(FN);

    let none = http(addr, "GET", &path, &[], b"").await;
    assert_eq!(
        assert_ow_error(&none, 401),
        "The supplied authentication is invalid"
    );
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));
    for wrong in [
        basic("23bc46b1-71f6-4ed5-8c54-816aa4f8c502:test-key-012345678X"),
        basic("23bc46b1-71f6-4ed5-8c54-816aa4f8c502:"),
        "Bearer x".to_owned(),
        "Basic %%%".to_owned(),
    ] {
        let refused = http(addr, "POST", &path, &[("authorization", &wrong)], b"{}").await;
        assert_ow_error(&refused, 401);
    }
    assert_eq!(local.stats().functions[FN].invocations, 0);

    let listed = ow(addr, "GET", "/api/v1/namespaces", "").await;
    assert_eq!(listed.json(), json!(["guest"]));
    let action = ow(addr, "GET", &path, "").await;
    assert_eq!(action.status, 200, "{}", action.text());
    assert_eq!(action.json()["name"], FN);
    // The counters need no credential, as in Lambda mode.
    let stats = http(addr, "GET", "/local/stats", &[], b"").await;
    assert_eq!(stats.status, 200);
    assert!(stats.json()["functions"][FN].is_object());
    assert_eq!(local.openwhisk_auth(), Some(AUTH));
    local.shutdown().await;
}

#[tokio::test]
async fn unknown_things_are_404_and_bad_requests_400() {
    let local = start(vec![action_function(FN)]).await;
    let addr = local.addr();
    let missing = "The requested resource does not exist.";
    assert_eq!(
        assert_ow_error(&ow(addr, "GET", &action_url("nope"), "").await, 404),
        missing
    );
    assert_eq!(
        assert_ow_error(&invoke(addr, "nope", "blocking=true", json!({})).await, 404),
        missing
    );
    assert_eq!(
        assert_ow_error(&ow(addr, "DELETE", &action_url("pkg/nope"), "").await, 404),
        missing
    );
    assert_eq!(
        assert_ow_error(&ow(addr, "GET", "/no/such/path", "").await, 404),
        missing
    );
    let activation = format!("/api/v1/namespaces/_/activations/{}", "0".repeat(32));
    assert_eq!(
        assert_ow_error(&ow(addr, "GET", &activation, "").await, 404),
        missing
    );

    let other = ow(addr, "GET", "/api/v1/namespaces/someone/actions/echo", "").await;
    assert!(assert_ow_error(&other, 403).contains("not authorized"));
    for bad in ["-bad", "a/b/c", "a%2Fb%2Fc", "bad%00name", "%FF"] {
        assert_ow_error(&ow(addr, "GET", &action_url(bad), "").await, 400);
    }
    assert_ow_error(
        &ow(addr, "GET", "/api/v1/namespaces/_/activations/xyz", "").await,
        400,
    );
    assert_ow_error(&invoke(addr, FN, "blocking=maybe", json!({})).await, 400);
    for body in ["[1,2]", "\"text\"", "{\"unterminated\":", "\u{0}"] {
        let path = format!("{}?blocking=true", action_url(FN));
        let refused = ow(addr, "POST", &path, body).await;
        assert!(
            assert_ow_error(&refused, 400).contains("malformed"),
            "{body}"
        );
    }
    let huge = format!("{{\"blob\":\"{}\"}}", "x".repeat(faas_local::PAYLOAD_LIMIT));
    let path = format!("{}?blocking=true", action_url(FN));
    assert_ow_error(&ow(addr, "POST", &path, &huge).await, 413);
    let patch = ow(addr, "PATCH", &action_url(FN), "").await;
    assert_ow_error(&patch, 405);
    // Web pages stay out, in OpenWhisk's shape.
    let auth = basic(AUTH);
    let from_page = http(
        addr,
        "GET",
        &action_url(FN),
        &[("authorization", &auth), ("origin", "http://evil.example")],
        b"",
    )
    .await;
    assert_ow_error(&from_page, 403);
    let stats = &local.stats().functions[FN];
    assert_eq!((stats.invocations, stats.instances), (0, 0));
    local.shutdown().await;
}

#[tokio::test]
async fn actions_are_put_read_updated_and_deleted() {
    let local = start(vec![]).await;
    let addr = local.addr();
    let path = action_url("pkg/made");

    let created = ow(
        addr,
        "PUT",
        &path,
        &blackbox(json!({ "timeout": 3000, "memory": 256, "concurrency": 1 })),
    )
    .await;
    assert_eq!(created.status, 200, "{}", created.text());
    let document = created.json();
    assert_eq!(document["namespace"], "guest/pkg");
    assert_eq!(document["name"], "made");
    assert_eq!(document["exec"]["kind"], "blackbox");
    assert_eq!(document["limits"]["timeout"], 3000);
    assert_eq!(document["version"], "0.0.1");
    assert_eq!(ow(addr, "GET", &path, "").await.json(), document);

    let again = ow(addr, "PUT", &path, &blackbox(json!({}))).await;
    assert_eq!(assert_ow_error(&again, 409), "resource already exists");
    let updated = ow(
        addr,
        "PUT",
        &format!("{path}?overwrite=true"),
        r#"{"limits":{"memory":512}}"#,
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text());
    let updated = updated.json();
    assert_eq!(
        (
            updated["limits"]["memory"].clone(),
            updated["limits"]["timeout"].clone()
        ),
        (json!(512), json!(3000))
    );
    assert_eq!(updated["version"], "0.0.2");

    let ran = invoke(
        addr,
        "pkg/made",
        "blocking=true&result=true",
        json!({ "hi": 1 }),
    )
    .await;
    assert_eq!(ran.status, 200, "{}", ran.text());
    assert_eq!(ran.json(), json!({ "hi": 1 }));
    assert_eq!(local.stats().functions["pkg/made"].memory_mb, 512);

    let listed = ow(addr, "GET", "/api/v1/namespaces/guest/actions", "")
        .await
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let deleted = ow(addr, "DELETE", &path, "").await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["name"], "made");
    assert_ow_error(&ow(addr, "GET", &path, "").await, 404);
    assert!(local.stats().functions.is_empty());

    for bad in [
        json!({ "exec": { "kind": "nodejs:20", "code": "function main() {}" } }).to_string(),
        json!({ "exec": { "kind": "blackbox" } }).to_string(),
        blackbox(json!({ "timeout": 10 })),
        blackbox(json!({ "memory": 100_000 })),
        blackbox(json!({ "concurrency": 0 })),
        "{\"exec\":".to_owned(),
        "[]".to_owned(),
        String::new(),
    ] {
        let refused = ow(addr, "PUT", &action_url("bad"), &bad).await;
        assert_ow_error(&refused, 400);
    }
    assert_ow_error(&ow(addr, "GET", &action_url("bad"), "").await, 404);
    local.shutdown().await;
}

#[tokio::test]
async fn blocking_invokes_answer_with_the_result_or_the_record() {
    let local = start(vec![action_function(FN)]).await;
    let addr = local.addr();

    let result = invoke(
        addr,
        FN,
        "blocking=true&result=true",
        json!({ "hello": "world" }),
    )
    .await;
    assert_eq!(result.status, 200, "{}", result.text());
    assert_eq!(result.json(), json!({ "hello": "world" }));
    assert!(result.header("x-openwhisk-activation-id").is_some());

    let record = invoke(addr, FN, "blocking=true", json!({ "n": 2 })).await;
    assert_eq!(record.status, 200, "{}", record.text());
    let record = record.json();
    assert_eq!(record["response"]["status"], "success");
    assert_eq!(record["response"]["success"], true);
    assert_eq!(record["response"]["result"], json!({ "n": 2 }));
    assert_eq!(record["name"], FN);
    let id = record["activationId"].as_str().unwrap().to_owned();
    let stored = ow(
        addr,
        "GET",
        &format!("/api/v1/namespaces/_/activations/{id}"),
        "",
    )
    .await;
    assert_eq!(stored.json(), record);

    let described = invoke(
        addr,
        FN,
        "blocking=true&result=true",
        json!({ "describe": true }),
    )
    .await
    .json();
    assert_eq!(described["run"]["action_name"], "/guest/echo");
    assert_eq!(described["run"]["namespace"], "guest");
    assert_eq!(described["inits"], 1, "one /init per instance");
    assert!(described["instance_id"]
        .as_str()
        .unwrap()
        .starts_with("echo-"));
    let deadline: u64 = described["run"]["deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline > 1_700_000_000_000);

    let failed = invoke(
        addr,
        FN,
        "blocking=true&result=true",
        json!({ "error": "no way" }),
    )
    .await;
    assert_eq!(failed.status, 502);
    assert_eq!(failed.json(), json!({ "error": "no way" }));
    let failed = invoke(addr, FN, "blocking=true", json!({ "error": "no way" })).await;
    assert_eq!(failed.status, 502);
    assert_eq!(failed.json()["response"]["status"], "application error");

    let nonsense = invoke(addr, FN, "blocking=true", json!({ "not-an-object": true })).await;
    assert_eq!(nonsense.status, 502);
    assert_eq!(
        nonsense.json()["response"]["status"],
        "action developer error"
    );

    let crashed = invoke(
        addr,
        FN,
        "blocking=true&result=true",
        json!({ "crash": true }),
    )
    .await;
    assert_eq!(crashed.status, 502, "{}", crashed.text());
    assert!(
        crashed.json()["error"].as_str().unwrap().contains("exited"),
        "{}",
        crashed.text()
    );

    let stats = &local.stats().functions[FN];
    assert_eq!(stats.cold_starts, 1);
    assert_eq!((stats.invocations, stats.errors), (7, 4));
    local.shutdown().await;
}

#[tokio::test]
async fn an_action_past_its_timeout_is_stopped() {
    let local = start(vec![]).await;
    let addr = local.addr();
    let put = ow(
        addr,
        "PUT",
        &action_url("slow"),
        &blackbox(json!({ "timeout": 300 })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let slow = invoke(addr, "slow", "blocking=true", json!({ "sleep": 30 })).await;
    assert_eq!(slow.status, 502, "{}", slow.text());
    let record = slow.json();
    assert_eq!(
        record["response"]["result"]["error"],
        "The action exceeded its time limits of 300 milliseconds."
    );
    assert_eq!(
        record["annotations"][3],
        json!({ "key": "timeout", "value": true })
    );
    local.shutdown().await;
}

#[tokio::test]
async fn past_the_blocking_wait_the_answer_is_202_and_the_activation_completes() {
    let local = start_openwhisk(
        vec![action_function(FN)],
        action_dir(),
        Duration::from_millis(300),
    )
    .await;
    let addr = local.addr();
    let gate = unique_path("ow-gate");

    let waiting = invoke(
        addr,
        FN,
        "blocking=true&result=true",
        json!({ "wait": gate }),
    )
    .await;
    assert_eq!(waiting.status, 202, "{}", waiting.text());
    let id = waiting.json()["activationId"].as_str().unwrap().to_owned();
    assert_eq!(
        waiting.header("x-openwhisk-activation-id"),
        Some(id.as_str())
    );
    let path = format!("/api/v1/namespaces/_/activations/{id}");
    assert_ow_error(&ow(addr, "GET", &path, "").await, 404);
    assert_eq!(
        local.stats().functions[FN].busy,
        1,
        "the activation keeps running"
    );

    std::fs::write(&gate, "").unwrap();
    let mut record = None;
    for _ in 0..250 {
        let answer = ow(addr, "GET", &path, "").await;
        if answer.status == 200 {
            record = Some(answer.json());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let record = record.expect("the activation completes");
    assert_eq!(record["activationId"], id);
    assert_eq!(record["response"]["result"], json!({ "wait": gate }));
    let result = ow(addr, "GET", &format!("{path}/result"), "").await.json();
    assert_eq!(result["success"], true);

    // Non-blocking: 202 at once, the record later.
    let queued = invoke(addr, FN, "", json!({ "later": true })).await;
    assert_eq!(queued.status, 202);
    let id = queued.json()["activationId"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/namespaces/_/activations/{id}");
    let mut done = false;
    for _ in 0..250 {
        if ow(addr, "GET", &path, "").await.status == 200 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(done, "the non-blocking activation completes");
    let _ = std::fs::remove_file(&gate);
    local.shutdown().await;
}

#[tokio::test]
async fn throttles_past_the_concurrency_limit() {
    let mut function = action_function(FN);
    function.concurrency_limit = 2;
    let local = start(vec![function]).await;
    let addr = local.addr();
    let gate = unique_path("ow-throttle");

    let running: Vec<_> = (0..2)
        .map(|_| {
            let gate = gate.clone();
            tokio::spawn(async move {
                invoke(
                    addr,
                    FN,
                    "blocking=true&result=true",
                    json!({ "wait": gate }),
                )
                .await
            })
        })
        .collect();
    wait_until("both instances are busy", || {
        local.stats().functions[FN].busy == 2
    })
    .await;

    let throttled = invoke(addr, FN, "blocking=true&result=true", json!({})).await;
    assert_eq!(
        assert_ow_error(&throttled, 429),
        "Too many concurrent requests in flight (count: 2, allowed: 2)."
    );
    let non_blocking = invoke(addr, FN, "", json!({})).await;
    assert_ow_error(&non_blocking, 429);

    std::fs::write(&gate, "").unwrap();
    for answer in running {
        let answer = answer.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    let stats = &local.stats().functions[FN];
    assert_eq!((stats.invocations, stats.throttles), (2, 2));
    let _ = std::fs::remove_file(&gate);
    local.shutdown().await;
}

/// `dist/` as `make build` leaves it (or `SEMIFAAS_DIST`).
fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("SEMIFAAS_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    assert!(
        dir.join("bootstrap").is_file(),
        "no bootstrap in {}: run `make build` first, or set SEMIFAAS_DIST",
        dir.display()
    );
    dir
}

#[tokio::test]
async fn the_real_bootstrap_answers_the_smoke_invocation() {
    let dist = dist_dir();
    let mut function = FunctionConfig::new("semifaas", &dist);
    function.timeout = Duration::from_secs(60);
    let local = start_openwhisk(vec![function], dist, Duration::from_secs(60)).await;
    let smoke: Value = serde_json::from_str(semifaas_closure::SMOKE_PAYLOAD).unwrap();
    let reply = invoke(local.addr(), "semifaas", "blocking=true&result=true", smoke).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply: semifaas_closure::SmokeReply =
        serde_json::from_slice(&reply.body).expect("a SmokeReply");
    assert!(!reply.java_version.is_empty());
    assert!(reply.instance_id.starts_with("semifaas-"), "{reply:?}");
    let stats = &local.stats().functions["semifaas"];
    assert_eq!(
        (stats.cold_starts, stats.invocations, stats.errors),
        (1, 1, 0)
    );
    local.shutdown().await;
}
