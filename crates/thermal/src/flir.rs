//! FLIR containers: JPEG APP1 "FLIR" segments, FFF records and SEQ-style
//! sequences of FFF records.
//!
//! Layout (as documented by ExifTool's FLIR module):
//! - JPEG: APP1 segments whose payload starts `FLIR\0`, then one unknown byte,
//!   the segment index and the last index; the payloads after these 8 bytes,
//!   concatenated in index order, form one FFF record.
//! - FFF: 0x40-byte header (`FFF\0`, creator, version 100..199 at 0x14 which
//!   also tells the byte order, directory offset 0x18, entry count 0x1c), then
//!   32-byte directory entries (type, subtype, version, index, offset, length).
//! - Record 0x01 raw data: byte-order word, width, height, samples at 0x20
//!   (PNG or plain 16-bit). Record 0x20 camera info: Planck constants and
//!   object parameters at fixed offsets, each record with its own byte order.

use crate::bytes::{Reader, WipedBytes};
use crate::calibration::{Calibration, RadiometricParams};
use crate::error::{corrupt, Result, ThermalError};
use crate::frame::{
    CameraIdentity, DecodeLimits, FrameMetadata, RawEncoding, RawValueStats, SourceFormat,
    ThermalImage,
};
use chrono::{DateTime, FixedOffset};
use zeroize::Zeroizing;

const FLIR_MAGIC: &[u8] = b"FLIR\0";
use crate::png16::{self, PNG_SIGNATURE};
const MAX_DIRECTORY_ENTRIES: u32 = 4096;
const REC_RAW_DATA: u16 = 0x01;
const REC_CAMERA_INFO: u16 = 0x20;

/// Segments of a JPEG before its image data, without reading past the first SOS.
pub(crate) struct JpegSegments<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

pub(crate) fn jpeg_segments(data: &[u8]) -> Option<JpegSegments<'_>> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != 0xD8 {
        return None;
    }
    Some(JpegSegments {
        data,
        pos: 2,
        done: false,
    })
}

impl<'a> Iterator for JpegSegments<'a> {
    /// (marker, payload) or an error describing where the file is damaged.
    type Item = Result<(u8, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            let d = self.data;
            if self.pos >= d.len() {
                self.done = true;
                return None;
            }
            if d[self.pos] != 0xFF {
                self.done = true;
                return Some(Err(corrupt(format!(
                    "JPEG marker expected at offset {}",
                    self.pos
                ))));
            }
            // Fill bytes.
            let mut p = self.pos + 1;
            while p < d.len() && d[p] == 0xFF {
                p += 1;
            }
            let Some(&marker) = d.get(p) else {
                self.done = true;
                return None;
            };
            p += 1;
            match marker {
                0xD8 | 0x01 | 0xD0..=0xD7 => {
                    self.pos = p;
                    continue;
                }
                0xD9 | 0xDA => {
                    // End of image or start of scan: metadata segments are over.
                    self.done = true;
                    return None;
                }
                _ => {}
            }
            let Some(len) = d
                .get(p..p + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            else {
                self.done = true;
                return Some(Err(corrupt(format!(
                    "JPEG segment length missing at offset {p}"
                ))));
            };
            if len < 2 || p + len > d.len() {
                self.done = true;
                return Some(Err(corrupt(format!(
                    "JPEG segment at offset {} claims {} bytes but the file ends at {}",
                    p - 2,
                    len,
                    d.len()
                ))));
            }
            self.pos = p + len;
            return Some(Ok((marker, &d[p + 2..p + len])));
        }
    }
}

/// Cheap check: does this JPEG carry a FLIR FFF record? Reads only segment
/// headers up to the first scan; no allocation.
pub(crate) fn jpeg_has_flir_record(data: &[u8]) -> bool {
    let Some(segments) = jpeg_segments(data) else {
        return false;
    };
    for seg in segments {
        let Ok((marker, payload)) = seg else {
            return false;
        };
        if marker == 0xE1 && payload.starts_with(FLIR_MAGIC) && payload.len() > 8 {
            let body = &payload[8..];
            // The first segment starts the FFF record; later ones continue it.
            if payload[6] == 0 {
                return body.starts_with(b"FFF\0") || body.starts_with(b"AFF\0");
            }
        }
    }
    false
}

