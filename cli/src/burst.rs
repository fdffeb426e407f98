//! The burst experiment: the image service pinned to CPU 0, faas-local and its instances pinned
//! to CPU 1, an open-loop step burst that saturates the service's core, and per scenario how
//! long latency stays above the SLO. Scenarios: `none` (never offload), `auto-cold` (the burst
//! controller, instances started on demand) and `auto-warm` (the controller, with instances
//! provisioned on the platform and prewarmed by the agent before the burst).
//!
//! The load is sized to the machine: before the first burst, a closed loop measures how many
//! requests/s the service completes alone (ratio 0) and how many the platform's warm instances
//! complete (ratio 1); the baseline and the burst are multiples of those (see
//! [`Load::from_capacity`]), unless flags fix them.

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

use plotters::style::RGBColor;
use semifaas_cli::{
    harness::{
        Admin, Dist, FaasLocalProcess, HttpClient, PlatformApi, Request, ServiceOptions,
        ServiceProcess, PLACEMENT_HEADER,
    },
    loadgen::{run_closed_loop, run_open_loop, ClosedLoop, Profile},
    plot::{self, Comparison, Panel, Run, Series},
    timeline::{self, BurstSummary, Capacity, CounterSample, Load, Window},
};

use crate::cost::{self, Cost, Prices, Usage};

const FUNCTION: &str = "semifaas";
/// Width of the timeline windows and period of the counter polling.
const WINDOW: Duration = Duration::from_millis(100);
/// A request without a response after this is counted as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The service runs here; the platform and its instances on the other core.
const SERVICE_CPU: &str = "0";
const PLATFORM_CPU: &str = "1";
/// The window-by-window comparison of completed rates skips the burst's first 300 ms.
const COMPARE_AFTER: Duration = Duration::from_millis(300);
/// The comparison plot's rates are means over this many windows (100 ms ones jump by 10 req/s
/// per request).
const SMOOTH_WINDOWS: usize = 5;
/// How far back faas-local's `recent_peak_concurrency` looks, at most.
const PEAK_LOOKBACK_S: f64 = 2.0;
/// Controller decisions kept per scenario.
const MAX_CONTROLLER_NOTES: usize = 1000;

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
    pub fn name(self) -> &'static str {
        match self {
            Scenario::None => "none",
            Scenario::AutoCold => "auto-cold",
            Scenario::AutoWarm => "auto-warm",
            Scenario::All => "all",
        }
    }

    /// Its colour on the comparison plot.
    fn color(self) -> RGBColor {
        match self {
            Scenario::None => RGBColor(214, 39, 40),
            Scenario::AutoCold => RGBColor(255, 127, 14),
            Scenario::AutoWarm | Scenario::All => RGBColor(31, 119, 180),
        }
    }

    pub fn expand(self) -> Vec<Scenario> {
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
    /// The API the bundled platform speaks, and the agent with it.
    #[arg(long, value_enum, default_value = "lambda")]
    pub platform: PlatformApi,
    /// Baseline request rate (requests/s); default: 0.3 × the measured local capacity.
    #[arg(long)]
    pub base_rps: Option<f64>,
    /// The burst's rate (requests/s); default: the local capacity + 0.4 × the platform's, at
    /// least 1.4 × the local capacity.
    #[arg(long, conflicts_with = "burst_x")]
    pub burst_rps: Option<f64>,
    /// The burst's rate as a multiple of the baseline (instead of --burst-rps).
    #[arg(long)]
    pub burst_x: Option<f64>,
    /// Measure the capacities even when the flags fix the load (they are then only reported).
    #[arg(long)]
    pub measure_capacity: bool,
    /// Seconds each capacity measurement counts (after its own short warm-up).
    #[arg(long, default_value_t = 2.5)]
    pub capacity_s: f64,
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
    /// Instances faas-local may run at once. The instances share one core, so each one adds a
    /// handler's CPU time to every offload's latency once the platform is saturated (four put
    /// warm offloads at the SLO on a fast machine), while too few leave the core idle when a
    /// saturated server stretches the round trip (two: the platform absorbed half what it
    /// could). Past the limit an offload is throttled at once and runs locally (as with
    /// Lambda's reserved concurrency).
    #[arg(long, default_value_t = 3)]
    pub concurrency: usize,
    /// faas-local starts instances from a snapshot of a warm one (`semifaas local --snapshots`;
    /// root and CRIU): new instances are restored copies once the first has served
    /// `--snapshot-after` invocations.
    #[arg(long)]
    pub snapshots: bool,
    /// With --snapshots: invocations before an instance is checkpointed. The sequential
    /// warm-up offloads some before the burst; `snapshot_before_load` in burst.json says whether
    /// the snapshot was ready when the load began.
    #[arg(long, default_value_t = 10, requires = "snapshots")]
    pub snapshot_after: u64,
    /// auto-warm: instances provisioned on faas-local and prewarmed by the agent.
    #[arg(long, default_value_t = 3)]
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
    #[command(
        flatten,
        next_help_heading = "Cost (each scenario's Lambda bill against always-on servers)"
    )]
    pub prices: Prices,
}

/// Where the run's load came from.
enum LoadSource {
    /// A `--profile` file.
    File(Profile),
    /// `--base-rps` and `--burst-rps`/`--burst-x`: both rates fixed.
    Fixed(Load),
    /// At least one rate from the measured capacities.
    Measured,
}

