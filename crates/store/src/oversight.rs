//! The figures of the annual oversight report (OVR-03): counts over a period `[from, to)` of what
//! the database records about the use of the three technologies and the safeguards around them.
//! Each function counts one thing, grouped by the columns that break it down, with the period
//! applied to the one time column named in its documentation. Nothing here interprets the
//! figures (deadlines, timeliness, workflow times are worked out by the caller with the domain
//! crate); rows the caller must read themselves (FR requests, breaches, FOIL requests) are
//! returned as the stored facts, with no names.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use crate::db::{from_ms, opt_from_ms, to_ms, Tx};
use crate::error::Result;

/// The period of a report: `from` inclusive, `to` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    fn ms(&self) -> (i64, i64) {
        (to_ms(self.from), to_ms(self.to))
    }

    /// The period as calendar dates (`YYYY-MM-DD`, the first inclusive, the second exclusive),
    /// for the tables that keep dates as text.
    fn dates(&self) -> (String, String) {
        let d = |t: DateTime<Utc>| t.date_naive().format("%Y-%m-%d").to_string();
        (d(self.from), d(self.to))
    }
}

/// A count broken down by one or more keys (a missing value is `(none)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    pub keys: Vec<String>,
    pub n: u64,
}

/// Runs `sql`, which selects `k0`..`k{keys-1}` and `n` and takes the period in unix
/// milliseconds as `$1`, `$2`, and returns the counts.
async fn grouped(tx: &mut Tx, sql: &str, keys: usize, from: i64, to: i64) -> Result<Vec<Count>> {
    let rows = sqlx::query(sql)
        .bind(from)
        .bind(to)
        .fetch_all(tx.conn())
        .await?;
    rows.iter()
        .map(|r| {
            let mut ks = Vec::with_capacity(keys);
            for i in 0..keys {
                let k: Option<String> = r.try_get(format!("k{i}").as_str())?;
                ks.push(
                    k.filter(|s| !s.trim().is_empty())
                        .unwrap_or_else(|| "(none)".into()),
                );
            }
            let n: i64 = r.try_get("n")?;
            Ok(Count {
                keys: ks,
                n: u64::try_from(n).unwrap_or(0),
            })
        })
        .collect()
}

async fn grouped_ms(tx: &mut Tx, sql: &str, keys: usize, p: &Period) -> Result<Vec<Count>> {
    let (from, to) = p.ms();
    grouped(tx, sql, keys, from, to).await
}

async fn single_ms(tx: &mut Tx, sql: &str, p: &Period) -> Result<u64> {
    let (from, to) = p.ms();
    let row = sqlx::query(sql)
        .bind(from)
        .bind(to)
        .fetch_one(tx.conn())
        .await?;
    let n: i64 = row.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

// ------------------------------------------------------------------ facial recognition

/// An FR request created in the period, as stored: the workflow record (`data`, JSON of the
/// domain's request) is read by the caller for its history, search and approvals.
#[derive(Debug, Clone)]
pub struct FrRequestRow {
    pub authorized_use: Option<String>,
    pub state: String,
    /// Run for an outside agency's documented request (FR-20).
    pub external: bool,
    pub created_at: DateTime<Utc>,
    pub data: String,
}

/// FR requests created in the period (`fr_requests.created_at`), oldest first.
pub async fn fr_requests(tx: &mut Tx, p: &Period) -> Result<Vec<FrRequestRow>> {
    let (from, to) = p.ms();
    let rows = sqlx::query(
        "SELECT authorized_use, state, external_id, created_at, data FROM fr_requests \
         WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let external: Option<String> = r.try_get("external_id")?;
            Ok(FrRequestRow {
                authorized_use: r.try_get("authorized_use")?,
                state: r.try_get("state")?,
                external: external.is_some(),
                created_at: from_ms(r.try_get("created_at")?)?,
                data: r.try_get("data")?,
            })
        })
        .collect()
}

/// Possible-match and negative reports issued in the period (`fr_reports.created_at`), by kind.
pub async fn fr_reports_by_kind(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT kind AS k0, COUNT(*) AS n FROM fr_reports \
         WHERE created_at >= $1 AND created_at < $2 GROUP BY kind ORDER BY kind",
        1,
        p,
    )
    .await
}

/// Outside agencies' requests documented in the period (`received_at`), by agency and purpose.
pub async fn fr_external_by_agency(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT agency AS k0, purpose AS k1, COUNT(*) AS n FROM fr_external_requests \
         WHERE received_at >= $1 AND received_at < $2 GROUP BY agency, purpose \
         ORDER BY agency, purpose",
        2,
        p,
    )
    .await
}

