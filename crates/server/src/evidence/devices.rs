//! Camera custody (DC-04): inventory, assignment, supervisor inspections, the overdue list and
//! intakes flagged because their camera serial matches no inventoried, assigned device.
//! Who may do what is the policy's (`device.manage`, `device.inspect` on the device's
//! command); whether an inspection is overdue is the domain's.

use chrono::{Duration, Utc};
use probity_domain::oversight::{inspection_status, InspectionStatus};
use probity_domain::{CommandCode, Technology};
use probity_imaging::CameraMetadata;
use probity_policy::{Action, Resource};
use probity_store::{audit, cases, devices, evidence, users};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged, Visible};
use crate::principal::Principal;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewDeviceInput {
    /// `camera`, `phone` or `tablet`.
    pub device_type: String,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub storage_location: String,
    /// The command holding the device; defaults to the caller's command.
    pub command: Option<String>,
    /// Days between supervisor inspections (default 30).
    pub inspection_interval_days: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignInput {
    /// Username of the member; absent or empty ends the assignment.
    pub member: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InspectInput {
    pub accounted_for: bool,
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeviceView {
    pub id: Uuid,
    pub device_type: String,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub storage_location: String,
    pub command: String,
    pub assigned_to: Option<String>,
    pub inspection_interval_days: u32,
    pub last_inspected_at: Option<String>,
    pub overdue: bool,
    pub next_due: Option<String>,
    pub can_manage: bool,
    pub can_inspect: bool,
}

pub const DEFAULT_INTERVAL_DAYS: u32 = 30;
/// The longest inspection interval accepted: ten years (DC-04 wants regular inspections).
pub const MAX_INTERVAL_DAYS: u32 = 3650;

fn check_interval(days: u32) -> Result<u32, ApiError> {
    if days == 0 || days > MAX_INTERVAL_DAYS {
        return Err(ApiError::bad_field(
            "inspection_interval_days",
            format!("the inspection interval is between 1 and {MAX_INTERVAL_DAYS} days"),
        )
        .with_rule("DC-04"));
    }
    Ok(days)
}

pub(crate) fn resource(id: &str, command: &str) -> Result<Resource, ApiError> {
    Ok(Resource::Device {
        id: id.to_string(),
        command: CommandCode::parse(command).map_err(crate::domain_error)?,
        technology: Technology::DigitalCameras,
    })
}

fn allowed(state: &AppState, p: &Principal, action: Action, r: &Resource) -> bool {
    crate::decision::decide_for(state, p, action, r).allowed
}

async fn require(
    state: &AppState,
    p: &Principal,
    action: Action,
    id: &str,
    command: &str,
) -> Result<(), ApiError> {
    let r = resource(id, command)?;
    crate::decision::require(state, p, action, &r, "device", id)
        .await
        .map(|_| ())
}

/// The serial as the inventory keeps it: the imaging crate's normalization, so EXIF serials
/// ("No= 00002539") and typed ones ("2539") compare equal.
pub fn normalize_serial(s: &str) -> String {
    CameraMetadata {
        serial_number: Some(s.to_string()),
        ..Default::default()
    }
    .serial_normalized()
    .unwrap_or_default()
}

async fn view(
    state: &AppState,
    p: &Principal,
    tx: &mut probity_store::Tx,
    d: &devices::Device,
) -> Result<DeviceView, ApiError> {
    let assigned = match d.assigned_to {
        Some(u) => users::get(tx, u)
            .await
            .map_err(crate::store_error)?
            .map(|u| u.username),
        None => None,
    };
    let status = inspection_status(
        d.last_inspected_at,
        Duration::days(i64::from(d.inspection_interval_days)),
        Utc::now(),
    );
    let (overdue, next_due) = match status {
        InspectionStatus::Current { next_due } => (false, Some(next_due.to_rfc3339())),
        InspectionStatus::Overdue { due } => (true, due.map(|d| d.to_rfc3339())),
    };
    let r = resource(&d.id.to_string(), &d.command)?;
    Ok(DeviceView {
        id: d.id,
        device_type: d.device_type.clone(),
        make: d.make.clone(),
        model: d.model.clone(),
        serial: d.serial.clone(),
        storage_location: d.storage_location.clone(),
        command: d.command.clone(),
        assigned_to: assigned,
        inspection_interval_days: d.inspection_interval_days,
        last_inspected_at: d.last_inspected_at.map(|t| t.to_rfc3339()),
        overdue,
        next_due,
        can_manage: allowed(state, p, Action::DeviceManage, &r),
        can_inspect: allowed(state, p, Action::DeviceInspect, &r),
    })
}

/// The query string of the device list: paging (see [`crate::listing`]), sort by `serial`
/// (default), `command`, `type` or `inspected` (latest inspection), `q` (part of the serial, make
/// or model), `command`, `device_type` and `overdue` (`true`: only those overdue for inspection,
/// `false`: only those inspected in time).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DeviceListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub command: Option<String>,
    pub device_type: Option<String>,
    pub overdue: Option<String>,
}

/// The sort keys of the device list; the first is the default.
const DEVICE_SORTS: &[&str] = &["serial", "command", "type", "inspected"];

fn is_overdue(d: &devices::Device, now: chrono::DateTime<Utc>) -> bool {
    matches!(
        inspection_status(
            d.last_inspected_at,
            Duration::days(i64::from(d.inspection_interval_days)),
            now,
        ),
        InspectionStatus::Overdue { .. }
    )
}

/// One page of the devices the caller accounts for (manage or inspect, decided by the policy on
/// each device's command) or holds (assigned to them). The page is filled from the devices the
/// caller may see (see [`crate::listing::Visible`]), so the total is "at least"; whether a device
/// is overdue is the domain's, asked row by row too.
pub async fn list(
    state: &AppState,
    p: &Principal,
    params: &DeviceListParams,
    path: &str,
) -> Result<Paged<DeviceView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        DEVICE_SORTS,
        false,
    )?;
    let overdue = crate::listing::bool_filter("overdue", params.overdue.as_deref())?;
    let mut filter = devices::DeviceFilter {
        q: page.q.clone(),
        command: non_empty(params.command.as_deref()),
        device_type: non_empty(params.device_type.as_deref()),
        sort: match page.sort {
            "command" => devices::DeviceSort::Command,
            "type" => devices::DeviceSort::Type,
            "inspected" => devices::DeviceSort::Inspected,
            _ => devices::DeviceSort::Serial,
        },
        descending: page.descending,
        limit: 0,
        offset: 0,
    };
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut visible = Visible::new(&page);
    loop {
        filter.limit = visible.batch();
        filter.offset = visible.read();
        let batch = devices::list_page(&mut tx, &filter)
            .await
            .map_err(crate::store_error)?;
        let done = visible.offer(batch, |d| {
            let accounts = d.assigned_to == Some(p.user.id)
                || resource(&d.id.to_string(), &d.command).is_ok_and(|r| {
                    allowed(state, p, Action::DeviceManage, &r)
                        || allowed(state, p, Action::DeviceInspect, &r)
                });
            accounts && overdue.is_none_or(|o| is_overdue(d, now) == o)
        });
        if done {
            break;
        }
    }
    let at_least = visible.at_least();
    let more = visible.more;
    let mut out = Vec::with_capacity(visible.items.len());
    for d in &visible.items {
        out.push(view(state, p, &mut tx, d).await?);
    }
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "device.list".into(),
            record_type: "device".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "devices": out.len(), "offset": page.offset }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let links = Links::new(path)
        .filter("q", filter.q.as_deref())
        .filter("command", filter.command.as_deref())
        .filter("device_type", filter.device_type.as_deref())
        .filter("overdue", overdue);
    Ok(Paged::offset_page(
        out, &page, &links, at_least, false, more,
    ))
}

