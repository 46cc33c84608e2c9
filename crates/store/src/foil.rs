//! Public records requests (PUB-01): requests, the responsive records gathered for them, the
//! redaction boxes on those records, the release log and appeals. The rules (deadlines, what a
//! decision needs, four eyes) are the domain crate's; this module only stores and finds. Nothing
//! is deleted: a removed redaction box keeps who removed it; every state change is a conditional
//! update on the status read, so a replayed step cannot apply twice. The caller appends the audit
//! entry in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

fn date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Integrity(format!("stored date {s:?} is not a date: {e}")))
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(date).transpose()
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn letters(text: Option<String>) -> Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| StoreError::Integrity(format!("stored exemptions are not JSON: {e}"))),
    }
}

fn letters_json(l: &[String]) -> String {
    serde_json::to_string(l).unwrap_or_else(|_| "[]".to_string())
}

// ------------------------------------------------------------------ requests

/// A stored FOIL request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Uuid,
    pub receipt: String,
    /// `officer` or `public`.
    pub channel: String,
    pub requester: String,
    pub contact: String,
    pub description: String,
    pub received_on: NaiveDate,
    pub logged_at: DateTime<Utc>,
    pub logged_by: Option<String>,
    /// `received`, `acknowledged`, `granted`, `denied`, `appealed`, `appeal_decided`.
    pub status: String,
    pub acknowledged_on: Option<NaiveDate>,
    pub acknowledged_by: Option<String>,
    pub decision_by: Option<NaiveDate>,
    pub extension_reason: Option<String>,
    pub review_completed_by: Option<String>,
    pub review_completed_at: Option<DateTime<Utc>>,
    pub review_notes: Option<String>,
    pub outcome: Option<String>,
    /// Cited paragraph letters of POL §87(2).
    pub exemptions: Vec<String>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_notes: Option<String>,
    pub recipient: Option<String>,
}

/// A request to log, already checked by the domain.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub channel: String,
    pub requester: String,
    pub contact: String,
    pub description: String,
    pub received_on: NaiveDate,
    pub logged_at: DateTime<Utc>,
    pub logged_by: Option<String>,
    pub client_hash: Option<String>,
}

const REQUEST_COLUMNS: &str =
    "id, receipt, channel, requester, contact, description, received_on, \
    logged_at, logged_by, status, acknowledged_on, acknowledged_by, decision_by, extension_reason, \
    review_completed_by, review_completed_at, review_notes, outcome, exemptions, decided_on, \
    decided_by, decided_at, decision_notes, recipient";

fn request_from_row(r: &sqlx::any::AnyRow) -> Result<Request> {
    let id: String = r.try_get("id")?;
    let received: String = r.try_get("received_on")?;
    Ok(Request {
        id: parse_uuid(&id)?,
        receipt: r.try_get("receipt")?,
        channel: r.try_get("channel")?,
        requester: r.try_get("requester")?,
        contact: r.try_get("contact")?,
        description: r.try_get("description")?,
        received_on: date(&received)?,
        logged_at: from_ms(r.try_get("logged_at")?)?,
        logged_by: r.try_get("logged_by")?,
        status: r.try_get("status")?,
        acknowledged_on: opt_date(r.try_get("acknowledged_on")?)?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        decision_by: opt_date(r.try_get("decision_by")?)?,
        extension_reason: r.try_get("extension_reason")?,
        review_completed_by: r.try_get("review_completed_by")?,
        review_completed_at: opt_from_ms(r.try_get("review_completed_at")?)?,
        review_notes: r.try_get("review_notes")?,
        outcome: r.try_get("outcome")?,
        exemptions: letters(r.try_get("exemptions")?)?,
        decided_on: opt_date(r.try_get("decided_on")?)?,
        decided_by: r.try_get("decided_by")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
        decision_notes: r.try_get("decision_notes")?,
        recipient: r.try_get("recipient")?,
    })
}

