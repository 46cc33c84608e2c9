//! Camera metadata (DC-06): make, model, body serial number, lens, capture time with offset,
//! GPS position and orientation, read from EXIF (JPEG APP1, the HEIF `Exif` item, NEF's TIFF
//! structure), from maker notes where the camera writes the serial only there (Nikon), and from
//! XMP where the camera writes a field only there.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::error::ImagingError;
use crate::format::{sniff, FileFormat};
use crate::provenance::{
    normalized_serial, Aspect, Conflict, Found, MetaField, Reading, Readings, ValueSource,
};
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
    /// Where each shown value was read: exiftool's `-G1` group and tag, and the container.
    #[serde(default)]
    pub sources: BTreeMap<MetaField, ValueSource>,
    /// Every value found for make, model, serial, lens, capture time and GPS, in precedence
    /// order, including those not shown and places present but empty.
    #[serde(default)]
    pub readings: Vec<Reading>,
    /// Fields whose places disagree. The shown value is the first reading by precedence; the
    /// disagreement is reported here, not resolved.
    #[serde(default)]
    pub conflicts: Vec<Conflict>,
}

impl CameraMetadata {
    /// The serial number reduced to letters and digits without leading zeros, for comparing
    /// with a device inventory (Nikon writes e.g. "No= 00002539").
    pub fn serial_normalized(&self) -> Option<String> {
        self.serial_number.as_deref().map(normalized_serial)
    }
}

