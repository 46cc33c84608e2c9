//! Thermographic cameras: deployment authorizations (TH-05) and autonomous security robot
//! frames (TH-04, RET-10). Live frames have no table: they are never stored (TH-03).
//!
//! The basis, the source kind and the facts considered are TEXT validated by the domain crate.
//! Robot frame content lives in the encrypted blob store; a row only points at its blob.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, to_ms, PageQuery, Tx};
use crate::error::{Result, StoreError};

/// A stored deployment authorization.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub id: Uuid,
    pub command: String,
    /// The thermal source (service account name of the camera relay or robot).
    pub source: String,
    /// `handheld`, `wireless` or `robot`.
    pub source_kind: String,
    pub basis: String,
    pub risks_to_personnel: String,
    pub risks_to_civilians: String,
    pub risks_to_suspects: String,
    pub legitimate_purpose: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub authorized_by: Uuid,
    pub authorized_at: DateTime<Utc>,
}

/// A new authorization, already validated by the domain.
#[derive(Debug, Clone)]
pub struct NewAuthorization {
    pub command: String,
    pub source: String,
    pub source_kind: String,
    pub basis: String,
    pub risks_to_personnel: String,
    pub risks_to_civilians: String,
    pub risks_to_suspects: String,
    pub legitimate_purpose: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub authorized_by: Uuid,
    pub authorized_at: DateTime<Utc>,
}

const AUTH_COLUMNS: &str = "id, command, source, source_kind, basis, risks_to_personnel, \
    risks_to_civilians, risks_to_suspects, legitimate_purpose, starts_at, expires_at, \
    authorized_by, authorized_at";

fn auth_from_row(r: &sqlx::any::AnyRow) -> Result<Authorization> {
    let id: String = r.try_get("id")?;
    let by: String = r.try_get("authorized_by")?;
    Ok(Authorization {
        id: parse_uuid(&id)?,
        command: r.try_get("command")?,
        source: r.try_get("source")?,
        source_kind: r.try_get("source_kind")?,
        basis: r.try_get("basis")?,
        risks_to_personnel: r.try_get("risks_to_personnel")?,
        risks_to_civilians: r.try_get("risks_to_civilians")?,
        risks_to_suspects: r.try_get("risks_to_suspects")?,
        legitimate_purpose: r.try_get("legitimate_purpose")?,
        starts_at: from_ms(r.try_get("starts_at")?)?,
        expires_at: from_ms(r.try_get("expires_at")?)?,
        authorized_by: parse_uuid(&by)?,
        authorized_at: from_ms(r.try_get("authorized_at")?)?,
    })
}

