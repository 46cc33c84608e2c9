//! JSON API handlers for evidence and cameras; thin over [`super::view`], [`super::intake`],
//! [`super::devices`] and [`super::discovery`].

use std::collections::HashMap;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use uuid::Uuid;

use super::{devices, discovery, intake, view};
use crate::authz::{Authorized, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

pub(crate) fn case_of(auth: &Authorized) -> Result<probity_store::cases::Case, ApiError> {
    auth.case
        .as_ref()
        .map(|c| c.case.clone())
        .ok_or_else(|| ApiError::internal("evidence route without a case"))
}

pub async fn list(
    State(state): State<AppState>,
    auth: Authorized,
    Query(params): Query<view::ItemListParams>,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let path = format!(
        "/api/cases/{}/evidence",
        crate::listing::encode(&case.case_number)
    );
    let items = view::gallery(&state, &auth.principal, &case, &params, &path).await?;
    Ok(Json(items).into_response())
}

pub async fn item(
    State(state): State<AppState>,
    auth: Authorized,
    Path((_, item)): Path<(String, String)>,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let id = view::parse_item(&item)?;
    let (item, custody) = view::read(&state, &auth.principal, &case, id).await?;
    Ok(Json(serde_json::json!({ "item": item, "custody": custody })).into_response())
}

pub async fn original(
    State(state): State<AppState>,
    auth: Authorized,
    Path((_, item)): Path<(String, String)>,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let id = view::parse_item(&item)?;
    let (bytes, name, media) = view::original(&state, &auth.principal, &case, id).await?;
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, media),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

pub async fn thumbnail(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((_, item)): Path<(String, String)>,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let id = view::parse_item(&item)?;
    let (bytes, blob) = view::thumbnail(&state, &auth.principal, &case, id).await?;
    let etag = format!("\"{blob}\"");
    // Thumbnails never change (blobs are immutable): the browser keeps them privately; the
    // decision above still ran for this request.
    let cache = "private, max-age=86400, immutable".to_string();
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

pub async fn intakes(State(state): State<AppState>, auth: Authorized) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let list = view::intakes(&state, &auth.principal, &case).await?;
    Ok(Json(serde_json::json!({ "intakes": list })).into_response())
}

/// Reads a multipart upload: one `file` part and text fields. Returns (file name, bytes,
/// fields).
pub(crate) async fn read_upload(
    mut multipart: Multipart,
) -> Result<(String, Vec<u8>, HashMap<String, String>), ApiError> {
    let mut fields = HashMap::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too-large",
                        "the upload is larger than this server accepts; ingest large files from the card with `probity ingest card`",
                    )
                } else {
                    ApiError::bad_request(format!(
                        "the upload is not valid multipart: {}",
                        e.body_text()
                    ))
                })
            }
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file" {
            let filename = field.file_name().unwrap_or("upload").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "too-large",
                        "the file is larger than this server accepts for uploads",
                    )
                } else {
                    ApiError::bad_field(
                        "file",
                        format!("the file could not be read: {}", e.body_text()),
                    )
                }
            })?;
            if file.is_some() {
                return Err(ApiError::bad_field(
                    "file",
                    "upload one file at a time; ingest a whole card with `probity ingest card`",
                ));
            }
            file = Some((filename, bytes.to_vec()));
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| ApiError::bad_field(name.clone(), e.body_text()))?;
            fields.insert(name, text);
        }
    }
    let (filename, bytes) =
        file.ok_or_else(|| ApiError::bad_field("file", "choose the camera file to upload"))?;
    if bytes.is_empty() {
        return Err(ApiError::bad_field("file", format!("{filename} is empty")));
    }
    Ok((filename, bytes, fields))
}

pub async fn upload(
    State(state): State<AppState>,
    auth: Authorized,
    multipart: Multipart,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let (filename, bytes, fields) = read_upload(multipart).await?;
    let record = intake::capture_record_from_fields(&fields)?;
    let report =
        intake::ingest_upload(&state, &auth.principal, &case, record, &filename, bytes).await?;
    let status = if report.stored > 0 {
        StatusCode::CREATED
    } else if report.already_ingested > 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DiscoveryInput {
    /// Item ids; empty means every item of the case.
    #[serde(default)]
    pub items: Vec<Uuid>,
    /// The prosecutor with jurisdiction (DC-07).
    pub prosecutor: String,
}

pub async fn discovery(
    State(state): State<AppState>,
    auth: Authorized,
    JsonBody(input): JsonBody<DiscoveryInput>,
) -> ApiResult<Response> {
    let case = case_of(&auth)?;
    let package = discovery::build(
        &state,
        &auth.principal,
        &case,
        &input.items,
        &input.prosecutor,
    )
    .await?;
    let tar = package
        .to_tar()
        .map_err(|e| ApiError::internal(format!("package: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"discovery-{}.tar\"",
                    case.case_number
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        tar,
    )
        .into_response())
}

/// One page of the cameras, with the intakes flagged for the supervisor beside it.
pub async fn list_devices(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(params): Query<devices::DeviceListParams>,
) -> ApiResult<Response> {
    let list = devices::list(&state, &p, &params, "/api/devices").await?;
    let flagged = devices::flagged(&state, &p).await?;
    let mut body =
        serde_json::to_value(list).map_err(|e| ApiError::internal(format!("device list: {e}")))?;
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "flagged_intakes".into(),
            serde_json::to_value(flagged)
                .map_err(|e| ApiError::internal(format!("flagged intakes: {e}")))?,
        );
    }
    Ok(Json(body).into_response())
}

pub async fn create_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    JsonBody(input): JsonBody<devices::NewDeviceInput>,
) -> ApiResult<Response> {
    let d = devices::create(&state, &p, input).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

pub async fn assign_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(device): Path<String>,
    JsonBody(input): JsonBody<devices::AssignInput>,
) -> ApiResult<Response> {
    Ok(Json(devices::assign(&state, &p, &device, input).await?).into_response())
}

pub async fn inspect_device(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(device): Path<String>,
    JsonBody(input): JsonBody<devices::InspectInput>,
) -> ApiResult<Response> {
    Ok((
        StatusCode::CREATED,
        Json(devices::inspect(&state, &p, &device, input).await?),
    )
        .into_response())
}

pub async fn device_interval(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(device): Path<String>,
    JsonBody(input): JsonBody<devices::IntervalInput>,
) -> ApiResult<Response> {
    Ok(Json(devices::set_interval(&state, &p, &device, input).await?).into_response())
}
