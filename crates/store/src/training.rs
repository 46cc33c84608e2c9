//! Training records: course, completion, expiry. They gate access to each technology (OVR-01).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRecord {
    pub id: Uuid,
    pub user_id: Uuid,
    pub course: String,
    pub completed_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Set when an administrator revoked the record (SEC-02): it then proves nothing.
    pub revoked_at: Option<DateTime<Utc>>,
    pub revocation_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewTraining {
    pub user_id: Uuid,
    pub course: String,
    pub completed_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, user_id, course, completed_at, expires_at, revoked_at, revocation_reason";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TrainingRecord> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    Ok(TrainingRecord {
        id: parse_uuid(&id)?,
        user_id: parse_uuid(&user)?,
        course: r.try_get("course")?,
        completed_at: from_ms(r.try_get("completed_at")?)?,
        expires_at: opt_from_ms(r.try_get("expires_at")?)?,
        revoked_at: opt_from_ms(r.try_get("revoked_at")?)?,
        revocation_reason: r.try_get("revocation_reason")?,
    })
}

pub async fn create(tx: &mut Tx, new: &NewTraining) -> Result<TrainingRecord> {
    if new.course.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a training record needs a course".into(),
        ));
    }
    if matches!(new.expires_at, Some(exp) if exp <= new.completed_at) {
        return Err(StoreError::Invalid(
            "training must expire after it was completed".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO training_records (id, user_id, course, completed_at, expires_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(new.user_id.to_string())
    .bind(&new.course)
    .bind(to_ms(new.completed_at))
    .bind(new.expires_at.map(to_ms))
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(TrainingRecord {
        id,
        user_id: new.user_id,
        course: new.course.clone(),
        completed_at: from_ms(to_ms(new.completed_at))?,
        expires_at: opt_from_ms(new.expires_at.map(to_ms))?,
        revoked_at: None,
        revocation_reason: None,
    })
}

async fn one(tx: &mut Tx, user_id: Uuid, id: Uuid) -> Result<TrainingRecord> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM training_records WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    match row {
        Some(r) => from_row(&r),
        None => Err(StoreError::NotFound {
            what: "training record",
            id: id.to_string(),
        }),
    }
}

/// Revokes `user_id`'s training record `id` at `at` with a reason. A revoked record stays
/// listed and proves nothing; revoking twice is a conflict. The caller audits.
pub async fn revoke(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<TrainingRecord> {
    let before = one(tx, user_id, id).await?;
    if before.revoked_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "training record {id} is already revoked"
        )));
    }
    sqlx::query(
        "UPDATE training_records SET revoked_at = $1, revocation_reason = $2 \
         WHERE id = $3 AND user_id = $4 AND revoked_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(reason)
    .bind(id.to_string())
    .bind(user_id.to_string())
    .execute(tx.conn())
    .await?;
    one(tx, user_id, id).await
}

/// Corrects the dates of a training record (a wrong completion or expiry was entered). The
/// caller audits the record before and after.
pub async fn correct(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    completed_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
) -> Result<(TrainingRecord, TrainingRecord)> {
    if matches!(expires_at, Some(exp) if exp <= completed_at) {
        return Err(StoreError::Invalid(
            "training must expire after it was completed".into(),
        ));
    }
    let before = one(tx, user_id, id).await?;
    if before.revoked_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "training record {id} is revoked; record the training anew"
        )));
    }
    sqlx::query(
        "UPDATE training_records SET completed_at = $1, expires_at = $2 \
         WHERE id = $3 AND user_id = $4",
    )
    .bind(to_ms(completed_at))
    .bind(expires_at.map(to_ms))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .execute(tx.conn())
    .await?;
    let after = one(tx, user_id, id).await?;
    Ok((before, after))
}

/// Every training record of a user, by course then completion.
pub async fn for_user(tx: &mut Tx, user_id: Uuid) -> Result<Vec<TrainingRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM training_records WHERE user_id = $1 ORDER BY course, completed_at"
    ))
    .bind(user_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Records valid at `at`: completed, and not expired.
pub async fn current(tx: &mut Tx, user_id: Uuid, at: DateTime<Utc>) -> Result<Vec<TrainingRecord>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM training_records WHERE user_id = $1 AND completed_at <= $2 \
         AND (expires_at IS NULL OR expires_at > $2) AND revoked_at IS NULL \
         ORDER BY course, completed_at"
    ))
    .bind(user_id.to_string())
    .bind(to_ms(at))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
