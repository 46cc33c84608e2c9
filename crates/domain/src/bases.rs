//! Closed lists and legal bases: FR authorized uses (FR-05), DC purposes (DC-01), capture bases
//! (DC-02), disclosures (EXT-01..EXT-04, EXT-07) and thermal deployment authorizations (TH-05).
//!
//! Each validation returns an error naming the rule, listing every missing part at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::fr_request::PolicyAddendum;
use crate::ids::UserId;
use crate::macros::text_enum;
use crate::DomainError;

text_enum! {
    /// The authorized uses of facial recognition, a closed list (FR-05).
    pub enum FrAuthorizedUse: "authorized use" {
        Suspect = "suspect",
        MissingPersonVictimOrWitness = "missing_person_victim_or_witness",
        DeceasedPerson = "deceased_person",
        IncapacitatedPerson = "incapacitated_person",
        ArresteeWithoutValidIdentification = "arrestee_without_valid_identification",
        ImminentThreat = "imminent_threat",
    }
}

impl FrAuthorizedUse {
    /// Number of the use in the policy's list (1..6).
    pub fn number(self) -> u8 {
        match self {
            FrAuthorizedUse::Suspect => 1,
            FrAuthorizedUse::MissingPersonVictimOrWitness => 2,
            FrAuthorizedUse::DeceasedPerson => 3,
            FrAuthorizedUse::IncapacitatedPerson => 4,
            FrAuthorizedUse::ArresteeWithoutValidIdentification => 5,
            FrAuthorizedUse::ImminentThreat => 6,
        }
    }

    /// The exact wording of the Facial Recognition Impact and Use Policy (2026-02-04).
    pub fn wording(self) -> &'static str {
        match self {
            FrAuthorizedUse::Suspect => "To identify an individual when there is a basis to believe that such individual has committed, is committing, or is about to commit a crime;",
            FrAuthorizedUse::MissingPersonVictimOrWitness => "To identify an individual when there is a basis to believe that such individual is a missing person, crime victim, or witness to criminal activity;",
            FrAuthorizedUse::DeceasedPerson => "To identify a deceased person;",
            FrAuthorizedUse::IncapacitatedPerson => "To identify a person who is incapacitated or otherwise unable to identify themselves;",
            FrAuthorizedUse::ArresteeWithoutValidIdentification => "To identify an individual who is under arrest and does not possess valid identification, is not forthcoming with valid identification, who appears to be using someone else's identification, or a false identification; or",
            FrAuthorizedUse::ImminentThreat => "To mitigate an imminent threat to health or public safety (e.g., to thwart an active terrorism scheme or plot).",
        }
    }

    /// Parses a requested use; anything outside the closed list is refused under FR-05 (a use
    /// not foreseen by policy goes to the three officials, FR-19).
    pub fn parse_requested(s: &str) -> Result<Self, DomainError> {
        s.parse().map_err(|_| {
            DomainError::refused(
                "FR-05",
                format!(
                    "'{s}' is not an authorized use; choose one of: {} (a use not foreseen by \
                     policy needs the FR-19 decision of the Chief of Department, the Chief of \
                     Detectives and the Deputy Commissioner of Intelligence and Counterterrorism)",
                    Self::ALL
                        .iter()
                        .map(|u| u.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
    }
}

text_enum! {
    /// Purpose of a digital camera image (DC-01).
    pub enum DcPurpose: "image purpose" {
        CrimeScene = "crime_scene",
        EvidenceLocation = "evidence_location",
        VictimInjuries = "victim_injuries",
        PropertyDamage = "property_damage",
        LineUpIdentification = "line_up_identification",
        PersonnelIdentification = "personnel_identification",
        Training = "training",
        CommunityEvent = "community_event",
        ArrestPhotograph = "arrest_photograph",
        OtherOfficialBusiness = "other_official_business",
    }
}

/// A use a policy does not list: its code (for example `drone_mapping`), and the addendum that
/// records it once one is in force (OVR-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUse {
    pub code: String,
    pub addendum: Option<PolicyAddendum>,
}

impl NewUse {
    /// A new use's code: 3 to 64 lowercase letters, digits and underscores, starting with a letter.
    pub fn parse_code(field: &'static str, text: &str) -> Result<String, DomainError> {
        let t = text.trim();
        let ok = (3..=64).contains(&t.len())
            && t.starts_with(|c: char| c.is_ascii_lowercase())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(t.to_string())
        } else {
            Err(DomainError::invalid(
                field,
                format!(
                    "'{t}' is neither a use the policy lists nor a new use's code (3 to 64 \
                     lowercase letters, digits and underscores)"
                ),
            ))
        }
    }

    /// OVR-04: a new use proceeds only once an addendum recording it is in force.
    pub fn check(&self, what: &str, pack: &str) -> Result<(), DomainError> {
        if self.addendum.is_none() {
            return Err(DomainError::refused(
                "OVR-04",
                format!(
                    "{what} '{}' is not one the {pack} policy lists: a new use of the technology \
                     proceeds only once an addendum recording it is in force (recorded by the \
                     Agency Privacy Officer, approved by the policy owner)",
                    self.code
                ),
            ));
        }
        Ok(())
    }
}

/// A use of a technology: one its policy lists, or a new one recorded by an addendum (OVR-04).
/// Serialised as the listed use's name, or as the new use's object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum UseOf<T> {
    Listed(T),
    New(NewUse),
}

impl<T: Copy + std::str::FromStr + Into<&'static str>> UseOf<T> {
    /// A listed use by name, or else a new use's code (its addendum still to be found).
    pub fn parse(field: &'static str, text: &str) -> Result<UseOf<T>, DomainError> {
        match T::from_str(text.trim()) {
            Ok(t) => Ok(UseOf::Listed(t)),
            Err(_) => Ok(UseOf::New(NewUse {
                code: NewUse::parse_code(field, text)?,
                addendum: None,
            })),
        }
    }

    /// The name or code, as stored.
    pub fn as_str(&self) -> &str {
        match self {
            UseOf::Listed(t) => (*t).into(),
            UseOf::New(n) => &n.code,
        }
    }

    /// The listed use, if it is one.
    pub fn listed(&self) -> Option<T> {
        match self {
            UseOf::Listed(t) => Some(*t),
            UseOf::New(_) => None,
        }
    }
}