/// The next receipt number of `year` (`FOIL-2026-000001`, ...).
async fn next_receipt(tx: &mut Tx, year: i32) -> Result<String> {
    let prefix = format!("FOIL-{year}-");
    let row = sqlx::query("SELECT MAX(receipt) AS last FROM foil_requests WHERE receipt LIKE $1")
        .bind(format!("{prefix}%"))
        .fetch_one(tx.conn())
        .await?;
    let last: Option<String> = row.try_get("last")?;
    let n = last
        .as_deref()
        .and_then(|l| l.strip_prefix(&prefix))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    Ok(format!("{prefix}{:06}", n + 1))
}

/// Logs a request with the next receipt number of its receipt year. Two concurrent loggings
/// may pick the same number: the loser gets [`StoreError::AlreadyExists`] and retries in a new
/// transaction.
pub async fn create_request(tx: &mut Tx, new: &NewRequest) -> Result<Request> {
    use chrono::Datelike;
    let id = Uuid::now_v7();
    let receipt = next_receipt(tx, new.received_on.year()).await?;
    sqlx::query(
        "INSERT INTO foil_requests (id, receipt, channel, requester, contact, description, \
         received_on, logged_at, logged_by, client_hash, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'received')",
    )
    .bind(id.to_string())
    .bind(&receipt)
    .bind(&new.channel)
    .bind(&new.requester)
    .bind(&new.contact)
    .bind(&new.description)
    .bind(ymd(new.received_on))
    .bind(to_ms(new.logged_at))
    .bind(new.logged_by.clone())
    .bind(new.client_hash.clone())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("FOIL receipt", &receipt, e))?;
    get_request(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "FOIL request",
            id: id.to_string(),
        })
}

/// Public-form requests from the client `client_hash` logged at or after `since`.
pub async fn public_requests_since(
    tx: &mut Tx,
    client_hash: &str,
    since: DateTime<Utc>,
) -> Result<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM foil_requests WHERE client_hash = $1 AND logged_at >= $2",
    )
    .bind(client_hash)
    .bind(to_ms(since))
    .fetch_one(tx.conn())
    .await?;
    Ok(row.try_get("n")?)
}

pub async fn get_request(tx: &mut Tx, id: Uuid) -> Result<Option<Request>> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM foil_requests WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

pub async fn get_by_receipt(tx: &mut Tx, receipt: &str) -> Result<Option<Request>> {
    let row = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM foil_requests WHERE receipt = $1"
    ))
    .bind(receipt)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// Every request, oldest receipt first (at most `limit`, 0 = 5000).
pub async fn list_requests(tx: &mut Tx, limit: u32) -> Result<Vec<Request>> {
    let limit = if limit == 0 { 5000 } else { limit };
    let rows = sqlx::query(&format!(
        "SELECT {REQUEST_COLUMNS} FROM foil_requests ORDER BY received_on, receipt LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(request_from_row).collect()
}

fn stale(id: Uuid, expected: &str) -> StoreError {
    StoreError::Conflict(format!(
        "FOIL request {id} is no longer {expected}: another step was recorded first; reload it"
    ))
}

/// Records the acknowledgement of a `received` request.
pub async fn acknowledge(
    tx: &mut Tx,
    id: Uuid,
    on: NaiveDate,
    by: &str,
    decision_by: NaiveDate,
    extension_reason: Option<&str>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE foil_requests SET status = 'acknowledged', acknowledged_on = $1, \
         acknowledged_by = $2, decision_by = $3, extension_reason = $4 \
         WHERE id = $5 AND status = 'received'",
    )
    .bind(ymd(on))
    .bind(by)
    .bind(ymd(decision_by))
    .bind(extension_reason.map(String::from))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(stale(id, "received"));
    }
    Ok(())
}

/// Moves the decision date of an `acknowledged` request later, with the extension's reason.
pub async fn extend(tx: &mut Tx, id: Uuid, decision_by: NaiveDate, reason: &str) -> Result<()> {
    let done = sqlx::query(
        "UPDATE foil_requests SET decision_by = $1, extension_reason = $2 \
         WHERE id = $3 AND status = 'acknowledged'",
    )
    .bind(ymd(decision_by))
    .bind(reason)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(stale(id, "acknowledged"));
    }
    Ok(())
}

