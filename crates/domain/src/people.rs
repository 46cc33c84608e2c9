//! People and access: roles, ranks, commands, assignments, training, contracts (SEC-02, OVR-01,
//! FR-21, EXT-06, EXT-07).
//!
//! Access is never stored as a flag someone must remember to revoke: [`effective_roles`] derives
//! it at each instant from the current assignments, valid training and, for people from outside
//! the Department, the contract or agreement in force. When one of those ends, access ends.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssignmentId, UserId};
use crate::macros::text_enum;
use crate::DomainError;

text_enum! {
    /// What a person may do, granted by an assignment in a command (SEC-02).
    pub enum Role: "role" {
        /// Investigates cases assigned to them; requests FR analysis (FR-04).
        Investigator = "investigator",
        /// Facial recognition investigator: runs searches, identification, peer review (FR-21).
        FrInvestigator = "fr_investigator",
        /// Supervisor of FR investigators: FR-12 review, FR-22 discussion.
        FrSupervisor = "fr_supervisor",
        /// Supervisor of a command: reads its cases, authorizes thermal deployments (TH-05).
        Supervisor = "supervisor",
        /// Integrity Control Officer: security of recorded media, focused audits (SEC-05, SEC-06).
        IntegrityControlOfficer = "integrity_control_officer",
        /// Internal Affairs Bureau auditor: reads the audit trail, focused audits (SEC-05).
        IabAuditor = "iab_auditor",
        /// Commanding officer of a command: focused audits of the command's own activity (SEC-05).
        CommandingOfficer = "commanding_officer",
        /// Member of an investigations unit: focused audits for the misuse investigations it
        /// carries (SEC-05, SEC-06).
        InvestigationsUnit = "investigations_unit",
        /// Agency Privacy Officer: approves disclosures, reports breaches (EXT-03, EXT-05).
        AgencyPrivacyOfficer = "agency_privacy_officer",
        /// Owner of the impact and use policies: approves the pack revisions and addenda another
        /// person proposed, and sets when they take effect (OVR-02, OVR-04).
        PolicyOwner = "policy_owner",
        /// Records officer: retention, legal holds, dispositions, FOIL (RET-11, PUB-01).
        RecordsOfficer = "records_officer",
        /// Records manager: approves dispositions another person proposed (RET-11), reviews
        /// FOIL releases (PUB-01).
        RecordsManager = "records_manager",
        /// Manages accounts, assignments and training records; reads no case evidence.
        Administrator = "administrator",
        /// Vendor or contractor staff: least privilege, time-boxed, contract-bound (EXT-06).
        Vendor = "vendor",
        /// Liaison of an outside agency under a written agreement (EXT-07); never searches (FR-20).
        ExternalAgencyLiaison = "external_agency_liaison",
        /// Chief of Department: one of the three FR-18/FR-19 approvers.
        ChiefOfDepartment = "chief_of_department",
        /// Chief of Detectives: one of the three FR-18/FR-19 approvers.
        ChiefOfDetectives = "chief_of_detectives",
        /// Deputy Commissioner of Intelligence and Counterterrorism: one of the three FR-18/FR-19 approvers.
        DeputyCommissionerIntelligence = "deputy_commissioner_intelligence",
    }
}

text_enum! {
    /// Rank of a person (SEC-02: permissions follow rank, role and assignment).
    ///
    /// Uniformed ranks are ordered; `Ord` compares them from police officer up.
    pub enum Rank: "rank" {
        PoliceOfficer = "police_officer",
        Detective = "detective",
        Sergeant = "sergeant",
        Lieutenant = "lieutenant",
        Captain = "captain",
        DeputyInspector = "deputy_inspector",
        Inspector = "inspector",
        DeputyChief = "deputy_chief",
        AssistantChief = "assistant_chief",
        BureauChief = "bureau_chief",
        ChiefOfDepartment = "chief_of_department",
        /// A civilian member of the Department.
        Civilian = "civilian",
        /// A deputy commissioner (civilian executive).
        DeputyCommissioner = "deputy_commissioner",
        /// Not a member of the Department (vendor staff, outside-agency liaison).
        NonMember = "non_member",
    }
}

