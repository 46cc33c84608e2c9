//! The one error type at the face crate's boundary.

use std::path::PathBuf;

/// Errors of the face engine. Messages are shown to users: each says what is wrong and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("face model file {path} is missing: run scripts/setup (or set PROBITY_MODEL_DIR to the folder holding the models)")]
    ModelMissing { path: PathBuf },
    #[error("face model file {path} could not be loaded ({reason}): it is corrupt or not the expected model; run scripts/setup to reinstall it")]
    ModelCorrupt { path: PathBuf, reason: String },
    #[error("face model file {path} has SHA-256 {actual}, expected {expected}: run scripts/setup to reinstall it")]
    ModelChecksum {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("unknown face algorithm `{0}`: use one of the registered algorithms (probity eval --help lists them)")]
    UnknownAlgorithm(String),
    #[error("invalid image: {0}")]
    InvalidImage(String),
    #[error("no face was found in the image: choose another image, or draw the face box by hand")]
    NoFace,
    #[error("{0} faces were found: choose one face for the probe")]
    SeveralFaces(usize),
    #[error(
        "the face box {0} lies outside the image or is too small: draw it around the whole face"
    )]
    BadFaceBox(String),
    #[error("face inference failed: {0}")]
    Inference(String),
    #[error("template of algorithm {found} cannot be used with algorithm {expected}: re-template with one algorithm")]
    AlgorithmMismatch { expected: String, found: String },
    #[error("template has {found} dimensions, the index holds {expected}")]
    DimensionMismatch { expected: usize, found: usize },
    #[error(
        "repository record {0} is already in the index: remove it first to replace its template"
    )]
    DuplicateRecord(u64),
    #[error("index file {path} is not a valid Probity face index: {reason}; rebuild it from the repository")]
    IndexFormat { path: PathBuf, reason: String },
    #[error("evaluation data problem: {0}")]
    EvalData(String),
    /// The re-templating job's source or sink (the repository's store) failed (FR-23).
    #[error("re-templating: {0}")]
    Retemplate(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FaceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FaceError::Io {
            path: path.into(),
            source,
        }
    }
}
