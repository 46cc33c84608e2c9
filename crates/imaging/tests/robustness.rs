//! Damaged copies of every sample never panic: each call returns a value or a specific error
//! (DC-06 bad input, FR-07 probes from untrusted sources).

mod common;

use std::path::Path;

use common::read_camera;
use probity_imaging::{
    decode_still, examine, make_thumbnail, read_metadata, DecodeLimits, IntakeOptions,
};

fn exercise(name: &str, bytes: &[u8]) {
    let limits = DecodeLimits::default();
    let _ = read_metadata(bytes);
    let _ = examine(Path::new(name), bytes, &IntakeOptions::default());
    let _ = make_thumbnail(bytes, 128, &limits);
    let _ = decode_still(bytes, &limits);
}

#[test]
fn dc_06_truncated_and_bit_flipped_copies_never_panic() {
    for name in [
        "apple_iphone4.jpg",
        "apple_minimal.jpg",
        "nikon_d70.jpg",
        "nikon_d70_stripped.nef",
        "apple_iphone8.heic",
        "heic_metadata_only.heic",
    ] {
        let bytes = read_camera(name);
        let len = bytes.len();
        // Cuts through the header region byte by byte-ish, then through the body.
        let mut cuts: Vec<usize> = (0..len.min(4096)).step_by(97).collect();
        cuts.extend((1..12).map(|i| len * i / 12));
        for cut in cuts {
            exercise(name, &bytes[..cut]);
        }
        // Deterministic bit flips in the metadata region (a simple LCG picks positions).
        let mut state = 0x2545F491u64;
        let region = len.min(16 * 1024);
        let flips = if len > 1_000_000 { 6 } else { 24 };
        for _ in 0..flips {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let pos = (state >> 33) as usize % region;
            let mut copy = bytes.clone();
            copy[pos] ^= 1 << ((state >> 29) & 7);
            exercise(name, &copy);
        }
    }
}
