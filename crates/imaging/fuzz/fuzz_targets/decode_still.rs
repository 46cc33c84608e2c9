//! Fuzz target for the FR probe decode path: `decode_still` with the limits
//! the server applies to probes and gallery photos (`DecodeLimits::default()`).
//! Reaches the header checks (TH-06 refusal, declared size against the
//! limits, truncation) and the JPEG, PNG and HEIF pixel decoders with EXIF
//! orientation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probity_imaging::{decode_still, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    let _ = decode_still(data, &DecodeLimits::default());
});
