//! Cases: case or complaint number, offence classification, status, assigned investigator,
//! closure reason. Status and closure reason are TEXT parsed by the domain crate, which
//! decides which transitions and closure reasons are allowed.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: Uuid,
    pub case_number: String,
    pub offence_classification: String,
    pub status: String,
    /// The command that owns the case (its supervisors read it).
    pub command: String,
    pub assigned_investigator: Option<Uuid>,
    pub political_activity: bool,
    pub closure_reason: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub case_number: String,
    pub offence_classification: String,
    pub status: String,
    pub command: String,
    pub assigned_investigator: Option<Uuid>,
    pub political_activity: bool,
    pub created_by: String,
}

/// Filter for [`list`]; empty = all cases.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub status: Option<String>,
    pub assigned_investigator: Option<Uuid>,
    /// Only cases whose number contains this text (any case, `%` and `_` taken literally).
    pub number_contains: Option<String>,
    /// Only cases of this command.
    pub command: Option<String>,
    /// The order; `None` is newest first.
    pub sort: Option<(CaseSort, bool)>,
    /// At most this many (0 = 500).
    pub limit: u32,
    pub offset: u32,
}

/// The columns a case list may be sorted by (the `bool` beside it: descending). Each maps to a
/// fixed column name, so no text from a request ever reaches the SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSort {
    Number,
    Opened,
    Status,
    Command,
}

impl CaseSort {
    fn column(self) -> &'static str {
        match self {
            CaseSort::Number => "case_number",
            CaseSort::Opened => "created_at",
            CaseSort::Status => "status",
            CaseSort::Command => "command",
        }
    }
}

/// A `LIKE` pattern matching `text` anywhere, compared in lower case, with `\` as the escape
/// character (write `LOWER(column) LIKE $n ESCAPE '\'`): the same on SQLite and PostgreSQL.
pub fn contains_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

const COLUMNS: &str = "id, case_number, offence_classification, status, command, assigned_investigator, \
                       political_activity, closure_reason, closed_at, created_by, created_at, updated_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Case> {
    let id: String = r.try_get("id")?;
    let inv: Option<String> = r.try_get("assigned_investigator")?;
    let political: i64 = r.try_get("political_activity")?;
    Ok(Case {
        id: parse_uuid(&id)?,
        case_number: r.try_get("case_number")?,
        offence_classification: r.try_get("offence_classification")?,
        status: r.try_get("status")?,
        command: r.try_get("command")?,
        assigned_investigator: inv.as_deref().map(parse_uuid).transpose()?,
        political_activity: political != 0,
        closure_reason: r.try_get("closure_reason")?,
        closed_at: opt_from_ms(r.try_get("closed_at")?)?,
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        updated_at: from_ms(r.try_get("updated_at")?)?,
    })
}

/// Creates a case; a taken case number gives [`StoreError::AlreadyExists`].
pub async fn create(tx: &mut Tx, new: &NewCase) -> Result<Case> {
    if new.case_number.trim().is_empty() {
        return Err(StoreError::Invalid(
            "a case needs a case or complaint number".into(),
        ));
    }
    let id = Uuid::now_v7();
    let now = now_ms();
    sqlx::query(
        "INSERT INTO cases (id, case_number, offence_classification, status, assigned_investigator, \
         political_activity, created_by, created_at, updated_at, command) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.to_string())
    .bind(&new.case_number)
    .bind(&new.offence_classification)
    .bind(&new.status)
    .bind(new.assigned_investigator.map(|u| u.to_string()))
    .bind(i64::from(new.political_activity))
    .bind(&new.created_by)
    .bind(now)
    .bind(now)
    .bind(&new.command)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("case", &new.case_number, e))?;
    require(get(tx, id).await?, id)
}

fn require(c: Option<Case>, id: Uuid) -> Result<Case> {
    c.ok_or_else(|| StoreError::NotFound {
        what: "case",
        id: id.to_string(),
    })
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Case>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM cases WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_number(tx: &mut Tx, case_number: &str) -> Result<Option<Case>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM cases WHERE case_number = $1"
    ))
    .bind(case_number)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Cases matching the filter, newest first.
