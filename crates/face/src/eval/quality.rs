//! Identification accuracy by probe quality (FR-06): every probe face of the evaluation is
//! measured as a real probe is ([`crate::quality::assess`] with the engine's thresholds), and the
//! record reports rank-1 and FNIR with 50 candidates for the probes the verdict calls suitable,
//! those it calls unsuitable, and those with each reason, so the FR investigator's quality
//! verdict has numbers behind it.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{find_eval_face, metrics, EvalDetection, ImageRef};
use crate::detect::FaceDetector;
use crate::error::FaceError;
use crate::quality::{assess, QualityIssue, QualityReport, QualityThresholds};

/// Identification figures of the probes in one quality bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityBucket {
    /// `suitable`, `unsuitable`, or one reason (`face_too_small`, `blurred`, `too_dark`,
    /// `too_bright`, `clipped`, `turned_away`, `tilted`).
    pub bucket: String,
    pub probes: usize,
    pub rank1: f64,
    pub fnir_50_candidates: f64,
}

/// The bucket name of a reason.
fn reason(issue: &QualityIssue) -> &'static str {
    match issue {
        QualityIssue::FaceTooSmall { .. } => "face_too_small",
        QualityIssue::Blurred { .. } => "blurred",
        QualityIssue::TooDark { .. } => "too_dark",
        QualityIssue::TooBright { .. } => "too_bright",
        QualityIssue::Clipped { .. } => "clipped",
        QualityIssue::TurnedAway { .. } => "turned_away",
        QualityIssue::Tilted { .. } => "tilted",
    }
}

/// Rank-1 and FNIR with 50 candidates per bucket, from each probe's search (`searches[i]` is
/// `probes[i]`'s). Probes without a quality report are left out; empty buckets are not listed.
pub fn buckets(
    probes: &[ImageRef],
    searches: &[metrics::Search],
    quality: &HashMap<ImageRef, QualityReport>,
) -> Vec<QualityBucket> {
    fn put<'a>(
        by: &mut Vec<(String, Vec<&'a metrics::Search>)>,
        name: &str,
        s: &'a metrics::Search,
    ) {
        match by.iter_mut().find(|b| b.0 == name) {
            Some(b) => b.1.push(s),
            None => by.push((name.to_string(), vec![s])),
        }
    }
    let mut by: Vec<(String, Vec<&metrics::Search>)> = Vec::new();
    // Fixed order first, so records list buckets the same way.
    for (p, s) in probes.iter().zip(searches) {
        let Some(q) = quality.get(p) else { continue };
        put(
            &mut by,
            if q.suitable { "suitable" } else { "unsuitable" },
            s,
        );
    }
    for (p, s) in probes.iter().zip(searches) {
        let Some(q) = quality.get(p) else { continue };
        let mut seen: Vec<&str> = Vec::new();
        for i in &q.issues {
            let r = reason(i);
            if !seen.contains(&r) {
                seen.push(r);
                put(&mut by, r, s);
            }
        }
    }
    by.into_iter()
        .map(|(bucket, s)| {
            let n = s.len().max(1) as f64;
            let within = |r: usize| {
                s.iter()
                    .filter(|x| x.mate.is_some_and(|m| m.0 <= r))
                    .count()
            };
            QualityBucket {
                bucket,
                probes: s.len(),
                rank1: within(1) as f64 / n,
                fnir_50_candidates: 1.0 - within(50) as f64 / n,
            }
        })
        .collect()
}

/// The quality report of every probe's evaluation face (found by the evaluation's own cascade),
/// read from `cache` when it holds them all, computed on `threads` workers otherwise (and saved).
pub fn probe_quality(
    model_dir: &Path,
    lfw_dir: &Path,
    probes: &[ImageRef],
    cache: Option<&Path>,
    detection: EvalDetection,
    threads: usize,
) -> Result<HashMap<ImageRef, QualityReport>, FaceError> {
    let mut known: HashMap<ImageRef, QualityReport> = match cache {
        Some(p) if p.is_file() => {
            let bytes = std::fs::read(p).map_err(|e| FaceError::io(p, e))?;
            let rows: Vec<(ImageRef, QualityReport)> = serde_json::from_slice(&bytes)
                .map_err(|e| FaceError::EvalData(format!("{}: {e}", p.display())))?;
            rows.into_iter().collect()
        }
        _ => HashMap::new(),
    };
    let todo: Vec<&ImageRef> = probes.iter().filter(|p| !known.contains_key(*p)).collect();
    if todo.is_empty() {
        return Ok(known);
    }
    let thresholds = QualityThresholds::default();
    let (r, failed) = super::over_images(
        lfw_dir,
        &todo,
        threads,
        &|| FaceDetector::open(model_dir),
        &|detector, img| {
            let (face, _) = find_eval_face(detector, img, detection)?;
            Ok(assess(&face, &thresholds))
        },
        &|| {},
    );
    if let Some(e) = failed {
        return Err(e);
    }
    known.extend(r);
    if let Some(p) = cache {
        let mut rows: Vec<(&ImageRef, &QualityReport)> = known.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let json = serde_json::to_vec(&rows).map_err(|e| FaceError::EvalData(format!("{e}")))?;
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, json).map_err(|e| FaceError::io(&tmp, e))?;
        std::fs::rename(&tmp, p).map_err(|e| FaceError::io(p, e))?;
    }
    Ok(known)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::Pose;

    fn report(issues: Vec<QualityIssue>) -> QualityReport {
        QualityReport {
            inter_eye_px: 40.0,
            sharpness: 100.0,
            mean_brightness: 120.0,
            clipped_fraction: 0.0,
            pose: Pose {
                yaw_deg: 0.0,
                roll_deg: 0.0,
                nose_drop_ratio: 0.7,
            },
            suitable: issues.is_empty(),
            issues,
        }
    }

    #[test]
    fn fr_06_fnir_reported_per_quality_bucket() {
        let r = |n: u32| ImageRef {
            name: "A".into(),
            number: n,
        };
        let probes = vec![r(1), r(2), r(3), r(4)];
        let hit = |rank| metrics::Search {
            mate: Some((rank, 0.9)),
            best_nonmate: 0.5,
        };
        let miss = metrics::Search {
            mate: None,
            best_nonmate: 0.5,
        };
        let searches = vec![hit(1), hit(3), miss, hit(1)];
        let small = QualityIssue::FaceTooSmall {
            inter_eye_px: 10.0,
            min: 20.0,
        };
        let blur = QualityIssue::Blurred {
            sharpness: 1.0,
            min: 5.0,
        };
        let quality: HashMap<ImageRef, QualityReport> = [
            (r(1), report(vec![])),
            (r(2), report(vec![small.clone()])),
            (r(3), report(vec![small, blur])),
            // r(4) has no report: left out.
        ]
        .into_iter()
        .collect();
        let b = buckets(&probes, &searches, &quality);
        let get = |n: &str| b.iter().find(|x| x.bucket == n).cloned().expect(n);
        assert_eq!(b[0].bucket, "suitable");
        assert_eq!((get("suitable").probes, get("suitable").rank1), (1, 1.0));
        let u = get("unsuitable");
        assert_eq!((u.probes, u.rank1, u.fnir_50_candidates), (2, 0.0, 0.5));
        assert_eq!(get("face_too_small").probes, 2);
        assert_eq!(get("blurred").fnir_50_candidates, 1.0);
        assert!(b.iter().all(|x| x.bucket != "tilted"));
    }
}
