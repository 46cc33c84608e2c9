//! Decoded frames, their metadata and temperature maps.

use crate::calibration::{Calibration, Converter};
use crate::error::{Result, ThermalError};
use crate::radiometry::{assess, Radiometry};
use chrono::{DateTime, FixedOffset};

/// Bounds applied while decoding untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest accepted width or height, in pixels.
    pub max_dimension: u32,
    /// Largest accepted number of pixels in one frame.
    pub max_pixels: u64,
    /// Largest number of frames read from one sequence file.
    pub max_frames: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_dimension: 4096,
            max_pixels: 4096 * 4096,
            max_frames: 100_000,
        }
    }
}

impl DecodeLimits {
    pub(crate) fn check(&self, width: u64, height: u64) -> Result<()> {
        if width == 0 || height == 0 {
            return Err(ThermalError::Corrupt(format!(
                "the thermal image claims {width}x{height} pixels"
            )));
        }
        if width > u64::from(self.max_dimension) || height > u64::from(self.max_dimension) {
            return Err(ThermalError::TooLarge {
                width,
                height,
                limit: format!("{} pixels per side", self.max_dimension),
            });
        }
        if width * height > self.max_pixels {
            return Err(ThermalError::TooLarge {
                width,
                height,
                limit: format!("{} pixels", self.max_pixels),
            });
        }
        Ok(())
    }
}

/// Options for decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DecodeOptions {
    pub limits: DecodeLimits,
    /// Required for plain 16-bit frames (PGM/TIFF). For FLIR files, when set,
    /// it replaces the calibration recorded by the camera (e.g. to apply a
    /// different emissivity).
    pub calibration: Option<Calibration>,
}

/// The container a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// JPEG with FLIR APP1 segments (FLIR cameras, DJI bodies with FLIR cores).
    FlirJpeg,
    /// A bare FFF record or one record of a SEQ-style sequence.
    FlirFff,
    /// 16-bit binary PGM (P5) with a caller-given calibration.
    Pgm16,
    /// 16-bit grayscale TIFF with a caller-given calibration.
    Tiff16,
    /// Raw samples handed over by a streaming source.
    RawStream,
}

/// How the raw thermal samples were stored in a FLIR record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawEncoding {
    /// PNG with byte-swapped 16-bit samples (most FLIR handhelds).
    Png,
    /// Uncompressed 16-bit little-endian samples.
    Raw16Le,
    /// Uncompressed 16-bit big-endian samples.
    Raw16Be,
    /// Samples decoded from a PGM/TIFF/stream.
    Plain,
}

/// Who made the frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraIdentity {
    /// EXIF make (JPEG only), e.g. "FLIR Systems AB" or "DJI".
    pub make: Option<String>,
    /// Camera model from the FLIR camera record, else the EXIF model.
    pub model: Option<String>,
    pub serial: Option<String>,
    pub part_number: Option<String>,
    pub software: Option<String>,
    pub lens: Option<String>,
}

/// Raw statistics the camera recorded for its own display range.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawValueStats {
    pub range_min: u16,
    pub range_max: u16,
    pub median: u16,
    pub range: u16,
}

/// Everything about a frame except its pixels. This is what retention of
/// robot frames (TH-04, RET-10) keys on: capture time and camera serial.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMetadata {
    pub format: SourceFormat,
    pub raw_encoding: RawEncoding,
    /// Index within a sequence file (0 for single images).
    pub frame_index: usize,
    pub camera: CameraIdentity,
    /// Capture time with the camera's UTC offset, when recorded.
    pub capture_time: Option<DateTime<FixedOffset>>,
    pub raw_value_stats: Option<RawValueStats>,
}

/// A decoded radiometric frame from a file: raw counts plus calibration.
///
/// Architecture invariant (TH-06): there is no conversion from this type, nor
/// from [`TemperatureMap`], into any image type or byte buffer that a face or
/// biometric engine accepts. Its only image output is a palette rendering that
/// carries the thermal marker recognised by [`crate::is_thermal_content`].
#[derive(Clone)]
pub struct ThermalImage {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) raw: Vec<u16>,
    pub(crate) calibration: Calibration,
    pub(crate) metadata: FrameMetadata,
    /// The camera's stated measurement range in °C, when recorded.
    pub(crate) stated_range_c: Option<(f64, f64)>,
    pub(crate) radiometry: Radiometry,
}

