//! Web pages of the FR workflow: request form, queue, the request page with the form of the step
//! due, the side-by-side comparison (zoom, flip, overlay) and the report. Every page calls the
//! same operations as the JSON API; images come only through the audited API routes.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Form, Multipart, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use probity_domain::fr_request::{FacialFeature, FrState, StillSource};
use probity_domain::FrAuthorizedUse;
use probity_policy::Action;

use super::workflow as wf;
use crate::authz::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

fn fail(state: &AppState, e: ApiError) -> Response {
    error_response(state, true, e)
}

fn uses() -> Vec<minijinja::Value> {
    FrAuthorizedUse::ALL
        .iter()
        .map(|u| context! { key => u.as_str(), number => u.number(), wording => u.wording() })
        .collect()
}

pub async fn queue(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(params): Query<super::api::QueueParams>,
) -> Response {
    match super::api::queue_rows(&state, &auth.principal, &params, "/fr").await {
        Ok(list) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "fr_queue.html",
            "/fr",
            context! { list => list, q => params.q, state => params.state, states => FrState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() },
        ),
        Err(e) => fail(&state, e),
    }
}

pub async fn new_request(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    let Some(case) = auth.case.as_ref() else {
        return fail(&state, ApiError::internal("case route without its case"));
    };
    page(
        &state,
        &headers,
        Some(&auth.principal),
        "fr_new.html",
        "/cases",
        context! {
            case_number => case.case.case_number.clone(),
            uses => uses(),
            sources => StillSource::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            slots => (0..3).collect::<Vec<usize>>(),
        },
    )
}

pub async fn create_request(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    mp: Multipart,
) -> Response {
    let result = async {
        let form = wf::read_form(mp).await?;
        check_csrf(&headers, form.csrf.as_deref().unwrap_or(""))?;
        let case = auth
            .case
            .as_ref()
            .ok_or_else(|| ApiError::internal("case route without its case"))?;
        wf::create(&state, &auth.principal, &case.case, form).await
    }
    .await;
    match result {
        Ok(l) => Redirect::to(&format!("/fr/requests/{}", l.req.id)).into_response(),
        Err(e) => fail(&state, e),
    }
}

fn can(state: &AppState, p: &crate::principal::Principal, a: Action, l: &wf::Loaded) -> bool {
    let Ok(resource) = l.resource() else {
        return false;
    };
    crate::decision::decide_for(state, p, a, &resource).allowed
}

