//! Accuracy evaluation (FR-23): LFW-protocol verification and 1:N identification, per algorithm,
//! with an optional per-group breakdown from a labels file (aggregate audit only, FR-24).
//!
//! Data: `faces/lfw/NAME/NAME_NNNN.jpg` and `faces/pairs_dev.txt` (folds 1–5 of LFW View 2).
//! - Verification: 5-fold cross-validation (threshold chosen on 4 folds, accuracy on the 5th);
//!   TAR at FAR = 0.001 over all pairs; ROC curve (SVG).
//! - Identification: gallery = the lowest-numbered image of every identity in the folds plus every
//!   image of identities in no fold (distractors); probes = every other image of fold identities.
//!   Rank-1, rank-10; FNIR at FPIR = 0.003 (non-mated searches simulated by leaving the probe's
//!   own identity out, mate must be rank 1 above the threshold); FNIR with 50 candidates (mate
//!   not in the top 50).
//!
//! Embeddings are cached per algorithm in one file, so re-running is cheap.

pub mod cache;
pub mod calibration;
pub mod fusion;
pub mod metrics;
pub mod quality;
pub mod roc;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::algorithm::{AlgorithmId, AlgorithmSpec};
use crate::detect::{AlignedFace, DetectOptions, DetectorKind, FaceDetector};
use crate::engine::FaceEngine;
use crate::error::FaceError;
use crate::geometry::BoundingBox;
use crate::index::{GalleryIndex, SearchMode, SearchRequest};
use crate::quality::QualityReport;
use crate::template::{ProbeTemplate, RecordId, RepositoryTemplate};

/// An LFW image reference: identity and 1-based image number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImageRef {
    pub name: String,
    pub number: u32,
}

impl ImageRef {
    /// `NAME/NAME_NNNN.jpg`, relative to the lfw folder.
    pub fn rel_path(&self) -> String {
        format!("{0}/{0}_{1:04}.jpg", self.name, self.number)
    }
}

/// The data an evaluation was measured on, as read (FR-23: the record says what it measured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluationData {
    /// The pairs file's name and the SHA-256 of its bytes.
    pub pairs_file: String,
    pub pairs_sha256: String,
    pub folds: usize,
    pub pairs: usize,
    pub matched_pairs: usize,
    /// The images folder's name, the identities and images in it, and the images used.
    pub images_folder: String,
    pub identities_in_folder: usize,
    pub images_in_folder: usize,
    pub images_used: usize,
    /// The 1:N split: gallery and probe images.
    pub gallery_images: usize,
    pub probe_images: usize,
    /// Identities with probes (their first image is in the gallery), sorted by name, and the
    /// SHA-256 of the names joined by newlines, so two records can be compared at a glance.
    pub mated_identities: Vec<String>,
    pub mated_identities_sha256: String,
    /// Identities in the gallery with no probe (distractors), likewise.
    pub distractor_identities: Vec<String>,
    pub distractor_identities_sha256: String,
    /// The split rule in words.
    pub split: String,
}

impl EvaluationData {
    /// One line for lists and reports, naming the file by its digest.
    pub fn summary(&self) -> String {
        format!(
            "{} (sha256 {}, {} folds, {} pairs) over {} images of {} identities in {}/; 1:N gallery {} images ({} identities with probes, {} distractor identities), {} probes",
            self.pairs_file,
            self.pairs_sha256,
            self.folds,
            self.pairs,
            self.images_used,
            self.identities_in_folder,
            self.images_folder,
            self.gallery_images,
            self.mated_identities.len(),
            self.distractor_identities.len(),
            self.probe_images,
        )
    }
}

/// One verification pair of pairs_dev.txt.
#[derive(Debug, Clone)]
pub struct Pair {
    pub fold: usize,
    pub a: ImageRef,
    pub b: ImageRef,
    pub same: bool,
}

/// The development faces: the LFW folder and its identities.
pub struct LfwData {
    pub lfw_dir: PathBuf,
    /// The pairs file read, and the SHA-256 of its bytes (named in the evaluation record).
    pub pairs_path: PathBuf,
    pub pairs_sha256: String,
    pub pairs: Vec<Pair>,
    /// Identity → its image numbers, ascending.
    pub identities: BTreeMap<String, Vec<u32>>,
}

