//! The admin endpoint over a real socket.

mod common;

use std::{sync::Arc, time::Duration};

use common::http;
use semifaas_agent::{
    admin::{AdminServer, AdminState},
    policy::Policy,
    stats::Stats,
};
use serde_json::Value;

async fn start() -> (AdminServer, Arc<Policy>, Arc<Stats>) {
    let policy = Arc::new(Policy::new(0.0).unwrap());
    let stats = Arc::new(Stats::new());
    let state = AdminState {
        policy: policy.clone(),
        stats: stats.clone(),
    };
    let server = AdminServer::start("127.0.0.1:0".parse().unwrap(), state)
        .await
        .unwrap();
    (server, policy, stats)
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
