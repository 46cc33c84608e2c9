//! Card intake planning, hashing and thumbnails on real camera files and damaged copies
//! (DC-05, DC-06).

mod common;

use std::path::Path;

use common::{camera, read_camera};
use probity_imaging::{
    examine, make_thumbnail, read_back_verify, scan_card, sha256_file, CardFile, DecodeLimits,
    FileFormat, ImagingError, IntakeDecision, IntakeOptions, ThumbnailSource,
};

fn copy_sample(dir: &Path, sample: &str, as_name: &str) {
    let to = dir.join(as_name);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&to, read_camera(sample)).unwrap();
}

fn by_name<'a>(files: &'a [CardFile], name: &str) -> &'a CardFile {
    files
        .iter()
        .find(|f| f.relative_path == Path::new(name))
        .unwrap_or_else(|| panic!("{name} missing from the scan"))
}

fn refused_reason(f: &CardFile) -> &str {
    match &f.decision {
        IntakeDecision::Refused { reason } => reason,
        other => panic!(
            "{} should be refused, is {other:?}",
            f.relative_path.display()
        ),
    }
}

#[test]
fn dc_05_card_scan_gives_a_result_for_every_file() {
    let card = tempfile::tempdir().unwrap();
    let root = card.path();
    copy_sample(root, "apple_iphone8.heic", "DCIM/100APPLE/IMG_0001.HEIC");
    copy_sample(root, "apple_iphone4.jpg", "DCIM/100APPLE/IMG_0002.JPG");
    copy_sample(root, "nikon_d70.jpg", "DCIM/100NCD70/DSC_0001.JPG");
    // Duplicate of an earlier file.
    copy_sample(root, "nikon_d70.jpg", "DCIM/100NCD70/DSC_0001_copy.JPG");
    // Lying extension: JPEG content named .HEIC.
    copy_sample(root, "apple_iphone4.jpg", "DCIM/100APPLE/IMG_0003.HEIC");
    // Truncated JPEG.
    let full = read_camera("nikon_d70.jpg");
    std::fs::write(
        root.join("DCIM/100NCD70/DSC_0002.JPG"),
        &full[..full.len() / 3],
    )
    .unwrap();
    // Metadata-only HEIC and stripped NEF.
    copy_sample(
        root,
        "heic_metadata_only.heic",
        "DCIM/100APPLE/IMG_0004.HEIC",
    );
    copy_sample(root, "nikon_d70_stripped.nef", "DCIM/100NCD70/DSC_0003.NEF");
    // Something that is not a camera original.
    std::fs::write(root.join("MISC.TXT"), b"card index").unwrap();

    let results: Vec<_> = scan_card(root, IntakeOptions::default()).unwrap().collect();
    assert_eq!(results.len(), 9, "one result per file");
    let files: Vec<CardFile> = results.into_iter().map(|r| r.unwrap()).collect();

    let heic = by_name(&files, "DCIM/100APPLE/IMG_0001.HEIC");
    assert_eq!(heic.decision, IntakeDecision::Accepted);
    assert_eq!(heic.format, FileFormat::Heif);
    let (sha, size) = sha256_file(&camera("apple_iphone8.heic")).unwrap();
    assert_eq!((heic.sha256.as_str(), heic.size), (sha.as_str(), size));
    assert_eq!(
        heic.metadata.as_ref().unwrap().model.as_deref(),
        Some("iPhone 8")
    );
    let t = heic.thumbnail.as_ref().expect("thumbnail");
    assert!(t.width.max(t.height) <= 256);

    let dup = by_name(&files, "DCIM/100NCD70/DSC_0001_copy.JPG");
    assert_eq!(
        dup.decision,
        IntakeDecision::Duplicate {
            of: "DCIM/100NCD70/DSC_0001.JPG".into()
        }
    );

    let liar = by_name(&files, "DCIM/100APPLE/IMG_0003.HEIC");
    assert_eq!(liar.format, FileFormat::Jpeg);
    assert!(!liar.extension.matches);
    // Same content as IMG_0002.JPG: the lie is reported even on a duplicate.
    assert!(matches!(liar.decision, IntakeDecision::Duplicate { .. }));

    let truncated = by_name(&files, "DCIM/100NCD70/DSC_0002.JPG");
    assert!(
        refused_reason(truncated).contains("truncated"),
        "{truncated:?}"
    );

    let hollow = by_name(&files, "DCIM/100APPLE/IMG_0004.HEIC");
    assert!(
        refused_reason(hollow).contains("no image in this HEIF file"),
        "{hollow:?}"
    );

    let nef = by_name(&files, "DCIM/100NCD70/DSC_0003.NEF");
    assert!(refused_reason(nef).contains("stripped"), "{nef:?}");
    // Its metadata still parses.
    assert_eq!(
        nef.metadata.as_ref().unwrap().model.as_deref(),
        Some("NIKON D70")
    );

    let txt = by_name(&files, "MISC.TXT");
    assert!(
        refused_reason(txt).contains("not a recognised image format"),
        "{txt:?}"
    );
}

