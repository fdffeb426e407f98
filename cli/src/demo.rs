//! `semifaas demo`: a short burst experiment, side by side. The image service (with the agent)
//! on CPU 0 takes a step burst sized to this machine (more than the service alone completes,
//! less than it completes with the platform); once without offloading (`none`) and once with
//! the burst controller and prewarmed instances on the bundled local platform on CPU 1
//! (`auto-warm`, as an operator runs it). Prints one table, a verdict in plain words, and the
//! path of one plot with both.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::burst::{self, BurstArgs, Scenario};
use crate::cost::Prices;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Run only this scenario (default: none, then auto-warm).
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// The API the bundled platform speaks, and the agent with it.
    #[arg(long, value_enum, default_value = "lambda")]
    platform: semifaas_cli::harness::PlatformApi,
    /// Seconds of baseline before the burst.
    #[arg(long, default_value_t = 3.0)]
    calm_s: f64,
    /// Seconds of burst.
    #[arg(long, default_value_t = 5.0)]
    burst_s: f64,
    /// Seconds of baseline after the burst (to show the recovery).
    #[arg(long, default_value_t = 4.0)]
    after_s: f64,
    /// Seconds each capacity measurement counts.
    #[arg(long, default_value_t = 2.0)]
    capacity_s: f64,
    /// Fix the baseline instead of sizing it from the measured capacity (requests/s).
    #[arg(long)]
    base_rps: Option<f64>,
    /// Fix the burst instead of sizing it from the measured capacities (requests/s).
    #[arg(long)]
    burst_rps: Option<f64>,
    /// For agents without the burst controller: offload this fixed share instead of auto mode.
    #[arg(long, value_name = "RATIO")]
    manual_ratio: Option<f64>,
    /// Where the report, the plots and the logs go.
    #[arg(long, default_value = "bench-out/demo")]
    out: PathBuf,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let scenarios = match args.scenario {
        Some(one) => one.expand(),
        None => vec![Scenario::None, Scenario::AutoWarm],
    };
    let burst = BurstArgs {
        scenario: scenarios[0],
        platform: args.platform,
        base_rps: args.base_rps,
        burst_rps: args.burst_rps,
        burst_x: None,
        measure_capacity: true,
        capacity_s: args.capacity_s,
        before_s: args.calm_s,
        burst_s: args.burst_s,
        after_s: args.after_s,
        profile: None,
        path: "/images/thumbnails/6?seed={i}&size=64".into(),
        concurrency: 3,
        snapshots: false,
        snapshot_after: 10,
        warm_instances: 3,
        slo_factor: 4.0,
        // Past profiling (3 runs) and the shadow samples; the capacity loop warms the JIT further.
        warmup: 60,
        manual_ratio: args.manual_ratio,
        server_threads: 16,
        skip_app_start: true,
        prices: Prices::default(),
    };
    let names: Vec<&str> = scenarios.iter().map(|s| s.name()).collect();
    println!(
        "semifaas demo: image service + agent (CPU 0) → faas-local (CPU 1); {}; {:.0} s calm, {:.0} s burst, {:.0} s calm",
        names.join(" vs "),
        burst.before_s,
        burst.burst_s,
        burst.after_s
    );
    let experiment = burst::run_scenarios(&burst, &scenarios, &args.out, false).await?;
    println!();
    let load = &experiment.load;
    match &experiment.capacity {
        Some(c) => println!(
            "This machine: the service alone completes {:.0} req/s, the platform's warm instances {:.0} req/s, the two together {:.0} req/s (an offload costs the server {:.0} % of a local run). Load: {:.0} req/s, then a burst of {:.0} req/s.",
            c.local_rps, c.platform_rps, c.together_rps(), c.offload_cost * 100.0, load.base_rps, load.burst_rps
        ),
        None => println!(
            "Load: {:.0} req/s, then a burst of {:.0} req/s.",
            load.base_rps, load.burst_rps
        ),
    }
    println!();
    burst::print_table(&experiment.reports);
    println!();
    println!("{}", experiment.verdict.long);
    println!();
    for report in &experiment.reports {
        if burst::print_controller_notes(report, 3) {
            println!();
        }
    }
    let plot = experiment
        .comparison_plot
        .clone()
        .unwrap_or_else(|| experiment.reports[0].plot.clone());
    println!("plot: {}", plot.display());
    println!(
        "report: {} (per-scenario plots and logs beside it)",
        args.out.join("burst.json").display()
    );
    Ok(())
}
