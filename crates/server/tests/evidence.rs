//! Digital camera evidence through the real server on both backends, with the real camera files
//! of $PROBITY_TEST_DATA/camera (copied into temporary folders, never into the repository).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{Backend, TestServer};
use probity_server::evidence::{self, intake::Outcome};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn camera_dir() -> PathBuf {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let dir = base.join("camera");
    assert!(
        dir.join("nikon_d70.jpg").is_file(),
        "the camera sample files are missing from {}: set PROBITY_TEST_DATA to the shared data folder",
        dir.display()
    );
    dir
}

fn sample(name: &str) -> Vec<u8> {
    let p = camera_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A temporary "card" holding copies of the named sample files (name on card, sample name).
fn card(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (on_card, name) in files {
        let target = dir.path().join(on_card);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&target, sample(name)).expect("copy sample");
    }
    dir
}

async fn upload(
    srv: &TestServer,
    c: &reqwest::Client,
    case: &str,
    fields: &[(&str, &str)],
    filename: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    srv.upload_evidence(c, case, fields, filename, bytes).await
}

const NO_REP: &[(&str, &str)] = &[
    ("purpose", "crime_scene"),
    ("basis_kind", "no_reasonable_expectation_of_privacy"),
];

async fn case(srv: &TestServer, number: &str) -> probity_store::cases::Case {
    srv.state
        .load_case(number)
        .await
        .expect("case")
        .expect("demo case")
}

fn record(fields: &[(&str, &str)]) -> evidence::CaptureRecord {
    let map: HashMap<String, String> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    evidence::intake::capture_record_from_fields(&map).expect("valid record")
}

async fn dc_06_upload_keeps_original_metadata_and_custody_body(b: Backend) {
    let srv = common::start(b).await;
    let c = srv.login("det.rivera").await;
    let original = sample("apple_iphone4.jpg");
    let (s, report) = upload(
        &srv,
        &c,
        "2026-019-000101",
        NO_REP,
        "IMG_0001.JPG",
        &original,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["stored"], 1);
    assert_eq!(report["safe_to_clear"], true, "{report}");
    let id = report["files"][0]["item_id"]
        .as_str()
        .expect("item id")
        .to_string();

    let (s, body) = srv
        .get(&c, &format!("/api/cases/2026-019-000101/evidence/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let item = &body["item"];
    assert_eq!(item["metadata"]["make"], "Apple");
    assert_eq!(item["metadata"]["model"], "iPhone 4");
    assert_eq!(item["sha256"], probity_imaging::sha256_hex(&original));
    assert!(item["map_url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://www.openstreetmap.org/?mlat=41.8")));
    assert!(item["legal_basis_label"]
        .as_str()
        .is_some_and(|l| l.contains("No reasonable expectation of privacy")));

    // The original comes back bit for bit.
    let r = c
        .get(format!(
            "{}/api/cases/2026-019-000101/evidence/{id}/original",
            srv.url
        ))
        .send()
        .await
        .expect("download");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.bytes().await.expect("bytes").as_ref(),
        original.as_slice()
    );

    // Thumbnails are cacheable and revalidate with their ETag.
    let r = c
        .get(format!(
            "{}/api/cases/2026-019-000101/evidence/{id}/thumbnail",
            srv.url
        ))
        .send()
        .await
        .expect("thumbnail");
    assert_eq!(r.status(), StatusCode::OK);
    let etag = r.headers()["etag"].to_str().expect("etag").to_string();
    assert!(r.headers()["cache-control"]
        .to_str()
        .is_ok_and(|v| v.contains("max-age")));
    let r = c
        .get(format!(
            "{}/api/cases/2026-019-000101/evidence/{id}/thumbnail",
            srv.url
        ))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("thumbnail again");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // Custody history: ingest, the first view, the download, and this view.
    let (_, body) = srv
        .get(&c, &format!("/api/cases/2026-019-000101/evidence/{id}"))
        .await;
    let actions: Vec<&str> = body["custody"]
        .as_array()
        .expect("custody")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "evidence.ingest",
            "evidence.view",
            "evidence.download",
            "evidence.view"
        ]
    );

    // The same file again: already ingested, nothing stored twice.
    let (s, report) = upload(&srv, &c, "2026-019-000101", NO_REP, "copy.jpg", &original).await;
    assert_eq!(s, StatusCode::OK, "{report}");
    assert_eq!(report["files"][0]["outcome"], "already_ingested");

    // Another investigator of the command, not assigned to the case, may not read it.
    let other = srv.login("det.okafor").await;
    let (s, body) = srv
        .get(&other, &format!("/api/cases/2026-019-000101/evidence/{id}"))
        .await;
    // A case the caller may not read answers as one that does not exist (SEC-02).
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
}
both!(
    dc_06_upload_keeps_original_metadata_and_custody,
    crate::dc_06_upload_keeps_original_metadata_and_custody_body
);

