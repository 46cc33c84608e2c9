//! HEIC/HEIF through libheif (Debian's libheif 1.15 via libheif-rs 0.19 / libheif-sys 1.14).
//! libheif applies the container's rotation and mirror properties (irot/imir) while decoding, so
//! the EXIF orientation stored in Apple HEIC files must not be applied a second time.

use std::sync::OnceLock;

use image::RgbImage;
use libheif_rs::{ColorSpace, HeifContext, ImageHandle, LibHeif, RgbChroma};

use crate::decode::DecodeLimits;
use crate::error::ImagingError;
use crate::format::FileFormat;

fn libheif() -> &'static LibHeif {
    static LIB: OnceLock<LibHeif> = OnceLock::new();
    LIB.get_or_init(LibHeif::new)
}

/// Check that the top-level boxes of the file are complete: a box running past the end of the
/// file means the copy was cut off.
pub(crate) fn check_boxes(bytes: &[u8]) -> Result<(), ImagingError> {
    let mut i = 0usize;
    while i < bytes.len() {
        let Some(h) = bytes.get(i..i + 8) else {
            return Err(ImagingError::corrupt(
                FileFormat::Heif,
                format!("file is truncated: it ends inside a box header at byte {i}"),
            ));
        };
        let kind = String::from_utf8_lossy(&h[4..8]).to_string();
        let size = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
            0 => (bytes.len() - i) as u64,
            1 => match bytes.get(i + 8..i + 16) {
                Some(b) => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                None => {
                    return Err(ImagingError::corrupt(
                        FileFormat::Heif,
                        format!("file is truncated inside the '{kind}' box header"),
                    ))
                }
            },
            n => n as u64,
        };
        if size < 8 {
            return Err(ImagingError::corrupt(
                FileFormat::Heif,
                format!("box '{kind}' at byte {i} has an invalid size {size}"),
            ));
        }
        let end = (i as u64).saturating_add(size);
        if end > bytes.len() as u64 {
            return Err(ImagingError::corrupt(
                FileFormat::Heif,
                format!(
                    "file is truncated: box '{kind}' needs {end} bytes but the file has {}",
                    bytes.len()
                ),
            ));
        }
        i = end as usize;
    }
    Ok(())
}

/// Open a HEIF container; an unreadable or empty container is reported specifically.
pub(crate) fn open(bytes: &[u8]) -> Result<HeifContext, ImagingError> {
    check_boxes(bytes)?;
    // Make sure the library is initialised before the first context is created.
    let _ = libheif();
    HeifContext::read_from_bytes(bytes).map_err(|e| classify(e.to_string()))
}

/// Map libheif's message to the specific error a user should see.
fn classify(msg: String) -> ImagingError {
    let lower = msg.to_ascii_lowercase();
    if lower.contains("no 'pitm'")
        || lower.contains("no item")
        || lower.contains("nonexisting item")
        || lower.contains("no image")
        || lower.contains("primary")
        || lower.contains("no 'iloc'")
        || lower.contains("non-existing")
    {
        ImagingError::HeifNoImage { detail: msg }
    } else {
        ImagingError::corrupt(FileFormat::Heif, msg)
    }
}

/// The primary image handle, or a "no image" error when the container has none.
pub(crate) fn primary(ctx: &HeifContext) -> Result<ImageHandle, ImagingError> {
    if ctx.number_of_top_level_images() == 0 {
        return Err(ImagingError::HeifNoImage {
            detail: "the container lists no top-level image".into(),
        });
    }
    ctx.primary_image_handle()
        .map_err(|e| classify(e.to_string()))
}

