//! `probity audit verify`: checks the whole hash-chained audit trail and its signed
//! checkpoints (SEC-04). Exits non-zero naming the first bad entry.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use probity_store::{audit, Store, StoreConfig, SERVER_KEY_FILE};

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify every entry, link, checkpoint signature and the signed head of the audit trail.
    Verify {
        /// Data directory (database, keys).
        #[arg(long, env = "PROBITY_DATA_DIR", default_value = ".probity")]
        data_dir: PathBuf,
        /// PostgreSQL URL (postgres://...); default: SQLite in the data directory.
        #[arg(long, env = "PROBITY_DATABASE_URL")]
        database_url: Option<String>,
    },
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify {
            data_dir,
            database_url,
        } => verify(data_dir, database_url),
    }
}

fn verify(data_dir: PathBuf, database_url: Option<String>) -> anyhow::Result<()> {
    // Never create a fresh store (and a fresh key) by accident: verification needs the
    // existing server key and database.
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
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let store = Store::open(StoreConfig::new(&data_dir, url))
            .await
            .context("cannot open the store")?;
        let report = audit::verify(&store)
            .await
            .context("cannot read the audit trail")?;
        store.close().await;
        match report.problem {
            None => {
                println!(
                    "audit trail verified: {} entries, {} signed checkpoints, head at entry {} \
                     (server key {})",
                    report.entries,
                    report.checkpoints,
                    report.head_seq,
                    store.server_keys().key_id()
                );
                Ok(())
            }
            Some(p) => bail!(
                "audit trail FAILED verification: first bad entry is {} ({}); {} entries read",
                p.seq,
                p.message,
                report.entries
            ),
        }
    })
}
