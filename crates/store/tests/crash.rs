//! SEC-04 / RET-11 fault test: a writer process is killed with SIGKILL in the middle of a
//! stream of acknowledged writes (blob + audit entry per write) and of audited reads recorded by
//! group commit. After reopening, every acknowledged write and every acknowledged read entry is
//! there, no half-written blob is readable, and the chain verifies.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use probity_store::audit::{self, AuditEvent, Outcome};
use probity_store::{Store, StoreError};
use sha2::{Digest, Sha256};

const CHILD_ENV: &str = "PROBITY_CRASH_CHILD_DIR";
const CHILD_URL_ENV: &str = "PROBITY_CRASH_CHILD_URL";
const ACKS_BEFORE_KILL: usize = 25;

/// The writer. Runs only as the child process of the SIGKILL test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of the SIGKILL tests; started by them"]
async fn crash_writer_child_process() {
    let dir = std::env::var(CHILD_ENV).expect("child needs PROBITY_CRASH_CHILD_DIR");
    let url = std::env::var(CHILD_URL_ENV).ok().filter(|u| !u.is_empty());
    let store = Store::open(common::config(std::path::Path::new(&dir), url))
        .await
        .expect("open");
    // Readers: entries with no other change, by group commit, acknowledged once durable.
    for r in 0..8 {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0u64.. {
                let entry = audit::record(
                    &store,
                    &AuditEvent {
                        actor: format!("user:reader-{r}"),
                        action: "case.read".into(),
                        record_type: "case".into(),
                        record_id: format!("case-{i}"),
                        reason: None,
                        outcome: Outcome::Success,
                        detail: serde_json::json!({}),
                    },
                )
                .await
                .expect("record");
                println!("READ {} {}", entry.seq, entry.hash);
            }
        });
    }
    for i in 0u64.. {
        // ~48 KiB per write, so the kill often lands while an object is being written.
        let mut data = format!("acknowledged write {i} ").into_bytes();
        data.extend((0..48 * 1024).map(|j| ((i as usize + j) % 251) as u8));
        let staged = store
            .blobs()
            .stage(None, &data, "application/octet-stream")
            .await
            .expect("stage");
        let mut tx = store.begin().await.expect("begin");
        let meta = store
            .blobs()
            .commit(&mut tx, staged, "system:crash-test")
            .await
            .expect("commit blob");
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: "system:crash-test".into(),
                action: "evidence.upload".into(),
                record_type: "blob".into(),
                record_id: meta.id.to_string(),
                reason: None,
                outcome: Outcome::Success,
                detail: serde_json::json!({ "sha256": meta.sha256 }),
            },
        )
        .await
        .expect("audit");
        tx.commit().await.expect("commit");
        // Acknowledged only now, after the durable commit.
        println!("ACK {} {}", meta.id, meta.sha256);
    }
}

async fn survives_sigkill(t: &common::TestStore) {
    t.store.close().await;
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "crash_writer_child_process",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, t.dir.path())
        .env(CHILD_URL_ENV, t.url.clone().unwrap_or_default())
        .env_remove("PROBITY_MASTER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if (line.starts_with("ACK ") || line.starts_with("READ ")) && tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut acked = Vec::new();
    let mut reads = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with("READ ") => reads.push(line),
            Ok(line) => acked.push(line),
            Err(e) => {
                let _ = child.kill();
                panic!(
                    "writer stopped acknowledging after {} writes: {e}",
                    acked.len()
                );
            }
        }
    }
    child.kill().expect("SIGKILL"); // std sends SIGKILL on Unix
    child.wait().expect("reap");
    reader.join().expect("reader");
    // Complete lines printed before the kill are acknowledged too.
    for line in rx.try_iter() {
        if line.starts_with("READ ") {
            reads.push(line);
        } else {
            acked.push(line);
        }
    }

    let store = t.reopen().await;
    let mut tx = store.begin_read().await.expect("begin");
    for line in &acked {
        let mut parts = line.split_whitespace().skip(1);
        let id: uuid::Uuid = parts.next().and_then(|s| s.parse().ok()).expect("ack id");
        let sha = parts.next().expect("ack sha");
        let data = store
            .blobs()
            .get(&mut tx, id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged blob {id} lost: {e}"));
        assert_eq!(hex::encode(Sha256::digest(&data)), sha);
        let history = audit::for_record(&mut tx, "blob", &id.to_string())
            .await
            .expect("history");
        assert_eq!(history.len(), 1, "acknowledged audit entry of {id}");
    }
    assert!(!reads.is_empty(), "the readers acknowledged nothing");
    for line in &reads {
        let mut parts = line.split_whitespace().skip(1);
        let seq: u64 = parts.next().and_then(|s| s.parse().ok()).expect("read seq");
        let hash = parts.next().expect("read hash");
        let found = audit::query(
            &mut tx,
            &audit::AuditQuery {
                after_seq: Some(seq - 1),
                limit: 1,
                ..audit::AuditQuery::default()
            },
        )
        .await
        .expect("query");
        assert_eq!(
            found.first().map(|e| (e.seq, e.hash.as_str())),
            Some((seq, hash)),
            "acknowledged read entry {seq} lost"
        );
    }
    // Every object on disk is either a committed, fully readable blob or invisible.
    let dir = t.dir.path().join("blobs").join("evidence");
    let mut invisible = 0;
    for entry in std::fs::read_dir(&dir).expect("objects").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Ok(id) = uuid::Uuid::parse_str(&name) else {
            continue;
        };
        match store.blobs().get(&mut tx, id).await {
            Ok(data) => assert!(data.starts_with(b"acknowledged write ")),
            Err(StoreError::NotFound { .. }) => invisible += 1,
            Err(e) => panic!("object {id} is neither readable nor invisible: {e}"),
        }
    }
    tx.rollback().await.expect("rollback");
    assert!(
        invisible <= 1,
        "at most the write in flight is orphaned, found {invisible}"
    );

    let report = audit::verify(&store).await.expect("verify");
    assert!(report.is_valid(), "{:?}", report.problem);
    assert!(report.entries >= (acked.len() + reads.len()) as u64);
    let swept = store
        .blobs()
        .sweep(&store, Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!(swept.orphans_removed, invisible);
    store.close().await;
}
both_backends!(
    sec_04_acknowledged_writes_survive_sigkill,
    super::survives_sigkill
);
