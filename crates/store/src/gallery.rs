//! The photo repository (FR-01, FR-02, FR-03): pseudonymous subjects, arrest and parole records
//! with their photo date and arrest/charge identifier, photos as encrypted blobs, templates per
//! algorithm, sealing.
//!
//! [`import_record`] is the only way a photo enters the repository. It refuses a record without
//! source, arrest/charge id or photo date (FR-01), and a photo whose content equals any stored
//! probe still (FR-03): probes live in `fr_probes` and never become records.

use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, PageQuery, Tx};
use crate::error::{Result, StoreError};
use crate::BlobStore;

/// One repository record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub record_no: i64,
    pub subject_id: String,
    /// `arrest` or `parole`.
    pub source: String,
    pub arrest_id: String,
    /// ISO date (YYYY-MM-DD).
    pub photo_date: String,
    pub photo_blob: Uuid,
    pub photo_sha256: String,
    pub sealed: bool,
    pub sealed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub removed: bool,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A record to import, with its photo.
#[derive(Debug, Clone)]
pub struct NewRecord<'a> {
    pub subject_id: &'a str,
    pub source: &'a str,
    pub arrest_id: &'a str,
    pub photo_date: &'a str,
    pub photo: &'a [u8],
    pub media_type: &'a str,
}

const COLUMNS: &str =
    "record_no, subject_id, source, arrest_id, photo_date, photo_blob, photo_sha256, \
                       sealed, sealed_at, removed, created_by, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Record> {
    let blob: String = r.try_get("photo_blob")?;
    let sealed: i64 = r.try_get("sealed")?;
    let removed: i64 = r.try_get("removed")?;
    Ok(Record {
        record_no: r.try_get("record_no")?,
        subject_id: r.try_get("subject_id")?,
        source: r.try_get("source")?,
        arrest_id: r.try_get("arrest_id")?,
        photo_date: r.try_get("photo_date")?,
        photo_blob: parse_uuid(&blob)?,
        photo_sha256: r.try_get("photo_sha256")?,
        sealed: sealed != 0,
        sealed_at: opt_from_ms(r.try_get("sealed_at")?)?,
        removed: removed != 0,
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?)?,
    })
}

/// The fields FR-01 requires that `new` lacks (empty when complete).
pub fn missing_fields(new: &NewRecord<'_>) -> Vec<&'static str> {
    let mut missing = Vec::new();
    if new.subject_id.trim().is_empty() {
        missing.push("subject_id");
    }
    if !matches!(new.source.trim(), "arrest" | "parole") {
        missing.push("source (arrest or parole)");
    }
    if new.arrest_id.trim().is_empty() {
        missing.push("arrest_id");
    }
    let date_ok = chrono::NaiveDate::parse_from_str(new.photo_date.trim(), "%Y-%m-%d").is_ok();
    if !date_ok {
        missing.push("photo_date (YYYY-MM-DD)");
    }
    missing
}

/// Imports one record with its photo (encrypted blob). Refuses incomplete records (FR-01) and any
/// photo whose SHA-256 equals a probe still's (FR-03) or an existing record's.
pub async fn import_record(
    tx: &mut Tx,
    blobs: &BlobStore,
    new: &NewRecord<'_>,
    created_by: &str,
) -> Result<Record> {
    let missing = missing_fields(new);
    if !missing.is_empty() {
        return Err(StoreError::Invalid(format!(
            "FR-01: a repository record needs {}",
            missing.join(", ")
        )));
    }
    use sha2::Digest;
    let sha = hex::encode(sha2::Sha256::digest(new.photo));
    if crate::fr::probe_with_sha256(tx, &sha).await?.is_some() {
        return Err(StoreError::Invalid(
            "FR-03: this image is a probe still of a request for analysis; probes never enter the photo repository"
                .into(),
        ));
    }
    if let Some(existing) = by_sha256(tx, &sha).await? {
        return Err(StoreError::AlreadyExists {
            what: "repository record",
            key: existing.record_no.to_string(),
        });
    }
    let now = now_ms();
    let subject = new.subject_id.trim();
    let known = sqlx::query("SELECT id FROM fr_subjects WHERE id = $1")
        .bind(subject)
        .fetch_optional(tx.conn())
        .await?;
    if known.is_none() {
        sqlx::query("INSERT INTO fr_subjects (id, created_at) VALUES ($1, $2)")
            .bind(subject)
            .bind(now)
            .execute(tx.conn())
            .await
            .map_err(|e| StoreError::from_sqlx("subject", subject, e))?;
    }
    let meta = blobs
        .put(tx, None, new.photo, new.media_type, created_by)
        .await?;
    let row = sqlx::query("SELECT COALESCE(MAX(record_no), 0) AS m FROM fr_records")
        .fetch_one(tx.conn())
        .await?;
    let record_no: i64 = row.try_get::<i64, _>("m")? + 1;
    sqlx::query(
        "INSERT INTO fr_records (record_no, subject_id, source, arrest_id, photo_date, photo_blob, \
         photo_sha256, sealed, removed, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9)",
    )
    .bind(record_no)
    .bind(subject)
    .bind(new.source.trim())
    .bind(new.arrest_id.trim())
    .bind(new.photo_date.trim())
    .bind(meta.id.to_string())
    .bind(&sha)
    .bind(created_by)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("repository record", &sha, e))?;
    get(tx, record_no).await?.ok_or(StoreError::NotFound {
        what: "repository record",
        id: record_no.to_string(),
    })
}

