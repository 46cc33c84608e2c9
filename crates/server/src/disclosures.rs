//! Disclosures of identifying information outside the Department (EXT-01..EXT-04).
//!
//! A disclosure is a record: the recipient and their organisation, the evidence items, the
//! purpose, one basis from the pack's closed list with its wording, and how the requester's
//! identity was confirmed and by whom. Case staff propose it on their case; the Agency Privacy
//! Officer approves or rejects it, never the proposer (`EXT-03.no-self-approval`); the records
//! officer releases it. Nothing leaves before approval: the package exists only once released,
//! as the signed manifest with hashes that discovery uses (DC-07), so `probity discovery verify`
//! checks it. A purpose of civil immigration enforcement is refused whatever the basis (EXT-02).
//! Every decision is made on the very disclosure (its case's command and investigator, its
//! proposer) and every step is audited.

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::{DateTime, Utc};
use minijinja::context;
use probity_domain::{
    DisclosureBasis, DisclosurePurpose, DisclosureRequest, RecipientKind, UserId,
};
use probity_policy::{Action, Resource};
use probity_store::disclosures as dstore;
use probity_store::{audit, cases, evidence, Tx};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::authz::SignedIn;
use crate::decision;
use crate::error::ApiError;
use crate::evidence::discovery;
use crate::extract::{FormBody, JsonBody};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::POST,
        "/api/cases/{case}/disclosures",
        Access::in_handler("disclosure.create"),
        "Propose a disclosure of the case's evidence outside the Department: recipient, purpose, basis, identity confirmation (EXT-01..EXT-04)",
        post(propose_api),
    )
    .add(
        M::GET,
        "/api/disclosures",
        Access::rows("disclosure.read"),
        "Disclosures the caller may read, newest first (EXT-01)",
        get(list_api),
    )
    .add(
        M::GET,
        "/api/disclosures/{disclosure}",
        Access::in_handler("disclosure.read"),
        "One disclosure with its basis wording, decision and release log (EXT-01..EXT-04)",
        get(get_api),
    )
    .add(
        M::POST,
        "/api/disclosures/{disclosure}/approve",
        Access::in_handler("disclosure.approve"),
        "Approve a proposed disclosure as Agency Privacy Officer; never the proposer (EXT-03)",
        post(approve_api),
    )
    .add(
        M::POST,
        "/api/disclosures/{disclosure}/reject",
        Access::in_handler("disclosure.approve"),
        "Reject a proposed disclosure with a reason (EXT-03)",
        post(reject_api),
    )
    .add(
        M::POST,
        "/api/disclosures/{disclosure}/release",
        Access::in_handler("disclosure.release"),
        "Release an approved disclosure: the signed manifest with hashes is recorded (EXT-01)",
        post(release_api),
    )
    .add(
        M::GET,
        "/api/disclosures/{disclosure}/package",
        Access::in_handler("disclosure.release"),
        "The released package (.tar: signed manifest and originals), verifiable with probity discovery verify",
        get(package_api),
    )
    .add(
        M::GET,
        "/disclosures",
        Access::rows("disclosure.read"),
        "Disclosures: propose, approve, reject, release (page)",
        get(disclosures_page),
    )
    .add(
        M::POST,
        "/disclosures",
        Access::in_handler("disclosure.create"),
        "Propose a disclosure (form)",
        post(propose_form),
    )
    .add(
        M::POST,
        "/disclosures/{disclosure}/approve",
        Access::in_handler("disclosure.approve"),
        "Approve a disclosure (form)",
        post(approve_form),
    )
    .add(
        M::POST,
        "/disclosures/{disclosure}/reject",
        Access::in_handler("disclosure.approve"),
        "Reject a disclosure (form)",
        post(reject_form),
    )
    .add(
        M::POST,
        "/disclosures/{disclosure}/release",
        Access::in_handler("disclosure.release"),
        "Release a disclosure (form)",
        post(release_form),
    )
}

// ------------------------------------------------------------------ inputs and views

