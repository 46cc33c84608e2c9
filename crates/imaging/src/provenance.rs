//! Where each camera fact came from (DC-06, SEC-03 integrity).
//!
//! A camera file can say the same thing in several places: the make in EXIF IFD0 and in an XMP
//! packet, the capture time in the Exif IFD and in XMP, the body serial in EXIF or only in the
//! maker note. Evidence needs to know which place each shown value came from, and whether the
//! places agree. Every value read is kept as a [`Reading`] naming its place the way exiftool's
//! `-G1` output does (family-1 group such as `IFD0`, `ExifIFD`, `GPS`, `Nikon`, `XMP-exif`, and
//! the tag name), plus the container structure that held the block. The value shown for a field
//! is the first reading by a fixed precedence (EXIF, then maker note, then XMP); readings of the
//! same field that disagree are reported as a [`Conflict`], never silently resolved.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::metadata::{CaptureTime, GpsPosition};

/// The camera facts whose sources are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaField {
    Make,
    Model,
    SerialNumber,
    Lens,
    CaptureTime,
    Gps,
}

impl MetaField {
    pub const ALL: [MetaField; 6] = [
        MetaField::Make,
        MetaField::Model,
        MetaField::SerialNumber,
        MetaField::Lens,
        MetaField::CaptureTime,
        MetaField::Gps,
    ];

    /// The name a person reads.
    pub fn label(self) -> &'static str {
        match self {
            MetaField::Make => "Make",
            MetaField::Model => "Model",
            MetaField::SerialNumber => "Body serial",
            MetaField::Lens => "Lens",
            MetaField::CaptureTime => "Capture time",
            MetaField::Gps => "GPS position",
        }
    }
}

/// The place in the file one value was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueSource {
    /// The structure that held the metadata block: "JPEG APP1", "HEIF Exif item", "HEIF XMP
    /// item", "TIFF" (a NEF or TIFF file's own structure) or "PNG eXIf".
    pub container: String,
    /// exiftool's family-1 group: `IFD0`, `ExifIFD`, `GPS`, `Nikon` (maker note), `XMP-tiff`,
    /// `XMP-exif`, `XMP-exifEX`, `XMP-aux`, `XMP-photoshop`, `XMP-xmp`.
    pub group: String,
    /// exiftool's tag name (`Make`, `DateTimeOriginal`, `SerialNumber`, `GPSLatitude`, ...).
    pub tag: String,
}

impl ValueSource {
    /// "ExifIFD:DateTimeOriginal in JPEG APP1".
    pub fn label(&self) -> String {
        format!("{}:{} in {}", self.group, self.tag, self.container)
    }

    /// The coarse kind of place, as recorded before per-tag sources existed.
    pub fn kind(&self) -> crate::metadata::FieldSource {
        use crate::metadata::FieldSource;
        if self.group.starts_with("XMP") {
            FieldSource::Xmp
        } else if self.group == "Nikon" {
            FieldSource::MakerNote
        } else {
            FieldSource::Exif
        }
    }
}

/// One value of one field, as one place in the file records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub field: MetaField,
    /// The value as shown (capture time in ISO 8601, GPS as "latitude, longitude" in decimal
    /// degrees, the lens specification as "18-70mm f/3.5-4.5").
    pub value: String,
    #[serde(flatten)]
    pub source: ValueSource,
    /// Why this reading is not used, when it is not (e.g. a GPS block present but empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_used: Option<String>,
}

/// Readings of one field that disagree with each other.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub field: MetaField,
    /// The disagreeing readings, the one shown first.
    pub readings: Vec<Reading>,
    /// One sentence for the page: "Capture time: ExifIFD:DateTimeOriginal says ..., XMP-exif:...".
    pub summary: String,
}

/// A typed value found in the file, before the shown value is chosen.
#[derive(Debug, Clone)]
pub(crate) enum Found {
    Text(String),
    Time(CaptureTime),
    Gps(GpsPosition),
}

/// Which readings of a field can be compared: a lens name and a lens specification (focal
/// lengths and apertures) describe the same lens differently, and the digitizing time is allowed
/// to differ from the time the picture was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Aspect {
    Plain,
    LensName,
    LensSpecification,
    Taken,
    Digitized,
}

/// One reading with its typed value.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub field: MetaField,
    pub aspect: Aspect,
    pub source: ValueSource,
    pub value: Found,
    pub not_used: Option<String>,
}

/// The readings of one file, in precedence order (the order they were found).
#[derive(Debug, Default)]
pub(crate) struct Readings {
    pub candidates: Vec<Candidate>,
}

impl Readings {
    pub fn push(&mut self, field: MetaField, aspect: Aspect, source: ValueSource, value: Found) {
        // The same place read twice (a second XMP packet repeating the first) is one reading.
        if self
            .candidates
            .iter()
            .any(|c| c.source == source && c.field == field && same_value(&c.value, &value))
        {
            return;
        }
        self.candidates.push(Candidate {
            field,
            aspect,
            source,
            value,
            not_used: None,
        });
    }

