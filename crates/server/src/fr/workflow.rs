//! The operations of a request for analysis, shared by the JSON API and the web pages. Each one
//! loads the request, asks the policy engine about this very request (FrRequest resource), applies
//! the domain transition (which checks the step order and separation of duties), and writes the new
//! state with its audit entry in one transaction. A stale version (a replayed step) is a conflict.

use std::str::FromStr;
use std::sync::Arc;

use chrono::Utc;
use probity_domain::fr_request::{
    Actor, BodyWornJustification, CandidateComparison, FacialFeature, FeatureFinding, FrRequest,
    FrState, Judgement, ProbeEditOp, ProbeQualityMeasures, ProbeStill, QualityVerdict,
    SearchRecord, StillSource, SupervisorDecision, MAX_PROBES,
};
use probity_domain::{FrRequestId, UserId};
use probity_face::eval::calibration::ScoreCalibration;
use probity_imaging::{EditList, EditStep, ProbeEdit};
use probity_policy::{Action, Context, Resource};
use probity_store::{audit, cases, fr, gallery, users, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

/// The FR-07 edits of the selected probe with the hashes of every step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EditRecord {
    #[serde(default)]
    pub edits: Vec<ProbeEdit>,
    #[serde(default)]
    pub steps: Vec<EditStep>,
}

/// A request as loaded for an operation.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub stored: fr::Request,
    pub req: FrRequest,
    pub case: cases::Case,
    pub edits: EditRecord,
}

impl Loaded {
    pub fn resource(&self) -> Result<Resource, ApiError> {
        let case = crate::decision::case_ref(&self.case)
            .ok_or_else(|| ApiError::internal("stored case has an invalid command"))?;
        Ok(Resource::FrRequest {
            id: self.req.id,
            case,
            requester: self.req.requester,
        })
    }
}

pub fn actor(p: &Principal) -> Actor {
    Actor::from_access(&p.access)
}

fn context(p: &Principal) -> Context {
    p.context()
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id.trim()).map_err(|_| ApiError::not_found(format!("FR request {id}")))
}

/// Loads a request and its case.
pub async fn load(state: &AppState, id: &str) -> Result<Loaded, ApiError> {
    let id = parse_id(id)?;
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let stored = fr::get(&mut tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("FR request {id}")))?;
    let case = cases::get(&mut tx, stored.case_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("case of FR request {id}")))?;
    tx.commit().await.map_err(crate::store_error)?;
    let req: FrRequest = serde_json::from_str(&stored.data)
        .map_err(|e| ApiError::internal(format!("stored FR request {id}: {e}")))?;
    let edits: EditRecord = serde_json::from_str(&stored.edits)
        .map_err(|e| ApiError::internal(format!("stored edits of FR request {id}: {e}")))?;
    Ok(Loaded {
        stored,
        req,
        case,
        edits,
    })
}

/// Asks the policy engine about `action` on this request; a refusal is audited and returned.
pub async fn ask(
    state: &AppState,
    p: &Principal,
    action: Action,
    l: &Loaded,
) -> Result<String, ApiError> {
    let resource = l.resource()?;
    ask_on(state, p, action, &resource, &l.req.id.to_string()).await
}

pub async fn ask_on(
    state: &AppState,
    p: &Principal,
    action: Action,
    resource: &Resource,
    record_id: &str,
) -> Result<String, ApiError> {
    crate::decision::require(state, p, action, resource, "fr_request", record_id).await
}

/// Audits a refusal by the domain (wrong step, separation of duties) and returns it.
async fn refused(
    state: &AppState,
    p: &Principal,
    action: Action,
    id: &str,
    e: probity_domain::DomainError,
) -> ApiError {
    if let probity_domain::DomainError::Refused { rule, .. } = &e {
        if let Err(err) = state
            .audit_denial(p, action.as_str(), "fr_request", id, rule)
            .await
        {
            return err;
        }
    }
    crate::domain_error(e)
}

fn to_json(req: &FrRequest) -> Result<String, ApiError> {
    serde_json::to_string(req).map_err(ApiError::internal)
}

/// Writes the next state of the request with its audit entry (inside `tx`).
#[allow(clippy::too_many_arguments)]
async fn write(
    tx: &mut Tx,
    p: &Principal,
    l: &Loaded,
    next: &FrRequest,
    edits: &EditRecord,
    action: Action,
    rule: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    fr::update(
        tx,
        l.stored.id,
        l.stored.version,
        next.state.as_str(),
        next.basis_key(),
        &to_json(next)?,
        &serde_json::to_string(edits).map_err(ApiError::internal)?,
    )
    .await
    .map_err(|e| match e {
        probity_store::StoreError::Conflict(m) => ApiError::conflict(m).with_rule("FR-04"),
        other => crate::store_error(other),
    })?;
    let mut detail = detail;
    if let Some(o) = detail.as_object_mut() {
        o.insert("rule".into(), serde_json::json!(rule));
        o.insert("from".into(), serde_json::json!(l.req.state.as_str()));
        o.insert("to".into(), serde_json::json!(next.state.as_str()));
        o.insert("case".into(), serde_json::json!(l.case.case_number));
    }
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: action.as_str().into(),
            record_type: "fr_request".into(),
            record_id: l.req.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(())
}

/// Writes and commits a simple transition.
async fn commit(
    state: &AppState,
    p: &Principal,
    l: &Loaded,
    next: &FrRequest,
    action: Action,
    rule: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    write(&mut tx, p, l, next, &l.edits, action, rule, detail).await?;
    if next.state.is_final() && !l.req.state.is_final() {
        attach_report(state, &mut tx, l, next).await?;
    }
    tx.commit().await.map_err(crate::store_error)
}

// ------------------------------------------------------------------------------------------------
// Request for analysis (FR-04, FR-05, FR-16, FR-17)

/// One uploaded still with its source.
#[derive(Debug, Clone, Default)]
pub struct StillUpload {
    pub bytes: Vec<u8>,
    pub source: Option<String>,
    pub bwc_witnessed: bool,
    pub bwc_unable_to_apprehend: bool,
    pub bwc_narrative: String,
}

