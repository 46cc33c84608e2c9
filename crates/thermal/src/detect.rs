//! Heat-signature detection (TH-02): anomalies well above the scene's own
//! statistics and person-like warm regions, as boxes with peak and mean
//! temperature. No identity is derived from a region (TH-06): only its box
//! and temperatures.

use crate::error::{Result, ThermalError};
use crate::frame::{IntensityMap, TemperatureMap};

/// A connected region of pixels that passed a detector's test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    /// Bounding box: left, top, width, height in map pixels.
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub pixels: usize,
    pub peak_c: f32,
    pub peak_at: (u32, u32),
    pub mean_c: f32,
}

/// Parameters of [`detect_anomalies`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyParams {
    /// Threshold in standard deviations above the scene mean.
    pub k_sigma: f32,
    /// The threshold is at least this many degrees above the mean, so a
    /// nearly uniform scene does not turn noise into anomalies.
    pub min_delta_c: f32,
    /// Smallest region reported, in pixels.
    pub min_pixels: usize,
}

impl Default for AnomalyParams {
    fn default() -> Self {
        Self {
            k_sigma: 3.0,
            min_delta_c: 2.0,
            min_pixels: 4,
        }
    }
}

/// Parameters of [`detect_people`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersonParams {
    /// Surface (skin and clothing) temperature band, °C.
    pub band_c: (f32, f32),
    /// Smallest region, in pixels.
    pub min_pixels: usize,
    /// Largest region as a fraction of the frame (a warm wall is not a person).
    pub max_fraction: f32,
    /// Accepted box height/width ratio (upright to crouching or lying).
    pub aspect: (f32, f32),
}

impl Default for PersonParams {
    fn default() -> Self {
        Self {
            band_c: (28.0, 38.0),
            min_pixels: 12,
            max_fraction: 0.5,
            aspect: (0.25, 6.0),
        }
    }
}

/// Regions whose temperature exceeds `max(mean + k·sd, mean + min_delta)`,
/// hottest first.
pub fn detect_anomalies(map: &TemperatureMap, p: &AnomalyParams) -> Result<Vec<Region>> {
    if !(p.k_sigma.is_finite() && p.min_delta_c.is_finite()) {
        return Err(ThermalError::InvalidArgument(
            "anomaly parameters must be finite".into(),
        ));
    }
    let Some(s) = map.stats() else {
        return Ok(Vec::new());
    };
    let threshold = (s.mean_c + p.k_sigma * s.std_dev_c).max(s.mean_c + p.min_delta_c);
    let mut regions = components(map, |t| t > threshold, p.min_pixels.max(1));
    regions.sort_by(|a, b| b.peak_c.total_cmp(&a.peak_c));
    Ok(regions)
}

/// Warm regions within the person surface-temperature band and of a plausible
/// size and shape, largest first.
pub fn detect_people(map: &TemperatureMap, p: &PersonParams) -> Result<Vec<Region>> {
    let (lo, hi) = p.band_c;
    if !(lo.is_finite() && hi.is_finite() && lo < hi) {
        return Err(ThermalError::InvalidArgument(format!(
            "person temperature band {:?} must be two finite values, low below high",
            p.band_c
        )));
    }
    let total = map.width as usize * map.height as usize;
    let max_pixels = (total as f32 * p.max_fraction.clamp(0.0, 1.0)) as usize;
    let mut regions: Vec<Region> = components(map, |t| t >= lo && t <= hi, p.min_pixels.max(1))
        .into_iter()
        .filter(|r| r.pixels <= max_pixels)
        .filter(|r| {
            let ratio = r.height as f32 / r.width.max(1) as f32;
            ratio >= p.aspect.0 && ratio <= p.aspect.1
        })
        .collect();
    regions.sort_by_key(|r| std::cmp::Reverse(r.pixels));
    Ok(regions)
}

/// Parameters of [`detect_hot_spots_relative`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeHotSpotParams {
    /// Fraction of the frame's pixels, the brightest, that may form hot spots
    /// (0.01 = the top percentile of raw counts).
    pub top_fraction: f32,
    /// Hot-spot pixels also lie at least this far up the frame's range
    /// (0..1), so that in a frame without a hot spot the brightest texture
    /// does not become one.
    pub min_relative: f32,
    /// Smallest region reported, in pixels.
    pub min_pixels: usize,
}

impl Default for RelativeHotSpotParams {
    fn default() -> Self {
        Self {
            top_fraction: 0.01,
            min_relative: 0.5,
            min_pixels: 4,
        }
    }
}

/// A hot spot found on relative intensity: box and intensities on the
/// frame's own 0..1 scale, never temperatures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelativeRegion {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub pixels: usize,
    /// Relative intensity of the brightest pixel (0 = coldest, 1 = hottest pixel of the frame).
    pub peak_relative: f32,
    pub peak_at: (u32, u32),
    pub mean_relative: f32,
}

impl RelativeRegion {
    /// How every output of relative detection is labelled.
    pub const SCALE: &'static str =
        "relative intensity (0 = coldest, 1 = hottest pixel of the frame), not temperature";
}

