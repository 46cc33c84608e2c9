//! FR-07 probe edits: brightness, crop and rotate, and nothing else. An [`EditList`] is kept
//! beside the untouched original and applied to a fresh copy every time; each step reports the
//! SHA-256 of the pixel buffer before and after, so a report can show exactly what was done.

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ImagingError;

/// Brightness gain bounds (multiplier).
pub const GAIN_RANGE: (f32, f32) = (0.25, 4.0);
/// Brightness offset bounds (added to each 0..=255 channel).
pub const DELTA_RANGE: (f32, f32) = (-128.0, 128.0);
/// Largest rotation, either way, in degrees.
pub const MAX_DEGREES: f64 = 360.0;
/// Most edits one list may hold.
pub const MAX_EDITS: usize = 16;

/// One allowed probe adjustment (FR-07). There is deliberately no other operation: no
/// sharpening, no synthesis, no morphing, no feature editing, no upscaling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProbeEdit {
    /// `out = in × gain + delta`, per channel, clamped to 0..=255.
    Brightness { gain: f32, delta: f32 },
    /// Keep the rectangle at (`x`, `y`) of `width` × `height` pixels of the current image.
    Crop {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// Rotate clockwise by `degrees` (negative: counter-clockwise). Multiples of 90° are
    /// lossless; other angles use bilinear resampling onto a canvas that holds the whole
    /// rotated image, the uncovered corners black.
    Rotate { degrees: f64 },
}

impl ProbeEdit {
    /// The names of every operation that exists.
    pub const KINDS: [&'static str; 3] = ["brightness", "crop", "rotate"];

    /// This operation's name (one of [`ProbeEdit::KINDS`]).
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeEdit::Brightness { .. } => "brightness",
            ProbeEdit::Crop { .. } => "crop",
            ProbeEdit::Rotate { .. } => "rotate",
        }
    }

    /// Check the parameters against the image the edit will be applied to.
    pub fn validate(&self, width: u32, height: u32) -> Result<(), ImagingError> {
        let bad = |detail: String| Err(ImagingError::InvalidEdit { detail });
        match *self {
            ProbeEdit::Brightness { gain, delta } => {
                if !gain.is_finite() || gain < GAIN_RANGE.0 || gain > GAIN_RANGE.1 {
                    return bad(format!(
                        "brightness gain {gain} is outside {}..={}",
                        GAIN_RANGE.0, GAIN_RANGE.1
                    ));
                }
                if !delta.is_finite() || delta < DELTA_RANGE.0 || delta > DELTA_RANGE.1 {
                    return bad(format!(
                        "brightness delta {delta} is outside {}..={}",
                        DELTA_RANGE.0, DELTA_RANGE.1
                    ));
                }
            }
            ProbeEdit::Crop {
                x,
                y,
                width: w,
                height: h,
            } => {
                if w == 0 || h == 0 {
                    return bad("crop rectangle is empty".into());
                }
                let inside =
                    x as u64 + w as u64 <= width as u64 && y as u64 + h as u64 <= height as u64;
                if !inside {
                    return bad(format!(
                        "crop rectangle {w}x{h} at ({x},{y}) does not lie inside the {width}x{height} image"
                    ));
                }
            }
            ProbeEdit::Rotate { degrees } => {
                if !degrees.is_finite() || degrees.abs() > MAX_DEGREES {
                    return bad(format!(
                        "rotation {degrees}° is not a finite angle within ±{MAX_DEGREES}°"
                    ));
                }
            }
        }
        Ok(())
    }

    fn apply(&self, img: &RgbImage) -> RgbImage {
        match *self {
            ProbeEdit::Brightness { gain, delta } => {
                let mut lut = [0u8; 256];
                for (v, out) in lut.iter_mut().enumerate() {
                    *out = (v as f32 * gain + delta).round().clamp(0.0, 255.0) as u8;
                }
                let mut out = img.clone();
                for p in out.iter_mut() {
                    *p = lut[*p as usize];
                }
                out
            }
            ProbeEdit::Crop {
                x,
                y,
                width,
                height,
            } => image::imageops::crop_imm(img, x, y, width, height).to_image(),
            ProbeEdit::Rotate { degrees } => rotate(img, degrees),
        }
    }
}

