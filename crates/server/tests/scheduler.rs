//! The job scheduler inside the server: robot thermal frames past their thirty days are disposed
//! by the schedule with no person (TH-04, RET-10), a job is claimed under a lease so two servers
//! on one database never run it twice (and a dead node's lease expires and another takes over),
//! the runs are shown to operations staff only, and an administrator may run a job now, still
//! under its lease. Every test runs on SQLite and PostgreSQL, with a simulated clock (`tick`
//! takes `now`).

mod common;

use chrono::{DateTime, Duration, Utc};
use common::{Backend, TestServer};
use probity_server::error::ApiError;
use probity_server::scheduler::{self, JobRun, LEASE, ROBOT_FRAMES_APPROVAL, SYSTEM_ACTOR};
use probity_server::AppState;
use probity_store::scheduler::{self as sstore, ClaimKind};
use reqwest::StatusCode;
use serde_json::{json, Value};

const ROBOT_JOB: &str = "retention.robot_frames";

// ------------------------------------------------------------------ helpers (from holds.rs)

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
    let (s, b) = srv
        .post(
            &admin,
            &format!("/api/users/{name}/training"),
            json!({ "course": "thermographic_cameras", "completed": today }),
        )
        .await;
    assert!(s.is_success(), "train {name}: {b}");
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

async fn robot_frame(srv: &TestServer, id: uuid::Uuid) -> probity_store::thermal::RobotFrame {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let f = probity_store::thermal::get_robot_frame(&mut tx, id)
        .await
        .expect("read")
        .expect("frame");
    tx.commit().await.expect("commit");
    f
}

async fn runs_of(srv: &TestServer, job: &str) -> Vec<sstore::Run> {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let runs = sstore::runs(&mut tx, Some(job), 500).await.expect("runs");
    tx.commit().await.expect("commit");
    runs
}

async fn lease_of(srv: &TestServer, job: &str) -> sstore::Lease {
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let l = sstore::lease(&mut tx, job)
        .await
        .expect("lease")
        .expect("lease row");
    tx.commit().await.expect("commit");
    l
}

fn ran(runs: &[scheduler::RunOutcome], job: &str) -> usize {
    runs.iter().filter(|r| r.job == job).count()
}

/// A node that claims the job at `now` and then dies without finishing it.
async fn crashed_claim(srv: &TestServer, node: &str, now: DateTime<Utc>) -> uuid::Uuid {
    let mut tx = srv.state.store.begin().await.expect("tx");
    let run = sstore::claim(
        &mut tx,
        ROBOT_JOB,
        node,
        now,
        now + LEASE,
        ClaimKind::Due,
        "schedule",
    )
    .await
    .expect("claim")
    .expect("the job is due and free: claimed");
    tx.commit().await.expect("commit");
    run
}

// ------------------------------------------------------------------ TH-04 / RET-10 by schedule

