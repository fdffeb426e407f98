//! `semifaas bench …`: benchmarks as commands that print numbers and write JSON and a PNG plot.
//! Speed targets live here, never in tests.

use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::check_costs::{self, Usage};
use semifaas_cli::{
    harness::{
        Admin, Dist, FaasLocalProcess, HttpClient, PlatformApi, Request, ServiceOptions,
        ServiceProcess, PLACEMENT_HEADER,
    },
    plot::{self, Series},
    timeline,
};

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    which: Bench,
    /// Where the JSON report and the PNG plot go [default: bench-out; bench faults:
    /// bench-out/faults].
    #[arg(long, global = true)]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Added latency of an offloaded request over a local one, on warm instances (p50, p99).
    Overhead {
        /// Measured requests per endpoint and mode.
        #[arg(long, default_value_t = 300)]
        requests: usize,
    },
    /// Burst absorption: an open-loop step burst on the image service, with and without the
    /// burst controller; per scenario the time latency stays above the SLO.
    Burst(Box<crate::burst::BurstArgs>),
    /// First offloaded request on a new instance: cold, prewarmed, prewarmed with shadow replay.
    Shadow(crate::shadow_bench::ShadowBenchArgs),
    /// Write requests (blog posts, or library books with `--sample library`) under injected
    /// faults (instance kills, fallback drops, throttling, timeouts, platform restarts and
    /// crashes), reconciled with the database; fails on lost, duplicated, misdirected or
    /// written-but-failed writes.
    Faults(crate::faults::FaultsArgs),
    /// Server capacity: throughput, server CPU per request and p50/p99 under a closed loop of
    /// keep-alive connections, without the agent, at ratio 0 and at ratio 1 (the server pinned to
    /// CPU 0, the platform to CPU 1); per endpoint the local ÷ offloaded CPU and the agent's cost.
    Capacity(crate::capacity_bench::CapacityArgs),
    /// A cold instance: time from invoke to response, split into its phases.
    Cold {
        /// Cold starts to measure.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The API the bundled platform speaks, and the agent with it.
        #[arg(long, value_enum, default_value = "lambda", conflicts_with = "package")]
        platform: PlatformApi,
        /// Measure this function package (`semifaas deploy --dry-run` writes one), deployed with
        /// `semifaas deploy --platform local` to a platform with no Java of its own, instead of
        /// `dist/bootstrap` on the machine's JDK.
        #[arg(long, value_name = "ZIP")]
        package: Option<std::path::PathBuf>,
    },
}

pub async fn run(args: BenchArgs) -> Result<()> {
    let out = args.out.unwrap_or_else(|| match args.which {
        Bench::Faults(_) => PathBuf::from("bench-out/faults"),
        _ => PathBuf::from("bench-out"),
    });
    std::fs::create_dir_all(&out)?;
    match args.which {
        Bench::Overhead { requests } => overhead(&out, requests).await,
        Bench::Cold {
            runs,
            platform,
            package,
        } => cold(&out, runs, platform, package.as_deref()).await,
        Bench::Burst(burst) => crate::burst::run(&burst, &out).await.map(drop),
        Bench::Shadow(shadow) => crate::shadow_bench::run(&shadow, &out).await,
        Bench::Faults(faults) => crate::faults::run(&faults, &out).await,
        Bench::Capacity(capacity) => crate::capacity_bench::run(&capacity, &out).await,
    }
}

struct Deployment {
    dist: Dist,
    /// The `java` the service runs on.
    java: std::path::PathBuf,
    platform: FaasLocalProcess,
    service: ServiceProcess,
}

async fn deploy(
    out: &std::path::Path,
    api: PlatformApi,
    platform_args: &[&str],
) -> Result<Deployment> {
    let dist = Dist::locate()?;
    let logs = out.join("logs");
    let platform =
        FaasLocalProcess::start_api(&dist, "semifaas", api, platform_args, None, &logs).await?;
    start_service(dist, platform, &logs, "semifaas").await
}

