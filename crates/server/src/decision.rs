//! Turning an HTTP request's facts into a policy question, and the engine's answer into the server's
//! [`Decision`]. The policy itself lives in `probity-policy`; nothing here allows anything on its own.
//!
//! Every question is about a real resource: the authorization layer loads the one the path names
//! ([`PathResource`]); handlers that know their resource only after parsing the body ask through
//! [`require`] or [`decide_on`]. Every decision made while a request is served is recorded in a
//! task-local trace ([`traced`]), so the layer can prove that a handler declared
//! [`crate::routes::Access::Handler`] decided before it answered.

use std::cell::RefCell;
use std::future::Future;
use std::str::FromStr;

use probity_domain::{CaseId, CommandCode, UserId};
use probity_policy::{Action, CaseRef, Context, Resource};

use crate::error::ApiError;
use crate::principal::Principal;
use crate::state::{AppState, Decision};

/// The policy's view of a stored case.
pub fn case_ref(case: &probity_store::cases::Case) -> Option<CaseRef> {
    Some(CaseRef {
        id: CaseId(case.id),
        command: CommandCode::parse(&case.command).ok()?,
        assigned_investigator: case.assigned_investigator.map(UserId),
        political_activity: case.political_activity,
    })
}

/// A resource the authorization layer loaded from the path.
#[derive(Debug, Clone)]
pub enum PathResource {
    System,
    Case(probity_store::cases::Case),
    Account(probity_store::users::User),
    /// An account being created (its fresh identity).
    NewAccount(UserId),
}

impl PathResource {
    fn resource(&self) -> Option<Resource> {
        match self {
            PathResource::System => Some(Resource::System),
            PathResource::Case(c) => case_ref(c).map(Resource::Case),
            PathResource::Account(u) => Some(Resource::Account { user: UserId(u.id) }),
            PathResource::NewAccount(id) => Some(Resource::Account { user: *id }),
        }
    }

    /// The audit trail's name for the record.
    pub fn record(&self, path: &str) -> (&'static str, String) {
        match self {
            PathResource::System => ("system", path.to_string()),
            PathResource::Case(c) => ("case", c.case_number.clone()),
            PathResource::Account(u) => ("user", u.username.clone()),
            PathResource::NewAccount(id) => ("user", id.0.to_string()),
        }
    }
}

/// One decision made while serving a request.
#[derive(Debug, Clone)]
pub struct Traced {
    pub action: Action,
    pub allowed: bool,
    pub rule: String,
}

tokio::task_local! {
    static TRACE: RefCell<Vec<Traced>>;
}

/// Runs `f` (a handler) and returns what it produced with every decision it made.
pub async fn traced<F: Future>(f: F) -> (F::Output, Vec<Traced>) {
    TRACE
        .scope(RefCell::new(Vec::new()), async move {
            let out = f.await;
            let trace = TRACE.with(|t| t.take());
            (out, trace)
        })
        .await
}

fn deny(rule: &str, reason: String) -> Decision {
    Decision {
        allowed: false,
        rule: rule.into(),
        reason,
    }
}

/// Route-level decision on the resource the layer loaded from the path.
pub fn decide(state: &AppState, p: &Principal, action: &str, on: &PathResource) -> Decision {
    let Ok(action) = Action::from_str(action) else {
        return deny(
            "SEC-02.deny-by-default",
            format!("{action} is not an action of the policy pack"),
        );
    };
    let Some(resource) = on.resource() else {
        return deny(
            "SEC-02.deny-by-default",
            format!("{action}: the record named in the path cannot be read"),
        );
    };
    if resource.kind() != action.resource_kind() {
        return deny(
            "SEC-02.deny-by-default",
            format!(
                "{action} is decided on a {:?}, and this route names a {:?}",
                action.resource_kind(),
                resource.kind()
            ),
        );
    }
    decide_for(state, p, action, &resource)
}

/// Asks about `resource` for the signed-in caller.
pub fn decide_for(
    state: &AppState,
    p: &Principal,
    action: Action,
    resource: &Resource,
) -> Decision {
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    decide_on(state, &principal, action, resource, &p.context())
}

/// Asks about an explicit resource. Every call is recorded in the request's trace.
pub fn decide_on(
    state: &AppState,
    principal: &probity_policy::Principal,
    action: Action,
    resource: &Resource,
    context: &Context,
) -> Decision {
    let in_force = state.policy_now();
    let d = in_force.engine.decide(principal, action, resource, context);
    if let Some(pack) = in_force.engine.pack_of_rule(&d.rule) {
        probity_store::audit::note_decision(serde_json::json!({
            "pack": pack.id,
            "version": pack.version,
            "revision": in_force.revisions.get(&pack.id),
        }));
    }
    let decision = Decision {
        allowed: d.allowed,
        reason: d.message(),
        rule: d.rule,
    };
    let _ = TRACE.try_with(|t| {
        t.borrow_mut().push(Traced {
            action,
            allowed: decision.allowed,
            rule: decision.rule.clone(),
        })
    });
    decision
}

/// Asks about `resource`; a refusal is written to the audit trail (`record_type`, `record_id`) and
/// returned as 403 naming the rule. Returns the permitting rule.
pub async fn require(
    state: &AppState,
    p: &Principal,
    action: Action,
    resource: &Resource,
    record_type: &str,
    record_id: &str,
) -> Result<String, ApiError> {
    let d = decide_for(state, p, action, resource);
    if d.allowed {
        return Ok(d.rule);
    }
    state
        .audit_denial(p, action.as_str(), record_type, record_id, &d.rule)
        .await?;
    Err(ApiError::forbidden(
        d.rule,
        format!("you may not {action}: {}", d.reason),
    ))
}

/// Whether to show a link or a button for `action`: asked about the system, or about a record of
/// the caller's own first command for record actions. Only the page layout uses it; it never
/// authorizes anything (the route and the handler decide on the real record when it is used).
pub fn hint(state: &AppState, p: &Principal, action: &str) -> bool {
    let Ok(action) = Action::from_str(action) else {
        return false;
    };
    use probity_policy::ResourceKind as K;
    let command = p.access.primary_command().cloned();
    let resource = match (action.resource_kind(), command) {
        (K::System, _) => Resource::System,
        (K::Case, Some(command)) => Resource::Case(CaseRef {
            id: CaseId::new(),
            command,
            assigned_investigator: Some(p.person.id),
            political_activity: false,
        }),
        (K::ThermalDeployment, Some(command)) => Resource::ThermalDeployment {
            id: String::new(),
            command,
            authorization_in_force: true,
        },
        (K::AuditScope, _) => crate::focused_audit::own_scope(p),
        (K::Command, Some(command)) => Resource::Command(command),
        _ => return false,
    };
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    // Not recorded in the trace: a hint is not a decision.
    state
        .engine()
        .decide(&principal, action, &resource, &p.context())
        .allowed
}