async fn th_04_robot_frames_disposed_by_schedule_without_a_person(backend: Backend) {
    let srv = common::start(backend).await;
    let token = robot_source(&srv, "robot.sched").await;
    let jpeg = std::fs::read(data_dir().join("thermal/flir_e40.jpg")).expect("sample");
    push_robot_frame(&srv, "robot.sched", &token, &jpeg).await;
    let sup = srv.login("lt.moreau").await;
    let (s, frames) = srv.get(&sup, "/api/thermal/robot/frames").await;
    assert_eq!(s, StatusCode::OK, "{frames}");
    let id = frames[0]["id"].as_str().expect("frame id");
    let id = uuid::Uuid::parse_str(id).expect("uuid");
    let captured = robot_frame(&srv, id).await.captured_at;

    // Day 29: the schedule runs and keeps the frame; an hour later the job is not due again.
    let node = "node-a";
    let runs = scheduler::tick(&srv.state, node, captured + Duration::days(29))
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 1, "{runs:?}");
    let run = runs.iter().find(|r| r.job == ROBOT_JOB).expect("run");
    assert_eq!(run.outcome.as_deref(), Some("ok"), "{run:?}");
    assert_eq!(run.triggered_by, "schedule");
    let summary = run.summary.clone().expect("summary");
    assert_eq!(summary["kept"], 1, "{summary}");
    assert_eq!(summary["disposed"], 0, "{summary}");
    let runs = scheduler::tick(
        &srv.state,
        node,
        captured + Duration::days(29) + Duration::hours(1),
    )
    .await
    .expect("tick");
    assert_eq!(
        ran(&runs, ROBOT_JOB),
        0,
        "not due again within its interval"
    );
    assert!(robot_frame(&srv, id).await.disposed_at.is_none());

    // Day 31: the next run disposes it, with no person: the schedule executes under the
    // standing approval.
    let now = captured + Duration::days(31);
    let runs = scheduler::tick(&srv.state, node, now).await.expect("tick");
    let run = runs.iter().find(|r| r.job == ROBOT_JOB).expect("run");
    assert_eq!(run.outcome.as_deref(), Some("ok"), "{run:?}");
    let summary = run.summary.clone().expect("summary");
    assert_eq!(summary["disposed"], 1, "{summary}");
    assert_eq!(summary["certificates"][0]["robot_frame"], id.to_string());
    assert_eq!(summary["certificates"][0]["executed_by"], SYSTEM_ACTOR);
    assert_eq!(
        summary["certificates"][0]["approved_by"],
        ROBOT_FRAMES_APPROVAL
    );

    let frame = robot_frame(&srv, id).await;
    assert!(frame.disposed_at.is_some(), "the frame is disposed");
    let mut tx = srv.state.store.begin_read().await.expect("tx");
    let cert = probity_store::blobs::certificate(&mut tx, frame.blob_id)
        .await
        .expect("read")
        .expect("a disposition certificate");
    tx.commit().await.expect("commit");
    assert_eq!(cert.rule, "RET-10");
    assert_eq!(cert.executed_by, SYSTEM_ACTOR);
    assert_eq!(cert.approved_by, ROBOT_FRAMES_APPROVAL);
    assert_eq!(Some(cert.id), frame.certificate_id);
    let (s, _) = srv
        .get(&sup, &format!("/api/thermal/robot/frames/{id}/image"))
        .await;
    assert_eq!(s, StatusCode::GONE, "nothing of the frame can be read");

    // Audited: the disposition and the run, both by the schedule; the chain verifies.
    let trail = srv.audit_of("thermal_deployment", &id.to_string()).await;
    let dispose = trail
        .iter()
        .find(|e| e.action == "thermal.robot.dispose")
        .expect("disposition audited");
    assert_eq!(dispose.actor, SYSTEM_ACTOR);
    assert!(
        dispose.detail.contains(ROBOT_FRAMES_APPROVAL),
        "{dispose:?}"
    );
    let trail = srv.audit_of("scheduler_job", ROBOT_JOB).await;
    let runs_audited: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "scheduler.run")
        .collect();
    assert_eq!(runs_audited.len(), 2, "{trail:?}");
    assert!(runs_audited.iter().all(|e| e.actor == SYSTEM_ACTOR));
    let report = probity_store::audit::verify(&srv.state.store)
        .await
        .expect("verify");
    assert!(report.is_valid(), "{:?}", report.problem);
}
both!(
    th_04_robot_frames_disposed_by_schedule_without_a_person,
    super::th_04_robot_frames_disposed_by_schedule_without_a_person
);

// ------------------------------------------------------------------ leases on many nodes

