//! Fuzz target for the hand-written raw codecs alone (TIFF LZW, the PNG
//! chunk walker with inflate and row unfiltering): no container parsing in
//! front of them, so more inputs per second reach them. Input: one selector
//! byte, two little-endian 16-bit numbers (width and height, or the needed
//! length for LZW), then the codec's input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use probity_thermal::fuzzing;

fuzz_target!(|data: &[u8]| {
    let Some((head, body)) = data.split_first_chunk::<5>() else {
        return;
    };
    let a = u16::from_le_bytes([head[1], head[2]]);
    let b = u16::from_le_bytes([head[3], head[4]]);
    match head[0] % 3 {
        0 => {
            // Up to 1 MiB of output, as a strip at the decode limits.
            let need = usize::from(a) | (usize::from(b & 0xF) << 16);
            if let Ok(out) = fuzzing::lzw(body, need) {
                assert_eq!(out.len(), need);
            }
        }
        1 => {
            let (w, h) = (u32::from(a % 1024), u32::from(b % 1024));
            if let Ok(samples) = fuzzing::png16(body, w, h) {
                assert_eq!(samples.len(), (w * h) as usize);
            }
        }
        _ => {
            let (w, rows) = (usize::from(a % 512), usize::from(b % 512));
            if let Ok(out) = fuzzing::unfilter(body, w, rows) {
                assert_eq!(out.len(), w * 2 * rows);
            }
        }
    }
});
