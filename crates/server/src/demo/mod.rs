//! Demonstration data: clearly labelled, pseudonymous people and cases, so the system can be explored
//! right after installation. Every record is written with its audit entry, like any other change.
//!
//! [`seed`] writes the people, cases and cameras every server test starts from; `probity demo`
//! then adds work in progress ([`activity::seed_activity`]) and a live thermal source
//! ([`live::spawn`]).

pub mod activity;
pub mod live;

pub use activity::{seed_activity, ActivityReport};

use chrono::{Duration, NaiveDate, Utc};
use probity_store::{assignments, audit, cases, training, users, vendors, Store, Tx};

/// A demonstration login.
pub struct DemoLogin {
    pub username: &'static str,
    pub password: &'static str,
    pub what: &'static str,
}

/// One password for every demonstration account; printed by `probity demo`.
pub const DEMO_PASSWORD: &str = "demo-password-2026";

struct DemoPerson {
    username: &'static str,
    name: &'static str,
    rank: &'static str,
    command: &'static str,
    kind: &'static str,
    roles: &'static [&'static str],
    courses: &'static [&'static str],
    what: &'static str,
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        username: "admin",
        name: "Demo Administrator",
        rank: "civilian",
        command: "MISD",
        kind: "member",
        roles: &["administrator"],
        courses: &[],
        what: "administrator: people, assignments, training",
    },
    DemoPerson {
        username: "det.rivera",
        name: "Det. Demo Rivera",
        rank: "detective",
        command: "PCT-019",
        kind: "member",
        roles: &["investigator"],
        courses: &["digital_cameras"],
        what: "investigator, assigned to DEMO cases",
    },
    DemoPerson {
        username: "det.okafor",
        name: "Det. Demo Adeyemi",
        rank: "detective",
        command: "PCT-019",
        kind: "member",
        roles: &["investigator"],
        courses: &["digital_cameras"],
        what: "investigator, no cases assigned",
    },
    DemoPerson {
        username: "fri.chen",
        name: "Det. Demo Chen",
        rank: "detective",
        command: "DB-FIS",
        kind: "member",
        roles: &["fr_investigator"],
        courses: &["fr_basic"],
        what: "facial recognition investigator",
    },
    DemoPerson {
        username: "fri.novak",
        name: "Det. Demo Novak",
        rank: "detective",
        command: "DB-FIS",
        kind: "member",
        roles: &["fr_investigator"],
        courses: &["fr_basic"],
        what: "facial recognition investigator (peer reviewer)",
    },
    DemoPerson {
        username: "sgt.haddad",
        name: "Sgt. Demo Haddad",
        rank: "sergeant",
        command: "DB-FIS",
        kind: "member",
        roles: &["fr_supervisor"],
        courses: &["fr_basic"],
        what: "FR supervisor",
    },
    DemoPerson {
        username: "lt.moreau",
        name: "Lt. Demo Moreau",
        rank: "lieutenant",
        command: "PCT-019",
        kind: "member",
        roles: &["supervisor"],
        courses: &["thermographic_cameras", "digital_cameras"],
        what: "precinct supervisor",
    },
    DemoPerson {
        username: "ico.stein",
        name: "Lt. Demo Stein",
        rank: "lieutenant",
        command: "PCT-019",
        kind: "member",
        roles: &["integrity_control_officer"],
        courses: &[],
        what: "Integrity Control Officer",
    },
    DemoPerson {
        username: "iab.walsh",
        name: "Sgt. Demo Walsh",
        rank: "sergeant",
        command: "IAB",
        kind: "member",
        roles: &["iab_auditor"],
        courses: &[],
        what: "IAB auditor",
    },
    DemoPerson {
        username: "co.grant",
        name: "Capt. Demo Grant",
        rank: "captain",
        command: "PCT-019",
        kind: "member",
        roles: &["commanding_officer"],
        courses: &[],
        what: "commanding officer of the 19th Precinct (focused audits of the command)",
    },
    DemoPerson {
        username: "iu.reyes",
        name: "Lt. Demo Reyes",
        rank: "lieutenant",
        command: "HQ",
        kind: "member",
        roles: &["investigations_unit"],
        courses: &[],
        what: "investigations unit (misuse investigations, focused audits)",
    },
    DemoPerson {
        username: "apo.singh",
        name: "Demo Singh",
        rank: "civilian",
        command: "LEGAL",
        kind: "member",
        roles: &["agency_privacy_officer"],
        courses: &[],
        what: "Agency Privacy Officer",
    },
    DemoPerson {
        username: "po.okafor",
        name: "Demo Okafor",
        rank: "civilian",
        command: "LEGAL",
        kind: "member",
        roles: &["policy_owner"],
        courses: &[],
        what: "policy owner (approves policy revisions and addenda)",
    },
    DemoPerson {
        username: "rec.lopez",
        name: "Demo Lopez",
        rank: "civilian",
        command: "RECORDS",
        kind: "member",
        roles: &["records_officer"],
        courses: &[],
        what: "records officer",
    },
    DemoPerson {
        username: "rm.adeyemi",
        name: "Demo Adeyemi",
        rank: "civilian",
        command: "RECORDS",
        kind: "member",
        roles: &["records_manager"],
        courses: &[],
        what: "records manager (approves dispositions)",
    },
    DemoPerson {
        username: "intel.park",
        name: "Det. Demo Park",
        rank: "detective",
        command: "INTEL",
        kind: "member",
        roles: &["investigator"],
        courses: &[],
        what: "Intelligence Division investigator (FR-25)",
    },
    DemoPerson {
        username: "cod.burke",
        name: "Chief Demo Burke",
        rank: "chief_of_department",
        command: "HQ",
        kind: "member",
        roles: &["chief_of_department"],
        courses: &[],
        what: "Chief of Department (FR-18, FR-19 decisions)",
    },
    DemoPerson {
        username: "cdet.ames",
        name: "Chief Demo Ames",
        rank: "bureau_chief",
        command: "HQ",
        kind: "member",
        roles: &["chief_of_detectives"],
        courses: &[],
        what: "Chief of Detectives (FR-18, FR-19 decisions)",
    },
    DemoPerson {
        username: "dci.nolan",
        name: "DC Demo Nolan",
        rank: "deputy_commissioner",
        command: "HQ",
        kind: "member",
        roles: &["deputy_commissioner_intelligence"],
        courses: &[],
        what: "Deputy Commissioner of Intelligence and Counterterrorism (FR-18, FR-19 decisions)",
    },
    DemoPerson {
        username: "vendor.kim",
        name: "Demo Kim (vendor)",
        rank: "non_member",
        command: "VENDOR",
        kind: "vendor",
        roles: &["vendor"],
        courses: &[],
        what: "vendor under a time-boxed contract",
    },
];

