//! The records lifecycle (RET-01..RET-11) against the running server: retention facts recorded
//! by the roles the policy allows, the schedule from the policy pack, the due queue, a
//! disposition proposed by a records officer and approved by another person, the content
//! crypto-shredded with a signed certificate (JSON and PDF), and every refusal naming its rule.
//! Every test runs on SQLite and PostgreSQL.

mod common;
mod pdftext;

use base64::Engine;
use chrono::Utc;
use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";
const OFFICER: &str = "rec.lopez";
const MANAGER: &str = "rm.adeyemi";

async fn upload(srv: &TestServer, c: &reqwest::Client, case: &str, file: &str) -> Value {
    let (s, b) = srv
        .upload_evidence(
            c,
            case,
            &[
                ("purpose", "crime_scene"),
                ("basis_kind", "no_reasonable_expectation_of_privacy"),
            ],
            file,
            &common::camera_sample(file),
        )
        .await;
    assert!(s.is_success(), "upload {file}: {s} {b}");
    b
}

/// Closes the demo case as a missing person case (RET-01: kept until located).
async fn close_as_missing_person(srv: &TestServer, rivera: &reqwest::Client) {
    let (s, b) = srv
        .post(
            rivera,
            &format!("/api/cases/{CASE}/close"),
            json!({ "closure_reason": "no_arrest", "final_classification": "missing_person" }),
        )
        .await;
    assert!(s.is_success(), "close: {s} {b}");
}

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

