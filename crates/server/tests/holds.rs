//! Legal holds (RET-11) through the API and the web page: placed and released by the Legal
//! Bureau with a matter and a reason, listed and searched, audited, and honoured by the robot
//! data retention run (a held frame is never disposed, whatever its date). Every test runs on
//! SQLite and PostgreSQL.

mod common;

use chrono::{Duration, Utc};
use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";
const LEGAL: &str = "apo.singh";

// ------------------------------------------------------------------ helpers (from thermal.rs)

fn data_dir() -> std::path::PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = std::env::var("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("../shared/data"));
    assert!(
        dir.join("thermal").is_dir(),
        "the sample data is missing: {} has no thermal/ folder; set PROBITY_TEST_DATA to the shared data folder",
        dir.display()
    );
    dir
}

async fn train(srv: &TestServer, admin: &reqwest::Client, name: &str) {
    let today = Utc::now().date_naive();
    let (s, b) = srv
        .post(
            admin,
            &format!("/api/users/{name}/training"),
            json!({ "course": "thermographic_cameras", "completed": today }),
        )
        .await;
    assert!(s.is_success(), "train {name}: {b}");
}

/// A robot source account (investigator of PCT-019, trained), authorized as `robot`; its token.
async fn robot_source(srv: &TestServer, name: &str) -> String {
    let admin = srv.login("admin").await;
    let today = Utc::now().date_naive();
    let (s, b) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": name, "display_name": format!("Robot {name}"),
                    "rank": "civilian", "command": "PCT-019", "kind": "service" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "create {name}: {b}");
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{name}/assignments"),
            json!({ "role": "investigator", "command": "PCT-019", "starts": today }),
        )
        .await;
    assert!(s.is_success(), "assign {name}: {b}");
    train(srv, &admin, name).await;
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{name}/tokens"),
            json!({ "label": "robot relay" }),
        )
        .await;
    assert!(s.is_success(), "token for {name}: {b}");
    let token = b["token"].as_str().expect("token").to_string();
    let sup = srv.login("lt.moreau").await;
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            json!({
                "source": name, "source_kind": "robot", "basis": "public_observation",
                "risks_to_personnel": "none", "risks_to_civilians": "none expected",
                "risks_to_suspects": "none", "legitimate_purpose": "patrol the plaza",
                "duration_minutes": 120,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "authorize {name}: {b}");
    token
}

async fn push_robot_frame(srv: &TestServer, source: &str, token: &str, jpeg: &[u8]) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/thermal/live/{source}/frames", srv.url))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "image/jpeg")
        .body(jpeg.to_vec())
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["retained"], true);
}

