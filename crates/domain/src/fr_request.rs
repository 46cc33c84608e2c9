//! The facial recognition request as an explicit state machine (FR-04 .. FR-22).
//!
//! ```text
//! draft -> submitted -> basis_confirmed -> quality_checked -> supervisor_discussion_acknowledged
//!             ^                 |                  (probe edits allowed, FR-07)
//!             |                 v
//!             +---- returned_unsuitable (requester adds stills, FR-06)
//!
//! supervisor_discussion_acknowledged -> searched -> identification -> background_check
//!        -> peer_review -> supervisor_review -> approved_possible_match | negative | sent_back
//! searched / sent_back -(no candidate proposed)-> negative          sent_back -> identification
//! ```
//!
//! Every transition is a pure function `(&FrRequest, &Actor, input, now) -> Result<FrRequest>`:
//! it checks the state (a skipped or replayed step is refused, naming the rule of the step),
//! the actor's role for the step, and separation of duties: one person fills at most one role
//! on one request (requester, FR investigator, peer reviewer, supervisor, official). Cedar
//! (`probity-policy`) decides beforehand whether the actor may attempt the action at all.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::bases::FrAuthorizedUse;
use crate::cases::{Case, CaseNumber};
use crate::ids::{CaseId, FrRequestId, UserId};
use crate::macros::text_enum;
use crate::people::{EffectiveAccess, Role};
use crate::DomainError;

/// Most stills one request may hold (FR-17: stills, bounded; never video).
pub const MAX_PROBES: usize = 12;

/// Media types a probe still may have (FR-17: no video, no stream).
pub const PROBE_MEDIA_TYPES: &[&str] = &["image/jpeg", "image/png", "image/heic", "image/heif"];

text_enum! {
    /// Where the request stands.
    pub enum FrState: "FR request state" {
        /// The requester is composing the request.
        Draft = "draft",
        /// Complete request submitted; awaiting the FR investigator's confirmation of the basis (FR-05).
        Submitted = "submitted",
        /// Basis confirmed and recorded; awaiting probe selection and quality (FR-06).
        BasisConfirmed = "basis_confirmed",
        /// No submitted still is suitable; the requester may add stills and resubmit (FR-06).
        ReturnedUnsuitable = "returned_unsuitable",
        /// Probe selected and suitable; awaiting the supervisor discussion (FR-22). Edits allowed (FR-07).
        QualityChecked = "quality_checked",
        /// The supervisor acknowledged the discussion of the use; the search may run (FR-22).
        SupervisorDiscussionAcknowledged = "supervisor_discussion_acknowledged",
        /// Candidate pool stored; awaiting facial identification (FR-08, FR-09).
        Searched = "searched",
        /// A candidate was proposed; awaiting the requester's background check (FR-10).
        Identification = "identification",
        /// Background check recorded; awaiting peer review (FR-10, FR-11).
        BackgroundCheck = "background_check",
        /// At least one peer review recorded; more may follow until the supervisor takes it (FR-11).
        PeerReview = "peer_review",
        /// A supervisor is reviewing (FR-12).
        SupervisorReview = "supervisor_review",
        /// Approved: the possible match report goes to the requester's case (FR-14).
        ApprovedPossibleMatch = "approved_possible_match",
        /// No candidate identified or approved: negative report (FR-13).
        Negative = "negative",
        /// The supervisor directed further investigation; a new identification is due (FR-12).
        SentBack = "sent_back",
    }
}

impl FrState {
    /// True for the states after which nothing more happens on the request.
    pub fn is_final(self) -> bool {
        matches!(self, FrState::ApprovedPossibleMatch | FrState::Negative)
    }
}

text_enum! {
    /// The role a person fills on one request. One person, one role (separation of duties).
    pub enum RequestRole: "request role" {
        Requester = "requester",
        FrInvestigator = "fr_investigator",
        PeerReviewer = "peer_reviewer",
        Supervisor = "supervisor",
        Official = "official",
    }
}

impl RequestRole {
    fn rule(self) -> &'static str {
        match self {
            RequestRole::Requester => "FR-04",
            RequestRole::FrInvestigator => "FR-21",
            RequestRole::PeerReviewer => "FR-11",
            RequestRole::Supervisor => "FR-12",
            RequestRole::Official => "FR-18",
        }
    }
}

text_enum! {
    /// Source of a probe still (FR-16 needs a justification for body-worn camera stills).
    pub enum StillSource: "still source" {
        Camera = "camera",
        Cctv = "cctv",
        SocialMedia = "social_media",
        BodyWornCamera = "body_worn_camera",
        Other = "other",
    }
}

text_enum! {
    /// The only adjustments a probe may receive (FR-07).
    pub enum ProbeEditOp: "probe edit" {
        Brightness = "brightness",
        Crop = "crop",
        Rotate = "rotate",
    }
}

text_enum! {
    /// The facial features compared in a facial identification (FR-09).
    pub enum FacialFeature: "facial feature" {
        Eyes = "eyes",
        Ears = "ears",
        Nose = "nose",
        Mouth = "mouth",
        Chin = "chin",
        Lips = "lips",
        Eyebrows = "eyebrows",
        HairHairline = "hair_hairline",
        Scars = "scars",
        Marks = "marks",
        Tattoos = "tattoos",
    }
}

text_enum! {
    /// The finding for one feature (FR-09).
    pub enum FeatureFinding: "feature finding" {
        Similar = "similar",
        Different = "different",
        NotVisible = "not_visible",
    }
}

text_enum! {
    /// The FR investigator's judgement of one candidate (FR-09).
    pub enum Judgement: "judgement" {
        Proposed = "proposed",
        Excluded = "excluded",
        Inconclusive = "inconclusive",
    }
}

/// The person acting, with the roles `effective_roles` granted now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: UserId,
    pub roles: BTreeSet<Role>,
}

impl Actor {
    pub fn from_access(access: &EffectiveAccess) -> Actor {
        Actor {
            user: access.person,
            roles: access.roles(),
        }
    }

    fn require(&self, role: Role, rule: &'static str, step: &str) -> Result<(), DomainError> {
        if self.roles.contains(&role) {
            Ok(())
        } else {
            Err(DomainError::refused(
                rule,
                format!("{step} needs the {role} role, which this person does not hold now"),
            ))
        }
    }
}

/// Why a body-worn camera still may be used (FR-16): the officer witnessed a crime and could
/// not apprehend the suspect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyWornJustification {
    pub officer_witnessed_crime: bool,
    pub unable_to_apprehend: bool,
    pub narrative: String,
}

/// One probe still of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeStill {
    /// Identifier of the stored image (evidence item or upload).
    pub image_ref: String,
    /// SHA-256 of the original, hex.
    pub sha256: String,
    pub media_type: String,
    pub source: StillSource,
    pub body_worn_justification: Option<BodyWornJustification>,
}

impl ProbeStill {
    /// Checks FR-17 (stills only) and FR-16 (body-worn camera justification).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mt = self.media_type.trim().to_ascii_lowercase();
        if mt.starts_with("video/") || mt.contains("stream") || mt == "application/x-mpegurl" {
            return Err(DomainError::refused(
                "FR-17",
                format!(
                    "'{}' is video or a stream; submit still images only (no real-time or video recognition)",
                    self.media_type
                ),
            ));
        }
        if !PROBE_MEDIA_TYPES.contains(&mt.as_str()) {
            return Err(DomainError::refused(
                "FR-17",
                format!(
                    "probe stills must be one of {}; got '{}'",
                    PROBE_MEDIA_TYPES.join(", "),
                    self.media_type
                ),
            ));
        }
        if self.image_ref.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-04",
                missing: vec!["probe image"],
            });
        }
        if self.sha256.len() != 64 || !self.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(DomainError::invalid(
                "sha256",
                "give the SHA-256 of the still as 64 hex digits",
            ));
        }
        if self.source == StillSource::BodyWornCamera {
            let ok = self.body_worn_justification.as_ref().is_some_and(|j| {
                j.officer_witnessed_crime && j.unable_to_apprehend && !j.narrative.trim().is_empty()
            });
            if !ok {
                return Err(DomainError::refused(
                    "FR-16",
                    "a still from body-worn camera video needs the recorded justification: the \
                     officer witnessed a crime and could not apprehend the suspect, with a narrative",
                ));
            }
        }
        Ok(())
    }
}

