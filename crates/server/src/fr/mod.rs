//! Facial recognition casework: the policy's workflow from the request for analysis to the possible
//! match or negative report, enforced end to end (FR-01..FR-22, FR-25).
//!
//! Every step is a transition of the domain's FR request state machine
//! ([`probity_domain::fr_request`]), asked of the policy engine with the specific `FrRequest`
//! resource before it runs, and written with its audit entry in one transaction:
//! - request for analysis: case, one authorized use (exact wording shown), stills (JPEG/PNG/HEIC,
//!   at most 12, typed by content; no video or stream, FR-17) with their source; body-worn camera
//!   stills need the justification (FR-16); missing parts are listed (FR-04);
//! - FR investigator: basis confirmed (FR-05), probe and quality verdict with measured quality
//!   (FR-06; unsuitable returns the request), edits: brightness, crop, rotate only, with before and
//!   after hashes over the untouched original (FR-07);
//! - supervisor discussion acknowledged before any search (FR-22);
//! - search with the active algorithm: the pool (default 50, `PROBITY_FR_POOL_SIZE`) stored with
//!   scores, ranks and algorithm version; FR staff only (FR-08, FR-15); sealed records never shown
//!   (FR-02: the index excludes them and every result is re-checked against the database);
//! - facial identification per candidate (FR-09), background check of the one proposed candidate
//!   by the requester, unapproved, without scores (FR-10), peer review (FR-11), supervisor approval
//!   or send-back (FR-12), separation of duties by the domain;
//! - reports attached to the case, on screen and as PDF (FR-13, FR-14); an FR match as arrest basis
//!   needs corroborating evidence by the assigned investigator (FR-15); outside-repository searches
//!   need the three officials (FR-18); outside agencies' requests are logged (FR-20); oversight counts.
//!
//! The photo repository is filled only by a manifest import (FR-01); probes are stored apart and
//! can never be enrolled (FR-03).

pub mod algorithms;
pub mod api;
pub mod engine;
pub mod gallery;
pub mod gallery_quality;
pub mod pages;
pub mod protected_traits;
pub mod report;
pub mod workflow;

use axum::http::Method as M;
use axum::routing::{get, post};

use crate::routes::{Access, RouteTable};

