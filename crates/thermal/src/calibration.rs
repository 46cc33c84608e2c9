//! Calibrations: raw sensor counts to degrees Celsius.
//!
//! FLIR cameras store Planck constants (R1, R2, B, F, O) and the object
//! parameters (emissivity, reflected apparent temperature, atmosphere, IR
//! window). The conversion is the standard radiometric chain used by ExifTool's
//! documentation and flyr: the raw signal is corrected for atmospheric and IR
//! window transmission, the radiation reflected by the object and emitted by
//! the atmosphere and window are subtracted, and the remaining object signal is
//! inverted through Planck's law. Streaming cameras that report linear counts
//! use [`Calibration::Linear`] instead.

use crate::error::{Result, ThermalError};

const KELVIN: f64 = 273.15;

/// Planck constants and object parameters of a radiometric frame, as stored by
/// the camera. Temperatures are in degrees Celsius, distance in metres and
/// relative humidity as a fraction (0.5 = 50 %).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiometricParams {
    pub planck_r1: f64,
    pub planck_r2: f64,
    pub planck_b: f64,
    pub planck_f: f64,
    pub planck_o: f64,
    pub emissivity: f64,
    pub object_distance_m: f64,
    pub reflected_apparent_temperature_c: f64,
    pub atmospheric_temperature_c: f64,
    pub ir_window_temperature_c: f64,
    pub ir_window_transmission: f64,
    pub relative_humidity: f64,
    pub atmospheric_trans_alpha1: f64,
    pub atmospheric_trans_alpha2: f64,
    pub atmospheric_trans_beta1: f64,
    pub atmospheric_trans_beta2: f64,
    pub atmospheric_trans_x: f64,
}

impl RadiometricParams {
    /// Planck constants with neutral object parameters: emissivity 1, no
    /// distance, IR window fully transparent, 20 °C surroundings and the FLIR
    /// default atmospheric constants. For streaming cameras whose Planck
    /// constants are known but that send no object parameters.
    pub fn from_planck(r1: f64, r2: f64, b: f64, f: f64, o: f64) -> Self {
        Self {
            planck_r1: r1,
            planck_r2: r2,
            planck_b: b,
            planck_f: f,
            planck_o: o,
            emissivity: 1.0,
            object_distance_m: 0.0,
            reflected_apparent_temperature_c: 20.0,
            atmospheric_temperature_c: 20.0,
            ir_window_temperature_c: 20.0,
            ir_window_transmission: 1.0,
            relative_humidity: 0.5,
            atmospheric_trans_alpha1: 0.006569,
            atmospheric_trans_alpha2: 0.012620,
            atmospheric_trans_beta1: -0.002276,
            atmospheric_trans_beta2: -0.006670,
            atmospheric_trans_x: 1.9,
        }
    }

    /// Refuses zero, negative, NaN and infinite constants with the name of the
    /// offending constant.
    pub fn validate(&self) -> Result<()> {
        fn finite(name: &'static str, v: f64) -> Result<()> {
            if v.is_finite() {
                Ok(())
            } else {
                Err(ThermalError::BadConstant {
                    name,
                    value: v,
                    expected: "must be a finite number",
                })
            }
        }
        fn positive(name: &'static str, v: f64) -> Result<()> {
            finite(name, v)?;
            if v > 0.0 {
                Ok(())
            } else {
                Err(ThermalError::BadConstant {
                    name,
                    value: v,
                    expected: "must be greater than zero",
                })
            }
        }
        fn range(
            name: &'static str,
            v: f64,
            lo: f64,
            hi: f64,
            expected: &'static str,
        ) -> Result<()> {
            finite(name, v)?;
            if v >= lo && v <= hi {
                Ok(())
            } else {
                Err(ThermalError::BadConstant {
                    name,
                    value: v,
                    expected,
                })
            }
        }
        positive("PlanckR1", self.planck_r1)?;
        positive("PlanckR2", self.planck_r2)?;
        positive("PlanckB", self.planck_b)?;
        range(
            "PlanckF",
            self.planck_f,
            0.0,
            1000.0,
            "must be between 0 and 1000",
        )?;
        range(
            "PlanckO",
            self.planck_o,
            -1.0e6,
            1.0e6,
            "must be between -1e6 and 1e6",
        )?;
        range(
            "Emissivity",
            self.emissivity,
            0.001,
            1.0,
            "must be greater than 0 and at most 1",
        )?;
        range(
            "ObjectDistance",
            self.object_distance_m,
            0.0,
            1.0e5,
            "must be between 0 and 100 km",
        )?;
        for (name, t) in [
            (
                "ReflectedApparentTemperature",
                self.reflected_apparent_temperature_c,
            ),
            ("AtmosphericTemperature", self.atmospheric_temperature_c),
            ("IRWindowTemperature", self.ir_window_temperature_c),
        ] {
            range(name, t, -273.0, 2000.0, "must be between -273 and 2000 °C")?;
        }
        range(
            "IRWindowTransmission",
            self.ir_window_transmission,
            0.001,
            1.0,
            "must be greater than 0 and at most 1",
        )?;
        range(
            "RelativeHumidity",
            self.relative_humidity,
            0.0,
            1.0,
            "must be a fraction between 0 and 1",
        )?;
        finite("AtmosphericTransAlpha1", self.atmospheric_trans_alpha1)?;
        finite("AtmosphericTransAlpha2", self.atmospheric_trans_alpha2)?;
        finite("AtmosphericTransBeta1", self.atmospheric_trans_beta1)?;
        finite("AtmosphericTransBeta2", self.atmospheric_trans_beta2)?;
        finite("AtmosphericTransX", self.atmospheric_trans_x)?;
        Ok(())
    }

