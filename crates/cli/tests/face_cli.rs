//! `probity face detect` decodes stills the way the server does (crate `imaging`): typed by content,
//! orientation applied, limits enforced, thermal images refused (TH-06).

use std::path::PathBuf;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_probity");

fn data() -> PathBuf {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    assert!(
        base.join("faces").is_dir() && base.join("thermal").is_dir(),
        "test data missing: {} has no faces/ or thermal/; set PROBITY_TEST_DATA to the shared data folder",
        base.display()
    );
    base
}

fn detect(file: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args(["face", "detect"])
        .arg(file)
        .output()
        .expect("run probity face detect")
}

#[test]
fn fr_06_cli_detects_and_measures_a_face_in_a_still() {
    let file = data().join("faces/lfw/AJ_Cook/AJ_Cook_0001.jpg");
    let out = detect(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("face 1: box"), "{stdout}");
    assert!(stdout.contains("eyes"), "quality measures shown: {stdout}");
}

#[test]
fn th_06_cli_refuses_a_thermal_image_for_face_detection() {
    let out = detect(&data().join("thermal/flir_e40.jpg"));
    let stderr = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(!out.status.success(), "a thermal image is refused");
    assert!(stderr.contains("thermal"), "the refusal says why: {stderr}");
}

#[test]
fn fr_cli_refuses_a_truncated_still_with_a_clear_error() {
    let bytes =
        std::fs::read(data().join("faces/lfw/AJ_Cook/AJ_Cook_0001.jpg")).expect("read still");
    let dir = tempfile::tempdir().expect("temp dir");
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let out = detect(&cut);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cut.jpg"), "names the file: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A department's ONNX model (FR-23) is evaluated by `probity eval` like the built-in ones: it is
/// registered from the file `PROBITY_FACE_MODELS` names, and the record names the data read. The
/// model is the ArcFace-layout test model the face crate's tests build (no licensed weights are
/// reachable from here); the faces are a small pairs file over eight LFW identities.
#[test]
fn fr_23_onnx_model_evaluated_by_probity_eval() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().expect("tmp");
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let python = repo.join(".venv/bin/python");
    assert!(
        python.is_file(),
        "{} missing: run scripts/setup (it installs the onnx package)",
        python.display()
    );
    let model = dir.path().join("agency.onnx");
    let status = Command::new(&python)
        .arg(repo.join("crates/face/tests/onnx/make_arcface_layout_model.py"))
        .arg(&model)
        .arg("48")
        .status()
        .expect("run the model script");
    assert!(status.success(), "building the test ONNX model failed");
    let sha = hex::encode(Sha256::digest(std::fs::read(&model).expect("model")));
    let conf = dir.path().join("face-models.toml");
    std::fs::write(
        &conf,
        format!(
            "[[onnx_model]]\nname = \"agency-cli-test\"\nversion = \"1\"\nfile = \"{}\"\nsha256 = \"{sha}\"\ndimension = 48\n",
            model.display()
        ),
    )
    .expect("config");
    // Two folds of one matched and one mismatched pair; two distractor identities.
    let faces = dir.path().join("faces");
    std::fs::create_dir_all(faces.join("lfw")).expect("lfw");
    for who in [
        "Aaron_Sorkin",
        "Abdullatif_Sener",
        "Adolfo_Rodriguez_Saa",
        "Aitor_Gonzalez",
        "Alan_Ball",
        "Alberto_Fujimori",
        "AJ_Cook",
        "Aaron_Patterson",
    ] {
        std::os::unix::fs::symlink(
            data().join("faces/lfw").join(who),
            faces.join("lfw").join(who),
        )
        .expect("link");
    }
    let pairs = "2\t1\nAaron_Sorkin\t1\t2\nAbdullatif_Sener\t1\tAdolfo_Rodriguez_Saa\t1\n\
                 Aitor_Gonzalez\t1\t2\nAlan_Ball\t1\tAlberto_Fujimori\t1\n";
    std::fs::write(faces.join("pairs_dev.txt"), pairs).expect("pairs");
    let out_dir = dir.path().join("eval");
    let out = Command::new(BIN)
        .args([
            "eval",
            "--algorithm",
            "agency-cli-test",
            "--threads",
            "1",
            "--faces",
        ])
        .arg(&faces)
        .arg("--out")
        .arg(&out_dir)
        .env("PROBITY_FACE_MODELS", &conf)
        .output()
        .expect("run probity eval");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("agency-cli-test@1: verification"),
        "{stdout}"
    );
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out_dir.join("evaluation-agency-cli-test-1.json")).expect("record"),
    )
    .expect("JSON");
    assert_eq!(record["algorithm"]["name"], "agency-cli-test");
    let pairs_sha = hex::encode(Sha256::digest(pairs.as_bytes()));
    assert_eq!(record["data"]["pairs_sha256"], pairs_sha.as_str());
    assert_eq!(record["verification"]["pairs"], 4);
    // TAR at FAR 0.001 is also read against every non-mated comparison of the 1:N split: each
    // probe against every gallery photo but its own identity's one.
    assert!(
        stdout.contains("TAR@FAR=0.001 against the 1:N split's non-mated comparisons"),
        "{stdout}"
    );
    let gallery = record["data"]["gallery_images"].as_u64().expect("gallery");
    let probes = record["data"]["probe_images"].as_u64().expect("probes");
    let all = &record["verification"]["tar_at_far_0_001_all_non_mated"];
    assert_eq!(
        all["non_mated_comparisons"].as_u64(),
        Some(probes * (gallery - 1))
    );
    assert!(
        all["far_measured"].as_f64().is_some_and(|f| f <= 0.001),
        "{all}"
    );
    // Without the configuration the model is unknown, and a broken one is refused by name.
    let out = Command::new(BIN)
        .args(["eval", "--algorithm", "agency-cli-test", "--faces"])
        .arg(&faces)
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("run probity eval");
    assert!(!out.status.success());
    std::fs::write(&conf, "[[onnx_model]]\nname = \"x\"\n").expect("config");
    let out = Command::new(BIN)
        .args(["eval", "--faces"])
        .arg(&faces)
        .env("PROBITY_FACE_MODELS", &conf)
        .output()
        .expect("run probity eval");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("PROBITY_FACE_MODELS"),
        "{stderr}"
    );
}