/// A run an administrator started now, whose node died, resumes as soon as its lease expires on
/// any node's next tick, not at the job's next slot a day later.
async fn ret_10_dead_nodes_job_resumes_when_its_lease_expires(backend: Backend) {
    let srv = common::start(backend).await;
    // Whole milliseconds, as the store keeps times.
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now");
    let runs = scheduler::tick(&srv.state, "node-a", now)
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 1, "{runs:?}");
    assert_eq!(
        lease_of(&srv, ROBOT_JOB).await.next_run_at,
        now + Duration::days(1)
    );

    // An hour later a node runs it now and dies mid-run.
    let started = now + Duration::hours(1);
    let mut tx = srv.state.store.begin().await.expect("tx");
    let crashed = sstore::claim(
        &mut tx,
        ROBOT_JOB,
        "node-crashed",
        started,
        started + LEASE,
        ClaimKind::Now,
        "user:admin",
    )
    .await
    .expect("claim")
    .expect("claimed");
    tx.commit().await.expect("commit");

    // While its lease holds, no node takes it.
    let runs = scheduler::tick(&srv.state, "node-b", started + LEASE - Duration::minutes(1))
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 0, "the lease holds: {runs:?}");

    // Once it expires, the next tick resumes it, long before the next slot.
    let expired = started + LEASE + Duration::minutes(1);
    assert!(expired < now + Duration::days(1));
    let runs = scheduler::tick(&srv.state, "node-b", expired)
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 1, "taken over: {runs:?}");
    let all = runs_of(&srv, ROBOT_JOB).await;
    let dead = all.iter().find(|r| r.id == crashed).expect("crashed run");
    assert_eq!(dead.outcome.as_deref(), Some("failed"), "{dead:?}");
    assert_eq!(all[0].node, "node-b");
    assert_eq!(all[0].outcome.as_deref(), Some("ok"));
    let lease = lease_of(&srv, ROBOT_JOB).await;
    assert_eq!(lease.owner, None);
    assert_eq!(lease.next_run_at, expired + Duration::days(1));

    // And not again until then.
    let runs = scheduler::tick(&srv.state, "node-a", expired + Duration::hours(1))
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 0, "{runs:?}");
}
both!(
    ret_10_dead_nodes_job_resumes_when_its_lease_expires,
    super::ret_10_dead_nodes_job_resumes_when_its_lease_expires
);

