//! The tamper-evident audit trail (SEC-04, SEC-05).
//!
//! Each entry carries `seq` (1, 2, 3 ...), the hash of the previous entry and its own hash:
//! SHA-256 over a length-prefixed encoding of every field plus `prev_hash`. The single
//! `audit_head` row holds the last `seq` and hash, re-signed with the server's Ed25519 key on
//! every append; every [`CHECKPOINT_INTERVAL`] entries a signed checkpoint row is kept.
//!
//! Appends are serialised by updating the head row first (`UPDATE ... RETURNING`): PostgreSQL
//! holds its row lock, SQLite its write lock, until the caller's transaction ends. Append the
//! audit entry as the last statement of a transaction to keep that window short.
//!
//! Two ways in: [`append`] writes an entry in the caller's transaction, with the change it
//! describes; [`record`] writes an entry that goes with no other change (a read, a refusal)
//! by group commit, many requests' entries in one transaction, each caller answered once its
//! own entry is durable.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{from_ms, now_ms, to_ms, Store, Tx};
use crate::error::{Result, StoreError};

/// A signed checkpoint is written at every multiple of this sequence number.
pub const CHECKPOINT_INTERVAL: u64 = 100;

const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Outcome of the audited action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The action was allowed and done.
    Success,
    /// Refused by policy.
    Denied,
    /// Attempted and failed.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        }
    }
}

tokio::task_local! {
    /// The policy revision that made the last decision of the request being served (OVR-02).
    static DECIDED_BY: std::cell::RefCell<Option<serde_json::Value>>;
}

/// Runs `f` (one request) so that every entry it appends after a policy decision records the
/// revision that made it ([`note_decision`]): the trail then says which published text decided.
pub async fn decisions_scope<F: std::future::Future>(f: F) -> F::Output {
    DECIDED_BY.scope(std::cell::RefCell::new(None), f).await
}

/// Records the policy revision of a decision just made in this request (a JSON object such as
/// `{"pack": .., "version": .., "revision": ..}`); outside [`decisions_scope`] it does nothing.
pub fn note_decision(revision: serde_json::Value) {
    let _ = DECIDED_BY.try_with(|d| *d.borrow_mut() = Some(revision));
}

/// The detail as stored: the caller's, with the deciding policy revision under `policy` unless
/// the caller recorded one itself.
fn with_policy(detail: &serde_json::Value) -> serde_json::Value {
    let decided = DECIDED_BY.try_with(|d| d.borrow().clone()).ok().flatten();
    match (detail, decided) {
        (serde_json::Value::Object(m), Some(p)) if !m.contains_key("policy") => {
            let mut m = m.clone();
            m.insert("policy".into(), p);
            serde_json::Value::Object(m)
        }
        _ => detail.clone(),
    }
}

/// What the caller records: who did what to which record, why, and how it ended.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Who: a user id or a service name (for example `user:0190...` or `system:retention`).
    pub actor: String,
    /// What: the action name as the policy knows it (`case.view`, `evidence.upload`).
    pub action: String,
    /// Which record: its type (`case`, `blob`, `user`) ...
    pub record_type: String,
    /// ... and its id.
    pub record_id: String,
    /// Why: the stated purpose or legal basis, when one was given.
    pub reason: Option<String>,
    pub outcome: Outcome,
    /// Anything else worth keeping (JSON object), for example the policy rule that decided.
    pub detail: serde_json::Value,
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub record_type: String,
    pub record_id: String,
    pub reason: Option<String>,
    /// `success`, `denied` or `failed` (see [`Outcome`]).
    pub outcome: String,
    /// The detail JSON exactly as hashed.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an entry: SHA-256 over a domain tag and every field, each length-prefixed,
