//! HEIC files run with bounded resources (DC bad input, SEC): a file declaring an enormous image
//! or nesting boxes deeply is refused by the box walk before any decoder sees it, naming the
//! limit; libheif runs in a worker process, so a crash or hang fails only that file.

mod common;
#[path = "support/heif_build.rs"]
mod heif_build;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::read_camera;
use heif_build::{
    bx, full, ispe_box, minimal_heif, minimal_heif_coded, nested, patched_all, sample_declaring,
};
use probity_imaging::heif_boxes::{HEIF_MAX_BOXES, HEIF_MAX_BOX_DEPTH, HEIF_MAX_ITEMS};
use probity_imaging::{
    decode_still, examine, inspect_heif, make_thumbnail, read_metadata, DecodeLimits, HeifWorker,
    ImagingError, IntakeDecision, IntakeOptions,
};

fn limits() -> DecodeLimits {
    DecodeLimits::default()
}

/// A worker that cannot exist: a test passing with it shows no worker was needed.
fn no_worker() -> HeifWorker {
    HeifWorker::new("/nonexistent/probity-heif-worker")
}

fn refused_reason(exam: &probity_imaging::Examination) -> String {
    match &exam.decision {
        IntakeDecision::Refused { reason } => reason.clone(),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn dc_bad_input_heic_bomb_refused_before_decoding() {
    let bomb = sample_declaring(&read_camera("apple_iphone8.heic"), 100_000, 100_000);
    let expect = |err: ImagingError| {
        assert!(
            matches!(
                err,
                ImagingError::TooManyPixels {
                    width: 100_000,
                    height: 100_000,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("declares 100000 × 100000 pixels"), "{msg}");
        assert!(
            msg.contains("the limit is 120000000 pixels (DecodeLimits.max_pixels)"),
            "{msg}"
        );
        assert!(msg.contains("primary image"), "{msg}");
    };
    expect(inspect_heif(&bomb, &limits()).unwrap_err());
    expect(decode_still(&bomb, &limits()).unwrap_err());
    expect(make_thumbnail(&bomb, 256, &limits()).unwrap_err());
    // Refused in this process: a worker that does not exist is never reached.
    expect(no_worker().decode(&bomb, &limits()).unwrap_err());
    let exam = examine(Path::new("IMG_0001.HEIC"), &bomb, &IntakeOptions::default());
    let reason = refused_reason(&exam);
    assert!(reason.contains("DecodeLimits.max_pixels"), "{reason}");
    assert!(exam.thumbnail.is_none());

    // A minimal file built here, declaring the same: refused the same way.
    let small = minimal_heif(100_000, 100_000, &[]);
    expect(decode_still(&small, &limits()).unwrap_err());
    // One side over the side limit names that limit.
    let wide = minimal_heif(40_000, 10, &[]);
    let msg = decode_still(&wide, &limits()).unwrap_err().to_string();
    assert!(
        msg.contains(
            "declares 40000 × 10 pixels; the limit is 30000 pixels a side (DecodeLimits.max_side)"
        ),
        "{msg}"
    );
}

#[test]
fn dc_bad_input_heic_grid_output_and_tile_sum_are_checked() {
    let sample = read_camera("apple_iphone8.heic");
    // The grid item's own data (in idat): version 0, flags 0, 6 rows, 8 columns, 4032 × 3024.
    let grid = [0u8, 0, 5, 7, 0x0F, 0xC0, 0x0B, 0xD0];
    let huge = patched_all(&sample, &grid, &[0, 0, 5, 7, 0xFF, 0xFF, 0xFF, 0xFF]);
    let msg = no_worker()
        .decode(&huge, &limits())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("grid output declares 65535 × 65535"), "{msg}");
    assert!(msg.contains("DecodeLimits.max_pixels"), "{msg}");
    // 48 tiles of 8000 × 8000: each under the limits, together 3 gigapixels.
    let tiles = patched_all(&sample, &ispe_box(512, 512), &ispe_box(8000, 8000));
    let msg = no_worker()
        .decode(&tiles, &limits())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("tiles"), "{msg}");
    assert!(msg.contains("3072000000 pixels"), "{msg}");
    assert!(msg.contains("DecodeLimits.max_pixels"), "{msg}");
    // The real sample passes the walk and reports what it found.
    let found = inspect_heif(&sample, &limits()).unwrap();
    assert_eq!((found.width, found.height), (4032, 3024));
    assert_eq!(found.primary_type, "grid");
    assert_eq!(found.grid, Some((6, 8)));
    assert_eq!(found.thumbnails, vec![(320, 240)]);
    assert!(found.exif.is_some());
    assert_eq!(found.pixels_to_decode, 48 * 512 * 512);
}

#[test]
fn dc_bad_input_heic_coded_size_beyond_its_declared_size_refused() {
    // ispe says 64 × 64, the HEVC sequence parameter set codes 100 000 × 100 000.
    let lying = minimal_heif_coded((64, 64), (100_000, 100_000));
    let err = no_worker().decode(&lying, &limits()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("the HEVC sequence parameter set of the primary image (item 1, hvc1) declares 100000 × 100000 pixels"),
        "{msg}"
    );
    assert!(msg.contains("DecodeLimits.max_pixels"), "{msg}");
    // A coded size within the limits passes the walk.
    inspect_heif(&minimal_heif_coded((4032, 3024), (4032, 3024)), &limits()).unwrap();
}

#[test]
fn dc_bad_input_heic_deep_nesting_refused() {
    let deep = minimal_heif(64, 64, &[nested(HEIF_MAX_BOX_DEPTH + 10)]);
    for err in [
        inspect_heif(&deep, &limits()).unwrap_err(),
        no_worker().decode(&deep, &limits()).unwrap_err(),
        read_metadata(&deep).unwrap_err(),
    ] {
        assert!(matches!(err, ImagingError::HeifRefused { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("nest deeper than 16 levels"), "{msg}");
        assert!(msg.contains("HEIF_MAX_BOX_DEPTH"), "{msg}");
    }
    // Ten thousand levels are refused just as fast, without deep recursion.
    let very_deep = minimal_heif(64, 64, &[nested(10_000)]);
    let started = Instant::now();
    let err = inspect_heif(&very_deep, &limits()).unwrap_err();
    assert!(err.to_string().contains("HEIF_MAX_BOX_DEPTH"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // Nesting within the limit is accepted.
    let fine = minimal_heif(64, 64, &[nested(HEIF_MAX_BOX_DEPTH - 3)]);
    inspect_heif(&fine, &limits()).unwrap();
}

#[test]
fn dc_bad_input_heic_box_and_item_counts_refused() {
    // More boxes than the walk visits.
    let mut many = Vec::new();
    for _ in 0..HEIF_MAX_BOXES + 1 {
        many.extend_from_slice(&bx(b"free", &[]));
    }
    let err = inspect_heif(&minimal_heif(64, 64, &[many]), &limits()).unwrap_err();
    assert!(err.to_string().contains("HEIF_MAX_BOXES"), "{err}");
    // An item table declaring more items than allowed, refused from its count.
    let mut iinf = vec![0, 0, 0, 0];
    iinf.extend_from_slice(&(HEIF_MAX_ITEMS as u32 + 1).to_be_bytes());
    let mut file = minimal_heif(64, 64, &[]);
    // Replace the version-0 iinf (count 1) by a version-1 one declaring too many items.
    let at = file.windows(4).position(|w| w == b"iinf").expect("iinf") - 4;
    let old_len = u32::from_be_bytes([file[at], file[at + 1], file[at + 2], file[at + 3]]) as usize;
    let mut v1 = vec![1, 0, 0, 0];
    v1.extend_from_slice(&(HEIF_MAX_ITEMS as u32 + 1).to_be_bytes());
    let new_iinf = bx(b"iinf", &v1);
    file.splice(at..at + old_len, new_iinf.iter().copied());
    // Fix the meta box's size.
    let meta_at = file.windows(4).position(|w| w == b"meta").expect("meta") - 4;
    let meta_len = (file.len() - meta_at) as u32;
    file[meta_at..meta_at + 4].copy_from_slice(&meta_len.to_be_bytes());
    let err = inspect_heif(&file, &limits()).unwrap_err();
    assert!(err.to_string().contains("HEIF_MAX_ITEMS"), "{err}");
    let _ = full(b"free", &[]);
}

#[test]
fn dc_06_heic_metadata_reads_without_libheif() {
    // Metadata comes from the box walk; no worker is involved (read_metadata never starts one).
    let m = read_metadata(&read_camera("apple_iphone8.heic")).unwrap();
    assert_eq!(m.make.as_deref(), Some("Apple"));
    assert_eq!(m.model.as_deref(), Some("iPhone 8"));
    assert_eq!((m.width, m.height), (Some(4032), Some(3024)));
    let m = read_metadata(&read_camera("heic_metadata_only.heic")).unwrap();
    assert_eq!((m.width, m.height), (Some(1596), Some(1064)));
}

/// An executable shell script in a temporary folder.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn sec_heic_decoder_crash_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let crash = script(dir.path(), "segv", "ulimit -c 0; kill -SEGV $$");
    let sample = read_camera("apple_iphone8.heic");
    let started = Instant::now();
    let err = HeifWorker::new(&crash)
        .decode(&sample, &limits())
        .unwrap_err();
    assert!(
        matches!(err, ImagingError::HeifDecoderFailed { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("HEIC decoder crashed (signal 11, SIGSEGV) on this file"),
        "{msg}"
    );
    assert!(msg.contains("only this file failed"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // An abort after a failed allocation is reported as the memory limit.
    let oom = script(
        dir.path(),
        "oom",
        "echo 'memory allocation of 1099511627776 bytes failed' >&2; ulimit -c 0; kill -ABRT $$",
    );
    let msg = HeifWorker::new(&oom)
        .decode(&sample, &limits())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ran out of its memory limit"), "{msg}");
    assert!(msg.contains("SIGABRT"), "{msg}");
    // A worker that exits with an error, or answers nonsense, fails the file clearly.
    let junk = script(dir.path(), "junk", "cat >/dev/null; echo garbage");
    let msg = HeifWorker::new(&junk)
        .decode(&sample, &limits())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("worker misbehaved"), "{msg}");
    // This process carries on: the real worker still decodes the sample.
    let d = decode_still(&sample, &limits()).unwrap();
    assert_eq!(d.image.dimensions(), (4032, 3024));
}

#[test]
fn sec_heic_worker_memory_limit_trips_on_a_real_decode() {
    // The real worker (libheif and libde265) decoding a 12-megapixel iPhone photo under an
    // address-space limit too small for its planes: the decode fails, naming memory, and
    // nothing else is affected.
    let sample = read_camera("apple_iphone8.heic");
    let worker =
        HeifWorker::locate().expect("the HEIC worker: cargo build -p probity-imaging --bins");
    let limit: u64 = 64 << 20;
    let err = worker
        .clone()
        .with_memory_limit(limit)
        .decode(&sample, &limits())
        .expect_err("12 MP cannot be decoded in 64 MiB of address space");
    assert!(
        matches!(err, ImagingError::HeifDecoderFailed { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    // libheif's std::bad_alloc cannot unwind through Rust: the worker aborts, and the message
    // names the memory limit instead of calling it a crash.
    assert!(msg.contains("memory limit (64 MiB"), "{msg}");
    assert!(!msg.contains("crashed"), "{msg}");
    // The same worker with the limit computed from the image decodes it.
    let (image, _, _) = worker.decode(&sample, &limits()).expect("decode");
    assert_eq!(image.dimensions(), (4032, 3024));
}

#[test]
fn sec_heic_decoder_hang_is_stopped_at_the_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let hang = script(dir.path(), "hang", "sleep 60");
    let sample = read_camera("apple_iphone8.heic");
    let started = Instant::now();
    let err = HeifWorker::new(&hang)
        .with_time_limit(Duration::from_secs(1))
        .decode(&sample, &limits())
        .unwrap_err();
    let elapsed = started.elapsed();
    let msg = err.to_string();
    assert!(
        msg.contains("HEIC decoder took longer than 1 s on this file"),
        "{msg}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // A worker that writes its answer but never exits is stopped too.
    let linger = script(dir.path(), "linger", "cat >/dev/null; exec sleep 60");
    let started = Instant::now();
    let msg = HeifWorker::new(&linger)
        .with_time_limit(Duration::from_secs(1))
        .decode(&sample, &limits())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("took longer than 1 s"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Runs in a child process (see below) with `$PROBITY_HEIF_WORKER` set, so the variable is
/// never changed under other tests of this binary.
#[test]
fn sec_heic_worker_named_by_environment_child() {
    let Ok(expect) = std::env::var("PROBITY_HEIF_BOUNDS_CHILD") else {
        return;
    };
    let err = decode_still(&read_camera("apple_iphone8.heic"), &limits()).unwrap_err();
    let msg = err.to_string();
    match expect.as_str() {
        "crash" => assert!(msg.contains("crashed (signal 11, SIGSEGV)"), "{msg}"),
        "missing" => {
            assert!(
                matches!(err, ImagingError::HeifDecoderUnavailable { .. }),
                "{err:?}"
            );
            assert!(
                msg.contains("cargo build -p probity-imaging --bins"),
                "{msg}"
            );
        }
        other => panic!("unknown child mode {other}"),
    }
}

#[test]
fn sec_heic_worker_named_by_environment() {
    let dir = tempfile::tempdir().unwrap();
    let crash = script(dir.path(), "segv", "ulimit -c 0; kill -SEGV $$");
    for (mode, worker) in [
        ("crash", crash.as_os_str()),
        ("missing", "/nonexistent/probity-heif-worker".as_ref()),
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sec_heic_worker_named_by_environment_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("PROBITY_HEIF_BOUNDS_CHILD", mode)
            .env("PROBITY_HEIF_WORKER", worker)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{mode}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
}

/// Decode with libheif in this process, the way decoding worked before the worker.
fn in_process(bytes: &[u8]) -> image::RgbImage {
    use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};
    let lib = LibHeif::new();
    let ctx = HeifContext::read_from_bytes(bytes).unwrap();
    let handle = ctx.primary_image_handle().unwrap();
    let img = lib
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .unwrap();
    let plane = img.planes().interleaved.unwrap();
    let mut out = Vec::new();
    for y in 0..plane.height as usize {
        let row = &plane.data[y * plane.stride..y * plane.stride + plane.width as usize * 3];
        out.extend_from_slice(row);
    }
    image::RgbImage::from_raw(plane.width, plane.height, out).unwrap()
}

#[test]
fn dc_06_heic_from_the_worker_has_the_same_pixels_and_orientation() {
    let sample = read_camera("apple_iphone8.heic");
    // The sample as stored, and with its rotation property set to a quarter turn.
    let rotated = patched_all(
        &sample,
        &[0, 0, 0, 9, b'i', b'r', b'o', b't', 0],
        &[0, 0, 0, 9, b'i', b'r', b'o', b't', 1],
    );
    for (bytes, size) in [(&sample, (4032, 3024)), (&rotated, (3024, 4032))] {
        let d = decode_still(bytes, &limits()).unwrap();
        assert_eq!(d.image.dimensions(), size);
        assert_eq!((d.original_width, d.original_height), (4032, 3024));
        assert_eq!(d.orientation_applied, 1);
        assert!(
            d.image == in_process(bytes),
            "pixels differ from in-process libheif"
        );
    }
    assert_eq!(
        inspect_heif(&rotated, &limits()).unwrap().rotation,
        1,
        "irot read by the walk"
    );
}
