//! `semifaas prewarm N`, `semifaas capacity-ready` and `semifaas mode`: the burst controller's
//! operator commands, over the agent's admin endpoint.

use anyhow::Result;
use clap::{Args, ValueEnum};
use reqwest::Method;

use crate::{
    admin_cmd::{print, AdminTarget},
    output::OutputArgs,
};

#[derive(Debug, Args)]
pub struct PrewarmArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// How many function instances to start or warm (each installs every closure and replays
    /// the recorded samples).
    #[arg(value_parser = clap::value_parser!(u32).range(1..=256))]
    instances: u32,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct CapacityReadyArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Withdraw the signal: the controller decides from the load again.
    #[arg(long)]
    not_ready: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ModeValue {
    /// The burst controller sets the ratio from the load.
    Auto,
    /// The operator sets the ratio (`semifaas ratio`).
    Manual,
}

#[derive(Debug, Args)]
pub struct ModeArgs {
    #[command(flatten)]
    target: AdminTarget,
    /// Switch to this mode; without it, print the mode, phase, ratio and the last decision.
    #[arg(value_enum)]
    mode: Option<ModeValue>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The controller state's most telling keys, printed first.
const CONTROLLER_FIRST: [&str; 5] = ["mode", "phase", "ratio", "in_flight", "last_decision"];

pub async fn prewarm(args: PrewarmArgs) -> Result<()> {
    let path = format!("/prewarm?instances={}", args.instances);
    let text = args
        .target
        .client()?
        .call(Method::POST, &path, Some(String::new()))
        .await?;
    print(
        args.output.output,
        &text,
        &["requested", "answered", "cold", "warm", "failures"],
    )
}

pub async fn capacity_ready(args: CapacityReadyArgs) -> Result<()> {
    let path = format!("/capacity-ready?ready={}", !args.not_ready);
    let text = args
        .target
        .client()?
        .call(Method::POST, &path, Some(String::new()))
        .await?;
    print(args.output.output, &text, &CONTROLLER_FIRST)
}

pub async fn mode(args: ModeArgs) -> Result<()> {
    let admin = args.target.client()?;
    let text = match args.mode {
        None => admin.call(Method::GET, "/controller", None).await?,
        Some(mode) => {
            let mode = match mode {
                ModeValue::Auto => "auto",
                ModeValue::Manual => "manual",
            };
            let path = format!("/controller?mode={mode}");
            admin.call(Method::POST, &path, Some(String::new())).await?
        }
    };
    print(args.output.output, &text, &CONTROLLER_FIRST)
}