impl LfwData {
    /// Opens `faces_dir` (holding `lfw/` and `pairs_dev.txt`).
    pub fn open(faces_dir: &Path) -> Result<Self, FaceError> {
        let lfw_dir = faces_dir.join("lfw");
        let pairs_path = faces_dir.join("pairs_dev.txt");
        let bytes = std::fs::read(&pairs_path).map_err(|e| FaceError::io(&pairs_path, e))?;
        let pairs_sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let text = String::from_utf8(bytes).map_err(|_| {
            FaceError::EvalData(format!("{} is not UTF-8 text", pairs_path.display()))
        })?;
        let pairs = parse_pairs(&text)?;
        let mut identities: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let entries = std::fs::read_dir(&lfw_dir).map_err(|e| FaceError::io(&lfw_dir, e))?;
        for e in entries {
            let e = e.map_err(|e| FaceError::io(&lfw_dir, e))?;
            let name = e.file_name().to_string_lossy().to_string();
            let files = std::fs::read_dir(e.path()).map_err(|err| FaceError::io(e.path(), err))?;
            let mut nums = Vec::new();
            for f in files {
                let f = f.map_err(|err| FaceError::io(e.path(), err))?;
                let fname = f.file_name().to_string_lossy().to_string();
                if let Some(n) = fname
                    .strip_suffix(".jpg")
                    .and_then(|s| s.rsplit('_').next())
                    .and_then(|s| s.parse::<u32>().ok())
                {
                    nums.push(n);
                }
            }
            nums.sort_unstable();
            if !nums.is_empty() {
                identities.insert(name, nums);
            }
        }
        if identities.is_empty() {
            return Err(FaceError::EvalData(format!(
                "no images under {}",
                lfw_dir.display()
            )));
        }
        Ok(Self {
            lfw_dir,
            pairs_path,
            pairs_sha256,
            pairs,
            identities,
        })
    }

    /// What this evaluation is measured on, from the data actually read: the pairs file and its
    /// SHA-256, the folds and pairs, the images, and which identities are mated in the 1:N
    /// gallery (they have probes) and which are distractors.
    pub fn describe(&self) -> EvaluationData {
        let (gallery, probes) = self.identification_split();
        let probed: BTreeSet<&str> = probes.iter().map(|p| p.name.as_str()).collect();
        let in_gallery: BTreeSet<&str> = gallery.iter().map(|g| g.name.as_str()).collect();
        let mated: Vec<String> = in_gallery
            .iter()
            .filter(|n| probed.contains(*n))
            .map(|n| n.to_string())
            .collect();
        let distractors: Vec<String> = in_gallery
            .iter()
            .filter(|n| !probed.contains(*n))
            .map(|n| n.to_string())
            .collect();
        let digest = |names: &[String]| {
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                names.join("\n").as_bytes(),
            ))
        };
        let file_name = |p: &Path| {
            p.file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_else(|| p.display().to_string())
        };
        EvaluationData {
            pairs_file: file_name(&self.pairs_path),
            pairs_sha256: self.pairs_sha256.clone(),
            folds: self.pairs.iter().map(|p| p.fold).max().map_or(0, |f| f + 1),
            pairs: self.pairs.len(),
            matched_pairs: self.pairs.iter().filter(|p| p.same).count(),
            images_folder: file_name(&self.lfw_dir),
            identities_in_folder: self.identities.len(),
            images_in_folder: self.identities.values().map(Vec::len).sum(),
            images_used: self.all_images().len(),
            gallery_images: gallery.len(),
            probe_images: probes.len(),
            mated_identities_sha256: digest(&mated),
            distractor_identities_sha256: digest(&distractors),
            mated_identities: mated,
            distractor_identities: distractors,
            split: "identities named in the pairs file: first image in the gallery, the others \
                    are probes; every other identity: all images in the gallery as distractors"
                .into(),
        }
    }

    /// Identities named in any fold.
    pub fn fold_identities(&self) -> BTreeSet<String> {
        self.pairs
            .iter()
            .flat_map(|p| [p.a.name.clone(), p.b.name.clone()])
            .collect()
    }

    /// (gallery, probes) for 1:N identification, as faces/README.md describes.
    pub fn identification_split(&self) -> (Vec<ImageRef>, Vec<ImageRef>) {
        let folds = self.fold_identities();
        let mut gallery = Vec::new();
        let mut probes = Vec::new();
        for (name, nums) in &self.identities {
            let refs = nums.iter().map(|&n| ImageRef {
                name: name.clone(),
                number: n,
            });
            if folds.contains(name) {
                let mut it = refs;
                if let Some(first) = it.next() {
                    gallery.push(first);
                }
                probes.extend(it);
            } else {
                gallery.extend(refs);
            }
        }
        (gallery, probes)
    }

    /// Every image the evaluation needs.
    pub fn all_images(&self) -> Vec<ImageRef> {
        let mut set: BTreeSet<ImageRef> = BTreeSet::new();
        for p in &self.pairs {
            set.insert(p.a.clone());
            set.insert(p.b.clone());
        }
        let (g, pr) = self.identification_split();
        set.extend(g);
        set.extend(pr);
        set.into_iter().collect()
    }
}

