//! The published policy inside the application (OVR-02) and addenda before new uses (OVR-04).
//!
//! Every signed-in person reads each pack in force: the plain-language rules beside the Cedar
//! policies that cite them and the data that enforce them, the revision history, and a line
//! diff between any two recorded revisions. The Agency Privacy Officer or the policy owner
//! proposes a revision (its whole TOML and Cedar text, checked against this release's schema
//! with the rest of the packs in force: a text that does not parse or validate is refused with
//! the file, line and reason); the policy owner, never the proposer, approves it and says when
//! it takes effect. An addendum (OVR-04) is a revision of kind `addendum` that names the use it
//! records (`covers`, e.g. `fr_request:<id>` for a use not foreseen by the facial recognition
//! policy, FR-19); the use it covers proceeds only once the addendum is in force.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use minijinja::context;
use probity_domain::PolicyAddendum;
use probity_policy::{Action, PackSource, PolicyEngine, PolicyPack, Resource, RuleText};
use probity_store::audit;
use probity_store::policy_revisions::{self as store, PolicyRevision};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::extract::{FormBody, JsonBody};
use crate::policy_in_force::{pack_id_of, text_hash};
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/api/policy/packs",
        Access::action("policy.read"),
        "The policy packs in force, with the revision of each (OVR-02)",
        get(packs_api),
    )
    .add(
        M::GET,
        "/api/policy/packs/{pack}",
        Access::action("policy.read"),
        "One pack in force: rules beside their Cedar, data, revision history (OVR-02)",
        get(pack_api),
    )
    .add(
        M::GET,
        "/api/policy/packs/{pack}/diff",
        Access::action("policy.read"),
        "Line diff of a pack's TOML and Cedar between two recorded revisions (OVR-02)",
        get(diff_api),
    )
    .add(
        M::POST,
        "/api/policy/packs/{pack}/revisions",
        Access::in_handler("policy.revision.propose, policy.addendum.record"),
        "Propose a revision of a pack: its whole TOML and Cedar text (OVR-02)",
        post(propose_api),
    )
    .add(
        M::POST,
        "/api/policy/addenda",
        Access::action("policy.addendum.record"),
        "Record an addendum for a new use, to be approved by the policy owner (OVR-04)",
        post(addendum_api),
    )
    .add(
        M::GET,
        "/api/policy/revisions/{revision}",
        Access::action("policy.read"),
        "One recorded revision with its full text (OVR-02)",
        get(revision_api),
    )
    .add(
        M::POST,
        "/api/policy/revisions/{revision}/approve",
        Access::action("policy.revision.approve"),
        "Approve a proposed revision or addendum and set when it takes effect (OVR-02, OVR-04)",
        post(approve_api),
    )
    .add(
        M::POST,
        "/api/policy/revisions/{revision}/reject",
        Access::action("policy.revision.approve"),
        "Reject a proposed revision or addendum (OVR-02)",
        post(reject_api),
    )
    .add(
        M::GET,
        "/policy",
        Access::action("policy.read"),
        "The published policy packs (page)",
        get(packs_page),
    )
    .add(
        M::GET,
        "/policy/{pack}",
        Access::action("policy.read"),
        "One policy pack: rules, Cedar, data, history (page)",
        get(pack_page),
    )
    .add(
        M::GET,
        "/policy/{pack}/diff",
        Access::action("policy.read"),
        "Diff between two revisions of a pack (page)",
        get(diff_page),
    )
    .add(
        M::POST,
        "/policy/{pack}/revisions",
        Access::in_handler("policy.revision.propose, policy.addendum.record"),
        "Propose a revision (form)",
        post(propose_form),
    )
    .add(
        M::POST,
        "/policy/addenda",
        Access::action("policy.addendum.record"),
        "Record an addendum (form)",
        post(addendum_form),
    )
    .add(
        M::POST,
        "/policy/revisions/{revision}/decision",
        Access::action("policy.revision.approve"),
        "Approve or reject a revision (form)",
        post(decision_form),
    )
}

// ------------------------------------------------------------------ views

/// A pack in force, in the list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackSummary {
    pub id: String,
    pub title: String,
    pub technology: Option<String>,
    pub version: String,
    pub effective: String,
    /// The recorded revision in force (absent only before the store recorded the release).
    pub revision: Option<String>,
    /// How many rules the pack publishes.
    pub rule_count: usize,
    /// How many Cedar policies the pack holds.
    pub policy_count: usize,
}

/// One Cedar policy, as enforced.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CedarPolicyView {
    pub id: String,
    pub text: String,
}

/// A published rule and the Cedar policies (of any pack) that cite it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub id: String,
    pub title: Option<String>,
    pub text: String,
    pub policies: Vec<CedarPolicyView>,
}

/// A recorded revision without its text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionSummary {
    pub id: String,
    pub pack: String,
    pub version: String,
    pub kind: String,
    pub description: String,
    /// proposed, in_force, superseded, scheduled or rejected.
    pub status: String,
    pub covers: Option<String>,
    pub proposed_by: String,
    pub proposed_at: String,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_reason: Option<String>,
    pub effective_at: Option<String>,
}

