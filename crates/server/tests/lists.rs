//! Lists that scale: the audit trail, the cases, the people, the FR queue, a case's evidence, the
//! cameras, the thermal deployments and the photo repository are paged on the server, sortable and
//! filterable, in the API and on the page; the one search box finds case
//! numbers, people, camera serials and FR request ids, each shown only when the policy lets the
//! person read that record. Every test runs on SQLite and PostgreSQL.

mod common;

use std::collections::HashSet;

use common::{Backend, TestServer};
use probity_store::{audit, cases, devices, fr, users};
use reqwest::StatusCode;
use serde_json::Value;

async fn html(srv: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, String) {
    let r = c
        .get(format!("{}{path}", srv.url))
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.text().await.unwrap_or_default())
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Follows `next` from `first` to the end; returns every item in order and the pages read.
async fn all_pages(srv: &TestServer, c: &reqwest::Client, first: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut path = first.to_string();
    let mut pages = 0;
    loop {
        let (s, b) = srv.get(c, &path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {b}");
        pages += 1;
        let page = items(&b);
        assert!(
            page.len() as u64 <= b["limit"].as_u64().unwrap_or(0),
            "a page holds no more than its limit: {b}"
        );
        out.extend(page);
        match b["next"].as_str() {
            Some(n) => path = n.to_string(),
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    (out, pages)
}

/// 120 cases of the 19th Precinct and 60 political cases of the Intelligence Division (assigned
/// to its investigator), created
/// one after the other, so that a page of the precinct's cases has refused cases between them.
async fn seed_cases(srv: &TestServer) {
    let park = srv.user("intel.park").await.id;
    let mut tx = srv.state.store.begin().await.expect("tx");
    for n in 1..=120 {
        cases::create(
            &mut tx,
            &cases::NewCase {
                case_number: format!("LIST-019-{n:04}"),
                offence_classification: "misdemeanor".into(),
                status: "open".into(),
                command: "PCT-019".into(),
                assigned_investigator: None,
                political_activity: false,
                created_by: "system:test".into(),
            },
        )
        .await
        .expect("case");
        if n % 2 == 0 {
            cases::create(
                &mut tx,
                &cases::NewCase {
                    case_number: format!("LIST-INT-{:04}", n / 2),
                    offence_classification: "other_felony".into(),
                    status: "open".into(),
                    command: "INTEL".into(),
                    assigned_investigator: Some(park),
                    political_activity: true,
                    created_by: "system:test".into(),
                },
            )
            .await
            .expect("case");
        }
    }
    tx.commit().await.expect("commit");
}

/// SEC-04: the audit trail is read a page at a time by `seq`, forwards and backwards, filtered
/// by record and by time range, on the API and on the page, which keeps the "Decided by" column.
async fn sec_04_audit_trail_paged_and_filtered_by_time_and_record_body(backend: Backend) {
    let srv = common::start(backend).await;
    let append = |action: &'static str, id: String| {
        let store = srv.state.store.clone();
        async move {
            let mut tx = store.begin().await.expect("tx");
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: "system:test".into(),
                    action: action.into(),
                    record_type: "list_test".into(),
                    record_id: id,
                    reason: None,
                    outcome: audit::Outcome::Success,
                    detail: serde_json::json!({"rule": "SEC-04"}),
                },
            )
            .await
            .expect("append");
            tx.commit().await.expect("commit");
        }
    };
    for n in 0..130 {
        append("list.early", format!("r{}", n % 3)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let between = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    for n in 0..70 {
        append("list.late", format!("r{}", n % 3)).await;
    }
    let iab = srv.login("iab.walsh").await;

    // Forwards (the API's default order), 50 at a time, with an exact total.
    let (entries, pages) = all_pages(&srv, &iab, "/api/audit?record_type=list_test").await;
    assert_eq!(entries.len(), 200);
    assert_eq!(pages, 4);
    let seqs: Vec<u64> = entries.iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ascending: {seqs:?}");
    let (_, first) = srv.get(&iab, "/api/audit?record_type=list_test").await;
    assert_eq!(first["total"], 200, "{first}");
    assert_eq!(first["total_exact"], true);
    assert!(first["prev"].is_null(), "{first}");

    // Newest first, and back again with the `prev` cursor.
    let (_, newest) = srv
        .get(&iab, "/api/audit?record_type=list_test&order=desc&limit=30")
        .await;
    let page1 = items(&newest);
    assert_eq!(page1.len(), 30);
    assert_eq!(page1[0]["seq"].as_u64(), seqs.last().copied());
    assert_eq!(page1[0]["action"], "list.late");
    let next = newest["next"].as_str().expect("next").to_string();
    assert!(next.contains("before_seq="), "{next}");
    let (_, older) = srv.get(&iab, &next).await;
    let page2 = items(&older);
    assert_eq!(page2.len(), 30);
    assert!(page2[0]["seq"].as_u64() < page1[29]["seq"].as_u64());
    let prev = older["prev"].as_str().expect("prev").to_string();
    assert!(prev.contains("after_seq="), "{prev}");
    let (_, back) = srv.get(&iab, &prev).await;
    let seq = |v: &Vec<Value>| v.iter().map(|e| e["seq"].clone()).collect::<Vec<_>>();
    assert_eq!(
        seq(&items(&back)),
        seq(&page1),
        "prev returns the page before"
    );

    // A record (type and id), a time range, and both together.
    let (_, r1) = srv
        .get(
            &iab,
            "/api/audit?record_type=list_test&record_id=r1&limit=500",
        )
        .await;
    assert!(items(&r1).iter().all(|e| e["record_id"] == "r1"));
    assert_eq!(r1["total"], 43 + 23, "{}", r1["total"]);
    let from = between.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let late_path = format!(
        "/api/audit?record_type=list_test&from={}&limit=500",
        from.replace('+', "%2B")
    );
    let (s, late) = srv.get(&iab, &late_path).await;
    assert_eq!(s, StatusCode::OK, "{late}");
    assert_eq!(late["total"], 70);
    assert!(items(&late).iter().all(|e| e["action"] == "list.late"));
    let (_, early) = srv
        .get(
            &iab,
            &format!(
                "/api/audit?record_type=list_test&record_id=r0&to={}&limit=500",
                from.replace('+', "%2B")
            ),
        )
        .await;
    assert_eq!(early["total"], 44);
    assert!(items(&early)
        .iter()
        .all(|e| e["action"] == "list.early" && e["record_id"] == "r0"));

    // Bounds: a limit above 500 is 500; a record id without its type and an inverted range are
    // refused naming the field.
    let (_, big) = srv.get(&iab, "/api/audit?limit=100000").await;
    assert_eq!(big["limit"], 500);
    let (s, b) = srv.get(&iab, "/api/audit?record_id=r1").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = srv
        .get(&iab, "/api/audit?from=2026-12-02&to=2026-12-01")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // The page: newest first, 50 rows, the pager, the filters, "Decided by".
    let (s, page) = html(&srv, &iab, "/audit?record_type=list_test&record_id=r2").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Decided by"));
    assert_eq!(page.matches("<td class=\"decided-by\">").count(), 50);
    assert!(page.contains("<code>SEC-04</code>"));
    assert!(page.contains("rel=\"next\""), "more than a page of r2");
    assert!(page.contains("of 66"), "the total is shown");
    assert!(!page.contains(">r1<") && !page.contains("list_test r1"));

    // Someone the policy does not let read the trail gets nothing.
    let okafor = srv.login("det.okafor").await;
    let (s, _) = srv.get(&okafor, "/api/audit?record_type=list_test").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    sec_04_audit_trail_paged_and_filtered_by_time_and_record,
    super::sec_04_audit_trail_paged_and_filtered_by_time_and_record_body
);

/// SEC-02: the case list is paged over the cases the person may read, sorted and filtered in
/// the database; a refused case is never shown, and the total does not count refused cases.
async fn sec_02_case_list_paged_over_the_cases_the_person_may_read_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed_cases(&srv).await;
    let moreau = srv.login("lt.moreau").await;

    let (all, pages) = all_pages(
        &srv,
        &moreau,
        "/api/cases?q=list-&sort=number&order=asc&limit=25",
    )
    .await;
    assert_eq!(pages, 5);
    let numbers: Vec<String> = all
        .iter()
        .filter_map(|c| c["case_number"].as_str().map(str::to_string))
        .collect();
    assert_eq!(numbers.len(), 120, "{numbers:?}");
    assert!(numbers.iter().all(|n| n.starts_with("LIST-019-")));
    assert_eq!(numbers.iter().collect::<HashSet<_>>().len(), 120);
    let mut sorted = numbers.clone();
    sorted.sort();
    assert_eq!(numbers, sorted);

    let (_, first) = srv
        .get(
            &moreau,
            "/api/cases?q=LIST-&sort=number&order=desc&limit=25",
        )
        .await;
    assert_eq!(first["items"][0]["case_number"], "LIST-019-0120");
    assert_eq!(first["total_exact"], false);
    // At least: the 25 shown and one more; never the refused INTEL cases.
    assert_eq!(first["total"], 26, "{}", first["total"]);
    assert!(first["next"]
        .as_str()
        .is_some_and(|n| n.contains("offset=25")));

    // Newest first by default; filters by status and command; a sort outside the whitelist is 400.
    let (_, newest) = srv.get(&moreau, "/api/cases?q=LIST").await;
    assert_eq!(newest["items"][0]["case_number"], "LIST-019-0120");
    assert_eq!(newest["sort"], "opened");
    let (_, closed) = srv.get(&moreau, "/api/cases?q=LIST&status=closed").await;
    assert!(items(&closed).is_empty());
    let (_, intel) = srv.get(&moreau, "/api/cases?command=INTEL").await;
    assert!(items(&intel).is_empty(), "{intel}");
    assert_eq!(intel["total"], 0, "refused cases are not counted");
    assert!(intel["next"].is_null());
    let (s, b) = srv.get(&moreau, "/api/cases?sort=case_number;drop").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    // The Intelligence Division's investigator sees its cases.
    let park = srv.login("intel.park").await;
    let (_, theirs) = srv.get(&park, "/api/cases?q=LIST-INT&limit=500").await;
    assert_eq!(items(&theirs).len(), 60, "{}", theirs["total"]);

    // The page: 25 rows, the pager, sortable headers keeping the filter.
    let (s, page) = html(
        &srv,
        &moreau,
        "/cases?q=LIST-019&sort=number&order=asc&limit=25",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<a href=\"/cases/LIST-019-").count(), 25);
    assert!(page.contains("LIST-019-0001") && !page.contains("LIST-019-0026"));
    assert!(page.contains("rel=\"next\""));
    assert!(page.contains("aria-sort=\"ascending\""));
    assert!(page.contains("q=LIST-019&amp;limit=25&amp;sort=status"));
    assert!(!page.contains("LIST-INT"));
}
both!(
    sec_02_case_list_paged_over_the_cases_the_person_may_read,
    super::sec_02_case_list_paged_over_the_cases_the_person_may_read_body
);