/// Read the metadata of a camera file (JPEG, HEIC/HEIF, NEF/TIFF, PNG), format decided by content.
pub fn read_metadata(bytes: &[u8]) -> Result<CameraMetadata, ImagingError> {
    let format = sniff(bytes);
    let mut meta = CameraMetadata::default();
    let mut found = Readings::default();
    match format {
        FileFormat::Jpeg => {
            let info = jpeg::scan(bytes).map_err(|d| ImagingError::corrupt(FileFormat::Jpeg, d))?;
            if let Some(exif) = info.exif {
                from_tiff(exif, "JPEG APP1", &mut meta, &mut found);
            }
            for x in &info.xmp {
                from_xmp(
                    &String::from_utf8_lossy(x),
                    "JPEG APP1",
                    &mut meta,
                    &mut found,
                );
            }
            if info.width > 0 {
                meta.width = Some(info.width);
                meta.height = Some(info.height);
            }
        }
        FileFormat::Heif => {
            let blocks = heif::metadata_blocks(bytes)?;
            if let Some(exif) = &blocks.exif {
                from_tiff(exif, "HEIF Exif item", &mut meta, &mut found);
            }
            for x in &blocks.xmp {
                let xmp = String::from_utf8_lossy(x);
                from_xmp(&xmp, "HEIF XMP item", &mut meta, &mut found);
            }
            if let Some((w, h)) = blocks.size {
                meta.width = Some(w);
                meta.height = Some(h);
            }
        }
        FileFormat::Nef | FileFormat::Tiff => {
            Tiff::new(bytes).map_err(|d| ImagingError::corrupt(format, d))?;
            from_tiff(bytes, "TIFF", &mut meta, &mut found);
        }
        FileFormat::Png => {
            // PNG carries EXIF in an eXIf chunk; read it through the image crate's decoder.
            use image::ImageDecoder;
            let mut dec = image::codecs::png::PngDecoder::new(std::io::Cursor::new(bytes))
                .map_err(|e| ImagingError::corrupt(FileFormat::Png, e.to_string()))?;
            let (w, h) = dec.dimensions();
            if let Ok(Some(exif)) = dec.exif_metadata() {
                from_tiff(&exif, "PNG eXIf", &mut meta, &mut found);
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
    settle(&mut meta, &found);
    Ok(meta)
}

/// Set the shown value of each tracked field from the first usable reading, and record every
/// reading, the source of each shown value and the disagreements.
fn settle(meta: &mut CameraMetadata, found: &Readings) {
    let text = |field| match found.chosen(field).map(|c| &c.value) {
        Some(Found::Text(s)) => Some(s.clone()),
        _ => None,
    };
    meta.make = text(MetaField::Make);
    meta.model = text(MetaField::Model);
    meta.lens = text(MetaField::Lens);
    meta.serial_number = text(MetaField::SerialNumber);
    meta.serial_source = found
        .chosen(MetaField::SerialNumber)
        .map(|c| c.source.kind());
    meta.capture_time = match found.chosen(MetaField::CaptureTime) {
        Some(c) => match &c.value {
            Found::Time(t) => Some(CaptureTime {
                source: c.source.kind(),
                ..t.clone()
            }),
            _ => None,
        },
        None => None,
    };
    meta.gps = match found.chosen(MetaField::Gps) {
        Some(c) => match &c.value {
            Found::Gps(g) => Some(GpsPosition {
                source: c.source.kind(),
                ..*g
            }),
            _ => None,
        },
        None => None,
    };
    meta.sources = found.sources();
    meta.readings = found.readings();
    meta.conflicts = found.conflicts();
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
const OFFSET_TIME_DIGITIZED: u16 = 0x9012;
const SUBSEC_TIME_ORIGINAL: u16 = 0x9291;
const SUBSEC_TIME_DIGITIZED: u16 = 0x9292;
const MAKER_NOTE: u16 = 0x927C;
const BODY_SERIAL: u16 = 0xA431;
const LENS_SPECIFICATION: u16 = 0xA432;
const LENS_MODEL: u16 = 0xA434;
const PIXEL_X: u16 = 0xA002;
const PIXEL_Y: u16 = 0xA003;
const DNG_CAMERA_SERIAL: u16 = 0xC62F;

/// Read a TIFF structure (an EXIF block or a whole NEF file) held by `container`: the tracked
/// fields become readings named by their IFD and tag; orientation and image size go straight
/// into `meta` when not yet set. Unreadable parts are skipped.
pub(crate) fn from_tiff(
    data: &[u8],
    container: &str,
    meta: &mut CameraMetadata,
    found: &mut Readings,
) {
    let Ok(t) = Tiff::new(data) else { return };
    let Some(Ok(ifd0)) = t.first_ifd_offset().map(|o| t.ifd(o)) else {
        return;
    };
    let at = |group: &str, tag: &str| ValueSource {
        container: container.to_string(),
        group: group.to_string(),
        tag: tag.to_string(),
    };
    let ascii = |ifd: &Ifd, tag| ifd.entry(tag).and_then(|e| t.ascii(&e));
    let text = |found: &mut Readings, field, aspect, source: ValueSource, v: Option<String>| {
        if let Some(v) = v {
            found.push(field, aspect, source, Found::Text(v));
        }
    };
    text(
        found,
        MetaField::Make,
        Aspect::Plain,
        at("IFD0", "Make"),
        ascii(&ifd0, MAKE),
    );
    text(
        found,
        MetaField::Model,
        Aspect::Plain,
        at("IFD0", "Model"),
        ascii(&ifd0, MODEL),
    );
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

    let serial = MetaField::SerialNumber;
    text(
        found,
        serial,
        Aspect::Plain,
        at("ExifIFD", "SerialNumber"),
        ascii(&exif, BODY_SERIAL),
    );
    let dng_serial = ascii(&ifd0, DNG_CAMERA_SERIAL);
    text(
        found,
        serial,
        Aspect::Plain,
        at("IFD0", "CameraSerialNumber"),
        dng_serial,
    );
    let lens_model = ascii(&exif, LENS_MODEL);
    text(
        found,
        MetaField::Lens,
        Aspect::LensName,
        at("ExifIFD", "LensModel"),
        lens_model,
    );

    // Capture time: the Exif IFD's DateTimeOriginal, the same tag in IFD0 (NEF writes both),
    // then the digitizing time.
    let taken_parts = (
        ascii(&exif, SUBSEC_TIME_ORIGINAL),
        ascii(&exif, OFFSET_TIME_ORIGINAL),
    );
    for (ifd, group) in [(&exif, "ExifIFD"), (&ifd0, "IFD0")] {
        if let Some(dto) = ascii(ifd, DATE_TIME_ORIGINAL) {
            let (subsec, offset) = taken_parts.clone();
            if let Some(ct) = exif_capture_time(&dto, subsec, offset) {
                let source = at(group, "DateTimeOriginal");
                found.push(
                    MetaField::CaptureTime,
                    Aspect::Taken,
                    source,
                    Found::Time(ct),
                );
            }
        }
    }
    if let Some(created) = ascii(&exif, DATE_TIME_DIGITIZED) {
        let subsec = ascii(&exif, SUBSEC_TIME_DIGITIZED);
        let offset = ascii(&exif, OFFSET_TIME_DIGITIZED);
        if let Some(ct) = exif_capture_time(&created, subsec, offset) {
            let source = at("ExifIFD", "CreateDate");
            found.push(
                MetaField::CaptureTime,
                Aspect::Digitized,
                source,
                Found::Time(ct),
            );
        }
    }

    if let Some(gps) = sub(&ifd0, GPS_IFD) {
        match gps_from_ifd(&t, &gps) {
            GpsReading::Position(p) => found.push(
                MetaField::Gps,
                Aspect::Plain,
                at("GPS", "GPSLatitude"),
                Found::Gps(p),
            ),
            GpsReading::Empty(raw) => found.push_unused(
                MetaField::Gps,
                at("GPS", "GPSLatitude"),
                &raw,
                "the GPS block is present but holds no position",
            ),
            GpsReading::Absent => {}
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
    let is_nikon = ascii(&ifd0, MAKE)
        .map(|m| m.to_ascii_uppercase().starts_with("NIKON"))
        .unwrap_or(false);
    if is_nikon {
        if let Some(e) = exif.entry(MAKER_NOTE) {
            if let Some(note) = t.bytes(&e) {
                let nikon = nikon_maker_note(&t, note, t.value_offset(&e));
                text(
                    found,
                    serial,
                    Aspect::Plain,
                    at("Nikon", "SerialNumber"),
                    nikon.serial,
                );
                let lens = MetaField::Lens;
                text(
                    found,
                    lens,
                    Aspect::LensSpecification,
                    at("Nikon", "Lens"),
                    nikon.lens,
                );
            }
        }
    }
    let spec = exif
        .entry(LENS_SPECIFICATION)
        .and_then(|e| t.rationals(&e))
        .and_then(|v| lens_spec_text(&v));
    let lens_info = at("ExifIFD", "LensInfo");
    text(
        found,
        MetaField::Lens,
        Aspect::LensSpecification,
        lens_info,
        spec,
    );
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

/// What a GPS IFD says about the position.
enum GpsReading {
    Position(GpsPosition),
    /// The coordinate tags are there but hold no position (zero denominators, no values, or
    /// all zeros with no hemisphere): some bodies write the block with no receiver attached.
    /// Carries the raw values as shown to the user.
    Empty(String),
    /// No coordinate tags at all.
    Absent,
}

fn gps_from_ifd(t: &Tiff<'_>, gps: &Ifd) -> GpsReading {
    let (Some(lat_e), Some(lon_e)) = (gps.entry(0x0002), gps.entry(0x0004)) else {
        return GpsReading::Absent;
    };
    let raw = |e: &crate::tiff::Entry| -> String {
        match t.rationals(e) {
            Some(v) if !v.is_empty() => v
                .iter()
                .map(|x| {
                    x.map(|f| f.to_string())
                        .unwrap_or_else(|| "undefined".into())
                })
                .collect::<Vec<_>>()
                .join(" "),
            _ => "no value".to_string(),
        }
    };
    let empty = || GpsReading::Empty(format!("{}, {}", raw(&lat_e), raw(&lon_e)));
    let dms = |e: &crate::tiff::Entry| -> Option<f64> {
        let v = t.rationals(e)?;
        let d = (*v.first()?)?;
        let m = v.get(1).copied().flatten().unwrap_or(0.0);
        let s = v.get(2).copied().flatten().unwrap_or(0.0);
        Some(d + m / 60.0 + s / 3600.0)
    };
    let reference = |tag: u16| gps.entry(tag).and_then(|e| t.ascii(&e));
    let (Some(mut lat), Some(mut lon)) = (dms(&lat_e), dms(&lon_e)) else {
        return empty();
    };
    let (lat_ref, lon_ref) = (reference(0x0001), reference(0x0003));
    if lat == 0.0 && lon == 0.0 && lat_ref.is_none() && lon_ref.is_none() {
        return empty();
    }
    if lat_ref.as_deref() == Some("S") {
        lat = -lat;
    }
    if lon_ref.as_deref() == Some("W") {
        lon = -lon;
    }
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return empty();
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
    GpsReading::Position(GpsPosition {
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

/// Read an XMP packet held by `container`: each property of a tracked field becomes a reading
/// named by its namespace prefix and property, as exiftool names XMP tags (`XMP-tiff:Make`).
pub(crate) fn from_xmp(
    xmp: &str,
    container: &str,
    meta: &mut CameraMetadata,
    found: &mut Readings,
) {
    let at = |property: &str| {
        let (prefix, tag) = property.split_once(':').unwrap_or(("", property));
        ValueSource {
            container: container.to_string(),
            group: format!("XMP-{prefix}"),
            tag: tag.to_string(),
        }
    };
    let texts: [(MetaField, Aspect, &str); 6] = [
        (MetaField::Make, Aspect::Plain, "tiff:Make"),
        (MetaField::Model, Aspect::Plain, "tiff:Model"),
        (
            MetaField::SerialNumber,
            Aspect::Plain,
            "exifEX:BodySerialNumber",
        ),
        (MetaField::SerialNumber, Aspect::Plain, "aux:SerialNumber"),
        (MetaField::Lens, Aspect::LensName, "exifEX:LensModel"),
        (MetaField::Lens, Aspect::LensName, "aux:Lens"),
    ];
    for (field, aspect, property) in texts {
        if let Some(v) = xmp_value(xmp, &[property]) {
            found.push(field, aspect, at(property), Found::Text(v));
        }
    }
    if meta.orientation.is_none() {
        meta.orientation = xmp_value(xmp, &["tiff:Orientation"])
            .and_then(|v| v.parse::<u8>().ok())
            .filter(|v| (1..=8).contains(v));
    }
    let times = [
        (Aspect::Taken, "exif:DateTimeOriginal"),
        (Aspect::Taken, "photoshop:DateCreated"),
        (Aspect::Digitized, "xmp:CreateDate"),
    ];
    for (aspect, property) in times {
        if let Some(t) = xmp_value(xmp, &[property]).and_then(|v| xmp_capture_time(&v)) {
            found.push(MetaField::CaptureTime, aspect, at(property), Found::Time(t));
        }
    }
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
            let position = GpsPosition {
                latitude,
                longitude,
                altitude_m,
                source: FieldSource::Xmp,
            };
            let source = at("exif:GPSLatitude");
            found.push(MetaField::Gps, Aspect::Plain, source, Found::Gps(position));
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
    } else if v.len() > 6 && v.get(v.len() - 6..).is_some_and(valid_offset) && v.contains('T') {
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
        let mut found = Readings::default();
        from_xmp(x, "JPEG APP1", &mut m, &mut found);
        settle(&mut m, &found);
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
