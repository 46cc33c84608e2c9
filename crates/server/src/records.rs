//! The records lifecycle (RET-01..RET-11) through the API and the web UI: the retention facts of
//! a case, personal information files, the schedule of every record, the queue of records due
//! for disposition, and dispositions proposed by one person and approved by another.
//!
//! The rules are the domain's ([`probity_domain::retention`]): the schedule comes from the
//! policy pack in force ([`AppState::schedule`]); [`probity_domain::may_dispose_due`] decides
//! whether a record may go (a legal hold in force always wins); [`probity_domain::check_approval`]
//! keeps the proposer from approving; [`DispositionCertificate::issue`] checks it all once more.
//! Executing a disposition crypto-shreds every blob of the record, tombstones its rows, stores
//! the signed certificate and appends the audit entry in one transaction: after a crash the
//! record is either wholly disposed with its certificate or wholly intact.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use probity_domain::cases::{Case as DomainCase, CaseNumber, ClosureReason};
use probity_domain::{
    check_approval, due, may_dispose_due, retention_for, retention_for_personal_file,
    CertifiedItem, CommandCode, DispositionCertificate, Due, LegalHold, OffenceClassification,
    PersonalFileSubject, RetentionFacts, RetentionRuleId, RetentionSchedule, UserId,
};
use probity_store::records::{self as rstore, ClosedCase};
use probity_store::{audit, blobs::Disposition as BlobDisposition, holds as hstore, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::PUT,
        "/api/cases/{case}/retention-facts",
        Access::on_case("retention.facts.record"),
        "Record the facts the retention schedule needs: person located, firearm recovered or destroyed, dates of birth, final disposition (RET-01, RET-06, RET-08)",
        put(facts_api),
    )
    .add(
        M::POST,
        "/cases/{case}/retention-facts",
        Access::on_case("retention.facts.record"),
        "Record retention facts (form)",
        post(facts_form),
    )
    .add(
        M::GET,
        "/api/retention/schedule",
        Access::action("retention.read"),
        "Every record's earliest disposition date and the rule that sets it (RET-01..RET-10)",
        get(schedule_api),
    )
    .add(
        M::GET,
        "/api/retention/due",
        Access::action("retention.read"),
        "Records due for disposition today: rule, due date, legal hold status, open proposal (RET-11)",
        get(due_api),
    )
    .add(
        M::GET,
        "/api/dispositions",
        Access::action("retention.read"),
        "Dispositions, proposed, rejected and executed (RET-11)",
        get(list_api),
    )
    .add(
        M::POST,
        "/api/dispositions",
        Access::action("retention.dispose"),
        "Propose the disposition of a record that is due (RET-11)",
        post(propose_api),
    )
    .add(
        M::GET,
        "/api/dispositions/{disposition}",
        Access::action("retention.read"),
        "One disposition (RET-11)",
        get(get_api),
    )
    .add(
        M::POST,
        "/api/dispositions/{disposition}/approve",
        Access::action("retention.approve"),
        "Approve and execute a disposition another person proposed: content destroyed, certificate issued (RET-11)",
        post(approve_api),
    )
    .add(
        M::POST,
        "/api/dispositions/{disposition}/reject",
        Access::action("retention.approve"),
        "Reject a proposed disposition, with a reason (RET-11)",
        post(reject_api),
    )
    .add(
        M::GET,
        "/api/dispositions/{disposition}/certificate",
        Access::action("retention.read"),
        "The signed disposition certificate (JSON), verifiable with `probity disposition verify` (RET-11)",
        get(certificate_api),
    )
    .add(
        M::GET,
        "/dispositions/{disposition}/certificate.pdf",
        Access::action("retention.read"),
        "The disposition certificate as PDF (RET-11)",
        get(certificate_pdf),
    )
    .add(
        M::GET,
        "/api/personal-files",
        Access::action("personal_file.manage"),
        "Personal information files on criminals, suspects and associated persons (RET-09)",
        get(personal_files_api),
    )
    .add(
        M::POST,
        "/api/personal-files",
        Access::action("personal_file.manage"),
        "Open a personal information file (RET-09)",
        post(new_personal_file_api),
    )
    .add(
        M::GET,
        "/personal-files",
        Access::action("personal_file.manage"),
        "Personal information files with their retention (page, RET-09)",
        get(personal_files_page),
    )
    .add(
        M::POST,
        "/personal-files",
        Access::action("personal_file.manage"),
        "Open a personal information file (form)",
        post(personal_file_form),
    )
    .add(
        M::GET,
        "/records",
        Access::action("retention.read"),
        "Records due for disposition, proposals and certificates (page)",
        get(records_page),
    )
    .add(
        M::POST,
        "/records/propose",
        Access::action("retention.dispose"),
        "Propose a disposition (form)",
        post(propose_form),
    )
    .add(
        M::POST,
        "/records/dispositions/{disposition}/approve",
        Access::action("retention.approve"),
        "Approve and execute a disposition (form)",
        post(approve_form),
    )
    .add(
        M::POST,
        "/records/dispositions/{disposition}/reject",
        Access::action("retention.approve"),
        "Reject a disposition (form)",
        post(reject_form),
    )
}

// ------------------------------------------------------------------ views and inputs

/// The facts to record on a case; a field left out keeps its value, an empty string clears it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct FactsInput {
    /// The missing person was located on (YYYY-MM-DD).
    pub person_located_on: Option<String>,
    /// The firearm was recovered or destroyed on (YYYY-MM-DD).
    pub firearm_recovered_on: Option<String>,
    /// The child victim's date of birth (RET-06).
    pub child_date_of_birth: Option<String>,
    /// The juvenile's date of birth (RET-08).
    pub juvenile_date_of_birth: Option<String>,
    /// The final disposition of the case, in words.
    pub final_disposition: Option<String>,
    /// Why the facts are recorded or changed (audited).
    #[serde(default)]
    pub reason: String,
}

