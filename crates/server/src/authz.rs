//! The authorization layer: the one place where a request meets the policy engine.
//!
//! Every route declared in [`crate::routes`] runs through [`authorize`] before its handler. It
//! authenticates the caller, then, by the route's [`Access`]:
//! - `Action`: loads the very record the path names (the case, the account), asks the policy engine
//!   about it, audits a refusal, and hands the handler an [`Authorized`] value. `Authorized` has a
//!   private field: outside this module it can only be made by [`authorize_on`], which also asks
//!   the engine about a resource given as a value. A handler that takes `Authorized` cannot run
//!   without a decision.
//! - `Handler`: the handler learns its resource from the parsed path and body and decides on it
//!   ([`authorize_on`], [`crate::decision::require`]). The layer traces every decision made while
//!   the handler runs; a success answered without any decision is turned into a 500 and logged, so
//!   a forgotten decision fails loudly in tests instead of leaking.
//! - `Rows`: each row of the list is decided before it is shown.
//!
//! A case the caller may not read answers exactly as a case that does not exist (404), so case
//! numbers cannot be probed; the refusal is still audited with its rule.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use probity_domain::UserId;
use probity_policy::{Action, Resource};

use crate::decision::PathResource;
use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{Access, ResourceFrom, RouteSpec};
use crate::state::AppState;

/// The case a decision was made on, when the route names one.
#[derive(Debug, Clone)]
pub struct CaseResource {
    pub case: probity_store::cases::Case,
}

/// Only this module can make one: proof that the engine was asked.
#[derive(Debug, Clone)]
struct Decided;

/// Proof that the policy engine allowed this request on its resource.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub principal: Arc<Principal>,
    pub action: &'static str,
    /// The policy that permitted it.
    pub rule: String,
    /// The case the decision was made on, when there is one.
    pub case: Option<Arc<CaseResource>>,
    /// The account the decision was made on (`{username}` routes).
    pub account: Option<Arc<probity_store::users::User>>,
    _decided: Decided,
}

/// A signed-in caller, before any decision about a resource.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Arc<Principal>);

