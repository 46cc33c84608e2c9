//! Background jobs with leases, on both backends.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::TestStore;
use probity_store::{jobs, StoreError};

async fn lease_lifecycle(t: &TestStore) {
    let payload = serde_json::json!({ "blob": "abc" });
    let mut tx = t.store.begin().await.expect("begin");
    let id = jobs::enqueue(&mut tx, "thumbnails", &payload, 2, None)
        .await
        .expect("enqueue");
    tx.commit().await.expect("commit");

    let mut tx = t.store.begin().await.expect("begin");
    let job = jobs::claim(&mut tx, "thumbnails", "node-a", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(
        (job.id, job.attempts, job.status.as_str()),
        (id, 1, "running")
    );
    assert_eq!(job.payload, payload);
    assert!(
        jobs::claim(&mut tx, "thumbnails", "node-b", Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none()
    );
    jobs::heartbeat(&mut tx, id, "node-a", Duration::from_secs(60))
        .await
        .expect("heartbeat");
    let err = jobs::complete(&mut tx, id, "node-b")
        .await
        .expect_err("not b's lease");
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    jobs::fail(&mut tx, id, "node-a", "decoder crashed", Duration::ZERO)
        .await
        .expect("fail");
    tx.commit().await.expect("commit");

    // Retried, then on the last attempt a failure is final.
    let mut tx = t.store.begin().await.expect("begin");
    let job = jobs::claim(&mut tx, "thumbnails", "node-b", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("retry");
    assert_eq!(
        (job.attempts, job.last_error.as_deref()),
        (2, Some("decoder crashed"))
    );
    jobs::fail(&mut tx, id, "node-b", "again", Duration::ZERO)
        .await
        .expect("fail");
    assert!(
        jobs::claim(&mut tx, "thumbnails", "node-b", Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none()
    );
    assert_eq!(
        jobs::get(&mut tx, id)
            .await
            .expect("get")
            .expect("job")
            .status,
        "failed"
    );
    tx.commit().await.expect("commit");

    // A lease that runs out (the node died) makes the job claimable elsewhere.
    let mut tx = t.store.begin().await.expect("begin");
    let id2 = jobs::enqueue(&mut tx, "thumbnails", &payload, 3, None)
        .await
        .expect("enqueue");
    jobs::claim(&mut tx, "thumbnails", "node-a", Duration::ZERO)
        .await
        .expect("claim")
        .expect("job");
    tx.commit().await.expect("commit");
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut tx = t.store.begin().await.expect("begin");
    let job = jobs::claim(&mut tx, "thumbnails", "node-b", Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("reclaimed");
    assert_eq!((job.id, job.lease_owner.as_deref()), (id2, Some("node-b")));
    let err = jobs::heartbeat(&mut tx, id2, "node-a", Duration::from_secs(60))
        .await
        .expect_err("lease lost");
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    jobs::complete(&mut tx, id2, "node-b")
        .await
        .expect("complete");
    assert_eq!(
        jobs::get(&mut tx, id2)
            .await
            .expect("get")
            .expect("job")
            .status,
        "done"
    );
    tx.commit().await.expect("commit");
}
both_backends!(
    jobs_lease_heartbeat_retry_and_reclaim,
    super::lease_lifecycle
);

async fn concurrent_claims(t: &TestStore) {
    let mut tx = t.store.begin().await.expect("begin");
    for i in 0..30 {
        jobs::enqueue(&mut tx, "q", &serde_json::json!({ "i": i }), 1, None)
            .await
            .expect("enqueue");
    }
    tx.commit().await.expect("commit");
    let mut handles = Vec::new();
    for w in 0..4 {
        let store = t.store.clone();
        handles.push(tokio::spawn(async move {
            let worker = format!("node-{w}");
            let mut got = Vec::new();
            loop {
                let mut tx = store.begin().await.expect("begin");
                let job = jobs::claim(&mut tx, "q", &worker, Duration::from_secs(60))
                    .await
                    .expect("claim");
                tx.commit().await.expect("commit");
                let Some(job) = job else { break };
                let mut tx = store.begin().await.expect("begin");
                jobs::complete(&mut tx, job.id, &worker)
                    .await
                    .expect("complete");
                tx.commit().await.expect("commit");
                got.push(job.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("worker"));
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every job ran exactly once");
    assert_eq!(distinct.len(), 30);
}
both_backends!(
    jobs_never_claimed_twice_under_concurrency,
    super::concurrent_claims
);