impl std::fmt::Debug for ThermalImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThermalImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("calibration", &self.calibration)
            .field("metadata", &self.metadata)
            .field("radiometry", &self.radiometry)
            .finish_non_exhaustive()
    }
}

impl ThermalImage {
    pub(crate) fn new(
        width: u32,
        height: u32,
        raw: Vec<u16>,
        calibration: Calibration,
        metadata: FrameMetadata,
        stated_range_c: Option<(f64, f64)>,
    ) -> Result<Self> {
        let expected = u64::from(width) * u64::from(height);
        if raw.len() as u64 != expected {
            return Err(ThermalError::Corrupt(format!(
                "{} samples for a {width}x{height} frame",
                raw.len()
            )));
        }
        calibration.validate()?;
        let radiometry = assess(&calibration, &metadata.camera, stated_range_c, &raw);
        Ok(Self {
            width,
            height,
            raw,
            calibration,
            metadata,
            stated_range_c,
            radiometry,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Raw sensor counts, row-major.
    pub fn raw(&self) -> &[u16] {
        &self.raw
    }
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }
    pub fn metadata(&self) -> &FrameMetadata {
        &self.metadata
    }

    /// Whether the frame's counts may be reported as temperatures, decided
    /// at decode (see [`Radiometry`]).
    pub fn radiometry(&self) -> &Radiometry {
        &self.radiometry
    }

    /// Replaces the calibration (e.g. another emissivity); refuses absurd
    /// constants. The radiometry verdict is made again for the new
    /// calibration.
    pub fn set_calibration(&mut self, calibration: Calibration) -> Result<()> {
        calibration.validate()?;
        self.radiometry = assess(
            &calibration,
            &self.metadata.camera,
            self.stated_range_c,
            &self.raw,
        );
        self.calibration = calibration;
        Ok(())
    }

    /// The temperature map in degrees Celsius. Refused with
    /// [`ThermalError::TemperaturesUnavailable`] for a frame that is not
    /// radiometric; view it with [`ThermalImage::relative_intensity`].
    pub fn temperatures(&self) -> Result<TemperatureMap> {
        if let Radiometry::NotRadiometric { reason } = &self.radiometry {
            return Err(ThermalError::TemperaturesUnavailable {
                reason: reason.clone(),
            });
        }
        let conv = Converter::new(&self.calibration)?;
        let mut celsius = Vec::new();
        let finite_range = conv.convert_frame(&self.raw, &mut celsius);
        Ok(TemperatureMap {
            width: self.width,
            height: self.height,
            celsius,
            finite_range,
        })
    }
}

impl ThermalImage {
    /// The raw counts on a relative scale for viewing and relative
    /// detection: 0 at the frame's lowest count, 1 at its highest. Works for
    /// every frame, radiometric or not; the values are not temperatures.
    pub fn relative_intensity(&self) -> IntensityMap {
        relative_of(self.width, self.height, &self.raw)
    }
}

pub(crate) fn relative_of(width: u32, height: u32, raw: &[u16]) -> IntensityMap {
    let (lo, hi) = crate::calibration::raw_range(raw).unwrap_or((0, 0));
    let span = f32::from(hi - lo).max(1.0);
    let values = raw.iter().map(|&r| f32::from(r - lo) / span).collect();
    IntensityMap {
        width,
        height,
        values,
        raw_range: (lo, hi),
    }
}

/// Relative intensity of a frame: raw counts scaled to 0 (the frame's lowest
/// count) … 1 (its highest), row-major. Not temperatures: no unit, and no
/// comparison between frames.
#[derive(Clone)]
pub struct IntensityMap {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) values: Vec<f32>,
    pub(crate) raw_range: (u16, u16),
}

impl std::fmt::Debug for IntensityMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntensityMap")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl IntensityMap {
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Row-major relative intensities, 0 to 1.
    pub fn values(&self) -> &[f32] {
        &self.values
    }
    /// The lowest and highest raw count of the frame (0 and 1 on this scale).
    pub fn raw_range(&self) -> (u16, u16) {
        self.raw_range
    }
    /// Relative intensity at a pixel, if inside the map.
    pub fn at(&self, x: u32, y: u32) -> Option<f32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.values
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }
    /// As a map for the palette renderer, without a °C scale: render it with
    /// `scale_bar: false` and `range_c: Some((0.0, 1.0))` (what
    /// [`crate::render_relative`] does).
    pub(crate) fn as_render_map(&self) -> TemperatureMap {
        TemperatureMap {
            width: self.width,
            height: self.height,
            celsius: self.values.clone(),
            finite_range: None,
        }
    }
}