// ------------------------------------------------------------------ disclosures and breaches

/// Disclosures proposed in the period (`proposed_at`), by basis and status. A disclosure of no
/// identifying information has no basis.
pub async fn disclosures_by_basis(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT basis AS k0, status AS k1, COUNT(*) AS n FROM disclosures \
         WHERE proposed_at >= $1 AND proposed_at < $2 GROUP BY basis, status \
         ORDER BY basis, status",
        2,
        p,
    )
    .await
}

/// A breach raised in the period, as stored (no names, no description).
#[derive(Debug, Clone)]
pub struct BreachRow {
    pub status: String,
    pub kind: Option<String>,
    pub raised_at: DateTime<Utc>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub cpo_reported_at: Option<DateTime<Utc>>,
    pub notification_decision: Option<String>,
}

/// Breaches raised in the period (`raised_at`), oldest first.
pub async fn breaches(tx: &mut Tx, p: &Period) -> Result<Vec<BreachRow>> {
    let (from, to) = p.ms();
    let rows = sqlx::query(
        "SELECT status, kind, raised_at, discovered_at, cpo_reported_at, notification_decision \
         FROM breaches WHERE raised_at >= $1 AND raised_at < $2 ORDER BY raised_at, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(BreachRow {
                status: r.try_get("status")?,
                kind: r.try_get("kind")?,
                raised_at: from_ms(r.try_get("raised_at")?)?,
                discovered_at: opt_from_ms(r.try_get("discovered_at")?)?,
                cpo_reported_at: opt_from_ms(r.try_get("cpo_reported_at")?)?,
                notification_decision: r.try_get("notification_decision")?,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ FOIL

/// A FOIL request received in the period, its dates as stored.
#[derive(Debug, Clone)]
pub struct FoilRow {
    pub status: String,
    pub channel: String,
    pub received_on: Option<NaiveDate>,
    pub acknowledged_on: Option<NaiveDate>,
    pub decision_by: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub outcome: Option<String>,
}

/// A FOIL appeal received in the period, its dates as stored.
#[derive(Debug, Clone)]
pub struct FoilAppealRow {
    pub decide_by: Option<NaiveDate>,
    pub decided_on: Option<NaiveDate>,
    pub outcome: Option<String>,
}

fn date(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
}

/// FOIL requests received in the period (`received_on`, a date).
pub async fn foil_requests(tx: &mut Tx, p: &Period) -> Result<Vec<FoilRow>> {
    let (from, to) = p.dates();
    let rows = sqlx::query(
        "SELECT status, channel, received_on, acknowledged_on, decision_by, decided_on, outcome \
         FROM foil_requests WHERE received_on >= $1 AND received_on < $2 \
         ORDER BY received_on, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FoilRow {
                status: r.try_get("status")?,
                channel: r.try_get("channel")?,
                received_on: date(r.try_get("received_on")?),
                acknowledged_on: date(r.try_get("acknowledged_on")?),
                decision_by: date(r.try_get("decision_by")?),
                decided_on: date(r.try_get("decided_on")?),
                outcome: r.try_get("outcome")?,
            })
        })
        .collect()
}

/// FOIL appeals received in the period (`received_on`, a date).
pub async fn foil_appeals(tx: &mut Tx, p: &Period) -> Result<Vec<FoilAppealRow>> {
    let (from, to) = p.dates();
    let rows = sqlx::query(
        "SELECT decide_by, decided_on, outcome FROM foil_appeals \
         WHERE received_on >= $1 AND received_on < $2 ORDER BY received_on, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(FoilAppealRow {
                decide_by: date(r.try_get("decide_by")?),
                decided_on: date(r.try_get("decided_on")?),
                outcome: r.try_get("outcome")?,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ records lifecycle

/// Dispositions decided in the period (`decided_at`: executed or rejected), by rule and status.
pub async fn dispositions_decided(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT rule AS k0, status AS k1, COUNT(*) AS n FROM dispositions \
         WHERE decided_at >= $1 AND decided_at < $2 GROUP BY rule, status ORDER BY rule, status",
        2,
        p,
    )
    .await
}

/// Dispositions proposed in the period (`proposed_at`), by rule.
pub async fn dispositions_proposed(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT rule AS k0, COUNT(*) AS n FROM dispositions \
         WHERE proposed_at >= $1 AND proposed_at < $2 GROUP BY rule ORDER BY rule",
        1,
        p,
    )
    .await
}

/// Stored objects destroyed (crypto-shredded) in the period with a certificate (`executed_at`),
/// by rule: case content, robot frames past their 30 days, and the rest of the schedule.
pub async fn objects_destroyed(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT rule AS k0, COUNT(*) AS n FROM disposition_certificates \
         WHERE executed_at >= $1 AND executed_at < $2 GROUP BY rule ORDER BY rule",
        1,
        p,
    )
    .await
}