fn rotate(img: &RgbImage, degrees: f64) -> RgbImage {
    let d = degrees.rem_euclid(360.0);
    if d == 0.0 {
        return img.clone();
    }
    if d == 90.0 {
        return image::imageops::rotate90(img);
    }
    if d == 180.0 {
        return image::imageops::rotate180(img);
    }
    if d == 270.0 {
        return image::imageops::rotate270(img);
    }
    let theta = d.to_radians();
    let (s, c) = theta.sin_cos();
    let (w, h) = (img.width() as f64, img.height() as f64);
    let nw = (w * c.abs() + h * s.abs()).round().max(1.0) as u32;
    let nh = (w * s.abs() + h * c.abs()).round().max(1.0) as u32;
    let (cx, cy) = (w / 2.0, h / 2.0);
    let (ncx, ncy) = (nw as f64 / 2.0, nh as f64 / 2.0);
    let mut out = RgbImage::new(nw, nh);
    let src = img.as_raw();
    let stride = img.width() as usize * 3;
    let (iw, ih) = (img.width() as i64, img.height() as i64);
    for oy in 0..nh {
        for ox in 0..nw {
            // Pixel centre in the output, mapped back by the inverse (counter-clockwise) rotation.
            let dx = ox as f64 + 0.5 - ncx;
            let dy = oy as f64 + 0.5 - ncy;
            let sx = c * dx + s * dy + cx - 0.5;
            let sy = -s * dx + c * dy + cy - 0.5;
            if sx < -0.5 || sy < -0.5 || sx > w - 0.5 || sy > h - 0.5 {
                continue;
            }
            let x0 = sx.floor() as i64;
            let y0 = sy.floor() as i64;
            let fx = sx - x0 as f64;
            let fy = sy - y0 as f64;
            let at = |x: i64, y: i64, ch: usize| -> f64 {
                let x = x.clamp(0, iw - 1) as usize;
                let y = y.clamp(0, ih - 1) as usize;
                src[y * stride + x * 3 + ch] as f64
            };
            let mut px = [0u8; 3];
            for (ch, v) in px.iter_mut().enumerate() {
                let top = at(x0, y0, ch) * (1.0 - fx) + at(x0 + 1, y0, ch) * fx;
                let bottom = at(x0, y0 + 1, ch) * (1.0 - fx) + at(x0 + 1, y0 + 1, ch) * fx;
                *v = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
            }
            out.put_pixel(ox, oy, Rgb(px));
        }
    }
    out
}

/// SHA-256 of a pixel buffer: width and height (big-endian u32) followed by the RGB bytes.
pub fn pixel_sha256(img: &RgbImage) -> String {
    let mut h = Sha256::new();
    h.update(img.width().to_be_bytes());
    h.update(img.height().to_be_bytes());
    h.update(img.as_raw());
    hex::encode(h.finalize())
}

/// The ordered edits of one probe, stored beside the untouched original.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditList {
    pub edits: Vec<ProbeEdit>,
}

/// What one edit did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditStep {
    pub edit: ProbeEdit,
    pub before_sha256: String,
    pub after_sha256: String,
    pub before_size: (u32, u32),
    pub after_size: (u32, u32),
}

/// The edited image and the record of every step.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    pub image: RgbImage,
    pub original_sha256: String,
    pub steps: Vec<EditStep>,
}

impl EditList {
    pub fn new(edits: Vec<ProbeEdit>) -> Self {
        EditList { edits }
    }

    /// Apply the edits, in order, to a copy of `original` (which is never changed). Every
    /// edit is validated against the image it applies to before anything is computed.
    pub fn apply(&self, original: &RgbImage) -> Result<EditOutcome, ImagingError> {
        if self.edits.len() > MAX_EDITS {
            return Err(ImagingError::InvalidEdit {
                detail: format!(
                    "{} edits in one list, at most {MAX_EDITS} are allowed",
                    self.edits.len()
                ),
            });
        }
        let original_sha256 = pixel_sha256(original);
        let mut current = original.clone();
        let mut before_sha = original_sha256.clone();
        let mut steps = Vec::with_capacity(self.edits.len());
        for (i, edit) in self.edits.iter().enumerate() {
            edit.validate(current.width(), current.height())
                .map_err(|e| match e {
                    ImagingError::InvalidEdit { detail } => ImagingError::InvalidEdit {
                        detail: format!("edit {} ({}): {detail}", i + 1, edit.kind()),
                    },
                    other => other,
                })?;
            let before_size = current.dimensions();
            let next = edit.apply(&current);
            let after_sha = pixel_sha256(&next);
            steps.push(EditStep {
                edit: *edit,
                before_sha256: before_sha,
                after_sha256: after_sha.clone(),
                before_size,
                after_size: next.dimensions(),
            });
            before_sha = after_sha;
            current = next;
        }
        Ok(EditOutcome {
            image: current,
            original_sha256,
            steps,
        })
    }
}
