//! Camera metadata (DC-06): make, model, body serial number, lens, capture time with offset,
//! GPS position and orientation, read from EXIF (JPEG APP1, the HEIF `Exif` item, NEF's TIFF
//! structure), from maker notes where the camera writes the serial only there (Nikon), and from
//! XMP where the camera writes a field only there.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::error::ImagingError;
use crate::format::{sniff, FileFormat};
use crate::tiff::{Ifd, Tiff};
use crate::{heif, jpeg};

/// Where a metadata field was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldSource {
    /// The standard EXIF/TIFF tags.
    Exif,
    /// The camera maker's private maker-note block.
    MakerNote,
    /// An XMP packet.
    Xmp,
}

/// When the picture was taken, as the camera recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureTime {
    /// Camera-local date and time, including sub-seconds when recorded.
    pub local: NaiveDateTime,
    /// The sub-second digits exactly as recorded (e.g. "277"), if any.
    pub subsec: Option<String>,
    /// UTC offset as recorded ("+02:00"), if any; without it the local time's zone is unknown.
    pub offset: Option<String>,
    pub source: FieldSource,
}

impl CaptureTime {
    /// ISO 8601 text: local time with sub-seconds, plus the offset when known.
    pub fn to_iso8601(&self) -> String {
        let mut s = self.local.format("%Y-%m-%dT%H:%M:%S").to_string();
        if let Some(ss) = &self.subsec {
            s.push('.');
            s.push_str(ss);
        }
        if let Some(o) = &self.offset {
            s.push_str(o);
        }
        s
    }
}

/// A GPS position in decimal degrees (WGS 84), altitude in metres above sea level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsPosition {
    pub latitude: f64,
    pub longitude: f64,
    pub altitude_m: Option<f64>,
    pub source: FieldSource,
}

/// Everything DC-06 asks to be kept with an original.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraMetadata {
    pub make: Option<String>,
    pub model: Option<String>,
    /// The camera body's serial number as written by the camera (EXIF BodySerialNumber, or the
    /// maker note's serial where the camera writes it only there).
    pub serial_number: Option<String>,
    pub serial_source: Option<FieldSource>,
    pub lens: Option<String>,
    pub capture_time: Option<CaptureTime>,
    pub gps: Option<GpsPosition>,
    /// EXIF orientation 1..=8.
    pub orientation: Option<u8>,
    /// Size of the main image as stored (before orientation).
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl CameraMetadata {
    /// The serial number reduced to letters and digits without leading zeros, for comparing
    /// with a device inventory (Nikon writes e.g. "No= 00002539").
    pub fn serial_normalized(&self) -> Option<String> {
        let s = self.serial_number.as_deref()?;
        // Byte-wise prefix test: a serial may start with a multi-byte character.
        let s = match s.get(..3) {
            Some(prefix) if prefix.eq_ignore_ascii_case("no=") => &s[3..],
            _ => s,
        };
        let cleaned: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        let trimmed = cleaned.trim_start_matches('0');
        Some(if trimmed.is_empty() {
            cleaned
        } else {
            trimmed.to_string()
        })
    }
}

/// Read the metadata of a camera file (JPEG, HEIC/HEIF, NEF/TIFF, PNG), format decided by content.
pub fn read_metadata(bytes: &[u8]) -> Result<CameraMetadata, ImagingError> {
    let format = sniff(bytes);
    let mut meta = CameraMetadata::default();
    match format {
        FileFormat::Jpeg => {
            let info = jpeg::scan(bytes).map_err(|d| ImagingError::corrupt(FileFormat::Jpeg, d))?;
            if let Some(exif) = info.exif {
                from_tiff(exif, &mut meta);
            }
            for x in &info.xmp {
                from_xmp(&String::from_utf8_lossy(x), &mut meta);
            }
            if info.width > 0 {
                meta.width = Some(info.width);
                meta.height = Some(info.height);
            }
        }
        FileFormat::Heif => {
            let blocks = heif::metadata_blocks(bytes)?;
            if let Some(exif) = &blocks.exif {
                from_tiff(exif, &mut meta);
            }
            for x in &blocks.xmp {
                from_xmp(&String::from_utf8_lossy(x), &mut meta);
            }
            if let Ok(ctx) = heif::open(bytes) {
                if let Ok(h) = heif::primary(&ctx) {
                    let (w, hh) = (h.ispe_width(), h.ispe_height());
                    if w > 0 && hh > 0 {
                        meta.width = Some(w as u32);
                        meta.height = Some(hh as u32);
                    }
                }
            }
        }
        FileFormat::Nef | FileFormat::Tiff => {
            Tiff::new(bytes).map_err(|d| ImagingError::corrupt(format, d))?;
            from_tiff(bytes, &mut meta);
        }
        FileFormat::Png => {
            // PNG carries EXIF in an eXIf chunk; read it through the image crate's decoder.
            use image::ImageDecoder;
            let mut dec = image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes))
                .map_err(|e| ImagingError::corrupt(FileFormat::Png, e.to_string()))?;
            let (w, h) = dec.dimensions();
            if let Ok(Some(exif)) = dec.exif_metadata() {
                from_tiff(&exif, &mut meta);
            }
            meta.width = Some(w);
            meta.height = Some(h);
        }
        other => {
            return Err(ImagingError::UnsupportedFormat {
                detail: format!("no camera metadata is read from {other} content"),
            })
        }
    }
    Ok(meta)
}

