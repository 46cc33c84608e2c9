//! Sign-in, second factor, sign-out, and recognising the caller on each request (SEC-01).
//!
//! The rules (password hashing, one-time codes, lockout, which networks are local, token formats) are
//! in `probity-auth`; this module only moves state between them, the store and HTTP.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use chrono::{Duration, Utc};
use probity_auth::{
    requires_second_factor, AttemptOutcome, AuthError, IssuedToken, LockoutState, TokenHash,
    TokenKind, TotpSecret,
};
use probity_store::{audit, sessions, tokens, users, Tx};

use crate::error::ApiError;
use crate::principal::{self, Principal};
use crate::session::{credential, Credential};
use crate::state::AppState;

/// Recognises the caller; `Ok(None)` when there is no valid credential.
/// `peer` is the TCP peer address of the connection.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<Option<Principal>, ApiError> {
    let _ = peer;
    let Some(cred) = credential(headers) else {
        return Ok(None);
    };
    let now = Utc::now();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let (user_id, remote, second_factor) = match cred {
        Credential::Session(token) => {
            let Ok(hash) = TokenHash::of_presented(&token, TokenKind::Session) else {
                return Ok(None);
            };
            match sessions::get_valid(&mut tx, &hash.to_hex(), now)
                .await
                .map_err(crate::store_error)?
            {
                // A remote session without its second factor is not signed in yet (SEC-01).
                Some(s) if s.remote && !s.second_factor_done => return Ok(None),
                Some(s) => (s.user_id, s.remote, s.second_factor_done && s.remote),
                None => return Ok(None),
            }
        }
        Credential::ApiToken(token) => {
            let Ok(hash) = TokenHash::of_presented(&token, TokenKind::Api) else {
                return Ok(None);
            };
            match tokens::get_by_hash(&mut tx, &hash.to_hex())
                .await
                .map_err(crate::store_error)?
            {
                Some(t) if t.is_usable(now) => (t.user_id, false, false),
                _ => return Ok(None),
            }
        }
    };
    let Some(user) = users::get(&mut tx, user_id)
        .await
        .map_err(crate::store_error)?
    else {
        return Ok(None);
    };
    let mut p = principal::load(&mut tx, user, &state.commands, now).await?;
    p.remote = remote;
    p.second_factor = second_factor;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(Some(p))
}

/// The peer address of the request, when the server recorded it.
pub fn peer_ip(req_extensions: &axum::http::Extensions) -> IpAddr {
    req_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// What a sign-in attempt produced.
pub enum SignIn {
    /// Signed in: the session token to set as a cookie.
    Done { token: String, username: String },
    /// Password accepted; a one-time code is needed to finish (remote session). The pending token
    /// identifies the half-open session.
    NeedsSecondFactor { pending: String },
}

/// Checks a username and password (local Argon2id hash or the directory) with lockout.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    peer: IpAddr,
) -> Result<SignIn, ApiError> {
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let user = users::get_by_username(&mut tx, username.trim())
        .await
        .map_err(crate::store_error)?;
    let Some(user) = user else {
        // Spend the same time as a real check so the answer does not reveal whether the user exists.
        let _ = state.passwords.verify(None, password);
        audit_sign_in(&mut tx, username, audit::Outcome::Denied, "unknown user").await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    };
    let lock_state = LockoutState {
        failed_count: user.failed_logins % state.lockout.max_failures.max(1),
        locked_until: user.locked_until,
    };
    if state.lockout.is_locked(&lock_state, now) {
        audit_sign_in(&mut tx, &user.username, audit::Outcome::Denied, "locked").await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    }
    let checked = match &state.directory {
        Some(dir) => dir.authenticate(&user.username, password).await.map(|_| ()),
        None => state
            .passwords
            .verify(user.password_hash.as_deref(), password),
    };
    let outcome = if checked.is_ok() {
        AttemptOutcome::Success
    } else {
        AttemptOutcome::Failure
    };
    let decision = state.lockout.register(lock_state, now, outcome);
    if let Err(e) = checked {
        if matches!(e, AuthError::DirectoryUnavailable { .. }) {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "directory-unavailable",
                e.to_string(),
            )
            .with_cause(e.log_detail()));
        }
        users::record_failed_login(&mut tx, user.id, decision.state.locked_until)
            .await
            .map_err(crate::store_error)?;
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "bad credentials",
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    }
    users::reset_failed_logins(&mut tx, user.id)
        .await
        .map_err(crate::store_error)?;
    let remote = requires_second_factor(peer, &state.networks);
    if remote && user.totp_secret.is_none() {
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "remote sign-in without an enrolled second factor",
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(ApiError::forbidden(
            "SEC-01",
            "signing in from outside the agency's networks needs a second factor, and none is enrolled for this account; sign in from a local network and enrol one",
        ));
    }
    let token = IssuedToken::generate(TokenKind::Session);
    sessions::create(
        &mut tx,
        &sessions::NewSession {
            token_hash: token.hash().to_hex(),
            user_id: user.id,
            expires_at: now + Duration::minutes(state.config.session_minutes),
            second_factor_done: !remote,
            remote,
        },
    )
    .await
    .map_err(crate::store_error)?;
    let note = if remote {
        "password accepted; second factor pending"
    } else {
        "signed in"
    };
    audit_sign_in(&mut tx, &user.username, audit::Outcome::Success, note).await?;
    tx.commit().await.map_err(crate::store_error)?;
    if remote {
        Ok(SignIn::NeedsSecondFactor {
            pending: token.secret().to_string(),
        })
    } else {
        Ok(SignIn::Done {
            token: token.secret().to_string(),
            username: user.username,
        })
    }
}

