//! # probity-policy
//!
//! The three NYC POST Act impact and use policies (facial recognition, digital cameras,
//! thermographic cameras) plus a core pack of the rules they share, as versioned **policy
//! packs** (OVR-02): TOML data (authorized uses, roles, retention rules, disclosure bases,
//! revision history) and Cedar authorization policies, embedded in the binary with
//! `include_str!` and checked at start. The running rules are the published rules.
//!
//! [`PolicyEngine::decide`] answers "may principal P do action A on resource R" and names the
//! rule (`@id`) that permitted or refused; with no permit the answer is
//! `deny-by-default: no policy permits <action> for roles [...]`.
//!
//! Architecture invariants:
//! - **Deny by default**: an action is allowed only by a permit policy that matches and no
//!   forbid policy; a malformed request is denied.
//! - **Every policy names its rule**: each Cedar policy has `@id("<RULE-ID>.<name>")`; a pack
//!   without it does not load.
//! - **A rule lives in exactly one place**: who may do what is decided here; whether the content
//!   of a step is valid (FR-05 uses, DC-02 bases, RET schedules, FR workflow order) is decided in
//!   `probity-domain`; the server maps each route to exactly one [`Action`] and decides nothing.
//! - **No I/O**: packs are compiled in; nothing is read from disk at run time.
//! - **A broken pack fails at startup** with [`PolicyError`] naming the pack and what is wrong.
//!
//! ```
//! use probity_policy::{Action, Context, PolicyEngine, Principal, Resource};
//! let engine = PolicyEngine::load().expect("embedded packs are valid");
//! let nobody = Principal {
//!     user: probity_domain::UserId::new(),
//!     kind: probity_domain::PersonKind::Member,
//!     roles: Default::default(),
//!     commands: Default::default(),
//!     investigator_commands: Default::default(),
//!     supervisor_commands: Default::default(),
//!     commanding_officer_commands: Default::default(),
//!     intelligence_division: false,
//!     courses: Default::default(),
//!     contract_active: false,
//!     contract_scope: Default::default(),
//! };
//! let d = engine.decide(&nobody, Action::AuditRead, &Resource::System, &Context::default());
//! assert!(!d.allowed);
//! assert_eq!(d.rule, "deny-by-default: no policy permits audit.read for roles []");
//! ```

#![forbid(unsafe_code)]

mod actions;
mod engine;
mod error;
mod pack;

pub use actions::{Action, ResourceKind};
pub use engine::{CaseRef, Context, Decision, PolicyEngine, Principal, Resource};
pub use error::PolicyError;
pub use pack::{
    embedded_sources, PackRole, PackSource, PolicyPack, RetentionText, Revision, RevisionKind,
    RuleText, Worded, EMBEDDED_SCHEMA,
};
