//! Public records requests under New York's Freedom of Information Law (PUB-01).
//!
//! A request is logged by a records officer (`foil.manage`) or by anyone through the public form
//! (no account; rate-limited per client address, whose SHA-256 only is kept; a receipt number is
//! given). The officer acknowledges it with a decision date, gathers the responsive records
//! (evidence items of cases), and a FOIL reviewer (`foil.review`, never one who gathered: four
//! eyes) runs the face detector on every image, adds or removes redaction boxes (faces, plates,
//! tattoos, text) and completes the review. The officer then grants (`foil.release`: each record
//! is released as a new JPEG with every box filled, stored encrypted, logged with both hashes;
//! the original is never touched) or denies with the §87(2) exemptions cited. A denial opens the
//! thirty-day appeal window; appeals are logged and decided (`foil.appeal.decide`) within ten
//! business days. The rules are the domain's (`probity_domain::foil`); SQL is
//! `probity_store::foil`; every change is audited in its transaction.
//!
//! - [`api`]: the JSON handlers; [`pages`]: the web pages and forms; [`redaction`]: decoding,
//!   detection and the filled copy.

pub mod api;
pub mod pages;
pub mod redaction;

use std::collections::BTreeSet;
use std::str::FromStr;

use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use probity_domain::foil::{
    self as rules, AppealOutcome, DecisionFacts, FoilChannel, FoilOutcome, FoilStatus,
    RedactionKind,
};
use probity_domain::DomainError;
use probity_store::{audit, foil as fstore, Tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;

/// Public-form requests one client address may log per hour (`PROBITY_FOIL_PUBLIC_PER_HOUR`).
pub const DEFAULT_PUBLIC_PER_HOUR: i64 = 5;

fn public_per_hour() -> i64 {
    std::env::var("PROBITY_FOIL_PUBLIC_PER_HOUR")
        .ok()
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PUBLIC_PER_HOUR)
}

/// Declares every FOIL route.
pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    let t = t
        .add(
            M::GET,
            "/api/foil/requests",
            Access::action("foil.read"),
            "FOIL requests with their deadlines, overdue flags and counts (PUB-01)",
            get(api::list),
        )
        .add(
            M::POST,
            "/api/foil/requests",
            Access::action("foil.manage"),
            "Log a FOIL request received by mail, e-mail or in person (PUB-01)",
            post(api::intake),
        )
        .add(
            M::POST,
            "/api/foil/public-requests",
            Access::Public,
            "Submit a FOIL request without an account; answers a receipt number (PUB-01)",
            post(api::public_intake),
        )
        .add(
            M::GET,
            "/api/foil/exemptions",
            Access::action("foil.read"),
            "The exemptions of Public Officers Law §87(2) (a)-(t) with their wording",
            get(api::exemptions),
        )
        .add(
            M::GET,
            "/api/foil/counts",
            Access::action("foil.read"),
            "FOIL counts: received, acknowledged late, overdue, granted, denied, appealed (PUB-01)",
            get(api::counts),
        )
        .add(
            M::GET,
            "/api/foil/oversight",
            Access::action("report.oversight"),
            "FOIL counts for oversight (PUB-01, OVR-03)",
            get(api::oversight),
        )
        .add(
            M::GET,
            "/api/foil/releases",
            Access::action("foil.read"),
            "The release log: what was released to whom, with the original's and the copy's hashes",
            get(api::release_log),
        )
        .add(
            M::GET,
            "/api/foil/releases/{release}/file",
            Access::action("foil.read"),
            "A released (redacted) file",
            get(api::release_file),
        )
        .add(
            M::GET,
            "/api/foil/requests/{foil}",
            Access::action("foil.read"),
            "One FOIL request with its clock, records, boxes, releases and appeals",
            get(api::detail),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/acknowledge",
            Access::action("foil.manage"),
            "Acknowledge a FOIL request with the date of the decision (PUB-01)",
            post(api::acknowledge),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/extend",
            Access::action("foil.manage"),
            "Extend the decision date, with the reason (PUB-01)",
            post(api::extend),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/records",
            Access::action("foil.manage"),
            "Gather responsive records: a case's evidence items, or one item (PUB-01)",
            post(api::gather),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/records/{record}/detect",
            Access::action("foil.review"),
            "Run the face detector on a record: a box is proposed for every face (PUB-01)",
            post(api::detect),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/records/{record}/boxes",
            Access::action("foil.review"),
            "Add a redaction box (face, plate, tattoo, text, other) to a record (PUB-01)",
            post(api::add_box),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/records/{record}/boxes/{box}/remove",
            Access::action("foil.review"),
            "Remove a redaction box (kept, marked removed) (PUB-01)",
            post(api::remove_box),
        )
        .add(
            M::GET,
            "/api/foil/requests/{foil}/records/{record}/image",
            Access::action("foil.read"),
            "A record's image with its boxes outlined (view=original) or filled (view=redacted)",
            get(api::image),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/review",
            Access::action("foil.review"),
            "Complete the review of the records and their redactions (four eyes, PUB-01)",
            post(api::review),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/decision",
            Access::action("foil.release"),
            "Grant (release the redacted copies) or deny, citing the exemptions (PUB-01)",
            post(api::decide),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/appeals",
            Access::action("foil.manage"),
            "Log an appeal of a denial, within thirty days of it (PUB-01)",
            post(api::appeal),
        )
        .add(
            M::POST,
            "/api/foil/requests/{foil}/appeals/decision",
            Access::action("foil.appeal.decide"),
            "Decide the pending appeal: upheld or reversed, with the reason (PUB-01)",
            post(api::decide_appeal),
        );
    pages::routes(t)
}

// ------------------------------------------------------------------ errors

/// A domain refusal of bad input: 422 naming the rule (PUB-01); a missing part lists it.
pub fn refused(e: DomainError) -> ApiError {
    match &e {
        DomainError::Refused { rule, .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
                .with_rule(rule.to_string())
        }
        DomainError::UnknownValue { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", e.to_string())
                .with_rule(rules::RULE)
        }
        _ => crate::domain_error(e),
    }
}

fn store_err(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::from_str(raw.trim()).map_err(|_| ApiError::not_found(format!("{what} {raw}")))
}

fn parse_date(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| ApiError::bad_field(field, format!("{d:?} is not a date (YYYY-MM-DD)"))),
    }
}

fn status_of(r: &fstore::Request) -> Result<FoilStatus, ApiError> {
    FoilStatus::from_str(&r.status).map_err(ApiError::internal)
}

/// Today in New York, whose business days the statute counts.
pub fn today(now: DateTime<Utc>) -> NaiveDate {
    rules::new_york_date(now)
}

// ------------------------------------------------------------------ views

/// A request's clock: what is due next and whether it is overdue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ClockView {
    /// `acknowledge`, `decide`, `decide_appeal` or `none`.
    pub next: String,
    pub due: Option<String>,
    pub overdue: bool,
    pub business_days_overdue: u32,
}