/// The FLIR record reassembled from a JPEG, plus EXIF make/model.
pub(crate) struct JpegFlir {
    pub fff: WipedBytes,
    pub exif_make: Option<String>,
    pub exif_model: Option<String>,
}

pub(crate) fn extract_from_jpeg(data: &[u8], limits: &DecodeLimits) -> Result<JpegFlir> {
    let segments = jpeg_segments(data)
        .ok_or_else(|| ThermalError::NotRadiometric("the file is not a JPEG".into()))?;
    let mut chunks: Vec<Option<&[u8]>> = Vec::new();
    let mut last_index: Option<u8> = None;
    let mut exif_make = None;
    let mut exif_model = None;
    let mut saw_flir_exif = false;
    for seg in segments {
        let (marker, payload) = seg?;
        if marker != 0xE1 {
            continue;
        }
        if let Some(tiff) = payload.strip_prefix(b"Exif\0\0") {
            let (make, model) = exif_make_model(tiff);
            saw_flir_exif |= make.as_deref().is_some_and(|m| m.contains("FLIR"));
            exif_make = exif_make.or(make);
            exif_model = exif_model.or(model);
            continue;
        }
        if !payload.starts_with(FLIR_MAGIC) {
            continue;
        }
        if payload.len() < 8 {
            return Err(corrupt("FLIR APP1 segment shorter than its 8-byte header"));
        }
        let (index, last) = (payload[6], payload[7]);
        match last_index {
            None => {
                last_index = Some(last);
                chunks = vec![None; usize::from(last) + 1];
            }
            Some(l) if l != last => {
                return Err(corrupt(format!(
                    "FLIR APP1 segments disagree on their count ({} and {})",
                    u16::from(l) + 1,
                    u16::from(last) + 1
                )))
            }
            Some(_) => {}
        }
        let slot = chunks.get_mut(usize::from(index)).ok_or_else(|| {
            corrupt(format!(
                "FLIR APP1 segment index {index} exceeds the last index {last}"
            ))
        })?;
        if slot.is_some() {
            return Err(corrupt(format!("FLIR APP1 segment {index} appears twice")));
        }
        *slot = Some(&payload[8..]);
    }
    if last_index.is_none() {
        let why = if saw_flir_exif {
            "the JPEG has FLIR EXIF metadata but no FLIR thermal record (APP1 \"FLIR\" segments); it is a visual image"
        } else {
            "the JPEG has no FLIR thermal record (APP1 \"FLIR\" segments)"
        };
        return Err(ThermalError::NotRadiometric(why.into()));
    }
    let total: usize = chunks.iter().flatten().map(|c| c.len()).sum();
    // A raw frame at the pixel limit plus generous room for the other records.
    let cap = limits.max_pixels.saturating_mul(2).saturating_add(64 << 20);
    if total as u64 > cap {
        return Err(ThermalError::TooLarge {
            width: 0,
            height: 0,
            limit: format!("{cap} bytes of FLIR record"),
        });
    }
    let n = chunks.len();
    let mut parts = Vec::with_capacity(n);
    for (i, c) in chunks.into_iter().enumerate() {
        parts.push(c.ok_or_else(|| {
            corrupt(format!(
                "FLIR APP1 segment {} of {} is missing (file truncated?)",
                i + 1,
                n
            ))
        })?);
    }
    // Copy only the part of the record that the raw data and camera records
    // need; the embedded visual image that often follows them stays behind.
    let head = concat_prefix(&parts, 0x40);
    let needed = fff_directory_len(&head)
        .map(|dir_len| concat_prefix(&parts, dir_len))
        .and_then(|dir| fff_needed_len(&dir))
        .unwrap_or(total)
        .min(total);
    let fff = concat_prefix(&parts, needed);
    Ok(JpegFlir {
        fff,
        exif_make,
        exif_model,
    })
}

