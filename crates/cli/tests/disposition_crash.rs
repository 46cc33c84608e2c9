//! Crash safety of a disposition (RET-11): a `probity demo` server is killed with SIGKILL while it
//! executes an approved disposition, at a spread of moments from "the request has just been
//! written" to "the answer has been read". After a restart on the same data the record is either
//! wholly disposed (executed, its signed certificate verifying against the server key in the
//! data directory, no original served, off the retention schedule) or wholly intact (still
//! proposed, no certificate, every original served byte for byte with its SHA-256, still on the
//! schedule); an approval that was answered 200 is never lost; a proposal left open approves
//! again; and the audit trail verifies. Runs on SQLite (the embedded default) and PostgreSQL.

#[path = "../../store/tests/s3_server/mod.rs"]
mod s3_server;

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::{camera_sample, PASSWORD};
use serde_json::{json, Value};

const INVESTIGATOR: &str = "det.rivera";
const OFFICER: &str = "rec.lopez";
const MANAGER: &str = "rm.adeyemi";
const AUDITOR: &str = "iab.walsh";

/// When the server dies, relative to the approval request.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// This long after the whole request was written to the socket.
    After(Duration),
    /// Once the answer has been read: the approval was acknowledged.
    Acknowledged,
}

/// Intervals in the window the kill points spread over.
const STEPS: u32 = 14;

/// Kill points spread evenly from 0 to 1.5 times `latency` (how long an acknowledged approval
/// took on a freshly started server), so the spread covers the approval's execution and its
/// commit on a fast machine as on a slow one, and two later ones.
fn spread(latency: Duration) -> Vec<KillPoint> {
    let window = latency.max(Duration::from_millis(2)) * 3 / 2;
    let mut points: Vec<KillPoint> = (0..=STEPS)
        .map(|k| KillPoint::After(window * k / STEPS))
        .collect();
    points.push(KillPoint::After(window * 2));
    points.push(KillPoint::After(window * 4));
    points
}

fn originals() -> Vec<(String, Vec<u8>)> {
    let minimal = camera_sample("apple_minimal.jpg");
    let mut files = vec![
        (
            "apple_iphone4.jpg".to_string(),
            camera_sample("apple_iphone4.jpg"),
        ),
        ("apple_minimal.jpg".to_string(), minimal.clone()),
    ];
    for n in 1..=2 {
        let mut v = minimal.clone();
        v.extend_from_slice(format!("probity-crash-variant-{n}").as_bytes());
        files.push((format!("apple_minimal_variant{n}.jpg"), v));
    }
    files
}