/// The package deployed as `packaged:live` with `semifaas deploy --platform local`, on a
/// platform that offers no Java (so the package's own runs).
async fn deploy_package(
    out: &std::path::Path,
    platform_args: &[&str],
    package: &std::path::Path,
) -> Result<Deployment> {
    let dist = Dist::locate()?;
    let logs = out.join("logs");
    let platform =
        FaasLocalProcess::start_without_java(&dist, "semifaas", platform_args, &logs).await?;
    let output = std::process::Command::new(dist.semifaas()?)
        .args(["deploy", "--platform", "local", "--endpoint"])
        .arg(platform.endpoint())
        .args(["--function", PACKAGED, "--package"])
        .arg(package)
        .output()?;
    print!("{}", String::from_utf8_lossy(&output.stdout));
    if !output.status.success() {
        bail!(
            "deploying {}: {}",
            package.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    start_service(dist, platform, &logs, &format!("{PACKAGED}:live")).await
}

/// The function name `bench cold --package` deploys.
const PACKAGED: &str = "packaged";

async fn start_service(
    dist: Dist,
    platform: FaasLocalProcess,
    logs: &std::path::Path,
    function: &str,
) -> Result<Deployment> {
    let mut options = ServiceOptions::for_platform("image-service", &platform);
    options.settings.push(("function".into(), function.into()));
    // Every handler is offloadable at once, however little CPU it takes (the benchmarks measure
    // the offload path itself), and each response says where it ran, so a measurement can check
    // it measured what it says.
    options.settings.extend([
        ("min-cpu-ms".into(), "0".into()),
        ("profile.samples".into(), "0".into()),
        ("placement-header".into(), PLACEMENT_HEADER.into()),
    ]);
    let service = ServiceProcess::start(&dist, &options, logs).await?;
    Ok(Deployment {
        java: options.java,
        dist,
        platform,
        service,
    })
}

/// Sequential latencies (ms, sorted) of `n` sends of `request`; each must have run where
/// `ran` says (`local` or `offloaded`, per its placement header) when given.
async fn latencies(
    http: &HttpClient,
    request: &Request,
    n: usize,
    ran: Option<&str>,
) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let exchange = http.send(request).await?;
        if exchange.status != 200 {
            bail!(
                "{} {}: HTTP {}",
                request.method,
                request.path,
                exchange.status
            );
        }
        if let Some(expected) = ran {
            let placed = exchange
                .placement
                .as_deref()
                .unwrap_or("(no placement header)");
            if placed != expected {
                bail!(
                    "{} {}: request {i} ran {placed}, not {expected}: the measurement would not be what it says (see the service log)",
                    request.method,
                    request.path
                );
            }
        }
        out.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}

/// The value at quantile `p` of non-empty `sorted` (the shared nearest-rank helper).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    timeline::percentile(sorted, p).unwrap_or(f64::NAN)
}

fn summary(sorted: &[f64]) -> Value {
    json!({
        "p50_ms": percentile(sorted, 0.5),
        "p99_ms": percentile(sorted, 0.99),
        "mean_ms": sorted.iter().sum::<f64>() / sorted.len() as f64,
        "n": sorted.len(),
    })
}

fn cdf(name: &str, sorted: &[f64]) -> Series {
    let n = sorted.len() as f64;
    Series {
        name: name.into(),
        points: sorted
            .iter()
            .enumerate()
            .map(|(i, &ms)| (ms, (i + 1) as f64 / n))
            .collect(),
    }
}

