//! Disclosures outside the Department (EXT-01..EXT-04) against the running server: a
//! disclosure proposed by the case's investigator with its recipient, purpose, basis and
//! identity confirmation; refused for civil immigration enforcement whatever its basis (EXT-02)
//! and without identity confirmation (EXT-04); never released before the Agency Privacy
//! Officer approves it, never approved by its proposer (EXT-03); released as a signed package
//! that `discovery::verify` accepts with the server's published key. SQLite and PostgreSQL.

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";

async fn upload(srv: &TestServer, c: &reqwest::Client, file: &str) -> String {
    let form = reqwest::multipart::Form::new()
        .text("purpose", "crime_scene")
        .text("basis_kind", "no_reasonable_expectation_of_privacy")
        .part(
            "file",
            reqwest::multipart::Part::bytes(common::camera_sample(file))
                .file_name(file.to_string()),
        );
    let r = c
        .post(format!("{}/api/cases/{CASE}/evidence", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let s = r.status();
    let b: Value = r.json().await.unwrap_or(Value::Null);
    assert!(s.is_success(), "upload {file}: {s} {b}");
    b["files"][0]["item_id"]
        .as_str()
        .expect("item id")
        .to_string()
}

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

fn proposal(item: &str) -> Value {
    json!({
        "recipient_kind": "law_enforcement_agency",
        "recipient_name": "Det. Dana Smith",
        "recipient_affiliation": "Nassau County Police Department",
        "purpose": "criminal_investigation",
        "basis": "criminal_investigation",
        "basis_reference": "NCPD 2026-0044 (burglary pattern)",
        "identity_confirmation": "called back on the NCPD main switchboard; shield verified",
        "items": [item],
    })
}

/// EXT-02: a disclosure for civil immigration enforcement is refused whatever its basis, naming
/// EXT-02, and the refusal is audited; a purpose is required.
async fn ext_02_immigration_enforcement_refused_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let item = upload(&srv, &rivera, "apple_iphone4.jpg").await;
    let mut body = proposal(&item);
    body["purpose"] = json!("immigration_enforcement");
    body["recipient_kind"] = json!("other_government_agency");
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "EXT-02", "{e}");
    let mut body = proposal(&item);
    body["purpose"] = json!("");
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let denied = srv
        .audit_of("case", CASE)
        .await
        .into_iter()
        .any(|e| e.action == "disclosure.create" && e.outcome == "denied");
    assert!(denied, "the EXT-02 refusal is audited");
    let (_, list) = srv.get(&rivera, "/api/disclosures").await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}
both!(
    ext_02_immigration_enforcement_refused,
    super::ext_02_immigration_enforcement_refused_body
);

