//! Decoding of real camera files and of damaged or hostile copies (FR-07 probes, DC-06, TH-06).

mod common;

use common::{patched, read_camera, read_thermal};
use image::{ImageEncoder, Rgb, RgbImage};
use probity_imaging::{decode_still, DecodeLimits, FileFormat, ImagingError};

#[test]
fn dc_06_decodes_apple_heic() {
    let d = decode_still(&read_camera("apple_iphone8.heic"), &DecodeLimits::default()).unwrap();
    assert_eq!(d.format, FileFormat::Heif);
    assert_eq!((d.original_width, d.original_height), (4032, 3024));
    assert_eq!(d.image.dimensions(), (4032, 3024));
    // Real content, not a blank buffer.
    let distinct: std::collections::HashSet<_> = d.image.pixels().take(50_000).collect();
    assert!(distinct.len() > 100);
}

#[test]
fn dc_06_decodes_camera_jpegs() {
    for (name, w, h) in [
        ("apple_iphone4.jpg", 1296, 968),
        ("nikon_d70.jpg", 3008, 2000),
        ("apple_minimal.jpg", 8, 8),
    ] {
        let d = decode_still(&read_camera(name), &DecodeLimits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(d.format, FileFormat::Jpeg);
        assert_eq!(d.image.dimensions(), (w, h), "{name}");
    }
}

#[test]
fn dc_06_heic_without_image_is_a_clear_error() {
    let err = decode_still(
        &read_camera("heic_metadata_only.heic"),
        &DecodeLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, ImagingError::HeifNoImage { .. }), "{err:?}");
    assert!(
        err.to_string().contains("no image in this HEIF file"),
        "{err}"
    );
}

#[test]
fn dc_06_stripped_nef_pixels_fail_cleanly() {
    let err = decode_still(
        &read_camera("nikon_d70_stripped.nef"),
        &DecodeLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ImagingError::RawPixelsUnavailable { .. }),
        "{err:?}"
    );
}

#[test]
fn dc_06_truncated_jpeg_is_reported_as_truncated() {
    let full = read_camera("nikon_d70.jpg");
    for cut in [full.len() / 2, full.len() - 10, 1000, 40] {
        let err = decode_still(&full[..cut], &DecodeLimits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ImagingError::Corrupt {
                    format: FileFormat::Jpeg,
                    ..
                }
            ),
            "cut {cut}: {err:?}"
        );
        assert!(err.to_string().contains("truncated"), "{err}");
    }
}

#[test]
fn dc_06_truncated_heic_is_an_error() {
    let full = read_camera("apple_iphone8.heic");
    let err = decode_still(&full[..full.len() / 2], &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::Corrupt {
                format: FileFormat::Heif,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn th_06_radiometric_flir_jpeg_is_refused() {
    let err = decode_still(
        &read_thermal("flir_one_example.jpg"),
        &DecodeLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ImagingError::ThermalRefused { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("TH-06"), "{err}");
    let err = decode_still(&read_thermal("flir_e40.jpg"), &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(err, ImagingError::ThermalRefused { .. }),
        "{err:?}"
    );
    let err = decode_still(
        &read_thermal("flir_duo_pro_r_frame.fff"),
        &DecodeLimits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ImagingError::ThermalRefused { .. }),
        "{err:?}"
    );
}

#[test]
fn fr_07_oversize_image_refused_from_header() {
    // Rewrite the frame header of a real JPEG to declare 60000 x 60000 pixels: refused from the
    // header, before any buffer of that size is allocated.
    let jpeg = read_camera("nikon_d70.jpg");
    // SOF0 of the main image: FF C0, length 17, precision 8, height 2000 (07 D0), width 3008 (0B C0).
    let bomb = patched(
        &jpeg,
        &[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x07, 0xD0, 0x0B, 0xC0],
        &[0xFF, 0xC0, 0x00, 0x11, 0x08, 0xEA, 0x60, 0xEA, 0x60],
    );
    let err = decode_still(&bomb, &DecodeLimits::default()).unwrap_err();
    assert!(
        matches!(
            err,
            ImagingError::TooManyPixels {
                width: 60000,
                height: 60000,
                ..
            }
        ),
        "{err:?}"
    );
    let small = DecodeLimits {
        max_pixels: 1_000_000,
        ..DecodeLimits::default()
    };
    let err = decode_still(&read_camera("apple_iphone8.heic"), &small).unwrap_err();
    assert!(matches!(err, ImagingError::TooManyPixels { .. }), "{err:?}");
    let tiny_bytes = DecodeLimits {
        max_bytes: 1000,
        ..DecodeLimits::default()
    };
    let err = decode_still(&jpeg, &tiny_bytes).unwrap_err();
    assert!(matches!(err, ImagingError::TooManyBytes { .. }), "{err:?}");
}

#[test]
fn fr_07_exif_orientation_is_applied() {
    let jpeg = read_camera("nikon_d70.jpg");
    // IFD0 Orientation (0x0112, SHORT, count 1) = 1 in this big-endian EXIF block; set it to 6
    // (rotate 90° clockwise to display).
    let rotated = patched(
        &jpeg,
        &[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x01],
        &[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06],
    );
    let upright = decode_still(&jpeg, &DecodeLimits::default()).unwrap();
    let d = decode_still(&rotated, &DecodeLimits::default()).unwrap();
    assert_eq!(d.orientation_applied, 6);
    assert_eq!((d.original_width, d.original_height), (3008, 2000));
    assert_eq!(d.image.dimensions(), (2000, 3008));
    // Rotating 90° clockwise puts the stored bottom-left pixel at the displayed top-left.
    assert_eq!(d.image.get_pixel(0, 0), upright.image.get_pixel(0, 1999));
}

fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    })
}

