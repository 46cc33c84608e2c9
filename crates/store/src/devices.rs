//! Camera inventory and custody (DC-04): devices with their command, storage location and
//! assigned member, and the supervisor's periodic inspections. Whether an inspection is
//! overdue is decided by the domain crate from the stored dates and interval.

use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::db::{from_ms, now_ms, opt_from_ms, parse_uuid, PageQuery, Tx};
use crate::error::{Result, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    pub id: Uuid,
    /// e.g. `camera`, `phone`, `tablet`.
    pub device_type: String,
    pub make: String,
    pub model: String,
    /// Body serial, normalized (letters and digits, no leading zeros) by the caller.
    pub serial: String,
    pub storage_location: String,
    pub command: String,
    pub assigned_to: Option<Uuid>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub inspection_interval_days: u32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The latest inspection, if any.
    pub last_inspected_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewDevice {
    pub device_type: String,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub storage_location: String,
    pub command: String,
    pub inspection_interval_days: u32,
    pub created_by: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub id: Uuid,
    pub device_id: Uuid,
    pub inspected_by: String,
    pub inspected_at: DateTime<Utc>,
    pub accounted_for: bool,
    pub notes: String,
}

const COLUMNS: &str = "d.id, d.device_type, d.make, d.model, d.serial, d.storage_location, d.command, \
     d.assigned_to, d.assigned_at, d.inspection_interval_days, d.created_by, d.created_at, \
     (SELECT MAX(i.inspected_at) FROM device_inspections i WHERE i.device_id = d.id) AS last_inspected_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Device> {
    let id: String = r.try_get("id")?;
    let assigned: Option<String> = r.try_get("assigned_to")?;
    let interval: i64 = r.try_get("inspection_interval_days")?;
    Ok(Device {
        id: parse_uuid(&id)?,
        device_type: r.try_get("device_type")?,
        make: r.try_get("make")?,
        model: r.try_get("model")?,
        serial: r.try_get("serial")?,
        storage_location: r.try_get("storage_location")?,
        command: r.try_get("command")?,
        assigned_to: assigned.as_deref().map(parse_uuid).transpose()?,
        assigned_at: opt_from_ms(r.try_get("assigned_at")?)?,
        inspection_interval_days: u32::try_from(interval).unwrap_or(0),
        created_by: r.try_get("created_by")?,
        created_at: from_ms(r.try_get("created_at")?)?,
        last_inspected_at: opt_from_ms(r.try_get("last_inspected_at")?)?,
    })
}

/// Inventories a device; a serial already inventoried gives [`StoreError::AlreadyExists`].
pub async fn create(tx: &mut Tx, new: &NewDevice) -> Result<Device> {
    let mut missing = Vec::new();
    for (v, name) in [
        (&new.device_type, "type"),
        (&new.make, "make"),
        (&new.model, "model"),
        (&new.serial, "serial"),
        (&new.storage_location, "storage location"),
        (&new.command, "command"),
    ] {
        if v.trim().is_empty() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(StoreError::Invalid(format!(
            "a device needs its {}",
            missing.join(", ")
        )));
    }
    if new.inspection_interval_days == 0 {
        return Err(StoreError::Invalid(
            "the inspection interval must be at least one day".into(),
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO devices (id, device_type, make, model, serial, storage_location, command, \
         inspection_interval_days, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id.to_string())
    .bind(&new.device_type)
    .bind(&new.make)
    .bind(&new.model)
    .bind(&new.serial)
    .bind(&new.storage_location)
    .bind(&new.command)
    .bind(i64::from(new.inspection_interval_days))
    .bind(&new.created_by)
    .bind(now_ms())
    .execute(tx.conn())
    .await
    .map_err(|e| StoreError::from_sqlx("device with serial", &new.serial, e))?;
    require(get(tx, id).await?, id)
}

fn require(d: Option<Device>, id: Uuid) -> Result<Device> {
    d.ok_or_else(|| StoreError::NotFound {
        what: "device",
        id: id.to_string(),
    })
}

pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<Device>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM devices d WHERE d.id = $1"))
        .bind(id.to_string())
        .fetch_optional(tx.conn())
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get_by_serial(tx: &mut Tx, serial: &str) -> Result<Option<Device>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices d WHERE d.serial = $1"
    ))
    .bind(serial)
    .fetch_optional(tx.conn())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Devices of the given commands (all devices when `commands` is empty), by serial.
pub async fn list(tx: &mut Tx, commands: &[String]) -> Result<Vec<Device>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices d ORDER BY d.command, d.serial"
    ))
    .fetch_all(tx.conn())
    .await?;
    let all = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    Ok(all
        .into_iter()
        .filter(|d| commands.is_empty() || commands.contains(&d.command))
        .collect())
}

/// The columns a list of devices may be sorted by (with descending beside it); each maps to a
/// fixed expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSort {
    #[default]
    Serial,
    Command,
    Type,
    /// The latest inspection; never inspected counts as oldest.
    Inspected,
}

impl DeviceSort {
    fn expression(self) -> &'static str {
        match self {
            DeviceSort::Serial => "d.serial",
            DeviceSort::Command => "d.command",
            DeviceSort::Type => "d.device_type",
            DeviceSort::Inspected => {
                "COALESCE((SELECT MAX(i.inspected_at) FROM device_inspections i \
                 WHERE i.device_id = d.id), 0)"
            }
        }
    }
}

