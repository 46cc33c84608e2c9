//! `probity discovery export` builds a signed discovery package (DC-07) for the prosecutor;
//! `probity discovery verify PACKAGE` checks one offline and names every altered, missing or
//! added file (exit status non-zero when anything is wrong).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context};
use clap::Subcommand;
use probity_server::build_state;
use probity_server::evidence::discovery;

use super::ingest::StoreArgs;

#[derive(Subcommand)]
pub enum DiscoveryCommand {
    /// Check a package (directory or .tar) offline: manifest signature, every original's hash.
    Verify {
        /// The package directory or .tar file.
        package: PathBuf,
        /// The server's public key (base64, as `probity discovery key` prints it) to check the
        /// signature against; default: the key named in the manifest.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Export chosen items of a case as a package (a new directory, or a file ending in .tar).
    Export {
        /// Case or complaint number.
        #[arg(long)]
        case: String,
        /// The member exporting (their access decides; recorded in each item's custody history).
        #[arg(long, env = "PROBITY_USER")]
        user: String,
        /// The prosecutor with jurisdiction who receives the package.
        #[arg(long)]
        prosecutor: String,
        /// Item ids; default: every item of the case.
        #[arg(long = "item")]
        items: Vec<uuid::Uuid>,
        /// Where to write the package.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the server's public key (base64) for offline verification.
    Key {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: DiscoveryCommand) -> anyhow::Result<()> {
    match cmd {
        DiscoveryCommand::Verify {
            package,
            public_key,
        } => verify(package, public_key),
        DiscoveryCommand::Export {
            case,
            user,
            prosecutor,
            items,
            out,
            store,
        } => export(case, user, prosecutor, items, out, store),
        DiscoveryCommand::Key { store } => {
            let keys = probity_store::ServerKeys::load_or_create(&store.config()?.data_dir)?;
            println!("{} (key id {})", keys.public_key_base64(), keys.key_id());
            Ok(())
        }
    }
}

fn verify(package: PathBuf, public_key: Option<String>) -> anyhow::Result<()> {
    let v = discovery::verify(&package, public_key.as_deref())
        .with_context(|| format!("cannot read the package {}", package.display()))?;
    println!(
        "package {} for case {}: {} items checked, signature {} (key {})",
        package.display(),
        v.case_number.as_deref().unwrap_or("?"),
        v.items_checked,
        if v.signature_valid {
            "valid"
        } else {
            "INVALID"
        },
        v.key_id.as_deref().unwrap_or("?"),
    );
    for p in &v.problems {
        println!("  {p}");
    }
    if !v.is_valid() {
        bail!(
            "the package does not verify: {} problem(s)",
            v.problems.len()
        );
    }
    println!("OK: every original matches the signed manifest");
    Ok(())
}

fn export(
    case: String,
    user: String,
    prosecutor: String,
    items: Vec<uuid::Uuid>,
    out: PathBuf,
    store: StoreArgs,
) -> anyhow::Result<()> {
    let config = store.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let state = build_state(config).await?;
        let p = super::ingest::member(&state, &user).await?;
        let c = state
            .load_case(&case)
            .await
            .map_err(|e| anyhow!("{}", e.detail))?
            .ok_or_else(|| anyhow!("no case {case}"))?;
        let package = discovery::build(&state, &p, &c, &items, &prosecutor)
            .await
            .map_err(|e| match &e.rule {
                Some(r) => anyhow!("{} ({r})", e.detail),
                None => anyhow!("{}", e.detail),
            })?;
        package
            .write(&out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        println!(
            "wrote {} with {} originals for {}",
            out.display(),
            package.manifest.items.len(),
            prosecutor
        );
        state.store.close().await;
        anyhow::Ok(())
    })
}