text_enum! {
    /// Whether a person is a member of the Department or comes from outside it.
    pub enum PersonKind: "person kind" {
        Member = "member",
        /// Vendor or contractor staff (EXT-06).
        Vendor = "vendor",
        /// Staff of another government agency with a written agreement (EXT-07).
        ExternalAgency = "external_agency",
    }
}

text_enum! {
    /// A surveillance technology governed by its own impact and use policy.
    pub enum Technology: "technology" {
        FacialRecognition = "facial_recognition",
        DigitalCameras = "digital_cameras",
        ThermographicCameras = "thermographic_cameras",
    }
}

text_enum! {
    /// A training course whose record gates access (OVR-01).
    pub enum Course: "course" {
        /// Facial recognition technology, image comparison principles, operation (FR-21).
        FrBasic = "fr_basic",
        /// Command-level training on digital cameras (DC seed, TRAINING).
        DigitalCameras = "digital_cameras",
        /// Command-level training on thermographic cameras (TH seed, TRAINING).
        ThermographicCameras = "thermographic_cameras",
    }
}

text_enum! {
    /// What a contract or agreement with an outside party is.
    pub enum ContractKind: "contract kind" {
        /// Vendor or contractor contract (EXT-06).
        VendorContract = "vendor_contract",
        /// Written agreement with another government agency (EXT-07).
        AgencyAgreement = "agency_agreement",
    }
}

impl Technology {
    /// The course that must be valid before anyone uses this technology (OVR-01).
    pub const fn required_course(self) -> Course {
        match self {
            Technology::FacialRecognition => Course::FrBasic,
            Technology::DigitalCameras => Course::DigitalCameras,
            Technology::ThermographicCameras => Course::ThermographicCameras,
        }
    }
}

impl Rank {
    /// True for the uniformed ranks of sergeant and above.
    pub fn is_supervisory(self) -> bool {
        matches!(
            self,
            Rank::Sergeant
                | Rank::Lieutenant
                | Rank::Captain
                | Rank::DeputyInspector
                | Rank::Inspector
                | Rank::DeputyChief
                | Rank::AssistantChief
                | Rank::BureauChief
                | Rank::ChiefOfDepartment
        )
    }
}

/// What a role demands of its holder; the single table behind [`effective_roles`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRequirements {
    /// The kind of person who may hold the role.
    pub kind: PersonKind,
    /// Courses that must be valid (FR-21, OVR-01).
    pub courses: &'static [Course],
    /// Ranks allowed to hold the role; `None`: any rank.
    pub ranks: Option<&'static [Rank]>,
    /// A contract or agreement of this kind must be in force (EXT-06, EXT-07).
    pub contract: Option<ContractKind>,
    /// The rule behind these requirements.
    pub rule: &'static str,
}

const SUPERVISORY_RANKS: &[Rank] = &[
    Rank::Sergeant,
    Rank::Lieutenant,
    Rank::Captain,
    Rank::DeputyInspector,
    Rank::Inspector,
    Rank::DeputyChief,
    Rank::AssistantChief,
    Rank::BureauChief,
    Rank::ChiefOfDepartment,
];

/// Ranks that command a precinct or another command: captain and above.
const COMMANDING_RANKS: &[Rank] = &[
    Rank::Captain,
    Rank::DeputyInspector,
    Rank::Inspector,
    Rank::DeputyChief,
    Rank::AssistantChief,
    Rank::BureauChief,
    Rank::ChiefOfDepartment,
];

