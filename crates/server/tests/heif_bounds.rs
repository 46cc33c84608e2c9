//! HEIC intake with bounded resources, over HTTP on both backends (issue 20): a HEIC bomb
//! (declared 100,000 × 100,000) is refused with the limit named and nothing stored, a crash in
//! the HEIC decoder fails only that upload, and the server goes on answering; the real iPhone
//! HEIC still goes in.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Backend, TestServer};
use reqwest::StatusCode;
use serde_json::Value;

const CASE: &str = "2026-019-000101";
const NO_REP: &[(&str, &str)] = &[
    ("purpose", "crime_scene"),
    ("basis_kind", "no_reasonable_expectation_of_privacy"),
];

/// The `ispe` box declaring a size.
fn ispe(width: u32, height: u32) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0x14];
    v.extend_from_slice(b"ispe");
    v.extend_from_slice(&[0, 0, 0, 0]);
    v.extend_from_slice(&width.to_be_bytes());
    v.extend_from_slice(&height.to_be_bytes());
    v
}

/// The iPhone 8 sample with its primary image declaring 100,000 × 100,000 pixels.
fn heic_bomb() -> Vec<u8> {
    let mut bytes = common::camera_sample("apple_iphone8.heic");
    let from = ispe(4032, 3024);
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_slice())
        .expect("the sample's primary image size");
    bytes[at..at + from.len()].copy_from_slice(&ispe(100_000, 100_000));
    bytes
}

async fn upload(
    srv: &TestServer,
    c: &reqwest::Client,
    filename: &str,
    bytes: &[u8],
) -> (StatusCode, Value) {
    srv.upload_evidence(c, CASE, NO_REP, filename, bytes).await
}

async fn start(b: Backend) -> TestServer {
    // The iPhone sample is 1.5 MB; the harness default body limit is 1 MiB.
    common::start_with(b, |c| c.max_body_bytes = 8 * 1024 * 1024).await
}

/// The number of evidence items in the case.
async fn items(srv: &TestServer, c: &reqwest::Client) -> u64 {
    let (s, body) = srv.get(c, &format!("/api/cases/{CASE}/evidence")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["total"]
        .as_u64()
        .unwrap_or_else(|| panic!("no total in {body}"))
}

async fn dc_bad_input_heic_bomb_upload_refused_naming_the_limit_body(b: Backend) {
    let srv = start(b).await;
    let c = srv.login("det.rivera").await;
    let before = items(&srv, &c).await;

    let (s, report) = upload(&srv, &c, "IMG_0001.HEIC", &heic_bomb()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    assert_eq!(report["stored"], 0, "{report}");
    assert_eq!(report["files"][0]["outcome"], "refused", "{report}");
    let reason = report["files"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("declares 100000 × 100000 pixels"),
        "{reason}"
    );
    assert!(
        reason.contains("the limit is 120000000 pixels (DecodeLimits.max_pixels)"),
        "{reason}"
    );
    assert_eq!(items(&srv, &c).await, before, "nothing stored");

    // The server goes on: the real HEIC goes in, with its thumbnail.
    let real = common::camera_sample("apple_iphone8.heic");
    let (s, report) = upload(&srv, &c, "IMG_0002.HEIC", &real).await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
    assert_eq!(report["stored"], 1, "{report}");
    assert_eq!(items(&srv, &c).await, before + 1);
    let id = report["files"][0]["item_id"].as_str().expect("item id");
    let (s, body) = srv
        .get(&c, &format!("/api/cases/{CASE}/evidence/{id}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["item"]["metadata"]["model"], "iPhone 8", "{body}");
    let r = c
        .get(format!(
            "{}/api/cases/{CASE}/evidence/{id}/thumbnail",
            srv.url
        ))
        .send()
        .await
        .expect("thumbnail");
    assert_eq!(r.status(), StatusCode::OK);
    let jpeg = r.bytes().await.expect("thumbnail bytes");
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG thumbnail");
}
both!(
    dc_bad_input_heic_bomb_upload_refused_naming_the_limit,
    crate::dc_bad_input_heic_bomb_upload_refused_naming_the_limit_body
);

/// Runs only in a child process started by the test below, with `$PROBITY_HEIF_WORKER`
/// naming a decoder that crashes (so the variable never changes under other tests).
async fn sec_heic_decoder_crash_child_body(b: Backend) {
    if std::env::var_os("PROBITY_HEIF_BOUNDS_CHILD").is_none() {
        return;
    }
    let srv = start(b).await;
    let c = srv.login("det.rivera").await;
    let before = items(&srv, &c).await;
    let (s, report) = upload(
        &srv,
        &c,
        "IMG_0001.HEIC",
        &common::camera_sample("apple_iphone8.heic"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
    let reason = report["files"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("HEIC decoder crashed (signal 11, SIGSEGV) on this file"),
        "{reason}"
    );
    assert_eq!(items(&srv, &c).await, before, "nothing stored");
    // Still serving: health, and a JPEG intake.
    let r = c
        .get(format!("{}/health", srv.url))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), StatusCode::OK);
    let (s, report) = upload(
        &srv,
        &c,
        "IMG_0003.JPG",
        &common::camera_sample("apple_iphone4.jpg"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{report}");
}
both!(
    sec_heic_decoder_crash_child,
    crate::sec_heic_decoder_crash_child_body
);

fn sec_heic_decoder_crash_fails_only_that_upload(backend: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let crash = dir.path().join("segv");
    std::fs::write(&crash, "#!/bin/sh\nulimit -c 0; kill -SEGV $$\n").expect("script");
    std::fs::set_permissions(&crash, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            &format!("sec_heic_decoder_crash_child::{backend}"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PROBITY_HEIF_BOUNDS_CHILD", "1")
        .env("PROBITY_HEIF_WORKER", &crash)
        .output()
        .expect("run the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn sec_heic_decoder_crash_fails_only_that_upload_sqlite() {
    sec_heic_decoder_crash_fails_only_that_upload("sqlite");
}

#[test]
fn sec_heic_decoder_crash_fails_only_that_upload_postgres() {
    sec_heic_decoder_crash_fails_only_that_upload("postgres");
}
