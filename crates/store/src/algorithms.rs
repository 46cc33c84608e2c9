//! Algorithm governance (FR-23): the registered algorithm versions, their evaluation records,
//! the proposals to activate one with their decision and re-templating progress, and which
//! version is active (and which was before it). Whether an evaluation meets the pack's gate and
//! who may decide is decided elsewhere (the face crate's `governance`, the policy engine); this
//! module only stores and finds.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// A registered algorithm version.
#[derive(Debug, Clone, PartialEq)]
pub struct Algorithm {
    /// `name@version`.
    pub algorithm: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub dimension: i64,
    pub registered_at: DateTime<Utc>,
}

/// An evaluation to record (figures are fractions: 0.9863 = 98.63 %).
#[derive(Debug, Clone)]
pub struct NewEvaluation<'a> {
    pub algorithm: &'a str,
    pub dataset: &'a str,
    /// The command that produced the figures (e.g. `probity eval --algorithm …`).
    pub command: &'a str,
    /// When the figures were measured, as the evaluation states it.
    pub evaluated_at: &'a str,
    pub verification_accuracy: f64,
    pub tar_at_far: Option<f64>,
    pub far: Option<f64>,
    pub rank1: Option<f64>,
    pub fnir_at_fpir: Option<f64>,
    pub fpir: Option<f64>,
    pub group_count: i64,
    /// Largest difference of verification accuracy between two demographic groups.
    pub group_differential: Option<f64>,
    /// Every overall figure as given (JSON).
    pub figures: &'a serde_json::Value,
    /// The figures per group (JSON list).
    pub group_figures: &'a serde_json::Value,
    pub recorded_by: &'a str,
    pub recorded_at: DateTime<Utc>,
}

/// A stored evaluation record.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub id: Uuid,
    pub algorithm: String,
    pub dataset: String,
    pub command: String,
    pub evaluated_at: String,
    pub verification_accuracy: f64,
    pub tar_at_far: Option<f64>,
    pub far: Option<f64>,
    pub rank1: Option<f64>,
    pub fnir_at_fpir: Option<f64>,
    pub fpir: Option<f64>,
    pub group_count: i64,
    pub group_differential: Option<f64>,
    pub figures: serde_json::Value,
    pub group_figures: serde_json::Value,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// A proposal to activate a version (or a rollback), with its decision and progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Activation {
    pub id: Uuid,
    pub algorithm: String,
    pub from_algorithm: String,
    /// `activation` or `rollback`.
    pub kind: String,
    pub evaluation_id: Option<Uuid>,
    /// `proposed`, `refused`, `retemplating`, `active`, `incomplete`, `superseded`.
    pub state: String,
    pub proposed_by: String,
    pub proposer_roles: Vec<String>,
    pub reason: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decider_roles: Vec<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// The re-templating job's checkpoint (JSON), once it ran.
    pub checkpoint: Option<serde_json::Value>,
    pub total: i64,
    pub templated: i64,
    pub failed: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// Which version searches use now, and the one before it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveState {
    pub active: String,
    pub previous: Option<String>,
    pub activation_id: Option<Uuid>,
    pub changed_by: String,
    pub changed_at: DateTime<Utc>,
}

