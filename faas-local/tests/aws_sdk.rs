//! The real `aws-sdk-lambda` client against faas-local: the errors it must recognise.

mod common;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::ThrottleReason;
use aws_sdk_lambda::Client;
use common::*;
use faas_local::{FaasLocal, FunctionConfig};

const FN: &str = "echo";

async fn client(local: &FaasLocal) -> Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(local.endpoint_url())
        .region(Region::new("us-east-1"))
        .test_credentials()
        // A retried 429 would hide what the platform answered.
        .retry_config(RetryConfig::disabled())
        .load()
        .await;
    Client::new(&config)
}

#[tokio::test]
async fn sdk_invokes_and_sees_function_errors() {
    let local = start(vec![echo_function(FN)]).await;
    let lambda = client(&local).await;

    let output = lambda
        .invoke()
        .function_name(FN)
        .payload(Blob::new(r#"{"via":"sdk"}"#))
        .send()
        .await
        .expect("invoke succeeds");
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.function_error(), None);
    assert_eq!(output.executed_version(), Some("$LATEST"));
    assert_eq!(output.payload().unwrap().as_ref(), br#"{"via":"sdk"}"#);

    let failed = lambda
        .invoke()
        .function_name(FN)
        .payload(Blob::new(r#""error""#))
        .send()
        .await
        .expect("a function error is a successful Invoke");
    assert_eq!(failed.function_error(), Some("Unhandled"));
    let body: serde_json::Value =
        serde_json::from_slice(failed.payload().unwrap().as_ref()).unwrap();
    assert_eq!(body["errorType"], "Fixture.Failure");
    local.shutdown().await;
}

#[tokio::test]
async fn sdk_sees_not_found_and_too_large() {
    let local = start(vec![echo_function(FN)]).await;
    let lambda = client(&local).await;

    let missing = lambda
        .invoke()
        .function_name("nope")
        .send()
        .await
        .expect_err("unknown function")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");

    let oversized = vec![b' '; faas_local::PAYLOAD_LIMIT + 1];
    let too_large = lambda
        .invoke()
        .function_name(FN)
        .payload(Blob::new(oversized))
        .send()
        .await
        .expect_err("oversized payload")
        .into_service_error();
    assert!(too_large.is_request_too_large_exception(), "{too_large:?}");
    local.shutdown().await;
}

/// The SDK's view of an invoke sent while one invocation of `function` blocks.
async fn reason_of_second_invoke(function: FunctionConfig) -> Option<ThrottleReason> {
    let local = start(vec![function]).await;
    let lambda = client(&local).await;
    let gate = unique_path("sdk-gate");
    let blocked = format!("\"wait:{}\"", gate.display());

    let running = {
        let lambda = lambda.clone();
        let blocked = blocked.clone();
        tokio::spawn(async move {
            lambda
                .invoke()
                .function_name(FN)
                .payload(Blob::new(blocked))
                .send()
                .await
        })
    };
    wait_until("the first instance is busy", || {
        local.stats().functions[FN].busy == 1
    })
    .await;

    let throttled = lambda
        .invoke()
        .function_name(FN)
        .payload(Blob::new("{}"))
        .send()
        .await
        .expect_err("throttled")
        .into_service_error();
    assert!(throttled.is_too_many_requests_exception(), "{throttled:?}");
    let aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(details) =
        &throttled
    else {
        unreachable!()
    };
    let reason = details.reason().cloned();

    std::fs::write(&gate, b"").unwrap();
    let finished = running
        .await
        .unwrap()
        .expect("the blocked invoke completes");
    assert_eq!(finished.payload().unwrap().as_ref(), blocked.as_bytes());
    std::fs::remove_file(&gate).unwrap();
    local.shutdown().await;
    reason
}

#[tokio::test]
async fn sdk_sees_throttling_as_too_many_requests_with_its_reason() {
    // Past the concurrency limit: the platform's room.
    let mut function = echo_function(FN);
    function.concurrency_limit = 1;
    assert_eq!(
        reason_of_second_invoke(function).await,
        Some(ThrottleReason::ConcurrentInvocationLimitExceeded)
    );
    // An instance still starting (paced starts): how fast it scales, not its room.
    let mut function = echo_function(FN);
    function.max_starting = 1;
    assert_eq!(
        reason_of_second_invoke(function).await,
        Some(ThrottleReason::FunctionInvocationRateLimitExceeded)
    );
}

#[tokio::test]
async fn sdk_manages_functions() {
    let local = start(vec![echo_function(FN)]).await;
    let lambda = client(&local).await;

    let got = lambda
        .get_function()
        .function_name(FN)
        .send()
        .await
        .unwrap();
    let configuration = got.configuration().unwrap();
    assert_eq!(configuration.function_name(), Some(FN));
    assert_eq!(configuration.timeout(), Some(2));

    let listed = lambda.list_functions().send().await.unwrap();
    let names: Vec<_> = listed
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, [FN]);

    lambda
        .delete_function()
        .function_name(FN)
        .send()
        .await
        .unwrap();
    let gone = lambda
        .get_function()
        .function_name(FN)
        .send()
        .await
        .expect_err("deleted")
        .into_service_error();
    assert!(gone.is_resource_not_found_exception(), "{gone:?}");
    local.shutdown().await;
}
