//! Tour inspections (SEC-06): a command's supervisors add the areas with computer systems and
//! record the inspection of each once per tour (the tour is the server's, never the caller's);
//! the commanding officer's page flags every tour that ended without one. Decided on the very
//! command named in the path (`Resource::Command`), and audited.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use minijinja::context;
use probity_domain::inspections::{missed_tours, Tour};
use probity_domain::CommandCode;
use probity_policy::{Action, Resource};
use probity_store::{audit, inspections as istore};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::SignedIn;
use crate::decision;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::POST,
        "/api/commands/{command}/areas",
        Access::in_handler("inspection.record"),
        "Add an area with computer systems to a command (SEC-06)",
        post(add_area_api),
    )
    .add(
        M::POST,
        "/api/commands/{command}/inspections",
        Access::in_handler("inspection.record"),
        "Record this tour's inspection of an area (SEC-06)",
        post(record_api),
    )
    .add(
        M::GET,
        "/api/commands/{command}/inspections",
        Access::in_handler("inspection.read"),
        "A command's areas, their inspections and the tours missed, for the last days (SEC-06)",
        get(board_api),
    )
    .add(
        M::POST,
        "/api/commands/{command}/media-oversight",
        Access::in_handler("media_oversight.record"),
        "Record oversight of the command's recorded media (Integrity Control Officer, SEC-06)",
        post(media_api),
    )
    .add(
        M::POST,
        "/commands/{command}/media-oversight",
        Access::in_handler("media_oversight.record"),
        "Record oversight of recorded media (form)",
        post(media_form),
    )
    .add(
        M::GET,
        "/inspections",
        Access::SignedIn,
        "Tour inspections of the caller's own command (redirect)",
        get(own_command),
    )
    .add(
        M::GET,
        "/commands/{command}/inspections",
        Access::in_handler("inspection.read"),
        "Tour inspections and missed tours of a command (page)",
        get(board_page),
    )
    .add(
        M::POST,
        "/commands/{command}/areas",
        Access::in_handler("inspection.record"),
        "Add an area (form)",
        post(add_area_form),
    )
    .add(
        M::POST,
        "/commands/{command}/inspections",
        Access::in_handler("inspection.record"),
        "Record an inspection (form)",
        post(record_form),
    )
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AreaInput {
    /// The area, e.g. "Desk officer's terminal room".
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct InspectionInput {
    /// The area's id.
    #[serde(default)]
    pub area: String,
    /// What the inspection found ("no irregularity" is a finding).
    #[serde(default)]
    pub findings: String,
}

/// An Integrity Control Officer's oversight of recorded media.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct MediaOversightInput {
    /// The recorded media checked (e.g. "lobby camera DVR").
    #[serde(default)]
    pub medium: String,
    /// What was checked and how.
    #[serde(default)]
    pub checked: String,
    /// What was found ("no irregularity" is a finding).
    #[serde(default)]
    pub findings: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MediaOversightView {
    pub medium: String,
    pub checked: String,
    pub findings: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BoardQuery {
    /// How many days back (default 7, at most 92).
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionView {
    pub tour_date: String,
    pub tour: String,
    pub inspected_by: String,
    pub inspected_at: String,
    pub findings: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AreaBoard {
    pub id: String,
    pub name: String,
    pub inspections: Vec<InspectionView>,
    /// Tours that ended without an inspection, as `YYYY-MM-DD tour`.
    pub missed: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InspectionBoard {
    pub command: String,
    /// The tour now, as `YYYY-MM-DD tour`.
    pub current_tour: String,
    pub days: i64,
    pub areas: Vec<AreaBoard>,
    pub missed_total: usize,
    /// Integrity Control Officers' oversight of the command's recorded media in the period.
    pub media_oversight: Vec<MediaOversightView>,
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn command_of(raw: &str) -> Result<CommandCode, ApiError> {
    CommandCode::parse(raw.trim()).map_err(crate::domain_error)
}

async fn decide(
    state: &AppState,
    p: &Principal,
    action: Action,
    command: &CommandCode,
) -> Result<String, ApiError> {
    decision::require(
        state,
        p,
        action,
        &Resource::Command(command.clone()),
        "command",
        command.as_str(),
    )
    .await
}

fn missing(field: &str, what: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing",
        what.to_string(),
    )
    .with_rule("SEC-06")
    .with_missing(vec![field.to_string()])
}

pub async fn add_area(
    state: &AppState,
    p: &Principal,
    raw: &str,
    input: AreaInput,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let command = command_of(raw)?;
    let rule = decide(state, p, Action::InspectionRecord, &command).await?;
    let name = input.name.trim();
    if name.is_empty() {
        return Err(missing("name", "name the area"));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let area = istore::add_area(&mut tx, command.as_str(), name, p.user.id, now)
        .await
        .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "inspection.area.add".into(),
            record_type: "command".into(),
            record_id: command.as_str().into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "area": area.id.to_string(), "name": name }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)
}

pub async fn record(
    state: &AppState,
    p: &Principal,
    raw: &str,
    input: InspectionInput,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let command = command_of(raw)?;
    let rule = decide(state, p, Action::InspectionRecord, &command).await?;
    let findings = input.findings.trim();
    if findings.is_empty() {
        return Err(missing("findings", "say what the inspection found"));
    }
    let area = Uuid::parse_str(input.area.trim())
        .map_err(|_| ApiError::bad_field("area", "give the id of an area of this command"))?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let areas = istore::areas(&mut tx, command.as_str()).await.map_err(se)?;
    if !areas.iter().any(|a| a.id == area) {
        return Err(ApiError::bad_field(
            "area",
            format!("no area {area} in {}", command.as_str()),
        ));
    }
    let (day, tour) = Tour::of(now);
    istore::record(
        &mut tx,
        area,
        &day.to_string(),
        tour.as_str(),
        p.user.id,
        now,
        findings,
    )
    .await
    .map_err(|e| match e {
        probity_store::StoreError::AlreadyExists { .. } => ApiError::conflict(format!(
            "this area was already inspected in the {tour} tour of {day}"
        ))
        .with_rule("SEC-06"),
        other => se(other),
    })?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "inspection.record".into(),
            record_type: "command".into(),
            record_id: command.as_str().into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "area": area.to_string(),
                                        "tour": format!("{day} {tour}") }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)
}

pub async fn board(
    state: &AppState,
    p: &Principal,
    raw: &str,
    days: Option<i64>,
    now: DateTime<Utc>,
) -> Result<InspectionBoard, ApiError> {
    let command = command_of(raw)?;
    decide(state, p, Action::InspectionRead, &command).await?;
    let days = days.unwrap_or(7).clamp(1, 92);
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let areas = istore::areas(&mut tx, command.as_str()).await.map_err(se)?;
    let done = istore::since(&mut tx, command.as_str(), now - Duration::days(days + 1))
        .await
        .map_err(se)?;
    let media = istore::media_since(&mut tx, command.as_str(), now - Duration::days(days))
        .await
        .map_err(se)?;
    tx.commit().await.map_err(se)?;
    let mut by_area: BTreeMap<Uuid, Vec<&istore::Inspection>> = BTreeMap::new();
    for i in &done {
        by_area.entry(i.area_id).or_default().push(i);
    }
    let mut out = Vec::new();
    let mut missed_total = 0;
    for a in &areas {
        let mine = by_area.get(&a.id).cloned().unwrap_or_default();
        let inspected: BTreeSet<(NaiveDate, Tour)> = mine
            .iter()
            .filter_map(|i| {
                Some((
                    NaiveDate::from_str(&i.tour_date).ok()?,
                    Tour::from_str(&i.tour).ok()?,
                ))
            })
            .collect();
        let missed: Vec<String> = missed_tours(a.added_at, now, &inspected, days)
            .into_iter()
            .map(|(d, t)| format!("{d} {t}"))
            .collect();
        missed_total += missed.len();
        out.push(AreaBoard {
            id: a.id.to_string(),
            name: a.name.clone(),
            inspections: mine
                .iter()
                .map(|i| InspectionView {
                    tour_date: i.tour_date.clone(),
                    tour: i.tour.clone(),
                    inspected_by: i.inspected_by_username.clone(),
                    inspected_at: i.inspected_at.to_rfc3339(),
                    findings: i.findings.clone(),
                })
                .collect(),
            missed,
        });
    }
    let (day, tour) = Tour::of(now);
    Ok(InspectionBoard {
        command: command.as_str().into(),
        current_tour: format!("{day} {tour}"),
        days,
        areas: out,
        missed_total,
        media_oversight: media
            .into_iter()
            .map(|m| MediaOversightView {
                medium: m.medium,
                checked: m.checked,
                findings: m.findings,
                recorded_by: m.recorded_by_username,
                recorded_at: m.recorded_at.to_rfc3339(),
            })
            .collect(),
    })
}

pub async fn record_media(
    state: &AppState,
    p: &Principal,
    raw: &str,
    input: MediaOversightInput,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let command = command_of(raw)?;
    let rule = decide(state, p, Action::MediaOversightRecord, &command).await?;
    let mut absent = Vec::new();
    for (field, v) in [
        ("medium", &input.medium),
        ("checked", &input.checked),
        ("findings", &input.findings),
    ] {
        if v.trim().is_empty() {
            absent.push(field.to_string());
        }
    }
    if !absent.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "say which media, what was checked and what was found",
        )
        .with_rule("SEC-06")
        .with_missing(absent));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let id = istore::record_media(
        &mut tx,
        command.as_str(),
        input.medium.trim(),
        input.checked.trim(),
        input.findings.trim(),
        p.user.id,
        now,
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "media_oversight.record".into(),
            record_type: "command".into(),
            record_id: command.as_str().into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "record": id.to_string(),
                                        "medium": input.medium.trim() }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)
}

