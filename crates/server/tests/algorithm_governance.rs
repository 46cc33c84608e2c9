//! Algorithm governance (FR-23) through the API on both backends, with the real models: an
//! activation without an evaluation record or below the pack's gate is refused naming FR-23, the
//! proposer never approves, a switch of algorithm while searches run never mixes versions in one
//! search, and rollback is one action.

mod common;

use std::time::Duration;

use common::lfw::{enrol_gallery, lfw_file};
use common::{Backend, TestServer};
use probity_face::{
    FaceEngine, GalleryIndex, RecordId, RepositoryTemplate, SearchMode, SearchRequest,
};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";
const DLIB: &str = "dlib-resnet-v1@2";
const FACENET: &str = "facenet-512@2";
const FUSION: &str = "fusion-dlib-facenet@1";
/// The fusion of dlib and SFace that scripts/setup configures in `models/onnx-models.toml`.
const FUSION_SFACE: &str = "fusion-dlib-sface@1";

/// A request for analysis with image 1 of `name` as its still, taken to the point where it may be
/// searched (basis confirmed, quality checked, the use discussed; no edits).
async fn ready_to_search(srv: &TestServer, name: &str) -> String {
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
        .expect("request");
    let s = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().expect("id").to_string();
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
            json!({"selected_probe": 0, "suitable": true, "reasons": ["one frontal face"]}),
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

fn rule_of(body: &Value) -> &str {
    body["rule"].as_str().unwrap_or_default()
}

fn detail_of(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

/// FaceNet's figures as `probity eval` writes them (measured on the development faces, see
/// crates/face/README.md), which meet the pack's gate.
fn facenet_record() -> Value {
    serde_json::from_str(include_str!("fixtures/facenet_evaluation.json"))
        .expect("fixtures/facenet_evaluation.json")
}

async fn overview(srv: &TestServer, c: &reqwest::Client) -> Value {
    let (s, b) = srv.get(c, "/api/fr/algorithms").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    b
}

/// Records FaceNet's evaluation, has it proposed by the administrator and approved by the
/// Deputy Commissioner of Intelligence and Counterterrorism.
async fn activate_facenet(srv: &TestServer) {
    activate(srv, FACENET, facenet_record()).await
}

/// The fused algorithm's evaluation record (the figures `probity eval --algorithm
/// fusion-dlib-facenet` gives on the development faces).
fn fusion_record() -> Value {
    let mut r = facenet_record();
    r["algorithm"] = json!({"name": "fusion-dlib-facenet", "version": "1"});
    r["verification"]["accuracy_mean"] = json!(0.99);
    r["verification"]["tar_at_far_0_001"] = json!(0.9267);
    r["verification"]["tar_at_far_0_001_all_non_mated"] = json!({
        "tar": 0.936, "non_mated_comparisons": 8_027_025u64, "far_measured": 0.001, "threshold": 0.8941
    });
    r["identification"]["rank1"] = json!(0.9145);
    r["identification"]["rank10"] = json!(0.9757);
    r["identification"]["fnir_at_fpir_0_003"] = json!(0.7758);
    r["identification"]["fnir_50_candidates"] = json!(0.0064);
    r["quality_buckets"] = json!([
        {"bucket": "suitable", "probes": 3011, "rank1": 0.9153, "fnir_50_candidates": 0.0063},
        {"bucket": "turned_away", "probes": 55, "rank1": 0.8545, "fnir_50_candidates": 0.0}
    ]);
    r
}

/// Records `algorithm`'s evaluation, has it proposed by the administrator and approved by the
/// Deputy Commissioner of Intelligence and Counterterrorism.
async fn activate(srv: &TestServer, algorithm: &str, record: Value) {
    let admin = srv.login("admin").await;
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{algorithm}/evaluation"),
            record,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["gate_met"], true, "{b}");
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{algorithm}/activation"),
            json!({"reason": "better evaluation figures (FR-23 review 2026-12)"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "proposed");
    let dci = srv.login("dci.nolan").await;
    let (s, b) = srv
        .post(
            &dci,
            &format!("/api/fr/algorithms/{algorithm}/activation/approve"),
            json!({"reason": "evaluation reviewed; gate met"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "retemplating", "{b}");
}

/// Waits until the re-templating job has switched to `algorithm` (or fails with the state seen).
async fn wait_for_active(srv: &TestServer, c: &reqwest::Client, algorithm: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..1200 {
        last = overview(srv, c).await;
        if last["active"] == algorithm {
            return last;
        }
        let incomplete = last["activations"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["state"] == "incomplete"));
        assert!(!incomplete, "re-templating ended incomplete: {last}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{algorithm} never became active: {last}");
}

// ------------------------------------------------------------------ tests

async fn fr_23_activation_without_evaluation_refused_body(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    let before = overview(&srv, &admin).await;
    assert_eq!(before["active"], DLIB, "{before}");
    let facenet = before["algorithms"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["algorithm"] == FACENET))
        .expect("facenet registered");
    assert!(facenet["evaluation"].is_null(), "{facenet}");

    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{FACENET}/activation"),
            json!({"reason": "try it"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-23", "{b}");
    assert!(
        detail_of(&b).contains("no evaluation record"),
        "the refusal says why: {b}"
    );
    // Nothing changed; the refusal is in the audit trail.
    let after = overview(&srv, &admin).await;
    assert_eq!(after["active"], DLIB);
    assert!(after["open"].is_null(), "{after}");
    let trail = srv.audit_of("fr_algorithm", FACENET).await;
    assert!(
        trail.iter().any(
            |e| e.action == "fr.algorithm.propose" && e.detail.contains("no evaluation record")
        ),
        "{trail:?}"
    );
    // An unknown algorithm is not found; a body that is not an evaluation names its field.
    let (s, _) = srv
        .post(
            &admin,
            "/api/fr/algorithms/no-such-net@1/activation",
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/fr/algorithms/{FACENET}/evaluation"),
            json!({"figures": {"verification_accuracy": 97.0}, "dataset": "LFW", "command": "by hand"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "verification_accuracy", "{b}");
}
both!(
    fr_23_activation_without_evaluation_refused,
    super::fr_23_activation_without_evaluation_refused_body
);

async fn fr_23_low_accuracy_refused_activation_body(backend: Backend) {
    let srv = common::start(backend).await;
    let haddad = srv.login("sgt.haddad").await;
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/evaluation"),
            json!({
                "figures": {"verification_accuracy": 0.80, "tar_at_far": 0.60, "far": 0.001,
                            "rank1": 0.70, "fnir_at_fpir": 0.85, "fpir": 0.003},
                "dataset": "LFW View 2 folds 1-5",
                "command": "probity eval --algorithm facenet-512@2",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["gate_met"], false, "{b}");
    assert_eq!(b["verification_accuracy"], 0.80);
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/activation"),
            json!({"reason": "replace dlib"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(rule_of(&b), "FR-23", "{b}");
    let detail = detail_of(&b);
    assert!(
        detail.contains("verification accuracy 80.00 % is below the pack's minimum 95.00 %"),
        "the figure and the limit: {b}"
    );
    assert!(detail.contains("rank-1"), "every failing figure: {b}");

    // Good overall figures but too far apart between demographic groups: refused too.
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/evaluation"),
            json!({
                "figures": {"verification_accuracy": 0.97, "tar_at_far": 0.81, "far": 0.001,
                            "rank1": 0.80, "fnir_at_fpir": 0.80, "fpir": 0.003},
                "groups": [
                    {"group": "group A", "verification_accuracy": 0.99, "pairs": 400},
                    {"group": "group B", "verification_accuracy": 0.91, "pairs": 380}
                ],
                "dataset": "LFW View 2 folds 1-5 with group labels",
                "command": "probity eval --algorithm facenet-512@2 --labels groups.csv",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["group_count"], 2);
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/activation"),
            json!({"reason": "replace dlib"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(
        detail_of(&b).contains("differs by 8.00 points between demographic groups"),
        "{b}"
    );

    // The record `probity eval` writes, with figures that meet the gate: the proposal stands.
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/evaluation"),
            facenet_record(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["gate_met"], true, "{b}");
    assert!(
        b["command"]
            .as_str()
            .unwrap_or("")
            .starts_with("probity eval"),
        "{b}"
    );
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{FACENET}/activation"),
            json!({"reason": "replace dlib"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["state"], "proposed");
    // A record of another algorithm is refused, naming the field.
    let (s, b) = srv
        .post(
            &haddad,
            &format!("/api/fr/algorithms/{DLIB}/evaluation"),
            facenet_record(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "record.algorithm", "{b}");
    // Still the old version: a proposal is not an activation.
    let v = overview(&srv, &haddad).await;
    assert_eq!(v["active"], DLIB);
    assert_eq!(v["open"]["state"], "proposed", "{v}");
}
both!(
    fr_23_low_accuracy_refused_activation,
    super::fr_23_low_accuracy_refused_activation_body
);

async fn fr_23_proposer_cannot_approve_body(backend: Backend) {
    let srv = common::start(backend).await;
    // The Chief of Detectives also holds the administrator's role here, so the policy lets them
    // both propose and approve: only the rule that the proposer never approves stands between.
    let ames = srv.user("cdet.ames").await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    probity_store::assignments::create(
        &mut tx,
        &probity_store::assignments::NewAssignment {
            user_id: ames.id,
            role: Some("administrator".into()),
            unit: None,
            command: ames.command.clone().unwrap_or_else(|| "HQ".into()),
            starts_at: chrono::Utc::now() - chrono::Duration::days(1),
            ends_at: None,
        },
    )
    .await
    .expect("assignment");
    tx.commit().await.expect("commit");

    let ames = srv.login("cdet.ames").await;
    let (s, b) = srv
        .post(
            &ames,
            &format!("/api/fr/algorithms/{FACENET}/evaluation"),
            facenet_record(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = srv
        .post(
            &ames,
            &format!("/api/fr/algorithms/{FACENET}/activation"),
            json!({"reason": "replace dlib"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = srv
        .post(
            &ames,
            &format!("/api/fr/algorithms/{FACENET}/activation/approve"),
            json!({"reason": "my own proposal"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule_of(&b), "FR-23", "{b}");
    assert!(detail_of(&b).contains("never the proposer"), "{b}");

    // The proposer's office holds no approval: an FR supervisor or administrator is refused by
    // the policy, whoever proposed.
    for who in ["sgt.haddad", "admin"] {
        let c = srv.login(who).await;
        let (s, b) = srv
            .post(
                &c,
                &format!("/api/fr/algorithms/{FACENET}/activation/approve"),
                json!({"reason": "me"}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {b}");
        assert_ne!(rule_of(&b), "", "{b}");
    }
    let v = overview(&srv, &ames).await;
    assert_eq!(
        v["open"]["state"], "proposed",
        "still awaiting a second person: {v}"
    );
    assert_eq!(v["active"], DLIB);

    // The Deputy Commissioner of Intelligence and Counterterrorism decides: here, refuses.
    let dci = srv.login("dci.nolan").await;
    let (s, b) = srv
        .post(
            &dci,
            &format!("/api/fr/algorithms/{FACENET}/activation/approve"),
            json!({"approve": false, "reason": "wait for the per-group figures"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["state"], "refused");
    assert_eq!(b["decided_by"], "user:dci.nolan");
    let v = overview(&srv, &dci).await;
    assert!(v["open"].is_null(), "{v}");
    assert_eq!(v["active"], DLIB);
    let trail = srv.audit_of("fr_algorithm", FACENET).await;
    for action in [
        "fr.algorithm.evaluation.record",
        "fr.algorithm.propose",
        "fr.algorithm.approve",
        "fr.algorithm.refuse",
    ] {
        assert!(
            trail.iter().any(|e| e.action == action),
            "{action} audited: {trail:?}"
        );
    }
}
both!(
    fr_23_proposer_cannot_approve,
    super::fr_23_proposer_cannot_approve_body
);

/// What a search found, as the API reports it.
struct Found {
    id: String,
    still_of: String,
    algorithm: String,
    pool: Vec<(i64, f64)>,
}

/// The FR investigator searches request `id` (whose still is image 1 of `name`).
async fn search(url: &str, chen: &reqwest::Client, id: &str, name: &str) -> Found {
    let base = format!("{url}/api/fr/requests/{id}");
    let r = chen
        .post(format!("{base}/search"))
        .json(&json!({}))
        .send()
        .await
        .expect("search");
    let s = r.status();
    let b: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::OK, "{b}");
    let r = chen
        .get(format!("{base}/candidates"))
        .send()
        .await
        .expect("candidates");
    let s = r.status();
    let pool: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::OK, "{pool}");
    let algorithm = pool["algorithm"].as_str().expect("algorithm").to_string();
    let mut out = Vec::new();
    for c in pool["candidates"].as_array().expect("candidates") {
        assert_eq!(
            c["algorithm"], algorithm,
            "every candidate of a search comes from the version it records: {pool}"
        );
        let record = c["candidate"]
            .as_str()
            .and_then(|r| r.strip_prefix('R'))
            .and_then(|r| r.parse::<i64>().ok())
            .expect("candidate id");
        out.push((record, c["score"].as_f64().expect("score")));
    }
    Found {
        id: id.to_string(),
        still_of: name.to_string(),
        algorithm,
        pool: out,
    }
}

/// The pool a search of `name`'s still gives under `algorithm`, computed here from the stored
/// templates of that version alone and the probe templated by that version alone.
async fn expected_pool(srv: &TestServer, algorithm: &str, name: &str) -> Vec<(i64, f64)> {
    let spec = probity_face::lookup(algorithm).expect("registered");
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let stored = probity_store::gallery::templates(&mut tx, algorithm)
        .await
        .expect("templates");
    tx.commit().await.expect("commit");
    let bytes = lfw_file(name, 1);
    tokio::task::spawn_blocking(move || {
        let mut index = GalleryIndex::new(spec);
        for t in stored {
            let record = RecordId(t.record_no as u64);
            index
                .add(RepositoryTemplate::from_stored(record, spec, &t.template).expect("template"))
                .expect("add");
        }
        let mut engine = FaceEngine::open(spec, &probity_face::model_dir()).expect("engine");
        let img = probity_imaging::decode_still(&bytes, &probity_imaging::DecodeLimits::default())
            .expect("decode")
            .image;
        let face = engine
            .detect(&img)
            .expect("detect")
            .into_iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .expect("a face");
        let probe = engine.probe_template(&img, &face).expect("probe");
        index
            .search(
                &probe,
                &SearchRequest {
                    top_k: 50,
                    mode: SearchMode::Exact,
                },
                &|_| true,
            )
            .expect("search")
            .candidates
            .iter()
            .map(|c| (c.record.0 as i64, f64::from(c.score)))
            .collect()
    })
    .await
    .expect("join")
}

fn same_pool(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ra, sa), (rb, sb))| ra == rb && (sa - sb).abs() < 1e-4)
}

async fn fr_23_switch_under_concurrent_searches_never_mixes_versions_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 12).await;
    const DURING: usize = 4;
    const AFTER: usize = 2;
    let mut ready = Vec::new();
    for i in 0..DURING + AFTER {
        let name = ids[(i * 5) % ids.len()].clone();
        ready.push((ready_to_search(&srv, &name).await, name));
    }

    // The activation is approved; re-templating runs in the background. Once its first batch of
    // templates is saved, searches run while it works through the rest.
    let chen = srv.login("fri.chen").await;
    let admin = srv.login("admin").await;
    activate_facenet(&srv).await;
    let mut seen_before = Value::Null;
    for _ in 0..1200 {
        let v = overview(&srv, &admin).await;
        if v["open"]["templated"].as_i64().unwrap_or(0) > 0 || v["active"] == FACENET {
            seen_before = json!({"active": v["active"], "templated": v["open"]["templated"]});
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut tasks = Vec::new();
    for (id, name) in ready.iter().take(DURING) {
        let (id, name) = (id.clone(), name.clone());
        let url = srv.url.clone();
        let chen = chen.clone();
        tasks.push(tokio::spawn(async move {
            search(&url, &chen, &id, &name).await
        }));
    }
    let mut progress_seen = Vec::new();
    let mut found = Vec::new();
    for t in tasks {
        found.push(t.await.expect("search task"));
        let v = overview(&srv, &admin).await;
        progress_seen.push(json!({"active": v["active"], "templated": v["open"]["templated"]}));
    }
    let done = wait_for_active(&srv, &admin, FACENET).await;
    assert_eq!(done["previous"], DLIB, "{done}");
    let last = &done["activations"][0];
    assert_eq!(last["state"], "active", "{done}");
    assert_eq!(last["templated"], 12, "every record templated: {done}");
    assert_eq!(last["total"], 12, "{done}");

    // After completion every search uses the new version.
    for (id, name) in ready.iter().skip(DURING) {
        let f = search(&srv.url, &chen, id, name).await;
        assert_eq!(
            f.algorithm, FACENET,
            "a search after the switch uses the new version"
        );
        found.push(f);
    }

    // Every search's pool is exactly what the version it recorded gives, and not what the other
    // version gives: no search mixed the probe of one version with the index of another.
    let mut by_version = std::collections::BTreeMap::<String, usize>::new();
    for f in &found {
        assert!(
            f.algorithm == DLIB || f.algorithm == FACENET,
            "{}",
            f.algorithm
        );
        assert_eq!(f.pool.len(), 12, "the pool holds every record");
        let other = if f.algorithm == DLIB { FACENET } else { DLIB };
        let want = expected_pool(&srv, &f.algorithm, &f.still_of).await;
        let not = expected_pool(&srv, other, &f.still_of).await;
        assert!(
            same_pool(&f.pool, &want),
            "search {} recorded {} and its pool is that version's: got {:?}, want {:?}",
            f.id,
            f.algorithm,
            f.pool,
            want
        );
        assert!(
            !same_pool(&f.pool, &not),
            "the two versions score differently"
        );
        *by_version.entry(f.algorithm.clone()).or_default() += 1;
    }
    eprintln!(
        "searches by version: {by_version:?}; when they started: {seen_before}; \
         after each: {progress_seen:?}"
    );
    // The switch is audited; the audit entry of each search names its version.
    let trail = srv.audit_of("fr_algorithm", FACENET).await;
    assert!(
        trail.iter().any(|e| e.action == "fr.algorithm.switch"),
        "{trail:?}"
    );
    for f in &found {
        let entries = srv.audit_of("fr_request", &f.id).await;
        let searched = entries
            .iter()
            .find(|e| e.action == "fr.search")
            .unwrap_or_else(|| panic!("search audited: {entries:?}"));
        assert!(searched.detail.contains(&f.algorithm), "{searched:?}");
    }
    // The operations page lists the job and its run.
    let (s, ops) = srv
        .get(&admin, "/api/operations/runs?job=fr.retemplate")
        .await;
    assert_eq!(s, StatusCode::OK, "{ops}");
    assert!(
        ops["runs"]
            .as_array()
            .is_some_and(|r| r.iter().any(|x| x["outcome"] == "ok")),
        "{ops}"
    );
}
both!(
    fr_23_switch_under_concurrent_searches_never_mixes_versions,
    super::fr_23_switch_under_concurrent_searches_never_mixes_versions_body
);

async fn fr_23_rollback_is_one_action_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 3).await;
    let admin = srv.login("admin").await;
    // Nothing to roll back to yet.
    let (s, b) = srv
        .post(
            &admin,
            "/api/fr/algorithms/rollback",
            json!({"reason": "test"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(rule_of(&b), "FR-23", "{b}");

    activate_facenet(&srv).await;
    wait_for_active(&srv, &admin, FACENET).await;
    let chen = srv.login("fri.chen").await;
    let id = ready_to_search(&srv, &ids[1]).await;
    assert_eq!(
        search(&srv.url, &chen, &id, &ids[1]).await.algorithm,
        FACENET
    );

    // One action: the previous version is active again at once, with no approval.
    let (s, b) = srv
        .post(
            &admin,
            "/api/fr/algorithms/rollback",
            json!({"reason": "complaints about missed matches; back while we review"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["kind"], "rollback");
    assert_eq!(b["state"], "active", "{b}");
    let v = overview(&srv, &admin).await;
    assert_eq!(v["active"], DLIB, "{v}");
    assert_eq!(v["previous"], FACENET, "{v}");
    let id = ready_to_search(&srv, &ids[2]).await;
    let f = search(&srv.url, &chen, &id, &ids[2]).await;
    assert_eq!(f.algorithm, DLIB, "searches use the previous version again");
    assert!(same_pool(
        &f.pool,
        &expected_pool(&srv, DLIB, &ids[2]).await
    ));
    let trail = srv.audit_of("fr_algorithm", DLIB).await;
    let rb = trail
        .iter()
        .find(|e| e.action == "fr.algorithm.rollback")
        .unwrap_or_else(|| panic!("rollback audited: {trail:?}"));
    assert_eq!(rb.actor, "user:admin");
    assert!(rb.detail.contains("\"switched\":true"), "{rb:?}");
    // The approver's office cannot roll back (it is the manager's action).
    let dci = srv.login("dci.nolan").await;
    let (s, _) = srv
        .post(&dci, "/api/fr/algorithms/rollback", json!({"reason": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    fr_23_rollback_is_one_action,
    super::fr_23_rollback_is_one_action_body
);

async fn fr_23_fused_algorithm_activated_and_searched_like_any_other_body(backend: Backend) {
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 4).await;
    let admin = srv.login("admin").await;
    let page = listed_activated_page(&srv, &admin, FUSION, fusion_record()).await;
    // The page shows the record's figures by probe quality (FR-06).
    assert!(page.contains("By probe quality"), "{page}");
    assert!(
        page.contains("<td>turned away</td><td>55</td><td>85.45 %</td>"),
        "{page}"
    );
    // TAR at FAR 0.001 both ways: on the pairs file, and against millions of non-mates.
    assert!(
        page.contains(
            "92.67 %<br><small class=\"tar-all-non-mated\">93.60 % against 8,027,025 non-mated comparisons</small>"
        ),
        "{page}"
    );
    let fused = overview(&srv, &admin).await["algorithms"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["algorithm"] == FUSION).cloned())
        .expect("fusion listed");
    assert_eq!(
        fused["evaluation"]["figures"]["tar_at_far_all_non_mated"]["non_mated_comparisons"],
        8_027_025
    );
    wait_for_active(&srv, &admin, FUSION).await;
    // Both networks' 640 values per photo; the search is two-pass.
    templated_and_searched(&srv, FUSION, &ids, 640, &ids[1]).await;
}

/// Checks `algorithm` is listed, records its evaluation `record` and has it activated (proposed
/// and approved); returns the algorithms page as the administrator sees it then.
async fn listed_activated_page(
    srv: &TestServer,
    admin: &reqwest::Client,
    algorithm: &str,
    record: Value,
) -> String {
    let listed = overview(srv, admin).await;
    assert!(
        listed["algorithms"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["algorithm"] == algorithm)),
        "{listed}"
    );
    activate(srv, algorithm, record).await;
    admin
        .get(format!("{}/fr/algorithms", srv.url))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html")
}

/// Once `algorithm` is active: every repository photo (`ids`) has a template of `values` floats,
/// and a search of `probe`'s request runs on it and finds what the engine alone finds.
async fn templated_and_searched(
    srv: &TestServer,
    algorithm: &str,
    ids: &[String],
    values: usize,
    probe: &str,
) {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let stored = probity_store::gallery::templates(&mut tx, algorithm)
        .await
        .expect("templates");
    tx.commit().await.expect("commit");
    assert_eq!(stored.len(), ids.len());
    assert!(stored.iter().all(|t| t.template.len() == values * 4));
    let chen = srv.login("fri.chen").await;
    let id = ready_to_search(srv, probe).await;
    let f = search(&srv.url, &chen, &id, probe).await;
    assert_eq!(f.algorithm, algorithm);
    let expected = expected_pool(srv, algorithm, probe).await;
    assert!(
        same_pool(&f.pool, &expected),
        "{:?} vs {expected:?}",
        f.pool
    );
}
both!(
    fr_23_fused_algorithm_activated_and_searched_like_any_other,
    super::fr_23_fused_algorithm_activated_and_searched_like_any_other_body
);

/// `fusion-dlib-sface`'s evaluation record: the figures `probity eval --algorithm
/// fusion-dlib-sface` gives on the development faces (crates/face/README.md, "Fusion").
fn sface_fusion_record() -> Value {
    let mut r = fusion_record();
    r["algorithm"] = json!({"name": "fusion-dlib-sface", "version": "1"});
    r["verification"]["accuracy_mean"] = json!(0.9933);
    r["verification"]["tar_at_far_0_001"] = json!(0.9827);
    r["verification"]["tar_at_far_0_001_all_non_mated"] = json!({
        "tar": 0.982, "non_mated_comparisons": 8_027_025u64, "far_measured": 0.000_998_6, "threshold": 0.8141
    });
    r["identification"]["rank1"] = json!(0.9681);
    r["identification"]["rank10"] = json!(0.9881);
    r["identification"]["fnir_at_fpir_0_003"] = json!(0.8424);
    r["identification"]["fnir_50_candidates"] = json!(0.0058);
    r
}

/// A department's model on the ONNX path fused with the built-in network by configuration
/// (SFace, installed and configured by scripts/setup) is governed and searched on the running
/// server like the built-in algorithms: listed, activated through the gate and two approvals,
/// every repository photo re-templated with both networks, and a search on it finds what the
/// engine alone finds.
async fn fr_23_configured_fusion_with_an_onnx_model_activated_and_searched_body(backend: Backend) {
    let conf = probity_face::model_dir().join("onnx-models.toml");
    assert!(
        conf.is_file(),
        "{} missing: run scripts/setup (step 35-onnx-face-models.sh)",
        conf.display()
    );
    probity_face::algorithm::register_from_file(&conf).expect("register the configured models");
    let srv = common::start(backend).await;
    let ids = enrol_gallery(&srv, 4).await;
    let admin = srv.login("admin").await;
    let page = listed_activated_page(&srv, &admin, FUSION_SFACE, sface_fusion_record()).await;
    assert!(
        page.contains(
            "98.27 %<br><small class=\"tar-all-non-mated\">98.20 % against 8,027,025 non-mated comparisons</small>"
        ),
        "{page}"
    );
    wait_for_active(&srv, &admin, FUSION_SFACE).await;
    // Both networks' 128 + 128 values per photo; whole rows are scanned.
    templated_and_searched(&srv, FUSION_SFACE, &ids, 256, &ids[2]).await;
}
both!(
    fr_23_configured_fusion_with_an_onnx_model_activated_and_searched,
    super::fr_23_configured_fusion_with_an_onnx_model_activated_and_searched_body
);