pub async fn list(tx: &mut Tx, f: &CaseFilter) -> Result<Vec<Case>> {
    let mut sql = format!("SELECT {COLUMNS} FROM cases WHERE 1 = 1");
    let mut n = 0;
    if f.status.is_some() {
        n += 1;
        sql += &format!(" AND status = ${n}");
    }
    if f.assigned_investigator.is_some() {
        n += 1;
        sql += &format!(" AND assigned_investigator = ${n}");
    }
    if f.number_contains.is_some() {
        n += 1;
        sql += &format!(" AND LOWER(case_number) LIKE ${n} ESCAPE '\\'");
    }
    if f.command.is_some() {
        n += 1;
        sql += &format!(" AND command = ${n}");
    }
    match f.sort {
        None => sql += " ORDER BY created_at DESC, id DESC",
        Some((by, descending)) => {
            let dir = if descending { "DESC" } else { "ASC" };
            sql += &format!(" ORDER BY {} {dir}, id {dir}", by.column());
        }
    }
    sql += &format!(" LIMIT ${} OFFSET ${}", n + 1, n + 2);
    let mut q = sqlx::query(&sql);
    if let Some(s) = &f.status {
        q = q.bind(s.clone());
    }
    if let Some(u) = f.assigned_investigator {
        q = q.bind(u.to_string());
    }
    if let Some(t) = &f.number_contains {
        q = q.bind(contains_pattern(t));
    }
    if let Some(c) = &f.command {
        q = q.bind(c.clone());
    }
    let limit = if f.limit == 0 { 500 } else { f.limit };
    q = q.bind(i64::from(limit)).bind(i64::from(f.offset));
    let rows = q.fetch_all(tx.conn()).await?;
    rows.iter().map(from_row).collect()
}

/// Changes the status of an open case.
pub async fn set_status(tx: &mut Tx, id: Uuid, status: &str) -> Result<Case> {
    let r = sqlx::query(
        "UPDATE cases SET status = $1, updated_at = $2 WHERE id = $3 AND closed_at IS NULL",
    )
    .bind(status)
    .bind(now_ms())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(closed_or_missing(tx, id).await);
    }
    require(get(tx, id).await?, id)
}

/// Assigns (or unassigns) the investigator of an open case.
pub async fn assign(tx: &mut Tx, id: Uuid, investigator: Option<Uuid>) -> Result<Case> {
    let r = sqlx::query(
        "UPDATE cases SET assigned_investigator = $1, updated_at = $2 WHERE id = $3 AND closed_at IS NULL",
    )
    .bind(investigator.map(|u| u.to_string()))
    .bind(now_ms())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(closed_or_missing(tx, id).await);
    }
    require(get(tx, id).await?, id)
}

/// Updates the offence classification and the political-activity flag of an open case.
pub async fn update_details(
    tx: &mut Tx,
    id: Uuid,
    offence_classification: &str,
    political_activity: bool,
) -> Result<Case> {
    let r = sqlx::query(
        "UPDATE cases SET offence_classification = $1, political_activity = $2, updated_at = $3 \
         WHERE id = $4 AND closed_at IS NULL",
    )
    .bind(offence_classification)
    .bind(i64::from(political_activity))
    .bind(now_ms())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(closed_or_missing(tx, id).await);
    }
    require(get(tx, id).await?, id)
}

/// Closes an open case with a closure reason (validated by the domain crate before).
pub async fn close(
    tx: &mut Tx,
    id: Uuid,
    status: &str,
    closure_reason: &str,
    closed_at: DateTime<Utc>,
) -> Result<Case> {
    if closure_reason.trim().is_empty() {
        return Err(StoreError::Invalid(
            "closing a case needs a closure reason".into(),
        ));
    }
    let r = sqlx::query(
        "UPDATE cases SET status = $1, closure_reason = $2, closed_at = $3, updated_at = $4 \
         WHERE id = $5 AND closed_at IS NULL",
    )
    .bind(status)
    .bind(closure_reason)
    .bind(to_ms(closed_at))
    .bind(now_ms())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if r.rows_affected() == 0 {
        return Err(closed_or_missing(tx, id).await);
    }
    require(get(tx, id).await?, id)
}

async fn closed_or_missing(tx: &mut Tx, id: Uuid) -> StoreError {
    match get(tx, id).await {
        Ok(Some(c)) => StoreError::Conflict(format!("case {} is closed", c.case_number)),
        Ok(None) => StoreError::NotFound {
            what: "case",
            id: id.to_string(),
        },
        Err(e) => e,
    }
}
