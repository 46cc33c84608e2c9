//! Algorithm governance (FR-23): the figures of an evaluation record and the gate an algorithm's
//! evaluation must pass before it may be activated.
//!
//! The gate's limits are policy data (the facial recognition pack's `[algorithm_gate]`); the rule
//! that applies them lives here, once. Figures are fractions (0.9863 = 98.63 %). Demographic
//! groups appear only as aggregate figures (FR-24).

use serde::{Deserialize, Serialize};

use crate::eval::EvaluationRecord;

/// The rule every refusal names.
pub const RULE: &str = "FR-23";

/// The false accept rate at which `probity eval` reports the true accept rate.
pub const EVAL_FAR: f64 = 0.001;
/// The false positive identification rate at which `probity eval` reports the FNIR.
pub const EVAL_FPIR: f64 = 0.003;

/// Overall figures of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Figures {
    /// Verification accuracy (LFW protocol: mean over the folds).
    pub verification_accuracy: f64,
    /// True accept rate at the false accept rate `far`.
    #[serde(default)]
    pub tar_at_far: Option<f64>,
    #[serde(default)]
    pub far: Option<f64>,
    /// Rank-1 identification rate (1:N).
    #[serde(default)]
    pub rank1: Option<f64>,
    /// False negative identification rate at the false positive identification rate `fpir`.
    #[serde(default)]
    pub fnir_at_fpir: Option<f64>,
    #[serde(default)]
    pub fpir: Option<f64>,
}

/// The figures of one demographic group (aggregate audit only, FR-24).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupFigures {
    pub group: String,
    pub verification_accuracy: f64,
    #[serde(default)]
    pub tar_at_far: Option<f64>,
    #[serde(default)]
    pub rank1: Option<f64>,
    #[serde(default)]
    pub fnir_at_fpir: Option<f64>,
    #[serde(default)]
    pub false_match_rate: Option<f64>,
    #[serde(default)]
    pub false_non_match_rate: Option<f64>,
    /// Verification pairs behind the group's accuracy.
    #[serde(default)]
    pub pairs: Option<u64>,
    /// Identification probes behind the group's rank-1.
    #[serde(default)]
    pub probes: Option<u64>,
}

/// An evaluation as governance reads it: overall figures and the same per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub figures: Figures,
    #[serde(default)]
    pub groups: Vec<GroupFigures>,
}

impl Evaluation {
    /// The figures of a record written by `probity eval`.
    pub fn from_record(r: &EvaluationRecord) -> Self {
        Self {
            figures: Figures {
                verification_accuracy: r.verification.accuracy_mean,
                tar_at_far: Some(r.verification.tar_at_far_0_001),
                far: Some(EVAL_FAR),
                rank1: Some(r.identification.rank1),
                fnir_at_fpir: Some(r.identification.fnir_at_fpir_0_003),
                fpir: Some(EVAL_FPIR),
            },
            groups: r
                .groups
                .iter()
                .map(|g| GroupFigures {
                    group: g.group.clone(),
                    verification_accuracy: g.accuracy,
                    tar_at_far: None,
                    rank1: (g.identification_probes > 0).then_some(g.rank1),
                    fnir_at_fpir: None,
                    false_match_rate: Some(g.false_match_rate),
                    false_non_match_rate: Some(g.false_non_match_rate),
                    pairs: Some(g.pairs as u64),
                    probes: Some(g.identification_probes as u64),
                })
                .collect(),
        }
    }