/// A batch of devices in a list's order: `q` matches part of the serial, make or model (any
/// case), `command` and `device_type` exactly.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub q: Option<String>,
    pub command: Option<String>,
    pub device_type: Option<String>,
    pub sort: DeviceSort,
    pub descending: bool,
    /// At most this many (0 = 50).
    pub limit: u32,
    pub offset: u64,
}

/// One batch of devices (see [`DeviceFilter`]).
pub async fn list_page(tx: &mut Tx, f: &DeviceFilter) -> Result<Vec<Device>> {
    let mut filter = String::from(" WHERE 1 = 1");
    let mut binds: Vec<String> = Vec::new();
    if let Some(q) = &f.q {
        binds.push(crate::cases::contains_pattern(q));
        let n = binds.len();
        filter += &format!(
            " AND (LOWER(d.serial) LIKE ${n} ESCAPE '\\' OR LOWER(d.make) LIKE ${n} ESCAPE '\\' \
             OR LOWER(d.model) LIKE ${n} ESCAPE '\\')"
        );
    }
    if let Some(c) = &f.command {
        binds.push(c.clone());
        filter += &format!(" AND d.command = ${}", binds.len());
    }
    if let Some(t) = &f.device_type {
        binds.push(t.clone());
        filter += &format!(" AND d.device_type = ${}", binds.len());
    }
    PageQuery {
        columns: COLUMNS,
        table: "devices d",
        filter: &filter,
        binds,
        order: f.sort.expression(),
        tiebreak: "d.serial, d.id",
        descending: f.descending,
        limit: f.limit,
        offset: f.offset,
    }
    .rows(tx, from_row)
    .await
}

/// Devices whose serial contains `text` (any case), by serial, at most `limit` from `offset` on.
pub async fn search_serial(
    tx: &mut Tx,
    text: &str,
    limit: u32,
    offset: u64,
) -> Result<Vec<Device>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM devices d WHERE LOWER(d.serial) LIKE $1 ESCAPE '\\' \
         ORDER BY d.serial, d.id LIMIT $2 OFFSET $3"
    ))
    .bind(crate::cases::contains_pattern(text))
    .bind(i64::from(limit))
    .bind(i64::try_from(offset).unwrap_or(i64::MAX))
    .fetch_all(tx.conn())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Assigns the device to a member, or ends the assignment with `None`.
pub async fn assign(tx: &mut Tx, id: Uuid, member: Option<Uuid>) -> Result<Device> {
    let r = sqlx::query("UPDATE devices SET assigned_to = $1, assigned_at = $2 WHERE id = $3")
        .bind(member.map(|u| u.to_string()))
        .bind(member.map(|_| now_ms()))
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "device",
            id: id.to_string(),
        });
    }
    require(get(tx, id).await?, id)
}

/// Changes the inspection interval (days).
pub async fn set_interval(tx: &mut Tx, id: Uuid, days: u32) -> Result<Device> {
    if days == 0 {
        return Err(StoreError::Invalid(
            "the inspection interval must be at least one day".into(),
        ));
    }
    let r = sqlx::query("UPDATE devices SET inspection_interval_days = $1 WHERE id = $2")
        .bind(i64::from(days))
        .bind(id.to_string())
        .execute(tx.conn())
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound {
            what: "device",
            id: id.to_string(),
        });
    }
    require(get(tx, id).await?, id)
}

/// Records a supervisor's inspection.
pub async fn inspect(
    tx: &mut Tx,
    device_id: Uuid,
    inspected_by: &str,
    accounted_for: bool,
    notes: &str,
) -> Result<Inspection> {
    if get(tx, device_id).await?.is_none() {
        return Err(StoreError::NotFound {
            what: "device",
            id: device_id.to_string(),
        });
    }
    let id = Uuid::now_v7();
    let at = now_ms();
    sqlx::query(
        "INSERT INTO device_inspections (id, device_id, inspected_by, inspected_at, accounted_for, notes) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.to_string())
    .bind(device_id.to_string())
    .bind(inspected_by)
    .bind(at)
    .bind(i64::from(accounted_for))
    .bind(notes)
    .execute(tx.conn())
    .await?;
    Ok(Inspection {
        id,
        device_id,
        inspected_by: inspected_by.to_string(),
        inspected_at: from_ms(at)?,
        accounted_for,
        notes: notes.to_string(),
    })
}

/// Inspections of a device, newest first.
pub async fn inspections(tx: &mut Tx, device_id: Uuid) -> Result<Vec<Inspection>> {
    let rows = sqlx::query(
        "SELECT id, device_id, inspected_by, inspected_at, accounted_for, notes \
         FROM device_inspections WHERE device_id = $1 ORDER BY inspected_at DESC, id DESC",
    )
    .bind(device_id.to_string())
    .fetch_all(tx.conn())
    .await?;
    rows.iter()
        .map(|r| {
            let id: String = r.try_get("id")?;
            let dev: String = r.try_get("device_id")?;
            let acc: i64 = r.try_get("accounted_for")?;
            Ok(Inspection {
                id: parse_uuid(&id)?,
                device_id: parse_uuid(&dev)?,
                inspected_by: r.try_get("inspected_by")?,
                inspected_at: from_ms(r.try_get("inspected_at")?)?,
                accounted_for: acc != 0,
                notes: r.try_get("notes")?,
            })
        })
        .collect()
}
