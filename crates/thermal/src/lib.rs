//! probity-thermal: thermographic imaging for Probity (TH-01..TH-06).
//!
//! Boundary: bytes in, temperatures and renderings out. This crate decodes
//! radiometric thermal files and frames, converts raw sensor counts to degrees
//! Celsius, renders heat-signature images, detects anomalies and person-like
//! warm regions, and provides the memory-only building blocks of the live
//! view. It performs no I/O of its own: no file, database, network or log
//! access.
//!
//! Formats:
//! - FLIR radiometric JPEG (APP1 "FLIR" segments forming an FFF record), from
//!   FLIR cameras and DJI bodies with FLIR cores; raw data as PNG (byte-swapped
//!   16-bit) or plain 16-bit little/big endian.
//! - Bare FFF records and SEQ-style files of consecutive FFF records
//!   ([`decode_frames`]).
//! - Plain 16-bit frames (PGM P5, grayscale TIFF) with a caller-given
//!   [`Calibration`] (linear or Planck).
//!
//! Architecture invariants:
//! - TH-03: live frames ([`LiveFrame`]) are never serialisable, never printed
//!   with their pixels, never written anywhere by this crate, and zeroed on drop.
//! - TH-06: no thermal type converts into an image or byte buffer a face or
//!   biometric engine accepts. Renderings carry a marker, and
//!   [`is_radiometric_jpeg`] / [`is_thermal_content`] let the imaging and face
//!   crates refuse thermal input cheaply.
//! - Untrusted input never panics: every failure is a [`ThermalError`] with a
//!   message for the user; sizes are bounded by [`DecodeLimits`].
//! - TH-04/RET-10: retention of robot frames belongs to the store; it keys on
//!   [`FrameMetadata::capture_time`] and the camera serial in
//!   [`FrameMetadata::camera`].
//!
//! See README.md beside this crate for the API in brief, the tests, the
//! benchmark (`cargo bench -p probity-thermal --bench thermal_pipeline`) and
//! the fuzz targets.
//!
//! ```no_run
//! # fn main() -> Result<(), probity_thermal::ThermalError> {
//! use probity_thermal::{decode, render, DecodeOptions, Palette, RenderOptions};
//! let bytes = std::fs::read("flir.jpg").map_err(|e| probity_thermal::ThermalError::InvalidArgument(e.to_string()))?;
//! let image = decode(&bytes, &DecodeOptions::default())?;
//! let temps = image.temperatures()?;
//! let stats = temps.stats();
//! let png = render(&temps, &RenderOptions { palette: Palette::Iron, ..Default::default() })?.to_png()?;
//! # let _ = (stats, png); Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod bytes;
mod calibration;
mod detect;
mod error;
mod flir;
mod frame;
mod live;
mod lzw;
mod plain;
mod png16;
mod radiometry;
mod render;

/// The raw codecs (LZW, PNG) for the `raw_codecs` fuzz target in `fuzz/`
/// (feature `fuzzing`) and for the unit test that replays its seeds and
/// crash reproducers; not part of the crate's API.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing {
    /// One input of the `raw_codecs` fuzz target: a selector byte, two
    /// little-endian 16-bit numbers (width and height, or the needed length
    /// for LZW), then the codec's input. Returns whether the codec accepted
    /// it; a panic is the bug the fuzz target looks for.
    pub fn raw_codecs(data: &[u8]) -> bool {
        let Some((head, body)) = data.split_first_chunk::<5>() else {
            return false;
        };
        let a = u16::from_le_bytes([head[1], head[2]]);
        let b = u16::from_le_bytes([head[3], head[4]]);
        match head[0] % 3 {
            0 => {
                // Up to 1 MiB of output, as a strip at the decode limits.
                let need = usize::from(a) | (usize::from(b & 0xF) << 16);
                let mut lzw = crate::lzw::LzwDecoder::new();
                let out = lzw.decode(body, need);
                out.inspect(|o| assert_eq!(o.len(), need)).is_ok()
            }
            1 => {
                let (w, h) = (u32::from(a % 1024), u32::from(b % 1024));
                let out = crate::flir::decode_png16(body, w, h, false);
                out.inspect(|s| assert_eq!(s.len(), (w * h) as usize))
                    .is_ok()
            }
            _ => {
                let (w, rows) = (usize::from(a % 512), usize::from(b % 512));
                let stride = w * 2;
                let mut out = vec![0u8; rows * stride];
                if body.len() != rows * (stride + 1) {
                    return false;
                }
                crate::png16::unfilter(body, stride, &mut out).is_ok()
            }
        }
    }

    #[cfg(test)]
    mod tests {
        /// The fuzz target's seeds and every input a fuzz run found to crash
        /// it (fuzz/regressions/raw_codecs) give results or errors, never a
        /// panic; the seeds are all accepted.
        #[test]
        fn th_bad_input_raw_codec_fuzz_seeds_and_crash_reproducers() {
            let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
            for (sub, accepted) in [
                ("seeds/raw_codecs", true),
                ("regressions/raw_codecs", false),
            ] {
                let dir = fuzz.join(sub);
                let entries = std::fs::read_dir(&dir).expect("fuzz input directory");
                let mut n = 0;
                for entry in entries {
                    let path = entry.expect("directory entry").path();
                    let bytes = std::fs::read(&path).expect("fuzz input");
                    let ok = super::raw_codecs(&bytes);
                    if accepted {
                        assert!(ok, "{}", path.display());
                    }
                    n += 1;
                }
                assert!(n > 0, "{}", dir.display());
            }
        }
    }
}

