//! One search box: case numbers, people (username or display name), camera serials and FR
//! request ids (`/search?q=`, `GET /api/search?q=`).
//!
//! Every match is decided on its own record by the policy engine, with the same resource the
//! record's own page decides on (the case; the account; the device of its command; the FR
//! request with its case and requester); a match the caller may not read is left out and not
//! counted. At most [`PER_KIND`] results of each kind are shown, and at most [`SCAN`] stored
//! matches of each kind are read to find them.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method as M};
use axum::response::Response;
use axum::routing::get;
use axum::Json;
use minijinja::context;
use probity_domain::{FrRequestId, UserId};
use probity_policy::{Action, Resource};
use probity_store::{audit, cases, devices, fr, users};
use serde::{Deserialize, Serialize};

use crate::authz::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::page;

/// Results shown of each kind.
pub const PER_KIND: usize = 10;
/// Stored matches read of each kind, at most, to find them.
pub const SCAN: u32 = 2000;
const BATCH: u32 = 200;
/// Longest search text accepted.
const MAX_QUERY: usize = 100;

pub fn routes(t: RouteTable) -> RouteTable {
    const ROWS: Access = Access::rows("case.read, user.read, device.manage, fr.request.read");
    t.add(
        M::GET,
        "/api/search",
        ROWS,
        "Search case numbers, people, camera serials and FR request ids; only records the caller may read",
        get(api),
    )
    .add(
        M::GET,
        "/search",
        ROWS,
        "Search page",
        get(html),
    )
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct SearchParams {
    /// Part of a case number, username, display name or camera serial, or the start of an FR
    /// request id.
    pub q: Option<String>,
}

/// One match.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `case`, `person`, `device` or `fr_request`.
    pub kind: String,
    pub id: String,
    pub label: String,
    pub detail: String,
    /// The record's page.
    pub href: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub q: String,
    pub items: Vec<SearchHit>,
}

fn allowed(state: &AppState, p: &Principal, action: Action, r: &Resource) -> bool {
    crate::decision::decide_for(state, p, action, r).allowed
}

/// Runs a search for `p`; records it in the audit trail with what was shown.
pub async fn search(state: &AppState, p: &Principal, raw: &str) -> Result<SearchResults, ApiError> {
    let q = raw.trim();
    if q.chars().count() > MAX_QUERY {
        return Err(ApiError::bad_field(
            "q",
            format!("search for at most {MAX_QUERY} characters"),
        ));
    }
    let mut items = Vec::new();
    if q.is_empty() {
        return Ok(SearchResults {
            q: String::new(),
            items,
        });
    }
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;

    // Case numbers: decided as the case page decides (case.read on the case).
    let mut found = 0;
    let mut read = 0u32;
    while found < PER_KIND && read < SCAN {
        let batch = cases::list(
            &mut tx,
            &cases::CaseFilter {
                number_contains: Some(q.to_string()),
                sort: Some((cases::CaseSort::Number, false)),
                limit: BATCH,
                offset: read,
                ..Default::default()
            },
        )
        .await
        .map_err(crate::store_error)?;
        let got = batch.len();
        read += BATCH;
        for c in batch {
            let Some(r) = crate::decision::case_ref(&c) else {
                continue;
            };
            if found < PER_KIND && allowed(state, p, Action::CaseRead, &Resource::Case(r)) {
                found += 1;
                items.push(SearchHit {
                    kind: "case".into(),
                    id: c.case_number.clone(),
                    label: format!("Case {}", c.case_number),
                    detail: format!(
                        "{}, {}, {}",
                        crate::cases::humanize(&c.offence_classification),
                        c.status,
                        c.command
                    ),
                    href: format!("/cases/{}", c.case_number),
                });
            }
        }
        if got < BATCH as usize {
            break;
        }
    }

    // People: decided as the account page decides (user.read on the account).
    let mut found = 0;
    let mut read = 0u64;
    while found < PER_KIND && read < u64::from(SCAN) {
        let (batch, _) = users::list_page(
            &mut tx,
            &users::UserFilter {
                q: Some(q.to_string()),
                limit: BATCH,
                offset: read,
                ..Default::default()
            },
        )
        .await
        .map_err(crate::store_error)?;
        let got = batch.len();
        read += u64::from(BATCH);
        for u in batch {
            let r = Resource::Account { user: UserId(u.id) };
            if found < PER_KIND && allowed(state, p, Action::UserRead, &r) {
                found += 1;
                items.push(SearchHit {
                    kind: "person".into(),
                    id: u.username.clone(),
                    label: u.display_name.clone(),
                    detail: format!(
                        "{}{}",
                        u.username,
                        u.command.map(|c| format!(", {c}")).unwrap_or_default()
                    ),
                    href: format!("/admin/users/{}", u.username),
                });
            }
        }
        if got < BATCH as usize {
            break;
        }
    }

    // Camera serials: shown as the camera list shows them (the caller manages or inspects the
    // camera, or holds it).
    let mut found = 0;
    for d in devices::search_serial(&mut tx, q, SCAN)
        .await
        .map_err(crate::store_error)?
    {
        if found >= PER_KIND {
            break;
        }
        let Ok(r) = crate::evidence::devices::resource(&d.id.to_string(), &d.command) else {
            continue;
        };
        let visible = d.assigned_to == Some(p.user.id)
            || allowed(state, p, Action::DeviceManage, &r)
            || allowed(state, p, Action::DeviceInspect, &r);
        if visible {
            found += 1;
            items.push(SearchHit {
                kind: "device".into(),
                id: d.id.to_string(),
                label: format!("Camera {}", d.serial),
                detail: format!("{} {}, {}", d.make, d.model, d.command),
                href: format!("/devices#device-{}", d.id),
            });
        }
    }

    // FR requests by the start of their id: decided as the request's page decides
    // (fr.request.read on the request with its case and requester).
    let mut found = 0;
    let id_prefix: String = q
        .chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '-')
        .collect();
    if id_prefix.len() >= 4 && id_prefix.len() == q.len() {
        for r in fr::search_id(&mut tx, &id_prefix, SCAN)
            .await
            .map_err(crate::store_error)?
        {
            if found >= PER_KIND {
                break;
            }
            let Some(case) = cases::get(&mut tx, r.case_id)
                .await
                .map_err(crate::store_error)?
            else {
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
            if allowed(state, p, Action::FrRequestRead, &resource) {
                found += 1;
                items.push(SearchHit {
                    kind: "fr_request".into(),
                    id: r.id.to_string(),
                    label: format!("FR request {}", r.id),
                    detail: format!("case {}, {}", r.case_number, r.state),
                    href: format!("/fr/requests/{}", r.id),
                });
            }
        }
    }

    let shown: Vec<String> = items
        .iter()
        .map(|h| format!("{}:{}", h.kind, h.id))
        .collect();
    audit::append(
        &mut tx,
        &audit::AuditEvent {
            actor: p.actor(),
            action: "search".into(),
            record_type: "search".into(),
            record_id: "*".into(),
            reason: None,
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "q": q, "shown": shown }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(SearchResults {
        q: q.to_string(),
        items,
    })
}

async fn api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    let q = params.q.unwrap_or_default();
    Ok(Json(search(&state, &p, &q).await?))
}

async fn html(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Response {
    let q = params.q.unwrap_or_default();
    match search(&state, &p, &q).await {
        Ok(results) => page(
            &state,
            &headers,
            Some(&p),
            "search.html",
            "/search",
            context! { results => results },
        ),
        Err(e) => crate::web::error_response(&state, true, e),
    }
}
