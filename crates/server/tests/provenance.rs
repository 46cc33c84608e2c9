//! Camera values name where they came from, and a file that disagrees with itself says so,
//! through the running server on both backends (DC-06, SEC-03).

mod common;

use common::Backend;
use reqwest::StatusCode;

/// A little-endian EXIF APP1 payload: IFD0 with Make and Model and a pointer to an Exif IFD
/// holding DateTimeOriginal.
fn exif_payload(make: &str, model: &str, taken: &str) -> Vec<u8> {
    let strings = [make, model, taken].map(|s| {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        b
    });
    // IFD0 at 8: three entries (Make, Model, ExifIFD pointer) = 2 + 36 + 4 = 42 bytes.
    let ifd0_end = 8 + 42;
    let make_at = ifd0_end;
    let model_at = make_at + strings[0].len();
    let exif_at = model_at + strings[1].len();
    // Exif IFD: one entry = 2 + 12 + 4 = 18 bytes, then the date.
    let date_at = exif_at + 18;
    let entry = |tag: u16, typ: u16, count: usize, value: usize| {
        let mut e = tag.to_le_bytes().to_vec();
        e.extend_from_slice(&typ.to_le_bytes());
        e.extend_from_slice(&(count as u32).to_le_bytes());
        e.extend_from_slice(&(value as u32).to_le_bytes());
        e
    };
    let mut t = b"II*\0\x08\0\0\0".to_vec();
    t.extend_from_slice(&3u16.to_le_bytes());
    t.extend(entry(0x010F, 2, strings[0].len(), make_at));
    t.extend(entry(0x0110, 2, strings[1].len(), model_at));
    t.extend(entry(0x8769, 4, 1, exif_at));
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&strings[0]);
    t.extend_from_slice(&strings[1]);
    t.extend_from_slice(&1u16.to_le_bytes());
    t.extend(entry(0x9003, 2, strings[2].len(), date_at));
    t.extend_from_slice(&0u32.to_le_bytes());
    t.extend_from_slice(&strings[2]);
    let mut p = b"Exif\0\0".to_vec();
    p.extend(t);
    p
}

fn xmp_payload(description: &str) -> Vec<u8> {
    let mut p = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    p.extend_from_slice(
        format!(
            r#"<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:tiff="http://ns.adobe.com/tiff/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" {description}/></rdf:RDF></x:xmpmeta>"#
        )
        .as_bytes(),
    );
    p
}

/// A real (small) JPEG carrying the given APP1 segments.
fn jpeg_with(app1: &[Vec<u8>]) -> Vec<u8> {
    let mut plain = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut plain)
        .encode_image(&image::RgbImage::from_pixel(
            64,
            48,
            image::Rgb([90, 120, 150]),
        ))
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

const CASE: &str = "2026-019-000101";

async fn upload(srv: &common::TestServer, c: &reqwest::Client, name: &str, bytes: &[u8]) -> String {
    let fields = [
        ("purpose", "crime_scene"),
        ("basis_kind", "no_reasonable_expectation_of_privacy"),
    ];
    let (status, report) = srv.upload_evidence(c, CASE, &fields, name, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    report["files"][0]["item_id"]
        .as_str()
        .expect("item id")
        .to_string()
}

async fn page(srv: &common::TestServer, c: &reqwest::Client, path: &str) -> String {
    let r = c
        .get(format!("{}{path}", srv.url))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.expect("page text")
}

async fn dc_06_values_name_their_source_and_conflicts_are_shown_body(b: Backend) {
    let srv = common::start(b).await;
    let c = srv.login("det.rivera").await;

    // EXIF and XMP disagree on the make and on the day the picture was taken.
    let file = jpeg_with(&[
        exif_payload("Apple", "iPhone 8", "2024:05:06 07:08:09"),
        xmp_payload(
            r#"tiff:Make="Samsung" exif:DateTimeOriginal="2023-01-02T03:04:05" exif:GPSLatitude="40,42.7680N" exif:GPSLongitude="74,0.3600W""#,
        ),
    ]);
    let id = upload(&srv, &c, "IMG_2001.JPG", &file).await;
    let (s, body) = srv
        .get(&c, &format!("/api/cases/{CASE}/evidence/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let meta = &body["item"]["metadata"];
    // The shown values keep the documented precedence, and say where they came from.
    assert_eq!(meta["make"], "Apple");
    assert_eq!(meta["sources"]["make"]["group"], "IFD0", "{meta}");
    assert_eq!(meta["sources"]["make"]["container"], "JPEG APP1");
    assert_eq!(meta["sources"]["capture_time"]["tag"], "DateTimeOriginal");
    assert_eq!(meta["sources"]["capture_time"]["group"], "ExifIFD");
    // GPS exists only in XMP, and is credited to XMP.
    assert_eq!(meta["sources"]["gps"]["group"], "XMP-exif", "{meta}");
    assert_eq!(meta["gps"]["source"], "xmp");
    // The disagreements are listed, not resolved.
    let conflicts = meta["conflicts"].as_array().expect("conflicts");
    let fields: Vec<&str> = conflicts
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(fields, vec!["make", "capture_time"], "{meta}");

    let html = page(&srv, &c, &format!("/cases/{CASE}/evidence/{id}")).await;
    assert!(html.contains("id=\"metadata-conflicts\""), "{html}");
    assert!(html.contains("IFD0:Make says Apple"), "{html}");
    assert!(html.contains("XMP-tiff:Make says Samsung"), "{html}");
    assert!(html.contains("from ExifIFD:DateTimeOriginal"), "{html}");
    assert!(html.contains("from XMP-exif:GPSLatitude"), "{html}");

    // A file whose places agree shows its sources and no conflict section.
    let agreeing = jpeg_with(&[
        exif_payload("Apple", "iPhone 8", "2024:05:06 07:08:09"),
        xmp_payload(r#"tiff:Make="Apple" exif:DateTimeOriginal="2024-05-06T07:08:09""#),
    ]);
    let id = upload(&srv, &c, "IMG_2002.JPG", &agreeing).await;
    let html = page(&srv, &c, &format!("/cases/{CASE}/evidence/{id}")).await;
    assert!(!html.contains("id=\"metadata-conflicts\""), "{html}");
    assert!(html.contains("from IFD0:Make"), "{html}");
    assert!(html.contains("id=\"metadata-sources\""), "{html}");
}
both!(
    dc_06_values_name_their_source_and_conflicts_are_shown,
    crate::dc_06_values_name_their_source_and_conflicts_are_shown_body
);
