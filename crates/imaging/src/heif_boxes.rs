//! A pure-Rust walk of a HEIF container's boxes, run before libheif sees a single byte.
//!
//! The walk reads `ftyp` and the `meta` box (hdlr, pitm, iinf/infe, iref, iloc, idat,
//! iprp/ipco/ipma with ispe, irot, imir, pixi) under fixed structure limits (nesting depth, number
//! of boxes, number of items, extents per item), and checks every declared image size against
//! the caller's [`DecodeLimits`]: each `ispe` property, the output size of a `grid` or `iovl`
//! primary image (read from the item's own data through `iloc`), and the sum of a grid's tiles.
//! It reads the primary image's `Exif` and XMP items through `iloc` too, so camera metadata
//! never needs libheif.
//!
//! Nothing here allocates by a size the file declares: every buffer is bounded by the file's
//! own length or by the structure limits, so a file declaring 100 000 × 100 000 pixels is
//! refused in a few kilobytes of memory.

use std::collections::HashMap;

use crate::decode::DecodeLimits;
use crate::error::ImagingError;
use crate::format::FileFormat;

/// Deepest box nesting the walk accepts below the top level of the file (a real file nests
/// about four levels: meta, iprp, ipco, property).
pub const HEIF_MAX_BOX_DEPTH: usize = 16;
/// Most boxes the walk visits in one file (an iPhone photo has about 150).
pub const HEIF_MAX_BOXES: usize = 65_536;
/// Most items (`infe` entries, `iloc` entries, `ipma` entries) one file may declare.
pub const HEIF_MAX_ITEMS: usize = 8_192;
/// Most extents one item's data may be split into.
pub const HEIF_MAX_EXTENTS_PER_ITEM: usize = 256;
/// Most item references (`iref` targets) in one file.
pub const HEIF_MAX_REFERENCES: usize = 65_536;

/// What the walk found: the primary image, its declared size and orientation properties, and
/// its metadata items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeifInspection {
    /// The primary item (`pitm`).
    pub primary_item: u32,
    /// Its item type: `hvc1` (one coded image), `grid`, `iovl`, `iden`, ...
    pub primary_type: String,
    /// The primary image's declared width (`ispe`, before rotation).
    pub width: u32,
    /// The primary image's declared height (`ispe`, before rotation).
    pub height: u32,
    /// Counter-clockwise quarter turns (`irot`), 0..=3.
    pub rotation: u8,
    /// Mirror axis (`imir`): 0 vertical axis, 1 horizontal axis.
    pub mirror: Option<u8>,
    /// Bits per channel of the primary image (`pixi`), when declared.
    pub bits_per_channel: Vec<u8>,
    /// Rows and columns of a `grid` primary image.
    pub grid: Option<(u32, u32)>,
    /// Declared sizes of the primary image's thumbnails (`thmb`).
    pub thumbnails: Vec<(u32, u32)>,
    /// Every item in the file.
    pub item_count: usize,
    /// Every box visited.
    pub box_count: usize,
    /// Deepest nesting met.
    pub max_depth: usize,
    /// The largest number of pixels a decoder must produce for the primary image (its own
    /// size, or the sum of a grid's tiles when larger).
    pub pixels_to_decode: u64,
    /// The EXIF TIFF structure of the primary image (the item's 4-byte header offset skipped).
    pub exif: Option<Vec<u8>>,
    /// XMP packets (`mime` items of type application/rdf+xml) of the primary image.
    pub xmp: Vec<Vec<u8>>,
}

/// Walk a HEIF file's boxes under the structure limits and check every declared image size
/// against `limits`, before any decoder runs. Refusals name the limit.
pub fn inspect_heif(bytes: &[u8], limits: &DecodeLimits) -> Result<HeifInspection, ImagingError> {
    limits.check_bytes(bytes.len() as u64)?;
    let file = parse(bytes)?;
    let mut inspection = file.inspection(bytes)?;
    inspection.pixels_to_decode = file.check_sizes(bytes, limits, &inspection)?;
    Ok(inspection)
}

/// The same walk with structure limits only (depth, boxes, items): for reading metadata, which
/// decodes nothing and so allocates nothing by a declared image size.
pub(crate) fn inspect_structure(bytes: &[u8]) -> Result<HeifInspection, ImagingError> {
    let file = parse(bytes)?;
    file.inspection(bytes)
}

fn refused(detail: impl Into<String>) -> ImagingError {
    ImagingError::HeifRefused {
        detail: detail.into(),
    }
}