/// Per-pixel temperatures in degrees Celsius, row-major. Pixels whose raw
/// value lies outside the calibrated range are NaN and ignored by statistics.
#[derive(Clone)]
pub struct TemperatureMap {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) celsius: Vec<f32>,
    /// The minimum and maximum of `celsius` when the conversion knew them
    /// (all values finite, see `Converter::convert_frame`); `None` means
    /// unknown, not empty. Spares rendering a scan of the map.
    pub(crate) finite_range: Option<(f32, f32)>,
}

impl PartialEq for TemperatureMap {
    fn eq(&self, other: &Self) -> bool {
        // The cached range is derived from the temperatures.
        (self.width, self.height) == (other.width, other.height) && self.celsius == other.celsius
    }
}

impl std::fmt::Debug for TemperatureMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemperatureMap")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// Minimum, maximum and mean of a temperature map with the extreme positions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureStats {
    pub min_c: f32,
    pub max_c: f32,
    pub mean_c: f32,
    pub std_dev_c: f32,
    pub min_at: (u32, u32),
    pub max_at: (u32, u32),
    /// Pixels with a finite temperature.
    pub valid_pixels: usize,
}

impl TemperatureMap {
    /// A map from caller-computed temperatures (e.g. for tests of detection).
    pub fn from_celsius(width: u32, height: u32, celsius: Vec<f32>) -> Result<Self> {
        if celsius.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(ThermalError::InvalidArgument(format!(
                "{} temperatures for a {width}x{height} map",
                celsius.len()
            )));
        }
        Ok(Self {
            width,
            height,
            celsius,
            finite_range: None,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Row-major temperatures in °C.
    pub fn celsius(&self) -> &[f32] {
        &self.celsius
    }
    /// Temperature at a pixel, if inside the map.
    pub fn at(&self, x: u32, y: u32) -> Option<f32> {
        if x >= self.width || y >= self.height {
            return None;
        }
        self.celsius
            .get(y as usize * self.width as usize + x as usize)
            .copied()
    }

    /// Statistics over the finite pixels; `None` if there are none.
    pub fn stats(&self) -> Option<TemperatureStats> {
        stats_of(&self.celsius, self.width)
    }
}

pub(crate) fn stats_of(celsius: &[f32], width: u32) -> Option<TemperatureStats> {
    let w = width.max(1) as usize;
    let mut n = 0usize;
    let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
    let (mut min_i, mut max_i) = (0usize, 0usize);
    let (mut sum, mut sum2) = (0f64, 0f64);
    for (i, &t) in celsius.iter().enumerate() {
        if !t.is_finite() {
            continue;
        }
        n += 1;
        if t < min {
            min = t;
            min_i = i;
        }
        if t > max {
            max = t;
            max_i = i;
        }
        let t = f64::from(t);
        sum += t;
        sum2 += t * t;
    }
    if n == 0 {
        return None;
    }
    let mean = sum / n as f64;
    let var = (sum2 / n as f64 - mean * mean).max(0.0);
    let pos = |i: usize| ((i % w) as u32, (i / w) as u32);
    Some(TemperatureStats {
        min_c: min,
        max_c: max,
        mean_c: mean as f32,
        std_dev_c: var.sqrt() as f32,
        min_at: pos(min_i),
        max_at: pos(max_i),
        valid_pixels: n,
    })
}
