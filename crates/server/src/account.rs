//! The signed-in person's own account: second-factor enrolment and recovery codes, and an
//! administrator's reset of another person's second factor (SEC-01, SEC-02, SEC-04).
//!
//! Enrolment is two steps so that only a secret the person's authenticator really holds is
//! stored: the server offers a fresh TOTP secret (kept aside for [`OFFER_MINUTES`], shown as an
//! `otpauth://` URI and a QR code rendered here as SVG, no script), and stores it only when a code
//! computed from it is confirmed. Confirmation returns [`probity_auth::RECOVERY_CODES`] recovery
//! codes once; only their hashes are kept. An account that already has a second factor cannot
//! enrol another over it (a stolen session must not be able to replace it): an administrator
//! resets it, and the policy decides that reset on the real account, so
//! `SEC-02.no-self-administration` refuses it on oneself. Every step is audited in the same
//! transaction as its change.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use minijinja::context;
use probity_auth::{generate_recovery_codes, recovery_code_hash, TotpSecret};
use probity_domain::UserId;
use probity_policy::{Action, Resource};
use probity_store::{audit, sessions, users, Tx};
use serde::{Deserialize, Serialize};

use crate::authz::SignedIn;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::session::{credential_for, Credential};
use crate::state::AppState;

/// How long an offered secret waits for its confirming code.
pub const OFFER_MINUTES: i64 = 15;
/// Issuer shown in authenticator apps.
pub const TOTP_ISSUER: &str = "Probity";

/// Declares this module's routes.
pub fn routes(table: RouteTable) -> RouteTable {
    use Method as M;
    table
        .add(
            M::GET,
            "/account/second-factor",
            Access::SignedIn,
            "Own second factor: status, enrolment (page)",
            get(page_status),
        )
        .add(
            M::POST,
            "/account/second-factor",
            Access::SignedIn,
            "Start enrolling an authenticator: secret and QR code (form)",
            post(page_begin),
        )
        .add(
            M::POST,
            "/account/second-factor/confirm",
            Access::SignedIn,
            "Confirm the authenticator with a code; shows the recovery codes once (form)",
            post(page_confirm),
        )
        .add(
            M::GET,
            "/api/me/second-factor",
            Access::SignedIn,
            "Own second factor: enrolled, recovery codes left",
            get(api_status),
        )
        .add(
            M::POST,
            "/api/me/second-factor",
            Access::SignedIn,
            "Start enrolling an authenticator: returns the secret and its otpauth URI",
            post(api_begin),
        )
        .add(
            M::POST,
            "/api/me/second-factor/confirm",
            Access::SignedIn,
            "Confirm the authenticator with a code; returns 10 recovery codes, once",
            post(api_confirm),
        )
        .add(
            M::POST,
            "/api/users/{username}/second-factor/reset",
            Access::in_handler("user.admin"),
            "Reset a person's second factor (administrator; never one's own, SEC-02)",
            post(api_reset),
        )
        .add(
            M::POST,
            "/admin/users/{username}/second-factor/reset",
            Access::in_handler("user.admin"),
            "Reset a person's second factor (form)",
            post(reset_form),
        )
}

/// The state of the caller's second factor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SecondFactorStatus)]
pub struct Status {
    pub enrolled: bool,
    pub recovery_codes_left: u32,
}

/// A secret offered for enrolment.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SecondFactorOffer)]
pub struct Offer {
    /// Base32, for typing into an authenticator.
    pub secret: String,
    /// `otpauth://totp/...`, what the QR code carries.
    pub otpauth_uri: String,
    pub expires_at: DateTime<Utc>,
}

/// A confirmed enrolment: the recovery codes, shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SecondFactorEnrolled)]
pub struct Enrolled {
    pub enrolled: bool,
    pub recovery_codes: Vec<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ConfirmInput {
    pub code: String,
}

/// Enrolment belongs to a person in their own session: an API token (a service account, no
/// person) cannot enrol, and cannot change the factor that protects a session.
fn own_session(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match credential_for(headers, state.tls) {
        Some(Credential::Session(_)) => Ok(()),
        _ => Err(ApiError::forbidden(
            "SEC-01",
            "a second factor is enrolled by the person, signed in with a session, not with an API token",
        )),
    }
}

async fn status(state: &AppState, p: &Principal) -> Result<Status, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let user = load_self(&mut tx, p).await?;
    let left = users::recovery_codes_left(&mut tx, user.id)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(Status {
        enrolled: user.totp_secret.is_some(),
        recovery_codes_left: left,
    })
}

