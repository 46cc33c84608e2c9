//! Algorithm governance (FR-23). The algorithm versions compiled into this release are registered
//! with their evaluation records (verification accuracy, TAR at a fixed FAR, rank-1, FNIR at a
//! fixed FPIR, the same per demographic group where labels exist: the JSON `probity eval` writes,
//! or the figures directly). An administrator or FR supervisor proposes activating a version; the
//! proposal is refused, naming FR-23, without an evaluation record or when the evaluation does not
//! meet the facial recognition pack's `[algorithm_gate]` (the rule is the face crate's
//! `governance::Gate`). The Chief of Detectives or the Deputy Commissioner of Intelligence and
//! Counterterrorism approves it (never the proposer). Approval starts the re-templating job
//! `fr.retemplate` through the scheduler's lease (so one node runs it, resumable from its
//! checkpoint); its progress shows on `/operations` and `/fr/algorithms`. Searches keep the old
//! version until every record has a template of the new one; then the database's active version
//! switches in one transaction and the server's engine snapshot is replaced (`engine::install`).
//! Rollback to the previous version is one action. Every step is audited on
//! `("fr_algorithm", name@version)`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Utc};
use minijinja::context;
use probity_domain::Technology;
use probity_face::eval::EvaluationRecord;
use probity_face::governance::{Evaluation, Figures, Gate, GroupFigures};
use probity_face::retemplate::{
    Checkpoint, RetemplateJob, RetemplateSink, RetemplateSource, SourcePhoto,
};
use probity_face::{AlgorithmSpec, FaceError, RecordId, RepositoryTemplate};
use probity_store::algorithms as astore;
use probity_store::{audit, gallery, Store, Tx};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::scheduler::JobRun;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

/// The rule every refusal names.
pub const RULE: &str = "FR-23";
/// The scheduler job that re-templates the repository for an approved version.
pub const RETEMPLATE_JOB: &str = "fr.retemplate";
/// Record type of the audit entries.
const RECORD: &str = "fr_algorithm";

/// Declares the routes.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/fr/algorithms",
        Access::action("fr.algorithm.read"),
        "Registered algorithm versions with their evaluation, the active and previous version, \
         proposals and re-templating progress (FR-23)",
        get(overview_api),
    )
    .add(
        M::POST,
        "/api/fr/algorithms/{algorithm}/evaluation",
        Access::action("fr.algorithm.manage"),
        "Record an algorithm's evaluation: the JSON `probity eval` writes, or the figures (FR-23)",
        post(evaluation_api),
    )
    .add(
        M::POST,
        "/api/fr/algorithms/{algorithm}/activation",
        Access::action("fr.algorithm.manage"),
        "Propose activating an algorithm version; refused without an evaluation record or when \
         the evaluation fails the pack's gate (FR-23)",
        post(propose_api),
    )
    .add(
        M::POST,
        "/api/fr/algorithms/{algorithm}/activation/approve",
        Access::action("fr.algorithm.approve"),
        "Approve (or refuse) the proposed activation; approval starts re-templating (FR-23)",
        post(approve_api),
    )
    .add(
        M::POST,
        "/api/fr/algorithms/rollback",
        Access::action("fr.algorithm.manage"),
        "Return to the previous algorithm version in one action (FR-23)",
        post(rollback_api),
    )
    .add(
        M::GET,
        "/fr/algorithms",
        Access::action("fr.algorithm.read"),
        "Algorithm governance page (FR-23)",
        get(page_view),
    )
    .add(
        M::POST,
        "/fr/algorithms/{algorithm}/evaluation",
        Access::action("fr.algorithm.manage"),
        "Record an evaluation (form, FR-23)",
        post(evaluation_form),
    )
    .add(
        M::POST,
        "/fr/algorithms/{algorithm}/activation",
        Access::action("fr.algorithm.manage"),
        "Propose an activation (form, FR-23)",
        post(propose_form),
    )
    .add(
        M::POST,
        "/fr/algorithms/{algorithm}/activation/approve",
        Access::action("fr.algorithm.approve"),
        "Approve or refuse an activation (form, FR-23)",
        post(approve_form),
    )
    .add(
        M::POST,
        "/fr/algorithms/rollback",
        Access::action("fr.algorithm.manage"),
        "Roll back to the previous version (form, FR-23)",
        post(rollback_form),
    )
}

// ------------------------------------------------------------------ views

/// The pack's activation gate (fractions; a limit left out is not checked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlgorithmGateView {
    pub min_verification_accuracy: Option<f64>,
    pub min_tar_at_far: Option<f64>,
    pub min_rank1: Option<f64>,
    pub max_fnir_at_fpir: Option<f64>,
    pub max_group_differential: Option<f64>,
    pub require_groups: bool,
}

/// An evaluation record (figures are fractions) and whether it meets the gate in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlgorithmEvaluationView {
    pub id: String,
    pub algorithm: String,
    pub dataset: String,
    /// The command that produced the figures.
    pub command: String,
    pub evaluated_at: String,
    pub verification_accuracy: f64,
    pub tar_at_far: Option<f64>,
    pub far: Option<f64>,
    pub rank1: Option<f64>,
    pub fnir_at_fpir: Option<f64>,
    pub fpir: Option<f64>,
    pub group_count: i64,
    /// Largest difference of verification accuracy between two groups.
    pub group_differential: Option<f64>,
    /// Every overall figure as recorded.
    #[schema(value_type = Object)]
    pub figures: Value,
    /// The figures per demographic group (aggregate only, FR-24).
    #[schema(value_type = Vec<Object>)]
    pub groups: Value,
    pub recorded_by: String,
    pub recorded_at: String,
    /// Whether it meets the pack's gate now.
    pub gate_met: bool,
    /// Each limit it fails, naming the figure and the limit.
    pub gate_failures: Vec<String>,
}

/// A registered algorithm version.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlgorithmVersionView {
    /// `name@version`.
    pub algorithm: String,
    pub name: String,
    pub version: String,
    pub description: String,
    pub dimension: i64,
    /// Its model files are present in the model folder.
    pub models_installed: bool,
    pub active: bool,
    pub previous: bool,
    /// The latest evaluation record, if any (none: it cannot be activated).
    pub evaluation: Option<AlgorithmEvaluationView>,
}

/// A proposal (or rollback) with its decision and re-templating progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlgorithmActivationView {
    pub id: String,
    pub algorithm: String,
    pub from_algorithm: String,
    /// `activation` or `rollback`.
    pub kind: String,
    /// `proposed`, `refused`, `retemplating`, `active`, `incomplete`, `superseded`.
    pub state: String,
    pub evaluation_id: Option<String>,
    pub proposed_by: String,
    pub proposer_roles: Vec<String>,
    pub reason: String,
    pub proposed_at: String,
    pub decided_by: Option<String>,
    pub decider_roles: Vec<String>,
    pub decision: Option<String>,
    pub decision_reason: Option<String>,
    pub decided_at: Option<String>,
    /// Repository records (not removed) when progress was last saved.
    pub total: i64,
    /// Of them, those with a template of the new version.
    pub templated: i64,
    /// Records the job could not template (no face, unreadable photo).
    pub failed: i64,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub note: Option<String>,
}