/// The first `len` bytes of the concatenated segment payloads
/// (fewer when the payloads hold fewer). The length comes from the record's
/// own header, so the buffer is sized by what the payloads hold.
fn concat_prefix(parts: &[&[u8]], len: usize) -> WipedBytes {
    let len = len.min(parts.iter().map(|p| p.len()).sum());
    let mut out = WipedBytes(Vec::with_capacity(len));
    for p in parts {
        let take = (len - out.len()).min(p.len());
        out.extend_from_slice(&p[..take]);
        if out.len() == len {
            break;
        }
    }
    out
}

fn fff_header(data: &[u8]) -> Option<Reader<'_>> {
    if !data.starts_with(b"FFF\0") {
        return None;
    }
    let big_endian = match Reader::new(data, true, "FFF header").u32(0x14).ok()? {
        100..=199 => true,
        v if (100..200).contains(&v.swap_bytes()) => false,
        _ => return None,
    };
    Some(Reader::new(data, big_endian, "FFF header"))
}

/// Bytes from the start of an FFF record to the end of its directory.
fn fff_directory_len(head: &[u8]) -> Option<usize> {
    let r = fff_header(head)?;
    let count = r.u32(0x1C).ok()?;
    if count > MAX_DIRECTORY_ENTRIES {
        return None;
    }
    (r.u32(0x18).ok()? as usize).checked_add(count as usize * 32)
}

/// Bytes from the start of an FFF record to the end of its directory, raw
/// data and camera records (`None` if the directory cannot be read; the full
/// parser then reports why).
fn fff_needed_len(data: &[u8]) -> Option<usize> {
    let r = fff_header(data)?;
    let dir = r.u32(0x18).ok()? as usize;
    let count = r.u32(0x1C).ok()? as usize;
    let mut end = dir.checked_add(count.checked_mul(32)?)?;
    for i in 0..count {
        let e = dir + i * 32;
        let t = r.u16(e).ok()?;
        if t == REC_RAW_DATA || t == REC_CAMERA_INFO {
            let off = r.u32(e + 0x0C).ok()? as usize;
            let len = r.u32(e + 0x10).ok()? as usize;
            end = end.max(off.checked_add(len)?);
        }
    }
    Some(end)
}

/// Make (0x010F) and Model (0x0110) from IFD0 of an EXIF TIFF block.
fn exif_make_model(tiff: &[u8]) -> (Option<String>, Option<String>) {
    let big = match tiff.get(0..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return (None, None),
    };
    let r = Reader::new(tiff, big, "EXIF block");
    let Ok(ifd) = r.u32(4) else {
        return (None, None);
    };
    let ifd = ifd as usize;
    let Ok(count) = r.u16(ifd) else {
        return (None, None);
    };
    let (mut make, mut model) = (None, None);
    for i in 0..usize::from(count.min(512)) {
        let e = ifd + 2 + i * 12;
        let (Ok(tag), Ok(typ), Ok(n)) = (r.u16(e), r.u16(e + 2), r.u32(e + 4)) else {
            break;
        };
        if typ != 2 || !(tag == 0x010F || tag == 0x0110) {
            continue;
        }
        let n = n as usize;
        let value = if n <= 4 {
            r.string(e + 8, n)
        } else {
            r.u32(e + 8).ok().and_then(|o| r.string(o as usize, n))
        };
        if tag == 0x010F {
            make = value;
        } else {
            model = value;
        }
    }
    (make, model)
}

/// One FFF record inside a larger buffer.
struct Fff<'a> {
    data: &'a [u8],
    big_endian: bool,
    entries: Vec<DirEntry>,
    /// Offset just past the last byte belonging to this record.
    end: usize,
}

