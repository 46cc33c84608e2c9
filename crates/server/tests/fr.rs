//! Facial recognition casework through the API: a real LFW probe from request to possible match
//! report, and each rule attacked (wrong role, same person twice, skipped step, missing field,
//! replayed approval, a probe submitted to the repository, a sealed candidate, a requester fetching
//! the candidate pool). Every refusal names its rule.

mod common;
mod pdftext;

use common::lfw::{enrol_gallery, enrol_numbered, identities, lfw_file};
use common::{Backend, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";

async fn multipart(
    srv: &TestServer,
    c: &reqwest::Client,
    path: &str,
    form: Form,
) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}{path}", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// det.rivera submits a request with one still (image 1 of `name`).
async fn submit(srv: &TestServer, name: &str) -> String {
    let rivera = srv.login("det.rivera").await;
    let form = Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            Part::bytes(lfw_file(name, 1)).file_name("still.jpg"),
        )
        .text("source_0", "cctv");
    let (s, body) = multipart(
        srv,
        &rivera,
        &format!("/api/cases/{CASE}/fr-requests"),
        form,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["state"], "submitted");
    body["id"].as_str().expect("id").to_string()
}

fn rule_of(body: &Value) -> String {
    body["rule"].as_str().unwrap_or_default().to_string()
}

/// Drives a request to `searched` and returns (id, candidate pool).
async fn to_search(srv: &TestServer, name: &str) -> (String, Value) {
    let id = ready_to_search(srv, name).await;
    let chen = srv.login("fri.chen").await;
    let base = format!("/api/fr/requests/{id}");
    let (s, b) = srv.post(&chen, &format!("{base}/search"), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "searched");
    let (s, pool) = srv.get(&chen, &format!("{base}/candidates")).await;
    assert_eq!(s, StatusCode::OK, "{pool}");
    (id, pool)
}

