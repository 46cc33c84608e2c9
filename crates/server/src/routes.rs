//! The route table: every route of the server is declared here with the policy action that guards it.
//!
//! Handlers are never added to the axum router directly. [`RouteTable::add`] records the route (method,
//! path, access rule, summary) and wraps its handler in the authorization layer, so a route cannot exist
//! without a declared access rule, the OpenAPI document is generated from the same table, and a test can
//! enumerate every route and prove that none is reachable without a policy decision.

use std::sync::Arc;

use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;

use crate::state::AppState;

/// Where the resource of a decision comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceFrom {
    /// The system as a whole (lists, administration, creation).
    System,
    /// The case named by the `{case}` path parameter (case number).
    Case,
}

/// Who may reach a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No sign-in needed: health, readiness, the sign-in page, static assets.
    Public,
    /// Any signed-in person, no policy action: sign-out, own profile, second-factor enrolment.
    SignedIn,
    /// A policy decision on `action` for the resource is required before the handler runs.
    Action {
        action: &'static str,
        resource: ResourceFrom,
    },
}

impl Access {
    pub const fn action(action: &'static str) -> Access {
        Access::Action {
            action,
            resource: ResourceFrom::System,
        }
    }
    pub const fn on_case(action: &'static str) -> Access {
        Access::Action {
            action,
            resource: ResourceFrom::Case,
        }
    }
}

/// One declared route.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// Part of the JSON API (listed in the OpenAPI document) rather than the web UI.
    pub api: bool,
}

/// Builder that keeps the declared routes and the axum router in step.
pub struct RouteTable {
    state: AppState,
    specs: Vec<RouteSpec>,
    router: Router<AppState>,
}

impl RouteTable {
    pub fn new(state: AppState) -> Self {
        RouteTable {
            state,
            specs: Vec::new(),
            router: Router::new(),
        }
    }

    /// Declares a route. `handler` must serve exactly `method`.
    pub fn add(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        summary: &'static str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        let spec = RouteSpec {
            method,
            path,
            access,
            summary,
            api: path.starts_with("/api/"),
        };
        let guarded = handler
            .route_layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                crate::authz::authorize,
            ))
            .route_layer(axum::Extension(Arc::new(spec.clone())));
        self.router = self.router.route(path, guarded);
        self.specs.push(spec);
        self
    }

    pub fn finish(self) -> (Router<AppState>, Vec<RouteSpec>) {
        (self.router, self.specs)
    }
}