/// Declares every route of the concern.
pub fn routes(t: RouteTable) -> RouteTable {
    let t = algorithms::routes(t);
    let t = gallery_quality::routes(t);
    t.add(
        M::POST,
        "/api/cases/{case}/fr-requests",
        Access::on_case("case.read"),
        "Request facial recognition analysis (multipart: authorized_use or unforeseen_use (FR-19), external_request (FR-20), still_N, source_N; FR-04)",
        post(api::create),
    )
    .add(
        M::GET,
        "/api/fr/authorized-uses",
        Access::SignedIn,
        "The closed list of authorized uses with their policy wording (FR-05)",
        get(api::authorized_uses),
    )
    .add(
        M::GET,
        "/api/fr/queue",
        Access::action("fr.queue.read"),
        "FR investigators' queue",
        get(api::queue),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}",
        Access::in_handler("fr.request.*"),
        "A request for analysis (FR staff: full record; requester: the requester's view, FR-15)",
        get(api::read),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/stills",
        Access::in_handler("fr.request.*"),
        "Add stills to a returned request and resubmit (FR-06)",
        post(api::add_stills),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/confirm-basis",
        Access::in_handler("fr.request.*"),
        "Confirm the authorized use (FR-05)",
        post(api::confirm_basis),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/stills/{n}/quality",
        Access::in_handler("fr.request.*"),
        "Measured quality of one still (FR-06)",
        get(api::measure),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/stills/{n}/image",
        Access::in_handler("fr.request.*"),
        "A still as submitted, or the probe after its edits (?edited=1), PNG",
        get(api::still_image),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/quality",
        Access::in_handler("fr.request.*"),
        "Select the probe and record the quality verdict with reasons (FR-06)",
        post(api::quality),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/edits",
        Access::in_handler("fr.request.*"),
        "Adjust the probe: brightness, crop or rotate only (FR-07)",
        post(api::edit),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/discussion",
        Access::in_handler("fr.request.*"),
        "Acknowledge the supervisor discussion of the use (FR-22)",
        post(api::discussion),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/outside-repository/approvals",
        Access::in_handler("fr.request.*"),
        "An official's approval of a comparison outside the repository (FR-18)",
        post(api::outside_approval),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/unforeseen-use/approvals",
        Access::in_handler("fr.request.*"),
        "An official's decision for a use not foreseen by policy (FR-19)",
        post(api::unforeseen_approval),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/search",
        Access::in_handler("fr.request.*"),
        "Search the photo repository with the active algorithm (FR-08)",
        post(api::search),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/candidates",
        Access::in_handler("fr.request.*"),
        "The candidate pool with scores (FR staff only, FR-15)",
        get(api::candidates),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/candidates/{candidate}/photo",
        Access::in_handler("fr.request.*"),
        "A candidate's repository photo (FR staff; the requester only the proposed one)",
        get(api::candidate_photo),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/identification",
        Access::in_handler("fr.request.*"),
        "Record the facial identification per candidate (FR-09)",
        post(api::identification),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/proposed",
        Access::in_handler("fr.request.*"),
        "The proposed candidate, unapproved, for the background check (FR-10)",
        get(api::proposed),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/background-check",
        Access::in_handler("fr.request.*"),
        "Record the background check (FR-10)",
        post(api::background_check),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/peer-review",
        Access::in_handler("fr.request.*"),
        "Peer review by another FR investigator (FR-11)",
        post(api::peer_review),
    )
    .add(
        M::POST,
        "/api/fr/requests/{id}/supervisor-review",
        Access::in_handler("fr.request.*"),
        "Approve, send back or reject (FR-12)",
        post(api::supervisor_review),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/report",
        Access::in_handler("fr.request.*"),
        "The possible match or negative report (FR-13, FR-14)",
        get(api::report),
    )
    .add(
        M::GET,
        "/api/fr/requests/{id}/report.pdf",
        Access::in_handler("fr.request.*"),
        "The report as PDF (FR-14)",
        get(api::report_pdf),
    )
    .add(
        M::POST,
        "/api/cases/{case}/fr-entries",
        Access::on_case("case.read"),
        "Record corroborating evidence, or an FR match as arrest basis (FR-15)",
        post(api::case_entry),
    )
    .add(
        M::POST,
        "/api/fr/external-requests",
        Access::action("fr.external_request.create"),
        "Document an outside agency's request (FR-20)",
        post(api::external_create),
    )
    .add(
        M::GET,
        "/api/fr/external-requests",
        Access::action("fr.external_request.read"),
        "Outside agencies' requests (FR-20)",
        get(api::external_list),
    )
    .add(
        M::GET,
        "/api/fr/oversight",
        Access::action("report.oversight"),
        "Counts for oversight: requests by use and outcome, time per step, approvals, outside requests",
        get(api::oversight),
    )
    .add(
        M::GET,
        "/api/fr/gallery",
        Access::action("fr.gallery.read"),
        "The photo repository in figures",
        get(api::gallery_status),
    )
    .add(
        M::GET,
        "/api/fr/gallery/records",
        Access::action("fr.gallery.seal"),
        "One page of the photo repository's records for the records officer who seals them, as on the repository page: identifiers, source, photo date, sealing (FR-01, FR-02)",
        get(api::gallery_records_api),
    )
    .add(
        M::POST,
        "/api/fr/gallery/import",
        Access::action("fr.gallery.import"),
        "Import arrest and parole photographs from a manifest (multipart: manifest + files; FR-01, FR-03)",
        post(api::gallery_import),
    )
    .add(
        M::POST,
        "/api/fr/gallery/arrests/{arrest}/seal",
        Access::action("fr.gallery.seal"),
        "Seal or unseal an arrest's photographs (FR-02)",
        post(api::gallery_seal),
    )
    // Web pages
    .add(
        M::GET,
        "/fr",
        Access::action("fr.queue.read"),
        "FR queue page",
        get(pages::queue),
    )
    .add(
        M::GET,
        "/cases/{case}/fr/new",
        Access::on_case("case.read"),
        "Request facial recognition analysis (form)",
        get(pages::new_request),
    )
    .add(
        M::POST,
        "/cases/{case}/fr",
        Access::on_case("case.read"),
        "Submit a request for analysis (form)",
        post(pages::create_request),
    )
    .add(
        M::GET,
        "/fr/requests/{id}",
        Access::in_handler("fr.request.*"),
        "A request for analysis (page)",
        get(pages::request),
    )
    .add(
        M::POST,
        "/fr/requests/{id}/step",
        Access::in_handler("fr.request.*"),
        "One workflow step (form)",
        post(pages::step),
    )
    .add(
        M::POST,
        "/fr/requests/{id}/stills",
        Access::in_handler("fr.request.*"),
        "Add stills to a returned request (form, FR-06)",
        post(pages::add_stills),
    )
    .add(
        M::GET,
        "/fr/requests/{id}/compare/{candidate}",
        Access::in_handler("fr.request.*"),
        "Side-by-side facial identification page (FR-09)",
        get(pages::compare),
    )
    .add(
        M::GET,
        "/fr/external-requests",
        Access::action("fr.external_request.read"),
        "Outside agencies' requests (page, FR-20)",
        get(pages::external_requests),
    )
    .add(
        M::POST,
        "/fr/external-requests",
        Access::action("fr.external_request.create"),
        "Document an outside agency's request (form, FR-20)",
        post(pages::document_external),
    )
    .add(
        M::GET,
        "/fr/oversight",
        Access::action("report.oversight"),
        "Facial recognition in figures (page)",
        get(pages::oversight),
    )
    .add(
        M::GET,
        "/fr/gallery",
        Access::action("fr.gallery.seal"),
        "The photo repository: figures, records and sealing (page, FR-02)",
        get(pages::gallery),
    )
    .add(
        M::POST,
        "/fr/gallery/seal",
        Access::action("fr.gallery.seal"),
        "Seal or unseal an arrest's photographs (form, FR-02)",
        post(pages::seal),
    )
    .add(
        M::GET,
        "/fr/requests/{id}/report",
        Access::in_handler("fr.request.*"),
        "Report page (FR-13, FR-14)",
        get(pages::report),
    )
}

