//! The retention schedule over decades, as a property of the running server (RET-01..RET-08,
//! RET-11). Random case histories (classification, closure day, the "located" or "recovered"
//! event, the child's or juvenile's date of birth, legal holds placed and released) are played
//! through the HTTP API on a simulated clock that moves forward in whole days. At every day
//! something happens, and on the day before, of and after each date the schedule should give,
//! the records officer proposes every live case of the history for disposition and the records
//! manager approves what was proposed. The properties:
//!
//! - nothing is ever disposed before the date an independent reading of the rules gives;
//! - nothing held is ever disposed;
//! - every disposition has a certificate signed by the server key, naming the rule and date;
//! - every due, unheld record is in the due queue and is disposed on the first run that tries.
//!
//! The clock is `AppState::clock`, which only code in the server's process can move. The
//! number of histories per backend is `PROBITY_RETENTION_PROPTEST_CASES` (default 24); a larger
//! campaign is the same test with a larger number.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine;
use chrono::{Duration, Months, NaiveDate, Utc};
use common::{Backend, TestServer};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{json, Value};

const OFFICER: &str = "rec.lopez";
const MANAGER: &str = "rm.adeyemi";
const INVESTIGATOR: &str = "det.rivera";
const LEGAL: &str = "apo.singh";

/// How a classification is kept, read from REQUIREMENTS.md (not from the pack).
#[derive(Debug, Clone, Copy)]
enum Kept {
    Permanent,
    UntilLocated,
    UntilRecovered,
    YearsAfterClosure(u32),
    /// Until the child is 55 (RET-06).
    YearsAfterChildBirth(u32),
    /// One year after the juvenile turns 18 (RET-08).
    YearsAfterJuvenileBirth(u32),
}

const CLASSES: &[(&str, &str, Kept)] = &[
    ("homicide", "RET-01", Kept::Permanent),
    ("active_warrant", "RET-01", Kept::Permanent),
    ("missing_person", "RET-01", Kept::UntilLocated),
    ("stolen_or_missing_firearm", "RET-01", Kept::UntilRecovered),
    ("arson_4", "RET-02", Kept::YearsAfterClosure(10)),
    ("non_fatal", "RET-02", Kept::YearsAfterClosure(10)),
    ("other_felony", "RET-03", Kept::YearsAfterClosure(25)),
    ("misdemeanor", "RET-04", Kept::YearsAfterClosure(5)),
    (
        "violation_or_traffic_infraction",
        "RET-05",
        Kept::YearsAfterClosure(1),
    ),
    (
        "child_victims_act_offence",
        "RET-06",
        Kept::YearsAfterChildBirth(55),
    ),
    ("no_offence_by_adult", "RET-07", Kept::YearsAfterClosure(5)),
    (
        "juvenile_no_arrest_or_no_offence",
        "RET-08",
        Kept::YearsAfterJuvenileBirth(18 + 1),
    ),
];

#[derive(Debug, Clone)]
struct CaseHistory {
    class: usize,
    /// Simulated day the case is closed.
    closes_on: u32,
    /// Days after closure the person is located or the firearm recovered (None: never).
    event_after: Option<u32>,
    /// Date of birth of the child or juvenile, in days before closure (None: never recorded).
    born_days_before: Option<u32>,
    /// A legal hold: placed so many days after closure, released so many days later (None:
    /// never released).
    hold: Option<(u32, Option<u32>)>,
}

#[derive(Debug, Clone)]
struct History {
    cases: Vec<CaseHistory>,
    /// Extra days on which the whole history is checked.
    checks: Vec<u32>,
}

fn case_history() -> impl Strategy<Value = CaseHistory> {
    (
        0..CLASSES.len(),
        0u32..3_000,
        proptest::option::weighted(0.7, 0u32..9_000),
        proptest::option::weighted(0.8, 0u32..22_000),
        proptest::option::weighted(
            0.4,
            (0u32..12_000, proptest::option::weighted(0.7, 1u32..12_000)),
        ),
    )
        .prop_map(
            |(class, closes_on, event_after, born_days_before, hold)| CaseHistory {
                class,
                closes_on,
                event_after,
                born_days_before,
                hold,
            },
        )
}

