//! SEC-04 / SEC-05: the hash-chained audit trail, on SQLite and PostgreSQL.

mod common;

use common::TestStore;
use probity_store::audit::{self, AuditEvent, AuditQuery, Outcome, ProblemKind};
use probity_store::{cases, Store};

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        actor: format!("user:{}", i % 3),
        action: "case.view".into(),
        record_type: "case".into(),
        record_id: format!("case-{}", i % 5),
        reason: i.is_multiple_of(2).then(|| "investigation".to_string()),
        outcome: Outcome::Success,
        detail: serde_json::json!({ "i": i, "rule": "permit-investigator" }),
    }
}

async fn append_n(store: &Store, n: usize) {
    let mut tx = store.begin().await.expect("begin");
    for i in 0..n {
        audit::append(&mut tx, &event(i)).await.expect("append");
    }
    tx.commit().await.expect("commit");
}

async fn first_bad(store: &Store) -> Option<(u64, ProblemKind)> {
    let report = audit::verify(store).await.expect("verify runs");
    report.problem.map(|p| (p.seq, p.kind))
}

async fn edit_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    assert_eq!(
        first_bad(&t.store).await,
        None,
        "an untouched chain verifies"
    );
    assert_eq!(
        t.raw("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 4")
            .await,
        1
    );
    assert_eq!(
        first_bad(&t.store).await,
        Some((4, ProblemKind::HashMismatch))
    );
}
both_backends!(sec_04_edit_names_first_bad_entry, super::edit_detected);

async fn delete_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    t.raw("DELETE FROM audit_log WHERE seq = 6").await;
    assert_eq!(first_bad(&t.store).await, Some((6, ProblemKind::Missing)));
}
both_backends!(
    sec_04_deletion_names_first_bad_entry,
    super::delete_detected
);

async fn delete_tail_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    t.raw("DELETE FROM audit_log WHERE seq >= 9").await;
    assert_eq!(first_bad(&t.store).await, Some((9, ProblemKind::Missing)));
    // Also rolling the head back does not help without the server key.
    t.raw("UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_log WHERE seq = 8)")
        .await;
    assert_eq!(first_bad(&t.store).await, Some((8, ProblemKind::BadHead)));
}
both_backends!(sec_04_truncation_detected, super::delete_tail_detected);

async fn insert_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    // Make room at seq 5 (two steps, so the primary key never collides) and insert a row.
    t.raw("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 5")
        .await;
    t.raw("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
        .await;
    t.raw(
        "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, outcome, \
         detail, prev_hash, hash) VALUES (5, 0, 'user:mallory', 'case.view', 'case', 'x', NULL, \
         'success', '{}', 'feed', 'beef')",
    )
    .await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((5, ProblemKind::BrokenLink))
    );
}
both_backends!(
    sec_04_insertion_names_first_bad_entry,
    super::insert_detected
);

async fn forged_insert_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    // A tamperer who knows the hash function forges a well-formed entry 5; the chain still
    // breaks where the displaced original entry no longer links.
    let mut tx = t.store.begin_read().await.expect("begin");
    let entries = audit::query(&mut tx, &AuditQuery::default())
        .await
        .expect("query");
    tx.rollback().await.expect("rollback");
    let mut forged = entries[4].clone();
    forged.actor = "user:mallory".into();
    forged.prev_hash = entries[3].hash.clone();
    forged.hash = audit::entry_hash(&forged);
    t.raw("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 5")
        .await;
    t.raw("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1000")
        .await;
    t.raw(&format!(
        "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, outcome, \
         detail, prev_hash, hash) VALUES (5, {}, 'user:mallory', '{}', '{}', '{}', {}, '{}', '{}', '{}', '{}')",
        forged.at.timestamp_millis(),
        forged.action,
        forged.record_type,
        forged.record_id,
        forged.reason.as_ref().map(|r| format!("'{r}'")).unwrap_or_else(|| "NULL".into()),
        forged.outcome,
        forged.detail,
        forged.prev_hash,
        forged.hash
    ))
    .await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((6, ProblemKind::BrokenLink))
    );
}
both_backends!(
    sec_04_forged_insertion_detected,
    super::forged_insert_detected
);

