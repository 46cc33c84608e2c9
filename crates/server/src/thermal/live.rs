//! Memory-only live view (TH-01, TH-03).
//!
//! Each live session is one entry of the process's hub: a watch channel that holds only the
//! latest [`LiveFrame`] (a pushed frame replaces and drops the previous one, whose buffers the
//! thermal crate zeroes). Nothing here writes a frame, an image or a temperature anywhere but
//! to the monitor's response: no file, no database row, no log field, no metric label. The
//! audit trail records the session's start and stop and who watched, never frame content.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use chrono::{DateTime, Utc};
use probity_policy::Action;
use probity_store::thermal as tstore;
use probity_thermal::{
    render_live, Calibration, DecodeOptions, LiveFrame, LiveImageFormat, LiveRenderOptions, Palette,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::authz::SignedIn;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::AppState;

use super::{append, authorization_in_force, authorizations_for, decide_deployment, SourceKind};

/// Media type of a frame pushed as raw little-endian 16-bit samples with a linear calibration.
pub const RAW16_MEDIA_TYPE: &str = "application/x-thermal-raw16";

/// The latest frame of a session, numbered.
struct Latest {
    seq: u64,
    frame: LiveFrame,
}

struct Session {
    authorization_id: Uuid,
    seq: u64,
    tx: watch::Sender<Option<Arc<Latest>>>,
    watchers: HashSet<String>,
}

/// Live sessions, keyed by the server's data directory (one hub per server in a process) and
/// the source name. Held in memory only.
static HUB: LazyLock<Mutex<HashMap<(PathBuf, String), Session>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn hub_key(state: &AppState, source: &str) -> (PathBuf, String) {
    (state.config.data_dir.clone(), source.to_string())
}

fn lock_hub() -> std::sync::MutexGuard<'static, HashMap<(PathBuf, String), Session>> {
    // A panic while holding the lock leaves only frames behind; the map itself stays usable.
    HUB.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Query of a raw 16-bit push: dimensions and the linear calibration `°C = raw × scale + offset`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PushQuery {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub scale: Option<f64>,
    pub offset: Option<f64>,
}

/// The answer to a push: never any temperature or pixel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PushView {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    /// True for the autonomous security robot, whose frames are retained (TH-04).
    pub retained: bool,
    /// False when the frame's calibration describes no measurement: monitors see it on a
    /// relative scale, without temperatures.
    pub radiometric: bool,
    /// `"unavailable"` when not radiometric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperatures: Option<String>,
    /// Why temperatures are unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn decode(body: &[u8], content_type: &str, q: &PushQuery) -> Result<LiveFrame, ApiError> {
    let bad = |e: probity_thermal::ThermalError| ApiError::bad_request(e.to_string());
    if content_type.starts_with(RAW16_MEDIA_TYPE) {
        let (Some(w), Some(h)) = (q.width, q.height) else {
            return Err(ApiError::bad_field(
                "width",
                "a raw 16-bit frame needs width and height in the query",
            ));
        };
        let calibration = match (q.scale, q.offset) {
            (Some(scale), Some(offset)) => Calibration::Linear { scale, offset },
            (None, None) => Calibration::FORTY_MILLIKELVIN,
            _ => {
                return Err(ApiError::bad_field(
                    "scale",
                    "give both scale and offset of the linear calibration, or neither",
                ))
            }
        };
        LiveFrame::from_raw16_le(w, h, body, calibration, &Default::default()).map_err(bad)
    } else {
        LiveFrame::from_radiometric(body, &DecodeOptions::default()).map_err(bad)
    }
}

