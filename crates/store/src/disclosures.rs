//! Disclosures outside the Department (EXT-01..EXT-04): stored proposals, decisions and the
//! release log (the signed manifest with its hashes). Whether a disclosure may be proposed,
//! approved or released is decided by the domain crate and the policy pack; this module stores
//! and finds, and each change is a conditional update on the status it expects, so two
//! decisions on one disclosure never both succeed.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    pub id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    /// `proposed`, `approved`, `rejected` or `released`.
    pub status: String,
    pub recipient_kind: String,
    pub recipient_name: String,
    pub recipient_affiliation: String,
    pub purpose: String,
    pub identifying: bool,
    pub basis: Option<String>,
    pub basis_reference: Option<String>,
    pub identity_method: String,
    pub identity_confirmed_by: Uuid,
    /// Evidence item ids.
    pub items: Vec<Uuid>,
    pub proposed_by: Uuid,
    pub proposed_by_username: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<Uuid>,
    pub decided_by_username: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub released_by: Option<Uuid>,
    pub released_by_username: Option<String>,
    pub released_at: Option<DateTime<Utc>>,
    pub manifest: Option<String>,
    pub manifest_sha256: Option<String>,
    pub signature: Option<String>,
}

const COLUMNS: &str = "d.id, d.case_id, d.case_number, d.status, d.recipient_kind, \
    d.recipient_name, d.recipient_affiliation, d.purpose, d.identifying, d.basis, \
    d.basis_reference, d.identity_method, d.identity_confirmed_by, d.items, d.proposed_by, \
    pu.username AS proposed_by_username, d.proposed_at, d.decided_by, \
    du.username AS decided_by_username, d.decided_at, d.decision_note, d.released_by, \
    ru.username AS released_by_username, d.released_at, d.manifest, d.manifest_sha256, \
    d.signature";

const FROM: &str = "disclosures d JOIN users pu ON pu.id = d.proposed_by \
    LEFT JOIN users du ON du.id = d.decided_by LEFT JOIN users ru ON ru.id = d.released_by";

fn opt_uuid(s: Option<String>) -> Result<Option<Uuid>> {
    s.as_deref().map(parse_uuid).transpose()
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Disclosure> {
    let id: String = r.try_get("id")?;
    let case_id: String = r.try_get("case_id")?;
    let confirmed: String = r.try_get("identity_confirmed_by")?;
    let proposed_by: String = r.try_get("proposed_by")?;
    let items: String = r.try_get("items")?;
    let items: Vec<String> = serde_json::from_str(&items)
        .map_err(|e| StoreError::Invalid(format!("disclosure {id}: items are not a list ({e})")))?;
    let identifying: i64 = r.try_get("identifying")?;
    Ok(Disclosure {
        id: parse_uuid(&id)?,
        case_id: parse_uuid(&case_id)?,
        case_number: r.try_get("case_number")?,
        status: r.try_get("status")?,
        recipient_kind: r.try_get("recipient_kind")?,
        recipient_name: r.try_get("recipient_name")?,
        recipient_affiliation: r.try_get("recipient_affiliation")?,
        purpose: r.try_get("purpose")?,
        identifying: identifying != 0,
        basis: r.try_get("basis")?,
        basis_reference: r.try_get("basis_reference")?,
        identity_method: r.try_get("identity_method")?,
        identity_confirmed_by: parse_uuid(&confirmed)?,
        items: items
            .iter()
            .map(|i| parse_uuid(i))
            .collect::<Result<Vec<_>>>()?,
        proposed_by: parse_uuid(&proposed_by)?,
        proposed_by_username: r.try_get("proposed_by_username")?,
        proposed_at: from_ms(r.try_get("proposed_at")?)?,
        decided_by: opt_uuid(r.try_get("decided_by")?)?,
        decided_by_username: r.try_get("decided_by_username")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
        decision_note: r.try_get("decision_note")?,
        released_by: opt_uuid(r.try_get("released_by")?)?,
        released_by_username: r.try_get("released_by_username")?,
        released_at: opt_from_ms(r.try_get("released_at")?)?,
        manifest: r.try_get("manifest")?,
        manifest_sha256: r.try_get("manifest_sha256")?,
        signature: r.try_get("signature")?,
    })
}

/// Stores a new proposal (status `proposed`). The caller validated it and appends the audit
/// entry in the same transaction.
pub async fn propose(tx: &mut Tx, d: &Disclosure) -> Result<()> {
    let items: Vec<String> = d.items.iter().map(Uuid::to_string).collect();
    let items = serde_json::to_string(&items)
        .map_err(|e| StoreError::Invalid(format!("disclosure items: {e}")))?;
    sqlx::query(
        "INSERT INTO disclosures (id, case_id, case_number, status, recipient_kind, \
         recipient_name, recipient_affiliation, purpose, identifying, basis, basis_reference, \
         identity_method, identity_confirmed_by, items, proposed_by, proposed_at) \
         VALUES ($1, $2, $3, 'proposed', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(d.id.to_string())
    .bind(d.case_id.to_string())
    .bind(&d.case_number)
    .bind(&d.recipient_kind)
    .bind(&d.recipient_name)
    .bind(&d.recipient_affiliation)
    .bind(&d.purpose)
    .bind(i64::from(d.identifying))
    .bind(d.basis.clone())
    .bind(d.basis_reference.clone())
    .bind(&d.identity_method)
    .bind(d.identity_confirmed_by.to_string())
    .bind(items)
    .bind(d.proposed_by.to_string())
    .bind(to_ms(d.proposed_at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("disclosure", &d.id.to_string(), e))?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Disclosure>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE d.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The newest disclosures first, at most `limit` (0 = 500), optionally of one status.
pub async fn list(tx: &mut Tx, status: Option<&str>, limit: u32) -> Result<Vec<Disclosure>> {
    let limit = if limit == 0 { 500 } else { limit.min(5000) };
    let rows = match status {
        Some(s) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM {FROM} WHERE d.status = $1 \
                 ORDER BY d.proposed_at DESC, d.id LIMIT {limit}"
            ))
            .bind(s)
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM {FROM} ORDER BY d.proposed_at DESC, d.id LIMIT {limit}"
            ))
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Approves (`approved`) or rejects (`rejected`) a proposal still `proposed`.
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    by: Uuid,
    at: DateTime<Utc>,
    note: &str,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE disclosures SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
         WHERE id = $5 AND status = 'proposed'",
    )
    .bind(status)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(note)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "disclosure {id} is no longer an open proposal"
        )));
    }
    Ok(())
}

/// Records the release of an approved disclosure with its signed manifest.
pub async fn release(
    tx: &mut Tx,
    id: Uuid,
    by: Uuid,
    at: DateTime<Utc>,
    manifest: &str,
    manifest_sha256: &str,
    signature: &str,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE disclosures SET status = 'released', released_by = $1, released_at = $2, \
         manifest = $3, manifest_sha256 = $4, signature = $5 WHERE id = $6 AND status = 'approved'",
    )
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(manifest)
    .bind(manifest_sha256)
    .bind(signature)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "disclosure {id} is not approved, or was already released"
        )));
    }
    Ok(())
}
