//! FR-02 on many nodes, at the store: every change a node's face index must follow is numbered
//! in the transaction that makes it, a rolled-back change leaves no number behind, and the
//! changes a node of one algorithm reads leave out another algorithm's templates (a re-templating
//! in progress does not make every node rebuild its index).

mod common;

use common::TestStore;
use probity_store::gallery::{self, IndexChangeKind, NewRecord};

async fn import(t: &TestStore, n: u8) -> i64 {
    let mut tx = t.store.begin().await.expect("begin");
    let photo = vec![n; 64];
    let arrest = format!("A-{n}");
    let subject = format!("S-{n}");
    let record = gallery::import_record(
        &mut tx,
        t.store.blobs(),
        &NewRecord {
            subject_id: &subject,
            source: "arrest",
            arrest_id: &arrest,
            photo_date: "2021-01-01",
            photo: &photo,
            media_type: "image/jpeg",
        },
        "user:rec.lopez",
    )
    .await
    .expect("import");
    tx.commit().await.expect("commit");
    record.record_no
}

async fn version(t: &TestStore) -> i64 {
    let mut tx = t.store.begin_read().await.expect("read");
    let v = gallery::index_version(&mut tx).await.expect("version");
    tx.rollback().await.expect("rollback");
    v
}

async fn changes_are_numbered(t: &TestStore) {
    let r1 = import(t, 1).await;
    let r2 = import(t, 2).await;
    assert_eq!(
        version(t).await,
        0,
        "a record without a template changes no index"
    );

    let mut tx = t.store.begin().await.expect("begin");
    gallery::put_template(&mut tx, r1, "dlib-resnet-v1@2", &[1, 2, 3])
        .await
        .expect("template");
    gallery::put_template(&mut tx, r2, "dlib-resnet-v1@2", &[4, 5, 6])
        .await
        .expect("template");
    gallery::put_template(&mut tx, r1, "facenet-512@1", &[7, 8, 9])
        .await
        .expect("template of another algorithm");
    tx.commit().await.expect("commit");

    // Rolled back: no number is used.
    let mut tx = t.store.begin().await.expect("begin");
    gallery::set_sealed(&mut tx, "A-2", true)
        .await
        .expect("seal");
    tx.rollback().await.expect("rollback");
    assert_eq!(version(t).await, 3);

    let mut tx = t.store.begin().await.expect("begin");
    gallery::set_sealed(&mut tx, "A-2", true)
        .await
        .expect("seal");
    tx.commit().await.expect("commit");
    assert_eq!(version(t).await, 4);

    let mut tx = t.store.begin_read().await.expect("read");
    let dlib = gallery::index_changes_since(&mut tx, 0, "dlib-resnet-v1@2", 100)
        .await
        .expect("changes");
    let after_two = gallery::index_changes_since(&mut tx, 2, "dlib-resnet-v1@2", 100)
        .await
        .expect("changes");
    let oldest = gallery::oldest_index_change(&mut tx).await.expect("oldest");
    tx.rollback().await.expect("rollback");
    let seen: Vec<(i64, i64, IndexChangeKind)> = dlib
        .iter()
        .map(|c| (c.version, c.record_no, c.kind))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, r1, IndexChangeKind::Template),
            (2, r2, IndexChangeKind::Template),
            (4, r2, IndexChangeKind::Seal),
        ],
        "the other algorithm's template (version 3) is left out"
    );
    assert_eq!(
        after_two.iter().map(|c| c.version).collect::<Vec<_>>(),
        vec![4]
    );
    assert_eq!(oldest, Some(1), "nothing pruned yet");
}
both_backends!(
    fr_02_face_index_changes_numbered_in_their_transaction,
    super::changes_are_numbered
);