/// The parts of a request form: `authorized_use`, and `still_N` files with `source_N`,
/// `bwc_witnessed_N`, `bwc_unable_N`, `bwc_narrative_N`.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub authorized_use: Option<String>,
    /// A use not foreseen by policy, described, in place of `authorized_use` (FR-19).
    pub unforeseen_use: Option<String>,
    /// The outside agency's documented request this analysis is run for (FR-20).
    pub external_request: Option<String>,
    /// The page form's CSRF token (checked by the page handler).
    pub csrf: Option<String>,
    pub stills: Vec<StillUpload>,
}

/// Reads a multipart request form. Bounded: at most [`MAX_PROBES`] stills; no video (FR-17).
pub async fn read_form(mut mp: axum::extract::Multipart) -> Result<RequestForm, ApiError> {
    let mut form = RequestForm::default();
    let mut stills: std::collections::BTreeMap<usize, StillUpload> = Default::default();
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("the multipart body could not be read: {e}"))
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        let (key, n) = match name.rsplit_once('_') {
            Some((k, n)) if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() => {
                (k.to_string(), n.parse::<usize>().ok())
            }
            _ => (name.clone(), None),
        };
        match (key.as_str(), n) {
            ("authorized_use", None) => {
                let v = field.text().await.map_err(bad)?;
                form.authorized_use = Some(v).filter(|v| !v.trim().is_empty());
            }
            ("csrf", None) => {
                form.csrf = Some(field.text().await.map_err(bad)?);
            }
            ("unforeseen_use", None) => {
                let v = field.text().await.map_err(bad)?;
                form.unforeseen_use = Some(v).filter(|v| !v.trim().is_empty());
            }
            ("external_request", None) => {
                let v = field.text().await.map_err(bad)?;
                form.external_request = Some(v).filter(|v| !v.trim().is_empty());
            }
            ("still", Some(i)) => {
                if i >= MAX_PROBES {
                    return Err(ApiError::forbidden(
                        "FR-17",
                        format!("a request holds at most {MAX_PROBES} stills"),
                    ));
                }
                let bytes = field.bytes().await.map_err(bad)?;
                if !bytes.is_empty() {
                    stills.entry(i).or_default().bytes = bytes.to_vec();
                }
            }
            ("source", Some(i)) => {
                let v = field.text().await.map_err(bad)?;
                stills.entry(i).or_default().source = Some(v).filter(|v| !v.trim().is_empty());
            }
            ("bwc_witnessed", Some(i)) => {
                let v = field.text().await.map_err(bad)?;
                stills.entry(i).or_default().bwc_witnessed = truthy(&v);
            }
            ("bwc_unable", Some(i)) => {
                let v = field.text().await.map_err(bad)?;
                stills.entry(i).or_default().bwc_unable_to_apprehend = truthy(&v);
            }
            ("bwc_narrative", Some(i)) => {
                stills.entry(i).or_default().bwc_narrative = field.text().await.map_err(bad)?;
            }
            ("video" | "stream", _) => {
                return Err(ApiError::forbidden(
                    "FR-17",
                    "no video and no stream is accepted: submit still images only",
                ));
            }
            _ => {
                return Err(ApiError::bad_field(
                    name,
                    "unknown part: give authorized_use (or unforeseen_use), external_request if any, and still_N with source_N",
                ))
            }
        }
    }
    // A still without content but with a source is no still: the form's empty file inputs.
    form.stills = stills
        .into_values()
        .filter(|s| !s.bytes.is_empty() || s.source.is_some())
        .filter(|s| !s.bytes.is_empty())
        .collect();
    Ok(form)
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes"
    )
}

/// Builds the domain's still from an upload: type by content (never by the client's word).
fn still_of(i: usize, up: &StillUpload) -> Result<ProbeStill, ApiError> {
    let format = probity_imaging::sniff(&up.bytes);
    let source = StillSource::from_str(up.source.as_deref().unwrap_or("").trim())
        .map_err(|e| ApiError::bad_field(format!("source_{i}"), e.to_string()))?;
    Ok(ProbeStill {
        image_ref: format!("probe-pending-{i}"),
        sha256: probity_imaging::sha256_hex(&up.bytes),
        media_type: format.mime().to_string(),
        source,
        body_worn_justification: (source == StillSource::BodyWornCamera).then(|| {
            BodyWornJustification {
                officer_witnessed_crime: up.bwc_witnessed,
                unable_to_apprehend: up.bwc_unable_to_apprehend,
                narrative: up.bwc_narrative.trim().to_string(),
            }
        }),
    })
}

/// Checks the stills: the domain's FR-16/FR-17 checks, then a real decode (corrupt, thermal,
/// oversized: refused with the reason).
fn check_stills(
    base: usize,
    form: &RequestForm,
    mut req: FrRequest,
    a: &Actor,
) -> Result<FrRequest, ApiError> {
    for (i, up) in form.stills.iter().enumerate() {
        let still = still_of(base + i, up)?;
        req = req.add_probe(a, still).map_err(crate::domain_error)?;
        probity_imaging::decode_still(&up.bytes, &probity_imaging::DecodeLimits::default())
            .map_err(|e| ApiError::bad_field(format!("still_{}", base + i), e.to_string()))?;
    }
    Ok(req)
}

fn missing_parts(form: &RequestForm, need_use: bool) -> Vec<String> {
    let mut missing = Vec::new();
    if need_use && form.authorized_use.is_none() && form.unforeseen_use.is_none() {
        missing.push("authorized use".to_string());
    }
    if form.stills.is_empty() {
        missing.push("probe image".to_string());
    }
    for (i, s) in form.stills.iter().enumerate() {
        if s.source.is_none() {
            missing.push(format!("source of still {i}"));
        }
    }
    missing
}

