//! Score fusion of two registered algorithms (FR-23): one template holding both networks'
//! vectors, so a single dot product gives the fused score.
//!
//! Each component's cosine is normalised against its non-mated score distribution
//! (`z = (s − μ) / σ`) and the two are combined as `w·z₁ + (1 − w)·z₂`. That sum is an increasing
//! affine function of `c₁·s₁ + c₂·s₂` with `c₁ = (w/σ₁) / k`, `c₂ = ((1 − w)/σ₂) / k` and
//! `k = w/σ₁ + (1 − w)/σ₂`: the constant offset changes no ranking and no threshold choice. So the
//! fused template is `[√c₁·v₁, √c₂·v₂]`, still of unit length (each `vᵢ` is, and `c₁ + c₂ = 1`),
//! and the dot product of two fused templates is exactly `c₁·s₁ + c₂·s₂`. Everything built for one
//! algorithm (the i8 index, the calibration of scores to false-match rates, re-templating, the
//! evaluation gate) works unchanged on the fused one.
//!
//! Search stays fast with a first pass over the first component's columns only (its vector is the
//! leading part of every fused row), taking a shortlist that is then rescored with the whole
//! template ([`crate::index::GalleryIndex`]).
//!
//! The parameters (μ, σ, w) are fitted on verification pairs: [`fit`] on the pairs it is given,
//! [`fit_per_fold`] once per fold on every other fold, so the evaluation never scores a fold with
//! parameters fitted on it. The registered parameters are [`fit`] over every development fold.

use std::path::Path;

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::algorithm::{lookup, AlgorithmSpec, Embedder};
use crate::detect::AlignedFace;
use crate::error::FaceError;

/// What a fused algorithm combines and how its index searches.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FusionSpec {
    /// The component algorithms' ids (`name@version`), the first-pass one first.
    pub components: [&'static str; 2],
    /// Fitted on every development fold (`probity eval` prints the fit beside these).
    pub params: FusionParams,
    /// First-pass shortlist: at least `shortlist_min` rows, and `shortlist_per_million` rows per
    /// million templates in the index.
    pub shortlist_min: usize,
    pub shortlist_per_million: usize,
    /// Whether exact search takes the first pass at all. Off, it scans whole rows: worth it when
    /// the fused row is short enough to scan about as fast as a first pass plus its shortlist.
    pub first_pass: bool,
}

impl FusionSpec {
    /// The component specs, in order.
    pub fn component_specs(&self) -> Result<[&'static AlgorithmSpec; 2], FaceError> {
        Ok([lookup(self.components[0])?, lookup(self.components[1])?])
    }

    /// Shortlist size for an index of `rows` templates.
    pub fn shortlist(&self, rows: usize) -> usize {
        self.shortlist_min
            .max((rows as u128 * self.shortlist_per_million as u128).div_ceil(1_000_000) as usize)
    }
}

/// Normalisation and weight of a two-algorithm fusion.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FusionParams {
    /// Mean and standard deviation of each component's non-mated scores.
    pub non_mated_mean: [f32; 2],
    pub non_mated_std: [f32; 2],
    /// Weight of the first component's z-score; the second's is `1 − weight`.
    pub weight: f32,
}

impl FusionParams {
    /// `[c₁, c₂]`: the fused score is `c₁·s₁ + c₂·s₂`, with `c₁ + c₂ = 1`.
    pub fn coefficients(&self) -> [f32; 2] {
        let a = self.weight / self.non_mated_std[0].max(1e-6);
        let b = (1.0 - self.weight) / self.non_mated_std[1].max(1e-6);
        let k = (a + b).max(1e-12);
        [a / k, b / k]
    }

    /// The fused score of two component scores.
    pub fn fused_score(&self, s: [f32; 2]) -> f32 {
        let c = self.coefficients();
        c[0] * s[0] + c[1] * s[1]
    }

    /// The fused template of two unit component vectors: `[√c₁·v₁, √c₂·v₂]`.
    pub fn fuse(&self, v1: &[f32], v2: &[f32]) -> Vec<f32> {
        let c = self.coefficients();
        let (r1, r2) = (c[0].sqrt(), c[1].sqrt());
        let mut out = Vec::with_capacity(v1.len() + v2.len());
        out.extend(v1.iter().map(|x| x * r1));
        out.extend(v2.iter().map(|x| x * r2));
        out
    }
}

/// One verification pair scored by both components.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentPair {
    pub fold: usize,
    pub scores: [f32; 2],
    pub same: bool,
}