/// SEC-02: the list of people is paged with an exact total, sorted and filtered in the database.
async fn sec_02_people_list_paged_sorted_and_filtered_body(backend: Backend) {
    let srv = common::start(backend).await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    for n in 0..75 {
        users::create(
            &mut tx,
            &users::NewUser {
                username: format!("list.person{n:03}"),
                display_name: format!("Demo Lister {}", 75 - n),
                rank: Some("police_officer".into()),
                command: Some(if n % 3 == 0 { "PCT-019" } else { "HQ" }.into()),
                password_hash: None,
                kind: "member".into(),
            },
        )
        .await
        .expect("user");
    }
    tx.commit().await.expect("commit");
    let admin = srv.login("admin").await;
    let (all, pages) = all_pages(&srv, &admin, "/api/users?q=list.person&limit=20").await;
    assert_eq!((all.len(), pages), (75, 4));
    let (_, first) = srv.get(&admin, "/api/users?q=list.person&limit=20").await;
    assert_eq!(first["total"], 75);
    assert_eq!(first["total_exact"], true);
    assert_eq!(first["items"][0]["username"], "list.person000");
    let (_, desc) = srv
        .get(&admin, "/api/users?q=LISTER&sort=name&order=desc&limit=5")
        .await;
    assert_eq!(desc["items"][0]["display_name"], "Demo Lister 9");
    let (_, pct) = srv
        .get(&admin, "/api/users?q=list.person&command=PCT-019&limit=500")
        .await;
    assert_eq!(pct["total"], 25);
    assert!(items(&pct).iter().all(|u| u["command"] == "PCT-019"));
    let (_, off) = srv
        .get(&admin, "/api/users?q=list.person&offset=70&limit=20")
        .await;
    assert_eq!(items(&off).len(), 5);
    assert!(off["next"].is_null() && off["prev"].is_string());
    // `%` and `_` are matched literally.
    let (_, none) = srv.get(&admin, "/api/users?q=%25").await;
    assert_eq!(none["total"], 0, "{none}");
    let (s, page) = html(
        &srv,
        &admin,
        "/admin/users?q=list.person&limit=20&offset=20",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        page.matches("<a href=\"/admin/users/list.person").count(),
        20
    );
    assert!(page.contains("list.person020") && !page.contains("list.person040"));
    assert!(page.contains("21–40 of 75"), "the pager counts");
    let okafor = srv.login("det.okafor").await;
    let (s, _) = srv.get(&okafor, "/api/users?q=list").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(
    sec_02_people_list_paged_sorted_and_filtered,
    super::sec_02_people_list_paged_sorted_and_filtered_body
);

/// SEC-02: one search box finds case numbers, people and camera serials; each result is one
/// the policy lets the person read, decided on that very record, with a link to it.
async fn sec_02_search_shows_only_records_the_person_may_read_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed_cases(&srv).await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    for (serial, command) in [("SRCH-019-77", "PCT-019"), ("SRCH-INT-77", "INTEL")] {
        devices::create(
            &mut tx,
            &devices::NewDevice {
                device_type: "digital_camera".into(),
                make: "Demo".into(),
                model: "Cam".into(),
                serial: serial.into(),
                storage_location: "locker".into(),
                command: command.into(),
                inspection_interval_days: 30,
                created_by: "system:test".into(),
            },
        )
        .await
        .expect("device");
    }
    tx.commit().await.expect("commit");

    let moreau = srv.login("lt.moreau").await;
    let (s, r) = srv.get(&moreau, "/api/search?q=list-int").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert!(items(&r).is_empty(), "refused cases are not found: {r}");
    let (_, r) = srv.get(&moreau, "/api/search?q=LIST-019-011").await;
    let hits = items(&r);
    assert_eq!(hits.len(), 10, "{r}");
    assert!(hits.iter().all(|h| h["kind"] == "case"
        && h["href"]
            .as_str()
            .is_some_and(|l| l.starts_with("/cases/LIST-019-011"))));
    let (_, r) = srv.get(&moreau, "/api/search?q=srch-").await;
    let serials: Vec<String> = items(&r)
        .iter()
        .filter(|h| h["kind"] == "device")
        .filter_map(|h| h["label"].as_str())
        .map(|l| l.trim_start_matches("Camera ").to_string())
        .collect();
    assert_eq!(serials, vec!["SRCH-019-77"], "{r}");
    // The result's link lands on the camera's row of the devices page.
    let href = items(&r)
        .iter()
        .find(|h| h["kind"] == "device")
        .and_then(|h| h["href"].as_str())
        .map(str::to_string)
        .expect("device link");
    let (path, anchor) = href.split_once('#').expect("an anchor");
    let page = moreau
        .get(format!("{}{path}", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("devices page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains(&format!("id=\"{anchor}\"")),
        "no row {anchor}"
    );

    let park = srv.login("intel.park").await;
    let (_, r) = srv.get(&park, "/api/search?q=LIST-INT-003").await;
    assert!(
        !items(&r).is_empty() && items(&r).iter().all(|h| h["kind"] == "case"),
        "{r}"
    );

    // People: the administrator may read any account; an investigator may not read others'.
    let admin = srv.login("admin").await;
    let (_, r) = srv.get(&admin, "/api/search?q=rivera").await;
    assert!(
        items(&r)
            .iter()
            .any(|h| h["kind"] == "person" && h["href"] == "/admin/users/det.rivera"),
        "{r}"
    );
    let okafor = srv.login("det.okafor").await;
    let (_, r) = srv.get(&okafor, "/api/search?q=rivera").await;
    assert!(
        items(&r).iter().all(|h| h["kind"] != "person"),
        "no account the investigator may not read: {r}"
    );
    for h in items(&r) {
        let (s, _) = srv.get(&okafor, h["href"].as_str().unwrap_or("/")).await;
        assert_ne!(s, StatusCode::FORBIDDEN, "{h}");
    }

    // The page, reached from the header's search box.
    let (s, home) = html(&srv, &moreau, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("action=\"/search\""));
    let (s, page) = html(&srv, &moreau, "/search?q=LIST-019-0001").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("cases&#x2f;LIST-019-0001\">Case LIST-019-0001</a>"),
        "a link to the case: {page}"
    );
    assert!(!page.contains("LIST-INT"));
    let long = "x".repeat(101);
    let (s, _) = srv.get(&moreau, &format!("/api/search?q={long}")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // Every search is in the audit trail with what it showed.
    let iab = srv.login("iab.walsh").await;
    let (_, trail) = srv
        .get(
            &iab,
            "/api/audit?action=search&actor=user:lt.moreau&limit=500",
        )
        .await;
    assert!(items(&trail).len() >= 4, "{trail}");
}
both!(
    sec_02_search_shows_only_records_the_person_may_read,
    super::sec_02_search_shows_only_records_the_person_may_read_body
);

