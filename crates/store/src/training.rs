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
}

#[derive(Debug, Clone)]
pub struct NewTraining {
    pub user_id: Uuid,
    pub course: String,
    pub completed_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, course, completed_at, expires_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<TrainingRecord> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    Ok(TrainingRecord {
        id: parse_uuid(&id)?,
        user_id: parse_uuid(&user)?,
        course: r.try_get("course")?,
        completed_at: from_ms(r.try_get("completed_at")?)?,
        expires_at: opt_from_ms(r.try_get("expires_at")?)?,
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
    })
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
         AND (expires_at IS NULL OR expires_at > $2) ORDER BY course, completed_at"
    ))
    .bind(user_id.to_string())
    .bind(to_ms(at))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
