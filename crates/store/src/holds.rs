//! Legal holds (RET-11): a hold names one record (a case, a person, or a single item) and, while
//! in force, blocks its disposition whatever the schedule says. Holds are never deleted;
//! releasing one records who, when and why. Whether a hold is in force, and what it blocks, is
//! decided by the domain crate; this module only stores and finds holds.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// A stored legal hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub id: Uuid,
    /// `case`, `user`, `person`, `evidence_item`, `robot_frame` or `fr_request`.
    pub subject_kind: String,
    /// The case number, the username, the person's name, or the item's id.
    pub subject_ref: String,
    /// A named person's date of birth (`YYYY-MM-DD`), when known.
    pub date_of_birth: Option<String>,
    pub matter: String,
    pub reason: String,
    pub placed_by: Uuid,
    pub placed_by_username: String,
    pub placed_at: DateTime<Utc>,
    pub released_by: Option<Uuid>,
    pub released_by_username: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub release_reason: Option<String>,
}

/// A hold to place, already validated by the domain and resolved to an existing record.
#[derive(Debug, Clone)]
pub struct NewHold {
    pub subject_kind: String,
    pub subject_ref: String,
    pub date_of_birth: Option<String>,
    pub matter: String,
    pub reason: String,
    pub placed_by: Uuid,
    pub placed_at: DateTime<Utc>,
}

/// Which holds a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Any,
    /// Not released.
    Active,
    Released,
}

/// A search of holds: every given criterion must match (case-insensitive substrings).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub matter: Option<String>,
    /// Matches the record's reference (case number, username, name, id) or its kind.
    pub record: Option<String>,
    pub status: Status,
    /// At most this many (0 = 500), newest first.
    pub limit: u32,
}

const COLUMNS: &str = "h.id, h.subject_kind, h.subject_ref, h.date_of_birth, h.matter, h.reason, \
    h.placed_by, pu.username AS placed_by_username, h.placed_at, h.released_by, \
    ru.username AS released_by_username, h.released_at, h.release_reason";

const FROM: &str = "legal_holds h JOIN users pu ON pu.id = h.placed_by \
    LEFT JOIN users ru ON ru.id = h.released_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Hold> {
    let id: String = r.try_get("id")?;
    let placed_by: String = r.try_get("placed_by")?;
    let released_by: Option<String> = r.try_get("released_by")?;
    Ok(Hold {
        id: parse_uuid(&id)?,
        subject_kind: r.try_get("subject_kind")?,
        subject_ref: r.try_get("subject_ref")?,
        date_of_birth: r.try_get("date_of_birth")?,
        matter: r.try_get("matter")?,
        reason: r.try_get("reason")?,
        placed_by: parse_uuid(&placed_by)?,
        placed_by_username: r.try_get("placed_by_username")?,
        placed_at: from_ms(r.try_get("placed_at")?)?,
        released_by: released_by.as_deref().map(parse_uuid).transpose()?,
        released_by_username: r.try_get("released_by_username")?,
        released_at: opt_from_ms(r.try_get("released_at")?)?,
        release_reason: r.try_get("release_reason")?,
    })
}

/// Places a hold. The caller appends the audit entry in the same transaction.
pub async fn place(tx: &mut Tx, new: &NewHold) -> Result<Hold> {
    let mut missing = Vec::new();
    for (name, value) in [
        ("subject_kind", &new.subject_kind),
        ("subject_ref", &new.subject_ref),
        ("matter", &new.matter),
        ("reason", &new.reason),
    ] {
        if value.trim().is_empty() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::Invalid(format!(
            "a legal hold needs {}",
            missing.join(", ")
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO legal_holds (id, subject_kind, subject_ref, date_of_birth, matter, reason, \
         placed_by, placed_at, released_by, released_at, release_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL)",
    )
    .bind(id.to_string())
    .bind(&new.subject_kind)
    .bind(&new.subject_ref)
    .bind(new.date_of_birth.clone())
    .bind(&new.matter)
    .bind(&new.reason)
    .bind(new.placed_by.to_string())
    .bind(to_ms(new.placed_at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("legal hold", &id.to_string(), e))?;
    get(tx, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "legal hold",
        id: id.to_string(),
    })
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Hold>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE h.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Releases a hold in force. A hold already released is a conflict: a release is recorded once
/// and never overwritten.
pub async fn release(
    tx: &mut Tx,
    id: Uuid,
    released_by: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Hold> {
    if reason.trim().is_empty() {
        return Err(StoreError::Invalid(
            "releasing a legal hold needs a reason".into(),
        ));
    }
    let done = sqlx::query(
        "UPDATE legal_holds SET released_by = $1, released_at = $2, release_reason = $3 \
         WHERE id = $4 AND released_at IS NULL",
    )
    .bind(released_by.to_string())
    .bind(to_ms(at))
    .bind(reason)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let hold = get(tx, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "legal hold",
        id: id.to_string(),
    })?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "legal hold {id} was already released{}",
            hold.released_at
                .map(|t| format!(" on {}", t.to_rfc3339()))
                .unwrap_or_default()
        )));
    }
    Ok(hold)
}

fn like(s: &str) -> String {
    let escaped = s
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Holds matching `f`, newest first.
pub async fn list(tx: &mut Tx, f: &Filter) -> Result<Vec<Hold>> {
    let limit = if f.limit == 0 { 500 } else { f.limit };
    let status = match f.status {
        Status::Any => "",
        Status::Active => " AND h.released_at IS NULL",
        Status::Released => " AND h.released_at IS NOT NULL",
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} \
         WHERE LOWER(h.matter) LIKE $1 ESCAPE '\\' \
         AND (LOWER(h.subject_ref) LIKE $2 ESCAPE '\\' OR LOWER(h.subject_kind) LIKE $2 ESCAPE '\\'){status} \
         ORDER BY h.placed_at DESC, h.id DESC LIMIT $3"
    ))
    .bind(like(f.matter.as_deref().unwrap_or("")))
    .bind(like(f.record.as_deref().unwrap_or("")))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every hold, in force or released, naming any of `subjects` (`(kind, reference)` pairs). The
/// domain decides which of them are in force at a given time.
pub async fn on_subjects(tx: &mut Tx, subjects: &[(&str, &str)]) -> Result<Vec<Hold>> {
    let mut out = Vec::new();
    for (kind, reference) in subjects {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM {FROM} WHERE h.subject_kind = $1 AND h.subject_ref = $2 \
             ORDER BY h.placed_at, h.id"
        ))
        .bind(*kind)
        .bind(*reference)
        .fetch_all(tx.conn())
        .await?;
        for r in &rows {
            out.push(from_row(r)?);
        }
    }
    Ok(out)
}