/// FR-25 / SEC-02: the FR queue is paged over the requests the person may read (the Intelligence
/// Division's political cases are kept from the FR section), sorted and filtered in the
/// database; the search box finds a request by the start of its id only when it may be read.
async fn fr_25_fr_queue_paged_and_searched_over_requests_the_person_may_read_body(
    backend: Backend,
) {
    let srv = common::start(backend).await;
    seed_cases(&srv).await;
    let rivera = srv.user("det.rivera").await.id;
    let mut tx = srv.state.store.begin().await.expect("tx");
    let mut hidden = Vec::new();
    let mut shown = Vec::new();
    for n in 1..=70 {
        for number in [
            format!("LIST-019-{n:04}"),
            format!("LIST-INT-{:04}", n % 60 + 1),
        ] {
            if number.starts_with("LIST-INT") && n % 2 == 1 {
                continue;
            }
            let case = cases::get_by_number(&mut tx, &number)
                .await
                .expect("case")
                .expect("case exists");
            let id = uuid::Uuid::now_v7();
            fr::insert(
                &mut tx,
                id,
                case.id,
                &number,
                rivera,
                if n % 5 == 0 { "returned" } else { "submitted" },
                Some("identify_suspect"),
                None,
                "{}",
            )
            .await
            .expect("request");
            if number.starts_with("LIST-INT") {
                hidden.push(id.to_string());
            } else {
                shown.push(id.to_string());
            }
        }
    }
    tx.commit().await.expect("commit");
    let chen = srv.login("fri.chen").await;
    let (all, pages) = all_pages(
        &srv,
        &chen,
        "/api/fr/queue?q=list-&sort=case&order=asc&limit=30",
    )
    .await;
    assert_eq!(pages, 3);
    let numbers: Vec<&str> = all
        .iter()
        .filter_map(|r| r["case_number"].as_str())
        .collect();
    assert_eq!(numbers.len(), 70, "{numbers:?}");
    assert!(numbers.iter().all(|n| n.starts_with("LIST-019-")));
    assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "sorted by case");
    let (_, returned) = srv
        .get(&chen, "/api/fr/queue?q=LIST-&state=returned&limit=500")
        .await;
    assert_eq!(items(&returned).len(), 14);
    assert!(items(&returned).iter().all(|r| r["state"] == "returned"));
    let (_, first) = srv.get(&chen, "/api/fr/queue?q=LIST-INT").await;
    assert!(items(&first).is_empty() && first["total"] == 0, "{first}");

    // The search box: by the start of the id, only a request the person may read.
    // Requests made within one millisecond share the first 13 characters: the request's own kind
    // is paged through.
    let (_, r) = srv
        .get(
            &chen,
            &format!(
                "/api/search?q={}&kind=fr_request&limit=500",
                &shown[3][..13]
            ),
        )
        .await;
    assert!(
        items(&r)
            .iter()
            .any(|h| h["kind"] == "fr_request" && h["id"] == shown[3].as_str()),
        "{r}"
    );
    let (_, r) = srv
        .get(&chen, &format!("/api/search?q={}", hidden[3]))
        .await;
    assert!(items(&r).is_empty(), "{r}");
    // The page: the pager and the state filter.
    let (s, page) = html(&srv, &chen, "/fr?q=LIST-019&limit=30&sort=case&order=asc").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<td>LIST-019-").count(), 30);
    assert!(page.contains("rel=\"next\"") && page.contains("at least 31"));
}
both!(
    fr_25_fr_queue_paged_and_searched_over_requests_the_person_may_read,
    super::fr_25_fr_queue_paged_and_searched_over_requests_the_person_may_read_body
);