/// One training identification search, reduced to what decides the mate's rank under any
/// weight: the mate's component scores, how many gallery photos beat it on both components (they
/// outrank it whatever the weight), and the component scores of those that beat it on one (the
/// rest stay below it whatever the weight, since both coefficients are non-negative).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSearch {
    pub fold: usize,
    pub mate: [f32; 2],
    pub above_both: usize,
    pub contenders: Vec<[f32; 2]>,
}

impl TrainingSearch {
    /// From the mate's scores and every non-mated gallery photo's.
    pub fn new(fold: usize, mate: [f32; 2], non_mated: impl Iterator<Item = [f32; 2]>) -> Self {
        let mut above_both = 0;
        let mut contenders = Vec::new();
        for s in non_mated {
            match (s[0] > mate[0], s[1] > mate[1]) {
                (true, true) => above_both += 1,
                (false, false) => {}
                _ => contenders.push(s),
            }
        }
        Self {
            fold,
            mate,
            above_both,
            contenders,
        }
    }

    /// The mate's rank (1 = first) under `p`.
    pub fn rank(&self, p: &FusionParams) -> usize {
        let m = p.fused_score(self.mate);
        1 + self.above_both
            + self
                .contenders
                .iter()
                .filter(|c| p.fused_score(**c) > m)
                .count()
    }
}

/// Weights tried by [`fit`]: 0, 0.01, …, 1.
const WEIGHT_STEPS: usize = 100;

/// Fits the parameters on training data only: each component's non-mated mean and standard
/// deviation from the non-mated `pairs`, then the weight that maximises the sum of three rates a
/// reviewer relies on: verification accuracy on `pairs` (at the best threshold), and over
/// `searches` the mate at rank 1 and the mate within the 50 candidates. Ties go to the weight
/// nearest an even split. Errors when `pairs` lacks mated or non-mated pairs.
pub fn fit(
    pairs: &[&ComponentPair],
    searches: &[&TrainingSearch],
) -> Result<FusionParams, FaceError> {
    let non: Vec<&&ComponentPair> = pairs.iter().filter(|p| !p.same).collect();
    if non.len() < 2 || non.len() == pairs.len() {
        return Err(FaceError::EvalData(
            "fusion needs mated and non-mated pairs to fit on".into(),
        ));
    }
    let mut mean = [0f32; 2];
    let mut std = [0f32; 2];
    for c in 0..2 {
        let m = non.iter().map(|p| p.scores[c] as f64).sum::<f64>() / non.len() as f64;
        let v = non
            .iter()
            .map(|p| (p.scores[c] as f64 - m).powi(2))
            .sum::<f64>()
            / (non.len() - 1) as f64;
        mean[c] = m as f32;
        std[c] = v.sqrt().max(1e-6) as f32;
    }
    let mut best: Option<(f64, f32)> = None;
    for i in 0..=WEIGHT_STEPS {
        let weight = i as f32 / WEIGHT_STEPS as f32;
        let p = FusionParams {
            non_mated_mean: mean,
            non_mated_std: std,
            weight,
        };
        let accuracy = best_accuracy(pairs.iter().map(|t| (p.fused_score(t.scores), t.same)));
        let (mut first, mut within) = (0usize, 0usize);
        for s in searches {
            let r = s.rank(&p);
            first += usize::from(r == 1);
            within += usize::from(r <= 50);
        }
        let n = searches.len().max(1) as f64;
        let objective = accuracy + first as f64 / n + within as f64 / n;
        let better = match best {
            None => true,
            Some((o, w)) => {
                objective > o + 1e-12
                    || ((objective - o).abs() <= 1e-12 && (weight - 0.5).abs() < (w - 0.5).abs())
            }
        };
        if better {
            best = Some((objective, weight));
        }
    }
    Ok(FusionParams {
        non_mated_mean: mean,
        non_mated_std: std,
        weight: best.map_or(0.5, |b| b.1),
    })
}

/// Parameters for scoring each fold, element `k` fitted on the pairs of every fold but `k` and
/// on `searches(k)`, the training searches for fold `k` (the caller leaves out fold `k`'s
/// probes and gallery photos).
pub fn fit_per_fold(
    pairs: &[ComponentPair],
    searches: &dyn Fn(usize) -> Vec<TrainingSearch>,
    folds: usize,
) -> Result<Vec<FusionParams>, FaceError> {
    (0..folds)
        .map(|k| {
            let train: Vec<&ComponentPair> = pairs.iter().filter(|p| p.fold != k).collect();
            let s = searches(k);
            fit(&train, &s.iter().collect::<Vec<_>>())
        })
        .collect()
}

