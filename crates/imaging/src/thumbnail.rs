//! Small JPEG thumbnails for evidence galleries, made the cheap way for each format: JPEG by
//! DCT-domain downscaling (decoding at 1/2..1/8 size), HEIC from its embedded thumbnail item,
//! NEF from its largest embedded JPEG preview; otherwise a full decode and resize.

use image::imageops::FilterType;
use image::{DynamicImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::decode::{checked_jpeg_info, decode_still, DecodeLimits};
use crate::error::ImagingError;
use crate::format::{sniff, FileFormat};
use crate::{heif, metadata, raw};

/// Default longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 256;

/// How a thumbnail was produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThumbnailSource {
    /// JPEG decoded at reduced size in the DCT domain.
    DctScaled,
    /// The HEIF file's own thumbnail item.
    EmbeddedThumbnail,
    /// A JPEG preview embedded by the camera (raw files, and camera JPEGs whose preview is
    /// large enough).
    EmbeddedPreview,
    /// The full image decoded and resized.
    FullDecode,
}

/// A small upright JPEG.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thumbnail {
    /// JPEG bytes.
    #[serde(with = "hex_bytes")]
    pub jpeg: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub source: ThumbnailSource,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

/// Make a thumbnail whose longest side is at most `max_side` pixels.
pub fn make_thumbnail(
    bytes: &[u8],
    max_side: u32,
    limits: &DecodeLimits,
) -> Result<Thumbnail, ImagingError> {
    let max_side = max_side.max(16);
    limits.check_bytes(bytes.len() as u64)?;
    let (img, source) = match sniff(bytes) {
        FileFormat::Jpeg => {
            let info = checked_jpeg_info(bytes, limits)?;
            let orientation = info.exif.and_then(metadata::orientation_of_tiff);
            let preview = info.exif.and_then(|exif| {
                usable_preview(&raw::jpeg_previews(exif), info.width, info.height, max_side)
            });
            match preview.map(|p| jpeg_scaled_oriented(p, max_side, limits, orientation)) {
                Some(Ok(img)) => (img, ThumbnailSource::EmbeddedPreview),
                _ => (
                    jpeg_scaled(bytes, max_side, limits)?,
                    ThumbnailSource::DctScaled,
                ),
            }
        }
        // One worker run: the embedded thumbnail when it is large enough, else the image.
        FileFormat::Heif => match heif::thumbnail_or_primary(bytes, limits, max_side / 2)? {
            (t, true) => (t, ThumbnailSource::EmbeddedThumbnail),
            (img, false) => (img, ThumbnailSource::FullDecode),
        },
        FileFormat::Nef | FileFormat::Tiff => {
            let previews = raw::jpeg_previews(bytes);
            let Some(preview) = previews.first() else {
                return Err(ImagingError::RawPixelsUnavailable {
                    detail: "the file holds no complete embedded JPEG preview".into(),
                });
            };
            let orientation = metadata::orientation_of_tiff(bytes).unwrap_or(1);
            let img = jpeg_scaled_oriented(preview, max_side, limits, Some(orientation))?;
            (img, ThumbnailSource::EmbeddedPreview)
        }
        _ => (
            decode_still(bytes, limits)?.image,
            ThumbnailSource::FullDecode,
        ),
    };
    encode(img, max_side, source)
}

/// The smallest embedded preview that still covers `max_side` and has the main image's aspect
/// ratio (a letter-boxed EXIF thumbnail does not qualify).
fn usable_preview<'a>(
    previews: &[&'a [u8]],
    width: u32,
    height: u32,
    max_side: u32,
) -> Option<&'a [u8]> {
    if width == 0 || height == 0 {
        return None;
    }
    let aspect = width as f64 / height as f64;
    previews
        .iter()
        .filter_map(|p| {
            let info = crate::jpeg::scan(p).ok()?;
            let (w, h) = (info.width, info.height);
            if w.max(h) < max_side || h == 0 || info.flir_segment {
                return None;
            }
            let a = w as f64 / h as f64;
            ((a - aspect).abs() / aspect < 0.02).then_some((p.len(), *p))
        })
        .min_by_key(|(len, _)| *len)
        .map(|(_, p)| p)
}