/// Stores `n` evidence items in `case` (tiny originals with made-up hashes: the list reads rows,
/// never bytes), named `{prefix}-{i:03}.jpg` or `.heic` every third.
async fn seed_items(srv: &TestServer, case: &str, prefix: &str, n: usize) {
    use probity_store::evidence;
    let mut tx = srv.state.store.begin().await.expect("tx");
    let case = cases::get_by_number(&mut tx, case)
        .await
        .expect("case")
        .expect("case exists");
    let intake = evidence::create_intake(
        &mut tx,
        &evidence::NewIntake {
            case_id: case.id,
            source_kind: "upload".into(),
            source_label: "list test".into(),
            importer: "system:test".into(),
            purpose: serde_json::json!({ "purpose": "crime_scene" }),
            legal_basis: serde_json::json!({ "kind": "no_reasonable_expectation_of_privacy" }),
        },
    )
    .await
    .expect("intake");
    for i in 0..n {
        let bytes = format!("{prefix} original {i}").into_bytes();
        let blob = srv
            .state
            .store
            .blobs()
            .put(&mut tx, None, &bytes, "image/jpeg", "system:test")
            .await
            .expect("blob");
        let heic = i % 3 == 2;
        evidence::create_item(
            &mut tx,
            &evidence::NewItem {
                case_id: case.id,
                intake_id: intake.id,
                blob_id: blob.id,
                thumbnail_blob_id: None,
                sha256: format!("{:064x}", u128::from_le_bytes(*blob.id.as_bytes())),
                original_filename: format!("{prefix}-{i:03}.{}", if heic { "heic" } else { "jpg" }),
                format: if heic { "HEIC/HEIF" } else { "JPEG" }.into(),
                size: 1000 + i as u64,
                importer: "system:test".into(),
                metadata: serde_json::json!({}),
                purpose: serde_json::json!({ "purpose": "crime_scene" }),
                legal_basis: serde_json::json!({ "kind": "no_reasonable_expectation_of_privacy" }),
                political_activity: case.political_activity,
                device_serial: None,
            },
        )
        .await
        .expect("item");
    }
    tx.commit().await.expect("commit");
}