#[derive(Clone, Copy)]
struct DirEntry {
    rec_type: u16,
    offset: usize,
    length: usize,
}

fn parse_fff(data: &[u8]) -> Result<Fff<'_>> {
    if data.len() < 0x40 {
        return Err(corrupt("FFF header shorter than 64 bytes"));
    }
    if data.starts_with(b"AFF\0") {
        return Err(ThermalError::Unsupported(
            "FLIR AFF records (raw sensor sequences) are not decoded; export the sequence as SEQ/FFF".into(),
        ));
    }
    if !data.starts_with(b"FFF\0") {
        return Err(ThermalError::NotRadiometric(
            "the FLIR record does not start with an FFF header".into(),
        ));
    }
    let be = Reader::new(data, true, "FFF header");
    let big_endian = match be.u32(0x14)? {
        100..=199 => true,
        v if (100..200).contains(&v.swap_bytes()) => false,
        v => {
            return Err(corrupt(format!(
                "FFF header version {v:#x} is not a known version (100..199)"
            )))
        }
    };
    let r = Reader::new(data, big_endian, "FFF header");
    let dir_off = r.u32(0x18)? as usize;
    let count = r.u32(0x1C)?;
    if count > MAX_DIRECTORY_ENTRIES {
        return Err(corrupt(format!(
            "FFF directory claims {count} entries (at most {MAX_DIRECTORY_ENTRIES})"
        )));
    }
    let dir_end = dir_off
        .checked_add(count as usize * 32)
        .filter(|&e| e <= data.len())
        .ok_or_else(|| corrupt("the FFF directory lies beyond the end of the record"))?;
    let dir = Reader::new(data, big_endian, "FFF directory");
    let mut entries = Vec::new();
    let mut end = dir_end;
    for i in 0..count as usize {
        let e = dir_off + i * 32;
        let rec_type = dir.u16(e)?;
        if rec_type == 0 {
            continue;
        }
        let offset = dir.u32(e + 0x0C)? as usize;
        let length = dir.u32(e + 0x10)? as usize;
        let rec_end = offset
            .checked_add(length)
            .filter(|&x| x <= data.len())
            .ok_or_else(|| {
                corrupt(format!(
                    "FFF record {rec_type:#04x} at offset {offset} with {length} bytes runs past the end ({} bytes)",
                    data.len()
                ))
            });
        match rec_end {
            Ok(x) => end = end.max(x),
            // Only the records we decode must be complete.
            Err(e) if rec_type == REC_RAW_DATA || rec_type == REC_CAMERA_INFO => return Err(e),
            Err(_) => continue,
        }
        entries.push(DirEntry {
            rec_type,
            offset,
            length,
        });
    }
    Ok(Fff {
        data,
        big_endian,
        entries,
        end,
    })
}

impl<'a> Fff<'a> {
    fn record(&self, rec_type: u16) -> Option<&'a [u8]> {
        self.entries
            .iter()
            .find(|e| e.rec_type == rec_type)
            .and_then(|e| self.data.get(e.offset..e.offset + e.length))
    }
}

/// Byte order of a record from its leading byte-order word (value 2 when read
/// in the right order), as ExifTool decides it.
fn record_order<'a>(rec: &'a [u8], what: &'static str) -> Result<Reader<'a>> {
    let le = Reader::new(rec, false, what);
    let word = le.u16(0)?;
    Ok(Reader::new(rec, word >= 0x100, what))
}