/// Pictures for the demonstration gallery: `$PROBITY_TEST_DATA/faces/lfw` (LFW, research use).
pub const DEMO_GALLERY_SIZE: usize = 16;

/// The LFW identities the demonstration gallery uses: the first [`DEMO_GALLERY_SIZE`] names
/// (sorted) with at least three images; image 2 of each is enrolled (image 1 stays a probe).
pub fn demo_identities(lfw: &std::path::Path) -> Vec<String> {
    identities_with_three_images(lfw, DEMO_GALLERY_SIZE)
}

/// Up to `limit` identities of a development face folder (one folder per person) that have at
/// least three images, alphabetically: image 2 goes to the repository, image 1 is a probe.
pub fn identities_with_three_images(lfw: &std::path::Path, limit: usize) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(lfw) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .filter(|n| {
            std::fs::read_dir(lfw.join(n))
                .map(|d| d.count() >= 3)
                .unwrap_or(false)
        })
        .take(limit)
        .collect()
}

/// Seeds a small demonstration photo repository when asked (`PROBITY_DEMO_GALLERY=1`), the
/// repository is empty, the development faces (`$PROBITY_TEST_DATA`, default `../shared/data`)
/// and the models are present. Subjects are pseudonymous ("Demo Subject 0001"); without the faces
/// or the models the repository stays empty and the pages say so.
pub async fn seed_demo(store: &probity_store::Store) -> anyhow::Result<usize> {
    if !std::env::var("PROBITY_DEMO_GALLERY").is_ok_and(|v| !v.is_empty() && v != "0") {
        return Ok(0);
    }
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("../shared/data"));
    let lfw = base.join("faces").join("lfw");
    let names = demo_identities(&lfw);
    if names.is_empty() {
        tracing::warn!(folder = %lfw.display(), "no development faces: the demo photo repository stays empty");
        return Ok(0);
    }
    let spec = match engine::active_spec(store).await {
        Ok(s) => s,
        Err(e) => anyhow::bail!("{}", e.detail),
    };
    let algorithm = spec.id().to_string();
    let mut tx = store.begin_read().await?;
    let (records, _, _) = probity_store::gallery::counts(&mut tx, &algorithm).await?;
    tx.commit().await?;
    if records > 0 {
        return Ok(0);
    }
    let engine = match tokio::task::spawn_blocking(move || engine::open_engine(spec)).await? {
        Ok(e) => std::sync::Mutex::new(e),
        Err(e) => {
            tracing::warn!(reason = %e.detail, "the demo photo repository stays empty");
            return Ok(0);
        }
    };
    let mut imported = 0;
    for (i, name) in names.iter().enumerate() {
        let file = lfw.join(name).join(format!("{name}_0002.jpg"));
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        let row = gallery::ManifestRow {
            line: i + 2,
            file: file.display().to_string(),
            subject_id: format!("Demo Subject {:04}", i + 1),
            source: if i % 4 == 3 { "parole" } else { "arrest" }.into(),
            arrest_id: format!("DEMO-A-{:04}", i + 1),
            photo_date: format!("2021-{:02}-{:02}", i % 12 + 1, i % 27 + 1),
        };
        match gallery::import_one(store, &engine, &row, &bytes, "system:demo").await {
            Ok(_) => imported += 1,
            Err(reason) => {
                tracing::warn!(file = %file.display(), %reason, "demo photo not imported")
            }
        }
    }
    Ok(imported)
}