fn corrupt(detail: impl Into<String>) -> ImagingError {
    ImagingError::corrupt(FileFormat::Heif, detail)
}

fn no_image(detail: impl Into<String>) -> ImagingError {
    ImagingError::HeifNoImage {
        detail: detail.into(),
    }
}

fn fourcc(t: [u8; 4]) -> String {
    t.iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '?'
            }
        })
        .collect()
}

/// A byte reader over one box's payload; every read is bounds-checked.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Reader { data, pos: 0, what }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ImagingError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(corrupt(format!(
                "the '{}' box ends before its fields do",
                self.what
            ))),
        }
    }

    fn u8(&mut self) -> Result<u8, ImagingError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ImagingError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ImagingError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, ImagingError> {
        let b = self.take(8)?;
        Ok(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    /// An unsigned field of 0, 4 or 8 bytes (iloc sizes).
    fn sized(&mut self, size: u8) -> Result<u64, ImagingError> {
        match size {
            0 => Ok(0),
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            other => Err(corrupt(format!(
                "the '{}' box uses a field size of {other} bytes (allowed: 0, 4, 8)",
                self.what
            ))),
        }
    }

    /// Version and flags of a full box.
    fn full(&mut self) -> Result<(u8, u32), ImagingError> {
        let v = self.u32()?;
        Ok(((v >> 24) as u8, v & 0x00FF_FFFF))
    }

    /// A null-terminated string (or the rest of the box when unterminated).
    fn cstr(&mut self) -> String {
        let rest = &self.data[self.pos.min(self.data.len())..];
        let n = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        self.pos = (self.pos + n + 1).min(self.data.len());
        String::from_utf8_lossy(&rest[..n]).into_owned()
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.pos.min(self.data.len())..]
    }
}

/// One box: its type, where its payload lies in the file.
#[derive(Clone, Copy)]
struct BoxRef {
    kind: [u8; 4],
    /// Payload start (after the header), absolute in the file.
    start: usize,
    end: usize,
}

/// Counts boxes and nesting across the whole walk.
struct Budget {
    boxes: usize,
    max_depth: usize,
}

impl Budget {
    fn enter(&mut self, depth: usize) -> Result<(), ImagingError> {
        if depth > HEIF_MAX_BOX_DEPTH {
            return Err(refused(format!(
                "its boxes nest deeper than {HEIF_MAX_BOX_DEPTH} levels (limit HEIF_MAX_BOX_DEPTH)"
            )));
        }
        self.max_depth = self.max_depth.max(depth);
        Ok(())
    }

    fn count(&mut self) -> Result<(), ImagingError> {
        self.boxes += 1;
        if self.boxes > HEIF_MAX_BOXES {
            return Err(refused(format!(
                "it holds more than {HEIF_MAX_BOXES} boxes (limit HEIF_MAX_BOXES)"
            )));
        }
        Ok(())
    }
}

/// The boxes between `start` and `end` of the file (a box running past `end` is an error).
fn children(
    bytes: &[u8],
    start: usize,
    end: usize,
    budget: &mut Budget,
) -> Result<Vec<BoxRef>, ImagingError> {
    let mut out = Vec::new();
    let mut i = start;
    while i < end {
        budget.count()?;
        let Some(h) = bytes.get(i..i + 8).filter(|_| i + 8 <= end) else {
            return Err(corrupt(format!(
                "file is truncated: it ends inside a box header at byte {i}"
            )));
        };
        let kind = [h[4], h[5], h[6], h[7]];
        let (size, header) = match u32::from_be_bytes([h[0], h[1], h[2], h[3]]) {
            0 => ((end - i) as u64, 8usize),
            1 => match bytes.get(i + 8..i + 16).filter(|_| i + 16 <= end) {
                Some(b) => (
                    u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
                    16,
                ),
                None => {
                    return Err(corrupt(format!(
                        "file is truncated inside the '{}' box header",
                        fourcc(kind)
                    )))
                }
            },
            n => (n as u64, 8),
        };
        if size < header as u64 {
            return Err(corrupt(format!(
                "box '{}' at byte {i} has an invalid size {size}",
                fourcc(kind)
            )));
        }
        let box_end = (i as u64).saturating_add(size);
        if box_end > end as u64 {
            return Err(corrupt(if end == bytes.len() {
                format!(
                    "file is truncated: box '{}' needs {box_end} bytes but the file has {end}",
                    fourcc(kind)
                )
            } else {
                format!(
                    "box '{}' at byte {i} runs past the end of the box holding it (byte {end})",
                    fourcc(kind)
                )
            }));
        }
        let box_end = box_end as usize;
        out.push(BoxRef {
            kind,
            start: i + header,
            end: box_end,
        });
        i = box_end;
    }
    Ok(out)
}

