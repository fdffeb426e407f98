//! End to end on the platform's payload limits: a handler whose result is over Lambda's 6 MB
//! synchronous limit, and a request whose argument is, are still answered exactly as on the server,
//! and the agent counts why they were not served by the function. Needs `make build`.

use std::path::PathBuf;

use semifaas_cli::harness::{
    Admin, Dist, Exchange, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess,
};
use semifaas_closure::limits::{ARGS_MAX, LAMBDA_SYNC_PAYLOAD_MAX};
use serde_json::Value;

const FUNCTION: &str = "semifaas";
const CONTROLLER: &str = "io.semifaas.samples.image.web.ImageController";
/// A generated PNG of this side is about 9 MB: over the response limit as a result, and over
/// `ARGS_MAX` as an argument.
const LARGE_IMAGE: &str = "/images/generate/2048/2048?seed=1";
const SMALL_IMAGE: &str = "/images/generate/64/48?seed=2";

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

async fn send_ok(http: &HttpClient, request: &Request) -> Exchange {
    let exchange = http
        .send(request)
        .await
        .unwrap_or_else(|e| panic!("{} {}: {e:#}", request.method, request.path));
    assert_eq!(
        exchange.status,
        200,
        "{} {}: {}",
        request.method,
        request.path,
        String::from_utf8_lossy(&exchange.body[..exchange.body.len().min(300)])
    );
    exchange
}

fn handler<'a>(stats: &'a Value, method: &str) -> &'a Value {
    let h = &stats["handlers"][format!("{CONTROLLER}#{method}")];
    assert!(h.is_object(), "no handler {method} in stats: {stats}");
    h
}

fn count(h: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(h, |v, k| &v[*k])
        .as_u64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {h}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_results_and_arguments_run_locally_with_a_reason() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("limits");
    let platform = FaasLocalProcess::start(&dist, FUNCTION, &[], &logs)
        .await
        .unwrap();
    let mut options = ServiceOptions::new("image-service", &platform.endpoint());
    options.settings.extend([
        ("min-cpu-ms".to_owned(), "0".to_owned()),
        ("profile.samples".to_owned(), "0".to_owned()),
    ]);
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);

    // Ratio 0: the reference answers, computed on the server.
    let large = Request::get(LARGE_IMAGE);
    let small = Request::get(SMALL_IMAGE);
    let local_large = send_ok(&http, &large).await;
    assert!(
        local_large.body.len() > LAMBDA_SYNC_PAYLOAD_MAX && local_large.body.len() > ARGS_MAX,
        "the large image must be over both limits, is {} bytes",
        local_large.body.len()
    );
    let histogram = Request::post("/images/histogram", "image/png", local_large.body.clone());
    let local_histogram = send_ok(&http, &histogram).await;
    let local_small = send_ok(&http, &small).await;

    admin.set_ratio(1.0).await.unwrap();

    // A small result is offloaded: the function path works.
    let offloaded_small = send_ok(&http, &small).await;
    assert_eq!(offloaded_small, local_small, "small image offloaded");
    let stats = admin.stats().await.unwrap();
    let generate = handler(&stats, "generate");
    let (offloaded_before, failures_before) = (
        count(generate, &["offloaded"]),
        count(generate, &["failures"]),
    );
    assert_eq!(failures_before, 0, "no failure yet: {generate}");

    // A result over the response limit: the function does not send a reply the platform would
    // drop, it says why instead; the handler runs locally, the client sees the same bytes.
    let offloaded_large = send_ok(&http, &large).await;
    assert!(
        offloaded_large == local_large,
        "large image differs: {} vs {} bytes",
        offloaded_large.body.len(),
        local_large.body.len()
    );
    let stats = admin.stats().await.unwrap();
    let generate = handler(&stats, "generate");
    assert_eq!(
        count(generate, &["failures"]),
        failures_before + 1,
        "{generate}"
    );
    assert_eq!(
        count(generate, &["failure_reasons", "payload_too_large"]),
        1,
        "the failure is counted as too large: {generate}"
    );
    let last = generate["last_failure"].as_str().unwrap_or_default();
    assert!(
        last.contains("ResponseTooLarge") && last.contains("response limit"),
        "the last failure names the limit and the reply's size: {last:?}"
    );

    // An argument over the limit is not sent at all and runs locally.
    let offloaded_histogram = send_ok(&http, &histogram).await;
    assert_eq!(
        offloaded_histogram, local_histogram,
        "histogram of the large image"
    );
    let stats = admin.stats().await.unwrap();
    let h = handler(&stats, "histogram");
    assert_eq!(
        count(h, &["failure_reasons", "payload_too_large"]),
        1,
        "{h}"
    );
    assert_eq!(count(h, &["offloaded"]), 0, "{h}");

    // Nothing is lost: the instance still serves the next small result.
    let again = send_ok(&http, &small).await;
    assert_eq!(again, local_small, "small image after the failures");
    let stats = admin.stats().await.unwrap();
    assert!(
        count(handler(&stats, "generate"), &["offloaded"]) > offloaded_before,
        "the small image was offloaded again: {stats}"
    );
}
