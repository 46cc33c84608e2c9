//! FOIL public records requests (PUB-01) through the API, against a real server on SQLite and on
//! PostgreSQL: the public form without an account (receipt, rate limit), the officer's intake,
//! business-day deadlines with holidays, overdue counts, gathering evidence, face detection and
//! redaction, four-eyes review, release of filled copies (the original untouched), denial with
//! exemptions, appeals, and every bad input refused with rule PUB-01 while nothing is lost.

mod common;

use std::io::Cursor;

use chrono::{Duration, NaiveDate, Utc};
use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";
const OFFICER: &str = "rec.lopez";

fn data_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/data"));
    assert!(
        dir.join("faces/lfw").is_dir(),
        "the sample data is missing: {} has no faces/lfw/ folder; set PROBITY_TEST_DATA to the shared data folder",
        dir.display()
    );
    dir
}

/// The first `n` LFW people (alphabetically) with a `_0001.jpg`.
fn lfw_faces(n: usize) -> Vec<std::path::PathBuf> {
    let lfw = data_dir().join("faces/lfw");
    let mut names: Vec<String> = std::fs::read_dir(&lfw)
        .expect("faces/lfw")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    let out: Vec<_> = names
        .iter()
        .map(|name| lfw.join(name).join(format!("{name}_0001.jpg")))
        .filter(|p| p.is_file())
        .take(n)
        .collect();
    assert_eq!(out.len(), n, "need {n} LFW faces");
    out
}

/// Where a portrait lies in the group photograph: x, y, width, height.
type Place = (u32, u32, u32, u32);

