//! `semifaas bench capacity`: what a request costs the server when no agent is attached, when
//! the agent is attached at ratio 0, and when every request is offloaded (ratio 1). The server
//! runs pinned to CPU 0, the platform, its instances and the load generator on CPU 1; a closed
//! loop of keep-alive connections sends each endpoint's requests, and the server's CPU time
//! (`/proc/PID/stat`) over the measured requests gives the CPU per request. Per endpoint:
//! throughput, CPU per request, p50/p99, local ÷ offloaded CPU, and what the agent costs at
//! ratio 0. Every response is checked to have run where its mode says.

use std::{path::Path, time::Duration};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::json;

use crate::{
    check_costs::Usage,
    faults::sample::Sample as WriteSample,
    output::{Align, Table},
};
use semifaas_cli::{
    harness::{
        pin_all_threads, Admin, Browser, Dist, FaasLocalProcess, HttpClient, Request,
        ServiceOptions, ServiceProcess, PLACEMENT_HEADER,
    },
    loadgen::{run_closed_loop_count, RequestRecord},
    plot_bars::{self, BarSeries},
    timeline,
};

/// The server's CPU, and the CPU of the platform, its instances and the load generator.
const SERVER_CPUS: &str = "0";
const PLATFORM_CPUS: &str = "1";
/// A request without an answer this long fails the benchmark.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Local runs of a handler before ratio 1, so its closure is known when offloading starts.
const LOCAL_RUNS_BEFORE_OFFLOADING: usize = 5;

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The sample service measured.
    #[arg(long, value_enum, default_value = "image")]
    sample: CapacitySample,
    /// Keep-alive connections of the closed loop; each sends its next request when the previous
    /// answer arrived.
    #[arg(long, default_value_t = 2, value_parser = at_least_one)]
    connections: usize,
    /// Requests per endpoint and mode sent before measuring (not counted), at least; the warm-up
    /// then goes on in rounds until the server's CPU per request is steady (`--steady-pct`).
    #[arg(long, default_value_t = 200)]
    warmup: usize,
    /// Measured requests per endpoint and mode, at least: more are sent until the measurement has
    /// lasted `--min-seconds` (CPU time is read in 10 ms clock ticks).
    #[arg(long, default_value_t = 300, value_parser = at_least_one)]
    requests: usize,
    /// The shortest measurement, and the length of each warm-up round, in seconds.
    #[arg(long, default_value_t = 3.0, value_parser = positive_seconds)]
    min_seconds: f64,
    /// The warm-up ends when two consecutive rounds' server CPU per request differ by less than
    /// this percentage (the JIT has compiled what the requests run); 0 warms up `--warmup` only.
    #[arg(long, default_value_t = 5.0)]
    steady_pct: f64,
    /// Rounds: every mode measured this many times, each on a fresh JVM, the modes taking turns. A
    /// JVM's steady state differs from one start to the next (by up to a quarter on the blog), so
    /// the tables show the means and the JSON each round.
    #[arg(long, default_value_t = 1, value_parser = at_least_one)]
    repeat: usize,
    /// The longest warm-up in seconds; a warm-up that ends here is reported as not steady.
    #[arg(long, default_value_t = 90.0, value_parser = positive_seconds)]
    max_warmup_seconds: f64,
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() => Ok(s),
        Ok(_) => Err("must be a positive number of seconds".into()),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CapacitySample {
    /// image-service: `/health` and two thumbnail grids.
    Image,
    /// The blog, logged in as alice: a post as JSON, its page and the corpus statistics.
    Blog,
}

