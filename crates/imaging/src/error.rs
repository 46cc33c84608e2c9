//! The one error type of the imaging boundary. Messages say what is wrong and what to do.

use std::path::PathBuf;

use crate::format::FileFormat;

/// Everything that can go wrong while reading a camera file.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// The bytes are not a format this crate understands.
    #[error("unsupported file format ({detail}); accepted are JPEG, PNG and HEIC/HEIF stills (and NEF for camera intake)")]
    UnsupportedFormat { detail: String },

    /// The format is recognised but is not accepted for the requested use.
    #[error("{format} files are not accepted here: {reason}")]
    FormatNotAccepted { format: FileFormat, reason: String },

    /// A radiometric thermal frame was offered as a still (TH-06).
    #[error("thermal camera file refused ({detail}): thermal frames never reach facial recognition or any biometric measurement (TH-06)")]
    ThermalRefused { detail: String },

    /// The file is larger than the configured byte limit.
    #[error("file is {size} bytes, over the limit of {limit} bytes; raise DecodeLimits::max_bytes only for trusted sources")]
    TooManyBytes { size: u64, limit: u64 },

    /// The header declares more pixels than allowed (decompression-bomb guard). The message
    /// names the limit that refused it.
    #[error("{}", too_many_pixels(subject, *width, *height, *limit_pixels, *limit_side))]
    TooManyPixels {
        /// What declared the size ("image", "the primary image (item 49, grid)", ...).
        subject: String,
        width: u64,
        height: u64,
        limit_pixels: u64,
        limit_side: u32,
    },

    /// A HEIF container refused by the box walk before any decoder saw it (structure limits).
    #[error("HEIC/HEIF file refused before decoding: {detail}; the file was not decoded")]
    HeifRefused { detail: String },

    /// The HEIC decoder (run in its own worker process) crashed, hung or ran out of memory on
    /// this file. Only this file failed.
    #[error("{detail}; only this file failed, the file was not decoded")]
    HeifDecoderFailed { detail: String },

    /// The HEIC decoder worker program could not be found or started.
    #[error("HEIC decoder worker unavailable: {detail}")]
    HeifDecoderUnavailable { detail: String },

    /// The file ends before its structure says it should (a cut-off copy).
    #[error("{format} file is truncated or corrupt: {detail}; copy the file again from the original card or device")]
    Corrupt { format: FileFormat, detail: String },

    /// A HEIF container that holds metadata but no decodable image.
    #[error("no image in this HEIF file ({detail}); it holds metadata only, so there is nothing to decode")]
    HeifNoImage { detail: String },

    /// A camera raw file whose pixels cannot be decoded here.
    #[error("NEF raw pixel data cannot be decoded ({detail}); the metadata is readable, for pixels use a JPEG exported from the camera or raw converter")]
    RawPixelsUnavailable { detail: String },

    /// Metadata (EXIF/XMP/TIFF) could not be read.
    #[error("metadata could not be read: {detail}")]
    Metadata { detail: String },

    /// A probe edit has a parameter outside its allowed range (FR-07).
    #[error("invalid probe edit: {detail}")]
    InvalidEdit { detail: String },

    /// A file system operation failed.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file's content no longer matches the hash recorded for it.
    #[error("hash mismatch for {path}: expected {expected}, read back {actual}; the copy is not the original, do not clear the card")]
    HashMismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },

    /// Encoding an output image (thumbnail) failed.
    #[error("could not encode {what}: {detail}")]
    Encode { what: &'static str, detail: String },
}

fn too_many_pixels(subject: &str, w: u64, h: u64, limit_pixels: u64, limit_side: u32) -> String {
    let pixels = w.saturating_mul(h);
    let limit = if pixels > limit_pixels {
        format!("the limit is {limit_pixels} pixels (DecodeLimits.max_pixels)")
    } else {
        format!("the limit is {limit_side} pixels a side (DecodeLimits.max_side)")
    };
    format!("{subject} declares {w} × {h} pixels; {limit}; the file was not decoded")
}

impl ImagingError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ImagingError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(format: FileFormat, detail: impl Into<String>) -> Self {
        ImagingError::Corrupt {
            format,
            detail: detail.into(),
        }
    }
}
