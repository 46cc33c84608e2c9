//! SEC-03 / RET-11: encrypted, immutable evidence blobs and crypto-shredding, on both backends.

mod common;

use std::time::Duration;

use common::TestStore;
use probity_store::audit::{self, AuditEvent, Outcome};
use probity_store::{blobs, Disposition, StoreError};
use sha2::{Digest, Sha256};

fn photo(n: usize) -> Vec<u8> {
    let mut v = b"\xff\xd8\xff\xe0 evidence photo ".to_vec();
    v.extend((0..n).map(|i| (i * 31 % 251) as u8));
    v
}

fn object_file(t: &TestStore, id: uuid::Uuid) -> std::path::PathBuf {
    t.dir
        .path()
        .join("blobs")
        .join("evidence")
        .join(id.to_string())
}

async fn roundtrip(t: &TestStore) {
    let data = photo(100_000);
    let mut tx = t.store.begin().await.expect("begin");
    let meta = t
        .store
        .blobs()
        .put(&mut tx, None, &data, "image/jpeg", "user:alice")
        .await
        .expect("put");
    tx.commit().await.expect("commit");
    assert_eq!(meta.sha256, hex::encode(Sha256::digest(&data)));
    assert_eq!(meta.size, data.len() as u64);

    let mut tx = t.store.begin_read().await.expect("begin");
    let back = t.store.blobs().get(&mut tx, meta.id).await.expect("get");
    let stored = blobs::meta(&mut tx, meta.id)
        .await
        .expect("meta")
        .expect("exists");
    tx.rollback().await.expect("rollback");
    assert_eq!(back, data);
    assert_eq!(stored.media_type, "image/jpeg");
    assert_eq!(stored.created_by, "user:alice");

    // At rest the object is ciphertext: no run of the plaintext appears in it.
    let raw = std::fs::read(object_file(t, meta.id)).expect("object file");
    assert!(raw.len() > data.len());
    assert!(!raw.windows(32).any(|w| w == &data[100..132]));
    assert!(!raw.windows(15).any(|w| w == b" evidence photo"));
}
both_backends!(
    sec_03_blobs_encrypted_at_rest_and_read_back,
    super::roundtrip
);

async fn hash_verified(t: &TestStore) {
    let data = photo(5_000);
    let mut tx = t.store.begin().await.expect("begin");
    let a = t
        .store
        .blobs()
        .put(&mut tx, None, &data, "image/jpeg", "u")
        .await
        .expect("put");
    let b = t
        .store
        .blobs()
        .put(&mut tx, None, &data, "image/jpeg", "u")
        .await
        .expect("put");
    tx.commit().await.expect("commit");

    // A recorded hash that does not match the content is refused.
    t.raw(&format!(
        "UPDATE blobs SET sha256 = '{}' WHERE id = '{}'",
        hex::encode(Sha256::digest(b"something else")),
        a.id
    ))
    .await;
    let mut tx = t.store.begin_read().await.expect("begin");
    let err = t
        .store
        .blobs()
        .get(&mut tx, a.id)
        .await
        .expect_err("hash mismatch");
    assert!(matches!(err, StoreError::Integrity(_)), "{err}");

    // A flipped ciphertext byte is refused.
    let path = object_file(t, b.id);
    let mut raw = std::fs::read(&path).expect("object");
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    std::fs::write(&path, raw).expect("write");
    let err = t
        .store
        .blobs()
        .get(&mut tx, b.id)
        .await
        .expect_err("altered ciphertext");
    assert!(matches!(err, StoreError::Integrity(_)), "{err}");
    tx.rollback().await.expect("rollback");
}
both_backends!(sec_03_reads_verify_the_sha256, super::hash_verified);

