//! JSON handlers of the FR workflow; the operations are in [`super::workflow`].

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use probity_domain::fr_request::{FrRequest, FrState};
use probity_domain::{FrAuthorizedUse, UserId};
use probity_policy::{Action, Resource};
use probity_store::{audit, fr, gallery};
use serde::Deserialize;
use serde_json::{json, Value};

use super::workflow::{self as wf, Loaded};
use crate::authz::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged, Visible};
use crate::state::AppState;

type ApiResult = Result<Response, ApiError>;

fn case_of(auth: &Authorized) -> Result<&probity_store::cases::Case, ApiError> {
    auth.case
        .as_ref()
        .map(|c| &c.case)
        .ok_or_else(|| ApiError::internal("case route without its case"))
}

async fn view(state: &AppState, p: &crate::principal::Principal, l: &Loaded) -> ApiResult {
    Ok(Json(wf::view(state, p, l).await?).into_response())
}

pub async fn create(State(state): State<AppState>, auth: Authorized, mp: Multipart) -> ApiResult {
    let form = wf::read_form(mp).await?;
    let case = case_of(&auth)?;
    let l = wf::create(&state, &auth.principal, case, form).await?;
    let body = wf::view(&state, &auth.principal, &l).await?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

pub async fn authorized_uses(_p: SignedIn) -> Json<Value> {
    Json(json!(FrAuthorizedUse::ALL
        .iter()
        .map(|u| json!({"key": u.as_str(), "number": u.number(), "wording": u.wording()}))
        .collect::<Vec<_>>()))
}

/// The query string of the FR queue: paging (see [`crate::listing`]), sort by `submitted`
/// (default, newest first), `updated`, `state` or `case`, `q` (part of the case number or the
/// start of the request id) and `state`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct QueueParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub state: Option<String>,
}

const QUEUE_SORTS: &[&str] = &["submitted", "updated", "state", "case"];

/// One page of the requests an FR investigator or supervisor works, each filtered by
/// `fr.request.read` on that request (FR-25: political-activity cases only for the Intelligence
/// Division). The page is filled from the requests the policy allows (see
/// [`crate::listing::Visible`]), so the total is "at least".
pub async fn queue_rows(
    state: &AppState,
    p: &crate::principal::Principal,
    params: &QueueParams,
    path: &str,
) -> Result<Paged<Value>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        QUEUE_SORTS,
        true,
    )?;
    let wanted_state = non_empty(params.state.as_deref());
    let mut filter = fr::RequestFilter {
        q: page.q.clone(),
        state: wanted_state.clone(),
        sort: match page.sort {
            "updated" => fr::RequestSort::Updated,
            "state" => fr::RequestSort::State,
            "case" => fr::RequestSort::Case,
            _ => fr::RequestSort::Submitted,
        },
        descending: page.descending,
        limit: 0,
        offset: 0,
    };
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let mut case_refs = std::collections::HashMap::new();
    let mut visible = Visible::new(&page);
    loop {
        filter.limit = visible.batch();
        filter.offset = visible.read();
        let batch = fr::list_page(&mut tx, &filter)
            .await
            .map_err(crate::store_error)?;
        for r in &batch {
            if let std::collections::hash_map::Entry::Vacant(slot) = case_refs.entry(r.case_id) {
                let case = probity_store::cases::get(&mut tx, r.case_id)
                    .await
                    .map_err(crate::store_error)?;
                slot.insert(case.as_ref().and_then(crate::decision::case_ref));
            }
        }
        let done = visible.offer(batch, |r| {
            let Some(Some(case_ref)) = case_refs.get(&r.case_id) else {
                return false;
            };
            let resource = Resource::FrRequest {
                id: probity_domain::FrRequestId(r.id),
                case: case_ref.clone(),
                requester: UserId(r.requester),
            };
            crate::decision::decide_for(state, p, Action::FrRequestRead, &resource).allowed
        });
        if done {
            break;
        }
    }
    tx.commit().await.map_err(crate::store_error)?;
    let at_least = visible.at_least();
    let more = visible.more;
    let mut rows = Vec::new();
    let mut shown = Vec::new();
    for r in visible.items {
        shown.push(r.id.to_string());
        let awaiting_officials = r.state == FrState::Submitted.as_str()
            && r.authorized_use.as_deref() == Some(probity_domain::fr_request::UNFORESEEN_USE_KEY)
            && serde_json::from_str::<FrRequest>(&r.data)
                .ok()
                .and_then(|q| q.unforeseen_use)
                .is_some_and(|u| u.check().is_err());
        rows.push(json!({
            "id": r.id.to_string(),
            "case_number": r.case_number,
            "state": r.state,
            "authorized_use": r.authorized_use,
            "awaiting_officials": awaiting_officials,
            "submitted_at": r.created_at.to_rfc3339(),
            "updated_at": r.updated_at.to_rfc3339(),
        }));
    }
    wf::audit_read(state, p, "fr.queue.read", "*", json!({ "requests": shown })).await?;
    let links = Links::new(path)
        .filter("q", page.q.as_deref())
        .filter("state", wanted_state.as_deref());
    Ok(Paged::offset_page(
        rows, &page, &links, at_least, false, more,
    ))
}

