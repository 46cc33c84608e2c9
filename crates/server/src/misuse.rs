//! Allegations of misuse (SEC-06): taken in with who, what, when and which records; assigned to
//! the subject's command or to the Internal Affairs Bureau; tracked to an outcome; and shown
//! beside the audit entries that bear on them (the subject's activity in the period, and every
//! entry on the records named), read from the trail itself so they cannot drift from it.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use probity_domain::misuse::{MisuseAssignee, MisuseIntake, MisuseOutcome, MisuseSource};
use probity_store::misuse as mstore;
use probity_store::{audit, users};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
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
        M::POST,
        "/api/misuse-allegations",
        Access::action("misuse.report"),
        "Take in an allegation of misuse: who, what, when, which records (SEC-06)",
        post(intake_api),
    )
    .add(
        M::GET,
        "/api/misuse-allegations",
        Access::action("misuse.read"),
        "Allegations of misuse, newest first (SEC-06)",
        get(list_api),
    )
    .add(
        M::GET,
        "/api/misuse-allegations/{allegation}",
        Access::action("misuse.read"),
        "One allegation with the audit entries that bear on it (SEC-06)",
        get(get_api),
    )
    .add(
        M::POST,
        "/api/misuse-allegations/{allegation}/assign",
        Access::action("misuse.manage"),
        "Assign an allegation to the subject's command or to the Internal Affairs Bureau (SEC-06)",
        post(assign_api),
    )
    .add(
        M::POST,
        "/api/misuse-allegations/{allegation}/close",
        Access::action("misuse.manage"),
        "Close an assigned allegation with its outcome (SEC-06)",
        post(close_api),
    )
    .add(
        M::GET,
        "/misuse",
        Access::action("misuse.read"),
        "Allegations of misuse (page)",
        get(list_page),
    )
    .add(
        M::POST,
        "/misuse",
        Access::action("misuse.report"),
        "Take in an allegation (form)",
        post(intake_form),
    )
    .add(
        M::GET,
        "/misuse/{allegation}",
        Access::action("misuse.read"),
        "One allegation with its audit entries (page)",
        get(detail_page),
    )
    .add(
        M::POST,
        "/misuse/{allegation}/assign",
        Access::action("misuse.manage"),
        "Assign an allegation (form)",
        post(assign_form),
    )
    .add(
        M::POST,
        "/misuse/{allegation}/close",
        Access::action("misuse.manage"),
        "Close an allegation (form)",
        post(close_form),
    )
}

/// An allegation to take in.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AllegationInput {
    /// The member alleged to have misused the system (username).
    #[serde(default)]
    pub subject: String,
    /// What happened.
    #[serde(default)]
    pub description: String,
    /// When it began (RFC 3339 or YYYY-MM-DD).
    #[serde(default)]
    pub occurred_from: String,
    /// When it ended (RFC 3339 or YYYY-MM-DD, that whole day).
    #[serde(default)]
    pub occurred_to: String,
    /// Records it concerns, as `type:id` (e.g. `case:2026-019-000101`, `evidence:<id>`).
    #[serde(default)]
    pub records: Vec<String>,
    /// complaint, audit, supervisor, anonymous or other.
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MisuseAssignInput {
    /// `command` (the subject's command) or `iab`.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MisuseCloseInput {
    /// substantiated, unsubstantiated, unfounded or exonerated.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllegationView {
    pub id: String,
    pub subject: String,
    pub subject_command: Option<String>,
    pub description: String,
    pub occurred_from: String,
    pub occurred_to: String,
    pub records: Vec<String>,
    pub source: String,
    pub received_by: String,
    pub received_at: String,
    /// received, assigned or closed.
    pub status: String,
    pub assigned_to: Option<String>,
    pub assigned_by: Option<String>,
    pub assignment_reason: Option<String>,
    pub outcome: Option<String>,
    pub outcome_note: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
}