/// A recorded purpose: `OtherOfficialBusiness` needs a description; a new purpose needs its
/// addendum (OVR-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PurposeRecord", into = "PurposeRecord")]
pub struct ImagePurpose {
    pub purpose: UseOf<DcPurpose>,
    pub description: Option<String>,
}

/// How an [`ImagePurpose`] is stored: the purpose's name or code, and a new use's addendum.
#[derive(Serialize, Deserialize)]
struct PurposeRecord {
    purpose: String,
    description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    addendum: Option<PolicyAddendum>,
}

impl TryFrom<PurposeRecord> for ImagePurpose {
    type Error = DomainError;
    fn try_from(r: PurposeRecord) -> Result<Self, DomainError> {
        let purpose = match UseOf::<DcPurpose>::parse("purpose", &r.purpose)? {
            UseOf::New(n) => UseOf::New(NewUse {
                addendum: r.addendum,
                ..n
            }),
            listed => listed,
        };
        Ok(ImagePurpose {
            purpose,
            description: r.description,
        })
    }
}

impl From<ImagePurpose> for PurposeRecord {
    fn from(p: ImagePurpose) -> Self {
        let purpose = p.purpose.as_str().to_string();
        let addendum = match p.purpose {
            UseOf::New(n) => n.addendum,
            UseOf::Listed(_) => None,
        };
        PurposeRecord {
            purpose,
            description: p.description,
            addendum,
        }
    }
}

impl ImagePurpose {
    pub fn validate(&self) -> Result<(), DomainError> {
        if let UseOf::New(n) = &self.purpose {
            n.check("the purpose", "digital cameras")?;
        }
        if self.purpose == UseOf::Listed(DcPurpose::OtherOfficialBusiness)
            && self
                .description
                .as_deref()
                .is_none_or(|d| d.trim().is_empty())
        {
            return Err(DomainError::Missing {
                rule: "DC-01",
                missing: vec!["description of the official business"],
            });
        }
        Ok(())
    }
}

text_enum! {
    /// The statutes of DC-02 (c) under which exigency may be found.
    pub enum ExigencyStatute: "exigency statute" {
        /// Criminal Procedure Law 700.05(8).
        Cpl700_05_8 = "cpl_700_05_8",
        /// Penal Law 460.10(1).
        Pl460_10_1 = "pl_460_10_1",
        /// Penal Law 215.57.
        Pl215_57 = "pl_215_57",
        /// Penal Law 215.56.
        Pl215_56 = "pl_215_56",
        /// Penal Law 240.30.
        Pl240_30 = "pl_240_30",
    }
}