impl BurstArgs {
    /// Checks the flags and reads the profile before anything starts.
    fn load_source(&self) -> Result<LoadSource> {
        anyhow::ensure!(
            self.manual_ratio.is_none_or(|r| (0.0..=1.0).contains(&r)),
            "--manual-ratio must be in [0,1]"
        );
        anyhow::ensure!(
            self.warm_instances <= self.concurrency,
            "--warm-instances {} exceeds --concurrency {}",
            self.warm_instances,
            self.concurrency
        );
        anyhow::ensure!(
            self.capacity_s.is_finite() && self.capacity_s > 0.0,
            "--capacity-s must be a positive number of seconds"
        );
        if let Some(file) = &self.profile {
            return Ok(LoadSource::File(Profile::load(file)?));
        }
        // The shape is checked now, with stand-in rates when they come from the measurement.
        let base = self.base_rps.unwrap_or(1.0);
        let burst = self.burst_rps.or(self.burst_x.map(|x| x * base));
        self.step(&Load {
            base_rps: base,
            burst_rps: burst.unwrap_or(1.0),
        })?;
        Ok(match (self.base_rps, burst) {
            (Some(base_rps), Some(burst_rps)) => LoadSource::Fixed(Load {
                base_rps,
                burst_rps,
            }),
            _ => LoadSource::Measured,
        })
    }

    fn step(&self, load: &Load) -> Result<Profile> {
        Ok(Profile::step_to(
            load.base_rps,
            load.burst_rps,
            self.before_s,
            self.burst_s,
            self.after_s,
        )?)
    }

    /// The load from the measured capacities, where the flags leave it open.
    fn sized_load(&self, capacity: &Capacity) -> Load {
        let sized = Load::from_capacity(capacity);
        let base_rps = self.base_rps.unwrap_or(sized.base_rps);
        Load {
            base_rps,
            burst_rps: self
                .burst_rps
                .or(self.burst_x.map(|x| x * base_rps))
                .unwrap_or(sized.burst_rps),
        }
    }
}

/// One scenario's outcome.
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub summary: BurstSummary,
    pub windows: Vec<Window>,
    pub burst: (Duration, Duration),
    /// Instances the platform cold-started during the run (`None`: it did not answer).
    pub cold_starts: Option<u64>,
    /// What the run's offloads cost (`None`: the platform did not say).
    pub cost: Option<Cost>,
    pub plot: PathBuf,
    pub json: Value,
}

/// What the capacity measurement found.
pub struct Measured {
    pub capacity: Capacity,
    pub json: Value,
}

/// All scenarios of one experiment, with the same load.
pub struct Experiment {
    pub reports: Vec<ScenarioReport>,
    pub capacity: Option<Capacity>,
    pub load: Load,
    /// A plot with every scenario, when there are several.
    pub comparison_plot: Option<PathBuf>,
    pub verdict: Verdict,
    pub document: Value,
}

/// Runs `args.scenario`, writes `burst.json` and the plots into `out`, prints a report, and
/// returns the JSON document.
pub async fn run(args: &BurstArgs, out: &Path) -> Result<Value> {
    let experiment = run_scenarios(args, &args.scenario.expand(), out, true).await?;
    Ok(experiment.document)
}

/// Measures the capacities (unless the load is fixed), runs `scenarios` one after the other with
/// the same load, writes `burst.json`, one `burst-<scenario>.png` per scenario and, for several
/// scenarios, `burst-compare.png` into `out`. `verbose` prints each scenario's summary line and
/// the comparison of completed rates as they come.
pub async fn run_scenarios(
    args: &BurstArgs,
    scenarios: &[Scenario],
    out: &Path,
    verbose: bool,
) -> Result<Experiment> {
    let source = args.load_source()?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let dist = Dist::locate()?;
    let measure = matches!(source, LoadSource::Measured) || args.measure_capacity;
    let mut measured: Option<Measured> = None;
    if measure && scenarios.first() != Some(&Scenario::None) {
        // The measurement needs a service in manual mode; the first scenario's is not.
        println!("capacity: measuring on a service without offloading");
        let d = deploy(
            &dist,
            args,
            Scenario::None,
            &out.join("logs/capacity"),
            true,
        )
        .await?;
        measured = Some(measure_capacity(&d, args).await?);
    }
    let mut reports = vec![];
    let mut fixed: Option<(Load, Profile)> = None;
    for &scenario in scenarios {
        println!("scenario {}: starting", scenario.name());
        // The measurement needs warm instances: the platform provisions them (faas-local starts
        // no more than one new instance at a time on demand).
        let measure_here = measure && measured.is_none();
        let logs = out.join("logs").join(scenario.name());
        let d = deploy(&dist, args, scenario, &logs, measure_here).await?;
        if measure_here {
            measured = Some(measure_capacity(&d, args).await?);
        }
        let (load, profile) = match (&fixed, &source) {
            (Some(done), _) => done.clone(),
            (None, LoadSource::File(profile)) => (profile_load(profile), profile.clone()),
            (None, LoadSource::Fixed(load)) => (*load, args.step(load)?),
            (None, LoadSource::Measured) => {
                let capacity = &measured.as_ref().expect("measured first").capacity;
                let load = args.sized_load(capacity);
                (load, args.step(&load)?)
            }
        };
        if fixed.is_none() {
            print_load(&load, measured.as_ref().map(|m| &m.capacity), &source);
            fixed = Some((load, profile.clone()));
        }
        // One SLO for the whole experiment: the first scenario's (none's, when it runs: the
        // service's calm latency without offloading), so every scenario is held to the same line.
        let slo_ms = reports.first().map(|r: &ScenarioReport| r.summary.slo_ms);
        let report = run_burst(d, args, &profile, slo_ms, out).await?;
        if verbose {
            print_summary(&report);
        }
        reports.push(report);
    }
    let (load, profile) = fixed.context("no scenario to run")?;
    let capacity = measured.as_ref().map(|m| m.capacity);
    let comparisons = compare_with_none(&reports);
    if verbose {
        print_comparisons(&comparisons);
    }
    let verdict = verdict(&reports);
    let comparison_plot = if reports.len() > 1 {
        let path = out.join("burst-compare.png");
        plot_comparison(&path, &reports, &load, &verdict.short)?;
        Some(path)
    } else {
        None
    };
    if verbose {
        println!();
        print_table(&reports);
        print_cost_table(&reports, &args.prices);
        println!("  {}", verdict.long);
        if let Some(path) = &comparison_plot {
            println!("  all scenarios on one plot: {}", path.display());
        }
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
        "capacity": measured.as_ref().map(|m| {
            let mut c = m.json.clone();
            c["local_rps"] = json!(m.capacity.local_rps);
            c["platform_rps"] = json!(m.capacity.platform_rps);
            c["offload_cost"] = json!(m.capacity.offload_cost);
            c["together_rps"] = json!(m.capacity.together_rps());
            c
        }),
        "load": {
            "base_rps": load.base_rps,
            "burst_rps": load.burst_rps,
            "sized_from": match source {
                LoadSource::File(_) => "profile file",
                LoadSource::Fixed(_) => "flags",
                LoadSource::Measured => "measured capacity",
            },
            "rule": timeline::load_rule(),
            "absorbable": capacity.map(|c| load.absorbable(&c)),
        },
        "profile": profile,
        "request": args.path,
        "snapshots": args.snapshots,
        "window_ms": WINDOW.as_millis() as u64,
        "slo": format!(
            "{}× the p99 latency of the requests before the burst in the first scenario ({}), for every scenario",
            args.slo_factor,
            reports[0].scenario.name()
        ),
        "cpus": { "service": SERVICE_CPU, "platform_and_instances": PLATFORM_CPU },
        "cost_model": cost::model_json(&args.prices),
        "whole_app_start_ms": app_start_ms,
        "verdict": verdict.long,
        "completed_below_none": comparisons.iter().map(|c| json!({
            "scenario": c.scenario.name(),
            "from_s": c.from_s,
            "to_s": c.to_s,
            "windows_compared": c.compared,
            "windows_behind_since_onset": c.behind,
            "windows_below": c.below,
        })).collect::<Vec<_>>(),
        "scenarios": reports.iter().map(|r| r.json.clone()).collect::<Vec<_>>(),
    });
    let path = out.join("burst.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(Experiment {
        reports,
        capacity,
        load,
        comparison_plot,
        verdict,
        document,
    })
}