async fn record(
    tx: &mut probity_store::Tx,
    p: &Principal,
    action: &str,
    id: Uuid,
    detail: serde_json::Value,
) -> Result<(), ApiError> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: action.into(),
            record_type: "device".into(),
            record_id: id.to_string(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok(())
}

pub async fn create(
    state: &AppState,
    p: &Principal,
    input: NewDeviceInput,
) -> Result<DeviceView, ApiError> {
    let command = match input.command.as_deref().filter(|c| !c.trim().is_empty()) {
        Some(c) => c.to_string(),
        None => p
            .access
            .primary_command()
            .map(|c| c.as_str().to_string())
            .ok_or_else(|| ApiError::bad_field("command", "name the command holding the camera"))?,
    };
    require(state, p, Action::DeviceManage, "new", &command).await?;
    let serial = normalize_serial(&input.serial);
    if serial.is_empty() {
        return Err(ApiError::bad_field(
            "serial",
            "the serial number must contain letters or digits",
        ));
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let d = devices::create(
        &mut tx,
        &devices::NewDevice {
            device_type: input.device_type,
            make: input.make,
            model: input.model,
            serial,
            storage_location: input.storage_location,
            command,
            inspection_interval_days: check_interval(
                input
                    .inspection_interval_days
                    .unwrap_or(DEFAULT_INTERVAL_DAYS),
            )?,
            created_by: p.actor(),
        },
    )
    .await
    .map_err(crate::store_error)?;
    record(
        &mut tx,
        p,
        "device.create",
        d.id,
        serde_json::json!({ "serial": d.serial, "command": d.command, "make": d.make, "model": d.model }),
    )
    .await?;
    let v = view(state, p, &mut tx, &d).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

async fn load(state: &AppState, id: &str) -> Result<devices::Device, ApiError> {
    let uuid = Uuid::parse_str(id).map_err(|_| ApiError::not_found(format!("device {id}")))?;
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let d = devices::get(&mut tx, uuid)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    d.ok_or_else(|| ApiError::not_found(format!("device {id}")))
}

pub async fn assign(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: AssignInput,
) -> Result<DeviceView, ApiError> {
    let d = load(state, id).await?;
    require(state, p, Action::DeviceManage, id, &d.command).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let member = match input
        .member
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(name) => Some(
            users::get_by_username(&mut tx, name)
                .await
                .map_err(crate::store_error)?
                .ok_or_else(|| ApiError::bad_field("member", format!("no member {name}")))?,
        ),
        None => None,
    };
    let d = devices::assign(&mut tx, d.id, member.as_ref().map(|u| u.id))
        .await
        .map_err(crate::store_error)?;
    record(
        &mut tx,
        p,
        "device.assign",
        d.id,
        serde_json::json!({ "member": member.map(|u| u.username) }),
    )
    .await?;
    let v = view(state, p, &mut tx, &d).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

pub async fn inspect(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: InspectInput,
) -> Result<DeviceView, ApiError> {
    let d = load(state, id).await?;
    require(state, p, Action::DeviceInspect, id, &d.command).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    devices::inspect(&mut tx, d.id, &p.actor(), input.accounted_for, &input.notes)
        .await
        .map_err(crate::store_error)?;
    record(
        &mut tx,
        p,
        "device.inspect",
        d.id,
        serde_json::json!({ "accounted_for": input.accounted_for, "notes": input.notes }),
    )
    .await?;
    let d = devices::get(&mut tx, d.id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("device {id}")))?;
    let v = view(state, p, &mut tx, &d).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FlaggedIntake {
    pub intake_id: Uuid,
    pub case_number: String,
    pub importer: String,
    pub started_at: String,
    pub flag: String,
}

/// Intakes flagged for the supervisor (DC-04) in cases whose evidence the caller may read.
pub async fn flagged(state: &AppState, p: &Principal) -> Result<Vec<FlaggedIntake>, ApiError> {
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let list = evidence::flagged_intakes(&mut tx)
        .await
        .map_err(crate::store_error)?;
    let mut out = Vec::new();
    for i in list {
        let Some(case) = cases::get(&mut tx, i.case_id)
            .await
            .map_err(crate::store_error)?
        else {
            continue;
        };
        let Ok(r) = super::intake::evidence_resource(&case, "*") else {
            continue;
        };
        if !p.has_role(probity_domain::Role::Supervisor)
            || !allowed(state, p, Action::EvidenceRead, &r)
        {
            continue;
        }
        out.push(FlaggedIntake {
            intake_id: i.id,
            case_number: case.case_number,
            importer: i.importer,
            started_at: i.started_at.to_rfc3339(),
            flag: i.device_flag.unwrap_or_default(),
        });
    }
    tx.commit().await.map_err(crate::store_error)?;
    Ok(out)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntervalInput {
    /// Days between supervisor inspections (at least 1).
    pub inspection_interval_days: u32,
}

/// Changes a device's inspection interval (DC-04: the interval is configurable).
pub async fn set_interval(
    state: &AppState,
    p: &Principal,
    id: &str,
    input: IntervalInput,
) -> Result<DeviceView, ApiError> {
    let d = load(state, id).await?;
    require(state, p, Action::DeviceManage, id, &d.command).await?;
    check_interval(input.inspection_interval_days)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let d = devices::set_interval(&mut tx, d.id, input.inspection_interval_days)
        .await
        .map_err(crate::store_error)?;
    record(
        &mut tx,
        p,
        "device.interval",
        d.id,
        serde_json::json!({ "inspection_interval_days": input.inspection_interval_days }),
    )
    .await?;
    let v = view(state, p, &mut tx, &d).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}