/// Algorithm governance at a glance.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlgorithmsView {
    /// The version every search uses now.
    pub active: String,
    /// The version before it (rollback target).
    pub previous: Option<String>,
    pub changed_by: String,
    pub changed_at: String,
    /// The facial recognition pack's gate.
    pub gate: Option<AlgorithmGateView>,
    pub algorithms: Vec<AlgorithmVersionView>,
    /// The proposal awaiting approval or being re-templated.
    pub open: Option<AlgorithmActivationView>,
    /// The latest proposals, newest first.
    pub activations: Vec<AlgorithmActivationView>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339()
}

fn activation_view(a: &astore::Activation) -> AlgorithmActivationView {
    AlgorithmActivationView {
        id: a.id.to_string(),
        algorithm: a.algorithm.clone(),
        from_algorithm: a.from_algorithm.clone(),
        kind: a.kind.clone(),
        state: a.state.clone(),
        evaluation_id: a.evaluation_id.map(|u| u.to_string()),
        proposed_by: a.proposed_by.clone(),
        proposer_roles: a.proposer_roles.clone(),
        reason: a.reason.clone(),
        proposed_at: ts(a.proposed_at),
        decided_by: a.decided_by.clone(),
        decider_roles: a.decider_roles.clone(),
        decision: a.decision.clone(),
        decision_reason: a.decision_reason.clone(),
        decided_at: a.decided_at.map(ts),
        total: a.total,
        templated: a.templated,
        failed: a.failed,
        started_at: a.started_at.map(ts),
        finished_at: a.finished_at.map(ts),
        note: a.note.clone(),
    }
}

/// The gate of the facial recognition pack in force.
pub fn gate(state: &AppState) -> Option<Gate> {
    let pack = state.engine().pack_for(Technology::FacialRecognition)?;
    let g = pack.algorithm_gate?;
    Some(Gate {
        min_verification_accuracy: g.min_verification_accuracy,
        min_tar_at_far: g.min_tar_at_far,
        min_rank1: g.min_rank1,
        max_fnir_at_fpir: g.max_fnir_at_fpir,
        max_group_differential: g.max_group_differential,
        require_groups: g.require_groups,
    })
}

fn gate_view(g: &Gate) -> AlgorithmGateView {
    AlgorithmGateView {
        min_verification_accuracy: g.min_verification_accuracy,
        min_tar_at_far: g.min_tar_at_far,
        min_rank1: g.min_rank1,
        max_fnir_at_fpir: g.max_fnir_at_fpir,
        max_group_differential: g.max_group_differential,
        require_groups: g.require_groups,
    }
}

/// The figures of a stored evaluation as the gate reads them.
fn governance_of(e: &astore::Evaluation) -> Evaluation {
    Evaluation {
        figures: Figures {
            verification_accuracy: e.verification_accuracy,
            tar_at_far: e.tar_at_far,
            far: e.far,
            rank1: e.rank1,
            fnir_at_fpir: e.fnir_at_fpir,
            fpir: e.fpir,
        },
        groups: serde_json::from_value(e.group_figures.clone()).unwrap_or_default(),
    }
}

/// The gate's failures for an evaluation (none when the pack sets no gate).
fn failures(state: &AppState, e: &astore::Evaluation) -> Vec<String> {
    gate(state)
        .map(|g| {
            g.check(&governance_of(e))
                .into_iter()
                .map(|f| f.message)
                .collect()
        })
        .unwrap_or_default()
}

fn evaluation_view(state: &AppState, e: &astore::Evaluation) -> AlgorithmEvaluationView {
    let gate_failures = failures(state, e);
    AlgorithmEvaluationView {
        id: e.id.to_string(),
        algorithm: e.algorithm.clone(),
        dataset: e.dataset.clone(),
        command: e.command.clone(),
        evaluated_at: e.evaluated_at.clone(),
        verification_accuracy: e.verification_accuracy,
        tar_at_far: e.tar_at_far,
        far: e.far,
        rank1: e.rank1,
        fnir_at_fpir: e.fnir_at_fpir,
        fpir: e.fpir,
        group_count: e.group_count,
        group_differential: e.group_differential,
        figures: e.figures.clone(),
        groups: e.group_figures.clone(),
        recorded_by: e.recorded_by.clone(),
        recorded_at: ts(e.recorded_at),
        gate_met: gate_failures.is_empty(),
        gate_failures,
    }
}

fn models_installed(spec: &AlgorithmSpec) -> bool {
    let dir = probity_face::model_dir();
    spec.model_files
        .iter()
        .all(|m| dir.join(m.file_name).is_file())
}

/// Registers every algorithm version compiled into this release (idempotent).
async fn register_all(tx: &mut Tx, now: DateTime<Utc>) -> Result<(), ApiError> {
    for s in probity_face::registered() {
        astore::register(
            tx,
            &s.id().to_string(),
            s.name,
            s.version,
            s.description,
            s.dimension as i64,
            now,
        )
        .await
        .map_err(crate::store_error)?;
    }
    Ok(())
}

