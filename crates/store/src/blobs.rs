//! Encrypted, immutable evidence blobs (SEC-03, RET-11).
//!
//! Each object is encrypted with AES-256-GCM under its own random 256-bit data key; the data
//! key is wrapped (AES-256-GCM) by the master key and kept only in the blob's database row,
//! next to the SHA-256 of the plaintext. Writing is two-phase: [`BlobStore::stage`] encrypts,
//! writes the object with create-only semantics and fsyncs it; [`BlobStore::commit`] inserts
//! the row (with the wrapped key) in the caller's transaction. A ciphertext whose row never
//! committed has no key anywhere: it is unreadable and invisible, and
//! [`BlobStore::sweep`] removes it later. Disposition destroys the wrapped key
//! (crypto-shredding) and writes a certificate in the same transaction.
//!
//! The objects live in the local folder `<data_dir>/blobs` by default, or in an S3 bucket
//! ([`object_store_from_url`] with `s3://bucket/prefix`). Either way the object store only
//! ever holds ciphertext, and every object is written with create-only semantics that the
//! object store itself enforces (on S3 a conditional put, `If-None-Match: *`), so a second
//! write of the same object is refused by the store, whatever the caller does.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3Builder, S3ConditionalPut};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
/// The object store interface blobs are kept behind (for callers building one).
pub use object_store::ObjectStore;
use object_store::{BackoffConfig, PutMode, PutOptions, PutPayload, RetryConfig};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, Store, Tx};
use crate::error::{Result, StoreError};
use crate::keys::MasterKey;

const MAGIC: &[u8; 4] = b"PRB1";
const NONCE_LEN: usize = 12;
const OBJECT_PREFIX: &str = "evidence";
/// Listed (and never written) by [`BlobStore::ping`]: an empty listing proves the store answers.
const PING_PREFIX: &str = "readiness-probe";
/// How long [`BlobStore::ping`] waits for the object store.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// The object store named by a blob URL: `s3://bucket` or `s3://bucket/prefix`.
///
/// The S3 client is configured as the AWS SDKs are, from the environment: `AWS_ENDPOINT_URL`
/// (or `AWS_ENDPOINT`) for a store other than AWS, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, and `AWS_ALLOW_HTTP=true` for a plain-http
/// endpoint. Conditional puts (`If-None-Match: *`) are always on, whatever the environment
/// says: they are what makes originals write-once at the store. Every object key is put under
/// the prefix. Nothing is contacted here; an unreachable store shows in [`BlobStore::ping`].
pub fn object_store_from_url(url: &str) -> Result<Arc<dyn ObjectStore>> {
    let url = url.trim();
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err(StoreError::Config(format!(
            "blob URL {url:?} is not supported; use s3://bucket/prefix, or leave it unset for the \
             local folder <data_dir>/blobs"
        )));
    };
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if !bucket_ok {
        return Err(StoreError::Config(format!(
            "blob URL {url:?}: {bucket:?} is not an S3 bucket name (3 to 63 lowercase letters, \
             digits, dots and hyphens)"
        )));
    }
    let prefix = prefix.trim_matches('/');
    let prefix = ObjectPath::parse(prefix)
        .map_err(|e| StoreError::Config(format!("blob URL {url:?}: bad prefix: {e}")))?;
    let s3 = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_conditional_put(S3ConditionalPut::ETagMatch)
        // A request waits at most this long for a store that does not answer, then fails
        // (the default, three minutes, would hold evidence uploads that long).
        .with_retry(RetryConfig {
            backoff: BackoffConfig::default(),
            max_retries: 5,
            retry_timeout: Duration::from_secs(30),
        })
        .build()
        .map_err(|e| StoreError::Config(format!("blob URL {url:?}: {e}")))?;
    let inner: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
        Arc::new(s3)
    } else {
        Arc::new(PrefixStore::new(s3, prefix))
    };
    Ok(Arc::new(Named {
        name: url.to_string(),
        inner,
    }))
}

