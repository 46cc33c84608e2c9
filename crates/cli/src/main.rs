//! `probity`: the server and the command-line tools in one binary.
//!
//! Each concern keeps its subcommands in its own module under `cmd/`; this file
//! only parses arguments and dispatches.

use clap::{Parser, Subcommand};

mod cmd;

#[derive(Parser)]
#[command(name = "probity", version, about = "Impact and use policies, enforced")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Thermographic imaging: inspect, render and replay radiometric files.
    #[command(subcommand)]
    Thermal(cmd::thermal::ThermalCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Thermal(c) => cmd::thermal::run(c),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
