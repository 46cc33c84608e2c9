//! Tests of the policy packs and the engine, named after the rule they check.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use probity_domain::{
    effective_roles, Assignment, AssignmentId, CaseId, Command, CommandCode, Contract,
    ContractKind, Course, FrRequestId, Person, PersonKind, Rank, Role, Technology, TrainingRecord,
    UserId,
};
use probity_policy::{
    embedded_sources, Action, CaseRef, Context, PackSource, PolicyEngine, PolicyError, Principal,
    Resource, ResourceKind, RevisionKind, EMBEDDED_SCHEMA,
};

fn engine() -> PolicyEngine {
    PolicyEngine::load().unwrap_or_else(|e| panic!("embedded packs must load: {e}"))
}

fn cmd(code: &str) -> CommandCode {
    CommandCode::parse(code).unwrap()
}

const HOME: &str = "PCT-019";

fn kind_for(role: Role) -> PersonKind {
    role.requirements().kind
}

/// A principal holding only `role` in the home command, trained in every course, with a
/// contract in force when the role needs one.
fn principal(role: Role) -> Principal {
    let home: BTreeSet<CommandCode> = [cmd(HOME)].into();
    let only = |r: Role| {
        if role == r {
            home.clone()
        } else {
            BTreeSet::new()
        }
    };
    let outside = kind_for(role) != PersonKind::Member;
    Principal {
        user: UserId::new(),
        kind: kind_for(role),
        roles: [role].into(),
        commands: home.clone(),
        investigator_commands: only(Role::Investigator),
        supervisor_commands: only(Role::Supervisor),
        commanding_officer_commands: only(Role::CommandingOfficer),
        intelligence_division: false,
        courses: Course::ALL.iter().copied().collect(),
        contract_active: outside,
        contract_scope: if outside {
            Technology::ALL.iter().copied().collect()
        } else {
            BTreeSet::new()
        },
    }
}

fn case_of(p: &Principal) -> CaseRef {
    CaseRef {
        id: CaseId::new(),
        command: cmd(HOME),
        assigned_investigator: Some(p.user),
        political_activity: false,
    }
}

/// The most favourable resource of the action's kind for `p`: its own case, its command, an
/// authorization in force, another person's account and disclosure.
fn resource_for(kind: ResourceKind, p: &Principal) -> Resource {
    match kind {
        ResourceKind::System => Resource::System,
        ResourceKind::Account => Resource::Account {
            user: UserId::new(),
        },
        ResourceKind::Case => Resource::Case(case_of(p)),
        ResourceKind::Evidence => Resource::Evidence {
            id: "ev-1".into(),
            case: case_of(p),
            technology: Some(Technology::DigitalCameras),
        },
        ResourceKind::Device => Resource::Device {
            id: "cam-7".into(),
            command: cmd(HOME),
            technology: Technology::DigitalCameras,
        },
        // An investigator is the requester; FR staff work other people's requests (the domain
        // never lets one person be both on one request).
        ResourceKind::FrRequest => Resource::FrRequest {
            id: FrRequestId::new(),
            case: case_of(p),
            requester: if p.roles.contains(&Role::Investigator) {
                p.user
            } else {
                UserId::new()
            },
        },
        ResourceKind::ThermalDeployment => Resource::ThermalDeployment {
            id: "th-1".into(),
            command: cmd(HOME),
            authorization_in_force: true,
        },
        ResourceKind::Disclosure => Resource::Disclosure {
            id: "d-1".into(),
            case: case_of(p),
            created_by: UserId::new(),
        },
        ResourceKind::Technology => Resource::Technology(Technology::FacialRecognition),
        ResourceKind::AuditScope => Resource::AuditScope {
            commands: [cmd(HOME)].into(),
            department_wide: false,
        },
        ResourceKind::Command => Resource::Command(cmd(HOME)),
    }
}

const EVERYONE: &[&str] = &["self.read", "policy.read", "breach.suspect"];
const THREE_OFFICIALS: &[&str] = &[
    "fr.outside_repository.approve",
    "fr.unforeseen_use.decide",
    "fr.request.read",
    "fr.queue.read",
    "report.oversight",
];

/// FR-23: the two offices that approve an algorithm's activation.
const ALGORITHM_APPROVERS: &[&str] = &["fr.algorithm.approve", "fr.algorithm.read"];