/// Records a completed review (or, with `by == None`, withdraws it because the records or their
/// redactions changed after it).
pub async fn set_review(
    tx: &mut Tx,
    id: Uuid,
    by: Option<&str>,
    at: Option<DateTime<Utc>>,
    notes: Option<&str>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE foil_requests SET review_completed_by = $1, review_completed_at = $2, \
         review_notes = $3 WHERE id = $4 AND status = 'acknowledged'",
    )
    .bind(by.map(String::from))
    .bind(at.map(to_ms))
    .bind(notes.map(String::from))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(stale(id, "acknowledged"));
    }
    Ok(())
}

/// A decision to record.
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    /// `grant` or `deny`.
    pub outcome: &'a str,
    pub exemptions: &'a [String],
    pub on: NaiveDate,
    pub by: &'a str,
    pub at: DateTime<Utc>,
    pub notes: Option<&'a str>,
    pub recipient: Option<&'a str>,
}

/// Records the decision on an `acknowledged` request: it becomes `granted` or `denied`.
pub async fn decide(tx: &mut Tx, id: Uuid, d: &Decision<'_>) -> Result<()> {
    let status = if d.outcome == "grant" {
        "granted"
    } else {
        "denied"
    };
    let done = sqlx::query(
        "UPDATE foil_requests SET status = $1, outcome = $2, exemptions = $3, decided_on = $4, \
         decided_by = $5, decided_at = $6, decision_notes = $7, recipient = $8 \
         WHERE id = $9 AND status = 'acknowledged'",
    )
    .bind(status)
    .bind(d.outcome)
    .bind(letters_json(d.exemptions))
    .bind(ymd(d.on))
    .bind(d.by)
    .bind(to_ms(d.at))
    .bind(d.notes.map(String::from))
    .bind(d.recipient.map(String::from))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(stale(id, "acknowledged"));
    }
    Ok(())
}

/// Moves a request from `from` to `to` (appeal logged, appeal decided).
pub async fn set_status(tx: &mut Tx, id: Uuid, from: &str, to: &str) -> Result<()> {
    let done = sqlx::query("UPDATE foil_requests SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to)
        .bind(id.to_string())
        .bind(from)
        .execute(tx.conn())
        .await?;
    if done.rows_affected() == 0 {
        return Err(stale(id, from));
    }
    Ok(())
}

// ------------------------------------------------------------------ records

/// A responsive record: an evidence item gathered for a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: Uuid,
    pub request_id: Uuid,
    pub evidence_item_id: Uuid,
    pub case_number: String,
    pub source_sha256: String,
    pub original_filename: String,
    pub width: u32,
    pub height: u32,
    pub gathered_by: String,
    pub gathered_at: DateTime<Utc>,
    pub faces_detected_at: Option<DateTime<Utc>>,
    pub faces_detected_by: Option<String>,
    pub faces_found: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewRecord {
    pub request_id: Uuid,
    pub evidence_item_id: Uuid,
    pub case_number: String,
    pub source_sha256: String,
    pub original_filename: String,
    pub width: u32,
    pub height: u32,
    pub gathered_by: String,
    pub gathered_at: DateTime<Utc>,
}

const RECORD_COLUMNS: &str = "id, request_id, evidence_item_id, case_number, source_sha256, \
    original_filename, width, height, gathered_by, gathered_at, faces_detected_at, \
    faces_detected_by, faces_found";

fn dimension(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Integrity(format!("stored dimension {v}")))
}

fn record_from_row(r: &sqlx::any::AnyRow) -> Result<Record> {
    let id: String = r.try_get("id")?;
    let request: String = r.try_get("request_id")?;
    let item: String = r.try_get("evidence_item_id")?;
    Ok(Record {
        id: parse_uuid(&id)?,
        request_id: parse_uuid(&request)?,
        evidence_item_id: parse_uuid(&item)?,
        case_number: r.try_get("case_number")?,
        source_sha256: r.try_get("source_sha256")?,
        original_filename: r.try_get("original_filename")?,
        width: dimension(r.try_get("width")?)?,
        height: dimension(r.try_get("height")?)?,
        gathered_by: r.try_get("gathered_by")?,
        gathered_at: from_ms(r.try_get("gathered_at")?)?,
        faces_detected_at: opt_from_ms(r.try_get("faces_detected_at")?)?,
        faces_detected_by: r.try_get("faces_detected_by")?,
        faces_found: r.try_get("faces_found")?,
    })
}