/// Registers an algorithm version (compiled into this release) if it is not yet registered.
pub async fn register(
    tx: &mut Tx,
    algorithm: &str,
    name: &str,
    version: &str,
    description: &str,
    dimension: i64,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fr_algorithms (algorithm, name, version, description, dimension, registered_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (algorithm) DO NOTHING",
    )
    .bind(algorithm)
    .bind(name)
    .bind(version)
    .bind(description)
    .bind(dimension)
    .bind(to_ms(at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// Every registered version, by name and version.
pub async fn list(tx: &mut Tx) -> Result<Vec<Algorithm>> {
    let rows = sqlx::query(
        "SELECT algorithm, name, version, description, dimension, registered_at \
         FROM fr_algorithms ORDER BY algorithm",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Algorithm {
                algorithm: r.try_get("algorithm")?,
                name: r.try_get("name")?,
                version: r.try_get("version")?,
                description: r.try_get("description")?,
                dimension: r.try_get("dimension")?,
                registered_at: from_ms(r.try_get("registered_at")?)?,
            })
        })
        .collect()
}

/// The active version and the previous one.
pub async fn state(tx: &mut Tx) -> Result<ActiveState> {
    let r = sqlx::query(
        "SELECT active, previous, activation_id, changed_by, changed_at \
         FROM fr_algorithm_state WHERE id = 1",
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound {
        what: "active algorithm record",
        id: "1".into(),
    })?;
    let activation: Option<String> = r.try_get("activation_id")?;
    Ok(ActiveState {
        active: r.try_get("active")?,
        previous: r.try_get("previous")?,
        activation_id: activation.as_deref().map(parse_uuid).transpose()?,
        changed_by: r.try_get("changed_by")?,
        changed_at: from_ms(r.try_get("changed_at")?)?,
    })
}

/// Switches the active version, provided it is still `expected_active` (a concurrent switch
/// loses with a conflict). The old one becomes the previous one.
pub async fn switch(
    tx: &mut Tx,
    expected_active: &str,
    new_active: &str,
    activation_id: Option<Uuid>,
    changed_by: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE fr_algorithm_state SET active = $1, previous = $2, activation_id = $3, \
         changed_by = $4, changed_at = $5 WHERE id = 1 AND active = $2",
    )
    .bind(new_active)
    .bind(expected_active)
    .bind(activation_id.map(|u| u.to_string()))
    .bind(changed_by)
    .bind(to_ms(at))
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "the active algorithm is no longer {expected_active}"
        )));
    }
    Ok(())
}

const EVAL_COLUMNS: &str = "id, algorithm, dataset, command, evaluated_at, verification_accuracy, \
    tar_at_far, far, rank1, fnir_at_fpir, fpir, group_count, group_differential, figures, \
    group_figures, recorded_by, recorded_at";

fn json_of(text: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Database(format!("stored {what} is not JSON: {e}")))
}

fn eval_from_row(r: &sqlx::any::AnyRow) -> Result<Evaluation> {
    let id: String = r.try_get("id")?;
    let figures: String = r.try_get("figures")?;
    let groups: String = r.try_get("group_figures")?;
    Ok(Evaluation {
        id: parse_uuid(&id)?,
        algorithm: r.try_get("algorithm")?,
        dataset: r.try_get("dataset")?,
        command: r.try_get("command")?,
        evaluated_at: r.try_get("evaluated_at")?,
        verification_accuracy: r.try_get("verification_accuracy")?,
        tar_at_far: r.try_get("tar_at_far")?,
        far: r.try_get("far")?,
        rank1: r.try_get("rank1")?,
        fnir_at_fpir: r.try_get("fnir_at_fpir")?,
        fpir: r.try_get("fpir")?,
        group_count: r.try_get("group_count")?,
        group_differential: r.try_get("group_differential")?,
        figures: json_of(&figures, "evaluation figures")?,
        group_figures: json_of(&groups, "group figures")?,
        recorded_by: r.try_get("recorded_by")?,
        recorded_at: from_ms(r.try_get("recorded_at")?)?,
    })
}

/// Records an evaluation of a registered version. The caller appends the audit entry.
/// An optional figure as bound: text, cast to a float in the SQL. sqlx's `Any` driver (0.8.6)
/// binds a NULL `f64` as a PostgreSQL `real`; a statement first run with a NULL there and then
/// cached on its connection refuses a later `f64` ("incorrect binary data format in bind
/// parameter"). As text the parameter has one type whatever the value. Display of an `f64` is
/// the shortest text that reads back as the same number.
fn float_param(v: Option<f64>) -> Option<String> {
    v.map(|x| x.to_string())
}

