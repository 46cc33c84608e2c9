//! Login sessions. Only the SHA-256 of the session token is stored ([`crate::token_hash`]).
//!
//! A session is either open (`pending == false`) or half-open (`pending == true`): the password was
//! accepted from outside the local networks and a second factor is still needed (SEC-01). A
//! half-open session is short-lived, counts the codes tried against it, and is deleted when the
//! second factor is accepted (the caller then creates a new, open session: the token rotates).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub token_hash: String,
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// A second factor was presented in this session.
    pub second_factor_done: bool,
    /// Opened from outside the configured local networks.
    pub remote: bool,
    /// Half-open: waiting for the second factor; not a sign-in yet.
    pub pending: bool,
    /// Codes tried against this half-open session.
    pub second_factor_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub second_factor_done: bool,
    pub remote: bool,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Session> {
    let user: String = r.try_get("user_id")?;
    let second: i64 = r.try_get("second_factor_done")?;
    let remote: i64 = r.try_get("remote")?;
    let pending: i64 = r.try_get("pending")?;
    let attempts: i64 = r.try_get("second_factor_attempts")?;
    Ok(Session {
        token_hash: r.try_get("token_hash")?,
        user_id: parse_uuid(&user)?,
        created_at: from_ms(r.try_get("created_at")?)?,
        expires_at: from_ms(r.try_get("expires_at")?)?,
        second_factor_done: second != 0,
        remote: remote != 0,
        pending: pending != 0,
        second_factor_attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
    })
}

const COLUMNS: &str =
    "token_hash, user_id, created_at, expires_at, second_factor_done, remote, pending, \
     second_factor_attempts";

/// Creates an open session.
pub async fn create(tx: &mut Tx, new: &NewSession) -> Result<Session> {
    insert(tx, new, false).await
}

/// Creates a half-open session waiting for the second factor (SEC-01). Give it a short
/// `expires_at`: it is a sign-in in progress, not a session.
pub async fn create_pending(tx: &mut Tx, new: &NewSession) -> Result<Session> {
    insert(tx, new, true).await
}

async fn insert(tx: &mut Tx, new: &NewSession, pending: bool) -> Result<Session> {
    let created = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, second_factor_done, remote, pending) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&new.token_hash)
    .bind(new.user_id.to_string())
    .bind(created)
    .bind(to_ms(new.expires_at))
    .bind(i64::from(new.second_factor_done))
    .bind(i64::from(new.remote))
    .bind(i64::from(pending))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("session", "(token)", e))?;
    Ok(Session {
        token_hash: new.token_hash.clone(),
        user_id: new.user_id,
        created_at: from_ms(created)?,
        expires_at: from_ms(to_ms(new.expires_at))?,
        second_factor_done: new.second_factor_done,
        remote: new.remote,
        pending,
        second_factor_attempts: 0,
    })
}

/// The session for a token hash if it exists and has not expired at `now`.
pub async fn get_valid(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2"
    ))
    .bind(token_hash)
    .bind(to_ms(now))
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records that the second factor was presented.
pub async fn mark_second_factor(tx: &mut Tx, token_hash: &str) -> Result<()> {
    let r = sqlx::query("UPDATE sessions SET second_factor_done = 1 WHERE token_hash = $1")
        .bind(token_hash)
        .execute(tx.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "session",
            id: "(token)".into(),
        });
    }
    Ok(())
}

/// Counts one code tried against the half-open session `token_hash` and returns the new count;
/// `None` when there is no such half-open session. The count is incremented in the database, so
/// concurrent attempts cannot share a number.
pub async fn count_second_factor_attempt(tx: &mut Tx, token_hash: &str) -> Result<Option<u32>> {
    let row = sqlx::query(
        "UPDATE sessions SET second_factor_attempts = second_factor_attempts + 1 \
         WHERE token_hash = $1 AND pending = 1 RETURNING second_factor_attempts",
    )
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let n: i64 = r.try_get("second_factor_attempts")?;
        Ok(n.clamp(0, i64::from(u32::MAX)) as u32)
    })
    .transpose()
}

/// Logs out one session (or ends a half-open one). Returns whether it existed.
pub async fn delete(tx: &mut Tx, token_hash: &str) -> Result<bool> {
    let r = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected() > 0)
}

/// Ends every session of a user (password change, lockout, role change).
pub async fn delete_for_user(tx: &mut Tx, user_id: Uuid) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id.to_string())
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected())
}

/// Ends every half-open sign-in of a user (the account was just locked).
pub async fn delete_pending_for_user(tx: &mut Tx, user_id: Uuid) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND pending = 1")
        .bind(user_id.to_string())
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected())
}

/// Removes sessions expired at `now`.
pub async fn delete_expired(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected())
}
