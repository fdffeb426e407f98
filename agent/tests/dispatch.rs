//! The dispatcher against a real HTTP server speaking the Lambda Invoke API: each way an
//! offload can end maps to its outcome or failure reason.

mod common;

use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};

use semifaas_agent::{
    closures::InFlight,
    config::AgentConfig,
    dispatch::{Dispatcher, OffloadFailure},
    policy::Ratios,
    stats::{FailureReason, Stats},
};
use semifaas_closure::{limits::ARGS_MAX, ClosureId, FallbackEndpoint, InvocationOutcome};

struct Setup {
    dispatcher: Dispatcher,
    in_flight: Arc<InFlight>,
    stats: Arc<Stats>,
}

async fn dispatcher(endpoint: String, function: &str, timeout: Duration) -> Setup {
    let config = AgentConfig {
        lambda_endpoint: Some(endpoint),
        function: function.into(),
        timeout,
        ..AgentConfig::default()
    };
    let fallback = FallbackEndpoint {
        addr: "127.0.0.1:1".into(),
        server_name: "semifaas-fallback".into(),
        cert_sha256: [0; 32],
    };
    let in_flight = Arc::new(InFlight::new());
    let stats = Arc::new(Stats::new());
    let dispatcher = Dispatcher::new(&config, fallback, in_flight.clone(), stats.clone())
        .await
        .unwrap();
    Setup {
        dispatcher,
        in_flight,
        stats,
    }
}

const H: &str = "com.example.ImageController#resize";

async fn offload(
    url: &str,
    function: &str,
    timeout: Duration,
) -> (Result<InvocationOutcome, OffloadFailure>, Setup) {
    let setup = dispatcher(url.to_owned(), function, timeout).await;
    let result = setup
        .dispatcher
        .offload(H, ClosureId([5; 32]), b"args".to_vec(), 0)
        .await
        .map(|answered| answered.outcome);
    assert!(
        setup.in_flight.is_empty(),
        "{function}: the invocation must leave the in-flight table"
    );
    (result, setup)
}