/// A recorded revision with its text.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RevisionDetail {
    #[serde(flatten)]
    pub summary: RevisionSummary,
    pub pack_toml: String,
    pub cedar: String,
    pub sha256: String,
}

/// A history entry the pack itself carries (`[[revisions]]`), from before texts were recorded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PublishedRevisionView {
    pub date: String,
    pub kind: String,
    pub description: String,
}

/// One pack in force with everything that enforces it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackDetail {
    #[serde(flatten)]
    pub summary: PackSummary,
    pub source: String,
    pub rules: Vec<RuleView>,
    /// The pack's data as the engine reads it: roles, closed lists with their wording,
    /// retention rules and schedule, disclosure bases.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    /// The history the pack text carries.
    pub published_history: Vec<PublishedRevisionView>,
    /// Every recorded revision of the pack, oldest first.
    pub revisions: Vec<RevisionSummary>,
    pub pack_toml: String,
    pub cedar: String,
}

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DiffLine {
    /// ' ' unchanged, '+' added, '-' removed, '~' unchanged lines left out.
    pub op: String,
    pub old: Option<usize>,
    pub new: Option<usize>,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackDiff {
    pub from: RevisionSummary,
    pub to: RevisionSummary,
    pub toml: Vec<DiffLine>,
    pub cedar: Vec<DiffLine>,
    pub added: usize,
    pub removed: usize,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DiffQuery {
    /// Revision id (default: the revision before `to`).
    pub from: Option<String>,
    /// Revision id (default: the revision in force).
    pub to: Option<String>,
}

/// A proposed revision: the pack's whole new text.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ProposalInput {
    /// The new TOML text; its `[pack] version` is new and its last `[[revisions]]` entry
    /// describes the change.
    #[serde(default)]
    pub pack_toml: String,
    /// The new Cedar text.
    #[serde(default)]
    pub cedar: String,
    /// Why the change is proposed (audited).
    #[serde(default)]
    pub reason: String,
}

/// An addendum recording a new use (OVR-04).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AddendumInput {
    /// The pack it adds to, e.g. `facial-recognition`.
    #[serde(default)]
    pub pack: String,
    /// The use it records, e.g. `fr_request:<id>` for a use not foreseen by the facial
    /// recognition policy that the three officials approved (FR-19).
    #[serde(default)]
    pub covers: String,
    /// The addendum's text, as it will read in the policy's history.
    #[serde(default)]
    pub text: String,
    /// Why (audited).
    #[serde(default)]
    pub reason: String,
}

/// A decision on a proposal.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevisionDecisionInput {
    #[serde(default)]
    pub reason: String,
    /// When it takes effect (RFC 3339 or YYYY-MM-DD); now when absent or past.
    #[serde(default)]
    pub effective_at: String,
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn status_of(r: &PolicyRevision, in_force: &BTreeMap<String, Uuid>, now: DateTime<Utc>) -> String {
    match r.status.as_str() {
        "in_force" if in_force.get(&r.pack_id) == Some(&r.id) => "in_force".into(),
        "in_force" if r.effective_at.is_some_and(|t| t > now) => "scheduled".into(),
        "in_force" => "superseded".into(),
        other => other.into(),
    }
}

fn summary(
    r: &PolicyRevision,
    in_force: &BTreeMap<String, Uuid>,
    now: DateTime<Utc>,
) -> RevisionSummary {
    RevisionSummary {
        id: r.id.to_string(),
        pack: r.pack_id.clone(),
        version: r.version.clone(),
        kind: r.kind.clone(),
        description: r.description.clone(),
        status: status_of(r, in_force, now),
        covers: r.covers.clone(),
        proposed_by: r.proposed_by.clone(),
        proposed_at: r.proposed_at.to_rfc3339(),
        reason: r.reason.clone(),
        decided_by: r.decided_by.clone(),
        decided_at: r.decided_at.map(|t| t.to_rfc3339()),
        decision_reason: r.decision_reason.clone(),
        effective_at: r.effective_at.map(|t| t.to_rfc3339()),
    }
}

fn detail_of(
    r: &PolicyRevision,
    in_force: &BTreeMap<String, Uuid>,
    now: DateTime<Utc>,
) -> RevisionDetail {
    RevisionDetail {
        summary: summary(r, in_force, now),
        pack_toml: r.pack_toml.clone(),
        cedar: r.cedar.clone(),
        sha256: r.sha256.clone(),
    }
}

fn pack_summary(p: &PolicyPack, revision: Option<&Uuid>) -> PackSummary {
    PackSummary {
        id: p.id.clone(),
        title: p.title.clone(),
        technology: p.technology.map(|t| t.as_str().to_string()),
        version: p.version.clone(),
        effective: p.effective.to_string(),
        revision: revision.map(Uuid::to_string),
        rule_count: p.rules.len(),
        policy_count: p.policy_ids.len(),
    }
}

