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

/// Where the resource of a route-level decision comes from. Each is the real stored record named in
/// the path, loaded by the authorization layer before the engine is asked; there is no variant for a
/// resource the route imagines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceFrom {
    /// The system as a whole (system-wide lists, administration, reports).
    System,
    /// The case named by the `{case}` path parameter (case number).
    Case,
    /// The account named by the `{username}` path parameter.
    Account,
    /// An account that the request creates: its identity is new, so it is never the caller's.
    NewAccount,
}

/// Who may reach a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No sign-in needed: health, readiness, the sign-in page, static assets.
    Public,
    /// Any signed-in person acting on their own session or account only: sign-out, own profile,
    /// second-factor enrolment. Nothing else may be declared this way.
    SignedIn,
    /// A policy decision on `action` for the resource named in the path is required before the
    /// handler runs.
    Action {
        action: &'static str,
        resource: ResourceFrom,
    },
    /// The resource is known only once the handler has parsed the path and body (the FR request,
    /// the item, the device, the deployment, the case being opened with its command and flags). The
    /// handler decides on that very resource through [`crate::decision`]; the authorization layer
    /// turns any success answered without a decision into a 500 (see [`crate::authz`]). `actions`
    /// names what the handler asks, for the documentation.
    Handler { actions: &'static str },
    /// A list whose every row is decided by the policy (`action` on that row) before it is shown;
    /// rows the caller may not see are left out, so an empty list makes no decision.
    Rows { action: &'static str },
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
    pub const fn on_account(action: &'static str) -> Access {
        Access::Action {
            action,
            resource: ResourceFrom::Account,
        }
    }
    pub const fn in_handler(actions: &'static str) -> Access {
        Access::Handler { actions }
    }
    pub const fn rows(action: &'static str) -> Access {
        Access::Rows { action }
    }
    /// True when a caller must be signed in.
    pub const fn needs_sign_in(&self) -> bool {
        !matches!(self, Access::Public)
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
