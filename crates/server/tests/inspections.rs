//! Tour inspections (SEC-06) against the running server: a command's supervisor adds an area
//! with computer systems and inspects it once per tour; a tour that ended without an inspection
//! is flagged to the commanding officer; another command's supervisor, or an investigator, can do
//! neither; a second inspection in one tour is refused. Tours follow the server's clock (moved
//! forward in-process). SQLite and PostgreSQL.

mod common;

use chrono::{Duration, Utc};
use common::Backend;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

async fn sec_06_missed_tour_flagged_to_commanding_officer_body(b: Backend) {
    let srv = common::start(b).await;
    // Start at the beginning of tomorrow's first tour, so tours are whole and predictable.
    let tomorrow = (Utc::now() + Duration::days(1)).date_naive();
    let start = tomorrow.and_hms_opt(0, 30, 0).expect("time").and_utc();
    srv.state.clock.advance(start - srv.state.clock.now());

    let moreau = srv.login("lt.moreau").await;
    let (s, e) = srv
        .post(
            &moreau,
            "/api/commands/PCT-019/areas",
            json!({ "name": " " }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "SEC-06");
    let (s, board) = srv
        .post(
            &moreau,
            "/api/commands/PCT-019/areas",
            json!({ "name": "Desk officer's terminal room" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{board}");
    let area = board["areas"][0]["id"].as_str().expect("area").to_string();
    let (s, board) = srv
        .post(
            &moreau,
            "/api/commands/PCT-019/inspections",
            json!({ "area": area, "findings": "no irregularity" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{board}");
    assert_eq!(board["areas"][0]["inspections"][0]["tour"], "first");
    // Once per tour.
    let (s, e) = srv
        .post(
            &moreau,
            "/api/commands/PCT-019/inspections",
            json!({ "area": area, "findings": "again" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert_eq!(rule(&e), "SEC-06", "{e}");

    // The second tour passes with no inspection: at 16:30 it is missed; the first is not.
    srv.state.clock.advance(Duration::hours(16));
    let co = srv.login("co.grant").await;
    let (s, board) = srv.get(&co, "/api/commands/PCT-019/inspections").await;
    assert_eq!(s, StatusCode::OK, "{board}");
    let missed: Vec<String> = board["areas"][0]["missed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(missed, vec![format!("{tomorrow} second")], "{board}");
    assert_eq!(board["missed_total"], 1);
    let html = co
        .get(format!("{}/commands/PCT-019/inspections", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains(&format!("{tomorrow} second")), "{html}");
    assert!(
        !html.contains("Record this tour"),
        "the commanding officer only reads"
    );

    // Another command's supervisor and an investigator can neither read nor record here.
    let rivera = srv.login("det.rivera").await;
    let (s, _) = srv.get(&rivera, "/api/commands/PCT-019/inspections").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = srv
        .post(
            &co,
            "/api/commands/PCT-019/inspections",
            json!({ "area": area, "findings": "x" }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the commanding officer does not record"
    );
    let (s, _) = srv.get(&moreau, "/api/commands/PCT-075/inspections").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another command");
    let recorded = srv
        .audit_of("command", "PCT-019")
        .await
        .into_iter()
        .filter(|e| e.action == "inspection.record")
        .map(|e| e.outcome)
        .collect::<Vec<_>>();
    // The one inspection, and the commanding officer's refused attempt.
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert!(recorded.iter().any(|o| o == "denied"), "{recorded:?}");
}
both!(
    sec_06_missed_tour_flagged_to_commanding_officer,
    super::sec_06_missed_tour_flagged_to_commanding_officer_body
);

/// SEC-06: an Integrity Control Officer records oversight of a command's recorded media (which
/// media, what was checked, what was found); the commanding officer sees it; a supervisor
/// cannot record it; a record missing its findings is refused naming SEC-06.
async fn sec_06_integrity_control_officer_records_media_oversight_body(b: Backend) {
    let srv = common::start(b).await;
    let ico = srv.login("ico.stein").await;
    let (s, e) = srv
        .post(
            &ico,
            "/api/commands/PCT-019/media-oversight",
            json!({ "medium": "lobby camera DVR", "checked": "retention and access log", "findings": " " }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(rule(&e), "SEC-06", "{e}");
    let (s, board) = srv
        .post(
            &ico,
            "/api/commands/PCT-019/media-oversight",
            json!({ "medium": "lobby camera DVR", "checked": "retention and access log",
                    "findings": "no irregularity; export log matches requests" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{board}");
    assert_eq!(board["media_oversight"][0]["recorded_by"], "ico.stein");
    let moreau = srv.login("lt.moreau").await;
    let (s, _) = srv
        .post(
            &moreau,
            "/api/commands/PCT-019/media-oversight",
            json!({ "medium": "x", "checked": "y", "findings": "z" }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a supervisor does not record media oversight"
    );
    let co = srv.login("co.grant").await;
    let html = co
        .get(format!("{}/commands/PCT-019/inspections", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .unwrap_or_default();
    assert!(html.contains("lobby camera DVR"), "{html}");
    assert!(
        !html.contains("Record oversight"),
        "the commanding officer only reads"
    );
}
both!(
    sec_06_integrity_control_officer_records_media_oversight,
    super::sec_06_integrity_control_officer_records_media_oversight_body
);
