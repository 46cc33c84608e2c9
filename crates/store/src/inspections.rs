//! Tour inspections (SEC-06): areas with computer systems per command, and one inspection per
//! area and tour. Which tours are owed and missed is the domain crate's.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, parse_uuid, to_ms, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub id: Uuid,
    pub command: String,
    pub name: String,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub id: Uuid,
    pub area_id: Uuid,
    pub tour_date: String,
    pub tour: String,
    pub inspected_by_username: String,
    pub inspected_at: DateTime<Utc>,
    pub findings: String,
}

pub async fn add_area(
    tx: &mut Tx,
    command: &str,
    name: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<Area> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO computer_areas (id, command, name, added_by, added_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(command)
    .bind(name)
    .bind(by.to_string())
    .bind(to_ms(at))
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("area", name, e))?;
    Ok(Area {
        id,
        command: command.to_string(),
        name: name.to_string(),
        added_at: from_ms(to_ms(at))?,
    })
}

pub async fn areas(tx: &mut Tx, command: &str) -> Result<Vec<Area>> {
    let rows = sqlx::query(
        "SELECT id, command, name, added_at FROM computer_areas WHERE command = $1 ORDER BY name",
    )
    .bind(command)
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(Area {
                id: parse_uuid(&id)?,
                command: r.try_get("command")?,
                name: r.try_get("name")?,
                added_at: from_ms(r.try_get("added_at")?)?,
            })
        })
        .collect()
}

/// Records the inspection of `area` for a tour; a second one for the same tour is a conflict.
pub async fn record(
    tx: &mut Tx,
    area: Uuid,
    tour_date: &str,
    tour: &str,
    by: Uuid,
    at: DateTime<Utc>,
    findings: &str,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tour_inspections (id, area_id, tour_date, tour, inspected_by, inspected_at, \
         findings) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(area.to_string())
    .bind(tour_date)
    .bind(tour)
    .bind(by.to_string())
    .bind(to_ms(at))
    .bind(findings)
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("tour inspection", &format!("{tour_date} {tour}"), e))?;
    Ok(id)
}

/// The inspections of a command's areas since `since`, oldest first.
pub async fn since(tx: &mut Tx, command: &str, since: DateTime<Utc>) -> Result<Vec<Inspection>> {
    let rows = sqlx::query(
        "SELECT i.id, i.area_id, i.tour_date, i.tour, u.username, i.inspected_at, i.findings \
         FROM tour_inspections i JOIN computer_areas a ON a.id = i.area_id \
         JOIN users u ON u.id = i.inspected_by \
         WHERE a.command = $1 AND i.inspected_at >= $2 ORDER BY i.inspected_at, i.id",
    )
    .bind(command)
    .bind(to_ms(since))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let area: String = r.try_get("area_id")?;
            Ok(Inspection {
                id: parse_uuid(&id)?,
                area_id: parse_uuid(&area)?,
                tour_date: r.try_get("tour_date")?,
                tour: r.try_get("tour")?,
                inspected_by_username: r.try_get("username")?,
                inspected_at: from_ms(r.try_get("inspected_at")?)?,
                findings: r.try_get("findings")?,
            })
        })
        .collect()
}

/// An Integrity Control Officer's record of oversight of a command's recorded media (SEC-06).
#[derive(Debug, Clone, PartialEq)]
pub struct MediaOversight {
    pub id: Uuid,
    pub medium: String,
    pub checked: String,
    pub findings: String,
    pub recorded_by_username: String,
    pub recorded_at: DateTime<Utc>,
}

pub async fn record_media(
    tx: &mut Tx,
    command: &str,
    medium: &str,
    checked: &str,
    findings: &str,
    by: Uuid,
    at: DateTime<Utc>,
) -> Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO media_oversight (id, command, medium, checked, findings, recorded_by, \
         recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(command)
    .bind(medium)
    .bind(checked)
    .bind(findings)
    .bind(by.to_string())
    .bind(to_ms(at))
    .execute(tx.conn())
    .await?;
    Ok(id)
}

/// A command's media oversight records since `since`, newest first.
pub async fn media_since(
    tx: &mut Tx,
    command: &str,
    since: DateTime<Utc>,
) -> Result<Vec<MediaOversight>> {
    let rows = sqlx::query(
        "SELECT m.id, m.medium, m.checked, m.findings, u.username, m.recorded_at \
         FROM media_oversight m JOIN users u ON u.id = m.recorded_by \
         WHERE m.command = $1 AND m.recorded_at >= $2 ORDER BY m.recorded_at DESC, m.id",
    )
    .bind(command)
    .bind(to_ms(since))
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            Ok(MediaOversight {
                id: parse_uuid(&id)?,
                medium: r.try_get("medium")?,
                checked: r.try_get("checked")?,
                findings: r.try_get("findings")?,
                recorded_by_username: r.try_get("username")?,
                recorded_at: from_ms(r.try_get("recorded_at")?)?,
            })
        })
        .collect()
}
