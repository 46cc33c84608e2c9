//! The face engine on real LFW images (a few dozen, so CI stays fast).

mod common;

use std::sync::atomic::AtomicBool;

use common::{exact_search, lfw, models, template_floats};
use image::RgbImage;
use probity_face::algorithm::{DLIB_RESNET_V1, FACENET_512, FUSION_DLIB_FACENET};
use probity_face::quality::QualityIssue;
use probity_face::retemplate::{
    Checkpoint, RetemplateJob, RetemplateSink, RetemplateSource, SourcePhoto,
};
use probity_face::{
    compare, lookup, BoundingBox, FaceChoice, FaceEngine, FaceError, GalleryIndex, GalleryPhoto,
    RecordId, RepositoryTemplate, SearchMode, SearchRequest,
};

fn engine(name: &str) -> FaceEngine {
    FaceEngine::open(lookup(name).expect("registered"), &models()).expect("engine")
}

#[test]
fn fr_06_detects_the_face_with_box_score_landmarks_and_quality() {
    let mut e = engine(DLIB_RESNET_V1);
    let img = lfw("Colin_Powell", 1);
    let faces = e.detect(&img).expect("detect");
    assert!(!faces.is_empty());
    let f = &faces[0];
    // LFW images are centred on the labelled face.
    let cx = (f.bbox.left + f.bbox.right) / 2.0;
    let cy = (f.bbox.top + f.bbox.bottom) / 2.0;
    assert!(
        (cx - 125.0).abs() < 30.0 && (cy - 125.0).abs() < 40.0,
        "box {}",
        f.bbox
    );
    assert!(f.score.is_some());
    let le = f.landmarks.left_eye();
    let re = f.landmarks.right_eye();
    assert!(le.x < re.x, "eye order");
    assert!(f.landmarks.nose().y > le.y.max(re.y), "nose below the eyes");
    assert!(f.quality.inter_eye_px > 25.0 && f.quality.inter_eye_px < 80.0);
    assert!(f.quality.suitable, "issues: {:?}", f.quality.issues);
    assert_eq!(f.aligned.chip.dimensions(), (150, 150));
}

#[test]
fn fr_06_cnn_detector_finds_the_same_face() {
    let mut e = engine(DLIB_RESNET_V1);
    e.detect_options.detector = probity_face::DetectorKind::Cnn;
    let img = lfw("Tony_Blair", 1);
    let faces = e.detect(&img).expect("detect");
    assert!(!faces.is_empty());
    let mut h = engine(DLIB_RESNET_V1);
    let hog = h.detect(&img).expect("hog");
    assert!(faces[0].bbox.iou(&hog[0].bbox) > 0.4);
}

#[test]
fn fr_06_no_face_is_a_clear_error() {
    let mut e = engine(DLIB_RESNET_V1);
    let blank = RgbImage::from_pixel(200, 200, image::Rgb([128, 128, 128]));
    assert!(e.detect(&blank).expect("detect").is_empty());
    let err = e.choose(&blank, FaceChoice::Only).expect_err("no face");
    assert!(matches!(err, FaceError::NoFace));
    assert!(err.to_string().contains("draw the face box"));
}

#[test]
fn fr_06_several_faces_each_reported_and_a_probe_needs_one_chosen() {
    let mut e = engine(DLIB_RESNET_V1);
    let (a, b) = (lfw("Colin_Powell", 1), lfw("Tony_Blair", 1));
    let mut both = RgbImage::new(500, 250);
    image::imageops::replace(&mut both, &a, 0, 0);
    image::imageops::replace(&mut both, &b, 250, 0);
    let faces = e.detect(&both).expect("detect");
    assert!(faces.len() >= 2, "found {}", faces.len());
    assert!(faces.windows(2).all(|w| w[0].score >= w[1].score));
    assert!(matches!(e.choose(&both, FaceChoice::Only), Err(FaceError::SeveralFaces(n)) if n >= 2));
    let right = faces
        .iter()
        .position(|f| f.bbox.left > 250.0)
        .expect("face on the right");
    let chosen = e.choose(&both, FaceChoice::Index(right)).expect("chosen");
    assert!(chosen.bbox.left > 250.0);
}

