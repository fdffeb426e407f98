//! `semifaas bench faults`: write requests under injected faults, reconciled with the database.
//!
//! Per fault a fresh stack (faas-local, the sample with the agent at ratio 1, every handler a
//! candidate), a logged-in user's open-loop load of the sample's write (the blog's
//! `POST /api/posts`, the library's add-book form `POST /books`), each request with a title of
//! its own, while the fault is injected again and again. Afterwards every response is compared
//! with the rows the database holds: a success must have written its row once (and, for the
//! library, redirected to it), a failure is counted as written-but-failed when its row exists
//! anyway. Lost, duplicated, misdirected and written-but-failed writes are correctness bugs (a
//! failure after a write is re-executed with the call log, docs/internals.md "Failed offloads"):
//! the command then fails, so it doubles as a check. What differs between the samples is in
//! [`sample`].

mod agent_counts;
mod inject;
mod reconcile;
mod report;
pub(crate) mod sample;
mod stack;

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;

use semifaas_cli::{
    harness::{Dist, HttpClient},
    loadgen::{run_open_loop, Phase, Profile},
    timeline,
};

use reconcile::{reconcile, Outcome};
use report::Row;
use sample::Sample;
use stack::Stack;

/// A request without a response after this is a transport error. Longer than the agent's
/// default offload timeout (30 s), so a failure is the service's answer, not the client giving
/// up on a request the server then completes (a fallback drop holds one for seconds).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(40);
/// After the load, before the database is read: offloads the clients stopped waiting for end.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// No fault: the baseline.
    None,
    /// `kill -9` of a busy function instance (its process group) every 2 s.
    InstanceKill,
    /// The functions reach the fallback server through a UDP relay that drops every datagram
    /// for 3 s of every 5 s.
    FallbackDrop,
    /// The platform's concurrency for the function lowered to 1 for 3 s of every 6 s.
    Throttle,
    /// The agent's offload timeout lowered to `--timeout-ms`, and every 4 s a busy instance
    /// stopped (SIGSTOP) past it, then continued: the offload times out mid-handler.
    Timeout,
    /// faas-local stopped (SIGTERM) and started again on its port every 10 s.
    PlatformRestart,
    /// faas-local and its instances SIGKILLed while an invocation runs, and started again,
    /// every 10 s.
    PlatformKill,
}

impl Fault {
    pub const ALL: [Fault; 7] = [
        Fault::None,
        Fault::InstanceKill,
        Fault::FallbackDrop,
        Fault::Throttle,
        Fault::Timeout,
        Fault::PlatformRestart,
        Fault::PlatformKill,
    ];

