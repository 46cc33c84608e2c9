//! Deterministic robustness corpus: the sample files and truncations and bit
//! flips of them must give a frame or a clear error, never a panic. The
//! cargo-fuzz target in fuzz/ explores the same entry points at random.

mod common;

use probity_thermal::{
    decode_frames, is_radiometric_jpeg, is_thermal_content, Calibration, DecodeOptions,
};

/// What the fuzz target does with one input.
fn exercise(bytes: &[u8]) {
    let _ = is_radiometric_jpeg(bytes);
    let _ = is_thermal_content(bytes);
    let opts = DecodeOptions {
        calibration: Some(Calibration::FORTY_MILLIKELVIN),
        ..Default::default()
    };
    for opts in [DecodeOptions::default(), opts] {
        let Ok(frames) = decode_frames(bytes, &opts) else {
            continue;
        };
        for frame in frames.take(3) {
            match frame {
                Ok(img) => {
                    if let Ok(t) = img.temperatures() {
                        let _ = t.stats();
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

#[test]
fn th_02_corpus_of_truncations_and_bit_flips_never_panics() {
    let mut files: Vec<String> = common::sample_files();
    files.push("negative/flir_exif_without_thermal_segment.jpg".into());
    files.push("negative/flir_metadata_with_placeholder_image.jpg".into());
    let mut rng = Lcg(0x5EED);
    let mut cases = 0;
    for name in files {
        let orig = common::read(&name);
        exercise(&orig);
        // Where the thermal record begins (FLIR APP1 or FFF header), else 0.
        let hot = orig
            .windows(5)
            .position(|w| w == b"FLIR\0" || w == b"FFF\0\0")
            .unwrap_or(0);
        for i in 1..24 {
            exercise(&orig[..orig.len() * i / 24]);
            exercise(&orig[..(hot + i * 40).min(orig.len())]);
            cases += 2;
        }
        for k in 0..60 {
            let mut m = orig.clone();
            let region = if k % 2 == 0 {
                orig.len()
            } else {
                4096.min(orig.len() - hot)
            };
            let base = if k % 2 == 0 { 0 } else { hot };
            for _ in 0..1 + k % 4 {
                let p = base + rng.next(region);
                m[p] ^= 1 << rng.next(8);
            }
            exercise(&m);
            cases += 1;
        }
    }
    // Inputs built to hit limits and edge cases.
    for bytes in [
        &b""[..],
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\x00\x0aFLIR\0\x01\x00\x00",
        b"\xff\xd8\xff\xe1\x00\x02",
        b"FFF\0",
        b"P5 65535 65535 65535\n",
        b"P5 0 0 65535\n",
        b"II*\0\x08\0\0\0",
    ] {
        exercise(bytes);
        cases += 1;
    }
    assert!(cases > 1000, "{cases}");
}