impl Role {
    /// The requirements of this role. One table, used by [`effective_roles`] and shown in the UI.
    pub fn requirements(self) -> RoleRequirements {
        const NONE: &[Course] = &[];
        const FR: &[Course] = &[Course::FrBasic];
        let member = |rule| RoleRequirements {
            kind: PersonKind::Member,
            courses: NONE,
            ranks: None,
            contract: None,
            rule,
        };
        match self {
            Role::Investigator
            | Role::AgencyPrivacyOfficer
            | Role::PolicyOwner
            | Role::RecordsOfficer
            | Role::RecordsManager
            | Role::Administrator
            | Role::IabAuditor
            | Role::InvestigationsUnit => member("SEC-02"),
            Role::CommandingOfficer => RoleRequirements {
                ranks: Some(COMMANDING_RANKS),
                ..member("SEC-05")
            },
            Role::FrInvestigator => RoleRequirements {
                courses: FR,
                ..member("FR-21")
            },
            Role::FrSupervisor => RoleRequirements {
                courses: FR,
                ranks: Some(SUPERVISORY_RANKS),
                ..member("FR-21")
            },
            Role::Supervisor | Role::IntegrityControlOfficer => RoleRequirements {
                ranks: Some(SUPERVISORY_RANKS),
                ..member("SEC-02")
            },
            Role::ChiefOfDepartment => RoleRequirements {
                ranks: Some(&[Rank::ChiefOfDepartment]),
                ..member("FR-18")
            },
            Role::ChiefOfDetectives => RoleRequirements {
                ranks: Some(&[Rank::BureauChief, Rank::ChiefOfDepartment]),
                ..member("FR-18")
            },
            Role::DeputyCommissionerIntelligence => RoleRequirements {
                ranks: Some(&[Rank::DeputyCommissioner]),
                ..member("FR-18")
            },
            Role::Vendor => RoleRequirements {
                kind: PersonKind::Vendor,
                courses: NONE,
                ranks: None,
                contract: Some(ContractKind::VendorContract),
                rule: "EXT-06",
            },
            Role::ExternalAgencyLiaison => RoleRequirements {
                kind: PersonKind::ExternalAgency,
                courses: NONE,
                ranks: None,
                contract: Some(ContractKind::AgencyAgreement),
                rule: "EXT-07",
            },
        }
    }

    /// True for the roles that may supervise people of a command.
    pub fn is_supervisory(self) -> bool {
        matches!(
            self,
            Role::Supervisor | Role::FrSupervisor | Role::IntegrityControlOfficer
        )
    }
}

/// A command code, e.g. `PCT-019`, `DB-FIS` (Facial Identification Section), `INTEL`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CommandCode(String);

impl CommandCode {
    /// Parses a command code: 2 to 16 characters, uppercase letters, digits and `-`.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim().to_ascii_uppercase();
        let ok = (2..=16).contains(&t.len())
            && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !t.starts_with('-')
            && !t.ends_with('-');
        if ok {
            Ok(CommandCode(t))
        } else {
            Err(DomainError::invalid(
                "command",
                format!("'{s}' is not a command code (2-16 letters, digits or '-', e.g. PCT-019)"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommandCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for CommandCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CommandCode::parse(s)
    }
}

impl TryFrom<String> for CommandCode {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        CommandCode::parse(&s)
    }
}

impl From<CommandCode> for String {
    fn from(c: CommandCode) -> String {
        c.0
    }
}

/// A command (precinct, squad, bureau, division).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub code: CommandCode,
    pub name: String,
    /// The Intelligence Division: the sole entity that may conduct investigations involving
    /// political activity (FR-25, DC-03; Revised Handschu Guidelines).
    pub intelligence_division: bool,
}

/// A person holding an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub rank: Rank,
    pub kind: PersonKind,
    /// A deactivated account holds no role whatever its assignments say.
    pub active: bool,
}

/// An assignment: a person holds a role in a command from `start` until `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: AssignmentId,
    pub person: UserId,
    pub role: Role,
    pub command: CommandCode,
    pub start: DateTime<Utc>,
    /// `None`: open-ended. Access ends at this instant, without anyone revoking it.
    pub end: Option<DateTime<Utc>>,
}

impl Assignment {
    /// Checks the assignment's own consistency (end after start).
    pub fn validate(&self) -> Result<(), DomainError> {
        match self.end {
            Some(end) if end <= self.start => Err(DomainError::invalid(
                "end",
                format!(
                    "assignment ends ({end}) at or before it starts ({}); give an end after the start",
                    self.start
                ),
            )),
            _ => Ok(()),
        }
    }