/// then `prev_hash`. Changing any byte of any field changes it.
pub fn entry_hash(e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    h.update(b"probity-audit-v1\0");
    h.update(e.seq.to_be_bytes());
    h.update(to_ms(e.at).to_be_bytes());
    for field in [&e.actor, &e.action, &e.record_type, &e.record_id] {
        put_str(&mut h, field);
    }
    match &e.reason {
        None => h.update([0u8]),
        Some(r) => {
            h.update([1u8]);
            put_str(&mut h, r);
        }
    }
    put_str(&mut h, &e.outcome);
    put_str(&mut h, &e.detail);
    put_str(&mut h, &e.prev_hash);
    hex::encode(h.finalize())
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

fn head_message(seq: u64, hash: &str) -> Vec<u8> {
    let mut m = b"probity-audit-head-v1\0".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m
}

fn checkpoint_message(seq: u64, hash: &str, at_ms: i64) -> Vec<u8> {
    let mut m = b"probity-audit-checkpoint-v1\0".to_vec();
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.extend_from_slice(&at_ms.to_be_bytes());
    m
}

/// Appends an entry inside the caller's transaction; it becomes durable with the caller's
/// commit, together with the change it describes, or not at all.
pub async fn append(tx: &mut Tx, event: &AuditEvent) -> Result<AuditEntry> {
    let prepared = Prepared::from_event(event)?;
    let mut written = chain_and_write(tx, std::slice::from_ref(&prepared)).await?;
    written
        .pop()
        .ok_or_else(|| StoreError::Database("an audit append wrote no entry".into()))
}

/// An event ready to be chained: the detail serialised with the deciding policy revision,
/// which lives in the caller's request scope and so must be read in the caller's task.
struct Prepared {
    actor: String,
    action: String,
    record_type: String,
    record_id: String,
    reason: Option<String>,
    outcome: &'static str,
    detail: String,
}

impl Prepared {
    fn from_event(event: &AuditEvent) -> Result<Prepared> {
        let detail = serde_json::to_string(&with_policy(&event.detail))
            .map_err(|e| StoreError::Invalid(format!("audit detail is not serialisable: {e}")))?;
        Ok(Prepared {
            actor: event.actor.clone(),
            action: event.action.clone(),
            record_type: event.record_type.clone(),
            record_id: event.record_id.clone(),
            reason: event.reason.clone(),
            outcome: event.outcome.as_str(),
            detail,
        })
    }
}

/// Columns per row of the multi-row insert; rows per statement stay far below both
/// backends' bound-parameter limits (SQLite 32,766, PostgreSQL 65,535).
const INSERT_COLUMNS: usize = 11;
const ROWS_PER_INSERT: usize = 64;

/// Chains `events` after the head and writes them in the caller's transaction: one head
/// update reserves their sequence numbers (and holds the head until the commit), one
/// multi-row insert per [`ROWS_PER_INSERT`] entries, one signature over the new head, and
/// the checkpoints that fall in the range.
async fn chain_and_write(tx: &mut Tx, events: &[Prepared]) -> Result<Vec<AuditEntry>> {
    if tx.read_only {
        return Err(StoreError::Invalid(
            "audit entries are written in a read-write transaction: open it with Store::begin"
                .into(),
        ));
    }
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n = i64::try_from(events.len())
        .map_err(|_| StoreError::Invalid("too many audit entries in one batch".into()))?;
    let head = sqlx::query("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
        .bind(n)
        .fetch_one(tx.conn())
        .await?;
    let last_seq: i64 = head.try_get("seq")?;
    let mut prev_hash: String = head.try_get("hash")?;
    let first_seq = last_seq - n + 1;
    let at = from_ms(now_ms())?;
    let mut entries = Vec::with_capacity(events.len());
    for (seq, event) in (first_seq..).zip(events) {
        let mut entry = AuditEntry {
            seq: seq as u64,
            at,
            actor: event.actor.clone(),
            action: event.action.clone(),
            record_type: event.record_type.clone(),
            record_id: event.record_id.clone(),
            reason: event.reason.clone(),
            outcome: event.outcome.to_string(),
            detail: event.detail.clone(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    for chunk in entries.chunks(ROWS_PER_INSERT) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let cells: Vec<String> = (1..=INSERT_COLUMNS)
                    .map(|c| format!("${}", r * INSERT_COLUMNS + c))
                    .collect();
                format!("({})", cells.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_log (seq, at, actor, action, record_type, record_id, reason, \
             outcome, detail, prev_hash, hash) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.seq as i64)
                .bind(to_ms(e.at))
                .bind(&e.actor)
                .bind(&e.action)
                .bind(&e.record_type)
                .bind(&e.record_id)
                .bind(e.reason.as_deref())
                .bind(&e.outcome)
                .bind(&e.detail)
                .bind(&e.prev_hash)
                .bind(&e.hash);
        }
        query.execute(tx.conn()).await?;
    }
    let keys = tx.keys.clone();
    let last = entries
        .last()
        .ok_or_else(|| StoreError::Database("an audit batch chained no entry".into()))?;
    let head_sig = hex::encode(keys.sign(&head_message(last.seq, &last.hash)));
    sqlx::query("UPDATE audit_head SET hash = $1, key_id = $2, signature = $3 WHERE id = 1")
        .bind(&last.hash)
        .bind(keys.key_id())
        .bind(&head_sig)
        .execute(tx.conn())
        .await?;
    for entry in entries
        .iter()
        .filter(|e| e.seq.is_multiple_of(CHECKPOINT_INTERVAL))
    {
        let at = to_ms(entry.at);
        let sig = hex::encode(keys.sign(&checkpoint_message(entry.seq, &entry.hash, at)));
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(entry.seq as i64)
        .bind(&entry.hash)
        .bind(at)
        .bind(keys.key_id())
        .bind(&sig)
        .execute(tx.conn())
        .await?;
    }
    Ok(entries)
}

/// Most entries one group commit writes; the rest wait for the next.
const MAX_GROUP: usize = 512;

/// Group commit of entries that describe no other change (reads, refusals, views): concurrent
/// callers' entries are chained and written together in one transaction, so the trail is no
/// longer bound to one durable commit per request.
///
/// Each caller queues its entry and then either sees its entry written by another caller, or
/// takes the leader lock and writes everything queued (its own entry included) in one
/// transaction. Nothing is answered before the commit of its own entry. On several nodes each
/// node's groups still serialise on the `audit_head` row, so there is one chain.
#[derive(Default)]
pub(crate) struct GroupCommit {
    queue: std::sync::Mutex<std::collections::VecDeque<Waiting>>,
    leader: tokio::sync::Mutex<()>,
}

struct Waiting {
    event: Prepared,
    reply: tokio::sync::oneshot::Sender<Result<AuditEntry>>,
}

/// Records an entry that goes with no other change and returns once it is durable (see
/// [`GroupCommit`]). Use [`append`] instead when the entry must commit together with a change.
pub async fn record(store: &Store, event: &AuditEvent) -> Result<AuditEntry> {
    let prepared = Prepared::from_event(event)?;
    let (reply, mut done) = tokio::sync::oneshot::channel();
    let group = &store.inner.audit_group;
    lock_queue(group).push_back(Waiting {
        event: prepared,
        reply,
    });
    loop {
        tokio::select! {
            biased;
            outcome = &mut done => return flatten(outcome),
            leader = group.leader.lock() => {
                let batch: Vec<Waiting> = {
                    let mut queue = lock_queue(group);
                    let n = queue.len().min(MAX_GROUP);
                    queue.drain(..n).collect()
                };
                if !batch.is_empty() {
                    // Written in its own task: a request cancelled while it leads (a client
                    // that hangs up) must not abandon the entries of the others.
                    let store = store.clone();
                    let _ = tokio::spawn(async move { write_group(&store, batch).await }).await;
                }
                drop(leader);
            }
        }
    }
}

fn lock_queue(
    group: &GroupCommit,
) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Waiting>> {
    // A poisoned queue only means a thread panicked while pushing or draining; the entries in
    // it are still whole.
    group.queue.lock().unwrap_or_else(|p| p.into_inner())
}

fn flatten(
    outcome: std::result::Result<Result<AuditEntry>, tokio::sync::oneshot::error::RecvError>,
) -> Result<AuditEntry> {
    outcome.unwrap_or_else(|_| {
        Err(StoreError::Database(
            "the audit write of this request stopped before it was confirmed".into(),
        ))
    })
}

async fn write_group(store: &Store, batch: Vec<Waiting>) {
    let (events, replies): (Vec<Prepared>, Vec<_>) =
        batch.into_iter().map(|w| (w.event, w.reply)).unzip();
    let written = async {
        let mut tx = store.begin().await?;
        let entries = chain_and_write(&mut tx, &events).await?;
        tx.commit().await?;
        Ok::<_, StoreError>(entries)
    }
    .await;
    match written {
        Ok(entries) => {
            for (reply, entry) in replies.into_iter().zip(entries) {
                let _ = reply.send(Ok(entry));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(same_error(&e)));
            }
        }
    }
}

/// The error of a failed group, for each of its callers: the kind is kept (an unavailable
/// database stays a 503), the message is the same.
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Invalid(m) => StoreError::Invalid(m.clone()),
        other => StoreError::Database(other.to_string()),
    }
}

