//! Breach response (EXT-05). Anyone may report a suspected breach (`breach.suspect`); the Agency
//! Privacy Officer records it with what was disclosed, to whom and when it was discovered, or
//! dismisses it (`breach.report`). From discovery a 24-hour clock to the City Chief Privacy
//! Officer runs ([`probity_domain::oversight::breach_status`]): while it is open it shows on every
//! page of the privacy staff (those who hold `breach.read`, see [`banner`]), and the scheduler's
//! job `breach.escalation` e-mails the configured addresses at 12 and 20 hours through the SMTP
//! relay ([`send_mail`]); each stage is recorded once (when, to whom, sent or why not), and none is
//! sent after the report to the CPO is recorded with when and how it was made. The notification
//! of the affected people is decided (risk of harm, with the CPO and the Law Department, required
//! by law, or not required) and each letter is recorded. A quarterly anonymized summary (counts by
//! kind and outcome) is produced as JSON, CSV and PDF.
//!
//! The rules are the domain's ([`probity_domain::breach`]); SQL lives in
//! `probity_store::breaches`; every step is written with its audit entry in one transaction.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use minijinja::context;
use probity_domain::breach::{self as rules, BreachFacts, BreachKind, NotificationDecision};
use probity_domain::oversight::{breach_status, BreachStatus};
use probity_store::{audit, breaches as bstore, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::Authorized;
use crate::config::Config;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::scheduler::JobRun;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

/// Declares every breach route.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::POST,
        "/api/breaches/suspected",
        Access::action("breach.suspect"),
        "Report a suspected breach; anyone may (EXT-05)",
        post(suspect_api),
    )
    .add(
        M::GET,
        "/api/breaches",
        Access::action("breach.read"),
        "Breaches and suspected breaches, with the 24-hour clock of each (EXT-05)",
        get(list_api),
    )
    .add(
        M::POST,
        "/api/breaches",
        Access::action("breach.report"),
        "Record a breach (or a suspected one) with what was disclosed, to whom and when it was \
         discovered; the 24-hour clock starts (EXT-05)",
        post(record_api),
    )
    .add(
        M::GET,
        "/api/breaches/summary",
        Access::action("breach.read"),
        "The quarterly anonymized summary: counts by kind and outcome (EXT-05)",
        get(summary_api),
    )
    .add(
        M::GET,
        "/api/breaches/summary.csv",
        Access::action("breach.read"),
        "The quarterly anonymized summary as CSV (EXT-05)",
        get(summary_csv),
    )
    .add(
        M::GET,
        "/api/breaches/summary.pdf",
        Access::action("breach.read"),
        "The quarterly anonymized summary as PDF (EXT-05)",
        get(summary_pdf),
    )
    .add(
        M::GET,
        "/api/breaches/{breach}",
        Access::action("breach.read"),
        "One breach: its clock, escalations, report to the CPO, notification and letters",
        get(get_api),
    )
    .add(
        M::POST,
        "/api/breaches/{breach}/dismiss",
        Access::action("breach.report"),
        "Dismiss a suspected breach as not a breach, with the reason (EXT-05)",
        post(dismiss_api),
    )
    .add(
        M::POST,
        "/api/breaches/{breach}/cpo-report",
        Access::action("breach.report"),
        "Record when and how the breach was reported to the City Chief Privacy Officer; the clock \
         stops (EXT-05)",
        post(cpo_report_api),
    )
    .add(
        M::POST,
        "/api/breaches/{breach}/notification",
        Access::action("breach.report"),
        "Decide on notifying the affected people, with the ground and the reason (EXT-05)",
        post(notification_api),
    )
    .add(
        M::POST,
        "/api/breaches/{breach}/letters",
        Access::action("breach.report"),
        "Record a notification letter sent to an affected person (EXT-05)",
        post(letter_api),
    )
    .add(
        M::GET,
        "/breaches",
        Access::action("breach.read"),
        "Breaches page",
        get(breaches_page),
    )
    .add(
        M::POST,
        "/breaches",
        Access::action("breach.report"),
        "Record a breach (form)",
        post(record_form),
    )
    .add(
        M::GET,
        "/breaches/suspect",
        Access::action("breach.suspect"),
        "Report a suspected breach page",
        get(suspect_page),
    )
    .add(
        M::POST,
        "/breaches/suspect",
        Access::action("breach.suspect"),
        "Report a suspected breach (form)",
        post(suspect_form),
    )
    .add(
        M::GET,
        "/breaches/{breach}",
        Access::action("breach.read"),
        "One breach page",
        get(breach_page),
    )
    .add(
        M::POST,
        "/breaches/{breach}/dismiss",
        Access::action("breach.report"),
        "Dismiss a suspected breach (form)",
        post(dismiss_form),
    )
    .add(
        M::POST,
        "/breaches/{breach}/cpo-report",
        Access::action("breach.report"),
        "Record the report to the City Chief Privacy Officer (form)",
        post(cpo_report_form),
    )
    .add(
        M::POST,
        "/breaches/{breach}/notification",
        Access::action("breach.report"),
        "Decide on notification (form)",
        post(notification_form),
    )
    .add(
        M::POST,
        "/breaches/{breach}/letters",
        Access::action("breach.report"),
        "Record a notification letter (form)",
        post(letter_form),
    )
}

// ------------------------------------------------------------------ views and inputs

/// Where a breach's 24-hour clock stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachClockView {
    /// `running`, `overdue`, `reported_in_time` or `reported_late`.
    pub status: String,
    /// Discovery plus 24 hours.
    pub deadline: String,
    /// Minutes left (running), past the deadline (overdue, reported late), or 0.
    pub minutes: i64,
}