async fn place(srv: &TestServer, c: &reqwest::Client, body: Value) -> (StatusCode, Value) {
    srv.post(c, "/api/holds", body).await
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------ RET-11 and robot retention

async fn ret_11_held_robot_frame_is_never_disposed(backend: Backend) {
    let srv = common::start(backend).await;
    let token = robot_source(&srv, "robot.hold").await;
    let jpeg = std::fs::read(data_dir().join("thermal/flir_e40.jpg")).expect("sample");
    for _ in 0..3 {
        push_robot_frame(&srv, "robot.hold", &token, &jpeg).await;
    }
    let sup = srv.login("lt.moreau").await;
    let (s, frames) = srv.get(&sup, "/api/thermal/robot/frames").await;
    assert_eq!(s, StatusCode::OK, "{frames}");
    let frames = ids(&frames);
    assert_eq!(frames.len(), 3);
    let (held, free, in_case) = (&frames[0], &frames[1], &frames[2]);

    // The Legal Bureau holds one frame directly, and the case another frame is moved into.
    let legal = srv.login(LEGAL).await;
    let (s, hold) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "robot_frame", "subject": held,
                "matter": "Doe v. City of New York", "reason": "plaintiff's notice of claim" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    assert_eq!(hold["status"], "active");
    let admin = srv.login("admin").await;
    train(&srv, &admin, "det.rivera").await;
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &rivera,
            &format!("/api/cases/{CASE}/thermal/robot-frames"),
            json!({ "frame_id": in_case }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": CASE,
                "matter": "Roe investigation", "reason": "grand jury subpoena" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");

    // 31 days on: the free frame goes, the held one stays and the run says why (RET-11).
    let now = Utc::now();
    let run = |days| {
        probity_server::thermal::robot::run_retention(
            &srv.state,
            now + Duration::days(days),
            "system:retention",
            "policy RET-10",
        )
    };
    let report = run(31).await.expect("retention run");
    let disposed: Vec<_> = report
        .certificates
        .iter()
        .map(|c| c.robot_frame.clone())
        .collect();
    assert_eq!(disposed, vec![free.clone()]);
    assert_eq!(report.held.len(), 1, "{:?}", report.held);
    assert_eq!(&report.held[0].robot_frame, held);
    assert_eq!(report.held[0].rule, "RET-11");
    assert!(report.held[0].detail.contains("Doe v. City of New York"));

    // Years later, still held.
    let report = run(4000).await.expect("retention run");
    assert!(report.certificates.is_empty());
    assert_eq!(report.held.len(), 1);
    let (s, _) = srv
        .get(&sup, &format!("/api/thermal/robot/frames/{held}/image"))
        .await;
    assert_eq!(s, StatusCode::OK, "a held frame is intact");

    // The frame moved into the held case is held through the case (asked of the domain as the
    // run asks it), whatever its date.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let frame = probity_store::thermal::get_robot_frame(
        &mut tx,
        uuid::Uuid::parse_str(in_case).expect("uuid"),
    )
    .await
    .expect("read")
    .expect("frame");
    let holds = probity_server::holds::holds_on_robot_frame(&mut tx, &frame)
        .await
        .expect("holds");
    tx.commit().await.expect("commit");
    let rule = probity_domain::retention_for_robot_data(
        srv.state.schedule().expect("schedule"),
        frame.captured_at,
        None,
    );
    let refusal = probity_domain::may_dispose(&rule, &holds, &[], now + Duration::days(4000))
        .expect_err("held through its case");
    assert_eq!(refusal.rule(), Some("RET-11"));

    // Released, the frame follows its schedule again and goes at the next run.
    let (s, b) = srv
        .post(
            &legal,
            &format!("/api/holds/{}/release", hold["id"].as_str().expect("id")),
            json!({ "reason": "claim settled" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let report = run(4001).await.expect("retention run");
    assert!(report.held.is_empty());
    assert_eq!(report.certificates.len(), 1);
    assert_eq!(&report.certificates[0].robot_frame, held);
    assert_eq!(report.certificates[0].rule, "RET-10");

    // A destroyed frame cannot be held any more.
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "robot_frame", "subject": free,
                "matter": "Late matter", "reason": "too late" }),
    )
    .await;
    assert_eq!(s, StatusCode::GONE, "{b}");
}
both!(
    ret_11_held_robot_frame_is_never_disposed,
    super::ret_11_held_robot_frame_is_never_disposed
);

// ------------------------------------------------------------------ place, release, list, audit

async fn ret_11_holds_placed_released_listed_and_audited(backend: Backend) {
    let srv = common::start(backend).await;
    let legal = srv.login(LEGAL).await;

    // Missing matter and reason: both named at once, with the rule.
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": CASE, "matter": " " }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["rule"], "RET-11");
    assert_eq!(b["missing"], json!(["matter", "reason"]));
    // A record that does not exist.
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": "2099-999-999999",
                "matter": "Doe", "reason": "claim" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "subject");
    assert_eq!(b["rule"], "RET-11");
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "evidence_item", "subject": uuid::Uuid::now_v7().to_string(),
                "matter": "Doe", "reason": "claim" }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["field"], "subject");
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "blob", "subject": "x", "matter": "Doe", "reason": "claim" }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "subject_kind");
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": CASE, "date_of_birth": "1980-02-03",
                "matter": "Doe", "reason": "claim" }),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "date_of_birth");

    // Three holds: a case, a member, a named person.
    let (s, case_hold) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": CASE,
                "matter": "Doe v. City of New York", "reason": "notice of claim received" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{case_hold}");
    assert_eq!(case_hold["subject"], CASE);
    assert_eq!(case_hold["placed_by"], LEGAL);
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "user", "subject": "det.rivera",
                "matter": "Roe internal review", "reason": "preserve the member's records" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, person) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "person", "subject": "  John   Q. Doe ", "date_of_birth": "1980-02-03",
                "matter": "Doe v. City of New York", "reason": "plaintiff" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{person}");
    assert_eq!(person["subject"], "John Q. Doe");
    assert_eq!(person["date_of_birth"], "1980-02-03");
    // The same record for the same matter twice is a conflict.
    let (s, b) = place(
        &srv,
        &legal,
        json!({ "subject_kind": "case", "subject": CASE,
                "matter": "doe v. city of new york", "reason": "again" }),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");

    // Listed and searchable.
    let (s, all) = srv.get(&legal, "/api/holds").await;
    assert_eq!(s, StatusCode::OK, "{all}");
    assert_eq!(ids(&all).len(), 3);
    let (_, doe) = srv.get(&legal, "/api/holds?matter=DOE%20v.").await;
    assert_eq!(ids(&doe).len(), 2, "{doe}");
    let (_, rivera) = srv.get(&legal, "/api/holds?record=det.rivera").await;
    assert_eq!(ids(&rivera).len(), 1, "{rivera}");
    let (_, people) = srv.get(&legal, "/api/holds?record=person").await;
    assert_eq!(ids(&people), ids(&json!([person])));
    let (s, b) = srv.get(&legal, "/api/holds?status=lost").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "status");

    // Release: a reason is needed; a release happens once.
    let id = case_hold["id"].as_str().expect("id").to_string();
    let (s, b) = srv
        .post(&legal, &format!("/api/holds/{id}/release"), json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["missing"], json!(["reason"]));
    let (s, released) = srv
        .post(
            &legal,
            &format!("/api/holds/{id}/release"),
            json!({ "reason": "claim withdrawn" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{released}");
    assert_eq!(released["status"], "released");
    assert_eq!(released["released_by"], LEGAL);
    assert_eq!(released["release_reason"], "claim withdrawn");
    let (s, b) = srv
        .post(
            &legal,
            &format!("/api/holds/{id}/release"),
            json!({ "reason": "again" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["rule"], "RET-11");
    let (s, _) = srv
        .post(
            &legal,
            &format!("/api/holds/{}/release", uuid::Uuid::now_v7()),
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (_, active) = srv.get(&legal, "/api/holds?status=active").await;
    assert_eq!(ids(&active).len(), 2);
    let (_, gone) = srv.get(&legal, "/api/holds?status=released").await;
    assert_eq!(ids(&gone), vec![id.clone()]);
    let (s, one) = srv.get(&legal, &format!("/api/holds/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(one["released_at"], released["released_at"]);
    // The records officer reads holds too (retention.read).
    let records = srv.login("rec.lopez").await;
    let (s, b) = srv.get(&records, "/api/holds").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(ids(&b).len(), 3);

    // Placing and releasing are in the audit trail, with who, why and the rule.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let trail = probity_store::audit::for_record(&mut tx, "legal_hold", &id)
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    let actions: Vec<_> = trail
        .iter()
        .filter(|e| e.outcome == "success")
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.reason.clone()))
        .collect();
    assert!(actions.contains(&(
        "retention.hold.place",
        "user:apo.singh",
        Some("notice of claim received".into())
    )));
    assert!(actions.contains(&(
        "retention.hold.release",
        "user:apo.singh",
        Some("claim withdrawn".into())
    )));
    assert!(trail.iter().all(|e| e.detail.contains("RET-11")));
}
both!(
    ret_11_holds_placed_released_listed_and_audited,
    super::ret_11_holds_placed_released_listed_and_audited
);

// ------------------------------------------------------------------ who may place holds

async fn ret_11_only_legal_bureau_places_holds(backend: Backend) {
    let srv = common::start(backend).await;
    let body = json!({ "subject_kind": "case", "subject": CASE,
                       "matter": "Doe v. City of New York", "reason": "notice of claim" });
    for who in ["det.rivera", "lt.moreau", "fri.chen"] {
        let c = srv.login(who).await;
        let (s, b) = place(&srv, &c, body.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {b}");
        assert!(
            b["rule"].as_str().is_some_and(|r| !r.is_empty()),
            "{who}: the refusal names the rule: {b}"
        );
        let (s, _) = srv.get(&c, "/api/holds").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who} may not read holds");
    }
    let (s, _) = place(&srv, &common::client(), body.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // The Legal Bureau's privacy officer places and releases.
    let legal = srv.login(LEGAL).await;
    let (s, hold) = place(&srv, &legal, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{hold}");
    let id = hold["id"].as_str().expect("id").to_string();
    // An investigator cannot release it either.
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &rivera,
            &format!("/api/holds/{id}/release"),
            json!({ "reason": "not mine to release" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(b["rule"].as_str().is_some());

    // The pack gives the records officer legal holds too (RET-11.records-officer-retention):
    // the route follows the pack.
    let records = srv.login("rec.lopez").await;
    let (s, b) = place(
        &srv,
        &records,
        json!({ "subject_kind": "user", "subject": "det.okafor",
                "matter": "Records review", "reason": "preserve" }),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}
both!(
    ret_11_only_legal_bureau_places_holds,
    super::ret_11_only_legal_bureau_places_holds
);

// ------------------------------------------------------------------ the page

async fn ret_11_holds_page_has_the_form(backend: Backend) {
    let srv = common::start(backend).await;
    let legal = srv.login(LEGAL).await;
    let r = legal
        .get(format!("{}/holds", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html")));
    let html = r.text().await.expect("html");
    assert!(html.contains("id=\"place-hold-form\""), "{html}");
    assert!(!html.contains("<script>") && !html.contains(" style="));
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf token")
        .to_string();
    assert!(!csrf.is_empty());

    // A form post without the token is refused; with it the hold is placed and listed.
    let form = [
        ("subject_kind", "person"),
        ("subject", "Jane Roe"),
        ("date_of_birth", ""),
        ("matter", "Roe v. City"),
        ("reason", "notice of claim"),
    ];
    let r = legal
        .post(format!("{}/holds", srv.url))
        .header("accept", "text/html")
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut with_csrf = form.to_vec();
    with_csrf.push(("csrf", &csrf));
    let r = legal
        .post(format!("{}/holds", srv.url))
        .header("accept", "text/html")
        .form(&with_csrf)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = legal
        .get(format!("{}/holds?matter=roe", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        html.contains("Jane Roe") && html.contains("/release"),
        "{html}"
    );

    // An investigator gets no page.
    let rivera = srv.login("det.rivera").await;
    let r = rivera
        .get(format!("{}/holds", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
both!(
    ret_11_holds_page_has_the_form,
    super::ret_11_holds_page_has_the_form
);