fn encode(
    img: RgbImage,
    max_side: u32,
    source: ThumbnailSource,
) -> Result<Thumbnail, ImagingError> {
    let (w, h) = img.dimensions();
    let img = if w.max(h) > max_side {
        let scale = max_side as f64 / w.max(h) as f64;
        let nw = ((w as f64 * scale).round() as u32).max(1);
        let nh = ((h as f64 * scale).round() as u32).max(1);
        image::imageops::resize(&img, nw, nh, FilterType::Triangle)
    } else {
        img
    };
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&img)
        .map_err(|e| ImagingError::Encode {
            what: "thumbnail",
            detail: e.to_string(),
        })?;
    Ok(Thumbnail {
        jpeg,
        width: img.width(),
        height: img.height(),
        source,
    })
}

fn jpeg_scaled(
    bytes: &[u8],
    max_side: u32,
    limits: &DecodeLimits,
) -> Result<RgbImage, ImagingError> {
    jpeg_scaled_oriented(bytes, max_side, limits, None)
}

/// Decode a JPEG at the smallest DCT scale that still covers `max_side`, upright.
fn jpeg_scaled_oriented(
    bytes: &[u8],
    max_side: u32,
    limits: &DecodeLimits,
    orientation: Option<u8>,
) -> Result<RgbImage, ImagingError> {
    let info = checked_jpeg_info(bytes, limits)?;
    let orientation = orientation
        .or_else(|| info.exif.and_then(metadata::orientation_of_tiff))
        .unwrap_or(1);
    let (w, h) = (info.width, info.height);
    let scale = (max_side as f64 / w.max(h) as f64).min(1.0);
    let req_w = ((w as f64 * scale).ceil() as u32).clamp(1, u16::MAX as u32) as u16;
    let req_h = ((h as f64 * scale).ceil() as u32).clamp(1, u16::MAX as u32) as u16;
    let corrupt = |e: jpeg_decoder::Error| ImagingError::corrupt(FileFormat::Jpeg, e.to_string());
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    let (ow, oh) = dec.scale(req_w, req_h).map_err(corrupt)?;
    let pixels = dec.decode().map_err(corrupt)?;
    let fmt = dec
        .info()
        .ok_or_else(|| ImagingError::corrupt(FileFormat::Jpeg, "no frame information"))?
        .pixel_format;
    let (ow, oh) = (ow as u32, oh as u32);
    let n = ow as usize * oh as usize;
    let rgb: Vec<u8> = match fmt {
        jpeg_decoder::PixelFormat::RGB24 => pixels,
        jpeg_decoder::PixelFormat::L8 => pixels.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => pixels
            .chunks_exact(2)
            .flat_map(|c| {
                let l = c[0];
                [l, l, l]
            })
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => pixels
            .chunks_exact(4)
            .flat_map(|c| {
                let k = 255 - c[3] as u32;
                let ch = |v: u8| ((255 - v as u32) * k / 255) as u8;
                [ch(c[0]), ch(c[1]), ch(c[2])]
            })
            .collect(),
    };
    if rgb.len() != n * 3 {
        return Err(ImagingError::corrupt(
            FileFormat::Jpeg,
            "decoded size does not match the frame header",
        ));
    }
    let img = RgbImage::from_raw(ow, oh, rgb).ok_or_else(|| {
        ImagingError::corrupt(
            FileFormat::Jpeg,
            "decoded size does not match the frame header",
        )
    })?;
    let mut dynamic = DynamicImage::ImageRgb8(img);
    if let Some(o) = image::metadata::Orientation::from_exif(orientation) {
        dynamic.apply_orientation(o);
    }
    Ok(dynamic.to_rgb8())
}