fn due_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["record_id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// RET-01 and RET-11, the whole life of a case: kept while "until located", due once the
/// person is located, proposed by the records officer, never approved by the proposer, approved
/// by the records manager; every blob destroyed, the certificate signed, the audit chain intact.
async fn ret_11_proposed_by_one_approved_by_another_content_destroyed_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let report = upload(&srv, &rivera, CASE, "apple_iphone4.jpg").await;
    let item = report["files"][0].clone();
    let item_id = item["item_id"].as_str().expect("item id").to_string();
    close_as_missing_person(&srv, &rivera).await;

    let officer = srv.login(OFFICER).await;
    // Kept until located: on the schedule, not due, and a proposal names RET-01.
    let (s, sched) = srv.get(&officer, "/api/retention/schedule").await;
    assert_eq!(s, StatusCode::OK, "{sched}");
    let entry = sched
        .as_array()
        .and_then(|a| a.iter().find(|e| e["record_id"] == CASE))
        .cloned()
        .expect("the closed case is on the schedule");
    assert_eq!(entry["rule"], "RET-01", "{entry}");
    assert_eq!(entry["due"], "awaiting_event", "{entry}");
    let (s, b) = srv.get(&officer, "/api/retention/due").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!due_ids(&b).contains(&CASE.to_string()), "{b}");
    let propose = json!({ "record_kind": "case", "record_id": CASE, "reason": "located" });
    let (s, b) = srv
        .post(&officer, "/api/dispositions", propose.clone())
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule(&b), "RET-01", "{b}");

    // The assigned investigator records the fact; the schedule follows.
    let today = Utc::now().date_naive().to_string();
    let (s, b) = srv
        .put(
            &rivera,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "person_located_on": today, "reason": "located by PSA 3" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["schedule"]["due_on"], today, "{b}");
    let (_, due) = srv.get(&officer, "/api/retention/due").await;
    assert!(due_ids(&due).contains(&CASE.to_string()), "{due}");
    // The daily scheduler run counts it, with no person involved.
    let runs = probity_server::scheduler::tick(&srv.state, "node-records", Utc::now())
        .await
        .expect("scheduler tick");
    let daily = runs
        .iter()
        .find(|r| r.job == "retention.daily")
        .expect("the daily retention job ran");
    assert_eq!(daily.outcome.as_deref(), Some("ok"), "{:?}", daily.error);
    let summary = daily.summary.clone().unwrap_or_default();
    assert!(
        summary["due_waiting_for_proposal"].as_u64() >= Some(1),
        "{summary}"
    );

    // An investigator cannot propose; the officer can.
    let (s, b) = srv
        .post(&rivera, "/api/dispositions", propose.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, d) = srv
        .post(&officer, "/api/dispositions", propose.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().expect("id").to_string();
    assert_eq!(d["rule"], "RET-01");
    assert_eq!(d["due_on"], today);
    // A second open proposal for the same record is refused.
    let (s, b) = srv.post(&officer, "/api/dispositions", propose).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    // The proposer, even holding the approver's role, never approves their own.
    let admin = srv.login("admin").await;
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{OFFICER}/assignments"),
            json!({ "role": "records_manager", "command": "RECORDS", "starts": today }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let officer = srv.login(OFFICER).await;
    let (s, b) = srv
        .post(
            &officer,
            &format!("/api/dispositions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule(&b), "RET-11", "{b}");
    // Before execution the original is readable.
    let r = rivera
        .get(format!(
            "{}/api/cases/{CASE}/evidence/{item_id}/original",
            srv.url
        ))
        .send()
        .await
        .expect("original");
    assert_eq!(r.status(), StatusCode::OK);

    let manager = srv.login(MANAGER).await;
    let (s, done) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["status"], "executed");
    assert_eq!(done["decided_by"], MANAGER);
    assert!(done["items_destroyed"].as_u64().unwrap_or(0) >= 1, "{done}");

    // The content is gone: the original can never be decrypted again.
    let r = rivera
        .get(format!(
            "{}/api/cases/{CASE}/evidence/{item_id}/original",
            srv.url
        ))
        .send()
        .await
        .expect("original");
    assert_ne!(
        r.status(),
        StatusCode::OK,
        "a disposed original is still served"
    );

    // The certificate: what, rule, due date, proposer, approver, item hashes, signed.
    let (s, env) = srv
        .get(&manager, &format!("/api/dispositions/{id}/certificate"))
        .await;
    assert_eq!(s, StatusCode::OK, "{env}");
    let cert = &env["certificate"];
    assert_eq!(cert["record_id"], CASE);
    assert_eq!(cert["rule_id"], "RET-01");
    assert_eq!(cert["due_on"], today);
    assert_eq!(cert["proposed_by"], OFFICER);
    assert_eq!(cert["approved_by"], MANAGER);
    let sha = item["sha256"].as_str().expect("item sha");
    assert!(
        cert["items"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["sha256"] == sha)),
        "{cert}"
    );
    let sig = base64::engine::general_purpose::STANDARD
        .decode(env["signature"].as_str().expect("signature"))
        .expect("base64");
    let keys = srv.state.store.server_keys();
    assert!(keys.verify(&probity_server::records::canonical_bytes(cert), &sig));
    let mut forged = cert.clone();
    forged["approved_by"] = json!("someone.else");
    assert!(!keys.verify(&probity_server::records::canonical_bytes(&forged), &sig));
    // And as a PDF.
    let r = manager
        .get(format!("{}/dispositions/{id}/certificate.pdf", srv.url))
        .send()
        .await
        .expect("pdf");
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.expect("bytes");
    // Read back by pdftotext: what was destroyed, under which rule, by whom, and the signature.
    pdftext::assert_says(
        "RET-11 disposition certificate PDF",
        &pdf,
        &[
            "Disposition certificate",
            "Records destroyed under the retention schedule (RET-11)",
            CASE,
            "RET-01",
            OFFICER,
            MANAGER,
            "Items destroyed (content crypto-shredded)",
            &sha[..16],
            "Signature",
        ],
    );

    // The case is no longer on the schedule; executing twice is refused.
    let (_, sched) = srv.get(&officer, "/api/retention/schedule").await;
    assert!(!due_ids(&sched).contains(&CASE.to_string()), "{sched}");
    let (s, _) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Audited, and the chain verifies.
    let entries = srv.audit_of("case", CASE).await;
    assert!(
        entries
            .iter()
            .any(|e| e.action == "retention.dispose.execute"),
        "{entries:?}"
    );
    let iab = srv.login("iab.walsh").await;
    let (s, v) = srv.get(&iab, "/api/audit/verify").await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the audit chain verifies after a disposition: {v}"
    );
}
both!(
    ret_11_proposed_by_one_approved_by_another_content_destroyed,
    super::ret_11_proposed_by_one_approved_by_another_content_destroyed_body
);

