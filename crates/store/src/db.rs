//! Opening the store, the backend switch, and the transaction handle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use object_store::ObjectStore;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};

use crate::blobs::BlobStore;
use crate::error::{Result, StoreError};
use crate::keys::{MasterKey, ServerKeys};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Environment variable holding the master key (base64 of 32 bytes); overrides the key file.
pub const MASTER_KEY_ENV: &str = "PROBITY_MASTER_KEY";

/// Which database the store talks to. The SQL is the same for both except where noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How to open the store.
#[derive(Clone)]
pub struct StoreConfig {
    /// Holds `probity.db` (SQLite), `blobs/`, `master.key` and `server.ed25519`.
    pub data_dir: PathBuf,
    /// `postgres://...` for PostgreSQL; `None` (or a `sqlite:` URL) for the embedded default.
    pub database_url: Option<String>,
    /// Base64 master key; when `None` the key file `<data_dir>/master.key` is used (created on
    /// first run with mode 0600). [`StoreConfig::new`] fills it from `PROBITY_MASTER_KEY`.
    pub master_key_base64: Option<String>,
    /// Object store for evidence blobs; `None` means the local file system under
    /// `<data_dir>/blobs`.
    pub object_store: Option<Arc<dyn ObjectStore>>,
    /// Connection pool size.
    pub max_connections: u32,
    /// How long a request waits for a connection before [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field(
                "master_key_base64",
                &self.master_key_base64.as_ref().map(|_| "<set>"),
            )
            .field(
                "object_store",
                &self.object_store.as_ref().map(|s| s.to_string()),
            )
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

impl StoreConfig {
    /// Defaults: SQLite in `data_dir` unless a URL is given; master key from
    /// `PROBITY_MASTER_KEY` if set, else the key file.
    pub fn new(data_dir: impl Into<PathBuf>, database_url: Option<String>) -> Self {
        StoreConfig {
            data_dir: data_dir.into(),
            database_url: database_url.filter(|u| !u.trim().is_empty()),
            master_key_base64: std::env::var(MASTER_KEY_ENV).ok().filter(|v| !v.is_empty()),
            object_store: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }

    fn backend_and_url(&self) -> Result<(Backend, String)> {
        match self.database_url.as_deref() {
            None => {
                let path = self.data_dir.join("probity.db");
                Ok((
                    Backend::Sqlite,
                    format!("sqlite://{}?mode=rwc", path.display()),
                ))
            }
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok((Backend::Postgres, u.to_string()))
            }
            Some(u) if u.starts_with("sqlite:") => Ok((Backend::Sqlite, u.to_string())),
            Some(u) => Err(StoreError::Config(format!(
                "database URL {} is not supported; use postgres://user@host:port/db or leave it \
                 unset for the embedded SQLite database",
                redact_url(u)
            ))),
        }
    }
}

pub(crate) struct Inner {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) data_dir: PathBuf,
    pub(crate) keys: ServerKeys,
    pub(crate) blobs: BlobStore,
    /// SQLite has one writer at a time; queueing writers of this process here is fair and
    /// fast, where SQLite's busy handler would make them sleep and poll.
    pub(crate) write_queue: Arc<tokio::sync::Mutex<()>>,
    /// Entries of reads and refusals waiting to be written together ([`crate::audit::record`]).
    pub(crate) audit_group: crate::audit::GroupCommit,
}

/// The opened store: a connection pool, the blob store and the server keys. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.inner.backend)
            .field("data_dir", &self.inner.data_dir)
            .finish()
    }
}

impl Store {
    /// Opens (and on first run creates) the store: data directory, keys, database with
    /// migrations applied, blob store. An unreachable database gives
    /// [`StoreError::Unavailable`].
    pub async fn open(config: StoreConfig) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let data_dir = config.data_dir.clone();
        create_private_dir(&data_dir)?;
        let master = Arc::new(MasterKey::load_or_create(
            &data_dir,
            config.master_key_base64.as_deref(),
        )?);
        let keys = ServerKeys::load_or_create(&data_dir)?;
        let (backend, url) = config.backend_and_url()?;

