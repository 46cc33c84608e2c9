//! Verification and identification metrics.

use super::{IdentificationResult, VerificationResult};

/// A scored verification pair.
#[derive(Debug, Clone, Copy)]
pub struct Scored {
    pub fold: usize,
    pub score: f32,
    pub same: bool,
}

/// One identification search: the mate's (rank, score) if within the candidate list, and the
/// best non-mate score (the top score had the probe's identity been absent).
#[derive(Debug, Clone, Copy)]
pub struct Search {
    pub mate: Option<(usize, f32)>,
    pub best_nonmate: f32,
}

pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn std_dev(v: &[f64]) -> f64 {
    let m = mean(v);
    if v.len() < 2 {
        return 0.0;
    }
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// (accuracy, false match rate, false non-match rate) calling `score >= thr` "same".
pub fn at_threshold(pairs: &[&Scored], thr: f32) -> (f64, f64, f64) {
    let (mut ok, mut fm, mut neg, mut fnm, mut pos) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for p in pairs {
        let said_same = p.score >= thr;
        if said_same == p.same {
            ok += 1;
        }
        if p.same {
            pos += 1;
            if !said_same {
                fnm += 1;
            }
        } else {
            neg += 1;
            if said_same {
                fm += 1;
            }
        }
    }
    let r = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    (r(ok, pairs.len()), r(fm, neg), r(fnm, pos))
}

/// The threshold maximising accuracy on `pairs` (midpoints between sorted scores).
pub fn best_threshold(pairs: &[&Scored]) -> f32 {
    let mut s: Vec<&Scored> = pairs.to_vec();
    s.sort_by(|a, b| a.score.total_cmp(&b.score));
    // Start with threshold below everything: all called same.
    let pos = s.iter().filter(|p| p.same).count();
    let mut correct = pos; // every positive right, every negative wrong
    let mut best = (correct, s.first().map_or(0.0, |p| p.score - 1e-3));
    for i in 0..s.len() {
        // Threshold just above s[i]: s[..=i] called different.
        if s[i].same {
            correct -= 1;
        } else {
            correct += 1;
        }
        let next = s.get(i + 1).map_or(s[i].score + 1e-3, |n| n.score);
        if next > s[i].score && correct > best.0 {
            best = (correct, (s[i].score + next) / 2.0);
        }
    }
    best.1
}

/// 5-fold (or n-fold) cross-validated verification accuracy, TAR at FAR 0.001, AUC.
pub fn verification(scored: &[Scored]) -> VerificationResult {
    verification_cv(scored, &|_| scored.to_vec())
}

/// As [`verification`], where fold `f`'s threshold is chosen on the other folds and its accuracy
/// measured as `scored_for_fold(f)` scores them (a scorer with parameters of its own per fold,
/// such as a fusion); TAR, AUC and the ROC curve come from `scored`.
pub fn verification_cv(
    scored: &[Scored],
    scored_for_fold: &dyn Fn(usize) -> Vec<Scored>,
) -> VerificationResult {
    let folds = scored.iter().map(|s| s.fold).max().map_or(0, |m| m + 1);
    let mut accs = Vec::new();
    let mut thrs = Vec::new();
    for f in 0..folds {
        let scored = scored_for_fold(f);
        let train: Vec<&Scored> = scored.iter().filter(|s| s.fold != f).collect();
        let test: Vec<&Scored> = scored.iter().filter(|s| s.fold == f).collect();
        let t = best_threshold(&train);
        accs.push(at_threshold(&test, t).0);
        thrs.push(t);
    }
    let (tar, thr) = tar_at_far(scored, 0.001);
    let roc = roc(scored);
    let mut auc = 0.0;
    for w in roc.windows(2) {
        auc += (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0;
    }
    VerificationResult {
        pairs: scored.len(),
        accuracy_mean: mean(&accs),
        accuracy_std: std_dev(&accs),
        fold_accuracy: accs,
        fold_threshold: thrs,
        tar_at_far_0_001: tar,
        threshold_at_far_0_001: thr,
        auc,
        tar_at_far_0_001_all_non_mated: None,
    }
}

/// TAR at the lowest threshold whose FAR ≤ `far` (and the threshold).
pub fn tar_at_far(scored: &[Scored], far: f64) -> (f64, f32) {
    let mut neg: Vec<f32> = scored.iter().filter(|s| !s.same).map(|s| s.score).collect();
    neg.sort_by(|a, b| b.total_cmp(a));
    let allowed = (far * neg.len() as f64).floor() as usize;
    // Threshold strictly above the (allowed+1)-th highest impostor score.
    let thr = neg.get(allowed).map_or(f32::NEG_INFINITY, |s| s.next_up());
    let pos: Vec<f32> = scored.iter().filter(|s| s.same).map(|s| s.score).collect();
    let tar = if pos.is_empty() {
        0.0
    } else {
        pos.iter().filter(|&&s| s >= thr).count() as f64 / pos.len() as f64
    };
    (tar, thr)
}

/// ROC points (FAR, TAR), from (0,0) to (1,1).
pub fn roc(scored: &[Scored]) -> Vec<(f64, f64)> {
    let mut s: Vec<&Scored> = scored.iter().collect();
    s.sort_by(|a, b| b.score.total_cmp(&a.score));
    let pos = s.iter().filter(|p| p.same).count().max(1) as f64;
    let neg = s.iter().filter(|p| !p.same).count().max(1) as f64;
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut pts = vec![(0.0, 0.0)];
    for (i, p) in s.iter().enumerate() {
        if p.same {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        let last = i + 1 == s.len() || s[i + 1].score != p.score;
        if last {
            pts.push((fp / neg, tp / pos));
        }
    }
    pts
}

/// Rank-1, rank-10, FNIR at FPIR = 0.003, FNIR with 50 candidates.
pub fn identification(searches: &[Search], gallery_size: usize) -> IdentificationResult {
    let n = searches.len().max(1) as f64;
    let within = |r: usize| {
        searches
            .iter()
            .filter(|s| s.mate.is_some_and(|m| m.0 <= r))
            .count() as f64
            / n
    };
    let mut non: Vec<f32> = searches.iter().map(|s| s.best_nonmate).collect();
    non.sort_by(|a, b| b.total_cmp(a));
    let allowed = (0.003 * non.len() as f64).floor() as usize;
    let thr = non.get(allowed).map_or(f32::NEG_INFINITY, |s| s.next_up());
    let hit = searches
        .iter()
        .filter(|s| s.mate.is_some_and(|m| m.0 == 1 && m.1 >= thr))
        .count() as f64;
    IdentificationResult {
        gallery_size,
        probes: searches.len(),
        rank1: within(1),
        rank10: within(10),
        fnir_at_fpir_0_003: 1.0 - hit / n,
        threshold_at_fpir_0_003: thr,
        fnir_50_candidates: 1.0 - within(50),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(fold: usize, score: f32, same: bool) -> Scored {
        Scored { fold, score, same }
    }

    #[test]
    fn fr_23_threshold_chosen_on_training_folds_separates_classes() {
        let pairs = [
            s(0, 0.9, true),
            s(0, 0.8, true),
            s(0, 0.3, false),
            s(0, 0.5, false),
        ];
        let refs: Vec<&Scored> = pairs.iter().collect();
        let t = best_threshold(&refs);
        assert!(t > 0.5 && t < 0.8, "{t}");
        assert_eq!(at_threshold(&refs, t), (1.0, 0.0, 0.0));
    }

    #[test]
    fn fr_23_cross_validation_measures_each_fold_with_the_others_threshold() {
        // Fold 1 is shifted: the threshold from fold 0 misclassifies one of its pairs.
        let v = vec![
            s(0, 0.9, true),
            s(0, 0.7, true),
            s(0, 0.4, false),
            s(0, 0.2, false),
            s(1, 0.6, true),
            s(1, 0.95, true),
            s(1, 0.65, false),
            s(1, 0.1, false),
        ];
        let r = verification(&v);
        assert_eq!(r.fold_accuracy.len(), 2);
        assert!(r.fold_accuracy.iter().any(|&a| a < 1.0));
        assert!(r.auc > 0.7 && r.auc <= 1.0);
    }

    #[test]
    fn fr_23_tar_at_far_counts_only_impostors_above_threshold() {
        let mut v: Vec<Scored> = (0..1000).map(|i| s(0, i as f32 / 2000.0, false)).collect();
        v.push(s(0, 0.45, true));
        v.push(s(0, 0.6, true));
        let (tar, thr) = tar_at_far(&v, 0.001);
        // One impostor (0.4995) may be above; 0.499 is the threshold's floor.
        assert!(thr > 0.499 && thr <= 0.4995, "{thr}");
        assert_eq!(tar, 0.5);
    }

    #[test]
    fn fr_23_identification_ranks_and_fnir() {
        let v = vec![
            Search {
                mate: Some((1, 0.9)),
                best_nonmate: 0.3,
            },
            Search {
                mate: Some((3, 0.5)),
                best_nonmate: 0.6,
            },
            Search {
                mate: None,
                best_nonmate: 0.5,
            },
            Search {
                mate: Some((1, 0.4)),
                best_nonmate: 0.2,
            },
        ];
        let r = identification(&v, 10);
        assert_eq!(r.rank1, 0.5);
        assert_eq!(r.rank10, 0.75);
        assert_eq!(r.fnir_50_candidates, 0.25);
        // FPIR 0.003 of 4 searches allows no non-mate above the threshold (> 0.6).
        assert!(r.threshold_at_fpir_0_003 > 0.6);
        assert_eq!(r.fnir_at_fpir_0_003, 0.75);
    }
}