/// DC-06 / SEC-04: a case's evidence is paged in the database with an exact total (one decision
/// on the case's evidence), sorted and filtered by file name and format; items of other cases are
/// neither shown nor counted, and the gallery page carries the pager.
async fn dc_06_evidence_list_paged_sorted_and_filtered_with_exact_total_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed_cases(&srv).await;
    let case = "2026-019-000101";
    seed_items(&srv, case, "scene", 75).await;
    seed_items(&srv, "LIST-019-0001", "other", 5).await;
    seed_items(&srv, "LIST-INT-0001", "secret", 5).await;
    let rivera = srv.login("det.rivera").await;
    let base = format!("/api/cases/{case}/evidence?q=scene-&limit=30");
    let (all, pages) = all_pages(&srv, &rivera, &base).await;
    assert_eq!((all.len(), pages), (75, 3));
    let names: Vec<&str> = all
        .iter()
        .filter_map(|i| i["original_filename"].as_str())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("scene-")), "{names:?}");
    let (_, first) = srv.get(&rivera, &base).await;
    assert_eq!(first["total"], 75, "{first}");
    assert_eq!(first["total_exact"], true);
    assert_eq!(items(&first).len(), 30);
    // The second page follows the first in intake order.
    let (_, second) = srv.get(&rivera, &format!("{base}&offset=30")).await;
    assert_eq!(second["items"][0]["original_filename"], "scene-030.jpg");
    assert!(second["prev"].is_string() && second["next"].is_string());
    // Sorted by file name, newest name first.
    let (_, desc) = srv
        .get(&rivera, &format!("{base}&sort=filename&order=desc"))
        .await;
    assert_eq!(desc["items"][0]["original_filename"], "scene-074.heic");
    // Filtered by format.
    let (_, heic) = srv
        .get(
            &rivera,
            &format!("/api/cases/{case}/evidence?q=scene-&format=HEIC%2FHEIF&limit=500"),
        )
        .await;
    assert_eq!(heic["total"], 25, "{heic}");
    assert!(items(&heic).iter().all(|i| i["format"] == "HEIC/HEIF"));
    // Another case's items are neither shown nor counted.
    let (_, none) = srv
        .get(&rivera, &format!("/api/cases/{case}/evidence?q=other-"))
        .await;
    assert_eq!(none["total"], 0, "{none}");
    // A sort outside the list's keys is refused.
    let (s, _) = srv
        .get(
            &rivera,
            &format!("/api/cases/{case}/evidence?sort=metadata"),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // A case the policy keeps from the investigator answers as if it did not exist.
    let (s, b) = srv.get(&rivera, "/api/cases/LIST-INT-0001/evidence").await;
    assert!(
        s == StatusCode::NOT_FOUND || s == StatusCode::FORBIDDEN,
        "{s}: {b}"
    );
    assert!(!b.to_string().contains("secret-"), "{b}");
    // The gallery page: the pager and the filter.
    let (s, page) = html(
        &srv,
        &rivera,
        &format!("/cases/{case}/evidence?q=scene-&limit=30&offset=30"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<li class=\"item\">").count(), 30);
    assert!(page.contains("scene-030.jpg") && !page.contains("scene-060.jpg"));
    assert!(page.contains("31–60 of 75"), "the pager counts");
    assert!(page.contains("rel=\"next\"") && page.contains("rel=\"prev\""));
}
both!(
    dc_06_evidence_list_paged_sorted_and_filtered_with_exact_total,
    super::dc_06_evidence_list_paged_sorted_and_filtered_with_exact_total_body
);