/// Completes a remote sign-in with a one-time code.
pub async fn second_factor(state: &AppState, pending: &str, code: &str) -> Result<(), ApiError> {
    let now = Utc::now();
    let hash = TokenHash::of_presented(pending, TokenKind::Session).map_err(|_| refused())?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let session = sessions::get_valid(&mut tx, &hash.to_hex(), now)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(refused)?;
    let user = users::get(&mut tx, session.user_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(refused)?;
    let secret = user
        .totp_secret
        .as_deref()
        .ok_or_else(refused)
        .and_then(|s| TotpSecret::from_base32(s).map_err(|_| refused()))?;
    let unix = u64::try_from(now.timestamp()).unwrap_or(0);
    let last_step = user.totp_last_step;
    match secret.verify(code, unix, last_step) {
        Ok(step) => {
            users::set_totp_last_step(&mut tx, user.id, step)
                .await
                .map_err(crate::store_error)?;
            sessions::mark_second_factor(&mut tx, &hash.to_hex())
                .await
                .map_err(crate::store_error)?;
            audit_sign_in(
                &mut tx,
                &user.username,
                audit::Outcome::Success,
                "second factor",
            )
            .await?;
            tx.commit().await.map_err(crate::store_error)?;
            Ok(())
        }
        Err(_) => {
            let lock_state = LockoutState {
                failed_count: user.failed_logins % state.lockout.max_failures.max(1),
                locked_until: user.locked_until,
            };
            let decision = state
                .lockout
                .register(lock_state, now, AttemptOutcome::Failure);
            users::record_failed_login(&mut tx, user.id, decision.state.locked_until)
                .await
                .map_err(crate::store_error)?;
            audit_sign_in(
                &mut tx,
                &user.username,
                audit::Outcome::Denied,
                "bad one-time code",
            )
            .await?;
            tx.commit().await.map_err(crate::store_error)?;
            Err(refused())
        }
    }
}

/// Ends the session presented with the request.
pub async fn sign_out(state: &AppState, headers: &HeaderMap, actor: &str) -> Result<(), ApiError> {
    if let Some(Credential::Session(token)) = credential(headers) {
        if let Ok(hash) = TokenHash::of_presented(&token, TokenKind::Session) {
            let mut tx = state.store.begin().await.map_err(crate::store_error)?;
            sessions::delete(&mut tx, &hash.to_hex())
                .await
                .map_err(crate::store_error)?;
            audit_sign_in(&mut tx, actor, audit::Outcome::Success, "signed out").await?;
            tx.commit().await.map_err(crate::store_error)?;
        }
    }
    Ok(())
}

fn refused() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "sign-in-refused",
        probity_auth::SIGN_IN_REFUSED,
    )
}

async fn audit_sign_in(
    tx: &mut Tx,
    username: &str,
    outcome: audit::Outcome,
    note: &str,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: format!("user:{username}"),
            action: "session.sign_in".into(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: None,
            outcome,
            detail: serde_json::json!({ "note": note }),
        },
    )
    .await
    .map(|_| ())
    .map_err(crate::store_error)
}