/// A FOIL request as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub id: String,
    pub receipt: String,
    /// `officer` or `public`.
    pub channel: String,
    pub requester: String,
    pub contact: String,
    pub description: String,
    pub received_on: String,
    pub logged_by: Option<String>,
    /// `received`, `acknowledged`, `granted`, `denied`, `appealed`, `appeal_decided`.
    pub status: String,
    pub acknowledge_by: String,
    pub acknowledged_on: Option<String>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_late: bool,
    pub decision_by: Option<String>,
    pub extension_reason: Option<String>,
    pub review_completed_by: Option<String>,
    pub review_completed_at: Option<String>,
    pub review_notes: Option<String>,
    pub outcome: Option<String>,
    /// Citations of the exemptions relied on (`POL §87(2)(b)`).
    pub exemptions: Vec<String>,
    pub decided_on: Option<String>,
    pub decided_by: Option<String>,
    pub decision_notes: Option<String>,
    pub recipient: Option<String>,
    /// The last day to appeal a denial (thirty days after it).
    pub appeal_by: Option<String>,
    pub clock: ClockView,
}

fn d(x: Option<NaiveDate>) -> Option<String> {
    x.map(|d| d.to_string())
}

fn citations(letters: &[String]) -> Vec<String> {
    letters
        .iter()
        .map(|l| {
            rules::exemption(l)
                .map(|e| e.citation.to_string())
                .unwrap_or_else(|_| l.clone())
        })
        .collect()
}

/// The due date of the pending appeal, if any.
fn pending_appeal_due(appeals: &[fstore::Appeal]) -> Option<NaiveDate> {
    appeals
        .iter()
        .filter(|a| a.outcome.is_none())
        .map(|a| a.decide_by)
        .min()
}

pub fn view(r: &fstore::Request, appeals: &[fstore::Appeal], today: NaiveDate) -> RequestView {
    let status = FoilStatus::from_str(&r.status).unwrap_or(FoilStatus::Received);
    let ack_by = rules::acknowledge_by(r.received_on);
    let clock = rules::clock(
        status,
        r.received_on,
        r.decision_by,
        pending_appeal_due(appeals),
        today,
    );
    let withheld = r.outcome.as_deref() == Some("deny") || !r.exemptions.is_empty();
    RequestView {
        id: r.id.to_string(),
        receipt: r.receipt.clone(),
        channel: r.channel.clone(),
        requester: r.requester.clone(),
        contact: r.contact.clone(),
        description: r.description.clone(),
        received_on: r.received_on.to_string(),
        logged_by: r.logged_by.clone(),
        status: r.status.clone(),
        acknowledge_by: ack_by.to_string(),
        acknowledged_on: d(r.acknowledged_on),
        acknowledged_by: r.acknowledged_by.clone(),
        acknowledged_late: r.acknowledged_on.is_some_and(|a| a > ack_by),
        decision_by: d(r.decision_by),
        extension_reason: r.extension_reason.clone(),
        review_completed_by: r.review_completed_by.clone(),
        review_completed_at: r.review_completed_at.map(|t| t.to_rfc3339()),
        review_notes: r.review_notes.clone(),
        outcome: r.outcome.clone(),
        exemptions: citations(&r.exemptions),
        decided_on: d(r.decided_on),
        decided_by: r.decided_by.clone(),
        decision_notes: r.decision_notes.clone(),
        recipient: r.recipient.clone(),
        appeal_by: if withheld {
            r.decided_on.map(|x| rules::appeal_by(x).to_string())
        } else {
            None
        },
        clock: ClockView {
            next: clock.next.to_string(),
            due: d(clock.due),
            overdue: clock.overdue,
            business_days_overdue: clock.business_days_overdue,
        },
    }
}

/// A redaction box.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoxView {
    pub id: String,
    pub x: i64,
    pub y: i64,
    pub width: i64,
    pub height: i64,
    /// `face`, `plate`, `tattoo`, `text`, `other`.
    pub kind: String,
    /// `detector` or `reviewer`.
    pub source: String,
    pub note: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub removed_by: Option<String>,
    pub removed_at: Option<String>,
}

fn box_view(b: &fstore::Redaction) -> BoxView {
    BoxView {
        id: b.id.to_string(),
        x: b.x,
        y: b.y,
        width: b.width,
        height: b.height,
        kind: b.kind.clone(),
        source: b.source.clone(),
        note: b.note.clone(),
        created_by: b.created_by.clone(),
        created_at: b.created_at.to_rfc3339(),
        removed_by: b.removed_by.clone(),
        removed_at: b.removed_at.map(|t| t.to_rfc3339()),
    }
}

/// A responsive record with its redaction boxes.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecordView {
    pub id: String,
    pub evidence_item_id: String,
    pub case_number: String,
    pub original_filename: String,
    /// SHA-256 of the original, which is never changed.
    pub source_sha256: String,
    pub width: u32,
    pub height: u32,
    pub gathered_by: String,
    pub gathered_at: String,
    pub faces_detected_at: Option<String>,
    pub faces_detected_by: Option<String>,
    pub faces_found: Option<i64>,
    /// Boxes in force.
    pub boxes: Vec<BoxView>,
    /// Boxes removed (kept for the record).
    pub removed_boxes: Vec<BoxView>,
}

fn record_view(r: &fstore::Record, boxes: &[fstore::Redaction]) -> RecordView {
    RecordView {
        id: r.id.to_string(),
        evidence_item_id: r.evidence_item_id.to_string(),
        case_number: r.case_number.clone(),
        original_filename: r.original_filename.clone(),
        source_sha256: r.source_sha256.clone(),
        width: r.width,
        height: r.height,
        gathered_by: r.gathered_by.clone(),
        gathered_at: r.gathered_at.to_rfc3339(),
        faces_detected_at: r.faces_detected_at.map(|t| t.to_rfc3339()),
        faces_detected_by: r.faces_detected_by.clone(),
        faces_found: r.faces_found,
        boxes: boxes
            .iter()
            .filter(|b| b.removed_at.is_none())
            .map(box_view)
            .collect(),
        removed_boxes: boxes
            .iter()
            .filter(|b| b.removed_at.is_some())
            .map(box_view)
            .collect(),
    }
}

/// One entry of the release log.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseView {
    pub id: String,
    pub request_id: String,
    pub record_id: String,
    /// The stored released copy (a new blob; the original is untouched).
    pub blob_id: String,
    /// SHA-256 of the original evidence item.
    pub source_sha256: String,
    /// SHA-256 of the released copy.
    pub released_sha256: String,
    pub recipient: String,
    pub exemptions: Vec<String>,
    /// Redaction boxes filled in the copy.
    pub boxes: i64,
    pub released_by: String,
    pub released_at: String,
}

fn release_view(r: &fstore::Release) -> ReleaseView {
    ReleaseView {
        id: r.id.to_string(),
        request_id: r.request_id.to_string(),
        record_id: r.record_id.to_string(),
        blob_id: r.blob_id.to_string(),
        source_sha256: r.source_sha256.clone(),
        released_sha256: r.released_sha256.clone(),
        recipient: r.recipient.clone(),
        exemptions: citations(&r.exemptions),
        boxes: r.boxes,
        released_by: r.released_by.clone(),
        released_at: r.released_at.to_rfc3339(),
    }
}

