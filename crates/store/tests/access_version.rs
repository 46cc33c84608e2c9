//! SEC-02 on many nodes, at the store: a person's `access_version` changes in the transaction of
//! every change to their assignments, training records and vendor contracts (database triggers),
//! so a node that keeps the rows it loaded can tell, from the user row alone, when they are stale.
//! A rolled-back change leaves the version as it was; another person's change leaves it alone.

mod common;

use chrono::{Duration, Utc};
use common::TestStore;
use probity_store::{assignments, training, users, vendors};
use uuid::Uuid;

async fn person(t: &TestStore, username: &str) -> Uuid {
    let mut tx = t.store.begin().await.expect("begin");
    let u = users::create(
        &mut tx,
        &users::NewUser {
            username: username.into(),
            display_name: username.into(),
            rank: Some("detective".into()),
            command: Some("019".into()),
            password_hash: None,
            kind: "member".into(),
        },
    )
    .await
    .expect("user");
    tx.commit().await.expect("commit");
    u.id
}

async fn version(t: &TestStore, id: Uuid) -> i64 {
    let mut tx = t.store.begin_read().await.expect("read");
    let u = users::get(&mut tx, id).await.expect("get").expect("user");
    tx.commit().await.expect("commit");
    u.access_version
}

async fn every_change_moves_the_version(t: &TestStore) {
    let id = person(t, "det.version").await;
    let other = person(t, "det.other").await;
    let v0 = version(t, id).await;
    let now = Utc::now();

    // Each change, committed, moves the version; the other person's stays put.
    let mut tx = t.store.begin().await.expect("begin");
    let a = assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: id,
            role: Some("investigator".into()),
            unit: None,
            command: "019".into(),
            starts_at: now - Duration::days(1),
            ends_at: None,
        },
    )
    .await
    .expect("assignment");
    tx.commit().await.expect("commit");
    let v1 = version(t, id).await;
    assert!(v1 > v0, "an assignment made leaves the version at {v1}");

    let mut tx = t.store.begin().await.expect("begin");
    assignments::end_early(&mut tx, id, a.id, now, "transferred")
        .await
        .expect("end");
    tx.commit().await.expect("commit");
    let v2 = version(t, id).await;
    assert!(v2 > v1, "an assignment ended leaves the version at {v2}");

    let mut tx = t.store.begin().await.expect("begin");
    let course = training::create(
        &mut tx,
        &training::NewTraining {
            user_id: id,
            course: "facial_recognition".into(),
            completed_at: now - Duration::days(2),
            expires_at: None,
        },
    )
    .await
    .expect("training");
    tx.commit().await.expect("commit");
    let v3 = version(t, id).await;
    assert!(v3 > v2, "a training record made leaves the version at {v3}");

    let mut tx = t.store.begin().await.expect("begin");
    training::revoke(&mut tx, id, course.id, now, "course withdrawn")
        .await
        .expect("revoke");
    tx.commit().await.expect("commit");
    let v4 = version(t, id).await;
    assert!(
        v4 > v3,
        "a training record revoked leaves the version at {v4}"
    );

    let mut tx = t.store.begin().await.expect("begin");
    vendors::create(
        &mut tx,
        &vendors::NewVendorContract {
            user_id: id,
            contract_ref: "C-1".into(),
            starts_at: now - Duration::days(1),
            ends_at: now + Duration::days(30),
            technologies: vec!["facial_recognition".into()],
            agreement_terms: None,
        },
    )
    .await
    .expect("contract");
    tx.commit().await.expect("commit");
    let v5 = version(t, id).await;
    assert!(v5 > v4, "a contract made leaves the version at {v5}");

    // A change rolled back leaves no trace in the version.
    let mut tx = t.store.begin().await.expect("begin");
    assignments::create(
        &mut tx,
        &assignments::NewAssignment {
            user_id: id,
            role: Some("supervisor".into()),
            unit: None,
            command: "019".into(),
            starts_at: now,
            ends_at: None,
        },
    )
    .await
    .expect("assignment");
    tx.rollback().await.expect("rollback");
    assert_eq!(
        version(t, id).await,
        v5,
        "a rolled-back change moved the version"
    );

    assert_eq!(
        version(t, other).await,
        0,
        "another person's changes moved this person's version"
    );
}
both_backends!(
    sec_02_access_version_moves_with_every_access_change,
    super::every_change_moves_the_version
);
