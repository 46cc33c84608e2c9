//! The photo repository: import from a manifest (the only way in, FR-01, FR-03), sealing and
//! unsealing an arrest (FR-02). Used by the API and by `probity gallery import`.

use probity_face::{FaceEngine, GalleryPhoto, RecordId};
use probity_store::{audit, gallery, Store};

/// One manifest row: `file,subject_id,source,arrest_id,photo_date`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    /// 1-based line number in the manifest.
    pub line: usize,
    pub file: String,
    pub subject_id: String,
    pub source: String,
    pub arrest_id: String,
    pub photo_date: String,
}

/// The columns a manifest must have, in any order (header line).
pub const MANIFEST_COLUMNS: [&str; 5] = ["file", "subject_id", "source", "arrest_id", "photo_date"];

/// A row refused, with the reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Refusal {
    pub line: usize,
    pub file: String,
    pub reason: String,
}

/// Parses the manifest. Rows lacking a field FR-01 requires are refused here, before any file is
/// read. A header naming the five columns is required.
pub fn parse_manifest(text: &str) -> Result<(Vec<ManifestRow>, Vec<Refusal>), String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let Some((_, header)) = lines.next() else {
        return Err("the manifest is empty: give a header line file,subject_id,source,arrest_id,photo_date and one row per photo".into());
    };
    let cols: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let mut pos = [0usize; 5];
    for (i, name) in MANIFEST_COLUMNS.iter().enumerate() {
        pos[i] = cols.iter().position(|c| c == name).ok_or_else(|| {
            format!(
                "the manifest header lacks the column `{name}`: it needs {}",
                MANIFEST_COLUMNS.join(",")
            )
        })?;
    }
    let mut rows = Vec::new();
    let mut refused = Vec::new();
    for (n, line) in lines {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |i: usize| fields.get(pos[i]).copied().unwrap_or("").to_string();
        let row = ManifestRow {
            line: n + 1,
            file: get(0),
            subject_id: get(1),
            source: get(2),
            arrest_id: get(3),
            photo_date: get(4),
        };
        let check = gallery::NewRecord {
            subject_id: &row.subject_id,
            source: &row.source,
            arrest_id: &row.arrest_id,
            photo_date: &row.photo_date,
            photo: &[],
            media_type: "",
        };
        let mut missing = gallery::missing_fields(&check);
        if row.file.is_empty() {
            missing.insert(0, "file");
        }
        if missing.is_empty() {
            rows.push(row);
        } else {
            refused.push(Refusal {
                line: row.line,
                file: row.file.clone(),
                reason: format!("FR-01: missing {}", missing.join(", ")),
            });
        }
    }
    Ok((rows, refused))
}

/// Imports one photo: decodes it, finds the face (the largest), stores the record with its
/// encrypted photo, the template and the audit entry in one transaction. Returns the record number.
pub async fn import_one(
    store: &Store,
    engine: &std::sync::Mutex<FaceEngine>,
    row: &ManifestRow,
    bytes: &[u8],
    actor: &str,
) -> Result<i64, String> {
    let decoded = probity_imaging::decode_still(bytes, &probity_imaging::DecodeLimits::default())
        .map_err(|e| e.to_string())?;
    let media_type = decoded.format.mime();
    let image = decoded.image;
    let face = {
        let mut engine = engine
            .lock()
            .map_err(|_| "face engine lock poisoned".to_string())?;
        let faces = engine
            .detect_for_enrolment(&image)
            .map_err(|e| e.to_string())?;
        faces
            .into_iter()
            .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
            .ok_or_else(|| probity_face::FaceError::NoFace.to_string())?
    };
    let mut tx = store.begin().await.map_err(|e| e.to_string())?;
    let record = gallery::import_record(
        &mut tx,
        store.blobs(),
        &gallery::NewRecord {
            subject_id: &row.subject_id,
            source: &row.source,
            arrest_id: &row.arrest_id,
            photo_date: &row.photo_date,
            photo: bytes,
            media_type,
        },
        actor,
    )
    .await
    .map_err(|e| e.to_string())?;
    let template = {
        let mut engine = engine
            .lock()
            .map_err(|_| "face engine lock poisoned".to_string())?;
        engine
            .enrol_found(
                GalleryPhoto {
                    record: RecordId(record.record_no as u64),
                    image: &image,
                },
                &face,
            )
            .map_err(|e| e.to_string())?
    };
    gallery::put_template(
        &mut tx,
        record.record_no,
        &template.algorithm().to_string(),
        &template.to_stored(),
    )
    .await
    .map_err(|e| e.to_string())?;
    // The face's quality, measured as a probe's is (FR-06): a photo below the floor is flagged
    // to the records officer for review.
    let issues: Vec<String> = face.quality.issues.iter().map(|i| i.to_string()).collect();
    let below_floor = !face.quality.suitable;
    let measures = serde_json::to_value(&face.quality).map_err(|e| e.to_string())?;
    probity_store::gallery_quality::record(
        &mut tx,
        record.record_no,
        &measures,
        &issues,
        below_floor,
        chrono::Utc::now(),
    )
    .await
    .map_err(|e| e.to_string())?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor.to_string(),
            action: "fr.gallery.import".into(),
            record_type: "fr_record".into(),
            record_id: record.record_no.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": "FR-01",
                "subject_id": record.subject_id,
                "source": record.source,
                "arrest_id": record.arrest_id,
                "photo_date": record.photo_date,
                "sha256": record.photo_sha256,
                "algorithm": template.algorithm().to_string(),
                "quality": { "below_floor": below_floor, "issues": issues },
            }),
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(record.record_no)
}

/// Seals or unseals an arrest's records (FR-02), audited; returns the records changed.
pub async fn set_sealed(
    store: &Store,
    arrest_id: &str,
    sealed: bool,
    actor: &str,
    reason: &str,
) -> Result<Vec<i64>, probity_store::StoreError> {
    let mut tx = store.begin().await?;
    let changed = gallery::set_sealed(&mut tx, arrest_id, sealed).await?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: actor.to_string(),
            action: if sealed {
                "fr.gallery.seal".into()
            } else {
                "fr.gallery.unseal".into()
            },
            record_type: "arrest".into(),
            record_id: arrest_id.to_string(),
            reason: Some(reason.to_string()).filter(|r| !r.trim().is_empty()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": "FR-02", "records": changed }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// A probe template from an image file's bytes (the largest face), for `probity gallery search`.
pub fn probe_template(
    engine: &std::sync::Mutex<FaceEngine>,
    bytes: &[u8],
) -> Result<probity_face::ProbeTemplate, String> {
    let decoded = probity_imaging::decode_still(bytes, &probity_imaging::DecodeLimits::default())
        .map_err(|e| e.to_string())?;
    let mut engine = engine
        .lock()
        .map_err(|_| "face engine lock poisoned".to_string())?;
    let face = engine
        .detect(&decoded.image)
        .map_err(|e| e.to_string())?
        .into_iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
        .ok_or_else(|| probity_face::FaceError::NoFace.to_string())?;
    engine
        .probe_template(&decoded.image, &face)
        .map_err(|e| e.to_string())
}
