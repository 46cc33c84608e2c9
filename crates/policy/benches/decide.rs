//! Benchmark: pack loading and authorization decisions per second.
//!
//! Run: `cargo bench -p probity-policy --bench decide`. There is no external reference tool for
//! Cedar decisions on this machine, so the figure printed is absolute (decisions per second over
//! the full role x action matrix, and the cost of loading and validating all packs).

use std::collections::BTreeSet;
use std::time::Instant;

use probity_domain::{CaseId, CommandCode, Course, FrRequestId, Role, Technology, UserId};
use probity_policy::{Action, CaseRef, Context, PolicyEngine, Principal, Resource, ResourceKind};

fn principal(role: Role) -> Result<Principal, Box<dyn std::error::Error>> {
    let home: BTreeSet<CommandCode> = [CommandCode::parse("PCT-019")?].into();
    Ok(Principal {
        user: UserId::new(),
        kind: role.requirements().kind,
        roles: [role].into(),
        commands: home.clone(),
        investigator_commands: if role == Role::Investigator {
            home.clone()
        } else {
            BTreeSet::new()
        },
        supervisor_commands: if role == Role::Supervisor {
            home.clone()
        } else {
            BTreeSet::new()
        },
        commanding_officer_commands: if role == Role::CommandingOfficer {
            home.clone()
        } else {
            BTreeSet::new()
        },
        intelligence_division: false,
        courses: Course::ALL.iter().copied().collect(),
        contract_active: true,
        contract_scope: Technology::ALL.iter().copied().collect(),
    })
}

fn resource(kind: ResourceKind, p: &Principal) -> Result<Resource, Box<dyn std::error::Error>> {
    let case = CaseRef {
        id: CaseId::new(),
        command: CommandCode::parse("PCT-019")?,
        assigned_investigator: Some(p.user),
        political_activity: false,
    };
    Ok(match kind {
        ResourceKind::System => Resource::System,
        ResourceKind::Account => Resource::Account {
            user: UserId::new(),
        },
        ResourceKind::Case => Resource::Case(case),
        ResourceKind::Evidence => Resource::Evidence {
            id: "e".into(),
            case,
            technology: Some(Technology::DigitalCameras),
        },
        ResourceKind::Device => Resource::Device {
            id: "d".into(),
            command: case.command,
            technology: Technology::DigitalCameras,
        },
        ResourceKind::FrRequest => Resource::FrRequest {
            id: FrRequestId::new(),
            case,
            requester: p.user,
        },
        ResourceKind::ThermalDeployment => Resource::ThermalDeployment {
            id: "t".into(),
            command: case.command,
            authorization_in_force: true,
        },
        ResourceKind::Disclosure => Resource::Disclosure {
            id: "x".into(),
            case,
            created_by: UserId::new(),
        },
        ResourceKind::Technology => Resource::Technology(Technology::FacialRecognition),
        ResourceKind::AuditScope => Resource::AuditScope {
            commands: [case.command.clone()].into(),
            department_wide: false,
        },
        ResourceKind::Command => Resource::Command(case.command),
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let loads = 20;
    let start = Instant::now();
    let mut engine = PolicyEngine::load()?;
    for _ in 1..loads {
        engine = PolicyEngine::load()?;
    }
    let load_ms = start.elapsed().as_secs_f64() * 1000.0 / f64::from(loads);

    let mut requests = Vec::new();
    for role in Role::ALL {
        let p = principal(*role)?;
        for a in Action::ALL {
            let r = resource(a.resource_kind(), &p)?;
            requests.push((p.clone(), *a, r));
        }
    }
    let rounds = 20;
    let mut allowed = 0usize;
    let start = Instant::now();
    for _ in 0..rounds {
        for (p, a, r) in &requests {
            allowed += usize::from(engine.decide(p, *a, r, &Context::default()).allowed);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let n = requests.len() * rounds;
    println!(
        "policy packs: load + strict validation {load_ms:.2} ms per load ({} packs)",
        engine.packs().len()
    );
    println!(
        "decide: {n} decisions in {secs:.3} s = {:.0} decisions/s, {:.1} us each ({} allowed)",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        allowed / rounds
    );
    Ok(())
}
