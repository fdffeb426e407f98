//! The control plane end to end: the image service with `semifaas.mode=auto` bursts into the
//! real `semifaas local` when concurrent requests exceed its capacity, spills queued requests,
//! learns the platform's room from its throttling, and `semifaas capacity-ready` / `semifaas
//! prewarm` drive it from the command line. Needs `make build`.

use std::{
    path::PathBuf,
    process::Command,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use semifaas_cli::harness::{
    Admin, Dist, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess,
    PLACEMENT_HEADER,
};
use serde_json::Value;

const FUNCTION: &str = "semifaas";
/// Generous bound for a burst to show up in the stats on a loaded 2-core machine.
const BURST_DEADLINE: Duration = Duration::from_secs(90);

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-logs")
        .join(test)
}

/// Runs `semifaas ARGS --admin URL`; returns success, stdout and stderr.
fn semifaas(admin_port: u16, args: &[&str]) -> (bool, String, String) {
    semifaas_with_env(admin_port, args, &[])
}

/// [`semifaas`] with environment variables set (the token is found without any).
fn semifaas_with_env(
    admin_port: u16,
    args: &[&str],
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_semifaas"))
        .args(args)
        .args(["--admin", &format!("http://127.0.0.1:{admin_port}")])
        .env_remove("SEMIFAAS_ADMIN_TOKEN")
        .envs(env.iter().copied())
        .output()
        .expect("semifaas runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{text:?} is not JSON: {e}"))
}

fn total(stats: &Value, counter: &str) -> u64 {
    stats["totals"][counter]
        .as_u64()
        .unwrap_or_else(|| panic!("no totals.{counter} in {stats}"))
}

