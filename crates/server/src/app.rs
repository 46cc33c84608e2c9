//! The application: every route, declared once with its access rule, and the layers around them.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::ApiError;
use crate::routes::{Access, ResourceFrom, RouteTable};
use crate::state::AppState;
use crate::{api, pages};

/// Builds the router. The route table is stored in the state for the OpenAPI document and tests.
pub fn router(state: AppState) -> Router {
    use Method as M;
    // Install the metrics recorder before the first request, so that every request is counted,
    // not only those after the first scrape.
    crate::observability::prometheus();
    let table = RouteTable::new(state.clone())
        // Operations
        .add(
            M::GET,
            "/health",
            Access::Public,
            "Liveness: the process answers",
            get(health),
        )
        .add(
            M::GET,
            "/ready",
            Access::Public,
            "Readiness: the database answers",
            get(ready),
        )
        .add(
            M::GET,
            "/metrics",
            Access::action("system.metrics"),
            "Prometheus metrics",
            get(metrics),
        )
        .add(
            M::GET,
            "/api/openapi.json",
            Access::Public,
            "This API's OpenAPI document",
            get(openapi),
        )
        .add(
            M::GET,
            "/static/probity.css",
            Access::Public,
            "Stylesheet",
            get(stylesheet),
        )
        .add(
            M::GET,
            "/static/thermal_live.js",
            Access::Public,
            "Script of the live thermal view page",
            get(|| script(THERMAL_LIVE_JS)),
        )
        .add(
            M::GET,
            "/static/fr_compare.js",
            Access::Public,
            "Script of the facial identification comparison page",
            get(|| script(FR_COMPARE_JS)),
        )
        // Sign-in (SEC-01)
        .add(
            M::GET,
            "/login",
            Access::Public,
            "Sign-in page",
            get(pages::login_page),
        )
        .add(
            M::POST,
            "/login",
            Access::Public,
            "Sign in (form)",
            post(pages::login_submit),
        )
        .add(
            M::POST,
            "/login/totp",
            Access::Public,
            "Second factor (form)",
            post(pages::totp_submit),
        )
        .add(
            M::POST,
            "/logout",
            Access::SignedIn,
            "Sign out",
            post(pages::logout),
        )
        .add(
            M::POST,
            "/api/session",
            Access::Public,
            "Sign in (JSON); sets the session cookie",
            post(api::sign_in),
        )
        .add(
            M::POST,
            "/api/session/totp",
            Access::Public,
            "Complete a remote sign-in with a one-time code",
            post(api::second_factor),
        )
        .add(
            M::DELETE,
            "/api/session",
            Access::SignedIn,
            "Sign out",
            axum::routing::delete(api::sign_out),
        )
        .add(
            M::GET,
            "/api/me",
            Access::SignedIn,
            "The signed-in person and their current access",
            get(api::me),
        )
        // Web pages
        .add(
            M::GET,
            "/",
            Access::SignedIn,
            "Start page",
            get(pages::home),
        )
        .add(
            M::GET,
            "/cases",
            Access::action("case.list"),
            "Case list",
            get(pages::cases),
        )
        .add(
            M::POST,
            "/cases",
            Access::in_handler("case.create"),
            "Open a case (form)",
            post(pages::create_case),
        )
        .add(
            M::GET,
            "/cases/{case}",
            Access::on_case("case.read"),
            "Case page",
            get(pages::case),
        )
        .add(
            M::POST,
            "/cases/{case}/close",
            Access::on_case("case.close"),
            "Close a case (form)",
            post(pages::close_case),
        )
        .add(
            M::GET,
            "/admin/users",
            Access::action("user.list"),
            "People and access",
            get(pages::users),
        )
        .add(
            M::POST,
            "/admin/users",
            Access::Action {
                action: "user.admin",
                resource: ResourceFrom::NewAccount,
            },
            "Add a person (form)",
            post(pages::create_user),
        )
        .add(
            M::GET,
            "/admin/users/{username}",
            Access::on_account("user.read"),
            "A person's access",
            get(pages::user),
        )
        .add(
            M::POST,
            "/admin/users/{username}/assignments",
            Access::on_account("user.assignment.manage"),
            "Assign (form)",
            post(pages::add_assignment),
        )
        .add(
            M::POST,
            "/admin/users/{username}/training",
            Access::on_account("user.training.manage"),
            "Record training (form)",
            post(pages::add_training),
        )
        .add(
            M::POST,
            "/admin/users/{username}/contracts",
            Access::on_account("user.contract.manage"),
            "Record a vendor contract or an agency agreement (form, EXT-06, EXT-07)",
            post(pages::add_contract),
        )
        // JSON API: cases
        .add(
            M::GET,
            "/api/cases",
            Access::action("case.list"),
            "List the cases the caller may see",
            get(api::list_cases),
        )
        .add(
            M::POST,
            "/api/cases",
            Access::in_handler("case.create"),
            "Open a case",
            post(api::create_case),
        )
        .add(
            M::GET,
            "/api/cases/{case}",
            Access::on_case("case.read"),
            "Read a case",
            get(api::get_case),
        )
        .add(
            M::POST,
            "/api/cases/{case}/close",
            Access::on_case("case.close"),
            "Close a case with a closure reason",
            post(api::close_case),
        )
        // JSON API: people and access
        .add(
            M::GET,
            "/api/users",
            Access::action("user.list"),
            "List people",
            get(api::list_users),
        )
        .add(
            M::POST,
            "/api/users",
            Access::Action {
                action: "user.admin",
                resource: ResourceFrom::NewAccount,
            },
            "Add a person or service account",
            post(api::create_user),
        )
        .add(
            M::GET,
            "/api/users/{username}",
            Access::on_account("user.read"),
            "A person with assignments, training and current access",
            get(api::get_user),
        )
        .add(
            M::POST,
            "/api/users/{username}/assignments",
            Access::on_account("user.assignment.manage"),
            "Assign a role in a command for a period",
            post(api::add_assignment),
        )
        .add(
            M::POST,
            "/api/users/{username}/training",
            Access::on_account("user.training.manage"),
            "Record a completed training course",
            post(api::add_training),
        )
        .add(
            M::POST,
            "/api/users/{username}/contracts",
            Access::on_account("user.contract.manage"),
            "Record a vendor contract or agency agreement (EXT-06, EXT-07)",
            post(api::add_contract),
        )
        .add(
            M::POST,
            "/api/users/{username}/tokens",
            Access::on_account("user.admin"),
            "Issue an API token for a service account",
            post(api::issue_token),
        )
        // Audit (SEC-04, SEC-05)
        .add(
            M::GET,
            "/api/audit/verify",
            Access::action("audit.verify"),
            "Verify the whole audit chain",
            get(api::verify_audit),
        )
        .add(
            M::GET,
            "/api/audit",
            Access::action("audit.read"),
            "Focused audit: entries by actor, record or time",
            get(api::query_audit),
        )
        .add(
            M::GET,
            "/audit",
            Access::action("audit.read"),
            "Audit trail page",
            get(pages::audit),
        );
    // Each concern declares its own routes in its module, one line each:
    // let table = crate::<concern>::routes(table);
    let table = crate::account::routes(table);
    let table = crate::access_changes::routes(table);
    let table = crate::fr::routes(table);
    let table = crate::evidence::routes(table);
    let table = crate::thermal::routes(table);
    let table = crate::holds::routes(table);
    let table = crate::breach::routes(table);
    let table = crate::records::routes(table);
    let table = crate::focused_audit::routes(table);
    let table = crate::oversight_report::routes(table);
    let table = crate::disclosures::routes(table);
    let table = crate::misuse::routes(table);
    let table = crate::policy_packs::routes(table);
    let table = crate::inspections::routes(table);
    let table = crate::foil::routes(table);
    let table = crate::scheduler::routes(table);
    let table = crate::search::routes(table);
    let table = crate::worklist::routes(table);
    let (router, specs) = table.finish();
    let _ = state.routes.set(specs);
    let limit = state.config.max_body_bytes;
    let tls = state.tls;
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(problem_for_plain_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            security_headers(tls, req, next)
        }))
        .layer(axum::middleware::from_fn(crate::observability::track))
        .layer(axum::middleware::from_fn(move |req, next| {
            crate::limits::body_limit(limit, req, next)
        }))
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("this path")
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    if crate::drain::is_draining() {
        return ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "draining",
            "this node is draining (SIGTERM): it finishes the requests in flight and stops; send new requests to another node",
        )
        .into_response();
    }
    if let Err(e) = state.store.ping().await {
        return ApiError::unavailable(e).into_response();
    }
    // A node whose object store is unreachable cannot read or take evidence: not ready.
    if let Err(e) = state.store.blobs().ping().await {
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the blob store (object store of the evidence) is unreachable; retry shortly",
        );
        err.cause = Some(e.to_string());
        return err.into_response();
    }
    // A loaded face index catches up with the repository before the node says it is ready.
    if let Some(fr) = crate::fr::engine::loaded(&state) {
        if let Err(e) = crate::fr::engine::refresh(&state, &fr).await {
            let mut err = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the face index cannot catch up with the photo repository; retry shortly",
            );
            err.cause = Some(e.detail);
            return err.into_response();
        }
    }
    Json(serde_json::json!({
        "status": "ready",
        "database": state.store.backend().as_str(),
    }))
    .into_response()
}

