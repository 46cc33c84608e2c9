//! Fuzz target for format detection and the metadata parsers an upload meets
//! first: `sniff`, the extension check, and `read_metadata` (JPEG marker
//! segments, the EXIF TIFF walker, Nikon maker notes, XMP packets, TIFF/NEF
//! IFD chains, PNG eXIf, HEIF metadata items). Any bytes give metadata or an
//! `ImagingError`, never a panic, hang or unbounded allocation.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use probity_imaging::{read_metadata, sniff, ExtensionCheck};

fuzz_target!(|data: &[u8]| {
    let format = sniff(data);
    let _ = ExtensionCheck::of(Path::new("upload.jpg"), format);
    if let Ok(meta) = read_metadata(data) {
        let _ = meta.serial_normalized();
        if let Some(t) = &meta.capture_time {
            let _ = t.to_iso8601();
        }
    }
});
