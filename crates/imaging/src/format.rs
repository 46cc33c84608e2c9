//! Format detection from content (magic bytes and container structure), never from a file name.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// A file format recognised from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    Jpeg,
    Png,
    /// HEIF still-image container (HEIC from Apple devices and other HEVC-coded HEIF).
    Heif,
    /// AVIF (an AV1-coded HEIF); recognised so it can be refused by name.
    Avif,
    /// Nikon raw: a TIFF structure whose IFD0 names a Nikon camera.
    Nef,
    /// Another TIFF-structured file (plain TIFF or another maker's raw).
    Tiff,
    /// A bare FLIR thermal frame (FFF); thermal, never a still for this crate.
    FlirFff,
    Gif,
    Bmp,
    Webp,
    Pdf,
    /// ISO base media video (MP4, MOV).
    Video,
    /// Nothing recognisable.
    Unknown,
}

impl FileFormat {
    /// Short human name, used in messages.
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Jpeg => "JPEG",
            FileFormat::Png => "PNG",
            FileFormat::Heif => "HEIC/HEIF",
            FileFormat::Avif => "AVIF",
            FileFormat::Nef => "NEF (Nikon raw)",
            FileFormat::Tiff => "TIFF",
            FileFormat::FlirFff => "FLIR FFF thermal frame",
            FileFormat::Gif => "GIF",
            FileFormat::Bmp => "BMP",
            FileFormat::Webp => "WebP",
            FileFormat::Pdf => "PDF",
            FileFormat::Video => "video (MP4/MOV)",
            FileFormat::Unknown => "unknown",
        }
    }

    /// File name extensions (lower case) that honestly describe this format.
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            FileFormat::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            FileFormat::Png => &["png"],
            FileFormat::Heif => &["heic", "heif", "hif"],
            FileFormat::Avif => &["avif"],
            FileFormat::Nef => &["nef", "nrw"],
            FileFormat::Tiff => &["tif", "tiff", "dng", "cr2", "arw", "orf", "rw2", "pef"],
            FileFormat::FlirFff => &["fff", "seq"],
            FileFormat::Gif => &["gif"],
            FileFormat::Bmp => &["bmp", "dib"],
            FileFormat::Webp => &["webp"],
            FileFormat::Pdf => &["pdf"],
            FileFormat::Video => &["mp4", "mov", "m4v", "3gp"],
            FileFormat::Unknown => &[],
        }
    }

    /// Accepted as a camera original at intake (DC-06: JPEG, HEIC/HEIF, NEF).
    pub fn accepted_for_intake(self) -> bool {
        matches!(self, FileFormat::Jpeg | FileFormat::Heif | FileFormat::Nef)
    }

    /// MIME type for downloads and the web UI.
    pub fn mime(self) -> &'static str {
        match self {
            FileFormat::Jpeg => "image/jpeg",
            FileFormat::Png => "image/png",
            FileFormat::Heif => "image/heic",
            FileFormat::Avif => "image/avif",
            FileFormat::Nef => "image/x-nikon-nef",
            FileFormat::Tiff => "image/tiff",
            FileFormat::Gif => "image/gif",
            FileFormat::Bmp => "image/bmp",
            FileFormat::Webp => "image/webp",
            FileFormat::Pdf => "application/pdf",
            FileFormat::Video => "video/mp4",
            FileFormat::FlirFff | FileFormat::Unknown => "application/octet-stream",
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Decide the format from the first bytes of a file (the whole file for TIFF-based raw,
/// where the maker is read from IFD0; 64 KiB is plenty in practice).
pub fn sniff(bytes: &[u8]) -> FileFormat {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return FileFormat::Jpeg;
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return FileFormat::Png;
    }
    if bytes.starts_with(b"FFF\0") {
        return FileFormat::FlirFff;
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return FileFormat::Gif;
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 14 {
        return FileFormat::Bmp;
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return FileFormat::Webp;
    }
    if bytes.starts_with(b"%PDF-") {
        return FileFormat::Pdf;
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return match tiff_make(bytes) {
            Some(make) if make.to_ascii_uppercase().starts_with("NIKON") => FileFormat::Nef,
            _ => FileFormat::Tiff,
        };
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return sniff_ftyp(bytes);
    }
    FileFormat::Unknown
}

/// Classify an ISO-BMFF `ftyp` box by its major and compatible brands.
fn sniff_ftyp(bytes: &[u8]) -> FileFormat {
    let box_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = box_len.clamp(12, bytes.len());
    let mut brands: Vec<&[u8]> = vec![&bytes[8..12]];
    let mut i = 16;
    while i + 4 <= end {
        brands.push(&bytes[i..i + 4]);
        i += 4;
    }
    const HEIF: [&[u8]; 8] = [
        b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
    ];
    const AVIF: [&[u8]; 2] = [b"avif", b"avis"];
    let major = brands[0];
    if HEIF.contains(&major) && major != b"msf1" {
        return FileFormat::Heif;
    }
    if AVIF.contains(&major) {
        return FileFormat::Avif;
    }
    if brands.iter().any(|b| HEIF.contains(b)) && major != b"msf1" {
        if brands.iter().any(|b| AVIF.contains(b)) && !brands.iter().any(|b| b == b"heic") {
            return FileFormat::Avif;
        }
        return FileFormat::Heif;
    }
    FileFormat::Video
}

/// The `Make` (tag 0x010F) string of IFD0 of a TIFF structure, if readable.
pub(crate) fn tiff_make(bytes: &[u8]) -> Option<String> {
    let tiff = crate::tiff::Tiff::new(bytes).ok()?;
    let ifd0 = tiff.ifd(tiff.first_ifd_offset()?).ok()?;
    ifd0.entry(0x010F).and_then(|e| tiff.ascii(&e))
}

/// What the file name claims versus what the content is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionCheck {
    /// The extension as found (lower case), if any.
    pub extension: Option<String>,
    /// True when the extension is one that honestly describes the detected format.
    pub matches: bool,
}

impl ExtensionCheck {
    /// Compare a path's extension with the detected format.
    pub fn of(path: &Path, detected: FileFormat) -> Self {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase());
        let matches = match &extension {
            Some(ext) => detected.extensions().contains(&ext.as_str()),
            None => false,
        };
        ExtensionCheck { extension, matches }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_06_format_from_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), FileFormat::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), FileFormat::Png);
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            FileFormat::Heif
        );
        assert_eq!(
            sniff(b"\0\0\0\x1cftypmif1\0\0\0\0mif1heichevc"),
            FileFormat::Heif
        );
        assert_eq!(sniff(b"\0\0\0\x14ftypavif\0\0\0\0avif"), FileFormat::Avif);
        assert_eq!(sniff(b"\0\0\0\x14ftypisom\0\0\0\0isom"), FileFormat::Video);
        assert_eq!(sniff(b"FFF\0xxxx"), FileFormat::FlirFff);
        assert_eq!(sniff(b"hello world"), FileFormat::Unknown);
        assert_eq!(sniff(b""), FileFormat::Unknown);
        assert_eq!(sniff(b"II*\0"), FileFormat::Tiff);
    }

    #[test]
    fn dc_06_extension_lie_is_detected() {
        let c = ExtensionCheck::of(Path::new("IMG_0001.HEIC"), FileFormat::Jpeg);
        assert!(!c.matches);
        assert_eq!(c.extension.as_deref(), Some("heic"));
        assert!(ExtensionCheck::of(Path::new("a.JPG"), FileFormat::Jpeg).matches);
    }
}
