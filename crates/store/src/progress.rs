//! Progress of long work a person waits for: card intakes, photo repository imports,
//! re-templating and retention runs. One row per task, updated by the node doing the work, read
//! by the operations page on any node. Progress is operational, not protected data: it names the
//! kind of work, a label (a case number, a job) and counts, never a file or a person in a record.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::Result;

/// One task's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: Uuid,
    pub kind: String,
    pub label: String,
    pub started_by: String,
    pub node: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub done: u64,
    /// `None` until the work is counted.
    pub total: Option<u64>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `completed` or `failed`; `None` while running.
    pub outcome: Option<String>,
}

/// What a task is when it starts.
#[derive(Debug, Clone)]
pub struct NewTask<'a> {
    pub kind: &'a str,
    pub label: &'a str,
    pub started_by: &'a str,
    pub node: &'a str,
    pub total: Option<u64>,
}

const COLUMNS: &str = "id, kind, label, started_by, node, started_at, updated_at, done, total, \
                       finished_at, outcome";

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Task> {
    let total: Option<i64> = r.try_get("total")?;
    Ok(Task {
        id: parse_uuid(&r.try_get::<String, _>("id")?)?,
        kind: r.try_get("kind")?,
        label: r.try_get("label")?,
        started_by: r.try_get("started_by")?,
        node: r.try_get("node")?,
        started_at: from_ms(r.try_get("started_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
        done: u64::try_from(r.try_get::<i64, _>("done")?).unwrap_or(0),
        total: total.and_then(|t| u64::try_from(t).ok()),
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
        outcome: r.try_get("outcome")?,
    })
}

/// Records a task that starts at `now`.
pub async fn start(tx: &mut Tx, t: &NewTask<'_>, now: DateTime<Utc>) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO task_progress (id, kind, label, started_by, node, started_at, updated_at, \
         done, total) VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)",
    )
    .bind(id.to_string())
    .bind(t.kind)
    .bind(t.label)
    .bind(t.started_by)
    .bind(t.node)
    .bind(to_ms(now))
    .bind(to_ms(now))
    .bind(t.total.map(count))
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Saves how far a running task is.
pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    done: u64,
    total: Option<u64>,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE task_progress SET done = $1, total = COALESCE($2, total), updated_at = $3 \
         WHERE id = $4 AND finished_at IS NULL",
    )
    .bind(count(done))
    .bind(total.map(count))
    .bind(to_ms(now))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Ends a task: `completed` or `failed`, with its last count.
pub async fn finish(
    tx: &mut Tx,
    id: Uuid,
    done: u64,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE task_progress SET done = $1, updated_at = $2, finished_at = $2, outcome = $3 \
         WHERE id = $4 AND finished_at IS NULL",
    )
    .bind(count(done))
    .bind(to_ms(now))
    .bind(outcome)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// The tasks still running, then those finished since `since`, newest first; at most `limit`.
pub async fn recent(tx: &mut Tx, since: DateTime<Utc>, limit: u32) -> Result<Vec<Task>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM task_progress WHERE finished_at IS NULL OR finished_at >= $1 \
         ORDER BY CASE WHEN finished_at IS NULL THEN 0 ELSE 1 END, started_at DESC LIMIT $2"
    ))
    .bind(to_ms(since))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One task by id.
pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Task>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM task_progress WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}
