//! The image service's equivalence workload, shared by the end-to-end tests: a request set
//! covering every handler and its error paths, and the byte-for-byte comparison of two rounds.

use serde_json::Value;

use super::{Admin, Exchange, HttpClient, Request, ServiceOptions};

/// Every handler is a candidate from its first invocation, so ratio 1 offloads every request,
/// whatever the load (the do-no-harm guard is off).
pub fn offload_everything(mut options: ServiceOptions) -> ServiceOptions {
    options.settings.extend(
        [
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("do-no-harm", "false"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    options
}

/// `(invocations, offloaded, local, failures)` of the agent's `/stats` totals.
pub fn totals(stats: &Value) -> (u64, u64, u64, u64) {
    let t = &stats["totals"];
    let n = |k: &str| {
        t[k].as_u64()
            .unwrap_or_else(|| panic!("stats totals lack {k}: {stats}"))
    };
    (n("invocations"), n("offloaded"), n("local"), n("failures"))
}

/// The request set at ratio 0, then at ratio 1: every answer byte-identical to the local one,
/// every request offloaded (per the agent's `/stats`), none failed. Returns the requests and the
/// local answers; `context` (logs) is printed when an assertion fails.
pub async fn assert_offloads_match_local(
    what: &str,
    http: &HttpClient,
    admin: &Admin,
    context: impl Fn() -> String,
) -> (Vec<Request>, Vec<Exchange>) {
    let requests = request_set(http).await;
    let local = run_round(http, &requests).await;
    let before = totals(&admin.stats().await.unwrap());
    admin.set_ratio(1.0).await.unwrap();
    let offloaded = run_round(http, &requests).await;
    assert_same(what, &local, &offloaded, &requests);
    let after = totals(&admin.stats().await.unwrap());
    assert_eq!(
        after.1 - before.1,
        requests.len() as u64,
        "{what}: every invocation offloaded: {after:?} after {before:?}\n{}",
        context()
    );
    assert_eq!(after.3, 0, "{what}: no failures\n{}", context());
    (requests, local)
}

/// The same requests, in the same order, for every round: each endpoint, path variables, query
/// parameters, request bodies, and the handler that throws a domain exception.
pub async fn request_set(service: &HttpClient) -> Vec<Request> {
    let generated = service
        .send(&Request::get("/images/generate/320/240?seed=7"))
        .await
        .unwrap();
    assert_eq!(
        generated.status,
        200,
        "generate: {:?}",
        String::from_utf8_lossy(&generated.body)
    );
    let png = generated.body;
    vec![
        Request::get("/images/generate/200/150?seed=3"),
        Request::post(
            "/images/resize?width=160&height=90",
            "image/png",
            png.clone(),
        ),
        Request::post("/images/blur/4", "image/png", png.clone()),
        Request::get("/images/thumbnails/6?seed=11&size=48"),
        Request::post("/images/histogram", "image/png", png.clone()),
        Request::post(
            "/images/histogram",
            "image/png",
            b"this is not an image".to_vec(),
        ),
        Request::post(
            "/images/resize?width=100000&height=100000",
            "image/png",
            png,
        ),
    ]
}

pub async fn run_round(service: &HttpClient, requests: &[Request]) -> Vec<Exchange> {
    let mut out = vec![];
    for request in requests {
        out.push(
            service
                .send(request)
                .await
                .unwrap_or_else(|e| panic!("{} {}: {e:#}", request.method, request.path)),
        );
    }
    out
}

pub fn assert_same(round: &str, expected: &[Exchange], actual: &[Exchange], requests: &[Request]) {
    for ((want, got), request) in expected.iter().zip(actual).zip(requests) {
        assert_eq!(
            want.status, got.status,
            "{round}: status of {} {}",
            request.method, request.path
        );
        assert_eq!(
            want.content_type, got.content_type,
            "{round}: content type of {} {}",
            request.method, request.path
        );
        assert!(
            want.body == got.body,
            "{round}: body of {} {} differs ({} vs {} bytes): {:?} vs {:?}",
            request.method,
            request.path,
            want.body.len(),
            got.body.len(),
            String::from_utf8_lossy(&want.body[..want.body.len().min(200)]),
            String::from_utf8_lossy(&got.body[..got.body.len().min(200)])
        );
    }
}
