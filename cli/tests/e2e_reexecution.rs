//! End to end: offloads that fail after a remote write are re-executed on the server with the
//! invocation's call log, so the request is answered as if nothing had failed and the write
//! happens once (docs/internals.md, "Failed offloads"). Real processes: `semifaas local`, the blog
//! sample with the agent, real `bootstrap` instances, and real faults: an instance killed with
//! SIGKILL right after its write, and invocations timing out after their write while their
//! instance (slow, not dead) carries on. A re-execution that takes another path (a new random
//! token) diverges: the request fails and nothing is written twice. Needs `make build`.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use reqwest::Method;
use semifaas_cli::harness::{
    procs, Admin, Browser, Dist, FaasLocalProcess, HttpClient, Reply, ServiceOptions,
    ServiceProcess, PLACEMENT_HEADER,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";
const CREATE: &str = "io.semifaas.samples.blog.web.PostApiController#create";
const SHARE: &str = "io.semifaas.samples.blog.web.ShareController#share";

const LOCAL_HANDLERS: &str = "io.semifaas.samples.blog.web.AuthController,\
    io.semifaas.samples.blog.web.HealthController,\
    io.semifaas.samples.blog.web.PostApiController#list,\
    io.semifaas.samples.blog.web.PostApiController#get,\
    io.semifaas.samples.blog.web.ShareController#shares";

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

/// A blog where the post-creating and post-sharing handlers, and only they, are offloaded at
/// ratio 1 from their first call, with `settings` on top.
async fn start_blog(
    dist: &Dist,
    platform: &FaasLocalProcess,
    logs: &std::path::Path,
    settings: &[(&str, &str)],
) -> ServiceProcess {
    let mut options = ServiceOptions::for_platform("blog", platform);
    options.ratio = 1.0;
    let handlers = format!("{CREATE},{SHARE}");
    options.settings.extend(
        [
            ("include", handlers.as_str()),
            // The handlers the test reads and logs in with run here.
            ("exclude", LOCAL_HANDLERS),
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("do-no-harm", "false"),
            ("placement-header", PLACEMENT_HEADER),
        ]
        .iter()
        .chain(settings)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    options
        .jvm_options
        .push("-Dlogging.level.io.semifaas.agent=INFO".to_owned());
    ServiceProcess::start(dist, &options, logs).await.unwrap()
}

/// The platform and the blog of one test, with the clients the test uses.
struct Stack {
    platform: FaasLocalProcess,
    service: ServiceProcess,
    admin: Admin,
    http: HttpClient,
}

impl Stack {
    async fn start(test: &str, settings: &[(&str, &str)]) -> Stack {
        let dist = Dist::locate().unwrap();
        let logs = log_dir(test);
        let platform = FaasLocalProcess::start(&dist, FUNCTION, &["--concurrency", "2"], &logs)
            .await
            .unwrap();
        let service = start_blog(&dist, &platform, &logs, settings).await;
        Stack {
            admin: Admin::new(service.admin_port),
            http: HttpClient::new(service.port),
            platform,
            service,
        }
    }

    /// Both logs, for a failed assertion.
    fn logs(&self) -> String {
        format!(
            "service log:\n{}\nplatform log:\n{}",
            self.service.log(),
            self.platform.log()
        )
    }
}

async fn logged_in(service: &ServiceProcess) -> Browser {
    let mut browser = Browser::new(service.port);
    let login = browser
        .form("/login", &[("username", "alice"), ("password", "alice")])
        .await;
    assert_eq!(login.status, 200, "login: {}", login.body);
    browser
}

/// A body whose rendering takes a while (hundreds of distinct sentences: the repetition check is
/// quadratic) and is never cached: `seed` makes it unique.
fn slow_body(seed: u64) -> String {
    const WORDS: [&str; 12] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima",
    ];
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        WORDS[(state >> 33) as usize % WORDS.len()]
    };
    let mut body = String::new();
    while body.len() < 19_000 {
        let sentence: Vec<&str> = (0..5).map(|_| next()).collect();
        body.push_str(&sentence.join(" "));
        body.push_str(". ");
    }
    body
}

fn post_json(title: &str, body: &str) -> String {
    serde_json::json!({ "title": title, "body": body }).to_string()
}

/// The posts titled `title`, from the list (a handler that is not offloaded).
async fn posts_titled(http: &HttpClient, title: &str) -> Vec<Value> {
    let list = http.get_json("/api/posts").await.expect("GET /api/posts");
    list.as_array()
        .expect("a list of posts")
        .iter()
        .filter(|p| p["title"] == title)
        .cloned()
        .collect()
}

fn handler<'a>(stats: &'a Value, key: &str) -> &'a Value {
    &stats["handlers"][key]
}