/// An appeal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppealView {
    pub id: String,
    pub received_on: String,
    pub grounds: String,
    /// Ten business days after receipt.
    pub decide_by: String,
    pub logged_by: String,
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub decided_on: Option<String>,
    pub decided_by: Option<String>,
    pub overdue: bool,
}

fn appeal_view(a: &fstore::Appeal, today: NaiveDate) -> AppealView {
    AppealView {
        id: a.id.to_string(),
        received_on: a.received_on.to_string(),
        grounds: a.grounds.clone(),
        decide_by: a.decide_by.to_string(),
        logged_by: a.logged_by.clone(),
        outcome: a.outcome.clone(),
        reason: a.reason.clone(),
        decided_on: d(a.decided_on),
        decided_by: a.decided_by.clone(),
        overdue: a.outcome.is_none() && today > a.decide_by,
    }
}

/// Everything about one request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DetailView {
    pub request: RequestView,
    pub records: Vec<RecordView>,
    pub releases: Vec<ReleaseView>,
    pub appeals: Vec<AppealView>,
}

/// FOIL counts for oversight.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub received: u64,
    /// Acknowledged after the fifth business day.
    pub acknowledged_late: u64,
    /// Past the acknowledgement, decision or appeal deadline today.
    pub overdue: u64,
    pub granted: u64,
    pub denied: u64,
    /// Requests with at least one appeal.
    pub appealed: u64,
    /// Appeals decided after their ten business days.
    pub appeals_decided_late: u64,
    pub released_files: u64,
}

/// The queue: every request with its clock, and the counts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    pub requests: Vec<RequestView>,
    pub counts: Counts,
}

/// The public form's answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    /// The receipt number to quote in any correspondence.
    pub receipt: String,
    pub received_on: String,
    /// The Department acknowledges the request by this date (five business days).
    pub acknowledge_by: String,
}

// ------------------------------------------------------------------ inputs

/// A request logged by a FOIL officer.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct IntakeInput {
    #[serde(default)]
    pub requester: String,
    /// Postal address, e-mail or telephone.
    #[serde(default)]
    pub contact: String,
    /// The records requested, as described by the requester.
    #[serde(default)]
    pub description: String,
    /// `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    pub received_on: Option<String>,
}

/// A request from the public form.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PublicInput {
    #[serde(default)]
    pub requester: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AcknowledgeInput {
    /// `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    pub acknowledged_on: Option<String>,
    /// The date by which the request will be granted or denied (`YYYY-MM-DD`); twenty business
    /// days after the acknowledgement when absent.
    #[serde(default)]
    pub decision_by: Option<String>,
    /// Needed when the decision date is more than twenty business days away.
    #[serde(default)]
    pub extension_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ExtendInput {
    #[serde(default)]
    pub decision_by: Option<String>,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct GatherInput {
    /// The case number whose evidence items are responsive.
    #[serde(default)]
    pub case: String,
    /// One evidence item of the case (its id); every item of the case when absent.
    #[serde(default)]
    pub item: Option<String>,
}

/// What gathering added and what it left out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GatherReport {
    pub added: Vec<RecordView>,
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Skipped {
    pub evidence_item_id: String,
    pub original_filename: String,
    pub reason: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct BoxInput {
    #[serde(default)]
    pub x: Option<i64>,
    #[serde(default)]
    pub y: Option<i64>,
    #[serde(default)]
    pub width: Option<i64>,
    #[serde(default)]
    pub height: Option<i64>,
    /// `face`, `plate`, `tattoo`, `text` or `other`.
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ReviewInput {
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct DecisionInput {
    /// `grant` or `deny`.
    #[serde(default)]
    pub outcome: String,
    /// Paragraph letters of POL §87(2) relied on (`b`, `e`, ...): needed for a denial and for a
    /// release with redactions.
    #[serde(default)]
    pub exemptions: Vec<String>,
    /// Who receives the released copies; the requester when absent.
    #[serde(default)]
    pub recipient: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AppealInput {
    /// `YYYY-MM-DD`; today when absent.
    #[serde(default)]
    pub received_on: Option<String>,
    #[serde(default)]
    pub grounds: String,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct AppealDecisionInput {
    /// `upheld` or `reversed`.
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
}

// ------------------------------------------------------------------ audit

struct Event<'a> {
    actor: String,
    action: &'a str,
    request: Uuid,
    reason: Option<String>,
    detail: serde_json::Value,
}

async fn record(tx: &mut Tx, e: Event<'_>) -> Result<(), ApiError> {
    let mut detail = e.detail;
    if let Some(map) = detail.as_object_mut() {
        map.insert("requirement".into(), serde_json::json!(rules::RULE));
    }
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: e.actor,
            action: e.action.to_string(),
            record_type: "foil_request".into(),
            record_id: e.request.to_string(),
            reason: e.reason,
            outcome: audit::Outcome::Success,
            detail,
        },
    )
    .await
    .map_err(store_err)?;
    Ok(())
}

fn me(auth: &Authorized) -> String {
    auth.principal.user.username.clone()
}

// ------------------------------------------------------------------ loading

async fn load(tx: &mut Tx, id: Uuid) -> Result<fstore::Request, ApiError> {
    fstore::get_request(tx, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("FOIL request {id}")))
}

async fn load_raw(tx: &mut Tx, raw: &str) -> Result<fstore::Request, ApiError> {
    let id = parse_id(raw, "FOIL request")?;
    load(tx, id).await
}

async fn load_record(
    tx: &mut Tx,
    request: &fstore::Request,
    raw: &str,
) -> Result<fstore::Record, ApiError> {
    let id = parse_id(raw, "responsive record")?;
    fstore::get_record(tx, id)
        .await
        .map_err(store_err)?
        .filter(|r| r.request_id == request.id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "responsive record {id} of FOIL request {}",
                request.receipt
            ))
        })
}

async fn detail_in(
    tx: &mut Tx,
    r: &fstore::Request,
    today: NaiveDate,
) -> Result<DetailView, ApiError> {
    let appeals = fstore::appeals_of(tx, r.id).await.map_err(store_err)?;
    let records = fstore::records_of(tx, r.id).await.map_err(store_err)?;
    let mut views = Vec::with_capacity(records.len());
    for rec in &records {
        let boxes = fstore::boxes_of(tx, rec.id).await.map_err(store_err)?;
        views.push(record_view(rec, &boxes));
    }
    let releases = fstore::releases(tx, Some(r.id)).await.map_err(store_err)?;
    Ok(DetailView {
        request: view(r, &appeals, today),
        records: views,
        releases: releases.iter().map(release_view).collect(),
        appeals: appeals.iter().map(|a| appeal_view(a, today)).collect(),
    })
}

