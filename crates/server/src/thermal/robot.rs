//! Autonomous security robot data (TH-04, RET-10, RET-11): the one thermal data that is kept.
//!
//! Frames pushed by a source authorized as `robot` are stored encrypted in the blob store. The
//! retention run ([`run_retention`]) asks the domain ([`probity_domain::retention_for_robot_data`],
//! [`probity_domain::may_dispose`]) whether each frame outside a case may go, and destroys those
//! by crypto-shredding with a disposition certificate, all in one transaction with the audit
//! entry. A frame moved into a case is left to the case's schedule. A frame under a legal hold
//! (on the frame, or on the case it was moved into) is never disposed (RET-11,
//! [`crate::holds`]): the run skips it and reports it as held.

use std::str::FromStr;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use probity_domain::{may_dispose, retention_for_robot_data, CommandCode};
use probity_policy::{Action, Resource};
use probity_store::{audit, blobs, thermal as tstore, Disposition};
use probity_thermal::{
    render_live, Calibration, DecodeOptions, LiveFrame, LiveImageFormat, LiveRenderOptions,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::{Authorized, SignedIn};
use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

use super::live::{PushQuery, RAW16_MEDIA_TYPE};
use super::{append, context};

/// Stores one robot frame encrypted (TH-04), with its audit entry and, when the frame cannot
/// measure temperature, why (TH-02).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn retain(
    state: &AppState,
    p: &Principal,
    a: &tstore::Authorization,
    body: &[u8],
    content_type: &str,
    q: &PushQuery,
    now: DateTime<Utc>,
    not_radiometric: Option<&str>,
) -> Result<tstore::RobotFrame, ApiError> {
    let media_type = if content_type.starts_with(RAW16_MEDIA_TYPE) {
        let cal = match (q.scale, q.offset) {
            (Some(s), Some(o)) => format!("; scale={s}; offset={o}"),
            _ => String::new(),
        };
        format!(
            "{RAW16_MEDIA_TYPE}; width={}; height={}{cal}",
            q.width.unwrap_or(0),
            q.height.unwrap_or(0)
        )
    } else {
        "application/x-thermal-radiometric".to_string()
    };
    let staged = state
        .store
        .blobs()
        .stage(None, body, &media_type)
        .await
        .map_err(crate::store_error)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let meta = state
        .store
        .blobs()
        .commit(&mut tx, staged, &p.actor())
        .await
        .map_err(crate::store_error)?;
    let frame = tstore::insert_robot_frame(&mut tx, &a.source, a.id, meta.id, now, not_radiometric)
        .await
        .map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "thermal.robot.capture",
        &frame.id.to_string(),
        serde_json::json!({
            "rule": "TH-04",
            "source": a.source,
            "authorization": a.id.to_string(),
            "blob": meta.id.to_string(),
            "sha256": meta.sha256,
            "not_radiometric": not_radiometric,
        }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(frame)
}

/// A robot frame as the API shows it (never its content).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RobotFrameView {
    pub id: String,
    pub source: String,
    pub command: String,
    pub captured_at: String,
    /// The case number, once moved into a case (TH-04).
    pub case_number: Option<String>,
    pub disposed_at: Option<String>,
    pub certificate_id: Option<String>,
    /// The retention rule in words (RET-10 or the case's).
    pub retention: String,
    /// False when the frame's calibration cannot describe a measurement (TH-02): it is pictured
    /// on a relative scale and no temperature is ever reported from it.
    pub radiometric: bool,
    /// "not radiometric: temperatures unavailable (why)", when not radiometric.
    pub temperatures: Option<String>,
}

async fn frame_view(
    schedule: &probity_domain::RetentionSchedule,
    tx: &mut probity_store::Tx,
    f: &tstore::RobotFrame,
    command: &str,
) -> Result<RobotFrameView, ApiError> {
    let case_number = match f.case_id {
        Some(id) => probity_store::cases::get(tx, id)
            .await
            .map_err(crate::store_error)?
            .map(|c| c.case_number),
        None => None,
    };
    let retention = match &case_number {
        Some(n) => format!("moved into case {n}: follows the case's retention schedule (TH-04)"),
        None => {
            let rule = retention_for_robot_data(schedule, f.captured_at, None);
            match rule.period {
                probity_domain::RetentionPeriod::MinUntil(d) => {
                    format!("{}: kept until {d}, then destroyed", rule.rule_id)
                }
                other => format!("{}: {other:?}", rule.rule_id),
            }
        }
    };
    Ok(RobotFrameView {
        id: f.id.to_string(),
        source: f.source.clone(),
        command: command.to_string(),
        captured_at: f.captured_at.to_rfc3339(),
        case_number,
        disposed_at: f.disposed_at.map(|t| t.to_rfc3339()),
        certificate_id: f.certificate_id.map(|c| c.to_string()),
        retention,
        radiometric: f.not_radiometric.is_none(),
        temperatures: f
            .not_radiometric
            .as_ref()
            .map(|why| format!("not radiometric: temperatures unavailable ({why})")),
    })
}

