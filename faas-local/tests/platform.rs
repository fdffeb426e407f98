//! faas-local end to end over real sockets, with the fixture runtime as real processes.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use faas_local::{ConfigError, FaasLocalConfig, FaasLocalError, FunctionConfig, PlatformStats};
use serde_json::{json, Value};

const FN: &str = "echo";

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn assert_function_error(response: &HttpResponse, error_type: &str) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-amz-function-error"), Some("Unhandled"));
    let body = response.json();
    assert_eq!(body["errorType"], error_type, "{body}");
    body
}

fn assert_api_error(response: &HttpResponse, status: u16, error_type: &str) -> Value {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.header("x-amzn-errortype"), Some(error_type));
    assert!(response.header("x-amzn-requestid").is_some());
    let body = response.json();
    assert_eq!(body["Type"], "User", "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    body
}

#[tokio::test]
async fn echo_round_trip_then_warm_reuse() {
    let local = start(vec![echo_function(FN)]).await;
    let payload = r#"{"hello":"world","n":[1,2,3]}"#;

    let first = invoke(local.addr(), FN, payload).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), payload);
    assert_eq!(first.header("x-amz-executed-version"), Some("$LATEST"));
    assert_eq!(first.header("x-amz-function-error"), None);
    assert!(first.header("x-amzn-requestid").is_some());
    let stats = &local.stats().functions[FN];
    assert_eq!((stats.cold_starts, stats.invocations), (1, 1));
    assert_eq!(stats.cold_start_ms.len(), 1);

    let large = json!({ "blob": "x".repeat(100_000) }).to_string();
    let second = invoke(local.addr(), FN, &large).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.text(), large);
    let stats = &local.stats().functions[FN];
    assert_eq!(stats.cold_starts, 1, "the warm instance is reused");
    assert_eq!((stats.invocations, stats.errors), (2, 0));
    assert_eq!((stats.instances, stats.idle, stats.busy), (1, 1, 0));
    local.shutdown().await;
}

