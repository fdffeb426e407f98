//! `semifaas bench shadow`: what prewarming and shadow execution buy the first offloaded request
//! on a new instance. Three setups, each repeated on a fresh faas-local (`--concurrency 1`, so the
//! one instance that is prewarmed is the one that serves) and a fresh image service:
//!
//! - `cold`: no prewarm; the first offloaded request starts the instance.
//! - `prewarm`: `POST /prewarm?instances=1` with `semifaas.shadow.samples=0`: the instance is
//!   started and every closure installed, nothing replayed.
//! - `shadow`: the same prewarm with the default samples: the instance also replays the
//!   invocations recorded from the first local runs (JIT and lazy initialisation on the
//!   instance).
//!
//! Every run first serves a few requests locally (ratio 0: closures built, samples recorded),
//! then prewarms, then sets ratio 1 and measures the first request and a few more (the warm
//! level). The measured requests use other arguments than the recorded samples.

use std::{path::Path, time::Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::{json, Value};

use semifaas_cli::{
    harness::{Admin, Dist, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess},
    plot_bars::{self, BarSeries},
};

const FUNCTION: &str = "semifaas";
/// The measured request; `{i}` is the request's number.
const PATH: &str = "/images/thumbnails/4?seed={i}&size=32";
/// Measured requests start at this seed, away from the local runs' seeds (the samples).
const MEASURED_SEED: usize = 1000;

#[derive(Debug, Clone, Args)]
pub struct ShadowBenchArgs {
    /// Runs of each setup, each on a fresh platform and service.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Local requests before the prewarm (closures built, samples recorded).
    #[arg(long, default_value_t = 5)]
    pub local_requests: usize,
    /// Offloaded requests after the first one, for the warm level.
    #[arg(long, default_value_t = 10)]
    pub warm_requests: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    Cold,
    Prewarm,
    Shadow,
}

impl Setup {
    const ALL: [Setup; 3] = [Setup::Cold, Setup::Prewarm, Setup::Shadow];

    fn name(self) -> &'static str {
        match self {
            Setup::Cold => "cold",
            Setup::Prewarm => "prewarm, no samples",
            Setup::Shadow => "prewarm + shadow replay",
        }
    }
}

/// One run of one setup.
struct RunResult {
    first_ms: f64,
    /// Sorted latencies of the requests after the first.
    warm_ms: Vec<f64>,
    prewarm: Value,
    cold_starts_during_measure: u64,
}

pub async fn run(args: &ShadowBenchArgs, out: &Path) -> Result<()> {
    anyhow::ensure!(args.runs > 0, "--runs must be at least 1");
    anyhow::ensure!(
        args.local_requests > 0,
        "--local-requests must be at least 1: the samples and closures come from local runs"
    );
    anyhow::ensure!(args.warm_requests > 0, "--warm-requests must be at least 1");
    let dist = Dist::locate()?;
    let mut setups = vec![];
    let mut rows = vec![];
    for setup in Setup::ALL {
        let mut runs = vec![];
        for i in 0..args.runs {
            let logs = out
                .join("logs/shadow")
                .join(format!("{}-{i}", setup_slug(setup)));
            let r = run_once(&dist, args, setup, &logs)
                .await
                .with_context(|| format!("setup {:?}, run {i}", setup.name()))?;
            println!(
                "{:<24} run {i}: first request {:>7.1} ms, warm p50 {:>6.1} ms, cold starts while measuring {}",
                setup.name(),
                r.first_ms,
                median(&r.warm_ms),
                r.cold_starts_during_measure
            );
            runs.push(r);
        }
        let mut firsts: Vec<f64> = runs.iter().map(|r| r.first_ms).collect();
        firsts.sort_by(f64::total_cmp);
        let mut warm: Vec<f64> = runs.iter().flat_map(|r| r.warm_ms.clone()).collect();
        warm.sort_by(f64::total_cmp);
        rows.push((setup, median(&firsts), median(&warm)));
        setups.push(json!({
            "setup": setup.name(),
            "first_request_ms": firsts,
            "first_request_median_ms": median(&firsts),
            "warm_p50_ms": median(&warm),
            "runs": runs.iter().map(|r| json!({
                "first_ms": r.first_ms,
                "warm_ms": r.warm_ms,
                "prewarm": r.prewarm,
                "cold_starts_during_measure": r.cold_starts_during_measure,
            })).collect::<Vec<_>>(),
        }));
    }

    println!();
    println!(
        "{:<24} | {:>22} | {:>14}",
        "setup", "first request (median)", "warm p50"
    );
    for (setup, first, warm) in &rows {
        println!(
            "{:<24} | {:>19.1} ms | {:>11.1} ms",
            setup.name(),
            first,
            warm
        );
    }

    let document = json!({
        "bench": "shadow",
        "request": PATH,
        "runs": args.runs,
        "local_requests": args.local_requests,
        "warm_requests": args.warm_requests,
        "setups": setups,
    });
    let json_path = out.join("shadow.json");
    std::fs::write(&json_path, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    let png = out.join("shadow.png");
    plot_bars::grouped_bars(
        &png,
        "First offloaded request on a new instance (median of runs)",
        "latency (ms)",
        &["first request".to_string(), "warm p50".to_string()],
        &rows
            .iter()
            .map(|(setup, first, warm)| BarSeries {
                name: setup.name().into(),
                values: vec![*first, *warm],
            })
            .collect::<Vec<_>>(),
    )?;
    println!("wrote {} and {}", json_path.display(), png.display());
    Ok(())
}

fn setup_slug(setup: Setup) -> &'static str {
    match setup {
        Setup::Cold => "cold",
        Setup::Prewarm => "prewarm",
        Setup::Shadow => "shadow",
    }
}

