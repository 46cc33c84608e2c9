//! The one PDF writer of Probity: every document the system hands out (the FR possible-match and
//! negative reports, disposition certificates, the annual oversight report, FOIL release letters)
//! is built here, so page layout, text encoding and file structure are right in one place.
//!
//! A [`Document`] is a list of blocks (title, subtitles, headings, paragraphs, label/value fields,
//! tables, monospace text, images) laid out top to bottom on A4 pages with automatic page breaks
//! and a footer "title — page n of N". The file is PDF 1.4 written by hand: the standard Type1
//! fonts Helvetica, Helvetica-Bold and Courier with WinAnsiEncoding (nothing embedded), images as
//! JPEG (DCTDecode), uncompressed content streams (the text stays searchable in the raw bytes), a
//! cross-reference table and an Info dictionary. The output depends only on the document and the
//! creation date given to [`Document::render_at`].

use std::fmt::Write as _;
use std::io::Cursor;

use chrono::{DateTime, Utc};
use image::RgbImage;

use crate::error::ApiError;

/// A4 in points (595.28 x 841.89, rounded as most writers do).
const PAGE_WIDTH: f64 = 595.0;
const PAGE_HEIGHT: f64 = 842.0;
const MARGIN_LEFT: f64 = 56.0;
const MARGIN_RIGHT: f64 = 56.0;
const MARGIN_TOP: f64 = 56.0;
/// Body content stays above this line; the footer sits below it.
const MARGIN_BOTTOM: f64 = 64.0;
const FOOTER_BASELINE: f64 = 34.0;
const CONTENT_WIDTH: f64 = PAGE_WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
const TOP: f64 = PAGE_HEIGHT - MARGIN_TOP;

/// Width of a field's label column, and the gap before its value.
const LABEL_WIDTH: f64 = 150.0;
const LABEL_GAP: f64 = 10.0;
/// Largest height of an embedded image.
const IMAGE_MAX_HEIGHT: f64 = 280.0;
/// Cell padding in tables.
const CELL_PAD_X: f64 = 4.0;
const CELL_PAD_Y: f64 = 3.0;

/// A document to render as PDF.
#[derive(Debug, Clone)]
pub struct Document {
    title: String,
    blocks: Vec<Block>,
    images: Vec<Jpeg>,
}

#[derive(Debug, Clone)]
enum Block {
    Subtitle(String),
    Heading(String),
    Paragraph(String),
    Field(String, String),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Monospace(String),
    Image {
        caption: String,
        index: usize,
    },
}

