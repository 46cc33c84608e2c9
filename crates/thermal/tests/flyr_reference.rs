//! TH-02 correctness: every file flyr decodes must match flyr's temperature
//! map within 0.05 °C at every pixel, with flyr run in the same test.

mod common;

use probity_thermal::{decode, DecodeOptions};

#[test]
fn th_02_temperature_map_matches_flyr_on_every_pixel() {
    let mut compared = Vec::new();
    let mut flyr_failed = Vec::new();
    for name in common::sample_files() {
        let path = common::thermal(&name);
        let Some((fw, fh, reference)) = common::flyr_celsius(&path) else {
            flyr_failed.push(name);
            continue;
        };
        let img = decode(&common::read(&name), &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((img.width(), img.height()), (fw, fh), "{name}: dimensions");
        let temps = img.temperatures().unwrap();
        let mut worst = 0f64;
        for (i, (&ours, &theirs)) in temps.celsius().iter().zip(&reference).enumerate() {
            let d = (f64::from(ours) - theirs).abs();
            assert!(
                d <= 0.05,
                "{name}: pixel ({}, {}) is {ours} °C, flyr says {theirs} °C",
                i as u32 % fw,
                i as u32 / fw
            );
            worst = worst.max(d);
        }
        eprintln!(
            "{name}: {} pixels, worst difference {worst:.6} °C",
            reference.len()
        );
        compared.push(name);
    }
    // The README lists four files flyr decodes; they must all have been compared.
    for expected in [
        "flir_ax8.jpg",
        "flir_e40.jpg",
        "flir_one_example.jpg",
        "flir_t640.jpg",
    ] {
        assert!(
            compared.iter().any(|n| n == expected),
            "{expected} was not compared against flyr (flyr failed on it?)"
        );
    }
    eprintln!("flyr could not decode: {flyr_failed:?}");
}