/// Warrant details (DC-02 b).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warrant {
    pub number: String,
    pub issuing_judge: String,
    /// The warrant contains a judge's finding of probable cause.
    pub probable_cause_finding: bool,
    /// The warrant explicitly authorizes entry into the location.
    pub entry_authorized: bool,
    /// The prosecutor with jurisdiction who aided in obtaining it.
    pub prosecutor: String,
}

/// The four findings of exigency (DC-02 c). Each must be true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExigencyFindings {
    /// (1) probable cause that a crime under the statute was committed, is in progress or is about to be.
    pub statute: Option<ExigencyStatute>,
    pub probable_cause_of_crime: bool,
    /// (2) an emergency exists as a result of the criminal conduct.
    pub emergency_from_conduct: bool,
    /// (3) an immediate urgent need for assistance due to imminent danger of serious bodily injury or death.
    pub imminent_danger: bool,
    /// (4) the effort aims primarily at preventing serious injury or death, not at arrest or evidence.
    pub aimed_at_preventing_injury: bool,
    /// The possibility of the suspect's flight was cited.
    pub flight_risk_cited: bool,
}

/// The legal basis of a digital camera capture (DC-02).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureBasis {
    /// (a) a location where there is no reasonable expectation of privacy.
    NoReasonableExpectationOfPrivacy,
    /// (b) a warrant.
    Warrant(Warrant),
    /// (c) exigent circumstances with all four findings.
    Exigency(ExigencyFindings),
}

impl CaptureBasis {
    /// The names of the three kinds of basis, as `as_str()` gives them.
    pub const KINDS: &'static [&'static str] = &[
        "no_reasonable_expectation_of_privacy",
        "warrant",
        "exigency",
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CaptureBasis::NoReasonableExpectationOfPrivacy => {
                "no_reasonable_expectation_of_privacy"
            }
            CaptureBasis::Warrant(_) => "warrant",
            CaptureBasis::Exigency(_) => "exigency",
        }
    }

    /// Checks the basis is complete (DC-02). Flight risk alone is never exigency.
    pub fn validate(&self) -> Result<(), DomainError> {
        match self {
            CaptureBasis::NoReasonableExpectationOfPrivacy => Ok(()),
            CaptureBasis::Warrant(w) => {
                let mut missing = Vec::new();
                if w.number.trim().is_empty() {
                    missing.push("warrant number");
                }
                if w.issuing_judge.trim().is_empty() {
                    missing.push("issuing judge");
                }
                if !w.probable_cause_finding {
                    missing.push("judge's finding of probable cause");
                }
                if !w.entry_authorized {
                    missing.push("explicit authorization of entry");
                }
                if w.prosecutor.trim().is_empty() {
                    missing.push("prosecutor");
                }
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(DomainError::Missing {
                        rule: "DC-02",
                        missing,
                    })
                }
            }
            CaptureBasis::Exigency(f) => {
                let mut missing = Vec::new();
                if f.statute.is_none() {
                    missing.push("statute (CPL 700.05(8), PL 460.10(1), 215.57, 215.56 or 240.30)");
                }
                if !f.probable_cause_of_crime {
                    missing.push("finding 1: probable cause of a listed crime");
                }
                if !f.emergency_from_conduct {
                    missing.push("finding 2: emergency caused by the criminal conduct");
                }
                if !f.imminent_danger {
                    missing.push(
                        "finding 3: urgent need due to imminent danger of serious injury or death",
                    );
                }
                if !f.aimed_at_preventing_injury {
                    missing.push(
                        "finding 4: effort aimed at preventing injury, not at arrest or evidence",
                    );
                }
                if missing.is_empty() {
                    Ok(())
                } else if f.flight_risk_cited {
                    Err(DomainError::refused(
                        "DC-02",
                        format!(
                            "the possibility of a suspect's flight does not on its own constitute \
                             exigent circumstances; missing {}",
                            missing.join(", ")
                        ),
                    ))
                } else {
                    Err(DomainError::Missing {
                        rule: "DC-02",
                        missing,
                    })
                }
            }
        }
    }
}