/// A change to the records or their boxes withdraws a completed review: the reviewer must see
/// what is released.
async fn withdraw_review(tx: &mut Tx, r: &fstore::Request) -> Result<bool, ApiError> {
    if r.review_completed_by.is_some() {
        fstore::set_review(tx, r.id, None, None, None)
            .await
            .map_err(store_err)?;
        return Ok(true);
    }
    Ok(false)
}

fn must_be_open(r: &fstore::Request, what: &str) -> Result<(), ApiError> {
    let status = status_of(r)?;
    if status != FoilStatus::Acknowledged {
        return Err(refused(DomainError::Refused {
            rule: rules::RULE,
            message: format!(
                "records of a request {status} cannot be {what}: only an acknowledged request awaiting its decision"
            ),
        }));
    }
    Ok(())
}

// ------------------------------------------------------------------ operations

/// One detail read, audited.
pub async fn read(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    let detail = detail_in(&mut tx, &r, today(now)).await?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.read",
            request: r.id,
            reason: None,
            detail: serde_json::json!({ "rule": auth.rule, "receipt": r.receipt }),
        },
    )
    .await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

fn count(
    requests: &[fstore::Request],
    appeals: &[fstore::Appeal],
    releases: usize,
    today: NaiveDate,
) -> Counts {
    let mut c = Counts {
        released_files: releases as u64,
        ..Counts::default()
    };
    let appealed: BTreeSet<Uuid> = appeals.iter().map(|a| a.request_id).collect();
    for r in requests {
        c.received += 1;
        let mine: Vec<fstore::Appeal> = appeals
            .iter()
            .filter(|a| a.request_id == r.id)
            .cloned()
            .collect();
        let v = view(r, &mine, today);
        if v.acknowledged_late {
            c.acknowledged_late += 1;
        }
        if v.clock.overdue {
            c.overdue += 1;
        }
        match r.outcome.as_deref() {
            Some("grant") => c.granted += 1,
            Some("deny") => c.denied += 1,
            _ => {}
        }
        if appealed.contains(&r.id) {
            c.appealed += 1;
        }
    }
    c.appeals_decided_late = appeals
        .iter()
        .filter(|a| a.decided_on.is_some_and(|d| d > a.decide_by))
        .count() as u64;
    c
}

/// The queue and the counts, audited as one read.
pub async fn queue(
    state: &AppState,
    auth: &Authorized,
    now: DateTime<Utc>,
) -> Result<QueueView, ApiError> {
    let today = today(now);
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let requests = fstore::list_requests(&mut tx, 0).await.map_err(store_err)?;
    let appeals = fstore::all_appeals(&mut tx).await.map_err(store_err)?;
    let releases = fstore::releases(&mut tx, None).await.map_err(store_err)?;
    let counts = count(&requests, &appeals, releases.len(), today);
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "foil.list".into(),
            record_type: "foil_request".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": requests.len() }),
        },
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    let mut views: Vec<RequestView> = requests
        .iter()
        .map(|r| {
            let mine: Vec<fstore::Appeal> = appeals
                .iter()
                .filter(|a| a.request_id == r.id)
                .cloned()
                .collect();
            view(r, &mine, today)
        })
        .collect();
    // Overdue first, then by the next due date.
    views.sort_by(|a, b| {
        b.clock
            .overdue
            .cmp(&a.clock.overdue)
            .then(a.clock.due.is_none().cmp(&b.clock.due.is_none()))
            .then(a.clock.due.cmp(&b.clock.due))
            .then(a.receipt.cmp(&b.receipt))
    });
    Ok(QueueView {
        requests: views,
        counts,
    })
}

/// The counts alone.
pub async fn counts_only(
    state: &AppState,
    auth: &Authorized,
    now: DateTime<Utc>,
) -> Result<Counts, ApiError> {
    let today = today(now);
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let requests = fstore::list_requests(&mut tx, 0).await.map_err(store_err)?;
    let appeals = fstore::all_appeals(&mut tx).await.map_err(store_err)?;
    let releases = fstore::releases(&mut tx, None).await.map_err(store_err)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "foil.counts".into(),
            record_type: "foil_request".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    Ok(count(&requests, &appeals, releases.len(), today))
}

/// Logs a request through `channel`; retries when a concurrent logging took the receipt number.
async fn log_request(
    state: &AppState,
    new: fstore::NewRequest,
    actor: String,
    rule: Option<String>,
    rate_limit: Option<(String, i64)>,
) -> Result<fstore::Request, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut tx = state.store.begin().await.map_err(store_err)?;
        if let Some((hash, limit)) = &rate_limit {
            let recent =
                fstore::public_requests_since(&mut tx, hash, new.logged_at - Duration::hours(1))
                    .await
                    .map_err(store_err)?;
            if recent >= *limit {
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    format!(
                        "at most {limit} requests an hour may be submitted from one address; try again later or write to the Records Access Officer"
                    ),
                )
                .with_rule(rules::RULE));
            }
        }
        match fstore::create_request(&mut tx, &new).await {
            Ok(r) => {
                record(
                    &mut tx,
                    Event {
                        actor: actor.clone(),
                        action: "foil.intake",
                        request: r.id,
                        reason: None,
                        detail: serde_json::json!({
                            "rule": rule,
                            "receipt": r.receipt,
                            "channel": r.channel,
                            "received_on": r.received_on.to_string(),
                            "acknowledge_by": rules::acknowledge_by(r.received_on).to_string(),
                        }),
                    },
                )
                .await?;
                tx.commit().await.map_err(store_err)?;
                return Ok(r);
            }
            Err(probity_store::StoreError::AlreadyExists { .. }) if attempt < 5 => {
                let _ = tx.rollback().await;
                continue;
            }
            Err(e) => return Err(store_err(e)),
        }
    }
}