/// A profile file's baseline (first phase) and burst (second phase).
fn profile_load(profile: &Profile) -> Load {
    let phases = profile.phases();
    Load {
        base_rps: phases[0].rps,
        burst_rps: phases.get(1).map_or(phases[0].rps, |p| p.rps),
    }
}

fn print_load(load: &Load, capacity: Option<&Capacity>, source: &LoadSource) {
    if let Some(c) = capacity {
        println!(
            "capacity: the service alone completes {:.0} req/s (CPU {SERVICE_CPU}), the platform's warm instances {:.0} req/s (CPU {PLATFORM_CPU})",
            c.local_rps, c.platform_rps
        );
    }
    let from = match source {
        LoadSource::File(_) => "from the profile file",
        LoadSource::Fixed(_) => "fixed by the flags",
        LoadSource::Measured => "sized from the capacities",
    };
    println!(
        "load ({from}): baseline {:.0} req/s, burst {:.0} req/s",
        load.base_rps, load.burst_rps
    );
    if let Some(c) = capacity {
        if load.burst_rps <= c.local_rps {
            println!(
                "  note: the server alone can serve this burst: it shows nothing about offloading"
            );
        }
        if !load.absorbable(c) {
            println!(
                "  note: the burst exceeds what server and platform complete together ({:.0} req/s): no controller can absorb it on this machine",
                c.together_rps()
            );
        }
    }
}

pub fn print_summary(report: &ScenarioReport) {
    let s = &report.summary;
    println!(
        "  {:<10} SLO {:.1} ms (baseline p99 {:.1} ms) | back under SLO after {} | peak p99 {:.0} ms | completed {} failed {} offloaded {} | during the burst: {:.0} req/s completed, {} offloaded | plot {}",
        report.scenario.name(),
        s.slo_ms,
        s.baseline_p99_ms,
        recovery_text(s),
        s.peak_p99_ms,
        s.completed,
        s.failed,
        s.offloaded,
        s.burst_completed_rps,
        share_text(s.burst_offloaded_share),
        report.plot.display()
    );
    print_controller_notes(report, 4);
}

/// The last `n` changes of the controller's decision in an auto scenario (nothing for `none`);
/// whether it printed any.
pub fn print_controller_notes(report: &ScenarioReport, n: usize) -> bool {
    let notes = report.json["controller"]
        .as_array()
        .map_or(&[][..], |n| &n[..]);
    if report.scenario == Scenario::None || notes.is_empty() {
        return false;
    }
    println!(
        "  {}: the controller's last decisions that changed:",
        report.scenario.name()
    );
    for note in &notes[notes.len().saturating_sub(n)..] {
        println!(
            "    {:>5.1} s  {}",
            note["at_s"].as_f64().unwrap_or(0.0),
            note["note"].as_str().unwrap_or("?")
        );
    }
    true
}

fn recovery_text(s: &BurstSummary) -> String {
    match s.recovery_s {
        Some(0.0) => "0 s (never over)".into(),
        Some(secs) => format!("{secs:.1} s"),
        None => "not within the run".into(),
    }
}

fn share_text(share: Option<f64>) -> String {
    share.map_or("–".into(), |v| format!("{:.0} %", v * 100.0))
}

