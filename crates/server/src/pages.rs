//! Web page handlers: server-rendered HTML over the same operations as the JSON API.

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use probity_domain::cases::{ClosureReason, OffenceClassification};
use probity_domain::{Course, Role};
use serde::Deserialize;

use crate::auth_flow::{self, SignIn};
use crate::authz::{Authorized, SignedIn};
use crate::cases::{self, humanize};
use crate::error::ApiError;
use crate::extract::FormBody;
use crate::people;
use crate::state::AppState;
use crate::web::{check_csrf, error_response, page};

fn fail(state: &AppState, e: ApiError) -> Response {
    error_response(state, true, e)
}

/// The name of the sign-in forms' pre-session CSRF cookie (`__Host-` under TLS).
fn login_csrf_cookie(state: &AppState) -> &'static str {
    if state.tls {
        probity_auth::CSRF_COOKIE_NAME
    } else {
        probity_auth::CSRF_COOKIE_NAME_PLAIN
    }
}

/// The sign-in forms' CSRF token: the one in the pre-session cookie when it is well formed, else a
/// new one with the `Set-Cookie` that hands it to the browser (double submit: the form echoes it).
fn login_csrf(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    match crate::session::cookie(headers, login_csrf_cookie(state))
        .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        Some(token) => (token, None),
        None => {
            let token = probity_auth::new_csrf_token();
            let cookie = probity_auth::csrf_set_cookie(&token, state.tls);
            (token, Some(cookie))
        }
    }
}

/// The sign-in forms' CSRF check: the form's token equals the cookie's (constant time).
fn check_login_csrf(
    state: &AppState,
    headers: &HeaderMap,
    presented: &str,
) -> Result<(), ApiError> {
    let expected = crate::session::cookie(headers, login_csrf_cookie(state)).unwrap_or_default();
    if probity_auth::csrf_matches(&expected, presented) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "SEC-04.csrf",
            "the sign-in form is stale or did not come from this site; reload the page and try again",
        ))
    }
}