const ENTRY_COLUMNS: &str =
    "seq, at, actor, action, record_type, record_id, reason, outcome, detail, prev_hash, hash";

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry> {
    let seq: i64 = row.try_get("seq")?;
    Ok(AuditEntry {
        seq: seq as u64,
        at: from_ms(row.try_get("at")?)?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        record_type: row.try_get("record_type")?,
        record_id: row.try_get("record_id")?,
        reason: row.try_get("reason")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Custody history: every entry about one record, oldest first.
pub async fn for_record(
    tx: &mut Tx,
    record_type: &str,
    record_id: &str,
) -> Result<Vec<AuditEntry>> {
    let rows = sqlx::query(&format!(
        "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE record_type = $1 AND record_id = $2 ORDER BY seq"
    ))
    .bind(record_type)
    .bind(record_id)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(entry_from_row).collect()
}

/// A focused audit (SEC-05): entries of one actor, action or record type in a time range.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub record_type: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Only entries with `seq` greater than this (paging).
    pub after_seq: Option<u64>,
    /// At most this many entries (0 = 1000).
    pub limit: u32,
}

/// Runs a focused audit, oldest first.
pub async fn query(tx: &mut Tx, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if q.actor.is_some() {
        sql += &format!(" AND actor = ${}", next());
    }
    if q.action.is_some() {
        sql += &format!(" AND action = ${}", next());
    }
    if q.record_type.is_some() {
        sql += &format!(" AND record_type = ${}", next());
    }
    if q.from.is_some() {
        sql += &format!(" AND at >= ${}", next());
    }
    if q.to.is_some() {
        sql += &format!(" AND at < ${}", next());
    }
    if q.after_seq.is_some() {
        sql += &format!(" AND seq > ${}", next());
    }
    sql += &format!(" ORDER BY seq LIMIT ${}", next());
    let mut query = sqlx::query(&sql);
    if let Some(a) = &q.actor {
        query = query.bind(a.clone());
    }
    if let Some(a) = &q.action {
        query = query.bind(a.clone());
    }
    if let Some(r) = &q.record_type {
        query = query.bind(r.clone());
    }
    if let Some(f) = q.from {
        query = query.bind(to_ms(f));
    }
    if let Some(t) = q.to {
        query = query.bind(to_ms(t));
    }
    if let Some(s) = q.after_seq {
        query = query.bind(s as i64);
    }
    let limit = if q.limit == 0 { 1000 } else { q.limit };
    query = query.bind(i64::from(limit));
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter().map(entry_from_row).collect()
}

/// One page of the trail: the filters of [`AuditQuery`] plus the record id, and a cursor on `seq`
/// on either side. Entries come in the order they are fetched: ascending `seq` unless
/// `descending`.
#[derive(Debug, Clone, Default)]
pub struct AuditPageQuery {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Only entries with `seq` greater than this.
    pub after_seq: Option<u64>,
    /// Only entries with `seq` less than this.
    pub before_seq: Option<u64>,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
}

enum AuditBind {
    Text(String),
    Int(i64),
}

fn audit_page_where(q: &AuditPageQuery, cursors: bool) -> (String, Vec<AuditBind>) {
    let mut sql = String::from(" WHERE 1 = 1");
    let mut binds = Vec::new();
    let text = [
        ("actor", &q.actor),
        ("action", &q.action),
        ("record_type", &q.record_type),
        ("record_id", &q.record_id),
    ];
    for (column, value) in text {
        if let Some(v) = value {
            binds.push(AuditBind::Text(v.clone()));
            sql += &format!(" AND {column} = ${}", binds.len());
        }
    }
    if let Some(f) = q.from {
        binds.push(AuditBind::Int(to_ms(f)));
        sql += &format!(" AND at >= ${}", binds.len());
    }
    if let Some(t) = q.to {
        binds.push(AuditBind::Int(to_ms(t)));
        sql += &format!(" AND at < ${}", binds.len());
    }
    if cursors {
        if let Some(s) = q.after_seq {
            binds.push(AuditBind::Int(i64::try_from(s).unwrap_or(i64::MAX)));
            sql += &format!(" AND seq > ${}", binds.len());
        }
        if let Some(s) = q.before_seq {
            binds.push(AuditBind::Int(i64::try_from(s).unwrap_or(i64::MAX)));
            sql += &format!(" AND seq < ${}", binds.len());
        }
    }
    (sql, binds)
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    binds: Vec<AuditBind>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for b in binds {
        query = match b {
            AuditBind::Text(t) => query.bind(t),
            AuditBind::Int(i) => query.bind(i),
        };
    }
    query
}

/// One page of the trail (see [`AuditPageQuery`]); reads only the rows it returns.
pub async fn page(tx: &mut Tx, q: &AuditPageQuery) -> Result<Vec<AuditEntry>> {
    let (filter, binds) = audit_page_where(q, true);
    let dir = if q.descending { "DESC" } else { "ASC" };
    let n = binds.len() + 1;
    let sql =
        format!("SELECT {ENTRY_COLUMNS} FROM audit_log{filter} ORDER BY seq {dir} LIMIT ${n}");
    let limit = if q.limit == 0 { 50 } else { q.limit };
    let rows = bind_all(sqlx::query(&sql), binds)
        .bind(i64::from(limit))
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(entry_from_row).collect()
}

/// How many entries match the filters of `q`, whatever its cursors.
pub async fn count(tx: &mut Tx, q: &AuditPageQuery) -> Result<u64> {
    let (filter, binds) = audit_page_where(q, false);
    let sql = format!("SELECT COUNT(*) AS n FROM audit_log{filter}");
    let row = bind_all(sqlx::query(&sql), binds)
        .fetch_one(tx.conn())
        .await?;
    let n: i64 = row.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The last sequence number and hash (0 and zeros for an empty trail).
pub async fn head(tx: &mut Tx) -> Result<(u64, String)> {
    let row = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(tx.conn())
        .await?;
    let seq: i64 = row.try_get("seq")?;
    Ok((seq as u64, row.try_get("hash")?))
}

/// What is wrong with the first bad entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// An entry's fields do not match its hash (edited).
    HashMismatch,
    /// An entry does not link to the one before it (inserted, deleted or reordered).
    BrokenLink,
    /// A sequence number is missing (deleted).
    Missing,
    /// An entry exists beyond the signed head (inserted at the end).
    BeyondHead,
    /// The signed head does not match the last entry, or its signature is invalid.
    BadHead,
    /// A checkpoint is missing, does not match its entry, or its signature is invalid.
    BadCheckpoint,
}

/// The first bad entry found by [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProblem {
    pub seq: u64,
    pub kind: ProblemKind,
    pub message: String,
}

impl std::fmt::Display for ChainProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.seq, self.message)
    }
}