/// An object store that calls itself by its URL (`s3://bucket/prefix`) in messages, where the
/// wrapped stores would name only the prefix.
#[derive(Debug)]
struct Named {
    name: String,
    inner: Arc<dyn ObjectStore>,
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Named {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &ObjectPath,
        options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn head(&self, location: &ObjectPath) -> object_store::Result<object_store::ObjectMeta> {
        self.inner.head(location).await
    }

    async fn delete(&self, location: &ObjectPath) -> object_store::Result<()> {
        self.inner.delete(location).await
    }

    fn list(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&ObjectPath>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy(&self, from: &ObjectPath, to: &ObjectPath) -> object_store::Result<()> {
        self.inner.copy(from, to).await
    }

    async fn copy_if_not_exists(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
    ) -> object_store::Result<()> {
        self.inner.copy_if_not_exists(from, to).await
    }
}

/// Metadata of a stored blob.
#[derive(Debug, Clone, PartialEq)]
pub struct BlobMeta {
    pub id: Uuid,
    /// SHA-256 of the plaintext, lowercase hex.
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Set once the data key was destroyed.
    pub destroyed_at: Option<DateTime<Utc>>,
}

/// An encrypted object written and synced to the object store, not yet visible: it becomes
/// a blob when [`BlobStore::commit`]'s transaction commits.
#[derive(Debug)]
pub struct StagedBlob {
    id: Uuid,
    object_path: String,
    sha256: String,
    size: u64,
    media_type: String,
    master_key_id: String,
    wrapped_key: Vec<u8>,
}

impl StagedBlob {
    pub fn id(&self) -> Uuid {
        self.id
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

/// Why and on whose authority a blob is destroyed (RET-11).
#[derive(Debug, Clone)]
pub struct Disposition {
    /// What is destroyed, in words (for example "photo IMG_0042.NEF of case 2024-001").
    pub what: String,
    /// Why.
    pub reason: String,
    /// The retention rule applied (policy pack id and rule id).
    pub rule: String,
    /// Who approved the disposition.
    pub approved_by: String,
    /// Who carried it out.
    pub executed_by: String,
}

/// Proof of a disposition: kept forever, content gone.
#[derive(Debug, Clone, PartialEq)]
pub struct DispositionCertificate {
    pub id: Uuid,
    pub blob_id: Uuid,
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub what: String,
    pub reason: String,
    pub rule: String,
    pub approved_by: String,
    pub executed_by: String,
    pub executed_at: DateTime<Utc>,
}

/// Outcome of [`BlobStore::sweep`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Ciphertexts without a committed row (crashed or abandoned writes), removed.
    pub orphans_removed: u64,
    /// Ciphertexts of destroyed blobs, removed.
    pub destroyed_removed: u64,
    /// Interrupted partial files of the local file system, removed.
    pub partial_removed: u64,
}

/// The encrypted blob store over any [`ObjectStore`].
#[derive(Clone)]
pub struct BlobStore {
    objects: Arc<dyn ObjectStore>,
    local_root: Option<PathBuf>,
    master: Arc<MasterKey>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("objects", &self.objects.to_string())
            .field("local_root", &self.local_root)
            .finish()
    }
}

impl BlobStore {
    pub(crate) fn new(
        objects: Arc<dyn ObjectStore>,
        local_root: Option<PathBuf>,
        master: Arc<MasterKey>,
    ) -> Self {
        BlobStore {
            objects,
            local_root,
            master,
        }
    }

    pub(crate) fn local(root: &Path, master: Arc<MasterKey>) -> Result<Self> {
        crate::db::create_private_dir(root)?;
        let fs = LocalFileSystem::new_with_prefix(root)
            .map_err(|e| StoreError::Config(format!("blob directory {}: {e}", root.display())))?;
        Ok(Self::new(Arc::new(fs), Some(root.to_path_buf()), master))
    }

    /// Checks that the object store answers (for `/ready`): lists a prefix that holds nothing,
    /// which needs the store reachable, the bucket present and the credentials accepted, and
    /// reads and writes nothing. Gives [`StoreError::Object`] naming the blob store when
    /// it fails or does not answer within three seconds.
    pub async fn ping(&self) -> Result<()> {
        let probe = ObjectPath::from(PING_PREFIX);
        let listing = async { self.objects.list(Some(&probe)).try_next().await };
        match tokio::time::timeout(PING_TIMEOUT, listing).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Object(format!(
                "the blob store {} cannot be reached: {e}",
                self.objects
            ))),
            Err(_) => Err(StoreError::Object(format!(
                "the blob store {} did not answer within {} s",
                self.objects,
                PING_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Phase one of a write: encrypts `bytes`, writes the object (refusing an existing id)
    /// and syncs it to disk. Holds no database lock. `id` lets the caller choose the id; a
    /// random UUIDv7 otherwise.
    pub async fn stage(
        &self,
        id: Option<Uuid>,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<StagedBlob> {
        let id = id.unwrap_or_else(Uuid::now_v7);
        if media_type.trim().is_empty() {
            return Err(StoreError::Invalid("a blob needs a media type".into()));
        }
        let sha256 = hex::encode(Sha256::digest(bytes));
        let mut data_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut data_key);
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let aad = object_aad(id);
        let ciphertext = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key))
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: bytes,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Integrity("encryption failed".into()))?;
        let mut object = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        object.extend_from_slice(MAGIC);
        object.extend_from_slice(&nonce);
        object.extend_from_slice(&ciphertext);
        let wrapped_key = wrap_key(&self.master, id, &data_key)?;
        data_key.fill(0);

        let object_path = format!("{OBJECT_PREFIX}/{id}");
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.objects
            .put_opts(
                &ObjectPath::from(object_path.as_str()),
                PutPayload::from(object),
                opts,
            )
            .await
            .map_err(|e| match e {
                object_store::Error::AlreadyExists { .. } => StoreError::AlreadyExists {
                    what: "blob",
                    key: id.to_string(),
                },
                other => StoreError::from(other),
            })?;
        if let Some(root) = &self.local_root {
            let file = root.join(&object_path);
            let dir = root.join(OBJECT_PREFIX);
            tokio::task::spawn_blocking(move || -> Result<()> {
                let f = std::fs::File::open(&file).map_err(|e| StoreError::io(&file, e))?;
                f.sync_all().map_err(|e| StoreError::io(&file, e))?;
                crate::keys::sync_dir(&dir)
            })
            .await
            .map_err(|e| StoreError::Object(format!("sync task failed: {e}")))??;
        }
        Ok(StagedBlob {
            id,
            object_path,
            sha256,
            size: bytes.len() as u64,
            media_type: media_type.to_string(),
            master_key_id: self.master.id.clone(),
            wrapped_key,
        })
    }

    /// Phase two: records the blob (and its wrapped key) in the caller's transaction. The
    /// blob is readable once that transaction commits.
    pub async fn commit(
        &self,
        tx: &mut Tx,
        staged: StagedBlob,
        created_by: &str,
    ) -> Result<BlobMeta> {
        let created_at = now_ms();
        let id = staged.id.to_string();
        sqlx::query(
            "INSERT INTO blobs (id, object_path, sha256, size, media_type, created_by, created_at, \
             master_key_id, wrapped_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&id)
        .bind(&staged.object_path)
        .bind(&staged.sha256)
        .bind(staged.size as i64)
        .bind(&staged.media_type)
        .bind(created_by)
        .bind(created_at)
        .bind(&staged.master_key_id)
        .bind(staged.wrapped_key.clone())
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_sqlx("blob", &id, e))?;
        Ok(BlobMeta {
            id: staged.id,
            sha256: staged.sha256,
            size: staged.size,
            media_type: staged.media_type,
            created_by: created_by.to_string(),
            created_at: from_ms(created_at)?,
            destroyed_at: None,
        })
    }

    /// Stage and commit in one call (the object write happens while `tx` is open).
    pub async fn put(
        &self,
        tx: &mut Tx,
        id: Option<Uuid>,
        bytes: &[u8],
        media_type: &str,
        created_by: &str,
    ) -> Result<BlobMeta> {
        if let Some(id) = id {
            if meta(tx, id).await?.is_some() {
                return Err(StoreError::AlreadyExists {
                    what: "blob",
                    key: id.to_string(),
                });
            }
        }
        let staged = self.stage(id, bytes, media_type).await?;
        self.commit(tx, staged, created_by).await
    }

    /// Reads and decrypts a blob, checking its SHA-256. Destroyed blobs give
    /// [`StoreError::Destroyed`]; altered objects [`StoreError::Integrity`].
    pub async fn get(&self, tx: &mut Tx, id: Uuid) -> Result<Vec<u8>> {
        let row = sqlx::query(
            "SELECT object_path, sha256, size, master_key_id, wrapped_key FROM blobs WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "blob",
            id: id.to_string(),
        })?;
        let wrapped: Option<Vec<u8>> = row.try_get("wrapped_key")?;
        let wrapped = wrapped.ok_or_else(|| StoreError::Destroyed(id.to_string()))?;
        let key_id: String = row.try_get("master_key_id")?;
        if key_id != self.master.id {
            return Err(StoreError::Key(format!(
                "blob {id} is wrapped by master key {key_id}, but the configured master key is {}; \
                 configure the original master key",
                self.master.id
            )));
        }
        let object_path: String = row.try_get("object_path")?;
        let expected_sha: String = row.try_get("sha256")?;
        let expected_size: i64 = row.try_get("size")?;
        let object = self
            .objects
            .get(&ObjectPath::from(object_path.as_str()))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => {
                    StoreError::Integrity(format!("the object of blob {id} is missing"))
                }
                other => StoreError::from(other),
            })?
            .bytes()
            .await?;
        let data_key = unwrap_key(&self.master, id, &wrapped)?;
        if object.len() < MAGIC.len() + NONCE_LEN || &object[..MAGIC.len()] != MAGIC {
            return Err(StoreError::Integrity(format!(
                "the object of blob {id} is not a Probity blob"
            )));
        }
        let nonce = &object[MAGIC.len()..MAGIC.len() + NONCE_LEN];
        let aad = object_aad(id);
        let plain = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key))
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: &object[MAGIC.len() + NONCE_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| {
                StoreError::Integrity(format!("the ciphertext of blob {id} failed authentication"))
            })?;
        let actual = hex::encode(Sha256::digest(&plain));
        if actual != expected_sha || plain.len() as i64 != expected_size {
            return Err(StoreError::Integrity(format!(
                "blob {id} has SHA-256 {actual}, recorded {expected_sha}"
            )));
        }
        Ok(plain)
    }

    /// Crypto-shreds a blob: destroys its wrapped data key and records a disposition
    /// certificate, both in the caller's transaction (which should also carry the audit
    /// entry). The ciphertext may remain but can never be decrypted again.
    pub async fn destroy(
        &self,
        tx: &mut Tx,
        id: Uuid,
        d: &Disposition,
    ) -> Result<DispositionCertificate> {
        for (name, v) in [
            ("what", &d.what),
            ("reason", &d.reason),
            ("rule", &d.rule),
            ("approved_by", &d.approved_by),
            ("executed_by", &d.executed_by),
        ] {
            if v.trim().is_empty() {
                return Err(StoreError::Invalid(format!(
                    "a disposition needs {name} (RET-11: what, why, rule, who approved)"
                )));
            }
        }
        let executed_at = now_ms();
        let row = sqlx::query(
            "UPDATE blobs SET wrapped_key = NULL, destroyed_at = $1 \
             WHERE id = $2 AND wrapped_key IS NOT NULL RETURNING sha256, size, media_type",
        )
        .bind(executed_at)
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
        let Some(row) = row else {
            return Err(match meta(tx, id).await? {
                Some(_) => StoreError::Destroyed(id.to_string()),
                None => StoreError::NotFound {
                    what: "blob",
                    id: id.to_string(),
                },
            });
        };
        let size: i64 = row.try_get("size")?;
        let cert = DispositionCertificate {
            id: Uuid::now_v7(),
            blob_id: id,
            sha256: row.try_get("sha256")?,
            size: size as u64,
            media_type: row.try_get("media_type")?,
            what: d.what.clone(),
            reason: d.reason.clone(),
            rule: d.rule.clone(),
            approved_by: d.approved_by.clone(),
            executed_by: d.executed_by.clone(),
            executed_at: from_ms(executed_at)?,
        };
        sqlx::query(
            "INSERT INTO disposition_certificates (id, blob_id, sha256, size, media_type, what, \
             reason, rule, approved_by, executed_by, executed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(cert.id.to_string())
        .bind(id.to_string())
        .bind(&cert.sha256)
        .bind(size)
        .bind(&cert.media_type)
        .bind(&cert.what)
        .bind(&cert.reason)
        .bind(&cert.rule)
        .bind(&cert.approved_by)
        .bind(&cert.executed_by)
        .bind(executed_at)
        .execute(tx.conn())
        .await?;
        Ok(cert)
    }

    /// Removes ciphertexts that can never be read: objects whose row never committed (older
    /// than `grace`, so writes in flight are left alone), objects of destroyed blobs, and
    /// interrupted partial files on the local file system.
    pub async fn sweep(&self, store: &Store, grace: Duration) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let cutoff =
            Utc::now() - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::zero());
        let listed: Vec<object_store::ObjectMeta> = self
            .objects
            .list(Some(&ObjectPath::from(OBJECT_PREFIX)))
            .try_collect()
            .await?;
        for obj in listed {
            let Some(name) = obj.location.filename() else {
                continue;
            };
            let Ok(id) = Uuid::parse_str(name) else {
                continue;
            };
            let mut tx = store.begin_read().await?;
            let row = sqlx::query("SELECT destroyed_at FROM blobs WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(tx.conn())
                .await?;
            tx.rollback().await?;
            let remove = match row {
                None if obj.last_modified <= cutoff => {
                    report.orphans_removed += 1;
                    true
                }
                None => false,
                Some(r) => {
                    let destroyed: Option<i64> = r.try_get("destroyed_at")?;
                    if destroyed.is_some() {
                        report.destroyed_removed += 1;
                    }
                    destroyed.is_some()
                }
            };
            if remove {
                match self.objects.delete(&obj.location).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if let Some(root) = &self.local_root {
            let dir = root.join(OBJECT_PREFIX);
            let cutoff_sys = std::time::SystemTime::now().checked_sub(grace);
            if let (Ok(entries), Some(cutoff_sys)) = (std::fs::read_dir(&dir), cutoff_sys) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().to_string();
                    let old = entry
                        .metadata()
                        .and_then(|m| m.modified())
                        .map(|m| m <= cutoff_sys)
                        .unwrap_or(false);
                    // The local object store writes `<name>#<n>` and renames it into place.
                    if name.contains('#') && old {
                        std::fs::remove_file(entry.path())
                            .map_err(|e| StoreError::io(entry.path(), e))?;
                        report.partial_removed += 1;
                    }
                }
            }
        }
        Ok(report)
    }
}