/// One record on the schedule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleEntry {
    /// `case` or `personal_file`.
    pub record_kind: String,
    /// The case number or the personal file id.
    pub record_id: String,
    pub what: String,
    /// The rule that sets the date (RET-01..RET-09).
    pub rule: String,
    /// `never` (permanent), `on` (a date), `awaiting_event`, or `missing_fact`.
    pub due: String,
    pub due_on: Option<String>,
    /// The event awaited, or the fact missing, in words.
    pub note: Option<String>,
    /// The legal hold in force, in words, if any (RET-11).
    pub held_by: Option<String>,
    /// The open proposal, if any.
    pub proposal: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DueQuery {
    /// The date to compute for (YYYY-MM-DD); default today.
    pub on: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ProposeInput {
    /// `case` or `personal_file`.
    pub record_kind: String,
    /// The case number or the personal file id.
    pub record_id: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DecideInput {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DispositionView {
    pub id: String,
    pub record_kind: String,
    pub record_id: String,
    pub what: String,
    pub rule: String,
    pub due_on: String,
    /// `proposed`, `rejected` or `executed`.
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: String,
    pub proposal_reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    /// Number of items destroyed (executed only).
    pub items_destroyed: Option<usize>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PersonalFileInput {
    /// `criminal_or_suspect` or `associated_person`.
    pub subject_kind: String,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub date_of_death: Option<String>,
    pub last_arrest_on: Option<String>,
    /// The case the file belongs to (required for an associated person).
    pub case_number: Option<String>,
    pub notes: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PersonalFileView {
    pub id: String,
    pub subject_kind: String,
    pub name: Option<String>,
    pub date_of_birth: Option<String>,
    pub date_of_death: Option<String>,
    pub last_arrest_on: Option<String>,
    pub case_id: Option<String>,
    pub disposed_at: Option<String>,
}

fn pf_view(f: &rstore::PersonalFile) -> PersonalFileView {
    PersonalFileView {
        id: f.id.to_string(),
        subject_kind: f.subject_kind.clone(),
        name: f.name.clone(),
        date_of_birth: f.date_of_birth.clone(),
        date_of_death: f.date_of_death.clone(),
        last_arrest_on: f.last_arrest_on.clone(),
        case_id: f.case_id.map(|c| c.to_string()),
        disposed_at: f.disposed_at.map(|t| t.to_rfc3339()),
    }
}

fn view(d: &rstore::Disposition) -> DispositionView {
    let items = d
        .certificate
        .as_deref()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        .and_then(|v| v["certificate"]["items"].as_array().map(|a| a.len()));
    DispositionView {
        id: d.id.to_string(),
        record_kind: d.record_kind.clone(),
        record_id: d.record_id.clone(),
        what: d.what.clone(),
        rule: d.rule.clone(),
        due_on: d.due_on.clone(),
        status: d.status.clone(),
        proposed_by: d.proposed_by.clone(),
        proposed_at: d.proposed_at.to_rfc3339(),
        proposal_reason: d.proposal_reason.clone(),
        decided_by: d.decided_by.clone(),
        decided_at: d.decided_at.map(|t| t.to_rfc3339()),
        decision_reason: d.decision_reason.clone(),
        items_destroyed: items,
    }
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn parse_date(field: &'static str, raw: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_field(field, format!("{raw:?} is not a date (YYYY-MM-DD)")))
}

fn opt_date(field: &'static str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => parse_date(field, d).map(Some),
    }
}

// ------------------------------------------------------------------ the schedule

/// Legal holds in force, indexed by (kind, reference), loaded once per computation.
struct HoldIndex {
    by_subject: HashMap<(String, String), Vec<hstore::Hold>>,
}

impl HoldIndex {
    async fn load(tx: &mut Tx) -> Result<HoldIndex, ApiError> {
        let holds = hstore::list(
            tx,
            &hstore::Filter {
                status: hstore::Status::Active,
                limit: 1_000_000,
                ..Default::default()
            },
        )
        .await
        .map_err(se)?;
        let mut by_subject: HashMap<(String, String), Vec<hstore::Hold>> = HashMap::new();
        for h in holds {
            by_subject
                .entry((h.subject_kind.clone(), h.subject_ref.to_lowercase()))
                .or_default()
                .push(h);
        }
        Ok(HoldIndex { by_subject })
    }

    fn on(&self, kind: &str, reference: &str) -> Vec<LegalHold> {
        self.by_subject
            .get(&(kind.to_string(), reference.trim().to_lowercase()))
            .map(|v| v.iter().map(crate::holds::legal_hold).collect())
            .unwrap_or_default()
    }
}

fn domain_closed_case(c: &ClosedCase) -> Result<DomainCase, String> {
    let number = CaseNumber::parse(&c.case_number).map_err(|e| e.to_string())?;
    let offence =
        OffenceClassification::from_str(&c.offence_classification).map_err(|e| e.to_string())?;
    let command = CommandCode::parse(&c.command).map_err(|e| e.to_string())?;
    let reason = c
        .closure_reason
        .as_deref()
        .map(ClosureReason::from_str)
        .transpose()
        .map_err(|e| e.to_string())?
        .ok_or("closed without a closure reason")?;
    DomainCase::open(number, offence, command, None, false, c.opened_at)
        .close(reason, offence, UserId(Uuid::nil()), c.closed_at)
        .map_err(|e| e.to_string())
}

fn facts_of(c: &ClosedCase) -> RetentionFacts {
    let d = |s: &Option<String>| {
        s.as_deref()
            .and_then(|x| NaiveDate::parse_from_str(x, "%Y-%m-%d").ok())
    };
    RetentionFacts {
        child_date_of_birth: d(&c.facts.child_date_of_birth),
        juvenile_date_of_birth: d(&c.facts.juvenile_date_of_birth),
        person_located_on: d(&c.facts.person_located_on),
        firearm_recovered_on: d(&c.facts.firearm_recovered_on),
    }
}

/// A record's place on the schedule: its rule and [`Due`], or the fact it lacks.
#[derive(Clone)]
struct Computed {
    rule: String,
    due: Result<Due, String>,
}

fn compute_case(schedule: &RetentionSchedule, c: &ClosedCase) -> Computed {
    let facts = facts_of(c);
    match domain_closed_case(c)
        .and_then(|dc| retention_for(schedule, &dc, &facts).map_err(|e| e.to_string()))
    {
        Ok(rule) => Computed {
            rule: rule.rule_id.as_str().to_string(),
            due: Ok(due(&rule, &facts.events())),
        },
        Err(e) => Computed {
            rule: schedule
                .case_rule(
                    OffenceClassification::from_str(&c.offence_classification)
                        .unwrap_or(OffenceClassification::OtherFelony),
                )
                .map(|l| l.rule_id.as_str().to_string())
                .unwrap_or_else(|_| "RET".into()),
            due: Err(e),
        },
    }
}

fn personal_subject(f: &rstore::PersonalFile) -> Option<PersonalFileSubject> {
    let d = |s: &Option<String>| {
        s.as_deref()
            .and_then(|x| NaiveDate::parse_from_str(x, "%Y-%m-%d").ok())
    };
    match f.subject_kind.as_str() {
        "criminal_or_suspect" => Some(PersonalFileSubject::CriminalOrSuspect {
            date_of_birth: d(&f.date_of_birth),
            date_of_death: d(&f.date_of_death),
            last_arrest: d(&f.last_arrest_on),
        }),
        "associated_person" => Some(PersonalFileSubject::AssociatedPerson),
        _ => None,
    }
}

fn compute_personal(schedule: &RetentionSchedule, f: &rstore::PersonalFile) -> Computed {
    let rule = schedule.personal_files.rule_id.as_str().to_string();
    match personal_subject(f)
        .ok_or_else(|| format!("unknown subject kind {}", f.subject_kind))
        .and_then(|s| retention_for_personal_file(schedule, &s).map_err(|e| e.to_string()))
    {
        Ok(r) => Computed {
            rule,
            due: Ok(due(&r, &[])),
        },
        Err(e) => Computed { rule, due: Err(e) },
    }
}

fn entry(
    record_kind: &str,
    record_id: String,
    what: String,
    c: Computed,
    held: &[LegalHold],
    now: DateTime<Utc>,
    proposal: Option<String>,
) -> ScheduleEntry {
    let (due_kind, due_on, note) = match c.due {
        Ok(Due::Never) => ("never", None, Some("retained permanently".to_string())),
        Ok(Due::On(d)) => ("on", Some(d.to_string()), None),
        Ok(Due::AwaitingEvent(e)) => (
            "awaiting_event",
            None,
            Some(format!("kept until {}", e.as_str().replace('_', " "))),
        ),
        Err(e) => ("missing_fact", None, Some(e)),
    };
    ScheduleEntry {
        record_kind: record_kind.into(),
        record_id,
        what,
        rule: c.rule,
        due: due_kind.into(),
        due_on,
        note,
        held_by: held
            .iter()
            .find(|h| h.is_in_force(now))
            .map(|h| format!("{}: {}", h.reference, h.reason)),
        proposal,
    }
}

/// The schedule of every live record at `now` (closed cases and personal files on criminals and
/// suspects; open cases are kept while open, files on associated persons follow their case,
/// robot frames outside cases go by the scheduler's RET-10 run).
pub async fn compute_schedule(
    state: &AppState,
    tx: &mut Tx,
    now: DateTime<Utc>,
) -> Result<Vec<ScheduleEntry>, ApiError> {
    let schedule = state.schedule()?;
    let holds = HoldIndex::load(tx).await?;
    let open: HashMap<(String, String), String> = rstore::open_proposals(tx)
        .await
        .map_err(se)?
        .into_iter()
        .map(|d| ((d.record_kind, d.record_id), d.id.to_string()))
        .collect();
    let mut out = Vec::new();
    for c in rstore::closed_cases(tx).await.map_err(se)? {
        let held = holds.on("case", &c.case_number);
        let what = format!(
            "case {} ({}, closed {})",
            c.case_number,
            c.offence_classification.replace('_', " "),
            c.closed_at.date_naive()
        );
        let proposal = open
            .get(&("case".to_string(), c.case_number.clone()))
            .cloned();
        out.push(entry(
            "case",
            c.case_number.clone(),
            what,
            compute_case(schedule, &c),
            &held,
            now,
            proposal,
        ));
    }
    for f in rstore::personal_files(tx, true, 100_000)
        .await
        .map_err(se)?
    {
        if f.subject_kind != "criminal_or_suspect" {
            continue;
        }
        let mut held = holds.on("person", f.name.as_deref().unwrap_or_default());
        held.extend(holds.on("personal_file", &f.id.to_string()));
        let proposal = open
            .get(&("personal_file".to_string(), f.id.to_string()))
            .cloned();
        out.push(entry(
            "personal_file",
            f.id.to_string(),
            format!(
                "personal file on {}",
                f.name.as_deref().unwrap_or("(unnamed)")
            ),
            compute_personal(schedule, &f),
            &held,
            now,
            proposal,
        ));
    }
    Ok(out)
}

/// The records due at `now`: dated on or before today (held ones included, marked).
pub fn due_only(entries: Vec<ScheduleEntry>, now: DateTime<Utc>) -> Vec<ScheduleEntry> {
    // Compared as dates, not as text: past the year 9999 the text gains a sign and sorts first.
    let today = now.date_naive();
    let date = |e: &ScheduleEntry| {
        e.due_on
            .as_deref()
            .and_then(|d| NaiveDate::from_str(d).ok())
    };
    let mut due: Vec<(NaiveDate, ScheduleEntry)> = entries
        .into_iter()
        .filter_map(|e| date(&e).filter(|d| *d <= today).map(|d| (d, e)))
        .collect();
    due.sort_by(|(a, x), (b, y)| a.cmp(b).then(x.record_id.cmp(&y.record_id)));
    due.into_iter().map(|(_, e)| e).collect()
}

/// One record's current place on the schedule, inside the caller's transaction (the decision
/// to dispose is made on what is stored when it is made).
async fn one_entry(
    state: &AppState,
    tx: &mut Tx,
    record_kind: &str,
    record_id: &str,
    now: DateTime<Utc>,
) -> Result<
    (
        ScheduleEntry,
        Result<Due, String>,
        Vec<LegalHold>,
        RecordRef,
    ),
    ApiError,
> {
    let schedule = state.schedule()?;
    let holds = HoldIndex::load(tx).await?;
    match record_kind {
        "case" => {
            let stored = probity_store::cases::get_by_number(tx, record_id.trim())
                .await
                .map_err(se)?
                .ok_or_else(|| ApiError::not_found(format!("case {record_id}")))?;
            let c = rstore::closed_case_by_id(tx, stored.id)
                .await
                .map_err(se)?
                .ok_or_else(|| {
                    ApiError::conflict(format!(
                        "case {} is open or already disposed; retention is counted from closure",
                        stored.case_number
                    ))
                    .with_rule("RET")
                })?;
            let held = holds.on("case", &c.case_number);
            let what = format!(
                "case {} ({}, closed {})",
                c.case_number,
                c.offence_classification.replace('_', " "),
                c.closed_at.date_naive()
            );
            let computed = compute_case(schedule, &c);
            let due = computed.due.clone();
            let e = entry(
                "case",
                c.case_number.clone(),
                what,
                computed,
                &held,
                now,
                None,
            );
            Ok((e, due, held, RecordRef::Case(c.id)))
        }
        "personal_file" => {
            let id = Uuid::from_str(record_id.trim())
                .map_err(|_| ApiError::not_found(format!("personal file {record_id}")))?;
            let f = rstore::personal_file_by_id(tx, id)
                .await
                .map_err(se)?
                .filter(|f| f.disposed_at.is_none())
                .ok_or_else(|| ApiError::not_found(format!("personal file {record_id}")))?;
            if f.subject_kind != "criminal_or_suspect" {
                return Err(ApiError::conflict(
                    "a file on an associated person follows its case record and is disposed with it",
                )
                .with_rule("RET-09"));
            }
            let mut held = holds.on("person", f.name.as_deref().unwrap_or_default());
            held.extend(holds.on("personal_file", &f.id.to_string()));
            let computed = compute_personal(schedule, &f);
            let due = computed.due.clone();
            let e = entry(
                "personal_file",
                f.id.to_string(),
                format!(
                    "personal file on {}",
                    f.name.as_deref().unwrap_or("(unnamed)")
                ),
                computed,
                &held,
                now,
                None,
            );
            Ok((e, due, held, RecordRef::PersonalFile(f.id)))
        }
        other => Err(ApiError::bad_field(
            "record_kind",
            format!("{other:?} cannot be proposed: give case or personal_file"),
        )),
    }
}

enum RecordRef {
    Case(Uuid),
    PersonalFile(Uuid),
}

/// Whether the entry may be disposed at `now`, as the domain says.
fn check_due(
    e: &ScheduleEntry,
    due: &Result<Due, String>,
    holds: &[LegalHold],
    now: DateTime<Utc>,
) -> Result<NaiveDate, ApiError> {
    let d = match due {
        Ok(d) => *d,
        Err(missing) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing",
                format!("{} has no disposition date: {missing}", e.what),
            )
            .with_rule(e.rule.clone()))
        }
    };
    let rule = RetentionRuleId::from_str(&e.rule)
        .map_err(|err| ApiError::internal(format!("schedule rule {}: {err}", e.rule)))?;
    may_dispose_due(rule, d, holds, now).map_err(|err| {
        let rule = err.rule().unwrap_or("RET-11").to_string();
        ApiError::conflict(err.to_string()).with_rule(rule)
    })?;
    match d {
        Due::On(day) => Ok(day),
        _ => Err(ApiError::internal("a disposable record without a date")),
    }
}

// ------------------------------------------------------------------ operations

/// Records the retention facts of a case (RET-01, RET-06, RET-08), audited with before and after.
pub async fn record_facts(
    state: &AppState,
    auth: &Authorized,
    input: FactsInput,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, ApiError> {
    let case = auth
        .case
        .as_ref()
        .ok_or_else(|| ApiError::internal("the retention facts route decides on its case"))?;
    let case = &case.case;
    if input.reason.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "say why the facts are recorded (audited)",
        )
        .with_rule("RET")
        .with_missing(vec!["reason".into()]));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let before = rstore::facts(&mut tx, case.id)
        .await
        .map_err(se)?
        .unwrap_or_default();
    let merge = |new: &Option<String>, old: &Option<String>| match new.as_deref().map(str::trim) {
        None => old.clone(),
        Some("") => None,
        Some(v) => Some(v.to_string()),
    };
    let after = rstore::CaseFacts {
        person_located_on: merge(&input.person_located_on, &before.person_located_on),
        firearm_recovered_on: merge(&input.firearm_recovered_on, &before.firearm_recovered_on),
        child_date_of_birth: merge(&input.child_date_of_birth, &before.child_date_of_birth),
        juvenile_date_of_birth: merge(
            &input.juvenile_date_of_birth,
            &before.juvenile_date_of_birth,
        ),
        final_disposition: merge(&input.final_disposition, &before.final_disposition),
    };
    let facts = RetentionFacts {
        person_located_on: opt_date("person_located_on", after.person_located_on.as_deref())?,
        firearm_recovered_on: opt_date(
            "firearm_recovered_on",
            after.firearm_recovered_on.as_deref(),
        )?,
        child_date_of_birth: opt_date("child_date_of_birth", after.child_date_of_birth.as_deref())?,
        juvenile_date_of_birth: opt_date(
            "juvenile_date_of_birth",
            after.juvenile_date_of_birth.as_deref(),
        )?,
    };
    facts.check(now.date_naive()).map_err(crate::domain_error)?;
    rstore::put_facts(&mut tx, case.id, &after, auth.principal.user.id, now)
        .await
        .map_err(se)?;
    let show = |f: &rstore::CaseFacts| {
        serde_json::json!({
            "person_located_on": f.person_located_on,
            "firearm_recovered_on": f.firearm_recovered_on,
            "child_date_of_birth": f.child_date_of_birth,
            "juvenile_date_of_birth": f.juvenile_date_of_birth,
            "final_disposition": f.final_disposition,
        })
    };
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "retention.facts.record".into(),
            record_type: "case".into(),
            record_id: case.id.to_string(),
            reason: Some(input.reason.trim().to_string()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "case_number": case.case_number,
                "before": show(&before),
                "after": show(&after),
            }),
        },
    )
    .await
    .map_err(se)?;
    // The schedule is recomputed from the facts as they now stand.
    let schedule_entry = match rstore::closed_case_by_id(&mut tx, case.id)
        .await
        .map_err(se)?
    {
        Some(c) => {
            let holds = HoldIndex::load(&mut tx).await?;
            let held = holds.on("case", &c.case_number);
            Some(entry(
                "case",
                c.case_number.clone(),
                format!("case {}", c.case_number),
                compute_case(state.schedule()?, &c),
                &held,
                now,
                None,
            ))
        }
        None => None,
    };
    tx.commit().await.map_err(se)?;
    Ok(serde_json::json!({
        "case_number": case.case_number,
        "facts": show(&after),
        "schedule": schedule_entry,
    }))
}