/// The EXIF orientation (IFD0 tag 0x0112) of a TIFF structure, if present and valid.
pub(crate) fn orientation_of_tiff(data: &[u8]) -> Option<u8> {
    let t = Tiff::new(data).ok()?;
    let ifd0 = t.ifd(t.first_ifd_offset()?).ok()?;
    let v = t.uint(&ifd0.entry(0x0112)?)?;
    (1..=8).contains(&v).then_some(v as u8)
}

// TIFF/EXIF tag numbers used here.
const MAKE: u16 = 0x010F;
const MODEL: u16 = 0x0110;
const ORIENTATION: u16 = 0x0112;
const SUB_IFDS: u16 = 0x014A;
const NEW_SUBFILE_TYPE: u16 = 0x00FE;
const IMAGE_WIDTH: u16 = 0x0100;
const IMAGE_HEIGHT: u16 = 0x0101;
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const DATE_TIME_ORIGINAL: u16 = 0x9003;
const DATE_TIME_DIGITIZED: u16 = 0x9004;
const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
const SUBSEC_TIME_ORIGINAL: u16 = 0x9291;
const MAKER_NOTE: u16 = 0x927C;
const BODY_SERIAL: u16 = 0xA431;
const LENS_SPECIFICATION: u16 = 0xA432;
const LENS_MODEL: u16 = 0xA434;
const PIXEL_X: u16 = 0xA002;
const PIXEL_Y: u16 = 0xA003;
const DNG_CAMERA_SERIAL: u16 = 0xC62F;

