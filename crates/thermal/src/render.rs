//! Heat-signature imaging (TH-02): palettes, a temperature scale bar and
//! PNG/JPEG encoding of the rendering.

use crate::error::{Result, ThermalError};
use crate::frame::TemperatureMap;

/// Marker written into every rendering (PNG tEXt / JPEG comment) so that
/// imaging and face code can recognise and refuse it (TH-06).
pub const THERMAL_MARKER: &str =
    "probity-thermal heat-signature rendering; not for biometric use (TH-06)";
pub(crate) const THERMAL_MARKER_KEY: &str = "probity-thermal";

/// Colour palettes for heat-signature video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    /// Black through purple, red and yellow to white.
    #[default]
    Iron,
    /// Blue through cyan, green and yellow to red.
    Rainbow,
    /// Hot is white, cold is black.
    WhiteHot,
    /// Hot is black, cold is white.
    BlackHot,
}

impl Palette {
    pub const ALL: [Palette; 4] = [
        Palette::Iron,
        Palette::Rainbow,
        Palette::WhiteHot,
        Palette::BlackHot,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Palette::Iron => "iron",
            Palette::Rainbow => "rainbow",
            Palette::WhiteHot => "white-hot",
            Palette::BlackHot => "black-hot",
        }
    }

    /// The 256-entry colour table, cold to hot.
    pub fn table(self) -> [[u8; 3]; 256] {
        let stops: &[(f32, [u8; 3])] = match self {
            Palette::Iron => &[
                (0.0, [0, 0, 0]),
                (0.10, [30, 0, 90]),
                (0.25, [110, 0, 150]),
                (0.40, [185, 25, 120]),
                (0.55, [228, 75, 35]),
                (0.70, [250, 140, 0]),
                (0.85, [255, 210, 40]),
                (1.0, [255, 255, 255]),
            ],
            Palette::Rainbow => &[
                (0.0, [0, 0, 140]),
                (0.15, [0, 0, 255]),
                (0.35, [0, 255, 255]),
                (0.50, [0, 255, 0]),
                (0.70, [255, 255, 0]),
                (0.85, [255, 128, 0]),
                (1.0, [255, 0, 0]),
            ],
            Palette::WhiteHot => &[(0.0, [0, 0, 0]), (1.0, [255, 255, 255])],
            Palette::BlackHot => &[(0.0, [255, 255, 255]), (1.0, [0, 0, 0])],
        };
        let mut t = [[0u8; 3]; 256];
        for (i, c) in t.iter_mut().enumerate() {
            let x = i as f32 / 255.0;
            let k = stops
                .windows(2)
                .position(|w| x <= w[1].0)
                .unwrap_or(stops.len().saturating_sub(2));
            let (a, b) = (stops[k], stops[(k + 1).min(stops.len() - 1)]);
            let f = if b.0 > a.0 {
                (x - a.0) / (b.0 - a.0)
            } else {
                0.0
            };
            for (ch, out) in c.iter_mut().enumerate() {
                let v = f32::from(a.1[ch]) + (f32::from(b.1[ch]) - f32::from(a.1[ch])) * f;
                *out = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        t
    }
}

impl std::str::FromStr for Palette {
    type Err = ThermalError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "iron" | "ironbow" => Ok(Palette::Iron),
            "rainbow" => Ok(Palette::Rainbow),
            "white-hot" | "whitehot" => Ok(Palette::WhiteHot),
            "black-hot" | "blackhot" => Ok(Palette::BlackHot),
            other => Err(ThermalError::InvalidArgument(format!(
                "unknown palette {other:?}; use iron, rainbow, white-hot or black-hot"
            ))),
        }
    }
}

/// How to render a temperature map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    pub palette: Palette,
    /// Temperatures mapped to the ends of the palette; `None` uses the frame's
    /// own minimum and maximum.
    pub range_c: Option<(f32, f32)>,
    /// Draw the scale bar with min/max labels to the right of the image.
    pub scale_bar: bool,
    /// Integer nearest-neighbour enlargement (1 = native resolution).
    pub upscale: u32,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            palette: Palette::Iron,
            range_c: None,
            scale_bar: true,
            upscale: 1,
        }
    }
}

