//! Test harness: a real server on a free port over a real database (SQLite in a temporary directory,
//! or a fresh PostgreSQL database), seeded with the demonstration people and cases.
#![allow(dead_code)]

pub mod lfw;

use std::net::SocketAddr;

use probity_server::{app, build_state, demo, AppState, Config};
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a test body once per backend: `both!(name, body_fn)` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $body($crate::common::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $body($crate::common::Backend::Postgres).await
            }
        }
    };
}

pub struct TestServer {
    pub url: String,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    pub database_url: Option<String>,
    /// Drops this test's own PostgreSQL database when the server goes away (other nodes of the
    /// same deployment share it and hold none).
    pub _database: Option<DropDatabase>,
}

/// Drops a test database at the end of its test, so runs do not fill the disk with them.
pub struct DropDatabase(String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        if let Some((_, name)) = self.0.rsplit_once('/') {
            // Best effort: WITH (FORCE) ends the pools' connections; a database left behind is
            // removed by scripts/test before the next run.
            let _ = std::process::Command::new("psql")
                .args([
                    postgres_admin_url().as_str(),
                    "-X",
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("PROBITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Creates an empty PostgreSQL database for one test and returns its URL.
pub async fn fresh_postgres_database() -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL is required for this test and is not reachable at {admin} ({e}); start it or set PROBITY_TEST_POSTGRES_URL")
    });
    let name = format!("probity_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    format!("{base}/{name}")
}

pub fn config(dir: &std::path::Path, database_url: Option<String>) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        database_url,
        tls: false,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        max_body_bytes: 1024 * 1024,
        ..Config::default()
    }
}

pub async fn start(backend: Backend) -> TestServer {
    start_with(backend, |_| {}).await
}

pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestServer {
    // The server's own log (warnings and errors, with their causes) goes to the test's captured
    // output, so a failure shows why the server answered as it did.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROBITY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_database().await),
    };
    let mut cfg = config(dir.path(), database_url.clone());
    adjust(&mut cfg);
    let state = build_state(cfg).await.expect("server state");
    demo::seed(&state.store, &state.passwords)
        .await
        .expect("demo data");
    let url = spawn(state.clone()).await;
    TestServer {
        url,
        state,
        dir,
        _database: database_url.clone().map(DropDatabase),
        database_url,
    }
}

/// Serves `state` on a free port in the background; returns the base URL.
pub async fn spawn(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

impl TestServer {
    /// Another node of the same deployment as this one: the same PostgreSQL database, the same
    /// keys and the same blob folder, its own process state (and so its own face index),
    /// following the face index changes of the others as `probity serve` does.
    pub async fn another_node(&self) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        for key in [
            probity_store::MASTER_KEY_FILE,
            probity_store::SERVER_KEY_FILE,
        ] {
            std::fs::copy(self.dir.path().join(key), dir.path().join(key)).expect("copy key");
        }
        std::os::unix::fs::symlink(self.dir.path().join("blobs"), dir.path().join("blobs"))
            .expect("shared blob folder");
        let database_url = self
            .database_url
            .clone()
            .expect("several nodes share a PostgreSQL database");
        let state = build_state(config(dir.path(), Some(database_url.clone())))
            .await
            .expect("another node");
        tokio::spawn(probity_server::fr::engine::follow_changes(
            state.clone(),
            database_url.clone(),
        ));
        let url = spawn(state.clone()).await;
        TestServer {
            url,
            state,
            dir,
            database_url: Some(database_url),
            _database: None,
        }
    }

    /// Uploads one camera original to a case's evidence (`POST /api/cases/{case}/evidence`), as
    /// a multipart body written by hand: the text `fields` (purpose, basis, ...) and the file.
    pub async fn upload_evidence(
        &self,
        c: &reqwest::Client,
        case: &str,
        fields: &[(&str, &str)],
        filename: &str,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let boundary = "probity-test-boundary-7d1f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = c
            .post(format!("{}/api/cases/{case}/evidence", self.url))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("upload");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// A client signed in as a demonstration user.
    pub async fn login(&self, username: &str) -> reqwest::Client {
        let c = client();
        let r = c
            .post(format!("{}/api/session", self.url))
            .json(&serde_json::json!({ "username": username, "password": demo::DEMO_PASSWORD }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "sign in as {username}: {}",
            r.text().await.unwrap_or_default()
        );
        c
    }

    pub async fn get(&self, c: &reqwest::Client, path: &str) -> (StatusCode, Value) {
        let r = c
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, c: &reqwest::Client, path: &str, body: Value) -> (StatusCode, Value) {
        let r = c
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, c: &reqwest::Client, path: &str, body: Value) -> (StatusCode, Value) {
        let r = c
            .put(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .expect("request");
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The stored account of `username` (which must exist).
    pub async fn user(&self, username: &str) -> probity_store::users::User {
        let mut tx = self.state.store.begin().await.expect("tx");
        let u = probity_store::users::get_by_username(&mut tx, username)
            .await
            .expect("user")
            .unwrap_or_else(|| panic!("no account {username}"));
        tx.commit().await.expect("commit");
        u
    }

    /// `username` with the access the server computes for them now.
    pub async fn principal(&self, username: &str) -> probity_server::principal::Principal {
        let user = self.user(username).await;
        let mut tx = self.state.store.begin().await.expect("tx");
        let p = probity_server::principal::load(
            &mut tx,
            user,
            &self.state.commands,
            chrono::Utc::now(),
        )
        .await
        .expect("principal");
        tx.commit().await.expect("commit");
        p
    }

    /// The audit trail of one record.
    pub async fn audit_of(
        &self,
        record_type: &str,
        record_id: &str,
    ) -> Vec<probity_store::audit::AuditEntry> {
        let mut tx = self.state.store.begin().await.expect("tx");
        let entries = probity_store::audit::for_record(&mut tx, record_type, record_id)
            .await
            .expect("audit");
        tx.commit().await.expect("commit");
        entries
    }
}

/// The shared test data folder (`PROBITY_TEST_DATA`, default `../shared/data`).
pub fn test_data() -> std::path::PathBuf {
    std::env::var_os("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
}

/// A camera file of the shared test data; fails with a clear message when it is missing.
pub fn camera_sample(name: &str) -> Vec<u8> {
    let p = test_data().join("camera").join(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "the camera sample {} is missing ({e}): set PROBITY_TEST_DATA to the shared data folder",
            p.display()
        )
    })
}

/// The CSRF token a server-rendered page carries in its forms.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token in the page")
        .to_string()
}