/// EXT-04 and EXT-01: no identity confirmation, no disclosure; a purpose that does not fit the
/// recipient is refused; only evidence of the case may be disclosed.
async fn ext_04_identity_confirmation_required_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let item = upload(&srv, &rivera, "apple_iphone4.jpg").await;
    let mut body = proposal(&item);
    body["identity_confirmation"] = json!("  ");
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "EXT-04", "{e}");
    let mut body = proposal(&item);
    body["recipient_kind"] = json!("news_media");
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "EXT-01", "{e}");
    let mut body = proposal(&item);
    body["basis_reference"] = json!("");
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "EXT-03", "{e}");
    let mut body = proposal(&item);
    body["items"] = json!([uuid::Uuid::now_v7().to_string()]);
    let (s, e) = srv
        .post(&rivera, &format!("/api/cases/{CASE}/disclosures"), body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    // Someone with no part in the case cannot propose one.
    let okafor = srv.login("det.okafor").await;
    let (s, e) = srv
        .post(
            &okafor,
            &format!("/api/cases/{CASE}/disclosures"),
            proposal(&item),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
}
both!(
    ext_04_identity_confirmation_required,
    super::ext_04_identity_confirmation_required_body
);

/// EXT-01 and EXT-03: nothing leaves before the Agency Privacy Officer approves; the proposer
/// does not approve; once released, the package carries a signed manifest naming the basis
/// with its wording and the approval, and verifies against the server's published key.
async fn ext_03_approved_by_privacy_officer_then_released_signed_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let item = upload(&srv, &rivera, "apple_iphone4.jpg").await;
    let (s, d) = srv
        .post(
            &rivera,
            &format!("/api/cases/{CASE}/disclosures"),
            proposal(&item),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["status"], "proposed");
    assert_eq!(d["basis_number"], 6, "{d}");
    assert!(d["basis_wording"]
        .as_str()
        .is_some_and(|w| w.contains("investigation of a crime")));
    let id = d["id"].as_str().expect("id").to_string();

    // Nothing leaves before approval.
    let lopez = srv.login("rec.lopez").await;
    let (s, e) = srv
        .post(&lopez, &format!("/api/disclosures/{id}/release"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(rule(&e), "EXT-01", "{e}");
    let r = lopez
        .get(format!("{}/api/disclosures/{id}/package", srv.url))
        .send()
        .await
        .expect("package");
    assert_eq!(r.status(), StatusCode::CONFLICT);
    // The proposer does not approve.
    let (s, e) = srv
        .post(
            &rivera,
            &format!("/api/disclosures/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");

    let singh = srv.login("apo.singh").await;
    let (s, a) = srv
        .post(
            &singh,
            &format!("/api/disclosures/{id}/approve"),
            json!({ "note": "basis (6) confirmed with NCPD" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "approved");
    assert_eq!(a["decided_by"], "apo.singh");
    let (s, e) = srv
        .post(&singh, &format!("/api/disclosures/{id}/approve"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "approved twice: {e}");

    let (s, r) = srv
        .post(&lopez, &format!("/api/disclosures/{id}/release"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["status"], "released");
    let sha = r["manifest_sha256"].as_str().expect("manifest hash");
    let resp = lopez
        .get(format!("{}/api/disclosures/{id}/package", srv.url))
        .send()
        .await
        .expect("package");
    assert_eq!(resp.status(), StatusCode::OK);
    let tar = resp.bytes().await.expect("bytes");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("disclosure.tar");
    std::fs::write(&path, &tar).expect("write");
    let key = probity_server::evidence::discovery::parse_public_key(
        &srv.state.store.server_keys().public_key_base64(),
    )
    .expect("key");
    let v = probity_server::evidence::discovery::verify(&path, &key).expect("verify");
    assert!(v.is_valid(), "{v:?}");
    assert_eq!(v.items_checked, 1);
    // The signed manifest says what left, to whom, on which basis, approved by whom.
    let mut archive = tar::Archive::new(std::io::Cursor::new(tar.to_vec()));
    let mut manifest = String::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        if entry.path().expect("path").to_string_lossy() == "manifest.json" {
            std::io::Read::read_to_string(&mut entry, &mut manifest).expect("read");
        }
    }
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(manifest.as_bytes())), sha);
    let m: Value = serde_json::from_str(&manifest).expect("manifest");
    assert_eq!(m["disclosure"]["basis"], "criminal_investigation", "{m}");
    assert_eq!(m["disclosure"]["approved_by"], "apo.singh");
    assert_eq!(m["disclosure"]["proposed_by"], "det.rivera");
    assert!(m["disclosure"]["identity_confirmation"]
        .as_str()
        .is_some_and(|s| s.contains("switchboard")));

    let actions: Vec<String> = srv
        .audit_of("disclosure", &id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "disclosure.propose",
        "disclosure.approve",
        "disclosure.release",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    let exported = srv
        .audit_of("evidence", &item)
        .await
        .into_iter()
        .any(|e| e.action == "evidence.export");
    assert!(exported, "the item's export is in its custody");
}
both!(
    ext_03_approved_by_privacy_officer_then_released_signed,
    super::ext_03_approved_by_privacy_officer_then_released_signed_body
);

/// EXT-03 in the web UI: the investigator proposes from the disclosures page; the privacy
/// officer sees Approve and Reject; a rejection needs a reason and is shown.
async fn ext_03_disclosures_page_propose_and_reject_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let item = upload(&srv, &rivera, "apple_iphone4.jpg").await;
    let html = rivera
        .get(format!("{}/disclosures?case={CASE}", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    let csrf = common::csrf_of(&html);
    let r = rivera
        .post(format!("{}/disclosures", srv.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("case_number", CASE),
            ("recipient_kind", "prosecutor"),
            ("recipient_name", "ADA Lee"),
            ("recipient_affiliation", "Kings County District Attorney"),
            ("purpose", "criminal_discovery"),
            ("identifying_information", "yes"),
            ("basis", "criminal_investigation"),
            ("basis_reference", "Ind. 1234/2026"),
            (
                "identity_confirmation",
                "known to the squad; DA office e-mail",
            ),
            ("items", item.as_str()),
        ])
        .send()
        .await
        .expect("propose");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let singh = srv.login("apo.singh").await;
    let html = singh
        .get(format!("{}/disclosures", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        html.contains("ADA Lee") && html.contains("Approve"),
        "{html}"
    );
    let id = html
        .split("data-disclosure=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a disclosure row")
        .to_string();
    let csrf = common::csrf_of(&html);
    let r = singh
        .post(format!("{}/disclosures/{id}/reject", srv.url))
        .form(&[("csrf", csrf.as_str()), ("note", "")])
        .send()
        .await
        .expect("reject");
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = singh
        .post(format!("{}/disclosures/{id}/reject", srv.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("note", "use the discovery export"),
        ])
        .send()
        .await
        .expect("reject");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, d) = srv.get(&rivera, &format!("/api/disclosures/{id}")).await;
    assert_eq!(d["status"], "rejected", "{d}");
    assert_eq!(d["decision_note"], "use the discovery export");
}
both!(
    ext_03_disclosures_page_propose_and_reject,
    super::ext_03_disclosures_page_propose_and_reject_body
);

/// EXT-02 and FR-20 on the second path: an outside agency's FR request states its purpose, and
/// one for civil immigration enforcement is refused whatever else it says, naming EXT-02.
async fn ext_02_immigration_refused_on_outside_agency_fr_request_body(b: Backend) {
    let srv = common::start(b).await;
    let chen = srv.login("fri.chen").await;
    let request = json!({
        "agency": "Demo County Sheriff", "contact": "Det. Demo Ray, 555-0100",
        "investigation_reference": "DCS-2026-500", "active_criminal_investigation": true,
    });
    let mut body = request.clone();
    body["purpose"] = json!("immigration_enforcement");
    let (s, e) = srv.post(&chen, "/api/fr/external-requests", body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "EXT-02", "{e}");
    let (s, e) = srv
        .post(&chen, "/api/fr/external-requests", request.clone())
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e.to_string().contains("purpose"), "{e}");
    let mut body = request;
    body["purpose"] = json!("criminal_investigation");
    let (s, e) = srv.post(&chen, "/api/fr/external-requests", body).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (_, list) = srv.get(&chen, "/api/fr/external-requests").await;
    let rows = list.as_array().cloned().unwrap_or_default();
    assert_eq!(
        rows.len(),
        1,
        "the refused request was not recorded: {list}"
    );
    assert_eq!(rows[0]["purpose"], "criminal_investigation");
}
both!(
    ext_02_immigration_refused_on_outside_agency_fr_request,
    super::ext_02_immigration_refused_on_outside_agency_fr_request_body
);

/// EXT-07: an outside agency's liaison has access only under an agreement in force with its
/// terms recorded (never for immigration enforcement), and sees and documents only its own
/// agency's requests; EXT-06: a vendor contract names the technologies it covers.
async fn ext_07_agreement_terms_gate_liaison_access_body(b: Backend) {
    let srv = common::start(b).await;
    let admin = srv.login("admin").await;
    let today = chrono::Utc::now().date_naive();
    let next_year = (today + chrono::Days::new(365)).to_string();
    let password = "Liaison-Passphrase-2026!";
    let (s, u) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": "liaison.ncpd", "display_name": "NCPD liaison", "rank": "non_member",
                    "command": "HQ", "kind": "external_agency", "password": password }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let (s, a) = srv
        .post(
            &admin,
            "/api/users/liaison.ncpd/assignments",
            json!({ "role": "external_agency_liaison", "command": "HQ", "starts": today.to_string() }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    // An agreement without its terms, or for immigration enforcement, is refused.
    let contract = |agreement: Value| {
        json!({ "contract_ref": "MOU-NCPD-2026", "starts": today.to_string(), "ends": next_year,
                "agreement": agreement })
    };
    let (s, e) = srv
        .post(
            &admin,
            "/api/users/liaison.ncpd/contracts",
            json!({ "contract_ref": "MOU-NCPD-2026", "starts": today.to_string(), "ends": next_year }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "EXT-07", "{e}");
    let terms = json!({
        "agency": "Nassau County Police Department", "systems": ["facial recognition requests"],
        "maintains_security_and_confidentiality": true, "no_onward_disclosure_without_approval": true,
        "notifies_of_subpoenas_and_legal_process": false, "purpose": "criminal_investigation",
    });
    let (s, e) = srv
        .post(
            &admin,
            "/api/users/liaison.ncpd/contracts",
            contract(terms.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e.to_string().contains("subpoena"), "{e}");
    let mut immigration = terms.clone();
    immigration["notifies_of_subpoenas_and_legal_process"] = json!(true);
    immigration["purpose"] = json!("immigration_enforcement");
    let (s, e) = srv
        .post(
            &admin,
            "/api/users/liaison.ncpd/contracts",
            contract(immigration),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "EXT-02", "{e}");

    // No agreement in force: the liaison reaches nothing.
    let liaison = common::client();
    let r = liaison
        .post(format!("{}/api/session", srv.url))
        .json(&json!({ "username": "liaison.ncpd", "password": password }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, e) = srv.get(&liaison, "/api/fr/external-requests").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");

    let mut complete = terms;
    complete["notifies_of_subpoenas_and_legal_process"] = json!(true);
    let (s, c) = srv
        .post(
            &admin,
            "/api/users/liaison.ncpd/contracts",
            contract(complete),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(
        c["agreement"]["agency"], "Nassau County Police Department",
        "{c}"
    );

    // Another agency's request, documented by FR staff, is not the liaison's to see.
    let chen = srv.login("fri.chen").await;
    let (s, e) = srv
        .post(
            &chen,
            "/api/fr/external-requests",
            json!({ "agency": "Demo County Sheriff", "contact": "Det. Demo Ray",
                    "investigation_reference": "DCS-2026-9", "active_criminal_investigation": true,
                    "purpose": "criminal_investigation" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (s, list) = srv.get(&liaison, "/api/fr/external-requests").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
    let request = |agency: &str| {
        json!({ "agency": agency, "contact": "Det. Lou Grant, 516-555-0100",
                "investigation_reference": "NCPD-2026-77", "active_criminal_investigation": true,
                "purpose": "criminal_investigation" })
    };
    let (s, e) = srv
        .post(
            &liaison,
            "/api/fr/external-requests",
            request("Demo County Sheriff"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "EXT-07", "{e}");
    let (s, e) = srv
        .post(
            &liaison,
            "/api/fr/external-requests",
            request("Nassau County Police Department"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    let (_, list) = srv.get(&liaison, "/api/fr/external-requests").await;
    let rows = list.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["agency"], "Nassau County Police Department");
    // The Department's FR staff still see both.
    let (_, all) = srv.get(&chen, "/api/fr/external-requests").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");

    // EXT-06: a vendor contract names its technologies.
    let (s, e) = srv
        .post(
            &admin,
            "/api/users/vendor.kim/contracts",
            json!({ "contract_ref": "PO-2027-1", "starts": today.to_string(), "ends": next_year }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "EXT-06", "{e}");
    let (s, c) = srv
        .post(
            &admin,
            "/api/users/vendor.kim/contracts",
            json!({ "contract_ref": "PO-2027-1", "starts": today.to_string(), "ends": next_year,
                    "technologies": ["digital_cameras"] }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["technologies"], json!(["digital_cameras"]));
}
both!(
    ext_07_agreement_terms_gate_liaison_access,
    super::ext_07_agreement_terms_gate_liaison_access_body
);

/// EXT-06 in the web UI: the vendor's page lists its contracts with what each covers and records
/// a new one from the form; a contract with no technology ticked is refused naming EXT-06.
async fn ext_06_contract_form_on_the_persons_page_body(b: Backend) {
    let srv = common::start(b).await;
    let admin = srv.login("admin").await;
    let html = admin
        .get(format!("{}/admin/users/vendor.kim", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("DEMO-CONTRACT-001"), "{html}");
    assert!(html.contains("thermographic cameras"), "{html}");
    let csrf = common::csrf_of(&html);
    let today = chrono::Utc::now().date_naive();
    let ends = (today + chrono::Days::new(180)).to_string();
    let today = today.to_string();
    let post = |fields: Vec<(&'static str, String)>| {
        let c = admin.clone();
        let url = format!("{}/admin/users/vendor.kim/contracts", srv.url);
        async move { c.post(url).form(&fields).send().await.expect("post") }
    };
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("contract_ref", "PO-2027-7".into()),
        ("starts", today.clone()),
        ("ends", ends.clone()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap_or_default().contains("EXT-06"));
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("contract_ref", "PO-2027-7".into()),
        ("starts", today),
        ("ends", ends),
        ("tech_digital_cameras", "yes".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, d) = srv.get(&admin, "/api/users/vendor.kim").await;
    let c = d["contracts"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["contract_ref"] == "PO-2027-7"))
        .cloned()
        .expect("recorded");
    assert_eq!(c["technologies"], json!(["digital_cameras"]), "{c}");
}
both!(
    ext_06_contract_form_on_the_persons_page,
    super::ext_06_contract_form_on_the_persons_page_body
);