async fn load_self(tx: &mut Tx, p: &Principal) -> Result<users::User, ApiError> {
    users::get(tx, p.user.id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(ApiError::unauthenticated)
}

/// The secret offered to the caller and not yet confirmed, while it is valid.
async fn current_offer(state: &AppState, p: &Principal) -> Result<Option<Offer>, ApiError> {
    let now = Utc::now();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let offered = users::totp_pending(&mut tx, p.user.id)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let Some((encoded, at)) =
        offered.filter(|(_, at)| now - *at <= Duration::minutes(OFFER_MINUTES))
    else {
        return Ok(None);
    };
    let secret = TotpSecret::from_base32(&encoded).map_err(ApiError::internal)?;
    Ok(Some(Offer {
        otpauth_uri: secret.provisioning_uri(TOTP_ISSUER, &p.user.username),
        secret: encoded,
        expires_at: at + Duration::minutes(OFFER_MINUTES),
    }))
}

/// Offers a fresh secret to the caller (kept aside until confirmed).
pub async fn begin(state: &AppState, p: &Principal) -> Result<Offer, ApiError> {
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let user = load_self(&mut tx, p).await?;
    if user.totp_secret.is_some() {
        return Err(ApiError::conflict(
            "a second factor is already enrolled for this account; if the authenticator is lost, use a recovery code and ask an administrator to reset it (SEC-01)",
        ));
    }
    let secret = TotpSecret::generate();
    let otpauth_uri = secret.provisioning_uri(TOTP_ISSUER, &user.username);
    users::set_totp_pending(&mut tx, user.id, Some(&secret.to_base32()), now)
        .await
        .map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "account.second_factor.enrol",
        &user.username,
        audit::Outcome::Success,
        serde_json::json!({ "note": "authenticator secret offered; waiting for a confirming code" }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(Offer {
        secret: secret.to_base32(),
        otpauth_uri,
        expires_at: now + Duration::minutes(OFFER_MINUTES),
    })
}

/// Stores the offered secret when `code` was computed from it; returns the recovery codes.
pub async fn confirm(state: &AppState, p: &Principal, code: &str) -> Result<Enrolled, ApiError> {
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let user = load_self(&mut tx, p).await?;
    if user.totp_secret.is_some() {
        return Err(ApiError::conflict(
            "a second factor is already enrolled for this account",
        ));
    }
    let offered = users::totp_pending(&mut tx, user.id)
        .await
        .map_err(crate::store_error)?
        .filter(|(_, at)| now - *at <= Duration::minutes(OFFER_MINUTES));
    let Some((encoded, _)) = offered else {
        return Err(ApiError::conflict(
            "no authenticator secret is waiting for confirmation (or it expired); start the enrolment again",
        ));
    };
    let secret = TotpSecret::from_base32(&encoded).map_err(ApiError::internal)?;
    let unix = u64::try_from(now.timestamp()).unwrap_or(0);
    let step = match secret.verify(code, unix, None) {
        Ok(step) => step,
        Err(e) => {
            append(
                &mut tx,
                p,
                "account.second_factor.confirm",
                &user.username,
                audit::Outcome::Denied,
                serde_json::json!({ "note": "confirming code refused", "cause": e.log_detail().to_string() }),
            )
            .await?;
            tx.commit().await.map_err(crate::store_error)?;
            return Err(ApiError::bad_field(
                "code",
                "the code does not match this secret; check that the authenticator's clock is right and enter its current code",
            ));
        }
    };
    let codes = generate_recovery_codes();
    let id = user.id.to_string();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| recovery_code_hash(&id, c).ok_or_else(|| ApiError::internal("recovery code")))
        .collect::<Result<_, _>>()?;
    users::enrol_totp(&mut tx, user.id, &encoded, step, &hashes)
        .await
        .map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "account.second_factor.confirm",
        &user.username,
        audit::Outcome::Success,
        serde_json::json!({ "note": "authenticator enrolled", "recovery_codes": codes.len() }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(Enrolled {
        enrolled: true,
        recovery_codes: codes,
    })
}

/// An administrator removes `username`'s second factor and recovery codes and ends their
/// sessions. Decided by the policy on that very account (`user.admin`).
pub async fn reset(
    state: &AppState,
    caller: &Principal,
    username: &str,
) -> Result<serde_json::Value, ApiError> {
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let target = users::get_by_username(&mut tx, username)
        .await
        .map_err(crate::store_error)?;
    // An unknown name is decided on a fresh account id (never the caller's), so a caller who may
    // not administer accounts learns nothing about which names exist.
    let account = target
        .as_ref()
        .map(|u| UserId(u.id))
        .unwrap_or_else(|| UserId(uuid::Uuid::now_v7()));
    let principal = probity_policy::Principal::from_access(&caller.person, &caller.access);
    let decision = crate::decision::decide_on(
        state,
        &principal,
        Action::UserAdmin,
        &Resource::Account { user: account },
        &caller.context(),
    );
    if !decision.allowed {
        tx.rollback().await.map_err(crate::store_error)?;
        state
            .audit_denial(caller, "user.admin", "user", username, &decision.rule)
            .await?;
        return Err(ApiError::forbidden(
            decision.rule,
            format!(
                "you may not reset this person's second factor: {}",
                decision.reason
            ),
        ));
    }
    let Some(target) = target else {
        return Err(ApiError::not_found(format!("person {username}")));
    };
    users::reset_second_factor(&mut tx, target.id)
        .await
        .map_err(crate::store_error)?;
    let ended = sessions::delete_for_user(&mut tx, target.id)
        .await
        .map_err(crate::store_error)?;
    append(
        &mut tx,
        caller,
        "user.second_factor.reset",
        &target.username,
        audit::Outcome::Success,
        serde_json::json!({ "rule": decision.rule, "sessions_ended": ended }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(serde_json::json!({
        "username": target.username,
        "second_factor_enrolled": false,
        "sessions_ended": ended,
    }))
}

async fn append(
    tx: &mut Tx,
    p: &Principal,
    action: &str,
    username: &str,
    outcome: audit::Outcome,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: action.to_string(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: None,
            outcome,
            detail,
        },
    )
    .await
    .map(|_| ())
    .map_err(crate::store_error)
}

// ------------------------------------------------------------------ JSON API

async fn api_status(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
) -> Result<Json<Status>, ApiError> {
    Ok(Json(status(&state, &p).await?))
}

async fn api_begin(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Offer>), ApiError> {
    own_session(&state, &headers)?;
    Ok((StatusCode::CREATED, Json(begin(&state, &p).await?)))
}

async fn api_confirm(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    JsonBody(input): JsonBody<ConfirmInput>,
) -> Result<Json<Enrolled>, ApiError> {
    own_session(&state, &headers)?;
    Ok(Json(confirm(&state, &p, &input.code).await?))
}

async fn api_reset(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(username): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(reset(&state, &p, &username).await?))
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    pub csrf: String,
}

/// The administrator's reset from the person's page; decided like the API route.
async fn reset_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<ResetForm>,
) -> Response {
    use axum::response::{IntoResponse, Redirect};
    if let Err(e) = crate::web::check_csrf(&headers, &form.csrf) {
        return crate::web::error_response(&state, true, e);
    }
    match reset(&state, &p, &username).await {
        Ok(_) => Redirect::to(&format!("/admin/users/{username}")).into_response(),
        Err(e) => crate::web::error_response(&state, true, e),
    }
}

// ------------------------------------------------------------------ pages

const TEMPLATE: &str = "account_second_factor.html";

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    csrf: String,
    code: String,
}