/// The expected role x action matrix. A change of policy must change this table.
fn expected() -> BTreeMap<Role, BTreeSet<&'static str>> {
    let rows: Vec<(Role, Vec<&str>)> = vec![
        (
            Role::Investigator,
            vec![
                "retention.facts.record",
                "personal_file.manage",
                "case.create",
                "case.list",
                "case.read",
                "case.update",
                "case.close",
                "case.flag_political",
                "case.record_arrest_basis",
                "evidence.ingest",
                "evidence.read",
                "evidence.export",
                "device.card_clear",
                "fr.request.create",
                "fr.request.read",
                "fr.request.add_probe",
                "fr.background_check.record",
                "fr.proposed_candidate.read",
                "fr.report.read",
                "thermal.live.view",
                "thermal.live.push",
                "thermal.robot.attach_to_case",
                "disclosure.create",
                "disclosure.read",
            ],
        ),
        (
            Role::FrInvestigator,
            vec![
                "fr.queue.read",
                "fr.request.read",
                "fr.basis.confirm",
                "fr.quality.assess",
                "fr.probe.edit",
                "fr.search",
                "fr.candidates.read",
                "fr.identify",
                "fr.peer_review",
                "fr.report.read",
                "fr.gallery.read",
                "fr.external_request.create",
                "fr.external_request.read",
            ],
        ),
        (
            Role::FrSupervisor,
            vec![
                "fr.queue.read",
                "fr.request.read",
                "fr.supervisor_discussion.acknowledge",
                "fr.candidates.read",
                "fr.supervisor_review",
                "fr.report.read",
                "fr.gallery.read",
                "fr.external_request.read",
                "fr.algorithm.manage",
                "fr.algorithm.read",
                "report.oversight",
            ],
        ),
        (
            Role::Supervisor,
            vec![
                "inspection.record",
                "inspection.read",
                "case.create",
                "case.list",
                "case.read",
                "case.update",
                "case.assign",
                "case.close",
                "case.flag_political",
                "evidence.ingest",
                "evidence.read",
                "evidence.export",
                "device.manage",
                "device.inspect",
                "device.card_clear",
                "thermal.authorize",
                "thermal.live.view",
                "thermal.live.push",
                "thermal.robot.read",
                "disclosure.create",
                "disclosure.read",
                "retention.facts.record",
                "personal_file.manage",
            ],
        ),
        (
            Role::RecordsManager,
            vec![
                "retention.read",
                "retention.approve",
                "operations.read",
                "foil.read",
                "foil.review",
                "foil.appeal.decide",
            ],
        ),
        (
            Role::IntegrityControlOfficer,
            vec![
                "audit.read",
                "audit.verify",
                "audit.focused",
                "user.list",
                "user.read",
                "misuse.report",
                "misuse.read",
                "misuse.manage",
                "inspection.read",
                "media_oversight.record",
            ],
        ),
        (
            Role::IabAuditor,
            vec![
                "audit.read",
                "audit.verify",
                "audit.focused",
                "user.list",
                "user.read",
                "breach.read",
                "report.oversight",
                "misuse.report",
                "misuse.read",
                "misuse.manage",
                "inspection.read",
            ],
        ),
        (
            Role::AgencyPrivacyOfficer,
            vec![
                "disclosure.approve",
                "disclosure.read",
                "breach.report",
                "breach.read",
                "retention.read",
                "retention.legal_hold",
                "report.oversight",
                "policy.addendum.record",
                "policy.revision.propose",
            ],
        ),
        (
            Role::RecordsOfficer,
            vec![
                "case.list",
                "case.read",
                "disclosure.release",
                "disclosure.read",
                "foil.read",
                "foil.manage",
                "foil.review",
                "foil.release",
                "retention.read",
                "retention.legal_hold",
                "retention.dispose",
                "retention.facts.record",
                "personal_file.manage",
                "operations.read",
                "fr.gallery.import",
                "fr.gallery.seal",
            ],
        ),
        (
            Role::Administrator,
            vec![
                "operations.read",
                "operations.run",
                "user.list",
                "user.read",
                "user.admin",
                "user.assignment.manage",
                "user.training.manage",
                "user.contract.manage",
                "system.configure",
                "system.metrics",
                "system.maintain",
                "audit.verify",
                "fr.algorithm.manage",
                "fr.algorithm.read",
            ],
        ),
        (
            Role::CommandingOfficer,
            vec!["audit.focused", "misuse.report", "inspection.read"],
        ),
        (
            Role::InvestigationsUnit,
            vec![
                "audit.focused",
                "misuse.report",
                "misuse.read",
                "misuse.manage",
            ],
        ),
        (
            Role::PolicyOwner,
            vec!["policy.revision.propose", "policy.revision.approve"],
        ),
        (Role::Vendor, vec!["system.maintain"]),
        (
            Role::ExternalAgencyLiaison,
            vec!["fr.external_request.create", "fr.external_request.read"],
        ),
        (Role::ChiefOfDepartment, THREE_OFFICIALS.to_vec()),
        (
            Role::ChiefOfDetectives,
            [THREE_OFFICIALS, ALGORITHM_APPROVERS].concat(),
        ),
        (
            Role::DeputyCommissionerIntelligence,
            [THREE_OFFICIALS, ALGORITHM_APPROVERS].concat(),
        ),
    ];
    rows.into_iter()
        .map(|(r, v)| (r, v.into_iter().chain(EVERYONE.iter().copied()).collect()))
        .collect()
}

