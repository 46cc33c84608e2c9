//! A real S3-protocol server on a free loopback port for tests: moto in server mode
//! (`.venv/bin/moto_server`, installed by scripts/setup from scripts/setup.d/s3.pip; another
//! binary with `PROBITY_TEST_MOTO_SERVER`). It implements conditional puts (`If-None-Match: *`
//! answers 412 on an existing key), which the write-once rule of originals relies on.
//!
//! The S3 client of the store takes its endpoint and credentials from the `AWS_*` environment,
//! as in production. [`S3Server::start`] sets them for this server and holds a process-wide lock
//! until it is dropped, so tests of one binary that share a process never see each other's
//! settings. Set the variables before starting a runtime ([`S3Server::run`]).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

static ENV_LOCK: Mutex<()> = Mutex::new(());

/// Credentials moto accepts (any); a real deployment's come from the environment the same way.
pub const ACCESS_KEY: &str = "probity-test";
pub const SECRET_KEY: &str = "probity-test-secret";
pub const REGION: &str = "us-east-1";

/// The `AWS_*` variables the store's S3 client reads.
const AWS_VARS: [&str; 6] = [
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ALLOW_HTTP",
];

pub struct S3Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub port: u16,
    _env: MutexGuard<'static, ()>,
}

fn moto_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PROBITY_TEST_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
}

/// Takes the environment lock and points the `AWS_*` variables at `endpoint`.
fn export_env(endpoint: &str) -> MutexGuard<'static, ()> {
    let guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for v in AWS_VARS {
        std::env::remove_var(v);
    }
    std::env::set_var("AWS_ENDPOINT_URL", endpoint);
    std::env::set_var("AWS_REGION", REGION);
    std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    std::env::set_var("AWS_ALLOW_HTTP", "true");
    guard
}

impl S3Server {
    /// Starts moto on a free loopback port and points the `AWS_*` variables at it. Panics,
    /// saying what to do, when moto is not installed or does not start.
    pub fn start() -> S3Server {
        let bin = moto_binary();
        assert!(
            bin.exists(),
            "the S3 test server is missing: {} does not exist; run scripts/setup (it installs moto \
             from scripts/setup.d/s3.pip) or set PROBITY_TEST_MOTO_SERVER to a moto_server binary",
            bin.display()
        );
        let mut child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the S3 test server {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("moto's stderr");
        let mut lines = BufReader::new(stderr);
        let mut seen = String::new();
        let port = loop {
            let mut line = String::new();
            match lines.read_line(&mut line) {
                Ok(0) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the S3 test server {} stopped before it listened; its output:\n{seen}",
                        bin.display()
                    );
                }
                Ok(_) => {}
            }
            seen.push_str(&line);
            if let Some((_, rest)) = line.split_once("Running on http://127.0.0.1:") {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                break digits
                    .parse::<u16>()
                    .unwrap_or_else(|_| panic!("the S3 test server's port in {line:?}"));
            }
        };
        // Keep reading its request log, or the pipe fills and the server stops answering.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        let endpoint = format!("http://127.0.0.1:{port}");
        let env = export_env(&endpoint);
        S3Server {
            child: Some(child),
            endpoint,
            port,
            _env: env,
        }
    }

    /// Creates a bucket (moto takes an unsigned `PUT /bucket`).
    pub fn create_bucket(&self, bucket: &str) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .expect("send");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "creating bucket {bucket}: {answer}"
        );
    }

    /// Stops the server (the next request to it fails), keeping the environment lock.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Runs `f` on a fresh multi-thread runtime (started after the environment was set).
    pub fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        runtime().block_on(f)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Points the `AWS_*` variables at a loopback port where nothing listens (a free port, bound and
/// released); holds the environment lock as [`S3Server::start`] does.
pub struct Unreachable {
    pub endpoint: String,
    _env: MutexGuard<'static, ()>,
}

impl Unreachable {
    pub fn export() -> Unreachable {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let env = export_env(&endpoint);
        Unreachable {
            endpoint,
            _env: env,
        }
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}