async fn immutable(t: &TestStore) {
    let id = uuid::Uuid::now_v7();
    let mut tx = t.store.begin().await.expect("begin");
    t.store
        .blobs()
        .put(&mut tx, Some(id), b"original", "text/plain", "u")
        .await
        .expect("put");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin().await.expect("begin");
    let err = t
        .store
        .blobs()
        .put(&mut tx, Some(id), b"replacement", "text/plain", "u")
        .await
        .expect_err("overwrite refused");
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    tx.rollback().await.expect("rollback");
    // Even the object layer refuses to replace it.
    let err = t
        .store
        .blobs()
        .stage(Some(id), b"replacement", "text/plain")
        .await
        .expect_err("create-only");
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");

    let mut tx = t.store.begin_read().await.expect("begin");
    assert_eq!(
        t.store.blobs().get(&mut tx, id).await.expect("get"),
        b"original"
    );
    tx.rollback().await.expect("rollback");
}
both_backends!(ret_11_originals_cannot_be_overwritten, super::immutable);

async fn shredding(t: &TestStore) {
    let data = photo(20_000);
    let mut tx = t.store.begin().await.expect("begin");
    let meta = t
        .store
        .blobs()
        .put(&mut tx, None, &data, "image/jpeg", "u")
        .await
        .expect("put");
    tx.commit().await.expect("commit");

    let d = Disposition {
        what: "photo 1 of case C-9".into(),
        reason: "retention period ended, no legal hold".into(),
        rule: "fr-policy-pack v3 / RET-04".into(),
        approved_by: "user:records-officer".into(),
        executed_by: "system:retention".into(),
    };
    let mut tx = t.store.begin().await.expect("begin");
    let cert = t
        .store
        .blobs()
        .destroy(&mut tx, meta.id, &d)
        .await
        .expect("destroy");
    audit::append(
        &mut tx,
        &AuditEvent {
            actor: d.executed_by.clone(),
            action: "evidence.dispose".into(),
            record_type: "blob".into(),
            record_id: meta.id.to_string(),
            reason: Some(d.reason.clone()),
            outcome: Outcome::Success,
            detail: serde_json::json!({ "certificate": cert.id.to_string() }),
        },
    )
    .await
    .expect("audit");
    tx.commit().await.expect("commit");
    t.store.purge_shredded_keys().await.expect("purge");

    assert_eq!(cert.sha256, meta.sha256);
    assert_eq!(cert.rule, d.rule);
    assert_eq!(cert.approved_by, d.approved_by);

    let mut tx = t.store.begin_read().await.expect("begin");
    let err = t
        .store
        .blobs()
        .get(&mut tx, meta.id)
        .await
        .expect_err("shredded");
    assert!(matches!(err, StoreError::Destroyed(_)), "{err}");
    let kept = blobs::certificate(&mut tx, meta.id)
        .await
        .expect("cert")
        .expect("present");
    assert_eq!(kept, cert);
    let m = blobs::meta(&mut tx, meta.id)
        .await
        .expect("meta")
        .expect("row kept");
    assert!(m.destroyed_at.is_some());
    tx.rollback().await.expect("rollback");

    // The ciphertext may still be there, but no key for it exists anywhere.
    assert!(object_file(t, meta.id).exists());
    assert_eq!(
        t.raw(&format!(
            "UPDATE blobs SET size = size WHERE id = '{}' AND wrapped_key IS NULL",
            meta.id
        ))
        .await,
        1
    );

    // A second disposition is refused; the sweep removes the dead ciphertext.
    let mut tx = t.store.begin().await.expect("begin");
    let err = t
        .store
        .blobs()
        .destroy(&mut tx, meta.id, &d)
        .await
        .expect_err("already destroyed");
    assert!(matches!(err, StoreError::Destroyed(_)), "{err}");
    tx.rollback().await.expect("rollback");
    let swept = t
        .store
        .blobs()
        .sweep(&t.store, Duration::from_secs(3600))
        .await
        .expect("sweep");
    assert_eq!(swept.destroyed_removed, 1);
    assert!(!object_file(t, meta.id).exists());

    // A disposition without approval is refused (RET-11).
    let mut tx = t.store.begin().await.expect("begin");
    let other = t
        .store
        .blobs()
        .put(&mut tx, None, b"x", "text/plain", "u")
        .await
        .expect("put");
    let err = t
        .store
        .blobs()
        .destroy(
            &mut tx,
            other.id,
            &Disposition {
                approved_by: " ".into(),
                ..d.clone()
            },
        )
        .await
        .expect_err("needs approval");
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    tx.rollback().await.expect("rollback");
}
both_backends!(
    ret_11_disposition_shreds_key_and_leaves_certificate,
    super::shredding
);