    /// True when the assignment is in force at `now` (`start <= now < end`).
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && self.end.is_none_or(|e| now < e)
    }
}

/// A training record (OVR-01): valid on the days `completed <= day < expires`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingRecord {
    pub person: UserId,
    pub course: Course,
    pub completed: NaiveDate,
    /// First day on which the training no longer counts; `None`: does not expire.
    pub expires: Option<NaiveDate>,
}

impl TrainingRecord {
    pub fn validate(&self) -> Result<(), DomainError> {
        match self.expires {
            Some(x) if x <= self.completed => Err(DomainError::invalid(
                "expires",
                format!(
                    "training expires ({x}) on or before its completion ({}); give a later expiry",
                    self.completed
                ),
            )),
            _ => Ok(()),
        }
    }

    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.completed <= day && self.expires.is_none_or(|x| day < x)
    }
}

/// A contract or written agreement that binds an outside person's access (EXT-06, EXT-07).
/// Always time-boxed: it has a last day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub kind: ContractKind,
    /// Contract or agreement number.
    pub reference: String,
    pub organisation: String,
    pub person: UserId,
    pub start: NaiveDate,
    /// Last day on which the contract is in force (inclusive).
    pub ends: NaiveDate,
    /// The technologies the contracted duties concern (least privilege, need to know).
    pub scope: BTreeSet<Technology>,
}

impl Contract {
    pub fn validate(&self) -> Result<(), DomainError> {
        let rule = match self.kind {
            ContractKind::VendorContract => "EXT-06",
            ContractKind::AgencyAgreement => "EXT-07",
        };
        let mut missing = Vec::new();
        if self.reference.trim().is_empty() {
            missing.push("reference");
        }
        if self.organisation.trim().is_empty() {
            missing.push("organisation");
        }
        if self.scope.is_empty() {
            missing.push("scope");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing { rule, missing });
        }
        if self.ends < self.start {
            return Err(DomainError::refused(
                rule,
                format!(
                    "contract {} ends ({}) before it starts ({})",
                    self.reference, self.ends, self.start
                ),
            ));
        }
        Ok(())
    }

    pub fn is_in_force_on(&self, day: NaiveDate) -> bool {
        self.start <= day && day <= self.ends
    }
}

/// A role a person holds now, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleGrant {
    pub role: Role,
    pub command: CommandCode,
    pub assignment: AssignmentId,
    /// When this grant ends on its own (assignment end, training expiry or contract end),
    /// whichever comes first; `None`: nothing scheduled.
    pub until: Option<DateTime<Utc>>,
}

/// A role a person was, is or will be assigned, but does not hold now, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRefusal {
    pub role: Role,
    pub command: CommandCode,
    pub assignment: AssignmentId,
    /// The rule that withholds the role.
    pub rule: String,
    /// E.g. `fr_investigator: training 'fr_basic' expired 2026-10-01`.
    pub reason: String,
}

/// What a person may do at one instant, derived by [`effective_roles`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveAccess {
    pub person: UserId,
    pub at: DateTime<Utc>,
    pub grants: Vec<RoleGrant>,
    pub refusals: Vec<RoleRefusal>,
    /// Courses valid at `at`.
    pub valid_courses: BTreeSet<Course>,
    /// True when a granted role is held in the Intelligence Division (FR-25).
    pub intelligence_division: bool,
    /// A contract or agreement is in force (EXT-06, EXT-07).
    pub contract_active: bool,
    /// Technologies covered by the contracts in force.
    pub contract_scope: BTreeSet<Technology>,
}

