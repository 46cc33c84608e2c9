//! Assignments: a user's role or unit in a command from a start to an (open) end. Access
//! follows the current assignment and ends with it (SEC-02).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub id: Uuid,
    pub user_id: Uuid,
    pub role: Option<String>,
    pub unit: Option<String>,
    pub command: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Why it was ended early, when an administrator ended it (SEC-02).
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAssignment {
    pub user_id: Uuid,
    pub role: Option<String>,
    pub unit: Option<String>,
    pub command: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, user_id, role, unit, command, starts_at, ends_at, end_reason";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Assignment> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    Ok(Assignment {
        id: parse_uuid(&id)?,
        user_id: parse_uuid(&user)?,
        role: r.try_get("role")?,
        unit: r.try_get("unit")?,
        command: r.try_get("command")?,
        starts_at: from_ms(r.try_get("starts_at")?)?,
        ends_at: opt_from_ms(r.try_get("ends_at")?)?,
        end_reason: r.try_get("end_reason")?,
    })
}

pub async fn create(tx: &mut Tx, new: &NewAssignment) -> Result<Assignment> {
    if new.role.is_none() && new.unit.is_none() {
        return Err(StoreError::Invalid(
            "an assignment needs a role or a unit".into(),
        ));
    }
    if matches!(new.ends_at, Some(end) if end <= new.starts_at) {
        return Err(StoreError::Invalid(
            "an assignment must end after it starts".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO assignments (id, user_id, role, unit, command, starts_at, ends_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(new.user_id.to_string())
    .bind(new.role.as_deref())
    .bind(new.unit.as_deref())
    .bind(&new.command)
    .bind(to_ms(new.starts_at))
    .bind(new.ends_at.map(to_ms))
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(Assignment {
        id,
        user_id: new.user_id,
        role: new.role.clone(),
        unit: new.unit.clone(),
        command: new.command.clone(),
        starts_at: from_ms(to_ms(new.starts_at))?,
        ends_at: opt_from_ms(new.ends_at.map(to_ms))?,
        end_reason: None,
    })
}

/// Ends an assignment at `at` (job duties changed).
pub async fn end(tx: &mut Tx, id: Uuid, at: DateTime<Utc>) -> Result<()> {
    let r = sqlx::query("UPDATE assignments SET ends_at = $1 WHERE id = $2")
        .bind(to_ms(at))
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "assignment",
            id: id.to_string(),
        });
    }
    Ok(())
}

/// Ends `user_id`'s assignment `id` at `at` with a reason, if it is in force or would run past
/// `at`; an assignment already ended earlier is a conflict (its end is never pushed back).
pub async fn end_early(
    tx: &mut Tx,
    user_id: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Assignment> {
    let r = sqlx::query(
        // One not yet started is cancelled: it ends when it would have started.
        "UPDATE assignments SET ends_at = CASE WHEN starts_at > $1 THEN starts_at ELSE $1 END, \
         end_reason = $2 WHERE id = $3 AND user_id = $4 AND (ends_at IS NULL OR ends_at > $1)",
    )
    .bind(to_ms(at))
    .bind(reason)
    .bind(id.to_string())
    .bind(user_id.to_string())
    .execute(tx.conn())
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assignments WHERE id = $1 AND user_id = $2"
    ))
    .bind(id.to_string())
    .bind(user_id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    let Some(row) = row else {
        return Err(StoreError::NotFound {
            what: "assignment",
            id: id.to_string(),
        });
    };
    let a = from_row(&row)?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "assignment {id} already ended{}",
            a.ends_at.map(|e| format!(" at {e}")).unwrap_or_default()
        )));
    }
    Ok(a)
}

/// Every assignment of a user, oldest first.
pub async fn for_user(tx: &mut Tx, user_id: Uuid) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assignments WHERE user_id = $1 ORDER BY starts_at, id"
    ))
    .bind(user_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Assignments in force at `at`: started, and not yet ended.
pub async fn current(tx: &mut Tx, user_id: Uuid, at: DateTime<Utc>) -> Result<Vec<Assignment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM assignments WHERE user_id = $1 AND starts_at <= $2 \
         AND (ends_at IS NULL OR ends_at > $2) ORDER BY starts_at, id"
    ))
    .bind(user_id.to_string())
    .bind(to_ms(at))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