/// Adds a record; an item already gathered for the request is [`StoreError::AlreadyExists`].
pub async fn add_record(tx: &mut Tx, new: &NewRecord) -> Result<Record> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO foil_records (id, request_id, evidence_item_id, case_number, source_sha256, \
         original_filename, width, height, gathered_by, gathered_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.to_string())
    .bind(new.request_id.to_string())
    .bind(new.evidence_item_id.to_string())
    .bind(&new.case_number)
    .bind(&new.source_sha256)
    .bind(&new.original_filename)
    .bind(i64::from(new.width))
    .bind(i64::from(new.height))
    .bind(&new.gathered_by)
    .bind(to_ms(new.gathered_at))
    .execute(tx.conn())
    .await
    .map_err(|e| {
        StoreError::from_sqlx(
            "responsive record for evidence item",
            &new.evidence_item_id.to_string(),
            e,
        )
    })?;
    get_record(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "FOIL record",
            id: id.to_string(),
        })
}

pub async fn get_record(tx: &mut Tx, id: Uuid) -> Result<Option<Record>> {
    let row = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM foil_records WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(record_from_row).transpose()
}

pub async fn records_of(tx: &mut Tx, request: Uuid) -> Result<Vec<Record>> {
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM foil_records WHERE request_id = $1 ORDER BY gathered_at, id"
    ))
    .bind(request.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(record_from_row).collect()
}

/// Marks that the face detector ran on a record, finding `found` faces.
pub async fn mark_detected(
    tx: &mut Tx,
    record: Uuid,
    by: &str,
    at: DateTime<Utc>,
    found: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE foil_records SET faces_detected_at = $1, faces_detected_by = $2, faces_found = $3 \
         WHERE id = $4",
    )
    .bind(to_ms(at))
    .bind(by)
    .bind(found)
    .bind(record.to_string())
    .execute(tx.conn())
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ redaction boxes

/// A redaction box on a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Redaction {
    pub id: Uuid,
    pub record_id: Uuid,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// `face`, `plate`, `tattoo`, `text`, `other`.
    pub kind: String,
    /// `detector` or `reviewer`.
    pub source: String,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub removed_by: Option<String>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewRedaction {
    pub record_id: Uuid,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    pub kind: String,
    pub source: String,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const BOX_COLUMNS: &str =
    "id, record_id, box_x, box_y, width, height, kind, source, note, created_by, \
    created_at, removed_by, removed_at";

fn box_from_row(r: &sqlx::any::AnyRow) -> Result<Redaction> {
    let id: String = r.try_get("id")?;
    let record: String = r.try_get("record_id")?;
    Ok(Redaction {
        id: parse_uuid(&id)?,
        record_id: parse_uuid(&record)?,
        x: r.try_get("box_x")?,
        y: r.try_get("box_y")?,
        width: r.try_get("width")?,
        height: r.try_get("height")?,
        kind: r.try_get("kind")?,
        source: r.try_get("source")?,
        note: r.try_get("note")?,
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        removed_by: r.try_get("removed_by")?,
        removed_at: opt_from_ms(r.try_get("removed_at")?)?,
    })
}

pub async fn add_box(tx: &mut Tx, new: &NewRedaction) -> Result<Redaction> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO foil_redactions (id, record_id, box_x, box_y, width, height, kind, source, note, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(new.record_id.to_string())
    .bind(new.x)
    .bind(new.y)
    .bind(new.width)
    .bind(new.height)
    .bind(&new.kind)
    .bind(&new.source)
    .bind(new.note.clone())
    .bind(&new.created_by)
    .bind(to_ms(new.created_at))
    .execute(tx.conn())
    .await?;
    get_box(tx, id).await?.ok_or_else(|| StoreError::NotFound {
        what: "redaction box",
        id: id.to_string(),
    })
}

pub async fn get_box(tx: &mut Tx, id: Uuid) -> Result<Option<Redaction>> {
    let row = sqlx::query(&format!(
        "SELECT {BOX_COLUMNS} FROM foil_redactions WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(box_from_row).transpose()
}

/// The boxes of a record, removed ones included (`removed_at` set), oldest first.
pub async fn boxes_of(tx: &mut Tx, record: Uuid) -> Result<Vec<Redaction>> {
    let rows = sqlx::query(&format!(
        "SELECT {BOX_COLUMNS} FROM foil_redactions WHERE record_id = $1 ORDER BY created_at, id"
    ))
    .bind(record.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(box_from_row).collect()
}

/// Removes a box in force (kept, marked removed). A box already removed is a conflict.
pub async fn remove_box(tx: &mut Tx, id: Uuid, by: &str, at: DateTime<Utc>) -> Result<()> {
    let done = sqlx::query(
        "UPDATE foil_redactions SET removed_by = $1, removed_at = $2 \
         WHERE id = $3 AND removed_at IS NULL",
    )
    .bind(by)
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "redaction box {id} was already removed"
        )));
    }
    Ok(())
}