fn seconds_text(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

/// One table, a row per scenario: how each absorbed the burst.
pub fn print_table(reports: &[ScenarioReport]) {
    println!(
        "  {:<10} | {:>9} | {:>21} | {:>9} | {:>23} | {:>15} | {:>11}",
        "scenario",
        "SLO",
        "back under SLO after",
        "peak p99",
        "completed in the burst",
        "offloaded share",
        "cold starts"
    );
    println!("  {}", "-".repeat(120));
    for r in reports {
        let s = &r.summary;
        println!(
            "  {:<10} | {:>9} | {:>21} | {:>9} | {:>17.0} req/s | {:>15} | {:>11}",
            r.scenario.name(),
            seconds_text(s.slo_ms),
            recovery_text(s),
            seconds_text(s.peak_p99_ms),
            s.burst_completed_rps,
            share_text(s.burst_offloaded_share),
            r.cold_starts.map_or("?".into(), |n| n.to_string()),
        );
    }
}

/// A row per scenario: the platform's bill at Lambda's prices against always-on servers holding
/// its peak (see `cost`).
fn print_cost_table(reports: &[ScenarioReport], prices: &Prices) {
    let period = if prices.always_on_s >= 3600.0 {
        format!("{} h", crate::output::ratio(prices.always_on_s / 3600.0))
    } else {
        format!("{:.0} s", prices.always_on_s)
    };
    println!(
        "  {:<10} | {:>8} | {:>9} | {:>11} | {:>16} | {:>7} | {:>20}",
        "scenario",
        "requests",
        "GB-s",
        "Lambda",
        "peak concurrency",
        "servers",
        format!("always-on for {period}")
    );
    println!("  {}", "-".repeat(101));
    for r in reports {
        let Some(c) = &r.cost else {
            println!(
                "  {:<10} | the platform did not report its usage",
                r.scenario.name()
            );
            continue;
        };
        println!(
            "  {:<10} | {:>8} | {:>9.1} | {:>11} | {:>16} | {:>7} | {:>20}",
            r.scenario.name(),
            c.requests,
            c.gb_seconds,
            cost::usd(c.lambda_cost_usd),
            c.peak_concurrency,
            c.servers,
            cost::usd(c.always_on_cost_usd),
        );
    }
    println!(
        "  (Lambda: {} per GB-s, {} per request; always-on: {} vCPU servers at {} per hour)",
        prices.price_gb_second,
        prices.price_request,
        prices.server_vcpus,
        cost::usd(prices.price_server_hour)
    );
}

/// The outcome in plain words: `long` for the report, `short` for the plot's title.
pub struct Verdict {
    pub long: String,
    pub short: String,
}

/// "stayed above the SLO for the whole burst (peak p99 3.2 s)", "was back under the SLO 0.3 s
/// after the burst began (...)", ...
fn course(s: &BurstSummary, burst_s: f64) -> String {
    let peak = seconds_text(s.peak_p99_ms);
    match s.recovery_s {
        Some(0.0) => format!("never went above the SLO (peak p99 {peak})"),
        Some(r) if r < burst_s => {
            format!("was back under the SLO {r:.1} s after the burst began (peak p99 {peak})")
        }
        Some(r) => format!(
            "stayed above the SLO for the whole burst and {:.1} s after (peak p99 {peak})",
            r - burst_s
        ),
        None => format!("stayed above the SLO to the end of the run (peak p99 {peak})"),
    }
}

fn short_course(s: &BurstSummary, burst_s: f64) -> String {
    match s.recovery_s {
        Some(0.0) => "never over the SLO".into(),
        Some(r) if r < burst_s => format!("back under the SLO after {r:.1} s"),
        Some(_) | None => format!(
            "over the SLO for the whole burst (peak p99 {})",
            seconds_text(s.peak_p99_ms)
        ),
    }
}

/// Compares the offloading scenario (the last one) with `none` when both ran.
pub fn verdict(reports: &[ScenarioReport]) -> Verdict {
    let none = reports.iter().find(|r| r.scenario == Scenario::None);
    let other = reports.iter().rev().find(|r| r.scenario != Scenario::None);
    let burst_s = |r: &ScenarioReport| (r.burst.1 - r.burst.0).as_secs_f64();
    let (Some(n), Some(o)) = (none, other) else {
        let r = &reports[reports.len() - 1];
        return Verdict {
            long: format!(
                "In {}, latency {}.",
                r.scenario.name(),
                course(&r.summary, burst_s(r))
            ),
            short: format!(
                "{}: {}",
                r.scenario.name(),
                short_course(&r.summary, burst_s(r))
            ),
        };
    };
    let (ns, os) = (&n.summary, &o.summary);
    let name = o.scenario.name();
    if ns.recovery_s == Some(0.0) {
        return Verdict {
            long: "Even without offloading latency never went above the SLO: the burst is too light for this machine, so this run shows nothing about offloading.".into(),
            short: "the burst did not overload the server: nothing to show".into(),
        };
    }
    let absorbed = os.recovery_s.is_some_and(|r| r < burst_s(o));
    let shorter = os
        .recovery_s
        .is_some_and(|r| ns.recovery_s.is_none_or(|nr| r < nr));
    let lead = match (absorbed && shorter, shorter) {
        (true, _) => format!("With offloading ({name})"),
        (false, true) => format!(
            "Offloading shortened the overload but did not absorb the burst: with it ({name})"
        ),
        (false, false) => format!("Offloading did not help in this run: with it ({name})"),
    };
    Verdict {
        long: format!(
            "{lead}, latency {}; without, it {}.",
            course(os, burst_s(o)),
            course(ns, burst_s(n))
        ),
        short: format!(
            "{name}: {}; none: {}",
            short_course(os, burst_s(o)),
            short_course(ns, burst_s(n))
        ),
    }
}

/// One scenario's completed rate against `none`'s, window by window, in the burst after its
/// first [`COMPARE_AFTER`]: since the burst onset (`behind`, the check) and in each window alone
/// (`below`, for reference: a window's count differs between two runs by several requests).
pub struct NoneComparison {
    pub scenario: Scenario,
    pub from_s: f64,
    pub to_s: f64,
    pub compared: usize,
    pub behind: Vec<timeline::Shortfall>,
    pub below: Vec<timeline::Shortfall>,
}

fn compare_with_none(reports: &[ScenarioReport]) -> Vec<NoneComparison> {
    let Some(none) = reports.iter().find(|r| r.scenario == Scenario::None) else {
        return vec![];
    };
    reports
        .iter()
        .filter(|r| r.scenario != Scenario::None)
        .map(|r| {
            let from_s = (r.burst.0 + COMPARE_AFTER).as_secs_f64();
            let to_s = r.burst.1.as_secs_f64();
            NoneComparison {
                scenario: r.scenario,
                from_s,
                to_s,
                compared: r
                    .windows
                    .iter()
                    .filter(|w| w.start_s + 1e-9 >= from_s && w.start_s + 1e-9 < to_s)
                    .count(),
                behind: timeline::windows_behind_since(
                    &r.windows,
                    &none.windows,
                    WINDOW,
                    r.burst.0.as_secs_f64(),
                    from_s,
                    to_s,
                ),
                below: timeline::windows_completing_less(&r.windows, &none.windows, from_s, to_s),
            }
        })
        .collect()
}

fn print_comparisons(comparisons: &[NoneComparison]) {
    let list = |shortfalls: &[timeline::Shortfall]| {
        let shown: Vec<String> = shortfalls
            .iter()
            .take(6)
            .map(|s| {
                format!(
                    "{:.1} s ({:.0} vs {:.0} req/s)",
                    s.start_s, s.first_rps, s.second_rps
                )
            })
            .collect();
        format!(
            "{}{}",
            shown.join(", "),
            if shortfalls.len() > 6 { ", ..." } else { "" }
        )
    };
    for c in comparisons {
        println!(
            "  {} vs none, {} ms windows from {:.1} s to {:.1} s:",
            c.scenario.name(),
            WINDOW.as_millis(),
            c.from_s,
            c.to_s
        );
        if c.behind.is_empty() {
            println!(
                "    completed since the onset: never behind none ({} windows)",
                c.compared
            );
        } else {
            println!(
                "    completed since the onset: behind none in {} of {} windows: {}",
                c.behind.len(),
                c.compared,
                list(&c.behind)
            );
        }
        println!(
            "    completed in the window alone: below none in {} of {} windows{}",
            c.below.len(),
            c.compared,
            if c.below.is_empty() {
                String::new()
            } else {
                format!(": {}", list(&c.below))
            }
        );
    }
}

/// A platform and a service for one scenario, started and warmed up.
struct Deployment {
    scenario: Scenario,
    platform: FaasLocalProcess,
    service: ServiceProcess,
    mode: String,
    /// The agent's answer to `POST /prewarm`, when the deployment prewarmed instances.
    prewarm: Option<Value>,
}

/// Warm-up requests after which the prewarm starts (alongside the rest of the warm-up): by then
/// the handler is profiled as a candidate and its shadow samples are recorded.
const PREWARM_AFTER: usize = 30;

/// Requests for the `{i}` template `path`.
fn requests(path: &str) -> impl Fn(usize) -> Request + Send + Sync + 'static {
    let path = path.to_owned();
    move |i| Request::get(&path.replace("{i}", &(i % 16).to_string()))
}