    /// Atmospheric transmission for the object distance and humidity.
    pub fn atmospheric_transmission(&self) -> f64 {
        let t = self.atmospheric_temperature_c;
        let water = self.relative_humidity
            * (1.5587 + 0.06939 * t - 0.00027816 * t * t + 0.00000068455 * t * t * t).exp();
        let d = -(self.object_distance_m / 2.0).sqrt();
        let sw = water.sqrt();
        let a1 = (d * (self.atmospheric_trans_alpha1 + self.atmospheric_trans_beta1 * sw)).exp();
        let a2 = (d * (self.atmospheric_trans_alpha2 + self.atmospheric_trans_beta2 * sw)).exp();
        let x = self.atmospheric_trans_x;
        x * a1 + (1.0 - x) * a2
    }

    fn planck_raw(&self, t_c: f64) -> f64 {
        let t = t_c + KELVIN;
        self.planck_r1 / (self.planck_r2 * ((self.planck_b / t).exp() - self.planck_f))
            - self.planck_o
    }

    /// Precomputes the raw-independent part of the conversion.
    fn prepare(&self) -> Result<PlanckPrepared> {
        self.validate()?;
        let e = self.emissivity;
        let tau = self.atmospheric_transmission();
        if !(tau.is_finite() && tau > 0.0) {
            return Err(ThermalError::BadConstant {
                name: "AtmosphericTransmission",
                value: tau,
                expected:
                    "the atmospheric constants, distance and humidity give no positive transmission",
            });
        }
        let iwt = self.ir_window_transmission;
        let emiss_wind = 1.0 - iwt;
        let raw_refl = self.planck_raw(self.reflected_apparent_temperature_c);
        let raw_atm = self.planck_raw(self.atmospheric_temperature_c);
        let raw_wind = self.planck_raw(self.ir_window_temperature_c);
        let term3 = e * tau * iwt;
        // Same terms as the reference chain: reflected object radiation,
        // atmosphere before and after the window, window emission.
        let refl1 = (1.0 - e) / e * raw_refl;
        let atm1 = (1.0 - tau) / e / tau * raw_atm;
        let wind = emiss_wind / term3 * raw_wind;
        let atm2 = (1.0 - tau) / term3 / tau * raw_atm;
        let subtraction = atm1 + atm2 + wind + refl1;
        let divisor = e * tau * iwt * tau;
        if !(subtraction.is_finite() && divisor.is_finite() && divisor > 0.0) {
            return Err(ThermalError::BadConstant {
                name: "PlanckR1/PlanckR2/PlanckB",
                value: subtraction,
                expected: "the constants give no finite radiance for the surroundings",
            });
        }
        Ok(PlanckPrepared {
            r1: self.planck_r1,
            r2: self.planck_r2,
            b: self.planck_b,
            f: self.planck_f,
            o: self.planck_o,
            divisor,
            subtraction,
        })
    }

