//! Several `probity serve` nodes on one PostgreSQL database behave as one system: a session made
//! on one node works on every node and ends on all of them at once, the lockout counts failures
//! made on any node, and concurrent audited requests on every node leave one verifying chain.
//! (The face index replicas are tested with the FR rules: `fr_02_sealing_and_enrolment_reach_every_node`.)

mod common;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::json;

const CASE: &str = "2026-019-000101";

async fn three_nodes() -> (TestServer, TestServer, TestServer) {
    let a = common::start(Backend::Postgres).await;
    let b = a.another_node().await;
    let c = a.another_node().await;
    (a, b, c)
}

/// SEC-01 on many nodes: the session lives in the database. Signed in on A, the same cookie reads a
/// case on B and C; signed out on C, it is refused on A and B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_01_session_made_on_one_node_valid_on_all_and_ended_on_all() {
    let (a, b, c) = three_nodes().await;
    let rivera = a.login("det.rivera").await;
    for node in [&a, &b, &c] {
        let (s, body) = node.get(&rivera, &format!("/api/cases/{CASE}")).await;
        assert_eq!(s, StatusCode::OK, "{} {body}", node.url);
    }
    let r = rivera
        .delete(format!("{}/api/session", c.url))
        .send()
        .await
        .expect("sign out");
    assert!(r.status().is_success(), "{}", r.status());
    for node in [&a, &b, &c] {
        let (s, _) = node.get(&rivera, &format!("/api/cases/{CASE}")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{}", node.url);
    }
}

/// SEC-01 on many nodes: wrong passwords tried on different nodes add up to one lockout, and the
/// locked account cannot sign in on any node, not even with the right password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_01_lockout_counts_failures_on_every_node() {
    let (a, b, c) = three_nodes().await;
    let client = common::client();
    let threshold = a.state.config.lockout_threshold as usize;
    for i in 0..threshold {
        let node = [&a, &b, &c][i % 3];
        let r = client
            .post(format!("{}/api/session", node.url))
            .json(&json!({"username": "det.okafor", "password": "wrong"}))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    for node in [&a, &b, &c] {
        let r = client
            .post(format!("{}/api/session", node.url))
            .json(
                &json!({"username": "det.okafor", "password": probity_server::demo::DEMO_PASSWORD}),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{} let a locked account in",
            node.url
        );
    }
}

/// SEC-04 on many nodes: reads and refusals on three nodes at once are each audited once, in one
/// hash chain that verifies (the nodes share the head row of the trail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_04_one_audit_chain_across_nodes_under_concurrent_load() {
    let (a, b, c) = three_nodes().await;
    let rivera = a.login("det.rivera").await;
    let okafor = a.login("det.okafor").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let node = [&a, &b, &c][i % 3];
        let (client, path) = if i % 5 == 4 {
            (okafor.clone(), "/api/users".to_string())
        } else {
            (rivera.clone(), format!("/api/cases/{CASE}"))
        };
        let url = format!("{}{path}", node.url);
        tasks.push(tokio::spawn(async move {
            client.get(&url).send().await.expect("request").status()
        }));
    }
    let mut reads = 0;
    for t in tasks {
        match t.await.expect("task") {
            StatusCode::OK => reads += 1,
            StatusCode::FORBIDDEN => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(reads, 48);
    let case_reads = a
        .audit_of("case", CASE)
        .await
        .into_iter()
        .filter(|e| e.action == "case.read" && e.actor == "user:det.rivera")
        .count();
    assert_eq!(case_reads, 48, "one entry per read, whatever the node");
    for node in [&a, &b, &c] {
        let report = probity_store::audit::verify(&node.state.store)
            .await
            .expect("verify");
        assert!(report.is_valid(), "{:?}", report.problem);
    }
}

/// SEC-02 on many nodes: every node keeps the access rows of recent callers, but an assignment
/// ended on A is seen on B and C at the caller's next request there (the user row's access
/// version, changed by the database with the assignment, is read on every request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sec_02_access_ended_on_one_node_ends_on_every_node_at_the_next_request() {
    let (a, b, c) = three_nodes().await;
    let rivera = a.login("det.rivera").await;
    // Each node has now loaded (and kept) rivera's access rows.
    for node in [&a, &b, &c] {
        for _ in 0..3 {
            let (s, body) = node.get(&rivera, &format!("/api/cases/{CASE}")).await;
            assert_eq!(s, StatusCode::OK, "{} {body}", node.url);
        }
    }
    let admin = a.login("admin").await;
    let (s, d) = a.get(&admin, "/api/users/det.rivera").await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let id = d["assignments"]
        .as_array()
        .and_then(|x| {
            x.iter()
                .find(|x| x["role"] == "investigator" && x["current"] == true)
                .and_then(|x| x["id"].as_str())
        })
        .unwrap_or_else(|| panic!("a current investigator assignment: {d}"))
        .to_string();
    let (s, e) = a
        .post(
            &admin,
            &format!("/api/users/det.rivera/assignments/{id}/end"),
            json!({ "reason": "transferred to another command" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    for node in [&b, &c, &a] {
        let (s, body) = node.get(&rivera, &format!("/api/cases/{CASE}")).await;
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
            "{} still read the case with the ended assignment: {s} {body}",
            node.url
        );
    }
}