/// Boxes that hold only other boxes (after `skip` bytes of their own fields), which the walk
/// descends into to enforce the nesting limit wherever they appear.
fn container_skip(kind: &[u8; 4]) -> Option<usize> {
    match kind {
        b"iprp" | b"ipco" | b"dinf" | b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"edts"
        | b"udta" | b"grpl" | b"mvex" | b"moof" | b"traf" => Some(0),
        b"meta" => Some(4),
        b"dref" => Some(8),
        _ => None,
    }
}

#[derive(Debug, Clone, Default)]
struct Item {
    kind: [u8; 4],
    content_type: String,
}

#[derive(Debug, Clone)]
enum Property {
    Ispe(u32, u32),
    /// The coded picture size in an `hvcC` box's sequence parameter set, when readable.
    HevcCoded(u32, u32),
    Irot(u8),
    Imir(u8),
    Pixi(Vec<u8>),
    Other,
}

#[derive(Debug, Clone, Default)]
struct Location {
    method: u8,
    data_reference: u16,
    base: u64,
    extents: Vec<(u64, u64)>,
}

#[derive(Default)]
struct HeifFile {
    primary: Option<u32>,
    items: HashMap<u32, Item>,
    item_order: Vec<u32>,
    properties: Vec<Property>,
    associations: HashMap<u32, Vec<u16>>,
    locations: HashMap<u32, Location>,
    /// (reference type, from, to)
    references: Vec<([u8; 4], u32, Vec<u32>)>,
    idat: Option<(usize, usize)>,
    boxes: usize,
    max_depth: usize,
}

/// Walk the whole file.
fn parse(bytes: &[u8]) -> Result<HeifFile, ImagingError> {
    let mut budget = Budget {
        boxes: 0,
        max_depth: 0,
    };
    let top = children(bytes, 0, bytes.len(), &mut budget)?;
    match top.first() {
        Some(b) if &b.kind == b"ftyp" => {}
        _ => return Err(corrupt("the file does not start with an 'ftyp' box")),
    }
    let metas: Vec<&BoxRef> = top.iter().filter(|b| &b.kind == b"meta").collect();
    let meta = match metas.as_slice() {
        [one] => **one,
        [] => return Err(no_image("the file has no 'meta' box")),
        _ => return Err(corrupt("the file has more than one top-level 'meta' box")),
    };
    let mut file = HeifFile::default();
    // Other top-level containers are walked for their nesting only.
    for b in &top {
        if b.start != meta.start && container_skip(&b.kind).is_some() {
            walk_nesting(bytes, b, 1, &mut budget)?;
        }
    }
    budget.enter(1)?;
    let meta_children = children(
        bytes,
        meta.start.saturating_add(4).min(meta.end),
        meta.end,
        &mut budget,
    )?;
    for b in &meta_children {
        budget.enter(2)?;
        let payload = &bytes[b.start..b.end];
        match &b.kind {
            b"pitm" => {
                let mut r = Reader::new(payload, "pitm");
                let (v, _) = r.full()?;
                file.primary = Some(if v == 0 { r.u16()? as u32 } else { r.u32()? });
            }
            b"iinf" => parse_iinf(bytes, b, &mut file, &mut budget)?,
            b"iloc" => parse_iloc(payload, &mut file)?,
            b"iref" => parse_iref(bytes, b, &mut file, &mut budget)?,
            b"iprp" => parse_iprp(bytes, b, &mut file, &mut budget)?,
            b"idat" => file.idat = Some((b.start, b.end)),
            kind if container_skip(kind).is_some() => walk_nesting(bytes, b, 2, &mut budget)?,
            _ => {}
        }
    }
    file.boxes = budget.boxes;
    file.max_depth = budget.max_depth;
    Ok(file)
}

/// Descend into a container only to count its boxes and enforce the nesting limit.
fn walk_nesting(
    bytes: &[u8],
    b: &BoxRef,
    depth: usize,
    budget: &mut Budget,
) -> Result<(), ImagingError> {
    budget.enter(depth)?;
    let Some(skip) = container_skip(&b.kind) else {
        return Ok(());
    };
    let start = b.start.saturating_add(skip).min(b.end);
    for c in children(bytes, start, b.end, budget)? {
        if container_skip(&c.kind).is_some() {
            walk_nesting(bytes, &c, depth + 1, budget)?;
        } else {
            budget.enter(depth + 1)?;
        }
    }
    Ok(())
}