#[derive(Debug, Clone)]
struct Jpeg {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Document {
    /// A document whose title names it in the Info dictionary, heads its first page and appears in
    /// every page's footer.
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            blocks: Vec::new(),
            images: Vec::new(),
        }
    }

    /// A smaller line under the title.
    pub fn subtitle(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Subtitle(text.to_string()));
        self
    }

    /// A bold section heading, kept on the same page as the start of what follows it.
    pub fn heading(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Heading(text.to_string()));
        self
    }

    /// Body text, wrapped to the page width; line breaks in `text` are kept.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Paragraph(text.to_string()));
        self
    }

    /// A label (bold, left column) and its value (wrapped in the right column).
    pub fn field(&mut self, label: &str, value: &str) -> &mut Self {
        self.blocks
            .push(Block::Field(label.to_string(), value.to_string()));
        self
    }

    /// A table: column widths follow the content, cells wrap, and the header row is repeated at
    /// the top of every page the table continues on. Rows shorter than the header are padded with
    /// empty cells.
    pub fn table(&mut self, header: &[&str], rows: &[Vec<String>]) -> &mut Self {
        self.blocks.push(Block::Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: rows.to_vec(),
        });
        self
    }

    /// Courier text for hashes, signatures and identifiers; tokens longer than a line are broken
    /// across lines.
    pub fn monospace(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Monospace(text.to_string()));
        self
    }

    /// An image with a caption above it, embedded as JPEG and scaled to fit the page width and at
    /// most 280 points high.
    pub fn image(&mut self, caption: &str, img: &RgbImage) -> Result<&mut Self, ApiError> {
        if img.width() == 0 || img.height() == 0 {
            return Err(ApiError::internal(format!(
                "image \"{caption}\" for the PDF has no pixels"
            )));
        }
        let mut buf = Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 90)
            .encode_image(img)
            .map_err(ApiError::internal)?;
        self.images.push(Jpeg {
            width: img.width(),
            height: img.height(),
            data: buf.into_inner(),
        });
        self.blocks.push(Block::Image {
            caption: caption.to_string(),
            index: self.images.len() - 1,
        });
        Ok(self)
    }

    /// The PDF, created now.
    pub fn render(&self) -> Vec<u8> {
        self.render_at(Utc::now())
    }

    /// The PDF with the given creation date: the same document and date give the same bytes.
    pub fn render_at(&self, created: DateTime<Utc>) -> Vec<u8> {
        let pages = self.layout();
        write_file(&self.title, &pages, &self.images, created)
    }

    /// Lays the blocks out on pages; returns each page's content stream.
    fn layout(&self) -> Vec<String> {
        let mut l = Layout::new();
        for line in wrap_text(&self.title, Font::Bold, 16.0, CONTENT_WIDTH) {
            l.line(Font::Bold, 16.0, 20.0, MARGIN_LEFT, 0.0, &line);
        }
        l.y -= 6.0;
        for (i, block) in self.blocks.iter().enumerate() {
            // Subtitles sit close under the title; everything else starts a little apart from them.
            let after_subtitles = i > 0
                && matches!(self.blocks.get(i - 1), Some(Block::Subtitle(_)))
                && !matches!(block, Block::Subtitle(_));
            if after_subtitles {
                l.space(8.0);
            }
            match block {
                Block::Subtitle(text) => {
                    for line in wrap_text(text, Font::Regular, 11.0, CONTENT_WIDTH) {
                        l.line(Font::Regular, 11.0, 14.0, MARGIN_LEFT, 0.35, &line);
                    }
                    l.y -= 2.0;
                }
                Block::Heading(text) => {
                    l.space(10.0);
                    let lines = wrap_text(text, Font::Bold, 12.0, CONTENT_WIDTH);
                    // Keep the heading with at least two lines of what follows.
                    l.ensure(lines.len() as f64 * 15.0 + 26.0);
                    for line in lines {
                        l.line(Font::Bold, 12.0, 15.0, MARGIN_LEFT, 0.0, &line);
                    }
                    l.y -= 3.0;
                }
                Block::Paragraph(text) => {
                    for line in wrap_text(text, Font::Regular, 10.0, CONTENT_WIDTH) {
                        l.line(Font::Regular, 10.0, 13.0, MARGIN_LEFT, 0.0, &line);
                    }
                    l.space(6.0);
                }
                Block::Field(label, value) => {
                    let labels = wrap_text(label, Font::Bold, 10.0, LABEL_WIDTH);
                    let values = wrap_text(
                        value,
                        Font::Regular,
                        10.0,
                        CONTENT_WIDTH - LABEL_WIDTH - LABEL_GAP,
                    );
                    // A short field is not split across pages.
                    let rows = labels.len().max(values.len());
                    if rows <= 4 {
                        l.ensure(rows as f64 * 13.0);
                    }
                    for i in 0..rows {
                        l.ensure(13.0);
                        let baseline = l.y - 10.0;
                        if let Some(line) = labels.get(i) {
                            l.text(Font::Bold, 10.0, MARGIN_LEFT, baseline, 0.0, line);
                        }
                        if let Some(line) = values.get(i) {
                            let x = MARGIN_LEFT + LABEL_WIDTH + LABEL_GAP;
                            l.text(Font::Regular, 10.0, x, baseline, 0.0, line);
                        }
                        l.y -= 13.0;
                    }
                    l.space(3.0);
                }
                Block::Table { header, rows } => {
                    l.table(header, rows);
                    l.space(8.0);
                }
                Block::Monospace(text) => {
                    for line in wrap_text(text, Font::Mono, 9.0, CONTENT_WIDTH) {
                        l.line(Font::Mono, 9.0, 11.0, MARGIN_LEFT, 0.0, &line);
                    }
                    l.space(6.0);
                }
                Block::Image { caption, index } => {
                    if let Some(img) = self.images.get(*index) {
                        l.image(caption, *index, img);
                    }
                }
            }
        }
        l.finish()
    }
}

/// The three standard fonts the documents use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    const ALL: [Font; 3] = [Font::Regular, Font::Bold, Font::Mono];

    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
            Font::Mono => "F3",
        }
    }

    fn base_font(self) -> &'static str {
        match self {
            Font::Regular => "Helvetica",
            Font::Bold => "Helvetica-Bold",
            Font::Mono => "Courier",
        }
    }

    /// Advance width of one WinAnsi byte, in thousandths of the font size (Adobe's metrics).
    fn advance(self, b: u8) -> u16 {
        let table = match self {
            Font::Mono => return 600,
            Font::Regular => &HELVETICA,
            Font::Bold => &HELVETICA_BOLD,
        };
        usize::from(b)
            .checked_sub(32)
            .and_then(|i| table.get(i))
            .copied()
            .unwrap_or(278)
    }

    /// Width of encoded text in points.
    fn width(self, text: &[u8], size: f64) -> f64 {
        let units: u32 = text.iter().map(|&b| u32::from(self.advance(b))).sum();
        f64::from(units) * size / 1000.0
    }
}