/// A FOIL officer logs a request.
pub async fn intake(
    state: &AppState,
    auth: &Authorized,
    input: IntakeInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let today = today(now);
    let received = parse_date("received_on", input.received_on.as_deref())?.unwrap_or(today);
    rules::check_intake(
        &input.requester,
        &input.contact,
        &input.description,
        received,
        today,
    )
    .map_err(refused)?;
    let r = log_request(
        state,
        fstore::NewRequest {
            channel: FoilChannel::Officer.as_str().into(),
            requester: input.requester.trim().into(),
            contact: input.contact.trim().into(),
            description: input.description.trim().into(),
            received_on: received,
            logged_at: now,
            logged_by: Some(me(auth)),
            client_hash: None,
        },
        auth.principal.actor(),
        Some(auth.rule.clone()),
        None,
    )
    .await?;
    let mut tx = state.store.begin_read().await.map_err(store_err)?;
    let detail = detail_in(&mut tx, &r, today).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// The SHA-256 the rate limit counts by: the address itself is not kept.
pub fn client_hash(address: Option<std::net::IpAddr>, peer: std::net::IpAddr) -> String {
    use sha2::Digest;
    let who = address.unwrap_or(peer).to_string();
    hex::encode(sha2::Sha256::digest(
        format!("probity-foil-client\0{who}").as_bytes(),
    ))
}

/// Anyone submits a request through the public form: no account, rate-limited, a receipt.
pub async fn public_intake(
    state: &AppState,
    client_hash: String,
    input: PublicInput,
    now: DateTime<Utc>,
) -> Result<ReceiptView, ApiError> {
    let today = today(now);
    rules::check_intake(
        &input.requester,
        &input.contact,
        &input.description,
        today,
        today,
    )
    .map_err(refused)?;
    let r = log_request(
        state,
        fstore::NewRequest {
            channel: FoilChannel::Public.as_str().into(),
            requester: input.requester.trim().into(),
            contact: input.contact.trim().into(),
            description: input.description.trim().into(),
            received_on: today,
            logged_at: now,
            logged_by: None,
            client_hash: Some(client_hash.clone()),
        },
        "public:foil-form".into(),
        None,
        Some((client_hash, public_per_hour())),
    )
    .await?;
    Ok(ReceiptView {
        receipt: r.receipt.clone(),
        received_on: r.received_on.to_string(),
        acknowledge_by: rules::acknowledge_by(r.received_on).to_string(),
    })
}

/// Acknowledges a request with its decision date.
pub async fn acknowledge(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: AcknowledgeInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let today = today(now);
    let on = parse_date("acknowledged_on", input.acknowledged_on.as_deref())?.unwrap_or(today);
    if on > today {
        return Err(ApiError::bad_field(
            "acknowledged_on",
            format!("{on} is in the future"),
        ));
    }
    // Without a date, the latest the statute allows without an extension.
    let decision_by = parse_date("decision_by", input.decision_by.as_deref())?
        .unwrap_or_else(|| rules::latest_decision_without_extension(on));
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    if status_of(&r)? != FoilStatus::Received {
        return Err(ApiError::conflict(format!(
            "FOIL request {} was already acknowledged",
            r.receipt
        ))
        .with_rule(rules::RULE));
    }
    let ack = rules::check_acknowledgement(
        r.received_on,
        on,
        decision_by,
        input.extension_reason.as_deref(),
    )
    .map_err(refused)?;
    fstore::acknowledge(
        &mut tx,
        r.id,
        ack.acknowledged_on,
        &me(auth),
        ack.decision_by,
        ack.extension_reason.as_deref(),
    )
    .await
    .map_err(store_err)?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.acknowledge",
            request: r.id,
            reason: ack.extension_reason.clone(),
            detail: serde_json::json!({
                "rule": auth.rule,
                "receipt": r.receipt,
                "acknowledged_on": ack.acknowledged_on.to_string(),
                "decision_by": ack.decision_by.to_string(),
                "late": ack.late,
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// Extends the decision date with a reason.
pub async fn extend(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: ExtendInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let decision_by =
        parse_date("decision_by", input.decision_by.as_deref())?.ok_or_else(|| {
            refused(DomainError::Missing {
                rule: rules::RULE,
                missing: vec!["decision_by"],
            })
        })?;
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    must_be_open(&r, "extended")?;
    let (Some(ack), Some(current)) = (r.acknowledged_on, r.decision_by) else {
        return Err(ApiError::internal("acknowledged request without dates"));
    };
    rules::check_extension(ack, current, decision_by, &input.reason).map_err(refused)?;
    let reason = input.reason.trim().to_string();
    fstore::extend(&mut tx, r.id, decision_by, &reason)
        .await
        .map_err(store_err)?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.extend",
            request: r.id,
            reason: Some(reason),
            detail: serde_json::json!({
                "rule": auth.rule,
                "from": current.to_string(),
                "to": decision_by.to_string(),
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today(now)).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// Gathers the evidence items of a case (or one of them) as responsive records.
pub async fn gather(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: GatherInput,
    now: DateTime<Utc>,
) -> Result<GatherReport, ApiError> {
    use probity_store as s;
    if input.case.trim().is_empty() {
        return Err(refused(DomainError::Missing {
            rule: rules::RULE,
            missing: vec!["case"],
        }));
    }
    let item_filter = match input.item.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(i) => Some(Uuid::from_str(i).map_err(|_| {
            ApiError::bad_field("item", format!("{i:?} is not an evidence item id"))
        })?),
    };
    // Read and decode outside any write transaction: decoding a case's images takes time, and
    // a write transaction would hold the database's writer meanwhile.
    let mut tx = state.store.begin_read().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    must_be_open(&r, "gathered")?;
    let case = s::cases::get_by_number(&mut tx, input.case.trim())
        .await
        .map_err(store_err)?
        .ok_or_else(|| {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-record",
                format!("no case numbered {:?}", input.case.trim()),
            );
            e.field = Some("case".into());
            e.with_rule(rules::RULE)
        })?;
    let items = s::evidence::items_for_case(&mut tx, case.id)
        .await
        .map_err(store_err)?;
    let items: Vec<_> = items
        .into_iter()
        .filter(|i| item_filter.is_none_or(|f| f == i.id))
        .collect();
    if let Some(f) = item_filter {
        if items.is_empty() {
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown-record",
                format!("case {} holds no evidence item {f}", case.case_number),
            );
            e.field = Some("item".into());
            return Err(e.with_rule(rules::RULE));
        }
    }
    let existing: BTreeSet<Uuid> = fstore::records_of(&mut tx, r.id)
        .await
        .map_err(store_err)?
        .iter()
        .map(|x| x.evidence_item_id)
        .collect();
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for item in &items {
        let skip = |reason: String| Skipped {
            evidence_item_id: item.id.to_string(),
            original_filename: item.original_filename.clone(),
            reason,
        };
        if existing.contains(&item.id) {
            skipped.push(skip("already gathered for this request".into()));
            continue;
        }
        let bytes = match state.store.blobs().get(&mut tx, item.blob_id).await {
            Ok(b) => b,
            Err(probity_store::StoreError::Destroyed(_)) => {
                skipped.push(skip("destroyed under the retention schedule".into()));
                continue;
            }
            Err(e) => return Err(store_err(e)),
        };
        let dims = tokio::task::spawn_blocking(move || redaction::dimensions(&bytes))
            .await
            .map_err(ApiError::internal)?;
        match dims {
            Ok((width, height)) => candidates.push((item, width, height)),
            Err(why) => skipped.push(skip(format!(
                "cannot be redacted and released as an image: {why}"
            ))),
        }
    }
    tx.commit().await.map_err(store_err)?;

    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load(&mut tx, r.id).await?;
    must_be_open(&r, "gathered")?;
    let mut added = Vec::new();
    for (item, width, height) in candidates {
        let new = fstore::NewRecord {
            request_id: r.id,
            evidence_item_id: item.id,
            case_number: case.case_number.clone(),
            source_sha256: item.sha256.clone(),
            original_filename: item.original_filename.clone(),
            width,
            height,
            gathered_by: me(auth),
            gathered_at: now,
        };
        match fstore::add_record(&mut tx, &new).await {
            Ok(rec) => added.push(record_view(&rec, &[])),
            // Gathered meanwhile by a concurrent step: the whole step is refused, nothing kept.
            Err(probity_store::StoreError::AlreadyExists { .. }) => {
                return Err(ApiError::conflict(format!(
                    "evidence item {} was gathered for this request meanwhile; reload and gather again",
                    item.id
                ))
                .with_rule(rules::RULE));
            }
            Err(e) => return Err(store_err(e)),
        }
    }
    if added.is_empty() && item_filter.is_some() {
        let why = skipped
            .first()
            .map(|s| s.reason.clone())
            .unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "refused",
            format!("the item was not gathered: {why}"),
        )
        .with_rule(rules::RULE));
    }
    let withdrawn = if added.is_empty() {
        false
    } else {
        withdraw_review(&mut tx, &r).await?
    };
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.gather",
            request: r.id,
            reason: None,
            detail: serde_json::json!({
                "rule": auth.rule,
                "case": case.case_number,
                "added": added.iter().map(|a| &a.evidence_item_id).collect::<Vec<_>>(),
                "skipped": skipped.len(),
                "review_withdrawn": withdrawn,
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(store_err)?;
    Ok(GatherReport { added, skipped })
}

async fn record_detail(tx: &mut Tx, rec: &fstore::Record) -> Result<RecordView, ApiError> {
    let boxes = fstore::boxes_of(tx, rec.id).await.map_err(store_err)?;
    let rec = fstore::get_record(tx, rec.id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("responsive record {}", rec.id)))?;
    Ok(record_view(&rec, &boxes))
}

/// Reads a record's original (decrypted, hash-checked by the blob store).
async fn original_of(
    state: &AppState,
    tx: &mut Tx,
    rec: &fstore::Record,
) -> Result<Vec<u8>, ApiError> {
    let item = probity_store::evidence::get_item(tx, rec.evidence_item_id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("evidence item {}", rec.evidence_item_id)))?;
    state
        .store
        .blobs()
        .get(tx, item.blob_id)
        .await
        .map_err(store_err)
}

/// Runs the face detector on a record: every face found becomes a proposed box (the detector's
/// earlier proposals are replaced; the reviewer's boxes stay).
pub async fn detect(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    raw_record: &str,
    now: DateTime<Utc>,
) -> Result<RecordView, ApiError> {
    let (r, rec, bytes) = {
        let mut tx = state.store.begin_read().await.map_err(store_err)?;
        let r = load_raw(&mut tx, raw).await?;
        must_be_open(&r, "redacted")?;
        let rec = load_record(&mut tx, &r, raw_record).await?;
        let bytes = original_of(state, &mut tx, &rec).await?;
        tx.commit().await.map_err(store_err)?;
        (r, rec, bytes)
    };
    let faces = redaction::detect_faces(state, bytes).await?;
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load(&mut tx, r.id).await?;
    must_be_open(&r, "redacted")?;
    let who = me(auth);
    let replaced = fstore::remove_detector_boxes(&mut tx, rec.id, &who, now)
        .await
        .map_err(store_err)?;
    let mut proposed = 0i64;
    for f in &faces {
        if let Some(b) = rules::clip_box(f.left, f.top, f.right, f.bottom, rec.width, rec.height) {
            fstore::add_box(
                &mut tx,
                &fstore::NewRedaction {
                    record_id: rec.id,
                    x: b.x,
                    y: b.y,
                    width: b.width,
                    height: b.height,
                    kind: RedactionKind::Face.as_str().into(),
                    source: "detector".into(),
                    note: f.score.map(|s| format!("detector score {s:.2}")),
                    created_by: who.clone(),
                    created_at: now,
                },
            )
            .await
            .map_err(store_err)?;
            proposed += 1;
        }
    }
    fstore::mark_detected(&mut tx, rec.id, &who, now, proposed)
        .await
        .map_err(store_err)?;
    let withdrawn = withdraw_review(&mut tx, &r).await?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.detect",
            request: r.id,
            reason: None,
            detail: serde_json::json!({
                "rule": auth.rule,
                "record": rec.id.to_string(),
                "faces": proposed,
                "replaced_proposals": replaced,
                "review_withdrawn": withdrawn,
            }),
        },
    )
    .await?;
    let v = record_detail(&mut tx, &rec).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(v)
}