// ------------------------------------------------------------------ routes

/// A form's answer: back to the command's board, or the error page.
fn back_to_board(state: &AppState, command: &str, done: Result<(), ApiError>) -> Response {
    match done {
        Ok(()) => {
            Redirect::to(&format!("/commands/{}/inspections", command.trim())).into_response()
        }
        Err(e) => error_response(state, true, e),
    }
}

pub async fn media_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(command): Path<String>,
    JsonBody(input): JsonBody<MediaOversightInput>,
) -> Result<(StatusCode, Json<InspectionBoard>), ApiError> {
    let now = state.clock.now();
    record_media(&state, &p, &command, input, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(board(&state, &p, &command, None, now).await?),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct MediaForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub medium: String,
    #[serde(default)]
    pub checked: String,
    #[serde(default)]
    pub findings: String,
}

pub async fn media_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(command): Path<String>,
    FormBody(f): FormBody<MediaForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        record_media(
            &state,
            &p,
            &command,
            MediaOversightInput {
                medium: f.medium,
                checked: f.checked,
                findings: f.findings,
            },
            state.clock.now(),
        )
        .await
    }
    .await;
    back_to_board(&state, &command, done)
}

pub async fn add_area_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(command): Path<String>,
    JsonBody(input): JsonBody<AreaInput>,
) -> Result<(StatusCode, Json<InspectionBoard>), ApiError> {
    let now = state.clock.now();
    add_area(&state, &p, &command, input, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(board(&state, &p, &command, None, now).await?),
    ))
}

