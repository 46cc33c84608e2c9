//! The JSON API against a real server and real databases (SQLite and PostgreSQL).

mod common;

use common::Backend;
use probity_server::routes::Access;
use reqwest::StatusCode;
use serde_json::json;

// Every route against every kind of caller, with real records in every path parameter, is the
// adversarial matrix in tests/authz.rs.

/// Errors are problem+json and name the field at fault (400), oversized bodies get 413.
async fn api_errors_name_the_field_body(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    // Missing field.
    let (s, body) = srv
        .post(&admin, "/api/users", json!({"username": "x.y"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "display_name", "{body}");
    // Invalid enumeration value.
    let (s, body) = srv
        .post(&admin, "/api/users", json!({"username": "x.y", "display_name": "X", "rank": "general", "command": "PCT-019"}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "rank", "{body}");
    // Oversized body: refused from its declared length, before any of it is read. Spoken over a raw
    // socket so the client does not race the early answer while still sending the body.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let session = admin_session_cookie(&srv).await;
        let addr = srv.url.trim_start_matches("http://").to_string();
        let mut sock = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        let head = format!(
            "POST /api/users HTTP/1.1\r\nHost: {addr}\r\nCookie: {session}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            2 * 1024 * 1024
        );
        sock.write_all(head.as_bytes()).await.expect("send head");
        let mut answer = Vec::new();
        let _ = sock.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer
                .to_ascii_lowercase()
                .contains("content-type: application/problem+json"),
            "{answer}"
        );
    }
    // Not JSON.
    let r = admin
        .post(format!("{}/api/users", srv.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}
both!(
    api_errors_name_the_field,
    super::api_errors_name_the_field_body
);

/// The session cookie of the demo administrator, as a `Cookie:` header value.
async fn admin_session_cookie(srv: &common::TestServer) -> String {
    let r = common::client()
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "admin", "password": probity_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("sign in");
    let token = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.split(';').next().map(str::to_string))
        .expect("session cookie");
    token
}

/// Cases: an investigator's case is readable by them, closing needs one of the four reasons (RET),
/// and the closed case shows its retention rule.
async fn ret_case_closure_needs_a_listed_reason_body(backend: Backend) {
    let srv = common::start(backend).await;
    let rivera = srv.login("det.rivera").await;
    let (s, body) = srv.get(&rivera, "/api/cases/2026-019-000101").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["assigned_investigator"], "det.rivera");
    assert_eq!(body["status"], "open");

    let supervisor = srv.login("lt.moreau").await;
    let (s, body) = srv
        .post(
            &supervisor,
            "/api/cases/2026-019-000101/close",
            json!({"closure_reason": "tired_of_it"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "closure_reason");
    let (s, body) = srv
        .post(
            &supervisor,
            "/api/cases/2026-019-000101/close",
            json!({"closure_reason": "no_arrest"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "closed");
    let (s, body) = srv.get(&supervisor, "/api/cases/2026-019-000101").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body["retention"]
            .as_str()
            .unwrap_or_default()
            .contains("RET-03"),
        "{body}"
    );
    // Closed once only.
    let (s, _) = srv
        .post(
            &supervisor,
            "/api/cases/2026-019-000101/close",
            json!({"closure_reason": "settlement"}),
        )
        .await;
    assert!(
        s == StatusCode::FORBIDDEN || s == StatusCode::CONFLICT,
        "{s}"
    );
}
both!(
    ret_case_closure_needs_a_listed_reason,
    super::ret_case_closure_needs_a_listed_reason_body
);

/// FR-25: a case involving political activity is visible only to the Intelligence Division.
async fn fr_25_political_case_only_for_intelligence_body(backend: Backend) {
    let srv = common::start(backend).await;
    let park = srv.login("intel.park").await;
    let (s, body) = srv.get(&park, "/api/cases/INTEL-2026-00007").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let moreau = srv.login("lt.moreau").await;
    // Refused by FR-25, and answered as if the case did not exist (SEC-02); the audit trail
    // keeps the rule.
    let (s, body) = srv.get(&moreau, "/api/cases/INTEL-2026-00007").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    let mut tx = srv.state.store.begin().await.expect("tx");
    let entries = probity_store::audit::for_record(&mut tx, "case", "INTEL-2026-00007")
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    assert!(
        entries
            .iter()
            .any(|e| e.actor == "user:lt.moreau" && e.detail.contains("FR-25")),
        "the refusal is audited with its rule"
    );
    let (_, list) = srv.get(&moreau, "/api/cases").await;
    let numbers: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["case_number"].as_str())
        .collect();
    assert!(!numbers.contains(&"INTEL-2026-00007"), "{numbers:?}");
    assert!(numbers.contains(&"2026-019-000101"), "{numbers:?}");
}
both!(
    fr_25_political_case_only_for_intelligence,
    super::fr_25_political_case_only_for_intelligence_body
);

/// SEC-02 / OVR-01: access follows the current assignment and training; when the assignment ends,
/// access ends with no one revoking anything.
async fn sec_02_access_ends_with_the_assignment_body(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    let today = chrono::Utc::now().date_naive();
    let (s, body) = srv
        .post(&admin, "/api/users", json!({"username": "det.temp", "display_name": "Det. Demo Temp", "rank": "detective", "command": "PCT-019", "password": "a-long-enough-password"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // An assignment that ended yesterday grants nothing.
    let (s, body) = srv
        .post(&admin, "/api/users/det.temp/assignments", json!({"role": "investigator", "command": "PCT-019", "starts": (today - chrono::Days::new(30)).to_string(), "ends": today.to_string()}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let temp = common::client();
    let r = temp
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "det.temp", "password": "a-long-enough-password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, body) = srv.get(&temp, "/api/cases").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (_, me) = srv.get(&temp, "/api/me").await;
    assert!(
        me["access"]["granted"]
            .as_array()
            .is_some_and(|g| g.is_empty()),
        "{me}"
    );
    // A current assignment grants the role at once.
    let (s, _) = srv
        .post(
            &admin,
            "/api/users/det.temp/assignments",
            json!({"role": "investigator", "command": "PCT-019", "starts": today.to_string()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = srv.get(&temp, "/api/cases").await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
both!(
    sec_02_access_ends_with_the_assignment,
    super::sec_02_access_ends_with_the_assignment_body
);

/// SEC-01: repeated failures lock the account; the message never says whether the user exists.
async fn sec_01_lockout_after_repeated_failures_body(backend: Backend) {
    let srv = common::start(backend).await;
    let c = common::client();
    let mut messages = Vec::new();
    for _ in 0..5 {
        let r = c
            .post(format!("{}/api/session", srv.url))
            .json(&json!({"username": "det.okafor", "password": "wrong"}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        messages.push(r.json::<serde_json::Value>().await.expect("body")["detail"].clone());
    }
    // Locked now: even the right password is refused, with the same message.
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "det.okafor", "password": probity_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let locked: serde_json::Value = r.json().await.expect("body");
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "nobody.here", "password": "x"}))
        .send()
        .await
        .expect("request");
    let unknown: serde_json::Value = r.json().await.expect("body");
    assert_eq!(locked["detail"], unknown["detail"]);
    assert!(messages.iter().all(|m| *m == unknown["detail"]));
}
both!(
    sec_01_lockout_after_repeated_failures,
    super::sec_01_lockout_after_repeated_failures_body
);

/// SEC-01: from outside the local networks, the password alone does not open a session.
async fn sec_01_remote_session_needs_a_second_factor_body(backend: Backend) {
    // No network counts as local: every session is remote.
    let srv = common::start_with(backend, |c| c.local_networks = vec![]).await;
    let secret = probity_auth::TotpSecret::generate();
    {
        let mut tx = srv.state.store.begin().await.expect("tx");
        let u = probity_store::users::get_by_username(&mut tx, "det.rivera")
            .await
            .expect("user")
            .expect("exists");
        probity_store::users::set_totp_secret(&mut tx, u.id, Some(&secret.to_base32()))
            .await
            .expect("secret");
        tx.commit().await.expect("commit");
    }
    let c = common::client();
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "det.rivera", "password": probity_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body: serde_json::Value = r.json().await.expect("body");
    let pending = body["pending"].as_str().expect("pending token").to_string();
    // The half-open session is not a session.
    let (s, _) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let wrong = srv
        .post(
            &c,
            "/api/session/totp",
            json!({"pending": pending, "code": "000000"}),
        )
        .await;
    assert_eq!(wrong.0, StatusCode::UNAUTHORIZED);
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let (s, body) = srv
        .post(
            &c,
            "/api/session/totp",
            json!({"pending": pending, "code": secret.code_at(now)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, me) = srv.get(&c, "/api/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["remote_session"], true);
    // Without an enrolled second factor, a remote sign-in is refused outright.
    let r = common::client()
        .post(format!("{}/api/session", srv.url))
        .json(&json!({"username": "det.okafor", "password": probity_server::demo::DEMO_PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
both!(
    sec_01_remote_session_needs_a_second_factor,
    super::sec_01_remote_session_needs_a_second_factor_body
);

/// SEC-04: reads and refusals are in the audit trail, and the chain verifies.
async fn sec_04_reads_and_refusals_are_audited_body(backend: Backend) {
    let srv = common::start(backend).await;
    let rivera = srv.login("det.rivera").await;
    let (s, _) = srv.get(&rivera, "/api/cases/2026-019-000101").await;
    assert_eq!(s, StatusCode::OK);
    let okafor = srv.login("det.okafor").await;
    let (s, _) = srv.get(&okafor, "/api/users").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let auditor = srv.login("iab.walsh").await;
    let (s, entries) = srv.get(&auditor, "/api/audit?action=case.read").await;
    assert_eq!(s, StatusCode::OK, "{entries}");
    assert!(
        entries["items"].as_array().is_some_and(|e| e
            .iter()
            .any(|x| x["actor"] == "user:det.rivera" && x["record_id"] == "2026-019-000101")),
        "{entries}"
    );
    let (_, denied) = srv.get(&auditor, "/api/audit?actor=user:det.okafor").await;
    assert!(
        denied["items"].as_array().is_some_and(|e| e
            .iter()
            .any(|x| x["outcome"] == "denied" && x["action"] == "user.list")),
        "{denied}"
    );
    let (s, report) = srv.get(&auditor, "/api/audit/verify").await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], true);
}
both!(
    sec_04_reads_and_refusals_are_audited,
    super::sec_04_reads_and_refusals_are_audited_body
);

/// SEC-04 under concurrency (group commit): many reads and refusals at once. Every answered
/// request has exactly one entry of its own and the chain verifies. (That each entry is durable
/// before its answer is proven at the store, `sec_04_group_commit_answers_only_durable_entries`.)
async fn sec_04_concurrent_reads_each_answered_with_a_durable_entry_body(backend: Backend) {
    let srv = common::start(backend).await;
    let rivera = srv.login("det.rivera").await;
    let okafor = srv.login("det.okafor").await;
    let mut tasks = Vec::new();
    for i in 0..48 {
        let (client, path) = if i % 4 == 3 {
            (okafor.clone(), "/api/users")
        } else {
            (rivera.clone(), "/api/cases/2026-019-000101")
        };
        let url = format!("{}{path}", srv.url);
        tasks.push(tokio::spawn(async move {
            client.get(&url).send().await.expect("request").status()
        }));
    }
    let (mut reads, mut refusals) = (0u64, 0u64);
    for t in tasks {
        match t.await.expect("task") {
            StatusCode::OK => reads += 1,
            StatusCode::FORBIDDEN => refusals += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((reads, refusals), (36, 12));
    let case_reads = srv
        .audit_of("case", "2026-019-000101")
        .await
        .into_iter()
        .filter(|e| e.action == "case.read" && e.actor == "user:det.rivera")
        .count();
    assert_eq!(case_reads as u64, reads, "one entry per answered read");
    let auditor = srv.login("iab.walsh").await;
    let (_, denied) = srv
        .get(
            &auditor,
            "/api/audit?actor=user:det.okafor&action=user.list&limit=100",
        )
        .await;
    let denied_n = denied["items"]
        .as_array()
        .map(|e| e.iter().filter(|x| x["outcome"] == "denied").count())
        .unwrap_or(0);
    assert_eq!(denied_n as u64, refusals, "one entry per refusal: {denied}");
    let (s, report) = srv.get(&auditor, "/api/audit/verify").await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["valid"], true);
}
both!(
    sec_04_concurrent_reads_each_answered_with_a_durable_entry,
    super::sec_04_concurrent_reads_each_answered_with_a_durable_entry_body
);

/// The OpenAPI document lists every API route with its policy action.
#[tokio::test]
async fn openapi_lists_every_api_route() {
    let srv = common::start(Backend::Sqlite).await;
    let (s, doc) = srv.get(&common::client(), "/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    for spec in srv.state.routes().iter().filter(|r| r.api) {
        let op = &doc["paths"][spec.path][spec.method.as_str().to_ascii_lowercase()];
        assert!(
            op.is_object(),
            "{} {} missing from the OpenAPI document",
            spec.method,
            spec.path
        );
        if let Access::Action { action, .. } = spec.access {
            assert_eq!(op["x-probity-action"], action);
        }
    }
}

/// Health and readiness answer without credentials; metrics need a decision.
#[tokio::test]
async fn health_and_readiness() {
    let srv = common::start(Backend::Sqlite).await;
    let c = common::client();
    assert_eq!(srv.get(&c, "/health").await.0, StatusCode::OK);
    let (s, r) = srv.get(&c, "/ready").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(r["database"], "sqlite");
    assert_eq!(srv.get(&c, "/metrics").await.0, StatusCode::UNAUTHORIZED);
    // An administrator (or a monitoring service account holding that role) reads them.
    let admin = srv.login("admin").await;
    let res = admin
        .get(format!("{}/metrics", srv.url))
        .send()
        .await
        .expect("metrics");
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap_or_default();
    assert!(text.contains("probity_http_requests"), "{text}");
}