pub async fn get(tx: &mut Tx, record_no: i64) -> Result<Option<Record>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_records WHERE record_no = $1"
    ))
    .bind(record_no)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn by_sha256(tx: &mut Tx, sha256: &str) -> Result<Option<Record>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_records WHERE photo_sha256 = $1"
    ))
    .bind(sha256.to_ascii_lowercase())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Records of one arrest/charge identifier.
pub async fn by_arrest(tx: &mut Tx, arrest_id: &str) -> Result<Vec<Record>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_records WHERE arrest_id = $1 ORDER BY record_no"
    ))
    .bind(arrest_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Seals (or unseals) every record of an arrest (FR-02). Returns the records changed.
pub async fn set_sealed(tx: &mut Tx, arrest_id: &str, sealed: bool) -> Result<Vec<i64>> {
    let records = by_arrest(tx, arrest_id).await?;
    if records.is_empty() {
        return Err(StoreError::NotFound {
            what: "arrest in the photo repository",
            id: arrest_id.to_string(),
        });
    }
    let changed: Vec<i64> = records
        .iter()
        .filter(|r| r.sealed != sealed)
        .map(|r| r.record_no)
        .collect();
    sqlx::query("UPDATE fr_records SET sealed = $1, sealed_at = $2 WHERE arrest_id = $3")
        .bind(i64::from(sealed))
        .bind(if sealed { Some(now_ms()) } else { None })
        .bind(arrest_id)
        .execute(tx.conn())
        .await?;
    let change = if sealed {
        IndexChangeKind::Seal
    } else {
        IndexChangeKind::Unseal
    };
    for record_no in &changed {
        note_index_change(tx, *record_no, change, None).await?;
    }
    Ok(changed)
}

/// What a node's in-memory index must do to follow the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexChangeKind {
    /// A template of `algorithm` was stored (new record, or a re-template): add or replace it.
    Template,
    Seal,
    Unseal,
}

impl IndexChangeKind {
    fn as_str(self) -> &'static str {
        match self {
            IndexChangeKind::Template => "template",
            IndexChangeKind::Seal => "seal",
            IndexChangeKind::Unseal => "unseal",
        }
    }
}

/// One numbered change of the repository index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexChange {
    pub version: i64,
    pub record_no: i64,
    pub kind: IndexChangeKind,
    /// For [`IndexChangeKind::Template`]: the algorithm (`name@version`) of the template.
    pub algorithm: Option<String>,
}

/// Index changes are kept this long (7 days), pruned every [`PRUNE_EVERY`] changes.
const KEEP_CHANGES_MS: i64 = 7 * 24 * 3600 * 1000;
const PRUNE_EVERY: i64 = 1000;

/// The channel on which PostgreSQL announces a committed index change (payload: its version).
pub const INDEX_CHANNEL: &str = "probity_fr_index";