/// Proposes a disposition (RET-11): the record must be due and not held now.
pub async fn propose(
    state: &AppState,
    auth: &Authorized,
    input: ProposeInput,
    now: DateTime<Utc>,
) -> Result<DispositionView, ApiError> {
    let decided_by = serde_json::json!(auth.rule);
    propose_by(
        state,
        &auth.principal.user.username,
        &auth.principal.actor(),
        decided_by,
        input,
        now,
    )
    .await
}

/// [`propose`] for a proposer already authorized by `rule` (the route's decision, or a
/// schedule's standing authority); `now` is explicit so a simulated clock can drive it.
pub async fn propose_by(
    state: &AppState,
    username: &str,
    actor: &str,
    rule: serde_json::Value,
    input: ProposeInput,
    now: DateTime<Utc>,
) -> Result<DispositionView, ApiError> {
    if input.reason.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "a proposal says why the record may go",
        )
        .with_rule("RET-11")
        .with_missing(vec!["reason".into()]));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let (e, due, holds, _) = one_entry(
        state,
        &mut tx,
        input.record_kind.trim(),
        &input.record_id,
        now,
    )
    .await?;
    let refused = check_due(&e, &due, &holds, now);
    let due_on = match refused {
        Ok(d) => d,
        Err(err) => {
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: actor.to_string(),
                    action: "retention.dispose.propose".into(),
                    record_type: e.record_kind.clone(),
                    record_id: e.record_id.clone(),
                    reason: Some(err.detail.clone()),
                    outcome: audit::Outcome::Denied,
                    detail: serde_json::json!({ "rule": err.rule }),
                },
            )
            .await
            .map_err(se)?;
            tx.commit().await.map_err(se)?;
            return Err(err);
        }
    };
    let d = rstore::Disposition {
        id: Uuid::now_v7(),
        record_kind: e.record_kind.clone(),
        record_id: e.record_id.clone(),
        what: e.what.clone(),
        rule: e.rule.clone(),
        due_on: due_on.to_string(),
        status: "proposed".into(),
        proposed_by: username.to_string(),
        proposed_at: now,
        proposal_reason: input.reason.trim().to_string(),
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        certificate: None,
        key_id: None,
        signature: None,
    };
    rstore::propose(&mut tx, &d)
        .await
        .map_err(|e| se(e).with_rule("RET-11"))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor.to_string(),
            action: "retention.dispose.propose".into(),
            record_type: "disposition".into(),
            record_id: d.id.to_string(),
            reason: Some(d.proposal_reason.clone()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule,
                "retention_rule": d.rule,
                "record_kind": d.record_kind,
                "record_id": d.record_id,
                "due_on": d.due_on,
            }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(view(&d))
}