/// A breach or a suspected breach.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachView {
    pub id: String,
    /// `suspected`, `recorded` or `dismissed`.
    pub status: String,
    pub raised_by: String,
    pub raised_at: String,
    /// What the person who raised it saw.
    pub suspicion: String,
    pub kind: Option<String>,
    pub what_disclosed: Option<String>,
    pub disclosed_to: Option<String>,
    pub discovered_at: Option<String>,
    pub recorded_by: Option<String>,
    pub recorded_at: Option<String>,
    pub dismissed_reason: Option<String>,
    /// The 24-hour clock, once recorded.
    pub clock: Option<BreachClockView>,
    pub cpo_reported_at: Option<String>,
    /// `email`, `telephone`, `in_person` or `letter`.
    pub cpo_report_method: Option<String>,
    pub cpo_report_note: Option<String>,
    pub cpo_reported_by: Option<String>,
    /// `risk_of_harm`, `decided_with_cpo_and_law`, `required_by_law` or `not_required`.
    pub notification_decision: Option<String>,
    pub notification_reason: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// One escalation stage of the clock.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachEscalationView {
    /// 12 or 20 (hours after discovery).
    pub stage_hours: i64,
    pub attempted_at: String,
    pub attempts: i64,
    /// The addresses, comma-separated.
    pub recipients: String,
    /// `sent`, `failed` (tried again) or `not_sent`.
    pub outcome: String,
    pub detail: Option<String>,
}

/// A notification letter.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachLetterView {
    pub id: String,
    pub recipient: String,
    pub address: Option<String>,
    pub sent_on: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

/// A breach with its escalations and letters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachDetailView {
    pub breach: BreachView,
    pub escalations: Vec<BreachEscalationView>,
    pub letters: Vec<BreachLetterView>,
}

/// A suspected breach, reported by anyone.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachSuspicionInput {
    /// What was seen: what may have been disclosed, where, when.
    #[serde(default)]
    pub description: String,
}

/// The receipt of a suspected breach.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BreachSuspicionReceipt {
    pub id: String,
    pub status: String,
    pub raised_at: String,
}

/// The Agency Privacy Officer's record of a breach.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachRecordInput {
    /// The suspected breach this records; unset: a breach the APO records directly.
    #[serde(default)]
    pub suspicion: Option<String>,
    /// `misdirected`, `unauthorized_disclosure`, `unauthorized_access`, `lost_or_stolen`, `other`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub what_disclosed: String,
    #[serde(default)]
    pub disclosed_to: String,
    /// When the breach was discovered (RFC 3339, or `YYYY-MM-DDTHH:MM` in UTC): the clock runs
    /// from it. Required (EXT-05).
    #[serde(default)]
    pub discovered_at: Option<String>,
    /// A description, when there is no suspicion to record.
    #[serde(default)]
    pub description: Option<String>,
}

/// A dismissal of a suspected breach.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachDismissInput {
    #[serde(default)]
    pub reason: String,
}

/// The report to the City Chief Privacy Officer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachCpoReportInput {
    /// When it was made (RFC 3339 or `YYYY-MM-DDTHH:MM` UTC); unset: now.
    #[serde(default)]
    pub reported_at: Option<String>,
    /// `email`, `telephone`, `in_person` or `letter`.
    #[serde(default)]
    pub method: String,
    /// To whom, reference numbers.
    #[serde(default)]
    pub note: String,
}

/// The notification decision.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachNotificationInput {
    /// `risk_of_harm`, `decided_with_cpo_and_law`, `required_by_law` or `not_required`.
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
}

/// A letter sent to an affected person.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachLetterInput {
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub address: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub sent_on: String,
}

/// Which quarter to summarize.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BreachSummaryQuery {
    /// `YYYY-Qn`; unset: the current quarter.
    pub quarter: Option<String>,
}

/// One row of the summary: counts for one kind of breach (or `total`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachSummaryRow {
    pub kind: String,
    pub breaches: u64,
    pub reported_in_time: u64,
    pub reported_late: u64,
    pub not_reported: u64,
    pub notify_risk_of_harm: u64,
    pub notify_decided_with_cpo_and_law: u64,
    pub notify_required_by_law: u64,
    pub notification_not_required: u64,
    pub notification_undecided: u64,
    pub letters_sent: u64,
}

/// The quarterly anonymized summary (EXT-05): counts only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreachSummaryView {
    pub quarter: String,
    pub from: String,
    pub to: String,
    pub generated_at: String,
    pub rows: Vec<BreachSummaryRow>,
}