/// An RGB palette rendering of a temperature map. It is a picture of
/// temperatures, not a photograph: it has no conversion into image types of
/// other crates, and its encodings carry [`THERMAL_MARKER`].
#[derive(Clone, PartialEq)]
pub struct HeatImage {
    width: u32,
    height: u32,
    rgb: Vec<u8>,
    /// The temperatures at the two ends of the palette.
    pub range_c: (f32, f32),
}

impl std::fmt::Debug for HeatImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeatImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("range_c", &self.range_c)
            .finish_non_exhaustive()
    }
}

impl HeatImage {
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some([self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]])
    }
    pub(crate) fn into_rgb(self) -> Vec<u8> {
        self.rgb
    }

    /// PNG bytes carrying the thermal marker.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        encode_png(self.width, self.height, &self.rgb)
    }

    /// JPEG bytes (quality 1..=100) carrying the thermal marker.
    pub fn to_jpeg(&self, quality: u8) -> Result<Vec<u8>> {
        encode_jpeg(self.width, self.height, &self.rgb, quality)
    }
}

pub(crate) fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(rgb.len() / 2 + 1024);
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Fast);
        enc.add_text_chunk(THERMAL_MARKER_KEY.to_string(), THERMAL_MARKER.to_string())
            .map_err(|e| ThermalError::Encode(e.to_string()))?;
        let mut w = enc
            .write_header()
            .map_err(|e| ThermalError::Encode(e.to_string()))?;
        w.write_image_data(rgb)
            .map_err(|e| ThermalError::Encode(e.to_string()))?;
        w.finish()
            .map_err(|e| ThermalError::Encode(e.to_string()))?;
    }
    Ok(out)
}

