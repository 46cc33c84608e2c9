//! Repository photos below the quality floor (FR-01, FR-06): every photo's face is measured at
//! import as a probe's is; a photo outside the floor (face too small, blurred, badly exposed,
//! turned or tilted) is flagged to the records officer, who reviews each one with a note (and
//! seals or replaces it through the repository's own workflow). Listing and reviewing are audited.

use std::collections::HashMap;

use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, Method as M, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use chrono::Utc;
use minijinja::context;
use probity_store::{audit, gallery, gallery_quality};
use serde::{Deserialize, Serialize};

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    t.add(
        M::GET,
        "/api/fr/gallery/quality",
        Access::action("fr.gallery.seal"),
        "Repository photos below the quality floor awaiting the records officer's review, oldest first, with the measures and what is outside the floor (FR-01, FR-06)",
        get(list_api),
    )
    .add(
        M::POST,
        "/api/fr/gallery/quality/{record}/review",
        Access::action("fr.gallery.seal"),
        "Record the review of a flagged repository photo, with a note (FR-01, FR-06)",
        post(review_api),
    )
    .add(
        M::GET,
        "/fr/gallery/quality",
        Access::action("fr.gallery.seal"),
        "Repository photos below the quality floor (page)",
        get(list_page),
    )
    .add(
        M::POST,
        "/fr/gallery/quality/{record}/review",
        Access::action("fr.gallery.seal"),
        "Record the review of a flagged repository photo (form)",
        post(review_form),
    )
}

/// Paging of the flagged list.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct QualityListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// One flagged photo.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlaggedPhoto {
    pub record_no: i64,
    pub candidate: String,
    pub subject_id: String,
    pub source: String,
    pub arrest_id: String,
    pub photo_date: String,
    pub sealed: bool,
    pub measured_at: String,
    /// What is outside the floor, in words.
    pub issues: Vec<String>,
    /// The engine's quality report of the face.
    #[schema(value_type = Object)]
    pub measures: serde_json::Value,
}

/// One page of flagged photos awaiting review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlaggedPage {
    pub items: Vec<FlaggedPhoto>,
    pub total: i64,
    pub limit: u32,
    pub offset: u64,
}

/// The review of one flagged photo.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhotoReviewInput {
    /// What was decided about the photo (kept, to be replaced, sealed, ...).
    #[serde(default)]
    pub note: String,
}

async fn flagged(
    state: &AppState,
    auth: &Authorized,
    params: &QualityListParams,
) -> Result<FlaggedPage, ApiError> {
    let limit = params
        .limit
        .unwrap_or(crate::listing::DEFAULT_LIMIT)
        .clamp(1, crate::listing::MAX_LIMIT);
    let offset = params.offset.unwrap_or(0);
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let (rows, total) = gallery_quality::awaiting_review(
        &mut tx,
        i64::from(limit),
        i64::try_from(offset).unwrap_or(i64::MAX),
    )
    .await
    .map_err(crate::store_error)?;
    let mut items = Vec::with_capacity(rows.len());
    for q in rows {
        let Some(r) = gallery::get(&mut tx, q.record_no)
            .await
            .map_err(crate::store_error)?
        else {
            continue;
        };
        items.push(FlaggedPhoto {
            record_no: q.record_no,
            candidate: super::workflow::candidate_id(q.record_no),
            subject_id: r.subject_id,
            source: r.source,
            arrest_id: r.arrest_id,
            photo_date: r.photo_date,
            sealed: r.sealed,
            measured_at: q.measured_at.to_rfc3339(),
            issues: q.issues,
            measures: q.measures,
        });
    }
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "fr.gallery.quality.view".into(),
            record_type: "fr_gallery".into(),
            record_id: "quality".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "shown": items.iter().map(|i| i.record_no).collect::<Vec<_>>(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(FlaggedPage {
        items,
        total,
        limit,
        offset,
    })
}

async fn review(
    state: &AppState,
    auth: &Authorized,
    record: &str,
    note: &str,
) -> Result<gallery_quality::PhotoQuality, ApiError> {
    let record_no: i64 = record
        .trim()
        .trim_start_matches('R')
        .parse()
        .map_err(|_| ApiError::not_found(format!("repository record {record}")))?;
    let note = note.trim();
    if note.is_empty() {
        return Err(ApiError::bad_field(
            "note",
            "say what was decided about the photo (kept, to be replaced, sealed, ...)",
        ));
    }
    let by = auth.principal.user.username.clone();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let Some(current) = gallery_quality::get(&mut tx, record_no)
        .await
        .map_err(crate::store_error)?
    else {
        return Err(ApiError::not_found(format!("repository record {record}")));
    };
    if !current.below_floor {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "not-flagged",
            "this photo is within the quality floor: there is nothing to review",
        )
        .with_rule("FR-06"));
    }
    if !gallery_quality::review(&mut tx, record_no, &by, note, Utc::now())
        .await
        .map_err(crate::store_error)?
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already-reviewed",
            format!(
                "this photo was already reviewed by {}",
                current.reviewed_by.as_deref().unwrap_or("someone")
            ),
        ));
    }
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "fr.gallery.quality_review".into(),
            record_type: "fr_record".into(),
            record_id: record_no.to_string(),
            reason: Some(note.to_string()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "issues": current.issues }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    let after = gallery_quality::get(&mut tx, record_no)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::internal("reviewed photo vanished"))?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(after)
}

pub async fn list_api(
    State(state): State<AppState>,
    auth: Authorized,
    Query(params): Query<QualityListParams>,
) -> Result<Response, ApiError> {
    Ok(Json(flagged(&state, &auth, &params).await?).into_response())
}

pub async fn review_api(
    State(state): State<AppState>,
    auth: Authorized,
    Path(record): Path<String>,
    Json(input): Json<PhotoReviewInput>,
) -> Result<Response, ApiError> {
    let q = review(&state, &auth, &record, &input.note).await?;
    Ok(Json(serde_json::json!({
        "record_no": q.record_no,
        "reviewed_by": q.reviewed_by,
        "reviewed_at": q.reviewed_at.map(|t| t.to_rfc3339()),
        "review_note": q.review_note,
        "issues": q.issues,
    }))
    .into_response())
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    auth: &Authorized,
    params: &QualityListParams,
    done: Option<String>,
) -> Response {
    match flagged(state, auth, params).await {
        Ok(list) => page(
            state,
            headers,
            Some(&auth.principal),
            "fr_gallery_quality.html",
            "/fr/gallery",
            context! { list => list, done => done },
        ),
        Err(e) => error_response(state, true, e),
    }
}

pub async fn list_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(params): Query<QualityListParams>,
) -> Response {
    render(&state, &headers, &auth, &params, None).await
}

pub async fn review_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(record): Path<String>,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let result = async {
        check_csrf(&headers, &get("csrf"))?;
        review(&state, &auth, &record, &get("note")).await
    }
    .await;
    match result {
        Ok(q) => {
            let done = format!(
                "Review of {} recorded.",
                super::workflow::candidate_id(q.record_no)
            );
            render(
                &state,
                &headers,
                &auth,
                &QualityListParams::default(),
                Some(done),
            )
            .await
        }
        Err(e) => error_response(&state, true, e),
    }
}