pub async fn record_evaluation(tx: &mut Tx, e: &NewEvaluation<'_>) -> Result<Evaluation> {
    let id = Uuid::now_v7();
    sqlx::query(&format!(
        "INSERT INTO fr_algorithm_evaluations ({EVAL_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, CAST($7 AS DOUBLE PRECISION), CAST($8 AS DOUBLE PRECISION), \
         CAST($9 AS DOUBLE PRECISION), CAST($10 AS DOUBLE PRECISION), \
         CAST($11 AS DOUBLE PRECISION), $12, CAST($13 AS DOUBLE PRECISION), $14, $15, $16, $17)"
    ))
    .bind(id.to_string())
    .bind(e.algorithm)
    .bind(e.dataset)
    .bind(e.command)
    .bind(e.evaluated_at)
    .bind(e.verification_accuracy)
    .bind(float_param(e.tar_at_far))
    .bind(float_param(e.far))
    .bind(float_param(e.rank1))
    .bind(float_param(e.fnir_at_fpir))
    .bind(float_param(e.fpir))
    .bind(e.group_count)
    .bind(float_param(e.group_differential))
    .bind(e.figures.to_string())
    .bind(e.group_figures.to_string())
    .bind(e.recorded_by)
    .bind(to_ms(e.recorded_at))
    .execute(tx.conn())
    .await
    .map_err(|err| StoreError::from_sqlx("evaluation", e.algorithm, err))?;
    evaluation(tx, id).await?.ok_or(StoreError::NotFound {
        what: "evaluation",
        id: id.to_string(),
    })
}

pub async fn evaluation(tx: &mut Tx, id: Uuid) -> Result<Option<Evaluation>> {
    let row = sqlx::query(&format!(
        "SELECT {EVAL_COLUMNS} FROM fr_algorithm_evaluations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(eval_from_row).transpose()
}

/// The latest evaluation of a version (the one a proposal is judged on).
pub async fn latest_evaluation(tx: &mut Tx, algorithm: &str) -> Result<Option<Evaluation>> {
    let row = sqlx::query(&format!(
        "SELECT {EVAL_COLUMNS} FROM fr_algorithm_evaluations WHERE algorithm = $1 \
         ORDER BY recorded_at DESC, id DESC LIMIT 1"
    ))
    .bind(algorithm)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(eval_from_row).transpose()
}

/// Every evaluation, newest first.
pub async fn evaluations(tx: &mut Tx) -> Result<Vec<Evaluation>> {
    let rows = sqlx::query(&format!(
        "SELECT {EVAL_COLUMNS} FROM fr_algorithm_evaluations ORDER BY recorded_at DESC, id DESC"
    ))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(eval_from_row).collect()
}

const ACT_COLUMNS: &str =
    "id, algorithm, from_algorithm, kind, evaluation_id, state, proposed_by, \
    proposer_roles, reason, proposed_at, decided_by, decider_roles, decision, decision_reason, \
    decided_at, checkpoint, total, templated, failed, started_at, finished_at, note";

fn roles_of(text: Option<String>) -> Result<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(t) => serde_json::from_str(&t)
            .map_err(|e| StoreError::Database(format!("stored roles are not a JSON list: {e}"))),
    }
}

