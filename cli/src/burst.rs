//! The burst experiment: the image service pinned to CPU 0, faas-local and its instances pinned
//! to CPU 1, an open-loop step burst that saturates the service's core, and per scenario how
//! long latency stays above the SLO. Scenarios: `none` (never offload), `auto-cold` (the burst
//! controller, instances started on demand) and `auto-warm` (the controller, with instances
//! provisioned on the platform and prewarmed by the agent before the burst).

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde_json::{json, Value};
use tracing::warn;

use semifaas_cli::{
    harness::{
        Admin, Dist, FaasLocalProcess, HttpClient, Request, ServiceOptions, ServiceProcess,
        PLACEMENT_HEADER,
    },
    loadgen::{run_open_loop, Profile},
    plot::{self, Panel, Series},
    timeline::{self, BurstSummary, CounterSample, Window},
};

const FUNCTION: &str = "semifaas";
/// Width of the timeline windows and period of the counter polling.
const WINDOW: Duration = Duration::from_millis(100);
/// A request without a response after this is counted as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The service runs here; the platform and its instances on the other core.
const SERVICE_CPU: &str = "0";
const PLATFORM_CPU: &str = "1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Never offload (ratio fixed at 0).
    None,
    /// The burst controller; instances start cold when it first offloads.
    AutoCold,
    /// The burst controller, with provisioned instances prewarmed before the burst.
    AutoWarm,
    /// All three, one after the other.
    All,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::None => "none",
            Scenario::AutoCold => "auto-cold",
            Scenario::AutoWarm => "auto-warm",
            Scenario::All => "all",
        }
    }

    fn expand(self) -> Vec<Scenario> {
        match self {
            Scenario::All => vec![Scenario::None, Scenario::AutoCold, Scenario::AutoWarm],
            one => vec![one],
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct BurstArgs {
    #[arg(long, value_enum, default_value = "all")]
    pub scenario: Scenario,
    /// Baseline request rate (requests/s).
    #[arg(long, default_value_t = 10.0)]
    pub base_rps: f64,
    /// The burst's rate as a multiple of the baseline.
    #[arg(long, default_value_t = 10.0)]
    pub burst_x: f64,
    /// Seconds of baseline before the burst.
    #[arg(long, default_value_t = 10.0)]
    pub before_s: f64,
    /// Seconds of burst.
    #[arg(long, default_value_t = 10.0)]
    pub burst_s: f64,
    /// Seconds of baseline after the burst.
    #[arg(long, default_value_t = 15.0)]
    pub after_s: f64,
    /// A rate profile file instead of the step flags: lines of `duration_s rps`; the burst is
    /// taken to start with the second line.
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// The request, with `{i}` replaced by the request's number modulo 16.
    #[arg(long, default_value = "/images/thumbnails/6?seed={i}&size=64")]
    pub path: String,
    /// Instances faas-local may run at once. The instances share one core, so more of them
    /// only adds cold starts at the burst onset; past the limit an offload is throttled at once
    /// and runs locally (as with Lambda's reserved concurrency).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// auto-warm: instances provisioned on faas-local and prewarmed by the agent.
    #[arg(long, default_value_t = 4)]
    pub warm_instances: usize,
    /// The SLO is this many times the p99 latency of the baseline before the burst.
    #[arg(long, default_value_t = 4.0)]
    pub slo_factor: f64,
    /// Sequential requests before the run (JIT warm-up, handler profiling).
    #[arg(long, default_value_t = 300)]
    pub warmup: usize,
    /// For agents without the burst controller: the auto scenarios run `semifaas.mode=manual`
    /// with this fixed ratio instead of `semifaas.mode=auto`.
    #[arg(long, value_name = "RATIO")]
    pub manual_ratio: Option<f64>,
    /// Tomcat request threads of the service (`server.tomcat.threads.max`; 0 keeps Spring's
    /// 200). Hundreds of runnable threads on one core starve the agent's own threads (dispatch,
    /// fallback server), so the burst runs with a bounded pool; the backlog waits in Tomcat's queue.
    #[arg(long, default_value_t = 16)]
    pub server_threads: usize,
    /// Skip measuring how long the whole image service takes to start in a fresh JVM.
    #[arg(long)]
    pub skip_app_start: bool,
}

impl BurstArgs {
    fn profile(&self) -> Result<Profile> {
        Ok(match &self.profile {
            Some(file) => Profile::load(file)?,
            None => Profile::step(
                self.base_rps,
                self.burst_x,
                self.before_s,
                self.burst_s,
                self.after_s,
            )?,
        })
    }
}

/// One scenario's outcome.
pub struct ScenarioReport {
    pub scenario: &'static str,
    pub summary: BurstSummary,
    pub plot: PathBuf,
    pub json: Value,
}

/// Runs the chosen scenarios, writes `burst.json` and one `burst-<scenario>.png` per scenario
/// into `out`, prints a report, and returns the JSON document.
pub async fn run(args: &BurstArgs, out: &Path) -> Result<Value> {
    anyhow::ensure!(
        args.manual_ratio.is_none_or(|r| (0.0..=1.0).contains(&r)),
        "--manual-ratio must be in [0,1]"
    );
    anyhow::ensure!(
        args.warm_instances <= args.concurrency,
        "--warm-instances {} exceeds --concurrency {}",
        args.warm_instances,
        args.concurrency
    );
    let profile = args.profile()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let dist = Dist::locate()?;
    let mut reports = vec![];
    for scenario in args.scenario.expand() {
        println!("scenario {}: starting", scenario.name());
        let report = run_scenario(&dist, args, &profile, scenario, out).await?;
        print_summary(&report);
        reports.push(report);
    }
    let app_start_ms = if args.skip_app_start {
        None
    } else {
        let ms = whole_app_start_ms(&dist, out).await?;
        println!("whole image service start in a fresh JVM: {ms:.0} ms");
        Some(ms)
    };
    let document = json!({
        "bench": "burst",
        "profile": profile,
        "request": args.path,
        "window_ms": WINDOW.as_millis() as u64,
        "slo": format!("{}× the p99 latency of the requests before the burst", args.slo_factor),
        "cpus": { "service": SERVICE_CPU, "platform_and_instances": PLATFORM_CPU },
        "whole_app_start_ms": app_start_ms,
        "scenarios": reports.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
    });
    let path = out.join("burst.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(document)
}

pub fn print_summary(report: &ScenarioReport) {
    let s = &report.summary;
    let recovery = match s.recovery_s {
        Some(secs) => format!("{secs:.1} s"),
        None => "not within the run".into(),
    };
    println!(
        "  {:<10} SLO {:.1} ms (baseline p99 {:.1} ms) | back under SLO after {recovery} | peak p99 {:.0} ms | completed {} failed {} offloaded {} | plot {}",
        report.scenario,
        s.slo_ms,
        s.baseline_p99_ms,
        s.peak_p99_ms,
        s.completed,
        s.failed,
        s.offloaded,
        report.plot.display()
    );
}

/// A fresh platform and service for one scenario, the run, and its report.
pub async fn run_scenario(
    dist: &Dist,
    args: &BurstArgs,
    profile: &Profile,
    scenario: Scenario,
    out: &Path,
) -> Result<ScenarioReport> {
    let logs = out.join("logs").join(scenario.name());
    let concurrency = args.concurrency.to_string();
    let provisioned = args.warm_instances.to_string();
    let mut platform_args = vec!["--concurrency", concurrency.as_str()];
    if scenario == Scenario::AutoWarm {
        platform_args.extend(["--provisioned", provisioned.as_str()]);
    }
    let platform =
        FaasLocalProcess::start_pinned(dist, FUNCTION, &platform_args, Some(PLATFORM_CPU), &logs)
            .await?;
    let mut options = ServiceOptions::new("image-service", &platform.endpoint());
    options.cpu_affinity = Some(SERVICE_CPU.into());
    // Each response says where its handler ran.
    options
        .settings
        .push(("placement-header".into(), PLACEMENT_HEADER.into()));
    if args.server_threads > 0 {
        options.jvm_options.push(format!(
            "-Dserver.tomcat.threads.max={}",
            args.server_threads
        ));
    }
    let mode = match (scenario, args.manual_ratio) {
        (Scenario::None, _) => "manual, ratio 0".to_string(),
        (_, Some(ratio)) => {
            options.ratio = ratio;
            format!("manual, ratio {ratio}")
        }
        (_, None) => {
            options.settings.push(("mode".into(), "auto".into()));
            "auto".to_string()
        }
    };
    let service = ServiceProcess::start(dist, &options, &logs).await?;
    let http = HttpClient::new(service.port);
    let admin = Admin::new(service.admin_port);
    let request_for = |i: usize| Request::get(&args.path.replace("{i}", &(i % 16).to_string()));

    for i in 0..args.warmup {
        let exchange = http.send(&request_for(i)).await?;
        anyhow::ensure!(
            exchange.status == 200,
            "warm-up request {i} ({}): HTTP {}",
            request_for(i).path,
            exchange.status
        );
    }
    let prewarm = if scenario == Scenario::AutoWarm {
        Some(prewarm(&HttpClient::new(service.admin_port), args.warm_instances).await)
    } else {
        None
    };

    let start = Instant::now();
    let polling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_counters(
        admin.clone(),
        HttpClient::new(platform.port),
        start,
        polling.clone(),
    ));
    let records = run_open_loop(
        &http,
        &profile.schedule(),
        start,
        REQUEST_TIMEOUT,
        request_for,
    )
    .await;
    polling.store(false, Ordering::Relaxed);
    let samples = sampler.await?;
    let agent_stats = admin.stats().await.unwrap_or(Value::Null);
    let platform_stats = platform.stats().await.unwrap_or(Value::Null);

    let total = records
        .iter()
        .map(|r| r.done)
        .max()
        .unwrap_or_default()
        .max(profile.duration());
    let windows = timeline::windows(&records, &samples, WINDOW, total);
    let burst_start = profile.phase_start(1.min(profile.phases().len() - 1));
    let summary = timeline::summarize(&records, &windows, WINDOW, burst_start, args.slo_factor);
    let plot = out.join(format!("burst-{}.png", scenario.name()));
    let burst_end = profile.phase_start(2.min(profile.phases().len()));
    plot_timeline(
        &plot,
        scenario.name(),
        &windows,
        &summary,
        burst_start,
        burst_end,
    )?;

    let json = json!({
        "scenario": scenario.name(),
        "mode": mode,
        "prewarm": prewarm,
        "summary": summary,
        "burst_start_s": burst_start.as_secs_f64(),
        "burst_end_s": burst_end.as_secs_f64(),
        "agent_totals": agent_stats["totals"],
        "platform": platform_stats["functions"][FUNCTION],
        "windows": windows,
        "requests": records.iter().map(|r| json!({
            "scheduled_ms": r.scheduled.as_secs_f64() * 1000.0,
            "latency_ms": r.latency().as_secs_f64() * 1000.0,
            "status": r.status,
            "ran": r.ran,
        })).collect::<Vec<_>>(),
    });
    Ok(ScenarioReport {
        scenario: scenario.name(),
        summary,
        plot,
        json,
    })
}

/// `POST /prewarm?instances=N` on the agent. A failure is reported in the results rather than
/// ending the run: the scenario then shows the platform's provisioned instances alone.
async fn prewarm(admin: &HttpClient, instances: usize) -> Value {
    let request = Request {
        method: reqwest::Method::POST,
        path: format!("/prewarm?instances={instances}"),
        body: vec![],
        content_type: None,
    };
    match admin.send(&request).await {
        Ok(e) if e.status == 200 => {
            let body = String::from_utf8_lossy(&e.body).into_owned();
            json!({ "ok": true, "response": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)) })
        }
        Ok(e) => {
            let body = String::from_utf8_lossy(&e.body).into_owned();
            warn!(status = e.status, %body, "the agent refused POST /prewarm");
            json!({ "ok": false, "status": e.status, "response": body })
        }
        Err(e) => {
            warn!(error = %e, "POST /prewarm failed");
            json!({ "ok": false, "error": e.to_string() })
        }
    }
}

