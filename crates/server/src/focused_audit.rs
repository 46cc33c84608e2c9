//! Focused audits (SEC-05): the Internal Affairs Bureau, Integrity Control Officers, investigations
//! units and commanding officers (their own command only) ask what was done, scoped by person,
//! case, record, action and time range. The answer is a report built from the audit trail, on
//! screen, as CSV and as PDF, that states whether the hash chain verified over that range. The
//! request is itself written to the trail, with its scope, refused or not.
//!
//! The decision is about the real scope: the commands of the person (their home command and every
//! assignment overlapping the range) and of the case the audit names, as a
//! [`probity_policy::Resource::AuditScope`]. An audit naming no person and no case spans every
//! command (`department_wide`). The pack decides who may audit what
//! (`SEC-05.focused-audits`, `SEC-05.investigations-unit-focused-audits`,
//! `SEC-05.commanding-officer-focused-audits`, `SEC-05.commanding-officer-own-command-only`).
//! SQL lives in `probity_store::audit::focused`.

use std::collections::BTreeSet;

use axum::extract::{Query, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use minijinja::context;
use probity_domain::{CommandCode, Role};
use probity_policy::{Action, Resource};
use probity_store::{assignments, audit, cases, users};
use serde::{Deserialize, Serialize};

use crate::authz::SignedIn;
use crate::breach::csv_field;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{error_response, page};

/// Entries a report holds when the request names no limit.
const DEFAULT_LIMIT: u32 = 1000;
/// The most entries one report holds; narrow the scope for more.
const MAX_LIMIT: u32 = 5000;

/// Declares the focused audit routes.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/audit/focused",
        Access::in_handler("audit.focused"),
        "Focused audit (SEC-05): entries by person, case, record, action and time range, with the chain verification",
        get(report_api),
    )
    .add(
        M::GET,
        "/api/audit/focused.csv",
        Access::in_handler("audit.focused"),
        "Focused audit (SEC-05) as CSV",
        get(report_csv),
    )
    .add(
        M::GET,
        "/api/audit/focused.pdf",
        Access::in_handler("audit.focused"),
        "Focused audit (SEC-05) as PDF",
        get(report_pdf),
    )
    .add(
        M::GET,
        "/audit/focused",
        Access::in_handler("audit.focused"),
        "Focused audit page (SEC-05)",
        get(report_page),
    )
}

// ------------------------------------------------------------------ inputs and views

/// What a focused audit covers. At least one of person, case, record and action, and a time
/// range, are required.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct FocusedAuditQuery {
    /// Username of the person whose activity is audited.
    pub person: Option<String>,
    /// Case number: the entries recorded against the case.
    pub case: Option<String>,
    /// Type of the record audited (`case`, `user`, `evidence_item`, ...), with `record_id`.
    pub record_type: Option<String>,
    /// Id of the record audited, with `record_type`.
    pub record_id: Option<String>,
    /// Action name, e.g. `case.read`.
    pub action: Option<String>,
    /// Start of the range, inclusive: RFC 3339 time, `YYYY-MM-DDTHH:MM` (UTC) or a date.
    pub from: Option<String>,
    /// End of the range: RFC 3339 time or `YYYY-MM-DDTHH:MM` (UTC), exclusive; a date means
    /// through the end of that day.
    pub to: Option<String>,
    /// Why the audit is requested (allegation, complaint or investigation number).
    pub reason: Option<String>,
    /// At most this many entries (default 1000, at most 5000).
    pub limit: Option<u32>,
}

/// The scope as the report states it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FocusedAuditScope {
    pub person: Option<String>,
    pub case: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub action: Option<String>,
    /// RFC 3339, inclusive.
    pub from: String,
    /// RFC 3339, exclusive.
    pub to: String,
    pub reason: Option<String>,
    /// Commands of the person and case audited.
    pub commands: Vec<String>,
    /// The audit names no person or case: it spans every command.
    pub department_wide: bool,
}

/// One entry of the trail as the report shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FocusedAuditEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub reason: Option<String>,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    /// The detail JSON as hashed.
    pub detail: String,
    pub hash: String,
}

