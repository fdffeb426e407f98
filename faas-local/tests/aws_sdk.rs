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

/// The echo fixture as a package: a zip holding `bootstrap`, plus `marker` to tell uploads apart.
fn echo_package(marker: &str) -> Blob {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    zip.start_file("bootstrap", options.unix_permissions(0o755))
        .unwrap();
    zip.write_all(&std::fs::read(fixture_dir().join("bootstrap")).unwrap())
        .unwrap();
    zip.start_file("marker", options.unix_permissions(0o644))
        .unwrap();
    zip.write_all(marker.as_bytes()).unwrap();
    Blob::new(zip.finish().unwrap().into_inner())
}

async fn describe(lambda: &Client, function: &str) -> (Option<String>, serde_json::Value) {
    let output = lambda
        .invoke()
        .function_name(function)
        .payload(Blob::new(r#""describe""#))
        .send()
        .await
        .expect("invoke succeeds");
    let body = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    (output.executed_version().map(str::to_owned), body)
}

/// What `semifaas deploy --platform local` relies on: a zip uploaded through the SDK, versions,
/// an alias moved between them, and concurrency settings.
#[tokio::test]
async fn sdk_deploys_a_package_publishes_versions_and_invokes_an_alias() {
    use aws_sdk_lambda::types::{Environment, FunctionCode, Runtime};
    let local = start(Vec::new()).await;
    let lambda = client(&local).await;
    let name = "packaged";

    let created = lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role("arn:aws:iam::000000000000:role/semifaas")
        .code(
            FunctionCode::builder()
                .zip_file(echo_package("one"))
                .build(),
        )
        .environment(
            Environment::builder()
                .variables("ECHO_CUSTOM", "set")
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction with a zip");
    assert_eq!(created.version(), Some("$LATEST"));
    assert_eq!(created.code_sha256().map(str::len), Some(44));
    let first_sha = created.code_sha256().unwrap().to_owned();

    // A package runs on what it brings, not on the platform's environment.
    let (version, env) = describe(&lambda, name).await;
    assert_eq!(version.as_deref(), Some("$LATEST"));
    assert_eq!(env["custom"], "set");
    assert_eq!(env["host"], "", "the platform's environment leaked: {env}");
    let task_root = env["task_root"].as_str().unwrap().to_owned();
    assert_eq!(
        std::fs::read_to_string(format!("{task_root}/marker")).unwrap(),
        "one"
    );

    let v1 = lambda
        .publish_version()
        .function_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(v1.version(), Some("1"));
    lambda
        .create_alias()
        .function_name(name)
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("CreateAlias");
    let (version, env) = describe(&lambda, "packaged:live").await;
    assert_eq!(version.as_deref(), Some("1"));
    assert_eq!(env["version"], "1");

    let updated = lambda
        .update_function_code()
        .function_name(name)
        .zip_file(echo_package("two"))
        .publish(true)
        .send()
        .await
        .expect("UpdateFunctionCode");
    assert_eq!(updated.version(), Some("2"));
    assert_ne!(updated.code_sha256(), Some(first_sha.as_str()));
    let (version, _) = describe(&lambda, "packaged:live").await;
    assert_eq!(
        version.as_deref(),
        Some("1"),
        "the alias still names version 1"
    );
    lambda
        .update_alias()
        .function_name(name)
        .name("live")
        .function_version("2")
        .send()
        .await
        .expect("UpdateAlias");
    let (version, env) = describe(&lambda, "packaged:live").await;
    assert_eq!(version.as_deref(), Some("2"));
    let task_root = env["task_root"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("{task_root}/marker")).unwrap(),
        "two"
    );

    let configured = lambda
        .update_function_configuration()
        .function_name(name)
        .memory_size(2048)
        .timeout(7)
        .environment(
            Environment::builder()
                .variables("ECHO_CUSTOM", "changed")
                .build(),
        )
        .send()
        .await
        .expect("UpdateFunctionConfiguration");
    assert_eq!(
        (configured.memory_size(), configured.timeout()),
        (Some(2048), Some(7))
    );
    let (version, env) = describe(&lambda, name).await;
    assert_eq!(version.as_deref(), Some("$LATEST"));
    assert_eq!(
        (env["custom"].as_str(), env["memory"].as_str()),
        (Some("changed"), Some("2048"))
    );

    lambda
        .put_function_concurrency()
        .function_name(name)
        .reserved_concurrent_executions(3)
        .send()
        .await
        .expect("PutFunctionConcurrency");
    let function = lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        function
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        Some(3)
    );
    lambda
        .put_provisioned_concurrency_config()
        .function_name(name)
        .qualifier("live")
        .provisioned_concurrent_executions(2)
        .send()
        .await
        .expect("PutProvisionedConcurrencyConfig");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let status = lambda
            .get_provisioned_concurrency_config()
            .function_name(name)
            .qualifier("live")
            .send()
            .await
            .unwrap();
        if status.status().map(|s| s.as_str()) == Some("READY") {
            assert_eq!(
                status.available_provisioned_concurrent_executions(),
                Some(2)
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never READY: {status:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(local.stats().functions["packaged:2"].idle, 2);

    let missing = lambda
        .invoke()
        .function_name("packaged:nope")
        .send()
        .await
        .expect_err("unknown alias")
        .into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    let refused = lambda
        .create_function()
        .function_name("no-bootstrap")
        .role("arn:aws:iam::000000000000:role/semifaas")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(b"not a zip".to_vec()))
                .build(),
        )
        .send()
        .await
        .expect_err("a bad zip")
        .into_service_error();
    assert!(
        refused.is_invalid_parameter_value_exception()
            && refused.to_string().contains("not a valid zip"),
        "{refused:?}"
    );
    local.shutdown().await;
}
