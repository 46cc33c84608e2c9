//! One search box: case numbers, people (username or display name), camera serials and FR
//! request ids (`/search?q=`, `GET /api/search?q=`).
//!
//! Every match is decided on its own record by the policy engine, with the same resource the
//! record's own page decides on (the case; the account; the device of its command; the FR
//! request with its case and requester); a match the caller may not read is left out and not
//! counted. Each kind is a list of its own, paged like the row-decided lists
//! ([`crate::listing::Visible`]): the overview shows the first [`PER_KIND`] of each kind with a
//! pager, and `kind=` with `limit` and `offset` pages through one kind.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method as M};
use axum::response::Response;
use axum::routing::get;
use axum::Json;
use minijinja::context;
use probity_domain::{FrRequestId, UserId};
use probity_policy::{Action, Resource};
use probity_store::{audit, cases, devices, fr, users, Tx};
use serde::{Deserialize, Serialize};

use crate::authz::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::listing::{non_empty, Links, Page, Visible};
use crate::principal::Principal;
use crate::routes::{Access, RouteTable};
use crate::state::AppState;
use crate::web::page;

/// Results shown of each kind on the overview.
pub const PER_KIND: u32 = 10;
/// Longest search text accepted.
const MAX_QUERY: usize = 100;
/// The kinds of record searched, in the order shown, with their headings.
pub const KINDS: [(&str, &str); 4] = [
    ("case", "Cases"),
    ("person", "People"),
    ("device", "Cameras"),
    ("fr_request", "FR requests"),
];

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
    /// One kind only (`case`, `person`, `device` or `fr_request`), paged with `limit` and
    /// `offset`; without it, the first results of every kind.
    pub kind: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

/// One match.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    /// `case`, `person`, `device` or `fr_request`.
    pub kind: String,
    pub id: String,
    pub label: String,
    pub detail: String,
    /// The record's page.
    pub href: String,
}

/// One kind's page of matches, with the links of its pager (as [`crate::listing::Paged`]).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchGroup {
    /// `case`, `person`, `device` or `fr_request`.
    pub kind: String,
    pub title: String,
    /// How many of this kind are in `items`.
    pub shown: usize,
    /// A lower bound of the matches the caller may read: those before this page, those shown,
    /// and one when more follow (each is decided on its own).
    pub total: u64,
    pub total_exact: bool,
    pub limit: u32,
    pub offset: u64,
    /// This kind's next page, when there is one.
    pub next: Option<String>,
    /// This kind's previous page, when there is one.
    pub prev: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    pub q: String,
    /// The kind asked for, if one.
    pub kind: Option<String>,
    /// The matches shown, kind after kind.
    pub items: Vec<SearchHit>,
    /// Each kind searched, with its pager.
    pub groups: Vec<SearchGroup>,
}

fn allowed(state: &AppState, p: &Principal, action: Action, r: &Resource) -> bool {
    crate::decision::decide_for(state, p, action, r).allowed
}