/// Creates and submits a request for analysis on a case (FR-04).
pub async fn create(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    form: RequestForm,
) -> Result<Loaded, ApiError> {
    let id = FrRequestId::new();
    let case_ref = crate::decision::case_ref(case)
        .ok_or_else(|| ApiError::internal("stored case has an invalid command"))?;
    let resource = Resource::FrRequest {
        id,
        case: case_ref,
        requester: p.person.id,
    };
    let rule = ask_on(
        state,
        p,
        Action::FrRequestCreate,
        &resource,
        &id.to_string(),
    )
    .await?;
    let a = actor(p);
    let now = Utc::now();
    let dcase = crate::cases::domain_case(case)?;
    let mut req = FrRequest::draft(&dcase, &a, now).map_err(crate::domain_error)?;
    req.id = id;
    let missing = missing_parts(&form, true);
    if !missing.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            format!(
                "FR-04: the request for analysis is incomplete: missing {}",
                missing.join(", ")
            ),
        )
        .with_rule("FR-04")
        .with_missing(missing));
    }
    if let Some(u) = &form.authorized_use {
        req = req.set_authorized_use(&a, u).map_err(crate::domain_error)?;
    }
    if let Some(u) = &form.unforeseen_use {
        req = req.set_unforeseen_use(&a, u).map_err(crate::domain_error)?;
    }
    req = check_stills(0, &form, req, &a)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let external = match &form.external_request {
        Some(e) => Some(external_request(&mut tx, e).await?.id),
        None => None,
    };
    fr::insert(
        &mut tx,
        id.0,
        case.id,
        &case.case_number,
        p.person.id.0,
        FrState::Draft.as_str(),
        req.basis_key(),
        external,
        &to_json(&req)?,
    )
    .await
    .map_err(crate::store_error)?;
    let mut sources = Vec::new();
    for (i, up) in form.stills.iter().enumerate() {
        let probe = fr::add_probe(
            &mut tx,
            state.store.blobs(),
            id.0,
            i as i64,
            &up.bytes,
            &req.probes[i].media_type,
            req.probes[i].source.as_str(),
            &p.actor(),
        )
        .await
        .map_err(crate::store_error)?;
        req.probes[i].image_ref = probe.id.to_string();
        sources.push(req.probes[i].source.as_str());
    }
    let submitted = req.submit(&a, now).map_err(crate::domain_error)?;
    fr::update(
        &mut tx,
        id.0,
        1,
        submitted.state.as_str(),
        submitted.basis_key(),
        &to_json(&submitted)?,
        r#"{"edits":[],"steps":[]}"#,
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: Action::FrRequestCreate.as_str().into(),
            record_type: "fr_request".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": rule,
                "case": case.case_number,
                "authorized_use": submitted.basis_key(),
                "unforeseen_use": submitted.unforeseen_use.as_ref().map(|u| &u.description),
                "external_request": external.map(|e| e.to_string()),
                "stills": sources,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    load(state, &id.to_string()).await
}

/// The requester adds stills to a returned request and resubmits it (FR-06).
pub async fn add_stills(
    state: &AppState,
    p: &Principal,
    id: &str,
    form: RequestForm,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrRequestAddProbe, &l).await?;
    let a = actor(p);
    let missing = missing_parts(&form, false);
    if !missing.is_empty() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "missing",
            format!("FR-06: missing {}", missing.join(", ")),
        )
        .with_rule("FR-06")
        .with_missing(missing));
    }
    let base = l.req.probes.len();
    let mut req = match check_stills(base, &form, l.req.clone(), &a) {
        Ok(r) => r,
        Err(e) => return Err(e),
    };
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    for (i, up) in form.stills.iter().enumerate() {
        let k = base + i;
        let probe = fr::add_probe(
            &mut tx,
            state.store.blobs(),
            l.stored.id,
            k as i64,
            &up.bytes,
            &req.probes[k].media_type,
            req.probes[k].source.as_str(),
            &p.actor(),
        )
        .await
        .map_err(crate::store_error)?;
        req.probes[k].image_ref = probe.id.to_string();
    }
    let next = req.submit(&a, now).map_err(crate::domain_error)?;
    write(
        &mut tx,
        p,
        &l,
        &next,
        &l.edits,
        Action::FrRequestAddProbe,
        &rule,
        serde_json::json!({ "added": form.stills.len() }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    load(state, id).await
}

// ------------------------------------------------------------------------------------------------
// FR investigator steps

pub async fn confirm_basis(state: &AppState, p: &Principal, id: &str) -> Result<Loaded, ApiError> {
    let mut l = load(state, id).await?;
    let rule = ask(state, p, Action::FrBasisConfirm, &l).await?;
    // OVR-04: a use not foreseen by policy proceeds only under an addendum in force.
    if let Some(u) = l.req.unforeseen_use.as_mut() {
        if u.addendum.is_none() {
            u.addendum =
                crate::policy_packs::addendum_for(state, &format!("fr_request:{}", l.stored.id))
                    .await?;
        }
    }
    let next = match l.req.confirm_basis(&actor(p), Utc::now()) {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrBasisConfirm, id, e).await),
    };
    let wording = next.basis_wording().unwrap_or_default();
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrBasisConfirm,
        &rule,
        serde_json::json!({ "authorized_use_wording": wording }),
    )
    .await?;
    load(state, id).await
}

/// The original bytes of a probe still (audited read by the caller).
pub async fn probe_bytes(state: &AppState, l: &Loaded, n: usize) -> Result<Vec<u8>, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let probes = fr::probes(&mut tx, l.stored.id)
        .await
        .map_err(crate::store_error)?;
    let probe = probes
        .get(n)
        .ok_or_else(|| ApiError::not_found(format!("still {n} of this request")))?;
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, probe.blob_id)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(bytes)
}

