//! Face detection (HOG or MMOD CNN), 5-point landmarks and the aligned 150×150 chip; a face box
//! drawn by hand is aligned the same way (FR-06: when detection fails the investigator marks it).

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::algorithm::{verify_model_file, MMOD_DETECTOR, SHAPE_PREDICTOR};
use crate::dlib::{CnnDetector, HogDetector, Raster, RawDetection, ShapePredictor, CHIP_SIZE};
use crate::error::FaceError;
use crate::geometry::{BoundingBox, Landmarks5};

/// Which detector to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// dlib's HOG + linear SVM: fast, frontal faces.
    #[default]
    Hog,
    /// dlib's MMOD CNN: slower, thorough (more pose, smaller faces).
    Cnn,
}

impl std::str::FromStr for DetectorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "hog" | "fast" => Ok(Self::Hog),
            "cnn" | "mmod" | "thorough" => Ok(Self::Cnn),
            _ => Err(format!("unknown detector `{s}`: use hog or cnn")),
        }
    }
}

/// Detection settings.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DetectOptions {
    pub detector: DetectorKind,
    /// Times the image is doubled before detection (1 finds faces down to about 40 px).
    pub upsample: u32,
    /// Lowest detector score kept (HOG: SVM margin, 0 is dlib's default; CNN: confidence).
    pub min_score: f64,
    /// When nothing is found at `upsample`, search again with this many doublings. Each doubling
    /// quadruples the detector's work, so photographs whose faces are large (arrest and parole
    /// photographs) are searched at their own scale first and doubled only when that finds none.
    #[serde(default)]
    pub retry_upsample: Option<u32>,
}

impl Default for DetectOptions {
    /// Probes: one doubling from the start, so every face down to about 40 px is offered.
    fn default() -> Self {
        Self {
            detector: DetectorKind::Hog,
            upsample: 1,
            min_score: 0.0,
            retry_upsample: None,
        }
    }
}

impl DetectOptions {
    /// Repository photographs: HOG at the photo's own scale (faces of 80 px and more), doubled
    /// only for a photo where that finds no face.
    pub fn repository() -> Self {
        Self {
            detector: DetectorKind::Hog,
            upsample: 0,
            min_score: 0.0,
            retry_upsample: Some(1),
        }
    }
}

/// How a face box came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoxSource {
    Hog,
    Cnn,
    /// Drawn by a person.
    Manual,
}

/// A face located, landmarked and aligned.
#[derive(Debug, Clone)]
pub struct AlignedFace {
    pub bbox: BoundingBox,
    /// Detector score; `None` for a hand-drawn box.
    pub score: Option<f64>,
    pub source: BoxSource,
    pub landmarks: Landmarks5,
    /// The aligned 150×150 RGB chip (dlib `get_face_chip_details(shape, 150, 0.25)`).
    pub chip: RgbImage,
}

/// Detectors plus the 5-point shape predictor. Not shared between threads: one per worker.
pub struct FaceDetector {
    hog: HogDetector,
    cnn: Option<CnnDetector>,
    shape: ShapePredictor,
    model_dir: std::path::PathBuf,
}

impl FaceDetector {
    /// Loads the shape predictor (verified by SHA-256); the CNN detector loads on first use.
    pub fn open(model_dir: &Path) -> Result<Self, FaceError> {
        let sp = model_dir.join(SHAPE_PREDICTOR.file_name);
        verify_model_file(&sp, SHAPE_PREDICTOR.sha256)?;
        Ok(Self {
            hog: HogDetector::new()?,
            cnn: None,
            shape: ShapePredictor::open(&sp)?,
            model_dir: model_dir.to_path_buf(),
        })
    }

    fn cnn(&mut self) -> Result<&mut CnnDetector, FaceError> {
        if self.cnn.is_none() {
            let p = self.model_dir.join(MMOD_DETECTOR.file_name);
            verify_model_file(&p, MMOD_DETECTOR.sha256)?;
            self.cnn = Some(CnnDetector::open(&p)?);
        }
        self.cnn
            .as_mut()
            .ok_or_else(|| FaceError::Inference("CNN detector unavailable".into()))
    }