async fn scheduler_two_nodes_never_run_a_job_twice(backend: Backend) {
    let srv = common::start(backend).await;
    // A second server on the same database (its own connection pool, as another node has).
    let other =
        probity_server::build_state(common::config(srv.dir.path(), srv.database_url.clone()))
            .await
            .expect("second node");
    // The store keeps milliseconds.
    let now = DateTime::from_timestamp_millis((Utc::now() + Duration::days(1)).timestamp_millis())
        .expect("time");
    let (a, b) = tokio::join!(
        scheduler::tick(&srv.state, "node-a", now),
        scheduler::tick(&other, "node-b", now),
    );
    let (a, b) = (a.expect("tick a"), b.expect("tick b"));
    for job in scheduler::jobs() {
        assert_eq!(
            ran(&a, job.name) + ran(&b, job.name),
            1,
            "{} ran exactly once: {a:?} {b:?}",
            job.name
        );
    }
    let runs = runs_of(&srv, ROBOT_JOB).await;
    assert_eq!(runs.len(), 1, "one run row: {runs:?}");
    let first = &runs[0];
    assert_eq!(first.outcome.as_deref(), Some("ok"));
    let lease = lease_of(&srv, ROBOT_JOB).await;
    assert_eq!(lease.owner, None, "the lease is cleared");
    assert_eq!(lease.next_run_at, now + Duration::days(1), "next slot");

    // Both nodes again at the same moment: not due, nothing runs.
    let (a, b) = tokio::join!(
        scheduler::tick(&srv.state, "node-a", now + Duration::hours(2)),
        scheduler::tick(&other, "node-b", now + Duration::hours(2)),
    );
    assert_eq!(
        ran(&a.expect("a"), ROBOT_JOB) + ran(&b.expect("b"), ROBOT_JOB),
        0
    );

    // A node claims the next slot and dies. While its lease runs, no one else runs the job.
    let due = now + Duration::days(1) + Duration::minutes(5);
    let crashed = crashed_claim(&srv, "node-crashed", due).await;
    let runs = scheduler::tick(&other, "node-b", due + Duration::minutes(1))
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 0, "the lease is held: {runs:?}");
    assert_eq!(
        lease_of(&srv, ROBOT_JOB).await.owner.as_deref(),
        Some("node-crashed")
    );

    // Its lease expires: the next node takes over, runs the job once, and closes the dead
    // node's run as failed.
    let later = due + LEASE + Duration::minutes(1);
    let (a, b) = tokio::join!(
        scheduler::tick(&srv.state, "node-a", later),
        scheduler::tick(&other, "node-b", later),
    );
    let (a, b) = (a.expect("tick a"), b.expect("tick b"));
    assert_eq!(ran(&a, ROBOT_JOB) + ran(&b, ROBOT_JOB), 1, "{a:?} {b:?}");
    let runs = runs_of(&srv, ROBOT_JOB).await;
    assert_eq!(runs.len(), 3, "{runs:?}");
    let dead = runs.iter().find(|r| r.id == crashed).expect("crashed run");
    assert_eq!(dead.node, "node-crashed");
    assert_eq!(dead.outcome.as_deref(), Some("failed"));
    assert!(
        dead.error
            .as_deref()
            .is_some_and(|e| e.contains("lease expired")),
        "{dead:?}"
    );
    let takeover = &runs[0];
    assert!(takeover.node == "node-a" || takeover.node == "node-b");
    assert_eq!(takeover.outcome.as_deref(), Some("ok"));
    let lease = lease_of(&srv, ROBOT_JOB).await;
    assert_eq!(lease.owner, None);
    assert_eq!(lease.next_run_at, later + Duration::days(1));

    // The dead node coming back cannot finish or move the schedule: its lease is gone.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let held = sstore::finish(
        &mut tx,
        crashed,
        ROBOT_JOB,
        "node-crashed",
        later,
        true,
        None,
        None,
        later,
    )
    .await
    .expect("finish");
    tx.commit().await.expect("commit");
    assert!(!held, "a lost lease does not finish");
    assert_eq!(
        lease_of(&srv, ROBOT_JOB).await.next_run_at,
        later + Duration::days(1)
    );
}
both!(
    scheduler_two_nodes_never_run_a_job_twice,
    super::scheduler_two_nodes_never_run_a_job_twice
);

// ------------------------------------------------------------------ failures

async fn failing(_: AppState, _: JobRun) -> Result<Value, ApiError> {
    Err(ApiError::bad_request("the archive is unreachable"))
}

async fn panicking(_: AppState, _: JobRun) -> Result<Value, ApiError> {
    panic!("a bug in the job")
}

async fn fine(_: AppState, run: JobRun) -> Result<Value, ApiError> {
    Ok(json!({ "as_of": run.now.to_rfc3339(), "actor": run.actor }))
}

