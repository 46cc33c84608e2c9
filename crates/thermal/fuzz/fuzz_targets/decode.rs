//! Fuzz target for the thermal parsers: any byte string must decode to frames
//! or to a `ThermalError`, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probity_thermal::{
    decode_frames, is_radiometric_jpeg, is_thermal_content, render, Calibration, DecodeLimits,
    DecodeOptions, RenderOptions,
};

fuzz_target!(|data: &[u8]| {
    let _ = is_radiometric_jpeg(data);
    let _ = is_thermal_content(data);
    let limits = DecodeLimits {
        max_dimension: 2048,
        max_pixels: 1 << 20,
        max_frames: 8,
    };
    for calibration in [None, Some(Calibration::FORTY_MILLIKELVIN)] {
        let opts = DecodeOptions {
            limits,
            calibration,
        };
        let Ok(frames) = decode_frames(data, &opts) else {
            continue;
        };
        for frame in frames {
            let Ok(img) = frame else { break };
            if let Ok(t) = img.temperatures() {
                let _ = t.stats();
                let _ = render(&t, &RenderOptions::default());
            }
        }
    }
});
