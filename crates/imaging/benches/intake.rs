//! Intake throughput (DC-05/DC-06): SHA-256 + metadata + thumbnail per file over a folder of the
//! sample camera files repeated to at least 1 GiB, against `exiftool -json` plus `sha256sum`
//! over the same folder in the same run. Encryption is added later by the store and is not
//! measured here.
//!
//! Run: `cargo bench -p probity-imaging --bench intake`
//! Env: PROBITY_TEST_DATA (sample folder), PROBITY_BENCH_BYTES (folder size, default 1 GiB).
//!
//! Every copy is made unique (a JPEG comment segment, a trailing HEIF `free` box, trailing
//! bytes after a NEF's TIFF data) so duplicate detection cannot skip work.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use probity_imaging::{scan_card, IntakeDecision, IntakeOptions};

fn data_dir() -> PathBuf {
    let dir = match std::env::var_os("PROBITY_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    if !dir.join("camera").is_dir() {
        eprintln!(
            "error: sample data not found at {}; set PROBITY_TEST_DATA to the shared data folder",
            dir.display()
        );
        std::process::exit(2);
    }
    dir.join("camera")
}

/// A unique but still valid copy of a camera file.
fn unique_copy(name: &str, bytes: &[u8], n: u64) -> Vec<u8> {
    let tag = format!("probity bench copy {n}");
    if name.ends_with(".jpg") {
        // COM segment right after SOI.
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((tag.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(tag.as_bytes());
        out.extend_from_slice(&bytes[2..]);
        out
    } else if name.ends_with(".heic") {
        let mut out = bytes.to_vec();
        out.extend_from_slice(&((tag.len() + 8) as u32).to_be_bytes());
        out.extend_from_slice(b"free");
        out.extend_from_slice(tag.as_bytes());
        out
    } else {
        let mut out = bytes.to_vec();
        out.extend_from_slice(tag.as_bytes());
        out
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing and must stay quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("intake bench: run with `cargo bench -p probity-imaging --bench intake`");
        return;
    }
    let target: u64 = std::env::var("PROBITY_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 30);
    let camera = data_dir();
    let samples = [
        "apple_iphone8.heic",
        "apple_iphone4.jpg",
        "nikon_d70.jpg",
        "apple_minimal.jpg",
        "nikon_d70_stripped.nef",
        "heic_metadata_only.heic",
    ];
    let loaded: Vec<(&str, Vec<u8>)> = samples
        .iter()
        .map(|s| {
            let bytes = std::fs::read(camera.join(s)).unwrap_or_else(|e| {
                eprintln!("error: cannot read {s}: {e}");
                std::process::exit(2)
            });
            (*s, bytes)
        })
        .collect();

    // Per-format cost of one examination (content check + metadata + thumbnail) and of SHA-256.
    for (name, bytes) in &loaded {
        let reps = 20;
        let (_, t) = time(|| {
            for _ in 0..reps {
                std::hint::black_box(probity_imaging::examine(
                    Path::new(name),
                    bytes,
                    &IntakeOptions::default(),
                ));
            }
        });
        let (_, th) = time(|| {
            for _ in 0..reps {
                std::hint::black_box(probity_imaging::sha256_hex(bytes));
            }
        });
        println!(
            "per file {name:<26} {:8} bytes  examine {:7.2} ms  sha256 {:6.2} ms",
            bytes.len(),
            t * 1e3 / reps as f64,
            th * 1e3 / reps as f64
        );
    }

    let tmp = tempfile::Builder::new()
        .prefix("probity-imaging-bench-")
        .tempdir_in("/tmp")
        .unwrap_or_else(|e| {
            eprintln!("error: cannot create a folder under /tmp: {e}");
            std::process::exit(2)
        });
    let root = tmp.path();
    let halves = [root.join("DCIM/100A"), root.join("DCIM/100B")];
    for h in &halves {
        std::fs::create_dir_all(h).expect("create bench folders under /tmp");
    }
    let mut written = 0u64;
    let mut files = 0u64;
    let mut n = 0u64;
    while written < target {
        for (name, bytes) in &loaded {
            let copy = unique_copy(name, bytes, n);
            let dir = &halves[(files % 2) as usize];
            let path = dir.join(format!("{n:05}_{name}"));
            std::fs::write(&path, &copy).expect("write bench file under /tmp");
            written += copy.len() as u64;
            files += 1;
        }
        n += 1;
    }
    let mb = written as f64 / 1e6;
    println!(
        "intake bench: {files} files, {mb:.0} MB in {}",
        root.display()
    );

    // Warm the page cache so every contender reads from memory alike.
    let (_, warm) = time(|| {
        for h in &halves {
            for e in std::fs::read_dir(h).expect("list bench folder") {
                let p = e.expect("bench entry").path();
                let _ = std::fs::read(p);
            }
        }
    });
    println!("page-cache warm-up: {warm:.2} s");

    // Reference: exiftool -json, then sha256sum, over the same folder.
    let (exif_ok, t_exiftool) = time(|| {
        Command::new("exiftool")
            .args(["-json", "-r", "-q", "-q"])
            .arg(root)
            .stdout(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
    });
    let (sha_ok, t_sha) = time(|| {
        let mut cmd = Command::new("sha256sum");
        for h in &halves {
            for e in std::fs::read_dir(h).expect("list bench folder") {
                cmd.arg(e.expect("bench entry").path());
            }
        }
        cmd.stdout(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
    });
    let t_ref = t_exiftool + t_sha;
    match (&exif_ok, &sha_ok) {
        (Ok(_), Ok(_)) => {}
        _ => {
            eprintln!(
                "error: exiftool or sha256sum missing ({exif_ok:?}, {sha_ok:?}); run scripts/setup"
            );
            std::process::exit(2)
        }
    }

    // Probity, one thread: hash + content check + metadata + thumbnail per file.
    let (counts, t_one) = time(|| scan_all(&[root.to_path_buf()]));
    // Probity, two worker threads (scan_card_parallel), as the machine has two cores.
    let (counts2, t_two) = time(|| {
        let mut c = (0, 0, 0, 0);
        let results = probity_imaging::scan_card_parallel(root, IntakeOptions::default(), 2)
            .expect("bench folder exists");
        for item in results {
            count(&mut c, item);
        }
        c
    });
    assert_eq!(counts, counts2, "both runs classify alike");
    let (accepted, refused, thumbs, errors) = counts;
    println!("probity results: {accepted} accepted, {refused} refused, {thumbs} thumbnails, {errors} read errors");

    let line = |label: &str, t: f64| {
        println!(
            "{label:<44} {t:8.2} s {:9.1} files/s {:8.1} MB/s",
            files as f64 / t,
            mb / t
        );
    };
    line("exiftool -json", t_exiftool);
    line("sha256sum", t_sha);
    line("reference: exiftool -json + sha256sum", t_ref);
    line("probity scan_card (1 thread)", t_one);
    line("probity scan_card_parallel (2 threads)", t_two);
    println!(
        "ratio (reference time / probity time): 1 thread {:.2}x, 2 threads {:.2}x",
        t_ref / t_one,
        t_ref / t_two
    );
}

fn scan_all(roots: &[PathBuf]) -> (u64, u64, u64, u64) {
    let mut c = (0, 0, 0, 0);
    for r in roots {
        for item in scan_card(r, IntakeOptions::default()).expect("bench folder exists") {
            count(&mut c, item);
        }
    }
    c
}

fn count(
    c: &mut (u64, u64, u64, u64),
    item: Result<probity_imaging::CardFile, probity_imaging::ImagingError>,
) {
    match item {
        Ok(f) => {
            match f.decision {
                IntakeDecision::Accepted => c.0 += 1,
                _ => c.1 += 1,
            }
            if f.thumbnail.is_some() {
                c.2 += 1;
            }
        }
        Err(_) => c.3 += 1,
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let v = f();
    (v, start.elapsed().as_secs_f64())
}