pub(crate) fn encode_jpeg(width: u32, height: u32, rgb: &[u8], quality: u8) -> Result<Vec<u8>> {
    let mut body = Vec::with_capacity(rgb.len() / 8 + 1024);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut body, quality.clamp(1, 100))
        .encode(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| ThermalError::Encode(e.to_string()))?;
    // Insert a COM segment with the marker right after SOI.
    let marker = THERMAL_MARKER.as_bytes();
    let len = (marker.len() + 2) as u16;
    let mut out = Vec::with_capacity(body.len() + marker.len() + 4);
    out.extend_from_slice(&body[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(marker);
    out.extend_from_slice(&body[2..]);
    Ok(out)
}

/// Renders the relative intensity of a frame (for frames that are not
/// radiometric, or any frame viewed without temperatures): the palette spans
/// the frame's lowest to highest count, and no °C scale bar is drawn
/// whatever `opts.scale_bar` and `opts.range_c` say.
pub fn render_relative(
    map: &crate::frame::IntensityMap,
    opts: &RenderOptions,
) -> Result<HeatImage> {
    render(
        &map.as_render_map(),
        &RenderOptions {
            range_c: Some((0.0, 1.0)),
            scale_bar: false,
            ..*opts
        },
    )
}

/// Renders a temperature map with a palette and, optionally, a scale bar.
pub fn render(map: &TemperatureMap, opts: &RenderOptions) -> Result<HeatImage> {
    let (lo, hi) = match opts.range_c {
        Some((lo, hi)) if lo.is_finite() && hi.is_finite() && hi > lo => (lo, hi),
        Some(r) => {
            return Err(ThermalError::InvalidArgument(format!(
                "temperature range {r:?} must be two finite values, low below high"
            )))
        }
        None => match map.finite_range.or_else(|| finite_min_max(&map.celsius)) {
            Some((lo, hi)) if hi > lo => (lo, hi),
            Some((lo, hi)) => (lo - 0.5, hi + 0.5),
            None => (0.0, 1.0),
        },
    };
    let up = opts.upscale;
    if !(1..=16).contains(&up) {
        return Err(ThermalError::InvalidArgument(format!(
            "upscale factor {up} must be between 1 and 16"
        )));
    }
    let table = opts.palette.table();
    let (w, h) = (map.width as usize, map.height as usize);
    let img_w = w * up as usize;
    let img_h = h * up as usize;
    let fs = ((img_h / 120).clamp(1, 3)) as u32;
    let panel = if opts.scale_bar {
        scale_panel_width(fs)
    } else {
        0
    };
    let min_h = if opts.scale_bar {
        7 * 4 * fs as usize
    } else {
        0
    };
    let out_w = img_w + panel;
    let out_h = img_h.max(min_h);
    let mut rgb = vec![0u8; out_w * out_h * 3];
    let k = 255.0 / (hi - lo);
    // 256 palette colours, then black for pixels without a finite
    // temperature (outside the calibration); padded to 512 entries so that
    // `i & 511` needs no bounds check. Each colour is packed as little-endian
    // RGB0 so that four pixels are written as three 32-bit words.
    let mut packed = [0u32; 512];
    for (p, c) in packed.iter_mut().zip(table.iter()) {
        *p = u32::from_le_bytes([c[0], c[1], c[2], 0]);
    }
    let up = up as usize;
    let mut idx = vec![NO_TEMPERATURE; w];
    for y in 0..h {
        let src = &map.celsius[y * w..(y + 1) * w];
        palette_indices(src, lo, k, &mut idx);
        let row0 = y * up;
        let line = &mut rgb[row0 * out_w * 3..(row0 * out_w + img_w) * 3];
        if up == 1 {
            let mut out = line.chunks_exact_mut(12);
            let mut ids = idx.chunks_exact(4);
            for (o, i) in (&mut out).zip(&mut ids) {
                let c0 = packed[usize::from(i[0]) & 511];
                let c1 = packed[usize::from(i[1]) & 511];
                let c2 = packed[usize::from(i[2]) & 511];
                let c3 = packed[usize::from(i[3]) & 511];
                o[0..4].copy_from_slice(&(c0 | c1 << 24).to_le_bytes());
                o[4..8].copy_from_slice(&(c1 >> 8 | c2 << 16).to_le_bytes());
                o[8..12].copy_from_slice(&(c2 >> 16 | c3 << 8).to_le_bytes());
            }
            for (o, &i) in out
                .into_remainder()
                .chunks_exact_mut(3)
                .zip(ids.remainder())
            {
                o.copy_from_slice(&packed[usize::from(i) & 511].to_le_bytes()[..3]);
            }
        } else {
            for (x, &i) in idx.iter().enumerate() {
                let c = packed[usize::from(i) & 511].to_le_bytes();
                for px in line[x * up * 3..(x + 1) * up * 3].chunks_exact_mut(3) {
                    px.copy_from_slice(&c[..3]);
                }
            }
            for r in 1..up {
                let (a, b) = rgb.split_at_mut((row0 + r) * out_w * 3);
                b[..img_w * 3].copy_from_slice(&a[row0 * out_w * 3..row0 * out_w * 3 + img_w * 3]);
            }
        }
    }
    if opts.scale_bar {
        draw_scale_bar(&mut rgb, out_w, out_h, img_w, fs as usize, &table, lo, hi);
    }
    Ok(HeatImage {
        width: out_w as u32,
        height: out_h as u32,
        rgb,
        range_c: (lo, hi),
    })
}

/// Palette index of pixels without a finite temperature (drawn black).
const NO_TEMPERATURE: u16 = 256;

/// Palette index of each temperature: `((t - lo) * k)` clamped to 0..=255
/// and truncated towards zero (a NaN product gives 0), or [`NO_TEMPERATURE`]
/// for NaN and infinite temperatures.
///
/// Written so that the loop vectorises: a saturating `f32 as int` cast does
/// not on x86-64 SSE2, so the integer part is taken from the mantissa of
/// `x + 2^23` (x rounded to nearest) and corrected down by one where rounding
/// went up. The result equals `x as usize` for every x in 0..=255; a unit
/// test checks it against that formula.
fn palette_indices(src: &[f32], lo: f32, k: f32, out: &mut [u16]) {
    const TWO_POW_23: f32 = 8_388_608.0;
    for (o, &t) in out.iter_mut().zip(src) {
        // Not `clamp`: `max` maps a NaN product to 0, as the cast of a NaN
        // would, where `clamp` would keep the NaN.
        #[allow(clippy::manual_clamp)]
        let x = ((t - lo) * k).max(0.0).min(255.0);
        let nearest = ((x + TWO_POW_23).to_bits() & 0x1ff) as u16;
        let i = if f32::from(nearest) > x {
            nearest.wrapping_sub(1)
        } else {
            nearest
        };
        *o = if t.is_finite() { i } else { NO_TEMPERATURE };
    }
}

/// Minimum and maximum of the finite values (NaN and infinities ignored).
fn finite_min_max(v: &[f32]) -> Option<(f32, f32)> {
    // Lane-wise accumulators so the loop vectorises; `f32::min` ignores NaN.
    const L: usize = 8;
    let mut lo = [f32::INFINITY; L];
    let mut hi = [f32::NEG_INFINITY; L];
    let mut chunks = v.chunks_exact(L);
    for c in &mut chunks {
        for j in 0..L {
            let t = if c[j].is_finite() { c[j] } else { f32::NAN };
            lo[j] = lo[j].min(t);
            hi[j] = hi[j].max(t);
        }
    }
    for &t in chunks.remainder() {
        if t.is_finite() {
            lo[0] = lo[0].min(t);
            hi[0] = hi[0].max(t);
        }
    }
    let lo = lo.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = hi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (lo <= hi).then_some((lo, hi))
}

const LABEL_CHARS: usize = 7;

fn scale_panel_width(fs: u32) -> usize {
    let fs = fs as usize;
    // gap, bar, gap, label, gap
    3 * fs + 8 * fs + 3 * fs + LABEL_CHARS * 6 * fs + 2 * fs
}

#[allow(clippy::too_many_arguments)]
fn draw_scale_bar(
    rgb: &mut [u8],
    out_w: usize,
    out_h: usize,
    x0: usize,
    fs: usize,
    table: &[[u8; 3]; 256],
    lo: f32,
    hi: f32,
) {
    let bar_x = x0 + 3 * fs;
    let bar_w = 8 * fs;
    let margin = 2 * fs;
    let top = margin;
    let bottom = out_h.saturating_sub(margin + 1);
    let span = bottom.saturating_sub(top).max(1);
    for y in top..=bottom {
        let i = 255 - ((y - top) * 255 / span).min(255);
        for x in bar_x..bar_x + bar_w {
            let p = (y * out_w + x) * 3;
            rgb[p..p + 3].copy_from_slice(&table[i]);
        }
    }
    let label_x = bar_x + bar_w + 3 * fs;
    draw_text(rgb, out_w, out_h, label_x, top, fs, &format_celsius(hi));
    draw_text(
        rgb,
        out_w,
        out_h,
        label_x,
        (bottom + 1).saturating_sub(7 * fs),
        fs,
        &format_celsius(lo),
    );
}

fn format_celsius(t: f32) -> String {
    let s = if t.abs() >= 999.5 {
        format!("{t:.0}")
    } else {
        format!("{t:.1}")
    };
    let mut s: String = s.chars().take(LABEL_CHARS - 1).collect();
    s.push('C');
    s
}

/// 5×7 glyphs, one byte per row, bit 4 leftmost.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '-' => [0, 0, 0, 0x1F, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 0x0C, 0x0C],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        _ => [0; 7],
    }
}

