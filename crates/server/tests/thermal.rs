//! Thermographic cameras through the API: deployment authorization (TH-05), memory-only live view
//! (TH-01, TH-03), robot data retention (TH-04, RET-10, RET-11), no biometrics (TH-06) and the
//! oversight counts. Every test runs on SQLite and PostgreSQL.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{Duration, Utc};
use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

// ------------------------------------------------------------------ captured logs

/// Every log line of this test binary, at TRACE level.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> &'static LogBuffer {
    static LOGS: OnceLock<LogBuffer> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuffer::default();
        let writer = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buf
    })
}

// ------------------------------------------------------------------ helpers

const TOKEN_PREFIX: &str = "Bearer ";

/// Creates a service account for a thermal source (investigator of PCT-019, trained) and returns
/// its API token.
async fn source_account(srv: &TestServer, name: &str) -> String {
    let admin = srv.login("admin").await;
    let today = Utc::now().date_naive();
    let (s, b) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": name, "display_name": format!("Thermal source {name}"),
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
            json!({ "label": "thermal relay" }),
        )
        .await;
    assert!(s.is_success(), "token for {name}: {b}");
    b["token"].as_str().expect("token").to_string()
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

fn authorization(source: &str, kind: &str, basis: &str) -> Value {
    json!({
        "source": source,
        "source_kind": kind,
        "basis": basis,
        "risks_to_personnel": "officers entering a dark warehouse",
        "risks_to_civilians": "none expected; the block is cordoned",
        "risks_to_suspects": "armed suspect may be hiding",
        "legitimate_purpose": "locate the suspect before entry",
        "duration_minutes": 120,
    })
}

async fn authorize(srv: &TestServer, source: &str, kind: &str, basis: &str) -> Value {
    let sup = srv.login("lt.moreau").await;
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            authorization(source, kind, basis),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "authorize {source}: {b}");
    b
}

/// A raw 16-bit frame: `pattern` repeated over `w`×`h` samples (little endian).
fn raw_frame(pattern: &[u8; 16], w: usize, h: usize) -> Vec<u8> {
    pattern.iter().copied().cycle().take(w * h * 2).collect()
}

async fn push_raw(
    srv: &TestServer,
    source: &str,
    token: &str,
    body: Vec<u8>,
    (w, h): (u32, u32),
    (scale, offset): (f64, f64),
) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!(
            "{}/api/thermal/live/{source}/frames?width={w}&height={h}&scale={scale}&offset={offset}",
            srv.url
        ))
        .header("authorization", format!("{TOKEN_PREFIX}{token}"))
        .header("content-type", "application/x-thermal-raw16")
        .body(body)
        .send()
        .await
        .expect("push");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

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

// ------------------------------------------------------------------ TH-05

