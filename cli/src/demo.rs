//! `semifaas demo`: a short burst experiment. The image service (with the agent, in auto mode)
//! on CPU 0 takes a 10× step burst; the burst controller offloads into the bundled local
//! platform on CPU 1. Prints how latency held up, what ran where, and where the plot is.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::burst::{self, BurstArgs, Scenario};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds of baseline before and after the burst.
    #[arg(long, default_value_t = 3.0)]
    calm_s: f64,
    /// Seconds of burst.
    #[arg(long, default_value_t = 4.0)]
    burst_s: f64,
    /// For agents without the burst controller: offload this fixed share instead of auto mode.
    #[arg(long, value_name = "RATIO")]
    manual_ratio: Option<f64>,
    /// Where the report, the plot and the logs go.
    #[arg(long, default_value = "bench-out/demo")]
    out: PathBuf,
}

pub async fn run(args: DemoArgs) -> Result<()> {
    let burst = BurstArgs {
        scenario: Scenario::AutoCold,
        base_rps: 10.0,
        burst_x: 10.0,
        before_s: args.calm_s,
        burst_s: args.burst_s,
        after_s: args.calm_s,
        profile: None,
        path: "/images/thumbnails/6?seed={i}&size=64".into(),
        concurrency: 6,
        warm_instances: 0,
        slo_factor: 4.0,
        warmup: 150,
        manual_ratio: args.manual_ratio,
        server_threads: 16,
        skip_app_start: true,
    };
    println!(
        "semifaas demo: image service + agent (CPU 0) → faas-local (CPU 1); {:.0} s at {} req/s, {:.0} s at {}×, {:.0} s calm again",
        burst.before_s, burst.base_rps, burst.burst_s, burst.burst_x, burst.after_s
    );
    let document = burst::run(&burst, &args.out).await?;
    let scenario = &document["scenarios"][0];
    let totals = &scenario["agent_totals"];
    let platform = &scenario["platform"];
    println!();
    println!("report ({})", scenario["mode"].as_str().unwrap_or("?"));
    println!(
        "  ran             offloaded {}  local {}  failures {}",
        totals["offloaded"], totals["local"], totals["failures"]
    );
    println!(
        "  platform        cold starts {}  instances {}  throttles {}",
        platform["cold_starts"], platform["instances"], platform["throttles"]
    );
    println!(
        "  plot            {}",
        args.out.join("burst-auto-cold.png").display()
    );
    Ok(())
}