/// An audit entry that bears on an allegation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BearingEntry {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub outcome: String,
    /// The entry's chain hash.
    pub hash: String,
    /// Why it bears: the subject's activity in the period, or a named record.
    pub why: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllegationDetail {
    pub allegation: AllegationView,
    pub audit_entries: Vec<BearingEntry>,
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn view(a: &mstore::Allegation) -> AllegationView {
    AllegationView {
        id: a.id.to_string(),
        subject: a.subject_username.clone(),
        subject_command: a.subject_command.clone(),
        description: a.description.clone(),
        occurred_from: a.occurred_from.to_rfc3339(),
        occurred_to: a.occurred_to.to_rfc3339(),
        records: a
            .records
            .iter()
            .map(|r| format!("{}:{}", r.kind, r.id))
            .collect(),
        source: a.source.clone(),
        received_by: a.received_by_username.clone(),
        received_at: a.received_at.to_rfc3339(),
        status: a.status.clone(),
        assigned_to: a.assigned_to.clone(),
        assigned_by: a.assigned_by_username.clone(),
        assignment_reason: a.assignment_reason.clone(),
        outcome: a.outcome.clone(),
        outcome_note: a.outcome_note.clone(),
        closed_by: a.closed_by_username.clone(),
        closed_at: a.closed_at.map(|t| t.to_rfc3339()),
    }
}

/// A time as given: RFC 3339, or a day (its start, or with `end` the start of the next day).
fn parse_time(
    field: &'static str,
    raw: &str,
    end: bool,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let d = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_field(
            field,
            format!("{raw:?}: give YYYY-MM-DD or an RFC 3339 time"),
        )
    })?;
    let d = if end { d.succ_opt().unwrap_or(d) } else { d };
    Ok(Some(d.and_time(chrono::NaiveTime::MIN).and_utc()))
}

fn parse_records(raw: &[String]) -> Result<Vec<mstore::RecordRef>, ApiError> {
    raw.iter()
        .map(|r| r.trim())
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (kind, id) = r.split_once(':').ok_or_else(|| {
                ApiError::bad_field(
                    "records",
                    format!("{r:?}: give type:id, e.g. case:2026-019-000101"),
                )
            })?;
            if kind.trim().is_empty() || id.trim().is_empty() {
                return Err(ApiError::bad_field(
                    "records",
                    format!("{r:?}: give type:id"),
                ));
            }
            Ok(mstore::RecordRef {
                kind: kind.trim().to_string(),
                id: id.trim().to_string(),
            })
        })
        .collect()
}

fn audit_step(
    auth: &Authorized,
    action: &str,
    id: Uuid,
    reason: Option<String>,
    detail: serde_json::Value,
) -> audit::AuditEvent {
    let mut d = detail;
    d["rule"] = serde_json::Value::String(auth.rule.clone());
    audit::AuditEvent {
        actor: auth.principal.actor(),
        action: action.into(),
        record_type: "misuse_allegation".into(),
        record_id: id.to_string(),
        reason,
        outcome: audit::Outcome::Success,
        detail: d,
    }
}

