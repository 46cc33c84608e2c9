//! JPEG marker-segment scanning: frame size, EXIF and XMP blocks, FLIR thermal segments, and
//! a check that the entropy-coded data is followed by an end-of-image marker (truncation).

/// What the marker segments of a JPEG say, read without decoding any pixels.
#[derive(Debug, Default, Clone)]
pub(crate) struct JpegInfo<'a> {
    /// Frame width and height from the first SOFn segment.
    pub width: u32,
    pub height: u32,
    /// Number of colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// The TIFF structure of the first `Exif\0\0` APP1 segment.
    pub exif: Option<&'a [u8]>,
    /// Packets of XMP APP1 segments.
    pub xmp: Vec<&'a [u8]>,
    /// A FLIR APP1 segment exists.
    pub flir_segment: bool,
    /// The FLIR segments carry an FFF record (a radiometric thermal frame).
    pub flir_fff_record: bool,
    /// Offset of the first start-of-scan segment.
    pub sos_offset: Option<usize>,
}

const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// Scan the marker segments up to the first start-of-scan.
pub(crate) fn scan(bytes: &[u8]) -> Result<JpegInfo<'_>, String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("no JPEG start-of-image marker".into());
    }
    let mut info = JpegInfo::default();
    let mut i = 2usize;
    loop {
        // Find the next marker, skipping fill bytes.
        if i >= bytes.len() {
            return Err(format!(
                "file ends after {} bytes, inside the header segments",
                bytes.len()
            ));
        }
        if bytes[i] != 0xFF {
            return Err(format!("expected a marker at byte {i}"));
        }
        while i < bytes.len() && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Err("file ends inside a marker".into());
        };
        i += 1;
        match marker {
            0xD8 | 0x01 | 0xD0..=0xD7 => continue,
            0xD9 => return Err("end-of-image marker before any image data".into()),
            _ => {}
        }
        let len = match bytes.get(i..i + 2) {
            Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
            None => return Err("file ends inside a segment header".into()),
        };
        if len < 2 {
            return Err(format!("segment length {len} at byte {i} is invalid"));
        }
        let seg_start = i + 2;
        let seg_end = i + len;
        let Some(seg) = bytes.get(seg_start..seg_end) else {
            return Err(format!(
                "segment 0xFF{marker:02X} at byte {} needs {} bytes but the file ends after {}",
                i - 2,
                len,
                bytes.len()
            ));
        };
        match marker {
            0xE1 => {
                if let Some(tiff) = seg.strip_prefix(b"Exif\0\0") {
                    if info.exif.is_none() {
                        info.exif = Some(tiff);
                    }
                } else if let Some(x) = seg.strip_prefix(XMP_ID) {
                    info.xmp.push(x);
                } else if seg.starts_with(b"FLIR\0") {
                    info.flir_segment = true;
                    // "FLIR\0", version byte, chunk index, chunk count, then the payload.
                    if seg.len() >= 12 && seg[6] == 0 && &seg[8..12] == b"FFF\0" {
                        info.flir_fff_record = true;
                    }
                }
            }
            0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF
                if info.width == 0 && seg.len() >= 6 =>
            {
                info.height = u16::from_be_bytes([seg[1], seg[2]]) as u32;
                info.width = u16::from_be_bytes([seg[3], seg[4]]) as u32;
                info.components = seg[5];
            }
            0xDA => {
                info.sos_offset = Some(i - 2);
                return Ok(info);
            }
            _ => {}
        }
        i = seg_end;
    }
}

/// True when an end-of-image marker follows the start of scan (entropy-coded data cannot
/// contain `FF D9`, so its absence means the file was cut off).
pub(crate) fn has_end_marker(bytes: &[u8], sos_offset: usize) -> bool {
    bytes
        .get(sos_offset..)
        .map(|tail| tail.windows(2).any(|w| w == [0xFF, 0xD9]))
        .unwrap_or(false)
}

/// Number of start-of-scan markers from `sos_offset` on (entropy-coded data escapes every
/// `FF` byte, so `FF DA` there is a marker).
pub(crate) fn scan_count(bytes: &[u8], sos_offset: usize) -> u64 {
    bytes
        .get(sos_offset..)
        .map(|tail| tail.windows(2).filter(|w| *w == [0xFF, 0xDA]).count() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_06_truncated_header_is_an_error() {
        assert!(scan(b"\xFF\xD8\xFF\xE1\x10\x00Exif").is_err());
        assert!(scan(b"\xFF\xD8").is_err());
        assert!(scan(b"GIF89a").is_err());
    }

    #[test]
    fn th_06_flir_segment_with_fff_record_is_seen() {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE1];
        let payload = b"FLIR\0\x01\0\x01FFF\0data";
        j.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        j.extend_from_slice(payload);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]);
        let info = scan(&j).unwrap();
        assert!(info.flir_segment && info.flir_fff_record);
    }
}