/// The best accuracy any threshold gives on (score, mated) pairs.
fn best_accuracy(scored: impl Iterator<Item = (f32, bool)>) -> f64 {
    let mut v: Vec<(f32, bool)> = scored.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Threshold below everything: every mated pair right, every non-mated one wrong.
    let mut correct = v.iter().filter(|x| x.1).count();
    let mut best = correct;
    let mut i = 0;
    while i < v.len() {
        // Move the threshold above every pair with this score.
        let mut j = i;
        while j < v.len() && v[j].0 == v[i].0 {
            if v[j].1 {
                correct -= 1;
            } else {
                correct += 1;
            }
            j += 1;
        }
        best = best.max(correct);
        i = j;
    }
    best as f64 / v.len() as f64
}

/// Runs both component networks and fuses their vectors with the registered parameters.
struct FusionEmbedder {
    spec: &'static AlgorithmSpec,
    params: FusionParams,
    parts: [Box<dyn Embedder>; 2],
}

/// Opens `fusion-dlib-facenet@1`.
pub(crate) fn open_dlib_facenet_v1(model_dir: &Path) -> Result<Box<dyn Embedder>, FaceError> {
    open_spec(lookup("fusion-dlib-facenet@1")?, model_dir)
}

/// Opens a fused algorithm (both networks, verified by SHA-256): the built-in one or one
/// registered by configuration.
pub(crate) fn open_spec(
    spec: &'static AlgorithmSpec,
    model_dir: &Path,
) -> Result<Box<dyn Embedder>, FaceError> {
    let fusion = spec.fusion.ok_or_else(|| {
        FaceError::UnknownAlgorithm(format!("{} is not a fused algorithm", spec.id()))
    })?;
    let [a, b] = fusion.component_specs()?;
    Ok(Box::new(FusionEmbedder {
        spec,
        params: fusion.params,
        parts: [a.load(model_dir)?, b.load(model_dir)?],
    }))
}