/// Decides `action` on the deployment in force for `source` (the live page uses it).
pub(crate) async fn may_view(
    state: &AppState,
    p: &Principal,
    source: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Result<String, ApiError> {
    in_force(state, p, source, action, now)
        .await
        .map(|(_, rule)| rule)
}

/// The authorization in force for `source`, with the policy's answer for `action`.
async fn in_force(
    state: &AppState,
    p: &Principal,
    source: &str,
    action: Action,
    now: DateTime<Utc>,
) -> Result<(tstore::Authorization, String), ApiError> {
    let all = authorizations_for(state, source).await?;
    let a = match authorization_in_force(source, &all, now) {
        Ok(a) => a,
        Err(e) => {
            // Without an authorization in force the session ends: its last frame is dropped.
            let ended = lock_hub().remove(&hub_key(state, source));
            if let Some(session) = ended {
                let watchers: Vec<String> = session.watchers.iter().cloned().collect();
                drop(session);
                let mut tx = state.store.begin().await.map_err(crate::store_error)?;
                append(
                    &mut tx,
                    p,
                    "thermal.live.stop",
                    source,
                    serde_json::json!({
                        "rule": "TH-05",
                        "reason": "no deployment authorization in force",
                        "watched_by": watchers,
                    }),
                )
                .await?;
                tx.commit().await.map_err(crate::store_error)?;
            }
            state
                .audit_denial(p, action.as_str(), "thermal_source", source, "TH-05")
                .await?;
            return Err(e);
        }
    };
    let rule = decide_deployment(state, p, action, &a, now).await?;
    Ok((a, rule))
}

/// A source pushes one frame (TH-01). Memory only (TH-03), except robot frames (TH-04).
pub async fn push(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(source): Path<String>,
    Query(q): Query<PushQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let p: &Principal = &caller;
    let now = Utc::now();
    if p.user.username != source {
        state
            .audit_denial(p, "thermal.live.push", "thermal_source", &source, "TH-05")
            .await?;
        return Err(ApiError::forbidden(
            "TH-05",
            format!(
                "wrong source: this account is thermal source {}, and a deployment authorization \
                 covers only the source it names ({source}); push under your own source name",
                p.user.username
            ),
        ));
    }
    let (a, rule) = in_force(&state, p, &source, Action::ThermalLivePush, now).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let frame = decode(&body, &content_type, &q)?;
    let (width, height) = (frame.width(), frame.height());
    let not_radiometric = frame.radiometry().reason().map(str::to_string);
    let robot = a.source_kind == SourceKind::Robot.as_str();
    if robot {
        let why = not_radiometric.as_deref();
        super::robot::retain(&state, p, &a, &body, &content_type, &q, now, why).await?;
    }
    // Publish; note whether this push starts a session.
    let (seq, started) = {
        let mut hub = lock_hub();
        let key = hub_key(&state, &source);
        let fresh = hub.get(&key).is_none_or(|s| s.authorization_id != a.id);
        if fresh {
            let (tx, _) = watch::channel(None);
            hub.insert(
                key.clone(),
                Session {
                    authorization_id: a.id,
                    seq: 0,
                    tx,
                    watchers: HashSet::new(),
                },
            );
        }
        let Some(s) = hub.get_mut(&key) else {
            return Err(ApiError::internal("live session vanished"));
        };
        s.seq += 1;
        let seq = s.seq;
        s.tx.send_replace(Some(Arc::new(Latest { seq, frame })));
        (seq, fresh)
    };
    if started {
        let mut tx = state.store.begin().await.map_err(crate::store_error)?;
        append(
            &mut tx,
            p,
            "thermal.live.start",
            &a.id.to_string(),
            serde_json::json!({ "rule": rule, "source": source, "source_kind": a.source_kind }),
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(PushView {
            seq,
            width,
            height,
            retained: robot,
            radiometric: not_radiometric.is_none(),
            temperatures: not_radiometric.as_ref().map(|_| "unavailable".to_string()),
            reason: not_radiometric,
        }),
    )
        .into_response())
}

/// The source ends its session: the latest frame is dropped (and zeroed); monitors' streams end.
pub async fn stop(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(source): Path<String>,
) -> Result<StatusCode, ApiError> {
    let p: &Principal = &caller;
    if p.user.username != source {
        state
            .audit_denial(p, "thermal.live.push", "thermal_source", &source, "TH-05")
            .await?;
        return Err(ApiError::forbidden(
            "TH-05",
            format!("wrong source: only source {source} ends its own session"),
        ));
    }
    // Decided on the deployment in force; without one, `in_force` has already ended the session.
    let (_, rule) = in_force(&state, p, &source, Action::ThermalLivePush, Utc::now()).await?;
    let removed = lock_hub().remove(&hub_key(&state, &source));
    let Some(session) = removed else {
        return Err(ApiError::not_found(format!("a live session of {source}")));
    };
    let watchers: Vec<String> = session.watchers.iter().cloned().collect();
    drop(session);
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    append(
        &mut tx,
        p,
        "thermal.live.stop",
        &source,
        serde_json::json!({ "rule": rule, "watched_by": watchers }),
    )
    .await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// How a monitor wants the frame rendered.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ViewQuery {
    /// Spot-meter position in frame pixels (default: centre).
    pub x: Option<u32>,
    pub y: Option<u32>,
    /// `iron` (default), `rainbow`, `white_hot`, `black_hot`.
    pub palette: Option<String>,
    /// Wait for a frame newer than this sequence number (up to 10 s).
    pub after: Option<u64>,
}

/// A temperature reading at a pixel.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reading {
    pub x: u32,
    pub y: u32,
    /// Degrees Celsius; `null` when outside the calibrated range.
    pub celsius: Option<f32>,
}