fn disposition_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::from_str(raw.trim()).map_err(|_| ApiError::not_found(format!("disposition {raw}")))
}

/// The signed envelope of a certificate: the certificate, the key id and an Ed25519 signature
/// over the certificate's canonical JSON (keys sorted, no spaces).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedCertificate {
    #[schema(value_type = Object)]
    pub certificate: serde_json::Value,
    pub algorithm: String,
    pub key_id: String,
    /// Base64 Ed25519 signature of the canonical certificate JSON.
    pub signature: String,
}

/// The bytes a certificate's signature covers: its JSON with keys sorted and no spaces.
pub fn canonical_bytes(certificate: &serde_json::Value) -> Vec<u8> {
    // serde_json's map is a BTreeMap in this build (no preserve_order), so keys come out sorted.
    certificate.to_string().into_bytes()
}

/// Approves and executes a disposition (RET-11), in one transaction with its audit entry:
/// four eyes, due and not held at this moment, every blob crypto-shredded, rows tombstoned,
/// certificate signed and stored.
pub async fn approve(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: DecideInput,
    now: DateTime<Utc>,
) -> Result<DispositionView, ApiError> {
    let approver = auth.principal.user.username.clone();
    execute(
        state,
        &auth.principal.actor(),
        &approver,
        &approver,
        raw_id,
        input,
        now,
    )
    .await
}