/// Whether the chain verified, and what that covers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FocusedAuditChain {
    /// The whole chain, through the signed head, verified (every hash, link and signature).
    pub verified: bool,
    pub entries_checked: u64,
    pub checkpoints_checked: u64,
    /// The signed head the verification reached; the report holds no entry beyond it.
    pub head_seq: u64,
    pub first_bad_entry: Option<u64>,
    pub problem: Option<String>,
    /// The statement the report makes, in words.
    pub statement: String,
}

/// A focused audit report (SEC-05).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FocusedAuditReport {
    pub scope: FocusedAuditScope,
    pub requested_by: String,
    pub requested_at: String,
    /// The rule that permitted the audit.
    pub rule: String,
    pub entries: Vec<FocusedAuditEntry>,
    /// More entries match than the limit: narrow the scope.
    pub truncated: bool,
    pub chain: FocusedAuditChain,
    /// The audit entry recording this request.
    pub request_entry: u64,
}

// ------------------------------------------------------------------ parsing

/// A request checked for shape, before any lookup.
#[derive(Debug, Clone)]
struct Parsed {
    person: Option<String>,
    case: Option<String>,
    record: Option<(String, String)>,
    action: Option<String>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reason: Option<String>,
    limit: u32,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A time of the range: RFC 3339, a `datetime-local` value (UTC), or a date (its midnight; for
/// the end of the range, the next midnight, so the day is included).
pub(crate) fn parse_time(field: &str, raw: &str, end: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, fmt) {
            return Ok(t.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        let midnight = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        if let Some(t) = midnight {
            return Ok(if end { t + Duration::days(1) } else { t });
        }
    }
    Err(ApiError::bad_field(
        field,
        format!("{field} '{raw}' is not a time: give an RFC 3339 time or a date (YYYY-MM-DD)"),
    ))
}

fn parse(q: &FocusedAuditQuery) -> Result<Parsed, ApiError> {
    let person = clean(&q.person).map(|p| p.strip_prefix("user:").unwrap_or(&p).to_string());
    let case = clean(&q.case);
    let record = match (clean(&q.record_type), clean(&q.record_id)) {
        (Some(t), Some(id)) => Some((t, id)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::bad_field(
                "record_id",
                "a record is named by its type and its id: record_id is missing",
            ))
        }
        (None, Some(_)) => {
            return Err(ApiError::bad_field(
                "record_type",
                "a record is named by its type and its id: record_type is missing",
            ))
        }
    };
    if case.is_some() && record.is_some() {
        return Err(ApiError::bad_request(
            "name either a case or a record: the case scope is the record of type 'case'",
        ));
    }
    let action = clean(&q.action);
    for (field, v) in [
        ("person", &person),
        ("case", &case),
        ("action", &action),
        ("reason", &clean(&q.reason)),
    ] {
        if v.as_deref().is_some_and(|s| s.chars().count() > 500) {
            return Err(ApiError::bad_field(field, format!("{field} is too long")));
        }
    }
    if person.is_none() && case.is_none() && record.is_none() && action.is_none() {
        return Err(ApiError::bad_request(
            "a focused audit needs a scope (SEC-05): name a person, a case, a record or an action, \
             and a time range",
        )
        .with_missing(vec![
            "person".into(),
            "case".into(),
            "record_type".into(),
            "record_id".into(),
            "action".into(),
        ]));
    }
    let from = clean(&q.from).ok_or_else(|| {
        ApiError::bad_field("from", "a focused audit needs the start of its time range")
    })?;
    let to = clean(&q.to).ok_or_else(|| {
        ApiError::bad_field("to", "a focused audit needs the end of its time range")
    })?;
    let from = parse_time("from", &from, false)?;
    let to = parse_time("to", &to, true)?;
    if from >= to {
        return Err(ApiError::bad_field(
            "to",
            format!(
                "the time range is inverted or empty: from {} is not before to {}",
                from.to_rfc3339(),
                to.to_rfc3339()
            ),
        ));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_field(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        ));
    }
    Ok(Parsed {
        person,
        case,
        record,
        action,
        from,
        to,
        reason: clean(&q.reason),
        limit,
    })
}

// ------------------------------------------------------------------ the decision

