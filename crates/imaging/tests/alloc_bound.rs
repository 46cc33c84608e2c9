//! Allocation bounds on untrusted camera files. A counting allocator records, per thread, the
//! largest single allocation and the peak of live bytes while one call runs.
//!
//! Two different bounds apply:
//! - Format detection and metadata (`sniff`, `read_metadata`: the JPEG marker scan, the EXIF
//!   and maker-note TIFF walker, XMP, NEF/TIFF IFD chains, PNG eXIf) allocate in proportion to
//!   the file: never more than `PARSE_FACTOR` times its size plus `PARSE_SLACK` bytes, whatever
//!   counts and offsets the file declares. For HEIF, libheif's own (C) allocations are not seen
//!   by Rust's allocator; the Rust side copies only blocks libheif read from the file.
//! - Pixel decoding is bounded by `DecodeLimits` instead (a small file may legitimately decode
//!   to a large image): the declared size is checked against the limits, and against what the
//!   file's data can hold, from the header before any pixel buffer exists.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

use probity_imaging::{
    decode_still, examine, make_thumbnail, read_metadata, sniff, DecodeLimits, ExtensionCheck,
    ImagingError, IntakeDecision, IntakeOptions,
};

struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size as isize;
        live.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

fn note_free(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get() - size as isize));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_free(layout.size());
        note_alloc(new_size);
        // SAFETY: `ptr` came from `System` with this layout; forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak live bytes and largest single allocation while `f` runs on this thread.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    LARGEST.with(|l| l.set(0));
    let out = f();
    let peak = (PEAK.with(|p| p.get()) - base).max(0) as usize;
    (out, peak, LARGEST.with(|l| l.get()))
}

/// Parsing may use this many bytes per byte of input ...
const PARSE_FACTOR: usize = 16;
/// ... plus this much whatever the input (fixed tables and buffers, error messages).
const PARSE_SLACK: usize = 128 * 1024;

fn fuzz_files() -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    let mut stack = vec![fuzz.join("seeds"), fuzz.join("regressions")];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(
        files.len() >= 10,
        "fuzz seeds missing below {}",
        fuzz.display()
    );
    files
}

/// Damaged variants of a file: cuts and deterministic bit flips in its first 16 KB.
fn variants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![bytes.to_vec()];
    for cut in (0..bytes.len()).step_by(61) {
        out.push(bytes[..cut].to_vec());
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..150 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut copy = bytes.to_vec();
        if copy.is_empty() {
            break;
        }
        let pos = (state >> 33) as usize % copy.len().min(16 * 1024);
        // Flip a bit, or set a whole byte to 0xFF / 0x00 (counts, lengths, offsets).
        match state >> 61 {
            0 => copy[pos] = 0xFF,
            1 => copy[pos] = 0x00,
            _ => copy[pos] ^= 1 << ((state >> 29) & 7),
        }
        out.push(copy);
    }
    out
}

#[test]
fn dc_bad_input_format_and_metadata_parsing_allocate_in_proportion_to_the_file() {
    let mut worst = (0.0f64, String::new());
    for path in fuzz_files() {
        let bytes = std::fs::read(&path).expect("fuzz file");
        for (n, input) in variants(&bytes).iter().enumerate() {
            let (_, peak, largest) = measure(|| {
                let format = sniff(input);
                let _ = ExtensionCheck::of(Path::new("upload.jpg"), format);
                let _ = read_metadata(input);
            });
            let bound = PARSE_FACTOR * input.len() + PARSE_SLACK;
            assert!(
                peak <= bound && largest <= bound,
                "{} variant {n} ({} bytes): {peak} bytes live at peak, largest allocation \
                 {largest}, bound {bound}",
                path.display(),
                input.len()
            );
            let ratio = peak as f64 / (input.len().max(1)) as f64;
            if ratio > worst.0 {
                worst = (ratio, format!("{} variant {n}", path.display()));
            }
        }
    }
    eprintln!("largest peak per input byte: {:.1} ({})", worst.0, worst.1);
}

/// A grey 16×16 seed with its frame header rewritten to `width` × `height`.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/grey.jpg");
    let mut jpeg = std::fs::read(&path).expect("grey seed");
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0 in the grey seed");
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

/// No pixel buffer: far below the 256×256×3 bytes of even a small decoded image.
const NO_PIXEL_BUFFER: usize = 64 * 1024;

#[test]
fn dc_bad_input_tiny_jpeg_declaring_a_huge_size_is_refused_before_any_pixel_buffer() {
    let limits = DecodeLimits::default();
    // Over the limits (40000 px a side), and within them (10000 × 10000 = 100 MP) but with
    // 600 bytes of file: both are refused from the header.
    for (w, h, over_limits) in [
        (40000, 40000, true),
        (10000, 10000, false),
        (30000, 4000, false),
    ] {
        let jpeg = jpeg_declaring(w, h);
        assert!(jpeg.len() < 1024);
        for (what, run) in [
            (
                "decode_still",
                Box::new(|| decode_still(&jpeg, &limits).map(|_| ()))
                    as Box<dyn Fn() -> Result<(), ImagingError>>,
            ),
            (
                "make_thumbnail",
                Box::new(|| make_thumbnail(&jpeg, 256, &limits).map(|_| ())),
            ),
        ] {
            let (result, peak, largest) = measure(run);
            match (&result, over_limits) {
                (Err(ImagingError::TooManyPixels { .. }), true) => {}
                (Err(ImagingError::Corrupt { .. }), false) => {}
                _ => panic!(
                    "{what} of a {w}×{h} JPEG of {} bytes: {result:?}",
                    jpeg.len()
                ),
            }
            assert!(
                peak < NO_PIXEL_BUFFER && largest < NO_PIXEL_BUFFER,
                "{what} of a {w}×{h} JPEG allocated {peak} bytes (largest {largest})"
            );
        }
        let (exam, peak, _) =
            measure(|| examine(Path::new("x.jpg"), &jpeg, &IntakeOptions::default()));
        assert!(matches!(exam.decision, IntakeDecision::Refused { .. }));
        assert!(peak < NO_PIXEL_BUFFER, "examine allocated {peak} bytes");
    }
}

#[test]
fn dc_bad_input_tiny_png_declaring_a_huge_size_is_refused_before_any_pixel_buffer() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/iphone4_exif.png");
    let seed = std::fs::read(&path).expect("PNG seed");
    let limits = DecodeLimits::default();
    for (w, h) in [(10000u32, 10000u32), (40000, 40000)] {
        let png = png_declaring(&seed, w, h);
        let (result, peak, largest) = measure(|| decode_still(&png, &limits).map(|_| ()));
        assert!(
            result.is_err(),
            "{w}×{h} PNG of {} bytes decoded",
            png.len()
        );
        assert!(
            peak < NO_PIXEL_BUFFER && largest < NO_PIXEL_BUFFER,
            "{w}×{h} PNG allocated {peak} bytes (largest {largest})"
        );
    }
}

/// CRC-32 (ISO-HDLC, as PNG uses) of `bytes`.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A copy of a PNG whose IHDR declares `width` × `height`, with a valid chunk CRC.
fn png_declaring(png: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut png = png.to_vec();
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}
