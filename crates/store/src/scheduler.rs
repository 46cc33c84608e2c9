//! Leases and run records of the server's job scheduler, safe on many nodes.
//!
//! Each named periodic job has one row in `scheduler_leases`: when it is next due and, while it
//! runs, which node holds it and until when. [`claim`] is a single conditional `UPDATE` (the row
//! must be due — or the run asked for now — and its lease free or expired), so of any number of
//! nodes racing for a job exactly one gets `rows_affected == 1`: on PostgreSQL the losers' updates
//! wait for the winner's row lock and then find the lease taken; on SQLite the update runs under
//! the database write lock. A node that dies while holding a lease simply lets it expire and the
//! next claim takes the job over as soon as it has (not at the job's next slot), closing the dead
//! node's run as failed. [`finish`] moves the job
//! to its next slot and clears the lease only if the lease is still the finisher's.
//!
//! Every run has a row in `scheduler_runs` (job, node, start, finish, outcome, the job's JSON
//! summary, the error). The store decides no schedule: callers pass `now` and the next slot.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// One job's lease row.
#[derive(Debug, Clone, PartialEq)]
pub struct Lease {
    pub job: String,
    /// The node running the job, while it runs.
    pub owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub next_run_at: DateTime<Utc>,
}

/// One recorded run.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: Uuid,
    pub job: String,
    pub node: String,
    /// `schedule`, or the actor who asked for the run now.
    pub triggered_by: String,
    pub started_at: DateTime<Utc>,
    /// `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// `ok` or `failed`; `None` while running.
    pub outcome: Option<String>,
    pub summary: Option<serde_json::Value>,
    pub error: Option<String>,
}

/// How a claim treats the job's next slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// Only when the job is due (`next_run_at <= now`).
    Due,
    /// Whenever no other node holds the lease (a run asked for now).
    Now,
}

/// Creates the job's row, first due at `first_run_at`, unless it exists.
pub async fn ensure(tx: &mut Tx, job: &str, first_run_at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheduler_leases (job, owner, lease_until, next_run_at) \
         VALUES ($1, NULL, NULL, $2) ON CONFLICT (job) DO NOTHING",
    )
    .bind(job)
    .bind(to_ms(first_run_at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Claims `job` for `owner` until `lease_until`, if it is due, or a claimed run never finished,
/// or `kind` is [`ClaimKind::Now`], and no unexpired lease is held: one conditional `UPDATE`, claimed when it changed one row.
/// When claimed, runs a crashed holder left open are closed as failed and the new run is
/// recorded; its id is returned. The caller commits before running the job.
pub async fn claim(
    tx: &mut Tx,
    job: &str,
    owner: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    kind: ClaimKind,
    triggered_by: &str,
) -> Result<Option<Uuid>> {
    // A job is due at its slot, or at once when a run was claimed and never finished (its node
    // died): the lease condition below then waits for that lease to expire, and the work resumes
    // without waiting for the next slot (a day, for the daily jobs).
    let due = match kind {
        ClaimKind::Due => " AND (next_run_at <= $3 OR owner IS NOT NULL)",
        ClaimKind::Now => "",
    };
    let sql = format!(
        "UPDATE scheduler_leases SET owner = $1, lease_until = $2 \
         WHERE job = $4{due} AND (lease_until IS NULL OR lease_until < $3)"
    );
    let now_ms = to_ms(now);
    let r = sqlx::query(&sql)
        .bind(owner)
        .bind(to_ms(lease_until))
        .bind(now_ms)
        .bind(job)
        .execute(tx.conn())
        .await?;
    if r.rows_affected() != 1 {
        return Ok(None);
    }
    sqlx::query(
        "UPDATE scheduler_runs SET finished_at = $1, outcome = 'failed', \
         error = 'the node running it stopped before it finished: its lease expired and the job was taken over' \
         WHERE job = $2 AND finished_at IS NULL",
    )
    .bind(now_ms)
    .bind(job)
    .execute(tx.conn())
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO scheduler_runs (id, job, node, triggered_by, started_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(job)
    .bind(owner)
    .bind(triggered_by)
    .bind(now_ms)
    .execute(tx.conn())
    .await?;
    Ok(Some(id))
}

/// Extends `owner`'s lease on `job`; [`StoreError::Conflict`] if the lease was lost.
pub async fn extend(tx: &mut Tx, job: &str, owner: &str, lease_until: DateTime<Utc>) -> Result<()> {
    let r = sqlx::query(
        "UPDATE scheduler_leases SET lease_until = $1 WHERE job = $2 AND owner = $3 \
         AND lease_until IS NOT NULL",
    )
    .bind(to_ms(lease_until))
    .bind(job)
    .bind(owner)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(lost(job, owner));
    }
    Ok(())
}

fn lost(job: &str, owner: &str) -> StoreError {
    StoreError::Conflict(format!(
        "job {job} is no longer leased to {owner}: its lease expired and another node took it over"
    ))
}

/// Ends a run: records its finish, and — if `owner` still holds the lease — moves the job to
/// `next_run_at` and clears the lease. Returns false when the lease had been lost (the run is
/// recorded; the schedule is left to the node that took over).
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    tx: &mut Tx,
    run: Uuid,
    job: &str,
    owner: &str,
    finished_at: DateTime<Utc>,
    outcome_ok: bool,
    summary: Option<&serde_json::Value>,
    error: Option<&str>,
    next_run_at: DateTime<Utc>,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE scheduler_leases SET owner = NULL, lease_until = NULL, next_run_at = $1 \
         WHERE job = $2 AND owner = $3",
    )
    .bind(to_ms(next_run_at))
    .bind(job)
    .bind(owner)
    .execute(tx.conn())
    .await?;
    let held = r.rows_affected() == 1;
    sqlx::query(
        "UPDATE scheduler_runs SET finished_at = $1, outcome = $2, summary = $3, error = $4 \
         WHERE id = $5",
    )
    .bind(to_ms(finished_at))
    .bind(if outcome_ok { "ok" } else { "failed" })
    .bind(summary.map(|s| s.to_string()))
    .bind(error)
    .bind(run.to_string())
    .execute(tx.conn())
    .await?;
    Ok(held)
}

