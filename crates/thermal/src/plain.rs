//! Plain 16-bit radiometric frames (PGM P5, grayscale TIFF) from cameras that
//! stream raw counts; the calibration comes from the caller.

use crate::calibration::Calibration;
use crate::error::{corrupt, Result, ThermalError};
use crate::flir::to_native_order;
use crate::frame::{
    CameraIdentity, DecodeLimits, FrameMetadata, RawEncoding, SourceFormat, ThermalImage,
};
use crate::lzw::LzwDecoder;

fn metadata(format: SourceFormat, camera: CameraIdentity) -> FrameMetadata {
    FrameMetadata {
        format,
        raw_encoding: RawEncoding::Plain,
        frame_index: 0,
        camera,
        capture_time: None,
        raw_value_stats: None,
    }
}

/// Reads one header token of a PNM file, skipping whitespace and comments.
fn pnm_token<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a [u8]> {
    loop {
        match data.get(*pos) {
            Some(b'#') => {
                while data.get(*pos).is_some_and(|&c| c != b'\n') {
                    *pos += 1;
                }
            }
            Some(c) if c.is_ascii_whitespace() => *pos += 1,
            Some(_) => break,
            None => return Err(corrupt("PGM header ends early")),
        }
    }
    let start = *pos;
    while data.get(*pos).is_some_and(|c| !c.is_ascii_whitespace()) {
        *pos += 1;
    }
    Ok(&data[start..*pos])
}

fn pnm_number(data: &[u8], pos: &mut usize, what: &str) -> Result<u64> {
    let tok = pnm_token(data, pos)?;
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| corrupt(format!("PGM {what} is not a number")))
}

