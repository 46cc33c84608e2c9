//! `probity disposition verify` (RET-11) as an auditor runs it: a certificate signed by the
//! server key verifies against that key, an altered one does not (exit status non-zero), and no
//! key is trusted unless the caller names one.

use std::process::Command;

use base64::Engine;
use probity_server::records::{canonical_bytes, SignedCertificate};

const BIN: &str = env!("CARGO_BIN_EXE_probity");

fn signed(dir: &std::path::Path, approved_by: &str) -> String {
    let keys = probity_store::ServerKeys::load_or_create(dir).expect("server key");
    let cert = serde_json::json!({
        "disposition_id": "0190a1b2-0000-7000-8000-000000000001",
        "record_kind": "case", "record_id": "2026-019-000101",
        "what": "case 2026-019-000101 (missing person, closed 2026-03-15)",
        "rule_id": "RET-01", "due_on": "2026-12-04",
        "proposed_by": "rec.lopez", "approved_by": approved_by, "executed_by": approved_by,
        "executed_at": "2026-12-04T12:00:00Z",
        "items": [{ "what": "evidence item IMG_0001.JPG", "sha256": "ab".repeat(32) }],
    });
    let sig = keys.sign(&canonical_bytes(&cert));
    let env = SignedCertificate {
        certificate: cert,
        algorithm: "ed25519".into(),
        key_id: keys.key_id().to_string(),
        signature: base64::engine::general_purpose::STANDARD.encode(sig),
    };
    serde_json::to_string_pretty(&env).expect("json")
}

#[test]
fn ret_11_certificate_verifies_and_alteration_is_caught() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("certificate.json");
    std::fs::write(&file, signed(dir.path(), "rm.adeyemi")).expect("write");
    let ok = Command::new(BIN)
        .args(["disposition", "verify"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{out} {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        out.contains("signature verified") && out.contains("RET-01"),
        "{out}"
    );

    // The approver changed after signing: refused.
    let text = std::fs::read_to_string(&file).expect("read");
    std::fs::write(
        &file,
        text.replace(
            "\"approved_by\": \"rm.adeyemi\"",
            "\"approved_by\": \"someone.else\"",
        ),
    )
    .expect("write");
    let bad = Command::new(BIN)
        .args(["disposition", "verify"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("INVALID"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // No key named: nothing is trusted.
    let none = Command::new(BIN)
        .args(["disposition", "verify"])
        .arg(&file)
        .output()
        .expect("run");
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("name the key to trust"));
}
