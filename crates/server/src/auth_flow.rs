//! The one sign-in path (SEC-01): sign-in, second factor, sign-out, and recognising the caller on
//! each request.
//!
//! The primitives (password hashing, one-time and recovery codes, lockout, which networks are
//! local, the client address behind trusted proxies, token formats) are in `probity-auth`; this
//! module calls them in a fixed order and writes every outcome with its audit entry in one
//! transaction. Order of a sign-in:
//!
//! 1. **Client address.** The TCP peer, or what a trusted proxy's `X-Forwarded-For` names
//!    ([`client`]). It alone decides local or remote, at sign-in and on every request.
//! 2. **Lockout and first factor.** A local password is always checked, against a dummy hash for an
//!    unknown user, so the time taken does not tell whether the account exists or is locked. The
//!    directory (LDAP) is not asked while the account is locked, so Probity never helps lock the
//!    directory account; an outage counts against nobody. A locked account is refused whatever the
//!    password. A wrong password counts toward the lockout. A hash made with old parameters is
//!    replaced after a correct password.
//! 3. **Second factor.** From a local network the password opens a session whose
//!    `second_factor_done` is false (unless a code was given with the password). From outside, an
//!    account without an enrolled second factor is refused (403, SEC-01); otherwise a half-open
//!    session is created: short-lived (`second_factor_pending_minutes`), not a sign-in, and limited
//!    to `second_factor_attempts` codes, after which it is deleted. Every wrong code also counts
//!    toward the account's lockout, and a locked account cannot complete the step. A code is a TOTP
//!    code (never accepted twice) or one of the account's recovery codes (each usable once).
//! 4. **Rotation.** Once the code is accepted, the half-open session is deleted (it cannot be used
//!    twice, even by concurrent requests) and a new session token is issued for the normal session
//!    length, with `second_factor_done` true. The failure count is reset only now.
//!
//! On each request [`authenticate`] turns the credential into a [`Principal`] whose `remote` and
//! `second_factor` are facts, not guesses: the policy pack's `SEC-01.remote-access-needs-second-factor`
//! decides on them. A session is remote when it was opened from outside or is now used from
//! outside; an API token bound to the local networks is refused (401, audited) from outside them;
//! an unbound token is always remote, without a second factor.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Duration, Utc};
use probity_auth::{
    is_recovery_code, recovery_code_hash, AttemptOutcome, AuthError, IssuedToken, LockoutState,
    TokenHash, TokenKind, TotpSecret,
};
use probity_store::{audit, sessions, tokens, users, Tx};

use crate::error::ApiError;
use crate::principal::{self, Principal};
use crate::session::{credential_for, Credential};
use crate::state::AppState;

/// Where a request comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    /// The TCP peer of the connection.
    pub peer: IpAddr,
    /// The client's address: the peer, or the one a trusted proxy reports; `None` when a trusted
    /// proxy reported something that is not an address.
    pub address: Option<IpAddr>,
    /// The address lies in the configured local networks (SEC-01).
    pub local: bool,
}

impl Client {
    fn describe(&self) -> String {
        match self.address {
            Some(a) if a == self.peer => a.to_string(),
            Some(a) => format!("{a} (via proxy {})", self.peer),
            None => format!("unknown (via proxy {})", self.peer),
        }
    }
}

/// The client of a request with TCP peer `peer`.
pub fn client(state: &AppState, headers: &HeaderMap, peer: IpAddr) -> Client {
    let address =
        crate::session::client_address(headers, peer, &state.config.trusted_proxy_networks());
    Client {
        peer,
        address,
        local: address.is_some_and(|a| state.networks.is_local(a)),
    }
}

/// The peer address of the request, when the server recorded it.
pub fn peer_ip(req_extensions: &axum::http::Extensions) -> IpAddr {
    req_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}

