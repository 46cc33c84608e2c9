//! Runs decode + °C conversion + iron palette on one file a given number of
//! times; for profiling (`valgrind --tool=callgrind`).
//!
//! Run: `cargo run --release -p probity-thermal --example pipeline -- FILE [N [STAGE]]`
//! with STAGE `decode`, `celsius` or `render` (the default) to stop early.
//! (a `.tiff` file is converted with the 0.04 K/count calibration).

use probity_thermal::{decode, render, Calibration, DecodeOptions, RenderOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: pipeline FILE [N [decode|celsius|render]]");
        std::process::exit(2);
    };
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    // Optional stage to stop after: decode, celsius or render (default).
    let stage = args.next().unwrap_or_else(|| "render".into());
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let opts = DecodeOptions {
        calibration: path
            .ends_with(".tiff")
            .then_some(Calibration::FORTY_MILLIKELVIN),
        ..Default::default()
    };
    for _ in 0..n {
        let result = decode(&bytes, &opts).and_then(|img| {
            if stage == "decode" {
                std::hint::black_box(img);
                return Ok(());
            }
            let t = img.temperatures()?;
            if stage == "celsius" {
                std::hint::black_box(t);
                return Ok(());
            }
            std::hint::black_box(render(&t, &RenderOptions::default())?);
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(e) => {
                eprintln!("{path}: {e}");
                std::process::exit(1);
            }
        }
    }
}
