//! Fuzz target for card intake of one file, as a single-file web upload is
//! examined: `examine` with the default intake options. Reaches the format
//! decision, structure checks (JPEG truncation, HEIF boxes, NEF strip and
//! tile offsets, stripped raw data), metadata and the 256-px thumbnail.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use probity_imaging::{examine, IntakeOptions};

fuzz_target!(|data: &[u8]| {
    let _ = examine(Path::new("upload.jpg"), data, &IntakeOptions::default());
});