/// Removes every detector box in force on a record (the detector runs again).
pub async fn remove_detector_boxes(
    tx: &mut Tx,
    record: Uuid,
    by: &str,
    at: DateTime<Utc>,
) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE foil_redactions SET removed_by = $1, removed_at = $2 \
         WHERE record_id = $3 AND source = 'detector' AND removed_at IS NULL",
    )
    .bind(by)
    .bind(to_ms(at))
    .bind(record.to_string())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected())
}

// ------------------------------------------------------------------ releases

/// One released file in the release log.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub id: Uuid,
    pub request_id: Uuid,
    pub record_id: Uuid,
    pub blob_id: Uuid,
    pub source_sha256: String,
    pub released_sha256: String,
    pub recipient: String,
    pub exemptions: Vec<String>,
    pub boxes: i64,
    pub released_by: String,
    pub released_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewRelease {
    pub request_id: Uuid,
    pub record_id: Uuid,
    pub blob_id: Uuid,
    pub source_sha256: String,
    pub released_sha256: String,
    pub recipient: String,
    pub exemptions: Vec<String>,
    pub boxes: i64,
    pub released_by: String,
    pub released_at: DateTime<Utc>,
}

const RELEASE_COLUMNS: &str = "id, request_id, record_id, blob_id, source_sha256, \
    released_sha256, recipient, exemptions, boxes, released_by, released_at";

fn release_from_row(r: &sqlx::any::AnyRow) -> Result<Release> {
    let id: String = r.try_get("id")?;
    let request: String = r.try_get("request_id")?;
    let record: String = r.try_get("record_id")?;
    let blob: String = r.try_get("blob_id")?;
    Ok(Release {
        id: parse_uuid(&id)?,
        request_id: parse_uuid(&request)?,
        record_id: parse_uuid(&record)?,
        blob_id: parse_uuid(&blob)?,
        source_sha256: r.try_get("source_sha256")?,
        released_sha256: r.try_get("released_sha256")?,
        recipient: r.try_get("recipient")?,
        exemptions: letters(Some(r.try_get("exemptions")?))?,
        boxes: r.try_get("boxes")?,
        released_by: r.try_get("released_by")?,
        released_at: from_ms(r.try_get("released_at")?)?,
    })
}

pub async fn add_release(tx: &mut Tx, new: &NewRelease) -> Result<Release> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO foil_releases (id, request_id, record_id, blob_id, source_sha256, \
         released_sha256, recipient, exemptions, boxes, released_by, released_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(new.request_id.to_string())
    .bind(new.record_id.to_string())
    .bind(new.blob_id.to_string())
    .bind(&new.source_sha256)
    .bind(&new.released_sha256)
    .bind(&new.recipient)
    .bind(letters_json(&new.exemptions))
    .bind(new.boxes)
    .bind(&new.released_by)
    .bind(to_ms(new.released_at))
    .execute(tx.conn())
    .await?;
    get_release(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "FOIL release",
            id: id.to_string(),
        })
}

pub async fn get_release(tx: &mut Tx, id: Uuid) -> Result<Option<Release>> {
    let row = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM foil_releases WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(release_from_row).transpose()
}