async fn th_05_live_use_only_under_authorization_by_supervisor(backend: Backend) {
    let srv = common::start(backend).await;
    let token = source_account(&srv, "relay.one").await;
    let frame = raw_frame(&[7; 16], 4, 4);

    // No authorization at all.
    let (s, b) = push_raw(
        &srv,
        "relay.one",
        &token,
        frame.clone(),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["rule"], "TH-05");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or("")
            .contains("no deployment authorization"),
        "{b}"
    );

    // An investigator is not a supervisor: refused.
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &rivera,
            "/api/thermal/authorizations",
            authorization("relay.one", "handheld", "exigent_emergency"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or("")
            .contains("thermal.authorize"),
        "{b}"
    );

    // The facts considered are required; the basis is one of two.
    let sup = srv.login("lt.moreau").await;
    let mut missing = authorization("relay.one", "handheld", "exigent_emergency");
    missing["risks_to_civilians"] = json!("  ");
    missing["legitimate_purpose"] = json!("");
    let (s, b) = srv.post(&sup, "/api/thermal/authorizations", missing).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["rule"], "TH-05");
    let listed = b["missing"].to_string();
    assert!(
        listed.contains("civilians") && listed.contains("purpose"),
        "{b}"
    );
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            authorization("relay.one", "handheld", "Crowd monitoring!"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "basis");
    // A basis TH-05 does not list is a new use: refused until an addendum records it (OVR-04,
    // proved in addenda.rs).
    let (s, b) = srv
        .post(
            &sup,
            "/api/thermal/authorizations",
            authorization("relay.one", "handheld", "crowd_monitoring"),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["rule"], "OVR-04");
    let mut no_expiry = authorization("relay.one", "handheld", "exigent_emergency");
    no_expiry["duration_minutes"] = Value::Null;
    let (s, b) = srv
        .post(&sup, "/api/thermal/authorizations", no_expiry)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(b["field"], "expires_at");

    // Authorized: pushes are accepted.
    let a = authorize(&srv, "relay.one", "handheld", "exigent_emergency").await;
    assert_eq!(a["in_force"], true);
    let (s, b) = push_raw(
        &srv,
        "relay.one",
        &token,
        frame.clone(),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    assert_eq!(b["retained"], false);

    // Another source's account may not push as relay.one.
    let other = source_account(&srv, "relay.two").await;
    let (s, b) = push_raw(
        &srv,
        "relay.one",
        &other,
        frame.clone(),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["detail"].as_str().unwrap_or("").contains("wrong source"),
        "{b}"
    );

    // An expired authorization: refused, saying when it expired.
    let moreau = {
        let mut tx = srv.state.store.begin().await.expect("tx");
        let u = probity_store::users::get_by_username(&mut tx, "lt.moreau")
            .await
            .expect("read")
            .expect("lt.moreau");
        let now = Utc::now();
        probity_store::thermal::create_authorization(
            &mut tx,
            &probity_store::thermal::NewAuthorization {
                command: "PCT-019".into(),
                source: "relay.two".into(),
                source_kind: "wireless".into(),
                basis: "public_observation".into(),
                risks_to_personnel: "low".into(),
                risks_to_civilians: "low".into(),
                risks_to_suspects: "low".into(),
                legitimate_purpose: "watch a public square".into(),
                starts_at: now - Duration::hours(3),
                expires_at: now - Duration::hours(1),
                authorized_by: u.id,
                authorized_at: now - Duration::hours(4),
            },
        )
        .await
        .expect("store expired authorization");
        tx.commit().await.expect("commit");
        u.id
    };
    let _ = moreau;
    let (s, b) = push_raw(
        &srv,
        "relay.two",
        &other,
        frame.clone(),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(b["rule"], "TH-05");
    assert!(
        b["detail"].as_str().unwrap_or("").contains("expired"),
        "{b}"
    );

    // Monitors are refused under the expired authorization too.
    let (s, b) = srv.get(&sup, "/api/thermal/live/relay.two/view").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(
        b["detail"].as_str().unwrap_or("").contains("expired"),
        "{b}"
    );

    // The authorization and the refusals are in the audit trail.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let entries = probity_store::audit::query(
        &mut tx,
        &probity_store::audit::AuditQuery {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    tx.commit().await.expect("commit");
    assert!(entries
        .iter()
        .any(|e| e.action == "thermal.authorize" && e.outcome == "success"));
    assert!(entries
        .iter()
        .any(|e| e.action == "thermal.live.push" && e.outcome == "denied"));
}
both!(
    th_05_live_use_only_under_authorization_by_supervisor,
    super::th_05_live_use_only_under_authorization_by_supervisor
);

// ------------------------------------------------------------------ TH-01, TH-03

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

async fn postgres_dump(url: &str) -> Vec<u8> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("connect test database");
    let tables: Vec<String> = sqlx::query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("tables")
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    assert!(tables.iter().any(|t| t == "thermal_authorizations"));
    let mut dump = Vec::new();
    for t in tables {
        let rows = sqlx::query(&format!("SELECT row_to_json(x)::text FROM \"{t}\" x"))
            .fetch_all(&mut conn)
            .await
            .expect("dump table");
        for r in rows {
            dump.extend_from_slice(r.get::<String, _>(0).as_bytes());
            dump.push(b'\n');
        }
    }
    dump
}

async fn th_03_live_view_leaves_no_trace(backend: Backend) {
    let logs = logs();
    let srv = common::start(backend).await;
    let token = source_account(&srv, "relay.live").await;
    authorize(&srv, "relay.live", "wireless", "public_observation").await;

    // A pattern no other test writes, and temperatures in a band nothing else produces.
    let id = uuid::Uuid::new_v4();
    let pattern: [u8; 16] = *id.as_bytes();
    let (w, h) = (16u32, 12u32);
    let scale = 0.000_3;
    let offset = -59.876_5 - f64::from(pattern[0]) / 1000.0;
    let body = raw_frame(&pattern, w as usize, h as usize);

    let monitor = srv.login("lt.moreau").await;
    let mut readings = Vec::new();
    for i in 0..3u8 {
        let mut frame = body.clone();
        frame[0] ^= i;
        let (s, b) = push_raw(&srv, "relay.live", &token, frame, (w, h), (scale, offset)).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{b}");
        let seq = b["seq"].as_u64().expect("seq");
        let (s, v) = srv
            .get(
                &monitor,
                &format!(
                    "/api/thermal/live/relay.live/view?after={}&x=3&y=2",
                    seq - 1
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["seq"].as_u64(), Some(seq));
        assert_eq!(v["spot"]["x"], 3);
        assert_eq!(v["spot"]["y"], 2);
        assert!(v["image"]
            .as_str()
            .unwrap_or("")
            .starts_with("data:image/jpeg;base64,"));
        // The spot temperature is the calibration of the pattern's sample at (3, 2).
        let k = (2 * w as usize + 3) * 2 % 16;
        let raw = u16::from_le_bytes([pattern[k], pattern[k + 1]]);
        let expected = f64::from(raw) * scale + offset;
        let spot = v["spot"]["celsius"].as_f64().expect("spot");
        assert!(
            (spot - expected).abs() < 0.01,
            "spot {spot} expected {expected}"
        );
        for key in ["spot", "min", "max"] {
            if let Some(c) = v[key]["celsius"].as_f64() {
                readings.push(c);
            }
        }
    }
    assert!(readings.iter().all(|c| (-61.0..-40.0).contains(c)));

    // The MJPEG stream plays the latest frame at once.
    let mut stream = monitor
        .get(format!("{}/thermal/live/relay.live/stream", srv.url))
        .send()
        .await
        .expect("stream");
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .starts_with("multipart/x-mixed-replace"));
    let mut part = Vec::new();
    while part.len() < 64 {
        match stream.chunk().await.expect("chunk") {
            Some(c) => part.extend_from_slice(&c),
            None => break,
        }
    }
    assert!(part.starts_with(b"--frame\r\nContent-Type: image/jpeg\r\n"));
    drop(stream);

    // A monitor without the training is refused (TH-05 policy, OVR-01).
    let okafor = srv.login("det.okafor").await;
    let (s, _) = srv.get(&okafor, "/api/thermal/live/relay.live/view").await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // End the session.
    let r = reqwest::Client::new()
        .delete(format!("{}/api/thermal/live/relay.live", srv.url))
        .header("authorization", format!("{TOKEN_PREFIX}{token}"))
        .send()
        .await
        .expect("stop");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (s, _) = srv.get(&monitor, "/api/thermal/live/relay.live/view").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "the session's frame is gone");

    // Search everything the server could have written.
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("frame bytes".into(), [pattern, pattern].concat()),
        (
            "frame bytes in hex".into(),
            hex::encode(pattern).into_bytes(),
        ),
    ];
    for c in &readings {
        needles.push((
            format!("temperature {c:.3}"),
            format!("{c:.3}").into_bytes(),
        ));
    }
    let mut files = Vec::new();
    files_under(srv.dir.path(), &mut files);
    assert!(!files.is_empty());
    let mut haystacks: Vec<(String, Vec<u8>)> = files
        .iter()
        .filter_map(|f| Some((f.display().to_string(), std::fs::read(f).ok()?)))
        .collect();
    if let Some(url) = &srv.database_url {
        haystacks.push(("PostgreSQL tables".into(), postgres_dump(url).await));
    }
    haystacks.push((
        "metrics".into(),
        probity_server::observability::prometheus()
            .render()
            .into_bytes(),
    ));
    let log_bytes = logs.0.lock().map(|b| b.clone()).unwrap_or_default();
    assert!(!log_bytes.is_empty(), "the log capture works");
    haystacks.push(("logs".into(), log_bytes));
    for (what, needle) in &needles {
        for (place, hay) in &haystacks {
            assert!(!contains(hay, needle), "TH-03: {what} found in {place}");
        }
    }

    // Only the session's start and stop and who watched are audited.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let entries = probity_store::audit::query(
        &mut tx,
        &probity_store::audit::AuditQuery {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .expect("audit");
    tx.commit().await.expect("commit");
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "thermal.live.start")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "thermal.live.watch")
            .count(),
        1
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "thermal.live.stop")
            .count(),
        1
    );
    let stop = entries
        .iter()
        .find(|e| e.action == "thermal.live.stop")
        .expect("stop entry");
    assert!(
        stop.detail.contains("lt.moreau"),
        "who watched: {}",
        stop.detail
    );
}
both!(
    th_03_live_view_leaves_no_trace,
    super::th_03_live_view_leaves_no_trace
);