/// A disclosure to propose.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DisclosureInput {
    /// prosecutor, law_enforcement_agency, city_agency, other_government_agency,
    /// community_leader, civic_organization, news_media or individual.
    #[serde(default)]
    pub recipient_kind: String,
    #[serde(default)]
    pub recipient_name: String,
    #[serde(default)]
    pub recipient_affiliation: String,
    /// Why the information leaves (required; civil immigration enforcement is refused, EXT-02).
    #[serde(default)]
    pub purpose: String,
    /// Whether the items carry identifying information (EXT-03 applies); default true.
    pub identifying_information: Option<bool>,
    /// One of the seven bases (EXT-03).
    pub basis: Option<String>,
    /// The reference the basis needs: the written authorization, the CPO pre-approval, the
    /// routine designation or the investigation.
    pub basis_reference: Option<String>,
    /// How the requester's identity and affiliation were confirmed (EXT-04); the proposer is
    /// recorded as the one who confirmed it.
    #[serde(default)]
    pub identity_confirmation: String,
    /// Evidence item ids of the case; all of the case's items when empty.
    #[serde(default)]
    pub items: Vec<String>,
}

/// A decision on a proposal.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DisclosureDecision {
    /// Why (required to reject; recorded with an approval).
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisclosureView {
    pub id: String,
    pub case_number: String,
    /// proposed, approved, rejected or released.
    pub status: String,
    pub recipient_kind: String,
    pub recipient_name: String,
    pub recipient_affiliation: String,
    pub purpose: String,
    pub identifying_information: bool,
    pub basis: Option<String>,
    pub basis_number: Option<u8>,
    /// The basis as the policy words it.
    pub basis_wording: Option<String>,
    pub basis_reference: Option<String>,
    pub identity_confirmation: String,
    pub identity_confirmed_by: String,
    pub items: Vec<String>,
    pub proposed_by: String,
    pub proposed_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
    pub released_by: Option<String>,
    pub released_at: Option<String>,
    /// SHA-256 of the signed manifest (the release log).
    pub manifest_sha256: Option<String>,
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn basis_wording(state: &AppState, basis: DisclosureBasis) -> Option<(Option<u8>, String)> {
    state
        .engine()
        .packs()
        .iter()
        .flat_map(|p| p.disclosure_bases.iter())
        .find(|w| w.key == basis)
        .map(|w| (w.number, w.wording.clone()))
}

fn view(state: &AppState, d: &dstore::Disclosure, confirmed_by: &str) -> DisclosureView {
    let worded = d
        .basis
        .as_deref()
        .and_then(|b| DisclosureBasis::from_str(b).ok())
        .and_then(|b| basis_wording(state, b));
    DisclosureView {
        id: d.id.to_string(),
        case_number: d.case_number.clone(),
        status: d.status.clone(),
        recipient_kind: d.recipient_kind.clone(),
        recipient_name: d.recipient_name.clone(),
        recipient_affiliation: d.recipient_affiliation.clone(),
        purpose: d.purpose.clone(),
        identifying_information: d.identifying,
        basis: d.basis.clone(),
        basis_number: worded.as_ref().and_then(|(n, _)| *n),
        basis_wording: worded.map(|(_, w)| w),
        basis_reference: d.basis_reference.clone(),
        identity_confirmation: d.identity_method.clone(),
        identity_confirmed_by: confirmed_by.to_string(),
        items: d.items.iter().map(Uuid::to_string).collect(),
        proposed_by: d.proposed_by_username.clone(),
        proposed_at: d.proposed_at.to_rfc3339(),
        decided_by: d.decided_by_username.clone(),
        decided_at: d.decided_at.map(|t| t.to_rfc3339()),
        decision_note: d.decision_note.clone(),
        released_by: d.released_by_username.clone(),
        released_at: d.released_at.map(|t| t.to_rfc3339()),
        manifest_sha256: d.manifest_sha256.clone(),
    }
}

/// The engine's resource for a disclosure: its case (command, investigator, political flag)
/// and its proposer.
pub(crate) fn resource(
    case: &cases::Case,
    id: Uuid,
    proposed_by: Uuid,
) -> Result<Resource, ApiError> {
    let case_ref = decision::case_ref(case).ok_or_else(|| {
        ApiError::internal(format!("case {} has no valid command", case.case_number))
    })?;
    Ok(Resource::Disclosure {
        id: id.to_string(),
        case: case_ref,
        created_by: UserId(proposed_by),
    })
}

async fn case_by_id(tx: &mut Tx, id: Uuid) -> Result<cases::Case, ApiError> {
    cases::get(tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::internal(format!("the case {id} of a disclosure is missing")))
}

/// Loads a disclosure and decides `action` on it; a refusal is audited and answered 403, a
/// disclosure the caller may not even read answers 404 like a missing one.
async fn load_decided(
    state: &AppState,
    p: &Principal,
    raw: &str,
    action: Action,
) -> Result<(dstore::Disclosure, cases::Case, String), ApiError> {
    let id = Uuid::parse_str(raw.trim())
        .map_err(|_| ApiError::not_found(format!("disclosure {raw}")))?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let d = dstore::get(&mut tx, id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disclosure {id}")))?;
    let case = case_by_id(&mut tx, d.case_id).await?;
    tx.commit().await.map_err(se)?;
    let r = resource(&case, d.id, d.proposed_by)?;
    if action != Action::DisclosureRead
        && !decision::decide_for(state, p, Action::DisclosureRead, &r).allowed
        && !decision::decide_for(state, p, action, &r).allowed
    {
        state
            .audit_denial(p, action.as_str(), "disclosure", &id.to_string(), "SEC-02")
            .await?;
        return Err(ApiError::not_found(format!("disclosure {id}")));
    }
    let rule = decision::require(state, p, action, &r, "disclosure", &id.to_string())
        .await
        .map_err(|e| {
            if action == Action::DisclosureRead {
                ApiError::not_found(format!("disclosure {id}"))
            } else {
                e
            }
        })?;
    Ok((d, case, rule))
}

async fn username(tx: &mut Tx, id: Uuid) -> Result<String, ApiError> {
    Ok(probity_store::users::get(tx, id)
        .await
        .map_err(se)?
        .map(|u| u.username)
        .unwrap_or_else(|| id.to_string()))
}

async fn view_of(state: &AppState, d: &dstore::Disclosure) -> Result<DisclosureView, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let by = username(&mut tx, d.identity_confirmed_by).await?;
    tx.commit().await.map_err(se)?;
    Ok(view(state, d, &by))
}

fn parse_kind<T: FromStr>(field: &'static str, raw: &str, list: &str) -> Result<T, ApiError> {
    T::from_str(raw.trim())
        .map_err(|_| ApiError::bad_field(field, format!("{:?}: give one of {list}", raw.trim())))
}

// ------------------------------------------------------------------ the steps

pub async fn propose(
    state: &AppState,
    p: &Principal,
    case_number: &str,
    input: DisclosureInput,
    now: DateTime<Utc>,
) -> Result<DisclosureView, ApiError> {
    let case = state
        .load_case(case_number.trim())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("case {case_number}")))?;
    let id = Uuid::now_v7();
    // Decided first, on the disclosure as it would be stored: its case and its proposer.
    let r = resource(&case, id, p.person.id.0)?;
    let rule = decision::require(
        state,
        p,
        Action::DisclosureCreate,
        &r,
        "case",
        &case.case_number,
    )
    .await?;

    // EXT-02 first, whatever else the request says.
    if input.purpose.trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "a disclosure states its purpose (EXT-01, EXT-02)",
        )
        .with_rule("EXT-02")
        .with_missing(vec!["purpose".into()]));
    }
    let purpose: DisclosurePurpose = parse_kind(
        "purpose",
        &input.purpose,
        &DisclosurePurpose::ALL
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    if let Err(e) = purpose.check_not_immigration() {
        let err = crate::domain_error(e);
        state
            .audit_denial(p, "disclosure.create", "case", &case.case_number, "EXT-02")
            .await?;
        return Err(err);
    }
    let recipient_kind: RecipientKind = parse_kind(
        "recipient_kind",
        &input.recipient_kind,
        &RecipientKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    )?;
    let basis = input
        .basis
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| {
            parse_kind::<DisclosureBasis>(
                "basis",
                b,
                &DisclosureBasis::ALL
                    .iter()
                    .map(|b| b.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
        .transpose()?;
    let reference = input
        .basis_reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from);
    let identity = input.identity_confirmation.trim().to_string();
    let identifying = input.identifying_information.unwrap_or(true);
    let request = DisclosureRequest {
        recipient_kind,
        recipient_name: input.recipient_name.trim().to_string(),
        recipient_affiliation: input.recipient_affiliation.trim().to_string(),
        identity_confirmed_by: (!identity.is_empty()).then_some(p.person.id),
        purpose,
        identifying_information: identifying,
        basis,
        apo_approval_by: None,
        individual_authorization_reference: reference.clone(),
        cpo_pre_approval_reference: reference.clone(),
        routine_designation_reference: reference.clone(),
        investigation_reference: reference.clone(),
    };
    request.validate_proposal().map_err(crate::domain_error)?;

    let mut tx = state.store.begin().await.map_err(se)?;
    let all = evidence::items_for_case(&mut tx, case.id)
        .await
        .map_err(se)?;
    let items: Vec<Uuid> = if input.items.iter().all(|i| i.trim().is_empty()) {
        all.iter().map(|i| i.id).collect()
    } else {
        let of_case: BTreeSet<Uuid> = all.iter().map(|i| i.id).collect();
        let mut chosen = Vec::new();
        for raw in input.items.iter().filter(|i| !i.trim().is_empty()) {
            let id = Uuid::parse_str(raw.trim())
                .ok()
                .filter(|id| of_case.contains(id))
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "items",
                        format!("{raw} is not evidence of case {}", case.case_number),
                    )
                })?;
            if !chosen.contains(&id) {
                chosen.push(id);
            }
        }
        chosen
    };
    if items.is_empty() {
        return Err(ApiError::bad_field(
            "items",
            format!("case {} has no evidence to disclose", case.case_number),
        ));
    }
    let d = dstore::Disclosure {
        id,
        case_id: case.id,
        case_number: case.case_number.clone(),
        status: "proposed".into(),
        recipient_kind: recipient_kind.as_str().into(),
        recipient_name: request.recipient_name.clone(),
        recipient_affiliation: request.recipient_affiliation.clone(),
        purpose: purpose.as_str().into(),
        identifying,
        basis: basis.map(|b| b.as_str().to_string()),
        basis_reference: reference,
        identity_method: identity,
        identity_confirmed_by: p.person.id.0,
        items,
        proposed_by: p.person.id.0,
        proposed_by_username: p.user.username.clone(),
        proposed_at: now,
        decided_by: None,
        decided_by_username: None,
        decided_at: None,
        decision_note: None,
        released_by: None,
        released_by_username: None,
        released_at: None,
        manifest: None,
        manifest_sha256: None,
        signature: None,
    };
    dstore::propose(&mut tx, &d).await.map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "disclosure.propose".into(),
            record_type: "disclosure".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule, "case": case.case_number, "recipient": d.recipient_name,
                "recipient_kind": d.recipient_kind, "purpose": d.purpose, "basis": d.basis,
                "items": d.items.len(),
            }),
        },
    )
    .await
    .map_err(se)?;
    tx.commit().await.map_err(se)?;
    Ok(view(state, &d, &p.user.username))
}