/// Parses LFW `pairs.txt` format: header `folds<TAB>n`, then per fold n matched and n mismatched lines.
pub fn parse_pairs(text: &str) -> Result<Vec<Pair>, FaceError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or_else(|| FaceError::EvalData("pairs file is empty".into()))?;
    let h: Vec<usize> = header
        .split_whitespace()
        .map(|x| x.parse::<usize>())
        .collect::<Result<_, _>>()
        .map_err(|_| FaceError::EvalData(format!("bad pairs header `{header}`")))?;
    let (folds, n) = match h.as_slice() {
        [f, n] => (*f, *n),
        _ => return Err(FaceError::EvalData(format!("bad pairs header `{header}`"))),
    };
    let num = |s: &str, line: &str| {
        s.parse::<u32>()
            .map_err(|_| FaceError::EvalData(format!("bad pairs line `{line}`")))
    };
    let mut pairs = Vec::with_capacity(folds * n * 2);
    for fold in 0..folds {
        for i in 0..2 * n {
            let line = lines.next().ok_or_else(|| {
                FaceError::EvalData(format!("pairs file ends early in fold {}", fold + 1))
            })?;
            let f: Vec<&str> = line.split('\t').map(str::trim).collect();
            let p = match (i < n, f.as_slice()) {
                (true, [name, a, b]) => Pair {
                    fold,
                    a: ImageRef {
                        name: name.to_string(),
                        number: num(a, line)?,
                    },
                    b: ImageRef {
                        name: name.to_string(),
                        number: num(b, line)?,
                    },
                    same: true,
                },
                (false, [n1, a, n2, b]) => Pair {
                    fold,
                    a: ImageRef {
                        name: n1.to_string(),
                        number: num(a, line)?,
                    },
                    b: ImageRef {
                        name: n2.to_string(),
                        number: num(b, line)?,
                    },
                    same: false,
                },
                _ => return Err(FaceError::EvalData(format!("bad pairs line `{line}`"))),
            };
            pairs.push(p);
        }
    }
    Ok(pairs)
}

/// How an evaluation image's face was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaceFound {
    Hog,
    Cnn,
    /// No detector found it; the centre box LFW images are cropped around was aligned instead.
    CentreBox,
}

impl FaceFound {
    /// The one-byte code of the embedding cache and of the variants example's output.
    pub fn code(self) -> u8 {
        match self {
            Self::Hog => 0,
            Self::Cnn => 1,
            Self::CentreBox => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        [Self::Hog, Self::Cnn, Self::CentreBox]
            .into_iter()
            .find(|f| f.code() == code)
    }
}

/// The face nearest the image centre (LFW images are centred on the labelled person).
fn central(faces: Vec<AlignedFace>, w: f64, h: f64) -> Option<AlignedFace> {
    faces.into_iter().min_by(|a, b| {
        let d = |f: &AlignedFace| {
            let cx = (f.bbox.left + f.bbox.right) / 2.0 - w / 2.0;
            let cy = (f.bbox.top + f.bbox.bottom) / 2.0 - h / 2.0;
            cx * cx + cy * cy
        };
        d(a).total_cmp(&d(b))
    })
}

/// The HOG pass the evaluation finds faces with first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EvalDetection {
    /// As probes are detected: one doubling from the start.
    #[default]
    Probe,
    /// As repository photographs are enrolled ([`DetectOptions::repository`]): the photo's own
    /// scale, doubled only when that finds no face.
    Repository,
}

impl EvalDetection {
    pub fn options(self) -> DetectOptions {
        match self {
            Self::Probe => DetectOptions {
                detector: DetectorKind::Hog,
                upsample: 1,
                min_score: 0.0,
                retry_upsample: None,
            },
            Self::Repository => DetectOptions::repository(),
        }
    }

