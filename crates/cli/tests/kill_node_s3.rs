//! Many nodes under node failure (SEC-04, DC-06): two `probity` nodes on one PostgreSQL database
//! and one S3 bucket (moto on loopback, see crates/store/tests/s3_server) take evidence intakes
//! in turn; one node is killed with SIGKILL mid-stream and restarted. Afterwards every
//! acknowledged intake is readable, byte for byte, from both nodes; every blob the database
//! references exists in the bucket and decrypts to its recorded SHA-256; the second write of an
//! original is refused by the bucket; and `probity audit verify` passes.

#[path = "../../store/tests/s3_server/mod.rs"]
mod s3_server;

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BucketNode, TwoNodes, CASE};
use sha2::{Digest, Sha256};

const BUCKET: &str = "probity-nodes";

fn start(command: &str, data_dir: &Path, database_url: &str, blob_url: &str) -> BucketNode {
    BucketNode::start(command, data_dir, database_url, blob_url, &[])
}

/// One intake of a distinct original (the sample with `n` appended after its end); the item id
/// and SHA-256 once the node acknowledged it, `None` when the node is gone.
fn upload(c: &reqwest::blocking::Client, url: &str, n: u32) -> Option<(String, String)> {
    let mut bytes = common::camera_sample("apple_iphone4.jpg");
    bytes.extend_from_slice(format!("intake {n}").as_bytes());
    let sha = hex::encode(Sha256::digest(&bytes));
    let r = common::post_evidence(c, url, CASE, &format!("IMG_{n:04}.JPG"), &bytes).ok()?;
    if r.status().as_u16() != 201 {
        return None;
    }
    let report: serde_json::Value = r.json().ok()?;
    let id = report["files"][0]["item_id"].as_str()?.to_string();
    Some((id, sha))
}

fn original(c: &reqwest::blocking::Client, url: &str, id: &str) -> Vec<u8> {
    let r = c
        .get(format!("{url}/api/cases/{CASE}/evidence/{id}/original"))
        .send()
        .expect("read original");
    assert_eq!(
        r.status().as_u16(),
        200,
        "acknowledged item {id} unreadable"
    );
    r.bytes().expect("bytes").to_vec()
}

#[test]
fn sec_04_node_killed_mid_intake_loses_nothing_and_every_blob_decrypts() {
    let s3 = s3_server::S3Server::start();
    s3.create_bucket(BUCKET);
    let blob_url = format!("s3://{BUCKET}/deployment");
    let TwoNodes {
        database_url,
        dir_a,
        a,
        dir_b,
        b,
    } = common::two_nodes_on_bucket(&blob_url, &[]);

    // Intakes on both nodes in turn; B is killed without warning in the middle of the stream.
    let (tx, rx) = mpsc::channel::<(String, String)>();
    let writers: Vec<_> = [a.url.clone(), b.url.clone()]
        .into_iter()
        .enumerate()
        .map(|(w, url)| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let c = common::sign_in(&url, "det.rivera");
                for i in 0..400u32 {
                    match upload(&c, &url, w as u32 * 1000 + i) {
                        Some(ack) => {
                            if tx.send(ack).is_err() {
                                return;
                            }
                        }
                        None => return,
                    }
                }
            })
        })
        .collect();
    drop(tx);
    let mut acknowledged = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.len() < 16 && Instant::now() < deadline {
        if let Ok(ack) = rx.recv_timeout(Duration::from_millis(200)) {
            acknowledged.push(ack);
        }
    }
    drop(b); // SIGKILL
             // A goes on taking intakes while B is down; then stop the stream.
    while acknowledged.len() < 24 && Instant::now() < deadline {
        if let Ok(ack) = rx.recv_timeout(Duration::from_millis(200)) {
            acknowledged.push(ack);
        }
    }
    drop(a); // SIGKILL
    for w in writers {
        let _ = w.join();
    }
    acknowledged.extend(rx.try_iter());
    assert!(
        acknowledged.len() >= 16,
        "too few intakes: {}",
        acknowledged.len()
    );

    // Both nodes back: every acknowledged original reads back from either, byte for byte.
    let a = start("serve", dir_a.path(), &database_url, &blob_url);
    let b = start("serve", dir_b.path(), &database_url, &blob_url);
    let (ca, cb) = (
        common::sign_in(&a.url, "det.rivera"),
        common::sign_in(&b.url, "det.rivera"),
    );
    for (id, sha) in &acknowledged {
        for (c, url) in [(&ca, &a.url), (&cb, &b.url)] {
            let bytes = original(c, url, id);
            assert_eq!(
                &hex::encode(Sha256::digest(&bytes)),
                sha,
                "item {id} on {url}"
            );
        }
    }

    // Every blob the database references is in the bucket and decrypts to its SHA-256; the
    // bucket refuses a second write of an original.
    let blobs = s3.run(common::every_blob_decrypts(
        dir_a.path(),
        &database_url,
        &blob_url,
    ));
    assert!(blobs >= acknowledged.len(), "{blobs} blobs");
    s3.run(async {
        let store = common::open_deployment_store(dir_a.path(), &database_url, &blob_url).await;
        let mut tx = store.begin_read().await.expect("read");
        let ids = probity_store::blobs::live_ids(&mut tx)
            .await
            .expect("blob ids");
        tx.rollback().await.expect("rollback");
        let Err(again) = store
            .blobs()
            .stage(Some(ids[0]), b"replacement", "image/jpeg")
            .await
        else {
            panic!("the bucket took a second write of original {}", ids[0]);
        };
        assert!(
            matches!(again, probity_store::StoreError::AlreadyExists { .. }),
            "{again}"
        );
        store.close().await;
    });

    drop((a, b));
    common::audit_verifies_offline(dir_a.path(), Some(&database_url));
    common::drop_postgres_database(&database_url);
}
