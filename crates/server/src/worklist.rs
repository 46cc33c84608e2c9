//! The person's worklist: what waits for them across every workflow, from their effective access.
//!
//! For each workflow the store narrows the records to the states somebody acts on; an item is kept
//! only when the policy engine permits this person the action that acts on it, decided on that
//! very record (the same resources the handlers build), and, where a domain rule names who may
//! take the step (separation of duties, four eyes, the three officials), when the domain accepts
//! this person for it. Nothing here allows anything: the handler behind each link decides again
//! when the person acts.
//!
//! `GET /api/me/worklist` answers it as JSON; the home page shows it grouped by workflow, and the
//! navigation shows the counts from a per-person snapshot (at most one computation per page
//! render, refreshed in the background when older than [`NAV_SNAPSHOT_AGE`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use probity_domain::fr_request::{
    FrRequest, FrState, QualityVerdict, SearchRecord, SupervisorDecision,
};
use probity_domain::oversight::{inspection_status, InspectionStatus};
use probity_domain::{DomainError, FrRequestId, UserId};
use probity_policy::{Action, Resource};
use probity_store::{audit, cases, Tx};
use serde::Serialize;
use uuid::Uuid;

use crate::authz::SignedIn;
use crate::decision::decide_for;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;

/// How long a thermal deployment authorization is shown before it expires (TH-05).
pub const THERMAL_EXPIRY_WINDOW_HOURS: i64 = 24;
/// How old the navigation's counts may be before they are recomputed in the background.
pub const NAV_SNAPSHOT_AGE: StdDuration = StdDuration::from_secs(30);

/// The actions the worklist asks about, one per kind of item (for the route table).
pub const ACTIONS: &str = "fr.request.add_probe, fr.basis.confirm, fr.quality.assess, \
     fr.supervisor_discussion.acknowledge, fr.search, fr.identify, fr.background_check.record, \
     fr.peer_review, fr.supervisor_review, fr.outside_repository.approve, fr.unforeseen_use.decide, \
     evidence.read, evidence.ingest, device.inspect, thermal.authorize, retention.approve, \
     disclosure.approve, disclosure.release, breach.report, foil.manage, foil.review, foil.release, \
     foil.appeal.decide";

pub fn routes(t: RouteTable) -> RouteTable {
    t.add(
        Method::GET,
        "/api/me/worklist",
        Access::rows(ACTIONS),
        "What waits for the caller across every workflow: each item decided on its own record, \
         with its age or deadline, the rule it serves and the page where the caller acts",
        get(worklist_api),
    )
}

/// One thing waiting for the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    /// Workflow: `fr`, `evidence`, `thermal`, `records`, `disclosures`, `breaches` or `foil`.
    pub group: String,
    /// What is to be done, e.g. `fr.peer_review`, `breach.cpo_report`, `foil.acknowledge`.
    pub kind: String,
    pub title: String,
    /// The record acted on: `fr_request`, `device`, `evidence_intake`, `thermal_authorization`,
    /// `disposition`, `disclosure`, `breach` or `foil_request`.
    pub record_type: String,
    pub record_id: String,
    /// Since when it waits (RFC 3339), when known.
    pub since: Option<String>,
    /// By when it is due (RFC 3339, or a date for FOIL business-day deadlines).
    pub deadline: Option<String>,
    pub overdue: bool,
    /// The policy rule the step serves, e.g. `FR-11`, `EXT-05`.
    pub rule: String,
    /// The policy action that acts on the record.
    pub action: String,
    /// The page where the person acts.
    pub link: String,
}

/// Items of one workflow.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub group: String,
    pub label: String,
    /// The workflow's page.
    pub link: String,
    pub count: usize,
    pub overdue: usize,
}

/// The worklist: items sorted by urgency (overdue first, then by deadline, then oldest first).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Worklist {
    pub total: usize,
    pub overdue: usize,
    pub groups: Vec<Group>,
    pub items: Vec<Item>,
    pub computed_at: String,
    /// How long the computation took, in milliseconds.
    pub computed_ms: u64,
}