fn count(stats: &Value, key: &str, field: &str) -> u64 {
    handler(stats, key)[field].as_u64().unwrap_or(0)
}

/// The answer of a create is what a local run answers: the post as the server saved it,
/// rendered; so it equals the post read back, but for the times, which the database keeps to
/// the microsecond while the saved entity kept the nanoseconds.
async fn assert_answers_the_stored_post(reply: &Reply, browser: &mut Browser, id: u64) {
    let stored = browser.get(&format!("/api/posts/{id}")).await;
    assert_eq!(stored.status, 200);
    let (mut answered, mut read) = (reply.json(), stored.json());
    for field in ["createdAt", "updatedAt"] {
        let (a, r) = (answered[field].take(), read[field].take());
        let (a, r) = (a.as_str().unwrap(), r.as_str().unwrap());
        assert!(same_microsecond(a, r), "{field}: answered {a}, stored {r}");
    }
    if answered != read {
        let differing: Vec<&String> = answered
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| answered[k.as_str()] != read[k.as_str()])
            .collect();
        panic!("the re-executed answer differs from the stored post in {differing:?}");
    }
}

/// Whether two ISO-8601 instants (`...T14:36:30.291882568Z`) round to the same microsecond.
fn same_microsecond(a: &str, b: &str) -> bool {
    let split = |t: &str| {
        let (seconds, fraction) = t.trim_end_matches('Z').split_once('.').unwrap_or((t, "0"));
        (
            seconds.to_owned(),
            format!("0.{fraction}").parse::<f64>().unwrap(),
        )
    };
    let ((sa, fa), (sb, fb)) = (split(a), split(b));
    sa == sb && (fa - fb).abs() <= 1e-6
}

/// The remote calls `key`'s functions have made so far (fallbacks of kind `invoke`).
async fn remote_calls(admin: &Admin, key: &str) -> u64 {
    let stats = admin.stats().await.unwrap();
    handler(&stats, key)["fallbacks"]["invoke"]
        .as_u64()
        .unwrap_or(0)
}

