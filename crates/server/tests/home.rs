//! The home page's worklist (`GET /api/me/worklist`, `/`): what waits for each person across the
//! workflows, each item decided on its own record by the policy engine (and, where the policy
//! names who takes a step, by the domain), with its age or deadline, its rule and its link; gone
//! once acted on. The navigation shows the counts. Every test runs on SQLite and PostgreSQL.

mod common;

use chrono::{Duration, Utc};
use common::lfw::{enrol, identities, lfw_file};
use common::{Backend, TestServer};
use probity_server::config::CommandSection;
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";

// ------------------------------------------------------------------ helpers

fn with_other_command(c: &mut probity_server::Config) {
    c.commands.push(CommandSection {
        code: "PCT-075".into(),
        name: "75th Precinct".into(),
        intelligence_division: false,
    });
}

/// A person with `role` in `command` (trained for facial recognition and cameras), signed in.
async fn person(srv: &TestServer, username: &str, role: &str, command: &str) -> reqwest::Client {
    let admin = srv.login("admin").await;
    let (s, b) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": username, "display_name": format!("Demo {username}"),
                    "rank": "detective", "command": command, "kind": "member",
                    "password": probity_server::demo::DEMO_PASSWORD }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "create {username}: {b}");
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{username}/assignments"),
            json!({ "role": role, "command": command,
                    "starts": Utc::now().date_naive() - Duration::days(1) }),
        )
        .await;
    assert!(s.is_success(), "assign {username}: {b}");
    for course in ["fr_basic", "digital_cameras"] {
        let (s, b) = srv
            .post(
                &admin,
                &format!("/api/users/{username}/training"),
                json!({ "course": course, "completed": Utc::now().date_naive() }),
            )
            .await;
        assert!(s.is_success(), "train {username}: {b}");
    }
    srv.login(username).await
}

async fn worklist(srv: &TestServer, c: &reqwest::Client) -> Value {
    let (s, w) = srv.get(c, "/api/me/worklist").await;
    assert_eq!(s, StatusCode::OK, "{w}");
    w
}

/// The item of `kind` on `record`, if the worklist holds it.
fn item(w: &Value, kind: &str, record: &str) -> Option<Value> {
    w["items"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|i| i["kind"] == kind && i["record_id"] == record)
        })
        .cloned()
}