/// Records an authorization.
pub async fn create_authorization(tx: &mut Tx, new: &NewAuthorization) -> Result<Authorization> {
    if new.source.trim().is_empty() {
        return Err(StoreError::Invalid(
            "an authorization names the thermal source it covers".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(&format!(
        "INSERT INTO thermal_authorizations ({AUTH_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(id.to_string())
    .bind(&new.command)
    .bind(&new.source)
    .bind(&new.source_kind)
    .bind(&new.basis)
    .bind(&new.risks_to_personnel)
    .bind(&new.risks_to_civilians)
    .bind(&new.risks_to_suspects)
    .bind(&new.legitimate_purpose)
    .bind(to_ms(new.starts_at))
    .bind(to_ms(new.expires_at))
    .bind(new.authorized_by.to_string())
    .bind(to_ms(new.authorized_at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("thermal authorization", &id.to_string(), e))?;
    get_authorization(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "thermal authorization",
            id: id.to_string(),
        })
}

pub async fn get_authorization(tx: &mut Tx, id: Uuid) -> Result<Option<Authorization>> {
    let row = sqlx::query(&format!(
        "SELECT {AUTH_COLUMNS} FROM thermal_authorizations WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(auth_from_row).transpose()
}

/// Every authorization naming `source`, latest expiry first.
pub async fn authorizations_for_source(tx: &mut Tx, source: &str) -> Result<Vec<Authorization>> {
    let rows = sqlx::query(&format!(
        "SELECT {AUTH_COLUMNS} FROM thermal_authorizations WHERE source = $1 \
         ORDER BY expires_at DESC, id DESC"
    ))
    .bind(source)
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(auth_from_row).collect()
}

/// Authorizations, newest first (at most `limit`, 0 = 500).
pub async fn list_authorizations(tx: &mut Tx, limit: u32) -> Result<Vec<Authorization>> {
    let limit = if limit == 0 { 500 } else { limit };
    let rows = sqlx::query(&format!(
        "SELECT {AUTH_COLUMNS} FROM thermal_authorizations \
         ORDER BY authorized_at DESC, id DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(auth_from_row).collect()
}

/// The columns a list of authorizations may be sorted by (with descending beside it); each maps
/// to a fixed column name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthorizationSort {
    #[default]
    Authorized,
    Starts,
    Expires,
    Source,
    Command,
}

impl AuthorizationSort {
    fn column(self) -> &'static str {
        match self {
            AuthorizationSort::Authorized => "authorized_at",
            AuthorizationSort::Starts => "starts_at",
            AuthorizationSort::Expires => "expires_at",
            AuthorizationSort::Source => "source",
            AuthorizationSort::Command => "command",
        }
    }
}

/// Where an authorization stands at a moment, for a list's filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizationStatus {
    /// Started and not yet expired.
    InForce,
    Expired,
    /// Not yet started.
    Scheduled,
}

/// A batch of authorizations in a list's order: `q` matches part of the source (any case);
/// `basis`, `source_kind` and `command` exactly; `status` at `now`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationFilter {
    pub q: Option<String>,
    pub basis: Option<String>,
    pub source_kind: Option<String>,
    pub command: Option<String>,
    pub status: Option<(AuthorizationStatus, DateTime<Utc>)>,
    pub sort: AuthorizationSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One batch of authorizations (see [`AuthorizationFilter`]).
pub async fn authorizations_page(
    tx: &mut Tx,
    f: &AuthorizationFilter,
) -> Result<Vec<Authorization>> {
    let mut filter = String::from(" WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        binds.push(crate::cases::contains_pattern(q));
        filter += &format!(" AND LOWER(source) LIKE ${} ESCAPE '\\'", binds.len());
    }
    for (column, value) in [
        ("basis", &f.basis),
        ("source_kind", &f.source_kind),
        ("command", &f.command),
    ] {
        if let Some(v) = value {
            binds.push(v.clone());
            filter += &format!(" AND {column} = ${}", binds.len());
        }
    }
    if let Some((status, at)) = f.status {
        // An integer computed here, never text from the request.
        let now = to_ms(at);
        filter += &match status {
            AuthorizationStatus::InForce => {
                format!(" AND starts_at <= {now} AND expires_at > {now}")
            }
            AuthorizationStatus::Expired => format!(" AND expires_at <= {now}"),
            AuthorizationStatus::Scheduled => format!(" AND starts_at > {now}"),
        };
    }
    PageQuery {
        columns: AUTH_COLUMNS,
        table: "thermal_authorizations",
        filter: &filter,
        binds,
        order: f.sort.column(),
        tiebreak: "id",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .rows(tx, auth_from_row)
    .await
}

/// Number of authorized deployments per basis, for oversight (OVR-03): `(basis, count)`.
pub async fn count_by_basis(
    tx: &mut Tx,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Vec<(String, u64)>> {
    let rows = sqlx::query(
        "SELECT basis, COUNT(*) AS n FROM thermal_authorizations \
         WHERE starts_at >= $1 AND starts_at < $2 GROUP BY basis ORDER BY basis",
    )
    .bind(from.map(to_ms).unwrap_or(i64::MIN))
    .bind(to.map(to_ms).unwrap_or(i64::MAX))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let n: i64 = r.try_get("n")?;
            Ok((r.try_get("basis")?, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

/// A stored robot frame (its content is the blob `blob_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct RobotFrame {
    pub id: Uuid,
    pub source: String,
    pub authorization_id: Uuid,
    pub blob_id: Uuid,
    pub captured_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The case the frame was moved into as relevant to an investigation (TH-04).
    pub case_id: Option<Uuid>,
    pub moved_by: Option<String>,
    pub moved_at: Option<DateTime<Utc>>,
    pub disposed_at: Option<DateTime<Utc>>,
    pub certificate_id: Option<Uuid>,
    /// Why the frame is not radiometric (TH-02), recorded when it arrived; `None` when it
    /// measures temperature (and for frames kept before this was recorded).
    pub not_radiometric: Option<String>,
}

const FRAME_COLUMNS: &str = "id, source, authorization_id, blob_id, captured_at, received_at, \
    case_id, moved_by, moved_at, disposed_at, certificate_id, not_radiometric";

fn frame_from_row(r: &sqlx::any::AnyRow) -> Result<RobotFrame> {
    let id: String = r.try_get("id")?;
    let auth: String = r.try_get("authorization_id")?;
    let blob: String = r.try_get("blob_id")?;
    let case: Option<String> = r.try_get("case_id")?;
    let cert: Option<String> = r.try_get("certificate_id")?;
    Ok(RobotFrame {
        id: parse_uuid(&id)?,
        source: r.try_get("source")?,
        authorization_id: parse_uuid(&auth)?,
        blob_id: parse_uuid(&blob)?,
        captured_at: from_ms(r.try_get("captured_at")?)?,
        received_at: from_ms(r.try_get("received_at")?)?,
        case_id: case.as_deref().map(parse_uuid).transpose()?,
        moved_by: r.try_get("moved_by")?,
        moved_at: opt_from_ms(r.try_get("moved_at")?)?,
        disposed_at: opt_from_ms(r.try_get("disposed_at")?)?,
        certificate_id: cert.as_deref().map(parse_uuid).transpose()?,
        not_radiometric: r.try_get("not_radiometric")?,
    })
}

/// Records a robot frame whose encrypted content was committed as blob `blob_id` in `tx`.
pub async fn insert_robot_frame(
    tx: &mut Tx,
    source: &str,
    authorization_id: Uuid,
    blob_id: Uuid,
    captured_at: DateTime<Utc>,
    not_radiometric: Option<&str>,
) -> Result<RobotFrame> {
    let id = Uuid::now_v7();
    sqlx::query(&format!(
        "INSERT INTO thermal_robot_frames ({FRAME_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, NULL, NULL, NULL, NULL, $7)"
    ))
    .bind(id.to_string())
    .bind(source)
    .bind(authorization_id.to_string())
    .bind(blob_id.to_string())
    .bind(to_ms(captured_at))
    .bind(now_ms())
    .bind(not_radiometric)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("robot frame", &id.to_string(), e))?;
    get_robot_frame(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "robot frame",
            id: id.to_string(),
        })
}

pub async fn get_robot_frame(tx: &mut Tx, id: Uuid) -> Result<Option<RobotFrame>> {
    let row = sqlx::query(&format!(
        "SELECT {FRAME_COLUMNS} FROM thermal_robot_frames WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(frame_from_row).transpose()
}

/// Robot frames, newest capture first (at most `limit`, 0 = 500).
pub async fn list_robot_frames(tx: &mut Tx, limit: u32) -> Result<Vec<RobotFrame>> {
    let limit = if limit == 0 { 500 } else { limit };
    let rows = sqlx::query(&format!(
        "SELECT {FRAME_COLUMNS} FROM thermal_robot_frames \
         ORDER BY captured_at DESC, id DESC LIMIT $1"
    ))
    .bind(i64::from(limit))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(frame_from_row).collect()
}

/// Frames still held outside any case and not yet disposed, captured before `before`:
/// the candidates of the RET-10 retention run.
pub async fn robot_frames_outside_cases(
    tx: &mut Tx,
    before: DateTime<Utc>,
) -> Result<Vec<RobotFrame>> {
    let rows = sqlx::query(&format!(
        "SELECT {FRAME_COLUMNS} FROM thermal_robot_frames \
         WHERE disposed_at IS NULL AND case_id IS NULL AND captured_at < $1 \
         ORDER BY captured_at, id"
    ))
    .bind(to_ms(before))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(frame_from_row).collect()
}

/// Moves a frame into a case (TH-04); refused once disposed or already in a case.
pub async fn move_robot_frame_to_case(
    tx: &mut Tx,
    id: Uuid,
    case_id: Uuid,
    moved_by: &str,
    at: DateTime<Utc>,
) -> Result<RobotFrame> {
    let done = sqlx::query(
        "UPDATE thermal_robot_frames SET case_id = $1, moved_by = $2, moved_at = $3 \
         WHERE id = $4 AND case_id IS NULL AND disposed_at IS NULL",
    )
    .bind(case_id.to_string())
    .bind(moved_by)
    .bind(to_ms(at))
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    let frame = get_robot_frame(tx, id)
        .await?
        .ok_or_else(|| StoreError::NotFound {
            what: "robot frame",
            id: id.to_string(),
        })?;
    if done.rows_affected() == 0 {
        return Err(if frame.disposed_at.is_some() {
            StoreError::Destroyed(id.to_string())
        } else {
            StoreError::Conflict(format!("robot frame {id} is already in a case"))
        });
    }
    Ok(frame)
}

/// Marks a frame disposed after its blob was crypto-shredded with certificate `certificate_id`.
pub async fn mark_robot_frame_disposed(
    tx: &mut Tx,
    id: Uuid,
    certificate_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let done = sqlx::query(
        "UPDATE thermal_robot_frames SET disposed_at = $1, certificate_id = $2 \
         WHERE id = $3 AND disposed_at IS NULL",
    )
    .bind(to_ms(at))
    .bind(certificate_id.to_string())
    .bind(id.to_string())
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(format!(
            "robot frame {id} is unknown or already disposed"
        )));
    }
    Ok(())
}
