//! Authorization end to end against the running server (SEC-01, SEC-02, FR-25, DC-03): an
//! adversarial matrix over every route of the route table and every kind of caller, and named
//! attacks that once got through.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{Duration, Utc};
use common::{Backend, TestServer};
use probity_domain::{CommandCode, Technology, UserId};
use probity_policy::{Action, CaseRef, Resource};
use probity_server::config::CommandSection;
use probity_server::decision::{self, PathResource};
use probity_server::principal::Principal;
use probity_server::routes::{Access, ResourceFrom, RouteSpec};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const CASE: &str = "2026-019-000101";
const POLITICAL_CASE: &str = "INTEL-2026-00007";
const OTHER_PASSWORD: &str = "a-long-enough-password-for-tests";

fn data() -> PathBuf {
    let base = std::env::var_os("PROBITY_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        });
    assert!(
        base.join("camera/nikon_d70.jpg").is_file() && base.join("faces/lfw").is_dir(),
        "test data missing under {}: set PROBITY_TEST_DATA to the shared data folder",
        base.display()
    );
    base
}

fn with_other_command(c: &mut probity_server::Config) {
    // Room for a real camera file.
    c.max_body_bytes = 64 * 1024 * 1024;
    c.commands.push(CommandSection {
        code: "PCT-075".into(),
        name: "75th Precinct".into(),
        intelligence_division: false,
    });
}

/// Creates a person directly in the store with one assignment, optional training and contract.
#[allow(clippy::too_many_arguments)]
async fn person(
    srv: &TestServer,
    username: &str,
    kind: &str,
    role: &str,
    command: &str,
    assignment_ends: Option<chrono::DateTime<Utc>>,
    training: Option<(&str, chrono::DateTime<Utc>)>,
    contract_ends: Option<chrono::DateTime<Utc>>,
) {
    use probity_store::{assignments, training as tr, users, vendors};
    let hash = srv
        .state
        .passwords
        .hash(username, OTHER_PASSWORD)
        .expect("hash");
    let start = Utc::now() - Duration::days(400);
    let mut tx = srv.state.store.begin().await.expect("tx");
    let u = users::create(
        &mut tx,
        &users::NewUser {
            username: username.into(),
            display_name: format!("Test {username}"),
            rank: Some("detective".into()),
            command: Some(command.into()),
            password_hash: Some(hash),
            kind: kind.into(),
        },
    )
    .await
    .expect("user");
    if !role.is_empty() {
        assignments::create(
            &mut tx,
            &assignments::NewAssignment {
                user_id: u.id,
                role: Some(role.into()),
                unit: None,
                command: command.into(),
                starts_at: start,
                ends_at: assignment_ends,
            },
        )
        .await
        .expect("assignment");
    }
    if let Some((course, expires)) = training {
        tr::create(
            &mut tx,
            &tr::NewTraining {
                user_id: u.id,
                course: course.into(),
                completed_at: start,
                expires_at: Some(expires),
            },
        )
        .await
        .expect("training");
    }
    if let Some(ends) = contract_ends {
        vendors::create(
            &mut tx,
            &vendors::NewVendorContract {
                user_id: u.id,
                contract_ref: format!("C-{username}"),
                starts_at: start,
                ends_at: ends,
                technologies: vec![
                    "facial_recognition".into(),
                    "digital_cameras".into(),
                    "thermographic_cameras".into(),
                ],
                agreement_terms: None,
            },
        )
        .await
        .expect("contract");
    }
    tx.commit().await.expect("commit");
}

async fn sign_in(srv: &TestServer, username: &str, password: &str) -> reqwest::Client {
    let c = common::client();
    let r = c
        .post(format!("{}/api/session", srv.url))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(r.status(), StatusCode::OK, "sign in as {username}");
    c
}

fn case_ref(case: &probity_store::cases::Case) -> CaseRef {
    decision::case_ref(case).expect("case command")
}

/// The seeded records the matrix fills path parameters with.
struct Seeded {
    fr_request: String,
    fr_resource: Resource,
    item: String,
    device: String,
    device_resource: Resource,
    source: String,
    deployment: Resource,
    hold: String,
    foil: String,
}

async fn seed(srv: &TestServer) -> Seeded {
    let data = data();
    let rivera = srv.login("det.rivera").await;
    // An FR request on the case, with a real face still.
    let still = std::fs::read(data.join("faces/lfw/Aaron_Peirsol/Aaron_Peirsol_0001.jpg"))
        .or_else(|_| {
            let dir = std::fs::read_dir(data.join("faces/lfw"))?
                .filter_map(Result::ok)
                .find(|e| e.path().is_dir())
                .map(|e| e.path())
                .ok_or_else(|| std::io::Error::other("no identity"))?;
            let first = std::fs::read_dir(&dir)?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "jpg"))
                .ok_or_else(|| std::io::Error::other("no image"))?;
            std::fs::read(first)
        })
        .expect("a face still");
    let form = reqwest::multipart::Form::new()
        .text("authorized_use", "suspect")
        .part(
            "still_0",
            reqwest::multipart::Part::bytes(still).file_name("still.jpg"),
        )
        .text("source_0", "cctv");
    let r = rivera
        .post(format!("{}/api/cases/{CASE}/fr-requests", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("fr request");
    assert_eq!(r.status(), StatusCode::CREATED);
    let body: Value = r.json().await.expect("json");
    let fr_request = body["id"].as_str().expect("id").to_string();
    let case = srv
        .state
        .load_case(CASE)
        .await
        .expect("case")
        .expect("demo case");
    let rivera_id = srv.principal("det.rivera").await.person.id;
    let fr_resource = Resource::FrRequest {
        id: probity_domain::FrRequestId(uuid::Uuid::parse_str(&fr_request).expect("uuid")),
        case: case_ref(&case),
        requester: rivera_id,
    };
    // A camera file in the case.
    let jpeg = std::fs::read(data.join("camera/nikon_d70.jpg")).expect("jpeg");
    let form = reqwest::multipart::Form::new()
        .text("purpose", "crime_scene")
        .text("basis_kind", "no_reasonable_expectation_of_privacy")
        .part(
            "file",
            reqwest::multipart::Part::bytes(jpeg).file_name("nikon_d70.jpg"),
        );
    let r = rivera
        .post(format!("{}/api/cases/{CASE}/evidence", srv.url))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let status = r.status();
    let body: Value = r.json().await.expect("json");
    assert!(status.is_success(), "upload: {body}");
    let item = body["files"][0]["item_id"]
        .as_str()
        .unwrap_or_else(|| panic!("item id in {body}"))
        .to_string();
    // A camera of the command.
    let moreau = srv.login("lt.moreau").await;
    let (s, dev) = srv
        .post(
            &moreau,
            "/api/devices",
            json!({ "device_type": "camera", "make": "NIKON CORPORATION", "model": "NIKON D70",
                    "serial": "No= 00002539", "storage_location": "PCT-019 evidence locker 3" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{dev}");
    let device = dev["id"].as_str().expect("device id").to_string();
    let device_resource = Resource::Device {
        id: device.clone(),
        command: CommandCode::parse("PCT-019").expect("command"),
        technology: Technology::DigitalCameras,
    };
    // A thermal source under a deployment authorization in force.
    let admin = srv.login("admin").await;
    let source = "thermal.matrix".to_string();
    let (s, b) = srv
        .post(
            &admin,
            "/api/users",
            json!({ "username": source, "display_name": "Thermal source matrix",
                    "rank": "civilian", "command": "PCT-019", "kind": "service" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, a) = srv
        .post(
            &moreau,
            "/api/thermal/authorizations",
            json!({
                "source": source, "source_kind": "handheld", "basis": "exigent_emergency",
                "risks_to_personnel": "dark warehouse", "risks_to_civilians": "none expected",
                "risks_to_suspects": "armed suspect", "legitimate_purpose": "locate the suspect",
                "duration_minutes": 240,
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let deployment = Resource::ThermalDeployment {
        id: a["id"].as_str().expect("authorization id").to_string(),
        command: CommandCode::parse("PCT-019").expect("command"),
        authorization_in_force: true,
    };
    // A legal hold placed by the Legal Bureau (RET-11).
    let legal = srv.login("apo.singh").await;
    let (s, h) = srv
        .post(
            &legal,
            "/api/holds",
            json!({ "subject_kind": "case", "subject": CASE,
                    "matter": "Matrix v. City", "reason": "the matrix needs a hold" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let hold = h["id"].as_str().expect("hold id").to_string();
    // A FOIL request from the public form (PUB-01), read back as the records officer.
    let (s, f) = srv
        .post(
            &common::client(),
            "/api/foil/public-requests",
            json!({ "requester": "Matrix Resident", "contact": "matrix@example.org",
                    "description": "the matrix needs a FOIL request" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{f}");
    let lopez = srv.login("rec.lopez").await;
    let (s, q) = srv.get(&lopez, "/api/foil/requests").await;
    assert_eq!(s, StatusCode::OK, "{q}");
    let foil = q["requests"][0]["id"]
        .as_str()
        .expect("foil id")
        .to_string();
    Seeded {
        fr_request,
        fr_resource,
        item,
        device,
        device_resource,
        source,
        deployment,
        hold,
        foil,
    }
}

/// What the matrix expects of one route instance: the actions the engine is asked and on what.
enum Expect {
    /// No decision needed; only no 5xx (and 401 for the anonymous caller where sign-in is needed).
    Open,
    /// Denied unless the engine allows at least one of `actions` on `resource`.
    AnyOf(Vec<Action>, Resource),
}

struct Instance {
    spec: RouteSpec,
    url: String,
    decided: bool,
}

fn fill(spec: &RouteSpec, s: &Seeded, username: &str) -> String {
    let robot = spec.path.starts_with("/api/thermal/robot/frames/");
    let mut path = spec
        .path
        .replace("{case}", CASE)
        .replace("{username}", username)
        .replace("{item}", &s.item)
        .replace("{device}", &s.device)
        .replace("{source}", &s.source)
        .replace("{n}", "0")
        .replace("{candidate}", &uuid::Uuid::nil().to_string())
        .replace("{arrest}", "ARR-MATRIX-1")
        .replace("{hold}", &s.hold)
        // No breach exists in this data: a well-formed id that names none.
        .replace("{breach}", &uuid::Uuid::nil().to_string())
        .replace("{foil}", &s.foil)
        .replace("{job}", "retention.robot_frames")
        .replace("{algorithm}", "facenet-512@2")
        // No disposition exists in this data: a well-formed id that names none.
        .replace("{disposition}", &uuid::Uuid::nil().to_string())
        // No FOIL record, box or release exists in this data: well-formed ids that name none.
        .replace("{record}", &uuid::Uuid::nil().to_string())
        .replace("{box}", &uuid::Uuid::nil().to_string())
        .replace("{release}", &uuid::Uuid::nil().to_string())
        // The decision is on the account; the assignment or training record the handler then
        // looks for is a well-formed id that names none.
        .replace("{assignment}", &uuid::Uuid::nil().to_string())
        .replace("{training}", &uuid::Uuid::nil().to_string())
        // No disclosure exists in this data: a well-formed id that names none.
        .replace("{disclosure}", &uuid::Uuid::nil().to_string())
        // No allegation exists in this data: a well-formed id that names none.
        .replace("{allegation}", &uuid::Uuid::nil().to_string())
        .replace("{command}", "PCT-019")
        .replace("{pack}", "facial-recognition")
        // No policy revision exists in this data: a well-formed id that names none.
        .replace("{revision}", &uuid::Uuid::nil().to_string());
    path = if robot {
        // No robot frame exists in this data: a well-formed id that names none.
        path.replace("{id}", &uuid::Uuid::now_v7().to_string())
    } else {
        path.replace("{id}", &s.fr_request)
    };
    assert!(
        !path.contains('{'),
        "the matrix cannot fill every parameter of {} {}: add it to fill()",
        spec.method,
        spec.path
    );
    if path.starts_with("/api/oversight/report") || path == "/oversight" {
        // The oversight report (OVR-03) is generated for a period: the year so far.
        path.push_str("?from=2026-01-01&to=2027-01-01");
    }
    path
}

/// Actions a `Handler` route's handler asks, by route (the matrix fails on a route it lacks).
fn handler_actions(spec: &RouteSpec, s: &Seeded, account: Option<&Resource>) -> Option<Expect> {
    use Action as A;
    let p = spec.path;
    if let Some(account) = account {
        // Administration of the account named in the path.
        return Some(Expect::AnyOf(
            vec![
                A::UserAdmin,
                A::UserAssignmentManage,
                A::UserTrainingManage,
                A::UserContractManage,
            ],
            account.clone(),
        ));
    }
    let get = spec.method == Method::GET;
    let fr = |actions: Vec<Action>| Some(Expect::AnyOf(actions, s.fr_resource.clone()));
    if p.contains("/fr/requests/{id}") {
        return match (get, p.rsplit('/').next().unwrap_or_default()) {
            (true, "{id}") => fr(vec![A::FrRequestRead]),
            (true, "quality") => fr(vec![A::FrQualityAssess]),
            (true, "image") => fr(vec![A::FrRequestRead]),
            (true, "candidates") | (true, "photo") => fr(vec![A::FrCandidatesRead]),
            (true, "{candidate}") => fr(vec![A::FrCandidatesRead]),
            (true, "proposed") => fr(vec![A::FrProposedCandidateRead]),
            (true, "report") | (true, "report.pdf") => fr(vec![A::FrReportRead]),
            (true, _) => None,
            // Steps: a step needs one of the request's actions.
            (false, _) => fr(A::ALL
                .iter()
                .copied()
                .filter(|a| a.resource_kind() == probity_policy::ResourceKind::FrRequest)
                .collect()),
        };
    }
    if p.contains("{device}") {
        return Some(Expect::AnyOf(
            vec![A::DeviceManage, A::DeviceInspect],
            s.device_resource.clone(),
        ));
    }
    if p.contains("{source}") {
        let action = if p.ends_with("/frames") || spec.method == Method::DELETE {
            A::ThermalLivePush
        } else {
            A::ThermalLiveView
        };
        return Some(Expect::AnyOf(vec![action], s.deployment.clone()));
    }
    if p.contains("{command}") {
        // Tour inspections decide on the command named; a post with an empty body records
        // nothing for anyone.
        return Some(if get {
            Expect::AnyOf(
                vec![A::InspectionRead],
                Resource::Command(probity_domain::CommandCode::parse("PCT-019").expect("code")),
            )
        } else {
            Expect::AnyOf(vec![], Resource::System)
        });
    }
    if p.contains("{disclosure}") {
        // The disclosure named does not exist: nothing may be shown or done.
        return Some(Expect::AnyOf(vec![], Resource::System));
    }
    if p.starts_with("/api/thermal/robot/frames/") {
        // The frame named does not exist: nothing may be shown.
        return Some(Expect::AnyOf(vec![], Resource::System));
    }
    if p.starts_with("/api/audit/focused") || p == "/audit/focused" {
        // Focused audits (SEC-05) decide on the caller's own scope before reading the query, then
        // on the scope the query names; the 19th Precinct is the demonstration commanding
        // officer's command.
        let own = probity_domain::CommandCode::parse("PCT-019").expect("command");
        return Some(Expect::AnyOf(
            vec![A::AuditFocused],
            Resource::AuditScope {
                commands: [own].into(),
                department_wide: false,
            },
        ));
    }
    // Creation routes decide on the record the body describes; an empty body describes none.
    match p {
        "/cases"
        | "/api/cases"
        | "/api/devices"
        | "/devices"
        | "/api/thermal/authorizations"
        | "/thermal/authorizations"
        | "/api/cases/{case}/disclosures"
        | "/disclosures"
        | "/api/policy/packs/{pack}/revisions"
        | "/policy/{pack}/revisions" => Some(Expect::AnyOf(vec![], Resource::System)),
        _ => None,
    }
}

async fn instances(srv: &TestServer, s: &Seeded) -> Vec<(Instance, Expect)> {
    let routes = srv.state.routes().to_vec();
    let case = srv
        .state
        .load_case(CASE)
        .await
        .expect("case")
        .expect("case");
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for spec in routes {
        let usernames: &[&str] = if spec.path.contains("{username}") {
            // The administrator's own account and someone else's.
            &["admin", "det.rivera"]
        } else {
            &["-"]
        };
        for username in usernames {
            let url = format!("{}{}", srv.url, fill(&spec, s, username));
            let account = if *username == "-" {
                None
            } else {
                let u = srv.user(username).await;
                Some(Resource::Account { user: UserId(u.id) })
            };
            let expect = match spec.access {
                Access::Public | Access::SignedIn | Access::Rows { .. } => Expect::Open,
                Access::Action { action, resource } => {
                    let on = match resource {
                        ResourceFrom::System => PathResource::System,
                        ResourceFrom::Case => PathResource::Case(case.clone()),
                        ResourceFrom::NewAccount => {
                            PathResource::NewAccount(UserId(uuid::Uuid::now_v7()))
                        }
                        ResourceFrom::Account => {
                            let u = srv.user(username).await;
                            PathResource::Account(u)
                        }
                    };
                    let action = action.parse::<Action>().expect("route action");
                    let resource = match on {
                        PathResource::System => Resource::System,
                        PathResource::Case(ref c) => Resource::Case(case_ref(c)),
                        PathResource::Account(ref u) => Resource::Account { user: UserId(u.id) },
                        PathResource::NewAccount(id) => Resource::Account { user: id },
                    };
                    Expect::AnyOf(vec![action], resource)
                }
                Access::Handler { .. } => match handler_actions(&spec, s, account.as_ref()) {
                    Some(e) => e,
                    None => {
                        missing.push(format!("{} {}", spec.method, spec.path));
                        continue;
                    }
                },
            };
            let decided = matches!(expect, Expect::AnyOf(..));
            out.push((
                Instance {
                    spec: spec.clone(),
                    url,
                    decided,
                },
                expect,
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "routes the matrix has no expectation for: {missing:?}"
    );
    // Sign-out routes last: they end the caller's session.
    out.sort_by_key(|(i, _)| i.spec.path == "/logout" || i.spec.path == "/api/session");
    out
}

fn engine_allows(srv: &TestServer, p: &Principal, expect: &Expect) -> bool {
    match expect {
        Expect::Open => true,
        Expect::AnyOf(actions, resource) => actions
            .iter()
            .any(|a| decision::decide_for(&srv.state, p, *a, resource).allowed),
    }
}

/// SEC-02: every route of the route table, each path parameter filled with a real seeded record,
/// called by every demonstration role, a person with no role, a member of another command, a
/// person whose assignment ended, one whose training expired, a vendor outside its contract and an
/// anonymous caller. Wherever the engine, asked about the real record, refuses, the server must
/// not answer 2xx; nowhere may it answer 5xx.
async fn sec_02_adversarial_route_matrix_body(backend: Backend) {
    let srv = common::start_with(backend, with_other_command).await;
    let seeded = seed(&srv).await;
    let yesterday = Utc::now() - Duration::days(1);
    let next_year = Utc::now() + Duration::days(365);
    person(&srv, "no.roles", "member", "", "PCT-019", None, None, None).await;
    person(
        &srv,
        "other.command",
        "member",
        "investigator",
        "PCT-075",
        None,
        Some(("digital_cameras", next_year)),
        None,
    )
    .await;
    person(
        &srv,
        "assignment.ended",
        "member",
        "investigator",
        "PCT-019",
        Some(yesterday),
        Some(("digital_cameras", next_year)),
        None,
    )
    .await;
    person(
        &srv,
        "training.expired",
        "member",
        "fr_investigator",
        "DB-FIS",
        None,
        Some(("fr_basic", yesterday)),
        None,
    )
    .await;
    person(
        &srv,
        "vendor.expired",
        "vendor",
        "vendor",
        "VENDOR",
        None,
        None,
        Some(yesterday),
    )
    .await;

    let mut callers: Vec<(String, Option<(reqwest::Client, Principal)>)> = Vec::new();
    for u in probity_server::demo::usernames() {
        let c = srv.login(u).await;
        callers.push((u.to_string(), Some((c, srv.principal(u).await))));
    }
    for u in [
        "no.roles",
        "other.command",
        "assignment.ended",
        "training.expired",
        "vendor.expired",
    ] {
        let c = sign_in(&srv, u, OTHER_PASSWORD).await;
        callers.push((u.to_string(), Some((c, srv.principal(u).await))));
    }
    callers.push(("anonymous".into(), None));

    let instances = instances(&srv, &seeded).await;
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut per_route: BTreeMap<String, usize> = BTreeMap::new();
    let anonymous = common::client();
    for (inst, expect) in &instances {
        for (name, caller) in &callers {
            let client = caller.as_ref().map(|(c, _)| c).unwrap_or(&anonymous);
            let mut rq = client
                .request(inst.spec.method.clone(), &inst.url)
                .header("accept", "application/json");
            if inst.spec.method != Method::GET {
                rq = rq.json(&json!({}));
            }
            let r = rq.send().await.expect("request");
            let status = r.status();
            checked += 1;
            *per_route
                .entry(format!("{} {}", inst.spec.method, inst.spec.path))
                .or_default() += 1;
            let what = format!("{} {} as {name}", inst.spec.method, inst.url);
            if status.is_server_error() {
                let body = r.text().await.unwrap_or_default();
                failures.push(format!("{what}: {status} {body}"));
                continue;
            }
            match caller {
                None => {
                    if inst.spec.access.needs_sign_in() && status != StatusCode::UNAUTHORIZED {
                        failures.push(format!("{what}: {status}, expected 401"));
                    }
                }
                Some((_, p)) => {
                    if inst.decided && status.is_success() && !engine_allows(&srv, p, expect) {
                        let body = r.text().await.unwrap_or_default();
                        failures.push(format!(
                            "{what}: {status} where the engine refuses: {}",
                            body.chars().take(300).collect::<String>()
                        ));
                    }
                }
            }
        }
    }
    let routes = srv.state.routes().len();
    println!(
        "authorization matrix: {checked} route x caller pairs over {routes} routes ({} instances) and {} callers",
        instances.len(),
        callers.len()
    );
    for spec in srv.state.routes() {
        assert!(
            per_route.contains_key(&format!("{} {}", spec.method, spec.path)),
            "route {} {} missing from the matrix",
            spec.method,
            spec.path
        );
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
both!(
    sec_02_adversarial_route_matrix,
    super::sec_02_adversarial_route_matrix_body
);

fn rule(body: &Value) -> &str {
    body["rule"].as_str().unwrap_or_default()
}

/// SEC-02: an administrator cannot give themself a role (and then use it).
async fn sec_02_no_self_administration_body(backend: Backend) {
    let srv = common::start(backend).await;
    let admin = srv.login("admin").await;
    let today = Utc::now().date_naive();
    let (s, b) = srv
        .post(
            &admin,
            "/api/users/admin/assignments",
            json!({ "role": "records_officer", "command": "RECORDS", "starts": today }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{b}");
    assert_eq!(rule(&b), "SEC-02.no-self-administration", "{b}");
    for (path, body) in [
        (
            "/api/users/admin/training",
            json!({ "course": "fr_basic", "completed": today }),
        ),
        (
            "/api/users/admin/contracts",
            json!({ "contract_ref": "X", "starts": today, "ends": today }),
        ),
    ] {
        let (s, b) = srv.post(&admin, path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {b}");
        assert_eq!(rule(&b), "SEC-02.no-self-administration", "{path}: {b}");
    }
    let (s, b) = srv
        .post(&admin, "/api/thermal/robot/retention", json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the role was never granted: {b}");
    // The same administrator may assign someone else.
    let (s, b) = srv
        .post(
            &admin,
            "/api/users/det.okafor/assignments",
            json!({ "role": "supervisor", "command": "PCT-019", "starts": today }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The refusal is in the audit trail with its rule.
    let entries = srv.audit_of("user", "admin").await;
    assert!(
        entries.iter().any(|e| e.action == "user.assignment.manage"
            && e.detail.contains("SEC-02.no-self-administration")),
        "refusal audited"
    );
}
both!(
    sec_02_no_self_administration,
    super::sec_02_no_self_administration_body
);

/// SEC-02, FR-25: a case is created only in the creator's command, and only the Intelligence
/// Division opens a case involving political activity; the decision is about the case as stored.
async fn sec_02_case_creation_decided_on_the_real_case_body(backend: Backend) {
    let srv = common::start_with(backend, with_other_command).await;
    let rivera = srv.login("det.rivera").await;
    let (s, b) = srv
        .post(
            &rivera,
            "/api/cases",
            json!({ "case_number": "2026-075-000001", "offence_classification": "misdemeanor",
                    "command": "PCT-075" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another command's case: {b}");
    let (s, b) = srv
        .post(
            &rivera,
            "/api/cases",
            json!({ "case_number": "2026-019-000901", "offence_classification": "misdemeanor",
                    "political_activity": true }),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "political flag outside INTEL: {b}"
    );
    assert_eq!(
        rule(&b),
        "FR-25.political-activity-intelligence-division-only",
        "{b}"
    );
    for number in ["2026-075-000001", "2026-019-000901"] {
        assert!(
            srv.state.load_case(number).await.expect("load").is_none(),
            "{number} must not exist"
        );
    }
    // The same form in the caller's own command, without the flag, is accepted.
    let (s, b) = srv
        .post(
            &rivera,
            "/api/cases",
            json!({ "case_number": "2026-019-000902", "offence_classification": "misdemeanor" }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    // The Intelligence Division opens a political case in its own command.
    let park = srv.login("intel.park").await;
    let (s, b) = srv
        .post(
            &park,
            "/api/cases",
            json!({ "case_number": "INTEL-2026-00099", "offence_classification": "other_felony",
                    "political_activity": true }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
}
both!(
    sec_02_case_creation_decided_on_the_real_case,
    super::sec_02_case_creation_decided_on_the_real_case_body
);

/// SEC-02: a case the caller may not read answers exactly like a case that does not exist.
async fn sec_02_hidden_case_answers_as_missing_body(backend: Backend) {
    let srv = common::start(backend).await;
    let rivera = srv.login("det.rivera").await;
    let (s_hidden, hidden) = srv
        .get(&rivera, &format!("/api/cases/{POLITICAL_CASE}"))
        .await;
    let (s_missing, missing) = srv.get(&rivera, "/api/cases/INTEL-2026-99999").await;
    assert_eq!(s_hidden, StatusCode::NOT_FOUND, "{hidden}");
    assert_eq!(s_missing, StatusCode::NOT_FOUND, "{missing}");
    assert_eq!(hidden["type"], missing["type"]);
    assert_eq!(hidden["status"], missing["status"]);
    assert!(
        hidden.get("rule").is_none() || hidden["rule"].is_null(),
        "{hidden}"
    );
    // Still audited, with the rule that refused.
    let entries = srv.audit_of("case", POLITICAL_CASE).await;
    assert!(entries
        .iter()
        .any(|e| e.action == "case.read" && e.actor == "user:det.rivera"));
}
both!(
    sec_02_hidden_case_answers_as_missing,
    super::sec_02_hidden_case_answers_as_missing_body
);

/// SEC-01, SEC-02: the administrator resets a person's lost authenticator from their page (CSRF
/// checked, decided on that account), never their own.
async fn sec_01_admin_resets_second_factor_from_the_page_body(backend: Backend) {
    let srv = common::start(backend).await;
    let secret = probity_auth::TotpSecret::generate();
    {
        let mut tx = srv.state.store.begin().await.expect("tx");
        for name in ["det.rivera", "admin"] {
            let u = probity_store::users::get_by_username(&mut tx, name)
                .await
                .expect("user")
                .expect("exists");
            probity_store::users::set_totp_secret(&mut tx, u.id, Some(&secret.to_base32()))
                .await
                .expect("secret");
        }
        tx.commit().await.expect("commit");
    }
    let admin = srv.login("admin").await;
    let page = admin
        .get(format!("{}/admin/users/det.rivera", srv.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Reset second factor"),
        "the page offers the reset"
    );
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("csrf token in the page")
        .to_string();
    let post = |path: String, token: String| {
        let admin = admin.clone();
        async move {
            admin
                .post(path)
                .header("accept", "text/html")
                .form(&[("csrf", token)])
                .send()
                .await
                .expect("post")
                .status()
        }
    };
    let url = |u: &str| format!("{}/admin/users/{u}/second-factor/reset", srv.url);
    assert_eq!(
        post(url("det.rivera"), String::new()).await,
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(
        post(url("admin"), csrf.clone()).await,
        StatusCode::FORBIDDEN,
        "not one's own"
    );
    assert_eq!(post(url("det.rivera"), csrf).await, StatusCode::SEE_OTHER);
    let mut tx = srv.state.store.begin().await.expect("tx");
    for (name, enrolled) in [("det.rivera", false), ("admin", true)] {
        let u = probity_store::users::get_by_username(&mut tx, name)
            .await
            .expect("user")
            .expect("exists");
        assert_eq!(u.totp_secret.is_some(), enrolled, "{name}");
    }
    let entries = probity_store::audit::for_record(&mut tx, "user", "det.rivera")
        .await
        .expect("audit");
    tx.commit().await.expect("commit");
    assert!(entries
        .iter()
        .any(|e| e.action == "user.second_factor.reset"));
}
both!(
    sec_01_admin_resets_second_factor_from_the_page,
    super::sec_01_admin_resets_second_factor_from_the_page_body
);