async fn scheduler_failed_run_is_recorded_and_retried(backend: Backend) {
    let srv = common::start(backend).await;
    let jobs = [
        scheduler::Job {
            name: "test.failing",
            description: "fails",
            run: |s, r| Box::pin(failing(s, r)),
        },
        scheduler::Job {
            name: "test.panicking",
            description: "panics",
            run: |s, r| Box::pin(panicking(s, r)),
        },
        scheduler::Job {
            name: "test.fine",
            description: "succeeds",
            run: |s, r| Box::pin(fine(s, r)),
        },
    ];
    let now = DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("time");
    let runs = scheduler::tick_jobs(&srv.state, &jobs, "node-f", now)
        .await
        .expect("tick");
    assert_eq!(runs.len(), 3, "{runs:?}");
    let by = |name: &str| runs.iter().find(|r| r.job == name).expect("run").clone();
    let failed = by("test.failing");
    assert_eq!(failed.outcome.as_deref(), Some("failed"));
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("archive is unreachable")),
        "{failed:?}"
    );
    assert!(failed.summary.is_none());
    let panicked = by("test.panicking");
    assert_eq!(panicked.outcome.as_deref(), Some("failed"));
    assert!(
        panicked
            .error
            .as_deref()
            .is_some_and(|e| e.contains("panicked")),
        "{panicked:?}"
    );
    let ok = by("test.fine");
    assert_eq!(ok.outcome.as_deref(), Some("ok"));
    assert_eq!(ok.summary.clone().expect("summary")["actor"], SYSTEM_ACTOR);

    // Failures are retried after 15 minutes; a success waits for its next slot. Leases are free.
    for name in ["test.failing", "test.panicking"] {
        let lease = lease_of(&srv, name).await;
        assert_eq!(lease.owner, None);
        assert!(
            lease.next_run_at > now
                && lease.next_run_at <= now + scheduler::RETRY + Duration::minutes(1),
            "{lease:?}"
        );
    }
    assert_eq!(
        lease_of(&srv, "test.fine").await.next_run_at,
        now + Duration::days(1)
    );
    let trail = srv.audit_of("scheduler_job", "test.failing").await;
    assert!(
        trail.iter().any(|e| e.action == "scheduler.run"
            && e.outcome == "failed"
            && e.actor == SYSTEM_ACTOR),
        "{trail:?}"
    );
    let runs = scheduler::tick_jobs(&srv.state, &jobs, "node-f", now + Duration::minutes(20))
        .await
        .expect("tick");
    let mut names: Vec<_> = runs.iter().map(|r| r.job.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, vec!["test.failing", "test.panicking"]);
}
both!(
    scheduler_failed_run_is_recorded_and_retried,
    super::scheduler_failed_run_is_recorded_and_retried
);

/// With a time of day, slots fall on it whatever time the run happened.
#[test]
fn scheduler_slots_align_to_the_time_of_day() {
    let schedule = scheduler::Schedule {
        interval: Duration::days(1),
        time_of_day: chrono::NaiveTime::from_hms_opt(2, 30, 0),
    };
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    };
    assert_eq!(
        schedule.next_after(at("2026-12-04T11:00:00Z")),
        at("2026-12-05T02:30:00Z")
    );
    assert_eq!(
        schedule.next_after(at("2026-12-04T02:30:00Z")),
        at("2026-12-05T02:30:00Z")
    );
    assert_eq!(
        schedule.first_run(at("2026-12-04T02:30:00Z")),
        at("2026-12-04T02:30:00Z")
    );
    assert_eq!(
        schedule.first_run(at("2026-12-04T01:00:00Z")),
        at("2026-12-04T02:30:00Z")
    );
    let hourly = scheduler::Schedule {
        interval: Duration::hours(1),
        time_of_day: chrono::NaiveTime::from_hms_opt(0, 15, 0),
    };
    assert_eq!(
        hourly.next_after(at("2026-12-04T11:20:00Z")),
        at("2026-12-04T12:15:00Z")
    );
    let plain = scheduler::Schedule {
        interval: Duration::days(1),
        time_of_day: None,
    };
    assert_eq!(
        plain.first_run(at("2026-12-04T11:20:00Z")),
        at("2026-12-04T11:20:00Z")
    );
    assert_eq!(
        plain.next_after(at("2026-12-04T11:20:00Z")),
        at("2026-12-05T11:20:00Z")
    );
}

// ------------------------------------------------------------------ operations page and API

