//! Focused audits (SEC-05) through the API and the web page: requested by the Internal Affairs
//! Bureau, Integrity Control Officers, investigations units and commanding officers (own command
//! only), scoped by person, case, record, action and time range; reported on screen, as CSV and as
//! PDF with the statement that the chain verified; and recorded in the trail themselves. Every
//! test runs on SQLite and PostgreSQL.

mod common;
mod pdftext;

use chrono::{Duration, Utc};
use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

const CASE: &str = "2026-019-000101";

/// `?person=...&from=yesterday&to=tomorrow` style query strings around now.
fn range() -> String {
    let from = (Utc::now() - Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    format!("from={from}&to={to}")
}

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

fn entries(b: &Value) -> Vec<Value> {
    b["entries"].as_array().cloned().unwrap_or_default()
}

/// Det. Rivera reads a case of the 19th Precinct: one `case.read` entry by her.
async fn rivera_reads_case(srv: &TestServer) {
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv.get(&rivera, &format!("/api/cases/{CASE}")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

async fn raw_sql(srv: &TestServer, sql: &str) {
    sqlx::any::install_default_drivers();
    let url = match &srv.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", srv.dir.path().join("probity.db").display()),
    };
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("raw connection");
    sqlx::query(sql).execute(&mut conn).await.expect("raw sql");
}

// ------------------------------------------------------------------ scope and report

async fn sec_05_iab_focused_audit_by_person_and_range_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv
        .get(
            &iab,
            &format!(
                "/api/audit/focused?person=det.rivera&{}&reason=IAB-2026-0042",
                range()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(rule(&b), "SEC-05.focused-audits");
    let found = entries(&b);
    assert!(!found.is_empty(), "{b}");
    assert!(
        found.iter().all(|e| e["actor"] == "user:det.rivera"),
        "only the person's activity: {b}"
    );
    assert!(
        found
            .iter()
            .any(|e| e["record_type"] == "case" && e["record_id"] == CASE),
        "her reading of the case is in the report: {b}"
    );
    assert_eq!(b["chain"]["verified"], true, "{b}");
    let statement = b["chain"]["statement"].as_str().unwrap_or_default();
    assert!(
        statement.starts_with("The audit chain verified over "),
        "{statement}"
    );
    assert_eq!(b["scope"]["person"], "det.rivera");
    assert_eq!(b["scope"]["commands"], serde_json::json!(["PCT-019"]));
    assert_eq!(b["scope"]["reason"], "IAB-2026-0042");

    // Narrowed by action and case: only the reads of that case.
    let (s, b) = srv
        .get(
            &iab,
            &format!(
                "/api/audit/focused?person=det.rivera&case={CASE}&action=case.read&{}",
                range()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let found = entries(&b);
    assert!(!found.is_empty(), "{b}");
    assert!(found.iter().all(|e| e["action"] == "case.read"
        && e["record_id"] == CASE
        && e["actor"] == "user:det.rivera"));

    // A range that ends before the read holds none of it.
    let from = (Utc::now() - Duration::days(3)).format("%Y-%m-%d");
    let to = (Utc::now() - Duration::days(2)).format("%Y-%m-%d");
    let (s, b) = srv
        .get(
            &iab,
            &format!("/api/audit/focused?person=det.rivera&from={from}&to={to}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(entries(&b).is_empty(), "{b}");
    assert_eq!(b["chain"]["verified"], true, "{b}");

    // By record alone, department-wide: the Integrity Control Officer and an investigations unit
    // may; so may the IAB.
    for who in ["ico.stein", "iu.reyes", "iab.walsh"] {
        let c = srv.login(who).await;
        let (s, b) = srv
            .get(
                &c,
                &format!(
                    "/api/audit/focused?record_type=case&record_id={CASE}&{}",
                    range()
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{who}: {b}");
        assert_eq!(b["scope"]["department_wide"], true, "{b}");
        assert!(!entries(&b).is_empty(), "{who}: {b}");
    }
}
both!(
    sec_05_iab_focused_audit_by_person_and_range,
    super::sec_05_iab_focused_audit_by_person_and_range_body
);

async fn sec_05_commanding_officer_audits_own_command_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    let co = srv.login("co.grant").await;
    for q in [
        format!("person=det.rivera&{}", range()),
        format!("case={CASE}&{}", range()),
        format!("person=det.rivera&action=case.read&{}", range()),
    ] {
        let (s, b) = srv.get(&co, &format!("/api/audit/focused?{q}")).await;
        assert_eq!(s, StatusCode::OK, "{q}: {b}");
        assert_eq!(rule(&b), "SEC-05.commanding-officer-focused-audits", "{b}");
        assert!(!entries(&b).is_empty(), "{q}: {b}");
    }
}
both!(
    sec_05_commanding_officer_audits_own_command,
    super::sec_05_commanding_officer_audits_own_command_body
);

async fn sec_05_commanding_officer_refused_other_command_body(backend: Backend) {
    let srv = common::start(backend).await;
    let co = srv.login("co.grant").await;
    // A person of another command, a case of another command, and an audit naming no one (every
    // command): each refused, naming the rule.
    for q in [
        format!("person=fri.chen&{}", range()),
        format!("case=INTEL-2026-00007&{}", range()),
        format!("action=case.read&{}", range()),
        format!("record_type=case&record_id={CASE}&{}", range()),
    ] {
        let (s, b) = srv.get(&co, &format!("/api/audit/focused?{q}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{q}: {b}");
        assert_eq!(
            rule(&b),
            "SEC-05.commanding-officer-own-command-only",
            "{q}: {b}"
        );
        assert!(
            b["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("own command"),
            "{b}"
        );
    }
    // The refusals are in the trail, with the scope asked for.
    let trail = srv.audit_of("audit", "focused").await;
    let refused: Vec<_> = trail
        .iter()
        .filter(|e| e.actor == "user:co.grant" && e.outcome == "denied")
        .collect();
    assert!(refused.len() >= 4, "{trail:?}");
    assert!(refused.iter().any(|e| e.detail.contains("fri.chen")
        && e.detail
            .contains("SEC-05.commanding-officer-own-command-only")));

    // Someone with no auditing role at all is refused before anything is looked up.
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .get(
            &rivera,
            &format!("/api/audit/focused?person=nobody.at.all&{}", range()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert!(rule(&b).starts_with("deny-by-default"), "{b}");
}
both!(
    sec_05_commanding_officer_refused_other_command,
    super::sec_05_commanding_officer_refused_other_command_body
);

async fn sec_05_bad_requests_are_refused_clearly_body(backend: Backend) {
    let srv = common::start(backend).await;
    let iab = srv.login("iab.walsh").await;
    let now = Utc::now();
    let later = (now + Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let earlier = (now - Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let cases: Vec<(String, StatusCode, &str)> = vec![
        // No scope at all.
        (range(), StatusCode::BAD_REQUEST, "needs a scope"),
        (String::new(), StatusCode::BAD_REQUEST, "needs a scope"),
        // An inverted time range.
        (
            format!("person=det.rivera&from={later}&to={earlier}"),
            StatusCode::BAD_REQUEST,
            "inverted",
        ),
        // No time range.
        (
            "person=det.rivera".to_string(),
            StatusCode::BAD_REQUEST,
            "time range",
        ),
        (
            format!("person=det.rivera&from=yesterday&to={later}"),
            StatusCode::BAD_REQUEST,
            "not a time",
        ),
        (
            format!("record_type=case&{}", range()),
            StatusCode::BAD_REQUEST,
            "record_id is missing",
        ),
        (
            format!("person=no.such.person&{}", range()),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            format!("case=1999-000-000000&{}", range()),
            StatusCode::NOT_FOUND,
            "",
        ),
    ];
    for (q, status, says) in cases {
        let (s, b) = srv.get(&iab, &format!("/api/audit/focused?{q}")).await;
        assert_eq!(s, status, "{q}: {b}");
        assert!(
            b["detail"].as_str().unwrap_or_default().contains(says),
            "{q}: {b}"
        );
    }
}
both!(
    sec_05_bad_requests_are_refused_clearly,
    super::sec_05_bad_requests_are_refused_clearly_body
);

// ------------------------------------------------------------------ the audit of the audit

async fn sec_05_audit_request_is_itself_audited_body(backend: Backend) {
    let srv = common::start(backend).await;
    let iab = srv.login("iab.walsh").await;
    let (s, first) = srv
        .get(
            &iab,
            &format!(
                "/api/audit/focused?person=det.rivera&{}&reason=IAB-7",
                range()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{first}");
    let seq = first["request_entry"].as_u64().expect("request entry");
    let trail = srv.audit_of("audit", "focused").await;
    let e = trail
        .iter()
        .find(|e| e.seq == seq)
        .expect("the request is in the trail");
    assert_eq!(e.actor, "user:iab.walsh");
    assert_eq!(e.action, "audit.focused");
    assert_eq!(e.outcome, "success");
    assert_eq!(e.reason.as_deref(), Some("IAB-7"));
    let detail: Value = serde_json::from_str(&e.detail).expect("detail");
    assert_eq!(detail["scope"]["person"], "det.rivera");
    assert_eq!(detail["rule"], "SEC-05.focused-audits");
    assert_eq!(detail["chain_verified"], true);

    // An audit of the auditors finds it.
    let ico = srv.login("ico.stein").await;
    let (s, b) = srv
        .get(
            &ico,
            &format!(
                "/api/audit/focused?person=iab.walsh&action=audit.focused&{}",
                range()
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert!(
        entries(&b).iter().any(|e| e["seq"].as_u64() == Some(seq)),
        "{b}"
    );
}
both!(
    sec_05_audit_request_is_itself_audited,
    super::sec_05_audit_request_is_itself_audited_body
);

async fn sec_05_report_states_a_broken_chain_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    // Someone edits an early entry behind the server's back.
    raw_sql(
        &srv,
        "UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 2",
    )
    .await;
    let iab = srv.login("iab.walsh").await;
    let (s, b) = srv
        .get(
            &iab,
            &format!("/api/audit/focused?person=det.rivera&{}", range()),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["chain"]["verified"], false, "{b}");
    assert_eq!(b["chain"]["first_bad_entry"], 2, "{b}");
    assert!(
        b["chain"]["statement"]
            .as_str()
            .unwrap_or_default()
            .contains("did NOT verify"),
        "{b}"
    );
}
both!(
    sec_05_report_states_a_broken_chain,
    super::sec_05_report_states_a_broken_chain_body
);

// ------------------------------------------------------------------ CSV, PDF and the page

async fn sec_05_focused_audit_csv_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    let iab = srv.login("iab.walsh").await;
    let r = iab
        .get(format!(
            "{}/api/audit/focused.csv?person=det.rivera&{}&reason=IAB, \"urgent\"",
            srv.url,
            range()
        ))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    let ct = r.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        cd.starts_with("attachment; filename=\"focused-audit-"),
        "{cd}"
    );
    assert!(cd.ends_with(".csv\""), "{cd}");
    let text = r.text().await.expect("body");
    assert!(
        text.starts_with("report,Focused audit (SEC-05)\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nchain_verified,true\r\n"), "{text}");
    assert!(
        text.contains("\r\nchain_statement,\"The audit chain verified over "),
        "{text}"
    );
    // A field with a comma and quotes is quoted, its quotes doubled.
    assert!(
        text.contains("\r\nreason,\"IAB, \"\"urgent\"\"\"\r\n"),
        "{text}"
    );
    assert!(text
        .contains("\r\nseq,at,actor,action,record_type,record_id,reason,outcome,detail,hash\r\n"));
    // The detail JSON holds commas and quotes: quoted.
    let row = text
        .lines()
        .find(|l| l.contains(",user:det.rivera,case.read,case,"))
        .unwrap_or_else(|| panic!("the read is a row: {text}"));
    assert!(row.contains(",\"{\"\""), "{row}");
}
both!(
    sec_05_focused_audit_csv,
    super::sec_05_focused_audit_csv_body
);

async fn sec_05_focused_audit_pdf_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    let co = srv.login("co.grant").await;
    let r = co
        .get(format!(
            "{}/api/audit/focused.pdf?case={CASE}&{}",
            srv.url,
            range()
        ))
        .send()
        .await
        .expect("pdf");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.expect("body");
    pdftext::assert_says(
        "SEC-05 focused audit PDF",
        &bytes,
        &[
            "Focused audit",
            "Chain verification",
            "The audit chain verified over",
            CASE,
            "user:det.rivera",
            "co.grant",
        ],
    );
}
both!(
    sec_05_focused_audit_pdf,
    super::sec_05_focused_audit_pdf_body
);

async fn sec_05_focused_audit_page_body(backend: Backend) {
    let srv = common::start(backend).await;
    rivera_reads_case(&srv).await;
    let page = |c: reqwest::Client, q: String| {
        let url = format!("{}/audit/focused{q}", srv.url);
        async move {
            let r = c
                .get(url)
                .header("accept", "text/html")
                .send()
                .await
                .expect("page");
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    let co = srv.login("co.grant").await;
    let (s, html) = page(co.clone(), String::new()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"focused-audit-form\""));
    assert!(
        html.contains("href=\"&#x2f;audit&#x2f;focused\""),
        "in the navigation: {html}"
    );

    let (s, html) = page(co.clone(), format!("?person=det.rivera&{}", range())).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("id=\"chain-statement\" class=\"granted\""),
        "{html}"
    );
    assert!(html.contains("The audit chain verified over"), "{html}");
    assert!(html.contains("href=\"/api/audit/focused.csv?person=det.rivera&amp;from="));
    assert!(html.contains("case.read"), "{html}");

    // Bad input: the form again, with the error.
    let (s, html) = page(co.clone(), "?person=det.rivera".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("id=\"focused-audit-error\""), "{html}");
    // Another command: refused, naming the rule.
    let (s, html) = page(co, format!("?person=fri.chen&{}", range())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        html.contains("SEC-05.commanding-officer-own-command-only"),
        "{html}"
    );

    // No auditing role: no page, no navigation entry.
    let rivera = srv.login("det.rivera").await;
    let (s, _) = page(rivera.clone(), String::new()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let r = rivera
        .get(format!("{}/", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("home");
    let home = r.text().await.unwrap_or_default();
    assert!(!home.contains("href=\"&#x2f;audit&#x2f;focused\""));
}
both!(
    sec_05_focused_audit_page,
    super::sec_05_focused_audit_page_body
);