/// One page of matches of `kind` the caller may read: batches of stored matches in the kind's
/// order, each decided as its record's page decides.
async fn kind_page(
    state: &AppState,
    p: &Principal,
    tx: &mut Tx,
    kind: &str,
    q: &str,
    page: &Page,
) -> Result<(Vec<SearchHit>, u64, bool), ApiError> {
    let mut visible: Visible<SearchHit> = Visible::new(page);
    loop {
        let (limit, offset) = (visible.batch(), visible.read());
        let batch: Vec<(SearchHit, bool)> = match kind {
            // Case numbers: decided as the case page decides (case.read on the case).
            "case" => cases::list(
                tx,
                &cases::CaseFilter {
                    number_contains: Some(q.to_string()),
                    sort: Some((cases::CaseSort::Number, false)),
                    limit,
                    offset: u32::try_from(offset).unwrap_or(u32::MAX),
                    ..Default::default()
                },
            )
            .await
            .map_err(crate::store_error)?
            .into_iter()
            .map(|c| {
                let ok = crate::decision::case_ref(&c)
                    .is_some_and(|r| allowed(state, p, Action::CaseRead, &Resource::Case(r)));
                let hit = SearchHit {
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
                };
                (hit, ok)
            })
            .collect(),
            // People: decided as the account page decides (user.read on the account).
            "person" => users::list_page(
                tx,
                &users::UserFilter {
                    q: Some(q.to_string()),
                    limit,
                    offset,
                    ..Default::default()
                },
            )
            .await
            .map_err(crate::store_error)?
            .0
            .into_iter()
            .map(|u| {
                let ok = allowed(
                    state,
                    p,
                    Action::UserRead,
                    &Resource::Account { user: UserId(u.id) },
                );
                let hit = SearchHit {
                    kind: "person".into(),
                    id: u.username.clone(),
                    label: u.display_name.clone(),
                    detail: format!(
                        "{}{}",
                        u.username,
                        u.command.map(|c| format!(", {c}")).unwrap_or_default()
                    ),
                    href: format!("/admin/users/{}", u.username),
                };
                (hit, ok)
            })
            .collect(),
            // Camera serials: shown as the camera list shows them (the caller manages or
            // inspects the camera, or holds it).
            "device" => devices::search_serial(tx, q, limit, offset)
                .await
                .map_err(crate::store_error)?
                .into_iter()
                .map(|d| {
                    let ok = d.assigned_to == Some(p.user.id)
                        || crate::evidence::devices::resource(&d.id.to_string(), &d.command)
                            .is_ok_and(|r| {
                                allowed(state, p, Action::DeviceManage, &r)
                                    || allowed(state, p, Action::DeviceInspect, &r)
                            });
                    let hit = SearchHit {
                        kind: "device".into(),
                        id: d.id.to_string(),
                        label: format!("Camera {}", d.serial),
                        detail: format!("{} {}, {}", d.make, d.model, d.command),
                        href: format!(
                            "/devices?q={}#device-{}",
                            crate::listing::encode(&d.serial),
                            d.id
                        ),
                    };
                    (hit, ok)
                })
                .collect(),
            // FR requests by the start of their id: decided as the request's page decides
            // (fr.request.read on the request with its case and requester).
            "fr_request" => {
                let id_prefix: String = q
                    .chars()
                    .filter(|c| c.is_ascii_hexdigit() || *c == '-')
                    .collect();
                if id_prefix.len() < 4 || id_prefix.len() != q.len() {
                    Vec::new()
                } else {
                    let rows = fr::search_id(tx, &id_prefix, limit, offset)
                        .await
                        .map_err(crate::store_error)?;
                    let mut out = Vec::with_capacity(rows.len());
                    for r in rows {
                        let case = cases::get(tx, r.case_id)
                            .await
                            .map_err(crate::store_error)?;
                        let ok = case
                            .as_ref()
                            .and_then(crate::decision::case_ref)
                            .is_some_and(|case_ref| {
                                let resource = Resource::FrRequest {
                                    id: FrRequestId(r.id),
                                    case: case_ref,
                                    requester: UserId(r.requester),
                                };
                                allowed(state, p, Action::FrRequestRead, &resource)
                            });
                        let hit = SearchHit {
                            kind: "fr_request".into(),
                            id: r.id.to_string(),
                            label: format!("FR request {}", r.id),
                            detail: format!("case {}, {}", r.case_number, r.state),
                            href: format!("/fr/requests/{}", r.id),
                        };
                        out.push((hit, ok));
                    }
                    out
                }
            }
            _ => Vec::new(),
        };
        // The decision travels with each row, so the store is read once per batch.
        let decided: std::collections::HashSet<String> = batch
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(h, _)| h.id.clone())
            .collect();
        let rows = batch.into_iter().map(|(h, _)| h).collect();
        if visible.offer(rows, |h| decided.contains(&h.id)) {
            break;
        }
    }
    let at_least = visible.at_least();
    let more = visible.more;
    Ok((visible.items, at_least, more))
}

