//! Fast path for the one PNG flavour FLIR cameras write for raw thermal data:
//! 16-bit grayscale, not interlaced.
//!
//! The chunks are walked here, the zlib stream of the IDAT chunks is inflated
//! with `zune-inflate` (the fastest of the pure-Rust inflaters measured on the
//! T640 sample: fewer instructions than `fdeflate`, which the `png` crate
//! uses, and than `zlib-rs`), and the row filters are undone straight into the
//! sample buffer, so that no further copy or byte-order pass is needed on a
//! little-endian host. The zlib Adler-32 checksum is verified; chunk CRCs are
//! not (a damaged IDAT fails the Adler-32 check or the inflate itself).
//! Interlaced images go through the `png` crate instead (see
//! `flir::decode_png16`).

use crate::bytes::WipedBytes;
use crate::error::{corrupt, Result};

pub(crate) const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What the IHDR chunk says.
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
    pub bit_depth: u8,
    pub color_type: u8,
    pub interlaced: bool,
}

/// One chunk: type and payload.
struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
}

/// Walks the chunks after the signature; stops after IEND.
struct Chunks<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let head = self.data.get(self.pos..self.pos + 8);
        let Some(head) = head else {
            self.done = true;
            return Some(Err(corrupt(
                "the raw thermal PNG ends before its IEND chunk",
            )));
        };
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let start = self.pos + 8;
        let Some(data) = start
            .checked_add(len)
            .and_then(|end| self.data.get(start..end))
        else {
            self.done = true;
            return Some(Err(corrupt(format!(
                "the raw thermal PNG chunk {} claims {len} bytes beyond the end of the data",
                String::from_utf8_lossy(&kind)
            ))));
        };
        // Payload plus the 4-byte CRC (which may be cut off after IEND).
        self.pos = start + len + 4;
        self.done = &kind == b"IEND";
        Some(Ok(Chunk { kind, data }))
    }
}

fn chunks(data: &[u8]) -> Result<Chunks<'_>> {
    if !data.starts_with(PNG_SIGNATURE) {
        return Err(corrupt("the raw thermal data is not a PNG"));
    }
    Ok(Chunks {
        data,
        pos: PNG_SIGNATURE.len(),
        done: false,
    })
}

/// Reads the IHDR chunk (which must come first).
pub(crate) fn header(data: &[u8]) -> Result<Header> {
    let first = chunks(data)?
        .next()
        .unwrap_or_else(|| Err(corrupt("the raw thermal PNG has no chunks")))?;
    if &first.kind != b"IHDR" || first.data.len() != 13 {
        return Err(corrupt(
            "the raw thermal PNG does not start with a valid IHDR chunk",
        ));
    }
    let d = first.data;
    let be32 = |o: usize| u32::from_be_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]);
    if d[10] != 0 || d[11] != 0 {
        return Err(corrupt(format!(
            "the raw thermal PNG uses compression method {} / filter method {}; only 0 exists",
            d[10], d[11]
        )));
    }
    Ok(Header {
        width: be32(0),
        height: be32(4),
        bit_depth: d[8],
        color_type: d[9],
        interlaced: d[12] != 0,
    })
}

