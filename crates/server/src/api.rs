//! JSON API handlers. Each is thin: it takes the decision from the authorization layer and calls the
//! shared operations in [`crate::cases`] and [`crate::people`].

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use probity_store::audit;
use serde::Deserialize;

use crate::auth_flow::{self, SignIn};
use crate::authz::{Authorized, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::{cases, people};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// A TOTP or recovery code given with the password: completes a remote sign-in at once.
    #[serde(default)]
    pub code: Option<String>,
    /// Also put the session token in the response body (clients without a cookie store). By
    /// default the token travels only in the `HttpOnly` cookie.
    #[serde(default)]
    pub return_token: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SecondFactor {
    pub pending: String,
    /// A six-digit TOTP code or one of the account's recovery codes.
    pub code: String,
    #[serde(default)]
    pub return_token: bool,
}

pub fn session_cookie(state: &AppState, token: &str) -> String {
    let seconds = u64::try_from(state.config.session_minutes.max(1) * 60).unwrap_or(3600);
    if state.tls {
        probity_auth::session_set_cookie(token, seconds)
    } else {
        format!(
            "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={seconds}",
            crate::session::COOKIE_NAME_PLAIN
        )
    }
}

pub fn clear_cookie(state: &AppState) -> String {
    if state.tls {
        probity_auth::session_clear_cookie()
    } else {
        format!(
            "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
            crate::session::COOKIE_NAME_PLAIN
        )
    }
}

pub async fn sign_in(State(state): State<AppState>, req: Request) -> Response {
    let client = auth_flow::client(&state, req.headers(), auth_flow::peer_ip(req.extensions()));
    let JsonBody(c) = match JsonBody::<Credentials>::from_request_body(req).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let attempt = auth_flow::SignInRequest {
        username: &c.username,
        password: &c.password,
        code: c.code.as_deref().filter(|s| !s.trim().is_empty()),
    };
    match auth_flow::sign_in(&state, attempt, &client).await {
        Ok(SignIn::Done {
            token,
            username,
            second_factor,
        }) => {
            let mut body = serde_json::json!({
                "signed_in": username,
                "remote_session": !client.local,
                "second_factor": second_factor,
            });
            if c.return_token {
                body["session"] = serde_json::Value::String(token.clone());
            }
            (
                [(header::SET_COOKIE, session_cookie(&state, &token))],
                Json(body),
            )
                .into_response()
        }
        Ok(SignIn::NeedsSecondFactor { pending }) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({
                "second_factor_required": true,
                "pending": pending,
                "expires_in_seconds": state.config.second_factor_pending_minutes.max(1) * 60,
                "detail": "signing in from outside the agency's networks: send the one-time code (or a recovery code) with this pending token to /api/session/totp (SEC-01)"
            })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn second_factor(State(state): State<AppState>, req: Request) -> Response {
    let client = auth_flow::client(&state, req.headers(), auth_flow::peer_ip(req.extensions()));
    let JsonBody(f) = match JsonBody::<SecondFactor>::from_request_body(req).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    match auth_flow::second_factor(&state, &f.pending, &f.code, &client).await {
        Ok(rotated) => {
            let mut body = serde_json::json!({
                "signed_in": true,
                "username": rotated.username,
                "remote_session": true,
                "second_factor": true,
            });
            if f.return_token {
                body["session"] = serde_json::Value::String(rotated.token.clone());
            }
            (
                [(header::SET_COOKIE, session_cookie(&state, &rotated.token))],
                Json(body),
            )
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
) -> Response {
    match auth_flow::sign_out(&state, &headers, &p.user.username).await {
        Ok(()) => (
            StatusCode::NO_CONTENT,
            [(header::SET_COOKIE, clear_cookie(&state))],
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn me(SignedIn(p): SignedIn) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "username": p.user.username,
        "display_name": p.user.display_name,
        "rank": p.person.rank.as_str(),
        "command": p.user.command,
        "access": people::access_view(&p.access),
        "remote_session": p.remote,
        "second_factor": p.second_factor,
        "second_factor_enrolled": p.user.totp_secret.is_some(),
    }))
}

pub async fn list_cases(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<cases::CaseListParams>,
) -> ApiResult<Json<crate::listing::Paged<cases::CaseView>>> {
    Ok(Json(cases::list(&state, &auth, &q, "/api/cases").await?))
}

pub async fn create_case(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    JsonBody(input): JsonBody<cases::NewCaseInput>,
) -> ApiResult<(StatusCode, Json<cases::CaseView>)> {
    Ok((
        StatusCode::CREATED,
        Json(cases::create(&state, &caller, input).await?),
    ))
}

pub async fn get_case(
    State(state): State<AppState>,
    auth: Authorized,
) -> ApiResult<Json<serde_json::Value>> {
    let (stored, view) = cases::read(&state, &auth).await?;
    let mut v = serde_json::to_value(view).map_err(ApiError::internal)?;
    v["retention"] = serde_json::json!(cases::retention_text(state.schedule()?, &stored));
    Ok(Json(v))
}

pub async fn close_case(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<cases::CloseInput>,
) -> ApiResult<Json<cases::CaseView>> {
    Ok(Json(cases::close(&state, &auth, input).await?))
}

pub async fn list_users(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<people::UserListParams>,
) -> ApiResult<Json<crate::listing::Paged<people::UserView>>> {
    Ok(Json(people::list(&state, &auth, &q, "/api/users").await?))
}

pub async fn create_user(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<people::NewUserInput>,
) -> ApiResult<(StatusCode, Json<people::UserView>)> {
    Ok((
        StatusCode::CREATED,
        Json(people::create(&state, &auth, input).await?),
    ))
}

pub async fn get_user(
    State(state): State<AppState>,
    auth: Authorized,
    Path(username): Path<String>,
) -> ApiResult<Json<people::UserDetail>> {
    Ok(Json(people::detail(&state, &auth, &username).await?))
}

pub async fn add_assignment(
    State(state): State<AppState>,
    auth: Authorized,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<people::AssignmentInput>,
) -> ApiResult<(StatusCode, Json<people::AssignmentView>)> {
    Ok((
        StatusCode::CREATED,
        Json(people::add_assignment(&state, &auth, &username, input).await?),
    ))
}

pub async fn add_training(
    State(state): State<AppState>,
    auth: Authorized,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<people::TrainingInput>,
) -> ApiResult<(StatusCode, Json<people::TrainingView>)> {
    Ok((
        StatusCode::CREATED,
        Json(people::add_training(&state, &auth, &username, input).await?),
    ))
}

pub async fn add_contract(
    State(state): State<AppState>,
    auth: Authorized,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<people::ContractInput>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    Ok((
        StatusCode::CREATED,
        Json(people::add_contract(&state, &auth, &username, input).await?),
    ))
}

pub async fn issue_token(
    State(state): State<AppState>,
    auth: Authorized,
    Path(username): Path<String>,
    JsonBody(input): JsonBody<people::TokenInput>,
) -> ApiResult<(StatusCode, Json<people::IssuedTokenView>)> {
    Ok((
        StatusCode::CREATED,
        Json(people::issue_token(&state, &auth, &username, input).await?),
    ))
}

pub async fn verify_audit(State(state): State<AppState>, auth: Authorized) -> ApiResult<Response> {
    let report = audit::verify(&state.store)
        .await
        .map_err(crate::store_error)?;
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "audit.verify".into(),
            record_type: "audit".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "valid": report.is_valid(), "entries": report.entries }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    let status = if report.is_valid() {
        StatusCode::OK
    } else {
        StatusCode::CONFLICT
    };
    Ok((
        status,
        Json(serde_json::json!({
            "valid": report.is_valid(),
            "entries": report.entries,
            "checkpoints": report.checkpoints,
            "head_seq": report.head_seq,
            "first_bad_entry": report.problem.as_ref().map(|p| p.seq),
            "problem": report.problem.as_ref().map(|p| p.message.clone()),
        })),
    )
        .into_response())
}

/// The audit trail's filters and cursor (SEC-04): `actor`, `action`, a record (`record_type`,
/// optionally `record_id`), a time range (`from` inclusive, `to` exclusive: RFC 3339 or a date),
/// one cursor on `seq` (`after_seq` or `before_seq`), `order` (`asc` or `desc`) and `limit`
/// (default 50, at most 500).
#[derive(Deserialize, utoipa::ToSchema)]
pub struct AuditQueryParams {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub after_seq: Option<u64>,
    pub before_seq: Option<u64>,
    pub order: Option<String>,
    pub limit: Option<u32>,
}

/// A page of the audit trail, oldest first unless `order=desc`.
pub async fn query_audit(
    State(state): State<AppState>,
    auth: Authorized,
    Query(q): Query<AuditQueryParams>,
) -> ApiResult<Json<crate::listing::Paged<serde_json::Value>>> {
    let page = crate::audit_view::trail(&state, &auth, &q, "/api/audit", false).await?;
    Ok(Json(page))
}

/// Reads a JSON body from a request whose other parts were needed first.
trait FromRequestBody: Sized {
    async fn from_request_body(req: Request) -> Result<Self, ApiError>;
}

impl<T: serde::de::DeserializeOwned> FromRequestBody for JsonBody<T> {
    async fn from_request_body(req: Request) -> Result<Self, ApiError> {
        <JsonBody<T> as axum::extract::FromRequest<()>>::from_request(req, &()).await
    }
}