/// Helvetica advance widths for WinAnsi codes 0x20..=0xFF (Adobe Font Metrics, Helvetica.afm).
#[rustfmt::skip]
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0x30
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // 0x50
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // 0x60
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350, // 0x70
    556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, // 0x80
    350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xA0
    400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xB0
    667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xC0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xD0
    556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278, // 0xE0
    556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500, // 0xF0
];

/// Helvetica-Bold advance widths for WinAnsi codes 0x20..=0xFF (Helvetica-Bold.afm).
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // 0x20
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0x30
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // 0x40
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // 0x50
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // 0x60
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350, // 0x70
    556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, // 0x80
    350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, // 0x90
    278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, // 0xA0
    400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611, // 0xB0
    722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278, // 0xC0
    722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611, // 0xD0
    556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278, // 0xE0
    611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556, // 0xF0
];

/// The WinAnsiEncoding byte of `c`, where the encoding has the character: printable ASCII and
/// Latin-1 (0xA0..=0xFF: §, é, ...) are themselves, and 0x80..=0x9F hold the typographic
/// characters (dashes, curly quotes, euro, ...).
fn winansi(c: char) -> Option<u8> {
    let code = u32::from(c);
    if (0x20..=0x7E).contains(&code) || (0xA0..=0xFF).contains(&code) {
        return u8::try_from(code).ok();
    }
    Some(match c {
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        // Characters WinAnsi lacks but has an equivalent for.
        '\u{2010}' | '\u{2011}' | '\u{2212}' => b'-',
        '\u{2012}' => 0x96,
        '\u{2015}' => 0x97,
        '\u{2032}' => b'\'',
        '\u{2033}' => b'"',
        '\u{2219}' => 0x95,
        _ => return None,
    })
}

/// One line of text (no line breaks) as WinAnsi bytes: white space becomes a space, zero-width
/// characters are dropped, and anything else the encoding lacks becomes '?'.
fn encode_line(s: &str) -> Vec<u8> {
    s.chars()
        .filter_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
            '\u{A0}' => Some(0xA0),
            c if c.is_whitespace() => Some(b' '),
            c => Some(winansi(c).unwrap_or(b'?')),
        })
        .collect()
}

/// Encoded bytes as a PDF literal string: ( ) \ escaped, anything outside printable ASCII written
/// as an octal escape so the content streams stay 7-bit.
fn literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('(');
    for &b in bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// A string for the Info dictionary: a literal when it is printable ASCII, otherwise UTF-16BE with
/// a byte-order mark (PDF text strings), so any title survives.
fn text_string(s: &str) -> String {
    if s.chars().all(|c| (' '..='~').contains(&c)) {
        return literal(s.as_bytes());
    }
    let mut out = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(out, "{unit:04X}");
    }
    out.push('>');
    out
}

/// Text wrapped into lines no wider than `max` points: explicit line breaks are kept, lines break
/// at spaces, and a word wider than a whole line is broken where it reaches the edge.
fn wrap_text(text: &str, font: Font, size: f64, max: f64) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for part in text.lines() {
        lines.extend(wrap(&encode_line(part), font, size, max));
    }
    if lines.is_empty() {
        lines.push(Vec::new());
    }
    lines
}