#[test]
fn fr_01_repository_photo_is_searched_at_its_own_scale_and_doubled_only_when_needed() {
    let mut e = engine(DLIB_RESNET_V1);
    let img = lfw("Colin_Powell", 1);
    // A full-size photo: found at its own scale, the same face as the probe detection finds.
    let repo = e.detect_for_enrolment(&img).expect("repository detection");
    let probe = e.detect(&img).expect("probe detection");
    assert_eq!(repo.len(), 1, "one face in the photo");
    assert!(
        repo[0].bbox.iou(&probe[0].bbox) > 0.5,
        "{} vs {}",
        repo[0].bbox,
        probe[0].bbox
    );
    // The same photo at 40 %: the face (about 45 px) is below the HOG window at the photo's
    // scale, so only the doubled search finds it.
    let small = image::imageops::resize(&img, 100, 100, image::imageops::FilterType::Triangle);
    let mut once = e.repository_detect_options;
    once.retry_upsample = None;
    e.repository_detect_options = once;
    assert!(e.detect_for_enrolment(&small).expect("detect").is_empty());
    e.repository_detect_options = probity_face::DetectOptions::repository();
    let found = e
        .detect_for_enrolment(&small)
        .expect("detect with the retry");
    assert_eq!(found.len(), 1, "the doubled search finds the small face");
    let t = e
        .enrol(
            GalleryPhoto {
                record: RecordId(7),
                image: &small,
            },
            None,
        )
        .expect("enrolled through the retry");
    assert_eq!(t.record(), RecordId(7));
}

#[test]
fn fr_06_manual_box_is_aligned_with_the_landmark_model() {
    let mut e = engine(DLIB_RESNET_V1);
    let img = lfw("Colin_Powell", 1);
    let auto = e.detect(&img).expect("detect").remove(0);
    let drawn = BoundingBox {
        left: auto.bbox.left - 4.0,
        top: auto.bbox.top + 3.0,
        right: auto.bbox.right + 5.0,
        bottom: auto.bbox.bottom - 2.0,
    };
    let m = e.manual_face(&img, drawn).expect("manual");
    assert_eq!(m.score, None);
    assert!(m.landmarks.left_eye().distance(&auto.landmarks.left_eye()) < 6.0);
    // The same person through a hand-drawn box still matches the detected face.
    let t1 = e.probe_template(&img, &auto).expect("t1");
    let t2 = e.probe_template(&img, &m).expect("t2");
    assert!(t1.similarity(&t2).expect("sim") > 0.95);
    // Boxes outside the image or too small are refused.
    let outside = BoundingBox {
        left: 200.0,
        top: 200.0,
        right: 300.0,
        bottom: 300.0,
    };
    assert!(matches!(
        e.manual_face(&img, outside),
        Err(FaceError::BadFaceBox(_))
    ));
    let tiny = BoundingBox {
        left: 10.0,
        top: 10.0,
        right: 20.0,
        bottom: 20.0,
    };
    assert!(matches!(
        e.manual_face(&img, tiny),
        Err(FaceError::BadFaceBox(_))
    ));
}

#[test]
fn fr_06_small_dark_and_blurred_faces_are_unsuitable_with_reasons() {
    let mut e = engine(DLIB_RESNET_V1);
    let img = lfw("Colin_Powell", 1);
    // Small: the image shrunk to 40 % (eyes about 16 px apart).
    let small = image::imageops::resize(&img, 100, 100, image::imageops::FilterType::Triangle);
    let f = e
        .manual_face(
            &small,
            BoundingBox {
                left: 30.0,
                top: 30.0,
                right: 70.0,
                bottom: 72.0,
            },
        )
        .expect("manual");
    assert!(!f.quality.suitable);
    assert!(f
        .quality
        .issues
        .iter()
        .any(|i| matches!(i, QualityIssue::FaceTooSmall { .. })));
    // Dark: brightness scaled down to 12 %.
    let mut dark = img.clone();
    dark.pixels_mut()
        .for_each(|p| p.0.iter_mut().for_each(|c| *c = (*c as f32 * 0.12) as u8));
    let box_ = e.detect(&img).expect("detect")[0].bbox;
    let f = e.manual_face(&dark, box_).expect("manual");
    assert!(
        f.quality
            .issues
            .iter()
            .any(|i| matches!(i, QualityIssue::TooDark { .. })),
        "{:?}",
        f.quality
    );
    // Blurred: Gaussian blur, sigma 3.
    let blurred = image::imageops::blur(&img, 3.0);
    let f = e.manual_face(&blurred, box_).expect("manual");
    assert!(
        f.quality
            .issues
            .iter()
            .any(|i| matches!(i, QualityIssue::Blurred { .. })),
        "{:?}",
        f.quality
    );
    assert!(!f.quality.suitable);
}