fn clock_view(
    discovered: DateTime<Utc>,
    reported: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> BreachClockView {
    let deadline = discovered + chrono::Duration::hours(24);
    let (status, minutes) = match breach_status(discovered, reported, now) {
        BreachStatus::Running {
            remaining_minutes, ..
        } => ("running", remaining_minutes),
        BreachStatus::Escalate {
            overdue_minutes, ..
        } => ("overdue", overdue_minutes),
        BreachStatus::ReportedInTime { .. } => ("reported_in_time", 0),
        BreachStatus::ReportedLate { late_minutes, .. } => ("reported_late", late_minutes),
    };
    BreachClockView {
        status: status.into(),
        deadline: deadline.to_rfc3339(),
        minutes,
    }
}

fn view(b: &bstore::Breach, now: DateTime<Utc>) -> BreachView {
    let t = |d: Option<DateTime<Utc>>| d.map(|d| d.to_rfc3339());
    BreachView {
        id: b.id.to_string(),
        status: b.status.clone(),
        raised_by: b.raised_by_username.clone(),
        raised_at: b.raised_at.to_rfc3339(),
        suspicion: b.suspicion.clone(),
        kind: b.kind.clone(),
        what_disclosed: b.what_disclosed.clone(),
        disclosed_to: b.disclosed_to.clone(),
        discovered_at: t(b.discovered_at),
        recorded_by: b.recorded_by_username.clone(),
        recorded_at: t(b.recorded_at),
        dismissed_reason: b.dismissed_reason.clone(),
        clock: b
            .discovered_at
            .filter(|_| b.status == "recorded")
            .map(|d| clock_view(d, b.cpo_reported_at, now)),
        cpo_reported_at: t(b.cpo_reported_at),
        cpo_report_method: b.cpo_report_method.clone(),
        cpo_report_note: b.cpo_report_note.clone(),
        cpo_reported_by: b.cpo_reported_by_username.clone(),
        notification_decision: b.notification_decision.clone(),
        notification_reason: b.notification_reason.clone(),
        decided_by: b.decided_by_username.clone(),
        decided_at: t(b.decided_at),
    }
}

fn escalation_view(e: &bstore::Escalation) -> BreachEscalationView {
    BreachEscalationView {
        stage_hours: e.stage_hours,
        attempted_at: e.attempted_at.to_rfc3339(),
        attempts: e.attempts,
        recipients: e.recipients.clone(),
        outcome: e.outcome.clone(),
        detail: e.detail.clone(),
    }
}

fn letter_view(l: &bstore::Letter) -> BreachLetterView {
    BreachLetterView {
        id: l.id.to_string(),
        recipient: l.recipient.clone(),
        address: l.address.clone(),
        sent_on: l.sent_on.clone(),
        recorded_by: l.recorded_by_username.clone(),
        recorded_at: l.recorded_at.to_rfc3339(),
    }
}

/// A time as given in the API (RFC 3339) or by a form (`YYYY-MM-DDTHH:MM`, UTC).
fn parse_time(field: &'static str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    let t = raw.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(t, f) {
            return Ok(d.and_utc());
        }
    }
    Err(ApiError::bad_field(
        field,
        format!("{t:?} is not a time (RFC 3339, or YYYY-MM-DDTHH:MM UTC)"),
    )
    .with_rule("EXT-05"))
}

fn breach_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::from_str(raw.trim()).map_err(|_| ApiError::not_found(format!("breach {raw}")))
}

async fn load(tx: &mut Tx, id: Uuid) -> Result<bstore::Breach, ApiError> {
    bstore::get(tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("breach {id}")))
}

async fn audit_step(
    tx: &mut Tx,
    actor: String,
    action: &str,
    id: Uuid,
    reason: Option<String>,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor,
            action: action.into(),
            record_type: "breach".into(),
            record_id: id.to_string(),
            reason,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(())
}

fn conflict(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e).with_rule("EXT-05")
}

// ------------------------------------------------------------------ operations

/// Anyone reports a suspected breach (EXT-05).
pub async fn suspect(
    state: &AppState,
    auth: &Authorized,
    input: BreachSuspicionInput,
) -> Result<BreachSuspicionReceipt, ApiError> {
    let now = state.clock.now();
    let description = input.description.trim().to_string();
    if description.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "EXT-05: missing description: say what may have been disclosed, to whom, and when",
        )
        .with_rule("EXT-05")
        .with_missing(vec!["description".into()]));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let b = bstore::raise(&mut tx, auth.principal.user.id, now, &description)
        .await
        .map_err(crate::store_error)?;
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.suspect",
        b.id,
        None,
        serde_json::json!({ "rule": auth.rule, "requirement": "EXT-05" }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    refresh(state).await;
    Ok(BreachSuspicionReceipt {
        id: b.id.to_string(),
        status: b.status,
        raised_at: b.raised_at.to_rfc3339(),
    })
}