/// Drives a request through every step before the search (basis, quality, an edit, the
/// supervisor's discussion) and returns its id.
async fn ready_to_search(srv: &TestServer, name: &str) -> String {
    let id = submit(srv, name).await;
    let chen = srv.login("fri.chen").await;
    let haddad = srv.login("sgt.haddad").await;
    let base = format!("/api/fr/requests/{id}");
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": true, "reasons": ["one frontal face, sharp, even light"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        b["measured"]["faces_found"].as_u64().unwrap_or(0) >= 1,
        "{b}"
    );
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/edits"),
            json!({"op": "brightness", "gain": 1.1, "delta": 4.0}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv
        .post(
            &haddad,
            &format!("{base}/discussion"),
            json!({"note": "suspect in a robbery on CCTV; use (1) discussed"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    id
}

fn all_features(finding: &str) -> Value {
    let mut m = serde_json::Map::new();
    for f in [
        "eyes",
        "ears",
        "nose",
        "mouth",
        "chin",
        "lips",
        "eyebrows",
        "hair_hairline",
        "scars",
        "marks",
        "tattoos",
    ] {
        m.insert(f.into(), json!({"finding": finding, "notes": ""}));
    }
    Value::Object(m)
}

/// FR-04..FR-15: a real LFW probe through every step to the possible match report.
async fn fr_14_end_to_end_possible_match_report_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 12).await;
    let target = &ids[3];
    let (id, pool) = to_search(&srv, target).await;
    let base = format!("/api/fr/requests/{id}");
    let cands = pool["candidates"].as_array().expect("candidates");
    assert_eq!(
        cands.len(),
        12,
        "the pool holds every enrolled record (fewer than 50)"
    );
    assert_eq!(cands[0]["rank"], 1);
    assert_eq!(
        cands[0]["subject_id"], "S-0004",
        "the probe's identity ranks first: {pool}"
    );
    assert!(cands[0]["score"].as_f64().unwrap_or(0.0) > cands[1]["score"].as_f64().unwrap_or(1.0));
    assert!(pool["algorithm"]
        .as_str()
        .unwrap_or("")
        .starts_with("dlib-resnet-v1@"));
    let top = cands[0]["candidate"]
        .as_str()
        .expect("candidate")
        .to_string();

    // FR-15: the requester never sees the pool.
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, &format!("{base}/candidates")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-15.pool-never-shown-to-requester", "{b}");
    let (s, b) = srv.get(&rivera, &base).await;
    assert_eq!(s, StatusCode::OK);
    assert!(b.get("request").is_none(), "requester's view only: {b}");

    let chen = srv.login("fri.chen").await;
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/identification"),
            json!({"comparisons": [
                {"candidate": top, "features": all_features("similar"), "judgement": "proposed"},
                {"candidate": cands[1]["candidate"], "features": all_features("different"), "judgement": "excluded"}
            ]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "identification");

    // FR-10: only the proposed candidate, unapproved, without scores.
    let (s, b) = srv.get(&rivera, &format!("{base}/proposed")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["candidate"], top.as_str());
    assert_eq!(b["approved"], false);
    assert!(b.get("score").is_none());
    let r = rivera
        .get(format!("{}{base}/candidates/{top}/photo", srv.url))
        .send()
        .await
        .expect("photo");
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the requester sees the proposed candidate's photo"
    );
    let other = cands[1]["candidate"].as_str().unwrap_or_default();
    let r = rivera
        .get(format!("{}{base}/candidates/{other}/photo", srv.url))
        .send()
        .await
        .expect("photo");
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "but no other candidate");

    let (s, b) = srv
        .post(
            &rivera,
            &format!("{base}/background-check"),
            json!({"result": "known address near the scene", "corroborates": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    // FR-11: the identifier cannot peer review; another FR investigator does.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/peer-review"),
            json!({"concur": true, "notes": "mine"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-11");
    let novak = srv.login("fri.novak").await;
    let (s, b) = srv
        .post(
            &novak,
            &format!("{base}/peer-review"),
            json!({"concur": true, "notes": "features agree"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let haddad = srv.login("sgt.haddad").await;
    let (s, b) = srv
        .post(
            &haddad,
            &format!("{base}/supervisor-review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "approved_possible_match");

    // Replayed approval: refused, naming the rule.
    let (s, b) = srv
        .post(
            &haddad,
            &format!("{base}/supervisor-review"),
            json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-12");

    // FR-14: the report, on screen and as PDF, with the notice.
    let (s, b) = srv.get(&rivera, &format!("{base}/report")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["kind"], "possible_match");
    let rep = &b["report"];
    assert!(rep["notice"]
        .as_str()
        .unwrap_or("")
        .contains("probable cause"));
    assert_eq!(rep["candidate"]["candidate"], top.as_str());
    assert_eq!(rep["edits"].as_array().map(Vec::len), Some(1));
    assert_eq!(rep["peer_reviews"].as_array().map(Vec::len), Some(1));
    let pdf = rivera
        .get(format!("{}{base}/report.pdf", srv.url))
        .send()
        .await
        .expect("pdf")
        .bytes()
        .await
        .expect("bytes");
    // Read back by pdftotext (the PDF's streams are compressed): the notice and the figures.
    pdftext::assert_says(
        "FR-14 possible match report PDF",
        &pdf,
        &[
            "POSSIBLE MATCH REPORT - facial recognition (lead only)",
            "does not constitute probable cause",
            CASE,
            top.as_str(),
            "Probe",
            "Candidate",
            "page 1 of",
        ],
    );

    // FR-15: no arrest basis without corroborating evidence by the assigned investigator.
    let entry = format!("/api/cases/{CASE}/fr-entries");
    let (s, b) = srv
        .post(
            &rivera,
            &entry,
            json!({"kind": "arrest_basis", "text": "FR possible match", "fr_request": id}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-15");
    let (s, b) = srv
        .post(&rivera, &entry, json!({"kind": "corroborating_evidence", "text": "witness identified the suspect in a lineup"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = srv
        .post(
            &rivera,
            &entry,
            json!({"kind": "arrest_basis", "text": "lineup plus FR lead", "fr_request": id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // Every step, read and refusal is in the audit trail (SEC-04).
    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv
        .get(&iab, "/api/audit?record_type=fr_request&limit=500")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let text = b.to_string();
    assert!(text.contains(&id));
    for a in [
        "fr.request.create",
        "fr.basis.confirm",
        "fr.quality.assess",
        "fr.probe.edit",
        "fr.supervisor_discussion.acknowledge",
        "fr.search",
        "fr.candidates.read",
        "fr.identify",
        "fr.proposed_candidate.read",
        "fr.background_check.record",
        "fr.peer_review",
        "fr.supervisor_review",
        "fr.report.read",
        "fr.request.read",
    ] {
        assert!(text.contains(&format!("\"{a}\"")), "audit lacks {a}");
    }
    assert!(text.contains("denied"), "refusals are audited: {text}");
}
both!(
    fr_14_end_to_end_possible_match_report,
    super::fr_14_end_to_end_possible_match_report_body
);

/// FR-04, FR-16, FR-17: missing parts are listed; body-worn stills need the justification; no video.
async fn fr_04_request_refusals_name_the_rule_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = identities(1);
    let rivera = srv.login("det.rivera").await;
    let path = format!("/api/cases/{CASE}/fr-requests");
    let form = Form::new().part(
        "still_0",
        Part::bytes(lfw_file(&ids[0], 1)).file_name("a.jpg"),
    );
    let (s, b) = multipart(&srv, &rivera, &path, form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-04");
    let missing = b["missing"].to_string();
    assert!(
        missing.contains("authorized use") && missing.contains("source of still 0"),
        "{b}"
    );

    let form = Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            Part::bytes(lfw_file(&ids[0], 1)).file_name("a.jpg"),
        )
        .text("source_0", "body_worn_camera");
    let (s, b) = multipart(&srv, &rivera, &path, form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-16");

    let mut mp4 = vec![0, 0, 0, 0x18];
    mp4.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    mp4.extend_from_slice(&[0u8; 64]);
    let form = Form::new()
        .text("authorized_use", "suspect")
        .part("still_0", Part::bytes(mp4).file_name("clip.jpg"))
        .text("source_0", "cctv");
    let (s, b) = multipart(&srv, &rivera, &path, form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-17");

    // Wrong role: an investigator not assigned to the case.
    let okafor = srv.login("det.okafor").await;
    let form = Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            Part::bytes(lfw_file(&ids[0], 1)).file_name("a.jpg"),
        )
        .text("source_0", "cctv");
    let (s, b) = multipart(&srv, &okafor, &path, form).await;
    // The case is not his to read: answered as a case that does not exist (SEC-02).
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
}
both!(
    fr_04_request_refusals_name_the_rule,
    super::fr_04_request_refusals_name_the_rule_body
);

/// FR-21, FR-22, FR-06, FR-07: wrong role, skipped step, missing reasons, edits beyond the three.
async fn fr_22_steps_in_order_and_by_role_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = identities(1);
    let id = submit(&srv, &ids[0]).await;
    let base = format!("/api/fr/requests/{id}");
    let rivera = srv.login("det.rivera").await;
    let chen = srv.login("fri.chen").await;
    let novak = srv.login("fri.novak").await;

    // Wrong role: the requester cannot confirm the basis.
    let (s, b) = srv
        .post(&rivera, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(!rule_of(&b).is_empty());
    // Skipped step: quality before the basis is confirmed.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": true, "reasons": ["ok"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-06");
    let (s, _) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    // Replayed step.
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-05");
    // Another FR investigator cannot take over the request.
    let (s, b) = srv
        .post(
            &novak,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": true, "reasons": ["ok"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-06");
    // Missing field: a verdict without reasons.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": true, "reasons": []}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-06");
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": true, "reasons": ["frontal"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // FR-07: no other edit than brightness, crop, rotate.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/edits"),
            json!({"op": "sharpen", "amount": 2}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(rule_of(&b), "FR-07");
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/edits"),
            json!({"op": "crop", "x": 40, "y": 40, "width": 170, "height": 170}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["edit_steps"].as_array().map(Vec::len), Some(1));
    // FR-22: no search before the supervisor discussion.
    let (s, b) = srv.post(&chen, &format!("{base}/search"), json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-22");
    // The FR investigator cannot acknowledge as supervisor.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/discussion"),
            json!({"note": "self"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(!rule_of(&b).is_empty());
    // FR-18: an outside-repository search without the three officials.
    let haddad = srv.login("sgt.haddad").await;
    let (s, _) = srv
        .post(
            &haddad,
            &format!("{base}/discussion"),
            json!({"note": "use (1) discussed"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/search"),
            json!({"outside_repository": true}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-18");
}
both!(
    fr_22_steps_in_order_and_by_role,
    super::fr_22_steps_in_order_and_by_role_body
);

/// FR-01, FR-03: rows without the required fields are refused; a probe never enters the repository.
async fn fr_03_probe_never_enrolled_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = identities(1);
    let id = submit(&srv, &ids[0]).await;
    let rec = srv.login("rec.lopez").await;

    // The probe's bytes, offered as a repository photo: refused.
    let manifest =
        "file,subject_id,source,arrest_id,photo_date\nprobe.jpg,S-0099,arrest,A-0099,2021-01-01\n";
    let form = Form::new().text("manifest", manifest).part(
        "file",
        Part::bytes(lfw_file(&ids[0], 1)).file_name("probe.jpg"),
    );
    let (s, b) = multipart(&srv, &rec, "/api/fr/gallery/import", form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["imported"], 0);
    assert!(
        b["refused"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("FR-03"),
        "{b}"
    );
    assert_eq!(rule_of(&b), "FR-03");

    // Naming a stored blob (the probe's) instead of uploading a file: refused.
    let form = Form::new()
        .text("manifest", manifest)
        .text("blob_id", id.clone());
    let (s, b) = multipart(&srv, &rec, "/api/fr/gallery/import", form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-03");

    // FR-01: a row without arrest id or photo date is refused before any file is read.
    let manifest = "file,subject_id,source,arrest_id,photo_date\nx.jpg,S-0100,arrest,,\ny.jpg,S-0101,visa,A-1,2020-01-01\n";
    let form = Form::new()
        .text("manifest", manifest)
        .part("file", Part::bytes(lfw_file(&ids[0], 2)).file_name("x.jpg"));
    let (s, b) = multipart(&srv, &rec, "/api/fr/gallery/import", form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let refused = b["refused"].to_string();
    assert!(
        refused.contains("arrest_id")
            && refused.contains("photo_date")
            && refused.contains("source"),
        "{b}"
    );
    assert_eq!(rule_of(&b), "FR-01");

    // Nothing entered the repository.
    let chen = srv.login("fri.chen").await;
    let (s, b) = srv.get(&chen, "/api/fr/gallery").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["records"], 0, "{b}");
    // An investigator cannot import at all.
    let rivera = srv.login("det.rivera").await;
    let form = Form::new().text("manifest", "file,subject_id,source,arrest_id,photo_date\n");
    let (s, b) = multipart(&srv, &rivera, "/api/fr/gallery/import", form).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
}
both!(
    fr_03_probe_never_enrolled,
    super::fr_03_probe_never_enrolled_body
);

/// FR-02: sealing an arrest removes its record from every result at once; proposing it is refused;
/// unsealing brings it back and is audited.
async fn fr_02_sealed_candidate_never_shown_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 6).await;
    let (id, pool) = to_search(&srv, &ids[2]).await;
    let base = format!("/api/fr/requests/{id}");
    let top = pool["candidates"][0].clone();
    assert_eq!(top["subject_id"], "S-0003", "{pool}");
    let arrest = top["arrest_id"].as_str().expect("arrest").to_string();

    let rec = srv.login("rec.lopez").await;
    let (s, b) = srv
        .post(
            &rec,
            &format!("/api/fr/gallery/arrests/{arrest}/seal"),
            json!({"sealed": true, "reason": "court order"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let chen = srv.login("fri.chen").await;
    let (_, pool2) = srv.get(&chen, &format!("{base}/candidates")).await;
    assert!(
        !pool2["candidates"].to_string().contains(&arrest),
        "a sealed record never appears: {pool2}"
    );
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/identification"),
            json!({"comparisons": [{"candidate": top["candidate"], "features": all_features("similar"), "judgement": "proposed"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-02");
    let r = chen
        .get(format!(
            "{}{base}/candidates/{}/photo",
            srv.url,
            top["candidate"].as_str().unwrap_or("")
        ))
        .send()
        .await
        .expect("photo");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A new search never returns it either.
    let (id2, pool3) = to_search(&srv, &ids[2]).await;
    assert_ne!(id2, id);
    assert!(
        !pool3["candidates"].to_string().contains(&arrest),
        "{pool3}"
    );
    assert_eq!(pool3["candidates"].as_array().map(Vec::len), Some(5));

    let (s, _) = srv
        .post(
            &rec,
            &format!("/api/fr/gallery/arrests/{arrest}/seal"),
            json!({"sealed": false, "reason": "sealing vacated"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, pool4) = srv.get(&chen, &format!("{base}/candidates")).await;
    assert!(pool4["candidates"].to_string().contains(&arrest));
}
both!(
    fr_02_sealed_candidate_never_shown,
    super::fr_02_sealed_candidate_never_shown_body
);

/// The repository index change a node's index holds, and the database's last one.
async fn index_versions(node: &TestServer) -> (i64, i64) {
    let held = probity_server::fr::engine::loaded(&node.state)
        .map(|f| f.version.load(std::sync::atomic::Ordering::SeqCst))
        .unwrap_or(-1);
    let mut tx = node.state.store.begin_read().await.expect("read");
    let head = probity_store::gallery::index_version(&mut tx)
        .await
        .expect("version");
    tx.rollback().await.expect("rollback");
    (held, head)
}

fn arrest_of_top(pool: &Value) -> String {
    pool["candidates"][0]["arrest_id"]
        .as_str()
        .expect("arrest")
        .to_string()
}

/// FR-02 on many nodes: three nodes on one database, each with its own in-memory index. A sealing
/// on node A reaches B and C (C by notification alone, before it serves anything), and
/// searches on B and C at once never return the sealed record; a photograph enrolled on B is
/// found by a search on C; unsealing on A brings the record back on both. Run with jittered
/// timing between the steps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fr_02_sealing_and_enrolment_reach_every_node() {
    let a = common::start(Backend::Postgres).await;
    let ids = enrol_gallery(&a, 6).await;
    let b = a.another_node().await;
    let c = a.another_node().await;
    // Each node loads its index with a first search.
    let (_, pool_b) = to_search(&b, &ids[2]).await;
    let (_, pool_c) = to_search(&c, &ids[2]).await;
    let arrest = arrest_of_top(&pool_b);
    assert_eq!(arrest_of_top(&pool_c), arrest);
    let records: Vec<i64> = {
        let mut tx = a.state.store.begin_read().await.expect("read");
        let r = probity_store::gallery::by_arrest(&mut tx, &arrest)
            .await
            .expect("records");
        tx.rollback().await.expect("rollback");
        r.iter().map(|r| r.record_no).collect()
    };
    let rec = a.login("rec.lopez").await;
    for (round, sealed) in [(0u64, true), (1, false)] {
        let jitter = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() % 40)
            .unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(u64::from(jitter) + round)).await;
        let (s, body) = a
            .post(
                &rec,
                &format!("/api/fr/gallery/arrests/{arrest}/seal"),
                json!({"sealed": sealed, "reason": "court order"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        if sealed {
            // C hears of it with no request of its own (LISTEN/NOTIFY).
            let committed = std::time::Instant::now();
            let deadline = committed + std::time::Duration::from_secs(20);
            loop {
                let (held, head) = index_versions(&c).await;
                let hidden = probity_server::fr::engine::loaded(&c.state)
                    .and_then(|f| {
                        f.index.read().ok().map(|i| {
                            records
                                .iter()
                                .all(|r| i.is_sealed(probity_face::RecordId(*r as u64)))
                        })
                    })
                    .unwrap_or(false);
                if held == head && hidden {
                    // The notification lag, for the operations figures (never asserted).
                    eprintln!(
                        "node C applied the sealing {:?} after node A answered",
                        committed.elapsed()
                    );
                    break;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "node C never applied the sealing (index at {held}, database at {head})"
                );
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        // B and C search at the same moment.
        let ((_, on_b), (_, on_c)) = tokio::join!(to_search(&b, &ids[2]), to_search(&c, &ids[2]));
        for (node, pool) in [("B", &on_b), ("C", &on_c)] {
            assert_eq!(
                pool["candidates"].to_string().contains(&arrest),
                !sealed,
                "node {node}, sealed {sealed}: {pool}"
            );
        }
        for node in [&b, &c] {
            let (held, head) = index_versions(node).await;
            assert_eq!(
                held, head,
                "a node searched on an index behind the database"
            );
        }
    }
    // Enrolled on B, found on C.
    let more = identities(7);
    enrol_numbered(&b, &more[6..7], 100).await;
    let (_, pool) = to_search(&c, &more[6]).await;
    assert_eq!(pool["candidates"][0]["subject_id"], "S-0100", "{pool}");
}

/// FR-13, FR-20, oversight: no candidate identified gives the negative report; an outside agency's
/// request is logged; the oversight counts show both.
async fn fr_13_negative_report_and_oversight_counts_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 3).await;
    let (id, _) = to_search(&srv, &ids[0]).await;
    let base = format!("/api/fr/requests/{id}");
    let chen = srv.login("fri.chen").await;
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/identification"),
            json!({"comparisons": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "negative");
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, &format!("{base}/report")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["kind"], "negative");
    assert!(b["report"]["candidate"].is_null(), "{b}");
    // FR-13: the negative report as PDF says so, read back by pdftotext.
    let pdf = rivera
        .get(format!("{}{base}/report.pdf", srv.url))
        .send()
        .await
        .expect("pdf")
        .bytes()
        .await
        .expect("bytes");
    pdftext::assert_says(
        "FR-13 negative report PDF",
        &pdf,
        &[
            "NEGATIVE RESULT REPORT - facial recognition",
            CASE,
            "page 1 of",
        ],
    );
    // A negative request cannot be identified again.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/identification"),
            json!({"comparisons": []}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-09");

    // FR-20: documented with agency, contact and reference; missing parts listed.
    let (s, b) = srv
        .post(
            &chen,
            "/api/fr/external-requests",
            json!({"agency": "Demo County Sheriff"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-20");
    let (s, b) = srv
        .post(
            &chen,
            "/api/fr/external-requests",
            json!({"agency": "Demo County Sheriff", "contact": "Det. Demo Ray", "investigation_reference": "DCS-2026-118", "active_criminal_investigation": true, "purpose": "criminal_investigation"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = srv
        .post(
            &rivera,
            "/api/fr/external-requests",
            json!({"agency": "x", "contact": "y", "investigation_reference": "z"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");

    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv.get(&iab, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["requests"], 1);
    assert_eq!(
        b["by_authorized_use_and_outcome"]["suspect"]["negative"], 1,
        "{b}"
    );
    assert_eq!(b["external_agency_requests"], 1);
    assert!(
        b["time_in_state"]["submitted"]["transitions"].as_u64() == Some(1),
        "{b}"
    );
    let (s, _) = srv.get(&chen, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    fr_13_negative_report_and_oversight_counts,
    super::fr_13_negative_report_and_oversight_counts_body
);

/// FR-25: a request on a political-activity case is visible and workable only by the Intelligence
/// Division; FR staff outside it do not see it in the queue and cannot act on it.
async fn fr_25_political_activity_intelligence_only_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = identities(1);
    let park = srv.login("intel.park").await;
    // (A political case of its own, so this test does not depend on the demo's.)
    let (s, b) = srv
        .post(
            &park,
            "/api/cases",
            json!({"case_number": "INT-2026-00099", "offence_classification": "other_felony", "assigned_investigator": "intel.park", "political_activity": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let form = Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            Part::bytes(lfw_file(&ids[0], 1)).file_name("a.jpg"),
        )
        .text("source_0", "social_media");
    let (s, b) = multipart(&srv, &park, "/api/cases/INT-2026-00099/fr-requests", form).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let chen = srv.login("fri.chen").await;
    let (s, q) = srv.get(&chen, "/api/fr/queue").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !q.to_string().contains(&id),
        "hidden from FR staff outside Intelligence: {q}"
    );
    let (s, b) = srv
        .post(
            &chen,
            &format!("/api/fr/requests/{id}/confirm-basis"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(rule_of(&b).starts_with("FR-25"), "{b}");
}
both!(
    fr_25_political_activity_intelligence_only,
    super::fr_25_political_activity_intelligence_only_body
);

/// FR-06: an unsuitable still returns the request to the requester, who adds a still and resubmits.
async fn fr_06_unsuitable_returns_to_requester_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = identities(2);
    let id = submit(&srv, &ids[0]).await;
    let base = format!("/api/fr/requests/{id}");
    let chen = srv.login("fri.chen").await;
    let (s, _) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/quality"),
            json!({"selected_probe": 0, "suitable": false, "reasons": ["face turned away"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "returned_unsuitable");
    // Only the requester may add stills.
    let form = || {
        Form::new()
            .part(
                "still_0",
                Part::bytes(lfw_file(&ids[1], 1)).file_name("b.png"),
            )
            .text("source_0", "social_media")
    };
    let (s, b) = multipart(&srv, &chen, &format!("{base}/stills"), form()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let rivera = srv.login("det.rivera").await;
    let (s, b) = multipart(&srv, &rivera, &format!("{base}/stills"), form()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "submitted");
    assert_eq!(b["stills"], 2);
}
both!(
    fr_06_unsuitable_returns_to_requester,
    super::fr_06_unsuitable_returns_to_requester_body
);

/// FR-18: a comparison outside the repository needs the three named officials, three distinct people.
async fn fr_18_outside_repository_needs_three_officials_body(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    let today = chrono::Utc::now().date_naive().to_string();
    for (user, rank, role) in [
        ("chief.dept", "chief_of_department", "chief_of_department"),
        ("chief.det", "bureau_chief", "chief_of_detectives"),
        (
            "dc.intel",
            "deputy_commissioner",
            "deputy_commissioner_intelligence",
        ),
    ] {
        let (s, b) = srv
            .post(&admin, "/api/users", json!({"username": user, "display_name": format!("Demo {user}"), "rank": rank, "command": "LEGAL", "password": "a-long-enough-password"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        let (s, b) = srv
            .post(
                &admin,
                &format!("/api/users/{user}/assignments"),
                json!({"role": role, "command": "LEGAL", "starts": today}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
    }
    let ids = identities(1);
    let id = submit(&srv, &ids[0]).await;
    let base = format!("/api/fr/requests/{id}");
    let chen = srv.login("fri.chen").await;
    let haddad = srv.login("sgt.haddad").await;
    srv.post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    srv.post(
        &chen,
        &format!("{base}/quality"),
        json!({"selected_probe": 0, "suitable": true, "reasons": ["ok"]}),
    )
    .await;
    let (s, _) = srv
        .post(
            &haddad,
            &format!("{base}/discussion"),
            json!({"note": "discussed"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let login = |u: &'static str| {
        let c = common::client();
        let url = srv.url.clone();
        async move {
            let r = c
                .post(format!("{url}/api/session"))
                .json(&json!({"username": u, "password": "a-long-enough-password"}))
                .send()
                .await
                .expect("sign in");
            assert_eq!(r.status(), StatusCode::OK);
            c
        }
    };
    let approve = format!("{base}/outside-repository/approvals");
    // A reason is required; the FR investigator is no official.
    let cd = login("chief.dept").await;
    let (s, b) = srv.post(&cd, &approve, json!({"reason": ""})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-18");
    let (s, b) = srv.post(&chen, &approve, json!({"reason": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, b) = srv
        .post(
            &cd,
            &approve,
            json!({"reason": "kidnapping, suspect photo from abroad"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv.post(&cd, &approve, json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-18");
    let det = login("chief.det").await;
    let (s, b) = srv.post(&det, &approve, json!({"reason": "concur"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Two of three: refused.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/search"),
            json!({"outside_repository": true}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-18");
    let dc = login("dc.intel").await;
    let (s, b) = srv.post(&dc, &approve, json!({"reason": "concur"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Approved by the three; no outside image set exists on this system.
    let (s, b) = srv
        .post(
            &chen,
            &format!("{base}/search"),
            json!({"outside_repository": true}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule_of(&b), "FR-18");
    let iab = srv.login("iab.walsh").await;
    let (_, b) = srv.get(&iab, "/api/fr/oversight").await;
    assert_eq!(b["outside_repository_approvals"], 3, "{b}");
}
both!(
    fr_18_outside_repository_needs_three_officials,
    super::fr_18_outside_repository_needs_three_officials_body
);

/// FR-19: a use not foreseen by policy waits for the Chief of Department, the Chief of
/// Detectives and the Deputy Commissioner of Intelligence and Counterterrorism, three distinct
/// people with reasons, before the basis can be confirmed. FR-20: the analysis run for an outside
/// agency cites its documented request, and the oversight counts show both.
async fn fr_19_ovr_04_unforeseen_use_waits_for_three_officials_and_an_addendum_body(
    backend: Backend,
) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 2).await;
    let chen = srv.login("fri.chen").await;
    let rivera = srv.login("det.rivera").await;
    let form = |external: &str| {
        Form::new()
            .text(
                "unforeseen_use",
                "compare a still the hostage taker posted online",
            )
            .text("external_request", external.to_string())
            .part(
                "still_0",
                Part::bytes(lfw_file(&ids[0], 1)).file_name("still.jpg"),
            )
            .text("source_0", "social_media")
    };
    let path = format!("/api/cases/{CASE}/fr-requests");
    // An outside agency request must be documented before an analysis can cite it.
    let (s, b) = multipart(&srv, &rivera, &path, form(&uuid::Uuid::nil().to_string())).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(rule_of(&b), "FR-20", "{b}");
    let (s, b) = srv
        .post(
            &chen,
            "/api/fr/external-requests",
            json!({"agency": "Demo County Sheriff", "contact": "Det. Demo Ray", "investigation_reference": "DCS-2026-204", "active_criminal_investigation": true, "purpose": "criminal_investigation"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let external = b["id"].as_str().expect("id").to_string();
    // One basis only: a listed use and an unforeseen use together are refused.
    let (s, b) = multipart(
        &srv,
        &rivera,
        &path,
        form(&external).text("authorized_use", "suspect"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-05", "{b}");
    let (s, b) = multipart(&srv, &rivera, &path, form(&external)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "submitted");
    let id = b["id"].as_str().expect("id").to_string();
    let base = format!("/api/fr/requests/{id}");

    // No basis before the decision, so no search.
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-19", "{b}");
    let approve = format!("{base}/unforeseen-use/approvals");
    // Neither FR staff nor the requester decide.
    let (s, _) = srv.post(&chen, &approve, json!({"reason": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = srv.post(&rivera, &approve, json!({"reason": "x"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let cod = srv.login("cod.burke").await;
    let (s, b) = srv.post(&cod, &approve, json!({"reason": "  "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-19");
    let (s, b) = srv
        .post(
            &cod,
            &approve,
            json!({"reason": "hostage taking in progress"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // A replayed approval by the same official is refused.
    let (s, b) = srv.post(&cod, &approve, json!({"reason": "again"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-19");
    let ames = srv.login("cdet.ames").await;
    let (s, b) = srv
        .post(&ames, &approve, json!({"reason": "life at risk"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        b["detail"]
            .to_string()
            .contains("deputy_commissioner_intelligence"),
        "{b}"
    );
    let nolan = srv.login("dci.nolan").await;
    let (s, b) = srv
        .post(&nolan, &approve, json!({"reason": "no other lead"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // OVR-04: the three officials decided, but a use the policy does not foresee proceeds only
    // once an addendum recording it is in force.
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "OVR-04", "{b}");
    let apo = srv.login("apo.singh").await;
    let addendum = json!({
        "pack": "facial-recognition",
        "covers": format!("fr_request:{id}"),
        "text": "Comparing a still a hostage taker posted online, to identify them while the hostage taking is in progress.",
        "reason": "approved by the three officials under FR-19",
    });
    // Not by FR staff, and not for a request with a listed use.
    let (s, _) = srv
        .post(&chen, "/api/policy/addenda", addendum.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = srv
        .post(&apo, "/api/policy/addenda", addendum.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "proposed", "{b}");
    assert_eq!(b["kind"], "addendum", "{b}");
    let revision = b["id"].as_str().expect("revision id").to_string();
    // Recorded but not approved: still refused.
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "OVR-04", "{b}");
    // The policy owner approves it; the privacy officer who recorded it may not.
    let decision = format!("/api/policy/revisions/{revision}/approve");
    let (s, _) = srv.post(&apo, &decision, json!({"reason": "mine"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let owner = srv.login("po.okafor").await;
    let (s, b) = srv
        .post(
            &owner,
            &decision,
            json!({"reason": "a use the three officials approved"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "in_force", "{b}");
    // The pack in force now carries the addendum in its history.
    let (s, pack) = srv.get(&chen, "/api/policy/packs/facial-recognition").await;
    assert_eq!(s, StatusCode::OK, "{pack}");
    assert_eq!(pack["revision"], revision.as_str(), "{pack}");
    assert!(
        pack["published_history"]
            .as_array()
            .is_some_and(|h| h.iter().any(|r| r["kind"] == "addendum"
                && r["description"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("hostage taker"))),
        "{pack}"
    );
    let (s, b) = srv
        .post(&chen, &format!("{base}/confirm-basis"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "basis_confirmed");
    assert!(
        b["authorized_use"]["wording"]
            .as_str()
            .unwrap_or_default()
            .contains("hostage taker"),
        "{b}"
    );
    assert_eq!(b["external_request"], external.as_str());

    // The outside agency's request lists the analysis run for it.
    let (s, b) = srv.get(&chen, "/api/fr/external-requests").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b[0]["requests"][0]["id"], id.as_str(), "{b}");
    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv.get(&iab, "/api/fr/oversight").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["unforeseen_uses"]["requested"], 1, "{b}");
    assert_eq!(
        b["unforeseen_uses"]["approved_by_three_officials"], 1,
        "{b}"
    );
    assert_eq!(b["requests_run_for_external_agencies"], 1, "{b}");
    assert_eq!(
        b["by_authorized_use_and_outcome"]["unforeseen_use"]["open"], 1,
        "{b}"
    );
    // Each decision, and the refused replay, is in the audit trail.
    let (s, b) = srv
        .get(&iab, "/api/audit?action=fr.unforeseen_use.decide&limit=100")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let text = b.to_string();
    // Three approvals; three refusals: the FR investigator, the requester, the replay.
    assert_eq!(text.matches(&id).count(), 6, "{b}");
}
both!(
    fr_19_ovr_04_unforeseen_use_waits_for_three_officials_and_an_addendum,
    super::fr_19_ovr_04_unforeseen_use_waits_for_three_officials_and_an_addendum_body
);

/// RET-11 with facial recognition: disposing a case destroys its probe images and empties what
/// its FR requests said of people (candidate references, the discussion note), keeping only the
/// workflow's shape; the certificate lists the probe.
async fn ret_11_disposal_empties_fr_requests_of_the_case_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 3).await;
    let (id, pool) = to_search(&srv, &ids[0]).await;
    let top = pool["candidates"][0]["candidate"]
        .as_str()
        .expect("a candidate")
        .to_string();
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &rivera,
            &format!("/api/cases/{CASE}/close"),
            json!({ "closure_reason": "no_arrest", "final_classification": "missing_person" }),
        )
        .await;
    assert!(s.is_success(), "close: {s} {b}");
    let today = chrono::Utc::now().date_naive().to_string();
    let (s, b) = srv
        .put(
            &rivera,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "person_located_on": today, "reason": "located" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let officer = srv.login("rec.lopez").await;
    let (s, d) = srv
        .post(
            &officer,
            "/api/dispositions",
            json!({ "record_kind": "case", "record_id": CASE, "reason": "RET-01 ended" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let manager = srv.login("rm.adeyemi").await;
    let did = d["id"].as_str().expect("id");
    let (s, b) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{did}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, cert) = srv
        .get(&manager, &format!("/api/dispositions/{did}/certificate"))
        .await;
    assert!(
        cert["certificate"]["items"].as_array().is_some_and(|a| a
            .iter()
            .any(|i| i["what"].as_str().unwrap_or("").starts_with("FR probe"))),
        "{cert}"
    );

    let mut tx = srv.state.store.begin().await.expect("tx");
    let stored = probity_store::fr::get(&mut tx, uuid::Uuid::parse_str(&id).expect("uuid"))
        .await
        .expect("read")
        .expect("the request row stays");
    tx.commit().await.expect("commit");
    assert!(
        !stored.data.contains("robbery"),
        "the discussion note survived: {}",
        stored.data
    );
    assert!(
        !stored.data.contains(&top),
        "a candidate reference survived"
    );
    let request: probity_domain::FrRequest =
        serde_json::from_str(&stored.data).expect("the request still loads");
    assert_eq!(request.discussion_note, None);
    let search = request.search.expect("the search stays, emptied");
    assert!(search.candidates.iter().all(|c| c == "(disposed)"));
    assert!(!search.algorithm_version.is_empty());
}
both!(
    ret_11_disposal_empties_fr_requests_of_the_case,
    super::ret_11_disposal_empties_fr_requests_of_the_case_body
);

async fn fr_24_search_by_protected_trait_refused_and_audited_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 4).await;
    let id = ready_to_search(&srv, &ids[1]).await;
    let chen = srv.login("fri.chen").await;
    let search = format!("/api/fr/requests/{id}/search");

    // A protected trait as a field, in another spelling, nested, or as the value of an
    // undocumented filter: each refused naming FR-24, and nothing is searched.
    for body in [
        json!({"top_k": 10, "race": "any"}),
        json!({"skinTone": "dark"}),
        json!({"filters": {"where": [{"field": "Religion", "is": "x"}]}}),
        json!({"filter": "gender = female"}),
        json!({"age_range": [20, 30]}),
    ] {
        let (s, b) = srv.post(&chen, &search, body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body} -> {b}");
        assert_eq!(rule_of(&b), "FR-24", "{body} -> {b}");
    }
    let denied: Vec<Value> = srv
        .audit_of("fr_request", &id)
        .await
        .into_iter()
        .filter(|e| e.action == "fr.search" && e.outcome == "denied")
        .map(|e| serde_json::from_str(&e.detail).expect("detail JSON"))
        .filter(|d: &Value| d["rule"] == "FR-24")
        .collect();
    assert_eq!(denied.len(), 5, "each attempt is in the audit trail");
    assert!(
        denied[1]["protected_traits"]
            .to_string()
            .contains("skinTone"),
        "{}",
        denied[1]
    );

    // Any other undocumented field is refused too, naming it, instead of being ignored.
    let (s, b) = srv
        .post(&chen, &search, json!({"top_k": 10, "threshold": 0.4}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "threshold", "{b}");

    let (_, before) = srv.get(&chen, &format!("/api/fr/requests/{id}")).await;
    assert_ne!(
        before["state"], "searched",
        "no refused body searched: {before}"
    );
    // The documented options search.
    let (s, b) = srv.post(&chen, &search, json!({"top_k": 10})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "searched");
    assert_eq!(b["pool_size"], 4, "{b}");
}
both!(
    fr_24_search_by_protected_trait_refused_and_audited,
    super::fr_24_search_by_protected_trait_refused_and_audited_body
);

/// An evaluation record of `algorithm` ("name@version") carrying a score calibration: the
/// false-match rate falls from 1 at score 0 by a factor e every 0.05, over a million
/// comparisons.
fn calibrated_record(algorithm: &str) -> Value {
    let (name, version) = algorithm.split_once('@').expect("name@version");
    let points: Vec<Value> = (0..=200)
        .map(|k| {
            let s = -1.0 + f64::from(k) * 0.01;
            let rate = if s <= 0.0 { 1.0 } else { (-20.0 * s).exp() };
            json!([s, rate])
        })
        .collect();
    json!({
        "algorithm": {"name": name, "version": version},
        "dataset": "development faces",
        "evaluated_at": "2026-12-01T10:00:00Z",
        "detection": "probe",
        "images": 6922, "faces_by_hog": 6871, "faces_by_cnn": 50, "faces_by_centre_box": 1,
        "verification": {"pairs": 3000, "fold_accuracy": [0.986], "fold_threshold": [0.5],
            "accuracy_mean": 0.9863, "accuracy_std": 0.004, "tar_at_far_0_001": 0.95,
            "threshold_at_far_0_001": 0.6, "auc": 0.998},
        "identification": {"gallery_size": 3635, "probes": 3287, "rank1": 0.872, "rank10": 0.95,
            "fnir_at_fpir_0_003": 0.3, "threshold_at_fpir_0_003": 0.7, "fnir_50_candidates": 0.0116},
        "groups": [],
        "score_calibration": {"comparisons": 1000000, "points": points}
    })
}

async fn fr_08_candidate_scores_read_as_calibrated_false_match_rates_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 5).await;
    let admin = srv.login("admin").await;
    let (s, overview) = srv.get(&admin, "/api/fr/algorithms").await;
    assert_eq!(s, StatusCode::OK, "{overview}");
    let active = overview["active"].as_str().expect("active").to_string();

    // A calibration whose rate rises with the score means nothing: refused, naming it.
    let mut bad = calibrated_record(&active);
    bad["score_calibration"]["points"][150][1] = json!(0.9);
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{active}/evaluation"),
            bad,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "record.score_calibration", "{b}");

    let record = calibrated_record(&active);
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{active}/evaluation"),
            record.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let calibration: probity_face::eval::calibration::ScoreCalibration =
        serde_json::from_value(record["score_calibration"].clone()).expect("calibration");

    let (id, pool) = to_search(&srv, &ids[3]).await;
    let candidates = pool["candidates"].as_array().expect("candidates");
    assert!(candidates.len() >= 2, "{pool}");
    let mut last_rate = 0.0;
    for c in candidates {
        let score = c["score"].as_f64().expect("score");
        let rate = c["estimated_false_match_rate"]
            .as_f64()
            .expect("calibrated");
        let expected = calibration.false_match_rate(score as f32);
        assert!(
            (rate - expected.rate).abs() <= 1e-12 * expected.rate.max(1.0),
            "{c}"
        );
        assert_eq!(c["false_match_rate_text"], expected.text(), "{c}");
        // Ranked by score, so the rate never falls down the list.
        assert!(rate >= last_rate, "rates must not fall with rank: {pool}");
        last_rate = rate;
    }
    // The mate ranks first with the rarest false-match rate.
    assert_eq!(candidates[0]["subject_id"], format!("S-{:04}", 4), "{pool}");

    let chen = srv.login("fri.chen").await;
    // The probe's measured quality is kept with the search (FR-06).
    let (s, view) = srv.get(&chen, &format!("/api/fr/requests/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let pq = &view["request"]["search"]["probe_quality"];
    assert!(pq["inter_eye_px"].as_u64().unwrap_or(0) > 10, "{view}");
    assert!(pq["sharpness"].as_u64().is_some(), "{pq}");
    assert!(pq["within_thresholds"].is_boolean(), "{pq}");
    let r = chen
        .get(format!("{}/fr/requests/{id}", srv.url))
        .send()
        .await
        .expect("page");
    let html = r.text().await.expect("html");
    assert!(html.contains("False-match rate at this score"), "{html}");
    assert!(html.contains("id=\"probe-quality-at-search\""), "{html}");
    let first = candidates[0]["false_match_rate_text"]
        .as_str()
        .expect("text");
    assert!(html.contains(first), "the page shows {first}");
}
both!(
    fr_08_candidate_scores_read_as_calibrated_false_match_rates,
    super::fr_08_candidate_scores_read_as_calibrated_false_match_rates_body
);

/// FR-02 on many nodes: a node whose index is behind changes that were already pruned from the
/// database (kept 7 days) cannot patch its index, so it rebuilds it from the repository before
/// it serves a search: the sealing it missed is in force, and it holds the database's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fr_02_node_behind_pruned_changes_rebuilds_its_index() {
    let srv = common::start(Backend::Postgres).await;
    let ids = enrol_gallery(&srv, 4).await;
    let (_, pool) = to_search(&srv, &ids[1]).await;
    let arrest = arrest_of_top(&pool);
    let rec = srv.login("rec.lopez").await;
    let (s, body) = srv
        .post(
            &rec,
            &format!("/api/fr/gallery/arrests/{arrest}/seal"),
            json!({"sealed": true, "reason": "court order"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let records: Vec<probity_face::RecordId> = {
        let mut tx = srv.state.store.begin_read().await.expect("read");
        let r = probity_store::gallery::by_arrest(&mut tx, &arrest)
            .await
            .expect("records");
        tx.rollback().await.expect("rollback");
        r.iter()
            .map(|r| probity_face::RecordId(r.record_no as u64))
            .collect()
    };
    // The node falls behind: its index still shows the record and holds version 0, and every
    // change it would need has been pruned.
    let fr = probity_server::fr::engine::loaded(&srv.state).expect("index loaded");
    {
        let mut index = fr.index.write().expect("index");
        for r in &records {
            index.unseal(*r);
        }
    }
    fr.version.store(0, std::sync::atomic::Ordering::SeqCst);
    let pool = sqlx::PgPool::connect(srv.database_url.as_deref().expect("PostgreSQL"))
        .await
        .expect("database");
    sqlx::query("DELETE FROM fr_index_changes")
        .execute(&pool)
        .await
        .expect("prune");
    pool.close().await;

    // Before its next search the node rebuilds: the sealing is in force in its index.
    let fr = probity_server::fr::engine::get(&srv.state)
        .await
        .expect("engine");
    let (held, head) = index_versions(&srv).await;
    assert_eq!(held, head, "the rebuilt index holds the database's version");
    let index = fr.index.read().expect("index");
    assert!(
        records.iter().all(|r| index.is_sealed(*r)),
        "the missed sealing is in force after the rebuild"
    );
}
