//! Metadata agrees, field by field, with the exiftool dumps beside each sample file (DC-06).

mod common;

use common::{dump_value, exiftool_dump, patched, read_camera};
use probity_imaging::{read_metadata, FieldSource};

const SAMPLES: [&str; 6] = [
    "apple_iphone8.heic",
    "apple_iphone4.jpg",
    "nikon_d70.jpg",
    "nikon_d70_stripped.nef",
    "apple_minimal.jpg",
    "heic_metadata_only.heic",
];

/// exiftool's "41 deg 51' 10.80\" N" as signed decimal degrees.
fn exiftool_coordinate(v: &str) -> f64 {
    let parts: Vec<&str> = v.split_whitespace().collect();
    let num = |s: &str| -> f64 {
        s.trim_end_matches(['\'', '"'])
            .parse()
            .unwrap_or_else(|_| panic!("bad number {s} in {v}"))
    };
    // ["41", "deg", "51'", "10.80\"", "N"]
    let deg = num(parts[0]) + num(parts[2]) / 60.0 + num(parts[3]) / 3600.0;
    match parts.get(4) {
        Some(&"S") | Some(&"W") => -deg,
        _ => deg,
    }
}

fn exiftool_orientation(v: &str) -> u8 {
    match v {
        "Horizontal (normal)" => 1,
        "Mirror horizontal" => 2,
        "Rotate 180" => 3,
        "Mirror vertical" => 4,
        "Mirror horizontal and rotate 270 CW" => 5,
        "Rotate 90 CW" => 6,
        "Mirror horizontal and rotate 90 CW" => 7,
        "Rotate 270 CW" => 8,
        other => panic!("unknown orientation text {other}"),
    }
}