async fn metrics(_auth: crate::authz::Authorized) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        crate::observability::prometheus().render(),
    )
        .into_response()
}

async fn openapi(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(crate::openapi::document(state.routes()))
}

const THERMAL_LIVE_JS: &str = include_str!("../static/thermal_live.js");
const FR_COMPARE_JS: &str = include_str!("../static/fr_compare.js");

/// The Content-Security-Policy of every answer: scripts and styles only from this origin (no inline
/// script or style anywhere in the pages), images also as data URLs (live thermal frames), never
/// framed, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Browser hardening headers on every response (SEC-03): HSTS under TLS, CSP, no sniffing, no
/// framing, no referrer leaving the site.
async fn security_headers(
    tls: bool,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    use axum::http::HeaderValue;
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// Errors answered by axum's own extractors (a malformed path, query, JSON or multipart body) are
/// plain text; the API promises `application/problem+json` for every failure, so they are
/// rewritten here with their message as the detail. Bodies of other content types pass unchanged.
async fn problem_for_plain_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let detail = match axum::body::to_bytes(body, 64 * 1024).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => parts
            .status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string(),
    };
    let code = match parts.status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::PAYLOAD_TOO_LARGE => "too-large",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
        _ => "bad-request",
    };
    let error = if parts.status.is_server_error() {
        // The text stays in the log; the client gets the generic message.
        ApiError::internal(detail)
    } else {
        ApiError::new(parts.status, code, detail)
    };
    let mut out = error.into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}

/// A handler that panics answers 500 as a problem instead of dropping the connection; the panic
/// is logged (its message may carry input, so it stays in the log).
fn panic_answer(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    tracing::error!(%message, "handler panicked");
    ApiError::internal("the server failed while handling this request").into_response()
}

async fn script(body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        crate::web::STYLESHEET,
    )
        .into_response()
}