/// Robot frames the caller may read (decided per frame on its deployment's command).
pub async fn list(state: &AppState, p: &Principal) -> Result<Vec<RobotFrameView>, ApiError> {
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let frames = tstore::list_robot_frames(&mut tx, 500)
        .await
        .map_err(crate::store_error)?;
    let mut out = Vec::new();
    for f in &frames {
        let Some(a) = tstore::get_authorization(&mut tx, f.authorization_id)
            .await
            .map_err(crate::store_error)?
        else {
            continue;
        };
        let resource = super::deployment_resource(&a, Utc::now())?;
        if crate::decision::decide_on(
            state,
            &principal,
            Action::ThermalRobotRead,
            &resource,
            &context(p),
        )
        .allowed
        {
            out.push(frame_view(state.schedule()?, &mut tx, f, &a.command).await?);
        }
    }
    append(
        &mut tx,
        p,
        "thermal.robot.list",
        "*",
        serde_json::json!({ "rule": "thermal.robot.read decided per frame", "count": out.len() }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(out)
}

pub async fn list_api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
) -> Result<Json<Vec<RobotFrameView>>, ApiError> {
    Ok(Json(list(&state, &p).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ImageQuery {
    pub palette: Option<String>,
}

fn media_param(media_type: &str, name: &str) -> Option<String> {
    media_type.split(';').skip(1).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn stored_frame(bytes: &[u8], media_type: &str) -> Result<LiveFrame, ApiError> {
    let bad = |e: probity_thermal::ThermalError| {
        ApiError::internal(format!("stored robot frame does not decode: {e}"))
    };
    if media_type.starts_with(RAW16_MEDIA_TYPE) {
        let num = |n: &str| media_param(media_type, n).and_then(|v| v.parse::<f64>().ok());
        let w = num("width").unwrap_or(0.0) as u32;
        let h = num("height").unwrap_or(0.0) as u32;
        let cal = match (num("scale"), num("offset")) {
            (Some(scale), Some(offset)) => Calibration::Linear { scale, offset },
            _ => Calibration::FORTY_MILLIKELVIN,
        };
        LiveFrame::from_raw16_le(w, h, bytes, cal, &Default::default()).map_err(bad)
    } else {
        LiveFrame::from_radiometric(bytes, &DecodeOptions::default()).map_err(bad)
    }
}

/// One retained robot frame rendered as a palette PNG; the read is audited (SEC-04).
pub async fn image(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Path(id): Path<String>,
    Query(q): Query<ImageQuery>,
) -> Result<Response, ApiError> {
    let p: &Principal = &p;
    let palette = super::live::palette(q.palette.as_deref())?;
    let id = Uuid::from_str(&id).map_err(|_| ApiError::bad_field("id", "not a frame id"))?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let f = tstore::get_robot_frame(&mut tx, id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::not_found(format!("robot frame {id}")))?;
    let a = tstore::get_authorization(&mut tx, f.authorization_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::internal("robot frame without its authorization"))?;
    tx.commit().await.map_err(crate::store_error)?;
    let rule =
        super::decide_deployment(&state, p, Action::ThermalRobotRead, &a, Utc::now()).await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let meta = blobs::meta(&mut tx, f.blob_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::internal("robot frame without its blob"))?;
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, f.blob_id)
        .await
        .map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "thermal.robot.read",
        &f.id.to_string(),
        serde_json::json!({ "rule": rule }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    let media_type = meta.media_type;
    let (png, radiometric) = tokio::task::spawn_blocking(move || {
        let frame = stored_frame(&bytes, &media_type)?;
        let v = render_live(
            &frame,
            &LiveRenderOptions {
                palette,
                format: LiveImageFormat::Png,
                ..Default::default()
            },
        )
        .map_err(|e| ApiError::internal(e.to_string()))?;
        Ok::<_, ApiError>((v.image.as_bytes().to_vec(), v.radiometry.is_radiometric()))
    })
    .await
    .map_err(|e| ApiError::internal(format!("render task: {e}")))??;
    // A frame that is not radiometric is drawn on a relative scale without °C; say so.
    let radiometry = if radiometric {
        "radiometric"
    } else {
        probity_thermal::Radiometry::UNAVAILABLE
    };
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "no-store"),
            (
                header::HeaderName::from_static("x-thermal-radiometry"),
                radiometry,
            ),
        ],
        png,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AttachInput {
    pub frame_id: String,
}

/// Moves a robot frame into the case named in the path (TH-04): from then on it follows the
/// case's schedule, not RET-10's 30 days.
pub async fn attach(
    state: &AppState,
    auth: &Authorized,
    input: AttachInput,
) -> Result<RobotFrameView, ApiError> {
    let case = &auth
        .case
        .as_ref()
        .ok_or_else(|| ApiError::internal("case route without a case"))?
        .case;
    let id = Uuid::from_str(input.frame_id.trim())
        .map_err(|_| ApiError::bad_field("frame_id", "not a robot frame id"))?;
    let now = Utc::now();
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let frame =
        tstore::move_robot_frame_to_case(&mut tx, id, case.id, &auth.principal.actor(), now)
            .await
            .map_err(|e| match e {
                probity_store::StoreError::Destroyed(_) => ApiError::new(
                    StatusCode::GONE,
                    "destroyed",
                    format!("robot frame {id} was already destroyed under RET-10"),
                ),
                other => crate::store_error(other),
            })?;
    let a = tstore::get_authorization(&mut tx, frame.authorization_id)
        .await
        .map_err(crate::store_error)?
        .ok_or_else(|| ApiError::internal("robot frame without its authorization"))?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "thermal.robot.attach_to_case".into(),
            record_type: "case".into(),
            record_id: case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "robot_frame": id.to_string() }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    let v = frame_view(state.schedule()?, &mut tx, &frame, &a.command).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

pub async fn attach_api(
    State(state): State<AppState>,
    auth: Authorized,
    Json(input): Json<AttachInput>,
) -> Result<Json<RobotFrameView>, ApiError> {
    Ok(Json(attach(&state, &auth, input).await?))
}

/// What one retention run did.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RetentionReport {
    /// Disposition certificates issued (one per destroyed frame).
    pub certificates: Vec<CertificateView>,
    /// Frames outside cases whose 30 days have not ended.
    pub kept: u64,
    /// Frames past their date that a legal hold in force keeps (RET-11).
    pub held: Vec<HeldFrame>,
}

/// A frame the run did not dispose because a legal hold is in force (RET-11).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeldFrame {
    pub robot_frame: String,
    /// The rule that kept it: RET-11.
    pub rule: String,
    /// Which hold, for which matter.
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CertificateView {
    pub id: String,
    pub robot_frame: String,
    pub sha256: String,
    pub what: String,
    pub reason: String,
    pub rule: String,
    pub approved_by: String,
    pub executed_by: String,
    pub executed_at: String,
}

/// The RET-10 retention run at `now` (passed explicitly so a schedule can be checked).
///
/// Every frame outside a case whose domain rule allows disposition at `now` is crypto-shredded
/// with a disposition certificate naming RET-10 and `approved_by`, its row marked disposed, and
/// an audit entry appended, all in one transaction per frame. Frames moved into a case are not
/// touched: they follow the case's schedule (TH-04).
pub async fn run_retention(
    state: &AppState,
    now: DateTime<Utc>,
    executed_by: &str,
    approved_by: &str,
) -> Result<RetentionReport, ApiError> {
    let mut report = RetentionReport::default();
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let candidates = tstore::robot_frames_outside_cases(&mut tx, now)
        .await
        .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    // Progress on the operations page: frames examined of the candidates.
    let total = candidates.len() as u64;
    let mut tracker = crate::progress::Tracker::start(
        state,
        crate::progress::RETENTION_RUN,
        "robot frames (RET-10)",
        executed_by,
        Some(total),
    )
    .await;
    let ran = async {
        for (i, f) in candidates.into_iter().enumerate() {
            tracker.advance(i as u64, None).await;
            let rule = retention_for_robot_data(state.schedule()?, f.captured_at, None);
            if may_dispose(&rule, &[], &[], now).is_err() {
                report.kept += 1;
                continue;
            }
            let mut tx = state.store.begin().await.map_err(crate::store_error)?;
            // Re-read inside the transaction: the frame may have moved into a case meanwhile.
            let Some(current) = tstore::get_robot_frame(&mut tx, f.id)
                .await
                .map_err(crate::store_error)?
                .filter(|c| c.case_id.is_none() && c.disposed_at.is_none())
            else {
                tx.rollback().await.map_err(crate::store_error)?;
                continue;
            };
            // RET-11: a legal hold on the frame, or on the case it is in, keeps it whatever its
            // date. Asked inside the transaction that would destroy it.
            let holds = crate::holds::holds_on_robot_frame(&mut tx, &current).await?;
            if let Err(refusal) = may_dispose(&rule, &holds, &[], now) {
                let held = HeldFrame {
                    robot_frame: current.id.to_string(),
                    rule: refusal.rule().unwrap_or("RET-11").to_string(),
                    detail: refusal.to_string(),
                };
                audit::append(
                    &mut tx,
                    &audit::AuditEvent {
                        actor: executed_by.to_string(),
                        action: "thermal.robot.dispose".into(),
                        record_type: "thermal_deployment".into(),
                        record_id: current.id.to_string(),
                        reason: Some(held.detail.clone()),
                        outcome: audit::Outcome::Denied,
                        detail: serde_json::json!({ "rule": held.rule, "approved_by": approved_by }),
                    },
                )
                .await
                .map_err(crate::store_error)?;
                tx.commit().await.map_err(crate::store_error)?;
                report.held.push(held);
                continue;
            }
            let cert = state
                .store
                .blobs()
                .destroy(
                    &mut tx,
                    current.blob_id,
                    &Disposition {
                        what: format!(
                            "autonomous security robot thermal frame {} from {} captured {}",
                            current.id,
                            current.source,
                            current.captured_at.to_rfc3339()
                        ),
                        reason: "the 30-day retention of robot data ended and the frame was not \
                                 moved into a case"
                            .into(),
                        rule: "RET-10".into(),
                        approved_by: approved_by.to_string(),
                        executed_by: executed_by.to_string(),
                    },
                )
                .await
                .map_err(crate::store_error)?;
            tstore::mark_robot_frame_disposed(&mut tx, current.id, cert.id, now)
                .await
                .map_err(crate::store_error)?;
            audit::append(
                &mut tx,
                &audit::AuditEvent {
                    actor: executed_by.to_string(),
                    action: "thermal.robot.dispose".into(),
                    record_type: "thermal_deployment".into(),
                    record_id: current.id.to_string(),
                    reason: Some("RET-10: 30 days ended".into()),
                    outcome: audit::Outcome::Success,
                    detail: serde_json::json!({
                        "rule": "RET-10",
                        "certificate": cert.id.to_string(),
                        "approved_by": approved_by,
                    }),
                },
            )
            .await
            .map_err(crate::store_error)?;
            tx.commit().await.map_err(crate::store_error)?;
            report.certificates.push(CertificateView {
                id: cert.id.to_string(),
                robot_frame: current.id.to_string(),
                sha256: cert.sha256,
                what: cert.what,
                reason: cert.reason,
                rule: cert.rule,
                approved_by: cert.approved_by,
                executed_by: cert.executed_by,
                executed_at: cert.executed_at.to_rfc3339(),
            });
        }
        Ok::<_, ApiError>(())
    }
    .await;
    tracker.advance(total, None).await;
    tracker.finish(ran.is_ok()).await;
    ran?;
    Ok(report)
}

pub async fn retention_api(
    State(state): State<AppState>,
    auth: Authorized,
) -> Result<Json<RetentionReport>, ApiError> {
    let actor = auth.principal.actor();
    Ok(Json(
        run_retention(
            &state,
            state.clock.now(),
            &actor,
            &format!("{actor} under RET-10"),
        )
        .await?,
    ))
}

/// The policy resource of a deployment in `command` (for pages that show robot data).
pub fn command_resource(command: &CommandCode) -> Resource {
    Resource::ThermalDeployment {
        id: String::new(),
        command: command.clone(),
        authorization_in_force: false,
    }
}
