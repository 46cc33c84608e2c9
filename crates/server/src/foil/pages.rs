//! FOIL web pages (PUB-01): the queue (`/foil`, overdue requests in red, the counts, the intake
//! form), one request (`/foil/requests/{foil}`: acknowledgement, gathering, the redaction of each
//! image with the detector's and the reviewer's boxes, review, decision, appeals) and the public
//! form (`/foil/request`, no account: its CSRF token is a pre-session cookie, as the sign-in
//! form's). Every form posts to a route decided like its API twin and calls the same operation.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::Utc;
use minijinja::context;
use serde::Deserialize;

use super::*;
use crate::extract::FormBody;
use crate::web::{check_csrf, error_response, page};

pub fn routes(t: RouteTable) -> RouteTable {
    use Method as M;
    t.add(
        M::GET,
        "/foil",
        Access::action("foil.read"),
        "FOIL queue: deadlines, overdue requests, counts",
        get(queue_page),
    )
    .add(
        M::POST,
        "/foil",
        Access::action("foil.manage"),
        "Log a FOIL request (form)",
        post(intake_form),
    )
    .add(
        M::GET,
        "/foil/request",
        Access::Public,
        "Public FOIL request form (no account needed)",
        get(public_page),
    )
    .add(
        M::POST,
        "/foil/request",
        Access::Public,
        "Submit the public FOIL request form",
        post(public_submit),
    )
    .add(
        M::GET,
        "/foil/requests/{foil}",
        Access::action("foil.read"),
        "One FOIL request",
        get(request_page),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/acknowledge",
        Access::action("foil.manage"),
        "Acknowledge a FOIL request (form)",
        post(acknowledge_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/extend",
        Access::action("foil.manage"),
        "Extend a FOIL decision date (form)",
        post(extend_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/records",
        Access::action("foil.manage"),
        "Gather responsive records (form)",
        post(gather_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/records/{record}/detect",
        Access::action("foil.review"),
        "Detect faces on a record (form)",
        post(detect_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/records/{record}/boxes",
        Access::action("foil.review"),
        "Add a redaction box (form)",
        post(add_box_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/records/{record}/boxes/{box}/remove",
        Access::action("foil.review"),
        "Remove a redaction box (form)",
        post(remove_box_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/review",
        Access::action("foil.review"),
        "Complete the review (form)",
        post(review_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/decision",
        Access::action("foil.release"),
        "Grant or deny a FOIL request (form)",
        post(decision_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/appeals",
        Access::action("foil.manage"),
        "Log an appeal (form)",
        post(appeal_form),
    )
    .add(
        M::POST,
        "/foil/requests/{foil}/appeals/decision",
        Access::action("foil.appeal.decide"),
        "Decide an appeal (form)",
        post(appeal_decision_form),
    )
}

fn fail(state: &AppState, e: ApiError) -> Response {
    error_response(state, true, e)
}

fn hint(state: &AppState, auth: &Authorized, action: &str) -> bool {
    crate::decision::hint(state, &auth.principal, action)
}

fn to_request(foil: &str) -> Response {
    Redirect::to(&format!("/foil/requests/{foil}")).into_response()
}

pub async fn queue_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
) -> Response {
    match queue(&state, &auth, Utc::now()).await {
        Ok(q) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "foil_queue.html",
            "/foil",
            context! {
                requests => q.requests,
                counts => q.counts,
                can_manage => hint(&state, &auth, "foil.manage"),
                today => today(Utc::now()).to_string(),
            },
        ),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct IntakeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub requester: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub received_on: String,
}

pub async fn intake_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(f): FormBody<IntakeForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = IntakeInput {
        requester: f.requester,
        contact: f.contact,
        description: f.description,
        received_on: Some(f.received_on),
    };
    match super::intake(&state, &auth, input, Utc::now()).await {
        Ok(d) => to_request(&d.request.id),
        Err(e) => fail(&state, e),
    }
}

pub async fn request_page(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
) -> Response {
    match read(&state, &auth, &foil, Utc::now()).await {
        Ok(d) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "foil_request.html",
            "/foil",
            context! {
                d => d,
                can_manage => hint(&state, &auth, "foil.manage"),
                can_review => hint(&state, &auth, "foil.review"),
                can_release => hint(&state, &auth, "foil.release"),
                can_decide_appeal => hint(&state, &auth, "foil.appeal.decide"),
                exemptions => probity_domain::foil::EXEMPTIONS,
                kinds => probity_domain::foil::RedactionKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                me => auth.principal.user.username.clone(),
            },
        ),
        Err(e) => fail(&state, e),
    }
}

// ------------------------------------------------------------------ public form

fn public_cookie(state: &AppState) -> &'static str {
    if state.tls {
        probity_auth::CSRF_COOKIE_NAME
    } else {
        probity_auth::CSRF_COOKIE_NAME_PLAIN
    }
}

fn public_form(
    state: &AppState,
    headers: &HeaderMap,
    status: axum::http::StatusCode,
    ctx: minijinja::Value,
) -> Response {
    let (token, set_cookie) = match crate::session::cookie(headers, public_cookie(state))
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(t) => (t, None),
        None => {
            let t = probity_auth::new_csrf_token();
            let c = probity_auth::csrf_set_cookie(&t, state.tls);
            (t, Some(c))
        }
    };
    let ctx = context! { form_csrf => token, ..ctx };
    let mut response = page(
        state,
        headers,
        None,
        "foil_public.html",
        "/foil/request",
        ctx,
    );
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    if let Some(c) = set_cookie.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub async fn public_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    public_form(&state, &headers, axum::http::StatusCode::OK, context! {})
}

#[derive(Deserialize)]
pub struct PublicForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub requester: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub description: String,
}

pub async fn public_submit(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let peer = crate::auth_flow::peer_ip(req.extensions());
    let headers = req.headers().clone();
    let f = match <FormBody<PublicForm> as axum::extract::FromRequest<()>>::from_request(req, &())
        .await
    {
        Ok(FormBody(f)) => f,
        Err(e) => return fail(&state, e),
    };
    let expected = crate::session::cookie(&headers, public_cookie(&state)).unwrap_or_default();
    if !probity_auth::csrf_matches(&expected, &f.csrf) {
        return public_form(
            &state,
            &headers,
            axum::http::StatusCode::FORBIDDEN,
            context! {
                error => "the form is stale or did not come from this site; please submit it again",
                requester => f.requester, contact => f.contact, description => f.description,
            },
        );
    }
    let who = api::client_of(&state, &headers, peer);
    let input = PublicInput {
        requester: f.requester.clone(),
        contact: f.contact.clone(),
        description: f.description.clone(),
    };
    match super::public_intake(&state, who, input, Utc::now()).await {
        Ok(receipt) => page(
            &state,
            &headers,
            None,
            "foil_public.html",
            "/foil/request",
            context! { receipt => receipt },
        ),
        Err(e) => {
            let mut detail = e.detail.clone();
            if !e.missing.is_empty() {
                detail = format!("please give: {}", e.missing.join(", "));
            }
            public_form(
                &state,
                &headers,
                e.status,
                context! {
                    error => detail, rule => e.rule,
                    requester => f.requester, contact => f.contact, description => f.description,
                },
            )
        }
    }
}

// ------------------------------------------------------------------ request forms

#[derive(Deserialize)]
pub struct AckForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub acknowledged_on: String,
    #[serde(default)]
    pub decision_by: String,
    #[serde(default)]
    pub extension_reason: String,
}

fn opt(s: String) -> Option<String> {
    Some(s).filter(|s| !s.trim().is_empty())
}

pub async fn acknowledge_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<AckForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = AcknowledgeInput {
        acknowledged_on: opt(f.acknowledged_on),
        decision_by: opt(f.decision_by),
        extension_reason: opt(f.extension_reason),
    };
    match super::acknowledge(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct ExtendForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub decision_by: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn extend_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<ExtendForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = ExtendInput {
        decision_by: opt(f.decision_by),
        reason: f.reason,
    };
    match super::extend(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct GatherForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub case: String,
    #[serde(default)]
    pub item: String,
}

pub async fn gather_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<GatherForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = GatherInput {
        case: f.case,
        item: opt(f.item),
    };
    match super::gather(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn detect_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((foil, record)): Path<(String, String)>,
    FormBody(f): FormBody<CsrfOnly>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    match super::detect(&state, &auth, &foil, &record, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct BoxForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub x: String,
    #[serde(default)]
    pub y: String,
    #[serde(default)]
    pub width: String,
    #[serde(default)]
    pub height: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

fn number(field: &str, v: &str) -> Result<Option<i64>, ApiError> {
    let v = v.trim();
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::bad_field(field, format!("{v:?} is not a whole number of pixels")))
}

pub async fn add_box_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((foil, record)): Path<(String, String)>,
    FormBody(f): FormBody<BoxForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let parsed = (|| -> Result<BoxInput, ApiError> {
        Ok(BoxInput {
            x: number("x", &f.x)?,
            y: number("y", &f.y)?,
            width: number("width", &f.width)?,
            height: number("height", &f.height)?,
            kind: f.kind.clone(),
            note: opt(f.note.clone()),
        })
    })();
    let input = match parsed {
        Ok(i) => i,
        Err(e) => return fail(&state, e),
    };
    match super::add_box(&state, &auth, &foil, &record, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

pub async fn remove_box_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path((foil, record, bx)): Path<(String, String, String)>,
    FormBody(f): FormBody<CsrfOnly>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    match super::remove_box(&state, &auth, &foil, &record, &bx, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub notes: String,
}

pub async fn review_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<ReviewForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = ReviewInput {
        notes: opt(f.notes),
    };
    match super::review(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

/// The decision form: `exemptions` may repeat (one checkbox per paragraph), so the body is read
/// as pairs.
pub async fn decision_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if let Err(e) = check_csrf(&headers, &get("csrf")) {
        return fail(&state, e);
    }
    let input = DecisionInput {
        outcome: get("outcome"),
        exemptions: pairs
            .iter()
            .filter(|(n, _)| n == "exemptions")
            .map(|(_, v)| v.clone())
            .collect(),
        recipient: opt(get("recipient")),
        notes: opt(get("notes")),
    };
    match super::decide(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct AppealForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub received_on: String,
    #[serde(default)]
    pub grounds: String,
}

pub async fn appeal_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<AppealForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = AppealInput {
        received_on: opt(f.received_on),
        grounds: f.grounds,
    };
    match super::appeal(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct AppealDecisionForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
}

pub async fn appeal_decision_form(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(foil): Path<String>,
    FormBody(f): FormBody<AppealDecisionForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &f.csrf) {
        return fail(&state, e);
    }
    let input = AppealDecisionInput {
        outcome: f.outcome,
        reason: f.reason,
    };
    match super::decide_appeal(&state, &auth, &foil, input, Utc::now()).await {
        Ok(_) => to_request(&foil),
        Err(e) => fail(&state, e),
    }
}