    /// Its name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::InstanceKill => "instance-kill",
            Fault::FallbackDrop => "fallback-drop",
            Fault::Throttle => "throttle",
            Fault::Timeout => "timeout",
            Fault::PlatformRestart => "platform-restart",
            Fault::PlatformKill => "platform-kill",
        }
    }

    /// What one injection is.
    fn injection(self) -> &'static str {
        match self {
            Fault::None => "nothing",
            Fault::InstanceKill => "a busy instance SIGKILLed",
            Fault::FallbackDrop => "a 3 s datagram blackout of the fallback relay",
            Fault::Throttle => "3 s at concurrency 1",
            Fault::Timeout => "a busy instance stopped past the agent's timeout, then continued",
            Fault::PlatformRestart => "faas-local SIGTERMed and restarted",
            Fault::PlatformKill => "faas-local and its instances SIGKILLed, then restarted",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct FaultsArgs {
    /// The sample service under load: its write, the user it logs in as, and how its answers
    /// are reconciled with its database.
    #[arg(long, value_enum, default_value = "blog")]
    pub sample: Sample,
    /// Write requests per fault.
    #[arg(long, default_value_t = 1500)]
    pub requests_per_fault: usize,
    /// Requests per second (open loop).
    #[arg(long, default_value_t = 25.0)]
    pub rate: f64,
    /// The faults to run, comma-separated, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Fault::ALL)]
    pub faults: Vec<Fault>,
    /// `timeout`: the agent's `semifaas.timeout-ms`. A warm write runs for milliseconds but a
    /// cold one for hundreds (JVM start, closure, classes), and an invocation that times out
    /// while cold retires its instance; so the timeout stays above a cold start and the stalls
    /// make offloads outlast it.
    #[arg(long, default_value_t = 1500)]
    pub timeout_ms: u64,
    /// Sequential writes before the load (instances started, JIT warm), not counted.
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
}

impl FaultsArgs {
    fn check(&self) -> Result<()> {
        anyhow::ensure!(
            self.rate.is_finite() && self.rate > 0.0,
            "--rate must be a positive number of requests/s"
        );
        anyhow::ensure!(
            self.requests_per_fault > 0,
            "--requests-per-fault must be at least 1"
        );
        anyhow::ensure!(self.timeout_ms > 0, "--timeout-ms must be at least 1");
        Ok(())
    }

    fn run_time(&self) -> Duration {
        Duration::from_secs_f64(self.requests_per_fault as f64 / self.rate)
    }
}

pub async fn run(args: &FaultsArgs, out: &Path) -> Result<()> {
    args.check()?;
    let dist = Dist::locate()?;
    println!(
        "{} write requests per fault at {} requests/s on the {} sample; faults: {}",
        args.requests_per_fault,
        args.rate,
        args.sample.name(),
        args.faults
            .iter()
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut rows = vec![];
    for &fault in &args.faults {
        let row = run_fault(&dist, args, fault, out)
            .await
            .with_context(|| format!("fault {}", fault.name()))?;
        println!("{}", report::HEADER);
        println!("{}", report::line(&row));
        rows.push(row);
    }
    println!("\n{}", report::HEADER);
    for row in &rows {
        println!("{}", report::line(row));
    }
    let config = json!({
        "sample": args.sample.name(),
        "requests_per_fault": args.requests_per_fault,
        "rate": args.rate,
        "timeout_ms": args.timeout_ms,
        "warmup": args.warmup,
        "platform_concurrency": stack::CONCURRENCY,
    });
    report::write(out, config, &rows)?;
    println!(
        "wrote {0}/faults.json and {0}/faults.png; logs in {0}/logs",
        out.display()
    );
    let problems = problems(&rows, args.sample);
    if !problems.is_empty() {
        bail!("{}", problems.join("; "));
    }
    Ok(())
}

/// What makes the run fail: a measurement that is not what it says, or incorrect writes.
fn problems(rows: &[Row], sample: Sample) -> Vec<String> {
    let noun = sample.row();
    let mut problems = vec![];
    for row in rows {
        let fault = row.fault;
        let r = &row.reconciled;
        if fault == "none" && row.agent.create_offloaded * 2 < r.requests as u64 {
            problems.push(format!(
                "none: only {} of {} writes were offloaded at ratio 1: the baseline is not the offloaded path (see the service log)",
                row.agent.create_offloaded, r.requests
            ));
        }
        if fault != "none" && row.injections == 0 {
            problems.push(format!(
                "{fault}: the fault was never injected ({}), so the row measures nothing",
                row.injected
            ));
        }
        if fault == "timeout" && row.injections > 0 && row.agent.timeouts == 0 {
            problems.push(
                "timeout: no offload timed out although instances were stalled past the agent's timeout"
                    .to_owned(),
            );
        }
        if r.lost > 0 {
            problems.push(format!(
                "{fault}: {} requests answered 2xx or 3xx wrote no {noun}",
                r.lost
            ));
        }
        if r.duplicated > 0 {
            problems.push(format!(
                "{fault}: {} requests wrote their {noun} more than once",
                r.duplicated
            ));
        }
        if r.misdirected > 0 {
            problems.push(format!(
                "{fault}: {} answers named another {noun} than the one their request wrote, or none",
                r.misdirected
            ));
        }
        if r.written_but_failed > 0 {
            problems.push(format!(
                "{fault}: {} requests failed although their {noun} was written (the client may \
                 retry and write twice)",
                r.written_but_failed
            ));
        }
    }
    problems
}

async fn run_fault(dist: &Dist, args: &FaultsArgs, fault: Fault, out: &Path) -> Result<Row> {
    let logs = out.join("logs").join(fault.name());
    let sample = args.sample;
    let mut stack = Stack::start(dist, fault, sample, args.timeout_ms, &logs).await?;
    stack.admin.set_ratio(1.0).await?;
    let client = HttpClient::with_cookie(stack.service.port, &stack.session.cookie)?;
    for i in 0..args.warmup {
        let title = format!("faults-{}-warmup-{i}", fault.name());
        let _ = client.send(&sample.write(&stack.session, i, &title)).await;
    }

    let schedule = Profile::new(vec![Phase {
        duration_s: args.run_time().as_secs_f64(),
        rps: args.rate,
    }])?
    .schedule();
    let titles: Vec<String> = (0..schedule.len())
        .map(|i| format!("faults-{}-{i}", fault.name()))
        .collect();
    let load = tokio::spawn({
        let (client, titles, session) = (client.clone(), titles.clone(), stack.session.clone());
        let first = args.warmup;
        async move {
            run_open_loop(&client, &schedule, Instant::now(), REQUEST_TIMEOUT, |i| {
                sample.write(&session, first + i, &titles[i])
            })
            .await
        }
    });
    let agent_timeout = Duration::from_millis(args.timeout_ms);
    let (injections, records) = inject::Injector::new(fault, agent_timeout)
        .while_running(&mut stack, args.run_time(), load)
        .await;
    let records = records.context("the load generator")?;
    anyhow::ensure!(
        records.len() == titles.len(),
        "{} of {} requests were recorded",
        records.len(),
        titles.len()
    );

    tokio::time::sleep(SETTLE).await;
    // The database is read on the server, whatever the platform is doing.
    stack.admin.set_ratio(0.0).await?;
    let agent =
        agent_counts::AgentCounts::from_stats(&stack.admin.stats().await?, sample.create_handler());
    let dump = HttpClient::new(stack.service.port)
        .get_json("/api/admin/dump")
        .await?;
    let written = sample.written(&dump)?;
    let outcomes: Vec<Outcome> = titles
        .into_iter()
        .zip(&records)
        .map(|(title, record)| Outcome {
            title,
            status: record.status,
            location: record.location.clone(),
        })
        .collect();
    let reconciled = reconcile(&outcomes, &written);

    let latencies = timeline::sorted_latencies_ms(records.iter());
    let percentile = |q| timeline::percentile(&latencies, q).unwrap_or(f64::NAN);
    let platform_throttles = match stack.platform() {
        Some(platform) => platform.stats().await?["functions"][stack::FUNCTION]["throttles"]
            .as_u64()
            .unwrap_or(0),
        None => 0,
    };
    Ok(Row {
        fault: fault.name(),
        injections,
        injected: fault.injection(),
        reconciled,
        agent,
        p50_ms: percentile(0.5),
        p99_ms: percentile(0.99),
        dropped_datagrams: stack.relay.as_ref().map_or(0, |r| r.dropped()),
        platform_throttles,
    })
}
