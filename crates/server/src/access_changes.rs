//! Ending access (SEC-02, FR-21): an administrator ends an assignment, revokes or corrects a
//! training record, and deactivates or reactivates an account, each with a reason.
//!
//! Access is computed on every request from the stored rows ([`crate::principal::load`]; a node
//! reuses rows it loaded only while the person's access version, changed by the database with
//! every change here, is the same), so a change here takes effect on the caller's very next
//! request, on any node, through sessions and API tokens alike, with no restart. Deactivation also ends the account's sessions and revokes its
//! tokens, so nothing it held works again after a reactivation either. Each change is decided
//! on the very account it touches (the pack refuses it on oneself: `SEC-02.no-self-administration`)
//! and audited with what the record was before and after.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use probity_store::{assignments, audit, sessions, tokens, training, users, Tx};
use serde::Deserialize;
use uuid::Uuid;

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::people::{assignment_view, training_view, AssignmentView, TrainingView, UserView};
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::POST,
        "/api/users/{username}/assignments/{assignment}/end",
        Access::on_account("user.assignment.manage"),
        "End an assignment now, with a reason; its access stops on the next request (SEC-02, FR-21)",
        post(end_assignment_api),
    )
    .add(
        M::POST,
        "/admin/users/{username}/assignments/{assignment}/end",
        Access::on_account("user.assignment.manage"),
        "End an assignment (form)",
        post(end_assignment_form),
    )
    .add(
        M::POST,
        "/api/users/{username}/training/{training}/revoke",
        Access::on_account("user.training.manage"),
        "Revoke a training record, with a reason; the roles it qualified stop on the next request (SEC-02, FR-21)",
        post(revoke_training_api),
    )
    .add(
        M::POST,
        "/admin/users/{username}/training/{training}/revoke",
        Access::on_account("user.training.manage"),
        "Revoke a training record (form)",
        post(revoke_training_form),
    )
    .add(
        M::POST,
        "/api/users/{username}/training/{training}/correct",
        Access::on_account("user.training.manage"),
        "Correct the dates of a training record, with a reason (audited before and after)",
        post(correct_training_api),
    )
    .add(
        M::POST,
        "/admin/users/{username}/training/{training}/correct",
        Access::on_account("user.training.manage"),
        "Correct a training record (form)",
        post(correct_training_form),
    )
    .add(
        M::POST,
        "/api/users/{username}/deactivate",
        Access::on_account("user.admin"),
        "Deactivate an account, with a reason: its sessions and tokens stop at once (SEC-02)",
        post(deactivate_api),
    )
    .add(
        M::POST,
        "/admin/users/{username}/deactivate",
        Access::on_account("user.admin"),
        "Deactivate an account (form)",
        post(deactivate_form),
    )
    .add(
        M::POST,
        "/api/users/{username}/reactivate",
        Access::on_account("user.admin"),
        "Reactivate a deactivated account, with a reason (SEC-02)",
        post(reactivate_api),
    )
    .add(
        M::POST,
        "/admin/users/{username}/reactivate",
        Access::on_account("user.admin"),
        "Reactivate an account (form)",
        post(reactivate_form),
    )
}

/// Why the change is made (audited).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AccessChangeReason {
    #[serde(default)]
    pub reason: String,
}

/// Corrected dates of a training record.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CorrectTrainingInput {
    pub completed: NaiveDate,
    pub expires: Option<NaiveDate>,
    #[serde(default)]
    pub reason: String,
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn reason_of(raw: &str) -> Result<String, ApiError> {
    let r = raw.trim();
    if r.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "say why access is changed (audited)",
        )
        .with_rule("SEC-02")
        .with_missing(vec!["reason".into()]));
    }
    Ok(r.to_string())
}

fn id_of(what: &'static str, raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found(format!("{what} {raw}")))
}

/// The account the route decided on.
fn target(auth: &Authorized) -> Result<&users::User, ApiError> {
    auth.account
        .as_deref()
        .ok_or_else(|| ApiError::internal("an account route decides on its account"))
}

async fn append(
    tx: &mut Tx,
    auth: &Authorized,
    action: &str,
    username: &str,
    reason: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let mut d = detail;
    d["rule"] = serde_json::Value::String(auth.rule.clone());
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: action.to_string(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: Some(reason.to_string()),
            outcome: audit::Outcome::Success,
            detail: d,
        },
    )
    .await
    .map(|_| ())
    .map_err(se)
}

