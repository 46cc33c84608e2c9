//! Intake of camera originals (DC-01, DC-02, DC-05, DC-06): a memory card or device folder, or
//! one uploaded file. Used by the web/API upload and by `probity ingest card`.
//!
//! Per file: the imaging crate examines the content (format by content, metadata, thumbnail);
//! an accepted file is encrypted and written to the blob store (staged, not yet visible), and
//! its row, its thumbnail and its audit entry are committed in ONE transaction. A staged object
//! whose transaction never committed has no key and is swept later, so nothing is half-stored.
//! After the pass, every stored original is read back, decrypted and hashed again; only when
//! every file of the card verified does the intake get a signed "safe to clear" certificate.
//! Re-running an intake skips files already ingested into the case (same SHA-256).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::Utc;
use probity_domain::bases::{CaptureBasis, ImagePurpose};
use probity_domain::oversight::{check_card_clear, CardFile as DomainCardFile};
use probity_domain::Technology;
use probity_imaging::{CardFile, IntakeDecision, IntakeOptions};
use probity_policy::{Action, Resource};
use probity_store::{audit, cases, devices, evidence, Store};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

/// Purpose (DC-01) and legal basis (DC-02) of an intake; validated by the domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaptureRecord {
    pub purpose: ImagePurpose,
    pub basis: CaptureBasis,
}

impl CaptureRecord {
    /// Looks up the addendum in force that records a new purpose (OVR-04), so that validation
    /// sees it; a listed purpose is unchanged.
    pub async fn with_addendum(mut self, state: &AppState) -> Result<CaptureRecord, ApiError> {
        if let probity_domain::UseOf::New(n) = &mut self.purpose.purpose {
            n.addendum = crate::policy_packs::addendum_for(
                state,
                &format!("{}{}", crate::policy_packs::CAMERA_PURPOSE, n.code),
            )
            .await?;
        }
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), ApiError> {
        self.purpose.validate().map_err(crate::domain_error)?;
        self.basis.validate().map_err(crate::domain_error)
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FileOutcome)]
pub enum Outcome {
    /// Stored now as an original.
    Stored,
    /// Already in the case from an earlier (interrupted or repeated) intake.
    AlreadyIngested,
    /// Same content as another file of this card; stored once.
    Duplicate,
    /// Not a camera original, or damaged; not stored.
    Refused,
    /// Could not be read (vanished, unreadable, changed while reading); not stored.
    Unreadable,
}

/// One file's line in the intake report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileResult {
    pub path: String,
    pub outcome: Outcome,
    pub sha256: Option<String>,
    pub size: Option<u64>,
    pub format: Option<String>,
    pub item_id: Option<Uuid>,
    /// Why the file was refused or unreadable.
    pub reason: Option<String>,
    pub notes: Vec<String>,
    /// Read back from the store after intake and its SHA-256 matched (DC-05).
    pub verified: bool,
}

/// The outcome of an intake.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IntakeReport {
    pub intake_id: Uuid,
    pub case_number: String,
    pub files: Vec<FileResult>,
    pub stored: usize,
    pub already_ingested: usize,
    pub duplicates: usize,
    pub refused: usize,
    pub unreadable: usize,
    /// The card may be cleared (DC-05): every file verified as ingested.
    pub safe_to_clear: bool,
    /// The files that stand in the way of clearing, with the reason.
    pub problems: Vec<String>,
    /// Signed certificate listing every file and hash (only when safe to clear).
    pub certificate: Option<serde_json::Value>,
    pub certificate_signature: Option<String>,
    /// DC-04: serials that match no inventoried, assigned device.
    pub device_flag: Option<String>,
}

/// Progress callback: (files done, bytes done, current path).
pub type Progress<'a> = &'a (dyn Fn(u64, u64, &str) + Send + Sync);

/// The policy's resource for an evidence item of a case from a digital camera.
pub fn evidence_resource(case: &cases::Case, id: &str) -> Result<Resource, ApiError> {
    let case_ref = crate::decision::case_ref(case).ok_or_else(|| {
        ApiError::internal(format!("case {} has an invalid command", case.case_number))
    })?;
    Ok(Resource::Evidence {
        id: id.to_string(),
        case: case_ref,
        technology: Some(Technology::DigitalCameras),
    })
}