fn wrap(text: &[u8], font: Font, size: f64, max: f64) -> Vec<Vec<u8>> {
    // A little slack so that rounding never pushes a line that fits exactly onto the next one.
    let max = max + 0.001;
    let space = font.width(b" ", size);
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut line_width = 0.0;
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        let width = font.width(word, size);
        if !line.is_empty() && line_width + space + width <= max {
            line.push(b' ');
            line.extend_from_slice(word);
            line_width += space + width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if width <= max {
            line.extend_from_slice(word);
            line_width = width;
            continue;
        }
        // A token wider than a line (a hash, a signature, a URL) breaks at the edge.
        line_width = 0.0;
        for &b in word {
            let w = font.width(&[b], size);
            if !line.is_empty() && line_width + w > max {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            line.push(b);
            line_width += w;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Column widths for a table: columns whose content fits an even share keep their natural width,
/// the others share the rest in proportion to their natural widths; a table narrower than the
/// page is widened in proportion.
fn column_widths(natural: &[f64], total: f64) -> Vec<f64> {
    let natural: Vec<f64> = natural.iter().map(|w| w.max(1.0)).collect();
    let sum: f64 = natural.iter().sum();
    if sum <= total {
        return natural.iter().map(|w| w * total / sum).collect();
    }
    let mut fixed = vec![false; natural.len()];
    loop {
        let fixed_width: f64 = natural
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| **f)
            .map(|(w, _)| w)
            .sum();
        let flexible: f64 = natural
            .iter()
            .zip(&fixed)
            .filter(|(_, f)| !**f)
            .map(|(w, _)| w)
            .sum();
        let free = total - fixed_width;
        let even_share = free / fixed.iter().filter(|f| !**f).count().max(1) as f64;
        let mut changed = false;
        for (w, f) in natural.iter().zip(fixed.iter_mut()) {
            if !*f && *w <= even_share {
                *f = true;
                changed = true;
            }
        }
        if !changed || fixed.iter().all(|f| *f) {
            return natural
                .iter()
                .zip(&fixed)
                .map(|(w, f)| if *f { *w } else { free * w / flexible })
                .collect();
        }
    }
}

/// Pages being filled, top to bottom.
struct Layout {
    done: Vec<String>,
    current: String,
    /// The top of the space still free on the current page.
    y: f64,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            done: Vec::new(),
            current: String::new(),
            y: TOP,
        }
    }

    fn new_page(&mut self) {
        self.done.push(std::mem::take(&mut self.current));
        self.y = TOP;
    }

    fn at_top(&self) -> bool {
        self.y >= TOP
    }

    fn room(&self) -> f64 {
        self.y - MARGIN_BOTTOM
    }

    /// Starts a new page unless `height` fits on this one (or this one is still empty).
    fn ensure(&mut self, height: f64) {
        if height > self.room() && !self.at_top() {
            self.new_page();
        }
    }

    /// Vertical space, dropped at the top of a page.
    fn space(&mut self, height: f64) {
        if !self.at_top() {
            self.y -= height;
        }
    }

    fn text(&mut self, font: Font, size: f64, x: f64, baseline: f64, gray: f64, line: &[u8]) {
        if line.is_empty() {
            return;
        }
        let _ = writeln!(
            self.current,
            "BT {gray:.2} g /{} {size:.1} Tf {x:.2} {baseline:.2} Td {} Tj ET",
            font.resource(),
            literal(line)
        );
    }

    /// One line of text in the flow.
    fn line(&mut self, font: Font, size: f64, leading: f64, x: f64, gray: f64, line: &[u8]) {
        self.ensure(leading);
        let baseline = self.y - size;
        self.text(font, size, x, baseline, gray, line);
        self.y -= leading;
    }

    fn rule(&mut self, x0: f64, x1: f64, y: f64, gray: f64, width: f64) {
        let _ = writeln!(
            self.current,
            "{gray:.2} G {width:.2} w {x0:.2} {y:.2} m {x1:.2} {y:.2} l S"
        );
    }

    fn image(&mut self, caption: &str, index: usize, img: &Jpeg) {
        let caption = wrap_text(caption, Font::Bold, 9.0, CONTENT_WIDTH);
        let caption_height = caption.len() as f64 * 12.0;
        let (w, h) = (f64::from(img.width), f64::from(img.height));
        let max_height = IMAGE_MAX_HEIGHT.min(TOP - MARGIN_BOTTOM - caption_height - 4.0);
        let scale = (CONTENT_WIDTH / w).min(max_height / h);
        let (dw, dh) = (w * scale, h * scale);
        self.space(6.0);
        self.ensure(caption_height + 4.0 + dh);
        for line in &caption {
            self.line(Font::Bold, 9.0, 12.0, MARGIN_LEFT, 0.0, line);
        }
        self.y -= 4.0;
        let bottom = self.y - dh;
        let _ = writeln!(
            self.current,
            "q {dw:.2} 0 0 {dh:.2} {MARGIN_LEFT:.2} {bottom:.2} cm /Im{index} Do Q"
        );
        self.y = bottom - 8.0;
    }

    fn table(&mut self, header: &[String], rows: &[Vec<String>]) {
        const SIZE: f64 = 9.0;
        const LEADING: f64 = 11.0;
        let columns = rows
            .iter()
            .map(Vec::len)
            .chain(std::iter::once(header.len()))
            .max()
            .unwrap_or(0);
        if columns == 0 {
            return;
        }
        let cell = |row: &[String], i: usize| row.get(i).cloned().unwrap_or_default();
        // Natural width of a column: its widest line, unwrapped.
        let natural: Vec<f64> = (0..columns)
            .map(|i| {
                let widest = |font: Font, text: &str| {
                    text.lines()
                        .map(|l| font.width(&encode_line(l), SIZE))
                        .fold(0.0, f64::max)
                };
                rows.iter()
                    .map(|r| widest(Font::Regular, &cell(r, i)))
                    .chain(std::iter::once(widest(Font::Bold, &cell(header, i))))
                    .fold(0.0, f64::max)
                    + 2.0 * CELL_PAD_X
            })
            .collect();
        let widths = column_widths(&natural, CONTENT_WIDTH);
        let wrap_row = |row: &[String], font: Font| -> Vec<Vec<Vec<u8>>> {
            widths
                .iter()
                .enumerate()
                .map(|(i, w)| wrap_text(&cell(row, i), font, SIZE, (w - 2.0 * CELL_PAD_X).max(1.0)))
                .collect()
        };
        let header_cells = if header.is_empty() {
            None
        } else {
            Some(wrap_row(header, Font::Bold))
        };
        let height = |cells: &[Vec<Vec<u8>>]| {
            cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64 * LEADING + 2.0 * CELL_PAD_Y
        };

        // Header plus the first row (or the first line of it) stay together.
        let first_row = rows
            .first()
            .map(|r| height(&wrap_row(r, Font::Regular)))
            .unwrap_or(0.0)
            .min(LEADING + 2.0 * CELL_PAD_Y);
        let header_height = header_cells.as_deref().map(height).unwrap_or(0.0);
        self.ensure(header_height + first_row);
        if let Some(h) = &header_cells {
            self.table_row(h, &widths, 0, usize::MAX, Font::Bold, true);
        }
        let full_page = TOP - MARGIN_BOTTOM - header_height;
        for row in rows {
            let cells = wrap_row(row, Font::Regular);
            let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let mut start = 0;
            while start < lines {
                let remaining = lines - start;
                let fits = ((self.room() - 2.0 * CELL_PAD_Y) / LEADING)
                    .floor()
                    .max(0.0) as usize;
                let whole_fits_on_a_page =
                    remaining as f64 * LEADING + 2.0 * CELL_PAD_Y <= full_page;
                // Move a row to the next page rather than split it, unless it is taller than a
                // page; continue a split row on the next page.
                if fits == 0 || (fits < remaining && whole_fits_on_a_page) {
                    self.new_page();
                    if let Some(h) = &header_cells {
                        self.table_row(h, &widths, 0, usize::MAX, Font::Bold, true);
                    }
                    if fits == 0 && self.room() < LEADING + 2.0 * CELL_PAD_Y {
                        // Nothing fits even on a fresh page; draw anyway rather than loop.
                        self.table_row(&cells, &widths, start, remaining, Font::Regular, false);
                        break;
                    }
                    continue;
                }
                let take = remaining.min(fits);
                self.table_row(&cells, &widths, start, take, Font::Regular, false);
                start += take;
                if start < lines {
                    self.new_page();
                    if let Some(h) = &header_cells {
                        self.table_row(h, &widths, 0, usize::MAX, Font::Bold, true);
                    }
                }
            }
        }
    }

    /// Draws lines `start..start + count` of a table row at the current position.
    fn table_row(
        &mut self,
        cells: &[Vec<Vec<u8>>],
        widths: &[f64],
        start: usize,
        count: usize,
        font: Font,
        header: bool,
    ) {
        const SIZE: f64 = 9.0;
        const LEADING: f64 = 11.0;
        let lines = cells
            .iter()
            .map(|c| c.len().saturating_sub(start))
            .max()
            .unwrap_or(0)
            .min(count)
            .max(1);
        let height = lines as f64 * LEADING + 2.0 * CELL_PAD_Y;
        let top = self.y;
        if header {
            let _ = writeln!(
                self.current,
                "0.90 g {MARGIN_LEFT:.2} {:.2} {CONTENT_WIDTH:.2} {height:.2} re f 0 g",
                top - height
            );
        }
        let mut x = MARGIN_LEFT;
        for (c, w) in cells.iter().zip(widths) {
            for (i, line) in c.iter().skip(start).take(lines).enumerate() {
                let baseline = top - CELL_PAD_Y - i as f64 * LEADING - SIZE;
                self.text(font, SIZE, x + CELL_PAD_X, baseline, 0.0, line);
            }
            x += w;
        }
        self.y = top - height;
        let (gray, width) = if header { (0.0, 0.8) } else { (0.75, 0.4) };
        self.rule(
            MARGIN_LEFT,
            MARGIN_LEFT + CONTENT_WIDTH,
            self.y,
            gray,
            width,
        );
    }

    fn finish(mut self) -> Vec<String> {
        self.done.push(std::mem::take(&mut self.current));
        self.done
    }
}

/// The footer line of page `page` of `pages`: "title — page n of N", the title shortened with an
/// ellipsis when the line would not fit.
fn footer(title: &str, page: usize, pages: usize) -> Vec<u8> {
    const SIZE: f64 = 8.0;
    let tail = encode_line(&format!(" — page {page} of {pages}"));
    let mut head = encode_line(title);
    let fits = |head: &[u8]| {
        Font::Regular.width(head, SIZE) + Font::Regular.width(&tail, SIZE) <= CONTENT_WIDTH
    };
    if !fits(&head) {
        while !head.is_empty() && !fits(&[head.as_slice(), &[0x85]].concat()) {
            head.pop();
        }
        head.push(0x85);
    }
    head.extend_from_slice(&tail);
    head
}

/// Writes the file: objects, cross-reference table and trailer.
fn write_file(title: &str, pages: &[String], images: &[Jpeg], created: DateTime<Utc>) -> Vec<u8> {
    // Object numbers: 1 catalog, 2 page tree, 3 info, 4 shared resources, 5..=7 fonts, then the
    // images, then each page followed by its content stream.
    let first_font = 5;
    let first_image = first_font + Font::ALL.len();
    let first_page = first_image + images.len();
    let page_count = pages.len();

    let mut objects: Vec<Vec<u8>> = Vec::new();
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..page_count)
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    objects.push(
        format!(
            "<< /Type /Pages /Kids [{}] /Count {page_count} >>",
            kids.join(" ")
        )
        .into_bytes(),
    );
    objects.push(
        format!(
            "<< /Title {} /Producer (Probity) /CreationDate ({}) >>",
            text_string(title),
            created.format("D:%Y%m%d%H%M%SZ")
        )
        .into_bytes(),
    );
    let fonts: String = Font::ALL
        .iter()
        .enumerate()
        .map(|(i, f)| format!("/{} {} 0 R ", f.resource(), first_font + i))
        .collect();
    let xobjects: String = (0..images.len())
        .map(|i| format!("/Im{i} {} 0 R ", first_image + i))
        .collect();
    objects.push(
        format!("<< /ProcSet [/PDF /Text /ImageC] /Font << {fonts}>> /XObject << {xobjects}>> >>")
            .into_bytes(),
    );
    for f in Font::ALL {
        objects.push(
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{} /Encoding /WinAnsiEncoding >>",
                f.base_font()
            )
            .into_bytes(),
        );
    }
    for img in images {
        let mut o = format!(
            "<< /Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceRGB \
             /BitsPerComponent 8 /Filter /DCTDecode /Length {} >>\nstream\n",
            img.width,
            img.height,
            img.data.len()
        )
        .into_bytes();
        o.extend_from_slice(&img.data);
        o.extend_from_slice(b"\nendstream");
        objects.push(o);
    }
    for (i, content) in pages.iter().enumerate() {
        let mut content = content.clone();
        let footer_line = footer(title, i + 1, page_count);
        let x = (PAGE_WIDTH - Font::Regular.width(&footer_line, 8.0)) / 2.0;
        let _ = writeln!(
            content,
            "BT 0.35 g /F1 8.0 Tf {x:.2} {FOOTER_BASELINE:.2} Td {} Tj ET",
            literal(&footer_line)
        );
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources 4 0 R /Contents {} 0 R >>",
                first_page + 2 * i + 1
            )
            .into_bytes(),
        );
        let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        stream.extend_from_slice(content.as_bytes());
        stream.extend_from_slice(b"\nendstream");
        objects.push(stream);
    }

    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    fn text(pdf: &[u8]) -> String {
        String::from_utf8_lossy(pdf).into_owned()
    }

    /// The xref table's offsets, from startxref on.
    fn xref(pdf: &[u8]) -> (usize, Vec<usize>) {
        let s = text(pdf);
        let start: usize = s
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.trim().parse().ok())
            .expect("startxref");
        assert!(
            pdf[start..].starts_with(b"xref\n"),
            "startxref points at xref"
        );
        let table = String::from_utf8_lossy(&pdf[start..]).into_owned();
        let mut lines = table.lines().skip(1);
        let header = lines.next().expect("subsection header");
        let size: usize = header
            .split(' ')
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("size");
        let entries: Vec<&str> = lines.take(size).collect();
        assert_eq!(entries[0], "0000000000 65535 f ");
        let offsets = entries[1..]
            .iter()
            .map(|e| {
                assert_eq!(
                    e.len(),
                    19,
                    "xref entry is 20 bytes with its newline: {e:?}"
                );
                assert!(e.ends_with(" 00000 n "), "{e:?}");
                e[..10].parse().expect("offset")
            })
            .collect();
        (size, offsets)
    }

    fn long_document() -> Document {
        let mut d = Document::new("Annual oversight report 2026");
        d.subtitle("Facial recognition and thermal imaging use");
        for i in 0..60 {
            d.heading(&format!("Section {i}"));
            d.paragraph(
                &"Every request was reviewed by a supervisor before any search. ".repeat(6),
            );
            d.field("Requests", &format!("{}", i * 7));
        }
        d
    }

    #[test]
    fn pdf_xref_offsets_point_at_their_objects_and_trailer_counts_them() {
        let pdf = long_document().render_at(at());
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let (size, offsets) = xref(&pdf);
        assert_eq!(offsets.len() + 1, size);
        for (i, off) in offsets.iter().enumerate() {
            let want = format!("{} 0 obj\n", i + 1);
            assert!(
                pdf[*off..].starts_with(want.as_bytes()),
                "xref entry {} points at {:?}",
                i + 1,
                String::from_utf8_lossy(&pdf[*off..(*off + 20).min(pdf.len())])
            );
        }
        assert!(contains(
            &pdf,
            format!("trailer\n<< /Size {size} /Root 1 0 R /Info 3 0 R >>").as_bytes()
        ));
        // Every stream's /Length is the number of bytes up to its end-of-line and endstream.
        let s = text(&pdf);
        for part in s.split("<< /Length ").skip(1) {
            let len: usize = part
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("length");
            let data = part.split_once(">>\nstream\n").expect("stream").1;
            assert!(data.as_bytes()[len..].starts_with(b"\nendstream"));
        }
    }

    #[test]
    fn pdf_long_document_breaks_pages_with_numbered_footer() {
        let pdf = long_document().render_at(at());
        let pages = count(&pdf, b"/Type /Page ");
        assert!(
            pages > 1,
            "60 sections fill more than one page, got {pages}"
        );
        assert!(contains(&pdf, format!("/Count {pages} ").as_bytes()));
        for n in 1..=pages {
            // "title — page n of N", the em dash as WinAnsi 0x97 (octal 227).
            let footer = format!("(Annual oversight report 2026 \\227 page {n} of {pages})");
            assert_eq!(count(&pdf, footer.as_bytes()), 1, "footer of page {n}");
        }
        // No text is drawn below the footer margin's top or above the top margin.
        for line in text(&pdf).lines().filter(|l| l.contains(" Td (")) {
            let y: f64 = line
                .split(" Td")
                .next()
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|y| y.parse().ok())
                .expect("baseline");
            assert!(
                (FOOTER_BASELINE - 0.01..=TOP).contains(&y),
                "baseline {y} outside the page's text area"
            );
            if !line.contains(" page ") {
                assert!(y >= MARGIN_BOTTOM - 0.01, "body text at {y} in the footer");
            }
        }
    }

    #[test]
    fn pdf_literal_strings_escape_parentheses_and_backslash() {
        assert_eq!(literal(b"a(b)c\\d"), "(a\\(b\\)c\\\\d)");
        let mut d = Document::new("Escapes");
        d.paragraph("Unbalanced ) paren ( and C:\\path");
        let pdf = d.render_at(at());
        assert!(contains(
            &pdf,
            b"(Unbalanced \\) paren \\( and C:\\\\path) Tj"
        ));
    }

    #[test]
    fn pdf_winansi_maps_typographic_characters_and_replaces_the_rest() {
        assert_eq!(
            encode_line("§ é – — “q” ‘q’ € … • ™ ©"),
            vec![
                0xA7, b' ', 0xE9, b' ', 0x96, b' ', 0x97, b' ', 0x93, b'q', 0x94, b' ', 0x91, b'q',
                0x92, b' ', 0x80, b' ', 0x85, b' ', 0x95, b' ', 0x99, b' ', 0xA9
            ]
        );
        // Outside WinAnsi: one '?' per character, never a broken string.
        assert_eq!(encode_line("漢字 😀 ą"), b"?? ? ?".to_vec());
        // White space and control characters do not end up in the file raw.
        assert_eq!(encode_line("a\tb\u{7}c\u{200B}d"), b"a b?cd".to_vec());
        assert_eq!(
            literal(&encode_line("§ 5 — “x”")),
            "(\\247 5 \\227 \\223x\\224)"
        );
        let mut d = Document::new("Résumé — § 12");
        d.paragraph("Unicode 漢 😀 here");
        let pdf = d.render_at(at());
        assert!(contains(&pdf, b"(R\\351sum\\351 \\227 \\247 12) Tj"));
        assert!(contains(&pdf, b"(Unicode ? ? here) Tj"));
        // The file itself is 7-bit outside the binary comment and image data.
        assert!(pdf[15..].iter().all(|b| b.is_ascii()));
    }

    #[test]
    fn pdf_info_dictionary_has_title_producer_and_creation_date() {
        let pdf = Document::new("Disposition certificate").render_at(at());
        assert!(contains(
            &pdf,
            b"<< /Title (Disposition certificate) /Producer (Probity) /CreationDate (D:20261204100000Z) >>"
        ));
        // A title outside ASCII is kept whole, as UTF-16BE.
        let pdf = Document::new("§ é").render_at(at());
        assert!(contains(&pdf, b"/Title <FEFF00A7002000E9>"));
    }

    #[test]
    fn pdf_output_is_deterministic_apart_from_creation_date() {
        let a = long_document().render_at(at());
        let b = long_document().render_at(at());
        assert_eq!(a, b);
        let later = long_document().render_at(at() + chrono::Duration::days(1));
        assert_ne!(a, later);
        assert_eq!(a.len(), later.len());
    }

    #[test]
    fn pdf_table_header_repeats_on_every_page_it_continues_on() {
        let rows: Vec<Vec<String>> = (0..150)
            .map(|i| vec![format!("ITEM-{i:04}"), format!("description {i}")])
            .collect();
        let mut d = Document::new("Inventory");
        d.table(&["Item number", "What it is"], &rows);
        let pdf = d.render_at(at());
        let pages = count(&pdf, b"/Type /Page ");
        assert!(pages > 1);
        assert_eq!(count(&pdf, b"(Item number) Tj"), pages);
        for i in [0, 75, 149] {
            let cell = format!("(ITEM-{i:04}) Tj");
            assert_eq!(count(&pdf, cell.as_bytes()), 1, "row {i} drawn once");
        }
    }

    #[test]
    fn pdf_table_columns_fit_short_content_and_share_the_rest() {
        let widths = column_widths(&[60.0, 900.0, 50.0], 480.0);
        assert_eq!(widths[0], 60.0);
        assert_eq!(widths[2], 50.0);
        assert!((widths.iter().sum::<f64>() - 480.0).abs() < 0.001);
        // A narrow table is widened to the page in proportion.
        let widths = column_widths(&[40.0, 80.0], 480.0);
        assert!((widths[0] - 160.0).abs() < 0.001 && (widths[1] - 320.0).abs() < 0.001);
    }

    #[test]
    fn pdf_table_row_taller_than_a_page_is_split_not_lost() {
        let long = (0..200)
            .map(|i| format!("line{i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let mut d = Document::new("Tall row");
        d.table(&["Key", "Value"], &[vec!["k".to_string(), long]]);
        let pdf = d.render_at(at());
        let pages = count(&pdf, b"/Type /Page ");
        assert!(pages > 1);
        assert_eq!(count(&pdf, b"(Key) Tj"), pages);
        for i in [0, 100, 199] {
            assert_eq!(count(&pdf, format!("(line{i}) Tj").as_bytes()), 1);
        }
    }

    #[test]
    fn pdf_monospace_breaks_tokens_longer_than_a_line() {
        let signature =
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".repeat(4);
        let lines = wrap_text(&signature, Font::Mono, 9.0, CONTENT_WIDTH);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), signature.as_bytes());
        for l in &lines {
            assert!(Font::Mono.width(l, 9.0) <= CONTENT_WIDTH);
        }
        let mut d = Document::new("Signature");
        d.monospace(&signature);
        let pdf = d.render_at(at());
        assert!(contains(&pdf, b"/F3 9.0 Tf"));
        assert!(contains(
            &pdf,
            b"/BaseFont /Courier /Encoding /WinAnsiEncoding"
        ));
    }

    #[test]
    fn pdf_wrapped_lines_stay_within_the_width_and_keep_every_word() {
        let text = "The determination of a possible match candidate alone does not constitute \
                    probable cause; further investigation is needed. "
            .repeat(5);
        let lines = wrap_text(&text, Font::Regular, 10.0, 200.0);
        assert!(lines.len() > 5);
        for l in &lines {
            assert!(Font::Regular.width(l, 10.0) <= 200.0 + 0.001);
        }
        let words: Vec<&str> = text.split_whitespace().collect();
        let joined = String::from_utf8_lossy(&lines.join(&b' ')).into_owned();
        assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), words);
        // Explicit line breaks are kept.
        assert_eq!(wrap_text("a\nb", Font::Regular, 10.0, 200.0).len(), 2);
    }

    #[test]
    fn pdf_footer_shortens_a_long_title_to_fit_the_page() {
        let title = "Annual oversight report ".repeat(20);
        let line = footer(&title, 3, 12);
        assert!(Font::Regular.width(&line, 8.0) <= CONTENT_WIDTH);
        assert!(line.ends_with(b"\x85 \x97 page 3 of 12"), "{line:?}");
        assert_eq!(footer("Short", 1, 1), b"Short \x97 page 1 of 1".to_vec());
    }

    #[test]
    fn pdf_image_is_embedded_as_jpeg_with_dct_decode() {
        let img = RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut d = Document::new("Images");
        d.image("Probe", &img).expect("image");
        let pdf = d.render_at(at());
        assert!(contains(
            &pdf,
            b"/Width 40 /Height 30 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode"
        ));
        assert!(contains(&pdf, b"\xFF\xD8\xFF"), "JPEG start of image");
        assert!(contains(&pdf, b"/Im0 Do"));
        assert!(contains(&pdf, b"(Probe) Tj"));
        // Scaled to fit: never wider than the text column.
        let s = text(&pdf);
        let cm = s
            .lines()
            .find(|l| l.contains("/Im0 Do"))
            .expect("image drawn");
        let w: f64 = cm
            .split(' ')
            .nth(1)
            .and_then(|w| w.parse().ok())
            .expect("width");
        assert!(w <= CONTENT_WIDTH + 0.01);
        let empty = RgbImage::new(0, 0);
        assert!(Document::new("x").image("empty", &empty).is_err());
    }
}
