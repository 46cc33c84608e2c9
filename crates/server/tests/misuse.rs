//! Allegations of misuse (SEC-06) against the running server: taken in with who, what, when and
//! which records; assigned to the member's command or to the Internal Affairs Bureau; closed
//! with an outcome; shown with the audit entries that bear on them; closed to everyone but the
//! oversight roles; every bad input refused naming the rule. SQLite and PostgreSQL.

mod common;

use chrono::{Duration, Utc};
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

/// SEC-06: the whole life of an allegation, with the subject's own audit entries beside it.
async fn sec_06_allegation_taken_in_assigned_closed_with_its_audit_entries_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let (s, _) = srv.get(&rivera, &format!("/api/cases/{CASE}")).await;
    assert_eq!(s, StatusCode::OK);
    let today = Utc::now().date_naive();
    let iab = srv.login("iab.walsh").await;
    let (s, a) = srv
        .post(
            &iab,
            "/api/misuse-allegations",
            json!({
                "subject": "det.rivera",
                "description": "opened a case file for a personal reason",
                "occurred_from": (today - Duration::days(1)).to_string(),
                "occurred_to": today.to_string(),
                "records": [format!("case:{CASE}")],
                "source": "complaint",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["status"], "received");
    assert_eq!(a["subject_command"], "PCT-019");
    let id = a["id"].as_str().expect("id").to_string();

    let (s, d) = srv
        .get(&iab, &format!("/api/misuse-allegations/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let entries = d["audit_entries"].as_array().cloned().unwrap_or_default();
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "user:det.rivera" && e["record_id"] == CASE),
        "the subject's reading of the case bears on it: {d}"
    );

    // Closing before it is assigned is refused; a reason is needed to assign.
    let (s, e) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/close"),
            json!({ "outcome": "unfounded", "note": "n/a" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(rule(&e), "SEC-06", "{e}");
    let (s, e) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/assign"),
            json!({ "to": "command", "reason": "" }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, a) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/assign"),
            json!({ "to": "command", "reason": "first complaint; the command's integrity officer" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["assigned_to"], "command");
    let (s, a) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/assign"),
            json!({ "to": "iab", "reason": "pattern across commands" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["assigned_to"], "iab");
    let (s, e) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/close"),
            json!({ "outcome": "cleared", "note": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (s, a) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/close"),
            json!({ "outcome": "exonerated", "note": "the case was assigned to him that day" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["status"], "closed");
    assert_eq!(a["outcome"], "exonerated");
    let (s, e) = srv
        .post(
            &iab,
            &format!("/api/misuse-allegations/{id}/assign"),
            json!({ "to": "iab", "reason": "reopen" }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "a closed allegation stays closed: {e}"
    );

    let actions: Vec<String> = srv
        .audit_of("misuse_allegation", &id)
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in [
        "misuse.intake",
        "misuse.read",
        "misuse.assign",
        "misuse.close",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}
both!(
    sec_06_allegation_taken_in_assigned_closed_with_its_audit_entries,
    super::sec_06_allegation_taken_in_assigned_closed_with_its_audit_entries_body
);

/// SEC-06: who, what and when are required; the period is in order and has happened; the
/// member exists; only the oversight roles take in or read allegations.
async fn sec_06_bad_input_and_wrong_roles_refused_body(b: Backend) {
    let srv = common::start(b).await;
    let iab = srv.login("iab.walsh").await;
    let today = Utc::now().date_naive();
    let good = json!({
        "subject": "det.rivera", "description": "looked up a neighbour",
        "occurred_from": today.to_string(), "occurred_to": today.to_string(),
    });
    let mut body = good.clone();
    body["description"] = json!(" ");
    let (s, e) = srv.post(&iab, "/api/misuse-allegations", body).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "SEC-06", "{e}");
    let mut body = good.clone();
    body["occurred_from"] = json!((today + Duration::days(2)).to_string());
    body["occurred_to"] = json!(today.to_string());
    let (s, e) = srv.post(&iab, "/api/misuse-allegations", body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let mut body = good.clone();
    body["subject"] = json!("nobody.here");
    let (s, e) = srv.post(&iab, "/api/misuse-allegations", body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let mut body = good.clone();
    body["records"] = json!(["not a reference"]);
    let (s, e) = srv.post(&iab, "/api/misuse-allegations", body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let (_, list) = srv.get(&iab, "/api/misuse-allegations").await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(0),
        "nothing stored: {list}"
    );

    let rivera = srv.login("det.rivera").await;
    let (s, e) = srv.get(&rivera, "/api/misuse-allegations").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, e) = srv
        .post(&rivera, "/api/misuse-allegations", good.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let admin = srv.login("admin").await;
    let (s, e) = srv.get(&admin, "/api/misuse-allegations").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let ico = srv.login("ico.stein").await;
    let (s, _) = srv.get(&ico, "/api/misuse-allegations").await;
    assert_eq!(s, StatusCode::OK);
}
both!(
    sec_06_bad_input_and_wrong_roles_refused,
    super::sec_06_bad_input_and_wrong_roles_refused_body
);

/// SEC-06 in the web UI: an Integrity Control Officer takes in an allegation from the form and
/// lands on its page with the entries that bear on it and the assign form.
async fn sec_06_misuse_page_intake_body(b: Backend) {
    let srv = common::start(b).await;
    let ico = srv.login("ico.stein").await;
    let html = ico
        .get(format!("{}/misuse", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    let csrf = common::csrf_of(&html);
    let today = Utc::now().date_naive().to_string();
    let r = ico
        .post(format!("{}/misuse", srv.url))
        .form(&[
            ("csrf", csrf.as_str()),
            ("subject", "det.okafor"),
            ("description", "shared a screenshot of a camera original"),
            ("occurred_from", today.as_str()),
            ("occurred_to", today.as_str()),
            ("records", "case:2026-019-000102"),
            ("source", "supervisor"),
        ])
        .send()
        .await
        .expect("intake");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(to.starts_with("/misuse/"), "{to}");
    let html = ico
        .get(format!("{}{to}", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("Audit entries that bear on it"), "{html}");
    assert!(
        html.contains("form method=\"post\" action=\"/misuse/"),
        "the assign form: {html}"
    );
    assert!(html.contains("det.okafor"));
}
both!(
    sec_06_misuse_page_intake,
    super::sec_06_misuse_page_intake_body
);