text_enum! {
    /// The seven bases on which identifying information may leave the Department (EXT-03).
    pub enum DisclosureBasis: "disclosure basis" {
        /// (1) written authorization by the person (or parent/guardian), APO written approval.
        WrittenAuthorizationByIndividual = "written_authorization_by_individual",
        /// (2) required by law, APO written approval.
        RequiredByLaw = "required_by_law",
        /// (3) furthers the purpose or mission of the NYPD, APO written approval.
        FurthersMission = "furthers_mission",
        /// (4) pre-approved by the City Chief Privacy Officer as in the best interests of the City.
        ChiefPrivacyOfficerPreApproved = "chief_privacy_officer_pre_approved",
        /// (5) designated as routine by the APO.
        DesignatedRoutine = "designated_routine",
        /// (6) in connection with an investigation of a committed or attempted/impending crime.
        CriminalInvestigation = "criminal_investigation",
        /// (7) an open City-agency investigation of the welfare of a minor or incompetent person.
        WelfareInvestigation = "welfare_investigation",
    }
}

impl DisclosureBasis {
    /// Bases (1)-(3) need the written approval of the Agency Privacy Officer.
    pub fn needs_apo_approval(self) -> bool {
        matches!(
            self,
            DisclosureBasis::WrittenAuthorizationByIndividual
                | DisclosureBasis::RequiredByLaw
                | DisclosureBasis::FurthersMission
        )
    }

    /// Number of the basis in the policy's list (1..7).
    pub fn number(self) -> u8 {
        match self {
            DisclosureBasis::WrittenAuthorizationByIndividual => 1,
            DisclosureBasis::RequiredByLaw => 2,
            DisclosureBasis::FurthersMission => 3,
            DisclosureBasis::ChiefPrivacyOfficerPreApproved => 4,
            DisclosureBasis::DesignatedRoutine => 5,
            DisclosureBasis::CriminalInvestigation => 6,
            DisclosureBasis::WelfareInvestigation => 7,
        }
    }
}

text_enum! {
    /// Who receives a disclosure (EXT-01).
    pub enum RecipientKind: "recipient kind" {
        /// The prosecutor with jurisdiction, under discovery (DC-07).
        Prosecutor = "prosecutor",
        LawEnforcementAgency = "law_enforcement_agency",
        CityAgency = "city_agency",
        OtherGovernmentAgency = "other_government_agency",
        CommunityLeader = "community_leader",
        CivicOrganization = "civic_organization",
        NewsMedia = "news_media",
        /// The person the information is about (or their parent or guardian).
        Individual = "individual",
    }
}

text_enum! {
    /// Why information leaves the Department (EXT-01, EXT-02).
    pub enum DisclosurePurpose: "disclosure purpose" {
        CriminalDiscovery = "criminal_discovery",
        CriminalInvestigation = "criminal_investigation",
        CivilLitigation = "civil_litigation",
        DisciplinaryProceeding = "disciplinary_proceeding",
        FurtherAnInvestigation = "further_an_investigation",
        UnusualIncidentAwareness = "unusual_incident_awareness",
        CommunityConcern = "community_concern",
        WelfareOfMinorOrIncompetent = "welfare_of_minor_or_incompetent",
        RequestedByIndividual = "requested_by_individual",
        /// Always refused (EXT-02, EXT-07).
        ImmigrationEnforcement = "immigration_enforcement",
    }
}

impl DisclosurePurpose {
    /// Refuses immigration enforcement (EXT-02).
    pub fn check_not_immigration(self) -> Result<(), DomainError> {
        if self == DisclosurePurpose::ImmigrationEnforcement {
            Err(DomainError::refused(
                "EXT-02",
                "information is never shared, and no access is given, in furtherance of immigration enforcement",
            ))
        } else {
            Ok(())
        }
    }
}

/// A proposed disclosure, as recorded before release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisclosureRequest {
    pub recipient_kind: RecipientKind,
    pub recipient_name: String,
    pub recipient_affiliation: String,
    /// The requester's identity and affiliation were confirmed (EXT-04), and by whom.
    pub identity_confirmed_by: Option<UserId>,
    pub purpose: DisclosurePurpose,
    /// Whether the material contains identifying information (EXT-03 applies).
    pub identifying_information: bool,
    pub basis: Option<DisclosureBasis>,
    /// Written approval of the Agency Privacy Officer (EXT-03 bases 1-3).
    pub apo_approval_by: Option<UserId>,
    /// Written authorization of the person or their parent/guardian (basis 1).
    pub individual_authorization_reference: Option<String>,
    /// City Chief Privacy Officer pre-approval reference (basis 4).
    pub cpo_pre_approval_reference: Option<String>,
    /// APO designation of this disclosure class as routine (basis 5).
    pub routine_designation_reference: Option<String>,
    /// Investigation reference (bases 6 and 7).
    pub investigation_reference: Option<String>,
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|t| t.trim().is_empty())
}

