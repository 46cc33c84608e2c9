//! # probity-domain
//!
//! The rules of the three NYC POST Act impact and use policies (facial recognition, digital
//! cameras, thermographic cameras) as plain Rust: types, validation functions and state
//! transitions. Each rule of `REQUIREMENTS.md` lives here exactly once, as a small function whose
//! errors name the rule (`FR-05`, `DC-02`, `RET-11` ...).
//!
//! Architecture invariants:
//! - **No I/O**: no files, network, database, clock or randomness in the rules. The current time
//!   is always a parameter (`now`), so every decision can be replayed and tested.
//! - **No async, no storage types**: storage persists these types; every enum has a stable
//!   snake_case `as_str()` / `FromStr` pair for TEXT columns, JSON and Cedar.
//! - **A rule lives in exactly one place**: the HTTP and storage layers call these functions and
//!   never re-decide policy themselves.
//!
//! Modules:
//! - [`people`]: roles, ranks, commands, assignments, training, contracts and
//!   [`effective_roles`] (SEC-02, FR-21, OVR-01, EXT-06, EXT-07).
//! - [`cases`]: case and complaint numbers, offence classification and closure.
//! - [`retention`]: the retention schedule as data ([`RetentionSchedule`], from the policy pack),
//!   [`retention_for`] and the other record kinds, due dates, legal holds, four eyes on a
//!   disposition and its certificate (RET-01..RET-11).
//! - [`bases`]: closed lists and legal bases: FR authorized uses (FR-05), DC purposes (DC-01),
//!   capture bases (DC-02), disclosure bases (EXT-01..EXT-04), thermal deployments (TH-05).
//! - [`fr_request`]: the facial recognition request state machine (FR-04..FR-22).
//! - [`oversight`]: card clearing (DC-05), inspections (DC-04), breach clock (EXT-05).
//! - [`breach`]: breach records, escalation stages, notification decisions and the quarterly
//!   anonymized summary (EXT-05).
//! - [`foil`]: public records requests (PUB-01): the New York business-day calendar, FOIL
//!   deadlines, the §87(2) exemptions, review, redaction, decision and appeal checks.

#![forbid(unsafe_code)]

mod error;
mod macros;

pub mod bases;
pub mod breach;
pub mod cases;
pub mod foil;
pub mod fr_request;
pub mod ids;
pub mod inspections;
pub mod misuse;
pub mod oversight;
pub mod people;
pub mod retention;

pub use bases::{
    AgencyAgreementTerms, CaptureBasis, DcPurpose, DeploymentAuthorization, DisclosureBasis,
    DisclosurePurpose, DisclosureRequest, ExigencyFindings, ExigencyStatute, FrAuthorizedUse,
    ImagePurpose, NewUse, RecipientKind, ThermalBasis, UseOf, Warrant,
};
pub use cases::{Case, CaseNumber, CaseStatus, Closure, ClosureReason, OffenceClassification};
pub use error::DomainError;
pub use fr_request::{
    check_arrest_basis, check_three_officials, Actor, ExternalAgencyRequest, FrOutcome, FrRequest,
    FrState, PolicyAddendum, RequestRole, RequesterView, UnforeseenUse, POSSIBLE_MATCH_NOTICE,
};
pub use ids::{AssignmentId, CaseId, FrRequestId, UserId};
pub use people::{
    effective_roles, Assignment, Command, CommandCode, Contract, ContractKind, Course,
    EffectiveAccess, Person, PersonKind, Rank, Role, RoleGrant, RoleRefusal, Technology,
    TrainingRecord,
};
pub use retention::{
    check_approval, due, may_dispose, may_dispose_due, retention_for, retention_for_personal_file,
    retention_for_robot_data, CaseRetentionRule, CertifiedItem, DispositionCertificate, Due, Keep,
    LegalHold, PersonalFileRetention, PersonalFileSubject, RetentionAnchor, RetentionEvent,
    RetentionFacts, RetentionPeriod, RetentionRule, RetentionRuleId, RetentionSchedule,
    RobotDataRetention,
};