pub use calibration::{Calibration, RadiometricParams};
pub use detect::{
    detect_anomalies, detect_hot_spots_relative, detect_people, AnomalyParams, PersonParams,
    Region, RelativeHotSpotParams, RelativeRegion,
};
pub use error::{Result, ThermalError};
pub use flir::FffSequence;
pub use frame::{
    CameraIdentity, DecodeLimits, DecodeOptions, FrameMetadata, IntensityMap, RawEncoding,
    RawValueStats, SourceFormat, TemperatureMap, TemperatureStats, ThermalImage,
};
pub use live::{render_live, LiveFrame, LiveImage, LiveImageFormat, LiveRenderOptions, LiveView};
pub use radiometry::{Radiometry, NON_RADIOMETRIC_MODELS, PLAUSIBLE_PLANCK, STATED_RANGE_MARGIN_C};
pub use render::{render, render_relative, HeatImage, Palette, RenderOptions, THERMAL_MARKER};

/// What kind of thermal input some bytes are, judged from their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Jpeg,
    Fff,
    Tiff,
    Pgm,
    Unknown,
}

/// Classifies input by its signature.
pub fn sniff(bytes: &[u8]) -> InputKind {
    if bytes.starts_with(&[0xFF, 0xD8]) {
        InputKind::Jpeg
    } else if bytes.starts_with(b"FFF\0") || bytes.starts_with(b"AFF\0") {
        InputKind::Fff
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        InputKind::Tiff
    } else if bytes.starts_with(b"P5") {
        InputKind::Pgm
    } else {
        InputKind::Unknown
    }
}

/// Decodes one radiometric frame (the first one of a sequence file).
pub fn decode(bytes: &[u8], opts: &DecodeOptions) -> Result<ThermalImage> {
    match decode_frames(bytes, opts)?.next() {
        Some(frame) => frame,
        None => Err(ThermalError::NotRadiometric(
            "the file holds no frame".into(),
        )),
    }
}

/// Decodes every frame of the input: one for JPEG/PGM/TIFF, each FFF record
/// of a SEQ-style file. Iteration stops after the first error.
pub fn decode_frames<'a>(bytes: &'a [u8], opts: &DecodeOptions) -> Result<Frames<'a>> {
    let limits = opts.limits;
    let cal = opts.calibration;
    let plain_cal = || cal.ok_or(ThermalError::CalibrationRequired);
    let inner = match sniff(bytes) {
        InputKind::Jpeg => FramesInner::One(Some(flir::decode_jpeg(bytes, cal.as_ref(), &limits))),
        InputKind::Fff => FramesInner::Seq(FffSequence::new(bytes, cal, limits)),
        InputKind::Tiff => {
            FramesInner::One(Some(plain::decode_tiff(bytes, &plain_cal()?, &limits)))
        }
        InputKind::Pgm => FramesInner::One(Some(plain::decode_pgm(bytes, &plain_cal()?, &limits))),
        InputKind::Unknown => {
            return Err(ThermalError::NotRadiometric(
                "unrecognised format; expected a FLIR JPEG, FFF/SEQ, 16-bit PGM or 16-bit TIFF"
                    .into(),
            ))
        }
    };
    Ok(Frames(inner))
}

/// Iterator over decoded frames; see [`decode_frames`].
pub struct Frames<'a>(FramesInner<'a>);

enum FramesInner<'a> {
    One(Option<Result<ThermalImage>>),
    Seq(FffSequence<'a>),
}

impl Iterator for Frames<'_> {
    type Item = Result<ThermalImage>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            FramesInner::One(x) => x.take(),
            FramesInner::Seq(s) => s.next(),
        }
    }
}

/// True when `bytes` is a JPEG carrying a FLIR radiometric (FFF) record.
///
/// For the face and imaging crates (TH-06): call this before accepting any
/// JPEG and refuse it when true. Cheap: walks the segment headers up to the
/// first scan without allocating or decoding anything. Deliberately
/// conservative: a damaged thermal record still counts as thermal.
pub fn is_radiometric_jpeg(bytes: &[u8]) -> bool {
    flir::jpeg_has_flir_record(bytes)
}

/// True for any thermal content this crate knows: radiometric JPEGs, FFF/SEQ
/// records, and PNG/JPEG renderings made by this crate (marked with
/// [`THERMAL_MARKER`]). Cheap; no pixel decoding.
pub fn is_thermal_content(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"FFF\0") || bytes.starts_with(b"AFF\0") {
        return true;
    }
    if let Some(segments) = flir::jpeg_segments(bytes) {
        if is_radiometric_jpeg(bytes) {
            return true;
        }
        return segments.flatten().any(|(marker, payload)| {
            marker == 0xFE && payload.starts_with(render::THERMAL_MARKER_KEY.as_bytes())
        });
    }
    png_has_marker(bytes)
}

fn png_has_marker(bytes: &[u8]) -> bool {
    let Some(mut rest) = bytes.strip_prefix(b"\x89PNG\r\n\x1a\n".as_slice()) else {
        return false;
    };
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        let Some(data) = rest.get(8..8usize.saturating_add(len)) else {
            return false;
        };
        if kind == b"tEXt" && data.starts_with(render::THERMAL_MARKER_KEY.as_bytes()) {
            return true;
        }
        if kind == b"IDAT" || kind == b"IEND" {
            return false;
        }
        rest = rest.get(12 + len..).unwrap_or(&[]);
    }
    false
}
