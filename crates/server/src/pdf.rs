//! The one PDF writer of Probity: every document the system hands out (the FR possible-match and
//! negative reports, disposition certificates, breach summaries, focused audits, the annual
//! oversight report) is built here, so page layout, fonts and file structure are right in one
//! place.
//!
//! A [`Document`] is a list of blocks (title, subtitles, headings, paragraphs, label/value fields,
//! tables, monospace text, JPEG images, SVG figures, a table of contents, page breaks) laid out
//! top to bottom on A4 pages with automatic page breaks and a footer "title — page n of N".
//! Layout happens here; the file is written by the `krilla` crate: DejaVu Sans, DejaVu Sans Bold
//! and DejaVu Sans Mono (Debian's fonts-dejavu-core, read at build time) are embedded as subsets
//! with a ToUnicode map, so any Unicode text the fonts cover is drawn and extractable; content
//! streams are compressed; SVG figures (plotters' charts) stay vector graphics through
//! `krilla-svg`; headings become the PDF outline; the title and creation date go into the
//! document information and XMP metadata. The output depends only on the document and the
//! creation date given to [`Document::render_at`].

use std::io::Cursor;
use std::sync::{Arc, LazyLock};

use chrono::{DateTime, Datelike, Timelike, Utc};
use image::RgbImage;
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Data;
use krilla_svg::{SurfaceExt, SvgSettings};

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
/// Coordinates below are PDF user space: y grows upwards from the bottom edge of the page.
const TOP: f64 = PAGE_HEIGHT - MARGIN_TOP;

/// Width of a field's label column, and the gap before its value.
const LABEL_WIDTH: f64 = 150.0;
const LABEL_GAP: f64 = 10.0;
/// Largest height of an embedded image.
const IMAGE_MAX_HEIGHT: f64 = 280.0;
/// Cell padding in tables.
const CELL_PAD_X: f64 = 4.0;
const CELL_PAD_Y: f64 = 3.0;
/// Width kept for the page numbers of the table of contents.
const CONTENTS_NUMBER_WIDTH: f64 = 40.0;

/// The embedded faces, from Debian's fonts-dejavu-core (scripts/setup.d/base.apt): DejaVu covers
/// Latin, Greek, Cyrillic, Armenian, Georgian, Hebrew, Arabic and most symbols, under the
/// permissive Bitstream Vera / Arev licence.
static SANS: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
static SANS_BOLD: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf");
static MONO: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf");

/// A document to render as PDF.
#[derive(Debug, Clone)]
pub struct Document {
    title: String,
    blocks: Vec<Block>,
    images: Vec<Jpeg>,
    figures: Vec<Figure>,
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
    Svg {
        caption: String,
        index: usize,
    },
    Contents,
    PageBreak,
}

#[derive(Debug, Clone)]
struct Jpeg {
    width: u32,
    height: u32,
    data: Arc<Vec<u8>>,
}

/// An SVG figure: its source (parsed again when drawn) and its size in SVG user units.
#[derive(Debug, Clone)]
struct Figure {
    source: String,
    width: f64,
    height: f64,
}

impl Document {
    /// A document whose title names it in the metadata, heads its first page and appears in
    /// every page's footer.
    pub fn new(title: &str) -> Document {
        Document {
            title: title.to_string(),
            blocks: Vec::new(),
            images: Vec::new(),
            figures: Vec::new(),
        }
    }

    /// A smaller line under the title.
    pub fn subtitle(&mut self, text: &str) -> &mut Self {
        self.blocks.push(Block::Subtitle(text.to_string()));
        self
    }

    /// A bold section heading, kept on the same page as the start of what follows it; it is an
    /// entry of the PDF outline (bookmarks) and of any table of contents before it.
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

