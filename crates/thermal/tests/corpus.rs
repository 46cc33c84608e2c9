//! Deterministic robustness corpus: the sample files and truncations and bit
//! flips of them must give a frame or a clear error, never a panic. The
//! cargo-fuzz targets in fuzz/ explore the same entry points at random; their
//! small seed corpus (fuzz/seeds/decode, written by fuzz/make_seeds.py) and
//! mutations of it run here too. Crash reproducers of the raw_codecs target
//! (fuzz/regressions/raw_codecs) replay in the unit test of the crate's
//! `fuzzing` module; a crash of the decode target belongs in the list
//! `DECODE_REPRODUCERS` below.

mod common;

use probity_thermal::{
    decode_frames, is_radiometric_jpeg, is_thermal_content, Calibration, DecodeOptions,
};

/// Inputs that crashed the decode fuzz target, each fixed with a test named
/// after its rule; replayed by the corpus test (see the README's Fuzzing
/// section).
const DECODE_REPRODUCERS: &[&[u8]] = &[
    // th_bad_input_fff_directory_offset_beyond_the_record_allocates_nothing_large
    include_bytes!("../fuzz/regressions/decode/jpeg_fff_directory_offset_4gb"),
];

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
    // Inputs built to hit limits and edge cases, and DECODE_REPRODUCERS.
    for bytes in DECODE_REPRODUCERS.iter().copied().chain([
        &b""[..],
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\x00\x0aFLIR\0\x01\x00\x00",
        b"\xff\xd8\xff\xe1\x00\x02",
        b"FFF\0",
        b"P5 65535 65535 65535\n",
        b"P5 0 0 65535\n",
        b"II*\0\x08\0\0\0",
    ]) {
        exercise(bytes);
        cases += 1;
    }
    assert!(cases > 1000, "{cases}");
}

fn fuzz_dir(sub: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(sub);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), bytes)
        })
        .collect()
}

#[test]
fn th_02_fuzz_seeds_decode_and_their_mutations_never_panic() {
    let seeds = fuzz_dir("seeds/decode");
    assert!(seeds.len() >= 10, "{}", seeds.len());
    let opts = DecodeOptions {
        calibration: Some(Calibration::FORTY_MILLIKELVIN),
        ..Default::default()
    };
    let mut rng = Lcg(0xF022);
    for (name, orig) in &seeds {
        // Every seed is a valid frame (or sequence) for its decoding path.
        let frames: Vec<_> = decode_frames(orig, &opts)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .collect();
        assert!(!frames.is_empty(), "{name}");
        for f in &frames {
            assert!(f.is_ok(), "{name}: {:?}", f.as_ref().err());
        }
        if name.ends_with(".seq") {
            assert_eq!(frames.len(), 3, "{name}");
        }
        for i in 0..orig.len().min(64) {
            exercise(&orig[..orig.len() * i / 64]);
        }
        for k in 0..200 {
            let mut m = orig.clone();
            for _ in 0..1 + k % 4 {
                let p = rng.next(m.len());
                m[p] = if k % 3 == 0 {
                    rng.next(256) as u8
                } else {
                    m[p] ^ (1 << rng.next(8))
                };
            }
            exercise(&m);
        }
    }
}
