//! `semifaas prewarm N` and `semifaas capacity-ready`: the burst controller's operator
//! commands, over the agent's admin endpoint.

use anyhow::Result;
use clap::Args;

use crate::admin_cmd::{call, AdminTarget};

#[derive(Debug, Args)]
pub struct PrewarmArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// How many function instances to start or warm (each installs every closure and replays
    /// the recorded samples).
    #[arg(value_parser = clap::value_parser!(u32).range(1..=256))]
    instances: u32,
}

#[derive(Debug, Args)]
pub struct CapacityReadyArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Withdraw the signal: the controller decides from the load again.
    #[arg(long)]
    not_ready: bool,
}

pub async fn prewarm(args: PrewarmArgs) -> Result<()> {
    let url = args
        .target
        .url(&format!("/prewarm?instances={}", args.instances));
    let text = call(reqwest::Method::POST, url, Some(String::new())).await?;
    println!("{}", text.trim());
    Ok(())
}

pub async fn capacity_ready(args: CapacityReadyArgs) -> Result<()> {
    let url = args
        .target
        .url(&format!("/capacity-ready?ready={}", !args.not_ready));
    let text = call(reqwest::Method::POST, url, Some(String::new())).await?;
    println!("{}", text.trim());
    Ok(())
}
