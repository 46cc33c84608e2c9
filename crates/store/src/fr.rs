//! Facial recognition requests for analysis (FR-04..FR-20): the request (its state and the domain
//! record as JSON, with a version for optimistic concurrency so a replayed step cannot apply twice),
//! probe stills kept apart from the repository (FR-03), the candidate pool with scores and ranks
//! (FR-08), reports (FR-13, FR-14), outside-agency requests (FR-20) and case entries for the
//! lead-only rule (FR-15). State and content are validated by the domain crate.

use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, parse_uuid, PageQuery, Tx};
use crate::error::{Result, StoreError};

/// A stored request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: Uuid,
    pub case_id: Uuid,
    pub case_number: String,
    pub requester: Uuid,
    pub state: String,
    pub authorized_use: Option<String>,
    pub external_id: Option<Uuid>,
    /// The domain's request record (JSON).
    pub data: String,
    /// The FR-07 edit list of the selected probe (JSON).
    pub edits: String,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

const COLUMNS: &str =
    "id, case_id, case_number, requester, state, authorized_use, external_id, data, \
                       edits, version, created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Request> {
    let id: String = r.try_get("id")?;
    let case_id: String = r.try_get("case_id")?;
    let requester: String = r.try_get("requester")?;
    let external: Option<String> = r.try_get("external_id")?;
    Ok(Request {
        id: parse_uuid(&id)?,
        case_id: parse_uuid(&case_id)?,
        case_number: r.try_get("case_number")?,
        requester: parse_uuid(&requester)?,
        state: r.try_get("state")?,
        authorized_use: r.try_get("authorized_use")?,
        external_id: external.as_deref().map(parse_uuid).transpose()?,
        data: r.try_get("data")?,
        edits: r.try_get("edits")?,
        version: r.try_get("version")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
    })
}

/// Writes a new request (version 1).
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    tx: &mut Tx,
    id: Uuid,
    case_id: Uuid,
    case_number: &str,
    requester: Uuid,
    state: &str,
    authorized_use: Option<&str>,
    external_id: Option<Uuid>,
    data: &str,
) -> Result<Request> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO fr_requests (id, case_id, case_number, requester, state, authorized_use, \
         external_id, data, edits, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11)",
    )
    .bind(id.to_string())
    .bind(case_id.to_string())
    .bind(case_number)
    .bind(requester.to_string())
    .bind(state)
    .bind(authorized_use)
    .bind(external_id.map(|u| u.to_string()))
    .bind(data)
    .bind(r#"{"edits":[]}"#)
    .bind(now)
    .bind(now)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("FR request", &id.to_string(), e))?;
    get(tx, id).await?.ok_or(StoreError::NotFound {
        what: "FR request",
        id: id.to_string(),
    })
}

/// Replaces the request's state and record if it is still at `version` (a concurrent or replayed
/// step finds a newer version and gets [`StoreError::Conflict`]).
pub async fn update(
    tx: &mut Tx,
    id: Uuid,
    version: i64,
    state: &str,
    authorized_use: Option<&str>,
    data: &str,
    edits: &str,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE fr_requests SET state = $1, authorized_use = $2, data = $3, edits = $4, \
         version = version + 1, updated_at = $5 WHERE id = $6 AND version = $7",
    )
    .bind(state)
    .bind(authorized_use)
    .bind(data)
    .bind(edits)
    .bind(now_ms())
    .bind(id.to_string())
    .bind(version)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "FR request {id} changed since it was read; reload it and try again"
        )));
    }
    Ok(())
}

/// Every FR request on a case, oldest first.
pub async fn requests_of_case(tx: &mut Tx, case_id: Uuid) -> Result<Vec<Request>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_requests WHERE case_id = $1 ORDER BY created_at, id"
    ))
    .bind(case_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Request>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM fr_requests WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Requests whose id begins with `prefix` (any case), newest first, at most `limit` from
/// `offset` on.
pub async fn search_id(tx: &mut Tx, prefix: &str, limit: u32, offset: u64) -> Result<Vec<Request>> {
    let mut pattern = crate::cases::contains_pattern(prefix);
    pattern.remove(0);
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_requests WHERE LOWER(id) LIKE $1 ESCAPE '\\' \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
    ))
    .bind(pattern)
    .bind(i64::from(limit))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The columns a list of requests may be sorted by (with descending beside it); each maps to a
