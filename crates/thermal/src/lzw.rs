//! TIFF LZW decoding (TIFF 6.0 section 13: MSB-first codes of 9 to 12 bits,
//! Clear = 256, EOI = 257, the code width growing one code early as libtiff
//! and the `tiff` crate do).
//!
//! Every string in an LZW table is the string of an earlier code followed by
//! one byte, and that earlier string was written to the output immediately
//! before the byte. So each table entry is kept as a (start, length) window
//! into the output already written, and decoding a code is one short copy
//! from earlier output: no string table of bytes, no reversal.

use crate::error::{corrupt, Result};

const CLEAR: u16 = 256;
const EOI: u16 = 257;
const FIRST_FREE: u16 = 258;
const MAX_WIDTH: u32 = 12;
const TABLE: usize = 1 << MAX_WIDTH;
/// Longest string a 12-bit table can hold, plus slack for fixed-size copies.
const SLACK: usize = TABLE + 16;

/// Reusable decoder state (the table and an output buffer).
pub(crate) struct LzwDecoder {
    start: Box<[u32; TABLE]>,
    len: Box<[u16; TABLE]>,
    out: Vec<u8>,
}

impl LzwDecoder {
    pub fn new() -> Self {
        Self {
            start: Box::new([0; TABLE]),
            len: Box::new([0; TABLE]),
            out: Vec::new(),
        }
    }

    /// Decodes one strip that must yield at least `need` bytes; returns them
    /// (bytes beyond `need`, which libtiff also ignores, are dropped).
    pub fn decode(&mut self, input: &[u8], need: usize) -> Result<&[u8]> {
        // Output window with room for the longest string past `need`.
        self.out.clear();
        self.out.resize(need + SLACK, 0);
        let out = &mut self.out[..];
        let (start, len) = (&mut *self.start, &mut *self.len);

        let mut pos = 0usize; // bytes written
        let mut inp = 0usize; // bytes of input moved into the bit buffer
        let mut acc = 0u64; // bit buffer, next code in the top bits
        let mut nbits = 0u32;
        let mut width = 9u32;
        let mut next = FIRST_FREE;
        // The code width grows when `next` reaches this (one code early).
        let mut widen_at = (1u16 << width) - 1;
        // Where the previous code's string was written, and its length
        // (0: no previous code since the last Clear).
        let (mut prev_start, mut prev_len) = (0usize, 0usize);

        while pos < need {
            if nbits < width {
                if let Some(word) = input.get(inp..inp + 8) {
                    // As many whole bytes as fit, from one 8-byte load; the
                    // bits of the next byte that also land in the buffer are
                    // cleared again.
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(word);
                    let take = (63 - nbits) / 8;
                    acc |= u64::from_be_bytes(bytes) >> nbits;
                    inp += take as usize;
                    nbits += take * 8;
                    acc &= !(u64::MAX >> nbits);
                } else {
                    while nbits <= 56 {
                        let Some(&b) = input.get(inp) else { break };
                        acc |= u64::from(b) << (56 - nbits);
                        nbits += 8;
                        inp += 1;
                    }
                }
                if nbits < width {
                    return Err(corrupt(format!(
                        "a TIFF LZW strip ends after {pos} of its {need} bytes"
                    )));
                }
            }
            let code = (acc >> (64 - width)) as u16;
            acc <<= width;
            nbits -= width;

            let here = pos;
            if code > EOI && code < next {
                let e = usize::from(code) & (TABLE - 1);
                let l = usize::from(len[e]);
                copy_earlier(out, start[e] as usize, l, pos);
                pos += l;
            } else if code < CLEAR {
                out[pos] = code as u8;
                pos += 1;
            } else if code == CLEAR {
                width = 9;
                widen_at = (1 << width) - 1;
                next = FIRST_FREE;
                prev_len = 0;
                continue;
            } else if code == EOI {
                break;
            } else if code == next && prev_len > 0 {
                // The code being defined: previous string plus its own first byte.
                copy_earlier(out, prev_start, prev_len, pos);
                out[pos + prev_len] = out[prev_start];
                pos += prev_len + 1;
            } else {
                return Err(corrupt(format!(
                    "a TIFF LZW strip holds the undefined code {code}"
                )));
            }
            if prev_len > 0 && usize::from(next) < TABLE {
                // Previous string plus the first byte of this one, which
                // follows it in the output.
                let e = usize::from(next) & (TABLE - 1);
                start[e] = prev_start as u32;
                len[e] = (prev_len + 1) as u16;
                next += 1;
                if next == widen_at && width < MAX_WIDTH {
                    width += 1;
                    widen_at = (1 << width) - 1;
                }
            }
            prev_start = here;
            prev_len = pos - here;
        }
        if pos < need {
            return Err(corrupt(format!(
                "a TIFF LZW strip decodes to {pos} bytes, its rows need {need}"
            )));
        }
        Ok(&self.out[..need])
    }
}