    /// A place that holds the field but no usable value (kept so the page can say so).
    pub fn push_unused(&mut self, field: MetaField, source: ValueSource, value: &str, why: &str) {
        self.candidates.push(Candidate {
            field,
            aspect: Aspect::Plain,
            source,
            value: Found::Text(value.to_string()),
            not_used: Some(why.to_string()),
        });
    }

    /// The first usable reading of `field`, by precedence.
    pub fn chosen(&self, field: MetaField) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.field == field && c.not_used.is_none())
    }

    pub fn readings(&self) -> Vec<Reading> {
        self.candidates.iter().map(to_reading).collect()
    }

    /// Where each shown value came from.
    pub fn sources(&self) -> BTreeMap<MetaField, ValueSource> {
        MetaField::ALL
            .iter()
            .filter_map(|f| self.chosen(*f).map(|c| (*f, c.source.clone())))
            .collect()
    }

    /// Every field whose comparable readings disagree.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut out = Vec::new();
        for field in MetaField::ALL {
            let usable: Vec<&Candidate> = self
                .candidates
                .iter()
                .filter(|c| c.field == field && c.not_used.is_none())
                .collect();
            let mut disagreeing: Vec<&Candidate> = Vec::new();
            for (i, a) in usable.iter().enumerate() {
                for b in &usable[i + 1..] {
                    if a.aspect == b.aspect && !agree(&a.value, &b.value, field) {
                        for c in [*a, *b] {
                            if !disagreeing.iter().any(|d| std::ptr::eq(*d, c)) {
                                disagreeing.push(c);
                            }
                        }
                    }
                }
            }
            if disagreeing.is_empty() {
                continue;
            }
            let readings: Vec<Reading> = disagreeing.iter().map(|c| to_reading(c)).collect();
            let said: Vec<String> = readings
                .iter()
                .map(|r| format!("{}:{} says {}", r.source.group, r.source.tag, r.value))
                .collect();
            out.push(Conflict {
                field,
                summary: format!("{}: {}", field.label(), said.join("; ")),
                readings,
            });
        }
        out
    }
}

fn to_reading(c: &Candidate) -> Reading {
    Reading {
        field: c.field,
        value: display(&c.value),
        source: c.source.clone(),
        not_used: c.not_used.clone(),
    }
}

fn display(v: &Found) -> String {
    match v {
        Found::Text(s) => s.clone(),
        Found::Time(t) => t.to_iso8601(),
        Found::Gps(g) => match g.altitude_m {
            Some(a) => format!("{:.6}, {:.6} ({a:.1} m)", g.latitude, g.longitude),
            None => format!("{:.6}, {:.6}", g.latitude, g.longitude),
        },
    }
}

fn same_value(a: &Found, b: &Found) -> bool {
    display(a) == display(b)
}

/// Positions closer than this are the same place: XMP writes coordinates to 1/100 of a minute
/// of arc (about 18 m), EXIF to whatever the camera chose.
const SAME_PLACE_M: f64 = 30.0;

/// Whether two readings of `field` say the same thing.
fn agree(a: &Found, b: &Found, field: MetaField) -> bool {
    match (a, b) {
        (Found::Text(x), Found::Text(y)) => {
            if field == MetaField::SerialNumber {
                normalized_serial(x) == normalized_serial(y)
            } else {
                squeeze(x) == squeeze(y)
            }
        }
        (Found::Time(x), Found::Time(y)) => same_moment(x, y),
        (Found::Gps(x), Found::Gps(y)) => distance_m(x, y) <= SAME_PLACE_M,
        _ => false,
    }
}

/// Case and runs of blanks do not make two names different.
fn squeeze(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase()
}

/// Letters and digits without leading zeros or a "No=" prefix, as the device inventory
/// compares serials.
pub(crate) fn normalized_serial(s: &str) -> String {
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
    if trimmed.is_empty() {
        cleaned
    } else {
        trimmed.to_string()
    }
}

/// Two capture times agree to the second: as instants when both carry an offset, else as the
/// camera's local clock reading.
fn same_moment(a: &CaptureTime, b: &CaptureTime) -> bool {
    let secs = |t: &NaiveDateTime| t.and_utc().timestamp();
    match (offset_seconds(a), offset_seconds(b)) {
        (Some(oa), Some(ob)) => secs(&a.local) - oa == secs(&b.local) - ob,
        _ => secs(&a.local) == secs(&b.local),
    }
}