async fn scheduler_runs_visible_on_operations_page(backend: Backend) {
    let srv = common::start(backend).await;
    let runs = scheduler::tick(&srv.state, "node-ops", Utc::now())
        .await
        .expect("tick");
    assert_eq!(ran(&runs, ROBOT_JOB), 1);

    let admin = srv.login("admin").await;
    let (s, b) = srv.get(&admin, "/api/operations/runs?limit=10").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let run = b["runs"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["job"] == ROBOT_JOB))
        .expect("the run is listed");
    assert_eq!(run["node"], "node-ops");
    assert_eq!(run["outcome"], "ok");
    assert_eq!(run["triggered_by"], "schedule");
    assert!(run["started_at"].is_string() && run["finished_at"].is_string());
    assert_eq!(run["summary"]["disposed"], 0);
    let job = b["jobs"]
        .as_array()
        .and_then(|j| j.iter().find(|j| j["name"] == ROBOT_JOB))
        .expect("the job is listed");
    assert!(job["next_run_at"].is_string(), "{job}");
    assert!(job["lease_owner"].is_null(), "{job}");
    let (s, b) = srv
        .get(
            &admin,
            &format!("/api/operations/runs?limit=1&job={ROBOT_JOB}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["runs"].as_array().map(Vec::len), Some(1));

    // The page, for people.
    let r = admin
        .get(format!("{}/operations", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.expect("html");
    assert!(
        html.contains(ROBOT_JOB) && html.contains("node-ops"),
        "{html}"
    );
    assert!(
        html.contains("Run now"),
        "an administrator may run a job now"
    );

    // The records officer reads operations; an investigator is refused, naming the rule.
    let lopez = srv.login("rec.lopez").await;
    let (s, b) = srv.get(&lopez, "/api/operations/runs").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, "/api/operations/runs").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(b["rule"].is_string(), "{b}");
    let r = rivera
        .get(format!("{}/operations", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
both!(
    scheduler_runs_visible_on_operations_page,
    super::scheduler_runs_visible_on_operations_page
);

async fn ret_10_administrator_runs_a_job_now_under_its_lease(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    let path = format!("/api/operations/jobs/{ROBOT_JOB}/run");
    let (s, b) = srv.post(&admin, &path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["job"], ROBOT_JOB);
    assert_eq!(b["outcome"], "ok");
    assert_eq!(b["triggered_by"], "user:admin");
    assert_eq!(b["node"], scheduler::node_name());
    // Run now does not wait for the slot: again at once is fine once the first has finished.
    let (s, b) = srv.post(&admin, &path, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let trail = srv.audit_of("scheduler_job", ROBOT_JOB).await;
    let by_admin: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "scheduler.run" && e.actor == "user:admin")
        .collect();
    assert_eq!(by_admin.len(), 2, "{trail:?}");
    assert!(
        by_admin[0]
            .detail
            .contains("RET-10.administrator-runs-jobs"),
        "{:?}",
        by_admin[0]
    );

    // While another node holds the job, a run now is refused: it never runs twice at once.
    let busy = crashed_claim(&srv, "node-busy", Utc::now() + Duration::days(2)).await;
    let (s, b) = srv.post(&admin, &path, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .is_some_and(|d| d.contains("node-busy")),
        "{b}"
    );
    assert_eq!(
        runs_of(&srv, ROBOT_JOB)
            .await
            .iter()
            .filter(|r| r.finished_at.is_none())
            .map(|r| r.id)
            .collect::<Vec<_>>(),
        vec![busy]
    );

    // Unknown job: 404. Others may not run jobs: records officer and investigator refused.
    let (s, b) = srv
        .post(&admin, "/api/operations/jobs/no.such.job/run", json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    for who in ["rec.lopez", "det.rivera"] {
        let c = srv.login(who).await;
        let (s, b) = srv.post(&c, &path, json!({})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {b}");
    }
    let (s, b) = srv.post(&common::client(), &path, json!({})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{b}");

    // The form on the page: CSRF checked, then the same run.
    let r = admin
        .post(format!("{}/operations/jobs/{ROBOT_JOB}/run", srv.url))
        .header("accept", "text/html")
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .expect("form");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}
both!(
    ret_10_administrator_runs_a_job_now_under_its_lease,
    super::ret_10_administrator_runs_a_job_now_under_its_lease
);
