//! "facenet-512": FaceNet Inception-ResNet-v1 (TensorFlow frozen graph) run in pure Rust by tract.
//!
//! Preprocessing: detector box widened by 41 % of its width (20.5 % each side: 44 px on the
//! 108 px box of an LFW face), clamped to the image, resized to 160×160, (x − 127.5) / 128 per channel, NHWC. Output `embeddings`, L2-normalised.

use std::path::Path;

use image::imageops::FilterType;
use image::RgbImage;
use tract_tensorflow::prelude::*;
use tract_tensorflow::tract_hir::ops::binary::BinIntoHir;

use crate::algorithm::{l2_normalise, AlgorithmSpec, Embedder, Preprocessing, FACENET_512};
use crate::detect::AlignedFace;
use crate::error::FaceError;

/// Faces per network run: the graph's flatten before the bottleneck is fixed to a batch of one
/// (and tract 0.23 fails to declutter it with a symbolic batch).
const BATCH: usize = 1;

pub(crate) type Plan = std::sync::Arc<TypedRunnableModel>;

pub struct Facenet {
    spec: &'static AlgorithmSpec,
    plan: Plan,
    size: u32,
    margin_of_width: f64,
    mean: f32,
    scale: f32,
}

fn tract_err(e: impl std::fmt::Display) -> FaceError {
    FaceError::Inference(format!("facenet graph: {e:#}"))
}

pub(crate) fn open(model_dir: &Path) -> Result<Box<dyn Embedder>, FaceError> {
    let spec = crate::algorithm::lookup(FACENET_512)?;
    let file = spec
        .model_files
        .first()
        .ok_or_else(|| FaceError::UnknownAlgorithm(FACENET_512.into()))?;
    let Preprocessing::MarginCrop {
        size,
        margin_of_width,
        mean,
        scale,
    } = spec.preprocessing
    else {
        return Err(FaceError::UnknownAlgorithm(FACENET_512.into()));
    };
    let path = model_dir.join(file.file_name);
    if !path.is_file() {
        return Err(FaceError::ModelMissing { path });
    }
    let tf = tract_tensorflow::tensorflow();
    let mut model = tf
        .model_for_path(&path)
        .map_err(|e| FaceError::ModelCorrupt {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    // tract's TensorFlow front end has no `Square`: rewrite each as Mul(x, x) after parsing.
    let squares: Vec<usize> = model
        .nodes()
        .iter()
        .filter(|n| n.op.name() == "Unimplemented(Square)")
        .map(|n| n.id)
        .collect();
    for id in squares {
        let x = *model.nodes()[id]
            .inputs
            .first()
            .ok_or_else(|| tract_err("Square node without input"))?;
        model.nodes_mut()[id].op = tract_tensorflow::tract_hir::ops::math::Mul.into_hir();
        model.add_edge(x, InletId::new(id, 1)).map_err(tract_err)?;
    }
    model
        .set_input_names(["input"])
        .and_then(|_| model.select_outputs_by_name(["embeddings"]))
        .map_err(tract_err)?;
    model
        .set_input_fact(
            0,
            f32::fact([BATCH, size as usize, size as usize, 3]).into(),
        )
        .map_err(tract_err)?;
    // tract 0.23's ChangeAxes pass breaks this graph (it removes the batch axis of a conv bias),
    // so declutter without it, then generate code as usual.
    let mut typed = model.into_typed().map_err(tract_err)?;
    let mut declutter = tract_tensorflow::tract_core::optim::Optimizer::declutter();
    declutter
        .passes
        .retain(|p| !format!("{p:?}").contains("ChangeAxes"));
    declutter
        .session()
        .optimize(&mut typed)
        .map_err(tract_err)?;
    typed.optimize().map_err(tract_err)?;
    let plan = typed.into_runnable().map_err(tract_err)?;
    Ok(Box::new(Facenet {
        spec,
        plan,
        size,
        margin_of_width: f64::from(margin_of_width),
        mean,
        scale,
    }))
}

/// Runs a tract plan on one input and returns its first output, flattened (the facenet graph
/// and ONNX models alike).
pub(crate) fn run_first_output(plan: &Plan, input: Tensor) -> Result<Vec<f32>, String> {
    let res = plan
        .run(tvec!(input.into()))
        .map_err(|e| format!("{e:#}"))?;
    let out = res
        .first()
        .ok_or("no output")?
        .to_plain_array_view::<f32>()
        .map_err(|e| format!("{e:#}"))?;
    Ok(out.iter().copied().collect())
}

impl Facenet {
    fn crop(&self, image: &RgbImage, face: &AlignedFace) -> RgbImage {
        let (w, h) = (image.width() as f64, image.height() as f64);
        let half = self.margin_of_width * (face.bbox.right - face.bbox.left) / 2.0;
        let l = (face.bbox.left - half).max(0.0).floor();
        let t = (face.bbox.top - half).max(0.0).floor();
        let r = (face.bbox.right + half).min(w).ceil();
        let b = (face.bbox.bottom + half).min(h).ceil();
        let cw = ((r - l) as u32).max(1);
        let ch = ((b - t) as u32).max(1);
        let sub = image::imageops::crop_imm(image, l as u32, t as u32, cw, ch).to_image();
        image::imageops::resize(&sub, self.size, self.size, FilterType::Triangle)
    }
}

impl Embedder for Facenet {
    fn spec(&self) -> &'static AlgorithmSpec {
        self.spec
    }

    fn embed(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let s = self.size as usize;
        let dim = self.spec.dimension;
        let mut out = Vec::with_capacity(faces.len());
        for group in faces.chunks(BATCH) {
            let mut data = Vec::with_capacity(BATCH * s * s * 3);
            for f in group {
                let crop = self.crop(image, f);
                data.extend(
                    crop.as_raw()
                        .iter()
                        .map(|&p| (p as f32 - self.mean) / self.scale),
                );
            }
            // Pad a short group with copies of its last face (results discarded).
            while data.len() < BATCH * s * s * 3 {
                let start = data.len() - s * s * 3;
                data.extend_from_within(start..start + s * s * 3);
            }
            let input =
                tract_ndarray::Array4::from_shape_vec((BATCH, s, s, 3), data).map_err(tract_err)?;
            let flat = run_first_output(&self.plan, Tensor::from(input)).map_err(tract_err)?;
            if flat.len() != BATCH * dim {
                return Err(tract_err(format!(
                    "unexpected output of {} values",
                    flat.len()
                )));
            }
            for c in flat.chunks_exact(dim).take(group.len()) {
                let mut v = c.to_vec();
                l2_normalise(&mut v);
                out.push(v);
            }
        }
        Ok(out)
    }
}