pub async fn end_assignment(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: AccessChangeReason,
    now: DateTime<Utc>,
) -> Result<AssignmentView, ApiError> {
    let u = target(auth)?;
    let reason = reason_of(&input.reason)?;
    let id = id_of("assignment", raw_id)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let before = assignments::for_user(&mut tx, u.id)
        .await
        .map_err(se)?
        .into_iter()
        .find(|a| a.id == id)
        .ok_or_else(|| ApiError::not_found(format!("assignment {id} of {}", u.username)))?;
    let after = assignments::end_early(&mut tx, u.id, id, now, &reason)
        .await
        .map_err(|e| se(e).with_rule("SEC-02"))?;
    append(
        &mut tx,
        auth,
        "user.assignment.end",
        &u.username,
        &reason,
        serde_json::json!({
            "assignment": id.to_string(),
            "role": before.role,
            "command": before.command,
            "ends_before": before.ends_at.map(|e| e.to_rfc3339()),
            "ends_after": after.ends_at.map(|e| e.to_rfc3339()),
        }),
    )
    .await?;
    tx.commit().await.map_err(se)?;
    Ok(assignment_view(&after, now))
}

pub async fn revoke_training(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: AccessChangeReason,
    now: DateTime<Utc>,
) -> Result<TrainingView, ApiError> {
    let u = target(auth)?;
    let reason = reason_of(&input.reason)?;
    let id = id_of("training record", raw_id)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let after = training::revoke(&mut tx, u.id, id, now, &reason)
        .await
        .map_err(|e| se(e).with_rule("SEC-02"))?;
    append(
        &mut tx,
        auth,
        "user.training.revoke",
        &u.username,
        &reason,
        serde_json::json!({
            "training": id.to_string(),
            "course": after.course,
            "completed": after.completed_at.date_naive().to_string(),
            "expires": after.expires_at.map(|e| e.date_naive().to_string()),
        }),
    )
    .await?;
    tx.commit().await.map_err(se)?;
    Ok(training_view(&after))
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub async fn correct_training(
    state: &AppState,
    auth: &Authorized,
    raw_id: &str,
    input: CorrectTrainingInput,
) -> Result<TrainingView, ApiError> {
    let u = target(auth)?;
    let reason = reason_of(&input.reason)?;
    let id = id_of("training record", raw_id)?;
    if input.expires.is_some_and(|x| x <= input.completed) {
        return Err(ApiError::bad_field(
            "expires",
            "training expires after it was completed",
        ));
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let (before, after) = training::correct(
        &mut tx,
        u.id,
        id,
        day_start(input.completed),
        input.expires.map(day_start),
    )
    .await
    .map_err(se)?;
    let dates = |t: &training::TrainingRecord| {
        serde_json::json!({
            "completed": t.completed_at.date_naive().to_string(),
            "expires": t.expires_at.map(|e| e.date_naive().to_string()),
        })
    };
    append(
        &mut tx,
        auth,
        "user.training.correct",
        &u.username,
        &reason,
        serde_json::json!({
            "training": id.to_string(),
            "course": after.course,
            "before": dates(&before),
            "after": dates(&after),
        }),
    )
    .await?;
    tx.commit().await.map_err(se)?;
    Ok(training_view(&after))
}

/// Deactivates (`deactivate = true`) or reactivates the account the route decided on.
pub async fn set_active(
    state: &AppState,
    auth: &Authorized,
    deactivate: bool,
    input: AccessChangeReason,
    now: DateTime<Utc>,
) -> Result<UserView, ApiError> {
    let u = target(auth)?;
    let reason = reason_of(&input.reason)?;
    let mut tx = state.store.begin().await.map_err(se)?;
    let current = users::get(&mut tx, u.id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("person {}", u.username)))?;
    if current.deactivated_at.is_some() == deactivate {
        return Err(ApiError::conflict(format!(
            "{} is already {}",
            u.username,
            if deactivate { "deactivated" } else { "active" }
        ))
        .with_rule("SEC-02"));
    }
    users::set_deactivated(&mut tx, u.id, deactivate.then_some((now, reason.as_str())))
        .await
        .map_err(se)?;
    let (ended_sessions, revoked_tokens) = if deactivate {
        let s = sessions::delete_for_user(&mut tx, u.id).await.map_err(se)?;
        let mut n = 0u64;
        for t in tokens::for_user(&mut tx, u.id).await.map_err(se)? {
            if t.revoked_at.is_none() {
                tokens::revoke(&mut tx, t.id).await.map_err(se)?;
                n += 1;
            }
        }
        (s, n)
    } else {
        (0, 0)
    };
    append(
        &mut tx,
        auth,
        if deactivate {
            "user.deactivate"
        } else {
            "user.reactivate"
        },
        &u.username,
        &reason,
        serde_json::json!({ "sessions_ended": ended_sessions, "tokens_revoked": revoked_tokens }),
    )
    .await?;
    let stored = users::get(&mut tx, u.id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("person {}", u.username)))?;
    let view = crate::people::user_view(&mut tx, &stored, now).await?;
    tx.commit().await.map_err(se)?;
    Ok(view)
}

