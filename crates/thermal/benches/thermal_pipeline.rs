//! Benchmark: frames per second for decode + temperature conversion + palette
//! rendering (iron, with scale bar) on each sample file, single core, and the
//! same pipeline in flyr (unpack + celsius + render) timed in the same run.
//!
//! Two rates per side: frames per wall-clock second, and frames per second of
//! CPU time of the measuring thread (Linux `/proc/thread-self/schedstat` for
//! ours, `time.thread_time()` for flyr). On a machine shared with other work
//! the wall-clock rate mostly measures the share of a core the scheduler
//! grants; the CPU-time rate is the single-core throughput. The load average
//! is printed before and after.
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
    n = 0; start = time.perf_counter(); cpu0 = time.thread_time()
    while True:
        t = flyr.unpack(path)
        c = t.celsius
        rgb = t.render(palette="inferno")
        n += 1
        el = time.perf_counter() - start
        if el >= secs and n >= 3: break
    cpu = time.thread_time() - cpu0
    print("%s\t%.3f\t%.3f" % (os.path.basename(path), n / el, n / cpu))
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
    println!(
        "load average before: {} ({} CPUs)",
        load_average(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let mut ours = Vec::new();
    for p in &files {
        let bytes = std::fs::read(p).expect("read sample");
        let opts = opts_for(p);
        let img = decode(&bytes, &opts).expect("decode sample");
        let res = format!("{}x{}", img.width(), img.height());
        // Frames per wall-clock second and per CPU second of this thread.
        let run = |with_png: bool| {
            let start = Instant::now();
            let cpu0 = thread_cpu_seconds();
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
            let wall = f64::from(n) / start.elapsed().as_secs_f64();
            let cpu = match (cpu0, thread_cpu_seconds()) {
                (Some(a), Some(b)) if b > a => f64::from(n) / (b - a),
                _ => f64::NAN,
            };
            (wall, cpu)
        };
        let (fps, fps_cpu) = run(false);
        let (fps_png, _) = run(true);
        let name = p
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        ours.push((name, res, fps, fps_cpu, fps_png));
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
            if let (Some(name), Some(wall)) = (f.next(), f.next()) {
                let cpu = f.next().and_then(|v| v.parse::<f64>().ok());
                let rates = wall.parse::<f64>().ok().zip(cpu);
                flyr.insert(name.to_string(), rates);
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
        "{:<30} {:>8} {:>10} {:>10} {:>9} {:>10} {:>10} {:>7} {:>7}",
        "file",
        "size",
        "wall fr/s",
        "CPU fr/s",
        "+PNG wall",
        "flyr wall",
        "flyr CPU",
        "x wall",
        "x CPU"
    );
    let mut ratios = Vec::new();
    let (mut min_fps, mut min_cpu) = (f64::INFINITY, f64::INFINITY);
    for (name, res, fps, fps_cpu, fps_png) in &ours {
        min_fps = min_fps.min(*fps);
        min_cpu = min_cpu.min(*fps_cpu);
        let (fw, fc, rw, rc) = match flyr.get(name) {
            Some(Some((w, c))) => {
                ratios.push((fps / w, fps_cpu / c));
                (
                    format!("{w:.1}"),
                    format!("{c:.1}"),
                    format!("{:.0}x", fps / w),
                    format!("{:.0}x", fps_cpu / c),
                )
            }
            Some(None) => ("fails".into(), "fails".into(), "-".into(), "-".into()),
            None => ("-".into(), "-".into(), "-".into(), "-".into()),
        };
        println!(
            "{name:<30} {res:>8} {fps:>10.1} {fps_cpu:>10.1} {fps_png:>9.1} {fw:>10} {fc:>10} {rw:>7} {rc:>7}"
        );
    }
    println!("slowest file: {min_fps:.1} frames/s wall clock, {min_cpu:.1} frames/s of CPU time (goal >= 200)");
    if !ratios.is_empty() {
        let geo = |f: fn(&(f64, f64)) -> f64| {
            (ratios.iter().map(|r| f(r).ln()).sum::<f64>() / ratios.len() as f64).exp()
        };
        let low = |f: fn(&(f64, f64)) -> f64| ratios.iter().map(f).fold(f64::INFINITY, f64::min);
        println!(
            "speed-up over flyr: geometric mean {:.0}x wall / {:.0}x CPU, lowest {:.0}x wall / {:.0}x CPU (goal >= 50x)",
            geo(|r| r.0),
            geo(|r| r.1),
            low(|r| r.0),
            low(|r| r.1)
        );
    }
    println!("load average after: {}", load_average());
}

/// CPU time consumed by the calling thread, from Linux's schedstat.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 / 1e9)
}

/// The 1, 5 and 15 minute load averages, when the system reports them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
