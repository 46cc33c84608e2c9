//! Vendor contracts: vendor accounts are time-boxed and tied to a contract (EXT-06).

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct VendorContract {
    pub id: Uuid,
    pub user_id: Uuid,
    pub contract_ref: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Technologies in scope of a vendor contract (EXT-06); empty covers none.
    pub technologies: Vec<String>,
    /// An agency agreement's terms as JSON (EXT-07); none recorded grants nothing.
    pub agreement_terms: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewVendorContract {
    pub user_id: Uuid,
    pub contract_ref: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub technologies: Vec<String>,
    pub agreement_terms: Option<String>,
}

const COLUMNS: &str =
    "id, user_id, contract_ref, starts_at, ends_at, technologies, agreement_terms";

fn technologies_of(raw: Option<String>) -> Result<Vec<String>> {
    match raw {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| StoreError::Invalid(format!("contract technologies: {e}"))),
    }
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<VendorContract> {
    let id: String = r.try_get("id")?;
    let user: String = r.try_get("user_id")?;
    Ok(VendorContract {
        id: parse_uuid(&id)?,
        user_id: parse_uuid(&user)?,
        contract_ref: r.try_get("contract_ref")?,
        starts_at: from_ms(r.try_get("starts_at")?)?,
        ends_at: from_ms(r.try_get("ends_at")?)?,
        technologies: technologies_of(r.try_get("technologies")?)?,
        agreement_terms: r.try_get("agreement_terms")?,
    })
}

pub async fn create(tx: &mut Tx, new: &NewVendorContract) -> Result<VendorContract> {
    if new.contract_ref.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a vendor contract needs a contract reference".into(),
        ));
    }
    if new.ends_at <= new.starts_at {
        return Err(StoreError::Invalid(
            "a vendor contract must end after it starts".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO vendor_contracts (id, user_id, contract_ref, starts_at, ends_at, created_at, \
         technologies, agreement_terms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id.to_string())
    .bind(new.user_id.to_string())
    .bind(&new.contract_ref)
    .bind(to_ms(new.starts_at))
    .bind(to_ms(new.ends_at))
    .bind(now_ms())
    .bind(
        serde_json::to_string(&new.technologies)
            .map_err(|e| StoreError::Invalid(format!("contract technologies: {e}")))?,
    )
    .bind(new.agreement_terms.clone())
    .execute(tx.conn())
    .await?;
    Ok(VendorContract {
        id,
        user_id: new.user_id,
        contract_ref: new.contract_ref.clone(),
        starts_at: from_ms(to_ms(new.starts_at))?,
        ends_at: from_ms(to_ms(new.ends_at))?,
        technologies: new.technologies.clone(),
        agreement_terms: new.agreement_terms.clone(),
    })
}

pub async fn for_user(tx: &mut Tx, user_id: Uuid) -> Result<Vec<VendorContract>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vendor_contracts WHERE user_id = $1 ORDER BY starts_at"
    ))
    .bind(user_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Contracts in force at `at`.
pub async fn current(tx: &mut Tx, user_id: Uuid, at: DateTime<Utc>) -> Result<Vec<VendorContract>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM vendor_contracts WHERE user_id = $1 AND starts_at <= $2 \
         AND ends_at > $2 ORDER BY starts_at"
    ))
    .bind(user_id.to_string())
    .bind(to_ms(at))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}
