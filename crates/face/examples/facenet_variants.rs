//! Crop variants of the facenet-512 embedding on the evaluation images, for choosing that
//! algorithm's preprocessing: per image and per margin, the embedding of the crop and of the
//! crop of the mirrored image.
//!
//! `cargo run --release -p probity-face --example facenet_variants -- OUT_DIR MARGIN...`
//! where each MARGIN is either `NNpx` (a fixed margin in pixels, split between the two sides, as
//! `facenet-512@1` does with 44 px) or a fraction of the detector box's width (`0.45`: the crop
//! is the box widened by 22.5 % of its width on each side). Writes `OUT_DIR/variants.txt` (one
//! `name number found box_width` line per image) and `OUT_DIR/variants.f32` (images × (2 ×
//! margins) × 512 little-endian f32, plain then mirror for each margin). Score with
//! `bench/variants_eval.py OUT_DIR --dim 512 --pairs M` (M = number of margins).
//! Face finding is the evaluation's (`eval::find_eval_face`, probe detection).
//! Env: PROBITY_TEST_DATA (faces), FACENET_THREADS (default 2).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use image::RgbImage;
use probity_face::algorithm::{lookup, Preprocessing, FACENET_512};
use probity_face::detect::{AlignedFace, FaceDetector};
use probity_face::eval::{
    find_eval_face, write_variant_files, EvalDetection, EvalEmbedder, LfwData, VariantRow,
};
use probity_face::model_dir;

#[derive(Clone, Copy)]
enum Margin {
    Pixels(f64),
    OfWidth(f64),
}

impl Margin {
    fn parse(s: &str) -> Result<Self, String> {
        if let Some(px) = s.strip_suffix("px") {
            px.parse()
                .map(Margin::Pixels)
                .map_err(|e| format!("{s}: {e}"))
        } else {
            s.parse()
                .map(Margin::OfWidth)
                .map_err(|e| format!("{s}: {e}"))
        }
    }

    /// The box to hand to the embedder so that, after its own margin (`built_in` × the box
    /// width), the crop has this one.
    fn apply(self, face: &AlignedFace, built_in: f64) -> AlignedFace {
        let w = face.bbox.right - face.bbox.left;
        let total = match self {
            Margin::Pixels(p) => p,
            Margin::OfWidth(f) => f * w,
        };
        let grow = ((w + total) / (1.0 + built_in) - w) / 2.0;
        let mut f = face.clone();
        f.bbox.left -= grow;
        f.bbox.top -= grow;
        f.bbox.right += grow;
        f.bbox.bottom += grow;
        f
    }
}

fn mirrored(img: &RgbImage, face: &AlignedFace) -> (RgbImage, AlignedFace) {
    let w = img.width() as f64;
    let m = image::imageops::flip_horizontal(img);
    let mut f = face.clone();
    f.bbox.left = w - face.bbox.right;
    f.bbox.right = w - face.bbox.left;
    (m, f)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(
        args.next()
            .ok_or("usage: facenet_variants OUT_DIR MARGIN...")?,
    );
    let margins: Vec<Margin> = args.map(|s| Margin::parse(&s)).collect::<Result<_, _>>()?;
    if margins.is_empty() {
        return Err("give at least one margin, e.g. 44px 0.45".into());
    }
    let threads: usize = std::env::var("FACENET_THREADS").map_or(Ok(2), |s| s.parse())?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_root = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/data"));
    let data = LfwData::open(&data_root.join("faces"))?;
    let images = data.all_images();
    let spec = lookup(FACENET_512)?;
    let Preprocessing::MarginCrop {
        margin_of_width, ..
    } = spec.preprocessing
    else {
        return Err("facenet-512 is not a margin crop".into());
    };
    let built_in = f64::from(margin_of_width);
    let models = model_dir();
    spec.verify_models(&models)?;
    std::fs::create_dir_all(&out)?;
    let per = 2 * margins.len();
    let results: Mutex<Vec<VariantRow>> = Mutex::new(vec![None; images.len()]);
    let next = AtomicUsize::new(0);
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut det = FaceDetector::open(&models).expect("detector");
                let mut net = EvalEmbedder::open(spec, &models).expect("network");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = images.get(i) else { break };
                    let path = data.lfw_dir.join(r.rel_path());
                    let img = image::open(&path).expect("decode").to_rgb8();
                    let (face, found) =
                        find_eval_face(&mut det, &img, EvalDetection::Probe).expect("face");
                    let (mimg, mface) = mirrored(&img, &face);
                    let mut v = Vec::with_capacity(per * spec.dimension);
                    for m in &margins {
                        v.extend(
                            net.embed(&img, &[m.apply(&face, built_in)])
                                .expect("embed")
                                .concat(),
                        );
                        v.extend(
                            net.embed(&mimg, &[m.apply(&mface, built_in)])
                                .expect("embed")
                                .concat(),
                        );
                    }
                    let width = face.bbox.right - face.bbox.left;
                    results.lock().expect("lock")[i] = Some((found.code(), Some(width), v));
                    if i.is_multiple_of(250) {
                        eprintln!("{i}/{} {:.0}s", images.len(), t0.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    let results = results.into_inner()?;
    write_variant_files(&out, &images, &results, per * spec.dimension)?;
    eprintln!(
        "{} images in {:.0}s",
        images.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