/// The Duo Pro R sample with its Planck constants replaced by placeholders (R1 = R2 = B = F = 1,
/// O = 0), as a non-radiometric camera writes them; patched in memory, never on disk here.
fn placeholder_calibration_frame() -> Vec<u8> {
    let mut b = std::fs::read(data_dir().join("thermal/flir_duo_pro_r_frame.fff")).expect("sample");
    let be32 =
        |b: &[u8], o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as usize;
    let (dir, n) = (be32(&b, 0x18), be32(&b, 0x1C));
    let cam = (0..n)
        .map(|i| dir + i * 32)
        .find(|&e| u16::from_be_bytes([b[e], b[e + 1]]) == 0x20)
        .map(|e| be32(&b, e + 0x0C))
        .expect("camera record");
    let le = u16::from_le_bytes([b[cam], b[cam + 1]]) == 2;
    let f = |v: f32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    for off in [0x58, 0x5C, 0x60, 0x30C] {
        b[cam + off..cam + off + 4].copy_from_slice(&f(1.0));
    }
    b[cam + 0x308..cam + 0x30C].fill(0);
    b
}

async fn th_02_non_radiometric_frame_shows_no_temperatures(backend: Backend) {
    let srv = common::start(backend).await;
    let token = source_account(&srv, "relay.vue").await;
    authorize(&srv, "relay.vue", "wireless", "public_observation").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/thermal/live/relay.vue/frames", srv.url))
        .header("authorization", format!("{TOKEN_PREFIX}{token}"))
        .header("content-type", "application/octet-stream")
        .body(placeholder_calibration_frame())
        .send()
        .await
        .expect("push");
    assert_eq!(
        r.status(),
        StatusCode::ACCEPTED,
        "a non-radiometric frame is still viewable"
    );
    let pushed: Value = r.json().await.expect("json");
    assert_eq!(pushed["radiometric"], false, "{pushed}");
    assert_eq!(pushed["temperatures"], "unavailable", "{pushed}");
    let monitor = srv.login("lt.moreau").await;
    let (s, v) = srv
        .get(&monitor, "/api/thermal/live/relay.vue/view?after=0")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["radiometric"], false, "{v}");
    assert_eq!(v["temperatures"], "unavailable", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap_or("")
            .contains("placeholder constants"),
        "{v}"
    );
    for r in ["spot", "min", "max"] {
        assert!(v[r]["celsius"].is_null(), "{r}: {v}");
    }
    assert!(v["mean_c"].is_null(), "{v}");
    assert!(v["image"]
        .as_str()
        .unwrap_or("")
        .starts_with("data:image/jpeg;base64,"));

    // The page says so in the same words (its script fills them in from the frame).
    let script = monitor
        .get(format!("{}/static/thermal_live.js", srv.url))
        .send()
        .await
        .expect("script")
        .text()
        .await
        .expect("text");
    assert!(script.contains("not radiometric: temperatures unavailable"));

    // A radiometric frame of the same source reports temperatures again.
    let (s, b) = push_raw(
        &srv,
        "relay.vue",
        &token,
        raw_frame(&[7; 16], 4, 4),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let seq = b["seq"].as_u64().expect("seq");
    let (s, v) = srv
        .get(
            &monitor,
            &format!("/api/thermal/live/relay.vue/view?after={}", seq - 1),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["radiometric"], true, "{v}");
    assert!(v.get("temperatures").is_none(), "{v}");
    assert!(v["spot"]["celsius"].is_number(), "{v}");

    // A robot's retained frame renders without a °C scale and says why.
    let robot = source_account(&srv, "robot.vue").await;
    authorize(&srv, "robot.vue", "robot", "public_observation").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/thermal/live/robot.vue/frames", srv.url))
        .header("authorization", format!("{TOKEN_PREFIX}{robot}"))
        .header("content-type", "application/octet-stream")
        .body(placeholder_calibration_frame())
        .send()
        .await
        .expect("push");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let (s, frames) = srv.get(&monitor, "/api/thermal/robot/frames").await;
    assert_eq!(s, StatusCode::OK, "{frames}");
    let id = frames[0]["id"].as_str().expect("frame id").to_string();
    // The list marks the frame, with the reason recorded when it arrived.
    assert_eq!(frames[0]["radiometric"], false, "{frames}");
    let marked = frames[0]["temperatures"].as_str().unwrap_or("");
    assert!(
        marked.starts_with("not radiometric: temperatures unavailable (")
            && marked.contains("placeholder constants"),
        "{frames}"
    );
    let r = monitor
        .get(format!("{}/api/thermal/robot/frames/{id}/image", srv.url))
        .send()
        .await
        .expect("image");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()
            .get("x-thermal-radiometry")
            .and_then(|v| v.to_str().ok()),
        Some("not radiometric: temperatures unavailable")
    );
    let png = r.bytes().await.expect("png");
    assert!(png.starts_with(b"\x89PNG"));
    let page = monitor
        .get(format!("{}/thermal/robot", srv.url))
        .send()
        .await
        .expect("robot page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains(
            "<td class=\"radiometry\"><strong>not radiometric: temperatures unavailable ("
        ),
        "the frame's own row says so: {page}"
    );

    // A radiometric frame of the same robot is listed as measured.
    let (s, b) = push_raw(
        &srv,
        "robot.vue",
        &robot,
        raw_frame(&[7; 16], 4, 4),
        (4, 4),
        (0.04, -273.15),
    )
    .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{b}");
    let (_, frames) = srv.get(&monitor, "/api/thermal/robot/frames").await;
    let flags: Vec<bool> = frames
        .as_array()
        .expect("frames")
        .iter()
        .filter_map(|f| f["radiometric"].as_bool())
        .collect();
    assert_eq!(flags.len(), 2, "{frames}");
    assert!(flags.contains(&true) && flags.contains(&false), "{frames}");
    assert!(frames
        .as_array()
        .expect("frames")
        .iter()
        .any(|f| f["radiometric"] == true && f["temperatures"].is_null()));
}
both!(
    th_02_non_radiometric_frame_shows_no_temperatures,
    super::th_02_non_radiometric_frame_shows_no_temperatures
);

