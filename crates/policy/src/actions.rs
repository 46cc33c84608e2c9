//! Every action of the system. The server maps each route to exactly one.

use std::fmt;
use std::str::FromStr;

use crate::PolicyError;

/// The kind of resource an action applies to (the Cedar entity type of the resource).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    System,
    Account,
    Case,
    Evidence,
    Device,
    FrRequest,
    ThermalDeployment,
    Disclosure,
    Technology,
    AuditScope,
    Command,
}

impl ResourceKind {
    /// The Cedar entity type name (without namespace).
    pub const fn cedar_type(self) -> &'static str {
        match self {
            ResourceKind::System => "System",
            ResourceKind::Account => "Account",
            ResourceKind::Case => "Case",
            ResourceKind::Evidence => "Evidence",
            ResourceKind::Device => "Device",
            ResourceKind::FrRequest => "FrRequest",
            ResourceKind::ThermalDeployment => "ThermalDeployment",
            ResourceKind::Disclosure => "Disclosure",
            ResourceKind::Technology => "Technology",
            ResourceKind::AuditScope => "AuditScope",
            ResourceKind::Command => "Command",
        }
    }
}

macro_rules! actions {
    ($( $variant:ident = $name:literal, $kind:ident, $doc:literal; )+) => {
        /// An action a principal may attempt. `as_str()` is the Cedar action ID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( #[doc = $doc] $variant, )+
        }

        impl Action {
            /// Every action, in declaration order.
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )+ ];

            /// The stable action name, e.g. `case.read`.
            pub const fn as_str(self) -> &'static str {
                match self { $( Action::$variant => $name, )+ }
            }

            /// The kind of resource this action applies to.
            pub const fn resource_kind(self) -> ResourceKind {
                match self { $( Action::$variant => ResourceKind::$kind, )+ }
            }

            /// One line saying what the action does.
            pub const fn description(self) -> &'static str {
                match self { $( Action::$variant => $doc, )+ }
            }
        }

        impl FromStr for Action {
            type Err = PolicyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $name => Ok(Action::$variant), )+
                    other => Err(PolicyError::UnknownAction(other.to_string())),
                }
            }
        }
    };
}