/// The FR investigator's quality verdict (FR-06).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityVerdict {
    /// Index into `probes` of the selected probe.
    pub selected_probe: usize,
    pub suitable: bool,
    /// Measured reasons (face found, size, sharpness, pose, exposure).
    pub reasons: Vec<String>,
}

/// One recorded probe adjustment (FR-07), over the untouched original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeEdit {
    pub op: ProbeEditOp,
    pub before_sha256: String,
    pub after_sha256: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// What a search returned (FR-08): the pool is stored elsewhere; the request keeps its refs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchRecord {
    pub algorithm_version: String,
    /// Repository record refs of the candidate pool, best first.
    pub candidates: Vec<String>,
    /// The probe was compared against images outside the photo repository (FR-18).
    pub outside_repository: bool,
    /// The measured quality of the probe face the search used (FR-06), kept with the search
    /// so the candidate list is read beside the quality it came from. Absent before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_quality: Option<ProbeQualityMeasures>,
}

/// The quality measures of a probe face, rounded as shown (FR-06).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeQualityMeasures {
    /// Distance between the eye centres, image pixels.
    pub inter_eye_px: u32,
    /// Variance of the Laplacian over the aligned face (higher is sharper).
    pub sharpness: u32,
    /// Mean brightness of the central face area, 0-255.
    pub mean_brightness: u32,
    /// Share of the central face area clipped dark or bright, per mille.
    pub clipped_per_mille: u32,
    /// Estimated head turn and tilt, degrees.
    pub yaw_deg: i32,
    pub roll_deg: i32,
    /// What the measures alone say against the engine's thresholds; the FR investigator's
    /// verdict is recorded separately and may differ, with reasons.
    pub within_thresholds: bool,
    /// The measures outside the thresholds, in words.
    pub issues: Vec<String>,
}

/// One candidate's facial identification form (FR-09).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateComparison {
    pub candidate: String,
    pub features: BTreeMap<FacialFeature, (FeatureFinding, String)>,
    pub judgement: Judgement,
}

/// The recorded facial identification of one round (FR-09).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identification {
    pub comparisons: Vec<CandidateComparison>,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

impl Identification {
    /// The proposed candidate, if any.
    pub fn proposed(&self) -> Option<&str> {
        self.comparisons
            .iter()
            .find(|c| c.judgement == Judgement::Proposed)
            .map(|c| c.candidate.as_str())
    }
}

/// The requester's background check of the proposed candidate (FR-10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundCheck {
    pub result: String,
    pub corroborates: bool,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// A peer review (FR-11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerReview {
    pub concur: bool,
    pub notes: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// A supervisor's decision (FR-12, FR-13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum SupervisorDecision {
    Approve,
    /// Difference of opinion: continue the investigation for a possible match candidate.
    SendBack {
        reasons: String,
    },
    /// No candidate approved: negative report.
    Reject {
        reasons: String,
    },
}

/// One of the three approvals of FR-18.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficialApproval {
    pub role: Role,
    pub by: UserId,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// One entry of the request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrTransition {
    pub from: FrState,
    pub to: FrState,
    pub by: UserId,
    pub at: DateTime<Utc>,
    /// The rule of the step (`FR-06` ...).
    pub rule: String,
    pub note: String,
}

/// A request for facial recognition analysis and everything recorded on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrRequest {
    pub id: FrRequestId,
    pub case_id: CaseId,
    pub case_number: CaseNumber,
    pub political_activity: bool,
    pub requester: UserId,
    pub authorized_use: Option<FrAuthorizedUse>,
    pub state: FrState,
    pub probes: Vec<ProbeStill>,
    pub participants: BTreeMap<UserId, RequestRole>,
    pub basis_confirmed_by: Option<UserId>,
    pub quality: Option<QualityVerdict>,
    pub quality_history: Vec<QualityVerdict>,
    pub edits: Vec<ProbeEdit>,
    pub discussion_acknowledged_by: Option<UserId>,
    pub discussion_note: Option<String>,
    pub search: Option<SearchRecord>,
    pub identifications: Vec<Identification>,
    pub background_check: Option<BackgroundCheck>,
    pub peer_reviews: Vec<PeerReview>,
    pub supervisor_decisions: Vec<(UserId, SupervisorDecision, DateTime<Utc>)>,
    pub outside_repository_approvals: Vec<OfficialApproval>,
    /// A use not foreseen by policy, in place of a listed authorized use (FR-19): the search
    /// cannot proceed until the three officials have decided on it for this request.
    #[serde(default)]
    pub unforeseen_use: Option<UnforeseenUse>,
    pub history: Vec<FrTransition>,
}

const THREE_OFFICIALS: [Role; 3] = [
    Role::ChiefOfDepartment,
    Role::ChiefOfDetectives,
    Role::DeputyCommissionerIntelligence,
];

impl FrRequest {
    /// Empties what this request says about people when its case is disposed (RET-11): the
    /// candidate pool's repository references, the facial comparisons and their notes, the
    /// background check, peer review notes and the discussion note. What stays is the shape of
    /// the workflow (states, who acted when, the algorithm version), which oversight counts
    /// and the audit trail refer to. The probe images are destroyed with the case's blobs.
    pub fn redact_for_disposal(&mut self) {
        const GONE: &str = "(disposed)";
        self.discussion_note = None;
        if let Some(search) = self.search.as_mut() {
            for c in &mut search.candidates {
                *c = GONE.to_string();
            }
        }
        for id in &mut self.identifications {
            for c in &mut id.comparisons {
                c.candidate = GONE.to_string();
                for (_, note) in c.features.values_mut() {
                    *note = GONE.to_string();
                }
            }
        }
        if let Some(b) = self.background_check.as_mut() {
            b.result = GONE.to_string();
        }
        for r in &mut self.peer_reviews {
            r.notes = GONE.to_string();
        }
        for p in &mut self.probes {
            p.image_ref = GONE.to_string();
        }
    }

    /// Starts a draft on a case by its assigned investigator (FR-04).
    pub fn draft(case: &Case, actor: &Actor, now: DateTime<Utc>) -> Result<FrRequest, DomainError> {
        actor.require(
            Role::Investigator,
            "FR-04",
            "requesting facial recognition analysis",
        )?;
        if case.assigned_investigator != Some(actor.user) {
            return Err(DomainError::refused(
                "FR-04",
                format!(
                    "only the investigator assigned to case {} may request analysis for it",
                    case.number
                ),
            ));
        }
        if case.closure.is_some() {
            return Err(DomainError::refused(
                "FR-04",
                format!("case {} is closed", case.number),
            ));
        }
        let id = FrRequestId::new();
        Ok(FrRequest {
            id,
            case_id: case.id,
            case_number: case.number.clone(),
            political_activity: case.political_activity,
            requester: actor.user,
            authorized_use: None,
            state: FrState::Draft,
            probes: Vec::new(),
            participants: [(actor.user, RequestRole::Requester)].into(),
            basis_confirmed_by: None,
            quality: None,
            quality_history: Vec::new(),
            edits: Vec::new(),
            discussion_acknowledged_by: None,
            discussion_note: None,
            search: None,
            identifications: Vec::new(),
            background_check: None,
            peer_reviews: Vec::new(),
            supervisor_decisions: Vec::new(),
            outside_repository_approvals: Vec::new(),
            unforeseen_use: None,
            history: vec![FrTransition {
                from: FrState::Draft,
                to: FrState::Draft,
                by: actor.user,
                at: now,
                rule: "FR-04".into(),
                note: "draft started".into(),
            }],
        })
    }

