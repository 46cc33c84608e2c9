//! Redaction of images released under FOIL (PUB-01): the face detector proposes a box for every
//! face; the released copy is decoded from the original, every box in force is filled solid
//! (never blurred: `probity_imaging::redact_regions`), and re-encoded as a JPEG that carries no
//! metadata. The original is never written.

use image::{Rgb, RgbImage};
use probity_domain::foil::RedactionBox;
use probity_imaging::{decode_still, encode_release_jpeg, redact_regions, DecodeLimits};

use crate::error::ApiError;
use crate::state::AppState;

/// The fill of a redacted region.
pub const FILL: Rgb<u8> = Rgb([0, 0, 0]);
/// JPEG quality of released copies and previews.
const QUALITY: u8 = 90;

/// A face the detector found, in pixels of the decoded (oriented) image.
#[derive(Debug, Clone, Copy)]
pub struct Face {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
    pub score: Option<f64>,
}

pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn decode(bytes: &[u8]) -> Result<RgbImage, String> {
    decode_still(bytes, &DecodeLimits::default())
        .map(|d| d.image)
        .map_err(|e| e.to_string())
}

/// Width and height of the decoded image (boxes are in these pixels); why not, when it cannot be
/// decoded as a still (a raw NEF, a thermal frame).
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    decode(bytes).map(|i| i.dimensions())
}

/// Runs the server's face engine (the one facial recognition uses, loaded on first use) over the
/// image. Missing models are a 503 naming the fix.
pub async fn detect_faces(state: &AppState, bytes: Vec<u8>) -> Result<Vec<Face>, ApiError> {
    let fr = crate::fr::engine::get(state).await?;
    tokio::task::spawn_blocking(move || {
        let img = decode(&bytes).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                format!("the record cannot be decoded as an image: {e}"),
            )
            .with_rule(probity_domain::foil::RULE)
        })?;
        let mut engine = fr
            .engine
            .lock()
            .map_err(|_| ApiError::internal("face engine lock poisoned"))?;
        let found = engine.detect(&img).map_err(ApiError::internal)?;
        Ok(found
            .iter()
            .map(|f| Face {
                left: f.bbox.left,
                top: f.bbox.top,
                right: f.bbox.right,
                bottom: f.bbox.bottom,
                score: f.score,
            })
            .collect())
    })
    .await
    .map_err(ApiError::internal)?
}

fn to_imaging(boxes: &[RedactionBox]) -> Result<Vec<probity_imaging::RedactionBox>, ApiError> {
    boxes
        .iter()
        .map(|b| {
            let c = |v: i64| {
                u32::try_from(v).map_err(|_| ApiError::internal("stored box out of range"))
            };
            Ok(probity_imaging::RedactionBox {
                x: c(b.x)?,
                y: c(b.y)?,
                width: c(b.width)?,
                height: c(b.height)?,
            })
        })
        .collect()
}

fn undecodable(e: String) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
        "refused",
        format!("the record cannot be decoded as an image: {e}"),
    )
    .with_rule(probity_domain::foil::RULE)
}

/// The released copy: every box filled, encoded as a JPEG without metadata.
pub fn redacted_jpeg(original: &[u8], boxes: &[RedactionBox]) -> Result<Vec<u8>, ApiError> {
    let mut img = decode(original).map_err(undecodable)?;
    let boxes = to_imaging(boxes)?;
    if !boxes.is_empty() {
        redact_regions(&mut img, &boxes, FILL).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "refused",
                e.to_string(),
            )
            .with_rule(probity_domain::foil::RULE)
        })?;
    }
    encode_release_jpeg(&img, QUALITY).map_err(ApiError::internal)
}

/// The original with each box outlined (3 px, red), for the reviewer.
pub fn outlined_jpeg(original: &[u8], boxes: &[RedactionBox]) -> Result<Vec<u8>, ApiError> {
    let mut img = decode(original).map_err(undecodable)?;
    let (w, h) = img.dimensions();
    let red = Rgb([230, 0, 0]);
    for b in to_imaging(boxes)? {
        let x1 = (u64::from(b.x) + u64::from(b.width)).min(u64::from(w)) as u32;
        let y1 = (u64::from(b.y) + u64::from(b.height)).min(u64::from(h)) as u32;
        for y in b.y..y1 {
            for x in b.x..x1 {
                let edge = x < b.x + 3 || y < b.y + 3 || x + 3 >= x1 || y + 3 >= y1;
                if edge {
                    img.put_pixel(x, y, red);
                }
            }
        }
    }
    encode_release_jpeg(&img, QUALITY).map_err(ApiError::internal)
}