/// Waits until `key`'s function has made its `nth` remote call after `before` calls, then sends
/// `signal` to every instance: the call has reached the server, which runs and logs it whatever
/// becomes of the function.
async fn signal_after_call(
    admin: &Admin,
    platform: &FaasLocalProcess,
    key: &str,
    before: u64,
    nth: u64,
    signal: i32,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while remote_calls(admin, key).await < before + nth {
        assert!(
            Instant::now() < deadline,
            "{key} never made remote call {nth}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    signal_instances(platform, signal);
}

fn signal_instances(platform: &FaasLocalProcess, signal: i32) {
    let pids = platform.instance_pids();
    assert!(!pids.is_empty(), "no instance to signal");
    for pid in pids {
        procs::signal_group(pid, signal);
    }
}

/// Whether an instance's log says an invocation of `key` ended (answered or failed).
fn ended(platform_log: &str, key: &str) -> bool {
    let handler = format!("handler={key} ");
    platform_log.lines().any(|line| {
        line.contains(&handler)
            && (line.contains("invocation done") || line.contains("could not run the handler"))
    })
}

/// `POST path` with `body` from a task of its own, so the test can act on the instance meanwhile.
fn send(
    mut browser: Browser,
    path: String,
    body: String,
) -> tokio::task::JoinHandle<(Reply, Browser)> {
    tokio::spawn(async move { (browser.json(Method::POST, &path, &body).await, browser) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_instance_killed_after_its_write_is_re_executed_and_the_write_happens_once() {
    let stack = Stack::start("reexecution-kill", &[]).await;
    let (platform, service, admin, http) =
        (&stack.platform, &stack.service, &stack.admin, &stack.http);
    let context = || stack.logs();
    let browser = logged_in(service).await;

    // The function's calls: the session's user, then the insert (`createPost`), then it
    // renders the body. SIGKILL as soon as the insert has reached the server.
    let title = "killed after its write";
    let before = remote_calls(admin, CREATE).await;
    let request = send(
        browser,
        "/api/posts".into(),
        post_json(title, &slow_body(1)),
    );
    signal_after_call(admin, platform, CREATE, before, 2, libc::SIGKILL).await;
    let (reply, mut browser) = request.await.unwrap();

    assert_eq!(reply.status, 201, "{}\n{}", reply.body, context());
    assert_eq!(reply.ran.as_deref(), Some("reexecuted"), "{}", context());
    let posts = posts_titled(http, title).await;
    assert_eq!(posts.len(), 1, "written once: {posts:?}");
    let id = posts[0]["id"].as_u64().unwrap();
    assert_eq!(
        reply.json()["id"].as_u64(),
        Some(id),
        "the answer names the post written"
    );
    // The answer is what a local run answers: the post as the server holds it, rendered.
    assert_answers_the_stored_post(&reply, &mut browser, id).await;

    let stats = admin.stats().await.unwrap();
    assert_eq!(count(&stats, CREATE, "reexecuted"), 1, "{stats}");
    assert_eq!(count(&stats, CREATE, "abandoned"), 0, "{stats}");
    assert_eq!(count(&stats, CREATE, "diverged"), 0, "{stats}");
    assert!(count(&stats, CREATE, "failures") >= 1, "{stats}");
    let log = &stats["call_log"];
    assert!(log["max_entries"].as_u64().unwrap() >= 2, "{stats}");
    assert_eq!(
        log["bytes_in_use"], 0,
        "logs end with their invocations: {stats}"
    );
    assert!(
        service
            .log()
            .contains("re-executed on the server with its call log"),
        "{}",
        context()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_instance_times_out_after_its_write_and_a_different_path_diverges() {
    let stack = Stack::start("reexecution-timeout", &[("timeout-ms", "5000")]).await;
    let (platform, service, admin, http) =
        (&stack.platform, &stack.service, &stack.admin, &stack.http);
    let context = || stack.logs();
    let browser = logged_in(service).await;
    let refused = |stats: &Value| stats["refused"]["not_in_flight"].as_u64().unwrap_or(0);
    let refused_before = refused(&admin.stats().await.unwrap());

    // The instance stalls (SIGSTOP) once its insert reached the server: slow, not dead. The
    // invocation times out; the server runs the closure again with the log: the insert is
    // answered from it, the rest runs here.
    let title = "stalled after its write";
    let before = remote_calls(admin, CREATE).await;
    let request = send(
        browser,
        "/api/posts".into(),
        post_json(title, &slow_body(2)),
    );
    signal_after_call(admin, platform, CREATE, before, 2, libc::SIGSTOP).await;
    let (reply, mut browser) = request.await.unwrap();
    signal_instances(platform, libc::SIGCONT);
    assert_eq!(reply.status, 201, "{}\n{}", reply.body, context());
    assert_eq!(reply.ran.as_deref(), Some("reexecuted"), "{}", context());
    let id = reply.json()["id"].as_u64().unwrap();
    assert_answers_the_stored_post(&reply, &mut browser, id).await;

    // The instance resumes past its deadline: whatever it does now (its fallbacks give up, its
    // answer goes to an invocation the server no longer waits for) changes nothing here.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ended(&platform.log(), CREATE) {
        assert!(
            Instant::now() < deadline,
            "the stalled invocation never ended\n{}",
            context()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(posts_titled(http, title).await.len(), 1, "written once");
    assert_eq!(
        refused(&admin.stats().await.unwrap()),
        refused_before,
        "the instance sent nothing after its deadline"
    );
    let stats = admin.stats().await.unwrap();
    assert_eq!(count(&stats, CREATE, "reexecuted"), 1, "{stats}");
    assert_eq!(
        count(&stats, CREATE, "offloaded"),
        0,
        "the late answer is never used: {stats}"
    );
    assert_eq!(count(&stats, CREATE, "abandoned"), 0, "{stats}");
    assert_eq!(
        handler(&stats, CREATE)["failure_reasons"]["timeout"].as_u64(),
        Some(1),
        "{stats}"
    );

    // Sharing draws a random token, saves the link, then renders a preview naming it. Stalled
    // after the save, the invocation times out; the re-execution draws another token, so its
    // save is another call than the logged one. It diverges: the request fails, and the first
    // token is the only one written.
    let before = remote_calls(admin, SHARE).await;
    let request = send(browser, format!("/api/posts/{id}/share"), String::new());
    // The session's user, the post, then the save.
    signal_after_call(admin, platform, SHARE, before, 3, libc::SIGSTOP).await;
    let (shared, _browser) = request.await.unwrap();
    signal_instances(platform, libc::SIGCONT);
    assert_eq!(shared.status, 500, "{}\n{}", shared.body, context());
    assert_eq!(shared.ran.as_deref(), Some("diverged"), "{}", context());
    let tokens = http
        .get_json(&format!("/api/posts/{id}/shares"))
        .await
        .unwrap();
    assert_eq!(
        tokens.as_array().map(Vec::len),
        Some(1),
        "one link: {tokens}"
    );
    let stats = admin.stats().await.unwrap();
    assert_eq!(count(&stats, SHARE, "diverged"), 1, "{stats}");
    assert_eq!(count(&stats, SHARE, "reexecuted"), 0, "{stats}");
    let last = handler(&stats, SHARE)["last_failure"]
        .as_str()
        .unwrap_or("");
    assert!(
        last.contains("diverged") && last.contains("save"),
        "the failure names the call that differed: {last}"
    );
    assert!(
        service
            .log()
            .contains("re-execution diverged from its call log"),
        "{}",
        context()
    );
}