pub async fn intake(
    state: &AppState,
    auth: &Authorized,
    input: AllegationInput,
    now: DateTime<Utc>,
) -> Result<AllegationView, ApiError> {
    let intake = MisuseIntake {
        subject: input.subject.trim().to_string(),
        description: input.description.trim().to_string(),
        occurred_from: parse_time("occurred_from", &input.occurred_from, false)?,
        occurred_to: parse_time("occurred_to", &input.occurred_to, true)?,
    };
    let (from, to) = intake.validate(now).map_err(crate::domain_error)?;
    let source = match input.source.trim() {
        "" => MisuseSource::Other,
        s => MisuseSource::from_str(s).map_err(|e| ApiError::bad_field("source", e.to_string()))?,
    };
    let records = parse_records(&input.records)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let subject = users::get_by_username(&mut tx, &intake.subject)
        .await
        .map_err(se)?
        .ok_or_else(|| {
            ApiError::bad_field("subject", format!("no account {}", intake.subject))
                .with_rule("SEC-06")
        })?;
    let a = mstore::Allegation {
        id: Uuid::now_v7(),
        subject_username: subject.username.clone(),
        subject_command: subject.command.clone(),
        description: intake.description.clone(),
        occurred_from: from,
        occurred_to: to,
        records,
        source: source.as_str().into(),
        received_by: auth.principal.user.id,
        received_by_username: auth.principal.user.username.clone(),
        received_at: now,
        status: "received".into(),
        assigned_to: None,
        assigned_by_username: None,
        assigned_at: None,
        assignment_reason: None,
        outcome: None,
        outcome_note: None,
        closed_by_username: None,
        closed_at: None,
    };
    mstore::insert(&mut tx, &a).await.map_err(se)?;
    audit::append(
        &mut tx,
        &audit_step(
            auth,
            "misuse.intake",
            a.id,
            None,
            serde_json::json!({ "subject": a.subject_username, "source": a.source,
                                "records": a.records.len() }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(view(&a))
}

fn allegation_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found(format!("allegation {raw}")))
}

/// The allegation with the audit entries that bear on it, the read itself audited.
pub async fn detail(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
) -> Result<AllegationDetail, ApiError> {
    let id = allegation_id(raw)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let a = mstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("allegation {id}")))?;
    let mut entries: Vec<BearingEntry> = Vec::new();
    let bearing = |e: audit::AuditEntry, why: String| BearingEntry {
        seq: e.seq,
        at: e.at.to_rfc3339(),
        actor: e.actor,
        action: e.action,
        record_type: e.record_type,
        record_id: e.record_id,
        outcome: e.outcome,
        hash: e.hash,
        why,
    };
    let activity = audit::focused(
        &mut tx,
        &audit::FocusedScope {
            actor: Some(format!("user:{}", a.subject_username)),
            from: Some(a.occurred_from),
            to: Some(a.occurred_to),
            limit: 500,
            ..Default::default()
        },
    )
    .await
    .map_err(se)?;
    for e in activity {
        entries.push(bearing(e, "the subject's activity in the period".into()));
    }
    for r in &a.records {
        let on_record = audit::focused(
            &mut tx,
            &audit::FocusedScope {
                record: Some((r.kind.clone(), r.id.clone())),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .map_err(se)?;
        for e in on_record {
            if !entries.iter().any(|x| x.seq == e.seq) {
                entries.push(bearing(e, format!("on {}:{}", r.kind, r.id)));
            }
        }
    }
    entries.sort_by_key(|e| e.seq);
    audit::append(
        &mut tx,
        &audit_step(
            auth,
            "misuse.read",
            a.id,
            None,
            serde_json::json!({ "entries": entries.len() }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(AllegationDetail {
        allegation: view(&a),
        audit_entries: entries,
    })
}

pub async fn list(state: &AppState, auth: &Authorized) -> Result<Vec<AllegationView>, ApiError> {
    let mut tx = state.store.begin().await.map_err(se)?;
    let all = mstore::list(&mut tx).await.map_err(se)?;
    let mut e = audit_step(
        auth,
        "misuse.list",
        Uuid::nil(),
        None,
        serde_json::json!({ "count": all.len() }),
    );
    e.record_id = "*".into();
    audit::append(&mut tx, &e).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(all.iter().map(view).collect())
}

pub async fn assign(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: MisuseAssignInput,
    now: DateTime<Utc>,
) -> Result<AllegationView, ApiError> {
    let id = allegation_id(raw)?;
    let to = MisuseAssignee::from_str(input.to.trim())
        .map_err(|e| ApiError::bad_field("to", e.to_string()).with_rule("SEC-06"))?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "say why it goes there (audited)",
        )
        .with_rule("SEC-06")
        .with_missing(vec!["reason".into()]));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let a = mstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("allegation {id}")))?;
    if to == MisuseAssignee::Command && a.subject_command.is_none() {
        return Err(ApiError::bad_field(
            "to",
            format!(
                "{} has no command: assign it to the Internal Affairs Bureau",
                a.subject_username
            ),
        )
        .with_rule("SEC-06"));
    }
    mstore::assign(
        &mut tx,
        id,
        to.as_str(),
        auth.principal.user.id,
        now,
        &reason,
    )
    .await
    .map_err(|e| se(e).with_rule("SEC-06"))?;
    audit::append(
        &mut tx,
        &audit_step(
            auth,
            "misuse.assign",
            id,
            Some(reason),
            serde_json::json!({ "to": to.as_str(), "command": a.subject_command }),
        ),
    )
    .await
    .map_err(se)?;
    let stored = mstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("allegation {id}")))?;
    tx.commit().await.map_err(se)?;
    Ok(view(&stored))
}

