//! Allocation bounds on damaged input: sizes read from a file must not size a
//! buffer beyond what the file holds or the limits allow. A counting
//! allocator records the largest single allocation while one input decodes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use probity_thermal::{decode_frames, Calibration, DecodeOptions};

struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// Found by the decode fuzz target: a FLIR JPEG whose FFF header puts the
/// directory at offset 0xFF00_0040 made the record extraction reserve 4 GB
/// for the directory prefix of a 3 KB record. It is now refused with an
/// error, and no buffer exceeds what the segments hold.
#[test]
fn th_bad_input_fff_directory_offset_beyond_the_record_allocates_nothing_large() {
    let bytes = include_bytes!("../fuzz/regressions/decode/jpeg_fff_directory_offset_4gb");
    for calibration in [None, Some(Calibration::FORTY_MILLIKELVIN)] {
        let opts = DecodeOptions {
            calibration,
            ..Default::default()
        };
        LARGEST.store(0, Ordering::Relaxed);
        let first = decode_frames(bytes, &opts).map(|mut f| f.next());
        let largest = LARGEST.load(Ordering::Relaxed);
        assert!(largest < 1 << 20, "{largest} bytes allocated at once");
        match first {
            Ok(Some(Err(e))) | Err(e) => assert!(!e.to_string().is_empty()),
            other => panic!("damaged record accepted: {:?}", other.map(|f| f.is_some())),
        }
    }
}