/// The text of each Cedar policy of the engine, by `@id`, cut from the pack texts.
fn cedar_by_id(engine: &PolicyEngine) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pack in engine.packs() {
        let starts: Vec<(usize, String)> = pack
            .policy_ids
            .iter()
            .filter_map(|id| {
                pack.cedar
                    .find(&format!("@id(\"{id}\")"))
                    .map(|at| (at, id.clone()))
            })
            .collect();
        for (i, (at, id)) in starts.iter().enumerate() {
            let end = starts
                .get(i + 1)
                .map_or(pack.cedar.len(), |(next, _)| *next);
            let chunk = &pack.cedar[*at..end];
            // Stop at the policy's terminating `;` (comments before the next policy are not its).
            let text = match chunk.find(";\n") {
                Some(semi) => &chunk[..=semi],
                None => chunk.trim_end(),
            };
            out.insert(id.clone(), text.to_string());
        }
    }
    out
}

/// The pack's data as the engine reads it, without the texts shown elsewhere.
fn pack_data(p: &PolicyPack) -> serde_json::Value {
    let mut v = serde_json::to_value(p).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        for k in ["cedar", "toml", "rules", "revisions", "policy_ids"] {
            o.remove(k);
        }
    }
    v
}

fn find_pack<'e>(engine: &'e PolicyEngine, id: &str) -> Result<&'e PolicyPack, ApiError> {
    engine
        .pack(id)
        .ok_or_else(|| ApiError::not_found(format!("policy pack {id}")))
}

// ------------------------------------------------------------------ reading

pub async fn packs(state: &AppState) -> Result<Vec<PackSummary>, ApiError> {
    let e = state.policy.at(state.clock.now());
    Ok(e.engine
        .packs()
        .iter()
        .map(|p| pack_summary(p, e.revisions.get(&p.id)))
        .collect())
}

pub async fn pack(state: &AppState, id: &str) -> Result<PackDetail, ApiError> {
    let now = state.clock.now();
    let e = state.policy.at(now);
    let p = find_pack(e.engine, id)?;
    let cedar = cedar_by_id(e.engine);
    // Every policy of every pack that cites one of this pack's rules stands beside it.
    let rules = p
        .rules
        .iter()
        .map(|r| RuleView {
            id: r.id.clone(),
            title: r.title.clone(),
            text: r.text.clone(),
            policies: cedar
                .iter()
                .filter(|(pid, _)| RuleText::cited_by(pid) == r.id)
                .map(|(pid, text)| CedarPolicyView {
                    id: pid.clone(),
                    text: text.clone(),
                })
                .collect(),
        })
        .collect();
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let rows = store::list(&mut tx, Some(id)).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(PackDetail {
        summary: pack_summary(p, e.revisions.get(&p.id)),
        source: p.source.clone(),
        rules,
        data: pack_data(p),
        published_history: p
            .revisions
            .iter()
            .map(|r| PublishedRevisionView {
                date: r.date.to_string(),
                kind: r.kind.as_str().to_string(),
                description: r.description.clone(),
            })
            .collect(),
        revisions: rows.iter().map(|r| summary(r, e.revisions, now)).collect(),
        pack_toml: p.toml.clone(),
        cedar: p.cedar.clone(),
    })
}

fn revision_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw.trim()).map_err(|_| ApiError::not_found(format!("policy revision {raw}")))
}

async fn load_revision(state: &AppState, raw: &str) -> Result<PolicyRevision, ApiError> {
    let id = revision_id(raw)?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let r = store::get(&mut tx, id).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    r.ok_or_else(|| ApiError::not_found(format!("policy revision {id}")))
}

pub async fn revision(state: &AppState, raw: &str) -> Result<RevisionDetail, ApiError> {
    let now = state.clock.now();
    let r = load_revision(state, raw).await?;
    Ok(detail_of(&r, state.policy.at(now).revisions, now))
}

pub async fn diff(state: &AppState, pack: &str, q: &DiffQuery) -> Result<PackDiff, ApiError> {
    let now = state.clock.now();
    let e = state.policy.at(now);
    find_pack(e.engine, pack)?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let rows = store::list(&mut tx, Some(pack)).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    let pick = |raw: &str| -> Result<&PolicyRevision, ApiError> {
        let id = revision_id(raw)?;
        rows.iter()
            .find(|r| r.id == id)
            .ok_or_else(|| ApiError::not_found(format!("revision {id} of the {pack} pack")))
    };
    let to = match q.to.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => pick(raw)?,
        None => e
            .revisions
            .get(pack)
            .and_then(|id| rows.iter().find(|r| r.id == *id))
            .or(rows.last())
            .ok_or_else(|| ApiError::not_found(format!("no recorded revision of {pack}")))?,
    };
    let from = match q.from.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(raw) => pick(raw)?,
        None => rows
            .iter()
            .take_while(|r| r.id != to.id)
            .filter(|r| r.status != "rejected")
            .last()
            .unwrap_or(to),
    };
    let toml = line_diff(&from.pack_toml, &to.pack_toml);
    let cedar = line_diff(&from.cedar, &to.cedar);
    let count = |op: &str| {
        toml.iter()
            .chain(cedar.iter())
            .filter(|l| l.op == op)
            .count()
    };
    Ok(PackDiff {
        added: count("+"),
        removed: count("-"),
        from: summary(from, e.revisions, now),
        to: summary(to, e.revisions, now),
        toml,
        cedar,
    })
}

