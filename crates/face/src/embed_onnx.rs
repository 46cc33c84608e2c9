//! A department's own face-embedding model (FR-23): an ONNX network of the common ArcFace layout,
//! registered by configuration ([`crate::algorithm::register_onnx`]) and run by tract-onnx.
//!
//! Preprocessing: the face is aligned by a similarity transform that puts its two eye centres (the
//! means of dlib's two corner landmarks of each eye) on the eye points of the standard 112×112
//! ArcFace template, (38.2946, 51.6963) and (73.5318, 51.5014), sampled bilinearly, then
//! `(x − mean) / scale` per channel, RGB, NCHW. dlib's five landmarks have no mouth corners, so the
//! two eyes fix the transform (rotation, scale and shift) exactly. Output: the first output,
//! flattened to the configured dimension and L2-normalised.

use std::path::Path;

use image::RgbImage;
use tract_onnx::prelude::*;

use crate::algorithm::{l2_normalise, AlgorithmSpec, Embedder, Preprocessing};
use crate::detect::AlignedFace;
use crate::error::FaceError;

/// Eye points of the standard ArcFace 112×112 template (left then right in the image).
const TEMPLATE_EYES: [(f64, f64); 2] = [(38.2946, 51.6963), (73.5318, 51.5014)];

struct OnnxEmbedder {
    spec: &'static AlgorithmSpec,
    plan: crate::embed_facenet::Plan,
    size: u32,
    mean: f32,
    scale: f32,
}

fn tract_err(e: impl std::fmt::Display) -> FaceError {
    FaceError::Inference(format!("ONNX model: {e:#}"))
}

/// Loads `spec`'s ONNX file (already checked against its SHA-256 by [`AlgorithmSpec::load`]).
pub(crate) fn open(
    spec: &'static AlgorithmSpec,
    model_dir: &Path,
) -> Result<Box<dyn Embedder>, FaceError> {
    let Preprocessing::ArcFace { size, mean, scale } = spec.preprocessing else {
        return Err(FaceError::UnknownAlgorithm(format!(
            "{} is not an ONNX algorithm",
            spec.id()
        )));
    };
    let file = spec
        .model_files
        .first()
        .ok_or_else(|| FaceError::UnknownAlgorithm(spec.id().to_string()))?;
    let path = model_dir.join(file.file_name);
    let corrupt = |e: TractError| FaceError::ModelCorrupt {
        path: path.clone(),
        reason: format!("{e:#}"),
    };
    let plan = tract_onnx::onnx()
        .model_for_path(&path)
        .and_then(|m| m.with_input_fact(0, f32::fact([1, 3, size as usize, size as usize]).into()))
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(corrupt)?;
    let mut e = OnnxEmbedder {
        spec,
        plan,
        size,
        mean,
        scale,
    };
    // Run once on a grey face so a model whose output does not fit the configuration is refused
    // at load, not at the first search.
    let grey = vec![0.0f32; 3 * (size * size) as usize];
    e.run(grey)?;
    Ok(Box::new(e))
}

impl OnnxEmbedder {
    /// One network run on an NCHW input; the output flattened and normalised.
    fn run(&mut self, data: Vec<f32>) -> Result<Vec<f32>, FaceError> {
        let s = self.size as usize;
        let input = tract_ndarray::Array4::from_shape_vec((1, 3, s, s), data).map_err(tract_err)?;
        let mut v = crate::embed_facenet::run_first_output(&self.plan, Tensor::from(input))
            .map_err(tract_err)?;
        if v.len() != self.spec.dimension {
            return Err(FaceError::Inference(format!(
                "ONNX model {} gives {} values per face, configured dimension {}",
                self.spec.id(),
                v.len(),
                self.spec.dimension
            )));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(tract_err("non-finite output"));
        }
        l2_normalise(&mut v);
        Ok(v)
    }

    /// The aligned `size`×`size` face as normalised NCHW floats.
    fn aligned_input(&self, image: &RgbImage, face: &AlignedFace) -> Vec<f32> {
        let s = self.size as usize;
        let k = f64::from(self.size) / 112.0;
        let (l, r) = (face.landmarks.left_eye(), face.landmarks.right_eye());
        let (dst_l, dst_r) = (
            (TEMPLATE_EYES[0].0 * k, TEMPLATE_EYES[0].1 * k),
            (TEMPLATE_EYES[1].0 * k, TEMPLATE_EYES[1].1 * k),
        );
        // Similarity transform from output to source: rotation and scale `(a, b)` mapping the
        // template's eye vector onto the face's, plus the shift that puts eye on eye.
        let (dx, dy) = (dst_r.0 - dst_l.0, dst_r.1 - dst_l.1);
        let (sx, sy) = (r.x - l.x, r.y - l.y);
        let n = (dx * dx + dy * dy).max(1e-9);
        let a = (sx * dx + sy * dy) / n;
        let b = (sy * dx - sx * dy) / n;
        let map = |x: f64, y: f64| {
            let (u, v) = (x - dst_l.0, y - dst_l.1);
            (l.x + a * u - b * v, l.y + b * u + a * v)
        };
        let (w, h) = (image.width() as i64, image.height() as i64);
        let pixel = |x: i64, y: i64, c: usize| -> f64 {
            let x = x.clamp(0, w - 1) as u32;
            let y = y.clamp(0, h - 1) as u32;
            f64::from(image.get_pixel(x, y).0[c])
        };
        let mut out = vec![0f32; 3 * s * s];
        for oy in 0..s {
            for ox in 0..s {
                let (x, y) = map(ox as f64 + 0.5, oy as f64 + 0.5);
                let (x, y) = (x - 0.5, y - 0.5);
                let (x0, y0) = (x.floor(), y.floor());
                let (fx, fy) = (x - x0, y - y0);
                let (x0, y0) = (x0 as i64, y0 as i64);
                for c in 0..3 {
                    let v = pixel(x0, y0, c) * (1.0 - fx) * (1.0 - fy)
                        + pixel(x0 + 1, y0, c) * fx * (1.0 - fy)
                        + pixel(x0, y0 + 1, c) * (1.0 - fx) * fy
                        + pixel(x0 + 1, y0 + 1, c) * fx * fy;
                    out[c * s * s + oy * s + ox] = (v as f32 - self.mean) / self.scale;
                }
            }
        }
        out
    }
}

impl Embedder for OnnxEmbedder {
    fn spec(&self) -> &'static AlgorithmSpec {
        self.spec
    }

    fn embed(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        if image.width() == 0 || image.height() == 0 {
            return Err(FaceError::InvalidImage("empty image".into()));
        }
        faces
            .iter()
            .map(|f| {
                let input = self.aligned_input(image, f);
                self.run(input)
            })
            .collect()
    }
}
