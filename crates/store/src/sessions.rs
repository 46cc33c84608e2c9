//! Login sessions. Only the SHA-256 of the session token is stored ([`crate::token_hash`]).

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
    pub second_factor_done: bool,
    /// Opened from outside the configured local networks.
    pub remote: bool,
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
    Ok(Session {
        token_hash: r.try_get("token_hash")?,
        user_id: parse_uuid(&user)?,
        created_at: from_ms(r.try_get("created_at")?)?,
        expires_at: from_ms(r.try_get("expires_at")?)?,
        second_factor_done: second != 0,
        remote: remote != 0,
    })
}

pub async fn create(tx: &mut Tx, new: &NewSession) -> Result<Session> {
    let created = now_ms();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, second_factor_done, remote) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&new.token_hash)
    .bind(new.user_id.to_string())
    .bind(created)
    .bind(to_ms(new.expires_at))
    .bind(i64::from(new.second_factor_done))
    .bind(i64::from(new.remote))
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
    })
}

/// The session for a token hash if it exists and has not expired at `now`.
pub async fn get_valid(
    tx: &mut Tx,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT token_hash, user_id, created_at, expires_at, second_factor_done, remote \
         FROM sessions WHERE token_hash = $1 AND expires_at > $2",
    )
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

/// Logs out one session.
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

/// Removes sessions expired at `now`.
pub async fn delete_expired(tx: &mut Tx, now: DateTime<Utc>) -> Result<u64> {
    let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(to_ms(now))
        .execute(tx.conn())
        .await?;
    Ok(r.rows_affected())
}