/// Decodes a non-interlaced 16-bit grayscale PNG of `w`×`h` pixels (the
/// caller has checked the header) into samples read as host-order words:
/// on a little-endian host each sample has its two PNG bytes swapped.
pub(crate) fn decode_gray16_host_order(data: &[u8], w: u32, h: u32) -> Result<Vec<u16>> {
    let (w, h) = (w as usize, h as usize);
    let stride = w * 2;
    let expected = h * (stride + 1);
    let mut idat: Option<&[u8]> = None;
    let mut joined = WipedBytes::default();
    for chunk in chunks(data)? {
        let chunk = chunk?;
        if &chunk.kind == b"IDAT" {
            match idat {
                None => idat = Some(chunk.data),
                Some(first) => {
                    // Several IDAT chunks form one zlib stream.
                    if joined.is_empty() {
                        joined.extend_from_slice(first);
                    }
                    joined.extend_from_slice(chunk.data);
                }
            }
        }
    }
    let stream = if joined.is_empty() {
        idat.ok_or_else(|| corrupt("the raw thermal PNG has no image data (IDAT)"))?
    } else {
        &joined[..]
    };
    let options = zune_inflate::DeflateOptions::default()
        .set_size_hint(expected)
        .set_limit(expected)
        .set_confirm_checksum(true);
    let filtered = zune_inflate::DeflateDecoder::new_with_options(stream, options)
        .decode_zlib()
        .map_err(|e| {
            drop(WipedBytes(e.data));
            corrupt(format!("the raw thermal PNG is damaged: {:?}", e.error))
        })?;
    let filtered = WipedBytes(filtered);
    if filtered.len() != expected {
        return Err(corrupt(format!(
            "the raw thermal PNG holds {} bytes of rows, a {w}x{h} image needs {expected}",
            filtered.len()
        )));
    }
    let mut samples = vec![0u16; w * h];
    unfilter(&filtered, stride, bytemuck::cast_slice_mut(&mut samples))?;
    Ok(samples)
}

/// Undoes the PNG row filters of rows of `stride` bytes with 2 bytes per
/// pixel; `filtered` holds each row preceded by its filter type byte.
pub(crate) fn unfilter(filtered: &[u8], stride: usize, out: &mut [u8]) -> Result<()> {
    const BPP: usize = 2;
    // Whole pixels per row, one filter byte per row, one output row per
    // filtered row: anything else is refused before any row is touched.
    let row_count = filtered.len() / (stride + 1);
    if stride < BPP
        || !stride.is_multiple_of(BPP)
        || !filtered.len().is_multiple_of(stride + 1)
        || out.len() != row_count * stride
    {
        return Err(corrupt(format!(
            "the raw thermal PNG rows ({} bytes) do not form rows of {stride} bytes of 16-bit pixels",
            filtered.len()
        )));
    }
    let zero_row = vec![0u8; stride];
    let rows: Vec<(u8, &[u8])> = filtered
        .chunks_exact(stride + 1)
        .map(|row| (row[0], &row[1..]))
        .collect();
    let mut y = 0;
    while y < rows.len() {
        let (filter, src) = rows[y];
        let (done, rest) = out.split_at_mut(y * stride);
        let prev = if y == 0 {
            &zero_row[..]
        } else {
            &done[(y - 1) * stride..]
        };
        // Two Paeth rows in a row are undone together (see
        // `unfilter_paeth_pair`); FLIR's PNGs are mostly Paeth rows.
        if let (4, Some(&(4, src1))) = (filter, rows.get(y + 1)) {
            let (cur, rest) = rest.split_at_mut(stride);
            unfilter_paeth_pair(src, src1, prev, cur, &mut rest[..stride]);
            y += 2;
            continue;
        }
        let cur = &mut rest[..stride];
        match filter {
            0 => cur.copy_from_slice(src),
            1 => {
                cur[..BPP].copy_from_slice(&src[..BPP]);
                for i in BPP..stride {
                    cur[i] = src[i].wrapping_add(cur[i - BPP]);
                }
            }
            2 => {
                for ((c, &s), &p) in cur.iter_mut().zip(src).zip(prev) {
                    *c = s.wrapping_add(p);
                }
            }
            3 => {
                for i in 0..BPP {
                    cur[i] = src[i].wrapping_add(prev[i] >> 1);
                }
                for i in BPP..stride {
                    let avg = (u16::from(cur[i - BPP]) + u16::from(prev[i])) >> 1;
                    cur[i] = src[i].wrapping_add(avg as u8);
                }
            }
            4 => unfilter_paeth(src, prev, cur),
            f => {
                return Err(corrupt(format!(
                    "the raw thermal PNG row {y} has the unknown filter type {f}"
                )))
            }
        }
        y += 1;
    }
    Ok(())
}