/// The reviewer adds a box (checked inside the image).
pub async fn add_box(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    raw_record: &str,
    input: BoxInput,
    now: DateTime<Utc>,
) -> Result<RecordView, ApiError> {
    let mut missing = Vec::new();
    for (name, v) in [
        ("x", input.x),
        ("y", input.y),
        ("width", input.width),
        ("height", input.height),
    ] {
        if v.is_none() {
            missing.push(name);
        }
    }
    if !missing.is_empty() {
        return Err(refused(DomainError::Missing {
            rule: rules::RULE,
            missing,
        }));
    }
    let kind = RedactionKind::from_str(input.kind.trim())
        .map_err(|e| ApiError::bad_field("kind", e.to_string()).with_rule(rules::RULE))?;
    let b = rules::RedactionBox {
        x: input.x.unwrap_or_default(),
        y: input.y.unwrap_or_default(),
        width: input.width.unwrap_or_default(),
        height: input.height.unwrap_or_default(),
    };
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    must_be_open(&r, "redacted")?;
    let rec = load_record(&mut tx, &r, raw_record).await?;
    rules::check_box(&b, rec.width, rec.height).map_err(refused)?;
    let added = fstore::add_box(
        &mut tx,
        &fstore::NewRedaction {
            record_id: rec.id,
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
            kind: kind.as_str().into(),
            source: "reviewer".into(),
            note: input
                .note
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from),
            created_by: me(auth),
            created_at: now,
        },
    )
    .await
    .map_err(store_err)?;
    let withdrawn = withdraw_review(&mut tx, &r).await?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.redaction.add",
            request: r.id,
            reason: None,
            detail: serde_json::json!({
                "rule": auth.rule,
                "record": rec.id.to_string(),
                "box": added.id.to_string(),
                "kind": kind.as_str(),
                "x": b.x, "y": b.y, "width": b.width, "height": b.height,
                "review_withdrawn": withdrawn,
            }),
        },
    )
    .await?;
    let v = record_detail(&mut tx, &rec).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(v)
}

/// The reviewer removes a box (kept, marked removed).
pub async fn remove_box(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    raw_record: &str,
    raw_box: &str,
    now: DateTime<Utc>,
) -> Result<RecordView, ApiError> {
    let box_id = parse_id(raw_box, "redaction box")?;
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    must_be_open(&r, "redacted")?;
    let rec = load_record(&mut tx, &r, raw_record).await?;
    let b = fstore::get_box(&mut tx, box_id)
        .await
        .map_err(store_err)?
        .filter(|b| b.record_id == rec.id)
        .ok_or_else(|| ApiError::not_found(format!("redaction box {box_id}")))?;
    fstore::remove_box(&mut tx, b.id, &me(auth), now)
        .await
        .map_err(store_err)?;
    let withdrawn = withdraw_review(&mut tx, &r).await?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.redaction.remove",
            request: r.id,
            reason: None,
            detail: serde_json::json!({
                "rule": auth.rule,
                "record": rec.id.to_string(),
                "box": b.id.to_string(),
                "kind": b.kind,
                "source": b.source,
                "review_withdrawn": withdrawn,
            }),
        },
    )
    .await?;
    let v = record_detail(&mut tx, &rec).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(v)
}

