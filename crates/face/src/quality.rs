//! Image quality of a found face (FR-06): size, sharpness, exposure and pose, with a
//! suitable / unsuitable verdict and the reasons. Thresholds live in [`QualityThresholds`].

use serde::{Deserialize, Serialize};

use crate::detect::AlignedFace;

/// Thresholds for the verdict; the defaults suit investigative probes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct QualityThresholds {
    /// Smallest distance between the eye centres, in image pixels.
    pub min_inter_eye_px: f64,
    /// Smallest variance of the Laplacian over the aligned chip (grey levels²).
    pub min_sharpness: f64,
    /// Allowed mean brightness of the chip's central face area, 0–255.
    pub min_mean_brightness: f64,
    pub max_mean_brightness: f64,
    /// Largest share of the central face area that is clipped (≤ 5 or ≥ 250).
    pub max_clipped_fraction: f64,
    /// Largest estimated head turn (yaw) and tilt (roll), degrees.
    pub max_abs_yaw_deg: f64,
    pub max_abs_roll_deg: f64,
}

impl Default for QualityThresholds {
    fn default() -> Self {
        Self {
            min_inter_eye_px: 24.0,
            min_sharpness: 20.0,
            min_mean_brightness: 40.0,
            max_mean_brightness: 215.0,
            max_clipped_fraction: 0.25,
            max_abs_yaw_deg: 35.0,
            max_abs_roll_deg: 30.0,
        }
    }
}

/// Head pose estimated from the five landmarks (degrees; positive yaw = nose towards the image's right).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Pose {
    pub yaw_deg: f64,
    pub roll_deg: f64,
    /// Vertical nose position below the eye line relative to the eye distance (about 0.6–0.9 frontal).
    pub nose_drop_ratio: f64,
}

/// One reason a face is unsuitable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum QualityIssue {
    FaceTooSmall { inter_eye_px: f64, min: f64 },
    Blurred { sharpness: f64, min: f64 },
    TooDark { mean: f64, min: f64 },
    TooBright { mean: f64, max: f64 },
    Clipped { fraction: f64, max: f64 },
    TurnedAway { yaw_deg: f64, max: f64 },
    Tilted { roll_deg: f64, max: f64 },
}

impl std::fmt::Display for QualityIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FaceTooSmall { inter_eye_px, min } => {
                write!(
                    f,
                    "face too small: eyes {inter_eye_px:.0} px apart, need {min:.0}"
                )
            }
            Self::Blurred { sharpness, min } => {
                write!(f, "image blurred: sharpness {sharpness:.0}, need {min:.0}")
            }
            Self::TooDark { mean, min } => {
                write!(f, "face too dark: mean {mean:.0}, need {min:.0}")
            }
            Self::TooBright { mean, max } => {
                write!(f, "face too bright: mean {mean:.0}, at most {max:.0}")
            }
            Self::Clipped { fraction, max } => write!(
                f,
                "exposure clipped on {:.0}% of the face, at most {:.0}%",
                fraction * 100.0,
                max * 100.0
            ),
            Self::TurnedAway { yaw_deg, max } => {
                write!(f, "head turned {yaw_deg:.0}°, at most {max:.0}°")
            }
            Self::Tilted { roll_deg, max } => {
                write!(f, "head tilted {roll_deg:.0}°, at most {max:.0}°")
            }
        }
    }
}

/// The measures and the verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct QualityReport {
    pub inter_eye_px: f64,
    pub sharpness: f64,
    pub mean_brightness: f64,
    pub clipped_fraction: f64,
    pub pose: Pose,
    pub suitable: bool,
    pub issues: Vec<QualityIssue>,
}

