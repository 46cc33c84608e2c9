//! Policy-pack revisions (OVR-02, OVR-04): every text each pack has had, who proposed and who
//! approved it, and when it took effect. The policy crate checks a text; the server builds the
//! engine in force from [`in_force`]. Decisions are conditional updates on `status = 'proposed'`,
//! so a revision is decided once.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// The proposer recorded for the text shipped with the software.
pub const RELEASE: &str = "release";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PolicyRevision {
    pub id: Uuid,
    pub pack_id: String,
    pub version: String,
    /// `draft_to_final`, `addendum`, `revision` or `pack`.
    pub kind: String,
    pub description: String,
    pub pack_toml: String,
    pub cedar: String,
    pub sha256: String,
    /// What an addendum adds, e.g. `fr_request:<id>` (OVR-04).
    pub covers: Option<String>,
    /// `proposed`, `in_force` or `rejected`.
    pub status: String,
    /// A username, or [`RELEASE`].
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, pack_id, version, kind, description, pack_toml, cedar, sha256, covers, \
    status, proposed_by, proposed_at, reason, decided_by, decided_at, decision_reason, effective_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<PolicyRevision> {
    let id: String = r.try_get("id")?;
    Ok(PolicyRevision {
        id: parse_uuid(&id)?,
        pack_id: r.try_get("pack_id")?,
        version: r.try_get("version")?,
        kind: r.try_get("kind")?,
        description: r.try_get("description")?,
        pack_toml: r.try_get("pack_toml")?,
        cedar: r.try_get("cedar")?,
        sha256: r.try_get("sha256")?,
        covers: r.try_get("covers")?,
        status: r.try_get("status")?,
        proposed_by: r.try_get("proposed_by")?,
        proposed_at: from_ms(r.try_get("proposed_at")?)?,
        reason: r.try_get("reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
        decision_reason: r.try_get("decision_reason")?,
        effective_at: opt_from_ms(r.try_get("effective_at")?)?,
    })
}

/// Stores a revision as given (a proposal, or a release already in force).
pub async fn insert(tx: &mut Tx, r: &PolicyRevision) -> Result<()> {
    sqlx::query(
        "INSERT INTO policy_revisions (id, pack_id, version, kind, description, pack_toml, cedar, \
         sha256, covers, status, proposed_by, proposed_at, reason, decided_by, decided_at, \
         decision_reason, effective_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(r.id.to_string())
    .bind(&r.pack_id)
    .bind(&r.version)
    .bind(&r.kind)
    .bind(&r.description)
    .bind(&r.pack_toml)
    .bind(&r.cedar)
    .bind(&r.sha256)
    .bind(r.covers.clone())
    .bind(&r.status)
    .bind(&r.proposed_by)
    .bind(to_ms(r.proposed_at))
    .bind(&r.reason)
    .bind(r.decided_by.clone())
    .bind(r.decided_at.map(to_ms))
    .bind(r.decision_reason.clone())
    .bind(r.effective_at.map(to_ms))
    .execute(tx.conn())
    .await
    .map_err(|e| {
        StoreError::from_sqlx(
            "policy revision",
            &format!("{} {}", r.pack_id, r.version),
            e,
        )
    })?;
    Ok(())
}

/// The revision of `pack_id` with exactly this version and text, if recorded.
pub async fn find_text(
    tx: &mut Tx,
    pack_id: &str,
    version: &str,
    sha256: &str,
) -> Result<Option<PolicyRevision>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM policy_revisions WHERE pack_id = $1 AND version = $2 AND sha256 = $3"
    ))
    .bind(pack_id)
    .bind(version)
    .bind(sha256)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<PolicyRevision>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM policy_revisions WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every revision of one pack (or of all), oldest first by the time it took effect (proposals
/// and refusals by the time they were proposed).
pub async fn list(tx: &mut Tx, pack_id: Option<&str>) -> Result<Vec<PolicyRevision>> {
    let rows = match pack_id {
        Some(p) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM policy_revisions WHERE pack_id = $1 \
                 ORDER BY COALESCE(effective_at, proposed_at), proposed_at, id"
            ))
            .bind(p)
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM policy_revisions \
                 ORDER BY pack_id, COALESCE(effective_at, proposed_at), proposed_at, id"
            ))
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Revisions in force or scheduled to be, oldest effect first: for each pack, the last one
/// whose `effective_at` has passed is the text in force.
pub async fn in_force(tx: &mut Tx) -> Result<Vec<PolicyRevision>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM policy_revisions WHERE status = 'in_force' \
         ORDER BY effective_at, proposed_at, id"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The addendum in force (or scheduled) that covers `covers`, if any (OVR-04).
pub async fn addendum_for(tx: &mut Tx, covers: &str) -> Result<Option<PolicyRevision>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM policy_revisions WHERE covers = $1 AND kind = 'addendum' \
         AND status = 'in_force' ORDER BY effective_at, id LIMIT 1"
    ))
    .bind(covers)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The addenda approved (in force or scheduled) whose `covers` starts with `prefix`, e.g. every
/// new thermal deployment basis (OVR-04).
pub async fn addenda_in_force(tx: &mut Tx, prefix: &str) -> Result<Vec<PolicyRevision>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM policy_revisions WHERE kind = 'addendum' AND status = 'in_force' \
         AND substr(covers, 1, length($1)) = $1 ORDER BY covers, effective_at, id"
    ))
    .bind(prefix)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Approves (`in_force` from `effective_at`) or rejects a proposal.
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    approve: bool,
    by: &str,
    at: DateTime<Utc>,
    reason: &str,
    effective_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE policy_revisions SET status = $1, decided_by = $2, decided_at = $3, \
         decision_reason = $4, effective_at = $5 WHERE id = $6 AND status = 'proposed'",
    )
    .bind(if approve { "in_force" } else { "rejected" })
    .bind(by)
    .bind(to_ms(at))
    .bind(reason)
    .bind(effective_at.map(to_ms))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "policy revision {id} is not awaiting a decision"
        )));
    }
    Ok(())
}