#[test]
fn dc_06_metadata_matches_exiftool_field_by_field() {
    for name in SAMPLES {
        let dump = exiftool_dump(name);
        let m = read_metadata(&read_camera(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ctx = |field: &str| format!("{name}: {field}");

        assert_eq!(
            m.make.as_deref(),
            dump_value(&dump, "IFD0", "Make"),
            "{}",
            ctx("make")
        );
        assert_eq!(
            m.model.as_deref(),
            dump_value(&dump, "IFD0", "Model"),
            "{}",
            ctx("model")
        );

        let serial = dump_value(&dump, "ExifIFD", "SerialNumber")
            .or_else(|| dump_value(&dump, "Nikon", "SerialNumber"));
        // exiftool prints the D70's "NO= 00002539" as "No= 00002539" (a display conversion);
        // Probity keeps the bytes the camera wrote, so letter case is not compared.
        assert_eq!(
            m.serial_number.as_deref().map(str::to_ascii_uppercase),
            serial.map(str::to_ascii_uppercase),
            "{}",
            ctx("serial")
        );

        let lens = dump_value(&dump, "ExifIFD", "LensModel")
            .or_else(|| dump_value(&dump, "Nikon", "Lens"));
        assert_eq!(m.lens.as_deref(), lens, "{}", ctx("lens"));

        let dto = dump_value(&dump, "ExifIFD", "DateTimeOriginal")
            .or_else(|| dump_value(&dump, "IFD0", "DateTimeOriginal"));
        match (&m.capture_time, dto) {
            (None, None) => {}
            (Some(t), Some(dto)) => {
                assert_eq!(
                    t.local.format("%Y:%m:%d %H:%M:%S").to_string(),
                    dto,
                    "{}",
                    ctx("time")
                );
                assert_eq!(
                    t.subsec.as_deref(),
                    dump_value(&dump, "ExifIFD", "SubSecTimeOriginal"),
                    "{}",
                    ctx("subsec")
                );
                assert_eq!(
                    t.offset.as_deref(),
                    dump_value(&dump, "ExifIFD", "OffsetTimeOriginal"),
                    "{}",
                    ctx("offset")
                );
            }
            (got, want) => panic!("{}: got {got:?}, exiftool {want:?}", ctx("time")),
        }

        let lat = dump_value(&dump, "Composite", "GPSLatitude").map(exiftool_coordinate);
        let lon = dump_value(&dump, "Composite", "GPSLongitude").map(exiftool_coordinate);
        match (&m.gps, lat, lon) {
            (None, None, None) => {}
            (Some(g), Some(lat), Some(lon)) => {
                // exiftool prints seconds to 1/100: 0.005" is 1.4e-6 degrees.
                assert!(
                    (g.latitude - lat).abs() < 2e-6,
                    "{}: {} vs {lat}",
                    ctx("lat"),
                    g.latitude
                );
                assert!(
                    (g.longitude - lon).abs() < 2e-6,
                    "{}: {} vs {lon}",
                    ctx("lon"),
                    g.longitude
                );
                assert_eq!(g.source, FieldSource::Exif);
                let alt = dump_value(&dump, "GPS", "GPSAltitude").map(|v| {
                    let a: f64 = v.trim_end_matches(" m").parse().expect("altitude number");
                    if dump_value(&dump, "GPS", "GPSAltitudeRef") == Some("Below Sea Level") {
                        -a
                    } else {
                        a
                    }
                });
                match (g.altitude_m, alt) {
                    (None, None) => {}
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{}", ctx("altitude")),
                    (a, b) => panic!("{}: got {a:?}, exiftool {b:?}", ctx("altitude")),
                }
            }
            (got, lat, lon) => panic!("{}: got {got:?}, exiftool {lat:?} {lon:?}", ctx("gps")),
        }

        assert_eq!(
            m.orientation,
            dump_value(&dump, "IFD0", "Orientation").map(exiftool_orientation),
            "{}",
            ctx("orientation")
        );

        let size = dump_value(&dump, "Composite", "ImageSize");
        let ours = m.width.zip(m.height).map(|(w, h)| format!("{w}x{h}"));
        assert_eq!(ours.as_deref(), size, "{}", ctx("image size"));
    }
}

#[test]
fn dc_06_nikon_serial_comes_from_the_maker_note() {
    let m = read_metadata(&read_camera("nikon_d70.jpg")).unwrap();
    assert_eq!(m.serial_source, Some(FieldSource::MakerNote));
    assert_eq!(m.serial_normalized().as_deref(), Some("2539"));
}

#[test]
fn dc_06_gps_written_only_in_xmp_is_read() {
    let jpeg = read_camera("nikon_d70.jpg");
    let xmp = br#"x <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="40,42.7680N" exif:GPSLongitude="74,0.3600W" exif:GPSAltitude="1050/100" exif:GPSAltitudeRef="0" exif:DateTimeOriginal="2020-01-01T00:00:00"/></rdf:RDF></x:xmpmeta>"#;
    let m = read_metadata(&insert_app1(&jpeg, &xmp_payload(xmp))).unwrap();
    // EXIF time still wins over XMP; the GPS exists only in XMP.
    assert_eq!(
        m.capture_time.as_ref().map(|t| t.source),
        Some(FieldSource::Exif)
    );
    let g = m.gps.expect("GPS from XMP");
    assert_eq!(g.source, FieldSource::Xmp);
    assert!((g.latitude - (40.0 + 42.768 / 60.0)).abs() < 1e-9);
    assert!((g.longitude + (74.0 + 0.36 / 60.0)).abs() < 1e-9);
    assert_eq!(g.altitude_m, Some(10.5));
}

/// A little-endian EXIF block: IFD0 (Make, ExifIFD pointer) and an Exif IFD with
/// DateTimeOriginal, OffsetTimeOriginal and SubSecTimeOriginal.
fn exif_with_offset() -> Vec<u8> {
    let mut t: Vec<u8> = b"II*\0\x08\0\0\0".to_vec();
    let entry = |tag: u16, typ: u16, count: u32, value: u32| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&typ.to_le_bytes());
        e.extend_from_slice(&count.to_le_bytes());
        e.extend_from_slice(&value.to_le_bytes());
        e
    };
    // IFD0 at 8: 2 entries -> 2 + 24 + 4 = 30 bytes, ends at 38. Make string at 38 (6 bytes).
    // Exif IFD at 44: 3 entries -> 42 bytes, ends at 86; DTO at 86 (20), offset at 106 (7).
    t.extend_from_slice(&2u16.to_le_bytes());
    t.extend(entry(0x010F, 2, 6, 38));
    t.extend(entry(0x8769, 4, 1, 44));
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(b"Nikon\0");
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend(entry(0x9003, 2, 20, 86));
    t.extend(entry(0x9011, 2, 7, 106));
    t.extend(entry(0x9291, 2, 2, u32::from_le_bytes(*b"5\0\0\0")));
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(b"2024:03:01 10:20:30\0");
    t.extend_from_slice(b"+02:00\0");
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(t);
    app1
}