/// Approves (`approve`) or rejects a proposal; the pack refuses it to the proposer.
pub async fn decide(
    state: &AppState,
    p: &Principal,
    raw: &str,
    approve: bool,
    input: DisclosureDecision,
    now: DateTime<Utc>,
) -> Result<DisclosureView, ApiError> {
    let (d, _case, rule) = load_decided(state, p, raw, Action::DisclosureApprove).await?;
    if d.status != "proposed" {
        return Err(ApiError::conflict(format!(
            "disclosure {} is {}, not proposed",
            d.id, d.status
        ))
        .with_rule("EXT-03"));
    }
    let note = input.note.trim().to_string();
    if !approve && note.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            "a rejection says why",
        )
        .with_rule("EXT-03")
        .with_missing(vec!["note".into()]));
    }
    if approve {
        // What will leave must hold with this approval (EXT-01..EXT-04).
        stored_request(&d, Some(p.person.id))?
            .validate()
            .map_err(crate::domain_error)?;
    }
    let mut tx = state.store.begin().await.map_err(se)?;
    let status = if approve { "approved" } else { "rejected" };
    dstore::decide(&mut tx, d.id, status, p.person.id.0, now, &note)
        .await
        .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: format!("disclosure.{}", if approve { "approve" } else { "reject" }),
            record_type: "disclosure".into(),
            record_id: d.id.to_string(),
            reason: (!note.is_empty()).then_some(note),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "proposed_by": d.proposed_by_username }),
        },
    )
    .await
    .map_err(se)?;
    let stored = dstore::get(&mut tx, d.id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disclosure {}", d.id)))?;
    tx.commit().await.map_err(se)?;
    view_of(state, &stored).await
}

