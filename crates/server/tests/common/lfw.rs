//! Real faces for the FR tests: the LFW copy in `$PROBITY_TEST_DATA/faces/lfw` (never copied into
//! the repository), and the photo repository filled with them through the import API.

use std::path::PathBuf;

use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

use super::TestServer;

/// The LFW folder; fails with a clear message when the data or the face models are missing.
pub fn faces() -> PathBuf {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    let lfw = base.join("faces").join("lfw");
    assert!(
        lfw.is_dir(),
        "test data missing: {} does not exist; set PROBITY_TEST_DATA to the shared data folder",
        lfw.display()
    );
    let models = probity_face::model_dir();
    for f in [
        "dlib_face_recognition_resnet_model_v1.dat",
        "graph_final.pb",
    ] {
        assert!(
            models.join(f).is_file(),
            "face model {f} missing in {}: run scripts/setup (or set PROBITY_MODEL_DIR)",
            models.display()
        );
    }
    lfw
}

/// Image `n` of the identity `name`.
pub fn lfw_file(name: &str, n: u32) -> Vec<u8> {
    let p = faces().join(name).join(format!("{name}_{n:04}.jpg"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The first `n` identities (alphabetically) with at least three images.
pub fn identities(n: usize) -> Vec<String> {
    probity_server::fr::identities_with_three_images(&faces(), n)
}

/// Imports image 2 of each of `ids` as arrest photographs (pseudonymous subjects S-0001.. and
/// arrests A-0001..), as the records officer; every one must be imported.
pub async fn enrol(srv: &TestServer, ids: &[String]) {
    enrol_numbered(srv, ids, 1).await
}

/// [`enrol`] with subjects and arrests numbered from `first` (S-{first}, A-{first}, ...).
pub async fn enrol_numbered(srv: &TestServer, ids: &[String], first: usize) {
    let rec = srv.login("rec.lopez").await;
    let mut manifest = String::from("file,subject_id,source,arrest_id,photo_date\n");
    let mut form = Form::new();
    for (i, name) in ids.iter().enumerate() {
        let file = format!("photo{i:03}.jpg");
        manifest.push_str(&format!(
            "{file},S-{:04},arrest,A-{:04},2021-03-{:02}\n",
            i + first,
            i + first,
            (i % 27) + 1
        ));
        form = form.part("file", Part::bytes(lfw_file(name, 2)).file_name(file));
    }
    form = form.text("manifest", manifest);
    let r = rec
        .post(format!("{}/api/fr/gallery/import", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("import");
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["imported"], ids.len(), "{body}");
}

/// Imports the first `n` identities ([`identities`]) and returns them.
pub async fn enrol_gallery(srv: &TestServer, n: usize) -> Vec<String> {
    let ids = identities(n);
    enrol(srv, &ids).await;
    ids
}
