//! Breach response (EXT-05): suspected breaches, the Agency Privacy Officer's record, the report
//! to the City Chief Privacy Officer, the notification decision, the letters, and each escalation
//! of the 24-hour clock (one row per stage, so none is sent twice). What a record must carry and
//! when the clock escalates is decided by the domain crate; this module only stores and finds.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// A stored breach.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub id: Uuid,
    /// `suspected`, `recorded` or `dismissed`.
    pub status: String,
    pub raised_by_username: String,
    pub raised_at: DateTime<Utc>,
    pub suspicion: String,
    pub kind: Option<String>,
    pub what_disclosed: Option<String>,
    pub disclosed_to: Option<String>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub recorded_by_username: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
    pub dismissed_reason: Option<String>,
    pub cpo_reported_at: Option<DateTime<Utc>>,
    pub cpo_report_method: Option<String>,
    pub cpo_report_note: Option<String>,
    pub cpo_reported_by_username: Option<String>,
    pub notification_decision: Option<String>,
    pub notification_reason: Option<String>,
    pub decided_by_username: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

/// The Agency Privacy Officer's record of a breach, already checked by the domain.
#[derive(Debug, Clone)]
pub struct Record {
    pub kind: String,
    pub what_disclosed: String,
    pub disclosed_to: String,
    pub discovered_at: DateTime<Utc>,
    pub recorded_by: Uuid,
    pub recorded_at: DateTime<Utc>,
}

/// One escalation stage of a breach.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub breach_id: Uuid,
    pub stage_hours: i64,
    pub attempted_at: DateTime<Utc>,
    pub attempts: i64,
    pub recipients: String,
    /// `sent`, `failed` or `not_sent`.
    pub outcome: String,
    pub detail: Option<String>,
}

/// A letter to an affected person.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    pub id: Uuid,
    pub breach_id: Uuid,
    pub recipient: String,
    pub address: Option<String>,
    pub sent_on: String,
    pub recorded_by_username: String,
    pub recorded_at: DateTime<Utc>,
}

const COLUMNS: &str = "b.id, b.status, ru.username AS raised_by_username, b.raised_at, \
    b.suspicion, b.kind, b.what_disclosed, b.disclosed_to, b.discovered_at, \
    au.username AS recorded_by_username, b.recorded_at, b.dismissed_reason, b.cpo_reported_at, \
    b.cpo_report_method, b.cpo_report_note, cu.username AS cpo_reported_by_username, \
    b.notification_decision, b.notification_reason, du.username AS decided_by_username, \
    b.decided_at";

const FROM: &str = "breaches b JOIN users ru ON ru.id = b.raised_by \
    LEFT JOIN users au ON au.id = b.recorded_by \
    LEFT JOIN users cu ON cu.id = b.cpo_reported_by \
    LEFT JOIN users du ON du.id = b.decided_by";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Breach> {
    let id: String = r.try_get("id")?;
    Ok(Breach {
        id: parse_uuid(&id)?,
        status: r.try_get("status")?,
        raised_by_username: r.try_get("raised_by_username")?,
        raised_at: from_ms(r.try_get("raised_at")?)?,
        suspicion: r.try_get("suspicion")?,
        kind: r.try_get("kind")?,
        what_disclosed: r.try_get("what_disclosed")?,
        disclosed_to: r.try_get("disclosed_to")?,
        discovered_at: opt_from_ms(r.try_get("discovered_at")?)?,
        recorded_by_username: r.try_get("recorded_by_username")?,
        recorded_at: opt_from_ms(r.try_get("recorded_at")?)?,
        dismissed_reason: r.try_get("dismissed_reason")?,
        cpo_reported_at: opt_from_ms(r.try_get("cpo_reported_at")?)?,
        cpo_report_method: r.try_get("cpo_report_method")?,
        cpo_report_note: r.try_get("cpo_report_note")?,
        cpo_reported_by_username: r.try_get("cpo_reported_by_username")?,
        notification_decision: r.try_get("notification_decision")?,
        notification_reason: r.try_get("notification_reason")?,
        decided_by_username: r.try_get("decided_by_username")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
    })
}

fn not_found(id: Uuid) -> StoreError {
    StoreError::NotFound {
        what: "breach",
        id: id.to_string(),
    }
}

/// A suspected breach, raised by anyone. The caller appends the audit entry.
pub async fn raise(
    tx: &mut Tx,
    raised_by: Uuid,
    at: DateTime<Utc>,
    suspicion: &str,
) -> Result<Breach> {
    if suspicion.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a suspected breach needs a description".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO breaches (id, status, raised_by, raised_at, suspicion) \
         VALUES ($1, 'suspected', $2, $3, $4)",
    )
    .bind(id.to_string())
    .bind(raised_by.to_string())
    .bind(to_ms(at))
    .bind(suspicion)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("breach", &id.to_string(), e))?;
    get(tx, id).await?.ok_or_else(|| not_found(id))
}