pub async fn request(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let l = wf::load(&state, &id).await?;
        let view = wf::view(&state, &p, &l).await?;
        wf::audit_read(
            &state,
            &p,
            "fr.request.read",
            &id,
            serde_json::json!({ "state": l.req.state.as_str(), "page": true }),
        )
        .await?;
        let staff = can(&state, &p, Action::FrCandidatesRead, &l);
        let candidates = if staff && l.req.search.is_some() {
            wf::candidates(&state, &p, &id).await?.1
        } else {
            Vec::new()
        };
        let proposed = if l.req.requester_view().proposed_candidate_unapproved.is_some()
            && can(&state, &p, Action::FrProposedCandidateRead, &l)
        {
            Some(wf::proposed(&state, &p, &id).await?)
        } else {
            None
        };
        let gallery_empty = {
            let active = crate::fr::engine::active_spec(&state.store)
                .await?
                .id()
                .to_string();
            let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
            let (n, _, _) = probity_store::gallery::counts(&mut tx, &active)
                .await
                .map_err(crate::store_error)?;
            tx.commit().await.map_err(crate::store_error)?;
            n == 0
        };
        let me = p.person.id;
        Ok::<_, ApiError>(page(
            &state,
            &headers,
            Some(&p),
            "fr_request.html",
            "/fr",
            context! {
                id => id.clone(),
                view => view,
                state => l.req.state.as_str(),
                staff => staff,
                is_requester => l.req.requester == me,
                stills => (0..l.req.probes.len()).collect::<Vec<_>>(),
                probes => l.req.probes.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(),
                selected => l.req.quality.as_ref().map(|q| q.selected_probe),
                edits => l.edits.steps.clone(),
                candidates => candidates,
                proposed => proposed,
                history => l.req.history.iter().map(|h| context! {
                    from => h.from.as_str(), to => h.to.as_str(), at => h.at.to_rfc3339(),
                    rule => h.rule.clone(), note => h.note.clone(),
                }).collect::<Vec<_>>(),
                gallery_empty => gallery_empty,
                can_confirm => l.req.state == FrState::Submitted
                    && l.req.unforeseen_use.as_ref().is_none_or(|u| u.check_officials().is_ok())
                    && can(&state, &p, Action::FrBasisConfirm, &l),
                can_quality => l.req.state == FrState::BasisConfirmed && can(&state, &p, Action::FrQualityAssess, &l),
                can_edit => matches!(l.req.state, FrState::QualityChecked | FrState::SupervisorDiscussionAcknowledged) && can(&state, &p, Action::FrProbeEdit, &l),
                can_discuss => l.req.state == FrState::QualityChecked && can(&state, &p, Action::FrSupervisorDiscussionAcknowledge, &l),
                can_search => l.req.state == FrState::SupervisorDiscussionAcknowledged && can(&state, &p, Action::FrSearch, &l),
                can_identify => matches!(l.req.state, FrState::Searched | FrState::SentBack) && can(&state, &p, Action::FrIdentify, &l),
                can_background => l.req.state == FrState::Identification && l.req.requester == me,
                can_peer => matches!(l.req.state, FrState::BackgroundCheck | FrState::PeerReview) && can(&state, &p, Action::FrPeerReview, &l),
                can_supervise => matches!(l.req.state, FrState::PeerReview | FrState::SupervisorReview) && can(&state, &p, Action::FrSupervisorReview, &l),
                can_add_stills => l.req.state == FrState::ReturnedUnsuitable && l.req.requester == me,
                unforeseen => l.req.unforeseen_use.as_ref().map(|u| context! {
                    description => u.description.clone(),
                    approved => u.check_officials().is_ok(),
                    addendum => u.addendum.as_ref().map(|a| a.version.clone()),
                    approvals => approvals_view(&u.approvals),
                }),
                outside_approvals => approvals_view(&l.req.outside_repository_approvals),
                can_decide_unforeseen => l.req.state == FrState::Submitted
                    && l.req.unforeseen_use.as_ref().is_some_and(|u| u.check_officials().is_err())
                    && can(&state, &p, Action::FrUnforeseenUseDecide, &l),
                can_approve_outside => !l.req.state.is_final()
                    && !l.req.outside_repository_approved()
                    && can(&state, &p, Action::FrOutsideRepositoryApprove, &l),
                final_state => l.req.state.is_final(),
                features => FacialFeature::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                sources => StillSource::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                returned_reasons => l.req.quality_history.last().map(|q| q.reasons.clone()),
            },
        ))
    }
    .await;
    result.unwrap_or_else(|e| fail(&state, e))
}

fn approvals_view(
    approvals: &[probity_domain::fr_request::OfficialApproval],
) -> Vec<minijinja::Value> {
    approvals
        .iter()
        .map(|a| context! { role => a.role.as_str(), reason => a.reason.clone(), at => a.at.to_rfc3339() })
        .collect()
}