/// The release log, newest first; of one request when `request` is given.
pub async fn releases(tx: &mut Tx, request: Option<Uuid>) -> Result<Vec<Release>> {
    let rows = match request {
        Some(r) => {
            sqlx::query(&format!(
                "SELECT {RELEASE_COLUMNS} FROM foil_releases WHERE request_id = $1 \
             ORDER BY released_at DESC, id DESC"
            ))
            .bind(r.to_string())
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {RELEASE_COLUMNS} FROM foil_releases ORDER BY released_at DESC, id DESC \
             LIMIT 5000"
            ))
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.iter().map(release_from_row).collect()
}

// ------------------------------------------------------------------ appeals

/// An appeal of a denial.
#[derive(Debug, Clone, PartialEq)]
pub struct Appeal {
    pub id: Uuid,
    pub request_id: Uuid,
    pub received_on: NaiveDate,
    pub grounds: String,
    pub decide_by: NaiveDate,
    pub logged_by: String,
    pub logged_at: DateTime<Utc>,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub decided_on: Option<NaiveDate>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
}

const APPEAL_COLUMNS: &str = "id, request_id, received_on, grounds, decide_by, logged_by, \
    logged_at, outcome, reason, decided_on, decided_by, decided_at";

fn appeal_from_row(r: &sqlx::any::AnyRow) -> Result<Appeal> {
    let id: String = r.try_get("id")?;
    let request: String = r.try_get("request_id")?;
    let received: String = r.try_get("received_on")?;
    let decide_by: String = r.try_get("decide_by")?;
    Ok(Appeal {
        id: parse_uuid(&id)?,
        request_id: parse_uuid(&request)?,
        received_on: date(&received)?,
        grounds: r.try_get("grounds")?,
        decide_by: date(&decide_by)?,
        logged_by: r.try_get("logged_by")?,
        logged_at: from_ms(r.try_get("logged_at")?)?,
        outcome: r.try_get("outcome")?,
        reason: r.try_get("reason")?,
        decided_on: opt_date(r.try_get("decided_on")?)?,
        decided_by: r.try_get("decided_by")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn add_appeal(
    tx: &mut Tx,
    request: Uuid,
    received_on: NaiveDate,
    grounds: &str,
    decide_by: NaiveDate,
    logged_by: &str,
    logged_at: DateTime<Utc>,
) -> Result<Appeal> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO foil_appeals (id, request_id, received_on, grounds, decide_by, logged_by, \
         logged_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(request.to_string())
    .bind(ymd(received_on))
    .bind(grounds)
    .bind(ymd(decide_by))
    .bind(logged_by)
    .bind(to_ms(logged_at))
    .execute(tx.conn())
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {APPEAL_COLUMNS} FROM foil_appeals WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_one(tx.conn())
    .await?;
    appeal_from_row(&row)
}

/// The appeals of a request, oldest first.
pub async fn appeals_of(tx: &mut Tx, request: Uuid) -> Result<Vec<Appeal>> {
    let rows = sqlx::query(&format!(
        "SELECT {APPEAL_COLUMNS} FROM foil_appeals WHERE request_id = $1 ORDER BY logged_at, id"
    ))
    .bind(request.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(appeal_from_row).collect()
}

/// Every appeal, for the counts.
pub async fn all_appeals(tx: &mut Tx) -> Result<Vec<Appeal>> {
    let rows = sqlx::query(&format!(
        "SELECT {APPEAL_COLUMNS} FROM foil_appeals ORDER BY logged_at, id LIMIT 5000"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(appeal_from_row).collect()
}

/// Decides a pending appeal once.
pub async fn decide_appeal(
    tx: &mut Tx,
    appeal: Uuid,
    outcome: &str,
    reason: &str,
    on: NaiveDate,
    by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE foil_appeals SET outcome = $1, reason = $2, decided_on = $3, decided_by = $4, \
         decided_at = $5 WHERE id = $6 AND outcome IS NULL",
    )
    .bind(outcome)
    .bind(reason)
    .bind(ymd(on))
    .bind(by)
    .bind(to_ms(at))
    .bind(appeal.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "appeal {appeal} was already decided"
        )));
    }
    Ok(())
}
