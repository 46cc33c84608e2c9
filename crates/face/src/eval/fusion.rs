//! Evaluation of a fused algorithm ([`crate::fusion`]) from its components' embeddings,
//! cross-validated: fold `k`'s pairs and probes are scored with parameters fitted on the other
//! folds, and fold `k`'s verification threshold is chosen on the other folds scored with those
//! same parameters. The development folds are identity-disjoint (checked here), so a probe's fold
//! is its identity's fold.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::calibration::NonMatedCounts;
use super::{metrics, EvalDetection, EvaluationRecord, FaceFound, ImageRef, LfwData};
use crate::algorithm::{AlgorithmId, AlgorithmSpec};
use crate::error::FaceError;
use crate::fusion::{fit, fit_per_fold, ComponentPair, FusionParams, TrainingSearch};
use crate::index::{GalleryIndex, SearchMode, SearchRequest};
use crate::quality::QualityReport;
use crate::template::{ProbeTemplate, RecordId, RepositoryTemplate};

/// One component's embeddings, as [`super::embed_images`] returns them.
pub type Embeddings = HashMap<ImageRef, (Vec<f32>, FaceFound)>;

/// What the record of a fused algorithm adds: the parameters each fold was scored with, the fit
/// over every fold beside the registered parameters, and how well the first-pass shortlist keeps
/// the exact fused candidates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FusionEvaluation {
    pub components: [AlgorithmId; 2],
    /// Element `k` scored fold `k` and was fitted on every other fold.
    pub fold_params: Vec<FusionParams>,
    /// Fitted on every fold: what the registry should hold.
    pub fitted_on_all_folds: FusionParams,
    /// What the registry holds (the calibration is computed with these).
    pub registered: FusionParams,
    pub shortlist: ShortlistCheck,
}

/// The first pass (the first component's columns) against the exact fused search, over every
/// probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShortlistCheck {
    /// Shortlist rows at this gallery's size (0: no first pass, whole rows are scanned).
    pub rows: usize,
    pub probes: usize,
    /// Probes whose 50 candidates equal the exact fused search's 50.
    pub top50_identical: usize,
    /// Probes whose mate is among the exact fused 50, and of those, the ones the two-pass
    /// search also returns it for.
    pub mate_in_exact_top50: usize,
    pub mate_kept: usize,
    /// First-pass rank needed to keep all of the exact fused 50, over the probes: median, 99th
    /// percentile and maximum, and the maximum as a share of the gallery.
    pub rank_needed_p50: usize,
    pub rank_needed_p99: usize,
    pub rank_needed_max: usize,
    pub rank_needed_max_share: f64,
}

/// Mean and standard deviation of the fused scores `p` gives the non-mated pairs, leaving out
/// fold `skip` (a standard deviation of zero is taken as one).
fn non_mated_scale(pairs: &[ComponentPair], p: &FusionParams, skip: Option<usize>) -> (f64, f64) {
    let s: Vec<f64> = pairs
        .iter()
        .filter(|x| !x.same && Some(x.fold) != skip)
        .map(|x| f64::from(p.fused_score(x.scores)))
        .collect();
    let n = s.len().max(1) as f64;
    let m = s.iter().sum::<f64>() / n;
    let sd = (s.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n).sqrt();
    (m, if sd > 0.0 { sd } else { 1.0 })
}