fn history() -> impl Strategy<Value = History> {
    (
        proptest::collection::vec(case_history(), 1..5),
        proptest::collection::vec(0u32..30_000, 0..4),
    )
        .prop_map(|(cases, checks)| History { cases, checks })
}

fn plus_years(d: NaiveDate, years: u32) -> NaiveDate {
    d.checked_add_months(Months::new(years * 12))
        .expect("date in range")
}

fn day(base: NaiveDate, n: u32) -> NaiveDate {
    base + Duration::days(i64::from(n))
}

/// The date the rules give for a case, independently of the server: None while it is kept.
fn oracle_due(h: &CaseHistory, base: NaiveDate, today: u32) -> Option<NaiveDate> {
    let closed = day(base, h.closes_on);
    let event = h
        .event_after
        .map(|e| h.closes_on + e)
        .filter(|e| *e <= today)
        .map(|e| day(base, e));
    let born = h
        .born_days_before
        .map(|b| closed - Duration::days(i64::from(b)));
    match CLASSES[h.class].2 {
        Kept::Permanent => None,
        Kept::UntilLocated | Kept::UntilRecovered => event,
        Kept::YearsAfterClosure(y) => Some(plus_years(closed, y)),
        Kept::YearsAfterChildBirth(y) | Kept::YearsAfterJuvenileBirth(y) => {
            born.map(|b| plus_years(b, y))
        }
    }
}

fn held(h: &CaseHistory, today: u32) -> bool {
    h.hold.is_some_and(|(after, lasts)| {
        let placed = h.closes_on + after;
        placed <= today && lasts.is_none_or(|l| today < placed + l)
    })
}

static NEXT_CASE: AtomicU32 = AtomicU32::new(700_000);

struct Clients {
    officer: reqwest::Client,
    manager: reqwest::Client,
    investigator: reqwest::Client,
    legal: reqwest::Client,
}

/// Moves the server's clock to noon of `date` (forward only within a history).
fn set_clock(srv: &TestServer, date: NaiveDate) {
    let target = date.and_hms_opt(12, 0, 0).expect("noon").and_utc();
    let now = srv.state.clock.now();
    assert!(
        target >= now,
        "within a history the clock only moves forward"
    );
    srv.state.clock.advance(target - now);
}

fn rule(b: &Value) -> &str {
    b["rule"].as_str().unwrap_or_default()
}