pub(crate) fn decode_pgm(
    data: &[u8],
    calibration: &Calibration,
    limits: &DecodeLimits,
) -> Result<ThermalImage> {
    if !data.starts_with(b"P5") {
        return Err(ThermalError::NotRadiometric(
            "not a binary PGM (P5) file".into(),
        ));
    }
    let mut pos = 2;
    let w = pnm_number(data, &mut pos, "width")?;
    let h = pnm_number(data, &mut pos, "height")?;
    let maxval = pnm_number(data, &mut pos, "maximum value")?;
    limits.check(w, h)?;
    if maxval < 256 {
        return Err(ThermalError::NotRadiometric(
            "an 8-bit PGM holds display levels, not radiometric counts".into(),
        ));
    }
    if maxval > 65535 {
        return Err(corrupt(format!("PGM maximum value {maxval} exceeds 65535")));
    }
    // Exactly one whitespace byte separates the header from the samples.
    pos += 1;
    let n = (w * h) as usize;
    let bytes = data
        .get(pos..)
        .and_then(|d| d.get(..n * 2))
        .ok_or_else(|| {
            corrupt(format!(
                "PGM holds fewer than the {w}x{h} samples it declares"
            ))
        })?;
    // PGM 16-bit samples are big-endian.
    let raw = bytes
        .chunks_exact(2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .collect();
    ThermalImage::new(
        w as u32,
        h as u32,
        raw,
        *calibration,
        metadata(SourceFormat::Pgm16, CameraIdentity::default()),
        None,
    )
}

pub(crate) fn decode_tiff(
    data: &[u8],
    calibration: &Calibration,
    limits: &DecodeLimits,
) -> Result<ThermalImage> {
    let terr = |e: tiff::TiffError| corrupt(format!("the TIFF cannot be read: {e}"));
    let mut dec = tiff::decoder::Decoder::new(std::io::Cursor::new(data)).map_err(terr)?;
    let (w, h) = dec.dimensions().map_err(terr)?;
    limits.check(u64::from(w), u64::from(h))?;
    let mut tl = tiff::decoder::Limits::default();
    let bytes = (u64::from(w) * u64::from(h) * 2) as usize;
    tl.decoding_buffer_size = bytes + 1024;
    tl.intermediate_buffer_size = bytes + (1 << 20);
    tl.ifd_value_size = 1 << 20;
    dec = dec.with_limits(tl);
    match dec.colortype().map_err(terr)? {
        tiff::ColorType::Gray(16) => {}
        other => {
            return Err(ThermalError::NotRadiometric(format!(
                "the TIFF is {other:?}; radiometric frames are 16-bit grayscale"
            )))
        }
    }
    // Camera serial (DNG tag 0xC62F) as written by FLIR Duo cameras.
    let serial = dec
        .find_tag(tiff::tags::Tag::Unknown(0xC62F))
        .ok()
        .flatten()
        .and_then(|v| v.into_string().ok())
        .map(|s| s.trim_matches(char::from(0)).trim().to_string())
        .filter(|s| !s.is_empty());
    let raw = match read_strips(&mut dec, data, w, h)? {
        Some(raw) => raw,
        None => match dec.read_image().map_err(terr)? {
            tiff::decoder::DecodingResult::U16(v) => v,
            _ => {
                return Err(ThermalError::NotRadiometric(
                    "the TIFF samples are not unsigned 16-bit".into(),
                ))
            }
        },
    };
    ThermalImage::new(
        w,
        h,
        raw,
        *calibration,
        metadata(
            SourceFormat::Tiff16,
            CameraIdentity {
                serial,
                ..CameraIdentity::default()
            },
        ),
        None,
    )
}

/// Reads the samples of a strip-organised, single-channel, unsigned 16-bit
/// TIFF that is uncompressed or LZW-compressed, with or without horizontal
/// prediction: the layout radiometric cameras write. The strips are read
/// straight from the file bytes and LZW is decoded by [`LzwDecoder`], several
/// times faster than going through the `tiff` crate's reader. `None` for any
/// other layout (tiles, other compressions or predictors, incomplete strip
/// tables), which the `tiff` crate then decodes.
fn read_strips(
    dec: &mut tiff::decoder::Decoder<std::io::Cursor<&[u8]>>,
    data: &[u8],
    w: u32,
    h: u32,
) -> Result<Option<Vec<u16>>> {
    use tiff::tags::Tag;
    let mut number = |tag: Tag| -> Option<u64> {
        dec.find_tag(tag)
            .ok()
            .flatten()
            .and_then(|v| v.into_u64().ok())
    };
    let compression = number(Tag::Compression).unwrap_or(1);
    let predictor = number(Tag::Predictor).unwrap_or(1);
    if !matches!(compression, 1 | 5)
        || !matches!(predictor, 1 | 2)
        || number(Tag::TileWidth).is_some()
        || number(Tag::SamplesPerPixel).unwrap_or(1) != 1
        || number(Tag::SampleFormat).unwrap_or(1) != 1
        || number(Tag::BitsPerSample) != Some(16)
    {
        return Ok(None);
    }
    let h64 = u64::from(h);
    let rows_per_strip = number(Tag::RowsPerStrip).unwrap_or(h64).min(h64);
    if rows_per_strip == 0 {
        return Ok(None);
    }
    let list = |dec: &mut tiff::decoder::Decoder<std::io::Cursor<&[u8]>>, tag: Tag| {
        dec.find_tag(tag)
            .ok()
            .flatten()
            .and_then(|v| v.into_u64_vec().ok())
    };
    let (Some(offsets), Some(counts)) = (
        list(dec, Tag::StripOffsets),
        list(dec, Tag::StripByteCounts),
    ) else {
        return Ok(None);
    };
    let strips = h64.div_ceil(rows_per_strip) as usize;
    if offsets.len() != strips || counts.len() != strips {
        return Ok(None);
    }
    let big_endian = data.starts_with(b"MM");
    let (w, rows_per_strip) = (w as usize, rows_per_strip as usize);
    let mut samples = vec![0u16; w * h as usize];
    let mut lzw = (compression == 5).then(LzwDecoder::new);
    for (i, (dst, (&off, &count))) in samples
        .chunks_mut(rows_per_strip * w)
        .zip(offsets.iter().zip(&counts))
        .enumerate()
    {
        let need = dst.len() * 2;
        let strip = usize::try_from(off)
            .ok()
            .zip(usize::try_from(count).ok())
            .and_then(|(off, count)| data.get(off..off.checked_add(count)?))
            .ok_or_else(|| corrupt(format!("TIFF strip {i} lies beyond the end of the file")))?;
        let bytes = match &mut lzw {
            Some(lzw) => lzw.decode(strip, need)?,
            None => strip
                .get(..need)
                .ok_or_else(|| corrupt(format!("TIFF strip {i} is shorter than its rows")))?,
        };
        bytemuck::cast_slice_mut::<u16, u8>(dst).copy_from_slice(bytes);
        to_native_order(dst, big_endian);
        if predictor == 2 {
            // Horizontal differencing: each sample is stored as the
            // difference to its left neighbour (modulo 2^16).
            for row in dst.chunks_exact_mut(w) {
                let mut left = 0u16;
                for s in row {
                    left = left.wrapping_add(*s);
                    *s = left;
                }
            }
        }
    }
    Ok(Some(samples))
}
