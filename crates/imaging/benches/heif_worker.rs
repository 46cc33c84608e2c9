//! What decoding HEIC in a worker process costs per file, against libheif in the calling
//! process as before: the iPhone 8 sample (4032 × 3024, 48 tiles) decoded in full, its
//! 320 × 240 thumbnail item, and a HEIF whose image data is missing (process start, libheif
//! set-up and the reply only).
//!
//! Run: `cargo bench -p probity-imaging --bench heif_worker`
//! Env: PROBITY_TEST_DATA (sample folder), PROBITY_BENCH_HEIF_RUNS (default 20),
//! PROBITY_BENCH_PROBITY (path of a built `probity` binary, to time it as the worker too).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};
use probity_imaging::heif_worker::WORKER_ARGUMENT;
use probity_imaging::{DecodeLimits, HeifWorker};

fn camera(name: &str) -> Vec<u8> {
    let dir = match std::env::var_os("PROBITY_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    let p = dir.join("camera").join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        eprintln!(
            "error: cannot read {}: {e}; set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        );
        std::process::exit(2)
    })
}

/// libheif in this process: primary image or its first thumbnail to interleaved RGB.
fn in_process(lib: &LibHeif, bytes: &[u8], thumbnail: bool) -> usize {
    let Ok(ctx) = HeifContext::read_from_bytes(bytes) else {
        return 0;
    };
    let Ok(mut handle) = ctx.primary_image_handle() else {
        return 0;
    };
    if thumbnail {
        let mut ids = vec![0; handle.number_of_thumbnails()];
        let n = handle.thumbnail_ids(&mut ids);
        match ids.iter().take(n).find_map(|&id| handle.thumbnail(id).ok()) {
            Some(t) => handle = t,
            None => return 0,
        }
    }
    let Ok(img) = lib.decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None) else {
        return 0;
    };
    let Some(plane) = img.planes().interleaved else {
        return 0;
    };
    let row = plane.width as usize * 3;
    let mut out = Vec::with_capacity(row * plane.height as usize);
    for y in 0..plane.height as usize {
        out.extend_from_slice(&plane.data[y * plane.stride..y * plane.stride + row]);
    }
    out.len()
}

fn median(mut t: Vec<Duration>) -> Duration {
    t.sort();
    t[t.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..runs)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs: usize = std::env::var("PROBITY_BENCH_HEIF_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let sample = camera("apple_iphone8.heic");
    let hollow = camera("heic_metadata_only.heic");
    let limits = DecodeLimits::default();
    let lib = LibHeif::new();
    let mut workers = vec![(
        "probity-heif-worker",
        HeifWorker::new(env!("CARGO_BIN_EXE_probity-heif-worker")),
    )];
    if let Some(p) = std::env::var_os("PROBITY_BENCH_PROBITY") {
        let mut w = HeifWorker::new(p);
        w.args = vec![WORKER_ARGUMENT.into()];
        workers.push(("probity heif-decode-worker", w));
    }
    println!("HEIC decoding, median of {runs} runs per row");
    let full = time(runs, || {
        assert!(in_process(&lib, &sample, false) > 0);
    });
    let thumb = time(runs, || {
        assert!(in_process(&lib, &sample, true) > 0);
    });
    println!(
        "  in process (libheif)       full 4032x3024 {:>9}   thumbnail 320x240 {:>9}",
        ms(full),
        ms(thumb)
    );
    for (name, w) in &workers {
        let wfull = time(runs, || {
            assert!(w.decode(&sample, &limits).is_ok());
        });
        let wthumb = time(runs, || {
            assert!(w
                .thumbnail_or_primary(&sample, &limits, 128)
                .is_ok_and(|(_, thumb)| thumb));
        });
        let empty = time(runs, || {
            assert!(w.decode(&hollow, &limits).is_err());
        });
        println!(
            "  worker: {name:<26} full 4032x3024 {:>9} (+{})   thumbnail {:>9} (+{})   no image data {:>9}",
            ms(wfull),
            ms(wfull.saturating_sub(full)),
            ms(wthumb),
            ms(wthumb.saturating_sub(thumb)),
            ms(empty),
        );
    }
}