fn act_from_row(r: &sqlx::any::AnyRow) -> Result<Activation> {
    let id: String = r.try_get("id")?;
    let eval: Option<String> = r.try_get("evaluation_id")?;
    let checkpoint: Option<String> = r.try_get("checkpoint")?;
    Ok(Activation {
        id: parse_uuid(&id)?,
        algorithm: r.try_get("algorithm")?,
        from_algorithm: r.try_get("from_algorithm")?,
        kind: r.try_get("kind")?,
        evaluation_id: eval.as_deref().map(parse_uuid).transpose()?,
        state: r.try_get("state")?,
        proposed_by: r.try_get("proposed_by")?,
        proposer_roles: roles_of(r.try_get("proposer_roles")?)?,
        reason: r.try_get("reason")?,
        proposed_at: from_ms(r.try_get("proposed_at")?)?,
        decided_by: r.try_get("decided_by")?,
        decider_roles: roles_of(r.try_get("decider_roles")?)?,
        decision: r.try_get("decision")?,
        decision_reason: r.try_get("decision_reason")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
        checkpoint: checkpoint
            .as_deref()
            .map(|c| json_of(c, "checkpoint"))
            .transpose()?,
        total: r.try_get("total")?,
        templated: r.try_get("templated")?,
        failed: r.try_get("failed")?,
        started_at: opt_from_ms(r.try_get("started_at")?)?,
        finished_at: opt_from_ms(r.try_get("finished_at")?)?,
        note: r.try_get("note")?,
    })
}

/// A new proposal (or rollback).
#[derive(Debug, Clone)]
pub struct NewActivation<'a> {
    pub algorithm: &'a str,
    pub from_algorithm: &'a str,
    pub kind: &'a str,
    pub evaluation_id: Option<Uuid>,
    /// `proposed`, or `retemplating` for a rollback (which needs no approval).
    pub state: &'a str,
    pub proposed_by: &'a str,
    pub proposer_roles: &'a [String],
    pub reason: &'a str,
    pub at: DateTime<Utc>,
}

/// Records a proposal; any proposal still open (proposed or re-templating) is superseded by it.
pub async fn propose(tx: &mut Tx, a: &NewActivation<'_>) -> Result<Activation> {
    let at = to_ms(a.at);
    sqlx::query(
        "UPDATE fr_algorithm_activations SET state = 'superseded', finished_at = $1, \
         note = 'superseded by a newer proposal' WHERE state IN ('proposed', 'retemplating')",
    )
    .bind(at)
    .execute(tx.conn())
    .await?;
    let id = Uuid::now_v7();
    let roles = serde_json::to_string(a.proposer_roles)
        .map_err(|e| StoreError::Invalid(format!("roles: {e}")))?;
    let started = (a.state == "retemplating").then_some(at);
    sqlx::query(
        "INSERT INTO fr_algorithm_activations (id, algorithm, from_algorithm, kind, evaluation_id, \
         state, proposed_by, proposer_roles, reason, proposed_at, started_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.to_string())
    .bind(a.algorithm)
    .bind(a.from_algorithm)
    .bind(a.kind)
    .bind(a.evaluation_id.map(|u| u.to_string()))
    .bind(a.state)
    .bind(a.proposed_by)
    .bind(roles)
    .bind(a.reason)
    .bind(at)
    .bind(started)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("activation", a.algorithm, e))?;
    activation(tx, id).await?.ok_or(StoreError::NotFound {
        what: "activation",
        id: id.to_string(),
    })
}