/// Lines of unchanged context kept around each change.
const CONTEXT: usize = 3;
/// Above this many cells the texts are compared as wholes (a pack is a few hundred lines).
const MAX_CELLS: usize = 16_000_000;

/// A line diff of `a` → `b` (longest common subsequence), with unchanged runs beyond
/// [`CONTEXT`] lines of a change folded into one `~` line.
pub fn line_diff(a: &str, b: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut ops: Vec<(char, Option<usize>, Option<usize>)> = Vec::new();
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        ops.extend((0..a.len()).map(|i| ('-', Some(i), None)));
        ops.extend((0..b.len()).map(|j| ('+', None, Some(j))));
    } else {
        // lcs[i][j]: length of the LCS of a[i..] and b[j..].
        let w = b.len() + 1;
        let mut lcs = vec![0u32; (a.len() + 1) * w];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lcs[i * w + j] = if a[i] == b[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                ops.push((' ', Some(i), Some(j)));
                i += 1;
                j += 1;
            } else if j < b.len() && (i == a.len() || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j]) {
                ops.push(('+', None, Some(j)));
                j += 1;
            } else {
                ops.push(('-', Some(i), None));
                i += 1;
            }
        }
    }
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(k, _)| k)
        .collect();
    let near = |k: usize| {
        changed
            .iter()
            .any(|c| k + CONTEXT >= *c && k <= c + CONTEXT)
    };
    let mut out: Vec<DiffLine> = Vec::new();
    let mut folded = 0usize;
    for (k, (op, i, j)) in ops.iter().enumerate() {
        if *op == ' ' && !near(k) {
            folded += 1;
            continue;
        }
        if folded > 0 {
            out.push(DiffLine {
                op: "~".into(),
                old: None,
                new: None,
                text: format!("{folded} unchanged lines"),
            });
            folded = 0;
        }
        let text = match (op, i, j) {
            ('+', _, Some(j)) => b[*j],
            (_, Some(i), _) => a[*i],
            _ => "",
        };
        out.push(DiffLine {
            op: op.to_string(),
            old: i.map(|x| x + 1),
            new: j.map(|x| x + 1),
            text: text.to_string(),
        });
    }
    if folded > 0 {
        out.push(DiffLine {
            op: "~".into(),
            old: None,
            new: None,
            text: format!("{folded} unchanged lines"),
        });
    }
    out
}

// ------------------------------------------------------------------ proposing

/// The packs in force with `pack_id` replaced by the given texts, as the engine would load them.
fn check_with(
    state: &AppState,
    pack_id: &str,
    toml_text: &str,
    cedar: &str,
) -> Result<PolicyEngine, ApiError> {
    let current = state.engine();
    let sources: Vec<PackSource> = current
        .packs()
        .iter()
        .map(|p| {
            if p.id == pack_id {
                PackSource {
                    name: file_stem(p),
                    toml: toml_text.to_string(),
                    cedar: cedar.to_string(),
                }
            } else {
                PackSource {
                    name: file_stem(p),
                    toml: p.toml.clone(),
                    cedar: p.cedar.clone(),
                }
            }
        })
        .collect();
    PolicyEngine::from_packs(&sources).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy-revision-invalid",
            format!("the revision does not load: {e}"),
        )
        .with_rule("OVR-02")
    })
}

fn file_stem(p: &PolicyPack) -> String {
    crate::policy_in_force::file_stem(&p.id)
}

fn missing(rule: &str, what: &str, why: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "missing", why.to_string())
        .with_rule(rule.to_string())
        .with_missing(vec![what.to_string()])
}

/// Stores a checked proposal and audits it.
#[allow(clippy::too_many_arguments)]
async fn store_proposal(
    state: &AppState,
    auth_actor: String,
    proposer: &str,
    rule: &str,
    pack_id: &str,
    toml_text: String,
    cedar: String,
    reason: String,
    covers: Option<String>,
    now: DateTime<Utc>,
) -> Result<RevisionSummary, ApiError> {
    let engine = check_with(state, pack_id, &toml_text, &cedar)?;
    let p = find_pack(&engine, pack_id)?;
    let Some(last) = p.revisions.last() else {
        return Err(ApiError::bad_field(
            "pack_toml",
            "the pack has no [[revisions]]",
        ));
    };
    if covers.is_some() != (last.kind.as_str() == "addendum") {
        return Err(ApiError::bad_field(
            "pack_toml",
            "an addendum's last [[revisions]] entry has kind = \"addendum\" and names the use it covers; other revisions have another kind",
        )
        .with_rule("OVR-04"));
    }
    let sha = text_hash(&toml_text, &cedar);
    let mut tx = state.store.begin().await.map_err(se)?;
    let recorded = store::list(&mut tx, Some(pack_id)).await.map_err(se)?;
    if recorded
        .iter()
        .any(|r| r.version == p.version && r.status != "rejected")
    {
        return Err(ApiError::bad_field(
            "pack_toml",
            format!(
                "version {} of {pack_id} is already recorded: give the revision a new [pack] version",
                p.version
            ),
        )
        .with_rule("OVR-02"));
    }
    if recorded
        .iter()
        .any(|r| r.sha256 == sha && r.status != "rejected")
    {
        return Err(ApiError::conflict(format!(
            "this exact text of {pack_id} is already recorded"
        )));
    }
    let row = PolicyRevision {
        id: Uuid::now_v7(),
        pack_id: pack_id.to_string(),
        version: p.version.clone(),
        kind: last.kind.as_str().to_string(),
        description: last.description.clone(),
        pack_toml: toml_text,
        cedar,
        sha256: sha,
        covers,
        status: "proposed".into(),
        proposed_by: proposer.to_string(),
        proposed_at: now,
        reason: reason.clone(),
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        effective_at: None,
    };
    store::insert(&mut tx, &row).await.map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth_actor,
            action: if row.kind == "addendum" {
                "policy.addendum.record".into()
            } else {
                "policy.revision.propose".into()
            },
            record_type: "policy_revision".into(),
            record_id: row.id.to_string(),
            reason: Some(reason),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule, "pack": row.pack_id, "version": row.version,
                "kind": row.kind, "covers": row.covers, "sha256": row.sha256,
            }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(summary(&row, &BTreeMap::new(), now))
}

