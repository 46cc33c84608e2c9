//! Render time and size of the FR possible-match report PDF (FR-14), the document every
//! possible match hands out: the report's fields, notice, reviews and its two face images.
//!
//! Run: `cargo run -p probity-server --example pdf_render [iterations]` (default 50). It renders
//! the report that many times after one warm-up render and prints the mean, fastest and slowest
//! render time and the file size. No test runs it and nothing asserts on the figures.

use std::time::{Duration, Instant};

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50);
    let body = serde_json::json!({
        "kind": "possible_match",
        "case_number": "2026-019-000101",
        "request": "FR-2026-0042",
        "requester": "Det. Rivera",
        "authorized_use": "robbery investigation",
        "probe": {"still": "still-1", "source": "camera 3", "sha256": "ab".repeat(32)},
        "edits": [{"kind": "crop", "by": "Examiner Chen", "note": "cropped to the face"}],
        "algorithm": "dlib ResNet 29",
        "candidate": {"candidate": "C-7", "subject_id": "S-1", "source": "arrest", "arrest_id": "A-9", "photo_date": "2024-01-02"},
        "identified_by": "Examiner Chen",
        "background_check": {"result": "consistent"},
        "peer_reviews": [{"by": "Examiner Haddad", "concur": true, "notes": "same ear shape"}],
        "supervisor_decisions": [{"by": "Sgt. Okafor", "decision": {"decision": "approve"}}],
        "notice": probity_domain::fr_request::POSSIBLE_MATCH_NOTICE,
        "generated_at": "2026-12-04T10:00:00Z",
    });
    // Two 150x150 face crops, the size the face engine aligns to.
    let probe = image::RgbImage::from_fn(150, 150, |x, y| {
        image::Rgb([(x + y) as u8, (x * 2) as u8, (y * 3 % 256) as u8])
    });
    let candidate = image::RgbImage::from_fn(150, 150, |x, y| {
        image::Rgb([(x * 3 % 256) as u8, (x + 2 * y) as u8, 140])
    });
    let render = || {
        probity_server::fr::report::pdf(&body, Some(&probe), Some(&candidate))
            .unwrap_or_else(|e| panic!("the report does not render: {e:?}"))
    };
    let size = render().len();
    let mut times = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let start = Instant::now();
        let pdf = render();
        times.push(start.elapsed());
        assert!(!pdf.is_empty());
    }
    let total: Duration = times.iter().sum();
    let fastest = times.iter().min().copied().unwrap_or_default();
    let slowest = times.iter().max().copied().unwrap_or_default();
    println!(
        "FR possible-match report: {iterations} renders, mean {:.2} ms, fastest {:.2} ms, \
         slowest {:.2} ms, {size} bytes",
        total.as_secs_f64() * 1000.0 / f64::from(iterations),
        fastest.as_secs_f64() * 1000.0,
        slowest.as_secs_f64() * 1000.0,
    );
}