impl<S: Send + Sync> FromRequestParts<S> for Authorized {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Authorized>()
            .cloned()
            .ok_or_else(|| {
                ApiError::internal("handler reached without a policy decision")
                    .with_rule("SEC-02.deny-by-default")
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<SignedIn>()
            .cloned()
            .ok_or_else(ApiError::unauthenticated)
    }
}

/// Decides `action` on `resource` (built by the handler from the parsed path and body) for the
/// caller; a refusal is audited on (`record_type`, `record_id`) and returned as 403.
pub async fn authorize_on(
    state: &AppState,
    principal: &Arc<Principal>,
    action: Action,
    resource: &Resource,
    record_type: &str,
    record_id: &str,
) -> Result<Authorized, ApiError> {
    let rule = crate::decision::require(state, principal, action, resource, record_type, record_id)
        .await?;
    Ok(Authorized {
        principal: principal.clone(),
        action: action.as_str(),
        rule,
        case: None,
        account: None,
        _decided: Decided,
    })
}

fn param(params: &RawPathParams, name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Loads the record the path names.
async fn path_resource(
    state: &AppState,
    from: ResourceFrom,
    params: &RawPathParams,
) -> Result<PathResource, ApiError> {
    match from {
        ResourceFrom::System => Ok(PathResource::System),
        ResourceFrom::NewAccount => Ok(PathResource::NewAccount(UserId(uuid::Uuid::now_v7()))),
        ResourceFrom::Case => {
            let number = param(params, "case")
                .ok_or_else(|| ApiError::internal("case route without a {case} parameter"))?;
            match state.load_case(&number).await? {
                Some(case) => Ok(PathResource::Case(case)),
                None => Err(case_not_found(&number)),
            }
        }
        ResourceFrom::Account => {
            let username = param(params, "username").ok_or_else(|| {
                ApiError::internal("account route without a {username} parameter")
            })?;
            let mut tx = state.store.begin_read().await.map_err(crate::store_error)?;
            let user = probity_store::users::get_by_username(&mut tx, &username)
                .await
                .map_err(crate::store_error)?;
            tx.commit().await.map_err(crate::store_error)?;
            user.map(PathResource::Account)
                .ok_or_else(|| ApiError::not_found(format!("person {username}")))
        }
    }
}

/// The answer for a case that does not exist, and for one the caller may not read.
pub fn case_not_found(number: &str) -> ApiError {
    ApiError::not_found(format!("case {number}"))
}

/// Middleware run in front of every declared route.
pub async fn authorize(
    State(state): State<AppState>,
    params: RawPathParams,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(spec) = req.extensions().get::<Arc<RouteSpec>>().cloned() else {
        return ApiError::internal("route declared without an access rule").into_response();
    };
    if spec.access == Access::Public {
        return next.run(req).await;
    }
    let wants_html = crate::web::wants_html(req.headers());
    let peer = crate::auth_flow::peer_ip(req.extensions());
    let principal = match crate::auth_flow::authenticate(&state, req.headers(), peer).await {
        Ok(Some(p)) => Arc::new(p),
        Ok(None) => {
            return if wants_html && req.method() == axum::http::Method::GET {
                axum::response::Redirect::to("/login").into_response()
            } else {
                ApiError::unauthenticated().into_response()
            }
        }
        Err(e) => return crate::web::error_response(&state, wants_html, e),
    };
    req.extensions_mut().insert(SignedIn(principal.clone()));
    let in_force = state.policy_now();
    crate::policy_in_force::request_scope(
        in_force,
        decide_and_run(state, spec, params, req, next, principal, wants_html),
    )
    .await
}

/// The rest of [`authorize`] for a signed-in caller, inside the request's policy scope.
async fn decide_and_run(
    state: AppState,
    spec: Arc<RouteSpec>,
    params: RawPathParams,
    mut req: Request,
    next: Next,
    principal: Arc<crate::principal::Principal>,
    wants_html: bool,
) -> Response {
    match spec.access {
        Access::Public | Access::SignedIn | Access::Rows { .. } => next.run(req).await,
        Access::Handler { .. } => {
            let (response, trace) = crate::decision::traced(next.run(req)).await;
            let status = response.status();
            if trace.is_empty() && (status.is_success() || status.is_redirection()) {
                tracing::error!(
                    method = %spec.method,
                    path = spec.path,
                    %status,
                    "handler answered without a policy decision; refused"
                );
                let err = ApiError::internal("handler answered without a policy decision")
                    .with_rule("SEC-02.deny-by-default");
                return crate::web::error_response(&state, wants_html, err);
            }
            response
        }
        Access::Action { action, resource } => {
            let on = match path_resource(&state, resource, &params).await {
                Ok(on) => on,
                Err(e) => return crate::web::error_response(&state, wants_html, e),
            };
            let decision = crate::decision::decide(&state, &principal, action, &on);
            if !decision.allowed {
                let (record_type, record_id) = on.record(spec.path);
                if let Err(e) = state
                    .audit_denial(&principal, action, record_type, &record_id, &decision.rule)
                    .await
                {
                    return crate::web::error_response(&state, wants_html, e);
                }
                // A case the caller may not read is not shown to exist.
                let err = match &on {
                    PathResource::Case(c)
                        if action == "case.read"
                            || !crate::decision::decide(&state, &principal, "case.read", &on)
                                .allowed =>
                    {
                        case_not_found(&c.case_number)
                    }
                    _ => ApiError::forbidden(
                        decision.rule.clone(),
                        format!("you may not {action}: {}", decision.reason),
                    ),
                };
                return crate::web::error_response(&state, wants_html, err);
            }
            let (case, account) = match on {
                PathResource::Case(case) => (Some(Arc::new(CaseResource { case })), None),
                PathResource::Account(u) => (None, Some(Arc::new(u))),
                PathResource::System | PathResource::NewAccount(_) => (None, None),
            };
            req.extensions_mut().insert(Authorized {
                principal,
                action,
                rule: decision.rule,
                case,
                account,
                _decided: Decided,
            });
            next.run(req).await
        }
    }
}
