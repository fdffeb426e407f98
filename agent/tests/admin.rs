//! The admin endpoint over a real socket.

mod common;

use std::{sync::Arc, time::Duration};

use common::{http, raw_http, try_http};
use semifaas_agent::{
    admin::{AdminOptions, AdminServer, AdminState},
    admin_access::AdminToken,
    candidates::{CandidateRules, Candidates},
    config::{AgentConfig, Mode},
    controller::BurstControl,
    policy::Policy,
    stats::Stats,
};
use serde_json::Value;

async fn start() -> (AdminServer, Arc<Policy>, Arc<Stats>) {
    let (server, state) = start_with(AgentConfig::default()).await;
    (server, state.policy, state.stats)
}

/// An admin endpoint over the control plane built from `config`; the controller does not
/// tick by itself (tests call `tick`).
/// The admin endpoint's view of a fresh agent configured by `config`.
fn state_for(config: &AgentConfig) -> AdminState {
    let policy = Arc::new(Policy::new(config.ratio).unwrap());
    AdminState {
        policy: policy.clone(),
        stats: Arc::new(Stats::new()),
        candidates: Arc::new(Candidates::new(CandidateRules::from_config(config))),
        control: Arc::new(BurstControl::new(config, policy)),
        fallback_counters: Arc::default(),
        breaker: Arc::new(semifaas_agent::breaker::Breaker::new(
            semifaas_agent::lambda_invoker::LambdaInvoker::remedy,
        )),
    }
}

async fn start_with(config: AgentConfig) -> (AdminServer, AdminState) {
    let state = state_for(&config);
    let options = AdminOptions::from_config(&config);
    let server = AdminServer::start("127.0.0.1:0".parse().unwrap(), state.clone(), options)
        .await
        .unwrap();
    (server, state)
}

