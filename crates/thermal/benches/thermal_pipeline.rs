//! Benchmark: frames per second for decode + temperature conversion + palette
//! rendering (iron, with scale bar) on each sample file, single core, and the
//! same pipeline in flyr (unpack + celsius + render) timed in the same run.
//!
//! Run: `cargo bench -p probity-thermal --bench thermal_pipeline`
//! Env: PROBITY_TEST_DATA (sample data), PROBITY_PYTHON (venv python with flyr),
//!      BENCH_SECONDS (time per file and side, default 2).

use probity_thermal::{decode, render, Calibration, DecodeOptions, Palette, RenderOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const FLYR_BENCH: &str = r#"
import sys, time, os
import flyr
secs = float(sys.argv[1])
for path in sys.argv[2:]:
    try:
        t = flyr.unpack(path); t.celsius; t.render(palette="inferno")
    except Exception as e:
        print("%s\tfail\t%s" % (os.path.basename(path), type(e).__name__)); continue
    n = 0; start = time.perf_counter()
    while True:
        t = flyr.unpack(path)
        c = t.celsius
        rgb = t.render(palette="inferno")
        n += 1
        el = time.perf_counter() - start
        if el >= secs and n >= 3: break
    print("%s\t%.3f" % (os.path.basename(path), n / el))
    sys.stdout.flush()
"#;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"))
        .join("thermal");
    if !data.is_dir() {
        eprintln!(
            "sample data missing at {}; set PROBITY_TEST_DATA",
            data.display()
        );
        std::process::exit(2);
    }
    let python = std::env::var_os("PROBITY_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let secs: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("read sample dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with(".txt"))
        .collect();
    files.sort();

    let opts_for = |p: &Path| DecodeOptions {
        calibration: p
            .extension()
            .is_some_and(|e| e == "tiff")
            .then_some(Calibration::FORTY_MILLIKELVIN),
        ..Default::default()
    };
    let render_opts = RenderOptions {
        palette: Palette::Iron,
        ..Default::default()
    };

    println!("thermal pipeline benchmark: decode + °C conversion + iron palette with scale bar, single thread");
    let mut ours = Vec::new();
    for p in &files {
        let bytes = std::fs::read(p).expect("read sample");
        let opts = opts_for(p);
        let img = decode(&bytes, &opts).expect("decode sample");
        let res = format!("{}x{}", img.width(), img.height());
        let run = |with_png: bool| {
            let start = Instant::now();
            let mut n = 0u32;
            while start.elapsed() < Duration::from_secs_f64(secs) || n < 10 {
                let img = decode(&bytes, &opts).expect("decode");
                let t = img.temperatures().expect("convert");
                let heat = render(&t, &render_opts).expect("render");
                if with_png {
                    std::hint::black_box(heat.to_png().expect("png"));
                } else {
                    std::hint::black_box(heat);
                }
                n += 1;
            }
            f64::from(n) / start.elapsed().as_secs_f64()
        };
        let fps = run(false);
        let fps_png = run(true);
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        ours.push((name, res, fps, fps_png));
    }

    let mut flyr = std::collections::HashMap::new();
    if python.exists() {
        let out = Command::new(&python)
            .env("OMP_NUM_THREADS", "1")
            .env("OPENBLAS_NUM_THREADS", "1")
            .arg("-c")
            .arg(FLYR_BENCH)
            .arg(secs.to_string())
            .args(&files)
            .output()
            .expect("run flyr benchmark");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut f = line.split('\t');
            if let (Some(name), Some(v)) = (f.next(), f.next()) {
                flyr.insert(name.to_string(), v.parse::<f64>().ok());
            }
        }
        if !out.status.success() {
            eprintln!(
                "flyr benchmark failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    } else {
        eprintln!("no reference python at {} (run scripts/setup or set PROBITY_PYTHON); flyr column empty", python.display());
    }

    println!(
        "{:<34} {:>9} {:>12} {:>14} {:>11} {:>9}",
        "file", "size", "ours fr/s", "+PNG enc fr/s", "flyr fr/s", "ratio"
    );
    let mut ratios = Vec::new();
    let mut min_fps = f64::INFINITY;
    for (name, res, fps, fps_png) in &ours {
        min_fps = min_fps.min(*fps);
        let (f, r) = match flyr.get(name) {
            Some(Some(v)) => {
                ratios.push(fps / v);
                (format!("{v:.1}"), format!("{:.0}x", fps / v))
            }
            Some(None) => ("fails".into(), "-".into()),
            None => ("-".into(), "-".into()),
        };
        println!("{name:<34} {res:>9} {fps:>12.1} {fps_png:>14.1} {f:>11} {r:>9}");
    }
    println!("slowest file: {min_fps:.1} frames/s (goal >= 200)");
    if !ratios.is_empty() {
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let min = ratios.iter().cloned().fold(f64::INFINITY, f64::min);
        println!("speed-up over flyr: geometric mean {geo:.0}x, lowest {min:.0}x (goal >= 50x)");
    }
}
