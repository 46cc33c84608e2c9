//! The one error type of the store boundary.
//!
//! Messages are meant for operators and API clients: they say what is wrong and what to do.
//! Causes from the drivers are kept in the message text of the variants that wrap them,
//! so the server can log them while showing the stable part.

use thiserror::Error;

/// Every fallible store operation returns this.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database (or object store) cannot be reached right now. The server answers 503;
    /// the connection pool reconnects by itself once the database is back.
    #[error("the database is unavailable ({0}); retry later, the service recovers by itself once it is reachable")]
    Unavailable(String),

    /// A record that was asked for does not exist.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },

    /// A record with the same unique key already exists (usernames, case numbers, blob ids).
    #[error("{what} {key} already exists; originals are never overwritten, choose another key")]
    AlreadyExists { what: &'static str, key: String },

    /// A write lost a race or a precondition: lease taken by someone else, record already closed.
    #[error("conflict: {0}")]
    Conflict(String),

    /// The evidence object was crypto-shredded; its content can never be read again.
    #[error(
        "blob {0} was destroyed by disposition (crypto-shredded); see its disposition certificate"
    )]
    Destroyed(String),

    /// Content read back does not match the SHA-256 recorded when it was stored.
    #[error("integrity failure: {0}; the stored object has been altered or damaged, report it to the Integrity Control Officer")]
    Integrity(String),

    /// A key file or key variable is missing, malformed or too widely readable.
    #[error("key problem: {0}")]
    Key(String),

    /// The store configuration is not usable (bad URL, unwritable data directory).
    #[error("store configuration: {0}")]
    Config(String),

    /// Input rejected by a database constraint (bad enumeration value, missing referenced record).
    #[error("invalid data: {0}")]
    Invalid(String),

    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),

    /// Object store failure other than "not found".
    #[error("object store error: {0}")]
    Object(String),

    /// Local file system failure (data directory, key files).
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// True when the failure is transient and the caller should answer 503 / retry.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }

    pub(crate) fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        StoreError::Io {
            path: path.as_ref().display().to_string(),
            source,
        }
    }

    /// Maps a driver error, naming the record kind for unique violations.
    pub(crate) fn from_sqlx(what: &'static str, key: &str, e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::AlreadyExists {
                    what,
                    key: key.to_string(),
                };
            }
        }
        StoreError::from(e)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                StoreError::Unavailable(e.to_string())
            }
            E::RowNotFound => StoreError::NotFound {
                what: "row",
                id: String::new(),
            },
            E::Database(db) => {
                if let Some(sq) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                    // SQLITE_BUSY / SQLITE_LOCKED and their extended codes, after busy_timeout.
                    let primary = sqlx::error::DatabaseError::code(sq)
                        .and_then(|c| c.parse::<i32>().ok())
                        .unwrap_or(0)
                        & 0xff;
                    if primary == 5 || primary == 6 {
                        return StoreError::Unavailable(db.to_string());
                    }
                } else {
                    let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                    // PostgreSQL class 08 (connection exception), 57P01..57P03 (shutdown,
                    // cannot connect now), 53300 (too many connections).
                    if code.starts_with("08") || code.starts_with("57P") || code == "53300" {
                        return StoreError::Unavailable(db.to_string());
                    }
                }
                if db.is_foreign_key_violation() || db.is_check_violation() {
                    return StoreError::Invalid(db.to_string());
                }
                if db.is_unique_violation() {
                    return StoreError::AlreadyExists {
                        what: "record",
                        key: db.to_string(),
                    };
                }
                StoreError::Database(db.to_string())
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

impl From<object_store::Error> for StoreError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => StoreError::NotFound {
                what: "object",
                id: path,
            },
            object_store::Error::AlreadyExists { path, .. } => StoreError::AlreadyExists {
                what: "object",
                key: path,
            },
            other => StoreError::Object(other.to_string()),
        }
    }
}