#[test]
fn fr_07_decodes_greyscale_jpeg_and_png() {
    let grey = image::GrayImage::from_fn(64, 48, |x, _| image::Luma([(x * 4) as u8]));
    let mut buf = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut buf, 95)
        .write_image(grey.as_raw(), 64, 48, image::ExtendedColorType::L8)
        .unwrap();
    let d = decode_still(&buf, &DecodeLimits::default()).unwrap();
    assert_eq!(d.image.dimensions(), (64, 48));
    let p = d.image.get_pixel(40, 10);
    assert!(
        p[0] == p[1] && p[1] == p[2] && (p[0] as i32 - 160).abs() < 8,
        "{p:?}"
    );

    let img = gradient(50, 30);
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(img.as_raw(), 50, 30, image::ExtendedColorType::Rgb8)
        .unwrap();
    let d = decode_still(&png, &DecodeLimits::default()).unwrap();
    assert_eq!(d.format, FileFormat::Png);
    assert_eq!(d.image, img);
}

#[test]
fn fr_07_decodes_cmyk_and_ycck_jpeg() {
    // Pure red in CMYK is C=0, M=255, Y=255, K=0.
    let (w, h) = (32u16, 16u16);
    let mut cmyk = Vec::new();
    for _ in 0..(w as usize * h as usize) {
        cmyk.extend_from_slice(&[0, 255, 255, 0]);
    }
    for color in [
        jpeg_encoder::ColorType::Cmyk,
        jpeg_encoder::ColorType::CmykAsYcck,
    ] {
        let mut buf = Vec::new();
        jpeg_encoder::Encoder::new(&mut buf, 95)
            .encode(&cmyk, w, h, color)
            .unwrap();
        let d = decode_still(&buf, &DecodeLimits::default())
            .unwrap_or_else(|e| panic!("{color:?}: {e}"));
        let p = d.image.get_pixel(5, 5);
        assert!(
            p[0] > 200 && p[1] < 60 && p[2] < 60,
            "{color:?} decoded to {p:?}"
        );
    }
}

#[test]
fn dc_06_unknown_and_other_formats_refused_by_name() {
    let err = decode_still(b"just some text", &DecodeLimits::default()).unwrap_err();
    assert!(matches!(err, ImagingError::UnsupportedFormat { .. }));
    let err = decode_still(b"GIF89a\x01\x00\x01\x00", &DecodeLimits::default()).unwrap_err();
    assert!(err.to_string().contains("GIF"), "{err}");
}
