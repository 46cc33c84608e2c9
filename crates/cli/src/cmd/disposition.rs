//! `probity disposition verify FILE`: checks a signed disposition certificate (RET-11) offline
//! against a key the caller names (`--public-key`, `--data-dir` or `--server`, as for discovery
//! packages); exit status non-zero when the signature does not hold.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{ArgGroup, Subcommand};

#[derive(Subcommand)]
pub enum DispositionCommand {
    /// Verify a disposition certificate (the JSON of GET /api/dispositions/{id}/certificate).
    #[command(group(ArgGroup::new("trusted_key").args(["public_key", "data_dir", "server"])))]
    Verify {
        /// The certificate file (JSON).
        file: PathBuf,
        /// Trust this public key (base64, as GET /api/discovery/signing-key publishes it).
        #[arg(long, value_name = "B64")]
        public_key: Option<String>,
        /// Trust the server key kept in this data directory.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Trust the key this server publishes; https, or http to a loopback address only.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// With --server: trust this PEM certificate for the TLS connection.
        #[arg(long, requires = "server")]
        ca_file: Option<PathBuf>,
    },
}

pub fn run(cmd: DispositionCommand) -> anyhow::Result<()> {
    let DispositionCommand::Verify {
        file,
        public_key,
        data_dir,
        server,
        ca_file,
    } = cmd;
    let (key, source) = super::discovery::trusted_key(public_key, data_dir, server, ca_file)?;
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    match probity_server::records::verify_certificate(&text, &key) {
        Ok(c) => {
            println!("signature verified with {source}");
            let s = |k: &str| c[k].as_str().unwrap_or("-").to_string();
            println!(
                "{}: {} under {} (due {}), proposed by {}, approved by {}, executed {} by {}; {} item(s)",
                s("disposition_id"),
                s("what"),
                s("rule_id"),
                s("due_on"),
                s("proposed_by"),
                s("approved_by"),
                s("executed_at"),
                s("executed_by"),
                c["items"].as_array().map_or(0, |a| a.len())
            );
            Ok(())
        }
        Err(e) => bail!("{}: {e}", file.display()),
    }
}