/// Executes an open proposal with `approved_by` as approver and `executed_by` as executor.
pub async fn execute(
    state: &AppState,
    actor: &str,
    approved_by: &str,
    executed_by: &str,
    raw_id: &str,
    input: DecideInput,
    now: DateTime<Utc>,
) -> Result<DispositionView, ApiError> {
    let id = disposition_id(raw_id)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let d = rstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disposition {id}")))?;
    if d.status != "proposed" {
        return Err(ApiError::conflict(format!(
            "disposition {id} is {}, not an open proposal",
            d.status
        ))
        .with_rule("RET-11"));
    }
    let refusal = async {
        check_approval(&d.proposed_by, approved_by)
            .map_err(|e| ApiError::forbidden("RET-11".to_string(), e.to_string()))?;
        let (e, due, holds, record) =
            one_entry(state, &mut tx, &d.record_kind, &d.record_id, now).await?;
        let due_on = check_due(&e, &due, &holds, now)?;
        Ok::<_, ApiError>((e, holds, record, due_on))
    }
    .await;
    let (e, holds, record, due_on) = match refusal {
        Ok(x) => x,
        Err(err) => {
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: actor.to_string(),
                    action: "retention.dispose.approve".into(),
                    record_type: "disposition".into(),
                    record_id: id.to_string(),
                    reason: Some(err.detail.clone()),
                    outcome: audit::Outcome::Denied,
                    detail: serde_json::json!({ "rule": err.rule }),
                },
            )
            .await
            .map_err(se)?;
            tx.commit().await.map_err(se)?;
            return Err(err);
        }
    };
    // Destroy the content.
    let mut items = Vec::new();
    match record {
        RecordRef::Case(case_id) => {
            let blobs = rstore::case_blobs(&mut tx, case_id).await.map_err(se)?;
            for b in &blobs {
                state
                    .store
                    .blobs()
                    .destroy(
                        &mut tx,
                        b.blob_id,
                        &BlobDisposition {
                            what: format!("{} of {}", b.what, e.what),
                            reason: d.proposal_reason.clone(),
                            rule: d.rule.clone(),
                            approved_by: approved_by.to_string(),
                            executed_by: executed_by.to_string(),
                        },
                    )
                    .await
                    .map_err(se)?;
                items.push(CertifiedItem {
                    what: b.what.clone(),
                    sha256: b.sha256.clone(),
                });
            }
            rstore::tombstone_case(&mut tx, case_id, id, now)
                .await
                .map_err(se)?;
            // The FR requests of the case keep their workflow, not what they said of people.
            for r in probity_store::fr::requests_of_case(&mut tx, case_id)
                .await
                .map_err(se)?
            {
                let mut request: probity_domain::FrRequest = serde_json::from_str(&r.data)
                    .map_err(|e| {
                        ApiError::internal(format!(
                            "FR request {} of the case does not load ({e}); nothing was disposed",
                            r.id
                        ))
                    })?;
                request.redact_for_disposal();
                let data = serde_json::to_string(&request)
                    .map_err(|e| ApiError::internal(e.to_string()))?;
                probity_store::fr::update(
                    &mut tx,
                    r.id,
                    r.version,
                    &r.state,
                    r.authorized_use.as_deref(),
                    &data,
                    &r.edits,
                )
                .await
                .map_err(se)?;
            }
        }
        RecordRef::PersonalFile(file_id) => {
            rstore::tombstone_personal_file(&mut tx, file_id, id, now)
                .await
                .map_err(se)?;
        }
    }
    let rule = RetentionRuleId::from_str(&d.rule)
        .map_err(|err| ApiError::internal(format!("stored rule {}: {err}", d.rule)))?;
    let cert = DispositionCertificate::issue(
        &d.record_kind,
        &d.record_id,
        &d.what,
        rule,
        due_on,
        &holds,
        &d.proposed_by,
        approved_by,
        executed_by,
        items,
        now,
    )
    .map_err(crate::domain_error)?;
    let mut body = serde_json::to_value(&cert).map_err(ApiError::internal)?;
    body["disposition_id"] = serde_json::json!(id.to_string());
    body["proposal_reason"] = serde_json::json!(d.proposal_reason);
    body["policy_packs"] = serde_json::json!(state
        .engine()
        .packs()
        .iter()
        .map(|p| format!("{} {}", p.id, p.version))
        .collect::<Vec<_>>());
    let keys = state.store.server_keys();
    let signature =
        base64::engine::general_purpose::STANDARD.encode(keys.sign(&canonical_bytes(&body)));
    let envelope = SignedCertificate {
        certificate: body,
        algorithm: "ed25519".into(),
        key_id: keys.key_id().to_string(),
        signature: signature.clone(),
    };
    let text = serde_json::to_string(&envelope).map_err(ApiError::internal)?;
    let reason = Some(input.reason.trim()).filter(|r| !r.is_empty());
    rstore::decide(
        &mut tx,
        id,
        "executed",
        approved_by,
        now,
        reason,
        Some(&text),
        Some(keys.key_id()),
        Some(&signature),
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor.to_string(),
            action: "retention.dispose.execute".into(),
            record_type: d.record_kind.clone(),
            record_id: d.record_id.clone(),
            reason: Some(d.proposal_reason.clone()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": d.rule,
                "disposition": id.to_string(),
                "proposed_by": d.proposed_by,
                "approved_by": approved_by,
                "items": cert.items.len(),
            }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let done = rstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::internal("executed disposition vanished"))?;
    tx.commit().await.map_err(se)?;
    Ok(view(&done))
}