/// Result of a whole-chain verification.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Checkpoints whose signature was checked.
    pub checkpoints: u64,
    /// Sequence number recorded in the signed head.
    pub head_seq: u64,
    /// The first bad entry, if any.
    pub problem: Option<ChainProblem>,
}

impl VerifyReport {
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }
}

struct Checkpoint {
    hash: String,
    at: i64,
    key_id: String,
    signature: String,
}

/// Verifies the whole chain in one consistent snapshot: every hash, every link, no gaps,
/// the signed head, and every checkpoint's signature against this server's key. Returns the
/// first bad entry. Errors only when the database cannot be read.
pub async fn verify(store: &Store) -> Result<VerifyReport> {
    let keys = store.server_keys().clone();
    let mut tx = store.begin_snapshot().await?;
    let head_row = sqlx::query("SELECT seq, hash, key_id, signature FROM audit_head WHERE id = 1")
        .fetch_one(tx.conn())
        .await?;
    let head_seq = head_row.try_get::<i64, _>("seq")?.max(0) as u64;
    let head_hash: String = head_row.try_get("hash")?;
    let head_sig: Option<String> = head_row.try_get("signature")?;

    let mut checkpoints = BTreeMap::new();
    let rows = sqlx::query("SELECT seq, hash, at, key_id, signature FROM audit_checkpoints")
        .fetch_all(tx.conn())
        .await?;
    for r in &rows {
        let seq: i64 = r.try_get("seq")?;
        checkpoints.insert(
            seq as u64,
            Checkpoint {
                hash: r.try_get("hash")?,
                at: r.try_get("at")?,
                key_id: r.try_get("key_id")?,
                signature: r.try_get("signature")?,
            },
        );
    }

    let mut report = VerifyReport {
        entries: 0,
        checkpoints: 0,
        head_seq,
        problem: None,
    };
    let problem =
        |seq: u64, kind: ProblemKind, message: String| ChainProblem { seq, kind, message };
    let mut prev_hash = ZERO_HASH.to_string();
    let mut last_seq = 0u64;
    {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq");
        let mut stream = sqlx::query(&sql).fetch(tx.conn());
        while let Some(row) = stream.try_next().await? {
            let entry = match entry_from_row(&row) {
                Ok(e) => e,
                Err(e) => {
                    let seq = row
                        .try_get::<i64, _>("seq")
                        .map(|s| s as u64)
                        .unwrap_or(last_seq + 1);
                    report.problem = Some(problem(
                        seq,
                        ProblemKind::HashMismatch,
                        format!("entry cannot be read ({e})"),
                    ));
                    break;
                }
            };
            report.entries += 1;
            let expected = last_seq + 1;
            if entry.seq != expected {
                report.problem = Some(if entry.seq > expected {
                    problem(
                        expected,
                        ProblemKind::Missing,
                        format!("entry is missing (next present entry is {})", entry.seq),
                    )
                } else {
                    problem(
                        entry.seq,
                        ProblemKind::BrokenLink,
                        "sequence number out of order".into(),
                    )
                });
                break;
            }
            if entry.prev_hash != prev_hash {
                report.problem = Some(problem(
                    entry.seq,
                    ProblemKind::BrokenLink,
                    "does not link to the previous entry (an entry was inserted, deleted or \
                     reordered here)"
                        .into(),
                ));
                break;
            }
            if entry_hash(&entry) != entry.hash {
                report.problem = Some(problem(
                    entry.seq,
                    ProblemKind::HashMismatch,
                    "content does not match its hash (the entry was edited)".into(),
                ));
                break;
            }
            if entry.seq.is_multiple_of(CHECKPOINT_INTERVAL) {
                let msg = match checkpoints.get(&entry.seq) {
                    None => Some("its signed checkpoint is missing".to_string()),
                    Some(cp) if cp.hash != entry.hash => {
                        Some("does not match its signed checkpoint".to_string())
                    }
                    Some(cp) if cp.key_id != keys.key_id() => Some(format!(
                        "checkpoint signed by key {}, not by this server's key {}: wrong data \
                         directory, or the key was replaced",
                        cp.key_id,
                        keys.key_id()
                    )),
                    Some(cp) => {
                        let sig = hex::decode(&cp.signature).unwrap_or_default();
                        if keys.verify(&checkpoint_message(entry.seq, &cp.hash, cp.at), &sig) {
                            report.checkpoints += 1;
                            None
                        } else {
                            Some("checkpoint signature is invalid".to_string())
                        }
                    }
                };
                if let Some(m) = msg {
                    report.problem = Some(problem(entry.seq, ProblemKind::BadCheckpoint, m));
                    break;
                }
            }
            prev_hash = entry.hash;
            last_seq = entry.seq;
        }
    }
    if report.problem.is_none() {
        report.problem = if last_seq < head_seq {
            Some(problem(
                last_seq + 1,
                ProblemKind::Missing,
                format!("entry is missing (the signed head records {head_seq} entries)"),
            ))
        } else if last_seq > head_seq {
            Some(problem(
                head_seq + 1,
                ProblemKind::BeyondHead,
                "entry lies beyond the signed head (inserted at the end)".into(),
            ))
        } else if head_hash != prev_hash {
            Some(problem(
                head_seq,
                ProblemKind::BadHead,
                "does not match the signed head".into(),
            ))
        } else if head_seq > 0
            && !keys.verify(
                &head_message(head_seq, &head_hash),
                &hex::decode(head_sig.unwrap_or_default()).unwrap_or_default(),
            )
        {
            Some(problem(
                head_seq,
                ProblemKind::BadHead,
                "the head signature is invalid (the last entries were rewritten)".into(),
            ))
        } else if let Some((&seq, _)) = checkpoints.range(last_seq + 1..).next() {
            Some(problem(
                last_seq + 1,
                ProblemKind::Missing,
                format!("entry is missing (a signed checkpoint exists for entry {seq})"),
            ))
        } else {
            None
        };
    }
    tx.rollback().await?;
    Ok(report)
}

