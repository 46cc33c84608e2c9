//! TH-02 radiometric trust: every real sample is radiometric; a copy of a
//! sample whose calibration is replaced by placeholder constants, whose model
//! is a non-radiometric FLIR Vue Pro or whose stated range contradicts its
//! calibration is decoded for viewing only and never gives temperatures.

mod common;

use probity_thermal::{
    decode, detect_hot_spots_relative, render_live, render_relative, Calibration, DecodeOptions,
    LiveFrame, LiveRenderOptions, Radiometry, RelativeHotSpotParams, RenderOptions, ThermalError,
    ThermalImage,
};
use std::path::PathBuf;

fn options_for(file: &str) -> DecodeOptions {
    DecodeOptions {
        calibration: file
            .ends_with(".tiff")
            .then_some(Calibration::FORTY_MILLIKELVIN),
        ..Default::default()
    }
}

#[test]
fn th_02_every_sample_file_is_radiometric() {
    let files = common::sample_files();
    assert!(
        files.len() >= 8,
        "expected the thermal samples, found {files:?}"
    );
    for file in files {
        let img = decode(&common::read(&file), &options_for(&file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(
            img.radiometry(),
            &Radiometry::Radiometric,
            "{file} must decode as radiometric"
        );
        let stats = img
            .temperatures()
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .stats()
            .unwrap_or_else(|| panic!("{file}: no finite temperature"));
        assert!(
            stats.min_c > -60.0 && stats.max_c < 600.0,
            "{file}: {stats:?}"
        );
    }
}

/// Offsets inside the bare FFF sample: the camera record's start, and
/// whether the record is little-endian (its byte-order word reads 2 that way).
fn camera_record(fff: &[u8]) -> (usize, bool) {
    let be32 = |o: usize| {
        let b: [u8; 4] = fff[o..o + 4].try_into().expect("4 bytes");
        u32::from_be_bytes(b) as usize
    };
    let (dir, n) = (be32(0x18), be32(0x1C));
    let start = (0..n)
        .map(|i| dir + i * 32)
        .find(|&e| u16::from_be_bytes([fff[e], fff[e + 1]]) == 0x20)
        .map(|e| be32(e + 0x0C))
        .expect("camera record");
    let le = u16::from_le_bytes([fff[start], fff[start + 1]]) == 2;
    (start, le)
}

fn put_f32(buf: &mut [u8], at: usize, le: bool, v: f32) {
    let b = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    buf[at..at + 4].copy_from_slice(&b);
}

fn put_i32(buf: &mut [u8], at: usize, le: bool, v: i32) {
    let b = if le { v.to_le_bytes() } else { v.to_be_bytes() };
    buf[at..at + 4].copy_from_slice(&b);
}

/// Writes a patched copy of the Duo Pro R sample to a temporary file and
/// reads it back, as a camera's file would arrive.
fn patched_sample(name: &str, patch: impl FnOnce(&mut [u8], usize, bool)) -> Vec<u8> {
    let mut bytes = common::read("flir_duo_pro_r_frame.fff");
    let (cam, le) = camera_record(&bytes);
    patch(&mut bytes, cam, le);
    let path: PathBuf =
        std::env::temp_dir().join(format!("probity-thermal-{}-{name}.fff", std::process::id()));
    std::fs::write(&path, &bytes).expect("write the patched sample");
    let back = std::fs::read(&path).expect("read the patched sample");
    std::fs::remove_file(&path).expect("remove the patched sample");
    back
}

/// Placeholder calibration: R1 = R2 = B = F = 1, O = 0.
fn placeholder_constants(b: &mut [u8], cam: usize, le: bool) {
    put_f32(b, cam + 0x58, le, 1.0); // PlanckR1
    put_f32(b, cam + 0x5C, le, 1.0); // PlanckB
    put_f32(b, cam + 0x60, le, 1.0); // PlanckF
    put_i32(b, cam + 0x308, le, 0); // PlanckO
    put_f32(b, cam + 0x30C, le, 1.0); // PlanckR2
}

fn assert_viewing_only(img: &ThermalImage, bytes: &[u8], why: &str) {
    let reason = img
        .radiometry()
        .reason()
        .unwrap_or_else(|| panic!("{why}: decoded as radiometric"))
        .to_string();
    assert!(
        reason.contains(why),
        "reason {reason:?} should mention {why:?}"
    );
    let e = img
        .temperatures()
        .expect_err("temperatures must be refused");
    assert!(
        matches!(e, ThermalError::TemperaturesUnavailable { .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains(Radiometry::UNAVAILABLE) && msg.contains(&reason),
        "{msg}"
    );

    // Viewing works: relative rendering without a °C scale.
    let rel = img.relative_intensity();
    assert_eq!((rel.width(), rel.height()), (img.width(), img.height()));
    assert!(rel.values().iter().all(|v| (0.0..=1.0).contains(v)));
    let heat = render_relative(&rel, &RenderOptions::default()).expect("relative rendering");
    assert_eq!((heat.width(), heat.height()), (img.width(), img.height()));
    assert!(heat.to_png().expect("png").len() > 100);
    let spots = detect_hot_spots_relative(&rel, &RelativeHotSpotParams::default())
        .expect("relative detection");
    assert!(!spots.is_empty(), "the sample has a brightest percentile");
    assert!(spots.iter().all(|s| s.peak_relative <= 1.0));

    // The live path views it too and reports no temperature.
    let frame = LiveFrame::from_radiometric(bytes, &DecodeOptions::default()).expect("live frame");
    assert!(!frame.radiometry().is_radiometric());
    let view = render_live(&frame, &LiveRenderOptions::default()).expect("live rendering");
    assert!(!view.radiometry.is_radiometric());
    assert!(view.spot_c.is_nan() && view.min_c.is_nan() && view.max_c.is_nan());
    assert!(view.mean_c.is_nan());
    assert!(!view.image.as_bytes().is_empty());
}

#[test]
fn th_02_placeholder_calibration_is_not_radiometric() {
    let bytes = patched_sample("placeholder", placeholder_constants);
    let img = decode(&bytes, &DecodeOptions::default()).expect("decodes for viewing");
    assert_viewing_only(&img, &bytes, "placeholder constants");
    // Without the trust rule these constants give "temperatures" that look
    // like readings; with it they are never reported.
    let Calibration::Planck(p) = *img.calibration() else {
        panic!("expected the file's Planck calibration");
    };
    assert_eq!((p.planck_r1, p.planck_b, p.planck_o), (1.0, 1.0, 0.0));
}

#[test]
fn th_02_non_radiometric_camera_model_is_not_radiometric() {
    let bytes = patched_sample("vue-pro", |b, cam, _| {
        let model = b"FLIR Vue Pro 640\0";
        b[cam + 0xD4..cam + 0xD4 + 32].fill(0);
        b[cam + 0xD4..cam + 0xD4 + model.len()].copy_from_slice(model);
    });
    let img = decode(&bytes, &DecodeOptions::default()).expect("decodes for viewing");
    assert_eq!(
        img.metadata().camera.model.as_deref(),
        Some("FLIR Vue Pro 640")
    );
    assert_viewing_only(&img, &bytes, "Vue Pro");
}

#[test]
fn th_02_raw_range_beyond_the_stated_range_is_not_radiometric() {
    // The camera claims to measure 400..550 °C; its counts convert to room temperatures.
    let bytes = patched_sample("stated-range", |b, cam, le| {
        put_f32(b, cam + 0x90, le, 550.0 + 273.15);
        put_f32(b, cam + 0x94, le, 400.0 + 273.15);
    });
    let img = decode(&bytes, &DecodeOptions::default()).expect("decodes for viewing");
    assert_viewing_only(&img, &bytes, "stated range");
}

#[test]
fn th_02_real_constants_given_by_the_caller_restore_temperatures() {
    let bytes = patched_sample("restore", placeholder_constants);
    let mut img = decode(&bytes, &DecodeOptions::default()).expect("decodes for viewing");
    assert!(img.temperatures().is_err());
    let mut duo =
        probity_thermal::RadiometricParams::from_planck(364058.0, 1.0, 1428.0, 1.0, -228.0);
    duo.emissivity = 1.0;
    img.set_calibration(Calibration::Planck(duo))
        .expect("valid constants");
    assert_eq!(img.radiometry(), &Radiometry::Radiometric);
    assert!(img.temperatures().is_ok());
}
