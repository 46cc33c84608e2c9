//! Whether a decoded frame's calibration describes a radiometric measurement.
//!
//! Some cameras write a FLIR record (raw counts plus Planck constants) without
//! measuring temperature: the non-radiometric FLIR Vue and Vue Pro bodies fill
//! the calibration with placeholder constants, and converting their counts
//! gives plausible-looking but meaningless temperatures. The verdict is made
//! once, when a frame is decoded, from three tests (README, "Radiometric
//! trust"):
//!
//! 1. the camera model is on the list of FLIR models known not to measure
//!    temperature ([`NON_RADIOMETRIC_MODELS`]);
//! 2. a Planck constant lies outside the band every radiometric FLIR
//!    calibration falls in ([`PLAUSIBLE_PLANCK`]);
//! 3. the frame's raw range converts to temperatures outside the camera's own
//!    stated measurement range (CameraTemperatureRangeMin/Max) by more than
//!    [`STATED_RANGE_MARGIN_C`], or to no temperature at all.
//!
//! A non-radiometric frame is decoded for viewing only: its raw counts render
//! on a relative scale and detection works on relative intensity, but
//! [`crate::ThermalImage::temperatures`] refuses it.

use crate::calibration::{Calibration, Converter, RadiometricParams};
use crate::frame::CameraIdentity;

/// Verdict on a decoded frame: may its counts be reported as temperatures?
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Radiometry {
    /// The calibration describes a measurement; temperatures are available.
    Radiometric,
    /// Viewing only: temperatures are unavailable, for the reason given.
    NotRadiometric { reason: String },
}

impl Radiometry {
    /// The words every surface shows for a non-radiometric frame.
    pub const UNAVAILABLE: &'static str = "not radiometric: temperatures unavailable";

    pub fn is_radiometric(&self) -> bool {
        matches!(self, Radiometry::Radiometric)
    }

    /// The reason temperatures are unavailable, if they are.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Radiometry::Radiometric => None,
            Radiometry::NotRadiometric { reason } => Some(reason),
        }
    }
}

impl std::fmt::Display for Radiometry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Radiometry::Radiometric => f.write_str("radiometric"),
            Radiometry::NotRadiometric { reason } => {
                write!(f, "{} ({reason})", Self::UNAVAILABLE)
            }
        }
    }
}

/// FLIR camera families that write a FLIR record but do not measure
/// temperature. A model matches when, after dropping a leading "FLIR", its
/// first word is the family name and no word is "R" and none ends in "-R"
/// (the radiometric variants: "Vue Pro R 640", "Vue TZ20-R").
pub const NON_RADIOMETRIC_MODELS: &[&str] = &["Vue", "Vue Pro"];

/// Bands of the Planck constants of radiometric FLIR calibrations:
/// (name, lowest, highest). B and F are the bands the ExifTool FLIR forum
/// documents for the conversion (B 1300–1600, F 0.5–2); O is a negative
/// offset there too. R1/R2 is the gain of the conversion; the sample cameras
/// range from 3.6e5 (Duo Pro R: R1 364058, R2 1) to 1.45e6 (FLIR One), and
/// the band is that widened about threefold on each side.
pub const PLAUSIBLE_PLANCK: &[(&str, f64, f64)] = &[
    ("PlanckB", 1300.0, 1600.0),
    ("PlanckF", 0.5, 2.0),
    ("PlanckO", -65535.0, -1.0),
    ("PlanckR1/PlanckR2", 1.0e5, 5.0e6),
];

/// How far (°C) the frame's temperatures may lie beyond the camera's stated
/// measurement range: real scenes exceed it (sky, sun, low emissivity
/// settings), and the camera's clip limits lie 10–35 °C beyond it.
pub const STATED_RANGE_MARGIN_C: f64 = 100.0;

fn model_is_non_radiometric(model: &str) -> Option<&'static str> {
    let words: Vec<String> = model
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let words = match words.first().map(String::as_str) {
        Some("flir") => &words[1..],
        _ => &words[..],
    };
    if words.iter().any(|w| w == "r" || w.ends_with("-r")) {
        return None;
    }
    // The longest family name that prefixes the model decides.
    NON_RADIOMETRIC_MODELS
        .iter()
        .filter(|family| {
            let fam: Vec<String> = family
                .split_whitespace()
                .map(|w| w.to_ascii_lowercase())
                .collect();
            words.len() >= fam.len() && words[..fam.len()] == fam[..]
        })
        .max_by_key(|family| family.len())
        .copied()
}