/// Runs a search for `p`: every kind (the first [`PER_KIND`] of each), or one kind a page at a
/// time. Records it in the audit trail with what was shown. `path` is the address the pagers
/// link to.
pub async fn search(
    state: &AppState,
    p: &Principal,
    params: &SearchParams,
    path: &str,
) -> Result<SearchResults, ApiError> {
    let raw = params.q.as_deref().unwrap_or("");
    let q = raw.trim();
    if q.chars().count() > MAX_QUERY {
        return Err(ApiError::bad_field(
            "q",
            format!("search for at most {MAX_QUERY} characters"),
        ));
    }
    let only = non_empty(params.kind.as_deref());
    let kinds: Vec<(&str, &str)> = match only.as_deref() {
        None => KINDS.to_vec(),
        Some(k) => vec![KINDS
            .iter()
            .copied()
            .find(|(id, _)| *id == k)
            .ok_or_else(|| {
                ApiError::bad_field("kind", "kind is case, person, device or fr_request")
            })?],
    };
    let mut results = SearchResults {
        q: q.to_string(),
        kind: only.clone(),
        items: Vec::new(),
        groups: Vec::new(),
    };
    if q.is_empty() {
        return Ok(results);
    }
    let page = Page::parse(
        if only.is_some() {
            params.limit
        } else {
            Some(PER_KIND)
        },
        if only.is_some() { params.offset } else { None },
        None,
        None,
        None,
        &["match"],
        false,
    )?;
    let mut tx = state.store.begin().await.map_err(crate::store_error)?;
    for (kind, title) in kinds {
        let (hits, total, more) = kind_page(state, p, &mut tx, kind, q, &page).await?;
        let links = Links::new(path)
            .filter("q", Some(q))
            .filter("kind", Some(kind));
        let at = |offset: u64| {
            links.url(&[
                ("limit", page.limit.to_string()),
                ("offset", offset.to_string()),
            ])
        };
        results.groups.push(SearchGroup {
            kind: kind.to_string(),
            title: title.to_string(),
            shown: hits.len(),
            total,
            total_exact: false,
            limit: page.limit,
            offset: page.offset,
            next: more.then(|| at(page.offset.saturating_add(u64::from(page.limit)))),
            prev: (page.offset > 0).then(|| at(page.offset.saturating_sub(u64::from(page.limit)))),
        });
        results.items.extend(hits);
    }
    let shown: Vec<String> = results
        .items
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
            detail: serde_json::json!({
                "q": q, "kind": only, "offset": page.offset, "shown": shown,
            }),
        },
    )
    .await
    .map_err(crate::store_error)?;
    tx.commit().await.map_err(crate::store_error)?;
    Ok(results)
}

async fn api(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    Query(params): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    Ok(Json(search(&state, &p, &params, "/api/search").await?))
}

async fn html(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    Query(params): Query<SearchParams>,
) -> Response {
    match search(&state, &p, &params, "/search").await {
        Ok(results) => {
            // Each kind as the list macros expect it: its items beside its pager's figures.
            let groups: Vec<minijinja::Value> = results
                .groups
                .iter()
                .map(|g| {
                    let items: Vec<&SearchHit> =
                        results.items.iter().filter(|h| h.kind == g.kind).collect();
                    context! {
                        kind => g.kind, title => g.title, items => items, total => g.total,
                        total_exact => g.total_exact, limit => g.limit, offset => g.offset,
                        next => g.next, prev => g.prev,
                    }
                })
                .collect();
            page(
                &state,
                &headers,
                Some(&p),
                "search.html",
                "/search",
                context! {
                    every_kind => Links::new("/search").filter("q", Some(&results.q)).url(&[]),
                    results => results,
                    groups => groups,
                },
            )
        }
        Err(e) => crate::web::error_response(&state, true, e),
    }
}
