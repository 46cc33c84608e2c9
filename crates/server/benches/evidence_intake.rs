//! Intake throughput (DC-05, DC-06): a folder of the sample camera files repeated to at least
//! 1 GB (each copy made unique, so nothing is skipped as a duplicate) is ingested through the
//! real path (hash, metadata, thumbnail, AES-GCM encryption, database rows and audit entries,
//! read-back verification), then `exiftool -json` plus `sha256sum` run over the same folder in
//! the same run. Prints files/s, MB/s and the ratio.
//!
//! The same intake then runs with the blobs in an S3 bucket (moto on loopback, as in the tests;
//! skipped with a message when moto is not installed), against the local folder.
//!
//! Run: `cargo build --release -p probity-imaging --bins && cargo bench -p probity-server --bench
//! evidence_intake` (HEIC pixels are decoded by the worker program `probity-heif-worker`, found
//! beside the bench binary's folder or named by `PROBITY_HEIF_WORKER`)
//! (PROBITY_BENCH_MB sets the folder size, default 1024; PROBITY_TEST_DATA the sample data).

#[path = "../../store/tests/s3_server/mod.rs"]
mod s3_server;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use probity_server::{build_state, demo, evidence, Config};

const SAMPLES: &[&str] = &[
    "apple_iphone4.jpg",
    "apple_iphone8.heic",
    "nikon_d70.jpg",
    "apple_minimal.jpg",
];

fn data_dir() -> PathBuf {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    base.join("camera")
}

/// A unique but valid copy: a JPEG comment segment after SOI, or a HEIF `free` box at the end.
fn unique_copy(bytes: &[u8], n: u64) -> Vec<u8> {
    let tag = format!("probity bench copy {n}");
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let len = (tag.len() + 2) as u16;
        let mut out = Vec::with_capacity(bytes.len() + tag.len() + 4);
        out.extend_from_slice(&bytes[..2]);
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(&bytes[2..]);
        out
    } else {
        let mut out = bytes.to_vec();
        out.extend_from_slice(&((tag.len() + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"free");
        out.extend_from_slice(tag.as_bytes());
        out
    }
}

fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn main() -> anyhow::Result<()> {
    let target_mb: u64 = std::env::var("PROBITY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = data_dir();
    let samples: Vec<(String, Vec<u8>)> = SAMPLES
        .iter()
        .map(|s| {
            std::fs::read(dir.join(s))
                .map(|b| (s.to_string(), b))
                .map_err(|e| anyhow::anyhow!("sample {} missing ({e}); set PROBITY_TEST_DATA", s))
        })
        .collect::<anyhow::Result<_>>()?;
    let work = tempfile::tempdir()?;
    let card = work.path().join("card");
    std::fs::create_dir_all(&card)?;
    let (mut files, mut bytes, mut n) = (0u64, 0u64, 0u64);
    while bytes < target_mb * 1_000_000 {
        for (name, b) in &samples {
            let copy = unique_copy(b, n);
            bytes += copy.len() as u64;
            std::fs::write(card.join(format!("{n:06}_{name}")), copy)?;
            files += 1;
        }
        n += 1;
    }
    println!(
        "folder: {files} files, {:.1} MB ({} samples repeated)",
        bytes as f64 / 1e6,
        SAMPLES.len()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(intake(&card, &work.path().join("data"), None))?;
    let (report, ours) = report;
    anyhow::ensure!(
        report.stored as u64 == files && report.safe_to_clear,
        "intake stored {} of {files} files: {:?}",
        report.stored,
        report.problems.first()
    );
    println!(
        "probity intake (hash + metadata + thumbnail + encryption + DB + read-back): {ours:.2} s, {:.1} files/s, {:.1} MB/s",
        files as f64 / ours,
        bytes as f64 / 1e6 / ours
    );

    let exif = seconds(|| {
        let out = Command::new("exiftool")
            .args(["-json", "-r", "-q"])
            .arg(&card)
            .output();
        if let Err(e) = out {
            eprintln!("exiftool could not run: {e}");
        }
    });
    let sha = seconds(|| {
        let out = Command::new("sh")
            .arg("-c")
            .arg("find \"$1\" -type f -print0 | xargs -0 sha256sum > /dev/null")
            .arg("sh")
            .arg(&card)
            .output();
        if let Err(e) = out {
            eprintln!("sha256sum could not run: {e}");
        }
    });
    let reference = exif + sha;
    println!(
        "reference exiftool -json: {exif:.2} s; sha256sum: {sha:.2} s; together {reference:.2} s, {:.1} files/s, {:.1} MB/s",
        files as f64 / reference,
        bytes as f64 / 1e6 / reference
    );
    println!(
        "ratio (reference time / probity time): {:.2}x (above 1 means probity is faster while also encrypting, thumbnailing and storing)",
        reference / ours
    );

    // The same intake into an S3 bucket.
    let moto = std::env::var_os("PROBITY_TEST_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
        });
    if !moto.exists() {
        println!(
            "s3: skipped, {} is not installed (scripts/setup installs it)",
            moto.display()
        );
        return Ok(());
    }
    let s3 = s3_server::S3Server::start();
    s3.create_bucket("probity-bench");
    let (report, in_bucket) = s3.run(intake(
        &card,
        &work.path().join("data-s3"),
        Some("s3://probity-bench/intake".to_string()),
    ))?;
    anyhow::ensure!(
        report.stored as u64 == files,
        "intake to S3 stored {} of {files} files: {:?}",
        report.stored,
        report.problems.first()
    );
    println!(
        "probity intake into an S3 bucket (moto on loopback): {in_bucket:.2} s, {:.1} files/s, {:.1} MB/s; local folder / S3 time: {:.2}x",
        files as f64 / in_bucket,
        bytes as f64 / 1e6 / in_bucket,
        ours / in_bucket
    );
    Ok(())
}

/// Ingests the folder `card` as det.rivera into the demo case, with the blobs in `data_dir`'s
/// folder or in `blob_url`; returns the report and the seconds taken.
async fn intake(
    card: &Path,
    data_dir: &Path,
    blob_url: Option<String>,
) -> anyhow::Result<(evidence::IntakeReport, f64)> {
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        tls: false,
        database_url: None,
        blob_url,
        ..Config::default()
    };
    let state = build_state(config).await?;
    demo::seed(&state.store, &state.passwords).await?;
    let mut tx = state.store.begin().await?;
    let user = probity_store::users::get_by_username(&mut tx, "det.rivera")
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo user missing"))?;
    let p = probity_server::principal::load(&mut tx, user, &state.commands, chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    tx.commit().await?;
    let case = state
        .load_case("2026-019-000101")
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?
        .ok_or_else(|| anyhow::anyhow!("demo case missing"))?;
    let fields = [
        ("purpose", "crime_scene"),
        ("basis_kind", "no_reasonable_expectation_of_privacy"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let record = evidence::intake::capture_record_from_fields(&fields)
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let t = Instant::now();
    let report = evidence::ingest_card(&state, &p, &case, record, card, None)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    let secs = t.elapsed().as_secs_f64();
    state.store.close().await;
    Ok((report, secs))
}