/// DC-04 / SEC-02: the camera list is paged over the cameras the person accounts for (decided on
/// each camera's command): another command's cameras between them are neither shown nor counted;
/// sorted, filtered by serial, command and whether an inspection is overdue.
async fn dc_04_device_list_paged_over_the_cameras_the_person_accounts_for_body(backend: Backend) {
    let srv = common::start(backend).await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    for n in 0..70 {
        for (command, tag) in [("PCT-019", "A"), ("PCT-041", "B")] {
            if tag == "B" && n % 2 == 1 {
                continue;
            }
            let d = devices::create(
                &mut tx,
                &devices::NewDevice {
                    device_type: if n % 4 == 0 { "phone" } else { "camera" }.into(),
                    make: "Demo".into(),
                    model: "Cam".into(),
                    serial: format!("LSTDEV{n:03}{tag}"),
                    storage_location: "locker".into(),
                    command: command.into(),
                    inspection_interval_days: 30,
                    created_by: "system:test".into(),
                },
            )
            .await
            .expect("device");
            if n % 5 == 0 {
                devices::inspect(&mut tx, d.id, "system:test", true, "in time")
                    .await
                    .expect("inspection");
            }
        }
    }
    tx.commit().await.expect("commit");
    let moreau = srv.login("lt.moreau").await;
    let (all, pages) = all_pages(&srv, &moreau, "/api/devices?q=lstdev&limit=30").await;
    assert_eq!(pages, 3);
    let serials: Vec<&str> = all.iter().filter_map(|d| d["serial"].as_str()).collect();
    assert_eq!(serials.len(), 70, "{serials:?}");
    assert!(serials.iter().all(|s| s.ends_with('A')), "{serials:?}");
    assert!(serials.windows(2).all(|w| w[0] < w[1]), "by serial");
    let (_, first) = srv.get(&moreau, "/api/devices?q=lstdev&limit=30").await;
    assert_eq!(first["total_exact"], false);
    assert_eq!(first["total"], 31, "at least one more than shown: {first}");
    assert!(first["flagged_intakes"].is_array(), "{first}");
    let (_, second) = srv
        .get(&moreau, "/api/devices?q=lstdev&limit=30&offset=30")
        .await;
    assert_eq!(second["items"][0]["serial"], "LSTDEV030A");
    let (_, desc) = srv
        .get(
            &moreau,
            "/api/devices?q=lstdev&sort=serial&order=desc&limit=5",
        )
        .await;
    assert_eq!(desc["items"][0]["serial"], "LSTDEV069A");
    let (_, phones) = srv
        .get(&moreau, "/api/devices?q=lstdev&device_type=phone&limit=500")
        .await;
    assert_eq!(items(&phones).len(), 18);
    let (_, current) = srv
        .get(&moreau, "/api/devices?q=lstdev&overdue=false&limit=500")
        .await;
    assert_eq!(items(&current).len(), 14, "{current}");
    assert!(items(&current).iter().all(|d| d["overdue"] == false));
    let (_, overdue) = srv
        .get(&moreau, "/api/devices?q=lstdev&overdue=true&limit=500")
        .await;
    assert_eq!(items(&overdue).len(), 56);
    let (_, other) = srv
        .get(&moreau, "/api/devices?command=PCT-041&limit=500")
        .await;
    assert!(items(&other).is_empty() && other["total"] == 0, "{other}");
    let (s, _) = srv.get(&moreau, "/api/devices?overdue=maybe").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The page: the pager, sortable headers, and the overdue ones a link away.
    let (s, page) = html(&srv, &moreau, "/devices?q=lstdev&limit=30").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<tr id=\"device-").count(), 30);
    assert!(!page.contains("LSTDEV000B"));
    assert!(page.contains("at least 31") && page.contains("rel=\"next\""));
    assert!(page.contains("aria-sort=\"ascending\""));
    assert!(page.contains("id=\"all-overdue\""), "more than ten overdue");
}
both!(
    dc_04_device_list_paged_over_the_cameras_the_person_accounts_for,
    super::dc_04_device_list_paged_over_the_cameras_the_person_accounts_for_body
);

