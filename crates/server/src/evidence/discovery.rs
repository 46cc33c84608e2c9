//! Discovery packages (DC-07): chosen originals of a case for the prosecutor with jurisdiction,
//! with a manifest (hashes, metadata, legal basis, custody history) signed with the server's
//! Ed25519 key, and the offline check of such a package.
//!
//! Layout (a directory, or the same entries in a .tar):
//! - `manifest.json`: the manifest; its exact bytes are signed.
//! - `manifest.sig`: base64 Ed25519 signature of `manifest.json`.
//! - `originals/<item id>-<original file name>`: the originals, bit for bit.
//!
//! The manifest carries the signing key's id and public key, but [`verify`] never trusts them:
//! the caller names the key to trust (the server publishes it at `GET /api/discovery/signing-key`),
//! so a package altered and re-signed with another key, which it then carries, does not verify.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::Utc;
use ed25519_dalek::Signature;
/// The key type [`verify`] takes, re-exported for callers.
pub use ed25519_dalek::VerifyingKey;
use probity_policy::Action;
use probity_store::{audit, cases, evidence};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

pub const MANIFEST: &str = "manifest.json";
pub const SIGNATURE: &str = "manifest.sig";
pub const FORMAT: &str = "probity.discovery.v1";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustodyLine {
    pub seq: u64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub outcome: String,
    /// The audit entry's chain hash.
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestItem {
    pub item_id: Uuid,
    /// Path of the original inside the package.
    pub file: String,
    pub sha256: String,
    pub size: u64,
    pub original_filename: String,
    pub format: String,
    pub imported_at: String,
    pub importer: String,
    pub metadata: serde_json::Value,
    pub purpose: serde_json::Value,
    pub legal_basis: serde_json::Value,
    pub custody: Vec<CustodyLine>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub case_number: String,
    pub prosecutor: String,
    pub created_at: String,
    pub created_by: String,
    pub key_id: String,
    /// Raw Ed25519 public key, base64.
    pub public_key: String,
    pub items: Vec<ManifestItem>,
    /// For a disclosure outside the Department (EXT-01..EXT-04): the recipient, purpose, basis
    /// with its wording, identity confirmation and approval; `prosecutor` then names the
    /// recipient. Absent in discovery packages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<serde_json::Value>,
}

/// A built package in memory: (path in package, bytes).
pub struct Package {
    pub manifest: Manifest,
    pub entries: Vec<(String, Vec<u8>)>,
}

/// Builds the package of `item_ids` (all items of the case when empty) for `prosecutor`.
/// Each exported item gets an `evidence.export` audit entry in one transaction with the rest.
pub async fn build(
    state: &AppState,
    p: &Principal,
    case: &cases::Case,
    item_ids: &[Uuid],
    prosecutor: &str,
) -> Result<Package, ApiError> {
    if prosecutor.trim().is_empty() {
        return Err(ApiError::bad_field(
            "prosecutor",
            "name the prosecutor with jurisdiction who receives the package (DC-07)",
        ));
    }
    super::intake::require(state, p, Action::EvidenceExport, case, "*").await?;
    package(
        state,
        &p.actor(),
        case,
        item_ids,
        prosecutor,
        &format!("discovery to {prosecutor}"),
        None,
    )
    .await
}

/// Builds the signed package of `item_ids` (all items of the case when empty) for `recipient`,
/// for a caller already authorized: discovery (DC-07, above) and released disclosures (EXT-01)
/// share this format, so one verifier checks both. `disclosure` describes the disclosure in the
/// signed manifest. Each item gets an `evidence.export` audit entry saying `export_reason`.
pub async fn package(
    state: &AppState,
    actor: &str,
    case: &cases::Case,
    item_ids: &[Uuid],
    recipient: &str,
    export_reason: &str,
    disclosure: Option<serde_json::Value>,
) -> Result<Package, ApiError> {
    let prosecutor = recipient;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let all = evidence::items_for_case(&mut tx, case.id)
        .await
        .map_err(crate::store_error)?;
    let chosen: Vec<evidence::Item> = if item_ids.is_empty() {
        all
    } else {
        let wanted: BTreeSet<Uuid> = item_ids.iter().copied().collect();
        let found: Vec<_> = all.into_iter().filter(|i| wanted.contains(&i.id)).collect();
        if found.len() != wanted.len() {
            return Err(ApiError::bad_field(
                "items",
                format!(
                    "{} of the chosen items are not evidence of case {}",
                    wanted.len() - found.len(),
                    case.case_number
                ),
            ));
        }
        found
    };
    if chosen.is_empty() {
        return Err(ApiError::bad_field(
            "items",
            format!("case {} has no evidence to export", case.case_number),
        ));
    }
    let keys = state.store.server_keys();
    let mut entries = Vec::new();
    let mut items = Vec::new();
    for item in &chosen {
        let bytes = state
            .store
            .blobs()
            .get(&mut tx, item.blob_id)
            .await
            .map_err(crate::store_error)?;
        audit::append(
            &mut tx,
            &audit::AuditEvent {
                actor: actor.to_string(),
                action: "evidence.export".into(),
                record_type: "evidence".into(),
                record_id: item.id.to_string(),
                reason: Some(export_reason.to_string()),
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({ "case": case.case_number, "sha256": item.sha256 }),
            },
        )
        .await
        .map_err(crate::store_error)?;
        let custody = audit::for_record(&mut tx, "evidence", &item.id.to_string())
            .await
            .map_err(crate::store_error)?
            .into_iter()
            .map(|e| CustodyLine {
                seq: e.seq,
                at: e.at.to_rfc3339(),
                actor: e.actor,
                action: e.action,
                outcome: e.outcome,
                hash: e.hash,
            })
            .collect();
        let file = format!(
            "originals/{}-{}",
            item.id,
            safe_name(&item.original_filename)
        );
        items.push(ManifestItem {
            item_id: item.id,
            file: file.clone(),
            sha256: item.sha256.clone(),
            size: item.size,
            original_filename: item.original_filename.clone(),
            format: item.format.clone(),
            imported_at: item.imported_at.to_rfc3339(),
            importer: item.importer.clone(),
            metadata: item.metadata.clone(),
            purpose: item.purpose.clone(),
            legal_basis: item.legal_basis.clone(),
            custody,
        });
        entries.push((file, bytes));
    }
    tx.commit().await.map_err(crate::store_error)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        case_number: case.case_number.clone(),
        prosecutor: prosecutor.to_string(),
        created_at: Utc::now().to_rfc3339(),
        created_by: actor.to_string(),
        key_id: keys.key_id().to_string(),
        public_key: keys.public_key_base64(),
        items,
        disclosure,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ApiError::internal(format!("manifest: {e}")))?;
    let signature = base64::engine::general_purpose::STANDARD.encode(keys.sign(&manifest_bytes));
    entries.insert(0, (SIGNATURE.to_string(), signature.into_bytes()));
    entries.insert(0, (MANIFEST.to_string(), manifest_bytes));
    Ok(Package { manifest, entries })
}

fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl Package {
    /// The package as a .tar archive.
    pub fn to_tar(&self) -> std::io::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, bytes) in &self.entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o444);
            header.set_mtime(0);
            header.set_cksum();
            builder.append_data(&mut header, name, bytes.as_slice())?;
        }
        builder.into_inner()
    }

    /// Writes the package as a new directory (refuses an existing one) or, when `out` ends in
    /// `.tar`, as an archive.
    pub fn write(&self, out: &Path) -> std::io::Result<()> {
        if out.extension().is_some_and(|e| e == "tar") {
            let bytes = self.to_tar()?;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(out)?;
            std::io::Write::write_all(&mut f, &bytes)?;
            return f.sync_all();
        }
        std::fs::create_dir(out)?;
        for (name, bytes) in &self.entries {
            let path = out.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        Ok(())
    }
}

/// The result of checking a package offline.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub case_number: Option<String>,
    /// Key id of the trusted key the signature was checked against.
    pub trusted_key_id: String,
    /// Key id the manifest names. Informational only: it is never trusted.
    pub key_id: Option<String>,
    /// The package carries a public key (or key id) other than the trusted key. Such a key is
    /// never used; this only says so.
    pub package_key_differs: bool,
    pub signature_valid: bool,
    pub items_checked: usize,
    /// Every problem found, each naming the file at fault.
    pub problems: Vec<String>,
}

impl Verification {
    pub fn is_valid(&self) -> bool {
        self.signature_valid && self.problems.is_empty()
    }
}

/// Parses a raw Ed25519 public key given as base64 (as `probity discovery key` prints it and
/// `GET /api/discovery/signing-key` publishes it).
pub fn parse_public_key(b64: &str) -> Result<VerifyingKey, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("the public key is not base64 ({e})"))?;
    let raw = <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        format!(
            "the public key is {} bytes, an Ed25519 public key is 32",
            bytes.len()
        )
    })?;
    VerifyingKey::from_bytes(&raw)
        .map_err(|e| format!("the public key is not an Ed25519 key ({e})"))
}

/// Short identifier of a public key, as the manifest's `key_id` names the server key: the first
/// 8 bytes of the SHA-256 of the raw key, hex.
pub fn key_id(key: &VerifyingKey) -> String {
    fingerprint(key)[..16].to_string()
}