/// The probe image after the FR-07 edits (the original untouched).
pub async fn probe_image(
    state: &AppState,
    l: &Loaded,
    n: usize,
    edited: bool,
) -> Result<image::RgbImage, ApiError> {
    let bytes = probe_bytes(state, l, n).await?;
    let decoded = probity_imaging::decode_still(&bytes, &probity_imaging::DecodeLimits::default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !edited || l.edits.edits.is_empty() {
        return Ok(decoded.image);
    }
    let out = EditList::new(l.edits.edits.clone())
        .apply(&decoded.image)
        .map_err(|e| ApiError::bad_request(e.to_string()).with_rule("FR-07"))?;
    Ok(out.image)
}

/// The quality measures of one still (FR-06).
pub async fn measure(
    state: &AppState,
    l: &Loaded,
    n: usize,
) -> Result<serde_json::Value, ApiError> {
    let img = probe_image(state, l, n, false).await?;
    let engine = crate::fr::engine::get(state).await?;
    let faces = tokio::task::spawn_blocking(move || {
        let mut e = engine
            .engine
            .lock()
            .map_err(|_| ApiError::internal("face engine lock poisoned"))?;
        e.detect(&img)
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
    .map_err(ApiError::internal)??;
    let faces: Vec<serde_json::Value> = faces
        .iter()
        .map(|f| {
            serde_json::json!({
                "box": f.bbox, "score": f.score, "quality": f.quality,
                "reasons": f.quality.issues.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(serde_json::json!({ "still": n, "faces_found": faces.len(), "faces": faces }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct QualityInput {
    pub selected_probe: usize,
    pub suitable: bool,
    #[serde(default)]
    pub reasons: Vec<String>,
}

pub async fn assess_quality(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: QualityInput,
) -> Result<(Loaded, serde_json::Value), ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrQualityAssess, &l).await?;
    let verdict = QualityVerdict {
        selected_probe: input.selected_probe,
        suitable: input.suitable,
        reasons: input.reasons.clone(),
    };
    // The domain checks the step, the person and the reasons before the engine measures anything.
    let next = match l.req.assess_quality(&actor(p), verdict, Utc::now()) {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrQualityAssess, id, e).await),
    };
    let measured = measure(state, &l, input.selected_probe).await?;
    if input.suitable && measured["faces_found"].as_u64() == Some(0) {
        return Err(ApiError::forbidden(
            "FR-06",
            "no face was found in the selected still: it cannot be suitable; record it unsuitable or select another",
        ));
    }
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrQualityAssess,
        &rule,
        serde_json::json!({
            "selected_probe": input.selected_probe,
            "suitable": input.suitable,
            "reasons": input.reasons,
            "measured": measured,
        }),
    )
    .await?;
    Ok((load(state, id).await?, measured))
}

/// Appends one FR-07 edit (brightness, crop, rotate) to the selected probe's edit list.
pub async fn edit(
    state: &AppState,
    p: &Principal,
    id: &str,
    edit: ProbeEdit,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrProbeEdit, &l).await?;
    let Some(q) = l.req.quality.as_ref() else {
        return Err(ApiError::forbidden(
            "FR-07",
            "no probe is selected yet: record the quality verdict first",
        ));
    };
    let bytes = probe_bytes(state, &l, q.selected_probe).await?;
    let original = probity_imaging::decode_still(&bytes, &probity_imaging::DecodeLimits::default())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let mut edits = l.edits.edits.clone();
    edits.push(edit);
    let out = EditList::new(edits.clone())
        .apply(&original.image)
        .map_err(|e| ApiError::bad_field("edit", e.to_string()).with_rule("FR-07"))?;
    let step = out
        .steps
        .last()
        .ok_or_else(|| ApiError::internal("edit list applied without steps"))?;
    let op = ProbeEditOp::from_str(edit.kind()).map_err(crate::domain_error)?;
    // The domain chains hashes from the original file's SHA-256 to each edited image's.
    let before = match l.req.edits.last() {
        Some(e) => e.after_sha256.clone(),
        None => l
            .req
            .probes
            .get(q.selected_probe)
            .map(|s| s.sha256.clone())
            .unwrap_or_default(),
    };
    let next = match l
        .req
        .record_edit(&actor(p), op, &before, &step.after_sha256, Utc::now())
    {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrProbeEdit, id, e).await),
    };
    let record = EditRecord {
        edits,
        steps: out.steps.clone(),
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    write(
        &mut tx,
        p,
        &l,
        &next,
        &record,
        Action::FrProbeEdit,
        &rule,
        serde_json::json!({
            "edit": edit,
            "before_sha256": before,
            "after_sha256": step.after_sha256,
            "original_pixels_sha256": out.original_sha256,
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    load(state, id).await
}

pub async fn acknowledge_discussion(
    state: &AppState,
    p: &Principal,
    id: &str,
    note: &str,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrSupervisorDiscussionAcknowledge, &l).await?;
    let next = match l
        .req
        .acknowledge_supervisor_discussion(&actor(p), note, Utc::now())
    {
        Ok(n) => n,
        Err(e) => {
            return Err(refused(state, p, Action::FrSupervisorDiscussionAcknowledge, id, e).await)
        }
    };
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrSupervisorDiscussionAcknowledge,
        &rule,
        serde_json::json!({ "note": note.trim() }),
    )
    .await?;
    load(state, id).await
}

/// One official's approval of a comparison outside the repository for this request (FR-18).
pub async fn approve_outside_repository(
    state: &AppState,
    p: &Principal,
    id: &str,
    reason: &str,
) -> Result<Loaded, ApiError> {
    let apply = FrRequest::approve_outside_repository;
    official_decision(
        state,
        p,
        id,
        reason,
        Action::FrOutsideRepositoryApprove,
        apply,
    )
    .await
}

/// One official's decision for a use not foreseen by policy on this request (FR-19).
pub async fn approve_unforeseen_use(
    state: &AppState,
    p: &Principal,
    id: &str,
    reason: &str,
) -> Result<Loaded, ApiError> {
    let apply = FrRequest::approve_unforeseen_use;
    official_decision(state, p, id, reason, Action::FrUnforeseenUseDecide, apply).await
}

type OfficialStep = fn(
    &FrRequest,
    &Actor,
    &str,
    chrono::DateTime<Utc>,
) -> Result<FrRequest, probity_domain::DomainError>;

/// An official's approval (FR-18, FR-19): the policy on this request, the domain's checks of
/// office, reason and distinct people, then the record with its audit entry.
async fn official_decision(
    state: &AppState,
    p: &Principal,
    id: &str,
    reason: &str,
    action: Action,
    apply: OfficialStep,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, action, &l).await?;
    let next = match apply(&l.req, &actor(p), reason, Utc::now()) {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, action, id, e).await),
    };
    commit(
        state,
        p,
        &l,
        &next,
        action,
        &rule,
        serde_json::json!({ "reason": reason.trim() }),
    )
    .await?;
    load(state, id).await
}

/// The outside agency's documented request a request for analysis is run for (FR-20); an
/// unknown reference is refused, so every linked analysis has its documentation.
async fn external_request(tx: &mut Tx, reference: &str) -> Result<fr::ExternalRequest, ApiError> {
    let not_found = || {
        ApiError::bad_field(
            "external_request",
            format!("FR-20: no documented outside agency request {reference}: document it first"),
        )
        .with_rule("FR-20")
    };
    let id = Uuid::parse_str(reference.trim()).map_err(|_| not_found())?;
    fr::external_request(tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(not_found)
}

/// The search options: nothing else, and nothing about any protected trait (FR-24).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    pub top_k: Option<usize>,
    #[serde(default)]
    pub outside_repository: bool,
}

/// Candidate ids as the domain and the pages name them.
pub fn candidate_id(record_no: i64) -> String {
    format!("R{record_no:06}")
}

pub fn record_of(candidate: &str) -> Option<i64> {
    candidate.strip_prefix('R')?.parse().ok()
}

/// The engine's quality report of the probe face, rounded as shown and kept with the search.
fn probe_quality_measures(q: &probity_face::quality::QualityReport) -> ProbeQualityMeasures {
    let round = |v: f64| v.round().clamp(0.0, f64::from(u32::MAX)) as u32;
    ProbeQualityMeasures {
        inter_eye_px: round(q.inter_eye_px),
        sharpness: round(q.sharpness),
        mean_brightness: round(q.mean_brightness),
        clipped_per_mille: round(q.clipped_fraction * 1000.0),
        yaw_deg: q.pose.yaw_deg.round() as i32,
        roll_deg: q.pose.roll_deg.round() as i32,
        within_thresholds: q.suitable,
        issues: q.issues.iter().map(|i| i.to_string()).collect(),
    }
}

/// Searches the repository with the (edited) probe (FR-08): the pool with scores, ranks and the
/// algorithm version is stored; only FR staff read it (FR-15).
pub async fn search(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: SearchInput,
) -> Result<(Loaded, usize), ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrSearch, &l).await?;
    let top_k = match input.top_k {
        None => crate::fr::engine::pool_size(),
        Some(k) if (1..=crate::fr::engine::MAX_POOL_SIZE).contains(&k) => k,
        Some(_) => {
            return Err(ApiError::bad_field(
                "top_k",
                format!(
                    "the candidate pool holds 1 to {} candidates",
                    crate::fr::engine::MAX_POOL_SIZE
                ),
            ))
        }
    };
    let a = actor(p);
    // The domain decides first (step order, FR-22, FR-18) so a refused search costs nothing; the
    // version recorded is the one of the engine snapshot the search then takes (FR-23).
    let spec = crate::fr::engine::active_spec(&state.store).await?;
    let dry = SearchRecord {
        algorithm_version: spec.id().to_string(),
        candidates: Vec::new(),
        outside_repository: input.outside_repository,
        probe_quality: None,
    };
    if let Err(e) = l.req.record_search(&a, dry, Utc::now()) {
        return Err(refused(state, p, Action::FrSearch, id, e).await);
    }
    if input.outside_repository {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "no-outside-image-set",
            "the three approvals are recorded, but no image set outside the photo repository is configured on this system",
        )
        .with_rule("FR-18"));
    }
    let selected = l
        .req
        .quality
        .as_ref()
        .map(|q| q.selected_probe)
        .ok_or_else(|| ApiError::forbidden("FR-06", "no probe is selected"))?;
    let img = probe_image(state, &l, selected, true).await?;
    // ONE snapshot: the probe's template, the index searched and the version recorded all come
    // from it, so a switch of algorithm meanwhile never mixes versions in one search (FR-23).
    let fr_engine = crate::fr::engine::get(state).await?;
    let e2 = fr_engine.clone();
    let probe = tokio::task::spawn_blocking(move || {
        let mut e = e2
            .engine
            .lock()
            .map_err(|_| ApiError::internal("face engine lock poisoned"))?;
        let faces = e
            .detect(&img)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        let face = faces
            .into_iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .ok_or_else(|| {
                ApiError::bad_request(probity_face::FaceError::NoFace.to_string())
                    .with_rule("FR-06")
            })?;
        let quality = face.quality.clone();
        e.probe_template(&img, &face)
            .map(|t| (t, quality))
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
    .map_err(ApiError::internal)??;
    let (probe, quality) = probe;
    let pool = crate::fr::engine::search(&state.store, &fr_engine, &probe, top_k).await?;
    let algorithm = fr_engine.spec.id().to_string();
    let record = SearchRecord {
        algorithm_version: algorithm.clone(),
        candidates: pool.iter().map(|(r, _)| candidate_id(*r)).collect(),
        outside_repository: false,
        probe_quality: Some(probe_quality_measures(&quality)),
    };
    let next = l
        .req
        .record_search(&a, record, Utc::now())
        .map_err(crate::domain_error)?;
    let rows: Vec<(i64, i64, f64)> = pool
        .iter()
        .enumerate()
        .map(|(i, (r, s))| (i as i64 + 1, *r, *s))
        .collect();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    fr::put_candidates(&mut tx, l.stored.id, &algorithm, &rows)
        .await
        .map_err(crate::store_error)?;
    write(
        &mut tx,
        p,
        &l,
        &next,
        &l.edits,
        Action::FrSearch,
        &rule,
        serde_json::json!({ "algorithm": algorithm, "pool_size": rows.len(), "top_k": top_k }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((load(state, id).await?, rows.len()))
}

/// One candidate as FR staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CandidateView {
    pub rank: i64,
    pub candidate: String,
    /// The raw similarity of the algorithm (cosine); compare scores only through the rate below.
    pub score: f64,
    /// The false-match rate the algorithm's latest evaluation measured at this score: the chance
    /// that someone else's photo scores as high. `None` when no evaluation record of the
    /// algorithm carries a score calibration.
    pub estimated_false_match_rate: Option<f64>,
    /// True when no non-mated comparison of the evaluation scored this high (the rate is then an
    /// upper bound).
    pub false_match_rate_is_upper_bound: bool,
    /// The rate in words: "about 1 in 12,000", "below 1 in 21,000,000", or why there is none.
    pub false_match_rate_text: String,
    pub algorithm: String,
    pub subject_id: String,
    pub source: String,
    pub arrest_id: String,
    pub photo_date: String,
}

/// The score calibration of an algorithm's latest evaluation record, if it has a valid one.
async fn calibration_of(
    tx: &mut Tx,
    algorithm: &str,
) -> Result<Option<ScoreCalibration>, ApiError> {
    let latest = probity_store::algorithms::latest_evaluation(tx, algorithm)
        .await
        .map_err(crate::store_error)?;
    Ok(latest
        .and_then(|e| e.figures.get("score_calibration").cloned())
        .and_then(|v| serde_json::from_value::<ScoreCalibration>(v).ok())
        .filter(|c| c.validate().is_ok()))
}

/// The candidate pool (FR-08, FR-15: FR staff only), re-checked against sealing (FR-02); audited read.
pub async fn candidates(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(Loaded, Vec<CandidateView>), ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrCandidatesRead, &l).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let pool = fr::candidates(&mut tx, l.stored.id)
        .await
        .map_err(crate::store_error)?;
    let mut out = Vec::new();
    let mut calibrations: std::collections::HashMap<String, Option<ScoreCalibration>> =
        std::collections::HashMap::new();
    for c in pool {
        if !calibrations.contains_key(&c.algorithm) {
            let cal = calibration_of(&mut tx, &c.algorithm).await?;
            calibrations.insert(c.algorithm.clone(), cal);
        }
        let estimate = calibrations
            .get(&c.algorithm)
            .and_then(|cal| cal.as_ref())
            .map(|cal| cal.false_match_rate(c.score as f32));
        let Some(r) = gallery::get(&mut tx, c.record_no)
            .await
            .map_err(crate::store_error)?
        else {
            continue;
        };
        if r.sealed || r.removed {
            continue;
        }
        out.push(CandidateView {
            rank: c.rank,
            candidate: candidate_id(c.record_no),
            score: c.score,
            estimated_false_match_rate: estimate.map(|e| e.rate),
            false_match_rate_is_upper_bound: estimate.is_some_and(|e| e.upper_bound),
            false_match_rate_text: estimate.map_or_else(
                || "not calibrated: no evaluation record of this algorithm measures it".into(),
                |e| e.text(),
            ),
            algorithm: c.algorithm,
            subject_id: r.subject_id,
            source: r.source,
            arrest_id: r.arrest_id,
            photo_date: r.photo_date,
        });
    }
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: Action::FrCandidatesRead.as_str().into(),
            record_type: "fr_request".into(),
            record_id: l.req.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "shown": out.len() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((l, out))
}

/// The photo of a candidate: FR staff for any candidate in the pool; the requester only for the
/// proposed one (FR-10). Sealed records are gone (FR-02). Audited.
pub async fn candidate_photo(
    state: &AppState,
    p: &Principal,
    id: &str,
    candidate: &str,
) -> Result<(Vec<u8>, String), ApiError> {
    let l = load(state, id).await?;
    let in_pool = l
        .req
        .search
        .as_ref()
        .is_some_and(|s| s.candidates.iter().any(|c| c == candidate));
    if !in_pool {
        return Err(ApiError::not_found(format!(
            "candidate {candidate} in this request's pool"
        )));
    }
    let action = if l.req.proposed_candidate() == Some(candidate) && p.person.id == l.req.requester
    {
        Action::FrProposedCandidateRead
    } else {
        Action::FrCandidatesRead
    };
    let rule = ask(state, p, action, &l).await?;
    let record_no = record_of(candidate)
        .ok_or_else(|| ApiError::not_found(format!("candidate {candidate}")))?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let r = gallery::get(&mut tx, record_no)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("candidate {candidate}")))?;
    if r.sealed || r.removed {
        return Err(ApiError::forbidden(
            "FR-02",
            format!("candidate {candidate} belongs to a sealed arrest and is no longer in the repository"),
        ));
    }
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, r.photo_blob)
        .await
        .map_err(crate::store_error)?;
    let media = probity_imaging::sniff(&bytes).mime().to_string();
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: format!("{}.photo", action.as_str()),
            record_type: "fr_record".into(),
            record_id: record_no.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "request": l.req.id.to_string() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((bytes, media))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct FeatureInput {
    pub finding: String,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ComparisonInput {
    pub candidate: String,
    #[serde(default)]
    pub features: std::collections::BTreeMap<String, FeatureInput>,
    pub judgement: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IdentificationInput {
    pub comparisons: Vec<ComparisonInput>,
}

/// Records the facial identification (FR-09); a proposed candidate goes to the requester for the
/// background check (FR-10); none proposed gives the negative report (FR-13).
pub async fn identify(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: IdentificationInput,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrIdentify, &l).await?;
    let mut comparisons = Vec::new();
    for c in &input.comparisons {
        let mut features = std::collections::BTreeMap::new();
        for (k, v) in &c.features {
            let f = FacialFeature::from_str(k).map_err(crate::domain_error)?;
            let finding = FeatureFinding::from_str(&v.finding).map_err(crate::domain_error)?;
            features.insert(f, (finding, v.notes.trim().to_string()));
        }
        comparisons.push(CandidateComparison {
            candidate: c.candidate.trim().to_string(),
            features,
            judgement: Judgement::from_str(&c.judgement).map_err(crate::domain_error)?,
        });
    }
    // A candidate whose arrest was sealed since the search can no longer be proposed (FR-02).
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    for c in comparisons
        .iter()
        .filter(|c| c.judgement == Judgement::Proposed)
    {
        if let Some(n) = record_of(&c.candidate) {
            let active = gallery::searchable(&mut tx, &[n])
                .await
                .map_err(crate::store_error)?;
            if !active.contains(&n) {
                tx.commit().await.map_err(crate::store_error)?;
                return Err(ApiError::forbidden(
                    "FR-02",
                    format!(
                        "candidate {} belongs to a sealed arrest: it cannot be proposed",
                        c.candidate
                    ),
                ));
            }
        }
    }
    tx.commit().await.map_err(crate::store_error)?;
    let next = match l
        .req
        .record_identification(&actor(p), comparisons, Utc::now())
    {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrIdentify, id, e).await),
    };
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrIdentify,
        &rule,
        serde_json::json!({ "proposed": next.proposed_candidate() }),
    )
    .await?;
    load(state, id).await
}