impl DisclosureRequest {
    /// Validates a disclosure ready to leave: [`Self::validate_proposal`] and, for bases (1)-(3),
    /// the written approval of the Agency Privacy Officer (EXT-03).
    pub fn validate(&self) -> Result<(), DomainError> {
        self.validate_proposal()?;
        if self.identifying_information
            && self.basis.is_some_and(DisclosureBasis::needs_apo_approval)
            && self.apo_approval_by.is_none()
        {
            return Err(DomainError::Missing {
                rule: "EXT-03",
                missing: vec!["written approval of the Agency Privacy Officer"],
            });
        }
        Ok(())
    }

    /// Validates a proposed disclosure against EXT-01..EXT-04 (first the refusals, then
    /// everything missing), all but the approval that comes after the proposal.
    pub fn validate_proposal(&self) -> Result<(), DomainError> {
        use DisclosurePurpose as P;
        use RecipientKind as K;
        self.purpose.check_not_immigration()?;
        let purpose_fits = match self.recipient_kind {
            K::Prosecutor => matches!(
                self.purpose,
                P::CriminalDiscovery | P::CriminalInvestigation
            ),
            K::LawEnforcementAgency | K::CityAgency | K::OtherGovernmentAgency => matches!(
                self.purpose,
                P::CriminalInvestigation
                    | P::CivilLitigation
                    | P::DisciplinaryProceeding
                    | P::WelfareOfMinorOrIncompetent
            ),
            K::CommunityLeader | K::CivicOrganization | K::NewsMedia => matches!(
                self.purpose,
                P::FurtherAnInvestigation | P::UnusualIncidentAwareness | P::CommunityConcern
            ),
            K::Individual => self.purpose == P::RequestedByIndividual,
        };
        if !purpose_fits {
            return Err(DomainError::refused(
                "EXT-01",
                format!(
                    "a {} may not receive information for {}",
                    self.recipient_kind, self.purpose
                ),
            ));
        }
        let mut missing = Vec::new();
        if self.recipient_name.trim().is_empty() {
            missing.push("recipient name");
        }
        if self.recipient_affiliation.trim().is_empty() {
            missing.push("recipient affiliation");
        }
        if self.identity_confirmed_by.is_none() {
            missing.push("confirmation of the requester's identity and affiliation");
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "EXT-04",
                missing,
            });
        }
        if !self.identifying_information {
            return Ok(());
        }
        let Some(basis) = self.basis else {
            return Err(DomainError::Missing {
                rule: "EXT-03",
                missing: vec!["disclosure basis (one of the seven)"],
            });
        };
        let mut missing = Vec::new();
        match basis {
            DisclosureBasis::WrittenAuthorizationByIndividual
                if blank(&self.individual_authorization_reference) =>
            {
                missing.push("written authorization of the individual or parent/guardian")
            }
            DisclosureBasis::ChiefPrivacyOfficerPreApproved
                if blank(&self.cpo_pre_approval_reference) =>
            {
                missing.push("City Chief Privacy Officer pre-approval reference")
            }
            DisclosureBasis::DesignatedRoutine if blank(&self.routine_designation_reference) => {
                missing.push("APO routine designation reference")
            }
            DisclosureBasis::CriminalInvestigation | DisclosureBasis::WelfareInvestigation
                if blank(&self.investigation_reference) =>
            {
                missing.push("investigation reference")
            }
            _ => {}
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Missing {
                rule: "EXT-03",
                missing,
            })
        }
    }
}

/// The terms a written agreement with another government agency must record (EXT-07).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyAgreementTerms {
    pub agreement_reference: String,
    pub agency: String,
    /// The system(s) the agency may access, case by case.
    pub systems: Vec<String>,
    pub maintains_security_and_confidentiality: bool,
    pub no_onward_disclosure_without_approval: bool,
    pub notifies_of_subpoenas_and_legal_process: bool,
    pub purpose: DisclosurePurpose,
}