    /// Monospaced text for hashes, signatures and identifiers; tokens longer than a line are
    /// broken across lines.
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
        let data = Arc::new(buf.into_inner());
        Image::from_jpeg(Data::from(data.clone()), true)
            .map_err(|e| ApiError::internal(format!("image \"{caption}\" for the PDF: {e}")))?;
        self.images.push(Jpeg {
            width: img.width(),
            height: img.height(),
            data,
        });
        self.blocks.push(Block::Image {
            caption: caption.to_string(),
            index: self.images.len() - 1,
        });
        Ok(self)
    }

    /// An SVG figure (a chart drawn by plotters' SVGBackend, say) as vector graphics scaled to the
    /// content width (and down to fit a page), with its caption under it. Text in the SVG is
    /// drawn with the document's fonts and stays extractable; images the SVG links to outside
    /// itself are not loaded (data: URLs are). An SVG that does not parse, or has no size, is
    /// refused with the parser's reason.
    pub fn svg(&mut self, caption: &str, svg: &str) -> Result<&mut Self, ApiError> {
        let tree = parse_svg(svg).map_err(|e| {
            bad_figure(format!(
                "figure \"{caption}\" for the PDF is not a valid SVG: {e}"
            ))
        })?;
        let size = tree.size();
        let (width, height) = (f64::from(size.width()), f64::from(size.height()));
        if !(width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0) {
            return Err(bad_figure(format!(
                "figure \"{caption}\" for the PDF is an SVG without a size"
            )));
        }
        self.figures.push(Figure {
            source: svg.to_string(),
            width,
            height,
        });
        self.blocks.push(Block::Svg {
            caption: caption.to_string(),
            index: self.figures.len() - 1,
        });
        Ok(self)
    }

    /// A table of contents at this point: every heading added after it, with the number of the
    /// page it is on (and a link to it).
    pub fn contents(&mut self) -> &mut Self {
        self.blocks.push(Block::Contents);
        self
    }

    /// What follows starts on a new page (nothing happens at the top of an empty page).
    pub fn page_break(&mut self) -> &mut Self {
        self.blocks.push(Block::PageBreak);
        self
    }

    /// The PDF, created now.
    pub fn render(&self) -> Vec<u8> {
        self.render_at(Utc::now())
    }

    /// The PDF with the given creation date: the same document and date give the same bytes.
    ///
    /// Should the PDF library refuse the document (it does not with the fonts and images this
    /// module hands it), the error is logged and a one-page PDF naming the title and the error
    /// is returned instead, so a caller never sends an empty file.
    pub fn render_at(&self, created: DateTime<Utc>) -> Vec<u8> {
        match self.try_render_at(created) {
            Ok(pdf) => pdf,
            Err(e) => {
                let cause = e.cause.as_deref().unwrap_or(&e.detail);
                tracing::error!(title = %self.title, error = %cause, "PDF not written");
                let mut fallback = Document::new(&self.title);
                fallback.paragraph(&format!("This document could not be drawn: {cause}"));
                fallback.try_render_at(created).unwrap_or_default()
            }
        }
    }

    /// The PDF with the given creation date, or why the PDF library refused it.
    pub fn try_render_at(&self, created: DateTime<Utc>) -> Result<Vec<u8>, ApiError> {
        // Two passes: the first finds the page of every heading, the second writes those pages
        // into the tables of contents (whose height does not depend on them).
        let first = self.layout(&[]);
        let laid = if self.blocks.iter().any(|b| matches!(b, Block::Contents)) {
            self.layout(&first.headings)
        } else {
            first
        };
        self.write(&laid, created)
    }

    /// Lays the blocks out on pages; `known` are the headings' places from an earlier pass.
    fn layout(&self, known: &[Mark]) -> Laid {
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
                    l.headings.push(Mark {
                        block: i,
                        text: clean_line(text),
                        page: l.done.len(),
                        y: l.y,
                    });
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
                Block::Field(label, value) => l.field(label, value),
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
                Block::Svg { caption, index } => {
                    if let Some(fig) = self.figures.get(*index) {
                        l.figure(caption, *index, fig);
                    }
                }
                Block::Contents => {
                    let entries: Vec<(String, Option<&Mark>)> = self
                        .blocks
                        .iter()
                        .enumerate()
                        .skip(i + 1)
                        .filter_map(|(j, b)| match b {
                            Block::Heading(text) => {
                                Some((text.clone(), known.iter().find(|m| m.block == j)))
                            }
                            _ => None,
                        })
                        .collect();
                    l.contents(&entries);
                }
                Block::PageBreak => {
                    if !l.at_top() {
                        l.new_page();
                    }
                }
            }
        }
        l.finish()
    }

    /// Draws the laid-out pages with krilla.
    fn write(&self, laid: &Laid, created: DateTime<Utc>) -> Result<Vec<u8>, ApiError> {
        let fonts = &*FONTS;
        let mut doc = krilla::Document::new();
        let page_count = laid.pages.len();
        let size = PageSettings::from_wh(PAGE_WIDTH as f32, PAGE_HEIGHT as f32)
            .ok_or_else(|| ApiError::internal("PDF page size"))?;
        for (n, ops) in laid.pages.iter().enumerate() {
            let mut page = doc.start_page_with(size.clone());
            let mut links = Vec::new();
            {
                let mut surface = page.surface();
                for op in ops {
                    match op {
                        Op::Text {
                            font,
                            size,
                            x,
                            baseline,
                            gray,
                            text,
                        } => draw_text(
                            &mut surface,
                            fonts,
                            *font,
                            *size,
                            *x,
                            *baseline,
                            *gray,
                            text,
                        ),
                        Op::Fill { x, y, w, h, gray } => {
                            if let Some(rect) = rect(*x, *y, *w, *h) {
                                let mut pb = PathBuilder::new();
                                pb.push_rect(rect);
                                if let Some(path) = pb.finish() {
                                    surface.set_stroke(None);
                                    surface.set_fill(Some(fill(*gray)));
                                    surface.draw_path(&path);
                                }
                            }
                        }
                        Op::Rule {
                            x0,
                            x1,
                            y,
                            gray,
                            width,
                        } => {
                            let mut pb = PathBuilder::new();
                            pb.move_to(*x0 as f32, flip(*y));
                            pb.line_to(*x1 as f32, flip(*y));
                            if let Some(path) = pb.finish() {
                                surface.set_fill(None);
                                surface.set_stroke(Some(Stroke {
                                    paint: luma::Color::new(gray_level(*gray)).into(),
                                    width: *width as f32,
                                    ..Stroke::default()
                                }));
                                surface.draw_path(&path);
                                surface.set_stroke(None);
                            }
                        }
                        Op::Image { index, x, y, w, h } => {
                            let img = self.images.get(*index).ok_or_else(|| {
                                ApiError::internal("PDF image index out of range")
                            })?;
                            let image = Image::from_jpeg(Data::from(img.data.clone()), true)
                                .map_err(|e| ApiError::internal(format!("PDF image: {e}")))?;
                            let size = Size::from_wh(*w as f32, *h as f32)
                                .ok_or_else(|| ApiError::internal("PDF image size"))?;
                            surface.push_transform(&Transform::from_translate(
                                *x as f32,
                                flip(*y + *h),
                            ));
                            surface.draw_image(image, size);
                            surface.pop();
                        }
                        Op::Svg { index, x, y, w, h } => {
                            let fig = self.figures.get(*index).ok_or_else(|| {
                                ApiError::internal("PDF figure index out of range")
                            })?;
                            let tree = parse_svg(&fig.source).map_err(|e| {
                                ApiError::internal(format!("PDF figure is not a valid SVG: {e}"))
                            })?;
                            let size = Size::from_wh(*w as f32, *h as f32)
                                .ok_or_else(|| ApiError::internal("PDF figure size"))?;
                            surface.push_transform(&Transform::from_translate(
                                *x as f32,
                                flip(*y + *h),
                            ));
                            surface.draw_svg(&tree, size, SvgSettings::default());
                            surface.pop();
                        }
                        Op::Link {
                            x,
                            y,
                            w,
                            h,
                            page,
                            top,
                        } => links.push((*x, *y, *w, *h, *page, *top)),
                    }
                }
                // The footer: "title — page n of N".
                let line = footer(&self.title, n + 1, page_count);
                let x = (PAGE_WIDTH - Font::Regular.width(&line, 8.0)) / 2.0;
                draw_text(
                    &mut surface,
                    fonts,
                    Font::Regular,
                    8.0,
                    x,
                    FOOTER_BASELINE,
                    0.35,
                    &line,
                );
                surface.finish();
            }
            for (x, y, w, h, target, top) in links {
                if target >= page_count {
                    continue;
                }
                if let Some(r) = rect(x, y, w, h) {
                    let dest = krilla::destination::XyzDestination::new(
                        target,
                        Point::from_xy(MARGIN_LEFT as f32, flip(top)),
                    );
                    page.add_annotation(krilla::annotation::Annotation::new_link(
                        krilla::annotation::LinkAnnotation::new(
                            r,
                            krilla::annotation::Target::Destination(
                                krilla::destination::Destination::Xyz(dest),
                            ),
                        ),
                        None,
                    ));
                }
            }
            page.finish();
        }

        let mut outline = Outline::new();
        for mark in &laid.headings {
            outline.push_child(OutlineNode::new(
                mark.text.clone(),
                krilla::destination::XyzDestination::new(
                    mark.page,
                    Point::from_xy(MARGIN_LEFT as f32, flip(mark.y)),
                ),
            ));
        }
        doc.set_outline(outline);
        doc.set_metadata(
            Metadata::new()
                .title(clean_line(&self.title))
                .producer("Probity".to_string())
                .creator("Probity".to_string())
                .language("en".to_string())
                .creation_date(pdf_date(created)),
        );
        doc.finish()
            .map_err(|e| ApiError::internal(format!("PDF not written: {e:?}")))
    }
}