/// What the requester sees of the proposed candidate: marked unapproved, no score, no pool (FR-10).
pub async fn proposed(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrProposedCandidateRead, &l).await?;
    let view = l.req.requester_view();
    let Some(candidate) = view.proposed_candidate_unapproved.clone() else {
        return Err(ApiError::not_found(
            "a proposed candidate awaiting the background check on this request",
        ));
    };
    let n = record_of(&candidate).ok_or_else(|| ApiError::not_found("candidate"))?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let r = gallery::get(&mut tx, n)
        .await
        .map_err(crate::store_error)?
        .filter(|r| !r.sealed && !r.removed)
        .ok_or_else(|| {
            ApiError::forbidden("FR-02", "the proposed candidate's arrest has been sealed")
        })?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: Action::FrProposedCandidateRead.as_str().into(),
            record_type: "fr_request".into(),
            record_id: l.req.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule, "candidate": candidate }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(serde_json::json!({
        "request": l.req.id.to_string(),
        "candidate": candidate,
        "approved": false,
        "notice": "UNAPPROVED possible match candidate, disclosed for a corroborating background check only (FR-10). Not a basis for any action.",
        "subject_id": r.subject_id,
        "source": r.source,
        "arrest_id": r.arrest_id,
        "photo_date": r.photo_date,
        "photo": format!("/api/fr/requests/{}/candidates/{}/photo", l.req.id, candidate),
    }))
}