pub async fn close(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: MisuseCloseInput,
    now: DateTime<Utc>,
) -> Result<AllegationView, ApiError> {
    let id = allegation_id(raw)?;
    let outcome = MisuseOutcome::from_str(input.outcome.trim())
        .map_err(|e| ApiError::bad_field("outcome", e.to_string()).with_rule("SEC-06"))?;
    let note = input.note.trim().to_string();
    if note.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "an outcome says what was found (audited)",
        )
        .with_rule("SEC-06")
        .with_missing(vec!["note".into()]));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    mstore::close(
        &mut tx,
        id,
        outcome.as_str(),
        &note,
        auth.principal.user.id,
        now,
    )
    .await
    .map_err(|e| se(e).with_rule("SEC-06"))?;
    audit::append(
        &mut tx,
        &audit_step(
            auth,
            "misuse.close",
            id,
            Some(note),
            serde_json::json!({ "outcome": outcome.as_str() }),
        ),
    )
    .await
    .map_err(se)?;
    let stored = mstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("allegation {id}")))?;
    tx.commit().await.map_err(se)?;
    Ok(view(&stored))
}

// ------------------------------------------------------------------ JSON routes

pub async fn intake_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<AllegationInput>,
) -> Result<(StatusCode, Json<AllegationView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(intake(&state, &auth, input, state.clock.now()).await?),
    ))
}

pub async fn list_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Vec<AllegationView>>, ApiError> {
    Ok(Json(list(&state, &auth).await?))
}

pub async fn get_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<AllegationDetail>, ApiError> {
    Ok(Json(detail(&state, &auth, &raw).await?))
}

pub async fn assign_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<MisuseAssignInput>,
) -> Result<Json<AllegationView>, ApiError> {
    Ok(Json(
        assign(&state, &auth, &raw, input, state.clock.now()).await?,
    ))
}

pub async fn close_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<MisuseCloseInput>,
) -> Result<Json<AllegationView>, ApiError> {
    Ok(Json(
        close(&state, &auth, &raw, input, state.clock.now()).await?,
    ))
}

// ------------------------------------------------------------------ pages

pub async fn list_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match list(&state, &auth).await {
        Ok(rows) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "misuse.html",
            "/misuse",
            context! {
                allegations => rows,
                sources => MisuseSource::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn detail_page(
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
            "misuse_allegation.html",
            "/misuse",
            context! {
                a => d.allegation,
                entries => d.audit_entries,
                outcomes => MisuseOutcome::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                can_manage => crate::decision::hint(&state, &auth.principal, "misuse.manage"),
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct IntakeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub occurred_from: String,
    #[serde(default)]
    pub occurred_to: String,
    /// One `type:id` per line or separated by commas.
    #[serde(default)]
    pub records: String,
    #[serde(default)]
    pub source: String,
}

pub async fn intake_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(f): FormBody<IntakeForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        let input = AllegationInput {
            subject: f.subject,
            description: f.description,
            occurred_from: f.occurred_from,
            occurred_to: f.occurred_to,
            records: f
                .records
                .split([',', '\n'])
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            source: f.source,
        };
        intake(&state, &auth, input, state.clock.now()).await
    }
    .await;
    match done {
        Ok(a) => Redirect::to(&format!("/misuse/{}", a.id)).into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn assign_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(f): FormBody<AssignForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        assign(
            &state,
            &auth,
            &raw,
            MisuseAssignInput {
                to: f.to,
                reason: f.reason,
            },
            state.clock.now(),
        )
        .await
    }
    .await;
    match done {
        Ok(a) => Redirect::to(&format!("/misuse/{}", a.id)).into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

pub async fn close_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(f): FormBody<CloseForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        close(
            &state,
            &auth,
            &raw,
            MisuseCloseInput {
                outcome: f.outcome,
                note: f.note,
            },
            state.clock.now(),
        )
        .await
    }
    .await;
    match done {
        Ok(a) => Redirect::to(&format!("/misuse/{}", a.id)).into_response(),
        Err(e) => error_response(&state, true, e),
    }
}