/// The workflows in the order the home page shows them: (group, label, page).
const GROUPS: &[(&str, &str, &str)] = &[
    ("breaches", "Breaches (EXT-05)", "/breaches"),
    ("fr", "Facial recognition", "/fr"),
    ("foil", "FOIL requests (PUB-01)", "/foil"),
    (
        "disclosures",
        "Disclosures (EXT-01..EXT-04)",
        "/disclosures",
    ),
    ("records", "Dispositions (RET-11)", "/records"),
    ("evidence", "Cameras and intakes (DC-04, DC-05)", "/devices"),
    ("thermal", "Thermal deployments (TH-05)", "/thermal"),
];

/// An item with the times it is sorted by.
struct Pending {
    item: Item,
    due: Option<DateTime<Utc>>,
    since: Option<DateTime<Utc>>,
}

#[allow(clippy::too_many_arguments)]
fn pending(
    group: &str,
    kind: &str,
    title: String,
    record: (&str, String),
    since: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
    deadline_text: Option<String>,
    overdue: bool,
    rule: &str,
    action: Action,
    link: String,
) -> Pending {
    Pending {
        item: Item {
            group: group.into(),
            kind: kind.into(),
            title,
            record_type: record.0.into(),
            record_id: record.1,
            since: since.map(|t| t.to_rfc3339()),
            deadline: deadline_text.or_else(|| due.map(|t| t.to_rfc3339())),
            overdue,
            rule: rule.into(),
            action: action.as_str().into(),
            link,
        },
        due,
        since,
    }
}

fn se(e: probity_store::StoreError) -> ApiError {
    crate::store_error(e)
}

/// A domain dry run permits the person when it is not a refusal: a missing or invalid input is
/// about the form the person will fill in, not about who they are.
fn permits<T>(r: Result<T, DomainError>) -> bool {
    !matches!(r, Err(DomainError::Refused { .. }))
}

fn allowed(state: &AppState, p: &Principal, action: Action, r: &Resource) -> bool {
    decide_for(state, p, action, r).allowed
}

/// The end of a New York business day, as an instant to sort by (approximately: UTC+5).
fn end_of(d: NaiveDate) -> Option<DateTime<Utc>> {
    d.and_hms_opt(23, 59, 59)
        .map(|t| t.and_utc() + Duration::hours(5))
}