/// Head pose from the five landmarks.
pub fn estimate_pose(face: &AlignedFace) -> Pose {
    let lm = &face.landmarks;
    let (le, re, nose) = (lm.left_eye(), lm.right_eye(), lm.nose());
    let ied = le.distance(&re).max(1e-6);
    let (dx, dy) = (re.x - le.x, re.y - le.y);
    let roll = dy.atan2(dx);
    // Nose position in the face's own frame (eye line rotated to horizontal).
    let mid = le.midpoint(&re);
    let (nx, ny) = (nose.x - mid.x, nose.y - mid.y);
    let (c, s) = (roll.cos(), roll.sin());
    let along = (nx * c + ny * s) / ied;
    let across = (-nx * s + ny * c) / ied;
    // A nose base about 0.55 eye-distances in front of the eye plane shifts sideways by
    // 0.55·sin(yaw) when the head turns.
    let yaw = (along / 0.55).clamp(-1.0, 1.0).asin();
    Pose {
        yaw_deg: yaw.to_degrees(),
        roll_deg: roll.to_degrees(),
        nose_drop_ratio: across,
    }
}

fn grey(chip: &image::RgbImage) -> Vec<f64> {
    chip.pixels()
        .map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64)
        .collect()
}

/// Variance of the 4-neighbour Laplacian over the chip's grey levels.
pub fn laplacian_variance(chip: &image::RgbImage) -> f64 {
    let (w, h) = (chip.width() as usize, chip.height() as usize);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let g = grey(chip);
    let mut sum = 0.0;
    let mut sum2 = 0.0;
    let mut n = 0.0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            let l = g[i - 1] + g[i + 1] + g[i - w] + g[i + w] - 4.0 * g[i];
            sum += l;
            sum2 += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    sum2 / n - mean * mean
}

/// Measures a face and gives the verdict.
pub fn assess(face: &AlignedFace, t: &QualityThresholds) -> QualityReport {
    let inter_eye_px = face.landmarks.inter_eye_distance();
    let sharpness = laplacian_variance(&face.chip);
    // Exposure over the central half of the chip (the face, not the background).
    let (w, h) = (face.chip.width() as usize, face.chip.height() as usize);
    let g = grey(&face.chip);
    let (mut sum, mut clipped, mut n) = (0.0, 0usize, 0usize);
    for y in h / 4..3 * h / 4 {
        for x in w / 4..3 * w / 4 {
            let v = g[y * w + x];
            sum += v;
            if !(5.0..250.0).contains(&v) {
                clipped += 1;
            }
            n += 1;
        }
    }
    let mean_brightness = if n > 0 { sum / n as f64 } else { 0.0 };
    let clipped_fraction = if n > 0 {
        clipped as f64 / n as f64
    } else {
        1.0
    };
    let pose = estimate_pose(face);
    let mut issues = Vec::new();
    if inter_eye_px < t.min_inter_eye_px {
        issues.push(QualityIssue::FaceTooSmall {
            inter_eye_px,
            min: t.min_inter_eye_px,
        });
    }
    if sharpness < t.min_sharpness {
        issues.push(QualityIssue::Blurred {
            sharpness,
            min: t.min_sharpness,
        });
    }
    if mean_brightness < t.min_mean_brightness {
        issues.push(QualityIssue::TooDark {
            mean: mean_brightness,
            min: t.min_mean_brightness,
        });
    }
    if mean_brightness > t.max_mean_brightness {
        issues.push(QualityIssue::TooBright {
            mean: mean_brightness,
            max: t.max_mean_brightness,
        });
    }
    if clipped_fraction > t.max_clipped_fraction {
        issues.push(QualityIssue::Clipped {
            fraction: clipped_fraction,
            max: t.max_clipped_fraction,
        });
    }
    if pose.yaw_deg.abs() > t.max_abs_yaw_deg {
        issues.push(QualityIssue::TurnedAway {
            yaw_deg: pose.yaw_deg,
            max: t.max_abs_yaw_deg,
        });
    }
    if pose.roll_deg.abs() > t.max_abs_roll_deg {
        issues.push(QualityIssue::Tilted {
            roll_deg: pose.roll_deg,
            max: t.max_abs_roll_deg,
        });
    }
    QualityReport {
        inter_eye_px,
        sharpness,
        mean_brightness,
        clipped_fraction,
        pose,
        suitable: issues.is_empty(),
        issues,
    }
}