/// The scope a caller may audit without naming anyone: the commands they command, or the whole
/// Department when they command none. Used to gate the routes before any lookup (so that a person
/// who may audit nothing learns nothing of who or what exists) and by the navigation hint.
pub fn own_scope(p: &Principal) -> Resource {
    let commands = p.access.commands_with_role(Role::CommandingOfficer);
    let department_wide = commands.is_empty();
    Resource::AuditScope {
        commands,
        department_wide,
    }
}

/// The request, resolved against the store: what the trail is asked, and the real scope.
struct Resolved {
    parsed: Parsed,
    store_scope: audit::FocusedScope,
    commands: BTreeSet<CommandCode>,
    department_wide: bool,
}

async fn resolve(state: &AppState, parsed: Parsed) -> Result<Resolved, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let mut commands: BTreeSet<CommandCode> = BTreeSet::new();
    let mut unknown_command = false;
    let mut add = |code: &str, commands: &mut BTreeSet<CommandCode>| match CommandCode::parse(code)
    {
        Ok(c) => {
            commands.insert(c);
        }
        Err(_) => unknown_command = true,
    };
    let mut record = parsed.record.clone();
    if let Some(username) = &parsed.person {
        let user = users::get_by_username(&mut tx, username)
            .await
            .map_err(crate::store_error)?
            .ok_or_else(|| ApiError::not_found(format!("person '{username}'")))?;
        if let Some(home) = &user.command {
            add(home, &mut commands);
        }
        for a in assignments::for_user(&mut tx, user.id)
            .await
            .map_err(crate::store_error)?
        {
            let overlaps = a.starts_at < parsed.to && a.ends_at.is_none_or(|e| e > parsed.from);
            if overlaps {
                add(&a.command, &mut commands);
            }
        }
    }
    if let Some(number) = &parsed.case {
        let case = cases::get_by_number(&mut tx, number)
            .await
            .map_err(crate::store_error)?
            .ok_or_else(|| ApiError::not_found(format!("case '{number}'")))?;
        add(&case.command, &mut commands);
        record = Some(("case".to_string(), case.case_number.clone()));
    }
    tx.rollback().await.map_err(crate::store_error)?;
    let names_someone = parsed.person.is_some() || parsed.case.is_some();
    let department_wide = !names_someone || commands.is_empty() || unknown_command;
    let store_scope = audit::FocusedScope {
        actor: parsed.person.as_ref().map(|u| format!("user:{u}")),
        action: parsed.action.clone(),
        record,
        from: Some(parsed.from),
        to: Some(parsed.to),
        through_seq: None,
        limit: parsed.limit + 1,
    };
    Ok(Resolved {
        parsed,
        store_scope,
        commands,
        department_wide,
    })
}

fn scope_view(r: &Resolved) -> FocusedAuditScope {
    let p = &r.parsed;
    let (record_type, record_id) = match (&p.case, &p.record) {
        (None, Some((t, id))) => (Some(t.clone()), Some(id.clone())),
        _ => (None, None),
    };
    FocusedAuditScope {
        person: p.person.clone(),
        case: p.case.clone(),
        record_type,
        record_id,
        action: p.action.clone(),
        from: p.from.to_rfc3339(),
        to: p.to.to_rfc3339(),
        reason: p.reason.clone(),
        commands: r.commands.iter().map(|c| c.as_str().to_string()).collect(),
        department_wide: r.department_wide,
    }
}

fn chain_view(
    v: &audit::VerifyReport,
    entries: &[FocusedAuditEntry],
    p: &Parsed,
) -> FocusedAuditChain {
    let range = format!("{} to {}", p.from.to_rfc3339(), p.to.to_rfc3339());
    let covered = match (entries.first(), entries.last()) {
        (Some(a), Some(b)) => format!(
            "the {} entries of this report (entries {} to {})",
            entries.len(),
            a.seq,
            b.seq
        ),
        _ => "this report, which holds no entry".to_string(),
    };
    let statement = match &v.problem {
        None => format!(
            "The audit chain verified over {range}: all {} entries, from the first to the signed \
             head (entry {}), are unaltered and linked, and {} signed checkpoints are valid; this \
             covers {covered}.",
            v.entries, v.head_seq, v.checkpoints
        ),
        Some(problem) => {
            let affected = entries.iter().filter(|e| e.seq >= problem.seq).count();
            format!(
                "The audit chain did NOT verify over {range}: {problem}. Entries from {} on cannot \
                 be relied on; {affected} of the {} entries of this report are among them. Report \
                 this to the Internal Affairs Bureau and keep this report.",
                problem.seq,
                entries.len()
            )
        }
    };
    FocusedAuditChain {
        verified: v.is_valid(),
        entries_checked: v.entries,
        checkpoints_checked: v.checkpoints,
        head_seq: v.head_seq,
        first_bad_entry: v.problem.as_ref().map(|p| p.seq),
        problem: v.problem.as_ref().map(|p| p.message.clone()),
        statement,
    }
}