/// Metadata of a blob, `None` if no such blob was ever committed.
pub async fn meta(tx: &mut Tx, id: Uuid) -> Result<Option<BlobMeta>> {
    let row = sqlx::query(
        "SELECT id, sha256, size, media_type, created_by, created_at, destroyed_at FROM blobs WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let size: i64 = r.try_get("size")?;
        let id: String = r.try_get("id")?;
        Ok(BlobMeta {
            id: parse_uuid(&id)?,
            sha256: r.try_get("sha256")?,
            size: size as u64,
            media_type: r.try_get("media_type")?,
            created_by: r.try_get("created_by")?,
            created_at: from_ms(r.try_get("created_at")?)?,
            destroyed_at: opt_from_ms(r.try_get("destroyed_at")?)?,
        })
    })
    .transpose()
}

/// The ids of every blob committed and not destroyed, oldest first: the objects the store must
/// be able to read (an integrity sweep walks them).
pub async fn live_ids(tx: &mut Tx) -> Result<Vec<Uuid>> {
    let rows =
        sqlx::query("SELECT id FROM blobs WHERE destroyed_at IS NULL ORDER BY created_at, id")
            .fetch_all(tx.conn())
            .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            parse_uuid(&id)
        })
        .collect()
}

/// The disposition certificate of a destroyed blob.
pub async fn certificate(tx: &mut Tx, blob_id: Uuid) -> Result<Option<DispositionCertificate>> {
    let row = sqlx::query(
        "SELECT id, blob_id, sha256, size, media_type, what, reason, rule, approved_by, executed_by, \
         executed_at FROM disposition_certificates WHERE blob_id = $1",
    )
    .bind(blob_id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let size: i64 = r.try_get("size")?;
        let id: String = r.try_get("id")?;
        let blob: String = r.try_get("blob_id")?;
        Ok(DispositionCertificate {
            id: parse_uuid(&id)?,
            blob_id: parse_uuid(&blob)?,
            sha256: r.try_get("sha256")?,
            size: size as u64,
            media_type: r.try_get("media_type")?,
            what: r.try_get("what")?,
            reason: r.try_get("reason")?,
            rule: r.try_get("rule")?,
            approved_by: r.try_get("approved_by")?,
            executed_by: r.try_get("executed_by")?,
            executed_at: from_ms(r.try_get("executed_at")?)?,
        })
    })
    .transpose()
}