impl CapacitySample {
    fn jar(self) -> &'static str {
        match self {
            CapacitySample::Image => "image-service",
            CapacitySample::Blog => "blog",
        }
    }

    /// The report's and the plot's file name, without extension.
    fn stem(self) -> &'static str {
        match self {
            CapacitySample::Image => "capacity",
            CapacitySample::Blog => "capacity-blog",
        }
    }

    /// `(label, path)` of each measured endpoint.
    fn endpoints(self) -> &'static [(&'static str, &'static str)] {
        match self {
            CapacitySample::Image => &[
                ("/health", "/health"),
                ("thumbnails 4x32", "/images/thumbnails/4?seed=1&size=32"),
                ("thumbnails 6x64", "/images/thumbnails/6?seed=1&size=64"),
            ],
            // The blog seeds its posts at start: a post (its markdown rendering is cached), its
            // page, and the corpus statistics, which render every post afresh (its CPU-heavy read).
            CapacitySample::Blog => &[
                ("post JSON", "/api/posts/1"),
                ("post page", "/posts/1"),
                ("corpus stats", "/api/stats"),
            ],
        }
    }

    /// The client the load sends with: the blog's in alice's logged-in session.
    async fn client(self, service: &ServiceProcess) -> Result<HttpClient> {
        match self {
            CapacitySample::Image => Ok(HttpClient::new(service.port)),
            CapacitySample::Blog => {
                let session = WriteSample::Blog
                    .log_in(&mut Browser::new(service.port))
                    .await?;
                HttpClient::with_cookie(service.port, &session.cookie)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    NoAgent,
    Ratio0,
    Ratio1,
}

const MODES: [Mode; 3] = [Mode::NoAgent, Mode::Ratio0, Mode::Ratio1];

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::NoAgent => "no-agent",
            Mode::Ratio0 => "ratio-0",
            Mode::Ratio1 => "ratio-1",
        }
    }

    /// The placement header every response must carry. Only ratio 1 turns it on: ratio 0 is
    /// measured as operators run the agent (the header is opt-in, and its reflection per request was
    /// half the agent's cost on a trivial request), its runs checked by the agent's `/stats` instead.
    fn placement(self) -> Option<&'static str> {
        match self {
            Mode::NoAgent | Mode::Ratio0 => None,
            Mode::Ratio1 => Some("offloaded"),
        }
    }

    /// The agent's counts over `sent` requests agree with the mode.
    fn check_counts(self, sent: usize, usage: &Usage) -> std::result::Result<(), String> {
        match self {
            Mode::Ratio1 => usage.all_offloaded(sent as u64),
            Mode::Ratio0 => usage.all_local(sent as u64),
            Mode::NoAgent => Ok(()),
        }
    }
}

/// One endpoint in one mode.
#[derive(Debug, Clone, Copy, Serialize)]
struct Measured {
    requests_per_s: f64,
    cpu_ms_per_request: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Offloads the agent's `/stats` counted over warm-up and measurement (none without agent).
    offloads: Option<u64>,
    /// Calls back to the server (`invoke` and `lazy_data` fallbacks) per offload, over warm-up
    /// and measurement (none when nothing was offloaded).
    remote_calls_per_offload: Option<f64>,
    /// Requests sent to warm up (at least `--warmup`), and whether the CPU per request was steady
    /// (`--steady-pct`) when the warm-up ended.
    warmup_requests: usize,
    steady: bool,
    /// Requests measured (at least `--requests`).
    measured_requests: usize,
    /// Share of the server's CPU that other processes of the machine used while it was measured
    /// (the pinning keeps the server on its CPU, not others off it): throughput and latency
    /// are only comparable between runs where this is low.
    others_on_server_cpu_pct: f64,
}

pub async fn run(args: &CapacityArgs, out: &Path) -> Result<()> {
    let own_cpus = own_cpus()?;
    for cpu in [SERVER_CPUS, PLATFORM_CPUS] {
        if !own_cpus.split(',').any(|c| c == cpu) {
            bail!("bench capacity pins the server to CPU {SERVER_CPUS} and the platform to CPU {PLATFORM_CPUS}, but this process may only run on CPUs {own_cpus}");
        }
    }
    let dist = Dist::locate()?;
    let logs = out.join("logs").join(args.sample.stem());
    let connections = args.connections.to_string();
    // As many instances as connections, all started at once: no invocation is throttled to the
    // server while instances start.
    let platform_args = ["--concurrency", &connections, "--max-starting", "0"];
    let platform = FaasLocalProcess::start_pinned(
        &dist,
        "semifaas",
        &platform_args,
        Some(PLATFORM_CPUS),
        &logs,
    )
    .await?;
    let mut rounds = vec![];
    for round in 1..=args.repeat {
        if args.repeat > 1 {
            println!("round {round} of {}", args.repeat);
        }
        let mut results = vec![];
        for mode in MODES {
            let measured = measure_mode(args, mode, &dist, &platform, &logs, &own_cpus).await?;
            results.push(measured);
        }
        rounds.push(results);
    }
    let results = mean_of(&rounds);
    let mut report = report(args, &results);
    report["rounds"] = json!(rounds);
    print_tables(args, &results);
    let stem = args.sample.stem();
    let json_path = out.join(format!("{stem}.json"));
    std::fs::write(&json_path, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json_path.display()))?;
    plot(args, out, &results)?;
    println!(
        "wrote {0}/{stem}.json, {0}/{stem}.png and {0}/{stem}-throughput.png",
        out.display()
    );
    Ok(())
}