/// Numbers a change in the caller's transaction. The head row stays locked until the commit, so
/// versions become visible in order and a node reading "after N" never skips one that commits
/// later. On PostgreSQL the change is also announced on [`INDEX_CHANNEL`] at commit.
async fn note_index_change(
    tx: &mut Tx,
    record_no: i64,
    kind: IndexChangeKind,
    algorithm: Option<&str>,
) -> Result<i64> {
    let row = sqlx::query(
        "UPDATE fr_index_head SET version = version + 1 WHERE id = 1 RETURNING version",
    )
    .fetch_one(tx.conn())
    .await?;
    let version: i64 = row.try_get("version")?;
    sqlx::query(
        "INSERT INTO fr_index_changes (version, record_no, change, algorithm, at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(version)
    .bind(record_no)
    .bind(kind.as_str())
    .bind(algorithm)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    if version % PRUNE_EVERY == 0 {
        // Nodes follow within seconds; a node that fell further behind rebuilds its index
        // (`oldest_index_change` tells it that changes it needs are gone).
        sqlx::query("DELETE FROM fr_index_changes WHERE at < $1")
            .bind(now_ms() - KEEP_CHANGES_MS)
            .execute(tx.conn())
            .await?;
    }
    if tx.backend == crate::Backend::Postgres {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(INDEX_CHANNEL)
            .bind(version.to_string())
            .execute(tx.conn())
            .await?;
    }
    Ok(version)
}

/// Notifications of committed index changes on PostgreSQL ([`INDEX_CHANNEL`]).
pub struct IndexListener(sqlx::postgres::PgListener);

impl IndexListener {
    /// Connects to the PostgreSQL database at `database_url` and listens on [`INDEX_CHANNEL`].
    pub async fn connect(database_url: &str) -> Result<IndexListener> {
        let mut listener = sqlx::postgres::PgListener::connect(database_url).await?;
        listener.listen(INDEX_CHANNEL).await?;
        Ok(IndexListener(listener))
    }

    /// The version of the next change announced (`None` for a payload that is not one). An
    /// error means the connection is lost: connect again and catch up from the database.
    pub async fn recv(&mut self) -> Result<Option<i64>> {
        let n = self.0.try_recv().await?.ok_or_else(|| {
            StoreError::Unavailable("the notification connection was closed".into())
        })?;
        Ok(n.payload().parse().ok())
    }
}

/// The last numbered index change (0 before any).
pub async fn index_version(tx: &mut Tx) -> Result<i64> {
    let row = sqlx::query("SELECT version FROM fr_index_head WHERE id = 1")
        .fetch_one(tx.conn())
        .await?;
    Ok(row.try_get("version")?)
}

/// The oldest index change still kept (`None` when none is): a node holding a version below
/// it minus one has missed pruned changes and must rebuild its index.
pub async fn oldest_index_change(tx: &mut Tx) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT MIN(version) AS v FROM fr_index_changes")
        .fetch_one(tx.conn())
        .await?;
    Ok(row.try_get::<Option<i64>, _>("v")?)
}

/// Index changes after `version` that concern an index of `algorithm` (its templates, and every
/// sealing and unsealing), oldest first, at most `limit`. Templates of another algorithm (a
/// re-templating in progress) are left out.
pub async fn index_changes_since(
    tx: &mut Tx,
    version: i64,
    algorithm: &str,
    limit: u32,
) -> Result<Vec<IndexChange>> {
    let rows = sqlx::query(
        "SELECT version, record_no, change, algorithm FROM fr_index_changes \
         WHERE version > $1 AND (algorithm IS NULL OR algorithm = $2) ORDER BY version LIMIT $3",
    )
    .bind(version)
    .bind(algorithm)
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let change: String = r.try_get("change")?;
            let kind = match change.as_str() {
                "template" => IndexChangeKind::Template,
                "seal" => IndexChangeKind::Seal,
                "unseal" => IndexChangeKind::Unseal,
                other => {
                    return Err(StoreError::Database(format!(
                        "unknown face index change {other}"
                    )))
                }
            };
            Ok(IndexChange {
                version: r.try_get("version")?,
                record_no: r.try_get("record_no")?,
                kind,
                algorithm: r.try_get("algorithm")?,
            })
        })
        .collect()
}

/// The template of one record under `algorithm` with its flags, if stored and not removed.
pub async fn template_of(
    tx: &mut Tx,
    record_no: i64,
    algorithm: &str,
) -> Result<Option<StoredTemplate>> {
    let row = sqlx::query(
        "SELECT t.record_no, r.sealed, t.template FROM fr_templates t \
         JOIN fr_records r ON r.record_no = t.record_no \
         WHERE t.record_no = $1 AND t.algorithm = $2 AND r.removed = 0",
    )
    .bind(record_no)
    .bind(algorithm)
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let sealed: i64 = r.try_get("sealed")?;
        Ok(StoredTemplate {
            record_no: r.try_get("record_no")?,
            sealed: sealed != 0,
            template: r.try_get("template")?,
        })
    })
    .transpose()
}