/// Copies `len` bytes written earlier at `src` to `dst` (`src + len <= dst`).
/// Short strings, the common case, are copied as one fixed 16-byte block
/// (the bytes beyond `len` are overwritten by the following codes).
#[inline(always)]
fn copy_earlier(out: &mut [u8], src: usize, len: usize, dst: usize) {
    if len <= 16 {
        let mut block = [0u8; 16];
        block.copy_from_slice(&out[src..src + 16]);
        out[dst..dst + 16].copy_from_slice(&block);
    } else {
        out.copy_within(src..src + len, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A straightforward TIFF LZW encoder (libtiff's code-width and table
    /// reset rules) to produce test streams.
    fn encode(data: &[u8]) -> Vec<u8> {
        use std::collections::HashMap;
        let mut out = Vec::new();
        let (mut acc, mut nbits) = (0u64, 0u32);
        let mut put = |code: u16, width: u32, out: &mut Vec<u8>| {
            acc = (acc << width) | u64::from(code);
            nbits += width;
            while nbits >= 8 {
                out.push((acc >> (nbits - 8)) as u8);
                nbits -= 8;
            }
        };
        let mut dict: HashMap<Vec<u8>, u16> = HashMap::new();
        let mut width = 9u32;
        let mut next = FIRST_FREE;
        put(CLEAR, width, &mut out);
        let mut w: Vec<u8> = Vec::new();
        for &b in data {
            let mut wb = w.clone();
            wb.push(b);
            if wb.len() == 1 || dict.contains_key(&wb) {
                w = wb;
                continue;
            }
            let code = if w.len() == 1 {
                u16::from(w[0])
            } else {
                dict[&w]
            };
            put(code, width, &mut out);
            dict.insert(wb, next);
            next += 1;
            // The encoder is one entry ahead of the decoder, so it widens
            // one code later (libtiff's rule).
            if u32::from(next) == (1 << width) && width < MAX_WIDTH {
                width += 1;
            }
            if next >= 4094 {
                put(CLEAR, width, &mut out);
                dict.clear();
                width = 9;
                next = FIRST_FREE;
            }
            w = vec![b];
        }
        if !w.is_empty() {
            let code = if w.len() == 1 {
                u16::from(w[0])
            } else {
                dict[&w]
            };
            put(code, width, &mut out);
            next += 1;
            if u32::from(next) == (1 << width) && width < MAX_WIDTH {
                width += 1;
            }
        }
        put(EOI, width, &mut out);
        if nbits > 0 {
            out.push((acc << (8 - nbits)) as u8);
        }
        out
    }

    #[test]
    fn th_01_tiff_lzw_round_trips_long_and_repetitive_data() {
        let mut state = 0x9e37_79b9_u32;
        let mut data = Vec::new();
        for i in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Runs (KwKwK codes), repeats and noise; several table resets.
            data.push(match i % 3000 {
                0..=999 => 7,
                1000..=1999 => (i % 17) as u8,
                _ => (state >> 24) as u8,
            });
        }
        let stream = encode(&data);
        let mut dec = LzwDecoder::new();
        assert_eq!(dec.decode(&stream, data.len()).unwrap(), &data[..]);
        // Truncated input and undefined codes are errors, not panics.
        assert!(dec.decode(&stream[..stream.len() / 2], data.len()).is_err());
        assert!(dec.decode(&[0x80, 0x3f, 0xff, 0xff], 10).is_err());
    }
}
