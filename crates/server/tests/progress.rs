//! Feedback on long work: a card intake (DC-05) and a retention run (RET-10) report how far they
//! are, and the operations page shows running work with its progress and the time left, refreshing
//! itself while it runs; work whose node stops reporting shows as stalled. Runs over HTTP on
//! SQLite and PostgreSQL with the real camera sample files.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::Backend;
use probity_server::evidence;
use probity_server::progress::{Tracker, CARD_INTAKE, GALLERY_IMPORT};
use reqwest::StatusCode;
use serde_json::Value;

fn camera_file(name: &str) -> Vec<u8> {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join("camera").join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "read {}: {e}; set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        )
    })
}

fn tasks(view: &Value) -> Vec<Value> {
    view["tasks"].as_array().cloned().unwrap_or_default()
}

/// DC-05 and the operations page: a card intake is recorded as long work with one count per
/// file on the card, and ends completed with every file counted.
async fn dc_05_card_intake_reports_progress_on_operations_page_body(backend: Backend) {
    let srv = common::start(backend).await;
    let card = tempfile::tempdir().expect("card");
    std::fs::create_dir_all(card.path().join("DCIM")).expect("mkdir");
    for (name, sample) in [
        ("DCIM/IMG_0001.JPG", "apple_iphone4.jpg"),
        ("DCIM/IMG_0002.JPG", "apple_minimal.jpg"),
        ("DCIM/IMG_0003.HEIC", "apple_iphone8.heic"),
    ] {
        std::fs::write(card.path().join(name), camera_file(sample)).expect("copy");
    }
    let rivera = srv.principal("det.rivera").await;
    let case = srv
        .state
        .load_case("2026-019-000101")
        .await
        .expect("case")
        .expect("demo case");
    let fields: HashMap<String, String> = [
        ("purpose", "crime_scene"),
        ("basis_kind", "no_reasonable_expectation_of_privacy"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let record = evidence::intake::capture_record_from_fields(&fields).expect("record");
    evidence::ingest_card(&srv.state, &rivera, &case, record, card.path(), None)
        .await
        .expect("intake");

    let admin = srv.login("admin").await;
    let (s, view) = srv.get(&admin, "/api/operations/runs").await;
    assert_eq!(s, StatusCode::OK, "{view}");
    let intake = tasks(&view)
        .into_iter()
        .find(|t| t["kind"] == CARD_INTAKE)
        .unwrap_or_else(|| panic!("no card intake in {view}"));
    assert_eq!(intake["label"], "2026-019-000101");
    assert_eq!(intake["started_by"], "user:det.rivera");
    assert_eq!(intake["status"], "completed", "{intake}");
    assert_eq!(intake["done"], 3);
    assert_eq!(intake["total"], 3);
    assert_eq!(intake["percent"], 100);
}
both!(
    dc_05_card_intake_reports_progress_on_operations_page,
    super::dc_05_card_intake_reports_progress_on_operations_page_body
);

/// The operations page shows running work with its progress bar and an estimate of the time
/// left, and refreshes itself while work runs; the estimate goes when the work ends.
async fn long_work_shows_progress_and_time_left_body(backend: Backend) {
    let srv = common::start(backend).await;
    let mut t = Tracker::start(
        &srv.state,
        GALLERY_IMPORT,
        "photo repository upload",
        "user:admin",
        Some(10),
    )
    .await;
    srv.state.clock.advance(chrono::Duration::seconds(6));
    t.advance(3, None).await;
    // The last count is written whatever the time since the previous write.
    let admin = srv.login("admin").await;
    let (_, view) = srv.get(&admin, "/api/operations/runs").await;
    let task = tasks(&view)
        .into_iter()
        .find(|x| x["kind"] == GALLERY_IMPORT)
        .unwrap_or_else(|| panic!("no import in {view}"));
    // Written at most twice a second: the first count may wait for the next one.
    assert!(task["done"] == 3 || task["done"] == 0, "{task}");
    assert_eq!(task["status"], "running", "{task}");
    srv.state.clock.advance(chrono::Duration::seconds(1));
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    t.advance(5, None).await;
    let (_, view) = srv.get(&admin, "/api/operations/runs").await;
    let task = tasks(&view)
        .into_iter()
        .find(|x| x["kind"] == GALLERY_IMPORT)
        .expect("import");
    assert_eq!(task["done"], 5, "{task}");
    assert_eq!(task["percent"], 50);
    // 5 done in the time so far (about 7 s): the 5 left take as long again.
    let at = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(task[k].as_str().expect("time")).expect("rfc 3339")
    };
    let elapsed = (at("updated_at") - at("started_at")).num_milliseconds() as f64 / 1000.0;
    let eta = task["eta_seconds"].as_i64().expect("estimate");
    assert!((eta as f64 - elapsed).abs() <= 1.0, "{task}");

    let r = admin
        .get(format!("{}/operations", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("operations page");
    assert_eq!(
        r.headers().get("refresh").and_then(|v| v.to_str().ok()),
        Some("5"),
        "the page refreshes itself while work runs"
    );
    let html = r.text().await.expect("html");
    assert!(html.contains("5 of 10 (50 %)"), "progress shown");
    assert!(html.contains(&format!("about {eta} s")), "time left shown");

    t.advance(10, None).await;
    t.finish(true).await;
    let r = admin
        .get(format!("{}/operations", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("operations page");
    assert!(r.headers().get("refresh").is_none(), "no refresh when idle");
    let (_, view) = srv.get(&admin, "/api/operations/runs").await;
    let task = tasks(&view)
        .into_iter()
        .find(|x| x["kind"] == GALLERY_IMPORT)
        .expect("import");
    assert_eq!(task["status"], "completed");
    assert!(task["eta_seconds"].is_null());

    // Work whose node stops reporting is shown as stalled, not as running for ever.
    let mut silent = Tracker::start(&srv.state, CARD_INTAKE, "card", "user:x", Some(4)).await;
    silent.advance(1, None).await;
    srv.state.clock.advance(chrono::Duration::minutes(5));
    let (_, view) = srv.get(&admin, "/api/operations/runs").await;
    let task = tasks(&view)
        .into_iter()
        .find(|x| x["kind"] == CARD_INTAKE)
        .expect("intake");
    assert_eq!(task["status"], "stalled", "{task}");
}
both!(
    long_work_shows_progress_and_time_left,
    super::long_work_shows_progress_and_time_left_body
);
