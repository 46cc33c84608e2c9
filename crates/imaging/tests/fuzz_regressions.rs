//! Replays the fuzz seeds (`fuzz/seeds/`) and every crash reproducer the fuzz targets found
//! (`fuzz/regressions/<target>/`) through the entry points the targets call, so the normal test
//! run keeps them fixed (DC-05/DC-06 bad input, FR-07 probes from untrusted sources). Both
//! folders are in the repository: no sample data is needed.

use std::path::{Path, PathBuf};

use probity_imaging::{
    decode_still, examine, make_thumbnail, read_metadata, sniff, DecodeLimits, ExtensionCheck,
    ImagingError, IntakeDecision, IntakeOptions, ThumbnailSource,
};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file below `dir` (one level of target folders, or the files themselves), sorted.
fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            out.extend(files_below(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// What the four fuzz targets do with one input: each call returns, with a value or an error.
fn replay(name: &Path, bytes: &[u8]) {
    let format = sniff(bytes);
    let _ = ExtensionCheck::of(name, format);
    if let Ok(meta) = read_metadata(bytes) {
        let _ = meta.serial_normalized();
        if let Some(t) = &meta.capture_time {
            let _ = t.to_iso8601();
        }
    }
    let limits = DecodeLimits::default();
    let _ = make_thumbnail(bytes, 16, &limits);
    let _ = decode_still(bytes, &limits);
    let _ = examine(Path::new("upload.jpg"), bytes, &IntakeOptions::default());
}

#[test]
fn dc_bad_input_fuzz_seeds_and_crash_reproducers_never_panic() {
    let seeds = files_below(&fuzz_dir().join("seeds"));
    let regressions = files_below(&fuzz_dir().join("regressions"));
    assert!(
        seeds.len() >= 9,
        "expected the fuzz seeds in {} (written by fuzz/make_seeds.py)",
        fuzz_dir().join("seeds").display()
    );
    assert!(!regressions.is_empty(), "no crash reproducers found");
    for path in seeds.iter().chain(&regressions) {
        replay(path, &read(path));
    }
}

/// The seeds still reach what they were made for: metadata of the real samples they carry and
/// the embedded-preview path, so the fuzz runs start from meaningful files.
#[test]
fn dc_06_fuzz_seeds_carry_the_samples_metadata() {
    let seed = |name: &str| read(&fuzz_dir().join("seeds").join(name));
    let d70 = seed("nikon_d70_app_segments.jpg");
    let meta = read_metadata(&d70).expect("D70 seed metadata");
    assert_eq!(meta.model.as_deref(), Some("NIKON D70"));
    assert_eq!(meta.serial_normalized().as_deref(), Some("2539"));
    let thumb = make_thumbnail(&d70, 16, &DecodeLimits::default()).expect("D70 seed thumbnail");
    assert_eq!(thumb.source, ThumbnailSource::EmbeddedPreview);

    let nef = seed("nikon_d70_stripped_preview.nef");
    let thumb = make_thumbnail(&nef, 16, &DecodeLimits::default()).expect("NEF seed thumbnail");
    assert_eq!(thumb.source, ThumbnailSource::EmbeddedPreview);

    let xmp = read_metadata(&seed("xmp_only.jpg")).expect("XMP seed metadata");
    assert!(xmp.gps.is_some() && xmp.capture_time.is_some());

    let heic = read_metadata(&seed("iphone8_one_tile.heic")).expect("HEIC seed metadata");
    assert_eq!(heic.model.as_deref(), Some("iPhone 8"));

    for name in [
        "iphone4_app_segments.jpg",
        "exif_orientation6_gps.jpg",
        "grey.jpg",
    ] {
        let exam = examine(Path::new(name), &seed(name), &IntakeOptions::default());
        assert_eq!(exam.decision, IntakeDecision::Accepted, "{name}: {exam:?}");
    }
}

/// Found by `sniff_metadata`: an XMP date whose last six bytes start inside a multi-byte
/// character ("…56.78+\u{FFFD}0") was sliced there to look for a UTC offset, and panicked.
/// The date is now read without an offset, or not at all.
#[test]
fn dc_bad_input_xmp_time_offset_cut_inside_a_character() {
    let path = fuzz_dir().join("regressions/sniff_metadata/xmp_date_offset_inside_multibyte_char");
    let meta = read_metadata(&read(&path)).expect("metadata of a damaged XMP packet");
    assert_eq!(meta.capture_time, None);
}

/// A JPEG (or PNG) whose data is far too short for the size its header declares is refused from
/// the header alone: a 600-byte file declaring 10000 × 10000 px, within the default limits,
/// made the decoder allocate and fill a 300 MB image.
#[test]
fn dc_bad_input_image_declaring_more_pixels_than_its_data_can_hold() {
    let seeds = fuzz_dir().join("seeds");
    let mut jpeg = read(&seeds.join("grey.jpg"));
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("SOF0 in the grey seed");
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x27, 0x10, 0x27, 0x10]); // 10000 × 10000
    let limits = DecodeLimits::default();
    for result in [
        decode_still(&jpeg, &limits).map(|_| ()),
        make_thumbnail(&jpeg, 256, &limits).map(|_| ()),
    ] {
        match result {
            Err(ImagingError::Corrupt { detail, .. }) => {
                assert!(detail.contains("cannot hold"), "{detail}")
            }
            other => panic!("forged JPEG size accepted: {other:?}"),
        }
    }
    let exam = examine(Path::new("forged.jpg"), &jpeg, &IntakeOptions::default());
    assert!(matches!(exam.decision, IntakeDecision::Refused { .. }));

    let png = png_declaring(&read(&seeds.join("iphone4_exif.png")), 10000, 10000);
    match decode_still(&png, &limits) {
        Err(ImagingError::Corrupt { detail, .. }) => {
            assert!(detail.contains("cannot hold"), "{detail}")
        }
        other => panic!("forged PNG size accepted: {:?}", other.map(|s| s.format)),
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

/// Found while the `examine` target slowed to a few hundred inputs per second: decoders go
/// over the whole frame once per scan, so a 16 KB JPEG repeating a 10-byte scan header 1400
/// times over a 1024 × 1024 frame kept the thumbnail decoder busy for 149 s (fuzzing build).
/// Scans × blocks beyond 128 per byte of coded data are refused from the markers alone.
#[test]
fn dc_bad_input_jpeg_with_many_scans_over_a_large_frame_is_refused() {
    let path = fuzz_dir().join("regressions/examine/jpeg_1400_scans_over_1024px");
    let jpeg = read(&path);
    let limits = DecodeLimits::default();
    for result in [
        decode_still(&jpeg, &limits).map(|_| ()),
        make_thumbnail(&jpeg, 256, &limits).map(|_| ()),
    ] {
        match result {
            Err(ImagingError::Corrupt { detail, .. }) => {
                assert!(detail.contains("scans"), "{detail}")
            }
            other => panic!("many-scan JPEG accepted: {other:?}"),
        }
    }
    let exam = examine(Path::new("scans.jpg"), &jpeg, &IntakeOptions::default());
    assert!(matches!(exam.decision, IntakeDecision::Refused { .. }));
}
