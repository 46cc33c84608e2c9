//! `probity gallery import DIR --manifest CSV` and `probity gallery search IMG`: the photo
//! repository from the command line (FR-01, FR-02, FR-03, FR-08).
//!
//! Import is the only way photographs enter the repository: every row needs its source (arrest or
//! parole), arrest/charge identifier and photo date, or it is refused (FR-01); a file equal to a
//! probe still is refused (FR-03). Search is for checking the repository: every search is audited,
//! sealed records are never returned (FR-02); casework searches go through a request for analysis.

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use probity_server::fr::{engine, gallery};
use probity_store::{audit, Store, StoreConfig};

#[derive(Subcommand)]
pub enum GalleryCommand {
    /// Import arrest and parole photographs listed in a manifest
    /// (CSV header: file,subject_id,source,arrest_id,photo_date; file relative to DIR).
    Import {
        dir: PathBuf,
        #[arg(long)]
        manifest: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Search the repository with the face in IMG (audited; sealed records never returned).
    Search {
        image: PathBuf,
        /// Size of the candidate pool.
        #[arg(long, default_value_t = engine::DEFAULT_POOL_SIZE)]
        top: usize,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args)]
pub struct StoreArgs {
    /// Data directory of the server (database, encrypted blobs, keys).
    #[arg(long, env = "PROBITY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL; default: SQLite in the data directory.
    #[arg(long, env = "PROBITY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Object store for the encrypted blobs: s3://bucket/prefix (endpoint, region and credentials
    /// from AWS_* variables); default: the folder blobs/ in the data directory.
    #[arg(long, env = "PROBITY_BLOB_URL")]
    pub blob_url: Option<String>,
}

fn actor() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

pub fn run(cmd: GalleryCommand) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        match cmd {
            GalleryCommand::Import {
                dir,
                manifest,
                store,
            } => import(dir, manifest, store).await,
            GalleryCommand::Search { image, top, store } => search(image, top, store).await,
        }
    })
}

async fn open(args: &StoreArgs) -> Result<Store> {
    let mut config = StoreConfig::new(args.data_dir.clone(), args.database_url.clone());
    if let Some(url) = args.blob_url.as_deref().filter(|u| !u.trim().is_empty()) {
        config.object_store = Some(probity_store::blobs::object_store_from_url(url)?);
    }
    Store::open(config)
        .await
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))
}

/// The algorithm version the database says is active (FR-23), and its engine: photos imported
/// here get the templates searches use, and a search here ranks as the server would.
async fn open_engine(
    store: &Store,
) -> Result<(
    &'static probity_face::AlgorithmSpec,
    probity_face::FaceEngine,
)> {
    let spec = engine::active_spec(store)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let face = engine::open_engine(spec).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    Ok((spec, face))
}

async fn import(dir: PathBuf, manifest: PathBuf, args: StoreArgs) -> Result<()> {
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading the manifest {}", manifest.display()))?;
    let (rows, mut refused) = gallery::parse_manifest(&text).map_err(anyhow::Error::msg)?;
    let store = open(&args).await?;
    let (_, face) = open_engine(&store).await?;
    let face = Mutex::new(face);
    let bar = ProgressBar::new(rows.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} photos, {per_sec}, eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let who = actor();
    let mut imported = 0usize;
    // The operations page of every server shows the import's progress too.
    let mut tracker = probity_server::progress::Tracker::start_on_store(
        &store,
        probity_server::progress::GALLERY_IMPORT,
        &format!("photo repository import from {}", manifest.display()),
        &who,
        Some(rows.len() as u64),
    )
    .await;
    for (i, row) in rows.iter().enumerate() {
        tracker.advance(i as u64, None).await;
        let path = dir.join(&row.file);
        let result = match std::fs::read(&path) {
            Ok(bytes) => gallery::import_one(&store, &face, row, &bytes, &who).await,
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        };
        match result {
            Ok(_) => imported += 1,
            Err(reason) => refused.push(gallery::Refusal {
                line: row.line,
                file: row.file.clone(),
                reason,
            }),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    tracker.advance(rows.len() as u64, None).await;
    tracker.finish(true).await;
    store.close().await;
    println!("imported {imported} photographs into the repository");
    refused.sort_by_key(|r| r.line);
    for r in &refused {
        println!("refused line {} ({}): {}", r.line, r.file, r.reason);
    }
    if imported == 0 && !refused.is_empty() {
        bail!("nothing was imported");
    }
    Ok(())
}

async fn search(image: PathBuf, top: usize, args: StoreArgs) -> Result<()> {
    if !(1..=engine::MAX_POOL_SIZE).contains(&top) {
        bail!("--top must be between 1 and {}", engine::MAX_POOL_SIZE);
    }
    let bytes = std::fs::read(&image).with_context(|| format!("reading {}", image.display()))?;
    let store = open(&args).await?;
    let (spec, face) = open_engine(&store).await?;
    let face = Mutex::new(face);
    let probe = gallery::probe_template(&face, &bytes).map_err(anyhow::Error::msg)?;
    let index = engine::load_index(&store, spec)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let fr = engine::Fr {
        spec,
        engine: face,
        index: RwLock::new(index),
        // One search and done: the index is never refreshed.
        version: std::sync::atomic::AtomicI64::new(0),
    };
    let pool = engine::search(&store, &fr, &probe, top)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let mut tx = store.begin().await?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor(),
            action: "fr.gallery.search".into(),
            record_type: "fr_repository".into(),
            record_id: "*".into(),
            reason: Some("repository check from the command line".into()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": "FR-08",
                "algorithm": spec.id().to_string(),
                "top": top,
                "returned": pool.len(),
            }),
        },
    )
    .await?;
    let mut rows = Vec::new();
    for (rank, (record_no, score)) in pool.iter().enumerate() {
        if let Some(r) = probity_store::gallery::get(&mut tx, *record_no).await? {
            rows.push((rank + 1, r, *score));
        }
    }
    tx.commit().await?;
    store.close().await;
    println!("algorithm {}", spec.id());
    println!(
        "{:>4}  {:<8} {:<12} {:<7} {:<14} {:<10} {:>6}",
        "rank", "record", "subject", "source", "arrest", "photo", "score"
    );
    for (rank, r, score) in rows {
        println!(
            "{rank:>4}  R{:06} {:<12} {:<7} {:<14} {:<10} {score:>6.3}",
            r.record_no, r.subject_id, r.source, r.arrest_id, r.photo_date
        );
    }
    Ok(())
}
