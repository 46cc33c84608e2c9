//! NEF (TIFF-based raw) structure: embedded JPEG previews and an integrity check of the image
//! data offsets. Raw sensor data itself is never demosaiced here.

use crate::tiff::{Ifd, Tiff};

const SUB_IFDS: u16 = 0x014A;
const EXIF_IFD: u16 = 0x8769;
const MAKER_NOTE: u16 = 0x927C;
const JPEG_OFFSET: u16 = 0x0201;
const JPEG_LENGTH: u16 = 0x0202;
const STRIP_OFFSETS: u16 = 0x0111;
const STRIP_BYTE_COUNTS: u16 = 0x0117;
const TILE_OFFSETS: u16 = 0x0144;
const TILE_BYTE_COUNTS: u16 = 0x0145;

/// Embedded JPEG previews of a TIFF-based raw file, largest first. Only complete JPEG streams
/// (start and end markers inside the file) are returned.
pub(crate) fn jpeg_previews(bytes: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    let Ok(t) = Tiff::new(bytes) else { return out };
    let mut ifds: Vec<Ifd> = Vec::new();
    if let Some(Ok(ifd0)) = t.first_ifd_offset().map(|o| t.ifd(o)) {
        if let Some(offs) = ifd0.entry(SUB_IFDS).and_then(|e| t.uints(&e)) {
            ifds.extend(offs.into_iter().filter_map(|o| t.ifd(o).ok()));
        }
        if let Some(exif) = ifd0
            .entry(EXIF_IFD)
            .and_then(|e| t.uint(&e))
            .and_then(|o| t.ifd(o).ok())
        {
            // Nikon's preview lies outside the maker note's declared length, at offsets
            // relative to the note's own TIFF header: read from the note's start to the end.
            if let Some(e) = exif.entry(MAKER_NOTE) {
                if let Some(note) = bytes.get(t.value_offset(&e) as usize..) {
                    out.extend(nikon_preview(note));
                }
            }
        }
        // IFD1: the EXIF thumbnail of a JPEG (or a TIFF's second image).
        if ifd0.next != 0 {
            if let Ok(ifd1) = t.ifd(ifd0.next) {
                ifds.push(ifd1);
            }
        }
        ifds.push(ifd0);
    }
    for ifd in &ifds {
        if let Some(p) = jpeg_at(&t, ifd) {
            out.push(p);
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out
}

fn jpeg_at<'a>(t: &Tiff<'a>, ifd: &Ifd) -> Option<&'a [u8]> {
    let off = t.uint(&ifd.entry(JPEG_OFFSET)?)? as usize;
    let len = t.uint(&ifd.entry(JPEG_LENGTH)?)? as usize;
    let blob = t.data.get(off..off.checked_add(len)?)?;
    complete_jpeg(blob).then_some(blob)
}

/// The Nikon maker note's PreviewIFD (tag 0x0011), offsets relative to the note's TIFF header.
fn nikon_preview(note: &[u8]) -> Option<&[u8]> {
    let inner = note.strip_prefix(b"Nikon\0")?.get(4..)?;
    let t = Tiff::new(inner).ok()?;
    let ifd = t.ifd(t.first_ifd_offset()?).ok()?;
    let preview = t.ifd(t.uint(&ifd.entry(0x0011)?)?).ok()?;
    jpeg_at(&t, &preview)
}

fn complete_jpeg(b: &[u8]) -> bool {
    b.len() > 64
        && b.starts_with(&[0xFF, 0xD8])
        && b.windows(2).rev().take(4096).any(|w| w == [0xFF, 0xD9])
}

/// Check that every strip and tile of every image in the file lies inside the file: a raw file
/// cut off during copying fails here.
pub(crate) fn check_data_offsets(bytes: &[u8]) -> Result<(), String> {
    let t = Tiff::new(bytes)?;
    let first = t.first_ifd_offset().ok_or("no first IFD")?;
    let ifd0 = t.ifd(first)?;
    let mut ifds = vec![ifd0.clone()];
    if let Some(offs) = ifd0.entry(SUB_IFDS).and_then(|e| t.uints(&e)) {
        for o in offs {
            ifds.push(t.ifd(o)?);
        }
    }
    for (n, ifd) in ifds.iter().enumerate() {
        for (off_tag, len_tag) in [
            (STRIP_OFFSETS, STRIP_BYTE_COUNTS),
            (TILE_OFFSETS, TILE_BYTE_COUNTS),
            (JPEG_OFFSET, JPEG_LENGTH),
        ] {
            let (Some(offs), Some(lens)) = (
                ifd.entry(off_tag).and_then(|e| t.uints(&e)),
                ifd.entry(len_tag).and_then(|e| t.uints(&e)),
            ) else {
                continue;
            };
            for (o, l) in offs.iter().zip(lens.iter()) {
                let end = *o as u64 + *l as u64;
                if end > bytes.len() as u64 {
                    return Err(format!(
                        "file is truncated: image {n} has data up to byte {end} but the file has {} bytes",
                        bytes.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

const NEW_SUBFILE_TYPE: u16 = 0x00FE;
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_HEIGHT: u16 = 0x0101;

/// Check that the full-resolution raw image still carries plausible sensor data: lossless NEF
/// compression keeps well over 1/16 byte per pixel, so less than that means the data was
/// stripped (metadata-only copies exist as test files and as damaged exports).
pub(crate) fn check_raw_data_present(bytes: &[u8]) -> Result<(), String> {
    let t = Tiff::new(bytes)?;
    let ifd0 = t.ifd(t.first_ifd_offset().ok_or("no first IFD")?)?;
    let mut candidates = vec![ifd0.clone()];
    if let Some(offs) = ifd0.entry(SUB_IFDS).and_then(|e| t.uints(&e)) {
        candidates.extend(offs.into_iter().filter_map(|o| t.ifd(o).ok()));
    }
    for ifd in candidates {
        let full = ifd
            .entry(NEW_SUBFILE_TYPE)
            .and_then(|e| t.uint(&e))
            .map(|v| v == 0)
            .unwrap_or(false);
        if !full {
            continue;
        }
        let w = ifd.entry(IMAGE_WIDTH).and_then(|e| t.uint(&e)).unwrap_or(0) as u64;
        let h = ifd
            .entry(IMAGE_HEIGHT)
            .and_then(|e| t.uint(&e))
            .unwrap_or(0) as u64;
        let stored: u64 = [STRIP_BYTE_COUNTS, TILE_BYTE_COUNTS]
            .iter()
            .filter_map(|&tag| ifd.entry(tag).and_then(|e| t.uints(&e)))
            .flatten()
            .map(u64::from)
            .sum();
        if w * h > 0 && stored < w * h / 16 {
            return Err(format!(
                "the raw image data is stripped: {stored} bytes for a {w}x{h} sensor image"
            ));
        }
        return Ok(());
    }
    Err("no full-resolution raw image in the file".into())
}
