//! probity-imaging: camera files in, facts and pixels out.
//!
//! Boundary: this crate turns the bytes of a camera file into (a) a decoded, upright RGB still
//! for the face engine, (b) the camera metadata DC-06 requires (make, model, body serial, lens,
//! capture time with offset, GPS, orientation), (c) hashes and thumbnails for evidence intake,
//! and (d) the three probe edits FR-07 allows. It performs no storage, no database access, no
//! authorization and no network I/O; callers decide what to keep.
//!
//! Architecture invariants:
//! - The format is decided by content (magic bytes, container structure), never by file name.
//! - Size limits are checked from the header before any pixel buffer is allocated.
//! - A thermal (FLIR radiometric) frame is never decoded into a still (TH-06).
//! - The only probe edits are brightness, crop and rotate (FR-07).
//! - Intake gives one result per file; a bad or vanished file never aborts a card (DC-05).
//!
//! Modules: [`decode`] (stills), [`metadata`] (EXIF, maker notes, XMP), [`provenance`] (the
//! place each value came from, and disagreements), [`hash`] (SHA-256),
//! [`thumbnail`], [`card`] (intake planning), [`edit`] (FR-07 probe edits), [`redact`] (PUB-01),
//! [`format`](mod@format) (content sniffing), [`heif_boxes`] (the HEIF box walk that bounds a
//! file before any decoder sees it), [`heif_worker`] (HEIC pixels decoded in a separate, limited
//! process). HEIC/HEIF goes through Debian's libheif 1.15 via libheif-rs 0.19.2 /
//! libheif-sys 1.14.4, only in that worker.

#![forbid(unsafe_code)]

pub mod card;
pub mod decode;
pub mod edit;
pub mod error;
pub mod format;
pub mod hash;
mod heif;
pub mod heif_boxes;
pub mod heif_worker;
mod jpeg;
pub mod metadata;
pub mod provenance;
mod raw;
pub mod redact;
pub mod thumbnail;
mod tiff;

pub use card::{
    examine, scan_card, scan_card_parallel, CardFile, CardScan, Examination, IntakeDecision,
    IntakeOptions,
};
pub use decode::{decode_still, DecodeLimits, DecodedStill};
pub use edit::{pixel_sha256, EditList, EditOutcome, EditStep, ProbeEdit};
pub use error::ImagingError;
pub use format::{sniff, ExtensionCheck, FileFormat};
pub use hash::{read_back_verify, sha256_file, sha256_hex, sha256_reader};
pub use heif_boxes::{inspect_heif, HeifInspection};
pub use heif_worker::{run_heif_worker, set_heif_worker, HeifWorker};
pub use metadata::{read_metadata, CameraMetadata, CaptureTime, FieldSource, GpsPosition};
pub use provenance::{Conflict, MetaField, Reading, ValueSource};
pub use redact::{encode_release_jpeg, redact_regions, RedactionBox};
pub use thumbnail::{make_thumbnail, Thumbnail, ThumbnailSource, THUMBNAIL_SIDE};