fn same_and_different(name: &str) {
    let mut e = engine(name);
    let spec = lookup(name).expect("spec");
    let mut t = |who: &str, n: u32| {
        let img = lfw(who, n);
        let f = e.choose(&img, FaceChoice::Index(0)).expect("face");
        e.probe_template(&img, &f).expect("template")
    };
    let (p1, p2) = (t("Colin_Powell", 1), t("Colin_Powell", 2));
    let (b1, b2) = (t("Tony_Blair", 1), t("Tony_Blair", 2));
    let same1 = compare(spec, &p1, &p2).expect("c");
    let same2 = compare(spec, &b1, &b2).expect("c");
    let diff1 = compare(spec, &p1, &b1).expect("c");
    let diff2 = compare(spec, &p2, &b2).expect("c");
    assert!(same1.same && same2.same, "{same1:?} {same2:?}");
    assert!(!diff1.same && !diff2.same, "{diff1:?} {diff2:?}");
    assert!(same1.score.min(same2.score) > diff1.score.max(diff2.score));
}

#[test]
fn fr_08_dlib_resnet_same_person_scores_above_threshold_others_below() {
    same_and_different(DLIB_RESNET_V1);
}

#[test]
fn fr_08_facenet_same_person_scores_above_threshold_others_below() {
    same_and_different(FACENET_512);
}

#[test]
fn fr_08_fusion_same_person_scores_above_threshold_others_below() {
    same_and_different(FUSION_DLIB_FACENET);
}

#[test]
fn fr_23_fused_template_holds_both_networks_weighted_by_the_registered_parameters() {
    let spec = lookup(FUSION_DLIB_FACENET).expect("registered");
    let fusion = spec.fusion.expect("a fused algorithm");
    let img = lfw("Laura_Bush", 1);
    let enrol = |name: &str| {
        engine(name)
            .enrol(
                GalleryPhoto {
                    record: RecordId(1),
                    image: &img,
                },
                None,
            )
            .expect("enrol")
    };
    let fused = template_floats(&enrol(FUSION_DLIB_FACENET));
    let expected = fusion.params.fuse(
        &template_floats(&enrol(fusion.components[0])),
        &template_floats(&enrol(fusion.components[1])),
    );
    assert_eq!(fused.len(), spec.dimension);
    assert_eq!(fused.len(), expected.len());
    let worst = fused
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(worst < 1e-5, "fused template differs by {worst}");
    let norm = fused.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
}

