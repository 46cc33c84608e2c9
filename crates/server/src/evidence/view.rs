//! Reading evidence: the gallery, one item with its custody history, the original and the
//! thumbnail. Shared by the JSON API and the pages; every read is decided by the policy and
//! audited (SEC-04).

use std::str::FromStr;

use probity_domain::bases::DcPurpose;
use probity_policy::Action;
use probity_store::{audit, cases, evidence};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::intake::require;
use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged};
use crate::principal::Principal;
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub id: Uuid,
    pub case_number: String,
    pub intake_id: Uuid,
    pub sha256: String,
    pub original_filename: String,
    pub format: String,
    pub size: u64,
    pub importer: String,
    pub imported_at: String,
    pub metadata: serde_json::Value,
    pub purpose: serde_json::Value,
    pub purpose_label: String,
    pub legal_basis: serde_json::Value,
    pub legal_basis_label: String,
    pub political_activity: bool,
    pub device_serial: Option<String>,
    pub capture_time: Option<String>,
    /// A plain OpenStreetMap link for the GPS position, when the file has one.
    pub map_url: Option<String>,
    pub has_thumbnail: bool,
    pub thumbnail_url: String,
    pub original_url: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CustodyView {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    pub reason: Option<String>,
}

pub fn basis_label(basis: &serde_json::Value) -> String {
    let kind = basis.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    match kind {
        "no_reasonable_expectation_of_privacy" => {
            "No reasonable expectation of privacy (DC-02 a)".to_string()
        }
        "warrant" => format!(
            "Warrant {} issued by {}, prosecutor {} (DC-02 b)",
            basis.get("number").and_then(|v| v.as_str()).unwrap_or("?"),
            basis
                .get("issuing_judge")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
            basis
                .get("prosecutor")
                .and_then(|v| v.as_str())
                .unwrap_or("?"),
        ),
        "exigency" => format!(
            "Exigent circumstances, all four findings, statute {} (DC-02 c)",
            basis.get("statute").and_then(|v| v.as_str()).unwrap_or("?")
        ),
        other => other.to_string(),
    }
}

pub fn purpose_label(purpose: &serde_json::Value) -> String {
    let p = purpose
        .get("purpose")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    let mut label = DcPurpose::from_str(p)
        .map(|p| crate::cases::humanize(p.as_str()))
        .unwrap_or_else(|_| p.to_string());
    if let Some(a) = purpose.get("addendum").filter(|a| a.is_object()) {
        label = format!(
            "{} (a new use, recorded by addendum {} of the {} policy, OVR-04)",
            crate::cases::humanize(p),
            a.get("version").and_then(|v| v.as_str()).unwrap_or("?"),
            a.get("pack").and_then(|v| v.as_str()).unwrap_or("?"),
        );
    }
    if let Some(d) = purpose.get("description").and_then(|v| v.as_str()) {
        if !d.is_empty() {
            label = format!("{label}: {d}");
        }
    }
    label
}

pub fn item_view(case: &cases::Case, i: &evidence::Item) -> ItemView {
    let gps = i.metadata.get("gps");
    let map_url = gps.and_then(|g| {
        let lat = g.get("latitude")?.as_f64()?;
        let lon = g.get("longitude")?.as_f64()?;
        Some(format!(
            "https://www.openstreetmap.org/?mlat={lat:.6}&mlon={lon:.6}#map=17/{lat:.6}/{lon:.6}"
        ))
    });
    let capture_time = i.metadata.get("capture_time").and_then(|c| {
        let local = c.get("local")?.as_str()?;
        let offset = c.get("offset").and_then(|o| o.as_str()).unwrap_or("");
        Some(format!("{local}{offset}"))
    });
    let base = format!("/api/cases/{}/evidence/{}", case.case_number, i.id);
    ItemView {
        id: i.id,
        case_number: case.case_number.clone(),
        intake_id: i.intake_id,
        sha256: i.sha256.clone(),
        original_filename: i.original_filename.clone(),
        format: i.format.clone(),
        size: i.size,
        importer: i.importer.clone(),
        imported_at: i.imported_at.to_rfc3339(),
        metadata: i.metadata.clone(),
        purpose_label: purpose_label(&i.purpose),
        purpose: i.purpose.clone(),
        legal_basis_label: basis_label(&i.legal_basis),
        legal_basis: i.legal_basis.clone(),
        political_activity: i.political_activity,
        device_serial: i.device_serial.clone(),
        capture_time,
        map_url,
        has_thumbnail: i.thumbnail_blob_id.is_some(),
        thumbnail_url: format!("{base}/thumbnail"),
        original_url: format!("{base}/original"),
    }
}

pub fn parse_item(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("evidence item {id}")))
}

/// The query string of a case's evidence list: paging (see [`crate::listing`]), sort by
/// `imported` (default, intake order), `filename`, `size` or `format`, `q` (part of the file
/// name or camera serial, or the start of the SHA-256) and `format`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ItemListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub format: Option<String>,
}

/// The sort keys of the evidence list; the first is the default.
const ITEM_SORTS: &[&str] = &["imported", "filename", "size", "format"];

