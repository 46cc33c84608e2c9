//! Test-time variants of the dlib descriptor on the evaluation images, for choosing the engine's
//! template computation: per image the raw (unnormalised) descriptor of the aligned chip, of its
//! mirror image, and of `J` dlib jitters (`dlib::jitter_image`, seeded per image).
//!
//! `cargo run --release -p probity-face --example variants -- OUT_DIR [J]`
//! writes `OUT_DIR/variants.txt` (one `name number found` line per image) and
//! `OUT_DIR/variants.f32` (images × (2 + J) × 128 little-endian f32). Face finding is the
//! evaluation's (`eval::find_eval_face`, probe detection): HOG (upsample 1), else MMOD CNN, else
//! the centre box; face nearest the centre.
//! Env: PROBITY_TEST_DATA (faces).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use probity_face::algorithm::{lookup, SHAPE_PREDICTOR};
use probity_face::detect::FaceDetector;
use probity_face::dlib::{mirror_chip, set_blas_threads, ResnetDescriptor};
use probity_face::eval::{find_eval_face, write_variant_files, EvalDetection, LfwData, VariantRow};
use probity_face::model_dir;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().ok_or("usage: variants OUT_DIR [J]")?);
    let jitters: usize = args.next().map_or(Ok(6), |s| s.parse())?;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let data_root = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo.join("../shared/data"));
    let data = LfwData::open(&data_root.join("faces"))?;
    let images = data.all_images();
    let spec = lookup("dlib-resnet-v1")?;
    let models = model_dir();
    spec.verify_models(&models)?;
    let _ = SHAPE_PREDICTOR;
    std::fs::create_dir_all(&out)?;
    set_blas_threads(1);
    let per = 2 + jitters;
    let results: Mutex<Vec<VariantRow>> = Mutex::new(vec![None; images.len()]);
    let next = AtomicUsize::new(0);
    let t0 = std::time::Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut det = FaceDetector::open(&models).expect("detector");
                let mut net = ResnetDescriptor::open(&models.join(spec.model_files[0].file_name))
                    .expect("network");
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = images.get(i) else { break };
                    let path = data.lfw_dir.join(r.rel_path());
                    let img = image::open(&path).expect("decode").to_rgb8();
                    let (face, found) =
                        find_eval_face(&mut det, &img, EvalDetection::Probe).expect("face");
                    let how = found.code();
                    let chip = face.chip.as_raw().clone();
                    let mut mirrored = chip.clone();
                    mirror_chip(&mut mirrored);
                    let mut both = chip.clone();
                    both.extend_from_slice(&mirrored);
                    let mut v: Vec<f32> = net.describe(&both).expect("describe").concat();
                    if jitters > 0 {
                        let j = net
                            .describe_jittered(&chip, jitters, i as u64 + 1)
                            .expect("jitter");
                        v.extend(j.concat());
                    }
                    results.lock().expect("lock")[i] = Some((how, None, v));
                    if i.is_multiple_of(500) {
                        eprintln!("{i}/{} {:.0}s", images.len(), t0.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    let results = results.into_inner()?;
    write_variant_files(&out, &images, &results, per * 128)?;
    eprintln!(
        "{} images in {:.0}s",
        images.len(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
