//! Shared by the tests that run the `probity` binary as a real process: the binary and the demo
//! password, free ports, fresh PostgreSQL databases, camera samples, signed-in clients, a node
//! started and waited for until it is ready, and an evidence intake written by hand.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_probity");
pub const PASSWORD: &str = "demo-password-2026";
pub const CASE: &str = "2026-019-000101";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A camera file of the shared test data (`PROBITY_TEST_DATA`, default `../shared/data`).
pub fn camera_sample(name: &str) -> Vec<u8> {
    shared_sample("camera", name)
}

/// A file of `folder` of the shared test data (`PROBITY_TEST_DATA`, default `../shared/data`).
pub fn shared_sample(folder: &str, name: &str) -> Vec<u8> {
    let base = std::env::var("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let p = base.join(folder).join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "the {folder} sample {} is missing ({e}): set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        )
    })
}

fn postgres_admin_url() -> String {
    std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn psql(admin: &str, sql: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("psql").args([admin, "-q", "-c", sql]).status()
}

/// A fresh PostgreSQL database `<prefix>_<pid>` (a leftover of that name is dropped first);
/// returns its URL. Panics, saying why, when it cannot be created.
pub fn fresh_postgres_database(prefix: &str) -> String {
    let admin = postgres_admin_url();
    let name = format!("{prefix}_{}", std::process::id());
    let dropped = psql(&admin, &format!("DROP DATABASE IF EXISTS {name}"));
    let created = psql(&admin, &format!("CREATE DATABASE {name}"))
        .expect("psql is needed for this test (Debian postgresql-client)");
    assert!(
        dropped.is_ok() && created.success(),
        "cannot create a test database through {admin}"
    );
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin.clone());
    format!("{base}/{name}")
}

/// Drops a database made by [`fresh_postgres_database`] (best effort).
pub fn drop_postgres_database(url: &str) {
    if let Some((_, name)) = url.rsplit_once('/') {
        let _ = psql(
            &postgres_admin_url(),
            &format!("DROP DATABASE IF EXISTS {name}"),
        );
    }
}

/// A client signed in as a demonstration user (cookies kept, 30 s timeout).
pub fn sign_in(url: &str, user: &str) -> reqwest::blocking::Client {
    let c = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let r = c
        .post(format!("{url}/api/session"))
        .json(&serde_json::json!({"username": user, "password": PASSWORD}))
        .send()
        .expect("sign in");
    assert!(r.status().is_success(), "sign in {user}: {}", r.status());
    c
}

