//! Background jobs with leases, safe on many nodes.
//!
//! A worker claims the oldest due job of a queue and holds a lease until `lease_until`; it
//! heartbeats to extend it and completes or fails it. A job whose lease ran out (the worker
//! died) is claimable again. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`, so workers on
//! many nodes never wait for or take the same job; on SQLite the claiming `UPDATE` runs under
//! the database write lock. Every completion, heartbeat and failure checks the lease owner.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, Backend, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: Uuid,
    pub queue: String,
    pub payload: serde_json::Value,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_after: DateTime<Utc>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

const COLUMNS: &str =
    "id, queue, payload, status, attempts, max_attempts, run_after, lease_owner, lease_until, last_error";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Job> {
    let id: String = r.try_get("id")?;
    let payload: String = r.try_get("payload")?;
    let attempts: i64 = r.try_get("attempts")?;
    let max_attempts: i64 = r.try_get("max_attempts")?;
    Ok(Job {
        id: parse_uuid(&id)?,
        queue: r.try_get("queue")?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Database(format!("job {id} payload is not JSON: {e}")))?,
        status: r.try_get("status")?,
        attempts: attempts.clamp(0, i64::from(u32::MAX)) as u32,
        max_attempts: max_attempts.clamp(0, i64::from(u32::MAX)) as u32,
        run_after: from_ms(r.try_get("run_after")?)?,
        lease_owner: r.try_get("lease_owner")?,
        lease_until: opt_from_ms(r.try_get("lease_until")?)?,
        last_error: r.try_get("last_error")?,
    })
}

/// Queues a job (in the caller's transaction, so it exists only if the change that asked
/// for it commits). `run_after` = `None` means now.
pub async fn enqueue(
    tx: &mut Tx,
    queue: &str,
    payload: &serde_json::Value,
    max_attempts: u32,
    run_after: Option<DateTime<Utc>>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO jobs (id, queue, payload, status, attempts, max_attempts, run_after, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(queue)
    .bind(payload.to_string())
    .bind(i64::from(max_attempts.max(1)))
    .bind(run_after.map(to_ms).unwrap_or(now))
    .bind(now)
    .bind(now)
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// Claims the next due job of `queue` for `worker`, leased for `lease`. A job whose previous
/// lease expired is claimable again (it counts as a new attempt); one that has used all its
/// attempts is marked `failed` instead.
pub async fn claim(tx: &mut Tx, queue: &str, worker: &str, lease: Duration) -> Result<Option<Job>> {
    let now = now_ms();
    let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2));
    sqlx::query(
        "UPDATE jobs SET status = 'failed', lease_owner = NULL, lease_until = NULL, \
         last_error = 'lease expired on the last attempt', updated_at = $1 \
         WHERE queue = $2 AND status = 'running' AND lease_until < $1 AND attempts >= max_attempts",
    )
    .bind(now)
    .bind(queue)
    .execute(tx.conn())
    .await?;
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_until = $2, \
         attempts = attempts + 1, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE queue = $4 AND \
           ((status = 'queued' AND run_after <= $3) OR (status = 'running' AND lease_until < $3)) \
           ORDER BY run_after, id LIMIT 1{lock}) \
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(worker)
        .bind(until)
        .bind(now)
        .bind(queue)
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

async fn guarded(
    tx: &mut Tx,
    sql: &str,
    id: Uuid,
    worker: &str,
    a: i64,
    b: Option<String>,
) -> Result<()> {
    let r = sqlx::query(sql)
        .bind(a)
        .bind(b)
        .bind(id.to_string())
        .bind(worker)
        .execute(tx.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "job {id} is no longer leased to {worker}; its lease expired and it may run elsewhere"
        )));
    }
    Ok(())
}

/// Extends the lease; fails with [`StoreError::Conflict`] if the lease was lost.
pub async fn heartbeat(tx: &mut Tx, id: Uuid, worker: &str, lease: Duration) -> Result<()> {
    let until = now_ms().saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2));
    guarded(
        tx,
        "UPDATE jobs SET lease_until = $1, last_error = COALESCE($2, last_error) \
         WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
        id,
        worker,
        until,
        None,
    )
    .await
}

/// Marks the job done.
pub async fn complete(tx: &mut Tx, id: Uuid, worker: &str) -> Result<()> {
    guarded(
        tx,
        "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, updated_at = $1, \
         last_error = COALESCE($2, last_error) \
         WHERE id = $3 AND lease_owner = $4 AND status = 'running'",
        id,
        worker,
        now_ms(),
        None,
    )
    .await
}

/// Records a failure: the job is queued again after `retry_after` while attempts remain,
/// otherwise it is `failed` for good.
pub async fn fail(
    tx: &mut Tx,
    id: Uuid,
    worker: &str,
    error: &str,
    retry_after: Duration,
) -> Result<()> {
    let now = now_ms();
    let retry_at =
        now.saturating_add(i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 2));
    let r = sqlx::query(
        "UPDATE jobs SET \
           status = CASE WHEN attempts < max_attempts THEN 'queued' ELSE 'failed' END, \
           run_after = CASE WHEN attempts < max_attempts THEN $1 ELSE run_after END, \
           lease_owner = NULL, lease_until = NULL, last_error = $2, updated_at = $3 \
         WHERE id = $4 AND lease_owner = $5 AND status = 'running'",
    )
    .bind(retry_at)
    .bind(error)
    .bind(now)
    .bind(id.to_string())
    .bind(worker)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "job {id} is no longer leased to {worker}; its lease expired and it may run elsewhere"
        )));
    }
    Ok(())
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Job>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}