/// A record's image as JPEG: boxes outlined on the original (`redacted == false`) or filled as
/// they will be released. Viewing the original is audited (custody).
pub async fn image(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    raw_record: &str,
    redacted: bool,
) -> Result<Vec<u8>, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    let rec = load_record(&mut tx, &r, raw_record).await?;
    let bytes = original_of(state, &mut tx, &rec).await?;
    let boxes: Vec<rules::RedactionBox> = fstore::boxes_of(&mut tx, rec.id)
        .await
        .map_err(store_err)?
        .iter()
        .filter(|b| b.removed_at.is_none())
        .map(|b| rules::RedactionBox {
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
        })
        .collect();
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.record.view",
            request: r.id,
            reason: None,
            detail: serde_json::json!({
                "rule": auth.rule,
                "record": rec.id.to_string(),
                "evidence_item": rec.evidence_item_id.to_string(),
                "view": if redacted { "redacted" } else { "original" },
            }),
        },
    )
    .await?;
    tx.commit().await.map_err(store_err)?;
    tokio::task::spawn_blocking(move || {
        if redacted {
            redaction::redacted_jpeg(&bytes, &boxes)
        } else {
            redaction::outlined_jpeg(&bytes, &boxes)
        }
    })
    .await
    .map_err(ApiError::internal)?
}

