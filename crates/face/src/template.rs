//! Templates (FR-03, FR-23).
//!
//! A face's vector is wrapped by its origin, and the two wrappers never meet:
//! - [`ProbeTemplate`] comes from a probe image. It can be compared and searched with, and nothing
//!   else: it has no accessor for its vector, no serialisation, no conversion into anything.
//! - [`RepositoryTemplate`] comes from a gallery photo of a repository record. It is the only type the
//!   [`crate::index::GalleryIndex`] accepts. It is made only by [`RepositoryTemplate::enrol`] (from a
//!   [`GalleryPhoto`], which names the record) or [`RepositoryTemplate::from_stored`] (bytes the store
//!   saved from an earlier `RepositoryTemplate::to_stored`).
//!
//! ```compile_fail
//! // FR-03: a probe template cannot be added to the repository index.
//! fn enrol_probe(index: &mut probity_face::index::GalleryIndex, p: probity_face::template::ProbeTemplate) {
//!     index.add(p).ok();
//! }
//! ```
//! ```compile_fail
//! // FR-03: a probe template cannot be turned into a repository template.
//! fn convert(p: probity_face::template::ProbeTemplate) -> probity_face::template::RepositoryTemplate {
//!     p.into()
//! }
//! ```
//! ```compile_fail
//! // FR-03: a probe template's vector cannot be read out (to be stored as a gallery template).
//! fn leak(p: &probity_face::template::ProbeTemplate) -> Vec<f32> {
//!     p.vector().to_vec()
//! }
//! ```
//! ```compile_fail
//! // FR-03: a repository template cannot be built field by field.
//! fn forge(t: probity_face::template::ProbeTemplate) -> probity_face::template::RepositoryTemplate {
//!     probity_face::template::RepositoryTemplate { record: probity_face::template::RecordId(1), inner: t.inner }
//! }
//! ```

use serde::{Deserialize, Serialize};

use crate::algorithm::{AlgorithmId, AlgorithmSpec};
use crate::error::FaceError;

/// A repository record's id (assigned by the store; one per gallery photo).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RecordId(pub u64);

impl std::fmt::Display for RecordId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a template came from; checked again by the index at run time (defence in depth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Probe,
    Gallery,
}

/// An algorithm-tagged, L2-normalised face vector. Only this crate builds one.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) algorithm: AlgorithmId,
    pub(crate) vector: Vec<f32>,
    pub(crate) origin: Origin,
}

impl Template {
    pub(crate) fn new(
        spec: &AlgorithmSpec,
        mut vector: Vec<f32>,
        origin: Origin,
    ) -> Result<Self, FaceError> {
        if vector.len() != spec.dimension {
            return Err(FaceError::DimensionMismatch {
                expected: spec.dimension,
                found: vector.len(),
            });
        }
        if vector.iter().any(|x| !x.is_finite()) {
            return Err(FaceError::Inference(
                "template has non-finite values".into(),
            ));
        }
        crate::algorithm::l2_normalise(&mut vector);
        Ok(Self {
            algorithm: spec.id(),
            vector,
            origin,
        })
    }

    fn cosine(&self, other: &Template) -> Result<f32, FaceError> {
        if self.algorithm != other.algorithm {
            return Err(FaceError::AlgorithmMismatch {
                expected: self.algorithm.to_string(),
                found: other.algorithm.to_string(),
            });
        }
        Ok(self
            .vector
            .iter()
            .zip(&other.vector)
            .map(|(a, b)| a * b)
            .sum())
    }
}

/// A template computed from a probe image (FR-03: never a repository record).
#[derive(Debug, Clone)]
pub struct ProbeTemplate {
    pub(crate) inner: Template,
}

impl ProbeTemplate {
    pub(crate) fn new(spec: &AlgorithmSpec, vector: Vec<f32>) -> Result<Self, FaceError> {
        Ok(Self {
            inner: Template::new(spec, vector, Origin::Probe)?,
        })
    }

    /// A probe embedding computed earlier by `spec` (e.g. replaying an audited search, or a
    /// benchmark's query set). It stays a probe: nothing converts it into a repository template.
    pub fn from_embedding(spec: &AlgorithmSpec, vector: Vec<f32>) -> Result<Self, FaceError> {
        Self::new(spec, vector)
    }

    pub fn algorithm(&self) -> &AlgorithmId {
        &self.inner.algorithm
    }

    /// Cosine similarity with another probe (e.g. `face compare`), in [−1, 1].
    pub fn similarity(&self, other: &ProbeTemplate) -> Result<f32, FaceError> {
        self.inner.cosine(&other.inner)
    }

    /// Cosine similarity with a repository template, in [−1, 1].
    pub fn similarity_to(&self, other: &RepositoryTemplate) -> Result<f32, FaceError> {
        self.inner.cosine(&other.inner)
    }
}

/// A gallery photo of a repository record, as the store hands it to the engine for enrolment.
/// The store builds these only from repository records (FR-01), never from probes.
pub struct GalleryPhoto<'a> {
    pub record: RecordId,
    pub image: &'a image::RgbImage,
}

/// A repository record's template: the only thing the gallery index holds.
#[derive(Debug, Clone)]
pub struct RepositoryTemplate {
    record: RecordId,
    inner: Template,
}

impl RepositoryTemplate {
    /// Built by the engine from a gallery photo's embedding (see `FaceEngine::enrol`).
    pub(crate) fn enrol(
        record: RecordId,
        spec: &AlgorithmSpec,
        vector: Vec<f32>,
    ) -> Result<Self, FaceError> {
        Ok(Self {
            record,
            inner: Template::new(spec, vector, Origin::Gallery)?,
        })
    }

    pub fn record(&self) -> RecordId {
        self.record
    }

    pub fn algorithm(&self) -> &AlgorithmId {
        &self.inner.algorithm
    }

    pub(crate) fn vector(&self) -> &[f32] {
        &self.inner.vector
    }

    #[cfg(test)]
    pub(crate) fn origin_for_test(&mut self, o: Origin) {
        self.inner.origin = o;
    }

    pub(crate) fn is_gallery(&self) -> bool {
        self.inner.origin == Origin::Gallery
    }

    /// Bytes for the store's template table (FR-23): little-endian f32 values.
    pub fn to_stored(&self) -> Vec<u8> {
        self.inner
            .vector
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect()
    }

    /// Rebuilds a repository template the store saved with [`Self::to_stored`], for `record`.
    pub fn from_stored(
        record: RecordId,
        spec: &AlgorithmSpec,
        bytes: &[u8],
    ) -> Result<Self, FaceError> {
        if bytes.len() != spec.dimension * 4 {
            return Err(FaceError::DimensionMismatch {
                expected: spec.dimension,
                found: bytes.len() / 4,
            });
        }
        let v = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Self::enrol(record, spec, v)
    }
}

/// Cosine similarity between two repository templates (evaluation and de-duplication).
pub fn gallery_similarity(
    a: &RepositoryTemplate,
    b: &RepositoryTemplate,
) -> Result<f32, FaceError> {
    a.inner.cosine(&b.inner)
}
