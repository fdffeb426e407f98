//! Snapshot starts end to end: the real `semifaas local --snapshots` checkpoints a warm
//! `bootstrap` instance with CRIU and restores copies of it for later cold starts; the image
//! service with the agent offloads to them. Needs root, `make build` and `make criu` (`make
//! test` sets `SEMIFAAS_CRIU`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use semifaas_cli::harness::image_service::{
    assert_same, offload_everything, request_set, run_round, totals,
};
use semifaas_cli::harness::{
    test_criu, Admin, Dist, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

fn function(stats: &Value) -> &Value {
    &stats["functions"][FUNCTION]
}

fn count(stats: &Value, key: &str) -> u64 {
    function(stats)[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {stats}"))
}

async fn wait_for(platform: &FaasLocalProcess, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = platform.stats().await.unwrap();
        if done(&stats) {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: still {stats} after 60 s\n{}",
            platform.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// A warm instance is checkpointed and keeps serving; once it is gone, cold starts restore
/// copies of it (two at once too) that answer byte for byte as the server does, with their
/// closures already installed; no copy outlives the platform.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_starts_restore_a_checkpointed_warm_instance() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("snapshots");
    let platform = FaasLocalProcess::start_with_snapshots(
        &dist,
        FUNCTION,
        &test_criu(),
        10,
        &["--concurrency", "2"],
        &logs,
    )
    .await
    .unwrap();
    assert_eq!(
        function(&platform.stats().await.unwrap())["snapshot"],
        "none"
    );
    let options = offload_everything(ServiceOptions::for_platform("image-service", &platform));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let requests = request_set(&http).await;
    let n = requests.len() as u64;
    let local = run_round(&http, &requests).await;

    // One instance serves the sequential rounds; after its tenth invocation, in the second
    // round, when it has installed every closure, it is checkpointed.
    assert!(
        n < 10,
        "the first round installs every closure before the checkpoint"
    );
    admin.set_ratio(1.0).await.unwrap();
    for round in ["first offloaded round", "second offloaded round"] {
        let offloaded = run_round(&http, &requests).await;
        assert_same(round, &local, &offloaded, &requests);
    }
    let stats = wait_for(&platform, "the checkpoint", |s| {
        function(s)["snapshot"]
            .as_str()
            .is_some_and(|s| s.starts_with("ready"))
    })
    .await;
    assert_eq!(count(&stats, "cold_starts"), 1, "{stats}");
    assert_eq!(count(&stats, "snapshot_restores"), 0);
    // The checkpointed instance got its identity back and serves on, warm.
    let third = run_round(&http, &requests).await;
    assert_same("the checkpointed instance", &local, &third, &requests);
    assert_eq!(count(&platform.stats().await.unwrap(), "cold_starts"), 1);

    // Once it is reaped, the next cold start restores a copy.
    wait_for(&platform, "the idle instance's end", |s| {
        function(s)["instances"] == 0
    })
    .await;
    let before = totals(&admin.stats().await.unwrap());
    let fetches = |s: &Value| s["totals"]["fallbacks"]["fetch_closure"].as_u64().unwrap();
    let fetched_before = fetches(&admin.stats().await.unwrap());
    let restored = run_round(&http, &requests).await;
    assert_same("a restored copy", &local, &restored, &requests);
    let after_stats = admin.stats().await.unwrap();
    let after = totals(&after_stats);
    assert_eq!(
        after.1 - before.1,
        n,
        "every request offloaded: {after_stats}"
    );
    assert_eq!(after.3, before.3, "no failures: {after_stats}");
    assert_eq!(
        fetches(&after_stats),
        fetched_before,
        "the copy had every closure installed already: {after_stats}"
    );
    let stats = platform.stats().await.unwrap();
    assert_eq!(count(&stats, "cold_starts"), 2, "{stats}");
    assert_eq!(count(&stats, "snapshot_restores"), 1, "{stats}");
    assert!(
        platform.log().contains("restored from a checkpoint"),
        "the copy says it was restored:\n{}",
        platform.log()
    );

    // Two cold starts at once: two copies of the same checkpoint, side by side.
    wait_for(&platform, "the copy's end", |s| {
        function(s)["instances"] == 0
    })
    .await;
    let thumbnails = Request::get("/images/thumbnails/6?seed=3&size=64");
    let local_thumbnails = http.send(&thumbnails).await.unwrap();
    let (a, b) = tokio::join!(http.send(&thumbnails), http.send(&thumbnails));
    for exchange in [a.unwrap(), b.unwrap()] {
        assert_same(
            "two copies at once",
            std::slice::from_ref(&local_thumbnails),
            std::slice::from_ref(&exchange),
            std::slice::from_ref(&thumbnails),
        );
    }
    let stats = platform.stats().await.unwrap();
    assert_eq!(
        count(&stats, "snapshot_restores"),
        3,
        "{stats}\n{}",
        platform.log()
    );
    assert_eq!(count(&stats, "errors"), 0, "{stats}");

    // The copies are the platform's children; none outlives it.
    let instances = platform.instance_pids();
    assert_eq!(instances.len(), 2, "two copies running: {instances:?}");
    platform.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left: Vec<u32> = instances.into_iter().filter(|&p| alive(p)).collect();
    assert!(left.is_empty(), "copies left running: {left:?}");
}

/// Snapshots that cannot work say so at start and name what is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_without_criu_refuses_snapshots_at_start() {
    let dist = Dist::locate().unwrap();
    let out = std::process::Command::new(dist.semifaas().unwrap())
        .args([
            "local",
            "--port",
            "0",
            "--snapshots",
            "--criu",
            "/nonexistent/criu",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nonexistent/criu") && stderr.contains("CRIU"),
        "the error names the missing CRIU: {stderr}"
    );
    for (args, why) in [
        (&["--snapshots", "--api", "openwhisk"][..], "Lambda API"),
        (
            &["--snapshots", "--snapshot-after", "0"][..],
            "--snapshot-after 0",
        ),
        (&["--criu", "/usr/sbin/criu"][..], "--snapshots"),
    ] {
        let out = std::process::Command::new(dist.semifaas().unwrap())
            .args(["local", "--port", "0"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(
            stderr.contains(why),
            "{args:?}: the error names {why:?}: {stderr}"
        );
    }
}

/// A restore that fails costs a process start, not a request: the platform starts the instance
/// as a process, logs why (naming CRIU's log), drops the snapshot and takes a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_restore_starts_a_process_instead() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("snapshots-failed-restore");
    std::fs::create_dir_all(&logs).unwrap();
    // CRIU that dumps, but refuses every restore.
    let wrapper = logs.join("criu-without-restore.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n[ \"$1\" = restore ] && {{ echo 'restores refused by the test' >&2; exit 1; }}\nexec {} \"$@\"\n",
            test_criu()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let platform = FaasLocalProcess::start_with_snapshots(
        &dist,
        FUNCTION,
        wrapper.to_str().unwrap(),
        2,
        &[],
        &logs,
    )
    .await
    .unwrap();
    let options = offload_everything(ServiceOptions::for_platform("image-service", &platform));
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let requests = request_set(&http).await;
    let local = run_round(&http, &requests).await;
    admin.set_ratio(1.0).await.unwrap();
    let first = run_round(&http, &requests).await;
    assert_same("before the checkpoint", &local, &first, &requests);
    wait_for(&platform, "the checkpoint", |s| {
        function(s)["snapshot"]
            .as_str()
            .is_some_and(|s| s.starts_with("ready"))
    })
    .await;
    wait_for(&platform, "the instance's end", |s| {
        function(s)["instances"] == 0
    })
    .await;

    let before = totals(&admin.stats().await.unwrap());
    let after_failure = run_round(&http, &requests).await;
    assert_same("after a failed restore", &local, &after_failure, &requests);
    let after = totals(&admin.stats().await.unwrap());
    assert_eq!(
        after.1 - before.1,
        requests.len() as u64,
        "every request offloaded"
    );
    assert_eq!(after.3, before.3, "no failures");
    let stats = platform.stats().await.unwrap();
    assert_eq!(count(&stats, "snapshot_restores"), 0, "{stats}");
    assert_eq!(count(&stats, "cold_starts"), 2, "{stats}");
    let log = platform.log();
    assert!(
        log.contains("starting a process instead") && log.contains("restore.log"),
        "the platform says why it started a process, naming CRIU's log:\n{log}"
    );
}