/// fixed column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestSort {
    #[default]
    Submitted,
    Updated,
    State,
    Case,
}

impl RequestSort {
    fn column(self) -> &'static str {
        match self {
            RequestSort::Submitted => "created_at",
            RequestSort::Updated => "updated_at",
            RequestSort::State => "state",
            RequestSort::Case => "case_number",
        }
    }
}

/// A batch of requests in a list's order: `q` matches part of the case number or the start of
/// the id (any case), `state` exactly.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub q: Option<String>,
    pub state: Option<String>,
    pub sort: RequestSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One batch of requests (see [`RequestFilter`]).
pub async fn list_page(tx: &mut Tx, f: &RequestFilter) -> Result<Vec<Request>> {
    let mut filter = String::from(" WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        let contains = crate::cases::contains_pattern(q);
        let starts = contains[1..].to_string();
        binds.push(contains);
        binds.push(starts);
        filter += &format!(
            " AND (LOWER(case_number) LIKE ${} ESCAPE '\\' OR LOWER(id) LIKE ${} ESCAPE '\\')",
            binds.len() - 1,
            binds.len()
        );
    }
    if let Some(st) = &f.state {
        binds.push(st.clone());
        filter += &format!(" AND state = ${}", binds.len());
    }
    PageQuery {
        columns: COLUMNS,
        table: "fr_requests",
        filter: &filter,
        binds,
        order: f.sort.column(),
        tiebreak: "id",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .rows(tx, from_row)
    .await
}

/// Requests, newest first; `states` empty = all. At most 500.
pub async fn list(tx: &mut Tx, states: &[&str]) -> Result<Vec<Request>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM fr_requests ORDER BY created_at DESC LIMIT 500"
    ))
    .fetch_all(tx.conn())
    .await?;
    let all: Vec<Request> = rows.iter().map(from_row).collect::<Result<_>>()?;
    Ok(all
        .into_iter()
        .filter(|r| states.is_empty() || states.contains(&r.state.as_str()))
        .collect())
}

/// A probe still of a request (never a repository record, FR-03).
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub id: Uuid,
    pub request_id: Uuid,
    pub position: i64,
    pub blob_id: Uuid,
    pub sha256: String,
    pub media_type: String,
    pub source: String,
    pub created_by: String,
}

fn probe_from_row(r: &sqlx::any::AnyRow) -> Result<Probe> {
    let id: String = r.try_get("id")?;
    let req: String = r.try_get("request_id")?;
    let blob: String = r.try_get("blob_id")?;
    Ok(Probe {
        id: parse_uuid(&id)?,
        request_id: parse_uuid(&req)?,
        position: r.try_get("position")?,
        blob_id: parse_uuid(&blob)?,
        sha256: r.try_get("sha256")?,
        media_type: r.try_get("media_type")?,
        source: r.try_get("source")?,
        created_by: r.try_get("created_by")?,
    })
}

const PROBE_COLUMNS: &str =
    "id, request_id, position, blob_id, sha256, media_type, source, created_by";

/// Stores a probe still: the bytes go to the encrypted blob store, marked as a probe here. A
/// still equal to a repository photo is stored as a probe all the same (it is the requester's
/// evidence), but nothing here ever writes `fr_records`.
#[allow(clippy::too_many_arguments)]
pub async fn add_probe(
    tx: &mut Tx,
    blobs: &crate::BlobStore,
    request_id: Uuid,
    position: i64,
    bytes: &[u8],
    media_type: &str,
    source: &str,
    created_by: &str,
) -> Result<Probe> {
    let meta = blobs.put(tx, None, bytes, media_type, created_by).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO fr_probes (id, request_id, position, blob_id, sha256, media_type, source, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(request_id.to_string())
    .bind(position)
    .bind(meta.id.to_string())
    .bind(&meta.sha256)
    .bind(media_type)
    .bind(source)
    .bind(created_by)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("probe", &id.to_string(), e))?;
    Ok(Probe {
        id,
        request_id,
        position,
        blob_id: meta.id,
        sha256: meta.sha256,
        media_type: media_type.to_string(),
        source: source.to_string(),
        created_by: created_by.to_string(),
    })
}