pub async fn queue(
    State(state): State<AppState>,
    auth: Authorized,
    Query(params): Query<QueueParams>,
) -> ApiResult {
    Ok(Json(queue_rows(&state, &auth.principal, &params, "/api/fr/queue").await?).into_response())
}

pub async fn read(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    let l = wf::load(&state, &id).await?;
    let body = wf::view(&state, &p, &l).await?;
    wf::audit_read(
        &state,
        &p,
        "fr.request.read",
        &id,
        json!({ "state": l.req.state.as_str() }),
    )
    .await?;
    Ok(Json(body).into_response())
}

pub async fn add_stills(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    mp: Multipart,
) -> ApiResult {
    let form = wf::read_form(mp).await?;
    let l = wf::add_stills(&state, &p, &id, form).await?;
    view(&state, &p, &l).await
}

pub async fn confirm_basis(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    let l = wf::confirm_basis(&state, &p, &id).await?;
    view(&state, &p, &l).await
}

pub async fn measure(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((id, n)): Path<(String, usize)>,
) -> ApiResult {
    let l = wf::load(&state, &id).await?;
    wf::ask(&state, &p, Action::FrQualityAssess, &l).await?;
    Ok(Json(wf::measure(&state, &l, n).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ImageQuery {
    #[serde(default)]
    pub edited: Option<String>,
}

/// A still (or the edited probe) as PNG, for the request's participants; audited read.
pub async fn still_image_bytes(
    state: &AppState,
    p: &crate::principal::Principal,
    id: &str,
    n: usize,
    edited: bool,
) -> Result<Vec<u8>, ApiError> {
    let l = wf::load(state, id).await?;
    let rule = wf::ask(state, p, Action::FrRequestRead, &l).await?;
    let img = wf::probe_image(state, &l, n, edited).await?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png)
        .map_err(ApiError::internal)?;
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "fr.request.read.still".into(),
            record_type: "fr_request".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({ "rule": rule, "still": n, "edited": edited }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(png.into_inner())
}

pub async fn still_image(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((id, n)): Path<(String, usize)>,
    Query(q): Query<ImageQuery>,
) -> ApiResult {
    let edited = q.edited.as_deref().is_some_and(|v| v == "1" || v == "true");
    let png = still_image_bytes(&state, &p, &id, n, edited).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        png,
    )
        .into_response())
}

pub async fn quality(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<wf::QualityInput>,
) -> ApiResult {
    let (l, measured) = wf::assess_quality(&state, &p, &id, input).await?;
    let mut body = wf::view(&state, &p, &l).await?;
    body["measured"] = measured;
    Ok(Json(body).into_response())
}

pub async fn edit(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(raw): Json<Value>,
) -> ApiResult {
    // Only brightness, crop and rotate exist (FR-07): anything else does not parse.
    let edit: probity_imaging::ProbeEdit = serde_json::from_value(raw).map_err(|e| {
        ApiError::bad_field(
            "op",
            format!("FR-07: a probe may only be adjusted by brightness, crop or rotate ({e})"),
        )
        .with_rule("FR-07")
    })?;
    let l = wf::edit(&state, &p, &id, edit).await?;
    view(&state, &p, &l).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NoteInput {
    #[serde(default)]
    pub note: String,
}

pub async fn discussion(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<NoteInput>,
) -> ApiResult {
    let l = wf::acknowledge_discussion(&state, &p, &id, &input.note).await?;
    view(&state, &p, &l).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReasonInput {
    #[serde(default)]
    pub reason: String,
}

pub async fn outside_approval(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> ApiResult {
    let l = wf::approve_outside_repository(&state, &p, &id, &input.reason).await?;
    view(&state, &p, &l).await
}

pub async fn unforeseen_approval(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<ReasonInput>,
) -> ApiResult {
    let l = wf::approve_unforeseen_use(&state, &p, &id, &input.reason).await?;
    view(&state, &p, &l).await
}

pub async fn search(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> ApiResult {
    // Undocumented fields are refused, protected traits naming FR-24 (and audited).
    let input =
        super::protected_traits::search_input(&state, &p, &id, body.map(|Json(b)| b)).await?;
    let (l, n) = wf::search(&state, &p, &id, input).await?;
    let mut body = wf::view(&state, &p, &l).await?;
    body["pool_size"] = json!(n);
    Ok(Json(body).into_response())
}

pub async fn candidates(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    let (l, pool) = wf::candidates(&state, &p, &id).await?;
    Ok(Json(json!({
        "request": l.req.id.to_string(),
        "algorithm": l.req.search.as_ref().map(|s| s.algorithm_version.clone()),
        "candidates": pool,
    }))
    .into_response())
}

pub async fn candidate_photo(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path((id, candidate)): Path<(String, String)>,
) -> ApiResult {
    let (bytes, media) = wf::candidate_photo(&state, &p, &id, &candidate).await?;
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

pub async fn identification(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<wf::IdentificationInput>,
) -> ApiResult {
    let l = wf::identify(&state, &p, &id, input).await?;
    view(&state, &p, &l).await
}

pub async fn proposed(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    Ok(Json(wf::proposed(&state, &p, &id).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BackgroundInput {
    #[serde(default)]
    pub result: String,
    #[serde(default)]
    pub corroborates: bool,
}

pub async fn background_check(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<BackgroundInput>,
) -> ApiResult {
    let l = wf::background_check(&state, &p, &id, &input.result, input.corroborates).await?;
    view(&state, &p, &l).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PeerInput {
    pub concur: bool,
    #[serde(default)]
    pub notes: String,
}

pub async fn peer_review(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<PeerInput>,
) -> ApiResult {
    let l = wf::peer_review(&state, &p, &id, input.concur, &input.notes).await?;
    view(&state, &p, &l).await
}

pub async fn supervisor_review(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Json(input): Json<wf::SupervisorInput>,
) -> ApiResult {
    let l = wf::supervisor_review(&state, &p, &id, input).await?;
    view(&state, &p, &l).await
}

pub async fn report(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    let (_, r) = wf::report(&state, &p, &id).await?;
    let body: Value = serde_json::from_str(&r.body).map_err(ApiError::internal)?;
    Ok(Json(json!({
        "kind": r.kind,
        "created_at": r.created_at.to_rfc3339(),
        "pdf": format!("/api/fr/requests/{id}/report.pdf"),
        "report": body,
    }))
    .into_response())
}

pub async fn report_pdf(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
) -> ApiResult {
    let pdf = wf::report_pdf(&state, &p, &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CaseEntryInput {
    /// corroborating_evidence | arrest_basis
    pub kind: String,
    #[serde(default)]
    pub text: String,
    /// For an arrest basis citing an FR possible match.
    pub fr_request: Option<String>,
}

/// FR-15: corroborating evidence, or an FR match as the basis of an arrest (only with
/// corroborating evidence recorded by the assigned investigator).
pub async fn case_entry(
    State(state): State<AppState>,
    auth: Authorized,
    Json(input): Json<CaseEntryInput>,
) -> ApiResult {
    let case = case_of(&auth)?.clone();
    let p = &auth.principal;
    let case_ref = crate::decision::case_ref(&case)
        .ok_or_else(|| ApiError::internal("stored case has an invalid command"))?;
    let action = match input.kind.as_str() {
        "corroborating_evidence" => Action::CaseUpdate,
        "arrest_basis" => Action::CaseRecordArrestBasis,
        other => {
            return Err(ApiError::bad_field(
                "kind",
                format!("`{other}`: give corroborating_evidence or arrest_basis"),
            ))
        }
    };
    let rule = wf::ask_on(
        &state,
        p,
        action,
        &Resource::Case(case_ref),
        &case.case_number,
    )
    .await?;
    if input.text.trim().is_empty() {
        return Err(ApiError::bad_field("text", "describe the entry"));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut request_id = None;
    if action == Action::CaseRecordArrestBasis {
        if let Some(rid) = input.fr_request.as_deref() {
            let l = wf::load(&state, rid).await?;
            let entries = fr::case_entries(&mut tx, case.id)
                .await
                .map_err(crate::store_error)?;
            let by: Vec<UserId> = entries
                .iter()
                .filter(|e| e.kind == "corroborating_evidence")
                .map(|e| UserId(e.recorded_by))
                .collect();
            let dcase = crate::cases::domain_case(&case)?;
            if let Err(e) = probity_domain::fr_request::check_arrest_basis(&l.req, &dcase, &by) {
                tx.rollback().await.map_err(crate::store_error)?;
                if let probity_domain::DomainError::Refused { rule, .. } = &e {
                    state
                        .audit_denial(p, action.as_str(), "case", &case.case_number, rule)
                        .await?;
                }
                return Err(crate::domain_error(e));
            }
            request_id = Some(l.stored.id);
        }
    }
    let entry = fr::CaseEntry {
        id: uuid::Uuid::now_v7(),
        case_id: case.id,
        request_id,
        kind: input.kind.clone(),
        text: input.text.trim().to_string(),
        recorded_by: p.person.id.0,
        created_at: Utc::now(),
    };
    fr::insert_case_entry(&mut tx, &entry)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: format!("case.fr_entry.{}", input.kind),
            record_type: "case".into(),
            record_id: case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({ "rule": rule, "fr_request": request_id.map(|u| u.to_string()) }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": entry.id.to_string(), "kind": entry.kind })),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExternalInput {
    /// The page form's CSRF token (checked by the page handler).
    #[serde(default)]
    pub csrf: Option<String>,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub investigation_reference: String,
    #[serde(default)]
    pub active_criminal_investigation: bool,
    /// What the agency wants the search for (e.g. criminal_investigation); civil immigration
    /// enforcement is refused (EXT-02).
    #[serde(default)]
    pub purpose: String,
}

/// FR-20: an outside agency's request, documented by NYPD staff (the agency has no account that
/// can search; the search runs through the same workflow on an NYPD case).
pub async fn external_create(
    State(state): State<AppState>,
    auth: Authorized,
    Json(input): Json<ExternalInput>,
) -> ApiResult {
    let id = document_external(&state, &auth, &input).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id.to_string() }))).into_response())
}

/// The agency an outside account's agreement in force names (EXT-07), or None for a member.
/// An outside account with no agreement in force and complete terms has no agency: the pack
/// refuses it everything before this is asked.
pub async fn liaison_agency(
    state: &AppState,
    p: &crate::principal::Principal,
) -> Result<Option<String>, ApiError> {
    if p.person.kind != probity_domain::people::PersonKind::ExternalAgency {
        return Ok(None);
    }
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let contracts = probity_store::vendors::current(&mut tx, p.user.id, Utc::now())
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let agency = contracts
        .iter()
        .filter_map(|c| c.agreement_terms.as_deref())
        .filter_map(|t| serde_json::from_str::<probity_domain::AgencyAgreementTerms>(t).ok())
        .find(|t| t.validate().is_ok())
        .map(|t| t.agency);
    // Never "all agencies" for an outside account: no agreement, no rows.
    Ok(Some(agency.unwrap_or_default()))
}

/// Validates and records an outside agency's request with its audit entry (FR-20).
pub async fn document_external(
    state: &AppState,
    auth: &Authorized,
    input: &ExternalInput,
) -> Result<uuid::Uuid, ApiError> {
    let p = &auth.principal;
    if let Some(own) = liaison_agency(state, p).await? {
        if own.is_empty() || !own.trim().eq_ignore_ascii_case(input.agency.trim()) {
            state
                .audit_denial(
                    p,
                    "fr.external_request.create",
                    "fr_external_request",
                    "*",
                    "EXT-07",
                )
                .await?;
            return Err(ApiError::forbidden(
                "EXT-07",
                format!(
                    "a liaison documents requests of its own agency only ({})",
                    if own.is_empty() {
                        "none in force"
                    } else {
                        own.as_str()
                    }
                ),
            ));
        }
    }
    let purpose = match input.purpose.trim() {
        "" => None,
        raw => Some(
            <probity_domain::DisclosurePurpose as std::str::FromStr>::from_str(raw)
                .map_err(|e| ApiError::bad_field("purpose", e.to_string()).with_rule("FR-20"))?,
        ),
    };
    let doc = probity_domain::fr_request::ExternalAgencyRequest {
        agency: input.agency.trim().to_string(),
        contact: input.contact.trim().to_string(),
        investigation_reference: input.investigation_reference.trim().to_string(),
        active_criminal_investigation: input.active_criminal_investigation,
        documented_by: p.person.id,
        received_at: Utc::now(),
        purpose,
    };
    if let Err(e) = doc.validate() {
        if e.rule() == Some("EXT-02") {
            state
                .audit_denial(
                    p,
                    "fr.external_request.create",
                    "fr_external_request",
                    "*",
                    "EXT-02",
                )
                .await?;
        }
        return Err(crate::domain_error(e));
    }
    let e = fr::ExternalRequest {
        id: uuid::Uuid::now_v7(),
        agency: doc.agency.clone(),
        contact: doc.contact.clone(),
        investigation_reference: doc.investigation_reference.clone(),
        documented_by: p.actor(),
        received_at: doc.received_at,
        purpose: doc.purpose.map(|p| p.as_str().to_string()),
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    fr::insert_external(&mut tx, &e)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "fr.external_request.create".into(),
            record_type: "fr_external_request".into(),
            record_id: e.id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({ "rule": auth.rule, "agency": e.agency, "reference": e.investigation_reference }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(e.id)
}

pub async fn external_list(State(state): State<AppState>, auth: Authorized) -> ApiResult {
    Ok(Json(external_rows(&state, &auth).await?).into_response())
}

/// Outside agencies' requests, newest first, each with the requests for analysis run for it
/// (audited read, FR-20).
pub async fn external_rows(state: &AppState, auth: &Authorized) -> Result<Vec<Value>, ApiError> {
    let own = liaison_agency(state, &auth.principal).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut all = fr::external_requests(&mut tx)
        .await
        .map_err(crate::store_error)?;
    // EXT-07: a liaison account sees only its own agency's requests.
    if let Some(agency) = &own {
        all.retain(|e| e.agency.trim().eq_ignore_ascii_case(agency.trim()));
    }
    let requests = fr::list(&mut tx, &[]).await.map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "fr.external_request.read".into(),
            record_type: "fr_external_request".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({ "rule": auth.rule, "count": all.len() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    // The Department's own cases stay inside the Department: an outside account sees its
    // documented requests, not the cases they were run on.
    let member = auth.principal.person.kind == probity_domain::people::PersonKind::Member;
    Ok(all
        .iter()
        .map(|e| {
            let linked: Vec<Value> = requests
                .iter()
                .filter(|r| member && r.external_id == Some(e.id))
                .map(|r| json!({ "id": r.id.to_string(), "case_number": r.case_number, "state": r.state }))
                .collect();
            json!({
                "id": e.id.to_string(), "agency": e.agency, "contact": e.contact,
                "investigation_reference": e.investigation_reference,
                "documented_by": e.documented_by, "received_at": e.received_at.to_rfc3339(),
                "purpose": e.purpose,
                "requests": linked,
            })
        })
        .collect())
}

/// Oversight counts: requests by authorized use and outcome, mean time per step, outside-repository
/// approvals, outside agencies' requests. Aggregates only.
pub async fn oversight(State(state): State<AppState>, auth: Authorized) -> ApiResult {
    let counts = oversight_counts(&state).await?;
    // Aggregates only, but who read them, and by which rule, is kept like any read (SEC-04).
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: auth.action.into(),
            record_type: "fr_oversight".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(Json(counts).into_response())
}

/// The oversight figures, for the API and the page (aggregates only: no names, no cases).
pub async fn oversight_counts(state: &AppState) -> Result<Value, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let all = fr::list(&mut tx, &[]).await.map_err(crate::store_error)?;
    let external = fr::external_requests(&mut tx)
        .await
        .map_err(crate::store_error)?
        .len();
    tx.commit().await.map_err(crate::store_error)?;
    let mut unforeseen = 0usize;
    let mut unforeseen_approved = 0usize;
    let mut external_linked = 0usize;
    let mut by_use: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    let mut step_ms: BTreeMap<String, (i64, u64)> = BTreeMap::new();
    let mut approvals = 0usize;
    for r in &all {
        let Ok(req) = serde_json::from_str::<FrRequest>(&r.data) else {
            continue;
        };
        let outcome = match req.state {
            FrState::ApprovedPossibleMatch => "possible_match",
            FrState::Negative => "negative",
            _ => "open",
        };
        *by_use
            .entry(r.authorized_use.clone().unwrap_or_else(|| "none".into()))
            .or_default()
            .entry(outcome.into())
            .or_default() += 1;
        approvals += req.outside_repository_approvals.len();
        if let Some(u) = &req.unforeseen_use {
            unforeseen += 1;
            if u.check().is_ok() {
                unforeseen_approved += 1;
            }
        }
        if r.external_id.is_some() {
            external_linked += 1;
        }
        for pair in req.history.windows(2) {
            let e = step_ms.entry(pair[0].to.as_str().to_string()).or_default();
            e.0 += (pair[1].at - pair[0].at).num_milliseconds();
            e.1 += 1;
        }
    }
    let times: BTreeMap<String, Value> = step_ms
        .into_iter()
        .map(|(k, (ms, n))| {
            (
                k,
                json!({ "transitions": n, "mean_seconds": ms as f64 / 1000.0 / n.max(1) as f64 }),
            )
        })
        .collect();
    Ok(json!({
        "requests": all.len(),
        "by_authorized_use_and_outcome": by_use,
        "time_in_state": times,
        "outside_repository_approvals": approvals,
        "unforeseen_uses": { "requested": unforeseen, "approved_by_three_officials": unforeseen_approved },
        "external_agency_requests": external,
        "requests_run_for_external_agencies": external_linked,
    }))
}

pub async fn gallery_status(State(state): State<AppState>, _auth: Authorized) -> ApiResult {
    Ok(Json(gallery_figures(&state).await?).into_response())
}

/// The photo repository in figures: records, sealed records, templates of the active algorithm.
pub async fn gallery_figures(state: &AppState) -> Result<Value, ApiError> {
    let algorithm = super::engine::active_spec(&state.store)
        .await?
        .id()
        .to_string();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let (records, sealed, templates) = gallery::counts(&mut tx, &algorithm)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(json!({
        "records": records, "sealed": sealed, "templates": templates, "algorithm": algorithm,
        "models_installed": probity_face::model_dir().is_dir(),
    }))
}

/// The query string of the repository's record list: paging (see [`crate::listing`]), sort by
/// `record` (default, import order), `photo_date`, `arrest` or `subject`, `q` (part of the
/// subject id or the arrest/charge id), `source` (`arrest` or `parole`) and `sealed` (`true` or
/// `false`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RecordListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub source: Option<String>,
    pub sealed: Option<String>,
}

const RECORD_SORTS: &[&str] = &["record", "photo_date", "arrest", "subject"];

/// A repository record as the list shows it: its identifiers, never its photo or template.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RepositoryRecordView {
    pub record_no: i64,
    pub subject_id: String,
    /// `arrest` or `parole`.
    pub source: String,
    pub arrest_id: String,
    pub photo_date: String,
    /// Sealed records are never searched (FR-02).
    pub sealed: bool,
    pub sealed_at: Option<String>,
    pub imported_by: String,
    pub imported_at: String,
}

/// One page of the repository's records, for the records officer who seals them (the route's
/// decision is `fr.gallery.seal`, as the repository page's). The list is one decision on the
/// repository, so the total is exact; the read is audited with the records shown.
pub async fn gallery_records(
    state: &AppState,
    p: &crate::principal::Principal,
    params: &RecordListParams,
    path: &str,
) -> Result<Paged<RepositoryRecordView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        RECORD_SORTS,
        false,
    )?;
    let sealed = crate::listing::bool_filter("sealed", params.sealed.as_deref())?;
    let filter = gallery::RecordFilter {
        q: page.q.clone(),
        source: non_empty(params.source.as_deref()),
        sealed,
        sort: match page.sort {
            "photo_date" => gallery::RecordSort::PhotoDate,
            "arrest" => gallery::RecordSort::Arrest,
            "subject" => gallery::RecordSort::Subject,
            _ => gallery::RecordSort::Record,
        },
        descending: page.descending,
        limit: page.limit,
        offset: page.offset,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let (records, total) = gallery::records_page(&mut tx, &filter)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "fr.gallery.list".into(),
            record_type: "fr_record".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: json!({
                "records": records.iter().map(|r| r.record_no).collect::<Vec<_>>(),
                "offset": page.offset,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let more = page.offset.saturating_add(records.len() as u64) < total;
    let items = records
        .into_iter()
        .map(|r| RepositoryRecordView {
            record_no: r.record_no,
            subject_id: r.subject_id,
            source: r.source,
            arrest_id: r.arrest_id,
            photo_date: r.photo_date,
            sealed: r.sealed,
            sealed_at: r.sealed_at.map(|t| t.to_rfc3339()),
            imported_by: r.created_by,
            imported_at: r.created_at.to_rfc3339(),
        })
        .collect();
    let links = Links::new(path)
        .filter("q", filter.q.as_deref())
        .filter("source", filter.source.as_deref())
        .filter("sealed", sealed);
    Ok(Paged::offset_page(items, &page, &links, total, true, more))
}

pub async fn gallery_records_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(params): Query<RecordListParams>,
) -> ApiResult {
    let list = gallery_records(&state, &auth.principal, &params, "/api/fr/gallery/records").await?;
    Ok(Json(list).into_response())
}

/// Import from a manifest with its files (multipart: `manifest` CSV, files named as in the
/// manifest's `file` column). The only way into the repository (FR-01); a file equal to a probe
/// still is refused (FR-03); no stored blob can be named.
pub async fn gallery_import(
    State(state): State<AppState>,
    auth: Authorized,
    mut mp: Multipart,
) -> ApiResult {
    let mut manifest = None;
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let bad = |e: axum::extract::multipart::MultipartError| {
        ApiError::bad_request(format!("the multipart body could not be read: {e}"))
    };
    while let Some(field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        if name == "manifest" {
            manifest = Some(field.text().await.map_err(bad)?);
        } else if name == "blob_id" || name == "probe" || name.starts_with("blob") {
            return Err(ApiError::forbidden(
                "FR-03",
                "repository records are imported only from a manifest with their photo files; \
                 stored images (such as probe stills) can never be enrolled",
            ));
        } else {
            let fname = field.file_name().map(str::to_string).unwrap_or(name);
            files.insert(fname, field.bytes().await.map_err(bad)?.to_vec());
        }
    }
    let manifest = manifest.ok_or_else(|| {
        ApiError::bad_field("manifest", "give the manifest CSV").with_rule("FR-01")
    })?;
    let (rows, mut refused) = super::gallery::parse_manifest(&manifest)
        .map_err(|e| ApiError::bad_field("manifest", e).with_rule("FR-01"))?;
    let fr_engine = super::engine::get(&state).await?;
    let mut imported = Vec::new();
    // Progress on the operations page: manifest rows worked through.
    let total = rows.len() as u64;
    let mut tracker = crate::progress::Tracker::start(
        &state,
        crate::progress::GALLERY_IMPORT,
        "photo repository upload",
        &auth.principal.actor(),
        Some(total),
    )
    .await;
    for (i, row) in rows.into_iter().enumerate() {
        tracker.advance(i as u64, None).await;
        let Some(bytes) = files.get(&row.file) else {
            refused.push(super::gallery::Refusal {
                line: row.line,
                file: row.file.clone(),
                reason: "the file is not part of the upload".into(),
            });
            continue;
        };
        match super::gallery::import_one(
            &state.store,
            &fr_engine.engine,
            &row,
            bytes,
            &auth.principal.actor(),
        )
        .await
        {
            Ok(n) => imported.push(n),
            Err(reason) => refused.push(super::gallery::Refusal {
                line: row.line,
                file: row.file.clone(),
                reason,
            }),
        }
    }
    tracker.advance(total, None).await;
    tracker.finish(true).await;
    // Picks up the new templates at once.
    super::engine::get(&state).await?;
    let status = if imported.is_empty() && !refused.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let refused_rule = refused.iter().any(|r| r.reason.contains("FR-03"));
    Ok((
        status,
        Json(json!({
            "imported": imported.len(),
            "records": imported,
            "refused": refused,
            "rule": if refused_rule { Some("FR-03") } else if status != StatusCode::OK { Some("FR-01") } else { None },
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SealInput {
    #[serde(default = "yes")]
    pub sealed: bool,
    #[serde(default)]
    pub reason: String,
}

fn yes() -> bool {
    true
}

/// Seal (or unseal) an arrest (FR-02): out of the index at once and out of every result.
pub async fn gallery_seal(
    State(state): State<AppState>,
    auth: Authorized,
    Path(arrest): Path<String>,
    Json(input): Json<SealInput>,
) -> ApiResult {
    let changed = seal_arrest(&state, &auth, &arrest, input.sealed, &input.reason).await?;
    Ok(
        Json(json!({ "arrest_id": arrest, "sealed": input.sealed, "records": changed }))
            .into_response(),
    )
}

/// Seals or unseals an arrest's photographs in the database and, at once, in the loaded index
/// (FR-02); returns the records changed.
pub async fn seal_arrest(
    state: &AppState,
    auth: &Authorized,
    arrest: &str,
    sealed: bool,
    reason: &str,
) -> Result<Vec<i64>, ApiError> {
    let changed = super::gallery::set_sealed(
        &state.store,
        arrest,
        sealed,
        &auth.principal.actor(),
        reason,
    )
    .await
    .map_err(crate::store_error)?;
    if let Some(fr_engine) = super::engine::loaded(state) {
        let mut index = fr_engine
            .index
            .write()
            .map_err(|_| ApiError::internal("index lock poisoned"))?;
        for n in &changed {
            let r = probity_face::RecordId(*n as u64);
            if sealed {
                index.seal(r);
            } else {
                index.unseal(r);
            }
        }
    }
    Ok(changed)
}

/// Parses an authorized use key for forms.
pub fn use_label(key: &str) -> Option<&'static str> {
    FrAuthorizedUse::from_str(key).ok().map(|u| u.wording())
}
