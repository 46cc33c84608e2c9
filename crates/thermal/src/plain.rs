//! Plain 16-bit radiometric frames (PGM P5, grayscale TIFF) from cameras that
//! stream raw counts; the calibration comes from the caller.

use crate::calibration::Calibration;
use crate::error::{corrupt, Result, ThermalError};
use crate::frame::{
    CameraIdentity, DecodeLimits, FrameMetadata, RawEncoding, SourceFormat, ThermalImage,
};

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
    let raw = match dec.read_image().map_err(terr)? {
        tiff::decoder::DecodingResult::U16(v) => v,
        _ => {
            return Err(ThermalError::NotRadiometric(
                "the TIFF samples are not unsigned 16-bit".into(),
            ))
        }
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
    )
}