/// Recognises the caller; `Ok(None)` when there is no valid credential. `peer` is the TCP peer
/// address of the connection.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    peer: IpAddr,
) -> Result<Option<Principal>, ApiError> {
    let Some(cred) = credential_for(headers, state.tls) else {
        return Ok(None);
    };
    let client = client(state, headers, peer);
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
                // A half-open sign-in waiting for its second factor is not a session.
                Some(s) if s.pending => return Ok(None),
                Some(s) => (s.user_id, s.remote || !client.local, s.second_factor_done),
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
                Some(t) if t.is_usable(now) => {
                    if t.local_only && !client.local {
                        tx.commit().await.map_err(crate::store_error)?;
                        return Err(refuse_bound_token(state, &t, &client).await);
                    }
                    // A token presents no second factor: unbound, it is a remote credential
                    // without one, and the pack rule refuses it.
                    (t.user_id, !t.local_only, false)
                }
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
    // A deactivated account's session or token no longer signs anyone in (SEC-02); its
    // sessions were ended at deactivation, this also covers one opened in the same instant.
    if user.deactivated_at.is_some_and(|d| d <= now) {
        return Ok(None);
    }
    let directory_account = state.directory.is_some() && user.kind != "service";
    let (user_id, username) = (user.id, user.username.clone());
    let mut p =
        principal::load_cached(&mut tx, user, &state.access_cache, &state.commands, now).await?;
    p.remote = remote;
    p.second_factor = second_factor;
    tx.commit().await.map_err(crate::store_error)?;
    if directory_account {
        check_directory_account(state, user_id, &username, &client).await?;
    }
    Ok(Some(p))
}