    /// How the record describes the detection.
    pub fn label(self) -> &'static str {
        match self {
            Self::Probe => "dlib HOG (upsample 1), else MMOD CNN, else centre box; face nearest the centre; 5-point alignment",
            Self::Repository => "dlib HOG (no upsample, upsample 1 when none found), else MMOD CNN, else centre box; face nearest the centre; 5-point alignment",
        }
    }

    /// Suffix of the embedding cache file, so the two never mix.
    pub fn cache_suffix(self) -> &'static str {
        match self {
            Self::Probe => "",
            Self::Repository => "-repository",
        }
    }
}

impl std::str::FromStr for EvalDetection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "probe" => Ok(Self::Probe),
            "repository" => Ok(Self::Repository),
            _ => Err(format!("unknown detection `{s}`: use probe or repository")),
        }
    }
}

/// Finds the evaluation face: HOG (as `detection` says), then CNN, then the centre box; of several,
/// the one nearest the image centre. The evaluation and the variants example both find faces here.
pub fn find_eval_face(
    detector: &mut FaceDetector,
    img: &RgbImage,
    detection: EvalDetection,
) -> Result<(AlignedFace, FaceFound), FaceError> {
    let (w, h) = (img.width() as f64, img.height() as f64);
    let hog = detection.options();
    if let Some(f) = central(detector.detect(img, &hog)?, w, h) {
        return Ok((f, FaceFound::Hog));
    }
    let cnn = DetectOptions {
        detector: DetectorKind::Cnn,
        upsample: 1,
        min_score: 0.0,
        retry_upsample: None,
    };
    if let Some(f) = central(detector.detect(img, &cnn)?, w, h) {
        return Ok((f, FaceFound::Cnn));
    }
    // LFW crops are centred with the face filling about the middle 40 %.
    let b = BoundingBox {
        left: w * 0.3,
        top: h * 0.3,
        right: w * 0.7,
        bottom: h * 0.72,
    };
    Ok((detector.align_manual(img, b)?, FaceFound::CentreBox))
}

/// An algorithm's embedder for evaluation experiments (crop and test-time variants,
/// `examples/facenet_variants.rs`). Its vectors are plain `Vec<f32>`, as `embed_images` returns:
/// no index accepts them (FR-03), so this opens no path into the repository.
pub struct EvalEmbedder(Box<dyn crate::algorithm::Embedder>);

impl EvalEmbedder {
    pub fn open(spec: &'static AlgorithmSpec, model_dir: &Path) -> Result<Self, FaceError> {
        spec.load(model_dir).map(Self)
    }

    /// One L2-normalised vector per face, in order.
    pub fn embed(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        self.0.embed(image, faces)
    }
}

/// One image's result in a test-time-variants run: how its face was found
/// ([`FaceFound::code`]), an optional extra column, and its vectors one after another.
pub type VariantRow = Option<(u8, Option<f64>, Vec<f32>)>;

/// Writes the files of a variants run (`examples/variants.rs`, `examples/facenet_variants.rs`)
/// that `bench/variants_eval.py` reads: `DIR/variants.txt`, one `name number found [extra]` line
/// per image, and `DIR/variants.f32`, each image's `values_per_image` little-endian f32 in order.
pub fn write_variant_files(
    dir: &Path,
    images: &[ImageRef],
    rows: &[VariantRow],
    values_per_image: usize,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut list = std::io::BufWriter::new(std::fs::File::create(dir.join("variants.txt"))?);
    let mut bin = std::io::BufWriter::new(std::fs::File::create(dir.join("variants.f32"))?);
    for (r, row) in images.iter().zip(rows) {
        let (how, extra, v) = row
            .as_ref()
            .ok_or_else(|| std::io::Error::other(format!("{}: no result", r.rel_path())))?;
        if v.len() != values_per_image {
            return Err(std::io::Error::other(format!(
                "{}: {} values, expected {values_per_image}",
                r.rel_path(),
                v.len()
            )));
        }
        match extra {
            Some(x) => writeln!(list, "{} {} {how} {x:.1}", r.name, r.number)?,
            None => writeln!(list, "{} {} {how}", r.name, r.number)?,
        }
        for f in v {
            bin.write_all(&f.to_le_bytes())?;
        }
    }
    list.flush()?;
    bin.flush()
}

