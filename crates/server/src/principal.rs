//! Who is calling: the signed-in person and what they may do right now.
//!
//! Access is computed on every request from the stored assignments, training records and contracts by
//! [`probity_domain::effective_roles`], so it ends the moment an assignment, a training record or a
//! contract ends, without anyone revoking it (SEC-02, FR-21, OVR-01, EXT-06).

use chrono::{DateTime, NaiveDate, Utc};
use probity_domain::{
    effective_roles, AgencyAgreementTerms, Assignment, AssignmentId, Command, CommandCode,
    Contract, ContractKind, Course, EffectiveAccess, Person, PersonKind, Rank, Role, Technology,
    TrainingRecord, UserId,
};
use probity_store::{assignments, training, users, vendors, Tx};
use std::collections::BTreeSet;
use std::str::FromStr;

use crate::error::ApiError;

/// The signed-in caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: users::User,
    pub person: Person,
    pub access: EffectiveAccess,
    /// True when the caller is outside the local networks (SEC-01): a session opened from outside,
    /// or an API token not bound to the local networks.
    pub remote: bool,
    /// True when this session presented a second factor (SEC-01). The policy engine is told this
    /// fact, not `remote`, so the pack rule `SEC-01.remote-access-needs-second-factor` decides.
    pub second_factor: bool,
}

impl Principal {
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.username)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.access.has_role(role)
    }

    /// The facts about this request the policy engine decides on (SEC-01).
    pub fn context(&self) -> probity_policy::Context {
        probity_policy::Context {
            remote: self.remote,
            second_factor: self.second_factor,
        }
    }
}

/// Loads the person and computes their access at `now`.
pub async fn load(
    tx: &mut Tx,
    user: users::User,
    commands: &[Command],
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let mut person = person_of(&user)?;
    // A deactivated account holds no role, whatever its assignments say (SEC-02).
    person.active = user.deactivated_at.is_none_or(|d| d > now);
    let stored_assignments = assignments::for_user(tx, user.id)
        .await
        .map_err(crate::store_error)?;
    let stored_training = training::for_user(tx, user.id)
        .await
        .map_err(crate::store_error)?;
    let stored_contracts = vendors::for_user(tx, user.id)
        .await
        .map_err(crate::store_error)?;

    // Records that no longer parse (a role renamed in a newer pack) grant nothing: deny by default.
    let assignments: Vec<Assignment> = stored_assignments
        .iter()
        .filter_map(|a| {
            Some(Assignment {
                id: AssignmentId(a.id),
                person: person.id,
                role: Role::from_str(a.role.as_deref()?).ok()?,
                command: CommandCode::parse(&a.command).ok()?,
                start: a.starts_at,
                end: a.ends_at,
            })
        })
        .collect();
    // A revoked training record proves nothing from its revocation on (SEC-02).
    let training: Vec<TrainingRecord> = stored_training
        .iter()
        .filter(|t| t.revoked_at.is_none_or(|r| r > now))
        .filter_map(|t| {
            Some(TrainingRecord {
                person: person.id,
                course: Course::from_str(&t.course).ok()?,
                completed: t.completed_at.date_naive(),
                expires: t.expires_at.map(|e| e.date_naive()),
            })
        })
        .collect();
    // A vendor contract covers only the technologies it names (EXT-06); an agency agreement
    // without its complete terms grants nothing (EXT-07).
    let contracts: Vec<Contract> = stored_contracts
        .iter()
        .filter_map(|c| {
            let kind = match person.kind {
                PersonKind::ExternalAgency => ContractKind::AgencyAgreement,
                _ => ContractKind::VendorContract,
            };
            let (organisation, scope) = match kind {
                ContractKind::AgencyAgreement => {
                    let terms: AgencyAgreementTerms =
                        serde_json::from_str(c.agreement_terms.as_deref()?).ok()?;
                    terms.validate().ok()?;
                    (
                        terms.agency.clone(),
                        Technology::ALL.iter().copied().collect::<BTreeSet<_>>(),
                    )
                }
                ContractKind::VendorContract => (
                    c.contract_ref.clone(),
                    c.technologies
                        .iter()
                        .filter_map(|t| Technology::from_str(t).ok())
                        .collect::<BTreeSet<_>>(),
                ),
            };
            Some(Contract {
                kind,
                reference: c.contract_ref.clone(),
                organisation,
                person: person.id,
                start: c.starts_at.date_naive(),
                ends: last_day(c.ends_at),
                scope,
            })
        })
        .collect();
    let access = effective_roles(&person, &assignments, &training, &contracts, commands, now);
    Ok(Principal {
        user,
        person,
        access,
        remote: false,
        second_factor: false,
    })
}

/// The stored contract ends at an instant; the domain counts whole days, inclusive.
fn last_day(ends_at: DateTime<Utc>) -> NaiveDate {
    (ends_at - chrono::Duration::milliseconds(1)).date_naive()
}

fn person_of(user: &users::User) -> Result<Person, ApiError> {
    let rank = user
        .rank
        .as_deref()
        .and_then(|r| Rank::from_str(r).ok())
        .unwrap_or(Rank::NonMember);
    let kind = match user.kind.as_str() {
        "vendor" => PersonKind::Vendor,
        "external_agency" => PersonKind::ExternalAgency,
        _ => PersonKind::Member,
    };
    Ok(Person {
        id: UserId(user.id),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        rank,
        kind,
        active: true,
    })
}
