//! `probity demo`'s work in progress: seeded through the system's own operations against a real
//! store, then checked through the HTTP API as the demonstration person who acts on each item.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Backend, TestServer};
use probity_server::demo;
use reqwest::StatusCode;
use serde_json::Value;

/// The shared sample data, as the demo finds it (`PROBITY_TEST_DATA`).
fn use_test_data() {
    if std::env::var_os("PROBITY_TEST_DATA").is_none() {
        let base = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
        std::env::set_var("PROBITY_TEST_DATA", base);
    }
    let base = demo::activity::test_data();
    assert!(
        base.join("faces").join("lfw").is_dir() && base.join("camera").is_dir(),
        "test data missing in {}: set PROBITY_TEST_DATA to the shared data folder",
        base.display()
    );
}

/// The demo's switches are the process's environment: the tests of this file take turns.
static ENV: std::sync::LazyLock<tokio::sync::Mutex<()>> =
    std::sync::LazyLock::new(Default::default);

/// The server with the demonstration photo repository (as `scripts/demo` asks for it).
async fn start_with_repository(backend: Backend) -> TestServer {
    use_test_data();
    std::env::set_var("PROBITY_DEMO_GALLERY", "1");
    common::start(backend).await
}

async fn queue(srv: &TestServer, who: &str) -> Vec<Value> {
    let c = srv.login(who).await;
    let (s, q) = srv.get(&c, "/api/fr/queue?limit=500").await;
    assert_eq!(s, StatusCode::OK, "{who}'s queue: {q}");
    q["items"].as_array().cloned().unwrap_or_default()
}

fn in_state(q: &[Value], state: &str) -> Vec<String> {
    q.iter()
        .filter(|r| r["state"] == state && r["case_number"] == demo::activity::FR_CASE)
        .filter_map(|r| r["id"].as_str().map(str::to_string))
        .collect()
}