pub async fn propose(
    state: &AppState,
    signed_in: &SignedIn,
    pack_id: &str,
    input: ProposalInput,
    now: DateTime<Utc>,
) -> Result<RevisionSummary, ApiError> {
    let p = &signed_in.0;
    find_pack(state.engine(), pack_id)?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        return Err(missing(
            "OVR-02",
            "reason",
            "say why the policy changes (audited)",
        ));
    }
    if pack_id_of(&input.pack_toml).as_deref() != Some(pack_id) {
        // Parse errors are reported with their line by the full check below.
        if toml::from_str::<toml::Value>(&input.pack_toml).is_ok() {
            return Err(ApiError::bad_field(
                "pack_toml",
                format!("the text's [pack] id must be {pack_id}"),
            ));
        }
    }
    // Addenda go through /api/policy/addenda, which names the use they cover.
    let rule = crate::decision::require(
        state,
        p,
        Action::PolicyRevisionPropose,
        &Resource::System,
        "policy_pack",
        pack_id,
    )
    .await?;
    store_proposal(
        state,
        p.actor(),
        &p.user.username,
        &rule,
        pack_id,
        input.pack_toml,
        input.cedar,
        reason,
        None,
        now,
    )
    .await
}

/// The TOML text of `p` with a new `[pack] version`, the effective date `date` and a last
/// `[[revisions]]` entry of kind addendum with `text`.
fn with_addendum(
    p: &PolicyPack,
    version: &str,
    date: NaiveDate,
    text: &str,
) -> Result<String, ApiError> {
    let quoted = toml::Value::String(text.to_string()).to_string();
    let mut out = String::with_capacity(p.toml.len() + text.len() + 128);
    let (mut version_done, mut effective_done, mut entry_done) = (false, false, false);
    for line in p.toml.lines() {
        let t = line.trim_start();
        if !version_done && t.starts_with("version") && t.contains('=') {
            out.push_str(&format!("version = \"{version}\"\n"));
            version_done = true;
            continue;
        }
        if !effective_done && t.starts_with("effective") && t.contains('=') {
            out.push_str(&format!("effective = {date}\n"));
            effective_done = true;
            continue;
        }
        if !entry_done && t.starts_with("[[roles]]") {
            out.push_str(&format!(
                "[[revisions]]\ndate = {date}\nkind = \"addendum\"\ndescription = {quoted}\n\n"
            ));
            entry_done = true;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !(version_done && effective_done && entry_done) {
        return Err(ApiError::internal(format!(
            "the {} pack text has no version, effective date or [[roles]] to place an addendum",
            p.id
        )));
    }
    Ok(out)
}

/// The next version of a pack: its number plus one, or the date (with a suffix when taken).
fn next_version(current: &str, date: NaiveDate, taken: &[String]) -> String {
    if let Ok(n) = current.parse::<u32>() {
        let mut k = n + 1;
        while taken.iter().any(|t| *t == k.to_string()) {
            k += 1;
        }
        return k.to_string();
    }
    let base = date.format("%Y.%m.%d").to_string();
    if !taken.contains(&base) && base != current {
        return base;
    }
    (2..)
        .map(|n| format!("{base}.{n}"))
        .find(|v| !taken.iter().any(|t| t == v) && v != current)
        .unwrap_or(base)
}

/// New uses other than an FR request's: the `covers` prefix, the pack that records them, what
/// they are, and the uses the policy lists already.
type ListedUses = fn() -> Vec<&'static str>;
const NEW_USES: &[(&str, &str, &str, ListedUses)] = &[
    (
        THERMAL_BASIS,
        "thermographic-cameras",
        "thermal deployment basis",
        || {
            probity_domain::ThermalBasis::ALL
                .iter()
                .map(|b| b.as_str())
                .collect()
        },
    ),
    (
        CAMERA_PURPOSE,
        "digital-cameras",
        "purpose of camera images",
        || {
            probity_domain::DcPurpose::ALL
                .iter()
                .map(|p| p.as_str())
                .collect()
        },
    ),
];

/// `covers` of an addendum recording a new thermal deployment basis.
pub const THERMAL_BASIS: &str = "thermal_basis:";
/// `covers` of an addendum recording a new purpose of camera images.
pub const CAMERA_PURPOSE: &str = "camera_purpose:";

/// What an addendum's `covers` names, checked: a use not foreseen by the facial recognition
/// policy that the three officials approved (FR-19), or a new thermal deployment basis or
/// camera purpose.
async fn check_covers(state: &AppState, pack_id: &str, covers: &str) -> Result<String, ApiError> {
    let covers = covers.trim();
    for (prefix, pack, what, listed) in NEW_USES {
        let Some(code) = covers.strip_prefix(prefix) else {
            continue;
        };
        if pack_id != *pack {
            return Err(ApiError::bad_field(
                "pack",
                format!("a new {what} is recorded in the {pack} pack"),
            )
            .with_rule("OVR-04"));
        }
        let code =
            probity_domain::NewUse::parse_code("covers", code).map_err(crate::domain_error)?;
        if listed().contains(&code.as_str()) {
            return Err(ApiError::bad_field(
                "covers",
                format!(
                    "{code} is a {what} the policy already lists: there is no new use to record"
                ),
            )
            .with_rule("OVR-04"));
        }
        return Ok(format!("{prefix}{code}"));
    }
    let Some(raw) = covers.strip_prefix("fr_request:") else {
        return Err(ApiError::bad_field(
            "covers",
            "name the use the addendum records: fr_request:<id> (a use not foreseen by the facial \
             recognition policy, FR-19), thermal_basis:<code> (a new deployment basis) or \
             camera_purpose:<code> (a new purpose of camera images)",
        )
        .with_rule("OVR-04"));
    };
    if pack_id != "facial-recognition" {
        return Err(ApiError::bad_field(
            "pack",
            "a use of facial recognition is recorded in the facial-recognition pack",
        )
        .with_rule("OVR-04"));
    }
    let l = crate::fr::workflow::load(state, raw).await.map_err(|_| {
        ApiError::bad_field("covers", format!("no FR request {}", raw.trim())).with_rule("OVR-04")
    })?;
    let Some(u) = &l.req.unforeseen_use else {
        return Err(ApiError::bad_field(
            "covers",
            "this request cites a listed authorized use: there is no new use to record",
        )
        .with_rule("OVR-04"));
    };
    u.check_officials().map_err(crate::domain_error)?;
    Ok(format!("fr_request:{}", l.stored.id))
}

pub async fn record_addendum(
    state: &AppState,
    auth: &Authorized,
    input: AddendumInput,
    now: DateTime<Utc>,
) -> Result<RevisionSummary, ApiError> {
    let mut absent = Vec::new();
    for (name, v) in [
        ("pack", &input.pack),
        ("covers", &input.covers),
        ("text", &input.text),
        ("reason", &input.reason),
    ] {
        if v.trim().is_empty() {
            absent.push(name.to_string());
        }
    }
    if !absent.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "an addendum names its pack, the use it records, its text and why",
        )
        .with_rule("OVR-04")
        .with_missing(absent));
    }
    let pack_id = input.pack.trim();
    let engine = state.engine();
    let p = find_pack(engine, pack_id)?;
    let covers = check_covers(state, pack_id, &input.covers).await?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let taken: Vec<String> = store::list(&mut tx, Some(pack_id))
        .await
        .map_err(se)?
        .into_iter()
        .filter(|r| r.status != "rejected")
        .map(|r| r.version)
        .collect();
    let existing = store::addendum_for(&mut tx, &covers).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    if let Some(a) = existing {
        return Err(ApiError::conflict(format!(
            "addendum {} of {} already records this use",
            a.version, a.pack_id
        ))
        .with_rule("OVR-04"));
    }
    let date = now.date_naive();
    let version = next_version(&p.version, date, &taken);
    let text = format!("{} (records {covers})", input.text.trim());
    let toml_text = with_addendum(p, &version, date, &text)?;
    store_proposal(
        state,
        auth.principal.actor(),
        &auth.principal.user.username,
        &auth.rule,
        pack_id,
        toml_text,
        p.cedar.clone(),
        input.reason.trim().to_string(),
        Some(covers),
        now,
    )
    .await
}