    fn expect(
        &self,
        allowed: &[FrState],
        rule: &'static str,
        step: &str,
    ) -> Result<(), DomainError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            Err(DomainError::refused(
                rule,
                format!(
                    "{step} is not possible while the request is {}; it needs the request to be {}",
                    self.state,
                    names.join(" or ")
                ),
            ))
        }
    }

    /// Records that `user` fills `role` on this request; refused when they fill another.
    fn take_role(&mut self, user: UserId, role: RequestRole) -> Result<(), DomainError> {
        match self.participants.get(&user) {
            Some(r) if *r == role => Ok(()),
            Some(r) => Err(DomainError::refused(
                role.rule(),
                format!(
                    "separation of duties: this person already acts as {r} on this request and cannot also act as {role}"
                ),
            )),
            None => {
                self.participants.insert(user, role);
                Ok(())
            }
        }
    }

    fn moved(
        mut self,
        to: FrState,
        by: UserId,
        at: DateTime<Utc>,
        rule: &str,
        note: impl Into<String>,
    ) -> FrRequest {
        self.history.push(FrTransition {
            from: self.state,
            to,
            by,
            at,
            rule: rule.to_string(),
            note: note.into(),
        });
        self.state = to;
        self
    }

    fn requester_only(
        &self,
        actor: &Actor,
        rule: &'static str,
        step: &str,
    ) -> Result<(), DomainError> {
        if actor.user != self.requester {
            return Err(DomainError::refused(
                rule,
                format!("only the requesting investigator may {step}"),
            ));
        }
        actor.require(Role::Investigator, rule, step)
    }

    fn fr_investigator_only(
        &self,
        actor: &Actor,
        rule: &'static str,
        step: &str,
    ) -> Result<(), DomainError> {
        actor.require(Role::FrInvestigator, rule, step)?;
        match self.basis_confirmed_by {
            Some(u) if u != actor.user => Err(DomainError::refused(
                rule,
                "the request is worked by the FR investigator who confirmed its basis",
            )),
            _ => Ok(()),
        }
    }

    /// Chooses the authorized use (FR-05, closed list) while drafting or returned.
    pub fn set_authorized_use(
        &self,
        actor: &Actor,
        use_key: &str,
    ) -> Result<FrRequest, DomainError> {
        self.requester_only(actor, "FR-04", "choose the authorized use")?;
        self.expect(&[FrState::Draft], "FR-04", "choosing the authorized use")?;
        let u = FrAuthorizedUse::parse_requested(use_key)?;
        if self.unforeseen_use.is_some() {
            return Err(DomainError::refused(
                "FR-05",
                "a request has one basis: a listed authorized use or a use not foreseen by policy, not both",
            ));
        }
        Ok(FrRequest {
            authorized_use: Some(u),
            ..self.clone()
        })
    }

    /// Describes a use not foreseen by policy in place of a listed authorized use (FR-19). The
    /// request can be submitted, but its basis cannot be confirmed, and so no search can run,
    /// until the three officials have each approved it with a reason.
    pub fn set_unforeseen_use(
        &self,
        actor: &Actor,
        description: &str,
    ) -> Result<FrRequest, DomainError> {
        self.requester_only(actor, "FR-19", "describe a use not foreseen by policy")?;
        self.expect(&[FrState::Draft], "FR-19", "describing the use")?;
        if self.authorized_use.is_some() {
            return Err(DomainError::refused(
                "FR-05",
                "a request has one basis: a listed authorized use or a use not foreseen by policy, not both",
            ));
        }
        if description.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-19",
                missing: vec!["description of the use"],
            });
        }
        Ok(FrRequest {
            unforeseen_use: Some(UnforeseenUse {
                addendum: None,
                description: description.trim().to_string(),
                case_id: self.case_id,
                approvals: Vec::new(),
            }),
            ..self.clone()
        })
    }

    /// One of the three officials decides for a use not foreseen by policy on this request, with
    /// an articulable reason (FR-19). Decisions are taken before the basis is confirmed.
    pub fn approve_unforeseen_use(
        &self,
        actor: &Actor,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        let Some(unforeseen) = &self.unforeseen_use else {
            return Err(DomainError::refused(
                "FR-19",
                "this request cites a listed authorized use; there is no unforeseen use to decide on",
            ));
        };
        self.expect(&[FrState::Submitted], "FR-19", "deciding on the use")?;
        let approval = official_approval("FR-19", &unforeseen.approvals, actor, reason, now)?;
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::Official)?;
        if let Some(u) = next.unforeseen_use.as_mut() {
            u.approvals.push(approval);
        }
        Ok(next)
    }

    /// The basis of the request in words: the policy's wording of the authorized use, or the
    /// description of the unforeseen use and whether the three officials approved it.
    pub fn basis_wording(&self) -> Option<String> {
        if let Some(u) = self.authorized_use {
            return Some(u.wording().to_string());
        }
        self.unforeseen_use.as_ref().map(|u| {
            let approved = if u.check_officials().is_ok() {
                "approved by the Chief of Department, the Chief of Detectives and the Deputy \
                 Commissioner of Intelligence and Counterterrorism"
            } else {
                "awaiting the decision of the three officials"
            };
            let addendum = match &u.addendum {
                Some(a) => format!(
                    ", recorded by addendum {} of the {} policy (OVR-04)",
                    a.version, a.pack
                ),
                None => String::new(),
            };
            format!(
                "Use not foreseen by policy (FR-19), {approved}{addendum}: {}",
                u.description
            )
        })
    }

    /// The basis as a short key for records and counts: the authorized use's key, or
    /// `unforeseen_use` (FR-19).
    pub fn basis_key(&self) -> Option<&'static str> {
        self.authorized_use
            .map(|u| u.as_str())
            .or(self.unforeseen_use.as_ref().map(|_| UNFORESEEN_USE_KEY))
    }

    /// Adds a probe still (FR-04, FR-16, FR-17), while drafting or after an unsuitable return (FR-06).
    pub fn add_probe(&self, actor: &Actor, still: ProbeStill) -> Result<FrRequest, DomainError> {
        self.requester_only(actor, "FR-06", "add stills")?;
        self.expect(
            &[FrState::Draft, FrState::ReturnedUnsuitable],
            "FR-06",
            "adding stills",
        )?;
        still.validate()?;
        if self.probes.len() >= MAX_PROBES {
            return Err(DomainError::refused(
                "FR-17",
                format!("a request holds at most {MAX_PROBES} stills"),
            ));
        }
        if self
            .probes
            .iter()
            .any(|p| p.sha256.eq_ignore_ascii_case(&still.sha256))
        {
            return Err(DomainError::refused(
                "FR-04",
                "this still is already part of the request",
            ));
        }
        let mut next = self.clone();
        next.probes.push(still);
        Ok(next)
    }

    /// Submits the request; everything FR-04 needs must be there, all missing parts listed.
    pub fn submit(&self, actor: &Actor, now: DateTime<Utc>) -> Result<FrRequest, DomainError> {
        self.requester_only(actor, "FR-04", "submit the request")?;
        self.expect(
            &[FrState::Draft, FrState::ReturnedUnsuitable],
            "FR-04",
            "submitting",
        )?;
        let mut missing = Vec::new();
        if self.authorized_use.is_none() && self.unforeseen_use.is_none() {
            missing.push("authorized use");
        }
        if self.probes.is_empty() {
            missing.push("probe image");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-04",
                missing,
            });
        }
        Ok(self
            .clone()
            .moved(FrState::Submitted, actor.user, now, "FR-04", "submitted"))
    }

    /// The FR investigator confirms the basis is one of the authorized uses (FR-05); the
    /// confirmation is recorded in the case by the caller.
    pub fn confirm_basis(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.fr_investigator_only(actor, "FR-05", "confirming the basis")?;
        self.expect(&[FrState::Submitted], "FR-05", "confirming the basis")?;
        if let Some(u) = &self.unforeseen_use {
            u.check()?;
        }
        let Some(wording) = self.basis_wording() else {
            return Err(DomainError::Missing {
                rule: "FR-05",
                missing: vec!["authorized use"],
            });
        };
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::FrInvestigator)?;
        next.basis_confirmed_by = Some(actor.user);
        Ok(next.moved(
            FrState::BasisConfirmed,
            actor.user,
            now,
            "FR-05",
            format!("basis confirmed: {wording}"),
        ))
    }

    /// Selects the probe and records the quality verdict (FR-06); unsuitable returns the
    /// request to the requester.
    pub fn assess_quality(
        &self,
        actor: &Actor,
        verdict: QualityVerdict,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.fr_investigator_only(actor, "FR-06", "assessing quality")?;
        self.expect(&[FrState::BasisConfirmed], "FR-06", "assessing quality")?;
        if verdict.selected_probe >= self.probes.len() {
            return Err(DomainError::invalid(
                "selected_probe",
                "select one of the submitted stills",
            ));
        }
        if verdict.reasons.iter().all(|r| r.trim().is_empty()) {
            return Err(DomainError::Missing {
                rule: "FR-06",
                missing: vec!["quality reasons"],
            });
        }
        let mut next = self.clone();
        next.quality_history.push(verdict.clone());
        let (to, note) = if verdict.suitable {
            (
                FrState::QualityChecked,
                "probe selected and suitable".to_string(),
            )
        } else {
            (
                FrState::ReturnedUnsuitable,
                format!("unsuitable: {}", verdict.reasons.join("; ")),
            )
        };
        next.quality = verdict.suitable.then_some(verdict);
        Ok(next.moved(to, actor.user, now, "FR-06", note))
    }

    /// Records one adjustment of the selected probe (FR-07: brightness, crop, rotate only).
    pub fn record_edit(
        &self,
        actor: &Actor,
        op: ProbeEditOp,
        before_sha256: &str,
        after_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.fr_investigator_only(actor, "FR-07", "adjusting the probe")?;
        self.expect(
            &[
                FrState::QualityChecked,
                FrState::SupervisorDiscussionAcknowledged,
            ],
            "FR-07",
            "adjusting the probe",
        )?;
        let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(before_sha256) || !hex(after_sha256) {
            return Err(DomainError::invalid(
                "sha256",
                "give before and after SHA-256 as 64 hex digits",
            ));
        }
        let expected_before = match (self.edits.last(), &self.quality) {
            (Some(e), _) => Some(e.after_sha256.clone()),
            (None, Some(q)) => self.probes.get(q.selected_probe).map(|p| p.sha256.clone()),
            (None, None) => None,
        };
        if expected_before.is_some_and(|b| !b.eq_ignore_ascii_case(before_sha256)) {
            return Err(DomainError::refused(
                "FR-07",
                "the edit does not start from the current state of the probe (before-hash differs)",
            ));
        }
        let mut next = self.clone();
        next.edits.push(ProbeEdit {
            op,
            before_sha256: before_sha256.to_ascii_lowercase(),
            after_sha256: after_sha256.to_ascii_lowercase(),
            by: actor.user,
            at: now,
        });
        Ok(next)
    }

    /// A supervisor of the FR investigator acknowledges the discussion of the use and its
    /// reasons (FR-22); no search runs before it.
    pub fn acknowledge_supervisor_discussion(
        &self,
        actor: &Actor,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        actor.require(
            Role::FrSupervisor,
            "FR-22",
            "acknowledging the supervisor discussion",
        )?;
        self.expect(
            &[FrState::QualityChecked],
            "FR-22",
            "acknowledging the supervisor discussion",
        )?;
        if note.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-22",
                missing: vec!["discussion note (use and reasons)"],
            });
        }
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::Supervisor)?;
        next.discussion_acknowledged_by = Some(actor.user);
        next.discussion_note = Some(note.trim().to_string());
        Ok(next.moved(
            FrState::SupervisorDiscussionAcknowledged,
            actor.user,
            now,
            "FR-22",
            "supervisor discussion acknowledged",
        ))
    }

    /// One of the three officials approves a comparison outside the photo repository for this
    /// request with an articulable reason (FR-18).
    pub fn approve_outside_repository(
        &self,
        actor: &Actor,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        if self.state.is_final() {
            return Err(DomainError::refused(
                "FR-18",
                format!("the request is {}", self.state),
            ));
        }
        let approval = official_approval(
            "FR-18",
            &self.outside_repository_approvals,
            actor,
            reason,
            now,
        )?;
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::Official)?;
        next.outside_repository_approvals.push(approval);
        Ok(next)
    }

    /// Whether the three FR-18 approvals are on record.
    pub fn outside_repository_approved(&self) -> bool {
        THREE_OFFICIALS.iter().all(|r| {
            self.outside_repository_approvals
                .iter()
                .any(|a| a.role == *r)
        })
    }

    /// Records the search and its candidate pool (FR-08); refused before the supervisor
    /// discussion (FR-22) and, outside the repository, without the three approvals (FR-18).
    pub fn record_search(
        &self,
        actor: &Actor,
        search: SearchRecord,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.fr_investigator_only(actor, "FR-08", "searching")?;
        if matches!(self.state, FrState::QualityChecked) {
            return Err(DomainError::refused(
                "FR-22",
                "the use and its reasons must be discussed with a supervisor, and acknowledged, before any search",
            ));
        }
        self.expect(
            &[FrState::SupervisorDiscussionAcknowledged],
            "FR-08",
            "searching",
        )?;
        if search.outside_repository && !self.outside_repository_approved() {
            return Err(DomainError::refused(
                "FR-18",
                "comparison outside the photo repository needs the approval of the Chief of Department, \
                 the Chief of Detectives and the Deputy Commissioner of Intelligence and Counterterrorism",
            ));
        }
        if search.algorithm_version.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-23",
                missing: vec!["algorithm version"],
            });
        }
        let n = search.candidates.len();
        let mut next = self.clone();
        next.search = Some(search);
        Ok(next.moved(
            FrState::Searched,
            actor.user,
            now,
            "FR-08",
            format!("{n} candidates"),
        ))
    }

    /// Records the facial identification (FR-09): every compared candidate has all features
    /// and a judgement; at most one is proposed. None proposed: negative (FR-13).
    pub fn record_identification(
        &self,
        actor: &Actor,
        comparisons: Vec<CandidateComparison>,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.fr_investigator_only(actor, "FR-09", "facial identification")?;
        self.expect(
            &[FrState::Searched, FrState::SentBack],
            "FR-09",
            "facial identification",
        )?;
        let pool: BTreeSet<&str> = self
            .search
            .as_ref()
            .map(|s| s.candidates.iter().map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let mut missing = Vec::new();
        for c in &comparisons {
            if !pool.contains(c.candidate.as_str()) {
                return Err(DomainError::refused(
                    "FR-09",
                    format!(
                        "candidate {} is not in this request's candidate pool",
                        c.candidate
                    ),
                ));
            }
            for f in FacialFeature::ALL {
                if !c.features.contains_key(f) {
                    missing.push(f.as_str());
                }
            }
        }
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            return Err(DomainError::Missing {
                rule: "FR-09",
                missing,
            });
        }
        let proposed = comparisons
            .iter()
            .filter(|c| c.judgement == Judgement::Proposed)
            .count();
        if proposed > 1 {
            return Err(DomainError::refused(
                "FR-10",
                "propose at most one candidate",
            ));
        }
        let identification = Identification {
            comparisons,
            by: actor.user,
            at: now,
        };
        let (to, rule, note) = match identification.proposed() {
            Some(c) => (
                FrState::Identification,
                "FR-09",
                format!("candidate {c} proposed"),
            ),
            None => (
                FrState::Negative,
                "FR-13",
                "no candidate identified".to_string(),
            ),
        };
        let mut next = self.clone();
        next.identifications.push(identification);
        next.background_check = None;
        next.peer_reviews.clear();
        Ok(next.moved(to, actor.user, now, rule, note))
    }

    /// The proposed candidate the requester may see, unapproved (FR-10), or `None`.
    pub fn proposed_candidate(&self) -> Option<&str> {
        self.identifications.last().and_then(|i| i.proposed())
    }

    /// The requester records the background check of the proposed candidate (FR-10).
    pub fn record_background_check(
        &self,
        actor: &Actor,
        result: &str,
        corroborates: bool,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        self.requester_only(actor, "FR-10", "record the background check")?;
        self.expect(
            &[FrState::Identification],
            "FR-10",
            "recording the background check",
        )?;
        if result.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-10",
                missing: vec!["background check result"],
            });
        }
        let mut next = self.clone();
        next.background_check = Some(BackgroundCheck {
            result: result.trim().to_string(),
            corroborates,
            by: actor.user,
            at: now,
        });
        Ok(next.moved(
            FrState::BackgroundCheck,
            actor.user,
            now,
            "FR-10",
            "background check recorded",
        ))
    }

    /// Another FR investigator, never the identifier, reviews the candidate (FR-11).
    pub fn record_peer_review(
        &self,
        actor: &Actor,
        concur: bool,
        notes: &str,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        actor.require(Role::FrInvestigator, "FR-11", "peer review")?;
        self.expect(
            &[FrState::BackgroundCheck, FrState::PeerReview],
            "FR-11",
            "peer review",
        )?;
        if self.peer_reviews.iter().any(|r| r.by == actor.user) {
            return Err(DomainError::refused(
                "FR-11",
                "this person already reviewed this identification",
            ));
        }
        if notes.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-11",
                missing: vec!["review notes"],
            });
        }
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::PeerReviewer)?;
        next.peer_reviews.push(PeerReview {
            concur,
            notes: notes.trim().to_string(),
            by: actor.user,
            at: now,
        });
        let note = if concur {
            "peer review: concurs"
        } else {
            "peer review: differs"
        };
        Ok(next.moved(FrState::PeerReview, actor.user, now, "FR-11", note))
    }

    /// A supervisor of the FR investigator takes the review (FR-12); no more peer reviews after.
    pub fn begin_supervisor_review(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        actor.require(Role::FrSupervisor, "FR-12", "supervisor review")?;
        self.expect(
            &[FrState::PeerReview],
            "FR-12",
            "starting the supervisor review",
        )?;
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::Supervisor)?;
        Ok(next.moved(
            FrState::SupervisorReview,
            actor.user,
            now,
            "FR-12",
            "supervisor review started",
        ))
    }

    /// The supervisor approves, sends back with reasons, or rejects (FR-12, FR-13, FR-14).
    pub fn decide_supervisor_review(
        &self,
        actor: &Actor,
        decision: SupervisorDecision,
        now: DateTime<Utc>,
    ) -> Result<FrRequest, DomainError> {
        actor.require(Role::FrSupervisor, "FR-12", "supervisor review")?;
        self.expect(
            &[FrState::SupervisorReview],
            "FR-12",
            "the supervisor's decision",
        )?;
        let mut next = self.clone();
        next.take_role(actor.user, RequestRole::Supervisor)?;
        let (to, rule, note) = match &decision {
            SupervisorDecision::Approve => {
                if self.background_check.is_none() || self.peer_reviews.is_empty() {
                    return Err(DomainError::refused(
                        "FR-12",
                        "approval needs the background check and a peer review",
                    ));
                }
                (
                    FrState::ApprovedPossibleMatch,
                    "FR-14",
                    "approved: possible match".to_string(),
                )
            }
            SupervisorDecision::SendBack { reasons } | SupervisorDecision::Reject { reasons }
                if reasons.trim().is_empty() =>
            {
                return Err(DomainError::Missing {
                    rule: "FR-12",
                    missing: vec!["reasons"],
                });
            }
            SupervisorDecision::SendBack { reasons } => {
                (FrState::SentBack, "FR-12", format!("sent back: {reasons}"))
            }
            SupervisorDecision::Reject { reasons } => (
                FrState::Negative,
                "FR-13",
                format!("not approved: {reasons}"),
            ),
        };
        next.supervisor_decisions.push((actor.user, decision, now));
        Ok(next.moved(to, actor.user, now, rule, note))
    }

    /// What the requester may see (FR-15): never the pool or scores; the proposed candidate
    /// only while it awaits their background check, marked unapproved; then the outcome.
    pub fn requester_view(&self) -> RequesterView {
        let (proposed_unapproved, outcome) = match self.state {
            FrState::Identification
            | FrState::BackgroundCheck
            | FrState::PeerReview
            | FrState::SupervisorReview => (self.proposed_candidate().map(str::to_string), None),
            FrState::ApprovedPossibleMatch => (None, Some(FrOutcome::PossibleMatch)),
            FrState::Negative => (None, Some(FrOutcome::Negative)),
            _ => (None, None),
        };
        RequesterView {
            id: self.id,
            case_number: self.case_number.clone(),
            state: self.state,
            proposed_candidate_unapproved: proposed_unapproved,
            outcome,
            possible_match: match self.state {
                FrState::ApprovedPossibleMatch => self.proposed_candidate().map(str::to_string),
                _ => None,
            },
        }
    }
}

