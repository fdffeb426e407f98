//! `semifaas local`: the bundled platform, speaking the Lambda API or OpenWhisk's, until SIGINT
//! or SIGTERM.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use faas_local::{
    CreatedFunctionLimits, FaasLocal, FaasLocalConfig, FunctionConfig, OpenWhiskConfig,
    PlatformApi, SnapshotConfig,
};
// The API the platform speaks: the one the harness and the benchmarks start it with.
use semifaas_cli::harness::PlatformApi as Api;
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;

#[derive(Args, Debug)]
pub struct LocalArgs {
    /// The API to serve.
    #[arg(long, value_enum, default_value_t = Api::Lambda)]
    api: Api,
    /// OpenWhisk credential UUID:KEY [default: a fresh random one, printed at start].
    #[arg(long, value_name = "UUID:KEY")]
    auth: Option<String>,
    /// Seconds a blocking OpenWhisk invoke waits before answering 202 with the activation id.
    #[arg(long, default_value_t = faas_local::DEFAULT_BLOCKING_WAIT.as_secs())]
    blocking_wait_secs: u64,
    /// Port of the API (0 picks a free one).
    #[arg(long, default_value_t = 9000)]
    port: u16,
    /// Address to listen on: a loopback address (the Lambda API has no authentication).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Function to deploy (repeatable); each runs CODE_DIR/bootstrap.
    #[arg(long = "function", value_name = "NAME", default_values_t = [String::from("semifaas")])]
    functions: Vec<String>,
    /// Directory holding `bootstrap` [default: the directory of this executable]; OpenWhisk
    /// actions created through the API run it too.
    #[arg(long, value_name = "DIR")]
    code_dir: Option<PathBuf>,
    /// Instances each function may run at once (also functions created through the API).
    #[arg(long, default_value_t = faas_local::DEFAULT_CONCURRENCY_LIMIT)]
    concurrency: usize,
    /// Function timeout in seconds.
    #[arg(long, default_value_t = faas_local::DEFAULT_TIMEOUT.as_secs())]
    timeout_secs: u64,
    /// Seconds an idle instance is kept warm (also of functions created through the API).
    #[arg(long, default_value_t = faas_local::DEFAULT_KEEP_ALIVE.as_secs())]
    keep_alive_secs: u64,
    /// Instances kept started and warm at all times (provisioned concurrency), never reaped.
    #[arg(long, default_value_t = 0)]
    provisioned: usize,
    /// Instances started at once for invocations; past it an invocation that needs a new
    /// instance is throttled (429) until one is up. Instances share this machine's CPUs, so the
    /// default is the CPUs this process may use; 0 = no limit.
    #[arg(long, default_value_t = default_max_starting())]
    max_starting: usize,
    /// Memory size reported to instances, in MB.
    #[arg(long, default_value_t = faas_local::DEFAULT_MEMORY_MB)]
    memory_mb: u32,
    /// Environment variable for the instances (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// Snapshot starts (Lambda API; root): once an instance has served --snapshot-after
    /// invocations it is checkpointed with CRIU, and later cold starts restore copies of it.
    #[arg(long)]
    snapshots: bool,
    /// The CRIU executable for --snapshots [default: $SEMIFAAS_CRIU, else `criu` beside this
    /// executable (`make criu` puts one in dist/), else `criu` on PATH].
    #[arg(long, value_name = "PATH", requires = "snapshots")]
    criu: Option<PathBuf>,
    /// Invocations an instance serves before it is checkpointed, with --snapshots.
    #[arg(long, value_name = "N", default_value_t = faas_local::DEFAULT_SNAPSHOT_AFTER)]
    snapshot_after: u64,
}

/// The CPUs this process may use (its affinity mask, e.g. under `taskset`).
fn default_max_starting() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn parse_env(spec: &str) -> Result<(String, String), String> {
    match spec.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {spec:?}")),
    }
}

pub fn run(args: LocalArgs) -> anyhow::Result<()> {
    let config = platform_config(args)?;
    tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")?
        .block_on(serve(config))
}

fn platform_config(args: LocalArgs) -> anyhow::Result<FaasLocalConfig> {
    let code_dir = match args.code_dir {
        Some(dir) => dir,
        None => executable_dir()?,
    };
    let env: BTreeMap<_, _> = args.env.into_iter().collect();
    let mut config = FaasLocalConfig::new(SocketAddr::new(args.host, args.port));
    config.created_functions = CreatedFunctionLimits {
        concurrency_limit: args.concurrency,
        keep_alive: Duration::from_secs(args.keep_alive_secs),
    };
    config.functions = args
        .functions
        .into_iter()
        .map(|name| {
            let mut function = FunctionConfig::new(name, &code_dir);
            function.concurrency_limit = args.concurrency;
            function.timeout = Duration::from_secs(args.timeout_secs);
            function.keep_alive = Duration::from_secs(args.keep_alive_secs);
            function.provisioned = args.provisioned;
            function.max_starting = args.max_starting;
            function.memory_mb = args.memory_mb;
            function.env = env.clone();
            function
        })
        .collect();
    if args.api == Api::Openwhisk {
        let mut openwhisk = OpenWhiskConfig::new(code_dir);
        openwhisk.auth = args.auth;
        openwhisk.blocking_wait = Duration::from_secs(args.blocking_wait_secs);
        config.api = PlatformApi::OpenWhisk(openwhisk);
    } else if args.auth.is_some() {
        anyhow::bail!("--auth is the OpenWhisk API's credential: use it with --api openwhisk");
    }
    if args.snapshots {
        if args.snapshot_after == 0 {
            anyhow::bail!("--snapshot-after 0: an instance must serve at least one invocation before its checkpoint");
        }
        config.snapshots = Some(SnapshotConfig {
            criu: args
                .criu
                .or_else(|| std::env::var_os("SEMIFAAS_CRIU").map(PathBuf::from))
                .or_else(|| {
                    let beside = executable_dir().ok()?.join("criu");
                    beside.is_file().then_some(beside)
                })
                .unwrap_or_else(|| PathBuf::from("criu")),
            after_invocations: args.snapshot_after,
        });
    }
    Ok(config)
}

/// So `dist/semifaas local` finds `dist/bootstrap`.
fn executable_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the semifaas executable")?;
    exe.parent()
        .map(PathBuf::from)
        .context("the semifaas executable has no parent directory; pass --code-dir")
}

async fn serve(config: FaasLocalConfig) -> anyhow::Result<()> {
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let platform = FaasLocal::start(config).await?;
    if let Some(auth) = platform.openwhisk_auth() {
        // On stdout, for the operator: the settings `wsk` (and the agent) need.
        println!("OpenWhisk API host: {}", platform.endpoint_url());
        println!("OpenWhisk auth:     {auth}");
        println!(
            "wsk property set --apihost {} --auth {auth}",
            platform.endpoint_url()
        );
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => info!("SIGINT received, stopping"),
        _ = terminate.recv() => info!("SIGTERM received, stopping"),
    }
    platform.shutdown().await;
    Ok(())
}