pub async fn record_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(command): Path<String>,
    JsonBody(input): JsonBody<InspectionInput>,
) -> Result<(StatusCode, Json<InspectionBoard>), ApiError> {
    let now = state.clock.now();
    record(&state, &p, &command, input, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(board(&state, &p, &command, None, now).await?),
    ))
}

pub async fn board_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(command): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Result<Json<InspectionBoard>, ApiError> {
    Ok(Json(
        board(&state, &p, &command, q.days, state.clock.now()).await?,
    ))
}

pub async fn own_command(SignedIn(p): SignedIn) -> Response {
    match p.access.primary_command() {
        Some(c) => Redirect::to(&format!("/commands/{}/inspections", c.as_str())).into_response(),
        None => Redirect::to("/").into_response(),
    }
}

pub async fn board_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(command): Path<String>,
    Query(q): Query<BoardQuery>,
) -> Response {
    match board(&state, &p, &command, q.days, state.clock.now()).await {
        Ok(b) => {
            let may = |action: Action| {
                command_of(&command).is_ok_and(|c| {
                    decision::decide_for(&state, &p, action, &Resource::Command(c)).allowed
                })
            };
            let can_record = may(Action::InspectionRecord);
            let can_oversee_media = may(Action::MediaOversightRecord);
            page(
                &state,
                &headers,
                Some(&p),
                "inspections.html",
                "/inspections",
                context! { b => b, can_record => can_record, can_oversee_media => can_oversee_media },
            )
        }
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AreaForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
}

pub async fn add_area_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(command): Path<String>,
    FormBody(f): FormBody<AreaForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        add_area(
            &state,
            &p,
            &command,
            AreaInput { name: f.name },
            state.clock.now(),
        )
        .await
    }
    .await;
    back_to_board(&state, &command, done)
}

#[derive(Debug, Default, Deserialize)]
pub struct InspectionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub area: String,
    #[serde(default)]
    pub findings: String,
}

pub async fn record_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(command): Path<String>,
    FormBody(f): FormBody<InspectionForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &f.csrf)?;
        record(
            &state,
            &p,
            &command,
            InspectionInput {
                area: f.area,
                findings: f.findings,
            },
            state.clock.now(),
        )
        .await
    }
    .await;
    back_to_board(&state, &command, done)
}