fn draw_text(rgb: &mut [u8], w: usize, h: usize, x0: usize, y0: usize, fs: usize, text: &str) {
    for (ci, c) in text.chars().enumerate() {
        let g = glyph(c);
        for (gy, row) in g.iter().enumerate() {
            for gx in 0..5 {
                if row & (0x10 >> gx) == 0 {
                    continue;
                }
                for dy in 0..fs {
                    for dx in 0..fs {
                        let x = x0 + (ci * 6 + gx) * fs + dx;
                        let y = y0 + gy * fs + dy;
                        if x < w && y < h {
                            let p = (y * w + x) * 3;
                            rgb[p..p + 3].copy_from_slice(&[255, 255, 255]);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp() -> TemperatureMap {
        let (w, h) = (40u32, 30u32);
        let t = (0..w * h).map(|i| 20.0 + (i % w) as f32 * 0.5).collect();
        TemperatureMap::from_celsius(w, h, t).unwrap()
    }

    #[test]
    fn th_02_palettes_run_cold_to_hot() {
        let iron = Palette::Iron.table();
        assert_eq!(iron[0], [0, 0, 0]);
        assert_eq!(iron[255], [255, 255, 255]);
        assert_eq!(Palette::WhiteHot.table()[255], [255, 255, 255]);
        assert_eq!(Palette::BlackHot.table()[255], [0, 0, 0]);
        assert_eq!(Palette::Rainbow.table()[255], [255, 0, 0]);
        assert_eq!(Palette::Rainbow.table()[0], [0, 0, 140]);
        for p in Palette::ALL {
            assert_eq!(p.name().parse::<Palette>().unwrap(), p);
        }
        assert!("sepia".parse::<Palette>().is_err());
    }

    #[test]
    fn th_02_render_maps_hottest_pixel_to_palette_end_and_draws_scale_bar() {
        let map = ramp();
        let img = render(
            &map,
            &RenderOptions {
                palette: Palette::WhiteHot,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(img.pixel(0, 0), Some([0, 0, 0]));
        assert_eq!(img.pixel(39, 0), Some([255, 255, 255]));
        assert!(img.width() > 40, "scale bar panel missing");
        // Top of the bar is the hot end, bottom the cold end.
        let bar_x = 40 + 3 + 2;
        assert_eq!(img.pixel(bar_x, 2), Some([255, 255, 255]));
        assert_eq!(img.pixel(bar_x, img.height() - 3), Some([0, 0, 0]));
        // Labels put white pixels into the panel right of the bar.
        let label_x0 = 40 + 3 + 8 + 3;
        let lit = (label_x0..img.width())
            .flat_map(|x| (0..9).map(move |y| (x, y)))
            .filter(|&(x, y)| img.pixel(x, y) == Some([255, 255, 255]))
            .count();
        assert!(lit > 10, "max label not drawn");
        assert_eq!(format_celsius(39.5), "39.5C");
        assert_eq!(format_celsius(-12.25), "-12.2C");
    }

    #[test]
    fn th_02_palette_index_equals_the_per_pixel_formula() {
        // The vectorised index must equal `((t - lo) * k).clamp(0, 255) as
        // usize` (black for non-finite t) for every input, including exact
        // integers, values just below them, the ends and NaN/inf.
        let mut temps = vec![
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
            f32::MIN,
        ];
        let mut state = 0x1234_5678_u32;
        for i in 0..200_000u32 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let t = -60.0 + (i as f32) * 0.0013;
            temps.push(t);
            temps.push(f32::from_bits(t.to_bits().wrapping_sub(1)));
            temps.push(f32::from_bits(state));
        }
        for (lo, hi) in [
            (-40.0f32, 120.0f32),
            (20.0, 21.0),
            (-3.0e38, 3.0e38),
            (0.1, 0.1 + 1e-6),
        ] {
            let k = 255.0 / (hi - lo);
            let mut idx = vec![0u16; temps.len()];
            palette_indices(&temps, lo, k, &mut idx);
            for (&t, &i) in temps.iter().zip(&idx) {
                let expected = if t.is_finite() {
                    ((t - lo) * k).clamp(0.0, 255.0) as usize
                } else {
                    usize::from(NO_TEMPERATURE)
                };
                assert_eq!(usize::from(i), expected, "t = {t:e}, lo = {lo}, hi = {hi}");
            }
        }
    }

    #[test]
    fn th_06_rendering_encodings_carry_the_thermal_marker() {
        let img = render(&ramp(), &RenderOptions::default()).unwrap();
        let png = img.to_png().unwrap();
        assert!(crate::is_thermal_content(&png));
        let jpg = img.to_jpeg(80).unwrap();
        assert!(crate::is_thermal_content(&jpg));
        assert!(image::load_from_memory(&jpg).is_ok());
        assert!(image::load_from_memory(&png).is_ok());
    }
}