impl AgencyAgreementTerms {
    pub fn validate(&self) -> Result<(), DomainError> {
        self.purpose.check_not_immigration()?;
        let mut missing = Vec::new();
        if self.agreement_reference.trim().is_empty() {
            missing.push("agreement reference");
        }
        if self.agency.trim().is_empty() {
            missing.push("agency");
        }
        if self.systems.iter().all(|s| s.trim().is_empty()) {
            missing.push("systems covered");
        }
        if !self.maintains_security_and_confidentiality {
            missing.push("security and confidentiality term");
        }
        if !self.no_onward_disclosure_without_approval {
            missing.push("no onward disclosure without approval term");
        }
        if !self.notifies_of_subpoenas_and_legal_process {
            missing.push("notice of subpoenas term");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Missing {
                rule: "EXT-07",
                missing,
            })
        }
    }
}

text_enum! {
    /// The basis of a thermographic camera deployment (TH-05).
    pub enum ThermalBasis: "thermal basis" {
        /// An emergency where exigent circumstances exist.
        ExigentEmergency = "exigent_emergency",
        /// Surveillance of a location exposed to public observation.
        PublicObservation = "public_observation",
    }
}

/// A supervisor's authorization of a thermal deployment, given before it starts (TH-05).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAuthorization {
    pub authorized_by: UserId,
    pub authorized_at: DateTime<Utc>,
    /// A basis TH-05 lists, or a new one recorded by an addendum (OVR-04).
    pub basis: UseOf<ThermalBasis>,
    pub risks_to_personnel: String,
    pub risks_to_civilians: String,
    pub risks_to_suspects: String,
    pub legitimate_purpose: String,
    pub starts_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl DeploymentAuthorization {
    /// Checks the facts considered are recorded and the authorization precedes the deployment.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut missing = Vec::new();
        for (v, name) in [
            (&self.risks_to_personnel, "safety risks to personnel"),
            (&self.risks_to_civilians, "safety risks to civilians"),
            (&self.risks_to_suspects, "safety risks to suspects"),
            (
                &self.legitimate_purpose,
                "legitimate law enforcement purpose",
            ),
        ] {
            if v.trim().is_empty() {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(DomainError::Missing {
                rule: "TH-05",
                missing,
            });
        }
        if let UseOf::New(n) = &self.basis {
            n.check("the deployment basis", "thermographic cameras")?;
        }
        if self.authorized_at > self.starts_at {
            return Err(DomainError::refused(
                "TH-05",
                "the deployment must be authorized before it starts",
            ));
        }
        if self.expires_at <= self.starts_at {
            return Err(DomainError::invalid(
                "expires_at",
                "the authorization must expire after it starts",
            ));
        }
        Ok(())
    }

    /// Whether live use is authorized at `now` (within `starts_at..expires_at`).
    pub fn covers(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if now < self.starts_at || now >= self.expires_at {
            Err(DomainError::refused(
                "TH-05",
                format!(
                    "no deployment authorization in force at {now} (authorized {} to {})",
                    self.starts_at, self.expires_at
                ),
            ))
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).single().unwrap()
    }

    #[test]
    fn fr_05_closed_list_of_six_with_wording() {
        assert_eq!(FrAuthorizedUse::ALL.len(), 6);
        for (i, u) in FrAuthorizedUse::ALL.iter().enumerate() {
            assert_eq!(usize::from(u.number()), i + 1);
            assert!(u.wording().starts_with("To "), "{u}");
        }
        let e = FrAuthorizedUse::parse_requested("crowd_monitoring").unwrap_err();
        assert_eq!(e.rule(), Some("FR-05"));
        assert!(e.to_string().contains("FR-19"));
        assert_eq!(
            FrAuthorizedUse::parse_requested("deceased_person").unwrap(),
            FrAuthorizedUse::DeceasedPerson
        );
    }

    #[test]
    fn dc_01_purpose_other_needs_description() {
        assert_eq!(DcPurpose::ALL.len(), 10);
        let p = ImagePurpose {
            purpose: UseOf::Listed(DcPurpose::OtherOfficialBusiness),
            description: Some("  ".into()),
        };
        assert_eq!(p.validate().unwrap_err().rule(), Some("DC-01"));
        let p = ImagePurpose {
            purpose: UseOf::Listed(DcPurpose::CrimeScene),
            description: None,
        };
        assert!(p.validate().is_ok());
    }

    fn findings() -> ExigencyFindings {
        ExigencyFindings {
            statute: Some(ExigencyStatute::Pl215_57),
            probable_cause_of_crime: true,
            emergency_from_conduct: true,
            imminent_danger: true,
            aimed_at_preventing_injury: true,
            flight_risk_cited: false,
        }
    }

    #[test]
    fn dc_02_exigency_needs_all_four_findings() {
        assert!(CaptureBasis::Exigency(findings()).validate().is_ok());
        let f = ExigencyFindings {
            imminent_danger: false,
            statute: None,
            ..findings()
        };
        match CaptureBasis::Exigency(f).validate().unwrap_err() {
            DomainError::Missing { rule, missing } => {
                assert_eq!(rule, "DC-02");
                assert_eq!(missing.len(), 2);
                assert!(missing[1].starts_with("finding 3"));
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn dc_02_flight_risk_alone_is_not_exigency() {
        let f = ExigencyFindings {
            statute: Some(ExigencyStatute::Cpl700_05_8),
            probable_cause_of_crime: true,
            emergency_from_conduct: false,
            imminent_danger: false,
            aimed_at_preventing_injury: false,
            flight_risk_cited: true,
        };
        let e = CaptureBasis::Exigency(f).validate().unwrap_err();
        assert_eq!(e.rule(), Some("DC-02"));
        assert!(e
            .to_string()
            .contains("flight does not on its own constitute exigent circumstances"));
        // With all four findings, a cited flight risk does not spoil the basis.
        let f = ExigencyFindings {
            flight_risk_cited: true,
            ..findings()
        };
        assert!(CaptureBasis::Exigency(f).validate().is_ok());
    }

    #[test]
    fn dc_02_warrant_needs_every_element() {
        let w = Warrant {
            number: "W-1".into(),
            issuing_judge: "Hon. A. Judge".into(),
            probable_cause_finding: true,
            entry_authorized: false,
            prosecutor: "".into(),
        };
        let e = CaptureBasis::Warrant(w).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "DC-02: missing explicit authorization of entry, prosecutor"
        );
        assert!(CaptureBasis::NoReasonableExpectationOfPrivacy
            .validate()
            .is_ok());
    }

    fn disclosure() -> DisclosureRequest {
        DisclosureRequest {
            recipient_kind: RecipientKind::LawEnforcementAgency,
            recipient_name: "Det. B".into(),
            recipient_affiliation: "Example County PD".into(),
            identity_confirmed_by: Some(UserId::new()),
            purpose: DisclosurePurpose::CriminalInvestigation,
            identifying_information: true,
            basis: Some(DisclosureBasis::CriminalInvestigation),
            apo_approval_by: None,
            individual_authorization_reference: None,
            cpo_pre_approval_reference: None,
            routine_designation_reference: None,
            investigation_reference: Some("ECPD-2026-77".into()),
        }
    }

    #[test]
    fn ext_02_immigration_enforcement_refused() {
        let d = DisclosureRequest {
            purpose: DisclosurePurpose::ImmigrationEnforcement,
            ..disclosure()
        };
        assert_eq!(d.validate().unwrap_err().rule(), Some("EXT-02"));
    }

    #[test]
    fn ext_03_seven_bases_apo_approval_for_first_three() {
        assert_eq!(DisclosureBasis::ALL.len(), 7);
        assert!(disclosure().validate().is_ok());
        let d = DisclosureRequest {
            basis: Some(DisclosureBasis::FurthersMission),
            ..disclosure()
        };
        let e = d.validate().unwrap_err();
        assert_eq!(e.rule(), Some("EXT-03"));
        assert!(e.to_string().contains("Agency Privacy Officer"));
        let d = DisclosureRequest {
            basis: None,
            ..disclosure()
        };
        assert_eq!(d.validate().unwrap_err().rule(), Some("EXT-03"));
        let d = DisclosureRequest {
            basis: None,
            identifying_information: false,
            ..disclosure()
        };
        assert!(d.validate().is_ok());
    }

    #[test]
    fn ext_07_agreement_terms_recorded_never_immigration() {
        let terms = AgencyAgreementTerms {
            agreement_reference: "MOU-12".into(),
            agency: "Example State Police".into(),
            systems: vec!["case management".into()],
            maintains_security_and_confidentiality: true,
            no_onward_disclosure_without_approval: false,
            notifies_of_subpoenas_and_legal_process: true,
            purpose: DisclosurePurpose::CriminalInvestigation,
        };
        assert_eq!(
            terms.validate().unwrap_err().to_string(),
            "EXT-07: missing no onward disclosure without approval term"
        );
        let imm = AgencyAgreementTerms {
            purpose: DisclosurePurpose::ImmigrationEnforcement,
            ..terms
        };
        assert_eq!(imm.validate().unwrap_err().rule(), Some("EXT-02"));
    }

    #[test]
    fn ext_04_requester_identity_confirmed() {
        let d = DisclosureRequest {
            identity_confirmed_by: None,
            ..disclosure()
        };
        assert_eq!(d.validate().unwrap_err().rule(), Some("EXT-04"));
    }

    #[test]
    fn ext_01_media_only_for_listed_purposes() {
        let d = DisclosureRequest {
            recipient_kind: RecipientKind::NewsMedia,
            ..disclosure()
        };
        assert_eq!(d.validate().unwrap_err().rule(), Some("EXT-01"));
    }

    fn deployment() -> DeploymentAuthorization {
        DeploymentAuthorization {
            authorized_by: UserId::new(),
            authorized_at: at(9),
            basis: UseOf::Listed(ThermalBasis::PublicObservation),
            risks_to_personnel: "low".into(),
            risks_to_civilians: "crowd nearby".into(),
            risks_to_suspects: "none identified".into(),
            legitimate_purpose: "search of park for missing child".into(),
            starts_at: at(10),
            expires_at: at(14),
        }
    }

    #[test]
    fn th_05_authorization_before_start_with_facts() {
        assert!(deployment().validate().is_ok());
        let late = DeploymentAuthorization {
            authorized_at: at(11),
            ..deployment()
        };
        assert_eq!(late.validate().unwrap_err().rule(), Some("TH-05"));
        let blank = DeploymentAuthorization {
            risks_to_suspects: " ".into(),
            ..deployment()
        };
        assert!(blank
            .validate()
            .unwrap_err()
            .to_string()
            .contains("safety risks to suspects"));
        assert!(deployment().covers(at(12)).is_ok());
        assert_eq!(
            deployment().covers(at(14)).unwrap_err().rule(),
            Some("TH-05")
        );
        assert_eq!(ThermalBasis::ALL.len(), 2);
    }

    fn addendum() -> PolicyAddendum {
        PolicyAddendum {
            revision: "r".into(),
            pack: "thermographic-cameras".into(),
            version: "2".into(),
        }
    }

    #[test]
    fn ovr_04_new_basis_needs_its_addendum() {
        let basis = UseOf::<ThermalBasis>::parse("basis", "search_and_rescue").unwrap();
        assert_eq!(basis.as_str(), "search_and_rescue");
        let d = DeploymentAuthorization {
            basis: basis.clone(),
            ..deployment()
        };
        assert_eq!(d.validate().unwrap_err().rule(), Some("OVR-04"));
        let UseOf::New(n) = basis else {
            panic!("a new use")
        };
        let d = DeploymentAuthorization {
            basis: UseOf::New(NewUse {
                addendum: Some(addendum()),
                ..n
            }),
            ..deployment()
        };
        assert!(d.validate().is_ok());
        assert_eq!(
            UseOf::<ThermalBasis>::parse("basis", " public_observation ").unwrap(),
            UseOf::Listed(ThermalBasis::PublicObservation)
        );
        assert!(UseOf::<ThermalBasis>::parse("basis", "Not A Code").is_err());
    }

    #[test]
    fn ovr_04_new_purpose_stored_with_its_addendum() {
        let p = ImagePurpose {
            purpose: UseOf::New(NewUse {
                code: "drone_mapping".into(),
                addendum: None,
            }),
            description: None,
        };
        assert_eq!(p.validate().unwrap_err().rule(), Some("OVR-04"));
        let p = ImagePurpose {
            purpose: UseOf::New(NewUse {
                code: "drone_mapping".into(),
                addendum: Some(addendum()),
            }),
            description: None,
        };
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["purpose"], "drone_mapping");
        assert_eq!(json["addendum"]["version"], "2");
        let back: ImagePurpose = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        // A listed purpose is stored as before.
        let listed: ImagePurpose =
            serde_json::from_str(r#"{"purpose":"crime_scene","description":null}"#).unwrap();
        assert_eq!(listed.purpose, UseOf::Listed(DcPurpose::CrimeScene));
    }
}