pub async fn probes(tx: &mut Tx, request_id: Uuid) -> Result<Vec<Probe>> {
    let rows = sqlx::query(&format!(
        "SELECT {PROBE_COLUMNS} FROM fr_probes WHERE request_id = $1 ORDER BY position"
    ))
    .bind(request_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(probe_from_row).collect()
}

/// The probe whose content has this SHA-256, if any (FR-03 checks).
pub async fn probe_with_sha256(tx: &mut Tx, sha256: &str) -> Result<Option<Probe>> {
    let row = sqlx::query(&format!(
        "SELECT {PROBE_COLUMNS} FROM fr_probes WHERE sha256 = $1 LIMIT 1"
    ))
    .bind(sha256.to_ascii_lowercase())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(probe_from_row).transpose()
}

/// True when the blob is a probe still (FR-03).
pub async fn is_probe_blob(tx: &mut Tx, blob_id: Uuid) -> Result<bool> {
    let row = sqlx::query("SELECT id FROM fr_probes WHERE blob_id = $1")
        .bind(blob_id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    Ok(row.is_some())
}

/// One candidate of a pool (FR-08).
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub rank: i64,
    pub record_no: i64,
    pub score: f64,
    pub algorithm: String,
}

/// Stores the candidate pool of a search (replacing none: a request is searched once).
pub async fn put_candidates(
    tx: &mut Tx,
    request_id: Uuid,
    algorithm: &str,
    pool: &[(i64, i64, f64)],
) -> Result<()> {
    let now = now_ms();
    for (rank, record_no, score) in pool {
        sqlx::query(
            "INSERT INTO fr_candidates (request_id, rank, record_no, score, algorithm, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(request_id.to_string())
        .bind(*rank)
        .bind(*record_no)
        .bind(*score)
        .bind(algorithm)
        .bind(now)
        .execute(tx.conn())
        .await
        .map_err(|e| StoreError::from_sqlx("candidate", &format!("{request_id}#{rank}"), e))?;
    }
    Ok(())
}

pub async fn candidates(tx: &mut Tx, request_id: Uuid) -> Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT rank, record_no, score, algorithm FROM fr_candidates WHERE request_id = $1 ORDER BY rank",
    )
    .bind(request_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                rank: r.try_get("rank")?,
                record_no: r.try_get("record_no")?,
                score: r.try_get("score")?,
                algorithm: r.try_get("algorithm")?,
            })
        })
        .collect()
}

/// A possible match or negative report attached to a case (FR-13, FR-14).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub request_id: Uuid,
    pub case_id: Uuid,
    pub kind: String,
    pub body: String,
    pub pdf_blob: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn put_report(
    tx: &mut Tx,
    request_id: Uuid,
    case_id: Uuid,
    kind: &str,
    body: &str,
    pdf_blob: Option<Uuid>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO fr_reports (request_id, case_id, kind, body, pdf_blob, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(request_id.to_string())
    .bind(case_id.to_string())
    .bind(kind)
    .bind(body)
    .bind(pdf_blob.map(|u| u.to_string()))
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("FR report", &request_id.to_string(), e))?;
    Ok(())
}

pub async fn report(tx: &mut Tx, request_id: Uuid) -> Result<Option<Report>> {
    let row = sqlx::query(
        "SELECT request_id, case_id, kind, body, pdf_blob, created_at FROM fr_reports WHERE request_id = $1",
    )
    .bind(request_id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        let req: String = r.try_get("request_id")?;
        let case: String = r.try_get("case_id")?;
        let pdf: Option<String> = r.try_get("pdf_blob")?;
        Ok(Report {
            request_id: parse_uuid(&req)?,
            case_id: parse_uuid(&case)?,
            kind: r.try_get("kind")?,
            body: r.try_get("body")?,
            pdf_blob: pdf.as_deref().map(parse_uuid).transpose()?,
            created_at: from_ms(r.try_get("created_at")?)?,
        })
    })
    .transpose()
}