/// One workflow step from the request page (form fields by step).
pub async fn step(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let result = async {
        check_csrf(&headers, &get("csrf"))?;
        match get("step").as_str() {
            "confirm_basis" => {
                wf::confirm_basis(&state, &p, &id).await?;
            }
            "quality" => {
                let selected = get("selected_probe").parse::<usize>().map_err(|_| {
                    ApiError::bad_field("selected_probe", "select one of the stills")
                })?;
                let reasons: Vec<String> = get("reasons")
                    .lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
                wf::assess_quality(
                    &state,
                    &p,
                    &id,
                    wf::QualityInput {
                        selected_probe: selected,
                        suitable: get("suitable") == "yes",
                        reasons,
                    },
                )
                .await?;
            }
            "edit" => {
                let num = |k: &str| get(k).trim().parse::<f64>().unwrap_or(0.0);
                let edit = match get("op").as_str() {
                    "brightness" => probity_imaging::ProbeEdit::Brightness {
                        gain: num("gain") as f32,
                        delta: num("delta") as f32,
                    },
                    "crop" => probity_imaging::ProbeEdit::Crop {
                        x: num("x") as u32,
                        y: num("y") as u32,
                        width: num("width") as u32,
                        height: num("height") as u32,
                    },
                    "rotate" => probity_imaging::ProbeEdit::Rotate {
                        degrees: num("degrees"),
                    },
                    _ => {
                        return Err(ApiError::forbidden(
                            "FR-07",
                            "a probe may only be adjusted by brightness, crop or rotate",
                        ))
                    }
                };
                wf::edit(&state, &p, &id, edit).await?;
            }
            "discussion" => {
                wf::acknowledge_discussion(&state, &p, &id, &get("note")).await?;
            }
            "unforeseen_approval" => {
                wf::approve_unforeseen_use(&state, &p, &id, &get("reason")).await?;
            }
            "outside_approval" => {
                wf::approve_outside_repository(&state, &p, &id, &get("reason")).await?;
            }
            "search" => {
                wf::search(&state, &p, &id, wf::SearchInput::default()).await?;
            }
            "identification" => {
                let candidate = get("candidate");
                let mut features = BTreeMap::new();
                for feat in FacialFeature::ALL {
                    let finding = get(&format!("f_{}", feat.as_str()));
                    if !finding.is_empty() {
                        features.insert(
                            feat.as_str().to_string(),
                            wf::FeatureInput {
                                finding,
                                notes: get(&format!("n_{}", feat.as_str())),
                            },
                        );
                    }
                }
                let comparisons = if candidate.is_empty() {
                    Vec::new()
                } else {
                    vec![wf::ComparisonInput {
                        candidate,
                        features,
                        judgement: get("judgement"),
                    }]
                };
                wf::identify(&state, &p, &id, wf::IdentificationInput { comparisons }).await?;
            }
            "background_check" => {
                wf::background_check(
                    &state,
                    &p,
                    &id,
                    &get("result"),
                    get("corroborates") == "yes",
                )
                .await?;
            }
            "peer_review" => {
                wf::peer_review(&state, &p, &id, get("concur") == "yes", &get("notes")).await?;
            }
            "supervisor_review" => {
                wf::supervisor_review(
                    &state,
                    &p,
                    &id,
                    wf::SupervisorInput {
                        decision: get("decision"),
                        reasons: get("reasons"),
                    },
                )
                .await?;
            }
            other => {
                return Err(ApiError::bad_field(
                    "step",
                    format!("`{other}` is not a step"),
                ))
            }
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/fr/requests/{id}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

/// The requester adds stills to a request returned as unsuitable and resubmits it (FR-06).
pub async fn add_stills(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
    mp: Multipart,
) -> Response {
    let result = async {
        let form = wf::read_form(mp).await?;
        check_csrf(&headers, form.csrf.as_deref().unwrap_or(""))?;
        wf::add_stills(&state, &p, &id, form).await
    }
    .await;
    match result {
        Ok(_) => Redirect::to(&format!("/fr/requests/{id}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn compare(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path((id, candidate)): Path<(String, String)>,
) -> Response {
    let result = async {
        let (l, pool) = wf::candidates(&state, &p, &id).await?;
        let c = pool
            .into_iter()
            .find(|c| c.candidate == candidate)
            .ok_or_else(|| ApiError::not_found(format!("candidate {candidate}")))?;
        let selected = l.req.quality.as_ref().map(|q| q.selected_probe).unwrap_or(0);
        Ok::<_, ApiError>(page(
            &state,
            &headers,
            Some(&p),
            "fr_compare.html",
            "/fr",
            context! {
                id => id.clone(),
                candidate => c,
                selected => selected,
                can_identify => matches!(l.req.state, FrState::Searched | FrState::SentBack) && can(&state, &p, Action::FrIdentify, &l),
                features => FacialFeature::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            },
        ))
    }
    .await;
    result.unwrap_or_else(|e| fail(&state, e))
}

pub async fn report(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match wf::report(&state, &p, &id).await {
        Ok((_, r)) => {
            let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
            let lines: Vec<_> = super::report::lines(&body)
                .into_iter()
                .map(|(bold, text)| context! { bold => bold, text => text })
                .collect();
            page(
                &state,
                &headers,
                Some(&p),
                "fr_report.html",
                "/fr",
                context! { id => id, kind => r.kind, lines => lines, report => body },
            )
        }
        Err(e) => fail(&state, e),
    }
}

/// Outside agencies' requests (FR-20): the list with the analyses run for each, and the form to
/// document a new one.
pub async fn external_requests(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    let can_document = crate::decision::hint(&state, &auth.principal, "fr.external_request.create");
    match super::api::external_rows(&state, &auth).await {
        Ok(rows) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "fr_external.html",
            "/fr/external-requests",
            context! {
                rows => rows,
                can_document => can_document,
                purposes => probity_domain::DisclosurePurpose::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>(),
            },
        ),
        Err(e) => fail(&state, e),
    }
}

pub async fn document_external(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let result = async {
        check_csrf(&headers, &get("csrf"))?;
        let input = super::api::ExternalInput {
            csrf: None,
            agency: get("agency"),
            contact: get("contact"),
            investigation_reference: get("investigation_reference"),
            active_criminal_investigation: get("active_criminal_investigation") == "yes",
            purpose: get("purpose"),
        };
        super::api::document_external(&state, &auth, &input).await
    }
    .await;
    match result {
        Ok(id) => Redirect::to(&format!("/fr/external-requests#{id}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

/// Oversight figures for facial recognition (aggregates only).
pub async fn oversight(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match super::api::oversight_counts(&state).await {
        Ok(counts) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "fr_oversight.html",
            "/fr/oversight",
            context! { counts => counts },
        ),
        Err(e) => fail(&state, e),
    }
}

/// The photo repository for the records officer: figures, one page of the records and sealing
/// (FR-01, FR-02).
pub async fn gallery(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(params): Query<super::api::RecordListParams>,
) -> Response {
    gallery_page(&state, &headers, &auth, &params, None).await
}

/// The repository page, with the outcome of a sealing just done if any.
async fn gallery_page(
    state: &AppState,
    headers: &HeaderMap,
    auth: &Authorized,
    params: &super::api::RecordListParams,
    done: Option<minijinja::Value>,
) -> Response {
    let figures = match super::api::gallery_figures(state).await {
        Ok(f) => f,
        Err(e) => return fail(state, e),
    };
    match super::api::gallery_records(state, &auth.principal, params, "/fr/gallery").await {
        Ok(list) => page(
            state,
            headers,
            Some(&auth.principal),
            "fr_gallery.html",
            "/fr/gallery",
            context! {
                figures => figures, done => done, list => list,
                q => params.q, source => params.source, sealed => params.sealed,
            },
        ),
        Err(e) => fail(state, e),
    }
}

pub async fn seal(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let result = async {
        check_csrf(&headers, &get("csrf"))?;
        let arrest = get("arrest_id");
        if arrest.trim().is_empty() {
            return Err(ApiError::bad_field("arrest_id", "give the arrest id"));
        }
        let sealed = get("action") != "unseal";
        let changed =
            super::api::seal_arrest(&state, &auth, arrest.trim(), sealed, &get("reason")).await?;
        Ok((arrest, sealed, changed.len()))
    }
    .await;
    match result {
        Ok((arrest, sealed, n)) => {
            let done = context! { arrest => arrest.clone(), sealed => sealed, records => n };
            let params = super::api::RecordListParams {
                q: Some(arrest),
                ..Default::default()
            };
            gallery_page(&state, &headers, &auth, &params, Some(done)).await
        }
        Err(e) => fail(&state, e),
    }
}