/// The APO records a breach; the clock starts from its discovery (EXT-05).
pub async fn record(
    state: &AppState,
    auth: &Authorized,
    input: BreachRecordInput,
) -> Result<BreachView, ApiError> {
    let now = state.clock.now();
    let discovered = match input.discovered_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) => Some(parse_time("discovered_at", t)?),
    };
    let (kind, discovered) = rules::check_breach_record(
        &rules::BreachRecord {
            kind: &input.kind,
            what_disclosed: &input.what_disclosed,
            disclosed_to: &input.disclosed_to,
            discovered_at: discovered,
        },
        now,
    )
    .map_err(|e| match e {
        probity_domain::DomainError::Refused { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
                .with_rule("EXT-05")
        }
        other => crate::domain_error(other).with_rule("EXT-05"),
    })?;
    let rec = bstore::Record {
        kind: kind.as_str().to_string(),
        what_disclosed: input.what_disclosed.trim().to_string(),
        disclosed_to: input.disclosed_to.trim().to_string(),
        discovered_at: discovered,
        recorded_by: auth.principal.user.id,
        recorded_at: now,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let b = match input
        .suspicion
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(raw) => {
            let id = breach_id(raw)?;
            load(&mut tx, id).await?;
            bstore::record(&mut tx, id, &rec).await.map_err(conflict)?
        }
        None => {
            let description = input
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .unwrap_or("recorded by the Agency Privacy Officer");
            bstore::insert_recorded(&mut tx, description, &rec)
                .await
                .map_err(crate::store_error)?
        }
    };
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.record",
        b.id,
        None,
        serde_json::json!({
            "rule": auth.rule,
            "requirement": "EXT-05",
            "kind": kind.as_str(),
            "discovered_at": discovered.to_rfc3339(),
            "deadline": (discovered + chrono::Duration::hours(24)).to_rfc3339(),
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    refresh(state).await;
    Ok(view(&b, now))
}

/// The APO dismisses a suspicion as not a breach.
pub async fn dismiss(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: BreachDismissInput,
) -> Result<BreachView, ApiError> {
    let now = state.clock.now();
    let id = breach_id(raw)?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        return Err(ApiError::bad_field(
            "reason",
            "EXT-05: a suspected breach is dismissed with the reason it is not a breach",
        )
        .with_rule("EXT-05"));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    load(&mut tx, id).await?;
    let b = bstore::dismiss(&mut tx, id, auth.principal.user.id, now, &reason)
        .await
        .map_err(conflict)?;
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.dismiss",
        id,
        Some(reason),
        serde_json::json!({ "rule": auth.rule, "requirement": "EXT-05" }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    refresh(state).await;
    Ok(view(&b, now))
}

/// Records when and how the breach was reported to the City Chief Privacy Officer.
pub async fn cpo_report(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: BreachCpoReportInput,
) -> Result<BreachView, ApiError> {
    let now = state.clock.now();
    let id = breach_id(raw)?;
    let at = match input.reported_at.as_deref().map(str::trim) {
        None | Some("") => now,
        Some(t) => parse_time("reported_at", t)?,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let current = load(&mut tx, id).await?;
    let Some(discovered) = current
        .discovered_at
        .filter(|_| current.status == "recorded")
    else {
        return Err(ApiError::conflict(format!(
            "breach {id} is {}: record it (what, to whom, when discovered) before reporting it",
            current.status
        ))
        .with_rule("EXT-05"));
    };
    let method =
        rules::check_cpo_report(discovered, current.cpo_reported_at, at, &input.method, now)
            .map_err(|e| match e {
                probity_domain::DomainError::Refused { .. } => {
                    ApiError::conflict(e.to_string()).with_rule("EXT-05")
                }
                other => crate::domain_error(other).with_rule("EXT-05"),
            })?;
    let note = input.note.trim().to_string();
    let b = bstore::report_to_cpo(
        &mut tx,
        id,
        auth.principal.user.id,
        at,
        method.as_str(),
        &note,
    )
    .await
    .map_err(conflict)?;
    let clock = clock_view(discovered, Some(at), now);
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.cpo_report",
        id,
        None,
        serde_json::json!({
            "rule": auth.rule,
            "requirement": "EXT-05",
            "reported_at": at.to_rfc3339(),
            "method": method.as_str(),
            "clock": clock.status,
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    refresh(state).await;
    Ok(view(&b, now))
}

/// Decides on notifying the affected people.
pub async fn notification(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: BreachNotificationInput,
) -> Result<BreachView, ApiError> {
    let now = state.clock.now();
    let id = breach_id(raw)?;
    let decision = rules::check_notification_decision(&input.decision, &input.reason)
        .map_err(|e| crate::domain_error(e).with_rule("EXT-05"))?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    load(&mut tx, id).await?;
    let reason = input.reason.trim().to_string();
    let b = bstore::decide_notification(
        &mut tx,
        id,
        auth.principal.user.id,
        now,
        decision.as_str(),
        &reason,
    )
    .await
    .map_err(conflict)?;
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.notification.decide",
        id,
        Some(reason),
        serde_json::json!({
            "rule": auth.rule,
            "requirement": "EXT-05",
            "decision": decision.as_str(),
            "notify": decision.notify(),
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(view(&b, now))
}

/// Records a letter to an affected person.
pub async fn letter(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: BreachLetterInput,
) -> Result<BreachLetterView, ApiError> {
    let now = state.clock.now();
    let id = breach_id(raw)?;
    let sent_on = match input.sent_on.trim() {
        "" => None,
        s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_field("sent_on", format!("{s:?} is not a date (YYYY-MM-DD)"))
        })?),
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let b = load(&mut tx, id).await?;
    let decision = b
        .notification_decision
        .as_deref()
        .map(NotificationDecision::parse)
        .transpose()
        .map_err(crate::domain_error)?;
    let sent = rules::check_letter(decision, &input.recipient, sent_on, now.date_naive()).map_err(
        |e| match e {
            probity_domain::DomainError::Refused { .. } => {
                ApiError::conflict(e.to_string()).with_rule("EXT-05")
            }
            other => crate::domain_error(other).with_rule("EXT-05"),
        },
    )?;
    let address = input
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    let l = bstore::add_letter(
        &mut tx,
        id,
        input.recipient.trim(),
        address,
        &sent.to_string(),
        auth.principal.user.id,
        now,
    )
    .await
    .map_err(crate::store_error)?;
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.letter.record",
        id,
        None,
        serde_json::json!({
            "rule": auth.rule,
            "requirement": "EXT-05",
            "letter": l.id.to_string(),
            "sent_on": l.sent_on,
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(letter_view(&l))
}

/// Every breach, newest first; the read is audited.
pub async fn list(state: &AppState, auth: &Authorized) -> Result<Vec<BreachView>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let all = bstore::list(&mut tx, 500)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "breach.list".into(),
            record_type: "breach".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": all.len() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(all.iter().map(|b| view(b, now)).collect())
}

/// One breach with its escalations and letters; the read is audited.
pub async fn detail(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
) -> Result<BreachDetailView, ApiError> {
    let now = state.clock.now();
    let id = breach_id(raw)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let b = load(&mut tx, id).await?;
    let escalations = bstore::escalations(&mut tx, id)
        .await
        .map_err(crate::store_error)?;
    let letters = bstore::letters(&mut tx, id)
        .await
        .map_err(crate::store_error)?;
    audit_step(
        &mut tx,
        auth.principal.actor(),
        "breach.read",
        id,
        None,
        serde_json::json!({ "rule": auth.rule }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(BreachDetailView {
        breach: view(&b, now),
        escalations: escalations.iter().map(escalation_view).collect(),
        letters: letters.iter().map(letter_view).collect(),
    })
}

/// The quarterly anonymized summary; its production is audited.
pub async fn summary(
    state: &AppState,
    auth: &Authorized,
    q: &BreachSummaryQuery,
    format: &str,
) -> Result<BreachSummaryView, ApiError> {
    let now = state.clock.now();
    let quarter = match q.quarter.as_deref().map(str::trim) {
        None | Some("") => rules::Quarter::of(now),
        Some(s) => rules::Quarter::parse(s).map_err(crate::domain_error)?,
    };
    let (from, to) = quarter.bounds();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let breaches = bstore::discovered_between(&mut tx, from, to)
        .await
        .map_err(crate::store_error)?;
    let letters: HashMap<Uuid, i64> = bstore::letter_counts(&mut tx)
        .await
        .map_err(crate::store_error)?
        .into_iter()
        .collect();
    let mut facts = Vec::new();
    for b in &breaches {
        let (Some(kind), Some(discovered)) = (b.kind.as_deref(), b.discovered_at) else {
            continue;
        };
        facts.push(BreachFacts {
            kind: BreachKind::parse(kind).map_err(crate::domain_error)?,
            discovered_at: discovered,
            cpo_reported_at: b.cpo_reported_at,
            decision: b
                .notification_decision
                .as_deref()
                .map(NotificationDecision::parse)
                .transpose()
                .map_err(crate::domain_error)?,
            letters: u64::try_from(letters.get(&b.id).copied().unwrap_or(0)).unwrap_or(0),
        });
    }
    let rows = rules::quarterly_summary(quarter, &facts, now);
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "breach.summary".into(),
            record_type: "breach".into(),
            record_id: quarter.label(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "requirement": "EXT-05",
                "format": format,
                "breaches": facts.len(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(BreachSummaryView {
        quarter: quarter.label(),
        from: from.to_rfc3339(),
        to: to.to_rfc3339(),
        generated_at: now.to_rfc3339(),
        rows: rows
            .into_iter()
            .map(|r| BreachSummaryRow {
                kind: r.kind,
                breaches: r.breaches,
                reported_in_time: r.reported_in_time,
                reported_late: r.reported_late,
                not_reported: r.not_reported,
                notify_risk_of_harm: r.notify_risk_of_harm,
                notify_decided_with_cpo_and_law: r.notify_decided_with_cpo_and_law,
                notify_required_by_law: r.notify_required_by_law,
                notification_not_required: r.notification_not_required,
                notification_undecided: r.notification_undecided,
                letters_sent: r.letters_sent,
            })
            .collect(),
    })
}

fn summary_cells(r: &BreachSummaryRow) -> Vec<String> {
    rules::SummaryRow {
        kind: r.kind.clone(),
        breaches: r.breaches,
        reported_in_time: r.reported_in_time,
        reported_late: r.reported_late,
        not_reported: r.not_reported,
        notify_risk_of_harm: r.notify_risk_of_harm,
        notify_decided_with_cpo_and_law: r.notify_decided_with_cpo_and_law,
        notify_required_by_law: r.notify_required_by_law,
        notification_not_required: r.notification_not_required,
        notification_undecided: r.notification_undecided,
        letters_sent: r.letters_sent,
    }
    .cells()
}

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The summary as CSV (RFC 4180, CRLF line ends).
pub fn summary_csv_text(v: &BreachSummaryView) -> String {
    let mut out = String::new();
    let mut line = |cells: Vec<String>| {
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_field(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    };
    let mut header = vec!["quarter".to_string()];
    header.extend(rules::SUMMARY_COLUMNS.iter().map(|c| c.to_string()));
    line(header);
    for r in &v.rows {
        let mut cells = vec![v.quarter.clone()];
        cells.extend(summary_cells(r));
        line(cells);
    }
    out
}

/// The summary as PDF.
pub fn summary_document(v: &BreachSummaryView) -> Vec<u8> {
    let mut doc = crate::pdf::Document::new(&format!("Breach summary {}", v.quarter));
    doc.subtitle("Quarterly anonymized summary of breaches of identifying information (EXT-05)")
        .field("Quarter", &v.quarter)
        .field("Discovered from", &v.from)
        .field("Until", &v.to)
        .field("Produced", &v.generated_at)
        .paragraph(
            "Counts only: no person is named. Reported in time means reported to the City Chief \
             Privacy Officer within 24 hours of discovery.",
        );
    doc.heading("Breaches by kind and outcome");
    let header = [
        "Kind",
        "Breaches",
        "In time",
        "Late",
        "Not reported",
        "Notify: harm",
        "Notify: CPO+Law",
        "Notify: law",
        "Not required",
        "Undecided",
        "Letters",
    ];
    let rows: Vec<Vec<String>> = v.rows.iter().map(summary_cells).collect();
    doc.table(&header, &rows);
    doc.render()
}

// ------------------------------------------------------------------ escalation by e-mail

/// What became of one e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    /// Nothing to send to: no relay or no address configured.
    NotSent(String),
    /// The relay refused or could not be reached.
    Failed(String),
}

/// Sends a plain-text e-mail through the configured SMTP relay.
pub async fn send_mail(config: &Config, to: &[String], subject: &str, body: String) -> MailOutcome {
    use lettre::message::{header::ContentType, Mailbox};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let relay = match config.smtp_relay_address() {
        Ok(Some(r)) => r,
        Ok(None) => return MailOutcome::NotSent("not sent: no relay configured".into()),
        Err(e) => return MailOutcome::Failed(e),
    };
    if to.is_empty() {
        return MailOutcome::NotSent("not sent: no escalation address configured".into());
    }
    let from: Mailbox = match config.mail_from.parse() {
        Ok(m) => m,
        Err(e) => return MailOutcome::Failed(format!("mail_from {:?}: {e}", config.mail_from)),
    };
    let mut builder = Message::builder()
        .from(from)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for a in to {
        match a.parse::<Mailbox>() {
            Ok(m) => builder = builder.to(m),
            Err(e) => return MailOutcome::Failed(format!("address {a:?}: {e}")),
        }
    }
    let message = match builder.body(body) {
        Ok(m) => m,
        Err(e) => return MailOutcome::Failed(format!("message: {e}")),
    };
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.0.as_str())
        .port(relay.1)
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build();
    match transport.send(message).await {
        Ok(_) => MailOutcome::Sent,
        Err(e) => MailOutcome::Failed(format!("relay {}:{}: {e}", relay.0, relay.1)),
    }
}

/// The scheduler job `breach.escalation`: for every recorded breach not yet reported to the City
/// Chief Privacy Officer, each escalation stage (12 and 20 hours after discovery) that is due and
/// not yet recorded is e-mailed and recorded with its audit entry. A failed send is tried again
/// at the next run; a stage sent, or not sent for want of a relay, is never sent again.
pub async fn escalation_job(state: AppState, run: JobRun) -> Result<serde_json::Value, ApiError> {
    let se = crate::store_error;
    let mut tx = state.store.begin().await.map_err(se)?;
    let open = bstore::open(&mut tx).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    let (mut sent, mut failed, mut not_sent) = (0u32, 0u32, 0u32);
    let to = state.config.breach_escalation_to.clone();
    for b in open.iter().filter(|b| b.status == "recorded") {
        let Some(discovered) = b.discovered_at else {
            continue;
        };
        let due = rules::escalations_due(discovered, b.cpo_reported_at, run.now);
        if due.is_empty() {
            continue;
        }
        let mut tx = state.store.begin().await.map_err(se)?;
        let done = bstore::escalations(&mut tx, b.id).await.map_err(se)?;
        // Read again just before sending: a report recorded meanwhile stops the clock.
        let current = load(&mut tx, b.id).await?;
        tx.commit().await.map_err(se)?;
        if current.cpo_reported_at.is_some() {
            continue;
        }
        for stage in due {
            let stage = i64::from(stage);
            if done
                .iter()
                .any(|e| e.stage_hours == stage && e.outcome != "failed")
            {
                continue;
            }
            let deadline = discovered + chrono::Duration::hours(24);
            let left = (deadline - run.now).num_minutes();
            let subject = format!(
                "EXT-05 breach clock: {stage} hours since discovery, not yet reported to the City \
                 Chief Privacy Officer"
            );
            let body = format!(
                "Breach {id} ({kind}) was discovered at {disc}.\n\
                 It must be reported to the City Chief Privacy Officer by {deadline} \
                 ({hours}h {mins}m left).\n\
                 No report has been recorded yet. Record the report (when and how it was made) \
                 at /breaches/{id}.\n\n\
                 This escalation is sent {stage} hours after discovery (EXT-05).\n",
                id = b.id,
                kind = b.kind.as_deref().unwrap_or("unknown kind"),
                disc = discovered.to_rfc3339(),
                deadline = deadline.to_rfc3339(),
                hours = left.max(0) / 60,
                mins = left.max(0) % 60,
            );
            let outcome = send_mail(&state.config, &to, &subject, body).await;
            let (label, detail) = match &outcome {
                MailOutcome::Sent => {
                    sent += 1;
                    ("sent", None)
                }
                MailOutcome::NotSent(d) => {
                    not_sent += 1;
                    ("not_sent", Some(d.clone()))
                }
                MailOutcome::Failed(d) => {
                    failed += 1;
                    ("failed", Some(d.clone()))
                }
            };
            let recipients = to.join(", ");
            let mut tx = state.store.begin().await.map_err(se)?;
            bstore::record_escalation(
                &mut tx,
                b.id,
                stage,
                run.now,
                &recipients,
                label,
                detail.as_deref(),
            )
            .await
            .map_err(se)?;
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: run.actor.clone(),
                    action: "breach.escalation".into(),
                    record_type: "breach".into(),
                    record_id: b.id.to_string(),
                    reason: None,
                    outcome: if outcome == MailOutcome::Sent {
                        audit::Outcome::Success
                    } else {
                        audit::Outcome::Failed
                    },
                    detail: serde_json::json!({
                        "requirement": "EXT-05",
                        "stage_hours": stage,
                        "recipients": recipients,
                        "outcome": label,
                        "detail": detail,
                    }),
                },
            )
            .await
            .map_err(se)?;
            tx.commit().await.map_err(se)?;
        }
    }
    refresh(&state).await;
    Ok(serde_json::json!({
        "open": open.len(),
        "sent": sent,
        "failed": failed,
        "not_sent": not_sent,
    }))
}

// ------------------------------------------------------------------ the clock on every page

/// One open item as the banner shows it.
#[derive(Debug, Clone)]
struct OpenItem {
    id: Uuid,
    discovered_at: Option<DateTime<Utc>>,
}

struct Snapshot {
    taken: std::time::Instant,
    refreshing: bool,
    open: Vec<OpenItem>,
}

/// The open breaches of each store this process serves (keyed by the store's location), so the
/// page frame, which renders without a database round trip, can show the clock. Refreshed after
/// every change made here, by every escalation run, and in the background when older than
/// [`SNAPSHOT_AGE`] (changes made by other nodes).
fn snapshots() -> &'static Mutex<HashMap<String, Snapshot>> {
    static S: OnceLock<Mutex<HashMap<String, Snapshot>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(HashMap::new()))
}

const SNAPSHOT_AGE: std::time::Duration = std::time::Duration::from_secs(30);

fn store_key(state: &AppState) -> String {
    format!(
        "{}|{}",
        state.config.data_dir.display(),
        state.config.database_url.as_deref().unwrap_or("")
    )
}

/// Reads the open breaches again.
pub async fn refresh(state: &AppState) {
    let open = async {
        let mut tx = state.store.begin_read().await?;
        let open = bstore::open(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, probity_store::StoreError>(open)
    }
    .await;
    let key = store_key(state);
    let Ok(mut map) = snapshots().lock() else {
        return;
    };
    match open {
        Ok(open) => {
            map.insert(
                key,
                Snapshot {
                    taken: std::time::Instant::now(),
                    refreshing: false,
                    open: open
                        .iter()
                        .map(|b| OpenItem {
                            id: b.id,
                            discovered_at: b.discovered_at.filter(|_| b.status == "recorded"),
                        })
                        .collect(),
                },
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "breach clock: open breaches not read");
            if let Some(s) = map.get_mut(&key) {
                s.refreshing = false;
            }
        }
    }
}

/// The breach clock banner for the page frame: for those who hold `breach.read`, every open
/// breach's clock and every suspicion waiting for review. `None` when nothing is open.
pub fn banner(state: &AppState, p: &Principal) -> Option<minijinja::Value> {
    if !crate::decision::hint(state, p, "breach.read") {
        return None;
    }
    let key = store_key(state);
    let (items, stale) = {
        let mut map = snapshots().lock().ok()?;
        match map.get_mut(&key) {
            Some(s) => {
                let stale = !s.refreshing && s.taken.elapsed() > SNAPSHOT_AGE;
                if stale {
                    s.refreshing = true;
                }
                (s.open.clone(), stale)
            }
            None => {
                map.insert(
                    key,
                    Snapshot {
                        taken: std::time::Instant::now(),
                        refreshing: true,
                        open: Vec::new(),
                    },
                );
                (Vec::new(), true)
            }
        }
    };
    if stale {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let state = state.clone();
            handle.spawn(async move { refresh(&state).await });
        }
    }
    if items.is_empty() {
        return None;
    }
    let now = state.clock.now();
    let suspected = items.iter().filter(|i| i.discovered_at.is_none()).count();
    let clocks: Vec<minijinja::Value> = items
        .iter()
        .filter_map(|i| {
            let d = i.discovered_at?;
            let c = clock_view(d, None, now);
            let m = c.minutes.max(0);
            Some(context! {
                id => i.id.to_string(),
                overdue => c.status == "overdue",
                left => format!("{}h {:02}m", m / 60, m % 60),
                deadline => c.deadline,
            })
        })
        .collect();
    Some(context! { clocks => clocks, suspected => suspected })
}

// ------------------------------------------------------------------ JSON API

pub async fn suspect_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<BreachSuspicionInput>,
) -> Result<(StatusCode, Json<BreachSuspicionReceipt>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(suspect(&state, &auth, input).await?),
    ))
}

pub async fn list_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Vec<BreachView>>, ApiError> {
    Ok(Json(list(&state, &auth).await?))
}

pub async fn record_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<BreachRecordInput>,
) -> Result<(StatusCode, Json<BreachView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(record(&state, &auth, input).await?),
    ))
}

