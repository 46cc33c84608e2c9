//! Digital camera evidence: intake from cards and uploads, chain of custody, camera custody and
//! discovery packages.
//!
//! Rules enforced here (through the domain and the policy, never by local logic):
//! - DC-01 / DC-02: every intake records a purpose and a legal basis validated by the domain
//!   (warrant fields; exigency with all four findings and a listed statute; flight risk alone is
//!   refused). The basis is shown on every item.
//! - DC-05: a card gets a signed "safe to clear" certificate only after every stored original
//!   was read back and its SHA-256 matched; one bad file means no certificate, and the report
//!   names it.
//! - DC-06: originals are kept bit for bit in the encrypted blob store with SHA-256, camera
//!   metadata, importer and custody history; no route changes or deletes an original.
//! - DC-04: cameras are inventoried, assigned and inspected; overdue inspections and intakes
//!   whose camera serial matches no inventoried, assigned device are listed for the supervisor.
//! - DC-07: discovery packages with a signed manifest; `probity discovery verify` checks them
//!   offline against a key the recipient trusts (the server publishes its key; the key a
//!   package carries is never trusted).
//! - FR-25 / DC-03: the policy's political-activity rule decides every intake and read (the
//!   item carries the case's flag).
//! - SEC-04: every view, download, export and change of an item is audited; the gallery view is
//!   one audit entry on the case listing the items shown (thumbnails are not audited one by one).

pub mod api;
pub mod devices;
pub mod discovery;
pub mod intake;
pub mod pages;
pub mod view;

use axum::http::Method as M;
use axum::routing::{get, post};

use crate::routes::{Access, RouteTable};

pub use intake::{ingest_card, ingest_upload, CaptureRecord, IntakeReport};

/// The routes of this concern.
pub fn routes(t: RouteTable) -> RouteTable {
    t.add(
        M::GET,
        "/api/cases/{case}/evidence",
        Access::on_case("case.read"),
        "Evidence items of a case (one audited gallery view)",
        get(api::list),
    )
    .add(
        M::POST,
        "/api/cases/{case}/evidence",
        Access::on_case("case.read"),
        "Upload one camera original (multipart: file, purpose, basis) (DC-01, DC-02, DC-06)",
        post(api::upload),
    )
    .add(
        M::GET,
        "/api/cases/{case}/evidence/{item}",
        Access::on_case("case.read"),
        "An evidence item with metadata, legal basis and custody history (audited)",
        get(api::item),
    )
    .add(
        M::GET,
        "/api/cases/{case}/evidence/{item}/original",
        Access::on_case("case.read"),
        "Download the original, bit for bit (audited)",
        get(api::original),
    )
    .add(
        M::GET,
        "/api/cases/{case}/evidence/{item}/thumbnail",
        Access::on_case("case.read"),
        "Thumbnail (precomputed at intake, cacheable)",
        get(api::thumbnail),
    )
    .add(
        M::GET,
        "/api/cases/{case}/intakes",
        Access::on_case("case.read"),
        "Intakes of a case with per-file results and certificates (DC-05)",
        get(api::intakes),
    )
    .add(
        M::POST,
        "/api/cases/{case}/discovery",
        Access::on_case("case.read"),
        "Discovery package (.tar) of chosen items for the prosecutor (DC-07)",
        post(api::discovery),
    )
    .add(
        M::GET,
        "/api/discovery/signing-key",
        Access::Public,
        "The Ed25519 key that signs discovery manifests, to verify packages with (DC-07)",
        get(discovery::signing_key),
    )
    .add(
        M::GET,
        "/api/devices",
        Access::rows("device.manage"),
        "Cameras the caller accounts for, with inspection status (DC-04)",
        get(api::list_devices),
    )
    .add(
        M::POST,
        "/api/devices",
        Access::in_handler("device.manage, device.inspect"),
        "Inventory a camera (DC-04)",
        post(api::create_device),
    )
    .add(
        M::POST,
        "/api/devices/{device}/assignment",
        Access::in_handler("device.manage, device.inspect"),
        "Assign a camera to a member or end the assignment (DC-04)",
        post(api::assign_device),
    )
    .add(
        M::POST,
        "/api/devices/{device}/inspections",
        Access::in_handler("device.manage, device.inspect"),
        "Record a supervisor's inspection (DC-04)",
        post(api::inspect_device),
    )
    .add(
        M::POST,
        "/api/devices/{device}/interval",
        Access::in_handler("device.manage, device.inspect"),
        "Change a camera's inspection interval (DC-04)",
        post(api::device_interval),
    )
    .add(
        M::GET,
        "/cases/{case}/evidence",
        Access::on_case("case.read"),
        "Evidence gallery of a case",
        get(pages::gallery),
    )
    .add(
        M::POST,
        "/cases/{case}/evidence",
        Access::on_case("case.read"),
        "Upload a camera original (form)",
        post(pages::upload),
    )
    .add(
        M::GET,
        "/cases/{case}/evidence/{item}",
        Access::on_case("case.read"),
        "Evidence item page",
        get(pages::item),
    )
    .add(
        M::GET,
        "/devices",
        Access::rows("device.manage"),
        "Cameras: inventory, assignments, overdue inspections, flagged intakes (DC-04)",
        get(pages::devices),
    )
    .add(
        M::POST,
        "/devices",
        Access::in_handler("device.manage, device.inspect"),
        "Inventory a camera (form)",
        post(pages::create_device),
    )
    .add(
        M::POST,
        "/devices/{device}/assignment",
        Access::in_handler("device.manage, device.inspect"),
        "Assign a camera (form)",
        post(pages::assign_device),
    )
    .add(
        M::POST,
        "/devices/{device}/inspections",
        Access::in_handler("device.manage, device.inspect"),
        "Record an inspection (form)",
        post(pages::inspect_device),
    )
}

/// Demonstration cameras for PCT-019 (DC-04): one assigned and inspected, one never inspected
/// (shown as overdue on the supervisor's page). Pseudonymous, invented serials.
pub async fn seed_demo(tx: &mut probity_store::Tx) -> anyhow::Result<()> {
    use probity_store::{audit, devices, users};
    let rivera = users::get_by_username(tx, "det.rivera")
        .await?
        .map(|u| u.id);
    let cameras = [
        (
            "camera",
            "NIKON CORPORATION",
            "NIKON D70",
            "DEMO0001",
            rivera,
            true,
        ),
        ("phone", "Apple", "iPhone 8", "DEMO0002", None, false),
    ];
    for (kind, make, model, serial, member, inspected) in cameras {
        let d = devices::create(
            tx,
            &devices::NewDevice {
                device_type: kind.into(),
                make: make.into(),
                model: model.into(),
                serial: serial.into(),
                storage_location: "PCT-019 evidence locker (demo)".into(),
                command: "PCT-019".into(),
                inspection_interval_days: 30,
                created_by: "system:demo".into(),
            },
        )
        .await?;
        if member.is_some() {
            devices::assign(tx, d.id, member).await?;
        }
        if inspected {
            devices::inspect(tx, d.id, "system:demo", true, "demonstration data").await?;
        }
        audit::append(
            tx,
            &audit::AuditEvent {
                actor: "system:demo".into(),
                action: "device.create".into(),
                record_type: "device".into(),
                record_id: d.id.to_string(),
                reason: Some("demonstration data".into()),
                outcome: audit::Outcome::Success,
                detail: serde_json::json!({ "demo": true, "serial": serial }),
            },
        )
        .await?;
    }
    Ok(())
}