/// A fresh platform (CPU 1) and service (CPU 0) for `scenario`, after the sequential warm-up.
/// `for_capacity`: the platform provisions `--concurrency` instances for the capacity
/// measurement (`auto-warm` provisions `--warm-instances` anyway).
async fn deploy(
    dist: &Dist,
    args: &BurstArgs,
    scenario: Scenario,
    logs: &Path,
    for_capacity: bool,
) -> Result<Deployment> {
    let concurrency = args.concurrency.to_string();
    let provisioned = if for_capacity {
        args.concurrency
    } else {
        args.warm_instances
    }
    .to_string();
    let mut platform_args = vec!["--concurrency", concurrency.as_str()];
    if scenario == Scenario::AutoWarm || for_capacity {
        platform_args.extend(["--provisioned", provisioned.as_str()]);
    }
    let snapshot_after = args.snapshot_after.to_string();
    if args.snapshots {
        platform_args.extend(["--snapshots", "--snapshot-after", &snapshot_after]);
    }
    let platform = FaasLocalProcess::start_api(
        dist,
        FUNCTION,
        args.platform,
        &platform_args,
        Some(PLATFORM_CPU),
        logs,
    )
    .await?;
    let mut options = ServiceOptions::for_platform("image-service", &platform);
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
    if for_capacity {
        // The platform's capacity is what its instances complete at ratio 1. The agent's
        // do-no-harm guard caps a manual ratio when offloads take longer than local runs, which
        // a saturating closed loop makes them do; this service runs at ratio 0 otherwise, where
        // the guard has nothing to cap.
        options.settings.push(("do-no-harm".into(), "false".into()));
        // Its instances only need their code loaded before the closed loop, whose own warm-up
        // at full load lets the JIT finish: 3 replay rounds instead of 10 save seconds.
        options.settings.push(("shadow.rounds".into(), "3".into()));
    }
    let service = ServiceProcess::start(dist, &options, logs).await?;
    let http = HttpClient::new(service.port);
    let request_for = requests(&args.path);
    // auto-warm's instances (as an operator prewarms them, under the calm traffic) and the
    // capacity measurement's: the prewarm runs mostly on the platform's core, so it overlaps
    // the rest of the sequential warm-up instead of adding its seconds to the experiment.
    let prewarm_instances = if for_capacity {
        Some(args.concurrency)
    } else {
        (scenario == Scenario::AutoWarm).then_some(args.warm_instances)
    };
    let mut prewarming = None;
    for i in 0..args.warmup {
        if i == PREWARM_AFTER.min(args.warmup.saturating_sub(1)) {
            if let Some(n) = prewarm_instances {
                let admin = Admin::new(service.admin_port);
                prewarming = Some(tokio::spawn(async move { prewarm(&admin, n).await }));
            }
        }
        let exchange = http.send(&request_for(i)).await?;
        anyhow::ensure!(
            exchange.status == 200,
            "warm-up request {i} ({}): HTTP {}",
            request_for(i).path,
            exchange.status
        );
    }
    let prewarm = match (prewarming, prewarm_instances) {
        (Some(task), _) => Some(task.await?),
        // No warm-up at all: prewarm now.
        (None, Some(n)) => Some(prewarm(&Admin::new(service.admin_port), n).await),
        (None, None) => None,
    };
    Ok(Deployment {
        scenario,
        platform,
        service,
        mode,
        prewarm,
    })
}