async fn page_status(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
) -> Response {
    match status(&state, &p).await {
        Ok(s) => render(&state, &headers, &p, context! { status => s }),
        Err(e) => crate::web::error_response(&state, true, e),
    }
}

async fn page_begin(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfForm>,
) -> Response {
    let result = async {
        crate::web::check_csrf(&headers, &form.csrf)?;
        own_session(&state, &headers)?;
        let offer = begin(&state, &p).await?;
        let qr = qr_svg(&offer.otpauth_uri)?;
        Ok::<_, ApiError>(context! {
            expires => offer.expires_at.format("%H:%M UTC").to_string(),
            offer => offer,
            qr_svg => minijinja::Value::from_safe_string(qr),
        })
    }
    .await;
    match result {
        Ok(ctx) => render(&state, &headers, &p, ctx),
        Err(e) => crate::web::error_response(&state, true, e),
    }
}

async fn page_confirm(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<ConfirmForm>,
) -> Response {
    let result = async {
        crate::web::check_csrf(&headers, &form.csrf)?;
        own_session(&state, &headers)?;
        confirm(&state, &p, &form.code).await
    }
    .await;
    match result {
        Ok(enrolled) => render(
            &state,
            &headers,
            &p,
            context! { recovery_codes => enrolled.recovery_codes },
        ),
        Err(e) if e.field.as_deref() == Some("code") => {
            // The offer still stands: show it again with the error.
            match current_offer(&state, &p).await {
                Ok(Some(offer)) => match qr_svg(&offer.otpauth_uri) {
                    Ok(qr) => render(
                        &state,
                        &headers,
                        &p,
                        context! {
                            expires => offer.expires_at.format("%H:%M UTC").to_string(),
                            offer => offer,
                            qr_svg => minijinja::Value::from_safe_string(qr),
                            error => e.detail,
                        },
                    ),
                    Err(e) => crate::web::error_response(&state, true, e),
                },
                Ok(None) => {
                    let s = status(&state, &p).await.ok();
                    render(
                        &state,
                        &headers,
                        &p,
                        context! { status => s, error => e.detail },
                    )
                }
                Err(e) => crate::web::error_response(&state, true, e),
            }
        }
        Err(e) => crate::web::error_response(&state, true, e),
    }
}

/// The otpauth URI as an inline SVG QR code: no script, no request to anyone else.
pub fn qr_svg(uri: &str) -> Result<String, ApiError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(ApiError::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // Inline in HTML: the XML declaration has no place there.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

/// Renders the page in the site's frame.
fn render(state: &AppState, headers: &HeaderMap, p: &Principal, ctx: minijinja::Value) -> Response {
    crate::web::page(
        state,
        headers,
        Some(p),
        TEMPLATE,
        "/account/second-factor",
        ctx,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn sec_01_qr_code_is_plain_svg() {
        let svg = super::qr_svg("otpauth://totp/Probity:jdoe?secret=ABC&issuer=Probity")
            .expect("a QR code for a short URI");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(!svg.contains("<script"));
    }
}
