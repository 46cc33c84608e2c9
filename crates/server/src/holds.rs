//! Legal holds (RET-11): the Legal Bureau places a hold on a case, a person or a single item
//! with a matter name and a reason, and releases it with a reason. While a hold is in force the
//! record it names is never disposed, whatever its retention date: every disposition asks the
//! domain's [`probity_domain::may_dispose`] with the holds [`holds_on`] finds (the robot data
//! retention, [`crate::thermal::robot::run_retention`], does so per frame, directly and through
//! the case a frame was moved into).
//!
//! Routes are decided on the System resource, the pack's resource for `retention.*`: placing and
//! releasing need `retention.legal_hold`, listing `retention.read`. What a hold must name, and
//! that a release happens once, is the domain's ([`probity_domain::cases::check_new_hold`],
//! [`probity_domain::LegalHold::check_release`]). SQL lives in `probity_store::holds`; every place
//! and release is written with its audit entry in one transaction.

use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use probity_domain::retention::{check_new_hold, HoldSubjectKind};
use probity_domain::{LegalHold, UserId};
use probity_store::{audit, holds as hstore, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

/// Declares every legal hold route.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/holds",
        Access::action("retention.read"),
        "Legal holds, active and released; search by matter, record and status (RET-11)",
        get(list_api),
    )
    .add(
        M::POST,
        "/api/holds",
        Access::action("retention.legal_hold"),
        "Place a legal hold on a case, a person or a single item, with matter and reason (RET-11)",
        post(place_api),
    )
    .add(
        M::GET,
        "/api/holds/{hold}",
        Access::action("retention.read"),
        "One legal hold (RET-11)",
        get(get_api),
    )
    .add(
        M::POST,
        "/api/holds/{hold}/release",
        Access::action("retention.legal_hold"),
        "Release a legal hold, with a reason (RET-11)",
        post(release_api),
    )
    .add(
        M::GET,
        "/holds",
        Access::action("retention.read"),
        "Legal holds page",
        get(holds_page),
    )
    .add(
        M::POST,
        "/holds",
        Access::action("retention.legal_hold"),
        "Place a legal hold (form)",
        post(place_form),
    )
    .add(
        M::POST,
        "/holds/{hold}/release",
        Access::action("retention.legal_hold"),
        "Release a legal hold (form)",
        post(release_form),
    )
}

// ------------------------------------------------------------------ views and inputs

/// A legal hold as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HoldView {
    pub id: String,
    /// `case`, `user`, `person`, `evidence_item`, `robot_frame` or `fr_request`.
    pub subject_kind: String,
    /// The case number, the username, the person's name, or the item's id.
    pub subject: String,
    pub date_of_birth: Option<String>,
    pub matter: String,
    pub reason: String,
    /// `active` or `released`.
    pub status: String,
    pub placed_by: String,
    pub placed_at: String,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    pub release_reason: Option<String>,
}

fn view(h: &hstore::Hold) -> HoldView {
    HoldView {
        id: h.id.to_string(),
        subject_kind: h.subject_kind.clone(),
        subject: h.subject_ref.clone(),
        date_of_birth: h.date_of_birth.clone(),
        matter: h.matter.clone(),
        reason: h.reason.clone(),
        status: if h.released_at.is_some() {
            "released"
        } else {
            "active"
        }
        .to_string(),
        placed_by: h.placed_by_username.clone(),
        placed_at: h.placed_at.to_rfc3339(),
        released_by: h.released_by_username.clone(),
        released_at: h.released_at.map(|t| t.to_rfc3339()),
        release_reason: h.release_reason.clone(),
    }
}

/// The domain's view of a stored hold.
pub fn legal_hold(h: &hstore::Hold) -> LegalHold {
    LegalHold {
        reference: format!("{} (matter \"{}\")", h.id, h.matter),
        reason: h.reason.clone(),
        placed_by: UserId(h.placed_by),
        placed_at: h.placed_at,
        released_at: h.released_at,
    }
}

/// Every hold, in force or released, naming any of `subjects` (`(kind, reference)`), as the
/// domain's holds: [`probity_domain::may_dispose`] decides which are in force.
pub async fn holds_on(tx: &mut Tx, subjects: &[(&str, &str)]) -> Result<Vec<LegalHold>, ApiError> {
    Ok(hstore::on_subjects(tx, subjects)
        .await
        .map_err(crate::store_error)?
        .iter()
        .map(legal_hold)
        .collect())
}

/// The holds on a robot frame: on the frame itself, and on the case it was moved into.
pub async fn holds_on_robot_frame(
    tx: &mut Tx,
    frame: &probity_store::thermal::RobotFrame,
) -> Result<Vec<LegalHold>, ApiError> {
    let id = frame.id.to_string();
    let case_number = match frame.case_id {
        Some(case) => probity_store::cases::get(tx, case)
            .await
            .map_err(crate::store_error)?
            .map(|c| c.case_number),
        None => None,
    };
    let mut subjects = vec![(HoldSubjectKind::RobotFrame.as_str(), id.as_str())];
    if let Some(n) = &case_number {
        subjects.push((HoldSubjectKind::Case.as_str(), n.as_str()));
    }
    holds_on(tx, &subjects).await
}