async fn uncommitted_invisible(t: &TestStore) {
    let staged = t
        .store
        .blobs()
        .stage(None, b"never committed", "text/plain")
        .await
        .expect("stage");
    let id = staged.id();
    drop(staged);
    assert!(object_file(t, id).exists(), "the ciphertext was written");
    let mut tx = t.store.begin_read().await.expect("begin");
    let err = t
        .store
        .blobs()
        .get(&mut tx, id)
        .await
        .expect_err("invisible");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    tx.rollback().await.expect("rollback");

    // A committed-then-rolled-back row leaves the object orphaned too.
    let mut tx = t.store.begin().await.expect("begin");
    let rolled = t
        .store
        .blobs()
        .put(&mut tx, None, b"rolled back", "text/plain", "u")
        .await
        .expect("put");
    tx.rollback().await.expect("rollback");

    let kept = t
        .store
        .blobs()
        .sweep(&t.store, Duration::from_secs(3600))
        .await
        .expect("sweep");
    assert_eq!(kept.orphans_removed, 0, "writes in flight are left alone");
    let swept = t
        .store
        .blobs()
        .sweep(&t.store, Duration::ZERO)
        .await
        .expect("sweep");
    assert_eq!(swept.orphans_removed, 2);
    assert!(!object_file(t, id).exists());
    assert!(!object_file(t, rolled.id).exists());
}
both_backends!(
    sec_03_uncommitted_blobs_are_invisible_and_swept,
    super::uncommitted_invisible
);

#[cfg(unix)]
async fn key_files(t: &TestStore) {
    use std::os::unix::fs::PermissionsExt;
    for name in [
        probity_store::MASTER_KEY_FILE,
        probity_store::SERVER_KEY_FILE,
    ] {
        let path = t.dir.path().join(name);
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    // A key file others can read is refused with a message that says how to fix it.
    let path = t.dir.path().join(probity_store::MASTER_KEY_FILE);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let err = probity_store::Store::open(common::config(t.dir.path(), t.url.clone()))
        .await
        .expect_err("world-readable key refused");
    assert!(matches!(err, StoreError::Key(_)), "{err}");
    assert!(err.to_string().contains("chmod 600"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}
#[cfg(unix)]
both_backends!(sec_03_key_files_created_with_mode_0600, super::key_files);

async fn master_key_from_env(t: &TestStore) {
    use base64::Engine;
    let dir = tempfile::tempdir().expect("dir");
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
    let mut config = common::config(dir.path(), t.url.clone());
    config.master_key_base64 = Some(key);
    let store = probity_store::Store::open(config.clone())
        .await
        .expect("open");
    assert!(!dir.path().join(probity_store::MASTER_KEY_FILE).exists());
    let mut tx = store.begin().await.expect("begin");
    let meta = store
        .blobs()
        .put(&mut tx, None, b"secret", "text/plain", "u")
        .await
        .expect("put");
    tx.commit().await.expect("commit");
    store.close().await;

    // The same key reads it back; another key cannot.
    let store = probity_store::Store::open(config.clone())
        .await
        .expect("reopen");
    let mut tx = store.begin_read().await.expect("begin");
    assert_eq!(
        store.blobs().get(&mut tx, meta.id).await.expect("get"),
        b"secret"
    );
    tx.rollback().await.expect("rollback");
    store.close().await;
    config.master_key_base64 = Some(base64::engine::general_purpose::STANDARD.encode([8u8; 32]));
    let store = probity_store::Store::open(config).await.expect("reopen");
    let mut tx = store.begin_read().await.expect("begin");
    let err = store
        .blobs()
        .get(&mut tx, meta.id)
        .await
        .expect_err("wrong key");
    assert!(matches!(err, StoreError::Key(_)), "{err}");
    tx.rollback().await.expect("rollback");
    store.close().await;
}
both_backends!(
    sec_03_master_key_from_environment,
    super::master_key_from_env
);