pub async fn background_check(
    state: &AppState,
    p: &Principal,
    id: &str,
    result: &str,
    corroborates: bool,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrBackgroundCheckRecord, &l).await?;
    let next = match l
        .req
        .record_background_check(&actor(p), result, corroborates, Utc::now())
    {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrBackgroundCheckRecord, id, e).await),
    };
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrBackgroundCheckRecord,
        &rule,
        serde_json::json!({ "corroborates": corroborates }),
    )
    .await?;
    load(state, id).await
}

pub async fn peer_review(
    state: &AppState,
    p: &Principal,
    id: &str,
    concur: bool,
    notes: &str,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrPeerReview, &l).await?;
    let next = match l
        .req
        .record_peer_review(&actor(p), concur, notes, Utc::now())
    {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrPeerReview, id, e).await),
    };
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrPeerReview,
        &rule,
        serde_json::json!({ "concur": concur }),
    )
    .await?;
    load(state, id).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SupervisorInput {
    /// approve | send_back | reject
    pub decision: String,
    #[serde(default)]
    pub reasons: String,
}

/// The supervisor's review (FR-12): approve (possible match report, FR-14), send back, or not
/// approve (negative report, FR-13).
pub async fn supervisor_review(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: SupervisorInput,
) -> Result<Loaded, ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrSupervisorReview, &l).await?;
    let decision = match input.decision.trim() {
        "approve" => SupervisorDecision::Approve,
        "send_back" => SupervisorDecision::SendBack {
            reasons: input.reasons.clone(),
        },
        "reject" => SupervisorDecision::Reject {
            reasons: input.reasons.clone(),
        },
        other => {
            return Err(ApiError::bad_field(
                "decision",
                format!("`{other}`: give approve, send_back or reject"),
            ))
        }
    };
    let a = actor(p);
    let now = Utc::now();
    let started = if l.req.state == FrState::PeerReview {
        match l.req.begin_supervisor_review(&a, now) {
            Ok(n) => n,
            Err(e) => return Err(refused(state, p, Action::FrSupervisorReview, id, e).await),
        }
    } else {
        l.req.clone()
    };
    let next = match started.decide_supervisor_review(&a, decision, now) {
        Ok(n) => n,
        Err(e) => return Err(refused(state, p, Action::FrSupervisorReview, id, e).await),
    };
    commit(
        state,
        p,
        &l,
        &next,
        Action::FrSupervisorReview,
        &rule,
        serde_json::json!({ "decision": input.decision, "reasons": input.reasons }),
    )
    .await?;
    load(state, id).await
}

