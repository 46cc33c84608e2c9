//! Breach response (EXT-05) through the API, the scheduler and the pages: anyone reports a
//! suspected breach, the Agency Privacy Officer records it (a record without its discovery time
//! is refused naming EXT-05), the 24-hour clock escalates by e-mail at 12 and 20 hours through a
//! real SMTP server on loopback (aiosmtpd, installed by scripts/setup) driven by the simulated
//! clock, never after the report to the City Chief Privacy Officer is recorded; the notification
//! letters and the quarterly anonymized summary (CSV and PDF, no names). Every test runs on
//! SQLite and PostgreSQL.

mod common;
mod pdftext;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::Duration;
use common::{Backend, TestServer};
use probity_server::scheduler;
use reqwest::StatusCode;
use serde_json::json;

const APO: &str = "apo.singh";
const MEMBER: &str = "det.rivera";
const TO: [&str; 2] = ["cpo-liaison@example.org", "privacy-desk@example.org"];

// ------------------------------------------------------------------ a real SMTP server

/// aiosmtpd on a free loopback port, writing each message it receives to a file.
struct SmtpSink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpSink {
    fn start() -> SmtpSink {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = root.join(".venv/bin/python");
        assert!(
            python.exists(),
            "the Python tools are missing: {} does not exist; run scripts/setup (it installs \
             aiosmtpd from scripts/setup.d/mail.pip)",
            python.display()
        );
        let ok = Command::new(&python)
            .args(["-c", "import aiosmtpd.controller"])
            .status()
            .expect("run python");
        assert!(
            ok.success(),
            "aiosmtpd is not installed in .venv: run scripts/setup (scripts/setup.d/mail.pip)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/smtp_sink.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the SMTP server's port");
        let port: u16 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP server did not start: {line:?}"));
        SmtpSink { child, port, dir }
    }