fn object_aad(id: Uuid) -> Vec<u8> {
    let mut aad = b"probity-blob-v1:".to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

fn key_aad(id: Uuid) -> Vec<u8> {
    let mut aad = b"probity-data-key-v1:".to_vec();
    aad.extend_from_slice(id.as_bytes());
    aad
}

fn wrap_key(master: &MasterKey, id: Uuid, data_key: &[u8; 32]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = key_aad(id);
    let wrapped = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&master.key))
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: data_key,
                aad: &aad,
            },
        )
        .map_err(|_| StoreError::Key("wrapping a data key failed".into()))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&wrapped);
    Ok(out)
}

fn unwrap_key(master: &MasterKey, id: Uuid, wrapped: &[u8]) -> Result<[u8; 32]> {
    if wrapped.len() <= NONCE_LEN {
        return Err(StoreError::Integrity(format!(
            "the data key of blob {id} is damaged"
        )));
    }
    let aad = key_aad(id);
    let key = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&master.key))
        .decrypt(
            Nonce::from_slice(&wrapped[..NONCE_LEN]),
            Payload {
                msg: &wrapped[NONCE_LEN..],
                aad: &aad,
            },
        )
        .map_err(|_| {
            StoreError::Integrity(format!("the data key of blob {id} failed authentication"))
        })?;
    key.try_into().map_err(|_| {
        StoreError::Integrity(format!("the data key of blob {id} has the wrong length"))
    })
}
