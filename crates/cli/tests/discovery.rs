//! `probity discovery verify` (DC-07) as a recipient runs it: it trusts only a key the caller
//! names (--public-key, --data-dir or --server), says which one it trusted, and refuses when no
//! key is named. A real `probity demo` server (SQLite) exports the package.

mod common;

use std::path::Path;
use std::process::{Child, Command, Output};

use common::{BIN, CASE};

/// `probity demo` on a free port, killed on drop.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(data_dir: &Path) -> Server {
    let (child, _, url) = common::start_node("demo", data_dir, &[], &[]);
    Server { child, url }
}

/// Signs in as det.rivera, uploads one camera original and exports the case's discovery
/// package; returns the .tar bytes.
fn export_package(url: &str) -> Vec<u8> {
    let c = common::sign_in(url, "det.rivera");
    let r = common::post_evidence(
        &c,
        url,
        CASE,
        "IMG_0001.JPG",
        &common::camera_sample("apple_iphone4.jpg"),
    )
    .expect("upload");
    assert_eq!(r.status().as_u16(), 201, "upload: {:?}", r.text());
    let r = c
        .post(format!("{url}/api/cases/{CASE}/discovery"))
        .json(&serde_json::json!({"prosecutor": "Demo County District Attorney"}))
        .send()
        .expect("discovery");
    assert!(r.status().is_success(), "discovery: {}", r.status());
    r.bytes().expect("tar").to_vec()
}

fn probity(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("PROBITY_DATA_DIR")
        .env_remove("PROBITY_CONFIG")
        .output()
        .expect("run probity")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn verify(package: &Path, trust: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec!["discovery".as_ref(), "verify".as_ref()];
    args.push(package.as_os_str());
    args.extend(trust.iter().map(|a| std::ffi::OsStr::new(*a)));
    probity(&args)
}

#[test]
fn dc_07_verify_without_a_trusted_key_refuses() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("manifest.json"), b"{}").expect("write");
    let o = verify(dir.path(), &[]);
    let (out, err) = text(&o);
    assert!(!o.status.success(), "{out}{err}");
    assert!(
        err.contains("name the key to trust")
            && err.contains("--public-key")
            && err.contains("--data-dir")
            && err.contains("--server")
            && err.contains("never trusted"),
        "{err}"
    );
    assert!(!out.contains("OK"), "{out}");

    // Two sources at once are refused too: the output must name the one it trusted.
    let o = verify(
        dir.path(),
        &["--public-key", "AAAA", "--data-dir", "/nonexistent"],
    );
    assert!(!o.status.success());

    // A data directory without a server key: refused, and no key is created there.
    let empty = tempfile::tempdir().expect("tmp");
    let o = verify(
        dir.path(),
        &["--data-dir", empty.path().to_str().expect("utf-8 path")],
    );
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("holds no server key"), "{err}");
    assert!(!empty.path().join("server.ed25519").exists());
}

#[test]
fn dc_07_verify_names_the_trusted_key_source() {
    let data = tempfile::tempdir().expect("data dir");
    let server = start(data.path());
    let work = tempfile::tempdir().expect("tmp");
    let package = work.path().join("package.tar");
    std::fs::write(&package, export_package(&server.url)).expect("write package");

    // The key the server publishes, given by --public-key.
    let published: serde_json::Value =
        reqwest::blocking::get(format!("{}/api/discovery/signing-key", server.url))
            .expect("signing key")
            .json()
            .expect("json");
    let key = published["public_key"].as_str().expect("public_key");
    let key_id = published["key_id"].as_str().expect("key_id");
    let o = verify(&package, &["--public-key", key]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains(&format!(
            "signature verified with the key given by --public-key (key id {key_id})"
        )),
        "{out}"
    );
    assert!(out.contains("OK: every original matches"), "{out}");

    // The server key in the data directory.
    let data_dir = data.path().to_str().expect("utf-8 path");
    let o = verify(&package, &["--data-dir", data_dir]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains(&format!(
            "signature verified with the server key of data directory {data_dir}"
        )),
        "{out}"
    );

    // The key the running server publishes.
    let o = verify(&package, &["--server", &server.url]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    assert!(
        out.contains(&format!(
            "signature verified with the key published by {}",
            server.url
        )),
        "{out}"
    );

    // Another server's key: the signature does not verify, and the output says the package
    // carries a key other than the trusted one.
    let other_dir = tempfile::tempdir().expect("other data dir");
    let o = probity(&[
        "discovery".as_ref(),
        "key".as_ref(),
        "--data-dir".as_ref(),
        other_dir.path().as_os_str(),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}{err}");
    let other_key = out.split_whitespace().next().expect("key").to_string();
    let o = verify(&package, &["--public-key", &other_key]);
    let (out, _) = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains("signature INVALID: it does not verify with the key given by --public-key"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "the package carries another key (key id {key_id})"
        )),
        "{out}"
    );
    assert!(
        out.contains("manifest.json: the signature does not verify"),
        "{out}"
    );
}
