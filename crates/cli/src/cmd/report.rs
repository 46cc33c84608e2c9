//! `probity report oversight --from YYYY-MM-DD --to YYYY-MM-DD [--out FILE.pdf] [--csv FILE.csv]`:
//! the annual oversight report (OVR-03) straight from the database of a server's data directory,
//! the same figures as `GET /api/oversight/report`. Each generation is written to the audit trail
//! (actor `cli`). With neither `--out` nor `--csv`, the CSV goes to standard output.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use probity_server::oversight_report::{self, OversightReportQuery};
use probity_store::{Store, StoreConfig, SERVER_KEY_FILE};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// The annual oversight report (OVR-03) for a period, as PDF and/or CSV.
    Oversight {
        /// First day of the period (YYYY-MM-DD, inclusive).
        #[arg(long)]
        from: String,
        /// The day after the period (YYYY-MM-DD, exclusive): 2027-01-01 for the year 2026.
        #[arg(long)]
        to: String,
        /// Write the PDF here.
        #[arg(long, value_name = "FILE.pdf")]
        out: Option<PathBuf>,
        /// Write the CSV here.
        #[arg(long, value_name = "FILE.csv")]
        csv: Option<PathBuf>,
        /// Data directory (database, keys).
        #[arg(long, env = "PROBITY_DATA_DIR", default_value = ".probity")]
        data_dir: PathBuf,
        /// PostgreSQL URL (postgres://...); default: SQLite in the data directory.
        #[arg(long, env = "PROBITY_DATABASE_URL")]
        database_url: Option<String>,
    },
}

pub fn run(cmd: ReportCommand) -> anyhow::Result<()> {
    let ReportCommand::Oversight {
        from,
        to,
        out,
        csv,
        data_dir,
        database_url,
    } = cmd;
    let period = oversight_report::parse_period(&OversightReportQuery {
        from: Some(from),
        to: Some(to),
    })
    .map_err(|e| anyhow!("{}", e.detail))?;
    // Never create a fresh store by accident: the report reads an existing server's database.
    if !data_dir.join(SERVER_KEY_FILE).is_file() {
        bail!(
            "no server key at {}; give the data directory of the server (--data-dir or \
             PROBITY_DATA_DIR)",
            data_dir.join(SERVER_KEY_FILE).display()
        );
    }
    let url = database_url.filter(|u| !u.trim().is_empty());
    if url.is_none() && !data_dir.join("probity.db").is_file() {
        bail!(
            "no database at {}; give --database-url for PostgreSQL or the right --data-dir",
            data_dir.join("probity.db").display()
        );
    }
    let format = match (&out, &csv) {
        (Some(_), Some(_)) => "pdf+csv",
        (Some(_), None) => "pdf",
        _ => "csv",
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async move {
        let store = Store::open(StoreConfig::new(&data_dir, url))
            .await
            .context("cannot open the store")?;
        let report =
            oversight_report::generate(&store, period, "cli", None, format, chrono::Utc::now())
                .await
                .map_err(|e| anyhow!("{}", e.detail));
        store.close().await;
        report
    })?;
    let text = oversight_report::csv_text(&report);
    if let Some(path) = &out {
        let pdf = oversight_report::pdf_bytes(&report).map_err(|e| anyhow!("{}", e.detail))?;
        std::fs::write(path, pdf).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "oversight report {}..{} written to {}",
            report.from,
            report.to,
            path.display()
        );
    }
    if let Some(path) = &csv {
        std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "oversight figures {}..{} written to {}",
            report.from,
            report.to,
            path.display()
        );
    }
    if out.is_none() && csv.is_none() {
        print!("{text}");
    }
    Ok(())
}