async fn tail_insert_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    let mut tx = t.store.begin_read().await.expect("begin");
    let last = audit::query(&mut tx, &AuditQuery::default())
        .await
        .expect("query")
        .pop()
        .expect("entries");
    tx.rollback().await.expect("rollback");
    let mut forged = last.clone();
    forged.seq = 11;
    forged.prev_hash = last.hash.clone();
    forged.hash = audit::entry_hash(&forged);
    t.raw(&format!(
        "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, outcome, \
         detail, prev_hash, hash) VALUES (11, {}, '{}', '{}', '{}', '{}', NULL, '{}', '{}', '{}', '{}')",
        forged.at.timestamp_millis(),
        forged.actor,
        forged.action,
        forged.record_type,
        forged.record_id,
        forged.outcome,
        forged.detail,
        forged.prev_hash,
        forged.hash
    ))
    .await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((11, ProblemKind::BeyondHead))
    );
    // Moving the head along without the server key is caught by its signature.
    t.raw(&format!(
        "UPDATE audit_head SET seq = 11, hash = '{}'",
        forged.hash
    ))
    .await;
    assert_eq!(first_bad(&t.store).await, Some((11, ProblemKind::BadHead)));
}
both_backends!(
    sec_04_append_without_server_key_detected,
    super::tail_insert_detected
);

async fn reorder_detected(t: &TestStore) {
    append_n(&t.store, 10).await;
    t.raw("UPDATE audit_log SET seq = 1003 WHERE seq = 3").await;
    t.raw("UPDATE audit_log SET seq = 3 WHERE seq = 4").await;
    t.raw("UPDATE audit_log SET seq = 4 WHERE seq = 1003").await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((3, ProblemKind::BrokenLink))
    );
}
both_backends!(
    sec_04_reordering_names_first_bad_entry,
    super::reorder_detected
);

async fn checkpoints_signed(t: &TestStore) {
    append_n(&t.store, 250).await;
    let report = audit::verify(&t.store).await.expect("verify");
    assert!(report.is_valid(), "{:?}", report.problem);
    assert_eq!(
        (report.entries, report.checkpoints, report.head_seq),
        (250, 2, 250)
    );

    // Rewrite entry 50 and recompute every later hash, link and the head hash: consistent
    // for anyone without the server key, but not for the signed checkpoint at 100.
    t.raw("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 50")
        .await;
    let mut tx = t.store.begin_read().await.expect("begin");
    let entries = audit::query(
        &mut tx,
        &AuditQuery {
            limit: 1000,
            ..Default::default()
        },
    )
    .await
    .expect("query");
    tx.rollback().await.expect("rollback");
    let mut prev = entries[48].hash.clone();
    for e in entries.iter().skip(49) {
        let mut e = e.clone();
        e.prev_hash = prev.clone();
        e.hash = audit::entry_hash(&e);
        t.raw(&format!(
            "UPDATE audit_log SET prev_hash = '{}', hash = '{}' WHERE seq = {}",
            e.prev_hash, e.hash, e.seq
        ))
        .await;
        prev = e.hash;
    }
    t.raw(&format!("UPDATE audit_head SET hash = '{prev}'"))
        .await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((100, ProblemKind::BadCheckpoint))
    );
}
both_backends!(
    sec_04_signed_checkpoints_catch_rewritten_chain,
    super::checkpoints_signed
);

async fn checkpoint_tamper_detected(t: &TestStore) {
    append_n(&t.store, 120).await;
    t.raw("DELETE FROM audit_checkpoints WHERE seq = 100").await;
    assert_eq!(
        first_bad(&t.store).await,
        Some((100, ProblemKind::BadCheckpoint))
    );
}
both_backends!(
    sec_04_missing_checkpoint_detected,
    super::checkpoint_tamper_detected
);

async fn concurrent_appends(t: &TestStore) {
    let mut handles = Vec::new();
    for w in 0..6 {
        let store = t.store.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..20 {
                let mut tx = store.begin().await.expect("begin");
                audit::append(&mut tx, &event(w * 100 + i))
                    .await
                    .expect("append");
                tx.commit().await.expect("commit");
            }
        }));
    }
    for h in handles {
        h.await.expect("writer task");
    }
    let report = audit::verify(&t.store).await.expect("verify");
    assert!(report.is_valid(), "{:?}", report.problem);
    assert_eq!(report.entries, 120);
    assert_eq!(report.checkpoints, 1);
}
both_backends!(
    sec_04_concurrent_appends_keep_valid_chain,
    super::concurrent_appends
);

fn new_case(number: &str) -> cases::NewCase {
    cases::NewCase {
        case_number: number.into(),
        offence_classification: "burglary".into(),
        status: "open".into(),
        command: "PCT-019".into(),
        assigned_investigator: None,
        political_activity: false,
        created_by: "user:alice".into(),
    }
}