#[test]
fn sec_02_role_action_matrix() {
    let e = engine();
    let expected = expected();
    assert_eq!(expected.len(), Role::ALL.len(), "every role has a row");
    for names in expected.values() {
        for n in names {
            n.parse::<Action>()
                .unwrap_or_else(|_| panic!("table names unknown action {n}"));
        }
    }
    let mut diffs = Vec::new();
    for role in Role::ALL {
        let p = principal(*role);
        for action in Action::ALL {
            let d = e.decide(
                &p,
                *action,
                &resource_for(action.resource_kind(), &p),
                &Context::default(),
            );
            let want = expected[role].contains(action.as_str());
            if d.allowed != want {
                diffs.push(format!(
                    "{role} x {action}: expected {}, engine says {} ({})",
                    if want { "allow" } else { "deny" },
                    if d.allowed { "allow" } else { "deny" },
                    d.rule
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "role x action matrix differs:\n{}",
        diffs.join("\n")
    );
}

#[test]
fn sec_02_no_roles_nothing_but_own_account() {
    let e = engine();
    let mut p = principal(Role::Investigator);
    p.roles.clear();
    p.investigator_commands.clear();
    for action in Action::ALL {
        let d = e.decide(
            &p,
            *action,
            &resource_for(action.resource_kind(), &p),
            &Context::default(),
        );
        assert_eq!(
            d.allowed,
            EVERYONE.contains(&action.as_str()),
            "{action}: {}",
            d.rule
        );
    }
}

#[test]
fn sec_02_denial_names_the_rule() {
    let e = engine();
    let admin = principal(Role::Administrator);
    let case = Resource::Case(case_of(&admin));
    let d = e.decide(&admin, Action::CaseRead, &case, &Context::default());
    assert!(!d.allowed);
    assert_eq!(d.rule, "SEC-02.administrator-separation-of-duties");
    assert_eq!(
        d.message(),
        "forbidden: case.read refused by SEC-02.administrator-separation-of-duties"
    );

    let inv = principal(Role::Investigator);
    let other = Resource::Case(CaseRef {
        assigned_investigator: Some(UserId::new()),
        ..case_of(&inv)
    });
    let d = e.decide(&inv, Action::CaseRead, &other, &Context::default());
    assert!(!d.allowed);
    assert_eq!(
        d.rule,
        "deny-by-default: no policy permits case.read for roles [investigator]"
    );

    let d = e.decide(
        &inv,
        Action::CaseRead,
        &Resource::Case(case_of(&inv)),
        &Context::default(),
    );
    assert!(d.allowed);
    assert_eq!(d.rule, "SEC-02.case-read-assigned");
}

#[test]
fn sec_02_supervisor_reads_only_own_command() {
    let e = engine();
    let sup = principal(Role::Supervisor);
    let theirs = CaseRef {
        command: cmd("PCT-020"),
        assigned_investigator: Some(UserId::new()),
        ..case_of(&sup)
    };
    assert!(
        !e.decide(
            &sup,
            Action::CaseRead,
            &Resource::Case(theirs.clone()),
            &Context::default()
        )
        .allowed
    );
    let ours = CaseRef {
        command: cmd(HOME),
        ..theirs
    };
    let d = e.decide(
        &sup,
        Action::CaseRead,
        &Resource::Case(ours),
        &Context::default(),
    );
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (true, "SEC-02.case-supervisor-of-command")
    );
}

#[test]
fn sec_02_administrator_never_administers_self() {
    let e = engine();
    let admin = principal(Role::Administrator);
    let d = e.decide(
        &admin,
        Action::UserAssignmentManage,
        &Resource::Account { user: admin.user },
        &Context::default(),
    );
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "SEC-02.no-self-administration")
    );
}

#[test]
fn sec_02_separation_of_duties_holds_with_a_second_role() {
    let e = engine();
    let mut p = principal(Role::Investigator);
    p.roles.insert(Role::Administrator);
    let d = e.decide(
        &p,
        Action::EvidenceRead,
        &resource_for(ResourceKind::Evidence, &p),
        &Context::default(),
    );
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "SEC-02.administrator-separation-of-duties")
    );
}