// ------------------------------------------------------------------------------------------------
// Reports (FR-13, FR-14)

async fn username(tx: &mut Tx, id: UserId) -> Result<String, ApiError> {
    Ok(users::get(tx, id.0)
        .await
        .map_err(crate::store_error)?
        .map(|u| format!("{} ({})", u.display_name, u.username))
        .unwrap_or_else(|| id.to_string()))
}

/// Writes the report of a request that reached its outcome, attached to the case.
async fn attach_report(
    state: &AppState,
    tx: &mut Tx,
    l: &Loaded,
    next: &FrRequest,
) -> Result<(), ApiError> {
    let possible = next.state == FrState::ApprovedPossibleMatch;
    let requester = username(tx, next.requester).await?;
    let identifier = match next.identifications.last() {
        Some(i) => Some(username(tx, i.by).await?),
        None => None,
    };
    let mut peers = Vec::new();
    for r in &next.peer_reviews {
        peers.push(serde_json::json!({
            "by": username(tx, r.by).await?, "concur": r.concur, "notes": r.notes,
        }));
    }
    let mut supervisors = Vec::new();
    for (by, d, at) in &next.supervisor_decisions {
        supervisors.push(serde_json::json!({
            "by": username(tx, *by).await?, "decision": d, "at": at.to_rfc3339(),
        }));
    }
    let candidate = match (possible, next.proposed_candidate().and_then(record_of)) {
        (true, Some(n)) => gallery::get(tx, n)
            .await
            .map_err(crate::store_error)?
            .map(|r| {
                serde_json::json!({
                    "candidate": candidate_id(r.record_no), "subject_id": r.subject_id,
                    "source": r.source, "arrest_id": r.arrest_id, "photo_date": r.photo_date,
                })
            }),
        _ => None,
    };
    let selected = next.quality.as_ref().map(|q| q.selected_probe);
    let body = serde_json::json!({
        "kind": if possible { "possible_match" } else { "negative" },
        "request": next.id.to_string(),
        "case_number": l.case.case_number,
        "authorized_use": next.basis_wording(),
        "requester": requester,
        "probe": selected.and_then(|s| next.probes.get(s)).map(|s| serde_json::json!({
            "still": selected, "sha256": s.sha256, "source": s.source.as_str(),
        })),
        "edits": l.edits.steps,
        "algorithm": next.search.as_ref().map(|s| s.algorithm_version.clone()),
        "candidate": candidate,
        "identified_by": identifier,
        "background_check": next.background_check.as_ref().map(|b| serde_json::json!({"result": b.result, "corroborates": b.corroborates})),
        "peer_reviews": peers,
        "supervisor_decisions": supervisors,
        "notice": if possible { probity_domain::fr_request::POSSIBLE_MATCH_NOTICE } else {
            "No candidate was identified or approved: negative result (FR-13)."
        },
        "generated_at": Utc::now().to_rfc3339(),
    });
    let probe_jpeg = match selected {
        Some(s) => probe_image(state, l, s, true).await.ok(),
        None => None,
    };
    let candidate_img = match (possible, next.proposed_candidate().and_then(record_of)) {
        (true, Some(n)) => match gallery::get(tx, n).await.map_err(crate::store_error)? {
            Some(r) => {
                let bytes = state
                    .store
                    .blobs()
                    .get(tx, r.photo_blob)
                    .await
                    .map_err(crate::store_error)?;
                probity_imaging::decode_still(&bytes, &probity_imaging::DecodeLimits::default())
                    .ok()
                    .map(|d| d.image)
            }
            None => None,
        },
        _ => None,
    };
    let pdf = crate::fr::report::pdf(&body, probe_jpeg.as_ref(), candidate_img.as_ref())?;
    let meta = state
        .store
        .blobs()
        .put(tx, None, &pdf, "application/pdf", "system:fr-report")
        .await
        .map_err(crate::store_error)?;
    fr::put_report(
        tx,
        l.stored.id,
        l.case.id,
        if possible {
            "possible_match"
        } else {
            "negative"
        },
        &body.to_string(),
        Some(meta.id),
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: "system:fr".into(),
            action: "fr.report.attach".into(),
            record_type: "case".into(),
            record_id: l.case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": if possible { "FR-14" } else { "FR-13" },
                "request": next.id.to_string(),
                "pdf_sha256": meta.sha256,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(())
}

/// The report of a request (FR-13, FR-14); audited read.
pub async fn report(
    state: &AppState,
    p: &Principal,
    id: &str,
) -> Result<(Loaded, fr::Report), ApiError> {
    let l = load(state, id).await?;
    let rule = ask(state, p, Action::FrReportRead, &l).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let r = fr::report(&mut tx, l.stored.id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found("a report: the request has no outcome yet"))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: Action::FrReportRead.as_str().into(),
            record_type: "fr_request".into(),
            record_id: l.req.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": rule }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((l, r))
}

pub async fn report_pdf(state: &AppState, p: &Principal, id: &str) -> Result<Vec<u8>, ApiError> {
    let (_, r) = report(state, p, id).await?;
    let blob = r
        .pdf_blob
        .ok_or_else(|| ApiError::not_found("the PDF of this report"))?;
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, blob)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(bytes)
}