pub async fn get_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<BreachDetailView>, ApiError> {
    Ok(Json(detail(&state, &auth, &raw).await?))
}

pub async fn dismiss_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<BreachDismissInput>,
) -> Result<Json<BreachView>, ApiError> {
    Ok(Json(dismiss(&state, &auth, &raw, input).await?))
}

pub async fn cpo_report_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<BreachCpoReportInput>,
) -> Result<Json<BreachView>, ApiError> {
    Ok(Json(cpo_report(&state, &auth, &raw, input).await?))
}

pub async fn notification_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<BreachNotificationInput>,
) -> Result<Json<BreachView>, ApiError> {
    Ok(Json(notification(&state, &auth, &raw, input).await?))
}

pub async fn letter_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<BreachLetterInput>,
) -> Result<(StatusCode, Json<BreachLetterView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(letter(&state, &auth, &raw, input).await?),
    ))
}

pub async fn summary_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<BreachSummaryQuery>,
) -> Result<Json<BreachSummaryView>, ApiError> {
    Ok(Json(summary(&state, &auth, &q, "json").await?))
}

pub async fn summary_csv(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<BreachSummaryQuery>,
) -> Result<Response, ApiError> {
    let v = summary(&state, &auth, &q, "csv").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"breach-summary-{}.csv\"", v.quarter),
            ),
        ],
        summary_csv_text(&v),
    )
        .into_response())
}