#[test]
fn sec_01_remote_session_needs_second_factor() {
    let e = engine();
    let p = principal(Role::Investigator);
    let r = resource_for(ResourceKind::Case, &p);
    let remote = Context {
        remote: true,
        second_factor: false,
    };
    let d = e.decide(&p, Action::CaseRead, &r, &remote);
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "SEC-01.remote-access-needs-second-factor")
    );
    let ok = Context {
        remote: true,
        second_factor: true,
    };
    assert!(e.decide(&p, Action::CaseRead, &r, &ok).allowed);
}

#[test]
fn fr_25_political_activity_only_intelligence_division() {
    let e = engine();
    let mut p = principal(Role::Investigator);
    let political = CaseRef {
        political_activity: true,
        ..case_of(&p)
    };
    for (action, resource) in [
        (Action::CaseRead, Resource::Case(political.clone())),
        (
            Action::FrRequestCreate,
            Resource::FrRequest {
                id: FrRequestId::new(),
                case: political.clone(),
                requester: p.user,
            },
        ),
        (
            Action::EvidenceRead,
            Resource::Evidence {
                id: "e".into(),
                case: political.clone(),
                technology: None,
            },
        ),
    ] {
        let d = e.decide(&p, action, &resource, &Context::default());
        assert_eq!(
            (d.allowed, d.rule.as_str()),
            (false, "FR-25.political-activity-intelligence-division-only"),
            "{action}"
        );
    }
    p.intelligence_division = true;
    assert!(
        e.decide(
            &p,
            Action::CaseRead,
            &Resource::Case(political),
            &Context::default()
        )
        .allowed
    );
}

#[test]
fn fr_25_fr_staff_outside_intelligence_cannot_search_political_case() {
    let e = engine();
    let fr = principal(Role::FrInvestigator);
    let r = Resource::FrRequest {
        id: FrRequestId::new(),
        case: CaseRef {
            political_activity: true,
            assigned_investigator: Some(UserId::new()),
            ..case_of(&fr)
        },
        requester: UserId::new(),
    };
    let d = e.decide(&fr, Action::FrSearch, &r, &Context::default());
    assert_eq!(
        d.rule,
        "FR-25.political-activity-intelligence-division-only"
    );
}

#[test]
fn fr_15_requester_never_sees_candidate_pool() {
    let e = engine();
    let inv = principal(Role::Investigator);
    let r = resource_for(ResourceKind::FrRequest, &inv);
    let d = e.decide(&inv, Action::FrCandidatesRead, &r, &Context::default());
    assert!(!d.allowed);
    // Named by its own rule, not only by deny-by-default: even an FR investigator who is also the
    // requester of this request never sees its pool.
    assert_eq!(d.rule, "FR-15.pool-never-shown-to-requester");
    let mut both = principal(Role::FrInvestigator);
    both.roles.insert(Role::Investigator);
    let r2 = resource_for(ResourceKind::FrRequest, &both);
    let d = e.decide(&both, Action::FrCandidatesRead, &r2, &Context::default());
    assert!(!d.allowed);
    assert_eq!(d.rule, "FR-15.pool-never-shown-to-requester");
    assert!(
        e.decide(
            &inv,
            Action::FrProposedCandidateRead,
            &r,
            &Context::default()
        )
        .allowed
    );
}

#[test]
fn fr_20_outside_entities_never_search() {
    let e = engine();
    let mut ext = principal(Role::ExternalAgencyLiaison);
    // Even a misconfigured account holding an FR role cannot search.
    ext.roles.insert(Role::FrInvestigator);
    let r = resource_for(ResourceKind::FrRequest, &ext);
    let d = e.decide(&ext, Action::FrSearch, &r, &Context::default());
    assert!(!d.allowed);
    assert!(
        d.rules
            .contains(&"FR-20.outside-entities-never-search".to_string()),
        "{:?}",
        d.rules
    );
    assert!(
        d.rules
            .contains(&"EXT-07.external-accounts-limited".to_string()),
        "{:?}",
        d.rules
    );
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).single().unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn commands() -> Vec<Command> {
    vec![
        Command {
            code: cmd("DB-FIS"),
            name: "Facial Identification Section".into(),
            intelligence_division: false,
        },
        Command {
            code: cmd(HOME),
            name: "19th Precinct".into(),
            intelligence_division: false,
        },
    ]
}

fn person(kind: PersonKind) -> Person {
    Person {
        id: UserId::new(),
        username: "u".into(),
        display_name: "U".into(),
        rank: if kind == PersonKind::Member {
            Rank::Detective
        } else {
            Rank::NonMember
        },
        kind,
        active: true,
    }
}