// ------------------------------------------------------------------ routes

pub async fn end_assignment_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path((_, raw)): Path<(String, String)>,
    JsonBody(input): JsonBody<AccessChangeReason>,
) -> Result<Json<AssignmentView>, ApiError> {
    Ok(Json(
        end_assignment(&state, &auth, &raw, input, Utc::now()).await?,
    ))
}

pub async fn revoke_training_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path((_, raw)): Path<(String, String)>,
    JsonBody(input): JsonBody<AccessChangeReason>,
) -> Result<Json<TrainingView>, ApiError> {
    Ok(Json(
        revoke_training(&state, &auth, &raw, input, Utc::now()).await?,
    ))
}

pub async fn correct_training_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path((_, raw)): Path<(String, String)>,
    JsonBody(input): JsonBody<CorrectTrainingInput>,
) -> Result<Json<TrainingView>, ApiError> {
    Ok(Json(correct_training(&state, &auth, &raw, input).await?))
}

pub async fn deactivate_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<AccessChangeReason>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        set_active(&state, &auth, true, input, Utc::now()).await?,
    ))
}

pub async fn reactivate_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<AccessChangeReason>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(
        set_active(&state, &auth, false, input, Utc::now()).await?,
    ))
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
pub struct CorrectForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub completed: String,
    #[serde(default)]
    pub expires: String,
    #[serde(default)]
    pub reason: String,
}

fn back_to(username: &str, done: Result<(), ApiError>, state: &AppState) -> Response {
    match done {
        Ok(()) => Redirect::to(&format!("/admin/users/{username}")).into_response(),
        Err(e) => error_response(state, true, e),
    }
}

pub async fn end_assignment_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((username, raw)): Path<(String, String)>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        let input = AccessChangeReason {
            reason: form.reason,
        };
        end_assignment(&state, &auth, &raw, input, Utc::now()).await?;
        Ok(())
    }
    .await;
    back_to(&username, done, &state)
}

pub async fn revoke_training_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((username, raw)): Path<(String, String)>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        let input = AccessChangeReason {
            reason: form.reason,
        };
        revoke_training(&state, &auth, &raw, input, Utc::now()).await?;
        Ok(())
    }
    .await;
    back_to(&username, done, &state)
}

pub async fn correct_training_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((username, raw)): Path<(String, String)>,
    FormBody(form): FormBody<CorrectForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        let date = |field: &'static str, s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| ApiError::bad_field(field, "give a date (YYYY-MM-DD)"))
        };
        let input = CorrectTrainingInput {
            completed: date("completed", &form.completed)?,
            expires: Some(form.expires.as_str())
                .filter(|s| !s.trim().is_empty())
                .map(|s| date("expires", s))
                .transpose()?,
            reason: form.reason,
        };
        correct_training(&state, &auth, &raw, input).await?;
        Ok(())
    }
    .await;
    back_to(&username, done, &state)
}

async fn active_form(
    state: AppState,
    auth: Authorized,
    headers: HeaderMap,
    username: String,
    form: ReasonForm,
    deactivate: bool,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        let input = AccessChangeReason {
            reason: form.reason,
        };
        set_active(&state, &auth, deactivate, input, Utc::now()).await?;
        Ok(())
    }
    .await;
    back_to(&username, done, &state)
}

pub async fn deactivate_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    active_form(state, auth, headers, username, form, true).await
}

pub async fn reactivate_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    active_form(state, auth, headers, username, form, false).await
}
