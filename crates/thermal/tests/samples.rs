//! TH-02 decoding of the real sample files, checked against their exiftool
//! dumps and the reference values documented in the data README.

mod common;

use probity_thermal::{
    decode, decode_frames, is_radiometric_jpeg, is_thermal_content, Calibration, DecodeLimits,
    DecodeOptions, RawEncoding, SourceFormat, ThermalError, ThermalImage,
};

fn decode_sample(name: &str) -> ThermalImage {
    decode(&common::read(name), &DecodeOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Tolerance of half the last printed digit of an exiftool value.
fn printed_tolerance(value: &str) -> f64 {
    let num: String = value
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        .collect();
    let decimals = num.split_once('.').map(|(_, d)| d.len()).unwrap_or(0);
    0.5 * 10f64.powi(-(decimals as i32)) * 1.001 + 1e-12
}

fn assert_matches_dump(file: &str, tag: &str, ours: f64) {
    let text = common::exiftool_value(file, tag).unwrap_or_else(|| panic!("{file}: no {tag}"));
    let reference = common::exiftool_number(file, tag);
    let tol = printed_tolerance(&text);
    assert!(
        (ours - reference).abs() <= tol,
        "{file}: {tag} is {ours}, exiftool says {text}"
    );
}

const FLIR_FILES: [&str; 7] = [
    "flir_one_example.jpg",
    "flir_ax8.jpg",
    "flir_e40.jpg",
    "flir_t640.jpg",
    "dji_xt2_flir_core.jpg",
    "dji_zenmuse_xtr_flir_core.jpg",
    "flir_duo_pro_r_frame.fff",
];

#[test]
fn th_02_camera_constants_match_exiftool_dumps() {
    for file in FLIR_FILES {
        let img = decode_sample(file);
        let Calibration::Planck(p) = *img.calibration() else {
            panic!("{file}: expected the camera's Planck calibration");
        };
        assert_matches_dump(file, "PlanckR1", p.planck_r1);
        assert_matches_dump(file, "PlanckR2", p.planck_r2);
        assert_matches_dump(file, "PlanckB", p.planck_b);
        assert_matches_dump(file, "PlanckF", p.planck_f);
        assert_matches_dump(file, "PlanckO", p.planck_o);
        assert_matches_dump(file, "Emissivity", p.emissivity);
        assert_matches_dump(file, "ObjectDistance", p.object_distance_m);
        assert_matches_dump(
            file,
            "ReflectedApparentTemperature",
            p.reflected_apparent_temperature_c,
        );
        assert_matches_dump(file, "AtmosphericTemperature", p.atmospheric_temperature_c);
        assert_matches_dump(file, "IRWindowTemperature", p.ir_window_temperature_c);
        assert_matches_dump(file, "IRWindowTransmission", p.ir_window_transmission);
        assert_matches_dump(file, "RelativeHumidity", p.relative_humidity * 100.0);
        assert_matches_dump(file, "AtmosphericTransAlpha1", p.atmospheric_trans_alpha1);
        assert_matches_dump(file, "AtmosphericTransAlpha2", p.atmospheric_trans_alpha2);
        assert_matches_dump(file, "AtmosphericTransBeta1", p.atmospheric_trans_beta1);
        assert_matches_dump(file, "AtmosphericTransBeta2", p.atmospheric_trans_beta2);
        assert_matches_dump(file, "AtmosphericTransX", p.atmospheric_trans_x);
        assert_matches_dump(file, "RawThermalImageWidth", f64::from(img.width()));
        assert_matches_dump(file, "RawThermalImageHeight", f64::from(img.height()));

        let md = img.metadata();
        let dump_str = |tag| common::exiftool_value(file, tag).filter(|v| !v.is_empty());
        match dump_str("CameraModel") {
            Some(m) => assert_eq!(
                md.camera.model.as_deref(),
                Some(m.as_str()),
                "{file}: model"
            ),
            // DJI leaves the FLIR model empty; the EXIF model stands in.
            None => assert_eq!(
                md.camera.model.as_deref(),
                Some("FLIR"),
                "{file}: EXIF model"
            ),
        }
        assert_eq!(
            md.camera.serial,
            dump_str("CameraSerialNumber"),
            "{file}: serial"
        );
        let taken = md
            .capture_time
            .unwrap_or_else(|| panic!("{file}: capture time"))
            .format("%Y:%m:%d %H:%M:%S%.3f%:z")
            .to_string();
        assert_eq!(
            Some(taken),
            dump_str("DateTimeOriginal"),
            "{file}: capture time"
        );
        let stats = md.raw_value_stats.expect("raw value stats");
        assert_matches_dump(file, "RawValueMedian", f64::from(stats.median));
        assert_matches_dump(file, "RawValueRange", f64::from(stats.range));
    }
}

#[test]
fn th_02_dji_bodies_with_flir_cores_decode() {
    // flyr fails on these (KeyError): their FFF header is little-endian.
    for (file, centre_ref) in [
        ("dji_xt2_flir_core.jpg", "CentralTemperature"),
        ("dji_zenmuse_xtr_flir_core.jpg", "CentralTemperature"),
    ] {
        let img = decode_sample(file);
        assert_eq!((img.width(), img.height()), (640, 512));
        assert_eq!(img.metadata().raw_encoding, RawEncoding::Raw16Le);
        assert_eq!(img.metadata().camera.make.as_deref(), Some("DJI"));
        let temps = img.temperatures().unwrap();
        // The camera's XMP records the temperature at the image centre in whole degrees.
        let dump =
            std::fs::read_to_string(common::thermal(&format!("{file}.exiftool.txt"))).unwrap();
        let centre: f32 = dump
            .lines()
            .find(|l| l.contains(centre_ref))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.trim().parse().ok())
            .expect("CentralTemperature in dump");
        let ours = temps.at(320, 256).unwrap();
        assert!(
            (ours - centre).abs() < 1.0,
            "{file}: centre {ours} °C vs camera {centre} °C"
        );
    }
    let img = decode_sample("dji_zenmuse_xtr_flir_core.jpg");
    let Calibration::Planck(p) = *img.calibration() else {
        panic!()
    };
    assert_eq!(
        p.object_distance_m, 20.0,
        "README: object distance recorded as 20 m"
    );
}

#[test]
fn th_02_documented_reference_values() {
    // sparrow-flir README: min 25.94827 °C, max 62.32026 °C.
    let s = decode_sample("flir_one_example.jpg")
        .temperatures()
        .unwrap()
        .stats()
        .unwrap();
    assert!((s.min_c - 25.94827).abs() < 0.005, "min {}", s.min_c);
    assert!((s.max_c - 62.32026).abs() < 0.005, "max {}", s.max_c);
    assert_eq!(
        decode_sample("flir_one_example.jpg")
            .metadata()
            .raw_encoding,
        RawEncoding::Png
    );

    // AX8 camera overlay: max 25.5, min 24.3, average 25.1 (rounded display values).
    let s = decode_sample("flir_ax8.jpg")
        .temperatures()
        .unwrap()
        .stats()
        .unwrap();
    assert!((s.max_c - 25.5).abs() < 0.1, "max {}", s.max_c);
    assert!((s.min_c - 24.3).abs() < 0.1, "min {}", s.min_c);
    assert!((s.mean_c - 25.1).abs() < 0.1, "mean {}", s.mean_c);

    // E40 overlay: centre spot 20.9 °C.
    let img = decode_sample("flir_e40.jpg");
    assert_eq!(img.metadata().raw_encoding, RawEncoding::Raw16Le);
    let centre = img.temperatures().unwrap().at(80, 60).unwrap();
    assert!((centre - 20.9).abs() < 0.1, "centre {centre}");

    // Duo Pro R FFF: raw range 116 centred on 2681, as the dump records.
    let img = decode_sample("flir_duo_pro_r_frame.fff");
    assert_eq!(img.metadata().format, SourceFormat::FlirFff);
    let (lo, hi) = (
        img.raw().iter().min().unwrap(),
        img.raw().iter().max().unwrap(),
    );
    assert_eq!(hi - lo, 116);
    assert_eq!((u32::from(*lo) + u32::from(*hi)) / 2, 2681);
}

#[test]
fn th_02_radiometric_tiff_uses_forty_millikelvin_per_count() {
    let bytes = common::read("radiometric_16bit.tiff");
    let e = decode(&bytes, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, ThermalError::CalibrationRequired), "{e}");
    let img = decode(
        &bytes,
        &DecodeOptions {
            calibration: Some(Calibration::FORTY_MILLIKELVIN),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!((img.width(), img.height()), (640, 512));
    assert_eq!(img.metadata().camera.serial.as_deref(), Some("8340357"));
    let temps = img.temperatures().unwrap();
    for (&raw, &t) in img.raw().iter().zip(temps.celsius()).step_by(997) {
        assert!((f64::from(t) - (f64::from(raw) * 0.04 - 273.15)).abs() < 1e-3);
    }
    let s = temps.stats().unwrap();
    assert!(s.min_c > -40.0 && s.max_c < 60.0, "{s:?}");
}

fn pgm_of(img: &ThermalImage) -> Vec<u8> {
    let mut pgm = format!(
        "P5\n# test frame\n{} {}\n65535\n",
        img.width(),
        img.height()
    )
    .into_bytes();
    for v in img.raw() {
        pgm.extend_from_slice(&v.to_be_bytes());
    }
    pgm
}

#[test]
fn th_01_plain_pgm_frames_with_linear_or_planck_calibration() {
    // The FFF frame's counts as a PGM stream, with the camera's Planck constants.
    let fff = decode_sample("flir_duo_pro_r_frame.fff");
    let pgm = pgm_of(&fff);
    assert!(matches!(
        decode(&pgm, &DecodeOptions::default()),
        Err(ThermalError::CalibrationRequired)
    ));
    let from_pgm = decode(
        &pgm,
        &DecodeOptions {
            calibration: Some(*fff.calibration()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(from_pgm.metadata().format, SourceFormat::Pgm16);
    assert_eq!(
        from_pgm.temperatures().unwrap(),
        fff.temperatures().unwrap()
    );

    // Linear calibration.
    let lin = decode(
        &pgm,
        &DecodeOptions {
            calibration: Some(Calibration::Linear {
                scale: 0.01,
                offset: -10.0,
            }),
            ..Default::default()
        },
    )
    .unwrap();
    let t = lin.temperatures().unwrap();
    assert!((t.celsius()[0] - (f32::from(fff.raw()[0]) * 0.01 - 10.0)).abs() < 1e-4);

    // An 8-bit PGM is a display image, not radiometric.
    let eight = b"P5 2 2 255\n\x01\x02\x03\x04".to_vec();
    let e = decode(
        &eight,
        &DecodeOptions {
            calibration: Some(Calibration::FORTY_MILLIKELVIN),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("not a radiometric image"), "{e}");
}

#[test]
fn th_02_seq_files_iterate_consecutive_fff_records() {
    let one = common::read("flir_duo_pro_r_frame.fff");
    let mut seq = one.clone();
    seq.extend_from_slice(&[0u8; 7]); // padding between records
    seq.extend_from_slice(&one);
    seq.extend_from_slice(&one);
    let frames: Vec<_> = decode_frames(&seq, &DecodeOptions::default())
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(frames.len(), 3);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.metadata().frame_index, i);
        assert_eq!(f.raw(), frames[0].raw());
    }
    // A truncated last record yields the good frames, then a clear error.
    seq.truncate(seq.len() - 1000);
    let results: Vec<_> = decode_frames(&seq, &DecodeOptions::default())
        .unwrap()
        .collect();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[1].is_ok());
    let e = results[2].as_ref().unwrap_err();
    assert!(matches!(e, ThermalError::Corrupt(_)), "{e}");
    // Frame limit.
    let limited = DecodeOptions {
        limits: DecodeLimits {
            max_frames: 1,
            ..Default::default()
        },
        ..Default::default()
    };
    let results: Vec<_> = decode_frames(&one.repeat(2), &limited).unwrap().collect();
    assert!(matches!(results[1], Err(ThermalError::TooLarge { .. })));
}

#[test]
fn th_02_jpeg_without_radiometric_data_is_refused() {
    let bytes = common::read("negative/flir_exif_without_thermal_segment.jpg");
    let e = decode(&bytes, &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, ThermalError::NotRadiometric(_)));
    assert!(e.to_string().starts_with("not a radiometric image"), "{e}");
    assert!(!is_radiometric_jpeg(&bytes));
    assert!(!is_thermal_content(&bytes));
    for cam in ["apple_iphone4.jpg", "nikon_d70.jpg", "apple_minimal.jpg"] {
        let path = common::data_dir().join("camera").join(cam);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(!is_radiometric_jpeg(&bytes), "{cam}");
        let e = decode(&bytes, &DecodeOptions::default()).unwrap_err();
        assert!(
            e.to_string().starts_with("not a radiometric image"),
            "{cam}: {e}"
        );
    }
}

#[test]
fn th_02_placeholder_raw_image_is_refused_clearly() {
    let bytes = common::read("negative/flir_metadata_with_placeholder_image.jpg");
    let e = decode(&bytes, &DecodeOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ThermalError::Corrupt(_)), "{msg}");
    assert!(msg.contains("8x8") && msg.contains("120x120"), "{msg}");
    // Still recognised as thermal, so the face side refuses it too (TH-06).
    assert!(is_radiometric_jpeg(&bytes));
}

#[test]
fn th_06_radiometric_jpegs_are_recognised_cheaply() {
    for file in FLIR_FILES.iter().filter(|f| f.ends_with(".jpg")) {
        let bytes = common::read(file);
        assert!(is_radiometric_jpeg(&bytes), "{file}");
        assert!(is_thermal_content(&bytes), "{file}");
    }
    let fff = common::read("flir_duo_pro_r_frame.fff");
    assert!(!is_radiometric_jpeg(&fff));
    assert!(is_thermal_content(&fff));
}

/// Offset of the camera record's PlanckR1 inside the bare FFF sample.
fn fff_planck_r1_offset(fff: &[u8]) -> usize {
    let be32 = |o: usize| u32::from_be_bytes(fff[o..o + 4].try_into().unwrap()) as usize;
    let (dir, n) = (be32(0x18), be32(0x1C));
    (0..n)
        .map(|i| dir + i * 32)
        .find(|&e| u16::from_be_bytes([fff[e], fff[e + 1]]) == 0x20)
        .map(|e| be32(e + 0x0C) + 0x58)
        .expect("camera record")
}

#[test]
fn th_02_absurd_constants_in_a_file_are_refused() {
    let fff = common::read("flir_duo_pro_r_frame.fff");
    let off = fff_planck_r1_offset(&fff);
    for bad in [0.0f32, f32::NAN, f32::INFINITY, -1.0] {
        let mut m = fff.clone();
        m[off..off + 4].copy_from_slice(&bad.to_le_bytes());
        let e = decode(&m, &DecodeOptions::default()).unwrap_err();
        assert!(
            matches!(
                e,
                ThermalError::BadConstant {
                    name: "PlanckR1",
                    ..
                }
            ),
            "{bad}: {e}"
        );
        assert!(e.to_string().contains("PlanckR1"));
    }
}

#[test]
fn th_02_dimensions_beyond_the_limit_are_refused() {
    let bytes = common::read("flir_t640.jpg");
    let opts = DecodeOptions {
        limits: DecodeLimits {
            max_dimension: 320,
            ..Default::default()
        },
        ..Default::default()
    };
    let e = decode(&bytes, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            ThermalError::TooLarge {
                width: 640,
                height: 480,
                ..
            }
        ),
        "{e}"
    );
    let opts = DecodeOptions {
        limits: DecodeLimits {
            max_pixels: 100_000,
            ..Default::default()
        },
        ..Default::default()
    };
    assert!(matches!(
        decode(&bytes, &opts),
        Err(ThermalError::TooLarge { .. })
    ));
}

#[test]
fn th_02_truncated_segments_are_reported() {
    let bytes = common::read("flir_t640.jpg");
    // Cut inside the FLIR APP1 segments: the segment runs past the end.
    let e = decode(&bytes[..200_000], &DecodeOptions::default()).unwrap_err();
    assert!(matches!(e, ThermalError::Corrupt(_)), "{e}");
    // Drop one whole FLIR segment: the record is incomplete.
    let start = bytes
        .windows(9)
        .position(|w| w == b"\xff\xe1\xff\xfeFLIR\0")
        .unwrap();
    let seg_len = 2 + usize::from(u16::from_be_bytes([bytes[start + 2], bytes[start + 3]]));
    let mut cut = bytes[..start].to_vec();
    cut.extend_from_slice(&bytes[start + seg_len..]);
    let e = decode(&cut, &DecodeOptions::default()).unwrap_err();
    assert!(e.to_string().contains("segment 1 of 23 is missing"), "{e}");
}
