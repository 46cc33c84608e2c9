//! Test harness: a fresh store on SQLite (temporary directory) or PostgreSQL (a fresh schema
//! in the database of `PROBITY_TEST_POSTGRES_URL`), so tests run in parallel.
#![allow(dead_code)]

use std::str::FromStr;
use std::time::Duration;

use probity_store::{Backend, Store, StoreConfig};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_base_url() -> String {
    std::env::var("PROBITY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG.to_string())
}

pub struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
    pub url: Option<String>,
    schema: Option<String>,
}

/// URL of the base database with `search_path` set to `schema`.
pub fn schema_url(base: &str, schema: &str) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Creates a fresh schema; panics with a clear message when PostgreSQL is unreachable.
pub async fn fresh_schema() -> (String, String) {
    let base = pg_base_url();
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&base)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "PostgreSQL at {base} is unreachable ({e}). The store tests run against both \
                 backends: start PostgreSQL or set PROBITY_TEST_POSTGRES_URL."
            )
        });
    let schema = format!("probity_t_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&pool)
        .await
        .expect("create test schema");
    pool.close().await;
    (schema_url(&base, &schema), schema)
}

pub fn config(dir: &std::path::Path, url: Option<String>) -> StoreConfig {
    let mut c = StoreConfig::new(dir, url);
    c.master_key_base64 = None;
    c
}

pub async fn open(backend: Backend) -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, schema) = match backend {
        Backend::Sqlite => (None, None),
        Backend::Postgres => {
            let (u, s) = fresh_schema().await;
            (Some(u), Some(s))
        }
    };
    let store = Store::open(config(dir.path(), url.clone()))
        .await
        .expect("open store");
    TestStore {
        store,
        dir,
        url,
        schema,
    }
}

impl TestStore {
    /// Reopens the same database and data directory (as after a restart).
    pub async fn reopen(&self) -> Store {
        Store::open(config(self.dir.path(), self.url.clone()))
            .await
            .expect("reopen store")
    }

    /// Runs SQL directly against the database, around the store: the tamperer's view.
    pub async fn raw(&self, sql: &str) -> u64 {
        sqlx::any::install_default_drivers();
        let url = match &self.url {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.dir.path().join("probity.db").display()),
        };
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&url)
            .await
            .expect("raw connection");
        let r = sqlx::query(sql).execute(&mut conn).await.expect("raw sql");
        r.rows_affected()
    }

    pub async fn cleanup(self) {
        self.store.close().await;
        if let Some(schema) = &self.schema {
            let base = pg_base_url();
            if let Ok(pool) = PgPoolOptions::new().max_connections(1).connect(&base).await {
                let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                    .execute(&pool)
                    .await;
                pool.close().await;
            }
        }
    }
}

/// Host and port of the test PostgreSQL server.
pub fn pg_host_port() -> (String, u16) {
    let o = PgConnectOptions::from_str(&pg_base_url()).expect("PROBITY_TEST_POSTGRES_URL");
    (o.get_host().to_string(), o.get_port())
}

/// Generates `mod $name { sqlite(), postgres() }` running `$body(&TestStore)` on each backend.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = $crate::common::open(probity_store::Backend::Sqlite).await;
                $body(&t).await;
                t.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let t = $crate::common::open(probity_store::Backend::Postgres).await;
                $body(&t).await;
                t.cleanup().await;
            }
        }
    };
}