/// A heading's place: its block, its text, its page (from 0) and the top of its first line.
#[derive(Debug, Clone)]
struct Mark {
    block: usize,
    text: String,
    page: usize,
    y: f64,
}

/// One drawing operation, in PDF user space (y up; `y` of a box is its bottom edge).
#[derive(Debug, Clone)]
enum Op {
    Text {
        font: Font,
        size: f64,
        x: f64,
        baseline: f64,
        gray: f64,
        text: String,
    },
    Fill {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        gray: f64,
    },
    Rule {
        x0: f64,
        x1: f64,
        y: f64,
        gray: f64,
        width: f64,
    },
    Image {
        index: usize,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
    Svg {
        index: usize,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
    },
    /// A link from this box to the point `top` on page `page`.
    Link {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        page: usize,
        top: f64,
    },
}

/// Pages laid out, and where the headings went.
struct Laid {
    pages: Vec<Vec<Op>>,
    headings: Vec<Mark>,
}

/// krilla's y (down from the top edge) of a PDF user-space y.
fn flip(y: f64) -> f32 {
    (PAGE_HEIGHT - y) as f32
}

/// krilla's rectangle of a box whose bottom-left corner is (x, y) in PDF user space.
fn rect(x: f64, y: f64, w: f64, h: f64) -> Option<Rect> {
    Rect::from_xywh(x as f32, flip(y + h), w as f32, h as f32)
}

/// A gray level 0.0 (black) ..= 1.0 (white) as an 8-bit lightness.
fn gray_level(gray: f64) -> u8 {
    (gray.clamp(0.0, 1.0) * 255.0).round() as u8
}

fn fill(gray: f64) -> Fill {
    Fill {
        paint: luma::Color::new(gray_level(gray)).into(),
        ..Fill::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_text(
    surface: &mut Surface<'_>,
    fonts: &Fonts,
    font: Font,
    size: f64,
    x: f64,
    baseline: f64,
    gray: f64,
    text: &str,
) {
    if text.is_empty() {
        return;
    }
    surface.set_stroke(None);
    surface.set_fill(Some(fill(gray)));
    surface.draw_text(
        Point::from_xy(x as f32, flip(baseline)),
        fonts.get(font).clone(),
        size as f32,
        text,
        false,
        TextDirection::Auto,
    );
}

/// The creation date for the PDF metadata, in UTC.
fn pdf_date(t: DateTime<Utc>) -> krilla::metadata::DateTime {
    let small = |v: u32| u8::try_from(v).unwrap_or(0);
    krilla::metadata::DateTime::new(u16::try_from(t.year()).unwrap_or(0))
        .month(small(t.month()))
        .day(small(t.day()))
        .hour(small(t.hour()))
        .minute(small(t.minute()))
        .second(small(t.second()))
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// The three faces, loaded once: krilla's fonts for drawing and ttf-parser's faces for the
/// advance widths the layout measures with.
struct Fonts {
    regular: krilla::text::Font,
    bold: krilla::text::Font,
    mono: krilla::text::Font,
}

impl Fonts {
    fn get(&self, font: Font) -> &krilla::text::Font {
        match font {
            Font::Regular => &self.regular,
            Font::Bold => &self.bold,
            Font::Mono => &self.mono,
        }
    }
}

fn krilla_font(data: &'static [u8], name: &str) -> krilla::text::Font {
    // The files are compiled in from the Debian package; a face krilla cannot read means the
    // package on the build machine is broken, not anything a user sent.
    krilla::text::Font::new(Data::from(data), 0)
        .unwrap_or_else(|| panic!("{name} (fonts-dejavu-core) is not a font krilla can read"))
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| Fonts {
    regular: krilla_font(SANS, "DejaVuSans.ttf"),
    bold: krilla_font(SANS_BOLD, "DejaVuSans-Bold.ttf"),
    mono: krilla_font(MONO, "DejaVuSansMono.ttf"),
});

fn face(data: &'static [u8], name: &str) -> ttf_parser::Face<'static> {
    ttf_parser::Face::parse(data, 0)
        .unwrap_or_else(|e| panic!("{name} (fonts-dejavu-core) does not parse: {e}"))
}

struct Faces {
    regular: ttf_parser::Face<'static>,
    bold: ttf_parser::Face<'static>,
    mono: ttf_parser::Face<'static>,
}

static FACES: LazyLock<Faces> = LazyLock::new(|| Faces {
    regular: face(SANS, "DejaVuSans.ttf"),
    bold: face(SANS_BOLD, "DejaVuSans-Bold.ttf"),
    mono: face(MONO, "DejaVuSansMono.ttf"),
});

/// The fonts SVG figures are drawn with: the document's own, nothing from the system.
static SVG_FONTS: LazyLock<Arc<usvg::fontdb::Database>> = LazyLock::new(|| {
    let mut db = usvg::fontdb::Database::new();
    for data in [SANS, SANS_BOLD, MONO] {
        db.load_font_data(data.to_vec());
    }
    db.set_sans_serif_family("DejaVu Sans");
    db.set_serif_family("DejaVu Sans");
    db.set_monospace_family("DejaVu Sans Mono");
    db.set_cursive_family("DejaVu Sans");
    db.set_fantasy_family("DejaVu Sans");
    Arc::new(db)
});

/// Parses an SVG with the document's fonts; `<image>` elements may use data: URLs only (no file
/// is ever read from a path the SVG names).
fn parse_svg(svg: &str) -> Result<usvg::Tree, usvg::Error> {
    let options = usvg::Options {
        font_family: "DejaVu Sans".to_string(),
        fontdb: SVG_FONTS.clone(),
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        ..usvg::Options::default()
    };
    usvg::Tree::from_str(svg, &options)
}

/// A figure the server drew wrongly: a server error whose detail says which figure and why.
fn bad_figure(detail: String) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "invalid-figure",
        detail.clone(),
    )
    .with_cause(detail)
}

/// The three faces the documents use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Font {
    Regular,
    Bold,
    Mono,
}

impl Font {
    fn face(self) -> &'static ttf_parser::Face<'static> {
        let faces = &*FACES;
        match self {
            Font::Regular => &faces.regular,
            Font::Bold => &faces.bold,
            Font::Mono => &faces.mono,
        }
    }

    /// Advance width of `c` in font units (the .notdef glyph's for a character the face lacks).
    fn advance(face: &ttf_parser::Face<'_>, c: char) -> u32 {
        let glyph = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
        u32::from(face.glyph_hor_advance(glyph).unwrap_or(0))
    }

    /// Width of a line of text in points (advance widths, no kerning: never narrower than drawn).
    fn width(self, text: &str, size: f64) -> f64 {
        let face = self.face();
        let units: u32 = text.chars().map(|c| Font::advance(face, c)).sum();
        f64::from(units) * size / f64::from(face.units_per_em().max(1))
    }
}

/// One line of text (no line breaks) as drawn: white space becomes a space, and zero-width and
/// other control characters are dropped.
fn clean_line(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
            '\u{A0}' => Some('\u{A0}'),
            c if c.is_whitespace() => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Text wrapped into lines no wider than `max` points: explicit line breaks are kept, lines break
/// at spaces, and a word wider than a whole line is broken where it reaches the edge.
fn wrap_text(text: &str, font: Font, size: f64, max: f64) -> Vec<String> {
    let mut lines = Vec::new();
    for part in text.lines() {
        lines.extend(wrap(&clean_line(part), font, size, max));
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

fn wrap(text: &str, font: Font, size: f64, max: f64) -> Vec<String> {
    // A little slack so that rounding never pushes a line that fits exactly onto the next one.
    let max = max + 0.001;
    let space = font.width(" ", size);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_width = 0.0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let width = font.width(word, size);
        if !line.is_empty() && line_width + space + width <= max {
            line.push(' ');
            line.push_str(word);
            line_width += space + width;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if width <= max {
            line.push_str(word);
            line_width = width;
            continue;
        }
        // A token wider than a line (a hash, a signature, a URL) breaks at the edge.
        line_width = 0.0;
        let mut buf = [0u8; 4];
        for c in word.chars() {
            let w = font.width(c.encode_utf8(&mut buf), size);
            if !line.is_empty() && line_width + w > max {
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
            }
            line.push(c);
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
    done: Vec<Vec<Op>>,
    current: Vec<Op>,
    /// The top of the space still free on the current page.
    y: f64,
    headings: Vec<Mark>,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            done: Vec::new(),
            current: Vec::new(),
            y: TOP,
            headings: Vec::new(),
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

    fn text(&mut self, font: Font, size: f64, x: f64, baseline: f64, gray: f64, line: &str) {
        if line.is_empty() {
            return;
        }
        self.current.push(Op::Text {
            font,
            size,
            x,
            baseline,
            gray,
            text: line.to_string(),
        });
    }

    /// One line of text in the flow.
    fn line(&mut self, font: Font, size: f64, leading: f64, x: f64, gray: f64, line: &str) {
        self.ensure(leading);
        let baseline = self.y - size;
        self.text(font, size, x, baseline, gray, line);
        self.y -= leading;
    }

    fn rule(&mut self, x0: f64, x1: f64, y: f64, gray: f64, width: f64) {
        self.current.push(Op::Rule {
            x0,
            x1,
            y,
            gray,
            width,
        });
    }

    fn field(&mut self, label: &str, value: &str) {
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
            self.ensure(rows as f64 * 13.0);
        }
        for i in 0..rows {
            self.ensure(13.0);
            let baseline = self.y - 10.0;
            if let Some(line) = labels.get(i) {
                self.text(Font::Bold, 10.0, MARGIN_LEFT, baseline, 0.0, line);
            }
            if let Some(line) = values.get(i) {
                let x = MARGIN_LEFT + LABEL_WIDTH + LABEL_GAP;
                self.text(Font::Regular, 10.0, x, baseline, 0.0, line);
            }
            self.y -= 13.0;
        }
        self.space(3.0);
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
        self.current.push(Op::Image {
            index,
            x: MARGIN_LEFT,
            y: bottom,
            w: dw,
            h: dh,
        });
        self.y = bottom - 8.0;
    }

    /// An SVG figure at the content width (smaller when it would not fit a page), centred, with
    /// its caption under it.
    fn figure(&mut self, caption: &str, index: usize, fig: &Figure) {
        let caption = wrap_text(caption, Font::Regular, 9.0, CONTENT_WIDTH);
        let caption_height = caption.len() as f64 * 12.0;
        let max_height = TOP - MARGIN_BOTTOM - caption_height - 6.0;
        let scale = (CONTENT_WIDTH / fig.width).min(max_height / fig.height);
        let (dw, dh) = (fig.width * scale, fig.height * scale);
        self.space(6.0);
        self.ensure(dh + 4.0 + caption_height);
        let bottom = self.y - dh;
        self.current.push(Op::Svg {
            index,
            x: MARGIN_LEFT + (CONTENT_WIDTH - dw) / 2.0,
            y: bottom,
            w: dw,
            h: dh,
        });
        self.y = bottom - 4.0;
        for line in &caption {
            let x = MARGIN_LEFT + (CONTENT_WIDTH - Font::Regular.width(line, 9.0)).max(0.0) / 2.0;
            self.line(Font::Regular, 9.0, 12.0, x, 0.25, line);
        }
        self.space(8.0);
    }

    /// A table of contents: "Contents", then one entry per heading with its page number at the
    /// right margin (blank while the pages are not known yet) and a link to the heading.
    fn contents(&mut self, entries: &[(String, Option<&Mark>)]) {
        const SIZE: f64 = 10.0;
        const LEADING: f64 = 14.0;
        self.space(10.0);
        self.ensure(15.0 + 26.0);
        self.line(Font::Bold, 12.0, 15.0, MARGIN_LEFT, 0.0, "Contents");
        self.y -= 5.0;
        let text_width = CONTENT_WIDTH - CONTENTS_NUMBER_WIDTH;
        for (text, mark) in entries {
            let lines = wrap_text(text, Font::Regular, SIZE, text_width);
            let height = lines.len() as f64 * LEADING;
            self.ensure(height);
            let top = self.y;
            for line in &lines {
                self.line(Font::Regular, SIZE, LEADING, MARGIN_LEFT, 0.0, line);
            }
            if let Some(mark) = mark {
                let number = (mark.page + 1).to_string();
                let x = MARGIN_LEFT + CONTENT_WIDTH - Font::Regular.width(&number, SIZE);
                let last_baseline = self.y + LEADING - SIZE;
                self.text(Font::Regular, SIZE, x, last_baseline, 0.0, &number);
                self.current.push(Op::Link {
                    x: MARGIN_LEFT,
                    y: self.y,
                    w: CONTENT_WIDTH,
                    h: top - self.y,
                    page: mark.page,
                    top: mark.y,
                });
            }
        }
        self.space(8.0);
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
                        .map(|l| font.width(&clean_line(l), SIZE))
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
        let wrap_row = |row: &[String], font: Font| -> Vec<Vec<String>> {
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
        let height = |cells: &[Vec<String>]| {
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
        cells: &[Vec<String>],
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
            self.current.push(Op::Fill {
                x: MARGIN_LEFT,
                y: top - height,
                w: CONTENT_WIDTH,
                h: height,
                gray: 0.90,
            });
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

    fn finish(mut self) -> Laid {
        self.done.push(std::mem::take(&mut self.current));
        Laid {
            pages: self.done,
            headings: self.headings,
        }
    }
}

/// The footer line of page `page` of `pages`: "title — page n of N", the title shortened with an
/// ellipsis when the line would not fit.
fn footer(title: &str, page: usize, pages: usize) -> String {
    const SIZE: f64 = 8.0;
    let tail = format!(" — page {page} of {pages}");
    let mut head = clean_line(title);
    let fits = |head: &str| {
        Font::Regular.width(head, SIZE) + Font::Regular.width(&tail, SIZE) <= CONTENT_WIDTH
    };
    if !fits(&head) {
        while !head.is_empty() && !fits(&format!("{head}…")) {
            head.pop();
        }
        head.push('…');
    }
    head.push_str(&tail);
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .expect("date")
            .with_timezone(&Utc)
    }

    /// The text lines a laid-out page draws, in order.
    fn texts(page: &[Op]) -> Vec<&str> {
        page.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Text of the PDF as poppler's pdftotext (Debian package poppler-utils) extracts it.
    fn pdftotext(pdf: &[u8]) -> String {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("doc.pdf");
        std::fs::write(&path, pdf).expect("write pdf");
        let out = std::process::Command::new("pdftotext")
            .args(["-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "pdftotext could not be run ({e}): install the Debian package poppler-utils \
                     (listed in scripts/setup.d/base.apt; run scripts/setup)"
                )
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "pdftotext failed: {stderr}");
        assert!(stderr.trim().is_empty(), "pdftotext complained: {stderr}");
        String::from_utf8_lossy(&out.stdout).into_owned()
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
    fn pdf_long_document_breaks_pages_and_keeps_text_inside_the_margins() {
        let laid = long_document().layout(&[]);
        assert!(laid.pages.len() > 1, "60 sections fill more than one page");
        for page in &laid.pages {
            for op in page {
                if let Op::Text { baseline, .. } = op {
                    assert!(
                        (MARGIN_BOTTOM - 0.01..=TOP).contains(baseline),
                        "baseline {baseline} outside the page's text area"
                    );
                }
            }
        }
        // Every heading is in the outline, on the page it was drawn on.
        assert_eq!(laid.headings.len(), 60);
        for mark in &laid.headings {
            assert!(texts(&laid.pages[mark.page]).contains(&mark.text.as_str()));
        }
        let text = pdftotext(&long_document().render_at(at()));
        let pages = laid.pages.len();
        for n in 1..=pages {
            let footer = format!("Annual oversight report 2026 — page {n} of {pages}");
            assert_eq!(text.matches(&footer).count(), 1, "footer of page {n}");
        }
    }

    #[test]
    fn pdf_output_is_deterministic_apart_from_creation_date() {
        let a = long_document().render_at(at());
        let b = long_document().render_at(at());
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a, b);
        let later = long_document().render_at(at() + chrono::Duration::days(1));
        assert_ne!(a, later);
    }

    #[test]
    fn pdf_text_outside_latin_1_is_drawn_and_extractable() {
        assert_eq!(clean_line("a\tb\u{7}c\u{200B}d"), "a bcd");
        let mut d = Document::new("Résumé — § 12");
        d.paragraph("Ωμέγα, Привет, Zażółć gęślą jaźń, “quoted” … €5 • ✓");
        d.monospace("sha256: ab12…ƒ");
        let text = pdftotext(&d.render_at(at()));
        for want in [
            "Résumé — § 12",
            "Ωμέγα, Привет, Zażółć gęślą jaźń, “quoted” … €5 • ✓",
            "sha256: ab12…ƒ",
        ] {
            assert!(
                text.contains(want),
                "pdftotext finds no {want:?} in:\n{text}"
            );
        }
    }

    #[test]
    fn pdf_table_header_repeats_on_every_page_it_continues_on() {
        let rows: Vec<Vec<String>> = (0..150)
            .map(|i| vec![format!("ITEM-{i:04}"), format!("description {i}")])
            .collect();
        let mut d = Document::new("Inventory");
        d.table(&["Item number", "What it is"], &rows);
        let laid = d.layout(&[]);
        assert!(laid.pages.len() > 1);
        for page in &laid.pages {
            assert_eq!(
                texts(page).iter().filter(|t| **t == "Item number").count(),
                1
            );
        }
        let all: Vec<&str> = laid.pages.iter().flat_map(|p| texts(p)).collect();
        for i in [0, 75, 149] {
            let cell = format!("ITEM-{i:04}");
            assert_eq!(
                all.iter().filter(|t| **t == cell).count(),
                1,
                "row {i} once"
            );
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
        let laid = d.layout(&[]);
        assert!(laid.pages.len() > 1);
        let all: Vec<&str> = laid.pages.iter().flat_map(|p| texts(p)).collect();
        assert_eq!(
            all.iter().filter(|t| **t == "Key").count(),
            laid.pages.len()
        );
        for i in [0, 100, 199] {
            let line = format!("line{i}");
            assert_eq!(all.iter().filter(|t| **t == line).count(), 1);
        }
    }

    #[test]
    fn pdf_monospace_breaks_tokens_longer_than_a_line() {
        let signature =
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".repeat(4);
        let lines = wrap_text(&signature, Font::Mono, 9.0, CONTENT_WIDTH);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), signature);
        for l in &lines {
            assert!(Font::Mono.width(l, 9.0) <= CONTENT_WIDTH);
        }
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
        let joined = lines.join(" ");
        assert_eq!(joined.split_whitespace().collect::<Vec<_>>(), words);
        // Explicit line breaks are kept.
        assert_eq!(wrap_text("a\nb", Font::Regular, 10.0, 200.0).len(), 2);
    }

    #[test]
    fn pdf_footer_shortens_a_long_title_to_fit_the_page() {
        let title = "Annual oversight report ".repeat(20);
        let line = footer(&title, 3, 12);
        assert!(Font::Regular.width(&line, 8.0) <= CONTENT_WIDTH);
        assert!(line.ends_with("… — page 3 of 12"), "{line:?}");
        assert_eq!(footer("Short", 1, 1), "Short — page 1 of 1");
    }

    #[test]
    fn pdf_image_is_scaled_into_the_column_and_an_empty_one_refused() {
        let img = RgbImage::from_fn(400, 30, |x, y| image::Rgb([x as u8, y as u8, 90]));
        let mut d = Document::new("Images");
        d.image("Probe", &img).expect("image");
        let laid = d.layout(&[]);
        let drawn = laid.pages[0]
            .iter()
            .find_map(|op| match op {
                Op::Image { w, h, .. } => Some((*w, *h)),
                _ => None,
            })
            .expect("image drawn");
        assert!(drawn.0 <= CONTENT_WIDTH + 0.01);
        assert!(
            (drawn.0 / drawn.1 - 400.0 / 30.0).abs() < 0.01,
            "aspect kept"
        );
        assert!(pdftotext(&d.render_at(at())).contains("Probe"));
        let empty = RgbImage::new(0, 0);
        assert!(Document::new("x").image("empty", &empty).is_err());
    }

    #[test]
    fn pdf_svg_is_scaled_to_the_content_width_and_a_bad_one_refused() {
        let svg = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">
            <rect x="10" y="10" width="80" height="60" fill="steelblue"/>
            <text x="100" y="50" font-family="sans-serif" font-size="12">Requests 42</text>
        </svg>"#;
        let mut d = Document::new("Figures");
        d.svg("Figure 1: requests", svg).expect("svg");
        let laid = d.layout(&[]);
        let drawn = laid.pages[0]
            .iter()
            .find_map(|op| match op {
                Op::Svg { w, h, .. } => Some((*w, *h)),
                _ => None,
            })
            .expect("figure drawn");
        assert!((drawn.0 - CONTENT_WIDTH).abs() < 0.01);
        assert!((drawn.1 - CONTENT_WIDTH / 2.0).abs() < 0.01);
        let text = pdftotext(&d.render_at(at()));
        assert!(text.contains("Figure 1: requests"), "{text}");
        assert!(text.contains("Requests 42"), "SVG text stays text: {text}");
        let err = Document::new("x")
            .svg("broken", "<svg><rect")
            .expect_err("refused");
        assert!(err.detail.contains("\"broken\""), "{}", err.detail);
        assert!(err.detail.contains("not a valid SVG"), "{}", err.detail);
    }

    #[test]
    fn pdf_contents_lists_later_headings_with_their_pages() {
        let mut d = Document::new("Report");
        d.heading("Before the contents");
        d.contents();
        for i in 0..30 {
            d.heading(&format!("Part {i}"));
            d.paragraph(&"Text of the part. ".repeat(40));
        }
        d.page_break();
        d.heading("Annex");
        let first = d.layout(&[]);
        let laid = d.layout(&first.headings);
        assert_eq!(first.pages.len(), laid.pages.len(), "same pagination");
        let annex = laid
            .headings
            .iter()
            .find(|m| m.text == "Annex")
            .expect("annex");
        assert!(annex.page > 1);
        let page0 = texts(&laid.pages[0]);
        assert!(page0.contains(&"Contents"));
        assert!(!page0.contains(&"Before the contents") || page0.contains(&"Part 0"));
        // Each entry is followed by its page number (from 1).
        let pos = page0.iter().position(|t| *t == "Annex").expect("entry");
        assert_eq!(page0[pos + 1], (annex.page + 1).to_string());
        let links = laid.pages[0]
            .iter()
            .filter(|op| matches!(op, Op::Link { .. }))
            .count();
        assert_eq!(links, 31, "one link per entry, none for the heading before");
    }
}