/// Items of any kind on `record`.
fn on(w: &Value, record: &str) -> Vec<String> {
    w["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|i| i["record_id"] == record)
                .map(|i| i["kind"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn html(srv: &TestServer, c: &reqwest::Client, path: &str) -> String {
    let r = c
        .get(format!("{}{path}", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.expect("html")
}

/// det.rivera submits a request with image 1 of `name`; its id.
async fn submit(srv: &TestServer, name: &str) -> String {
    let rivera = srv.login("det.rivera").await;
    let form = Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            Part::bytes(lfw_file(name, 1)).file_name("still.jpg"),
        )
        .text("source_0", "cctv");
    let r = rivera
        .post(format!("{}/api/cases/{CASE}/fr-requests", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("submit");
    let s = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
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

async fn ok(srv: &TestServer, c: &reqwest::Client, path: &str, body: Value) -> Value {
    let (s, b) = srv.post(c, path, body).await;
    assert!(s.is_success(), "{path}: {s} {b}");
    b
}

// ------------------------------------------------------------------ FR (SEC-02, FR-05..FR-12)

/// Each step of an FR request is waiting for exactly the people who may take it on this
/// request: the FR investigator for the basis, the requester (not another investigator of the
/// command, nor one of another command) for the background check, another FR investigator (not
/// the identifier) for the peer review, then the supervisor. Once taken, the item is gone.
async fn sec_02_worklist_shows_only_what_the_person_may_act_on_body(backend: Backend) {
    let srv = common::start_with(backend, with_other_command).await;
    let ids = identities(3);
    enrol(&srv, &ids).await;
    let id = submit(&srv, &ids[1]).await;
    let base = format!("/api/fr/requests/{id}");
    let rivera = srv.login("det.rivera").await;
    let okafor = srv.login("det.okafor").await;
    let brooks = person(&srv, "det.brooks", "investigator", "PCT-075").await;
    let chen = srv.login("fri.chen").await;
    let novak = srv.login("fri.novak").await;
    let haddad = srv.login("sgt.haddad").await;

    // Submitted: the basis waits for an FR investigator, with its age, rule and link.
    let w = worklist(&srv, &chen).await;
    let it = item(&w, "fr.confirm_basis", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "FR-05", "{it}");
    assert_eq!(it["action"], "fr.basis.confirm", "{it}");
    assert_eq!(it["link"], format!("/fr/requests/{id}"), "{it}");
    assert_eq!(it["group"], "fr");
    assert!(it["since"].is_string() && it["deadline"].is_null(), "{it}");
    assert!(
        it["title"].as_str().unwrap_or_default().contains(CASE),
        "{it}"
    );
    let fr_group = w["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["group"] == "fr"))
        .cloned()
        .expect("fr group");
    assert!(fr_group["count"].as_u64().unwrap_or(0) >= 1, "{w}");
    for (who, c) in [
        ("det.rivera", &rivera),
        ("det.okafor", &okafor),
        ("det.brooks", &brooks),
        ("sgt.haddad", &haddad),
    ] {
        let w = worklist(&srv, c).await;
        assert!(
            on(&w, &id).is_empty(),
            "{who} has nothing to do on the request yet: {w}"
        );
    }

    ok(&srv, &chen, &format!("{base}/confirm-basis"), json!({})).await;
    let w = worklist(&srv, &chen).await;
    assert!(item(&w, "fr.confirm_basis", &id).is_none(), "taken: {w}");
    assert!(item(&w, "fr.quality", &id).is_some(), "the next step: {w}");
    // Only the FR investigator who confirmed the basis works the request.
    let w = worklist(&srv, &novak).await;
    assert!(on(&w, &id).is_empty(), "{w}");

    ok(
        &srv,
        &chen,
        &format!("{base}/quality"),
        json!({"selected_probe": 0, "suitable": true, "reasons": ["one frontal face, sharp"]}),
    )
    .await;
    let w = worklist(&srv, &haddad).await;
    assert!(
        item(&w, "fr.discussion", &id).is_some(),
        "FR-22 waits for the supervisor: {w}"
    );
    ok(
        &srv,
        &haddad,
        &format!("{base}/discussion"),
        json!({"note": "use (1) discussed"}),
    )
    .await;
    assert!(item(&worklist(&srv, &chen).await, "fr.search", &id).is_some());
    ok(&srv, &chen, &format!("{base}/search"), json!({})).await;
    assert!(item(&worklist(&srv, &chen).await, "fr.identify", &id).is_some());
    let (s, pool) = srv.get(&chen, &format!("{base}/candidates")).await;
    assert_eq!(s, StatusCode::OK, "{pool}");
    let cands = pool["candidates"].as_array().expect("candidates");
    assert!(cands.len() >= 2, "{pool}");
    ok(
        &srv,
        &chen,
        &format!("{base}/identification"),
        json!({"comparisons": [
            {"candidate": cands[0]["candidate"], "features": all_features("similar"), "judgement": "proposed"},
            {"candidate": cands[1]["candidate"], "features": all_features("different"), "judgement": "excluded"}
        ]}),
    )
    .await;

    // FR-10: the background check waits for the requester only.
    let w = worklist(&srv, &rivera).await;
    let it = item(&w, "fr.background_check", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "FR-10", "{it}");
    for (who, c) in [
        ("det.okafor", &okafor),
        ("det.brooks", &brooks),
        ("fri.chen", &chen),
    ] {
        let w = worklist(&srv, c).await;
        assert!(on(&w, &id).is_empty(), "{who}: {w}");
    }
    ok(
        &srv,
        &rivera,
        &format!("{base}/background-check"),
        json!({"result": "known address near the scene", "corroborates": true}),
    )
    .await;
    assert!(on(&worklist(&srv, &rivera).await, &id).is_empty());

    // FR-11: the peer review waits for another FR investigator, never the identifier.
    let w = worklist(&srv, &novak).await;
    let it = item(&w, "fr.peer_review", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "FR-11", "{it}");
    assert_eq!(it["action"], "fr.peer_review", "{it}");
    let w = worklist(&srv, &chen).await;
    assert!(
        on(&w, &id).is_empty(),
        "the identifier does not review: {w}"
    );
    for (who, c) in [("det.brooks", &brooks), ("sgt.haddad", &haddad)] {
        let w = worklist(&srv, c).await;
        assert!(on(&w, &id).is_empty(), "{who}: {w}");
    }
    ok(
        &srv,
        &novak,
        &format!("{base}/peer-review"),
        json!({"concur": true, "notes": "features agree"}),
    )
    .await;
    let w = worklist(&srv, &novak).await;
    assert!(on(&w, &id).is_empty(), "reviewed: gone: {w}");
    // FR-12: now the supervisor.
    let w = worklist(&srv, &haddad).await;
    let it = item(&w, "fr.supervisor_review", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "FR-12", "{it}");

    // Every read of the worklist is audited with the records it showed.
    let trail = srv.audit_of("worklist", "sgt.haddad").await;
    assert!(
        trail
            .iter()
            .any(|e| e.action == "worklist.read" && e.detail.to_string().contains(&id)),
        "{trail:?}"
    );
}
both!(
    sec_02_worklist_shows_only_what_the_person_may_act_on,
    super::sec_02_worklist_shows_only_what_the_person_may_act_on_body
);

// ------------------------------------------------------------------ breaches (EXT-05)

/// A recorded breach waits for the privacy staff with its 24-hour deadline; one past it is
/// overdue and comes first; the report to the CPO takes it off (and the notification decision
/// comes next). Nobody else sees it.
async fn ext_05_breach_clock_with_deadline_body(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login("apo.singh").await;
    let now = srv.state.clock.now();
    let mut ids = Vec::new();
    for hours in [2, 30] {
        let discovered = now - Duration::hours(hours);
        let (s, b) = srv
            .post(
                &apo,
                "/api/breaches",
                json!({ "kind": "misdirected", "what_disclosed": "an arrest report",
                        "disclosed_to": "the wrong agency", "discovered_at": discovered.to_rfc3339() }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{b}");
        ids.push((b["id"].as_str().expect("id").to_string(), discovered));
    }
    let (fresh, fresh_at) = ids[0].clone();
    let (late, _) = ids[1].clone();
    let w = worklist(&srv, &apo).await;
    let it = item(&w, "breach.cpo_report", &fresh).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "EXT-05");
    assert_eq!(it["overdue"], false, "{it}");
    assert_eq!(it["link"], format!("/breaches/{fresh}"));
    let deadline = chrono::DateTime::parse_from_rfc3339(it["deadline"].as_str().expect("deadline"))
        .expect("rfc 3339");
    assert_eq!(
        deadline.timestamp(),
        (fresh_at + Duration::hours(24)).timestamp(),
        "{it}"
    );
    let late_item = item(&w, "breach.cpo_report", &late).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(late_item["overdue"], true, "{late_item}");
    let items = w["items"].as_array().expect("items");
    let pos = |id: &str| items.iter().position(|i| i["record_id"] == id);
    assert!(
        pos(&late) < pos(&fresh),
        "the overdue clock comes first: {w}"
    );
    assert!(items[0]["overdue"] == true, "overdue items lead: {w}");

    for who in ["det.rivera", "rec.lopez", "fri.chen"] {
        let c = srv.login(who).await;
        let w = worklist(&srv, &c).await;
        assert!(
            on(&w, &fresh).is_empty() && on(&w, &late).is_empty(),
            "{who}: {w}"
        );
    }

    ok(
        &srv,
        &apo,
        &format!("/api/breaches/{fresh}/cpo-report"),
        json!({ "method": "telephone", "note": "spoke to the duty officer" }),
    )
    .await;
    let w = worklist(&srv, &apo).await;
    assert!(item(&w, "breach.cpo_report", &fresh).is_none(), "{w}");
    assert!(item(&w, "breach.notification", &fresh).is_some(), "{w}");
}
both!(
    ext_05_breach_clock_with_deadline,
    super::ext_05_breach_clock_with_deadline_body
);

// ------------------------------------------------------------------ FOIL (PUB-01)

/// A FOIL request waits for the records officer with its acknowledgement deadline (a business
/// day); acknowledged, the decision waits with the decision date.
async fn pub_01_foil_deadline_body(backend: Backend) {
    let srv = common::start(backend).await;
    let officer = srv.login("rec.lopez").await;
    let today = probity_domain::foil::new_york_date(Utc::now());
    let received = today - Duration::days(20);
    let b = ok(
        &srv,
        &officer,
        "/api/foil/requests",
        json!({ "requester": "A. Journalist", "contact": "desk@example.org",
                "description": "Photographs taken at the scene", "received_on": received.to_string() }),
    )
    .await;
    let id = b["request"]["id"].as_str().expect("id").to_string();
    let w = worklist(&srv, &officer).await;
    let it = item(&w, "foil.acknowledge", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "PUB-01");
    assert_eq!(
        it["deadline"],
        probity_domain::foil::acknowledge_by(received).to_string(),
        "{it}"
    );
    assert_eq!(it["overdue"], true, "20 days after receipt: {it}");
    assert_eq!(it["link"], format!("/foil/requests/{id}"));
    let rivera = srv.login("det.rivera").await;
    assert!(on(&worklist(&srv, &rivera).await, &id).is_empty());

    let by = probity_domain::foil::latest_decision_without_extension(today);
    ok(
        &srv,
        &officer,
        &format!("/api/foil/requests/{id}/acknowledge"),
        json!({ "decision_by": by.to_string() }),
    )
    .await;
    let w = worklist(&srv, &officer).await;
    assert!(item(&w, "foil.acknowledge", &id).is_none(), "{w}");
    let it = item(&w, "foil.decide", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["deadline"], by.to_string(), "{it}");
    assert_eq!(it["overdue"], false, "{it}");
}
both!(pub_01_foil_deadline, super::pub_01_foil_deadline_body);

// ------------------------------------------------------------------ dispositions (RET-11)

/// A proposed disposition waits for the records manager, never for its proposer; approved, it
/// is gone.
async fn ret_11_disposition_awaiting_approval_body(backend: Backend) {
    let srv = common::start(backend).await;
    let officer = srv.login("rec.lopez").await;
    let f = ok(
        &srv,
        &officer,
        "/api/personal-files",
        json!({ "subject_kind": "criminal_or_suspect", "name": "John Roe",
                "date_of_birth": "1920-05-01", "date_of_death": "2001-02-03" }),
    )
    .await;
    let file = f["id"].as_str().expect("id");
    let d = ok(
        &srv,
        &officer,
        "/api/dispositions",
        json!({ "record_kind": "personal_file", "record_id": file, "reason": "RET-09 ended" }),
    )
    .await;
    let id = d["id"].as_str().expect("id").to_string();
    let manager = srv.login("rm.adeyemi").await;
    let w = worklist(&srv, &manager).await;
    let it = item(&w, "disposition.approve", &id).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "RET-11");
    assert_eq!(it["link"], "/records");
    assert!(
        it["title"]
            .as_str()
            .unwrap_or_default()
            .contains("rec.lopez"),
        "{it}"
    );
    assert!(
        on(&worklist(&srv, &officer).await, &id).is_empty(),
        "four eyes"
    );

    // The home page shows it, grouped, with its link, and the navigation counts it.
    let page = html(&srv, &manager, "/").await;
    assert!(page.contains("Waiting for you"), "{page}");
    assert!(page.contains(&format!("data-record=\"{id}\"")), "{page}");
    assert!(page.contains("Dispositions (RET-11)"), "{page}");
    assert!(
        page.contains("Home <span class=\"nav-count\""),
        "the navigation counts what waits: {page}"
    );

    ok(
        &srv,
        &manager,
        &format!("/api/dispositions/{id}/approve"),
        json!({}),
    )
    .await;
    let w = worklist(&srv, &manager).await;
    assert!(on(&w, &id).is_empty(), "approved: gone: {w}");
    let page = html(&srv, &manager, "/").await;
    assert!(!page.contains(&format!("data-record=\"{id}\"")), "{page}");
}
both!(
    ret_11_disposition_awaiting_approval,
    super::ret_11_disposition_awaiting_approval_body
);

/// Signed out, there is no worklist.
#[tokio::test]
async fn worklist_needs_sign_in() {
    let srv = common::start(Backend::Sqlite).await;
    let (s, _) = srv.get(&common::client(), "/api/me/worklist").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

// ------------------------------------------------------------------ cameras and thermal (DC-04, TH-05)

/// A camera never inspected waits, overdue, for the supervisors of its command until inspected;
/// a thermal deployment authorization expiring within the day waits for them with its expiry.
/// An investigator of the command is not waited on for either.
async fn dc_04_th_05_cameras_and_thermal_body(backend: Backend) {
    let srv = common::start(backend).await;
    let lt = srv.login("lt.moreau").await;
    let rivera = srv.login("det.rivera").await;
    let dev = ok(
        &srv,
        &lt,
        "/api/devices",
        json!({ "device_type": "phone", "make": "Apple", "model": "iPhone 8",
                "serial": "F2LW9876WXYZ", "storage_location": "PCT-019 locker 1",
                "inspection_interval_days": 14 }),
    )
    .await;
    let device = dev["id"].as_str().expect("id").to_string();
    let admin = srv.login("admin").await;
    ok(
        &srv,
        &admin,
        "/api/users",
        json!({ "username": "thermal.home", "display_name": "Thermal source home",
                "rank": "civilian", "command": "PCT-019", "kind": "service" }),
    )
    .await;
    let a = ok(
        &srv,
        &lt,
        "/api/thermal/authorizations",
        json!({
            "source": "thermal.home", "source_kind": "handheld", "basis": "exigent_emergency",
            "risks_to_personnel": "dark warehouse", "risks_to_civilians": "none expected",
            "risks_to_suspects": "armed suspect", "legitimate_purpose": "locate the suspect",
            "duration_minutes": 120,
        }),
    )
    .await;
    let authorization = a["id"].as_str().expect("id").to_string();

    let w = worklist(&srv, &lt).await;
    let it = item(&w, "device.inspect", &device).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["overdue"], true, "never inspected: {it}");
    assert_eq!(it["rule"], "DC-04");
    assert_eq!(it["link"], "/devices");
    let it = item(&w, "thermal.expiring", &authorization).unwrap_or_else(|| panic!("{w}"));
    assert_eq!(it["rule"], "TH-05");
    assert_eq!(it["overdue"], false);
    let expires = chrono::DateTime::parse_from_rfc3339(it["deadline"].as_str().expect("deadline"))
        .expect("rfc 3339");
    let left = expires.with_timezone(&Utc) - srv.state.clock.now();
    assert!(
        left > Duration::minutes(100) && left <= Duration::minutes(120),
        "{it}"
    );
    let w = worklist(&srv, &rivera).await;
    assert!(
        on(&w, &device).is_empty() && on(&w, &authorization).is_empty(),
        "{w}"
    );

    ok(
        &srv,
        &lt,
        &format!("/api/devices/{device}/inspections"),
        json!({ "accounted_for": true, "notes": "in locker" }),
    )
    .await;
    let w = worklist(&srv, &lt).await;
    assert!(
        item(&w, "device.inspect", &device).is_none(),
        "inspected: {w}"
    );
}
both!(
    dc_04_th_05_cameras_and_thermal,
    super::dc_04_th_05_cameras_and_thermal_body
);