impl EffectiveAccess {
    /// The roles held now.
    pub fn roles(&self) -> BTreeSet<Role> {
        self.grants.iter().map(|g| g.role).collect()
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Commands in which the person holds any role now.
    pub fn commands(&self) -> BTreeSet<CommandCode> {
        self.grants.iter().map(|g| g.command.clone()).collect()
    }

    /// Commands in which the person holds `role` now.
    pub fn commands_with_role(&self, role: Role) -> BTreeSet<CommandCode> {
        self.grants
            .iter()
            .filter(|g| g.role == role)
            .map(|g| g.command.clone())
            .collect()
    }

    /// The primary command: the command of the most recently started grant, if any.
    pub fn primary_command(&self) -> Option<&CommandCode> {
        self.grants.first().map(|g| &g.command)
    }

    /// Technologies the person is trained for now (OVR-01).
    pub fn trained_technologies(&self) -> BTreeSet<Technology> {
        Technology::ALL
            .iter()
            .copied()
            .filter(|t| self.valid_courses.contains(&t.required_course()))
            .collect()
    }
}

fn start_of_day(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Computes a person's access at `now` (SEC-02, FR-21, OVR-01, EXT-06, EXT-07).
///
/// A role is granted only by an assignment in force at `now` (access follows the current
/// assignment and ends when it ends), held by a person of the right kind and rank, with every
/// course the role requires valid today (FR-21: access starts only after mandatory training is
/// recorded) and, for people from outside the Department, a contract or agreement in force.
/// Every assigned role not granted is listed in `refusals` with the reason.
///
/// Records of other people in the slices are ignored; the function does no I/O.
pub fn effective_roles(
    person: &Person,
    assignments: &[Assignment],
    training: &[TrainingRecord],
    contracts: &[Contract],
    commands: &[Command],
    now: DateTime<Utc>,
) -> EffectiveAccess {
    let today = now.date_naive();
    let training: Vec<&TrainingRecord> =
        training.iter().filter(|t| t.person == person.id).collect();
    let contracts: Vec<&Contract> = contracts
        .iter()
        .filter(|c| c.person == person.id && c.validate().is_ok())
        .collect();
    let commands: BTreeMap<&CommandCode, &Command> =
        commands.iter().map(|c| (&c.code, c)).collect();

    // For each course: the latest expiry among records valid today (None inside Some = no expiry).
    let mut valid_courses: BTreeMap<Course, Option<NaiveDate>> = BTreeMap::new();
    for t in training.iter().filter(|t| t.is_valid_on(today)) {
        let entry = valid_courses.entry(t.course).or_insert(t.expires);
        *entry = match (*entry, t.expires) {
            (None, _) | (_, None) => None,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
    }

    let in_force: Vec<&&Contract> = contracts
        .iter()
        .filter(|c| c.is_in_force_on(today))
        .collect();
    let contract_active = in_force.iter().any(|c| match person.kind {
        PersonKind::Vendor => c.kind == ContractKind::VendorContract,
        PersonKind::ExternalAgency => c.kind == ContractKind::AgencyAgreement,
        PersonKind::Member => false,
    });
    let contract_scope: BTreeSet<Technology> = if contract_active {
        in_force
            .iter()
            .flat_map(|c| c.scope.iter().copied())
            .collect()
    } else {
        BTreeSet::new()
    };

    let mut mine: Vec<&Assignment> = assignments
        .iter()
        .filter(|a| a.person == person.id)
        .collect();
    // Most recently started first, so the primary command is the latest assignment.
    mine.sort_by(|a, b| b.start.cmp(&a.start).then(a.id.cmp(&b.id)));

    let mut grants = Vec::new();
    let mut refusals = Vec::new();
    for a in mine {
        let req = a.role.requirements();
        let refuse = |rule: &str, why: String| RoleRefusal {
            role: a.role,
            command: a.command.clone(),
            assignment: a.id,
            rule: rule.to_string(),
            reason: format!("{}: {why}", a.role),
        };
        if !person.active {
            refusals.push(refuse("SEC-02", "account is deactivated".into()));
            continue;
        }
        if let Err(e) = a.validate() {
            refusals.push(refuse("SEC-02", format!("assignment is invalid ({e})")));
            continue;
        }
        if now < a.start {
            refusals.push(refuse(
                "SEC-02",
                format!(
                    "assignment in {} starts {}",
                    a.command,
                    a.start.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
            continue;
        }
        if let Some(end) = a.end.filter(|e| *e <= now) {
            refusals.push(refuse(
                "SEC-02",
                format!(
                    "assignment in {} ended {}",
                    a.command,
                    end.format("%Y-%m-%d %H:%M UTC")
                ),
            ));
            continue;
        }
        if !commands.contains_key(&a.command) {
            refusals.push(refuse(
                "SEC-02",
                format!("command '{}' is not known", a.command),
            ));
            continue;
        }
        if person.kind != req.kind {
            refusals.push(refuse(
                req.rule,
                format!(
                    "role is for a {} account, this account is a {}",
                    req.kind, person.kind
                ),
            ));
            continue;
        }
        if let Some(ranks) = req.ranks {
            if !ranks.contains(&person.rank) {
                let names: Vec<&str> = ranks.iter().map(|r| r.as_str()).collect();
                refusals.push(refuse(
                    "SEC-02",
                    format!(
                        "rank '{}' may not hold this role (ranks: {})",
                        person.rank,
                        names.join(", ")
                    ),
                ));
                continue;
            }
        }
        let mut until = a.end;
        let mut training_problem = None;
        for course in req.courses {
            match valid_courses.get(course) {
                Some(expiry) => until = min_opt(until, expiry.map(start_of_day)),
                None => {
                    let last_expired = training
                        .iter()
                        .filter(|t| t.course == *course)
                        .filter_map(|t| t.expires.filter(|x| *x <= today))
                        .max();
                    let future = training
                        .iter()
                        .filter(|t| t.course == *course && t.completed > today)
                        .map(|t| t.completed)
                        .min();
                    training_problem = Some(match (last_expired, future) {
                        (Some(x), _) => format!("training '{course}' expired {x}"),
                        (None, Some(c)) => format!(
                            "training '{course}' is recorded as completed {c}, a future date"
                        ),
                        (None, None) => format!("training '{course}' is not recorded"),
                    });
                    break;
                }
            }
        }
        if let Some(why) = training_problem {
            refusals.push(refuse(req.rule, why));
            continue;
        }
        if let Some(kind) = req.contract {
            let current = in_force
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.ends)
                .max();
            match current {
                Some(ends) => {
                    let next_day = ends.succ_opt().unwrap_or(ends);
                    until = min_opt(until, Some(start_of_day(next_day)));
                }
                None => {
                    let last = contracts
                        .iter()
                        .filter(|c| c.kind == kind && c.ends < today)
                        .map(|c| c.ends)
                        .max();
                    let why = match last {
                        Some(e) => format!("{kind} ended {e}"),
                        None => format!("no {kind} in force"),
                    };
                    refusals.push(refuse(req.rule, why));
                    continue;
                }
            }
        }
        grants.push(RoleGrant {
            role: a.role,
            command: a.command.clone(),
            assignment: a.id,
            until,
        });
    }

    let intelligence_division = grants.iter().any(|g| {
        commands
            .get(&g.command)
            .is_some_and(|c| c.intelligence_division)
    });

    EffectiveAccess {
        person: person.id,
        at: now,
        grants,
        refusals,
        valid_courses: valid_courses.into_keys().collect(),
        intelligence_division,
        contract_active,
        contract_scope,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).single().unwrap()
    }
    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }
    fn cmd(code: &str, intel: bool) -> Command {
        Command {
            code: CommandCode::parse(code).unwrap(),
            name: code.to_string(),
            intelligence_division: intel,
        }
    }
    fn person(kind: PersonKind, rank: Rank) -> Person {
        Person {
            id: UserId::new(),
            username: "p".into(),
            display_name: "P".into(),
            rank,
            kind,
            active: true,
        }
    }
    fn assign(
        p: &Person,
        role: Role,
        command: &str,
        start: DateTime<Utc>,
        end: Option<DateTime<Utc>>,
    ) -> Assignment {
        Assignment {
            id: AssignmentId::new(),
            person: p.id,
            role,
            command: CommandCode::parse(command).unwrap(),
            start,
            end,
        }
    }
    fn trained(
        p: &Person,
        course: Course,
        completed: NaiveDate,
        expires: Option<NaiveDate>,
    ) -> TrainingRecord {
        TrainingRecord {
            person: p.id,
            course,
            completed,
            expires,
        }
    }
    fn commands() -> Vec<Command> {
        vec![
            cmd("DB-FIS", false),
            cmd("PCT-019", false),
            cmd("INTEL", true),
        ]
    }

    #[test]
    fn enums_round_trip_as_text() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), *r);
        }
        assert_eq!(Role::ALL.len(), 18);
        for r in Rank::ALL {
            assert_eq!(r.as_str().parse::<Rank>().unwrap(), *r);
        }
        let err = "wizard".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("unknown role 'wizard'"), "{err}");
        assert_eq!(
            serde_json::to_string(&Role::FrInvestigator).unwrap(),
            "\"fr_investigator\""
        );
    }

    #[test]
    fn fr_21_access_follows_current_assignment_and_training() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(
            &p,
            Role::FrInvestigator,
            "DB-FIS",
            at(2026, 1, 1),
            Some(at(2026, 12, 1)),
        );
        let t = trained(
            &p,
            Course::FrBasic,
            day(2025, 12, 1),
            Some(day(2026, 10, 1)),
        );
        let acc = effective_roles(
            &p,
            std::slice::from_ref(&a),
            std::slice::from_ref(&t),
            &[],
            &commands(),
            at(2026, 6, 1),
        );
        assert!(acc.has_role(Role::FrInvestigator));
        // The grant ends by itself at the training expiry, before the assignment end.
        assert_eq!(
            acc.grants[0].until,
            Some(day(2026, 10, 1).and_hms_opt(0, 0, 0).unwrap().and_utc())
        );
        assert!(acc.valid_courses.contains(&Course::FrBasic));
        assert!(acc
            .trained_technologies()
            .contains(&Technology::FacialRecognition));
    }

    #[test]
    fn fr_21_training_expiry_ends_access_with_reason() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(&p, Role::FrInvestigator, "DB-FIS", at(2026, 1, 1), None);
        let t = trained(
            &p,
            Course::FrBasic,
            day(2025, 12, 1),
            Some(day(2026, 10, 1)),
        );
        let acc = effective_roles(&p, &[a], &[t], &[], &commands(), at(2026, 10, 1));
        assert!(!acc.has_role(Role::FrInvestigator));
        assert_eq!(acc.refusals.len(), 1);
        assert_eq!(
            acc.refusals[0].reason,
            "fr_investigator: training 'fr_basic' expired 2026-10-01"
        );
        assert_eq!(acc.refusals[0].rule, "FR-21");
    }

    #[test]
    fn fr_21_no_access_before_training_recorded() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(&p, Role::FrInvestigator, "DB-FIS", at(2026, 1, 1), None);
        let acc = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 2, 1));
        assert!(acc.grants.is_empty());
        assert_eq!(
            acc.refusals[0].reason,
            "fr_investigator: training 'fr_basic' is not recorded"
        );
    }

    #[test]
    fn sec_02_assignment_end_ends_access() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(
            &p,
            Role::Investigator,
            "PCT-019",
            at(2026, 1, 1),
            Some(at(2026, 3, 1)),
        );
        let before = effective_roles(
            &p,
            std::slice::from_ref(&a),
            &[],
            &[],
            &commands(),
            at(2026, 2, 28),
        );
        assert!(before.has_role(Role::Investigator));
        let after = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 3, 1));
        assert!(!after.has_role(Role::Investigator));
        assert!(after.refusals[0]
            .reason
            .starts_with("investigator: assignment in PCT-019 ended 2026-03-01"));
    }

    #[test]
    fn sec_02_future_assignment_not_yet_in_force() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(&p, Role::Investigator, "PCT-019", at(2026, 5, 1), None);
        let acc = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 4, 1));
        assert!(acc.grants.is_empty());
        assert!(acc.refusals[0].reason.contains("starts 2026-05-01"));
    }

    #[test]
    fn sec_02_rank_gates_supervisory_roles() {
        let p = person(PersonKind::Member, Rank::PoliceOfficer);
        let a = assign(&p, Role::Supervisor, "PCT-019", at(2026, 1, 1), None);
        let acc = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 2, 1));
        assert!(acc.grants.is_empty());
        assert!(acc.refusals[0]
            .reason
            .contains("rank 'police_officer' may not hold this role"));
    }

    #[test]
    fn sec_02_deactivated_account_holds_nothing() {
        let mut p = person(PersonKind::Member, Rank::Detective);
        p.active = false;
        let a = assign(&p, Role::Investigator, "PCT-019", at(2026, 1, 1), None);
        let acc = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 2, 1));
        assert!(acc.grants.is_empty());
    }

    #[test]
    fn fr_25_intelligence_division_flag_follows_assignment() {
        let p = person(PersonKind::Member, Rank::Detective);
        let a = assign(
            &p,
            Role::Investigator,
            "INTEL",
            at(2026, 1, 1),
            Some(at(2026, 6, 1)),
        );
        let b = assign(&p, Role::Investigator, "PCT-019", at(2026, 6, 1), None);
        let acc = effective_roles(
            &p,
            &[a.clone(), b.clone()],
            &[],
            &[],
            &commands(),
            at(2026, 3, 1),
        );
        assert!(acc.intelligence_division);
        let acc = effective_roles(&p, &[a, b], &[], &[], &commands(), at(2026, 7, 1));
        assert!(!acc.intelligence_division);
        assert_eq!(acc.primary_command().map(|c| c.as_str()), Some("PCT-019"));
    }

    #[test]
    fn ext_06_vendor_access_ends_with_contract() {
        let p = person(PersonKind::Vendor, Rank::NonMember);
        let a = assign(&p, Role::Vendor, "DB-FIS", at(2026, 1, 1), None);
        let c = Contract {
            kind: ContractKind::VendorContract,
            reference: "C-2026-17".into(),
            organisation: "Example Imaging Ltd".into(),
            person: p.id,
            start: day(2026, 1, 1),
            ends: day(2026, 6, 30),
            scope: [Technology::FacialRecognition].into(),
        };
        let acc = effective_roles(
            &p,
            std::slice::from_ref(&a),
            &[],
            std::slice::from_ref(&c),
            &commands(),
            at(2026, 6, 30),
        );
        assert!(acc.has_role(Role::Vendor));
        assert!(acc.contract_active);
        assert_eq!(acc.contract_scope, [Technology::FacialRecognition].into());
        let acc = effective_roles(&p, &[a], &[], &[c], &commands(), at(2026, 7, 1));
        assert!(!acc.has_role(Role::Vendor));
        assert!(!acc.contract_active);
        assert_eq!(
            acc.refusals[0].reason,
            "vendor: vendor_contract ended 2026-06-30"
        );
        assert_eq!(acc.refusals[0].rule, "EXT-06");
    }

    #[test]
    fn ext_06_member_roles_never_for_vendor_accounts() {
        let p = person(PersonKind::Vendor, Rank::NonMember);
        let a = assign(&p, Role::Investigator, "PCT-019", at(2026, 1, 1), None);
        let acc = effective_roles(&p, &[a], &[], &[], &commands(), at(2026, 2, 1));
        assert!(acc.grants.is_empty());
        assert!(acc.refusals[0]
            .reason
            .contains("role is for a member account"));
    }

    #[test]
    fn other_peoples_records_are_ignored() {
        let p = person(PersonKind::Member, Rank::Detective);
        let q = person(PersonKind::Member, Rank::Detective);
        let a = assign(&p, Role::FrInvestigator, "DB-FIS", at(2026, 1, 1), None);
        let t = trained(&q, Course::FrBasic, day(2025, 1, 1), None);
        let acc = effective_roles(&p, &[a], &[t], &[], &commands(), at(2026, 2, 1));
        assert!(acc.grants.is_empty());
    }
}