text_enum! {
    /// The only outcomes the requester sees (FR-13, FR-14).
    pub enum FrOutcome: "FR outcome" {
        PossibleMatch = "possible_match",
        Negative = "negative",
    }
}

/// What the requesting investigator may see of a request (FR-15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequesterView {
    pub id: FrRequestId,
    pub case_number: CaseNumber,
    pub state: FrState,
    /// FR-10: the one proposed candidate, not yet approved, for the background check.
    pub proposed_candidate_unapproved: Option<String>,
    pub outcome: Option<FrOutcome>,
    /// FR-14: the approved possible match, a lead only.
    pub possible_match: Option<String>,
}

/// The key recorded as a request's basis when it rests on a use not foreseen by policy (FR-19).
pub const UNFORESEEN_USE_KEY: &str = "unforeseen_use";

/// One official's approval under `rule` (FR-18, FR-19), added to `approvals` by the caller: the
/// actor must hold one of the three offices, give a reason, and be neither a person nor an office
/// already on record.
fn official_approval(
    rule: &'static str,
    approvals: &[OfficialApproval],
    actor: &Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<OfficialApproval, DomainError> {
    let Some(role) = THREE_OFFICIALS
        .iter()
        .copied()
        .find(|r| actor.roles.contains(r))
    else {
        return Err(DomainError::refused(
            rule,
            "only the Chief of Department, the Chief of Detectives or the Deputy Commissioner of \
             Intelligence and Counterterrorism decide here",
        ));
    };
    if reason.trim().is_empty() {
        return Err(DomainError::Missing {
            rule,
            missing: vec!["articulable reason"],
        });
    }
    if approvals.iter().any(|a| a.by == actor.user) {
        return Err(DomainError::refused(
            rule,
            "this person already approved; three distinct people must approve",
        ));
    }
    if approvals.iter().any(|a| a.role == role) {
        return Err(DomainError::refused(
            rule,
            format!("the {role} approval is already recorded"),
        ));
    }
    Ok(OfficialApproval {
        role,
        by: actor.user,
        reason: reason.trim().to_string(),
        at: now,
    })
}

/// FR-18, FR-19: the Chief of Department, the Chief of Detectives and the Deputy Commissioner
/// of Intelligence and Counterterrorism, three distinct people, each with a reason.
pub fn check_three_officials(
    rule: &'static str,
    approvals: &[OfficialApproval],
) -> Result<(), DomainError> {
    let mut missing = Vec::new();
    for role in THREE_OFFICIALS {
        match approvals.iter().find(|a| a.role == role) {
            Some(a) if !a.reason.trim().is_empty() => {}
            Some(_) => missing.push("articulable reason"),
            None => missing.push(role.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(DomainError::Missing { rule, missing });
    }
    let people: BTreeSet<UserId> = approvals.iter().map(|a| a.by).collect();
    if people.len() < THREE_OFFICIALS.len() {
        return Err(DomainError::refused(
            rule,
            "the three approvals must come from three distinct people",
        ));
    }
    Ok(())
}

/// A use of facial recognition not foreseen by policy (FR-19): it proceeds only on the decision
/// of the three officials, and is then recorded as a policy-pack addendum (OVR-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnforeseenUse {
    pub description: String,
    pub case_id: CaseId,
    pub approvals: Vec<OfficialApproval>,
    /// The addendum to the facial recognition policy that records this use (OVR-04), once one
    /// is in force.
    #[serde(default)]
    pub addendum: Option<PolicyAddendum>,
}

/// A policy-pack addendum in force that records a new use (OVR-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyAddendum {
    /// The pack revision's id.
    pub revision: String,
    pub pack: String,
    pub version: String,
}

impl UnforeseenUse {
    /// FR-19: the use is described and the three officials approved it.
    pub fn check_officials(&self) -> Result<(), DomainError> {
        if self.description.trim().is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-19",
                missing: vec!["description of the use"],
            });
        }
        check_three_officials("FR-19", &self.approvals)
    }

    /// FR-19 and OVR-04: approved by the three officials, and recorded as an addendum to the
    /// policy before it proceeds.
    pub fn check(&self) -> Result<(), DomainError> {
        self.check_officials()?;
        if self.addendum.is_none() {
            return Err(DomainError::refused(
                "OVR-04",
                "the three officials approved this use, but it is not foreseen by the policy: \
                 it proceeds only once an addendum recording it is in force (the Agency Privacy \
                 Officer records it; the policy owner approves it)",
            ));
        }
        Ok(())
    }
}