fn offset_seconds(t: &CaptureTime) -> Option<i64> {
    let o = t.offset.as_deref()?;
    let sign = if o.starts_with('-') { -1 } else { 1 };
    let h: i64 = o.get(1..3)?.parse().ok()?;
    let m: i64 = o.get(4..6)?.parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

/// Great-circle distance in metres (haversine, mean Earth radius).
fn distance_m(a: &GpsPosition, b: &GpsPosition) -> f64 {
    let (la1, la2) = (a.latitude.to_radians(), b.latitude.to_radians());
    let dla = la2 - la1;
    let dlo = (b.longitude - a.longitude).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::FieldSource;

    fn src(group: &str, tag: &str) -> ValueSource {
        ValueSource {
            container: "JPEG APP1".into(),
            group: group.into(),
            tag: tag.into(),
        }
    }

    fn time(s: &str, offset: Option<&str>) -> Found {
        Found::Time(CaptureTime {
            local: NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").unwrap(),
            subsec: None,
            offset: offset.map(str::to_string),
            source: FieldSource::Exif,
        })
    }

    #[test]
    fn dc_06_disagreeing_capture_times_are_a_conflict() {
        let mut r = Readings::default();
        let exif = src("ExifIFD", "DateTimeOriginal");
        let xmp = src("XMP-exif", "DateTimeOriginal");
        r.push(
            MetaField::CaptureTime,
            Aspect::Taken,
            exif.clone(),
            time("2020-01-01T10:00:00", None),
        );
        r.push(
            MetaField::CaptureTime,
            Aspect::Taken,
            xmp,
            time("2020-01-01T11:00:00", None),
        );
        assert_eq!(r.chosen(MetaField::CaptureTime).unwrap().source, exif);
        let c = r.conflicts();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].readings.len(), 2);
        assert!(c[0]
            .summary
            .contains("ExifIFD:DateTimeOriginal says 2020-01-01T10:00:00"));
    }

    #[test]
    fn dc_06_same_instant_in_two_zones_and_digitizing_time_are_no_conflict() {
        let mut r = Readings::default();
        r.push(
            MetaField::CaptureTime,
            Aspect::Taken,
            src("ExifIFD", "DateTimeOriginal"),
            time("2020-01-01T10:00:00", Some("+01:00")),
        );
        r.push(
            MetaField::CaptureTime,
            Aspect::Taken,
            src("XMP-exif", "DateTimeOriginal"),
            time("2020-01-01T09:00:00", Some("+00:00")),
        );
        r.push(
            MetaField::CaptureTime,
            Aspect::Digitized,
            src("ExifIFD", "CreateDate"),
            time("2020-01-02T09:00:00", None),
        );
        assert!(r.conflicts().is_empty());
    }

    #[test]
    fn dc_06_serials_compare_as_the_inventory_does_and_lens_name_is_not_its_specification() {
        let mut r = Readings::default();
        r.push(
            MetaField::SerialNumber,
            Aspect::Plain,
            src("Nikon", "SerialNumber"),
            Found::Text("NO= 00002539".into()),
        );
        r.push(
            MetaField::SerialNumber,
            Aspect::Plain,
            src("XMP-aux", "SerialNumber"),
            Found::Text("2539".into()),
        );
        r.push(
            MetaField::Lens,
            Aspect::LensName,
            src("ExifIFD", "LensModel"),
            Found::Text("iPhone 8 back camera 3.99mm f/1.8".into()),
        );
        r.push(
            MetaField::Lens,
            Aspect::LensSpecification,
            src("ExifIFD", "LensInfo"),
            Found::Text("3.99mm f/1.8".into()),
        );
        assert!(r.conflicts().is_empty());
        r.push(
            MetaField::SerialNumber,
            Aspect::Plain,
            src("XMP-exifEX", "BodySerialNumber"),
            Found::Text("2540".into()),
        );
        assert_eq!(r.conflicts().len(), 1);
    }

    #[test]
    fn dc_06_positions_a_few_metres_apart_agree_and_far_apart_conflict() {
        let gps = |lat: f64, lon: f64| {
            Found::Gps(GpsPosition {
                latitude: lat,
                longitude: lon,
                altitude_m: None,
                source: FieldSource::Exif,
            })
        };
        let mut r = Readings::default();
        r.push(
            MetaField::Gps,
            Aspect::Plain,
            src("GPS", "GPSLatitude"),
            gps(41.853, 12.488833),
        );
        r.push(
            MetaField::Gps,
            Aspect::Plain,
            src("XMP-exif", "GPSLatitude"),
            gps(41.85301, 12.48885),
        );
        assert!(r.conflicts().is_empty());
        r.push(
            MetaField::Gps,
            Aspect::Plain,
            src("XMP-exif", "GPSLongitude"),
            gps(40.7128, -74.006),
        );
        assert_eq!(r.conflicts()[0].readings.len(), 3);
    }

    #[test]
    fn dc_06_an_unused_reading_is_kept_but_never_chosen() {
        let mut r = Readings::default();
        r.push_unused(
            MetaField::Gps,
            src("GPS", "GPSLatitude"),
            "0/0 0/0 0/0",
            "present but empty",
        );
        assert!(r.chosen(MetaField::Gps).is_none());
        assert_eq!(r.readings().len(), 1);
        assert!(r.conflicts().is_empty());
    }
}