/// Stores a template of a record under an algorithm (`name@version`); replaces an older one.
pub async fn put_template(
    tx: &mut Tx,
    record_no: i64,
    algorithm: &str,
    template: &[u8],
) -> Result<()> {
    sqlx::query("DELETE FROM fr_templates WHERE record_no = $1 AND algorithm = $2")
        .bind(record_no)
        .bind(algorithm)
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO fr_templates (record_no, algorithm, template, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(record_no)
    .bind(algorithm)
    .bind(template.to_vec())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    note_index_change(tx, record_no, IndexChangeKind::Template, Some(algorithm)).await?;
    Ok(())
}

/// A stored template with the record's flags.
#[derive(Debug, Clone)]
pub struct StoredTemplate {
    pub record_no: i64,
    pub sealed: bool,
    pub template: Vec<u8>,
}

/// Every template of `algorithm` of records not removed (sealed ones flagged).
pub async fn templates(tx: &mut Tx, algorithm: &str) -> Result<Vec<StoredTemplate>> {
    let mut out = Vec::new();
    let mut after = i64::MIN;
    loop {
        let page = templates_after(tx, algorithm, after, 10_000).await?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        after = last.record_no;
        out.extend(page);
    }
}

/// Up to `limit` templates of `algorithm`, of records not removed, numbered after `after`, in
/// record order: a node loading millions of templates holds one page of rows at a time.
pub async fn templates_after(
    tx: &mut Tx,
    algorithm: &str,
    after: i64,
    limit: u32,
) -> Result<Vec<StoredTemplate>> {
    let rows = sqlx::query(
        "SELECT t.record_no, r.sealed, t.template FROM fr_templates t \
         JOIN fr_records r ON r.record_no = t.record_no \
         WHERE t.algorithm = $1 AND t.record_no > $2 AND r.removed = 0 \
         ORDER BY t.record_no LIMIT $3",
    )
    .bind(algorithm)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let sealed: i64 = r.try_get("sealed")?;
            Ok(StoredTemplate {
                record_no: r.try_get("record_no")?,
                sealed: sealed != 0,
                template: r.try_get("template")?,
            })
        })
        .collect()
}

/// Of `records`, those that may appear in a result now: present, not sealed, not removed (FR-02).
pub async fn searchable(tx: &mut Tx, records: &[i64]) -> Result<std::collections::HashSet<i64>> {
    let mut out = std::collections::HashSet::new();
    for chunk in records.chunks(200) {
        if chunk.is_empty() {
            continue;
        }
        let list = chunk
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let rows = sqlx::query(&format!(
            "SELECT record_no FROM fr_records WHERE sealed = 0 AND removed = 0 AND record_no IN ({list})"
        ))
        .fetch_all(tx.conn())
        .await?;
        for r in rows {
            out.insert(r.try_get::<i64, _>("record_no")?);
        }
    }
    Ok(out)
}

/// The columns a list of repository records may be sorted by (with descending beside it); each
/// maps to a fixed column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordSort {
    #[default]
    Record,
    PhotoDate,
    Arrest,
    Subject,
}

impl RecordSort {
    fn column(self) -> &'static str {
        match self {
            RecordSort::Record => "record_no",
            RecordSort::PhotoDate => "photo_date",
            RecordSort::Arrest => "arrest_id",
            RecordSort::Subject => "subject_id",
        }
    }
}

/// One page of the repository's records (removed ones never): `q` matches part of the subject
/// id or the arrest/charge id (any case), `source` exactly, `sealed` when given.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    pub q: Option<String>,
    pub source: Option<String>,
    pub sealed: Option<bool>,
    pub sort: RecordSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One page of records (see [`RecordFilter`]) and how many match the filter in all.
pub async fn records_page(tx: &mut Tx, f: &RecordFilter) -> Result<(Vec<Record>, u64)> {
    let mut filter = String::from(" WHERE removed = 0");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        binds.push(crate::cases::contains_pattern(q));
        let n = binds.len();
        filter += &format!(
            " AND (LOWER(subject_id) LIKE ${n} ESCAPE '\\' OR LOWER(arrest_id) LIKE ${n} ESCAPE '\\')"
        );
    }
    if let Some(source) = &f.source {
        binds.push(source.clone());
        filter += &format!(" AND source = ${}", binds.len());
    }
    if let Some(sealed) = f.sealed {
        filter += if sealed {
            " AND sealed = 1"
        } else {
            " AND sealed = 0"
        };
    }
    PageQuery {
        columns: COLUMNS,
        table: "fr_records",
        filter: &filter,
        binds,
        order: f.sort.column(),
        tiebreak: "record_no",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .fetch(tx, from_row)
    .await
}

/// Counts: (records, sealed, templates of `algorithm`).
pub async fn counts(tx: &mut Tx, algorithm: &str) -> Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM fr_records WHERE removed = 0) AS n, \
         (SELECT COUNT(*) FROM fr_records WHERE sealed = 1 AND removed = 0) AS s, \
         (SELECT COUNT(*) FROM fr_templates WHERE algorithm = $1) AS t",
    )
    .bind(algorithm)
    .fetch_one(tx.conn())
    .await?;
    Ok((r.try_get("n")?, r.try_get("s")?, r.try_get("t")?))
}