    /// Degrees Celsius for one raw value (NaN where the raw value lies outside
    /// the calibrated range, e.g. below the camera's offset).
    pub fn raw_to_celsius(&self, raw: f64) -> Result<f64> {
        Ok(self.prepare()?.celsius(raw))
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanckPrepared {
    r1: f64,
    r2: f64,
    b: f64,
    f: f64,
    o: f64,
    divisor: f64,
    subtraction: f64,
}

impl PlanckPrepared {
    #[inline]
    fn celsius(&self, raw: f64) -> f64 {
        let obj = raw / self.divisor - self.subtraction;
        let k = self.b / (self.r1 / (self.r2 * (obj + self.o)) + self.f).ln();
        k - KELVIN
    }
}

/// How raw 16-bit counts become temperatures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Calibration {
    /// `°C = raw × scale + offset` (e.g. scale 0.04, offset -273.15 for
    /// cameras that report centikelvin/25).
    Linear { scale: f64, offset: f64 },
    /// FLIR-style Planck calibration with object parameters.
    Planck(RadiometricParams),
}

impl Calibration {
    /// The common "0.04 K per count" radiometric TIFF convention.
    pub const FORTY_MILLIKELVIN: Calibration = Calibration::Linear {
        scale: 0.04,
        offset: -KELVIN,
    };

    /// Refuses absurd constants.
    pub fn validate(&self) -> Result<()> {
        match self {
            Calibration::Linear { scale, offset } => {
                if !scale.is_finite() || *scale == 0.0 {
                    return Err(ThermalError::BadConstant {
                        name: "scale",
                        value: *scale,
                        expected: "must be a finite, non-zero number of kelvin per count",
                    });
                }
                if !offset.is_finite() {
                    return Err(ThermalError::BadConstant {
                        name: "offset",
                        value: *offset,
                        expected: "must be a finite number of degrees",
                    });
                }
                Ok(())
            }
            Calibration::Planck(p) => p.validate(),
        }
    }

    /// Degrees Celsius of a single raw value.
    pub fn raw_to_celsius(&self, raw: u16) -> Result<f64> {
        Ok(Converter::new(self)?.celsius(raw))
    }
}

/// A validated calibration ready to convert many values.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Converter {
    Linear { scale: f64, offset: f64 },
    Planck(PlanckPrepared),
}

impl Converter {
    pub fn new(c: &Calibration) -> Result<Self> {
        c.validate()?;
        Ok(match c {
            Calibration::Linear { scale, offset } => Converter::Linear {
                scale: *scale,
                offset: *offset,
            },
            Calibration::Planck(p) => Converter::Planck(p.prepare()?),
        })
    }

    #[inline]
    pub fn celsius(&self, raw: u16) -> f64 {
        match self {
            Converter::Linear { scale, offset } => f64::from(raw) * scale + offset,
            Converter::Planck(p) => p.celsius(f64::from(raw)),
        }
    }

    /// Converts a whole frame. A linear calibration is applied per pixel (a
    /// multiply-add that vectorises); a Planck calibration goes through a
    /// lookup table spanning the frame's raw range, evaluated with
    /// [`Converter::celsius`] itself, so that each pixel gets the bit-identical
    /// value at the cost of one Planck inversion per raw level in the range
    /// instead of per pixel.
    ///
    /// Returns the minimum and maximum temperature of the frame when they
    /// follow from the raw range alone: every value in the range converts to
    /// a finite temperature and the conversion is monotonic over it (checked
    /// on the lookup table itself), so the extremes are the temperatures of
    /// the lowest and highest raw value present. `None` when that does not
    /// hold; callers then scan the temperatures.
    pub fn convert_frame(&self, raw: &[u16], out: &mut Vec<f32>) -> Option<(f32, f32)> {
        out.clear();
        out.reserve(raw.len());
        let planck = match self {
            Converter::Linear { scale, offset } => {
                let (scale, offset) = (*scale, *offset);
                let conv = |r: u16| (f64::from(r) * scale + offset) as f32;
                out.extend(raw.iter().map(|&r| conv(r)));
                // Rounding is monotonic, so the conversion is too.
                let (lo, hi) = raw_range(raw)?;
                let (a, b) = (conv(lo), conv(hi));
                let range = if a <= b { (a, b) } else { (b, a) };
                return (range.0.is_finite() && range.1.is_finite()).then_some(range);
            }
            Converter::Planck(p) => p,
        };
        let (lo, hi) = raw_range(raw)?;
        let span = usize::from(hi - lo) + 1;
        if span > raw.len() {
            // Fewer pixels than levels: convert directly.
            out.extend(raw.iter().map(|&r| planck.celsius(f64::from(r)) as f32));
            return None;
        }
        // The table is indexed by the raw value itself (no subtraction, and no
        // bounds check since a u16 always indexes 65,536 entries); only the
        // entries lo..=hi are evaluated, the others stay zero and are never read.
        let mut lut: Box<[f32; 65536]> = vec![0f32; 65536].into_boxed_slice().try_into().ok()?;
        let table = &mut lut[usize::from(lo)..=usize::from(hi)];
        for (r, t) in (lo..=hi).zip(table.iter_mut()) {
            *t = planck.celsius(f64::from(r)) as f32;
        }
        let range = monotonic_range(table);
        out.extend(raw.iter().map(|&r| lut[usize::from(r)]));
        range
    }
}

