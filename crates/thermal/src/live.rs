//! Memory-only live view building blocks (TH-01, TH-03).
//!
//! A thermal source (handheld relay, wireless camera) pushes frames; the
//! server turns each into a [`LiveFrame`], renders it with [`render_live`]
//! and sends the [`LiveView`] to authorised monitors. Invariants:
//! - [`LiveFrame`], [`LiveView`] and [`LiveImage`] implement neither `Serialize`
//!   nor any conversion to [`crate::ThermalImage`]; this crate has no function
//!   that writes any of them to a file, database or log.
//! - Their `Debug` output shows dimensions only, never pixels or temperatures,
//!   so an accidental `{:?}` in a log line leaks nothing.
//! - Their buffers are overwritten with zeros when dropped, and so are the
//!   intermediate temperature and RGB buffers of [`render_live`]. (Buffers
//!   private to the PNG/JPEG/TIFF codecs are outside this crate's reach.)

use crate::calibration::Calibration;
use crate::error::{Result, ThermalError};
use crate::frame::{DecodeLimits, DecodeOptions, TemperatureMap};
use crate::radiometry::{assess, Radiometry};
use crate::render::{encode_jpeg, encode_png, render, Palette, RenderOptions};
use zeroize::{Zeroize, Zeroizing};

/// One pushed frame, held in memory only.
pub struct LiveFrame {
    width: u32,
    height: u32,
    raw: Zeroizing<Vec<u16>>,
    calibration: Calibration,
    camera_serial: Option<String>,
    radiometry: Radiometry,
}

impl std::fmt::Debug for LiveFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

impl LiveFrame {
    /// A frame pushed as a radiometric file image (FLIR JPEG or FFF record;
    /// PGM/TIFF when `opts.calibration` is set).
    pub fn from_radiometric(bytes: &[u8], opts: &DecodeOptions) -> Result<Self> {
        let crate::ThermalImage {
            width,
            height,
            raw,
            calibration,
            metadata,
            radiometry,
            ..
        } = crate::decode(bytes, opts)?;
        let raw = Zeroizing::new(raw);
        let camera_serial = metadata.camera.serial;
        Ok(Self {
            width,
            height,
            raw,
            calibration,
            camera_serial,
            radiometry,
        })
    }

    /// A frame pushed as raw 16-bit samples (row-major) with the source's calibration.
    pub fn from_raw16(
        width: u32,
        height: u32,
        samples: Vec<u16>,
        calibration: Calibration,
        limits: &DecodeLimits,
    ) -> Result<Self> {
        let samples = Zeroizing::new(samples);
        limits.check(u64::from(width), u64::from(height))?;
        if samples.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(ThermalError::InvalidArgument(format!(
                "{} samples for a {width}x{height} frame",
                samples.len()
            )));
        }
        calibration.validate()?;
        let radiometry = assess(&calibration, &Default::default(), None, &samples);
        Ok(Self {
            width,
            height,
            raw: samples,
            calibration,
            camera_serial: None,
            radiometry,
        })
    }

    /// A frame pushed as little-endian 16-bit sample bytes.
    pub fn from_raw16_le(
        width: u32,
        height: u32,
        bytes: &[u8],
        calibration: Calibration,
        limits: &DecodeLimits,
    ) -> Result<Self> {
        limits.check(u64::from(width), u64::from(height))?;
        let n = width as usize * height as usize;
        if bytes.len() != n * 2 {
            return Err(ThermalError::InvalidArgument(format!(
                "{} bytes for a {width}x{height} 16-bit frame ({} expected)",
                bytes.len(),
                n * 2
            )));
        }
        let samples = bytes
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        Self::from_raw16(width, height, samples, calibration, limits)
    }

    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Camera serial, when the pushed file recorded one.
    pub fn camera_serial(&self) -> Option<&str> {
        self.camera_serial.as_deref()
    }
    /// Whether the frame's counts may be shown as temperatures.
    pub fn radiometry(&self) -> &Radiometry {
        &self.radiometry
    }
}

/// Encoding of the rendered live image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveImageFormat {
    /// Lossless; larger.
    Png,
    /// For MJPEG or WebSocket streams; quality 1..=100.
    Jpeg { quality: u8 },
}

/// How to render a live frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveRenderOptions {
    pub palette: Palette,
    /// Fixed palette range; `None` follows each frame's min/max.
    pub range_c: Option<(f32, f32)>,
    pub scale_bar: bool,
    pub upscale: u32,
    pub format: LiveImageFormat,
    /// Spot-meter position in frame pixels; `None` = frame centre.
    pub spot: Option<(u32, u32)>,
}

impl Default for LiveRenderOptions {
    fn default() -> Self {
        Self {
            palette: Palette::Iron,
            range_c: None,
            scale_bar: true,
            upscale: 1,
            format: LiveImageFormat::Jpeg { quality: 80 },
            spot: None,
        }
    }
}

/// Encoded bytes of a rendered live frame; zeroed on drop.
pub struct LiveImage {
    bytes: Zeroizing<Vec<u8>>,
    format: LiveImageFormat,
}

impl std::fmt::Debug for LiveImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveImage")
            .field("format", &self.format)
            .field("len", &self.bytes.len())
            .finish()
    }
}

