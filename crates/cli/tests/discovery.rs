//! `probity discovery verify` (DC-07) as a recipient runs it: it trusts only a key the caller
//! names (--public-key, --data-dir or --server), says which one it trusted, and refuses when no
//! key is named. A real `probity demo` server (SQLite) exports the package.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_probity");
const PASSWORD: &str = "demo-password-2026";
const CASE: &str = "2026-019-000101";

fn camera_sample(name: &str) -> Vec<u8> {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join("camera").join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "the camera sample {} is missing ({e}): set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        )
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

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
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["demo", "--no-tls", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .env("PROBITY_LOG", "warn")
        .env_remove("PROBITY_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start probity demo");
    let out = child.stdout.take().expect("stdout");
    std::thread::spawn(move || for _ in BufReader::new(out).lines() {});
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("{}/ready", server.url)) {
            if r.status().is_success() {
                break;
            }
        }
        assert!(Instant::now() < deadline, "server did not become ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Signs in as det.rivera, uploads one camera original and exports the case's discovery
/// package; returns the .tar bytes.
fn export_package(url: &str) -> Vec<u8> {
    let c = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let r = c
        .post(format!("{url}/api/session"))
        .json(&serde_json::json!({"username": "det.rivera", "password": PASSWORD}))
        .send()
        .expect("sign in");
    assert!(r.status().is_success(), "sign in: {}", r.status());
    let boundary = "probity-cli-test-boundary-51c3";
    let mut body = Vec::new();
    for (k, v) in [
        ("purpose", "crime_scene"),
        ("basis_kind", "no_reasonable_expectation_of_privacy"),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"IMG_0001.JPG\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&camera_sample("apple_iphone4.jpg"));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = c
        .post(format!("{url}/api/cases/{CASE}/evidence"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
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