// ------------------------------------------------------------------ TH-04, RET-10, RET-11

async fn th_04_robot_frames_kept_30_days_then_shredded(backend: Backend) {
    let srv = common::start(backend).await;
    let token = source_account(&srv, "robot.pilot").await;
    authorize(&srv, "robot.pilot", "robot", "public_observation").await;
    let jpeg = std::fs::read(data_dir().join("thermal/flir_e40.jpg")).expect("sample");
    for _ in 0..2 {
        let r = reqwest::Client::new()
            .post(format!("{}/api/thermal/live/robot.pilot/frames", srv.url))
            .header("authorization", format!("{TOKEN_PREFIX}{token}"))
            .header("content-type", "image/jpeg")
            .body(jpeg.clone())
            .send()
            .await
            .expect("push");
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        let b: Value = r.json().await.expect("json");
        assert_eq!(b["retained"], true);
    }
    let sup = srv.login("lt.moreau").await;
    let (s, frames) = srv.get(&sup, "/api/thermal/robot/frames").await;
    assert_eq!(s, StatusCode::OK, "{frames}");
    let frames = frames.as_array().cloned().unwrap_or_default();
    assert_eq!(frames.len(), 2);
    assert!(frames[0]["retention"]
        .as_str()
        .unwrap_or("")
        .contains("RET-10"));

    // Stored encrypted: the file's bytes appear nowhere in the data directory.
    let mut files = Vec::new();
    files_under(srv.dir.path(), &mut files);
    let needle = &jpeg[jpeg.len() / 2..jpeg.len() / 2 + 64];
    for f in &files {
        let bytes = std::fs::read(f).unwrap_or_default();
        assert!(
            !contains(&bytes, needle),
            "robot frame in clear in {}",
            f.display()
        );
    }

    // One frame is relevant to an investigation: its investigator moves it into the case.
    let admin = srv.login("admin").await;
    train(&srv, &admin, "det.rivera").await;
    let rivera = srv.login("det.rivera").await;
    let (_, cases) = srv.get(&rivera, "/api/cases").await;
    let case = cases["items"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|c| c["assigned_investigator"] == "det.rivera" && c["status"] == "open")
        })
        .and_then(|c| c["case_number"].as_str())
        .expect("an open case of det.rivera")
        .to_string();
    let kept_id = frames[0]["id"].as_str().expect("id").to_string();
    let gone_id = frames[1]["id"].as_str().expect("id").to_string();
    let (s, b) = srv
        .post(
            &rivera,
            &format!("/api/cases/{case}/thermal/robot-frames"),
            json!({ "frame_id": kept_id }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["case_number"], case.as_str());

    // Before 30 days nothing is disposed (RET-11: never before the minimum).
    let now = Utc::now();
    let report = probity_server::thermal::robot::run_retention(
        &srv.state,
        now + Duration::days(29),
        "system:retention",
        "policy RET-10",
    )
    .await
    .expect("retention run");
    assert!(report.certificates.is_empty());
    assert_eq!(report.kept, 1);

    // After 30 days the frame outside the case is crypto-shredded with a certificate.
    let report = probity_server::thermal::robot::run_retention(
        &srv.state,
        now + Duration::days(31),
        "system:retention",
        "policy RET-10",
    )
    .await
    .expect("retention run");
    assert_eq!(report.certificates.len(), 1);
    let cert = &report.certificates[0];
    assert_eq!(cert.robot_frame, gone_id);
    assert_eq!(cert.rule, "RET-10");
    assert!(cert.what.contains("robot"));
    assert_eq!(cert.approved_by, "policy RET-10");

    let (s, _) = srv
        .get(&sup, &format!("/api/thermal/robot/frames/{gone_id}/image"))
        .await;
    assert_eq!(s, StatusCode::GONE, "a destroyed frame can never be read");
    let r = sup
        .get(format!(
            "{}/api/thermal/robot/frames/{kept_id}/image",
            srv.url
        ))
        .send()
        .await
        .expect("image");
    assert_eq!(r.status(), StatusCode::OK);
    let png = r.bytes().await.expect("png");
    assert!(png.starts_with(b"\x89PNG"));

    // The stored certificate says what, why, which rule and who approved.
    let mut tx = srv.state.store.begin().await.expect("tx");
    let frame = probity_store::thermal::get_robot_frame(
        &mut tx,
        uuid::Uuid::parse_str(&gone_id).expect("uuid"),
    )
    .await
    .expect("read")
    .expect("frame row stays");
    let stored = probity_store::blobs::certificate(&mut tx, frame.blob_id)
        .await
        .expect("certificate")
        .expect("certificate exists");
    assert_eq!(stored.rule, "RET-10");
    tx.commit().await.expect("commit");

    // A second run finds nothing more: the frame in the case follows the case's schedule.
    let report = probity_server::thermal::robot::run_retention(
        &srv.state,
        now + Duration::days(400),
        "system:retention",
        "policy RET-10",
    )
    .await
    .expect("retention run");
    assert!(report.certificates.is_empty());
}
both!(
    th_04_robot_frames_kept_30_days_then_shredded,
    super::th_04_robot_frames_kept_30_days_then_shredded
);

