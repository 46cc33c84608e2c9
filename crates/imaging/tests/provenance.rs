//! Every camera value says where it came from, checked against exiftool's `-G1` output, and
//! disagreeing places are reported, not resolved (DC-06, SEC-03).
//!
//! For each sample file and for files the tests write (EXIF and XMP that disagree, a GPS block
//! present but empty), every reading Probity reports as `group:tag` must exist in exiftool's
//! `-G1 -a -n` output with the same value, and every tracked tag exiftool finds must be among
//! Probity's readings.

mod common;

use std::path::Path;

use common::{camera, read_camera};
use probity_imaging::{read_metadata, CameraMetadata, FieldSource, MetaField};

const SAMPLES: [&str; 6] = [
    "apple_iphone8.heic",
    "apple_iphone4.jpg",
    "nikon_d70.jpg",
    "nikon_d70_stripped.nef",
    "apple_minimal.jpg",
    "heic_metadata_only.heic",
];

/// The exiftool tags (family-1 group and name) of the six tracked fields that Probity reads.
const TRACKED: [&str; 22] = [
    "IFD0:Make",
    "IFD0:Model",
    "ExifIFD:SerialNumber",
    "IFD0:CameraSerialNumber",
    "Nikon:SerialNumber",
    "ExifIFD:LensModel",
    "ExifIFD:LensInfo",
    "Nikon:Lens",
    "ExifIFD:DateTimeOriginal",
    "IFD0:DateTimeOriginal",
    "ExifIFD:CreateDate",
    "GPS:GPSLatitude",
    "XMP-tiff:Make",
    "XMP-tiff:Model",
    "XMP-exifEX:BodySerialNumber",
    "XMP-aux:SerialNumber",
    "XMP-exifEX:LensModel",
    "XMP-aux:Lens",
    "XMP-exif:DateTimeOriginal",
    "XMP-photoshop:DateCreated",
    "XMP-xmp:CreateDate",
    "XMP-exif:GPSLatitude",
];