/// An outside agency's request (FR-20).
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRequest {
    pub id: Uuid,
    pub agency: String,
    pub contact: String,
    pub investigation_reference: String,
    pub documented_by: String,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// What the agency wants it for (FR-20, EXT-02); none on requests documented before.
    pub purpose: Option<String>,
}

pub async fn insert_external(tx: &mut Tx, e: &ExternalRequest) -> Result<()> {
    sqlx::query(
        "INSERT INTO fr_external_requests (id, agency, contact, investigation_reference, \
         documented_by, received_at, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.id.to_string())
    .bind(&e.agency)
    .bind(&e.contact)
    .bind(&e.investigation_reference)
    .bind(&e.documented_by)
    .bind(e.received_at.timestamp_millis())
    .bind(e.purpose.clone())
    .execute(tx.conn())
    .await
    .map_err(|err| StoreError::from_sqlx("external request", &e.id.to_string(), err))?;
    Ok(())
}

/// One documented outside agency request (FR-20).
pub async fn external_request(tx: &mut Tx, id: Uuid) -> Result<Option<ExternalRequest>> {
    let row = sqlx::query(
        "SELECT id, agency, contact, investigation_reference, documented_by, received_at, purpose \
         FROM fr_external_requests WHERE id = $1",
    )
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(external_from_row).transpose()
}

fn external_from_row(r: &sqlx::any::AnyRow) -> Result<ExternalRequest> {
    let id: String = r.try_get("id")?;
    Ok(ExternalRequest {
        id: parse_uuid(&id)?,
        agency: r.try_get("agency")?,
        contact: r.try_get("contact")?,
        investigation_reference: r.try_get("investigation_reference")?,
        documented_by: r.try_get("documented_by")?,
        received_at: from_ms(r.try_get("received_at")?)?,
        purpose: r.try_get("purpose")?,
    })
}

pub async fn external_requests(tx: &mut Tx) -> Result<Vec<ExternalRequest>> {
    let rows = sqlx::query(
        "SELECT id, agency, contact, investigation_reference, documented_by, received_at, purpose \
         FROM fr_external_requests ORDER BY received_at DESC LIMIT 500",
    )
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(external_from_row).collect()
}

/// An entry in a case for FR-15: corroborating evidence, or an arrest basis citing an FR match.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEntry {
    pub id: Uuid,
    pub case_id: Uuid,
    pub request_id: Option<Uuid>,
    /// `corroborating_evidence` or `arrest_basis`.
    pub kind: String,
    pub text: String,
    pub recorded_by: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

pub async fn insert_case_entry(tx: &mut Tx, e: &CaseEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO fr_case_entries (id, case_id, request_id, kind, text, recorded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.id.to_string())
    .bind(e.case_id.to_string())
    .bind(e.request_id.map(|u| u.to_string()))
    .bind(&e.kind)
    .bind(&e.text)
    .bind(e.recorded_by.to_string())
    .bind(e.created_at.timestamp_millis())
    .execute(tx.conn())
    .await
    .map_err(|err| StoreError::from_sqlx("case entry", &e.id.to_string(), err))?;
    Ok(())
}

pub async fn case_entries(tx: &mut Tx, case_id: Uuid) -> Result<Vec<CaseEntry>> {
    let rows = sqlx::query(
        "SELECT id, case_id, request_id, kind, text, recorded_by, created_at FROM fr_case_entries \
         WHERE case_id = $1 ORDER BY created_at",
    )
    .bind(case_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let case: String = r.try_get("case_id")?;
            let req: Option<String> = r.try_get("request_id")?;
            let by: String = r.try_get("recorded_by")?;
            Ok(CaseEntry {
                id: parse_uuid(&id)?,
                case_id: parse_uuid(&case)?,
                request_id: req.as_deref().map(parse_uuid).transpose()?,
                kind: r.try_get("kind")?,
                text: r.try_get("text")?,
                recorded_by: parse_uuid(&by)?,
                created_at: from_ms(r.try_get("created_at")?)?,
            })
        })
        .collect()
}
