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

    /// The header declares more pixels than allowed (decompression-bomb guard).
    #[error("image declares {width}x{height} pixels, over the limit of {limit_pixels} pixels (max side {limit_side}); the file was not decoded")]
    TooManyPixels {
        width: u64,
        height: u64,
        limit_pixels: u64,
        limit_side: u32,
    },

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