/// `(k, score) ↦` fold k's fused score (with `fold_params[k]`) on the scale of `reference`: the
/// increasing affine map that gives the non-mated pairs of every fold but k the mean and standard
/// deviation `reference` gives all non-mated pairs.
fn common_scale(
    pairs: &[ComponentPair],
    fold_params: &[FusionParams],
    reference: &FusionParams,
) -> impl Fn(usize, f32) -> f32 {
    let (m0, sd0) = non_mated_scale(pairs, reference, None);
    let maps: Vec<(f64, f64)> = fold_params
        .iter()
        .enumerate()
        .map(|(k, p)| non_mated_scale(pairs, p, Some(k)))
        .collect();
    move |k, score| {
        let (m, sd) = maps.get(k).copied().unwrap_or((m0, sd0));
        (m0 + sd0 * (f64::from(score) - m) / sd) as f32
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The whole evaluation of the fused `spec` from its components' embeddings (`comps`, in the
/// order of `spec.fusion.components`).
pub fn evaluate_fusion(
    spec: &'static AlgorithmSpec,
    data: &LfwData,
    comps: [&Embeddings; 2],
    labels: Option<&HashMap<String, String>>,
    detection: EvalDetection,
    probe_quality: Option<&HashMap<ImageRef, QualityReport>>,
) -> Result<EvaluationRecord, FaceError> {
    let fusion = spec
        .fusion
        .ok_or_else(|| FaceError::EvalData(format!("{} is not a fused algorithm", spec.id())))?;
    let component_specs = fusion.component_specs()?;
    let get = |c: usize, r: &ImageRef| {
        comps[c].get(r).map(|x| x.0.as_slice()).ok_or_else(|| {
            FaceError::EvalData(format!(
                "no {} embedding for {}",
                component_specs[c].id(),
                r.rel_path()
            ))
        })
    };
    let fused = |p: &FusionParams, r: &ImageRef| -> Result<Vec<f32>, FaceError> {
        Ok(p.fuse(get(0, r)?, get(1, r)?))
    };

    // Verification pairs scored by both components; parameters per fold and over all folds.
    let folds = data.pairs.iter().map(|p| p.fold).max().map_or(0, |f| f + 1);
    let pairs: Vec<ComponentPair> = data
        .pairs
        .iter()
        .map(|p| {
            Ok(ComponentPair {
                fold: p.fold,
                scores: [
                    dot(get(0, &p.a)?, get(0, &p.b)?),
                    dot(get(1, &p.a)?, get(1, &p.b)?),
                ],
                same: p.same,
            })
        })
        .collect::<Result<_, FaceError>>()?;

    // Identification data: every probe's component scores against every gallery photo, and the
    // fold of each probe and gallery photo (none for distractor identities).
    let mut fold_of: HashMap<&str, usize> = HashMap::new();
    for p in &data.pairs {
        for name in [p.a.name.as_str(), p.b.name.as_str()] {
            if *fold_of.entry(name).or_insert(p.fold) != p.fold {
                return Err(FaceError::EvalData(format!(
                    "{name} appears in two folds: fused evaluation needs identity-disjoint folds"
                )));
            }
        }
    }
    let (gallery, probes) = data.identification_split();
    let owner: Vec<&str> = gallery.iter().map(|g| g.name.as_str()).collect();
    let gallery_fold: Vec<Option<usize>> = gallery
        .iter()
        .map(|g| fold_of.get(g.name.as_str()).copied())
        .collect();
    let probe_fold: Vec<usize> = probes
        .iter()
        .map(|p| {
            fold_of.get(p.name.as_str()).copied().ok_or_else(|| {
                FaceError::EvalData(format!("probe identity {} is in no fold", p.name))
            })
        })
        .collect::<Result<_, _>>()?;
    let scores = ComponentScores::compute(&gallery, &probes, &get)?;

    // Training searches for fold k (`None`: every fold): probes and gallery photos of fold k
    // left out; distractor identities, in no fold, stay.
    let training_searches = |k: Option<usize>| -> Vec<TrainingSearch> {
        let keep = |f: Option<usize>| k.is_none() || f != k;
        probes
            .iter()
            .enumerate()
            .filter(|(pi, _)| keep(Some(probe_fold[*pi])))
            .filter_map(|(pi, p)| {
                let row = scores.row(pi);
                let mate = (0..gallery.len()).find(|&g| owner[g] == p.name)?;
                let non = (0..gallery.len())
                    .filter(|&g| g != mate && keep(gallery_fold[g]))
                    .map(&row);
                Some(TrainingSearch::new(probe_fold[pi], row(mate), non))
            })
            .collect()
    };
    let fold_params = fit_per_fold(&pairs, &|k| training_searches(Some(k)), folds)?;
    let all_searches = training_searches(None);
    let fitted_on_all_folds = fit(
        &pairs.iter().collect::<Vec<_>>(),
        &all_searches.iter().collect::<Vec<_>>(),
    )?;

    // Each pair scored with its own fold's parameters (TAR, AUC, ROC); each fold's threshold
    // chosen on the other folds scored with that fold's parameters. The pooled figures (TAR,
    // AUC, ROC) compare scores of different folds, whose parameters put the fused score on
    // slightly different scales: a weight of 0.70 instead of 0.62 moves the non-mated mean by
    // more than one standard deviation. So fold k's fused scores are mapped onto the scale of the
    // fit on every fold by matching the mean and standard deviation of the non-mated pairs of
    // the other folds: an increasing affine map per fold, which changes no ranking within a fold
    // and no fold's threshold choice.
    let common = common_scale(&pairs, &fold_params, &fitted_on_all_folds);
    let scored_with = |k: usize| -> Vec<metrics::Scored> {
        pairs
            .iter()
            .map(|x| metrics::Scored {
                fold: x.fold,
                score: common(k, fold_params[k].fused_score(x.scores)),
                same: x.same,
            })
            .collect()
    };
    let own: Vec<metrics::Scored> = pairs
        .iter()
        .map(|x| metrics::Scored {
            fold: x.fold,
            score: common(x.fold, fold_params[x.fold].fused_score(x.scores)),
            same: x.same,
        })
        .collect();
    let verification = metrics::verification_cv(&own, &scored_with);
    let roc = metrics::roc(&own);

    // Identification: probes of fold k searched in a gallery templated with fold k's parameters,
    // through the real index (first pass and rescoring), beside the exact fused search.
    let req = SearchRequest {
        top_k: 50,
        mode: SearchMode::Exact,
    };
    let mut searches = vec![None; probes.len()];
    let mut check = ShortlistCheck {
        rows: if fusion.first_pass {
            fusion.shortlist(gallery.len())
        } else {
            0
        },
        probes: probes.len(),
        top50_identical: 0,
        mate_in_exact_top50: 0,
        mate_kept: 0,
        rank_needed_p50: 0,
        rank_needed_p99: 0,
        rank_needed_max: 0,
        rank_needed_max_share: 0.0,
    };
    let mut rank_needed = Vec::with_capacity(probes.len());
    for (k, params) in fold_params.iter().enumerate() {
        let mut two_pass = GalleryIndex::new(spec);
        let mut exact = GalleryIndex::new(spec);
        exact.disable_first_pass();
        for (i, g) in gallery.iter().enumerate() {
            let v = fused(params, g)?;
            two_pass.add(RepositoryTemplate::enrol(
                RecordId(i as u64),
                spec,
                v.clone(),
            )?)?;
            exact.add(RepositoryTemplate::enrol(RecordId(i as u64), spec, v)?)?;
        }
        for (pi, p) in probes.iter().enumerate() {
            if probe_fold[pi] != k {
                continue;
            }
            let probe = ProbeTemplate::new(spec, fused(params, p)?)?;
            let got = two_pass.search(&probe, &req, &|_| true)?;
            let full = exact.search(&probe, &req, &|_| true)?;
            let outcome = super::search_outcome(&got.candidates, &owner, &p.name);
            let exact_outcome = super::search_outcome(&full.candidates, &owner, &p.name);
            let records = |r: &crate::index::SearchResult| {
                let mut v: Vec<u64> = r.candidates.iter().map(|c| c.record.0).collect();
                v.sort_unstable();
                v
            };
            if records(&got) == records(&full) {
                check.top50_identical += 1;
            }
            if exact_outcome.mate.is_some() {
                check.mate_in_exact_top50 += 1;
                if outcome.mate.is_some() {
                    check.mate_kept += 1;
                }
            }
            // First-pass rank of each exact candidate, from the first component's scores.
            let row = scores.row(pi);
            let worst = full
                .candidates
                .iter()
                .map(|c| row(c.record.0 as usize)[0])
                .fold(f32::INFINITY, f32::min);
            rank_needed.push((0..gallery.len()).filter(|&g| row(g)[0] >= worst).count());
            searches[pi] = Some(outcome);
        }
    }
    let searches: Vec<metrics::Search> = searches
        .into_iter()
        .zip(&probes)
        .map(|(s, p)| {
            s.ok_or_else(|| FaceError::EvalData(format!("probe {} not searched", p.rel_path())))
        })
        .collect::<Result<_, _>>()?;
    rank_needed.sort_unstable();
    let pct = |q: f64| {
        rank_needed
            .get(((rank_needed.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    check.rank_needed_p50 = pct(0.5);
    check.rank_needed_p99 = pct(0.99);
    check.rank_needed_max = rank_needed.last().copied().unwrap_or(0);
    check.rank_needed_max_share = check.rank_needed_max as f64 / gallery.len().max(1) as f64;
    let identification = metrics::identification(&searches, gallery.len());

    // Calibration of the registered fused score over every non-mated comparison.
    let registered = fusion.params;
    let mut non_mated = NonMatedCounts::default();
    for (pi, p) in probes.iter().enumerate() {
        let row = scores.row(pi);
        for (g, name) in owner.iter().enumerate() {
            if *name != p.name {
                non_mated.add(registered.fused_score(row(g)));
            }
        }
    }

    // TAR at FAR 0.001 against the non-mated comparisons of the 1:N split, cross-validated as
    // the rest: fold k's threshold is read from comparisons of probes and gallery photos of the
    // other folds (and distractors), scored with fold k's parameters, and applied to fold k's
    // mated pairs scored with the same parameters.
    let (mut accepted, mut mated_pairs, mut thresholds) = (0usize, 0usize, Vec::new());
    let (mut fewest, mut worst_far) = (u64::MAX, 0f64);
    for (k, params) in fold_params.iter().enumerate() {
        let mut counts = NonMatedCounts::default();
        for (pi, p) in probes.iter().enumerate() {
            if probe_fold[pi] == k {
                continue;
            }
            let row = scores.row(pi);
            for (g, name) in owner.iter().enumerate() {
                if *name != p.name && gallery_fold[g] != Some(k) {
                    counts.add(params.fused_score(row(g)));
                }
            }
        }
        let Some(t) = counts.threshold_at(0.001) else {
            continue;
        };
        for x in pairs.iter().filter(|x| x.fold == k && x.same) {
            mated_pairs += 1;
            if t.accepts(params.fused_score(x.scores)) {
                accepted += 1;
            }
        }
        thresholds.push(t.score);
        fewest = fewest.min(t.comparisons);
        worst_far = worst_far.max(t.rate);
    }
    let all_non_mated =
        (!thresholds.is_empty() && mated_pairs > 0).then(|| super::AllNonMatedTar {
            tar: accepted as f64 / mated_pairs as f64,
            non_mated_comparisons: fewest,
            far_measured: worst_far,
            threshold: thresholds.iter().sum::<f32>() / thresholds.len() as f32,
        });

    // Faces: both components found the same face (one cascade), so count the first's.
    let groups = super::group_breakdown(labels, &verification, &own, data, &searches, &probes);
    let mut record = super::record(
        spec,
        data,
        comps[0],
        detection,
        verification,
        identification,
        groups,
        roc,
        non_mated.calibration(),
    );
    record.verification.tar_at_far_0_001_all_non_mated = all_non_mated;
    if let Some(q) = probe_quality {
        record.quality_buckets = super::quality::buckets(&probes, &searches, q);
    }
    record.fusion = Some(FusionEvaluation {
        components: [component_specs[0].id(), component_specs[1].id()],
        fold_params,
        fitted_on_all_folds,
        registered,
        shortlist: check,
    });
    Ok(record)
}

/// Both components' scores of every probe against every gallery photo (probe-major), computed on
/// all cores.
struct ComponentScores {
    gallery: usize,
    scores: Vec<[f32; 2]>,
}

/// Looks up component `c`'s embedding of an image.
type Lookup<'a, 'b> = dyn Fn(usize, &ImageRef) -> Result<&'a [f32], FaceError> + Sync + 'b;

impl ComponentScores {
    fn compute<'a>(
        gallery: &[ImageRef],
        probes: &[ImageRef],
        get: &Lookup<'a, '_>,
    ) -> Result<Self, FaceError> {
        let g: Vec<(&[f32], &[f32])> = gallery
            .iter()
            .map(|r| Ok((get(0, r)?, get(1, r)?)))
            .collect::<Result<_, FaceError>>()?;
        let p: Vec<(&[f32], &[f32])> = probes
            .iter()
            .map(|r| Ok((get(0, r)?, get(1, r)?)))
            .collect::<Result<_, FaceError>>()?;
        let mut scores = vec![[0f32; 2]; p.len() * g.len()];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let rows_per = p.len().div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (chunk, out) in p
                .chunks(rows_per)
                .zip(scores.chunks_mut(rows_per * g.len().max(1)))
            {
                let g = &g;
                s.spawn(move || {
                    for (q, row) in chunk.iter().zip(out.chunks_mut(g.len().max(1))) {
                        for (cell, (ga, gb)) in row.iter_mut().zip(g) {
                            *cell = [dot(q.0, ga), dot(q.1, gb)];
                        }
                    }
                });
            }
        });
        Ok(Self {
            gallery: g.len(),
            scores,
        })
    }

    /// Probe `pi`'s scores, by gallery index.
    fn row(&self, pi: usize) -> impl Fn(usize) -> [f32; 2] + '_ {
        let row = &self.scores[pi * self.gallery..(pi + 1) * self.gallery];
        move |g| row[g]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Four folds of the same two-component score distributions (deterministic).
    fn pairs() -> Vec<ComponentPair> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 10_000) as f32 / 10_000.0
        };
        let mut out = Vec::new();
        for fold in 0..4 {
            for i in 0..400 {
                let same = i % 2 == 0;
                let (a, b) = if same { (0.9, 0.5) } else { (0.8, 0.1) };
                out.push(ComponentPair {
                    fold,
                    scores: [a + 0.1 * (next() - 0.5), b + 0.4 * (next() - 0.5)],
                    same,
                });
            }
        }
        out
    }

    fn params(weight: f32) -> FusionParams {
        FusionParams {
            non_mated_mean: [0.8, 0.1],
            non_mated_std: [0.029, 0.115],
            weight,
        }
    }

    /// Folds scored with different weights put their fused scores on different scales; pooled,
    /// the scores are first brought onto one, so a pooled threshold means the same in every fold.
    #[test]
    fn fr_23_fused_scores_of_every_fold_pooled_on_one_scale() {
        let pairs = pairs();
        let folds = [params(0.2), params(0.9), params(0.5), params(0.7)];
        let reference = params(0.5);
        let common = common_scale(&pairs, &folds, &reference);
        let mean_of = |k: usize, map: &dyn Fn(&ComponentPair) -> f32| {
            let v: Vec<f32> = pairs
                .iter()
                .filter(|x| x.fold == k && !x.same)
                .map(map)
                .collect();
            v.iter().sum::<f32>() / v.len() as f32
        };
        let raw = |k: usize| mean_of(k, &|x| folds[k].fused_score(x.scores));
        let mapped = |k: usize| mean_of(k, &|x| common(k, folds[k].fused_score(x.scores)));
        // Unmapped, the weights 0.2 and 0.9 move the non-mated mean by many of its standard
        // deviations (about 0.025); mapped, the folds agree.
        assert!((raw(0) - raw(1)).abs() > 0.2, "{} {}", raw(0), raw(1));
        for k in 1..4 {
            assert!((mapped(k) - mapped(0)).abs() < 0.01, "{k}: {}", mapped(k));
        }
        // Within a fold the map keeps the order of every pair.
        let fold1: Vec<&ComponentPair> = pairs.iter().filter(|x| x.fold == 1).collect();
        for w in fold1.windows(2) {
            let (a, b) = (
                folds[1].fused_score(w[0].scores),
                folds[1].fused_score(w[1].scores),
            );
            let (ma, mb) = (common(1, a), common(1, b));
            assert_eq!(a.partial_cmp(&b), ma.partial_cmp(&mb));
        }
        // A fold scored with the reference itself keeps (nearly) its scores.
        let same = common_scale(&pairs, &[reference; 4], &reference);
        let s = reference.fused_score([0.82, 0.15]);
        assert!((same(2, s) - s).abs() < 0.01);
    }
}