/// Computes the person's worklist at `now`.
pub async fn compute(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
) -> Result<Worklist, ApiError> {
    let started = Instant::now();
    let mut all = Vec::new();
    breaches(state, p, now, &mut all).await?;
    fr(state, p, now, &mut all).await?;
    foil(state, p, now, &mut all).await?;
    disclosures(state, p, &mut all).await?;
    dispositions(state, p, &mut all).await?;
    repository_quality(state, p, &mut all).await?;
    devices(state, p, now, &mut all).await?;
    intakes(state, p, &mut all).await?;
    thermal(state, p, now, &mut all).await?;
    all.sort_by(|a, b| {
        b.item
            .overdue
            .cmp(&a.item.overdue)
            .then_with(|| match (a.due, b.due) {
                (Some(x), Some(y)) => x.cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            })
            .then_with(|| a.since.cmp(&b.since))
    });
    let items: Vec<Item> = all.into_iter().map(|x| x.item).collect();
    let groups = GROUPS
        .iter()
        .map(|(g, label, link)| Group {
            group: (*g).into(),
            label: (*label).into(),
            link: (*link).into(),
            count: items.iter().filter(|i| i.group == *g).count(),
            overdue: items.iter().filter(|i| i.group == *g && i.overdue).count(),
        })
        .collect();
    let elapsed = started.elapsed();
    tracing::debug!(
        user = %p.user.username,
        items = items.len(),
        ms = elapsed.as_millis() as u64,
        "worklist computed"
    );
    Ok(Worklist {
        total: items.len(),
        overdue: items.iter().filter(|i| i.overdue).count(),
        groups,
        items,
        computed_at: now.to_rfc3339(),
        computed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

// ------------------------------------------------------------------ facial recognition

/// The step due on a request in its state, if this person may take it by the domain's rules:
/// (action, kind, what to do, rule).
fn fr_steps(
    req: &FrRequest,
    p: &Principal,
    now: DateTime<Utc>,
) -> Vec<(Action, &'static str, &'static str, &'static str)> {
    let actor = crate::fr::workflow::actor(p);
    let mut out = Vec::new();
    let x = "-";
    match req.state {
        FrState::Draft => {
            if permits(req.submit(&actor, now)) {
                out.push((
                    Action::FrRequestAddProbe,
                    "fr.submit",
                    "complete and submit the request",
                    "FR-04",
                ));
            }
        }
        FrState::ReturnedUnsuitable => {
            if permits(req.submit(&actor, now)) {
                out.push((
                    Action::FrRequestAddProbe,
                    "fr.resubmit",
                    "no still was suitable: add stills and resubmit",
                    "FR-06",
                ));
            }
        }
        FrState::Submitted => {
            let officials_pending = req
                .unforeseen_use
                .as_ref()
                .is_some_and(|u| u.check_officials().is_err());
            if officials_pending {
                if permits(req.approve_unforeseen_use(&actor, x, now)) {
                    out.push((
                        Action::FrUnforeseenUseDecide,
                        "fr.unforeseen_use",
                        "decide the use not foreseen by policy, as one of the three officials",
                        "FR-19",
                    ));
                }
            } else if permits(req.confirm_basis(&actor, now)) {
                out.push((
                    Action::FrBasisConfirm,
                    "fr.confirm_basis",
                    "confirm and record the basis",
                    "FR-05",
                ));
            }
        }
        FrState::BasisConfirmed => {
            let verdict = QualityVerdict {
                selected_probe: 0,
                suitable: true,
                reasons: vec![x.into()],
            };
            if permits(req.assess_quality(&actor, verdict, now)) {
                out.push((
                    Action::FrQualityAssess,
                    "fr.quality",
                    "select the probe and assess its quality",
                    "FR-06",
                ));
            }
        }
        FrState::QualityChecked => {
            if permits(req.acknowledge_supervisor_discussion(&actor, x, now)) {
                out.push((
                    Action::FrSupervisorDiscussionAcknowledge,
                    "fr.discussion",
                    "discuss the use with the FR investigator and acknowledge it",
                    "FR-22",
                ));
            }
        }
        FrState::SupervisorDiscussionAcknowledged => {
            let search = SearchRecord {
                algorithm_version: x.into(),
                candidates: Vec::new(),
                outside_repository: false,
                probe_quality: None,
            };
            if permits(req.record_search(&actor, search, now)) {
                out.push((Action::FrSearch, "fr.search", "run the search", "FR-08"));
            }
        }
        FrState::Searched | FrState::SentBack => {
            if permits(req.record_identification(&actor, Vec::new(), now)) {
                out.push((
                    Action::FrIdentify,
                    "fr.identify",
                    "compare the candidates (facial identification)",
                    "FR-09",
                ));
            }
        }
        FrState::Identification => {
            if permits(req.record_background_check(&actor, x, true, now)) {
                out.push((
                    Action::FrBackgroundCheckRecord,
                    "fr.background_check",
                    "record the background check of the proposed candidate",
                    "FR-10",
                ));
            }
        }
        FrState::BackgroundCheck => {
            if permits(req.record_peer_review(&actor, true, x, now)) {
                out.push((
                    Action::FrPeerReview,
                    "fr.peer_review",
                    "peer review the identification",
                    "FR-11",
                ));
            }
        }
        FrState::PeerReview => {
            if permits(req.begin_supervisor_review(&actor, now)) {
                out.push((
                    Action::FrSupervisorReview,
                    "fr.supervisor_review",
                    "review the identification as supervisor",
                    "FR-12",
                ));
            }
        }
        FrState::SupervisorReview => {
            let send_back = SupervisorDecision::SendBack { reasons: x.into() };
            if permits(req.decide_supervisor_review(&actor, send_back, now)) {
                out.push((
                    Action::FrSupervisorReview,
                    "fr.supervisor_decision",
                    "decide the supervisor review",
                    "FR-12",
                ));
            }
        }
        FrState::ApprovedPossibleMatch | FrState::Negative => {}
    }
    if !req.state.is_final()
        && !req.outside_repository_approvals.is_empty()
        && !req.outside_repository_approved()
        && permits(req.approve_outside_repository(&actor, x, now))
    {
        out.push((
            Action::FrOutsideRepositoryApprove,
            "fr.outside_repository",
            "approve or refuse the comparison outside the photo repository, as one of the three officials",
            "FR-18",
        ));
    }
    out
}

async fn case_of(
    tx: &mut Tx,
    seen: &mut HashMap<Uuid, Option<cases::Case>>,
    id: Uuid,
) -> Result<Option<cases::Case>, ApiError> {
    if let Some(c) = seen.get(&id) {
        return Ok(c.clone());
    }
    let c = cases::get(tx, id).await.map_err(se)?;
    seen.insert(id, c.clone());
    Ok(c)
}

async fn fr(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    let open: Vec<&str> = FrState::ALL
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| s.as_str())
        .collect();
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let rows = probity_store::fr::list(&mut tx, &open).await.map_err(se)?;
    let mut seen = HashMap::new();
    for r in rows {
        // Drafts are their requester's alone; nobody else is asked about them.
        if r.state == FrState::Draft.as_str() && r.requester != p.user.id {
            continue;
        }
        let Ok(req) = serde_json::from_str::<FrRequest>(&r.data) else {
            tracing::warn!(request = %r.id, "stored FR request does not parse; left out of the worklist");
            continue;
        };
        let steps = fr_steps(&req, p, now);
        if steps.is_empty() {
            continue;
        }
        let Some(case) = case_of(&mut tx, &mut seen, r.case_id).await? else {
            continue;
        };
        let Some(case_ref) = crate::decision::case_ref(&case) else {
            continue;
        };
        let resource = Resource::FrRequest {
            id: FrRequestId(r.id),
            case: case_ref,
            requester: UserId(r.requester),
        };
        for (action, kind, what, rule) in steps {
            if !allowed(state, p, action, &resource) {
                continue;
            }
            out.push(pending(
                "fr",
                kind,
                format!("FR request on case {}: {what}", case.case_number),
                ("fr_request", r.id.to_string()),
                Some(r.updated_at),
                None,
                None,
                false,
                rule,
                action,
                format!("/fr/requests/{}", r.id),
            ));
        }
    }
    tx.commit().await.map_err(se)?;
    Ok(())
}

// ------------------------------------------------------------------ breaches (EXT-05)

async fn breaches(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    if !allowed(state, p, Action::BreachReport, &Resource::System) {
        return Ok(());
    }
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let open = probity_store::breaches::open(&mut tx).await.map_err(se)?;
    let notify = probity_store::worklist::breaches_awaiting_notification(&mut tx)
        .await
        .map_err(se)?;
    let mut awaiting = Vec::new();
    for id in notify {
        if let Some(b) = probity_store::breaches::get(&mut tx, id)
            .await
            .map_err(se)?
        {
            awaiting.push(b);
        }
    }
    tx.commit().await.map_err(se)?;
    for b in open {
        let link = format!("/breaches/{}", b.id);
        let record = ("breach", b.id.to_string());
        match (b.status.as_str(), b.discovered_at) {
            ("suspected", _) => out.push(pending(
                "breaches",
                "breach.review",
                format!(
                    "Suspected breach raised by {}: record or dismiss",
                    b.raised_by_username
                ),
                record,
                Some(b.raised_at),
                None,
                None,
                false,
                "EXT-05",
                Action::BreachReport,
                link,
            )),
            (_, Some(discovered)) => {
                let deadline = discovered + Duration::hours(24);
                out.push(pending(
                    "breaches",
                    "breach.cpo_report",
                    "Breach: report to the City Chief Privacy Officer within 24 hours of discovery"
                        .into(),
                    record,
                    Some(discovered),
                    Some(deadline),
                    None,
                    now >= deadline,
                    "EXT-05",
                    Action::BreachReport,
                    link,
                ))
            }
            _ => {}
        }
    }
    for b in awaiting {
        out.push(pending(
            "breaches",
            "breach.notification",
            "Breach reported: record the notification decision".into(),
            ("breach", b.id.to_string()),
            b.cpo_reported_at,
            None,
            None,
            false,
            "EXT-05",
            Action::BreachReport,
            format!("/breaches/{}", b.id),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ FOIL (PUB-01)

async fn foil(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    use probity_domain::foil::{self as rules, FoilStatus};
    use probity_store::foil as fstore;
    let may = |a: Action| allowed(state, p, a, &Resource::System);
    let (manage, review, release, appeal) = (
        may(Action::FoilManage),
        may(Action::FoilReview),
        may(Action::FoilRelease),
        may(Action::FoilAppealDecide),
    );
    if !(manage || review || release || appeal) {
        return Ok(());
    }
    let today = crate::foil::today(now);
    let me = p.user.username.clone();
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let ids = probity_store::worklist::open_foil_requests(&mut tx)
        .await
        .map_err(se)?;
    for id in ids {
        let Some(r) = fstore::get_request(&mut tx, id).await.map_err(se)? else {
            continue;
        };
        let appeals = fstore::appeals_of(&mut tx, id).await.map_err(se)?;
        let view = crate::foil::view(&r, &appeals, today);
        let due = view
            .clock
            .due
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        let overdue = view.clock.overdue;
        let link = format!("/foil/requests/{id}");
        let mut push = |kind: &str, what: &str, action: Action| {
            out.push(pending(
                "foil",
                kind,
                format!("FOIL {}: {what}", r.receipt),
                ("foil_request", id.to_string()),
                Some(r.logged_at),
                due.and_then(end_of),
                due.map(|d| d.to_string()),
                overdue,
                "PUB-01",
                action,
                link.clone(),
            ))
        };
        match FoilStatus::from_str(&r.status).ok() {
            Some(FoilStatus::Received) if manage => push(
                "foil.acknowledge",
                "acknowledge within 5 business days",
                Action::FoilManage,
            ),
            Some(FoilStatus::Acknowledged) => {
                if review && r.review_completed_by.is_none() {
                    let records = fstore::records_of(&mut tx, id).await.map_err(se)?;
                    let gatherers: Vec<String> =
                        records.iter().map(|x| x.gathered_by.clone()).collect();
                    if !records.is_empty() && permits(rules::check_reviewer(&me, &gatherers)) {
                        push(
                            "foil.review",
                            "review the records and their redactions",
                            Action::FoilReview,
                        );
                    }
                }
                if release {
                    push("foil.decide", "grant or deny", Action::FoilRelease);
                }
            }
            // Never the person who decided the request (the domain's rule).
            Some(FoilStatus::Appealed)
                if appeal
                    && permits(rules::check_appeal_decision(
                        FoilStatus::Appealed,
                        &me,
                        r.decided_by.as_ref(),
                        "-",
                    )) =>
            {
                push("foil.appeal", "decide the appeal", Action::FoilAppealDecide)
            }
            _ => {}
        }
    }
    tx.commit().await.map_err(se)?;
    Ok(())
}

// ------------------------------------------------------------------ disclosures (EXT-01..EXT-04)

async fn disclosures(
    state: &AppState,
    p: &Principal,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    use probity_store::disclosures as dstore;
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let ids = probity_store::worklist::open_disclosures(&mut tx)
        .await
        .map_err(se)?;
    let mut seen = HashMap::new();
    for id in ids {
        let Some(d) = dstore::get(&mut tx, id).await.map_err(se)? else {
            continue;
        };
        let Some(case) = case_of(&mut tx, &mut seen, d.case_id).await? else {
            continue;
        };
        let Ok(resource) = crate::disclosures::resource(&case, d.id, d.proposed_by) else {
            continue;
        };
        let (action, kind, what, rule, since) = match d.status.as_str() {
            "proposed" => (
                Action::DisclosureApprove,
                "disclosure.approve",
                "approve or reject",
                "EXT-03",
                Some(d.proposed_at),
            ),
            "approved" => (
                Action::DisclosureRelease,
                "disclosure.release",
                "release the approved package",
                "EXT-01",
                d.decided_at,
            ),
            _ => continue,
        };
        if !allowed(state, p, action, &resource) {
            continue;
        }
        out.push(pending(
            "disclosures",
            kind,
            format!(
                "Disclosure to {} (case {}), proposed by {}: {what}",
                d.recipient_name, d.case_number, d.proposed_by_username
            ),
            ("disclosure", d.id.to_string()),
            since,
            None,
            None,
            false,
            rule,
            action,
            "/disclosures".into(),
        ));
    }
    tx.commit().await.map_err(se)?;
    Ok(())
}

// ------------------------------------------------------------------ dispositions (RET-11)

async fn dispositions(
    state: &AppState,
    p: &Principal,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    if !allowed(state, p, Action::RetentionApprove, &Resource::System) {
        return Ok(());
    }
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let open = probity_store::records::open_proposals(&mut tx)
        .await
        .map_err(se)?;
    tx.commit().await.map_err(se)?;
    for d in open {
        // Four eyes: never the proposer (the approval handler applies the same rule).
        if !permits(probity_domain::retention::check_approval(
            &d.proposed_by,
            &p.user.username,
        )) {
            continue;
        }
        out.push(pending(
            "records",
            "disposition.approve",
            format!(
                "Disposition of {} ({} {}, due {} under {}) proposed by {}: approve or reject",
                d.what, d.record_kind, d.record_id, d.due_on, d.rule, d.proposed_by
            ),
            ("disposition", d.id.to_string()),
            Some(d.proposed_at),
            None,
            None,
            false,
            "RET-11",
            Action::RetentionApprove,
            "/records".into(),
        ));
    }
    Ok(())
}

/// Repository photos below the quality floor, for the records officer who manages the
/// repository (FR-01, FR-06): one item counting them, since the oldest was flagged.
async fn repository_quality(
    state: &AppState,
    p: &Principal,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    if !allowed(state, p, Action::FrGallerySeal, &Resource::System) {
        return Ok(());
    }
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let (n, oldest) = probity_store::gallery_quality::open_count(&mut tx)
        .await
        .map_err(se)?;
    tx.commit().await.map_err(se)?;
    if n == 0 {
        return Ok(());
    }
    out.push(pending(
        "fr",
        "fr.gallery.quality_review",
        format!(
            "{n} repository photo{} below the quality floor: review each",
            if n == 1 { "" } else { "s" }
        ),
        ("fr_gallery", "quality".into()),
        oldest,
        None,
        None,
        false,
        "FR-06",
        Action::FrGallerySeal,
        "/fr/gallery/quality".into(),
    ));
    Ok(())
}

// ------------------------------------------------------------------ cameras and intakes (DC-04, DC-05)

async fn devices(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let all = probity_store::devices::list(&mut tx, &[])
        .await
        .map_err(se)?;
    tx.commit().await.map_err(se)?;
    for d in all {
        let status = inspection_status(
            d.last_inspected_at,
            Duration::days(i64::from(d.inspection_interval_days)),
            now,
        );
        let InspectionStatus::Overdue { due } = status else {
            continue;
        };
        let Ok(resource) = crate::evidence::devices::resource(&d.id.to_string(), &d.command) else {
            continue;
        };
        if !allowed(state, p, Action::DeviceInspect, &resource) {
            continue;
        }
        let what = if due.is_some() {
            "inspection overdue"
        } else {
            "never inspected"
        };
        out.push(pending(
            "evidence",
            "device.inspect",
            format!(
                "Camera {} {} (serial {}, {}): {what}",
                d.make, d.model, d.serial, d.command
            ),
            ("device", d.id.to_string()),
            d.last_inspected_at.or(Some(d.created_at)),
            due.or(Some(d.created_at)),
            None,
            true,
            "DC-04",
            Action::DeviceInspect,
            "/devices".into(),
        ));
    }
    Ok(())
}

async fn intakes(state: &AppState, p: &Principal, out: &mut Vec<Pending>) -> Result<(), ApiError> {
    // Intakes whose camera serial matches no assigned device: the supervisor checks them
    // (decided per case by the devices module, the same list its page shows).
    for f in crate::evidence::devices::flagged(state, p).await? {
        let since = DateTime::parse_from_rfc3339(&f.started_at)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        out.push(pending(
            "evidence",
            "intake.verify",
            format!(
                "Intake on case {} by {}: {}",
                f.case_number, f.importer, f.flag
            ),
            ("evidence_intake", f.intake_id.to_string()),
            since,
            None,
            None,
            false,
            "DC-04",
            Action::EvidenceRead,
            "/devices".into(),
        ));
    }
    // The person's own card intakes that ended without the "safe to clear" certificate.
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let ids = probity_store::worklist::card_intakes_without_certificate(&mut tx, &p.actor())
        .await
        .map_err(se)?;
    let mut seen = HashMap::new();
    for id in ids {
        let Some(i) = probity_store::evidence::get_intake(&mut tx, id)
            .await
            .map_err(se)?
        else {
            continue;
        };
        let Some(case) = case_of(&mut tx, &mut seen, i.case_id).await? else {
            continue;
        };
        let Ok(resource) = crate::evidence::intake::evidence_resource(&case, "new") else {
            continue;
        };
        if !allowed(state, p, Action::EvidenceIngest, &resource) {
            continue;
        }
        out.push(pending(
            "evidence",
            "intake.card_certificate",
            format!(
                "Card {} on case {}: not every file verified, so it may not be cleared; run the intake again",
                i.source_label, case.case_number
            ),
            ("evidence_intake", i.id.to_string()),
            i.finished_at.or(Some(i.started_at)),
            None,
            None,
            false,
            "DC-05",
            Action::EvidenceIngest,
            format!("/cases/{}/evidence", case.case_number),
        ));
    }
    tx.commit().await.map_err(se)?;
    Ok(())
}

// ------------------------------------------------------------------ thermal (TH-05)

async fn thermal(
    state: &AppState,
    p: &Principal,
    now: DateTime<Utc>,
    out: &mut Vec<Pending>,
) -> Result<(), ApiError> {
    let until = now + Duration::hours(THERMAL_EXPIRY_WINDOW_HOURS);
    let mut tx = state.store.begin_read().await.map_err(se)?;
    let ids = probity_store::worklist::thermal_expiring(&mut tx, now, until)
        .await
        .map_err(se)?;
    let mut list = Vec::new();
    for id in ids {
        if let Some(a) = probity_store::thermal::get_authorization(&mut tx, id)
            .await
            .map_err(se)?
        {
            list.push(a);
        }
    }
    tx.commit().await.map_err(se)?;
    for a in list {
        let Ok(resource) = crate::thermal::deployment_resource(&a, now) else {
            continue;
        };
        if !allowed(state, p, Action::ThermalAuthorize, &resource) {
            continue;
        }
        out.push(pending(
            "thermal",
            "thermal.expiring",
            format!(
                "Thermal authorization of {} ({}, {}) expires: authorize again if still needed",
                a.source, a.source_kind, a.command
            ),
            ("thermal_authorization", a.id.to_string()),
            Some(a.starts_at),
            Some(a.expires_at),
            None,
            false,
            "TH-05",
            Action::ThermalAuthorize,
            "/thermal".into(),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ answers

/// Records that the person was shown these items (SEC-04).
async fn audit_read(state: &AppState, p: &Principal, w: &Worklist) -> Result<(), ApiError> {
    let shown: Vec<String> = w
        .items
        .iter()
        .map(|i| format!("{}:{}", i.record_type, i.record_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "worklist.read".into(),
            record_type: "worklist".into(),
            record_id: p.user.username.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "items": w.total, "records": shown }),
        },
    )
    .await
    .map_err(se)?;
    Ok(())
}

/// The worklist for a page or the API: computed, audited, and kept as the navigation's snapshot.
pub async fn for_person(state: &AppState, p: &Principal) -> Result<Worklist, ApiError> {
    let w = compute(state, p, state.clock.now()).await?;
    remember(state, p, &w);
    audit_read(state, p, &w).await?;
    Ok(w)
}

pub async fn worklist_api(State(state): State<AppState>, SignedIn(p): SignedIn) -> Response {
    match for_person(&state, &p).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => e.into_response(),
    }
}

// ------------------------------------------------------------------ navigation counts

/// Counts for the navigation: the total and the count per workflow page.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub total: usize,
    pub by_link: BTreeMap<String, usize>,
}

impl Counts {
    fn of(w: &Worklist) -> Counts {
        Counts {
            total: w.total,
            by_link: w
                .groups
                .iter()
                .filter(|g| g.count > 0)
                .map(|g| (g.link.clone(), g.count))
                .collect(),
        }
    }
}

struct Snapshot {
    taken: Instant,
    refreshing: bool,
    counts: Option<Counts>,
}

fn snapshots() -> &'static Mutex<HashMap<String, Snapshot>> {
    static S: OnceLock<Mutex<HashMap<String, Snapshot>>> = OnceLock::new();
    S.get_or_init(|| Mutex::new(HashMap::new()))
}

fn key(state: &AppState, p: &Principal) -> String {
    format!(
        "{}|{}|{}",
        state.config.data_dir.display(),
        state.config.database_url.as_deref().unwrap_or(""),
        p.user.id
    )
}

fn remember(state: &AppState, p: &Principal, w: &Worklist) {
    if let Ok(mut map) = snapshots().lock() {
        map.insert(
            key(state, p),
            Snapshot {
                taken: Instant::now(),
                refreshing: false,
                counts: Some(Counts::of(w)),
            },
        );
    }
}

/// The navigation's counts for `p`: the latest snapshot (at most [`NAV_SNAPSHOT_AGE`] old, or
/// being refreshed in the background). Never computes on the page's own path, so a page render
/// costs one map lookup; the home page and the API store a fresh snapshot.
pub fn nav_counts(state: &AppState, p: &Principal) -> Option<Counts> {
    let k = key(state, p);
    let (counts, refresh) = {
        let mut map = snapshots().lock().ok()?;
        match map.get_mut(&k) {
            Some(s) => {
                let refresh = !s.refreshing && s.taken.elapsed() > NAV_SNAPSHOT_AGE;
                if refresh {
                    s.refreshing = true;
                }
                (s.counts.clone(), refresh)
            }
            None => {
                map.insert(
                    k.clone(),
                    Snapshot {
                        taken: Instant::now(),
                        refreshing: true,
                        counts: None,
                    },
                );
                (None, true)
            }
        }
    };
    if refresh {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let state = state.clone();
            let p = p.clone();
            handle.spawn(async move {
                match compute(&state, &p, state.clock.now()).await {
                    Ok(w) => remember(&state, &p, &w),
                    Err(e) => {
                        tracing::warn!(user = %p.user.username, error = %e.detail, "worklist counts not refreshed");
                        if let Ok(mut map) = snapshots().lock() {
                            if let Some(s) = map.get_mut(&key(&state, &p)) {
                                s.refreshing = false;
                                s.taken = Instant::now();
                            }
                        }
                    }
                }
            });
        }
    }
    counts
}

/// The home page's view of the worklist: the groups that have items, each with its items.
pub fn home_view(w: &Worklist, now: DateTime<Utc>) -> minijinja::Value {
    use minijinja::context;
    let groups: Vec<minijinja::Value> = w
        .groups
        .iter()
        .filter(|g| g.count > 0)
        .map(|g| {
            let items: Vec<minijinja::Value> = w
                .items
                .iter()
                .filter(|i| i.group == g.group)
                .map(|i| {
                    context! {
                        title => i.title.clone(),
                        kind => i.kind.clone(),
                        rule => i.rule.clone(),
                        link => i.link.clone(),
                        record_id => i.record_id.clone(),
                        overdue => i.overdue,
                        waiting => i.since.as_deref().and_then(|s| ago(s, now)),
                        deadline => i.deadline.as_deref().map(readable),
                        due => i.deadline.as_deref().and_then(|d| until(d, now)),
                    }
                })
                .collect();
            context! {
                group => g.group.clone(),
                label => g.label.clone(),
                link => g.link.clone(),
                count => g.count,
                overdue => g.overdue,
                items => items,
            }
        })
        .collect();
    context! {
        total => w.total,
        overdue => w.overdue,
        groups => groups,
        computed_ms => w.computed_ms,
    }
}

fn span(d: Duration) -> String {
    let m = d.num_minutes().abs();
    if m < 60 {
        format!("{m} min")
    } else if m < 48 * 60 {
        format!("{} h {:02} min", m / 60, m % 60)
    } else {
        format!("{} days", m / (24 * 60))
    }
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(end_of)
        })
}

/// A deadline for people: minutes in UTC for instants, the day for business-day deadlines.
fn readable(deadline: &str) -> String {
    DateTime::parse_from_rfc3339(deadline)
        .map(|t| {
            t.with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| deadline.to_string())
}

fn ago(since: &str, now: DateTime<Utc>) -> Option<String> {
    parse_time(since).map(|t| span(now - t))
}

fn until(deadline: &str, now: DateTime<Utc>) -> Option<String> {
    let t = parse_time(deadline)?;
    Some(if t >= now {
        format!("{} left", span(t - now))
    } else {
        format!("{} overdue", span(now - t))
    })
}