/// A fresh service in `mode`, every endpoint measured on it.
async fn measure_mode(
    args: &CapacityArgs,
    mode: Mode,
    dist: &Dist,
    platform: &FaasLocalProcess,
    logs: &Path,
    own_cpus: &str,
) -> Result<Vec<Measured>> {
    let mut options = ServiceOptions::for_platform(args.sample.jar(), platform);
    options.cpu_affinity = Some(SERVER_CPUS.into());
    options.agent = mode != Mode::NoAgent;
    // Every handler is a candidate from its first run and each response says where it ran;
    // do-no-harm off, or ratio 1 would keep some requests local while the one CPU is saturated.
    options.settings.extend(
        [
            ("min-cpu-ms", "0"),
            ("profile.samples", "0"),
            ("do-no-harm", "false"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    if mode.placement().is_some() {
        options
            .settings
            .push(("placement-header".into(), PLACEMENT_HEADER.into()));
    }
    let service = ServiceProcess::start(dist, &options, logs).await?;
    let http = args.sample.client(&service).await?;
    let admin = (mode != Mode::NoAgent).then(|| Admin::new(service.admin_port));
    // The load generator shares the platform's CPU, so the server's CPU is the server's alone.
    pin_all_threads(std::process::id(), PLATFORM_CPUS)?;
    let measured = measure_endpoints(args, mode, &http, admin.as_ref(), &service, logs).await;
    pin_all_threads(std::process::id(), own_cpus)?;
    measured
}

async fn measure_endpoints(
    args: &CapacityArgs,
    mode: Mode,
    http: &HttpClient,
    admin: Option<&Admin>,
    service: &ServiceProcess,
    logs: &Path,
) -> Result<Vec<Measured>> {
    let mut measured = vec![];
    for &(label, path) in args.sample.endpoints() {
        let endpoint = Endpoint {
            label,
            request: Request::get(path),
            mode,
            logs,
        };
        let m = endpoint.measure(args, http, admin, service).await?;
        println!(
            "{:<9} {label:<16} {:>8.1} req/s  CPU {:>6.2} ms/request  p50 {:>6.2} ms  p99 {:>6.2} ms  (CPU {SERVER_CPUS} {:.0} % used by other processes)",
            mode.name(),
            m.requests_per_s,
            m.cpu_ms_per_request,
            m.p50_ms,
            m.p99_ms,
            m.others_on_server_cpu_pct
        );
        if let Some(calls) = m.remote_calls_per_offload {
            println!(
                "{:<9} {label:<16} {calls:.1} calls back to the server per offload",
                ""
            );
        }
        measured.push(m);
    }
    Ok(measured)
}

struct Endpoint<'a> {
    label: &'a str,
    request: Request,
    mode: Mode,
    logs: &'a Path,
}

impl Endpoint<'_> {
    async fn measure(
        &self,
        args: &CapacityArgs,
        http: &HttpClient,
        admin: Option<&Admin>,
        service: &ServiceProcess,
    ) -> Result<Measured> {
        if let (Mode::Ratio1, Some(admin)) = (self.mode, admin) {
            admin.set_ratio(0.0).await?;
            let (records, _) = self.load(http, 1, LOCAL_RUNS_BEFORE_OFFLOADING).await;
            self.check(&records, "local runs before offloading", Some("local"))?;
            admin.set_ratio(1.0).await?;
        }
        let before = match admin {
            Some(admin) => Some(admin.stats().await?),
            None => None,
        };
        let (warmup_requests, steady) = self.warm_up(args, http, service).await?;
        let (cpu_before, busy_before) = (service.cpu_seconds()?, cpu_busy_seconds(SERVER_CPUS)?);
        let (records, seconds) = self
            .load_for(http, args.connections, args.requests, args.min_seconds)
            .await;
        let cpu_seconds = service.cpu_seconds()? - cpu_before;
        let others_seconds = (cpu_busy_seconds(SERVER_CPUS)? - busy_before - cpu_seconds).max(0.0);
        self.check(&records, "measurement", self.mode.placement())?;
        let sent = warmup_requests + records.len();
        let usage = match (admin, before) {
            (Some(admin), Some(before)) => {
                let usage = Usage::between(&before, &admin.stats().await?);
                if let Err(mismatch) = self.mode.check_counts(sent, &usage) {
                    bail!(
                        "{} {}: {mismatch} (logs in {})",
                        self.mode.name(),
                        self.label,
                        self.logs.display()
                    );
                }
                Some(usage)
            }
            _ => None,
        };
        let latencies = timeline::sorted_latencies_ms(records.iter());
        let percentile = |q| timeline::percentile(&latencies, q).unwrap_or(f64::NAN);
        Ok(Measured {
            requests_per_s: records.len() as f64 / seconds.max(1e-9),
            cpu_ms_per_request: cpu_seconds * 1000.0 / records.len() as f64,
            others_on_server_cpu_pct: others_seconds / seconds.max(1e-9) * 100.0,
            warmup_requests,
            steady,
            measured_requests: records.len(),
            p50_ms: percentile(0.5),
            p99_ms: percentile(0.99),
            offloads: usage.as_ref().map(|u| u.offloads),
            remote_calls_per_offload: usage
                .filter(|u| u.offloads > 0)
                .map(|u| u.remote_calls as f64 / u.offloads as f64),
        })
    }

    /// Sends `--warmup` requests, then rounds of at least `--min-seconds` until two consecutive
    /// rounds' CPU per request are within `--steady-pct` of each other, or `--max-warmup-seconds`
    /// passed. Short runs leave the JIT compiling: the first table, measured after 200
    /// requests, put an offload's server CPU at twice its steady value. Returns the requests sent
    /// and whether the CPU per request was steady.
    async fn warm_up(
        &self,
        args: &CapacityArgs,
        http: &HttpClient,
        service: &ServiceProcess,
    ) -> Result<(usize, bool)> {
        let start = std::time::Instant::now();
        let (warm, _) = self.load(http, args.connections, args.warmup).await;
        self.check(&warm, "warm-up", self.mode.placement())?;
        let mut sent = warm.len();
        if args.steady_pct <= 0.0 {
            return Ok((sent, false));
        }
        let mut previous: Option<f64> = None;
        while start.elapsed().as_secs_f64() < args.max_warmup_seconds {
            let cpu_before = service.cpu_seconds()?;
            let (round, _) = self
                .load_for(http, args.connections, args.requests, args.min_seconds)
                .await;
            self.check(&round, "warm-up", self.mode.placement())?;
            sent += round.len();
            let cpu = (service.cpu_seconds()? - cpu_before) / round.len() as f64;
            if let Some(before) = previous {
                if (cpu - before).abs() <= before * args.steady_pct / 100.0 {
                    return Ok((sent, true));
                }
            }
            previous = Some(cpu);
        }
        println!(
            "{} {}: the server's CPU per request was not steady within {} % after {:.0} s of warm-up; measuring anyway",
            self.mode.name(),
            self.label,
            args.steady_pct,
            args.max_warmup_seconds
        );
        Ok((sent, false))
    }

    /// Batches of `count` requests until at least `min_seconds` have passed.
    async fn load_for(
        &self,
        http: &HttpClient,
        connections: usize,
        count: usize,
        min_seconds: f64,
    ) -> (Vec<RequestRecord>, f64) {
        let (mut records, mut seconds) = self.load(http, connections, count).await;
        while seconds < min_seconds {
            let (more, more_seconds) = self.load(http, connections, count).await;
            records.extend(more);
            seconds += more_seconds;
        }
        (records, seconds)
    }

    async fn load(
        &self,
        http: &HttpClient,
        connections: usize,
        count: usize,
    ) -> (Vec<RequestRecord>, f64) {
        run_closed_loop_count(http, connections, count, REQUEST_TIMEOUT, &self.request).await
    }

    /// Every response a 200 that ran where `expected` says (no placement header: no agent).
    fn check(&self, records: &[RequestRecord], phase: &str, expected: Option<&str>) -> Result<()> {
        let what = format!(
            "{} {} ({}), {phase}",
            self.mode.name(),
            self.label,
            self.request.path
        );
        for (i, record) in records.iter().enumerate() {
            match record.status {
                Some(200) => {}
                Some(status) => bail!(
                    "{what}: request {i} answered HTTP {status}, not 200 (logs in {})",
                    self.logs.display()
                ),
                None => bail!(
                    "{what}: request {i} got no answer within {REQUEST_TIMEOUT:?} (logs in {})",
                    self.logs.display()
                ),
            }
            if record.ran.as_deref() != expected {
                let placed = record.ran.as_deref().unwrap_or("(no placement header)");
                bail!(
                    "{what}: request {i} ran {placed}, not {}: the measurement would not be what it says (logs in {})",
                    expected.unwrap_or("without a placement header"),
                    self.logs.display()
                );
            }
        }
        Ok(())
    }
}

/// The mean of each figure over the rounds (`rounds[round][mode][endpoint]`); request counts
/// are summed, and a cell is steady when it was in every round.
fn mean_of(rounds: &[Vec<Vec<Measured>>]) -> Vec<Vec<Measured>> {
    let n = rounds.len() as f64;
    let first = &rounds[0];
    (0..first.len())
        .map(|m| {
            (0..first[m].len())
                .map(|e| {
                    let cells: Vec<&Measured> = rounds.iter().map(|r| &r[m][e]).collect();
                    let mean =
                        |f: fn(&Measured) -> f64| cells.iter().map(|c| f(c)).sum::<f64>() / n;
                    let sum = |f: fn(&Measured) -> usize| cells.iter().map(|c| f(c)).sum::<usize>();
                    let offloads: Option<u64> = cells.iter().map(|c| c.offloads).sum();
                    let calls: Option<f64> = cells.iter().map(|c| c.remote_calls_per_offload).sum();
                    Measured {
                        requests_per_s: mean(|c| c.requests_per_s),
                        cpu_ms_per_request: mean(|c| c.cpu_ms_per_request),
                        p50_ms: mean(|c| c.p50_ms),
                        p99_ms: mean(|c| c.p99_ms),
                        offloads,
                        remote_calls_per_offload: calls.map(|c| c / n),
                        others_on_server_cpu_pct: mean(|c| c.others_on_server_cpu_pct),
                        warmup_requests: sum(|c| c.warmup_requests),
                        steady: cells.iter().all(|c| c.steady),
                        measured_requests: sum(|c| c.measured_requests),
                    }
                })
                .collect()
        })
        .collect()
}

/// `results[mode][endpoint]` for endpoint `e`.
fn of(results: &[Vec<Measured>], mode: Mode, e: usize) -> Measured {
    let index = MODES.iter().position(|&m| m == mode).unwrap_or(0);
    results[index][e]
}

/// What the modes compare to, for one endpoint.
#[derive(Debug, Clone, Copy, Serialize)]
struct Comparison {
    /// CPU per request at ratio 0 ÷ at ratio 1.
    local_over_offloaded: f64,
    /// CPU per request at ratio 0 − without the agent, in ms and in % of the latter.
    agent_cost_ms: f64,
    agent_cost_pct: f64,
    /// Throughput at ratio 0 against without the agent, in %.
    agent_throughput_change_pct: f64,
}

fn compare(results: &[Vec<Measured>], e: usize) -> Comparison {
    let (none, local, offloaded) = (
        of(results, Mode::NoAgent, e),
        of(results, Mode::Ratio0, e),
        of(results, Mode::Ratio1, e),
    );
    let agent_cost_ms = local.cpu_ms_per_request - none.cpu_ms_per_request;
    Comparison {
        local_over_offloaded: local.cpu_ms_per_request / offloaded.cpu_ms_per_request,
        agent_cost_ms,
        agent_cost_pct: agent_cost_ms / none.cpu_ms_per_request * 100.0,
        agent_throughput_change_pct: (local.requests_per_s / none.requests_per_s - 1.0) * 100.0,
    }
}

fn report(args: &CapacityArgs, results: &[Vec<Measured>]) -> serde_json::Value {
    let endpoints: Vec<_> = args
        .sample
        .endpoints()
        .iter()
        .enumerate()
        .map(|(e, (label, path))| {
            let modes: serde_json::Map<_, _> = MODES
                .iter()
                .map(|&m| (m.name().to_owned(), json!(of(results, m, e))))
                .collect();
            json!({ "name": label, "path": path, "modes": modes, "comparison": compare(results, e) })
        })
        .collect();
    json!({
        "bench": "capacity",
        "sample": args.sample.jar(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "unix_time": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "server_cpus": SERVER_CPUS,
        "platform_cpus": PLATFORM_CPUS,
        "connections": args.connections,
        "warmup_requests_min": args.warmup,
        "measured_requests_min": args.requests,
        "min_seconds": args.min_seconds,
        "steady_pct": args.steady_pct,
        "repeat": args.repeat,
        "endpoints": endpoints,
    })
}

fn signed_pct(value: f64) -> String {
    format!("{value:+.0} %")
}

fn print_tables(args: &CapacityArgs, results: &[Vec<Measured>]) {
    // The request's name left, numbers right (a table ignores alignments beyond its columns).
    let right = [
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ];
    let mut cpu = Table::new(
        &[
            "request",
            "server CPU, no agent",
            "agent, ratio 0",
            "agent, ratio 1 (all offloaded)",
            "local ÷ offloaded",
            "calls back per offload",
        ],
        &right,
    );
    let mut rate = Table::new(
        &[
            "request",
            "req/s, no agent",
            "ratio 0",
            "ratio 1",
            "CPU 0 used by other processes",
        ],
        &right,
    );
    let mut latency = Table::new(
        &["request", "p50 / p99 ms, no agent", "ratio 0", "ratio 1"],
        &right,
    );
    for (e, (label, _)) in args.sample.endpoints().iter().enumerate() {
        let [none, local, offloaded] = MODES.map(|m| of(results, m, e));
        let c = compare(results, e);
        cpu.row(vec![
            label.to_string(),
            format!("{:.2} ms", none.cpu_ms_per_request),
            format!(
                "{:.2} ms ({})",
                local.cpu_ms_per_request,
                signed_pct(c.agent_cost_pct)
            ),
            format!("{:.2} ms", offloaded.cpu_ms_per_request),
            format!("{:.1}×", c.local_over_offloaded),
            offloaded
                .remote_calls_per_offload
                .map_or("-".into(), |calls| format!("{calls:.1}")),
        ]);
        rate.row(vec![
            label.to_string(),
            format!("{:.1}", none.requests_per_s),
            format!(
                "{:.1} ({})",
                local.requests_per_s,
                signed_pct(c.agent_throughput_change_pct)
            ),
            format!("{:.1}", offloaded.requests_per_s),
            format!(
                "{:.0} / {:.0} / {:.0} %",
                none.others_on_server_cpu_pct,
                local.others_on_server_cpu_pct,
                offloaded.others_on_server_cpu_pct
            ),
        ]);
        latency.row(
            std::iter::once(label.to_string())
                .chain(
                    [none, local, offloaded].map(|m| format!("{:.2} / {:.2}", m.p50_ms, m.p99_ms)),
                )
                .collect(),
        );
    }
    println!(
        "\n{}: server on CPU {SERVER_CPUS}, platform on CPU {PLATFORM_CPUS}, {} keep-alive connection(s); means of {} round(s), each mode on a fresh JVM; per endpoint and mode at least {} measured requests over at least {} s, after a warm-up until the CPU per request was steady within {} % (warm-up requests, measured requests, steady: in the JSON)\n",
        args.sample.jar(),
        args.connections,
        args.repeat,
        args.requests,
        args.min_seconds,
        args.steady_pct
    );
    print!("{}\n{}\n{}", cpu.render(), rate.render(), latency.render());
}

fn plot(args: &CapacityArgs, out: &Path, results: &[Vec<Measured>]) -> Result<()> {
    let groups: Vec<String> = args
        .sample
        .endpoints()
        .iter()
        .map(|(label, _)| label.to_string())
        .collect();
    let series = |value: fn(&Measured) -> f64| -> Vec<BarSeries> {
        MODES
            .iter()
            .enumerate()
            .map(|(m, mode)| BarSeries {
                name: mode.name().into(),
                values: results[m].iter().map(value).collect(),
            })
            .collect()
    };
    let stem = args.sample.stem();
    let sample = args.sample.jar();
    plot_bars::grouped_bars(
        &out.join(format!("{stem}.png")),
        &format!("{sample}: server CPU per request (server on one core)"),
        "server CPU per request (ms)",
        &groups,
        &series(|m| m.cpu_ms_per_request),
    )?;
    plot_bars::grouped_bars(
        &out.join(format!("{stem}-throughput.png")),
        &format!(
            "{sample}: throughput, {} keep-alive connection(s)",
            args.connections
        ),
        "requests/s",
        &groups,
        &series(|m| m.requests_per_s),
    )
}

/// Seconds CPU `cpu` has been busy so far, whoever ran on it (`/proc/stat`: all but idle and
/// iowait of user, nice, system, idle, iowait, irq, softirq, steal).
fn cpu_busy_seconds(cpu: &str) -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|line| line.split_whitespace().next() == Some(name.as_str()))
        .with_context(|| format!("/proc/stat has no {name} line"))?;
    let ticks = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse::<u64>)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("/proc/stat: {line:?}"))?;
    anyhow::ensure!(ticks.len() == 8, "/proc/stat: {line:?} is too short");
    let busy = ticks.iter().sum::<u64>() - ticks[3] - ticks[4];
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(busy as f64 / per_second.max(1.0))
}

