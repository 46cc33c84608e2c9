//! `probity retention run`: destroys the records whose retention period has ended (RET-10, RET-11),
//! leaving a disposition certificate for each. Today this covers robot thermal data (30 days, TH-04);
//! frames moved into a case follow the case's schedule and are left alone.

use std::path::PathBuf;

use clap::Subcommand;
use probity_server::{build_state, Config};

#[derive(Subcommand)]
pub enum RetentionCommand {
    /// Run the retention schedule now and print the disposition certificates issued.
    Run {
        /// Data directory (database, keys).
        #[arg(long, env = "PROBITY_DATA_DIR", default_value = ".probity")]
        data_dir: PathBuf,
        /// PostgreSQL URL; default SQLite in the data directory.
        #[arg(long, env = "PROBITY_DATABASE_URL")]
        database_url: Option<String>,
        /// Object store for the encrypted blobs: s3://bucket/prefix (endpoint, region and
        /// credentials from AWS_* variables); default: the folder blobs/ in the data directory.
        #[arg(long, env = "PROBITY_BLOB_URL")]
        blob_url: Option<String>,
        /// Who approved this run (recorded on every certificate).
        #[arg(long)]
        approved_by: String,
    },
}

pub fn run(cmd: RetentionCommand) -> anyhow::Result<()> {
    let RetentionCommand::Run {
        data_dir,
        database_url,
        blob_url,
        approved_by,
    } = cmd;
    if approved_by.trim().is_empty() {
        anyhow::bail!("--approved-by must name who approved the disposition (RET-11)");
    }
    let config = Config {
        data_dir,
        database_url,
        blob_url,
        ..Config::default()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let state = build_state(config).await?;
        let report = probity_server::thermal::robot::run_retention(
            &state,
            chrono::Utc::now(),
            "system:retention",
            approved_by.trim(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        println!("{}", serde_json::to_string_pretty(&report)?);
        Ok(())
    })
}
