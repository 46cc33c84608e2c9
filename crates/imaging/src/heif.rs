//! HEIC/HEIF through libheif (Debian's libheif 1.15 via libheif-rs 0.19 / libheif-sys 1.14).
//! libheif applies the container's rotation and mirror properties (irot/imir) while decoding, so
//! the EXIF orientation stored in Apple HEIC files must not be applied a second time.
//!
//! Nothing here hands bytes to libheif before the pure-Rust box walk (`heif_boxes`) has accepted
//! them, and pixels are decoded only in the worker process (`heif_worker`): [`decode`] and
//! [`thumbnail_or_primary`] run the worker; the `*_in_process` functions are what the worker
//! itself runs. Metadata is read by the box walk alone.

use std::sync::OnceLock;

use image::RgbImage;
use libheif_rs::{ColorSpace, HeifContext, ImageHandle, LibHeif, RgbChroma};

use crate::decode::DecodeLimits;
use crate::error::ImagingError;
use crate::format::FileFormat;
use crate::heif_boxes::{inspect_heif, inspect_structure};
use crate::heif_worker::HeifWorker;

fn libheif() -> &'static LibHeif {
    static LIB: OnceLock<LibHeif> = OnceLock::new();
    LIB.get_or_init(LibHeif::new)
}

/// Open a HEIF container with libheif, after the box walk has accepted its structure and every
/// declared size. Only the worker process calls this.
fn open(bytes: &[u8], limits: &DecodeLimits) -> Result<HeifContext, ImagingError> {
    inspect_heif(bytes, limits)?;
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
fn primary(ctx: &HeifContext) -> Result<ImageHandle, ImagingError> {
    if ctx.number_of_top_level_images() == 0 {
        return Err(ImagingError::HeifNoImage {
            detail: "the container lists no top-level image".into(),
        });
    }
    ctx.primary_image_handle()
        .map_err(|e| classify(e.to_string()))
}

/// Decode a handle to RGB after checking its declared size against the limits.
fn decode_handle(handle: &ImageHandle, limits: &DecodeLimits) -> Result<RgbImage, ImagingError> {
    limits.check_pixels(handle.width(), handle.height())?;
    let img = libheif()
        .decode(handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(|e| {
            let msg = e.to_string();
            let lower = msg.to_ascii_lowercase();
            // The boxes are complete (checked in `open`), so data missing past the end means
            // the image items point at data the file does not contain.
            if lower.contains("memory allocation") {
                ImagingError::HeifDecoderFailed {
                    detail: format!("HEIC decoder ran out of its memory limit on this file: {msg}"),
                }
            } else if lower.contains("end of file") || lower.contains("endofdata") {
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

/// Decode the primary image in the worker process. Returns the image and its stored
/// (pre-rotation) size.
pub(crate) fn decode(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(RgbImage, u32, u32), ImagingError> {
    HeifWorker::locate()?.decode(bytes, limits)
}

/// The primary image's embedded thumbnail when its longest side is at least `min_side`, else
/// the primary image, decoded in one worker run. `true` when it is the thumbnail.
pub(crate) fn thumbnail_or_primary(
    bytes: &[u8],
    limits: &DecodeLimits,
    min_side: u32,
) -> Result<(RgbImage, bool), ImagingError> {
    HeifWorker::locate()?.thumbnail_or_primary(bytes, limits, min_side)
}

/// Decode the primary image in this process (the worker's job). Returns the image and its
/// stored (pre-rotation) size.
pub(crate) fn decode_in_process(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(RgbImage, u32, u32), ImagingError> {
    let ctx = open(bytes, limits)?;
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
    /// The primary image's declared size (`ispe`), when it has one.
    pub size: Option<(u32, u32)>,
}

/// The EXIF TIFF structure of the primary image (the block starts with a 4-byte offset to the
/// TIFF header), any XMP packets, and the declared size, read by the box walk alone: no
/// decoder runs, so only the structure limits apply.
pub(crate) fn metadata_blocks(bytes: &[u8]) -> Result<MetadataBlocks, ImagingError> {
    let inspection = inspect_structure(bytes)?;
    let size = (inspection.width > 0 && inspection.height > 0)
        .then_some((inspection.width, inspection.height));
    Ok(MetadataBlocks {
        exif: inspection.exif,
        xmp: inspection.xmp,
        size,
    })
}

/// Decode the smallest embedded thumbnail of the primary image in this process (the worker's
/// job), if there is one.
pub(crate) fn thumbnail_in_process(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<Option<RgbImage>, ImagingError> {
    let ctx = open(bytes, limits)?;
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