/// The usernames of the demonstration people, one per role.
pub fn usernames() -> Vec<&'static str> {
    PEOPLE.iter().map(|p| p.username).collect()
}

/// Writes the demonstration data unless it is already there. Returns the logins to print.
pub async fn seed(
    store: &Store,
    passwords: &probity_auth::PasswordService,
) -> anyhow::Result<Vec<DemoLogin>> {
    let mut tx = store.begin().await?;
    let already = users::get_by_username(&mut tx, "admin").await?.is_some();
    if !already {
        seed_people(&mut tx, passwords).await?;
        seed_cases(&mut tx).await?;
        crate::evidence::seed_demo(&mut tx).await?;
    }
    tx.commit().await?;
    crate::fr::seed_demo(store).await?;
    Ok(PEOPLE
        .iter()
        .map(|p| DemoLogin {
            username: p.username,
            password: DEMO_PASSWORD,
            what: p.what,
        })
        .collect())
}

async fn seed_people(tx: &mut Tx, passwords: &probity_auth::PasswordService) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let start = day(today - chrono::Days::new(365));
    for p in PEOPLE {
        let hash = passwords.hash(p.username, DEMO_PASSWORD)?;
        let u = users::create(
            tx,
            &users::NewUser {
                username: p.username.into(),
                display_name: p.name.into(),
                rank: Some(p.rank.into()),
                command: Some(p.command.into()),
                password_hash: Some(hash),
                kind: p.kind.into(),
            },
        )
        .await?;
        for role in p.roles {
            assignments::create(
                tx,
                &assignments::NewAssignment {
                    user_id: u.id,
                    role: Some((*role).into()),
                    unit: None,
                    command: p.command.into(),
                    starts_at: start,
                    ends_at: None,
                },
            )
            .await?;
        }
        for course in p.courses {
            training::create(
                tx,
                &training::NewTraining {
                    user_id: u.id,
                    course: (*course).into(),
                    completed_at: start,
                    expires_at: Some(day(today + chrono::Days::new(365))),
                },
            )
            .await?;
        }
        if p.kind == "vendor" {
            vendors::create(
                tx,
                &vendors::NewVendorContract {
                    user_id: u.id,
                    contract_ref: "DEMO-CONTRACT-001".into(),
                    starts_at: start,
                    ends_at: Utc::now() + Duration::days(90),
                    // The demo vendor maintains the thermal cameras only (EXT-06).
                    technologies: vec!["thermographic_cameras".into()],
                    agreement_terms: None,
                },
            )
            .await?;
        }
        record(tx, "user.create", "user", p.username).await?;
    }
    Ok(())
}

async fn seed_cases(tx: &mut Tx) -> anyhow::Result<()> {
    let rivera = users::get_by_username(tx, "det.rivera")
        .await?
        .map(|u| u.id);
    let park = users::get_by_username(tx, "intel.park")
        .await?
        .map(|u| u.id);
    let demo_cases = [
        ("2026-019-000101", "other_felony", "PCT-019", rivera, false),
        ("2026-019-000102", "misdemeanor", "PCT-019", rivera, false),
        ("2026-019-000103", "missing_person", "PCT-019", None, false),
        ("INTEL-2026-00007", "other_felony", "INTEL", park, true),
    ];
    for (number, offence, command, investigator, political) in demo_cases {
        cases::create(
            tx,
            &cases::NewCase {
                case_number: number.into(),
                offence_classification: offence.into(),
                status: "open".into(),
                command: command.into(),
                assigned_investigator: investigator,
                political_activity: political,
                created_by: "system:demo".into(),
            },
        )
        .await?;
        record(tx, "case.create", "case", number).await?;
    }
    Ok(())
}

fn day(d: NaiveDate) -> chrono::DateTime<Utc> {
    d.and_time(chrono::NaiveTime::MIN).and_utc()
}

async fn record(tx: &mut Tx, action: &str, record_type: &str, id: &str) -> anyhow::Result<()> {
    audit::append(
        tx,
        &audit::AuditEvent {
            actor: "system:demo".into(),
            action: action.into(),
            record_type: record_type.into(),
            record_id: id.into(),
            reason: Some("demonstration data".into()),
            outcome: audit::Outcome::Success,
            detail: serde_json::json!({ "demo": true }),
        },
    )
    .await?;
    Ok(())
}