/// `exiftool -G1 -a -j -n FILE` as one JSON object keyed "Group:Tag".
fn exiftool_g1(file: &Path) -> serde_json::Map<String, serde_json::Value> {
    let out = std::process::Command::new("exiftool")
        .args(["-G1", "-a", "-j", "-n"])
        .arg(file)
        .output()
        .expect("exiftool is needed as the independent reference: run scripts/setup (libimage-exiftool-perl)");
    assert!(
        out.status.success(),
        "exiftool failed on {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    v.get(0)
        .and_then(|o| o.as_object())
        .cloned()
        .expect("one object per file")
}

fn text_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// exiftool's numeric lens specification "18 70 3.5 4.5" written as Probity writes it.
fn spec_text(v: &str) -> String {
    let n: Vec<f64> = v
        .split_whitespace()
        .map(|x| x.parse().expect("number in lens specification"))
        .collect();
    let short = |x: f64| {
        let s = format!("{x:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    let mut s = short(n[0]);
    if n[1] != 0.0 && n[1] != n[0] {
        s = format!("{s}-{}", short(n[1]));
    }
    s.push_str("mm f/");
    s.push_str(&short(n[2]));
    if n[3] != 0.0 && n[3] != n[2] {
        s = format!("{s}-{}", short(n[3]));
    }
    s
}

/// "2004:11:21 21:29:12" from either spelling, to the second.
fn to_the_second(v: &str) -> String {
    v.chars()
        .take(19)
        .map(|c| match c {
            '-' => ':',
            'T' => ' ',
            c => c,
        })
        .collect()
}

/// Check Probity's readings of `file` against exiftool, both ways. Returns the groups seen.
fn agrees_with_exiftool(name: &str, file: &Path, m: &CameraMetadata) -> Vec<String> {
    let reference = exiftool_g1(file);
    let mut groups = Vec::new();
    for r in &m.readings {
        let key = format!("{}:{}", r.source.group, r.source.tag);
        groups.push(r.source.group.clone());
        let want = reference.get(&key).unwrap_or_else(|| {
            panic!(
                "{name}: Probity read {:?} from {key}, exiftool has no such tag",
                r.value
            )
        });
        let want = text_of(want);
        if r.not_used.is_some() {
            continue;
        }
        match r.field {
            MetaField::Make | MetaField::Model | MetaField::SerialNumber => {
                assert_eq!(r.value, want, "{name}: {key}")
            }
            MetaField::Lens if r.source.tag == "Lens" && r.source.group == "Nikon" => {
                assert_eq!(r.value, spec_text(&want), "{name}: {key}")
            }
            MetaField::Lens if r.source.tag == "LensInfo" => {
                assert_eq!(r.value, spec_text(&want), "{name}: {key}")
            }
            MetaField::Lens => assert_eq!(r.value, want, "{name}: {key}"),
            MetaField::CaptureTime => {
                assert_eq!(
                    to_the_second(&r.value),
                    to_the_second(&want),
                    "{name}: {key}"
                )
            }
            MetaField::Gps => {
                let (lat, lon) = r
                    .value
                    .split(" (")
                    .next()
                    .and_then(|p| p.split_once(", "))
                    .expect("latitude, longitude");
                let lon_key = key.replace("GPSLatitude", "GPSLongitude");
                let want_lon = text_of(reference.get(&lon_key).expect("longitude beside latitude"));
                for (ours, theirs, what) in
                    [(lat, &want, "latitude"), (lon, &want_lon, "longitude")]
                {
                    let ours: f64 = ours.parse().expect("our number");
                    let theirs: f64 = theirs.parse().expect("exiftool number");
                    // The GPS group is unsigned (the hemisphere is its own tag); 1e-6 degrees is
                    // the six decimals shown.
                    assert!(
                        (ours.abs() - theirs.abs()).abs() < 2e-6,
                        "{name}: {what} {ours} vs exiftool {key} {theirs}"
                    );
                }
            }
        }
    }
    for key in TRACKED {
        if reference.contains_key(key) {
            assert!(
                m.readings
                    .iter()
                    .any(|r| format!("{}:{}", r.source.group, r.source.tag) == key),
                "{name}: exiftool finds {key} = {}, Probity has no reading of it",
                reference[key]
            );
        }
    }
    groups
}

#[test]
fn dc_06_every_value_names_its_source_as_exiftool_g1_does() {
    let mut groups = Vec::new();
    for name in SAMPLES {
        let m = read_metadata(&read_camera(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        groups.extend(agrees_with_exiftool(name, &camera(name), &m));
        // Each shown value is the value of the reading its source names.
        for (field, source) in &m.sources {
            assert!(
                m.readings
                    .iter()
                    .any(|r| r.field == *field && &r.source == source && r.not_used.is_none()),
                "{name}: the source of {field:?} is not among the readings"
            );
        }
        assert!(m.conflicts.is_empty(), "{name}: {:?}", m.conflicts);
    }
    for g in ["IFD0", "ExifIFD", "GPS", "Nikon"] {
        assert!(
            groups.iter().any(|x| x == g),
            "no sample gave a reading from {g}: the check would be vacuous"
        );
    }

    let nikon = read_metadata(&read_camera("nikon_d70.jpg")).unwrap();
    let serial = &nikon.sources[&MetaField::SerialNumber];
    assert_eq!(
        (serial.group.as_str(), serial.tag.as_str()),
        ("Nikon", "SerialNumber")
    );
    assert_eq!(serial.container, "JPEG APP1");
    let heic = read_metadata(&read_camera("apple_iphone8.heic")).unwrap();
    let gps = &heic.sources[&MetaField::Gps];
    assert_eq!(
        (gps.group.as_str(), gps.container.as_str()),
        ("GPS", "HEIF Exif item")
    );
    let nef = read_metadata(&read_camera("nikon_d70_stripped.nef")).unwrap();
    let time = &nef.sources[&MetaField::CaptureTime];
    assert_eq!(
        (
            time.group.as_str(),
            time.tag.as_str(),
            time.container.as_str()
        ),
        ("ExifIFD", "DateTimeOriginal", "TIFF")
    );
}

// ------------------------------------------------------------ files written by the tests

/// One IFD entry: tag, TIFF type, count, value bytes (little-endian).
type Entry = (u16, u16, u32, Vec<u8>);

fn ascii(tag: u16, s: &str) -> Entry {
    let mut b = s.as_bytes().to_vec();
    b.push(0);
    (tag, 2, b.len() as u32, b)
}

fn rationals(tag: u16, v: &[(u32, u32)]) -> Entry {
    let mut b = Vec::new();
    for (n, d) in v {
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&d.to_le_bytes());
    }
    (tag, 5, v.len() as u32, b)
}

fn pointer(tag: u16, offset: u32) -> Entry {
    (tag, 4, 1, offset.to_le_bytes().to_vec())
}

fn ifd_size(entries: &[Entry]) -> u32 {
    let data: usize = entries
        .iter()
        .map(|e| {
            if e.3.len() > 4 {
                (e.3.len() + 1) & !1
            } else {
                0
            }
        })
        .sum();
    (2 + 12 * entries.len() + 4 + data) as u32
}

fn write_ifd(out: &mut Vec<u8>, entries: &[Entry]) {
    let start = out.len() as u32;
    let mut data_at = start + 2 + 12 * entries.len() as u32 + 4;
    let mut data = Vec::new();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, typ, count, value) in entries {
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&typ.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        if value.len() <= 4 {
            let mut v = value.clone();
            v.resize(4, 0);
            out.extend_from_slice(&v);
        } else {
            out.extend_from_slice(&data_at.to_le_bytes());
            data.extend_from_slice(value);
            if value.len() % 2 == 1 {
                data.push(0);
            }
            data_at += ((value.len() + 1) & !1) as u32;
        }
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend(data);
}

/// An EXIF APP1 payload: IFD0 (plus pointers), an Exif IFD and, when given, a GPS IFD.
fn exif_block(ifd0: Vec<Entry>, exif: Vec<Entry>, gps: Option<Vec<Entry>>) -> Vec<u8> {
    let pointers = 1 + usize::from(gps.is_some());
    let mut ifd0 = ifd0;
    // Sizes with the pointer entries in place (their values are 4 bytes, inline).
    let placeholder: Vec<Entry> = (0..pointers).map(|_| pointer(0, 0)).collect();
    let size0 = ifd_size(&[ifd0.clone(), placeholder].concat());
    let exif_at = 8 + size0;
    let gps_at = exif_at + ifd_size(&exif);
    ifd0.push(pointer(0x8769, exif_at));
    if gps.is_some() {
        ifd0.push(pointer(0x8825, gps_at));
    }
    ifd0.sort_by_key(|e| e.0);
    let mut t = b"II*\0\x08\0\0\0".to_vec();
    write_ifd(&mut t, &ifd0);
    write_ifd(&mut t, &exif);
    if let Some(g) = gps {
        write_ifd(&mut t, &g);
    }
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(t);
    app1
}

fn xmp_block(description: &str) -> Vec<u8> {
    let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    p.extend_from_slice(
        format!(
            r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:aux="http://ns.adobe.com/exif/1.0/aux/" {description}/></rdf:RDF></x:xmpmeta>"#
        )
        .as_bytes(),
    );
    p
}

/// A small JPEG carrying the given APP1 payloads, in order.
fn jpeg_with(app1: &[Vec<u8>]) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut plain)
        .encode_image(&image::RgbImage::new(16, 16))
        .expect("encode");
    let mut out = plain[..2].to_vec();
    for payload in app1 {
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out.extend_from_slice(&plain[2..]);
    out
}

/// Write `bytes` to a temporary file, read it with Probity and check it against exiftool.
fn read_and_check(name: &str, bytes: &[u8]) -> CameraMetadata {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(name);
    std::fs::write(&file, bytes).expect("write");
    let m = read_metadata(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    agrees_with_exiftool(name, &file, &m);
    m
}

#[test]
fn dc_06_gps_block_present_but_empty_is_not_the_source_xmp_is() {
    // As some Nikon bodies write it without a receiver: coordinates of 0/0, no hemisphere.
    let gps = vec![
        (0x0000, 1, 4, vec![2, 3, 0, 0]),
        rationals(0x0002, &[(0, 0), (0, 0), (0, 0)]),
        rationals(0x0004, &[(0, 0), (0, 0), (0, 0)]),
    ];
    let exif = exif_block(
        vec![
            ascii(0x010F, "NIKON CORPORATION"),
            ascii(0x0110, "NIKON D750"),
        ],
        vec![ascii(0x9003, "2024:05:06 07:08:09")],
        Some(gps),
    );
    let xmp = xmp_block(r#"exif:GPSLatitude="40,42.7680N" exif:GPSLongitude="74,0.3600W""#);
    let m = read_and_check("empty_gps.jpg", &jpeg_with(&[exif, xmp]));

    let g = m.gps.expect("the position from XMP");
    assert_eq!(g.source, FieldSource::Xmp);
    let src = &m.sources[&MetaField::Gps];
    assert_eq!(
        (src.group.as_str(), src.tag.as_str()),
        ("XMP-exif", "GPSLatitude")
    );
    let empty = m
        .readings
        .iter()
        .find(|r| r.field == MetaField::Gps && r.source.group == "GPS")
        .expect("the empty EXIF GPS block is listed");
    assert!(
        empty
            .not_used
            .as_deref()
            .unwrap_or("")
            .contains("no position"),
        "{empty:?}"
    );
    assert!(
        m.conflicts.is_empty(),
        "an empty block disagrees with nothing"
    );
}

#[test]
fn dc_06_gps_block_with_zero_coordinates_and_no_hemisphere_is_empty() {
    let gps = vec![
        rationals(0x0002, &[(0, 1), (0, 1), (0, 1)]),
        rationals(0x0004, &[(0, 1), (0, 1), (0, 1)]),
    ];
    let exif = exif_block(vec![ascii(0x010F, "NIKON CORPORATION")], vec![], Some(gps));
    let m = read_and_check("zero_gps.jpg", &jpeg_with(&[exif]));
    assert!(m.gps.is_none(), "0,0 with no hemisphere is not a position");
    assert!(m
        .readings
        .iter()
        .any(|r| r.field == MetaField::Gps && r.not_used.is_some()));
}

#[test]
fn dc_06_exif_and_xmp_that_disagree_are_shown_as_conflicts() {
    let exif = exif_block(
        vec![ascii(0x010F, "Apple"), ascii(0x0110, "iPhone 8")],
        vec![
            ascii(0x9003, "2024:05:06 07:08:09"),
            ascii(0xA431, "F17VX0001"),
        ],
        Some(vec![
            ascii(0x0001, "N"),
            rationals(0x0002, &[(40, 1), (42, 1), (4608, 100)]),
            ascii(0x0003, "W"),
            rationals(0x0004, &[(73, 1), (59, 1), (3852, 100)]),
        ]),
    );
    // XMP says another make, another day and a place far away; the model and serial agree.
    let xmp = xmp_block(
        r#"tiff:Make="Samsung" tiff:Model="iPhone 8" exif:DateTimeOriginal="2023-01-02T03:04:05" exif:GPSLatitude="51,30.0000N" exif:GPSLongitude="0,7.5000W" aux:SerialNumber="F17VX0001""#,
    );
    let m = read_and_check("conflict.jpg", &jpeg_with(&[exif, xmp]));

    // The shown values stay EXIF's (the documented precedence) ...
    assert_eq!(m.make.as_deref(), Some("Apple"));
    assert_eq!(m.sources[&MetaField::Make].group, "IFD0");
    let t = m.capture_time.as_ref().expect("capture time");
    assert_eq!(t.to_iso8601(), "2024-05-06T07:08:09");
    // ... and each disagreement is listed with both places.
    let fields: Vec<MetaField> = m.conflicts.iter().map(|c| c.field).collect();
    assert_eq!(
        fields,
        vec![MetaField::Make, MetaField::CaptureTime, MetaField::Gps],
        "{:#?}",
        m.conflicts
    );
    let make = &m.conflicts[0];
    assert!(
        make.summary.contains("IFD0:Make says Apple"),
        "{}",
        make.summary
    );
    assert!(
        make.summary.contains("XMP-tiff:Make says Samsung"),
        "{}",
        make.summary
    );
    let time = &m.conflicts[1];
    let places: Vec<String> = time
        .readings
        .iter()
        .map(|r| format!("{}:{}", r.source.group, r.source.tag))
        .collect();
    assert_eq!(
        places,
        vec!["ExifIFD:DateTimeOriginal", "XMP-exif:DateTimeOriginal"]
    );
}

#[test]
fn dc_06_stored_metadata_without_provenance_still_reads() {
    // Items stored before values carried their source: the new fields default to empty.
    let old = r#"{"make":"Apple","model":"iPhone 4","serial_number":null,"serial_source":null,
        "lens":null,"capture_time":null,"gps":null,"orientation":1,"width":2592,"height":1936}"#;
    let m: CameraMetadata = serde_json::from_str(old).expect("old JSON");
    assert!(m.sources.is_empty() && m.readings.is_empty() && m.conflicts.is_empty());
}