fn auto(capacity: u32) -> AgentConfig {
    AgentConfig {
        mode: Mode::Auto,
        auto_capacity: capacity,
        ..AgentConfig::default()
    }
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?} is not JSON: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratio_is_read_and_set_globally_and_per_handler() {
    let (server, policy, stats) = start().await;
    stats.record_invocation("com.example.C#m");

    let (status, body) = http(&server, "GET", "/ratio", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["ratio"], 0.0);

    let (status, body) = http(&server, "PUT", "/ratio", "0.5").await;
    assert_eq!((status, json(&body)["ratio"].as_f64()), (200, Some(0.5)));
    assert_eq!(policy.global_ratio(), 0.5);

    let (status, _) = http(&server, "PUT", "/ratio", r#"{"ratio":0.25}"#).await;
    assert_eq!(status, 200);
    assert_eq!(policy.global_ratio(), 0.25);

    let (status, body) = http(&server, "PUT", "/ratio?handler=com.example.C%23m", "1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["handler"], "com.example.C#m");
    let (_, body) = http(&server, "GET", "/ratio", "").await;
    assert_eq!(json(&body)["handlers"]["com.example.C#m"], 1.0);
    assert_eq!(policy.ratios().for_handler("com.example.C#m"), 1.0);

    let (status, _) = http(&server, "DELETE", "/ratio?handler=com.example.C%23m", "").await;
    assert_eq!(status, 200);
    let (status, _) = http(&server, "DELETE", "/ratio?handler=com.example.C%23m", "").await;
    assert_eq!(status, 404);
    assert!(policy.ratios().overrides.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ratio_requests_get_400_with_the_reason_and_change_nothing() {
    let (server, policy, _) = start().await;
    http(&server, "PUT", "/ratio", "0.75").await;
    let cases = [
        ("/ratio", "abc", "not a ratio"),
        ("/ratio", "1.5", "in [0, 1]"),
        ("/ratio", "-0.1", "in [0, 1]"),
        ("/ratio", "NaN", "NaN"),
        ("/ratio", "-0", "\\\"-0\\\" is not a ratio"),
        ("/ratio", "+0", "not a ratio"),
        ("/ratio", "0x1", "not a ratio"),
        ("/ratio", "1e0", "not a ratio"),
        ("/ratio", "inf", "not a ratio"),
        ("/ratio", r#"{"ratio":-0.0}"#, "not a ratio"),
        ("/ratio", "", "empty body"),
        ("/ratio", "   ", "empty body"),
        ("/ratio", r#"{"rate":0.5}"#, "no numeric \\\"ratio\\\""),
        ("/ratio", r#"{"ratio":"#, "not valid JSON"),
        ("/ratio?handler=NoHash", "0.5", "Class#method"),
        ("/ratio?handler=a%20b%23c", "0.5", "Class#method"),
        ("/ratio?mode=auto", "0.5", "unknown query parameter"),
    ];
    for (path, body, reason) in cases {
        let (status, response) = http(&server, "PUT", path, body).await;
        assert_eq!(status, 400, "PUT {path} {body:?} gave {response}");
        assert!(
            response.contains(reason),
            "PUT {path} {body:?}: {response:?} should say {reason:?}"
        );
        assert!(json(&response)["error"].is_string());
    }
    assert_eq!(policy.global_ratio(), 0.75);
    assert!(policy.ratios().overrides.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_metrics_are_served() {
    let (server, _, stats) = start().await;
    stats.record_invocation("com.example.C#m");
    stats.record_local(
        "com.example.C#m",
        Duration::from_millis(3),
        Some(Duration::from_millis(2)),
    );

    let (status, body) = http(&server, "GET", "/stats", "").await;
    assert_eq!(status, 200);
    let stats = json(&body);
    for field in ["invocations", "offloaded", "local", "failures"] {
        assert!(
            stats["totals"][field].is_u64(),
            "totals.{field} missing in {body}"
        );
    }
    assert_eq!(stats["totals"]["invocations"], 1);
    assert_eq!(stats["handlers"]["com.example.C#m"]["local"], 1);
    assert_eq!(stats["ratio"], 0.0);

    let (status, body) = http(&server, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("semifaas_invocations_total{handler=\"com.example.C#m\"} 1"),
        "{body}"
    );

    let (status, body) = http(&server, "GET", "/nowhere", "").await;
    assert_eq!(status, 404);
    let error = json(&body)["error"].as_str().unwrap().to_owned();
    assert!(
        error.contains("GET /nowhere") && error.contains("GET / lists the endpoints"),
        "{error}"
    );
    let (status, body) = http(&server, "POST", "/stats", "").await;
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("it takes GET"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_lists_every_endpoint() {
    let (server, _, _) = start().await;
    let (status, body) = http(&server, "GET", "/", "").await;
    assert_eq!(status, 200);
    for line in [
        "GET     /ratio",
        "PUT     /ratio[?handler=Class%23method]",
        "DELETE  /ratio?handler=Class%23method",
        "GET     /stats",
        "GET     /metrics",
        "POST    /controller?mode=auto|manual",
        "POST    /capacity-ready[?ready=false]",
        "POST    /prewarm?instances=N",
    ] {
        let (method, path) = line.split_once(' ').unwrap();
        let request = format!("{method} {}", path.trim_start());
        assert!(body.contains(&request), "{request:?} missing in\n{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ratio_for_an_unknown_handler_is_a_404_naming_similar_handlers() {
    let (server, policy, stats) = start().await;
    stats.record_invocation("com.example.ImageController#resize");
    stats.record_invocation("com.example.ImageController#thumbnails");
    stats.record_invocation("org.other.Health#check");

    let (status, body) = http(
        &server,
        "PUT",
        "/ratio?handler=com.example.ImageController%23resise",
        "1",
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let answer = json(&body);
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("never been seen"), "{error}");
    assert_eq!(
        answer["similar"][0], "com.example.ImageController#resize",
        "{body}"
    );
    assert_eq!(
        answer["similar"].as_array().unwrap().len(),
        1,
        "dissimilar keys are not listed: {body}"
    );
    assert!(policy.ratios().overrides.is_empty());

    let (status, body) = http(&server, "PUT", "/ratio?handler=x.Y%23z", "1").await;
    assert_eq!(status, 404, "{body}");

    // A known handler is accepted, and its override cleared again.
    let (status, _) = http(
        &server,
        "PUT",
        "/ratio?handler=com.example.ImageController%23resize",
        "0.5",
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = http(
        &server,
        "DELETE",
        "/ratio?handler=com.example.ImageController%23resize",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        json(&body)["ratio"],
        0.0,
        "it follows the global ratio again"
    );
    assert!(policy.ratios().overrides.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_have_latency_histograms_and_mode_and_phase_gauges() {
    let (server, state) = start_with(auto(2)).await;
    let key = "com.example.C#m";
    for ms in [3, 7, 40] {
        state.stats.record_invocation(key);
        let d = Duration::from_millis(ms);
        state.stats.record_local(key, d, Some(d));
    }
    in_flight(&state.control, 8);
    state.control.tick();

    let (status, metrics) = http(&server, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("# TYPE semifaas_local_wall_seconds histogram"),
        "{metrics}"
    );
    let buckets: Vec<(f64, u64)> = metrics
        .lines()
        .filter_map(|l| {
            l.strip_prefix("semifaas_local_wall_seconds_bucket{handler=\"com.example.C#m\",le=\"")
        })
        .map(|rest| {
            let (le, count) = rest.split_once("\"} ").unwrap();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (le, count.parse().unwrap())
        })
        .collect();
    assert!(buckets.len() > 5, "{metrics}");
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "buckets rise: {buckets:?}"
    );
    let count_at = |le: f64| buckets.iter().find(|b| b.0 == le).unwrap().1;
    assert_eq!((count_at(0.005), count_at(0.01), count_at(0.05)), (1, 2, 3));
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 3));
    assert!(metrics.contains("semifaas_local_wall_seconds_count{handler=\"com.example.C#m\"} 3"));
    assert!(
        metrics.contains("semifaas_mode{mode=\"auto\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("semifaas_mode{mode=\"manual\"} 0"));
    assert!(metrics.contains("semifaas_controller_phase{phase=\"offload\"} 1"));
    assert!(metrics.contains("semifaas_controller_phase{phase=\"absorb\"} 0"));
    assert!(metrics.contains("semifaas_ratio 0.75"));
    assert!(metrics.contains("# TYPE semifaas_offloads_in_flight gauge"));
    assert!(metrics.contains("semifaas_invocations_total{handler=\"com.example.C#m\"} 3"));
}

/// Marks `n` requests in flight, each on its own thread (the gauge counts a thread once).
fn in_flight(control: &Arc<BurstControl>, n: usize) {
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let control = control.clone();
            std::thread::spawn(move || control.gauge().enter())
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_state_shows_saturation_and_capacity_ready_hands_over() {
    let (server, state) = start_with(auto(2)).await;

    let (status, body) = http(&server, "GET", "/controller", "").await;
    assert_eq!(status, 200);
    let c = json(&body);
    assert_eq!(
        (c["mode"].as_str(), c["phase"].as_str()),
        (Some("auto"), Some("absorb"))
    );
    assert_eq!(c["capacity"], 2);
    assert_eq!(c["capacity_ready"], false);

    // Eight requests in flight on capacity 2: one tick raises the ratio to the excess share.
    in_flight(&state.control, 8);
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.75);
    let (_, body) = http(&server, "GET", "/controller", "").await;
    let c = json(&body);
    assert_eq!(c["phase"], "offload");
    assert_eq!(c["ratio"], 0.75);
    assert_eq!(c["in_flight"], 8);
    let why = c["last_decision"]["why"].as_str().unwrap();
    assert!(why.contains("in-flight 8 of capacity 2"), "{why}");

    let (status, body) = http(&server, "POST", "/capacity-ready", "").await;
    assert_eq!(status, 200, "{body}");
    let c = json(&body);
    assert_eq!(
        (c["phase"].as_str(), c["ratio"].as_f64()),
        (Some("handover"), Some(0.0))
    );
    assert_eq!(c["capacity_ready"], true);
    assert_eq!(state.policy.global_ratio(), 0.0);
    // Still saturated, but the handover holds the ratio at 0.
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.0);

    let (status, body) = http(&server, "POST", "/capacity-ready?ready=false", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["capacity_ready"], false);
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.75);

    let (_, body) = http(&server, "GET", "/stats", "").await;
    let stats = json(&body);
    assert_eq!(stats["mode"], "auto");
    assert_eq!(stats["phase"], "offload");
    assert_eq!(stats["in_flight"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_ratio_in_auto_mode_switches_to_manual_and_says_so() {
    let (server, state) = start_with(auto(1)).await;
    let (status, body) = http(&server, "PUT", "/ratio", "0.4").await;
    assert_eq!(status, 200);
    let r = json(&body);
    assert_eq!(r["mode"], "manual");
    assert!(r["note"].as_str().unwrap().contains("mode=auto"), "{body}");
    in_flight(&state.control, 5);
    state.control.tick();
    assert_eq!(
        state.policy.global_ratio(),
        0.4,
        "manual mode: the controller stays off"
    );
    let (_, body) = http(&server, "GET", "/controller", "").await;
    assert_eq!(json(&body)["phase"], "manual");

    let (status, body) = http(&server, "POST", "/controller?mode=auto", "").await;
    assert_eq!(status, 200, "{body}");
    let c = json(&body);
    assert_eq!(c["mode"], "auto");
    assert_eq!(c["phase"], "offload");
    let why = c["last_decision"]["why"].as_str().unwrap();
    assert!(why.contains("starting from ratio 0.400"), "{why}");
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.8);
    // A second PUT in manual mode carries no note.
    http(&server, "PUT", "/ratio", "0").await;
    let (_, body) = http(&server, "PUT", "/ratio", "0.1").await;
    assert!(json(&body).get("note").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_control_requests_get_400_with_the_reason_and_change_nothing() {
    let (server, state) = start_with(auto(4)).await;
    let cases = [
        ("/capacity-ready?ready=maybe", "not true or false"),
        ("/capacity-ready?now=1", "unknown query parameter"),
        ("/controller", "needs ?mode=auto"),
        ("/controller?mode=turbo", "not one of: auto, manual"),
        ("/prewarm", "needs ?instances=N"),
        ("/prewarm?instances=0", "from 1 to 256"),
        ("/prewarm?instances=lots", "from 1 to 256"),
        ("/prewarm?instances=257", "from 1 to 256"),
        ("/prewarm?count=2", "unknown query parameter"),
    ];
    for (path, reason) in cases {
        let (status, body) = http(&server, "POST", path, "").await;
        assert_eq!(status, 400, "POST {path} gave {body}");
        assert!(
            body.contains(reason),
            "POST {path}: {body:?} should say {reason:?}"
        );
    }
    let c = state.control.state();
    assert_eq!((c.mode, c.capacity_ready), ("auto", false));
    // Without the agent started in a JVM there is nothing to prewarm with.
    let (status, body) = http(&server, "POST", "/prewarm?instances=2", "").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("NativeBridge.init"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_list_each_handlers_candidate_status_and_reason() {
    let (server, state) = start_with(AgentConfig {
        exclude: vec!["com.example.Health".into()],
        ..AgentConfig::default()
    })
    .await;
    let record = |key: &str, cpu_ms: u64, runs: usize| {
        for _ in 0..runs {
            state.stats.record_invocation(key);
            let cpu = Duration::from_millis(cpu_ms);
            state.stats.record_local(key, cpu, Some(cpu));
            state.candidates.record_local(key, cpu);
        }
    };
    record("com.example.Image#resize", 40, 3);
    record("com.example.Image#ping", 1, 3);
    record("com.example.Image#fresh", 40, 1);
    record("com.example.Health#check", 40, 3);

    let (status, body) = http(&server, "GET", "/stats", "").await;
    assert_eq!(status, 200);
    let stats = json(&body);
    assert_eq!(stats["mode"], "manual");
    assert_eq!(stats["phase"], "manual");
    assert_eq!(stats["in_flight"], 0);
    let h = &stats["handlers"];
    let verdict = |key: &str| {
        (
            h[key]["candidate"].as_bool().unwrap(),
            h[key]["reason"].as_str().unwrap().to_owned(),
        )
    };
    let (yes, why) = verdict("com.example.Image#resize");
    assert!(yes && why.contains("median local CPU 40.000 ms"), "{why}");
    let (yes, why) = verdict("com.example.Image#ping");
    assert!(!yes && why.contains("semifaas.min-cpu-ms"), "{why}");
    let (yes, why) = verdict("com.example.Image#fresh");
    assert!(!yes && why.contains("1 of 3"), "{why}");
    let fresh = &h["com.example.Image#fresh"];
    assert_eq!(fresh["status"], "profiling");
    assert_eq!(
        (
            fresh["profiled_runs"].as_u64(),
            fresh["profile_samples"].as_u64()
        ),
        (Some(1), Some(3))
    );
    assert_eq!(h["com.example.Image#resize"]["status"], "candidate");
    assert_eq!(h["com.example.Image#ping"]["status"], "not_candidate");
    assert_eq!(h["com.example.Health#check"]["status"], "not_candidate");
    let (yes, why) = verdict("com.example.Health#check");
    assert!(!yes && why.contains("semifaas.exclude"), "{why}");

    let (_, metrics) = http(&server, "GET", "/metrics", "").await;
    assert!(
        metrics.contains("semifaas_handler_candidate{handler=\"com.example.Image#resize\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("semifaas_in_flight 0"));
}

/// An admin endpoint with `options` over an empty control plane.
async fn start_with_options(options: AdminOptions) -> AdminServer {
    let state = state_for(&AgentConfig::default());
    AdminServer::start("127.0.0.1:0".parse().unwrap(), state, options)
        .await
        .unwrap()
}

fn options(read_timeout: Duration, max_connections: usize) -> AdminOptions {
    AdminOptions {
        read_timeout,
        max_connections,
        ..AdminOptions::from_config(&AgentConfig::default())
    }
}

/// A request with `headers` (each ending in CRLF) and `Connection: close`.
fn request(method: &str, path: &str, headers: &str) -> String {
    format!("{method} {path} HTTP/1.1\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_the_token_get_401_and_a_foreign_host_403() {
    let (server, state) = start_with(auto(2)).await;
    let addr = server.local_addr();
    let token = server.token().secret().to_owned();
    let host = format!("Host: {addr}\r\n");
    let bearer = |t: &str| format!("{host}Authorization: Bearer {t}\r\n");
    let forged = [
        ("GET", "/ratio".to_owned(), host.clone()),
        ("GET", "/".to_owned(), host.clone()),
        ("PUT", "/ratio".to_owned(), host.clone()),
        ("POST", "/controller?mode=manual".to_owned(), host.clone()),
        ("POST", "/capacity-ready".to_owned(), host.clone()),
        ("POST", "/prewarm?instances=256".to_owned(), host.clone()),
        (
            "POST",
            "/controller?mode=manual".to_owned(),
            bearer("wrong"),
        ),
        (
            "POST",
            "/controller?mode=manual".to_owned(),
            bearer(&token[..63]),
        ),
        (
            "POST",
            "/controller?mode=manual".to_owned(),
            bearer(&format!("{token}0")),
        ),
        (
            "POST",
            format!("/controller?mode=manual&token={token}"),
            host.clone(),
        ),
        (
            "POST",
            "/controller?mode=manual".to_owned(),
            format!("{host}Authorization: {token}\r\n"),
        ),
        (
            "POST",
            "/controller?mode=manual".to_owned(),
            format!("{host}Cookie: token={token}\r\n"),
        ),
    ];
    for (method, path, headers) in &forged {
        let (status, body) = raw_http(addr, &request(method, path, headers)).await;
        assert_eq!(status, 401, "{method} {path} with {headers:?}: {body}");
        assert!(body.contains("Authorization: Bearer <token>"), "{body}");
        assert!(!body.contains(&token), "the answer never holds the token");
    }
    let c = state.control.state();
    assert_eq!(
        (c.mode, c.capacity_ready),
        ("auto", false),
        "nothing changed"
    );

    // DNS rebinding: the right token does not help a request that names another host.
    for foreign in [
        "evil.example",
        "evil.example:80",
        "127.0.0.2",
        "127.0.0.1:1",
    ] {
        let foreign = format!("{foreign}:{}", addr.port());
        let headers = format!("Host: {foreign}\r\nAuthorization: Bearer {token}\r\n");
        let (status, body) = raw_http(addr, &request("POST", "/capacity-ready", &headers)).await;
        assert_eq!(status, 403, "Host {foreign}: {body}");
        assert!(body.contains("does not name this admin endpoint"), "{body}");
    }
    let no_host = format!("Authorization: Bearer {token}\r\n");
    let (status, _) = raw_http(addr, &request("GET", "/ratio", &no_host)).await;
    assert_eq!(status, 403, "no Host");
    assert!(!state.control.state().capacity_ready);

    for host in [addr.to_string(), format!("localhost:{}", addr.port())] {
        let headers = format!("Host: {host}\r\nAuthorization: Bearer {token}\r\n");
        let (status, body) = raw_http(addr, &request("POST", "/capacity-ready", &headers)).await;
        assert_eq!(status, 200, "Host {host}: {body}");
    }
    assert!(state.control.state().capacity_ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_file_is_private_holds_the_token_and_goes_with_the_server() {
    use std::os::unix::fs::PermissionsExt;
    let (server, _) = start_with(AgentConfig::default()).await;
    let file = server.token_file().to_owned();
    assert_eq!(
        file,
        semifaas_admin_token::token_file_locations(server.local_addr())[0],
        "the default location follows from the bound address"
    );
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let content = std::fs::read_to_string(&file).unwrap();
    assert_eq!(content.trim(), server.token().secret());
    assert_eq!(content.trim().len(), 64, "256 bits in hex");
    let (status, _) = http(&server, "GET", "/ratio", "").await;
    assert_eq!(status, 200);
    drop(server);
    assert!(!file.exists(), "removed when the server stops");

    // A configured token, in a configured file.
    let dir = std::env::temp_dir().join(format!("semifaas-admin-test-{}", std::process::id()));
    let chosen = dir.join("nested").join("admin.token");
    let secret = "abcdefghijklmnopqrstuvwxyz-0123456789";
    let server = start_with_options(AdminOptions {
        token: AdminToken::parse(secret),
        token_file: Some(chosen.clone()),
        ..options(Duration::from_secs(10), 64)
    })
    .await;
    assert_eq!(std::fs::read_to_string(&chosen).unwrap().trim(), secret);
    assert_eq!(mode(&chosen), 0o600);
    let headers = format!(
        "Host: {}\r\nAuthorization: Bearer {secret}\r\n",
        server.local_addr()
    );
    let (status, _) = raw_http(server.local_addr(), &request("GET", "/stats", &headers)).await;
    assert_eq!(status, 200);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_handler_keys_are_refused_and_do_not_grow_the_ratios() {
    let (server, policy, stats) = start().await;
    stats.record_invocation("com.example.C#m");
    let (_, before) = http(&server, "GET", "/ratio", "").await;
    for i in 0..200 {
        let junk = format!("/ratio?handler=junk.{}{i}%23m", "x".repeat(900));
        let (status, body) = http(&server, "PUT", &junk, "1").await;
        assert_eq!(status, 404, "{body}");
    }
    let (_, after) = http(&server, "GET", "/ratio", "").await;
    assert_eq!(after, before);
    assert!(policy.ratios().overrides.is_empty());
}

/// How long until the server closes `stream` (reads return end of file or an error).
async fn time_until_closed(stream: &mut tokio::net::TcpStream) -> (Duration, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received));
    let _ = read.await.expect("the server closes the connection");
    (started.elapsed(), received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_closed_after_the_read_timeout() {
    use tokio::io::AsyncWriteExt;
    let timeout = Duration::from_millis(300);
    let server = start_with_options(options(timeout, 64)).await;
    let addr = server.local_addr();
    let token = server.token().secret().to_owned();

    // Headers that never end.
    let mut partial = tokio::net::TcpStream::connect(addr).await.unwrap();
    partial
        .write_all(format!("GET /ratio HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .unwrap();
    // Nothing at all.
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    // A body shorter than announced.
    let mut short_body = tokio::net::TcpStream::connect(addr).await.unwrap();
    short_body
        .write_all(
            format!(
                "PUT /ratio HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
                 Content-Length: 10\r\n\r\n0."
            )
            .as_bytes(),
        )
        .await
        .unwrap();

    for stream in [&mut partial, &mut silent] {
        let (waited, _) = time_until_closed(stream).await;
        assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    }
    let (waited, answer) = time_until_closed(&mut short_body).await;
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("did not arrive within 300 ms"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_closed_at_once() {
    let server = start_with_options(options(Duration::from_secs(30), 2)).await;
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Give the server the time to accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (waited, _) = time_until_closed(&mut third).await;
    assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
    drop(held);
    // Their slots come back once the server sees them closed.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        // Until the server has seen them closed, a new connection is still closed at once.
        let answered = tokio::time::timeout(
            Duration::from_secs(1),
            try_http(&server, "GET", "/ratio", ""),
        );
        if let Ok(Some((200, _))) = answered.await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            std::time::Instant::now() < deadline,
            "slots are not released"
        );
    }
}