// ------------------------------------------------------------------ deciding

fn parse_effective(raw: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(now);
    }
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        t.with_timezone(&Utc)
    } else {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map_err(|_| {
                ApiError::bad_field(
                    "effective_at",
                    format!("{raw:?}: give YYYY-MM-DD or an RFC 3339 time"),
                )
            })?
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
    };
    Ok(t.max(now))
}

pub async fn decide(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    approve: bool,
    input: RevisionDecisionInput,
    now: DateTime<Utc>,
) -> Result<RevisionSummary, ApiError> {
    let r = load_revision(state, raw).await?;
    let reason = input.reason.trim().to_string();
    if reason.is_empty() {
        return Err(missing("OVR-02", "reason", "say why (audited)"));
    }
    if r.status != "proposed" {
        return Err(ApiError::conflict(format!(
            "revision {} of {} is not awaiting a decision ({})",
            r.version, r.pack_id, r.status
        )));
    }
    if r.proposed_by == auth.principal.user.username {
        state
            .audit_denial(
                &auth.principal,
                "policy.revision.approve",
                "policy_revision",
                &r.id.to_string(),
                "OVR-02.proposer-never-approves",
            )
            .await?;
        return Err(ApiError::forbidden(
            "OVR-02",
            "you proposed this revision: another person, the policy owner, decides on it",
        ));
    }
    let effective_at = if approve {
        // Checked again against the packs in force now: another revision may have taken effect.
        check_with(state, &r.pack_id, &r.pack_toml, &r.cedar)?;
        Some(parse_effective(&input.effective_at, now)?)
    } else {
        None
    };
    let mut tx = state.store.begin().await.map_err(se)?;
    store::decide(
        &mut tx,
        r.id,
        approve,
        &auth.principal.user.username,
        now,
        &reason,
        effective_at,
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: if approve {
                "policy.revision.approve".into()
            } else {
                "policy.revision.reject".into()
            },
            record_type: "policy_revision".into(),
            record_id: r.id.to_string(),
            reason: Some(reason),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule, "pack": r.pack_id, "version": r.version, "kind": r.kind,
                "covers": r.covers, "effective_at": effective_at.map(|t| t.to_rfc3339()),
            }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    if approve {
        state
            .policy
            .reload(&state.store, now)
            .await
            .map_err(|e| ApiError::internal(format!("reloading the policy in force: {e}")))?;
    }
    let r = load_revision(state, &r.id.to_string()).await?;
    Ok(summary(&r, state.policy.at(now).revisions, now))
}