/// Polls the agent's `offloaded`/`local` totals and the platform's live instances every window
/// until `polling` is cleared. A poll that fails is skipped.
async fn sample_counters(
    admin: Admin,
    platform: HttpClient,
    start: Instant,
    polling: Arc<AtomicBool>,
) -> Vec<CounterSample> {
    let mut samples = vec![];
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while polling.load(Ordering::Relaxed) {
        tick.tick().await;
        let (agent, local) = tokio::join!(admin.stats(), platform.get_json("/local/stats"));
        let Ok(agent) = agent else { continue };
        samples.push(CounterSample {
            at_s: start.elapsed().as_secs_f64(),
            offloaded: agent["totals"]["offloaded"].as_u64().unwrap_or(0),
            local: agent["totals"]["local"].as_u64().unwrap_or(0),
            instances: local
                .ok()
                .and_then(|l| l["functions"][FUNCTION]["instances"].as_u64()),
        });
    }
    samples
}

fn plot_timeline(
    path: &Path,
    scenario: &str,
    windows: &[Window],
    summary: &BurstSummary,
    burst_start: Duration,
    burst_end: Duration,
) -> Result<()> {
    let series = |name: &str, value: &dyn Fn(&Window) -> Option<f64>| Series {
        name: name.into(),
        points: windows
            .iter()
            .filter_map(|w| value(w).map(|v| (w.start_s, v)))
            .collect(),
    };
    let panels = [
        Panel {
            y_label: "requests/s".into(),
            y_floor: 1.0,
            series: vec![
                series("sent", &|w| Some(w.sent_rps)),
                series("completed", &|w| Some(w.completed_rps)),
            ],
            threshold: None,
        },
        Panel {
            y_label: "latency (ms)".into(),
            y_floor: 1.0,
            series: vec![series("p50", &|w| w.p50_ms), series("p99", &|w| w.p99_ms)],
            threshold: Some((format!("SLO {:.0} ms", summary.slo_ms), summary.slo_ms)),
        },
        Panel {
            y_label: "offload ratio".into(),
            y_floor: 1.0, // a share: always 0..1
            series: vec![series("offloaded share", &|w| w.offload_ratio)],
            threshold: None,
        },
        Panel {
            y_label: "live instances".into(),
            y_floor: 1.0,
            series: vec![series("instances", &|w| w.instances.map(|n| n as f64))],
            threshold: None,
        },
    ];
    plot::timeline(
        path,
        &format!("Burst absorption: {scenario} (100 ms windows)"),
        &panels,
        &[burst_start.as_secs_f64(), burst_end.as_secs_f64()],
    )
}

/// How long the whole image service takes to start in a fresh JVM (to its first `/health`
/// answer) on the platform's core: what a whole-app-in-FaaS cold start would pay.
async fn whole_app_start_ms(dist: &Dist, out: &Path) -> Result<f64> {
    let platform =
        FaasLocalProcess::start(dist, FUNCTION, &[], &out.join("logs/app-start")).await?;
    let mut options = ServiceOptions::new("image-service", &platform.endpoint());
    options.cpu_affinity = Some(PLATFORM_CPU.into());
    let started = Instant::now();
    let service = ServiceProcess::start(dist, &options, &out.join("logs/app-start")).await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    drop(service);
    Ok(ms)
}
