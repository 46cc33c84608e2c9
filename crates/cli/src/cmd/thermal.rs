//! `probity thermal ...`
use clap::Subcommand;

#[derive(Subcommand)]
pub enum ThermalCommand {
    /// Print the camera, calibration constants and min/max/mean temperature of a file.
    Inspect { file: std::path::PathBuf },
}

pub fn run(cmd: ThermalCommand) -> anyhow::Result<()> {
    match cmd {
        ThermalCommand::Inspect { file } => {
            anyhow::bail!("{}: thermal decoding is not available yet", file.display())
        }
    }
}
