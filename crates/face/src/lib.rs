//! probity-face: the part of facial recognition the software does (FR-01..03, FR-06..08, FR-23, FR-24).
//!
//! Pipeline: decoded RGB pixels → detection (dlib HOG or MMOD CNN, [`detect`]) → 5-point landmarks and
//! the aligned 150×150 chip → quality measures and verdict ([`quality`], FR-06) → a template from a
//! registered, versioned algorithm ([`algorithm`], FR-23) → search of the photo repository index
//! ([`index`], FR-02, FR-08, FR-24) → ranked candidates with scores and the algorithm version.
//!
//! Architecture invariants:
//! - A probe template can never enter the repository index: the index accepts only
//!   [`template::RepositoryTemplate`], made from a repository record's gallery photo; a
//!   [`template::ProbeTemplate`] has no accessor for its vector and no conversion (FR-03).
//! - Sealed or removed records never appear in a result: excluded in the scan and graph walk, then
//!   re-checked by the caller's authoritative callback (FR-02).
//! - No search parameter exists for any protected trait (FR-24); demographic labels are read only
//!   by the evaluation harness for aggregate accuracy ([`eval`]).
//! - The crate decodes no files and edits no pixels: it receives decoded pixels (the imaging crate
//!   owns decoding, EXIF orientation, size limits and the FR-07 edit list). It does no I/O besides
//!   model files, the index file and evaluation files.
//! - Model weights are verified by SHA-256 before use; nothing is downloaded at run time.

#![recursion_limit = "1024"]
// FFI soundness (README, "FFI soundness"): every unsafe operation sits in an `unsafe` block, even
// inside an `unsafe fn`, and every such block and `unsafe impl` states its argument in a
// `// SAFETY:` comment. The unsafe code lives in `dlib` (the C++ bridge) and `index` (SIMD
// kernels, prefetch, madvise); nowhere else.
#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

pub mod algorithm;
pub mod detect;
pub mod dlib;
mod embed_dlib;
mod embed_facenet;
mod embed_onnx;
pub mod engine;
pub mod error;
pub mod eval;
pub mod fusion;
pub mod geometry;
pub mod governance;
pub mod index;
pub mod quality;
pub mod retemplate;
pub mod template;

pub use algorithm::{
    default_algorithm, lookup, model_dir, register_fusion, register_onnx, registered, AlgorithmId,
    AlgorithmSpec, Embedder, FusionModel, OnnxModel, REGISTRY,
};
pub use detect::{AlignedFace, BoxSource, DetectOptions, DetectorKind};
pub use engine::{compare, Comparison, FaceChoice, FaceEngine, FoundFace};
pub use error::FaceError;
pub use geometry::{BoundingBox, Landmarks5, Point};
pub use index::{Candidate, GalleryIndex, SearchMode, SearchRequest, SearchResult};
pub use quality::{QualityReport, QualityThresholds};
pub use template::{GalleryPhoto, ProbeTemplate, RecordId, RepositoryTemplate};
