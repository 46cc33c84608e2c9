//! SEC-03 with the blobs in an S3 bucket (`s3://bucket/prefix`), against a real S3-protocol
//! server on loopback (moto, see `s3_server`): the bucket only ever holds ciphertext, the
//! objects sit under the configured prefix, originals are write-once at the S3 server itself
//! (conditional put), and an unreachable or missing bucket is reported naming the blob store.

mod common;
mod s3_server;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use probity_store::{blobs, Store, StoreConfig, StoreError};
use s3_server::{S3Server, Unreachable};

const BUCKET: &str = "probity-evidence";
const PREFIX: &str = "node-a/blobs";

/// A recognisable plaintext: a marker phrase between runs of patterned bytes.
fn statement() -> Vec<u8> {
    let mut v = b"WITNESS STATEMENT case 2026-019-000101: ".to_vec();
    v.extend((0..20_000).map(|i| (i * 7 % 251) as u8));
    v.extend_from_slice(b" the suspect wore a red jacket");
    v
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A store over SQLite in `dir` with its blobs behind `url`, read as `probity serve` reads
/// `--blob-url` (the `AWS_*` environment gives endpoint and credentials).
async fn open(dir: &std::path::Path, url: &str) -> Store {
    let mut config: StoreConfig = common::config(dir, None);
    config.object_store = Some(blobs::object_store_from_url(url).expect("blob URL"));
    Store::open(config).await.expect("open the store")
}

/// A client of `bucket` talking to the server directly, without Probity's code: what the
/// bucket really holds, and what the server itself accepts or refuses.
fn raw_bucket(s3: &S3Server, bucket: &str) -> Arc<dyn ObjectStore> {
    Arc::new(
        AmazonS3Builder::new()
            .with_endpoint(&s3.endpoint)
            .with_allow_http(true)
            .with_region(s3_server::REGION)
            .with_access_key_id(s3_server::ACCESS_KEY)
            .with_secret_access_key(s3_server::SECRET_KEY)
            .with_bucket_name(bucket)
            .build()
            .expect("raw S3 client"),
    )
}

async fn objects_in(bucket: &dyn ObjectStore) -> Vec<object_store::ObjectMeta> {
    bucket.list(None).try_collect().await.expect("list bucket")
}

#[test]
fn s3_blobs_encrypted_at_rest_never_plaintext_in_bucket() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let raw = raw_bucket(&s3, BUCKET);
    s3.run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        let data = statement();
        let mut tx = store.begin().await.expect("begin");
        let meta = store
            .blobs()
            .put(&mut tx, None, &data, "text/plain", "user:alice")
            .await
            .expect("put through S3");
        tx.commit().await.expect("commit");

        // The bucket holds exactly one object, under the prefix of the URL.
        let listed = objects_in(raw.as_ref()).await;
        let key = format!("{PREFIX}/evidence/{}", meta.id);
        assert_eq!(
            listed
                .iter()
                .map(|o| o.location.to_string())
                .collect::<Vec<_>>(),
            vec![key.clone()]
        );

        // What the S3 server holds is ciphertext: no run of the plaintext, and no plaintext
        // length (magic, nonce and tag added).
        let object = raw
            .get(&ObjectPath::from(key.as_str()))
            .await
            .expect("raw get")
            .bytes()
            .await
            .expect("raw bytes");
        assert!(object.starts_with(b"PRB1"));
        assert_eq!(object.len(), data.len() + 4 + 12 + 16);
        assert!(!contains(&object, b"WITNESS STATEMENT"));
        assert!(!contains(&object, b"red jacket"));
        assert!(!contains(&object, &data[100..132]));
        // Nor does the S3 server get the data key: it lives (wrapped) only in the database.
        assert!(!contains(&object, meta.sha256.as_bytes()));

        // Read back through the store: decrypted and checked.
        let mut tx = store.begin_read().await.expect("begin");
        let back = store.blobs().get(&mut tx, meta.id).await.expect("get");
        tx.rollback().await.expect("rollback");
        assert_eq!(back, data);
    });
}

