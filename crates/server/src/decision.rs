//! Turning an HTTP request's facts into a policy question, and the engine's answer into the server's
//! [`Decision`]. The policy itself lives in `probity-policy`; nothing here allows anything on its own.

use std::str::FromStr;

use probity_domain::{CaseId, CommandCode, UserId};
use probity_policy::{Action, CaseRef, Context, Resource, ResourceKind};

use crate::authz::CaseResource;
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

/// The resource a decision is about. Routes that create a record ask about the record as it would
/// be (a case in the caller's command; a new account); the handler asks again about the real one.
fn resource(p: &Principal, kind: ResourceKind, case: Option<&CaseResource>) -> Option<Resource> {
    match kind {
        ResourceKind::System => Some(Resource::System),
        ResourceKind::Case => match case {
            Some(c) => case_ref(&c.case).map(Resource::Case),
            None => Some(Resource::Case(CaseRef {
                id: CaseId::new(),
                command: p.access.primary_command()?.clone(),
                assigned_investigator: Some(p.person.id),
                political_activity: false,
            })),
        },
        ResourceKind::Account => Some(Resource::Account {
            user: UserId(uuid::Uuid::nil()),
        }),
        // A deployment of the caller's command as it would be; the handler asks again (TH-05).
        ResourceKind::ThermalDeployment => Some(Resource::ThermalDeployment {
            id: String::new(),
            command: p.access.primary_command()?.clone(),
            authorization_in_force: true,
        }),
        _ => None,
    }
}

pub fn decide(
    state: &AppState,
    p: &Principal,
    action: &str,
    case: Option<&CaseResource>,
) -> Decision {
    let Ok(action) = Action::from_str(action) else {
        return Decision {
            allowed: false,
            rule: "SEC-02.deny-by-default".into(),
            reason: format!("{action} is not an action of the policy pack"),
        };
    };
    let Some(resource) = resource(p, action.resource_kind(), case) else {
        return Decision {
            allowed: false,
            rule: "SEC-02.deny-by-default".into(),
            reason: format!("{action} needs a resource this request does not name"),
        };
    };
    let principal = probity_policy::Principal::from_access(&p.person, &p.access);
    let context = Context {
        remote: p.remote,
        second_factor: p.second_factor,
    };
    decide_on(state, &principal, action, &resource, &context)
}

/// Asks about an explicit resource (handlers that load more than the route names).
pub fn decide_on(
    state: &AppState,
    principal: &probity_policy::Principal,
    action: Action,
    resource: &Resource,
    context: &Context,
) -> Decision {
    let d = state.policy.decide(principal, action, resource, context);
    Decision {
        allowed: d.allowed,
        reason: d.message(),
        rule: d.rule,
    }
}