/// Rejects a proposal, with a reason (RET-11).
pub async fn reject(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: DecideInput,
    now: DateTime<Utc>,
) -> Result<DispositionView, ApiError> {
    let id = disposition_id(raw_id)?;
    if input.reason.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "a rejection says why",
        )
        .with_rule("RET-11")
        .with_missing(vec!["reason".into()]));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let who = auth.principal.user.username.clone();
    rstore::decide(
        &mut tx,
        id,
        "rejected",
        &who,
        now,
        Some(input.reason.trim()),
        None,
        None,
        None,
    )
    .await
    .map_err(|e| se(e).with_rule("RET-11"))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "retention.dispose.reject".into(),
            record_type: "disposition".into(),
            record_id: id.to_string(),
            reason: Some(input.reason.trim().to_string()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(se)?;
    let d = rstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disposition {id}")))?;
    tx.commit().await.map_err(se)?;
    Ok(view(&d))
}

async fn stored_certificate(state: &AppState, raw: &str) -> Result<SignedCertificate, ApiError> {
    let id = disposition_id(raw)?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let d = rstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disposition {id}")))?;
    tx.commit().await.map_err(se)?;
    let text = d.certificate.ok_or_else(|| {
        ApiError::conflict(format!(
            "disposition {id} is {}: a certificate exists once it is executed",
            d.status
        ))
        .with_rule("RET-11")
    })?;
    serde_json::from_str(&text).map_err(ApiError::internal)
}

/// The certificate as a PDF, through the shared document writer.
pub fn certificate_document(env: &SignedCertificate) -> Vec<u8> {
    let c = &env.certificate;
    let s = |k: &str| match &c[k] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        other => other.to_string(),
    };
    let mut doc = crate::pdf::Document::new("Disposition certificate");
    doc.subtitle("Records destroyed under the retention schedule (RET-11)")
        .field("Record", &s("what"))
        .field(
            "Record kind and id",
            &format!("{} {}", s("record_kind"), s("record_id")),
        )
        .field("Rule", &s("rule_id"))
        .field("Due on", &s("due_on"))
        .field("Proposed by", &s("proposed_by"))
        .field("Reason", &s("proposal_reason"))
        .field("Approved by", &s("approved_by"))
        .field("Executed by", &s("executed_by"))
        .field("Executed at", &s("executed_at"))
        .field("Disposition", &s("disposition_id"))
        .field("Policy packs", &s("policy_packs"));
    let rows: Vec<Vec<String>> = c["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| {
                    vec![
                        i["what"].as_str().unwrap_or_default().to_string(),
                        i["sha256"].as_str().unwrap_or_default().to_string(),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    doc.heading("Items destroyed (content crypto-shredded)");
    if rows.is_empty() {
        doc.paragraph("No stored content: the record's rows were emptied.");
    } else {
        doc.table(&["Item", "SHA-256"], &rows);
    }
    doc.heading("Signature")
        .field("Algorithm", &env.algorithm)
        .field("Key id", &env.key_id)
        .monospace(&env.signature)
        .paragraph(
            "Verify the JSON form with `probity disposition verify FILE --public-key KEY` \
             (the key GET /api/discovery/signing-key publishes).",
        );
    doc.render()
}

// ------------------------------------------------------------------ personal files

pub async fn new_personal_file(
    state: &AppState,
    auth: &Authorized,
    input: PersonalFileInput,
    now: DateTime<Utc>,
) -> Result<PersonalFileView, ApiError> {
    let kind = input.subject_kind.trim();
    if !matches!(kind, "criminal_or_suspect" | "associated_person") {
        return Err(ApiError::bad_field(
            "subject_kind",
            format!("{kind:?}: give criminal_or_suspect or associated_person"),
        )
        .with_rule("RET-09"));
    }
    if input.name.trim().is_empty() {
        return Err(
            ApiError::bad_field("name", "a personal file names its person").with_rule("RET-09"),
        );
    }
    let today = now.date_naive();
    let mut dates = Vec::new();
    for (field, raw) in [
        ("date_of_birth", input.date_of_birth.as_deref()),
        ("date_of_death", input.date_of_death.as_deref()),
        ("last_arrest_on", input.last_arrest_on.as_deref()),
    ] {
        let d = opt_date(field, raw)?;
        if let Some(d) = d {
            if d > today {
                return Err(ApiError::bad_field(field, format!("{d} is in the future")));
            }
        }
        dates.push(d.map(|d| d.to_string()));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let case_id = match input
        .case_number
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(n) => Some(
            probity_store::cases::get_by_number(&mut tx, n)
                .await
                .map_err(se)?
                .ok_or_else(|| ApiError::bad_field("case_number", format!("no case {n}")))?
                .id,
        ),
        None => None,
    };
    if kind == "associated_person" && case_id.is_none() {
        return Err(ApiError::bad_field(
            "case_number",
            "a file on an associated person belongs to a case record (RET-09)",
        )
        .with_rule("RET-09"));
    }
    if kind == "criminal_or_suspect" && dates[0].is_none() && dates[1].is_none() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "a file on a criminal or suspect is kept by date of birth or death (RET-09)",
        )
        .with_rule("RET-09")
        .with_missing(vec!["date_of_birth or date_of_death".into()]));
    }
    let f = rstore::PersonalFile {
        id: Uuid::now_v7(),
        subject_kind: kind.to_string(),
        name: Some(input.name.trim().to_string()),
        date_of_birth: dates[0].clone(),
        date_of_death: dates[1].clone(),
        last_arrest_on: dates[2].clone(),
        case_id,
        notes: input.notes.clone(),
        created_by: auth.principal.user.id,
        created_at: now,
        disposed_at: None,
        disposition_id: None,
    };
    rstore::insert_personal_file(&mut tx, &f)
        .await
        .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "personal_file.create".into(),
            record_type: "personal_file".into(),
            record_id: f.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "subject_kind": kind }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(pf_view(&f))
}