/// Normalised `t` plus Gaussian-like noise of length `norm` (a deterministic generator).
fn perturbed(t: &[f32], norm: f32, seed: &mut u64) -> Vec<f32> {
    let mut e: Vec<f32> = t
        .iter()
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ((*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
        })
        .collect();
    let en = e.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    e.iter_mut().for_each(|x| *x *= norm / en);
    let mut v: Vec<f32> = t.iter().zip(&e).map(|(a, b)| a + b).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

#[test]
fn fr_08_fusion_shortlist_keeps_the_exact_fused_top_50() {
    // Real faces of 12 people (first photo enrolled, second searched) among 12,000 distractors
    // made from the enrolled components, so the first-pass shortlist (1,000 rows) is a small
    // part of the gallery.
    let spec = lookup(FUSION_DLIB_FACENET).expect("registered");
    let fusion = spec.fusion.expect("a fused algorithm");
    let mut e = engine(FUSION_DLIB_FACENET);
    let mut parts = [engine(fusion.components[0]), engine(fusion.components[1])];
    let people = [
        "Colin_Powell",
        "Tony_Blair",
        "Hugo_Chavez",
        "Jacques_Chirac",
        "Laura_Bush",
        "Jennifer_Capriati",
        "Lleyton_Hewitt",
        "Nestor_Kirchner",
        "Andre_Agassi",
        "Tom_Ridge",
        "Silvio_Berlusconi",
        "Vicente_Fox",
    ];
    let mut two_pass = GalleryIndex::new(spec);
    let mut whole = GalleryIndex::new(spec);
    whole.disable_first_pass();
    let mut components = Vec::new();
    for (i, who) in people.iter().enumerate() {
        let img = lfw(who, 1);
        let photo = || GalleryPhoto {
            record: RecordId(i as u64),
            image: &img,
        };
        let t = e.enrol(photo(), None).expect("enrol");
        two_pass.add(t.clone()).expect("add");
        whole.add(t).expect("add");
        let a = template_floats(&parts[0].enrol(photo(), None).expect("enrol"));
        let b = template_floats(&parts[1].enrol(photo(), None).expect("enrol"));
        components.push((a, b));
    }
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let distractors = 12_000;
    for d in 0..distractors {
        let (a, b) = &components[d % components.len()];
        let norm = 0.45 + 0.4 * (d % 7) as f32 / 7.0;
        let v = fusion.params.fuse(
            &perturbed(a, norm, &mut seed),
            &perturbed(b, norm, &mut seed),
        );
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let record = RecordId(1_000 + d as u64);
        let t = RepositoryTemplate::from_stored(record, spec, &bytes).expect("template");
        two_pass.add(t.clone()).expect("add");
        whole.add(t).expect("add");
    }
    assert!(fusion.shortlist(two_pass.len()) < two_pass.len() / 4);
    let req = SearchRequest {
        top_k: 50,
        mode: SearchMode::Exact,
    };
    for (i, who) in people.iter().enumerate() {
        let img = lfw(who, 2);
        let face = e.choose(&img, FaceChoice::Index(0)).expect("face");
        let probe = e.probe_template(&img, &face).expect("probe");
        let got = two_pass.search(&probe, &req, &|_| true).expect("search");
        let exact = whole.search(&probe, &req, &|_| true).expect("search");
        assert_eq!(got.candidates, exact.candidates, "{who}");
        assert!(
            got.candidates
                .iter()
                .any(|c| c.record == RecordId(i as u64)),
            "{who}: mate in the 50"
        );
    }
}

#[test]
fn fr_03_fr_08_gallery_enrolment_and_probe_search_find_the_mate() {
    let mut e = engine(DLIB_RESNET_V1);
    let spec = lookup(DLIB_RESNET_V1).expect("spec");
    let people = [
        "Colin_Powell",
        "Tony_Blair",
        "Hugo_Chavez",
        "Jacques_Chirac",
        "Laura_Bush",
    ];
    let mut index = GalleryIndex::new(spec);
    for (i, who) in people.iter().enumerate() {
        let img = lfw(who, 1);
        let t = e
            .enrol(
                GalleryPhoto {
                    record: RecordId(100 + i as u64),
                    image: &img,
                },
                None,
            )
            .expect("enrol");
        assert_eq!(t.record(), RecordId(100 + i as u64));
        index.add(t).expect("add");
    }
    for (i, who) in people.iter().enumerate() {
        let img = lfw(who, 3);
        let face = e.choose(&img, FaceChoice::Index(0)).expect("face");
        let probe = e.probe_template(&img, &face).expect("probe");
        let r = exact_search(&index, &probe, 3);
        assert_eq!(r.candidates[0].record, RecordId(100 + i as u64), "{who}");
        assert_eq!(r.algorithm, spec.id());
        // FR-03: searching never enrols the probe.
        assert_eq!(index.len(), people.len());
    }
    // A stored repository template round-trips through the store's bytes.
    let img = lfw("Colin_Powell", 1);
    let t = e
        .enrol(
            GalleryPhoto {
                record: RecordId(1),
                image: &img,
            },
            None,
        )
        .expect("enrol");
    let back = RepositoryTemplate::from_stored(RecordId(1), spec, &t.to_stored()).expect("stored");
    assert!(probity_face::template::gallery_similarity(&t, &back).expect("sim") > 0.9999);
}

struct Photos(Vec<(u64, &'static str, u32)>);
impl RetemplateSource for Photos {
    fn total(&mut self) -> Result<u64, FaceError> {
        Ok(self.0.len() as u64)
    }
    fn next_batch(
        &mut self,
        after: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<SourcePhoto>, FaceError> {
        Ok(self
            .0
            .iter()
            .filter(|(id, _, _)| after.is_none_or(|a| *id > a.0))
            .take(limit)
            .map(|(id, who, n)| SourcePhoto {
                record: RecordId(*id),
                image: if *n == 0 {
                    Err("corrupt JPEG".into())
                } else {
                    Ok(lfw(who, *n))
                },
            })
            .collect())
    }
}

#[derive(Default)]
struct Store {
    templates: Vec<RepositoryTemplate>,
    checkpoint: Option<Checkpoint>,
}
impl RetemplateSink for Store {
    fn save(&mut self, t: Vec<RepositoryTemplate>, c: &Checkpoint) -> Result<(), FaceError> {
        self.templates.extend(t);
        self.checkpoint = Some(c.clone());
        Ok(())
    }
}

#[test]
fn fr_23_retemplating_resumes_from_its_checkpoint_with_progress() {
    let mut e = engine(DLIB_RESNET_V1);
    let mut src = Photos(vec![
        (1, "Colin_Powell", 1),
        (2, "Tony_Blair", 1),
        (5, "Hugo_Chavez", 1),
        (7, "broken", 0),
        (9, "Laura_Bush", 1),
    ]);
    let mut store = Store::default();
    let stop = AtomicBool::new(false);
    let mut job = RetemplateJob::resume(Checkpoint::default());
    job.batch_size = 2;
    let mut seen = Vec::new();
    let cp = job
        .run(&mut e, &mut src, &mut store, &stop, &mut |p| {
            seen.push(p);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        })
        .expect("first run");
    assert_eq!(cp.last_record, Some(RecordId(2)));
    assert!(!cp.finished);
    assert_eq!(store.templates.len(), 2);
    // A new process resumes from the stored checkpoint.
    let saved = store.checkpoint.clone().expect("checkpoint saved");
    let stop = AtomicBool::new(false);
    let mut job = RetemplateJob::resume(saved);
    job.batch_size = 2;
    let cp = job
        .run(&mut e, &mut src, &mut store, &stop, &mut |p| seen.push(p))
        .expect("resume");
    assert!(cp.finished);
    assert_eq!(cp.done, 5);
    assert_eq!(cp.failed.len(), 1);
    assert_eq!(cp.failed[0].0, RecordId(7));
    let ids: Vec<u64> = store.templates.iter().map(|t| t.record().0).collect();
    assert_eq!(ids, vec![1, 2, 5, 9]);
    assert_eq!(seen.last().map(|p| (p.done, p.total)), Some((5, 5)));
    // A checkpoint of one algorithm never resumes under another.
    let mut f = engine(FACENET_512);
    let mut job = RetemplateJob::resume(cp);
    assert!(matches!(
        job.run(&mut f, &mut src, &mut store, &stop, &mut |_| {}),
        Err(FaceError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn fr_23_model_with_wrong_checksum_or_missing_is_refused_with_setup_hint() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = FaceEngine::open(lookup(DLIB_RESNET_V1).expect("spec"), dir.path())
        .err()
        .expect("missing");
    assert!(matches!(err, FaceError::ModelMissing { .. }));
    assert!(err.to_string().contains("scripts/setup"));
    let src = models().join("shape_predictor_5_face_landmarks.dat");
    let mut bytes = std::fs::read(&src).expect("read");
    bytes[1000] ^= 0xff;
    std::fs::write(
        dir.path().join("shape_predictor_5_face_landmarks.dat"),
        bytes,
    )
    .expect("write");
    let err = FaceEngine::open(lookup(DLIB_RESNET_V1).expect("spec"), dir.path())
        .err()
        .expect("corrupt");
    assert!(matches!(err, FaceError::ModelChecksum { .. }), "{err}");
}

/// The same photograph at three times the resolution (an arrest photo from a better camera) must
/// give nearly the same template: preprocessing that depends on pixel counts would crop a
/// larger face differently and cost matches across cameras.
fn template_survives_resolution(name: &str) -> f32 {
    let mut e = engine(name);
    let mut worst = f32::INFINITY;
    for (who, n) in [("Colin_Powell", 1), ("Tony_Blair", 2), ("Laura_Bush", 1)] {
        let img = lfw(who, n);
        let big = image::imageops::resize(
            &img,
            img.width() * 3,
            img.height() * 3,
            image::imageops::FilterType::CatmullRom,
        );
        let f = e.choose(&img, FaceChoice::Index(0)).expect("face");
        let a = e.probe_template(&img, &f).expect("template");
        let f = e.choose(&big, FaceChoice::Index(0)).expect("face at 3x");
        let b = e.probe_template(&big, &f).expect("template at 3x");
        let s = a.similarity(&b).expect("same algorithm");
        eprintln!("{name} {who} {n}: {s:.3}");
        worst = worst.min(s);
    }
    worst
}

#[test]
fn fr_08_dlib_resnet_template_does_not_depend_on_photo_resolution() {
    let s = template_survives_resolution(DLIB_RESNET_V1);
    assert!(s > 0.97, "worst similarity {s}");
}

#[test]
fn fr_08_facenet_template_does_not_depend_on_photo_resolution() {
    let s = template_survives_resolution(FACENET_512);
    assert!(s > 0.97, "worst similarity {s}");
}