/// RET-11: a legal hold keeps a due record; the proposal and the approval are both refused
/// naming RET-11, and after release the disposition goes through.
async fn ret_11_held_record_never_disposed_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    close_as_missing_person(&srv, &rivera).await;
    let today = Utc::now().date_naive().to_string();
    let (s, b) = srv
        .put(
            &rivera,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "person_located_on": today, "reason": "located" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let officer = srv.login(OFFICER).await;
    let propose = json!({ "record_kind": "case", "record_id": CASE, "reason": "RET-01 ended" });
    let (s, d) = srv
        .post(&officer, "/api/dispositions", propose.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().expect("id").to_string();

    // The Legal Bureau places a hold after the proposal: the approval is refused.
    let legal = srv.login("apo.singh").await;
    let (s, hold) = srv
        .post(
            &legal,
            "/api/holds",
            json!({ "subject_kind": "case", "subject": CASE, "matter": "Doe v. City",
                    "reason": "civil litigation" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let manager = srv.login(MANAGER).await;
    let (s, b) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule(&b), "RET-11", "{b}");
    let (_, due) = srv.get(&officer, "/api/retention/due").await;
    let held = due
        .as_array()
        .and_then(|a| a.iter().find(|e| e["record_id"] == CASE))
        .cloned()
        .expect("still due");
    assert!(
        held["held_by"]
            .as_str()
            .unwrap_or_default()
            .contains("Doe v. City"),
        "{held}"
    );
    // The proposal is rejected; a new one is refused while the hold stands.
    let (s, b) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{id}/reject"),
            json!({ "reason": "under hold" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv
        .post(&officer, "/api/dispositions", propose.clone())
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule(&b), "RET-11", "{b}");

    // Released: proposed and approved.
    let hold_id = hold["id"].as_str().expect("hold id");
    let (s, b) = srv
        .post(
            &legal,
            &format!("/api/holds/{hold_id}/release"),
            json!({ "reason": "settled" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, d) = srv.post(&officer, "/api/dispositions", propose).await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().expect("id");
    let (s, b) = srv
        .post(
            &manager,
            &format!("/api/dispositions/{id}/approve"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "executed");
}
both!(
    ret_11_held_record_never_disposed,
    super::ret_11_held_record_never_disposed_body
);

/// RET-04, RET-06, RET-01: a record not yet due is refused with its rule; a missing fact is
/// named; facts are recorded only by the roles the policy allows, never in the future.
async fn ret_facts_and_not_yet_due_refused_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    // Misdemeanor: five years from closure.
    let (s, b) = srv
        .post(
            &rivera,
            &format!("/api/cases/{CASE}/close"),
            json!({ "closure_reason": "no_arrest", "final_classification": "misdemeanor" }),
        )
        .await;
    assert!(s.is_success(), "{b}");
    let officer = srv.login(OFFICER).await;
    let (s, b) = srv
        .post(
            &officer,
            "/api/dispositions",
            json!({ "record_kind": "case", "record_id": CASE, "reason": "tidy up" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule(&b), "RET-04", "{b}");
    // Computed for a date five years on, it is due.
    let later = (Utc::now().date_naive() + chrono::Days::new(5 * 366)).to_string();
    let (s, due) = srv
        .get(&officer, &format!("/api/retention/due?on={later}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{due}");
    assert!(due_ids(&due).contains(&CASE.to_string()), "{due}");

    // A date in the future is refused; an investigator of another case cannot record facts.
    let tomorrow = (Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    let (s, b) = srv
        .put(
            &rivera,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "juvenile_date_of_birth": tomorrow, "reason": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let park = srv.login("intel.park").await;
    let (s, _) = srv
        .put(
            &park,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "child_date_of_birth": "2010-01-01", "reason": "x" }),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "{s}"
    );
    // Without a reason: refused, nothing recorded.
    let (s, b) = srv
        .put(
            &officer,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "final_disposition": "no arrest" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // The records officer records the final disposition; audited with before and after.
    let (s, b) = srv
        .put(
            &officer,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "final_disposition": "no arrest; complainant declined", "reason": "closure review" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let case = srv
        .state
        .load_case(CASE)
        .await
        .expect("case")
        .expect("case");
    let entries = srv.audit_of("case", &case.id.to_string()).await;
    assert!(
        entries.iter().any(|e| e.action == "retention.facts.record"),
        "{entries:?}"
    );
}
both!(
    ret_facts_and_not_yet_due_refused,
    super::ret_facts_and_not_yet_due_refused_body
);

/// RET-09: a file on a criminal or suspect is kept by the person's dates; one on an associated
/// person needs its case and follows it.
async fn ret_09_personal_files_body(b: Backend) {
    let srv = common::start(b).await;
    let officer = srv.login(OFFICER).await;
    let (s, f) = srv
        .post(
            &officer,
            "/api/personal-files",
            json!({ "subject_kind": "criminal_or_suspect", "name": "John Roe",
                    "date_of_birth": "1920-05-01", "date_of_death": "2001-02-03" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let id = f["id"].as_str().expect("id").to_string();
    let (s, b) = srv
        .post(
            &officer,
            "/api/personal-files",
            json!({ "subject_kind": "associated_person", "name": "Jane Witness" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(rule(&b), "RET-09");
    let (_, due) = srv.get(&officer, "/api/retention/due").await;
    let e = due
        .as_array()
        .and_then(|a| a.iter().find(|e| e["record_id"] == id.as_str()))
        .cloned()
        .expect("due: five years after death ended in 2006");
    assert_eq!(e["rule"], "RET-09");
    assert_eq!(e["due_on"], "2006-02-03");
    let (s, d) = srv
        .post(
            &officer,
            "/api/dispositions",
            json!({ "record_kind": "personal_file", "record_id": id, "reason": "RET-09 ended" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let manager = srv.login(MANAGER).await;
    let (s, b) = srv
        .post(
            &manager,
            &format!(
                "/api/dispositions/{}/approve",
                d["id"].as_str().expect("id")
            ),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, files) = srv.get(&officer, "/api/personal-files").await;
    let f = files
        .as_array()
        .and_then(|a| a.iter().find(|x| x["id"] == id.as_str()))
        .cloned()
        .expect("the tombstone stays");
    assert_eq!(f["name"], Value::Null, "{f}");
    assert!(f["disposed_at"].is_string(), "{f}");
}
both!(ret_09_personal_files, super::ret_09_personal_files_body);

/// RET-09 in the web UI: an investigator opens files from the personal files page; the page
/// shows each file's rule and the date it is kept until, a file on an associated person as
/// following its case, and a legal hold on the named person.
async fn ret_09_personal_files_page_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let page = |c: reqwest::Client| {
        let url = format!("{}/personal-files", srv.url);
        async move {
            let r = c.get(url).send().await.expect("page");
            assert_eq!(r.status(), StatusCode::OK);
            r.text().await.unwrap_or_default()
        }
    };
    let html = page(rivera.clone()).await;
    assert!(html.contains("Open file"), "the form is offered");
    let csrf = common::csrf_of(&html);
    let post = |form: Vec<(&'static str, String)>| {
        let c = rivera.clone();
        let url = format!("{}/personal-files", srv.url);
        async move { c.post(url).form(&form).send().await.expect("post") }
    };
    // Born 1950, last arrested mid-2024: ninety years after birth (2040-03-04) is later than
    // five arrest-free years (2029-06-01), so the file is kept until 2040-03-04.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("subject_kind", "criminal_or_suspect".into()),
        ("name", "Richard Poe".into()),
        ("date_of_birth", "1950-03-04".into()),
        ("last_arrest_on", "2024-06-01".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("subject_kind", "associated_person".into()),
        ("name", "Mary Witness".into()),
        ("case_number", CASE.into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // A suspect's file with neither birth nor death: refused, saying why.
    let r = post(vec![
        ("csrf", csrf.clone()),
        ("subject_kind", "criminal_or_suspect".into()),
        ("name", "No Dates".into()),
    ])
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = r.text().await.unwrap_or_default();
    assert!(text.contains("RET-09"), "{text}");

    let legal = srv.login("apo.singh").await;
    let (s, h) = srv
        .post(
            &legal,
            "/api/holds",
            json!({ "subject_kind": "person", "subject": "Richard Poe",
                    "matter": "Poe v. City", "reason": "civil rights claim" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let html = page(rivera.clone()).await;
    let row = |name: &str| {
        html.split("<tr data-file=")
            .find(|r| r.contains(name))
            .unwrap_or_else(|| panic!("{name} listed: {html}"))
            .to_string()
    };
    let poe = row("Richard Poe");
    assert!(
        poe.contains("RET-09") && poe.contains("2040-03-04"),
        "{poe}"
    );
    assert!(poe.contains("Poe v. City"), "the hold is shown: {poe}");
    let witness = row("Mary Witness");
    assert!(witness.contains("follows its case record"), "{witness}");
    assert!(witness.contains(CASE), "{witness}");
    assert!(!html.contains("No Dates"));
}
both!(
    ret_09_personal_files_page,
    super::ret_09_personal_files_page_body
);

/// RET-11 in the web UI: the records page lists the due record with a proposal form for the
/// officer, and the approve button for the manager (not for the proposer).
async fn ret_11_records_page_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    close_as_missing_person(&srv, &rivera).await;
    let today = Utc::now().date_naive().to_string();
    let (s, _) = srv
        .put(
            &rivera,
            &format!("/api/cases/{CASE}/retention-facts"),
            json!({ "person_located_on": today, "reason": "located" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let html = |c: reqwest::Client| {
        let url = format!("{}/records", srv.url);
        async move {
            let r = c
                .get(url)
                .header("accept", "text/html")
                .send()
                .await
                .expect("page");
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    let (s, page) = html(srv.login(OFFICER).await).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains(CASE) && page.contains("Propose disposition"),
        "{page}"
    );
    let (s, _) = html(rivera).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(ret_11_records_page, super::ret_11_records_page_body);