impl LiveImage {
    /// The encoded image, to be sent to monitors and nowhere else.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    pub fn format(&self) -> LiveImageFormat {
        self.format
    }
    /// MIME type for the stream part or message.
    pub fn content_type(&self) -> &'static str {
        match self.format {
            LiveImageFormat::Png => "image/png",
            LiveImageFormat::Jpeg { .. } => "image/jpeg",
        }
    }
}

/// A rendered live frame with its spot, minimum and maximum temperatures.
///
/// For a frame that is not radiometric (`radiometry` says why) the image
/// shows relative intensity without a °C scale and every temperature field is
/// NaN: callers show [`Radiometry::UNAVAILABLE`] instead.
pub struct LiveView {
    pub image: LiveImage,
    pub radiometry: Radiometry,
    pub spot_at: (u32, u32),
    /// NaN if the spot pixel is outside the calibrated range or the frame is
    /// not radiometric.
    pub spot_c: f32,
    pub min_c: f32,
    pub min_at: (u32, u32),
    pub max_c: f32,
    pub max_at: (u32, u32),
    pub mean_c: f32,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveView")
            .field("image", &self.image)
            .finish_non_exhaustive()
    }
}

/// Renders a live frame to an encoded palette image plus spot/min/max.
pub fn render_live(frame: &LiveFrame, opts: &LiveRenderOptions) -> Result<LiveView> {
    if !frame.radiometry.is_radiometric() {
        return render_live_relative(frame, opts);
    }
    let conv = crate::calibration::Converter::new(&frame.calibration)?;
    let mut celsius = Vec::new();
    let finite_range = conv.convert_frame(&frame.raw, &mut celsius);
    let map = ZeroOnDrop(TemperatureMap {
        width: frame.width,
        height: frame.height,
        celsius,
        finite_range,
    });
    let spot_at = opts.spot.unwrap_or((frame.width / 2, frame.height / 2));
    let spot_c = map.0.at(spot_at.0, spot_at.1).ok_or_else(|| {
        ThermalError::InvalidArgument(format!(
            "spot {spot_at:?} lies outside the {}x{} frame",
            frame.width, frame.height
        ))
    })?;
    let stats = map.0.stats().ok_or_else(|| {
        ThermalError::Corrupt("no pixel of the frame lies in the calibrated range".into())
    })?;
    let heat = render(
        &map.0,
        &RenderOptions {
            palette: opts.palette,
            range_c: opts.range_c,
            scale_bar: opts.scale_bar,
            upscale: opts.upscale,
        },
    )?;
    let (w, h) = (heat.width(), heat.height());
    let rgb = Zeroizing::new(heat.into_rgb());
    let bytes = match opts.format {
        LiveImageFormat::Png => encode_png(w, h, &rgb)?,
        LiveImageFormat::Jpeg { quality } => encode_jpeg(w, h, &rgb, quality)?,
    };
    Ok(LiveView {
        image: LiveImage {
            bytes: Zeroizing::new(bytes),
            format: opts.format,
        },
        radiometry: Radiometry::Radiometric,
        spot_at,
        spot_c,
        min_c: stats.min_c,
        min_at: stats.min_at,
        max_c: stats.max_c,
        max_at: stats.max_at,
        mean_c: stats.mean_c,
    })
}

/// The viewing-only rendering of a frame that is not radiometric: relative
/// intensity, no °C scale, no temperatures.
fn render_live_relative(frame: &LiveFrame, opts: &LiveRenderOptions) -> Result<LiveView> {
    let spot_at = opts.spot.unwrap_or((frame.width / 2, frame.height / 2));
    if spot_at.0 >= frame.width || spot_at.1 >= frame.height {
        return Err(ThermalError::InvalidArgument(format!(
            "spot {spot_at:?} lies outside the {}x{} frame",
            frame.width, frame.height
        )));
    }
    let relative = crate::frame::relative_of(frame.width, frame.height, &frame.raw);
    let map = ZeroOnDrop(TemperatureMap {
        width: frame.width,
        height: frame.height,
        celsius: relative.values,
        finite_range: None,
    });
    let heat = render(
        &map.0,
        &RenderOptions {
            palette: opts.palette,
            range_c: Some((0.0, 1.0)),
            scale_bar: false,
            upscale: opts.upscale,
        },
    )?;
    let (w, h) = (heat.width(), heat.height());
    let rgb = Zeroizing::new(heat.into_rgb());
    let bytes = match opts.format {
        LiveImageFormat::Png => encode_png(w, h, &rgb)?,
        LiveImageFormat::Jpeg { quality } => encode_jpeg(w, h, &rgb, quality)?,
    };
    Ok(LiveView {
        image: LiveImage {
            bytes: Zeroizing::new(bytes),
            format: opts.format,
        },
        radiometry: frame.radiometry.clone(),
        spot_at,
        spot_c: f32::NAN,
        min_c: f32::NAN,
        min_at: (0, 0),
        max_c: f32::NAN,
        max_at: (0, 0),
        mean_c: f32::NAN,
    })
}

struct ZeroOnDrop(TemperatureMap);

impl Drop for ZeroOnDrop {
    fn drop(&mut self) {
        self.0.celsius.zeroize();
    }
}