fn reason(result: &Result<InvocationOutcome, OffloadFailure>) -> FailureReason {
    result.as_ref().expect_err("the offload must fail").reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_outcomes_come_back_with_their_bytes() {
    let (addr, log) = common::start_platform(None).await;
    let url = format!("http://{addr}");

    let (result, setup) = offload(&url, "echo", Duration::from_secs(10)).await;
    assert_eq!(
        result.unwrap(),
        InvocationOutcome::Returned(b"args".to_vec())
    );
    let report = setup.stats.report(&Ratios::default());
    let h = &report.handlers[H];
    assert_eq!(h.counters.offloaded, 1);
    assert_eq!(h.counters.failures, 0);
    assert_eq!(h.counters.cold_starts, 1);
    assert_eq!(h.offload_round_trip_ms.count, 1);
    assert!((h.function_phases.jvm_start_ms.max - 250.0).abs() < 3.0);

    let (result, _) = offload(&url, "thrower", Duration::from_secs(10)).await;
    assert_eq!(
        result.unwrap(),
        InvocationOutcome::Threw(b"exception bytes".to_vec())
    );
    assert_eq!(log.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capability_is_valid_while_the_function_runs_and_not_after() {
    let setup_in_flight = Arc::new(InFlight::new());
    let (addr, log) = common::start_platform(Some(setup_in_flight.clone())).await;
    let config = AgentConfig {
        lambda_endpoint: Some(format!("http://{addr}")),
        function: "echo".into(),
        ..AgentConfig::default()
    };
    let fallback = FallbackEndpoint {
        addr: "127.0.0.1:1".into(),
        server_name: "x".into(),
        cert_sha256: [0; 32],
    };
    let dispatcher = Dispatcher::new(
        &config,
        fallback,
        setup_in_flight.clone(),
        Arc::new(Stats::new()),
    )
    .await
    .unwrap();
    dispatcher
        .offload(H, ClosureId([1; 32]), vec![], 0)
        .await
        .unwrap();
    dispatcher
        .offload(H, ClosureId([1; 32]), vec![], 0)
        .await
        .unwrap();
    assert_eq!(log.authorized_while_in_flight.load(Ordering::SeqCst), 2);
    assert!(
        setup_in_flight.is_empty(),
        "finished invocations must no longer authorize fallbacks"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_maps_to_its_reason_and_is_counted() {
    let (addr, _log) = common::start_platform(None).await;
    let url = format!("http://{addr}");
    let cases = [
        (
            "failer",
            FailureReason::FunctionFailed,
            "closure could not be fetched",
        ),
        ("crasher", FailureReason::FunctionError, "process exited"),
        ("busy", FailureReason::Throttled, "Rate Exceeded"),
        (
            "garbage",
            FailureReason::ResultUnusable,
            "not a semifaas envelope",
        ),
        (
            "missing",
            FailureReason::FunctionNotFound,
            "Function not found: missing",
        ),
        (
            "forbidden",
            FailureReason::AccessDenied,
            "lambda:InvokeFunction",
        ),
        ("badkey", FailureReason::BadCredentials, "security token"),
        ("toolarge", FailureReason::PayloadTooLarge, "smaller than"),
        ("broken", FailureReason::PlatformError, "internal error"),
        ("slowpoke", FailureReason::Timeout, "Task timed out"),
    ];
    for (function, expected, message) in cases {
        let (result, setup) = offload(&url, function, Duration::from_secs(10)).await;
        let failure = result.expect_err(function);
        assert_eq!(failure.reason, expected, "{function}: {failure}");
        assert!(
            failure.message.contains(message),
            "{function}: {:?} should mention {message:?}",
            failure.message
        );
        let counters = &setup.stats.report(&Ratios::default()).handlers[H].counters;
        assert_eq!(
            (counters.failures, counters.offloaded),
            (1, 0),
            "{function}"
        );
        assert_eq!(counters.failure_reasons[expected.as_str()], 1, "{function}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_function_times_out() {
    let (addr, _log) = common::start_platform(None).await;
    let (result, _) = offload(
        &format!("http://{addr}"),
        "sleeper",
        Duration::from_millis(300),
    )
    .await;
    assert_eq!(reason(&result), FailureReason::Timeout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_platform_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (result, _) = offload(
        &format!("http://127.0.0.1:{port}"),
        "echo",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(reason(&result), FailureReason::PlatformUnreachable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_arguments_are_not_sent() {
    let (addr, log) = common::start_platform(None).await;
    let setup = dispatcher(format!("http://{addr}"), "echo", Duration::from_secs(10)).await;
    let result = setup
        .dispatcher
        .offload(H, ClosureId([5; 32]), vec![7; ARGS_MAX + 1], 0)
        .await
        .map(|answered| answered.outcome);
    assert_eq!(reason(&result), FailureReason::PayloadTooLarge);
    assert_eq!(
        log.requests.load(Ordering::SeqCst),
        0,
        "nothing may reach the platform"
    );
    let counters = &setup.stats.report(&Ratios::default()).handlers[H].counters;
    assert_eq!(counters.failure_reasons["payload_too_large"], 1);
    assert!(setup.in_flight.is_empty());
}

/// Needs a machine without ambient AWS credentials (no `AWS_ACCESS_KEY_ID`, no instance or
/// container role), as CI's: the chain then finds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_without_credentials_fails_as_bad_credentials_and_pauses_offloading() {
    let (addr, log) = common::start_platform(None).await;
    let config = AgentConfig {
        platform: semifaas_agent::config::Platform::Aws,
        aws_region: Some("eu-west-1".into()),
        // A profile no file defines, so the shared files give no credentials either.
        aws_profile: Some("semifaas-test-no-such-profile".into()),
        lambda_endpoint: Some(format!("http://{addr}")),
        function: "echo".into(),
        timeout: Duration::from_secs(10),
        ..AgentConfig::default()
    };
    let fallback = FallbackEndpoint {
        addr: "127.0.0.1:1".into(),
        server_name: "semifaas-fallback".into(),
        cert_sha256: [0; 32],
    };
    let dispatcher = Dispatcher::new(
        &config,
        fallback,
        Arc::new(InFlight::new()),
        Arc::new(Stats::new()),
    )
    .await
    .unwrap();
    let failure = dispatcher
        .offload(H, ClosureId([5; 32]), b"args".to_vec(), 0)
        .await
        .expect_err("no credentials, no offload");
    assert!(failure.message.contains("credentials"), "{failure}");
    assert_eq!(failure.reason, FailureReason::BadCredentials, "{failure}");
    assert_eq!(log.requests.load(Ordering::SeqCst), 0);
    assert_eq!(
        dispatcher.breaker().report(std::time::Instant::now()).state,
        "paused"
    );
}