/// Computes (or reads from `cache_path`) the embedding of every image, on `threads` workers.
#[allow(clippy::too_many_arguments)] // each is a separate choice of the caller's; no natural group
pub fn embed_images(
    spec: &'static AlgorithmSpec,
    model_dir: &Path,
    lfw_dir: &Path,
    images: &[ImageRef],
    cache_path: Option<&Path>,
    detection: EvalDetection,
    threads: usize,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<HashMap<ImageRef, (Vec<f32>, FaceFound)>, FaceError> {
    let mut cache = match cache_path {
        Some(p) if p.is_file() => cache::EmbeddingCache::load(p, &spec.id())?,
        _ => cache::EmbeddingCache::new(spec.id()),
    };
    let todo: Vec<&ImageRef> = images
        .iter()
        .filter(|r| !cache.entries.contains_key(*r))
        .collect();
    let total = images.len() as u64;
    let done = AtomicU64::new(total - todo.len() as u64);
    progress(done.load(Ordering::Relaxed), total);
    if !todo.is_empty() {
        if threads > 1 {
            crate::dlib::set_blas_threads(1);
        }
        let (computed, failed) = over_images(
            lfw_dir,
            &todo,
            threads,
            &|| FaceEngine::open(spec, model_dir),
            &|engine, img| {
                let (face, how) = find_eval_face(engine.detector(), img, detection)?;
                let v = engine
                    .embed_faces(img, std::slice::from_ref(&face))?
                    .pop()
                    .ok_or_else(|| FaceError::Inference("no embedding".into()))?;
                Ok((v, how))
            },
            &|| {
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(d, total);
            },
        );
        // What was computed is kept even after an error, so a re-run resumes.
        cache.entries.extend(computed);
        if let Some(p) = cache_path {
            cache.save(p)?;
        }
        if let Some(e) = failed {
            return Err(e);
        }
    }
    Ok(images
        .iter()
        .filter_map(|r| cache.entries.get(r).map(|v| (r.clone(), v.clone())))
        .collect())
}

/// Runs `work` on every image of `todo` (decoded from `lfw_dir`) on `threads` workers, each
/// with its own state from `open` (a network or a detector is not shared between threads);
/// `done` is called after each image. Returns what was computed and the first error, after which
/// the workers stop.
pub(crate) fn over_images<W, T: Send>(
    lfw_dir: &Path,
    todo: &[&ImageRef],
    threads: usize,
    open: &(dyn Fn() -> Result<W, FaceError> + Sync),
    work: &(dyn Fn(&mut W, &RgbImage) -> Result<T, FaceError> + Sync),
    done: &(dyn Fn() + Sync),
) -> (Vec<(ImageRef, T)>, Option<FaceError>) {
    let results = Mutex::new(Vec::with_capacity(todo.len()));
    let first_err: Mutex<Option<FaceError>> = Mutex::new(None);
    let fail = |e: FaceError| {
        if let Ok(mut g) = first_err.lock() {
            g.get_or_insert(e);
        }
    };
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, 16) {
            s.spawn(|| {
                let mut state = match open() {
                    Ok(w) => w,
                    Err(e) => return fail(e),
                };
                let mut local = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some(r) = todo.get(i) else { break };
                    let path = lfw_dir.join(r.rel_path());
                    let res = image::open(&path)
                        .map_err(|e| FaceError::InvalidImage(format!("{}: {e}", path.display())))
                        .and_then(|img| work(&mut state, &img.to_rgb8()));
                    match res {
                        Ok(x) => local.push(((*r).clone(), x)),
                        Err(e) => {
                            fail(e);
                            break;
                        }
                    }
                    done();
                }
                if let Ok(mut g) = results.lock() {
                    g.extend(local);
                }
            });
        }
    });
    let failed = first_err.into_inner().ok().flatten();
    match results.into_inner() {
        Ok(r) => (r, failed),
        Err(_) => (
            Vec::new(),
            Some(FaceError::Inference("an evaluation worker panicked".into())),
        ),
    }
}

/// The embedding cache file of `spec` in `out` (one per algorithm and detection).
pub fn cache_path(out: &Path, spec: &AlgorithmSpec, detection: EvalDetection) -> PathBuf {
    out.join(format!(
        "embeddings-{}-{}{}.bin",
        spec.name,
        spec.version,
        detection.cache_suffix()
    ))
}

