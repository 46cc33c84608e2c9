//! Fuzz target for the hand-written raw codecs alone (TIFF LZW, the PNG
//! chunk walker with inflate and row unfiltering): no container parsing in
//! front of them, so more inputs per second reach them. The input layout is
//! described at `probity_thermal::fuzzing::raw_codecs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = probity_thermal::fuzzing::raw_codecs(data);
});
