//! Crash safety of the robot-data retention run (RET-10, RET-11, TH-04): `probity retention run`
//! is killed with SIGKILL while it crypto-shreds frames whose 30 days have ended, once after the
//! first frame is disposed, then after a third and two thirds of them, then at once. After each
//! kill every frame is either wholly disposed (marked disposed, its one disposition certificate
//! naming RET-10, its data key destroyed so nothing decrypts) or wholly intact (not marked, no
//! certificate, its blob decrypting to its SHA-256), the audit trail verifies, and the next run
//! finishes the rest: in the end each frame has exactly one certificate and one audit entry of
//! its disposal. SQLite (the embedded default) and PostgreSQL.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Frames the robot sends: enough that a run takes a while after its first disposal.
const FRAMES: usize = 45;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

fn post(c: &reqwest::blocking::Client, url: String, body: Value) -> Value {
    let r = c
        .post(&url)
        .json(&body)
        .send()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let s = r.status();
    let b: Value = r.json().unwrap_or(Value::Null);
    assert!(s.is_success(), "{url}: {s} {b}");
    b
}

/// A robot's service account, trained and assigned, with an API token; a supervisor's
/// authorization of its use; then `FRAMES` radiometric frames sent from it, which the server
/// keeps (robot data, TH-04).
fn robot_sends_frames(url: &str) {
    let admin = common::sign_in(url, "admin");
    let today = chrono::Utc::now().date_naive().to_string();
    post(
        &admin,
        format!("{url}/api/users"),
        json!({ "username": "robot.crash", "display_name": "Thermal source robot.crash",
                "rank": "civilian", "command": "PCT-019", "kind": "service" }),
    );
    post(
        &admin,
        format!("{url}/api/users/robot.crash/assignments"),
        json!({ "role": "investigator", "command": "PCT-019", "starts": today }),
    );
    post(
        &admin,
        format!("{url}/api/users/robot.crash/training"),
        json!({ "course": "thermographic_cameras", "completed": today }),
    );
    let token = post(
        &admin,
        format!("{url}/api/users/robot.crash/tokens"),
        json!({ "label": "thermal relay" }),
    )["token"]
        .as_str()
        .expect("token")
        .to_string();
    let sup = common::sign_in(url, "lt.moreau");
    post(
        &sup,
        format!("{url}/api/thermal/authorizations"),
        json!({
            "source": "robot.crash",
            "source_kind": "robot",
            "basis": "public_observation",
            "risks_to_personnel": "officers entering a dark warehouse",
            "risks_to_civilians": "none expected; the block is cordoned",
            "risks_to_suspects": "armed suspect may be hiding",
            "legitimate_purpose": "locate the suspect before entry",
            "duration_minutes": 120,
        }),
    );
    let jpeg = common::shared_sample("thermal", "flir_e40.jpg");
    let robot = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    for _ in 0..FRAMES {
        let r = robot
            .post(format!("{url}/api/thermal/live/robot.crash/frames"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "image/jpeg")
            .body(jpeg.clone())
            .send()
            .expect("push");
        assert_eq!(r.status().as_u16(), 202, "frame refused");
        let b: Value = r.json().expect("json");
        assert_eq!(b["retained"], true, "{b}");
    }
}

/// The database, opened as the command line opens it.
async fn pool(data_dir: &Path, database_url: Option<&str>) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    let url = database_url.map_or_else(
        || format!("sqlite://{}", data_dir.join("probity.db").display()),
        str::to_string,
    );
    sqlx::any::AnyPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .expect("open the database")
}

/// One frame as the database holds it.
struct Frame {
    id: String,
    blob: String,
    disposed: bool,
    certificate: Option<String>,
}

/// The frames the test's robot sent, as the database holds them.
async fn frames(db: &sqlx::AnyPool) -> Vec<Frame> {
    use sqlx::Row;
    sqlx::query(
        // The robot of this test; `probity demo` may keep frames of its own robots too.
        "SELECT id, blob_id, disposed_at, certificate_id FROM thermal_robot_frames \
         WHERE source = 'robot.crash' ORDER BY id",
    )
    .fetch_all(db)
    .await
    .expect("frames")
    .iter()
    .map(|r| Frame {
        id: r.get("id"),
        blob: r.get("blob_id"),
        disposed: r.get::<Option<i64>, _>("disposed_at").is_some(),
        certificate: r.get("certificate_id"),
    })
    .collect()
}

async fn count(db: &sqlx::AnyPool, sql: &str, bind: &str) -> i64 {
    use sqlx::Row;
    sqlx::query(sql)
        .bind(bind.to_string())
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get::<i64, _>(0)
}

