//! Enrolment throughput (decode + detect + align + embed), faces per second, against the Python
//! `face_recognition` package over the same images in the same run.
//!
//! Run: `cargo bench -p probity-face --bench enrol`. The reference needs
//! `crates/face/bench/reference-setup.sh` first (builds dlib from source; outside CI); without it
//! only Probity's figures are printed. Env: BENCH_IMAGES (default 300), PROBITY_FACE_REF_PYTHON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use probity_face::algorithm::{lookup, DLIB_RESNET_V1, FACENET_512, FUSION_DLIB_FACENET};
use probity_face::{model_dir, FaceEngine, GalleryPhoto, RecordId};

fn images(n: usize) -> Vec<PathBuf> {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let lfw = base.join("faces/lfw");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&lfw)
        .unwrap_or_else(|e| panic!("{}: {e}; set PROBITY_TEST_DATA", lfw.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for d in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        files.sort();
        out.extend(files);
        if out.len() >= n {
            break;
        }
    }
    out.truncate(n);
    out
}

/// How the images are enrolled.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// Repository photographs, as gallery import and re-templating do: `detect_for_enrolment`
    /// (HOG at the photo's scale, doubled only when that finds no face), the largest face.
    Repository,
    /// Every face found with the probe detection (one doubling), as face_recognition's defaults do.
    EveryFace,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Repository => "repository (largest face, doubling only when none found)",
            Mode::EveryFace => "every face, one doubling",
        }
    }
}

/// Enrols the images with dlib-resnet-v1; returns faces enrolled.
fn enrol_all(paths: &[PathBuf], threads: usize, mode: Mode) -> usize {
    enrol_with(DLIB_RESNET_V1, paths, threads, mode)
}

/// Enrols the images with `algorithm`; returns faces enrolled.
fn enrol_with(algorithm: &str, paths: &[PathBuf], threads: usize, mode: Mode) -> usize {
    let spec = lookup(algorithm).expect("registered");
    let dir = model_dir();
    // One BLAS thread per engine (the reference runs with one too).
    probity_face::dlib::set_blas_threads(1);
    let next = AtomicUsize::new(0);
    let faces = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut e = FaceEngine::open(spec, &dir).expect("models: run scripts/setup");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = paths.get(i) else { break };
                    let img = image::open(p).expect("decode").to_rgb8();
                    let mut found = match mode {
                        Mode::Repository => e.detect_for_enrolment(&img).expect("detect"),
                        Mode::EveryFace => e.detect(&img).expect("detect"),
                    };
                    if mode == Mode::Repository {
                        found.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
                        found.truncate(1);
                    }
                    for f in &found {
                        let photo = GalleryPhoto {
                            record: RecordId(i as u64),
                            image: &img,
                        };
                        let _ = e.enrol_found(photo, f).expect("embed");
                    }
                    faces.fetch_add(found.len(), Ordering::Relaxed);
                }
            });
        }
    });
    faces.into_inner()
}

/// Runs the reference in `mode` (`default` or `repository`); faces per second.
fn reference(python: &str, list: &Path, mode: &str) -> Option<f64> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/face_recognition_ref.py");
    match Command::new(python)
        .arg(&script)
        .arg(list)
        .arg(mode)
        .env("OMP_NUM_THREADS", "1")
        .env("OPENBLAS_NUM_THREADS", "1")
        .output()
    {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("reference JSON");
            let faces = v["faces"].as_f64().unwrap_or(0.0);
            let secs = v["seconds"].as_f64().unwrap_or(f64::NAN);
            println!(
                "  face_recognition 1.3.0 (python, dlib 19.24.6, 1 thread), {mode}: {faces} faces in {secs:.1}s = {:.1} faces/s",
                faces / secs
            );
            Some(faces / secs)
        }
        Ok(o) => {
            println!("  reference failed: {}", String::from_utf8_lossy(&o.stderr));
            None
        }
        Err(e) => {
            println!("  reference not installed ({python}: {e}); run crates/face/bench/reference-setup.sh");
            None
        }
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_IMAGES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let paths = images(n);
    println!(
        "enrolment benchmark: {} LFW images (250×250 JPEG), dlib-resnet-v1 (chip + mirror)",
        paths.len()
    );
    // Warm-up (page cache, model load).
    enrol_all(&paths[..paths.len().min(10)], 1, Mode::Repository);
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    let mut ours = Vec::new();
    for mode in [Mode::Repository, Mode::EveryFace] {
        for threads in [1, cores] {
            let t = Instant::now();
            let faces = enrol_all(&paths, threads, mode);
            let s = t.elapsed().as_secs_f64();
            println!(
                "  probity, {}, {threads} thread(s): {faces} faces in {s:.1}s = {:.1} faces/s",
                mode.label(),
                faces as f64 / s
            );
            ours.push((mode, threads, faces as f64 / s));
        }
    }
    // The other registered algorithms beside dlib-resnet-v1, repository photos on all cores: the
    // fusion runs both networks, so it costs their sum.
    for algorithm in [FACENET_512, FUSION_DLIB_FACENET] {
        let t = Instant::now();
        let faces = enrol_with(algorithm, &paths, cores, Mode::Repository);
        let s = t.elapsed().as_secs_f64();
        println!(
            "  probity {algorithm}, {}, {cores} thread(s): {faces} faces in {s:.1}s = {:.1} faces/s",
            Mode::Repository.label(),
            faces as f64 / s
        );
    }
    let python = std::env::var("PROBITY_FACE_REF_PYTHON").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/face-ref-venv/bin/python")
            .display()
            .to_string()
    });
    let list = std::env::temp_dir().join("probity-enrol-bench.txt");
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(&list, text).expect("list");
    let Some(default) = reference(&python, &list, "default") else {
        return;
    };
    let repository = reference(&python, &list, "repository");
    for (mode, threads, fps) in ours {
        println!(
            "RATIO probity {}, {threads} thread(s) / face_recognition defaults: {:.2}x",
            mode.label(),
            fps / default
        );
        if let (Mode::Repository, Some(r)) = (mode, repository) {
            println!(
                "RATIO probity {}, {threads} thread(s) / face_recognition with the same policy: {:.2}x",
                mode.label(),
                fps / r
            );
        }
    }
}
