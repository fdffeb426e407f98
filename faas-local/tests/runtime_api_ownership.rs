//! An instance's Runtime API belongs to that instance: over real sockets, with a real instance
//! process, the test plays both the instance (it knows the key the process was given) and
//! another local user (who can find the port but not the key).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use common::*;
use faas_local::{FaasLocal, FaasLocalConfig, FaasLocalError, FunctionConfig};
use tokio::task::JoinHandle;

const FN: &str = "owned";
/// "At once": a refusal comes back well within this, even on a loaded machine; a request held
/// waiting for an invocation would not come back at all.
const AT_ONCE: Duration = Duration::from_secs(5);

/// An instance whose process hands its Runtime API to the test, and the test's own `/next`,
/// already waiting on it.
struct OwnedInstance {
    local: FaasLocal,
    /// `127.0.0.1:PORT`: what any local user can find.
    api: SocketAddr,
    /// The path prefix only the instance was given.
    key: String,
    pid: u64,
    first_poll: JoinHandle<HttpResponse>,
}

impl OwnedInstance {
    async fn start() -> OwnedInstance {
        let api_file = unique_path("runtime-api");
        let mut function = FunctionConfig::new(
            FN,
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hands-off-runtime"),
        );
        function.timeout = Duration::from_secs(10);
        function.env.insert(
            "RUNTIME_API_FILE".to_owned(),
            api_file.display().to_string(),
        );
        let local = start(vec![function]).await;
        let owner = async {
            let mut given = None;
            wait_until("the instance wrote its Runtime API address", || {
                given = std::fs::read_to_string(&api_file).ok();
                given.is_some()
            })
            .await;
            let given = given.unwrap();
            let (api, key) = given.split_once('/').expect("the address carries a key");
            let (api, key): (SocketAddr, String) = (api.parse().unwrap(), key.to_owned());
            let next = format!("/{key}/2018-06-01/runtime/invocation/next");
            let first_poll = tokio::spawn(async move { http(api, "GET", &next, &[], b"").await });
            (api, key, first_poll)
        };
        // The prewarm ends when the instance's first `/next` (the test's) is waiting.
        let (ready, (api, key, first_poll)) = tokio::join!(local.prewarm(FN, 1), owner);
        assert_eq!(
            ready.unwrap(),
            1,
            "the test's /next made the instance ready"
        );
        let pid = instance_pid(api);
        std::fs::remove_file(&api_file).unwrap();
        OwnedInstance {
            local,
            api,
            key,
            pid,
            first_poll,
        }
    }

    /// Invokes the function in the background.
    fn invoke(&self, payload: &'static str) -> JoinHandle<HttpResponse> {
        let addr = self.local.addr();
        tokio::spawn(async move { invoke(addr, FN, payload).await })
    }
}

/// The instance: the process whose environment names the Runtime API at `api`.
fn instance_pid(api: SocketAddr) -> u64 {
    let variable = format!("AWS_LAMBDA_RUNTIME_API={api}/");
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .find(|pid| {
            std::fs::read(format!("/proc/{pid}/environ")).is_ok_and(|environ| {
                environ
                    .split(|b| *b == 0)
                    .any(|var| var.starts_with(variable.as_bytes()))
            })
        })
        .expect("the instance process is running")
}

/// The path of a Runtime API `route` under `key`.
fn keyed(key: &str, route: &str) -> String {
    format!("/{key}/2018-06-01/runtime{route}")
}

/// `request` must be answered within `AT_ONCE`.
async fn at_once(request: impl std::future::Future<Output = HttpResponse>) -> HttpResponse {
    tokio::time::timeout(AT_ONCE, request)
        .await
        .expect("answered at once, not held waiting")
}

fn other_key(key: &str) -> String {
    let mut other: Vec<u8> = key.bytes().collect();
    other[0] = if other[0] == b'0' { b'1' } else { b'0' };
    String::from_utf8(other).unwrap()
}