/// Fill `meta` from a TIFF structure (an EXIF block or a whole NEF file). Unreadable parts are
/// skipped; fields already set are kept (EXIF is read before XMP, so EXIF wins).
pub(crate) fn from_tiff(data: &[u8], meta: &mut CameraMetadata) {
    let Ok(t) = Tiff::new(data) else { return };
    let Some(Ok(ifd0)) = t.first_ifd_offset().map(|o| t.ifd(o)) else {
        return;
    };
    let ascii = |ifd: &Ifd, tag| ifd.entry(tag).and_then(|e| t.ascii(&e));
    set(&mut meta.make, ascii(&ifd0, MAKE));
    set(&mut meta.model, ascii(&ifd0, MODEL));
    if meta.orientation.is_none() {
        meta.orientation = ifd0
            .entry(ORIENTATION)
            .and_then(|e| t.uint(&e))
            .filter(|v| (1..=8).contains(v))
            .map(|v| v as u8);
    }
    let sub = |ifd: &Ifd, tag| -> Option<Ifd> {
        let off = t.uint(&ifd.entry(tag)?)?;
        t.ifd(off).ok()
    };
    let exif = sub(&ifd0, EXIF_IFD).unwrap_or_default();

    if meta.serial_number.is_none() {
        if let Some(s) = ascii(&exif, BODY_SERIAL).or_else(|| ascii(&ifd0, DNG_CAMERA_SERIAL)) {
            meta.serial_number = Some(s);
            meta.serial_source = Some(FieldSource::Exif);
        }
    }
    if meta.lens.is_none() {
        meta.lens = ascii(&exif, LENS_MODEL);
    }

    // Capture time: Exif IFD first, then IFD0 (NEF writes it in both).
    if meta.capture_time.is_none() {
        let dto = ascii(&exif, DATE_TIME_ORIGINAL)
            .or_else(|| ascii(&ifd0, DATE_TIME_ORIGINAL))
            .or_else(|| ascii(&exif, DATE_TIME_DIGITIZED));
        if let Some(dto) = dto {
            let subsec = ascii(&exif, SUBSEC_TIME_ORIGINAL);
            let offset = ascii(&exif, OFFSET_TIME_ORIGINAL);
            meta.capture_time = exif_capture_time(&dto, subsec, offset);
        }
    }

    if meta.gps.is_none() {
        if let Some(gps) = sub(&ifd0, GPS_IFD) {
            meta.gps = gps_from_ifd(&t, &gps);
        }
    }

    // Main image size: the full-resolution SubIFD of a raw file, else the EXIF pixel size.
    if meta.width.is_none() {
        if let Some(offs) = ifd0.entry(SUB_IFDS).and_then(|e| t.uints(&e)) {
            for off in offs {
                let Ok(s) = t.ifd(off) else { continue };
                let full = s
                    .entry(NEW_SUBFILE_TYPE)
                    .and_then(|e| t.uint(&e))
                    .map(|v| v == 0)
                    .unwrap_or(false);
                if full {
                    meta.width = s.entry(IMAGE_WIDTH).and_then(|e| t.uint(&e));
                    meta.height = s.entry(IMAGE_HEIGHT).and_then(|e| t.uint(&e));
                }
            }
        }
    }
    if meta.width.is_none() {
        meta.width = exif.entry(PIXEL_X).and_then(|e| t.uint(&e));
        meta.height = exif.entry(PIXEL_Y).and_then(|e| t.uint(&e));
    }

    // Maker note: Nikon writes the body serial and the lens only there.
    let is_nikon = meta
        .make
        .as_deref()
        .map(|m| m.to_ascii_uppercase().starts_with("NIKON"))
        .unwrap_or(false);
    if is_nikon {
        if let Some(e) = exif.entry(MAKER_NOTE) {
            if let Some(note) = t.bytes(&e) {
                let nikon = nikon_maker_note(&t, note, t.value_offset(&e));
                if meta.serial_number.is_none() {
                    if let Some(s) = nikon.serial {
                        meta.serial_number = Some(s);
                        meta.serial_source = Some(FieldSource::MakerNote);
                    }
                }
                if meta.lens.is_none() {
                    meta.lens = nikon.lens;
                }
            }
        }
    }
    if meta.lens.is_none() {
        meta.lens = exif
            .entry(LENS_SPECIFICATION)
            .and_then(|e| t.rationals(&e))
            .and_then(|v| lens_spec_text(&v));
    }
}

fn set(field: &mut Option<String>, value: Option<String>) {
    if field.is_none() {
        *field = value;
    }
}

fn exif_capture_time(
    dto: &str,
    subsec: Option<String>,
    offset: Option<String>,
) -> Option<CaptureTime> {
    let base = NaiveDateTime::parse_from_str(dto.trim(), "%Y:%m:%d %H:%M:%S").ok()?;
    let subsec = subsec
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()));
    let local = match &subsec {
        Some(ss) => {
            let digits: String = ss.chars().take(9).collect();
            let nanos: u32 = format!("{digits:0<9}").parse().ok()?;
            base.with_nanosecond_checked(nanos)?
        }
        None => base,
    };
    let offset = offset
        .map(|o| o.trim().to_string())
        .filter(|o| valid_offset(o));
    Some(CaptureTime {
        local,
        subsec,
        offset,
        source: FieldSource::Exif,
    })
}

trait WithNanos: Sized {
    fn with_nanosecond_checked(self, n: u32) -> Option<Self>;
}

impl WithNanos for NaiveDateTime {
    fn with_nanosecond_checked(self, n: u32) -> Option<Self> {
        use chrono::Timelike;
        self.with_nanosecond(n)
    }
}

