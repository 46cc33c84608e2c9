//! The JSON API of FOIL requests (PUB-01): thin handlers over the operations of [`super`].

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;

use super::*;
use crate::extract::JsonBody;

pub async fn list(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<QueueView>, ApiError> {
    Ok(Json(queue(&state, &auth, Utc::now()).await?))
}

pub async fn counts(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Counts>, ApiError> {
    Ok(Json(counts_only(&state, &auth, Utc::now()).await?))
}

pub async fn oversight(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Counts>, ApiError> {
    Ok(Json(counts_only(&state, &auth, Utc::now()).await?))
}

pub async fn intake(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<IntakeInput>,
) -> Result<(StatusCode, Json<DetailView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(super::intake(&state, &auth, input, Utc::now()).await?),
    ))
}

/// The client's hash for the rate limit: the address a trusted proxy reports, else the peer.
pub fn client_of(state: &AppState, headers: &HeaderMap, peer: std::net::IpAddr) -> String {
    let client = crate::auth_flow::client(state, headers, peer);
    client_hash(client.address, peer)
}

pub async fn public_intake(
    State(state): State<AppState>,
    req: axum::extract::Request,
) -> Result<(StatusCode, Json<ReceiptView>), ApiError> {
    let peer = crate::auth_flow::peer_ip(req.extensions());
    let who = client_of(&state, req.headers(), peer);
    let JsonBody(input) =
        <JsonBody<PublicInput> as axum::extract::FromRequest<()>>::from_request(req, &()).await?;
    Ok((
        StatusCode::CREATED,
        Json(super::public_intake(&state, who, input, Utc::now()).await?),
    ))
}

pub async fn exemptions(_auth: Authorized) -> Json<Vec<probity_domain::foil::Exemption>> {
    Json(probity_domain::foil::EXEMPTIONS.to_vec())
}

pub async fn release_log(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<Vec<ReleaseView>>, ApiError> {
    Ok(Json(super::release_log(&state, &auth).await?))
}

fn jpeg(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

pub async fn release_file(
    State(state): State<AppState>,
    auth: Authorized,
    Path(release): Path<String>,
) -> Result<Response, ApiError> {
    Ok(jpeg(super::release_file(&state, &auth, &release).await?))
}

pub async fn detail(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(read(&state, &auth, &foil, Utc::now()).await?))
}

pub async fn acknowledge(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<AcknowledgeInput>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(
        super::acknowledge(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}

pub async fn extend(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<ExtendInput>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(
        super::extend(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}

pub async fn gather(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<GatherInput>,
) -> Result<Json<GatherReport>, ApiError> {
    Ok(Json(
        super::gather(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}

pub async fn detect(
    State(state): State<AppState>,
    auth: Authorized,
    Path((foil, record)): Path<(String, String)>,
) -> Result<Json<RecordView>, ApiError> {
    Ok(Json(
        super::detect(&state, &auth, &foil, &record, Utc::now()).await?,
    ))
}

pub async fn add_box(
    State(state): State<AppState>,
    auth: Authorized,
    Path((foil, record)): Path<(String, String)>,
    JsonBody(input): JsonBody<BoxInput>,
) -> Result<(StatusCode, Json<RecordView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(super::add_box(&state, &auth, &foil, &record, input, Utc::now()).await?),
    ))
}

pub async fn remove_box(
    State(state): State<AppState>,
    auth: Authorized,
    Path((foil, record, bx)): Path<(String, String, String)>,
) -> Result<Json<RecordView>, ApiError> {
    Ok(Json(
        super::remove_box(&state, &auth, &foil, &record, &bx, Utc::now()).await?,
    ))
}

/// Which rendition of a record's image.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ImageQuery {
    /// `original` (boxes outlined, the default) or `redacted` (boxes filled, as released).
    pub view: Option<String>,
}

pub async fn image(
    State(state): State<AppState>,
    auth: Authorized,
    Path((foil, record)): Path<(String, String)>,
    Query(q): Query<ImageQuery>,
) -> Result<Response, ApiError> {
    let redacted = match q.view.as_deref().map(str::trim) {
        None | Some("") | Some("original") => false,
        Some("redacted") => true,
        Some(other) => {
            return Err(ApiError::bad_field(
                "view",
                format!("{other:?}: give original or redacted"),
            ))
        }
    };
    Ok(jpeg(
        super::image(&state, &auth, &foil, &record, redacted).await?,
    ))
}

pub async fn review(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<ReviewInput>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(
        super::review(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}

pub async fn decide(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<DecisionInput>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(
        super::decide(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}

pub async fn appeal(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<AppealInput>,
) -> Result<(StatusCode, Json<DetailView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(super::appeal(&state, &auth, &foil, input, Utc::now()).await?),
    ))
}

pub async fn decide_appeal(
    State(state): State<AppState>,
    auth: Authorized,
    Path(foil): Path<String>,
    JsonBody(input): JsonBody<AppealDecisionInput>,
) -> Result<Json<DetailView>, ApiError> {
    Ok(Json(
        super::decide_appeal(&state, &auth, &foil, input, Utc::now()).await?,
    ))
}
