//! TH-01/TH-03 live view building blocks: memory-only frames rendered to
//! palette images with spot, min and max temperatures.

mod common;

use probity_thermal::{
    decode, is_thermal_content, render_live, Calibration, DecodeLimits, DecodeOptions, LiveFrame,
    LiveImageFormat, LiveRenderOptions, Palette, ThermalError,
};

/// A pushed raw frame whose samples carry a recognisable pattern.
fn patterned_frame() -> LiveFrame {
    let (w, h) = (32u32, 24u32);
    let samples = (0..w * h).map(|i| 0xBEEF - (i % 97) as u16).collect();
    LiveFrame::from_raw16(
        w,
        h,
        samples,
        Calibration::FORTY_MILLIKELVIN,
        &DecodeLimits::default(),
    )
    .unwrap()
}

#[test]
fn th_03_debug_output_of_live_types_carries_no_pixels_or_temperatures() {
    let frame = patterned_frame();
    let dbg = format!("{frame:?}");
    assert!(!dbg.contains(&0xBEEFu16.to_string()), "{dbg}");
    assert!(dbg.len() < 80, "{dbg}");
    let view = render_live(&frame, &LiveRenderOptions::default()).unwrap();
    let dbg = format!("{view:?}");
    let spot = format!("{}", view.spot_c);
    assert!(!dbg.contains(&spot[..4]), "{dbg}");
    assert!(!dbg.contains("spot") && dbg.len() < 120, "{dbg}");
}

#[test]
fn th_03_crate_has_no_serialisation_dependency() {
    // Serialize can only be implemented for LiveFrame inside this crate or in
    // serde itself; without a serde dependency here, no code anywhere can
    // serialise a live frame.
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
    let deps = deps.split("\n[").next().unwrap_or("");
    assert!(
        !deps.contains("serde"),
        "probity-thermal must not depend on serde:\n{deps}"
    );
}

#[test]
fn th_03_live_frame_renders_with_spot_min_max() {
    let bytes = common::read("flir_one_example.jpg");
    let frame = LiveFrame::from_radiometric(&bytes, &DecodeOptions::default()).unwrap();
    assert_eq!((frame.width(), frame.height()), (240, 320));
    let view = render_live(&frame, &LiveRenderOptions::default()).unwrap();

    // Same numbers as the file decoder gives.
    let temps = decode(&bytes, &DecodeOptions::default())
        .unwrap()
        .temperatures()
        .unwrap();
    let stats = temps.stats().unwrap();
    assert_eq!(view.spot_at, (120, 160));
    assert_eq!(view.spot_c, temps.at(120, 160).unwrap());
    assert_eq!((view.min_c, view.max_c), (stats.min_c, stats.max_c));
    assert_eq!(view.max_at, stats.max_at);
    assert!((view.max_c - 62.32026).abs() < 0.005);

    assert_eq!(view.image.content_type(), "image/jpeg");
    let jpg = image::load_from_memory(view.image.as_bytes()).unwrap();
    assert!(
        jpg.width() > 240 && jpg.height() == 320,
        "scale bar widens the picture"
    );
    assert!(is_thermal_content(view.image.as_bytes()), "TH-06 marker");

    let png = render_live(
        &frame,
        &LiveRenderOptions {
            palette: Palette::WhiteHot,
            format: LiveImageFormat::Png,
            spot: Some((99, 215)),
            scale_bar: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(png.image.content_type(), "image/png");
    assert_eq!(png.spot_c, stats.max_c);
    let img = image::load_from_memory(png.image.as_bytes())
        .unwrap()
        .to_rgb8();
    assert_eq!(img.dimensions(), (240, 320));
    assert_eq!(
        img.get_pixel(99, 215).0,
        [255, 255, 255],
        "hottest pixel is white"
    );
}

#[test]
fn th_03_bad_live_input_is_refused() {
    let frame = patterned_frame();
    let e = render_live(
        &frame,
        &LiveRenderOptions {
            spot: Some((32, 0)),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, ThermalError::InvalidArgument(_)), "{e}");
    let limits = DecodeLimits::default();
    assert!(
        LiveFrame::from_raw16(4, 4, vec![0; 15], Calibration::FORTY_MILLIKELVIN, &limits).is_err()
    );
    assert!(
        LiveFrame::from_raw16_le(4, 4, &[0; 31], Calibration::FORTY_MILLIKELVIN, &limits).is_err()
    );
    let bad = Calibration::Linear {
        scale: f64::NAN,
        offset: 0.0,
    };
    assert!(matches!(
        LiveFrame::from_raw16(4, 4, vec![0; 16], bad, &limits),
        Err(ThermalError::BadConstant { .. })
    ));
    let small = DecodeLimits {
        max_dimension: 16,
        ..Default::default()
    };
    assert!(matches!(
        LiveFrame::from_raw16(32, 24, vec![0; 768], Calibration::FORTY_MILLIKELVIN, &small),
        Err(ThermalError::TooLarge { .. })
    ));
    let not_thermal = std::fs::read(common::data_dir().join("camera/nikon_d70.jpg")).unwrap();
    assert!(matches!(
        LiveFrame::from_radiometric(&not_thermal, &DecodeOptions::default()),
        Err(ThermalError::NotRadiometric(_))
    ));
}

#[test]
fn th_01_raw_le_stream_frames_decode() {
    let samples: Vec<u16> = (0..16u16).map(|i| 7000 + i).collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let frame = LiveFrame::from_raw16_le(
        4,
        4,
        &bytes,
        Calibration::FORTY_MILLIKELVIN,
        &DecodeLimits::default(),
    )
    .unwrap();
    let view = render_live(
        &frame,
        &LiveRenderOptions {
            spot: Some((3, 3)),
            ..Default::default()
        },
    )
    .unwrap();
    assert!((view.spot_c - (7015.0 * 0.04 - 273.15)).abs() < 1e-3);
    assert!((view.min_c - (7000.0 * 0.04 - 273.15)).abs() < 1e-3);
}