fn entry_view(e: &audit::AuditEntry) -> FocusedAuditEntry {
    FocusedAuditEntry {
        seq: e.seq,
        at: e.at.to_rfc3339(),
        actor: e.actor.clone(),
        action: e.action.clone(),
        record_type: e.record_type.clone(),
        record_id: e.record_id.clone(),
        reason: e.reason.clone(),
        outcome: e.outcome.clone(),
        detail: e.detail.clone(),
        hash: e.hash.clone(),
    }
}

/// Gates the caller, checks the request, decides on its real scope, verifies the chain, reads the
/// entries and records the request. `format` (`json`, `csv`, `pdf`, `page`) goes into the record.
async fn run(
    state: &AppState,
    caller: &Principal,
    q: &FocusedAuditQuery,
    format: &str,
) -> Result<FocusedAuditReport, ApiError> {
    crate::decision::require(
        state,
        caller,
        Action::AuditFocused,
        &own_scope(caller),
        "audit",
        "focused",
    )
    .await?;
    let parsed = parse(q)?;
    let mut resolved = resolve(state, parsed).await?;
    let scope = Resource::AuditScope {
        commands: resolved.commands.clone(),
        department_wide: resolved.department_wide,
    };
    let view = scope_view(&resolved);
    let decision = crate::decision::decide_for(state, caller, Action::AuditFocused, &scope);
    if !decision.allowed {
        // The refusal is recorded with the scope asked for.
        audit::record(
            &state.store,
            &audit::AuditEvent {
                actor: caller.actor(),
                action: Action::AuditFocused.as_str().into(),
                record_type: "audit".into(),
                record_id: "focused".into(),
                reason: resolved.parsed.reason.clone(),
                outcome: audit::Outcome::Denied,
                detail: serde_json::json!({
                    "rule": decision.rule,
                    "scope": view,
                    "format": format,
                    "at": state.clock.now().to_rfc3339(),
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        let commands = if view.department_wide {
            "every command".to_string()
        } else {
            view.commands.join(", ")
        };
        return Err(ApiError::forbidden(
            decision.rule,
            format!(
                "you may not audit this scope: it covers {commands}, and a commanding officer \
                 audits only the people and cases of their own command ({})",
                decision.reason
            ),
        ));
    }

    let verification = audit::verify(&state.store)
        .await
        .map_err(crate::store_error)?;
    resolved.store_scope.through_seq = Some(verification.head_seq);
    let limit = resolved.parsed.limit as usize;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut found = audit::focused(&mut tx, &resolved.store_scope)
        .await
        .map_err(crate::store_error)?;
    let truncated = found.len() > limit;
    found.truncate(limit);
    let entries: Vec<FocusedAuditEntry> = found.iter().map(entry_view).collect();
    let chain = chain_view(&verification, &entries, &resolved.parsed);
    let recorded = audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: caller.actor(),
            action: Action::AuditFocused.as_str().into(),
            record_type: "audit".into(),
            record_id: "focused".into(),
            reason: resolved.parsed.reason.clone(),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": decision.rule,
                "scope": view,
                "format": format,
                "returned": entries.len(),
                "truncated": truncated,
                "chain_verified": chain.verified,
                "chain_head": chain.head_seq,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(FocusedAuditReport {
        scope: view,
        requested_by: caller.actor(),
        requested_at: state.clock.now().to_rfc3339(),
        rule: decision.rule,
        entries,
        truncated,
        chain,
        request_entry: recorded.seq,
    })
}

// ------------------------------------------------------------------ CSV and PDF

fn csv_row(out: &mut String, fields: &[&str]) {
    let row: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&row.join(","));
    out.push_str("\r\n");
}

/// The report as CSV: the scope and the chain statement as `field,value` rows, an empty line,
/// then the entries with a header row.
pub fn report_csv_text(r: &FocusedAuditReport) -> String {
    let mut out = String::new();
    let s = &r.scope;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let head = r.chain.head_seq.to_string();
    let request = r.request_entry.to_string();
    let count = r.entries.len().to_string();
    let commands = s.commands.join(" ");
    for (k, v) in [
        ("report", "Focused audit (SEC-05)"),
        ("requested_by", r.requested_by.as_str()),
        ("requested_at", r.requested_at.as_str()),
        ("rule", r.rule.as_str()),
        ("person", opt(&s.person).as_str()),
        ("case", opt(&s.case).as_str()),
        ("record_type", opt(&s.record_type).as_str()),
        ("record_id", opt(&s.record_id).as_str()),
        ("action", opt(&s.action).as_str()),
        ("from", s.from.as_str()),
        ("to", s.to.as_str()),
        ("reason", opt(&s.reason).as_str()),
        ("commands", commands.as_str()),
        (
            "department_wide",
            if s.department_wide { "true" } else { "false" },
        ),
        (
            "chain_verified",
            if r.chain.verified { "true" } else { "false" },
        ),
        ("chain_head", head.as_str()),
        ("chain_statement", r.chain.statement.as_str()),
        ("entries", count.as_str()),
        ("truncated", if r.truncated { "true" } else { "false" }),
        ("request_entry", request.as_str()),
    ] {
        csv_row(&mut out, &[k, v]);
    }
    out.push_str("\r\n");
    csv_row(
        &mut out,
        &[
            "seq",
            "at",
            "actor",
            "action",
            "record_type",
            "record_id",
            "reason",
            "outcome",
            "detail",
            "hash",
        ],
    );
    for e in &r.entries {
        let seq = e.seq.to_string();
        csv_row(
            &mut out,
            &[
                &seq,
                &e.at,
                &e.actor,
                &e.action,
                &e.record_type,
                &e.record_id,
                e.reason.as_deref().unwrap_or_default(),
                &e.outcome,
                &e.detail,
                &e.hash,
            ],
        );
    }
    out
}

/// The report as PDF.
pub fn report_document(r: &FocusedAuditReport) -> Vec<u8> {
    let s = &r.scope;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut doc = crate::pdf::Document::new("Focused audit");
    doc.subtitle("Produced from the audit trail (SEC-05)")
        .field("Requested by", &r.requested_by)
        .field("Requested at", &r.requested_at)
        .field("Permitted by", &r.rule)
        .field("Reason", &opt(&s.reason))
        .heading("Scope")
        .field("Person", &opt(&s.person))
        .field("Case", &opt(&s.case))
        .field(
            "Record",
            &match (&s.record_type, &s.record_id) {
                (Some(t), Some(id)) => format!("{t} {id}"),
                _ => "-".into(),
            },
        )
        .field("Action", &opt(&s.action))
        .field("From", &s.from)
        .field("To (exclusive)", &s.to)
        .field(
            "Commands",
            &if s.department_wide {
                "every command".to_string()
            } else {
                s.commands.join(", ")
            },
        )
        .heading("Chain verification")
        .field("Verified", if r.chain.verified { "yes" } else { "NO" })
        .field("Signed head", &r.chain.head_seq.to_string())
        .paragraph(&r.chain.statement)
        .heading(&format!(
            "Entries ({}{})",
            r.entries.len(),
            if r.truncated {
                ", more match: narrow the scope"
            } else {
                ""
            }
        ));
    if r.entries.is_empty() {
        doc.paragraph("No entry of the trail matches this scope.");
    } else {
        let rows: Vec<Vec<String>> = r
            .entries
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.at.clone(),
                    e.actor.clone(),
                    e.action.clone(),
                    format!("{} {}", e.record_type, e.record_id),
                    e.outcome.clone(),
                ]
            })
            .collect();
        doc.table(&["#", "When", "Who", "Action", "Record", "Outcome"], &rows);
    }
    doc.paragraph(&format!(
        "This request is itself recorded in the audit trail as entry {}.",
        r.request_entry
    ));
    doc.render()
}