/// Hot spots of a frame without temperatures (TH-02 on a non-radiometric
/// frame): connected regions among the brightest `top_fraction` of raw
/// counts that also lie in the upper part of the frame's range
/// (`min_relative`), brightest first. A frame of one uniform count has none.
pub fn detect_hot_spots_relative(
    map: &IntensityMap,
    p: &RelativeHotSpotParams,
) -> Result<Vec<RelativeRegion>> {
    if !(p.top_fraction.is_finite() && p.top_fraction > 0.0 && p.top_fraction < 1.0) {
        return Err(ThermalError::InvalidArgument(format!(
            "the hot-spot fraction {} must lie between 0 and 1",
            p.top_fraction
        )));
    }
    if !(p.min_relative.is_finite() && (0.0..=1.0).contains(&p.min_relative)) {
        return Err(ThermalError::InvalidArgument(format!(
            "the least relative intensity {} of a hot spot must lie between 0 and 1",
            p.min_relative
        )));
    }
    let (lo, hi) = map.raw_range;
    if lo == hi || map.values.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted = map.values.clone();
    sorted.sort_by(f32::total_cmp);
    let n = sorted.len();
    let k = ((n as f64 * f64::from(1.0 - p.top_fraction)) as usize).min(n - 1);
    let threshold = sorted[k].max(p.min_relative).max(f32::MIN_POSITIVE);
    let as_map = map.as_render_map();
    let mut regions: Vec<RelativeRegion> =
        components(&as_map, |v| v >= threshold, p.min_pixels.max(1))
            .into_iter()
            .map(|r| RelativeRegion {
                x: r.x,
                y: r.y,
                width: r.width,
                height: r.height,
                pixels: r.pixels,
                peak_relative: r.peak_c,
                peak_at: r.peak_at,
                mean_relative: r.mean_c,
            })
            .collect();
    regions.sort_by(|a, b| b.peak_relative.total_cmp(&a.peak_relative));
    Ok(regions)
}

/// 8-connected components of pixels satisfying `inside`.
fn components(
    map: &TemperatureMap,
    inside: impl Fn(f32) -> bool,
    min_pixels: usize,
) -> Vec<Region> {
    let (w, h) = (map.width as usize, map.height as usize);
    let t = &map.celsius;
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if seen[start] || !inside(t[start]) {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let (mut n, mut sum, mut peak, mut peak_i) = (0usize, 0f64, f32::NEG_INFINITY, start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            n += 1;
            sum += f64::from(t[i]);
            if t[i] > peak {
                peak = t[i];
                peak_i = i;
            }
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
            for dy in [-1isize, 0, 1] {
                for dx in [-1isize, 0, 1] {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && inside(t[j]) {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        if n >= min_pixels {
            out.push(Region {
                x: x0 as u32,
                y: y0 as u32,
                width: (x1 - x0 + 1) as u32,
                height: (y1 - y0 + 1) as u32,
                pixels: n,
                peak_c: peak,
                peak_at: ((peak_i % w) as u32, (peak_i / w) as u32),
                mean_c: (sum / n as f64) as f32,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20 °C scene with a 4×4 hot spot at 80 °C and a 6×14 person-like
    /// 33 °C figure.
    fn scene() -> TemperatureMap {
        let (w, h) = (64u32, 48u32);
        let mut t = vec![20.0f32; (w * h) as usize];
        for (i, v) in t.iter_mut().enumerate() {
            *v += ((i * 7919) % 13) as f32 * 0.05; // mild texture
        }
        for y in 5..9 {
            for x in 50..54 {
                t[y * 64 + x] = 80.0;
            }
        }
        t[6 * 64 + 51] = 95.0;
        for y in 20..34 {
            for x in 10..16 {
                t[y * 64 + x] = 33.0;
            }
        }
        TemperatureMap::from_celsius(w, h, t).unwrap()
    }

    #[test]
    fn th_02_anomaly_is_boxed_with_peak_and_mean() {
        let found = detect_anomalies(&scene(), &AnomalyParams::default()).unwrap();
        let hot = found[0];
        assert_eq!((hot.x, hot.y, hot.width, hot.height), (50, 5, 4, 4));
        assert_eq!(hot.peak_c, 95.0);
        assert_eq!(hot.peak_at, (51, 6));
        assert!((hot.mean_c - (15.0 * 80.0 + 95.0) / 16.0).abs() < 1e-3);
    }

    #[test]
    fn th_02_uniform_scene_has_no_anomaly() {
        let t = vec![21.0f32; 32 * 32];
        let map = TemperatureMap::from_celsius(32, 32, t).unwrap();
        assert!(detect_anomalies(&map, &AnomalyParams::default())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn th_02_person_like_region_is_found_and_hot_spot_is_not() {
        let people = detect_people(&scene(), &PersonParams::default()).unwrap();
        assert_eq!(people.len(), 1, "{people:?}");
        let p = people[0];
        assert_eq!((p.x, p.y, p.width, p.height), (10, 20, 6, 14));
        assert_eq!(p.pixels, 84);
        assert!((p.mean_c - 33.0).abs() < 1e-4);
    }

    #[test]
    fn th_02_relative_hot_spot_is_the_top_percentile_of_counts() {
        let (w, h) = (64u32, 48u32);
        let mut raw = vec![1000u16; (w * h) as usize];
        for (i, v) in raw.iter_mut().enumerate() {
            *v += ((i * 7919) % 13) as u16;
        }
        for y in 5..9 {
            for x in 50..54 {
                raw[y * 64 + x] = 3000;
            }
        }
        let map = crate::frame::relative_of(w, h, &raw);
        let found = detect_hot_spots_relative(&map, &RelativeHotSpotParams::default()).unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        let r = found[0];
        assert_eq!((r.x, r.y, r.width, r.height), (50, 5, 4, 4));
        assert_eq!(r.peak_relative, 1.0);
        let flat = crate::frame::relative_of(4, 4, &[7; 16]);
        assert!(
            detect_hot_spots_relative(&flat, &RelativeHotSpotParams::default())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn th_02_person_band_must_be_ordered() {
        let p = PersonParams {
            band_c: (38.0, 28.0),
            ..Default::default()
        };
        assert!(detect_people(&scene(), &p).is_err());
    }
}