fn stored_request(
    d: &dstore::Disclosure,
    approval: Option<UserId>,
) -> Result<DisclosureRequest, ApiError> {
    let bad =
        |what: &str| ApiError::internal(format!("disclosure {}: stored {what} unreadable", d.id));
    Ok(DisclosureRequest {
        recipient_kind: RecipientKind::from_str(&d.recipient_kind).map_err(|_| bad("recipient"))?,
        recipient_name: d.recipient_name.clone(),
        recipient_affiliation: d.recipient_affiliation.clone(),
        identity_confirmed_by: Some(UserId(d.identity_confirmed_by)),
        purpose: DisclosurePurpose::from_str(&d.purpose).map_err(|_| bad("purpose"))?,
        identifying_information: d.identifying,
        basis: d
            .basis
            .as_deref()
            .map(DisclosureBasis::from_str)
            .transpose()
            .map_err(|_| bad("basis"))?,
        apo_approval_by: approval,
        individual_authorization_reference: d.basis_reference.clone(),
        cpo_pre_approval_reference: d.basis_reference.clone(),
        routine_designation_reference: d.basis_reference.clone(),
        investigation_reference: d.basis_reference.clone(),
    })
}

/// Releases an approved disclosure: builds the signed package (audited per item) and records
/// the manifest, its hash and signature as the release log.
pub async fn release(
    state: &AppState,
    p: &Principal,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<DisclosureView, ApiError> {
    let (d, case, rule) = load_decided(state, p, raw, Action::DisclosureRelease).await?;
    if d.status != "approved" {
        return Err(ApiError::conflict(format!(
            "disclosure {} is {}: nothing leaves before approval",
            d.id, d.status
        ))
        .with_rule("EXT-01"));
    }
    // Checked again at the door: the pack in force, the approval recorded.
    stored_request(&d, d.decided_by.map(UserId))?
        .validate()
        .map_err(crate::domain_error)?;
    let basis = d
        .basis
        .as_deref()
        .and_then(|b| DisclosureBasis::from_str(b).ok());
    let worded = basis.and_then(|b| basis_wording(state, b));
    let terms = serde_json::json!({
        "disclosure_id": d.id.to_string(),
        "recipient_kind": d.recipient_kind,
        "recipient_name": d.recipient_name,
        "recipient_affiliation": d.recipient_affiliation,
        "purpose": d.purpose,
        "identifying_information": d.identifying,
        "basis": d.basis,
        "basis_number": worded.as_ref().and_then(|(n, _)| *n),
        "basis_wording": worded.map(|(_, w)| w),
        "basis_reference": d.basis_reference,
        "identity_confirmation": d.identity_method,
        "proposed_by": d.proposed_by_username,
        "approved_by": d.decided_by_username,
        "approved_at": d.decided_at.map(|t| t.to_rfc3339()),
        "released_by": p.user.username,
    });
    let recipient = format!("{} ({})", d.recipient_name, d.recipient_affiliation);
    let package = discovery::package(
        state,
        &p.actor(),
        &case,
        &d.items,
        &recipient,
        &format!("disclosure {} to {recipient}", d.id),
        Some(terms),
    )
    .await?;
    let (manifest, signature) = match (package.entries.first(), package.entries.get(1)) {
        (Some((m, mb)), Some((s, sb))) if m == discovery::MANIFEST && s == discovery::SIGNATURE => {
            (
                String::from_utf8_lossy(mb).into_owned(),
                String::from_utf8_lossy(sb).into_owned(),
            )
        }
        _ => return Err(ApiError::internal("the package has no signed manifest")),
    };
    let sha = hex::encode(Sha256::digest(manifest.as_bytes()));
    let mut tx = state.store.begin().await.map_err(se)?;
    dstore::release(
        &mut tx,
        d.id,
        p.person.id.0,
        now,
        &manifest,
        &sha,
        &signature,
    )
    .await
    .map_err(se)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "disclosure.release".into(),
            record_type: "disclosure".into(),
            record_id: d.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule, "recipient": recipient, "manifest_sha256": sha,
                "items": package.manifest.items.iter().map(|i| serde_json::json!({
                    "item": i.item_id.to_string(), "sha256": i.sha256 })).collect::<Vec<_>>(),
            }),
        },
    )
    .await
    .map_err(se)?;
    let stored = dstore::get(&mut tx, d.id)
        .await
        .map_err(se)?
        .ok_or_else(|| ApiError::not_found(format!("disclosure {}", d.id)))?;
    tx.commit().await.map_err(se)?;
    view_of(state, &stored).await
}