async fn demo_seeds_every_fr_state_evidence_and_thermal_visible_to_who_acts_body(backend: Backend) {
    let _env = ENV.lock().await;
    let srv = start_with_repository(backend).await;
    let report = demo::seed_activity(&srv.state)
        .await
        .expect("demo activity");
    assert!(
        report.skipped.is_empty(),
        "nothing skipped: {:?}",
        report.skipped
    );
    eprintln!(
        "seeded in {:.1} s: {:?}",
        report.elapsed.as_secs_f64(),
        report.seeded
    );

    // Idempotent: a second run writes nothing and finds everything there.
    let again = demo::seed_activity(&srv.state)
        .await
        .expect("demo activity again");
    assert!(
        again.seeded.is_empty(),
        "second run wrote {:?}",
        again.seeded
    );
    assert!(again.skipped.is_empty(), "{:?}", again.skipped);
    assert_eq!(again.present.len(), report.seeded.len());
    eprintln!("second run in {:.1} s", again.elapsed.as_secs_f64());

    // FR investigator: one request in every state of the workflow, once each.
    let q = queue(&srv, "fri.chen").await;
    for state in [
        "submitted",
        "returned_unsuitable",
        "searched",
        "identification",
        "peer_review",
        "approved_possible_match",
        "negative",
    ] {
        assert_eq!(in_state(&q, state).len(), 1, "one {state} request: {q:?}");
    }
    let chen = srv.login("fri.chen").await;
    let searched = &in_state(&q, "searched")[0];
    let (s, pool) = srv
        .get(&chen, &format!("/api/fr/requests/{searched}/candidates"))
        .await;
    assert_eq!(s, StatusCode::OK, "{pool}");
    assert!(
        pool["candidates"].as_array().is_some_and(|c| c.len() >= 2),
        "the searched request holds its candidate pool: {pool}"
    );

    // The peer reviewer and the supervisor find the request in peer review.
    let peer = in_state(&q, "peer_review")[0].clone();
    assert!(in_state(&queue(&srv, "fri.novak").await, "peer_review").contains(&peer));
    assert!(in_state(&queue(&srv, "sgt.haddad").await, "peer_review").contains(&peer));

    // The requester: the returned request to add a still to, the proposed candidate to check,
    // and both reports.
    let rivera = srv.login("det.rivera").await;
    let returned = &in_state(&q, "returned_unsuitable")[0];
    let (s, b) = srv
        .get(&rivera, &format!("/api/fr/requests/{returned}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "returned_unsuitable");
    let identified = &in_state(&q, "identification")[0];
    let (s, b) = srv
        .get(&rivera, &format!("/api/fr/requests/{identified}/proposed"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["approved"], false);
    for (state, kind) in [
        ("approved_possible_match", "possible_match"),
        ("negative", "negative"),
    ] {
        let id = &in_state(&q, state)[0];
        let (s, b) = srv
            .get(&rivera, &format!("/api/fr/requests/{id}/report"))
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
        assert_eq!(b["kind"], kind);
    }

    // Camera evidence: thumbnails in the investigator's gallery, the card's signed certificate.
    let case = demo::activity::EVIDENCE_CASE;
    let (s, b) = srv
        .get(&rivera, &format!("/api/cases/{case}/evidence"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let items = b["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 3, "{b}");
    for item in &items {
        assert_eq!(item["has_thumbnail"], true, "{item}");
        let url = item["thumbnail_url"].as_str().expect("thumbnail url");
        let r = rivera
            .get(format!("{}{url}", srv.url))
            .send()
            .await
            .expect("thumbnail");
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert!(r.bytes().await.map(|b| b.len()).unwrap_or(0) > 100);
    }
    let (s, b) = srv
        .get(&rivera, &format!("/api/cases/{case}/intakes"))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let intakes = b["intakes"].as_array().cloned().unwrap_or_default();
    assert_eq!(intakes.len(), 1, "one card, once: {b}");
    assert_eq!(intakes[0]["safe_to_clear"], true, "{b}");
    assert!(intakes[0]["certificate_signature"].is_string(), "{b}");

    // The supervisor: a camera overdue for inspection, the deployments (one in force, one
    // expired) and the robot's frames of different ages.
    let moreau = srv.login("lt.moreau").await;
    let (s, b) = srv.get(&moreau, "/api/devices").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let devices = b["items"].as_array().cloned().unwrap_or_default();
    assert!(
        devices.iter().any(|d| d["overdue"] == true),
        "a camera overdue for inspection: {b}"
    );
    assert!(
        b["flagged_intakes"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "the card's camera serial matches no inventoried camera: {b}"
    );
    let (s, b) = srv
        .get(&moreau, "/api/thermal/authorizations?limit=500")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let auths = b["items"].as_array().cloned().unwrap_or_default();
    let live = |status: &str| {
        auths
            .iter()
            .filter(|a| a["source"] == demo::activity::LIVE_SOURCE && a["status"] == status)
            .count()
    };
    assert_eq!(live("in force"), 1, "{b}");
    assert_eq!(live("expired"), 1, "{b}");
    let (s, b) = srv.get(&moreau, "/api/thermal/robot/frames").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let frames = b.as_array().cloned().unwrap_or_default();
    assert_eq!(frames.len(), 4, "{b}");
    let now = chrono::Utc::now();
    let mut ages: Vec<i64> = frames
        .iter()
        .filter_map(|f| f["captured_at"].as_str())
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (now - t.with_timezone(&chrono::Utc)).num_hours())
        .collect();
    ages.sort();
    ages.dedup();
    assert_eq!(ages.len(), 4, "four different ages: {ages:?}");
    assert!(
        ages.iter().all(|h| *h < 30 * 24),
        "all within 30 days: {ages:?}"
    );
    for f in &frames {
        assert!(
            f["retention"].as_str().unwrap_or("").contains("RET-10"),
            "{f}"
        );
    }

    // The live source: the supervisor's view moves from frame to frame.
    demo::live::spawn(srv.state.clone()).expect("live source");
    let view = format!("/api/thermal/live/{}/view", demo::activity::LIVE_SOURCE);
    let mut first = Value::Null;
    for _ in 0..40 {
        let (s, b) = srv.get(&moreau, &format!("{view}?after=0")).await;
        if s == StatusCode::OK {
            first = b;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let seq = first["seq"].as_u64().expect("seq");
    let (s, next) = srv.get(&moreau, &format!("{view}?after={seq}")).await;
    assert_eq!(s, StatusCode::OK, "{next}");
    assert!(next["seq"].as_u64().unwrap_or(0) > seq, "{next}");
    assert_ne!(first["image"], next["image"], "the picture moves");
    assert!(next["max"]["celsius"].as_f64().is_some(), "{next}");

    // The records officer: requests to acknowledge, one already overdue.
    let lopez = srv.login("rec.lopez").await;
    let (s, b) = srv.get(&lopez, "/api/foil/requests").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let requests = b["requests"].as_array().cloned().unwrap_or_default();
    let by = |who: &str| {
        requests
            .iter()
            .find(|r| r["requester"] == who)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        by("Demo Requester A. Levin")["clock"]["next"],
        "acknowledge",
        "{b}"
    );
    assert_eq!(
        by("Demo Requester A. Levin")["clock"]["overdue"],
        false,
        "{b}"
    );
    assert_eq!(by("Demo Press Desk")["clock"]["overdue"], true, "{b}");

    // Every write was audited under the demonstration's people.
    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv
        .get(&iab, "/api/audit?record_type=fr_request&limit=500")
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let text = b.to_string();
    for a in [
        "fr.request.create",
        "fr.search",
        "fr.peer_review",
        "fr.supervisor_review",
    ] {
        assert!(text.contains(&format!("\"{a}\"")), "audit lacks {a}");
    }
}

both!(
    demo_seeds_every_fr_state_evidence_and_thermal_visible_to_who_acts,
    super::demo_seeds_every_fr_state_evidence_and_thermal_visible_to_who_acts_body
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_without_repository_seeds_what_it_can_and_names_what_it_skipped() {
    let _env = ENV.lock().await;
    use_test_data();
    std::env::remove_var("PROBITY_DEMO_GALLERY");
    let srv = common::start(Backend::Sqlite).await;
    let report = demo::seed_activity(&srv.state)
        .await
        .expect("demo activity");
    let skipped = report.skipped.join("\n");
    for state in [
        "searched",
        "identified",
        "in peer review",
        "possible match report",
        "negative report",
    ] {
        assert!(
            report
                .skipped
                .iter()
                .any(|s| s.contains(&format!("FR request {state}"))
                    && s.contains("PROBITY_DEMO_GALLERY")),
            "{state} skipped with its reason: {skipped}"
        );
    }
    assert_eq!(report.skipped.len(), 5, "{skipped}");
    let q = queue(&srv, "fri.chen").await;
    assert_eq!(in_state(&q, "submitted").len(), 1, "{q:?}");
    assert_eq!(in_state(&q, "returned_unsuitable").len(), 1, "{q:?}");
    assert_eq!(q.len(), 2, "{q:?}");
}