fn decode_raw_record(
    rec: &[u8],
    limits: &DecodeLimits,
) -> Result<(u32, u32, Vec<u16>, RawEncoding)> {
    let r = record_order(rec, "FLIR raw data record")?;
    let width = r.u16(2)?;
    let height = r.u16(4)?;
    limits.check(u64::from(width), u64::from(height))?;
    let payload = rec
        .get(0x20..)
        .ok_or_else(|| corrupt("FLIR raw data record shorter than its 32-byte header"))?;
    let (w, h) = (u32::from(width), u32::from(height));
    let n = w as usize * h as usize;
    if payload.starts_with(PNG_SIGNATURE) {
        // FLIR writes the PNG samples in the wrong byte order: read the
        // big-endian PNG samples as little-endian to swap them.
        let samples = decode_png16(payload, w, h, false)?;
        return Ok((w, h, samples, RawEncoding::Png));
    }
    if payload.starts_with(b"\xff\xd8\xff") {
        return Err(ThermalError::Unsupported(
            "the raw thermal data is JPEG-compressed (CSQ); convert the sequence to uncompressed SEQ/FFF".into(),
        ));
    }
    let bytes = payload.get(..n * 2).ok_or_else(|| {
        corrupt(format!(
            "raw thermal data holds {} bytes, a {w}x{h} frame needs {}",
            payload.len(),
            n * 2
        ))
    })?;
    let samples = samples_from_bytes(bytes, r.big_endian);
    let enc = if r.big_endian {
        RawEncoding::Raw16Be
    } else {
        RawEncoding::Raw16Le
    };
    Ok((w, h, samples, enc))
}

/// 16-bit samples from bytes in the given order: a plain copy into the
/// sample buffer, then a byte swap where the order differs from the host's.
pub(crate) fn samples_from_bytes(bytes: &[u8], big_endian: bool) -> Vec<u16> {
    let mut samples = vec![0u16; bytes.len() / 2];
    let len = samples.len() * 2;
    bytemuck::cast_slice_mut::<u16, u8>(&mut samples).copy_from_slice(&bytes[..len]);
    to_native_order(&mut samples, big_endian);
    samples
}

/// Turns samples read as host-order words into the values of samples stored
/// big-endian (`big_endian`) or little-endian.
pub(crate) fn to_native_order(samples: &mut [u16], big_endian: bool) {
    if big_endian != cfg!(target_endian = "big") {
        for s in samples {
            *s = s.swap_bytes();
        }
    }
}

/// Decodes a 16-bit grayscale PNG of exactly `w`×`h` pixels; `big_endian`
/// false reads each sample with its bytes swapped.
pub(crate) fn decode_png16(data: &[u8], w: u32, h: u32, big_endian: bool) -> Result<Vec<u16>> {
    let head = png16::header(data)?;
    if (head.width, head.height) != (w, h) {
        return Err(corrupt(format!(
            "the raw thermal PNG is {}x{} but the record declares {w}x{h} (placeholder or damaged image)",
            head.width, head.height
        )));
    }
    if head.color_type != 0 || head.bit_depth != 16 {
        return Err(corrupt(format!(
            "the raw thermal PNG has colour type {} with {}-bit samples, 16-bit grayscale expected",
            head.color_type, head.bit_depth
        )));
    }
    if head.interlaced {
        return decode_png16_interlaced(data, w, h, big_endian);
    }
    // Host-order words of the PNG's sample bytes, then read in the requested
    // byte order (FLIR's little-endian reading needs no pass on x86).
    let mut samples = png16::decode_gray16_host_order(data, w, h)?;
    to_native_order(&mut samples, big_endian);
    Ok(samples)
}