/// The released package, rebuilt from the recorded manifest: each original is read and checked
/// against the hash the signed manifest gives, so the package is the one released or nothing.
pub async fn package_tar(
    state: &AppState,
    p: &Principal,
    raw: &str,
) -> Result<(String, Vec<u8>), ApiError> {
    let (d, _case, _) = load_decided(state, p, raw, Action::DisclosureRelease).await?;
    let (Some(manifest_text), Some(signature)) = (d.manifest.clone(), d.signature.clone()) else {
        return Err(ApiError::conflict(format!(
            "disclosure {} is {}: only a released disclosure has a package",
            d.id, d.status
        ))
        .with_rule("EXT-01"));
    };
    let manifest: discovery::Manifest = serde_json::from_str(&manifest_text)
        .map_err(|e| ApiError::internal(format!("stored manifest: {e}")))?;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let mut entries = vec![
        (discovery::MANIFEST.to_string(), manifest_text.into_bytes()),
        (discovery::SIGNATURE.to_string(), signature.into_bytes()),
    ];
    for item in &manifest.items {
        let stored = evidence::get_item(&mut tx, item.item_id)
            .await
            .map_err(se)?
            .ok_or_else(|| ApiError::conflict(format!("item {} is gone", item.item_id)))?;
        let bytes = state
            .store
            .blobs()
            .get(&mut tx, stored.blob_id)
            .await
            .map_err(se)?;
        if hex::encode(Sha256::digest(&bytes)) != item.sha256 {
            return Err(ApiError::internal(format!(
                "item {} no longer matches the released hash",
                item.item_id
            )));
        }
        entries.push((item.file.clone(), bytes));
    }
    tx.commit().await.map_err(se)?;
    let tar = discovery::Package { manifest, entries }
        .to_tar()
        .map_err(|e| ApiError::internal(format!("package: {e}")))?;
    Ok((format!("disclosure-{}.tar", d.id), tar))
}