actions! {
    SelfRead = "self.read", System, "Read one's own account, roles and the reasons for roles not held.";
    PolicyRead = "policy.read", System, "Read the published policy packs.";
    PolicyAddendumRecord = "policy.addendum.record", System, "Record a policy-pack addendum for a new use (OVR-04).";
    PolicyRevisionPropose = "policy.revision.propose", System, "Propose a revision of a policy pack (OVR-02).";
    PolicyRevisionApprove = "policy.revision.approve", System, "Approve or reject a pack revision or addendum another person proposed, and set when it takes effect (OVR-02, OVR-04).";
    SystemConfigure = "system.configure", System, "Change system configuration.";
    SystemMetrics = "system.metrics", System, "Read the service's operational metrics (counts and latencies, no records).";
    SystemMaintain = "system.maintain", Technology, "Maintain or repair the software of one technology (EXT-06).";
    UserList = "user.list", System, "List accounts.";
    UserRead = "user.read", Account, "Read an account, its assignments and training.";
    UserAdmin = "user.admin", Account, "Create, update or deactivate an account.";
    UserAssignmentManage = "user.assignment.manage", Account, "Add or end an assignment.";
    UserTrainingManage = "user.training.manage", Account, "Record training.";
    UserContractManage = "user.contract.manage", Account, "Record a vendor contract or agency agreement.";
    CaseCreate = "case.create", Case, "Open a case.";
    CaseRead = "case.read", Case, "Read a case.";
    CaseList = "case.list", System, "List cases (each row is filtered by case.read).";
    CaseUpdate = "case.update", Case, "Update a case.";
    CaseAssign = "case.assign", Case, "Assign the investigator of a case.";
    CaseClose = "case.close", Case, "Close a case for one of the closure reasons.";
    CaseFlagPolitical = "case.flag_political", Case, "Flag a case as involving political activity (FR-25).";
    CaseRecordArrestBasis = "case.record_arrest_basis", Case, "Record the basis of an arrest (FR-15).";
    EvidenceIngest = "evidence.ingest", Evidence, "Ingest an evidence item into a case.";
    EvidenceRead = "evidence.read", Evidence, "Read an evidence item.";
    EvidenceExport = "evidence.export", Evidence, "Export evidence to the prosecutor (DC-07).";
    DeviceManage = "device.manage", Device, "Inventory and assign a camera (DC-04).";
    DeviceInspect = "device.inspect", Device, "Record a supervisor's inspection of a camera (DC-04).";
    DeviceCardClear = "device.card_clear", Device, "Clear a memory card after verified offload (DC-05).";
    AuditRead = "audit.read", System, "Read the audit trail.";
    AuditVerify = "audit.verify", System, "Verify the hash chain of the audit trail.";
    AuditFocused = "audit.focused", AuditScope, "Produce a focused audit of computer activity (SEC-05).";
    FrRequestCreate = "fr.request.create", FrRequest, "Submit a request for facial recognition analysis (FR-04).";
    FrRequestRead = "fr.request.read", FrRequest, "Read a request for analysis.";
    FrRequestAddProbe = "fr.request.add_probe", FrRequest, "Add stills to a returned request (FR-06).";
    FrQueueRead = "fr.queue.read", System, "Read the FR investigators' queue.";
    FrBasisConfirm = "fr.basis.confirm", FrRequest, "Confirm the authorized use of a request (FR-05).";
    FrQualityAssess = "fr.quality.assess", FrRequest, "Select the probe and record the quality verdict (FR-06).";
    FrProbeEdit = "fr.probe.edit", FrRequest, "Adjust a probe: brightness, crop, rotate (FR-07).";
    FrSupervisorDiscussionAcknowledge = "fr.supervisor_discussion.acknowledge", FrRequest, "Acknowledge the supervisor discussion of the use (FR-22).";
    FrSearch = "fr.search", FrRequest, "Search the photo repository (FR-08).";
    FrCandidatesRead = "fr.candidates.read", FrRequest, "Read the candidate pool (FR-15: FR staff only).";
    FrIdentify = "fr.identify", FrRequest, "Record the facial identification (FR-09).";
    FrBackgroundCheckRecord = "fr.background_check.record", FrRequest, "Record the background check of the proposed candidate (FR-10).";
    FrProposedCandidateRead = "fr.proposed_candidate.read", FrRequest, "Read the one proposed candidate, unapproved (FR-10).";
    FrPeerReview = "fr.peer_review", FrRequest, "Peer review an identification (FR-11).";
    FrSupervisorReview = "fr.supervisor_review", FrRequest, "Approve or send back (FR-12).";
    FrReportRead = "fr.report.read", FrRequest, "Read the possible match or negative report (FR-13, FR-14).";
    FrOutsideRepositoryApprove = "fr.outside_repository.approve", FrRequest, "Approve a comparison outside the repository (FR-18).";
    FrUnforeseenUseDecide = "fr.unforeseen_use.decide", FrRequest, "Decide on a use not foreseen by policy (FR-19).";
    FrExternalRequestCreate = "fr.external_request.create", System, "Document an outside agency's request (FR-20).";
    FrExternalRequestRead = "fr.external_request.read", System, "Read outside agencies' requests (FR-20).";
    FrGalleryImport = "fr.gallery.import", System, "Import arrest and parole photographs (FR-01).";
    FrGalleryRead = "fr.gallery.read", System, "Read a photo repository record.";
    FrGallerySeal = "fr.gallery.seal", System, "Seal or unseal an arrest's photographs (FR-02).";
    FrAlgorithmManage = "fr.algorithm.manage", System, "Register, evaluate and activate algorithms (FR-23).";
    FrAlgorithmRead = "fr.algorithm.read", System, "Read the registered algorithms, their evaluations, proposals and re-templating progress (FR-23).";
    FrAlgorithmApprove = "fr.algorithm.approve", System, "Approve or refuse the activation of an algorithm another person proposed (FR-23).";
    ThermalAuthorize = "thermal.authorize", ThermalDeployment, "Authorize a thermal deployment (TH-05).";
    ThermalLiveView = "thermal.live.view", ThermalDeployment, "View live heat-signature video (TH-02, TH-03).";
    ThermalLivePush = "thermal.live.push", ThermalDeployment, "Push live frames from a camera (TH-01).";
    ThermalRobotRead = "thermal.robot.read", ThermalDeployment, "Read retained robot data (TH-04).";
    ThermalRobotAttachToCase = "thermal.robot.attach_to_case", Case, "Move robot data into a case (TH-04).";
    DisclosureCreate = "disclosure.create", Disclosure, "Propose a disclosure (EXT-01, EXT-04).";
    DisclosureRead = "disclosure.read", Disclosure, "Read a disclosure.";
    DisclosureApprove = "disclosure.approve", Disclosure, "Approve a disclosure as Agency Privacy Officer (EXT-03).";
    DisclosureRelease = "disclosure.release", Disclosure, "Release an approved disclosure (EXT-01).";
    BreachReport = "breach.report", System, "Report a disclosure breach (EXT-05).";
    BreachRead = "breach.read", System, "Read breach reports (EXT-05).";
    BreachSuspect = "breach.suspect", System, "Report a suspected breach; anyone may (EXT-05).";
    MisuseReport = "misuse.report", System, "Take in an allegation of misuse (SEC-06).";
    MisuseRead = "misuse.read", System, "Read allegations of misuse and the audit entries bearing on them (SEC-06).";
    MisuseManage = "misuse.manage", System, "Assign an allegation of misuse and close it with its outcome (SEC-06).";
    InspectionRecord = "inspection.record", Command, "Record the tour's inspection of an area with computer systems, or add an area (SEC-06).";
    InspectionRead = "inspection.read", Command, "Read a command's areas, tour inspections and missed tours (SEC-06).";
    MediaOversightRecord = "media_oversight.record", Command, "Record oversight of a command's recorded media (SEC-06).";
    FoilManage = "foil.manage", System, "Log and review FOIL requests (PUB-01).";
    FoilRelease = "foil.release", System, "Release redacted FOIL material (PUB-01).";
    FoilRead = "foil.read", System, "Read FOIL requests, their records, redactions and release log (PUB-01).";
    FoilReview = "foil.review", System, "Review a FOIL request's records and their redactions (PUB-01).";
    FoilAppealDecide = "foil.appeal.decide", System, "Decide an appeal of a FOIL denial (PUB-01).";
    RetentionRead = "retention.read", System, "Read retention schedules and due dispositions (RET).";
    RetentionLegalHold = "retention.legal_hold", System, "Place or release a legal hold (RET-11).";
    RetentionDispose = "retention.dispose", System, "Propose the disposition of a record that is due (RET-11).";
    RetentionApprove = "retention.approve", System, "Approve and execute a disposition another person proposed (RET-11).";
    RetentionFactsRecord = "retention.facts.record", Case, "Record the facts the retention schedule needs on a case (RET-01, RET-06, RET-08).";
    PersonalFileManage = "personal_file.manage", System, "Keep personal information files on criminals, suspects and associated persons (RET-09).";
    OperationsRead = "operations.read", System, "See the job scheduler's runs and their outcomes.";
    OperationsRun = "operations.run", System, "Run a scheduled job now, under its lease.";
    ReportOversight = "report.oversight", System, "Produce oversight statistics (OVR-03).";
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