    /// Checks every figure is a fraction and every group is named once. Returns each problem
    /// as (field, reason).
    pub fn validate(&self) -> Result<(), Vec<(String, String)>> {
        let mut bad = Vec::new();
        let mut frac = |field: String, v: Option<f64>| {
            if let Some(x) = v {
                if !x.is_finite() || !(0.0..=1.0).contains(&x) {
                    bad.push((
                        field,
                        format!("{x} is not a fraction between 0 and 1 (98.6 % is 0.986)"),
                    ));
                }
            }
        };
        let f = &self.figures;
        frac(
            "verification_accuracy".into(),
            Some(f.verification_accuracy),
        );
        frac("tar_at_far".into(), f.tar_at_far);
        frac("far".into(), f.far);
        frac("rank1".into(), f.rank1);
        frac("fnir_at_fpir".into(), f.fnir_at_fpir);
        frac("fpir".into(), f.fpir);
        for (i, g) in self.groups.iter().enumerate() {
            let at = |name: &str| format!("groups[{i}].{name}");
            frac(at("verification_accuracy"), Some(g.verification_accuracy));
            frac(at("tar_at_far"), g.tar_at_far);
            frac(at("rank1"), g.rank1);
            frac(at("fnir_at_fpir"), g.fnir_at_fpir);
            frac(at("false_match_rate"), g.false_match_rate);
            frac(at("false_non_match_rate"), g.false_non_match_rate);
        }
        if f.tar_at_far.is_some() != f.far.is_some() {
            bad.push((
                "far".into(),
                "give the true accept rate together with the false accept rate it was measured at"
                    .into(),
            ));
        }
        if f.fnir_at_fpir.is_some() != f.fpir.is_some() {
            bad.push((
                "fpir".into(),
                "give the FNIR together with the FPIR it was measured at".into(),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            if g.group.trim().is_empty() {
                bad.push((format!("groups[{i}].group"), "the group has no name".into()));
            } else if !seen.insert(g.group.trim().to_string()) {
                bad.push((
                    format!("groups[{i}].group"),
                    format!("group '{}' is listed twice", g.group),
                ));
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(bad)
        }
    }

    /// The largest difference of verification accuracy between two groups; `None` with fewer
    /// than two groups (no labels, nothing to compare).
    pub fn group_differential(&self) -> Option<f64> {
        if self.groups.len() < 2 {
            return None;
        }
        let acc = self.groups.iter().map(|g| g.verification_accuracy);
        let max = acc.clone().fold(f64::MIN, f64::max);
        let min = acc.fold(f64::MAX, f64::min);
        Some(max - min)
    }
}

/// The limits an evaluation must meet before its algorithm may be activated (the pack's
/// `[algorithm_gate]`). A limit left out is not checked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Gate {
    pub min_verification_accuracy: Option<f64>,
    pub min_tar_at_far: Option<f64>,
    pub min_rank1: Option<f64>,
    pub max_fnir_at_fpir: Option<f64>,
    /// Largest allowed difference of verification accuracy between demographic groups.
    pub max_group_differential: Option<f64>,
    /// Refuse an evaluation without per-group figures (at least two groups).
    pub require_groups: bool,
}

/// One limit an evaluation does not meet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateFailure {
    /// The figure (`verification_accuracy`, `rank1`, `group_differential`, …).
    pub figure: &'static str,
    /// Its value in the evaluation (`None`: the evaluation does not give it).
    pub value: Option<f64>,
    pub limit: f64,
    /// `FR-23: …`, naming the figure and the limit.
    pub message: String,
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

impl Gate {
    /// Every limit `e` fails (empty: the gate is met).
    pub fn check(&self, e: &Evaluation) -> Vec<GateFailure> {
        let mut out = Vec::new();
        let f = &e.figures;
        let mut at_least = |figure: &'static str, label: &str, value: Option<f64>, min| {
            if let Some(limit) = min {
                match value {
                    Some(v) if v >= limit => {}
                    Some(v) => out.push(GateFailure {
                        figure,
                        value: Some(v),
                        limit,
                        message: format!(
                            "{RULE}: {label} {} is below the pack's minimum {}",
                            pct(v),
                            pct(limit)
                        ),
                    }),
                    None => out.push(GateFailure {
                        figure,
                        value: None,
                        limit,
                        message: format!(
                            "{RULE}: the evaluation gives no {label}; the pack requires at least {}",
                            pct(limit)
                        ),
                    }),
                }
            }
        };
        at_least(
            "verification_accuracy",
            "verification accuracy",
            Some(f.verification_accuracy),
            self.min_verification_accuracy,
        );
        at_least(
            "tar_at_far",
            "true accept rate at the fixed false accept rate",
            f.tar_at_far,
            self.min_tar_at_far,
        );
        at_least(
            "rank1",
            "rank-1 identification rate",
            f.rank1,
            self.min_rank1,
        );
        if let Some(limit) = self.max_fnir_at_fpir {
            match f.fnir_at_fpir {
                Some(v) if v <= limit => {}
                Some(v) => out.push(GateFailure {
                    figure: "fnir_at_fpir",
                    value: Some(v),
                    limit,
                    message: format!(
                        "{RULE}: FNIR at the fixed FPIR {} is above the pack's maximum {}",
                        pct(v),
                        pct(limit)
                    ),
                }),
                None => out.push(GateFailure {
                    figure: "fnir_at_fpir",
                    value: None,
                    limit,
                    message: format!(
                        "{RULE}: the evaluation gives no FNIR at a fixed FPIR; the pack allows at most {}",
                        pct(limit)
                    ),
                }),
            }
        }
        let diff = e.group_differential();
        if self.require_groups && diff.is_none() {
            out.push(GateFailure {
                figure: "groups",
                value: None,
                limit: 2.0,
                message: format!(
                    "{RULE}: the evaluation gives no per-group figures (at least two demographic groups); the pack requires them"
                ),
            });
        }
        if let (Some(limit), Some(d)) = (self.max_group_differential, diff) {
            if d > limit {
                out.push(GateFailure {
                    figure: "group_differential",
                    value: Some(d),
                    limit,
                    message: format!(
                        "{RULE}: verification accuracy differs by {} points between demographic groups; the pack allows at most {}",
                        pct(d).trim_end_matches(" %"),
                        pct(limit).trim_end_matches(" %")
                    ),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate {
            min_verification_accuracy: Some(0.95),
            min_tar_at_far: None,
            min_rank1: Some(0.75),
            max_fnir_at_fpir: Some(0.90),
            max_group_differential: Some(0.05),
            require_groups: false,
        }
    }

    fn eval(acc: f64) -> Evaluation {
        Evaluation {
            figures: Figures {
                verification_accuracy: acc,
                tar_at_far: Some(0.951),
                far: Some(EVAL_FAR),
                rank1: Some(0.872),
                fnir_at_fpir: Some(0.713),
                fpir: Some(EVAL_FPIR),
            },
            groups: Vec::new(),
        }
    }

    fn group(name: &str, acc: f64) -> GroupFigures {
        GroupFigures {
            group: name.into(),
            verification_accuracy: acc,
            tar_at_far: None,
            rank1: None,
            fnir_at_fpir: None,
            false_match_rate: None,
            false_non_match_rate: None,
            pairs: Some(100),
            probes: None,
        }
    }

    #[test]
    fn fr_23_measured_dlib_figures_pass_the_gate() {
        assert!(gate().check(&eval(0.9863)).is_empty());
    }

    #[test]
    fn fr_23_low_accuracy_fails_naming_figure_and_limit() {
        let f = gate().check(&eval(0.80));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].figure, "verification_accuracy");
        assert_eq!(f[0].value, Some(0.80));
        assert_eq!(f[0].limit, 0.95);
        assert_eq!(
            f[0].message,
            "FR-23: verification accuracy 80.00 % is below the pack's minimum 95.00 %"
        );
    }

    #[test]
    fn fr_23_missing_figure_fails_when_the_gate_needs_it() {
        let mut e = eval(0.99);
        e.figures.rank1 = None;
        let f = gate().check(&e);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].figure, "rank1");
        assert!(f[0].message.contains("gives no rank-1"), "{}", f[0].message);
    }

    #[test]
    fn fr_23_fnir_above_maximum_fails() {
        let mut e = eval(0.99);
        e.figures.fnir_at_fpir = Some(0.95);
        let f = gate().check(&e);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].figure, "fnir_at_fpir");
    }

    #[test]
    fn fr_23_group_differential_over_the_limit_fails() {
        let mut e = eval(0.99);
        e.groups = vec![group("a", 0.99), group("b", 0.97), group("c", 0.92)];
        let d = e.group_differential().unwrap_or_default();
        assert!((d - 0.07).abs() < 1e-9, "{d}");
        let f = gate().check(&e);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].figure, "group_differential");
        assert!(f[0].message.contains("7.00 points"), "{}", f[0].message);
        e.groups.pop();
        assert!(gate().check(&e).is_empty());
    }

    #[test]
    fn fr_23_groups_required_when_the_pack_says_so() {
        let g = Gate {
            require_groups: true,
            ..gate()
        };
        let mut e = eval(0.99);
        e.groups = vec![group("a", 0.99)];
        assert_eq!(g.check(&e)[0].figure, "groups");
        e.groups.push(group("b", 0.98));
        assert!(g.check(&e).is_empty());
    }

    #[test]
    fn fr_23_figures_must_be_fractions_and_groups_named_once() {
        let mut e = eval(98.6);
        e.groups = vec![group("a", 0.9), group("a", 0.9), group(" ", 0.9)];
        let bad = e.validate().expect_err("invalid");
        let fields: Vec<&str> = bad.iter().map(|(f, _)| f.as_str()).collect();
        assert!(fields.contains(&"verification_accuracy"), "{bad:?}");
        assert!(fields.contains(&"groups[1].group"), "{bad:?}");
        assert!(fields.contains(&"groups[2].group"), "{bad:?}");
        assert!(eval(0.98).validate().is_ok());
    }
}
