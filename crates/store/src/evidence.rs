//! Digital camera evidence (DC-01, DC-02, DC-05, DC-06): intakes and evidence items.
//!
//! An evidence item is an immutable original: its bytes live in the encrypted blob store
//! (create-only), its row records the SHA-256, the camera metadata, the purpose and the legal
//! basis, and nothing here updates or deletes an item. An intake records who offloaded which
//! card or upload, the per-file results and, once every file was read back and verified, the
//! signed "safe to clear" certificate. Purpose, basis and metadata are JSON text validated by
//! the domain crate before they reach the store.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, PageQuery, Tx};
use crate::error::{Result, StoreError};

/// One intake (a card offload or a single-file upload).
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub id: Uuid,
    pub case_id: Uuid,
    /// `card` or `upload`.
    pub source_kind: String,
    pub source_label: String,
    pub importer: String,
    /// DC-01 purpose as JSON.
    pub purpose: serde_json::Value,
    /// DC-02 legal basis as JSON.
    pub legal_basis: serde_json::Value,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Per-file results (JSON array).
    pub results: serde_json::Value,
    /// The DC-05 certificate (JSON), present only when every file was verified.
    pub certificate: Option<serde_json::Value>,
    /// Base64 Ed25519 signature of the certificate's canonical JSON.
    pub certificate_signature: Option<String>,
    /// Why the supervisor should look at this intake (DC-04 serial mismatch), if any.
    pub device_flag: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewIntake {
    pub case_id: Uuid,
    pub source_kind: String,
    pub source_label: String,
    pub importer: String,
    pub purpose: serde_json::Value,
    pub legal_basis: serde_json::Value,
}

/// One stored original.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: Uuid,
    pub case_id: Uuid,
    pub intake_id: Uuid,
    pub blob_id: Uuid,
    pub thumbnail_blob_id: Option<Uuid>,
    pub sha256: String,
    pub original_filename: String,
    pub format: String,
    pub size: u64,
    pub importer: String,
    pub imported_at: DateTime<Utc>,
    pub metadata: serde_json::Value,
    pub purpose: serde_json::Value,
    pub legal_basis: serde_json::Value,
    /// Inherited from the case at intake (FR-25, DC-03).
    pub political_activity: bool,
    /// The camera body serial, normalized, when the file carries one.
    pub device_serial: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub case_id: Uuid,
    pub intake_id: Uuid,
    pub blob_id: Uuid,
    pub thumbnail_blob_id: Option<Uuid>,
    pub sha256: String,
    pub original_filename: String,
    pub format: String,
    pub size: u64,
    pub importer: String,
    pub metadata: serde_json::Value,
    pub purpose: serde_json::Value,
    pub legal_basis: serde_json::Value,
    pub political_activity: bool,
    pub device_serial: Option<String>,
}

const INTAKE_COLUMNS: &str =
    "id, case_id, source_kind, source_label, importer, purpose, legal_basis, \
     started_at, finished_at, results, certificate, certificate_signature, device_flag";

const ITEM_COLUMNS: &str = "id, case_id, intake_id, blob_id, thumbnail_blob_id, sha256, original_filename, \
     format, size, importer, imported_at, metadata, purpose, legal_basis, political_activity, device_serial";

fn json(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Integrity(format!("stored {what} is not JSON: {e}")))
}

fn intake_from_row(r: &sqlx::any::AnyRow) -> Result<Intake> {
    let id: String = r.try_get("id")?;
    let case_id: String = r.try_get("case_id")?;
    let purpose: String = r.try_get("purpose")?;
    let basis: String = r.try_get("legal_basis")?;
    let results: String = r.try_get("results")?;
    let cert: Option<String> = r.try_get("certificate")?;
    Ok(Intake {
        id: parse_uuid(&id)?,
        case_id: parse_uuid(&case_id)?,
        source_kind: r.try_get("source_kind")?,
        source_label: r.try_get("source_label")?,
        importer: r.try_get("importer")?,
        purpose: json(&purpose, "purpose")?,
        legal_basis: json(&basis, "legal basis")?,
        started_at: from_ms(r.try_get("started_at")?)?,
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
        results: json(&results, "intake results")?,
        certificate: cert
            .as_deref()
            .map(|c| json(c, "certificate"))
            .transpose()?,
        certificate_signature: r.try_get("certificate_signature")?,
        device_flag: r.try_get("device_flag")?,
    })
}

