//! "dlib-resnet-v1": dlib's ResNet face descriptor on the aligned 150×150 chip.

use std::path::Path;

use image::RgbImage;

use crate::algorithm::{l2_normalise, AlgorithmSpec, Embedder, DLIB_RESNET_V1};
use crate::detect::AlignedFace;
use crate::dlib::ResnetDescriptor;
use crate::error::FaceError;

pub struct DlibResnet {
    spec: &'static AlgorithmSpec,
    net: ResnetDescriptor,
}

pub(crate) fn open(model_dir: &Path) -> Result<Box<dyn Embedder>, FaceError> {
    let spec = crate::algorithm::lookup(DLIB_RESNET_V1)?;
    let file = spec
        .model_files
        .first()
        .ok_or_else(|| FaceError::UnknownAlgorithm(DLIB_RESNET_V1.into()))?;
    let net = ResnetDescriptor::open(&model_dir.join(file.file_name))?;
    Ok(Box::new(DlibResnet { spec, net }))
}

impl Embedder for DlibResnet {
    fn spec(&self) -> &'static AlgorithmSpec {
        self.spec
    }

    fn embed(
        &mut self,
        _image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let mut chips = Vec::with_capacity(faces.len() * crate::dlib::CHIP_BYTES);
        for f in faces {
            chips.extend_from_slice(f.chip.as_raw());
        }
        let out = self.net.describe(&chips)?;
        Ok(out
            .into_iter()
            .map(|d| {
                let mut v = d.to_vec();
                l2_normalise(&mut v);
                v
            })
            .collect())
    }
}
