//! `probity discovery export` builds a signed discovery package (DC-07) for the prosecutor;
//! `probity discovery verify PACKAGE` checks one offline and names every altered, missing or
//! added file (exit status non-zero when anything is wrong).
//!
//! The signature is checked only against a key the caller names: `--public-key B64`, the server
//! key in `--data-dir DIR`, or the key `--server URL` publishes. The key a package carries is
//! never trusted (anyone who alters a package can re-sign it and put their own key in it).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{ArgGroup, Subcommand};
use probity_server::build_state;
use probity_server::evidence::discovery::{self, VerifyingKey};

use super::ingest::StoreArgs;

#[derive(Subcommand)]
pub enum DiscoveryCommand {
    /// Check a package (directory or .tar) offline: manifest signature, every original's hash.
    /// Name the key to trust with exactly one of --public-key, --data-dir or --server; the key
    /// carried inside the package is never trusted.
    #[command(group(ArgGroup::new("trusted_key").args(["public_key", "data_dir", "server"])))]
    Verify {
        /// The package directory or .tar file.
        package: PathBuf,
        /// Trust this public key (base64, as `probity discovery key` prints it and
        /// GET /api/discovery/signing-key publishes it).
        #[arg(long, value_name = "B64")]
        public_key: Option<String>,
        /// Trust the server key kept in this data directory (its server.ed25519).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Trust the key this server publishes (GET /api/discovery/signing-key); https, or
        /// http to a loopback address only.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// With --server: trust this PEM certificate for the TLS connection (e.g. the server's
        /// self-signed tls/cert.pem).
        #[arg(long, requires = "server")]
        ca_file: Option<PathBuf>,
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
            data_dir,
            server,
            ca_file,
        } => {
            let (key, source) = trusted_key(public_key, data_dir, server, ca_file)?;
            verify(package, &key, &source)
        }
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

/// The key to trust and how the output names it.
pub(crate) fn trusted_key(
    public_key: Option<String>,
    data_dir: Option<PathBuf>,
    server: Option<String>,
    ca_file: Option<PathBuf>,
) -> anyhow::Result<(VerifyingKey, String)> {
    if let Some(b64) = public_key {
        let key = discovery::parse_public_key(&b64).map_err(|e| anyhow!("--public-key: {e}"))?;
        return Ok((key, "the key given by --public-key".into()));
    }
    if let Some(dir) = data_dir {
        let file = dir.join(probity_store::SERVER_KEY_FILE);
        // Never create a key here: a new key would only make every package fail to verify.
        if !file.is_file() {
            bail!(
                "{} holds no server key ({} is missing): name the data directory of the server that signed the package",
                dir.display(),
                file.display()
            );
        }
        let keys = probity_store::ServerKeys::load_or_create(&dir)
            .with_context(|| format!("cannot read the server key in {}", dir.display()))?;
        return Ok((
            keys.verifying_key(),
            format!("the server key of data directory {}", dir.display()),
        ));
    }
    if let Some(url) = server {
        let key = fetch_published_key(&url, ca_file.as_deref())?;
        return Ok((key, format!("the key published by {url}")));
    }
    bail!(
        "name the key to trust: --public-key B64 (as `probity discovery key` prints it or \
         GET /api/discovery/signing-key publishes it), --data-dir DIR (the data directory of the \
         server that signed the package) or --server URL (fetches the key that server publishes). \
         The key carried inside a package is never trusted on its own."
    )
}

/// Fetches `GET {server}/api/discovery/signing-key` over https (or http to a loopback address).
fn fetch_published_key(server: &str, ca_file: Option<&Path>) -> anyhow::Result<VerifyingKey> {
    let url = reqwest::Url::parse(server).with_context(|| format!("{server} is not a URL"))?;
    let loopback = matches!(
        url.host_str(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    if url.scheme() != "https" && !loopback {
        bail!("the key to trust must come over an authenticated link: use an https:// server URL");
    }
    let mut b = reqwest::blocking::Client::builder().timeout(std::time::Duration::from_secs(30));
    if let Some(ca) = ca_file {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
        b = b.tls_built_in_root_certs(false).add_root_certificate(cert);
    }
    let endpoint = format!("{}/api/discovery/signing-key", server.trim_end_matches('/'));
    let r = b
        .build()?
        .get(&endpoint)
        .send()
        .with_context(|| format!("cannot fetch the server's key from {endpoint}"))?;
    if !r.status().is_success() {
        bail!("{endpoint} answered {}", r.status());
    }
    let published: discovery::PublishedKey = r
        .json()
        .with_context(|| format!("{endpoint} did not answer with a signing key"))?;
    if published.algorithm != "Ed25519" {
        bail!(
            "{endpoint} publishes a {} key, not Ed25519",
            published.algorithm
        );
    }
    let key = discovery::parse_public_key(&published.public_key)
        .map_err(|e| anyhow!("{endpoint}: {e}"))?;
    if discovery::fingerprint(&key) != published.fingerprint {
        bail!("{endpoint}: the fingerprint does not match the published key");
    }
    Ok(key)
}

fn verify(package: PathBuf, key: &VerifyingKey, source: &str) -> anyhow::Result<()> {
    let v = discovery::verify(&package, key)
        .with_context(|| format!("cannot read the package {}", package.display()))?;
    println!(
        "package {} for case {}: {} items checked",
        package.display(),
        v.case_number.as_deref().unwrap_or("?"),
        v.items_checked,
    );
    if v.signature_valid {
        println!(
            "signature verified with {source} (key id {})",
            v.trusted_key_id
        );
    } else {
        println!(
            "signature INVALID: it does not verify with {source} (key id {})",
            v.trusted_key_id
        );
    }
    if v.package_key_differs {
        println!(
            "  the package carries another key (key id {}) than the trusted key {}: a key inside the package is never trusted",
            v.key_id.as_deref().unwrap_or("?"),
            v.trusted_key_id
        );
    }
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