#[test]
fn fr_21_training_expiry_ends_fr_access() {
    let e = engine();
    let p = person(PersonKind::Member);
    let a = Assignment {
        id: AssignmentId::new(),
        person: p.id,
        role: Role::FrInvestigator,
        command: cmd("DB-FIS"),
        start: at(2026, 1, 1),
        end: None,
    };
    let t = TrainingRecord {
        person: p.id,
        course: Course::FrBasic,
        completed: day(2025, 12, 1),
        expires: Some(day(2026, 10, 1)),
    };
    let r = Resource::FrRequest {
        id: FrRequestId::new(),
        case: CaseRef {
            id: CaseId::new(),
            command: cmd(HOME),
            assigned_investigator: Some(UserId::new()),
            political_activity: false,
        },
        requester: UserId::new(),
    };
    let decide_at = |now| {
        let access = effective_roles(
            &p,
            std::slice::from_ref(&a),
            std::slice::from_ref(&t),
            &[],
            &commands(),
            now,
        );
        e.decide(
            &Principal::from_access(&p, &access),
            Action::FrSearch,
            &r,
            &Context::default(),
        )
    };
    let before = decide_at(at(2026, 9, 30));
    assert_eq!(
        (before.allowed, before.rule.as_str()),
        (true, "FR-21.fr-investigator-casework")
    );
    let after = decide_at(at(2026, 10, 1));
    assert!(!after.allowed);
    assert_eq!(
        after.rule,
        "deny-by-default: no policy permits fr.search for roles []"
    );

    // A role held without the course (e.g. stale principal) is still refused by the FR policy.
    let mut stale = principal(Role::FrInvestigator);
    stale.courses.clear();
    assert!(
        !e.decide(&stale, Action::FrSearch, &r, &Context::default())
            .allowed
    );
}

#[test]
fn sec_02_assignment_end_ends_case_access() {
    let e = engine();
    let p = person(PersonKind::Member);
    let a = Assignment {
        id: AssignmentId::new(),
        person: p.id,
        role: Role::Investigator,
        command: cmd(HOME),
        start: at(2026, 1, 1),
        end: Some(at(2026, 6, 1)),
    };
    let case = Resource::Case(CaseRef {
        id: CaseId::new(),
        command: cmd(HOME),
        assigned_investigator: Some(p.id),
        political_activity: false,
    });
    let decide_at = |now| {
        let access = effective_roles(&p, std::slice::from_ref(&a), &[], &[], &commands(), now);
        e.decide(
            &Principal::from_access(&p, &access),
            Action::CaseRead,
            &case,
            &Context::default(),
        )
    };
    assert!(decide_at(at(2026, 5, 31)).allowed);
    assert!(!decide_at(at(2026, 6, 1)).allowed);
}

#[test]
fn ext_06_vendor_contract_expiry_and_scope() {
    let e = engine();
    let p = person(PersonKind::Vendor);
    let a = Assignment {
        id: AssignmentId::new(),
        person: p.id,
        role: Role::Vendor,
        command: cmd("DB-FIS"),
        start: at(2026, 1, 1),
        end: None,
    };
    let c = Contract {
        kind: ContractKind::VendorContract,
        reference: "C-17".into(),
        organisation: "Example Imaging".into(),
        person: p.id,
        start: day(2026, 1, 1),
        ends: day(2026, 6, 30),
        scope: [Technology::FacialRecognition].into(),
    };
    let decide_at = |now, action, resource: &Resource| {
        let access = effective_roles(
            &p,
            std::slice::from_ref(&a),
            &[],
            std::slice::from_ref(&c),
            &commands(),
            now,
        );
        e.decide(
            &Principal::from_access(&p, &access),
            action,
            resource,
            &Context::default(),
        )
    };
    let fr = Resource::Technology(Technology::FacialRecognition);
    let d = decide_at(at(2026, 6, 30), Action::SystemMaintain, &fr);
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (true, "EXT-06.vendor-maintains-contracted-technology")
    );
    // Least privilege: not another technology, not case data.
    let th = Resource::Technology(Technology::ThermographicCameras);
    assert!(!decide_at(at(2026, 6, 30), Action::SystemMaintain, &th).allowed);
    let vendor = principal(Role::Vendor);
    let d = decide_at(
        at(2026, 6, 30),
        Action::CaseRead,
        &resource_for(ResourceKind::Case, &vendor),
    );
    assert_eq!(d.rule, "EXT-06.vendor-least-privilege");
    // Time-boxed: the day after the contract ends, nothing.
    let d = decide_at(at(2026, 7, 1), Action::SystemMaintain, &fr);
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "EXT-06.vendor-contract-in-force")
    );
}

