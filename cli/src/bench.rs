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
        /// JVM options of the instances, measured one after another (repeatable): `default`
        /// (bootstrap's own), or `NAME=OPTIONS`, OPTIONS going to `SEMIFAAS_JVM_OPTS` (e.g.
        /// `--variant 'no-cds=-Xshare:auto -XX:SharedArchiveFile=none'`). [default: default]
        #[arg(
            long = "variant",
            value_name = "NAME=OPTIONS",
            conflicts_with = "package"
        )]
        variants: Vec<String>,
        /// Measure snapshot starts: the platform runs with `--snapshots` (root, CRIU: see
        /// `semifaas local --snapshots`); an instance is warmed and checkpointed first, and every
        /// measured cold start restores a copy of it.
        #[arg(long, conflicts_with_all = ["package", "variants"])]
        snapshots: bool,
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
            variants,
            snapshots,
        } => {
            let variants = match snapshots {
                true => vec![ColdVariant {
                    name: "snapshot".into(),
                    jvm_opts: String::new(),
                }],
                false => cold_variants(&variants)?,
            };
            cold(
                &out,
                runs,
                platform,
                package.as_deref(),
                &variants,
                snapshots,
            )
            .await
        }
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
    /// The whole application's start: the service's process spawned to its `/health` answering.
    service_start_ms: f64,
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
    let started = Instant::now();
    let service = ServiceProcess::start(&dist, &options, logs).await?;
    let service_start_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(Deployment {
        java: options.java,
        dist,
        platform,
        service,
        service_start_ms,
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
    let mut usage = Usage::default();
    for (name, request) in &endpoints {
        admin.set_ratio(0.0).await?;
        latencies(&http, request, n / 2, None).await?; // JIT warm-up on the server
        let local = latencies(&http, request, n, Some("local")).await?;
        admin.set_ratio(1.0).await?;
        latencies(&http, request, n / 2, None).await?; // warm the instance and its JIT
        let before = admin.stats().await?;
        let offloaded = latencies(&http, request, n, Some("offloaded")).await?;
        let used = Usage::between(&before, &admin.stats().await?);
        // Each response said "offloaded"; the agent's own count must agree.
        used.all_offloaded(n as u64)
            .map_err(|mismatch| anyhow::anyhow!("{name}: {mismatch}"))?;
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

/// One set of instance JVM options `bench cold` measures.
#[derive(Debug, Clone, PartialEq)]
struct ColdVariant {
    name: String,
    /// `SEMIFAAS_JVM_OPTS` of the instances; empty: bootstrap's defaults alone.
    jvm_opts: String,
}

/// The variants of `--variant` values (`default` or `NAME=OPTIONS`); none given: `default`.
fn cold_variants(values: &[String]) -> Result<Vec<ColdVariant>> {
    let mut variants: Vec<ColdVariant> = vec![];
    for value in values {
        let variant = match value.split_once('=') {
            None if value == "default" => ColdVariant {
                name: value.clone(),
                jvm_opts: String::new(),
            },
            Some((name, opts)) if !name.trim().is_empty() && !opts.trim().is_empty() => {
                ColdVariant {
                    name: name.trim().to_owned(),
                    jvm_opts: opts.trim().to_owned(),
                }
            }
            _ => bail!(
                "--variant {value:?}: expected `default` or NAME=JVM_OPTIONS (both non-empty)"
            ),
        };
        if variants.iter().any(|v| v.name == variant.name) {
            bail!(
                "--variant {value:?}: the name {:?} is given twice",
                variant.name
            );
        }
        variants.push(variant);
    }
    if variants.is_empty() {
        variants.push(ColdVariant {
            name: "default".into(),
            jvm_opts: String::new(),
        });
    }
    Ok(variants)
}

/// Sets the function's instance environment to `SEMIFAAS_JVM_OPTS=opts` (Lambda's
/// UpdateFunctionConfiguration on the bundled platform): the instances started from now on get it.
async fn set_instance_jvm_opts(
    platform: &FaasLocalProcess,
    function: &str,
    opts: &str,
) -> Result<()> {
    let body = json!({ "Environment": { "Variables": { "SEMIFAAS_JVM_OPTS": opts } } });
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()?
        .put(format!(
            "{}/2015-03-31/functions/{function}/configuration",
            platform.endpoint()
        ))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await?;
    if !response.status().is_success() {
        bail!(
            "setting SEMIFAAS_JVM_OPTS of {function}: HTTP {}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
    }
    Ok(())
}

async fn cold(
    out: &std::path::Path,
    runs: usize,
    api: PlatformApi,
    package: Option<&std::path::Path>,
    variants: &[ColdVariant],
    snapshots: bool,
) -> Result<()> {
    let customised = variants.iter().any(|v| !v.jvm_opts.is_empty());
    if customised && api != PlatformApi::Lambda {
        bail!("--variant with JVM options needs --platform lambda (the options are set through Lambda's UpdateFunctionConfiguration)");
    }
    if snapshots && api != PlatformApi::Lambda {
        bail!("--snapshots needs --platform lambda (the platform restores instances through the Lambda Runtime API)");
    }
    let snapshot_after = SNAPSHOT_AFTER.to_string();
    let platform_args: Vec<&str> = if snapshots {
        // The checkpointed instance must live through its warm-up: a keep-alive of 1 s, and a
        // pause past it before each measured request.
        vec![
            "--concurrency",
            "1",
            "--keep-alive-secs",
            "1",
            "--snapshots",
            "--snapshot-after",
            &snapshot_after,
        ]
    } else {
        // keep-alive 0: every instance exits after its invocation, so every request is a cold start.
        vec!["--concurrency", "1", "--keep-alive-secs", "0"]
    };
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
    println!(
        "the whole application (image service with the agent) started in {:.0} ms",
        d.service_start_ms
    );
    let http = HttpClient::new(d.service.port);
    let admin = Admin::new(d.service.admin_port);
    let request = Request::get("/images/thumbnails/4?seed=1&size=32");
    latencies(&http, &request, 20, Some("local")).await?; // the closure is built on the server's side first
    admin.set_ratio(1.0).await?;
    // One unmeasured cold start per variant first: on a machine that never ran an instance of
    // this JVM and runtime jar it records the classes for the class-data-sharing archive, built
    // in the background while the pause lasts.
    for variant in variants {
        if customised {
            set_instance_jvm_opts(&d.platform, &stats_key, &variant.jvm_opts).await?;
        }
        cold_run(&d, &http, &admin, &request, &stats_key, false)
            .await
            .with_context(|| format!("variant {}, the unmeasured cold start", variant.name))?;
    }
    if snapshots {
        take_snapshot(&d, &http, &request, &stats_key).await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Round robin over the variants, so a slower spell of a shared machine falls on all alike.
    let mut rows: Vec<Vec<Vec<f64>>> = vec![vec![]; variants.len()];
    for run in 0..runs {
        for (variant, variant_rows) in variants.iter().zip(&mut rows) {
            if customised {
                set_instance_jvm_opts(&d.platform, &stats_key, &variant.jvm_opts).await?;
            }
            let row = cold_run(&d, &http, &admin, &request, &stats_key, snapshots)
                .await
                .with_context(|| format!("variant {}, cold run {run}", variant.name))?;
            println!(
                "{} run {run}: {:>7.1} ms = process+JVM {:.1} + closure fetch {:.1} + class definition {:.1} + handler {:.1} + other {:.1}",
                variant.name,
                row.iter().sum::<f64>(),
                row[0], row[1], row[2], row[3], row[4]
            );
            variant_rows.push(row);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    let reports: Vec<Value> = variants
        .iter()
        .zip(&rows)
        .map(|(variant, rows)| variant_report(variant, rows, d.service_start_ms))
        .collect();
    println!("{}", cold_table(&reports));
    let result = json!({
        "bench": "cold",
        "function": match package {
            Some(zip) => format!("package {}", zip.display()),
            None => "dist/bootstrap on the machine's JDK".to_owned(),
        },
        "platform_api": api.as_str(),
        "snapshots": snapshots,
        "package": package_sizes,
        "request": request.path,
        "application_start_ms": d.service_start_ms,
        "phases": COLD_PHASES,
        "variants": reports,
    });
    write_outputs(out, "cold", &result)?;
    let names: Vec<&str> = variants.iter().map(|v| v.name.as_str()).collect();
    plot::stacked_bars(
        &out.join("cold.png"),
        &format!(
            "Cold start: invoke to response, by phase (variants by turns: {})",
            names.join(", ")
        ),
        &COLD_PHASES,
        &rows.concat(),
    )?;
    println!("wrote {0}/cold.json and {0}/cold.png", out.display());
    Ok(())
}

/// Invocations the checkpointed instance serves first with `--snapshots`.
const SNAPSHOT_AFTER: u64 = 30;

/// Warms one instance with `request` until the platform has checkpointed it.
async fn take_snapshot(
    d: &Deployment,
    http: &HttpClient,
    request: &Request,
    stats_key: &str,
) -> Result<()> {
    for _ in 0..SNAPSHOT_AFTER + 2 {
        let exchange = http.send(request).await?;
        if exchange.status != 200 {
            bail!(
                "warming the instance to checkpoint: HTTP {}",
                exchange.status
            );
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = d.platform.stats().await?;
        let status = stats["functions"][stats_key]["snapshot"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status.starts_with("ready") {
            println!("snapshot {status}, taken after {SNAPSHOT_AFTER} invocations");
            return Ok(());
        }
        if status.starts_with("given up") || Instant::now() > deadline {
            bail!("no snapshot of {stats_key}: {status}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the platform runs no instance of the function: the next request is a cold start.
async fn no_instances(d: &Deployment, stats_key: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while d.platform.stats().await?["functions"][stats_key]["instances"].as_u64() != Some(0) {
        if Instant::now() > deadline {
            bail!("the platform still runs an instance of {stats_key} after 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// One cold start of `request`: its phases (ms, in [`COLD_PHASES`] order). `restored`: the
/// instance must be a snapshot's copy.
async fn cold_run(
    d: &Deployment,
    http: &HttpClient,
    admin: &Admin,
    request: &Request,
    stats_key: &str,
    restored: bool,
) -> Result<Vec<f64>> {
    let counts = |stats: Value| {
        let function = &stats["functions"][stats_key];
        (
            function["cold_starts"].as_u64().unwrap_or(0),
            function["snapshot_restores"].as_u64().unwrap_or(0),
        )
    };
    no_instances(d, stats_key).await?;
    let (before, restores_before) = counts(d.platform.stats().await?);
    let before_stats = admin.stats().await?;
    let start = Instant::now();
    let exchange = http.send(request).await?;
    let total_ms = start.elapsed().as_secs_f64() * 1000.0;
    if exchange.status != 200 {
        bail!("HTTP {}", exchange.status);
    }
    let after_stats = admin.stats().await?;
    let (after, restores_after) = counts(d.platform.stats().await?);
    if after != before + 1 || after_stats["totals"]["failures"].as_u64() != Some(0) {
        bail!("not one successful cold start (cold starts {before} → {after}): {after_stats}");
    }
    if restored && restores_after != restores_before + 1 {
        bail!("the cold start did not restore the snapshot (restores {restores_before} → {restores_after})");
    }
    let phases = phase_delta(&before_stats, &after_stats)?;
    let other = (total_ms - phases.iter().sum::<f64>()).max(0.0);
    Ok(vec![phases[0], phases[1], phases[2], phases[3], other])
}

/// A variant's runs: per-phase and total medians, and how many times faster than the whole
/// application's start its median first response is.
fn variant_report(variant: &ColdVariant, rows: &[Vec<f64>], application_start_ms: f64) -> Value {
    let mut totals: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
    totals.sort_by(f64::total_cmp);
    let phase_medians: serde_json::Map<String, Value> = COLD_PHASES
        .iter()
        .enumerate()
        .map(|(p, phase)| {
            let mut values: Vec<f64> = rows.iter().map(|r| r[p]).collect();
            values.sort_by(f64::total_cmp);
            (phase.to_string(), json!(percentile(&values, 0.5)))
        })
        .collect();
    let median = percentile(&totals, 0.5);
    json!({
        "name": variant.name,
        "jvm_opts": variant.jvm_opts,
        "runs_ms": rows,
        "phase_medians_ms": phase_medians,
        "total_ms": summary(&totals),
        "application_start_over_cold_start": application_start_ms / median,
    })
}

/// The variants' medians side by side, with the ratio to the application's start.
fn cold_table(reports: &[Value]) -> String {
    let mut table = format!(
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
        "variant (p50)", "JVM", "fetch", "classes", "handler", "other", "total", "app ÷"
    );
    for report in reports {
        let phase = |p: &str| report["phase_medians_ms"][p].as_f64().unwrap_or(f64::NAN);
        table.push_str(&format!(
            "{:<14} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>6.1}×\n",
            report["name"].as_str().unwrap_or("?"),
            phase(COLD_PHASES[0]),
            phase(COLD_PHASES[1]),
            phase(COLD_PHASES[2]),
            phase(COLD_PHASES[3]),
            phase(COLD_PHASES[4]),
            report["total_ms"]["p50_ms"].as_f64().unwrap_or(f64::NAN),
            report["application_start_over_cold_start"]
                .as_f64()
                .unwrap_or(f64::NAN),
        ));
    }
    table
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(values: &[&str]) -> Result<Vec<ColdVariant>> {
        cold_variants(&values.iter().map(|v| v.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn cold_variants_are_default_or_named_options() {
        let variants = parse(&[]).unwrap();
        assert_eq!(variants.len(), 1);
        assert_eq!(
            (variants[0].name.as_str(), variants[0].jvm_opts.as_str()),
            ("default", "")
        );
        let variants = parse(&["default", "c1=-XX:TieredStopAtLevel=1 -Xss1m"]).unwrap();
        assert_eq!(variants[1].name, "c1");
        assert_eq!(variants[1].jvm_opts, "-XX:TieredStopAtLevel=1 -Xss1m");
        for bad in ["c1", "=-Xshare:off", "c1=", "default=x;default=y"] {
            let values: Vec<&str> = bad.split(';').collect();
            let error = parse(&values).unwrap_err().to_string();
            assert!(error.contains("--variant"), "{bad}: {error}");
        }
    }
}