async fn overhead(out: &std::path::Path, n: usize) -> Result<()> {
    let d = deploy(out, PlatformApi::Lambda, &["--concurrency", "2"]).await?;
    let http = HttpClient::new(d.service.port);
    let admin = Admin::new(d.service.admin_port);
    let endpoints = [
        ("health (no work)", Request::get("/health")),
        (
            "thumbnails 4x32px",
            Request::get("/images/thumbnails/4?seed=1&size=32"),
        ),
    ];
    let mut report = serde_json::Map::new();
    let mut series = vec![];
    let mut usage = Usage {
        offloads: 0,
        remote_calls: 0,
    };
    for (name, request) in &endpoints {
        admin.set_ratio(0.0).await?;
        latencies(&http, request, n / 2, None).await?; // JIT warm-up on the server
        let local = latencies(&http, request, n, Some("local")).await?;
        admin.set_ratio(1.0).await?;
        latencies(&http, request, n / 2, None).await?; // warm the instance and its JIT
        let before = admin.stats().await?;
        let offloaded = latencies(&http, request, n, Some("offloaded")).await?;
        let used = Usage::between(&before, &admin.stats().await?);
        // Each response said "offloaded"; the agent's own count must agree, or the figures
        // would not be what they say.
        if used.offloads != n as u64 {
            bail!(
                "{name}: {n} requests answered as offloaded, but the agent's /stats counted {} offloads",
                used.offloads
            );
        }
        usage.offloads += used.offloads;
        usage.remote_calls += used.remote_calls;
        let entry = json!({
            "path": request.path,
            "local": summary(&local),
            "offloaded": summary(&offloaded),
            "overhead_p50_ms": percentile(&offloaded, 0.5) - percentile(&local, 0.5),
            "overhead_p99_ms": percentile(&offloaded, 0.99) - percentile(&local, 0.99),
        });
        println!(
            "{name:<20} local p50 {:>7.2} ms p99 {:>7.2} ms | offloaded p50 {:>7.2} ms p99 {:>7.2} ms | overhead p50 {:>+6.2} ms p99 {:>+6.2} ms",
            percentile(&local, 0.5),
            percentile(&local, 0.99),
            percentile(&offloaded, 0.5),
            percentile(&offloaded, 0.99),
            entry["overhead_p50_ms"].as_f64().unwrap_or(0.0),
            entry["overhead_p99_ms"].as_f64().unwrap_or(0.0)
        );
        series.push(cdf(&format!("{name}: local"), &local));
        series.push(cdf(&format!("{name}: offloaded (warm)"), &offloaded));
        report.insert(name.to_string(), entry);
    }
    let stats = admin.stats().await?;
    let failures = stats["totals"]["failures"].as_u64().unwrap_or(0);
    let checks = check_costs::measure(&d.dist, &d.java, out, &usage)?;
    let result = json!({ "bench": "overhead", "requests_per_mode": n, "endpoints": report, "failures": failures, "checks": checks });
    write_outputs(out, "overhead", &result)?;
    plot::lines(
        &out.join("overhead.png"),
        "Offload overhead on warm instances (latency CDF)",
        "latency (ms)",
        "fraction of requests",
        &series,
    )?;
    println!(
        "wrote {0}/overhead.json, {0}/overhead.png and {0}/checks.png",
        out.display()
    );
    drop(d.platform);
    Ok(())
}

const COLD_PHASES: [&str; 5] = [
    "process + JVM start",
    "closure fetch",
    "class definition",
    "handler",
    "other (platform, network)",
];

