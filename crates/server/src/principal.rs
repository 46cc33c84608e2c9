//! Who is calling: the signed-in person and what they may do right now.
//!
//! Access is computed on every request from the stored assignments, training records and contracts by
//! [`probity_domain::effective_roles`], so it ends the moment an assignment, a training record or a
//! contract ends, without anyone revoking it (SEC-02, FR-21, OVR-01, EXT-06).
//!
//! The rows themselves may come from [`AccessCache`]: a node keeps the rows it loaded for a person
//! with the person's `access_version`, which the database changes in the transaction of any change
//! to those rows. The version is read with the user row on every request, so a change committed on
//! any node is seen at the caller's next request; only the three reads of unchanged rows are saved.

use chrono::{DateTime, NaiveDate, Utc};
use probity_domain::{
    effective_roles, AgencyAgreementTerms, Assignment, AssignmentId, Command, CommandCode,
    Contract, ContractKind, Course, EffectiveAccess, Person, PersonKind, Rank, Role, Technology,
    TrainingRecord, UserId,
};
use probity_store::{assignments, training, users, vendors, Tx};
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

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

/// The stored rows a person's access is computed from.
#[derive(Debug)]
pub struct AccessRows {
    assignments: Vec<assignments::Assignment>,
    training: Vec<training::TrainingRecord>,
    contracts: Vec<vendors::VendorContract>,
}

impl AccessRows {
    async fn read(tx: &mut Tx, user_id: uuid::Uuid) -> Result<AccessRows, ApiError> {
        Ok(AccessRows {
            assignments: assignments::for_user(tx, user_id)
                .await
                .map_err(crate::store_error)?,
            training: training::for_user(tx, user_id)
                .await
                .map_err(crate::store_error)?,
            contracts: vendors::for_user(tx, user_id)
                .await
                .map_err(crate::store_error)?,
        })
    }
}

/// The access rows this node last loaded for each person, with the `access_version` they were
/// loaded at. Rows are reused only while the version read with the user row is the same, so the
/// cache never decides anything on its own: it can only save reading rows that did not change.
#[derive(Debug, Default)]
pub struct AccessCache {
    rows: Mutex<HashMap<uuid::Uuid, (i64, Arc<AccessRows>)>>,
}

impl AccessCache {
    /// People kept at most; past this the cache starts again empty.
    const CAPACITY: usize = 10_000;

    fn get(&self, user: &users::User) -> Option<Arc<AccessRows>> {
        let rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        match rows.get(&user.id) {
            Some((version, r)) if *version == user.access_version => Some(r.clone()),
            _ => None,
        }
    }

    fn put(&self, user: &users::User, r: Arc<AccessRows>) {
        let mut rows = self.rows.lock().unwrap_or_else(|p| p.into_inner());
        if rows.len() >= Self::CAPACITY && !rows.contains_key(&user.id) {
            rows.clear();
        }
        rows.insert(user.id, (user.access_version, r));
    }
}

/// Loads the person and computes their access at `now`.
pub async fn load(
    tx: &mut Tx,
    user: users::User,
    commands: &[Command],
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let rows = AccessRows::read(tx, user.id).await?;
    compute(user, &rows, commands, now)
}

/// [`load`], reusing the rows `cache` holds for the person at the version `user` was read with.
///
/// The version is read with (or before) the user row, and the rows are read after it in the
/// same transaction (on PostgreSQL, with later snapshots): rows cached under a version are never
/// older than that version, so a cache hit never yields access that a committed change removed.
pub async fn load_cached(
    tx: &mut Tx,
    user: users::User,
    cache: &AccessCache,
    commands: &[Command],
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let rows = match cache.get(&user) {
        Some(rows) => rows,
        None => {
            let rows = Arc::new(AccessRows::read(tx, user.id).await?);
            cache.put(&user, rows.clone());
            rows
        }
    };
    compute(user, &rows, commands, now)
}

/// The person's access at `now`, from their user row and access rows.
fn compute(
    user: users::User,
    rows: &AccessRows,
    commands: &[Command],
    now: DateTime<Utc>,
) -> Result<Principal, ApiError> {
    let mut person = person_of(&user)?;
    // A deactivated account holds no role, whatever its assignments say (SEC-02).
    person.active = user.deactivated_at.is_none_or(|d| d > now);
    let stored_assignments = &rows.assignments;
    let stored_training = &rows.training;
    let stored_contracts = &rows.contracts;

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
