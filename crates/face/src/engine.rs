//! The face engine: detection, alignment, quality and templates for one algorithm.

use std::path::Path;

use image::RgbImage;
use serde::Serialize;

use crate::algorithm::{AlgorithmSpec, Embedder};
use crate::detect::{AlignedFace, DetectOptions, FaceDetector};
use crate::error::FaceError;
use crate::geometry::{BoundingBox, Landmarks5};
use crate::quality::{assess, QualityReport, QualityThresholds};
use crate::template::{GalleryPhoto, ProbeTemplate, RepositoryTemplate};

/// A face found in an image, with its quality report (FR-06).
#[derive(Debug, Clone, Serialize)]
pub struct FoundFace {
    pub bbox: BoundingBox,
    pub score: Option<f64>,
    pub source: crate::detect::BoxSource,
    pub landmarks: Landmarks5,
    pub quality: QualityReport,
    #[serde(skip)]
    pub aligned: AlignedFace,
}

/// Which face of a probe image to use.
#[derive(Debug, Clone, Copy)]
pub enum FaceChoice {
    /// The image must contain exactly one face.
    Only,
    /// The n-th face (0-based, by detector score) of `detect`.
    Index(usize),
    /// A box drawn by hand, aligned with the landmark model.
    Manual(BoundingBox),
}

/// Detector + embedder for one algorithm. Not shared between threads: make one per worker.
pub struct FaceEngine {
    detector: FaceDetector,
    embedder: Box<dyn Embedder>,
    /// Detection for probes and `face detect|compare` (default: one doubling, faces from 40 px).
    pub detect_options: DetectOptions,
    /// Detection for repository photographs (`enrol`, `detect_for_enrolment`; default
    /// [`DetectOptions::repository`]).
    pub repository_detect_options: DetectOptions,
    pub quality: QualityThresholds,
}

impl FaceEngine {
    /// Loads detector, shape predictor and `spec`'s network from `model_dir`, verifying SHA-256.
    pub fn open(spec: &'static AlgorithmSpec, model_dir: &Path) -> Result<Self, FaceError> {
        Ok(Self {
            detector: FaceDetector::open(model_dir)?,
            embedder: spec.load(model_dir)?,
            detect_options: DetectOptions::default(),
            repository_detect_options: DetectOptions::repository(),
            quality: QualityThresholds::default(),
        })
    }

    pub fn algorithm(&self) -> &'static AlgorithmSpec {
        self.embedder.spec()
    }

    /// Every face in the image, best detector score first, with quality.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<FoundFace>, FaceError> {
        let faces = self.detector.detect(image, &self.detect_options)?;
        Ok(faces.into_iter().map(|f| self.found(f)).collect())
    }

    /// Every face in a repository photograph, best detector score first, with quality, found
    /// with `repository_detect_options`.
    pub fn detect_for_enrolment(&mut self, image: &RgbImage) -> Result<Vec<FoundFace>, FaceError> {
        let faces = self
            .detector
            .detect(image, &self.repository_detect_options)?;
        Ok(faces.into_iter().map(|f| self.found(f)).collect())
    }

    /// Aligns a hand-drawn face box and reports its quality.
    pub fn manual_face(
        &mut self,
        image: &RgbImage,
        bbox: BoundingBox,
    ) -> Result<FoundFace, FaceError> {
        let f = self.detector.align_manual(image, bbox)?;
        Ok(self.found(f))
    }

    fn found(&self, f: AlignedFace) -> FoundFace {
        FoundFace {
            bbox: f.bbox,
            score: f.score,
            source: f.source,
            landmarks: f.landmarks,
            quality: assess(&f, &self.quality),
            aligned: f,
        }
    }

    /// Chooses the probe face per `choice`.
    pub fn choose(&mut self, image: &RgbImage, choice: FaceChoice) -> Result<FoundFace, FaceError> {
        match choice {
            FaceChoice::Manual(b) => self.manual_face(image, b),
            FaceChoice::Only => {
                let mut faces = self.detect(image)?;
                match faces.len() {
                    0 => Err(FaceError::NoFace),
                    1 => faces.pop().ok_or(FaceError::NoFace),
                    n => Err(FaceError::SeveralFaces(n)),
                }
            }
            FaceChoice::Index(i) => {
                let faces = self.detect(image)?;
                if faces.is_empty() {
                    return Err(FaceError::NoFace);
                }
                let n = faces.len();
                faces.into_iter().nth(i).ok_or(FaceError::SeveralFaces(n))
            }
        }
    }

    /// The probe template of a chosen face (FR-03: a probe template, never a repository one).
    pub fn probe_template(
        &mut self,
        image: &RgbImage,
        face: &FoundFace,
    ) -> Result<ProbeTemplate, FaceError> {
        let v = self.embed_one(image, &face.aligned)?;
        ProbeTemplate::new(self.algorithm(), v)
    }

    /// Enrols a repository record's gallery photo: the largest face found (arrest and parole
    /// photographs show one person), or a hand-drawn box.
    pub fn enrol(
        &mut self,
        photo: GalleryPhoto<'_>,
        manual: Option<BoundingBox>,
    ) -> Result<RepositoryTemplate, FaceError> {
        let face = match manual {
            Some(b) => self.detector.align_manual(photo.image, b)?,
            None => self
                .detector
                .detect(photo.image, &self.repository_detect_options)?
                .into_iter()
                .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
                .ok_or(FaceError::NoFace)?,
        };
        let v = self.embed_one(photo.image, &face)?;
        RepositoryTemplate::enrol(photo.record, self.algorithm(), v)
    }

    /// Enrols a face already found in a gallery photo (e.g. chosen by the operator among several).
    pub fn enrol_found(
        &mut self,
        photo: GalleryPhoto<'_>,
        face: &FoundFace,
    ) -> Result<RepositoryTemplate, FaceError> {
        let v = self.embed_one(photo.image, &face.aligned)?;
        RepositoryTemplate::enrol(photo.record, self.algorithm(), v)
    }

    fn embed_one(&mut self, image: &RgbImage, face: &AlignedFace) -> Result<Vec<f32>, FaceError> {
        self.embedder
            .embed(image, std::slice::from_ref(face))?
            .pop()
            .ok_or_else(|| FaceError::Inference("no embedding produced".into()))
    }

    /// Raw embeddings for the evaluation harness (crate-internal: never a public path to vectors).
    pub(crate) fn embed_faces(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        self.embedder.embed(image, faces)
    }

    pub(crate) fn detector(&mut self) -> &mut FaceDetector {
        &mut self.detector
    }
}

/// Similarity verdict of `face compare`.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub algorithm: String,
    pub score: f32,
    pub threshold: f32,
    pub same: bool,
}

/// Compares two probe templates at the algorithm's evaluated threshold.
pub fn compare(
    spec: &AlgorithmSpec,
    a: &ProbeTemplate,
    b: &ProbeTemplate,
) -> Result<Comparison, FaceError> {
    let score = a.similarity(b)?;
    Ok(Comparison {
        algorithm: spec.id().to_string(),
        score,
        threshold: spec.same_threshold,
        same: score >= spec.same_threshold,
    })
}