/// A breach recorded directly by the Agency Privacy Officer (no prior suspicion).
pub async fn insert_recorded(tx: &mut Tx, suspicion: &str, r: &Record) -> Result<Breach> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO breaches (id, status, raised_by, raised_at, suspicion, kind, what_disclosed, \
         disclosed_to, discovered_at, recorded_by, recorded_at) \
         VALUES ($1, 'recorded', $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.to_string())
    .bind(r.recorded_by.to_string())
    .bind(to_ms(r.recorded_at))
    .bind(suspicion)
    .bind(&r.kind)
    .bind(&r.what_disclosed)
    .bind(&r.disclosed_to)
    .bind(to_ms(r.discovered_at))
    .bind(r.recorded_by.to_string())
    .bind(to_ms(r.recorded_at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("breach", &id.to_string(), e))?;
    get(tx, id).await?.ok_or_else(|| not_found(id))
}

/// Records a suspected breach as a breach: the clock starts. Only a suspicion is recorded.
pub async fn record(tx: &mut Tx, id: Uuid, r: &Record) -> Result<Breach> {
    let done = sqlx::query(
        "UPDATE breaches SET status = 'recorded', kind = $1, what_disclosed = $2, \
         disclosed_to = $3, discovered_at = $4, recorded_by = $5, recorded_at = $6 \
         WHERE id = $7 AND status = 'suspected'",
    )
    .bind(&r.kind)
    .bind(&r.what_disclosed)
    .bind(&r.disclosed_to)
    .bind(to_ms(r.discovered_at))
    .bind(r.recorded_by.to_string())
    .bind(to_ms(r.recorded_at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let b = get(tx, id).await?.ok_or_else(|| not_found(id))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "breach {id} is {}, not a suspicion waiting for review",
            b.status
        )));
    }
    Ok(b)
}

/// Dismisses a suspicion (not a breach), with the reason.
pub async fn dismiss(
    tx: &mut Tx,
    id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
    reason: &str,
) -> Result<Breach> {
    let done = sqlx::query(
        "UPDATE breaches SET status = 'dismissed', dismissed_reason = $1, recorded_by = $2, \
         recorded_at = $3 WHERE id = $4 AND status = 'suspected'",
    )
    .bind(reason)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let b = get(tx, id).await?.ok_or_else(|| not_found(id))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "breach {id} is {}, not a suspicion waiting for review",
            b.status
        )));
    }
    Ok(b)
}

/// Records the report to the City Chief Privacy Officer, once.
pub async fn report_to_cpo(
    tx: &mut Tx,
    id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
    method: &str,
    note: &str,
) -> Result<Breach> {
    let done = sqlx::query(
        "UPDATE breaches SET cpo_reported_at = $1, cpo_report_method = $2, cpo_report_note = $3, \
         cpo_reported_by = $4 WHERE id = $5 AND status = 'recorded' AND cpo_reported_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(method)
    .bind(note)
    .bind(by.to_string())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let b = get(tx, id).await?.ok_or_else(|| not_found(id))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "breach {id}: the report to the City Chief Privacy Officer is already recorded or \
             the breach is not recorded"
        )));
    }
    Ok(b)
}

/// Records the notification decision, once.
pub async fn decide_notification(
    tx: &mut Tx,
    id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
    decision: &str,
    reason: &str,
) -> Result<Breach> {
    let done = sqlx::query(
        "UPDATE breaches SET notification_decision = $1, notification_reason = $2, \
         decided_by = $3, decided_at = $4 \
         WHERE id = $5 AND status = 'recorded' AND notification_decision IS NULL",
    )
    .bind(decision)
    .bind(reason)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let b = get(tx, id).await?.ok_or_else(|| not_found(id))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "breach {id}: the notification decision is already recorded or the breach is not \
             recorded"
        )));
    }
    Ok(b)
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Breach>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE b.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every breach and suspicion, newest first (at most `limit`).
pub async fn list(tx: &mut Tx, limit: u32) -> Result<Vec<Breach>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} ORDER BY b.raised_at DESC, b.id DESC LIMIT $1"
    ))
    .bind(i64::from(limit.max(1)))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Suspicions waiting for review and recorded breaches not yet reported to the City Chief
/// Privacy Officer: what the clock banner and the escalation job look at.
pub async fn open(tx: &mut Tx) -> Result<Vec<Breach>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE b.status = 'suspected' \
         OR (b.status = 'recorded' AND b.cpo_reported_at IS NULL) \
         ORDER BY b.discovered_at, b.raised_at"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Recorded breaches discovered in `[from, to)`.
pub async fn discovered_between(
    tx: &mut Tx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Breach>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE b.status = 'recorded' \
         AND b.discovered_at >= $1 AND b.discovered_at < $2 ORDER BY b.discovered_at"
    ))
    .bind(to_ms(from))
    .bind(to_ms(to))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