// ------------------------------------------------------------------ TH-06

#[test]
fn th_06_radiometric_files_refused_for_biometrics() {
    let dir = data_dir().join("thermal");
    for name in [
        "flir_e40.jpg",
        "flir_t640.jpg",
        "dji_xt2_flir_core.jpg",
        "flir_duo_pro_r_frame.fff",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("sample");
        let e = probity_server::thermal::refuse_for_biometrics(&bytes)
            .expect_err("a thermal file must be refused");
        assert_eq!(e.rule.as_deref(), Some("TH-06"), "{name}");
        assert!(e.detail.contains("TH-06"));
    }
    let plain =
        std::fs::read(dir.join("negative/flir_exif_without_thermal_segment.jpg")).expect("sample");
    assert!(probity_server::thermal::refuse_for_biometrics(&plain).is_ok());
}

// ------------------------------------------------------------------ OVR-03

async fn ovr_03_deployments_counted_by_basis(backend: Backend) {
    let srv = common::start(backend).await;
    authorize(&srv, "cam.a", "handheld", "exigent_emergency").await;
    authorize(&srv, "cam.b", "wireless", "exigent_emergency").await;
    authorize(&srv, "cam.c", "wireless", "public_observation").await;
    let apo = srv.login("apo.singh").await;
    let (s, b) = srv.get(&apo, "/api/thermal/oversight").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["exigent_emergency"], 2);
    assert_eq!(b["public_observation"], 1);
    assert_eq!(b["total"], 3);
    let rivera = srv.login("det.rivera").await;
    let (s, _) = srv.get(&rivera, "/api/thermal/oversight").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let sup = srv.login("lt.moreau").await;
    let (s, list) = srv.get(&sup, "/api/thermal/authorizations").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));
}
both!(
    ovr_03_deployments_counted_by_basis,
    super::ovr_03_deployments_counted_by_basis
);