/// TH-05 / SEC-02: the deployment list is paged over the authorizations the person may see
/// (decided on each deployment's command): another command's deployments between them are neither
/// shown nor counted; sorted by expiry, filtered by source, status and basis.
async fn th_05_deployment_list_paged_over_the_commands_deployments_body(backend: Backend) {
    use probity_store::thermal;
    let srv = common::start(backend).await;
    let moreau_id = srv.user("lt.moreau").await.id;
    let now = chrono::Utc::now();
    let mut tx = srv.state.store.begin().await.expect("tx");
    for n in 0..60i64 {
        for (command, tag) in [("PCT-019", "a"), ("PCT-041", "b")] {
            if tag == "b" && n % 3 != 0 {
                continue;
            }
            let expired = n % 4 == 0;
            let starts = now - chrono::Duration::hours(if expired { 10 } else { 1 });
            thermal::create_authorization(
                &mut tx,
                &thermal::NewAuthorization {
                    command: command.into(),
                    source: format!("thermal.list{n:03}{tag}"),
                    source_kind: "handheld".into(),
                    basis: if n % 2 == 0 {
                        "exigent_emergency"
                    } else {
                        "public_observation"
                    }
                    .into(),
                    risks_to_personnel: "r".into(),
                    risks_to_civilians: "r".into(),
                    risks_to_suspects: "r".into(),
                    legitimate_purpose: "p".into(),
                    starts_at: starts,
                    expires_at: starts + chrono::Duration::minutes(120 + n),
                    authorized_by: moreau_id,
                    authorized_at: starts,
                },
            )
            .await
            .expect("authorization");
        }
    }
    tx.commit().await.expect("commit");
    let moreau = srv.login("lt.moreau").await;
    let (all, pages) = all_pages(
        &srv,
        &moreau,
        "/api/thermal/authorizations?q=thermal.list&sort=source&order=asc&limit=25",
    )
    .await;
    assert_eq!(pages, 3);
    let sources: Vec<&str> = all.iter().filter_map(|a| a["source"].as_str()).collect();
    assert_eq!(sources.len(), 60, "{sources:?}");
    assert!(sources.iter().all(|s| s.ends_with('a')), "{sources:?}");
    assert!(sources.windows(2).all(|w| w[0] < w[1]), "by source");
    let (_, first) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&limit=25",
        )
        .await;
    assert_eq!(
        (first["total"].as_u64(), first["total_exact"].as_bool()),
        (Some(26), Some(false))
    );
    let (_, second) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&sort=source&order=asc&limit=25&offset=25",
        )
        .await;
    assert_eq!(second["items"][0]["source"], "thermal.list025a");
    let (_, by_expiry) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&sort=expires&order=desc&limit=3",
        )
        .await;
    assert_eq!(by_expiry["items"][0]["source"], "thermal.list059a");
    let (_, expired) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&status=expired&limit=500",
        )
        .await;
    assert_eq!(items(&expired).len(), 15, "{expired}");
    assert!(items(&expired).iter().all(|a| a["status"] == "expired"));
    let (_, in_force) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&status=in_force&basis=public_observation&limit=500",
        )
        .await;
    assert_eq!(items(&in_force).len(), 30, "{in_force}");
    assert!(items(&in_force)
        .iter()
        .all(|a| a["status"] == "in force" && a["basis"] == "public_observation"));
    let (_, other) = srv
        .get(
            &moreau,
            "/api/thermal/authorizations?q=thermal.list&command=PCT-041",
        )
        .await;
    assert!(items(&other).is_empty() && other["total"] == 0, "{other}");
    let (s, _) = srv
        .get(&moreau, "/api/thermal/authorizations?status=soon")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, page) = html(&srv, &moreau, "/thermal?q=thermal.list&limit=25&offset=25").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<tr data-source=\"thermal.list").count(), 25);
    assert!(!page.contains("thermal.list000b"));
    assert!(page.contains("rel=\"prev\"") && page.contains("rel=\"next\""));
}
both!(
    th_05_deployment_list_paged_over_the_commands_deployments,
    super::th_05_deployment_list_paged_over_the_commands_deployments_body
);

