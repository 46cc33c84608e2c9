//! The measured quality of repository photos (FR-06 measures applied at import): photos below the
//! quality floor are flagged to the records officer, who reviews each one (FR-01).

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::{from_ms, opt_from_ms, to_ms, Tx};
use crate::error::{Result, StoreError};

/// The quality of one repository photo's face, as measured at import.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoQuality {
    pub record_no: i64,
    pub measured_at: DateTime<Utc>,
    pub below_floor: bool,
    /// The engine's quality report (JSON).
    pub measures: serde_json::Value,
    /// The measures outside the floor, in words.
    pub issues: Vec<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
}

const COLUMNS: &str =
    "record_no, measured_at, below_floor, measures, issues, reviewed_by, reviewed_at, review_note";

fn from_row(r: &sqlx::any::AnyRow) -> Result<PhotoQuality> {
    let measures: String = r.try_get("measures")?;
    let issues: String = r.try_get("issues")?;
    let below: i64 = r.try_get("below_floor")?;
    Ok(PhotoQuality {
        record_no: r.try_get("record_no")?,
        measured_at: from_ms(r.try_get("measured_at")?)?,
        below_floor: below != 0,
        measures: serde_json::from_str(&measures)
            .map_err(|e| StoreError::Database(format!("stored quality measures: {e}")))?,
        issues: serde_json::from_str(&issues)
            .map_err(|e| StoreError::Database(format!("stored quality issues: {e}")))?,
        reviewed_by: r.try_get("reviewed_by")?,
        reviewed_at: opt_from_ms(r.try_get("reviewed_at")?)?,
        review_note: r.try_get("review_note")?,
    })
}

/// Records the quality of a photo just imported (same transaction as the import).
pub async fn record(
    tx: &mut Tx,
    record_no: i64,
    measures: &serde_json::Value,
    issues: &[String],
    below_floor: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fr_record_quality (record_no, measured_at, below_floor, measures, issues) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(record_no)
    .bind(to_ms(at))
    .bind(i64::from(below_floor))
    .bind(measures.to_string())
    .bind(serde_json::Value::from(issues.to_vec()).to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Flagged photos awaiting review, oldest first: one page and the total.
pub async fn awaiting_review(
    tx: &mut Tx,
    limit: i64,
    offset: i64,
) -> Result<(Vec<PhotoQuality>, i64)> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_record_quality WHERE below_floor = 1 AND reviewed_at IS NULL \
         ORDER BY measured_at, record_no LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(tx.conn())
    .await?;
    let total: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM fr_record_quality WHERE below_floor = 1 AND reviewed_at IS NULL",
    )
    .fetch_one(tx.conn())
    .await?
    .try_get("n")?;
    Ok((
        rows.iter().map(from_row).collect::<Result<Vec<_>>>()?,
        total,
    ))
}

/// How many flagged photos await review, and since when the oldest waits.
pub async fn open_count(tx: &mut Tx) -> Result<(i64, Option<DateTime<Utc>>)> {
    let r = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(measured_at) AS oldest FROM fr_record_quality \
         WHERE below_floor = 1 AND reviewed_at IS NULL",
    )
    .fetch_one(tx.conn())
    .await?;
    Ok((r.try_get("n")?, opt_from_ms(r.try_get("oldest")?)?))
}

/// The quality of one photo, if it was measured.
pub async fn get(tx: &mut Tx, record_no: i64) -> Result<Option<PhotoQuality>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_record_quality WHERE record_no = $1"
    ))
    .bind(record_no)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records the records officer's review of a flagged photo. Returns false when the photo is not
/// flagged or was already reviewed (nothing changes).
pub async fn review(
    tx: &mut Tx,
    record_no: i64,
    by: &str,
    note: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE fr_record_quality SET reviewed_by = $1, reviewed_at = $2, review_note = $3 \
         WHERE record_no = $4 AND below_floor = 1 AND reviewed_at IS NULL",
    )
    .bind(by)
    .bind(to_ms(at))
    .bind(note)
    .bind(record_no)
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}
