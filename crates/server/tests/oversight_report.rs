//! The annual oversight report (OVR-03) against the running server, on SQLite and PostgreSQL:
//! activity is seeded through the API (an FR request to a negative report and one left open, an
//! outside agency's request, camera intake, a disclosure approved, breaches, a legal hold, a
//! thermal deployment, a FOIL request, training and access changes), the report is generated
//! over HTTP, and every figure is checked against a count the test makes itself in the database
//! with SQL. The CSV carries the same figures as the JSON; the PDF is read back by poppler
//! (`pdftoppm` renders every page to PNG, `pdfinfo` and `pdftotext`); a role without
//! `report.oversight` is refused, naming the rule.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use common::lfw::{enrol, identities, lfw_file};
use common::{Backend, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Row;

const CASE: &str = "2026-019-000101";

// ------------------------------------------------------------------ seeding through the API

fn data_dir() -> PathBuf {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    assert!(
        base.join("faces").join("lfw").is_dir() && base.join("camera").is_dir(),
        "test data missing in {}: set PROBITY_TEST_DATA to the shared data folder",
        base.display()
    );
    base
}

async fn multipart(
    srv: &TestServer,
    c: &reqwest::Client,
    path: &str,
    form: Form,
) -> (StatusCode, Value) {
    let r = c
        .post(format!("{}{path}", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// det.rivera submits a request for `use_` with image 1 of `name`; its id.
async fn submit(srv: &TestServer, name: &str, use_: &str) -> String {
    let rivera = srv.login("det.rivera").await;
    let form = Form::new()
        .text("authorized_use", use_.to_string())
        .part(
            "still_0",
            Part::bytes(lfw_file(name, 1)).file_name("still.jpg"),
        )
        .text("source_0", "cctv");
    let (s, b) = multipart(
        srv,
        &rivera,
        &format!("/api/cases/{CASE}/fr-requests"),
        form,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    b["id"].as_str().expect("id").to_string()
}

/// A request through the search to a negative report.
async fn negative_request(srv: &TestServer, name: &str) {
    let id = submit(srv, name, "suspect").await;
    let chen = srv.login("fri.chen").await;
    let haddad = srv.login("sgt.haddad").await;
    let base = format!("/api/fr/requests/{id}");
    for (c, step, body) in [
        (&chen, "confirm-basis", json!({})),
        (
            &chen,
            "quality",
            json!({"selected_probe": 0, "suitable": true, "reasons": ["one frontal face"]}),
        ),
        (
            &haddad,
            "discussion",
            json!({"note": "suspect in a robbery on CCTV; use (1) discussed"}),
        ),
        (&chen, "search", json!({})),
        (&chen, "identification", json!({"comparisons": []})),
    ] {
        let (s, b) = srv.post(c, &format!("{base}/{step}"), body).await;
        assert_eq!(s, StatusCode::OK, "{step}: {b}");
    }
}

async fn upload_evidence(srv: &TestServer, c: &reqwest::Client, file: &str) -> String {
    let p = data_dir().join("camera").join(file);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    let form = Form::new()
        .text("purpose", "crime_scene")
        .text("basis_kind", "no_reasonable_expectation_of_privacy")
        .part("file", Part::bytes(bytes).file_name(file.to_string()));
    let (s, b) = multipart(srv, c, &format!("/api/cases/{CASE}/evidence"), form).await;
    assert!(s.is_success(), "upload {file}: {s} {b}");
    b["files"][0]["item_id"]
        .as_str()
        .expect("item id")
        .to_string()
}

async fn ok(srv: &TestServer, c: &reqwest::Client, path: &str, body: Value) -> Value {
    let (s, b) = srv.post(c, path, body).await;
    assert!(s.is_success(), "{path}: {s} {b}");
    b
}

/// Activity of every kind the report counts, through the API.
async fn seed(srv: &TestServer) {
    let ids = identities(3);
    enrol(srv, &ids).await;
    negative_request(srv, &ids[0]).await;
    submit(srv, &ids[1], "missing_person_victim_or_witness").await;

    let chen = srv.login("fri.chen").await;
    ok(
        srv,
        &chen,
        "/api/fr/external-requests",
        json!({"agency": "Demo County Sheriff", "contact": "Det. Demo Ray",
               "investigation_reference": "DCS-2026-118", "active_criminal_investigation": true,
               "purpose": "criminal_investigation"}),
    )
    .await;

    // Camera intake, and a disclosure of it approved by the Agency Privacy Officer.
    let rivera = srv.login("det.rivera").await;
    let item = upload_evidence(srv, &rivera, "apple_iphone4.jpg").await;
    let d = ok(
        srv,
        &rivera,
        &format!("/api/cases/{CASE}/disclosures"),
        json!({
            "recipient_kind": "law_enforcement_agency",
            "recipient_name": "Det. Dana Smith",
            "recipient_affiliation": "Nassau County Police Department",
            "purpose": "criminal_investigation",
            "basis": "criminal_investigation",
            "basis_reference": "NCPD 2026-0044 (burglary pattern)",
            "identity_confirmation": "called back on the NCPD main switchboard",
            "items": [item],
        }),
    )
    .await;
    let did = d["id"].as_str().expect("disclosure id");
    let apo = srv.login("apo.singh").await;
    ok(
        srv,
        &apo,
        &format!("/api/disclosures/{did}/approve"),
        json!({}),
    )
    .await;

    // Breaches: one suspected and left, one recorded and reported to the CPO in time.
    ok(
        srv,
        &rivera,
        "/api/breaches/suspected",
        json!({"description": "a printout of an FR report left on a train"}),
    )
    .await;
    let b = ok(
        srv,
        &apo,
        "/api/breaches",
        json!({"kind": "misdirected", "what_disclosed": "An arrest report",
               "disclosed_to": "A newsroom", "discovered_at": srv.state.clock.now().to_rfc3339()}),
    )
    .await;
    let bid = b["id"].as_str().expect("breach id");
    ok(
        srv,
        &apo,
        &format!("/api/breaches/{bid}/cpo-report"),
        json!({"method": "telephone", "note": "duty officer"}),
    )
    .await;

    // A legal hold on the case.
    ok(
        srv,
        &apo,
        "/api/holds",
        json!({"subject_kind": "case", "subject": CASE,
               "matter": "Doe v. City of New York", "reason": "notice of claim"}),
    )
    .await;

    // A thermal deployment.
    let moreau = srv.login("lt.moreau").await;
    ok(
        srv,
        &moreau,
        "/api/thermal/authorizations",
        json!({"source": "handheld-07", "source_kind": "handheld", "basis": "exigent_emergency",
               "risks_to_personnel": "none", "risks_to_civilians": "none expected",
               "risks_to_suspects": "none", "legitimate_purpose": "search of a collapsed building",
               "duration_minutes": 60}),
    )
    .await;

    // A FOIL request from the public form.
    ok(
        srv,
        &common::client(),
        "/api/foil/public-requests",
        json!({"requester": "A. Resident", "contact": "resident@example.org",
               "description": "Body camera footage of my arrest"}),
    )
    .await;

    // Training and access changes; an evaluation record of the active algorithm (FR-23).
    let admin = srv.login("admin").await;
    let (_, algorithms) = srv.get(&admin, "/api/fr/algorithms").await;
    let active = algorithms["active"]
        .as_str()
        .unwrap_or_else(|| panic!("no active algorithm in {algorithms}"))
        .to_string();
    ok(
        srv,
        &admin,
        &format!("/api/fr/algorithms/{active}/evaluation"),
        json!({
            "figures": {"verification_accuracy": 0.9863, "tar_at_far": 0.81, "far": 0.001,
                        "rank1": 0.80, "fnir_at_fpir": 0.20, "fpir": 0.003,
                        "roc": [[0.0001, 0.62], [0.001, 0.81], [0.01, 0.93], [0.1, 0.985], [1.0, 1.0]]},
            "groups": [
                {"group": "group A", "verification_accuracy": 0.99, "pairs": 400},
                {"group": "group B", "verification_accuracy": 0.97, "pairs": 380}
            ],
            "dataset": "LFW View 2 folds 1-5 with group labels",
            "command": "probity eval --labels groups.csv",
        }),
    )
    .await;
    ok(
        srv,
        &admin,
        "/api/users/det.okafor/training",
        json!({"course": "thermographic_cameras", "completed": Utc::now().date_naive()}),
    )
    .await;
    ok(
        srv,
        &admin,
        "/api/users/det.okafor/deactivate",
        json!({"reason": "suspended pending investigation"}),
    )
    .await;
}

// ------------------------------------------------------------------ counting in the database

async fn connect(srv: &TestServer) -> sqlx::AnyConnection {
    sqlx::any::install_default_drivers();
    let url = match &srv.database_url {
        Some(u) => u.clone(),
        None => format!("sqlite://{}", srv.dir.path().join("probity.db").display()),
    };
    <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
        .await
        .expect("raw connection")
}

type Figures = BTreeMap<(String, String), BTreeMap<String, i64>>;

/// A bound parameter: unix milliseconds or a date as text.
#[derive(Clone)]
enum P {
    Ms(i64),
    Day(String),
}

/// Runs `sql` (selecting `k` and `n`, with the period as `$1`, `$2`) and adds its rows to the
/// figure `section`/`figure`.
async fn add_sql(
    conn: &mut sqlx::AnyConnection,
    out: &mut Figures,
    section: &str,
    figure: &str,
    sql: &str,
    period: (P, P),
) {
    let mut q = sqlx::query(sql);
    for p in [period.0, period.1] {
        q = match p {
            P::Ms(v) => q.bind(v),
            P::Day(v) => q.bind(v),
        };
    }
    let rows = q
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{section}/{figure}: {e}\n{sql}"));
    let f = out
        .entry((section.to_string(), figure.to_string()))
        .or_default();
    for r in rows {
        let k: Option<String> = r.try_get("k").expect("k");
        let n: i64 = r.try_get("n").expect("n");
        *f.entry(k.unwrap_or_else(|| "(none)".into())).or_default() += n;
    }
}

fn fig<'a>(figures: &'a Figures, section: &str, figure: &str) -> &'a BTreeMap<String, i64> {
    figures
        .get(&(section.to_string(), figure.to_string()))
        .unwrap_or_else(|| panic!("no figure {section}/{figure}"))
}

fn add(out: &mut Figures, section: &str, figure: &str, key: &str, n: i64) {
    *out.entry((section.to_string(), figure.to_string()))
        .or_default()
        .entry(key.to_string())
        .or_default() += n;
}

/// Every figure of the report, counted by the test itself from the database.
async fn count_directly(srv: &TestServer, from: DateTime<Utc>, to: DateTime<Utc>) -> Figures {
    let mut c = connect(srv).await;
    let (f, t) = (from.timestamp_millis(), to.timestamp_millis());
    let (fd, td) = (from.date_naive().to_string(), to.date_naive().to_string());
    let mut out = Figures::new();
    let none = |col: &str| format!("COALESCE(NULLIF({col}, ''), '(none)')");
    let q: Vec<(&str, &str, String)> = vec![
        (
            "fr_requests",
            "requests",
            "SELECT 'all' AS k, COUNT(*) AS n FROM fr_requests \
             WHERE created_at >= $1 AND created_at < $2"
                .into(),
        ),
        (
            "fr_requests",
            "requests_by_use_and_outcome",
            format!(
                "SELECT {} || ' / ' || CASE state WHEN 'approved_possible_match' THEN \
                 'possible_match' WHEN 'negative' THEN 'negative' ELSE 'open' END AS k, \
                 COUNT(*) AS n FROM fr_requests WHERE created_at >= $1 AND created_at < $2 \
                 GROUP BY 1",
                none("authorized_use")
            ),
        ),
        (
            "fr_requests",
            "reports_by_kind",
            "SELECT kind AS k, COUNT(*) AS n FROM fr_reports \
             WHERE created_at >= $1 AND created_at < $2 GROUP BY kind"
                .into(),
        ),
        (
            "fr_requests",
            "requests_for_outside_agencies",
            "SELECT 'all' AS k, COUNT(*) AS n FROM fr_requests \
             WHERE external_id IS NOT NULL AND created_at >= $1 AND created_at < $2"
                .into(),
        ),
        (
            "outside_agencies",
            "documented",
            "SELECT 'all' AS k, COUNT(*) AS n FROM fr_external_requests \
             WHERE received_at >= $1 AND received_at < $2"
                .into(),
        ),
        (
            "outside_agencies",
            "by_agency_and_purpose",
            format!(
                "SELECT {} || ' / ' || {} AS k, COUNT(*) AS n FROM fr_external_requests \
                 WHERE received_at >= $1 AND received_at < $2 GROUP BY 1",
                none("agency"),
                none("purpose")
            ),
        ),
        (
            "disclosures",
            "by_basis",
            format!(
                "SELECT {} AS k, COUNT(*) AS n FROM disclosures \
                 WHERE proposed_at >= $1 AND proposed_at < $2 GROUP BY 1",
                none("basis")
            ),
        ),
        (
            "disclosures",
            "by_status",
            "SELECT status AS k, COUNT(*) AS n FROM disclosures \
             WHERE proposed_at >= $1 AND proposed_at < $2 GROUP BY status"
                .into(),
        ),
        (
            "breaches",
            "by_status",
            "SELECT status AS k, COUNT(*) AS n FROM breaches \
             WHERE raised_at >= $1 AND raised_at < $2 GROUP BY status"
                .into(),
        ),
        (
            "breaches",
            "recorded_by_kind",
            format!(
                "SELECT {} AS k, COUNT(*) AS n FROM breaches WHERE status = 'recorded' \
                 AND raised_at >= $1 AND raised_at < $2 GROUP BY 1",
                none("kind")
            ),
        ),
        (
            "breaches",
            "timeliness",
            "SELECT CASE WHEN cpo_reported_at IS NOT NULL AND \
             cpo_reported_at - discovered_at <= 86400000 THEN 'reported_within_24_hours' \
             WHEN cpo_reported_at IS NOT NULL THEN 'reported_late' \
             ELSE 'not_reported_clock_running' END AS k, COUNT(*) AS n FROM breaches \
             WHERE status = 'recorded' AND raised_at >= $1 AND raised_at < $2 GROUP BY 1"
                .into(),
        ),
        (
            "breaches",
            "notification_decisions",
            "SELECT COALESCE(notification_decision, 'undecided') AS k, COUNT(*) AS n \
             FROM breaches WHERE status = 'recorded' AND raised_at >= $1 AND raised_at < $2 \
             GROUP BY 1"
                .into(),
        ),
        (
            "dispositions",
            "proposed_by_rule",
            "SELECT rule AS k, COUNT(*) AS n FROM dispositions \
             WHERE proposed_at >= $1 AND proposed_at < $2 GROUP BY rule"
                .into(),
        ),
        (
            "dispositions",
            "decided_by_rule_and_status",
            "SELECT rule || ' / ' || status AS k, COUNT(*) AS n FROM dispositions \
             WHERE decided_at >= $1 AND decided_at < $2 GROUP BY 1"
                .into(),
        ),
        (
            "dispositions",
            "objects_destroyed_by_rule",
            "SELECT rule AS k, COUNT(*) AS n FROM disposition_certificates \
             WHERE executed_at >= $1 AND executed_at < $2 GROUP BY rule"
                .into(),
        ),
        (
            "legal_holds",
            "placed_by_record_kind",
            "SELECT subject_kind AS k, COUNT(*) AS n FROM legal_holds \
             WHERE placed_at >= $1 AND placed_at < $2 GROUP BY subject_kind"
                .into(),
        ),
        (
            "legal_holds",
            "released",
            "SELECT 'all' AS k, COUNT(*) AS n FROM legal_holds \
             WHERE released_at >= $1 AND released_at < $2"
                .into(),
        ),
        (
            "legal_holds",
            "in_force_at_end",
            "SELECT 'all' AS k, COUNT(*) AS n FROM legal_holds \
             WHERE $1 < $2 AND placed_at < $2 AND (released_at IS NULL OR released_at >= $2)"
                .into(),
        ),
        (
            "thermal",
            "by_basis",
            "SELECT basis AS k, COUNT(*) AS n FROM thermal_authorizations \
             WHERE starts_at >= $1 AND starts_at < $2 GROUP BY basis"
                .into(),
        ),
        (
            "thermal",
            "by_source_kind",
            "SELECT source_kind AS k, COUNT(*) AS n FROM thermal_authorizations \
             WHERE starts_at >= $1 AND starts_at < $2 GROUP BY source_kind"
                .into(),
        ),
        (
            "training_and_access",
            "training_completed_by_course",
            "SELECT course AS k, COUNT(*) AS n FROM training_records \
             WHERE completed_at >= $1 AND completed_at < $2 GROUP BY course"
                .into(),
        ),
        (
            "training_and_access",
            "training_revoked_by_course",
            "SELECT course AS k, COUNT(*) AS n FROM training_records \
             WHERE revoked_at >= $1 AND revoked_at < $2 GROUP BY course"
                .into(),
        ),
        (
            "training_and_access",
            "access_changes",
            "SELECT 'accounts_created' AS k, COUNT(*) AS n FROM users \
             WHERE created_at >= $1 AND created_at < $2"
                .into(),
        ),
        (
            "training_and_access",
            "access_changes",
            "SELECT 'accounts_deactivated' AS k, COUNT(*) AS n FROM users \
             WHERE deactivated_at >= $1 AND deactivated_at < $2"
                .into(),
        ),
        (
            "training_and_access",
            "access_changes",
            "SELECT 'roles_granted' AS k, COUNT(*) AS n FROM user_roles \
             WHERE granted_at >= $1 AND granted_at < $2"
                .into(),
        ),
        (
            "training_and_access",
            "access_changes",
            "SELECT 'assignments_created' AS k, COUNT(*) AS n FROM assignments \
             WHERE created_at >= $1 AND created_at < $2"
                .into(),
        ),
        (
            "training_and_access",
            "access_changes",
            "SELECT 'assignments_ended_with_reason' AS k, COUNT(*) AS n FROM assignments \
             WHERE end_reason IS NOT NULL AND ends_at >= $1 AND ends_at < $2"
                .into(),
        ),
    ];
    for (section, figure, sql) in &q {
        add_sql(&mut c, &mut out, section, figure, sql, (P::Ms(f), P::Ms(t))).await;
    }
    // FOIL keeps its dates as text (YYYY-MM-DD).
    add_sql(
        &mut c,
        &mut out,
        "foil",
        "received_by_channel",
        "SELECT channel AS k, COUNT(*) AS n FROM foil_requests \
         WHERE received_on >= $1 AND received_on < $2 GROUP BY channel",
        (P::Day(fd.clone()), P::Day(td.clone())),
    )
    .await;
    add_sql(
        &mut c,
        &mut out,
        "foil",
        "by_outcome",
        "SELECT COALESCE(outcome, 'undecided') AS k, COUNT(*) AS n FROM foil_requests \
         WHERE received_on >= $1 AND received_on < $2 GROUP BY 1",
        (P::Day(fd.clone()), P::Day(td.clone())),
    )
    .await;
    let rows = sqlx::query(
        "SELECT received_on, acknowledged_on, decision_by, decided_on FROM foil_requests \
         WHERE received_on >= $1 AND received_on < $2",
    )
    .bind(fd.clone())
    .bind(td.clone())
    .fetch_all(&mut c)
    .await
    .expect("foil rows");
    let day =
        |s: Option<String>| s.and_then(|s| chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok());
    for r in rows {
        let received = day(r.get("received_on")).expect("received_on");
        let ack = day(r.get("acknowledged_on"));
        let by = day(r.get("decision_by"));
        let decided = day(r.get("decided_on"));
        let a = match ack {
            Some(a) if a <= probity_domain::foil::acknowledge_by(received) => {
                "acknowledged_in_time"
            }
            Some(_) => "acknowledged_late",
            None => "not_acknowledged",
        };
        add(&mut out, "foil", "acknowledgement_deadline", a, 1);
        let d = match (by, decided) {
            (Some(by), Some(on)) if on > by => "decided_late",
            (_, Some(_)) => "decided_by_the_date_given",
            (_, None) => "not_decided",
        };
        add(&mut out, "foil", "decision_deadline", d, 1);
    }
    add_sql(
        &mut c,
        &mut out,
        "foil",
        "appeals",
        "SELECT CASE WHEN decided_on IS NULL THEN 'not_decided' \
         WHEN decided_on <= decide_by THEN 'decided_in_time' ELSE 'decided_late' END AS k, \
         COUNT(*) AS n FROM foil_appeals WHERE received_on >= $1 AND received_on < $2 GROUP BY 1",
        (P::Day(fd), P::Day(td)),
    )
    .await;

    // Camera intake keeps the purpose and legal basis of capture as JSON: counted by name.
    for (figure, table, column, time, field) in [
        (
            "intakes_by_purpose",
            "evidence_intakes",
            "purpose",
            "started_at",
            "purpose",
        ),
        (
            "intakes_by_legal_basis",
            "evidence_intakes",
            "legal_basis",
            "started_at",
            "kind",
        ),
        (
            "files_by_purpose",
            "evidence_items",
            "purpose",
            "imported_at",
            "purpose",
        ),
    ] {
        let rows = sqlx::query(&format!(
            "SELECT {column} AS v FROM {table} WHERE {time} >= $1 AND {time} < $2"
        ))
        .bind(f)
        .bind(t)
        .fetch_all(&mut c)
        .await
        .expect("camera rows");
        for r in rows {
            let v: String = r.get("v");
            let parsed: Value = serde_json::from_str(&v).expect("capture json");
            let name = parsed[field].as_str().expect("name").to_string();
            add(&mut out, "cameras", figure, &name, 1);
        }
    }

    // The active algorithm and the latest evaluation record of each version (FR-23).
    let row = sqlx::query("SELECT active FROM fr_algorithm_state")
        .fetch_one(&mut c)
        .await
        .expect("active algorithm");
    let active: String = row.get("active");
    add(&mut out, "algorithm", "active_algorithm", &active, 1);
    let rows = sqlx::query(
        "SELECT algorithm, verification_accuracy, tar_at_far, rank1, fnir_at_fpir, \
         group_differential, group_figures, figures FROM fr_algorithm_evaluations e \
         WHERE recorded_at = (SELECT MAX(recorded_at) FROM fr_algorithm_evaluations x \
         WHERE x.algorithm = e.algorithm)",
    )
    .fetch_all(&mut c)
    .await
    .expect("evaluations");
    for r in rows {
        let a: String = r.get("algorithm");
        for name in [
            "verification_accuracy",
            "tar_at_far",
            "rank1",
            "fnir_at_fpir",
            "group_differential",
        ] {
            let v: Option<f64> = r.get(name);
            if let Some(v) = v {
                let key = format!("{a} / {name}");
                add(
                    &mut out,
                    "algorithm",
                    "evaluation",
                    &key,
                    (v * 10_000.0).round() as i64,
                );
            }
        }
        let figures: String = r.get("figures");
        let figures: Value = serde_json::from_str(&figures).expect("figures");
        for point in figures["roc"].as_array().cloned().unwrap_or_default() {
            let far = point[0].as_f64().expect("far");
            let tar = point[1].as_f64().expect("tar");
            add(
                &mut out,
                "algorithm",
                "roc",
                &format!("{a} / {far:.6}"),
                (tar * 10_000.0).round() as i64,
            );
        }
        let groups: String = r.get("group_figures");
        let groups: Value = serde_json::from_str(&groups).expect("group figures");
        for g in groups.as_array().cloned().unwrap_or_default() {
            let name = g["group"].as_str().expect("group");
            let acc = g["verification_accuracy"]
                .as_f64()
                .or_else(|| g["accuracy"].as_f64())
                .expect("group accuracy");
            let key = format!("{a} / {name}");
            add(
                &mut out,
                "algorithm",
                "evaluation_by_group",
                &key,
                (acc * 10_000.0).round() as i64,
            );
        }
    }

    // The FR workflow record (JSON in fr_requests.data): months, stays in each state, approvals,
    // unforeseen uses and the algorithm each search ran on.
    let rows = sqlx::query(
        "SELECT created_at, data FROM fr_requests WHERE created_at >= $1 AND created_at < $2",
    )
    .bind(f)
    .bind(t)
    .fetch_all(&mut c)
    .await
    .expect("fr rows");
    for r in rows {
        let created: i64 = r.get("created_at");
        let month = DateTime::from_timestamp_millis(created)
            .expect("time")
            .format("%Y-%m")
            .to_string();
        add(&mut out, "fr_requests", "requests_by_month", &month, 1);
        let data: String = r.get("data");
        let v: Value = serde_json::from_str(&data).expect("request json");
        let history = v["history"].as_array().cloned().unwrap_or_default();
        for pair in history.windows(2) {
            let at = |x: &Value| {
                DateTime::parse_from_rfc3339(x["at"].as_str().expect("at")).expect("rfc3339")
            };
            let secs = (at(&pair[1]) - at(&pair[0])).num_seconds().max(0);
            let state = pair[0]["to"].as_str().expect("state");
            add(&mut out, "fr_workflow", "stays_by_state", state, 1);
            let max = out
                .entry(("fr_workflow".into(), "max_seconds_by_state".into()))
                .or_default()
                .entry(state.to_string())
                .or_default();
            *max = (*max).max(secs);
        }
        let approvals = v["outside_repository_approvals"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !approvals.is_empty() {
            add(
                &mut out,
                "fr_approvals",
                "outside_repository_requests_approved",
                "all",
                1,
            );
        }
        for a in approvals {
            let role = a["role"].as_str().expect("role");
            add(
                &mut out,
                "fr_approvals",
                "outside_repository_approvals_by_official",
                role,
                1,
            );
        }
        if v["search"]["outside_repository"] == json!(true) {
            add(
                &mut out,
                "fr_approvals",
                "outside_repository_searches",
                "all",
                1,
            );
        }
        if !v["unforeseen_use"].is_null() {
            add(&mut out, "fr_approvals", "unforeseen_uses", "requested", 1);
        }
        if let Some(version) = v["search"]["algorithm_version"].as_str() {
            add(
                &mut out,
                "algorithm",
                "searches_by_algorithm_version",
                version,
                1,
            );
        }
    }
    out
}

// ------------------------------------------------------------------ the report read back

fn report_values(report: &Value) -> Figures {
    let mut out = Figures::new();
    for s in report["sections"].as_array().expect("sections") {
        let sk = s["key"].as_str().expect("section key");
        for f in s["figures"].as_array().expect("figures") {
            let fk = f["key"].as_str().expect("figure key");
            let e = out.entry((sk.to_string(), fk.to_string())).or_default();
            for v in f["values"].as_array().expect("values") {
                let key = v["key"].as_str().expect("key").to_string();
                assert!(
                    e.insert(key.clone(), v["value"].as_i64().expect("value"))
                        .is_none(),
                    "{sk}/{fk}: key {key} twice"
                );
            }
        }
    }
    out
}

fn period(srv: &TestServer) -> (DateTime<Utc>, DateTime<Utc>, String) {
    let today = srv.state.clock.now().date_naive();
    let from = today - Duration::days(1);
    let to = today + Duration::days(2);
    let at = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    (at(from), at(to), format!("from={from}&to={to}"))
}

async fn get_bytes(srv: &TestServer, c: &reqwest::Client, path: &str) -> (StatusCode, Vec<u8>) {
    let r = c
        .get(format!("{}{path}", srv.url))
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.bytes().await.expect("body").to_vec())
}

/// OVR-03: each figure of the report equals the count the test makes in the database, the CSV
/// holds the same figures, and each generation is audited.
async fn ovr_03_report_figures_match_database_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed(&srv).await;
    let (from, to, query) = period(&srv);
    let iab = srv.login("iab.walsh").await;
    let (s, report) = srv
        .get(&iab, &format!("/api/oversight/report?{query}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["from"], from.date_naive().to_string());
    assert_eq!(report["to"], to.date_naive().to_string());
    assert_eq!(report["rule"], "OVR-03.oversight-reports", "{report}");

    let got = report_values(&report);
    let want = count_directly(&srv, from, to).await;
    // Every figure the test counted is in the report, with the same value; every value of the
    // report not counted by the test is zero (a breakdown listed for completeness).
    for ((section, figure), values) in &want {
        let g = got
            .get(&(section.clone(), figure.clone()))
            .unwrap_or_else(|| panic!("the report has no figure {section}/{figure}"));
        for (k, n) in values {
            assert_eq!(
                g.get(k).copied().unwrap_or(0),
                *n,
                "{section}/{figure}/{k}: report {g:?}, database {values:?}"
            );
        }
    }
    let unchecked = [
        ("fr_workflow", "median_seconds_by_state"),
        ("fr_workflow", "p90_seconds_by_state"),
        ("fr_workflow", "stays_by_state_and_duration"),
        ("fr_approvals", "unforeseen_uses"),
    ];
    for ((section, figure), values) in &got {
        if unchecked.contains(&(section.as_str(), figure.as_str())) {
            continue;
        }
        let w = want.get(&(section.clone(), figure.clone()));
        for (k, n) in values {
            let counted = w.and_then(|w| w.get(k)).copied().unwrap_or(0);
            assert_eq!(
                *n, counted,
                "{section}/{figure}/{k}: the database has {counted}"
            );
        }
    }
    // The distribution adds up to the stays; medians and 90th percentiles lie within the range.
    let stays = fig(&got, "fr_workflow", "stays_by_state");
    let buckets = fig(&got, "fr_workflow", "stays_by_state_and_duration");
    let maxes = fig(&got, "fr_workflow", "max_seconds_by_state");
    let p90s = fig(&got, "fr_workflow", "p90_seconds_by_state");
    let medians = fig(&got, "fr_workflow", "median_seconds_by_state");
    for (state, n) in stays {
        let in_buckets: i64 = buckets
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{state} / ")))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(in_buckets, *n, "{state}");
        let (median, p90, max) = (medians[state], p90s[state], maxes[state]);
        assert!(median <= p90 && p90 <= max, "{state}: {median} {p90} {max}");
    }
    // Not vacuous: the seeded activity is in the figures.
    let at = |s: &str, f: &str, k: &str| fig(&got, s, f).get(k).copied().unwrap_or(0);
    assert_eq!(at("fr_requests", "requests", "all"), 2);
    assert_eq!(
        at(
            "fr_requests",
            "requests_by_use_and_outcome",
            "suspect / negative"
        ),
        1
    );
    assert_eq!(
        at(
            "fr_requests",
            "requests_by_use_and_outcome",
            "missing_person_victim_or_witness / open"
        ),
        1
    );
    assert_eq!(at("fr_requests", "reports_by_kind", "negative"), 1);
    assert_eq!(
        at(
            "outside_agencies",
            "by_agency_and_purpose",
            "Demo County Sheriff / criminal_investigation"
        ),
        1
    );
    assert_eq!(at("disclosures", "by_basis", "criminal_investigation"), 1);
    assert_eq!(at("disclosures", "by_status", "approved"), 1);
    assert_eq!(at("breaches", "by_status", "suspected"), 1);
    assert_eq!(at("breaches", "timeliness", "reported_within_24_hours"), 1);
    assert_eq!(at("legal_holds", "placed_by_record_kind", "case"), 1);
    assert_eq!(at("legal_holds", "in_force_at_end", "all"), 1);
    assert_eq!(at("thermal", "by_basis", "exigent_emergency"), 1);
    assert_eq!(at("cameras", "intakes_by_purpose", "crime_scene"), 1);
    assert_eq!(
        fig(&got, "foil", "received_by_channel")
            .values()
            .sum::<i64>(),
        1
    );
    assert_eq!(
        at("foil", "acknowledgement_deadline", "not_acknowledged"),
        1
    );
    assert!(
        at(
            "training_and_access",
            "training_completed_by_course",
            "thermographic_cameras"
        ) >= 1
    );
    assert_eq!(
        at(
            "training_and_access",
            "access_changes",
            "accounts_deactivated"
        ),
        1
    );
    assert_eq!(at("fr_workflow", "stays_by_state", "submitted"), 1);
    assert_eq!(
        fig(&got, "algorithm", "searches_by_algorithm_version")
            .values()
            .sum::<i64>(),
        1
    );

    assert_eq!(
        fig(&got, "algorithm", "evaluation")
            .iter()
            .find(|(k, _)| k.ends_with(" / verification_accuracy"))
            .map(|(_, v)| *v),
        Some(9863)
    );
    assert_eq!(fig(&got, "algorithm", "evaluation_by_group").len(), 2);

    // The CSV: the same figures, one row each.
    let (s, csv) = get_bytes(&srv, &iab, &format!("/api/oversight/report.csv?{query}")).await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).expect("utf-8");
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some("section,figure,breakdown,value"));
    let mut from_csv = Figures::new();
    for line in lines {
        let cells = parse_csv_line(line);
        assert_eq!(cells.len(), 4, "{line}");
        let n: i64 = cells[3]
            .parse()
            .unwrap_or_else(|_| panic!("value in {line}"));
        from_csv
            .entry((cells[0].clone(), cells[1].clone()))
            .or_default()
            .insert(cells[2].clone(), n);
    }
    let with_values: Figures = got
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(from_csv, with_values, "the CSV holds the JSON's figures");

    // Every generation is in the audit trail with its period and format.
    let record = format!("{}..{}", from.date_naive(), to.date_naive());
    let entries = srv.audit_of("oversight_report", &record).await;
    let formats: Vec<String> = entries
        .iter()
        .filter(|e| e.action == "report.oversight" && e.actor == "user:iab.walsh")
        .filter_map(|e| {
            serde_json::from_str::<Value>(&e.detail).ok()?["format"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(formats, vec!["json".to_string(), "csv".to_string()]);
}
both!(
    ovr_03_report_figures_match_database,
    super::ovr_03_report_figures_match_database_body
);

/// RFC 4180 fields of one line.
fn parse_csv_line(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') => quoted = true,
            (false, ',') => out.push(std::mem::take(&mut cell)),
            (_, c) => cell.push(c),
        }
    }
    out.push(cell);
    out
}

// ------------------------------------------------------------------ PDF

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!(
            "{tool} could not be run ({e}): install the Debian package poppler-utils \
             (scripts/setup.d/base.apt; run scripts/setup)"
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{tool} failed: {stderr}");
    assert!(stderr.trim().is_empty(), "{tool} complained: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// OVR-03: the report PDF is rendered page by page to PNG by `pdftoppm`: as many images as the
/// document has pages, a title page and the contents, each section starting on a page of its own
/// in order, numbered pages, the charts' labels and the figures readable by `pdftotext`.
async fn ovr_03_report_pdf_renders_every_page_body(backend: Backend) {
    let srv = common::start(backend).await;
    seed(&srv).await;
    let (_, _, query) = period(&srv);
    let chief = srv.login("iab.walsh").await;
    let (s, json) = srv
        .get(&chief, &format!("/api/oversight/report?{query}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{json}");
    let (s, pdf) = get_bytes(&srv, &chief, &format!("/api/oversight/report.pdf?{query}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).expect("write");
    let file_s = file.to_string_lossy().to_string();

    let info = poppler("pdfinfo", &[&file_s]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo gives no page count: {info}"));
    let sections: Vec<(String, String)> = json["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| {
            (
                s["title"].as_str().expect("title").to_string(),
                s["rules"].as_str().expect("rules").to_string(),
            )
        })
        .collect();

    let pngs = dir.path().join("page");
    poppler(
        "pdftoppm",
        &["-png", "-r", "30", &file_s, &pngs.to_string_lossy()],
    );
    let rendered = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".png"))
        .count();
    assert_eq!(rendered, pages, "pdftoppm renders every page");

    // A title page, the contents, then each section on a page of its own, in order.
    let page_text = |p: usize| {
        let p = p.to_string();
        poppler(
            "pdftotext",
            &["-f", &p, "-l", &p, "-enc", "UTF-8", &file_s, "-"],
        )
    };
    assert!(page_text(1).contains("Annual oversight report"));
    let contents = page_text(2);
    assert!(
        contents.lines().any(|l| l.trim() == "Contents"),
        "{contents}"
    );
    let mut last_page = 2;
    for (title, rules) in &sections {
        assert!(
            contents.contains(title.as_str()),
            "the contents list {title}"
        );
        let page = (last_page + 1..=pages)
            .find(|p| {
                let text = page_text(*p);
                text.lines().any(|l| l.trim() == title) && text.contains(rules.as_str())
            })
            .unwrap_or_else(|| panic!("section {title} not found after page {last_page}"));
        last_page = page;
    }
    assert!(
        pages >= sections.len() + 2,
        "{pages} pages for a title page, the contents and {} sections",
        sections.len()
    );
    let text = poppler("pdftotext", &["-enc", "UTF-8", &file_s, "-"]);
    let last_footer = format!("page {pages} of {pages}");
    for want in [
        "Annual oversight report",
        last_footer.as_str(),
        "suspect / negative",
        "Demo County Sheriff / criminal_investigation",
        "reported_within_24_hours",
        "exigent_emergency",
        "FR requests by month",
        "Time in each workflow state",
        "ROC curve (verification)",
        "false accept rate",
    ] {
        assert!(text.contains(want), "pdftotext finds no {want:?}");
    }
}
both!(
    ovr_03_report_pdf_renders_every_page,
    super::ovr_03_report_pdf_renders_every_page_body
);

/// OVR-03: only the roles the pack names generate the report; anyone else is refused naming
/// the rule, and a bad period is refused naming OVR-03. The page shows the figures and links.
async fn ovr_03_report_refused_without_report_oversight_body(backend: Backend) {
    let srv = common::start(backend).await;
    let (_, _, query) = period(&srv);
    let rivera = srv.login("det.rivera").await;
    for path in [
        format!("/api/oversight/report?{query}"),
        format!("/api/oversight/report.csv?{query}"),
        format!("/api/oversight/report.pdf?{query}"),
    ] {
        let (s, b) = srv.get(&rivera, &path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {b}");
    }
    let (s, _) = srv
        .get(&common::client(), &format!("/api/oversight/report?{query}"))
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, page) = get_bytes(&srv, &rivera, "/").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !String::from_utf8_lossy(&page).contains(">Oversight report</a>"),
        "no navigation link without report.oversight"
    );

    let apo = srv.login("apo.singh").await;
    let (s, b) = srv
        .get(&apo, "/api/oversight/report?from=2026-02-01&to=2026-01-01")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(
        b["detail"].as_str().unwrap_or_default().contains("OVR-03"),
        "{b}"
    );
    let (s, b) = srv.get(&apo, "/api/oversight/report").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");

    let (s, html) = get_bytes(&srv, &apo, &format!("/oversight?{query}")).await;
    assert_eq!(s, StatusCode::OK);
    let html = String::from_utf8_lossy(&html);
    assert!(
        html.contains(">Oversight report</a>"),
        "the navigation links the page"
    );
    assert!(html.contains("id=\"section-fr_requests\""));
    let (from, to) = query.split_once('&').expect("two parameters");
    for link in ["/api/oversight/report.pdf", "/api/oversight/report.csv"] {
        assert!(
            html.contains(&format!("{link}?{from}&amp;{to}")),
            "the page links {link} for the period"
        );
    }
}
both!(
    ovr_03_report_refused_without_report_oversight,
    super::ovr_03_report_refused_without_report_oversight_body
);