fn implausible_planck(p: &RadiometricParams) -> Option<String> {
    let gain = p.planck_r1 / p.planck_r2;
    for &(name, lo, hi) in PLAUSIBLE_PLANCK {
        let v = match name {
            "PlanckB" => p.planck_b,
            "PlanckF" => p.planck_f,
            "PlanckO" => p.planck_o,
            _ => gain,
        };
        if !(v >= lo && v <= hi) {
            return Some(format!(
                "calibration constant {name} = {v} is outside {lo} to {hi}, the band of radiometric FLIR calibrations (placeholder constants)"
            ));
        }
    }
    None
}

fn outside_stated_range(cal: &Calibration, raw: &[u16], stated: (f64, f64)) -> Option<String> {
    let (lo, hi) = crate::calibration::raw_range(raw)?;
    let conv = Converter::new(cal).ok()?;
    let (t_lo, t_hi) = (conv.celsius(lo), conv.celsius(hi));
    let (min_c, max_c) = (
        stated.0 - STATED_RANGE_MARGIN_C,
        stated.1 + STATED_RANGE_MARGIN_C,
    );
    let inside = |t: f64| t.is_finite() && t >= min_c && t <= max_c;
    if inside(t_lo) && inside(t_hi) {
        return None;
    }
    Some(format!(
        "the raw range {lo}..{hi} converts to {t_lo:.1}..{t_hi:.1} °C, outside the camera's stated range {:.1}..{:.1} °C by more than {STATED_RANGE_MARGIN_C} °C",
        stated.0, stated.1
    ))
}

/// The verdict for a frame: its calibration, who made it, the measurement
/// range the camera states (°C, when recorded) and its raw counts.
pub(crate) fn assess(
    calibration: &Calibration,
    camera: &CameraIdentity,
    stated_range_c: Option<(f64, f64)>,
    raw: &[u16],
) -> Radiometry {
    let not = |reason: String| Radiometry::NotRadiometric { reason };
    if let Some(family) = camera.model.as_deref().and_then(model_is_non_radiometric) {
        return not(format!(
            "the camera model {:?} is a FLIR {family}, which does not measure temperature",
            camera.model.as_deref().unwrap_or_default()
        ));
    }
    if let Calibration::Planck(p) = calibration {
        if let Some(reason) = implausible_planck(p) {
            return not(reason);
        }
    }
    if let Some(stated) = stated_range_c.filter(|(a, b)| a.is_finite() && b.is_finite() && a < b) {
        if let Some(reason) = outside_stated_range(calibration, raw, stated) {
            return not(reason);
        }
    }
    Radiometry::Radiometric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn th_02_model_list_matches_non_radiometric_vue_bodies_only() {
        for m in ["FLIR Vue Pro 640", "Vue Pro", "vue 336", "FLIR Vue"] {
            assert!(model_is_non_radiometric(m).is_some(), "{m}");
        }
        for m in [
            "FLIR Vue Pro R 640",
            "Vue Pro R",
            "Vue TZ20-R",
            "Duo Pro R",
            "FLIR T640",
            "FLIR AX8",
            "",
        ] {
            assert!(model_is_non_radiometric(m).is_none(), "{m}");
        }
        assert_eq!(
            model_is_non_radiometric("FLIR Vue Pro 336"),
            Some("Vue Pro")
        );
    }

    #[test]
    fn th_02_placeholder_planck_constants_are_not_radiometric() {
        let ones = RadiometricParams::from_planck(1.0, 1.0, 1.0, 1.0, 0.0);
        assert!(implausible_planck(&ones).is_some());
        let t640 = RadiometricParams::from_planck(15848.854, 0.014533112, 1414.9, 1.0, -4405.0);
        assert!(implausible_planck(&t640).is_none());
        let duo = RadiometricParams::from_planck(364058.0, 1.0, 1428.0, 1.0, -228.0);
        assert!(implausible_planck(&duo).is_none());
    }
}