fn offloaded(stats: &Value) -> u64 {
    total(stats, "offloaded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_offloaded_in_auto_mode_and_capacity_ready_hands_it_back() {
    let dist = Dist::locate().unwrap();
    let logs = log_dir("control-plane");
    // Room for one instance: the agent must find that out from the throttling.
    let platform = FaasLocalProcess::start(&dist, FUNCTION, &["--concurrency", "1"], &logs)
        .await
        .unwrap();
    let mut options = ServiceOptions::new("image-service", &platform.endpoint());
    options.settings.extend(
        [
            ("mode", "auto"),
            ("auto.capacity", "1"),
            ("auto.interval-ms", "50"),
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("placement-header", PLACEMENT_HEADER),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    let service = ServiceProcess::start(&dist, &options, &logs).await.unwrap();
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);

    let stats = admin.stats().await.unwrap();
    assert_eq!(
        (stats["mode"].as_str(), stats["in_flight"].as_u64()),
        (Some("auto"), Some(0))
    );

    // Six clients against capacity 1 until part of the burst is offloaded and the platform's
    // room of one has been learned.
    let stop = Arc::new(AtomicBool::new(false));
    let placements = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let clients: Vec<_> = (0..6)
        .map(|client| {
            let (http, stop, placements) = (http.clone(), stop.clone(), placements.clone());
            tokio::spawn(async move {
                let mut seed = client * 1000;
                while !stop.load(Ordering::Relaxed) {
                    seed += 1;
                    let request = Request::get(&format!("/images/generate/480/360?seed={seed}"));
                    let response = http.send(&request).await.unwrap();
                    assert_eq!(response.status, 200, "request {seed} during the burst");
                    placements.lock().unwrap().insert(response.placement);
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut stats = admin.stats().await.unwrap();
    // The first offload may be the ratio's or a spill, depending on whether a tick came before
    // the queue built up; wait for both kinds and for a throttled offload.
    let seen_all = |stats: &Value| {
        ["offloaded", "spilled", "platform_full"]
            .iter()
            .all(|counter| total(stats, counter) > 0)
    };
    while !seen_all(&stats) && started.elapsed() < BURST_DEADLINE
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stats = admin.stats().await.unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }
    assert!(
        offloaded(&stats) > 0,
        "six concurrent clients on capacity 1 must be offloaded in part: {stats}\n{}",
        service.log()
    );
    let handler = "io.semifaas.samples.image.web.ImageController#generate";
    let h = &stats["handlers"][handler];
    assert_eq!(h["candidate"], true, "{stats}");
    // Requests that would have queued went to the platform beside the ratio's own offloads,
    // and once a second offload was throttled the agent stopped sending more than one.
    assert!(total(&stats, "spilled") > 0, "{stats}");
    assert!(total(&stats, "platform_full") > 0, "{stats}");
    let controller = admin.controller().await.unwrap();
    assert_eq!(controller["learned"], true, "{controller}");
    // 1, or 2 while a probe for more room is out.
    let limit = controller["offload_limit"].as_u64();
    assert!(matches!(limit, Some(1 | 2)), "{controller}");
    // Each response said where it ran.
    let placements = placements.lock().unwrap().clone();
    assert_eq!(
        placements,
        [Some("local".to_owned()), Some("offloaded".to_owned())].into(),
        "placement headers of the burst"
    );

    // The operator reports new capacity: the ratio drops to 0 and stays there.
    let (ok, out, err) = semifaas(service.admin_port, &["capacity-ready", "-o", "json"]);
    assert!(ok, "{err}");
    let state = json(&out);
    assert_eq!(
        (state["phase"].as_str(), state["ratio"].as_f64()),
        (Some("handover"), Some(0.0))
    );
    let before = offloaded(&admin.stats().await.unwrap());
    for seed in 0..5 {
        let request = Request::get(&format!("/images/generate/64/48?seed={seed}"));
        let response = http.send(&request).await.unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.placement.as_deref(), Some("local"));
    }
    let stats = admin.stats().await.unwrap();
    assert_eq!(
        offloaded(&stats),
        before,
        "handover keeps requests here: {stats}"
    );
    assert_eq!(stats["phase"], "handover");

    let (ok, out, err) = semifaas(service.admin_port, &["capacity-ready", "--not-ready"]);
    assert!(ok, "{err}");
    // Tables by default: aligned `key  value` lines.
    let line = out
        .lines()
        .find(|l| l.starts_with("capacity_ready "))
        .unwrap_or_else(|| panic!("no capacity_ready line in {out}"));
    assert!(line.ends_with(" false"), "{out}");
    let (ok, out, err) = semifaas(service.admin_port, &["mode", "-o", "json"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["mode"], "auto", "{out}");
    assert!(json(&out)["guard"]["why"].is_string(), "{out}");

    // Prewarming one instance installs the handler's closure there.
    let (ok, out, err) = semifaas(service.admin_port, &["prewarm", "1", "-o", "json"]);
    assert!(ok, "{err}");
    let report = json(&out);
    assert_eq!(report["requested"], 1, "{out}");
    assert!(report["closures"].as_u64().unwrap() >= 1, "{out}");
    // Bad input is refused before anything is sent.
    let (ok, _, err) = semifaas(service.admin_port, &["prewarm", "0"]);
    assert!(!ok);
    assert!(err.contains("0 is not in 1..=256"), "{err}");

    the_cli_sends_the_admin_token_and_says_what_to_do_without_it(service.admin_port);
}

/// `semifaas ratio 1 --admin URL` works as before: the token of the agent on this machine is
/// found in its token file. A wrong or missing token is refused with what to do about it.
fn the_cli_sends_the_admin_token_and_says_what_to_do_without_it(admin_port: u16) {
    let (ok, out, err) = semifaas(admin_port, &["ratio", "1", "-o", "json"]);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["ratio"], 1.0, "{out}");

    let wrong = "x".repeat(64);
    let (ok, _, err) = semifaas(admin_port, &["ratio", "0", "--token", &wrong]);
    assert!(!ok, "a wrong --token is refused");
    assert!(
        err.contains("HTTP 401") && err.contains("refused the admin token given"),
        "{err}"
    );
    let (ok, _, err) =
        semifaas_with_env(admin_port, &["stats"], &[("SEMIFAAS_ADMIN_TOKEN", &wrong)]);
    assert!(!ok && err.contains("HTTP 401"), "{err}");

    // No token file where this CLI looks: the error names the files and the flag to use.
    let elsewhere = std::env::temp_dir().join("semifaas-no-such-dir");
    let elsewhere = elsewhere.to_str().unwrap();
    let (ok, _, err) = semifaas_with_env(
        admin_port,
        &["ratio", "0"],
        &[("TMPDIR", elsewhere), ("XDG_RUNTIME_DIR", elsewhere)],
    );
    assert!(!ok);
    let expected_file = format!("admin-127.0.0.1-{admin_port}.token");
    assert!(
        err.contains("no admin token")
            && err.contains(elsewhere)
            && err.contains(&expected_file)
            && err.contains("--token")
            && err.contains("SEMIFAAS_ADMIN_TOKEN"),
        "{err}"
    );
    let (ok, out, _) = semifaas(admin_port, &["ratio", "-o", "json"]);
    assert!(ok);
    assert_eq!(
        json(&out)["ratio"],
        1.0,
        "the refused requests changed nothing: {out}"
    );
}