async fn same_transaction(t: &TestStore) {
    // Rolled back: neither the case nor its audit entry exists.
    let mut tx = t.store.begin().await.expect("begin");
    let c = cases::create(&mut tx, &new_case("C-1"))
        .await
        .expect("create");
    audit::append(
        &mut tx,
        &AuditEvent {
            actor: "user:alice".into(),
            action: "case.create".into(),
            record_type: "case".into(),
            record_id: c.id.to_string(),
            reason: None,
            outcome: Outcome::Success,
            detail: serde_json::json!({}),
        },
    )
    .await
    .expect("append");
    tx.rollback().await.expect("rollback");
    let mut tx = t.store.begin_read().await.expect("begin");
    assert!(cases::get_by_number(&mut tx, "C-1")
        .await
        .expect("get")
        .is_none());
    assert_eq!(audit::head(&mut tx).await.expect("head").0, 0);
    tx.rollback().await.expect("rollback");

    // Committed: both, and the custody history and focused audit find it.
    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut tx = t.store.begin().await.expect("begin");
    let c = cases::create(&mut tx, &new_case("C-1"))
        .await
        .expect("create");
    for (actor, action) in [("user:alice", "case.create"), ("user:bob", "case.view")] {
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: actor.into(),
                action: action.into(),
                record_type: "case".into(),
                record_id: c.id.to_string(),
                reason: Some("assigned investigation".into()),
                outcome: Outcome::Success,
                detail: serde_json::json!({"case_number": "C-1"}),
            },
        )
        .await
        .expect("append");
    }
    audit::append(&mut tx, &event(7)).await.expect("append");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin_read().await.expect("begin");
    let history = audit::for_record(&mut tx, "case", &c.id.to_string())
        .await
        .expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].action, "case.create");
    assert_eq!(history[1].actor, "user:bob");
    let bob = audit::query(
        &mut tx,
        &AuditQuery {
            actor: Some("user:bob".into()),
            from: Some(before),
            to: Some(chrono::Utc::now() + chrono::Duration::seconds(5)),
            ..Default::default()
        },
    )
    .await
    .expect("focused audit");
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].record_id, c.id.to_string());
    let none = audit::query(
        &mut tx,
        &AuditQuery {
            actor: Some("user:bob".into()),
            to: Some(before),
            ..Default::default()
        },
    )
    .await
    .expect("focused audit");
    assert!(none.is_empty());
    tx.rollback().await.expect("rollback");
}
both_backends!(
    sec_04_audit_entry_commits_with_its_change,
    super::same_transaction
);

async fn read_transaction_refuses_append(t: &TestStore) {
    let mut tx = t.store.begin_read().await.expect("begin");
    let err = audit::append(&mut tx, &event(1))
        .await
        .expect_err("needs a write transaction");
    assert!(
        matches!(err, probity_store::StoreError::Invalid(_)),
        "{err}"
    );
    tx.rollback().await.expect("rollback");
    assert_eq!(audit::verify(&t.store).await.expect("verify").entries, 0);
}
both_backends!(
    sec_04_audit_append_needs_a_write_transaction,
    super::read_transaction_refuses_append
);

/// Group commit: many callers recording at once, interleaved with entries appended in their
/// own transactions. Each caller gets back an entry that is already committed (a fresh read
/// transaction sees it with the same hash), every sequence number is used once, and the chain
/// with its checkpoints verifies.
async fn group_commit(t: &TestStore) {
    let mut handles = Vec::new();
    for w in 0..24 {
        let store = t.store.clone();
        handles.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..25 {
                let entry = if w % 6 == 0 {
                    let mut tx = store.begin().await.expect("begin");
                    let e = audit::append(&mut tx, &event(w * 100 + i))
                        .await
                        .expect("append");
                    tx.commit().await.expect("commit");
                    e
                } else {
                    audit::record(&store, &event(w * 100 + i))
                        .await
                        .expect("record")
                };
                let mut tx = store.begin_read().await.expect("read");
                let seen = audit::query(
                    &mut tx,
                    &AuditQuery {
                        after_seq: Some(entry.seq - 1),
                        limit: 1,
                        ..AuditQuery::default()
                    },
                )
                .await
                .expect("query");
                tx.rollback().await.expect("rollback");
                assert_eq!(
                    seen.first().map(|e| e.hash.as_str()),
                    Some(entry.hash.as_str()),
                    "entry {} was answered before it was durable",
                    entry.seq
                );
                seqs.push(entry.seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("writer task"));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=600).collect::<Vec<u64>>(), "each seq used once");
    let report = audit::verify(&t.store).await.expect("verify");
    assert!(report.is_valid(), "{:?}", report.problem);
    assert_eq!(report.entries, 600);
    assert_eq!(report.checkpoints, 6);
}
both_backends!(
    sec_04_group_commit_answers_only_durable_entries_in_one_chain,
    super::group_commit
);
