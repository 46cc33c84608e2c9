//! The records that may be waiting for someone, by workflow state, for the home page's worklist.
//! These queries only narrow the tables to the states somebody acts on; who acts on each record
//! is decided by the caller (policy engine and domain), never here. Each returns identifiers in
//! a stable order; the caller loads each record through its own module.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{parse_uuid, to_ms, Tx};
use crate::error::Result;

fn ids(rows: &[sqlx::any::AnyRow]) -> Result<Vec<Uuid>> {
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            parse_uuid(&id)
        })
        .collect()
}

/// FOIL requests with a step due: to acknowledge, to decide, or with an appeal to decide.
pub async fn open_foil_requests(tx: &mut Tx) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id FROM foil_requests \
         WHERE status IN ('received', 'acknowledged', 'appealed') \
         ORDER BY received_on, receipt",
    )
    .fetch_all(tx.conn())
    .await?;
    ids(&rows)
}

/// Disclosures waiting for approval or, approved, for release.
pub async fn open_disclosures(tx: &mut Tx) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id FROM disclosures WHERE status IN ('proposed', 'approved') \
         ORDER BY proposed_at, id",
    )
    .fetch_all(tx.conn())
    .await?;
    ids(&rows)
}

/// Recorded breaches reported to the City Chief Privacy Officer whose notification decision is
/// still to be recorded.
pub async fn breaches_awaiting_notification(tx: &mut Tx) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id FROM breaches WHERE status = 'recorded' \
         AND cpo_reported_at IS NOT NULL AND notification_decision IS NULL \
         ORDER BY cpo_reported_at, id",
    )
    .fetch_all(tx.conn())
    .await?;
    ids(&rows)
}

/// Thermal deployment authorizations that have started and expire in `(now, until]`.
pub async fn thermal_expiring(
    tx: &mut Tx,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id FROM thermal_authorizations \
         WHERE starts_at <= $1 AND expires_at > $1 AND expires_at <= $2 \
         ORDER BY expires_at, id",
    )
    .bind(to_ms(now))
    .bind(to_ms(until))
    .fetch_all(tx.conn())
    .await?;
    ids(&rows)
}

/// Card intakes by `importer` (the audit actor, `user:<name>`) that finished without the
/// "safe to clear" certificate: some file did not verify, so the card must not be cleared.
pub async fn card_intakes_without_certificate(tx: &mut Tx, importer: &str) -> Result<Vec<Uuid>> {
    let rows = sqlx::query(
        "SELECT id FROM evidence_intakes WHERE importer = $1 AND source_kind = 'card' \
         AND finished_at IS NOT NULL AND certificate IS NULL \
         ORDER BY started_at, id",
    )
    .bind(importer)
    .fetch_all(tx.conn())
    .await?;
    ids(&rows)
}