/// A hold to place.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PlaceInput {
    /// `case`, `user`, `person`, `evidence_item`, `robot_frame` or `fr_request`.
    #[serde(default)]
    pub subject_kind: String,
    /// The case number, the username, the person's name, or the item's id.
    #[serde(default)]
    pub subject: String,
    /// A named person's date of birth, `YYYY-MM-DD` (optional; persons only).
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// The matter (litigation, investigation, claim) the record is held for.
    #[serde(default)]
    pub matter: String,
    #[serde(default)]
    pub reason: String,
}

/// A release.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReleaseInput {
    #[serde(default)]
    pub reason: String,
}

/// A search of holds.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SearchQuery {
    /// Part of the matter's name.
    pub matter: Option<String>,
    /// Part of the record's reference (case number, username, name, id) or its kind.
    pub record: Option<String>,
    /// `active`, `released` or `all` (the default).
    pub status: Option<String>,
}

fn unknown_record(detail: String) -> ApiError {
    let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unknown-record", detail);
    e.field = Some("subject".into());
    e.with_rule("RET-11")
}

fn item_id(subject: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::from_str(subject.trim()).map_err(|_| {
        unknown_record(format!(
            "{subject:?} is not an id of a {what}: a legal hold names an existing record (RET-11)"
        ))
    })
}

/// Resolves the subject to the stored record it names; returns its canonical reference.
async fn resolve(tx: &mut Tx, kind: HoldSubjectKind, subject: &str) -> Result<String, ApiError> {
    use probity_store as s;
    let subject = subject.trim();
    let none = |what: &str| {
        unknown_record(format!(
            "no {what} {subject:?} exists: a legal hold names an existing record (RET-11)"
        ))
    };
    let se = crate::store_error;
    Ok(match kind {
        HoldSubjectKind::Case => {
            s::cases::get_by_number(tx, subject)
                .await
                .map_err(se)?
                .ok_or_else(|| none("case numbered"))?
                .case_number
        }
        HoldSubjectKind::User => {
            s::users::get_by_username(tx, subject)
                .await
                .map_err(se)?
                .ok_or_else(|| none("member with username"))?
                .username
        }
        // A named person outside the system: the name as given.
        HoldSubjectKind::Person => subject.split_whitespace().collect::<Vec<_>>().join(" "),
        HoldSubjectKind::EvidenceItem => {
            let id = item_id(subject, "camera evidence item")?;
            s::evidence::get_item(tx, id)
                .await
                .map_err(se)?
                .ok_or_else(|| none("evidence item"))?
                .id
                .to_string()
        }
        HoldSubjectKind::RobotFrame => {
            let id = item_id(subject, "robot thermal frame")?;
            let f = s::thermal::get_robot_frame(tx, id)
                .await
                .map_err(se)?
                .ok_or_else(|| none("robot thermal frame"))?;
            if f.disposed_at.is_some() {
                return Err(ApiError::new(
                    StatusCode::GONE,
                    "destroyed",
                    format!("robot frame {id} was already destroyed: nothing is left to hold"),
                )
                .with_rule("RET-11"));
            }
            f.id.to_string()
        }
        HoldSubjectKind::FrRequest => {
            let id = item_id(subject, "facial recognition request")?;
            s::fr::get(tx, id)
                .await
                .map_err(se)?
                .ok_or_else(|| none("facial recognition request"))?
                .id
                .to_string()
        }
    })
}

// ------------------------------------------------------------------ operations

/// Places a hold (RET-11): validated by the domain, the record resolved, stored and audited in
/// one transaction.
pub async fn place(
    state: &AppState,
    auth: &Authorized,
    input: PlaceInput,
    now: DateTime<Utc>,
) -> Result<HoldView, ApiError> {
    let p = &auth.principal;
    let kind = HoldSubjectKind::parse(&input.subject_kind).map_err(|e| {
        ApiError::bad_field("subject_kind", e.to_string()).with_rule("RET-11".to_string())
    })?;
    let dob = match input.date_of_birth.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
            ApiError::bad_field("date_of_birth", format!("{d:?} is not a date (YYYY-MM-DD)"))
        })?),
    };
    check_new_hold(
        kind,
        &input.subject,
        &input.matter,
        &input.reason,
        dob,
        now.date_naive(),
    )
    .map_err(crate::domain_error)?;
    let matter = input.matter.trim().to_string();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let subject = resolve(&mut tx, kind, &input.subject).await?;
    let existing = hstore::on_subjects(&mut tx, &[(kind.as_str(), subject.as_str())])
        .await
        .map_err(crate::store_error)?;
    if let Some(h) = existing
        .iter()
        .find(|h| h.released_at.is_none() && h.matter.eq_ignore_ascii_case(&matter))
    {
        return Err(ApiError::conflict(format!(
            "{} {subject} is already held for matter \"{}\" (hold {})",
            kind.as_str(),
            h.matter,
            h.id
        ))
        .with_rule("RET-11"));
    }
    let hold = hstore::place(
        &mut tx,
        &hstore::NewHold {
            subject_kind: kind.as_str().to_string(),
            subject_ref: subject.clone(),
            date_of_birth: dob.map(|d| d.to_string()),
            matter: matter.clone(),
            reason: input.reason.trim().to_string(),
            placed_by: p.user.id,
            placed_at: now,
        },
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "retention.hold.place".into(),
            record_type: "legal_hold".into(),
            record_id: hold.id.to_string(),
            reason: Some(hold.reason.clone()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "requirement": "RET-11",
                "subject_kind": kind.as_str(),
                "subject": subject,
                "matter": matter,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(view(&hold))
}

fn hold_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::from_str(raw.trim()).map_err(|_| ApiError::not_found(format!("legal hold {raw}")))
}