#[test]
fn s3_original_second_write_refused_by_store() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let raw = raw_bucket(&s3, BUCKET);
    s3.run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        let id = uuid::Uuid::now_v7();
        let first = statement();
        let staged = store
            .blobs()
            .stage(Some(id), &first, "text/plain")
            .await
            .expect("first write");
        let mut tx = store.begin().await.expect("begin");
        store
            .blobs()
            .commit(&mut tx, staged, "user:alice")
            .await
            .expect("commit");
        tx.commit().await.expect("commit");
        let key = ObjectPath::from(format!("{PREFIX}/evidence/{id}"));
        let before = raw.get(&key).await.expect("raw get").bytes().await.expect("bytes");

        // A second write of the same original through the store: `stage` asks nothing of the
        // database, so the refusal is the S3 server's answer to the conditional put.
        let err = store
            .blobs()
            .stage(Some(id), b"a replacement", "text/plain")
            .await
            .expect_err("the second write of an original is refused");
        assert!(
            matches!(&err, StoreError::AlreadyExists { what: "blob", key } if *key == id.to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("never overwritten"), "{err}");

        // The server itself refuses: a conditional put (If-None-Match: *) straight to the
        // bucket, without Probity's code, is answered 412, while the same put of a new key is
        // accepted.
        let create = || PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        let refused = raw
            .put_opts(&key, PutPayload::from_static(b"overwrite attempt"), create())
            .await
            .expect_err("the S3 server refuses a conditional put of an existing key");
        assert!(
            matches!(refused, object_store::Error::AlreadyExists { .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains("412"), "{refused}");
        let fresh = ObjectPath::from(format!("{PREFIX}/control/{}", uuid::Uuid::now_v7()));
        raw.put_opts(&fresh, PutPayload::from_static(b"new key"), create())
            .await
            .expect("a conditional put of a new key is accepted");

        // The original is untouched, at the server and through the store.
        let after = raw.get(&key).await.expect("raw get").bytes().await.expect("bytes");
        assert_eq!(before, after);
        let mut tx = store.begin_read().await.expect("begin");
        assert_eq!(store.blobs().get(&mut tx, id).await.expect("get"), first);
        tx.rollback().await.expect("rollback");
    });
}

#[test]
fn s3_sweep_removes_uncommitted_objects_under_prefix_only() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    let raw = raw_bucket(&s3, BUCKET);
    s3.run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        // Another tenant's object in the same bucket, outside the prefix.
        let foreign = ObjectPath::from("other-system/evidence/keep-me");
        raw.put(&foreign, PutPayload::from_static(b"not ours"))
            .await
            .expect("foreign object");
        let mut tx = store.begin().await.expect("begin");
        let kept = store
            .blobs()
            .put(&mut tx, None, b"committed", "text/plain", "user:alice")
            .await
            .expect("put");
        tx.commit().await.expect("commit");
        let orphan = store
            .blobs()
            .stage(None, b"never committed", "text/plain")
            .await
            .expect("stage");
        let orphan_id = orphan.id();
        drop(orphan);

        let report = store
            .blobs()
            .sweep(&store, Duration::ZERO)
            .await
            .expect("sweep");
        assert_eq!(report.orphans_removed, 1, "{report:?}");
        let mut left: Vec<String> = objects_in(raw.as_ref())
            .await
            .into_iter()
            .map(|o| o.location.to_string())
            .collect();
        left.sort();
        assert_eq!(
            left,
            vec![
                format!("{PREFIX}/evidence/{}", kept.id),
                "other-system/evidence/keep-me".to_string()
            ]
        );
        assert!(!left.iter().any(|k| k.contains(&orphan_id.to_string())));
    });
}

#[test]
fn s3_unreachable_bucket_not_ready() {
    // A reachable server: ready; a bucket it does not have: not ready, naming the blob store.
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    s3.run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        store
            .blobs()
            .ping()
            .await
            .expect("a reachable bucket answers");

        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), "s3://no-such-bucket/blobs").await;
        let err = store
            .blobs()
            .ping()
            .await
            .expect_err("a missing bucket is not ready");
        assert!(err.to_string().contains("blob store"), "{err}");
    });
    drop(s3);

    // No server at the endpoint: opening succeeds (the node starts and says why it is not
    // ready), the check fails within its bound, naming the blob store.
    let gone = Unreachable::export();
    s3_server::runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = open(dir.path(), &format!("s3://{BUCKET}/{PREFIX}")).await;
        let started = Instant::now();
        let err = store
            .blobs()
            .ping()
            .await
            .expect_err("an unreachable endpoint is not ready");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(text.contains("blob store"), "{text}");
        assert!(text.contains(BUCKET), "{text}");
    });
    drop(gone);
}

#[test]
fn local_folder_ready_when_present() {
    s3_server::runtime().block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(common::config(dir.path(), None))
            .await
            .expect("open");
        store
            .blobs()
            .ping()
            .await
            .expect("the local folder is ready");
    });
}

#[test]
fn blob_url_other_than_s3_refused_with_reason() {
    for url in [
        "file:///var/lib/probity",
        "s3://",
        "s3://Bad_Bucket/x",
        "https://example.org/bucket",
    ] {
        let err = match blobs::object_store_from_url(url) {
            Ok(_) => panic!("{url} was accepted"),
            Err(e) => e,
        };
        assert!(matches!(err, StoreError::Config(_)), "{url}: {err}");
        assert!(err.to_string().contains("blob URL"), "{url}: {err}");
    }
}