/// SHA-256 of the raw 32-byte public key, hex: the fingerprint to compare out of band.
pub fn fingerprint(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.to_bytes()))
}

/// The server's discovery signing key as `GET /api/discovery/signing-key` publishes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PublishedKey {
    pub algorithm: String,
    /// Raw Ed25519 public key, base64 (what `probity discovery verify --public-key` takes).
    pub public_key: String,
    /// The key id discovery manifests name.
    pub key_id: String,
    /// SHA-256 of the raw public key, hex.
    pub fingerprint: String,
}

impl PublishedKey {
    pub fn of(key: &VerifyingKey) -> PublishedKey {
        PublishedKey {
            algorithm: "Ed25519".into(),
            public_key: base64::engine::general_purpose::STANDARD.encode(key.to_bytes()),
            key_id: key_id(key),
            fingerprint: fingerprint(key),
        }
    }
}

/// `GET /api/discovery/signing-key` (public): the key that signs discovery manifests, so that
/// a recipient can name it to `probity discovery verify` (DC-07).
pub async fn signing_key(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<PublishedKey> {
    axum::Json(PublishedKey::of(&state.store.server_keys().verifying_key()))
}

/// Reads a package (directory or .tar) into (path, bytes) entries.
fn read_package(path: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut stack: Vec<PathBuf> = vec![path.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let p = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(path)
                        .map(|r| r.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    out.push((rel, std::fs::read(&p)?));
                }
            }
        }
    } else {
        let mut archive = tar::Archive::new(std::fs::File::open(path)?);
        for entry in archive.entries()? {
            let mut entry = entry?;
            let name = entry.path()?.to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            out.push((name, bytes));
        }
    }
    Ok(out)
}

/// Checks a package offline: the manifest's signature against `trusted_key` (the server's key,
/// obtained by the caller from a source it trusts; a key carried inside the package is never
/// used), and every original's SHA-256 and size. Names every altered, missing or unexpected file.
pub fn verify(path: &Path, trusted_key: &VerifyingKey) -> std::io::Result<Verification> {
    let entries = read_package(path)?;
    let mut v = Verification {
        case_number: None,
        trusted_key_id: key_id(trusted_key),
        key_id: None,
        package_key_differs: false,
        signature_valid: false,
        items_checked: 0,
        problems: Vec::new(),
    };
    let find = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, b)| b);
    let Some(manifest_bytes) = find(MANIFEST) else {
        v.problems.push(format!(
            "{MANIFEST} is missing: this is not a discovery package"
        ));
        return Ok(v);
    };
    let manifest: Manifest = match serde_json::from_slice(manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            v.problems.push(format!(
                "{MANIFEST} is not a readable manifest ({e}): altered"
            ));
            return Ok(v);
        }
    };
    v.case_number = Some(manifest.case_number.clone());
    v.key_id = Some(manifest.key_id.clone());
    v.package_key_differs = parse_public_key(&manifest.public_key).ok().as_ref()
        != Some(trusted_key)
        || manifest.key_id != v.trusted_key_id;
    let b64 = base64::engine::general_purpose::STANDARD;
    let sig = find(SIGNATURE)
        .and_then(|s| b64.decode(String::from_utf8_lossy(s).trim()).ok())
        .and_then(|s| Signature::from_slice(&s).ok());
    match sig {
        Some(s) => {
            v.signature_valid = trusted_key.verify_strict(manifest_bytes, &s).is_ok();
            if !v.signature_valid {
                v.problems.push(format!(
                    "{MANIFEST}: the signature does not verify with the trusted key {} (the manifest was altered or signed by another key)",
                    v.trusted_key_id
                ));
            }
        }
        None => v.problems.push(format!(
            "{SIGNATURE} is missing or not a base64 Ed25519 signature"
        )),
    }
    let mut listed = BTreeSet::new();
    for item in &manifest.items {
        listed.insert(item.file.clone());
        v.items_checked += 1;
        match find(&item.file) {
            None => v
                .problems
                .push(format!("{}: missing from the package", item.file)),
            Some(bytes) => {
                let hash = hex::encode(Sha256::digest(bytes));
                if hash != item.sha256 || bytes.len() as u64 != item.size {
                    v.problems.push(format!(
                        "{}: altered (SHA-256 {hash}, manifest says {})",
                        item.file, item.sha256
                    ));
                }
            }
        }
    }
    for (name, _) in &entries {
        if name != MANIFEST && name != SIGNATURE && !listed.contains(name) {
            v.problems
                .push(format!("{name}: not listed in the manifest (added)"));
        }
    }
    Ok(v)
}