/// A registered version named in a path (`name@version`, or the name alone for the version this
/// release carries).
fn registered(algorithm: &str) -> Result<&'static AlgorithmSpec, ApiError> {
    probity_face::lookup(algorithm.trim()).map_err(|_| {
        ApiError::not_found(format!(
            "algorithm {algorithm} (registered: {})",
            probity_face::registered()
                .iter()
                .map(|s| s.id().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

fn event(
    actor: &str,
    action: &str,
    algorithm: &str,
    reason: Option<&str>,
    detail: Value,
) -> audit::AuditEvent {
    audit::AuditEvent {
        actor: actor.to_string(),
        action: action.into(),
        record_type: RECORD.into(),
        record_id: algorithm.to_string(),
        reason: reason.map(str::to_string).filter(|r| !r.trim().is_empty()),
        outcome: audit::Outcome::Success,
        detail,
    }
}

fn roles(p: &Principal) -> Vec<String> {
    p.access
        .roles()
        .iter()
        .map(|r| r.as_str().to_string())
        .collect()
}

fn refused(detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", detail).with_rule(RULE)
}

// ------------------------------------------------------------------ overview

/// Everything the page and `GET /api/fr/algorithms` show; the read is audited.
pub async fn overview(state: &AppState, auth: &Authorized) -> Result<AlgorithmsView, ApiError> {
    let se = crate::store_error;
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(se)?;
    register_all(&mut tx, now).await?;
    let current = astore::state(&mut tx).await.map_err(se)?;
    let registered = astore::list(&mut tx).await.map_err(se)?;
    let open = astore::open_activation(&mut tx).await.map_err(se)?;
    let recent = astore::activations(&mut tx, 20).await.map_err(se)?;
    let mut algorithms = Vec::new();
    for a in &registered {
        let evaluation = astore::latest_evaluation(&mut tx, &a.algorithm)
            .await
            .map_err(se)?;
        let installed = probity_face::registered()
            .into_iter()
            .find(|s| s.id().to_string() == a.algorithm)
            .is_some_and(models_installed);
        algorithms.push(AlgorithmVersionView {
            algorithm: a.algorithm.clone(),
            name: a.name.clone(),
            version: a.version.clone(),
            description: a.description.clone(),
            dimension: a.dimension,
            models_installed: installed,
            active: a.algorithm == current.active,
            previous: current.previous.as_deref() == Some(a.algorithm.as_str()),
            evaluation: evaluation.as_ref().map(|e| evaluation_view(state, e)),
        });
    }
    audit::append(
        &mut tx,
        &event(
            &auth.principal.actor(),
            "fr.algorithm.read",
            "*",
            None,
            json!({ "rule": auth.rule, "active": current.active }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(AlgorithmsView {
        active: current.active,
        previous: current.previous,
        changed_by: current.changed_by,
        changed_at: ts(current.changed_at),
        gate: gate(state).as_ref().map(gate_view),
        algorithms,
        open: open.as_ref().map(activation_view),
        activations: recent.iter().map(activation_view).collect(),
    })
}

pub async fn overview_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<AlgorithmsView>, ApiError> {
    Ok(Json(overview(&state, &auth).await?))
}

// ------------------------------------------------------------------ evaluation

/// An evaluation record: the JSON `probity eval` writes (`record`, or that JSON as the whole
/// body), or the figures directly (`figures`, `groups`, with `dataset` and `command`). Figures are
/// fractions (0.9863 = 98.63 %).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AlgorithmEvaluationInput {
    /// The evaluation record `probity eval` wrote (`evaluation-<name>-<version>.json`).
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub record: Option<Value>,
    /// The overall figures: `verification_accuracy` (required), `tar_at_far` with `far`,
    /// `rank1`, `fnir_at_fpir` with `fpir`.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub figures: Option<Value>,
    /// The same figures per demographic group: `group`, `verification_accuracy`, optional
    /// `tar_at_far`, `rank1`, `fnir_at_fpir`, `false_match_rate`, `false_non_match_rate`,
    /// `pairs`, `probes`.
    #[schema(value_type = Option<Vec<Object>>)]
    #[serde(default)]
    pub groups: Option<Value>,
    /// The evaluation data set (taken from the record when one is given).
    #[serde(default)]
    pub dataset: Option<String>,
    /// The command that produced the figures (default for a record: `probity eval --algorithm …`).
    #[serde(default)]
    pub command: Option<String>,
    /// When the figures were measured (taken from the record when one is given).
    #[serde(default)]
    pub evaluated_at: Option<String>,
}

struct Parsed {
    evaluation: Evaluation,
    dataset: String,
    command: String,
    evaluated_at: String,
    figures: Value,
}

fn text(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Reads the body: a record (nested or whole) or the figures; every fault names its field.
fn parse_evaluation(
    spec: &AlgorithmSpec,
    body: Value,
    now: DateTime<Utc>,
) -> Result<Parsed, ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "give a JSON object: the evaluation record `probity eval` wrote, or {\"figures\": …, \"dataset\": …, \"command\": …}",
        )
        .with_rule(RULE));
    }
    let whole_record = body.get("verification").is_some() && body.get("identification").is_some();
    let input: AlgorithmEvaluationInput = if whole_record {
        AlgorithmEvaluationInput {
            record: Some(body.clone()),
            command: body
                .get("command")
                .and_then(Value::as_str)
                .map(str::to_string),
            ..Default::default()
        }
    } else {
        serde_json::from_value(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is invalid: {e}")))?
    };
    let id = spec.id().to_string();
    if let Some(record) = input.record {
        let r: EvaluationRecord = serde_json::from_value(record).map_err(|e| {
            ApiError::bad_field(
                "record",
                format!("not an evaluation record as `probity eval` writes it: {e}"),
            )
            .with_rule(RULE)
        })?;
        if r.algorithm != spec.id() {
            return Err(ApiError::bad_field(
                "record.algorithm",
                format!("the record evaluates {}, not {id}", r.algorithm),
            )
            .with_rule(RULE));
        }
        let figures = json!({
            "verification_accuracy": r.verification.accuracy_mean,
            "verification_accuracy_std": r.verification.accuracy_std,
            "verification_pairs": r.verification.pairs,
            "auc": r.verification.auc,
            "tar_at_far": r.verification.tar_at_far_0_001,
            "far": probity_face::governance::EVAL_FAR,
            // The same operating point read against every non-mated comparison of the 1:N split
            // (millions) rather than the pairs file's non-mated pairs alone.
            "tar_at_far_all_non_mated": r.verification.tar_at_far_0_001_all_non_mated,
            "rank1": r.identification.rank1,
            "rank10": r.identification.rank10,
            "fnir_at_fpir": r.identification.fnir_at_fpir_0_003,
            "fpir": probity_face::governance::EVAL_FPIR,
            "fnir_50_candidates": r.identification.fnir_50_candidates,
            "gallery_size": r.identification.gallery_size,
            "probes": r.identification.probes,
            "images": r.images,
            "detection": r.detection,
            "roc": sample_roc(&r.roc),
            // Rank-1 and FNIR with 50 candidates by probe quality (FR-06), shown on the page.
            "quality_buckets": r.quality_buckets,
            // A fused algorithm's registered weight and the per-fold weights it was scored with.
            "fusion": r.fusion.as_ref().map(|f| json!({
                "components": f.components.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
                "registered_weight": f.registered.weight,
                "fold_weights": f.fold_params.iter().map(|p| p.weight).collect::<Vec<_>>(),
                "shortlist_top50_identical": f.shortlist.top50_identical,
                "shortlist_probes": f.shortlist.probes,
            })),
            // Score → false-match rate, read by the candidate lists (checked first).
            "score_calibration": match &r.score_calibration {
                Some(c) => {
                    c.validate()
                        .map_err(|e| ApiError::bad_field("record.score_calibration", e))?;
                    Some(c)
                }
                None => None,
            },
            // What the figures were measured on, as `probity eval` read it (FR-23); the
            // identity lists stay in the record file, their digests are kept here.
            "data": r.data.as_ref().map(|d| json!({
                "pairs_file": d.pairs_file,
                "pairs_sha256": d.pairs_sha256,
                "folds": d.folds,
                "pairs": d.pairs,
                "images_used": d.images_used,
                "gallery_images": d.gallery_images,
                "probe_images": d.probe_images,
                "mated_identities": d.mated_identities.len(),
                "mated_identities_sha256": d.mated_identities_sha256,
                "distractor_identities": d.distractor_identities.len(),
                "distractor_identities_sha256": d.distractor_identities_sha256,
            })),
        });
        return Ok(Parsed {
            evaluation: Evaluation::from_record(&r),
            dataset: r.dataset.clone(),
            command: text(&input.command).unwrap_or_else(|| {
                format!("probity eval --algorithm {id} --detection {}", r.detection)
            }),
            evaluated_at: if r.evaluated_at.trim().is_empty() {
                now.to_rfc3339()
            } else {
                r.evaluated_at.clone()
            },
            figures,
        });
    }
    let figures_value = input.figures.ok_or_else(|| {
        ApiError::bad_field(
            "figures",
            "give the evaluation record (`record`) or the figures (`figures` with at least verification_accuracy)",
        )
        .with_rule(RULE)
    })?;
    let figures: Figures = serde_json::from_value(figures_value.clone())
        .map_err(|e| ApiError::bad_field("figures", format!("{e}")).with_rule(RULE))?;
    if let Some(roc) = figures_value.get("roc") {
        let points: Vec<(f64, f64)> = serde_json::from_value(roc.clone()).map_err(|e| {
            ApiError::bad_field(
                "figures.roc",
                format!("the ROC curve is a list of [false accept rate, true accept rate]: {e}"),
            )
            .with_rule(RULE)
        })?;
        if let Some((far, tar)) = points
            .iter()
            .find(|(f, t)| !(0.0..=1.0).contains(f) || !(0.0..=1.0).contains(t))
        {
            return Err(ApiError::bad_field(
                "figures.roc",
                format!("rates are fractions from 0 to 1: [{far}, {tar}]"),
            )
            .with_rule(RULE));
        }
    }
    let groups: Vec<GroupFigures> = match input.groups {
        None | Some(Value::Null) => Vec::new(),
        Some(g) => serde_json::from_value(g)
            .map_err(|e| ApiError::bad_field("groups", format!("{e}")).with_rule(RULE))?,
    };
    let dataset = text(&input.dataset).ok_or_else(|| {
        ApiError::bad_field("dataset", "name the data set the figures were measured on")
            .with_rule(RULE)
    })?;
    let command = text(&input.command).ok_or_else(|| {
        ApiError::bad_field("command", "give the command that produced the figures").with_rule(RULE)
    })?;
    Ok(Parsed {
        evaluation: Evaluation { figures, groups },
        dataset,
        command,
        evaluated_at: text(&input.evaluated_at).unwrap_or_else(|| now.to_rfc3339()),
        figures: figures_value,
    })
}

/// The ROC curve kept with an evaluation: TAR at 41 false accept rates evenly spaced on a log
/// scale from 10⁻⁴ to 1 (the best TAR among the measured points at or below each rate), enough
/// to draw the curve in the oversight report (OVR-03) without keeping every threshold.
pub fn sample_roc(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for i in 0..=40 {
        let far = 10f64.powf(-4.0 + 4.0 * f64::from(i) / 40.0);
        let tar = points
            .iter()
            .filter(|(f, t)| f.is_finite() && t.is_finite() && *f <= far * (1.0 + 1e-9))
            .map(|(_, t)| *t)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        if let Some(tar) = tar {
            out.push((far, tar.clamp(0.0, 1.0)));
        }
    }
    out
}

/// Records an evaluation of a registered version, audited. Returns it with the gate's verdict.
pub async fn record_evaluation(
    state: &AppState,
    auth: &Authorized,
    algorithm: &str,
    body: Value,
) -> Result<AlgorithmEvaluationView, ApiError> {
    let se = crate::store_error;
    let spec = registered(algorithm)?;
    let id = spec.id().to_string();
    let now = state.clock.now();
    let parsed = parse_evaluation(spec, body, now)?;
    if let Err(bad) = parsed.evaluation.validate() {
        let (field, _) = bad[0].clone();
        let detail = bad
            .iter()
            .map(|(f, r)| format!("{f}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(ApiError::bad_field(field, format!("{RULE}: {detail}")).with_rule(RULE));
    }
    let e = &parsed.evaluation;
    let groups = serde_json::to_value(&e.groups).map_err(ApiError::internal)?;
    let actor = auth.principal.actor();
    let mut tx = state.store.begin().await.map_err(se)?;
    register_all(&mut tx, now).await?;
    let stored = astore::record_evaluation(
        &mut tx,
        &astore::NewEvaluation {
            algorithm: &id,
            dataset: &parsed.dataset,
            command: &parsed.command,
            evaluated_at: &parsed.evaluated_at,
            verification_accuracy: e.figures.verification_accuracy,
            tar_at_far: e.figures.tar_at_far,
            far: e.figures.far,
            rank1: e.figures.rank1,
            fnir_at_fpir: e.figures.fnir_at_fpir,
            fpir: e.figures.fpir,
            group_count: e.groups.len() as i64,
            group_differential: e.group_differential(),
            figures: &parsed.figures,
            group_figures: &groups,
            recorded_by: &actor,
            recorded_at: now,
        },
    )
    .await
    .map_err(se)?;
    let view = evaluation_view(state, &stored);
    audit::append(
        &mut tx,
        &event(
            &actor,
            "fr.algorithm.evaluation.record",
            &id,
            None,
            json!({
                "rule": auth.rule,
                "evaluation": stored.id.to_string(),
                "dataset": stored.dataset,
                "command": stored.command,
                "verification_accuracy": stored.verification_accuracy,
                "tar_at_far": stored.tar_at_far,
                "rank1": stored.rank1,
                "fnir_at_fpir": stored.fnir_at_fpir,
                "group_count": stored.group_count,
                "group_differential": stored.group_differential,
                "gate_met": view.gate_met,
                "gate_failures": view.gate_failures,
            }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(view)
}

pub async fn evaluation_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(algorithm): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let view = record_evaluation(&state, &auth, &algorithm, body).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

// ------------------------------------------------------------------ proposal

/// Why the version should be activated.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AlgorithmProposalInput {
    #[serde(default)]
    pub reason: String,
}

fn reason_of(reason: &str) -> Result<String, ApiError> {
    let r = reason.trim();
    if r.is_empty() {
        return Err(ApiError::bad_field("reason", "give the reason").with_rule(RULE));
    }
    Ok(r.to_string())
}

/// Records the refusal of a step in the audit trail (its own transaction) and returns it.
async fn audited_refusal(
    state: &AppState,
    actor: &str,
    action: &str,
    algorithm: &str,
    err: ApiError,
) -> ApiError {
    let written = async {
        let mut tx = state.store.begin().await?;
        let mut e = event(
            actor,
            action,
            algorithm,
            None,
            json!({ "rule": RULE, "refused": err.detail }),
        );
        e.outcome = audit::Outcome::Denied;
        audit::append(&mut tx, &e).await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        tracing::warn!(error = %e, "FR-23 refusal not audited");
    }
    err
}

/// The gate applied to the latest evaluation of `id`: the evaluation, or the refusal naming
/// FR-23 (no record; each figure that fails, with its limit).
async fn gate_passed(
    state: &AppState,
    tx: &mut Tx,
    id: &str,
) -> Result<astore::Evaluation, ApiError> {
    let evaluation = astore::latest_evaluation(tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| {
            refused(format!(
                "{RULE}: {id} has no evaluation record; only an algorithm with a recorded evaluation \
                 (accuracy overall and across demographic groups) may be active. Record one first \
                 (POST /api/fr/algorithms/{id}/evaluation with the JSON `probity eval` writes)"
            ))
        })?;
    let fails = failures(state, &evaluation);
    if !fails.is_empty() {
        return Err(refused(fails.join("; ")));
    }
    Ok(evaluation)
}

/// Proposes activating `algorithm`; refused naming FR-23 without an evaluation record, when the
/// evaluation fails the gate, or when its models are not installed.
pub async fn propose(
    state: &AppState,
    auth: &Authorized,
    algorithm: &str,
    reason: &str,
) -> Result<AlgorithmActivationView, ApiError> {
    let se = crate::store_error;
    let spec = registered(algorithm)?;
    let id = spec.id().to_string();
    let reason = reason_of(reason)?;
    let actor = auth.principal.actor();
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(se)?;
    register_all(&mut tx, now).await?;
    let current = astore::state(&mut tx).await.map_err(se)?;
    if current.active == id {
        tx.rollback().await.map_err(se)?;
        return Err(
            ApiError::conflict(format!("{id} is already the active algorithm")).with_rule(RULE),
        );
    }
    let evaluation = match gate_passed(state, &mut tx, &id).await {
        Ok(e) => e,
        Err(err) => {
            tx.rollback().await.map_err(se)?;
            return Err(audited_refusal(state, &actor, "fr.algorithm.propose", &id, err).await);
        }
    };
    if !models_installed(spec) {
        tx.rollback().await.map_err(se)?;
        let err = refused(format!(
            "{RULE}: the model files of {id} are not installed in {}; run scripts/setup",
            probity_face::model_dir().display()
        ));
        return Err(audited_refusal(state, &actor, "fr.algorithm.propose", &id, err).await);
    }
    let proposer_roles = roles(&auth.principal);
    let stored = astore::propose(
        &mut tx,
        &astore::NewActivation {
            algorithm: &id,
            from_algorithm: &current.active,
            kind: "activation",
            evaluation_id: Some(evaluation.id),
            state: "proposed",
            proposed_by: &actor,
            proposer_roles: &proposer_roles,
            reason: &reason,
            at: now,
        },
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &event(
            &actor,
            "fr.algorithm.propose",
            &id,
            Some(&reason),
            json!({
                "rule": auth.rule,
                "activation": stored.id.to_string(),
                "from": current.active,
                "evaluation": evaluation.id.to_string(),
                "verification_accuracy": evaluation.verification_accuracy,
                "group_differential": evaluation.group_differential,
                "proposer_roles": proposer_roles,
            }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(activation_view(&stored))
}

pub async fn propose_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(algorithm): Path<String>,
    JsonBody(input): JsonBody<AlgorithmProposalInput>,
) -> Result<Response, ApiError> {
    let view = propose(&state, &auth, &algorithm, &input.reason).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

// ------------------------------------------------------------------ approval

/// The decision on a proposal: approve (default) or refuse, with the reason.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AlgorithmDecisionInput {
    /// `true` (default) approves and starts re-templating; `false` refuses the proposal.
    #[serde(default)]
    pub approve: Option<bool>,
    #[serde(default)]
    pub reason: String,
}

/// Approves (or refuses) the proposal to activate `algorithm`. The proposer never decides; the
/// gate is checked again on the latest evaluation. Approval starts the re-templating job.
pub async fn approve(
    state: &AppState,
    auth: &Authorized,
    algorithm: &str,
    approve: bool,
    reason: &str,
) -> Result<AlgorithmActivationView, ApiError> {
    let se = crate::store_error;
    let spec = registered(algorithm)?;
    let id = spec.id().to_string();
    let reason = reason_of(reason)?;
    let actor = auth.principal.actor();
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(se)?;
    let open = astore::open_activation(&mut tx)
        .await
        .map_err(se)?
        .filter(|a| a.state == "proposed" && a.algorithm == id);
    let Some(open) = open else {
        tx.rollback().await.map_err(se)?;
        return Err(ApiError::conflict(format!(
            "{RULE}: no proposal to activate {id} is awaiting a decision"
        ))
        .with_rule(RULE));
    };
    if open.proposed_by == actor {
        tx.rollback().await.map_err(se)?;
        let err = ApiError::forbidden(
            RULE,
            format!(
                "{RULE}: the activation of {id} was proposed by you; a second person in another \
                 office (the Chief of Detectives or the Deputy Commissioner of Intelligence and \
                 Counterterrorism) approves it, never the proposer"
            ),
        );
        return Err(audited_refusal(state, &actor, "fr.algorithm.approve", &id, err).await);
    }
    if approve {
        if let Err(err) = gate_passed(state, &mut tx, &id).await {
            tx.rollback().await.map_err(se)?;
            return Err(audited_refusal(state, &actor, "fr.algorithm.approve", &id, err).await);
        }
    }
    let decider_roles = roles(&auth.principal);
    let decided = astore::decide(
        &mut tx,
        open.id,
        &actor,
        &decider_roles,
        approve,
        &reason,
        now,
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &event(
            &actor,
            if approve {
                "fr.algorithm.approve"
            } else {
                "fr.algorithm.refuse"
            },
            &id,
            Some(&reason),
            json!({
                "rule": auth.rule,
                "activation": open.id.to_string(),
                "proposed_by": open.proposed_by,
                "decider_roles": decider_roles,
                "retemplating": approve,
            }),
        ),
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    if approve {
        start_retemplating(state.clone(), actor);
    }
    Ok(activation_view(&decided))
}

pub async fn approve_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(algorithm): Path<String>,
    JsonBody(input): JsonBody<AlgorithmDecisionInput>,
) -> Result<Json<AlgorithmActivationView>, ApiError> {
    Ok(Json(
        approve(
            &state,
            &auth,
            &algorithm,
            input.approve.unwrap_or(true),
            &input.reason,
        )
        .await?,
    ))
}

// ------------------------------------------------------------------ rollback

/// Why the previous version returns.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AlgorithmRollbackInput {
    #[serde(default)]
    pub reason: String,
}

/// Returns to the previous version in one action. When every record still has a template of it,
/// the switch is immediate; otherwise the missing templates are made first (same job, same
/// switch). A rollback needs no second approval: the version it returns to was approved.
pub async fn rollback(
    state: &AppState,
    auth: &Authorized,
    reason: &str,
) -> Result<AlgorithmActivationView, ApiError> {
    let se = crate::store_error;
    let reason = reason_of(reason)?;
    let actor = auth.principal.actor();
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(se)?;
    register_all(&mut tx, now).await?;
    let current = astore::state(&mut tx).await.map_err(se)?;
    let Some(previous) = current.previous.clone() else {
        tx.rollback().await.map_err(se)?;
        return Err(ApiError::conflict(format!(
            "{RULE}: {} has no previous version to return to",
            current.active
        ))
        .with_rule(RULE));
    };
    crate::fr::engine::spec_of(&previous)?;
    let (records, templated) = astore::template_coverage(&mut tx, &previous)
        .await
        .map_err(se)?;
    let complete = records == templated;
    let roles = roles(&auth.principal);
    let stored = astore::propose(
        &mut tx,
        &astore::NewActivation {
            algorithm: &previous,
            from_algorithm: &current.active,
            kind: "rollback",
            evaluation_id: None,
            state: "retemplating",
            proposed_by: &actor,
            proposer_roles: &roles,
            reason: &reason,
            at: now,
        },
    )
    .await
    .map_err(se)?;
    if complete {
        astore::switch(
            &mut tx,
            &current.active,
            &previous,
            Some(stored.id),
            &actor,
            now,
        )
        .await
        .map_err(se)?;
        astore::save_progress(&mut tx, stored.id, &json!({}), records, templated, 0)
            .await
            .map_err(se)?;
        astore::finish(&mut tx, stored.id, "active", None, now)
            .await
            .map_err(se)?;
    }
    audit::append(
        &mut tx,
        &event(
            &actor,
            "fr.algorithm.rollback",
            &previous,
            Some(&reason),
            json!({
                "rule": auth.rule,
                "activation": stored.id.to_string(),
                "from": current.active,
                "to": previous,
                "switched": complete,
                "records": records,
                "templated": templated,
            }),
        ),
    )
    .await
    .map_err(se)?;
    let stored = astore::activation(&mut tx, stored.id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::internal("rollback vanished"))?;
    tx.commit().await.map_err(se)?;
    if complete {
        // The next search takes the previous version's snapshot; load it now.
        if let Err(e) = crate::fr::engine::get(state).await {
            tracing::warn!(error = %e.detail, "face engine not reloaded after rollback");
        }
    } else {
        start_retemplating(state.clone(), actor);
    }
    Ok(activation_view(&stored))
}

pub async fn rollback_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<AlgorithmRollbackInput>,
) -> Result<Json<AlgorithmActivationView>, ApiError> {
    Ok(Json(rollback(&state, &auth, &input.reason).await?))
}

// ------------------------------------------------------------------ re-templating job

/// Starts the re-templating job now, under the scheduler's lease. If another run holds the lease
/// it is asked again for a while (that run also picks up any open activation before it ends);
/// with the scheduler enabled the job's own schedule (every minute) picks it up in any case.
pub fn start_retemplating(state: AppState, actor: String) {
    tokio::spawn(async move {
        for _ in 0..120 {
            match crate::scheduler::start_now(&state, RETEMPLATE_JOB, &actor, RULE).await {
                Ok(Some(_)) => return,
                Ok(None) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                Err(e) => {
                    tracing::warn!(error = %e.detail, cause = ?e.cause, "re-templating not started");
                    return;
                }
            }
        }
    });
}

/// The scheduler job: re-templates the repository for the open approved activation (resumable
/// from its checkpoint) and switches the active version when every record has a template.
pub async fn retemplate_job(state: AppState, run: JobRun) -> Result<Value, ApiError> {
    let mut outcomes = Vec::new();
    // An approval arriving while a run works is picked up by the same run.
    for _ in 0..4 {
        let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
        let open = astore::open_activation(&mut tx)
            .await
            .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        let Some(act) = open.filter(|a| a.state == "retemplating") else {
            break;
        };
        outcomes.push(retemplate(&state, &run, &act).await?);
    }
    Ok(json!({ "activations": outcomes }))
}

fn face_err(e: impl std::fmt::Display) -> FaceError {
    FaceError::Retemplate(e.to_string())
}

/// The repository's photos lacking a template of the algorithm, read through the store.
struct StoreSource {
    handle: tokio::runtime::Handle,
    store: Store,
    algorithm: String,
}

impl RetemplateSource for StoreSource {
    fn total(&mut self) -> Result<u64, FaceError> {
        let (n, _) = self
            .handle
            .block_on(async {
                let mut tx = self.store.begin_read().await?;
                let c = astore::template_coverage(&mut tx, &self.algorithm).await?;
                tx.commit().await?;
                Ok::<_, probity_store::StoreError>(c)
            })
            .map_err(face_err)?;
        Ok(n.max(0) as u64)
    }

    fn next_batch(
        &mut self,
        after: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<SourcePhoto>, FaceError> {
        let after = after.map(|r| r.0 as i64);
        let photos = self
            .handle
            .block_on(async {
                let mut tx = self.store.begin_read().await?;
                let pending =
                    astore::records_without_template(&mut tx, &self.algorithm, after, limit as i64)
                        .await?;
                let mut out = Vec::with_capacity(pending.len());
                for p in pending {
                    let bytes = self.store.blobs().get(&mut tx, p.photo_blob).await;
                    out.push((p.record_no, bytes.map_err(|e| e.to_string())));
                }
                tx.commit().await?;
                Ok::<_, probity_store::StoreError>(out)
            })
            .map_err(face_err)?;
        Ok(photos
            .into_iter()
            .map(|(record, bytes)| SourcePhoto {
                record: RecordId(record as u64),
                image: bytes.and_then(|b| {
                    probity_imaging::decode_still(&b, &probity_imaging::DecodeLimits::default())
                        .map(|d| d.image)
                        .map_err(|e| e.to_string())
                }),
            })
            .collect())
    }
}

/// Saves each batch's templates with the progress and checkpoint in one transaction; stops the
/// job when its activation is no longer being re-templated (superseded).
struct StoreSink {
    handle: tokio::runtime::Handle,
    store: Store,
    activation: Uuid,
    algorithm: String,
    stop: Arc<AtomicBool>,
    /// Records templated of the repository, for the operations page.
    tracker: crate::progress::Tracker,
}

impl RetemplateSink for StoreSink {
    fn save(
        &mut self,
        templates: Vec<RepositoryTemplate>,
        checkpoint: &Checkpoint,
    ) -> Result<(), FaceError> {
        let cp = serde_json::to_value(checkpoint).map_err(face_err)?;
        let failed = checkpoint.failed.len() as i64;
        let (kept, records, templated) = self
            .handle
            .block_on(async {
                let mut tx = self.store.begin().await?;
                for t in &templates {
                    gallery::put_template(
                        &mut tx,
                        t.record().0 as i64,
                        &t.algorithm().to_string(),
                        &t.to_stored(),
                    )
                    .await?;
                }
                let (n, done) = astore::template_coverage(&mut tx, &self.algorithm).await?;
                let kept =
                    astore::save_progress(&mut tx, self.activation, &cp, n, done, failed).await?;
                if kept {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok::<_, probity_store::StoreError>((kept, n, done))
            })
            .map_err(face_err)?;
        if !kept {
            self.stop.store(true, Ordering::Relaxed);
        } else {
            let (done, total) = (
                u64::try_from(templated).unwrap_or(0),
                u64::try_from(records).unwrap_or(0),
            );
            self.handle
                .block_on(self.tracker.advance(done, Some(total)));
        }
        Ok(())
    }
}

/// Runs one activation's re-templating to its end: the switch, or `incomplete` with the records
/// that could not be templated (searches then stay on the old version).
async fn retemplate(
    state: &AppState,
    run: &JobRun,
    act: &astore::Activation,
) -> Result<Value, ApiError> {
    let se = crate::store_error;
    let spec = crate::fr::engine::spec_of(&act.algorithm)?;
    let checkpoint: Checkpoint = act
        .checkpoint
        .clone()
        .and_then(|c| serde_json::from_value(c).ok())
        .filter(|c: &Checkpoint| c.algorithm.as_ref().is_none_or(|a| *a == spec.id()))
        .unwrap_or_default();
    let stop = Arc::new(AtomicBool::new(false));
    let handle = tokio::runtime::Handle::current();
    let mut source = StoreSource {
        handle: handle.clone(),
        store: state.store.clone(),
        algorithm: act.algorithm.clone(),
    };
    let tracker = crate::progress::Tracker::start(
        state,
        crate::progress::RETEMPLATING,
        &act.algorithm,
        &run.actor,
        None,
    )
    .await;
    let task = tracker.id();
    let mut sink = StoreSink {
        handle,
        store: state.store.clone(),
        activation: act.id,
        algorithm: act.algorithm.clone(),
        stop: stop.clone(),
        tracker,
    };
    let stop_job = stop.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let mut engine = crate::fr::engine::open_engine(spec)?;
        let mut checkpoint = checkpoint;
        // A second pass picks up records imported while the first one ran.
        for pass in 0..2 {
            if pass > 0 {
                checkpoint.finished = false;
                checkpoint.last_record = None;
                checkpoint.failed.clear();
            }
            let mut job = RetemplateJob::resume(checkpoint.clone());
            job.batch_size = 4;
            checkpoint = job
                .run(&mut engine, &mut source, &mut sink, &stop_job, &mut |_| {})
                .map_err(|e| ApiError::internal(format!("re-templating {}: {e}", spec.id())))?;
            if stop_job.load(Ordering::Relaxed) {
                break;
            }
            let (n, t) = source
                .handle
                .block_on(async {
                    let mut tx = source.store.begin_read().await?;
                    let c = astore::template_coverage(&mut tx, &source.algorithm).await?;
                    tx.commit().await?;
                    Ok::<_, probity_store::StoreError>(c)
                })
                .map_err(crate::store_error)?;
            if n - t <= checkpoint.failed.len() as i64 {
                break;
            }
        }
        Ok::<_, ApiError>((engine, checkpoint, sink.tracker))
    })
    .await
    .map_err(ApiError::internal)?;
    let (engine, checkpoint) = match outcome {
        Ok((engine, checkpoint, tracker)) => {
            tracker
                .finish(!stop.load(Ordering::Relaxed) && checkpoint.failed.is_empty())
                .await;
            (engine, checkpoint)
        }
        Err(e) => {
            crate::progress::mark_failed(state, task).await;
            return Err(e);
        }
    };
    if stop.load(Ordering::Relaxed) {
        return Ok(
            json!({ "activation": act.id.to_string(), "algorithm": act.algorithm, "outcome": "superseded" }),
        );
    }
    let now = state.clock.now();
    let mut tx = state.store.begin().await.map_err(se)?;
    let still = astore::activation(&mut tx, act.id)
        .await
        .map_err(se)?
        .is_some_and(|a| a.state == "retemplating");
    if !still {
        tx.rollback().await.map_err(se)?;
        return Ok(
            json!({ "activation": act.id.to_string(), "algorithm": act.algorithm, "outcome": "superseded" }),
        );
    }
    let (records, templated) = astore::template_coverage(&mut tx, &act.algorithm)
        .await
        .map_err(se)?;
    let current = astore::state(&mut tx).await.map_err(se)?;
    let failed: Vec<Value> = checkpoint
        .failed
        .iter()
        .map(|(r, why)| json!({ "record": r.0, "reason": why }))
        .collect();
    let switched = records == templated;
    if switched {
        astore::switch(
            &mut tx,
            &current.active,
            &act.algorithm,
            Some(act.id),
            &run.actor,
            now,
        )
        .await
        .map_err(se)?;
        astore::finish(&mut tx, act.id, "active", None, now)
            .await
            .map_err(se)?;
    } else {
        let note = format!(
            "{RULE}: {} of {records} records have no template of {}; searches stay on {}. \
             Records not templated: {}",
            records - templated,
            act.algorithm,
            current.active,
            checkpoint
                .failed
                .iter()
                .map(|(r, why)| format!("{} ({why})", r.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        astore::finish(&mut tx, act.id, "incomplete", Some(&note), now)
            .await
            .map_err(se)?;
    }
    let detail = json!({
        "rule": RULE,
        "activation": act.id.to_string(),
        "kind": act.kind,
        "from": current.active,
        "to": act.algorithm,
        "records": records,
        "templated": templated,
        "failed": failed,
        "switched": switched,
    });
    let mut e = event(
        &run.actor,
        if switched {
            "fr.algorithm.switch"
        } else {
            "fr.algorithm.retemplate.incomplete"
        },
        &act.algorithm,
        None,
        detail.clone(),
    );
    if !switched {
        e.outcome = audit::Outcome::Failed;
    }
    audit::append(&mut tx, &e).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    if switched {
        // The engine that made the templates serves the new version from now on.
        crate::fr::engine::install(state, engine).await?;
    }
    Ok(detail)
}

/// One line of progress for the operations page: the activation being re-templated.
pub async fn progress_line(tx: &mut Tx) -> Result<Option<String>, ApiError> {
    let open = astore::open_activation(tx)
        .await
        .map_err(crate::store_error)?;
    Ok(open.filter(|a| a.state == "retemplating").map(|a| {
        format!(
            "re-templating for {} ({}): {} of {} records templated, {} failed; searches use {} until it completes",
            a.algorithm, a.kind, a.templated, a.total, a.failed, a.from_algorithm
        )
    }))
}

// ------------------------------------------------------------------ page

/// The page's rows of an evaluation's figures by probe quality (FR-06).
fn quality_rows(figures: &Value) -> Vec<minijinja::Value> {
    figures["quality_buckets"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|b| {
                    context! {
                        bucket => b["bucket"].as_str().unwrap_or("").replace('_', " "),
                        probes => b["probes"].as_u64().unwrap_or(0),
                        rank1 => pct(b["rank1"].as_f64()),
                        fnir50 => pct(b["fnir_50_candidates"].as_f64()),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// "93.60 % against 11,944,958 non-mated comparisons", when the record reads TAR at FAR 0.001
/// against the 1:N split's non-mated comparisons too.
fn all_non_mated_text(figures: &Value) -> Option<String> {
    let t = &figures["tar_at_far_all_non_mated"];
    let tar = t["tar"].as_f64()?;
    let n = t["non_mated_comparisons"].as_u64()?;
    Some(format!(
        "{} against {} non-mated comparisons",
        pct(Some(tar)),
        probity_face::eval::calibration::group_thousands(n)
    ))
}

fn pct(x: Option<f64>) -> String {
    x.map(|v| format!("{:.2} %", v * 100.0))
        .unwrap_or_else(|| "—".into())
}

pub async fn page_view(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match overview(&state, &auth).await {
        Ok(view) => {
            let can_manage = crate::decision::hint(&state, &auth.principal, "fr.algorithm.manage");
            let can_approve =
                crate::decision::hint(&state, &auth.principal, "fr.algorithm.approve");
            let me = auth.principal.actor();
            let algorithms: Vec<_> = view
                .algorithms
                .iter()
                .map(|a| {
                    let e = a.evaluation.as_ref();
                    context! {
                        algorithm => a.algorithm.clone(),
                        description => a.description.clone(),
                        active => a.active,
                        previous => a.previous,
                        models_installed => a.models_installed,
                        evaluated => e.is_some(),
                        dataset => e.map(|e| e.dataset.clone()),
                        command => e.map(|e| e.command.clone()),
                        recorded => e.map(|e| format!("{} by {}", e.recorded_at, e.recorded_by)),
                        accuracy => pct(e.map(|e| e.verification_accuracy)),
                        tar => pct(e.and_then(|e| e.tar_at_far)),
                        tar_all_non_mated => e.and_then(|e| all_non_mated_text(&e.figures)),
                        rank1 => pct(e.and_then(|e| e.rank1)),
                        fnir => pct(e.and_then(|e| e.fnir_at_fpir)),
                        groups => e.map(|e| e.group_count).unwrap_or(0),
                        differential => pct(e.and_then(|e| e.group_differential)),
                        gate_met => e.is_some_and(|e| e.gate_met),
                        gate_failures => e.map(|e| e.gate_failures.clone()).unwrap_or_default(),
                        quality => e.map(|e| quality_rows(&e.figures)).unwrap_or_default(),
                    }
                })
                .collect();
            let open = view.open.as_ref().map(|o| {
                context! {
                    algorithm => o.algorithm.clone(),
                    kind => o.kind.clone(),
                    state => o.state.clone(),
                    proposed_by => o.proposed_by.clone(),
                    reason => o.reason.clone(),
                    proposed_at => o.proposed_at.clone(),
                    total => o.total,
                    templated => o.templated,
                    failed => o.failed,
                    from_algorithm => o.from_algorithm.clone(),
                    mine => o.proposed_by == me,
                }
            });
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "fr_algorithms.html",
                "/fr/algorithms",
                context! {
                    active => view.active.clone(),
                    previous => view.previous.clone(),
                    changed => format!("{} by {}", view.changed_at, view.changed_by),
                    gate => view.gate.as_ref().map(|g| context! {
                        accuracy => pct(g.min_verification_accuracy),
                        tar => pct(g.min_tar_at_far),
                        rank1 => pct(g.min_rank1),
                        fnir => pct(g.max_fnir_at_fpir),
                        differential => pct(g.max_group_differential),
                        require_groups => g.require_groups,
                    }),
                    algorithms => algorithms,
                    open => open,
                    activations => view.activations.clone(),
                    can_manage => can_manage,
                    can_approve => can_approve,
                },
            )
        }
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Deserialize)]
pub struct EvaluationForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub record: String,
}

/// A form's answer: back to the algorithms page, or the error page.
fn back_to_algorithms<T>(state: &AppState, result: Result<T, ApiError>) -> Response {
    match result {
        Ok(_) => Redirect::to("/fr/algorithms").into_response(),
        Err(e) => error_response(state, true, e),
    }
}

pub async fn evaluation_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(algorithm): Path<String>,
    FormBody(form): FormBody<EvaluationForm>,
) -> Response {
    let result = async {
        check_csrf(&headers, &form.csrf)?;
        let body = serde_json::from_str::<Value>(&form.record)
            .map_err(|e| ApiError::bad_field("record", format!("not JSON: {e}")).with_rule(RULE))?;
        record_evaluation(&state, &auth, &algorithm, body).await
    }
    .await;
    back_to_algorithms(&state, result)
}

#[derive(Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub reason: String,
    /// `approve` or `refuse` (approval forms).
    #[serde(default)]
    pub decision: String,
}

pub async fn propose_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(algorithm): Path<String>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    let result = async {
        check_csrf(&headers, &form.csrf)?;
        propose(&state, &auth, &algorithm, &form.reason).await
    }
    .await;
    back_to_algorithms(&state, result)
}

pub async fn approve_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(algorithm): Path<String>,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    let result = async {
        check_csrf(&headers, &form.csrf)?;
        let yes = form.decision != "refuse";
        approve(&state, &auth, &algorithm, yes, &form.reason).await
    }
    .await;
    back_to_algorithms(&state, result)
}

pub async fn rollback_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<ReasonForm>,
) -> Response {
    let result = async {
        check_csrf(&headers, &form.csrf)?;
        rollback(&state, &auth, &form.reason).await
    }
    .await;
    back_to_algorithms(&state, result)
}