/// A sign-in page (`login.html` or `totp.html`) with the CSRF token, its cookie when new, and
/// `status`.
fn login_form(
    state: &AppState,
    headers: &HeaderMap,
    template: &str,
    status: axum::http::StatusCode,
    ctx: minijinja::Value,
) -> Response {
    let (token, set_cookie) = login_csrf(state, headers);
    let ctx = context! { login_csrf => token, ..ctx };
    let mut response = page(state, headers, None, template, "/login", ctx);
    if response.status().is_success() {
        *response.status_mut() = status;
    }
    if let Some(c) = set_cookie.and_then(|c| axum::http::HeaderValue::from_str(&c).ok()) {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

pub async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    login_form(
        &state,
        &headers,
        "login.html",
        axum::http::StatusCode::OK,
        context! {},
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub csrf: String,
    pub username: String,
    pub password: String,
}

pub async fn login_submit(State(state): State<AppState>, req: Request) -> Response {
    let client = auth_flow::client(&state, req.headers(), auth_flow::peer_ip(req.extensions()));
    let headers = req.headers().clone();
    let form = match <FormBody<LoginForm> as axum::extract::FromRequest<()>>::from_request(req, &())
        .await
    {
        Ok(FormBody(f)) => f,
        Err(e) => return fail(&state, e),
    };
    if let Err(e) = check_login_csrf(&state, &headers, &form.csrf) {
        return login_form(
            &state,
            &headers,
            "login.html",
            e.status,
            context! { error => e.detail, username => form.username },
        );
    }
    let attempt = auth_flow::SignInRequest {
        username: &form.username,
        password: &form.password,
        code: None,
    };
    match auth_flow::sign_in(&state, attempt, &client).await {
        Ok(SignIn::Done { token, .. }) => (
            [(
                header::SET_COOKIE,
                crate::api::session_cookie(&state, &token),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Ok(SignIn::NeedsSecondFactor { pending }) => login_form(
            &state,
            &headers,
            "totp.html",
            axum::http::StatusCode::OK,
            context! { pending => pending },
        ),
        Err(e) if e.status.is_client_error() => login_form(
            &state,
            &headers,
            "login.html",
            e.status,
            context! { error => e.detail, username => form.username },
        ),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct TotpForm {
    #[serde(default)]
    pub csrf: String,
    pub pending: String,
    pub code: String,
}

pub async fn totp_submit(State(state): State<AppState>, req: Request) -> Response {
    let client = auth_flow::client(&state, req.headers(), auth_flow::peer_ip(req.extensions()));
    let headers = req.headers().clone();
    let form = match <FormBody<TotpForm> as axum::extract::FromRequest<()>>::from_request(req, &())
        .await
    {
        Ok(FormBody(f)) => f,
        Err(e) => return fail(&state, e),
    };
    if let Err(e) = check_login_csrf(&state, &headers, &form.csrf) {
        return login_form(
            &state,
            &headers,
            "login.html",
            e.status,
            context! { error => e.detail },
        );
    }
    match auth_flow::second_factor(&state, &form.pending, &form.code, &client).await {
        Ok(rotated) => (
            [(
                header::SET_COOKIE,
                crate::api::session_cookie(&state, &rotated.token),
            )],
            Redirect::to("/"),
        )
            .into_response(),
        Err(e) if e.status.is_client_error() => login_form(
            &state,
            &headers,
            "totp.html",
            e.status,
            context! { pending => form.pending, error => e.detail },
        ),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<CsrfOnly>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    match auth_flow::sign_out(&state, &headers, &p.user.username).await {
        Ok(()) => (
            [(header::SET_COOKIE, crate::api::clear_cookie(&state))],
            Redirect::to("/login"),
        )
            .into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn home(
    State(state): State<AppState>,
    SignedIn(p): SignedIn,
    headers: HeaderMap,
) -> Response {
    let access = people::access_view(&p.access);
    // The worklist first: it also refreshes the navigation's counts this page shows.
    let worklist = match crate::worklist::for_person(&state, &p).await {
        Ok(w) => crate::worklist::home_view(&w, state.clock.now()),
        Err(e) => return fail(&state, e),
    };
    page(
        &state,
        &headers,
        Some(&p),
        "home.html",
        "/",
        context! { access => access, worklist => worklist },
    )
}

fn offences() -> Vec<minijinja::Value> {
    OffenceClassification::ALL
        .iter()
        .map(|o| context! { id => o.as_str(), label => humanize(o.as_str()) })
        .collect()
}

pub async fn cases(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<cases::CaseListParams>,
) -> Response {
    match cases::list(&state, &auth, &q, "/cases").await {
        Ok(list) => {
            let can_create = crate::decision::hint(&state, &auth.principal, "case.create");
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "cases.html",
                "/cases",
                context! { list => list, can_create => can_create, offences => offences(),
                q => q.q, status => q.status, command => q.command },
            )
        }
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct NewCaseForm {
    #[serde(default)]
    pub csrf: String,
    pub case_number: String,
    pub offence_classification: String,
    pub assigned_investigator: Option<String>,
    pub political_activity: Option<String>,
    pub command: Option<String>,
}

pub async fn create_case(
    State(state): State<AppState>,
    SignedIn(caller): SignedIn,
    headers: HeaderMap,
    FormBody(form): FormBody<NewCaseForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let input = cases::NewCaseInput {
        case_number: form.case_number,
        offence_classification: form.offence_classification,
        assigned_investigator: form.assigned_investigator,
        political_activity: form
            .political_activity
            .is_some_and(|v| v == "true" || v == "on"),
        command: form.command,
    };
    match cases::create(&state, &caller, input).await {
        Ok(c) => Redirect::to(&format!("/cases/{}", c.case_number)).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn case(State(state): State<AppState>, auth: Authorized, headers: HeaderMap) -> Response {
    match cases::read(&state, &auth).await {
        Ok((stored, view)) => {
            let can_close = crate::decision::decide(
                &state,
                &auth.principal,
                "case.close",
                &crate::decision::PathResource::Case(stored.clone()),
            )
            .allowed;
            let can_record_facts = stored.closed_at.is_some()
                && crate::decision::decide(
                    &state,
                    &auth.principal,
                    "retention.facts.record",
                    &crate::decision::PathResource::Case(stored.clone()),
                )
                .allowed;
            let facts = if can_record_facts {
                crate::records::facts_view(&state, stored.id).await.ok()
            } else {
                None
            };
            let reasons: Vec<_> = ClosureReason::ALL
                .iter()
                .map(|r| context! { id => r.as_str(), label => humanize(r.wording()) })
                .collect();
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "case.html",
                "/cases",
                context! {
                    case => view,
                    can_close => can_close,
                    can_record_facts => can_record_facts,
                    facts => facts,
                    closure_reasons => reasons,
                    offences => offences(),
                    retention => state.schedule().ok().and_then(|s| cases::retention_text(s, &stored)),
                },
            )
        }
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct CloseForm {
    #[serde(default)]
    pub csrf: String,
    pub closure_reason: String,
    pub final_classification: Option<String>,
}

pub async fn close_case(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<CloseForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let input = cases::CloseInput {
        closure_reason: form.closure_reason,
        final_classification: form.final_classification,
    };
    match cases::close(&state, &auth, input).await {
        Ok(c) => Redirect::to(&format!("/cases/{}", c.case_number)).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn users(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<people::UserListParams>,
) -> Response {
    match people::list(&state, &auth, &q, "/admin/users").await {
        Ok(list) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "admin_users.html",
            "/admin/users",
            context! { list => list, q => q.q, command => q.command, kind => q.kind },
        ),
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub csrf: String,
    pub username: String,
    pub display_name: String,
    pub rank: String,
    pub command: String,
    pub kind: Option<String>,
    pub password: Option<String>,
}

pub async fn create_user(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    FormBody(form): FormBody<NewUserForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let input = people::NewUserInput {
        username: form.username,
        display_name: form.display_name,
        rank: form.rank,
        command: form.command,
        kind: form.kind,
        password: form.password,
    };
    match people::create(&state, &auth, input).await {
        Ok(u) => Redirect::to(&format!("/admin/users/{}", u.username)).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn user(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
) -> Response {
    match people::detail(&state, &auth, &username).await {
        Ok(d) => {
            let roles: Vec<_> = Role::ALL
                .iter()
                .map(|r| context! { id => r.as_str(), label => humanize(r.as_str()) })
                .collect();
            let courses: Vec<_> = Course::ALL.iter().map(|c| c.as_str()).collect();
            let ranks: Vec<_> = probity_domain::Rank::ALL
                .iter()
                .map(|r| r.as_str())
                .collect();
            page(
                &state,
                &headers,
                Some(&auth.principal),
                "admin_user.html",
                "/admin/users",
                context! {
                    user => d.user, access => d.access, assignments => d.assignments,
                    training => d.training, roles => roles, courses => courses, ranks => ranks,
                    contracts => d.contracts,
                    technologies => probity_domain::Technology::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                    purposes => probity_domain::DisclosurePurpose::ALL.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
                },
            )
        }
        Err(e) => fail(&state, e),
    }
}

#[derive(Deserialize)]
pub struct AssignmentForm {
    #[serde(default)]
    pub csrf: String,
    pub role: String,
    pub command: String,
    pub starts: chrono::NaiveDate,
    #[serde(default, deserialize_with = "empty_date")]
    pub ends: Option<chrono::NaiveDate>,
}

#[derive(Deserialize)]
pub struct TrainingForm {
    #[serde(default)]
    pub csrf: String,
    pub course: String,
    pub completed: chrono::NaiveDate,
    #[serde(default, deserialize_with = "empty_date")]
    pub expires: Option<chrono::NaiveDate>,
}

/// HTML date inputs send an empty string when left blank.
fn empty_date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::NaiveDate>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

pub async fn add_assignment(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<AssignmentForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let input = people::AssignmentInput {
        role: form.role,
        command: form.command,
        starts: form.starts,
        ends: form.ends,
    };
    match people::add_assignment(&state, &auth, &username, input).await {
        Ok(_) => Redirect::to(&format!("/admin/users/{username}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn add_training(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<TrainingForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let input = people::TrainingInput {
        course: form.course,
        completed: form.completed,
        expires: form.expires,
    };
    match people::add_training(&state, &auth, &username, input).await {
        Ok(_) => Redirect::to(&format!("/admin/users/{username}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

/// A vendor contract (technologies ticked) or an agency agreement (terms), from the person's page.
#[derive(Deserialize)]
pub struct ContractForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub contract_ref: String,
    pub starts: chrono::NaiveDate,
    pub ends: chrono::NaiveDate,
    #[serde(default)]
    pub tech_facial_recognition: Option<String>,
    #[serde(default)]
    pub tech_digital_cameras: Option<String>,
    #[serde(default)]
    pub tech_thermographic_cameras: Option<String>,
    #[serde(default)]
    pub agency: String,
    /// Systems covered, separated by commas.
    #[serde(default)]
    pub systems: String,
    #[serde(default)]
    pub security: Option<String>,
    #[serde(default)]
    pub no_onward_disclosure: Option<String>,
    #[serde(default)]
    pub subpoena_notice: Option<String>,
    #[serde(default)]
    pub purpose: String,
}

pub async fn add_contract(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Path(username): Path<String>,
    FormBody(form): FormBody<ContractForm>,
) -> Response {
    if let Err(e) = check_csrf(&headers, &form.csrf) {
        return fail(&state, e);
    }
    let technologies = [
        ("facial_recognition", &form.tech_facial_recognition),
        ("digital_cameras", &form.tech_digital_cameras),
        ("thermographic_cameras", &form.tech_thermographic_cameras),
    ]
    .iter()
    .filter(|(_, on)| on.is_some())
    .map(|(t, _)| t.to_string())
    .collect();
    let agreement = (!form.agency.trim().is_empty()).then(|| people::AgreementInput {
        agency: form.agency.clone(),
        systems: form
            .systems
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        maintains_security_and_confidentiality: form.security.is_some(),
        no_onward_disclosure_without_approval: form.no_onward_disclosure.is_some(),
        notifies_of_subpoenas_and_legal_process: form.subpoena_notice.is_some(),
        purpose: form.purpose.clone(),
    });
    let input = people::ContractInput {
        contract_ref: form.contract_ref,
        starts: form.starts,
        ends: form.ends,
        technologies,
        agreement,
    };
    match people::add_contract(&state, &auth, &username, input).await {
        Ok(_) => Redirect::to(&format!("/admin/users/{username}")).into_response(),
        Err(e) => fail(&state, e),
    }
}

pub async fn audit(
    State(state): State<AppState>,
    auth: Authorized,
    headers: HeaderMap,
    Query(q): Query<crate::api::AuditQueryParams>,
) -> Response {
    match crate::audit_view::trail(&state, &auth, &q, "/audit", true).await {
        Ok(list) => page(
            &state,
            &headers,
            Some(&auth.principal),
            "audit.html",
            "/audit",
            context! { list => list, q => context! {
                actor => q.actor, action => q.action, record_type => q.record_type,
                record_id => q.record_id, from => q.from, to => q.to,
            } },
        ),
        Err(e) => fail(&state, e),
    }
}