/// Starts `probity <command> --no-tls --listen 127.0.0.1:<free port> --data-dir <dir> <args>`
/// with `env`, drains its output, and waits until `/ready` answers 200. Returns the process,
/// its port and its URL; panics if it exits or is not ready within 90 s.
pub fn start_node(
    command: &str,
    data_dir: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> (Child, u16, String) {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            command,
            "--no-tls",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("PROBITY_LOG", "warn")
        .env_remove("PROBITY_DATABASE_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start probity");
    let out = child.stdout.take().expect("stdout");
    // Drain stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in BufReader::new(out).lines() {});
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(r) = reqwest::blocking::get(format!("{url}/ready")) {
            if r.status().is_success() {
                break;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("probity {command} exited before it was ready: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "probity {command} did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port, url)
}

/// Posts one camera original to a case's evidence as a multipart body written by hand (purpose
/// crime scene, no reasonable expectation of privacy).
pub fn post_evidence(
    c: &reqwest::blocking::Client,
    url: &str,
    case: &str,
    filename: &str,
    bytes: &[u8],
) -> reqwest::Result<reqwest::blocking::Response> {
    post_multipart(
        c,
        &format!("{url}/api/cases/{case}/evidence"),
        &[
            ("purpose", "crime_scene"),
            ("basis_kind", "no_reasonable_expectation_of_privacy"),
        ],
        &[("file", filename, bytes)],
    )
}

/// Posts a multipart form written by hand: the text `fields`, then the `files` as
/// (field name, file name, bytes).
pub fn post_multipart(
    c: &reqwest::blocking::Client,
    url: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> reqwest::Result<reqwest::blocking::Response> {
    let boundary = "probity-cli-test-boundary-51c3";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (field, filename, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    c.post(url)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
}

/// A `probity` node on a PostgreSQL database and an S3 bucket; killed with SIGKILL when dropped.
pub struct BucketNode {
    child: Child,
    pub url: String,
}

impl BucketNode {
    /// Starts `probity demo` (the first node: it seeds the accounts) or `probity serve` on the
    /// database and bucket, with `env`, and waits until it is ready.
    pub fn start(
        command: &str,
        data_dir: &Path,
        database_url: &str,
        blob_url: &str,
        env: &[(&str, &str)],
    ) -> BucketNode {
        let (child, _, url) = start_node(
            command,
            data_dir,
            &["--database-url", database_url, "--blob-url", blob_url],
            env,
        );
        BucketNode { child, url }
    }
}

impl Drop for BucketNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two nodes of one deployment: a fresh PostgreSQL database, one bucket, node A (`probity demo`,
/// which seeds the demonstration accounts) and node B (`probity serve` with A's keys).
pub struct TwoNodes {
    pub database_url: String,
    pub dir_a: tempfile::TempDir,
    pub a: BucketNode,
    pub dir_b: tempfile::TempDir,
    pub b: BucketNode,
}

/// Starts [`TwoNodes`] on `blob_url`, both with `env`.
pub fn two_nodes_on_bucket(blob_url: &str, env: &[(&str, &str)]) -> TwoNodes {
    let database_url = fresh_postgres_database("probity_nodes");
    let dir_a = tempfile::tempdir().expect("temp dir");
    let a = BucketNode::start("demo", dir_a.path(), &database_url, blob_url, env);
    let dir_b = node_dir_with_keys_of(dir_a.path());
    let b = BucketNode::start("serve", dir_b.path(), &database_url, blob_url, env);
    TwoNodes {
        database_url,
        dir_a,
        a,
        dir_b,
        b,
    }
}

/// A data directory for another node of the deployment whose first node uses `first`: the same
/// master key and server signing key, nothing else.
pub fn node_dir_with_keys_of(first: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for key in ["master.key", "server.ed25519"] {
        std::fs::copy(first.join(key), dir.path().join(key)).expect("copy key");
    }
    dir
}

/// Opens the deployment's store as a node does: keys from `data_dir`, the database, the bucket.
/// Run it on a runtime started after the `AWS_*` environment is set.
pub async fn open_deployment_store(
    data_dir: &Path,
    database_url: &str,
    blob_url: &str,
) -> probity_store::Store {
    let mut config = probity_store::StoreConfig::new(data_dir, Some(database_url.to_string()));
    config.master_key_base64 = None;
    config.object_store =
        Some(probity_store::blobs::object_store_from_url(blob_url).expect("bucket"));
    probity_store::Store::open(config)
        .await
        .expect("open store")
}

/// Reads every blob the database references through [`open_deployment_store`]: each must be in
/// the object store and decrypt to its recorded SHA-256. Returns how many there are.
pub async fn every_blob_decrypts(data_dir: &Path, database_url: &str, blob_url: &str) -> usize {
    let store = open_deployment_store(data_dir, database_url, blob_url).await;
    let mut tx = store.begin_read().await.expect("read");
    let ids = probity_store::blobs::live_ids(&mut tx)
        .await
        .expect("blob ids");
    for id in &ids {
        // `get` checks the plaintext against the recorded SHA-256 and size.
        let bytes = store
            .blobs()
            .get(&mut tx, *id)
            .await
            .unwrap_or_else(|e| panic!("blob {id} referenced by the database: {e}"));
        assert!(!bytes.is_empty(), "blob {id} is empty");
    }
    tx.rollback().await.expect("rollback");
    store.close().await;
    ids.len()
}

/// `probity audit verify` on the data directory (and database) exits 0.
pub fn audit_verifies_offline(data_dir: &Path, database_url: Option<&str>) {
    let mut verify = Command::new(BIN);
    verify
        .args(["audit", "verify", "--data-dir"])
        .arg(data_dir)
        .env_remove("PROBITY_DATABASE_URL");
    if let Some(u) = database_url {
        verify.args(["--database-url", u]);
    }
    let out = verify.output().expect("run audit verify");
    assert!(
        out.status.success(),
        "audit verify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