    /// The messages received so far, in order.
    fn messages(&self) -> Vec<String> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("read the mail folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).expect("read a message"))
            .collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_with_relay(backend: Backend, sink: &SmtpSink) -> TestServer {
    let port = sink.port;
    common::start_with(backend, move |c| {
        c.smtp_relay = Some(format!("127.0.0.1:{port}"));
        c.mail_from = "probity@example.org".into();
        c.breach_escalation_to = TO.iter().map(|s| s.to_string()).collect();
    })
    .await
}

/// One run of the escalation job at the server's (simulated) clock.
async fn escalate(srv: &TestServer) {
    let job = scheduler::job("breach.escalation").expect("the breach.escalation job");
    let runs = scheduler::tick_jobs(&srv.state, &[job], "test-node", srv.state.clock.now())
        .await
        .expect("tick");
    for r in &runs {
        assert_eq!(r.outcome.as_deref(), Some("ok"), "{r:?}");
    }
}

/// The APO records a breach discovered now; its id.
async fn record_breach(srv: &TestServer, apo: &reqwest::Client) -> String {
    let discovered = srv.state.clock.now().to_rfc3339();
    let (s, b) = srv
        .post(
            apo,
            "/api/breaches",
            json!({
                "kind": "misdirected",
                "what_disclosed": "An arrest report naming John Q. Public",
                "disclosed_to": "Acme Tabloid newsroom",
                "discovered_at": discovered,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "recorded", "{b}");
    assert_eq!(b["clock"]["status"], "running", "{b}");
    b["id"].as_str().expect("id").to_string()
}

async fn html(srv: &TestServer, c: &reqwest::Client, path: &str) -> String {
    let r = c
        .get(format!("{}{path}", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.expect("html")
}

// ------------------------------------------------------------------ the clock

async fn ext_05_breach_clock_escalates_at_12_and_20_hours(backend: Backend) {
    let sink = SmtpSink::start();
    let srv = start_with_relay(backend, &sink).await;
    let apo = srv.login(APO).await;
    let id = record_breach(&srv, &apo).await;

    // The clock shows on every page of the privacy staff, and not to others.
    let home = html(&srv, &apo, "/").await;
    assert!(home.contains("id=\"breach-clock\""), "{home}");
    assert!(home.contains(&format!("/breaches/{id}")), "{home}");
    let member = srv.login(MEMBER).await;
    assert!(!html(&srv, &member, "/").await.contains("breach-clock"));

    escalate(&srv).await;
    srv.state
        .clock
        .advance(Duration::hours(11) + Duration::minutes(58));
    escalate(&srv).await;
    assert!(sink.messages().is_empty(), "nothing before 12 hours");

    srv.state.clock.advance(Duration::minutes(3));
    escalate(&srv).await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 1, "one escalation at 12 hours: {mails:?}");
    assert!(
        mails[0].contains("12 hours since discovery"),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&id), "{}", mails[0]);
    for to in TO {
        assert!(mails[0].contains(to), "{to} in {}", mails[0]);
    }
    assert!(
        !mails[0].contains("John Q. Public"),
        "the e-mail names no one"
    );

    // Never twice: later runs before 20 hours send nothing more.
    for _ in 0..3 {
        srv.state.clock.advance(Duration::minutes(2));
        escalate(&srv).await;
    }
    assert_eq!(sink.messages().len(), 1);

    srv.state.clock.advance(Duration::hours(8));
    escalate(&srv).await;
    let mails = sink.messages();
    assert_eq!(mails.len(), 2, "the second escalation at 20 hours");
    assert!(
        mails[1].contains("20 hours since discovery"),
        "{}",
        mails[1]
    );
    srv.state.clock.advance(Duration::minutes(5));
    escalate(&srv).await;
    assert_eq!(sink.messages().len(), 2);

    let (s, d) = srv.get(&apo, &format!("/api/breaches/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let stages: Vec<(i64, String)> = d["escalations"]
        .as_array()
        .expect("escalations")
        .iter()
        .map(|e| {
            (
                e["stage_hours"].as_i64().unwrap_or_default(),
                e["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(stages, vec![(12, "sent".into()), (20, "sent".into())]);
    assert_eq!(d["escalations"][0]["recipients"], TO.join(", "));
    let audit = srv.audit_of("breach", &id).await;
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "breach.escalation")
            .count(),
        2
    );
    assert!(audit.iter().any(|e| e.action == "breach.record"));
}
both!(
    ext_05_breach_clock_escalates_at_12_and_20_hours,
    super::ext_05_breach_clock_escalates_at_12_and_20_hours
);

async fn ext_05_no_escalation_after_report_made(backend: Backend) {
    let sink = SmtpSink::start();
    let srv = start_with_relay(backend, &sink).await;
    let apo = srv.login(APO).await;
    let id = record_breach(&srv, &apo).await;
    srv.state
        .clock
        .advance(Duration::hours(12) + Duration::minutes(1));
    escalate(&srv).await;
    assert_eq!(sink.messages().len(), 1);

    let (s, b) = srv
        .post(
            &apo,
            &format!("/api/breaches/{id}/cpo-report"),
            json!({ "method": "telephone", "note": "spoke to the CPO's duty officer" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["cpo_report_method"], "telephone", "{b}");
    assert_eq!(b["clock"]["status"], "reported_in_time", "{b}");
    assert!(b["cpo_reported_at"].is_string(), "{b}");

    // A second report is refused: it is recorded once.
    let (s, b) = srv
        .post(
            &apo,
            &format!("/api/breaches/{id}/cpo-report"),
            json!({ "method": "email" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["rule"], "EXT-05", "{b}");

    srv.state.clock.advance(Duration::hours(9));
    escalate(&srv).await;
    srv.state.clock.advance(Duration::hours(9));
    escalate(&srv).await;
    assert_eq!(sink.messages().len(), 1, "no escalation after the report");
    assert!(!html(&srv, &apo, "/").await.contains("breach-clock"));
    let audit = srv.audit_of("breach", &id).await;
    assert!(audit.iter().any(|e| e.action == "breach.cpo_report"));
}
both!(
    ext_05_no_escalation_after_report_made,
    super::ext_05_no_escalation_after_report_made
);

async fn ext_05_escalation_without_relay_recorded_not_sent(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login(APO).await;
    let id = record_breach(&srv, &apo).await;
    srv.state.clock.advance(Duration::hours(13));
    escalate(&srv).await;
    srv.state.clock.advance(Duration::minutes(2));
    escalate(&srv).await;
    let (s, d) = srv.get(&apo, &format!("/api/breaches/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let e = d["escalations"].as_array().expect("escalations");
    assert_eq!(e.len(), 1, "{d}");
    assert_eq!(e[0]["outcome"], "not_sent", "{d}");
    assert_eq!(e[0]["detail"], "not sent: no relay configured", "{d}");
    assert_eq!(e[0]["attempts"], 1, "{d}");
}
both!(
    ext_05_escalation_without_relay_recorded_not_sent,
    super::ext_05_escalation_without_relay_recorded_not_sent
);

// ------------------------------------------------------------------ bad input

async fn ext_05_breach_without_discovery_time_refused(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login(APO).await;
    let (s, b) = srv
        .post(
            &apo,
            "/api/breaches",
            json!({
                "kind": "misdirected",
                "what_disclosed": "an arrest report",
                "disclosed_to": "the wrong agency",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["rule"], "EXT-05", "{b}");
    assert!(
        b["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("discovered_at"),
        "{b}"
    );
    // A discovery time in the future is refused too.
    let later = (srv.state.clock.now() + Duration::hours(3)).to_rfc3339();
    let (s, b) = srv
        .post(
            &apo,
            "/api/breaches",
            json!({
                "kind": "misdirected",
                "what_disclosed": "an arrest report",
                "disclosed_to": "the wrong agency",
                "discovered_at": later,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert_eq!(b["rule"], "EXT-05", "{b}");
    // Nothing was stored.
    let (s, list) = srv.get(&apo, "/api/breaches").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");
}
both!(
    ext_05_breach_without_discovery_time_refused,
    super::ext_05_breach_without_discovery_time_refused
);

// ------------------------------------------------------------------ anyone reports

async fn ext_05_anyone_reports_suspected_breach(backend: Backend) {
    let srv = common::start(backend).await;
    let member = srv.login(MEMBER).await;
    let (s, b) = srv
        .post(
            &member,
            "/api/breaches/suspected",
            json!({ "description": "I saw a printed FR report left at the front desk" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "suspected", "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    // The member may report, not read the breaches.
    let (s, _) = srv.get(&member, "/api/breaches").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, b) = srv
        .post(
            &member,
            "/api/breaches/suspected",
            json!({ "description": " " }),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    // The form page is open to the member too.
    let page = html(&srv, &member, "/breaches/suspect").await;
    assert!(page.contains("id=\"suspect-form\""), "{page}");

    // The APO sees it waiting, on every page, and records it.
    let apo = srv.login(APO).await;
    let home = html(&srv, &apo, "/").await;
    assert!(
        home.contains("1 suspected breach waiting for review"),
        "{home}"
    );
    let (s, list) = srv.get(&apo, "/api/breaches").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list[0]["status"], "suspected", "{list}");
    assert_eq!(list[0]["raised_by"], MEMBER, "{list}");
    let (s, b) = srv
        .post(
            &apo,
            "/api/breaches",
            json!({
                "suspicion": id,
                "kind": "lost_or_stolen",
                "what_disclosed": "a facial recognition report",
                "disclosed_to": "members of the public at the front desk",
                "discovered_at": srv.state.clock.now().to_rfc3339(),
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["id"], id.as_str(), "{b}");
    assert_eq!(b["status"], "recorded", "{b}");
    // The IAB reads it; it may not record.
    let iab = srv.login("iab.walsh").await;
    let (s, _) = srv.get(&iab, &format!("/api/breaches/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = srv
        .post(
            &iab,
            &format!("/api/breaches/{id}/cpo-report"),
            json!({ "method": "email" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let audit = srv.audit_of("breach", &id).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"breach.suspect"), "{actions:?}");
    assert!(actions.contains(&"breach.record"), "{actions:?}");
}
both!(
    ext_05_anyone_reports_suspected_breach,
    super::ext_05_anyone_reports_suspected_breach
);

// ------------------------------------------------------------------ notification and summary

async fn ext_05_quarterly_summary_has_no_names(backend: Backend) {
    let srv = common::start(backend).await;
    let apo = srv.login(APO).await;
    let id = record_breach(&srv, &apo).await;

    // No letter before the decision.
    let today = srv.state.clock.now().date_naive().to_string();
    let letter = json!({ "recipient": "Jane Roe", "address": "1 Police Plaza", "sent_on": today });
    let (s, b) = srv
        .post(&apo, &format!("/api/breaches/{id}/letters"), letter.clone())
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    assert_eq!(b["rule"], "EXT-05", "{b}");
    let (s, b) = srv
        .post(
            &apo,
            &format!("/api/breaches/{id}/notification"),
            json!({ "decision": "risk_of_harm", "reason": "home address disclosed" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = srv
        .post(&apo, &format!("/api/breaches/{id}/letters"), letter)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, b) = srv
        .post(
            &apo,
            &format!("/api/breaches/{id}/cpo-report"),
            json!({ "method": "email", "note": "to the CPO's office" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let (s, v) = srv.get(&apo, "/api/breaches/summary").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let total = v["rows"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["kind"] == "total"))
        .cloned()
        .expect("total row");
    assert_eq!(total["breaches"], 1, "{v}");
    assert_eq!(total["reported_in_time"], 1, "{v}");
    assert_eq!(total["notify_risk_of_harm"], 1, "{v}");
    assert_eq!(total["letters_sent"], 1, "{v}");
    let quarter = v["quarter"].as_str().expect("quarter").to_string();

    let names = ["Jane Roe", "John Q. Public", "Acme", "Police Plaza", APO];
    let text = v.to_string();
    for n in names {
        assert!(!text.contains(n), "{n} in the summary: {text}");
    }
    let r = apo
        .get(format!(
            "{}/api/breaches/summary.csv?quarter={quarter}",
            srv.url
        ))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap_or_default()
        .starts_with("text/csv"));
    let csv = r.text().await.expect("csv text");
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap_or_default()
        .starts_with("quarter,kind,breaches,reported_in_time"));
    assert!(
        csv.contains(&format!("{quarter},misdirected,1,1,0,0,1,0,0,0,0,1")),
        "{csv}"
    );
    for n in names {
        assert!(!csv.contains(n), "{n} in the CSV: {csv}");
    }
    let r = apo
        .get(format!(
            "{}/api/breaches/summary.pdf?quarter={quarter}",
            srv.url
        ))
        .send()
        .await
        .expect("pdf");
    assert_eq!(r.status(), StatusCode::OK);
    let pdf = r.bytes().await.expect("pdf bytes");
    // Read back by pdftotext (the streams are compressed): the counts, and no name.
    let text = pdftext::assert_says(
        "EXT-05 quarterly breach summary PDF",
        &pdf,
        &[
            &format!("Breach summary {quarter}"),
            "Counts only: no person is named.",
            "Breaches by kind and outcome",
        ],
    );
    for n in names {
        assert!(!text.contains(n), "{n} in the PDF: {text}");
    }
    let layout = pdftext::poppler("pdftotext", &pdf, &["-layout", "-enc", "UTF-8"], &["-"]);
    let row: Vec<&str> = layout
        .lines()
        .find(|l| l.trim_start().starts_with("misdirected"))
        .unwrap_or_else(|| panic!("no misdirected row in:\n{layout}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        row,
        [
            "misdirected",
            "1",
            "1",
            "0",
            "0",
            "1",
            "0",
            "0",
            "0",
            "0",
            "1"
        ],
        "{layout}"
    );
    // An earlier quarter counts nothing; a malformed one is refused.
    let (s, v) = srv.get(&apo, "/api/breaches/summary?quarter=2001-Q1").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["rows"][5]["breaches"], 0, "{v}");
    let (s, _) = srv.get(&apo, "/api/breaches/summary?quarter=2026-Q7").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    // The breach page shows the letter to the privacy staff.
    let page = html(&srv, &apo, &format!("/breaches/{id}")).await;
    assert!(page.contains("Jane Roe"), "{page}");
    let audit = srv.audit_of("breach", &id).await;
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"breach.notification.decide"),
        "{actions:?}"
    );
    assert!(actions.contains(&"breach.letter.record"), "{actions:?}");
}
both!(
    ext_05_quarterly_summary_has_no_names,
    super::ext_05_quarterly_summary_has_no_names
);