/// The disclosures the caller may read (each row decided), newest first.
pub async fn readable(
    state: &AppState,
    p: &Principal,
) -> Result<Vec<(dstore::Disclosure, cases::Case)>, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let all = dstore::list(&mut tx, None, 500).await.map_err(se)?;
    let mut out = Vec::new();
    for d in all {
        let case = case_by_id(&mut tx, d.case_id).await?;
        let r = resource(&case, d.id, d.proposed_by)?;
        if decision::decide_for(state, p, Action::DisclosureRead, &r).allowed {
            out.push((d, case));
        }
    }
    tx.commit().await.map_err(se)?;
    Ok(out)
}

// ------------------------------------------------------------------ JSON routes

pub async fn propose_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(case): Path<String>,
    JsonBody(input): JsonBody<DisclosureInput>,
) -> Result<(StatusCode, Json<DisclosureView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(propose(&state, &p, &case, input, state.clock.now()).await?),
    ))
}

pub async fn list_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
) -> Result<Json<Vec<DisclosureView>>, ApiError> {
    let mut out = Vec::new();
    for (d, _) in readable(&state, &p).await? {
        out.push(view_of(&state, &d).await?);
    }
    Ok(Json(out))
}

pub async fn get_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(raw): Path<String>,
) -> Result<Json<DisclosureView>, ApiError> {
    let (d, _, _) = load_decided(&state, &p, &raw, Action::DisclosureRead).await?;
    Ok(Json(view_of(&state, &d).await?))
}

pub async fn approve_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<DisclosureDecision>,
) -> Result<Json<DisclosureView>, ApiError> {
    Ok(Json(
        decide(&state, &p, &raw, true, input, state.clock.now()).await?,
    ))
}