/// One rendered frame for a monitor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FrameView {
    pub seq: u64,
    pub width: u32,
    pub height: u32,
    pub spot: Reading,
    pub min: Reading,
    pub max: Reading,
    pub mean_c: Option<f32>,
    /// False when the source's calibration describes no measurement (placeholder constants, a
    /// non-radiometric camera model, a raw range far outside the camera's stated range): the
    /// image then shows relative intensity and every `celsius` is `null`.
    pub radiometric: bool,
    /// `"unavailable"` when not radiometric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperatures: Option<String>,
    /// Why temperatures are unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The palette image as a `data:` URL (JPEG).
    pub image: String,
}

pub(crate) fn palette(name: Option<&str>) -> Result<Palette, ApiError> {
    let name = name.unwrap_or("iron").replace('_', "-");
    Palette::ALL
        .into_iter()
        .find(|p| p.name() == name)
        .ok_or_else(|| {
            ApiError::bad_field(
                "palette",
                format!("{name:?} is not a palette: iron, rainbow, white-hot or black-hot"),
            )
        })
}

fn finite(c: f32) -> Option<f32> {
    c.is_finite().then_some(c)
}

/// Checks the viewer may watch `source` now and records the first watch of the session.
async fn admit_viewer(
    state: &AppState,
    p: &Principal,
    source: &str,
) -> Result<watch::Receiver<Option<Arc<Latest>>>, ApiError> {
    let now = Utc::now();
    let (a, rule) = in_force(state, p, source, Action::ThermalLiveView, now).await?;
    let (rx, first) = {
        let mut hub = lock_hub();
        let Some(s) = hub
            .get_mut(&hub_key(state, source))
            .filter(|s| s.authorization_id == a.id)
        else {
            return Err(ApiError::not_found(format!(
                "a live session of thermal source {source} (the source has not pushed a frame \
                 under its current authorization)"
            )));
        };
        (s.tx.subscribe(), s.watchers.insert(p.user.username.clone()))
    };
    if first {
        let mut tx = state.store.begin().await.map_err(crate::store_error)?;
        append(
            &mut tx,
            p,
            "thermal.live.watch",
            &a.id.to_string(),
            serde_json::json!({ "rule": rule, "source": source }),
        )
        .await?;
        tx.commit().await.map_err(crate::store_error)?;
    }
    Ok(rx)
}

async fn render(
    latest: Arc<Latest>,
    opts: LiveRenderOptions,
) -> Result<(u64, probity_thermal::LiveView, u32, u32), ApiError> {
    tokio::task::spawn_blocking(move || {
        let v =
            render_live(&latest.frame, &opts).map_err(|e| ApiError::bad_request(e.to_string()))?;
        Ok((latest.seq, v, latest.frame.width(), latest.frame.height()))
    })
    .await
    .map_err(|e| ApiError::internal(format!("render task: {e}")))?
}

