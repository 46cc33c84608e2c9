//! Records lifecycle storage (RET-01..RET-11): the retention facts of a case, personal
//! information files (RET-09), dispositions and their certificates, and the destruction of a
//! case's content. Which record is due, who may propose or approve, and what a certificate must
//! say are the domain crate's; this module stores and finds, and destroys inside the caller's
//! transaction so a disposition and its audit entry commit together or not at all.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

/// The retention facts recorded on a case (dates `YYYY-MM-DD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFacts {
    pub person_located_on: Option<String>,
    pub firearm_recovered_on: Option<String>,
    pub child_date_of_birth: Option<String>,
    pub juvenile_date_of_birth: Option<String>,
    pub final_disposition: Option<String>,
}

pub async fn facts(tx: &mut Tx, case_id: Uuid) -> Result<Option<CaseFacts>> {
    let row = sqlx::query(
        "SELECT person_located_on, firearm_recovered_on, child_date_of_birth, \
         juvenile_date_of_birth, final_disposition FROM case_retention_facts WHERE case_id = $1",
    )
    .bind(case_id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.map(|r| {
        Ok(CaseFacts {
            person_located_on: r.try_get("person_located_on")?,
            firearm_recovered_on: r.try_get("firearm_recovered_on")?,
            child_date_of_birth: r.try_get("child_date_of_birth")?,
            juvenile_date_of_birth: r.try_get("juvenile_date_of_birth")?,
            final_disposition: r.try_get("final_disposition")?,
        })
    })
    .transpose()
}

/// Replaces the facts of a case (the caller merged the change and audits it).
pub async fn put_facts(
    tx: &mut Tx,
    case_id: Uuid,
    f: &CaseFacts,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("DELETE FROM case_retention_facts WHERE case_id = $1")
        .bind(case_id.to_string())
        .execute(tx.conn())
        .await?;
    sqlx::query(
        "INSERT INTO case_retention_facts (case_id, person_located_on, firearm_recovered_on, \
         child_date_of_birth, juvenile_date_of_birth, final_disposition, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(case_id.to_string())
    .bind(&f.person_located_on)
    .bind(&f.firearm_recovered_on)
    .bind(&f.child_date_of_birth)
    .bind(&f.juvenile_date_of_birth)
    .bind(&f.final_disposition)
    .bind(by.to_string())
    .bind(to_ms(at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// A closed, not yet disposed case with what the schedule needs.
#[derive(Debug, Clone)]
pub struct ClosedCase {
    pub id: Uuid,
    pub case_number: String,
    pub offence_classification: String,
    pub command: String,
    pub closure_reason: Option<String>,
    pub closed_at: DateTime<Utc>,
    pub opened_at: DateTime<Utc>,
    pub facts: CaseFacts,
}

fn closed_case(r: &sqlx::any::AnyRow) -> Result<ClosedCase> {
    let id: String = r.try_get("id")?;
    Ok(ClosedCase {
        id: parse_uuid(&id)?,
        case_number: r.try_get("case_number")?,
        offence_classification: r.try_get("offence_classification")?,
        command: r.try_get("command")?,
        closure_reason: r.try_get("closure_reason")?,
        closed_at: from_ms(r.try_get("closed_at")?)?,
        opened_at: from_ms(r.try_get("created_at")?)?,
        facts: CaseFacts {
            person_located_on: r.try_get("person_located_on")?,
            firearm_recovered_on: r.try_get("firearm_recovered_on")?,
            child_date_of_birth: r.try_get("child_date_of_birth")?,
            juvenile_date_of_birth: r.try_get("juvenile_date_of_birth")?,
            final_disposition: r.try_get("final_disposition")?,
        },
    })
}

const CLOSED_CASE_SQL: &str = "SELECT c.id, c.case_number, c.offence_classification, c.command, \
     c.closure_reason, c.closed_at, c.created_at, f.person_located_on, f.firearm_recovered_on, \
     f.child_date_of_birth, f.juvenile_date_of_birth, f.final_disposition \
     FROM cases c LEFT JOIN case_retention_facts f ON f.case_id = c.id \
     WHERE c.closed_at IS NOT NULL AND c.disposed_at IS NULL";

/// Every closed case not yet disposed, with its facts, oldest closure first.
pub async fn closed_cases(tx: &mut Tx) -> Result<Vec<ClosedCase>> {
    let rows = sqlx::query(&format!("{CLOSED_CASE_SQL} ORDER BY c.closed_at, c.id"))
        .fetch_all(tx.conn())
        .await?;
    rows.iter().map(closed_case).collect()
}

/// One closed, not yet disposed case.
pub async fn closed_case_by_id(tx: &mut Tx, id: Uuid) -> Result<Option<ClosedCase>> {
    let row = sqlx::query(&format!("{CLOSED_CASE_SQL} AND c.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(closed_case).transpose()
}

/// Whether a case was disposed, and when.
pub async fn case_disposed_at(tx: &mut Tx, id: Uuid) -> Result<Option<DateTime<Utc>>> {
    let row = sqlx::query("SELECT disposed_at FROM cases WHERE id = $1")
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    match row {
        Some(r) => opt_from_ms(r.try_get("disposed_at")?),
        None => Ok(None),
    }
}

/// A piece of content a case holds in the blob store.
#[derive(Debug, Clone)]
pub struct HeldBlob {
    pub what: String,
    pub blob_id: Uuid,
    pub sha256: String,
}

/// Every live blob of a case: evidence originals and thumbnails, FR probes and report PDFs,
/// robot frames moved into it.
pub async fn case_blobs(tx: &mut Tx, case_id: Uuid) -> Result<Vec<HeldBlob>> {
    let sql = "SELECT 'evidence item ' || e.original_filename AS what, b.id AS blob_id, b.sha256 \
               FROM evidence_items e JOIN blobs b ON b.id = e.blob_id \
               WHERE e.case_id = $1 AND b.wrapped_key IS NOT NULL \
             UNION ALL SELECT 'thumbnail of ' || e.original_filename, b.id, b.sha256 \
               FROM evidence_items e JOIN blobs b ON b.id = e.thumbnail_blob_id \
               WHERE e.case_id = $1 AND b.wrapped_key IS NOT NULL \
             UNION ALL SELECT 'FR probe ' || p.id, b.id, b.sha256 \
               FROM fr_probes p JOIN fr_requests r ON r.id = p.request_id JOIN blobs b ON b.id = p.blob_id \
               WHERE r.case_id = $1 AND b.wrapped_key IS NOT NULL \
             UNION ALL SELECT 'FR report of request ' || f.request_id, b.id, b.sha256 \
               FROM fr_reports f JOIN blobs b ON b.id = f.pdf_blob \
               WHERE f.case_id = $1 AND b.wrapped_key IS NOT NULL \
             UNION ALL SELECT 'robot thermal frame ' || t.id, b.id, b.sha256 \
               FROM thermal_robot_frames t JOIN blobs b ON b.id = t.blob_id \
               WHERE t.case_id = $1 AND b.wrapped_key IS NOT NULL";
    let rows = sqlx::query(sql)
        .bind(case_id.to_string())
        .fetch_all(tx.conn())
        .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("blob_id")?;
            Ok(HeldBlob {
                what: r.try_get("what")?,
                blob_id: parse_uuid(&id)?,
                sha256: r.try_get("sha256")?,
            })
        })
        .collect()
}

/// Tombstones a case after its blobs were destroyed: the row stays (number, dates) so the
/// audit trail and certificates keep their reference; rows that carry personal data are
/// emptied or deleted: evidence metadata (EXIF, positions, serials), the candidate pools of its
/// FR requests, its case entries and the files on associated persons.
pub async fn tombstone_case(
    tx: &mut Tx,
    case_id: Uuid,
    disposition_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let id = case_id.to_string();
    let r = sqlx::query(
        "UPDATE cases SET disposed_at = $1, disposition_id = $2, updated_at = $1 \
         WHERE id = $3 AND disposed_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(disposition_id.to_string())
    .bind(&id)
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "case {case_id} is missing or already disposed"
        )));
    }
    for sql in [
        "UPDATE evidence_items SET metadata = '{}', device_serial = NULL WHERE case_id = $1",
        "DELETE FROM fr_candidates WHERE request_id IN (SELECT id FROM fr_requests WHERE case_id = $1)",
        "UPDATE fr_case_entries SET text = '(disposed)' WHERE case_id = $1",
    ] {
        sqlx::query(sql).bind(&id).execute(tx.conn()).await?;
    }
    sqlx::query(
        "UPDATE thermal_robot_frames SET disposed_at = $1 WHERE case_id = $2 AND disposed_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(&id)
    .execute(tx.conn())
    .await?;
    sqlx::query(
        "UPDATE personal_files SET name = NULL, date_of_birth = NULL, date_of_death = NULL, \
         last_arrest_on = NULL, notes = NULL, disposed_at = $1, disposition_id = $2 \
         WHERE case_id = $3 AND subject_kind = 'associated_person' AND disposed_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(disposition_id.to_string())
    .bind(&id)
    .execute(tx.conn())
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ personal files

#[derive(Debug, Clone, PartialEq)]
pub struct PersonalFile {
    pub id: Uuid,
    pub subject_kind: String,
    pub name: Option<String>,
    pub date_of_birth: Option<String>,
    pub date_of_death: Option<String>,
    pub last_arrest_on: Option<String>,
    pub case_id: Option<Uuid>,
    pub notes: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub disposed_at: Option<DateTime<Utc>>,
    pub disposition_id: Option<Uuid>,
}

const PF_COLUMNS: &str = "id, subject_kind, name, date_of_birth, date_of_death, last_arrest_on, \
     case_id, notes, created_by, created_at, disposed_at, disposition_id";

fn personal_file(r: &sqlx::any::AnyRow) -> Result<PersonalFile> {
    let id: String = r.try_get("id")?;
    let case_id: Option<String> = r.try_get("case_id")?;
    let by: String = r.try_get("created_by")?;
    let disp: Option<String> = r.try_get("disposition_id")?;
    Ok(PersonalFile {
        id: parse_uuid(&id)?,
        subject_kind: r.try_get("subject_kind")?,
        name: r.try_get("name")?,
        date_of_birth: r.try_get("date_of_birth")?,
        date_of_death: r.try_get("date_of_death")?,
        last_arrest_on: r.try_get("last_arrest_on")?,
        case_id: case_id.as_deref().map(parse_uuid).transpose()?,
        notes: r.try_get("notes")?,
        created_by: parse_uuid(&by)?,
        created_at: from_ms(r.try_get("created_at")?)?,
        disposed_at: opt_from_ms(r.try_get("disposed_at")?)?,
        disposition_id: disp.as_deref().map(parse_uuid).transpose()?,
    })
}

pub async fn insert_personal_file(tx: &mut Tx, f: &PersonalFile) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO personal_files ({PF_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL)"
    ))
    .bind(f.id.to_string())
    .bind(&f.subject_kind)
    .bind(&f.name)
    .bind(&f.date_of_birth)
    .bind(&f.date_of_death)
    .bind(&f.last_arrest_on)
    .bind(f.case_id.map(|c| c.to_string()))
    .bind(&f.notes)
    .bind(f.created_by.to_string())
    .bind(to_ms(f.created_at))
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn personal_file_by_id(tx: &mut Tx, id: Uuid) -> Result<Option<PersonalFile>> {
    let row = sqlx::query(&format!(
        "SELECT {PF_COLUMNS} FROM personal_files WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(personal_file).transpose()
}

/// Personal files, newest first (`live_only`: not disposed).
pub async fn personal_files(tx: &mut Tx, live_only: bool, limit: u32) -> Result<Vec<PersonalFile>> {
    let filter = if live_only {
        "WHERE disposed_at IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {PF_COLUMNS} FROM personal_files {filter} ORDER BY created_at DESC, id LIMIT $1"
    ))
    .bind(i64::from(limit.clamp(1, 100_000)))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(personal_file).collect()
}

/// Empties a personal file on a criminal or suspect after disposition (the row stays).
pub async fn tombstone_personal_file(
    tx: &mut Tx,
    id: Uuid,
    disposition_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE personal_files SET name = NULL, date_of_birth = NULL, date_of_death = NULL, \
         last_arrest_on = NULL, notes = NULL, disposed_at = $1, disposition_id = $2 \
         WHERE id = $3 AND disposed_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(disposition_id.to_string())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "personal file {id} is missing or already disposed"
        )));
    }
    Ok(())
}

// ------------------------------------------------------------------ dispositions

#[derive(Debug, Clone, PartialEq)]
pub struct Disposition {
    pub id: Uuid,
    pub record_kind: String,
    pub record_id: String,
    pub what: String,
    pub rule: String,
    pub due_on: String,
    /// `proposed`, `rejected` or `executed`.
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub proposal_reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_reason: Option<String>,
    /// The signed certificate (JSON text) once executed.
    pub certificate: Option<String>,
    pub key_id: Option<String>,
    pub signature: Option<String>,
}

const D_COLUMNS: &str = "id, record_kind, record_id, what, rule, due_on, status, proposed_by, \
     proposed_at, proposal_reason, decided_by, decided_at, decision_reason, certificate, key_id, signature";

fn disposition(r: &sqlx::any::AnyRow) -> Result<Disposition> {
    let id: String = r.try_get("id")?;
    Ok(Disposition {
        id: parse_uuid(&id)?,
        record_kind: r.try_get("record_kind")?,
        record_id: r.try_get("record_id")?,
        what: r.try_get("what")?,
        rule: r.try_get("rule")?,
        due_on: r.try_get("due_on")?,
        status: r.try_get("status")?,
        proposed_by: r.try_get("proposed_by")?,
        proposed_at: from_ms(r.try_get("proposed_at")?)?,
        proposal_reason: r.try_get("proposal_reason")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: opt_from_ms(r.try_get("decided_at")?)?,
        decision_reason: r.try_get("decision_reason")?,
        certificate: r.try_get("certificate")?,
        key_id: r.try_get("key_id")?,
        signature: r.try_get("signature")?,
    })
}

/// Records a proposal; a second open proposal for the same record is a conflict.
pub async fn propose(tx: &mut Tx, d: &Disposition) -> Result<()> {
    let open = sqlx::query(
        "SELECT id FROM dispositions WHERE record_kind = $1 AND record_id = $2 AND status = 'proposed'",
    )
    .bind(&d.record_kind)
    .bind(&d.record_id)
    .fetch_optional(tx.conn())
    .await?;
    if let Some(r) = open {
        let other: String = r.try_get("id")?;
        return Err(StoreError::Conflict(format!(
            "{} {} already has an open proposal ({other})",
            d.record_kind, d.record_id
        )));
    }
    sqlx::query(&format!(
        "INSERT INTO dispositions ({D_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, 'proposed', $7, $8, $9, NULL, NULL, NULL, NULL, NULL, NULL)"
    ))
    .bind(d.id.to_string())
    .bind(&d.record_kind)
    .bind(&d.record_id)
    .bind(&d.what)
    .bind(&d.rule)
    .bind(&d.due_on)
    .bind(&d.proposed_by)
    .bind(to_ms(d.proposed_at))
    .bind(&d.proposal_reason)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Disposition>> {
    let row = sqlx::query(&format!(
        "SELECT {D_COLUMNS} FROM dispositions WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(disposition).transpose()
}

/// Dispositions, newest first, optionally of one status.
pub async fn list(tx: &mut Tx, status: Option<&str>, limit: u32) -> Result<Vec<Disposition>> {
    let limit = i64::from(limit.clamp(1, 10_000));
    let rows = match status {
        Some(s) => {
            sqlx::query(&format!(
                "SELECT {D_COLUMNS} FROM dispositions WHERE status = $1 \
                 ORDER BY proposed_at DESC, id LIMIT $2"
            ))
            .bind(s)
            .bind(limit)
            .fetch_all(tx.conn())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {D_COLUMNS} FROM dispositions ORDER BY proposed_at DESC, id LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(tx.conn())
            .await?
        }
    };
    rows.iter().map(disposition).collect()
}

/// Open proposals by record (`kind`, `id`), for the due queue.
pub async fn open_proposals(tx: &mut Tx) -> Result<Vec<Disposition>> {
    list(tx, Some("proposed"), 10_000).await
}

/// Closes an open proposal as rejected or executed. Only a `proposed` row changes, so two
/// approvers racing cannot both execute.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    by: &str,
    at: DateTime<Utc>,
    reason: Option<&str>,
    certificate: Option<&str>,
    key_id: Option<&str>,
    signature: Option<&str>,
) -> Result<()> {
    let r = sqlx::query(
        "UPDATE dispositions SET status = $1, decided_by = $2, decided_at = $3, \
         decision_reason = $4, certificate = $5, key_id = $6, signature = $7 \
         WHERE id = $8 AND status = 'proposed'",
    )
    .bind(status)
    .bind(by)
    .bind(to_ms(at))
    .bind(reason)
    .bind(certificate)
    .bind(key_id)
    .bind(signature)
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!(
            "disposition {id} is not an open proposal"
        )));
    }
    Ok(())
}