/// One page of the case's items as one audited gallery view. The read is decided once for the
/// case's evidence (every item carries the case's flag), so the total is exact.
pub async fn gallery(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    params: &ItemListParams,
    path: &str,
) -> Result<Paged<ItemView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        ITEM_SORTS,
        false,
    )?;
    require(state, p, Action::EvidenceRead, case, "*").await?;
    let filter = evidence::ItemFilter {
        q: page.q.clone(),
        format: non_empty(params.format.as_deref()),
        sort: match page.sort {
            "filename" => evidence::ItemSort::Filename,
            "size" => evidence::ItemSort::Size,
            "format" => evidence::ItemSort::Format,
            _ => evidence::ItemSort::Imported,
        },
        descending: page.descending,
        limit: page.limit,
        offset: page.offset,
    };
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let (items, total) = evidence::items_page(&mut tx, case.id, &filter)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "evidence.gallery.view".into(),
            record_type: "case".into(),
            record_id: case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "items": items.iter().map(|i| i.id.to_string()).collect::<Vec<_>>(),
                "offset": page.offset,
                "total": total,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let more = page.offset.saturating_add(items.len() as u64) < total;
    let links = Links::new(path)
        .filter("q", filter.q.as_deref())
        .filter("format", filter.format.as_deref());
    let views = items.iter().map(|i| item_view(case, i)).collect();
    Ok(Paged::offset_page(views, &page, &links, total, true, more))
}

/// The formats among the case's items, for the list's filter (the gallery's read decides).
pub async fn formats(state: &AppState, case: &cases::Case) -> Result<Vec<String>, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let list = evidence::formats_for_case(&mut tx, case.id)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(list)
}

async fn load(
    tx: &mut probity_store::Tx,
    case: &cases::Case,
    id: Uuid,
) -> Result<evidence::Item, ApiError> {
    match evidence::get_item(tx, id)
        .await
        .map_err(crate::store_error)?
    {
        Some(i) if i.case_id == case.id => Ok(i),
        _ => Err(ApiError::not_found(format!(
            "evidence item {id} in case {}",
            case.case_number
        ))),
    }
}

fn custody(entries: Vec<audit::AuditEntry>) -> Vec<CustodyView> {
    entries
        .into_iter()
        .map(|e| CustodyView {
            seq: e.seq,
            at: e.at.to_rfc3339(),
            actor: e.actor,
            action: e.action,
            outcome: e.outcome,
            reason: e.reason,
        })
        .collect()
}

/// One item with its custody history; the view itself is recorded first, so it is part of
/// the history shown.
pub async fn read(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    id: Uuid,
) -> Result<(ItemView, Vec<CustodyView>), ApiError> {
    require(state, p, Action::EvidenceRead, case, &id.to_string()).await?;
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let item = load(&mut tx, case, id).await?;
    tx.commit().await.map_err(crate::store_error)?;
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "evidence.view".into(),
            record_type: "evidence".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "case": case.case_number }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    // A fresh snapshot, so the custody history includes this view.
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let history = audit::for_record(&mut tx, "evidence", &id.to_string())
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((item_view(case, &item), custody(history)))
}

/// The original's bytes, its file name and media type; the download is audited.
pub async fn original(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    id: Uuid,
) -> Result<(Vec<u8>, String, String), ApiError> {
    require(state, p, Action::EvidenceRead, case, &id.to_string()).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let item = load(&mut tx, case, id).await?;
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, item.blob_id)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "evidence.download".into(),
            record_type: "evidence".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "case": case.case_number, "sha256": item.sha256 }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let media = blob_media_type(&item.format);
    Ok((bytes, item.original_filename, media.to_string()))
}

fn blob_media_type(format: &str) -> &'static str {
    match format {
        "JPEG" => "image/jpeg",
        "HEIC/HEIF" => "image/heic",
        _ => "application/octet-stream",
    }
}

/// The thumbnail's bytes and its blob id (a stable ETag). Decided by the policy; not audited
/// one by one (the gallery view that shows them is).
pub async fn thumbnail(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    id: Uuid,
) -> Result<(Vec<u8>, Uuid), ApiError> {
    require(state, p, Action::EvidenceRead, case, &id.to_string()).await?;
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let item = load(&mut tx, case, id).await?;
    let Some(thumb) = item.thumbnail_blob_id else {
        return Err(ApiError::not_found(format!(
            "a thumbnail for {} (none could be made at intake)",
            item.original_filename
        )));
    };
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, thumb)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok((bytes, thumb))
}

/// The case's intakes (newest first); reading them is audited as one entry.
pub async fn intakes(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
) -> Result<Vec<serde_json::Value>, ApiError> {
    require(state, p, Action::EvidenceRead, case, "*").await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let list = evidence::intakes_for_case(&mut tx, case.id)
        .await
        .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "evidence.intake.read".into(),
            record_type: "case".into(),
            record_id: case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "intakes": list.len() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(list
        .into_iter()
        .map(|i| {
            serde_json::json!({
                "id": i.id,
                "source_kind": i.source_kind,
                "source": i.source_label,
                "importer": i.importer,
                "purpose": purpose_label(&i.purpose),
                "legal_basis": basis_label(&i.legal_basis),
                "started_at": i.started_at.to_rfc3339(),
                "finished_at": i.finished_at.map(|t| t.to_rfc3339()),
                "results": i.results,
                "safe_to_clear": i.certificate.is_some(),
                "certificate": i.certificate,
                "certificate_signature": i.certificate_signature,
                "device_flag": i.device_flag,
            })
        })
        .collect())
}