        let options: AnyConnectOptions = url
            .parse()
            .map_err(|e| StoreError::Config(format!("database URL: {e}")))?;
        let mut pool_options = AnyPoolOptions::new()
            .max_connections(config.max_connections.max(1))
            .acquire_timeout(config.acquire_timeout)
            // A PostgreSQL connection can break while idle in the pool (a server restart, a
            // failover), so one idle for more than a second is pinged before use, and dropped
            // if it does not answer. Under load connections are never idle that long, so busy
            // nodes pay no round trip per transaction for the check. An embedded SQLite
            // connection cannot break this way and is never pinged.
            .test_before_acquire(false);
        if backend == Backend::Postgres {
            pool_options = pool_options.before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < Duration::from_secs(1) {
                        return Ok(true);
                    }
                    Ok(sqlx::Connection::ping(conn).await.is_ok())
                })
            });
        }
        if backend == Backend::Sqlite {
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // busy_timeout first: switching to WAL needs a short exclusive lock.
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    // FULL: every commit fsyncs the WAL, so an acknowledged write survives
                    // a process kill and also a power loss.
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // Freed content is zeroed, so shredded data keys do not linger in pages.
                    conn.execute("PRAGMA secure_delete = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(|e| match e {
                sqlx::Error::Configuration(c) => StoreError::Config(c.to_string()),
                other => StoreError::from(other),
            })?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => StoreError::from(inner),
            other => StoreError::Database(format!("migrations failed: {other}")),
        })?;

        let blobs = match config.object_store.clone() {
            Some(os) => BlobStore::new(os, None, master.clone()),
            None => BlobStore::local(&data_dir.join("blobs"), master.clone())?,
        };
        Ok(Store {
            inner: Arc::new(Inner {
                pool,
                backend,
                data_dir,
                keys,
                blobs,
                write_queue: Arc::new(tokio::sync::Mutex::new(())),
                audit_group: crate::audit::GroupCommit::default(),
            }),
        })
    }

    /// Starts a read-write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so a transaction that reads and then writes can never fail
    /// half-way with a busy error.
    pub async fn begin(&self) -> Result<Tx> {
        match self.inner.backend {
            Backend::Sqlite => {
                // Same bound as SQLite's busy_timeout; a writer waiting longer gets
                // Unavailable instead of hanging (also guards against a nested begin()).
                let guard = tokio::time::timeout(
                    Duration::from_secs(10),
                    self.inner.write_queue.clone().lock_owned(),
                )
                .await
                .map_err(|_| {
                    StoreError::Unavailable(
                        "the database stayed busy with other writes for 10 s".into(),
                    )
                })?;
                let tx = self.inner.pool.begin_with("BEGIN IMMEDIATE").await?;
                let mut tx = self.wrap(tx);
                tx.write_guard = Some(guard);
                Ok(tx)
            }
            Backend::Postgres => {
                let tx = self.inner.pool.begin().await?;
                Ok(self.wrap(tx))
            }
        }
    }

    /// Starts a transaction for reads only. Anything that writes, including an audit entry,
    /// needs [`Store::begin`]: on SQLite a deferred transaction cannot reliably upgrade to a
    /// writer, so [`crate::audit::append`] refuses a read transaction.
    ///
    /// On PostgreSQL (READ COMMITTED) every statement takes its own snapshot whether or not it
    /// runs inside a transaction, so a read "transaction" runs its statements in autocommit on
    /// one pooled connection: the same answers, without the BEGIN and COMMIT round trips. On
    /// SQLite a deferred transaction is kept: it gives its statements one snapshot.
    pub async fn begin_read(&self) -> Result<Tx> {
        let mut tx = match self.inner.backend {
            Backend::Sqlite => self.wrap(self.inner.pool.begin().await?),
            Backend::Postgres => Tx {
                tx: Conn::Autocommit(self.inner.pool.acquire().await?),
                backend: self.inner.backend,
                keys: self.inner.keys.clone(),
                write_guard: None,
                read_only: false,
            },
        };
        tx.read_only = true;
        Ok(tx)
    }

    /// A consistent snapshot for long reads (audit verification).
    pub(crate) async fn begin_snapshot(&self) -> Result<Tx> {
        let stmt = match self.inner.backend {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        let tx = self.inner.pool.begin_with(stmt).await?;
        Ok(self.wrap(tx))
    }

    fn wrap(&self, tx: sqlx::Transaction<'static, Any>) -> Tx {
        Tx {
            tx: Conn::Transaction(tx),
            backend: self.inner.backend,
            keys: self.inner.keys.clone(),
            write_guard: None,
            read_only: false,
        }
    }

    /// Which database this store uses.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// The server's Ed25519 keys (audit checkpoints; others sign manifests with them).
    pub fn server_keys(&self) -> &ServerKeys {
        &self.inner.keys
    }

    /// The encrypted evidence blob store.
    pub fn blobs(&self) -> &BlobStore {
        &self.inner.blobs
    }

    /// Readiness probe: one round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.inner.pool).await?;
        Ok(())
    }

    /// After dispositions: makes sure destroyed data keys do not survive in database pages
    /// (SQLite: checkpoint and truncate the WAL; PostgreSQL: vacuum the blobs table).
    pub async fn purge_shredded_keys(&self) -> Result<()> {
        let stmt = match self.inner.backend {
            Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
            Backend::Postgres => "VACUUM blobs",
        };
        sqlx::query(stmt).execute(&self.inner.pool).await?;
        Ok(())
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }
}