/// Asks the policy about an action on an evidence item (or the case's evidence when `id` is
/// `"*"`); records and returns a refusal naming the rule.
pub async fn require(
    state: &AppState,
    p: &Principal,
    action: Action,
    case: &cases::Case,
    id: &str,
) -> Result<(), ApiError> {
    let resource = evidence_resource(case, id)?;
    crate::decision::require(state, p, action, &resource, "evidence", id)
        .await
        .map(|_| ())
}

struct Session<'a> {
    state: &'a AppState,
    principal: &'a Principal,
    case: cases::Case,
    intake: evidence::Intake,
    record: CaptureRecord,
    files: Vec<FileResult>,
    /// Every file seen (name, hash) for the clearing check.
    card: Vec<DomainCardFile>,
    serials: BTreeSet<String>,
}

fn store(state: &AppState) -> &Store {
    &state.store
}

impl<'a> Session<'a> {
    async fn open(
        state: &'a AppState,
        principal: &'a Principal,
        case: &cases::Case,
        record: CaptureRecord,
        source_kind: &str,
        source_label: &str,
    ) -> Result<Session<'a>, ApiError> {
        let record = record.with_addendum(state).await?;
        record.validate()?;
        require(state, principal, Action::EvidenceIngest, case, "new").await?;
        let purpose = serde_json::to_value(&record.purpose)
            .map_err(|e| ApiError::internal(format!("purpose: {e}")))?;
        let basis = serde_json::to_value(&record.basis)
            .map_err(|e| ApiError::internal(format!("basis: {e}")))?;
        let mut tx = store(state).begin().await.map_err(crate::store_error)?;
        let intake = evidence::create_intake(
            &mut tx,
            &evidence::NewIntake {
                case_id: case.id,
                source_kind: source_kind.into(),
                source_label: source_label.into(),
                importer: principal.actor(),
                purpose: purpose.clone(),
                legal_basis: basis.clone(),
            },
        )
        .await
        .map_err(crate::store_error)?;
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor: principal.actor(),
                action: "evidence.intake.start".into(),
                record_type: "evidence_intake".into(),
                record_id: intake.id.to_string(),
                reason: None,
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({
                    "case": case.case_number, "source": source_kind, "label": source_label,
                    "purpose": purpose, "legal_basis": basis,
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        Ok(Session {
            state,
            principal,
            case: case.clone(),
            intake,
            record,
            files: Vec::new(),
            card: Vec::new(),
            serials: BTreeSet::new(),
        })
    }

    fn unreadable(&mut self, path: String, reason: String) {
        self.files.push(FileResult {
            path,
            outcome: Outcome::Unreadable,
            sha256: None,
            size: None,
            format: None,
            item_id: None,
            reason: Some(reason),
            notes: Vec::new(),
            verified: false,
        });
    }

    /// Stores one examined file whose bytes are `bytes` (already read by the caller).
    async fn accept(&mut self, f: CardFile, bytes: Option<Vec<u8>>) -> Result<(), ApiError> {
        let path = f.relative_path.display().to_string();
        self.card.push(DomainCardFile {
            name: path.clone(),
            sha256: f.sha256.clone(),
        });
        let mut result = FileResult {
            path: path.clone(),
            outcome: Outcome::Refused,
            sha256: Some(f.sha256.clone()),
            size: Some(f.size),
            format: Some(f.format.name().to_string()),
            item_id: None,
            reason: None,
            notes: f.notes.clone(),
            verified: false,
        };
        match &f.decision {
            IntakeDecision::Refused { reason } => {
                result.reason = Some(reason.clone());
                self.files.push(result);
                return Ok(());
            }
            IntakeDecision::Duplicate { of } => {
                result.outcome = Outcome::Duplicate;
                result
                    .notes
                    .push(format!("same content as {}; stored once", of.display()));
                self.files.push(result);
                return Ok(());
            }
            IntakeDecision::Accepted => {}
        }
        if let Some(s) = f.metadata.as_ref().and_then(|m| m.serial_normalized()) {
            self.serials.insert(s);
        }
        // Resumable: the same content already in this case is not stored twice.
        let mut tx = store(self.state)
            .begin()
            .await
            .map_err(crate::store_error)?;
        let existing = evidence::item_by_hash(&mut tx, self.case.id, &f.sha256)
            .await
            .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        if let Some(item) = existing {
            result.outcome = Outcome::AlreadyIngested;
            result.item_id = Some(item.id);
            self.files.push(result);
            return Ok(());
        }
        let bytes = match bytes {
            Some(b) => b,
            None => match tokio::fs::read(&f.path).await {
                Ok(b) => b,
                Err(e) => {
                    result.outcome = Outcome::Unreadable;
                    result.reason = Some(format!("could not read the file again to store it: {e}"));
                    self.files.push(result);
                    return Ok(());
                }
            },
        };
        let blobs = store(self.state).blobs();
        let staged = blobs
            .stage(None, &bytes, f.format.mime())
            .await
            .map_err(crate::store_error)?;
        if staged.sha256() != f.sha256 {
            result.outcome = Outcome::Unreadable;
            result.reason = Some(format!(
                "the file changed while it was being read (SHA-256 {} at examination, {} when stored); not stored",
                f.sha256,
                staged.sha256()
            ));
            self.files.push(result);
            return Ok(());
        }
        let thumb = match &f.thumbnail {
            Some(t) => Some(
                blobs
                    .stage(None, &t.jpeg, "image/jpeg")
                    .await
                    .map_err(crate::store_error)?,
            ),
            None => None,
        };
        let metadata = serde_json::to_value(&f.metadata)
            .map_err(|e| ApiError::internal(format!("metadata: {e}")))?;
        let serial = f.metadata.as_ref().and_then(|m| m.serial_normalized());
        let actor = self.principal.actor();
        let mut tx = store(self.state)
            .begin()
            .await
            .map_err(crate::store_error)?;
        let blob = blobs
            .commit(&mut tx, staged, &actor)
            .await
            .map_err(crate::store_error)?;
        let thumb_id = match thumb {
            Some(t) => Some(
                blobs
                    .commit(&mut tx, t, &actor)
                    .await
                    .map_err(crate::store_error)?
                    .id,
            ),
            None => None,
        };
        let item = evidence::create_item(
            &mut tx,
            &evidence::NewItem {
                case_id: self.case.id,
                intake_id: self.intake.id,
                blob_id: blob.id,
                thumbnail_blob_id: thumb_id,
                sha256: f.sha256.clone(),
                original_filename: file_name(&f.relative_path),
                format: f.format.name().to_string(),
                size: f.size,
                importer: actor.clone(),
                metadata,
                purpose: self.intake.purpose.clone(),
                legal_basis: self.intake.legal_basis.clone(),
                political_activity: self.case.political_activity,
                device_serial: serial,
            },
        )
        .await
        .map_err(crate::store_error)?;
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor,
                action: "evidence.ingest".into(),
                record_type: "evidence".into(),
                record_id: item.id.to_string(),
                reason: None,
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({
                    "case": self.case.case_number, "intake": self.intake.id,
                    "sha256": item.sha256, "file": path, "size": item.size,
                    "legal_basis": self.record.basis.as_str(),
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        result.outcome = Outcome::Stored;
        result.item_id = Some(item.id);
        self.files.push(result);
        Ok(())
    }

    /// Reads back every stored original, compares hashes, decides the certificate, closes the
    /// intake with its audit entry.
    async fn finish(mut self) -> Result<IntakeReport, ApiError> {
        let blobs = store(self.state).blobs();
        for r in self.files.iter_mut() {
            let (Some(item_id), Some(expected)) = (r.item_id, r.sha256.clone()) else {
                continue;
            };
            let mut tx = store(self.state)
                .begin_read()
                .await
                .map_err(crate::store_error)?;
            let item = evidence::get_item(&mut tx, item_id)
                .await
                .map_err(crate::store_error)?;
            let back = match &item {
                Some(i) => blobs.get(&mut tx, i.blob_id).await,
                None => Err(probity_store::StoreError::NotFound {
                    what: "evidence item",
                    id: item_id.to_string(),
                }),
            };
            tx.commit().await.map_err(crate::store_error)?;
            match back {
                Ok(bytes) if probity_imaging::sha256_hex(&bytes) == expected => r.verified = true,
                Ok(_) => {
                    r.reason = Some("read back from the store, the SHA-256 differs".into());
                }
                Err(e) => r.reason = Some(format!("read back failed: {e}")),
            }
        }
        // Duplicates on the card are verified when the copy they duplicate is.
        let verified: BTreeSet<String> = self
            .files
            .iter()
            .filter(|r| r.verified)
            .filter_map(|r| r.sha256.clone())
            .collect();
        for r in self.files.iter_mut() {
            if r.outcome == Outcome::Duplicate {
                r.verified = r.sha256.as_ref().is_some_and(|h| verified.contains(h));
            }
        }
        let problems: Vec<String> = self
            .files
            .iter()
            .filter(|r| !r.verified)
            .map(|r| {
                format!(
                    "{}: {}",
                    r.path,
                    r.reason.clone().unwrap_or_else(|| "not verified".into())
                )
            })
            .collect();
        let clear = problems.is_empty()
            && !self.files.is_empty()
            && check_card_clear(&self.card, &verified).is_ok();
        let device_flag = self.device_flag().await?;
        let (certificate, signature) = if clear {
            let keys = store(self.state).server_keys();
            let cert = serde_json::json!({
                "kind": "probity.dc05.safe_to_clear",
                "intake_id": self.intake.id,
                "case_number": self.case.case_number,
                "source": self.intake.source_label,
                "importer": self.principal.actor(),
                "verified_at": Utc::now().to_rfc3339(),
                "key_id": keys.key_id(),
                "files": self.files.iter().map(|r| serde_json::json!({
                    "path": r.path, "sha256": r.sha256, "item_id": r.item_id,
                })).collect::<Vec<_>>(),
            });
            let sig = base64::engine::general_purpose::STANDARD
                .encode(keys.sign(cert.to_string().as_bytes()));
            (Some(cert), Some(sig))
        } else {
            (None, None)
        };
        let results = serde_json::to_value(&self.files)
            .map_err(|e| ApiError::internal(format!("results: {e}")))?;
        let count = |o: Outcome| self.files.iter().filter(|r| r.outcome == o).count();
        let mut tx = store(self.state)
            .begin()
            .await
            .map_err(crate::store_error)?;
        evidence::finish_intake(
            &mut tx,
            self.intake.id,
            &results,
            certificate.as_ref().zip(signature.as_deref()),
            device_flag.as_deref(),
        )
        .await
        .map_err(crate::store_error)?;
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor: self.principal.actor(),
                action: "evidence.intake.finish".into(),
                record_type: "evidence_intake".into(),
                record_id: self.intake.id.to_string(),
                reason: None,
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({
                    "case": self.case.case_number,
                    "files": self.files.len(),
                    "stored": count(Outcome::Stored),
                    "safe_to_clear": clear,
                    "problems": problems,
                    "device_flag": device_flag,
                }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        tx.commit().await.map_err(crate::store_error)?;
        Ok(IntakeReport {
            intake_id: self.intake.id,
            case_number: self.case.case_number.clone(),
            stored: count(Outcome::Stored),
            already_ingested: count(Outcome::AlreadyIngested),
            duplicates: count(Outcome::Duplicate),
            refused: count(Outcome::Refused),
            unreadable: count(Outcome::Unreadable),
            files: self.files,
            safe_to_clear: clear,
            problems,
            certificate,
            certificate_signature: signature,
            device_flag,
        })
    }

    /// DC-04: every camera serial on the card must belong to an inventoried device that is
    /// assigned to a member; otherwise the intake is flagged for the supervisor.
    async fn device_flag(&self) -> Result<Option<String>, ApiError> {
        let mut issues = Vec::new();
        let mut tx = store(self.state)
            .begin_read()
            .await
            .map_err(crate::store_error)?;
        for serial in &self.serials {
            match devices::get_by_serial(&mut tx, serial)
                .await
                .map_err(crate::store_error)?
            {
                None => issues.push(format!(
                    "camera serial {serial} matches no inventoried device"
                )),
                Some(d) if d.assigned_to.is_none() => issues.push(format!(
                    "camera serial {serial} ({} {}) is inventoried but assigned to no member",
                    d.make, d.model
                )),
                Some(_) => {}
            }
        }
        tx.commit().await.map_err(crate::store_error)?;
        Ok(if issues.is_empty() {
            None
        } else {
            Some(format!("DC-04: {}", issues.join("; ")))
        })
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// Ingests every file of a card or device folder into `case` (DC-05).
pub async fn ingest_card(
    state: &AppState,
    principal: &Principal,
    case: &cases::Case,
    record: CaptureRecord,
    root: &Path,
    progress: Option<Progress<'_>>,
) -> Result<IntakeReport, ApiError> {
    let meta = tokio::fs::metadata(root).await.map_err(|e| {
        ApiError::bad_field(
            "path",
            format!("the card path {} cannot be read: {e}", root.display()),
        )
    })?;
    if !meta.is_dir() {
        return Err(ApiError::bad_field(
            "path",
            format!(
                "{} is not a folder: give the card's mount point or the device dump folder",
                root.display()
            ),
        ));
    }
    let mut session = Session::open(
        state,
        principal,
        case,
        record,
        "card",
        &root.display().to_string(),
    )
    .await?;
    // Examination (reading, hashing, metadata, thumbnail) runs on a blocking thread, one file
    // ahead of storage.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<(PathBuf, Result<CardFile, String>)>(2);
    let root_owned = root.to_path_buf();
    let walker = tokio::task::spawn_blocking(move || {
        let scan = match probity_imaging::scan_card(&root_owned, IntakeOptions::default()) {
            Ok(s) => s,
            Err(e) => {
                let _ = tx.blocking_send((root_owned.clone(), Err(e.to_string())));
                return;
            }
        };
        for item in scan {
            let msg = match item {
                Ok(f) => (f.relative_path.clone(), Ok(f)),
                Err(e) => {
                    let path = match &e {
                        probity_imaging::ImagingError::Io { path, .. } => path
                            .strip_prefix(&root_owned)
                            .map(Path::to_path_buf)
                            .unwrap_or_else(|_| path.clone()),
                        _ => PathBuf::new(),
                    };
                    (path, Err(e.to_string()))
                }
            };
            if tx.blocking_send(msg).is_err() {
                return;
            }
        }
    });
    // Progress on the operations page: files examined of the files on the card.
    let total = count_files(root).await;
    let mut tracker = crate::progress::Tracker::start(
        state,
        crate::progress::CARD_INTAKE,
        &case.case_number,
        &principal.actor(),
        total,
    )
    .await;
    let (mut done, mut bytes) = (0u64, 0u64);
    let walked = async {
        while let Some((path, item)) = rx.recv().await {
            let shown = path.display().to_string();
            match item {
                Ok(f) => {
                    bytes += f.size;
                    session.accept(f, None).await?;
                }
                Err(reason) => session.unreadable(shown.clone(), reason),
            }
            done += 1;
            tracker.advance(done, total.map(|t| t.max(done))).await;
            if let Some(p) = progress {
                p(done, bytes, &shown);
            }
        }
        walker
            .await
            .map_err(|e| ApiError::internal(format!("card walk failed: {e}")))
    }
    .await;
    let report = match walked {
        Ok(()) => session.finish().await,
        Err(e) => Err(e),
    };
    tracker.finish(report.is_ok()).await;
    report
}

/// The number of files under `root` (for progress), or `None` when it cannot be counted.
async fn count_files(root: &Path) -> Option<u64> {
    let root = root.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut n = 0u64;
        let mut dirs = vec![root];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).ok()? {
                let entry = entry.ok()?;
                let kind = entry.file_type().ok()?;
                if kind.is_dir() {
                    dirs.push(entry.path());
                } else if kind.is_file() {
                    n += 1;
                }
            }
        }
        Some(n)
    })
    .await
    .ok()
    .flatten()
}

/// Ingests one uploaded file into `case` (web/API upload).
pub async fn ingest_upload(
    state: &AppState,
    principal: &Principal,
    case: &cases::Case,
    record: CaptureRecord,
    filename: &str,
    bytes: Vec<u8>,
) -> Result<IntakeReport, ApiError> {
    let name = Path::new(filename)
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("upload"));
    let mut session = Session::open(
        state,
        principal,
        case,
        record,
        "upload",
        &name.display().to_string(),
    )
    .await?;
    let (exam, bytes) = tokio::task::spawn_blocking(move || {
        let exam = probity_imaging::examine(&name, &bytes, &IntakeOptions::default());
        let sha256 = probity_imaging::sha256_hex(&bytes);
        let f = CardFile {
            path: name.clone(),
            relative_path: name,
            size: bytes.len() as u64,
            sha256,
            format: exam.format,
            extension: exam.extension,
            decision: exam.decision,
            metadata: exam.metadata,
            thumbnail: exam.thumbnail,
            notes: exam.notes,
        };
        (f, bytes)
    })
    .await
    .map_err(|e| ApiError::internal(format!("examination failed: {e}")))?;
    session.accept(exam, Some(bytes)).await?;
    session.finish().await
}

fn flag(fields: &std::collections::HashMap<String, String>, name: &str) -> bool {
    fields
        .get(name)
        .is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1"))
}

/// Builds the purpose and basis from flat text fields (form, multipart or command line):
/// `purpose`, `purpose_description`, and either `basis` (the JSON of a
/// [`CaptureBasis`]) or `basis_kind` with its fields (`warrant_number`, `issuing_judge`,
/// `probable_cause_finding`, `entry_authorized`, `prosecutor`; `statute`,
/// `probable_cause_of_crime`, `emergency_from_conduct`, `imminent_danger`,
/// `aimed_at_preventing_injury`, `flight_risk_cited`). The domain validates the result.
pub fn capture_record_from_fields(
    fields: &std::collections::HashMap<String, String>,
) -> Result<CaptureRecord, ApiError> {
    use probity_domain::bases::{DcPurpose, ExigencyFindings, ExigencyStatute, Warrant};
    use std::str::FromStr;
    let text = |n: &str| {
        fields
            .get(n)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let purpose_text = text("purpose");
    if purpose_text.is_empty() {
        return Err(ApiError::bad_field(
            "purpose",
            format!(
                "every intake records its purpose (DC-01): one of {}",
                DcPurpose::ALL
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .with_rule("DC-01"));
    }
    let purpose = ImagePurpose {
        // A listed purpose, or a new one (checked against its addendum, OVR-04, by
        // `with_addendum` before the intake is recorded).
        purpose: probity_domain::UseOf::parse("purpose", &purpose_text)
            .map_err(crate::domain_error)?,
        description: Some(text("purpose_description")).filter(|d| !d.is_empty()),
    };
    let basis = if let Some(json) = fields.get("basis").filter(|b| !b.trim().is_empty()) {
        serde_json::from_str::<CaptureBasis>(json).map_err(|e| {
            ApiError::bad_field(
                "basis",
                format!("the legal basis is not valid (DC-02): {e}"),
            )
            .with_rule("DC-02")
        })?
    } else {
        match text("basis_kind").as_str() {
            "no_reasonable_expectation_of_privacy" => {
                CaptureBasis::NoReasonableExpectationOfPrivacy
            }
            "warrant" => CaptureBasis::Warrant(Warrant {
                number: text("warrant_number"),
                issuing_judge: text("issuing_judge"),
                probable_cause_finding: flag(fields, "probable_cause_finding"),
                entry_authorized: flag(fields, "entry_authorized"),
                prosecutor: text("prosecutor"),
            }),
            "exigency" => CaptureBasis::Exigency(ExigencyFindings {
                statute: match text("statute").as_str() {
                    "" => None,
                    s => Some(ExigencyStatute::from_str(s).map_err(crate::domain_error)?),
                },
                probable_cause_of_crime: flag(fields, "probable_cause_of_crime"),
                emergency_from_conduct: flag(fields, "emergency_from_conduct"),
                imminent_danger: flag(fields, "imminent_danger"),
                aimed_at_preventing_injury: flag(fields, "aimed_at_preventing_injury"),
                flight_risk_cited: flag(fields, "flight_risk_cited"),
            }),
            _ => {
                return Err(ApiError::bad_field(
                    "basis_kind",
                    format!(
                        "every capture records its legal basis (DC-02): one of {}",
                        CaptureBasis::KINDS.join(", ")
                    ),
                )
                .with_rule("DC-02"))
            }
        }
    };
    let record = CaptureRecord { purpose, basis };
    // A new purpose is checked once its addendum has been looked up (`Session::open`).
    if record.purpose.purpose.listed().is_some() {
        record.validate()?;
    } else {
        record.basis.validate().map_err(crate::domain_error)?;
    }
    Ok(record)
}