    /// Every face found, highest score first, each landmarked and aligned.
    pub fn detect(
        &mut self,
        image: &RgbImage,
        opts: &DetectOptions,
    ) -> Result<Vec<AlignedFace>, FaceError> {
        let raster = raster(image)?;
        let mut raw = self.detect_raw(raster, opts.detector, opts.upsample, opts.min_score)?;
        if let Some(more) = opts.retry_upsample.filter(|&u| u > opts.upsample) {
            if raw.is_empty() {
                raw = self.detect_raw(raster, opts.detector, more, opts.min_score)?;
            }
        }
        let source = match opts.detector {
            DetectorKind::Hog => BoxSource::Hog,
            DetectorKind::Cnn => BoxSource::Cnn,
        };
        raw.sort_by(|a, b| b.score.total_cmp(&a.score));
        raw.into_iter()
            .map(|d| {
                let bbox = clamp_box(&d.bbox, image);
                self.align(raster, bbox, Some(d.score), source)
            })
            .collect()
    }

    fn detect_raw(
        &mut self,
        raster: Raster<'_>,
        kind: DetectorKind,
        upsample: u32,
        min_score: f64,
    ) -> Result<Vec<RawDetection>, FaceError> {
        let mut raw = match kind {
            DetectorKind::Hog => self.hog.detect(raster, upsample, 0.0)?,
            DetectorKind::Cnn => self.cnn()?.detect(raster, upsample)?,
        };
        raw.retain(|d| d.score >= min_score);
        Ok(raw)
    }

    /// Aligns a face box drawn by hand: landmarks from the shape predictor inside the box.
    pub fn align_manual(
        &mut self,
        image: &RgbImage,
        bbox: BoundingBox,
    ) -> Result<AlignedFace, FaceError> {
        let (w, h) = (image.width() as f64, image.height() as f64);
        if !(bbox.left >= 0.0 && bbox.top >= 0.0 && bbox.right <= w && bbox.bottom <= h)
            || bbox.width() < 20.0
            || bbox.height() < 20.0
        {
            return Err(FaceError::BadFaceBox(bbox.to_string()));
        }
        self.align(raster(image)?, bbox, None, BoxSource::Manual)
    }

    fn align(
        &mut self,
        raster: Raster<'_>,
        bbox: BoundingBox,
        score: Option<f64>,
        source: BoxSource,
    ) -> Result<AlignedFace, FaceError> {
        let mut chip = vec![0u8; crate::dlib::CHIP_BYTES];
        let pts = self.shape.landmarks_and_chip(raster, &bbox, &mut chip)?;
        let chip = RgbImage::from_raw(CHIP_SIZE as u32, CHIP_SIZE as u32, chip)
            .ok_or_else(|| FaceError::Inference("chip size".into()))?;
        Ok(AlignedFace {
            bbox,
            score,
            source,
            landmarks: Landmarks5(pts),
            chip,
        })
    }
}

/// The image's pixels as a checked [`Raster`]. An `RgbImage` may own a longer buffer than its
/// sides need (`ImageBuffer::from_raw` accepts one); only the image's own pixels are passed on.
fn raster(image: &RgbImage) -> Result<Raster<'_>, FaceError> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let raw = image.as_raw();
    let used = w.saturating_mul(h).saturating_mul(3).min(raw.len());
    Raster::new(&raw[..used], w, h)
}

fn clamp_box(b: &BoundingBox, image: &RgbImage) -> BoundingBox {
    let (w, h) = (image.width() as f64, image.height() as f64);
    BoundingBox {
        left: b.left.clamp(0.0, w),
        top: b.top.clamp(0.0, h),
        right: b.right.clamp(0.0, w),
        bottom: b.bottom.clamp(0.0, h),
    }
}
