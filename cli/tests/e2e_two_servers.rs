//! Several servers, one function: two image-service processes, each with its own agent, admin
//! port and fallback endpoint (its own certificate), offload to the same faas-local function.
//! They run the same application, so their closures have the same ids: only the instance's
//! per-server installations keep one server's closure (and what it fetched) from serving the
//! other's invocations. Needs `make build`.

use std::path::PathBuf;

use semifaas_cli::harness::image_service::{
    assert_same, offload_everything, request_set, run_round,
};
use semifaas_cli::harness::{
    Admin, Dist, FaasLocalProcess, HttpClient, ServiceOptions, ServiceProcess,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";
/// Concurrent clients per server: with two servers, at most 4 offloads in flight, under the
/// platform's limit of 6 (an instance answering is busy until it asks for the next one).
const CLIENTS: usize = 2;
const ROUNDS: usize = 3;

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

fn count(stats: &Value, pointer: &str) -> u64 {
    stats
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no {pointer} in {stats}"))
}

/// `(handler, offloaded, closure fetches served)` of each handler that offloaded.
fn closure_fetches(stats: &Value) -> Vec<(String, u64, u64)> {
    stats["handlers"]
        .as_object()
        .unwrap_or_else(|| panic!("no handlers in {stats}"))
        .iter()
        .map(|(key, h)| {
            (
                key.clone(),
                count(h, "/offloaded"),
                count(h, "/fallbacks/fetch_closure"),
            )
        })
        .filter(|(_, offloaded, _)| *offloaded > 0)
        .collect()
}

fn cold_starts(platform_stats: &Value) -> u64 {
    count(
        platform_stats,
        &format!("/functions/{FUNCTION}/cold_starts"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_function_each_get_their_own_answers_and_call_backs() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("two-servers");
    let platform = FaasLocalProcess::start(&dist, FUNCTION, &["--concurrency", "6"], &logs)
        .await
        .unwrap();
    let options = offload_everything(ServiceOptions::new("image-service", &platform.endpoint()));
    let (a, b) = tokio::join!(
        ServiceProcess::start(&dist, &options, &logs),
        ServiceProcess::start(&dist, &options, &logs)
    );
    let servers = [a.unwrap(), b.unwrap()];
    let http = servers.each_ref().map(|s| HttpClient::new(s.port));
    let admin = servers.each_ref().map(|s| Admin::new(s.admin_port));
    let requests = request_set(&http[0]).await;

    // The answers computed on the servers themselves (ratio 0): the same application, the same
    // bytes on both.
    let local = run_round(&http[0], &requests).await;
    assert_same(
        "ratio 0 on b",
        &local,
        &run_round(&http[1], &requests).await,
        &requests,
    );

    // Server a offloads one request at a time, so one instance installs a's closures; then
    // server b does the same on that warm instance. Same application, same closure ids: b's
    // invocations must still fetch b's closures from b, not run what a installed.
    admin[0].set_ratio(1.0).await.unwrap();
    assert_same(
        "a alone",
        &local,
        &run_round(&http[0], &requests).await,
        &requests,
    );
    let cold_after_a = cold_starts(&platform.stats().await.unwrap());
    admin[1].set_ratio(1.0).await.unwrap();
    assert_same(
        "b on a's instance",
        &local,
        &run_round(&http[1], &requests).await,
        &requests,
    );
    assert_eq!(
        cold_starts(&platform.stats().await.unwrap()),
        cold_after_a,
        "b's invocations ran on the instance a had warmed"
    );
    let b_stats = admin[1].stats().await.unwrap();
    let b_fetches = closure_fetches(&b_stats);
    assert!(b_fetches.len() >= 5, "every handler offloaded: {b_stats}");
    for (handler, _, fetched) in &b_fetches {
        assert!(
            *fetched >= 1,
            "{handler} ran on an instance that had a's closure; b's was never fetched from b: {b_fetches:?}"
        );
    }

    // Both servers under concurrent load at once, every response byte-identical.
    let before = [
        admin[0].stats().await.unwrap(),
        admin[1].stats().await.unwrap(),
    ];
    let clients: Vec<_> = (0..2 * CLIENTS)
        .map(|i| {
            let (http, requests, local) = (http[i % 2].clone(), requests.clone(), local.clone());
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    let got = run_round(&http, &requests).await;
                    let what = format!("server {} client {i} round {round}", i % 2);
                    assert_same(&what, &local, &got, &requests);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }

    let concurrent = (requests.len() * CLIENTS * ROUNDS) as u64;
    for (i, server) in servers.iter().enumerate() {
        let stats = admin[i].stats().await.unwrap();
        let context = || format!("server {i}: {stats}\n{}", server.log());
        let delta = |counter: &str| {
            let pointer = format!("/totals/{counter}");
            count(&stats, &pointer) - count(&before[i], &pointer)
        };
        // Offloads beyond what the platform has room for run here (throttled starts, the
        // learned in-flight limit); the rest went to the shared function.
        assert!(delta("offloaded") >= requests.len() as u64, "{}", context());
        assert_eq!(
            delta("offloaded") + delta("local"),
            concurrent,
            "{}",
            context()
        );
        // No offload failed but for the platform's throttling: a call-back that had reached the
        // other server would have failed its offload (`function_failed`).
        for (reason, n) in stats["totals"]["failure_reasons"].as_object().unwrap() {
            if reason != "throttled" {
                assert_eq!(n.as_u64(), Some(0), "{reason}: {}", context());
            }
        }
        // Each server's call-backs came from its own invocations only: the other's would be
        // refused here (a connection whose hello it does not know, or a request whose capability
        // names no invocation in flight).
        for refused in ["unauthenticated_connections", "not_in_flight", "bad_frames"] {
            let pointer = format!("/refused/{refused}");
            assert_eq!(count(&stats, &pointer), 0, "{refused}: {}", context());
        }
        let served: u64 = ["fetch_closure", "load_class", "get_resource"]
            .iter()
            .map(|k| count(&stats, &format!("/totals/fallbacks/{k}")))
            .sum();
        assert!(served > 0, "server {i} served call-backs: {}", context());
    }
}