/// The CPUs this process may run on, as a `taskset -c` list (`0,1`).
fn own_cpus() -> Result<String> {
    // SAFETY: an all-zero cpu_set_t is a valid empty set; the kernel fills at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
        bail!(
            "reading this process's CPU affinity: {}",
            std::io::Error::last_os_error()
        );
    }
    let cpus: Vec<String> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu is below CPU_SETSIZE, the set's size.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .map(|cpu| cpu.to_string())
        .collect();
    Ok(cpus.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: Option<u16>, ran: Option<&str>) -> RequestRecord {
        RequestRecord {
            scheduled: Duration::ZERO,
            sent: Duration::ZERO,
            done: Duration::from_millis(2),
            status,
            ran: ran.map(str::to_owned),
            location: None,
        }
    }

    fn endpoint(mode: Mode) -> Endpoint<'static> {
        Endpoint {
            label: "thumbnails 6x64",
            request: Request::get("/images/thumbnails/6?seed=1&size=64"),
            mode,
            logs: Path::new("bench-out/logs/capacity"),
        }
    }

    fn check(mode: Mode, records: &[RequestRecord]) -> Result<()> {
        endpoint(mode).check(records, "measurement", mode.placement())
    }

    #[test]
    fn responses_that_ran_where_their_mode_says_pass() {
        let offloaded = vec![record(Some(200), Some("offloaded")); 3];
        check(Mode::Ratio1, &offloaded).unwrap();
        check(Mode::Ratio0, &[record(Some(200), None)]).unwrap();
        check(Mode::NoAgent, &[record(Some(200), None)]).unwrap();
    }

    #[test]
    fn the_agents_counts_must_agree_with_the_mode() {
        let usage = |offloads, local_runs| Usage {
            offloads,
            local_runs,
            remote_calls: 0,
        };
        Mode::Ratio1.check_counts(300, &usage(300, 0)).unwrap();
        Mode::Ratio0.check_counts(300, &usage(0, 300)).unwrap();
        Mode::Ratio0.check_counts(300, &usage(0, 600)).unwrap();
        Mode::NoAgent.check_counts(300, &usage(0, 0)).unwrap();
        let err = Mode::Ratio1.check_counts(300, &usage(299, 1)).unwrap_err();
        assert!(err.contains("counted 299 offloads"), "{err}");
        let err = Mode::Ratio0.check_counts(300, &usage(1, 299)).unwrap_err();
        assert!(err.contains("1 offloads and 299 local runs"), "{err}");
        let uncounted = Mode::Ratio0.check_counts(300, &usage(0, 10)).unwrap_err();
        assert!(uncounted.contains("not 0 and at least 300"), "{uncounted}");
    }

    #[test]
    fn a_response_that_ran_elsewhere_fails_naming_it() {
        let records = [
            record(Some(200), Some("offloaded")),
            record(Some(200), Some("local")),
        ];
        let err = check(Mode::Ratio1, &records).unwrap_err().to_string();
        assert!(
            err.contains("ratio-1 thumbnails 6x64 (/images/thumbnails/6?seed=1&size=64)"),
            "{err}"
        );
        assert!(err.contains("request 1 ran local, not offloaded"), "{err}");

        let err = check(Mode::Ratio0, &[record(Some(200), Some("local"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ran local, not without a placement header"),
            "{err}"
        );

        let err = check(Mode::NoAgent, &[record(Some(200), Some("local"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ran local, not without a placement header"),
            "{err}"
        );
    }

    #[test]
    fn a_failed_or_unanswered_request_fails_the_bench() {
        let err = check(Mode::Ratio0, &[record(Some(500), Some("local"))])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("request 0 answered HTTP 500, not 200"),
            "{err}"
        );
        let err = check(Mode::Ratio0, &[record(None, None)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("request 0 got no answer within 30s"), "{err}");
    }

    #[test]
    fn a_cpus_busy_time_is_read_and_a_missing_cpu_is_named() {
        assert!(cpu_busy_seconds("0").unwrap() > 0.0);
        let err = cpu_busy_seconds("4096").unwrap_err().to_string();
        assert!(err.contains("no cpu4096 line"), "{err}");
    }

    #[test]
    fn rounds_are_averaged_and_their_requests_summed() {
        let cell = |cpu: f64, steady: bool| Measured {
            requests_per_s: 100.0 * cpu,
            cpu_ms_per_request: cpu,
            p50_ms: 1.0,
            p99_ms: 2.0,
            offloads: Some(10),
            remote_calls_per_offload: Some(cpu),
            others_on_server_cpu_pct: 0.0,
            warmup_requests: 200,
            steady,
            measured_requests: 300,
        };
        let rounds = vec![vec![vec![cell(1.0, true)]], vec![vec![cell(3.0, false)]]];
        let mean = &mean_of(&rounds)[0][0];
        assert_eq!(mean.cpu_ms_per_request, 2.0);
        assert_eq!(mean.requests_per_s, 200.0);
        assert_eq!(mean.remote_calls_per_offload, Some(2.0));
        assert_eq!(mean.offloads, Some(20));
        assert_eq!((mean.warmup_requests, mean.measured_requests), (400, 600));
        assert!(
            !mean.steady,
            "a cell steady in one round only is not steady"
        );
    }

    #[test]
    fn comparisons_are_taken_between_the_modes() {
        let measured = |requests_per_s, cpu_ms_per_request| Measured {
            requests_per_s,
            cpu_ms_per_request,
            p50_ms: 1.0,
            p99_ms: 2.0,
            offloads: None,
            remote_calls_per_offload: None,
            others_on_server_cpu_pct: 0.0,
            warmup_requests: 200,
            steady: true,
            measured_requests: 300,
        };
        // One endpoint: no agent, ratio 0, ratio 1.
        let results = vec![
            vec![measured(100.0, 20.0)],
            vec![measured(97.0, 22.0)],
            vec![measured(200.0, 4.0)],
        ];
        let c = compare(&results, 0);
        assert!((c.local_over_offloaded - 5.5).abs() < 1e-9, "{c:?}");
        assert!((c.agent_cost_ms - 2.0).abs() < 1e-9, "{c:?}");
        assert!((c.agent_cost_pct - 10.0).abs() < 1e-9, "{c:?}");
        assert!((c.agent_throughput_change_pct + 3.0).abs() < 1e-9, "{c:?}");
    }
}