fn too_many_items(what: &str, n: u64) -> ImagingError {
    refused(format!(
        "its '{what}' box declares {n} items, more than {HEIF_MAX_ITEMS} (limit HEIF_MAX_ITEMS)"
    ))
}

fn parse_iinf(
    bytes: &[u8],
    b: &BoxRef,
    file: &mut HeifFile,
    budget: &mut Budget,
) -> Result<(), ImagingError> {
    let mut r = Reader::new(&bytes[b.start..b.end], "iinf");
    let (v, _) = r.full()?;
    let count = if v == 0 {
        r.u16()? as u64
    } else {
        r.u32()? as u64
    };
    if count > HEIF_MAX_ITEMS as u64 {
        return Err(too_many_items("iinf", count));
    }
    let start = b.start + r.pos;
    for e in children(bytes, start, b.end, budget)? {
        budget.enter(3)?;
        if &e.kind != b"infe" {
            continue;
        }
        if file.items.len() >= HEIF_MAX_ITEMS {
            return Err(too_many_items("iinf", file.items.len() as u64 + 1));
        }
        let mut r = Reader::new(&bytes[e.start..e.end], "infe");
        let (v, _) = r.full()?;
        let (id, item) = if v >= 2 {
            let id = if v == 2 { r.u16()? as u32 } else { r.u32()? };
            let _protection = r.u16()?;
            let t = r.take(4)?;
            let kind = [t[0], t[1], t[2], t[3]];
            let _name = r.cstr();
            let content_type = if &kind == b"mime" {
                r.cstr()
            } else {
                String::new()
            };
            (id, Item { kind, content_type })
        } else {
            // Versions 0 and 1 describe untyped (MIME) items.
            let id = r.u16()? as u32;
            let _protection = r.u16()?;
            let _name = r.cstr();
            let content_type = r.cstr();
            (
                id,
                Item {
                    kind: *b"mime",
                    content_type,
                },
            )
        };
        if file.items.insert(id, item).is_some() {
            return Err(corrupt(format!("item {id} is declared twice")));
        }
        file.item_order.push(id);
    }
    Ok(())
}

fn parse_iloc(payload: &[u8], file: &mut HeifFile) -> Result<(), ImagingError> {
    let mut r = Reader::new(payload, "iloc");
    let (v, _) = r.full()?;
    if v > 2 {
        return Err(corrupt(format!("unknown 'iloc' version {v}")));
    }
    let a = r.u8()?;
    let (offset_size, length_size) = (a >> 4, a & 15);
    let b = r.u8()?;
    let (base_size, index_size) = (b >> 4, if v >= 1 { b & 15 } else { 0 });
    let count = if v < 2 {
        r.u16()? as u64
    } else {
        r.u32()? as u64
    };
    if count > HEIF_MAX_ITEMS as u64 {
        return Err(too_many_items("iloc", count));
    }
    for _ in 0..count {
        let id = if v < 2 { r.u16()? as u32 } else { r.u32()? };
        let method = if v >= 1 { (r.u16()? & 15) as u8 } else { 0 };
        let data_reference = r.u16()?;
        let base = r.sized(base_size)?;
        let n = r.u16()? as usize;
        if n > HEIF_MAX_EXTENTS_PER_ITEM {
            return Err(refused(format!(
                "item {id} is split into {n} extents, more than {HEIF_MAX_EXTENTS_PER_ITEM} (limit HEIF_MAX_EXTENTS_PER_ITEM)"
            )));
        }
        let mut extents = Vec::with_capacity(n);
        for _ in 0..n {
            if index_size > 0 {
                r.sized(index_size)?;
            }
            let offset = r.sized(offset_size)?;
            let length = r.sized(length_size)?;
            extents.push((offset, length));
        }
        file.locations.insert(
            id,
            Location {
                method,
                data_reference,
                base,
                extents,
            },
        );
    }
    Ok(())
}