// ------------------------------------------------------------------ JSON API

fn on_date(state: &AppState, q: &DueQuery) -> Result<DateTime<Utc>, ApiError> {
    match q.on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(state.clock.now()),
        Some(d) => Ok(parse_date("on", d)?
            .and_hms_opt(12, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_else(|| state.clock.now())),
    }
}

async fn audited_read<T>(
    state: &AppState,
    auth: &Authorized,
    action: &str,
    f: impl for<'a> FnOnce(&'a mut Tx) -> futures_util::future::BoxFuture<'a, Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let out = f(&mut tx).await?;
    tx.commit().await.map_err(se)?;
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: action.to_string(),
            record_type: "retention".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(se)?;
    Ok(out)
}

pub async fn facts_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(_case): Path<String>,
    JsonBody(input): JsonBody<FactsInput>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(
        record_facts(&state, &auth, input, state.clock.now()).await?,
    ))
}

pub async fn schedule_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<DueQuery>,
) -> Result<Json<Vec<ScheduleEntry>>, ApiError> {
    let now = on_date(&state, &q)?;
    let st = state.clone();
    Ok(Json(
        audited_read(&state, &auth, "retention.schedule.read", move |tx| {
            Box::pin(async move { compute_schedule(&st, tx, now).await })
        })
        .await?,
    ))
}

pub async fn due_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<DueQuery>,
) -> Result<Json<Vec<ScheduleEntry>>, ApiError> {
    let now = on_date(&state, &q)?;
    let st = state.clone();
    Ok(Json(
        audited_read(&state, &auth, "retention.due.read", move |tx| {
            Box::pin(async move { Ok(due_only(compute_schedule(&st, tx, now).await?, now)) })
        })
        .await?,
    ))
}

pub async fn list_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Vec<DispositionView>>, ApiError> {
    Ok(Json(
        audited_read(&state, &auth, "retention.dispositions.read", |tx| {
            Box::pin(async move {
                Ok(rstore::list(tx, None, 500)
                    .await
                    .map_err(se)?
                    .iter()
                    .map(view)
                    .collect())
            })
        })
        .await?,
    ))
}

pub async fn propose_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<ProposeInput>,
) -> Result<(StatusCode, Json<DispositionView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(propose(&state, &auth, input, state.clock.now()).await?),
    ))
}

pub async fn get_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<DispositionView>, ApiError> {
    let id = disposition_id(&raw)?;
    Ok(Json(
        audited_read(&state, &auth, "retention.disposition.read", move |tx| {
            Box::pin(async move {
                rstore::get(tx, id)
                    .await
                    .map_err(se)?
                    .map(|d| view(&d))
                    .ok_or_else(|| ApiError::not_found(format!("disposition {id}")))
            })
        })
        .await?,
    ))
}

pub async fn approve_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    body: Option<Json<DecideInput>>,
) -> Result<Json<DispositionView>, ApiError> {
    let input = body.map(|Json(b)| b).unwrap_or_default();
    Ok(Json(
        approve(&state, &auth, &raw, input, state.clock.now()).await?,
    ))
}

pub async fn reject_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<DecideInput>,
) -> Result<Json<DispositionView>, ApiError> {
    Ok(Json(
        reject(&state, &auth, &raw, input, state.clock.now()).await?,
    ))
}

pub async fn certificate_api(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<SignedCertificate>, ApiError> {
    Ok(Json(stored_certificate(&state, &raw).await?))
}

pub async fn certificate_pdf(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let env = stored_certificate(&state, &raw).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"disposition-{}.pdf\"", raw.trim()),
            ),
        ],
        certificate_document(&env),
    )
        .into_response())
}

pub async fn personal_files_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Vec<PersonalFileView>>, ApiError> {
    Ok(Json(
        audited_read(&state, &auth, "personal_file.list", |tx| {
            Box::pin(async move {
                Ok(rstore::personal_files(tx, false, 1000)
                    .await
                    .map_err(se)?
                    .iter()
                    .map(pf_view)
                    .collect())
            })
        })
        .await?,
    ))
}

pub async fn new_personal_file_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<PersonalFileInput>,
) -> Result<(StatusCode, Json<PersonalFileView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(new_personal_file(&state, &auth, input, state.clock.now()).await?),
    ))
}

// ------------------------------------------------------------------ web pages

pub async fn records_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let st = state.clone();
    let loaded = audited_read(&state, &auth, "retention.due.read", move |tx| {
        Box::pin(async move {
            let due = due_only(compute_schedule(&st, tx, now).await?, now);
            let dispositions: Vec<DispositionView> = rstore::list(tx, None, 200)
                .await
                .map_err(se)?
                .iter()
                .map(view)
                .collect();
            Ok((due, dispositions))
        })
    })
    .await;
    match loaded {
        Ok((due, dispositions)) => {
            let me = auth.principal.user.username.clone();
            let proposed: HashSet<String> = dispositions
                .iter()
                .filter(|d| d.status == "proposed")
                .map(|d| d.id.clone())
                .collect();
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "records.html",
                "/records",
                context! {
                    // Only shapes the page: each post is decided by its route.
                    can_propose => crate::decision::hint(&state, &auth.principal, "retention.dispose"),
                    can_approve => crate::decision::hint(&state, &auth.principal, "retention.approve"),
                    me => me,
                    due => due,
                    open_count => proposed.len(),
                    dispositions => dispositions,
                    today => now.date_naive().to_string(),
                },
            )
        }
        Err(e) => error_response(&state, true, e),
    }
}

