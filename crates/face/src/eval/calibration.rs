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

/// Histogram resolution: scores are cosines in [-1, 1], counted in bins of 0.0001 (an
/// algorithm's non-mated scores can crowd into a few hundredths, as dlib's do near 0.9).
const BINS: usize = 20_001;
const PER_UNIT: f32 = 10_000.0;

fn bin_of(score: f32) -> usize {
    let b = ((score.clamp(-1.0, 1.0) + 1.0) * PER_UNIT).floor();
    (b as usize).min(BINS - 1)
}

fn score_of(bin: usize) -> f32 {
    -1.0 + bin as f32 / PER_UNIT
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

    /// The lowest score at which at most `far` of the counted comparisons score as high or higher
    /// (to the histogram's resolution). `None` when nothing was counted.
    pub fn threshold_at(&self, far: f64) -> Option<NonMatedThreshold> {
        if self.total == 0 {
            return None;
        }
        let allowed = far * self.total as f64;
        let mut at_or_above = 0u64;
        // Walk down from the top bin while the comparisons at or above stay within the allowance.
        let mut bin = BINS;
        for i in (0..BINS).rev() {
            if (at_or_above + self.bins[i]) as f64 > allowed {
                break;
            }
            at_or_above += self.bins[i];
            bin = i;
        }
        Some(NonMatedThreshold {
            bin,
            score: if bin == BINS { 1.0 } else { score_of(bin) },
            rate: at_or_above as f64 / self.total as f64,
            comparisons: self.total,
        })
    }

    /// The calibration table: the score at which the false-match rate falls to each tenth of a
    /// decade (1, 0.79, 0.63, 0.5, ... down to one comparison), then the first score no
    /// non-mated comparison reached (rate 0). Dense where the rate changes, whatever the range
    /// of the algorithm's scores.
    pub fn calibration(&self) -> ScoreCalibration {
        let mut at_or_above = vec![0u64; BINS + 1];
        for i in (0..BINS).rev() {
            at_or_above[i] = at_or_above[i + 1] + self.bins[i];
        }
        if self.total == 0 {
            return ScoreCalibration {
                comparisons: 0,
                points: vec![(-1.0, 1.0), (1.0, 1.0)],
            };
        }
        let total = self.total as f64;
        let rate = |i: usize| at_or_above[i] as f64 / total;
        let mut points: Vec<(f32, f64)> = vec![(score_of(0), rate(0))];
        let steps = (total.log10() * 10.0).ceil() as usize;
        let mut i = 0usize;
        for k in 1..=steps {
            let target = 10f64.powf(-(k as f64) / 10.0);
            while i < BINS && rate(i) > target {
                i += 1;
            }
            if i >= BINS || at_or_above[i] == 0 {
                break;
            }
            if points.last().is_some_and(|p| score_of(i) > p.0) {
                points.push((score_of(i), rate(i)));
            }
        }
        // The first score above every non-mated comparison.
        if let Some(end) = (0..BINS).find(|&j| at_or_above[j] == 0) {
            if points.last().is_some_and(|p| score_of(end) > p.0) {
                points.push((score_of(end), 0.0));
            }
        }
        ScoreCalibration {
            comparisons: self.total,
            points,
        }
    }
}

/// An operating point read from the non-mated comparisons ([`NonMatedCounts::threshold_at`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonMatedThreshold {
    bin: usize,
    /// The threshold score (the lower edge of its histogram bin).
    pub score: f32,
    /// The share of non-mated comparisons at or above it.
    pub rate: f64,
    pub comparisons: u64,
}

impl NonMatedThreshold {
    /// Whether `score` reaches the threshold, at the histogram's resolution.
    pub fn accepts(&self, score: f32) -> bool {
        score.is_finite() && bin_of(score) >= self.bin
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

/// `n` with its thousands separated by commas ("11,944,958").
pub fn group_thousands(n: u64) -> String {
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
        // Non-mated scores spread evenly from -0.4 to 0.6.
        for i in 0..100_000u32 {
            let u = (i as f32 + 0.5) / 100_000.0;
            let z = (u - 0.5) * 1.0;
            c.add(0.1 + z);
        }
        c.calibration()
    }

    #[test]
    fn fr_23_threshold_at_far_admits_at_most_that_share_of_non_mates() {
        let mut c = NonMatedCounts::default();
        // 10,000 non-mated scores, 0.0001 apart from 0.0 to 0.9999.
        for i in 0..10_000u32 {
            c.add(i as f32 / 10_000.0 + 0.00005);
        }
        let t = c.threshold_at(0.001).expect("counted");
        assert_eq!(t.comparisons, 10_000);
        assert!(t.rate <= 0.001, "{t:?}");
        // Exactly the ten highest are at or above it.
        assert!((t.rate - 0.001).abs() < 1e-12, "{t:?}");
        assert!(
            t.accepts(0.99995) && t.accepts(0.99905) && !t.accepts(0.99895),
            "{t:?}"
        );
        // Nothing may pass: the threshold lies above every score.
        let none = c.threshold_at(0.0).expect("counted");
        assert_eq!(none.rate, 0.0);
        assert!(!none.accepts(0.99995) && none.accepts(1.0), "{none:?}");
        assert!(NonMatedCounts::default().threshold_at(0.001).is_none());
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
        let m = cal.points.len() - 2;
        cal.points[m].1 = 1.0;
        assert!(cal.validate().is_err());
    }

    #[test]
    fn fr_08_table_is_dense_where_the_rate_falls_even_in_a_narrow_score_range() {
        // Non-mated scores crowded between 0.90 and 0.95, as a network's can be.
        let mut c = NonMatedCounts::default();
        for i in 0..1_000_000u32 {
            c.add(0.90 + 0.05 * (i as f32 / 1_000_000.0).powi(3));
        }
        let cal = c.calibration();
        cal.validate().expect("valid table");
        let inside = cal
            .points
            .iter()
            .filter(|p| p.0 > 0.90 && p.0 < 0.951)
            .count();
        assert!(inside >= 20, "{:?}", cal.points);
        // A score past every comparison is below one in a million, as an upper bound.
        let top = cal.false_match_rate(0.99);
        assert!(
            top.upper_bound && (top.rate - 1e-6).abs() < 1e-12,
            "{top:?}"
        );
        // Rates inside the range differ from one score to the next.
        let (a, b) = (cal.false_match_rate(0.93), cal.false_match_rate(0.94));
        assert!(a.rate > b.rate * 1.5, "{a:?} {b:?}");
    }
}
