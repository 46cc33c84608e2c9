//! # probity-store: the trust layer
//!
//! Persistence for Probity: the relational database (SQLite embedded by default, PostgreSQL
//! for many nodes, one code path through sqlx), the encrypted evidence blob store, the
//! hash-chained audit trail with signed checkpoints, and leased background jobs.
//!
//! ## Boundary and invariants
//! - Nothing outside this crate writes SQL. Other crates call the functions of the table
//!   modules ([`users`], [`cases`], ...).
//! - Every change of protected data carries its audit entry in the same transaction: every
//!   mutating function takes a [`Tx`]; the caller appends with [`audit::append`] and commits
//!   once. Reads of protected data are audited the same way.
//! - No API overwrites an original: blobs are create-only, destruction is crypto-shredding
//!   with a disposition certificate; the audit trail is append-only.
//! - The store does not decide policy: roles, statuses and closure reasons are stored as text
//!   and validated by the domain crate; the store never imports domain or policy crates.
//!
//! ## Use
//! ```no_run
//! # async fn demo() -> Result<(), probity_store::StoreError> {
//! use probity_store::{audit, cases, Store, StoreConfig};
//! let store = Store::open(StoreConfig::new("data", None)).await?;
//! let mut tx = store.begin().await?;
//! let case = cases::create(&mut tx, &cases::NewCase {
//!     case_number: "2026-000123".into(),
//!     offence_classification: "robbery".into(),
//!     status: "open".into(),
//!     command: "PCT-019".into(),
//!     assigned_investigator: None,
//!     political_activity: false,
//!     created_by: "user:alice".into(),
//! }).await?;
//! audit::append(&mut tx, &audit::AuditEvent {
//!     actor: "user:alice".into(),
//!     action: "case.create".into(),
//!     record_type: "case".into(),
//!     record_id: case.id.to_string(),
//!     reason: None,
//!     outcome: audit::Outcome::Success,
//!     detail: serde_json::json!({}),
//! }).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

pub mod algorithms;
pub mod assignments;
pub mod audit;
pub mod blobs;
pub mod breaches;
pub mod cases;
mod db;
pub mod devices;
pub mod disclosures;
mod error;
pub mod evidence;
pub mod foil;
pub mod fr;
pub mod gallery;
pub mod gallery_quality;
pub mod holds;
pub mod inspections;
pub mod jobs;
mod keys;
pub mod misuse;
pub mod oversight;
pub mod policy_revisions;
pub mod progress;
pub mod records;
pub mod scheduler;
pub mod sessions;
pub mod thermal;
pub mod tokens;
pub mod training;
pub mod users;
pub mod vendors;
pub mod worklist;

pub use blobs::{
    BlobMeta, BlobStore, Disposition, DispositionCertificate, StagedBlob, SweepReport,
};
pub use db::{Backend, Store, StoreConfig, Tx, MASTER_KEY_ENV};
pub use error::{Result, StoreError};
pub use keys::{ServerKeys, MASTER_KEY_FILE, SERVER_KEY_FILE};

/// SHA-256 (hex) of a session or API token: the only form in which tokens are stored.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