/// A photograph of `n` people: the central part of `n` LFW portraits side by side on a grey
/// ground. Returns the JPEG and where each portrait lies (x, y, width, height).
fn group_photo(n: usize) -> (Vec<u8>, Vec<Place>) {
    let (cw, ch) = (150u32, 170u32);
    let gap = 40u32;
    let mut canvas = image::RgbImage::from_pixel(
        gap + n as u32 * (cw + gap),
        ch + 2 * gap,
        image::Rgb([128, 128, 128]),
    );
    let mut places = Vec::new();
    for (i, path) in lfw_faces(n).iter().enumerate() {
        let face = image::open(path).expect("LFW image").to_rgb8();
        let (w, h) = face.dimensions();
        let crop =
            image::imageops::crop_imm(&face, (w - cw) / 2, (h - ch) / 2 + 5, cw, ch).to_image();
        let x = gap + i as u32 * (cw + gap);
        image::imageops::replace(&mut canvas, &crop, i64::from(x), i64::from(gap));
        places.push((x, gap, cw, ch));
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut Cursor::new(&mut out), 92)
        .encode_image(&canvas)
        .expect("encode");
    (out, places)
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Uploads `jpeg` as camera evidence of the demo case; returns the item id and its stored hash.
async fn evidence(srv: &TestServer, jpeg: Vec<u8>, name: &str) -> (String, String) {
    let rivera = srv.login("det.rivera").await;
    let form = reqwest::multipart::Form::new()
        .text("purpose", "crime_scene")
        .text("basis_kind", "no_reasonable_expectation_of_privacy")
        .part(
            "file",
            reqwest::multipart::Part::bytes(jpeg).file_name(name.to_string()),
        );
    let r = rivera
        .post(format!("{}/api/cases/{CASE}/evidence", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert!(status.is_success(), "upload: {body}");
    let item = body["files"][0]["item_id"]
        .as_str()
        .unwrap_or_else(|| panic!("item id in {body}"))
        .to_string();
    let sha = body["files"][0]["sha256"]
        .as_str()
        .map(String::from)
        .unwrap_or_default();
    (item, sha)
}

/// The stored original of an evidence item, as its custodian downloads it.
async fn original(srv: &TestServer, item: &str) -> Vec<u8> {
    let rivera = srv.login("det.rivera").await;
    let r = rivera
        .get(format!(
            "{}/api/cases/{CASE}/evidence/{item}/original",
            srv.url
        ))
        .send()
        .await
        .expect("original");
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.expect("bytes").to_vec()
}

/// A second person of the records unit with `role`, signed in.
async fn records_person(srv: &TestServer, username: &str, role: &str) -> reqwest::Client {
    let admin = srv.login("admin").await;
    let (s, b) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": username, "display_name": format!("Records {username}"),
                    "rank": "civilian", "command": "RECORDS", "kind": "member",
                    "password": probity_server::demo::DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "create {username}: {b}");
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{username}/assignments"),
            json!({ "role": role, "command": "RECORDS", "starts": Utc::now().date_naive() - Duration::days(1) }),
        )
        .await;
    assert!(s.is_success(), "assign {username}: {b}");
    srv.login(username).await
}

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

async fn officer_request(srv: &TestServer, c: &reqwest::Client, received: NaiveDate) -> Value {
    let (s, b) = srv
        .post(
            c,
            "/api/foil/requests",
            json!({ "requester": "A. Journalist", "contact": "desk@example.org",
                    "description": "Photographs taken at the scene on March 3",
                    "received_on": received.to_string() }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b
}

fn today() -> NaiveDate {
    probity_domain::foil::new_york_date(Utc::now())
}

/// Acknowledges with the latest decision date that needs no extension.
async fn acknowledge(srv: &TestServer, c: &reqwest::Client, id: &str) -> Value {
    let by = probity_domain::foil::latest_decision_without_extension(today());
    let (s, b) = srv
        .post(
            c,
            &format!("/api/foil/requests/{id}/acknowledge"),
            json!({ "decision_by": by.to_string() }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

// ------------------------------------------------------------------ intake and deadlines

async fn pub_01_public_request_needs_no_account_and_is_rate_limited_body(backend: Backend) {
    let srv = common::start(backend).await;
    let anonymous = common::client();
    // Bad input: every missing part named at once, rule PUB-01, nothing logged.
    let (s, b) = srv
        .post(
            &anonymous,
            "/api/foil/public-requests",
            json!({ "requester": " ", "description": "" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule(&b), "PUB-01");
    assert_eq!(b["missing"], json!(["requester", "contact", "description"]));

    let mut receipts = Vec::new();
    for i in 0..5 {
        let (s, b) = srv
            .post(
                &anonymous,
                "/api/foil/public-requests",
                json!({ "requester": format!("Resident {i}"), "contact": "resident@example.org",
                        "description": "Body camera footage of my arrest" }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let receipt = b["receipt"].as_str().expect("receipt").to_string();
        assert!(receipt.starts_with(&format!("FOIL-{}-", today().format("%Y"))));
        assert_eq!(
            b["acknowledge_by"],
            probity_domain::foil::acknowledge_by(today()).to_string()
        );
        receipts.push(receipt);
    }
    let unique: std::collections::BTreeSet<_> = receipts.iter().collect();
    assert_eq!(unique.len(), 5, "receipt numbers are unique: {receipts:?}");
    // The sixth within the hour from the same address is refused; nothing is logged.
    let (s, b) = srv
        .post(
            &anonymous,
            "/api/foil/public-requests",
            json!({ "requester": "Resident 6", "contact": "r6@example.org", "description": "More" }),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{b}");
    assert_eq!(rule(&b), "PUB-01");

    // The records officer sees the five; an investigator does not see the queue at all.
    let officer = srv.login(OFFICER).await;
    let (s, q) = srv.get(&officer, "/api/foil/requests").await;
    assert_eq!(s, StatusCode::OK, "{q}");
    assert_eq!(q["counts"]["received"], 5);
    assert!(q["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .all(|r| r["channel"] == "public" && r["status"] == "received"));
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, "/api/foil/requests").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, _) = srv.get(&anonymous, "/api/foil/requests").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The intake is audited under the public form's name.
    let id = q["requests"][0]["id"].as_str().expect("id");
    let trail = srv.audit_of("foil_request", id).await;
    assert!(trail
        .iter()
        .any(|e| e.action == "foil.intake" && e.actor == "public:foil-form"));
}
both!(
    pub_01_public_request_needs_no_account_and_is_rate_limited,
    super::pub_01_public_request_needs_no_account_and_is_rate_limited_body
);

async fn pub_01_deadline_after_thanksgiving_body(backend: Backend) {
    let srv = common::start(backend).await;
    let officer = srv.login(OFFICER).await;
    // Received Tuesday November 25, 2025: Thanksgiving (27th) is skipped, the day after is not.
    let b = officer_request(
        &srv,
        &officer,
        NaiveDate::from_ymd_opt(2025, 11, 25).expect("d"),
    )
    .await;
    let r = &b["request"];
    assert_eq!(r["acknowledge_by"], "2025-12-03");
    // Long unacknowledged: overdue, shown first, counted.
    assert_eq!(r["clock"]["next"], "acknowledge");
    assert_eq!(r["clock"]["overdue"], true);
    let id = r["id"].as_str().expect("id").to_string();
    let fresh = officer_request(&srv, &officer, today()).await;
    let (_, q) = srv.get(&officer, "/api/foil/requests").await;
    assert_eq!(q["counts"]["overdue"], 1, "{q}");
    assert_eq!(q["requests"][0]["id"], id.as_str(), "overdue first");

    // A decision date past twenty business days needs an extension with a reason.
    let ack = today();
    let limit = probity_domain::foil::latest_decision_without_extension(ack);
    let mut later = limit + Duration::days(7);
    while !probity_domain::foil::is_business_day(later) {
        later += Duration::days(1);
    }
    let path = format!("/api/foil/requests/{id}/acknowledge");
    let (s, e) = srv
        .post(&officer, &path, json!({ "decision_by": later.to_string() }))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    let (_, d) = srv.get(&officer, &format!("/api/foil/requests/{id}")).await;
    assert_eq!(d["request"]["status"], "received", "nothing changed");
    let (s, d) = srv
        .post(
            &officer,
            &path,
            json!({ "decision_by": later.to_string(), "extension_reason": "records at three commands" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["request"]["acknowledged_late"], true);
    assert_eq!(
        d["request"]["extension_reason"],
        "records at three commands"
    );
    // Twice is a conflict.
    let (s, _) = srv
        .post(&officer, &path, json!({ "decision_by": later.to_string() }))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, c) = srv.get(&officer, "/api/foil/counts").await;
    assert_eq!(c["acknowledged_late"], 1, "{c}");
    assert_eq!(c["overdue"], 0, "{c}");
    assert_eq!(c["received"], 2);
    let _ = fresh;
}
both!(
    pub_01_deadline_after_thanksgiving,
    super::pub_01_deadline_after_thanksgiving_body
);

// ------------------------------------------------------------------ review, release, denial

async fn pub_01_release_refused_without_review_body(backend: Backend) {
    let srv = common::start(backend).await;
    let (jpeg, _) = group_photo(1);
    let (item, _) = evidence(&srv, jpeg, "scene.jpg").await;
    let officer = srv.login(OFFICER).await;
    let b = officer_request(&srv, &officer, today()).await;
    let id = b["request"]["id"].as_str().expect("id").to_string();
    let base = format!("/api/foil/requests/{id}");
    // Records cannot be gathered before the acknowledgement.
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/records"),
            json!({ "case": CASE, "item": item }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    acknowledge(&srv, &officer, &id).await;
    let (s, g) = srv
        .post(
            &officer,
            &format!("{base}/records"),
            json!({ "case": CASE, "item": item }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    let record = g["added"][0]["id"].as_str().expect("record").to_string();

    // A release without a completed review: refused, PUB-01, nothing released.
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant", "exemptions": ["b"] }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    assert!(e["detail"].as_str().unwrap_or_default().contains("review"));

    // A box outside the image: refused, PUB-01, no box stored.
    let w = g["added"][0]["width"].as_i64().expect("w");
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/records/{record}/boxes"),
            json!({ "x": w - 10, "y": 0, "width": 40, "height": 40, "kind": "plate" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");

    // The officer who gathered cannot review (four eyes), even after detecting faces.
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/records/{record}/detect"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let (s, e) = srv
        .post(&officer, &format!("{base}/review"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    assert!(e["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("four eyes"));

    // Another FOIL reviewer can.
    let reviewer = records_person(&srv, "rec.reviewer", "records_manager").await;
    let (s, d) = srv
        .post(
            &reviewer,
            &format!("{base}/review"),
            json!({ "notes": "faces of bystanders covered" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["request"]["review_completed_by"], "rec.reviewer");
    // The reviewer may not release (foil.release is the officer's).
    let (s, e) = srv
        .post(
            &reviewer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant", "exemptions": ["b"] }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    // A change after the review withdraws it.
    let (s, _) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/boxes"),
            json!({ "x": 0, "y": 0, "width": 20, "height": 20, "kind": "text", "note": "name tag" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, d) = srv.get(&officer, &base).await;
    assert!(d["request"]["review_completed_by"].is_null(), "{d}");
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant", "exemptions": ["b"] }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = srv
        .post(&reviewer, &format!("{base}/review"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // With redactions, a release still cites the exemption.
    let (s, e) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    let (_, d) = srv.get(&officer, &base).await;
    assert_eq!(d["request"]["status"], "acknowledged", "nothing lost: {d}");
    assert!(d["releases"].as_array().expect("releases").is_empty());
    let (s, d) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant", "exemptions": ["b"], "recipient": "desk@example.org" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["request"]["status"], "granted");
    assert_eq!(d["request"]["exemptions"], json!(["POL §87(2)(b)"]));
    assert_eq!(d["releases"].as_array().expect("releases").len(), 1);
    let trail = srv.audit_of("foil_request", &id).await;
    for action in [
        "foil.intake",
        "foil.acknowledge",
        "foil.gather",
        "foil.detect",
        "foil.review",
        "foil.redaction.add",
        "foil.release",
    ] {
        assert!(trail.iter().any(|e| e.action == action), "{action} audited");
    }
}
both!(
    pub_01_release_refused_without_review,
    super::pub_01_release_refused_without_review_body
);

async fn pub_01_redaction_fills_every_face_body(backend: Backend) {
    let srv = common::start(backend).await;
    let (jpeg, places) = group_photo(3);
    let (item, stored_sha) = evidence(&srv, jpeg.clone(), "group.jpg").await;
    let before = original(&srv, &item).await;
    assert_eq!(sha256(&before), sha256(&jpeg));
    let officer = srv.login(OFFICER).await;
    let b = officer_request(&srv, &officer, today()).await;
    let id = b["request"]["id"].as_str().expect("id").to_string();
    let base = format!("/api/foil/requests/{id}");
    acknowledge(&srv, &officer, &id).await;
    // The whole case is gathered; the group photograph is one of its records.
    let (s, g) = srv
        .post(
            &officer,
            &format!("{base}/records"),
            json!({ "case": CASE }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{g}");
    let rec = g["added"]
        .as_array()
        .expect("added")
        .iter()
        .find(|r| r["evidence_item_id"] == item.as_str())
        .unwrap_or_else(|| panic!("the photograph is gathered: {g}"))
        .clone();
    let record = rec["id"].as_str().expect("record").to_string();
    let reviewer = records_person(&srv, "rec.reviewer", "records_manager").await;
    // Every image must go through the detector before the review.
    let (s, e) = srv
        .post(&reviewer, &format!("{base}/review"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "PUB-01");
    let (s, d) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/detect"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let faces: Vec<(i64, i64, i64, i64)> = d["boxes"]
        .as_array()
        .expect("boxes")
        .iter()
        .map(|b| {
            (
                b["x"].as_i64().expect("x"),
                b["y"].as_i64().expect("y"),
                b["width"].as_i64().expect("w"),
                b["height"].as_i64().expect("h"),
            )
        })
        .collect();
    assert!(faces.len() >= 3, "a box for every face: {d}");
    for (px, py, pw, ph) in &places {
        assert!(
            faces.iter().any(|(x, y, w, h)| {
                let (cx, cy) = (x + w / 2, y + h / 2);
                cx >= i64::from(*px)
                    && cx < i64::from(px + pw)
                    && cy >= i64::from(*py)
                    && cy < i64::from(py + ph)
            }),
            "the face at {px},{py} has a box: {faces:?}"
        );
    }
    // The reviewer marks a tattoo and drops nothing of the faces.
    let (s, d) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/boxes"),
            json!({ "x": 2, "y": 2, "width": 30, "height": 20, "kind": "tattoo" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let tattoo = d["boxes"]
        .as_array()
        .expect("boxes")
        .iter()
        .find(|b| b["kind"] == "tattoo")
        .expect("tattoo box")
        .clone();
    // A box removed stays on record.
    let (s, d) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/boxes"),
            json!({ "x": 300, "y": 5, "width": 10, "height": 10, "kind": "other" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let other = d["boxes"]
        .as_array()
        .expect("boxes")
        .iter()
        .find(|b| b["kind"] == "other")
        .and_then(|b| b["id"].as_str())
        .expect("other")
        .to_string();
    let (s, d) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/boxes/{other}/remove"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["removed_boxes"].as_array().expect("removed").len(), 1);
    let (s, _) = srv
        .post(
            &reviewer,
            &format!("{base}/records/{record}/boxes/{other}/remove"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, d) = srv
        .post(&reviewer, &format!("{base}/review"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let (s, d) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "grant", "exemptions": ["b"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let release = d["releases"]
        .as_array()
        .expect("releases")
        .iter()
        .find(|r| r["record_id"] == record.as_str())
        .expect("the photograph was released")
        .clone();
    assert_eq!(release["source_sha256"], sha256(&jpeg));
    assert_eq!(release["recipient"], "A. Journalist");
    let r = officer
        .get(format!(
            "{}/api/foil/releases/{}/file",
            srv.url,
            release["id"].as_str().expect("release id")
        ))
        .send()
        .await
        .expect("file");
    assert_eq!(r.status(), StatusCode::OK);
    let copy = r.bytes().await.expect("bytes").to_vec();
    assert_eq!(sha256(&copy), release["released_sha256"]);
    assert_ne!(sha256(&copy), sha256(&jpeg), "a new derived file");
    let img = image::load_from_memory(&copy).expect("a JPEG").to_rgb8();
    let orig = image::load_from_memory(&jpeg).expect("original").to_rgb8();
    // Every face box, and the tattoo, is filled (solid black, JPEG noise aside), inset 3 px.
    let mut boxes = faces.clone();
    boxes.push((
        tattoo["x"].as_i64().expect("x"),
        tattoo["y"].as_i64().expect("y"),
        tattoo["width"].as_i64().expect("w"),
        tattoo["height"].as_i64().expect("h"),
    ));
    for (x, y, w, h) in &boxes {
        let mut max = 0u8;
        let mut total = 0u64;
        let mut n = 0u64;
        for yy in (y + 3)..(y + h - 3) {
            for xx in (x + 3)..(x + w - 3) {
                let p = img.get_pixel(xx as u32, yy as u32);
                let v = p.0.iter().copied().max().unwrap_or(0);
                max = max.max(v);
                total += u64::from(v);
                n += 1;
            }
        }
        assert!(n > 0);
        assert!(
            max <= 24 && total / n <= 4,
            "box {x},{y},{w},{h} is filled: max {max}, mean {}",
            total / n
        );
        // Not filled in the original.
        let mean_orig: u64 = ((y + 3)..(y + h - 3))
            .flat_map(|yy| ((x + 3)..(x + w - 3)).map(move |xx| (xx, yy)))
            .map(|(xx, yy)| u64::from(orig.get_pixel(xx as u32, yy as u32).0[0]))
            .sum::<u64>()
            / n;
        assert!(mean_orig > 20, "the original is not dark there");
    }
    // Outside the boxes the picture is the picture (the grey ground stays grey).
    let p = img.get_pixel(img.width() - 5, img.height() - 5);
    assert!(p.0.iter().all(|v| (110..=146).contains(v)), "{p:?}");

    // The original is unchanged: same bytes, same stored hash (DC-05).
    let after = original(&srv, &item).await;
    assert_eq!(sha256(&after), sha256(&before));
    assert_eq!(stored_sha, sha256(&after));
    let mut tx = srv.state.store.begin().await.expect("tx");
    let stored =
        probity_store::evidence::get_item(&mut tx, uuid::Uuid::parse_str(&item).expect("item id"))
            .await
            .expect("item")
            .expect("the item exists");
    tx.commit().await.expect("commit");
    assert_eq!(stored.sha256, stored_sha, "the stored hash is unchanged");
    assert_ne!(
        release["blob_id"],
        stored.blob_id.to_string().as_str(),
        "the released copy is its own blob"
    );
    // The release log names it with both hashes.
    let (s, log) = srv.get(&officer, "/api/foil/releases").await;
    assert_eq!(s, StatusCode::OK);
    assert!(log.as_array().expect("log").iter().any(|l| {
        l["released_sha256"] == release["released_sha256"]
            && l["source_sha256"] == sha256(&jpeg)
            && l["recipient"] == "A. Journalist"
    }));
    // Oversight reads the counts.
    let iab = srv.login("iab.walsh").await;
    let (s, c) = srv.get(&iab, "/api/foil/oversight").await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["granted"], 1);
    assert!(c["released_files"].as_u64().unwrap_or(0) >= 1);
}
both!(
    pub_01_redaction_fills_every_face,
    super::pub_01_redaction_fills_every_face_body
);

async fn pub_01_denial_cites_exemption_and_opens_appeal_body(backend: Backend) {
    let srv = common::start(backend).await;
    let officer = srv.login(OFFICER).await;
    let b = officer_request(&srv, &officer, today()).await;
    let id = b["request"]["id"].as_str().expect("id").to_string();
    let base = format!("/api/foil/requests/{id}");
    acknowledge(&srv, &officer, &id).await;
    // A denial without an exemption, or with one that does not exist: refused, PUB-01.
    for body in [
        json!({ "outcome": "deny" }),
        json!({ "outcome": "deny", "exemptions": ["z"] }),
    ] {
        let (s, e) = srv.post(&officer, &format!("{base}/decision"), body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(rule(&e), "PUB-01");
    }
    let (_, d) = srv.get(&officer, &base).await;
    assert_eq!(d["request"]["status"], "acknowledged");
    // The exemptions are data with their wording.
    let (s, ex) = srv.get(&officer, "/api/foil/exemptions").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ex.as_array().expect("list").len(), 20);
    assert!(ex[4]["wording"]
        .as_str()
        .unwrap_or_default()
        .contains("law enforcement"));
    let (s, d) = srv
        .post(
            &officer,
            &format!("{base}/decision"),
            json!({ "outcome": "deny", "exemptions": ["e", "(f)"], "notes": "open investigation" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["request"]["status"], "denied");
    assert_eq!(
        d["request"]["exemptions"],
        json!(["POL §87(2)(e)", "POL §87(2)(f)"])
    );
    assert_eq!(
        d["request"]["appeal_by"],
        (today() + Duration::days(30)).to_string()
    );
    // An appeal is logged and must be decided within ten business days.
    let (s, d) = srv
        .post(
            &officer,
            &format!("{base}/appeals"),
            json!({ "grounds": "the investigation is closed" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["request"]["status"], "appealed");
    assert_eq!(
        d["appeals"][0]["decide_by"],
        probity_domain::foil::appeal_decide_by(today()).to_string()
    );
    assert_eq!(d["request"]["clock"]["next"], "decide_appeal");
    // The officer may not decide appeals; the appeals officer (records manager) may, never the
    // person who denied.
    let (s, _) = srv
        .post(
            &officer,
            &format!("{base}/appeals/decision"),
            json!({ "outcome": "upheld", "reason": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let manager = records_person(&srv, "rec.appeals", "records_manager").await;
    let (s, e) = srv
        .post(
            &manager,
            &format!("{base}/appeals/decision"),
            json!({ "outcome": "upheld" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, d) = srv
        .post(
            &manager,
            &format!("{base}/appeals/decision"),
            json!({ "outcome": "upheld", "reason": "the investigation remains open" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["request"]["status"], "appeal_decided");
    assert_eq!(d["appeals"][0]["outcome"], "upheld");
    let (_, c) = srv.get(&officer, "/api/foil/counts").await;
    assert_eq!(c["denied"], 1, "{c}");
    assert_eq!(c["appealed"], 1, "{c}");
    assert_eq!(c["overdue"], 0, "{c}");
    // The request's page renders in every state the denial went through, for both roles.
    for c in [&officer, &manager] {
        let r = c
            .get(format!("{}/foil/requests/{id}", srv.url))
            .header("accept", "text/html")
            .send()
            .await
            .expect("page");
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.expect("html");
        assert!(html.contains("POL §87(2)(e)"), "{html}");
        assert!(html.contains("the investigation remains open"));
    }
    let trail = srv.audit_of("foil_request", &id).await;
    assert!(trail.iter().any(|e| e.action == "foil.deny"));
    assert!(trail.iter().any(|e| e.action == "foil.appeal.log"));
    assert!(trail.iter().any(|e| e.action == "foil.appeal.decide"));
}
both!(
    pub_01_denial_cites_exemption_and_opens_appeal,
    super::pub_01_denial_cites_exemption_and_opens_appeal_body
);

/// The public web form: no account, a pre-session CSRF token; a post without it is refused and
/// nothing is logged; with it, a receipt page.
async fn pub_01_public_form_without_account_body(backend: Backend) {
    let srv = common::start(backend).await;
    let browser = common::client();
    let r = browser
        .get(format!("{}/foil/request", srv.url))
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    let token = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form carries a CSRF token")
        .to_string();
    let fields = [
        ("requester", "Form Resident"),
        ("contact", "form@example.org"),
        ("description", "Photographs of the parade"),
    ];
    // Without the token (or from another site): refused, nothing logged.
    let r = common::client()
        .post(format!("{}/foil/request", srv.url))
        .form(&fields)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut with_token = fields.to_vec();
    with_token.push(("csrf", token.as_str()));
    let r = browser
        .post(format!("{}/foil/request", srv.url))
        .form(&with_token)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.expect("html");
    assert!(page.contains("id=\"receipt-number\">FOIL-"), "{page}");
    let officer = srv.login(OFFICER).await;
    let (_, q) = srv.get(&officer, "/api/foil/requests").await;
    assert_eq!(q["counts"]["received"], 1, "{q}");
    assert_eq!(q["requests"][0]["requester"], "Form Resident");
    // The queue page shows it to the records officer.
    let r = officer
        .get(format!("{}/foil", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("queue");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.expect("html").contains("Form Resident"));
}
both!(
    pub_01_public_form_without_account,
    super::pub_01_public_form_without_account_body
);
