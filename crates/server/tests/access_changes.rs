//! Ending access (SEC-02, FR-21) against the running server: an administrator ends an
//! assignment, revokes or corrects a training record, deactivates and reactivates an account,
//! each with a reason; the change takes effect on the caller's very next request through the
//! session they already hold, API tokens stop, nobody changes their own access, and every
//! change is audited with its reason. SQLite and PostgreSQL.

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

async fn detail(srv: &TestServer, admin: &reqwest::Client, username: &str) -> Value {
    let (s, b) = srv.get(admin, &format!("/api/users/{username}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

fn current_assignment(d: &Value, role: &str) -> String {
    d["assignments"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["role"] == role && x["current"] == true)
                .and_then(|x| x["id"].as_str())
        })
        .unwrap_or_else(|| panic!("a current {role} assignment: {d}"))
        .to_string()
}

/// SEC-02 / FR-21: a session already open loses the access of an assignment ended mid-use,
/// on its very next request, and the end is audited with its reason.
async fn sec_02_session_loses_access_when_assignment_ends_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.login("det.rivera").await;
    let (s, c) = srv.get(&rivera, &format!("/api/cases/{CASE}")).await;
    assert_eq!(s, StatusCode::OK, "{c}");

    let admin = srv.login("admin").await;
    let d = detail(&srv, &admin, "det.rivera").await;
    let id = current_assignment(&d, "investigator");
    // No reason: refused, nothing changed.
    let (s, e) = srv
        .post(
            &admin,
            &format!("/api/users/det.rivera/assignments/{id}/end"),
            json!({ "reason": " " }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "SEC-02", "{e}");
    let (s, c) = srv.get(&rivera, &format!("/api/cases/{CASE}")).await;
    assert_eq!(s, StatusCode::OK, "still assigned: {c}");

    let (s, a) = srv
        .post(
            &admin,
            &format!("/api/users/det.rivera/assignments/{id}/end"),
            json!({ "reason": "transferred to another command" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    assert_eq!(a["current"], false, "{a}");
    assert_eq!(a["end_reason"], "transferred to another command", "{a}");
    // The same session, the next request: refused, as deny by default.
    let (s, c) = srv.get(&rivera, &format!("/api/cases/{CASE}")).await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
        "the ended assignment still reads the case: {s} {c}"
    );
    // Ending it again is a conflict; the end is never pushed back.
    let (s, e) = srv
        .post(
            &admin,
            &format!("/api/users/det.rivera/assignments/{id}/end"),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let entries = srv
        .audit_of("user", "det.rivera")
        .await
        .into_iter()
        .filter(|e| e.action == "user.assignment.end")
        .collect::<Vec<_>>();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0].reason.as_deref(),
        Some("transferred to another command")
    );
}
both!(
    sec_02_session_loses_access_when_assignment_ends,
    super::sec_02_session_loses_access_when_assignment_ends_body
);

/// FR-21: revoking the facial recognition training of an FR investigator ends their FR access
/// at once; a corrected record is audited before and after.
async fn fr_21_revoked_training_ends_access_body(b: Backend) {
    let srv = common::start(b).await;
    let chen = srv.login("fri.chen").await;
    let (s, q) = srv.get(&chen, "/api/fr/queue").await;
    assert_eq!(s, StatusCode::OK, "{q}");

    let admin = srv.login("admin").await;
    let d = detail(&srv, &admin, "fri.chen").await;
    let t = d["training"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["course"] == "fr_basic"))
        .cloned()
        .expect("fr_basic training");
    let id = t["id"].as_str().expect("id");

    // A correction keeps the access and records both versions.
    let (s, c) = srv
        .post(
            &admin,
            &format!("/api/users/fri.chen/training/{id}/correct"),
            json!({ "completed": "2026-01-05", "expires": "2030-01-05",
                    "reason": "certificate shows 5 January" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["completed"], "2026-01-05");
    let (s, bad) = srv
        .post(
            &admin,
            &format!("/api/users/fri.chen/training/{id}/correct"),
            json!({ "completed": "2026-01-05", "expires": "2025-01-05", "reason": "typo" }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (s, _) = srv.get(&chen, "/api/fr/queue").await;
    assert_eq!(s, StatusCode::OK);

    let (s, r) = srv
        .post(
            &admin,
            &format!("/api/users/fri.chen/training/{id}/revoke"),
            json!({ "reason": "course attendance not confirmed" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(r["revoked_at"].is_string(), "{r}");
    let (s, q) = srv.get(&chen, "/api/fr/queue").await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "revoked training still opens FR: {q}"
    );
    let (s, e) = srv
        .post(
            &admin,
            &format!("/api/users/fri.chen/training/{id}/revoke"),
            json!({ "reason": "twice" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    let audit = srv.audit_of("user", "fri.chen").await;
    let corrected = audit
        .iter()
        .find(|e| e.action == "user.training.correct")
        .expect("correction audited");
    let d: Value = serde_json::from_str(&corrected.detail).expect("detail is JSON");
    assert_eq!(d["after"]["completed"], "2026-01-05", "{d}");
    assert!(d["before"]["completed"].is_string(), "{d}");
    assert!(audit.iter().any(|e| e.action == "user.training.revoke"
        && e.reason.as_deref() == Some("course attendance not confirmed")));
}
both!(
    fr_21_revoked_training_ends_access,
    super::fr_21_revoked_training_ends_access_body
);

/// SEC-02: a deactivated account loses its open session at once and cannot sign in (told
/// why, naming SEC-02); reactivated, it signs in again. Nobody deactivates themselves.
async fn sec_02_deactivated_account_signs_in_to_nothing_body(b: Backend) {
    let srv = common::start(b).await;
    let okafor = srv.login("det.okafor").await;
    let (s, _) = srv.get(&okafor, "/api/cases").await;
    assert_eq!(s, StatusCode::OK);
    let admin = srv.login("admin").await;

    let (s, e) = srv
        .post(
            &admin,
            "/api/users/admin/deactivate",
            json!({ "reason": "leaving" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert_eq!(rule(&e), "SEC-02.no-self-administration", "{e}");

    let (s, u) = srv
        .post(
            &admin,
            "/api/users/det.okafor/deactivate",
            json!({ "reason": "suspended pending investigation" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["deactivated"], true, "{u}");
    let (s, b2) = srv.get(&okafor, "/api/cases").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the open session still works: {b2}"
    );
    let r = common::client()
        .post(format!("{}/api/session", srv.url))
        .json(&json!({ "username": "det.okafor", "password": probity_server::demo::DEMO_PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(rule(&body), "SEC-02", "{body}");
    let (s, e) = srv
        .post(
            &admin,
            "/api/users/det.okafor/deactivate",
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");

    let (s, u) = srv
        .post(
            &admin,
            "/api/users/det.okafor/reactivate",
            json!({ "reason": "cleared" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{u}");
    assert_eq!(u["deactivated"], false, "{u}");
    // The old session stays ended; a new sign-in works.
    let (s, _) = srv.get(&okafor, "/api/cases").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let again = srv.login("det.okafor").await;
    let (s, _) = srv.get(&again, "/api/cases").await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<String> = srv
        .audit_of("user", "det.okafor")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.iter().any(|a| a == "user.deactivate"),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a == "user.reactivate"),
        "{actions:?}"
    );
}
both!(
    sec_02_deactivated_account_signs_in_to_nothing,
    super::sec_02_deactivated_account_signs_in_to_nothing_body
);

/// SEC-02: the forms on a person's page end an assignment and deactivate the account.
async fn sec_02_admin_page_ends_access_body(b: Backend) {
    let srv = common::start(b).await;
    let admin = srv.login("admin").await;
    let r = admin
        .get(format!("{}/admin/users/det.rivera", srv.url))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("End now"), "no end button");
    assert!(html.contains("Deactivate account"), "no deactivate button");
    let csrf = common::csrf_of(&html);
    let d = detail(&srv, &admin, "det.rivera").await;
    let id = current_assignment(&d, "investigator");
    let r = admin
        .post(format!(
            "{}/admin/users/det.rivera/assignments/{id}/end",
            srv.url
        ))
        .form(&[("csrf", csrf.as_str()), ("reason", "retired")])
        .send()
        .await
        .expect("end");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let d = detail(&srv, &admin, "det.rivera").await;
    assert!(
        d["assignments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["end_reason"] == "retired")),
        "{d}"
    );
    let r = admin
        .post(format!("{}/admin/users/det.rivera/deactivate", srv.url))
        .form(&[("csrf", csrf.as_str()), ("reason", "retired")])
        .send()
        .await
        .expect("deactivate");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = admin
        .get(format!("{}/admin/users/det.rivera", srv.url))
        .send()
        .await
        .expect("page");
    let html = r.text().await.unwrap_or_default();
    assert!(html.contains("Reactivate account"), "{html}");
}
both!(
    sec_02_admin_page_ends_access,
    super::sec_02_admin_page_ends_access_body
);