fn escalation_from_row(r: &sqlx::any::AnyRow) -> Result<Escalation> {
    let id: String = r.try_get("breach_id")?;
    Ok(Escalation {
        breach_id: parse_uuid(&id)?,
        stage_hours: r.try_get("stage_hours")?,
        attempted_at: from_ms(r.try_get("attempted_at")?)?,
        attempts: r.try_get("attempts")?,
        recipients: r.try_get("recipients")?,
        outcome: r.try_get("outcome")?,
        detail: r.try_get("detail")?,
    })
}

/// The escalations of a breach, by stage.
pub async fn escalations(tx: &mut Tx, breach: Uuid) -> Result<Vec<Escalation>> {
    let rows = sqlx::query(
        "SELECT breach_id, stage_hours, attempted_at, attempts, recipients, outcome, detail \
         FROM breach_escalations WHERE breach_id = $1 ORDER BY stage_hours",
    )
    .bind(breach.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(escalation_from_row).collect()
}

/// Records an attempt at an escalation stage: the first attempt inserts the row, a retry of a
/// failed one updates it. A stage already `sent` or `not_sent` is a conflict (never twice).
pub async fn record_escalation(
    tx: &mut Tx,
    breach: Uuid,
    stage_hours: i64,
    at: DateTime<Utc>,
    recipients: &str,
    outcome: &str,
    detail: Option<&str>,
) -> Result<Escalation> {
    let retried = sqlx::query(
        "UPDATE breach_escalations SET attempted_at = $1, attempts = attempts + 1, \
         recipients = $2, outcome = $3, detail = $4 \
         WHERE breach_id = $5 AND stage_hours = $6 AND outcome = 'failed'",
    )
    .bind(to_ms(at))
    .bind(recipients)
    .bind(outcome)
    .bind(detail.map(str::to_string))
    .bind(breach.to_string())
    .bind(stage_hours)
    .execute(tx.conn())
    .await?;
    if retried.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO breach_escalations \
             (breach_id, stage_hours, attempted_at, attempts, recipients, outcome, detail) \
             VALUES ($1, $2, $3, 1, $4, $5, $6)",
        )
        .bind(breach.to_string())
        .bind(stage_hours)
        .bind(to_ms(at))
        .bind(recipients)
        .bind(outcome)
        .bind(detail.map(str::to_string))
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_sqlx("breach escalation", &breach.to_string(), e))?;
    }
    escalations(tx, breach)
        .await?
        .into_iter()
        .find(|e| e.stage_hours == stage_hours)
        .ok_or_else(|| not_found(breach))
}

/// Records a letter to an affected person.
pub async fn add_letter(
    tx: &mut Tx,
    breach: Uuid,
    recipient: &str,
    address: Option<&str>,
    sent_on: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<Letter> {
    if recipient.trim().is_empty() {
        return Err(StoreError::Invalid("a letter needs its recipient".into()));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO breach_letters (id, breach_id, recipient, address, sent_on, recorded_by, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(breach.to_string())
    .bind(recipient)
    .bind(address.map(str::to_string))
    .bind(sent_on)
    .bind(by.to_string())
    .bind(to_ms(at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("breach letter", &id.to_string(), e))?;
    letters(tx, breach)
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(StoreError::NotFound {
            what: "breach letter",
            id: id.to_string(),
        })
}

/// The letters of a breach, in the order recorded.
pub async fn letters(tx: &mut Tx, breach: Uuid) -> Result<Vec<Letter>> {
    let rows = sqlx::query(
        "SELECT l.id, l.breach_id, l.recipient, l.address, l.sent_on, u.username, l.recorded_at \
         FROM breach_letters l JOIN users u ON u.id = l.recorded_by \
         WHERE l.breach_id = $1 ORDER BY l.recorded_at, l.id",
    )
    .bind(breach.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let b: String = r.try_get("breach_id")?;
            Ok(Letter {
                id: parse_uuid(&id)?,
                breach_id: parse_uuid(&b)?,
                recipient: r.try_get("recipient")?,
                address: r.try_get("address")?,
                sent_on: r.try_get("sent_on")?,
                recorded_by_username: r.try_get("username")?,
                recorded_at: from_ms(r.try_get("recorded_at")?)?,
            })
        })
        .collect()
}

/// How many letters each breach has (for the summary): `(breach, count)`.
pub async fn letter_counts(tx: &mut Tx) -> Result<Vec<(Uuid, i64)>> {
    let rows = sqlx::query(
        "SELECT breach_id, COUNT(*) AS n FROM breach_letters GROUP BY breach_id ORDER BY breach_id",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let b: String = r.try_get("breach_id")?;
            Ok((parse_uuid(&b)?, r.try_get("n")?))
        })
        .collect()
}