#[tokio::test]
async fn instance_gets_the_lambda_environment() {
    captured_logs();
    let mut function = echo_function(FN);
    function.memory_mb = 512;
    function.env = BTreeMap::from([("ECHO_CUSTOM".to_owned(), "from config".to_owned())]);
    let local = start(vec![function]).await;
    let before = epoch_ms();
    let response = invoke(local.addr(), FN, r#""describe""#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let env = response.json();
    assert_eq!(env["function"], FN);
    assert_eq!(env["version"], "$LATEST");
    assert_eq!(env["memory"], "512");
    assert_eq!(env["task_root"], fixture_dir().to_str().unwrap());
    assert_eq!(env["handler"], "bootstrap");
    assert_eq!(env["region"], "us-east-1");
    assert_eq!(env["log_group"], "/aws/lambda/echo");
    assert_eq!(env["custom"], "from config");
    assert_eq!(
        env["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    let deadline = env["deadline_ms"]
        .as_u64()
        .expect("deadline header is a number");
    assert!(
        deadline > before,
        "deadline {deadline} is in the future of {before}"
    );
    assert!(process_alive(env["pid"].as_u64().unwrap()));

    // Its stderr line comes out tagged with the instance, with one timestamp, without colours.
    let said = format!("described by pid {}", env["pid"]);
    wait_until("the instance's line is forwarded", || {
        captured_logs().contains(&said)
    })
    .await;
    let logs = captured_logs();
    let line = logs.lines().find(|l| l.contains(&said)).unwrap();
    assert!(
        line.contains("INFO instance{function=echo id=echo-"),
        "{line:?}"
    );
    assert!(line.ends_with(&format!(" INFO echo: {said}")), "{line:?}");
    assert_eq!(timestamps_in(line), 1, "{line:?}");
    assert!(
        timestamps_in(&line[..30]) == 1,
        "it starts the line: {line:?}"
    );
    assert!(!line.contains('\x1b') && !line.contains("x1b"), "{line:?}");
    local.shutdown().await;
}

#[tokio::test]
async fn throttles_past_the_concurrency_limit() {
    let mut function = echo_function(FN);
    function.concurrency_limit = 2;
    let local = start(vec![function]).await;
    let gate = unique_path("gate");
    let blocked = format!("\"wait:{}\"", gate.display());

    let addr = local.addr();
    let running: Vec<_> = (0..2)
        .map(|_| {
            let blocked = blocked.clone();
            tokio::spawn(async move { invoke(addr, FN, &blocked).await })
        })
        .collect();
    wait_until("both instances are busy", || {
        local.stats().functions[FN].busy == 2
    })
    .await;

    let throttled = invoke(addr, FN, r#""more""#).await;
    let body = assert_api_error(&throttled, 429, "TooManyRequestsException");
    assert_eq!(body["Reason"], "ConcurrentInvocationLimitExceeded");

    std::fs::write(&gate, b"").unwrap();
    for invocation in running {
        let response = invocation.await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.text(), blocked);
    }
    std::fs::remove_file(&gate).unwrap();
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.throttles, stats.invocations, stats.cold_starts),
        (1, 2, 2)
    );
    // Both ran together until a moment ago; the throttled one never ran.
    assert_eq!(stats.recent_peak_concurrency, 2);
    local.shutdown().await;
}

#[tokio::test]
async fn instance_starts_are_paced_until_the_first_invocation_ends() {
    let mut function = echo_function(FN);
    function.max_starting = 1;
    let local = start(vec![function]).await;
    let gate = unique_path("gate");
    let blocked = format!("\"wait:{}\"", gate.display());
    let addr = local.addr();

    // The first instance is starting until its first invocation ends.
    let first = {
        let blocked = blocked.clone();
        tokio::spawn(async move { invoke(addr, FN, &blocked).await })
    };
    wait_until("one instance is busy", || {
        local.stats().functions[FN].busy == 1
    })
    .await;
    let paced = invoke(addr, FN, r#""more""#).await;
    let body = assert_api_error(&paced, 429, "TooManyRequestsException");
    assert_eq!(body["Reason"], "FunctionInvocationRateLimitExceeded");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already starting 1"),
        "{body}"
    );

    std::fs::write(&gate, b"").unwrap();
    assert_eq!(first.await.unwrap().status, 200);
    std::fs::remove_file(&gate).unwrap();

    // Up and warm: the next invocations take it and may start one more.
    let gate = unique_path("gate");
    let blocked = format!("\"wait:{}\"", gate.display());
    let running: Vec<_> = (0..2)
        .map(|_| {
            let blocked = blocked.clone();
            tokio::spawn(async move { invoke(addr, FN, &blocked).await })
        })
        .collect();
    wait_until("two instances are busy", || {
        local.stats().functions[FN].busy == 2
    })
    .await;
    std::fs::write(&gate, b"").unwrap();
    for invocation in running {
        assert_eq!(invocation.await.unwrap().status, 200);
    }
    std::fs::remove_file(&gate).unwrap();
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.throttles, stats.invocations, stats.cold_starts),
        (1, 3, 2)
    );
    local.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_lambda_errors() {
    let local = start(vec![echo_function(FN)]).await;
    let addr = local.addr();

    let missing = invoke(addr, "nope", "{}").await;
    assert_api_error(&missing, 404, "ResourceNotFoundException");

    let oversized = vec![b' '; faas_local::PAYLOAD_LIMIT + 1];
    let too_large = http(
        addr,
        "POST",
        "/2015-03-31/functions/echo/invocations",
        &[],
        &oversized,
    )
    .await;
    assert_api_error(&too_large, 413, "RequestTooLargeException");

    let not_json = invoke(addr, FN, "{not json").await;
    assert_api_error(&not_json, 400, "InvalidRequestContentException");

    let event = http(
        addr,
        "POST",
        "/2015-03-31/functions/echo/invocations",
        &[("x-amz-invocation-type", "Event")],
        b"{}",
    )
    .await;
    assert_api_error(&event, 400, "InvalidParameterValueException");

    let unknown = http(addr, "GET", "/2015-03-31/nothing-here", &[], b"").await;
    assert_api_error(&unknown, 404, "UnknownOperationException");

    // None of that reached an instance.
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.instances, stats.invocations, stats.cold_starts),
        (0, 0, 0)
    );

    let dry_run = http(
        addr,
        "POST",
        "/2015-03-31/functions/echo/invocations",
        &[("x-amz-invocation-type", "DryRun")],
        b"{}",
    )
    .await;
    assert_eq!(dry_run.status, 204);

    let by_arn = invoke(
        addr,
        "arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST",
        r#""by arn""#,
    )
    .await;
    assert_eq!(
        (by_arn.status, by_arn.text().as_str()),
        (200, r#""by arn""#)
    );
    local.shutdown().await;
}