/// Every frame of the test's robot wholly disposed or wholly intact; returns how many are
/// disposed.
async fn all_or_nothing(data_dir: &Path, database_url: Option<&str>) -> usize {
    let db = pool(data_dir, database_url).await;
    let mut config = probity_store::StoreConfig::new(data_dir, database_url.map(str::to_string));
    config.master_key_base64 = None;
    let store = probity_store::Store::open(config)
        .await
        .expect("open store");
    let mut disposed = 0;
    for f in frames(&db).await {
        let certificates = count(
            &db,
            "SELECT COUNT(*) FROM disposition_certificates WHERE blob_id = $1 AND rule = 'RET-10'",
            &f.blob,
        )
        .await;
        let entries = count(
            &db,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'thermal.robot.dispose' \
             AND outcome = 'success' AND record_id = $1",
            &f.id,
        )
        .await;
        let blob = uuid::Uuid::parse_str(&f.blob).expect("blob id");
        let mut tx = store.begin_read().await.expect("read");
        let read = store.blobs().get(&mut tx, blob).await;
        tx.rollback().await.expect("rollback");
        if f.disposed {
            disposed += 1;
            assert_eq!(
                certificates, 1,
                "frame {} disposed with {certificates} certificates",
                f.id
            );
            assert!(
                f.certificate.is_some(),
                "frame {} disposed without its certificate",
                f.id
            );
            assert_eq!(
                entries, 1,
                "frame {} disposed with {entries} audit entries",
                f.id
            );
            assert!(
                read.is_err(),
                "frame {} disposed, yet its blob still decrypts",
                f.id
            );
        } else {
            assert_eq!(
                certificates, 0,
                "frame {} intact, yet certified destroyed",
                f.id
            );
            assert!(
                f.certificate.is_none(),
                "frame {} intact with a certificate",
                f.id
            );
            assert_eq!(entries, 0, "frame {} intact, yet audited as disposed", f.id);
            let bytes =
                read.unwrap_or_else(|e| panic!("frame {} intact but unreadable: {e}", f.id));
            assert!(!bytes.is_empty());
        }
    }
    store.close().await;
    db.close().await;
    common::audit_verifies_offline(data_dir, database_url);
    disposed
}

fn retention_run(data_dir: &Path, database_url: Option<&str>) -> Child {
    let mut c = Command::new(common::BIN);
    c.args([
        "retention",
        "run",
        "--approved-by",
        "rm.adeyemi under RET-10",
        "--data-dir",
    ])
    .arg(data_dir)
    .env("PROBITY_LOG", "warn")
    .env_remove("PROBITY_DATABASE_URL")
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(u) = database_url {
        c.args(["--database-url", u]);
    }
    c.spawn().expect("start probity retention run")
}

async fn disposed_now(db: &sqlx::AnyPool) -> usize {
    frames(db).await.iter().filter(|f| f.disposed).count()
}

fn robot_retention_survives_sigkill(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let db_url = database_url.as_deref();
    {
        let mut args: Vec<&str> = Vec::new();
        if let Some(u) = db_url {
            args.extend(["--database-url", u]);
        }
        let (mut server, _, url) = common::start_node("demo", data, &args, &[]);
        robot_sends_frames(&url);
        let _ = server.kill();
        let _ = server.wait();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Thirty-one days pass: every frame's retention has ended.
    rt.block_on(async {
        let db = pool(data, db_url).await;
        sqlx::query(
            "UPDATE thermal_robot_frames SET captured_at = captured_at - $1 \
             WHERE source = 'robot.crash'",
        )
        .bind(31 * DAY_MS)
        .execute(&db)
        .await
        .expect("age the frames");
        assert_eq!(frames(&db).await.len(), FRAMES, "every frame sent was kept");
        db.close().await;
    });
    assert_eq!(rt.block_on(all_or_nothing(data, db_url)), 0);

    // Kill once some frames are disposed (1, a third, two thirds), then at once.
    let mut killed_mid_run = 0;
    for target in [1, FRAMES / 3, 2 * FRAMES / 3, 0] {
        let before = rt.block_on(async {
            let db = pool(data, db_url).await;
            let n = disposed_now(&db).await;
            db.close().await;
            n
        });
        let mut run = retention_run(data, db_url);
        let deadline = Instant::now() + Duration::from_secs(60);
        let finished = rt.block_on(async {
            let db = pool(data, db_url).await;
            let out = loop {
                if let Ok(Some(_)) = run.try_wait() {
                    break true;
                }
                if disposed_now(&db).await >= before + target {
                    break false;
                }
                assert!(
                    Instant::now() < deadline,
                    "the retention run did not progress"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            };
            db.close().await;
            out
        });
        let _ = run.kill();
        let _ = run.wait();
        let disposed = rt.block_on(all_or_nothing(data, db_url));
        if !finished && disposed > before && disposed < FRAMES {
            killed_mid_run += 1;
        }
    }
    assert!(
        killed_mid_run >= 2,
        "only {killed_mid_run} kills landed in the middle of a run: the test proved too little"
    );

    // The next run finishes the rest.
    let status = retention_run(data, db_url).wait().expect("run");
    assert!(status.success(), "the last retention run failed: {status}");
    assert_eq!(rt.block_on(all_or_nothing(data, db_url)), FRAMES);
    // And a run with nothing left to do disposes nothing twice.
    let status = retention_run(data, db_url).wait().expect("run");
    assert!(status.success(), "{status}");
    assert_eq!(rt.block_on(all_or_nothing(data, db_url)), FRAMES);
}

#[test]
fn ret_10_robot_retention_run_all_or_nothing_across_sigkill() {
    robot_retention_survives_sigkill(None);
}

#[test]
fn ret_10_robot_retention_run_all_or_nothing_across_sigkill_postgres() {
    let url = common::fresh_postgres_database("probity_dispose_kill_robot");
    robot_retention_survives_sigkill(Some(url.clone()));
    common::drop_postgres_database(&url);
}