pub async fn summary_pdf(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<BreachSummaryQuery>,
) -> Result<Response, ApiError> {
    let v = summary(&state, &auth, &q, "pdf").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"breach-summary-{}.pdf\"", v.quarter),
            ),
        ],
        summary_document(&v),
    )
        .into_response())
}

// ------------------------------------------------------------------ web pages

fn kinds() -> Vec<&'static str> {
    BreachKind::ALL.iter().map(|k| k.as_str()).collect()
}

pub async fn breaches_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match list(&state, &auth).await {
        Ok(all) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "breaches.html",
            "/breaches",
            context! {
                // Only shapes the page: each post is decided by its route.
                can_report => crate::decision::hint(&state, &auth.principal, "breach.report"),
                breaches => all,
                kinds => kinds(),
                quarter => rules::Quarter::of(state.clock.now()).label(),
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn breach_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Response {
    match detail(&state, &auth, &raw).await {
        Ok(d) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "breach.html",
            "/breaches",
            context! {
                can_report => crate::decision::hint(&state, &auth.principal, "breach.report"),
                b => d.breach,
                escalations => d.escalations,
                letters => d.letters,
                kinds => kinds(),
                methods => rules::ReportMethod::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
                decisions => NotificationDecision::ALL.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn suspect_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    page(
        &state,
        &headers,
        Some(&auth.principal),
        "breach_suspect.html",
        "/breaches/suspect",
        context! {},
    )
}

#[derive(Deserialize)]
pub struct SuspectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub description: String,
}

pub async fn suspect_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<SuspectForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = BreachSuspicionInput {
        description: form.description,
    };
    match suspect(&state, &auth, input).await {
        Ok(r) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "breach_suspect.html",
            "/breaches/suspect",
            context! { receipt => r.id },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub suspicion: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub what_disclosed: String,
    #[serde(default)]
    pub disclosed_to: String,
    #[serde(default)]
    pub discovered_at: String,
    #[serde(default)]
    pub description: String,
}

pub async fn record_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<RecordForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = BreachRecordInput {
        suspicion: Some(form.suspicion).filter(|s| !s.trim().is_empty()),
        kind: form.kind,
        what_disclosed: form.what_disclosed,
        disclosed_to: form.disclosed_to,
        discovered_at: Some(form.discovered_at).filter(|s| !s.trim().is_empty()),
        description: Some(form.description).filter(|s| !s.trim().is_empty()),
    };
    match record(&state, &auth, input).await {
        Ok(b) => Redirect::to(&format!("/breaches/{}", b.id)).into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct StepForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub reported_at: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub recipient: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub sent_on: String,
}

async fn step_form(
    state: &AppState,
    auth: &Authorized,
    headers: &HeaderMap,
    raw: &str,
    step: &str,
    form: StepForm,
) -> Response {
    if let Err(e) = check_csrf(headers, &form.csrf) {
        return error_response(state, true, e);
    }
    let done = match step {
        "dismiss" => dismiss(
            state,
            auth,
            raw,
            BreachDismissInput {
                reason: form.reason,
            },
        )
        .await
        .map(|_| ()),
        "cpo-report" => cpo_report(
            state,
            auth,
            raw,
            BreachCpoReportInput {
                reported_at: Some(form.reported_at).filter(|s| !s.trim().is_empty()),
                method: form.method,
                note: form.note,
            },
        )
        .await
        .map(|_| ()),
        "notification" => notification(
            state,
            auth,
            raw,
            BreachNotificationInput {
                decision: form.decision,
                reason: form.reason,
            },
        )
        .await
        .map(|_| ()),
        _ => letter(
            state,
            auth,
            raw,
            BreachLetterInput {
                recipient: form.recipient,
                address: Some(form.address),
                sent_on: form.sent_on,
            },
        )
        .await
        .map(|_| ()),
    };
    match done {
        Ok(()) => Redirect::to(&format!("/breaches/{}", raw.trim())).into_response(),
        Err(e) => error_response(state, true, e),
    }
}

pub async fn dismiss_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<StepForm>,
) -> Response {
    step_form(&state, &auth, &headers, &raw, "dismiss", form).await
}

pub async fn cpo_report_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<StepForm>,
) -> Response {
    step_form(&state, &auth, &headers, &raw, "cpo-report", form).await
}

pub async fn notification_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<StepForm>,
) -> Response {
    step_form(&state, &auth, &headers, &raw, "notification", form).await
}

pub async fn letter_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<StepForm>,
) -> Response {
    step_form(&state, &auth, &headers, &raw, "letters", form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext_05_default_mail_settings_are_valid_and_send_nothing() {
        let c = Config::default();
        assert_eq!(c.check(), Ok(()));
        assert_eq!(c.smtp_relay_address(), Ok(None));
        let c = Config {
            smtp_relay: Some("mail.example.org".into()),
            ..Config::default()
        };
        assert_eq!(
            c.smtp_relay_address(),
            Ok(Some(("mail.example.org".into(), 25)))
        );
        let c = Config {
            smtp_relay: Some("127.0.0.1:2525".into()),
            ..Config::default()
        };
        assert_eq!(c.smtp_relay_address(), Ok(Some(("127.0.0.1".into(), 2525))));
        let c = Config {
            breach_escalation_to: vec!["not an address".into()],
            ..Config::default()
        };
        assert!(c.check().is_err());
    }

    #[test]
    fn ext_05_summary_csv_quotes_fields() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
