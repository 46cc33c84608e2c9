//! OVR-04: a new use of a technology (a thermal deployment basis or a purpose of camera images
//! the policy does not list) is refused naming OVR-04 until an addendum recording it is in force:
//! recorded by the Agency Privacy Officer, approved by the policy owner. Then the use proceeds,
//! the forms offer it, and the record names the addendum. Runs over HTTP on SQLite and PostgreSQL.
//! (The FR-19 path, a use of facial recognition not foreseen, is proved in `fr.rs`.)

mod common;

use std::path::{Path, PathBuf};

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn rule_of(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

/// Records an addendum as the privacy officer and has the policy owner approve it; returns the
/// revision's id. Before the approval the use is still refused (checked by `still_refused`).
async fn addendum_in_force<F, Fut>(
    srv: &TestServer,
    pack: &str,
    covers: &str,
    text: &str,
    still_refused: F,
) -> String
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let apo = srv.login("apo.singh").await;
    let addendum = json!({"pack": pack, "covers": covers, "text": text, "reason": "a new use"});
    // Recorded in the pack of the technology only.
    let other = if pack == "digital-cameras" {
        "thermographic-cameras"
    } else {
        "digital-cameras"
    };
    let (s, b) = srv
        .post(
            &apo,
            "/api/policy/addenda",
            json!({"pack": other, "covers": covers, "text": text, "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(rule_of(&b), "OVR-04", "{b}");
    let (s, b) = srv.post(&apo, "/api/policy/addenda", addendum).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["kind"], "addendum", "{b}");
    assert_eq!(b["status"], "proposed", "{b}");
    let id = b["id"].as_str().expect("revision id").to_string();
    // Recorded but not approved: still refused.
    still_refused().await;
    let owner = srv.login("po.okafor").await;
    let (s, b) = srv
        .post(
            &owner,
            &format!("/api/policy/revisions/{id}/approve"),
            json!({"reason": "the use is lawful and necessary"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "in_force", "{b}");
    id
}

fn deployment(basis: &str) -> Value {
    json!({
        "source": "drone-7",
        "source_kind": "handheld",
        "basis": basis,
        "risks_to_personnel": "searchers on a steep slope at night",
        "risks_to_civilians": "none: the park is closed",
        "risks_to_suspects": "none: a missing hiker is sought",
        "legitimate_purpose": "find a missing hiker before the temperature drops",
        "duration_minutes": 120,
    })
}

/// OVR-04: a thermal deployment on a basis TH-05 does not list is refused until an addendum
/// recording that basis is in force; then it is authorized and the form offers the basis.
async fn ovr_04_new_thermal_basis_refused_until_addendum_body(backend: Backend) {
    let srv = common::start(backend).await;
    let sup = srv.login("lt.moreau").await;
    let refused = || async {
        let (s, b) = srv
            .post(
                &sup,
                "/api/thermal/authorizations",
                deployment("search_and_rescue"),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(rule_of(&b), "OVR-04", "{b}");
        assert!(
            b["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("search_and_rescue"),
            "{b}"
        );
    };
    refused().await;
    // Not a code at all: a clear error about the field.
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            deployment("Search & Rescue!"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "basis", "{b}");
    // A listed basis needs no addendum.
    let apo = srv.login("apo.singh").await;
    let (s, b) = srv
        .post(
            &apo,
            "/api/policy/addenda",
            json!({"pack": "thermographic-cameras", "covers": "thermal_basis:public_observation",
                   "text": "x", "reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let revision = addendum_in_force(
        &srv,
        "thermographic-cameras",
        "thermal_basis:search_and_rescue",
        "Thermographic cameras may be deployed to search for a missing person in open country.",
        refused,
    )
    .await;
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            deployment("search_and_rescue"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["basis"], "search_and_rescue", "{b}");
    // The supervisor's form now offers the new basis beside the listed ones.
    let page = sup
        .get(format!("{}/thermal", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("thermal page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("<option value=\"search_and_rescue\""),
        "the form offers the basis the addendum added"
    );
    // The pack's history carries the addendum's text.
    let (_, pack) = srv
        .get(&sup, "/api/policy/packs/thermographic-cameras")
        .await;
    assert_eq!(pack["revision"], revision.as_str(), "{pack}");
    assert!(pack["published_history"]
        .as_array()
        .is_some_and(|h| h.iter().any(|r| r["kind"] == "addendum"
            && r["description"]
                .as_str()
                .unwrap_or_default()
                .contains("missing person in open country"))));
}
both!(
    ovr_04_new_thermal_basis_refused_until_addendum,
    super::ovr_04_new_thermal_basis_refused_until_addendum_body
);

fn camera_file() -> Vec<u8> {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join("camera").join("apple_iphone4.jpg");
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "read {}: {e}; set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        )
    })
}

async fn upload(srv: &TestServer, c: &reqwest::Client, purpose: &str) -> (StatusCode, Value) {
    let boundary = "probity-addenda-boundary";
    let mut body = Vec::new();
    for (k, v) in [
        ("purpose", purpose),
        ("basis_kind", "no_reasonable_expectation_of_privacy"),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"iphone4.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&camera_file());
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = c
        .post(format!("{}/api/cases/2026-019-000101/evidence", srv.url))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// OVR-04: camera images taken for a purpose DC-01 does not list are refused, and nothing is
/// stored, until an addendum recording the purpose is in force; then the intake is recorded with
/// the purpose and the addendum that allowed it.
async fn ovr_04_new_camera_purpose_refused_until_addendum_body(backend: Backend) {
    let srv = common::start(backend).await;
    let det = srv.login("det.rivera").await;
    let count = || async {
        let (s, items) = srv.get(&det, "/api/cases/2026-019-000101/evidence").await;
        assert_eq!(s, StatusCode::OK, "{items}");
        items["items"].as_array().expect("items").len()
    };
    let before = count().await;
    let refused = || async {
        let (s, b) = upload(&srv, &det, "drone_mapping").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
        assert_eq!(rule_of(&b), "OVR-04", "{b}");
        assert_eq!(count().await, before, "nothing is stored");
    };
    refused().await;
    addendum_in_force(
        &srv,
        "digital-cameras",
        "camera_purpose:drone_mapping",
        "Images from a drone camera may be taken to map the scene of a major collision.",
        refused,
    )
    .await;
    let (s, b) = upload(&srv, &det, "drone_mapping").await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (_, items) = srv.get(&det, "/api/cases/2026-019-000101/evidence").await;
    let items = items["items"].as_array().expect("items");
    assert_eq!(items.len(), before + 1);
    let text = serde_json::to_string(items).unwrap_or_default();
    assert!(
        text.contains("drone_mapping") || text.contains("Drone mapping"),
        "{text}"
    );
    assert!(
        text.contains("addendum"),
        "the item names its addendum: {text}"
    );
}
both!(
    ovr_04_new_camera_purpose_refused_until_addendum,
    super::ovr_04_new_camera_purpose_refused_until_addendum_body
);
