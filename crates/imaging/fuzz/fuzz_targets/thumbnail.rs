//! Fuzz target for gallery thumbnails: `make_thumbnail` with the intake
//! limits. Reaches the JPEG header scan and DCT-scaled decoding, the EXIF
//! and Nikon maker-note preview search, TIFF/NEF embedded previews, HEIF
//! thumbnail items and the full-decode fallback. The smallest side (16 px)
//! lets the small embedded previews of the seeds qualify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probity_imaging::{make_thumbnail, IntakeOptions};

fuzz_target!(|data: &[u8]| {
    let limits = IntakeOptions::default().limits;
    let _ = make_thumbnail(data, 16, &limits);
});