/// Legal holds placed in the period (`placed_at`), by the kind of record held.
pub async fn holds_placed(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT subject_kind AS k0, COUNT(*) AS n FROM legal_holds \
         WHERE placed_at >= $1 AND placed_at < $2 GROUP BY subject_kind ORDER BY subject_kind",
        1,
        p,
    )
    .await
}

/// Legal holds released in the period (`released_at`).
pub async fn holds_released(tx: &mut Tx, p: &Period) -> Result<u64> {
    single_ms(
        tx,
        "SELECT COUNT(*) AS n FROM legal_holds \
         WHERE released_at >= $1 AND released_at < $2",
        p,
    )
    .await
}

/// Legal holds in force at the end of the period: placed before `to`, not released before it.
pub async fn holds_in_force_at_end(tx: &mut Tx, p: &Period) -> Result<u64> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n FROM legal_holds \
         WHERE placed_at < $1 AND (released_at IS NULL OR released_at >= $1)",
    )
    .bind(to_ms(p.to))
    .fetch_one(tx.conn())
    .await?;
    let n: i64 = row.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

// ------------------------------------------------------------------ thermal and cameras

/// Thermal deployments authorized for the period (`starts_at`), by basis and kind of source.
pub async fn thermal_by_basis(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT basis AS k0, source_kind AS k1, COUNT(*) AS n FROM thermal_authorizations \
         WHERE starts_at >= $1 AND starts_at < $2 GROUP BY basis, source_kind \
         ORDER BY basis, source_kind",
        2,
        p,
    )
    .await
}

/// Camera intakes started in the period (`started_at`), by purpose and legal basis.
pub async fn camera_intakes(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT purpose AS k0, legal_basis AS k1, COUNT(*) AS n FROM evidence_intakes \
         WHERE started_at >= $1 AND started_at < $2 GROUP BY purpose, legal_basis \
         ORDER BY purpose, legal_basis",
        2,
        p,
    )
    .await
}

/// Camera files taken in during the period (`imported_at`), by purpose.
pub async fn camera_files(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT purpose AS k0, COUNT(*) AS n FROM evidence_items \
         WHERE imported_at >= $1 AND imported_at < $2 GROUP BY purpose ORDER BY purpose",
        1,
        p,
    )
    .await
}

// ------------------------------------------------------------------ training and access

/// Training completed in the period (`completed_at`), by course.
pub async fn training_completed(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT course AS k0, COUNT(*) AS n FROM training_records \
         WHERE completed_at >= $1 AND completed_at < $2 GROUP BY course ORDER BY course",
        1,
        p,
    )
    .await
}

/// Training records revoked in the period (`revoked_at`), by course.
pub async fn training_revoked(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    grouped_ms(
        tx,
        "SELECT course AS k0, COUNT(*) AS n FROM training_records \
         WHERE revoked_at >= $1 AND revoked_at < $2 GROUP BY course ORDER BY course",
        1,
        p,
    )
    .await
}

/// Changes of access in the period, each counted on its own time column: accounts created
/// (`users.created_at`), accounts deactivated (`users.deactivated_at`), roles granted
/// (`user_roles.granted_at`), assignments created (`assignments.created_at`), assignments ended
/// by an administrator with a reason (`assignments.ends_at` with `end_reason`).
pub async fn access_changes(tx: &mut Tx, p: &Period) -> Result<Vec<Count>> {
    let mut out = Vec::new();
    for (key, sql) in [
        (
            "accounts_created",
            "SELECT COUNT(*) AS n FROM users WHERE created_at >= $1 AND created_at < $2",
        ),
        (
            "accounts_deactivated",
            "SELECT COUNT(*) AS n FROM users WHERE deactivated_at >= $1 AND deactivated_at < $2",
        ),
        (
            "roles_granted",
            "SELECT COUNT(*) AS n FROM user_roles WHERE granted_at >= $1 AND granted_at < $2",
        ),
        (
            "assignments_created",
            "SELECT COUNT(*) AS n FROM assignments WHERE created_at >= $1 AND created_at < $2",
        ),
        (
            "assignments_ended_with_reason",
            "SELECT COUNT(*) AS n FROM assignments \
             WHERE end_reason IS NOT NULL AND ends_at >= $1 AND ends_at < $2",
        ),
    ] {
        out.push(Count {
            keys: vec![key.to_string()],
            n: single_ms(tx, sql, p).await?,
        });
    }
    Ok(out)
}
