//! The demonstration's live thermal source: a real radiometric sample file, decoded to
//! temperatures once, pushed as the source [`super::activity::LIVE_SOURCE`] twice a second
//! through the server's own push handler (the same checks as a camera's push: its account,
//! the authorization in force, the policy's decision on the deployment). A window slides over
//! the picture so the live view moves. Frames stay in memory, like any live frame (TH-03).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};

use super::activity::{principal, radiometric_samples, test_data, LIVE_SOURCE};
use crate::authz::SignedIn;
use crate::state::AppState;
use crate::thermal::live::{push, PushQuery, RAW16_MEDIA_TYPE};

/// Frames per second of the demonstration source.
const FPS: u64 = 2;
/// Linear calibration of the pushed frames: °C = raw × SCALE + OFFSET.
const SCALE: f64 = 0.01;
const OFFSET: f64 = -273.15;

/// The decoded sample: temperatures in °C, row-major.
struct Scene {
    name: String,
    width: u32,
    height: u32,
    celsius: Vec<f32>,
}

fn scene(dir: &Path) -> Option<Scene> {
    // The largest sample that decodes gives the most to look at.
    let mut best: Option<Scene> = None;
    for (path, bytes) in radiometric_samples(dir) {
        let Ok(img) = probity_thermal::decode(&bytes, &Default::default()) else {
            continue;
        };
        let Ok(map) = img.temperatures() else {
            continue;
        };
        if best
            .as_ref()
            .is_some_and(|b| b.width * b.height >= map.width() * map.height())
        {
            continue;
        }
        best = Some(Scene {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            width: map.width(),
            height: map.height(),
            celsius: map.celsius().to_vec(),
        });
    }
    best
}

impl Scene {
    /// Frame `n`: a window of three quarters of the picture, moving back and forth across it.
    fn frame(&self, n: u64) -> (u32, u32, Vec<u8>) {
        let (w, h) = ((self.width * 3 / 4).max(1), (self.height * 3 / 4).max(1));
        let (room_x, room_y) = (self.width - w, self.height - h);
        let sweep = |room: u32, period: u64| -> u32 {
            if room == 0 {
                return 0;
            }
            let t = n % (2 * period);
            let t = if t < period { t } else { 2 * period - t };
            (u64::from(room) * t / period) as u32
        };
        let (x0, y0) = (sweep(room_x, 40), sweep(room_y, 60));
        let mut out = Vec::with_capacity((w * h * 2) as usize);
        for y in y0..y0 + h {
            for x in x0..x0 + w {
                let c = self
                    .celsius
                    .get((y * self.width + x) as usize)
                    .copied()
                    .unwrap_or(f32::NAN);
                let raw = if c.is_finite() {
                    ((f64::from(c) - OFFSET) / SCALE)
                        .round()
                        .clamp(0.0, 65535.0) as u16
                } else {
                    0
                };
                out.extend_from_slice(&raw.to_le_bytes());
            }
        }
        (w, h, out)
    }
}

/// Starts the live source in the background when a radiometric sample is there. Returns what it
/// replays, or why it could not start.
pub fn spawn(state: AppState) -> Result<String, String> {
    let dir = test_data().join("thermal");
    let Some(scene) = scene(&dir) else {
        return Err(format!(
            "no decodable radiometric sample in {} (set PROBITY_TEST_DATA)",
            dir.display()
        ));
    };
    let what = format!(
        "{LIVE_SOURCE} replays {} ({}x{}) at {FPS} frames a second",
        scene.name, scene.width, scene.height
    );
    tokio::spawn(run(state, scene));
    Ok(what)
}

async fn run(state: AppState, scene: Scene) {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(RAW16_MEDIA_TYPE),
    );
    let mut ticker = tokio::time::interval(Duration::from_millis(1000 / FPS));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut caller = None;
    let mut refused_before = false;
    for n in 0u64.. {
        ticker.tick().await;
        // The source's access is computed again every minute, as a new session would.
        if n % (60 * FPS) == 0 {
            caller = principal(&state, LIVE_SOURCE).await.ok().map(Arc::new);
        }
        let Some(p) = caller.clone() else {
            continue;
        };
        let (width, height, body) = scene.frame(n);
        let q = PushQuery {
            width: Some(width),
            height: Some(height),
            scale: Some(SCALE),
            offset: Some(OFFSET),
        };
        let r = push(
            State(state.clone()),
            SignedIn(p),
            UrlPath(LIVE_SOURCE.to_string()),
            Query(q),
            headers.clone(),
            Bytes::from(body),
        )
        .await;
        match r {
            Ok(_) => refused_before = false,
            Err(e) => {
                if !refused_before {
                    tracing::warn!(source = LIVE_SOURCE, detail = %e.detail, rule = ?e.rule,
                        "demo live source refused; it tries again in 5 minutes");
                }
                refused_before = true;
                tokio::time::sleep(Duration::from_secs(300)).await;
            }
        }
    }
}