/// The reviewer completes the review: four eyes (asked first: who may review), then every image
/// run through the face detector.
pub async fn review(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: ReviewInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    let records = fstore::records_of(&mut tx, r.id).await.map_err(store_err)?;
    let undetected: Vec<String> = records
        .iter()
        .filter(|x| x.faces_detected_at.is_none())
        .map(|x| x.original_filename.clone())
        .collect();
    let gatherers: Vec<String> = records
        .iter()
        .map(|x| x.gathered_by.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let who = me(auth);
    if let Err(e) = rules::check_reviewer(&who, &gatherers) {
        let rule = e.rule().unwrap_or(rules::RULE);
        // The refusal is audited in its own transaction: end this one first (one writer).
        tx.rollback().await.map_err(store_err)?;
        state
            .audit_denial(
                &auth.principal,
                "foil.review",
                "foil_request",
                &r.id.to_string(),
                rule,
            )
            .await?;
        return Err(ApiError::forbidden(rule, e.to_string()));
    }
    rules::check_review_ready(status_of(&r)?, records.len(), &undetected).map_err(refused)?;
    let notes = input
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    fstore::set_review(&mut tx, r.id, Some(&who), Some(now), notes)
        .await
        .map_err(store_err)?;
    let mut boxes = 0usize;
    for rec in &records {
        boxes += fstore::boxes_of(&mut tx, rec.id)
            .await
            .map_err(store_err)?
            .iter()
            .filter(|b| b.removed_at.is_none())
            .count();
    }
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.review",
            request: r.id,
            reason: notes.map(String::from),
            detail: serde_json::json!({
                "rule": auth.rule,
                "records": records.len(),
                "boxes": boxes,
                "gathered_by": gatherers,
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today(now)).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// Grants (releasing a filled copy of every record) or denies, citing the exemptions.
pub async fn decide(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: DecisionInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let outcome = FoilOutcome::from_str(input.outcome.trim())
        .map_err(|e| ApiError::bad_field("outcome", e.to_string()).with_rule(rules::RULE))?;
    let today = today(now);
    let who = me(auth);
    // Read what is to be released, and make the copies, before the write transaction.
    let (r, records, boxes) = {
        let mut tx = state.store.begin_read().await.map_err(store_err)?;
        let r = load_raw(&mut tx, raw).await?;
        let records = fstore::records_of(&mut tx, r.id).await.map_err(store_err)?;
        let mut boxes = Vec::with_capacity(records.len());
        for rec in &records {
            boxes.push(
                fstore::boxes_of(&mut tx, rec.id)
                    .await
                    .map_err(store_err)?
                    .into_iter()
                    .filter(|b| b.removed_at.is_none())
                    .collect::<Vec<_>>(),
            );
        }
        tx.commit().await.map_err(store_err)?;
        (r, records, boxes)
    };
    let facts = DecisionFacts {
        status: status_of(&r)?,
        records: records.len(),
        review_completed: r.review_completed_by.is_some(),
        redactions: boxes.iter().map(Vec::len).sum(),
    };
    let exemptions = rules::check_decision(&facts, outcome, &input.exemptions).map_err(refused)?;
    let letters: Vec<String> = exemptions.iter().map(|e| e.letter.to_string()).collect();
    let recipient = input
        .recipient
        .as_deref()
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .unwrap_or_else(|| r.requester.clone());
    let notes = input
        .notes
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from);
    // The released copies: decoded, filled, re-encoded without metadata; staged encrypted.
    let mut staged = Vec::new();
    if outcome == FoilOutcome::Grant {
        for (rec, bs) in records.iter().zip(&boxes) {
            let bytes = {
                let mut tx = state.store.begin_read().await.map_err(store_err)?;
                let b = original_of(state, &mut tx, rec).await?;
                tx.commit().await.map_err(store_err)?;
                b
            };
            if redaction::sha256(&bytes) != rec.source_sha256 {
                return Err(ApiError::internal(format!(
                    "evidence item {} no longer matches the hash it was gathered with",
                    rec.evidence_item_id
                )));
            }
            let b: Vec<rules::RedactionBox> = bs
                .iter()
                .map(|b| rules::RedactionBox {
                    x: b.x,
                    y: b.y,
                    width: b.width,
                    height: b.height,
                })
                .collect();
            let jpeg = tokio::task::spawn_blocking(move || redaction::redacted_jpeg(&bytes, &b))
                .await
                .map_err(ApiError::internal)??;
            let blob = state
                .store
                .blobs()
                .stage(None, &jpeg, "image/jpeg")
                .await
                .map_err(store_err)?;
            staged.push((rec, bs.len(), blob));
        }
    }
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let current = load(&mut tx, r.id).await?;
    if current.status != r.status || current.review_completed_at != r.review_completed_at {
        return Err(ApiError::conflict(
            "the request changed while the decision was prepared; reload it and decide again",
        )
        .with_rule(rules::RULE));
    }
    fstore::decide(
        &mut tx,
        r.id,
        &fstore::Decision {
            outcome: outcome.as_str(),
            exemptions: &letters,
            on: today,
            by: &who,
            at: now,
            notes: notes.as_deref(),
            recipient: Some(&recipient),
        },
    )
    .await
    .map_err(store_err)?;
    let mut released = Vec::new();
    for (rec, nboxes, blob) in staged {
        let meta = state
            .store
            .blobs()
            .commit(&mut tx, blob, &auth.principal.actor())
            .await
            .map_err(store_err)?;
        let rel = fstore::add_release(
            &mut tx,
            &fstore::NewRelease {
                request_id: r.id,
                record_id: rec.id,
                blob_id: meta.id,
                source_sha256: rec.source_sha256.clone(),
                released_sha256: meta.sha256.clone(),
                recipient: recipient.clone(),
                exemptions: letters.clone(),
                boxes: nboxes as i64,
                released_by: who.clone(),
                released_at: now,
            },
        )
        .await
        .map_err(store_err)?;
        released.push(serde_json::json!({
            "release": rel.id.to_string(),
            "record": rec.id.to_string(),
            "evidence_item": rec.evidence_item_id.to_string(),
            "source_sha256": rel.source_sha256,
            "released_sha256": rel.released_sha256,
            "boxes": nboxes,
        }));
    }
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: if outcome == FoilOutcome::Grant {
                "foil.release"
            } else {
                "foil.deny"
            },
            request: r.id,
            reason: notes.clone(),
            detail: serde_json::json!({
                "rule": auth.rule,
                "outcome": outcome.as_str(),
                "exemptions": exemptions.iter().map(|e| e.citation).collect::<Vec<_>>(),
                "recipient": recipient,
                "released": released,
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// Logs an appeal of a denial (or of redactions), within the thirty days.
pub async fn appeal(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: AppealInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let today = today(now);
    let received = parse_date("received_on", input.received_on.as_deref())?.unwrap_or(today);
    if received > today {
        return Err(ApiError::bad_field(
            "received_on",
            format!("{received} is in the future"),
        ));
    }
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    let status = status_of(&r)?;
    // A grant with nothing withheld has no denial to appeal.
    let denied_on = if r.outcome.as_deref() == Some("deny") || !r.exemptions.is_empty() {
        r.decided_on
    } else {
        None
    };
    let decide_by =
        rules::check_appeal(status, denied_on, received, &input.grounds).map_err(refused)?;
    let grounds = input.grounds.trim().to_string();
    let a = fstore::add_appeal(&mut tx, r.id, received, &grounds, decide_by, &me(auth), now)
        .await
        .map_err(store_err)?;
    fstore::set_status(
        &mut tx,
        r.id,
        status.as_str(),
        FoilStatus::Appealed.as_str(),
    )
    .await
    .map_err(store_err)?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.appeal.log",
            request: r.id,
            reason: Some(grounds),
            detail: serde_json::json!({
                "rule": auth.rule,
                "appeal": a.id.to_string(),
                "received_on": received.to_string(),
                "decide_by": decide_by.to_string(),
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// Decides the pending appeal. A reversal reopens the request for a new decision (twenty
/// business days from today).
pub async fn decide_appeal(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
    input: AppealDecisionInput,
    now: DateTime<Utc>,
) -> Result<DetailView, ApiError> {
    let outcome = AppealOutcome::from_str(input.outcome.trim())
        .map_err(|e| ApiError::bad_field("outcome", e.to_string()).with_rule(rules::RULE))?;
    let today = today(now);
    let who = me(auth);
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let r = load_raw(&mut tx, raw).await?;
    let status = status_of(&r)?;
    if let Err(e) = rules::check_appeal_decision(status, &who, r.decided_by.as_ref(), &input.reason)
    {
        return Err(match e {
            DomainError::Refused { rule, ref message } if message.contains("cannot decide") => {
                ApiError::forbidden(rule, e.to_string())
            }
            other => refused(other),
        });
    }
    let appeals = fstore::appeals_of(&mut tx, r.id).await.map_err(store_err)?;
    let pending = appeals
        .iter()
        .find(|a| a.outcome.is_none())
        .ok_or_else(|| ApiError::conflict("no pending appeal").with_rule(rules::RULE))?;
    let reason = input.reason.trim().to_string();
    fstore::decide_appeal(
        &mut tx,
        pending.id,
        outcome.as_str(),
        &reason,
        today,
        &who,
        now,
    )
    .await
    .map_err(store_err)?;
    match outcome {
        AppealOutcome::Upheld => {
            fstore::set_status(
                &mut tx,
                r.id,
                FoilStatus::Appealed.as_str(),
                FoilStatus::AppealDecided.as_str(),
            )
            .await
            .map_err(store_err)?;
        }
        AppealOutcome::Reversed => {
            fstore::set_status(
                &mut tx,
                r.id,
                FoilStatus::Appealed.as_str(),
                FoilStatus::Acknowledged.as_str(),
            )
            .await
            .map_err(store_err)?;
            fstore::extend(
                &mut tx,
                r.id,
                rules::latest_decision_without_extension(today),
                &format!("appeal reversed on {today}: {reason}"),
            )
            .await
            .map_err(store_err)?;
        }
    }
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.appeal.decide",
            request: r.id,
            reason: Some(reason),
            detail: serde_json::json!({
                "rule": auth.rule,
                "appeal": pending.id.to_string(),
                "outcome": outcome.as_str(),
                "decide_by": pending.decide_by.to_string(),
                "late": today > pending.decide_by,
                "previous_decision": {
                    "outcome": r.outcome,
                    "exemptions": r.exemptions,
                    "decided_on": d(r.decided_on),
                    "decided_by": r.decided_by,
                },
            }),
        },
    )
    .await?;
    let r = load(&mut tx, r.id).await?;
    let detail = detail_in(&mut tx, &r, today).await?;
    tx.commit().await.map_err(store_err)?;
    Ok(detail)
}

/// The release log, audited.
pub async fn release_log(
    state: &AppState,
    auth: &Authorized,
) -> Result<Vec<ReleaseView>, ApiError> {
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let rel = fstore::releases(&mut tx, None).await.map_err(store_err)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "foil.releases.list".into(),
            record_type: "foil_request".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": rel.len() }),
        },
    )
    .await
    .map_err(store_err)?;
    tx.commit().await.map_err(store_err)?;
    Ok(rel.iter().map(release_view).collect())
}

/// A released file's bytes, audited.
pub async fn release_file(
    state: &AppState,
    auth: &Authorized,
    raw: &str,
) -> Result<Vec<u8>, ApiError> {
    let id = parse_id(raw, "FOIL release")?;
    let mut tx = state.store.begin().await.map_err(store_err)?;
    let rel = fstore::get_release(&mut tx, id)
        .await
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("FOIL release {id}")))?;
    let bytes = state
        .store
        .blobs()
        .get(&mut tx, rel.blob_id)
        .await
        .map_err(store_err)?;
    record(
        &mut tx,
        Event {
            actor: auth.principal.actor(),
            action: "foil.release.download",
            request: rel.request_id,
            reason: None,
            detail: serde_json::json!({ "rule": auth.rule, "release": id.to_string() }),
        },
    )
    .await?;
    tx.commit().await.map_err(store_err)?;
    Ok(bytes)
}