/// SEC-02: an account disabled or removed in the directory loses access at its next request,
/// whatever session or token it holds. Asked outside any transaction (a directory round trip
/// must not hold the database); a directory that cannot answer refuses the request (503) rather
/// than let an account through unchecked. On a refusal the account's sessions end, so the
/// person must sign in again (and the directory will refuse the bind) once re-enabled.
async fn check_directory_account(
    state: &AppState,
    user_id: uuid::Uuid,
    username: &str,
    client: &Client,
) -> Result<(), ApiError> {
    let Some(dir) = &state.directory else {
        return Ok(());
    };
    let status = match dir.account_status(username).await {
        Ok(status) => status,
        Err(e) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "directory-unavailable",
                "the directory cannot confirm this account is still enabled; try again shortly (SEC-02)",
            )
            .with_rule("SEC-02")
            .with_cause(e.log_detail()))
        }
    };
    if status == probity_auth::AccountStatus::Enabled {
        return Ok(());
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let ended = sessions::delete_for_user(&mut tx, user_id)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: format!("user:{username}"),
            action: "session.directory_check".into(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: None,
            outcome: audit::Outcome::Denied,
            detail: serde_json::json!({
                "rule": "SEC-02",
                "note": format!("the account is {}", status.describe()),
                "sessions_ended": ended,
                "client": client.describe(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "account-disabled-in-directory",
        format!(
            "this account is {}; access ended (SEC-02)",
            status.describe()
        ),
    )
    .with_rule("SEC-02"))
}

/// A token bound to the local networks presented from outside them: audited, then 401.
async fn refuse_bound_token(
    state: &AppState,
    token: &tokens::ApiToken,
    client: &Client,
) -> ApiError {
    let refusal = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "token-bound-to-local-networks",
        "this API token may be used only from the agency's local networks (SEC-01)",
    )
    .with_rule("SEC-01");
    let written = async {
        let mut tx = state.store.begin().await.map_err(crate::store_error)?;
        let username = users::get(&mut tx, token.user_id)
            .await
            .map_err(crate::store_error)?
            .map(|u| u.username)
            .unwrap_or_else(|| token.user_id.to_string());
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor: format!("user:{username}"),
                action: "session.api_token".into(),
                record_type: "user".into(),
                record_id: username.clone(),
                reason: None,
                outcome: audit::Outcome::Denied,
                detail: serde_json::json!({
                    "rule": "SEC-01",
                    "note": "API token bound to the local networks presented from outside them",
                    "token": token.label,
                    "client": client.describe(),
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)
    }
    .await;
    match written {
        Ok(()) => refusal,
        Err(e) => e,
    }
}

/// What a sign-in attempt produced.
pub enum SignIn {
    /// Signed in: the session token to set as a cookie.
    Done {
        token: String,
        username: String,
        /// A second factor was presented with the password.
        second_factor: bool,
    },
    /// Password accepted; a code is needed to finish (remote client). The pending token identifies
    /// the half-open sign-in.
    NeedsSecondFactor { pending: String },
}

/// A sign-in attempt as typed.
pub struct SignInRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    /// A TOTP or recovery code given with the password (optional; completes a remote sign-in in
    /// one step, and marks a local session as having presented a second factor).
    pub code: Option<&'a str>,
}

/// A session opened by [`second_factor`].
pub struct Rotated {
    pub token: String,
    pub username: String,
}

/// Checks a username and password (local Argon2id hash or the directory) with lockout, then the
/// second factor as the client's address requires.
pub async fn sign_in(
    state: &AppState,
    attempt: SignInRequest<'_>,
    client: &Client,
) -> Result<SignIn, ApiError> {
    let now = Utc::now();
    let username = attempt.username.trim();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let found = users::get_by_username(&mut tx, username)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;

    // The password checks run outside any write transaction: Argon2id and a directory bind take
    // time, and SQLite has one writer.
    let Some(user) = found else {
        // The same work as a real check, so the answer does not reveal whether the user exists.
        let _ = state.passwords.verify(None, attempt.password);
        let mut tx = state.store.begin().await.map_err(crate::store_error)?;
        audit_sign_in(
            &mut tx,
            username,
            audit::Outcome::Denied,
            "unknown user",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    };
    let locked = state.lockout.is_locked(&lock_state(&user), now);
    let first: Result<(), AuthError> = match &state.directory {
        Some(_) if locked => {
            let _ = state.passwords.verify(None, attempt.password);
            Err(AuthError::refused("account locked; directory not asked"))
        }
        Some(dir) => dir
            .authenticate(&user.username, attempt.password)
            .await
            .map(|_| ()),
        None => state
            .passwords
            .verify(user.password_hash.as_deref(), attempt.password),
    };
    if let Err(e @ (AuthError::DirectoryUnavailable { .. } | AuthError::Misconfigured { .. })) =
        &first
    {
        // An outage is nobody's failure: nothing is counted.
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "directory-unavailable",
            e.to_string(),
        )
        .with_cause(e.log_detail()));
    }
    // The bind alone does not say the account is enabled (a directory without a password
    // policy accepts the bind of a locked entry): ask as every later request will (SEC-02).
    if let (Ok(()), Some(dir)) = (&first, &state.directory) {
        match dir.account_status(&user.username).await {
            Ok(probity_auth::AccountStatus::Enabled) => {}
            Ok(status) => {
                let mut tx = state.store.begin().await.map_err(crate::store_error)?;
                audit_sign_in(
                    &mut tx,
                    &user.username,
                    audit::Outcome::Denied,
                    &format!("account {}", status.describe()),
                    client,
                )
                .await?;
                tx.commit().await.map_err(crate::store_error)?;
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "account-disabled-in-directory",
                    format!("this account is {} (SEC-02)", status.describe()),
                )
                .with_rule("SEC-02"));
            }
            Err(e) => {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "directory-unavailable",
                    e.to_string(),
                )
                .with_cause(e.log_detail()))
            }
        }
    }
    let upgraded = match (&first, &state.directory, user.password_hash.as_deref()) {
        (Ok(()), None, Some(phc)) => state.passwords.upgraded_hash(phc, attempt.password),
        _ => None,
    };

    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    // Read again under the write lock: a concurrent attempt may have locked the account.
    let user = users::get(&mut tx, user.id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(refused)?;
    if state.lockout.is_locked(&lock_state(&user), now) {
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "account locked",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    }
    if let Err(e) = first {
        let cause = format!("bad credentials ({})", e.log_detail());
        return Err(refuse_sign_in(state, tx, &user, client, now, &cause).await?);
    }
    // Told only to someone who knew the password: the account exists and is deactivated.
    if user.deactivated_at.is_some() {
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "account deactivated",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account-deactivated",
            "this account is deactivated; an administrator can reactivate it (SEC-02)",
        )
        .with_rule("SEC-02"));
    }
    if let Some(phc) = &upgraded {
        users::set_password_hash(&mut tx, user.id, Some(phc))
            .await
            .map_err(crate::store_error)?;
    }

    let enrolled = user.totp_secret.is_some();
    let remote = !client.local;
    if let (Some(code), true) = (attempt.code, enrolled) {
        // The code came with the password: the whole sign-in in one step.
        return match check_second_factor(&mut tx, &user, code, now).await? {
            Ok(factor) => {
                users::reset_failed_logins(&mut tx, user.id)
                    .await
                    .map_err(crate::store_error)?;
                let token = open_session(state, &mut tx, &user, remote, true, now).await?;
                let note = format!("signed in with password and {}", factor.describe());
                audit_sign_in(
                    &mut tx,
                    &user.username,
                    audit::Outcome::Success,
                    &note,
                    client,
                )
                .await?;
                factor.audit(&mut tx, &user, client).await?;
                tx.commit().await.map_err(crate::store_error)?;
                Ok(SignIn::Done {
                    token,
                    username: user.username,
                    second_factor: true,
                })
            }
            Err(cause) => {
                let cause = format!("password accepted, second factor refused ({cause})");
                Err(refuse_sign_in(state, tx, &user, client, now, &cause).await?)
            }
        };
    }
    if !remote {
        users::reset_failed_logins(&mut tx, user.id)
            .await
            .map_err(crate::store_error)?;
        let token = open_session(state, &mut tx, &user, false, false, now).await?;
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Success,
            "signed in from a local network",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Ok(SignIn::Done {
            token,
            username: user.username,
            second_factor: false,
        });
    }
    if !enrolled {
        audit_sign_in(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "remote sign-in without an enrolled second factor",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(ApiError::forbidden(
            "SEC-01",
            "signing in from outside the agency's networks needs a second factor, and none is enrolled for this account; sign in from a local network and enrol one",
        ));
    }
    // The failure count is not reset by the password alone: only a completed sign-in resets it,
    // so alternating a right password with wrong codes still reaches the lockout.
    let pending = IssuedToken::generate(TokenKind::Session);
    sessions::create_pending(
        &mut tx,
        &sessions::NewSession {
            token_hash: pending.hash().to_hex(),
            user_id: user.id,
            expires_at: now + Duration::minutes(state.config.second_factor_pending_minutes.max(1)),
            second_factor_done: false,
            remote: true,
        },
    )
    .await
    .map_err(crate::store_error)?;
    audit_sign_in(
        &mut tx,
        &user.username,
        audit::Outcome::Success,
        "password accepted from outside the local networks; second factor pending",
        client,
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(SignIn::NeedsSecondFactor {
        pending: pending.secret().to_string(),
    })
}

/// Completes a remote sign-in with a TOTP or recovery code. On success the half-open sign-in is
/// gone and a new session token is returned.
pub async fn second_factor(
    state: &AppState,
    pending: &str,
    code: &str,
    client: &Client,
) -> Result<Rotated, ApiError> {
    let now = Utc::now();
    let hash = TokenHash::of_presented(pending, TokenKind::Session)
        .map_err(|_| refused())?
        .to_hex();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let session = sessions::get_valid(&mut tx, &hash, now)
        .await
        .map_err(crate::store_error)?
        .filter(|s| s.pending)
        .ok_or_else(refused)?;
    let user = users::get(&mut tx, session.user_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(refused)?;
    if state.lockout.is_locked(&lock_state(&user), now) {
        sessions::delete(&mut tx, &hash)
            .await
            .map_err(crate::store_error)?;
        audit_second_factor(
            &mut tx,
            &user.username,
            audit::Outcome::Denied,
            "account locked; the half-open sign-in is ended",
            client,
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    }
    let limit = state.config.second_factor_attempts.max(1);
    let attempt = sessions::count_second_factor_attempt(&mut tx, &hash)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(refused)?;
    if attempt > limit {
        sessions::delete(&mut tx, &hash)
            .await
            .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        return Err(refused());
    }
    match check_second_factor(&mut tx, &user, code, now).await? {
        Ok(factor) => {
            // Single use: if a concurrent request consumed the half-open sign-in first, this
            // one opens nothing.
            if !sessions::delete(&mut tx, &hash)
                .await
                .map_err(crate::store_error)?
            {
                tx.rollback().await.map_err(crate::store_error)?;
                return Err(refused());
            }
            users::reset_failed_logins(&mut tx, user.id)
                .await
                .map_err(crate::store_error)?;
            let token = open_session(state, &mut tx, &user, session.remote, true, now).await?;
            let note = format!(
                "{} accepted; the half-open sign-in is replaced by a new session token",
                factor.describe()
            );
            audit_second_factor(
                &mut tx,
                &user.username,
                audit::Outcome::Success,
                &note,
                client,
            )
            .await?;
            factor.audit(&mut tx, &user, client).await?;
            tx.commit().await.map_err(crate::store_error)?;
            Ok(Rotated {
                token,
                username: user.username,
            })
        }
        Err(cause) => {
            let locked_now = count_failure(state, &mut tx, &user, now).await?;
            let ended = attempt >= limit || locked_now;
            if ended {
                sessions::delete(&mut tx, &hash)
                    .await
                    .map_err(crate::store_error)?;
            }
            let note = format!(
                "second factor refused ({cause}); attempt {attempt} of {limit}{}{}",
                if locked_now { "; account locked" } else { "" },
                if ended {
                    "; the half-open sign-in is ended"
                } else {
                    ""
                },
            );
            audit_second_factor(
                &mut tx,
                &user.username,
                audit::Outcome::Denied,
                &note,
                client,
            )
            .await?;
            tx.commit().await.map_err(crate::store_error)?;
            Err(refused())
        }
    }
}

/// Ends the session presented with the request.
pub async fn sign_out(state: &AppState, headers: &HeaderMap, actor: &str) -> Result<(), ApiError> {
    if let Some(Credential::Session(token)) = credential_for(headers, state.tls) {
        if let Ok(hash) = TokenHash::of_presented(&token, TokenKind::Session) {
            let mut tx = state.store.begin().await.map_err(crate::store_error)?;
            sessions::delete(&mut tx, &hash.to_hex())
                .await
                .map_err(crate::store_error)?;
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: format!("user:{actor}"),
                    action: "session.sign_out".into(),
                    record_type: "user".into(),
                    record_id: actor.to_string(),
                    reason: None,
                    outcome: audit::Outcome::Success,
                    detail: serde_json::json!({ "note": "signed out" }),
                },
            )
            .await
            .map_err(crate::store_error)?;
            tx.commit().await.map_err(crate::store_error)?;
        }
    }
    Ok(())
}

/// The second factor that was accepted.
enum Factor {
    Totp,
    RecoveryCode { left: u32 },
}

impl Factor {
    fn describe(&self) -> String {
        match self {
            Factor::Totp => "one-time code".into(),
            Factor::RecoveryCode { left } => format!("recovery code ({left} left)"),
        }
    }

    /// A recovery code's use is an event of its own in the audit trail.
    async fn audit(
        &self,
        tx: &mut Tx,
        user: &users::User,
        client: &Client,
    ) -> Result<(), ApiError> {
        let Factor::RecoveryCode { left } = self else {
            return Ok(());
        };
        audit::append(
            tx,
            &audit::AuditEvent {
                actor: format!("user:{}", user.username),
                action: "account.recovery_code.use".into(),
                record_type: "user".into(),
                record_id: user.username.clone(),
                reason: None,
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({ "left": left, "client": client.describe() }),
            },
        )
        .await
        .map(|_| ())
        .map_err(crate::store_error)
    }
}

/// Checks `code` as the account's TOTP code (never a step already used) or as one of its unused
/// recovery codes, and records the use. `Ok(Err(cause))` when refused; the cause is for the
/// audit trail only.
async fn check_second_factor(
    tx: &mut Tx,
    user: &users::User,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Result<Factor, String>, ApiError> {
    if is_recovery_code(code) {
        let Some(hash) = recovery_code_hash(&user.id.to_string(), code) else {
            return Ok(Err("recovery code malformed".into()));
        };
        if !users::use_recovery_code(tx, user.id, &hash, now)
            .await
            .map_err(crate::store_error)?
        {
            return Ok(Err("recovery code unknown or already used".into()));
        }
        let left = users::recovery_codes_left(tx, user.id)
            .await
            .map_err(crate::store_error)?;
        return Ok(Ok(Factor::RecoveryCode { left }));
    }
    let Some(secret) = user
        .totp_secret
        .as_deref()
        .and_then(|s| TotpSecret::from_base32(s).ok())
    else {
        return Ok(Err("no second factor enrolled".into()));
    };
    let unix = u64::try_from(now.timestamp()).unwrap_or(0);
    match secret.verify(code, unix, user.totp_last_step) {
        Ok(step) => {
            if users::advance_totp_step(tx, user.id, step)
                .await
                .map_err(crate::store_error)?
            {
                Ok(Ok(Factor::Totp))
            } else {
                Ok(Err("one-time code already used".into()))
            }
        }
        Err(e) => Ok(Err(e.log_detail().to_string())),
    }
}

/// Creates an open session and returns its token.
async fn open_session(
    state: &AppState,
    tx: &mut Tx,
    user: &users::User,
    remote: bool,
    second_factor_done: bool,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    let token = IssuedToken::generate(TokenKind::Session);
    sessions::create(
        tx,
        &sessions::NewSession {
            token_hash: token.hash().to_hex(),
            user_id: user.id,
            expires_at: now + Duration::minutes(state.config.session_minutes.max(1)),
            second_factor_done,
            remote,
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(token.secret().to_string())
}

fn lock_state(user: &users::User) -> LockoutState {
    LockoutState {
        failed_count: user.failed_logins,
        locked_until: user.locked_until,
    }
}

/// Counts a failed password or code toward the account's lockout. The count is incremented in the
/// database (concurrent attempts cannot share a number); the lockout rule decides on the count.
/// Returns true when this failure locked the account.
async fn count_failure(
    state: &AppState,
    tx: &mut Tx,
    user: &users::User,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let count = users::record_failed_login(tx, user.id, None)
        .await
        .map_err(crate::store_error)?;
    let decision = state.lockout.register(
        LockoutState {
            failed_count: count.saturating_sub(1),
            locked_until: None,
        },
        now,
        AttemptOutcome::Failure,
    );
    if let (true, Some(until)) = (decision.locked_now, decision.state.locked_until) {
        users::lock_until(tx, user.id, until)
            .await
            .map_err(crate::store_error)?;
        sessions::delete_pending_for_user(tx, user.id)
            .await
            .map_err(crate::store_error)?;
    }
    Ok(decision.locked_now)
}

fn refused() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "sign-in-refused",
        probity_auth::SIGN_IN_REFUSED,
    )
}

/// A refused sign-in factor: counted toward the lockout, audited with `cause`, committed. Returns
/// the one refusal every failed sign-in gets.
async fn refuse_sign_in(
    state: &AppState,
    mut tx: Tx,
    user: &users::User,
    client: &Client,
    now: DateTime<Utc>,
    cause: &str,
) -> Result<ApiError, ApiError> {
    let locked_now = count_failure(state, &mut tx, user, now).await?;
    let note = format!(
        "{cause}{}",
        if locked_now { "; account locked" } else { "" }
    );
    audit_sign_in(
        &mut tx,
        &user.username,
        audit::Outcome::Denied,
        &note,
        client,
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(refused())
}

async fn audit_sign_in(
    tx: &mut Tx,
    username: &str,
    outcome: audit::Outcome,
    note: &str,
    client: &Client,
) -> Result<(), ApiError> {
    audit_session(tx, "session.sign_in", username, outcome, note, client).await
}

async fn audit_second_factor(
    tx: &mut Tx,
    username: &str,
    outcome: audit::Outcome,
    note: &str,
    client: &Client,
) -> Result<(), ApiError> {
    audit_session(tx, "session.second_factor", username, outcome, note, client).await
}

async fn audit_session(
    tx: &mut Tx,
    action: &str,
    username: &str,
    outcome: audit::Outcome,
    note: &str,
    client: &Client,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: format!("user:{username}"),
            action: action.into(),
            record_type: "user".into(),
            record_id: username.to_string(),
            reason: None,
            outcome,
            detail: serde_json::json!({
                "note": note,
                "client": client.describe(),
                "local": client.local,
            }),
        },
    )
    .await
    .map(|_| ())
    .map_err(crate::store_error)
}