/// TH-06 through the facial recognition API: a request whose still is a radiometric file is
/// refused, naming TH-06, and no request is created.
async fn th_06_fr_request_with_thermal_still_refused(backend: Backend) {
    let srv = common::start(backend).await;
    let rivera = srv.login("det.rivera").await;
    for name in ["flir_e40.jpg", "dji_xt2_flir_core.jpg"] {
        let bytes = std::fs::read(data_dir().join("thermal").join(name)).expect("sample");
        let form = reqwest::multipart::Form::new()
            .text("authorized_use", "suspect")
            .part(
                "still_0",
                reqwest::multipart::Part::bytes(bytes).file_name("still.jpg"),
            )
            .text("source_0", "cctv");
        let r = rivera
            .post(format!("{}/api/cases/2026-019-000101/fr-requests", srv.url))
            .multipart(form)
            .send()
            .await
            .expect("request");
        let s = r.status();
        let b: Value = r.json().await.unwrap_or(Value::Null);
        assert!(s.is_client_error(), "{name}: {s} {b}");
        let named = b["rule"] == "TH-06" || b["detail"].as_str().unwrap_or("").contains("TH-06");
        assert!(named, "{name}: the refusal names TH-06: {b}");
    }
    let (s, list) = srv
        .get(&rivera, "/api/cases/2026-019-000101/fr-requests")
        .await;
    if s == StatusCode::OK {
        assert_eq!(list.as_array().map(Vec::len).unwrap_or(0), 0, "{list}");
    }
}
both!(
    th_06_fr_request_with_thermal_still_refused,
    super::th_06_fr_request_with_thermal_still_refused
);
