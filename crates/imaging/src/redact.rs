//! Redaction for public-records releases (PUB-01): faces and other identifying details of
//! uninvolved people are covered with a solid fill. A blur is never used: blurred faces can be
//! partly recovered, a solid fill cannot.

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::ImagingError;

/// A rectangle to cover, in pixels of the image being released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedactionBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// Cover every box (clipped to the image) with `fill`. Returns the number of pixels covered.
/// A box lying wholly outside the image is an error: it means the boxes belong to another
/// image or another orientation, and a release must not go out half-redacted.
pub fn redact_regions(
    image: &mut RgbImage,
    boxes: &[RedactionBox],
    fill: Rgb<u8>,
) -> Result<u64, ImagingError> {
    let (w, h) = image.dimensions();
    for b in boxes {
        if b.width == 0 || b.height == 0 || b.x >= w || b.y >= h {
            return Err(ImagingError::InvalidEdit {
                detail: format!(
                    "redaction box {}x{} at ({},{}) does not cover any part of the {w}x{h} image; nothing was released",
                    b.width, b.height, b.x, b.y
                ),
            });
        }
    }
    let mut covered = 0u64;
    for b in boxes {
        let x1 = (b.x as u64 + b.width as u64).min(w as u64) as u32;
        let y1 = (b.y as u64 + b.height as u64).min(h as u64) as u32;
        for y in b.y..y1 {
            for x in b.x..x1 {
                if image.get_pixel(x, y) != &fill {
                    covered += 1;
                }
                image.put_pixel(x, y, fill);
            }
        }
    }
    Ok(covered)
}

/// Encode a released image as JPEG. The output carries no EXIF, XMP or GPS: only pixels.
pub fn encode_release_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100))
        .encode_image(image)
        .map_err(|e| ImagingError::Encode {
            what: "released image",
            detail: e.to_string(),
        })?;
    Ok(out)
}