#[test]
fn ext_03_proposer_never_approves() {
    let e = engine();
    let mut apo = principal(Role::AgencyPrivacyOfficer);
    apo.roles.insert(Role::Investigator);
    let r = Resource::Disclosure {
        id: "d".into(),
        case: case_of(&apo),
        created_by: apo.user,
    };
    let d = e.decide(&apo, Action::DisclosureApprove, &r, &Context::default());
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "EXT-03.no-self-approval")
    );
}

#[test]
fn th_05_live_view_only_under_authorization_in_force() {
    let e = engine();
    let p = principal(Role::Investigator);
    let r = Resource::ThermalDeployment {
        id: "t".into(),
        command: cmd(HOME),
        authorization_in_force: false,
    };
    let d = e.decide(&p, Action::ThermalLiveView, &r, &Context::default());
    assert!(!d.allowed);
    let mut untrained = p.clone();
    untrained.courses.remove(&Course::ThermographicCameras);
    let r = Resource::ThermalDeployment {
        id: "t".into(),
        command: cmd(HOME),
        authorization_in_force: true,
    };
    assert!(
        !e.decide(&untrained, Action::ThermalLiveView, &r, &Context::default())
            .allowed
    );
    assert!(
        e.decide(&p, Action::ThermalLiveView, &r, &Context::default())
            .allowed
    );
}

#[test]
fn th_03_thermal_frames_never_ingested_as_evidence() {
    let e = engine();
    let p = principal(Role::Investigator);
    let r = Resource::Evidence {
        id: "x".into(),
        case: case_of(&p),
        technology: Some(Technology::ThermographicCameras),
    };
    let d = e.decide(&p, Action::EvidenceIngest, &r, &Context::default());
    assert_eq!(
        (d.allowed, d.rule.as_str()),
        (false, "TH-03.no-thermal-retention")
    );
}

#[test]
fn ovr_01_camera_images_need_camera_training() {
    let e = engine();
    let mut p = principal(Role::Investigator);
    p.courses.remove(&Course::DigitalCameras);
    let r = resource_for(ResourceKind::Evidence, &p);
    assert!(
        !e.decide(&p, Action::EvidenceIngest, &r, &Context::default())
            .allowed
    );
    let other = Resource::Evidence {
        id: "x".into(),
        case: case_of(&p),
        technology: None,
    };
    assert!(
        e.decide(&p, Action::EvidenceIngest, &other, &Context::default())
            .allowed
    );
}

#[test]
fn invalid_request_is_denied_and_says_why() {
    let e = engine();
    let p = principal(Role::Investigator);
    let d = e.decide(&p, Action::CaseRead, &Resource::System, &Context::default());
    assert!(!d.allowed);
    assert_eq!(
        d.rule,
        "invalid-request: case.read applies to a Case resource, not a System"
    );
}

// ------------------------------------------------------------------ packs

#[test]
fn ovr_02_every_pack_has_version_and_revision_history() {
    let e = engine();
    let ids: Vec<&str> = e.packs().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "probity-core",
            "facial-recognition",
            "digital-cameras",
            "thermographic-cameras"
        ]
    );
    for p in e.packs() {
        assert!(!p.version.is_empty(), "{}", p.id);
        assert!(!p.revisions.is_empty(), "{}", p.id);
        assert_eq!(
            p.revisions.last().map(|r| r.date),
            Some(p.effective),
            "{}",
            p.id
        );
        assert!(!p.policy_ids.is_empty(), "{}", p.id);
        assert_eq!(p.disclosure_bases.len(), 7, "{}", p.id);
    }
    let fr = e.pack_for(Technology::FacialRecognition).unwrap();
    let addenda: Vec<NaiveDate> = fr
        .revisions
        .iter()
        .filter(|r| r.kind == RevisionKind::Addendum)
        .map(|r| r.date)
        .collect();
    assert_eq!(addenda, [day(2023, 10, 26), day(2023, 11, 24)]);
    assert_eq!(fr.effective, day(2026, 2, 4));
    let th = e.pack_for(Technology::ThermographicCameras).unwrap();
    assert_eq!(th.revisions[0].kind, RevisionKind::Addendum);
    assert!(th.revisions[0]
        .description
        .contains("autonomous security robot"));
    assert!(th
        .retention_rules
        .iter()
        .any(|r| r.rule.as_str() == "RET-10"));
}