/// The capacities, on a deployment in manual mode at ratio 0 (left at ratio 0): a closed loop of
/// `--concurrency` clients at ratio 0 (the service alone), then the platform's instances started
/// and prewarmed, and the same closed loop at ratio 1. Each loop warms up for a moment, then counts
/// `--capacity-s` seconds. The platform's capacity counts only the responses that said
/// `offloaded`.
async fn measure_capacity(d: &Deployment, args: &BurstArgs) -> Result<Measured> {
    anyhow::ensure!(
        d.scenario == Scenario::None,
        "the capacity is measured on a service without the controller"
    );
    let http = HttpClient::new(d.service.port);
    let admin = Admin::new(d.service.admin_port);
    let span = Duration::from_secs_f64(args.capacity_s);
    let clients = args.concurrency.max(1);
    // The server's CPU per request in each loop (over every request the loop completed, warm-up
    // included), so that the report can say what an offload costs the server against a local run.
    let cpu = CpuMeter::start(&d.service)?;
    let local = run_closed_loop(
        &http,
        clients,
        Duration::from_millis(500),
        span,
        REQUEST_TIMEOUT,
        requests(&args.path),
    )
    .await;
    let local_cpu_per_request = cpu
        .per_request(&d.service, local.answered)?
        .context("the service completed no request at ratio 0: it cannot be measured")?;
    let prewarmed = d.prewarm.clone();
    let before = admin.stats().await?;
    admin.set_ratio(1.0).await?;
    let cpu = CpuMeter::start(&d.service)?;
    let platform = run_closed_loop(
        &http,
        clients,
        Duration::from_secs(1),
        span,
        REQUEST_TIMEOUT,
        requests(&args.path),
    )
    .await;
    let offload_cpu_per_request = cpu.per_request(&d.service, platform.answered)?;
    admin.set_ratio(0.0).await?;
    let after = admin.stats().await?;
    let delta = |key: &str| {
        after["totals"][key]
            .as_u64()
            .unwrap_or(0)
            .saturating_sub(before["totals"][key].as_u64().unwrap_or(0))
    };
    let capacity = Capacity {
        local_rps: local.completed_rps(),
        platform_rps: platform.offloaded as f64 / platform.seconds.max(1e-9),
        // Nothing completed at ratio 1: the platform adds nothing, whatever an offload costs.
        offload_cost: offload_cpu_per_request
            .map_or(1.0, |cpu| cpu / local_cpu_per_request.max(1e-9)),
    };
    let offloaded_share = platform.offloaded as f64 / platform.completed.max(1) as f64;
    println!(
        "capacity: closed loop of {clients} clients, {:.1} s each: service alone {:.0} req/s; ratio 1 {:.0} req/s completed, {:.0} % of them offloaded (agent: {} offloaded, {} local)",
        args.capacity_s,
        capacity.local_rps,
        platform.completed_rps(),
        offloaded_share * 100.0,
        delta("offloaded"),
        delta("local"),
    );
    match offload_cpu_per_request {
        Some(offloaded) => println!(
            "  server CPU per request: {:.1} ms local, {:.1} ms offloaded: an offload costs the server {:.0} % of a local run, so server and platform together complete {:.0} req/s",
            local_cpu_per_request * 1e3,
            offloaded * 1e3,
            capacity.offload_cost * 100.0,
            capacity.together_rps()
        ),
        None => println!(
            "  note: no request completed at ratio 1 ({} failed): the platform adds nothing here; see the platform's log",
            platform.failed
        ),
    }
    if offloaded_share < 0.9 {
        println!("  note: not every request was offloaded at ratio 1: the platform's capacity counts only those that were");
    }
    let loop_json = |l: &ClosedLoop| {
        json!({
            "clients": l.clients,
            "seconds": l.seconds,
            "completed": l.completed,
            "failed": l.failed,
            "offloaded": l.offloaded,
            "completed_rps": l.completed_rps(),
        })
    };
    Ok(Measured {
        capacity,
        json: json!({
            "method": "closed loop, after a short warm-up: ratio 0 on the service (CPU 0), then ratio 1 onto the platform's prewarmed instances (CPU 1)",
            "local": loop_json(&local),
            "platform": loop_json(&platform),
            "server_cpu_ms_per_request": {
                "local": local_cpu_per_request * 1e3,
                "offloaded": offload_cpu_per_request.map(|cpu| cpu * 1e3),
            },
            "platform_prewarm": prewarmed,
            "agent_during_platform": {
                "offloaded": delta("offloaded"),
                "local": delta("local"),
                "failures": delta("failures"),
            },
        }),
    })
}

/// The service's CPU use from a starting point.
struct CpuMeter {
    cpu_s: f64,
}

impl CpuMeter {
    fn start(service: &ServiceProcess) -> Result<CpuMeter> {
        Ok(CpuMeter {
            cpu_s: service.cpu_seconds()?,
        })
    }

    /// CPU seconds per request since the start, `requests` having completed; `None` when none did.
    fn per_request(&self, service: &ServiceProcess, requests: usize) -> Result<Option<f64>> {
        let spent = service.cpu_seconds()? - self.cpu_s;
        Ok((requests > 0).then(|| spent / requests as f64))
    }
}

