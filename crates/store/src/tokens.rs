//! API tokens for service accounts. Only the SHA-256 of the token is stored
//! ([`crate::token_hash`]).
//!
//! A token is bound to the local networks (`local_only`, the default) or not. The server refuses a
//! bound token presented from outside them, and treats an unbound one as a remote credential
//! without a second factor (SEC-01).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: Uuid,
    pub token_hash: String,
    pub user_id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Usable only from the configured local networks.
    pub local_only: bool,
}

impl ApiToken {
    /// Not revoked and not expired at `now`.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub token_hash: String,
    pub user_id: Uuid,
    pub label: String,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, token_hash, user_id, label, created_at, expires_at, revoked_at, local_only";

fn from_row(r: &sqlx::any::AnyRow) -> Result<ApiToken> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    let local_only: i64 = r.try_get("local_only")?;
    Ok(ApiToken {
        id: parse_uuid(&id)?,
        token_hash: r.try_get("token_hash")?,
        user_id: parse_uuid(&user)?,
        label: r.try_get("label")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        expires_at: opt_from_ms(r.try_get("expires_at")?)?,
        revoked_at: opt_from_ms(r.try_get("revoked_at")?)?,
        local_only: local_only != 0,
    })
}

/// Creates a token bound to the local networks.
pub async fn create(tx: &mut Tx, new: &NewApiToken) -> Result<ApiToken> {
    create_with_binding(tx, new, true).await
}

/// Creates a token, bound to the local networks (`local_only`) or not.
pub async fn create_with_binding(
    tx: &mut Tx,
    new: &NewApiToken,
    local_only: bool,
) -> Result<ApiToken> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO api_tokens (id, token_hash, user_id, label, created_at, expires_at, local_only) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(&new.token_hash)
    .bind(new.user_id.to_string())
    .bind(&new.label)
    .bind(now_ms())
    .bind(new.expires_at.map(to_ms))
    .bind(i64::from(local_only))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("api token", &new.label, e))?;
    get(tx, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "api token",
        id: id.to_string(),
    })
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Looks a presented token up by its hash (revoked and expired tokens are returned too;
/// check [`ApiToken::is_usable`]).
pub async fn get_by_hash(tx: &mut Tx, token_hash: &str) -> Result<Option<ApiToken>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn for_user(tx: &mut Tx, user_id: Uuid) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Revokes a token (idempotent: the first revocation time is kept).
pub async fn revoke(tx: &mut Tx, id: Uuid) -> Result<()> {
    let r =
        sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_ms())
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "api token",
            id: id.to_string(),
        });
    }
    Ok(())
}