/// (first, last) or (last, first) of a table whose values are all finite and
/// non-decreasing or non-increasing; `None` otherwise.
fn monotonic_range(table: &[f32]) -> Option<(f32, f32)> {
    let (&first, &last) = (table.first()?, table.last()?);
    if !table.iter().all(|t| t.is_finite()) {
        return None;
    }
    if table.windows(2).all(|w| w[0] <= w[1]) {
        Some((first, last))
    } else if table.windows(2).all(|w| w[0] >= w[1]) {
        Some((last, first))
    } else {
        None
    }
}

pub(crate) fn raw_range(raw: &[u16]) -> Option<(u16, u16)> {
    let first = *raw.first()?;
    let (mut lo, mut hi) = (first, first);
    for &r in raw {
        lo = lo.min(r);
        hi = hi.max(r);
    }
    Some((lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RadiometricParams {
        RadiometricParams::from_planck(17837.531, 0.012332781, 1450.4, 1.0, -1143.0)
    }

    #[test]
    fn th_02_planck_roundtrip_at_unit_emissivity() {
        // With emissivity 1, no distance and a transparent window the object
        // signal is the raw signal: converting the raw value of a blackbody at
        // 30 °C must give 30 °C back.
        let p = params();
        let raw = p.planck_raw(30.0);
        let t = p.raw_to_celsius(raw).unwrap();
        assert!((t - 30.0).abs() < 1e-9, "{t}");
    }

    #[test]
    fn th_02_absurd_constants_are_refused() {
        for bad in [0.0, f64::NAN, f64::INFINITY, -5.0] {
            let mut p = params();
            p.planck_r1 = bad;
            let e = Calibration::Planck(p).validate().unwrap_err();
            assert!(e.to_string().contains("PlanckR1"), "{e}");
            let mut p = params();
            p.planck_b = bad;
            assert!(Calibration::Planck(p).validate().is_err());
        }
        let mut p = params();
        p.emissivity = 0.0;
        assert!(p.validate().unwrap_err().to_string().contains("Emissivity"));
        assert!(Calibration::Linear {
            scale: 0.0,
            offset: -273.15
        }
        .validate()
        .is_err());
        assert!(Calibration::Linear {
            scale: f64::NAN,
            offset: 0.0
        }
        .validate()
        .is_err());
    }

    #[test]
    fn th_02_linear_forty_millikelvin() {
        let t = Calibration::FORTY_MILLIKELVIN.raw_to_celsius(7500).unwrap();
        assert!((t - 26.85).abs() < 1e-9);
    }

    #[test]
    fn th_02_lookup_table_equals_direct_conversion() {
        let c = Converter::new(&Calibration::Planck(params())).unwrap();
        let raw: Vec<u16> = (0..5000u16).map(|i| 15000 + (i * 7) % 3000).collect();
        let mut out = Vec::new();
        let range = c.convert_frame(&raw, &mut out);
        for (r, t) in raw.iter().zip(&out) {
            assert_eq!(*t, c.celsius(*r) as f32);
        }
        // The range reported from the table is the frame's exact extremes.
        let min = out.iter().copied().fold(f32::INFINITY, f32::min);
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        assert_eq!(range, Some((min, max)));
        // Raw values below the calibrated range convert to NaN: no range.
        let mut low = raw.clone();
        low[17] = 0;
        c.convert_frame(&low, &mut out);
        assert!(out[17].is_nan());
        let mut p = params();
        p.planck_o = -3000.0;
        let c = Converter::new(&Calibration::Planck(p)).unwrap();
        let mut low: Vec<u16> = (0..5000u16).collect();
        low[0] = 0;
        assert_eq!(c.convert_frame(&low, &mut out), None);
        assert!(out[0].is_nan());
        // Linear: the ends of the raw range, in temperature order.
        let lin = Converter::new(&Calibration::Linear {
            scale: -0.5,
            offset: 10.0,
        })
        .unwrap();
        assert_eq!(lin.convert_frame(&[4, 2, 8], &mut out), Some((6.0, 9.0)));
    }
}