#[test]
fn ovr_02_every_action_is_permitted_somewhere_and_declared() {
    use cedar_policy::{ActionConstraint, Effect};
    let e = engine();
    // Actions that no policy permits on purpose. Empty: every action has an owner.
    const DENIED_TO_ALL: &[Action] = &[];
    let mut permitted = BTreeSet::new();
    for p in e
        .policy_set()
        .policies()
        .filter(|p| p.effect() == Effect::Permit)
    {
        match p.action_constraint() {
            ActionConstraint::Any => panic!("permit {} applies to every action", p.id()),
            ActionConstraint::Eq(a) => {
                permitted.insert(a.id().unescaped().to_string());
            }
            ActionConstraint::In(v) => {
                permitted.extend(v.iter().map(|a| a.id().unescaped().to_string()))
            }
        }
    }
    for a in Action::ALL {
        assert!(
            permitted.contains(a.as_str()) || DENIED_TO_ALL.contains(a),
            "{a} appears in no permit policy and is not listed as denied to all"
        );
    }
    let (schema, _) = cedar_policy::Schema::from_cedarschema_str(EMBEDDED_SCHEMA).unwrap();
    let declared: BTreeSet<String> = schema
        .actions()
        .map(|a| a.id().unescaped().to_string())
        .collect();
    let ours: BTreeSet<String> = Action::ALL.iter().map(|a| a.as_str().to_string()).collect();
    assert_eq!(
        declared, ours,
        "the Cedar schema declares exactly the actions of Action::ALL"
    );
    for a in Action::ALL {
        assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
    }
}

fn with_pack(name: &str, edit: impl Fn(&mut PackSource)) -> Result<PolicyEngine, PolicyError> {
    let mut sources = embedded_sources();
    let src = sources.iter_mut().find(|s| s.name == name).unwrap();
    edit(src);
    PolicyEngine::from_sources(EMBEDDED_SCHEMA, &sources)
}

#[test]
fn ovr_02_broken_packs_fail_at_start() {
    let no_id = with_pack("core", |s| {
        s.cedar
            .push_str("\npermit (principal, action == Probity::Action::\"case.read\", resource);\n")
    });
    assert!(no_id.unwrap_err().to_string().contains("has no @id"));

    let bad_attr = with_pack("core", |s| {
        s.cedar.push_str("\n@id(\"SEC-02.typo\")\npermit (principal, action == Probity::Action::\"case.read\", resource) when { principal.rolez.contains(\"x\") };\n")
    });
    assert!(matches!(bad_attr.unwrap_err(), PolicyError::Validation(_)));

    let dup = with_pack("core", |s| {
        s.cedar.push_str("\n@id(\"SEC-02.self-read\")\npermit (principal, action == Probity::Action::\"self.read\", resource);\n")
    });
    assert!(dup.unwrap_err().to_string().contains("used twice"));

    let wording = with_pack("facial_recognition", |s| {
        s.toml = s
            .toml
            .replace("To identify a deceased person;", "To identify anyone;")
    });
    let err = wording.unwrap_err().to_string();
    assert!(
        err.contains("FR-05") && err.contains("deceased_person"),
        "{err}"
    );

    let unknown_role = with_pack("digital_cameras", |s| {
        s.toml = s
            .toml
            .replace("role = \"supervisor\"", "role = \"sheriff\"")
    });
    assert!(unknown_role
        .unwrap_err()
        .to_string()
        .contains("unknown role 'sheriff'"));

    let six_bases = with_pack("thermographic_cameras", |s| {
        s.toml = s
            .toml
            .replace("key = \"designated_routine\"", "key = \"required_by_law\"")
    });
    assert!(six_bases
        .unwrap_err()
        .to_string()
        .contains("disclosure_bases"));

    let no_history = with_pack("digital_cameras", |s| {
        s.toml = s.toml.replace(
            "[[revisions]]\ndate = 2026-02-04\nkind = \"revision\"",
            "[[old]]\ndate = 2026-02-04\nkind = \"revision\"",
        )
    });
    assert!(no_history.is_err());

    let broken_syntax = with_pack("thermographic_cameras", |s| {
        s.cedar.push_str("\n@id(\"TH-05.x\") permit (principal")
    });
    assert!(matches!(
        broken_syntax.unwrap_err(),
        PolicyError::CedarParse { .. }
    ));
}