/// The burst on a deployment, and its report; `slo_ms`: the experiment's SLO, when an earlier
/// scenario set it (else from this run's baseline).
async fn run_burst(
    d: Deployment,
    args: &BurstArgs,
    profile: &Profile,
    slo_ms: Option<f64>,
    out: &Path,
) -> Result<ScenarioReport> {
    let scenario = d.scenario;
    let http = HttpClient::new(d.service.port);
    let admin = Admin::new(d.service.admin_port);
    // Only auto-warm's counts as part of the scenario; the capacity measurement's is reported
    // with the capacity.
    let prewarm = if scenario == Scenario::AutoWarm {
        d.prewarm.clone()
    } else {
        None
    };
    let platform_before = d.platform.stats().await.ok();

    let start = Instant::now();
    let polling = Arc::new(AtomicBool::new(true));
    let sampler = tokio::spawn(sample_counters(
        admin.clone(),
        HttpClient::new(d.platform.port),
        start,
        polling.clone(),
    ));
    let records = run_open_loop(
        &http,
        &profile.schedule(),
        start,
        REQUEST_TIMEOUT,
        requests(&args.path),
    )
    .await;
    polling.store(false, Ordering::Relaxed);
    let (samples, controller) = sampler.await?;
    let agent_stats = admin.stats().await.unwrap_or(Value::Null);
    let platform_stats = d.platform.stats().await.unwrap_or(Value::Null);
    let cold_starts = |stats: &Value| stats["functions"][FUNCTION]["cold_starts"].as_u64();
    let cold_starts = match (cold_starts(&platform_stats), platform_before.as_ref()) {
        (Some(after), Some(before)) => Some(after.saturating_sub(cold_starts(before).unwrap_or(0))),
        _ => None,
    };
    // The platform's figure looks up to 2 s back: earlier samples would see the warm-up.
    let peak_concurrency = samples
        .iter()
        .filter(|s| s.at_s >= PEAK_LOOKBACK_S)
        .filter_map(|s| s.peak_concurrency)
        .max()
        .unwrap_or(0);
    let cost = platform_before.as_ref().and_then(|before| {
        let usage = Usage::between(
            &before["functions"][FUNCTION],
            &platform_stats["functions"][FUNCTION],
            peak_concurrency,
        )?;
        Some(Cost::of(&usage, &args.prices))
    });

    let total = records
        .iter()
        .map(|r| r.done)
        .max()
        .unwrap_or_default()
        .max(profile.duration());
    let windows = timeline::windows(&records, &samples, WINDOW, total);
    let burst_start = profile.phase_start(1.min(profile.phases().len() - 1));
    let burst_end = profile.phase_start(2.min(profile.phases().len()));
    let slo_ms = slo_ms
        .unwrap_or_else(|| timeline::baseline_p99_ms(&records, burst_start) * args.slo_factor);
    let summary =
        timeline::summarize_against(&records, &windows, WINDOW, (burst_start, burst_end), slo_ms);
    let plot = out.join(format!("burst-{}.png", scenario.name()));
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
        "mode": d.mode,
        "prewarm": prewarm,
        "summary": summary,
        "burst_start_s": burst_start.as_secs_f64(),
        "burst_end_s": burst_end.as_secs_f64(),
        "cold_starts_in_run": cold_starts,
        "snapshot_before_load": platform_before
            .as_ref()
            .map(|before| before["functions"][FUNCTION]["snapshot"].clone()),
        "cost": cost,
        "agent_totals": agent_stats["totals"],
        "platform": platform_stats["functions"][FUNCTION],
        "controller": controller,
        "windows": windows,
        "requests": records.iter().map(|r| json!({
            "scheduled_ms": r.scheduled.as_secs_f64() * 1000.0,
            "latency_ms": r.latency().as_secs_f64() * 1000.0,
            "status": r.status,
            "ran": r.ran,
        })).collect::<Vec<_>>(),
    });
    Ok(ScenarioReport {
        scenario,
        summary,
        windows,
        burst: (burst_start, burst_end),
        cold_starts,
        cost,
        plot,
        json,
    })
}

/// `POST /prewarm?instances=N` on the agent. A failure is reported in the results rather than
/// ending the run: the scenario then shows the platform's provisioned instances alone.
async fn prewarm(admin: &Admin, instances: usize) -> Value {
    let path = format!("/prewarm?instances={instances}");
    match admin.send(reqwest::Method::POST, &path, None).await {
        Ok((status, body)) if status.is_success() => {
            json!({ "ok": true, "response": serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)) })
        }
        Ok((status, body)) => {
            warn!(status = status.as_u16(), %body, "the agent refused POST /prewarm");
            json!({ "ok": false, "status": status.as_u16(), "response": body })
        }
        Err(e) => {
            warn!(error = %e, "POST /prewarm failed");
            json!({ "ok": false, "error": e.to_string() })
        }
    }
}