async fn cold(
    out: &std::path::Path,
    runs: usize,
    api: PlatformApi,
    package: Option<&std::path::Path>,
) -> Result<()> {
    // keep-alive 0: every instance exits after its invocation, so every request is a cold start.
    let platform_args = ["--concurrency", "1", "--keep-alive-secs", "0"];
    let (d, stats_key, package_sizes) = match package {
        Some(zip) => (
            deploy_package(out, &platform_args, zip).await?,
            format!("{PACKAGED}:1"),
            Some(package_sizes(zip)?),
        ),
        None => (
            deploy(out, api, &platform_args).await?,
            "semifaas".to_owned(),
            None,
        ),
    };
    let http = HttpClient::new(d.service.port);
    let admin = Admin::new(d.service.admin_port);
    let request = Request::get("/images/thumbnails/4?seed=1&size=32");
    latencies(&http, &request, 20, Some("local")).await?; // the closure is built on the server's side first
    admin.set_ratio(1.0).await?;
    let mut rows = vec![];
    for run in 0..runs {
        let before = d.platform.stats().await?["functions"][&stats_key]["cold_starts"]
            .as_u64()
            .unwrap_or(0);
        let before_stats = admin.stats().await?;
        let start = Instant::now();
        let exchange = http.send(&request).await?;
        let total_ms = start.elapsed().as_secs_f64() * 1000.0;
        if exchange.status != 200 {
            bail!("cold run {run}: HTTP {}", exchange.status);
        }
        let after_stats = admin.stats().await?;
        let after = d.platform.stats().await?["functions"][&stats_key]["cold_starts"]
            .as_u64()
            .unwrap_or(0);
        if after != before + 1 || after_stats["totals"]["failures"].as_u64() != Some(0) {
            bail!("run {run} was not one successful cold start (cold starts {before} → {after}): {after_stats}");
        }
        let phases = phase_delta(&before_stats, &after_stats)?;
        let other = (total_ms - phases.iter().sum::<f64>()).max(0.0);
        println!(
            "cold run {run}: {total_ms:>7.1} ms = process+JVM {:.1} + closure fetch {:.1} + class definition {:.1} + handler {:.1} + other {:.1}",
            phases[0], phases[1], phases[2], phases[3], other
        );
        rows.push(vec![phases[0], phases[1], phases[2], phases[3], other]);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut totals: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    totals.sort_by(f64::total_cmp);
    let result = json!({
        "bench": "cold",
        "function": match package {
            Some(zip) => format!("package {}", zip.display()),
            None => "dist/bootstrap on the machine's JDK".to_owned(),
        },
        "platform_api": api.as_str(),
        "package": package_sizes,
        "request": request.path,
        "phases": COLD_PHASES,
        "runs_ms": rows,
        "total_ms": summary(&totals),
    });
    write_outputs(out, "cold", &result)?;
    plot::stacked_bars(
        &out.join("cold.png"),
        "Cold start: invoke to response, by phase",
        &COLD_PHASES,
        &rows,
    )?;
    println!(
        "median cold start {:.1} ms; wrote {1}/cold.json and {1}/cold.png",
        percentile(&totals, 0.5),
        out.display()
    );
    Ok(())
}

/// A zip's size and its unpacked size, in bytes.
fn package_sizes(zip: &std::path::Path) -> Result<Value> {
    let file = std::fs::File::open(zip).with_context(|| format!("opening {}", zip.display()))?;
    let zip_bytes = file.metadata()?.len();
    let mut archive = zip::ZipArchive::new(file)?;
    let mut unpacked: u64 = 0;
    for index in 0..archive.len() {
        unpacked += archive.by_index(index)?.size();
    }
    Ok(json!({ "zip_bytes": zip_bytes, "unpacked_bytes": unpacked }))
}

/// The function-side phases (ms) of the one invocation offloaded between two stats snapshots:
/// the agent keeps per-handler sums of each phase.
fn phase_delta(before: &Value, after: &Value) -> Result<[f64; 4]> {
    let handlers = after["handlers"]
        .as_object()
        .context("agent stats lack handlers")?;
    let (key, now) = handlers
        .iter()
        .find(|(k, h)| {
            h["offloaded"].as_u64() != before["handlers"][k.as_str()]["offloaded"].as_u64()
        })
        .context("no handler offloaded an invocation")?;
    let sum = |stats: &Value, phase: &str| {
        stats["function_phases"][phase]["sum"]
            .as_f64()
            .unwrap_or(0.0)
    };
    let then = &before["handlers"][key.as_str()];
    let delta = |phase: &str| sum(now, phase) - sum(then, phase);
    Ok([
        delta("jvm_start_ms"),
        delta("closure_fetch_ms"),
        delta("install_ms"),
        delta("handler_ms"),
    ])
}

fn write_outputs(out: &std::path::Path, name: &str, value: &Value) -> Result<()> {
    let path = out.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}
