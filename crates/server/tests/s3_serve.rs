//! `probity serve` with its blobs in an S3 bucket (`blob_url = "s3://bucket/prefix"`, endpoint
//! and credentials from the `AWS_*` environment), against a real S3-protocol server on loopback
//! (moto, started by the tests; see crates/store/tests/s3_server): evidence goes in over HTTP and
//! comes back bit for bit, the bucket holds only ciphertext under the prefix, nothing is written
//! to the local folder, and a node whose bucket cannot be reached says it is not ready.

mod common;
#[path = "../../store/tests/s3_server/mod.rs"]
mod s3_server;

use std::path::Path;

use common::Backend;
use futures_util::TryStreamExt;
use probity_server::build_state;
use reqwest::StatusCode;
use s3_server::{S3Server, Unreachable};
use serde_json::Value;

const BUCKET: &str = "probity-evidence";
const PREFIX: &str = "node-a";
const CASE: &str = "2026-019-000101";
const NO_REP: &[(&str, &str)] = &[
    ("purpose", "crime_scene"),
    ("basis_kind", "no_reasonable_expectation_of_privacy"),
];

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn ready(url: &str) -> (StatusCode, Value) {
    let r = common::client()
        .get(format!("{url}/ready"))
        .send()
        .await
        .expect("GET /ready");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn evidence_through_s3_bucket(backend: Backend) {
    let srv = common::start_with(backend, |c| {
        c.blob_url = Some(format!("s3://{BUCKET}/{PREFIX}"));
    })
    .await;
    let (s, body) = ready(&srv.url).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let c = srv.login("det.rivera").await;
    let original = common::camera_sample("apple_iphone4.jpg");
    let (s, report) = srv
        .upload_evidence(&c, CASE, NO_REP, "IMG_0001.JPG", &original)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["stored"], 1, "{report}");
    let id = report["files"][0]["item_id"]
        .as_str()
        .expect("item id")
        .to_string();

    // The original comes back bit for bit, read from the bucket and decrypted.
    let r = c
        .get(format!(
            "{}/api/cases/{CASE}/evidence/{id}/original",
            srv.url
        ))
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.expect("bytes").as_ref(),
        original.as_slice()
    );

    // The bucket, read without the store: objects under the prefix only, none holding any
    // run of the original (nor of its thumbnail's source).
    let bucket = probity_store::blobs::object_store_from_url(&format!("s3://{BUCKET}"))
        .expect("bucket client");
    let objects: Vec<_> = bucket
        .list(None)
        .try_collect()
        .await
        .expect("list the bucket");
    assert!(!objects.is_empty(), "the evidence went to the bucket");
    let probes = [
        &original[..64],
        &original[2000..2064],
        &original[original.len() - 64..],
    ];
    for o in &objects {
        let key = o.location.to_string();
        assert!(key.starts_with(&format!("{PREFIX}/evidence/")), "{key}");
        let bytes = bucket
            .get(&o.location)
            .await
            .expect("raw get")
            .bytes()
            .await
            .expect("raw bytes");
        assert!(
            bytes.starts_with(b"PRB1"),
            "{key} is not a Probity ciphertext"
        );
        for p in probes {
            assert!(
                !contains(&bytes, p),
                "{key} holds plaintext of the original"
            );
        }
    }

    // Nothing went to the local folder.
    let local = srv.dir.path().join("blobs").join("evidence");
    let local_files = std::fs::read_dir(&local).map(|d| d.count()).unwrap_or(0);
    assert_eq!(local_files, 0, "{} holds objects", local.display());
}

#[test]
fn s3_serve_evidence_upload_stored_in_bucket_encrypted_and_read_back_sqlite() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    s3.run(evidence_through_s3_bucket(Backend::Sqlite));
}

#[test]
fn s3_serve_evidence_upload_stored_in_bucket_encrypted_and_read_back_postgres() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    s3.run(evidence_through_s3_bucket(Backend::Postgres));
}

/// A node over `blob_url` without the demonstration data (nothing is written to the bucket
/// before `/ready` is asked); its base URL.
async fn node(dir: &Path, blob_url: &str) -> String {
    let mut cfg = common::config(dir, None);
    cfg.blob_url = Some(blob_url.to_string());
    let state = build_state(cfg)
        .await
        .expect("a node starts even when its bucket cannot be reached");
    common::spawn(state).await
}

fn assert_not_ready_naming_blob_store(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("blob store"), "{body}");
}

#[test]
fn s3_unreachable_bucket_not_ready() {
    // A server that answers, but has no such bucket.
    let s3 = S3Server::start();
    s3.run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = node(dir.path(), "s3://no-such-bucket/node-a").await;
        let (s, body) = ready(&url).await;
        assert_not_ready_naming_blob_store(s, &body);
    });
    drop(s3);

    // No server at the endpoint at all: not ready within the check's bound.
    let gone = Unreachable::export();
    s3_server::runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = node(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        let started = std::time::Instant::now();
        let (s, body) = ready(&url).await;
        assert_not_ready_naming_blob_store(s, &body);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "/ready took {:?}",
            started.elapsed()
        );
    });
    drop(gone);
}
