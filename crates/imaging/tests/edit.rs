//! FR-07: the only probe edits are brightness, crop and rotate, applied non-destructively;
//! PUB-01: redaction is a solid fill.

mod common;

use common::read_camera;
use image::{Rgb, RgbImage};
use probity_imaging::{
    decode_still, pixel_sha256, redact_regions, DecodeLimits, EditList, ImagingError, ProbeEdit,
    RedactionBox,
};

fn sample() -> RgbImage {
    RgbImage::from_fn(40, 20, |x, y| Rgb([(x * 6) as u8, (y * 12) as u8, 100]))
}

#[test]
fn fr_07_only_brightness_crop_rotate_exist() {
    // Every variant, listed through an exhaustive match: adding a fourth operation makes this
    // test fail to compile until it is listed here, and then fail on the count.
    let all = [
        ProbeEdit::Brightness {
            gain: 1.0,
            delta: 0.0,
        },
        ProbeEdit::Crop {
            x: 0,
            y: 0,
            width: 1,
            height: 1,
        },
        ProbeEdit::Rotate { degrees: 0.0 },
    ];
    for e in &all {
        match e {
            ProbeEdit::Brightness { .. } | ProbeEdit::Crop { .. } | ProbeEdit::Rotate { .. } => {}
        }
    }
    let kinds: Vec<_> = all.iter().map(|e| e.kind()).collect();
    assert_eq!(kinds, ProbeEdit::KINDS);
    assert_eq!(ProbeEdit::KINDS, ["brightness", "crop", "rotate"]);
    // Stored edit lists cannot smuggle in another operation.
    for op in ["sharpen", "upscale", "morph", "blur", "enhance"] {
        let json = format!(r#"{{"edits":[{{"op":"{op}"}}]}}"#);
        assert!(
            serde_json::from_str::<EditList>(&json).is_err(),
            "{op} was accepted"
        );
    }
}

#[test]
fn fr_07_edit_list_round_trips_and_leaves_original_untouched() {
    let original = sample();
    let before = original.clone();
    let list = EditList::new(vec![
        ProbeEdit::Brightness {
            gain: 1.2,
            delta: 10.0,
        },
        ProbeEdit::Crop {
            x: 5,
            y: 2,
            width: 30,
            height: 16,
        },
        ProbeEdit::Rotate { degrees: 90.0 },
        ProbeEdit::Rotate { degrees: -7.5 },
    ]);
    let json = serde_json::to_string(&list).unwrap();
    assert!(json.contains(r#""op":"brightness""#), "{json}");
    let back: EditList = serde_json::from_str(&json).unwrap();
    assert_eq!(back, list);

    let out = list.apply(&original).unwrap();
    assert_eq!(original, before, "the original is never modified");
    assert_eq!(out.original_sha256, pixel_sha256(&original));
    assert_eq!(out.steps.len(), 4);
    assert_eq!(out.steps[0].before_sha256, out.original_sha256);
    for pair in out.steps.windows(2) {
        assert_eq!(pair[0].after_sha256, pair[1].before_sha256);
    }
    for s in &out.steps {
        assert_ne!(
            s.before_sha256, s.after_sha256,
            "{:?} changed nothing",
            s.edit
        );
    }
    assert_eq!(out.steps[1].after_size, (30, 16));
    assert_eq!(out.steps[2].after_size, (16, 30));
    assert_eq!(
        out.steps.last().unwrap().after_sha256,
        pixel_sha256(&out.image)
    );
    // Applying again gives the same pixels: the list is a pure function of the original.
    assert_eq!(list.apply(&original).unwrap().image, out.image);
}

#[test]
fn fr_07_edits_do_what_they_say() {
    let img = sample();
    let b = EditList::new(vec![ProbeEdit::Brightness {
        gain: 2.0,
        delta: -5.0,
    }])
    .apply(&img)
    .unwrap()
    .image;
    assert_eq!(b.get_pixel(10, 5)[0], (60u32 * 2 - 5) as u8);
    // 234 × 2 − 5 is clamped to 255.
    assert_eq!(b.get_pixel(39, 0)[0], 255);
}

#[test]
fn fr_07_rotation_by_quarter_turns_is_exact_and_fine_angles_resample() {
    let img = sample();
    let r = EditList::new(vec![ProbeEdit::Rotate { degrees: 90.0 }])
        .apply(&img)
        .unwrap()
        .image;
    assert_eq!(r.dimensions(), (20, 40));
    // Clockwise: the top-left pixel goes to the top-right.
    assert_eq!(r.get_pixel(19, 0), img.get_pixel(0, 0));
    let full = EditList::new(vec![ProbeEdit::Rotate { degrees: 360.0 }])
        .apply(&img)
        .unwrap()
        .image;
    assert_eq!(full, img);
    let there_and_back = EditList::new(vec![
        ProbeEdit::Rotate { degrees: 180.0 },
        ProbeEdit::Rotate { degrees: -180.0 },
    ])
    .apply(&img)
    .unwrap()
    .image;
    assert_eq!(there_and_back, img);

    // A bright 3x3 spot 30 px right of the centre of a real photo crop, rotated 30° clockwise,
    // lands 30 px from the new centre at 30° below the horizontal (image y points down).
    let photo = decode_still(&read_camera("apple_iphone4.jpg"), &DecodeLimits::default())
        .unwrap()
        .image;
    let mut small = image::imageops::crop_imm(&photo, 500, 300, 200, 100).to_image();
    for y in 49..52 {
        for x in 129..132 {
            small.put_pixel(x, y, Rgb([255, 0, 255]));
        }
    }
    let r = EditList::new(vec![ProbeEdit::Rotate { degrees: 30.0 }])
        .apply(&small)
        .unwrap()
        .image;
    let a = 30f64.to_radians();
    let expect_w = (200.0 * a.cos() + 100.0 * a.sin()).round() as u32;
    assert_eq!(r.width(), expect_w);
    let (cx, cy) = (r.width() as f64 / 2.0, r.height() as f64 / 2.0);
    let (px, py) = (cx + 30.5 * a.cos(), cy + 30.5 * a.sin());
    let spot = r.get_pixel(px as u32, py as u32);
    assert!(
        spot[0] > 200 && spot[1] < 80 && spot[2] > 200,
        "spot not found at ({px},{py}): {spot:?}"
    );
    // Corners outside the rotated picture are black.
    assert_eq!(r.get_pixel(0, 0), &Rgb([0, 0, 0]));
}

#[test]
fn fr_07_invalid_parameters_are_refused() {
    let img = sample();
    for (edit, needle) in [
        (
            ProbeEdit::Brightness {
                gain: 10.0,
                delta: 0.0,
            },
            "gain",
        ),
        (
            ProbeEdit::Brightness {
                gain: 1.0,
                delta: 300.0,
            },
            "delta",
        ),
        (
            ProbeEdit::Brightness {
                gain: f32::NAN,
                delta: 0.0,
            },
            "gain",
        ),
        (
            ProbeEdit::Crop {
                x: 30,
                y: 0,
                width: 20,
                height: 5,
            },
            "inside",
        ),
        (
            ProbeEdit::Crop {
                x: 0,
                y: 0,
                width: 0,
                height: 5,
            },
            "empty",
        ),
        (
            ProbeEdit::Rotate {
                degrees: f64::INFINITY,
            },
            "finite",
        ),
        (ProbeEdit::Rotate { degrees: 720.0 }, "finite"),
    ] {
        let err = EditList::new(vec![edit]).apply(&img).unwrap_err();
        assert!(
            matches!(err, ImagingError::InvalidEdit { .. }),
            "{edit:?}: {err:?}"
        );
        assert!(err.to_string().contains(needle), "{edit:?}: {err}");
    }
    // A crop valid for the original but not after an earlier crop is refused at its step.
    let err = EditList::new(vec![
        ProbeEdit::Crop {
            x: 0,
            y: 0,
            width: 10,
            height: 10,
        },
        ProbeEdit::Crop {
            x: 5,
            y: 5,
            width: 10,
            height: 10,
        },
    ])
    .apply(&img)
    .unwrap_err();
    assert!(err.to_string().contains("edit 2 (crop)"), "{err}");
}

#[test]
fn pub_01_redaction_is_a_solid_fill() {
    let mut img = sample();
    let boxes = [
        RedactionBox {
            x: 2,
            y: 2,
            width: 5,
            height: 5,
        },
        RedactionBox {
            x: 35,
            y: 15,
            width: 20,
            height: 20,
        }, // clipped at the edge
    ];
    let covered = redact_regions(&mut img, &boxes, Rgb([0, 0, 0])).unwrap();
    assert!(covered > 0);
    for y in 2..7 {
        for x in 2..7 {
            assert_eq!(img.get_pixel(x, y), &Rgb([0, 0, 0]));
        }
    }
    assert_eq!(img.get_pixel(39, 19), &Rgb([0, 0, 0]));
    assert_ne!(img.get_pixel(10, 10), &Rgb([0, 0, 0]));
    let err = redact_regions(
        &mut img,
        &[RedactionBox {
            x: 100,
            y: 0,
            width: 5,
            height: 5,
        }],
        Rgb([0, 0, 0]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("nothing was released"), "{err}");
}