/// The Paeth predictor of the PNG specification (of left `a`, above `b` and
/// upper left `c`, the one closest to a + b - c, ties in the order a, b, c)
/// in the branch-free form of stb_image, which the `png` crate also uses on
/// x86-64; a unit test checks it against the specification's form.
#[inline(always)]
fn paeth(a: i16, b: i16, c: i16) -> i16 {
    let thresh = c * 3 - (a + b);
    let lo = a.min(b);
    let hi = a.max(b);
    let t0 = if hi <= thresh { lo } else { c };
    if thresh <= lo {
        hi
    } else {
        t0
    }
}

/// Paeth row with 2 bytes per pixel: the two byte lanes are independent
/// chains, carried in registers and interleaved.
fn unfilter_paeth(src: &[u8], prev: &[u8], cur: &mut [u8]) {
    if src.len() < 2 || prev.len() < src.len() || cur.len() < src.len() {
        return;
    }
    // First pixel: no left neighbour, the predictor is the byte above.
    cur[0] = src[0].wrapping_add(prev[0]);
    cur[1] = src[1].wrapping_add(prev[1]);
    let (mut a0, mut a1) = (i16::from(cur[0]), i16::from(cur[1]));
    let (mut c0, mut c1) = (i16::from(prev[0]), i16::from(prev[1]));
    for ((d, s), p) in cur[2..]
        .chunks_exact_mut(2)
        .zip(src[2..].chunks_exact(2))
        .zip(prev[2..].chunks_exact(2))
    {
        let (b0, b1) = (i16::from(p[0]), i16::from(p[1]));
        let x0 = s[0].wrapping_add(paeth(a0, b0, c0) as u8);
        let x1 = s[1].wrapping_add(paeth(a1, b1, c1) as u8);
        d[0] = x0;
        d[1] = x1;
        a0 = i16::from(x0);
        a1 = i16::from(x1);
        c0 = b0;
        c1 = b1;
    }
}