/// Interlaced (Adam7) PNG, which FLIR cameras do not write: decoded by the
/// `png` crate.
fn decode_png16_interlaced(data: &[u8], w: u32, h: u32, big_endian: bool) -> Result<Vec<u16>> {
    let limits = png::Limits {
        bytes: (w as usize * h as usize * 2).saturating_mul(2) + (1 << 20),
    };
    let decoder = png::Decoder::new_with_limits(std::io::Cursor::new(data), limits);
    let mut reader = decoder
        .read_info()
        .map_err(|e| corrupt(format!("the raw thermal PNG cannot be read: {e}")))?;
    let info = reader.info();
    if (info.width, info.height) != (w, h)
        || info.color_type != png::ColorType::Grayscale
        || info.bit_depth != png::BitDepth::Sixteen
    {
        return Err(corrupt(
            "the raw thermal PNG is not the 16-bit grayscale image its record declares",
        ));
    }
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("the raw thermal PNG is too large"))?;
    let mut buf = Zeroizing::new(vec![0u8; size]);
    let out = reader
        .next_frame(&mut buf)
        .map_err(|e| corrupt(format!("the raw thermal PNG is damaged: {e}")))?;
    let bytes = buf
        .get(..out.buffer_size())
        .ok_or_else(|| corrupt("the raw thermal PNG decoded to an unexpected size"))?;
    // PNG stores 16-bit samples big-endian.
    Ok(samples_from_bytes(bytes, big_endian))
}

struct CameraRecord {
    params: RadiometricParams,
    identity: CameraIdentity,
    capture_time: Option<DateTime<FixedOffset>>,
    raw_stats: Option<RawValueStats>,
    /// CameraTemperatureRangeMin/Max (Kelvin floats at 0x94/0x90), in °C.
    stated_range_c: Option<(f64, f64)>,
}

fn decode_camera_record(rec: &[u8]) -> Result<CameraRecord> {
    let r = record_order(rec, "FLIR camera info record")?;
    let f = |off| r.f32(off).map(f64::from);
    let k_to_c = |off| f(off).map(|k| k - 273.15);
    let humidity = f(0x3C)?;
    let params = RadiometricParams {
        emissivity: f(0x20)?,
        object_distance_m: f(0x24)?,
        reflected_apparent_temperature_c: k_to_c(0x28)?,
        atmospheric_temperature_c: k_to_c(0x2C)?,
        ir_window_temperature_c: k_to_c(0x30)?,
        ir_window_transmission: f(0x34)?,
        // Some FFF writers store percent.
        relative_humidity: if humidity > 2.0 {
            humidity / 100.0
        } else {
            humidity
        },
        planck_r1: f(0x58)?,
        planck_b: f(0x5C)?,
        planck_f: f(0x60)?,
        atmospheric_trans_alpha1: f(0x70)?,
        atmospheric_trans_alpha2: f(0x74)?,
        atmospheric_trans_beta1: f(0x78)?,
        atmospheric_trans_beta2: f(0x7C)?,
        atmospheric_trans_x: f(0x80)?,
        planck_o: f64::from(r.i32(0x308)?),
        planck_r2: f(0x30C)?,
    };
    let identity = CameraIdentity {
        make: None,
        model: r.string(0xD4, 32),
        part_number: r.string(0xF4, 16),
        serial: r.string(0x104, 16),
        software: r.string(0x114, 16),
        lens: r.string(0x170, 32),
    };
    let raw_stats = (|| {
        Some(RawValueStats {
            range_min: r.u16(0x310).ok()?,
            range_max: r.u16(0x312).ok()?,
            median: r.u16(0x338).ok()?,
            range: r.u16(0x33C).ok()?,
        })
    })();
    let capture_time = (|| {
        let secs = r.u32(0x384).ok()?;
        let ms = r.u32(0x388).ok()? & 0xFFFF;
        let tz_min = r.i16(0x38C).ok()?;
        if secs == 0 {
            return None;
        }
        let offset = FixedOffset::east_opt(-i32::from(tz_min) * 60)?;
        let utc = DateTime::from_timestamp(i64::from(secs), ms.min(999) * 1_000_000)?;
        Some(utc.with_timezone(&offset))
    })();
    let stated_range_c = match (k_to_c(0x94), k_to_c(0x90)) {
        (Ok(lo), Ok(hi)) if lo.is_finite() && hi.is_finite() && lo < hi => Some((lo, hi)),
        _ => None,
    };
    Ok(CameraRecord {
        params,
        identity,
        capture_time,
        raw_stats,
        stated_range_c,
    })
}