/// Releases a hold (RET-11), once, with a reason; audited in the same transaction.
pub async fn release(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: ReleaseInput,
    now: DateTime<Utc>,
) -> Result<HoldView, ApiError> {
    let p = &auth.principal;
    let id = hold_id(raw_id)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let current = hstore::get(&mut tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("legal hold {id}")))?;
    legal_hold(&current)
        .check_release(&input.reason)
        .map_err(|e| match e {
            probity_domain::DomainError::Refused { rule, .. } => {
                ApiError::conflict(e.to_string()).with_rule(rule.to_string())
            }
            other => crate::domain_error(other),
        })?;
    let reason = input.reason.trim().to_string();
    let hold = hstore::release(&mut tx, id, p.user.id, now, &reason)
        .await
        .map_err(|e| crate::store_error(e).with_rule("RET-11"))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "retention.hold.release".into(),
            record_type: "legal_hold".into(),
            record_id: hold.id.to_string(),
            reason: Some(reason),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "requirement": "RET-11",
                "subject_kind": hold.subject_kind,
                "subject": hold.subject_ref,
                "matter": hold.matter,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(view(&hold))
}

/// Holds matching the search, newest first; the read is audited (SEC-04).
pub async fn search(
    state: &AppState,
    auth: &Authorized,
    q: &SearchQuery,
) -> Result<Vec<HoldView>, ApiError> {
    let status = match q.status.as_deref().map(str::trim) {
        None | Some("") | Some("all") => hstore::Status::Any,
        Some("active") => hstore::Status::Active,
        Some("released") => hstore::Status::Released,
        Some(other) => {
            return Err(ApiError::bad_field(
                "status",
                format!("{other:?} is not a hold status: give active, released or all"),
            ))
        }
    };
    let filter = hstore::Filter {
        matter: q.matter.clone().filter(|m| !m.trim().is_empty()),
        record: q.record.clone().filter(|r| !r.trim().is_empty()),
        status,
        limit: 500,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let holds = hstore::list(&mut tx, &filter)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "retention.hold.list".into(),
            record_type: "legal_hold".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": holds.len() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(holds.iter().map(view).collect())
}

// ------------------------------------------------------------------ JSON API

pub async fn list_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<HoldView>>, ApiError> {
    Ok(Json(search(&state, &auth, &q).await?))
}

pub async fn place_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<PlaceInput>,
) -> Result<(StatusCode, Json<HoldView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(place(&state, &auth, input, state.clock.now()).await?),
    ))
}

pub async fn get_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<HoldView>, ApiError> {
    let id = hold_id(&raw)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let hold = hstore::get(&mut tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("legal hold {id}")))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "retention.hold.read".into(),
            record_type: "legal_hold".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(Json(view(&hold)))
}

pub async fn release_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<ReleaseInput>,
) -> Result<Json<HoldView>, ApiError> {
    Ok(Json(
        release(&state, &auth, &raw, input, state.clock.now()).await?,
    ))
}

// ------------------------------------------------------------------ web pages

pub async fn holds_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    match search(&state, &auth, &q).await {
        Ok(holds) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "holds.html",
            "/holds",
            context! {
                // Only shapes the page: each post is decided by its route.
                can_hold => crate::decision::hint(&state, &auth.principal, "retention.legal_hold"),
                holds => holds,
                kinds => HoldSubjectKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                q => context! {
                    matter => q.matter.clone().unwrap_or_default(),
                    record => q.record.clone().unwrap_or_default(),
                    status => q.status.clone().unwrap_or_default(),
                },
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct PlaceForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub subject_kind: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub date_of_birth: String,
    #[serde(default)]
    pub matter: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn place_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<PlaceForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = PlaceInput {
        subject_kind: form.subject_kind,
        subject: form.subject,
        date_of_birth: Some(form.date_of_birth).filter(|d| !d.trim().is_empty()),
        matter: form.matter,
        reason: form.reason,
    };
    match place(&state, &auth, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/holds").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct ReleaseForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn release_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<ReleaseForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return error_response(&state, true, e);
    }
    let input = ReleaseInput {
        reason: form.reason,
    };
    match release(&state, &auth, &raw, input, state.clock.now()).await {
        Ok(_) => Redirect::to("/holds").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}
