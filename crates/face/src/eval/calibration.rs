//! Scores that mean something to a reviewer: a raw similarity turned into the false-match rate
//! the evaluation measured at that score.
//!
//! The evaluation compares every probe with every gallery template of another identity (the
//! non-mated comparisons a real search makes) and counts how many reach each score. The false
//! match rate at score `s` is the share of those comparisons scoring `s` or more: the chance that
//! a candidate of someone else scores as high. It depends only on the algorithm and the
//! evaluation data, never on the gallery searched, so the same score reads the same in every
//! search. Below the resolution of the evaluation (one comparison in the count) the rate is given
//! as an upper bound.

use serde::{Deserialize, Serialize};

/// Histogram resolution: scores are cosines in [-1, 1], counted in bins of 0.001.
const BINS: usize = 2001;

fn bin_of(score: f32) -> usize {
    let b = ((score.clamp(-1.0, 1.0) + 1.0) * 1000.0).floor();
    (b as usize).min(BINS - 1)
}

/// Counts of non-mated scores, filled during an evaluation.
#[derive(Debug, Clone)]
pub struct NonMatedCounts {
    bins: Vec<u64>,
    total: u64,
}

impl Default for NonMatedCounts {
    fn default() -> Self {
        Self {
            bins: vec![0; BINS],
            total: 0,
        }
    }
}

impl NonMatedCounts {
    pub fn add(&mut self, score: f32) {
        if score.is_finite() {
            self.bins[bin_of(score)] += 1;
            self.total += 1;
        }
    }

    /// The calibration table: the false-match rate at every 0.01 of score from -1 to 1.
    pub fn calibration(&self) -> ScoreCalibration {
        let mut at_or_above = vec![0u64; BINS + 1];
        for i in (0..BINS).rev() {
            at_or_above[i] = at_or_above[i + 1] + self.bins[i];
        }
        let points = (0..=200)
            .map(|k| {
                let score = -1.0 + k as f32 * 0.01;
                let count = at_or_above[bin_of(score)];
                let fmr = if self.total == 0 {
                    1.0
                } else {
                    count as f64 / self.total as f64
                };
                (score, fmr)
            })
            .collect();
        ScoreCalibration {
            comparisons: self.total,
            points,
        }
    }
}

/// Score → false-match rate, as measured by one evaluation of one algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreCalibration {
    /// How many non-mated comparisons were counted (the smallest rate measurable is 1 / this).
    pub comparisons: u64,
    /// (score, false-match rate at that score or above), scores ascending, rates non-increasing.
    pub points: Vec<(f32, f64)>,
}

/// A calibrated score as a reviewer reads it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FalseMatchEstimate {
    /// The estimated false-match rate at the score.
    pub rate: f64,
    /// True when no non-mated comparison of the evaluation scored this high: the rate is then
    /// "below 1 in `comparisons`", an upper bound.
    pub upper_bound: bool,
}

impl FalseMatchEstimate {
    /// "about 1 in 12,000" or "below 1 in 21,000,000".
    pub fn text(&self) -> String {
        if self.rate <= 0.0 {
            return "0".into();
        }
        let one_in = (1.0 / self.rate).round().max(1.0) as u64;
        let words = group_thousands(one_in);
        if self.upper_bound {
            format!("below 1 in {words}")
        } else {
            format!("about 1 in {words}")
        }
    }
}

fn group_thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl ScoreCalibration {
    /// Checks the table: at least two points, scores ascending, rates within 0..=1 and
    /// non-increasing. A table from outside (a stored record) is checked before use.
    pub fn validate(&self) -> Result<(), String> {
        if self.points.len() < 2 || self.comparisons == 0 {
            return Err("a calibration needs at least two points and one comparison".into());
        }
        for w in self.points.windows(2) {
            let ((s0, r0), (s1, r1)) = (w[0], w[1]);
            if s1.partial_cmp(&s0) != Some(std::cmp::Ordering::Greater) {
                return Err("calibration scores must ascend".into());
            }
            if !(0.0..=1.0).contains(&r0) || !(0.0..=1.0).contains(&r1) || r1 > r0 {
                return Err(
                    "calibration rates must lie in 0..1 and never rise with the score".into(),
                );
            }
        }
        Ok(())
    }

    /// The false-match rate at `score`: interpolated between the table's points (on the log of
    /// the rate), and an upper bound of 1 / `comparisons` where no comparison scored as high.
    /// Non-increasing in the score.
    pub fn false_match_rate(&self, score: f32) -> FalseMatchEstimate {
        let floor = 1.0 / self.comparisons.max(1) as f64;
        let bounded = |rate: f64| {
            if rate < floor {
                FalseMatchEstimate {
                    rate: floor,
                    upper_bound: true,
                }
            } else {
                FalseMatchEstimate {
                    rate,
                    upper_bound: false,
                }
            }
        };
        let Some(&(first_score, first_rate)) = self.points.first() else {
            return bounded(1.0);
        };
        if !score.is_finite() || score <= first_score {
            return bounded(first_rate);
        }
        for w in self.points.windows(2) {
            let ((s0, r0), (s1, r1)) = (w[0], w[1]);
            if score <= s1 {
                if r1 <= 0.0 || r0 <= 0.0 {
                    // Past the last counted comparison: no interpolation toward zero.
                    return bounded(if score < s1 { r0 } else { r1 });
                }
                let t = f64::from((score - s0) / (s1 - s0));
                return bounded((r0.ln() + t * (r1.ln() - r0.ln())).exp());
            }
        }
        bounded(self.points.last().map_or(0.0, |p| p.1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ScoreCalibration {
        let mut c = NonMatedCounts::default();
        // A bell of non-mated scores around 0.1, nothing above 0.6.
        for i in 0..100_000u32 {
            let u = (i as f32 + 0.5) / 100_000.0;
            let z = (u - 0.5) * 1.0;
            c.add(0.1 + z);
        }
        c.calibration()
    }

    #[test]
    fn fr_08_calibrated_rate_is_monotone_in_the_raw_score() {
        let cal = sample();
        cal.validate().expect("valid table");
        let mut last = f64::INFINITY;
        let mut s = -1.0f32;
        while s <= 1.0 {
            let r = cal.false_match_rate(s).rate;
            assert!(r <= last + 1e-15, "rate rose at {s}: {r} > {last}");
            last = r;
            s += 0.0007;
        }
    }

    #[test]
    fn fr_08_rates_match_the_counts_and_unseen_scores_are_upper_bounds() {
        let cal = sample();
        // Half of the scores are at or above the middle.
        let mid = cal.false_match_rate(0.1);
        assert!((mid.rate - 0.5).abs() < 0.02, "{mid:?}");
        assert!(!mid.upper_bound);
        let high = cal.false_match_rate(0.9);
        assert!(high.upper_bound);
        assert!((high.rate - 1e-5).abs() < 1e-12, "{high:?}");
        assert_eq!(high.text(), "below 1 in 100,000");
        assert_eq!(
            FalseMatchEstimate {
                rate: 1.0 / 12_345.0,
                upper_bound: false
            }
            .text(),
            "about 1 in 12,345"
        );
    }

    #[test]
    fn fr_08_a_table_whose_rate_rises_is_refused() {
        let mut cal = sample();
        cal.points[100].1 = 0.99;
        assert!(cal.validate().is_err());
    }
}