/// FR-01 / FR-02: the photo repository's records are paged in the database with an exact total,
/// sorted and filtered by subject or arrest id, source and sealing; only those who may read the
/// repository see the list, and the page carries the pager.
async fn fr_02_repository_records_paged_sorted_and_filtered_body(backend: Backend) {
    use probity_store::gallery;
    let srv = common::start(backend).await;
    let mut tx = srv.state.store.begin().await.expect("tx");
    for n in 0..65 {
        let photo = format!("list test photo {n}").into_bytes();
        let subject = format!("LSTSUBJ-{:03}", 64 - n);
        let arrest = format!("LSTARR-{n:03}");
        let date = format!("2020-01-{:02}", n % 28 + 1);
        gallery::import_record(
            &mut tx,
            srv.state.store.blobs(),
            &gallery::NewRecord {
                subject_id: &subject,
                source: if n % 5 == 0 { "parole" } else { "arrest" },
                arrest_id: &arrest,
                photo_date: &date,
                photo: &photo,
                media_type: "image/jpeg",
            },
            "system:test",
        )
        .await
        .expect("record");
    }
    for n in [3, 7, 11] {
        gallery::set_sealed(&mut tx, &format!("LSTARR-{n:03}"), true)
            .await
            .expect("seal");
    }
    tx.commit().await.expect("commit");
    let rec = srv.login("rec.lopez").await;
    let base = "/api/fr/gallery/records?q=lstarr&limit=30";
    let (all, pages) = all_pages(&srv, &rec, base).await;
    assert_eq!((all.len(), pages), (65, 3));
    let (_, first) = srv.get(&rec, base).await;
    assert_eq!(
        (first["total"].as_u64(), first["total_exact"].as_bool()),
        (Some(65), Some(true))
    );
    assert_eq!(first["items"][0]["arrest_id"], "LSTARR-000");
    assert!(
        first["items"][0].get("photo_blob").is_none(),
        "no photo in the list"
    );
    let (_, second) = srv.get(&rec, &format!("{base}&offset=30")).await;
    assert_eq!(second["items"][0]["arrest_id"], "LSTARR-030");
    let (_, by_subject) = srv
        .get(&rec, &format!("{base}&sort=subject&order=asc"))
        .await;
    assert_eq!(by_subject["items"][0]["subject_id"], "LSTSUBJ-000");
    let (_, sealed) = srv
        .get(&rec, "/api/fr/gallery/records?q=lstarr&sealed=true")
        .await;
    assert_eq!(sealed["total"], 3, "{sealed}");
    let (_, parole) = srv
        .get(
            &rec,
            "/api/fr/gallery/records?q=lstarr&source=parole&limit=500",
        )
        .await;
    assert_eq!(parole["total"], 13);
    assert!(items(&parole).iter().all(|r| r["source"] == "parole"));
    let (s, _) = srv
        .get(&rec, "/api/fr/gallery/records?sealed=perhaps")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, "/api/fr/gallery/records").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    let (s, page) = html(&srv, &rec, "/fr/gallery?q=lstarr&limit=30&offset=60").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("<tr data-record=").count(), 5);
    assert!(page.contains("61–65 of 65") && page.contains("rel=\"prev\""));
}
both!(
    fr_02_repository_records_paged_sorted_and_filtered,
    super::fr_02_repository_records_paged_sorted_and_filtered_body
);

/// SEC-02: the search page gives each kind its own pager over the records the person may read:
/// the overview shows the first ten of each kind, `kind=` pages through one, and refused records
/// are neither shown nor counted.
async fn sec_02_search_pages_each_kind_over_records_the_person_may_read_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed_cases(&srv).await;
    let moreau = srv.login("lt.moreau").await;
    let (s, r) = srv.get(&moreau, "/api/search?q=LIST-").await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let cases_group = r["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["kind"] == "case").cloned())
        .expect("a group of cases");
    assert_eq!(cases_group["shown"], 10);
    assert_eq!(
        cases_group["total"], 11,
        "ten shown and more: {cases_group}"
    );
    let next = cases_group["next"]
        .as_str()
        .expect("a next page")
        .to_string();
    assert!(next.contains("kind=case"), "{next}");
    let mut all = Vec::new();
    let mut pages = 0;
    let mut path = Some(next);
    while let Some(p) = path {
        let (s, b) = srv.get(&moreau, &p).await;
        assert_eq!(s, StatusCode::OK, "{p}: {b}");
        assert!(items(&b).len() <= 10, "{b}");
        all.extend(items(&b));
        pages += 1;
        assert!(pages < 50, "paging does not end");
        path = b["groups"][0]["next"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 11);
    let numbers: Vec<&str> = all.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(
        numbers.len(),
        110,
        "the 120 precinct cases after the first ten"
    );
    assert!(
        numbers.iter().all(|n| n.starts_with("LIST-019-")),
        "{numbers:?}"
    );
    let (_, one) = srv
        .get(&moreau, "/api/search?q=LIST-&kind=case&limit=50&offset=100")
        .await;
    assert_eq!(items(&one).len(), 20);
    assert!(one["groups"][0]["next"].is_null());
    let (s, _) = srv.get(&moreau, "/api/search?q=LIST-&kind=planet").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The page: a pager under each kind.
    let (s, page) = html(&srv, &moreau, "/search?q=LIST-").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"search-case\""), "{page}");
    assert!(page.contains("aria-label=\"Cases found: pages (below the list)\""));
    assert!(page.contains("rel=\"next\"") && !page.contains("LIST-INT"));
    let (s, page) = html(
        &srv,
        &moreau,
        "/search?q=LIST-&kind=case&limit=50&offset=50",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.matches("class=\"hit-case\"").count(), 50);
    assert!(page.contains("rel=\"prev\"") && page.contains("rel=\"next\""));
}
both!(
    sec_02_search_pages_each_kind_over_records_the_person_may_read,
    super::sec_02_search_pages_each_kind_over_records_the_person_may_read_body
);
