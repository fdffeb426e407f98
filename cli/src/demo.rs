//! `semifaas demo`: the image service with the agent attached, bursting into the bundled local
//! platform, and a short report of what ran where.

use std::{path::PathBuf, sync::Arc, time::Instant};

use anyhow::{ensure, Result};
use clap::Args;
use serde_json::Value;
use tokio::sync::Semaphore;

use semifaas_cli::harness::{
    Admin, Dist, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess,
};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Requests in the burst.
    #[arg(long, default_value_t = 48)]
    requests: usize,
    /// Requests in flight at once during the burst.
    #[arg(long, default_value_t = 6)]
    concurrency: usize,
    /// Offload ratio during the burst.
    #[arg(long, default_value_t = 0.5)]
    ratio: f64,
    /// Where logs go.
    #[arg(long, default_value = "bench-out/demo")]
    out: PathBuf,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    ensure!(
        (0.0..=1.0).contains(&args.ratio),
        "--ratio must be in [0,1], got {}",
        args.ratio
    );
    let dist = Dist::locate()?;
    let logs = args.out.join("logs");
    println!(
        "semifaas demo: image service + agent → faas-local (logs in {})",
        logs.display()
    );
    let platform =
        FaasLocalProcess::start(&dist, "semifaas", &["--concurrency", "4"], &logs).await?;
    println!("  faas-local on {}", platform.endpoint());
    let service = ServiceProcess::start(
        &dist,
        &ServiceOptions::new("image-service", &platform.endpoint()),
        &logs,
    )
    .await?;
    println!(
        "  image service on http://127.0.0.1:{} (admin :{})",
        service.port, service.admin_port
    );
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);

    let requests: Vec<Request> = (0..args.requests)
        .map(|i| Request::get(&format!("/images/thumbnails/6?seed={}&size=64", i % 8)))
        .collect();
    for request in requests.iter().take(4) {
        http.send(request).await?; // a few local runs first, as a service would have had
    }
    admin.set_ratio(args.ratio).await?;
    println!(
        "  burst: {} requests, {} in flight, ratio {}",
        args.requests, args.concurrency, args.ratio
    );

    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = vec![];
    for request in requests {
        let (http, gate) = (http.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.expect("semaphore open");
            let t = Instant::now();
            let result = http.send(&request).await;
            (result.map(|e| e.status), t.elapsed())
        }));
    }
    let mut latencies = vec![];
    let mut ok = 0;
    for task in tasks {
        let (status, latency) = task.await?;
        ok += usize::from(matches!(status, Ok(200)));
        latencies.push(latency.as_secs_f64() * 1000.0);
    }
    let elapsed = started.elapsed();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() - 1) as f64 * p).round() as usize];

    let stats = admin.stats().await?;
    let local_stats = platform.stats().await?;
    print_report(
        args.requests,
        ok,
        elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        &stats,
        &local_stats,
    );
    Ok(())
}

fn print_report(
    sent: usize,
    ok: usize,
    secs: f64,
    p50: f64,
    p99: f64,
    stats: &Value,
    local: &Value,
) {
    let t = &stats["totals"];
    let f = &local["functions"]["semifaas"];
    println!();
    println!("report");
    println!("  answered        {ok}/{sent} with HTTP 200 in {secs:.2} s (p50 {p50:.1} ms, p99 {p99:.1} ms)");
    println!(
        "  ran             offloaded {}  local {}  failures {}",
        t["offloaded"], t["local"], t["failures"]
    );
    let cold_ms: Vec<String> = f["cold_start_ms"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| format!("{:.0} ms", v.as_f64().unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    println!(
        "  cold starts     {} ({})",
        f["cold_starts"],
        cold_ms.join(", ")
    );
    println!(
        "  instances       {} live, {} idle",
        f["instances"], f["idle"]
    );
    let fb = &t["fallbacks"];
    println!(
        "  fallbacks       fetch_closure {}  load_class {}  get_resource {}",
        fb["fetch_closure"], fb["load_class"], fb["get_resource"]
    );
    if let Some(handlers) = stats["handlers"].as_object() {
        println!("  per handler");
        for (key, h) in handlers {
            println!(
                "    {key}: invocations {} offloaded {} local {} failures {}",
                h["invocations"], h["offloaded"], h["local"], h["failures"]
            );
        }
    }
}