/// `probity demo` on a free port; killed on drop (SIGKILL on Unix).
struct Server {
    child: Child,
    port: u16,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `probity demo` (which seeds the demo accounts and keeps existing data) and waits until
/// it answers.
fn start(data_dir: &Path, database_url: Option<&str>, blob_url: Option<&str>) -> Server {
    let mut args: Vec<&str> = Vec::new();
    if let Some(u) = database_url {
        args.extend(["--database-url", u]);
    }
    if let Some(u) = blob_url {
        args.extend(["--blob-url", u]);
    }
    let (child, port, url) = common::start_node("demo", data_dir, &args, &[]);
    Server { child, port, url }
}

fn sign_in(url: &str, user: &str) -> reqwest::blocking::Client {
    common::sign_in(url, user)
}

/// The session cookie of `user`, for a request written by hand on a raw socket.
fn session_cookie(url: &str, user: &str) -> String {
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let r = c
        .post(format!("{url}/api/session"))
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .expect("sign in");
    assert!(r.status().is_success(), "sign in {user}: {}", r.status());
    let cookies: Vec<String> = r
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .map(str::to_string)
        .collect();
    assert!(!cookies.is_empty(), "no session cookie for {user}");
    cookies.join("; ")
}

fn send_json(
    c: &reqwest::blocking::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> (u16, Value) {
    let r = c
        .request(method, &url)
        .json(&body)
        .send()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

fn get_json(c: &reqwest::blocking::Client, url: String) -> (u16, Value) {
    let r = c.get(&url).send().unwrap_or_else(|e| panic!("{url}: {e}"));
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

struct Item {
    id: String,
    file: String,
    bytes: Vec<u8>,
    sha256: String,
}

/// A closed case with its originals, due today under RET-01, and the open proposal to dispose
/// of it.
struct Prepared {
    case: String,
    disposition: String,
    items: Vec<Item>,
}

fn upload(c: &reqwest::blocking::Client, url: &str, case: &str, file: &str, bytes: &[u8]) -> Item {
    let r = common::post_evidence(c, url, case, file, bytes).expect("upload");
    let s = r.status().as_u16();
    let report: Value = r.json().unwrap_or(Value::Null);
    let f = &report["files"][0];
    assert!(
        s == 201 && f["outcome"] == "stored",
        "upload {file} to {case}: {s} {report}"
    );
    let sha256 = f["sha256"].as_str().expect("sha256").to_string();
    assert_eq!(
        sha256,
        probity_imaging::hash::sha256_hex(bytes),
        "the intake hash of {file}"
    );
    Item {
        id: f["item_id"].as_str().expect("item id").to_string(),
        file: file.to_string(),
        bytes: bytes.to_vec(),
        sha256,
    }
}

/// Opens a case, uploads the originals, closes it as a missing person case, records that the
/// person was located today (RET-01: due today) and has the records officer propose it.
fn prepare(url: &str, case: &str, files: &[(String, Vec<u8>)]) -> Prepared {
    let rivera = sign_in(url, INVESTIGATOR);
    let (s, b) = send_json(
        &rivera,
        reqwest::Method::POST,
        format!("{url}/api/cases"),
        json!({
            "case_number": case,
            "offence_classification": "misdemeanor",
            "assigned_investigator": INVESTIGATOR,
        }),
    );
    assert_eq!(s, 201, "open {case}: {b}");
    let items: Vec<Item> = files
        .iter()
        .map(|(name, bytes)| upload(&rivera, url, case, name, bytes))
        .collect();
    let (s, b) = send_json(
        &rivera,
        reqwest::Method::POST,
        format!("{url}/api/cases/{case}/close"),
        json!({ "closure_reason": "no_arrest", "final_classification": "missing_person" }),
    );
    assert!((200..300).contains(&s), "close {case}: {s} {b}");
    let today = chrono::Utc::now().date_naive().to_string();
    let (s, b) = send_json(
        &rivera,
        reqwest::Method::PUT,
        format!("{url}/api/cases/{case}/retention-facts"),
        json!({ "person_located_on": today, "reason": "located by PSA 3" }),
    );
    assert_eq!(s, 200, "retention facts of {case}: {b}");
    let officer = sign_in(url, OFFICER);
    let (s, d) = send_json(
        &officer,
        reqwest::Method::POST,
        format!("{url}/api/dispositions"),
        json!({ "record_kind": "case", "record_id": case, "reason": "RET-01: the person was located" }),
    );
    assert_eq!(s, 201, "propose {case}: {d}");
    assert_eq!(d["status"], "proposed", "{d}");
    Prepared {
        case: case.to_string(),
        disposition: d["id"].as_str().expect("disposition id").to_string(),
        items,
    }
}

/// Writes the approval by hand on a connected socket, then kills the server at `point`.
/// Returns the status line of the answer when it was read before the kill, and how long after
/// the request it came.
fn approve_then_sigkill(
    mut server: Server,
    p: &Prepared,
    point: KillPoint,
) -> (Option<String>, Duration) {
    let cookie = session_cookie(&server.url, MANAGER);
    let body = r#"{"reason":"approved under RET-01"}"#;
    let request = format!(
        "POST /api/dispositions/{}/approve HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
         Cookie: {cookie}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        p.disposition,
        server.port,
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    stream.write_all(request.as_bytes()).expect("send approval");
    let sent = Instant::now();
    let answered = match point {
        KillPoint::After(d) => {
            if !d.is_zero() {
                std::thread::sleep(d);
            }
            None
        }
        KillPoint::Acknowledged => {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
            let text = String::from_utf8_lossy(&answer);
            Some(text.lines().next().unwrap_or_default().to_string())
        }
    };
    let elapsed = sent.elapsed();
    server.child.kill().expect("SIGKILL"); // SIGKILL on Unix
    let _ = server.child.wait();
    drop(server);
    (answered, elapsed)
}

#[derive(Debug, PartialEq)]
enum Found {
    Disposed,
    Intact,
}

/// The all-or-nothing invariant, checked on a restarted server.
fn check(url: &str, data_dir: &Path, p: &Prepared, why: &str) -> Found {
    let manager = sign_in(url, MANAGER);
    let rivera = sign_in(url, INVESTIGATOR);
    let officer = sign_in(url, OFFICER);
    let (s, d) = get_json(
        &manager,
        format!("{url}/api/dispositions/{}", p.disposition),
    );
    assert_eq!(s, 200, "{why}: the disposition after restart: {d}");
    let status = d["status"].as_str().unwrap_or_default().to_string();
    let cert = manager
        .get(format!(
            "{url}/api/dispositions/{}/certificate",
            p.disposition
        ))
        .send()
        .expect("certificate");
    let cert_status = cert.status().as_u16();
    let cert_text = cert.text().unwrap_or_default();
    let originals: Vec<(u16, Vec<u8>)> = p
        .items
        .iter()
        .map(|i| {
            let r = rivera
                .get(format!(
                    "{url}/api/cases/{}/evidence/{}/original",
                    p.case, i.id
                ))
                .send()
                .expect("original");
            let s = r.status().as_u16();
            (s, r.bytes().map(|b| b.to_vec()).unwrap_or_default())
        })
        .collect();
    let (s, schedule) = get_json(&officer, format!("{url}/api/retention/schedule"));
    assert_eq!(s, 200, "{why}: schedule: {schedule}");
    let on_schedule: Vec<&Value> = schedule
        .as_array()
        .map(|a| a.iter().filter(|e| e["record_id"] == p.case).collect())
        .unwrap_or_default();

    match status.as_str() {
        "executed" => {
            assert_eq!(
                cert_status, 200,
                "{why}: executed without its certificate: {cert_text}"
            );
            let keys = probity_store::ServerKeys::load_or_create(data_dir).expect("server key");
            let c = probity_server::records::verify_certificate(&cert_text, &keys.verifying_key())
                .unwrap_or_else(|e| panic!("{why}: the certificate does not verify: {e}"));
            assert_eq!(c["record_id"], p.case.as_str(), "{why}: {c}");
            assert_eq!(c["disposition_id"], p.disposition.as_str(), "{why}: {c}");
            assert_eq!(c["approved_by"], MANAGER, "{why}: {c}");
            for i in &p.items {
                assert!(
                    c["items"]
                        .as_array()
                        .is_some_and(|a| a.iter().any(|x| x["sha256"] == i.sha256.as_str())),
                    "{why}: the certificate does not list {} ({}): {c}",
                    i.file,
                    i.sha256
                );
            }
            for (i, (s, _)) in p.items.iter().zip(&originals) {
                assert!(
                    !(200..300).contains(s),
                    "{why}: disposed, yet the original {} is still served ({s})",
                    i.file
                );
            }
            assert!(
                on_schedule.is_empty(),
                "{why}: disposed, yet still on the schedule: {on_schedule:?}"
            );
            Found::Disposed
        }
        "proposed" => {
            assert_ne!(
                cert_status, 200,
                "{why}: still proposed, yet a certificate is served: {cert_text}"
            );
            for (i, (s, bytes)) in p.items.iter().zip(&originals) {
                assert_eq!(
                    *s, 200,
                    "{why}: not disposed, yet the original {} is gone",
                    i.file
                );
                assert_eq!(
                    probity_imaging::hash::sha256_hex(bytes),
                    i.sha256,
                    "{why}: the original {} changed",
                    i.file
                );
                assert!(*bytes == i.bytes, "{why}: the original {} changed", i.file);
            }
            assert_eq!(
                on_schedule.len(),
                1,
                "{why}: not disposed, yet off the schedule: {schedule}"
            );
            assert_eq!(
                on_schedule[0]["proposal"],
                p.disposition.as_str(),
                "{why}: the open proposal is not on the schedule: {schedule}"
            );
            Found::Intact
        }
        other => panic!("{why}: the disposition is {other:?}: {d}"),
    }
}

fn audit_verifies(url: &str, why: &str) {
    let iab = sign_in(url, AUDITOR);
    let (s, v) = get_json(&iab, format!("{url}/api/audit/verify"));
    assert!(
        s == 200 && v["valid"] == true,
        "{why}: the audit chain does not verify: {s} {v}"
    );
}

fn all_or_nothing(database_url: Option<String>, blob_url: Option<&str>) {
    let db = database_url.as_deref();
    let dir = tempfile::tempdir().expect("data dir");
    let files = originals();
    let kill_points = 1 + spread(Duration::ZERO).len();

    // One case per kill point, all prepared up front on the first server.
    let server = start(dir.path(), db, blob_url);
    let prepared: Vec<Prepared> = (0..kill_points)
        .map(|i| prepare(&server.url, &format!("2026-019-{:06}", 810_000 + i), &files))
        .collect();
    // Every approval below is the first request of its kind on a freshly started server.
    drop(server);
    let mut server = start(dir.path(), db, blob_url);

    // The first approval is answered before the kill: it must survive, and how long it took
    // places the other kill points.
    let mut plan = vec![KillPoint::Acknowledged];
    let mut disposed = 0;
    let mut intact = 0;
    let mut i = 0;
    while i < plan.len() {
        let (p, point) = (&prepared[i], plan[i]);
        let why = format!("case {} killed at {point:?}", p.case);
        let (answer, elapsed) = approve_then_sigkill(server, p, point);
        server = start(dir.path(), db, blob_url);
        let found = check(&server.url, dir.path(), p, &why);
        if let Some(line) = &answer {
            // An acknowledged approval is never lost.
            assert!(
                line.contains(" 200 "),
                "{why}: the approval answered {line}"
            );
            assert_eq!(
                found,
                Found::Disposed,
                "{why}: an acknowledged approval was lost"
            );
            if i == 0 {
                plan.extend(spread(elapsed));
                eprintln!("an acknowledged approval took {elapsed:?}; kill points {plan:?}");
            }
        }
        audit_verifies(&server.url, &why);
        match found {
            Found::Disposed => disposed += 1,
            Found::Intact => {
                intact += 1;
                // The proposal survived whole: approving it again goes through.
                let manager = sign_in(&server.url, MANAGER);
                let (s, d) = send_json(
                    &manager,
                    reqwest::Method::POST,
                    format!("{}/api/dispositions/{}/approve", server.url, p.disposition),
                    json!({ "reason": "approved again after the restart" }),
                );
                assert_eq!(s, 200, "{why}: approving again after restart: {d}");
                assert_eq!(d["status"], "executed", "{why}: {d}");
                let again = format!("{why}, approved again");
                assert_eq!(
                    check(&server.url, dir.path(), p, &again),
                    Found::Disposed,
                    "{again}"
                );
                audit_verifies(&server.url, &again);
            }
        }
        eprintln!("{why}: {found:?}");
        i += 1;
    }
    assert_eq!(plan.len(), kill_points, "every prepared case was used");
    eprintln!(
        "{} kill points: {disposed} found wholly disposed, {intact} wholly intact (then approved again)",
        plan.len()
    );
    drop(server);

    // The audit trail is whole offline too: `probity audit verify` exits 0.
    common::audit_verifies_offline(dir.path(), db);
    // In a bucket, every blob the database still references is there and decrypts.
    if let (Some(db), Some(blob_url)) = (db, blob_url) {
        let blobs =
            s3_server::runtime().block_on(common::every_blob_decrypts(dir.path(), db, blob_url));
        eprintln!("{blobs} blobs in the bucket decrypt to their SHA-256");
    }
}

#[test]
fn ret_11_disposition_all_or_nothing_across_sigkill() {
    all_or_nothing(None, None);
}

#[test]
fn ret_11_disposition_all_or_nothing_across_sigkill_postgres() {
    let url = common::fresh_postgres_database("probity_dispose_kill");
    all_or_nothing(Some(url.clone()), None);
    common::drop_postgres_database(&url);
}

/// The same on PostgreSQL with the originals in an S3 bucket (moto on loopback): afterwards every
/// blob the database still references is in the bucket and decrypts to its SHA-256.
#[test]
fn ret_11_disposition_all_or_nothing_across_sigkill_on_s3() {
    let s3 = s3_server::S3Server::start();
    s3.create_bucket("probity-dispose");
    let blob_url = "s3://probity-dispose/deployment";
    let url = common::fresh_postgres_database("probity_dispose_kill");
    all_or_nothing(Some(url.clone()), Some(blob_url));
    common::drop_postgres_database(&url);
}