pub async fn reject_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(raw): Path<String>,
    JsonBody(input): JsonBody<DisclosureDecision>,
) -> Result<Json<DisclosureView>, ApiError> {
    Ok(Json(
        decide(&state, &p, &raw, false, input, state.clock.now()).await?,
    ))
}

pub async fn release_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(raw): Path<String>,
) -> Result<Json<DisclosureView>, ApiError> {
    Ok(Json(release(&state, &p, &raw, state.clock.now()).await?))
}

pub async fn package_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, ApiError> {
    let (name, tar) = package_tar(&state, &p, &raw).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        tar,
    )
        .into_response())
}

// ------------------------------------------------------------------ web page

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub case: Option<String>,
}

pub async fn disclosures_page(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    let loaded = async {
        let mut rows = Vec::new();
        for (d, _) in readable(&state, &p).await? {
            rows.push(view_of(&state, &d).await?);
        }
        Ok::<_, ApiError>(rows)
    }
    .await;
    match loaded {
        Ok(rows) => {
            let bases: Vec<serde_json::Value> = DisclosureBasis::ALL
                .iter()
                .map(|b| {
                    let (n, w) = basis_wording(&state, *b).unwrap_or((None, String::new()));
                    serde_json::json!({ "key": b.as_str(), "number": n, "wording": w })
                })
                .collect();
            page(
                &state,
                &headers,
                Some(&p),
                "disclosures.html",
                "/disclosures",
                context! {
                    disclosures => rows,
                    me => p.user.username.clone(),
                    case => q.case.unwrap_or_default(),
                    recipient_kinds => RecipientKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    purposes => DisclosurePurpose::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    bases => bases,
                    // Only shapes the page: each post is decided on its disclosure.
                    can_approve => decision::hint(&state, &p, "disclosure.approve")
                        || p.has_role(probity_domain::Role::AgencyPrivacyOfficer),
                    can_release => p.has_role(probity_domain::Role::RecordsOfficer),
                },
            )
        }
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ProposeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub case_number: String,
    #[serde(default)]
    pub recipient_kind: String,
    #[serde(default)]
    pub recipient_name: String,
    #[serde(default)]
    pub recipient_affiliation: String,
    #[serde(default)]
    pub purpose: String,
    #[serde(default)]
    pub identifying_information: Option<String>,
    #[serde(default)]
    pub basis: String,
    #[serde(default)]
    pub basis_reference: String,
    #[serde(default)]
    pub identity_confirmation: String,
    /// Item ids separated by commas, spaces or lines; empty for all the case's evidence.
    #[serde(default)]
    pub items: String,
}

pub async fn propose_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<ProposeForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        let input = DisclosureInput {
            recipient_kind: form.recipient_kind,
            recipient_name: form.recipient_name,
            recipient_affiliation: form.recipient_affiliation,
            purpose: form.purpose,
            identifying_information: Some(form.identifying_information.is_some()),
            basis: Some(form.basis),
            basis_reference: Some(form.basis_reference),
            identity_confirmation: form.identity_confirmation,
            items: form
                .items
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        };
        propose(&state, &p, &form.case_number, input, state.clock.now()).await
    }
    .await;
    match done {
        Ok(_) => Redirect::to("/disclosures").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub note: String,
}

async fn decide_form(
    state: AppState,
    p: std::sync::Arc<Principal>,
    headers: HeaderMap,
    raw: String,
    form: DecisionForm,
    approve: bool,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        decide(
            &state,
            &p,
            &raw,
            approve,
            DisclosureDecision { note: form.note },
            state.clock.now(),
        )
        .await
    }
    .await;
    match done {
        Ok(_) => Redirect::to("/disclosures").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}

pub async fn approve_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<DecisionForm>,
) -> Response {
    decide_form(state, p, headers, raw, form, true).await
}

pub async fn reject_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<DecisionForm>,
) -> Response {
    decide_form(state, p, headers, raw, form, false).await
}

pub async fn release_form(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(raw): Path<String>,
    FormBody(form): FormBody<DecisionForm>,
) -> Response {
    let done = async {
        check_csrf(&headers, &form.csrf)?;
        release(&state, &p, &raw, state.clock.now()).await
    }
    .await;
    match done {
        Ok(_) => Redirect::to("/disclosures").into_response(),
        Err(e) => error_response(&state, true, e),
    }
}