// ------------------------------------------------------------------ handlers

async fn report_api(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<FocusedAuditQuery>,
) -> Result<Json<FocusedAuditReport>, ApiError> {
    Ok(Json(run(&state, &caller, &q, "json").await?))
}

fn filename(r: &FocusedAuditReport, ext: &str) -> String {
    let stamp: String = r
        .requested_at
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    format!("focused-audit-{}-{stamp}.{ext}", r.request_entry)
}

async fn report_csv(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<FocusedAuditQuery>,
) -> Result<Response, ApiError> {
    let r = run(&state, &caller, &q, "csv").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", filename(&r, "csv")),
            ),
        ],
        report_csv_text(&r),
    )
        .into_response())
}

async fn report_pdf(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Query(q): Query<FocusedAuditQuery>,
) -> Result<Response, ApiError> {
    let r = run(&state, &caller, &q, "pdf").await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}\"", filename(&r, "pdf")),
            ),
        ],
        report_document(&r),
    )
        .into_response())
}

async fn report_page(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    Query(q): Query<FocusedAuditQuery>,
) -> Response {
    let raw = raw.unwrap_or_default();
    let form = context! {
        person => q.person.clone().unwrap_or_default(),
        case => q.case.clone().unwrap_or_default(),
        record_type => q.record_type.clone().unwrap_or_default(),
        record_id => q.record_id.clone().unwrap_or_default(),
        action => q.action.clone().unwrap_or_default(),
        from => q.from.clone().unwrap_or_default(),
        to => q.to.clone().unwrap_or_default(),
        reason => q.reason.clone().unwrap_or_default(),
    };
    let asked = [
        &q.person,
        &q.case,
        &q.record_type,
        &q.record_id,
        &q.action,
        &q.from,
        &q.to,
    ]
    .iter()
    .any(|v| clean(v).is_some());
    let render = |status: StatusCode, report: Option<FocusedAuditReport>, error: Option<String>| {
        let mut resp = page(
            &state,
            &headers,
            Some(&caller),
            "focused_audit.html",
            "/audit/focused",
            context! {
                form => form.clone(),
                report => report,
                error => error,
                query => raw.clone(),
            },
        );
        if resp.status().is_success() {
            *resp.status_mut() = status;
        }
        resp
    };
    if !asked {
        // The empty form: only for someone who may audit something.
        return match crate::decision::require(
            &state,
            &caller,
            Action::AuditFocused,
            &own_scope(&caller),
            "audit",
            "focused",
        )
        .await
        {
            Ok(_) => render(StatusCode::OK, None, None),
            Err(e) => error_response(&state, true, e),
        };
    }
    match run(&state, &caller, &q, "page").await {
        Ok(report) => render(StatusCode::OK, Some(report), None),
        Err(e) if e.status == StatusCode::BAD_REQUEST => render(e.status, None, Some(e.detail)),
        Err(e) => error_response(&state, true, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sec_05_scope_and_range_are_required() {
        let base = FocusedAuditQuery {
            person: Some("det.rivera".into()),
            from: Some("2026-01-01".into()),
            to: Some("2026-01-31".into()),
            ..Default::default()
        };
        let p = parse(&base).expect("valid");
        assert_eq!(p.to.to_rfc3339(), "2026-02-01T00:00:00+00:00");
        let none = FocusedAuditQuery {
            person: Some("  ".into()),
            ..base.clone()
        };
        assert_eq!(
            parse(&none).err().map(|e| e.status),
            Some(StatusCode::BAD_REQUEST)
        );
        let inverted = FocusedAuditQuery {
            from: Some("2026-02-01T00:00:00Z".into()),
            to: Some("2026-01-01T00:00:00Z".into()),
            ..base.clone()
        };
        let e = parse(&inverted).expect_err("inverted");
        assert_eq!(e.field.as_deref(), Some("to"));
        let half_record = FocusedAuditQuery {
            record_type: Some("case".into()),
            ..base
        };
        assert!(parse(&half_record).is_err());
    }
}