/// Embeds every image (through the caches in `out`) and evaluates `spec`. A fused algorithm is
/// evaluated from its components' embeddings, each cached as when it is evaluated alone, and
/// cross-validated per fold ([`fusion::evaluate_fusion`]). `progress(algorithm, done, total)`.
#[allow(clippy::too_many_arguments)] // each is a separate choice of the caller's; no natural group
pub fn evaluate_algorithm(
    spec: &'static AlgorithmSpec,
    data: &LfwData,
    model_dir: &Path,
    out: &Path,
    detection: EvalDetection,
    threads: usize,
    labels: Option<&HashMap<String, String>>,
    progress: &(dyn Fn(&AlgorithmId, u64, u64) + Sync),
) -> Result<EvaluationRecord, FaceError> {
    let images = data.all_images();
    let (_, probes) = data.identification_split();
    let probe_quality = quality::probe_quality(
        model_dir,
        &data.lfw_dir,
        &probes,
        Some(&out.join(format!("quality-probes{}.json", detection.cache_suffix()))),
        detection,
        threads,
    )?;
    let embed = |s: &'static AlgorithmSpec| {
        let id = s.id();
        embed_images(
            s,
            model_dir,
            &data.lfw_dir,
            &images,
            Some(&cache_path(out, s, detection)),
            detection,
            threads,
            &|d, n| progress(&id, d, n),
        )
    };
    match spec.fusion {
        Some(f) => {
            let [a, b] = f.component_specs()?;
            let (ea, eb) = (embed(a)?, embed(b)?);
            fusion::evaluate_fusion(
                spec,
                data,
                [&ea, &eb],
                labels,
                detection,
                Some(&probe_quality),
            )
        }
        None => evaluate(
            spec,
            data,
            &embed(spec)?,
            labels,
            detection,
            Some(&probe_quality),
        ),
    }
}

/// Per-group figures (labels file: `name,group`), for aggregate audits only (FR-24).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupResult {
    pub group: String,
    /// Verification pairs whose two identities both belong to the group.
    pub pairs: usize,
    pub accuracy: f64,
    pub false_match_rate: f64,
    pub false_non_match_rate: f64,
    pub identification_probes: usize,
    pub rank1: f64,
}

/// Verification figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerificationResult {
    pub pairs: usize,
    pub fold_accuracy: Vec<f64>,
    pub fold_threshold: Vec<f32>,
    pub accuracy_mean: f64,
    pub accuracy_std: f64,
    pub tar_at_far_0_001: f64,
    pub threshold_at_far_0_001: f32,
    pub auc: f64,
    /// TAR at FAR 0.001 with the threshold read from every non-mated comparison of the 1:N split
    /// (millions), not from the pairs file's non-mated pairs alone (1,500 in the development
    /// folds, where FAR 0.001 rests on the one or two highest). Absent in records written before
    /// it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tar_at_far_0_001_all_non_mated: Option<AllNonMatedTar>,
}

/// TAR of the pairs file's mated pairs at a threshold set on the non-mated comparisons of the
/// 1:N split, where a false-match rate of 0.001 is thousands of comparisons, not one or two.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AllNonMatedTar {
    pub tar: f64,
    /// The non-mated comparisons the threshold was read from (per fold for a fused algorithm,
    /// whose folds are scored with parameters of their own: the smallest fold's count).
    pub non_mated_comparisons: u64,
    /// The false-match rate measured at the threshold (at most 0.001; the largest over folds).
    pub far_measured: f64,
    /// The threshold (the mean over folds for a fused algorithm).
    pub threshold: f32,
}

/// Identification figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentificationResult {
    pub gallery_size: usize,
    pub probes: usize,
    pub rank1: f64,
    pub rank10: f64,
    pub fnir_at_fpir_0_003: f64,
    pub threshold_at_fpir_0_003: f32,
    pub fnir_50_candidates: f64,
}

/// The evaluation record of one algorithm (FR-23: only evaluated algorithms may be active).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationRecord {
    pub algorithm: AlgorithmId,
    /// One line naming the data (see [`EvaluationData::summary`]).
    pub dataset: String,
    /// The data actually read; absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<EvaluationData>,
    pub evaluated_at: String,
    pub detection: String,
    pub images: usize,
    pub faces_by_hog: usize,
    pub faces_by_cnn: usize,
    pub faces_by_centre_box: usize,
    pub verification: VerificationResult,
    pub identification: IdentificationResult,
    pub groups: Vec<GroupResult>,
    /// (FAR, TAR) points of the ROC curve.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub roc: Vec<(f64, f64)>,
    /// Score → false-match rate over every non-mated probe-to-gallery comparison, so candidate
    /// lists can show what a score means; absent in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_calibration: Option<calibration::ScoreCalibration>,
    /// A fused algorithm's parameters per fold and shortlist check; absent for single ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fusion: Option<fusion::FusionEvaluation>,
    /// Rank-1 and FNIR with 50 candidates by probe quality (FR-06); empty in records written
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quality_buckets: Vec<quality::QualityBucket>,
}