/// A request from an outside law enforcement agency (FR-20): documented, tied to an active
/// criminal investigation, and run by Department staff through the same workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalAgencyRequest {
    pub agency: String,
    pub contact: String,
    pub investigation_reference: String,
    pub active_criminal_investigation: bool,
    pub documented_by: UserId,
    pub received_at: DateTime<Utc>,
    /// What the agency wants the search for; required, and never civil immigration
    /// enforcement (EXT-02), whatever else the request says.
    #[serde(default)]
    pub purpose: Option<crate::bases::DisclosurePurpose>,
}

impl ExternalAgencyRequest {
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(p) = self.purpose {
            p.check_not_immigration()?;
        }
        let mut missing = Vec::new();
        if self.purpose.is_none() {
            missing.push("purpose");
        }
        if self.agency.trim().is_empty() {
            missing.push("agency");
        }
        if self.contact.trim().is_empty() {
            missing.push("contact");
        }
        if self.investigation_reference.trim().is_empty() {
            missing.push("active investigation reference");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "FR-20",
                missing,
            });
        }
        if !self.active_criminal_investigation {
            return Err(DomainError::refused(
                "FR-20",
                "an outside agency's request must be tied to an active criminal investigation",
            ));
        }
        Ok(())
    }
}

/// The notice every possible match report carries (FR-14).
pub const POSSIBLE_MATCH_NOTICE: &str = "The determination of a possible match candidate alone does not constitute probable cause to effect an arrest or obtain an arrest or search warrant; further investigation is needed to establish probable cause.";