fn seeds_dir() -> std::path::PathBuf {
    let data = std::env::var("PROBITY_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        });
    let seeds = data.join("../seeds");
    assert!(
        seeds.is_dir(),
        "policy seed texts not found at {} (set PROBITY_TEST_DATA to the shared data directory, beside which seeds/ lies)",
        seeds.display()
    );
    seeds
}

fn squash(s: &str) -> String {
    s.replace(['\u{2019}', '\u{2018}'], "'")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn ovr_02_pack_wording_is_the_published_wording() {
    let e = engine();
    let dir = seeds_dir();
    for p in e.packs().iter().filter(|p| p.technology.is_some()) {
        let file = p.source.trim_start_matches("seeds/");
        let text =
            std::fs::read_to_string(dir.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        let text = squash(&text).replace("- individual's", "individual's");
        for u in &p.authorized_uses {
            assert!(
                text.contains(&squash(&u.wording)),
                "{}: {}",
                p.id,
                u.wording
            );
        }
        for b in &p.disclosure_bases {
            assert!(
                text.contains(&squash(&b.wording)),
                "{}: {}",
                p.id,
                b.wording
            );
        }
        for r in &p.revisions {
            assert!(
                text.contains(&squash(&r.description)),
                "{}: {}",
                p.id,
                r.description
            );
        }
    }
}

#[test]
fn engine_is_shareable_across_server_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyEngine>();
}

/// RET-01..RET-10: the schedule the packs in force give is the policy's, line by line, and a
/// pack that leaves a classification out, or changes a period, is a different schedule.
#[test]
fn ret_schedule_in_force_is_the_policys() {
    use probity_domain::{Keep, OffenceClassification as O, RetentionAnchor as A};
    let e = engine();
    let s = e
        .retention_schedule()
        .expect("the packs in force make a whole schedule");
    let line = |c: O| s.case_rule(c).expect("covered").clone();
    for c in [
        O::Homicide,
        O::Suicide,
        O::Arson1,
        O::Arson2,
        O::Arson3,
        O::AggravatedSexualAssault1,
        O::CourseOfSexualConductAgainstChild1,
        O::ActiveWarrant,
    ] {
        assert_eq!(line(c).keep, Keep::Permanent, "{c}");
        assert_eq!(line(c).rule_id.as_str(), "RET-01");
    }
    let years = |c: O| match line(c).keep {
        Keep::YearsAfter { years, from } => (line(c).rule_id.as_str(), years, from),
        other => panic!("{c}: {other:?}"),
    };
    assert_eq!(years(O::Arson4), ("RET-02", 10, A::Closure));
    assert_eq!(years(O::NonFatal), ("RET-02", 10, A::Closure));
    assert_eq!(years(O::OtherFelony), ("RET-03", 25, A::Closure));
    assert_eq!(years(O::Misdemeanor), ("RET-04", 5, A::Closure));
    assert_eq!(
        years(O::ViolationOrTrafficInfraction),
        ("RET-05", 1, A::Closure)
    );
    assert_eq!(
        years(O::ChildVictimsActOffence),
        ("RET-06", 55, A::ChildDateOfBirth)
    );
    assert_eq!(years(O::NoOffenceByAdult), ("RET-07", 5, A::Closure));
    assert_eq!(
        years(O::JuvenileNoArrestOrNoOffence),
        ("RET-08", 19, A::JuvenileDateOfBirth)
    );
    assert_eq!(
        (
            s.personal_files.years_after_death,
            s.personal_files.years_after_birth,
            s.personal_files.arrest_free_years
        ),
        (5, 90, 5)
    );
    assert_eq!(s.robot_data.days, 30);

    // A pack whose schedule misses a classification does not load.
    let mut sources = embedded_sources();
    let core = sources
        .iter_mut()
        .find(|p| p.toml.contains("id = \"probity-core\""))
        .expect("core pack");
    core.toml = core.toml.replace(
        "classifications = [\"misdemeanor\"]",
        "classifications = []",
    );
    let err = PolicyEngine::from_sources(EMBEDDED_SCHEMA, &sources)
        .expect_err("a schedule line without classifications");
    assert!(err.to_string().contains("no classifications"), "{err}");
}

#[test]
fn sec_05_commanding_officer_audits_own_command_only() {
    let e = engine();
    let co = principal(Role::CommandingOfficer);
    let scope = |codes: &[&str], department_wide| Resource::AuditScope {
        commands: codes.iter().map(|c| cmd(c)).collect(),
        department_wide,
    };
    let own = e.decide(
        &co,
        Action::AuditFocused,
        &scope(&[HOME], false),
        &Context::default(),
    );
    assert!(own.allowed, "{}", own.rule);
    assert_eq!(own.rule, "SEC-05.commanding-officer-focused-audits");
    for refused in [
        scope(&["PCT-020"], false),
        scope(&[HOME, "PCT-020"], false),
        scope(&[], true),
    ] {
        let d = e.decide(&co, Action::AuditFocused, &refused, &Context::default());
        assert!(!d.allowed, "{refused:?}");
        assert_eq!(d.rule, "SEC-05.commanding-officer-own-command-only");
    }
    for role in [
        Role::IabAuditor,
        Role::IntegrityControlOfficer,
        Role::InvestigationsUnit,
    ] {
        let d = e.decide(
            &principal(role),
            Action::AuditFocused,
            &scope(&["PCT-020"], true),
            &Context::default(),
        );
        assert!(d.allowed, "{role}: {}", d.rule);
    }
}