impl Embedder for FusionEmbedder {
    fn spec(&self) -> &'static AlgorithmSpec {
        self.spec
    }

    fn embed(
        &mut self,
        image: &RgbImage,
        faces: &[AlignedFace],
    ) -> Result<Vec<Vec<f32>>, FaceError> {
        let first = self.parts[0].embed(image, faces)?;
        let second = self.parts[1].embed(image, faces)?;
        if first.len() != faces.len() || second.len() != faces.len() {
            return Err(FaceError::Inference(
                "a component network returned the wrong number of vectors".into(),
            ));
        }
        Ok(first
            .iter()
            .zip(&second)
            .map(|(a, b)| self.params.fuse(a, b))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verification pairs over `folds` folds, deterministic: both components put mated pairs
    /// 0.4 above non-mated ones, the first with noise of range 0.8, the second 0.5 (so the
    /// second separates better, and the two together better than either).
    fn pairs(folds: usize, per_fold: usize) -> Vec<ComponentPair> {
        let mut out = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f32 / 10_000.0
        };
        for fold in 0..folds {
            for i in 0..per_fold {
                let same = i % 2 == 0;
                let base = if same { 0.6 } else { 0.2 };
                out.push(ComponentPair {
                    fold,
                    scores: [base + 0.8 * (next() - 0.5), base + 0.5 * (next() - 0.5)],
                    same,
                });
            }
        }
        out
    }

    #[test]
    fn fr_23_fused_template_dot_is_the_weighted_score() {
        let p = FusionParams {
            non_mated_mean: [0.1, 0.0],
            non_mated_std: [0.08, 0.05],
            weight: 0.4,
        };
        let c = p.coefficients();
        assert!((c[0] + c[1] - 1.0).abs() < 1e-6);
        let unit = |v: Vec<f32>| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.into_iter().map(|x| x / n).collect::<Vec<_>>()
        };
        let (a1, a2) = (unit(vec![1.0, 2.0, 3.0]), unit(vec![0.5, -1.0, 0.2, 0.1]));
        let (b1, b2) = (unit(vec![2.0, 1.0, 3.0]), unit(vec![0.4, -0.9, 0.3, -0.2]));
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let fa = p.fuse(&a1, &a2);
        let fb = p.fuse(&b1, &b2);
        assert!(
            (dot(&fa, &fa) - 1.0).abs() < 1e-5,
            "fused template is unit length"
        );
        let expected = p.fused_score([dot(&a1, &b1), dot(&a2, &b2)]);
        assert!((dot(&fa, &fb) - expected).abs() < 1e-5);
        // The z-normalised weighted sum orders pairs as the fused score does.
        let z = |s: [f32; 2]| 0.4 * (s[0] - 0.1) / 0.08 + 0.6 * (s[1] - 0.0) / 0.05;
        let (s, t) = ([0.5, 0.2], [0.3, 0.35]);
        assert_eq!(z(s) > z(t), p.fused_score(s) > p.fused_score(t));
    }

    /// Training searches over `folds` folds, deterministic: in each, the second component ranks
    /// the mate first and the first component puts one non-mate just above it.
    fn searches(folds: usize, per_fold: usize) -> Vec<TrainingSearch> {
        let mut out = Vec::new();
        for fold in 0..folds {
            for i in 0..per_fold {
                let x = i as f32 / per_fold as f32;
                let non = [[0.5 + 0.1 * x, 0.2], [0.3, 0.1 + 0.1 * x]];
                out.push(TrainingSearch::new(fold, [0.45, 0.6], non.into_iter()));
            }
        }
        out
    }

    #[test]
    fn fr_23_training_search_keeps_only_what_can_change_the_mate_rank() {
        let s = TrainingSearch::new(
            0,
            [0.5, 0.5],
            [[0.6, 0.6], [0.6, 0.4], [0.4, 0.6], [0.4, 0.4]].into_iter(),
        );
        assert_eq!(s.above_both, 1);
        assert_eq!(s.contenders.len(), 2);
        let p = |weight| FusionParams {
            non_mated_mean: [0.0; 2],
            non_mated_std: [1.0; 2],
            weight,
        };
        assert_eq!(s.rank(&p(1.0)), 3);
        assert_eq!(s.rank(&p(0.5)), 2);
    }

    #[test]
    fn fr_23_fit_prefers_the_component_that_separates_better() {
        let all = pairs(1, 2_000);
        let refs: Vec<&ComponentPair> = all.iter().collect();
        let p = fit(&refs, &[]).expect("fit");
        assert!(
            p.weight < 0.5,
            "second component is cleaner: weight {}",
            p.weight
        );
        // Searches where only the second component ranks the mate first pull the weight down.
        let s = searches(1, 50);
        let with = fit(&refs, &s.iter().collect::<Vec<_>>()).expect("fit");
        assert!(with.weight <= p.weight, "{} > {}", with.weight, p.weight);
        assert!(s.iter().all(|x| x.rank(&with) == 1));
        let only_mated: Vec<&ComponentPair> = all.iter().filter(|p| p.same).collect();
        assert!(fit(&only_mated, &[]).is_err());
    }

    #[test]
    fn fr_23_fusion_weights_never_fitted_on_the_fold_they_score() {
        let clean = pairs(5, 400);
        let clean_searches = searches(5, 40);
        let training = |all: &[TrainingSearch]| {
            let all = all.to_vec();
            move |k: usize| {
                all.iter()
                    .filter(|s| s.fold != k)
                    .cloned()
                    .collect::<Vec<_>>()
            }
        };
        let before = fit_per_fold(&clean, &training(&clean_searches), 5).expect("fit");
        // Poison fold 2: swap every pair label, scramble its scores, and make its searches
        // reward the first component only.
        let mut poisoned = clean.clone();
        for p in poisoned.iter_mut().filter(|p| p.fold == 2) {
            p.same = !p.same;
            p.scores = [1.0 - p.scores[1], p.scores[0] * 3.0];
        }
        let mut poisoned_searches = clean_searches.clone();
        for s in poisoned_searches.iter_mut().filter(|s| s.fold == 2) {
            *s = TrainingSearch::new(2, [0.9, 0.1], [[0.2, 0.9]; 30].into_iter());
        }
        let after = fit_per_fold(&poisoned, &training(&poisoned_searches), 5).expect("fit");
        // The parameters that score fold 2 never saw fold 2.
        assert_eq!(before[2], after[2]);
        // Every other fold's parameters were fitted on fold 2, so the poison reaches them: the
        // check above would fail if fold 2 leaked into its own parameters.
        for k in [0, 1, 3, 4] {
            assert_ne!(before[k], after[k], "fold {k}");
        }
    }

    #[test]
    fn fr_23_shortlist_grows_with_the_index() {
        let s = FusionSpec {
            components: ["a@1", "b@1"],
            params: FusionParams {
                non_mated_mean: [0.0; 2],
                non_mated_std: [1.0; 2],
                weight: 0.5,
            },
            shortlist_min: 1_000,
            shortlist_per_million: 5_000,
            first_pass: true,
        };
        assert_eq!(s.shortlist(10), 1_000);
        assert_eq!(s.shortlist(1_000_000), 5_000);
        assert_eq!(s.shortlist(10_000_000), 50_000);
    }
}