fn item_from_row(r: &sqlx::any::AnyRow) -> Result<Item> {
    let id: String = r.try_get("id")?;
    let case_id: String = r.try_get("case_id")?;
    let intake_id: String = r.try_get("intake_id")?;
    let blob_id: String = r.try_get("blob_id")?;
    let thumb: Option<String> = r.try_get("thumbnail_blob_id")?;
    let size: i64 = r.try_get("size")?;
    let metadata: String = r.try_get("metadata")?;
    let purpose: String = r.try_get("purpose")?;
    let basis: String = r.try_get("legal_basis")?;
    let political: i64 = r.try_get("political_activity")?;
    Ok(Item {
        id: parse_uuid(&id)?,
        case_id: parse_uuid(&case_id)?,
        intake_id: parse_uuid(&intake_id)?,
        blob_id: parse_uuid(&blob_id)?,
        thumbnail_blob_id: thumb.as_deref().map(parse_uuid).transpose()?,
        sha256: r.try_get("sha256")?,
        original_filename: r.try_get("original_filename")?,
        format: r.try_get("format")?,
        size: u64::try_from(size).unwrap_or(0),
        importer: r.try_get("importer")?,
        imported_at: from_ms(r.try_get("imported_at")?)?,
        metadata: json(&metadata, "metadata")?,
        purpose: json(&purpose, "purpose")?,
        legal_basis: json(&basis, "legal basis")?,
        political_activity: political != 0,
        device_serial: r.try_get("device_serial")?,
    })
}

/// Opens an intake.
pub async fn create_intake(tx: &mut Tx, new: &NewIntake) -> Result<Intake> {
    if new.source_kind != "card" && new.source_kind != "upload" {
        return Err(StoreError::Invalid(format!(
            "intake source must be card or upload, not {}",
            new.source_kind
        )));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO evidence_intakes (id, case_id, source_kind, source_label, importer, purpose, \
         legal_basis, started_at, results) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]')",
    )
    .bind(id.to_string())
    .bind(new.case_id.to_string())
    .bind(&new.source_kind)
    .bind(&new.source_label)
    .bind(&new.importer)
    .bind(new.purpose.to_string())
    .bind(new.legal_basis.to_string())
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("intake", &id.to_string(), e))?;
    get_intake(tx, id).await?.ok_or(StoreError::NotFound {
        what: "intake",
        id: id.to_string(),
    })
}

/// Closes an intake with its per-file results and, when every file verified, its certificate.
pub async fn finish_intake(
    tx: &mut Tx,
    id: Uuid,
    results: &serde_json::Value,
    certificate: Option<(&serde_json::Value, &str)>,
    device_flag: Option<&str>,
) -> Result<Intake> {
    let r = sqlx::query(
        "UPDATE evidence_intakes SET finished_at = $1, results = $2, certificate = $3, \
         certificate_signature = $4, device_flag = $5 WHERE id = $6 AND finished_at IS NULL",
    )
    .bind(now_ms())
    .bind(results.to_string())
    .bind(certificate.map(|(c, _)| c.to_string()))
    .bind(certificate.map(|(_, s)| s.to_string()))
    .bind(device_flag.map(str::to_string))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "intake {id} is missing or already finished"
        )));
    }
    get_intake(tx, id).await?.ok_or(StoreError::NotFound {
        what: "intake",
        id: id.to_string(),
    })
}