async fn play(srv: &TestServer, c: &Clients, h: History) -> Result<(), TestCaseError> {
    // Each history starts on the day after today, at noon: the clock is back at the system time
    // (histories are independent; the cases of earlier ones are not looked at again).
    srv.state.clock.reset();
    let base = srv.state.clock.now().date_naive() + Duration::days(1);
    let numbers: Vec<String> = h
        .cases
        .iter()
        .map(|_| format!("2026-019-{:06}", NEXT_CASE.fetch_add(1, Ordering::SeqCst)))
        .collect();
    for (n, ch) in numbers.iter().zip(&h.cases) {
        let (s, b) = srv
            .post(
                &c.investigator,
                "/api/cases",
                json!({ "case_number": n, "offence_classification": CLASSES[ch.class].0,
                        "assigned_investigator": INVESTIGATOR }),
            )
            .await;
        prop_assert_eq!(s, StatusCode::CREATED, "create {}: {}", n, b);
    }

    // The days to look at: every action, and the day before, of and after each date due.
    let mut days: BTreeSet<u32> = h.checks.iter().copied().collect();
    for ch in &h.cases {
        days.insert(ch.closes_on);
        if let Some(e) = ch.event_after {
            days.insert(ch.closes_on + e);
        }
        if let Some((after, lasts)) = ch.hold {
            days.insert(ch.closes_on + after);
            if let Some(l) = lasts {
                days.insert(ch.closes_on + after + l);
            }
        }
        let horizon = u32::MAX / 2;
        if let Some(due) = oracle_due(ch, base, horizon) {
            let d = u32::try_from((due - base).num_days().max(0)).unwrap_or(0);
            for x in [d.saturating_sub(1), d, d + 1] {
                days.insert(x.max(ch.closes_on));
            }
        }
    }

    let mut disposed: BTreeMap<usize, NaiveDate> = BTreeMap::new();
    let mut holds: BTreeMap<usize, String> = BTreeMap::new();
    for today in days {
        let date = day(base, today);
        set_clock(srv, date);
        // What happens today, in order: closure, facts, holds.
        for (i, ch) in h.cases.iter().enumerate() {
            let n = &numbers[i];
            if ch.closes_on == today {
                let (s, b) = srv
                    .post(
                        &c.investigator,
                        &format!("/api/cases/{n}/close"),
                        json!({ "closure_reason": "no_arrest",
                                "final_classification": CLASSES[ch.class].0 }),
                    )
                    .await;
                prop_assert!(s.is_success(), "close {}: {} {}", n, s, b);
                if let Some(before) = ch.born_days_before {
                    let born = (date - Duration::days(i64::from(before))).to_string();
                    let field = match CLASSES[ch.class].2 {
                        Kept::YearsAfterJuvenileBirth(_) => "juvenile_date_of_birth",
                        _ => "child_date_of_birth",
                    };
                    if matches!(
                        CLASSES[ch.class].2,
                        Kept::YearsAfterChildBirth(_) | Kept::YearsAfterJuvenileBirth(_)
                    ) {
                        let (s, b) = srv
                            .put(
                                &c.investigator,
                                &format!("/api/cases/{n}/retention-facts"),
                                json!({ field: born, "reason": "from the complaint report" }),
                            )
                            .await;
                        prop_assert_eq!(s, StatusCode::OK, "facts {}: {}", n, b);
                    }
                }
            }
            if ch.event_after.map(|e| ch.closes_on + e) == Some(today) && !disposed.contains_key(&i)
            {
                let field = match CLASSES[ch.class].2 {
                    Kept::UntilRecovered => Some("firearm_recovered_on"),
                    Kept::UntilLocated => Some("person_located_on"),
                    _ => None,
                };
                if let Some(field) = field {
                    let (s, b) = srv
                        .put(
                            &c.investigator,
                            &format!("/api/cases/{n}/retention-facts"),
                            json!({ field: date.to_string(), "reason": "reported today" }),
                        )
                        .await;
                    prop_assert_eq!(s, StatusCode::OK, "event {}: {}", n, b);
                }
            }
            if let Some((after, lasts)) = ch.hold {
                if ch.closes_on + after == today && !disposed.contains_key(&i) {
                    let (s, b) = srv
                        .post(
                            &c.legal,
                            "/api/holds",
                            json!({ "subject_kind": "case", "subject": n,
                                    "matter": format!("Matter {n}"), "reason": "litigation" }),
                        )
                        .await;
                    prop_assert_eq!(s, StatusCode::CREATED, "hold {}: {}", n, b);
                    holds.insert(i, b["id"].as_str().unwrap_or_default().to_string());
                }
                if lasts.map(|l| ch.closes_on + after + l) == Some(today) {
                    if let Some(id) = holds.remove(&i) {
                        let (s, b) = srv
                            .post(
                                &c.legal,
                                &format!("/api/holds/{id}/release"),
                                json!({ "reason": "matter settled" }),
                            )
                            .await;
                        prop_assert_eq!(s, StatusCode::OK, "release {}: {}", n, b);
                    }
                }
            }
        }

        // The due queue holds exactly the closed cases whose date has come (held or not).
        let (s, due) = srv.get(&c.officer, "/api/retention/due").await;
        prop_assert_eq!(s, StatusCode::OK, "{}", due);
        let in_queue: BTreeSet<String> = due
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["record_id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for (i, ch) in h.cases.iter().enumerate() {
            let n = &numbers[i];
            let closed = ch.closes_on <= today;
            let due_on = oracle_due(ch, base, today);
            let is_due = closed && due_on.is_some_and(|d| d <= date) && !disposed.contains_key(&i);
            prop_assert_eq!(
                in_queue.contains(n),
                is_due,
                "day {} ({}): case {} {:?} due on {:?}, disposed {:?}",
                today,
                date,
                n,
                ch,
                due_on,
                disposed.get(&i)
            );
            if !closed || disposed.contains_key(&i) {
                continue;
            }
            // The records officer proposes every live closed case, every time.
            let (s, p) = srv
                .post(
                    &c.officer,
                    "/api/dispositions",
                    json!({ "record_kind": "case", "record_id": n, "reason": "schedule" }),
                )
                .await;
            let on_hold = held(ch, today);
            if !is_due || on_hold {
                prop_assert!(
                    s == StatusCode::CONFLICT || s == StatusCode::UNPROCESSABLE_ENTITY,
                    "day {} ({}): case {} {:?} (due {:?}, held {}) was proposed: {} {}",
                    today,
                    date,
                    n,
                    ch,
                    due_on,
                    on_hold,
                    s,
                    p
                );
                let expected = if on_hold && is_due {
                    "RET-11"
                } else {
                    CLASSES[ch.class].1
                };
                prop_assert!(
                    rule(&p) == expected || (on_hold && rule(&p) == "RET-11"),
                    "case {} refused under {:?}, expected {}: {}",
                    n,
                    rule(&p),
                    expected,
                    p
                );
                continue;
            }
            prop_assert_eq!(
                s,
                StatusCode::CREATED,
                "day {}: propose {}: {}",
                today,
                n,
                p
            );
            let id = p["id"].as_str().unwrap_or_default().to_string();
            let (s, a) = srv
                .post(
                    &c.manager,
                    &format!("/api/dispositions/{id}/approve"),
                    json!({}),
                )
                .await;
            prop_assert_eq!(s, StatusCode::OK, "approve {}: {}", n, a);
            prop_assert_eq!(&a["status"], "executed", "{}", a);
            let (s, env) = srv
                .get(&c.manager, &format!("/api/dispositions/{id}/certificate"))
                .await;
            prop_assert_eq!(s, StatusCode::OK, "{}", env);
            let cert = &env["certificate"];
            let sig = base64::engine::general_purpose::STANDARD
                .decode(env["signature"].as_str().unwrap_or_default())
                .map_err(|e| TestCaseError::fail(format!("signature: {e}")))?;
            prop_assert!(
                srv.state
                    .store
                    .server_keys()
                    .verify(&probity_server::records::canonical_bytes(cert), &sig),
                "certificate of {} does not verify: {}",
                n,
                env
            );
            prop_assert_eq!(&cert["record_id"], n.as_str());
            prop_assert_eq!(&cert["rule_id"], CLASSES[ch.class].1);
            let want = due_on.map(|d| d.to_string()).unwrap_or_default();
            prop_assert_eq!(cert["due_on"].as_str(), Some(want.as_str()), "{}", cert);
            disposed.insert(i, date);
        }
    }
    Ok(())
}