#[test]
fn dc_06_capture_time_with_offset_agrees_with_exiftool() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("offset.jpg");
    // A JPEG without any EXIF of its own, so the inserted block is the only one.
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut plain)
        .encode_image(&image::RgbImage::new(16, 16))
        .unwrap();
    std::fs::write(&file, insert_app1(&plain, &exif_with_offset())).unwrap();
    let m = read_metadata(&std::fs::read(&file).unwrap()).unwrap();
    let t = m.capture_time.expect("capture time");
    assert_eq!(t.to_iso8601(), "2024-03-01T10:20:30.5+02:00");
    assert_eq!(t.offset.as_deref(), Some("+02:00"));

    let out = std::process::Command::new("exiftool")
        .args(["-j", "-ExifIFD:DateTimeOriginal", "-ExifIFD:OffsetTimeOriginal", "-ExifIFD:SubSecTimeOriginal"])
        .arg(&file)
        .output()
        .expect("exiftool is needed as the independent reference: run scripts/setup (libimage-exiftool-perl)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v[0];
    assert_eq!(
        r["DateTimeOriginal"],
        t.local.format("%Y:%m:%d %H:%M:%S").to_string(),
        "{r}"
    );
    assert_eq!(r["OffsetTimeOriginal"].as_str(), t.offset.as_deref(), "{r}");
    assert_eq!(
        r["SubSecTimeOriginal"].as_i64().map(|n| n.to_string()),
        t.subsec,
        "{r}"
    );
}

/// The XMP APP1 payload: identifier with its NUL, then the packet.
fn xmp_payload(with_space: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(with_space).unwrap();
    let (_, packet) = text.split_once(' ').unwrap();
    let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    p.extend_from_slice(packet.as_bytes());
    p
}

/// Insert an APP1 segment right after SOI.
fn insert_app1(jpeg: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn dc_06_xmp_only_gps_agrees_with_exiftool() {
    let dir = tempfile::tempdir().unwrap();
    let xmp = br#"x <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"><exif:GPSLatitude>40,42,46.08N</exif:GPSLatitude><exif:GPSLongitude>73,59,38.52W</exif:GPSLongitude><exif:GPSAltitude>2150/100</exif:GPSAltitude><exif:GPSAltitudeRef>0</exif:GPSAltitudeRef></rdf:Description></rdf:RDF></x:xmpmeta>"#;
    let file = dir.path().join("xmp_gps.jpg");
    std::fs::write(
        &file,
        insert_app1(&read_camera("nikon_d70.jpg"), &xmp_payload(xmp)),
    )
    .unwrap();
    let m = read_metadata(&std::fs::read(&file).unwrap()).unwrap();
    let g = m.gps.expect("GPS from XMP");
    assert_eq!(g.source, FieldSource::Xmp);

    let out = std::process::Command::new("exiftool")
        .args(["-n", "-j", "-XMP:GPSLatitude", "-XMP:GPSLongitude", "-XMP:GPSAltitude"])
        .arg(&file)
        .output()
        .expect("exiftool is needed as the independent reference: run scripts/setup (libimage-exiftool-perl)");
    assert!(
        out.status.success(),
        "exiftool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reference = &v[0];
    let num = |k: &str| {
        reference[k]
            .as_f64()
            .unwrap_or_else(|| panic!("exiftool gave no {k}: {reference}"))
    };
    assert!((g.latitude - num("GPSLatitude")).abs() < 1e-7);
    assert!((g.longitude - num("GPSLongitude")).abs() < 1e-7);
    assert!((g.altitude_m.unwrap() - num("GPSAltitude")).abs() < 1e-7);
}

#[test]
fn dc_06_orientation_read_from_exif() {
    let rotated = patched(
        &read_camera("nikon_d70.jpg"),
        &[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x01],
        &[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x08],
    );
    assert_eq!(read_metadata(&rotated).unwrap().orientation, Some(8));
}