/// Reads a labels file: lines `name,group` (a header line `name,group` is allowed).
pub fn read_labels(path: &Path) -> Result<HashMap<String, String>, FaceError> {
    let text = std::fs::read_to_string(path).map_err(|e| FaceError::io(path, e))?;
    let mut m = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.eq_ignore_ascii_case("name,group")) {
            continue;
        }
        let (n, g) = line.split_once(',').ok_or_else(|| {
            FaceError::EvalData(format!(
                "{}:{}: expected `name,group`",
                path.display(),
                i + 1
            ))
        })?;
        m.insert(n.trim().to_string(), g.trim().to_string());
    }
    Ok(m)
}

/// Runs the whole evaluation from embeddings.
pub fn evaluate(
    spec: &'static AlgorithmSpec,
    data: &LfwData,
    emb: &HashMap<ImageRef, (Vec<f32>, FaceFound)>,
    labels: Option<&HashMap<String, String>>,
    detection: EvalDetection,
    probe_quality: Option<&HashMap<ImageRef, QualityReport>>,
) -> Result<EvaluationRecord, FaceError> {
    let get = |r: &ImageRef| {
        emb.get(r)
            .map(|x| &x.0)
            .ok_or_else(|| FaceError::EvalData(format!("no embedding for {}", r.rel_path())))
    };
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    // Verification.
    let mut scored = Vec::with_capacity(data.pairs.len());
    for p in &data.pairs {
        scored.push(metrics::Scored {
            fold: p.fold,
            score: dot(get(&p.a)?, get(&p.b)?),
            same: p.same,
        });
    }
    let verification = metrics::verification(&scored);
    let roc = metrics::roc(&scored);

    // Identification through the real repository index (exact search).
    let (gallery, probes) = data.identification_split();
    let mut index = GalleryIndex::new(spec);
    let mut owner: Vec<&str> = Vec::with_capacity(gallery.len());
    for (i, g) in gallery.iter().enumerate() {
        let t = RepositoryTemplate::enrol(RecordId(i as u64), spec, get(g)?.clone())?;
        index.add(t)?;
        owner.push(&g.name);
    }
    let req = SearchRequest {
        top_k: 50,
        mode: SearchMode::Exact,
    };
    let mut searches = Vec::with_capacity(probes.len());
    for p in &probes {
        let probe = ProbeTemplate::new(spec, get(p)?.clone())?;
        let res = index.search(&probe, &req, &|_| true)?;
        searches.push(search_outcome(&res.candidates, &owner, &p.name));
    }
    let identification = metrics::identification(&searches, gallery.len());

    // Every non-mated comparison a search makes (each probe against every gallery photo of
    // another identity), counted by score: the calibration of scores to false-match rates.
    let mut non_mated = calibration::NonMatedCounts::default();
    let gallery_emb: Vec<&Vec<f32>> = gallery.iter().map(get).collect::<Result<_, _>>()?;
    for p in &probes {
        let pe = get(p)?;
        for (g, ge) in gallery.iter().zip(&gallery_emb) {
            if g.name != p.name {
                non_mated.add(dot(pe, ge));
            }
        }
    }
    let score_calibration = non_mated.calibration();
    let all_non_mated = non_mated.threshold_at(0.001).map(|t| {
        let mated: Vec<f32> = scored.iter().filter(|s| s.same).map(|s| s.score).collect();
        AllNonMatedTar {
            tar: mated.iter().filter(|&&s| t.accepts(s)).count() as f64 / mated.len().max(1) as f64,
            non_mated_comparisons: t.comparisons,
            far_measured: t.rate,
            threshold: t.score,
        }
    });

    let groups = group_breakdown(labels, &verification, &scored, data, &searches, &probes);
    let mut record = record(
        spec,
        data,
        emb,
        detection,
        verification,
        identification,
        groups,
        roc,
        score_calibration,
    );
    record.verification.tar_at_far_0_001_all_non_mated = all_non_mated;
    if let Some(q) = probe_quality {
        record.quality_buckets = quality::buckets(&probes, &searches, q);
    }
    Ok(record)
}