pub async fn get_intake(tx: &mut Tx, id: Uuid) -> Result<Option<Intake>> {
    let row = sqlx::query(&format!(
        "SELECT {INTAKE_COLUMNS} FROM evidence_intakes WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(intake_from_row).transpose()
}

/// Intakes of a case, newest first.
pub async fn intakes_for_case(tx: &mut Tx, case_id: Uuid) -> Result<Vec<Intake>> {
    let rows = sqlx::query(&format!(
        "SELECT {INTAKE_COLUMNS} FROM evidence_intakes WHERE case_id = $1 ORDER BY started_at DESC, id DESC"
    ))
    .bind(case_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(intake_from_row).collect()
}

/// Finished intakes flagged for the supervisor (DC-04), newest first.
pub async fn flagged_intakes(tx: &mut Tx) -> Result<Vec<Intake>> {
    let rows = sqlx::query(&format!(
        "SELECT {INTAKE_COLUMNS} FROM evidence_intakes WHERE device_flag IS NOT NULL \
         ORDER BY started_at DESC, id DESC LIMIT 500"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(intake_from_row).collect()
}

/// Records an item. A second item with the same SHA-256 in the same case gives
/// [`StoreError::AlreadyExists`] (intake is resumable by hash).
pub async fn create_item(tx: &mut Tx, new: &NewItem) -> Result<Item> {
    if new.sha256.len() != 64 || !new.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StoreError::Invalid(
            "an evidence item needs the SHA-256 of its original (64 hex digits)".into(),
        ));
    }
    let id = Uuid::now_v7();
    let size = i64::try_from(new.size)
        .map_err(|_| StoreError::Invalid("the file is too large to record".into()))?;
    sqlx::query(&format!(
        "INSERT INTO evidence_items ({ITEM_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    ))
    .bind(id.to_string())
    .bind(new.case_id.to_string())
    .bind(new.intake_id.to_string())
    .bind(new.blob_id.to_string())
    .bind(new.thumbnail_blob_id.map(|u| u.to_string()))
    .bind(new.sha256.to_ascii_lowercase())
    .bind(&new.original_filename)
    .bind(&new.format)
    .bind(size)
    .bind(&new.importer)
    .bind(now_ms())
    .bind(new.metadata.to_string())
    .bind(new.purpose.to_string())
    .bind(new.legal_basis.to_string())
    .bind(i64::from(new.political_activity))
    .bind(new.device_serial.clone())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("evidence item", &new.sha256, e))?;
    get_item(tx, id).await?.ok_or(StoreError::NotFound {
        what: "evidence item",
        id: id.to_string(),
    })
}

pub async fn get_item(tx: &mut Tx, id: Uuid) -> Result<Option<Item>> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM evidence_items WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(item_from_row).transpose()
}

/// The item of a case with this SHA-256, if already ingested.
pub async fn item_by_hash(tx: &mut Tx, case_id: Uuid, sha256: &str) -> Result<Option<Item>> {
    let row = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM evidence_items WHERE case_id = $1 AND sha256 = $2"
    ))
    .bind(case_id.to_string())
    .bind(sha256.to_ascii_lowercase())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(item_from_row).transpose()
}

/// Items of a case in intake order.
pub async fn items_for_case(tx: &mut Tx, case_id: Uuid) -> Result<Vec<Item>> {
    let rows = sqlx::query(&format!(
        "SELECT {ITEM_COLUMNS} FROM evidence_items WHERE case_id = $1 ORDER BY imported_at, id"
    ))
    .bind(case_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(item_from_row).collect()
}

/// The columns a case's items may be sorted by (with descending beside it); each maps to a fixed
/// column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ItemSort {
    /// Intake order.
    #[default]
    Imported,
    Filename,
    Size,
    Format,
}

impl ItemSort {
    fn column(self) -> &'static str {
        match self {
            ItemSort::Imported => "imported_at",
            ItemSort::Filename => "original_filename",
            ItemSort::Size => "size",
            ItemSort::Format => "format",
        }
    }
}

/// One page of a case's items: `q` matches part of the file name or camera serial, or the start
/// of the SHA-256 (any case); `format` exactly.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub q: Option<String>,
    pub format: Option<String>,
    pub sort: ItemSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One page of a case's items (see [`ItemFilter`]) and how many match the filter in all.
pub async fn items_page(tx: &mut Tx, case_id: Uuid, f: &ItemFilter) -> Result<(Vec<Item>, u64)> {
    let mut filter = String::from(" WHERE case_id = $1");
    let mut binds: Vec<String> = vec![case_id.to_string()];
    if let Some(q) = &f.q {
        let contains = crate::cases::contains_pattern(q);
        let starts = contains[1..].to_string();
        binds.push(contains);
        let c = binds.len();
        binds.push(starts);
        let s = binds.len();
        filter += &format!(
            " AND (LOWER(original_filename) LIKE ${c} ESCAPE '\\' \
             OR LOWER(COALESCE(device_serial, '')) LIKE ${c} ESCAPE '\\' \
             OR sha256 LIKE ${s} ESCAPE '\\')"
        );
    }
    if let Some(format) = &f.format {
        binds.push(format.clone());
        filter += &format!(" AND format = ${}", binds.len());
    }
    PageQuery {
        columns: ITEM_COLUMNS,
        table: "evidence_items",
        filter: &filter,
        binds,
        order: f.sort.column(),
        tiebreak: "id",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .fetch(tx, item_from_row)
    .await
}

/// The formats among a case's items, for the list's filter.
pub async fn formats_for_case(tx: &mut Tx, case_id: Uuid) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT DISTINCT format FROM evidence_items WHERE case_id = $1 ORDER BY format",
    )
    .bind(case_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| r.try_get("format").map_err(Into::into))
        .collect()
}
