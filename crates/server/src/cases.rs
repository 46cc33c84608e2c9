//! Cases: opening, reading, listing and closing (RET closure reasons), shared by the JSON API and the
//! web pages. Validation is the domain crate's; every change carries its audit entry in the same
//! transaction.

use std::str::FromStr;

use probity_domain::cases::{
    Case as DomainCase, CaseNumber, CaseStatus, ClosureReason, OffenceClassification,
};
use probity_domain::{retention_for, RetentionFacts, RetentionSchedule};
use probity_domain::{CaseId, CommandCode, UserId};
use probity_store::{audit, cases, users, Tx};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use probity_policy::{Action, CaseRef, Resource};

use crate::authz::Authorized;
use crate::error::ApiError;
use crate::listing::{non_empty, Links, Page, Paged, Visible};
use crate::principal::Principal;
use crate::state::AppState;

/// A case as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CaseView {
    pub case_number: String,
    pub offence_classification: String,
    pub offence_label: String,
    pub status: String,
    pub command: String,
    pub assigned_investigator: Option<String>,
    pub political_activity: bool,
    pub closure_reason: Option<String>,
    pub closure_label: Option<String>,
    pub closed_at: Option<String>,
    pub opened_at: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewCaseInput {
    pub case_number: String,
    pub offence_classification: String,
    /// Username of the assigned investigator.
    pub assigned_investigator: Option<String>,
    #[serde(default)]
    pub political_activity: bool,
    /// Owning command; defaults to the creator's command.
    pub command: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CloseInput {
    pub closure_reason: String,
    /// Classification of the final disposition; defaults to the case's current classification.
    pub final_classification: Option<String>,
}

pub fn humanize(s: &str) -> String {
    let mut out = s.replace('_', " ");
    if let Some(first) = out.get(0..1) {
        let upper = first.to_uppercase();
        out.replace_range(0..1, &upper);
    }
    out
}

async fn username_of(tx: &mut Tx, id: Option<uuid::Uuid>) -> Result<Option<String>, ApiError> {
    match id {
        None => Ok(None),
        Some(id) => Ok(users::get(tx, id)
            .await
            .map_err(crate::store_error)?
            .map(|u| u.username)),
    }
}

pub async fn view(tx: &mut Tx, c: &cases::Case) -> Result<CaseView, ApiError> {
    let assigned = username_of(tx, c.assigned_investigator).await?;
    Ok(view_named(c, assigned))
}

/// [`view`] with the assigned investigator's username already known.
fn view_named(c: &cases::Case, assigned_investigator: Option<String>) -> CaseView {
    CaseView {
        case_number: c.case_number.clone(),
        offence_classification: c.offence_classification.clone(),
        offence_label: humanize(&c.offence_classification),
        status: c.status.clone(),
        command: c.command.clone(),
        assigned_investigator,
        political_activity: c.political_activity,
        closure_reason: c.closure_reason.clone(),
        closure_label: c
            .closure_reason
            .as_deref()
            .and_then(|r| ClosureReason::from_str(r).ok())
            .map(|r| humanize(r.wording())),
        closed_at: c.closed_at.map(|t| t.to_rfc3339()),
        opened_at: c.created_at.to_rfc3339(),
    }
}

/// The domain's view of a stored case (for closure and retention).
pub fn domain_case(c: &cases::Case) -> Result<DomainCase, ApiError> {
    let bad = |e: probity_domain::DomainError| {
        ApiError::internal(format!("stored case {}: {e}", c.case_number))
    };
    Ok(DomainCase {
        id: CaseId(c.id),
        number: CaseNumber::parse(&c.case_number).map_err(bad)?,
        offence: OffenceClassification::from_str(&c.offence_classification).map_err(bad)?,
        status: CaseStatus::from_str(&c.status).map_err(bad)?,
        command: CommandCode::parse(&c.command).map_err(bad)?,
        assigned_investigator: c.assigned_investigator.map(UserId),
        political_activity: c.political_activity,
        opened_at: c.created_at,
        closure: None,
    })
}

/// The retention rule that applies to a closed case, in words.
pub fn retention_text(schedule: &RetentionSchedule, c: &cases::Case) -> Option<String> {
    let closed_at = c.closed_at?;
    let reason = ClosureReason::from_str(c.closure_reason.as_deref()?).ok()?;
    let mut d = domain_case(c).ok()?;
    d.status = CaseStatus::Closed;
    d.closure = Some(probity_domain::cases::Closure {
        reason,
        closed_at,
        closed_by: UserId(uuid::Uuid::nil()),
        final_classification: d.offence,
    });
    let rule = retention_for(schedule, &d, &RetentionFacts::default()).ok()?;
    use probity_domain::RetentionPeriod as P;
    Some(match rule.period {
        P::Permanent => format!("{}: kept permanently", rule.rule_id),
        P::MinUntil(d) => format!("{}: kept at least until {d}", rule.rule_id),
        P::Until(e) => format!("{}: kept until {}", rule.rule_id, humanize(e.as_str())),
    })
}

/// Opens a case. The policy decides `case.create` on the case exactly as it will be stored: its
/// command, its assigned investigator and its political-activity flag (SEC-02, FR-25).
pub async fn create(
    state: &AppState,
    caller: &Arc<Principal>,
    input: NewCaseInput,
) -> Result<CaseView, ApiError> {
    let number = CaseNumber::parse(&input.case_number).map_err(crate::domain_error)?;
    let offence = OffenceClassification::from_str(input.offence_classification.trim())
        .map_err(|e| ApiError::bad_field("offence_classification", e.to_string()))?;
    let p: &Principal = caller;
    let command =
        match input.command.as_deref().filter(|c| !c.trim().is_empty()) {
            Some(c) => CommandCode::parse(c).map_err(crate::domain_error)?,
            None => p.access.primary_command().cloned().ok_or_else(|| {
                ApiError::bad_field("command", "give the command that owns the case")
            })?,
        };
    let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
    let investigator = match input
        .assigned_investigator
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(name) => Some(
            users::get_by_username(&mut tx, name)
                .await
                .map_err(crate::store_error)?
                .ok_or_else(|| {
                    ApiError::bad_field(
                        "assigned_investigator",
                        format!("there is no person with username {name}"),
                    )
                })?
                .id,
        ),
    };
    let new_case = CaseRef {
        id: CaseId::new(),
        command: command.clone(),
        assigned_investigator: investigator.map(UserId),
        political_activity: input.political_activity,
    };
    tx.commit().await.map_err(crate::store_error)?;
    // Decided before the write transaction opens: a refusal is audited in a transaction of its own.
    let auth = crate::authz::authorize_on(
        state,
        caller,
        Action::CaseCreate,
        &Resource::Case(new_case),
        "case",
        number.as_str(),
    )
    .await?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let created = cases::create(
        &mut tx,
        &cases::NewCase {
            case_number: number.as_str().to_string(),
            offence_classification: offence.as_str().to_string(),
            status: CaseStatus::Open.as_str().to_string(),
            command: command.as_str().to_string(),
            assigned_investigator: investigator,
            political_activity: input.political_activity,
            created_by: p.actor(),
        },
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "case.create".into(),
            record_type: "case".into(),
            record_id: created.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "offence_classification": created.offence_classification,
                "political_activity": created.political_activity,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    let v = view(&mut tx, &created).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}

/// Reads a case and records the read (SEC-04).
pub async fn read(
    state: &AppState,
    auth: &Authorized,
) -> Result<(cases::Case, CaseView), ApiError> {
    let case = &auth
        .case
        .as_ref()
        .ok_or_else(|| ApiError::internal("case route without a case"))?
        .case;
    let assigned = match case.assigned_investigator {
        Some(id) => state.username(id).await?,
        None => None,
    };
    let v = view_named(case, assigned);
    // Group commit: the read is answered only once its entry is durable.
    audit::record(
        &state.store,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "case.read".into(),
            record_type: "case".into(),
            record_id: case.case_number.clone(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    Ok((case.clone(), v))
}

/// The query string of the case list: paging (see [`crate::listing`]), sort by `opened`
/// (default, newest first), `number`, `status` or `command`, `q` (part of the case number),
/// `status` and `command`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CaseListParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
    pub command: Option<String>,
}

/// The sort keys of the case list; the first is the default.
const CASE_SORTS: &[&str] = &["opened", "number", "status", "command"];

/// One page of the cases the caller may read: the policy decides case by case, and the page is
/// filled from the cases it allows (see [`crate::listing::Visible`]).
pub async fn list(
    state: &AppState,
    auth: &Authorized,
    params: &CaseListParams,
    path: &str,
) -> Result<Paged<CaseView>, ApiError> {
    let page = Page::parse(
        params.limit,
        params.offset,
        params.sort.as_deref(),
        params.order.as_deref(),
        params.q.as_deref(),
        CASE_SORTS,
        true,
    )?;
    let sort = match page.sort {
        "number" => cases::CaseSort::Number,
        "status" => cases::CaseSort::Status,
        "command" => cases::CaseSort::Command,
        _ => cases::CaseSort::Opened,
    };
    let status = non_empty(params.status.as_deref());
    let command = non_empty(params.command.as_deref());
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    let mut visible = Visible::new(&page);
    loop {
        let batch = cases::list(
            &mut tx,
            &cases::CaseFilter {
                status: status.clone(),
                number_contains: page.q.clone(),
                command: command.clone(),
                sort: Some((sort, page.descending)),
                limit: visible.batch(),
                offset: u32::try_from(visible.read()).unwrap_or(u32::MAX),
                ..Default::default()
            },
        )
        .await
        .map_err(crate::store_error)?;
        let done = visible.offer(batch, |c| {
            crate::decision::case_ref(c).is_some_and(|r| {
                crate::decision::decide_for(
                    state,
                    &auth.principal,
                    Action::CaseRead,
                    &Resource::Case(r),
                )
                .allowed
            })
        });
        if done {
            break;
        }
    }
    let at_least = visible.at_least();
    let more = visible.more;
    let mut out = Vec::with_capacity(visible.items.len());
    for c in &visible.items {
        out.push(view(&mut tx, c).await?);
    }
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "case.list".into(),
            record_type: "case".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "rule": auth.rule, "count": out.len(), "offset": page.offset }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    let links = Links::new(path)
        .filter("q", page.q.as_deref())
        .filter("status", status.as_deref())
        .filter("command", command.as_deref());
    Ok(Paged::offset_page(
        out, &page, &links, at_least, false, more,
    ))
}

/// Closes a case: only with one of the four closure reasons (RET).
pub async fn close(
    state: &AppState,
    auth: &Authorized,
    input: CloseInput,
) -> Result<CaseView, ApiError> {
    let stored = &auth
        .case
        .as_ref()
        .ok_or_else(|| ApiError::internal("case route without a case"))?
        .case;
    let reason = ClosureReason::from_str(input.closure_reason.trim())
        .map_err(|e| ApiError::bad_field("closure_reason", e.to_string()).with_rule("RET"))?;
    let final_classification = match input
        .final_classification
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        Some(f) => OffenceClassification::from_str(f.trim())
            .map_err(|e| ApiError::bad_field("final_classification", e.to_string()))?,
        None => OffenceClassification::from_str(&stored.offence_classification)
            .map_err(|e| ApiError::internal(e.to_string()))?,
    };
    let now = state.clock.now();
    let closed = domain_case(stored)?
        .close(reason, final_classification, auth.principal.person.id, now)
        .map_err(crate::domain_error)?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    if closed.offence.as_str() != stored.offence_classification {
        cases::update_details(
            &mut tx,
            stored.id,
            closed.offence.as_str(),
            stored.political_activity,
        )
        .await
        .map_err(crate::store_error)?;
    }
    let updated = cases::close(
        &mut tx,
        stored.id,
        closed.status.as_str(),
        reason.as_str(),
        now,
    )
    .await
    .map_err(crate::store_error)?;
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: auth.principal.actor(),
            action: "case.close".into(),
            record_type: "case".into(),
            record_id: updated.case_number.clone(),
            reason: Some(reason.wording().to_string()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({
                "rule": auth.rule,
                "closure_reason": reason.as_str(),
                "final_classification": closed.offence.as_str(),
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    let v = view(&mut tx, &updated).await?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(v)
}