/// A database transaction. Every mutating function of this crate takes one, so the caller
/// writes the change and its audit entry together and commits once.
pub struct Tx {
    pub(crate) tx: Conn,
    pub(crate) backend: Backend,
    pub(crate) keys: ServerKeys,
    pub(crate) read_only: bool,
    // Declared last: released after the transaction itself is dropped.
    write_guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.backend)
            .finish()
    }
}

/// What a [`Tx`] runs its statements on.
pub(crate) enum Conn {
    /// A database transaction.
    Transaction(sqlx::Transaction<'static, Any>),
    /// A pooled connection in autocommit mode: PostgreSQL reads (see [`Store::begin_read`]).
    Autocommit(sqlx::pool::PoolConnection<Any>),
}

impl Tx {
    /// Makes every change of this transaction durable (fsynced) before returning.
    pub async fn commit(self) -> Result<()> {
        match self.tx {
            Conn::Transaction(tx) => tx.commit().await?,
            Conn::Autocommit(_) => {}
        }
        Ok(())
    }

    /// Discards every change of this transaction (also happens on drop).
    pub async fn rollback(self) -> Result<()> {
        match self.tx {
            Conn::Transaction(tx) => tx.rollback().await?,
            Conn::Autocommit(_) => {}
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        match &mut self.tx {
            Conn::Transaction(tx) => tx,
            Conn::Autocommit(c) => c,
        }
    }
}

/// Creates the directory (mode 0700 when created here).
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir).map_err(|e| StoreError::io(dir, e))
}

/// Current time in unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Database(format!("stored time {ms} is out of range")))
}

pub(crate) fn opt_from_ms(ms: Option<i64>) -> Result<Option<DateTime<Utc>>> {
    ms.map(from_ms).transpose()
}

pub(crate) fn parse_uuid(s: &str) -> Result<uuid::Uuid> {
    uuid::Uuid::parse_str(s)
        .map_err(|_| StoreError::Database(format!("stored id {s:?} is not a UUID")))
}

/// One page of a list query: `SELECT columns FROM table{filter}`, where `filter` is empty or
/// starts with " WHERE" and its `$1..$n` placeholders are `binds` in order.
pub(crate) struct PageQuery<'a> {
    pub columns: &'a str,
    pub table: &'a str,
    pub filter: &'a str,
    pub binds: Vec<String>,
    /// The sort column (whitelisted by the caller) and the columns, comma-separated, that break
    /// ties (the last one unique).
    pub order: &'a str,
    pub tiebreak: &'a str,
    pub descending: bool,
    /// Rows on the page (0 means the default of 50) and rows skipped.
    pub limit: u32,
    pub offset: u64,
}

impl PageQuery<'_> {
    /// The page's rows, read with `from_row`, and how many rows match in all.
    pub(crate) async fn fetch<T>(
        self,
        tx: &mut Tx,
        from_row: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<(Vec<T>, u64)> {
        use sqlx::Row;
        let items = self.rows(tx, from_row).await?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM {}{}", self.table, self.filter);
        let mut c = sqlx::query(&count_sql);
        for b in self.binds {
            c = c.bind(b);
        }
        let total: i64 = c.fetch_one(tx.conn()).await?.try_get("n")?;
        Ok((items, u64::try_from(total).unwrap_or(0)))
    }

    /// The page's rows only, read with `from_row` (for lists whose total the caller counts
    /// itself, after checks of its own).
    pub(crate) async fn rows<T>(
        &self,
        tx: &mut Tx,
        from_row: impl Fn(&sqlx::any::AnyRow) -> Result<T>,
    ) -> Result<Vec<T>> {
        let dir = if self.descending { "DESC" } else { "ASC" };
        // Every tie-breaking column goes in the same direction as the sort.
        let tiebreak: Vec<String> = self
            .tiebreak
            .split(',')
            .map(|c| format!("{} {dir}", c.trim()))
            .collect();
        let n = self.binds.len();
        let sql = format!(
            "SELECT {} FROM {}{} ORDER BY {} {dir}, {} LIMIT ${} OFFSET ${}",
            self.columns,
            self.table,
            self.filter,
            self.order,
            tiebreak.join(", "),
            n + 1,
            n + 2
        );
        let mut q = sqlx::query(&sql);
        for b in &self.binds {
            q = q.bind(b.clone());
        }
        let limit = if self.limit == 0 { 50 } else { self.limit };
        let rows = q
            .bind(i64::from(limit))
            .bind(i64::try_from(self.offset).unwrap_or(i64::MAX))
            .fetch_all(tx.conn())
            .await?;
        rows.iter().map(from_row).collect()
    }
}