#[tokio::test]
async fn function_error_keeps_the_instance() {
    let local = start(vec![echo_function(FN)]).await;
    let failed = invoke(local.addr(), FN, r#""error""#).await;
    let body = assert_function_error(&failed, "Fixture.Failure");
    assert_eq!(body["errorMessage"], "asked to fail");

    let next = invoke(local.addr(), FN, r#""after""#).await;
    assert_eq!((next.status, next.text().as_str()), (200, r#""after""#));
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.errors, stats.invocations, stats.cold_starts),
        (1, 2, 1)
    );
    local.shutdown().await;
}

#[tokio::test]
async fn oversized_response_is_response_size_too_large_and_keeps_the_instance() {
    let local = start(vec![echo_function(FN)]).await;
    let oversized = invoke(local.addr(), FN, r#""oversized""#).await;
    let body = assert_function_error(&oversized, "Function.ResponseSizeTooLarge");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("6291456"), "names the limit: {message}");

    let next = invoke(local.addr(), FN, r#""after""#).await;
    assert_eq!((next.status, next.text().as_str()), (200, r#""after""#));
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.errors, stats.invocations, stats.cold_starts),
        (1, 2, 1)
    );
    local.shutdown().await;
}

#[tokio::test]
async fn crash_is_an_exit_error_and_the_next_invoke_starts_fresh() {
    let local = start(vec![echo_function(FN)]).await;
    let crashed = invoke(local.addr(), FN, r#""crash""#).await;
    let body = assert_function_error(&crashed, "Runtime.ExitError");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(message.contains("exit status: 3"), "{message}");

    let next = invoke(local.addr(), FN, r#""again""#).await;
    assert_eq!((next.status, next.text().as_str()), (200, r#""again""#));
    let stats = &local.stats().functions[FN];
    assert_eq!(
        (stats.errors, stats.cold_starts, stats.instances),
        (1, 2, 1)
    );
    local.shutdown().await;
}

#[tokio::test]
async fn timeout_is_sandbox_timedout_and_kills_the_instance() {
    let mut function = echo_function(FN);
    function.timeout = Duration::from_secs(1);
    let local = start(vec![function]).await;
    let pid = invoke(local.addr(), FN, r#""describe""#).await.json()["pid"]
        .as_u64()
        .unwrap();

    let timed_out = invoke(local.addr(), FN, r#""sleep""#).await;
    let body = assert_function_error(&timed_out, "Sandbox.Timedout");
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("Task timed out after 1.00 seconds"));
    wait_until("the timed-out instance is gone", || !process_alive(pid)).await;
    wait_until("the pool forgot it", || {
        local.stats().functions[FN].instances == 0
    })
    .await;
    assert_eq!(local.stats().functions[FN].errors, 1);
    local.shutdown().await;
}

/// What Lambda would bill: each invocation from the runtime taking it to its end (a timeout
/// bills the whole timeout), the cold start's init, and the configured memory.
#[tokio::test]
async fn stats_count_billed_time_like_lambda() {
    let mut function = echo_function(FN);
    function.timeout = Duration::from_secs(1);
    function.memory_mb = 512;
    let local = start(vec![function]).await;
    // Warm first, so that the wait below starts as the timer does.
    assert_eq!(invoke(local.addr(), FN, "{}").await.status, 200);
    let release = unique_path("billed");
    let held = Duration::from_millis(300);
    let releasing = {
        let release = release.clone();
        tokio::spawn(async move {
            tokio::time::sleep(held).await;
            std::fs::write(release, b"").unwrap();
        })
    };
    let waited = invoke(
        local.addr(),
        FN,
        &format!(r#""wait:{}""#, release.display()),
    )
    .await;
    assert_eq!(waited.status, 200);
    releasing.await.unwrap();
    assert_function_error(
        &invoke(local.addr(), FN, r#""sleep""#).await,
        "Sandbox.Timedout",
    );

    let stats = &local.stats().functions[FN];
    assert_eq!((stats.invocations, stats.memory_mb), (3, 512));
    // About 300 ms held by the wait and 1 s by the timeout (a few ms of each go to the round
    // trips); slack above for a loaded machine.
    assert!(
        (1_250..3_000).contains(&stats.billed_ms),
        "billed {} ms",
        stats.billed_ms
    );
    assert!(stats.init_ms >= stats.cold_start_ms[0], "{stats:?}");
    // The timeout's invocation ran until a moment ago, one at a time.
    assert_eq!(stats.recent_peak_concurrency, 1);
    local.shutdown().await;
}

#[tokio::test]
async fn idle_instance_stops_after_keep_alive() {
    let mut function = echo_function(FN);
    function.keep_alive = Duration::from_millis(300);
    let local = start(vec![function]).await;
    let pid = invoke(local.addr(), FN, r#""describe""#).await.json()["pid"]
        .as_u64()
        .unwrap();
    wait_until("the idle instance is stopped", || !process_alive(pid)).await;
    wait_until("the pool is empty", || {
        local.stats().functions[FN].instances == 0
    })
    .await;

    let next = invoke(local.addr(), FN, r#""back""#).await;
    assert_eq!(next.status, 200);
    assert_eq!(local.stats().functions[FN].cold_starts, 2);
    local.shutdown().await;
}

#[tokio::test]
async fn init_error_fails_the_invocation() {
    let mut function = echo_function(FN);
    function
        .env
        .insert("ECHO_INIT_ERROR".to_owned(), "config missing".to_owned());
    let local = start(vec![function]).await;
    let failed = invoke(local.addr(), FN, r#""x""#).await;
    let body = assert_function_error(&failed, "Runtime.InitError");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains("Fixture.InitFailure: config missing"),
        "{message}"
    );
    wait_until("the failed instance is gone", || {
        local.stats().functions[FN].instances == 0
    })
    .await;
    assert_eq!(local.stats().functions[FN].errors, 1);
    local.shutdown().await;
}

#[tokio::test]
async fn runtime_api_rejects_bad_posts_and_keeps_the_invocation() {
    let local = start(vec![echo_function(FN)]).await;
    let response = invoke(local.addr(), FN, r#""runtime-api-errors""#).await;
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({ "bad_error_body": 400, "unknown_request_id": 404 })
    );
    local.shutdown().await;
}

#[tokio::test]
async fn unstartable_bootstrap_is_an_invalid_entrypoint() {
    let dir = unique_path("not-executable");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bootstrap"), "not a program").unwrap();
    let local = start(vec![FunctionConfig::new(FN, &dir)]).await;
    let failed = invoke(local.addr(), FN, "{}").await;
    let body = assert_function_error(&failed, "Runtime.InvalidEntrypoint");
    assert!(body["errorMessage"].as_str().unwrap().contains("bootstrap"));
    assert_eq!(local.stats().functions[FN].instances, 0);
    local.shutdown().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn create_get_list_delete_functions() {
    let local = start(vec![]).await;
    let addr = local.addr();
    let create = |body: Value| async move {
        http(
            addr,
            "POST",
            "/2015-03-31/functions",
            &[],
            body.to_string().as_bytes(),
        )
        .await
    };
    let spec = json!({
        "FunctionName": "made",
        "Timeout": 5,
        "MemorySize": 256,
        "Environment": { "Variables": { "ECHO_CUSTOM": "created" } },
        "CodeDirectory": fixture_dir(),
    });

    let created = create(spec.clone()).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let configuration = created.json();
    assert_eq!(configuration["FunctionName"], "made");
    assert_eq!(configuration["Timeout"], 5);
    assert_eq!(configuration["MemorySize"], 256);
    assert_eq!(
        configuration["FunctionArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:made"
    );

    assert_api_error(&create(spec).await, 409, "ResourceConflictException");
    let no_dir = create(json!({ "FunctionName": "other" })).await;
    assert_api_error(&no_dir, 400, "InvalidParameterValueException");
    let empty_dir = std::env::temp_dir();
    let no_bootstrap = create(json!({ "FunctionName": "other", "CodeDirectory": empty_dir })).await;
    let body = assert_api_error(&no_bootstrap, 400, "InvalidParameterValueException");
    assert!(body["message"].as_str().unwrap().contains("bootstrap"));
    let bad_name =
        create(json!({ "FunctionName": "bad name", "CodeDirectory": fixture_dir() })).await;
    assert_api_error(&bad_name, 400, "InvalidParameterValueException");
    let garbage = http(addr, "POST", "/2015-03-31/functions", &[], b"{{").await;
    assert_api_error(&garbage, 400, "InvalidRequestContentException");

    let got = http(addr, "GET", "/2015-03-31/functions/made", &[], b"").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["Configuration"]["FunctionName"], "made");
    let list = http(addr, "GET", "/2015-03-31/functions/", &[], b"").await;
    assert_eq!(list.json()["Functions"][0]["FunctionName"], "made");
    assert_eq!(list.json()["Functions"].as_array().unwrap().len(), 1);

    let described = invoke(addr, "made", r#""describe""#).await.json();
    assert_eq!(described["custom"], "created");
    let pid = described["pid"].as_u64().unwrap();

    let deleted = http(addr, "DELETE", "/2015-03-31/functions/made", &[], b"").await;
    assert_eq!(deleted.status, 204);
    wait_until("the deleted function's instance is gone", || {
        !process_alive(pid)
    })
    .await;
    let gone = http(addr, "GET", "/2015-03-31/functions/made", &[], b"").await;
    assert_api_error(&gone, 404, "ResourceNotFoundException");
    let again = http(addr, "DELETE", "/2015-03-31/functions/made", &[], b"").await;
    assert_api_error(&again, 404, "ResourceNotFoundException");
    assert_api_error(
        &invoke(addr, "made", "{}").await,
        404,
        "ResourceNotFoundException",
    );
    local.shutdown().await;
}

#[tokio::test]
async fn stats_endpoint_matches_the_library_view() {
    let local = start(vec![echo_function(FN), echo_function("second")]).await;
    invoke(local.addr(), FN, "{}").await;
    let response = http(local.addr(), "GET", "/local/stats", &[], b"").await;
    assert_eq!(response.status, 200);
    let stats: PlatformStats = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(stats, local.stats());
    assert_eq!(stats.functions[FN].invocations, 1);
    assert_eq!(stats.functions["second"].invocations, 0);
    let raw = response.json();
    for key in [
        "instances",
        "idle",
        "busy",
        "cold_starts",
        "cold_start_ms",
        "invocations",
        "throttles",
        "errors",
        "memory_mb",
        "billed_ms",
        "init_ms",
        "recent_peak_concurrency",
    ] {
        assert!(raw["functions"][FN].get(key).is_some(), "missing {key}");
    }
    local.shutdown().await;
}

#[tokio::test]
async fn prewarm_starts_idle_instances() {
    let local = start(vec![echo_function(FN)]).await;
    assert_eq!(local.prewarm(FN, 2).await.unwrap(), 2);
    let stats = &local.stats().functions[FN];
    assert_eq!((stats.idle, stats.cold_starts), (2, 2));
    let response = invoke(local.addr(), FN, "{}").await;
    assert_eq!(response.status, 200);
    assert_eq!(local.stats().functions[FN].cold_starts, 2, "served warm");
    assert!(matches!(
        local.prewarm("nope", 1).await,
        Err(FaasLocalError::UnknownFunction(_))
    ));
    local.shutdown().await;
}

#[tokio::test]
async fn provisioned_instances_start_with_the_function_and_survive_keep_alive() {
    let mut function = echo_function(FN);
    function.provisioned = 2;
    function.keep_alive = Duration::from_millis(50);
    let local = start(vec![function]).await;
    wait_until("two provisioned instances are idle", || {
        local.stats().functions[FN].idle == 2
    })
    .await;
    // Well past the keep-alive, an invocation is still served warm and nothing was reaped.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = invoke(local.addr(), FN, r#""describe""#).await.json()["pid"]
        .as_u64()
        .unwrap();
    let stats = &local.stats().functions[FN];
    assert_eq!((stats.instances, stats.cold_starts), (2, 2), "{stats:?}");

    // A provisioned instance that dies is replaced.
    // SAFETY: kill(2) on a child process id this test just read; no memory is involved.
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    wait_until("the dead instance is replaced", || {
        let stats = &local.stats().functions[FN];
        stats.cold_starts == 3 && stats.idle == 2
    })
    .await;
    local.shutdown().await;
}

#[tokio::test]
async fn provisioned_above_the_concurrency_limit_is_refused() {
    let mut function = echo_function(FN);
    function.provisioned = function.concurrency_limit + 1;
    let mut config = FaasLocalConfig::new("127.0.0.1:0".parse().unwrap());
    config.functions = vec![function];
    let error = faas_local::FaasLocal::start(config).await.err();
    assert!(
        matches!(
            &error,
            Some(FaasLocalError::Config(ConfigError::Provisioned {
                provisioned: 5,
                limit: 4,
                ..
            }))
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn shutdown_kills_instances() {
    let local = start(vec![echo_function(FN)]).await;
    let pid = invoke(local.addr(), FN, r#""describe""#).await.json()["pid"]
        .as_u64()
        .unwrap();
    assert!(process_alive(pid));
    local.shutdown().await;
    assert!(!process_alive(pid), "instance {pid} survived shutdown");
}

#[tokio::test]
async fn start_rejects_bad_configuration() {
    let start_with = |functions: Vec<FunctionConfig>| async move {
        let mut config = FaasLocalConfig::new("127.0.0.1:0".parse().unwrap());
        config.functions = functions;
        faas_local::FaasLocal::start(config).await.err()
    };
    let missing = start_with(vec![FunctionConfig::new(FN, "/nonexistent")]).await;
    assert!(matches!(
        missing,
        Some(FaasLocalError::Config(ConfigError::MissingBootstrap { .. }))
    ));
    let twice = start_with(vec![echo_function(FN), echo_function(FN)]).await;
    assert!(matches!(twice, Some(FaasLocalError::DuplicateFunction(name)) if name == FN));
    let mut zero = echo_function(FN);
    zero.concurrency_limit = 0;
    assert!(matches!(
        start_with(vec![zero]).await,
        Some(FaasLocalError::Config(ConfigError::ZeroConcurrency { .. }))
    ));
    let mut reserved = echo_function(FN);
    reserved
        .env
        .insert("AWS_LAMBDA_RUNTIME_API".to_owned(), "x".to_owned());
    assert!(matches!(
        start_with(vec![reserved]).await,
        Some(FaasLocalError::Config(ConfigError::ReservedEnv { .. }))
    ));

    let taken = start(vec![]).await;
    let mut config = FaasLocalConfig::new(taken.addr());
    config.functions = vec![];
    let error = faas_local::FaasLocal::start(config).await.err().unwrap();
    assert!(
        error.to_string().contains(&taken.addr().to_string()),
        "{error}"
    );
    taken.shutdown().await;
}