/// What a `GET /controller` snapshot says about the controller's last decision: its
/// `decision`/`reason` strings, when the agent has them, the last decision's phase, ratio and
/// why, and the do-no-harm guard's action and why. `None` when it says none of these.
fn controller_note(state: &Value) -> Option<String> {
    let mut parts = vec![];
    for key in ["decision", "reason"] {
        if let Some(text) = state[key].as_str() {
            parts.push(format!("{key}: {text}"));
        }
    }
    let last = &state["last_decision"];
    if let Some(text) = last.as_str() {
        parts.push(text.to_owned());
    } else if let Some(why) = last["why"].as_str() {
        let phase = last["phase"].as_str().unwrap_or("?");
        match last["ratio"].as_f64() {
            Some(ratio) => parts.push(format!("{phase}, ratio {ratio:.2}: {why}")),
            None => parts.push(format!("{phase}: {why}")),
        }
    }
    let guard = &state["guard"];
    if let Some(why) = guard["why"].as_str() {
        let action = guard["action"].as_str().unwrap_or("?");
        parts.push(format!("guard {action}: {why}"));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A note without its numbers: consecutive decisions of the same kind count as one change.
fn note_kind(note: &str) -> String {
    note.chars()
        .filter(|c| !c.is_ascii_digit() && *c != '.')
        .collect()
}

/// Polls the agent's `offloaded`/`local` totals, the platform's live instances and the
/// controller's decision every window until `polling` is cleared. A poll that fails is skipped.
/// Returns the samples and the controller's decisions that changed (with the seconds of the run).
async fn sample_counters(
    admin: Admin,
    platform: HttpClient,
    start: Instant,
    polling: Arc<AtomicBool>,
) -> (Vec<CounterSample>, Vec<Value>) {
    let mut samples = vec![];
    let mut notes: Vec<Value> = vec![];
    let mut last_kind = String::new();
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while polling.load(Ordering::Relaxed) {
        tick.tick().await;
        let (agent, local, controller) = tokio::join!(
            admin.stats(),
            platform.get_json("/local/stats"),
            admin.controller()
        );
        let at_s = start.elapsed().as_secs_f64();
        if let Some(note) = controller.ok().as_ref().and_then(controller_note) {
            let kind = note_kind(&note);
            if kind != last_kind && notes.len() < MAX_CONTROLLER_NOTES {
                notes.push(json!({ "at_s": at_s, "note": note }));
                last_kind = kind;
            }
        }
        let Ok(agent) = agent else { continue };
        let platform = |key: &str| local.as_ref().ok()?["functions"][FUNCTION][key].as_u64();
        samples.push(CounterSample {
            at_s,
            offloaded: agent["totals"]["offloaded"].as_u64().unwrap_or(0),
            local: agent["totals"]["local"].as_u64().unwrap_or(0),
            instances: platform("instances"),
            peak_concurrency: platform("recent_peak_concurrency"),
        });
    }
    (samples, notes)
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

/// Every scenario on one plot: p99 latency (log scale) and completed rate, the SLO and the burst.
fn plot_comparison(
    path: &Path,
    reports: &[ScenarioReport],
    load: &Load,
    title: &str,
) -> Result<()> {
    let first = &reports[0];
    // The experiment's one SLO (the first scenario's).
    let slo_ms = first.summary.slo_ms;
    let runs = reports
        .iter()
        .map(|r| Run {
            name: r.scenario.name().into(),
            color: r.scenario.color(),
            latency: r
                .windows
                .iter()
                .filter_map(|w| w.p99_ms.map(|p| (w.start_s, p)))
                .collect(),
            completed: plot::rolling_mean(
                &r.windows
                    .iter()
                    .map(|w| (w.start_s, w.completed_rps))
                    .collect::<Vec<_>>(),
                SMOOTH_WINDOWS,
            ),
        })
        .collect();
    plot::comparison(
        path,
        &Comparison {
            title: title.into(),
            latency_label: format!("p99 latency per {} ms", WINDOW.as_millis()),
            runs,
            rate_label: format!(
                "requests/s (mean of {} ms)",
                WINDOW.as_millis() * SMOOTH_WINDOWS as u128
            ),
            sent: plot::rolling_mean(
                &first
                    .windows
                    .iter()
                    .map(|w| (w.start_s, w.sent_rps))
                    .collect::<Vec<_>>(),
                SMOOTH_WINDOWS,
            ),
            slo_ms,
            span: (first.burst.0.as_secs_f64(), first.burst.1.as_secs_f64()),
            span_label: format!(
                "burst: {:.0} req/s (baseline {:.0})",
                load.burst_rps, load.base_rps
            ),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flags: &[&str]) -> BurstArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            burst: BurstArgs,
        }
        <Cli as clap::Parser>::parse_from(std::iter::once("burst").chain(flags.iter().copied()))
            .burst
    }

    #[test]
    fn flags_fix_the_load_or_leave_it_to_the_measurement() {
        let capacity = Capacity {
            local_rps: 60.0,
            platform_rps: 50.0,
            offload_cost: 0.2,
        };
        assert!(matches!(
            args(&[]).load_source().unwrap(),
            LoadSource::Measured
        ));
        assert!(matches!(
            args(&["--base-rps", "10", "--burst-x", "10"])
                .load_source()
                .unwrap(),
            LoadSource::Fixed(Load {
                base_rps: 10.0,
                burst_rps: 100.0
            })
        ));
        // One rate fixed: the other from the capacities.
        let only_burst = args(&["--burst-rps", "70"]);
        assert!(matches!(
            only_burst.load_source().unwrap(),
            LoadSource::Measured
        ));
        assert_eq!(
            only_burst.sized_load(&capacity),
            Load {
                base_rps: 18.0,
                burst_rps: 70.0
            }
        );
        // max(60 + 0.4 × 50 × (1 - 0.2), 1.2 × 60) = 76.
        let only_base = args(&["--base-rps", "5"]);
        assert_eq!(
            only_base.sized_load(&capacity),
            Load {
                base_rps: 5.0,
                burst_rps: 76.0
            }
        );
        assert!(args(&["--capacity-s", "0"]).load_source().is_err());
    }

    #[test]
    fn controller_notes_take_whatever_strings_the_agent_serves() {
        let today = json!({"mode": "auto", "last_decision": {"phase": "offload", "ratio": 0.5, "why": "saturated (x): ratio raised to 0.500"}});
        assert_eq!(
            controller_note(&today).unwrap(),
            "offload, ratio 0.50: saturated (x): ratio raised to 0.500"
        );
        let richer = json!({"decision": "hold", "reason": "offloads slower than local", "last_decision": "x"});
        assert_eq!(
            controller_note(&richer).unwrap(),
            "decision: hold; reason: offloads slower than local; x"
        );
        let guarded = json!({"last_decision": {"phase": "offload", "ratio": 0.25, "why": "w"}, "guard": {"action": "back_off", "why": "offloads do worse"}});
        assert_eq!(
            controller_note(&guarded).unwrap(),
            "offload, ratio 0.25: w; guard back_off: offloads do worse"
        );
        assert_eq!(controller_note(&json!({"mode": "manual"})), None);
        assert_eq!(
            note_kind("ratio 0.25: need 12.5"),
            note_kind("ratio 0.50: need 3.0")
        );
    }
}