pub async fn activation(tx: &mut Tx, id: Uuid) -> Result<Option<Activation>> {
    let row = sqlx::query(&format!(
        "SELECT {ACT_COLUMNS} FROM fr_algorithm_activations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(act_from_row).transpose()
}

/// The open proposal, if any: awaiting approval or re-templating.
pub async fn open_activation(tx: &mut Tx) -> Result<Option<Activation>> {
    let row = sqlx::query(&format!(
        "SELECT {ACT_COLUMNS} FROM fr_algorithm_activations \
         WHERE state IN ('proposed', 'retemplating') ORDER BY proposed_at DESC, id DESC LIMIT 1"
    ))
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(act_from_row).transpose()
}

/// The latest proposals, newest first.
pub async fn activations(tx: &mut Tx, limit: i64) -> Result<Vec<Activation>> {
    let rows = sqlx::query(&format!(
        "SELECT {ACT_COLUMNS} FROM fr_algorithm_activations \
         ORDER BY proposed_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(act_from_row).collect()
}

/// The decision on a proposal still awaiting one (`approved` starts re-templating, `refused`
/// ends it). A proposal decided meanwhile is a conflict.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    decided_by: &str,
    decider_roles: &[String],
    approved: bool,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Activation> {
    let roles = serde_json::to_string(decider_roles)
        .map_err(|e| StoreError::Invalid(format!("roles: {e}")))?;
    let (decision, state) = if approved {
        ("approved", "retemplating")
    } else {
        ("refused", "refused")
    };
    let done = sqlx::query(
        "UPDATE fr_algorithm_activations SET decided_by = $1, decider_roles = $2, decision = $3, \
         decision_reason = $4, decided_at = $5, state = $6, started_at = $7, finished_at = $8 \
         WHERE id = $9 AND state = 'proposed'",
    )
    .bind(decided_by)
    .bind(roles)
    .bind(decision)
    .bind(reason)
    .bind(to_ms(at))
    .bind(state)
    .bind(approved.then(|| to_ms(at)))
    .bind((!approved).then(|| to_ms(at)))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "proposal {id} is no longer awaiting a decision"
        )));
    }
    activation(tx, id).await?.ok_or(StoreError::NotFound {
        what: "activation",
        id: id.to_string(),
    })
}

/// Saves the re-templating progress of a proposal being re-templated; `false` when it is no
/// longer re-templating (superseded meanwhile).
pub async fn save_progress(
    tx: &mut Tx,
    id: Uuid,
    checkpoint: &serde_json::Value,
    total: i64,
    templated: i64,
    failed: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE fr_algorithm_activations SET checkpoint = $1, total = $2, templated = $3, \
         failed = $4 WHERE id = $5 AND state = 'retemplating'",
    )
    .bind(checkpoint.to_string())
    .bind(total)
    .bind(templated)
    .bind(failed)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the re-templating of a proposal: `active` (switched) or `incomplete` (not switched,
/// with the note saying why).
pub async fn finish(
    tx: &mut Tx,
    id: Uuid,
    state: &str,
    note: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE fr_algorithm_activations SET state = $1, note = $2, finished_at = $3 \
         WHERE id = $4 AND state = 'retemplating'",
    )
    .bind(state)
    .bind(note)
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "proposal {id} is no longer being re-templated"
        )));
    }
    Ok(())
}

/// A repository record to template: its number and its photo's blob.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PendingRecord {
    pub record_no: i64,
    pub photo_blob: Uuid,
}

/// Up to `limit` records (not removed) after `after` that have no template of `algorithm`
/// yet, in ascending record number.
pub async fn records_without_template(
    tx: &mut Tx,
    algorithm: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<PendingRecord>> {
    let rows = sqlx::query(
        "SELECT r.record_no, r.photo_blob FROM fr_records r \
         WHERE r.removed = 0 AND r.record_no > $1 AND NOT EXISTS \
         (SELECT 1 FROM fr_templates t WHERE t.record_no = r.record_no AND t.algorithm = $2) \
         ORDER BY r.record_no LIMIT $3",
    )
    .bind(after.unwrap_or(0))
    .bind(algorithm)
    .bind(limit)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let blob: String = r.try_get("photo_blob")?;
            Ok(PendingRecord {
                record_no: r.try_get("record_no")?,
                photo_blob: parse_uuid(&blob)?,
            })
        })
        .collect()
}

/// (records not removed, those of them with a template of `algorithm`).
pub async fn template_coverage(tx: &mut Tx, algorithm: &str) -> Result<(i64, i64)> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM fr_records WHERE removed = 0) AS n, \
         (SELECT COUNT(*) FROM fr_records r WHERE r.removed = 0 AND EXISTS \
           (SELECT 1 FROM fr_templates t WHERE t.record_no = r.record_no AND t.algorithm = $1)) AS t",
    )
    .bind(algorithm)
    .fetch_one(tx.conn())
    .await?;
    Ok((r.try_get("n")?, r.try_get("t")?))
}