async fn dc_02_legal_basis_and_purpose_are_required_body(b: Backend) {
    let srv = common::start(b).await;
    let c = srv.login("det.rivera").await;
    let file = sample("apple_minimal.jpg");
    // Flight risk alone is not exigency.
    let (s, body) = upload(
        &srv,
        &c,
        "2026-019-000101",
        &[
            ("purpose", "crime_scene"),
            ("basis_kind", "exigency"),
            ("statute", "pl_240_30"),
            ("flight_risk_cited", "on"),
        ],
        "a.jpg",
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["rule"], "DC-02");
    // A warrant without its judge and findings.
    let (s, body) = upload(
        &srv,
        &c,
        "2026-019-000101",
        &[
            ("purpose", "crime_scene"),
            ("basis_kind", "warrant"),
            ("warrant_number", "W-1"),
            ("prosecutor", "ADA Demo"),
        ],
        "a.jpg",
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["rule"], "DC-02");
    assert!(body.to_string().contains("issuing judge"), "{body}");
    // No purpose.
    let (s, body) = upload(
        &srv,
        &c,
        "2026-019-000101",
        &[("basis_kind", "no_reasonable_expectation_of_privacy")],
        "a.jpg",
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["field"], "purpose");
    // Exigency with all four findings and a listed statute is accepted.
    let (s, body) = upload(
        &srv,
        &c,
        "2026-019-000101",
        &[
            ("purpose", "victim_injuries"),
            ("basis_kind", "exigency"),
            ("statute", "pl_215_57"),
            ("probable_cause_of_crime", "on"),
            ("emergency_from_conduct", "on"),
            ("imminent_danger", "on"),
            ("aimed_at_preventing_injury", "on"),
        ],
        "a.jpg",
        &file,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // A lying extension is stored by content, with a note; a non-image is refused by name.
    let (s, body) = upload(
        &srv,
        &c,
        "2026-019-000102",
        NO_REP,
        "notes.txt",
        b"just some text, not a photograph",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["files"][0]["outcome"], "refused");
    assert_eq!(body["safe_to_clear"], false);
}
both!(
    dc_02_legal_basis_and_purpose_are_required,
    crate::dc_02_legal_basis_and_purpose_are_required_body
);

async fn fr_25_political_case_intake_only_intelligence_division_body(b: Backend) {
    let srv = common::start(b).await;
    let c = srv.login("det.rivera").await;
    let (s, body) = upload(
        &srv,
        &c,
        "INTEL-2026-00007",
        NO_REP,
        "a.jpg",
        &sample("apple_minimal.jpg"),
    )
    .await;
    // Refused by FR-25 and answered as a case that does not exist (SEC-02); the audit keeps the rule.
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    {
        let mut tx = srv.state.store.begin().await.expect("tx");
        let entries = probity_store::audit::for_record(&mut tx, "case", "INTEL-2026-00007")
            .await
            .expect("audit");
        tx.commit().await.expect("commit");
        assert!(
            entries
                .iter()
                .any(|e| e.outcome == "denied" && e.detail.contains("FR-25")),
            "the FR-25 refusal is audited"
        );
    }
    // The Intelligence Division investigator assigned to it, once trained, may.
    let admin = srv.login("admin").await;
    let (s, body) = srv
        .post(
            &admin,
            "/api/users/intel.park/training",
            json!({ "course": "digital_cameras", "completed": "2026-01-05" }),
        )
        .await;
    assert!(s.is_success(), "{body}");
    let park = srv.login("intel.park").await;
    let (s, body) = upload(
        &srv,
        &park,
        "INTEL-2026-00007",
        NO_REP,
        "a.jpg",
        &sample("apple_minimal.jpg"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}
both!(
    fr_25_political_case_intake_only_intelligence_division,
    crate::fr_25_political_case_intake_only_intelligence_division_body
);

async fn dc_05_card_certificate_only_when_every_file_verified_body(b: Backend) {
    let srv = common::start(b).await;
    let rivera = srv.principal("det.rivera").await;
    let case101 = case(&srv, "2026-019-000101").await;

    // A card with bad files: no certificate, and the report names them.
    let bad = card(&[
        ("DCIM/100APPLE/IMG_0001.JPG", "apple_iphone4.jpg"),
        ("DCIM/100APPLE/IMG_0002.HEIC", "heic_metadata_only.heic"),
        ("DCIM/100NIKON/DSC_0001.NEF", "nikon_d70_stripped.nef"),
        ("DCIM/100APPLE/IMG_0001_COPY.JPG", "apple_iphone4.jpg"),
    ]);
    let full = sample("nikon_d70.jpg");
    std::fs::write(
        bad.path().join("DCIM/100NIKON/DSC_0002.JPG"),
        &full[..full.len() / 2],
    )
    .expect("truncated");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        bad.path().join("vanished.jpg"),
        bad.path().join("DCIM/LINK.JPG"),
    )
    .expect("symlink");
    let report = evidence::ingest_card(
        &srv.state,
        &rivera,
        &case101,
        record(NO_REP),
        bad.path(),
        None,
    )
    .await
    .expect("intake runs");
    assert!(!report.safe_to_clear);
    assert!(report.certificate.is_none());
    let outcome = |name: &str| {
        report
            .files
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| f.outcome)
            .unwrap_or_else(|| panic!("{name} missing from the report"))
    };
    assert_eq!(outcome("IMG_0001.JPG"), Outcome::Stored);
    assert_eq!(outcome("IMG_0001_COPY.JPG"), Outcome::Duplicate);
    assert_eq!(outcome("IMG_0002.HEIC"), Outcome::Refused);
    assert_eq!(outcome("DSC_0001.NEF"), Outcome::Refused);
    assert_eq!(outcome("DSC_0002.JPG"), Outcome::Refused);
    for name in ["IMG_0002.HEIC", "DSC_0001.NEF", "DSC_0002.JPG"] {
        assert!(
            report.problems.iter().any(|p| p.contains(name)),
            "{name} not named in {:?}",
            report.problems
        );
    }
    #[cfg(unix)]
    assert_eq!(outcome("LINK.JPG"), Outcome::Unreadable);

    // A good card: every file stored, read back, certified and signed; the Nikon serial
    // matches no inventoried device, so the intake is flagged (DC-04).
    let good = card(&[
        ("DCIM/IMG_0001.JPG", "apple_iphone4.jpg"),
        ("DCIM/IMG_0002.HEIC", "apple_iphone8.heic"),
        ("DCIM/DSC_0003.JPG", "nikon_d70.jpg"),
        ("DCIM/DSC_0003_COPY.JPG", "nikon_d70.jpg"),
    ]);
    let report = evidence::ingest_card(
        &srv.state,
        &rivera,
        &case101,
        record(NO_REP),
        good.path(),
        None,
    )
    .await
    .expect("intake runs");
    assert!(report.safe_to_clear, "{:?}", report.problems);
    assert_eq!(report.stored, 2, "{:?}", report.files);
    assert_eq!(report.already_ingested, 1);
    let cert = report.certificate.clone().expect("certificate");
    assert_eq!(cert["files"].as_array().map(Vec::len), Some(4));
    let sig = report.certificate_signature.clone().expect("signature");
    use base64::Engine;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig)
        .expect("base64");
    assert!(srv
        .state
        .store
        .server_keys()
        .verify(cert.to_string().as_bytes(), &sig));
    assert!(report
        .device_flag
        .as_deref()
        .is_some_and(|f| f.contains("2539") && f.contains("no inventoried device")));

    // Resumable: running the same card again stores nothing new and still certifies.
    let again = evidence::ingest_card(
        &srv.state,
        &rivera,
        &case101,
        record(NO_REP),
        good.path(),
        None,
    )
    .await
    .expect("intake runs");
    assert_eq!(again.stored, 0);
    assert!(again.safe_to_clear);

    // Once the camera is inventoried and assigned, the same serial is no longer flagged.
    let lt = srv.login("lt.moreau").await;
    let (s, dev) = srv
        .post(
            &lt,
            "/api/devices",
            json!({ "device_type": "camera", "make": "NIKON CORPORATION", "model": "NIKON D70",
                     "serial": "No= 00002539", "storage_location": "PCT-019 evidence locker 3" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{dev}");
    let dev_id = dev["id"].as_str().expect("id").to_string();
    let (s, body) = srv
        .post(
            &lt,
            &format!("/api/devices/{dev_id}/assignment"),
            json!({ "member": "det.rivera" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let nikon = card(&[("DSC_0003.JPG", "nikon_d70.jpg")]);
    let report = evidence::ingest_card(
        &srv.state,
        &rivera,
        &case(&srv, "2026-019-000102").await,
        record(NO_REP),
        nikon.path(),
        None,
    )
    .await
    .expect("intake runs");
    assert!(report.device_flag.is_none(), "{:?}", report.device_flag);
}
both!(
    dc_05_card_certificate_only_when_every_file_verified,
    crate::dc_05_card_certificate_only_when_every_file_verified_body
);

async fn dc_04_devices_inspection_overdue_and_access_body(b: Backend) {
    let srv = common::start(b).await;
    let lt = srv.login("lt.moreau").await;
    let (s, dev) = srv
        .post(
            &lt,
            "/api/devices",
            json!({ "device_type": "phone", "make": "Apple", "model": "iPhone 8",
                     "serial": "F2LW1234ABCD", "storage_location": "PCT-019 locker 1",
                     "inspection_interval_days": 14 }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{dev}");
    assert_eq!(dev["overdue"], true, "never inspected is overdue: {dev}");
    let id = dev["id"].as_str().expect("id").to_string();
    let (s, dev) = srv
        .post(
            &lt,
            &format!("/api/devices/{id}/inspections"),
            json!({ "accounted_for": true, "notes": "in locker" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{dev}");
    assert_eq!(dev["overdue"], false);
    assert_eq!(dev["inspection_interval_days"], 14);
    let (s, dev) = srv
        .post(
            &lt,
            &format!("/api/devices/{id}/interval"),
            json!({ "inspection_interval_days": 7 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{dev}");
    assert_eq!(dev["inspection_interval_days"], 7);
    assert_eq!(dev["overdue"], false);

    // An investigator neither inventories nor inspects; the refusal names the rule.
    let det = srv.login("det.okafor").await;
    let (s, body) = srv
        .post(
            &det,
            &format!("/api/devices/{id}/inspections"),
            json!({ "accounted_for": true }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body["rule"].as_str().is_some_and(|r| !r.is_empty()));
    let (_, list) = srv.get(&det, "/api/devices").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    // Access follows assignment: once assigned, the member sees the device.
    let (s, _) = srv
        .post(
            &lt,
            &format!("/api/devices/{id}/assignment"),
            json!({ "member": "det.okafor" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = srv.get(&det, "/api/devices").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (s, _) = srv
        .post(&lt, &format!("/api/devices/{id}/assignment"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, list) = srv.get(&det, "/api/devices").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
}
both!(
    dc_04_devices_inspection_overdue_and_access,
    crate::dc_04_devices_inspection_overdue_and_access_body
);

async fn dc_07_discovery_package_verifies_and_names_altered_file_body(b: Backend) {
    let srv = common::start(b).await;
    let c = srv.login("det.rivera").await;
    let (s, report) = upload(
        &srv,
        &c,
        "2026-019-000101",
        NO_REP,
        "IMG_0001.JPG",
        &sample("apple_iphone4.jpg"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    let id = report["files"][0]["item_id"]
        .as_str()
        .expect("id")
        .to_string();
    let r = c
        .post(format!("{}/api/cases/2026-019-000101/discovery", srv.url))
        .json(&json!({ "items": [id], "prosecutor": "Demo County District Attorney" }))
        .send()
        .await
        .expect("discovery");
    assert_eq!(r.status(), StatusCode::OK);
    let tar = r.bytes().await.expect("tar");
    let dir = tempfile::tempdir().expect("tmp");
    let tar_path = dir.path().join("package.tar");
    std::fs::write(&tar_path, &tar).expect("write");
    let server_key = srv.state.store.server_keys().verifying_key();
    let v = evidence::discovery::verify(&tar_path, &server_key).expect("verify");
    assert!(v.is_valid(), "{:?}", v.problems);
    assert!(!v.package_key_differs);
    assert_eq!(v.items_checked, 1);

    // The export is in the item's custody history.
    let (_, body) = srv
        .get(&c, &format!("/api/cases/2026-019-000101/evidence/{id}"))
        .await;
    assert!(body["custody"]
        .as_array()
        .expect("custody")
        .iter()
        .any(|e| e["action"] == "evidence.export"));

    // Unpacked as a directory, then one original altered: the check names that file.
    let unpacked = dir.path().join("unpacked");
    tar::Archive::new(std::io::Cursor::new(tar.to_vec()))
        .unpack(&unpacked)
        .expect("unpack");
    assert!(evidence::discovery::verify(&unpacked, &server_key)
        .expect("verify")
        .is_valid());
    let original = std::fs::read_dir(unpacked.join("originals"))
        .expect("originals")
        .next()
        .expect("one original")
        .expect("entry")
        .path();
    let mut bytes = std::fs::read(&original).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let mut perms = std::fs::metadata(&original).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&original, perms).expect("chmod");
    std::fs::write(&original, &bytes).expect("alter");
    let v = evidence::discovery::verify(&unpacked, &server_key).expect("verify");
    assert!(!v.is_valid());
    let name = original
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .expect("name");
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains(&name) && p.contains("altered")),
        "{:?}",
        v.problems
    );
}
both!(
    dc_07_discovery_package_verifies_and_names_altered_file,
    crate::dc_07_discovery_package_verifies_and_names_altered_file_body
);

/// Uploads one camera original to case 2026-019-000101 as det.rivera and exports it as a
/// discovery package; returns the package (.tar bytes).
async fn exported_package(srv: &TestServer) -> Vec<u8> {
    let c = srv.login("det.rivera").await;
    let (s, report) = upload(
        srv,
        &c,
        "2026-019-000101",
        NO_REP,
        "IMG_0001.JPG",
        &sample("apple_iphone4.jpg"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    let r = c
        .post(format!("{}/api/cases/2026-019-000101/discovery", srv.url))
        .json(&json!({ "prosecutor": "Demo County District Attorney" }))
        .send()
        .await
        .expect("discovery");
    assert_eq!(r.status(), StatusCode::OK);
    r.bytes().await.expect("tar").to_vec()
}

/// DC-07: the server publishes the key that signs discovery manifests, without sign-in, and that
/// key verifies a package the server exported.
async fn dc_07_published_signing_key_verifies_exported_package_body(b: Backend) {
    let srv = common::start(b).await;
    let (s, published) = srv
        .get(&common::client(), "/api/discovery/signing-key")
        .await;
    assert_eq!(s, StatusCode::OK, "{published}");
    assert_eq!(published["algorithm"], "Ed25519");
    let key = evidence::discovery::parse_public_key(
        published["public_key"].as_str().expect("public_key"),
    )
    .expect("a base64 Ed25519 key");
    assert_eq!(key, srv.state.store.server_keys().verifying_key());
    assert_eq!(
        published["key_id"].as_str(),
        Some(srv.state.store.server_keys().key_id())
    );
    assert_eq!(
        published["fingerprint"].as_str().map(str::len),
        Some(64),
        "{published}"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let tar_path = dir.path().join("package.tar");
    std::fs::write(&tar_path, exported_package(&srv).await).expect("write");
    let v = evidence::discovery::verify(&tar_path, &key).expect("verify");
    assert!(v.is_valid(), "{:?}", v.problems);
    assert_eq!(
        v.trusted_key_id,
        published["key_id"].as_str().expect("key id")
    );
    assert_eq!(v.key_id.as_deref(), Some(v.trusted_key_id.as_str()));
    assert!(!v.package_key_differs);

    // Another key (a different server's, say) does not verify it.
    let other = ed25519_dalek::SigningKey::from_bytes(&[42u8; 32]).verifying_key();
    let v = evidence::discovery::verify(&tar_path, &other).expect("verify");
    assert!(!v.signature_valid);
    assert!(!v.is_valid());
}
both!(
    dc_07_published_signing_key_verifies_exported_package,
    crate::dc_07_published_signing_key_verifies_exported_package_body
);

/// DC-07 attack: someone who holds the package alters an original, rewrites manifest.json with
/// the altered file's hash and size, re-signs it with their own key and puts their public key
/// (and its key id) in the package. Every hash then matches and the signature matches the key
/// the package carries, so a check that trusted the package's key would pass; checked against
/// the server's key it fails, naming the signature, and says the package carries another key.
async fn dc_07_resigned_discovery_package_is_rejected_body(b: Backend) {
    use base64::Engine;
    use ed25519_dalek::Signer;
    use sha2::{Digest, Sha256};

    let srv = common::start(b).await;
    let tar = exported_package(&srv).await;
    let dir = tempfile::tempdir().expect("tmp");
    let unpacked = dir.path().join("unpacked");
    tar::Archive::new(std::io::Cursor::new(tar))
        .unpack(&unpacked)
        .expect("unpack");
    let server_key = srv.state.store.server_keys().verifying_key();
    assert!(evidence::discovery::verify(&unpacked, &server_key)
        .expect("verify")
        .is_valid());

    // Alter the original.
    let manifest_path = unpacked.join(evidence::discovery::MANIFEST);
    let mut manifest: evidence::discovery::Manifest =
        serde_json::from_slice(&std::fs::read(&manifest_path).expect("read manifest"))
            .expect("manifest");
    let original = unpacked.join(&manifest.items[0].file);
    let mut bytes = std::fs::read(&original).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    bytes.extend_from_slice(b"planted");
    let writable = |path: &Path| {
        let mut perms = std::fs::metadata(path).expect("meta").permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(path, perms).expect("chmod");
    };
    writable(&original);
    std::fs::write(&original, &bytes).expect("alter");

    // Rewrite the manifest with the new hash and the attacker's key, and re-sign it.
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let attacker_public = attacker.verifying_key();
    manifest.items[0].sha256 = hex::encode(Sha256::digest(&bytes));
    manifest.items[0].size = bytes.len() as u64;
    manifest.public_key =
        base64::engine::general_purpose::STANDARD.encode(attacker_public.to_bytes());
    manifest.key_id = evidence::discovery::key_id(&attacker_public);
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).expect("manifest json");
    let signature =
        base64::engine::general_purpose::STANDARD.encode(attacker.sign(&manifest_bytes).to_bytes());
    let sig_path = unpacked.join(evidence::discovery::SIGNATURE);
    writable(&manifest_path);
    writable(&sig_path);
    std::fs::write(&manifest_path, &manifest_bytes).expect("rewrite manifest");
    std::fs::write(&sig_path, signature).expect("re-sign");

    // The forgery is complete: against the key the package carries, everything matches.
    let forged = evidence::discovery::verify(&unpacked, &attacker_public).expect("verify");
    assert!(forged.is_valid(), "{:?}", forged.problems);

    // Against the server's key it is rejected, and the report names the signature.
    let v = evidence::discovery::verify(&unpacked, &server_key).expect("verify");
    assert!(!v.is_valid());
    assert!(!v.signature_valid);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains(evidence::discovery::MANIFEST)
                && p.contains("signature does not verify")),
        "{:?}",
        v.problems
    );
    assert!(v.package_key_differs);
    assert_eq!(v.key_id.as_deref(), Some(manifest.key_id.as_str()));
    assert_eq!(v.trusted_key_id, srv.state.store.server_keys().key_id());

    // The same forgery as a .tar archive.
    let file = manifest.items[0].file.clone();
    let forged_tar = evidence::discovery::Package {
        manifest,
        entries: vec![
            (evidence::discovery::MANIFEST.to_string(), manifest_bytes),
            (
                evidence::discovery::SIGNATURE.to_string(),
                std::fs::read(&sig_path).expect("sig"),
            ),
            (file, bytes),
        ],
    }
    .to_tar()
    .expect("tar");
    let tar_path = dir.path().join("forged.tar");
    std::fs::write(&tar_path, forged_tar).expect("write tar");
    assert!(evidence::discovery::verify(&tar_path, &attacker_public)
        .expect("verify")
        .is_valid());
    let v = evidence::discovery::verify(&tar_path, &server_key).expect("verify");
    assert!(!v.signature_valid, "{:?}", v.problems);
    assert!(v.package_key_differs);
}
both!(
    dc_07_resigned_discovery_package_is_rejected,
    crate::dc_07_resigned_discovery_package_is_rejected_body
);
