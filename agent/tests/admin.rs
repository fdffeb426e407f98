//! The admin endpoint over a real socket.

mod common;

use std::{sync::Arc, time::Duration};

use common::http;
use semifaas_agent::{
    admin::{AdminServer, AdminState},
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
async fn start_with(config: AgentConfig) -> (AdminServer, AdminState) {
    let policy = Arc::new(Policy::new(config.ratio).unwrap());
    let state = AdminState {
        policy: policy.clone(),
        stats: Arc::new(Stats::new()),
        candidates: Arc::new(Candidates::new(CandidateRules::from_config(&config))),
        control: Arc::new(BurstControl::new(&config, policy)),
    };
    let server = AdminServer::start("127.0.0.1:0".parse().unwrap(), state.clone())
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
    let (server, policy, _) = start().await;
    let addr = server.local_addr();

    let (status, body) = http(addr, "GET", "/ratio", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["ratio"], 0.0);

    let (status, body) = http(addr, "PUT", "/ratio", "0.5").await;
    assert_eq!((status, json(&body)["ratio"].as_f64()), (200, Some(0.5)));
    assert_eq!(policy.global_ratio(), 0.5);

    let (status, _) = http(addr, "PUT", "/ratio", r#"{"ratio":0.25}"#).await;
    assert_eq!(status, 200);
    assert_eq!(policy.global_ratio(), 0.25);

    let (status, body) = http(addr, "PUT", "/ratio?handler=com.example.C%23m", "1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["handler"], "com.example.C#m");
    let (_, body) = http(addr, "GET", "/ratio", "").await;
    assert_eq!(json(&body)["handlers"]["com.example.C#m"], 1.0);
    assert_eq!(policy.ratios().for_handler("com.example.C#m"), 1.0);

    let (status, _) = http(addr, "DELETE", "/ratio?handler=com.example.C%23m", "").await;
    assert_eq!(status, 200);
    let (status, _) = http(addr, "DELETE", "/ratio?handler=com.example.C%23m", "").await;
    assert_eq!(status, 404);
    assert!(policy.ratios().overrides.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ratio_requests_get_400_with_the_reason_and_change_nothing() {
    let (server, policy, _) = start().await;
    let addr = server.local_addr();
    http(addr, "PUT", "/ratio", "0.75").await;
    let cases = [
        ("/ratio", "abc", "not a number"),
        ("/ratio", "1.5", "outside [0, 1]"),
        ("/ratio", "-0.1", "outside [0, 1]"),
        ("/ratio", "NaN", "NaN"),
        ("/ratio", "", "empty body"),
        ("/ratio", "   ", "empty body"),
        ("/ratio", r#"{"rate":0.5}"#, "no numeric \\\"ratio\\\""),
        ("/ratio", r#"{"ratio":"#, "not valid JSON"),
        ("/ratio?handler=NoHash", "0.5", "Class#method"),
        ("/ratio?handler=a%20b%23c", "0.5", "Class#method"),
        ("/ratio?mode=auto", "0.5", "unknown query parameter"),
    ];
    for (path, body, reason) in cases {
        let (status, response) = http(addr, "PUT", path, body).await;
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
    let addr = server.local_addr();
    stats.record_invocation("com.example.C#m");
    stats.record_local(
        "com.example.C#m",
        Duration::from_millis(3),
        Duration::from_millis(2),
    );

    let (status, body) = http(addr, "GET", "/stats", "").await;
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

    let (status, body) = http(addr, "GET", "/metrics", "").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("semifaas_invocations_total{handler=\"com.example.C#m\"} 1"),
        "{body}"
    );

    let (status, _) = http(addr, "GET", "/nowhere", "").await;
    assert_eq!(status, 404);
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
    let addr = server.local_addr();

    let (status, body) = http(addr, "GET", "/controller", "").await;
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
    let (_, body) = http(addr, "GET", "/controller", "").await;
    let c = json(&body);
    assert_eq!(c["phase"], "offload");
    assert_eq!(c["ratio"], 0.75);
    assert_eq!(c["in_flight"], 8);
    let why = c["last_decision"]["why"].as_str().unwrap();
    assert!(why.contains("in-flight 8 of capacity 2"), "{why}");

    let (status, body) = http(addr, "POST", "/capacity-ready", "").await;
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

    let (status, body) = http(addr, "POST", "/capacity-ready?ready=false", "").await;
    assert_eq!(status, 200);
    assert_eq!(json(&body)["capacity_ready"], false);
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.75);

    let (_, body) = http(addr, "GET", "/stats", "").await;
    let stats = json(&body);
    assert_eq!(stats["mode"], "auto");
    assert_eq!(stats["phase"], "offload");
    assert_eq!(stats["in_flight"], 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_ratio_in_auto_mode_switches_to_manual_and_says_so() {
    let (server, state) = start_with(auto(1)).await;
    let addr = server.local_addr();
    let (status, body) = http(addr, "PUT", "/ratio", "0.4").await;
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
    let (_, body) = http(addr, "GET", "/controller", "").await;
    assert_eq!(json(&body)["phase"], "manual");

    let (status, body) = http(addr, "POST", "/controller?mode=auto", "").await;
    assert_eq!(status, 200, "{body}");
    let c = json(&body);
    assert_eq!(c["mode"], "auto");
    assert_eq!(c["phase"], "offload");
    let why = c["last_decision"]["why"].as_str().unwrap();
    assert!(why.contains("starting from ratio 0.400"), "{why}");
    state.control.tick();
    assert_eq!(state.policy.global_ratio(), 0.8);
    // A second PUT in manual mode carries no note.
    http(addr, "PUT", "/ratio", "0").await;
    let (_, body) = http(addr, "PUT", "/ratio", "0.1").await;
    assert!(json(&body).get("note").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_control_requests_get_400_with_the_reason_and_change_nothing() {
    let (server, state) = start_with(auto(4)).await;
    let addr = server.local_addr();
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
        let (status, body) = http(addr, "POST", path, "").await;
        assert_eq!(status, 400, "POST {path} gave {body}");
        assert!(
            body.contains(reason),
            "POST {path}: {body:?} should say {reason:?}"
        );
    }
    let c = state.control.state();
    assert_eq!((c.mode, c.capacity_ready), ("auto", false));
    // Without the agent started in a JVM there is nothing to prewarm with.
    let (status, body) = http(addr, "POST", "/prewarm?instances=2", "").await;
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
    let addr = server.local_addr();
    let record = |key: &str, cpu_ms: u64, runs: usize| {
        for _ in 0..runs {
            state.stats.record_invocation(key);
            let cpu = Duration::from_millis(cpu_ms);
            state.stats.record_local(key, cpu, cpu);
            state.candidates.record_local(key, cpu);
        }
    };
    record("com.example.Image#resize", 40, 3);
    record("com.example.Image#ping", 1, 3);
    record("com.example.Image#fresh", 40, 1);
    record("com.example.Health#check", 40, 3);

    let (status, body) = http(addr, "GET", "/stats", "").await;
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
    let (yes, why) = verdict("com.example.Health#check");
    assert!(!yes && why.contains("semifaas.exclude"), "{why}");

    let (_, metrics) = http(addr, "GET", "/metrics", "").await;
    assert!(
        metrics.contains("semifaas_handler_candidate{handler=\"com.example.Image#resize\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("semifaas_in_flight 0"));
}