// ------------------------------------------------------------------------------------------------
// Views

/// What a caller may see of a request: FR staff the full record; the requester only the
/// requester's view (FR-15).
pub async fn view(
    state: &AppState,
    p: &Principal,
    l: &Loaded,
) -> Result<serde_json::Value, ApiError> {
    ask(state, p, Action::FrRequestRead, l).await?;
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let staff = crate::decision::decide_on(
        state,
        &principal,
        Action::FrCandidatesRead,
        &l.resource()?,
        &context(p),
    )
    .allowed;
    let wording = match l.req.authorized_use {
        Some(u) => Some(
            serde_json::json!({"key": u.as_str(), "number": u.number(), "wording": u.wording()}),
        ),
        None => l
            .req
            .basis_wording()
            .map(|w| serde_json::json!({"key": l.req.basis_key(), "wording": w})),
    };
    if staff {
        Ok(serde_json::json!({
            "id": l.req.id.to_string(),
            "version": l.stored.version,
            "case_number": l.case.case_number,
            "state": l.req.state.as_str(),
            "authorized_use": wording,
            "external_request": l.stored.external_id.map(|e| e.to_string()),
            "request": l.req,
            "edit_steps": l.edits.steps,
        }))
    } else {
        Ok(serde_json::json!({
            "id": l.req.id.to_string(),
            "case_number": l.case.case_number,
            "state": l.req.state.as_str(),
            "authorized_use": wording,
            "stills": l.req.probes.len(),
            "requester_view": l.req.requester_view(),
        }))
    }
}

/// Appends the audit entry of a read of protected data (SEC-04).
pub async fn audit_read(
    state: &AppState,
    p: &Principal,
    action: &str,
    record_id: &str,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: p.actor(),
            action: action.to_string(),
            record_type: "fr_request".into(),
            record_id: record_id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(())
}

/// Shared for `Arc<Principal>` handlers.
pub fn principal(p: &Arc<Principal>) -> &Principal {
    p.as_ref()
}