fn lease_from_row(r: &sqlx::any::AnyRow) -> Result<Lease> {
    Ok(Lease {
        job: r.try_get("job")?,
        owner: r.try_get("owner")?,
        lease_until: opt_from_ms(r.try_get("lease_until")?)?,
        next_run_at: from_ms(r.try_get("next_run_at")?)?,
    })
}

/// Every job's lease row, by name.
pub async fn leases(tx: &mut Tx) -> Result<Vec<Lease>> {
    let rows = sqlx::query(
        "SELECT job, owner, lease_until, next_run_at FROM scheduler_leases ORDER BY job",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(lease_from_row).collect()
}

/// One job's lease row.
pub async fn lease(tx: &mut Tx, job: &str) -> Result<Option<Lease>> {
    let row = sqlx::query(
        "SELECT job, owner, lease_until, next_run_at FROM scheduler_leases WHERE job = $1",
    )
    .bind(job)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(lease_from_row).transpose()
}

fn run_from_row(r: &sqlx::any::AnyRow) -> Result<Run> {
    let id: String = r.try_get("id")?;
    let summary: Option<String> = r.try_get("summary")?;
    Ok(Run {
        id: parse_uuid(&id)?,
        job: r.try_get("job")?,
        node: r.try_get("node")?,
        triggered_by: r.try_get("triggered_by")?,
        started_at: from_ms(r.try_get("started_at")?)?,
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
        outcome: r.try_get("outcome")?,
        summary: summary
            .map(|s| {
                serde_json::from_str(&s).map_err(|e| {
                    StoreError::Database(format!("scheduler run {id} summary is not JSON: {e}"))
                })
            })
            .transpose()?,
        error: r.try_get("error")?,
    })
}

const RUN_COLUMNS: &str =
    "id, job, node, triggered_by, started_at, finished_at, outcome, summary, error";

/// Runs, newest first, at most `limit`; of one job when `job` is given.
pub async fn runs(tx: &mut Tx, job: Option<&str>, limit: u32) -> Result<Vec<Run>> {
    let filter = if job.is_some() { "WHERE job = $2 " } else { "" };
    let sql = format!(
        "SELECT {RUN_COLUMNS} FROM scheduler_runs {filter}ORDER BY started_at DESC, id DESC LIMIT $1"
    );
    let mut q = sqlx::query(&sql).bind(i64::from(limit));
    if let Some(j) = job {
        q = q.bind(j);
    }
    let rows = q.fetch_all(tx.conn()).await?;
    rows.iter().map(run_from_row).collect()
}

/// One run.
pub async fn run(tx: &mut Tx, id: Uuid) -> Result<Option<Run>> {
    let row = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM scheduler_runs WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(run_from_row).transpose()
}
