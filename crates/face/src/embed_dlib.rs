//! "dlib-resnet-v1": dlib's ResNet face descriptor on the aligned 150×150 chip.
//!
//! Every template (probe and repository alike) is the L2-normalised sum of the descriptors of the
//! chip and of its mirror image: one batch of two chips per face. On the greyscale LFW
//! development set this raised verification accuracy and rank-1 identification over the single
//! chip (figures in the crate README).

use std::path::Path;

use image::RgbImage;

use crate::algorithm::{l2_normalise, AlgorithmSpec, Embedder, DLIB_RESNET_V1};
use crate::detect::AlignedFace;
use crate::dlib::{mirror_chip, ResnetDescriptor, CHIP_BYTES};
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
        let mut chips = Vec::with_capacity(2 * faces.len() * CHIP_BYTES);
        for f in faces {
            if f.chip.as_raw().len() != CHIP_BYTES {
                return Err(FaceError::InvalidImage(
                    "face chips must be 150×150 RGB".into(),
                ));
            }
            let at = chips.len();
            chips.extend_from_slice(f.chip.as_raw());
            chips.extend_from_within(at..at + CHIP_BYTES);
            mirror_chip(&mut chips[at + CHIP_BYTES..]);
        }
        let out = self.net.describe(&chips)?;
        Ok(out
            .chunks_exact(2)
            .map(|pair| {
                let mut v: Vec<f32> = pair[0].iter().zip(&pair[1]).map(|(a, b)| a + b).collect();
                l2_normalise(&mut v);
                v
            })
            .collect())
    }
}