/// The addendum in force that records `covers` (OVR-04), for the workflow it unblocks.
pub async fn addendum_for(
    state: &AppState,
    covers: &str,
) -> Result<Option<PolicyAddendum>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let a = store::addendum_for(&mut tx, covers).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(a.filter(|a| a.effective_at.is_some_and(|t| t <= now))
        .map(|a| PolicyAddendum {
            revision: a.id.to_string(),
            pack: a.pack_id,
            version: a.version,
        }))
}

/// The new uses under `prefix` ([`THERMAL_BASIS`], [`CAMERA_PURPOSE`]) whose addendum is in
/// force now, by code: what a form offers beside the listed uses.
pub async fn new_uses_in_force(
    state: &AppState,
    prefix: &str,
) -> Result<Vec<(String, PolicyAddendum)>, ApiError> {
    let now = state.clock.now();
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let rows = store::addenda_in_force(&mut tx, prefix).await.map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(rows
        .into_iter()
        .filter(|a| a.effective_at.is_some_and(|t| t <= now))
        .filter_map(|a| {
            let code = a.covers.as_deref()?.strip_prefix(prefix)?.to_string();
            Some((
                code,
                PolicyAddendum {
                    revision: a.id.to_string(),
                    pack: a.pack_id,
                    version: a.version,
                },
            ))
        })
        .collect())
}

/// A listed use, or a new one with the addendum in force that records it (none yet: the domain
/// then refuses it naming OVR-04).
pub async fn resolve_use<T: Copy + std::str::FromStr + Into<&'static str>>(
    state: &AppState,
    field: &'static str,
    prefix: &str,
    text: &str,
) -> Result<probity_domain::UseOf<T>, ApiError> {
    use probity_domain::UseOf;
    match UseOf::<T>::parse(field, text).map_err(crate::domain_error)? {
        UseOf::New(mut n) => {
            n.addendum = addendum_for(state, &format!("{prefix}{}", n.code)).await?;
            Ok(UseOf::New(n))
        }
        listed => Ok(listed),
    }
}

// ------------------------------------------------------------------ JSON routes

pub async fn packs_api(
    State(state): State<AppState>,
    _auth: Authorized,
) -> Result<Json<Vec<PackSummary>>, ApiError> {
    Ok(Json(packs(&state).await?))
}

pub async fn pack_api(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(id): Path<String>,
) -> Result<Json<PackDetail>, ApiError> {
    Ok(Json(pack(&state, &id).await?))
}

pub async fn diff_api(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<PackDiff>, ApiError> {
    Ok(Json(diff(&state, &id, &q).await?))
}

pub async fn revision_api(
    State(state): State<AppState>,
    _auth: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<RevisionDetail>, ApiError> {
    Ok(Json(revision(&state, &raw).await?))
}

pub async fn propose_api(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<ProposalInput>,
) -> Result<(StatusCode, Json<RevisionSummary>), ApiError> {
    let now = state.clock.now();
    Ok((
        StatusCode::CREATED,
        Json(propose(&state, &signed_in, &id, input, now).await?),
    ))
}

pub async fn addendum_api(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<AddendumInput>,
) -> Result<(StatusCode, Json<RevisionSummary>), ApiError> {
    let now = state.clock.now();
    Ok((
        StatusCode::CREATED,
        Json(record_addendum(&state, &auth, input, now).await?),
    ))
}

pub async fn approve_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<RevisionDecisionInput>,
) -> Result<Json<RevisionSummary>, ApiError> {
    let now = state.clock.now();
    Ok(Json(decide(&state, &auth, &raw, true, input, now).await?))
}

pub async fn reject_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<RevisionDecisionInput>,
) -> Result<Json<RevisionSummary>, ApiError> {
    let now = state.clock.now();
    Ok(Json(decide(&state, &auth, &raw, false, input, now).await?))
}