/// The scope of a focused audit (SEC-05) as the trail can answer it: entries of one actor,
/// one action and one record, within a time range. Every field narrows the search.
#[derive(Debug, Clone, Default)]
pub struct FocusedScope {
    /// `user:<username>` of the person whose activity is audited.
    pub actor: Option<String>,
    pub action: Option<String>,
    /// The record the entries are about (type and id together).
    pub record: Option<(String, String)>,
    /// Inclusive.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive.
    pub to: Option<DateTime<Utc>>,
    /// Only entries up to this sequence number (the head a verification covered).
    pub through_seq: Option<u64>,
    /// At most this many entries (0 = 1000), oldest first.
    pub limit: u32,
}

/// Runs a focused audit, oldest first. Uses the indexes on (actor, at), (record_type,
/// record_id, seq) and (at); bounded by `limit`.
pub async fn focused(tx: &mut Tx, scope: &FocusedScope) -> Result<Vec<AuditEntry>> {
    let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE 1 = 1");
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if scope.actor.is_some() {
        sql += &format!(" AND actor = ${}", next());
    }
    if scope.action.is_some() {
        sql += &format!(" AND action = ${}", next());
    }
    if scope.record.is_some() {
        sql += &format!(" AND record_type = ${} AND record_id = ${}", next(), next());
    }
    if scope.from.is_some() {
        sql += &format!(" AND at >= ${}", next());
    }
    if scope.to.is_some() {
        sql += &format!(" AND at < ${}", next());
    }
    if scope.through_seq.is_some() {
        sql += &format!(" AND seq <= ${}", next());
    }
    sql += &format!(" ORDER BY seq LIMIT ${}", next());
    let mut query = sqlx::query(&sql);
    if let Some(a) = &scope.actor {
        query = query.bind(a.clone());
    }
    if let Some(a) = &scope.action {
        query = query.bind(a.clone());
    }
    if let Some((t, id)) = &scope.record {
        query = query.bind(t.clone()).bind(id.clone());
    }
    if let Some(f) = scope.from {
        query = query.bind(to_ms(f));
    }
    if let Some(t) = scope.to {
        query = query.bind(to_ms(t));
    }
    if let Some(s) = scope.through_seq {
        query = query.bind(s as i64);
    }
    let limit = if scope.limit == 0 { 1000 } else { scope.limit };
    query = query.bind(i64::from(limit));
    let rows = query.fetch_all(tx.conn()).await?;
    rows.iter().map(entry_from_row).collect()
}
