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
