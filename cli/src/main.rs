//! `semifaas`: operate semifaas. This file only parses and dispatches; each subcommand
//! lives in its own module.

mod local;
mod logging;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "semifaas",
    version,
    about = "Operate semifaas: the local FaaS platform and more"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the bundled local FaaS platform (Lambda API) in the foreground.
    Local(local::LocalArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init();
    match cli.command {
        Command::Local(args) => local::run(args),
    }
}