// ------------------------------------------------------------------ pages

pub async fn packs_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match packs(&state).await {
        Ok(rows) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "policy_packs.html",
            "/policy",
            context! { packs => rows },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn pack_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let p = &auth.principal;
    match pack(&state, &id).await {
        Ok(detail) => page(
            &state,
            &headers,
            Some(p),
            "policy_pack.html",
            "/policy",
            context! {
                data_json => serde_json::to_string_pretty(&detail.data).unwrap_or_default(),
                pack => detail,
                can_propose => crate::decision::hint(&state, p, "policy.revision.propose"),
                can_addendum => crate::decision::hint(&state, p, "policy.addendum.record"),
                can_decide => crate::decision::hint(&state, p, "policy.revision.approve"),
                me => p.user.username.clone(),
            },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn diff_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Response {
    let result = async {
        let d = diff(&state, &id, &q).await?;
        let detail = pack(&state, &id).await?;
        Ok::<_, ApiError>((d, detail.revisions))
    }
    .await;
    match result {
        Ok((d, revisions)) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "policy_diff.html",
            "/policy",
            context! { pack => id, diff => d, revisions => revisions },
        ),
        Err(e) => error_response(&state, true, e),
    }
}

/// The answer to a policy form: back to the pack's history, or the error page.
fn to_history(state: &AppState, result: Result<String, ApiError>) -> Response {
    match result {
        Ok(pack) => Redirect::to(&format!("/policy/{pack}#history")).into_response(),
        Err(e) => error_response(state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ProposalForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pack_toml: String,
    #[serde(default)]
    cedar: String,
    #[serde(default)]
    reason: String,
}

pub async fn propose_form(
    State(state): State<AppState>,
    signed_in: SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    FormBody(f): FormBody<ProposalForm>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        check_csrf(&headers, &f.csrf)?;
        propose(
            &state,
            &signed_in,
            &id,
            ProposalInput {
                pack_toml: f.pack_toml.replace("\r\n", "\n"),
                cedar: f.cedar.replace("\r\n", "\n"),
                reason: f.reason,
            },
            now,
        )
        .await
    }
    .await;
    to_history(&state, result.map(|_| id))
}

#[derive(Debug, Default, Deserialize)]
pub struct AddendumForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    pack: String,
    #[serde(default)]
    covers: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    reason: String,
}

pub async fn addendum_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(f): FormBody<AddendumForm>,
) -> Response {
    let now = state.clock.now();
    let pack = f.pack.trim().to_string();
    let result = async {
        check_csrf(&headers, &f.csrf)?;
        record_addendum(
            &state,
            &auth,
            AddendumInput {
                pack: f.pack,
                covers: f.covers,
                text: f.text,
                reason: f.reason,
            },
            now,
        )
        .await
    }
    .await;
    to_history(&state, result.map(|_| pack))
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    effective_at: String,
}

pub async fn decision_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(f): FormBody<DecisionForm>,
) -> Response {
    let now = state.clock.now();
    let result = async {
        check_csrf(&headers, &f.csrf)?;
        let approve = match f.decision.as_str() {
            "approve" => true,
            "reject" => false,
            other => {
                return Err(ApiError::bad_field(
                    "decision",
                    format!("{other:?}: approve or reject"),
                ))
            }
        };
        decide(
            &state,
            &auth,
            &raw,
            approve,
            RevisionDecisionInput {
                reason: f.reason,
                effective_at: f.effective_at,
            },
            now,
        )
        .await
    }
    .await;
    to_history(&state, result.map(|r| r.pack))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(d: &[DiffLine]) -> String {
        d.iter().map(|l| l.op.as_str()).collect()
    }

    #[test]
    fn ovr_02_line_diff_marks_changes_and_folds_context() {
        let a = (1..=20)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let b = a.replace("line 10", "line ten").replace("line 20\n", "") + "\nline 21";
        let d = line_diff(&a, &b);
        assert!(d
            .iter()
            .any(|l| l.op == "-" && l.text == "line 10" && l.old == Some(10)));
        assert!(d
            .iter()
            .any(|l| l.op == "+" && l.text == "line ten" && l.new == Some(10)));
        assert!(d.iter().any(|l| l.op == "+" && l.text == "line 21"));
        // Unchanged lines far from a change are folded.
        assert!(d
            .first()
            .is_some_and(|l| l.op == "~" && l.text == "6 unchanged lines"));
        assert_eq!(line_diff(&a, &a).len(), 1, "{:?}", ops(&line_diff(&a, &a)));
        assert_eq!(ops(&line_diff("", "x")), "+");
    }

    #[test]
    fn ovr_04_next_version_is_new() {
        let d = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap_or_default();
        assert_eq!(next_version("4", d, &["4".into(), "5".into()]), "6");
        assert_eq!(next_version("2026.12.04", d, &[]), "2026.12.05");
        assert_eq!(
            next_version("2026.12.05", d, &["2026.12.05".into()]),
            "2026.12.05.2"
        );
    }
}