/// The latest frame (or the next one after `after`), rendered, with spot, minimum and maximum.
pub async fn view(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(source): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, ApiError> {
    let palette = palette(q.palette.as_deref())?;
    let mut rx = admit_viewer(&state, &caller, &source).await?;
    let after = q.after.unwrap_or(0);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let latest = loop {
        let current = rx.borrow_and_update().clone();
        if let Some(l) = current.filter(|l| l.seq > after) {
            break l;
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => continue,
            Ok(Err(_)) => return Err(ApiError::not_found(format!("a live session of {source}"))),
            Err(_) => return Ok(StatusCode::NO_CONTENT.into_response()),
        }
    };
    let spot = match (q.x, q.y) {
        (Some(x), Some(y)) => Some((
            x.min(latest.frame.width().saturating_sub(1)),
            y.min(latest.frame.height().saturating_sub(1)),
        )),
        _ => None,
    };
    let opts = LiveRenderOptions {
        palette,
        spot,
        scale_bar: false,
        format: LiveImageFormat::Jpeg { quality: 85 },
        ..Default::default()
    };
    let (seq, v, width, height) = render(latest, opts).await?;
    let image = format!(
        "data:{};base64,{}",
        v.image.content_type(),
        base64::engine::general_purpose::STANDARD.encode(v.image.as_bytes())
    );
    // A frame that is not radiometric shows no temperature, whatever the renderer returned.
    let reason = v.radiometry.reason().map(str::to_string);
    let shown = |c: f32| if reason.is_some() { None } else { finite(c) };
    let body = FrameView {
        seq,
        width,
        height,
        radiometric: reason.is_none(),
        temperatures: reason.as_ref().map(|_| "unavailable".to_string()),
        spot: Reading {
            x: v.spot_at.0,
            y: v.spot_at.1,
            celsius: shown(v.spot_c),
        },
        min: Reading {
            x: v.min_at.0,
            y: v.min_at.1,
            celsius: shown(v.min_c),
        },
        max: Reading {
            x: v.max_at.0,
            y: v.max_at.1,
            celsius: shown(v.max_c),
        },
        mean_c: shown(v.mean_c),
        reason,
        image,
    };
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// Live heat-signature video as `multipart/x-mixed-replace` JPEG frames (an `<img>` plays it).
/// The stream ends when the session stops or the authorization expires.
pub async fn stream(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    Path(source): Path<String>,
    Query(q): Query<ViewQuery>,
) -> Result<Response, ApiError> {
    let palette = palette(q.palette.as_deref())?;
    let rx = admit_viewer(&state, &caller, &source).await?;
    let all = authorizations_for(&state, &source).await?;
    let expires = authorization_in_force(&source, &all, Utc::now())?.expires_at;
    let spot = q.x.zip(q.y);
    let frames = futures_util::stream::unfold((rx, 0u64), move |(mut rx, last)| async move {
        loop {
            if Utc::now() >= expires {
                return None;
            }
            let current = rx.borrow_and_update().clone();
            if let Some(l) = current.filter(|l| l.seq > last) {
                let seq = l.seq;
                let spot = spot.map(|(x, y)| {
                    (
                        x.min(l.frame.width().saturating_sub(1)),
                        y.min(l.frame.height().saturating_sub(1)),
                    )
                });
                let opts = LiveRenderOptions {
                    palette,
                    spot,
                    format: LiveImageFormat::Jpeg { quality: 80 },
                    ..Default::default()
                };
                let (_, v, _, _) = render(l, opts).await.ok()?;
                let jpeg = v.image.as_bytes();
                let mut part = Vec::with_capacity(jpeg.len() + 96);
                part.extend_from_slice(
                    format!(
                        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                        jpeg.len()
                    )
                    .as_bytes(),
                );
                part.extend_from_slice(jpeg);
                part.extend_from_slice(b"\r\n");
                return Some((Ok::<_, std::convert::Infallible>(part), (rx, seq)));
            }
            rx.changed().await.ok()?;
        }
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "multipart/x-mixed-replace; boundary=frame",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(frames),
    )
        .into_response())
}

/// Whether `source` has a live session in this server (for pages).
pub fn is_live(state: &AppState, source: &str) -> bool {
    lock_hub().contains_key(&hub_key(state, source))
}
