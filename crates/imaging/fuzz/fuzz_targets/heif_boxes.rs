//! Fuzz target for the pure-Rust HEIF box walk that bounds a file before
//! libheif sees it: `inspect_heif` with the default limits (box sizes and
//! nesting, item, extent and reference counts, declared image sizes), then
//! `read_metadata`, which reads HEIF metadata items through the same walk.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probity_imaging::{inspect_heif, read_metadata, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    let _ = inspect_heif(data, &DecodeLimits::default());
    let _ = read_metadata(data);
});