/// A personal file as its page shows it: the stored file and its place on the schedule.
#[derive(Serialize)]
struct PersonalFileRow {
    #[serde(flatten)]
    file: PersonalFileView,
    case_number: Option<String>,
    rule: String,
    due: String,
    due_on: Option<String>,
    note: Option<String>,
    held_by: Option<String>,
}

pub async fn personal_files_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    let now = state.clock.now();
    let st = state.clone();
    let loaded = audited_read(&state, &auth, "personal_file.list", move |tx| {
        Box::pin(async move {
            let schedule = st.schedule()?;
            let holds = HoldIndex::load(tx).await?;
            let files = rstore::personal_files(tx, false, 1000).await.map_err(se)?;
            let mut rows = Vec::with_capacity(files.len());
            for f in &files {
                let case_number = match f.case_id {
                    Some(id) => probity_store::cases::get(tx, id)
                        .await
                        .map_err(se)?
                        .map(|c| c.case_number),
                    None => None,
                };
                let (rule, due, due_on, note, held_by) = if f.subject_kind == "criminal_or_suspect"
                {
                    let mut held = holds.on("person", f.name.as_deref().unwrap_or_default());
                    held.extend(holds.on("personal_file", &f.id.to_string()));
                    let e = entry(
                        "personal_file",
                        f.id.to_string(),
                        String::new(),
                        compute_personal(schedule, f),
                        &held,
                        now,
                        None,
                    );
                    (e.rule, e.due, e.due_on, e.note, e.held_by)
                } else {
                    (
                        "RET-09".to_string(),
                        "with_case".to_string(),
                        None,
                        Some("follows its case record".to_string()),
                        None,
                    )
                };
                rows.push(PersonalFileRow {
                    file: pf_view(f),
                    case_number,
                    rule,
                    due,
                    due_on,
                    note,
                    held_by,
                });
            }
            Ok(rows)
        })
    })
    .await;
    match loaded {
        Ok(files) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "personal_files.html",
            "/personal-files",
            context! { files => files, today => now.date_naive().to_string() },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct PersonalFileForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub subject_kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub date_of_death: String,
    #[serde(default)]
    pub last_arrest_on: String,
    #[serde(default)]
    pub case_number: String,
    #[serde(default)]
    pub notes: String,
}

pub async fn personal_file_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<PersonalFileForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let some = |s: String| Some(s).filter(|s| !s.trim().is_empty());
    let input = PersonalFileInput {
        subject_kind: form.subject_kind,
        name: form.name,
        date_of_birth: some(form.date_of_birth),
        date_of_death: some(form.date_of_death),
        last_arrest_on: some(form.last_arrest_on),
        case_number: some(form.case_number),
        notes: some(form.notes),
    };
    match new_personal_file(&state, &auth, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/personal-files").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub record_kind: String,
    #[serde(default)]
    pub record_id: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn propose_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<ProposeForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = ProposeInput {
        record_kind: form.record_kind,
        record_id: form.record_id,
        reason: form.reason,
    };
    match propose(&state, &auth, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/records").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct DecideForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn approve_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<DecideForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = DecideInput {
        reason: form.reason,
    };
    match approve(&state, &auth, &raw, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/records").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn reject_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<DecideForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = DecideInput {
        reason: form.reason,
    };
    match reject(&state, &auth, &raw, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/records").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

/// Checks a signed disposition certificate (as `GET /api/dispositions/{id}/certificate` gives
/// it) against a trusted key; returns the certificate when the signature holds. The key id the
/// file carries is only compared, never trusted.
pub fn verify_certificate(
    text: &str,
    key: &crate::evidence::discovery::VerifyingKey,
) -> Result<serde_json::Value, String> {
    let env: SignedCertificate = serde_json::from_str(text)
        .map_err(|e| format!("not a signed disposition certificate: {e}"))?;
    if env.algorithm != "ed25519" {
        return Err(format!("unknown signature algorithm {:?}", env.algorithm));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(env.signature.trim())
        .map_err(|e| format!("the signature is not base64 ({e})"))?;
    let sig = ed25519_dalek::Signature::from_slice(&raw)
        .map_err(|e| format!("the signature is malformed ({e})"))?;
    key.verify_strict(&canonical_bytes(&env.certificate), &sig)
        .map_err(|_| {
            format!(
                "signature INVALID: the certificate was altered or signed by another key \
                 (it names key id {}, the trusted key is {})",
                env.key_id,
                crate::evidence::discovery::key_id(key)
            )
        })?;
    Ok(env.certificate)
}

/// The facts recorded on a case, for its page.
pub async fn facts_view(state: &AppState, case_id: Uuid) -> Result<serde_json::Value, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let f = rstore::facts(&mut tx, case_id)
        .await
        .map_err(se)?
        .unwrap_or_default();
    tx.commit().await.map_err(se)?;
    Ok(serde_json::json!({
        "person_located_on": f.person_located_on,
        "firearm_recovered_on": f.firearm_recovered_on,
        "child_date_of_birth": f.child_date_of_birth,
        "juvenile_date_of_birth": f.juvenile_date_of_birth,
        "final_disposition": f.final_disposition,
    }))
}

#[derive(Deserialize)]
pub struct FactsForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub person_located_on: String,
    #[serde(default)]
    pub firearm_recovered_on: String,
    #[serde(default)]
    pub child_date_of_birth: String,
    #[serde(default)]
    pub juvenile_date_of_birth: String,
    #[serde(default)]
    pub final_disposition: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn facts_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(case): Path<String>,
    FormBody(form): FormBody<FactsForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    // The form sends every field: an empty one clears it, as in the API.
    let input = FactsInput {
        person_located_on: Some(form.person_located_on),
        firearm_recovered_on: Some(form.firearm_recovered_on),
        child_date_of_birth: Some(form.child_date_of_birth),
        juvenile_date_of_birth: Some(form.juvenile_date_of_birth),
        final_disposition: Some(form.final_disposition),
        reason: form.reason,
    };
    match record_facts(&state, &auth, input, state.clock.now()).await {
        Ok(_) => Redirect::to(&format!("/cases/{}", case.trim())).into_response(),
        Err(e) => error_response(&state, true, e),
    }
}