async fn run_once(
    dist: &Dist,
    args: &ShadowBenchArgs,
    setup: Setup,
    logs: &Path,
) -> Result<RunResult> {
    let platform = FaasLocalProcess::start(dist, FUNCTION, &["--concurrency", "1"], logs).await?;
    let mut options = ServiceOptions::new("image-service", &platform.endpoint());
    options.settings.extend([
        ("min-cpu-ms".into(), "0".into()),
        ("profile.samples".into(), "0".into()),
    ]);
    if setup == Setup::Prewarm {
        options.settings.push(("shadow.samples".into(), "0".into()));
    }
    let service = ServiceProcess::start(dist, &options, logs).await?;
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let request = |i: usize| Request::get(&PATH.replace("{i}", &i.to_string()));

    for i in 0..args.local_requests {
        timed(&http, &request(i)).await?;
    }
    let prewarm = match setup {
        Setup::Cold => Value::Null,
        Setup::Prewarm | Setup::Shadow => admin.prewarm(1).await?,
    };
    if setup != Setup::Cold && prewarm["answered"].as_u64() != Some(1) {
        bail!("the prewarm did not reach one instance: {prewarm}");
    }

    admin.set_ratio(1.0).await?;
    let cold_before = cold_starts(&platform).await?;
    let offloaded_before = offloaded(&admin).await?;
    let first_ms = timed(&http, &request(MEASURED_SEED)).await?;
    let mut warm_ms = vec![];
    for i in 1..=args.warm_requests {
        warm_ms.push(timed(&http, &request(MEASURED_SEED + i)).await?);
    }
    warm_ms.sort_by(f64::total_cmp);
    let offloaded_now = offloaded(&admin).await?.saturating_sub(offloaded_before);
    let measured = 1 + args.warm_requests as u64;
    if offloaded_now != measured {
        bail!(
            "{} of the {measured} measured requests were offloaded; the numbers would mix local and offloaded runs (see {})",
            offloaded_now,
            logs.display()
        );
    }
    let cold_starts_during_measure = cold_starts(&platform).await?.saturating_sub(cold_before);
    drop(service);
    drop(platform);
    Ok(RunResult {
        first_ms,
        warm_ms,
        prewarm,
        cold_starts_during_measure,
    })
}

async fn timed(http: &HttpClient, request: &Request) -> Result<f64> {
    let start = Instant::now();
    let exchange = http.send(request).await?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    if exchange.status != 200 {
        bail!("GET {}: HTTP {}", request.path, exchange.status);
    }
    Ok(ms)
}

async fn cold_starts(platform: &FaasLocalProcess) -> Result<u64> {
    Ok(
        platform.stats().await?["functions"][FUNCTION]["cold_starts"]
            .as_u64()
            .unwrap_or(0),
    )
}

async fn offloaded(admin: &Admin) -> Result<u64> {
    admin.stats().await?["totals"]["offloaded"]
        .as_u64()
        .context("agent stats lack totals.offloaded")
}

/// The median of sorted values (0 for none).
fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => sorted[(n - 1) / 2],
    }
}