/// Two consecutive Paeth rows (2 bytes per pixel). Each byte of a Paeth row
/// depends on the byte to its left, a chain of several instructions of
/// latency per byte; the second row only needs the first row's bytes at and
/// left of the same position, so walking both rows in one loop gives the
/// processor four independent chains instead of two.
fn unfilter_paeth_pair(src0: &[u8], src1: &[u8], prev: &[u8], cur0: &mut [u8], cur1: &mut [u8]) {
    let n = src0.len();
    if n < 2 || src1.len() < n || prev.len() < n || cur0.len() < n || cur1.len() < n {
        unfilter_paeth(src0, prev, cur0);
        unfilter_paeth(src1, cur0, cur1);
        return;
    }
    // First pixel: no left neighbour, the predictor is the byte above.
    cur0[0] = src0[0].wrapping_add(prev[0]);
    cur0[1] = src0[1].wrapping_add(prev[1]);
    cur1[0] = src1[0].wrapping_add(cur0[0]);
    cur1[1] = src1[1].wrapping_add(cur0[1]);
    // Left neighbours of row 0 and row 1 and upper-left neighbour of row 0.
    let (mut l00, mut l01) = (i16::from(cur0[0]), i16::from(cur0[1]));
    let (mut l10, mut l11) = (i16::from(cur1[0]), i16::from(cur1[1]));
    let (mut u0, mut u1) = (i16::from(prev[0]), i16::from(prev[1]));
    for ((((d0, d1), s0), s1), p) in cur0[2..n]
        .chunks_exact_mut(2)
        .zip(cur1[2..n].chunks_exact_mut(2))
        .zip(src0[2..n].chunks_exact(2))
        .zip(src1[2..n].chunks_exact(2))
        .zip(prev[2..n].chunks_exact(2))
    {
        let (b0, b1) = (i16::from(p[0]), i16::from(p[1]));
        let x0 = s0[0].wrapping_add(paeth(l00, b0, u0) as u8);
        let x1 = s0[1].wrapping_add(paeth(l01, b1, u1) as u8);
        d0[0] = x0;
        d0[1] = x1;
        let (x0, x1) = (i16::from(x0), i16::from(x1));
        // Row 1: above is row 0's new byte, upper left is row 0's left byte.
        let y0 = s1[0].wrapping_add(paeth(l10, x0, l00) as u8);
        let y1 = s1[1].wrapping_add(paeth(l11, x1, l01) as u8);
        d1[0] = y0;
        d1[1] = y1;
        l10 = i16::from(y0);
        l11 = i16::from(y1);
        l00 = x0;
        l01 = x1;
        u0 = b0;
        u1 = b1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straight from the PNG specification, byte by byte.
    fn reference_unfilter(filtered: &[u8], stride: usize) -> Vec<u8> {
        let rows = filtered.len() / (stride + 1);
        let mut out = vec![0u8; rows * stride];
        for y in 0..rows {
            let f = filtered[y * (stride + 1)];
            for i in 0..stride {
                let x = filtered[y * (stride + 1) + 1 + i];
                let a = if i >= 2 { out[y * stride + i - 2] } else { 0 };
                let b = if y > 0 { out[(y - 1) * stride + i] } else { 0 };
                let c = if i >= 2 && y > 0 {
                    out[(y - 1) * stride + i - 2]
                } else {
                    0
                };
                let pred = match f {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                    _ => {
                        let p = i32::from(a) + i32::from(b) - i32::from(c);
                        let (pa, pb, pc) = (
                            (p - i32::from(a)).abs(),
                            (p - i32::from(b)).abs(),
                            (p - i32::from(c)).abs(),
                        );
                        if pa <= pb && pa <= pc {
                            a
                        } else if pb <= pc {
                            b
                        } else {
                            c
                        }
                    }
                };
                out[y * stride + i] = x.wrapping_add(pred);
            }
        }
        out
    }

    #[test]
    fn th_01_png_row_filters_follow_the_specification() {
        // Pseudo-random bytes, every filter type on every row position.
        let (w, rows) = (37usize, 25usize);
        let stride = 2 * w;
        let mut state = 0x2545_f491_u32;
        let mut filtered = Vec::new();
        for y in 0..rows {
            // Every filter type, and runs of Paeth rows (undone in pairs).
            filtered.push(if y >= 12 { 4 } else { (y % 5) as u8 });
            for _ in 0..stride {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                filtered.push((state >> 24) as u8);
            }
        }
        let mut out = vec![0u8; rows * stride];
        unfilter(&filtered, stride, &mut out).unwrap();
        assert_eq!(out, reference_unfilter(&filtered, stride));
        filtered[(stride + 1) * 3] = 5;
        assert!(unfilter(&filtered, stride, &mut out).is_err());
    }

    /// Found by the raw_codecs fuzz target: rows of zero width (or of an odd
    /// byte count, or an output of the wrong size) made the Sub filter slice
    /// past the row; they are refused with an error.
    #[test]
    fn th_bad_input_png_rows_narrower_than_a_pixel_are_refused() {
        let mut out = vec![0u8; 8];
        for (filtered, stride) in [
            (&[1u8, 0, 255, 12][..], 0),
            (&[1, 7, 1, 9][..], 1),
            (&[3, 7, 1, 9][..], 3),
        ] {
            let e = unfilter(filtered, stride, &mut out[..0]).unwrap_err();
            assert!(e.to_string().contains("rows"), "{e}");
        }
        // One row of 2 bytes into an output of 8 bytes.
        assert!(unfilter(&[1, 7, 1], 2, &mut out).is_err());
        // A partial trailing row.
        assert!(unfilter(&[1, 7, 1, 4], 2, &mut out[..2]).is_err());
        assert!(unfilter(&[1, 7, 1], 2, &mut out[..2]).is_ok());
    }
}