#[test]
fn dc_06_lying_extension_is_reported() {
    let exam = examine(
        Path::new("holiday.heic"),
        &read_camera("nikon_d70.jpg"),
        &IntakeOptions::default(),
    );
    assert_eq!(exam.format, FileFormat::Jpeg);
    assert_eq!(exam.decision, IntakeDecision::Accepted);
    assert!(
        exam.notes
            .iter()
            .any(|n| n.contains(".heic") && n.contains("JPEG")),
        "{:?}",
        exam.notes
    );
}

#[test]
fn dc_06_other_formats_refused_by_name() {
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&[0u8; 12], 2, 2, image::ExtendedColorType::Rgb8)
        .unwrap();
    use image::ImageEncoder;
    let exam = examine(Path::new("x.png"), &png, &IntakeOptions::default());
    match exam.decision {
        IntakeDecision::Refused { reason } => {
            assert!(reason.contains("PNG files are not accepted"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn dc_06_oversize_file_refused() {
    let options = IntakeOptions {
        limits: DecodeLimits {
            max_bytes: 100_000,
            ..DecodeLimits::default()
        },
        ..IntakeOptions::default()
    };
    let card = tempfile::tempdir().unwrap();
    copy_sample(card.path(), "nikon_d70.jpg", "big.jpg");
    let files: Vec<_> = scan_card(card.path(), options).unwrap().collect();
    let f = files[0].as_ref().unwrap();
    assert!(refused_reason(f).contains("over the limit"), "{f:?}");
    assert_eq!(f.sha256, sha256_file(&camera("nikon_d70.jpg")).unwrap().0);
}

#[test]
fn dc_05_vanished_path_is_a_per_file_error() {
    let card = tempfile::tempdir().unwrap();
    copy_sample(card.path(), "apple_minimal.jpg", "a.jpg");
    copy_sample(card.path(), "nikon_d70.jpg", "b.jpg");
    copy_sample(card.path(), "apple_iphone4.jpg", "c.jpg");
    let mut scan = scan_card(card.path(), IntakeOptions::default()).unwrap();
    let first = scan.next().unwrap().unwrap();
    assert_eq!(first.relative_path, Path::new("a.jpg"));
    // The card loses b.jpg after the walk began.
    std::fs::remove_file(card.path().join("b.jpg")).unwrap();
    let rest: Vec<_> = scan.collect();
    assert_eq!(
        rest.len(),
        1 + 1,
        "b.jpg reports an error, c.jpg is still examined: {rest:?}"
    );
    let ok: Vec<_> = rest.iter().filter_map(|r| r.as_ref().ok()).collect();
    let err: Vec<_> = rest.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].relative_path, Path::new("c.jpg"));
    assert_eq!(err.len(), 1);
    assert!(
        matches!(err[0], ImagingError::Io { path, .. } if path.ends_with("b.jpg")),
        "{err:?}"
    );
}

#[test]
fn dc_05_missing_card_is_an_error() {
    let err = scan_card(Path::new("/nonexistent/card"), IntakeOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("/nonexistent/card"), "{err}");
}

#[test]
fn dc_05_read_back_verify_detects_altered_copy() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("stored.jpg");
    let bytes = read_camera("apple_minimal.jpg");
    std::fs::write(&p, &bytes).unwrap();
    let (sha, _) = sha256_file(&p).unwrap();
    read_back_verify(&p, &sha).unwrap();
    let mut altered = bytes.clone();
    altered[100] ^= 1;
    std::fs::write(&p, &altered).unwrap();
    let err = read_back_verify(&p, &sha).unwrap_err();
    assert!(matches!(err, ImagingError::HashMismatch { .. }), "{err:?}");
    std::fs::remove_file(&p).unwrap();
    assert!(matches!(
        read_back_verify(&p, &sha).unwrap_err(),
        ImagingError::Io { .. }
    ));
}

#[test]
fn dc_06_thumbnails_are_small_upright_jpegs() {
    let limits = DecodeLimits::default();
    for (name, source) in [
        ("nikon_d70.jpg", ThumbnailSource::EmbeddedPreview),
        ("apple_iphone4.jpg", ThumbnailSource::DctScaled),
        ("apple_iphone8.heic", ThumbnailSource::EmbeddedThumbnail),
    ] {
        let t = make_thumbnail(&read_camera(name), 256, &limits)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(t.source, source, "{name}");
        assert_eq!(t.width.max(t.height), 256, "{name}");
        let back = image::load_from_memory(&t.jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (t.width, t.height));
    }
    // The thumbnail looks like the full image: compare against a full decode, shrunk.
    let full = probity_imaging::decode_still(&read_camera("nikon_d70.jpg"), &limits).unwrap();
    let t = make_thumbnail(&read_camera("nikon_d70.jpg"), 256, &limits).unwrap();
    let thumb = image::load_from_memory(&t.jpeg).unwrap().to_rgb8();
    let reference = image::imageops::resize(
        &full.image,
        t.width,
        t.height,
        image::imageops::FilterType::Triangle,
    );
    let mean_abs: f64 = thumb
        .as_raw()
        .iter()
        .zip(reference.as_raw())
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .sum::<f64>()
        / thumb.as_raw().len() as f64;
    assert!(
        mean_abs < 6.0,
        "thumbnail differs from the image by {mean_abs} on average"
    );
    // The stripped NEF has no usable preview.
    let err = make_thumbnail(&read_camera("nikon_d70_stripped.nef"), 256, &limits).unwrap_err();
    assert!(
        matches!(err, ImagingError::RawPixelsUnavailable { .. }),
        "{err:?}"
    );
}

#[test]
fn dc_06_truncated_nef_is_refused() {
    let nef = read_camera("nikon_d70_stripped.nef");
    let exam = examine(
        Path::new("DSC.NEF"),
        &nef[..nef.len() - 100],
        &IntakeOptions::default(),
    );
    match exam.decision {
        IntakeDecision::Refused { reason } => assert!(reason.contains("truncated"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn dc_06_cmyk_jpeg_thumbnail_keeps_colour() {
    let (w, h) = (64u16, 32u16);
    let cmyk: Vec<u8> = (0..w as usize * h as usize)
        .flat_map(|_| [0u8, 255, 255, 0])
        .collect();
    for color in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let mut buf = Vec::new();
        jpeg_encoder::Encoder::new(&mut buf, 95)
            .encode(&cmyk, w, h, color)
            .unwrap();
        let t = make_thumbnail(&buf, 16, &DecodeLimits::default()).unwrap();
        let img = image::load_from_memory(&t.jpeg).unwrap().to_rgb8();
        let p = img.get_pixel(4, 4);
        assert!(p[0] > 200 && p[1] < 60 && p[2] < 60, "{color:?}: {p:?}");
    }
}

#[test]
fn dc_05_parallel_scan_gives_the_same_results_in_the_same_order() {
    let card = tempfile::tempdir().unwrap();
    let root = card.path();
    copy_sample(root, "apple_iphone8.heic", "DCIM/IMG_0001.HEIC");
    copy_sample(root, "nikon_d70.jpg", "DCIM/DSC_0001.JPG");
    copy_sample(root, "nikon_d70.jpg", "DCIM/DSC_0001_copy.JPG");
    copy_sample(root, "nikon_d70.jpg", "OTHER/DSC_0001.JPG");
    copy_sample(root, "heic_metadata_only.heic", "DCIM/IMG_0002.HEIC");
    copy_sample(root, "apple_minimal.jpg", "DCIM/IMG_0003.jpeg");
    std::fs::write(root.join("README.TXT"), b"x").unwrap();
    let seq: Vec<_> = scan_card(root, IntakeOptions::default()).unwrap().collect();
    let par = probity_imaging::scan_card_parallel(root, IntakeOptions::default(), 3).unwrap();
    assert_eq!(seq.len(), par.len());
    for (a, b) in seq.iter().zip(&par) {
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            _ => panic!("sequential {a:?} vs parallel {b:?}"),
        }
    }
    let dups = par
        .iter()
        .filter(|r| matches!(r, Ok(f) if matches!(f.decision, IntakeDecision::Duplicate { .. })))
        .count();
    assert_eq!(dups, 2);
}