/// Decodes one FFF record starting at the beginning of `data`; returns the
/// image and the offset just past the record.
pub(crate) fn decode_fff(
    data: &[u8],
    format: SourceFormat,
    frame_index: usize,
    override_calibration: Option<&Calibration>,
    limits: &DecodeLimits,
) -> Result<(ThermalImage, usize)> {
    let fff = parse_fff(data)?;
    let _ = fff.big_endian;
    let raw_rec = fff.record(REC_RAW_DATA).ok_or_else(|| {
        ThermalError::NotRadiometric("the FLIR record holds no raw thermal image".into())
    })?;
    let cam_rec = fff.record(REC_CAMERA_INFO);
    let (w, h, raw, encoding) = decode_raw_record(raw_rec, limits)?;
    let camera = cam_rec.map(decode_camera_record).transpose()?;
    let calibration = match (override_calibration, &camera) {
        (Some(c), _) => *c,
        (None, Some(cam)) => Calibration::Planck(cam.params),
        (None, None) => {
            return Err(ThermalError::NotRadiometric(
                "the FLIR record has no camera calibration record".into(),
            ))
        }
    };
    let metadata = FrameMetadata {
        format,
        raw_encoding: encoding,
        frame_index,
        camera: camera
            .as_ref()
            .map(|c| c.identity.clone())
            .unwrap_or_default(),
        capture_time: camera.as_ref().and_then(|c| c.capture_time),
        raw_value_stats: camera.as_ref().and_then(|c| c.raw_stats),
    };
    Ok((
        ThermalImage::new(
            w,
            h,
            raw,
            calibration,
            metadata,
            camera.as_ref().and_then(|c| c.stated_range_c),
        )?,
        fff.end,
    ))
}

/// Decodes a FLIR radiometric JPEG.
pub(crate) fn decode_jpeg(
    data: &[u8],
    override_calibration: Option<&Calibration>,
    limits: &DecodeLimits,
) -> Result<ThermalImage> {
    let jf = extract_from_jpeg(data, limits)?;
    let (mut img, _) = decode_fff(
        &jf.fff,
        SourceFormat::FlirJpeg,
        0,
        override_calibration,
        limits,
    )?;
    img.metadata.camera.make = jf.exif_make;
    if img.metadata.camera.model.is_none() {
        img.metadata.camera.model = jf.exif_model;
    }
    Ok(img)
}

/// Frames of a SEQ-style file: FFF records one after another (a bare .fff
/// file is a sequence of one).
pub struct FffSequence<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
    calibration: Option<Calibration>,
    limits: DecodeLimits,
    failed: bool,
}

impl<'a> FffSequence<'a> {
    pub(crate) fn new(
        data: &'a [u8],
        calibration: Option<Calibration>,
        limits: DecodeLimits,
    ) -> Self {
        Self {
            data,
            pos: 0,
            index: 0,
            calibration,
            limits,
            failed: false,
        }
    }
}

impl Iterator for FffSequence<'_> {
    type Item = Result<ThermalImage>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.data.get(self.pos..)?;
        // Records may be padded; find the next header.
        let skip = rest.windows(4).position(|w| w == b"FFF\0");
        let Some(skip) = skip else {
            if self.index == 0 {
                self.failed = true;
                return Some(Err(ThermalError::NotRadiometric(
                    "no FFF record found".into(),
                )));
            }
            return None;
        };
        if self.index >= self.limits.max_frames {
            self.failed = true;
            return Some(Err(ThermalError::TooLarge {
                width: 0,
                height: 0,
                limit: format!("{} frames per sequence", self.limits.max_frames),
            }));
        }
        let start = self.pos + skip;
        let data = &self.data[start..];
        match decode_fff(
            data,
            SourceFormat::FlirFff,
            self.index,
            self.calibration.as_ref(),
            &self.limits,
        ) {
            Ok((img, end)) => {
                self.pos = start + end.max(4);
                self.index += 1;
                Some(Ok(img))
            }
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}
