//! Repository photos below the quality floor are flagged to the records officer at import, and
//! reviewed one by one (FR-01, FR-06), through the running server on both backends.

mod common;

use common::lfw::{identities, lfw_file};
use common::{Backend, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The same photo with its light cut to 30 %: the face is still found, but too dark.
fn darkened(bytes: &[u8]) -> Vec<u8> {
    let mut img = image::load_from_memory(bytes).expect("decode").to_rgb8();
    for p in img.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (u16::from(*c) * 30 / 100) as u8;
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)
        .encode_image(&img)
        .expect("encode");
    out
}

async fn import(srv: &TestServer, photos: &[(String, Vec<u8>)]) {
    let rec = srv.login("rec.lopez").await;
    let mut manifest = String::from("file,subject_id,source,arrest_id,photo_date\n");
    let mut form = Form::new();
    for (i, (subject, bytes)) in photos.iter().enumerate() {
        let file = format!("q{i:03}.jpg");
        manifest.push_str(&format!(
            "{file},{subject},arrest,A-Q{i:03},2022-05-0{}\n",
            i + 1
        ));
        form = form.part("file", Part::bytes(bytes.clone()).file_name(file));
    }
    form = form.text("manifest", manifest);
    let r = rec
        .post(format!("{}/api/fr/gallery/import", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("import");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], photos.len(), "{body}");
}

fn waiting_review(worklist: &Value) -> Option<Value> {
    worklist["items"]
        .as_array()?
        .iter()
        .find(|i| i["kind"] == "fr.gallery.quality_review")
        .cloned()
}

async fn fr_06_repository_photo_below_quality_floor_flagged_at_import_body(b: Backend) {
    let srv = common::start(b).await;
    let name = identities(1).remove(0);
    let photo = lfw_file(&name, 2);
    import(
        &srv,
        &[
            ("S-Q001".into(), photo.clone()),
            ("S-Q002".into(), darkened(&photo)),
        ],
    )
    .await;

    let rec = srv.login("rec.lopez").await;
    let (s, list) = srv.get(&rec, "/api/fr/gallery/quality").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let items = list["items"].as_array().expect("items");
    let dark = items
        .iter()
        .find(|i| i["subject_id"] == "S-Q002")
        .expect("the darkened photo is flagged");
    assert!(
        dark["issues"].to_string().contains("too dark"),
        "the reason is named: {dark}"
    );
    assert!(
        dark["measures"]["mean_brightness"]
            .as_f64()
            .unwrap_or(255.0)
            < 40.0
    );
    // Every flagged photo says why; the total counts what the page lists.
    assert!(items
        .iter()
        .all(|i| i["issues"].as_array().is_some_and(|a| !a.is_empty())));
    assert_eq!(list["total"].as_u64(), Some(items.len() as u64), "{list}");

    // The records officer's home counts them, and links to the review page.
    let (_, w) = srv.get(&rec, "/api/me/worklist").await;
    let item = waiting_review(&w).expect("a review waits");
    assert_eq!(item["link"], "/fr/gallery/quality");
    assert!(
        item["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("{} repository photo", items.len())),
        "{item}"
    );

    // A detective neither sees the list nor reviews.
    let rivera = srv.login("det.rivera").await;
    let (s, _) = srv.get(&rivera, "/api/fr/gallery/quality").await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );

    // A review needs a note, happens once, and is audited.
    let record = dark["candidate"].as_str().expect("candidate").to_string();
    let review = format!("/api/fr/gallery/quality/{record}/review");
    let (s, b) = srv.post(&rec, &review, json!({"note": "  "})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "note", "{b}");
    let (s, b) = srv
        .post(
            &rec,
            &review,
            json!({"note": "too dark to rely on: replacement photo requested"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["reviewed_by"], "rec.lopez");
    let (s, b) = srv.post(&rec, &review, json!({"note": "again"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let record_no = dark["record_no"].as_i64().expect("record_no").to_string();
    let trail = srv.audit_of("fr_record", &record_no).await;
    assert!(
        trail
            .iter()
            .any(|e| e.action == "fr.gallery.quality_review" && e.outcome == "success"),
        "{trail:?}"
    );
    assert!(
        trail
            .iter()
            .any(|e| e.action == "fr.gallery.import" && e.detail.contains("\"below_floor\":true")),
        "the import's audit entry records the flag: {trail:?}"
    );

    // Reviewed photos leave the list and the count.
    let (_, after) = srv.get(&rec, "/api/fr/gallery/quality").await;
    assert!(!after.to_string().contains("S-Q002"), "{after}");
    assert_eq!(
        after["total"].as_u64(),
        list["total"].as_u64().map(|n| n - 1)
    );
    let (_, w) = srv.get(&rec, "/api/me/worklist").await;
    if after["total"] == 0 {
        assert!(waiting_review(&w).is_none(), "{w}");
    }

    // The page lists the rest with a form for each.
    let r = rec
        .get(format!("{}/fr/gallery/quality", srv.url))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"flagged-photos\""), "{html}");
    assert!(!html.contains("S-Q002"), "{html}");
}
both!(
    fr_06_repository_photo_below_quality_floor_flagged_at_import,
    crate::fr_06_repository_photo_below_quality_floor_flagged_at_import_body
);