/// The mate's (rank, score) within a candidate list and the best non-mate score, for the probe of
/// identity `name` (`owner[record]` names each gallery record's identity).
pub(crate) fn search_outcome(
    candidates: &[crate::index::Candidate],
    owner: &[&str],
    name: &str,
) -> metrics::Search {
    let mut mate = None;
    let mut nonmate = None;
    for c in candidates {
        let is_mate = owner.get(c.record.0 as usize).is_some_and(|o| *o == name);
        if is_mate && mate.is_none() {
            mate = Some((c.rank, c.score));
        } else if !is_mate && nonmate.is_none() {
            nonmate = Some(c.score);
        }
    }
    metrics::Search {
        mate,
        best_nonmate: nonmate.unwrap_or(-1.0),
    }
}

/// Per-group figures from a labels file (aggregate audit only, FR-24), at the mean of the
/// verification's fold thresholds.
pub(crate) fn group_breakdown(
    labels: Option<&HashMap<String, String>>,
    verification: &VerificationResult,
    scored: &[metrics::Scored],
    data: &LfwData,
    searches: &[metrics::Search],
    probes: &[ImageRef],
) -> Vec<GroupResult> {
    let mut groups = Vec::new();
    let Some(labels) = labels else {
        return groups;
    };
    let thr = metrics::mean(
        &verification
            .fold_threshold
            .iter()
            .map(|&t| t as f64)
            .collect::<Vec<_>>(),
    ) as f32;
    let mut names: BTreeSet<&String> = labels.values().collect();
    names.retain(|g| !g.is_empty());
    for g in names {
        let in_g = |n: &str| labels.get(n) == Some(g);
        let sub: Vec<&metrics::Scored> = scored
            .iter()
            .zip(&data.pairs)
            .filter(|(_, p)| in_g(&p.a.name) && in_g(&p.b.name))
            .map(|(s, _)| s)
            .collect();
        let (acc, fmr, fnmr) = metrics::at_threshold(&sub, thr);
        let gs: Vec<&metrics::Search> = searches
            .iter()
            .zip(probes)
            .filter(|(_, p)| in_g(&p.name))
            .map(|(s, _)| s)
            .collect();
        let r1 = if gs.is_empty() {
            0.0
        } else {
            gs.iter()
                .filter(|s| s.mate.is_some_and(|m| m.0 == 1))
                .count() as f64
                / gs.len() as f64
        };
        groups.push(GroupResult {
            group: g.clone(),
            pairs: sub.len(),
            accuracy: acc,
            false_match_rate: fmr,
            false_non_match_rate: fnmr,
            identification_probes: gs.len(),
            rank1: r1,
        });
    }
    groups
}

/// The evaluation record from its measured parts (`emb` counts how faces were found).
#[allow(clippy::too_many_arguments)] // the record's parts, each measured separately
pub(crate) fn record(
    spec: &AlgorithmSpec,
    data: &LfwData,
    emb: &HashMap<ImageRef, (Vec<f32>, FaceFound)>,
    detection: EvalDetection,
    verification: VerificationResult,
    identification: IdentificationResult,
    groups: Vec<GroupResult>,
    roc: Vec<(f64, f64)>,
    score_calibration: calibration::ScoreCalibration,
) -> EvaluationRecord {
    let count = |w: FaceFound| emb.values().filter(|x| x.1 == w).count();
    let described = data.describe();
    EvaluationRecord {
        algorithm: spec.id(),
        dataset: described.summary(),
        data: Some(described),
        evaluated_at: chrono::Utc::now().to_rfc3339(),
        detection: detection.label().into(),
        images: emb.len(),
        faces_by_hog: count(FaceFound::Hog),
        faces_by_cnn: count(FaceFound::Cnn),
        faces_by_centre_box: count(FaceFound::CentreBox),
        verification,
        identification,
        groups,
        roc,
        score_calibration: Some(score_calibration),
        fusion: None,
        quality_buckets: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fr_23_pairs_file_parses_matched_and_mismatched_lines() {
        let text = "2\t1\nA\t1\t2\nB\t1\tC\t3\nD\t2\t4\nE\t1\tF\t1\n";
        let p = parse_pairs(text).expect("parse");
        assert_eq!(p.len(), 4);
        assert!(p[0].same && !p[1].same);
        assert_eq!(
            p[1].b,
            ImageRef {
                name: "C".into(),
                number: 3
            }
        );
        assert_eq!(p[2].fold, 1);
        assert_eq!(p[0].a.rel_path(), "A/A_0001.jpg");
        assert!(parse_pairs("2\t1\nA\t1\t2\n").is_err());
    }
}
