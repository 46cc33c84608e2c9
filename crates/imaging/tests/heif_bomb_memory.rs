//! A HEIC bomb is refused in constant memory (DC bad input): the box walk allocates nothing by
//! the size a file declares. A counting allocator records the largest single allocation and the
//! most memory held at once while the bomb is refused. (Its own test binary: the allocator is
//! global.)

mod common;
#[path = "support/heif_build.rs"]
mod heif_build;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::read_camera;
use heif_build::{minimal_heif, sample_declaring};
use probity_imaging::{
    decode_still, examine, inspect_heif, make_thumbnail, DecodeLimits, ImagingError,
    IntakeDecision, IntakeOptions,
};

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Largest single allocation and most memory held at once (above what was held before) while
/// `f` runs.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    LARGEST.store(0, Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = f();
    let largest = LARGEST.load(Ordering::Relaxed);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    (out, largest, peak)
}

fn assert_pixel_refusal(err: ImagingError, side: u64) {
    assert!(
        matches!(err, ImagingError::TooManyPixels { width, height, .. } if width == side && height == side),
        "{err:?}"
    );
    assert!(err.to_string().contains("DecodeLimits.max_pixels"), "{err}");
}

#[test]
fn dc_bad_input_heic_bomb_refused_in_constant_memory() {
    let limits = DecodeLimits::default();
    let sample = read_camera("apple_iphone8.heic");
    let mut seen = Vec::new();
    for side in [100_000u32, 1_000_000, u32::MAX] {
        let bomb = sample_declaring(&sample, side, side);
        let built = minimal_heif(side, side, &[]);
        let (errors, largest, peak) = measure(|| {
            let exam = examine(Path::new("IMG_0001.HEIC"), &bomb, &IntakeOptions::default());
            (
                inspect_heif(&bomb, &limits).unwrap_err(),
                decode_still(&bomb, &limits).unwrap_err(),
                make_thumbnail(&bomb, 256, &limits).unwrap_err(),
                decode_still(&built, &limits).unwrap_err(),
                exam,
            )
        });
        let (a, b, c, d, exam) = errors;
        for err in [a, b, c, d] {
            assert_pixel_refusal(err, side as u64);
        }
        assert!(
            matches!(&exam.decision, IntakeDecision::Refused { reason } if reason.contains("DecodeLimits.max_pixels")),
            "{:?}",
            exam.decision
        );
        // The file itself is 1.5 MB; nothing near its size, let alone the declared image's
        // (30 GB of RGB for 100 000 × 100 000), is allocated.
        assert!(
            largest < 64 * 1024,
            "{side}: largest allocation {largest} bytes"
        );
        assert!(peak < 256 * 1024, "{side}: {peak} bytes held at once");
        seen.push((largest, peak));
    }
    // The same memory whatever the declared size (give or take the digits in the message).
    assert!(
        seen.windows(2)
            .all(|w| w[0].0.abs_diff(w[1].0) < 64 && w[0].1.abs_diff(w[1].1) < 256),
        "memory depends on the declared size: {seen:?}"
    );
}
