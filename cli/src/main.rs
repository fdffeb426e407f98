//! `semifaas`: operate semifaas. This file only parses and dispatches; each subcommand
//! lives in its own module.

mod admin_cmd;
mod bench;
mod burst;
mod capacity_bench;
mod check_costs;
mod control_cmd;
mod cost;
mod demo;
mod deploy;
mod fallback_bench;
mod faults;
mod local;
mod logging;
mod output;
mod shadow_bench;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "semifaas",
    version,
    about = "Operate semifaas: the local FaaS platform, the offload ratio, statistics, the demo and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bundled local FaaS platform (Lambda API) in the foreground.
    Local(local::LocalArgs),
    /// Print the offload ratio, or set it (globally or for one handler).
    Ratio(admin_cmd::RatioArgs),
    /// Print the agent's statistics.
    Stats(admin_cmd::StatsArgs),
    /// Run the demo: the image service with the agent, bursting into the local platform.
    Demo(demo::DemoArgs),
    /// Build the self-contained function package and deploy it to AWS Lambda or the bundled platform.
    Deploy(Box<deploy::DeployArgs>),
    /// Run a benchmark; writes JSON and a PNG plot.
    Bench(bench::BenchArgs),
    /// Fallbacks and latency per request of each handler of the blog and library samples, at ratio 0 and offloaded cold and warm; writes JSON and PNGs.
    BenchFallbacks(fallback_bench::FallbackBenchArgs),
    /// Start or warm N function instances with every closure installed.
    Prewarm(control_cmd::PrewarmArgs),
    /// Tell the burst controller new server capacity is ready: it holds the ratio at 0.
    CapacityReady(control_cmd::CapacityReadyArgs),
    /// Print the burst controller's mode, phase, ratio and last decision, or switch the mode.
    Mode(control_cmd::ModeArgs),
}

/// Errors are one `error: ...` line with their causes, never a backtrace (`RUST_BACKTRACE` is
/// for developers of semifaas, not its operators).
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init();
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
    };
    match cli.command {
        Command::Local(args) => local::run(args),
        Command::Ratio(args) => runtime()?.block_on(admin_cmd::ratio(args)),
        Command::Stats(args) => runtime()?.block_on(admin_cmd::stats(args)),
        Command::Demo(args) => runtime()?.block_on(demo::run(args)),
        Command::Deploy(args) => runtime()?.block_on(deploy::run(*args)),
        Command::Bench(args) => runtime()?.block_on(bench::run(args)),
        Command::BenchFallbacks(args) => runtime()?.block_on(fallback_bench::run(args)),
        Command::Prewarm(args) => runtime()?.block_on(control_cmd::prewarm(args)),
        Command::CapacityReady(args) => runtime()?.block_on(control_cmd::capacity_ready(args)),
        Command::Mode(args) => runtime()?.block_on(control_cmd::mode(args)),
    }
}
