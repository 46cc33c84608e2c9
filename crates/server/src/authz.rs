//! The authorization layer: the one place where a request meets the policy engine.
//!
//! Every route declared in [`crate::routes`] runs through [`authorize`] before its handler. It
//! authenticates the caller, resolves the resource named in the path, asks the policy engine, records a
//! refusal in the audit trail, and hands the handler an [`Authorized`] value. Handlers take `Authorized`
//! (or [`SignedIn`]) as an extractor; without a decision the extractor fails, so a handler cannot run
//! without one.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::routes::{Access, ResourceFrom, RouteSpec};
use crate::state::AppState;

/// The case a decision was made on, when the route names one.
#[derive(Debug, Clone)]
pub struct CaseResource {
    pub case: probity_store::cases::Case,
}

/// Proof that the policy engine allowed this request.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub principal: Arc<Principal>,
    pub action: &'static str,
    /// The policy that permitted it.
    pub rule: String,
    pub case: Option<Arc<CaseResource>>,
}

/// A signed-in caller on a route that needs no policy action (sign-out, own profile).
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
    let principal = match crate::auth_flow::authenticate(&state, req.headers(), crate::auth_flow::peer_ip(req.extensions())).await {
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
    let Access::Action { action, resource } = spec.access else {
        return next.run(req).await;
    };
    let case = match resource {
        ResourceFrom::System => None,
        ResourceFrom::Case => {
            let number = params
                .iter()
                .find(|(k, _)| *k == "case")
                .map(|(_, v)| v.to_string());
            let Some(number) = number else {
                return ApiError::internal("case route without a {case} parameter").into_response();
            };
            match state.load_case(&number).await {
                Ok(Some(case)) => Some(Arc::new(CaseResource { case })),
                Ok(None) => {
                    return crate::web::error_response(
                        &state,
                        wants_html,
                        ApiError::not_found(format!("case {number}")),
                    )
                }
                Err(e) => return crate::web::error_response(&state, wants_html, e),
            }
        }
    };
    let decision = state.decide(&principal, action, case.as_deref());
    if !decision.allowed {
        let record = case
            .as_ref()
            .map(|c| ("case", c.case.case_number.clone()))
            .unwrap_or(("system", spec.path.to_string()));
        if let Err(e) = state
            .audit_denial(&principal, action, record.0, &record.1, &decision.rule)
            .await
        {
            return crate::web::error_response(&state, wants_html, e);
        }
        let err = ApiError::forbidden(
            decision.rule.clone(),
            format!("you may not {action}: {}", decision.reason),
        );
        return crate::web::error_response(&state, wants_html, err);
    }
    req.extensions_mut().insert(Authorized {
        principal,
        action,
        rule: decision.rule,
        case,
    });
    next.run(req).await
}