/// FR-15: a possible match may be recorded as a basis for arrest only on an approved request
/// of the case and with corroborating evidence recorded by the case's assigned investigator.
/// `corroborating_evidence_by` lists who recorded each corroborating evidence entry.
pub fn check_arrest_basis(
    request: &FrRequest,
    case: &Case,
    corroborating_evidence_by: &[UserId],
) -> Result<(), DomainError> {
    if request.case_id != case.id {
        return Err(DomainError::refused(
            "FR-15",
            "the request belongs to another case",
        ));
    }
    if request.state != FrState::ApprovedPossibleMatch {
        return Err(DomainError::refused(
            "FR-15",
            format!(
                "the request is {}; only an approved possible match is a lead at all",
                request.state
            ),
        ));
    }
    let Some(assigned) = case.assigned_investigator else {
        return Err(DomainError::refused(
            "FR-15",
            "the case has no assigned investigator",
        ));
    };
    if !corroborating_evidence_by.contains(&assigned) {
        return Err(DomainError::refused(
            "FR-15",
            "a possible match is a lead only: record corroborating evidence by the assigned investigator first",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::OffenceClassification;
    use crate::people::CommandCode;
    use chrono::TimeZone;

    fn t(m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 10, m, 0).single().unwrap()
    }
    fn actor(roles: &[Role]) -> Actor {
        Actor {
            user: UserId::new(),
            roles: roles.iter().copied().collect(),
        }
    }
    fn sha(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }
    fn still(n: u8) -> ProbeStill {
        ProbeStill {
            image_ref: format!("upload-{n}"),
            sha256: sha(n),
            media_type: "image/jpeg".into(),
            source: StillSource::Cctv,
            body_worn_justification: None,
        }
    }
    fn comparison(candidate: &str, judgement: Judgement) -> CandidateComparison {
        CandidateComparison {
            candidate: candidate.into(),
            features: FacialFeature::ALL
                .iter()
                .map(|f| (*f, (FeatureFinding::Similar, String::new())))
                .collect(),
            judgement,
        }
    }

    struct World {
        case: Case,
        requester: Actor,
        fri: Actor,
        peer: Actor,
        sup: Actor,
    }

    fn world() -> World {
        let requester = actor(&[Role::Investigator]);
        let case = Case::open(
            CaseNumber::parse("2026-019-004512").unwrap(),
            OffenceClassification::OtherFelony,
            CommandCode::parse("PCT-019").unwrap(),
            Some(requester.user),
            false,
            t(0),
        );
        World {
            case,
            requester,
            fri: actor(&[Role::FrInvestigator]),
            peer: actor(&[Role::FrInvestigator]),
            sup: actor(&[Role::FrSupervisor]),
        }
    }

    fn submitted(w: &World) -> FrRequest {
        FrRequest::draft(&w.case, &w.requester, t(1))
            .and_then(|r| r.set_authorized_use(&w.requester, "suspect"))
            .and_then(|r| r.add_probe(&w.requester, still(1)))
            .and_then(|r| r.submit(&w.requester, t(2)))
            .unwrap()
    }

    fn searched(w: &World) -> FrRequest {
        submitted(w)
            .confirm_basis(&w.fri, t(3))
            .and_then(|r| {
                r.assess_quality(
                    &w.fri,
                    QualityVerdict {
                        selected_probe: 0,
                        suitable: true,
                        reasons: vec!["face 180 px, sharp".into()],
                    },
                    t(4),
                )
            })
            .and_then(|r| r.record_edit(&w.fri, ProbeEditOp::Crop, &sha(1), &sha(9), t(5)))
            .and_then(|r| {
                r.acknowledge_supervisor_discussion(&w.sup, "suspect in robbery, use 1", t(6))
            })
            .and_then(|r| {
                r.record_search(
                    &w.fri,
                    SearchRecord {
                        algorithm_version: "dlib-resnet-1.0".into(),
                        candidates: vec!["rec-1".into(), "rec-2".into()],
                        outside_repository: false,
                        probe_quality: None,
                    },
                    t(7),
                )
            })
            .unwrap()
    }

    fn peer_reviewed(w: &World) -> FrRequest {
        searched(w)
            .record_identification(
                &w.fri,
                vec![
                    comparison("rec-1", Judgement::Proposed),
                    comparison("rec-2", Judgement::Excluded),
                ],
                t(8),
            )
            .and_then(|r| {
                r.record_background_check(
                    &w.requester,
                    "address and prior history match",
                    true,
                    t(9),
                )
            })
            .and_then(|r| r.record_peer_review(&w.peer, true, "concur on ears and scar", t(10)))
            .unwrap()
    }

    #[test]
    fn fr_full_workflow_to_possible_match() {
        let w = world();
        let r = peer_reviewed(&w)
            .begin_supervisor_review(&w.sup, t(11))
            .and_then(|r| r.decide_supervisor_review(&w.sup, SupervisorDecision::Approve, t(12)))
            .unwrap();
        assert_eq!(r.state, FrState::ApprovedPossibleMatch);
        let v = r.requester_view();
        assert_eq!(v.outcome, Some(FrOutcome::PossibleMatch));
        assert_eq!(v.possible_match.as_deref(), Some("rec-1"));
        let states: Vec<FrState> = r.history.iter().map(|h| h.to).collect();
        assert_eq!(
            states,
            [
                FrState::Draft,
                FrState::Submitted,
                FrState::BasisConfirmed,
                FrState::QualityChecked,
                FrState::SupervisorDiscussionAcknowledged,
                FrState::Searched,
                FrState::Identification,
                FrState::BackgroundCheck,
                FrState::PeerReview,
                FrState::SupervisorReview,
                FrState::ApprovedPossibleMatch,
            ]
        );
        assert!(FrState::ALL
            .iter()
            .all(|s| s.as_str().parse::<FrState>().unwrap() == *s));
    }

    #[test]
    fn fr_04_missing_parts_listed() {
        let w = world();
        let d = FrRequest::draft(&w.case, &w.requester, t(1)).unwrap();
        let e = d.submit(&w.requester, t(2)).unwrap_err();
        assert_eq!(e.to_string(), "FR-04: missing authorized use, probe image");
        let other = actor(&[Role::Investigator]);
        assert_eq!(
            FrRequest::draft(&w.case, &other, t(1)).unwrap_err().rule(),
            Some("FR-04")
        );
    }

    #[test]
    fn fr_05_use_outside_closed_list_refused() {
        let w = world();
        let d = FrRequest::draft(&w.case, &w.requester, t(1)).unwrap();
        assert_eq!(
            d.set_authorized_use(&w.requester, "open_warrant_sweep")
                .unwrap_err()
                .rule(),
            Some("FR-05")
        );
    }

    #[test]
    fn fr_16_body_worn_still_needs_justification() {
        let w = world();
        let d = FrRequest::draft(&w.case, &w.requester, t(1)).unwrap();
        let mut s = still(2);
        s.source = StillSource::BodyWornCamera;
        assert_eq!(
            d.add_probe(&w.requester, s.clone()).unwrap_err().rule(),
            Some("FR-16")
        );
        s.body_worn_justification = Some(BodyWornJustification {
            officer_witnessed_crime: true,
            unable_to_apprehend: true,
            narrative: "robbery witnessed, suspect fled into subway".into(),
        });
        assert!(d.add_probe(&w.requester, s).is_ok());
    }

    #[test]
    fn fr_17_no_video_and_bounded_stills() {
        let w = world();
        let mut d = FrRequest::draft(&w.case, &w.requester, t(1)).unwrap();
        let mut v = still(1);
        v.media_type = "video/mp4".into();
        assert_eq!(
            d.add_probe(&w.requester, v).unwrap_err().rule(),
            Some("FR-17")
        );
        for n in 0..MAX_PROBES {
            d = d.add_probe(&w.requester, still(n as u8 + 10)).unwrap();
        }
        assert_eq!(
            d.add_probe(&w.requester, still(99)).unwrap_err().rule(),
            Some("FR-17")
        );
    }

    #[test]
    fn fr_06_unsuitable_returns_to_requester_who_adds_stills() {
        let w = world();
        let r = submitted(&w)
            .confirm_basis(&w.fri, t(3))
            .and_then(|r| {
                r.assess_quality(
                    &w.fri,
                    QualityVerdict {
                        selected_probe: 0,
                        suitable: false,
                        reasons: vec!["face 20 px".into()],
                    },
                    t(4),
                )
            })
            .unwrap();
        assert_eq!(r.state, FrState::ReturnedUnsuitable);
        let r = r
            .add_probe(&w.requester, still(2))
            .and_then(|r| r.submit(&w.requester, t(5)))
            .unwrap();
        assert_eq!(r.state, FrState::Submitted);
        assert_eq!(r.probes.len(), 2);
    }

    #[test]
    fn fr_22_no_search_before_supervisor_discussion() {
        let w = world();
        let r = submitted(&w)
            .confirm_basis(&w.fri, t(3))
            .and_then(|r| {
                r.assess_quality(
                    &w.fri,
                    QualityVerdict {
                        selected_probe: 0,
                        suitable: true,
                        reasons: vec!["ok".into()],
                    },
                    t(4),
                )
            })
            .unwrap();
        let s = SearchRecord {
            algorithm_version: "v1".into(),
            candidates: vec![],
            outside_repository: false,
            probe_quality: None,
        };
        assert_eq!(
            r.record_search(&w.fri, s, t(5)).unwrap_err().rule(),
            Some("FR-22")
        );
    }

    #[test]
    fn fr_07_edits_chain_from_the_original() {
        let w = world();
        let r = submitted(&w)
            .confirm_basis(&w.fri, t(3))
            .and_then(|r| {
                r.assess_quality(
                    &w.fri,
                    QualityVerdict {
                        selected_probe: 0,
                        suitable: true,
                        reasons: vec!["ok".into()],
                    },
                    t(4),
                )
            })
            .unwrap();
        assert_eq!(
            r.record_edit(&w.fri, ProbeEditOp::Rotate, &sha(7), &sha(8), t(5))
                .unwrap_err()
                .rule(),
            Some("FR-07")
        );
        assert!("enhance".parse::<ProbeEditOp>().is_err());
    }

    #[test]
    fn fr_11_identifier_never_peer_reviews() {
        let w = world();
        let r = searched(&w)
            .record_identification(&w.fri, vec![comparison("rec-1", Judgement::Proposed)], t(8))
            .and_then(|r| r.record_background_check(&w.requester, "matches", true, t(9)))
            .unwrap();
        let e = r
            .record_peer_review(&w.fri, true, "self review", t(10))
            .unwrap_err();
        assert_eq!(e.rule(), Some("FR-11"));
        assert!(e.to_string().contains("separation of duties"));
    }

    #[test]
    fn fr_12_supervisor_cannot_also_be_peer_reviewer_or_requester() {
        let w = world();
        let both = Actor {
            user: w.peer.user,
            roles: [Role::FrSupervisor].into(),
        };
        let r = peer_reviewed(&w);
        assert_eq!(
            r.begin_supervisor_review(&both, t(11)).unwrap_err().rule(),
            Some("FR-12")
        );
        // The requester holding a supervisor role elsewhere still cannot review their own request.
        let req_sup = Actor {
            user: w.requester.user,
            roles: [Role::FrSupervisor, Role::Investigator].into(),
        };
        assert_eq!(
            r.begin_supervisor_review(&req_sup, t(11))
                .unwrap_err()
                .rule(),
            Some("FR-12")
        );
    }

    #[test]
    fn fr_12_replayed_approval_refused() {
        let w = world();
        let r = peer_reviewed(&w)
            .begin_supervisor_review(&w.sup, t(11))
            .and_then(|r| r.decide_supervisor_review(&w.sup, SupervisorDecision::Approve, t(12)))
            .unwrap();
        let e = r
            .decide_supervisor_review(&w.sup, SupervisorDecision::Approve, t(13))
            .unwrap_err();
        assert_eq!(e.rule(), Some("FR-12"));
    }

    #[test]
    fn fr_12_send_back_then_new_identification() {
        let w = world();
        let r = peer_reviewed(&w)
            .begin_supervisor_review(&w.sup, t(11))
            .and_then(|r| {
                r.decide_supervisor_review(
                    &w.sup,
                    SupervisorDecision::SendBack {
                        reasons: "ear shape differs".into(),
                    },
                    t(12),
                )
            })
            .unwrap();
        assert_eq!(r.state, FrState::SentBack);
        assert!(r.peer_reviews.len() == 1);
        let r = r
            .record_identification(
                &w.fri,
                vec![comparison("rec-2", Judgement::Inconclusive)],
                t(13),
            )
            .unwrap();
        assert_eq!(r.state, FrState::Negative);
        assert_eq!(r.requester_view().outcome, Some(FrOutcome::Negative));
    }

    #[test]
    fn fr_09_every_feature_recorded() {
        let w = world();
        let mut c = comparison("rec-1", Judgement::Proposed);
        c.features.remove(&FacialFeature::Tattoos);
        c.features.remove(&FacialFeature::Ears);
        let e = searched(&w)
            .record_identification(&w.fri, vec![c], t(8))
            .unwrap_err();
        assert_eq!(e.to_string(), "FR-09: missing ears, tattoos");
        let e = searched(&w)
            .record_identification(
                &w.fri,
                vec![comparison("rec-99", Judgement::Proposed)],
                t(8),
            )
            .unwrap_err();
        assert_eq!(e.rule(), Some("FR-09"));
    }

    #[test]
    fn fr_10_only_requester_records_background_check_and_sees_only_proposed() {
        let w = world();
        let r = searched(&w)
            .record_identification(
                &w.fri,
                vec![
                    comparison("rec-1", Judgement::Proposed),
                    comparison("rec-2", Judgement::Excluded),
                ],
                t(8),
            )
            .unwrap();
        let v = r.requester_view();
        assert_eq!(v.proposed_candidate_unapproved.as_deref(), Some("rec-1"));
        assert_eq!(v.possible_match, None);
        assert_eq!(
            r.record_background_check(&w.peer, "x", true, t(9))
                .unwrap_err()
                .rule(),
            Some("FR-10")
        );
        // Skipped step: peer review before the background check.
        assert_eq!(
            r.record_peer_review(&w.peer, true, "ok", t(9))
                .unwrap_err()
                .rule(),
            Some("FR-11")
        );
    }

    #[test]
    fn fr_13_no_candidate_proposed_is_negative() {
        let w = world();
        let r = searched(&w)
            .record_identification(&w.fri, vec![comparison("rec-1", Judgement::Excluded)], t(8))
            .unwrap();
        assert_eq!(r.state, FrState::Negative);
    }

    #[test]
    fn fr_18_three_distinct_officials_for_outside_repository() {
        let w = world();
        let base = searched(&w);
        // Rebuild up to the search step and try an outside comparison.
        let pre = FrRequest {
            state: FrState::SupervisorDiscussionAcknowledged,
            search: None,
            ..base.clone()
        };
        let outside = SearchRecord {
            algorithm_version: "v1".into(),
            candidates: vec!["x".into()],
            outside_repository: true,
            probe_quality: None,
        };
        assert_eq!(
            pre.record_search(&w.fri, outside.clone(), t(9))
                .unwrap_err()
                .rule(),
            Some("FR-18")
        );
        let cod = actor(&[Role::ChiefOfDepartment]);
        let chd = actor(&[Role::ChiefOfDetectives]);
        let dci = actor(&[Role::DeputyCommissionerIntelligence]);
        let r = pre
            .approve_outside_repository(&cod, "kidnapping, only image is from a public post", t(9))
            .unwrap();
        assert_eq!(
            r.approve_outside_repository(&cod, "again", t(10))
                .unwrap_err()
                .rule(),
            Some("FR-18")
        );
        let other_cod = actor(&[Role::ChiefOfDepartment]);
        assert_eq!(
            r.approve_outside_repository(&other_cod, "me too", t(10))
                .unwrap_err()
                .rule(),
            Some("FR-18")
        );
        assert_eq!(
            r.approve_outside_repository(&w.fri, "x", t(10))
                .unwrap_err()
                .rule(),
            Some("FR-18")
        );
        let r = r
            .approve_outside_repository(&chd, "agree", t(10))
            .and_then(|r| r.approve_outside_repository(&dci, "agree", t(11)))
            .unwrap();
        assert!(r.outside_repository_approved());
        assert_eq!(
            r.record_search(&w.fri, outside, t(12)).unwrap().state,
            FrState::Searched
        );
    }

    #[test]
    fn fr_15_arrest_basis_needs_approval_and_corroboration() {
        let w = world();
        let pending = peer_reviewed(&w);
        assert_eq!(
            check_arrest_basis(&pending, &w.case, &[w.requester.user])
                .unwrap_err()
                .rule(),
            Some("FR-15")
        );
        let approved = pending
            .begin_supervisor_review(&w.sup, t(11))
            .and_then(|r| r.decide_supervisor_review(&w.sup, SupervisorDecision::Approve, t(12)))
            .unwrap();
        assert_eq!(
            check_arrest_basis(&approved, &w.case, &[])
                .unwrap_err()
                .rule(),
            Some("FR-15")
        );
        assert_eq!(
            check_arrest_basis(&approved, &w.case, &[w.peer.user])
                .unwrap_err()
                .rule(),
            Some("FR-15")
        );
        assert!(check_arrest_basis(&approved, &w.case, &[w.requester.user]).is_ok());
    }

    #[test]
    fn fr_19_unforeseen_use_needs_three_distinct_officials() {
        let case = CaseId::new();
        let one = UserId::new();
        let approval = |role, by| OfficialApproval {
            role,
            by,
            reason: "hostage".into(),
            at: t(1),
        };
        let mut u = UnforeseenUse {
            addendum: None,
            description: "compare against a hostage-taker's posted video still".into(),
            case_id: case,
            approvals: vec![
                approval(Role::ChiefOfDepartment, one),
                approval(Role::ChiefOfDetectives, UserId::new()),
            ],
        };
        let e = u.check().unwrap_err();
        assert_eq!(
            e.to_string(),
            "FR-19: missing deputy_commissioner_intelligence"
        );
        u.approvals
            .push(approval(Role::DeputyCommissionerIntelligence, one));
        assert!(u
            .check()
            .unwrap_err()
            .to_string()
            .contains("three distinct people"));
        u.approvals[2].by = UserId::new();
        assert!(u.check_officials().is_ok());
        // OVR-04: approved, but not yet recorded as an addendum to the policy.
        assert_eq!(u.check().unwrap_err().rule(), Some("OVR-04"));
        u.addendum = Some(PolicyAddendum {
            revision: "rev-1".into(),
            pack: "facial-recognition".into(),
            version: "2026.12.05".into(),
        });
        assert!(u.check().is_ok());
    }

    #[test]
    fn fr_19_unforeseen_use_blocks_the_basis_until_three_officials_decide() {
        let w = world();
        let draft = FrRequest::draft(&w.case, &w.requester, t(1)).unwrap();
        // One basis only: a listed use and an unforeseen use cannot both be cited.
        let listed = draft.set_authorized_use(&w.requester, "suspect").unwrap();
        assert_eq!(
            listed
                .set_unforeseen_use(&w.requester, "compare a hostage video still")
                .unwrap_err()
                .rule(),
            Some("FR-05")
        );
        assert_eq!(
            draft
                .set_unforeseen_use(&w.requester, "  ")
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
        assert_eq!(
            draft
                .set_unforeseen_use(&w.fri, "compare a hostage video still")
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
        let req = draft
            .set_unforeseen_use(&w.requester, "compare a hostage video still")
            .and_then(|r| r.add_probe(&w.requester, still(1)))
            .and_then(|r| r.submit(&w.requester, t(2)))
            .unwrap();
        assert_eq!(req.basis_key(), Some(UNFORESEEN_USE_KEY));
        // No basis, so no search, before the decision.
        let e = req.confirm_basis(&w.fri, t(3)).unwrap_err();
        assert_eq!(e.rule(), Some("FR-19"));
        assert!(e.to_string().contains("chief_of_department"), "{e}");
        // Only the three offices decide, each once, three distinct people.
        assert_eq!(
            req.approve_unforeseen_use(&w.sup, "urgent", t(3))
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
        let cod = actor(&[Role::ChiefOfDepartment]);
        let both = Actor {
            user: cod.user,
            roles: [Role::ChiefOfDetectives].into(),
        };
        let r = req
            .approve_unforeseen_use(&cod, "hostage taking in progress", t(3))
            .unwrap();
        assert_eq!(
            r.approve_unforeseen_use(&both, "same person again", t(3))
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
        assert_eq!(
            r.approve_unforeseen_use(&actor(&[Role::ChiefOfDetectives]), "", t(3))
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
        let r = r
            .approve_unforeseen_use(&actor(&[Role::ChiefOfDetectives]), "life at risk", t(3))
            .unwrap();
        assert_eq!(
            r.confirm_basis(&w.fri, t(4)).unwrap_err().rule(),
            Some("FR-19")
        );
        let r = r
            .approve_unforeseen_use(
                &actor(&[Role::DeputyCommissionerIntelligence]),
                "no other lead",
                t(4),
            )
            .unwrap();
        // OVR-04: the three officials decided, but the use proceeds only with its addendum.
        assert_eq!(
            r.confirm_basis(&w.fri, t(5)).unwrap_err().rule(),
            Some("OVR-04")
        );
        let mut r = r;
        if let Some(u) = r.unforeseen_use.as_mut() {
            u.addendum = Some(PolicyAddendum {
                revision: "rev-1".into(),
                pack: "facial-recognition".into(),
                version: "2026.12.05".into(),
            });
        }
        let confirmed = r.confirm_basis(&w.fri, t(5)).unwrap();
        assert_eq!(confirmed.state, FrState::BasisConfirmed);
        assert!(confirmed
            .basis_wording()
            .unwrap()
            .contains("approved by the Chief of Department"));
        // A listed-use request has nothing to decide on.
        assert_eq!(
            submitted(&w)
                .approve_unforeseen_use(&cod, "x", t(3))
                .unwrap_err()
                .rule(),
            Some("FR-19")
        );
    }

    #[test]
    fn fr_20_external_request_documented_and_active() {
        let r = ExternalAgencyRequest {
            agency: "Example County Sheriff".into(),
            contact: "".into(),
            investigation_reference: "ECS-2026-44".into(),
            active_criminal_investigation: true,
            documented_by: UserId::new(),
            received_at: t(1),
            purpose: Some(crate::bases::DisclosurePurpose::CriminalInvestigation),
        };
        assert_eq!(
            r.validate().unwrap_err().to_string(),
            "FR-20: missing contact"
        );
        // EXT-02 first, whatever else is missing.
        let immigration = ExternalAgencyRequest {
            purpose: Some(crate::bases::DisclosurePurpose::ImmigrationEnforcement),
            ..r.clone()
        };
        assert_eq!(immigration.validate().unwrap_err().rule(), Some("EXT-02"));
        let r = ExternalAgencyRequest {
            contact: "Det. C, 555-0100".into(),
            active_criminal_investigation: false,
            ..r
        };
        assert_eq!(r.validate().unwrap_err().rule(), Some("FR-20"));
        assert!(ExternalAgencyRequest {
            active_criminal_investigation: true,
            ..r
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn fr_21_wrong_role_refused() {
        let w = world();
        let r = submitted(&w);
        let e = r.confirm_basis(&w.requester, t(3)).unwrap_err();
        assert_eq!(e.rule(), Some("FR-05"));
        assert!(e.to_string().contains("fr_investigator role"));
        // Another FR investigator cannot take over a request already being worked.
        let r = r.confirm_basis(&w.fri, t(3)).unwrap();
        let e = r
            .assess_quality(
                &w.peer,
                QualityVerdict {
                    selected_probe: 0,
                    suitable: true,
                    reasons: vec!["ok".into()],
                },
                t(4),
            )
            .unwrap_err();
        assert_eq!(e.rule(), Some("FR-06"));
    }
}