fn valid_offset(o: &str) -> bool {
    let b = o.as_bytes();
    b.len() == 6
        && (b[0] == b'+' || b[0] == b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

fn gps_from_ifd(t: &Tiff<'_>, gps: &Ifd) -> Option<GpsPosition> {
    let dms = |tag: u16| -> Option<f64> {
        let v = t.rationals(&gps.entry(tag)?)?;
        let d = (*v.first()?)?;
        let m = v.get(1).copied().flatten().unwrap_or(0.0);
        let s = v.get(2).copied().flatten().unwrap_or(0.0);
        Some(d + m / 60.0 + s / 3600.0)
    };
    let reference = |tag: u16| gps.entry(tag).and_then(|e| t.ascii(&e));
    let mut lat = dms(0x0002)?;
    let mut lon = dms(0x0004)?;
    if reference(0x0001).as_deref() == Some("S") {
        lat = -lat;
    }
    if reference(0x0003).as_deref() == Some("W") {
        lon = -lon;
    }
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    let altitude_m = gps
        .entry(0x0006)
        .and_then(|e| t.rationals(&e))
        .and_then(|v| v.first().copied().flatten())
        .map(|a| {
            let below = gps
                .entry(0x0005)
                .and_then(|e| t.uint(&e))
                .map(|r| r == 1)
                .unwrap_or(false);
            if below {
                -a
            } else {
                a
            }
        });
    Some(GpsPosition {
        latitude: lat,
        longitude: lon,
        altitude_m,
        source: FieldSource::Exif,
    })
}

/// Format a number as exiftool does for lens specifications (no trailing zeros).
fn short_number(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// "18-70mm f/3.5-4.5" from (min focal, max focal, min aperture, max aperture).
fn lens_spec_text(v: &[Option<f64>]) -> Option<String> {
    if v.len() != 4 {
        return None;
    }
    let (f0, f1) = (v[0]?, v[1]);
    let mut s = short_number(f0);
    if let Some(f1) = f1 {
        if f1 != 0.0 && f1 != f0 {
            s.push('-');
            s.push_str(&short_number(f1));
        }
    }
    s.push_str("mm");
    if let Some(a0) = v[2] {
        s.push_str(" f/");
        s.push_str(&short_number(a0));
        if let Some(a1) = v[3] {
            if a1 != 0.0 && a1 != a0 {
                s.push('-');
                s.push_str(&short_number(a1));
            }
        }
    }
    Some(s)
}

#[derive(Debug, Default)]
struct NikonNote {
    serial: Option<String>,
    lens: Option<String>,
}

/// Parse a Nikon maker note. Type 3 ("Nikon\0" + version + embedded TIFF header) has offsets
/// relative to its own header; type 1 and header-less notes use the outer TIFF's offsets.
fn nikon_maker_note(outer: &Tiff<'_>, note: &[u8], note_offset: u32) -> NikonNote {
    let mut out = NikonNote::default();
    let read = |t: &Tiff<'_>, ifd: &Ifd, out: &mut NikonNote| {
        // 0x001D on current bodies; 0x00A0 ("No= 00002539") on older ones such as the D70.
        out.serial = ifd
            .entry(0x001D)
            .and_then(|e| t.ascii(&e))
            .or_else(|| ifd.entry(0x00A0).and_then(|e| t.ascii(&e)));
        out.lens = ifd
            .entry(0x0084)
            .and_then(|e| t.rationals(&e))
            .and_then(|v| lens_spec_text(&v));
    };
    if note.starts_with(b"Nikon\0") && note.get(6) == Some(&0x02) {
        if let Some(inner) = note.get(10..) {
            if let Ok(t) = Tiff::new(inner) {
                if let Some(Ok(ifd)) = t.first_ifd_offset().map(|o| t.ifd(o)) {
                    read(&t, &ifd, &mut out);
                }
            }
        }
    } else if note.starts_with(b"Nikon\0") {
        if let Ok(ifd) = outer.ifd(note_offset + 8) {
            read(outer, &ifd, &mut out);
        }
    } else if let Ok(ifd) = outer.ifd(note_offset) {
        read(outer, &ifd, &mut out);
    }
    out
}

// ---------------------------------------------------------------- XMP

/// Fill fields still missing from an XMP packet (attributes or elements).
pub(crate) fn from_xmp(xmp: &str, meta: &mut CameraMetadata) {
    set(&mut meta.make, xmp_value(xmp, &["tiff:Make"]));
    set(&mut meta.model, xmp_value(xmp, &["tiff:Model"]));
    if meta.serial_number.is_none() {
        if let Some(s) = xmp_value(xmp, &["exifEX:BodySerialNumber", "aux:SerialNumber"]) {
            meta.serial_number = Some(s);
            meta.serial_source = Some(FieldSource::Xmp);
        }
    }
    set(
        &mut meta.lens,
        xmp_value(xmp, &["exifEX:LensModel", "aux:Lens"]),
    );
    if meta.orientation.is_none() {
        meta.orientation = xmp_value(xmp, &["tiff:Orientation"])
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|v| (1..=8).contains(v));
    }
    if meta.capture_time.is_none() {
        meta.capture_time = xmp_value(
            xmp,
            &[
                "exif:DateTimeOriginal",
                "photoshop:DateCreated",
                "xmp:CreateDate",
            ],
        )
        .and_then(|v| xmp_capture_time(&v));
    }
    if meta.gps.is_none() {
        let lat = xmp_value(xmp, &["exif:GPSLatitude"]).and_then(|v| xmp_coordinate(&v));
        let lon = xmp_value(xmp, &["exif:GPSLongitude"]).and_then(|v| xmp_coordinate(&v));
        if let (Some(latitude), Some(longitude)) = (lat, lon) {
            if (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) {
                let altitude_m = xmp_value(xmp, &["exif:GPSAltitude"])
                    .and_then(|v| xmp_rational(&v))
                    .map(|a| {
                        if xmp_value(xmp, &["exif:GPSAltitudeRef"]).as_deref() == Some("1") {
                            -a
                        } else {
                            a
                        }
                    });
                meta.gps = Some(GpsPosition {
                    latitude,
                    longitude,
                    altitude_m,
                    source: FieldSource::Xmp,
                });
            }
        }
    }
}

/// The value of the first of `names` present, as `name="v"`, `name='v'` or `<name>v</name>`
/// (an `rdf:li` inside the element is unwrapped).
fn xmp_value(xmp: &str, names: &[&str]) -> Option<String> {
    for name in names {
        for quote in ['"', '\''] {
            let pat = format!("{name}={quote}");
            if let Some(p) = find_at_word_start(xmp, &pat) {
                let rest = &xmp[p + pat.len()..];
                if let Some(end) = rest.find(quote) {
                    let v = unescape(rest[..end].trim());
                    if !v.is_empty() {
                        return Some(v);
                    }
                }
            }
        }
        let open = format!("<{name}");
        if let Some(p) = find_at_word_start(xmp, &open) {
            let rest = &xmp[p + open.len()..];
            let gt = rest.find('>')?;
            if rest[..gt].ends_with('/') {
                continue;
            }
            let body = &rest[gt + 1..];
            let close = format!("</{name}>");
            let end = body.find(&close)?;
            let mut inner = &body[..end];
            if let Some(li) = inner.find("<rdf:li") {
                let after = &inner[li..];
                let gt = after.find('>')?;
                let content = &after[gt + 1..];
                let e = content.find("</rdf:li>")?;
                inner = &content[..e];
            }
            let v = unescape(inner.trim());
            if !v.is_empty() && !v.contains('<') {
                return Some(v);
            }
        }
    }
    None
}

/// Find `pat` where the preceding character is not part of a name (so "exif:GPSLatitude" does
/// not match inside "exif:GPSLatitudeRef" and "aux:Lens" not inside "aux:LensID").
fn find_at_word_start(hay: &str, pat: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(rel) = hay[from..].find(pat) {
        let p = from + rel;
        let before_ok = p == 0
            || !hay[..p]
                .chars()
                .next_back()
                .map(|c| c.is_alphanumeric() || c == ':' || c == '_')
                .unwrap_or(false);
        let after = hay[p + pat.len()..].chars().next();
        let after_ok = if pat.starts_with('<') {
            matches!(after, Some(c) if c == '>' || c == '/' || c.is_whitespace())
        } else {
            true
        };
        if before_ok && after_ok {
            return Some(p);
        }
        from = p + pat.len();
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// XMP GPS coordinate: "DDD,MM,SSk", "DDD,MM.mmk" (k = N/S/E/W) or plain decimal degrees.
fn xmp_coordinate(v: &str) -> Option<f64> {
    let v = v.trim();
    let last = v.chars().last()?;
    let (body, sign) = match last.to_ascii_uppercase() {
        'N' | 'E' => (&v[..v.len() - 1], 1.0),
        'S' | 'W' => (&v[..v.len() - 1], -1.0),
        _ => (v, 1.0),
    };
    let parts: Vec<f64> = body
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .ok()?;
    let deg = match parts.as_slice() {
        [d] => *d,
        [d, m] => d + m / 60.0,
        [d, m, s] => d + m / 60.0 + s / 3600.0,
        _ => return None,
    };
    deg.is_finite().then_some(sign * deg)
}

/// XMP rational "4281/100" or a decimal.
fn xmp_rational(v: &str) -> Option<f64> {
    match v.split_once('/') {
        Some((n, d)) => {
            let (n, d): (f64, f64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
            (d != 0.0).then(|| n / d)
        }
        None => v.trim().parse().ok(),
    }
}

/// XMP date "2011-01-13T14:33:39.62+01:00" (seconds, fraction and offset optional).
fn xmp_capture_time(v: &str) -> Option<CaptureTime> {
    let v = v.trim();
    let (main, offset) = if let Some(stripped) = v.strip_suffix('Z') {
        (stripped, Some("+00:00".to_string()))
    } else if v.len() > 6 && valid_offset(&v[v.len() - 6..]) && v.contains('T') {
        (&v[..v.len() - 6], Some(v[v.len() - 6..].to_string()))
    } else {
        (v, None)
    };
    let (main, subsec) = match main.split_once('.') {
        Some((m, f)) if f.chars().all(|c| c.is_ascii_digit()) && !f.is_empty() => {
            (m, Some(f.to_string()))
        }
        _ => (main, None),
    };
    let base = NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(main, "%Y-%m-%dT%H:%M"))
        .ok()?;
    let local = match &subsec {
        Some(ss) => {
            let digits: String = ss.chars().take(9).collect();
            base.with_nanosecond_checked(format!("{digits:0<9}").parse().ok()?)?
        }
        None => base,
    };
    Some(CaptureTime {
        local,
        subsec,
        offset,
        source: FieldSource::Xmp,
    })
}

#[cfg(test)]
mod serial_tests {
    #[test]
    fn dc_04_serial_with_multibyte_characters_normalizes_without_panic() {
        let m = super::CameraMetadata {
            serial_number: Some("a€x".into()),
            ..Default::default()
        };
        assert_eq!(m.serial_normalized().as_deref(), Some("AX"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dc_06_xmp_gps_and_time_parse() {
        let x = r#"<rdf:Description exif:GPSLatitude="41,51.18N" exif:GPSLongitude="12,29,19.8W"
            exif:GPSAltitude="4281/100" exif:GPSAltitudeRef="1" exif:GPSLatitudeRef="N"
            exif:DateTimeOriginal="2011-01-13T14:33:39.62+01:00"><aux:SerialNumber>0042</aux:SerialNumber>
            <aux:LensID>7</aux:LensID><aux:Lens>50mm f/1.8</aux:Lens></rdf:Description>"#;
        let mut m = CameraMetadata::default();
        from_xmp(x, &mut m);
        let g = m.gps.unwrap();
        assert!((g.latitude - (41.0 + 51.18 / 60.0)).abs() < 1e-9);
        assert!((g.longitude + (12.0 + 29.0 / 60.0 + 19.8 / 3600.0)).abs() < 1e-9);
        assert_eq!(g.altitude_m, Some(-42.81));
        assert_eq!(g.source, FieldSource::Xmp);
        let t = m.capture_time.unwrap();
        assert_eq!(t.to_iso8601(), "2011-01-13T14:33:39.62+01:00");
        assert_eq!(m.serial_number.as_deref(), Some("0042"));
        assert_eq!(m.serial_source, Some(FieldSource::Xmp));
        assert_eq!(m.lens.as_deref(), Some("50mm f/1.8"));
    }

    #[test]
    fn dc_04_serial_normalized_for_inventory_match() {
        let m = CameraMetadata {
            serial_number: Some("NO= 00002539".into()),
            ..Default::default()
        };
        assert_eq!(m.serial_normalized().as_deref(), Some("2539"));
    }

    #[test]
    fn dc_06_lens_spec_text_like_exiftool() {
        let v = [Some(18.0), Some(70.0), Some(3.5), Some(4.5)];
        assert_eq!(lens_spec_text(&v).as_deref(), Some("18-70mm f/3.5-4.5"));
        let v = [Some(3.99), Some(3.99), Some(1.8), Some(1.8)];
        assert_eq!(lens_spec_text(&v).as_deref(), Some("3.99mm f/1.8"));
    }
}
