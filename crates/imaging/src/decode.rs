//! Still-image decoding for probes, gallery photos and thumbnails: JPEG (grey, RGB, CMYK/YCCK),
//! PNG and HEIC/HEIF, with EXIF orientation applied and decompression-bomb limits checked from
//! the header before any pixel buffer is allocated. The format is decided by content only.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::ImagingError;
use crate::format::{sniff, FileFormat};
use crate::{heif, jpeg};

/// Size limits applied before decoding (decompression-bomb guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodeLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted width × height declared by the header.
    pub max_pixels: u64,
    /// Largest accepted width or height.
    pub max_side: u32,
}

impl Default for DecodeLimits {
    /// 256 MiB, 120 megapixels, 30 000 px a side: above any current camera still.
    fn default() -> Self {
        DecodeLimits {
            max_bytes: 256 * 1024 * 1024,
            max_pixels: 120_000_000,
            max_side: 30_000,
        }
    }
}

impl DecodeLimits {
    /// Refuse a file longer than `max_bytes`.
    pub fn check_bytes(&self, len: u64) -> Result<(), ImagingError> {
        if len > self.max_bytes {
            return Err(ImagingError::TooManyBytes {
                size: len,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }

    /// Refuse a declared size over the pixel or side limit (or an empty one).
    pub fn check_pixels(&self, width: u32, height: u32) -> Result<(), ImagingError> {
        let (w, h) = (width as u64, height as u64);
        if w * h > self.max_pixels || width > self.max_side || height > self.max_side {
            return Err(ImagingError::TooManyPixels {
                subject: "the image".into(),
                width: w,
                height: h,
                limit_pixels: self.max_pixels,
                limit_side: self.max_side,
            });
        }
        Ok(())
    }

    fn image_limits(&self) -> image::Limits {
        let mut l = image::Limits::default();
        l.max_image_width = Some(self.max_side);
        l.max_image_height = Some(self.max_side);
        // Room for the decoded image at 16 bits per channel with alpha, plus the RGB copy.
        l.max_alloc = Some(self.max_pixels.saturating_mul(8 + 3));
        l
    }
}

/// A decoded still, upright, as 8-bit RGB.
#[derive(Debug, Clone)]
pub struct DecodedStill {
    /// The pixels after orientation was applied.
    pub image: RgbImage,
    /// The format detected from the content.
    pub format: FileFormat,
    /// Width as stored in the file, before any rotation.
    pub original_width: u32,
    /// Height as stored in the file, before any rotation.
    pub original_height: u32,
    /// The EXIF orientation (1..=8) that was applied; 1 when none was needed. For HEIF the
    /// container's own rotation/mirror is applied by the decoder and this stays 1.
    pub orientation_applied: u8,
}

/// Decode a still image from memory.
///
/// Accepts JPEG (greyscale, RGB, CMYK/YCCK), PNG and HEIC/HEIF. Refuses radiometric thermal
/// JPEGs (TH-06), NEF raw pixels, other formats, and anything over `limits`.
pub fn decode_still(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedStill, ImagingError> {
    limits.check_bytes(bytes.len() as u64)?;
    let format = sniff(bytes);
    match format {
        FileFormat::Jpeg => decode_jpeg(bytes, limits),
        FileFormat::Png => decode_png(bytes, limits),
        FileFormat::Heif => {
            let (image, original_width, original_height) = heif::decode(bytes, limits)?;
            Ok(DecodedStill {
                image,
                format,
                original_width,
                original_height,
                orientation_applied: 1,
            })
        }
        FileFormat::Nef => Err(ImagingError::RawPixelsUnavailable {
            detail: "raw sensor data is not demosaiced by Probity".into(),
        }),
        FileFormat::FlirFff => Err(ImagingError::ThermalRefused {
            detail: "FLIR FFF frame".into(),
        }),
        FileFormat::Unknown => Err(ImagingError::UnsupportedFormat {
            detail: "the content matches no known image format".into(),
        }),
        other => Err(ImagingError::UnsupportedFormat {
            detail: format!("{other} content"),
        }),
    }
}

/// Refuse a JPEG that carries a FLIR thermal record (TH-06). Used by every JPEG path.
pub(crate) fn refuse_thermal(info: &jpeg::JpegInfo<'_>) -> Result<(), ImagingError> {
    if info.flir_fff_record {
        return Err(ImagingError::ThermalRefused {
            detail: "radiometric JPEG with a FLIR FFF record in its APP1 segments".into(),
        });
    }
    if info.flir_segment {
        return Err(ImagingError::ThermalRefused {
            detail: "JPEG with FLIR thermal APP1 segments".into(),
        });
    }
    Ok(())
}

/// Scan a JPEG's header, refusing thermal frames, oversize frames and truncated files.
pub(crate) fn checked_jpeg_info<'a>(
    bytes: &'a [u8],
    limits: &DecodeLimits,
) -> Result<jpeg::JpegInfo<'a>, ImagingError> {
    let info = jpeg::scan(bytes).map_err(|d| ImagingError::corrupt(FileFormat::Jpeg, d))?;
    refuse_thermal(&info)?;
    if info.width == 0 || info.height == 0 {
        return Err(ImagingError::corrupt(
            FileFormat::Jpeg,
            "no frame header (SOF) with a non-zero size",
        ));
    }
    limits.check_pixels(info.width, info.height)?;
    let sos = info.sos_offset.unwrap_or(bytes.len());
    if !jpeg::has_end_marker(bytes, sos) {
        return Err(ImagingError::corrupt(
            FileFormat::Jpeg,
            format!(
                "the image data has no end-of-image marker (the file stops after {} bytes)",
                bytes.len()
            ),
        ));
    }
    // Every 8×8 block of a Huffman-coded scan takes at least one code (one bit), so coded data
    // shorter than half a bit per block cannot describe the declared frame: the header is forged
    // or the data was cut. Refused here, before a decoder sizes its buffers from the header (a
    // 600-byte file declaring 10000×10000 px made it allocate and fill 300 MB).
    let coded = bytes.len().saturating_sub(sos) as u64;
    let blocks = u64::from(info.width).div_ceil(8) * u64::from(info.height).div_ceil(8);
    if coded < blocks / 16 {
        return Err(ImagingError::corrupt(
            FileFormat::Jpeg,
            format!(
                "{coded} bytes of image data cannot hold the {}×{} pixels the header declares",
                info.width, info.height
            ),
        ));
    }
    // Decoders go over the whole frame once per scan, and a scan header costs ten bytes: many
    // scans over a large frame would turn a small file into minutes of decoding. Camera files
    // have one scan, progressive ones about ten; the scans × blocks a file asks for must stay
    // within 128 per byte of coded data (a uniformly black progressive image needs about 50).
    let scans = jpeg::scan_count(bytes, sos);
    if scans.saturating_mul(blocks) > coded.saturating_mul(128) {
        return Err(ImagingError::corrupt(
            FileFormat::Jpeg,
            format!(
                "{scans} scans over {}×{} pixels in {coded} bytes of image data is not a \
                 plausible image",
                info.width, info.height
            ),
        ));
    }
    Ok(info)
}

fn decode_jpeg(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedStill, ImagingError> {
    let info = checked_jpeg_info(bytes, limits)?;
    let orientation = info
        .exif
        .and_then(crate::metadata::orientation_of_tiff)
        .unwrap_or(1);
    let img = decode_with_image(bytes, ImageFormat::Jpeg, FileFormat::Jpeg, limits)?;
    finish(img, FileFormat::Jpeg, orientation)
}

fn decode_png(bytes: &[u8], limits: &DecodeLimits) -> Result<DecodedStill, ImagingError> {
    // IHDR is always the first chunk: width and height at bytes 16..24.
    let (w, h) = match bytes.get(16..24) {
        Some(b) if &bytes[12..16] == b"IHDR" => (
            u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
            u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        ),
        _ => {
            return Err(ImagingError::corrupt(
                FileFormat::Png,
                "missing or cut-off IHDR chunk",
            ))
        }
    };
    limits.check_pixels(w, h)?;
    // Deflate expands at most 1032 times, so a file this short cannot hold the rows the header
    // declares; refused before the decoder allocates the whole image from the header.
    let bits_per_pixel = match bytes.get(24..26) {
        Some(&[depth, colour]) => {
            let channels = match colour {
                2 => 3,
                4 => 2,
                6 => 4,
                _ => 1,
            };
            u64::from(depth) * channels
        }
        _ => 0,
    };
    let rows = u64::from(h) * (u64::from(w) * bits_per_pixel).div_ceil(8);
    if (bytes.len() as u64).saturating_mul(1032) < rows {
        return Err(ImagingError::corrupt(
            FileFormat::Png,
            format!(
                "{} bytes cannot hold the {w}×{h} pixels the header declares",
                bytes.len()
            ),
        ));
    }
    let reader = ImageReader::with_format(Cursor::new(bytes), ImageFormat::Png);
    let mut decoder = {
        let mut r = reader;
        r.limits(limits.image_limits());
        r.into_decoder()
            .map_err(|e| ImagingError::corrupt(FileFormat::Png, e.to_string()))?
    };
    let orientation = decoder.orientation().map(orientation_number).unwrap_or(1);
    let img = DynamicImage::from_decoder(decoder)
        .map_err(|e| ImagingError::corrupt(FileFormat::Png, e.to_string()))?;
    finish(img, FileFormat::Png, orientation)
}

fn decode_with_image(
    bytes: &[u8],
    format: ImageFormat,
    ours: FileFormat,
    limits: &DecodeLimits,
) -> Result<DynamicImage, ImagingError> {
    let mut r = ImageReader::with_format(Cursor::new(bytes), format);
    r.limits(limits.image_limits());
    r.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => ImagingError::corrupt(ours, format!("over limits: {l}")),
        other => ImagingError::corrupt(ours, other.to_string()),
    })
}

fn finish(
    img: DynamicImage,
    format: FileFormat,
    orientation: u8,
) -> Result<DecodedStill, ImagingError> {
    let (original_width, original_height) = (img.width(), img.height());
    let mut img = img;
    let o = if (1..=8).contains(&orientation) {
        orientation
    } else {
        1
    };
    if let Some(or) = image::metadata::Orientation::from_exif(o) {
        img.apply_orientation(or);
    }
    let image = match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    };
    Ok(DecodedStill {
        image,
        format,
        original_width,
        original_height,
        orientation_applied: o,
    })
}

fn orientation_number(o: image::metadata::Orientation) -> u8 {
    use image::metadata::Orientation as O;
    match o {
        O::NoTransforms => 1,
        O::FlipHorizontal => 2,
        O::Rotate180 => 3,
        O::FlipVertical => 4,
        O::Rotate90FlipH => 5,
        O::Rotate90 => 6,
        O::Rotate270FlipH => 7,
        O::Rotate270 => 8,
    }
}
