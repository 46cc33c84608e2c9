//! Crash safety of the whole server (SEC-04, DC-06): a `probity serve` process is killed with SIGKILL in
//! the middle of a stream of writes; after a restart every acknowledged write is there and
//! `probity audit verify` passes. Runs on SQLite (the embedded default) and on PostgreSQL.

mod common;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

/// Starts `probity demo` (which seeds the demo accounts) and waits until it answers.
fn start(data_dir: &Path, database_url: Option<&str>) -> Server {
    start_with_env(data_dir, database_url, &[])
}

/// [`start`] with extra environment variables.
fn start_with_env(data_dir: &Path, database_url: Option<&str>, env: &[(&str, &str)]) -> Server {
    let args: Vec<&str> = match database_url {
        Some(u) => vec!["--database-url", u],
        None => Vec::new(),
    };
    let (child, _, url) = common::start_node("demo", data_dir, &args, env);
    Server { child, url }
}

fn client(url: &str) -> reqwest::blocking::Client {
    common::sign_in(url, "det.rivera")
}

fn kill_mid_stream(database_url: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start(dir.path(), database_url.as_deref());
    let c = client(&server.url);
    // A writer thread opens cases as fast as it can and reports each acknowledged one.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let url = server.url.clone();
    let writer = std::thread::spawn(move || {
        for i in 0..100_000u32 {
            let number = format!("2026-019-{:06}", 500_000 + i);
            let r = c
                .post(format!("{url}/api/cases"))
                .json(&serde_json::json!({
                    "case_number": number,
                    "offence_classification": "misdemeanor",
                    "assigned_investigator": "det.rivera",
                }))
                .send();
            match r {
                Ok(r) if r.status().as_u16() == 201 => {
                    if tx.send(number).is_err() {
                        return;
                    }
                }
                _ => return, // the server is gone
            }
        }
    });
    // Let a stream of writes build up, then kill the server without warning.
    let mut acknowledged = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.len() < 40 && Instant::now() < deadline {
        if let Ok(n) = rx.recv_timeout(Duration::from_millis(200)) {
            acknowledged.push(n);
        }
    }
    let mut child = server.child;
    child.kill().expect("SIGKILL"); // SIGKILL on Unix
    let _ = child.wait();
    let _ = writer.join();
    acknowledged.extend(rx.try_iter());
    assert!(
        acknowledged.len() >= 40,
        "too few writes before the kill: {}",
        acknowledged.len()
    );

    // Restart on the same data; every acknowledged case is there.
    let server = start(dir.path(), database_url.as_deref());
    let c = client(&server.url);
    for number in &acknowledged {
        let r = c
            .get(format!("{}/api/cases/{number}", server.url))
            .send()
            .expect("read case");
        assert_eq!(
            r.status().as_u16(),
            200,
            "acknowledged case {number} lost after SIGKILL"
        );
    }
    let mut child = server.child;
    let _ = child.kill();
    let _ = child.wait();

    // The audit trail is whole: `probity audit verify` exits 0.
    common::audit_verifies_offline(dir.path(), database_url.as_deref());
}

#[test]
fn sec_04_sigkill_mid_stream_loses_no_acknowledged_write_sqlite() {
    kill_mid_stream(None);
}

#[test]
fn sec_04_sigkill_mid_stream_loses_no_acknowledged_write_postgres() {
    let url = common::fresh_postgres_database("probity_kill");
    kill_mid_stream(Some(url.clone()));
    common::drop_postgres_database(&url);
}

/// Operations: SIGTERM drains a node. `/ready` says "draining" at once (503) so a load balancer
/// takes the node out, requests are still answered during the grace period, and once the listener
/// closes and the requests in flight are answered the process exits with status 0. Every read
/// answered while draining is a whole 200.
#[test]
fn ops_sigterm_drains_the_node_then_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = start_with_env(dir.path(), None, &[("PROBITY_DRAIN_SECONDS", "3")]);
    let case = format!("{}/api/cases/2026-019-000101", server.url);
    let c = client(&server.url);
    let reader = {
        let c = c.clone();
        let case = case.clone();
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while let Ok(r) = c.get(&case).send() {
                let status = r.status().as_u16();
                if r.bytes().is_err() {
                    break;
                }
                statuses.push(status);
            }
            statuses
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id().to_string();
    let sent = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill -TERM");
    assert!(sent.success());

    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let r = reqwest::blocking::get(format!("{}/ready", server.url)).expect("ready");
        if r.status().as_u16() == 503 {
            let body: serde_json::Value = r.json().expect("problem body");
            assert!(
                body["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("/draining")),
                "{body}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "/ready never said draining");
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = c.get(&case).send().expect("read while draining");
    assert_eq!(r.status().as_u16(), 200, "a draining node still answers");

    let mut child = server.child;
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the node did not exit after draining");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit after draining: {status}");
    let statuses = reader.join().expect("reader");
    assert!(!statuses.is_empty());
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every answer while draining is whole: {statuses:?}"
    );
}