#[tokio::test]
async fn the_instance_gets_a_long_random_key_in_its_address_and_no_log_shows_it() {
    captured_logs();
    let owned = OwnedInstance::start().await;
    assert_eq!(owned.key.len(), 64, "256 bits as hex: {}", owned.key);
    assert!(owned.key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(owned.api.ip().is_loopback());

    // Drive one refused and one served invocation so the platform logs what it logs.
    let refused = at_once(http(
        owned.api,
        "GET",
        "/2018-06-01/runtime/invocation/next",
        &[],
        b"",
    ))
    .await;
    assert_eq!(refused.status, 404, "{}", refused.text());
    let invocation = owned.invoke(r#""logged""#);
    let next = owned.first_poll.await.unwrap();
    let id = next
        .header("lambda-runtime-aws-request-id")
        .unwrap()
        .to_owned();
    let route = keyed(&owned.key, &format!("/invocation/{id}/response"));
    assert_eq!(http(owned.api, "POST", &route, &[], b"1").await.status, 202);
    assert_eq!(invocation.await.unwrap().text(), "1");
    owned.local.shutdown().await;

    let logs = captured_logs();
    assert!(logs.contains("instance starting"), "{logs}");
    assert!(
        !logs.contains(&owned.key),
        "a log line shows the key:\n{logs}"
    );
}

#[tokio::test]
async fn requests_without_the_key_are_refused_at_once_and_the_instance_serves_on() {
    let owned = OwnedInstance::start().await;
    let wrong = other_key(&owned.key);
    let short = &owned.key[..owned.key.len() - 1];
    for path in [
        "/2018-06-01/runtime/invocation/next".to_owned(),
        format!("/{wrong}/2018-06-01/runtime/invocation/next"),
        format!("/{short}/2018-06-01/runtime/invocation/next"),
        format!("/{}0/2018-06-01/runtime/invocation/next", owned.key),
        format!("/x/{}/2018-06-01/runtime/invocation/next", owned.key),
    ] {
        let refused = at_once(http(owned.api, "GET", &path, &[], b"")).await;
        assert!(
            matches!(refused.status, 403 | 404),
            "GET {path}: {} {}",
            refused.status,
            refused.text()
        );
        assert!(!refused.text().contains(&owned.key), "{}", refused.text());
    }
    let wrong_key = at_once(http(
        owned.api,
        "GET",
        &format!("/{wrong}/2018-06-01/runtime/invocation/next"),
        &[],
        b"",
    ))
    .await;
    assert_eq!(wrong_key.status, 403);
    assert_eq!(wrong_key.json()["errorType"], "AccessDenied");

    // Killing the instance through /init/error takes the key too.
    let init_error = br#"{"errorMessage":"forged","errorType":"Forged"}"#;
    for path in [
        "/2018-06-01/runtime/init/error".to_owned(),
        format!("/{wrong}/2018-06-01/runtime/init/error"),
    ] {
        let refused = at_once(http(owned.api, "POST", &path, &[], init_error)).await;
        assert!(
            matches!(refused.status, 403 | 404),
            "POST {path}: {}",
            refused.status
        );
    }

    // The instance never noticed: its own `/next` gets the invocation, and its answer is the
    // invocation's result.
    let invocation = owned.invoke(r#""for the owner""#);
    let next = owned.first_poll.await.unwrap();
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), r#""for the owner""#);
    let id = next.header("lambda-runtime-aws-request-id").unwrap();
    let route = keyed(&owned.key, &format!("/invocation/{id}/response"));
    assert_eq!(
        http(owned.api, "POST", &route, &[], b"\"served\"")
            .await
            .status,
        202
    );
    let result = invocation.await.unwrap();
    assert_eq!((result.status, result.text().as_str()), (200, "\"served\""));
    assert_eq!(result.header("x-amz-function-error"), None);
    assert!(process_alive(owned.pid), "the instance is still running");
    let stats = &owned.local.stats().functions[FN];
    assert_eq!((stats.instances, stats.errors), (1, 0));
    owned.local.shutdown().await;
}

#[tokio::test]
async fn a_second_poller_is_refused_at_once_and_the_first_gets_the_invocation() {
    let owned = OwnedInstance::start().await;
    let next = keyed(&owned.key, "/invocation/next");
    let second = at_once(http(owned.api, "GET", &next, &[], b"")).await;
    assert_eq!(second.status, 409, "{}", second.text());
    assert_eq!(second.json()["errorType"], "ConcurrentPoll");
    assert!(second.header("lambda-runtime-aws-request-id").is_none());

    let invocation = owned.invoke(r#""first come""#);
    let first = owned.first_poll.await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), r#""first come""#);
    let id = first.header("lambda-runtime-aws-request-id").unwrap();
    let route = keyed(&owned.key, &format!("/invocation/{id}/response"));
    assert_eq!(http(owned.api, "POST", &route, &[], b"1").await.status, 202);
    assert_eq!(invocation.await.unwrap().text(), "1");
    owned.local.shutdown().await;
}

#[tokio::test]
async fn answers_are_taken_only_for_the_invocation_handed_out() {
    let owned = OwnedInstance::start().await;
    let invocation = owned.invoke(r#""answer me""#);
    let next = owned.first_poll.await.unwrap();
    let id = next
        .header("lambda-runtime-aws-request-id")
        .unwrap()
        .to_owned();
    let forged = "00000000-0000-4000-8000-000000000000";
    assert_ne!(id, forged);

    for answer in ["response", "error"] {
        let other_id = keyed(&owned.key, &format!("/invocation/{forged}/{answer}"));
        let refused = at_once(http(owned.api, "POST", &other_id, &[], br#"{"x":1}"#)).await;
        assert_eq!(
            refused.status,
            404,
            "{answer} for another id: {}",
            refused.text()
        );
        assert_eq!(refused.json()["errorType"], "InvalidRequestID");
        let without_key = format!("/2018-06-01/runtime/invocation/{id}/{answer}");
        let refused = at_once(http(owned.api, "POST", &without_key, &[], b"\"forged\"")).await;
        assert_eq!(refused.status, 404, "{answer} without the key");
        let wrong_key = format!(
            "/{}/2018-06-01/runtime/invocation/{id}/{answer}",
            other_key(&owned.key)
        );
        let refused = at_once(http(owned.api, "POST", &wrong_key, &[], b"\"forged\"")).await;
        assert_eq!(refused.status, 403, "{answer} with another key");
    }

    let real = keyed(&owned.key, &format!("/invocation/{id}/response"));
    assert_eq!(
        http(owned.api, "POST", &real, &[], b"\"genuine\"")
            .await
            .status,
        202
    );
    let result = invocation.await.unwrap();
    assert_eq!(
        (result.status, result.text().as_str()),
        (200, "\"genuine\"")
    );
    let again = http(owned.api, "POST", &real, &[], b"\"late forgery\"").await;
    assert_eq!(
        again.status, 404,
        "an answered invocation takes no second answer"
    );
    owned.local.shutdown().await;
}

#[tokio::test]
async fn the_lambda_api_listens_on_loopback_only() {
    for bind in ["0.0.0.0:0", "[::]:0", "192.0.2.1:9000"] {
        let mut config = FaasLocalConfig::new(bind.parse().unwrap());
        config.functions.push(echo_function("echo"));
        let refused = FaasLocal::start(config).await.err().expect(bind);
        assert!(
            matches!(refused, FaasLocalError::NotLoopback(_)),
            "{bind}: {refused}"
        );
        let message = refused.to_string();
        assert!(message.contains("loopback"), "{message}");
    }
}

#[tokio::test]
async fn the_lambda_api_refuses_web_pages() {
    let local = start(vec![echo_function("echo")]).await;
    let addr = local.addr();
    let invoke_path = "/2015-03-31/functions/echo/invocations";

    // DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1.
    let rebound = http(
        addr,
        "POST",
        invoke_path,
        &[("host", "evil.example:9000")],
        b"{}",
    )
    .await;
    assert_eq!(rebound.status, 403, "{}", rebound.text());
    assert_eq!(
        rebound.header("x-amzn-errortype"),
        Some("AccessDeniedException")
    );
    // A cross-site form or fetch: browsers name the page's origin.
    let cross_site = http(
        addr,
        "POST",
        invoke_path,
        &[
            ("origin", "https://evil.example"),
            ("content-type", "text/plain"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(cross_site.status, 403, "{}", cross_site.text());
    let stats = local.stats();
    assert_eq!(stats.functions["echo"].invocations, 0, "nothing ran");

    let port = addr.port();
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let allowed = http(addr, "GET", "/local/stats", &[("host", &host)], b"").await;
        assert_eq!(allowed.status, 200, "{host}: {}", allowed.text());
    }
    local.shutdown().await;
}