/// Decode a handle to RGB after checking its declared size against the limits.
pub(crate) fn decode_handle(
    handle: &ImageHandle,
    limits: &DecodeLimits,
) -> Result<RgbImage, ImagingError> {
    limits.check_pixels(handle.width(), handle.height())?;
    let img = libheif()
        .decode(handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(|e| {
            let msg = e.to_string();
            let lower = msg.to_ascii_lowercase();
            // The boxes are complete (checked in `open`), so data missing past the end means
            // the image items point at data the file does not contain.
            if lower.contains("end of file") || lower.contains("endofdata") {
                ImagingError::HeifNoImage {
                    detail: format!("the image's coded data is not in the file: {msg}"),
                }
            } else {
                classify(msg)
            }
        })?;
    let planes = img.planes();
    let plane = planes.interleaved.ok_or_else(|| {
        ImagingError::corrupt(
            FileFormat::Heif,
            "libheif returned no interleaved RGB plane",
        )
    })?;
    let (w, h, stride) = (plane.width, plane.height, plane.stride);
    let row = w as usize * 3;
    let mut out = Vec::with_capacity(row * h as usize);
    for y in 0..h as usize {
        let start = y * stride;
        let src = plane.data.get(start..start + row).ok_or_else(|| {
            ImagingError::corrupt(FileFormat::Heif, "decoded plane is smaller than declared")
        })?;
        out.extend_from_slice(src);
    }
    RgbImage::from_raw(w, h, out)
        .ok_or_else(|| ImagingError::corrupt(FileFormat::Heif, "decoded plane has the wrong size"))
}

/// Decode the primary image. Returns the image and its stored (pre-rotation) size.
pub(crate) fn decode(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(RgbImage, u32, u32), ImagingError> {
    let ctx = open(bytes)?;
    let handle = primary(&ctx)?;
    let (iw, ih) = (handle.ispe_width(), handle.ispe_height());
    let img = decode_handle(&handle, limits)?;
    let (ow, oh) = if iw > 0 && ih > 0 {
        (iw as u32, ih as u32)
    } else {
        img.dimensions()
    };
    Ok((img, ow, oh))
}

/// Metadata items attached to the primary image.
pub(crate) struct MetadataBlocks {
    /// The EXIF TIFF structure (the item's 4-byte header offset already skipped).
    pub exif: Option<Vec<u8>>,
    /// XMP packets.
    pub xmp: Vec<Vec<u8>>,
}

/// The EXIF TIFF structure of the primary image (the block starts with a 4-byte offset to the
/// TIFF header), and any XMP packets.
pub(crate) fn metadata_blocks(bytes: &[u8]) -> Result<MetadataBlocks, ImagingError> {
    let ctx = open(bytes)?;
    let handle = primary(&ctx)?;
    let mut ids = vec![0; 16];
    let n = handle.metadata_block_ids(&mut ids, b"Exif");
    let mut exif = None;
    for &id in ids.iter().take(n) {
        if let Ok(block) = handle.metadata(id) {
            if block.len() >= 4 {
                let skip = u32::from_be_bytes([block[0], block[1], block[2], block[3]]) as usize;
                if let Some(tiff) = block.get(4 + skip..) {
                    exif = Some(tiff.to_vec());
                    break;
                }
            }
        }
    }
    let mut xmp = Vec::new();
    let mut ids = vec![0; 16];
    let n = handle.metadata_block_ids(&mut ids, b"mime");
    for &id in ids.iter().take(n) {
        if handle.metadata_content_type(id) == Some("application/rdf+xml") {
            if let Ok(block) = handle.metadata(id) {
                xmp.push(block);
            }
        }
    }
    Ok(MetadataBlocks { exif, xmp })
}
/// Decode the smallest embedded thumbnail of the primary image, if there is one.
pub(crate) fn thumbnail(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<Option<RgbImage>, ImagingError> {
    let ctx = open(bytes)?;
    let handle = primary(&ctx)?;
    let count = handle.number_of_thumbnails();
    if count == 0 {
        return Ok(None);
    }
    let mut ids = vec![0; count];
    let n = handle.thumbnail_ids(&mut ids);
    for &id in ids.iter().take(n) {
        if let Ok(t) = handle.thumbnail(id) {
            return decode_handle(&t, limits).map(Some);
        }
    }
    Ok(None)
}
