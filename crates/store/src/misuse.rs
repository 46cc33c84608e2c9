//! Allegations of misuse (SEC-06): stored intake, assignment and outcome. What an allegation
//! must say and which outcomes exist are the domain crate's; each change here is a conditional
//! update on the status it expects, so two people never both assign or close one.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// A record an allegation names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Allegation {
    pub id: Uuid,
    pub subject_username: String,
    pub subject_command: Option<String>,
    pub description: String,
    pub occurred_from: DateTime<Utc>,
    pub occurred_to: DateTime<Utc>,
    pub records: Vec<RecordRef>,
    pub source: String,
    pub received_by: Uuid,
    pub received_by_username: String,
    pub received_at: DateTime<Utc>,
    /// `received`, `assigned` or `closed`.
    pub status: String,
    /// `iab` or `command`.
    pub assigned_to: Option<String>,
    pub assigned_by_username: Option<String>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub assignment_reason: Option<String>,
    pub outcome: Option<String>,
    pub outcome_note: Option<String>,
    pub closed_by_username: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "m.id, m.subject_username, m.subject_command, m.description, \
    m.occurred_from, m.occurred_to, m.records, m.source, m.received_by, \
    ru.username AS received_by_username, m.received_at, m.status, m.assigned_to, \
    au.username AS assigned_by_username, m.assigned_at, m.assignment_reason, m.outcome, \
    m.outcome_note, cu.username AS closed_by_username, m.closed_at";

const FROM: &str = "misuse_allegations m JOIN users ru ON ru.id = m.received_by \
    LEFT JOIN users au ON au.id = m.assigned_by LEFT JOIN users cu ON cu.id = m.closed_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Allegation> {
    let id: String = r.try_get("id")?;
    let by: String = r.try_get("received_by")?;
    let records: String = r.try_get("records")?;
    Ok(Allegation {
        id: parse_uuid(&id)?,
        subject_username: r.try_get("subject_username")?,
        subject_command: r.try_get("subject_command")?,
        description: r.try_get("description")?,
        occurred_from: from_ms(r.try_get("occurred_from")?)?,
        occurred_to: from_ms(r.try_get("occurred_to")?)?,
        records: serde_json::from_str(&records)
            .map_err(|e| StoreError::Invalid(format!("allegation {id}: records ({e})")))?,
        source: r.try_get("source")?,
        received_by: parse_uuid(&by)?,
        received_by_username: r.try_get("received_by_username")?,
        received_at: from_ms(r.try_get("received_at")?)?,
        status: r.try_get("status")?,
        assigned_to: r.try_get("assigned_to")?,
        assigned_by_username: r.try_get("assigned_by_username")?,
        assigned_at: opt_from_ms(r.try_get("assigned_at")?)?,
        assignment_reason: r.try_get("assignment_reason")?,
        outcome: r.try_get("outcome")?,
        outcome_note: r.try_get("outcome_note")?,
        closed_by_username: r.try_get("closed_by_username")?,
        closed_at: opt_from_ms(r.try_get("closed_at")?)?,
    })
}

/// Stores a new allegation (status `received`); the caller audits in the same transaction.
pub async fn insert(tx: &mut Tx, a: &Allegation) -> Result<()> {
    let records = serde_json::to_string(&a.records)
        .map_err(|e| StoreError::Invalid(format!("allegation records: {e}")))?;
    sqlx::query(
        "INSERT INTO misuse_allegations (id, subject_username, subject_command, description, \
         occurred_from, occurred_to, records, source, received_by, received_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'received')",
    )
    .bind(a.id.to_string())
    .bind(&a.subject_username)
    .bind(a.subject_command.clone())
    .bind(&a.description)
    .bind(to_ms(a.occurred_from))
    .bind(to_ms(a.occurred_to))
    .bind(records)
    .bind(&a.source)
    .bind(a.received_by.to_string())
    .bind(to_ms(a.received_at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("misuse allegation", &a.id.to_string(), e))?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Allegation>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE m.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Newest first, at most 500.
pub async fn list(tx: &mut Tx) -> Result<Vec<Allegation>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} ORDER BY m.received_at DESC, m.id LIMIT 500"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Assigns an allegation not yet closed to `to` (`iab` or `command`); reassignment is allowed
/// until it is closed.
pub async fn assign(
    tx: &mut Tx,
    id: Uuid,
    to: &str,
    by: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE misuse_allegations SET status = 'assigned', assigned_to = $1, assigned_by = $2, \
         assigned_at = $3, assignment_reason = $4 WHERE id = $5 AND status <> 'closed'",
    )
    .bind(to)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(reason)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "allegation {id} is closed or missing"
        )));
    }
    Ok(())
}

/// Closes an assigned allegation with its outcome.
pub async fn close(
    tx: &mut Tx,
    id: Uuid,
    outcome: &str,
    note: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE misuse_allegations SET status = 'closed', outcome = $1, outcome_note = $2, \
         closed_by = $3, closed_at = $4 WHERE id = $5 AND status = 'assigned'",
    )
    .bind(outcome)
    .bind(note)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "allegation {id} is not assigned (assign it before closing) or is already closed"
        )));
    }
    Ok(())
}
