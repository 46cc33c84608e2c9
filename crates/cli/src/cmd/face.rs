//! `probity face detect|compare`: faces, boxes, scores, landmarks and quality (FR-06); the
//! similarity of two faces at the algorithm's evaluated threshold (FR-08).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use probity_face::{
    compare, lookup, model_dir, BoundingBox, DetectorKind, FaceChoice, FaceEngine, FoundFace,
};

#[derive(Subcommand)]
pub enum FaceCommand {
    /// Find every face in an image: box, detector score, landmarks and quality verdict.
    Detect {
        image: PathBuf,
        #[command(flatten)]
        opts: EngineArgs,
        /// Align a hand-drawn face box instead of detecting: LEFT,TOP,RIGHT,BOTTOM in pixels.
        #[arg(long = "box", value_parser = parse_box)]
        face_box: Option<BoundingBox>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Compare the face in IMG1 with the face in IMG2 (each image must show one face).
    Compare {
        img1: PathBuf,
        img2: PathBuf,
        #[command(flatten)]
        opts: EngineArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct EngineArgs {
    /// Registered algorithm (dlib-resnet-v1, facenet-512).
    #[arg(long, default_value = "dlib-resnet-v1")]
    algorithm: String,
    /// Detector: hog (fast) or cnn (thorough).
    #[arg(long, default_value = "hog")]
    detector: DetectorKind,
    /// Times the image is doubled before detection.
    #[arg(long, default_value_t = 1)]
    upsample: u32,
    /// Folder with the model files (default: PROBITY_MODEL_DIR or <repo>/models).
    #[arg(long, env = "PROBITY_MODEL_DIR")]
    models: Option<PathBuf>,
}

impl EngineArgs {
    fn engine(&self) -> Result<FaceEngine> {
        let spec = lookup(&self.algorithm)?;
        let dir = self.models.clone().unwrap_or_else(model_dir);
        let mut e = FaceEngine::open(spec, &dir)?;
        e.detect_options.detector = self.detector;
        e.detect_options.upsample = self.upsample;
        Ok(e)
    }
}

fn parse_box(s: &str) -> Result<BoundingBox, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("`{s}`: expected LEFT,TOP,RIGHT,BOTTOM in pixels"))?;
    match v.as_slice() {
        [l, t, r, b] if r > l && b > t => Ok(BoundingBox {
            left: *l,
            top: *t,
            right: *r,
            bottom: *b,
        }),
        _ => Err(format!(
            "`{s}`: expected LEFT,TOP,RIGHT,BOTTOM with RIGHT>LEFT and BOTTOM>TOP"
        )),
    }
}

/// Decodes a still for facial recognition as the server does: JPEG (greyscale, RGB, CMYK), PNG or
/// HEIC/HEIF, typed by content, EXIF orientation applied, size and decompression-bomb limits
/// enforced, thermal images refused (TH-06).
pub fn load_rgb(path: &Path) -> Result<image::RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let still = probity_imaging::decode_still(&bytes, &probity_imaging::DecodeLimits::default())
        .with_context(|| format!("{} cannot be used as a still", path.display()))?;
    Ok(still.image)
}

fn print_face(i: usize, f: &FoundFace) {
    let q = &f.quality;
    println!(
        "face {}: box {} score {} eyes {:.0}px sharpness {:.0} brightness {:.0} yaw {:.0}° roll {:.0}° -> {}",
        i + 1,
        f.bbox,
        f.score.map_or("manual".to_string(), |s| format!("{s:.2}")),
        q.inter_eye_px,
        q.sharpness,
        q.mean_brightness,
        q.pose.yaw_deg,
        q.pose.roll_deg,
        if q.suitable { "suitable" } else { "UNSUITABLE" }
    );
    for issue in &q.issues {
        println!("    - {issue}");
    }
}

pub fn run(cmd: FaceCommand) -> Result<()> {
    match cmd {
        FaceCommand::Detect {
            image,
            opts,
            face_box,
            json,
        } => {
            let img = load_rgb(&image)?;
            let mut engine = opts.engine()?;
            let faces = match face_box {
                Some(b) => vec![engine.manual_face(&img, b)?],
                None => engine.detect(&img)?,
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&faces)?);
            } else {
                println!(
                    "{}: {}×{}, {} face(s) [{}]",
                    image.display(),
                    img.width(),
                    img.height(),
                    faces.len(),
                    engine.algorithm().id()
                );
                for (i, f) in faces.iter().enumerate() {
                    print_face(i, f);
                }
            }
            Ok(())
        }
        FaceCommand::Compare {
            img1,
            img2,
            opts,
            json,
        } => {
            let mut engine = opts.engine()?;
            let mut probe = |p: &Path| -> Result<_> {
                let img = load_rgb(p)?;
                let face = engine
                    .choose(&img, FaceChoice::Only)
                    .with_context(|| format!("{}", p.display()))?;
                Ok(engine.probe_template(&img, &face)?)
            };
            let a = probe(&img1)?;
            let b = probe(&img2)?;
            let c = compare(engine.algorithm(), &a, &b)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&c)?);
            } else {
                println!(
                    "{}: similarity {:.3} (threshold {:.3}) -> {}",
                    c.algorithm,
                    c.score,
                    c.threshold,
                    if c.same {
                        "same person"
                    } else {
                        "different people"
                    }
                );
            }
            Ok(())
        }
    }
}