fn parse_iref(
    bytes: &[u8],
    b: &BoxRef,
    file: &mut HeifFile,
    budget: &mut Budget,
) -> Result<(), ImagingError> {
    let mut r = Reader::new(&bytes[b.start..b.end], "iref");
    let (v, _) = r.full()?;
    let mut total = 0usize;
    for c in children(bytes, b.start + 4, b.end, budget)? {
        budget.enter(3)?;
        let mut r = Reader::new(&bytes[c.start..c.end], "iref");
        let wide = v != 0;
        let from = if wide { r.u32()? } else { r.u16()? as u32 };
        let n = r.u16()? as usize;
        total += n;
        if total > HEIF_MAX_REFERENCES {
            return Err(refused(format!(
                "it declares more than {HEIF_MAX_REFERENCES} item references (limit HEIF_MAX_REFERENCES)"
            )));
        }
        let mut to = Vec::with_capacity(n.min(r.rest().len() / 2));
        for _ in 0..n {
            to.push(if wide { r.u32()? } else { r.u16()? as u32 });
        }
        file.references.push((c.kind, from, to));
    }
    Ok(())
}

fn parse_iprp(
    bytes: &[u8],
    b: &BoxRef,
    file: &mut HeifFile,
    budget: &mut Budget,
) -> Result<(), ImagingError> {
    for c in children(bytes, b.start, b.end, budget)? {
        budget.enter(3)?;
        match &c.kind {
            b"ipco" if file.properties.is_empty() => {
                for p in children(bytes, c.start, c.end, budget)? {
                    budget.enter(4)?;
                    file.properties.push(parse_property(bytes, &p)?);
                    if container_skip(&p.kind).is_some() {
                        walk_nesting(bytes, &p, 4, budget)?;
                    }
                }
            }
            b"ipma" => parse_ipma(&bytes[c.start..c.end], file)?,
            kind if container_skip(kind).is_some() => walk_nesting(bytes, &c, 3, budget)?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_property(bytes: &[u8], p: &BoxRef) -> Result<Property, ImagingError> {
    let payload = &bytes[p.start..p.end];
    Ok(match &p.kind {
        b"ispe" => {
            let mut r = Reader::new(payload, "ispe");
            r.full()?;
            Property::Ispe(r.u32()?, r.u32()?)
        }
        b"irot" => Property::Irot(Reader::new(payload, "irot").u8()? & 3),
        b"imir" => Property::Imir(Reader::new(payload, "imir").u8()? & 1),
        b"pixi" => {
            let mut r = Reader::new(payload, "pixi");
            r.full()?;
            let n = r.u8()? as usize;
            Property::Pixi(r.take(n)?.to_vec())
        }
        b"hvcC" => match hevc_coded_size(payload) {
            Some((w, h)) => Property::HevcCoded(w, h),
            None => Property::Other,
        },
        _ => Property::Other,
    })
}

fn parse_ipma(payload: &[u8], file: &mut HeifFile) -> Result<(), ImagingError> {
    let mut r = Reader::new(payload, "ipma");
    let (v, flags) = r.full()?;
    let count = r.u32()? as u64;
    if count > HEIF_MAX_ITEMS as u64 {
        return Err(too_many_items("ipma", count));
    }
    for _ in 0..count {
        let id = if v < 1 { r.u16()? as u32 } else { r.u32()? };
        let n = r.u8()? as usize;
        let mut list = Vec::with_capacity(n);
        for _ in 0..n {
            let index = if flags & 1 != 0 {
                r.u16()? & 0x7FFF
            } else {
                (r.u8()? & 0x7F) as u16
            };
            list.push(index);
        }
        file.associations.entry(id).or_default().extend(list);
    }
    Ok(())
}

impl HeifFile {
    fn properties_of(&self, id: u32) -> impl Iterator<Item = &Property> {
        self.associations
            .get(&id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.properties.get((i as usize).checked_sub(1)?))
    }

    fn ispe_of(&self, id: u32) -> Option<(u32, u32)> {
        self.properties_of(id).find_map(|p| match p {
            Property::Ispe(w, h) => Some((*w, *h)),
            _ => None,
        })
    }

    /// Targets of references of `kind` from `from`, in order.
    fn refs_from(&self, kind: &[u8; 4], from: u32) -> Vec<u32> {
        self.references
            .iter()
            .filter(|(k, f, _)| k == kind && *f == from)
            .flat_map(|(_, _, to)| to.iter().copied())
            .collect()
    }

    /// Items with a reference of `kind` pointing at `to`.
    fn refs_to(&self, kind: &[u8; 4], to: u32) -> Vec<u32> {
        self.references
            .iter()
            .filter(|(k, _, t)| k == kind && t.contains(&to))
            .map(|(_, f, _)| *f)
            .collect()
    }

    /// The bytes of an item's data, assembled from its extents. Bounded by the file's length:
    /// extents that add up to more than the file holds are refused.
    fn item_data(&self, bytes: &[u8], id: u32) -> Result<Vec<u8>, ImagingError> {
        let loc = self
            .locations
            .get(&id)
            .ok_or_else(|| no_image(format!("item {id} has no location ('iloc' entry)")))?;
        if loc.data_reference != 0 {
            return Err(corrupt(format!(
                "item {id} keeps its data in another file (data reference {})",
                loc.data_reference
            )));
        }
        let source: &[u8] = match loc.method {
            0 => bytes,
            1 => match self.idat {
                Some((s, e)) => &bytes[s..e],
                None => {
                    return Err(corrupt(format!(
                        "item {id} points into a missing 'idat' box"
                    )))
                }
            },
            m => {
                return Err(corrupt(format!(
                    "item {id} uses construction method {m}, which is not supported"
                )))
            }
        };
        let mut total = 0u64;
        let mut ranges = Vec::with_capacity(loc.extents.len());
        for &(offset, length) in &loc.extents {
            let start = loc.base.checked_add(offset);
            let length = if length == 0 && loc.extents.len() == 1 {
                start.map(|s| (source.len() as u64).saturating_sub(s))
            } else {
                Some(length)
            };
            let range = start
                .zip(length)
                .and_then(|(s, l)| Some((s, s.checked_add(l)?)))
                .filter(|&(_, e)| e <= source.len() as u64);
            let Some((s, e)) = range else {
                return Err(no_image(format!(
                    "item {id}'s data lies outside the file (it is {} bytes)",
                    source.len()
                )));
            };
            total += e - s;
            if total > bytes.len() as u64 {
                return Err(refused(format!(
                    "item {id}'s extents add up to more bytes than the file holds"
                )));
            }
            ranges.push((s as usize, e as usize));
        }
        let mut out = Vec::with_capacity(total as usize);
        for (s, e) in ranges {
            out.extend_from_slice(&source[s..e]);
        }
        Ok(out)
    }

    fn inspection(&self, bytes: &[u8]) -> Result<HeifInspection, ImagingError> {
        let primary = self
            .primary
            .ok_or_else(|| no_image("the file has no primary item ('pitm' box)"))?;
        let item = self.items.get(&primary).ok_or_else(|| {
            no_image(format!(
                "the primary item {primary} is not described in the 'iinf' box"
            ))
        })?;
        let (width, height) = self.ispe_of(primary).unwrap_or((0, 0));
        let mut rotation = 0;
        let mut mirror = None;
        let mut bits_per_channel = Vec::new();
        for p in self.properties_of(primary) {
            match p {
                Property::Irot(r) => rotation = *r,
                Property::Imir(m) => mirror = Some(*m),
                Property::Pixi(b) => bits_per_channel = b.clone(),
                _ => {}
            }
        }
        let thumbnails = self
            .refs_to(b"thmb", primary)
            .into_iter()
            .filter_map(|t| self.ispe_of(t))
            .collect();
        // Metadata items describing the primary image (content-describes references), as
        // libheif attaches them.
        let mut exif = None;
        let mut xmp = Vec::new();
        for id in self.refs_to(b"cdsc", primary) {
            let Some(meta) = self.items.get(&id) else {
                continue;
            };
            if &meta.kind == b"Exif" && exif.is_none() {
                if let Ok(block) = self.item_data(bytes, id) {
                    if block.len() >= 4 {
                        let skip =
                            u32::from_be_bytes([block[0], block[1], block[2], block[3]]) as usize;
                        if let Some(tiff) = skip.checked_add(4).and_then(|s| block.get(s..)) {
                            exif = Some(tiff.to_vec());
                        }
                    }
                }
            } else if &meta.kind == b"mime" && meta.content_type == "application/rdf+xml" {
                if let Ok(block) = self.item_data(bytes, id) {
                    xmp.push(block);
                }
            }
        }
        let grid = if &item.kind == b"grid" {
            let data = self.item_data(bytes, primary)?;
            let g = parse_grid(&data, primary)?;
            Some((g.rows, g.columns))
        } else {
            None
        };
        Ok(HeifInspection {
            primary_item: primary,
            primary_type: fourcc(item.kind),
            width,
            height,
            rotation,
            mirror,
            bits_per_channel,
            grid,
            thumbnails,
            item_count: self.items.len().max(self.locations.len()),
            box_count: self.boxes,
            max_depth: self.max_depth,
            pixels_to_decode: width as u64 * height as u64,
            exif,
            xmp,
        })
    }

    /// Every declared size against the caller's limits; answers the pixels to decode.
    fn check_sizes(
        &self,
        bytes: &[u8],
        limits: &DecodeLimits,
        inspection: &HeifInspection,
    ) -> Result<u64, ImagingError> {
        let mut pixels_to_decode = inspection.pixels_to_decode;
        // Every image size property in the file, associated or not.
        for (i, p) in self.properties.iter().enumerate() {
            let (w, h, coded) = match p {
                Property::Ispe(w, h) => (*w, *h, false),
                Property::HevcCoded(w, h) => (*w, *h, true),
                _ => continue,
            };
            let owner = self
                .item_order
                .iter()
                .find(|id| {
                    self.associations
                        .get(id)
                        .is_some_and(|a| a.contains(&(i as u16 + 1)))
                })
                .map(|id| self.describe(*id, inspection.primary_item))
                .unwrap_or_else(|| format!("image property #{}", i + 1));
            let owner = if coded {
                format!("the HEVC sequence parameter set of {owner}")
            } else {
                owner
            };
            check(limits, &owner, w as u64, h as u64)?;
        }
        let primary = inspection.primary_item;
        let what = self.describe(primary, primary);
        let kind = self.items.get(&primary).map(|i| i.kind).unwrap_or(*b"????");
        let is_image = matches!(
            &kind,
            b"hvc1" | b"grid" | b"iovl" | b"iden" | b"av01" | b"jpeg" | b"unci"
        );
        if is_image && self.ispe_of(primary).is_none() {
            return Err(refused(format!(
                "{what} declares no size ('ispe' property), so its size cannot be checked before decoding"
            )));
        }
        match &kind {
            b"grid" => {
                let data = self.item_data(bytes, primary)?;
                let g = parse_grid(&data, primary)?;
                check(limits, &format!("{what}'s grid output"), g.width, g.height)?;
                let tiles = self.refs_from(b"dimg", primary);
                let expected = g.rows as u64 * g.columns as u64;
                if tiles.len() as u64 != expected {
                    return Err(corrupt(format!(
                        "{what} is a {}×{} grid but references {} tiles",
                        g.rows,
                        g.columns,
                        tiles.len()
                    )));
                }
                let mut sum = 0u64;
                for t in &tiles {
                    let (w, h) = self.ispe_of(*t).ok_or_else(|| {
                        refused(format!(
                            "grid tile item {t} declares no size ('ispe' property), so its size cannot be checked before decoding"
                        ))
                    })?;
                    sum = sum.saturating_add(w as u64 * h as u64);
                }
                if sum > limits.max_pixels {
                    return Err(refused(format!(
                        "the tiles of {what} add up to {sum} pixels; the limit is {} pixels (DecodeLimits.max_pixels)",
                        limits.max_pixels
                    )));
                }
                pixels_to_decode = pixels_to_decode.max(sum).max(g.width * g.height);
            }
            b"iovl" => {
                let data = self.item_data(bytes, primary)?;
                let mut r = Reader::new(&data, "iovl");
                let _version = r.u8()?;
                let flags = r.u8()?;
                r.take(8)?;
                let (w, h) = if flags & 1 != 0 {
                    (r.u32()? as u64, r.u32()? as u64)
                } else {
                    (r.u16()? as u64, r.u16()? as u64)
                };
                check(limits, &format!("{what}'s overlay canvas"), w, h)?;
                pixels_to_decode = pixels_to_decode.max(w * h);
            }
            b"iden" => {
                for t in self.refs_from(b"dimg", primary) {
                    if let Some((w, h)) = self.ispe_of(t) {
                        pixels_to_decode = pixels_to_decode.max(w as u64 * h as u64);
                    }
                }
            }
            _ => {}
        }
        Ok(pixels_to_decode)
    }

    fn describe(&self, id: u32, primary: u32) -> String {
        let kind = self
            .items
            .get(&id)
            .map(|i| fourcc(i.kind))
            .unwrap_or_else(|| "?".into());
        if id == primary {
            format!("the primary image (item {id}, {kind})")
        } else {
            format!("item {id} ({kind})")
        }
    }
}

/// The coded picture size (`pic_width_in_luma_samples`, `pic_height_in_luma_samples`) of the
/// first sequence parameter set in an `hvcC` payload; `None` when it cannot be read (the walk
/// then relies on `ispe` and the worker's memory limit).
fn hevc_coded_size(hvcc: &[u8]) -> Option<(u32, u32)> {
    // HEVCDecoderConfigurationRecord: 22 bytes of fields, then the NAL unit arrays.
    let mut i = 22usize;
    let arrays = *hvcc.get(i)?;
    i += 1;
    for _ in 0..arrays {
        let nal_type = hvcc.get(i)? & 0x3F;
        let count = u16::from_be_bytes([*hvcc.get(i + 1)?, *hvcc.get(i + 2)?]);
        i += 3;
        for _ in 0..count {
            let len = u16::from_be_bytes([*hvcc.get(i)?, *hvcc.get(i + 1)?]) as usize;
            let nal = hvcc.get(i + 2..i + 2 + len)?;
            i += 2 + len;
            if nal_type == 33 {
                return sps_size(nal);
            }
        }
    }
    None
}

/// Reads big-endian bits from a NAL unit's payload with emulation prevention bytes removed.
struct Bits {
    data: Vec<u8>,
    pos: usize,
}

impl Bits {
    fn bit(&mut self) -> Option<u32> {
        let b = *self.data.get(self.pos / 8)?;
        let v = (b >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Some(v as u32)
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Some(v)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.pos += n;
        (self.pos <= self.data.len() * 8).then_some(())
    }

    /// Exp-Golomb ue(v), up to 31 leading zeros.
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)? as u64;
        u32::try_from((1u64 << zeros) - 1 + rest).ok()
    }
}

fn sps_size(nal: &[u8]) -> Option<(u32, u32)> {
    // Two bytes of NAL unit header; the parameters needed lie within the first 256 bytes.
    let body = nal.get(2..)?;
    let body = &body[..body.len().min(256)];
    let mut data = Vec::with_capacity(body.len());
    let mut zeros = 0;
    for &b in body {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        data.push(b);
    }
    let mut r = Bits { data, pos: 0 };
    r.bits(4)?; // sps_video_parameter_set_id
    let max_sub_layers_minus1 = r.bits(3)? as usize;
    r.bits(1)?; // sps_temporal_id_nesting_flag
                // profile_tier_level: general profile (88 bits) and level (8 bits).
    r.skip(96)?;
    let mut profile_present = [false; 8];
    let mut level_present = [false; 8];
    for i in 0..max_sub_layers_minus1 {
        profile_present[i] = r.bit()? == 1;
        level_present[i] = r.bit()? == 1;
    }
    if max_sub_layers_minus1 > 0 {
        r.skip(2 * (8 - max_sub_layers_minus1))?;
    }
    for i in 0..max_sub_layers_minus1 {
        if profile_present[i] {
            r.skip(88)?;
        }
        if level_present[i] {
            r.skip(8)?;
        }
    }
    r.ue()?; // sps_seq_parameter_set_id
    let chroma_format_idc = r.ue()?;
    if chroma_format_idc == 3 {
        r.bit()?; // separate_colour_plane_flag
    }
    let width = r.ue()?;
    let height = r.ue()?;
    Some((width, height))
}

struct Grid {
    rows: u32,
    columns: u32,
    width: u64,
    height: u64,
}

fn parse_grid(data: &[u8], id: u32) -> Result<Grid, ImagingError> {
    let mut r = Reader::new(data, "grid");
    let version = r.u8()?;
    if version != 0 {
        return Err(corrupt(format!(
            "grid item {id} has unknown version {version}"
        )));
    }
    let flags = r.u8()?;
    let rows = r.u8()? as u32 + 1;
    let columns = r.u8()? as u32 + 1;
    let (width, height) = if flags & 1 != 0 {
        (r.u32()? as u64, r.u32()? as u64)
    } else {
        (r.u16()? as u64, r.u16()? as u64)
    };
    Ok(Grid {
        rows,
        columns,
        width,
        height,
    })
}

/// A declared size against the pixel and side limits, naming the limit that refuses it.
fn check(limits: &DecodeLimits, what: &str, w: u64, h: u64) -> Result<(), ImagingError> {
    if w > limits.max_side as u64 || h > limits.max_side as u64 || w * h > limits.max_pixels {
        return Err(ImagingError::TooManyPixels {
            subject: what.to_string(),
            width: w,
            height: h,
            limit_pixels: limits.max_pixels,
            limit_side: limits.max_side,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn dc_bad_input_truncated_child_box_is_corrupt() {
        let mut f = bx(b"ftyp", b"heic\0\0\0\0mif1heic");
        let mut meta = vec![0, 0, 0, 0];
        meta.extend_from_slice(&[0, 0, 0, 200, b'p', b'i', b't', b'm']);
        f.extend(bx(b"meta", &meta));
        let err = inspect_heif(&f, &DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, ImagingError::Corrupt { .. }), "{err:?}");
    }
}