fn histories() -> u32 {
    std::env::var("PROBITY_RETENTION_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

fn ret_schedule_over_decades(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(common::start(backend));
    let clients = rt.block_on(async {
        Clients {
            officer: srv.login(OFFICER).await,
            manager: srv.login(MANAGER).await,
            investigator: srv.login(INVESTIGATOR).await,
            legal: srv.login(LEGAL).await,
        }
    });
    let mut runner = TestRunner::new(Config {
        cases: histories(),
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    let started = Utc::now();
    let outcome = runner.run(&history(), |h| rt.block_on(play(&srv, &clients, h)));
    if let Err(e) = outcome {
        panic!("{e}");
    }
    // The audit trail of all those years still verifies.
    let iab = rt.block_on(srv.login("iab.walsh"));
    let (s, v) = rt.block_on(srv.get(&iab, "/api/audit/verify"));
    assert_eq!(s, StatusCode::OK, "the audit chain verifies: {v}");
    eprintln!(
        "{} histories in {} s, the clock now at {}",
        histories(),
        (Utc::now() - started).num_seconds(),
        srv.state.clock.now().date_naive()
    );
}

mod ret_11_simulated_clock_never_disposes_early_or_held {
    #[test]
    fn sqlite() {
        super::ret_schedule_over_decades(super::Backend::Sqlite);
    }
    #[test]
    fn postgres() {
        super::ret_schedule_over_decades(super::Backend::Postgres);
    }
}
